//! Checks an image against a chip configuration, collecting every problem.
//!
//! **Invariant:** an image that passes these checks can be run by amine-sim without any
//! index going out of bounds: every profile index, synapse target, fan-out target,
//! probe, modulator binding and learning slot refers to something that exists, and
//! every core fits the configuration's limits.

use super::{AxonTarget, ChipImage, ChipStamp, CoreImage, InputPort, InputSource, IMAGE_VERSION};
use crate::config::{ChipConfig, CoreConfig};
use crate::error::Problem;
use crate::neuron::NeuronParams;
use rayon::prelude::*;
use std::collections::HashMap;

pub(super) fn problems(image: &ChipImage, config: &ChipConfig) -> Vec<Problem> {
    let mut out = Vec::new();
    if image.version != IMAGE_VERSION {
        out.push(Problem {
            field: "version".into(),
            message: format!("{} is not {IMAGE_VERSION}", image.version),
        });
    }
    if let Some(p) = chip_problem(image, config) {
        out.push(p);
        // Everything below would only repeat that the chips differ.
        return out;
    }
    let rows_of = cores(image, config, &mut out);
    for (ci, core) in image.cores.iter().enumerate() {
        fanout_targets(
            &rows_of,
            format!("cores[{ci}].fanout"),
            &core.fanout,
            &mut out,
        );
    }
    for (ii, port) in image.inputs.iter().enumerate() {
        input_port(config, &rows_of, ii, port, &mut out);
    }
    populations(image, &mut out);
    probes(image, &mut out);
    modulator(image, config, &mut out);
    learning_slots(image, config, &mut out);
    super::population::problems(image, config, &mut out);
    eprop_targets(image, &mut out);
    if !image.learning.is_empty() && !config.learning.enabled {
        out.push(Problem {
            field: "learning".into(),
            message: format!(
                "the image has learning rules but chip `{}` has no learning engine",
                config.name
            ),
        });
    }
    out
}

/// The image was compiled for a chip of another structure than `config`'s.
fn chip_problem(image: &ChipImage, config: &ChipConfig) -> Option<Problem> {
    let stamp = ChipStamp::of(config);
    if image.chip.same_structure(&stamp) {
        return None;
    }
    let differ = image.chip.differing_sections(&stamp);
    Some(Problem {
        field: "chip".into(),
        message: format!(
            "the image was compiled for a chip of another structure: chip `{}` (structure {:016x}) \
             differs from the image's chip `{}` (structure {:016x}) in {}. Only costs, static \
             power, the clock and the router may differ between the chip an image was compiled \
             for and the chip it runs on; compile the program again for this chip",
            stamp.name,
            stamp.fingerprint,
            image.chip.name,
            image.chip.fingerprint,
            if differ.is_empty() {
                "its sections".to_string()
            } else {
                differ.iter().map(|d| format!("`{d}`")).collect::<Vec<_>>().join(", ")
            }
        ),
    })
}

/// Every core's problems in core order (its id, then [`core_problems`]); returns the
/// discrete rows of each core id, to check fan-out targets against.
fn cores(image: &ChipImage, config: &ChipConfig, out: &mut Vec<Problem>) -> HashMap<u32, u32> {
    let mut push = |field: String, message: String| out.push(Problem { field, message });
    // The per-core checks (synapse targets decode every row) run cores in parallel;
    // their problems are merged in core order.
    let per_core: Vec<Vec<Problem>> = image
        .cores
        .par_iter()
        .enumerate()
        .map(|(ci, core)| core_problems(image, config, ci, core))
        .collect();
    let mut rows_of = HashMap::new();
    let mut last_id = None;
    for ((ci, core), found) in image.cores.iter().enumerate().zip(per_core) {
        let at = |f: &str| format!("cores[{ci}].{f}");
        if core.id >= config.cores() {
            push(
                at("id"),
                format!(
                    "core {} does not exist on a {}-core chip",
                    core.id,
                    config.cores()
                ),
            );
        }
        if last_id.is_some_and(|l| core.id <= l) {
            push(at("id"), "core ids must be unique and increasing".into());
        }
        last_id = Some(core.id);
        rows_of.insert(core.id, core.discrete_rows());
        for p in found {
            push(p.field, p.message);
        }
    }
    rows_of
}

/// The first of `targets` that reaches no row of its core (`rows_of`), if any.
fn fanout_targets(
    rows_of: &HashMap<u32, u32>,
    field: String,
    targets: &[AxonTarget],
    out: &mut Vec<Problem>,
) {
    if let Some(t) = targets
        .iter()
        .find(|t| rows_of.get(&t.core).is_none_or(|&rows| t.axon >= rows))
    {
        out.push(Problem {
            field,
            message: format!(
                "fan-out to core {} axon {}, which does not exist",
                t.core, t.axon
            ),
        });
    }
}

/// Input port `ii`: its fan-out offsets and targets, entry tile and source.
fn input_port(
    config: &ChipConfig,
    rows_of: &HashMap<u32, u32>,
    ii: usize,
    port: &InputPort,
    out: &mut Vec<Problem>,
) {
    let at = |f: &str| format!("inputs[{ii}].{f}");
    let offsets = &port.fanout_offsets;
    if offsets.len() != port.size as usize + 1
        || offsets.first() != Some(&0)
        || offsets.windows(2).any(|w| w[0] > w[1])
        || offsets.last().copied() != Some(port.fanout.len() as u32)
    {
        out.push(Problem {
            field: at("fanout_offsets"),
            message: format!(
                "must rise from 0 to {} in {} entries",
                port.fanout.len(),
                port.size + 1
            ),
        });
    }
    fanout_targets(rows_of, at("fanout"), &port.fanout, out);
    let (x, y) = port.entry_tile;
    if x >= config.mesh.tiles_x || y >= config.mesh.tiles_y {
        out.push(Problem {
            field: at("entry_tile"),
            message: format!("tile ({x}, {y}) is outside the mesh"),
        });
    }
    for message in source_problems(&port.source, port.size) {
        out.push(Problem {
            field: at("source"),
            message,
        });
    }
}

/// What is wrong with an input port's source of `size` inputs.
fn source_problems(source: &InputSource, size: u32) -> Vec<String> {
    let mut out = Vec::new();
    match source {
        InputSource::Explicit { spikes } => {
            if let Some((s, i)) = spikes.iter().find(|(_, i)| *i >= size) {
                out.push(format!("spike at step {s} for input {i} of {size}"));
            }
            if spikes.windows(2).any(|w| w[0] > w[1]) {
                out.push("explicit spikes must be sorted by step, then index".into());
            }
        }
        InputSource::Bernoulli { p, .. } if !(0.0..=1.0).contains(p) => {
            out.push(format!("probability {p} outside [0, 1]"));
        }
        InputSource::Poisson { rate_hz, dt_s, .. } if !(*rate_hz >= 0.0 && *dt_s > 0.0) => {
            out.push("rate must be ≥ 0 and dt > 0".into());
        }
        InputSource::Graded { payload_bits } if !(1..=16).contains(payload_bits) => {
            out.push(format!("payload_bits = {payload_bits}: outside 1..=16"));
        }
        _ => {}
    }
    out
}

/// The compartments of core `id`, if the image has it.
fn compartments_of(image: &ChipImage, id: u32) -> Option<u32> {
    image
        .cores
        .iter()
        .find(|c| c.id == id)
        .map(|c| c.compartments.len() as u32)
}

/// Every population's blocks lie inside their core and population and cover it.
fn populations(image: &ChipImage, out: &mut Vec<Problem>) {
    for (pi, pop) in image.populations.iter().enumerate() {
        let mut covered = 0u64;
        for (bi, b) in pop.blocks.iter().enumerate() {
            let fits = compartments_of(image, b.core)
                .is_some_and(|n| b.first_compartment as u64 + b.count as u64 <= n as u64);
            if !fits || b.first_neuron as u64 + b.count as u64 > pop.size as u64 {
                out.push(Problem {
                    field: format!("populations[{pi}].blocks[{bi}]"),
                    message: "block lies outside its core or population".into(),
                });
            }
            covered += b.count as u64;
        }
        if covered != pop.size as u64 {
            out.push(Problem {
                field: format!("populations[{pi}]"),
                message: format!("blocks cover {covered} of {} neurons", pop.size),
            });
        }
    }
}

/// Every probe names a population and neurons inside it.
fn probes(image: &ChipImage, out: &mut Vec<Problem>) {
    for (pi, probe) in image.probes.iter().enumerate() {
        match image.population(&probe.population) {
            None => out.push(Problem {
                field: format!("probes[{pi}]"),
                message: format!("no population `{}`", probe.population),
            }),
            Some(pop) => {
                if let Some(i) = probe.neurons.iter().flatten().find(|&&i| i >= pop.size) {
                    out.push(Problem {
                        field: format!("probes[{pi}]"),
                        message: format!("neuron {i} of a {}-neuron population", pop.size),
                    });
                }
            }
        }
    }
}

/// The modulator section: the grid's size, sources and cell bindings inside the chip,
/// grid and channels, and registers the grid accepts.
fn modulator(image: &ChipImage, config: &ChipConfig, out: &mut Vec<Problem>) {
    let grid = &image.modulator.grid_config(&config.modulator);
    if let Some((w, h)) = image.modulator.registers.and_then(|r| r.size) {
        let chip = &config.modulator;
        if w == 0 || h == 0 || w > chip.width || h > chip.height {
            out.push(Problem {
                field: "modulator.registers.size".into(),
                message: format!("{w} × {h} cells of a {} × {} grid", chip.width, chip.height),
            });
        }
    }
    let in_grid = |(x, y): (u32, u32)| x < grid.width && y < grid.height;
    for (si, s) in image.modulator.sources.iter().enumerate() {
        let (rw, rh) = s.region.unwrap_or((1, 1));
        let region_ok = rw >= 1
            && rh >= 1
            && u64::from(s.cell.0) + u64::from(rw) <= u64::from(grid.width)
            && u64::from(s.cell.1) + u64::from(rh) <= u64::from(grid.height);
        let ok = compartments_of(image, s.core).is_some_and(|n| s.compartment < n)
            && s.channel < grid.channels
            && in_grid(s.cell)
            && region_ok
            && s.gain.is_finite();
        if !ok {
            out.push(Problem {
                field: format!("modulator.sources[{si}]"),
                message: "source outside the chip, grid or channels".into(),
            });
        }
    }
    for (si, c) in image.modulator.cells.iter().enumerate() {
        if !(compartments_of(image, c.core).is_some_and(|n| c.compartment < n) && in_grid(c.cell)) {
            out.push(Problem {
                field: format!("modulator.cells[{si}]"),
                message: "binding outside the chip or grid".into(),
            });
        }
    }
    if image.modulator.registers.is_some() {
        if let Err(e) = crate::modgrid::ModGrid::new(grid) {
            out.push(Problem {
                field: "modulator.registers".into(),
                message: e.to_string(),
            });
        }
    }
}

/// Every learning slot: its epoch, the modulator channels its microcode reads, and an
/// e-prop slot's parameters (and no microcode).
fn learning_slots(image: &ChipImage, config: &ChipConfig, out: &mut Vec<Problem>) {
    let channels = if config.modulator.width > 0 {
        config.modulator.channels
    } else {
        0
    };
    for (si, slot) in image.learning.iter().enumerate() {
        if slot.epoch == 0 {
            out.push(Problem {
                field: format!("learning[{si}].epoch"),
                message: "must be at least 1".into(),
            });
        }
        if let Some(k) = slot.microcode.max_channel() {
            if u32::from(k) >= channels {
                out.push(Problem {
                    field: format!("learning[{si}].microcode"),
                    message: format!(
                        "reads modulator channel {k}, the chip has {channels} channel(s)"
                    ),
                });
            }
        }
        if let Some(e) = &slot.eprop {
            let field = format!("learning[{si}].eprop");
            for message in e.problems(channels) {
                out.push(Problem {
                    field: field.clone(),
                    message,
                });
            }
            if !slot.microcode.equations.is_empty() {
                out.push(Problem {
                    field,
                    message: "an e-prop slot runs no microcode: leave it empty".into(),
                });
            }
        }
    }
}

/// The rows of e-prop slots reach only LIF and ALIF compartments (ψ needs a threshold).
fn eprop_targets(image: &ChipImage, out: &mut Vec<Problem>) {
    for core in &image.cores {
        for pr in &core.plastic_rows {
            let is_eprop = image
                .learning
                .get(pr.slot as usize)
                .is_some_and(|s| s.eprop.is_some());
            if !is_eprop || pr.row as usize >= core.synapses.rows().len() {
                continue;
            }
            let bad = core.synapses.row_synapses(pr.row).find(|s| {
                !core
                    .compartments
                    .get(s.target as usize)
                    .and_then(|&p| core.profiles.get(p as usize))
                    .is_some_and(|p| matches!(p, NeuronParams::Lif(_) | NeuronParams::Alif(_)))
            });
            if let Some(s) = bad {
                out.push(Problem {
                    field: format!("cores[{}].plastic_rows", core.id),
                    message: format!(
                        "e-prop row {} reaches compartment {}, which is not LIF or ALIF",
                        pr.row, s.target
                    ),
                });
            }
        }
    }
}

/// A problem at `field` when `used` of a core's resource exceeds its `cap`:
/// "`used` `what`, the core has `cap`".
fn over(push: &mut impl FnMut(String, String), field: String, used: u64, cap: u64, what: &str) {
    if used > cap {
        push(field, format!("{used} {what}, the core has {cap}"));
    }
}

/// The checks of core `ci` that need nothing but the core, the image's learning slots
/// and the chip's limits.
fn core_problems(
    image: &ChipImage,
    config: &ChipConfig,
    ci: usize,
    core: &CoreImage,
) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut push = |field: String, message: String| out.push(Problem { field, message });
    let at = |f: &str| format!("cores[{ci}].{f}");
    let limits = &config.core;
    let pop = config.core.population.as_ref();

    neuron_problems(ci, core, limits, &mut push);
    over(
        &mut push,
        at("synapses"),
        core.input_axons_used(pop),
        limits.input_axons as u64,
        "input axons",
    );
    over(
        &mut push,
        at("synapses"),
        core.synapses.used_bits(),
        limits.synapse_memory_bits,
        "bits of synapse memory",
    );
    row_problems(ci, core, limits, &mut push);
    let (n, offsets) = (core.compartments.len(), &core.fanout_offsets);
    if offsets.len() != n + 1
        || offsets.first() != Some(&0)
        || offsets.windows(2).any(|w| w[0] > w[1])
        || offsets.last().copied() != Some(core.fanout.len() as u32)
    {
        push(
            at("fanout_offsets"),
            format!(
                "must rise from 0 to {} in {} entries",
                core.fanout.len(),
                n + 1
            ),
        );
    }
    over(
        &mut push,
        at("fanout"),
        core.output_axons_used(pop),
        limits.output_axons as u64,
        "output axons",
    );
    let discrete = core.discrete_rows() as usize;
    for pr in &core.plastic_rows {
        if pr.row as usize >= discrete || pr.slot as usize >= image.learning.len() {
            push(
                at("plastic_rows"),
                format!("row {} / slot {} does not exist", pr.row, pr.slot),
            );
        }
    }
    out
}

/// Core `ci`'s compartments fit the core, its profiles are models the chip implements
/// with valid parameters, and every compartment's profile exists.
fn neuron_problems(
    ci: usize,
    core: &CoreImage,
    limits: &CoreConfig,
    push: &mut impl FnMut(String, String),
) {
    over(
        push,
        format!("cores[{ci}].compartments"),
        core.compartments.len() as u64,
        limits.compartments as u64,
        "compartments",
    );
    for (pi, p) in core.profiles.iter().enumerate() {
        if !limits.neuron_models.contains(&p.kind()) {
            push(
                format!("cores[{ci}].profiles[{pi}]"),
                format!("{:?} neurons are not implemented by this chip", p.kind()),
            );
        }
        for m in p.problems() {
            push(format!("cores[{ci}].profiles[{pi}]"), m);
        }
    }
    if let Some(bad) = core
        .compartments
        .iter()
        .find(|&&p| p as usize >= core.profiles.len())
    {
        push(
            format!("cores[{ci}].compartments"),
            format!(
                "profile index {bad} but only {} profiles",
                core.profiles.len()
            ),
        );
    }
}

/// Every synapse row of core `ci`: widths, exponent, delay and tag fields the chip
/// allows, its target coding, and (discrete rows) targets inside the core.
fn row_problems(
    ci: usize,
    core: &CoreImage,
    limits: &CoreConfig,
    push: &mut impl FnMut(String, String),
) {
    let (mem, n) = (&core.synapses, core.compartments.len());
    let discrete = core.discrete_rows() as usize;
    for (ri, row) in mem.rows().iter().enumerate() {
        let at = || format!("cores[{ci}].synapses.rows[{ri}]");
        let f = &row.format;
        if !limits.weight_bits.contains(&f.weight_bits) {
            push(
                at(),
                format!("{}-bit weights are not supported", f.weight_bits),
            );
        }
        if row.exponent < limits.weight_exponent_min || row.exponent > limits.weight_exponent_max {
            push(
                at(),
                format!(
                    "weight exponent {} outside {}..={}",
                    row.exponent, limits.weight_exponent_min, limits.weight_exponent_max
                ),
            );
        }
        if f.delay_bits > limits.max_delay_bits || f.tag_bits > limits.max_tag_bits {
            push(at(), "delay or tag field wider than the chip allows".into());
        }
        // Shared rows hold targets relative to their axons' bases (checked there).
        let bound = (ri < discrete).then_some(n);
        let (coding, beyond) = target_problems(row, limits, bound, mem.row_targets(ri as u32));
        if let Some(m) = coding {
            push(format!("cores[{ci}].synapses.rows[{ri}].coding"), m);
        }
        if let Some(t) = beyond {
            push(at(), format!("synapse targets compartment {t} of {n}"));
        }
    }
}

/// What is wrong with a row's targets, from one pass over them: its coding (see
/// [`delta_row_problem`]) and, with `bound`, the first target at or past `bound`.
fn target_problems(
    row: &crate::synapse::Row,
    limits: &crate::config::CoreConfig,
    bound: Option<usize>,
    targets: impl Iterator<Item = u32>,
) -> (Option<String>, Option<u32>) {
    let mut coding = delta_row_problem(row, limits);
    let delta = matches!(row.coding, crate::synapse::TargetCoding::Delta { .. });
    let mut scan_deltas = delta && coding.is_none();
    let limit = 1u64 << row.format.index_bits.min(32);
    // A sparse target is an `index_bits`-wide field, so below `limit`: within any
    // bound at or above that without reading an entry (a full core's rows).
    let bound = bound.filter(|&n| delta || (n as u64) < limit);
    if !scan_deltas && bound.is_none() {
        return (coding, None);
    }
    let (mut prev, mut beyond) = (0u32, None);
    for t in targets {
        // Deltas are unsigned, so the targets never decrease unless the sum wraps.
        if scan_deltas && (t < prev || t as u64 >= limit) {
            coding = Some(format!(
                "delta-coded targets overflow the {}-bit index",
                row.format.index_bits
            ));
            scan_deltas = false;
        }
        prev = t;
        if beyond.is_none() && bound.is_some_and(|n| t as usize >= n) {
            beyond = Some(t);
        }
        if !scan_deltas && (beyond.is_some() || bound.is_none()) {
            break;
        }
    }
    (coding, beyond)
}

/// What is wrong with a row's target coding that its header shows, if anything: a
/// delta row needs a chip with delta rows and `1 ≤ delta_bits ≤ min(index_bits,
/// max_delta_bits)`; [`target_problems`] checks that its prefix sums (the targets) stay
/// within `index_bits`.
fn delta_row_problem(
    row: &crate::synapse::Row,
    limits: &crate::config::CoreConfig,
) -> Option<String> {
    let crate::synapse::TargetCoding::Delta { delta_bits } = row.coding else {
        return None;
    };
    let Some(d) = &limits.delta_rows else {
        return Some("a delta-coded row, but the chip has no delta rows".into());
    };
    let max = row.format.index_bits.min(d.max_delta_bits);
    if !(1..=max).contains(&delta_bits) {
        return Some(format!("delta_bits = {delta_bits}: outside 1..={max}"));
    }
    None
}
