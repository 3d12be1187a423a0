//! End-to-end tests of what-if studies: `--set` overrides, images that survive cost
//! changes, `amine sweep` and `amine compare` — their tables, determinism across
//! thread counts, and bad input that exits non-zero and writes nothing.

use std::path::Path;

mod common;
use common::{amine, root, text};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn json(path: &Path) -> serde_json::Value {
    let t = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&t).unwrap()
}

fn compile_balanced(dir: &Path) -> std::path::PathBuf {
    let img = dir.join("w1.img");
    let out = amine(&[
        "compile",
        "programs/balanced.ron",
        "--chip",
        "loihi",
        "-o",
        s(&img),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    img
}

#[test]
fn an_image_runs_on_a_cost_variant_and_reports_name_it() {
    let dir = tempfile::tempdir().unwrap();
    let img = compile_balanced(dir.path());
    // A copy of the preset with the synaptic op twice as dear, under the same name.
    let loihi = std::fs::read_to_string(root().join("chip-configs/loihi.ron")).unwrap();
    let twice = loihi.replace(
        "synaptic_op: (energy_pj: 23.6,",
        "synaptic_op: (energy_pj: 47.2,",
    );
    assert_ne!(twice, loihi);
    let file = dir.path().join("loihi_2x.ron");
    std::fs::write(&file, twice).unwrap();
    let run = |chip: &str, set: &[&str], report: &Path| {
        let mut args = vec![
            "run",
            s(&img),
            "--chip",
            chip,
            "--steps",
            "50",
            "--report",
            s(report),
        ];
        for x in set {
            args.extend(["--set", x]);
        }
        let out = amine(&args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        json(&report.join("report.json"))
    };
    let base = run("loihi", &[], &dir.path().join("a"));
    let file_run = run(s(&file), &[], &dir.path().join("b"));
    let set_run = run(
        "loihi",
        &["costs.synaptic_op.energy_pj=47.2"],
        &dir.path().join("c"),
    );
    let synapse = |r: &serde_json::Value| r["energy"]["components"]["synapse"].as_f64().unwrap();
    assert!(synapse(&base) > 0.0);
    assert_eq!(synapse(&file_run), 2.0 * synapse(&base));
    assert_eq!(synapse(&set_run), synapse(&file_run));
    assert_eq!(
        base["events"], file_run["events"],
        "the same run, priced differently"
    );
    let id = |r: &serde_json::Value, k: &str| r["chip_config"][k].clone();
    assert_eq!(id(&file_run, "file"), serde_json::json!(s(&file)));
    assert_eq!(id(&base, "file"), serde_json::json!("<preset loihi>"));
    assert_ne!(id(&base, "fingerprint"), id(&file_run, "fingerprint"));
    assert_eq!(id(&base, "structure"), id(&file_run, "structure"));
    assert_eq!(id(&set_run, "fingerprint"), id(&file_run, "fingerprint"));
    assert_eq!(
        id(&set_run, "overrides"),
        serde_json::json!(["costs.synaptic_op.energy_pj=47.2"])
    );
    // A structural change is refused with advice that fits.
    let out = amine(&[
        "run",
        s(&img),
        "--chip",
        "loihi",
        "--set",
        "core.weight_bits=[4]",
        "--steps",
        "5",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("in `core`") && err.contains("compile the program again"),
        "{err}"
    );
}

#[test]
fn bad_overrides_fail_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("out");
    for (set, want) in [
        (
            "costs.synaptic_opp.energy_pj=1",
            "`synaptic_opp` is not a field of `costs`",
        ),
        ("core.weight_bits=4", "`core.weight_bits`"),
        (
            "costs.hop_ew.energy_pj=-1",
            "`costs.hop_ew.energy_pj`: -1 is outside [0, ",
        ),
        ("costs", "expected `path=value`"),
    ] {
        for cmd in [
            &[
                "run",
                "programs/balanced.ron",
                "--steps",
                "5",
                "--report",
                s(&report),
            ][..],
            &["compile", "programs/balanced.ron", "-o", s(&report)][..],
        ] {
            let mut args = cmd.to_vec();
            args.extend(["--chip", "loihi", "--set", set]);
            let out = amine(&args);
            assert_eq!(out.status.code(), Some(1), "{args:?}");
            let err = text(&out.stderr);
            assert!(
                err.contains(&format!("--set {set}")) && err.contains(want),
                "{args:?}: {err}"
            );
            assert!(!report.exists(), "{args:?} wrote {}", report.display());
        }
    }
}

const SPEC: &str = "Sweep(
    program: \"PROGRAM\",
    job: Run(steps: 30),
    axes: [
        (set: \"costs.synaptic_op.energy_pj\", values: [10.0, 20.0]),
        (set: \"static_power.gating\", values: [true, false]),
    ],
    seeds: [1, 2],
)";

fn write_spec(dir: &Path, text: &str) -> std::path::PathBuf {
    let program = root().join("programs/balanced.ron");
    let spec = dir.join("sweep.ron");
    std::fs::write(&spec, text.replace("PROGRAM", s(&program))).unwrap();
    spec
}

#[test]
fn a_sweep_writes_one_row_per_point_whatever_the_threads() {
    let dir = tempfile::tempdir().unwrap();
    let spec = write_spec(dir.path(), SPEC);
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    for (out, threads) in [(&one, "1"), (&two, "2")] {
        let o = amine(&["sweep", s(&spec), "--report", s(out), "--threads", threads]);
        assert!(o.status.success(), "{}", text(&o.stderr));
    }
    for f in [
        "table.csv",
        "table.json",
        "report.html",
        "pareto_energy_latency.svg",
    ] {
        assert_eq!(
            std::fs::read(one.join(f)).unwrap(),
            std::fs::read(two.join(f)).unwrap(),
            "{f}"
        );
    }
    let rows = json(&one.join("table.json"));
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 8);
    let fig = |i: usize, k: &str| {
        rows[i]["figures"][k]
            .as_f64()
            .unwrap_or_else(|| panic!("{k}"))
    };
    // Points 0..4 cost 10 pJ, 4..8 cost 20 pJ per synaptic op; the same seed and gating
    // give the same run (one image per seed), priced twice as dear.
    for (i, row) in rows.iter().enumerate().take(4) {
        assert_eq!(row["status"], "ok");
        assert_eq!(
            fig(i + 4, "energy.components.synapse"),
            2.0 * fig(i, "energy.components.synapse")
        );
        assert_eq!(fig(i + 4, "synaptic_events"), fig(i, "synaptic_events"));
        assert_eq!(
            fig(i + 4, "energy.components.neuron"),
            fig(i, "energy.components.neuron")
        );
    }
    // Gating charges static power for the one core used (delta-coded rows fit W1 on
    // one loihi core), not 128.
    assert_eq!(rows[0]["static_power.gating"], "true");
    assert_eq!(fig(0, "energy.powered.cores"), 1.0);
    assert_eq!(fig(2, "energy.powered.cores"), 128.0);
    assert!(fig(2, "energy.static_power_mw") > 50.0 * fig(0, "energy.static_power_mw"));
    let csv = std::fs::read_to_string(one.join("table.csv")).unwrap();
    assert_eq!(csv.lines().count(), 9);
    assert!(csv.lines().next().unwrap().contains("latency.mean_ns"));
    let html = std::fs::read_to_string(one.join("report.html")).unwrap();
    assert!(
        html.contains("2 (one per chip structure, program variant and seed)"),
        "two images compiled"
    );
}

#[test]
fn bad_sweep_specs_fail_naming_the_field_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("out");
    for (text_, want) in [
        (SPEC.replace("job:", "jobb:"), "sweep.ron:3:"),
        (
            SPEC.replace(
                "costs.synaptic_op.energy_pj",
                "costs.synaptic_opp.energy_pj",
            ),
            "`synaptic_opp` is not a field of `costs`",
        ),
        (
            SPEC.replace("[10.0, 20.0]", "[10.0, -1.0]"),
            "`costs.synaptic_op.energy_pj`: -1 is outside [0, ",
        ),
        (SPEC.replace("seeds: [1, 2]", "seeds: []"), "`seeds`"),
        (SPEC.replace("steps: 30", "steps: 0"), "`job.steps`"),
        (
            SPEC.replace("[true, false]", "[true, 3]"),
            "static_power.gating",
        ),
    ] {
        let spec = write_spec(dir.path(), &text_);
        let out = amine(&["sweep", s(&spec), "--report", s(&report)]);
        assert_eq!(out.status.code(), Some(1), "{text_}");
        let err = text(&out.stderr);
        assert!(err.contains(want), "{want}: {err}");
        assert!(!report.exists());
    }
}

#[test]
fn compare_puts_chips_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("cmp");
    let out = amine(&[
        "compare",
        "programs/balanced.ron",
        "--chip",
        "loihi,spinnaker2,odin",
        "--steps",
        "30",
        "--report",
        s(&report),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    for want in [
        "loihi",
        "spinnaker2",
        "odin",
        "does not fit: chip.compartments",
    ] {
        assert!(table.contains(want), "{want}: {table}");
    }
    for f in [
        "report.html",
        "table.csv",
        "comparison.txt",
        "energy_by_chip.svg",
        "latency_by_chip.svg",
    ] {
        assert!(report.join(f).is_file(), "{f}");
    }
    // One column per name: the chip (name and file) once, the report's own seed not again.
    let csv = std::fs::read_to_string(report.join("table.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let mut names = header.clone();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), header.len(), "{header:?}");
    assert!(csv
        .lines()
        .nth(1)
        .unwrap()
        .starts_with("0,loihi,<preset loihi>,"));
    for (chips, want) in [
        ("loihi,,odin", "an empty chip name"),
        ("loihi,nope", "`nope` is neither a chip preset"),
        ("loihi,loihi", "`loihi` is given twice"),
        ("loihi", "at least two chips"),
    ] {
        let bad = dir.path().join("bad");
        let out = amine(&[
            "compare",
            "programs/balanced.ron",
            "--chip",
            chips,
            "--steps",
            "5",
            "--report",
            s(&bad),
        ]);
        assert_eq!(out.status.code(), Some(1), "{chips}");
        assert!(
            text(&out.stderr).contains(want),
            "{chips}: {}",
            text(&out.stderr)
        );
        assert!(!bad.exists());
    }
}

/// `--system`: every point is compiled over the system and runs there, exactly as
/// `amine run --system` runs the same program with the same override.
#[test]
fn a_sweep_over_a_system_runs_each_point_as_amine_run_system_does() {
    let dir = tempfile::tempdir().unwrap();
    let spec = write_spec(
        dir.path(),
        r#"Sweep(program: "PROGRAM", job: Run(steps: 30),
            axes: [(set: "costs.synaptic_op.energy_pj", values: [10.0, 20.0])], seeds: [1])"#,
    );
    let out = dir.path().join("out");
    let o = amine(&[
        "sweep",
        s(&spec),
        "--system",
        "kapoho-bay",
        "--report",
        s(&out),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let rows = json(&out.join("table.json"));
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let o = amine(&[
        "run",
        "programs/balanced.ron",
        "--system",
        "kapoho-bay",
        "--set",
        "costs.synaptic_op.energy_pj=10.0",
        "--steps",
        "30",
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let run: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(rows[0]["status"], "ok");
    assert_eq!(rows[0]["chip"], run["chip"]);
    for k in ["energy.total_pj", "synaptic_events", "simulated_cycles"] {
        let path: Vec<&str> = k.split('.').collect();
        let want = path.iter().fold(&run, |v, p| &v[*p]).as_f64();
        assert_eq!(rows[0]["figures"][k].as_f64(), want, "{k}");
    }
}

#[test]
fn sweeps_and_benches_over_a_bad_system_exit_1_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let run = |spec_text: &str, system: &str| {
        let spec = write_spec(dir.path(), spec_text);
        amine(&["sweep", s(&spec), "--system", system, "--report", s(&out)])
    };
    for (spec_text, system, want) in [
        (SPEC, "no-such-system", "neither a system preset"),
        (
            r#"Sweep(program: "PROGRAM", job: Run(steps: 5), axes: [(set: "chip", values: ["loihi", "tiny"])])"#,
            "kapoho-bay",
            "`chip` axis",
        ),
        (
            r#"Sweep(program: "PROGRAM", job: Train(task: "digits", epochs: 1))"#,
            "kapoho-bay",
            "training runs on one chip",
        ),
    ] {
        let o = run(spec_text, system);
        assert_eq!(o.status.code(), Some(1), "{want}");
        assert!(text(&o.stderr).contains(want), "{}", text(&o.stderr));
        assert!(!out.exists(), "{want}: nothing written");
    }
    let o = amine(&["bench", "--quick", "--system", "no-such-system"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("neither a system preset"),
        "{}",
        text(&o.stderr)
    );
}

/// `amine bench --system`: the rows run over the system (W1 fits it).
#[test]
fn bench_runs_its_rows_over_a_system() {
    let o = amine(&[
        "bench",
        "--quick",
        "--repeat",
        "1",
        "--system",
        "kapoho-bay",
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for r in rows {
        assert_eq!(r["on"], "kapoho-bay");
        assert!(r["synaptic_events"].as_u64().unwrap() > 0);
    }
    assert!(rows[0]["serial_share"]
        .as_f64()
        .is_some_and(|s| (0.0..=1.0).contains(&s)));
}
