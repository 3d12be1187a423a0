//! Lowering a checked NIR graph to an amine [`Program`] (see `docs/nir.md`).
//!
//! **Discretisation** (forward Euler, step `dt`, current updated before voltage, as the
//! chip does): for CubaLIF,
//!
//! ```text
//! I[t] = (1 − dt/τs)·I[t−1] + (dt/τs)·w_in·x[t]
//! v[t] = (1 − dt/τm)·v[t−1] + (dt/τm)·(v_leak + r·I[t]);  spike iff v[t] > v_th, then v = v_reset
//! ```
//!
//! where `x[t]` is the neuron's summed weighted input in step `t` (a spike counts 1).
//! LIF has no current (`I = x`, so `du = 4095` clears `u` every step); IF and I have no
//! leak (`v += dt·r·x`, `dv = 0`); LI/CubaLI/I never spike. With `v' = v − v_reset`
//! the reset is to zero, as on the chip, and the leak target becomes a bias.
//!
//! **Mapping** per neuron node with scale `c` (chip weight units per NIR voltage unit):
//! `du + 1 = round(4096·dt/τs)`, `dv = round(4096·dt/τm)`, `vth = round(c·(v_th − v_reset))`,
//! a synapse of NIR weight `w` (the product along the chain of linear nodes) becomes
//! `c·g·w` weight units with the input gain `g = r·dt/τm · dt/τs · w_in` (CubaLIF),
//! `r·dt/τ` (LIF/LI), `r·dt` (IF/I), 1 (Threshold), and the bias is
//! `c·(dt/τm)·(v_leak − v_reset) + c·g·b/((du + 1)/4096)` for a constant input `b`
//! (Affine biases; exact for current-free models, the steady state for Cuba models).
//! `c = 1` when that makes every threshold, bias and weight exactly representable;
//! otherwise the power of two putting the largest threshold in (2048, 4096] (or, for
//! non-spiking nodes, the largest weight in (128, 256]), lowered while a weight would
//! overflow 255·2^7. Either is then halved while the 24-bit current `u` could wrap with
//! every input spiking in every step (a note on the node says so).

use crate::error::{Error, ErrorKind};
use crate::graph::{NirNode, Tensor};
use crate::ops::{self, SparseOp};
use crate::validate::{size, Checked};
use amine_chip::image::{ProbeKind, Sign};
use amine_chip::neuron::lif::{LifParams, U_WRAP, VTH_MAX};
use amine_compiler::neurons::bias_fields;
use amine_compiler::program::{
    Connect, Input, Model, Population, ProbeSpec, Program, Projection, Source,
};
use std::collections::{BTreeMap, BTreeSet};

/// Largest weight the chip's synapses hold, in weight units (8-bit mantissa << 7).
const W_MAX: f64 = 255.0 * 128.0;

/// How one NIR node was mapped.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeMap {
    pub node: String,
    pub nir_type: String,
    pub size: usize,
    /// `Compartments`, `InputPort`, `Probe` or `Folded` (a linear node).
    pub role: Role,
    /// Populations (name, neuron indices of the node) for neuron nodes; the input's name
    /// for Input nodes.
    pub populations: Vec<(String, Vec<usize>)>,
    /// Weight units per NIR voltage unit (neuron nodes; 1 otherwise).
    pub scale: f64,
    /// True when every parameter of the node maps to the chip without rounding.
    pub exact: bool,
    /// Why it is not exact, or other remarks.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Compartments,
    InputPort,
    Probe,
    Folded,
}

/// An imported network: the program and how each node was mapped.
#[derive(Debug, Clone)]
pub struct Lowered {
    pub program: Program,
    pub nodes: Vec<NodeMap>,
}

impl Lowered {
    pub fn node(&self, name: &str) -> Option<&NodeMap> {
        self.nodes.iter().find(|n| n.node == name)
    }
}

/// Sparse weights from one source node: `(pre, post, delay) → w`.
type Terms = BTreeMap<(usize, usize, u32), f64>;

/// What reaches a node's input: sparse weights from neuron/Input nodes plus a constant.
#[derive(Debug, Clone, Default)]
struct Expr {
    terms: BTreeMap<String, Terms>,
    bias: Vec<f64>,
}

impl Expr {
    fn identity(src: &str, n: usize) -> Expr {
        let terms = (0..n).map(|i| ((i, i, 0), 1.0)).collect();
        Expr {
            terms: BTreeMap::from([(src.to_string(), terms)]),
            bias: vec![0.0; n],
        }
    }

    fn add(&mut self, other: &Expr) {
        if self.bias.len() < other.bias.len() {
            self.bias.resize(other.bias.len(), 0.0);
        }
        for (i, b) in other.bias.iter().enumerate() {
            self.bias[i] += b;
        }
        for (src, t) in &other.terms {
            let mine = self.terms.entry(src.clone()).or_default();
            for (k, w) in t {
                *mine.entry(*k).or_insert(0.0) += w;
            }
        }
    }

    fn apply(&self, op: &SparseOp) -> Expr {
        let mut out = Expr {
            terms: BTreeMap::new(),
            bias: op.bias.clone(),
        };
        for (mid, b) in self.bias.iter().enumerate() {
            if *b != 0.0 {
                for &(o, w, _) in op.cols.get(mid).into_iter().flatten() {
                    out.bias[o] += b * w;
                }
            }
        }
        for (src, t) in &self.terms {
            let mut nt = Terms::new();
            for (&(pre, mid, d), &w) in t {
                for &(o, w2, d2) in op.cols.get(mid).into_iter().flatten() {
                    *nt.entry((pre, o, d + d2)).or_insert(0.0) += w * w2;
                }
            }
            out.terms.insert(src.clone(), nt);
        }
        out
    }
}

/// Per-neuron discretised equations of a neuron node (NIR voltage units).
#[derive(Debug, Clone, Copy)]
struct Neuron {
    /// `dt/τs`, or None for models without a current (u cleared every step).
    cur: Option<f64>,
    /// `dt/τm` (0 for IF/I).
    leak: f64,
    /// Input gain onto the current (see the module docs).
    gain: f64,
    /// Per-step bias from `v_leak − v_reset`.
    bias: f64,
    /// `v_th − v_reset`, None for non-spiking models.
    thr: Option<f64>,
}

fn neuron_eqs(node: &NirNode, i: usize, dt: f64) -> Neuron {
    let a = |t: &Tensor| t.at(i);
    match node {
        NirNode::Threshold { threshold } => Neuron {
            cur: None,
            leak: 1.0,
            gain: 1.0,
            bias: 0.0,
            thr: Some(a(threshold)),
        },
        NirNode::I { r } => Neuron {
            cur: None,
            leak: 0.0,
            gain: a(r) * dt,
            bias: 0.0,
            thr: None,
        },
        NirNode::If {
            r,
            v_threshold,
            v_reset,
        } => Neuron {
            cur: None,
            leak: 0.0,
            gain: a(r) * dt,
            bias: 0.0,
            thr: Some(a(v_threshold) - a(v_reset)),
        },
        NirNode::Li { tau, r, v_leak } => Neuron {
            cur: None,
            leak: dt / a(tau),
            gain: a(r) * dt / a(tau),
            bias: dt / a(tau) * a(v_leak),
            thr: None,
        },
        NirNode::Lif {
            tau,
            r,
            v_leak,
            v_threshold,
            v_reset,
        } => Neuron {
            cur: None,
            leak: dt / a(tau),
            gain: a(r) * dt / a(tau),
            bias: dt / a(tau) * (a(v_leak) - a(v_reset)),
            thr: Some(a(v_threshold) - a(v_reset)),
        },
        NirNode::CubaLi {
            tau_syn,
            tau_mem,
            r,
            v_leak,
            w_in,
        } => Neuron {
            cur: Some(dt / a(tau_syn)),
            leak: dt / a(tau_mem),
            gain: a(r) * dt / a(tau_mem) * dt / a(tau_syn) * a(w_in),
            bias: dt / a(tau_mem) * a(v_leak),
            thr: None,
        },
        NirNode::CubaLif {
            tau_syn,
            tau_mem,
            r,
            v_leak,
            v_threshold,
            v_reset,
            w_in,
        } => Neuron {
            cur: Some(dt / a(tau_syn)),
            leak: dt / a(tau_mem),
            gain: a(r) * dt / a(tau_mem) * dt / a(tau_syn) * a(w_in),
            bias: dt / a(tau_mem) * (a(v_leak) - a(v_reset)),
            thr: Some(a(v_threshold) - a(v_reset)),
        },
        _ => Neuron {
            cur: None,
            leak: 0.0,
            gain: 0.0,
            bias: 0.0,
            thr: None,
        },
    }
}

fn is_whole(x: f64) -> bool {
    (x - x.round()).abs() <= 1e-9 * x.abs().max(1.0)
}

/// `x` is `m·2^e` with `|m| ≤ 255` and `e ∈ −6..=7`: a synapse holds it exactly.
fn weight_exact(x: f64) -> bool {
    (-6..=7).any(|e| {
        let m = x / 2f64.powi(e);
        is_whole(m) && m.abs() <= 255.0
    })
}

fn bias_exact(b: f64) -> bool {
    match bias_fields(b) {
        Ok((m, e)) => {
            let q = LifParams {
                bias_mant: m,
                bias_exp: e,
                ..Default::default()
            }
            .bias();
            (f64::from(q) - b * 64.0).abs() <= 1e-9 * (b * 64.0).abs().max(1.0)
        }
        Err(_) => false,
    }
}

/// Whole steps of a delay in seconds.
fn steps(x: f64, dt: f64) -> Option<u32> {
    let s = x / dt;
    (s.is_finite() && s >= 0.0 && is_whole(s) && s <= 255.0).then(|| s.round() as u32)
}

/// Lower a checked graph with step `dt` seconds; `name` becomes the program's name.
pub fn lower(c: &Checked, dt: f64, name: &str) -> Result<Lowered, Error> {
    if !(dt > 0.0 && dt.is_finite()) {
        return Err(Error::new(ErrorKind::Argument(format!(
            "--dt = {dt}: the step must be a positive number of seconds"
        ))));
    }
    let g = &c.graph;
    let mut problems = Vec::new();
    let shape = |n: &str| c.shapes.get(n).cloned().unwrap_or_default();
    // Delay parameters must be whole steps.
    for (name, node) in &g.nodes {
        if let NirNode::Delay { delay } = node {
            if let Some(bad) = delay.data.iter().find(|&&d| steps(d, dt).is_none()) {
                problems.push(format!(
                    "node `{name}` (Delay): parameter `delay` = {bad} s is not a whole number of steps of {dt} s in 0..=255"
                ));
            }
        }
    }
    // What reaches every node's input, memoised; cycles through linear nodes only are errors.
    let mut memo: BTreeMap<String, Expr> = BTreeMap::new();
    let mut inputs: BTreeMap<String, Expr> = BTreeMap::new();
    for (name, node) in &g.nodes {
        if node.is_neuron() || matches!(node, NirNode::Output { .. }) {
            let mut e = Expr::default();
            for p in g.preds(name) {
                let mut stack = BTreeSet::new();
                match output_of(c, p, dt, &mut memo, &mut stack) {
                    Ok(x) => e.add(&x),
                    Err(m) => problems.push(m),
                }
            }
            inputs.insert(name.clone(), e);
        }
    }
    let mut prog = Program {
        name: name.to_string(),
        seed: 0,
        dt_ms: dt * 1e3,
        populations: vec![],
        inputs: vec![],
        projections: vec![],
        probes: vec![],
        modulators: vec![],
        mapping: Default::default(),
        grid: None,
        eprop: None,
        sigprop: None,
    };
    let mut maps = Vec::new();
    // amine metadata (from `amine nir export`): program order of nodes, by population.
    let order_of = |n: &str| g.meta.get(n).and_then(|m| m.order).unwrap_or(i64::MAX);
    let mut order: BTreeMap<String, i64> = BTreeMap::new();
    // Neuron index → (population, local index), per node.
    let mut index: BTreeMap<String, Vec<(String, u32)>> = BTreeMap::new();
    let mut gains: BTreeMap<String, (f64, Vec<f64>)> = BTreeMap::new();
    for (name, node) in &g.nodes {
        let sh = shape(name);
        match node {
            NirNode::Input { .. } if !name.contains('.') || g.preds(name).is_empty() => {
                let n = size(&sh.output.unwrap_or_default());
                order.insert(name.clone(), order_of(name));
                prog.inputs.push(Input {
                    name: name.clone(),
                    size: n as u32,
                    source: Source::External,
                    sign: Sign::Mixed,
                    entry_tile: None,
                });
                index.insert(
                    name.clone(),
                    (0..n).map(|i| (name.clone(), i as u32)).collect(),
                );
                maps.push(NodeMap {
                    node: name.clone(),
                    nir_type: "Input".into(),
                    size: n,
                    role: Role::InputPort,
                    populations: vec![(name.clone(), (0..n).collect())],
                    scale: 1.0,
                    exact: true,
                    notes: vec!["external spikes (supplied when the image runs)".into()],
                });
            }
            n if n.is_neuron() => {
                let size_n = size(&sh.output.unwrap_or_default());
                let input = inputs.get(name).cloned().unwrap_or_default();
                match neuron_node(name, n, size_n, &input, dt) {
                    Ok((m, pops, gain, idx)) => {
                        for (pname, p) in pops {
                            order.insert(pname.clone(), order_of(name));
                            prog.populations.push(Population {
                                name: pname,
                                size: p.1,
                                model: Model::LifRaw(p.0),
                                sign: g.meta.get(name).and_then(|m| m.sign).unwrap_or(Sign::Mixed),
                                positions: None,
                            });
                        }
                        gains.insert(name.clone(), (m.scale, gain));
                        index.insert(name.clone(), idx);
                        maps.push(m);
                    }
                    Err(mut p) => problems.append(&mut p),
                }
            }
            NirNode::Output { .. } => {}
            _ => maps.push(NodeMap {
                node: name.clone(),
                nir_type: node.type_name().into(),
                size: size(&sh.output.unwrap_or_default()),
                role: Role::Folded,
                populations: vec![],
                scale: 1.0,
                exact: true,
                notes: vec!["folded into the projections it lies on".into()],
            }),
        }
    }
    // Projections: one per (source population, target population, delay).
    for (post_node, e) in &inputs {
        let Some((scale, gain)) = gains.get(post_node) else {
            continue;
        };
        for (src, terms) in &e.terms {
            let (Some(pre_idx), Some(post_idx)) = (index.get(src), index.get(post_node)) else {
                continue;
            };
            let mut groups: BTreeMap<GroupKey, Vec<(u32, u32, f64)>> = BTreeMap::new();
            for (&(pre, post, d), &w) in terms {
                let w = w * scale * gain.get(post).copied().unwrap_or(0.0);
                if w == 0.0 || pre >= pre_idx.len() || post >= post_idx.len() {
                    continue;
                }
                if w.is_nan() || w.abs() > W_MAX {
                    problems.push(format!(
                        "edge into `{post_node}`: a weight from `{src}` of {w} weight units exceeds the chip's largest synapse weight {W_MAX}"
                    ));
                    continue;
                }
                let (pp, pl) = &pre_idx[pre];
                let (qp, ql) = &post_idx[post];
                groups
                    .entry((pp.clone(), qp.clone(), d))
                    .or_default()
                    .push((*pl, *ql, w));
            }
            for ((pp, qp, d), triples) in groups {
                if d > 255 {
                    problems.push(format!(
                        "edges into `{post_node}`: delay of {d} steps exceeds 255"
                    ));
                    continue;
                }
                let base = format!("{pp}->{qp}");
                prog.projections.push(Projection {
                    name: Some(if d == 0 { base } else { format!("{base}@{d}") }),
                    from: pp,
                    to: qp,
                    connect: Connect::Sparse(triples),
                    weight: None,
                    delay: d as u8,
                    weight_bits: None,
                    seed: None,
                    learning: None,
                    sign: None,
                });
            }
        }
    }
    // Convolutions stay convolutions (for shared synapse lists).
    crate::conv::restore(c, &mut prog, &index, &gains);
    // Probes: what feeds each Output node.
    for (name, node) in &g.nodes {
        if !matches!(node, NirNode::Output { .. }) {
            continue;
        }
        let mut pops = Vec::new();
        for p in g.preds(name) {
            match g.nodes.get(p) {
                Some(n) if n.is_neuron() => {
                    let kind = if n.is_integrator() { ProbeKind::Voltage } else { ProbeKind::Spikes };
                    if let Some(m) = maps.iter().find(|m| m.node == p) {
                        let named = g.meta.get(name).and_then(|m| m.name.clone());
                        let single = m.populations.len() == 1 && g.preds(name).len() == 1;
                        for (pop, _) in &m.populations {
                            prog.probes.push(ProbeSpec {
                                name: match &named {
                                    Some(n) if single => n.clone(),
                                    _ => format!("{name}.{pop}"),
                                },
                                population: pop.clone(),
                                kind,
                                neurons: None,
                            });
                            pops.push(pop.clone());
                        }
                    }
                }
                Some(n) => problems.push(format!(
                    "node `{name}` (Output): fed by `{p}` ({}); amine records neurons only, so an Output must follow a neuron node",
                    n.type_name()
                )),
                None => {}
            }
        }
        let n = size(&shape(name).input.unwrap_or_default());
        maps.push(NodeMap {
            node: name.clone(),
            nir_type: "Output".into(),
            size: n,
            role: Role::Probe,
            populations: pops.into_iter().map(|p| (p, vec![])).collect(),
            scale: 1.0,
            exact: true,
            notes: vec![],
        });
    }
    // Program order where the graph carries it (stable: the rest keep their order).
    let key = |n: &str| order.get(n).copied().unwrap_or(i64::MAX);
    prog.populations.sort_by_key(|p| key(&p.name));
    prog.inputs.sort_by_key(|i| key(&i.name));
    prog.projections
        .sort_by_key(|p| (key(&p.from), key(&p.to), p.delay));
    if problems.is_empty() {
        maps.sort_by(|a, b| a.node.cmp(&b.node));
        Ok(Lowered {
            program: prog,
            nodes: maps,
        })
    } else {
        problems.sort();
        problems.dedup();
        Err(Error::new(ErrorKind::Invalid(problems)))
    }
}

/// The expression a node outputs: identity for sources (neurons, Inputs), the linear
/// map applied to its inputs otherwise.
fn output_of(
    c: &Checked,
    name: &str,
    dt: f64,
    memo: &mut BTreeMap<String, Expr>,
    stack: &mut BTreeSet<String>,
) -> Result<Expr, String> {
    if let Some(e) = memo.get(name) {
        return Ok(e.clone());
    }
    let g = &c.graph;
    let node = g
        .nodes
        .get(name)
        .ok_or_else(|| format!("edge from `{name}`, which does not exist"))?;
    let sh = c.shapes.get(name).cloned().unwrap_or_default();
    let n_out = size(&sh.output.clone().unwrap_or_default());
    let is_source =
        node.is_neuron() || (matches!(node, NirNode::Input { .. }) && g.preds(name).is_empty());
    if is_source {
        return Ok(Expr::identity(name, n_out));
    }
    if !stack.insert(name.to_string()) {
        return Err(format!(
            "node `{name}` ({}): lies on a cycle of linear nodes without a neuron (an algebraic loop)",
            node.type_name()
        ));
    }
    let mut acc = Expr {
        terms: BTreeMap::new(),
        bias: vec![0.0; size(&sh.input.clone().unwrap_or_default())],
    };
    for p in g.preds(name) {
        acc.add(&output_of(c, p, dt, memo, stack)?);
    }
    stack.remove(name);
    let e = match node {
        NirNode::Input { .. } | NirNode::Output { .. } => acc,
        _ => {
            let op = ops::sparse_op(
                node,
                &sh.input.unwrap_or_default(),
                &sh.output.unwrap_or_default(),
                &|d| steps(d, dt).unwrap_or(0),
            )
            .ok_or_else(|| {
                format!(
                    "node `{name}` ({}): cannot be expressed as a linear map",
                    node.type_name()
                )
            })?;
            acc.apply(&op)
        }
    };
    memo.insert(name.to_string(), e.clone());
    Ok(e)
}

/// Projections are grouped by (source population, target population, delay).
type GroupKey = (String, String, u32);

type Pops = Vec<(String, (LifParams, u32))>;

/// A neuron node's populations (one per distinct parameter set), mapping and gains.
#[allow(clippy::type_complexity)]
fn neuron_node(
    name: &str,
    node: &NirNode,
    n: usize,
    input: &Expr,
    dt: f64,
) -> Result<(NodeMap, Pops, Vec<f64>, Vec<(String, u32)>), Vec<String>> {
    let ty = node.type_name();
    let mut problems = Vec::new();
    for (p, t) in node.neuron_params() {
        if let Some(x) = t.data.iter().find(|x| !x.is_finite()) {
            problems.push(format!(
                "node `{name}` ({ty}): parameter `{p}` = {x} is not finite"
            ));
        }
        if p.starts_with("tau") {
            if let Some(x) = t.data.iter().find(|&&x| x < dt) {
                problems.push(format!(
                    "node `{name}` ({ty}): parameter `{p}` = {x} s is shorter than the step dt = {dt} s (forward Euler needs tau ≥ dt)"
                ));
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let eqs: Vec<Neuron> = (0..n).map(|i| neuron_eqs(node, i, dt)).collect();
    for (i, e) in eqs.iter().enumerate() {
        if let Some(t) = e.thr {
            if t < 0.0 {
                problems.push(format!(
                    "node `{name}` ({ty}): neuron {i}: v_threshold is below v_reset ({t} below); the chip needs a non-negative threshold above the reset"
                ));
                break;
            }
        }
    }
    // Raw input weights and constant input onto each post neuron, before scaling.
    let mut max_w = 0f64;
    let mut raw_w = Vec::new();
    // Per post neuron: the summed positive and negative raw weights (every input spiking).
    let mut drive = vec![(0f64, 0f64); n];
    for t in input.terms.values() {
        for (&(_, post, _), &w) in t {
            let x = w * eqs.get(post).map_or(0.0, |e| e.gain);
            max_w = max_w.max(x.abs());
            raw_w.push(x);
            if let Some(d) = drive.get_mut(post) {
                if x > 0.0 {
                    d.0 += x;
                } else {
                    d.1 -= x;
                }
            }
        }
    }
    let du_of = |e: &Neuron| e.cur.map_or(4095.0, |a| (4096.0 * a).round() - 1.0);
    // Worst-case |u| in u units per unit of scale: every presynaptic source spiking in
    // every step, so u settles at (summed weights)·4096/(du + 1); the 1/128 covers the
    // compiler's rounding of weights to 8-bit mantissas. `u` must stay within ±2^23.
    let u_per_scale = eqs
        .iter()
        .zip(&drive)
        .map(|(e, &(p, q))| 64.0 * p.max(q) * 4096.0 / (du_of(e) + 1.0) * (1.0 + 1.0 / 128.0))
        .fold(0f64, f64::max);
    let u_fits = |c: f64| c * u_per_scale <= f64::from(U_WRAP);
    let bias_of = |e: &Neuron, i: usize, c: f64| {
        let b = input.bias.get(i).copied().unwrap_or(0.0);
        let frac = (du_of(e) + 1.0) / 4096.0;
        c * e.bias + c * e.gain * b / frac
    };
    let max_thr = eqs.iter().filter_map(|e| e.thr).fold(0f64, f64::max);
    let exact_at = |c: f64| {
        eqs.iter().enumerate().all(|(i, e)| {
            e.thr
                .is_none_or(|t| is_whole(c * t) && c * t <= VTH_MAX as f64)
                && bias_exact(bias_of(e, i, c))
        }) && raw_w.iter().all(|&w| weight_exact(c * w))
    };
    let mut headroom = None;
    let scale = if exact_at(1.0) && u_fits(1.0) {
        1.0
    } else {
        let mut k = if max_thr > 0.0 {
            (4096.0 / max_thr).log2().floor()
        } else if max_w > 0.0 {
            (256.0 / max_w).log2().floor()
        } else {
            0.0
        };
        k = k.clamp(-60.0, 60.0);
        while k > -60.0 && max_w * 2f64.powf(k) > W_MAX {
            k -= 1.0;
        }
        let k0 = k;
        while k > -60.0 && !u_fits(2f64.powf(k)) {
            k -= 1.0;
        }
        if k < k0 {
            headroom = Some(2f64.powf(k0));
        }
        2f64.powf(k)
    };
    let mut notes = Vec::new();
    if let Some(c0) = headroom {
        notes.push(format!(
            "scale lowered from {c0} to {scale} so that the current u stays within ±2^23 with every input spiking in every step (worst case {:.0} of 8388608)",
            scale * u_per_scale
        ));
    }
    let mut exact = exact_at(scale);
    let mut params = Vec::with_capacity(n);
    for (i, e) in eqs.iter().enumerate() {
        let du = du_of(e);
        let dv = (4096.0 * e.leak).round();
        if !is_whole(4096.0 * e.leak) || e.cur.is_some_and(|a| !is_whole(4096.0 * a)) {
            exact = false;
            if notes.is_empty() {
                notes.push("decays dt/tau are not multiples of 1/4096 (rounded)".to_string());
            }
        }
        if du < 0.0 {
            problems.push(format!(
                "node `{name}` ({ty}): neuron {i}: tau_syn is so long that dt/tau_syn rounds to 0 in 1/4096 (the chip's current always leaks 1/4096 per step)"
            ));
            break;
        }
        let vth = match e.thr {
            Some(t) => (scale * t).round(),
            None => VTH_MAX as f64,
        };
        if vth > VTH_MAX as f64 {
            problems.push(format!(
                "node `{name}` ({ty}): neuron {i}: threshold {vth} weight units exceeds the chip's {VTH_MAX}"
            ));
            break;
        }
        let (bias_mant, bias_exp) = match bias_fields(bias_of(e, i, scale)) {
            Ok(b) => b,
            Err(m) => {
                problems.push(format!(
                    "node `{name}` ({ty}): neuron {i}: v_leak/bias not representable: {m}"
                ));
                break;
            }
        };
        params.push(LifParams {
            du: du.clamp(0.0, 4095.0) as u16,
            dv: dv.clamp(0.0, 4095.0) as u16,
            vth: vth as u32,
            bias_mant,
            bias_exp,
            refractory: 0,
        });
    }
    if node.is_integrator() {
        notes.push("non-spiking: threshold set out of reach, read through a Voltage probe".into());
    }
    if matches!(node, NirNode::CubaLi { .. } | NirNode::CubaLif { .. })
        && input.bias.iter().any(|&b| b != 0.0)
    {
        notes.push("constant input (Affine bias) enters v as its steady-state current".into());
        exact = false;
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    // One population per distinct parameter set, in order of first appearance.
    let mut distinct: Vec<LifParams> = Vec::new();
    for p in &params {
        if !distinct.contains(p) {
            distinct.push(*p);
        }
    }
    let pname = |k: usize| {
        if distinct.len() == 1 {
            name.to_string()
        } else {
            format!("{name}#{k}")
        }
    };
    let mut counts = vec![0u32; distinct.len()];
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); distinct.len()];
    let mut idx = Vec::with_capacity(n);
    for (i, p) in params.iter().enumerate() {
        let k = distinct.iter().position(|d| d == p).unwrap_or(0);
        idx.push((pname(k), counts[k]));
        counts[k] += 1;
        members[k].push(i);
    }
    let pops: Pops = distinct
        .iter()
        .enumerate()
        .map(|(k, p)| (pname(k), (*p, counts[k])))
        .collect();
    let map = NodeMap {
        node: name.to_string(),
        nir_type: ty.to_string(),
        size: n,
        role: Role::Compartments,
        populations: pops.iter().map(|(p, _)| p.clone()).zip(members).collect(),
        scale,
        exact,
        notes,
    };
    Ok((map, pops, eqs.iter().map(|e| e.gain).collect(), idx))
}
