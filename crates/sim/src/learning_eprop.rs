//! The e-prop engine in the general simulator: what a core's e-prop learning engine
//! (`learning.eprop`, docs/eprop.md "The engine") does in a step of an image with an
//! e-prop section, on the core's registers, synapse rows and the modulator grid.
//!
//! One step `t` of a trial (trial step τ), after the neuron update, spike-out and
//! delivery of the step, on the engine's core:
//!
//! 1. **εv** (learning on): every e-prop row steps `εv ← α·εv + (1−α)·x` with `x` the
//!    packet that reached it in the *previous* step — the input the neurons integrated
//!    in this step (a packet acts one step after it is sent).
//! 2. **ψ̂** (learning on) of every compartment the rows reach, from its registers after
//!    the update (the overshoot for one that fired, 0 while refractory).
//! 3. **Readouts** (always): for every compartment that fired and has readout
//!    synapses, its readout row is read (words, one op and one accumulate per synapse);
//!    every unit steps `y ← κ·y + (1 − κ)·drive` (one active neuron update each).
//! 4. **z̄** (learning on, from the trace gate on) of every readout source.
//! 5. **Window** (τ in the learning window): `y` is summed for the host; the error units
//!    compute `err` (one active update each); with learning on, `g_out += err·z̄` per
//!    readout synapse, the grid steps, every injector adds `Σ_k B_k·err_k` at its cell
//!    and every compartment reads its signal m. Outside the window m = 0 and the grid
//!    does not step.
//! 6. **Eligibility** (learning on), compartment by compartment: a quiet one (ψ̂ = 0,
//!    for ALIF also last step's, and m = 0) is skipped under lazy decay and counts an
//!    idle step; otherwise its synapses catch up (εa·ρ^n, ē·κ^n) and step
//!    ([`synapse_step_kind`]).
//!
//! Every trace stepped is a `trace_update`, every readout synapse read a
//! `synapse_word_read`-priced row plus `synaptic_op` and `dendrite_accumulate`; the
//! core is busy for all of it. The host ends a trial ([`end_trial`]: the rate unit adds
//! `c_j·Σe` to g) and a batch ([`update`]: the update unit changes every weight).
//! The fast backend ([`crate::eprop`]) computes exactly this; a property test holds the
//! two bit-identical.

use crate::energy::ChipCounts;
use crate::kernels::NeuronOut;
use crate::state::CoreState;
use crate::tables::CoreTable;
use amine_chip::config::{ChipConfig, CostTable};
use amine_chip::image::eprop::{EpropImage, ErrorKind};
use amine_chip::image::ChipImage;
use amine_chip::learning::eprop::{
    decay_by, psi, synapse_step_kind, EpropConsts, EpropPost, RowKind,
};
use amine_chip::learning::eprop_blocks::{
    injection_bits, power_table, rate_coefficient, readout_next, regularised, zbar_next,
};
use amine_chip::learning::error_unit::ErrorUnit;
use amine_chip::learning::hash_random;
use amine_chip::learning::update_unit::{apply_clamped, Adam, Moments, WeightRule};
use amine_chip::modgrid::ModGrid;
use amine_chip::neuron::alif::AlifState;
use amine_chip::neuron::lif::LifState;
use amine_chip::neuron::NeuronParams;
use amine_chip::synapse::effective_weight;

/// A compartment the e-prop rows reach.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub comp: u32,
    /// Its synapses keep εa (β ≠ 0).
    pub alif: bool,
    pub consts: EpropConsts,
    /// `(plastic row, index in the row)` of every synapse onto it.
    pub syn: Vec<(u32, u32)>,
    /// Power tables of ρ and κ (index into [`EpropTables::powers`]).
    pub rho_pow: usize,
    pub kappa_pow: usize,
}

/// The engine's static tables, decoded once from the image.
#[derive(Debug, Clone)]
pub(crate) struct EpropTables {
    /// Index of the engine's core in the simulator's core tables.
    pub core: usize,
    pub image: EpropImage,
    /// Per plastic row of the core: its slot's constants (`None`: not an e-prop row).
    pub row_consts: Vec<Option<EpropConsts>>,
    /// Per plastic row: how the update unit changes its weights.
    pub row_rule: Vec<WeightRule>,
    /// Per plastic row: the slot's seed and the row's draw id `(core id << 32) | row`.
    pub row_key: Vec<(u64, u64)>,
    pub targets: Vec<Target>,
    /// Readout synapses of compartment c: `image.readout.synapses[readout_off[c]..readout_off[c + 1]]`.
    pub readout_off: Vec<usize>,
    /// Words of each compartment's readout row.
    pub readout_words: Vec<u64>,
    /// Compartments with readout synapses.
    pub readout_sources: Vec<u32>,
    /// Grid cell of each compartment.
    pub cells: Vec<(u32, u32)>,
    pub powers: Vec<Vec<i64>>,
    pub readout_rule: WeightRule,
    pub grid_frac: u32,
    pub words_per_update: u64,
    pub error_unit: ErrorUnit,
}

/// What a trial asks of the error units: a class, or one value per window step (Q.16
/// for readout 0).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum EpropTarget {
    Class(usize),
    Series(Vec<i32>),
}

/// The engine's changing state (plain data: clone it to snapshot).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EpropEngineState {
    /// Steps of the current trial so far.
    pub step: u32,
    pub target: EpropTarget,
    /// Readout values (Q15.16) and their sum over the window so far.
    pub y: Vec<i32>,
    pub y_sum: Vec<i64>,
    pub err: Vec<i32>,
    /// Per compartment: z̄, spikes this trial, ψ̂ now and one step ago, the refractory
    /// counter at the end of the last step, idle steps (lazy decay), the signal m.
    pub zbar: Vec<i32>,
    pub count: Vec<u32>,
    pub psi: Vec<i32>,
    pub psi_prev: Vec<i32>,
    pub refr_last: Vec<u8>,
    pub idle: Vec<u32>,
    /// Readout weights (mantissas) and their gradients over the batch so far.
    pub w_out: Vec<i32>,
    pub g_out: Vec<i64>,
    /// Per plastic row: a packet reached it in the last step.
    pub arrived_prev: Vec<bool>,
    /// Updates applied so far (the draws' epoch).
    pub updates: u64,
    pub adam: Option<Adam>,
    /// Adam's moments per plastic row and synapse, then the readout's.
    pub moments: Vec<Vec<Moments>>,
    pub readout_moments: Vec<Moments>,
    post: EpropPost,
}

impl EpropEngineState {
    /// Whether the per-compartment products have the lengths of `other`'s.
    pub(crate) fn post_fits(&self, other: &EpropEngineState) -> bool {
        let (a, b) = (&self.post, &other.post);
        a.psi.len() == b.psi.len()
            && a.psi_beta.len() == b.psi_beta.len()
            && a.c1.len() == b.c1.len()
            && a.c2.len() == b.c2.len()
            && a.m.len() == b.m.len()
    }
}

/// What [`update`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UpdateStats {
    /// Weights written (plastic synapses and readout weights).
    pub updates: u64,
    /// Mantissas that hit the range limit.
    pub clamped: u64,
    /// Weights whose mantissa changed.
    pub changed: u64,
}

impl EpropTables {
    /// The tables of `image`'s e-prop section, whose core is `cores[core]`.
    pub(crate) fn new(
        config: &ChipConfig,
        image: &ChipImage,
        e: &EpropImage,
        cores: &[CoreTable],
    ) -> Option<EpropTables> {
        let core = cores.iter().position(|c| c.id == e.core)?;
        let t = &cores[core];
        let n = t.n;
        let slot_consts: Vec<Option<EpropConsts>> = image
            .learning
            .iter()
            .map(|l| l.eprop.map(|p| p.consts()))
            .collect();
        let ordinal = image.eprop_ordinals();
        let grid_frac = config.modulator.format.frac_bits();
        let learn = &t.learn;
        let mut row_consts = Vec::new();
        let mut row_rule = Vec::new();
        let mut row_key = Vec::new();
        let mut onto: Vec<Vec<(u32, u32)>> = vec![Vec::new(); n];
        let img_core = image.cores.iter().find(|c| c.id == e.core)?;
        for (ri, p) in learn.rows.iter().enumerate() {
            let slot = learn.slots[p.local_slot].slot;
            let consts = slot_consts.get(slot).copied().flatten();
            let exponent = img_core
                .synapses
                .rows()
                .get(p.row as usize)
                .map_or(0, |r| i32::from(r.exponent));
            let eta = consts.map_or((0, 0), |c| (c.eta_m, c.eta_e));
            row_rule.push(e.synapse_rule(ordinal[slot], eta, exponent, grid_frac));
            row_key.push((
                image.learning[slot].seed,
                (u64::from(t.id) << 32) | u64::from(p.row),
            ));
            row_consts.push(consts);
            if consts.is_some() {
                for (i, &tg) in p.targets.iter().enumerate() {
                    onto[tg as usize].push((ri as u32, i as u32));
                }
            }
        }
        let len = e.trial_steps as usize;
        let bits = u32::from(e.power_bits);
        let mut powers: Vec<(u16, Vec<i64>)> = Vec::new();
        let mut table = |d: u16| match powers.iter().position(|p| p.0 == d) {
            Some(i) => i,
            None => {
                powers.push((d, power_table(d, len, bits)));
                powers.len() - 1
            }
        };
        let decay = |x: i64| (4096 - (x >> 4)).clamp(0, 4096) as u16;
        let mut targets = Vec::new();
        for (j, syn) in onto.into_iter().enumerate() {
            let Some(&(r0, _)) = syn.first() else {
                continue;
            };
            let Some(consts) = row_consts[r0 as usize] else {
                continue;
            };
            targets.push(Target {
                comp: j as u32,
                alif: consts.keeps_eps_a(),
                consts,
                rho_pow: table(decay(consts.rho)),
                kappa_pow: table(decay(consts.kappa)),
                syn,
            });
        }
        let rows = e.readout.rows(n, config.core.word_bits);
        let cells = image.modulator.cells_of(e.core, n);
        let words_per_update = config.learning.eprop.as_ref().map_or(1, |hw| {
            hw.words_per_update(e.adam().is_some(), config.core.word_bits)
        });
        Some(EpropTables {
            core,
            readout_rule: e.readout_rule(),
            image: e.clone(),
            row_consts,
            row_rule,
            row_key,
            targets,
            readout_off: rows.start,
            readout_words: rows.words,
            readout_sources: rows.sources,
            cells,
            powers: powers.into_iter().map(|p| p.1).collect(),
            grid_frac,
            words_per_update,
            error_unit: ErrorUnit::new(),
        })
    }

    /// The engine's state before the first trial.
    pub(crate) fn initial_state(&self, rows: &[crate::state::PlasticState]) -> EpropEngineState {
        let n = self.cells.len();
        let units = self.image.readout.units as usize;
        let mut post = EpropPost::default();
        post.resize(n);
        let adam = self.image.adam();
        EpropEngineState {
            step: 0,
            target: EpropTarget::Class(0),
            y: vec![0; units],
            y_sum: vec![0; units],
            err: vec![0; units],
            zbar: vec![0; n],
            count: vec![0; n],
            psi: vec![0; n],
            psi_prev: vec![0; n],
            refr_last: vec![0; n],
            idle: vec![0; n],
            w_out: self
                .image
                .readout
                .synapses
                .iter()
                .map(|s| s.weight)
                .collect(),
            g_out: vec![0; self.image.readout.synapses.len()],
            arrived_prev: vec![false; rows.len()],
            updates: 0,
            moments: match adam {
                Some(_) => rows
                    .iter()
                    .map(|r| vec![Moments::default(); r.mantissas.len()])
                    .collect(),
                None => Vec::new(),
            },
            readout_moments: match adam {
                Some(_) => vec![Moments::default(); self.image.readout.synapses.len()],
                None => Vec::new(),
            },
            adam,
            post,
        }
    }
}

/// `(core cycles, grid cycles)` of one step of the engine.
#[allow(clippy::too_many_arguments)]
pub(crate) fn step(
    tab: &EpropTables,
    t: &CoreTable,
    s: &mut CoreState,
    e: &mut EpropEngineState,
    out: &NeuronOut,
    grid: Option<&mut ModGrid>,
    learn: bool,
    costs: &CostTable,
    chip: &mut ChipCounts,
) -> (u64, u64) {
    let img = &tab.image;
    let tau = e.step;
    e.step += 1;
    let before = s.counts;
    let in_window = (img.window.0..img.window.1).contains(&tau);
    let gate_on = tau >= img.ebar_from;
    let spiked = |c: u32| {
        out.emits
            .binary_search_by_key(&c, |x| x.comp)
            .is_ok_and(|i| out.emits[i].payload == 0)
    };
    for em in out.emits.iter().filter(|x| x.payload == 0) {
        if let Some(c) = e.count.get_mut(em.comp as usize) {
            *c += 1;
        }
    }
    // 1. εv with last step's arrivals; this step's become the next step's.
    if learn {
        for (ri, ps) in s.plastic.iter_mut().enumerate() {
            if let Some(c) = &tab.row_consts[ri] {
                ps.eprop.step_pre(e.arrived_prev[ri], c);
                s.counts.trace_update += 1;
            }
        }
    }
    for (a, ps) in e.arrived_prev.iter_mut().zip(&s.plastic) {
        *a = ps.arrived;
    }
    // 2. ψ̂.
    if learn {
        for tg in &tab.targets {
            let j = tg.comp as usize;
            e.psi_prev[j] = e.psi[j];
            e.psi[j] = psi_of(t, s, j, spiked(tg.comp), e.refr_last[j] > 0, &tg.consts);
            e.refr_last[j] = s.refractory[j];
        }
    }
    // 3. Readouts.
    let r = &img.readout;
    let kappa = img.kappa_q16();
    let mut drive = vec![0i64; e.y.len()];
    for em in out.emits.iter().filter(|x| x.payload == 0) {
        let c = em.comp as usize;
        let (lo, hi) = (tab.readout_off[c], tab.readout_off[c + 1]);
        if lo == hi {
            continue;
        }
        for q in lo..hi {
            let unit = r.synapses[q].unit as usize;
            drive[unit] += i64::from(e.w_out[q]);
        }
        s.counts.synapse_word_read += tab.readout_words[c];
        s.counts.synaptic_op += (hi - lo) as u64;
        s.counts.dendrite_accumulate += (hi - lo) as u64;
    }
    for (y, d) in e.y.iter_mut().zip(&drive) {
        *y = readout_next(*y, d << r.exponent, kappa);
    }
    s.counts.neuron_active += e.y.len() as u64;
    // 4. z̄.
    if learn && gate_on {
        for &c in &tab.readout_sources {
            e.zbar[c as usize] = zbar_next(e.zbar[c as usize], spiked(c), kappa);
        }
        s.counts.trace_update += tab.readout_sources.len() as u64;
    }
    // 5. The window.
    let mut grid_cycles = 0;
    for tg in &tab.targets {
        e.post.m[tg.comp as usize] = 0;
    }
    if in_window {
        for (acc, &y) in e.y_sum.iter_mut().zip(&e.y) {
            *acc += i64::from(y);
        }
        window_errors(
            img.error,
            &tab.error_unit,
            &e.target,
            (tau - img.window.0) as usize,
            &e.y,
            &mut e.err,
        );
        s.counts.neuron_active += e.y.len() as u64;
        if learn {
            for (q, syn) in r.synapses.iter().enumerate() {
                let err = i64::from(e.err[syn.unit as usize]);
                e.g_out[q] =
                    e.g_out[q].saturating_add(err * i64::from(e.zbar[syn.compartment as usize]));
            }
            s.counts.trace_update += r.synapses.len() as u64;
            if let Some(grid) = grid {
                let ch = img.feedback.channel as usize;
                grid.step();
                for inj in &img.feedback.injectors {
                    let bits = injection_bits(&inj.weights, &e.err, tab.grid_frac);
                    let _ = grid.inject_bits(ch, inj.cell.0, inj.cell.1, bits);
                }
                let updates = grid.cell_updates_per_step();
                chip.modulator_cell_update += updates;
                grid_cycles = updates * costs.modulator_cell_update.cycles;
                for tg in &tab.targets {
                    let (x, y) = tab.cells[tg.comp as usize];
                    e.post.m[tg.comp as usize] = grid.sample_bits(ch, x, y).unwrap_or(0);
                }
            }
        }
    }
    // 6. Eligibility.
    if learn {
        eligibility(tab, s, e, gate_on);
    }
    (s.counts.since(&before).serial_cycles(costs), grid_cycles)
}

/// ψ̂ of compartment `j` after this step's update.
fn psi_of(
    t: &CoreTable,
    s: &CoreState,
    j: usize,
    fired: bool,
    was_refractory: bool,
    c: &EpropConsts,
) -> i32 {
    let (thr, adapt, overshoot) = match &t.profiles[t.profile_of[j] as usize] {
        NeuronParams::Lif(p) => (p.threshold(), 0, 0),
        NeuronParams::Alif(p) => {
            let st = AlifState {
                lif: LifState {
                    v: s.v[j],
                    ..LifState::default()
                },
                a: s.a[j],
            };
            (p.lif.threshold(), s.a[j], st.overshoot_at_spike(p))
        }
        NeuronParams::Graded(_) => (0, 0, 0),
    };
    let (thr, adapt) = (i64::from(thr), i64::from(adapt));
    if fired {
        psi(overshoot, 0, false, thr, c)
    } else {
        psi(i64::from(s.v[j]), thr + adapt, was_refractory, thr, c)
    }
}

/// Step 6: every target's synapses, skipping (lazily) the quiet ones.
fn eligibility(tab: &EpropTables, s: &mut CoreState, e: &mut EpropEngineState, gate_on: bool) {
    let lazy = tab.image.lazy_decay;
    let pow_bits = u32::from(tab.image.power_bits);
    for tg in &tab.targets {
        let j = tg.comp as usize;
        let (psi_j, pp, m) = (e.psi[j], e.psi_prev[j], e.post.m[j]);
        let quiet = psi_j == 0 && m == 0 && !(tg.alif && pp != 0);
        if quiet && (lazy || (!tg.alif && !gate_on)) {
            if tg.alif || gate_on {
                e.idle[j] += 1;
            }
            continue;
        }
        let len = tg.syn.len() as u64;
        let idle = std::mem::take(&mut e.idle[j]) as usize;
        if idle > 0 {
            let rp = &tab.powers[tg.rho_pow];
            let kp = &tab.powers[tg.kappa_pow];
            let (rp, kp) = (rp[idle.min(rp.len() - 1)], kp[idle.min(kp.len() - 1)]);
            for &(ri, i) in &tg.syn {
                let row = &mut s.plastic[ri as usize].eprop;
                if tg.alif {
                    row.eps_a[i as usize] = decay_by(row.eps_a[i as usize], rp, pow_bits);
                }
                if gate_on {
                    row.ebar[i as usize] = decay_by(row.ebar[i as usize], kp, pow_bits);
                }
            }
            s.counts.trace_update += len * (u64::from(tg.alif) + u64::from(gate_on));
        }
        tg.consts.post_at(&mut e.post, j, psi_j, pp, m);
        let rs = tg.consts.row_step(&e.post, j);
        let grad = gate_on && m != 0;
        let kind = RowKind {
            alif: tg.alif,
            ebar: gate_on,
            grad,
        };
        for &(ri, i) in &tg.syn {
            let row = &mut s.plastic[ri as usize].eprop;
            let i = i as usize;
            let ev = [row.ev, row.ev_prev];
            synapse_step_kind(
                &rs,
                kind,
                ev,
                &mut row.eps_a[i],
                &mut row.ebar[i],
                &mut row.esum[i],
                &mut row.g[i],
            );
        }
        let per = 1 + u64::from(tg.alif) + u64::from(gate_on) + u64::from(grad);
        s.counts.trace_update += per * len + 1;
    }
}

/// The error units at window step `w`: `err` from the readouts `y` and the trial's
/// target. Shared by the fast backend.
pub fn window_errors(
    kind: ErrorKind,
    unit: &ErrorUnit,
    target: &EpropTarget,
    w: usize,
    y: &[i32],
    err: &mut [i32],
) {
    match (kind, target) {
        (ErrorKind::Softmax, EpropTarget::Class(label)) => unit.softmax_error(y, *label, err),
        (ErrorKind::Regression, EpropTarget::Series(v)) => {
            err.fill(0);
            if let (Some(e0), Some(&y0)) = (err.first_mut(), y.first()) {
                *e0 = ErrorUnit::regression_error(y0, v.get(w).copied().unwrap_or(0));
            }
        }
        _ => err.fill(0),
    }
}

/// The host starts a trial: the trial reset (neurons, accumulators, traces, readouts,
/// the grid) and the error units' target.
pub(crate) fn begin_trial(
    s: &mut CoreState,
    e: &mut EpropEngineState,
    grid: Option<&mut ModGrid>,
    target: EpropTarget,
) {
    for x in [&mut s.u, &mut s.v, &mut s.a, &mut s.acc] {
        x.fill(0);
    }
    s.refractory.fill(0);
    s.out.fill(0);
    s.touched.fill(false);
    for ps in &mut s.plastic {
        ps.arrived = false;
        let r = &mut ps.eprop;
        (r.ev, r.ev_prev) = (0, 0);
        r.eps_a.fill(0);
        r.ebar.fill(0);
        r.esum.fill(0);
    }
    e.step = 0;
    e.target = target;
    for x in [
        &mut e.y,
        &mut e.err,
        &mut e.zbar,
        &mut e.psi,
        &mut e.psi_prev,
    ] {
        x.fill(0);
    }
    e.y_sum.fill(0);
    e.count.fill(0);
    e.refr_last.fill(0);
    e.idle.fill(0);
    e.arrived_prev.fill(false);
    if let Some(g) = grid {
        g.clear();
    }
}

/// The host ends a trial: with learning on, the rate unit adds `c_j·Σe` to the gradient
/// of every synapse onto neuron j (one trace update each). Returns the cycles.
pub(crate) fn end_trial(
    tab: &EpropTables,
    s: &mut CoreState,
    e: &EpropEngineState,
    learn: bool,
    costs: &CostTable,
) -> u64 {
    let Some(reg) = tab.image.regulariser.as_ref().filter(|_| learn) else {
        return 0;
    };
    let mut n = 0u64;
    for tg in &tab.targets {
        let c = rate_coefficient(reg, e.count[tg.comp as usize]);
        for &(ri, i) in &tg.syn {
            let row = &mut s.plastic[ri as usize].eprop;
            row.g[i as usize] = regularised(row.g[i as usize], c, row.esum[i as usize]);
        }
        n += tg.syn.len() as u64;
    }
    s.counts.trace_update += n;
    n * costs.trace_update.cycles
}

/// The host ends a batch: the update unit changes every plastic weight and every
/// readout weight by its rule and clears the gradients. Returns what it did and the
/// cycles (one `synaptic_update` per memory word touched).
pub(crate) fn update(
    tab: &EpropTables,
    t: &CoreTable,
    s: &mut CoreState,
    e: &mut EpropEngineState,
    costs: &CostTable,
) -> (UpdateStats, u64) {
    let epoch = e.updates;
    e.updates += 1;
    let at = e.adam.as_mut().map(|a| a.tick());
    let unit = e.adam.as_ref().zip(at);
    let mut st = UpdateStats::default();
    for (ri, ps) in s.plastic.iter_mut().enumerate() {
        if tab.row_consts[ri].is_none() {
            continue;
        }
        let p = &t.learn.rows[ri];
        let range = amine_chip::learning::engine::weight_range(p.sign, p.weight_bits);
        let (seed, row) = tab.row_key[ri];
        let rule = tab.row_rule[ri];
        let mut none = Moments::default();
        for i in 0..ps.mantissas.len() {
            let mo = match e.moments.get_mut(ri).and_then(|m| m.get_mut(i)) {
                Some(m) => m,
                None => &mut none,
            };
            let g = std::mem::take(&mut ps.eprop.g[i]);
            let d = rule.delta(g, mo, unit, hash_random(seed, epoch, row, i as u64));
            record(&mut st, &mut ps.mantissas[i], d, range);
        }
        let x = ps.exponent;
        for (w, &m) in ps.weights.iter_mut().zip(&ps.mantissas) {
            *w = effective_weight(m, x);
        }
    }
    let bits = tab.image.readout.weight_bits;
    let range =
        amine_chip::learning::engine::weight_range(amine_chip::synapse::SignMode::Signed, bits);
    let mut none = Moments::default();
    for q in 0..e.w_out.len() {
        let mo = match e.readout_moments.get_mut(q) {
            Some(m) => m,
            None => &mut none,
        };
        let g = std::mem::take(&mut e.g_out[q]);
        let d = tab.readout_rule.delta(
            g,
            mo,
            unit,
            hash_random(tab.image.update.seed, epoch, u64::MAX, q as u64),
        );
        record(&mut st, &mut e.w_out[q], d, range);
    }
    let words = st.updates * tab.words_per_update;
    s.counts.synaptic_update += words;
    (st, words * costs.synaptic_update.cycles)
}

pub(crate) fn record(st: &mut UpdateStats, w: &mut i32, d: i64, range: (i64, i64)) {
    st.updates += 1;
    if d == 0 {
        return;
    }
    let (new, clamped) = apply_clamped(*w, d, range);
    st.clamped += u64::from(clamped);
    st.changed += u64::from(new != *w);
    *w = new;
}
