//! Learning-rate schedule: linear warm-up to the peak, then constant or cosine decay to 0
//! at the last step (Loshchilov & Hutter, arXiv 1608.03983, without restarts).

/// Learning rate at step `s` (0-based) of `total`.
pub fn learning_rate(peak: f64, s: usize, warmup: usize, total: usize, cosine: bool) -> f64 {
    if s < warmup {
        return peak * (s + 1) as f64 / warmup as f64;
    }
    if !cosine || total <= warmup {
        return peak;
    }
    let progress = (s - warmup) as f64 / (total - warmup) as f64;
    0.5 * peak * (1.0 + (std::f64::consts::PI * progress.min(1.0)).cos())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_then_cosine() {
        assert!((learning_rate(1.0, 0, 10, 110, true) - 0.1).abs() < 1e-12);
        assert!((learning_rate(1.0, 9, 10, 110, true) - 1.0).abs() < 1e-12);
        assert!((learning_rate(1.0, 10, 10, 110, true) - 1.0).abs() < 1e-12);
        assert!((learning_rate(1.0, 60, 10, 110, true) - 0.5).abs() < 1e-12);
        assert!(learning_rate(1.0, 109, 10, 110, true) < 1e-3);
        assert_eq!(learning_rate(2.0, 50, 0, 100, false), 2.0);
    }
}
