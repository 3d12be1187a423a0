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

/// A tiny e-prop study: 2 conditions × 2 seeds, 64 training trials each (two batches
/// of 32, a curve point after each, 8 evaluation trials per point).
#[test]
fn eprop_study_writes_every_report_file() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("eprop");
    let r = report.to_str().unwrap();
    let out = amine(&[
        "train",
        "--task",
        "cue-accumulation",
        "--condition",
        "diffusion,sparse",
        "--seeds",
        "2",
        "--trials",
        "64",
        "--batch",
        "32",
        "--eval-every",
        "32",
        "--eval-trials",
        "8",
        "--threads",
        "2",
        "--report",
        r,
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains("cue-accumulation"), "{stdout}");
    for c in ["diffusion", "sparse"] {
        assert!(
            stdout.lines().any(|l| l.starts_with(c)),
            "no row for {c}: {stdout}"
        );
    }
    // Everything in place, and no temporary directory left beside it.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, vec!["eprop".to_string()]);
    let read =
        |f: &str| std::fs::read_to_string(report.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    let json: serde_json::Value = serde_json::from_str(&read("report.json")).unwrap();
    assert_eq!(json["runs"].as_array().unwrap().len(), 4);
    let summaries = json["summaries"].as_array().unwrap();
    assert_eq!(summaries.len(), 2);
    for s in summaries {
        assert_eq!(s["seeds"], serde_json::json!([1, 2]));
        let acc = s["mean"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&acc), "{acc}");
        assert!(s["energy_per_training_trial_pj"].as_f64().unwrap() > 0.0);
    }
    let csv = read("curve.csv");
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(
        header[..4],
        ["condition", "seed", "trials", "train_accuracy"]
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    // 4 runs × 2 curve points, each with an evaluation.
    assert_eq!(rows.len(), 8, "{csv}");
    for row in &rows {
        assert_eq!(row.len(), header.len(), "{row:?}");
        assert!(["diffusion", "sparse"].contains(&row[0]), "{row:?}");
        assert!(["1", "2"].contains(&row[1]), "{row:?}");
        assert!(["32", "64"].contains(&row[2]), "{row:?}");
        let eval: f64 = row[5].parse().unwrap();
        assert!((0.0..=1.0).contains(&eval), "{row:?}");
    }
    let summary = read("summary.txt");
    assert!(
        summary.contains("final accuracy %") && summary.contains("train µJ"),
        "{summary}"
    );
    // Every report names the program and the chip configuration: name, file and the
    // fingerprint of the whole configuration.
    let chip = amine_chip::presets::preset("loihi-eprop").unwrap();
    let fp = format!("{:016x}", amine_chip::identity::fingerprint(&chip));
    assert_eq!(json["chip"]["name"], "loihi-eprop");
    assert_eq!(json["chip"]["file"], "<preset loihi-eprop>");
    assert_eq!(json["chip"]["fingerprint"], fp.as_str());
    assert_eq!(json["sources"], serde_json::json!(["template", "template"]));
    assert!(
        summary.contains("loihi-eprop") && summary.contains(&fp),
        "{summary}"
    );
    for f in ["curve.svg", "field.svg"] {
        let svg = read(f);
        assert!(
            svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
            "{f}"
        );
        assert!(svg.contains("diffusion") && svg.contains("sparse"), "{f}");
        assert!(svg.contains("loihi-eprop") && svg.contains(&fp), "{f}");
    }
    let html = read("report.html");
    assert!(
        html.contains("loihi-eprop") && html.contains(&fp) && html.matches("<svg").count() == 2,
        "report.html names the chip and holds both pictures"
    );
}

/// The shipped cue program trains as it is, recorded as the study's program, and is
/// what the template writes.
#[test]
fn the_shipped_cue_program_trains_and_is_the_templates() {
    let dir = tempfile::tempdir().unwrap();
    let written = dir.path().join("cue_accumulation.ron");
    let w = written.to_str().unwrap();
    let out = amine(&[
        "template",
        "eprop",
        "--task",
        "cue-accumulation",
        "--condition",
        "diffusion",
        "-o",
        w,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shipped =
        std::fs::read_to_string(common::root().join("programs/cue_accumulation.ron")).unwrap();
    let fresh = std::fs::read_to_string(&written)
        .unwrap()
        .replace(w, "programs/cue_accumulation.ron");
    assert!(
        fresh == shipped,
        "programs/cue_accumulation.ron is stale: regenerate it with `amine template eprop \
         --task cue-accumulation --condition diffusion -o programs/cue_accumulation.ron`"
    );
    let report = dir.path().join("out");
    let out = amine(&[
        "train",
        "programs/cue_accumulation.ron",
        "--task",
        "cue-accumulation",
        "--trials",
        "64",
        "--eval-every",
        "64",
        "--eval-trials",
        "4",
        "--json",
        "--report",
        report.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json["sources"],
        serde_json::json!(["programs/cue_accumulation.ron"])
    );
    assert_eq!(json["runs"][0]["settings"]["condition"], "Diffusion");
    assert_eq!(
        json["runs"][0]["config"]["program"]["name"],
        "cue_accumulation"
    );
}

#[test]
fn eprop_bad_inputs_name_the_flag_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("out");
    let r = report.to_str().unwrap();
    let eprop = |extra: &[&str]| {
        let mut args = vec!["train", "--task", "cue-accumulation", "--report", r];
        args.extend_from_slice(extra);
        args.into_iter().map(String::from).collect::<Vec<_>>()
    };
    for (extra, expect) in [
        (&["--condition", "nonsense"][..], "--condition"),
        (&["--condition", "nonsense"][..], "nonsense"),
        (&["--lr", "1,2"][..], "--lr"),
        (&["--lr", "1,x,3"][..], "--lr"),
        (&["--seeds", "0"][..], "--seeds"),
        (&["--k", "2"][..], "--k"),
        (&["--epochs", "3"][..], "--epochs"),
        (&["--lr", "1,2,3", "--adam", "0.01"][..], "give one"),
        (&["programs/ed_digits.ron"][..], "no `eprop` section"),
        // The program carries its own network: template flags are refused.
        (
            &["programs/cue_accumulation.ron", "--condition", "sparse"][..],
            "carries its own",
        ),
        // Widths the chip lacks: a compile error naming the limit, needed and available.
        (&["--weight-bits", "20"][..], "core.weight_bits"),
        (
            &["--frac-bits", "30"][..],
            "learning.eprop.eligibility.max_frac_bits",
        ),
        // Loihi has no e-prop engine: every limit named.
        (&["--chip", "loihi"][..], "learning.eprop"),
        (&["--chip", "loihi"][..], "learning.trace_bits"),
    ] {
        let args = eprop(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_fails_without_report(&args, &report, expect);
    }
    // A program the fast backend cannot run: a synaptic delay.
    let delayed = dir.path().join("delayed.ron");
    let text = std::fs::read_to_string(common::root().join("programs/cue_accumulation.ron"))
        .unwrap()
        .replacen("delay: 0,", "delay: 2,", 1);
    std::fs::write(&delayed, text).unwrap();
    assert_fails_without_report(
        &[
            "train",
            delayed.to_str().unwrap(),
            "--task",
            "cue-accumulation",
            "--report",
            r,
        ],
        &report,
        "synaptic delays",
    );
    // A task whose inputs, readouts and trials do not match the program.
    assert_fails_without_report(
        &[
            "train",
            "programs/cue_accumulation.ron",
            "--task",
            "delayed-match",
            "--report",
            r,
        ],
        &report,
        "the task sends 80 inputs, the program's input port has 40",
    );
    // e-prop flags on an Error Diffusion task, and an ED task without its program.
    assert_fails_without_report(
        &[
            "train",
            "programs/ed_digits.ron",
            "--task",
            "digits",
            "--seeds",
            "2",
            "--report",
            r,
        ],
        &report,
        "--seeds",
    );
    assert_fails_without_report(
        &["train", "--task", "digits", "--report", r],
        &report,
        "programs/ed_digits.ron",
    );
}

#[test]
fn modulo_template_trains_with_its_own_float_reference_and_refuses_what_it_cannot_place() {
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("dual.ron");
    let p = program.to_str().unwrap();
    let out = amine(&[
        "template",
        "ed",
        "--routing",
        "modulo",
        "--hidden",
        "20",
        "-o",
        p,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = dir.path().join("report");
    let r = report.to_str().unwrap();
    let out = amine(&[
        "train", p, "--task", "digits", "--epochs", "1", "--report", r,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("report.json")).unwrap())
            .unwrap();
    assert_eq!(json["dale_violations"], 0);
    assert_eq!(json["steps_per_sample"], 4);
    // Error units that centre: the default chip is `loihi-ed`.
    assert_eq!(json["chip"], "loihi-ed");
    let config = json["float_reference"]["config"].as_str().unwrap();
    assert!(
        config.contains("modulo routing") && config.contains("hidden 20"),
        "{config}"
    );
    // Augmented, with a falling rate: the report says both, the reference follows.
    let aug = dir.path().join("aug");
    let out = amine(&[
        "train",
        p,
        "--task",
        "digits",
        "--epochs",
        "2",
        "--augment",
        "shift:1",
        "--final-rate",
        "0.5",
        "--final-test-only",
        "--report",
        aug.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(aug.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["task"], "digits/train+shift1");
    assert_eq!(json["train_samples"], 5 * 1437);
    assert_eq!(json["final_rate"], 0.5);
    let config = json["float_reference"]["config"].as_str().unwrap();
    assert!(config.contains("falling linearly"), "{config}");
    // The published chip has no centring register: refused, naming the preset to use.
    let nothing = dir.path().join("nothing");
    let n = nothing.to_str().unwrap();
    for (args, expect) in [
        (&["--chip", "loihi"][..], "loihi-ed"),
        (&["--augment", "shift:0"][..], "--augment shift:0"),
        // A per-epoch augmentation is for sigprop programs.
        (
            &["--augment", "shift-random:1"][..],
            "--augment shift-random:1",
        ),
        (&["--final-rate", "0"][..], "--final-rate 0"),
    ] {
        let mut all = vec!["train", p, "--task", "digits", "--report", n];
        all.extend_from_slice(args);
        assert_fails_without_report(&all, &nothing, expect);
    }
    // Options the template cannot satisfy: named, exit 1, no program written.
    let bad = dir.path().join("bad.ron");
    let b = bad.to_str().unwrap();
    for (args, expect) in [
        (&["--hidden", "8"][..], "fewer than the 10 classes"),
        (&["--classes", "2000", "--hidden", "2000"][..], "1024 cells"),
        (&["--widths", "3"][..], "--widths"),
        (&["--centring", "0.01"][..], "--centring 0.01"),
        (&["--credit", "diffusion"][..], "--credit"),
        (&["--hidden", "20,x"][..], "--hidden 20,x"),
        (&["--hidden", "40p5s6"][..], "a stride of 6 for 5×5 patches"),
    ] {
        let mut all = vec!["template", "ed", "--routing", "modulo", "-o", b];
        all.extend_from_slice(args);
        assert_fails_without_report(&all, &bad, expect);
    }
    assert_fails_without_report(
        &["template", "ed", "--routing", "columns", "-o", b],
        &bad,
        "--routing columns",
    );
    assert_fails_without_report(&["template", "ed", "--eta", "3", "-o", b], &bad, "--eta");
    for flag in ["--hidden", "--diffusion-steps"] {
        assert_fails_without_report(
            &[
                "template",
                "eprop",
                "--task",
                "cue-accumulation",
                flag,
                "4",
                "-o",
                b,
            ],
            &bad,
            &format!("{flag} is for the layered templates"),
        );
    }
}

/// The default chip of a modulo-routed program is `loihi-ed` whether or not its error
/// units centre: `--centring off` drops the register, not the dual-stream layout.
#[test]
fn modulo_template_without_centring_defaults_to_loihi_ed() {
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("dual.ron");
    let p = program.to_str().unwrap();
    let out = amine(&[
        "template",
        "ed",
        "--routing",
        "modulo",
        "--hidden",
        "20",
        "--centring",
        "off",
        "-o",
        p,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!std::fs::read_to_string(&program)
        .unwrap()
        .contains("centring"));
    let report = dir.path().join("report");
    let out = amine(&[
        "train",
        p,
        "--task",
        "digits",
        "--epochs",
        "1",
        "--no-float",
        "--final-test-only",
        "--report",
        report.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("report.json")).unwrap())
            .unwrap();
    assert_eq!(json["chip"], "loihi-ed");
}
