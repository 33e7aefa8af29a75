//! `--emit slurm`: a job-array script with one array task per grid point, each running
//! `diffmem sweep SWEEP_DIR/sweep.toml --out SWEEP_DIR --task $SLURM_ARRAY_TASK_ID`, and the
//! task table `tasks.tsv` that maps task indices to runs.

use super::grid::GridPoint;
use super::spec::SlurmSection;
use std::fmt::Write;
use std::path::Path;

/// Resources and paths of the job array.
#[derive(Clone, Debug)]
pub struct SlurmJob<'a> {
    /// Sweep name (job name `diffmem-NAME`).
    pub name: &'a str,
    /// Resources.
    pub resources: SlurmSection,
    /// The `diffmem` binary (absolute).
    pub binary: &'a Path,
    /// The resolved sweep spec (absolute).
    pub spec: &'a Path,
    /// The sweep directory (absolute).
    pub sweep_dir: &'a Path,
    /// Number of array tasks.
    pub tasks: usize,
}

/// Quotes `s` for a POSIX shell (single quotes; `'` as `'\''`).
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// One `#SBATCH` value without characters that would end the directive.
fn directive_value(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_whitespace() { '_' } else { c })
        .collect()
}

/// The job-array script.
pub fn script(job: &SlurmJob) -> String {
    let r = &job.resources;
    let mut s = String::from("#!/bin/bash\n");
    let mut opt = |k: &str, v: &str| {
        let _ = writeln!(s, "#SBATCH --{k}={}", directive_value(v));
    };
    opt("job-name", &format!("diffmem-{}", job.name));
    let throttle = r.max_parallel.map_or(String::new(), |m| format!("%{m}"));
    opt(
        "array",
        &format!("0-{}{throttle}", job.tasks.saturating_sub(1)),
    );
    opt("cpus-per-task", &r.cpus.unwrap_or(1).to_string());
    opt("mem", r.mem.as_deref().unwrap_or("4G"));
    opt("time", r.time.as_deref().unwrap_or("04:00:00"));
    if let Some(p) = &r.partition {
        opt("partition", p);
    }
    if let Some(a) = &r.account {
        opt("account", a);
    }
    let logs = job.sweep_dir.join("slurm").join("%A_%a.out");
    opt("output", &logs.display().to_string());
    for e in &r.extra {
        let _ = writeln!(s, "#SBATCH {}", directive_value(e));
    }
    let _ = write!(
        s,
        "\n# One grid point per array task; finished runs are skipped, interrupted ones resume.\n\
         # Task table: {tasks}\n\
         set -euo pipefail\n\
         export RAYON_NUM_THREADS=\"${{SLURM_CPUS_PER_TASK:-1}}\"\n\
         exec {bin} sweep {spec} --out {dir} --task \"$SLURM_ARRAY_TASK_ID\" --threads \"$RAYON_NUM_THREADS\"\n",
        tasks = job.sweep_dir.join("tasks.tsv").display(),
        bin = shell_quote(&job.binary.display().to_string()),
        spec = shell_quote(&job.spec.display().to_string()),
        dir = shell_quote(&job.sweep_dir.display().to_string()),
    );
    s
}

fn tsv_cell(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c == '\t' || c == '\n' || c == '\r' {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// The task table: task index, run name, then one column per axis.
pub fn tasks_tsv(points: &[GridPoint]) -> String {
    let mut s = String::from("task\trun");
    if let Some(p) = points.first() {
        for (k, _) in &p.axes {
            s.push('\t');
            s.push_str(&tsv_cell(k));
        }
    }
    s.push('\n');
    for p in points {
        let _ = write!(s, "{}\t{}", p.index, tsv_cell(&p.name));
        for (_, v) in &p.axes {
            s.push('\t');
            s.push_str(&tsv_cell(v));
        }
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_has_the_array_resources_and_quoted_paths() {
        let job = SlurmJob {
            name: "demo",
            resources: SlurmSection {
                partition: Some("cpu".into()),
                cpus: Some(4),
                max_parallel: Some(2),
                extra: vec!["--gres=gpu:1".into()],
                ..Default::default()
            },
            binary: Path::new("/opt/it's/diffmem"),
            spec: Path::new("/s/sweep.toml"),
            sweep_dir: Path::new("/s"),
            tasks: 3,
        };
        let s = script(&job);
        assert!(s.starts_with("#!/bin/bash\n"));
        for needle in [
            "#SBATCH --array=0-2%2",
            "#SBATCH --cpus-per-task=4",
            "#SBATCH --partition=cpu",
            "#SBATCH --gres=gpu:1",
            "#SBATCH --output=/s/slurm/%A_%a.out",
            "exec '/opt/it'\\''s/diffmem' sweep '/s/sweep.toml' --out '/s' --task \"$SLURM_ARRAY_TASK_ID\"",
        ] {
            assert!(s.contains(needle), "{needle} missing in\n{s}");
        }
    }
}
