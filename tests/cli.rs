//! End-to-end tests of the `amine` command: each runs the real binary and checks what a
//! user would see (stdout, stderr, exit code, files written).

use std::path::Path;

mod common;
use common::{amine, text};

/// Writes the tiny preset with `from` replaced by `to` into a temp file.
fn mutated_tiny(dir: &Path, from: &str, to: &str) -> String {
    let original = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../chip-configs/tiny.ron"),
    )
    .unwrap();
    assert!(
        original.contains(from),
        "fixture text `{from}` not in tiny.ron"
    );
    let path = dir.join("chip.ron");
    std::fs::write(&path, original.replacen(from, to, 1)).unwrap();
    path.display().to_string()
}

#[test]
fn chip_show_loihi_reports_the_published_size() {
    let out = amine(&["chip", "show", "loihi"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(s.contains("= 128 cores"), "{s}");
    assert!(s.contains("131,072 compartments"), "{s}");
    assert!(s.contains("23.6 pJ"), "{s}");
}

#[test]
fn chip_show_json_is_machine_readable() {
    let out = amine(&["chip", "show", "loihi", "--json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["cores"], 128);
    assert_eq!(v["compartments"], 131_072);
}

#[test]
fn chip_check_accepts_the_shipped_configs() {
    for file in ["chip-configs/loihi.ron", "chip-configs/tiny.ron"] {
        let out = amine(&["chip", "check", file]);
        assert!(out.status.success(), "{file}: {}", text(&out.stderr));
        assert!(text(&out.stdout).contains("ok"));
    }
}

#[test]
fn chip_check_names_file_line_column_and_field_of_a_typo() {
    let dir = tempfile::tempdir().unwrap();
    let file = mutated_tiny(dir.path(), "compartments: 64", "compartmnets: 64");
    let out = amine(&["chip", "check", &file]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    // compartments is on line 7 of tiny.ron.
    assert!(err.contains(&format!("{file}:7:")), "{err}");
    assert!(err.contains("core.compartmnets"), "{err}");
}

#[test]
fn chip_check_names_the_field_of_a_wrong_type() {
    let dir = tempfile::tempdir().unwrap();
    let file = mutated_tiny(dir.path(), "input_axons: 128", "input_axons: \"many\"");
    let out = amine(&["chip", "check", &file]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains(&format!("{file}:8:")), "{err}");
    assert!(err.contains("core.input_axons"), "{err}");
}

#[test]
fn chip_check_reports_every_inconsistency_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = mutated_tiny(dir.path(), "word_bits: 64", "word_bits: 48");
    let text_now = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text_now.replace("decay: 0.0", "decay: 1.5")).unwrap();
    let out = amine(&["chip", "check", &file]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("core.word_bits"), "{err}");
    assert!(err.contains("modulator.decay"), "{err}");
}

#[test]
fn chip_system_summarises_a_preset_and_names_every_bad_field_of_a_file() {
    let out = amine(&["chip", "system", "nahuku-32"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    // 32 Loihi chips on an 8 × 4 mesh: 7·4 + 8·3 links, corner to corner 7 + 3 links.
    assert!(
        s.contains("32 chips of `loihi` (mesh 8 × 4), 52 chip-to-chip links, diameter 10"),
        "{s}"
    );
    assert!(s.contains("compartments 4,194,304"), "{s}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("board.ron");
    std::fs::write(
        &file,
        "System(name: \"b\", chip: \"loihi\", topology: Links(chips: 3, links: [(0, 1), (1, 3)]), \
         link: (latency_ns: -5.0, energy_pj_per_packet: 1.0, energy_pj_per_flit: 1.0, flit_bits: 32, bandwidth_gbit_s: 1.0))",
    )
    .unwrap();
    let out = amine(&["chip", "system", &file.display().to_string()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    for field in [
        "topology.links[1]",
        "chip 2 cannot be reached",
        "link.latency_ns",
    ] {
        assert!(err.contains(field), "{field}: {err}");
    }
    let out = amine(&["chip", "system", "pohoiki"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("kapoho-bay"));
}

#[test]
fn unknown_preset_and_missing_file_fail_cleanly() {
    let out = amine(&["chip", "show", "loihii"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("tiny"));
    let out = amine(&["chip", "check", "no/such/chip.ron"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no/such/chip.ron"));
}

#[test]
fn garbage_input_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    for (i, junk) in ["", "(", "ChipConfig(", "\u{0}\u{1}", "ChipConfig(name: 5)"]
        .iter()
        .enumerate()
    {
        let path = dir.path().join(format!("junk{i}.ron"));
        std::fs::write(&path, junk).unwrap();
        let out = amine(&["chip", "check", path.to_str().unwrap()]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "input {junk:?}: {}",
            text(&out.stderr)
        );
        assert!(!text(&out.stderr).contains("panicked"));
    }
}
