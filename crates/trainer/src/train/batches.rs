//! Minibatches, timesteps and noise as pure functions of (seed, step): a resumed run draws
//! exactly what the uninterrupted run would have, with no RNG state to save.
//! Epoch e visits the training set in the order of a ChaCha8 permutation seeded by (seed, e).

use diffmem_data::rng::{Purpose, below, shuffle, stream};
use rand_distr::{Distribution, StandardNormal};

/// One step's timesteps and noise, drawn ahead of it ([`Batches::draw_beside`]).
pub struct Drawn {
    step: usize,
    draw: (Vec<usize>, Vec<f32>),
}

/// Deterministic batch drawer over a training set of `n` rows.
pub struct Batches {
    seed: u64,
    n: usize,
    batch: usize,
    epoch: Option<(usize, Vec<usize>)>,
}

impl Batches {
    /// A drawer for `n` rows in batches of `batch`.
    pub fn new(seed: u64, n: usize, batch: usize) -> Self {
        Self {
            seed,
            n,
            batch,
            epoch: None,
        }
    }

    fn permutation(&self, e: usize) -> Vec<usize> {
        let mut p: Vec<usize> = (0..self.n).collect();
        shuffle(&mut stream(self.seed, Purpose::Batches, e as u64), &mut p);
        p
    }

    /// Row indices of step `step`'s batch.
    pub fn indices(&mut self, step: usize) -> Vec<usize> {
        (0..self.batch)
            .map(|k| {
                let pos = step * self.batch + k;
                let (e, within) = (pos / self.n, pos % self.n);
                if self.epoch.as_ref().is_none_or(|(ce, _)| *ce != e) {
                    self.epoch = Some((e, self.permutation(e)));
                }
                self.epoch.as_ref().map_or(0, |(_, p)| p[within])
            })
            .collect()
    }

    /// Runs `work` (a training step) on this thread while step `next`'s timesteps and noise
    /// are drawn beside it ([`diffmem_model::flex::beside`]: by rayon's other worker while
    /// the step's serial ops leave it idle, else here after `work`). The draw is a function of
    /// (seed, step) alone, so the run's values are those of drawing it when needed; the
    /// scalar ChaCha8 draw (6 % of an MLP step) leaves the step's thread.
    pub fn draw_beside<R>(
        &self,
        next: Option<usize>,
        t_max: usize,
        dim: usize,
        work: impl FnOnce() -> R,
    ) -> (R, Option<Drawn>) {
        diffmem_model::flex::beside(work, || {
            next.map(|step| Drawn {
                step,
                draw: self.timesteps_and_noise(step, t_max, dim),
            })
        })
    }

    /// Step `step`'s timesteps and noise: `ahead`'s when it drew this step, else drawn now.
    pub fn drawn(
        &self,
        ahead: Option<Drawn>,
        step: usize,
        t_max: usize,
        dim: usize,
    ) -> (Vec<usize>, Vec<f32>) {
        match ahead {
            Some(d) if d.step == step => d.draw,
            _ => self.timesteps_and_noise(step, t_max, dim),
        }
    }

    /// Timesteps (uniform in 0..t_max) and standard normal noise `[batch * dim]` of `step`.
    pub fn timesteps_and_noise(
        &self,
        step: usize,
        t_max: usize,
        dim: usize,
    ) -> (Vec<usize>, Vec<f32>) {
        let mut rng = stream(self.seed, Purpose::Steps, step as u64);
        let t = (0..self.batch)
            .map(|_| below(&mut rng, t_max as u64) as usize)
            .collect();
        let eps = (0..self.batch * dim)
            .map(|_| StandardNormal.sample(&mut rng))
            .collect();
        (t, eps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_epoch_visits_each_row_once_and_is_reproducible() {
        let mut b = Batches::new(3, 10, 4);
        let mut seen: Vec<usize> = (0..5).flat_map(|s| b.indices(s)).collect();
        let first_two_epochs = seen.clone();
        seen.truncate(10);
        seen.sort();
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
        let mut again = Batches::new(3, 10, 4);
        // Starting mid-way (as a resumed run does) gives the same batches.
        assert_eq!(again.indices(3), first_two_epochs[12..16].to_vec());
        let (t1, e1) = b.timesteps_and_noise(7, 1000, 3);
        let (t2, e2) = again.timesteps_and_noise(7, 1000, 3);
        assert_eq!((t1.clone(), e1.clone()), (t2, e2));
        // Drawn ahead beside other work: the same values, used only for the step they are of.
        let (sum, ahead) = b.draw_beside(Some(7), 1000, 3, || 2 + 2);
        assert_eq!(sum, 4);
        let ahead = ahead.expect("step 7 drawn");
        assert_eq!(b.drawn(Some(ahead), 7, 1000, 3), (t1, e1));
        let (_, stale) = b.draw_beside(Some(6), 1000, 3, || ());
        assert_eq!(
            b.drawn(stale, 8, 1000, 3),
            b.timesteps_and_noise(8, 1000, 3)
        );
        assert!(b.draw_beside(None, 1000, 3, || ()).1.is_none());
    }
}
