//! End-to-end tests of `amine run --system`: W1 compiled over kapoho-bay runs with
//! per-chip and per-link figures; a one-chip system gives the chip's own report; an
//! image and a system that disagree, and an inconsistent system, exit 1 with a clear
//! message.

use std::path::Path;

mod common;
use common::{amine, text};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn json(out: &std::process::Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn an_image_compiled_over_kapoho_bay_runs_over_its_links() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("b.img");
    let out = amine(&[
        "compile",
        "programs/balanced.ron",
        "--system",
        "kapoho-bay",
        "--max-per-core",
        "exc=10",
        "-o",
        s(&img),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for timing in ["analytic", "cycle"] {
        let r = json(&amine(&[
            "run",
            s(&img),
            "--system",
            "kapoho-bay",
            "--steps",
            "20",
            "--timing",
            timing,
            "--json",
        ]));
        let sys = &r["system"];
        assert_eq!(sys["system"], "kapoho-bay");
        assert_eq!(sys["per_chip"].as_array().unwrap().len(), 2);
        let links = sys["per_link"].as_array().unwrap();
        assert_eq!(links.len(), 2, "{links:?}");
        // Both directions carry spikes, and no link sends for longer than the run.
        for l in links {
            assert!(l["packets"].as_u64().unwrap() > 0, "{links:?}");
            assert!(l["utilisation"].as_f64().unwrap() <= 1.0, "{links:?}");
        }
        let packets: u64 = links.iter().map(|l| l["packets"].as_u64().unwrap()).sum();
        let links_pj = sys["links_pj"].as_f64().unwrap();
        assert!(links_pj >= 60.0 * packets as f64 - 1e-6);
        assert!(r["energy"]["components"]["noc"].as_f64().unwrap() >= links_pj);
    }
    let out = amine(&["run", s(&img), "--system", "kapoho-bay", "--steps", "5"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary = text(&out.stdout);
    assert!(
        summary.contains("system `kapoho-bay`: 2 × 1 chips"),
        "{summary}"
    );
    assert!(summary.contains("0 → 1"), "{summary}");

    // The image and the system disagree: a clear error, exit 1.
    let out = amine(&["run", s(&img), "--system", "nahuku-8", "--steps", "5"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("compiled for `kapoho-bay (2 × loihi)`, not for system `nahuku-8`"),
        "{err}"
    );
    let out = amine(&["run", s(&img), "--chip", "loihi", "--steps", "5"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("runs with --system"));
}

#[test]
fn a_chip_with_no_cores_reports_zero_energy_not_minus_zero() {
    // balanced fits one chip of kapoho-bay: chip 1 holds no core and sends nothing.
    let run = |extra: &[&'static str]| {
        let mut a = vec!["run", "programs/balanced.ron", "--system", "kapoho-bay"];
        a.extend_from_slice(&["--steps", "5"]);
        a.extend_from_slice(extra);
        amine(&a)
    };
    let out = run(&[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary = text(&out.stdout);
    assert!(!summary.contains("-0.0"), "{summary}");
    let r = json(&run(&["--json"]));
    let chip1 = &r["system"]["per_chip"][1];
    assert_eq!(chip1["cores"], 0, "{chip1}");
    for field in ["dynamic_pj", "links_out_pj"] {
        let v = chip1[field].as_f64().unwrap();
        assert!(v == 0.0 && v.is_sign_positive(), "{field}: {v}");
    }
}

#[test]
fn a_one_chip_system_reports_exactly_what_its_chip_does() {
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("one.ron");
    std::fs::write(
        &one,
        "System(name: \"one\", chip: \"loihi\", topology: Links(chips: 1, links: []), link: (latency_ns: 100.0, energy_pj_per_packet: 50.0, energy_pj_per_flit: 10.0, flit_bits: 32, bandwidth_gbit_s: 2.0))",
    )
    .unwrap();
    for timing in ["analytic", "cycle"] {
        let args = |target: &[&str]| {
            let mut a = vec![
                "run",
                "programs/balanced.ron",
                "--steps",
                "30",
                "--timing",
                timing,
                "--json",
            ];
            a.extend_from_slice(target);
            a.iter().map(|x| x.to_string()).collect::<Vec<_>>()
        };
        let chip = args(&["--chip", "loihi"]);
        let sys = args(&["--system", s(&one)]);
        let a = json(&amine(&chip.iter().map(String::as_str).collect::<Vec<_>>()));
        let mut b = json(&amine(&sys.iter().map(String::as_str).collect::<Vec<_>>()));
        let system = b.as_object_mut().unwrap().remove("system").unwrap();
        assert_eq!(system["per_chip"].as_array().unwrap().len(), 1);
        assert_eq!(a, b, "{timing}");
    }
}

#[test]
fn bad_systems_and_mismatched_images_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.ron");
    std::fs::write(
        &bad,
        "System(name: \"bad\", chip: \"loihi\", topology: Links(chips: 3, links: [(0, 1), (1, 5)]), link: (latency_ns: -1.0, energy_pj_per_packet: 50.0, energy_pj_per_flit: 10.0, flit_bits: 32, bandwidth_gbit_s: 2.0))",
    )
    .unwrap();
    let out = amine(&[
        "run",
        "programs/balanced.ron",
        "--system",
        s(&bad),
        "--steps",
        "5",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    for field in ["topology.links[1]", "link.latency_ns"] {
        assert!(err.contains(field), "{err}");
    }
    // An image compiled for one loihi on a two-chip system.
    let img = dir.path().join("b.img");
    let out = amine(&[
        "compile",
        "programs/balanced.ron",
        "--chip",
        "loihi",
        "-o",
        s(&img),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = amine(&["run", s(&img), "--system", "kapoho-bay", "--steps", "5"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("not for system `kapoho-bay`"));
    // --system and --chip together: a usage error.
    let out = amine(&["run", s(&img), "--system", "kapoho-bay", "--chip", "loihi"]);
    assert_eq!(out.status.code(), Some(2));
}

/// `--mpi` needs `--system` and refuses checkpoints (usage errors, exit 2); a build
/// without the `mpi` feature says how to get one (exit 1).
#[test]
fn mpi_is_a_usage_error_without_a_system_and_explained_without_the_feature() {
    for extra in [
        &[][..],
        &["--system", "kapoho-bay", "--checkpoint", "x.ckpt"][..],
    ] {
        let mut a = vec!["run", "programs/balanced.ron", "--steps", "5", "--mpi"];
        a.extend_from_slice(extra);
        let out = amine(&a);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    }
    if cfg!(feature = "mpi") {
        return;
    }
    let out = amine(&[
        "run",
        "programs/balanced.ron",
        "--system",
        "kapoho-bay",
        "--steps",
        "5",
        "--mpi",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("built without MPI") && err.contains("--features mpi"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}
