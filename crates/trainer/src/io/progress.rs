//! Progress display: an indicatif bar with loss, steps/s and ETA on a terminal; plain
//! periodic lines when stderr is not a TTY or with `--quiet`.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;

/// The bar: one rate (indicatif's, per second over the recent steps) and a message that is
/// cut to the terminal's width (`wide_msg`), so the line never wraps, even at 80 columns:
/// about 50 columns before the message.
pub const TEMPLATE: &str = "{prefix} {bar:16} {pos}/{len} {per_sec:>9} eta {eta:>3} {wide_msg}";

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
}

impl Progress {
    /// A bar on a TTY (unless `quiet`), plain lines otherwise.
    pub fn new(label: &str, total: usize, start: usize, quiet: bool) -> Self {
        if quiet || !std::io::stderr().is_terminal() {
            return Progress::Plain {
                label: label.to_string(),
                total,
            };
        }
        let bar = ProgressBar::new(total as u64);
        let style = ProgressStyle::with_template(TEMPLATE)
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_prefix(label.to_string());
        bar.set_position(start as u64);
        bar.reset_eta();
        Progress::Bar(bar)
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
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Progress::Bar(b) = self {
            b.finish_and_clear();
        }
    }
}
