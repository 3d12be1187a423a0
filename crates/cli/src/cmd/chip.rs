//! `amine chip show|check|list`.

use crate::args::ChipCommand;
use amine_chip::units::plural_s;
use amine_chip::{presets, ChipConfig};
use anyhow::{Context, Result};
use serde_json::json;

pub fn run(command: ChipCommand) -> Result<()> {
    match command {
        ChipCommand::Show { chip, json } => {
            let config = presets::resolve(&chip)?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&summary_json(&config))?);
            } else {
                out!("{}", summary_text(&config));
            }
            Ok(())
        }
        ChipCommand::System { system } => show_system(&system),
        ChipCommand::Check { file } => {
            let config = presets::resolve(&file)?;
            outln!(
                "{file}: ok — chip `{}`, {} core{}, {} compartments",
                config.name,
                group(config.cores() as u64),
                plural_s(config.cores() as u64),
                group(config.compartments())
            );
            Ok(())
        }
        ChipCommand::List => {
            for name in presets::names() {
                let c = presets::preset(name)?;
                outln!(
                    "{name:8} {} core{}, {} compartments",
                    c.cores(),
                    plural_s(c.cores() as u64),
                    group(c.compartments())
                );
            }
            Ok(())
        }
    }
}

/// Peak synaptic throughput of the whole chip (every core doing back-to-back synaptic ops)
/// and the dynamic power that would draw.
fn peak_synaptic(config: &ChipConfig) -> (f64, f64) {
    let op = config.costs.synaptic_op.time().seconds(config.clock());
    let ops_per_s = if op > 0.0 {
        config.cores() as f64 / op
    } else {
        f64::INFINITY
    };
    let watts = ops_per_s * config.costs.synaptic_op.energy_pj * 1e-12;
    (ops_per_s, watts)
}

fn summary_text(c: &ChipConfig) -> String {
    let m = &c.mesh;
    let k = &c.core;
    let (ops, watts) = peak_synaptic(c);
    let mem_total = k.synapse_memory_bits * c.cores() as u64;
    let grid = &c.modulator;
    let mut s = String::new();
    s += &format!("chip `{}`\n", c.name);
    s += &format!(
        "  mesh           {} x {} tiles x {} cores/tile = {} cores, clock {}\n",
        m.tiles_x,
        m.tiles_y,
        m.cores_per_tile,
        c.cores(),
        c.clock()
    );
    s += &format!(
        "  neurons        {} compartments ({} per core; models {:?})\n",
        group(c.compartments()),
        group(k.compartments as u64),
        k.neuron_models
    );
    s += &format!(
        "  axons          {} input / {} output per core\n",
        group(k.input_axons as u64),
        group(k.output_axons as u64)
    );
    s += &format!(
        "  synapse memory {} per core, {} in all ({}-bit words; weights {:?} bits, exponent {}..={})\n",
        bytes(k.synapse_memory_bits / 8),
        bytes(mem_total / 8),
        k.word_bits,
        k.weight_bits,
        k.weight_exponent_min,
        k.weight_exponent_max
    );
    s += &match &k.population {
        Some(p) => format!(
            "  shared lists   population axons of up to {} atoms, {}-bit bases, {} input / {} output slots each\n",
            group(p.max_atoms as u64),
            p.base_bits,
            p.input_slots,
            p.output_slots
        ),
        None => "  shared lists   none (convolutions are expanded)\n".into(),
    };
    s += &format!(
        "  synaptic op    {} pJ, {} → peak {:.3} G ops/s, {:.3} W dynamic\n",
        c.costs.synaptic_op.energy_pj,
        c.costs.synaptic_op.time(),
        ops / 1e9,
        watts
    );
    if grid.width > 0 {
        s += &format!(
            "  modulator grid {} x {} cells x {} channels, {:?} boundary, {:?}\n",
            grid.width, grid.height, grid.channels, grid.boundary, grid.format
        );
    } else {
        s += "  modulator grid none\n";
    }
    s += &format!(
        "  learning       {}\n",
        if c.learning.enabled {
            format!(
                "{}-bit traces, {}-bit tags",
                c.learning.trace_bits, c.learning.tag_bits
            )
        } else {
            "none".into()
        }
    );
    s += &format!("  static power   {}\n", c.static_power());
    s
}

fn summary_json(c: &ChipConfig) -> serde_json::Value {
    let (ops, watts) = peak_synaptic(c);
    json!({
        "name": c.name,
        "tiles": c.tiles(),
        "cores": c.cores(),
        "compartments": c.compartments(),
        "compartments_per_core": c.core.compartments,
        "synapse_memory_bits_per_core": c.core.synapse_memory_bits,
        "synapse_memory_bits_total": c.core.synapse_memory_bits * c.cores() as u64,
        "input_axons_per_core": c.core.input_axons,
        "output_axons_per_core": c.core.output_axons,
        "clock_hz": c.mesh.clock_hz,
        "synaptic_op_energy_pj": c.costs.synaptic_op.energy_pj,
        "peak_synaptic_ops_per_s": ops,
        "peak_synaptic_power_w": watts,
        "static_power_mw": c.static_power().0,
        "config": c,
    })
}

/// 131072 → "131,072" (shared with the compiler's messages and reports).
pub use amine_compiler::error::group;

fn bytes(n: u64) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n.is_multiple_of(1 << 10) {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} B")
    }
}

/// `--system NAME|FILE`: a system preset or description, checked (its chip is not
/// resolved here).
pub fn resolve_system(name_or_path: &str) -> Result<amine_chip::system::SystemConfig> {
    use amine_chip::system::{self, SYSTEM_PRESETS};
    Ok(if SYSTEM_PRESETS.iter().any(|(n, _)| *n == name_or_path) {
        system::preset(name_or_path)?
    } else {
        let path = std::path::Path::new(name_or_path);
        if !path.exists() {
            let known: Vec<&str> = SYSTEM_PRESETS.iter().map(|(n, _)| *n).collect();
            anyhow::bail!(
                "`{name_or_path}` is neither a system preset ({}) nor a file",
                known.join(", ")
            );
        }
        let text = amine_chip::bounded::read_text(
            path,
            "system description",
            amine_chip::bounded::limits::PROGRAM,
        )?;
        system::SystemConfig::from_ron(&text, name_or_path)?
    })
}

/// `amine chip system`: the system, checked (its chip too), and its totals.
fn show_system(name_or_path: &str) -> Result<()> {
    let sys = resolve_system(name_or_path)?;
    let chip = presets::resolve(&sys.chip)
        .with_context(|| format!("the chip `{}` of system `{}`", sys.chip, sys.name))?;
    let chips = u64::from(sys.chips());
    let l = &sys.link;
    let diameter = (0..sys.chips())
        .filter_map(|c| sys.hops(c).into_iter().flatten().max())
        .max()
        .unwrap_or(0);
    outln!(
        "system `{}`: {} chips of `{}` ({}), {} chip-to-chip links, diameter {} links",
        sys.name,
        group(chips),
        chip.name,
        sys.topology_kind(),
        group(sys.links().len() as u64),
        diameter
    );
    outln!(
        "  cores {}, compartments {}, synapse memory {} MiB",
        group(chips * u64::from(chip.cores())),
        group(chips * chip.compartments()),
        group(chips * u64::from(chip.cores()) * chip.core.synapse_memory_bits / 8 / (1 << 20))
    );
    outln!(
        "  link: {} ns + serialisation ({} bits per flit at {} Gbit/s: {} ns per flit), {} pJ per packet + {} pJ per flit",
        l.latency_ns,
        l.flit_bits,
        l.bandwidth_gbit_s,
        l.serialisation_ns(1),
        l.energy_pj_per_packet,
        l.energy_pj_per_flit
    );
    Ok(())
}
