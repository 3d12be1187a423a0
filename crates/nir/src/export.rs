//! A chip image as a NIR graph (`amine nir export`): the inverse of [`crate::lower`] for
//! the LIF networks the chip runs, read from the image itself (what is on the chip, with
//! its quantized weights), so a program and its image export alike.
//!
//! Every population becomes a `CubaLIF` node whose continuous-time parameters the
//! importer's discretisation maps back to the same chip fields at scale 1 (see
//! `docs/nir.md`): `tau_syn = dt·4096/(du+1)`, `tau_mem = dt·4096/dv`, `r = tau_mem/dt`,
//! `w_in = tau_syn/dt` (so the input gain is 1 and NIR weights are chip weight units),
//! `v_threshold = vth`, `v_reset = 0`, `v_leak = bias·4096/dv`. Each (source, target,
//! delay) group of synapses becomes a `Linear` node (weights in weight units,
//! `(target, source)`), followed by a `Delay` node of `d·dt` seconds when `d > 0`. Inputs
//! become `Input` nodes, spike probes `Output` nodes. Order, Dale signs and probe names go
//! into amine's node metadata (see [`crate::graph::AmineMeta`]).

use crate::error::{Error, ErrorKind};
use crate::graph::{AmineMeta, NirGraph, NirNode, Tensor};
use amine_chip::image::{ChipImage, InputSource, ProbeKind};
use amine_chip::neuron::lif::LifParams;
use amine_chip::neuron::NeuronParams;
use amine_compiler::audit::image_synapses;
use std::collections::BTreeMap;

/// An exported graph and what did not carry over into NIR.
#[derive(Debug, Clone)]
pub struct Exported {
    pub graph: NirGraph,
    /// What NIR cannot say and was left out (input sources, learning, modulators).
    pub notes: Vec<String>,
}

/// Summed weights (weight units) by (pre, post) neuron, per (source node, target node,
/// delay) in the audit's node numbering.
type Groups = BTreeMap<(u32, u32, u8), BTreeMap<(u32, u32), f64>>;

/// The chip's weight unit in u units (`effective_weight` is `mantissa << (6 + exp)`).
const U_PER_WEIGHT: f64 = 64.0;

/// Export `image` with step `dt` seconds.
pub fn from_image(image: &ChipImage, dt: f64) -> Result<Exported, Error> {
    if !(dt > 0.0 && dt.is_finite()) {
        return Err(Error::new(ErrorKind::Argument(format!(
            "--dt = {dt}: the step must be a positive number of seconds"
        ))));
    }
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    let mut g = NirGraph::default();
    let npops = image.populations.len();
    // Node names: populations, then inputs (the audit's node numbering).
    let mut names: Vec<String> = image.populations.iter().map(|p| p.name.clone()).collect();
    names.extend(image.inputs.iter().map(|i| i.name.clone()));
    let sizes: Vec<usize> = image
        .populations
        .iter()
        .map(|p| p.size as usize)
        .chain(image.inputs.iter().map(|i| i.size as usize))
        .collect();
    for (k, pop) in image.populations.iter().enumerate() {
        match population_params(image, k) {
            Ok(params) => {
                g.nodes.insert(pop.name.clone(), cuba_lif(&params, dt));
            }
            Err(m) => problems.push(format!("population `{}`: {m}", pop.name)),
        }
        g.meta.insert(
            pop.name.clone(),
            AmineMeta {
                order: Some(k as i64),
                sign: Some(pop.sign),
                name: None,
            },
        );
    }
    for (k, input) in image.inputs.iter().enumerate() {
        g.nodes.insert(
            input.name.clone(),
            NirNode::Input {
                shape: vec![input.size as usize],
            },
        );
        g.meta.insert(
            input.name.clone(),
            AmineMeta {
                order: Some((npops + k) as i64),
                sign: None,
                name: None,
            },
        );
        if !matches!(input.source, InputSource::External) {
            notes.push(format!(
                "input `{}`: its {} source is not part of NIR; the Input node takes its spikes from outside",
                input.name,
                source_name(&input.source)
            ));
        }
    }
    // Synapses grouped by (source node, target population, delay), summed per pair.
    let synapses = image_synapses(image).map_err(|m| {
        Error::new(ErrorKind::Invalid(vec![format!(
            "the image is inconsistent: {m}"
        )]))
    })?;
    let mut groups = Groups::new();
    for (pre, i, post, j, w, d) in synapses {
        *groups
            .entry((pre, post, d))
            .or_default()
            .entry((i, j))
            .or_insert(0.0) += f64::from(w) / U_PER_WEIGHT;
    }
    projections(&mut g, groups, &names, &sizes, dt);
    probe_nodes(&mut g, image, &mut notes);
    if !image.learning.is_empty() {
        notes.push(format!(
            "{} learning rule(s): NIR has no plasticity; the weights are exported as they are in the image",
            image.learning.len()
        ));
    }
    if !image.modulator.sources.is_empty() {
        notes.push("the modulator grid and its sources are not part of NIR; left out".into());
    }
    for name in g.nodes.keys() {
        if name.contains('/') || name.contains('.') || name.is_empty() {
            problems.push(format!(
                "`{name}`: a NIR node name must be non-empty and contain no `/` or `.`"
            ));
        }
    }
    if problems.is_empty() {
        Ok(Exported { graph: g, notes })
    } else {
        Err(Error::new(ErrorKind::Invalid(problems)))
    }
}

/// A `Linear` node (and a `Delay` node when `d > 0`) per synapse group, with its edges.
fn projections(g: &mut NirGraph, groups: Groups, names: &[String], sizes: &[usize], dt: f64) {
    for (order, ((pre, post, d), ws)) in groups.into_iter().enumerate() {
        let (from, to) = (&names[pre as usize], &names[post as usize]);
        let (n_in, n_out) = (sizes[pre as usize], sizes[post as usize]);
        let mut weight = vec![0.0; n_in * n_out];
        for ((i, j), w) in ws {
            weight[j as usize * n_in + i as usize] = w;
        }
        let lin = if d == 0 {
            format!("{from}->{to}")
        } else {
            format!("{from}->{to}@{d}")
        };
        g.nodes.insert(
            lin.clone(),
            NirNode::Linear {
                weight: Tensor::new(vec![n_out, n_in], weight),
            },
        );
        g.meta.insert(
            lin.clone(),
            AmineMeta {
                order: Some(order as i64),
                ..AmineMeta::default()
            },
        );
        g.edges.push((from.clone(), lin.clone()));
        if d == 0 {
            g.edges.push((lin, to.clone()));
        } else {
            let delay = format!("{lin}:delay");
            g.nodes.insert(
                delay.clone(),
                NirNode::Delay {
                    delay: Tensor::vector(vec![f64::from(d) * dt; n_out]),
                },
            );
            g.edges.push((lin, delay.clone()));
            g.edges.push((delay, to.clone()));
        }
    }
}

/// An `Output` node per whole-population spike probe; other probes become notes.
fn probe_nodes(g: &mut NirGraph, image: &ChipImage, notes: &mut Vec<String>) {
    for probe in &image.probes {
        let Some(pop) = image
            .populations
            .iter()
            .find(|p| p.name == probe.population)
        else {
            continue;
        };
        if probe.kind != ProbeKind::Spikes || probe.neurons.is_some() {
            notes.push(format!(
                "probe `{}`: only whole-population spike probes are NIR Output nodes; left out",
                probe.name
            ));
            continue;
        }
        let mut out = format!("{}:out", probe.name);
        while g.nodes.contains_key(&out) {
            out.push('_');
        }
        g.nodes.insert(
            out.clone(),
            NirNode::Output {
                shape: vec![pop.size as usize],
            },
        );
        g.meta.insert(
            out.clone(),
            AmineMeta {
                name: Some(probe.name.clone()),
                ..AmineMeta::default()
            },
        );
        g.edges.push((pop.name.clone(), out));
    }
}

fn source_name(s: &InputSource) -> String {
    match s {
        InputSource::Bernoulli { p, .. } => format!("Bernoulli(p = {p})"),
        InputSource::Poisson { rate_hz, .. } => format!("Poisson({rate_hz} Hz)"),
        InputSource::Explicit { spikes } => format!("explicit ({} spikes)", spikes.len()),
        InputSource::External => "external".into(),
        InputSource::Graded { .. } => "graded".into(),
    }
}

/// Each neuron's LIF parameters, in population order, from the cores' profiles.
fn population_params(image: &ChipImage, k: usize) -> Result<Vec<LifParams>, String> {
    let pop = &image.populations[k];
    let mut params = vec![None; pop.size as usize];
    for b in &pop.blocks {
        let core = image
            .cores
            .iter()
            .find(|c| c.id == b.core)
            .ok_or_else(|| format!("block on missing core {}", b.core))?;
        for n in 0..b.count {
            let profile = core
                .compartments
                .get((b.first_compartment + n) as usize)
                .and_then(|&p| core.profiles.get(usize::from(p)))
                .ok_or("a compartment without a profile")?;
            let p = match profile {
                NeuronParams::Lif(p) => *p,
                NeuronParams::Alif(_) => return Err(
                    "ALIF compartments have no NIR node (NIR's neurons have no adaptive threshold)"
                        .into(),
                ),
                NeuronParams::Graded(_) => {
                    return Err("graded units have no NIR node (NIR's neurons spike)".into())
                }
            };
            if p.refractory != 0 {
                return Err(format!(
                    "a refractory period of {} steps has no NIR equivalent",
                    p.refractory
                ));
            }
            if p.dv == 0 {
                return Err(
                    "no voltage leak (dv = 0): NIR's CubaLIF needs a finite tau_mem".into(),
                );
            }
            let slot = params
                .get_mut((b.first_neuron + n) as usize)
                .ok_or("a block outside the population")?;
            *slot = Some(p);
        }
    }
    params
        .into_iter()
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| "a neuron on no core".to_string())
}

/// The CubaLIF node whose discretisation at `dt` (scale 1) gives back `params`.
fn cuba_lif(params: &[LifParams], dt: f64) -> NirNode {
    let col = |f: &dyn Fn(&LifParams) -> f64| Tensor::vector(params.iter().map(f).collect());
    let tau_syn = |p: &LifParams| dt * 4096.0 / (f64::from(p.du) + 1.0);
    let tau_mem = |p: &LifParams| dt * 4096.0 / f64::from(p.dv);
    NirNode::CubaLif {
        tau_syn: col(&tau_syn),
        tau_mem: col(&tau_mem),
        r: col(&|p| tau_mem(p) / dt),
        v_leak: col(&|p| f64::from(p.bias()) / U_PER_WEIGHT * 4096.0 / f64::from(p.dv)),
        v_threshold: col(&|p| f64::from(p.vth)),
        v_reset: col(&|_| 0.0),
        w_in: col(&|p| tau_syn(p) / dt),
    }
}
