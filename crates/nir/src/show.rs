//! `amine nir show`: a NIR graph as text — nodes with shapes and a parameter summary,
//! edges, and (given `dt`) what amine maps each node to.

use crate::graph::{NirGraph, NirNode, Tensor};
use crate::lower::{Lowered, Role};
use crate::validate::Checked;
use std::fmt::Write;

/// `min..max` (or the single value) of a tensor.
fn range(t: &Tensor) -> String {
    let lo = t.data.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = t.data.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if t.is_empty() {
        "[]".into()
    } else if lo == hi {
        format!("{lo}")
    } else {
        format!("{lo}..{hi}")
    }
}

fn params(node: &NirNode) -> String {
    let list: Vec<String> = match node {
        NirNode::Affine { weight, bias } => vec![
            format!("weight {:?} {}", weight.shape, range(weight)),
            format!("bias {}", range(bias)),
        ],
        NirNode::Linear { weight } => vec![format!("weight {:?} {}", weight.shape, range(weight))],
        NirNode::Scale { scale } => vec![format!("scale {}", range(scale))],
        NirNode::Delay { delay } => vec![format!("delay {} s", range(delay))],
        NirNode::Conv1d(c) | NirNode::Conv2d(c) => vec![
            format!("weight {:?} {}", c.weight.shape, range(&c.weight)),
            format!(
                "stride {:?} padding {:?} dilation {:?} groups {}",
                c.stride, c.padding, c.dilation, c.groups
            ),
        ],
        NirNode::SumPool2d(p) | NirNode::AvgPool2d(p) => vec![format!(
            "kernel {:?} stride {:?} padding {:?}",
            p.kernel, p.stride, p.padding
        )],
        NirNode::Flatten {
            start_dim, end_dim, ..
        } => vec![format!("dims {start_dim}..={end_dim}")],
        n => n
            .neuron_params()
            .iter()
            .map(|(k, t)| format!("{k} {}", range(t)))
            .collect(),
    };
    list.join(", ")
}

/// The graph (flattened and checked) and, when lowered, the mapping.
pub fn render(raw: &NirGraph, checked: &Checked, lowered: Option<&Lowered>) -> String {
    let mut s = String::new();
    let g = &checked.graph;
    let _ = writeln!(
        s,
        "NIR graph (version {}): {} nodes, {} edges",
        if raw.version.is_empty() {
            "?"
        } else {
            &raw.version
        },
        g.nodes.len(),
        g.edges.len()
    );
    let _ = writeln!(s, "\nnodes:");
    for (name, node) in &g.nodes {
        let sh = checked.shapes.get(name).cloned().unwrap_or_default();
        let shape = |o: &Option<Vec<usize>>| o.as_ref().map_or("?".into(), |v| format!("{v:?}"));
        let _ = writeln!(
            s,
            "  {name:<16} {:<10} in {:<14} out {:<14} {}",
            node.type_name(),
            shape(&sh.input),
            shape(&sh.output),
            params(node)
        );
    }
    let _ = writeln!(s, "\nedges:");
    for (a, b) in &g.edges {
        let _ = writeln!(s, "  {a} -> {b}");
    }
    if let Some(l) = lowered {
        let p = &l.program;
        let _ = writeln!(s, "\namine mapping (dt = {} ms):", p.dt_ms);
        for m in &l.nodes {
            let what = match m.role {
                Role::InputPort => format!(
                    "input port `{}` ({} external spike sources)",
                    m.node, m.size
                ),
                Role::Probe => format!(
                    "probes on {}",
                    m.populations
                        .iter()
                        .map(|p| p.0.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Role::Folded => "folded into projections".into(),
                Role::Compartments => format!(
                    "{} compartment{} in {} population{} (scale {} weight units per NIR unit, {})",
                    m.size,
                    amine_chip::units::plural_s(m.size as u64),
                    m.populations.len(),
                    amine_chip::units::plural_s(m.populations.len() as u64),
                    m.scale,
                    if m.exact { "exact" } else { "rounded" }
                ),
            };
            let _ = writeln!(s, "  {:<16} {:<10} → {what}", m.node, m.nir_type);
            for n in &m.notes {
                if m.role == Role::Compartments {
                    let _ = writeln!(s, "  {:<16} {:<10}   {n}", "", "");
                }
            }
        }
        for pop in &p.populations {
            if let amine_compiler::program::Model::LifRaw(q) = &pop.model {
                let _ = writeln!(
                    s,
                    "  population {:<14} {:>6} neurons  du {} dv {} vth {} bias {}<<{}",
                    pop.name, pop.size, q.du, q.dv, q.vth, q.bias_mant, q.bias_exp
                );
            }
        }
        for pr in &p.projections {
            let n = match &pr.connect {
                amine_compiler::program::Connect::Sparse(t) => t.len(),
                c => c
                    .conv_spec()
                    .and_then(|s| s.conv())
                    .map_or(0, |cv| cv.synapse_count() as usize),
            };
            let _ = writeln!(
                s,
                "  projection {:<24} {:>8} synapses, delay {}",
                pr.name(),
                n,
                pr.delay
            );
        }
        for pr in &p.probes {
            let _ = writeln!(
                s,
                "  probe {:<24} {:?} of {}",
                pr.name, pr.kind, pr.population
            );
        }
    }
    s
}
