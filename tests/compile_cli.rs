//! End-to-end tests of `amine compile` and `amine image show`: the real binary, what a
//! user sees (stdout, stderr, exit code) and what is left on disk.

use std::path::Path;

mod common;
use common::{amine, root, text};

/// Files in `dir` (to prove that a failed compile leaves nothing behind).
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn compile_w1_then_show_the_image() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("w1.img");
    let json = dir.path().join("w1.json");
    let out = amine(&[
        "compile",
        "programs/balanced.ron",
        "--chip",
        "loihi",
        "-o",
        s(&img),
        "--json",
        s(&json),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("1,000 neurons, 100 inputs"), "{stdout}");
    assert!(stdout.contains("of 128 cores"), "{stdout}");
    assert!(stdout.contains("placement cost"), "{stdout}");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let cores = report["cores_used"].as_u64().unwrap();
    assert_eq!(report["cores"].as_array().unwrap().len() as u64, cores);
    assert_eq!(report["quantization"]["max_rel_error"], 0.0);

    let show = amine(&["image", "show", s(&img), "--chip", "loihi"]);
    assert!(show.status.success(), "{}", text(&show.stderr));
    let summary = text(&show.stdout);
    assert!(
        summary.contains("program `balanced` for chip `loihi`"),
        "{summary}"
    );
    assert!(
        summary.contains("exc")
            && summary.contains("inh")
            && summary.contains("Bernoulli p = 0.04"),
        "{summary}"
    );
    let js = amine(&["image", "show", s(&img), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&js.stdout).unwrap();
    assert_eq!(v["synapses"], report["synapses"]);
    assert_eq!(v["cores_used"].as_u64(), Some(cores));
}

#[test]
fn ron_images_are_written_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("r.ron");
    let out = amine(&[
        "compile",
        "programs/recurrent_modulated.ron",
        "--chip",
        "loihi",
        "-o",
        s(&img),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(std::fs::read_to_string(&img)
        .unwrap()
        .starts_with("ChipImage("));
    let show = amine(&["image", "show", s(&img)]);
    let summary = text(&show.stdout);
    assert!(
        summary.contains("learning slots") && summary.contains("r_stdp"),
        "{summary}"
    );
}

#[test]
fn a_chip_too_small_is_refused_with_the_limit_and_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("w1.img");
    let out = amine(&[
        "compile",
        "programs/balanced.ron",
        "--chip",
        "tiny",
        "-o",
        s(&img),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("chip.compartments")
            && err.contains("1,000")
            && err.contains("tiny allows 512"),
        "{err}"
    );
    assert!(listing(dir.path()).is_empty(), "{:?}", listing(dir.path()));

    // A per-core limit: enough cores, but fewer input axons than one W1 neuron's fan-in.
    let tiny = std::fs::read_to_string(root().join("chip-configs/tiny.ron")).unwrap();
    let chip = dir.path().join("narrow.ron");
    std::fs::write(
        &chip,
        tiny.replace("tiles_x: 2, tiles_y: 2", "tiles_x: 8, tiles_y: 8")
            .replace("input_axons: 128", "input_axons: 60"),
    )
    .unwrap();
    let out = amine(&[
        "compile",
        "programs/balanced.ron",
        "--chip",
        s(&chip),
        "-o",
        s(&img),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("core.input_axons")
            && err.contains("tiny allows 60")
            && err.contains("input axons on one core"),
        "{err}"
    );
    assert!(!img.exists());
}

#[test]
fn a_malformed_program_is_located() {
    let dir = tempfile::tempdir().unwrap();
    let w1 = std::fs::read_to_string(root().join("programs/balanced.ron")).unwrap();
    let line = w1.lines().position(|l| l.contains("dt_ms")).unwrap() + 1;
    let prog = dir.path().join("bad.ron");
    std::fs::write(&prog, w1.replace("dt_ms: 1.0", "dt_mss: 1.0")).unwrap();
    let img = dir.path().join("bad.img");
    let out = amine(&["compile", s(&prog), "--chip", "loihi", "-o", s(&img)]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("{}:{line}:", prog.display())),
        "{err}"
    );
    assert!(err.contains("dt_mss"), "{err}");
    assert!(!img.exists());
    assert!(!text(&out.stderr).contains("panicked"));
}

#[test]
fn a_malformed_csv_is_located() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    let src = root().join("programs");
    std::fs::copy(
        src.join("recurrent_modulated.ron"),
        dir.path().join("p.ron"),
    )
    .unwrap();
    std::fs::copy(
        src.join("data/cue_spikes.csv"),
        dir.path().join("data/cue_spikes.csv"),
    )
    .unwrap();
    let csv = std::fs::read_to_string(src.join("data/cue_to_rec.csv")).unwrap();
    let mut lines: Vec<String> = csv.lines().map(String::from).collect();
    lines[4] = "2,1x7,14.5,0".into(); // line 5, column 3
    std::fs::write(dir.path().join("data/cue_to_rec.csv"), lines.join("\n")).unwrap();
    let img = dir.path().join("p.img");
    let out = amine(&[
        "compile",
        s(&dir.path().join("p.ron")),
        "--chip",
        "loihi",
        "-o",
        s(&img),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("cue_to_rec.csv:5:3:"), "{err}");
    assert!(!img.exists());
}

#[test]
fn image_show_refuses_a_foreign_chip_and_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("w1.img");
    assert!(amine(&[
        "compile",
        "programs/balanced.ron",
        "--chip",
        "loihi",
        "-o",
        s(&img)
    ])
    .status
    .success());
    let out = amine(&["image", "show", s(&img), "--chip", "tiny"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("compile the program again for this chip"),
        "{}",
        text(&out.stderr)
    );
    let junk = dir.path().join("junk.img");
    std::fs::write(&junk, b"not an image").unwrap();
    let out = amine(&["image", "show", s(&junk)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!text(&out.stderr).contains("panicked"));
}

#[test]
fn help_has_examples() {
    for cmd in [&["compile", "--help"][..], &["image", "show", "--help"]] {
        let out = amine(cmd);
        assert!(out.status.success());
        assert!(
            text(&out.stdout).contains("Examples:"),
            "{}",
            text(&out.stdout)
        );
    }
}

#[test]
fn mapping_hints_from_a_file_and_flags_shape_the_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let (img, json, hints) = (
        dir.path().join("g.img"),
        dir.path().join("g.json"),
        dir.path().join("hints.ron"),
    );
    std::fs::write(&hints, r#"(cores: {"conv3": 11}, place: {"dense": [127]})"#).unwrap();
    let out = amine(&[
        "compile",
        "programs/conv_gesture.ron",
        "--chip",
        "loihi",
        "-o",
        s(&img),
        "--json",
        s(&json),
        "--hints",
        s(&hints),
        "--max-per-core",
        "conv2=676",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let cores = report["cores"].as_array().unwrap();
    let holding = |pop: &str| -> Vec<&serde_json::Value> {
        cores
            .iter()
            .filter(|c| {
                c["populations"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p == pop)
            })
            .collect()
    };
    assert_eq!(holding("conv3").len(), 11);
    assert!(holding("conv2")
        .iter()
        .all(|c| c["compartments"]["used"].as_u64().unwrap() <= 676));
    let dense = holding("dense");
    assert_eq!((dense.len(), dense[0]["core"].as_u64()), (1, Some(127)));
}

#[test]
fn a_hint_against_a_limit_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("g.img");
    let out = amine(&[
        "compile",
        "programs/conv_gesture.ron",
        "--chip",
        "loihi",
        "-o",
        s(&img),
        "--cores",
        "conv3=2",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("hint mapping.cores[\"conv3\"] = 2")
            && err.contains("core.compartments")
            && err.contains("loihi allows 1,024"),
        "{err}"
    );
    assert!(listing(dir.path()).is_empty());
    let bad = amine(&[
        "compile",
        "programs/conv_gesture.ron",
        "--chip",
        "loihi",
        "-o",
        s(&img),
        "--cores",
        "conv3",
    ]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad.stderr).contains("--cores conv3: expected POPULATION=VALUE"));
    assert!(listing(dir.path()).is_empty());
}

#[test]
fn hints_do_not_apply_to_a_compiled_image() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("w1.img");
    let out = amine(&[
        "compile",
        "programs/balanced.ron",
        "--chip",
        "loihi",
        "-o",
        s(&img),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let run = amine(&[
        "run",
        s(&img),
        "--chip",
        "loihi",
        "--steps",
        "5",
        "--cores",
        "exc=2",
    ]);
    assert_eq!(run.status.code(), Some(1));
    assert!(
        text(&run.stderr).contains("is a compiled image: mapping hints"),
        "{}",
        text(&run.stderr)
    );
}

#[test]
fn compile_onto_a_system_reports_cores_per_chip_and_refuses_what_it_cannot_lay_out() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("b.img");
    let json = dir.path().join("b.json");
    let out = amine(&[
        "compile",
        "programs/balanced.ron",
        "--system",
        "kapoho-bay",
        "-o",
        s(&img),
        "--json",
        s(&json),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("of 256 cores"), "{stdout}");
    assert!(
        stdout.contains("system `kapoho-bay`: 2 chips of 128 cores"),
        "{stdout}"
    );
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let per_chip: u64 = report["system"]["cores_used"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(per_chip, report["cores_used"].as_u64().unwrap());
    // The image is for the system's mesh: a single chip refuses it.
    let run = amine(&["run", s(&img), "--chip", "loihi", "--steps", "1"]);
    assert_eq!(run.status.code(), Some(1));
    assert!(text(&run.stderr).contains("kapoho-bay (2 × loihi)"));

    let both = amine(&[
        "compile",
        "programs/balanced.ron",
        "--system",
        "kapoho-bay",
        "--chip",
        "loihi",
        "-o",
        s(&dir.path().join("x.img")),
    ]);
    assert_eq!(both.status.code(), Some(2));
    let ring = dir.path().join("ring.ron");
    std::fs::write(
        &ring,
        "System(name: \"ring\", chip: \"loihi\", topology: Links(chips: 3, links: [(0, 1), (1, 2), (0, 2)]), link: (latency_ns: 1.0, energy_pj_per_packet: 1.0, energy_pj_per_flit: 1.0, flit_bits: 32, bandwidth_gbit_s: 1.0))",
    )
    .unwrap();
    let before = listing(dir.path());
    let out = amine(&[
        "compile",
        "programs/balanced.ron",
        "--system",
        s(&ring),
        "-o",
        s(&dir.path().join("r.img")),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("topology.links"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(listing(dir.path()), before);
}
