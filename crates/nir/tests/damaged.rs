//! Damaged and hostile NIR files: every one is read to a clean error naming the file (or
//! to a graph), never a panic, never an allocation beyond what the file's size justifies,
//! never an endless loop (the reader's walks are bounded; this test is bounded by cases).
//!
//! The cases mutate the shipped fixtures and the hostile files of
//! `fixtures/make_hostile.py` (hard-link cycles, shared subgraphs, gigantic declared
//! shapes and chunks, unterminated strings): random bytes, size fields set to huge or tiny
//! values, truncation, copied byte runs, and edits aimed at the global heap (string
//! objects' sizes, the collection's size). A counting global allocator measures each
//! case's peak.
//!
//! ```sh
//! cargo test -p amine-nir --release --test damaged -- --nocapture          # 3,000 cases
//! AMINE_NIR_FUZZ_CASES=20000 cargo test -p amine-nir --release --test damaged -- --nocapture
//! ```

use amine_nir::h5file::MAX_EXPANSION;
use std::path::Path;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Mutex;

#[path = "../../../tests/common/fuzzing.rs"]
mod fuzzing;
use fuzzing::{Rng, LIVE, PEAK};

/// One case at a time: the allocator's peak is process-wide.
static SERIAL: Mutex<()> = Mutex::new(());

/// Allowance on top of the decode budget: the reader's and the crate's own structures.
const OVERHEAD: usize = 8 << 20;

fn bases() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out = Vec::new();
    for sub in [dir.clone(), dir.join("hostile")] {
        let mut names: Vec<_> = std::fs::read_dir(&sub)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| amine_nir::is_nir_path(p))
            .collect();
        names.sort();
        for p in names {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            out.push((name, std::fs::read(&p).unwrap()));
        }
    }
    assert!(out.len() >= 8, "fixtures missing: {}", out.len());
    out
}

const HUGE: [u64; 8] = [
    1 << 40,
    u64::MAX,
    u32::MAX as u64,
    1 << 31,
    1 << 20,
    16,
    1,
    0,
];

fn put(b: &mut [u8], at: usize, v: u64, width: usize) {
    if at + width <= b.len() {
        b[at..at + width].copy_from_slice(&v.to_le_bytes()[..width]);
    }
}

/// The offsets of `sig` in `b`.
fn find(b: &[u8], sig: &[u8]) -> Vec<usize> {
    b.windows(sig.len())
        .enumerate()
        .filter(|(_, w)| *w == sig)
        .map(|(i, _)| i)
        .collect()
}

/// One damaged copy of `base`; the name says what was done.
fn mutate(base: &[u8], r: &mut Rng) -> (Vec<u8>, &'static str) {
    let mut b = base.to_vec();
    let len = b.len();
    let kind = match r.below(6) {
        0 => {
            for _ in 0..1 + r.below(8) {
                let i = r.below(len);
                b[i] = r.next() as u8;
            }
            "random bytes"
        }
        1 => {
            for _ in 0..1 + r.below(2) {
                let at = r.below(len);
                put(
                    &mut b,
                    at,
                    HUGE[r.below(HUGE.len())],
                    [1, 2, 4, 8][r.below(4)],
                );
            }
            "size field"
        }
        2 => {
            b.truncate(r.below(len));
            "truncated"
        }
        3 => {
            let (i, j) = (r.below(len), r.below(len));
            let n = (1 + r.below(64)).min(len - i.max(j));
            let run = b[i..i + n].to_vec();
            b[j..j + n].copy_from_slice(&run);
            "copied run"
        }
        _ => {
            // The global heap ("GCOL", version, 3 reserved, collection size (8); then
            // objects: index (2), refcount (2), reserved (4), size (8), data): set the
            // collection's size or an object's size to something it cannot be.
            let cols = find(&b, b"GCOL");
            if cols.is_empty() {
                let at = r.below(len);
                put(&mut b, at, HUGE[r.below(HUGE.len())], 8);
                return (b, "size field");
            }
            let c = cols[r.below(cols.len())];
            if r.below(2) == 0 {
                put(&mut b, c + 8, HUGE[r.below(HUGE.len())], 8);
                "heap collection size"
            } else {
                let obj = c + 16 + 16 * r.below(8) + 8;
                put(&mut b, obj, HUGE[r.below(HUGE.len())], 8);
                "heap object size"
            }
        }
    };
    (b, kind)
}

fn cases() -> usize {
    std::env::var("AMINE_NIR_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000)
}

#[test]
fn damaged_files_are_clean_errors_with_bounded_memory() {
    let _one = SERIAL.lock().unwrap();
    let bases = bases();
    let n = cases();
    let (mut ok, mut err) = (0usize, 0usize);
    let mut worst = (0.0f64, String::new());
    let mut by_kind: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
    for case in 0..n {
        let mut r =
            Rng(0x9E37_79B9_7F4A_7C15 ^ (case as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03));
        let (base_name, base) = &bases[r.below(bases.len())];
        let (bytes, kind) = mutate(base, &mut r);
        let size = bytes.len();
        let name = format!("case{case}-{base_name}");
        let before = LIVE.load(Relaxed);
        PEAK.store(before, Relaxed);
        let result = std::panic::catch_unwind(|| amine_nir::hdf5::read_bytes(bytes, &name));
        let peak = PEAK.load(Relaxed).saturating_sub(before);
        let result = result.unwrap_or_else(|_| panic!("{name} ({kind}): the reader panicked"));
        let limit = size * MAX_EXPANSION as usize + OVERHEAD;
        assert!(
            peak <= limit,
            "{name} ({kind}): {peak} bytes allocated for a file of {size} bytes (limit {limit})"
        );
        let ratio = peak as f64 / size.max(1) as f64;
        if ratio > worst.0 {
            worst = (ratio, format!("{name} ({kind}): {peak} bytes for {size}"));
        }
        let e = by_kind.entry(kind).or_default();
        match result {
            Ok(_) => {
                ok += 1;
                e.0 += 1;
            }
            Err(error) => {
                err += 1;
                e.1 += 1;
                let text = error.to_string();
                assert!(
                    text.contains(&name),
                    "{name} ({kind}): error does not name the file: {text}"
                );
            }
        }
    }
    println!(
        "{n} damaged files: {ok} read, {err} clean errors, 0 panics; by mutation (read, error): {by_kind:?}"
    );
    println!(
        "largest peak allocation per file byte: {:.1} ({})",
        worst.0, worst.1
    );
    assert_eq!(ok + err, n);
}

#[test]
fn hostile_files_fail_by_name_with_the_reason() {
    let _one = SERIAL.lock().unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hostile");
    let expect = [
        ("cycle.nir", "nested more than 16 levels deep"),
        ("shared.nir", "nested more than 16 levels deep"),
        (
            "huge_shape.nir",
            "parameter `tau`: its shape declares 17592186044416 bytes",
        ),
        (
            "huge_chunk.nir",
            "parameter `r`: its chunk shape declares 2147483648 bytes",
        ),
    ];
    for (file, why) in expect {
        let path = dir.join(file);
        let before = LIVE.load(Relaxed);
        PEAK.store(before, Relaxed);
        let e = amine_nir::hdf5::read(&path).expect_err(file);
        let peak = PEAK.load(Relaxed) - before;
        let text = e.to_string();
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(text.contains(why), "{file}: {text}");
        let size = std::fs::metadata(&path).unwrap().len() as usize;
        assert!(
            peak <= size * MAX_EXPANSION as usize + OVERHEAD,
            "{file}: {peak} bytes"
        );
    }
    // A fixed-length type string without its terminator is read as the whole field.
    let g = amine_nir::hdf5::read(&dir.join("unterminated.nir")).unwrap();
    assert_eq!(g.nodes["lif"].type_name(), "LIF");
}
