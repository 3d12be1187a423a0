//! End-to-end tests of `amine run` and `amine demo`: the report files a run writes, and
//! that bad input (corrupt, truncated or foreign images, out-of-range input spikes)
//! exits non-zero with a clear message and leaves no report behind.

use std::path::{Path, PathBuf};

mod common;
use common::{amine, text};

const FILES: [&str; 5] = [
    "report.json",
    "raster.csv",
    "energy_heatmap.svg",
    "raster.svg",
    "latency.svg",
];

/// A 20-neuron program with an External input port of 4 inputs.
const SMALL: &str = r#"Program(
    name: "small",
    seed: 1,
    dt_ms: 1.0,
    populations: [
        (name: "a", size: 20, model: LifRaw((du: 511, dv: 256, vth: 100, bias_mant: 0, bias_exp: 0, refractory: 0))),
    ],
    inputs: [(name: "in", size: 4, source: External)],
    projections: [
        (from: "in", to: "a", connect: All, weight: Some(Const(16.0))),
        (from: "a", to: "a", connect: Random(p: 0.2), weight: Some(Const(4.0))),
    ],
)
"#;

/// Compiles SMALL for `chip` into `dir/small.img`.
fn small_image(dir: &Path, chip: &str) -> PathBuf {
    let prog = dir.join("small.ron");
    std::fs::write(&prog, SMALL).unwrap();
    let img = dir.join(format!("small-{chip}.img"));
    let out = amine(&[
        "compile",
        prog.to_str().unwrap(),
        "--chip",
        chip,
        "-o",
        img.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    img
}

fn assert_fails_without_report(args: &[&str], report: &Path, expect: &str) {
    let out = amine(args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{args:?} should fail: {}",
        text(&out.stdout)
    );
    let err = text(&out.stderr);
    assert!(
        err.contains(expect),
        "{args:?}: stderr lacks `{expect}`:\n{err}"
    );
    assert!(
        !report.exists(),
        "{args:?} left a report at {}",
        report.display()
    );
}

#[test]
fn run_w1_writes_every_report_file() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("out");
    let out = amine(&[
        "run",
        "programs/balanced.ron",
        "--chip",
        "loihi",
        "--steps",
        "200",
        "--report",
        report.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for needle in [
        "energy",
        "latency per step",
        "synaptic events",
        "exc",
        "inh",
        "report written",
    ] {
        assert!(
            stdout.contains(needle),
            "summary lacks `{needle}`:\n{stdout}"
        );
    }
    for f in FILES {
        let path = report.join(f);
        assert!(
            path.metadata().map(|m| m.len() > 0).unwrap_or(false),
            "{f} missing or empty"
        );
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("report.json")).unwrap())
            .unwrap();
    assert_eq!(json["steps"], 200);
    assert_eq!(json["timing"], "analytic");
    assert!(json["synaptic_events"].as_u64().unwrap() > 10_000);
    assert_eq!(
        json["latency"]["per_step_cycles"].as_array().unwrap().len(),
        200
    );
    let raster = std::fs::read_to_string(report.join("raster.csv")).unwrap();
    assert!(raster.starts_with("step,population,neuron\n"));
    assert_eq!(
        raster.lines().count() as u64 - 1,
        json["spikes"]["total"].as_u64().unwrap()
    );
    for svg in ["energy_heatmap.svg", "raster.svg", "latency.svg"] {
        let s = std::fs::read_to_string(report.join(svg)).unwrap();
        assert!(
            s.starts_with("<svg") && s.trim_end().ends_with("</svg>"),
            "{svg}"
        );
    }
}

#[test]
fn run_json_is_the_same_for_any_thread_count_and_mode() {
    let run = |timing: &str, threads: &str| {
        let out = amine(&[
            "run",
            "programs/balanced.ron",
            "--steps",
            "100",
            "--timing",
            timing,
            "--threads",
            threads,
            "--json",
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let (mut a1, mut a3) = (run("analytic", "1"), run("analytic", "3"));
    assert_eq!(a3["threads"], 3);
    a1["threads"] = 0.into();
    a3["threads"] = 0.into();
    assert_eq!(a1, a3, "the report does not depend on the thread count");
    let (a, c) = (run("analytic", "2"), run("cycle", "2"));
    assert_eq!(c["timing"], "cycle");
    assert_eq!(a["spikes"], c["spikes"]);
    assert_eq!(a["events"], c["events"]);
}

#[test]
fn a_run_with_external_input_spikes() {
    let dir = tempfile::tempdir().unwrap();
    let img = small_image(dir.path(), "tiny");
    let csv = dir.path().join("in.csv");
    std::fs::write(&csv, "step,index\n0,0\n0,1\n3,2\n").unwrap();
    let out = amine(&[
        "run",
        img.to_str().unwrap(),
        "--chip",
        "tiny",
        "--steps",
        "10",
        "--input",
        csv.to_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        json["synaptic_events"].as_u64().unwrap() >= 60,
        "3 input spikes × 20 synapses"
    );
}

#[test]
fn bad_inputs_fail_cleanly_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report");
    let img = small_image(dir.path(), "tiny");
    let good = std::fs::read(&img).unwrap();
    // `amine run FILE --chip CHIP --steps 5 [--input in.csv] --report DIR` must fail.
    let fails = |file: &Path, chip: &str, input: Option<&Path>, expect: &str| {
        let mut args = vec![
            "run",
            file.to_str().unwrap(),
            "--chip",
            chip,
            "--steps",
            "5",
        ];
        if let Some(csv) = input {
            args.extend(["--input", csv.to_str().unwrap()]);
        }
        args.extend(["--report", report.to_str().unwrap()]);
        assert_fails_without_report(&args, &report, expect);
    };

    // Compiled for another chip.
    fails(&img, "loihi", None, "the image's chip `tiny`");

    // Truncated, corrupt (one payload byte flipped), not an image at all.
    let mut corrupt = good.clone();
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0x55;
    let cases: [(&str, Vec<u8>, &str); 3] = [
        ("cut.img", good[..good.len() / 2].to_vec(), "truncated"),
        ("corrupt.img", corrupt, "corrupt"),
        (
            "junk.img",
            vec![0u8, 159, 146, 150],
            "neither a binary chip image nor RON",
        ),
    ];
    for (name, bytes, expect) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        fails(&path, "tiny", None, expect);
    }

    // A well-formed RON image with a corrupted row (one synapse targets a compartment
    // past the core's): still checked in full when read from a file, and refused.
    let ron = dir.path().join("small.ron.img.ron");
    let out = amine(&[
        "compile",
        dir.path().join("small.ron").to_str().unwrap(),
        "--chip",
        "tiny",
        "-o",
        ron.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let image = std::fs::read_to_string(&ron).unwrap();
    assert!(
        image.contains("len: 20,"),
        "the first row holds 20 synapses"
    );
    let bad = dir.path().join("bad-row.ron");
    std::fs::write(&bad, image.replacen("len: 20,", "len: 2000,", 1)).unwrap();
    fails(&bad, "tiny", None, "`cores[0].synapses.rows[0]`");

    // Input spikes out of range (index, then step) or malformed.
    let csv = dir.path().join("in.csv");
    for (text, expect) in [
        ("0,1\n2,9\n", "in.csv:2:3: index 9 is out of range"),
        ("0,1\n5,0\n", "in.csv:2:1: step 5 is not below --steps 5"),
        ("0,1\nzero,0\n", "in.csv:2:1"),
    ] {
        std::fs::write(&csv, text).unwrap();
        fails(&img, "tiny", Some(&csv), expect);
    }
}

#[test]
fn demo_prints_the_report_table() {
    let out = amine(&["demo", "--steps", "100"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    for needle in [
        "balanced",
        "loihi",
        "energy",
        "synapse",
        "static",
        "latency per step",
        "p99",
        "NoC",
        "spikes",
        "synaptic events",
    ] {
        assert!(s.contains(needle), "demo output lacks `{needle}`:\n{s}");
    }
    // The network fits one core, powered with one router: counts of one are singular.
    for needle in ["compiled onto 1 core in", "1 core, 1 router (power-gated)"] {
        assert!(s.contains(needle), "demo output lacks `{needle}`:\n{s}");
    }
}
