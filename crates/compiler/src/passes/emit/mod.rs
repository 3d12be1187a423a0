//! Pass 8, emit: everything decided so far → the [`ChipImage`].
//!
//! Decides nothing new; it writes (the synapse rows in parallel, see `rows`). Per core:
//! compartment profiles (the distinct parameter
//! sets of its populations), synapse memory rows in the axon order `route` assigned,
//! fan-out tables, plastic rows; then input ports, population maps, probes, modulator
//! bindings (sources, and the grid cell of every positioned neuron) and learning slots.
//! The verifier then checks the finished image with `ChipImage::verify` against the chip:
//! any problem there is a compiler bug, reported as an internal error, never a panic.

use crate::context::Compilation;
use crate::passes::expand::derive_seed;
use crate::program::Source;
use amine_chip::image::{
    AxonTarget, Block, ChipImage, ChipStamp, CompartmentCell, CoreImage, CorePopulation, InputPort,
    InputSource, LearningSlot, ModSource, ModulatorImage, PlasticRow, PopulationMap, Probe,
    IMAGE_VERSION,
};
use amine_chip::neuron::NeuronParams;
use amine_chip::synapse::SynapseMemory;

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
    let npops = c.program.populations.len();
    let core = &c.chip.core;
    let nbins = part.bins.len();
    let mut memories: Vec<SynapseMemory> = (0..nbins)
        .map(|_| SynapseMemory::new(core.word_bits, core.synapse_memory_bits))
        .collect();
    // Output axons as (source key, target): neurons by global index, inputs after them.
    let total: u32 = c.nodes[..npops].iter().map(|n| n.size).sum();
    let mut input_base = vec![0u32; c.nodes.len()];
    let mut acc = total;
    for (n, b) in input_base.iter_mut().enumerate().skip(npops) {
        *b = acc;
        acc += c.nodes[n].size;
    }
    let key = |node: usize, a: u32| {
        if node < npops {
            part.pop_base[node] + a
        } else {
            input_base[node] + a
        }
    };
    let written = rows::write(
        c,
        &mut memories,
        &route.axon_of_row,
        &place.core_of_bin,
        &key,
    );
    let mut fan: Vec<(u32, AxonTarget)> = Vec::with_capacity(part.rows.len());
    let mut plastic: Vec<Vec<PlasticRow>> = Vec::with_capacity(nbins);
    let mut problems = Vec::new();
    for w in written {
        fan.extend(w.fan);
        plastic.push(w.plastic);
        problems.extend(w.problems);
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let (mut pops, mut pop_fan) = shared::emit(c, &mut memories, &place.core_of_bin, &key)?;
    fan.sort_unstable();
    let fan_range = |key: u32| {
        let lo = fan.partition_point(|x| x.0 < key);
        let hi = fan.partition_point(|x| x.0 <= key);
        &fan[lo..hi]
    };
    let mut cores = Vec::with_capacity(nbins);
    for (b, mem) in memories.into_iter().enumerate() {
        let bin = &part.bins[b];
        let mut profiles: Vec<NeuronParams> = Vec::new();
        let mut compartments = Vec::with_capacity(bin.compartments as usize);
        let (mut offsets, mut fanout) = (vec![0u32], Vec::new());
        for bl in &bin.blocks {
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
                let g = part.pop_base[bl.node] + bl.first_neuron + n;
                fanout.extend(fan_range(g).iter().map(|x| x.1));
                offsets.push(fanout.len() as u32);
            }
        }
        let mut plastic_rows = std::mem::take(&mut plastic[b]);
        plastic_rows.sort_by_key(|p| p.row);
        let keys = bin.blocks.iter().flat_map(|bl| {
            (0..bl.count).map(move |n| part.pop_base[bl.node] + bl.first_neuron + n)
        });
        let pop_fanout = shared::table(&mut pop_fan, keys);
        let mut population = pops[b].take();
        if !pop_fanout.targets.is_empty() {
            population
                .get_or_insert_with(|| CorePopulation {
                    shared_from: mem.row_count() as u32,
                    ..CorePopulation::default()
                })
                .fanout = pop_fanout;
        }
        cores.push(CoreImage {
            id: place.core_of_bin[b],
            profiles,
            compartments,
            synapses: mem,
            fanout_offsets: offsets,
            fanout,
            plastic_rows,
            population,
        });
    }
    cores.sort_by_key(|k| k.id);
    let inputs = c
        .program
        .inputs
        .iter()
        .enumerate()
        .map(|(i, input)| {
            let node = npops + i;
            let (mut offsets, mut fanout) = (vec![0u32], Vec::new());
            for a in 0..input.size {
                fanout.extend(fan_range(input_base[node] + a).iter().map(|x| x.1));
                offsets.push(fanout.len() as u32);
            }
            let seed = |s: Option<u64>| {
                s.unwrap_or_else(|| derive_seed(c.program.seed, 0x1_0000 + i as u64))
            };
            let source = match &input.source {
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
            };
            InputPort {
                name: input.name.clone(),
                size: input.size,
                source,
                entry_tile: place.entry_tiles[i],
                fanout_offsets: offsets,
                fanout,
                pop_fanout: Some(shared::table(
                    &mut pop_fan,
                    (0..input.size).map(|a| input_base[node] + a),
                ))
                .filter(|f| !f.targets.is_empty()),
            }
        })
        .collect();
    let populations = (0..npops)
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
    let limits = amine_chip::learning::Limits::of(&c.chip);
    let mut learning = Vec::new();
    for pr in &c.program.projections {
        let Some(l) = pr.learning.as_ref() else {
            continue;
        };
        // An e-prop slot runs the eligibility unit and no microcode.
        let eprop = c
            .eprop
            .as_ref()
            .and_then(|plan| plan.slots.get(learning.len()).copied().flatten());
        if l.rule.trim() == crate::program::eprop::RULE && eprop.is_none() {
            return Err(vec![format!(
                "learning rule of {}: the eprop pass left no constants",
                pr.name()
            )]);
        }
        // `validate` assembled the same text already; a failure here is a compiler bug.
        let text = match amine_chip::learning::named_rule(&l.rule, &l.params) {
            _ if eprop.is_some() => String::new(),
            Some(Ok(text)) => text,
            Some(Err(m)) => return Err(vec![format!("learning rule of {}: {m}", pr.name())]),
            None => l.rule.clone(),
        };
        let microcode = match eprop {
            Some(_) => amine_chip::learning::RuleProgram { equations: vec![] },
            None => amine_chip::learning::assemble(&text, &limits).map_err(|es| {
                es.iter()
                    .map(|e| format!("learning rule of {}: {}", pr.name(), e.render(&text)))
                    .collect::<Vec<_>>()
            })?,
        };
        let mut traces = amine_chip::learning::traces::default_traces(None, None);
        let t = &l.traces;
        for (k, given) in [t.x1, t.x2, t.y1, t.y2, t.y3].into_iter().enumerate() {
            if let Some(tr) = given {
                traces[k] = amine_chip::learning::traces::TraceParams::from_tau(
                    tr.tau.steps(c.program.dt_ms),
                    tr.impulse,
                );
            }
        }
        let [x1, x2, y1, y2, y3] = traces;
        let index = learning.len() as u64;
        learning.push(LearningSlot {
            projection: pr.name(),
            rule: l.rule.clone(),
            params: l.params.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            // An e-prop slot updates once per batch of trials.
            epoch: match (&eprop, &c.program.eprop) {
                (Some(_), Some(s)) => s.batch.saturating_mul(s.trial.steps).max(1),
                _ => l.epoch,
            },
            microcode,
            x1,
            x2,
            y1,
            y2,
            y3,
            seed: derive_seed(c.program.seed, 0x2_0000 + index),
            renormalise: l.overflow == crate::program::Overflow::Renormalise,
            eprop,
        });
    }
    Ok(ChipImage {
        version: IMAGE_VERSION,
        chip: ChipStamp::of(&c.chip),
        program: c.program.name.clone(),
        cores,
        inputs,
        populations,
        probes,
        modulator: modulator(c),
        learning,
        eprop: c.eprop.as_ref().map(|p| p.image.clone()),
        sigprop: c.sigprop.clone(),
    })
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
