//! Helpers shared by the end-to-end tests of the `amine` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (tests run the binary from there).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `amine` with `args` from the repository root.
pub fn amine(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_amine"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("the amine binary runs")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
