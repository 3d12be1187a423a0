//! Every kind of `report.html` — a run (with monitors and the modulator field), an Error
//! Diffusion training run, an e-prop study, a sweep and a comparison — loads in headless
//! Chromium without a console error, an exception, a failed or external request, or a
//! picture without a size (`tests/browser/check_report.py` drives Chromium over its
//! DevTools pipe).
//!
//! Chromium is not needed by the default test run: without it (or without python3) this
//! test says it is skipped and passes, unless `AMINE_REQUIRE_CHROMIUM=1` (set by
//! `.ci/run`, which installs Debian's chromium) makes a missing browser a failure.

use std::path::Path;
use std::process::Command;

mod common;
use common::{amine, root, text};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Whether `cmd --version` runs.
fn have(cmd: &str) -> bool {
    Command::new(cmd)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn checker(pages: &[&Path]) -> std::process::Output {
    Command::new("python3")
        .arg(root().join("tests/browser/check_report.py"))
        .args(pages)
        .output()
        .expect("python3 runs")
}

fn ok(args: &[&str]) {
    let out = amine(args);
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
}

#[test]
fn every_report_renders_in_headless_chromium() {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".into());
    if !have(&chromium) || !have("python3") {
        assert!(
            std::env::var("AMINE_REQUIRE_CHROMIUM").is_err(),
            "AMINE_REQUIRE_CHROMIUM is set but `{chromium}` or python3 does not run"
        );
        eprintln!("skipped: `{chromium}` or python3 not found (install Debian's chromium to run this test)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n);
    ok(&[
        "run",
        "programs/recurrent_modulated.ron",
        "--steps",
        "200",
        "--report",
        s(&d("run")),
    ]);
    ok(&[
        "train",
        "programs/ed_digits.ron",
        "--task",
        "digits",
        "--epochs",
        "1",
        "--no-float",
        "--report",
        s(&d("train")),
    ]);
    ok(&[
        "train",
        "--task",
        "cue-accumulation",
        "--trials",
        "64",
        "--eval-every",
        "32",
        "--eval-trials",
        "16",
        "--report",
        s(&d("eprop")),
    ]);
    let spec = d("sweep.ron");
    std::fs::write(
        &spec,
        format!(
            "Sweep(program: \"{}\", job: Run(steps: 30), seeds: [1, 2],
               axes: [(set: \"costs.synaptic_op.energy_pj\", values: [10.0, 20.0])])",
            root().join("programs/balanced.ron").display()
        ),
    )
    .unwrap();
    ok(&["sweep", s(&spec), "--report", s(&d("sweep"))]);
    ok(&[
        "compare",
        "programs/balanced.ron",
        "--chip",
        "loihi,spinnaker2,odin",
        "--steps",
        "30",
        "--report",
        s(&d("compare")),
    ]);
    let pages: Vec<std::path::PathBuf> = ["run", "train", "eprop", "sweep", "compare"]
        .iter()
        .map(|n| d(n).join("report.html"))
        .collect();
    let refs: Vec<&Path> = pages.iter().map(|p| p.as_path()).collect();
    let out = checker(&refs);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(
        text(&out.stdout).matches("ok: ").count(),
        5,
        "{}",
        text(&out.stdout)
    );

    // The checker itself fails on a broken page.
    let bad = d("bad.html");
    std::fs::write(
        &bad,
        "<!DOCTYPE html><html><body><h1>x</h1><script>console.error('boom')</script></body></html>",
    )
    .unwrap();
    let out = checker(&[&bad]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("console error: boom"),
        "{}",
        text(&out.stdout)
    );
}
