//! The compile report: what the mapping cost, per core and in all.
//!
//! Built from the finished image (utilisation is measured on what was emitted, not on the
//! partitioner's bookkeeping) and from the passes' figures. It is plain data (serde, JSON
//! for machines) with a text rendering for terminals. It holds no wall-clock time, so the
//! same program, chip and seed always give the same report.

use crate::context::{Compilation, ProjectionQuant};
use crate::error::{group, plural_s};
use amine_chip::image::ChipImage;
use serde::{Deserialize, Serialize};
use std::fmt::Write;

/// Everything `amine compile` reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompileReport {
    pub program: String,
    pub chip: String,
    pub neurons: u64,
    /// Input sources (outside the chip).
    pub inputs: u64,
    pub synapses: u64,
    pub cores_used: u32,
    pub cores_available: u32,
    /// One entry per core in use, by core id.
    pub cores: Vec<CoreUsage>,
    pub quantization: QuantReport,
    pub traffic: TrafficReport,
    pub placement: PlacementReport,
    /// Compiling for a multi-chip system: cores per chip and chip-to-chip traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<crate::system_report::SystemReport>,
}

/// Used out of the core's limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub used: u64,
    pub limit: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoreUsage {
    pub core: u32,
    pub tile: (u32, u32),
    /// Populations with neurons on this core.
    pub populations: Vec<String>,
    pub compartments: Usage,
    pub input_axons: Usage,
    pub output_axons: Usage,
    pub synapse_bits: Usage,
    /// What stopped the partitioner from putting more on this core: a limit
    /// (`core.synapse_memory_bits`, …) or a hint (`mapping.cores`, …); `None` for the
    /// last core it filled, and for `convolution planes` when the next planes belonged
    /// to another shared convolution's target.
    pub bound_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuantReport {
    /// Over every synapse with a non-zero weight: max and RMS of `|q − w| / |w|`.
    pub max_rel_error: f64,
    pub rms_rel_error: f64,
    /// Synapses whose weight is represented exactly.
    pub exact_synapses: u64,
    pub projections: Vec<ProjectionQuant>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrafficReport {
    /// Packets (output axons used) per network spike, if every neuron spikes equally often.
    pub packets_per_spike: f64,
    /// Router hops per network spike (all its packets).
    pub hops_per_spike: f64,
    pub input_packets_per_spike: f64,
    pub input_hops_per_spike: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlacementReport {
    /// Σ over core pairs of packets per spike round × hops, for this placement.
    pub cost: u64,
    /// The same for bin i → tile i mod tiles (round-robin).
    pub round_robin_cost: u64,
    /// The same for bin i → core i (in order).
    pub sequential_cost: u64,
}

pub fn build(c: &Compilation, image: &ChipImage) -> CompileReport {
    let core = &c.chip.core;
    let npops = c.program.populations.len();
    let bound_by = |id: u32| -> Option<String> {
        let (part, place) = (c.partition.as_ref()?, c.placement.as_ref()?);
        let b = place.core_of_bin.iter().position(|&k| k == id)?;
        part.bins[b].closed_by.map(String::from)
    };
    let cores = image
        .cores
        .iter()
        .map(|k| {
            let populations = image
                .populations
                .iter()
                .filter(|p| p.blocks.iter().any(|b| b.core == k.id))
                .map(|p| p.name.clone())
                .collect();
            CoreUsage {
                core: k.id,
                tile: c.tile_of(k.id),
                populations,
                compartments: Usage {
                    used: k.compartments.len() as u64,
                    limit: core.compartments as u64,
                },
                input_axons: Usage {
                    used: k.input_axons_used(core.population.as_ref()),
                    limit: core.input_axons as u64,
                },
                output_axons: Usage {
                    used: k.output_axons_used(core.population.as_ref()),
                    limit: core.output_axons as u64,
                },
                synapse_bits: Usage {
                    used: k.synapses.used_bits(),
                    limit: core.synapse_memory_bits,
                },
                bound_by: bound_by(k.id),
            }
        })
        .collect();
    let q = c.quant.clone().unwrap_or_default();
    let r = c.routing.clone().unwrap_or_default();
    let pl = c.placement.clone().unwrap_or_default();
    CompileReport {
        program: c.program.name.clone(),
        chip: c.chip.name.clone(),
        neurons: c.nodes[..npops].iter().map(|n| n.size as u64).sum(),
        inputs: c.nodes[npops..].iter().map(|n| n.size as u64).sum(),
        synapses: image.synapse_count(),
        cores_used: image.cores.len() as u32,
        cores_available: c.chip.cores(),
        cores,
        quantization: QuantReport {
            max_rel_error: q.max_rel_error,
            rms_rel_error: q.rms_rel_error,
            exact_synapses: q.exact,
            projections: q.projections,
        },
        traffic: TrafficReport {
            packets_per_spike: r.packets_per_spike,
            hops_per_spike: r.hops_per_spike,
            input_packets_per_spike: r.input_packets_per_spike,
            input_hops_per_spike: r.input_hops_per_spike,
        },
        placement: PlacementReport {
            cost: pl.cost,
            round_robin_cost: pl.round_robin_cost,
            sequential_cost: pl.sequential_cost,
        },
        system: crate::system_report::build(c),
    }
}

/// A limit's name without its section, for the table (`synapse_memory_bits`).
fn short_limit(l: Option<&str>) -> &str {
    match l {
        None => "-",
        Some(l) => l.strip_prefix("core.").unwrap_or(l),
    }
}

fn pct(u: Usage) -> String {
    if u.limit == 0 {
        return "-".into();
    }
    format!("{:5.1}%", 100.0 * u.used as f64 / u.limit as f64)
}

impl CompileReport {
    /// The report as a table for a terminal.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "program `{}` on chip `{}`", self.program, self.chip);
        let _ = writeln!(
            s,
            "  {} neurons, {} inputs, {} synapses on {} of {} core{}",
            group(self.neurons),
            group(self.inputs),
            group(self.synapses),
            self.cores_used,
            self.cores_available,
            plural_s(self.cores_available as u64)
        );
        let q = &self.quantization;
        let _ = writeln!(
            s,
            "  quantization: max relative error {:.3e}, RMS {:.3e} ({} of {} synapses exact)",
            q.max_rel_error,
            q.rms_rel_error,
            group(q.exact_synapses),
            group(self.synapses)
        );
        for p in &q.projections {
            let _ = writeln!(
                s,
                "    {:24} {:>10} synapses  {} bits {:10} delay {} bits  max {:.3e} rms {:.3e}",
                p.name,
                group(p.synapses),
                p.weight_bits,
                p.sign,
                p.delay_bits,
                p.max_rel_error,
                p.rms_rel_error
            );
        }
        let t = &self.traffic;
        let _ = writeln!(
            s,
            "  traffic: {:.2} packets and {:.2} hops per neuron spike; {:.2} packets and {:.2} hops per input spike",
            t.packets_per_spike, t.hops_per_spike, t.input_packets_per_spike, t.input_hops_per_spike
        );
        let p = &self.placement;
        let ratio = |x: u64| {
            if x == 0 {
                "-".to_string()
            } else {
                format!("{:.1}%", 100.0 * p.cost as f64 / x as f64)
            }
        };
        let _ = writeln!(
            s,
            "  placement cost (packets × hops): {} vs round-robin {} ({}) and in-order {} ({})",
            group(p.cost),
            group(p.round_robin_cost),
            ratio(p.round_robin_cost),
            group(p.sequential_cost),
            ratio(p.sequential_cost)
        );
        if let Some(sys) = &self.system {
            sys.text(&mut s);
        }
        let _ = writeln!(s, "  core  tile     compartments     input axons    output axons    synapse bits            bound by             populations");
        for k in &self.cores {
            let _ = writeln!(
                s,
                "  {:4}  ({:2},{:2})  {:>6} {}  {:>6} {}  {:>6} {}  {:>9} {}  {:19}  {}",
                k.core,
                k.tile.0,
                k.tile.1,
                group(k.compartments.used),
                pct(k.compartments),
                group(k.input_axons.used),
                pct(k.input_axons),
                group(k.output_axons.used),
                pct(k.output_axons),
                group(k.synapse_bits.used),
                pct(k.synapse_bits),
                short_limit(k.bound_by.as_deref()),
                k.populations.join(", ")
            );
        }
        s
    }
}
