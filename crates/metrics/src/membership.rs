//! Membership inference from scores (Carlini et al., arXiv 2301.13188; the loss-threshold
//! attack of Yeom et al., arXiv 1709.01604): an attacker calls an example a training member
//! when its score exceeds a threshold. For diffusion models the score is minus the per-example
//! denoising loss at a timestep.
//!
//! - AUC = P(s_member > s_nonmember) + 1/2 P(s_member = s_nonmember), the area under the ROC
//!   curve (Mann-Whitney U / (n_1 n_0), ties at half weight).
//! - TPR at FPR alpha = the largest true-positive rate over thresholds tau whose false-positive
//!   rate (fraction of non-members with s >= tau) is at most alpha. Tied scores fall on the
//!   same side of every threshold, so ties never help the attacker.

use crate::{MetricsError, Result};

fn check(members: &[f64], nonmembers: &[f64]) -> Result<()> {
    if members.is_empty() || nonmembers.is_empty() {
        return Err(MetricsError::Invalid(
            "membership inference needs members and non-members (a held-out set)".into(),
        ));
    }
    if members.iter().chain(nonmembers).any(|v| v.is_nan()) {
        return Err(MetricsError::Invalid(
            "membership scores contain NaN".into(),
        ));
    }
    Ok(())
}

/// Scores of both groups, sorted descending, each with its group (true = member).
fn sorted(members: &[f64], nonmembers: &[f64]) -> Vec<(f64, bool)> {
    let mut all: Vec<(f64, bool)> = members
        .iter()
        .map(|&s| (s, true))
        .chain(nonmembers.iter().map(|&s| (s, false)))
        .collect();
    all.sort_by(|a, b| b.0.total_cmp(&a.0));
    all
}

/// The ROC curve as (FPR, TPR) points at every distinct threshold, from (0, 0) to (1, 1).
pub fn roc(members: &[f64], nonmembers: &[f64]) -> Result<Vec<(f64, f64)>> {
    check(members, nonmembers)?;
    let (n1, n0) = (members.len() as f64, nonmembers.len() as f64);
    let all = sorted(members, nonmembers);
    let mut pts = vec![(0.0, 0.0)];
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut i = 0;
    while i < all.len() {
        let s = all[i].0;
        while i < all.len() && all[i].0 == s {
            match all[i].1 {
                true => tp += 1,
                false => fp += 1,
            }
            i += 1;
        }
        pts.push((fp as f64 / n0, tp as f64 / n1));
    }
    Ok(pts)
}

/// Area under the ROC curve (module docs); 1 = perfectly separated, 1/2 = chance.
pub fn auc(members: &[f64], nonmembers: &[f64]) -> Result<f64> {
    // Trapezoids between consecutive distinct thresholds count ties at half weight.
    let pts = roc(members, nonmembers)?;
    Ok(pts
        .windows(2)
        .map(|w| (w[1].0 - w[0].0) * (w[1].1 + w[0].1) / 2.0)
        .sum())
}

/// TPR at FPR <= `alpha` (module docs).
pub fn tpr_at_fpr(members: &[f64], nonmembers: &[f64], alpha: f64) -> Result<f64> {
    let pts = roc(members, nonmembers)?;
    Ok(pts
        .iter()
        .filter(|(f, _)| *f <= alpha + 1e-12)
        .map(|(_, t)| *t)
        .fold(0.0, f64::max))
}

/// The standard deviation of the AUC of two exchangeable groups of sizes `n1` and `n0` (no
/// membership signal, no ties): Var(U) = n1 n0 (n1 + n0 + 1) / 12 for the Mann-Whitney U
/// (Mann & Whitney 1947), so sd(AUC) = sqrt((n1 + n0 + 1) / (12 n1 n0)). An AUC within two of
/// these of 1/2 is chance; NaN when a group is empty.
pub fn auc_null_sd(n1: usize, n0: usize) -> f64 {
    if n1 == 0 || n0 == 0 {
        return f64::NAN;
    }
    let (a, b) = (n1 as f64, n0 as f64);
    ((a + b + 1.0) / (12.0 * a * b)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AUC by the definition: a double loop over all pairs.
    fn auc_pairs(a: &[f64], b: &[f64]) -> f64 {
        let mut s = 0.0;
        for x in a {
            for y in b {
                s += if x > y {
                    1.0
                } else if x == y {
                    0.5
                } else {
                    0.0
                };
            }
        }
        s / (a.len() * b.len()) as f64
    }

    #[test]
    fn separated_scores_give_one_and_reversed_zero() {
        let m = [5.0, 6.0, 7.0];
        let n = [1.0, 2.0];
        assert_eq!(auc(&m, &n).unwrap(), 1.0);
        assert_eq!(auc(&n, &m).unwrap(), 0.0);
        assert_eq!(tpr_at_fpr(&m, &n, 0.01).unwrap(), 1.0);
    }

    #[test]
    fn identical_scores_give_one_half_and_no_true_positives() {
        let m = [1.0; 10];
        assert_eq!(auc(&m, &m).unwrap(), 0.5);
        assert_eq!(tpr_at_fpr(&m, &m, 0.01).unwrap(), 0.0);
    }

    #[test]
    fn auc_matches_pair_counting_with_ties() {
        let m = [0.3, 0.9, 0.5, 0.5, 0.1, 0.7, 0.5];
        let n = [0.2, 0.5, 0.4, 0.5, 0.6, 0.0];
        let got = auc(&m, &n).unwrap();
        assert!((got - auc_pairs(&m, &n)).abs() < 1e-12);
    }

    #[test]
    fn same_distribution_gives_about_one_half() {
        // Two interleaved halves of one smooth sequence.
        let v: Vec<f64> = (0..2000).map(|k| ((k * 7919) % 2000) as f64).collect();
        let (a, b): (Vec<f64>, Vec<f64>) = (v[..1000].to_vec(), v[1000..].to_vec());
        let got = auc(&a, &b).unwrap();
        assert!((got - 0.5).abs() < 0.05, "{got}");
        assert!(tpr_at_fpr(&a, &b, 0.01).unwrap() < 0.05);
    }

    /// TPR at 1% FPR: with 100 non-members, one may score above the threshold.
    #[test]
    fn tpr_at_low_fpr_counts_the_members_above_the_top_non_members() {
        let n: Vec<f64> = (0..100).map(f64::from).collect(); // 0..99
        let m: Vec<f64> = (0..10).map(|k| 98.5 + f64::from(k)).collect(); // 98.5..107.5
        // tau = 98.5 admits one non-member (99): FPR 1/100, TPR 10/10; at FPR 0 only the nine
        // members above 99 count.
        assert_eq!(tpr_at_fpr(&m, &n, 0.01).unwrap(), 1.0);
        assert_eq!(tpr_at_fpr(&m, &n, 0.0).unwrap(), 0.9);
    }

    #[test]
    fn empty_or_nan_inputs_are_errors() {
        assert!(auc(&[], &[1.0]).is_err());
        assert!(auc(&[f64::NAN], &[1.0]).is_err());
    }

    /// The null standard deviation against the spread of AUCs of 2000 pairs of groups drawn
    /// from one distribution.
    #[test]
    fn null_sd_matches_simulation() {
        use rand::{RngExt, SeedableRng};
        let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let (n1, n0, reps) = (20, 30, 2000);
        let aucs: Vec<f64> = (0..reps)
            .map(|_| {
                let a: Vec<f64> = (0..n1).map(|_| r.random::<f64>()).collect();
                let b: Vec<f64> = (0..n0).map(|_| r.random::<f64>()).collect();
                auc(&a, &b).unwrap()
            })
            .collect();
        let mean = aucs.iter().sum::<f64>() / reps as f64;
        let sd = (aucs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / reps as f64).sqrt();
        let want = auc_null_sd(n1, n0);
        assert!((sd - want).abs() < 0.05 * want, "{sd} vs {want}");
        assert!(auc_null_sd(0, 3).is_nan());
    }
}
