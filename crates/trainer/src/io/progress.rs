//! Progress display: an indicatif bar with loss, steps/s and ETA on a terminal; plain
//! periodic lines when stderr is not a TTY or with `--plain`; nothing with `--quiet`.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;

/// The bar: one rate (indicatif's, per second over the recent steps) and a message that is
/// cut to the terminal's width (`wide_msg`), so the line never wraps, even at 80 columns:
/// about 50 columns before the message.
pub const TEMPLATE: &str = "{prefix} {bar:16} {pos}/{len} {rate:>9} eta {eta:>3} {wide_msg}";

/// The bar's style: [`TEMPLATE`] with `{rate}`, the steps per second in at most 4 significant
/// digits (indicatif's own `{per_sec}` prints up to 9 decimals, which pushed the line past 80
/// columns).
pub fn bar_style() -> ProgressStyle {
    let rate = |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
        let _ = write!(w, "{}/s", crate::io::show::num(s.per_sec()));
    };
    ProgressStyle::with_template(TEMPLATE)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .with_key("rate", rate)
}

/// How a command shows its progress, from `--quiet` and `--plain` ([`ProgressArgs`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Verbosity {
    /// A bar on a terminal, plain lines otherwise (the default).
    #[default]
    Auto,
    /// Plain lines, even on a terminal (`--plain`; what a sweep's children write to their logs).
    Plain,
    /// No progress at all (`--quiet`); the summary, warnings and errors still print.
    Silent,
}

/// The progress flags of `train`, `sample` and `eval`, declared once.
#[derive(clap::Args, Clone, Copy, Debug, Default)]
pub struct ProgressArgs {
    /// No progress output (no bar, no lines; wins over --plain); the summary, warnings and
    /// errors still print.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Progress as plain lines instead of a bar (the default when stderr is not a terminal).
    #[arg(long)]
    pub plain: bool,
}

impl ProgressArgs {
    /// The verbosity these flags ask for.
    pub fn verbosity(&self) -> Verbosity {
        match (self.quiet, self.plain) {
            (true, _) => Verbosity::Silent,
            (false, true) => Verbosity::Plain,
            (false, false) => Verbosity::Auto,
        }
    }
}

/// Reports progress of a loop of `total` steps.
pub enum Progress {
    /// Interactive bar.
    Bar(ProgressBar),
    /// Plain lines at each report.
    Plain {
        /// What is being done.
        label: String,
        /// Total steps.
        total: usize,
    },
    /// Nothing (`--quiet`).
    Silent,
}

impl Progress {
    /// Nothing when [`Verbosity::Silent`], a bar on a TTY for [`Verbosity::Auto`], plain lines
    /// otherwise.
    pub fn new(label: &str, total: usize, start: usize, verbosity: Verbosity) -> Self {
        if verbosity == Verbosity::Silent {
            return Progress::Silent;
        }
        if verbosity == Verbosity::Plain || !std::io::stderr().is_terminal() {
            return Progress::Plain {
                label: label.to_string(),
                total,
            };
        }
        let bar = ProgressBar::new(total as u64);
        bar.set_style(bar_style());
        bar.set_prefix(label.to_string());
        bar.set_position(start as u64);
        bar.reset_eta();
        Progress::Bar(bar)
    }

    /// Whether this is the interactive bar (which shows its own rate).
    pub fn is_bar(&self) -> bool {
        matches!(self, Progress::Bar(_))
    }

    /// Advances the bar by one step (no output in plain mode).
    pub fn tick(&self) {
        if let Progress::Bar(b) = self {
            b.inc(1);
        }
    }

    /// A periodic report: updates the bar message, or prints a line.
    pub fn report(&self, step: usize, message: &str) {
        match self {
            Progress::Bar(b) => {
                b.set_position(step as u64);
                b.set_message(message.to_string());
            }
            Progress::Plain { label, total } => eprintln!("{label} {step}/{total} {message}"),
            Progress::Silent => {}
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Progress::Bar(b) = self {
            b.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use indicatif::{ProgressDrawTarget, TermLike};
    use std::sync::{Arc, Mutex};

    /// An 80-column terminal that records what is written to it.
    #[derive(Debug, Clone, Default)]
    struct Term80(Arc<Mutex<Vec<String>>>);

    impl TermLike for Term80 {
        fn width(&self) -> u16 {
            80
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> std::io::Result<()> {
            self.write_str(s)
        }
        fn write_str(&self, s: &str) -> std::io::Result<()> {
            self.0.lock().unwrap().push(s.to_string());
            Ok(())
        }
        fn clear_line(&self) -> std::io::Result<()> {
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn quiet_is_silent_and_plain_is_lines() {
        let flags = |quiet, plain| ProgressArgs { quiet, plain }.verbosity();
        assert_eq!(flags(false, false), Verbosity::Auto);
        assert_eq!(flags(false, true), Verbosity::Plain);
        assert_eq!(flags(true, false), Verbosity::Silent);
        assert!(matches!(
            Progress::new("train", 10, 0, Verbosity::Silent),
            Progress::Silent
        ));
        assert!(matches!(
            Progress::new("train", 10, 0, Verbosity::Plain),
            Progress::Plain { .. }
        ));
    }

    #[test]
    fn bar_fits_80_columns_with_one_rate() {
        let term = Term80::default();
        let target = ProgressDrawTarget::term_like(Box::new(term.clone()));
        let bar = ProgressBar::with_draw_target(Some(60_000), target);
        bar.set_style(bar_style());
        bar.set_prefix("sample");
        bar.set_position(12_345);
        bar.set_message("loss 0.0312 held-out 0.2320 and a message far too long for the line");
        bar.force_draw();
        let lines = term.0.lock().unwrap().clone();
        let drawn: Vec<&String> = lines.iter().filter(|l| l.contains("12345/60000")).collect();
        assert!(!drawn.is_empty(), "nothing drawn: {lines:?}");
        for l in &drawn {
            assert!(
                l.chars().count() <= 80,
                "{} columns: {l:?}",
                l.chars().count()
            );
            assert_eq!(l.matches("/s").count(), 1, "one rate: {l:?}");
        }
        // The last draw has the message, cut to the terminal's width.
        let last = drawn[drawn.len() - 1];
        assert!(last.contains("loss 0.0312 held-out"), "{last:?}");
    }
}
