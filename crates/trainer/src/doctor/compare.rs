//! Comparing a device's training trace with the CPU's: the loss of every step and the final
//! parameters, each against a relative tolerance.
//!
//! Losses: |l_dev(k) - l_cpu(k)| / max(|l_cpu(k)|, 1e-6), the largest over the steps k.
//! Parameters: ||theta_dev - theta_cpu||_2 / ||theta_cpu - theta_0||_2 over all parameters at
//! once, i.e. how far the device's weights ended from the CPU's as a fraction of the distance
//! the CPU's weights travelled from the common start (a ratio that does not depend on the
//! parameters' scale, and that a wrong update rule or a wrong gradient drives to order 1).
//! A non-finite loss or parameter on the device where the CPU's is finite always disagrees.

use serde::Serialize;

/// The final parameters of a network, one entry per parameter tensor (in visiting order).
pub type Params = Vec<(String, Vec<f32>)>;

/// What one training run produced, on one device.
#[derive(Clone, Debug)]
pub struct Trace {
    /// The loss of every step.
    pub losses: Vec<f32>,
    /// The parameters after the last step.
    pub params: Params,
}

/// The relative tolerances of a comparison (see the module docs for the two ratios).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Tolerance {
    /// The largest relative difference of a step's loss.
    pub loss: f64,
    /// The largest parameter distance, relative to the distance the CPU's parameters travelled.
    pub params: f64,
}

/// How a device's trace compares with the CPU's.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    /// Steps compared.
    pub steps: usize,
    /// The largest relative loss difference over the steps.
    pub loss_rel_diff: f64,
    /// The (0-based) step where it occurs.
    pub loss_worst_step: usize,
    /// ||theta_dev - theta_cpu|| / ||theta_cpu - theta_0||.
    pub param_rel_diff: f64,
    /// The parameter tensor contributing most to ||theta_dev - theta_cpu||.
    pub param_worst: String,
    /// Why the traces disagree, or `None` when they agree within the tolerance.
    pub problem: Option<String>,
}

impl Comparison {
    /// True when the device agrees with the CPU within the tolerance.
    pub fn passed(&self) -> bool {
        self.problem.is_none()
    }
}

/// Compares the device's trace `dev` with the CPU's `cpu`, both trained from the parameters
/// `start` on the same batches.
pub fn compare(start: &Params, cpu: &Trace, dev: &Trace, tol: Tolerance) -> Comparison {
    let (loss_rel_diff, loss_worst_step) = loss_diff(&cpu.losses, &dev.losses);
    let (param_rel_diff, param_worst) = param_diff(start, &cpu.params, &dev.params);
    let mut c = Comparison {
        steps: cpu.losses.len().min(dev.losses.len()),
        loss_rel_diff,
        loss_worst_step,
        param_rel_diff,
        param_worst,
        problem: None,
    };
    c.problem = problem(cpu, dev, &c, tol);
    c
}

/// The first reason the traces disagree, if any.
fn problem(cpu: &Trace, dev: &Trace, c: &Comparison, tol: Tolerance) -> Option<String> {
    if cpu.losses.len() != dev.losses.len() || cpu.params.len() != dev.params.len() {
        return Some(format!(
            "the device ran {} steps with {} parameter tensors, the CPU {} with {}",
            dev.losses.len(),
            dev.params.len(),
            cpu.losses.len(),
            cpu.params.len()
        ));
    }
    if let Some(k) = first_nonfinite(&cpu.losses, &dev.losses) {
        return Some(format!(
            "the device's loss at step {k} is {} where the CPU's is {}",
            dev.losses[k], cpu.losses[k]
        ));
    }
    if let Some(name) = nonfinite_param(&cpu.params, &dev.params) {
        return Some(format!(
            "the device's parameter {name} holds NaN or infinity"
        ));
    }
    if c.loss_rel_diff.is_nan() || c.loss_rel_diff > tol.loss {
        return Some(format!(
            "the loss at step {} differs by {:.2e} (relative), over the tolerance {:.0e}",
            c.loss_worst_step, c.loss_rel_diff, tol.loss
        ));
    }
    if c.param_rel_diff.is_nan() || c.param_rel_diff > tol.params {
        return Some(format!(
            "the final parameters differ by {:.2e} of the distance they travelled, over the \
             tolerance {:.0e} (mostly in {})",
            c.param_rel_diff, tol.params, c.param_worst
        ));
    }
    None
}

/// The largest |a - b| / max(|a|, 1e-6) over the steps both ran, and its step (NaN wins).
fn loss_diff(cpu: &[f32], dev: &[f32]) -> (f64, usize) {
    let mut worst = (0.0, 0);
    for (k, (&a, &b)) in cpu.iter().zip(dev).enumerate() {
        let d = (a as f64 - b as f64).abs() / (a.abs() as f64).max(1e-6);
        if d.is_nan() || d > worst.0 {
            worst = (if d.is_nan() { f64::INFINITY } else { d }, k);
        }
    }
    worst
}

/// The step where the device's loss is not finite but the CPU's is.
fn first_nonfinite(cpu: &[f32], dev: &[f32]) -> Option<usize> {
    cpu.iter()
        .zip(dev)
        .position(|(a, b)| a.is_finite() && !b.is_finite())
}

/// The first device parameter tensor with a non-finite value where the CPU's are finite.
fn nonfinite_param(cpu: &Params, dev: &Params) -> Option<String> {
    cpu.iter().zip(dev).find_map(|((_, a), (name, b))| {
        let bad = a.iter().all(|v| v.is_finite()) && b.iter().any(|v| !v.is_finite());
        bad.then(|| name.clone())
    })
}

/// ||dev - cpu|| / ||cpu - start|| over all tensors, and the tensor with the largest
/// ||dev - cpu|| (infinite when a tensor's sizes differ or the CPU's weights did not move).
fn param_diff(start: &Params, cpu: &Params, dev: &Params) -> (f64, String) {
    let (mut diff2, mut moved2, mut worst) = (0.0f64, 0.0f64, (0.0f64, String::new()));
    for ((s, c), (name, d)) in start.iter().zip(cpu).zip(dev) {
        if s.1.len() != c.1.len() || c.1.len() != d.len() {
            return (f64::INFINITY, name.clone());
        }
        let mut t2 = 0.0;
        for ((&s, &c), &d) in s.1.iter().zip(&c.1).zip(d) {
            t2 += (d as f64 - c as f64).powi(2);
            moved2 += (c as f64 - s as f64).powi(2);
        }
        diff2 += t2;
        if t2.is_nan() || t2 > worst.0 {
            worst = (if t2.is_nan() { f64::INFINITY } else { t2 }, name.clone());
        }
    }
    let rel = match (diff2, moved2) {
        (0.0, _) => 0.0,
        (d, m) if m > 0.0 => (d / m).sqrt(),
        _ => f64::INFINITY,
    };
    (if rel.is_nan() { f64::INFINITY } else { rel }, worst.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOL: Tolerance = Tolerance {
        loss: 1e-4,
        params: 1e-3,
    };

    fn trace(losses: &[f32], w: &[f32]) -> Trace {
        Trace {
            losses: losses.to_vec(),
            params: vec![("w".into(), w.to_vec()), ("b".into(), vec![0.5])],
        }
    }

    fn start() -> Params {
        vec![("w".into(), vec![0.0, 0.0]), ("b".into(), vec![0.5])]
    }

    #[test]
    fn an_identical_run_passes_with_zero_differences() {
        let t = trace(&[1.0, 0.8, 0.5], &[3.0, 4.0]);
        let c = compare(&start(), &t, &t.clone(), TOL);
        assert!(c.passed(), "{c:?}");
        assert_eq!((c.loss_rel_diff, c.param_rel_diff, c.steps), (0.0, 0.0, 3));
    }

    /// The ratios against a hand computation: losses 0.5 vs 0.50004 (8e-5 relative at step 2);
    /// parameters moved (3, 4) from 0 (distance 5), the device's end 0.003 away: 6e-4.
    #[test]
    fn ratios_match_a_hand_computation() {
        let cpu = trace(&[1.0, 0.8, 0.5], &[3.0, 4.0]);
        let dev = trace(&[1.0, 0.8, 0.50004], &[3.003, 4.0]);
        let c = compare(&start(), &cpu, &dev, TOL);
        assert_eq!(c.loss_worst_step, 2);
        assert!((c.loss_rel_diff - 8e-5).abs() < 1e-6, "{c:?}");
        assert!((c.param_rel_diff - 6e-4).abs() < 1e-6, "{c:?}");
        assert_eq!(c.param_worst, "w");
        assert!(c.passed(), "{c:?}");
    }

    /// A loss 5% off at one step, weights that went elsewhere, a NaN burst, a NaN weight, a
    /// shorter run: each is caught, with the reason named.
    #[test]
    fn known_disagreements_are_caught() {
        let cpu = trace(&[1.0, 0.8, 0.5], &[3.0, 4.0]);
        let cases = [
            (trace(&[1.0, 0.84, 0.5], &[3.0, 4.0]), "step 1"),
            (trace(&[1.0, 0.8, 0.5], &[3.0, 4.5]), "travelled"),
            (trace(&[1.0, f32::NAN, 0.5], &[3.0, 4.0]), "step 1 is NaN"),
            (trace(&[1.0, 0.8, 0.5], &[3.0, f32::NAN]), "parameter w"),
            (trace(&[1.0, 0.8], &[3.0, 4.0]), "ran 2 steps"),
        ];
        for (dev, why) in cases {
            let c = compare(&start(), &cpu, &dev, TOL);
            let p = c.problem.clone().unwrap_or_default();
            assert!(!c.passed() && p.contains(why), "{why}: {c:?}");
        }
    }

    /// Weights that never moved on the CPU but did on the device: infinitely far.
    #[test]
    fn weights_that_moved_only_on_the_device_disagree() {
        let cpu = trace(&[1.0], &[0.0, 0.0]);
        let dev = trace(&[1.0], &[0.0, 1e-3]);
        let c = compare(&start(), &cpu, &dev, TOL);
        assert!(c.param_rel_diff.is_infinite() && !c.passed(), "{c:?}");
    }
}
