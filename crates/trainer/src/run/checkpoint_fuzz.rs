//! A seeded, bounded fuzz test of the checkpoint readers: a checkpoint's `model.bpk` and
//! `state.json` are mutated (flipped bytes, truncation, appended bytes) and the readers must
//! answer with an error or a model, never panic; with `SHA256SUMS` every change is caught.

use super::checkpoint::{check_intact, load_net, load_state};
use super::checksum::write_sums;
use crate::run::WeightFile;
use diffmem_data::SampleShape;
use diffmem_model::burn::module::Module;
use diffmem_model::denoiser::MlpConfig;
use diffmem_model::{DeviceChoice, ModelSpec, Net, select_device};
use std::path::Path;

/// SplitMix64.
fn next(s: &mut u64) -> u64 {
    *s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *s;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn mutate(bytes: &[u8], s: &mut u64) -> Vec<u8> {
    let mut b = bytes.to_vec();
    let len = b.len().max(1) as u64;
    match next(s) % 3 {
        0 => {
            for _ in 0..=next(s) % 8 {
                let i = (next(s) % len) as usize;
                if let Some(x) = b.get_mut(i) {
                    *x ^= 1 << (next(s) % 8);
                }
            }
        }
        1 => b.truncate((next(s) % len) as usize),
        _ => b.extend((0..=next(s) % 64).map(|_| next(s) as u8)),
    }
    b
}

fn fresh(device: &diffmem_model::burn::prelude::Device) -> Net {
    let spec = ModelSpec::Mlp(MlpConfig {
        width: 8,
        depth: 1,
        temb: 4,
    });
    spec.init_net(SampleShape::Flat { d: 4 }, 10, device)
        .unwrap()
        .unwrap()
        .valid()
}

#[test]
fn checkpoint_readers_never_panic_on_mutated_files() {
    let dir = std::env::temp_dir().join(format!("diffmem-ckpt-fuzz-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let device = select_device(DeviceChoice::Flex).unwrap().device;
    fresh(&device)
        .into_record()
        .save(WeightFile::Model.stem_path(&dir))
        .unwrap();
    std::fs::write(dir.join("state.json"), br#"{"step": 10, "best_heldout": null, "best_step": null, "bad_intervals": 0, "has_ema": false, "elapsed_secs": 1.0}"#).unwrap();
    assert_eq!(load_state(&dir).unwrap().step, 10);
    let mut seed = 42u64;
    for path in [WeightFile::Model.path(&dir), dir.join("state.json")] {
        let name = path.display().to_string();
        let original = std::fs::read(&path).unwrap();
        for round in 0..100 {
            let bytes = mutate(&original, &mut seed);
            let read = |with_sums: bool| {
                std::fs::write(&path, &original).unwrap();
                let _ = std::fs::remove_file(dir.join(super::checksum::SUMS_FILE));
                if with_sums {
                    write_sums(&dir).unwrap();
                }
                std::fs::write(&path, &bytes).unwrap();
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    let _ = load_state(&dir);
                    let _ = load_net(fresh(&device), &dir, WeightFile::Model);
                    check_intact(&dir).is_ok()
                }))
            };
            let unchecked = read(false);
            assert!(
                unchecked.is_ok(),
                "{name}: a reader panicked on mutation {round}"
            );
            let intact = read(true).unwrap_or_else(|_| panic!("{name}: panic at {round}"));
            assert_eq!(
                intact,
                bytes == original,
                "{name}: checksum missed mutation {round}"
            );
        }
        std::fs::write(&path, &original).unwrap();
    }
    check_intact(&dir).unwrap();
    load_net(fresh(&device), Path::new(&dir), WeightFile::Model).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
