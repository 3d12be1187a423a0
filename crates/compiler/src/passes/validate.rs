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
use crate::program::{Connect, Positions, Source, Weight};
use amine_chip::config::NeuronModelKind;
use amine_chip::image::{ProbeKind, Sign};
use amine_chip::learning;
use std::collections::{BTreeMap, BTreeSet};

pub fn run(c: &mut Compilation) -> Result<(), Error> {
    let mut p = Vec::new();
    let mut limits = Vec::new();
    c.nodes = nodes(c);
    check_names(c, &mut p);
    c.params = populations(c, &mut p, &mut limits);
    inputs(c, &mut p, &mut limits);
    for i in 0..c.program.projections.len() {
        projection(c, i, &mut p, &mut limits);
    }
    probes_and_modulators(c, &mut p, &mut limits);
    learning_and_mapping(c, &mut p, &mut limits);
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
        Connect::Random { p, modules, .. } => p * npre * npost / modules.unwrap_or(1).max(1) as f64,
        Connect::Dense(rows) => rows
            .iter()
            .map(|r| r.iter().filter(|w| **w != 0.0).count() as f64)
            .sum(),
        Connect::Sparse(list) => list.len() as f64,
        Connect::File(f) => c.synapse_files[f].synapses.len() as f64,
    }
}

/// Refuse, before expanding anything, a program with more synapses than every core's
/// memory together could hold at the narrowest entry (index bits + 1 weight bit): it
/// cannot fit, and expanding it could exhaust the host's memory.
fn synapse_budget(c: &Compilation, limits: &mut Vec<LimitExceeded>) {
    let expected: f64 = (0..c.program.projections.len())
        .map(|i| expected_synapses(c, i))
        .sum();
    let entry = (c.chip.compartment_index_bits() + 1) as f64;
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

fn limit(
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
        let at = |f: &str| format!("populations[{i}].{f}");
        total += pop.size as u64;
        if pop.size == 0 {
            p.push(Problem::new(
                at("size"),
                "a population needs at least one neuron",
            ));
        }
        match neurons::resolve(&pop.model, c.program.dt_ms) {
            Ok(np) => {
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
                params.push(np);
            }
            Err(ms) => {
                for m in ms {
                    p.push(Problem::new(at("model"), m));
                }
                params.push(amine_chip::neuron::NeuronParams::Lif(Default::default()));
            }
        }
        match &pop.positions {
            Some(Positions::Grid { width, height })
                if (*width as u64) * (*height as u64) < pop.size as u64 =>
            {
                p.push(Problem::new(
                    at("positions"),
                    format!(
                        "a {width}×{height} lattice has fewer cells than {} neurons",
                        pop.size
                    ),
                ));
            }
            Some(Positions::Grid { .. }) => {}
            Some(Positions::Random { .. }) => {}
            Some(Positions::List(list)) => {
                if list.len() != pop.size as usize {
                    p.push(Problem::new(
                        at("positions"),
                        format!("{} positions for {} neurons", list.len(), pop.size),
                    ));
                }
                if let Some(k) = list
                    .iter()
                    .position(|(x, y)| !((0.0..=1.0).contains(x) && (0.0..=1.0).contains(y)))
                {
                    p.push(Problem::new(
                        at("positions"),
                        format!("position {k} is outside the die [0, 1] × [0, 1]"),
                    ));
                }
            }
            None => {}
        }
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
fn max_delay(c: &Compilation, i: usize) -> u32 {
    let pr = &c.program.projections[i];
    let file = match &pr.connect {
        Connect::File(f) => c.synapse_files[f]
            .synapses
            .iter()
            .filter_map(|s| s.delay)
            .max()
            .unwrap_or(0),
        _ => 0,
    };
    (pr.delay as u32).max(file)
}

fn projection(c: &Compilation, i: usize, p: &mut Vec<Problem>, limits: &mut Vec<LimitExceeded>) {
    let pr = &c.program.projections[i];
    let at = |f: &str| format!("projections[{i}].{f}");
    let from = c.node(&pr.from);
    let to = c.node(&pr.to);
    if from.is_none() {
        p.push(Problem::new(
            at("from"),
            format!("no population or input `{}`", pr.from),
        ));
    }
    match to.map(|t| c.nodes[t].kind) {
        None => p.push(Problem::new(at("to"), format!("no population `{}`", pr.to))),
        Some(NodeKind::Input(_)) => p.push(Problem::new(
            at("to"),
            format!("`{}` is an input; projections end on populations", pr.to),
        )),
        _ => {}
    }
    let (Some(from), Some(to)) = (from, to) else {
        return;
    };
    let (npre, npost) = (c.nodes[from].size, c.nodes[to].size);
    let sign = pr.sign_with(c.nodes[from].sign);
    if let Some(s) = pr.sign {
        if c.nodes[from].sign != Sign::Mixed && c.nodes[from].sign != s {
            p.push(Problem::new(
                at("sign"),
                format!(
                    "{s:?} contradicts the {:?} sign of `{}`",
                    c.nodes[from].sign, pr.from
                ),
            ));
        }
    }
    let dale = |w: f64| match sign {
        Sign::Excitatory => w >= 0.0,
        Sign::Inhibitory => w <= 0.0,
        Sign::Mixed => true,
    };
    let dale_msg = |w: f64| {
        format!(
            "weight {w} from {:?} `{}` breaks Dale's principle (its weights must be {})",
            sign,
            pr.from,
            if sign == Sign::Excitatory {
                "≥ 0"
            } else {
                "≤ 0"
            }
        )
    };
    let carries_weights = matches!(
        pr.connect,
        Connect::Dense(_) | Connect::Sparse(_) | Connect::File(_)
    );
    match (&pr.weight, carries_weights) {
        (Some(_), true) => p.push(Problem::new(
            at("weight"),
            "this connectivity carries its own weights; remove `weight`",
        )),
        (None, false) => p.push(Problem::new(
            at("weight"),
            "required: Some(Const(w)), Some(Uniform(low:, high:)) or Some(Normal(mean:, std:))",
        )),
        _ => {}
    }
    match pr.weight.clone() {
        Some(Weight::Const(w)) => {
            if !w.is_finite() {
                p.push(Problem::new(at("weight"), format!("{w} is not finite")));
            } else if !dale(w) {
                p.push(Problem::new(at("weight"), dale_msg(w)));
            }
        }
        Some(Weight::Uniform { low, high }) => {
            if !(low.is_finite() && high.is_finite() && low <= high) {
                p.push(Problem::new(
                    at("weight"),
                    format!("uniform bounds ({low}, {high}) must be finite with low ≤ high"),
                ));
            } else if !dale(low) || !dale(high) {
                p.push(Problem::new(
                    at("weight"),
                    dale_msg(if dale(low) { high } else { low }),
                ));
            }
        }
        Some(Weight::Normal { mean, std }) => {
            if !(mean.is_finite() && std.is_finite() && std >= 0.0) {
                p.push(Problem::new(
                    at("weight"),
                    format!("normal ({mean}, {std}) needs a finite mean and std ≥ 0"),
                ));
            } else if mean != 0.0 && !dale(mean) {
                // Draws are truncated to the source's sign, which needs the mean on that side.
                p.push(Problem::new(at("weight"), dale_msg(mean)));
            }
        }
        None => {}
    }
    match &pr.connect {
        Connect::All => {}
        Connect::OneToOne => {
            if npre != npost {
                p.push(Problem::new(
                    at("connect"),
                    format!(
                        "OneToOne needs equal sizes, `{}` has {npre} and `{}` {npost}",
                        pr.from, pr.to
                    ),
                ));
            }
        }
        Connect::Random {
            p: prob, modules, ..
        } => {
            if !(0.0..=1.0).contains(prob) {
                p.push(Problem::new(
                    at("connect.p"),
                    format!("{prob} is not a probability in [0, 1]"),
                ));
            }
            if let Some(m) = modules {
                if *m == 0 || *m > npre.min(npost) {
                    p.push(Problem::new(
                        at("connect.modules"),
                        format!(
                            "{m} modules for sizes {npre} and {npost}: need 1..={}",
                            npre.min(npost)
                        ),
                    ));
                }
            }
        }
        Connect::Dense(rows) => {
            if rows.len() != npre as usize {
                p.push(Problem::new(
                    at("connect"),
                    format!("{} rows, `{}` has {npre} neurons", rows.len(), pr.from),
                ));
            }
            for (r, row) in rows.iter().enumerate() {
                if row.len() != npost as usize {
                    p.push(Problem::new(
                        format!("projections[{i}].connect[{r}]"),
                        format!("{} columns, `{}` has {npost} neurons", row.len(), pr.to),
                    ));
                    break;
                }
                if let Some(w) = row.iter().find(|w| !w.is_finite() || !dale(**w)) {
                    let m = if w.is_finite() {
                        dale_msg(*w)
                    } else {
                        format!("{w} is not finite")
                    };
                    p.push(Problem::new(format!("projections[{i}].connect[{r}]"), m));
                    break;
                }
            }
        }
        Connect::Sparse(list) => {
            for (k, &(a, b, w)) in list.iter().enumerate() {
                let m = if a >= npre || b >= npost {
                    format!("({a}, {b}) is outside {npre} × {npost}")
                } else if !w.is_finite() {
                    format!("{w} is not finite")
                } else if !dale(w) {
                    dale_msg(w)
                } else {
                    continue;
                };
                p.push(Problem::new(format!("projections[{i}].connect[{k}]"), m));
                break;
            }
        }
        Connect::File(f) => {
            let t = &c.synapse_files[f];
            for s in &t.synapses {
                let m = if s.pre >= npre {
                    format!("pre index {} but `{}` has {npre} neurons", s.pre, pr.from)
                } else if s.post >= npost {
                    format!("post index {} but `{}` has {npost} neurons", s.post, pr.to)
                } else if !dale(s.weight) {
                    dale_msg(s.weight)
                } else {
                    continue;
                };
                p.push(Problem::new(format!("{}:{}", t.origin, s.line), m));
                break;
            }
        }
    }
    let chip = &c.chip.core;
    let d = max_delay(c, i);
    let dmax = (1u32 << chip.max_delay_bits) - 1;
    if d > dmax {
        limits.push(limit(
            c,
            "core.max_delay_bits",
            format!("projection `{}` (delay {d} steps)", pr.name()),
            crate::passes::quantize::bits_for_value(d as u64) as u64,
            chip.max_delay_bits as u64,
            &format!("keep delays within {dmax} steps"),
        ));
    }
    if let Some(b) = pr.weight_bits {
        if !chip.weight_bits.contains(&b) {
            limits.push(limit(
                c,
                "core.weight_bits",
                format!("projection `{}`", pr.name()),
                b as u64,
                chip.weight_bits.iter().copied().max().unwrap_or(0) as u64,
                &format!("use one of the supported widths {:?}", chip.weight_bits),
            ));
        }
    }
}

fn check_neurons(list: &Option<Vec<u32>>, size: u32, at: String, p: &mut Vec<Problem>) {
    if let Some(k) = list.iter().flatten().find(|&&k| k >= size) {
        p.push(Problem::new(
            at,
            format!("neuron {k} of a {size}-neuron population"),
        ));
    }
}

fn probes_and_modulators(c: &Compilation, p: &mut Vec<Problem>, limits: &mut Vec<LimitExceeded>) {
    let pop = |name: &str| {
        c.node(name)
            .filter(|&n| matches!(c.nodes[n].kind, NodeKind::Population(_)))
    };
    for (i, probe) in c.program.probes.iter().enumerate() {
        let Some(n) = pop(&probe.population) else {
            p.push(Problem::new(
                format!("probes[{i}].population"),
                format!("no population `{}`", probe.population),
            ));
            continue;
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
    let grid = &c.chip.modulator;
    for (i, m) in c.program.modulators.iter().enumerate() {
        let Some(n) = pop(&m.population) else {
            p.push(Problem::new(
                format!("modulators[{i}].population"),
                format!("no population `{}`", m.population),
            ));
            continue;
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
}

/// Assemble a rule (a named rule with its parameters, or an expression) with the chip's
/// learning-engine assembler, so the compiler accepts exactly what the engine can run.
fn rule_ok(
    rule: &str,
    params: &std::collections::BTreeMap<String, f64>,
    chip: &amine_chip::ChipConfig,
) -> Result<(), Vec<String>> {
    let text = match learning::named_rule(rule, params) {
        Some(Ok(text)) => text,
        Some(Err(m)) => return Err(vec![m]),
        None if !params.is_empty() => {
            return Err(vec![format!(
                "`params` only go with a named rule ({})",
                learning::NAMED_RULES
                    .iter()
                    .map(|r| r.0)
                    .collect::<Vec<_>>()
                    .join(", ")
            )])
        }
        None => rule.to_string(),
    };
    learning::assemble(&text, &learning::Limits::of(chip))
        .map(|_| ())
        .map_err(|es| es.iter().map(|e| e.render(&text)).collect())
}

/// An `eprop` attachment: its parameters, a LIF/ALIF target and a spiking source.
fn eprop_ok(
    c: &Compilation,
    pr: &crate::program::Projection,
    params: &BTreeMap<String, f64>,
    at: &str,
    p: &mut Vec<Problem>,
) {
    use crate::program::Model;
    match crate::passes::emit::eprop_params(params, c.program.dt_ms) {
        Err(m) => p.push(Problem::new(at, m)),
        Ok(e) => {
            let g = &c.chip.modulator;
            let channels = if g.width > 0 { g.channels } else { 0 };
            for m in e.problems(channels) {
                p.push(Problem::new(at, format!("eprop: {m}")));
            }
        }
    }
    let population = |name: &str| c.program.populations.iter().find(|q| q.name == name);
    if let Some(q) = population(&pr.to) {
        if !matches!(
            q.model,
            Model::Lif { .. } | Model::LifRaw(_) | Model::Alif { .. } | Model::AlifRaw(_)
        ) {
            p.push(Problem::new(
                at,
                format!(
                    "`eprop` needs LIF or ALIF targets (ψ reads v and the threshold); `{}` is not",
                    pr.to
                ),
            ));
        }
    }
    let graded_population =
        population(&pr.from).is_some_and(|q| matches!(q.model, Model::Graded { .. }));
    let graded_input = c
        .program
        .inputs
        .iter()
        .any(|x| x.name == pr.from && matches!(x.source, Source::Graded { .. }));
    if graded_population || graded_input {
        p.push(Problem::new(
            at,
            format!(
                "`eprop` needs a spiking source (εv filters spikes); `{}` sends graded values",
                pr.from
            ),
        ));
    }
}

fn learning_and_mapping(c: &Compilation, p: &mut Vec<Problem>, limits: &mut Vec<LimitExceeded>) {
    let mut rules = 0;
    for (i, pr) in c.program.projections.iter().enumerate() {
        let Some(l) = &pr.learning else { continue };
        rules += 1;
        let at = |f: &str| format!("projections[{i}].learning.{f}");
        if l.rule.trim() == crate::passes::emit::EPROP {
            eprop_ok(c, pr, &l.params, &at("rule"), p);
        } else if let Err(ms) = rule_ok(l.rule.trim(), &l.params, &c.chip) {
            for m in ms {
                p.push(Problem::new(at("rule"), m));
            }
        }
        if l.epoch == 0 {
            p.push(Problem::new(at("epoch"), "must be at least 1 step"));
        }
        let mirrored = c.program.populations.iter().any(|q| {
            q.name == pr.to
                && matches!(
                    q.model,
                    crate::program::Model::Graded {
                        activation: crate::program::Activation::MirroredRamp,
                        ..
                    }
                )
        });
        if mirrored {
            p.push(Problem::new(
                at("rule"),
                format!(
                    "`{}` has a MirroredRamp activation, whose decreasing table has no derivative a rule can read",
                    pr.to
                ),
            ));
        }
        let t = &l.traces;
        for (name, given) in [
            ("x1", t.x1),
            ("x2", t.x2),
            ("y1", t.y1),
            ("y2", t.y2),
            ("y3", t.y3),
        ] {
            let Some(tr) = given else { continue };
            let steps = tr.tau.steps(c.program.dt_ms);
            if !(steps.is_finite() && steps >= 1.0) {
                p.push(Problem::new(
                    at(&format!("traces.{name}.tau")),
                    format!("{steps} steps: must be at least 1 step"),
                ));
            }
            let max = (1u32 << c.chip.learning.trace_bits.clamp(1, 16)) - 1;
            if u32::from(tr.impulse) > max {
                p.push(Problem::new(
                    at(&format!("traces.{name}.impulse")),
                    format!(
                        "{} exceeds the chip's {}-bit traces (max {max})",
                        tr.impulse, c.chip.learning.trace_bits
                    ),
                ));
            }
        }
        if let Some((k, v)) = l.params.iter().find(|(_, v)| !v.is_finite()) {
            p.push(Problem::new(
                at("params"),
                format!("`{k}` = {v} is not finite"),
            ));
        }
    }
    if rules > 0 && !c.chip.learning.enabled {
        limits.push(limit(
            c,
            "learning.enabled",
            format!("{rules} learning rule(s)"),
            1,
            0,
            "use a chip with a learning engine or drop the `learning` attachments",
        ));
    }
    let mut grouped = BTreeSet::new();
    for (g, names) in c.program.mapping.colocate.iter().enumerate() {
        for name in names {
            let at = format!("mapping.colocate[{g}]");
            match c.node(name).map(|n| c.nodes[n].kind) {
                Some(NodeKind::Population(_)) => {
                    if !grouped.insert(name) {
                        p.push(Problem::new(
                            at,
                            format!("`{name}` is in more than one group"),
                        ));
                    }
                }
                _ => p.push(Problem::new(at, format!("no population `{name}`"))),
            }
        }
    }
    if c.program.mapping.max_compartments_per_core == Some(0) {
        p.push(Problem::new(
            "mapping.max_compartments_per_core",
            "must be at least 1",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_assembled_by_the_learning_engine() {
        let chip = amine_chip::presets::preset("loihi").unwrap();
        let none = Default::default();
        assert!(rule_ok("stdp", &none, &chip).is_ok());
        assert!(rule_ok("dw = 2^-4*x1*y0 - 2^-5*y1*x0", &none, &chip).is_ok());
        assert!(rule_ok("dw = x1*zz", &none, &chip).is_err());
        let bad: std::collections::BTreeMap<String, f64> = [("nope".to_string(), 1.0)].into();
        let e = rule_ok("stdp", &bad, &chip).unwrap_err();
        assert!(e[0].contains("nope"), "{e:?}");
    }

    use crate::testutil::*;
    use crate::ErrorKind;

    fn problems(text: &str) -> Vec<crate::Problem> {
        match err(compile_text(text, &chip(|_| {}))).kind() {
            ErrorKind::Invalid { problems, .. } => problems.clone(),
            k => panic!("{k:?}"),
        }
    }

    /// `pre` (a Bernoulli input) → `post` (`to_model`) with an `eprop` rule.
    fn eprop_program(to_model: &str, params: &str, from_graded: bool) -> String {
        let source = if from_graded {
            "Graded()"
        } else {
            "Bernoulli(p: 0.1)"
        };
        format!(
            "Program(name: \"t\", seed: 5, populations: [(name: \"post\", size: 3, sign: Mixed, model: {to_model})], \
             inputs: [(name: \"pre\", size: 4, source: {source})], \
             projections: [(from: \"pre\", to: \"post\", connect: All, weight: Some(Const(1.0)), \
             learning: Some((rule: \"eprop\", params: {{{params}}}, epoch: 100)))])"
        )
    }

    const ALIF: &str = "Alif(tau_syn: Steps(1), tau_mem: Steps(20), threshold: 100, tau_adapt: Steps(200), adapt: 10)";

    #[test]
    fn eprop_makes_an_eprop_slot() {
        let text = eprop_program(ALIF, r#""beta": 1.5, "tau_m": 20, "eta": 0.5"#, false);
        let compiled = compile_text(&text, &chip(|_| {})).expect("compiles");
        let slot = &compiled.image.learning[0];
        let e = slot.eprop.expect("an e-prop slot");
        assert!(slot.microcode.equations.is_empty());
        assert!(
            (e.alpha - (-1.0f64 / 20.0).exp()).abs() < 1e-12,
            "dt = 1 ms"
        );
        assert!(
            (e.rho - (-1.0f64 / 200.0).exp()).abs() < 1e-12,
            "default τa"
        );
        assert_eq!((e.beta, e.eta, e.channel, e.frac_bits), (1.5, 0.5, 0, 16));
        assert_eq!(slot.epoch, 100);
    }

    #[test]
    fn eprop_needs_spiking_lif_or_alif() {
        let graded_target = "Graded(u0: 10)";
        let p = problems(&eprop_program(graded_target, "", false));
        assert!(p.iter().any(|x| x.message.contains("LIF or ALIF")), "{p:?}");
        let p = problems(&eprop_program(ALIF, "", true));
        assert!(
            p.iter().any(|x| x.message.contains("spiking source")),
            "{p:?}"
        );
        let p = problems(&eprop_program(ALIF, r#""tau_m": 20, "alpha": 0.9"#, false));
        assert!(p.iter().any(|x| x.message.contains("not both")), "{p:?}");
        let p = problems(&eprop_program(ALIF, r#""gamma": 1"#, false));
        assert!(
            p.iter().any(|x| x.message.contains("no parameter `gamma`")),
            "{p:?}"
        );
        let p = problems(&eprop_program(ALIF, r#""channel": 9"#, false));
        assert!(p.iter().any(|x| x.message.contains("channel 9")), "{p:?}");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let text = program(
            &[pop("a", 10, "Excitatory"), pop("a", 5, "Mixed")],
            "",
            r#"(from: "a", to: "nope", connect: All, weight: Some(Const(1.0))),
               (from: "a", to: "a", connect: Random(p: 1.5), weight: Some(Const(-2.0))),
               (from: "a", to: "a", connect: OneToOne)"#,
        );
        let p = problems(&text);
        let at: Vec<&str> = p.iter().map(|x| x.at.as_str()).collect();
        assert!(at.contains(&"populations[1].name"), "{p:?}");
        assert!(at.contains(&"projections[0].to"), "{p:?}");
        assert!(at.contains(&"projections[1].connect.p"), "{p:?}");
        assert!(at.contains(&"projections[2].weight"), "{p:?}");
        // Dale's principle: an excitatory source with a negative weight.
        assert!(p.iter().any(|x| x.message.contains("Dale")), "{p:?}");
    }

    #[test]
    fn dale_is_checked_in_csv_files_with_their_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("w.csv"), "0,0,1\n1,0,-1\n").unwrap();
        let text = program(
            &[pop("e", 2, "Excitatory")],
            "",
            r#"(from: "e", to: "e", connect: File("w.csv"))"#,
        );
        let e = err(crate::compile_str(
            &text,
            "t.ron",
            dir.path(),
            &chip(|_| {}),
        ));
        let ErrorKind::Invalid { problems, .. } = e.kind() else {
            panic!("{e}")
        };
        assert!(problems[0].at.ends_with("w.csv:2"), "{e}");
    }

    #[test]
    fn chip_wide_limits_are_hardware_errors() {
        let text = program(
            &[pop("a", 600, "Mixed")],
            "",
            r#"(from: "a", to: "a", connect: OneToOne, weight: Some(Const(1.0)), delay: 40)"#,
        );
        let e = err(compile_text(&text, &chip(|_| {})));
        let l = limits(&e);
        assert!(l.contains(&"chip.compartments".to_string()), "{e}");
        assert!(l.contains(&"core.max_delay_bits".to_string()), "{e}");
        assert!(e.to_string().contains("600"), "{e}");
    }

    #[test]
    fn models_the_chip_lacks_are_named() {
        let text = program(&[pop("a", 2, "Mixed")], "", "");
        let c = chip(|c| c.core.neuron_models = vec![amine_chip::config::NeuronModelKind::Graded]);
        let e = err(compile_text(&text, &c));
        assert_eq!(limits(&e), vec!["core.neuron_models"]);
    }

    #[test]
    fn hopeless_synapse_counts_are_refused_before_expansion() {
        // 500 × 500 all-to-all: 250,000 synapses of at least 7 bits, on 8 × 16,384 bits.
        let text = program(
            &[pop("a", 500, "Mixed")],
            "",
            r#"(from: "a", to: "a", connect: All, weight: Some(Const(1.0)))"#,
        );
        let e = err(compile_text(&text, &chip(|_| {})));
        assert_eq!(limits(&e), vec!["chip.synapse_memory_bits"]);
        let big = program(
            &[pop("a", 5, "Mixed")],
            "(name: \"in\", size: 4000000000, source: External)",
            "",
        );
        let e = err(compile_text(&big, &chip(|_| {})));
        assert!(e.to_string().contains("inputs[0].size"), "{e}");
    }
}
