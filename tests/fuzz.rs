//! The decoders under mutation: chip configurations, network programs, connectivity and
//! spike-train CSV files, input spike files, chip images in both encodings, IDX files
//! (plain and gzipped) and checkpoints. Every mutated input must give a clean error or
//! a value — never a panic — and no case may allocate more than [`CASE_BYTES`] at once
//! (a counting global allocator measures each case's peak). What decodes is used: a
//! configuration is validated, a program compiled and its image run for two steps, an
//! image verified and run, a checkpoint's state checked and stepped. (NIR files have
//! their own suite: `crates/nir/tests/damaged.rs`.)
//!
//! Mutations are byte-level (random bytes, size fields set to extreme values,
//! truncation, copied, inserted and deleted runs) and structure-aware (a number token
//! replaced by an extreme value — 0, −1, 2³¹, 2³²−1, 2⁶⁴−1, 1e308, NaN —, a line
//! duplicated or dropped, two words swapped, a binary image's or a checkpoint's payload
//! damaged under a recomputed checksum). Cases are seeded and counted, never timed:
//!
//! ```sh
//! cargo test -p amine --release --test fuzz -- --nocapture                      # 60 per kind
//! AMINE_FUZZ_CASES=1500 cargo test -p amine --release --test fuzz -- --nocapture  # the long setting
//! ```

use amine_chip::image::ChipImage;
use amine_chip::ChipConfig;
use amine_sim::checkpoint::{self, Identity};
use amine_sim::resume::RunBody;
use amine_sim::{Recorder, SimOptions, Simulator};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::Relaxed;

#[path = "common/fuzzing.rs"]
mod fuzzing;
use fuzzing::{Rng, LIVE, PEAK};

/// Most any one case may allocate beyond what was live before it.
const CASE_BYTES: usize = 256 << 20;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn cases() -> usize {
    std::env::var("AMINE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60)
}

const EXTREMES: [&str; 12] = [
    "0",
    "-1",
    "1",
    "2147483648",
    "2147483712",
    "4294967295",
    "65536",
    "18446744073709551615",
    "1e308",
    "NaN",
    "-0.0",
    "99999999999999999999999",
];

/// One byte-level mutation of `base`.
fn bytes(base: &[u8], r: &mut Rng) -> Vec<u8> {
    let mut b = base.to_vec();
    let len = b.len().max(1);
    match r.below(6) {
        0 => {
            for _ in 0..1 + r.below(8) {
                let i = r.below(len);
                if let Some(x) = b.get_mut(i) {
                    *x = r.next() as u8;
                }
            }
        }
        1 => {
            let at = r.below(len);
            let v = [u64::MAX, u32::MAX as u64, 1 << 31, 1 << 40, 0][r.below(5)];
            let w = [1, 2, 4, 8][r.below(4)];
            if at + w <= b.len() {
                b[at..at + w].copy_from_slice(&v.to_le_bytes()[..w]);
            }
        }
        2 => b.truncate(r.below(len)),
        3 => {
            let (i, j) = (r.below(len), r.below(len));
            let n = (1 + r.below(64)).min(b.len().saturating_sub(i.max(j)));
            let run = b[i..i + n].to_vec();
            b[j..j + n].copy_from_slice(&run);
        }
        4 => {
            let at = r.below(len).min(b.len());
            let n = 1 + r.below(32);
            let ins: Vec<u8> = (0..n).map(|_| r.next() as u8).collect();
            b.splice(at..at, ins);
        }
        _ => {
            let at = r.below(len).min(b.len());
            let n = (1 + r.below(32)).min(b.len() - at);
            b.drain(at..at + n);
        }
    }
    b
}

/// One structure-aware mutation of text: a number replaced by an extreme value, a line
/// duplicated or dropped, or two words swapped.
fn text(base: &str, r: &mut Rng) -> String {
    let numbers: Vec<(usize, usize)> = {
        let b = base.as_bytes();
        let mut v = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i].is_ascii_digit() {
                let s = i;
                while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
                    i += 1;
                }
                v.push((s, i));
            } else {
                i += 1;
            }
        }
        v
    };
    let lines: Vec<&str> = base.lines().collect();
    match r.below(4) {
        0 | 1 if !numbers.is_empty() => {
            let mut s = base.to_string();
            for _ in 0..1 + r.below(3) {
                let (a, b) = numbers[r.below(numbers.len())];
                if b <= s.len() && s.is_char_boundary(a) && s.is_char_boundary(b) {
                    s.replace_range(a..b, EXTREMES[r.below(EXTREMES.len())]);
                }
            }
            s
        }
        2 if !lines.is_empty() => {
            let mut l: Vec<&str> = lines.clone();
            let i = r.below(l.len());
            if r.below(2) == 0 {
                l.insert(i, lines[r.below(lines.len())]);
            } else {
                l.remove(i);
            }
            l.join("\n")
        }
        _ => {
            let words: Vec<&str> = base.split_whitespace().collect();
            if words.len() < 2 {
                return base.to_string();
            }
            let (a, b) = (words[r.below(words.len())], words[r.below(words.len())]);
            base.replacen(a, "\u{1}", 1)
                .replacen(b, a, 1)
                .replacen('\u{1}', b, 1)
        }
    }
}

/// A text mutation, or a byte-level one read back as (lossy) text.
fn mutate_text(base: &str, r: &mut Rng) -> String {
    if r.below(2) == 0 {
        text(base, r)
    } else {
        String::from_utf8_lossy(&bytes(base.as_bytes(), r)).into_owned()
    }
}

/// Make a damaged image or checkpoint (magic, version, length, FNV-1a checksum, then
/// the payload) pass its header checks again, so the payload's decoder is reached.
fn reseal(b: &mut [u8], good: &[u8]) {
    if b.len() > 28 {
        let sum = amine_chip::image::fnv1a(&b[28..]);
        let len = (b.len() - 28) as u64;
        b[..12].copy_from_slice(&good[..12]);
        b[12..20].copy_from_slice(&len.to_le_bytes());
        b[20..28].copy_from_slice(&sum.to_le_bytes());
    }
}

/// Runs `f` as one case: its peak allocation is checked against [`CASE_BYTES`].
fn case(kind: &str, i: usize, input: &[u8], f: impl FnOnce()) {
    let before = LIVE.load(Relaxed);
    PEAK.store(before, Relaxed);
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    let peak = PEAK.load(Relaxed) - before;
    if caught.is_err() || peak > CASE_BYTES {
        let dir = std::env::temp_dir().join("amine-fuzz-failures");
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join(format!("{kind}-{i}"));
        let _ = std::fs::write(&path, input);
        panic!(
            "{kind} case {i} ({}): {}; input saved to {}",
            input.len(),
            if caught.is_err() {
                "panicked".to_string()
            } else {
                format!("allocated {peak} bytes")
            },
            path.display()
        );
    }
}

fn options(steps: u32) -> SimOptions {
    SimOptions {
        steps,
        ..SimOptions::default()
    }
}

/// Run an image that decoded for two steps, if the simulator accepts it.
fn run_two_steps(chip: &ChipConfig, image: &ChipImage) {
    if let Ok(mut sim) = Simulator::new(chip, image, options(2)) {
        let mut state = sim.initial_state();
        sim.step(&mut state);
        sim.step(&mut state);
    }
}

struct Counts(Vec<(&'static str, usize, usize)>);
impl Counts {
    fn add(&mut self, kind: &'static str, ok: bool) {
        match self.0.iter_mut().find(|c| c.0 == kind) {
            Some(c) => {
                c.1 += 1;
                c.2 += usize::from(ok);
            }
            None => self.0.push((kind, 1, usize::from(ok))),
        }
    }
}

#[test]
fn every_decoder_gives_a_value_or_a_clean_error_in_bounded_memory() {
    let n = cases();
    let mut r = Rng(0x1e16_f022);
    let mut counts = Counts(Vec::new());
    let loihi = amine_chip::presets::preset("loihi").unwrap();
    let tiny = amine_chip::presets::preset("tiny").unwrap();
    let programs = root().join("programs");

    // Chip configurations.
    let chip_text = std::fs::read_to_string(root().join("chip-configs/loihi.ron")).unwrap();
    for i in 0..n {
        let t = mutate_text(&chip_text, &mut r);
        let mut ok = false;
        case("chip-config", i, t.as_bytes(), || {
            if let Ok(c) = ChipConfig::from_ron(&t, "c.ron") {
                ok = c.validate().is_ok();
            }
        });
        counts.add("chip config", ok);
    }

    // Network programs, compiled for the tiny chip and run.
    let small = std::fs::read_to_string(programs.join("layered.ron")).unwrap();
    let modulated = std::fs::read_to_string(programs.join("recurrent_modulated.ron")).unwrap();
    for i in 0..n {
        let base = if i % 2 == 0 { &small } else { &modulated };
        let t = mutate_text(base, &mut r);
        let mut ok = false;
        case("program", i, t.as_bytes(), || {
            let chip = if i % 4 < 2 { &tiny } else { &loihi };
            if let Ok(c) = amine_compiler::compile_str(&t, "p.ron", &programs, chip) {
                run_two_steps(chip, &c.image);
                ok = true;
            }
        });
        counts.add("program", ok);
    }

    // Connectivity and spike-train CSV files.
    let conn = std::fs::read_to_string(programs.join("data/cue_to_rec.csv")).unwrap();
    let trains = std::fs::read_to_string(programs.join("data/cue_spikes.csv")).unwrap();
    for i in 0..n {
        let t = mutate_text(if i % 2 == 0 { &conn } else { &trains }, &mut r);
        let mut ok = false;
        case("csv", i, t.as_bytes(), || {
            ok = if i % 2 == 0 {
                amine_compiler::csv::parse_synapses(&t, "c.csv").is_ok()
            } else {
                amine_compiler::csv::parse_spikes(&t, "s.csv").is_ok()
            };
        });
        counts.add("CSV file", ok);
    }

    // Input spike files for an image with an External port.
    let ext = r#"Program(name: "ext", seed: 1, dt_ms: 1.0,
        populations: [(name: "a", size: 20, model: LifRaw((du: 511, dv: 256, vth: 100, bias_mant: 0, bias_exp: 0, refractory: 0)))],
        inputs: [(name: "in", size: 4, source: External), (name: "in2", size: 3, source: External)],
        projections: [(from: "in", to: "a", connect: All, weight: Some(Const(16.0))),
                      (from: "in2", to: "a", connect: All, weight: Some(Const(8.0)))])"#;
    let ext_image = amine_compiler::compile_str(ext, "ext.ron", Path::new("."), &tiny)
        .unwrap()
        .image
        .into_image();
    let spikes = "port,step,index\n# spikes\n0,0,1\n0,3,2\n1,2,0\n1,9,2\n0,40,3\n";
    for i in 0..n {
        let t = mutate_text(spikes, &mut r);
        let mut ok = false;
        case("spikes", i, t.as_bytes(), || {
            if let Ok(s) = amine_sim::parse_csv(&t, "in.csv", &ext_image, 50) {
                let sim = Simulator::new(&tiny, &ext_image, options(50)).unwrap();
                let mut sim = sim.with_external(s).unwrap();
                let mut state = sim.initial_state();
                for _ in 0..50 {
                    sim.step(&mut state);
                }
                ok = true;
            }
        });
        counts.add("spike file", ok);
    }

    // Chip images, binary and RON.
    let image = amine_compiler::compile_file(&programs.join("recurrent_modulated.ron"), &loihi)
        .unwrap()
        .image
        .into_image();
    let binary = image.to_bytes();
    let ron = image.to_ron();
    for i in 0..n {
        let mut b = bytes(&binary, &mut r);
        if i % 2 == 1 {
            reseal(&mut b, &binary);
        }
        let mut ok = false;
        case("image-binary", i, &b, || {
            if let Ok(img) = ChipImage::from_bytes(&b, "i.img") {
                run_two_steps(&loihi, &img);
                ok = true;
            }
        });
        counts.add("image (binary)", ok);
        let t = mutate_text(&ron, &mut r);
        let mut ok = false;
        case("image-ron", i, t.as_bytes(), || {
            if let Ok(img) = ChipImage::from_ron(&t, "i.ron") {
                run_two_steps(&loihi, &img);
                ok = true;
            }
        });
        counts.add("image (RON)", ok);
    }

    // IDX files, plain and gzipped.
    let mut idx = vec![0, 0, 8, 3, 0, 0, 0, 4, 0, 0, 0, 3, 0, 0, 0, 2];
    idx.extend((0..24u8).map(|v| v * 10));
    let gz = {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(&idx).unwrap();
        e.finish().unwrap()
    };
    for i in 0..n {
        let b = bytes(if i % 2 == 0 { &idx } else { &gz }, &mut r);
        let mut ok = false;
        case("idx", i, &b, || {
            if let Ok(plain) = amine_tasks::datasets::read_maybe_gz(&b, "x-idx3-ubyte") {
                ok = amine_tasks::datasets::parse_idx(
                    &plain,
                    "x",
                    amine_tasks::datasets::IdxKind::Images,
                )
                .is_ok();
            }
        });
        counts.add("IDX file", ok);
    }

    // Checkpoints: damaged bytes, and damaged payloads under a recomputed checksum.
    let sim = Simulator::new(&loihi, &image, options(10)).unwrap();
    let mut state = sim.initial_state();
    let mut rec = Recorder::new(0, sim.population_names().len(), u32::MAX, false);
    let mut sim = sim;
    for _ in 0..5 {
        sim.step_recorded(&mut state, &mut rec);
    }
    let id = Identity::new("run", &image, "steps=10".into());
    let good = checkpoint::encode(
        &id,
        &RunBody {
            state,
            recorder: rec,
            recording: None,
        },
    );
    for i in 0..n {
        let mut b = bytes(&good, &mut r);
        if i % 2 == 1 {
            reseal(&mut b, &good);
        }
        let mut ok = false;
        case("checkpoint", i, &b, || {
            if let Ok(body) = checkpoint::decode::<RunBody>(&b, "c.ckpt", &id) {
                if sim.check_state(&body.state, "c.ckpt").is_ok() {
                    let mut state = body.state;
                    let mut rec = body.recorder;
                    for _ in 0..2 {
                        sim.step_recorded(&mut state, &mut rec);
                    }
                    ok = true;
                }
            }
        });
        counts.add("checkpoint", ok);
    }

    let total: usize = counts.0.iter().map(|c| c.1).sum();
    println!("{total} mutated inputs, no panic, each case under {CASE_BYTES} bytes:");
    for (kind, cases, ok) in &counts.0 {
        println!("  {kind:<16} {cases:>6} cases, {ok:>6} decoded");
    }
}
