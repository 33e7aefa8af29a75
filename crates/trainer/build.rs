//! Records the git commit of the build for `diffmem --version` (DIFFMEM_GIT_HASH): the short
//! hash of HEAD, or `unknown` when the sources are not a git checkout or git is missing (e.g. a
//! crates.io tarball). Uncommitted changes are not detected.

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success()).then_some(text)
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let version = git(&["rev-parse", "--short=12", "HEAD"])
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=DIFFMEM_GIT_HASH={version}");
    // Rebuild when HEAD moves (a commit or a checkout); in a worktree these are its own files.
    if let Some(dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        for f in ["HEAD", "logs/HEAD"] {
            let p = Path::new(&dir).join(f);
            if p.exists() {
                println!("cargo:rerun-if-changed={}", p.display());
            }
        }
    }
}
