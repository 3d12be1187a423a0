//! End-to-end tests of the monitors of `amine run --report`: every probe kind is
//! recorded, and a recorded voltage trace follows the LIF equations.

use std::path::Path;

mod common;
use common::{amine, text};

/// The neurons' raw Loihi parameters, written into the program below.
const DU: i64 = 511;
const DV: i64 = 256;
const VTH: i64 = 300;
const BIAS_MANT: i64 = 3;
const BIAS_EXP: i64 = 2;
/// Weight of the input → neuron synapses, in weight units.
const W: [i64; 2] = [40, -25];

/// Steps in which input 0 spikes.
const INPUT: [u32; 9] = [2, 3, 4, 5, 12, 13, 14, 30, 31];

/// A program: one explicit input driving two LIF neurons (one excitatory, one
/// inhibitory synapse), every probe kind on them.
fn write_program(dir: &Path) {
    let spikes: String = std::iter::once("step,index".to_string())
        .chain(INPUT.iter().map(|s| format!("{s},0")))
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(dir.join("in.csv"), spikes + "\n").unwrap();
    std::fs::write(
        dir.join("w.csv"),
        format!("pre,post,weight\n0,0,{}\n0,1,{}\n", W[0], W[1]),
    )
    .unwrap();
    let program = format!(
        "Program(name: \"lif_probe\", seed: 1, dt_ms: 1.0,
  populations: [(name: \"n\", size: 2,
    model: LifRaw((du: {DU}, dv: {DV}, vth: {VTH}, bias_mant: {BIAS_MANT}, bias_exp: {BIAS_EXP}, refractory: 0)))],
  inputs: [(name: \"in\", size: 1, source: File(\"in.csv\"))],
  projections: [(from: \"in\", to: \"n\", connect: File(\"w.csv\"))],
  probes: [
    (name: \"v\", population: \"n\", kind: Voltage),
    (name: \"u\", population: \"n\", kind: Current),
    (name: \"s\", population: \"n\", kind: Spikes),
    (name: \"v1\", population: \"n\", kind: Voltage, neurons: Some([1])),
  ],
)"
    );
    std::fs::write(dir.join("p.ron"), program).unwrap();
}

/// `x · (4096 − d) / 4096`, rounded toward zero (Davies et al. 2018; Lava's
/// bit-accurate LIF): the decay of the current and the voltage.
fn decay(x: i64, d: i64) -> i64 {
    let m = (x.abs() * (4096 - d)) >> 12;
    if x < 0 {
        -m
    } else {
        m
    }
}

/// The CUBA LIF equations, independent of amine's neuron code: per step
/// `u ← decay(u, du + 1) + 64·a_in` (24-bit wrap), `v ← clip(decay(v, dv) + u + bias)`,
/// a spike when `v > vth·64`, then `v ← 0`. Returns `(v, u, spiked)` per step.
fn reference(w: i64, steps: u32) -> Vec<(i64, i64, bool)> {
    let bias = BIAS_MANT << BIAS_EXP;
    let (mut u, mut v) = (0i64, 0i64);
    let mut out = Vec::new();
    for t in 0..steps {
        // A spike of step s acts in step s + 1.
        let a_in = if t > 0 && INPUT.contains(&(t - 1)) {
            w
        } else {
            0
        };
        u = decay(u, DU + 1) + (a_in << 6);
        if u > 1 << 23 {
            u -= 1 << 24;
        } else if u <= -(1 << 23) {
            u += 1 << 24;
        }
        v = (decay(v, DV) + u + bias).clamp(-((1 << 23) - 1), (1 << 23) - 1);
        let spiked = v > VTH << 6;
        if spiked {
            v = 0;
        }
        out.push((v, u, spiked));
    }
    out
}

/// The CSV `step,neuron_0,neuron_1,…` as rows of numbers.
fn rows(path: &Path) -> Vec<Vec<i64>> {
    let t = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    t.lines()
        .skip(1)
        .map(|l| l.split(',').map(|f| f.parse().unwrap()).collect())
        .collect()
}

#[test]
fn voltage_and_current_traces_follow_the_lif_equations() {
    let dir = tempfile::tempdir().unwrap();
    write_program(dir.path());
    let report = dir.path().join("out");
    let steps = 60;
    let out = amine(&[
        "run",
        &dir.path().join("p.ron").display().to_string(),
        "--chip",
        "tiny",
        "--steps",
        &steps.to_string(),
        "--report",
        &report.display().to_string(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let refs = [reference(W[0], steps), reference(W[1], steps)];
    assert!(
        refs[0].iter().filter(|r| r.2).count() >= 2,
        "the test drives spikes"
    );
    let v = rows(&report.join("monitors/v.csv"));
    let u = rows(&report.join("monitors/u.csv"));
    assert_eq!(v.len(), steps as usize);
    for (t, (vr, ur)) in v.iter().zip(&u).enumerate() {
        assert_eq!(vr[0], t as i64);
        for n in 0..2 {
            assert_eq!(vr[1 + n], refs[n][t].0, "v of neuron {n} after step {t}");
            assert_eq!(ur[1 + n], refs[n][t].1, "u of neuron {n} after step {t}");
        }
    }
    // The spike probe holds exactly the reference's spikes.
    let spikes = rows(&report.join("monitors/s.csv"));
    let mut want = Vec::new();
    for t in 0..steps as usize {
        for (n, r) in refs.iter().enumerate() {
            if r[t].2 {
                want.push(vec![t as i64, n as i64]);
            }
        }
    }
    want.sort();
    let mut got = spikes;
    got.sort();
    assert_eq!(got, want);
    // A probe of some neurons records only them; the index names every file.
    let v1 = rows(&report.join("monitors/v1.csv"));
    assert!(v1
        .iter()
        .enumerate()
        .all(|(t, r)| r.len() == 2 && r[1] == refs[1][t].0));
    let index = std::fs::read_to_string(report.join("monitors/index.json")).unwrap();
    for f in [
        "monitors/v.csv",
        "monitors/u.csv",
        "monitors/s.csv",
        "monitors/v1.csv",
    ] {
        assert!(index.contains(f), "{f} in {index}");
    }
    let html = std::fs::read_to_string(report.join("report.html")).unwrap();
    assert!(
        html.contains("probe `v`: membrane voltage v"),
        "the trace is plotted"
    );
}

#[test]
fn sampling_keeps_every_nth_step() {
    let dir = tempfile::tempdir().unwrap();
    write_program(dir.path());
    let report = dir.path().join("out");
    let out = amine(&[
        "run",
        &dir.path().join("p.ron").display().to_string(),
        "--chip",
        "tiny",
        "--steps",
        "40",
        "--monitor-every",
        "7",
        "--report",
        &report.display().to_string(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let refs = reference(W[0], 40);
    let v = rows(&report.join("monitors/v.csv"));
    let steps: Vec<i64> = v.iter().map(|r| r[0]).collect();
    assert_eq!(steps, [6, 13, 20, 27, 34]);
    for r in &v {
        assert_eq!(r[1], refs[r[0] as usize].0);
    }
    let bad = amine(&[
        "run",
        &dir.path().join("p.ron").display().to_string(),
        "--chip",
        "tiny",
        "--steps",
        "40",
        "--monitor-every",
        "0",
        "--report",
        &dir.path().join("bad").display().to_string(),
    ]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad.stderr).contains("--monitor-every"));
    assert!(!dir.path().join("bad").exists());
}

/// A Spikes probe keeps exactly its neurons' spikes wherever they sit: a population
/// spread over three cores, a probe naming neurons on the first and last of them (and
/// none of the middle one), and one of the whole population, both against the
/// report's raster (the recorder's path, not the monitor's).
#[test]
fn spike_probes_keep_their_neurons_spikes_on_every_core() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.ron"),
        "Program(name: \"spread\", seed: 3, dt_ms: 1.0,
  populations: [(name: \"n\", size: 2500,
    model: Lif(tau_syn: Steps(8), tau_mem: Steps(16), threshold: 1000))],
  inputs: [(name: \"in\", size: 200, source: Bernoulli(p: 0.2))],
  projections: [(from: \"in\", to: \"n\", connect: Random(p: 0.1), weight: Some(Const(60.0)))],
  probes: [
    (name: \"few\", population: \"n\", kind: Spikes, neurons: Some([2400, 3, 2499, 17])),
    (name: \"all\", population: \"n\", kind: Spikes),
  ],
)",
    )
    .unwrap();
    let report = dir.path().join("out");
    let out = amine(&[
        "run",
        &dir.path().join("p.ron").display().to_string(),
        "--chip",
        "loihi",
        "--steps",
        "60",
        "--report",
        &report.display().to_string(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // raster.csv: step,population,neuron.
    let raster = std::fs::read_to_string(report.join("raster.csv")).unwrap();
    let all: Vec<(i64, i64)> = raster
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[1] == "n").then(|| (f[0].parse().unwrap(), f[2].parse().unwrap()))
        })
        .collect();
    let few: Vec<(i64, i64)> = all
        .iter()
        .copied()
        .filter(|(_, n)| [3, 17, 2400, 2499].contains(n))
        .collect();
    let pairs = |f: &str| -> Vec<(i64, i64)> {
        rows(&report.join("monitors").join(f))
            .iter()
            .map(|r| (r[0], r[1]))
            .collect()
    };
    assert!(
        few.iter().any(|&(_, n)| n < 1024),
        "a spike on the first core"
    );
    assert!(
        few.iter().any(|&(_, n)| n >= 2048),
        "a spike on the last core"
    );
    assert_eq!(pairs("few.csv"), few);
    assert_eq!(pairs("all.csv"), all);
}
