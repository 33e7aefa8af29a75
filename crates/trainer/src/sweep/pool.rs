//! The local executor: J workers take grid points in order; the CPU threads of the children
//! are bounded so that J x threads never exceeds the cores.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Parallel jobs and threads per job on `cores` cores: `threads` defaults to cores / jobs;
/// jobs are reduced until jobs x threads <= cores. Returns a note when a request was reduced.
pub fn plan(cores: usize, jobs: usize, threads: Option<usize>) -> (usize, usize, Option<String>) {
    let cores = cores.max(1);
    let want_jobs = jobs.max(1);
    let threads = threads
        .unwrap_or(cores / want_jobs.min(cores))
        .clamp(1, cores);
    let jobs = want_jobs.min(cores / threads).max(1);
    let note = (jobs < want_jobs).then(|| {
        format!(
            "--jobs {want_jobs} reduced to {jobs}: {jobs} x {threads} thread(s) fill the {cores} core(s)"
        )
    });
    (jobs, threads, note)
}

/// Runs `f` on every item with `jobs` workers, in item order; items not started when `stop`
/// is set are left out (None).
pub fn run<T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    stop: &AtomicBool,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<Option<R>> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1).min(items.len().max(1)) {
            s.spawn(|| {
                loop {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(item) = items.get(i) else { break };
                    let r = f(item);
                    if let Ok(mut all) = results.lock() {
                        all[i] = Some(r);
                    }
                }
            });
        }
    });
    results.into_inner().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_never_oversubscribe() {
        let jt = |c, j, t| {
            let (j, t, _) = plan(c, j, t);
            (j, t)
        };
        assert_eq!(jt(2, 1, None), (1, 2));
        assert_eq!(jt(2, 2, None), (2, 1));
        let (j, t, note) = plan(2, 8, None);
        assert_eq!((j, t), (2, 1));
        assert!(note.unwrap().contains("--jobs 8 reduced to 2"));
        assert_eq!(jt(8, 4, Some(4)), (2, 4));
        assert_eq!(jt(4, 3, None), (3, 1));
        assert_eq!(jt(1, 1, Some(16)), (1, 1));
        for cores in 1..9 {
            for jobs in 1..9 {
                for th in [None, Some(1), Some(3)] {
                    let (j, t, _) = plan(cores, jobs, th);
                    assert!(j * t <= cores, "{cores} {jobs} {th:?}");
                }
            }
        }
    }

    #[test]
    fn every_item_runs_once_in_order() {
        let stop = AtomicBool::new(false);
        let out = run(&[1, 2, 3, 4, 5], 3, &stop, |x| x * 10);
        assert_eq!(out, vec![Some(10), Some(20), Some(30), Some(40), Some(50)]);
        stop.store(true, Ordering::SeqCst);
        assert_eq!(run(&[1], 2, &stop, |x| *x), vec![None]);
    }
}
