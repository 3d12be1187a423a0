//! Lockstep comparison of a shared dual-stream program (`amine template ed --routing
//! modulo`) on the chip and in f64, from the **same initial weights** (the chip's,
//! read back from its synapse memory) in the **same sample order**:
//!
//! ```sh
//! amine template ed --routing modulo --hidden 360p3 --widths 3,6 --eta 100 --seed 1 -o p.ron
//! cargo run -p amine-train --release --example dual_ed_lockstep -- p.ron SAMPLES [SEED] [WINDOW]
//! ```
//!
//! Three tracks learn the digits' training set (the order a seeded shuffle, `SEED`,
//! default 1, repeated for later epochs): the chip (`loihi-ed`, `EdRunner` as `amine
//! train`), the f64 reference in the chip's form with 8-bit payloads and the error
//! rounded to the nearest payload step (`payload_bits`, `error_rounding`), and the same
//! with the learning engine's weight arithmetic emulated (`weight_arith`, 8-bit row
//! mantissas, stochastic rounding, clamp at 0, renormalisation). Every `WINDOW`
//! samples (default 200) it prints, per track, the online accuracy of the window and,
//! per projection, the mean magnitude, the fraction at 0 and the mean and RMS of the
//! track's weights minus the chip's; per sample, the hidden layer's and the outputs'
//! activations minus the chip's payloads (mean and RMS over units, averaged over the
//! window); per projection, the rows' mean exponent (the chip's and the emulated
//! engine's) and the fraction of the chip's rows at the top exponent. A study tool
//! (docs/dual-stream-ed-rounds-6-9.md, seventh and eighth rounds), not a CLI feature.

use amine_chip::image::ChipImage;
use amine_chip::synapse::effective_weight;
use amine_compiler::program::Program;
use amine_compiler::templates::{PAYLOAD_MAX, WEIGHT_SCALE};
use amine_sim::{SimOptions, Simulator};
use amine_tasks::dual_ed::{self, chip_arith::ChipArith, error_unit::ErrorRounding, Trainer};
use amine_tasks::Dataset;
use amine_train::dual_ed::float_config;
use amine_train::ed::{EdLayout, EdRunner, BIAS};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;
use std::path::Path;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// A plastic synapse: (projection, f64 matrix index), in chip order.
struct Slot {
    layer: usize,
    matrix: usize,
    index: usize,
}

/// Matrix of a projection `(from, to)`: layer 0 `x_e→l1e` pp, `x_i→l1e` np, `x_i→l1i`
/// nn, `x_e→l1i` pn; layer 1 `l1e→out` pp, `l1i→out` np.
fn matrix_of(from: &str, to: &str) -> Option<(usize, usize)> {
    Some(match (from, to) {
        ("x_e", "l1e") => (0, 0),
        ("x_i", "l1e") => (0, 1),
        ("x_i", "l1i") => (0, 2),
        ("x_e", "l1i") => (0, 3),
        ("l1e", t) if t.starts_with("out") => (1, 0),
        ("l1i", t) if t.starts_with("out") => (1, 1),
        _ => return None,
    })
}

/// Every plastic synapse of `image`, in the order [`Simulator::plastic_rows`] yields
/// their mantissas, mapped to the f64 network's matrices (`outputs[l]` units per layer).
fn slots(image: &ChipImage, outputs: [usize; 2]) -> Res<Vec<Slot>> {
    // (core, axon) → source; (core, compartment) → target.
    let mut source: HashMap<(u32, u32), (String, usize)> = HashMap::new();
    for port in &image.inputs {
        for i in 0..port.size as usize {
            let (a, b) = (port.fanout_offsets[i], port.fanout_offsets[i + 1]);
            for t in &port.fanout[a as usize..b as usize] {
                source.insert((t.core, t.axon), (port.name.clone(), i));
            }
        }
    }
    let mut target: HashMap<(u32, u32), (String, usize)> = HashMap::new();
    for pop in &image.populations {
        for b in &pop.blocks {
            let core = image.cores.iter().find(|c| c.id == b.core).ok_or("core")?;
            for k in 0..b.count {
                let (c, n) = (b.first_compartment + k, (b.first_neuron + k) as usize);
                target.insert((b.core, c), (pop.name.clone(), n));
                let (a, z) = (
                    core.fanout_offsets[c as usize],
                    core.fanout_offsets[c as usize + 1],
                );
                for t in &core.fanout[a as usize..z as usize] {
                    source.insert((t.core, t.axon), (pop.name.clone(), n));
                }
            }
        }
    }
    let mut out = Vec::new();
    let mut lens: std::collections::BTreeMap<(usize, usize), (usize, usize)> = Default::default();
    for core in &image.cores {
        if core.population.is_some() {
            return Err("population axons are not mapped by this tool".into());
        }
        for pr in &core.plastic_rows {
            let (from, i) = source
                .get(&(core.id, pr.row))
                .ok_or("row without a source")?;
            let first = core.synapses.row_targets(pr.row).next();
            if let Some((to, _)) = first.and_then(|t| target.get(&(core.id, t))) {
                if let Some(lm) = matrix_of(from, to) {
                    let e = lens.entry(lm).or_default();
                    e.0 += 1;
                    e.1 += core.synapses.row_targets(pr.row).count();
                }
            }
            for tgt in core.synapses.row_targets(pr.row) {
                let (to, j) = target
                    .get(&(core.id, tgt))
                    .ok_or("synapse without a target")?;
                let (layer, matrix) = matrix_of(from, to)
                    .ok_or_else(|| format!("unexpected projection {from}->{to}"))?;
                let col = if layer == 1 {
                    to[3..].parse::<usize>()?
                } else {
                    *j
                };
                out.push(Slot {
                    layer,
                    matrix,
                    index: i * outputs[layer] + col,
                });
            }
        }
    }
    for ((l, m), (rows, syn)) in lens {
        println!(
            "layer {l} matrix {m}: {rows} plastic rows, {syn} synapses ({:.1} a row)",
            syn as f64 / rows.max(1) as f64
        );
    }
    Ok(out)
}

/// The chip's magnitudes, per layer and matrix, in f64 units (0 where no synapse).
fn chip_weights(
    sim: &Simulator,
    state: &amine_sim::SimState,
    slots: &[Slot],
    shape: &[[usize; 4]; 2],
) -> Vec<[Vec<f64>; 4]> {
    let mut w: Vec<[Vec<f64>; 4]> = shape.iter().map(|s| s.map(|n| vec![0.0; n])).collect();
    let unit = 64.0 * WEIGHT_SCALE; // effective_weight is the weight × 64
    let mut k = 0;
    for (_, ms, e) in sim.plastic_rows(state) {
        for &m in ms {
            let s = &slots[k];
            w[s.layer][s.matrix][s.index] = f64::from(effective_weight(m, e)).abs() / unit;
            k += 1;
        }
    }
    w
}

/// Per projection (in [`compare`]'s order): the chip's mean row exponent and the fraction
/// of its rows at `top`, and the emulated engine's mean row exponent.
fn exponents(
    sim: &Simulator,
    state: &amine_sim::SimState,
    slots: &[Slot],
    emulated: Option<&dual_ed::chip_arith::ChipWeights>,
    top: i8,
) -> Vec<[f64; 3]> {
    let p_of = |l: usize, m: usize| if l == 0 { m } else { 4 + m };
    let mut acc = [[0.0f64; 4]; 6];
    let mut k = 0;
    for (_, ms, e) in sim.plastic_rows(state) {
        if let Some(s) = slots.get(k).filter(|_| !ms.is_empty()) {
            let a = &mut acc[p_of(s.layer, s.matrix)];
            a[0] += f64::from(e);
            a[1] += f64::from(u8::from(e >= top));
            a[2] += 1.0;
        }
        k += ms.len();
    }
    if let Some(c) = emulated {
        for (l, mats) in c.exponents.iter().enumerate().take(2) {
            for (m, rows) in mats.iter().enumerate().take(if l == 0 { 4 } else { 2 }) {
                let mean =
                    rows.iter().map(|&e| f64::from(e)).sum::<f64>() / rows.len().max(1) as f64;
                acc[p_of(l, m)][3] = mean;
            }
        }
    }
    acc.iter()
        .map(|a| [a[0] / a[2].max(1.0), a[1] / a[2].max(1.0), a[3]])
        .collect()
}

/// Per projection: (mean magnitude, fraction 0, mean and RMS of `w − chip`), over the
/// synapses the chip has.
fn compare(w: &[[Vec<f64>; 4]], chip: &[[Vec<f64>; 4]], mask: &[[Vec<bool>; 4]]) -> Vec<[f64; 4]> {
    let mut out = Vec::new();
    for l in 0..2 {
        for m in 0..if l == 0 { 4 } else { 2 } {
            let (mut n, mut sum, mut zero, mut d, mut d2) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for ((&a, &c), &on) in w[l][m].iter().zip(&chip[l][m]).zip(&mask[l][m]) {
                if on {
                    n += 1.0;
                    sum += a;
                    zero += f64::from(u8::from(a <= 1e-6));
                    d += a - c;
                    d2 += (a - c) * (a - c);
                }
            }
            out.push([sum / n, zero / n, d / n, (d2 / n).sqrt()]);
        }
    }
    out
}

/// The f64 network's four magnitude matrices, per layer.
fn matrices(t: &Trainer) -> Vec<[Vec<f64>; 4]> {
    t.net
        .layers
        .iter()
        .map(|l| {
            [
                l.w_pp.clone(),
                l.w_np.clone(),
                l.w_nn.clone(),
                l.w_pn.clone(),
            ]
        })
        .collect()
}

/// Sets the f64 network's chip-held magnitudes to `w`.
fn set_weights(t: &mut Trainer, w: &[[Vec<f64>; 4]]) {
    for (l, layer) in t.net.layers.iter_mut().enumerate() {
        let mats = [
            &mut layer.w_pp,
            &mut layer.w_np,
            &mut layer.w_nn,
            &mut layer.w_pn,
        ];
        for (m, x) in mats.into_iter().enumerate() {
            if l == 0 || m < 2 {
                x.copy_from_slice(&w[l][m]);
            }
        }
    }
}

/// Per projection: Σ|Δc|, Σ|Δf|, ΣΔc, ΣΔf, ΣΔc·Δf, ΣΔf², synapse-samples, ΣΔc²,
/// changed (chip), changed (f64): the chip's change `Δc` of one sample against the
/// synced f64 network's `Δf` from the same weights.
fn accumulate(
    u: &mut [[f64; 10]],
    before: &[[Vec<f64>; 4]],
    after: &[[Vec<f64>; 4]],
    synced: &Trainer,
    mask: &[[Vec<bool>; 4]],
) {
    let mut p = 0;
    for l in 0..2 {
        let layer = &synced.net.layers[l];
        let f = [&layer.w_pp, &layer.w_np, &layer.w_nn, &layer.w_pn];
        for m in 0..if l == 0 { 4 } else { 2 } {
            let a = &mut u[p];
            for k in 0..before[l][m].len() {
                if !mask[l][m][k] {
                    continue;
                }
                let c = after[l][m][k] - before[l][m][k];
                let d = f[m][k] - before[l][m][k];
                a[0] += c.abs();
                a[1] += d.abs();
                a[2] += c;
                a[3] += d;
                a[4] += c * d;
                a[5] += d * d;
                a[6] += 1.0;
                a[7] += c * c;
                a[8] += f64::from(u8::from(c != 0.0));
                a[9] += f64::from(u8::from(d.abs() > 1e-12));
            }
            p += 1;
        }
    }
}

fn main() -> Res<()> {
    let a: Vec<String> = std::env::args().collect();
    let path = a
        .get(1)
        .ok_or("usage: dual_ed_lockstep PROGRAM.ron SAMPLES [SEED] [WINDOW]")?;
    let samples: usize = a.get(2).ok_or("SAMPLES")?.parse()?;
    let seed: u64 = a.get(3).map_or(Ok(1), |s| s.parse())?;
    let window: usize = a.get(4).map_or(Ok(200), |s| s.parse())?;
    let text = std::fs::read_to_string(path)?;
    let program = Program::from_ron(&text, path)?;
    let config = amine_chip::presets::preset("loihi-ed")?;
    let image = amine_compiler::compile_str(&text, path, Path::new("."), &config)?
        .image
        .into_image();
    let mut sim = Simulator::new(&config, &image, SimOptions::default())?;
    let layout = EdLayout::of(&sim, &image)?;
    let split = amine_tasks::parse_task("digits")?.load()?;
    let fsplit = dual_ed::with_bias_unit(&split, BIAS as f32);
    let base = float_config(&program, 1, seed).ok_or("not a shared dual-stream program")?;
    if base.hidden.len() != 1 {
        return Err("one hidden layer only".into());
    }
    let exact = dual_ed::DualEdConfig {
        payload_bits: Some(8),
        error_rounding: Some(ErrorRounding::Nearest),
        ..base.clone()
    };
    let arith = dual_ed::DualEdConfig {
        weight_arith: Some(ChipArith::loihi_ed(WEIGHT_SCALE)?),
        ..exact.clone()
    };
    let mut tracks = [
        Trainer::new(&exact, &fsplit, 1)?,
        Trainer::new(&arith, &fsplit, 1)?,
    ];
    // Re-synchronised to the chip's weights before every sample: its change is the f64
    // rule's for the state the chip is in.
    let mut synced = Trainer::new(&exact, &fsplit, 1)?;
    let classes = split.classes();
    let h = tracks[0].net.layers[0].outputs;
    let shape = [
        [tracks[0].net.layers[0].w_pp.len(); 4],
        [tracks[0].net.layers[1].w_pp.len(); 4],
    ];
    let slots = slots(&image, [h, classes])?;
    let mut runner = EdRunner::new(&mut sim, layout);
    let w0 = chip_weights(runner.sim, &runner.state, &slots, &shape);
    let mask = plastic_mask(&slots, &shape);
    start_from_chip(&mut tracks, &w0, arith.weight_arith.ok_or("arith")?);
    let pl1e = runner.sim.population_index("l1e").ok_or("l1e")?;
    let outs: Vec<usize> = (0..classes)
        .map(|c| runner.sim.population_index(&format!("out{c}")).ok_or("out"))
        .collect::<Result<_, _>>()?;
    let eta = base.learning_rate;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut sums = WindowSums::new();
    let mut order: Vec<usize> = Vec::new();
    println!("program {path}, η {eta}, {h} hidden units a stream, window {window}, seed {seed}");
    for n in 0..samples {
        if n % split.train.len() == 0 {
            order = (0..split.train.len()).collect();
            order.shuffle(&mut rng);
        }
        let i = order[n % split.train.len()];
        let label = split.train.labels[i] as usize;
        let before = chip_weights(runner.sim, &runner.state, &slots, &shape);
        set_weights(&mut synced, &before);
        let (_, _) = synced.step(&fsplit.train, &[i], eta);
        sums.right[0] += usize::from(runner.train_sample(&split.train.inputs[i], label)? == label);
        let chip = chip_readout(&runner, pl1e, &outs, i, label, &mut sums.err[0]);
        for (k, t) in tracks.iter_mut().enumerate() {
            track_sample(t, k, &fsplit.train, &chip, eta, &mut sums);
        }
        let after = chip_weights(runner.sim, &runner.state, &slots, &shape);
        accumulate(&mut sums.upd, &before, &after, &synced, &mask);
        if (n + 1) % window == 0 {
            sums.print(n + 1, window);
            let top = config.core.weight_exponent_max;
            print_weights(&runner, &slots, &shape, &mask, &tracks, top);
            sums = WindowSums::new();
        }
    }
    print_test(&mut runner, &split, &fsplit, &tracks, samples)
}

/// Which entries of each matrix are plastic synapses of the chip.
fn plastic_mask(slots: &[Slot], shape: &[[usize; 4]; 2]) -> Vec<[Vec<bool>; 4]> {
    let mut mask: Vec<[Vec<bool>; 4]> = shape.iter().map(|s| s.map(|n| vec![false; n])).collect();
    for s in slots {
        mask[s.layer][s.matrix][s.index] = true;
    }
    mask
}

/// What a window sums over its samples, printed and cleared at its end.
struct WindowSums {
    /// Per projection, [`accumulate`]'s sums of the updates.
    upd: Vec<[f64; 10]>,
    /// The chip's error (dp − dm) and the f64 track's raw t − o, means over classes.
    err: [f64; 2],
    /// Right answers online: chip, f64, f64 with the engine's arithmetic.
    right: [usize; 3],
    /// Per f64 track, the hidden layer's f64 − chip mean and RMS, and the outputs' mean.
    dh: [f64; 2],
    dh2: [f64; 2],
    dout: [f64; 2],
}

impl WindowSums {
    fn new() -> WindowSums {
        WindowSums {
            upd: vec![[0.0; 10]; 6],
            err: [0.0; 2],
            right: [0; 3],
            dh: [0.0; 2],
            dh2: [0.0; 2],
            dout: [0.0; 2],
        }
    }

    /// The window ending after `samples` samples: per projection the updates, then the
    /// online accuracies and activation differences, then the errors.
    fn print(&self, samples: usize, window: usize) {
        let wn = window as f64;
        for (p, name) in NAMES.iter().enumerate() {
            let u = &self.upd[p];
            println!(
                "  Δw {name:<8} per synapse-sample: |Δ| chip {:.3e} f64 {:.3e}; mean Δ chip {:+.3e} f64 {:+.3e}; slope chip on f64 {:.3}; corr {:.3}; changed chip {:.4} f64 {:.4}",
                u[0] / u[6], u[1] / u[6], u[2] / u[6], u[3] / u[6], u[4] / u[5],
                u[4] / (u[5] * u[7]).sqrt(), u[8] / u[6], u[9] / u[6]
            );
        }
        let (right, dh, dh2, dout) = (self.right, self.dh, self.dh2, self.dout);
        println!(
            "samples {:>6}: online chip {:.3} f64 {:.3} f64+engine {:.3}; hidden f64−chip mean {:+.4} rms {:.4} (engine {:+.4} {:.4}); outputs mean {:+.4} (engine {:+.4})",
            samples,
            right[0] as f64 / wn,
            right[1] as f64 / wn,
            right[2] as f64 / wn,
            dh[0] / wn,
            dh2[0] / wn,
            dh[1] / wn,
            dh2[1] / wn,
            dout[0] / wn,
            dout[1] / wn
        );
        println!(
            "  error: chip (dp − dm) mean {:+.5} (payload fraction); f64 raw t − o mean {:+.5}",
            self.err[0] / wn,
            self.err[1] / wn
        );
    }
}

/// One training sample as the chip saw it: its index and label, and the payloads of
/// the hidden layer and of the outputs as fractions of the payload range.
struct ChipSample {
    i: usize,
    label: usize,
    hid: Vec<f64>,
    out: Vec<f64>,
}

/// The chip's hidden and output payloads after sample `i`; adds its error units'
/// `(dp − dm)/classes`, class by class, to `err`.
fn chip_readout(
    runner: &EdRunner,
    pl1e: usize,
    outs: &[usize],
    i: usize,
    label: usize,
    err: &mut f64,
) -> ChipSample {
    let classes = outs.len();
    let hid: Vec<f64> = runner
        .sim
        .graded_values(&runner.state, pl1e)
        .iter()
        .map(|v| f64::from(v.1) / PAYLOAD_MAX)
        .collect();
    for c in 0..classes {
        let val = |name: String| {
            runner
                .sim
                .population_index(&name)
                .and_then(|p| runner.sim.graded_value(&runner.state, p, 0))
                .map_or(0.0, |v| f64::from(v.1) / PAYLOAD_MAX)
        };
        *err += (val(format!("dp{c}")) - val(format!("dm{c}"))) / classes as f64;
    }
    let out: Vec<f64> = outs
        .iter()
        .map(|&p| {
            runner
                .sim
                .graded_value(&runner.state, p, 0)
                .map_or(0.0, |v| f64::from(v.1) / PAYLOAD_MAX)
        })
        .collect();
    ChipSample { i, label, hid, out }
}

/// f64 track `k` on the chip's sample: its activations against the chip's, then its
/// own learning step (the first track also sums its raw error t − o).
fn track_sample(
    t: &mut Trainer,
    k: usize,
    train: &Dataset,
    chip: &ChipSample,
    eta: f64,
    sums: &mut WindowSums,
) {
    let (i, label, classes) = (chip.i, chip.label, chip.out.len());
    let x: Vec<f64> = train.inputs[i].iter().map(|&v| f64::from(v)).collect();
    let act = t.net.forward(&x, 1, 1);
    let d: Vec<f64> = act.p[1].iter().zip(&chip.hid).map(|(a, c)| a - c).collect();
    sums.dh[k] += d.iter().sum::<f64>() / d.len() as f64;
    sums.dh2[k] += (d.iter().map(|v| v * v).sum::<f64>() / d.len() as f64).sqrt();
    sums.dout[k] += act.p[2]
        .iter()
        .zip(&chip.out)
        .map(|(a, c)| a - c)
        .sum::<f64>()
        / classes as f64;
    let (r, _) = t.step(train, &[i], eta);
    if k == 0 {
        // The raw error t − o of the f64 track (its centring's input).
        let o = &act.p[2];
        sums.err[1] += (0..classes)
            .map(|c| f64::from(u8::from(c == label)) - o[c])
            .sum::<f64>()
            / classes as f64;
    }
    sums.right[k + 1] += r;
}

/// The projections in [`compare`]'s order.
const NAMES: [&str; 6] = [
    "x_e→l1e",
    "x_i→l1e",
    "x_i→l1i",
    "x_e→l1i",
    "l1e→out",
    "l1i→out",
];

/// Both f64 tracks start from the chip's initial weights `w0` (the hidden layer's four
/// matrices, the output's two plastic ones); the second also from its rows' exponents
/// (choose_exponent of each row's largest, as the compiler chose them; the values are on
/// that grid already).
fn start_from_chip(tracks: &mut [Trainer; 2], w0: &[[Vec<f64>; 4]], arith: ChipArith) {
    for (ti, t) in tracks.iter_mut().enumerate() {
        for (l, layer) in t.net.layers.iter_mut().enumerate() {
            let mats = [
                &mut layer.w_pp,
                &mut layer.w_np,
                &mut layer.w_nn,
                &mut layer.w_pn,
            ];
            for (m, w) in mats.into_iter().enumerate() {
                if l == 0 || m < 2 {
                    w.copy_from_slice(&w0[l][m]);
                }
            }
        }
        if ti == 1 {
            t.net.chip = Some(dual_ed::chip_arith::ChipWeights::quantise(
                arith,
                &mut t.net.layers,
            ));
        }
    }
}

/// Per projection, the chip's weights against both tracks' (mean magnitude, share at 0,
/// the tracks' difference to the chip) and the rows' exponents (mean, share at `top`).
fn print_weights(
    runner: &EdRunner,
    slots: &[Slot],
    shape: &[[usize; 4]; 2],
    mask: &[[Vec<bool>; 4]],
    tracks: &[Trainer; 2],
    top: i8,
) {
    let chip = chip_weights(runner.sim, &runner.state, slots, shape);
    let rows = [
        compare(&chip, &chip, mask),
        compare(&matrices(&tracks[0]), &chip, mask),
        compare(&matrices(&tracks[1]), &chip, mask),
    ];
    for (p, name) in NAMES.iter().enumerate() {
        println!(
            "  {name:<8} mean |w| chip {:.5} f64 {:.5} engine {:.5}; at 0 chip {:.4} f64 {:.4} engine {:.4}; w−chip f64 {:+.6} (rms {:.5}) engine {:+.6} (rms {:.5})",
            rows[0][p][0], rows[1][p][0], rows[2][p][0],
            rows[0][p][1], rows[1][p][1], rows[2][p][1],
            rows[1][p][2], rows[1][p][3], rows[2][p][2], rows[2][p][3]
        );
    }
    let ex = exponents(
        runner.sim,
        &runner.state,
        slots,
        tracks[1].net.chip.as_ref(),
        top,
    );
    for (p, name) in NAMES.iter().enumerate() {
        println!(
            "  {name:<8} row exponent chip mean {:+.3}, at {top} {:.4}; engine mean {:+.3}",
            ex[p][0], ex[p][1], ex[p][2]
        );
    }
}

/// Test accuracy after the last sample: the chip (inference, learning off) and both f64
/// tracks; then the emulated engine's counts.
fn print_test(
    runner: &mut EdRunner,
    split: &amine_tasks::Split,
    fsplit: &amine_tasks::Split,
    tracks: &[Trainer; 2],
    samples: usize,
) -> Res<()> {
    let mut right_chip = 0usize;
    for (x, &l) in split.test.inputs.iter().zip(&split.test.labels) {
        right_chip += usize::from(runner.infer(x)? == usize::from(l));
    }
    println!(
        "TEST after {samples} samples: chip {:.4} f64 {:.4} f64+engine {:.4}",
        right_chip as f64 / split.test.len() as f64,
        dual_ed::evaluate(&tracks[0].net, &fsplit.test, 1).0,
        dual_ed::evaluate(&tracks[1].net, &fsplit.test, 1).0
    );
    if let Some(c) = tracks[1].net.chip.as_ref().map(|c| c.counts) {
        println!(
            "emulated engine: {} updates, {:.4} rounded to no change, {:.5} clamped, {} row halvings",
            c.updates,
            c.rounded_to_zero as f64 / c.updates.max(1) as f64,
            c.clamped as f64 / c.updates.max(1) as f64,
            c.renormalised
        );
    }
    Ok(())
}
