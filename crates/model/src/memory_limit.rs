//! The memory this process may still use: the smallest of the machine's available memory, the
//! room left under its address-space limit (`ulimit -v`, RLIMIT_AS) and the room left in its
//! memory cgroup (v2 `memory.max`, v1 `memory.limit_in_bytes`; what Slurm's `--mem` and
//! container limits set). An estimate checked only against the machine's free memory lets a
//! limited process abort ("memory allocation failed") instead of refusing with a message.
//!
//! Linux only; read from `/proc` and `/sys/fs/cgroup` (RLIMIT_AS from `/proc/self/limits`, the
//! same value getrlimit(2) returns). Elsewhere, or when nothing is readable: 8 GiB.

use std::path::Path;

/// The memory this process may still use, in bytes, and which limit sets it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Available {
    /// Bytes.
    pub bytes: f64,
    /// The limit that binds, in words (e.g. "the address-space limit (ulimit -v)").
    pub source: &'static str,
}

/// What the limits files said, each already as bytes left (None: no such limit).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Limits {
    /// MemAvailable of /proc/meminfo.
    pub machine: Option<f64>,
    /// RLIMIT_AS minus the current virtual size (VmSize).
    pub address_space: Option<f64>,
    /// The memory cgroup's limit minus its current usage.
    pub cgroup: Option<f64>,
}

impl Limits {
    /// The smallest of the limits (8 GiB when none is known).
    pub fn available(&self) -> Available {
        let candidates = [
            (self.machine, "the machine's available memory"),
            (self.address_space, "the address-space limit (ulimit -v)"),
            (
                self.cgroup,
                "the memory cgroup's limit (memory.max; e.g. Slurm --mem)",
            ),
        ];
        candidates
            .into_iter()
            .filter_map(|(b, s)| b.map(|b| (b.max(0.0), s)))
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map_or(
                Available {
                    bytes: 8.0 * (1u64 << 30) as f64,
                    source: "an assumed 8 GiB (no limit readable)",
                },
                |(bytes, source)| Available { bytes, source },
            )
    }
}

/// The value in kB of line `key:` of a /proc file (meminfo, status), in bytes.
pub fn proc_kb(text: &str, key: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(key) && l[key.len()..].starts_with(':'))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb * 1024.0)
}

/// The soft limit of "Max address space" in /proc/self/limits (None: unlimited).
pub fn address_space_limit(limits: &str) -> Option<f64> {
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max address space"))?;
    let soft = line["Max address space".len()..]
        .split_whitespace()
        .next()?;
    soft.parse::<f64>().ok()
}

/// A cgroup limit file's value (None: `max`, unreadable, or v1's "no limit", a value near
/// 2^63).
pub fn cgroup_value(text: &str) -> Option<f64> {
    let v = text.trim().parse::<f64>().ok()?;
    (v < 2f64.powi(62)).then_some(v)
}

fn read(path: impl AsRef<Path>) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// Room left in this process's memory cgroup: v2, the smallest room over its own folder under
/// /sys/fs/cgroup and every ancestor (a parent's limit binds its children too); else v1.
fn cgroup_room() -> Option<f64> {
    let own = read("/proc/self/cgroup").and_then(|t| {
        t.lines()
            .find_map(|l| l.strip_prefix("0::").map(|p| p.trim().to_string()))
    });
    let root = Path::new("/sys/fs/cgroup");
    let mut room: Option<f64> = None;
    if let Some(p) = own {
        let own_dir = root.join(p.trim_start_matches('/'));
        for dir in own_dir.ancestors().take_while(|d| d.starts_with(root)) {
            let Some(limit) = read(dir.join("memory.max")).and_then(|t| cgroup_value(&t)) else {
                continue;
            };
            let used = read(dir.join("memory.current"))
                .and_then(|t| cgroup_value(&t))
                .unwrap_or(0.0);
            room = Some(room.map_or(limit - used, |r: f64| r.min(limit - used)));
        }
        if room.is_some() {
            return room;
        }
    }
    let v1 = root.join("memory");
    let limit = cgroup_value(&read(v1.join("memory.limit_in_bytes"))?)?;
    let used = read(v1.join("memory.usage_in_bytes"))
        .and_then(|t| cgroup_value(&t))
        .unwrap_or(0.0);
    Some(limit - used)
}

/// The limits of this process now.
pub fn limits() -> Limits {
    let vm_size = read("/proc/self/status").and_then(|s| proc_kb(&s, "VmSize"));
    Limits {
        machine: read("/proc/meminfo").and_then(|s| proc_kb(&s, "MemAvailable")),
        address_space: read("/proc/self/limits")
            .and_then(|l| address_space_limit(&l))
            .map(|lim| lim - vm_size.unwrap_or(0.0)),
        cgroup: cgroup_room(),
    }
}

/// The memory this process may still use now ([`Limits::available`] of [`limits`]).
pub fn available() -> Available {
    limits().available()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_smallest_limit_binds_and_names_itself() {
        let gib = (1u64 << 30) as f64;
        let l = Limits {
            machine: Some(100.0 * gib),
            address_space: Some(2.0 * gib),
            cgroup: Some(4.0 * gib),
        };
        assert_eq!(l.available().bytes, 2.0 * gib);
        assert!(l.available().source.contains("ulimit -v"));
        let cg = Limits {
            cgroup: Some(gib),
            ..l
        };
        assert!(cg.available().source.contains("cgroup"));
        assert_eq!(Limits::default().available().bytes, 8.0 * gib);
    }

    #[test]
    fn proc_and_cgroup_files_parse() {
        let meminfo = "MemTotal:       16000000 kB\nMemAvailable:    8000000 kB\n";
        assert_eq!(proc_kb(meminfo, "MemAvailable"), Some(8_192_000_000.0));
        assert_eq!(proc_kb(meminfo, "Mem"), None);
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max cpu time              unlimited            unlimited            seconds   \n\
                      Max address space         2147483648           unlimited            bytes     \n";
        assert_eq!(address_space_limit(limits), Some(2147483648.0));
        let unlimited = limits.replace("2147483648 ", "unlimited  ");
        assert_eq!(address_space_limit(&unlimited), None);
        assert_eq!(cgroup_value("max\n"), None);
        assert_eq!(cgroup_value("1073741824\n"), Some(1073741824.0));
        assert_eq!(cgroup_value("9223372036854771712\n"), None);
    }

    /// This process's own limits are read: under no limit the machine's memory binds.
    #[test]
    fn this_process_has_a_positive_budget() {
        let a = available();
        assert!(a.bytes > 0.0, "{a:?}");
    }
}
