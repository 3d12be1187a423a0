//! Pass 2, validate: is the program meaningful, and can this chip run it at all?
//!
//! Decides nothing about the mapping; it checks names (unique, resolvable), sizes and
//! shapes, every range (probabilities, neuron parameters, indices in CSV files), Dale's
//! principle (an `Excitatory` source's weights are never negative, an `Inhibitory`
//! one's never positive) and the chip-wide limits that no mapping can change (neuron
//! models, delay width, forced weight widths, total compartments, modulator channels,
//! learning engine). Program problems are all collected into one
//! [`ErrorKind::Invalid`](crate::ErrorKind::Invalid); chip limits into one
//! [`ErrorKind::HardwareLimit`](crate::ErrorKind::HardwareLimit).
//!
//! On success it fills `nodes` (populations then inputs) and `params` (each
//! population's resolved compartment parameters).

use crate::context::{Compilation, Node, NodeKind};
use crate::error::{group, Error, ErrorKind, LimitExceeded, Problem};
use crate::neurons;
use crate::program::{Connect, ModulatorSource, Population, Positions, ProbeSpec, Source, Weight};
use amine_chip::config::NeuronModelKind;
use amine_chip::image::ProbeKind;
use std::collections::{BTreeMap, BTreeSet};

pub fn run(c: &mut Compilation) -> Result<(), Error> {
    let mut p = Vec::new();
    let mut limits = Vec::new();
    c.nodes = nodes(c);
    check_names(c, &mut p);
    c.params = populations(c, &mut p, &mut limits);
    inputs(c, &mut p, &mut limits);
    for i in 0..c.program.projections.len() {
        projection::check(c, i, &mut p, &mut limits);
    }
    probes_and_modulators(c, &mut p, &mut limits);
    learning_and_mapping(c, &mut p, &mut limits);
    eprop::spec_ok(c, &mut p, &mut limits);
    if p.is_empty() {
        synapse_budget(c, &mut limits);
    }
    if !p.is_empty() {
        return Err(Error::invalid(c.origin.clone(), p));
    }
    if !limits.is_empty() {
        return Err(Error::new(ErrorKind::HardwareLimit(limits)));
    }
    Ok(())
}

/// Most sources one input port addresses.
pub const MAX_INPUT_SIZE: u32 = 1 << 24;

/// The synapses a projection will have (expected, for random connectivity).
fn expected_synapses(c: &Compilation, i: usize) -> f64 {
    let pr = &c.program.projections[i];
    let size = |name: &str| c.node(name).map_or(0.0, |n| c.nodes[n].size as f64);
    let (npre, npost) = (size(&pr.from), size(&pr.to));
    match &pr.connect {
        Connect::All => npre * npost,
        Connect::OneToOne => npre.min(npost),
        Connect::Random {
            p,
            modules,
            partners,
            ..
        } => p * npre * npost * partners.unwrap_or(1) as f64 / modules.unwrap_or(1).max(1) as f64,
        Connect::Dense(rows) => rows
            .iter()
            .map(|r| r.iter().filter(|w| **w != 0.0).count() as f64)
            .sum(),
        Connect::Sparse(list) => list.len() as f64,
        Connect::File(f) => c.synapse_files[f].synapses.len() as f64,
        // At most the expected density on a continuous torus, ≈ 4πσ·ln 2.
        Connect::Distance { sigma, .. } => {
            (4.0 * std::f64::consts::PI * sigma * 2f64.ln()).min(1.0) * npre * npost
        }
        Connect::FixedTotal { p } => (p * npre * npost).round(),
        Connect::Conv { .. } | Connect::Pool { .. } => pr
            .connect
            .conv_spec()
            .map_or(0.0, |s| conv::expected_synapses(&s, npost)),
    }
}

/// Refuse, before expanding anything, a program with more synapses than every core's
/// memory together could hold at the narrowest entry (index bits + 1 weight bit; on a
/// chip with delta-coded rows a 1-bit delta + 1 weight bit): it cannot fit, and
/// expanding it could exhaust the host's memory.
fn synapse_budget(c: &Compilation, limits: &mut Vec<LimitExceeded>) {
    let expected: f64 = (0..c.program.projections.len())
        .map(|i| expected_synapses(c, i))
        .sum();
    let target = match c.chip.core.delta_rows {
        Some(_) => 1,
        None => c.chip.compartment_index_bits(),
    };
    let entry = (target + 1) as f64;
    let total_bits = c.chip.cores() as f64 * c.chip.core.synapse_memory_bits as f64;
    // A margin for random connectivity drawing above its mean.
    if expected * entry > total_bits * 1.05 + 4096.0 {
        limits.push(limit(
            c,
            "chip.synapse_memory_bits",
            format!("the program (~{} synapses)", group(expected as u64)),
            (expected * entry) as u64,
            total_bits as u64,
            "use a larger chip, or fewer or sparser projections",
        ));
    }
}

fn nodes(c: &Compilation) -> Vec<Node> {
    let pops = c.program.populations.iter().enumerate().map(|(i, p)| Node {
        name: p.name.clone(),
        size: p.size,
        kind: NodeKind::Population(i),
        sign: p.sign,
    });
    let ins = c.program.inputs.iter().enumerate().map(|(i, p)| Node {
        name: p.name.clone(),
        size: p.size,
        kind: NodeKind::Input(i),
        sign: p.sign,
    });
    pops.chain(ins).collect()
}

/// One exceeded limit of `c`'s chip.
pub(crate) fn limit(
    c: &Compilation,
    limit: &str,
    what: String,
    needed: u64,
    available: u64,
    fix: &str,
) -> LimitExceeded {
    LimitExceeded {
        limit: limit.into(),
        what,
        needed,
        available,
        chip: c.chip.name.clone(),
        fix: fix.into(),
    }
}

fn check_names(c: &Compilation, p: &mut Vec<Problem>) {
    let prog = &c.program;
    if prog.name.trim().is_empty() {
        p.push(Problem::new("name", "must not be empty"));
    }
    if !(prog.dt_ms > 0.0 && prog.dt_ms.is_finite()) {
        p.push(Problem::new(
            "dt_ms",
            format!("{} must be a positive duration", prog.dt_ms),
        ));
    }
    let mut seen = BTreeMap::new();
    let named = prog
        .populations
        .iter()
        .enumerate()
        .map(|(i, x)| (format!("populations[{i}].name"), &x.name))
        .chain(
            prog.inputs
                .iter()
                .enumerate()
                .map(|(i, x)| (format!("inputs[{i}].name"), &x.name)),
        );
    for (at, name) in named {
        if name.trim().is_empty() {
            p.push(Problem::new(at, "must not be empty"));
        } else if let Some(first) = seen.insert(name.clone(), at.clone()) {
            p.push(Problem::new(
                at,
                format!("`{name}` is already the name of {first}"),
            ));
        }
    }
    for (kind, names) in [
        (
            "projections",
            prog.projections
                .iter()
                .map(|x| x.name())
                .collect::<Vec<_>>(),
        ),
        (
            "probes",
            prog.probes.iter().map(|x| x.name.clone()).collect(),
        ),
    ] {
        let mut seen = BTreeSet::new();
        for (i, name) in names.into_iter().enumerate() {
            if !seen.insert(name.clone()) {
                p.push(Problem::new(
                    format!("{kind}[{i}].name"),
                    format!("`{name}` is used twice (give it a distinct `name`)"),
                ));
            }
        }
    }
}

fn populations(
    c: &Compilation,
    p: &mut Vec<Problem>,
    limits: &mut Vec<LimitExceeded>,
) -> Vec<amine_chip::neuron::NeuronParams> {
    let mut params = Vec::new();
    let mut total = 0u64;
    for (i, pop) in c.program.populations.iter().enumerate() {
        total += pop.size as u64;
        if pop.size == 0 {
            p.push(Problem::new(
                format!("populations[{i}].size"),
                "a population needs at least one neuron",
            ));
        }
        params.push(population_model(c, i, pop, p, limits));
        positions_ok(c, i, pop, p);
    }
    if total > c.chip.compartments() {
        limits.push(limit(
            c,
            "chip.compartments",
            format!("the program ({} neurons)", group(total)),
            total,
            c.chip.compartments(),
            "use a larger chip or fewer neurons",
        ));
    }
    params
}

/// Population `i`'s compartment parameters (a default LIF where its model has problems),
/// a model the chip implements.
fn population_model(
    c: &Compilation,
    i: usize,
    pop: &Population,
    p: &mut Vec<Problem>,
    limits: &mut Vec<LimitExceeded>,
) -> amine_chip::neuron::NeuronParams {
    match neurons::resolve(&pop.model, c.program.dt_ms) {
        Ok(mut np) => {
            centring_register(&mut np, &pop.name, &c.chip, limits);
            if !c.chip.core.neuron_models.contains(&np.kind()) {
                limits.push(LimitExceeded {
                    limit: "core.neuron_models".into(),
                    what: format!("population `{}` ({:?})", pop.name, np.kind()),
                    needed: 1,
                    available: 0,
                    chip: c.chip.name.clone(),
                    fix: format!(
                        "the chip implements {:?}; pick one of those models",
                        c.chip.core.neuron_models
                    ),
                });
            }
            np
        }
        Err(ms) => {
            for m in ms {
                p.push(Problem::new(format!("populations[{i}].model"), m));
            }
            amine_chip::neuron::NeuronParams::Lif(Default::default())
        }
    }
}

/// Population `i`'s positions: enough lattice cells (a shared lattice's for all the
/// neurons placed on it), or one position on the die per neuron.
fn positions_ok(c: &Compilation, i: usize, pop: &Population, p: &mut Vec<Problem>) {
    let at = || format!("populations[{i}].positions");
    match &pop.positions {
        Some(Positions::Grid { width, height })
            if (*width as u64) * (*height as u64) < pop.size as u64 =>
        {
            p.push(Problem::new(
                at(),
                format!(
                    "a {width}×{height} lattice has fewer cells than {} neurons",
                    pop.size
                ),
            ));
        }
        Some(Positions::Grid { .. }) => {}
        Some(Positions::Random { .. }) => {}
        Some(Positions::Lattice {
            width,
            height,
            seed,
        }) => {
            let shared: u64 = c
                .program
                .populations
                .iter()
                .filter(|q| {
                    q.positions
                        == Some(Positions::Lattice {
                            width: *width,
                            height: *height,
                            seed: *seed,
                        })
                })
                .map(|q| u64::from(q.size))
                .sum();
            if u64::from(*width) * u64::from(*height) < shared {
                p.push(Problem::new(
                    at(),
                    format!(
                        "a {width}×{height} lattice has fewer cells than the {shared} neurons placed on it"
                    ),
                ));
            }
        }
        Some(Positions::List(list)) => {
            if list.len() != pop.size as usize {
                p.push(Problem::new(
                    at(),
                    format!("{} positions for {} neurons", list.len(), pop.size),
                ));
            }
            if let Some(k) = list
                .iter()
                .position(|(x, y)| !((0.0..=1.0).contains(x) && (0.0..=1.0).contains(y)))
            {
                p.push(Problem::new(
                    at(),
                    format!("position {k} is outside the die [0, 1] × [0, 1]"),
                ));
            }
        }
        None => {}
    }
}

fn inputs(c: &Compilation, p: &mut Vec<Problem>, limits: &mut Vec<LimitExceeded>) {
    for (i, input) in c.program.inputs.iter().enumerate() {
        let at = |f: &str| format!("inputs[{i}].{f}");
        if input.size == 0 {
            p.push(Problem::new(
                at("size"),
                "an input needs at least one source",
            ));
        }
        if input.size > MAX_INPUT_SIZE {
            p.push(Problem::new(
                at("size"),
                format!(
                    "{} sources; an input port addresses at most {}",
                    group(input.size as u64),
                    group(MAX_INPUT_SIZE as u64)
                ),
            ));
        }
        match &input.source {
            Source::Bernoulli { p: prob, .. } if !(0.0..=1.0).contains(prob) => {
                p.push(Problem::new(
                    at("source.p"),
                    format!("{prob} is not a probability in [0, 1]"),
                ));
            }
            Source::Poisson { rate_hz, .. } if !(*rate_hz >= 0.0 && rate_hz.is_finite()) => {
                p.push(Problem::new(
                    at("source.rate_hz"),
                    format!("{rate_hz} must be a finite rate ≥ 0"),
                ));
            }
            Source::Graded { payload_bits } if !(1..=16).contains(payload_bits) => {
                p.push(Problem::new(
                    at("source.payload_bits"),
                    format!("{payload_bits} is outside 1..=16"),
                ));
            }
            Source::File(f) => {
                let table = &c.spike_files[f];
                if let Some((s, idx, line)) =
                    table.spikes.iter().find(|(_, idx, _)| *idx >= input.size)
                {
                    p.push(Problem::new(
                        format!("{}:{line}", table.origin),
                        format!(
                            "spike at step {s} for index {idx}, but input `{}` has {} sources",
                            input.name, input.size
                        ),
                    ));
                }
            }
            _ => {}
        }
        if let Some((x, y)) = input.entry_tile {
            let m = &c.chip.mesh;
            if x >= m.tiles_x || y >= m.tiles_y {
                limits.push(limit(
                    c,
                    "mesh.tiles_x/tiles_y",
                    format!("input `{}` entry tile ({x}, {y})", input.name),
                    (x.max(y) + 1) as u64,
                    m.tiles_x.min(m.tiles_y) as u64,
                    &format!("pick a tile inside the {}×{} mesh", m.tiles_x, m.tiles_y),
                ));
            }
        }
    }
}

/// The largest delay of a projection (its own, or the largest in its CSV file).
fn check_neurons(list: &Option<Vec<u32>>, size: u32, at: String, p: &mut Vec<Problem>) {
    if let Some(k) = list.iter().flatten().find(|&&k| k >= size) {
        p.push(Problem::new(
            at,
            format!("neuron {k} of a {size}-neuron population"),
        ));
    }
}

fn probes_and_modulators(c: &Compilation, p: &mut Vec<Problem>, limits: &mut Vec<LimitExceeded>) {
    for (i, probe) in c.program.probes.iter().enumerate() {
        probe_ok(c, i, probe, p);
    }
    for (i, m) in c.program.modulators.iter().enumerate() {
        modulator_ok(c, i, m, p, limits);
    }
    let grid = &c.chip.modulator;
    if let Some((w, h)) = c.program.grid.and_then(|r| r.size) {
        if w == 0 || h == 0 {
            p.push(Problem::new("grid.size", "must be at least 1 × 1 cells"));
        } else if w > grid.width || h > grid.height {
            limits.push(limit(
                c,
                "modulator.width/height",
                format!("grid.size ({w} × {h})"),
                u64::from(w.max(h)),
                u64::from(if w > grid.width {
                    grid.width
                } else {
                    grid.height
                }),
                &format!(
                    "use at most the chip's {} × {} cells",
                    grid.width, grid.height
                ),
            ));
        }
    }
    if c.program.eprop.is_some() && !c.program.modulators.is_empty() {
        p.push(Problem::new(
            "modulators",
            "an e-prop program's learning signal comes from its error units (eprop.feedback): \
             drop `modulators`",
        ));
    }
}

/// The population node `name`, if there is one.
fn population_node(c: &Compilation, name: &str) -> Option<usize> {
    c.node(name)
        .filter(|&n| matches!(c.nodes[n].kind, NodeKind::Population(_)))
}

/// Probe `i`: its population and neurons exist, and its kind can be recorded from them.
fn probe_ok(c: &Compilation, i: usize, probe: &ProbeSpec, p: &mut Vec<Problem>) {
    let Some(n) = population_node(c, &probe.population) else {
        p.push(Problem::new(
            format!("probes[{i}].population"),
            format!("no population `{}`", probe.population),
        ));
        return;
    };
    check_neurons(
        &probe.neurons,
        c.nodes[n].size,
        format!("probes[{i}].neurons"),
        p,
    );
    let graded = c.params[n].kind() == NeuronModelKind::Graded;
    if graded != (probe.kind == ProbeKind::Graded)
        && matches!(
            probe.kind,
            ProbeKind::Graded | ProbeKind::Voltage | ProbeKind::Spikes
        )
    {
        p.push(Problem::new(
            format!("probes[{i}].kind"),
            format!(
                "{:?} cannot be recorded from {:?} neurons",
                probe.kind,
                c.params[n].kind()
            ),
        ));
    }
}

/// Modulator source `i`: its population and neurons exist, a finite gain, and a channel,
/// cell and region on the chip's grid.
fn modulator_ok(
    c: &Compilation,
    i: usize,
    m: &ModulatorSource,
    p: &mut Vec<Problem>,
    limits: &mut Vec<LimitExceeded>,
) {
    let grid = &c.chip.modulator;
    let Some(n) = population_node(c, &m.population) else {
        p.push(Problem::new(
            format!("modulators[{i}].population"),
            format!("no population `{}`", m.population),
        ));
        return;
    };
    check_neurons(
        &m.neurons,
        c.nodes[n].size,
        format!("modulators[{i}].neurons"),
        p,
    );
    if !m.gain.is_finite() {
        p.push(Problem::new(
            format!("modulators[{i}].gain"),
            format!("{} is not finite", m.gain),
        ));
    }
    let channels = if grid.width > 0 { grid.channels } else { 0 };
    if m.channel >= channels {
        limits.push(limit(
            c,
            "modulator.channels",
            format!("modulator source {i} (channel {})", m.channel),
            m.channel as u64 + 1,
            channels as u64,
            "use a channel the chip's modulator grid has",
        ));
    }
    if let Some((w, h)) = m.region {
        let (x, y) = m.cell.unwrap_or((0, 0));
        if w == 0 || h == 0 || x + w > grid.width || y + h > grid.height {
            p.push(Problem::new(
                format!("modulators[{i}].region"),
                format!(
                    "a {w}×{h} region from cell ({x}, {y}) must be non-empty and inside the {}×{} grid",
                    grid.width, grid.height
                ),
            ));
        }
    }
    if let Some((x, y)) = m.cell {
        if x >= grid.width || y >= grid.height {
            limits.push(limit(
                c,
                "modulator.width/height",
                format!("modulator source {i} cell ({x}, {y})"),
                (x.max(y) + 1) as u64,
                grid.width.min(grid.height) as u64,
                &format!("pick a cell inside the {}×{} grid", grid.width, grid.height),
            ));
        }
    }
}

mod conv;
mod eprop;
mod mapping;
mod partners;
mod projection;
mod rules;
pub(crate) use conv::shared_limit;
use rules::learning_and_mapping;

#[cfg(test)]
mod tests;

/// A graded unit's centring register on `chip`: the chip's fractional bits, or the
/// missing or too small register as a limit.
fn centring_register(
    np: &mut amine_chip::neuron::NeuronParams,
    population: &str,
    chip: &amine_chip::ChipConfig,
    limits: &mut Vec<LimitExceeded>,
) {
    let amine_chip::neuron::NeuronParams::Graded(g) = np else {
        return;
    };
    let Some(reg) = g.centring.as_mut() else {
        return;
    };
    let (available, fix) = match &chip.learning.centring {
        Some(unit) if reg.rate_shift <= unit.max_rate_shift => {
            reg.frac_bits = unit.frac_bits;
            return;
        }
        Some(unit) => (
            u64::from(unit.max_rate_shift),
            format!("use a centring rate of at least 2^-{}", unit.max_rate_shift),
        ),
        None => (
            0,
            "use a chip with a centring register (the preset `loihi-ed`: `--chip loihi-ed`) or drop `centring`".into(),
        ),
    };
    limits.push(LimitExceeded {
        limit: "learning.centring".into(),
        what: format!(
            "population `{population}`'s centring rate 2^-{}",
            reg.rate_shift
        ),
        needed: u64::from(reg.rate_shift),
        available,
        chip: chip.name.clone(),
        fix,
    });
}
