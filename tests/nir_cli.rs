//! End-to-end tests of the NIR import through the `amine` binary: `amine nir show`,
//! `amine compile model.nir --dt`, and the errors a user sees for bad files.

mod common;
use common::{amine, text};

const FIX: &str = "crates/nir/tests/fixtures";

#[test]
fn nir_show_prints_nodes_edges_and_mapping() {
    let out = amine(&[
        "nir",
        "show",
        &format!("{FIX}/rec_lif.nir"),
        "--dt",
        "0.001",
    ]);
    let so = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for want in [
        "9 nodes, 9 edges",
        "fc_rec",
        "delay -> lif",
        "Delay",
        "LIF",
        "amine mapping (dt = 1 ms)",
        "12 compartments",
        "projection lif->lif@2",
        "probe readout.li",
        "Voltage",
    ] {
        assert!(so.contains(want), "missing `{want}` in:\n{so}");
    }
}

#[test]
fn compile_each_fixture_onto_loihi() {
    let dir = tempfile::tempdir().unwrap();
    for f in ["ff_cubalif", "rec_lif", "conv"] {
        let img = dir.path().join(format!("{f}.img"));
        let out = amine(&[
            "compile",
            &format!("{FIX}/{f}.nir"),
            "--chip",
            "loihi",
            "--dt",
            "0.001",
            "-o",
            img.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{f}: {}", text(&out.stderr));
        assert!(img.exists(), "{f}: no image written");
    }
}

#[test]
fn compile_nir_without_dt_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("x.img");
    let out = amine(&[
        "compile",
        &format!("{FIX}/conv.nir"),
        "--chip",
        "loihi",
        "-o",
        img.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("--dt"), "{}", text(&out.stderr));
    assert!(!img.exists());
}

#[test]
fn malformed_file_is_an_error_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.nir");
    std::fs::write(&bad, b"this is not HDF5 at all").unwrap();
    let out = amine(&["nir", "show", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let e = text(&out.stderr);
    assert!(e.contains("cannot read NIR file"), "{e}");
    assert!(!e.contains("panicked"), "{e}");
}

#[test]
fn run_a_fixture_with_input_spikes_writes_a_report() {
    let dir = tempfile::tempdir().unwrap();
    // 8 External inputs of ff_cubalif, each spiking every third step.
    let mut csv = String::from("step,index\n");
    for step in 0..60u32 {
        for i in 0..8u32 {
            if (step + i) % 3 == 0 {
                csv.push_str(&format!("{step},{i}\n"));
            }
        }
    }
    let input = dir.path().join("spikes.csv");
    std::fs::write(&input, csv).unwrap();
    let report = dir.path().join("report");
    let out = amine(&[
        "run",
        &format!("{FIX}/ff_cubalif.nir"),
        "--dt",
        "0.001",
        "--chip",
        "loihi",
        "--steps",
        "60",
        "--input",
        input.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for f in ["report.json", "raster.csv", "raster.svg"] {
        assert!(report.join(f).exists(), "no {f}");
    }
    let json = std::fs::read_to_string(report.join("report.json")).unwrap();
    assert!(json.contains("\"steps\": 60"), "{json}");
    // The inputs drive the first layer: some spikes are recorded.
    let raster = std::fs::read_to_string(report.join("raster.csv")).unwrap();
    assert!(raster.lines().count() > 1, "no spikes in:\n{raster}");
}

#[test]
fn run_nir_without_dt_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report");
    let out = amine(&[
        "run",
        &format!("{FIX}/rec_lif.nir"),
        "--chip",
        "loihi",
        "--steps",
        "10",
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("--dt"), "{}", text(&out.stderr));
    assert!(!report.exists());
}
