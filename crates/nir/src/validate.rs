//! Graph validation: names, edges, node types and shapes, collecting every problem.
//!
//! Runs on a flattened graph (no nested `NIRGraph` nodes) and infers every node's input
//! and output shape: Input/Output and parameterised nodes declare theirs; Flatten,
//! pooling, convolutions without `input_shape` and neurons whose parameters are all
//! scalars take theirs from their predecessor. Each problem names the node (or the
//! edge) it is about. Parameter *values* (time constants, thresholds) depend on `dt`
//! and are checked by the lowering.

use crate::error::{Error, ErrorKind};
use crate::graph::{NirGraph, NirNode};
use std::collections::BTreeMap;

/// Inferred shapes of one node.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Shapes {
    /// What the node consumes (None for Input nodes).
    pub input: Option<Vec<usize>>,
    /// What the node produces (None for Output nodes... which pass their input on).
    pub output: Option<Vec<usize>>,
}

/// A validated, flattened graph with every node's shapes.
#[derive(Debug, Clone)]
pub struct Checked {
    pub graph: NirGraph,
    pub shapes: BTreeMap<String, Shapes>,
}

pub fn size(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// Flatten nested graphs, infer shapes and check everything; `Invalid` with every
/// problem found, or the checked graph.
pub fn check(graph: &NirGraph) -> Result<Checked, Error> {
    let graph = graph.flatten();
    let mut problems = Vec::new();
    for (name, node) in &graph.nodes {
        if let NirNode::Unsupported { type_name } = node {
            problems.push(format!(
                "node `{name}`: NIR node type `{type_name}` is not supported by amine \
                 (supported: Input, Output, Affine, Linear, Scale, Conv1d, Conv2d, SumPool2d, \
                 AvgPool2d, Flatten, Delay, Threshold, I, IF, LI, LIF, CubaLI, CubaLIF, NIRGraph)"
            ));
        }
    }
    for (a, b) in &graph.edges {
        for (end, n) in [("from", a), ("to", b)] {
            if !graph.nodes.contains_key(n) {
                problems.push(format!(
                    "edge `{a}` -> `{b}`: {end} node `{n}`, which does not exist"
                ));
            }
        }
        if let Some(NirNode::Output { .. }) = graph.nodes.get(a) {
            problems.push(format!("edge `{a}` -> `{b}`: leaves Output node `{a}`"));
        }
        if let Some(NirNode::Input { .. }) = graph.nodes.get(b) {
            // Nested-graph inputs are pass-throughs and may have predecessors.
            if !b.contains('.') {
                problems.push(format!("edge `{a}` -> `{b}`: enters Input node `{b}`"));
            }
        }
    }
    if !graph
        .nodes
        .values()
        .any(|n| matches!(n, NirNode::Input { .. }))
    {
        problems.push("graph: no Input node".into());
    }
    let shapes = infer(&graph, &mut problems);
    // Every edge joins matching sizes; every node with a predecessor got a shape.
    for (a, b) in &graph.edges {
        let out = shapes.get(a).and_then(|s| s.output.clone());
        let inp = shapes.get(b).and_then(|s| s.input.clone());
        if let (Some(o), Some(i)) = (out, inp) {
            if size(&o) != size(&i) {
                problems.push(format!(
                    "edge `{a}` -> `{b}`: shape mismatch: `{a}` produces {o:?} ({} values) but `{b}` takes {i:?} ({} values)",
                    size(&o),
                    size(&i)
                ));
            }
        }
    }
    for (name, node) in &graph.nodes {
        let s = shapes.get(name).cloned().unwrap_or_default();
        let missing = match node {
            NirNode::Input { .. } => s.output.is_none(),
            _ => s.input.is_none() || s.output.is_none(),
        };
        if missing && !matches!(node, NirNode::Unsupported { .. }) {
            problems.push(format!(
                "node `{name}` ({}): its shape cannot be determined (no predecessor with a known shape)",
                node.type_name()
            ));
        }
    }
    if problems.is_empty() {
        Ok(Checked { graph, shapes })
    } else {
        problems.sort();
        problems.dedup();
        Err(Error::new(ErrorKind::Invalid(problems)))
    }
}

/// Shapes from declarations first, then propagated along edges until nothing changes.
fn infer(g: &NirGraph, problems: &mut Vec<String>) -> BTreeMap<String, Shapes> {
    let mut shapes: BTreeMap<String, Shapes> = BTreeMap::new();
    for (name, node) in &g.nodes {
        let s = declared(name, node, problems);
        shapes.insert(name.clone(), s);
    }
    // Each round fixes at least one node or stops; the graph has finitely many nodes.
    for _ in 0..=g.nodes.len() {
        let mut changed = false;
        for (name, node) in &g.nodes {
            if shapes[name].output.is_some() && shapes[name].input.is_some() {
                continue;
            }
            let Some(from) = g
                .preds(name)
                .into_iter()
                .find_map(|p| shapes.get(p).and_then(|s| s.output.clone()))
            else {
                continue;
            };
            let Some(new) = derived(name, node, &from, problems) else {
                continue;
            };
            let s = shapes.entry(name.clone()).or_default();
            if s.input.is_none() {
                s.input = new.input;
                changed = true;
            }
            if s.output.is_none() && new.output.is_some() {
                s.output = new.output;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    shapes
}

/// What a node's own parameters say about its shapes.
fn declared(name: &str, node: &NirNode, problems: &mut Vec<String>) -> Shapes {
    let both = |s: Vec<usize>| Shapes {
        input: Some(s.clone()),
        output: Some(s),
    };
    match node {
        NirNode::Input { shape } => Shapes {
            input: None,
            output: Some(shape.clone()),
        },
        NirNode::Output { shape } => both(shape.clone()),
        NirNode::Affine { weight, .. } | NirNode::Linear { weight } if weight.shape.len() != 2 => {
            problems.push(format!(
                "node `{name}` ({}): weight must be a 2-D (out, in) matrix, found shape {:?}",
                node.type_name(),
                weight.shape
            ));
            Shapes::default()
        }
        NirNode::Affine { weight, bias } => {
            let (o, i) = (weight.shape[0], weight.shape[1]);
            if bias.len() != o && bias.len() != 1 {
                problems.push(format!(
                    "node `{name}` (Affine): bias has {} values for {o} outputs (shape mismatch)",
                    bias.len()
                ));
            }
            Shapes {
                input: Some(vec![i]),
                output: Some(vec![o]),
            }
        }
        NirNode::Linear { weight } => Shapes {
            input: Some(vec![weight.shape[1]]),
            output: Some(vec![weight.shape[0]]),
        },
        NirNode::Scale { scale: t } | NirNode::Delay { delay: t } if t.len() > 1 => {
            both(t.shape.clone())
        }
        NirNode::Conv1d(c) | NirNode::Conv2d(c) => {
            let dims = if matches!(node, NirNode::Conv1d(_)) {
                1
            } else {
                2
            };
            if c.weight.shape.len() != dims + 2 {
                problems.push(format!(
                    "node `{name}` ({}): weight must have {} dimensions (C_out, C_in/groups, kernel…), found shape {:?}",
                    node.type_name(),
                    dims + 2,
                    c.weight.shape
                ));
                return Shapes::default();
            }
            match &c.input_shape {
                Some(sp) if sp.len() == dims => {
                    let mut full = vec![c.weight.shape[1] * c.groups.max(1)];
                    full.extend(sp);
                    match crate::ops::conv_output(c, &full) {
                        Ok(out) => Shapes {
                            input: Some(full),
                            output: Some(out),
                        },
                        Err(m) => {
                            problems.push(format!("node `{name}` ({}): {m}", node.type_name()));
                            Shapes::default()
                        }
                    }
                }
                _ => Shapes::default(),
            }
        }
        n if n.is_neuron() => {
            let params = n.neuron_params();
            let mut shape: Option<Vec<usize>> = None;
            for (p, t) in &params {
                if t.len() == 1 {
                    continue;
                }
                match &shape {
                    None => shape = Some(t.shape.clone()),
                    Some(s) if size(s) != t.len() => problems.push(format!(
                        "node `{name}` ({}): parameter `{p}` has {} values but `{}` has {} (shape mismatch)",
                        n.type_name(),
                        t.len(),
                        params[0].0,
                        size(s)
                    )),
                    _ => {}
                }
            }
            if params.iter().any(|(_, t)| t.is_empty()) {
                problems.push(format!(
                    "node `{name}` ({}): an empty parameter",
                    n.type_name()
                ));
            }
            shape.map(both).unwrap_or_default()
        }
        _ => Shapes::default(),
    }
}

/// Shapes of a node that takes its input shape from a predecessor producing `from`.
fn derived(
    name: &str,
    node: &NirNode,
    from: &[usize],
    problems: &mut Vec<String>,
) -> Option<Shapes> {
    let same = Some(Shapes {
        input: Some(from.to_vec()),
        output: Some(from.to_vec()),
    });
    match node {
        NirNode::Output { .. } | NirNode::Input { .. } => same,
        NirNode::Scale { .. } | NirNode::Delay { .. } => same,
        n if n.is_neuron() => same,
        NirNode::Flatten {
            start_dim, end_dim, ..
        } => {
            let r = from.len() as i64;
            let fix = |d: i64| if d < 0 { d + r } else { d };
            let (s, e) = (fix(*start_dim).max(0), fix(*end_dim).min(r - 1));
            let out = if r == 0 || s > e {
                from.to_vec()
            } else {
                let (s, e) = (s as usize, e as usize);
                let mut o = from[..s].to_vec();
                o.push(size(&from[s..=e]));
                o.extend(&from[e + 1..]);
                o
            };
            Some(Shapes {
                input: Some(from.to_vec()),
                output: Some(out),
            })
        }
        NirNode::Conv1d(c) | NirNode::Conv2d(c) if c.input_shape.is_none() => {
            match crate::ops::conv_output(c, from) {
                Ok(out) => Some(Shapes {
                    input: Some(from.to_vec()),
                    output: Some(out),
                }),
                Err(m) => {
                    problems.push(format!("node `{name}` ({}): {m}", node.type_name()));
                    None
                }
            }
        }
        NirNode::SumPool2d(p) | NirNode::AvgPool2d(p) => match crate::ops::pool_output(p, from) {
            Ok(out) => Some(Shapes {
                input: Some(from.to_vec()),
                output: Some(out),
            }),
            Err(m) => {
                problems.push(format!("node `{name}` ({}): {m}", node.type_name()));
                None
            }
        },
        _ => None,
    }
}
