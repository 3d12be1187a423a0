//! Static tables decoded once from a chip image: what the stepping code reads.
//!
//! Synapse memory is decoded into CSR arrays (row offsets, targets, effective weights,
//! delays) so the delivery loop is a plain indexed add; fan-out targets are turned
//! from core ids into core indices; every compartment gets its population and neuron
//! number for the raster. Nothing here changes while a simulation runs.

use amine_chip::config::ChipConfig;
use amine_chip::image::{ChipImage, InputSource};
use amine_chip::neuron::NeuronParams;

/// A fan-out target: input axon `axon` of the core at index `core` of the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Dest {
    pub core: u32,
    pub axon: u32,
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
    pub row_off: Vec<u32>,
    pub targets: Vec<u32>,
    pub weights: Vec<i32>,
    /// Empty when every delay of the core is 0 (the fast path).
    pub delays: Vec<u8>,
    pub row_words: Vec<u32>,
    pub fan_off: Vec<u32>,
    pub fan: Vec<Dest>,
    /// `(population index, neuron)` of each compartment; `u32::MAX` if none.
    pub neuron_of: Vec<(u32, u32)>,
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
        let dest = |t: &amine_chip::image::AxonTarget| Dest { core: index_of[t.core as usize], axon: t.axon };
        let mut max_delay = 0u8;
        let mut cores: Vec<CoreTable> = image
            .cores
            .iter()
            .map(|c| {
                let d = c.synapses.decode();
                let max_d = d.delays.iter().copied().max().unwrap_or(0);
                max_delay = max_delay.max(max_d);
                let rows = c.synapses.rows().len() as u32;
                CoreTable {
                    id: c.id,
                    tile: tile_of(config, c.id),
                    n: c.compartments.len(),
                    profile_biased: c.profiles.iter().map(biased).collect(),
                    profiles: c.profiles.clone(),
                    profile_of: c.compartments.clone(),
                    row_off: d.offsets,
                    targets: d.targets,
                    weights: d.weights,
                    delays: if max_d == 0 { Vec::new() } else { d.delays },
                    row_words: (0..rows).map(|r| c.synapses.row_words(r)).collect(),
                    fan_off: c.fanout_offsets.clone(),
                    fan: c.fanout.iter().map(dest).collect(),
                    neuron_of: vec![(u32::MAX, u32::MAX); c.compartments.len()],
                }
            })
            .collect();
        for (pi, pop) in image.populations.iter().enumerate() {
            for b in &pop.blocks {
                let core = &mut cores[index_of[b.core as usize] as usize];
                for i in 0..b.count {
                    core.neuron_of[(b.first_compartment + i) as usize] = (pi as u32, b.first_neuron + i);
                }
            }
        }
        let ports = image
            .inputs
            .iter()
            .map(|p| PortTable {
                name: p.name.clone(),
                size: p.size,
                tile: p.entry_tile.1 * config.mesh.tiles_x + p.entry_tile.0,
                source: p.source.clone(),
                fan_off: p.fanout_offsets.clone(),
                fan: p.fanout.iter().map(dest).collect(),
            })
            .collect();
        let mut tiles: Vec<u32> = cores.iter().map(|c| c.tile).collect();
        tiles.dedup();
        let mod_sources = image
            .modulator
            .sources
            .iter()
            .map(|s| ModSourceTable {
                core: index_of[s.core as usize] as usize,
                compartment: s.compartment,
                channel: s.channel as usize,
                gain: s.gain,
                cell: s.cell,
            })
            .collect();
        Tables {
            cores,
            ports,
            slots: (max_delay as usize + 1).next_power_of_two(),
            tiles_in_use: tiles.len() as u32,
            mod_sources,
            population_names: image.populations.iter().map(|p| p.name.clone()).collect(),
            population_sizes: image.populations.iter().map(|p| p.size).collect(),
        }
    }
}

fn biased(p: &NeuronParams) -> bool {
    match p {
        NeuronParams::Lif(l) => l.bias() != 0,
        NeuronParams::Alif(a) => a.lif.bias() != 0,
        NeuronParams::Graded(g) => g.bias != 0,
    }
}
