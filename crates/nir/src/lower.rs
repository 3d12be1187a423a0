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
use crate::graph::NirNode;
use crate::ops::{self, SparseOp};
use crate::validate::{size, Checked};
use amine_chip::image::{ProbeKind, Sign};
use amine_compiler::program::{
    Connect, Input, Model, Population, ProbeSpec, Program, Projection, Source,
};
use std::collections::{BTreeMap, BTreeSet};

mod neuron;

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

fn is_whole(x: f64) -> bool {
    (x - x.round()).abs() <= 1e-9 * x.abs().max(1.0)
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
    let mut problems = delay_problems(c, dt);
    let inputs = node_inputs(c, dt, &mut problems);
    let mut l = Lowering::new(c, name, dt, problems);
    for (name, node) in &c.graph.nodes {
        l.node(name, node, &inputs, dt);
    }
    l.projections(&inputs);
    // Convolutions stay convolutions (for shared synapse lists).
    crate::conv::restore(c, &mut l.prog, &l.index, &l.gains);
    for (name, node) in &c.graph.nodes {
        if matches!(node, NirNode::Output { .. }) {
            l.probes(name);
        }
    }
    l.finish()
}

/// Delay parameters must be whole steps.
fn delay_problems(c: &Checked, dt: f64) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, node) in &c.graph.nodes {
        if let NirNode::Delay { delay } = node {
            if let Some(bad) = delay.data.iter().find(|&&d| steps(d, dt).is_none()) {
                problems.push(format!(
                    "node `{name}` (Delay): parameter `delay` = {bad} s is not a whole number of steps of {dt} s in 0..=255"
                ));
            }
        }
    }
    problems
}

/// What reaches every neuron and Output node's input; cycles through linear nodes only
/// are problems.
fn node_inputs(c: &Checked, dt: f64, problems: &mut Vec<String>) -> BTreeMap<String, Expr> {
    let g = &c.graph;
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
    inputs
}

/// The program being built from a graph, and what the later steps need of the nodes.
struct Lowering<'a> {
    c: &'a Checked,
    prog: Program,
    maps: Vec<NodeMap>,
    /// amine metadata (from `amine nir export`): program order of nodes, by population.
    order: BTreeMap<String, i64>,
    /// Neuron index → (population, local index), per node.
    index: BTreeMap<String, Vec<(String, u32)>>,
    /// Per neuron node: its scale and each neuron's input gain.
    gains: BTreeMap<String, (f64, Vec<f64>)>,
    problems: Vec<String>,
}

impl<'a> Lowering<'a> {
    fn new(c: &'a Checked, name: &str, dt: f64, problems: Vec<String>) -> Lowering<'a> {
        let prog = Program {
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
        Lowering {
            c,
            prog,
            maps: Vec::new(),
            order: BTreeMap::new(),
            index: BTreeMap::new(),
            gains: BTreeMap::new(),
            problems,
        }
    }

    fn shape(&self, n: &str) -> crate::validate::Shapes {
        self.c.shapes.get(n).cloned().unwrap_or_default()
    }

    fn order_of(&self, n: &str) -> i64 {
        self.c
            .graph
            .meta
            .get(n)
            .and_then(|m| m.order)
            .unwrap_or(i64::MAX)
    }

    /// Node `name`: an input port, a neuron node's populations, or a folded linear node
    /// (Output nodes become probes later).
    fn node(&mut self, name: &String, node: &NirNode, inputs: &BTreeMap<String, Expr>, dt: f64) {
        let c = self.c;
        let g = &c.graph;
        let sh = self.shape(name);
        match node {
            NirNode::Input { .. } if !name.contains('.') || g.preds(name).is_empty() => {
                self.input_port(name, size(&sh.output.unwrap_or_default()));
            }
            n if n.is_neuron() => {
                let size_n = size(&sh.output.unwrap_or_default());
                let input = inputs.get(name).cloned().unwrap_or_default();
                match neuron::neuron_node(name, n, size_n, &input, dt) {
                    Ok((m, pops, gain, idx)) => {
                        for (pname, p) in pops {
                            self.order.insert(pname.clone(), self.order_of(name));
                            self.prog.populations.push(Population {
                                name: pname,
                                size: p.1,
                                model: Model::LifRaw(p.0),
                                sign: g.meta.get(name).and_then(|m| m.sign).unwrap_or(Sign::Mixed),
                                positions: None,
                            });
                        }
                        self.gains.insert(name.clone(), (m.scale, gain));
                        self.index.insert(name.clone(), idx);
                        self.maps.push(m);
                    }
                    Err(mut p) => self.problems.append(&mut p),
                }
            }
            NirNode::Output { .. } => {}
            _ => self.maps.push(NodeMap {
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

    /// An Input node of `n` values: an external input port.
    fn input_port(&mut self, name: &str, n: usize) {
        self.order.insert(name.to_string(), self.order_of(name));
        self.prog.inputs.push(Input {
            name: name.to_string(),
            size: n as u32,
            source: Source::External,
            sign: Sign::Mixed,
            entry_tile: None,
        });
        self.index.insert(
            name.to_string(),
            (0..n).map(|i| (name.to_string(), i as u32)).collect(),
        );
        self.maps.push(NodeMap {
            node: name.to_string(),
            nir_type: "Input".into(),
            size: n,
            role: Role::InputPort,
            populations: vec![(name.to_string(), (0..n).collect())],
            scale: 1.0,
            exact: true,
            notes: vec!["external spikes (supplied when the image runs)".into()],
        });
    }

    /// Projections: one per (source population, target population, delay).
    fn projections(&mut self, inputs: &BTreeMap<String, Expr>) {
        for (post_node, e) in inputs {
            let Some((scale, gain)) = self.gains.get(post_node) else {
                continue;
            };
            for (src, terms) in &e.terms {
                let (Some(pre_idx), Some(post_idx)) =
                    (self.index.get(src), self.index.get(post_node))
                else {
                    continue;
                };
                let mut groups: BTreeMap<GroupKey, Vec<(u32, u32, f64)>> = BTreeMap::new();
                for (&(pre, post, d), &w) in terms {
                    let w = w * scale * gain.get(post).copied().unwrap_or(0.0);
                    if w == 0.0 || pre >= pre_idx.len() || post >= post_idx.len() {
                        continue;
                    }
                    if w.is_nan() || w.abs() > W_MAX {
                        self.problems.push(format!(
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
                    let (prog, problems) = (&mut self.prog, &mut self.problems);
                    push_projection(prog, problems, post_node, (pp, qp, d), triples);
                }
            }
        }
    }

    /// Output node `name`: a probe on each population of the neuron nodes feeding it.
    fn probes(&mut self, name: &String) {
        let c = self.c;
        let g = &c.graph;
        let mut pops = Vec::new();
        for p in g.preds(name) {
            match g.nodes.get(p) {
                Some(n) if n.is_neuron() => {
                    let kind = if n.is_integrator() { ProbeKind::Voltage } else { ProbeKind::Spikes };
                    if let Some(m) = self.maps.iter().find(|m| m.node == p) {
                        let named = g.meta.get(name).and_then(|m| m.name.clone());
                        let single = m.populations.len() == 1 && g.preds(name).len() == 1;
                        for (pop, _) in &m.populations {
                            self.prog.probes.push(ProbeSpec {
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
                Some(n) => self.problems.push(format!(
                    "node `{name}` (Output): fed by `{p}` ({}); amine records neurons only, so an Output must follow a neuron node",
                    n.type_name()
                )),
                None => {}
            }
        }
        let n = size(&self.shape(name).input.unwrap_or_default());
        self.maps.push(NodeMap {
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

    /// Program order where the graph carries it (stable: the rest keep their order); the
    /// lowered program, or every problem met (sorted, once each).
    fn finish(self) -> Result<Lowered, Error> {
        let Lowering {
            mut prog,
            mut maps,
            order,
            mut problems,
            ..
        } = self;
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
}

/// The sparse projection `pp -> qp` with delay `d` (named `pp->qp@d` when delayed).
fn push_projection(
    prog: &mut Program,
    problems: &mut Vec<String>,
    post_node: &str,
    (pp, qp, d): GroupKey,
    triples: Vec<(u32, u32, f64)>,
) {
    if d > 255 {
        problems.push(format!(
            "edges into `{post_node}`: delay of {d} steps exceeds 255"
        ));
        return;
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
