//! SIGINT (Ctrl-C) and SIGTERM (Slurm, `timeout`, `docker stop`), told apart so that the exit
//! code says which one stopped the program (128 + signal: 130 and 143).
//!
//! A stage that saves its own state (the training loop, a sweep waiting for its children)
//! runs [`deferred`]: a signal is only recorded, the stage polls [`received`] and finishes
//! cleanly. Anywhere else the process exits at once with the hint set by [`set_hint`] (what
//! was kept and how to continue), since every file is written atomically.

use anyhow::{Context, Result};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Mutex, Once};

/// The last signal received (0: none).
static RECEIVED: AtomicI32 = AtomicI32::new(0);
/// Whether the running stage handles a signal itself.
static DEFERRED: AtomicBool = AtomicBool::new(false);
/// What to print when a signal ends the program at once.
static HINT: Mutex<Option<String>> = Mutex::new(None);
/// Called with each signal (a sweep forwards it to its children).
type Hook = Box<dyn Fn(i32) + Send + Sync>;
static HOOK: Mutex<Option<Hook>> = Mutex::new(None);
static INSTALL: Once = Once::new();

/// Installs the handler (once per process).
pub fn install() -> Result<()> {
    let mut result = Ok(());
    INSTALL.call_once(|| {
        result = Signals::new([SIGINT, SIGTERM])
            .context("cannot install the SIGINT/SIGTERM handler")
            .map(|mut signals| {
                std::thread::spawn(move || {
                    for sig in signals.forever() {
                        on_signal(sig);
                    }
                });
            });
    });
    result
}

fn on_signal(sig: i32) {
    RECEIVED.store(sig, Ordering::SeqCst);
    if let Some(hook) = HOOK.lock().ok().as_deref().and_then(Option::as_ref) {
        hook(sig);
    }
    if DEFERRED.load(Ordering::SeqCst) {
        return;
    }
    exit_now(sig);
}

/// Ends the program for signal `sig` at once: the message with the hint set by [`set_hint`],
/// exit 128 + signal. For a signal that arrives outside a stage that handles it, or one that
/// such a stage saw only after its work was done.
pub fn exit_now(sig: i32) -> ! {
    let hint = HINT.lock().ok().and_then(|h| h.clone());
    eprintln!("\n{}", stopped_message(sig, hint.as_deref()));
    std::process::exit(exit_code(sig));
}

/// "interrupted (SIGINT)[; HINT]".
pub fn stopped_message(sig: i32, hint: Option<&str>) -> String {
    match hint {
        Some(h) => format!("interrupted ({}); {h}", name(sig)),
        None => format!("interrupted ({})", name(sig)),
    }
}

/// The signal received so far, if any.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// Whether the running stage handles signals itself (true) or the process exits at once.
pub fn deferred(on: bool) {
    DEFERRED.store(on, Ordering::SeqCst);
}

/// Sets the hint printed when a signal ends the program at once.
pub fn set_hint(hint: impl Into<String>) {
    if let Ok(mut h) = HINT.lock() {
        *h = Some(hint.into());
    }
}

/// Calls `hook` with every signal received from now on.
pub fn on_each(hook: impl Fn(i32) + Send + Sync + 'static) {
    if let Ok(mut h) = HOOK.lock() {
        *h = Some(Box::new(hook));
    }
}

/// Exit code of a program stopped by `sig`: 128 + signal (130 for SIGINT, 143 for SIGTERM).
pub fn exit_code(sig: i32) -> i32 {
    128 + sig
}

/// The signal's name.
pub fn name(sig: i32) -> &'static str {
    match sig {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        _ => "signal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_shell_convention() {
        assert_eq!(exit_code(SIGINT), 130);
        assert_eq!(exit_code(SIGTERM), 143);
        assert_eq!(name(SIGTERM), "SIGTERM");
        assert_eq!(
            stopped_message(SIGINT, Some("resume with X")),
            "interrupted (SIGINT); resume with X"
        );
    }
}
