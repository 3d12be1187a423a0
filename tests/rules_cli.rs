//! End-to-end tests of `amine template dfa`, DFA training with `amine train`, and
//! `amine rules`.

mod common;
use common::{amine, text};

#[test]
fn dfa_trains_on_the_chip_near_its_float_reference() {
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("dfa32.ron");
    let p = program.to_str().unwrap();
    let out = amine(&["template", "dfa", "--hidden", "32", "-o", p]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = dir.path().join("report");
    let r = report.to_str().unwrap();
    let out = amine(&[
        "train", p, "--task", "digits", "--epochs", "2", "--report", r,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("report.json")).unwrap())
            .unwrap();
    let chip = json["test_accuracy"].as_f64().unwrap();
    let float = json["float_reference"]["test_accuracy"].as_f64().unwrap();
    assert!(chip > 0.8, "chip {chip}");
    assert!((chip - float).abs() < 0.05, "chip {chip}, float {float}");
    assert!(json["float_reference"]["config"]
        .as_str()
        .unwrap()
        .starts_with("DFA"));
    let cpu = json["conventional"]["cpu"]["energy_pj"].as_f64().unwrap();
    assert!(cpu > 0.0);
}

#[test]
fn bad_template_and_rules_options_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("big.ron");
    let p = program.to_str().unwrap();
    for (args, expect) in [
        (
            vec!["template", "dfa", "--hidden", "2000", "-o", p],
            "the grid has 1024",
        ),
        (
            vec!["template", "dfa", "--credit", "diffusion", "-o", p],
            "--credit",
        ),
        (vec!["template", "dfa", "--rate=-1", "-o", p], "--rate"),
        (
            vec!["template", "sigprop", "--classes", "65", "-o", p],
            "--classes: 65 classes; chip `loihi-sigprop`",
        ),
        (
            vec!["template", "sigprop", "--contexts-per-class", "7", "-o", p],
            "--contexts-per-class: 10 classes × 7 contexts = 70 contexts; chip `loihi-sigprop`'s context register file holds 64 (learning.sigprop.context.classes); `--chip loihi-sigprop-128` holds them",
        ),
        (
            vec!["template", "sigprop", "--contexts-per-class", "13", "-o", p],
            "10 classes × 13 contexts = 130 contexts; chip `loihi-sigprop`'s context register file holds 64 (learning.sigprop.context.classes)\n",
        ),
        (
            vec!["template", "sigprop", "--contexts-per-class", "0", "-o", p],
            "--contexts-per-class: must be at least 1",
        ),
        // A larger register file is a chip override away, and still a limit.
        (
            vec![
                "template",
                "sigprop",
                "--contexts-per-class",
                "12",
                "--set",
                "learning.sigprop.context.classes=100",
                "-o",
                p,
            ],
            "--contexts-per-class: 10 classes × 12 contexts = 120 contexts; chip `loihi-sigprop`'s context register file holds 100",
        ),
        (
            vec![
                "template",
                "sigprop",
                "--set",
                "learning.sigprop.context.classes=300",
                "-o",
                p,
            ],
            "learning.sigprop.context.classes`: 300 is outside 2..=256",
        ),
        (
            vec!["template", "dfa", "--set", "core.compartments=512", "-o", p],
            "--set is not an option of `amine template dfa`",
        ),
        (
            vec!["template", "dfa", "--contexts-per-class", "2", "-o", p],
            "--contexts-per-class is not an option of `amine template dfa`",
        ),
        (
            vec!["template", "sigprop", "--own-class", "mixed", "-o", p],
            "--own-class mixed: negatives, excluded or pooled",
        ),
        // The chip's unit says which treatments it implements.
        (
            vec![
                "template",
                "sigprop",
                "--own-class",
                "pooled",
                "--set",
                "learning.sigprop.distance.own_class=[negatives]",
                "-o",
                p,
            ],
            "--own-class: pooled: chip `loihi-sigprop`'s distance unit does not implement it (learning.sigprop.distance.own_class)",
        ),
        (
            vec!["template", "dfa", "--own-class", "pooled", "-o", p],
            "--own-class is not an option of `amine template dfa`",
        ),
        (
            vec!["template", "ed", "--own-class", "pooled", "-o", p],
            "--own-class",
        ),
        (
            vec!["template", "sigprop", "--hidden", "128,2000", "-o", p],
            "--hidden: a layer of 2000 units",
        ),
        (
            vec!["template", "sigprop", "--beta", "300", "-o", p],
            "--beta",
        ),
        // Sigprop's options are not DFA's: refused by name, nothing written.
        (
            vec!["template", "dfa", "--beta", "8", "-o", p],
            "--beta is not an option of `amine template dfa`",
        ),
        (
            vec!["template", "dfa", "--batch", "4", "-o", p],
            "--batch is not an option of `amine template dfa`",
        ),
        (
            vec!["template", "dfa", "--context-mean", "0.2", "-o", p],
            "--context-mean is not an option of `amine template dfa`",
        ),
        (
            vec!["template", "dfa", "--complement", "on", "-o", p],
            "--complement is not an option of `amine template dfa`",
        ),
        // Nor are they Error Diffusion's or e-prop's.
        (
            vec!["template", "ed", "--beta", "8", "-o", p],
            "--beta is not an option of `amine template ed`",
        ),
        (
            vec![
                "template",
                "ed",
                "--routing",
                "modulo",
                "--rate",
                "0.5",
                "-o",
                p,
            ],
            "--rate is not an option of `amine template ed`",
        ),
        (
            vec!["template", "ed", "--context-mean", "0.2", "-o", p],
            "--context-mean is not an option of `amine template ed`",
        ),
        (
            vec![
                "template",
                "eprop",
                "--task",
                "cue-accumulation",
                "--readout",
                "sum",
                "-o",
                p,
            ],
            "--readout is not an option of `amine template eprop`",
        ),
        (
            vec!["template", "sigprop", "--condition", "full", "-o", p],
            "--condition is not an option of `amine template sigprop`",
        ),
        (
            vec!["template", "sigprop", "--complement", "maybe", "-o", p],
            "--complement maybe: on or off",
        ),
        (
            vec!["template", "sigprop", "--rate-decay", "1.5", "-o", p],
            "--rate-decay: 1.5: must be in (0, 1]",
        ),
        (
            vec!["template", "sigprop", "--inputs", "784", "-o", p],
            "--task digits: 64 inputs and 10 classes; the network has 784 and 10",
        ),
        (
            vec!["template", "sigprop", "--context-mean", "0.2", "-o", p],
            "--context-mean is for --contexts random",
        ),
    ] {
        let out = amine(&args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(expect), "{args:?}: {err}");
        assert!(!program.exists(), "{args:?} wrote a program");
    }
    // A chip without the sigprop unit: the compiler names the chip and the field.
    let report = dir.path().join("sp_report");
    let out = amine(&[
        "train",
        "programs/sigprop_digits.ron",
        "--task",
        "digits",
        "--chip",
        "loihi",
        "--report",
        report.to_str().unwrap(),
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("chip `loihi`") && err.contains("learning.sigprop"),
        "{err}"
    );
    assert!(!report.exists());
    let out_dir = dir.path().join("rules");
    let o = out_dir.to_str().unwrap();
    for (args, expect) in [
        (
            vec!["rules", "--program", "nofile", "--out", o],
            "NAME=FILE",
        ),
        (
            vec!["rules", "--program", "x=missing.ron", "--out", o],
            "missing.ron",
        ),
        (
            vec!["rules", "--task", "mnist:/nonexistent", "--out", o],
            "train-images-idx3-ubyte",
        ),
        (
            vec![
                "rules",
                "--program",
                "x=programs/dfa_digits.ron@",
                "--out",
                o,
            ],
            "NAME=FILE@CHIP",
        ),
        (
            vec![
                "rules",
                "--program",
                "x=programs/dfa_digits.ron@no-such-chip",
                "--out",
                o,
            ],
            "--program x: chip no-such-chip",
        ),
    ] {
        let out = amine(&args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(expect), "{args:?}: {err}");
        assert!(!out_dir.exists(), "{args:?} wrote {o}");
    }
}

#[test]
fn rules_writes_one_table_and_one_picture() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("rules");
    let o = out_dir.to_str().unwrap();
    let out = amine(&[
        "rules",
        "--program",
        "dfa=programs/dfa_digits.ron",
        "--epochs",
        "1",
        "--out",
        o,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let csv = std::fs::read_to_string(out_dir.join("rules.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    // header, dfa on the chip, its f64 reference, backprop, dfa, sigprop
    assert_eq!(rows.len(), 6, "{csv}");
    assert!(rows[1].starts_with("dfa,chip"), "{csv}");
    assert!(std::fs::read_to_string(out_dir.join("rules.svg"))
        .unwrap()
        .starts_with("<svg"));
}

/// `NAME=FILE@CHIP` runs a program on its own chip: the modulo-routing ED program needs
/// `loihi-ed`'s centring register, and is refused on `--chip loihi`.
#[test]
fn rules_runs_a_program_on_its_own_chip() {
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("dual.ron");
    let p = program.to_str().unwrap();
    let out = amine(&[
        "template",
        "ed",
        "--routing",
        "modulo",
        "--widths",
        "3,6",
        "--eta",
        "100",
        "-o",
        p,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out_dir = dir.path().join("rules");
    let o = out_dir.to_str().unwrap();
    let on_loihi = format!("ed-modulo={p}");
    let out = amine(&["rules", "--program", &on_loihi, "--epochs", "1", "--out", o]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("loihi-ed"), "{err}");
    assert!(!out_dir.exists());
    let own = format!("ed-modulo={p}@loihi-ed");
    let out = amine(&[
        "rules",
        "--program",
        &own,
        "--program",
        "dfa=programs/dfa_digits.ron",
        "--epochs",
        "1",
        "--out",
        o,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let csv = std::fs::read_to_string(out_dir.join("rules.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert!(rows[1].starts_with("ed-modulo,chip (loihi-ed),"), "{csv}");
    assert!(rows[2].starts_with("ed-modulo (f64),f64"), "{csv}");
    assert!(rows[3].starts_with("dfa,chip (loihi),"), "{csv}");
}

/// More contexts than `loihi-sigprop`'s 64 registers: `amine template sigprop --set
/// learning.sigprop.context.classes=N` writes the network for the larger register file
/// and says how to train it; the compiler refuses it on the preset and takes it with the
/// same override.
#[test]
fn more_contexts_need_the_register_file_overridden_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("sp_k8.ron");
    let p = program.to_str().unwrap();
    let set = "learning.sigprop.context.classes=80";
    let out = amine(&[
        "template",
        "sigprop",
        "--contexts-per-class",
        "8",
        "--set",
        set,
        "-o",
        p,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let written = std::fs::read_to_string(&program).unwrap();
    assert!(
        written.contains(&format!("--chip loihi-sigprop --set {set} --task digits")),
        "{}",
        written.lines().take(3).collect::<Vec<_>>().join("\n")
    );
    let image = dir.path().join("sp_k8.img");
    let i = image.to_str().unwrap();
    let out = amine(&["compile", p, "--chip", "loihi-sigprop", "-o", i]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("learning.sigprop.context.classes: the network has 80 classes; the register file holds 64"),
        "{err}"
    );
    assert!(!image.exists());
    // The program compiled for the chip the overrides describe.
    let compile_set = |program: &str| {
        amine(&[
            "compile",
            program,
            "--chip",
            "loihi-sigprop",
            "--set",
            set,
            "-o",
            i,
        ])
    };
    let out = compile_set(p);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(image.exists());
    // A line break in a value (whitespace to it) stays inside the header comment.
    let broken = dir.path().join("sp_nl.ron");
    let b = broken.to_str().unwrap();
    let nl = "learning.sigprop.context.classes=\n80";
    let out = amine(&[
        "template",
        "sigprop",
        "--contexts-per-class",
        "8",
        "--set",
        nl,
        "-o",
        b,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = compile_set(b);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// The shipped `loihi-sigprop-128` holds what `loihi-sigprop` refuses: the template
/// writes for it, `amine compile` takes it, and `amine train` picks it for a program of
/// more than 64 contexts when no `--chip` is given.
#[test]
fn the_128_register_preset_takes_more_contexts_without_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("sp_k8.ron");
    let p = program.to_str().unwrap();
    let out = amine(&[
        "template",
        "sigprop",
        "--contexts-per-class",
        "8",
        "--chip",
        "loihi-sigprop-128",
        "-o",
        p,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let written = std::fs::read_to_string(&program).unwrap();
    assert!(
        written.contains("--chip loihi-sigprop-128 --task digits"),
        "{}",
        written.lines().take(3).collect::<Vec<_>>().join("\n")
    );
    let image = dir.path().join("sp_k8.img");
    let i = image.to_str().unwrap();
    let out = amine(&["compile", p, "--chip", "loihi-sigprop-128", "-o", i]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = dir.path().join("r");
    let r = report.to_str().unwrap();
    let out = amine(&[
        "train",
        p,
        "--task",
        "digits",
        "--epochs",
        "1",
        "--no-float",
        "--report",
        r,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("report.json")).unwrap())
            .unwrap();
    assert_eq!(json["chip"], "loihi-sigprop-128", "{}", json["chip"]);
}

/// `programs/sigprop_digits.ron` is what `amine template sigprop` writes by default
/// (class-mean contexts of the digits, complement inputs).
#[test]
fn the_shipped_sigprop_program_is_the_templates_default() {
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("sigprop_digits.ron");
    let out = amine(&["template", "sigprop", "-o", program.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let body = |t: String| {
        t.lines()
            .skip_while(|l| l.starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let shipped =
        std::fs::read_to_string(common::root().join("programs/sigprop_digits.ron")).unwrap();
    let written = std::fs::read_to_string(&program).unwrap();
    assert!(
        body(shipped) == body(written.clone()),
        "programs/sigprop_digits.ron is stale: regenerate it with `amine template sigprop -o programs/sigprop_digits.ron`"
    );
    assert!(written.contains("complement: true"), "{written}");
}

/// `amine compile` refuses a pooled program on a unit that does not implement pooling,
/// naming the chip field; nothing is written.
#[test]
fn a_pooled_program_needs_a_unit_that_pools() {
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("sp_pooled.ron");
    let p = program.to_str().unwrap();
    let out = amine(&["template", "sigprop", "--own-class", "pooled", "-o", p]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let image = dir.path().join("sp.img");
    let i = image.to_str().unwrap();
    let set = "learning.sigprop.distance.own_class=[negatives, excluded]";
    let out = amine(&[
        "compile",
        p,
        "--chip",
        "loihi-sigprop",
        "--set",
        set,
        "-o",
        i,
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("learning.sigprop.distance.own_class: the network treats its own class's other contexts as `pooled`; the unit implements `negatives`, `excluded`"),
        "{err}"
    );
    assert!(!image.exists());
    let out = amine(&["compile", p, "--chip", "loihi-sigprop", "-o", i]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}
