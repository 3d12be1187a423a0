//! Convolutions handed to the compiler as convolutions, so it can store their kernels as
//! shared synapse lists: a Conv1d, Conv2d, SumPool2d or AvgPool2d node between two
//! nodes that map one-to-one onto single populations (neuron `i` is neuron `i`), with a
//! uniform input gain on the target, becomes a `Conv` (or `Pool`) projection instead of
//! the sparse one the lowering built for the same edge.
//!
//! The replacement is checked, not trusted: the convolution is expanded by the
//! compiler's own geometry and must give exactly the sparse projection's synapses and
//! weights (bit for bit), else the sparse projection stays.

use crate::graph::{NirNode, Padding};
use crate::validate::Checked;
use amine_compiler::conv::ConvSpec;
use amine_compiler::program::{Connect, Program, Weight};
use std::collections::BTreeMap;

/// Replace every sparse projection that is a convolution (see the module docs).
/// `index` maps each node's neurons to (population, index); `gains` each neuron node's
/// (scale, per-neuron input gain).
pub(crate) fn restore(
    c: &Checked,
    prog: &mut Program,
    index: &BTreeMap<String, Vec<(String, u32)>>,
    gains: &BTreeMap<String, (f64, Vec<f64>)>,
) {
    let g = &c.graph;
    for (post, node) in &g.nodes {
        if !node.is_neuron() {
            continue;
        }
        let [op] = g.preds(post)[..] else { continue };
        let [src] = g.preds(op)[..] else { continue };
        let (Some(qp), Some(pp)) = (whole(index.get(post)), whole(index.get(src))) else {
            continue;
        };
        let Some((scale, gain)) = gains.get(post) else {
            continue;
        };
        let Some(&gn) = gain.first().filter(|&&x| gain.iter().all(|&y| y == x)) else {
            continue;
        };
        let input = c
            .shapes
            .get(op)
            .and_then(|s| s.input.clone())
            .unwrap_or_default();
        let Some(connect) = g.nodes.get(op).and_then(|n| connect(n, &input, *scale, gn)) else {
            continue;
        };
        let name = format!("{pp}->{qp}");
        let Some(pr) = prog.projections.iter_mut().find(|p| p.name() == name) else {
            continue;
        };
        let (Connect::Sparse(triples), Some(spec)) = (&pr.connect, connect.0.conv_spec()) else {
            continue;
        };
        if same_synapses(triples, &spec, connect.1) {
            pr.connect = connect.0;
            pr.weight = connect.1.map(Weight::Const);
        }
    }
}

/// The population of a node all of whose neurons it holds in order.
fn whole(map: Option<&Vec<(String, u32)>>) -> Option<String> {
    let m = map?;
    let first = &m.first()?.0;
    m.iter()
        .enumerate()
        .all(|(i, (p, k))| p == first && *k as usize == i)
        .then(|| first.clone())
}

/// The projection a linear node makes on an `input` shape, with weights scaled by
/// `scale · gain`; for pooling, the constant weight too.
fn connect(
    node: &NirNode,
    input: &[usize],
    scale: f64,
    gain: f64,
) -> Option<(Connect, Option<f64>)> {
    let u = |x: usize| u32::try_from(x).ok();
    let shape3 = match input {
        [c, h, w] => (u(*c)?, u(*h)?, u(*w)?),
        [c, l] => (u(*c)?, 1, u(*l)?),
        _ => return None,
    };
    match node {
        NirNode::Conv1d(cv) | NirNode::Conv2d(cv) => {
            let w = &cv.weight.shape;
            let two = w.len() == 4;
            let pick = |v: &[usize], one: usize| -> Option<(u32, u32)> {
                if two {
                    Some((u(*v.first()?)?, u(*v.get(1)?)?))
                } else {
                    Some((u(one)?, u(*v.first()?)?))
                }
            };
            let kernel = if two {
                (u(w[2])?, u(w[3])?)
            } else {
                (1, u(w[2])?)
            };
            let dilation = pick(&cv.dilation, 1)?;
            let padding = match &cv.padding {
                Padding::Valid => (0, 0),
                Padding::Explicit(p) => pick(p, 0)?,
                // PyTorch's "same" pads d(k − 1) in all, the odd one after: symmetric
                // only when that is even.
                Padding::Same => {
                    let span = |k: u32, d: u32| d * (k - 1);
                    let (sy, sx) = (span(kernel.0, dilation.0), span(kernel.1, dilation.1));
                    if sy % 2 != 0 || sx % 2 != 0 {
                        return None;
                    }
                    (sy / 2, sx / 2)
                }
            };
            Some((
                Connect::Conv {
                    input: shape3,
                    channels: u(w[0])?,
                    kernel,
                    stride: pick(&cv.stride, 1)?,
                    padding,
                    dilation,
                    groups: u(cv.groups)?,
                    weights: Some(cv.weight.data.iter().map(|x| x * scale * gain).collect()),
                    shared: None,
                },
                None,
            ))
        }
        NirNode::SumPool2d(p) | NirNode::AvgPool2d(p) => {
            let two = |v: &[usize]| Some((u(*v.first()?)?, u(*v.get(1)?)?));
            let kernel = two(&p.kernel)?;
            let tap = match node {
                NirNode::AvgPool2d(_) => 1.0 / (kernel.0 * kernel.1) as f64,
                _ => 1.0,
            };
            Some((
                Connect::Pool {
                    input: shape3,
                    kernel,
                    stride: Some(two(&p.stride)?),
                    padding: two(&p.padding)?,
                    shared: None,
                },
                Some(tap * scale * gain),
            ))
        }
        _ => None,
    }
}

/// Whether the convolution `spec` (with the constant weight `tap` of a pooling) expands
/// to exactly `triples`.
fn same_synapses(triples: &[(u32, u32, f64)], spec: &ConvSpec, tap: Option<f64>) -> bool {
    let n = spec.kernel_len() as usize;
    let weights = match (&spec.weights, tap) {
        (Some(w), _) if w.len() == n => w.clone(),
        (None, Some(t)) => vec![t; n],
        _ => return false,
    };
    let Some(conv) = spec.resolve(weights) else {
        return false;
    };
    let mut mine = Vec::with_capacity(triples.len());
    conv.for_each(|a, b, w| mine.push((a, b, w)));
    let mut theirs = triples.to_vec();
    theirs.sort_by_key(|t| (t.0, t.1));
    mine == theirs
}
