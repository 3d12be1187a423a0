//! A readable summary of a chip image (`amine image show`): what is loaded where.
//!
//! Works from the image alone; with the chip configuration it also shows each core's
//! limits and verifies the image against it.

use crate::error::{group, plural_s};
use crate::report::Usage;
use amine_chip::image::{ChipImage, InputSource};
use amine_chip::ChipConfig;
use serde::{Deserialize, Serialize};
use std::fmt::Write;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageSummary {
    pub program: String,
    pub chip: String,
    pub fingerprint: String,
    pub version: u32,
    pub cores_used: u32,
    pub compartments: u64,
    pub synapses: u64,
    pub cores: Vec<CoreSummary>,
    pub populations: Vec<PopulationSummary>,
    pub inputs: Vec<InputSummary>,
    pub probes: Vec<String>,
    pub modulator_sources: u64,
    pub modulator_cells: u64,
    pub learning: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoreSummary {
    pub core: u32,
    pub profiles: u32,
    /// `limit` is 0 when no chip configuration was given.
    pub compartments: Usage,
    pub input_axons: Usage,
    pub output_axons: Usage,
    pub synapse_bits: Usage,
    pub plastic_rows: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PopulationSummary {
    pub name: String,
    pub size: u32,
    pub model: String,
    pub sign: String,
    /// Cores holding its neurons, in neuron order.
    pub cores: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputSummary {
    pub name: String,
    pub size: u32,
    pub source: String,
    pub entry_tile: (u32, u32),
    pub output_axons: u64,
}

impl ImageSummary {
    pub fn of(image: &ChipImage, chip: Option<&ChipConfig>) -> ImageSummary {
        let lim = |f: fn(&ChipConfig) -> u64| chip.map_or(0, f);
        // Population axons take the chip's slots (one each when no chip is given).
        let pc = chip.and_then(|c| c.core.population.as_ref());
        let cores = image
            .cores
            .iter()
            .map(|k| CoreSummary {
                core: k.id,
                profiles: k.profiles.len() as u32,
                compartments: Usage {
                    used: k.compartments.len() as u64,
                    limit: lim(|c| c.core.compartments as u64),
                },
                input_axons: Usage {
                    used: k.input_axons_used(pc),
                    limit: lim(|c| c.core.input_axons as u64),
                },
                output_axons: Usage {
                    used: k.output_axons_used(pc),
                    limit: lim(|c| c.core.output_axons as u64),
                },
                synapse_bits: Usage {
                    used: k.synapses.used_bits(),
                    limit: lim(|c| c.core.synapse_memory_bits),
                },
                plastic_rows: k.plastic_rows.len() as u32,
            })
            .collect();
        let populations = image
            .populations
            .iter()
            .map(|p| {
                let mut cores: Vec<u32> = p.blocks.iter().map(|b| b.core).collect();
                cores.dedup();
                PopulationSummary {
                    name: p.name.clone(),
                    size: p.size,
                    model: format!("{:?}", p.model),
                    sign: format!("{:?}", p.sign),
                    cores,
                }
            })
            .collect();
        let inputs = image
            .inputs
            .iter()
            .map(|i| InputSummary {
                name: i.name.clone(),
                size: i.size,
                source: match &i.source {
                    InputSource::Bernoulli { p, seed } => {
                        format!("Bernoulli p = {p} (seed {seed})")
                    }
                    InputSource::Poisson {
                        rate_hz,
                        dt_s,
                        seed,
                    } => {
                        format!("Poisson {rate_hz} Hz at {dt_s} s/step (seed {seed})")
                    }
                    InputSource::Explicit { spikes } => {
                        format!("{} explicit spikes", group(spikes.len() as u64))
                    }
                    InputSource::External => "external".into(),
                    InputSource::Graded { payload_bits } => {
                        format!("graded, {payload_bits}-bit values from the host")
                    }
                },
                entry_tile: i.entry_tile,
                output_axons: i.fanout.len() as u64
                    + i.pop_fanout.as_ref().map_or(0, |f| f.distinct_axons()),
            })
            .collect();
        ImageSummary {
            program: image.program.clone(),
            chip: image.chip.name.clone(),
            fingerprint: format!("{:016x}", image.chip.fingerprint),
            version: image.version,
            cores_used: image.cores.len() as u32,
            compartments: image.compartments_used(),
            synapses: image.synapse_count(),
            cores,
            populations,
            inputs,
            probes: image
                .probes
                .iter()
                .map(|p| {
                    format!(
                        "{}: {:?} of `{}`{}",
                        p.name,
                        p.kind,
                        p.population,
                        p.neurons
                            .as_ref()
                            .map_or(String::new(), |n| format!(" ({} neurons)", n.len()))
                    )
                })
                .collect(),
            modulator_sources: image.modulator.sources.len() as u64,
            modulator_cells: image.modulator.cells.len() as u64,
            learning: image
                .learning
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    format!(
                        "slot {i}: `{}` on `{}` every {} step(s)",
                        l.rule, l.projection, l.epoch
                    )
                })
                .collect(),
        }
    }

    pub fn text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "image of program `{}` for chip `{}` (fingerprint {}, format v{})",
            self.program, self.chip, self.fingerprint, self.version
        );
        let _ = writeln!(
            s,
            "  {} core{}, {} compartments, {} synapses",
            self.cores_used,
            plural_s(self.cores_used as u64),
            group(self.compartments),
            group(self.synapses)
        );
        let u = |x: Usage| {
            if x.limit > 0 {
                format!("{}/{}", group(x.used), group(x.limit))
            } else {
                group(x.used)
            }
        };
        let _ = writeln!(s, "  core  profiles  compartments      input axons      output axons     synapse bits            plastic rows");
        for k in &self.cores {
            let _ = writeln!(
                s,
                "  {:4}  {:8}  {:16}  {:15}  {:15}  {:22}  {}",
                k.core,
                k.profiles,
                u(k.compartments),
                u(k.input_axons),
                u(k.output_axons),
                u(k.synapse_bits),
                k.plastic_rows
            );
        }
        let _ = writeln!(s, "  populations:");
        for p in &self.populations {
            let _ = writeln!(
                s,
                "    {:16} {:>8} {} {} on cores {}",
                p.name,
                group(p.size as u64),
                p.model,
                p.sign,
                ranges(&p.cores)
            );
        }
        if !self.inputs.is_empty() {
            let _ = writeln!(s, "  inputs:");
            for i in &self.inputs {
                let _ = writeln!(
                    s,
                    "    {:16} {:>8} {}, enters at tile ({}, {}), {} output axons",
                    i.name,
                    group(i.size as u64),
                    i.source,
                    i.entry_tile.0,
                    i.entry_tile.1,
                    group(i.output_axons)
                );
            }
        }
        let list = |title: &str, v: &[String], s: &mut String| {
            if !v.is_empty() {
                let _ = writeln!(s, "  {title}:");
                for x in v {
                    let _ = writeln!(s, "    {x}");
                }
            }
        };
        list("probes", &self.probes, &mut s);
        list("learning slots", &self.learning, &mut s);
        if self.modulator_sources + self.modulator_cells > 0 {
            let _ = writeln!(
                s,
                "  modulator: {} source compartments, {} positioned compartments",
                self.modulator_sources, self.modulator_cells
            );
        }
        s
    }
}

/// `[0, 1, 2, 5]` → "0-2, 5".
fn ranges(v: &[u32]) -> String {
    let mut sorted = v.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j + 1 < sorted.len() && sorted[j + 1] == sorted[j] + 1 {
            j += 1;
        }
        out.push(if i == j {
            sorted[i].to_string()
        } else {
            format!("{}-{}", sorted[i], sorted[j])
        });
        i = j + 1;
    }
    out.join(", ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn ranges_compress_runs() {
        assert_eq!(super::ranges(&[5, 0, 1, 2]), "0-2, 5");
        assert_eq!(super::ranges(&[]), "");
    }
}
