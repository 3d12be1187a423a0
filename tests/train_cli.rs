//! End-to-end tests of `amine train` and `amine template`.

mod common;
use common::{amine, text};
use std::path::Path;

fn assert_fails_without_report(args: &[&str], report: &Path, expect: &str) {
    let out = amine(args);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
    assert!(err.contains(expect), "{args:?}: `{expect}` not in {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!report.exists(), "{args:?} left a report behind");
}

#[test]
fn template_then_train_writes_every_report_file() {
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("ed4.ron");
    let p = program.to_str().unwrap();
    let out = amine(&["template", "ed", "--hidden", "4", "-o", p]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = dir.path().join("report");
    let r = report.to_str().unwrap();
    let out = amine(&[
        "train", p, "--task", "digits", "--epochs", "1", "--report", r,
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains("per training sample"), "{stdout}");
    assert!(stdout.contains("float reference"), "{stdout}");
    for f in [
        "report.json",
        "curve.csv",
        "curve.svg",
        "confusion.csv",
        "summary.txt",
    ] {
        assert!(report.join(f).is_file(), "{f} missing");
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("report.json")).unwrap())
            .unwrap();
    let acc = json["test_accuracy"].as_f64().unwrap();
    assert!(
        acc > 0.5,
        "test accuracy {acc} after one epoch of 4 hidden units per class"
    );
    assert_eq!(json["dale_violations"], 0);
    assert_eq!(json["curve"].as_array().unwrap().len(), 1);
    let csv = std::fs::read_to_string(report.join("curve.csv")).unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");
}

#[test]
fn bad_inputs_fail_cleanly_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("out");
    let r = report.to_str().unwrap();
    let missing = dir.path().join("no-mnist");
    let mnist = format!("mnist:{}", missing.display());
    assert_fails_without_report(
        &[
            "train",
            "programs/ed_digits.ron",
            "--task",
            &mnist,
            "--report",
            r,
        ],
        &report,
        "train-images-idx3-ubyte",
    );
    assert_fails_without_report(
        &[
            "train",
            "programs/ed_digits.ron",
            "--task",
            "cifar",
            "--report",
            r,
        ],
        &report,
        "cifar",
    );
    assert_fails_without_report(
        &[
            "train",
            "programs/balanced.ron",
            "--task",
            "digits",
            "--report",
            r,
        ],
        &report,
        "x_e",
    );
    assert_fails_without_report(
        &[
            "train",
            "programs/ed_digits.ron",
            "--epochs",
            "0",
            "--report",
            r,
        ],
        &report,
        "at least one epoch",
    );
    // A rule the learning engine cannot run: named at its place in the string.
    let bad = dir.path().join("bad.ron");
    let prog = std::fs::read_to_string(common::root().join("programs/ed_digits.ron")).unwrap();
    let prog = prog.replacen(
        "rule: \"error_diffusion\"",
        "rule: \"dw = 2^-5*pre*deriv*m9*zz\"",
        1,
    );
    let prog = prog
        .replacen("\"alpha\": 32.0,", "", 1)
        .replacen("\"channel\": 0.0,", "", 1);
    std::fs::write(&bad, prog).unwrap();
    assert_fails_without_report(
        &[
            "train",
            bad.to_str().unwrap(),
            "--task",
            "digits",
            "--report",
            r,
        ],
        &report,
        "zz",
    );
    assert_fails_without_report(
        &[
            "train",
            "programs/ed_digits.ron",
            "--chip",
            "tiny",
            "--report",
            r,
        ],
        &report,
        "inside the 8×8 grid",
    );
}
