//! The learning phase: traces every step, the learning engine every `epoch` steps.
//!
//! Per core, after delivery and the modulator grid (so the engine reads this step's
//! spikes and the grid as it is at the end of the step):
//!
//! 1. **pre traces**: every plastic row (one input axon = one presynaptic source) steps
//!    its x1 and x2 with its slot's [`TraceParams`]; a packet that reached the row this
//!    step is a pre spike (synaptic delays do not delay traces); the row's `pre` is the
//!    payload of the last packet that reached it in the current epoch (0 if none);
//! 2. **post traces**: per learning slot used on the core, every compartment that a
//!    plastic row of the slot reaches steps y1, y2, y3; a spike emitted this step is a
//!    post spike (graded units, which send payloads, never spike);
//! 3. **epoch**: when `(step + 1) % epoch == 0` the slot's rule runs: post-side products
//!    once per core and slot, then [`PreparedRule::apply_row_with`] per plastic row; the
//!    rows' effective weights (what delivery adds) are re-derived from the mantissas
//!    and exponent; the epoch spike flags x0/y0 and the rows' payloads are cleared.
//!
//! **e-prop slots** (`LearningSlot.eprop`) are not run here: the core's e-prop engine
//! (`learning_eprop`) steps their rows, every step, before this phase.
//!
//! Nothing is allocated per step: each slot keeps its buffers (spike flags, graded
//! outputs, modulator samples, post products, the engine's row scratch) in its
//! [`PostTraces`], and only the compartments the slot's rows reach are read or sampled.
//!
//! Each trace stepped is one `trace_update`, each synapse the engine visits one
//! `synaptic_update`; the core is busy for `trace_update.cycles × traces +
//! synaptic_update.cycles × updates` more cycles this step. Everything is per core, so
//! the phase runs in the parallel per-core loop and no result depends on thread count.

use crate::kernels::NeuronOut;
use crate::state::{CoreState, LearnScratch, PlasticState, PostTraces};
use crate::tables::CoreTable;
use amine_chip::config::CostTable;
use amine_chip::learning::engine::{DrawKey, PostSide, PreSide, PreparedRule, RowMut, Scales};
use amine_chip::learning::eprop::EpropConsts;
use amine_chip::learning::traces::{step as trace_step, TraceParams};
use amine_chip::modgrid::ModGrid;
use amine_chip::neuron::graded::derivative;
use amine_chip::neuron::NeuronParams;
use amine_chip::synapse::{effective_weight, SignMode};

/// A learning slot of the image, ready to run.
#[derive(Debug, Clone)]
pub(crate) struct SlotTable {
    pub rule: PreparedRule,
    /// The image's rule, which [`crate::Simulator::set_learning_rate`] scales.
    pub microcode: amine_chip::learning::RuleProgram,
    pub epoch: u32,
    pub seed: u64,
    /// `[x1, x2, y1, y2, y3]`.
    pub traces: [TraceParams; 5],
    /// Renormalisation limit (`None`: clamp).
    pub max_exponent: Option<i8>,
    /// Modulator channels the rule reads (`0..channels`).
    pub channels: usize,
    /// Which of `[x1, x2, y1, y2, y3]` the rule reads: the engine keeps only those.
    pub reads: [bool; 5],
    /// The rule reads a post spike or trace (y0..y3): otherwise it keeps no post state.
    pub reads_post: bool,
    /// An e-prop slot: the eligibility unit runs instead of the rule.
    pub eprop: Option<EpropConsts>,
    /// A sigprop slot: `m0` is the compartment's pull register (the sigprop unit's),
    /// not the grid.
    pub sigprop: bool,
}

/// One plastic row of a core.
#[derive(Debug, Clone)]
pub(crate) struct PlasticTable {
    pub row: u32,
    /// Index into [`CoreLearn::slots`].
    pub local_slot: usize,
    pub targets: Vec<u32>,
    pub sign: SignMode,
    pub weight_bits: u8,
    pub tag_bits: u8,
    /// The row's source is a graded unit (its packets carry payloads).
    pub graded_source: bool,
}

/// A learning slot as used on one core.
#[derive(Debug, Clone)]
pub(crate) struct CoreSlot {
    /// Index into the simulator's slot tables.
    pub slot: usize,
    /// Indices into [`CoreLearn::rows`].
    pub rows: Vec<usize>,
    /// Compartments reached by the slot's rows, sorted, unique.
    pub targets: Vec<u32>,
}

/// A core's learning tables (empty for a core without plastic rows).
#[derive(Debug, Clone, Default)]
pub(crate) struct CoreLearn {
    pub rows: Vec<PlasticTable>,
    pub slots: Vec<CoreSlot>,
    /// Grid cell each compartment reads the modulator at.
    pub cells: Vec<(u32, u32)>,
    /// Fractional bits of graded payloads on this core (`pre`, `out`, `deriv`).
    pub payload_frac: i32,
    /// The state at step 0.
    pub init_rows: Vec<PlasticState>,
}

/// Run the learning phase of `step` on one core; returns the cycles it took.
#[allow(clippy::too_many_arguments)]
pub(crate) fn learn(
    t: &CoreTable,
    slots: &[SlotTable],
    s: &mut CoreState,
    out: &NeuronOut,
    grid: Option<&ModGrid>,
    modulator_frac: i32,
    step: u32,
    costs: &CostTable,
) -> u64 {
    let l = &t.learn;
    if l.rows.is_empty() {
        return 0;
    }
    let mut traces = 0u64;
    let mut updates = 0u64;
    // 1. Pre traces.
    for (p, ps) in l.rows.iter().zip(s.plastic.iter_mut()) {
        let slot = &slots[l.slots[p.local_slot].slot];
        let (tp, reads) = (&slot.traces, &slot.reads);
        if reads[0] {
            ps.x1 = trace_step(ps.x1, ps.arrived, tp[0], t.trace_bits);
        }
        if reads[1] {
            ps.x2 = trace_step(ps.x2, ps.arrived, tp[1], t.trace_bits);
        }
        ps.x0 |= ps.arrived;
        ps.arrived = false;
        traces += u64::from(reads[0]) + u64::from(reads[1]);
    }
    // 2. Post traces.
    let any_spike = out.emits.iter().any(|e| e.payload == 0);
    for (cs, post) in l.slots.iter().zip(s.post.iter_mut()) {
        let (tp, reads) = (&slots[cs.slot].traces, slots[cs.slot].reads);
        if !slots[cs.slot].reads_post || (!any_spike && !reads[2..].contains(&true)) {
            // Nothing to keep, or no spike and no trace to decay: y0 stays as it is.
            continue;
        }
        let spiked = &mut post.scratch.spiked;
        spiked.resize(t.n, false);
        let spikes = || out.emits.iter().filter(|e| e.payload == 0);
        spikes().for_each(|e| spiked[e.comp as usize] = true);
        for &c in &cs.targets {
            let (c, sp) = (c as usize, spiked[c as usize]);
            post.y0[c] |= sp;
            if reads[2] {
                post.y1[c] = trace_step(post.y1[c], sp, tp[2], t.trace_bits);
            }
            if reads[3] {
                post.y2[c] = trace_step(post.y2[c], sp, tp[3], t.trace_bits);
            }
            if reads[4] {
                post.y3[c] = trace_step(post.y3[c], sp, tp[4], t.trace_bits);
            }
        }
        spikes().for_each(|e| spiked[e.comp as usize] = false);
        let kept = reads[2..].iter().filter(|&&r| r).count() as u64;
        traces += kept * cs.targets.len() as u64;
    }
    // 3. Epochs.
    let scales = Scales {
        payload_frac: l.payload_frac,
        modulator_frac,
    };
    for (li, cs) in l.slots.iter().enumerate() {
        let slot = &slots[cs.slot];
        // e-prop slots are the e-prop engine's (`learning_eprop`).
        if slot.eprop.is_some() {
            continue;
        }
        if !(step + 1).is_multiple_of(slot.epoch) {
            continue;
        }
        let post = &mut s.post[li];
        let epoch = u64::from((step + 1) / slot.epoch - 1);
        let PostTraces {
            y0,
            y1,
            y2,
            y3,
            scratch,
            ..
        } = post;
        let LearnScratch {
            out: outs,
            deriv: derivs,
            modulator,
            products,
            row: row_scratch,
            ..
        } = scratch;
        // Only the compartments the slot's rows reach are read: fill those.
        graded_outputs(t, &s.out, &cs.targets, outs, derivs);
        modulator.resize_with(slot.channels, Vec::new);
        for (ch, m) in modulator.iter_mut().enumerate() {
            m.resize(l.cells.len(), 0);
            for &c in &cs.targets {
                if slot.sigprop {
                    m[c as usize] = if ch == 0 {
                        s.pull.get(c as usize).copied().unwrap_or(0)
                    } else {
                        0
                    };
                } else if let Some(&(x, y)) = l.cells.get(c as usize) {
                    m[c as usize] = grid.and_then(|g| g.sample_bits(ch, x, y).ok()).unwrap_or(0);
                }
            }
        }
        let side = PostSide {
            y0,
            y1,
            y2,
            y3,
            out: outs,
            deriv: derivs,
            modulator,
        };
        slot.rule
            .post_products_into(&side, t.n, Some(&cs.targets), scales, products);
        // Post-gated: every post-side product is 0 (e.g. no modulator anywhere the slot
        // reaches), so no synapse can change: the engine skips the slot's rows.
        if products.all_zero() {
            for &ri in &cs.rows {
                s.plastic[ri].end_epoch();
            }
            y0.iter_mut().for_each(|y| *y = false);
            continue;
        }
        for &ri in &cs.rows {
            let p = &l.rows[ri];
            let ps = &mut s.plastic[ri];
            let pre = PreSide {
                x0: ps.x0,
                x1: ps.x1,
                x2: ps.x2,
                payload: if p.graded_source { ps.payload } else { 0 },
            };
            let outcome = slot.rule.apply_row_with(
                products,
                pre,
                scales,
                row_mut(p, ps, slot.max_exponent),
                DrawKey {
                    seed: slot.seed,
                    epoch,
                    row: (u64::from(t.id) << 32) | u64::from(p.row),
                },
                row_scratch,
            );
            if outcome.updates > 0 {
                refresh_weights(ps);
            }
            updates += outcome.updates;
            // The epoch's pre spike and pre payload end with it.
            ps.end_epoch();
        }
        y0.iter_mut().for_each(|y| *y = false);
    }
    s.counts.trace_update += traces;
    s.counts.synaptic_update += updates;
    traces * costs.trace_update.cycles + updates * costs.synaptic_update.cycles
}

/// The learning engine's view of plastic row `p` in state `ps`.
fn row_mut<'a>(
    p: &'a PlasticTable,
    ps: &'a mut PlasticState,
    max_exponent: Option<i8>,
) -> RowMut<'a> {
    RowMut {
        sign: p.sign,
        weight_bits: p.weight_bits,
        tag_bits: p.tag_bits,
        exponent: &mut ps.exponent,
        max_exponent,
        targets: &p.targets,
        weights: &mut ps.mantissas,
        tags: &mut ps.tags,
    }
}

/// Re-derive a row's effective weights (what delivery adds) from its mantissas.
fn refresh_weights(ps: &mut PlasticState) {
    let e = ps.exponent;
    for (w, &m) in ps.weights.iter_mut().zip(&ps.mantissas) {
        *w = effective_weight(m, e);
    }
}

/// Graded outputs and their derivatives of compartments `reached` (0 for spiking ones)
/// into `outs` and `derivs`, indexed by compartment.
fn graded_outputs(
    t: &CoreTable,
    out: &[u16],
    reached: &[u32],
    outs: &mut Vec<u16>,
    derivs: &mut Vec<u16>,
) {
    outs.resize(t.n, 0);
    derivs.resize(t.n, 0);
    for &c in reached {
        let c = c as usize;
        (outs[c], derivs[c]) = match &t.profiles[t.profile_of[c] as usize] {
            NeuronParams::Graded(g) => (out[c], derivative(out[c], g.table.payload_bits)),
            _ => (0, 0),
        };
    }
}

/// Per-core state of every plastic row and slot at step 0.
pub(crate) fn initial(t: &CoreTable) -> (Vec<PlasticState>, Vec<PostTraces>) {
    let post = t
        .learn
        .slots
        .iter()
        .map(|_| PostTraces {
            y0: vec![false; t.n],
            y1: vec![0; t.n],
            y2: vec![0; t.n],
            y3: vec![0; t.n],
            scratch: LearnScratch::default(),
        })
        .collect();
    (t.learn.init_rows.clone(), post)
}
