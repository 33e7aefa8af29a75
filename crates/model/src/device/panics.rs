//! Running a backend call that may panic (cubecl's runtimes `unwrap` driver errors) and turning
//! the panic into an error message, without the default hook printing it to stderr.

use std::panic::{self, AssertUnwindSafe};

/// Runs `f`; a panic becomes `Err(its message)`. The panic hook is silenced for the call (the
/// message ends up in the returned error instead), then restored.
pub(super) fn catch_quietly<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    let hook = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    let out = panic::catch_unwind(AssertUnwindSafe(f));
    panic::set_hook(hook);
    out.map_err(|payload| {
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "a panic without a message".into())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_become_their_message_and_values_pass_through() {
        assert_eq!(catch_quietly(|| 7), Ok(7));
        let e = catch_quietly(|| -> u8 { panic!("driver said {}", 42) }).unwrap_err();
        assert_eq!(e, "driver said 42");
        let e = catch_quietly(|| -> u8 { std::panic::panic_any(3_i32) }).unwrap_err();
        assert!(e.contains("without a message"), "{e}");
    }
}
