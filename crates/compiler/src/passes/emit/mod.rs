//! Pass 8, emit: everything decided so far → the [`ChipImage`].
//!
//! Decides nothing new; it writes (the synapse rows in parallel, see `rows`). Per core:
//! compartment profiles (the distinct parameter
//! sets of its populations), synapse memory rows in the axon order `route` assigned,
//! fan-out tables, plastic rows; then input ports, population maps, probes, modulator
//! bindings (sources, and the grid cell of every positioned neuron) and learning slots.
//! The verifier then checks the finished image with `ChipImage::verify` against the chip:
//! any problem there is a compiler bug, reported as an internal error, never a panic.

use crate::context::{Compilation, Partition, Placement};
use crate::passes::expand::derive_seed;
use crate::program::Source;
use amine_chip::image::{
    AxonTarget, Block, ChipImage, ChipStamp, CompartmentCell, CoreImage, CorePopulation, InputPort,
    InputSource, ModSource, ModulatorImage, PlasticRow, PopTarget, PopulationMap, Probe,
    IMAGE_VERSION,
};
use amine_chip::neuron::NeuronParams;
use amine_chip::synapse::SynapseMemory;
use std::collections::BTreeMap;

mod learning;
mod rows;
mod shared;

pub fn run(c: &mut Compilation) -> Result<(), crate::Error> {
    // `verify::after("emit")` and then `compile` (`ChipImage::into_verified`) check it next.
    c.image = Some(build(c).map_err(|p| crate::Error::internal("emit", p))?);
    Ok(())
}

fn build(c: &Compilation) -> Result<ChipImage, Vec<String>> {
    let (Some(_), Some(_), Some(part), Some(place), Some(route)) = (
        c.net.as_ref(),
        c.quant.as_ref(),
        c.partition.as_ref(),
        c.placement.as_ref(),
        c.routing.as_ref(),
    ) else {
        return Err(vec!["an earlier pass did not run".into()]);
    };
    let core = &c.chip.core;
    let mut memories: Vec<SynapseMemory> = (0..part.bins.len())
        .map(|_| SynapseMemory::new(core.word_bits, core.synapse_memory_bits))
        .collect();
    let at = At { c, part, place };
    let keys = Keys::new(c, part);
    let key = |node: usize, a: u32| keys.of(node, a);
    let written = rows::write(
        c,
        &mut memories,
        &route.axon_of_row,
        &place.core_of_bin,
        &key,
    );
    let (fan, plastic) = Fan::gather(written, part.rows.len())?;
    let (pops, mut pop_fan) = shared::emit(c, &mut memories, &place.core_of_bin, &key)?;
    let mut cores: Vec<CoreImage> = memories
        .into_iter()
        .zip(plastic)
        .zip(pops)
        .enumerate()
        .map(|(b, ((mem, plastic_rows), population))| {
            let bin = Bin {
                b,
                mem,
                plastic_rows,
                population,
            };
            core_image(&at, bin, &fan, &mut pop_fan)
        })
        .collect();
    cores.sort_by_key(|k| k.id);
    let inputs = (0..c.program.inputs.len())
        .map(|i| input_port(&at, i, &keys, &fan, &mut pop_fan))
        .collect();
    let probes = c
        .program
        .probes
        .iter()
        .map(|p| Probe {
            name: p.name.clone(),
            population: p.population.clone(),
            kind: p.kind,
            neurons: p.neurons.clone(),
        })
        .collect();
    Ok(ChipImage {
        version: IMAGE_VERSION,
        chip: ChipStamp::of(&c.chip),
        program: c.program.name.clone(),
        cores,
        inputs,
        populations: population_maps(&at),
        probes,
        modulator: modulator(c),
        learning: learning::slots(c)?,
        eprop: c.eprop.as_ref().map(|p| p.image.clone()),
        sigprop: c.sigprop.clone(),
    })
}

/// The compilation and the partition and placement it holds.
struct At<'a> {
    c: &'a Compilation,
    part: &'a Partition,
    place: &'a Placement,
}

/// Output-axon keys: a population's neurons by global index, each input's after them.
struct Keys<'a> {
    npops: usize,
    pop_base: &'a [u32],
    input_base: Vec<u32>,
}

impl<'a> Keys<'a> {
    fn new(c: &Compilation, part: &'a Partition) -> Keys<'a> {
        let npops = c.program.populations.len();
        let total: u32 = c.nodes[..npops].iter().map(|n| n.size).sum();
        let mut input_base = vec![0u32; c.nodes.len()];
        let mut acc = total;
        for (n, b) in input_base.iter_mut().enumerate().skip(npops) {
            *b = acc;
            acc += c.nodes[n].size;
        }
        Keys {
            npops,
            pop_base: &part.pop_base,
            input_base,
        }
    }

    /// The key of neuron (or input) `a` of node `node`.
    fn of(&self, node: usize, a: u32) -> u32 {
        if node < self.npops {
            self.pop_base[node] + a
        } else {
            self.input_base[node] + a
        }
    }
}

/// The discrete fan-out of every source, as `(key, target)` sorted by key.
struct Fan(Vec<(u32, AxonTarget)>);

impl Fan {
    /// The fan-out and each bin's plastic rows from the written rows, or every problem
    /// writing them met.
    fn gather(
        written: Vec<rows::BinRows>,
        rows: usize,
    ) -> Result<(Fan, Vec<Vec<PlasticRow>>), Vec<String>> {
        let mut fan: Vec<(u32, AxonTarget)> = Vec::with_capacity(rows);
        let mut plastic: Vec<Vec<PlasticRow>> = Vec::with_capacity(written.len());
        let mut problems = Vec::new();
        for w in written {
            fan.extend(w.fan);
            plastic.push(w.plastic);
            problems.extend(w.problems);
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        fan.sort_unstable();
        Ok((Fan(fan), plastic))
    }

    /// The targets of source `key`.
    fn of(&self, key: u32) -> impl Iterator<Item = AxonTarget> + '_ {
        let lo = self.0.partition_point(|x| x.0 < key);
        let hi = self.0.partition_point(|x| x.0 <= key);
        self.0[lo..hi].iter().map(|x| x.1)
    }
}

/// What bin `b` brings to its core: its synapse memory, plastic rows and population
/// section.
struct Bin {
    b: usize,
    mem: SynapseMemory,
    plastic_rows: Vec<PlasticRow>,
    population: Option<CorePopulation>,
}

/// The core of bin `b`: its profiles and compartments, fan-out (discrete and
/// population) and plastic rows.
fn core_image(
    at: &At,
    bin: Bin,
    fan: &Fan,
    pop_fan: &mut BTreeMap<u32, Vec<PopTarget>>,
) -> CoreImage {
    let (c, part) = (at.c, at.part);
    let Bin {
        b,
        mem,
        mut plastic_rows,
        mut population,
    } = bin;
    let blocks = &part.bins[b].blocks;
    let mut profiles: Vec<NeuronParams> = Vec::new();
    let mut compartments = Vec::with_capacity(part.bins[b].compartments as usize);
    let (mut offsets, mut fanout) = (vec![0u32], Vec::new());
    for bl in blocks {
        let params = &c.params[bl.node];
        let idx = profiles
            .iter()
            .position(|p| p == params)
            .unwrap_or_else(|| {
                profiles.push(params.clone());
                profiles.len() - 1
            });
        for n in 0..bl.count {
            compartments.push(idx as u16);
            fanout.extend(fan.of(part.pop_base[bl.node] + bl.first_neuron + n));
            offsets.push(fanout.len() as u32);
        }
    }
    plastic_rows.sort_by_key(|p| p.row);
    let keys = blocks
        .iter()
        .flat_map(|bl| (0..bl.count).map(move |n| part.pop_base[bl.node] + bl.first_neuron + n));
    let pop_fanout = shared::table(pop_fan, keys);
    if !pop_fanout.targets.is_empty() {
        population
            .get_or_insert_with(|| CorePopulation {
                shared_from: mem.row_count() as u32,
                ..CorePopulation::default()
            })
            .fanout = pop_fanout;
    }
    CoreImage {
        id: at.place.core_of_bin[b],
        profiles,
        compartments,
        synapses: mem,
        fanout_offsets: offsets,
        fanout,
        plastic_rows,
        population,
    }
}

/// Input port `i`: its source, entry tile and fan-out (discrete and population).
fn input_port(
    at: &At,
    i: usize,
    keys: &Keys,
    fan: &Fan,
    pop_fan: &mut BTreeMap<u32, Vec<PopTarget>>,
) -> InputPort {
    let c = at.c;
    let input = &c.program.inputs[i];
    let node = keys.npops + i;
    let (mut offsets, mut fanout) = (vec![0u32], Vec::new());
    for a in 0..input.size {
        fanout.extend(fan.of(keys.of(node, a)));
        offsets.push(fanout.len() as u32);
    }
    InputPort {
        name: input.name.clone(),
        size: input.size,
        source: input_source(c, i),
        entry_tile: at.place.entry_tiles[i],
        fanout_offsets: offsets,
        fanout,
        pop_fanout: Some(shared::table(
            pop_fan,
            (0..input.size).map(|a| keys.of(node, a)),
        ))
        .filter(|f| !f.targets.is_empty()),
    }
}

/// The image's source of input `i`: seeds derived from the program's where not given,
/// a file's spikes sorted and deduplicated.
fn input_source(c: &Compilation, i: usize) -> InputSource {
    let seed =
        |s: Option<u64>| s.unwrap_or_else(|| derive_seed(c.program.seed, 0x1_0000 + i as u64));
    match &c.program.inputs[i].source {
        Source::Bernoulli { p, seed: s } => InputSource::Bernoulli {
            p: *p,
            seed: seed(*s),
        },
        Source::Poisson { rate_hz, seed: s } => InputSource::Poisson {
            rate_hz: *rate_hz,
            dt_s: c.program.dt_ms / 1000.0,
            seed: seed(*s),
        },
        Source::File(f) => {
            let mut spikes: Vec<(u32, u32)> =
                c.spike_files[f].spikes.iter().map(|s| (s.0, s.1)).collect();
            spikes.sort_unstable();
            spikes.dedup();
            InputSource::Explicit { spikes }
        }
        Source::External => InputSource::External,
        Source::Graded { payload_bits } => InputSource::Graded {
            payload_bits: *payload_bits,
        },
    }
}

/// Every population's map: its blocks (core, compartments, neurons) by first neuron.
fn population_maps(at: &At) -> Vec<PopulationMap> {
    let (c, part, place) = (at.c, at.part, at.place);
    (0..c.program.populations.len())
        .map(|p| {
            let mut blocks: Vec<Block> = part
                .bins
                .iter()
                .enumerate()
                .flat_map(|(b, bin)| {
                    bin.blocks
                        .iter()
                        .filter(|bl| bl.node == p)
                        .map(move |bl| Block {
                            core: place.core_of_bin[b],
                            first_compartment: bl.first_compartment,
                            first_neuron: bl.first_neuron,
                            count: bl.count,
                        })
                })
                .collect();
            blocks.sort_by_key(|b| b.first_neuron);
            PopulationMap {
                name: c.nodes[p].name.clone(),
                size: c.nodes[p].size,
                model: c.params[p].kind(),
                sign: c.nodes[p].sign,
                blocks,
            }
        })
        .collect()
}

fn modulator(c: &Compilation) -> ModulatorImage {
    let (Some(part), Some(place)) = (c.partition.as_ref(), c.placement.as_ref()) else {
        return ModulatorImage::default();
    };
    if c.chip.modulator.width == 0 || c.chip.modulator.height == 0 {
        return ModulatorImage::default();
    }
    // Positions map onto the part of the grid the program uses.
    let grid = crate::positions::program_grid(&c.program, &c.chip.modulator);
    let cell_at = |xy| crate::positions::cell_at(xy, &grid);
    let m = &c.chip.mesh;
    let core_cell = |core: u32| {
        let (tx, ty) = c.tile_of(core);
        cell_at((
            (tx as f64 + 0.5) / m.tiles_x as f64,
            (ty as f64 + 0.5) / m.tiles_y as f64,
        ))
    };
    let locate = |p: usize, i: u32| {
        let g = (part.pop_base[p] + i) as usize;
        (place.core_of_bin[part.bin_of[g] as usize], part.slot_of[g])
    };
    let pos = crate::positions::resolve(&c.program);
    let mut cells = Vec::new();
    for (p, list) in pos.iter().enumerate() {
        for (i, &xy) in list.iter().flatten().enumerate() {
            let (core, compartment) = locate(p, i as u32);
            cells.push(CompartmentCell {
                core,
                compartment,
                cell: cell_at(xy),
            });
        }
    }
    cells.sort_by_key(|x| (x.core, x.compartment));
    let mut sources = Vec::new();
    for s in &c.program.modulators {
        let Some(p) = c.node(&s.population) else {
            continue;
        };
        let all: Vec<u32> = match &s.neurons {
            Some(v) => v.clone(),
            None => (0..c.nodes[p].size).collect(),
        };
        for i in all {
            let (core, compartment) = locate(p, i);
            let cell = s
                .cell
                .or_else(|| pos[p].as_ref().map(|v| cell_at(v[i as usize])))
                .unwrap_or_else(|| core_cell(core));
            sources.push(ModSource {
                core,
                compartment,
                channel: s.channel,
                gain: s.gain,
                cell,
                region: s.region,
            });
        }
    }
    ModulatorImage {
        sources,
        cells,
        registers: c.program.grid,
    }
}
