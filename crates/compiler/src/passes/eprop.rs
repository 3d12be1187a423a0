//! Pass 8, eprop: a program's e-prop training → the e-prop engine's registers and
//! tables ([`EpropImage`]) and the eligibility unit's constants of each e-prop slot.
//!
//! Runs only for a program with an `eprop` section, after route (it needs to know on
//! which core each neuron sits). Every unit conversion of e-prop happens here, once:
//!
//! - **neurons → eligibility**: a slot's α, ρ are its target population's 12-bit decays
//!   (`α = 1 − dv/4096`, `ρ = 1 − da/4096`, exact in Q0.16), its β is the ALIF profile's
//!   `a_inc / ((1 − ρ)·(vth << 6))` (threshold units), so the traces follow the neurons
//!   the chip runs; κ is the readout's decay from its `tau` through the same
//!   `decay_from_tau` as every neuron;
//! - **rates**: a projection's `lr` (weight units² per unit of the window-mean loss)
//!   becomes η in weight units per `ĝ = g·2^-(F+G)`:
//!   `η = lr / (batch·|W|·(1 − α)·vth)` — g sums `m·ē` over the window and the batch, m
//!   carries the error in the grid's G fractional bits, ē is ψ̂·εv in F bits with ψ̂ per
//!   threshold and εv including `(1 − α)`; the readout's
//!   `η_out = lr_out / (batch·|W|)` per `g_out·2^-32`;
//! - **Adam**: each group's gradient is seen as `g >> shift`, with `shift` putting the
//!   largest gradient a window could produce (every step's `m·ē` at 1) at
//!   `2^(m_bits − 1 + ADAM_RANGE_BITS)`: gradients above `2^-ADAM_RANGE_BITS` of that
//!   bound saturate the moments (docs/eprop.md, "The update unit");
//! - **regulariser**: `c_j = 2^(G+16)·|W|·strength·(spikes_j − f_target·T)/T²`;
//! - **readout weights**: one exponent so `headroom` × the largest initial weight fits.
//!
//! It refuses (as hardware limits) a network that does not sit on one core — the engine
//! serves one core — and per-synapse state beyond the eligibility unit's memory.

use crate::context::Compilation;
use crate::error::{Error, ErrorKind};
use crate::generate;
use crate::passes::expand::derive_seed;
use crate::positions::{cell_at, choose, program_grid, resolve};
use crate::program::eprop::{EpropSpec, FeedbackWeights, UpdateSpec, RULE};
use amine_chip::config::eprop::EpropEngineConfig;
use amine_chip::image::eprop::{
    AdamGroup, AdamImage, EpropImage, FeedbackImage, Injector, ReadoutImage, ReadoutSynapse,
    RegulariserImage, UpdateImage, UpdateRule,
};
use amine_chip::learning::eprop::EpropParams;
use amine_chip::learning::update_unit::mant_exp;
use amine_chip::neuron::{decay_from_tau, kept, NeuronParams};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Adam's moments saturate at `2^-ADAM_RANGE_BITS` of the largest possible gradient.
pub const ADAM_RANGE_BITS: u32 = 8;

/// What this pass decided.
#[derive(Debug, Clone, PartialEq)]
pub struct EpropPlan {
    pub image: EpropImage,
    /// Per learning slot (the program's learning projections in order): its eligibility
    /// unit constants if it learns with e-prop.
    pub slots: Vec<Option<EpropParams>>,
}

pub fn run(c: &mut Compilation) -> Result<(), Error> {
    let Some(spec) = c.program.eprop.clone() else {
        return Ok(());
    };
    let Some(hw) = c.chip.learning.eprop.clone() else {
        return Err(Error::internal(
            "eprop",
            vec!["validate let a chip without an e-prop engine through".into()],
        ));
    };
    c.eprop = Some(plan(c, &spec, &hw)?);
    Ok(())
}

/// A located neuron: `(population, neuron)` → `(core, compartment)`.
fn locate(c: &Compilation, pop: usize, i: u32) -> Option<(u32, u32)> {
    let (part, place) = (c.partition.as_ref()?, c.placement.as_ref()?);
    let g = (part.pop_base.get(pop)? + i) as usize;
    let bin = *part.bin_of.get(g)? as usize;
    Some((*place.core_of_bin.get(bin)?, *part.slot_of.get(g)?))
}

fn limit(
    c: &Compilation,
    limit: &str,
    what: String,
    needed: u64,
    available: u64,
    fix: &str,
) -> Error {
    let l = crate::passes::validate::limit(c, limit, what, needed, available, fix);
    Error::new(ErrorKind::HardwareLimit(vec![l]))
}

fn plan(c: &Compilation, s: &EpropSpec, hw: &EpropEngineConfig) -> Result<EpropPlan, Error> {
    let program = &c.program;
    let core = network_core(c, s)?;
    let dt = program.dt_ms;
    let u = Units::of(c, s, hw);
    let d_out = decay_from_tau(s.readout.tau.steps(dt));
    let ro = readouts(c, s, hw);
    let injectors = injectors(c, s, &ro);
    let (slots, groups, plastic) = slots(c, s, hw, &u, kept(d_out));
    let rule = update_rule(s, hw, &u, groups);
    let steps = f64::from(s.trial.steps);
    let regulariser = s.regulariser.map(|r| {
        let k = 2f64.powi(u.g_frac as i32 + 16) * u.window * r.strength / (steps * steps);
        let (k_mant, k_exp) = mant_exp(k, 16);
        RegulariserImage {
            k_mant,
            k_exp,
            target: (r.target_hz * dt * 1e-3 * steps * 65536.0).round() as i64,
        }
    });
    state_memory(c, hw, &rule, plastic)?;
    let tau_out = s.readout.tau.steps(dt);
    let horizon = (tau_out * (f64::from(s.frac_bits) + 1.0) * std::f64::consts::LN_2).ceil();
    Ok(EpropPlan {
        image: EpropImage {
            core,
            frac_bits: s.frac_bits,
            lazy_decay: s.lazy_decay,
            power_bits: hw.eligibility.power_bits,
            trial_steps: s.trial.steps,
            window: s.trial.window,
            ebar_from: s
                .trial
                .window
                .0
                .saturating_sub(horizon.min(f64::from(u32::MAX)) as u32),
            readout: ReadoutImage {
                units: s.readout.size,
                decay: d_out,
                weight_bits: ro.bits,
                exponent: ro.exponent,
                synapses: ro.synapses,
            },
            error: s.error,
            feedback: FeedbackImage {
                channel: s.feedback.channel,
                injectors,
            },
            regulariser,
            update: UpdateImage {
                batch: s.batch,
                seed: derive_seed(program.seed, 0x6_0000),
                rule,
            },
        },
        slots,
    })
}

/// The population index of `name`.
fn pop_index(c: &Compilation, name: &str) -> Option<usize> {
    c.program.populations.iter().position(|q| q.name == name)
}

/// The one core of the e-prop network (its targets and sources, and what the readouts
/// read), or the hardware limit it breaks: the engine serves one core.
fn network_core(c: &Compilation, s: &EpropSpec) -> Result<u32, Error> {
    let program = &c.program;
    let mut pops = Vec::new();
    for pr in program.projections.iter().filter(|pr| is_eprop(pr)) {
        pops.extend(pop_index(c, &pr.to));
        pops.extend(pop_index(c, &pr.from));
    }
    pops.extend(s.readout.from.iter().filter_map(|n| pop_index(c, n)));
    pops.sort_unstable();
    pops.dedup();
    let mut cores = std::collections::BTreeSet::new();
    for &q in &pops {
        for i in 0..program.populations[q].size {
            cores.extend(locate(c, q, i).map(|x| x.0));
        }
    }
    match cores.iter().next() {
        Some(&k) if cores.len() == 1 => Ok(k),
        _ => Err(limit(
            c,
            "core.compartments",
            format!(
                "the e-prop network ({} populations) on one core — the e-prop engine serves one core, the network spans {} cores",
                pops.len(),
                cores.len()
            ),
            cores.len() as u64,
            1,
            "use fewer neurons or synapses, or a chip with larger cores",
        )),
    }
}

/// The unit conversions' shared quantities.
struct Units {
    /// Trials per update and steps of the learning window.
    batch: f64,
    window: f64,
    /// Fractional bits of the grid (G) and of the eligibility traces (F).
    g_frac: u32,
    f: u32,
    /// Adam's moment width.
    m_bits: u32,
}

impl Units {
    fn of(c: &Compilation, s: &EpropSpec, hw: &EpropEngineConfig) -> Units {
        Units {
            batch: f64::from(s.batch),
            window: f64::from(s.trial.window.1 - s.trial.window.0),
            g_frac: c.chip.modulator.format.frac_bits(),
            f: u32::from(s.frac_bits),
            m_bits: hw.update.adam.as_ref().map_or(32, |a| u32::from(a.m_bits)),
        }
    }

    /// Adam's shift for a gradient with `frac` fractional bits (module docs).
    fn adam_shift(&self, frac: u32) -> u32 {
        let log2_up = |x: f64| x.log2().ceil().max(0.0) as u32;
        (log2_up(self.batch * self.window) + frac).saturating_sub(self.m_bits - 1 + ADAM_RANGE_BITS)
    }
}

/// The readouts: the neurons they may read, the drawn synapses in real units, and the
/// image's synapses with their width and exponent.
struct Readouts {
    neurons: Vec<(usize, u32)>,
    /// `(neuron index in neurons, unit, w)`.
    real: Vec<(usize, u32, f64)>,
    bits: u8,
    exponent: u8,
    synapses: Vec<ReadoutSynapse>,
}

/// The compartment of readout neuron `j`.
fn compartment(c: &Compilation, neurons: &[(usize, u32)], j: usize) -> u32 {
    locate(c, neurons[j].0, neurons[j].1).map_or(0, |x| x.1)
}

/// Each readout reads round(p·n) distinct neurons of `from`, weights drawn in order;
/// one exponent so `headroom` × the largest weight fits.
fn readouts(c: &Compilation, s: &EpropSpec, hw: &EpropEngineConfig) -> Readouts {
    let program = &c.program;
    let neurons: Vec<(usize, u32)> = s
        .readout
        .from
        .iter()
        .filter_map(|n| pop_index(c, n))
        .flat_map(|q| (0..program.populations[q].size).map(move |i| (q, i)))
        .collect();
    let n = neurons.len();
    let mut rng = ChaCha8Rng::seed_from_u64(
        s.readout
            .seed
            .unwrap_or_else(|| derive_seed(program.seed, 0x5_0000)),
    );
    let per = (s.readout.p * n as f64).round() as usize;
    let mut real: Vec<(usize, u32, f64)> = Vec::new();
    for k in 0..s.readout.size {
        let mut chosen = choose(&mut rng, n, per);
        chosen.sort_unstable();
        for j in chosen {
            real.push((j, k, generate::draw(&s.readout.weight, &mut rng)));
        }
    }
    let bits = s.readout.weight_bits.unwrap_or(hw.readout.weight_bits);
    let top = f64::from((1u32 << (bits.clamp(2, 31) - 1)) - 1);
    let max = real.iter().fold(0.0f64, |m, x| m.max(x.2.abs()));
    let need = s.readout.headroom * max * 65536.0 / top;
    let exponent = if need <= 1.0 {
        0
    } else {
        need.log2().ceil().min(24.0) as u8
    };
    let mut synapses: Vec<ReadoutSynapse> = real
        .iter()
        .map(|&(j, k, w)| ReadoutSynapse {
            compartment: compartment(c, &neurons, j),
            unit: k,
            weight: (w * 65536.0 / f64::from(1u32 << exponent))
                .round()
                .clamp(-top, top) as i32,
        })
        .collect();
    synapses.sort_by_key(|x| (x.compartment, x.unit));
    Readouts {
        neurons,
        real,
        bits,
        exponent,
        synapses,
    }
}

/// Feedback: who injects B·err, where — one injector per compartment with a nonzero B,
/// at its neuron's grid cell.
fn injectors(c: &Compilation, s: &EpropSpec, ro: &Readouts) -> Vec<Injector> {
    let program = &c.program;
    let grid = program_grid(program, &c.chip.modulator);
    let positions = resolve(program);
    let q16 = |x: f64| {
        (x * 65536.0)
            .round()
            .clamp(-(i32::MAX as f64), i32::MAX as f64) as i32
    };
    let n = ro.neurons.len();
    let mut b: Vec<(usize, u32, i32)> = match &s.feedback.weights {
        FeedbackWeights::Readout => ro.real.iter().map(|&(j, k, w)| (j, k, q16(w))).collect(),
        FeedbackWeights::Dense { weight, seed } => {
            let mut rng = ChaCha8Rng::seed_from_u64(
                seed.unwrap_or_else(|| derive_seed(program.seed, 0x5_0001)),
            );
            (0..s.readout.size)
                .flat_map(|k| (0..n).map(move |j| (j, k)))
                .map(|(j, k)| (j, k, q16(generate::draw(weight, &mut rng))))
                .collect()
        }
    };
    b.sort_by_key(|x| (compartment(c, &ro.neurons, x.0), x.1));
    let mut injectors: Vec<Injector> = Vec::new();
    for (j, k, w) in b {
        if w == 0 {
            continue;
        }
        let comp = compartment(c, &ro.neurons, j);
        if injectors.last().map(|i| i.compartment) != Some(comp) {
            let (q, i) = ro.neurons[j];
            let xy = positions[q]
                .as_ref()
                .and_then(|v| v.get(i as usize).copied());
            injectors.push(Injector {
                compartment: comp,
                cell: xy.map_or((0, 0), |xy| cell_at(xy, &grid)),
                weights: Vec::new(),
            });
        }
        if let Some(last) = injectors.last_mut() {
            last.weights.push((k, w));
        }
    }
    injectors
}

/// Per learning slot its eligibility constants (from the target neurons) and rate if it
/// learns with e-prop; the Adam groups of the e-prop slots; their plastic synapses.
fn slots(
    c: &Compilation,
    s: &EpropSpec,
    hw: &EpropEngineConfig,
    u: &Units,
    kappa: f64,
) -> (Vec<Option<EpropParams>>, Vec<AdamGroup>, u64) {
    let mut slots = Vec::new();
    let mut groups = Vec::new();
    let mut plastic = 0u64;
    for (i, pr) in c.program.projections.iter().enumerate() {
        let Some(l) = &pr.learning else { continue };
        if l.rule.trim() != RULE {
            slots.push(None);
            continue;
        }
        let to = c.node(&pr.to).unwrap_or(0);
        let (alpha, rho, beta, vth) = neuron_constants(c.params.get(to));
        let param = |k: &str| l.params.get(k).copied().unwrap_or(0.0);
        let eta = match s.update {
            UpdateSpec::Sgd => {
                let x = param("lr") / (u.batch * u.window * (1.0 - alpha) * vth);
                let (m, e) = mant_exp(x, u32::from(hw.update.eta_bits.min(16)));
                m as f64 * 2f64.powi(e)
            }
            UpdateSpec::Adam { .. } => 0.0,
        };
        groups.push(AdamGroup {
            shift: u.adam_shift(u.f + u.g_frac).min(100) as u8,
            step: param("step"),
        });
        slots.push(Some(EpropParams {
            alpha,
            rho,
            beta,
            kappa,
            eta,
            channel: s.feedback.channel.min(255) as u8,
            frac_bits: s.frac_bits,
        }));
        if let Some(net) = &c.net {
            plastic += net.projections.get(i).map_or(0, |e| e.synapses() as u64);
        }
    }
    (slots, groups, plastic)
}

/// A target neuron's α, ρ, β (threshold units) and threshold.
fn neuron_constants(params: Option<&NeuronParams>) -> (f64, f64, f64, f64) {
    match params {
        Some(NeuronParams::Lif(p)) => (kept(p.dv), 0.0, 0.0, f64::from(p.vth)),
        Some(NeuronParams::Alif(p)) => {
            let rho = kept(p.da);
            let thr = f64::from(p.lif.vth) * 64.0;
            let beta = if p.a_inc == 0 {
                0.0
            } else {
                f64::from(p.a_inc) / ((1.0 - rho) * thr)
            };
            (kept(p.lif.dv), rho, beta, f64::from(p.lif.vth))
        }
        _ => (0.0, 0.0, 0.0, 1.0),
    }
}

/// The update rule: SGD's readout rate, or Adam's registers with the slots' groups and
/// the readout's (last).
fn update_rule(
    s: &EpropSpec,
    hw: &EpropEngineConfig,
    u: &Units,
    mut groups: Vec<AdamGroup>,
) -> UpdateRule {
    match s.update {
        UpdateSpec::Sgd => UpdateRule::Sgd {
            readout_eta: s.readout.lr.unwrap_or(0.0) / (u.batch * u.window),
        },
        UpdateSpec::Adam { beta1, beta2 } => {
            groups.push(AdamGroup {
                shift: u.adam_shift(32).min(100) as u8,
                step: s.readout.step.unwrap_or(0.0),
            });
            let q32 = |x: f64| (x * 4_294_967_296.0).round().clamp(0.0, u32::MAX as f64) as u32;
            let a = hw.update.adam.as_ref();
            UpdateRule::Adam(AdamImage {
                beta1: q32(beta1),
                beta2: q32(beta2),
                m_bits: a.map_or(32, |a| a.m_bits),
                v_bits: a.map_or(64, |a| a.v_bits),
                groups,
            })
        }
    }
}

/// The e-prop state of `plastic` synapses (and Adam's moments) fits the eligibility
/// unit's memory, or the hardware limit it breaks.
fn state_memory(
    c: &Compilation,
    hw: &EpropEngineConfig,
    rule: &UpdateRule,
    plastic: u64,
) -> Result<(), Error> {
    let adam_bits = match rule {
        UpdateRule::Adam(a) => u64::from(a.m_bits) + u64::from(a.v_bits),
        UpdateRule::Sgd { .. } => 0,
    };
    let need = plastic * (hw.state_bits_per_synapse() + adam_bits);
    if need > hw.eligibility.state_memory_bits {
        return Err(limit(
            c,
            "learning.eprop.eligibility.state_memory_bits",
            format!("the e-prop state of {plastic} plastic synapses"),
            need,
            hw.eligibility.state_memory_bits,
            "use fewer plastic synapses (or no Adam, whose moments take memory too)",
        ));
    }
    Ok(())
}

fn is_eprop(pr: &crate::program::Projection) -> bool {
    pr.learning.as_ref().is_some_and(|l| l.rule.trim() == RULE)
}
