//! Using a run outside diffmem (docs/export.md): the UNet's safetensors export reproduced by
//! the PyTorch module of `scripts/export/unet_torch.py`, the per-example membership scores of
//! `eval --metrics mia` (the AUC recomputed from them by the pair definition), and the held-out
//! rows of `data export`.

use std::path::Path;
use std::process::Command;

mod common;
use common::{csv, npy, ok, python, python_has, s, safetensors_header, tmpdir};

/// Trains a tiny UNet on 16 digits into `run` for 3 steps: four levels pad 28 px to 32 (the
/// crop path), attention at 8 px, skip convs on the way up.
fn train_tiny_unet(run: &Path) {
    ok(&[
        "train",
        "--data",
        "mnist-5k",
        "--n",
        "16",
        "--heldout",
        "8",
        "--model",
        "unet",
        "--base",
        "8",
        "--mults",
        "1,2,2,2",
        "--attn",
        "8",
        "--timesteps",
        "50",
        "--steps",
        "3",
        "--batch-size",
        "4",
        "--num",
        "1",
        "--quiet",
        "--device",
        "flex",
        "--out",
        s(run),
    ]);
}

/// The UNet's safetensors export: its settings as metadata, the shapes of the input conv, the
/// time embedding and the check outputs, attention at 8 px and a skip conv on the way up.
fn check_unet_safetensors(file: &Path) {
    let h = safetensors_header(file);
    let meta = &h["__metadata__"];
    assert_eq!(meta["model"], "unet", "{meta}");
    assert_eq!(meta["mults"], "1,2,2,2");
    assert_eq!(meta["attn_res"], "8");
    assert_eq!(
        (meta["channels"].as_str(), meta["size"].as_str()),
        (Some("1"), Some("28"))
    );
    let shape = |name: &str| h[name]["shape"].clone();
    assert_eq!(shape("input.weight"), serde_json::json!([8, 1, 3, 3]));
    assert_eq!(shape("temb1.weight"), serde_json::json!([32, 8]));
    assert_eq!(shape("check.out"), serde_json::json!([4, 784]));
    assert!(
        h.get("down.2.attn.qkv.weight").is_some(),
        "attention at 8 px"
    );
    assert!(
        h.get("up.3.res.skip.weight").is_some(),
        "skip conv on the way up"
    );
}

/// The PyTorch module of `scripts/export/unet_torch.py` loads the export and reproduces its
/// check outputs; skipped, with a message, where the checks' Python has no torch.
fn check_unet_in_torch(file: &Path) {
    if !python_has("import torch") {
        eprintln!(
            "skipped the PyTorch check of the UNet export: `{} -c 'import torch'` fails (set \
             DIFFMEM_PYTHON to a Python with torch)",
            python()
        );
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/export/unet_torch.py");
    let o = Command::new(python())
        .arg(&script)
        .arg(file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    eprintln!("{text}{}", String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "{text}");
    assert!(text.contains("max |torch - diffmem|"), "{text}");
}

#[test]
fn unet_export_is_reproduced_by_the_pytorch_module() {
    let dir = tmpdir("export", "unet");
    let run = dir.join("run");
    train_tiny_unet(&run);
    let file = dir.join("unet.safetensors");
    ok(&["export", s(&run), "--weights", s(&file)]);
    check_unet_safetensors(&file);
    check_unet_in_torch(&file);
    std::fs::remove_dir_all(&dir).ok();
}

/// AUC by its definition: the fraction of (member, non-member) pairs ranked correctly, ties
/// counting one half.
fn auc_pairs(members: &[f64], nonmembers: &[f64]) -> f64 {
    let mut sum = 0.0;
    for x in members {
        for y in nonmembers {
            sum += if x > y {
                1.0
            } else if x == y {
                0.5
            } else {
                0.0
            };
        }
    }
    sum / (members.len() * nonmembers.len()) as f64
}

#[test]
fn membership_scores_and_heldout_rows_let_the_attack_be_recomputed_outside() {
    let dir = tmpdir("export", "mia");
    let run = dir.join("run");
    let mut args = common::tiny_mlp("64", "20", "10");
    args.extend_from_slice(&["--out", s(&run)]);
    ok(&args);
    let e = ok(&[
        "eval",
        s(&run),
        "--metrics",
        "mia",
        "--loss-points",
        "3",
        "--loss-rows",
        "32",
        "--quiet",
        "--json",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&e).unwrap();
    let rows = csv(&run.join("mia_scores.csv"));
    assert_eq!(rows[0], ["member", "row", "index", "paper_t", "score"]);
    assert_eq!(rows.len(), 1 + 2 * 32 * 3);
    let ts = doc["metrics"]["mia"]["paper_t"].as_array().unwrap();
    for (k, t) in ts.iter().enumerate() {
        let t = t.as_u64().unwrap().to_string();
        let scores = |member: &str| -> Vec<f64> {
            rows[1..]
                .iter()
                .filter(|r| r[0] == member && r[3] == t)
                .map(|r| r[4].parse().unwrap())
                .collect()
        };
        let (m, n) = (scores("1"), scores("0"));
        assert_eq!((m.len(), n.len()), (32, 32));
        let reported = doc["metrics"]["mia"]["auc"][k].as_f64().unwrap();
        assert!(
            (auc_pairs(&m, &n) - reported).abs() < 1e-9,
            "t {t}: {reported}"
        );
    }
    // The held-out rows, in eval's order, with their source indices.
    let out = dir.join("rows.npy");
    ok(&["data", "export", "--run", s(&run), "--out", s(&out)]);
    let (held, shape) = npy(&dir.join("rows_heldout.npy"));
    assert_eq!(shape, vec![32, 784]);
    assert!(held.iter().all(|v| (-1.0..=1.0).contains(v)));
    let (train_idx, _) = npy(&dir.join("rows_indices.npy"));
    let (held_idx, _) = npy(&dir.join("rows_heldout_indices.npy"));
    assert!(
        held_idx.iter().all(|i| !train_idx.contains(i)),
        "disjoint sets"
    );
    let first_heldout = rows[1..]
        .iter()
        .find(|r| r[0] == "0" && r[1] == "0")
        .unwrap();
    assert_eq!(first_heldout[2], (held_idx[0] as usize).to_string());
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("rows.json")).unwrap()).unwrap();
    assert_eq!(meta["heldout"]["rows"], "rows_heldout.npy", "{meta}");
    std::fs::remove_dir_all(&dir).ok();
}
