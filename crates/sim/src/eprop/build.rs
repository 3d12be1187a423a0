//! The fast backend built from a compiled image: [`EpropCore::from_image`] reads the
//! e-prop core's compartments, synapse rows, fan-out, input port, the e-prop engine's
//! section and the chip's costs, and lays them out for e-prop — synapses by
//! postsynaptic neuron (the eligibility unit's sweep), the same synapses by source
//! (delivery), per-source packet work (latency), readout rows, injectors.
//!
//! It refuses, naming each reason, an image it cannot run bit-identically to the
//! general simulator: more than one core, delays, non-learning rows, neurons other than
//! the e-prop ALIF (`Reset::SubtractBase`) in at most two groups (no adaptation, then
//! adaptation), slots whose constants differ within a group, an input port that is not
//! one `External` port entering at the core's tile, modulator sources.

use crate::error::{Error, ErrorKind};
use crate::population::row_work;
use amine_chip::config::ChipConfig;
use amine_chip::config::CostTable;
use amine_chip::image::eprop::{EpropImage, Injector};
use amine_chip::image::{ChipImage, CoreImage, InputSource};
use amine_chip::learning::eprop::EpropConsts;
use amine_chip::learning::eprop_blocks::power_table;
use amine_chip::learning::error_unit::ErrorUnit;
use amine_chip::learning::update_unit::{Adam, Moments, WeightRule};
use amine_chip::modgrid::ModGrid;
use amine_chip::neuron::alif::{AlifParams, Reset};
use amine_chip::neuron::NeuronParams;
use amine_chip::synapse::{effective_weight, SignMode, SynapseMemory};

/// One synapse-memory row of the image: its draw key, update rule and range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct RowRef {
    /// The slot's seed and the row's draw id `(core id << 32) | row`.
    pub seed: u64,
    pub id: u64,
    pub rule: WeightRule,
    pub range: (i64, i64),
    pub exponent: i8,
}

/// What a packet to one row costs at the core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Packet {
    pub work: u64,
    pub words: u64,
    pub len: u64,
}

/// Cycles the per-step latency needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Timing {
    pub spike_out: u64,
    /// A port packet's path beyond its injection: `(flits − 1)·flit_cycles`.
    pub port_extra: u64,
    pub barrier: u64,
    pub grid_cell: u64,
}

/// The fast backend: structure, registers and weights of the image's e-prop core.
/// Read-only during a batch ([`EpropState`](super::EpropState) holds what a trial
/// changes); [`EpropCore::apply`] changes the weights between batches.
#[derive(Debug, Clone)]
pub struct EpropCore {
    pub(super) program: String,
    pub(super) n: usize,
    /// Compartments `0..n_lif` do not adapt, the rest do.
    pub(super) n_lif: usize,
    pub(super) inputs: usize,
    pub(super) outputs: usize,
    pub(super) params: Vec<AlifParams>,
    pub(super) lif_c: EpropConsts,
    pub(super) alif_c: EpropConsts,
    pub(super) kappa: i64,
    /// Synapses by postsynaptic compartment: row j is `row_start[j]..row_start[j + 1]`,
    /// source `src[s]` (input i as i, compartment c as `inputs + c`).
    pub(super) row_start: Vec<usize>,
    pub(super) src: Vec<u32>,
    /// Mantissas, and the effective weights delivery adds.
    pub(super) w: Vec<i32>,
    pub(super) eff: Vec<i32>,
    /// Per synapse: its image row and its index in that row.
    pub(super) syn_row: Vec<u32>,
    pub(super) syn_idx: Vec<u32>,
    pub(super) rows: Vec<RowRef>,
    /// By source: the synapses it reaches (`out_post`, `out_syn`), and its packets.
    pub(super) out_start: Vec<usize>,
    pub(super) out_post: Vec<u32>,
    pub(super) out_syn: Vec<u32>,
    pub(super) pkt_start: Vec<usize>,
    pub(super) pkt: Vec<Packet>,
    /// Readout synapses of compartment c: `ro_start[c]..ro_start[c + 1]`.
    pub(super) ro_start: Vec<usize>,
    pub(super) ro_unit: Vec<u32>,
    pub(super) w_out: Vec<i32>,
    pub(super) ro_words: Vec<u64>,
    pub(super) ro_range: (i64, i64),
    pub(super) readout_sources: Vec<u32>,
    pub(super) injectors: Vec<Injector>,
    pub(super) cells: Vec<(u32, u32)>,
    pub(super) grid: ModGrid,
    pub(super) grid_frac: u32,
    pub(super) e: EpropImage,
    pub(super) error_unit: ErrorUnit,
    pub(super) rho_pow: Vec<i64>,
    pub(super) kappa_pow: Vec<i64>,
    /// εv registers stepped per step (one per e-prop row).
    pub(super) ev_rows: u64,
    pub(super) timing: Timing,
    pub(super) config: ChipConfig,
    pub(super) readout_rule: WeightRule,
    pub(super) adam: Option<Adam>,
    pub(super) moments: Vec<Moments>,
    pub(super) readout_moments: Vec<Moments>,
    pub(super) words_per_update: u64,
    pub(super) updates: u64,
    /// The hoisted neuron groups and ψ̂ divider of the group step (`None`: the chip's
    /// `AlifState::step` neuron by neuron).
    pub(super) fast: Option<super::bank::Fast>,
}

/// What the checks of [`EpropCore::from_image`] read from the image: the e-prop core,
/// its neurons, each row's source and learning slot, and each group's constants.
struct Checked<'a> {
    e: &'a EpropImage,
    core: &'a CoreImage,
    params: Vec<AlifParams>,
    n_lif: usize,
    /// The port's inputs.
    ni: usize,
    /// Each row's source (input i as i, compartment c as `ni + c`).
    source_of_row: Vec<u32>,
    /// Each source's rows (axons), in fan-out order.
    fan: Vec<Vec<u32>>,
    slot_of_row: Vec<Option<usize>>,
    lif_c: EpropConsts,
    alif_c: EpropConsts,
    /// The constants of a row without an e-prop slot.
    any: EpropConsts,
}

/// The synapses by postsynaptic compartment, with the rows they sit in.
struct ByPost {
    rows: Vec<RowRef>,
    row_start: Vec<usize>,
    src: Vec<u32>,
    w: Vec<i32>,
    eff: Vec<i32>,
    syn_row: Vec<u32>,
    syn_idx: Vec<u32>,
}

/// The same synapses by source.
struct BySource {
    out_start: Vec<usize>,
    out_post: Vec<u32>,
    out_syn: Vec<u32>,
}

impl EpropCore {
    /// The fast backend of `image` on `config`: every reason it cannot run the image is
    /// reported at once (the image must also pass the chip's verifier).
    pub fn from_image(image: &ChipImage, config: &ChipConfig) -> Result<EpropCore, Error> {
        let problems = image.verify(config);
        if !problems.is_empty() {
            return Err(Error::new(ErrorKind::Image {
                chip: config.name.clone(),
                problems,
            }));
        }
        let checked = check(image, config).map_err(|reasons| refuse(image, reasons))?;
        let by_post = by_post(image, config, &checked);
        let by_source = by_source(&by_post, checked.ni + checked.core.compartments.len());
        let packets = packets(&checked.fan, &checked.core.synapses, &config.costs);
        let mut core = assemble(image, config, checked, by_post, by_source, packets)?;
        core.fast = super::bank::Fast::new(&core);
        Ok(core)
    }

    /// The program the image came from.
    pub fn program(&self) -> &str {
        &self.program
    }

    pub fn neurons(&self) -> usize {
        self.n
    }

    /// Neurons without adaptation (the first ones) and with.
    pub fn groups(&self) -> (usize, usize) {
        (self.n_lif, self.n - self.n_lif)
    }

    pub fn inputs(&self) -> usize {
        self.inputs
    }

    pub fn outputs(&self) -> usize {
        self.outputs
    }

    pub fn synapses(&self) -> usize {
        self.w.len()
    }

    /// The image's e-prop section (trial, window, batch, rules).
    pub fn eprop(&self) -> &EpropImage {
        &self.e
    }

    /// The chip configuration the image runs on.
    pub fn config(&self) -> &ChipConfig {
        &self.config
    }

    /// Weight mantissas by postsynaptic compartment.
    pub fn weights(&self) -> &[i32] {
        &self.w
    }

    /// Every synapse as `(image row, index in the row, mantissa)`, in the backend's
    /// order: what the general simulator's plastic rows hold.
    pub fn row_weights(&self) -> impl Iterator<Item = (u32, u32, i32)> + '_ {
        (0..self.w.len()).map(|q| (self.rows_row(q), self.syn_idx[q], self.w[q]))
    }

    /// Every synapse's `(image row, index in the row)`, in the backend's order (that of
    /// [`EpropCore::weights`] and the traces).
    pub fn synapse_rows(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        (0..self.w.len()).map(|q| (self.rows_row(q), self.syn_idx[q]))
    }

    /// The image row (synapse-memory row) of synapse `q`.
    pub(super) fn rows_row(&self, q: usize) -> u32 {
        (self.rows[self.syn_row[q] as usize].id & 0xFFFF_FFFF) as u32
    }

    pub fn readout_weights(&self) -> &[i32] {
        &self.w_out
    }

    /// The first trial step at which ē is kept (the trace gate).
    pub fn ebar_from(&self) -> usize {
        self.e.ebar_from as usize
    }

    /// Cells of the modulator grid in use (`width`, `height`).
    pub fn grid_size(&self) -> (u32, u32) {
        (self.grid.width(), self.grid.height())
    }

    /// The grid cell `(x, y)` of each compartment.
    pub fn cells(&self) -> &[(u32, u32)] {
        &self.cells
    }

    /// The cells of the neurons that inject a learning signal.
    pub fn injector_cells(&self) -> Vec<(u32, u32)> {
        self.injectors.iter().map(|i| i.cell).collect()
    }

    /// Weight updates applied so far.
    pub fn updates(&self) -> u64 {
        self.updates
    }
}

/// The backend's refusal of `image`, with its reasons.
fn refuse(image: &ChipImage, reasons: Vec<String>) -> Error {
    Error::new(ErrorKind::Backend {
        program: image.program.clone(),
        reasons,
    })
}

/// Every reason the backend cannot run `image` (sorted, once each), or what it read.
fn check<'a>(image: &'a ChipImage, config: &ChipConfig) -> Result<Checked<'a>, Vec<String>> {
    let Some(e) = &image.eprop else {
        return Err(vec!["the image has no e-prop section (`eprop`)".into()]);
    };
    let mut why = Vec::new();
    let Some(core) = eprop_core(image, config, e, &mut why) else {
        return Err(why);
    };
    let (params, n_lif) = neuron_groups(core, &mut why);
    let ni = image.inputs.first().map_or(0, |p| p.size as usize);
    let (source_of_row, fan) = sources(image, core, ni);
    let slot_of_row = eprop_slots(image, core, &mut why);
    let group_c = group_consts(image, core, &slot_of_row, n_lif, &mut why);
    why.sort();
    why.dedup();
    if !why.is_empty() {
        return Err(why);
    }
    let any = group_c[0].or(group_c[1]).unwrap_or_else(|| {
        amine_chip::learning::eprop::EpropParams {
            alpha: 0.0,
            rho: 0.0,
            beta: 0.0,
            kappa: 0.0,
            eta: 0.0,
            channel: 0,
            frac_bits: e.frac_bits,
        }
        .consts()
    });
    Ok(Checked {
        e,
        core,
        params,
        n_lif,
        ni,
        source_of_row,
        fan,
        slot_of_row,
        lif_c: group_c[0].unwrap_or(any),
        alif_c: group_c[1].unwrap_or(any),
        any,
    })
}

/// The e-prop core (`None` if the image has no core of that id), with the reasons its
/// cores, input port and modulator refuse the image.
fn eprop_core<'a>(
    image: &'a ChipImage,
    config: &ChipConfig,
    e: &EpropImage,
    why: &mut Vec<String>,
) -> Option<&'a CoreImage> {
    if image.cores.len() != 1 {
        why.push(format!(
            "it runs one-core images; this one has {} cores",
            image.cores.len()
        ));
    }
    let core = image.cores.iter().find(|c| c.id == e.core)?;
    let tile = core.id / config.mesh.cores_per_tile.max(1);
    let port_ok = |p: &amine_chip::image::InputPort| {
        matches!(p.source, InputSource::External)
            && p.entry_tile.1 * config.mesh.tiles_x + p.entry_tile.0 == tile
    };
    if image.inputs.len() != 1 || !image.inputs.iter().all(port_ok) {
        why.push("it needs exactly one input port, `External`, entering at the core's tile".into());
    }
    if !image.modulator.sources.is_empty() {
        why.push("modulator sources besides the e-prop feedback".into());
    }
    Some(core)
}

/// The compartments' ALIF parameters and how many of the first do not adapt, with the
/// reasons the neurons refuse the image.
fn neuron_groups(core: &CoreImage, why: &mut Vec<String>) -> (Vec<AlifParams>, usize) {
    let n = core.compartments.len();
    let params: Vec<Option<AlifParams>> = core
        .compartments
        .iter()
        .map(|&p| match core.profiles.get(p as usize) {
            Some(NeuronParams::Alif(a)) if a.reset == Reset::SubtractBase => Some(*a),
            _ => None,
        })
        .collect();
    if let Some(c) = params.iter().position(|p| p.is_none()) {
        why.push(format!(
            "compartment {c} is not an ALIF with `reset: SubtractBase` (the e-prop neuron)"
        ));
    }
    let params: Vec<AlifParams> = params.into_iter().flatten().collect();
    let n_lif = params.iter().take_while(|p| p.a_inc == 0).count();
    let groups_ok = params.len() == n
        && params[n_lif.min(n)..].iter().all(|p| p.a_inc != 0)
        && params[..n_lif.min(n)].windows(2).all(|w| w[0] == w[1])
        && params[n_lif.min(n)..].windows(2).all(|w| w[0] == w[1])
        && params.windows(2).all(|w| w[0].lif.vth == w[1].lif.vth);
    if !groups_ok {
        why.push(
            "the neurons must be two groups of one profile each with one threshold: no \
             adaptation first, then adaptation"
                .into(),
        );
    }
    (params, n_lif)
}

/// Each row's source — the port's `ni` inputs, then the core's compartments — and each
/// source's rows in fan-out order.
fn sources(image: &ChipImage, core: &CoreImage, ni: usize) -> (Vec<u32>, Vec<Vec<u32>>) {
    let n = core.compartments.len();
    let mut source_of_row = vec![u32::MAX; core.synapses.rows().len()];
    let mut fan: Vec<Vec<u32>> = vec![Vec::new(); ni + n];
    if let Some(p) = image.inputs.first() {
        for (i, f) in fan.iter_mut().enumerate().take(ni) {
            for t in p.fanout_of(i) {
                source_of_row[t.axon as usize] = i as u32;
                f.push(t.axon);
            }
        }
    }
    for c in 0..n {
        for t in core.fanout_of(c) {
            source_of_row[t.axon as usize] = (ni + c) as u32;
            fan[ni + c].push(t.axon);
        }
    }
    (source_of_row, fan)
}

/// Each row's e-prop learning slot, with the reasons the rows refuse the image: every
/// one must learn with e-prop, none may have delays.
fn eprop_slots(image: &ChipImage, core: &CoreImage, why: &mut Vec<String>) -> Vec<Option<usize>> {
    let mem = &core.synapses;
    let mut slot_of_row = vec![None; mem.rows().len()];
    for pr in &core.plastic_rows {
        if image.learning[pr.slot as usize].eprop.is_some() {
            slot_of_row[pr.row as usize] = Some(pr.slot as usize);
        }
    }
    if slot_of_row.iter().any(|s| s.is_none()) {
        why.push("every synapse row must learn with e-prop".into());
    }
    if mem.rows().iter().any(|r| r.format.delay_bits > 0) {
        why.push("synaptic delays".into());
    }
    slot_of_row
}

/// The e-prop constants of a learning slot.
fn slot_consts(image: &ChipImage, slot: usize) -> Option<EpropConsts> {
    image.learning[slot].eprop.map(|p| p.consts())
}

/// The constants of each group (no adaptation, adaptation), with the reasons the slots
/// refuse the image: one α for all, one set of constants (learning rates aside) a group.
fn group_consts(
    image: &ChipImage,
    core: &CoreImage,
    slot_of_row: &[Option<usize>],
    n_lif: usize,
    why: &mut Vec<String>,
) -> [Option<EpropConsts>; 2] {
    let mut group_c: [Option<EpropConsts>; 2] = [None, None];
    let mut alpha = None;
    for (r, slot) in slot_of_row.iter().enumerate() {
        let Some(c) = slot.and_then(|s| slot_consts(image, s)) else {
            continue;
        };
        if *alpha.get_or_insert(c.alpha) != c.alpha {
            why.push("rows filter εv with different α (targets with different τm)".into());
        }
        for s in core.synapses.row_synapses(r as u32) {
            let g = usize::from(s.target as usize >= n_lif);
            let want = group_c[g].get_or_insert(c);
            if *want
                != (EpropConsts {
                    eta_m: want.eta_m,
                    eta_e: want.eta_e,
                    ..c
                })
            {
                why.push(format!(
                    "the slots onto compartment {} have constants other than their group's",
                    s.target
                ));
            }
        }
    }
    group_c
}

/// The rows' draw keys, rules and ranges, and the synapses by postsynaptic compartment
/// (each compartment's sorted by source, row and index).
fn by_post(image: &ChipImage, config: &ChipConfig, c: &Checked) -> ByPost {
    let (core, e, mem) = (c.core, c.e, &c.core.synapses);
    let ordinal = image.eprop_ordinals();
    let grid_frac = config.modulator.format.frac_bits();
    let mut rows = Vec::with_capacity(mem.rows().len());
    let mut by_post: Vec<Vec<(u32, u32, u32, i32)>> = vec![Vec::new(); core.compartments.len()];
    for (r, row) in mem.rows().iter().enumerate() {
        let slot = c.slot_of_row[r].unwrap_or(0);
        let k = slot_consts(image, slot).unwrap_or(c.any);
        rows.push(RowRef {
            seed: image.learning[slot].seed,
            id: (u64::from(core.id) << 32) | r as u64,
            rule: e.synapse_rule(
                ordinal[slot],
                (k.eta_m, k.eta_e),
                i32::from(row.exponent),
                grid_frac,
            ),
            range: amine_chip::learning::engine::weight_range(
                row.format.sign,
                row.format.weight_bits,
            ),
            exponent: row.exponent,
        });
        for (i, s) in mem.row_synapses(r as u32).enumerate() {
            by_post[s.target as usize].push((c.source_of_row[r], r as u32, i as u32, s.weight));
        }
    }
    let mut out = ByPost {
        rows,
        row_start: vec![0],
        src: Vec::new(),
        w: Vec::new(),
        eff: Vec::new(),
        syn_row: Vec::new(),
        syn_idx: Vec::new(),
    };
    for list in &mut by_post {
        list.sort_unstable();
        for &(s, r, i, m) in list.iter() {
            out.src.push(s);
            out.w.push(m);
            out.eff
                .push(effective_weight(m, out.rows[r as usize].exponent));
            out.syn_row.push(r);
            out.syn_idx.push(i);
        }
        out.row_start.push(out.src.len());
    }
    out
}

/// The synapses of `p` by source (`ns` sources), in postsynaptic order within each.
fn by_source(p: &ByPost, ns: usize) -> BySource {
    let (src, row_start) = (&p.src, &p.row_start);
    let n = row_start.len() - 1;
    let mut out_start = vec![0usize; ns + 1];
    for &s in src {
        out_start[s as usize + 1] += 1;
    }
    for s in 0..ns {
        out_start[s + 1] += out_start[s];
    }
    let mut fill = out_start.clone();
    let (mut out_post, mut out_syn) = (vec![0u32; src.len()], vec![0u32; src.len()]);
    for j in 0..n {
        for (q, &s) in src
            .iter()
            .enumerate()
            .take(row_start[j + 1])
            .skip(row_start[j])
        {
            let s = s as usize;
            out_post[fill[s]] = j as u32;
            out_syn[fill[s]] = q as u32;
            fill[s] += 1;
        }
    }
    BySource {
        out_start,
        out_post,
        out_syn,
    }
}

/// Each source's packets in fan-out order (`pkt_start`, `pkt`): the work, words and
/// length of the row each one reaches.
fn packets(fan: &[Vec<u32>], mem: &SynapseMemory, costs: &CostTable) -> (Vec<usize>, Vec<Packet>) {
    let mut pkt_start = vec![0];
    let mut pkt = Vec::new();
    for axons in fan {
        for &a in axons {
            let (words, len) = (
                u64::from(mem.row_words(a)),
                u64::from(mem.rows()[a as usize].len),
            );
            pkt.push(Packet {
                work: row_work(costs, words, len),
                words,
                len,
            });
        }
        pkt_start.push(pkt.len());
    }
    (pkt_start, pkt)
}

/// Cycles of the per-step latency on `config`.
fn timing(config: &ChipConfig) -> Timing {
    let costs = &config.costs;
    Timing {
        spike_out: costs.spike_out.cycles,
        port_extra: u64::from(config.router.spike_packet_flits.saturating_sub(1))
            * config.router.flit_cycles,
        barrier: costs.barrier.for_tiles(1).cycles,
        grid_cell: costs.modulator_cell_update.cycles,
    }
}

/// The backend from the checked image and its layouts, with its readouts, injectors,
/// cells, grid and update unit (`fast` still `None`).
fn assemble(
    image: &ChipImage,
    config: &ChipConfig,
    c: Checked,
    post: ByPost,
    out: BySource,
    (pkt_start, pkt): (Vec<usize>, Vec<Packet>),
) -> Result<EpropCore, Error> {
    let (e, n) = (c.e, c.core.compartments.len());
    let r = &e.readout;
    let ro = r.rows(n, config.core.word_bits);
    let cells = image.modulator.cells_of(c.core.id, n);
    let grid = ModGrid::new(&image.modulator.grid_config(&config.modulator))
        .map_err(|m| refuse(image, vec![format!("the modulator grid: {m}")]))?;
    let len = e.trial_steps as usize;
    let bits = u32::from(e.power_bits);
    let decay = |x: i64| (4096 - (x >> 4)).clamp(0, 4096) as u16;
    let adam = e.adam();
    let words_per_update = config.learning.eprop.as_ref().map_or(1, |hw| {
        hw.words_per_update(adam.is_some(), config.core.word_bits)
    });
    let moments = |len: usize| {
        if adam.is_some() {
            vec![Moments::default(); len]
        } else {
            Vec::new()
        }
    };
    Ok(EpropCore {
        program: image.program.clone(),
        n,
        n_lif: c.n_lif,
        inputs: c.ni,
        outputs: r.units as usize,
        params: c.params,
        lif_c: c.lif_c,
        alif_c: c.alif_c,
        kappa: e.kappa_q16(),
        moments: moments(post.src.len()),
        readout_moments: moments(r.synapses.len()),
        row_start: post.row_start,
        src: post.src,
        w: post.w,
        eff: post.eff,
        syn_row: post.syn_row,
        syn_idx: post.syn_idx,
        rows: post.rows,
        out_start: out.out_start,
        out_post: out.out_post,
        out_syn: out.out_syn,
        pkt_start,
        pkt,
        ro_start: ro.start,
        ro_unit: r.synapses.iter().map(|s| s.unit).collect(),
        w_out: r.synapses.iter().map(|s| s.weight).collect(),
        ro_words: ro.words,
        ro_range: amine_chip::learning::engine::weight_range(SignMode::Signed, r.weight_bits),
        readout_sources: ro.sources,
        injectors: e.feedback.injectors.clone(),
        cells,
        grid,
        grid_frac: config.modulator.format.frac_bits(),
        error_unit: ErrorUnit::new(),
        rho_pow: power_table(decay(c.alif_c.rho), len, bits),
        kappa_pow: power_table(decay(c.alif_c.kappa), len, bits),
        ev_rows: c.core.synapses.rows().len() as u64,
        timing: timing(config),
        config: config.clone(),
        readout_rule: e.readout_rule(),
        adam,
        words_per_update,
        updates: 0,
        e: e.clone(),
        fast: None,
    })
}
