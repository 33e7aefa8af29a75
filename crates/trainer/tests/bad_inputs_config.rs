//! Bad inputs, family config: every config section rejects unknown keys (the model table and
//! a sweep's `[base]` and `[models]` included), and a `config_version` this release does not
//! read is an error naming the versions it reads.

mod bad_matrix;
mod common;

use bad_matrix::{Exit, case, root, run_cases};
use common::s;

#[test]
fn config_rows() {
    let root = root("config");
    let write = |name: &str, text: &str| {
        let p = root.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let typo = write("typo.toml", "[model]\nname = \"mlp\"\nwidht = 32\n");
    let version = write("version.toml", "config_version = 99\n");
    let sweep = |body: &str| {
        format!(
            "name = \"t\"\n[base]\ndata.spec = \"gaussian:d=4,spectrum=power:1\"\n\
             train.steps = 10\n{body}\n[axes]\nmodel = [\"small\"]\nn = [16]\n\
             [models.small]\nname = \"mlp\"\nwidth = 16\n"
        )
    };
    let base_typo = write("base.toml", &sweep("model.widht = 8"));
    let model_typo = write(
        "models.toml",
        &sweep("").replace("width = 16", "widht = 16"),
    );
    let out = root.join("out");
    let cases = vec![
        case(
            "config",
            &["train", "--config", s(&typo), "--out", s(&out)],
            Exit::Error,
            "unknown [model] key `widht` for `mlp` (a typo?): `mlp` takes depth, temb, width",
        ),
        case(
            "config",
            &["train", "--config", s(&version), "--out", s(&out)],
            Exit::Error,
            "config_version = 99 is not a version this release reads (it reads 2",
        ),
        case(
            "config",
            &["sweep", s(&base_typo), "--out", s(&out), "--dry-run"],
            Exit::Error,
            "`widht`",
        ),
        case(
            "config",
            &["sweep", s(&model_typo), "--out", s(&out), "--dry-run"],
            Exit::Error,
            "`widht`",
        ),
    ];
    let failures = run_cases(&cases);
    assert!(
        !out.exists(),
        "a refused config left {} behind",
        out.display()
    );
    let _ = std::fs::remove_dir_all(&root);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
