//! Static tables decoded once from a chip image: what the stepping code reads.
//!
//! Synapse memory is decoded into CSR arrays (row offsets, targets, effective weights,
//! delays) so the delivery loop is a plain indexed add; fan-out targets are turned
//! from core ids into core indices; every compartment gets its population and neuron
//! number for the raster. Nothing here changes while a simulation runs.

use crate::learning::{CoreLearn, CoreSlot, PlasticTable, SlotTable};
use crate::state::PlasticState;
use crate::synapses::Synapses;
use amine_chip::config::ChipConfig;
use amine_chip::image::{AxonTarget, ChipImage, CoreImage, InputSource, PopTarget};
use amine_chip::learning::engine::PreparedRule;
use amine_chip::learning::eprop::EpropRow;
use amine_chip::learning::Var;
use amine_chip::neuron::NeuronParams;
use amine_chip::synapse::effective_weight;
use rayon::prelude::*;

/// A fan-out target: input axon `axon` of the core at index `core` of the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Dest {
    pub core: u32,
    pub axon: u32,
    /// The destination core's tile and the cycles of work the packet causes there,
    /// copied here so that sending a packet reads only the fan-out list.
    pub tile: u32,
    pub work: u32,
}

/// One synapse row (input axon) of a core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RowInfo {
    /// First synapse in [`CoreTable::synapses`].
    pub start: u32,
    pub len: u32,
    /// Synapse-memory words the row occupies (word reads to fetch it).
    pub words: u32,
    /// Cycles of synaptic work a packet to this row causes at the core:
    /// `axon_in + words · synapse_word_read + len · (synaptic_op + dendrite_accumulate)`.
    pub work: u32,
}

/// One core's static contents.
#[derive(Debug, Clone)]
pub(crate) struct CoreTable {
    pub id: u32,
    pub tile: u32,
    pub n: usize,
    pub profiles: Vec<NeuronParams>,
    /// Whether a profile has a non-zero bias (its compartments always have work).
    pub profile_biased: Vec<bool>,
    pub profile_of: Vec<u16>,
    /// Every profile is LIF: `lif_dense` holds them all and the LIF-only loop runs.
    pub all_lif: bool,
    /// Some compartment is an event-driven graded unit (delivery marks `touched`).
    pub event_driven: bool,
    pub lif_dense: Vec<LifFast>,
    /// Per input axon: where its row lies and what it costs, in one 16-byte record so a
    /// packet's row costs one cache miss, shared by timing and delivery.
    pub rows: Vec<RowInfo>,
    /// `(target, effective weight)` of every synapse, interleaved so that a row is one
    /// sequential stream (the delivery loop is bound by fetching rows from memory), in
    /// the narrowest layout the core's formats allow (`synapses`).
    pub synapses: Synapses,
    /// Empty when every delay of the core is 0 (the fast path).
    pub delays: Vec<u8>,
    pub fan_off: Vec<u32>,
    pub fan: Vec<Dest>,
    /// `(population index, neuron)` of each compartment; `u32::MAX` if none.
    pub neuron_of: Vec<(u32, u32)>,
    /// Per input axon, the index of its plastic row in [`CoreLearn::rows`] (`u32::MAX`
    /// if it does not learn); empty when the core has no plastic rows.
    pub plastic_of: Vec<u32>,
    /// Width of the learning traces.
    pub trace_bits: u8,
    pub learn: CoreLearn,
}

/// One input port's static contents.
#[derive(Debug, Clone)]
pub(crate) struct PortTable {
    pub name: String,
    pub size: u32,
    pub tile: u32,
    pub source: InputSource,
    pub fan_off: Vec<u32>,
    pub fan: Vec<Dest>,
}

/// A compartment that injects into the modulator grid.
#[derive(Debug, Clone)]
pub(crate) struct ModSourceTable {
    pub core: usize,
    pub compartment: u32,
    pub channel: usize,
    pub gain: f64,
    pub cell: (u32, u32),
    /// Broadcast rectangle `(width, height)` from `cell`; `(1, 1)` for one cell.
    pub region: (u32, u32),
}

/// Everything static about a run.
#[derive(Debug, Clone)]
pub(crate) struct Tables {
    pub cores: Vec<CoreTable>,
    pub ports: Vec<PortTable>,
    /// Accumulator slots per compartment: a power of two above the largest delay.
    pub slots: usize,
    pub tiles_in_use: u32,
    pub mod_sources: Vec<ModSourceTable>,
    pub population_names: Vec<String>,
    pub population_sizes: Vec<u32>,
    /// Per population, per neuron: (core index, compartment).
    pub population_sites: Vec<Vec<(usize, u32)>>,
    /// The image's learning slots.
    pub learning: Vec<SlotTable>,
    /// The factor the rules in `learning` are scaled by (1: the image's).
    pub rate_scale: f64,
    /// Fractional bits of a modulator concentration.
    pub modulator_frac: i32,
    /// The e-prop engine's tables (an image with an e-prop section).
    pub eprop: Option<crate::learning_eprop::EpropTables>,
    /// The sigprop learning unit's tables (an image with a sigprop section).
    pub sigprop: Option<crate::learning_sigprop::SigpropTables>,
}

/// Tile of a core id.
pub(crate) fn tile_of(config: &ChipConfig, id: u32) -> u32 {
    id / config.mesh.cores_per_tile
}

impl Tables {
    /// Decode a verified image. Must only be called after `image.verify(config)` found
    /// nothing, which guarantees every index below is in range.
    pub fn new(config: &ChipConfig, image: &ChipImage) -> Tables {
        let mut index_of = vec![u32::MAX; config.cores() as usize];
        for (k, c) in image.cores.iter().enumerate() {
            index_of[c.id as usize] = k as u32;
        }
        let dest = |t: &AxonTarget| Dest {
            core: index_of[t.core as usize],
            axon: t.axon,
            tile: 0,
            work: 0,
        };
        // Decoding each core's synapse memory is the bulk of the work: cores in parallel
        // (each decodes its own memory), collected in image order.
        let decoded: Vec<_> = image
            .cores
            .par_iter()
            .map(|c| core_table(config, c, dest))
            .collect();
        let max_delay = decoded.iter().map(|d| d.2).max().unwrap_or(0);
        let (mut cores, mut pop_index) = (Vec::new(), Vec::new());
        for (tab, index, _) in decoded {
            cores.push(tab);
            pop_index.push(index);
        }
        // Population fan-out: each target resolved to the addressed row of its atom.
        let pop_dest = |t: &PopTarget| {
            let k = index_of[t.core as usize];
            Dest {
                core: k,
                axon: pop_index[k as usize].row(t.axon, t.atom),
                tile: 0,
                work: 0,
            }
        };
        for (c, tab) in image.cores.iter().zip(cores.iter_mut()) {
            if let Some(p) = &c.population {
                (tab.fan_off, tab.fan) =
                    crate::population::merge(&tab.fan_off, &tab.fan, &p.fanout, pop_dest);
            }
        }
        let population_sites = place_neurons(image, &index_of, &mut cores);
        let tiles: Vec<u32> = cores.iter().map(|c| c.tile).collect();
        let works: Vec<Vec<u32>> = cores
            .iter()
            .map(|c| c.rows.iter().map(|r| r.work).collect())
            .collect();
        let fix = |d: &mut Dest| {
            d.tile = tiles[d.core as usize];
            d.work = works[d.core as usize][d.axon as usize];
        };
        for c in &mut cores {
            c.fan.iter_mut().for_each(fix);
        }
        let ports = port_tables(config, image, dest, pop_dest, fix);
        let mut tiles: Vec<u32> = cores.iter().map(|c| c.tile).collect();
        tiles.dedup();
        let mod_sources = mod_source_tables(image, &index_of);
        let learning = learning_tables(config, image, &mut cores);
        let eprop = image
            .eprop
            .as_ref()
            .and_then(|e| crate::learning_eprop::EpropTables::new(config, image, e, &cores));
        let sigprop = crate::learning_sigprop::SigpropTables::new(config, image, &population_sites);
        Tables {
            eprop,
            sigprop,
            learning,
            rate_scale: 1.0,
            modulator_frac: config.modulator.format.frac_bits() as i32,
            cores,
            ports,
            slots: (max_delay as usize + 1).next_power_of_two(),
            tiles_in_use: tiles.len() as u32,
            mod_sources,
            population_names: image.populations.iter().map(|p| p.name.clone()).collect(),
            population_sizes: image.populations.iter().map(|p| p.size).collect(),
            population_sites,
        }
    }
}

/// One core decoded: its table (fan-out through `dest`, populations, plastic rows and
/// learning still to fill in), the index of its population rows and its largest delay.
fn core_table(
    config: &ChipConfig,
    c: &CoreImage,
    dest: impl Fn(&AxonTarget) -> Dest,
) -> (CoreTable, crate::population::PopIndex, u8) {
    let ((rows, synapses, delays), index) = crate::population::addressed(c, &config.costs);
    let max_d = delays.iter().copied().max().unwrap_or(0);
    let tab = CoreTable {
        id: c.id,
        tile: tile_of(config, c.id),
        n: c.compartments.len(),
        profile_biased: c.profiles.iter().map(biased).collect(),
        profiles: c.profiles.clone(),
        profile_of: c.compartments.clone(),
        all_lif: c.profiles.iter().all(|p| LifFast::of(p).is_some()),
        event_driven: c
            .profiles
            .iter()
            .any(|p| matches!(p, NeuronParams::Graded(g) if g.event_driven)),
        lif_dense: c.profiles.iter().filter_map(LifFast::of).collect(),
        rows,
        synapses,
        delays: if max_d == 0 { Vec::new() } else { delays },
        fan_off: c.fanout_offsets.clone(),
        fan: c.fanout.iter().map(dest).collect(),
        neuron_of: vec![(u32::MAX, u32::MAX); c.compartments.len()],
        plastic_of: Vec::new(),
        trace_bits: config.learning.trace_bits,
        learn: CoreLearn::default(),
    };
    (tab, index, max_d)
}

/// Each population's neurons placed: every compartment learns its `(population,
/// neuron)` (in `cores`); returned, per population, each neuron's `(core index,
/// compartment)`.
fn place_neurons(
    image: &ChipImage,
    index_of: &[u32],
    cores: &mut [CoreTable],
) -> Vec<Vec<(usize, u32)>> {
    let mut population_sites: Vec<Vec<(usize, u32)>> = image
        .populations
        .iter()
        .map(|p| vec![(0, 0); p.size as usize])
        .collect();
    for (pi, pop) in image.populations.iter().enumerate() {
        for b in &pop.blocks {
            let k = index_of[b.core as usize] as usize;
            let core = &mut cores[k];
            for i in 0..b.count {
                core.neuron_of[(b.first_compartment + i) as usize] =
                    (pi as u32, b.first_neuron + i);
                if let Some(site) = population_sites[pi].get_mut((b.first_neuron + i) as usize) {
                    *site = (k, b.first_compartment + i);
                }
            }
        }
    }
    population_sites
}

/// The input ports: fan-out resolved through `dest` and `pop_dest`, each target's tile
/// and work filled in by `fix`.
fn port_tables(
    config: &ChipConfig,
    image: &ChipImage,
    dest: impl Fn(&AxonTarget) -> Dest,
    pop_dest: impl Fn(&PopTarget) -> Dest + Copy,
    fix: impl Fn(&mut Dest) + Copy,
) -> Vec<PortTable> {
    image
        .inputs
        .iter()
        .map(|p| {
            let mut fan_off = p.fanout_offsets.clone();
            let mut fan: Vec<Dest> = p.fanout.iter().map(&dest).collect();
            if let Some(pf) = &p.pop_fanout {
                (fan_off, fan) = crate::population::merge(&fan_off, &fan, pf, pop_dest);
            }
            fan.iter_mut().for_each(fix);
            PortTable {
                name: p.name.clone(),
                size: p.size,
                tile: p.entry_tile.1 * config.mesh.tiles_x + p.entry_tile.0,
                source: p.source.clone(),
                fan_off,
                fan,
            }
        })
        .collect()
}

/// The compartments that inject into the modulator grid.
fn mod_source_tables(image: &ChipImage, index_of: &[u32]) -> Vec<ModSourceTable> {
    image
        .modulator
        .sources
        .iter()
        .map(|s| ModSourceTable {
            core: index_of[s.core as usize] as usize,
            compartment: s.compartment,
            channel: s.channel as usize,
            gain: s.gain,
            cell: s.cell,
            region: s.region.unwrap_or((1, 1)),
        })
        .collect()
}

/// The learning slots, and each core's plastic rows, slots and modulator cells.
fn learning_tables(
    config: &ChipConfig,
    image: &ChipImage,
    cores: &mut [CoreTable],
) -> Vec<SlotTable> {
    let slots = slot_tables(config, image);
    let graded_rows = graded_rows(image, cores);
    for (c, tab) in image.cores.iter().zip(cores.iter_mut()) {
        if c.plastic_rows.is_empty() {
            continue;
        }
        let mut learn = CoreLearn {
            payload_frac: tab
                .profiles
                .iter()
                .find_map(|p| match p {
                    NeuronParams::Graded(g) => Some(g.table.payload_bits as i32),
                    _ => None,
                })
                .unwrap_or(8),
            ..CoreLearn::default()
        };
        tab.plastic_of = plastic_rows(image, c, &graded_rows, &mut learn);
        learn.cells = modulator_cells(config, image, c, tab);
        tab.learn = learn;
    }
    slots
}

/// The image's learning slots, each rule prepared for the engine.
fn slot_tables(config: &ChipConfig, image: &ChipImage) -> Vec<SlotTable> {
    image
        .learning
        .iter()
        .enumerate()
        .map(|(i, l)| SlotTable {
            sigprop: image.sigprop.as_ref().is_some_and(|s| s.drives(i)),
            rule: PreparedRule::new(&l.microcode),
            microcode: l.microcode.clone(),
            epoch: l.epoch.max(1),
            seed: l.seed,
            traces: [l.x1, l.x2, l.y1, l.y2, l.y3],
            max_exponent: l.renormalise.then_some(config.core.weight_exponent_max),
            channels: match &l.eprop {
                Some(e) => usize::from(e.channel) + 1,
                None => l.microcode.max_channel().map_or(0, |k| k as usize + 1),
            },
            eprop: l.eprop.map(|e| e.consts()),
            reads: {
                let vars: Vec<Var> = l.microcode.vars().collect();
                [Var::X1, Var::X2, Var::Y1, Var::Y2, Var::Y3].map(|v| vars.contains(&v))
            },
            reads_post: l
                .microcode
                .vars()
                .any(|v| matches!(v, Var::Y0 | Var::Y1 | Var::Y2 | Var::Y3)),
        })
        .collect()
}

/// The `(core id, row)` of every row fed by a graded unit or port, sorted: their
/// packets carry payloads (the rule's `pre`).
fn graded_rows(image: &ChipImage, cores: &[CoreTable]) -> Vec<(u32, u32)> {
    let mut graded_rows: Vec<(u32, u32)> = Vec::new();
    for (c, tab) in image.cores.iter().zip(cores.iter()) {
        for comp in 0..tab.n {
            if matches!(
                tab.profiles[tab.profile_of[comp] as usize],
                NeuronParams::Graded(_)
            ) {
                graded_rows.extend(c.fanout_of(comp).iter().map(|d| (d.core, d.axon)));
            }
        }
    }
    for port in &image.inputs {
        if matches!(port.source, InputSource::Graded { .. }) {
            graded_rows.extend(port.fanout.iter().map(|d| (d.core, d.axon)));
        }
    }
    graded_rows.sort_unstable();
    graded_rows
}

/// Core `c`'s plastic rows and their slots added to `learn`, with each row's initial
/// state; returned, per input axon, the index of its plastic row (`u32::MAX` if none).
fn plastic_rows(
    image: &ChipImage,
    c: &CoreImage,
    graded_rows: &[(u32, u32)],
    learn: &mut CoreLearn,
) -> Vec<u32> {
    let mem = &c.synapses;
    let mut plastic_of = vec![u32::MAX; mem.rows().len()];
    for pr in &c.plastic_rows {
        let local_slot = match learn.slots.iter().position(|s| s.slot == pr.slot as usize) {
            Some(i) => i,
            None => {
                learn.slots.push(CoreSlot {
                    slot: pr.slot as usize,
                    rows: Vec::new(),
                    targets: Vec::new(),
                });
                learn.slots.len() - 1
            }
        };
        let row = &mem.rows()[pr.row as usize];
        let syn: Vec<_> = mem.row_synapses(pr.row).collect();
        let ri = learn.rows.len();
        plastic_of[pr.row as usize] = ri as u32;
        learn.slots[local_slot].rows.push(ri);
        learn.slots[local_slot]
            .targets
            .extend(syn.iter().map(|s| s.target));
        learn.rows.push(PlasticTable {
            row: pr.row,
            local_slot,
            targets: syn.iter().map(|s| s.target).collect(),
            sign: row.format.sign,
            weight_bits: row.format.weight_bits,
            tag_bits: row.format.tag_bits,
            graded_source: graded_rows.binary_search(&(c.id, pr.row)).is_ok(),
        });
        learn.init_rows.push(PlasticState {
            mantissas: syn.iter().map(|s| s.weight).collect(),
            tags: syn.iter().map(|s| s.tag).collect(),
            exponent: row.exponent,
            weights: syn
                .iter()
                .map(|s| effective_weight(s.weight, row.exponent))
                .collect(),
            eprop: match image.learning.get(pr.slot as usize).and_then(|l| l.eprop) {
                Some(_) => EpropRow::new(syn.len()),
                None => EpropRow::default(),
            },
            ..PlasticState::default()
        });
    }
    for s in &mut learn.slots {
        s.targets.sort_unstable();
        s.targets.dedup();
    }
    plastic_of
}

/// The modulator cell each compartment of core `c` reads: the cell under the core's
/// tile centre, unless the image binds the compartment.
fn modulator_cells(
    config: &ChipConfig,
    image: &ChipImage,
    c: &CoreImage,
    tab: &CoreTable,
) -> Vec<(u32, u32)> {
    let grid = &config.modulator;
    let m = &config.mesh;
    let (tx, ty) = (tab.tile % m.tiles_x, tab.tile / m.tiles_x);
    let cell_at = |v: f64, n: u32| ((v * n as f64) as u32).min(n.saturating_sub(1));
    let core_cell = (
        cell_at((tx as f64 + 0.5) / m.tiles_x as f64, grid.width),
        cell_at((ty as f64 + 0.5) / m.tiles_y as f64, grid.height),
    );
    let mut cells = vec![core_cell; tab.n];
    for b in image.modulator.cells.iter().filter(|b| b.core == c.id) {
        if let Some(x) = cells.get_mut(b.compartment as usize) {
            *x = b.cell;
        }
    }
    cells
}

fn biased(p: &NeuronParams) -> bool {
    match p {
        NeuronParams::Lif(l) => l.bias() != 0,
        NeuronParams::Alif(a) => a.lif.bias() != 0,
        NeuronParams::Graded(g) => g.bias != 0,
    }
}

/// A LIF profile with its constants precomputed, for the neuron loop.
///
/// [`LifFast::step`] is the arithmetic of `amine_chip::neuron::lif::LifState::step`
/// with the per-step work hoisted out (decay factors, bias, threshold) and the 24-bit
/// wrap done with a mask instead of a Euclidean remainder (the same for a power-of-two
/// modulus in two's complement). The bit-exact replay test and a unit test against
/// `LifState::step` on random states keep the two identical.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LifFast {
    keep_u: i64,
    keep_v: i64,
    bias: i64,
    threshold: i32,
    refractory: u8,
}

const U_WRAP: i64 = 1 << 23;

#[inline(always)]
fn decay(x: i64, keep: i64) -> i64 {
    let m = (x.abs() * keep) >> 12;
    if x < 0 {
        -m
    } else {
        m
    }
}

impl LifFast {
    pub fn of(p: &NeuronParams) -> Option<LifFast> {
        let NeuronParams::Lif(p) = p else { return None };
        let keep = |d: u16| 4096 - i64::from(d.min(4096));
        Some(LifFast {
            keep_u: keep(p.du.saturating_add(1)),
            keep_v: keep(p.dv),
            bias: i64::from(p.bias()),
            threshold: p.threshold(),
            refractory: p.refractory,
        })
    }

    /// A non-zero bias: the compartment always has work (never idle).
    #[inline(always)]
    pub fn biased(&self) -> bool {
        self.bias != 0
    }

    /// Whether [`LifFast::step_plain`] applies: no refractory period and a bias small
    /// enough for 32-bit sums (always so for parameters that pass the image verifier).
    pub fn plain(&self) -> bool {
        self.refractory == 0 && self.bias.abs() < 1 << 20
    }

    /// [`LifFast::step`] without a refractory period, in 32-bit lanes so that a loop of
    /// it vectorises: `|u|, |v| < 2^24` and `|bias| < 2^20` for a verified image, so the
    /// sums fit `i32`; the 24-bit wrap only needs the low 24 bits, which wrapping
    /// 32-bit addition keeps exact.
    #[inline(always)]
    pub fn step_plain(&self, u: i32, v: i32, input: i32) -> (i32, i32, bool) {
        let dec = |x: i32, keep: i64| {
            let m = ((u64::from(x.unsigned_abs()) * keep as u64) >> 12) as i32;
            if x < 0 {
                -m
            } else {
                m
            }
        };
        let x = dec(u, self.keep_u).wrapping_add(input);
        let w = 1i32 << 23;
        let u = w.wrapping_sub(w.wrapping_sub(x) & (2 * w - 1));
        let v = dec(v, self.keep_v)
            .wrapping_add(u)
            .wrapping_add(self.bias as i32)
            .clamp(-(w - 1), w - 1);
        let spiked = v > self.threshold;
        (u, if spiked { 0 } else { v }, spiked)
    }

    /// One step from `(u, v, refractory_left)` with `input`: the new state and the spike.
    #[inline(always)]
    pub fn step(&self, u: i32, v: i32, refractory: u8, input: i32) -> (i32, i32, u8, bool) {
        let x = decay(i64::from(u), self.keep_u) + i64::from(input);
        let u = (U_WRAP - ((U_WRAP - x) & (2 * U_WRAP - 1))) as i32;
        if refractory > 0 {
            return (u, 0, refractory - 1, false);
        }
        let max = U_WRAP - 1;
        let v =
            (decay(i64::from(v), self.keep_v) + i64::from(u) + self.bias).clamp(-max, max) as i32;
        if v > self.threshold {
            (u, 0, self.refractory, true)
        } else {
            (u, v, 0, false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LifFast;
    use amine_chip::neuron::lif::{LifParams, LifState};
    use amine_chip::neuron::NeuronParams;

    /// The fast path equals `LifState::step` on random parameters, states and inputs,
    /// including wrapping, saturation and refractory periods.
    #[test]
    fn fast_lif_equals_the_chip_lif() {
        let mut s = 0x1234_5678_9abc_def0u64;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        for _ in 0..200_000 {
            let p = LifParams {
                du: (next() % 4096) as u16,
                dv: (next() % 4096) as u16,
                vth: (next() % 131_072) as u32,
                bias_mant: (next() % 8192) as i16 - 4096,
                bias_exp: (next() % 15) as i8 - 7,
                refractory: (next() % 4) as u8,
            };
            let f = LifFast::of(&NeuronParams::Lif(p)).unwrap();
            let mut st = LifState {
                u: (next() % (1 << 24)) as i32 - (1 << 23) + 1,
                v: (next() % (1 << 24)) as i32 - (1 << 23) + 1,
                refractory_left: (next() % 3) as u8,
            };
            let input = match next() % 3 {
                0 => 0,
                1 => (next() % (1 << 20)) as i32 - (1 << 19),
                _ => next() as i32,
            };
            let (u, v, r, spike) = f.step(st.u, st.v, st.refractory_left, input);
            if p.refractory == 0 && st.refractory_left == 0 && p.bias().abs() < 1 << 20 {
                let (pu, pv, ps) = f.step_plain(st.u, st.v, input);
                assert_eq!(
                    (pu, pv, ps),
                    (u, v, spike),
                    "plain step: {p:?} input {input}"
                );
            }
            let expect = st.step(&p, input);
            assert_eq!(
                (u, v, r, spike),
                (st.u, st.v, st.refractory_left, expect),
                "{p:?} input {input}"
            );
        }
    }
}
