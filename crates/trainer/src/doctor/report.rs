//! The doctor's report: the devices, each model's comparison, speed and memory, the verdict and
//! the likely fixes, as text for the terminal and as JSON (`--json`).

use super::compare::Tolerance;
use super::devices::{self, DeviceStatus};
use super::{ModelCheck, Settings};
use diffmem_model::SelectedDevice;
use serde::Serialize;
use serde_json::Value;
use std::fmt::Write;

/// Everything `diffmem doctor` found.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The diffmem release and commit.
    pub diffmem: String,
    /// Every backend and whether it opens here.
    pub devices: Vec<DeviceStatus>,
    /// The device checked (`--device` name).
    pub device: String,
    /// What it is, with its driver.
    pub description: String,
    /// The precision of its f32 matmuls.
    pub matmul_precision: String,
    /// Steps of each model.
    pub steps: usize,
    /// The tolerance applied.
    pub tolerance: Tolerance,
    /// One entry per model.
    pub checks: Vec<ModelCheck>,
    /// Peak resident memory of the process (both devices' runs), bytes.
    pub peak_rss_bytes: Option<u64>,
    /// True when every model agrees.
    pub passed: bool,
    /// The likely fixes when it does not (empty when it passed).
    pub fixes: Vec<String>,
}

impl Report {
    /// Assembles the report of `checks` on `device`.
    pub fn new(
        listed: Vec<DeviceStatus>,
        device: &SelectedDevice,
        s: &Settings,
        checks: Vec<ModelCheck>,
    ) -> Self {
        let passed = checks.iter().all(|c| c.comparison.passed());
        Self {
            diffmem: crate::VERSION.to_string(),
            devices: listed,
            device: device.kind.to_string(),
            description: devices::describe(device),
            matmul_precision: device.matmul.to_string(),
            steps: s.steps,
            tolerance: super::tolerance(device.matmul),
            checks,
            peak_rss_bytes: super::peak_rss_bytes(),
            passed,
            fixes: if passed { vec![] } else { super::fixes(device) },
        }
    }

    /// The report as JSON.
    pub fn json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The one-line verdict.
    pub fn verdict(&self) -> String {
        match self.passed {
            true => format!("{} agrees with the CPU (flex)", self.device),
            false => format!(
                "{} DISAGREES with the CPU (flex): {}",
                self.device,
                self.checks
                    .iter()
                    .filter_map(|c| c.comparison.problem.as_ref().map(|p| (&c.model, p)))
                    .map(|(m, p)| format!("{m}: {p}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        }
    }

    /// The report for the terminal.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "diffmem {}", self.diffmem);
        let _ = writeln!(s, "devices:");
        for d in &self.devices {
            let mark = if d.available { "yes" } else { "no " };
            let _ = writeln!(s, "  {:<8} {mark}  {}", d.name, d.detail);
        }
        let _ = writeln!(
            s,
            "check: {} ({}) against flex, {} steps per model from the same weights and batches",
            self.device, self.description, self.steps
        );
        let _ = writeln!(
            s,
            "  model  params  loss diff (max rel)  params diff (rel)  first step  steps/s  \
             cpu steps/s  result"
        );
        for c in &self.checks {
            let r = &c.comparison;
            let _ = writeln!(
                s,
                "  {:<5}  {:>6}  {:>9.2e} (step {:>3})  {:>17.2e}  {:>8.2} s  {:>7.1}  {:>11.1}  {}",
                c.model,
                c.params,
                r.loss_rel_diff,
                r.loss_worst_step,
                r.param_rel_diff,
                c.first_step_seconds,
                c.steps_per_second,
                c.cpu_steps_per_second,
                if r.passed() { "ok" } else { "DISAGREES" }
            );
        }
        let _ = writeln!(
            s,
            "tolerance: losses within {:.0e} relative at every step; final parameters within \
             {:.0e} of the distance they travelled ({} matmuls)",
            self.tolerance.loss, self.tolerance.params, self.matmul_precision
        );
        let _ = writeln!(s, "memory: {}", self.memory());
        let _ = writeln!(s, "verdict: {}", self.verdict());
        for f in &self.fixes {
            let _ = writeln!(s, "  fix: {f}");
        }
        s
    }

    /// Peak RSS and the device allocator's holding, in MiB.
    fn memory(&self) -> String {
        let mib = |b: u64| format!("{:.1} MiB", b as f64 / 1048576.0);
        let rss = self.peak_rss_bytes.map_or("unknown".into(), mib);
        let dev = self
            .checks
            .iter()
            .filter_map(|c| c.device_memory_bytes)
            .max()
            .map_or("not reported by this backend".into(), mib);
        format!("peak RSS {rss}; device allocator {dev}")
    }
}
