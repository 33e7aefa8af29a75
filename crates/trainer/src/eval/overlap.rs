//! `eval --against`: the two-model agreement is only meaningful between models trained on
//! disjoint data (Kadkhodaie et al. 2024 train them on the two halves of a split), so the
//! same run, or a run sharing training rows of the same data, gets a warning.

use crate::run::RunDir;
use crate::run::config::RunConfig;
use std::collections::HashSet;
use std::path::Path;

fn indices(run: &Path) -> Option<HashSet<String>> {
    let text = std::fs::read_to_string(RunDir::at(run).train_indices()).ok()?;
    Some(
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
    )
}

/// Why comparing `run` with `against` would overstate the agreement, if it would.
pub fn against_warning(run: &Path, against: &Path) -> Option<String> {
    let same = match (run.canonicalize(), against.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => run == against,
    };
    if same {
        return Some(format!(
            "--against {} is the run itself: its agreement is 1 by construction; compare with a \
             run trained on the other half (--split b)",
            against.display()
        ));
    }
    let spec = |p: &Path| {
        RunConfig::load(&RunDir::at(p).config())
            .ok()
            .map(|c| c.data.spec)
    };
    if spec(run)? != spec(against)? {
        return None;
    }
    let shared = indices(run)?.intersection(&indices(against)?).count();
    (shared > 0).then(|| {
        format!(
            "{} and {} share {shared} training samples: the agreement of models trained on \
             overlapping data overstates generalisation; use disjoint halves (--split a / b)",
            run.display(),
            against.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_run_itself_and_shared_indices_are_flagged() {
        let root = std::env::temp_dir().join(format!("diffmem-overlap-{}", std::process::id()));
        let (a, b, c) = (root.join("a"), root.join("b"), root.join("c"));
        let cfg = RunConfig::default().to_toml().unwrap();
        for (dir, idx) in [(&a, "1\n2\n3\n"), (&b, "3\n4\n"), (&c, "7\n8\n")] {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(crate::run::RunDir::at(dir).config(), &cfg).unwrap();
            std::fs::write(crate::run::RunDir::at(dir).train_indices(), idx).unwrap();
        }
        assert!(against_warning(&a, &a).unwrap().contains("the run itself"));
        assert!(
            against_warning(&a, &b)
                .unwrap()
                .contains("share 1 training")
        );
        assert_eq!(against_warning(&a, &c), None);
        let _ = std::fs::remove_dir_all(&root);
    }
}
