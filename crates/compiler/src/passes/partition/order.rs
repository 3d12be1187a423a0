//! The packing order: which neurons go into bins first, in what units, and where the
//! mapping hints cut populations into slices of their own.
//!
//! Populations are packed targets first ([`crate::graph::targets_first`]): when a neuron
//! is packed, the neurons it projects to already sit in bins, so its output axons are
//! known exactly and a core is never filled by fan-out it cannot see yet. Members of a
//! `colocate` group are interleaved in proportion; the target of a shared-weight
//! convolution is packed in whole output channel planes (its shared lists need them);
//! a population with a `cores` or `place` hint is cut into that many equal slices, each
//! starting a bin of its own and closing it.

use crate::context::Compilation;
use crate::program::MappingHints;

/// A packing unit: `count` neurons of population `node` from `first`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Item {
    pub node: u32,
    pub first: u32,
    pub count: u32,
    /// Part `k` of `n` slices a hint asked for (`cores` / `place`) of the group led by
    /// population `node`: its first item opens a bin, its last closes it.
    pub slice: Option<Slice>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Slice {
    pub lead: u32,
    pub k: u32,
    pub n: u32,
    pub first: bool,
    pub last: bool,
    /// The core a `place` hint gives this slice.
    pub pin: Option<u32>,
}

/// How a population is cut into units: whole output channel planes (the target of a
/// shared convolution), pixel by pixel with all channels (the target of an expanded
/// one: bins become bands of the image, so a source neuron reaches only the few bins
/// over its receptive field), or neuron by neuron.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    Neurons,
    Planes(u32),
    Pixels { channels: u32, pixels: u32 },
}

/// The unit shape of every population.
pub(super) fn shapes(c: &Compilation) -> Vec<Shape> {
    let mut out = vec![Shape::Neurons; c.program.populations.len()];
    if let Some(net) = &c.net {
        for (i, e) in net.projections.iter().enumerate() {
            match (&net.convs[i], net.shared(i)) {
                (_, Some(cv)) => out[e.post] = Shape::Planes(cv.plane()),
                (Some(cv), None) if out[e.post] == Shape::Neurons => {
                    out[e.post] = Shape::Pixels {
                        channels: cv.output.0,
                        pixels: cv.plane(),
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// Every population's neurons in packing order, as items.
pub(super) fn items(c: &Compilation) -> Vec<Item> {
    let hints = &c.program.mapping;
    let shapes = shapes(c);
    let mut out = Vec::new();
    let mut done = vec![false; c.program.populations.len()];
    for component in crate::graph::targets_first(c) {
        for p in component {
            if done[p] {
                continue;
            }
            let members = group_of(c, hints, p);
            for &m in &members {
                done[m] = true;
            }
            let units = units(c, &members, shapes[p]);
            let name = &c.nodes[p].name;
            match hints.cores_of(name).filter(|&n| n > 0) {
                None => out.extend(units),
                Some(n) => slices(&mut out, units, p as u32, n, hints.place.get(name)),
            }
        }
    }
    out
}

/// The colocate group of population `p` (itself alone if none), members in group order.
fn group_of(c: &Compilation, hints: &MappingHints, p: usize) -> Vec<usize> {
    let name = &c.nodes[p].name;
    hints
        .colocate
        .iter()
        .find(|g| g.contains(name))
        .map(|g| g.iter().filter_map(|n| c.node(n)).collect())
        .unwrap_or_else(|| vec![p])
}

/// A group's packing units (see [`Shape`]); the members of a colocated group are
/// interleaved neuron by neuron in proportion (Bresenham: the member furthest behind
/// its share goes next).
fn units(c: &Compilation, members: &[usize], shape: Shape) -> Vec<Item> {
    let one = |p: usize, first: u32, count: u32| Item {
        node: p as u32,
        first,
        count,
        slice: None,
    };
    match (shape, members) {
        (Shape::Planes(plane), [p]) => {
            let size = c.nodes[*p].size;
            return (0..size.div_ceil(plane))
                .map(|k| one(*p, k * plane, plane.min(size - k * plane)))
                .collect();
        }
        (Shape::Pixels { channels, pixels }, [p]) => {
            return (0..pixels)
                .flat_map(|px| (0..channels).map(move |ch| ch * pixels + px))
                .map(|n| one(*p, n, 1))
                .collect();
        }
        _ => {}
    }
    let sizes: Vec<u64> = members.iter().map(|&m| c.nodes[m].size as u64).collect();
    let mut emitted = vec![0u64; members.len()];
    let total: u64 = sizes.iter().sum();
    let mut out = Vec::with_capacity(total as usize);
    for _ in 0..total {
        let k = (0..members.len())
            .filter(|&k| emitted[k] < sizes[k])
            .min_by(|&a, &b| {
                let fa = (2 * emitted[a] + 1) as u128 * sizes[b] as u128;
                let fb = (2 * emitted[b] + 1) as u128 * sizes[a] as u128;
                fa.cmp(&fb)
            })
            .unwrap_or(0);
        out.push(Item {
            node: members[k] as u32,
            first: emitted[k] as u32,
            count: 1,
            slice: None,
        });
        emitted[k] += 1;
    }
    out
}

/// Cut a group's units into `n` equal slices (by neurons) and mark them.
fn slices(out: &mut Vec<Item>, units: Vec<Item>, lead: u32, n: u32, place: Option<&Vec<u32>>) {
    let total: u64 = units.iter().map(|u| u.count as u64).sum();
    let mut acc = 0u64;
    let len = units.len();
    let mut k = 0u32;
    let mut start = 0usize;
    for (i, mut u) in units.into_iter().enumerate() {
        // Unit i belongs to slice ⌊acc·n / total⌋ (its first neuron's).
        let slice = ((acc * n as u64) / total.max(1)).min(n as u64 - 1) as u32;
        if slice != k {
            if let Some(prev) = out.last_mut() {
                if let Some(s) = prev.slice.as_mut() {
                    s.last = true;
                }
            }
            k = slice;
            start = i;
        }
        acc += u.count as u64;
        u.slice = Some(Slice {
            lead,
            k,
            n,
            first: i == start,
            last: i + 1 == len,
            pin: place.and_then(|p| p.get(k as usize).copied()),
        });
        out.push(u);
    }
}
