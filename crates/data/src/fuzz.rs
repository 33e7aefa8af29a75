//! A seeded, bounded fuzz test of the file readers (IDX raw and gzip, CIFAR-10 batches and
//! their tar.gz archive): valid files are mutated (flipped bytes, truncation, appended bytes,
//! a header word replaced by an arbitrary value) and each reader must return Ok or a
//! `DataError`, never panic and never try to allocate what a header merely announces.

use crate::cifar::{RECORD, load_cifar};
use crate::idx::load_mnist_dir;
use crate::split::Split;
use crate::testutil::*;
use std::path::Path;

/// SplitMix64: a tiny seeded generator (the test needs no statistical quality).
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One random mutation of `bytes`.
fn mutate(bytes: &[u8], rng: &mut Mix) -> Vec<u8> {
    let mut b = bytes.to_vec();
    match rng.below(4) {
        0 => {
            for _ in 0..=rng.below(8) {
                let i = rng.below(b.len());
                if let Some(x) = b.get_mut(i) {
                    *x ^= 1 << rng.below(8);
                }
            }
        }
        1 => b.truncate(rng.below(b.len())),
        2 => b.extend((0..=rng.below(64)).map(|_| rng.next() as u8)),
        _ => {
            let at = 4 * rng.below(4);
            let word = match rng.below(3) {
                0 => u32::MAX,
                1 => 0,
                _ => rng.next() as u32,
            };
            if b.len() >= at + 4 {
                b[at..at + 4].copy_from_slice(&word.to_be_bytes());
            }
        }
    }
    b
}

/// Mutates `file` `rounds` times, calling `read` each time; panics are caught and reported.
fn fuzz_file(file: &Path, rounds: usize, seed: u64, read: &dyn Fn() -> bool) {
    let original = std::fs::read(file).unwrap();
    let mut rng = Mix(seed);
    let mut accepted = 0;
    for round in 0..rounds {
        let bytes = mutate(&original, &mut rng);
        std::fs::write(file, &bytes).unwrap();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(read));
        match outcome {
            Ok(ok) => accepted += usize::from(ok),
            Err(_) => panic!(
                "reader panicked on mutation {round} of {} ({} bytes)",
                file.display(),
                bytes.len()
            ),
        }
    }
    std::fs::write(file, &original).unwrap();
    // The unmutated file still reads; most mutations are rejected.
    assert!(read(), "{} no longer reads", file.display());
    assert!(
        accepted < rounds,
        "every mutation of {} was accepted",
        file.display()
    );
}

#[test]
fn idx_readers_never_panic_on_mutated_files() {
    for gz in [false, true] {
        let t = TempDir::new("fuzz-idx");
        write_mnist(&t.0, "train", 6, 4, 3, gz);
        let ext = if gz { ".gz" } else { "" };
        let read = || load_mnist_dir(&t.0, Split::Train, "fuzz".into(), "mnist").is_ok();
        for (k, name) in ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"]
            .iter()
            .enumerate()
        {
            let seed = 16 + k as u64 + 2 * u64::from(gz);
            fuzz_file(&t.join(&format!("{name}{ext}")), 150, seed, &read);
        }
    }
}

#[test]
fn cifar_readers_never_panic_on_mutated_files() {
    let t = TempDir::new("fuzz-cifar");
    let batch: Vec<u8> = (0..3 * RECORD)
        .map(|i| {
            if i % RECORD == 0 {
                (i / RECORD) as u8
            } else {
                i as u8
            }
        })
        .collect();
    write(&t.join("test_batch.bin"), &batch);
    let read = || load_cifar(&t.0, Split::Test, "fuzz".into()).is_ok();
    fuzz_file(&t.join("test_batch.bin"), 150, 7, &read);
    // The same batch inside the original archive layout.
    let a = TempDir::new("fuzz-cifar-tgz");
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(batch.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(
        &mut header,
        "cifar-10-batches-bin/test_batch.bin",
        batch.as_slice(),
    )
    .unwrap();
    let archive = a.join(crate::cifar::ARCHIVE);
    write(&archive, &gzip(&tar.into_inner().unwrap()));
    let read = || load_cifar(&archive, Split::Test, "fuzz".into()).is_ok();
    fuzz_file(&archive, 150, 8, &read);
}
