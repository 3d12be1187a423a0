//! What shared-weight convolutions cost the cores they touch, for the packer.
//!
//! A bin holding output channel planes `c0..c1` of a shared convolution's target (from
//! its compartment 0) stores one row per (list, input channel) of the projection's
//! [`Layout`]: the row of atom `ci` in list `l` has an entry for every non-zero tap of
//! every held channel `ci` reaches. It needs `input_slots` input axons per input pixel
//! that reaches an output. On the sending side, a source neuron `(ci, pixel)` sends one
//! packet to every bin holding a channel of `ci`'s group; the output-axon entries of its
//! bin are the distinct `(pixel, target bin)` pairs, `output_slots` each.
//!
//! [`Shared`] keeps these figures for the open bin as planes and neurons are added, and
//! [`usage`] recounts them from scratch for the verifier.

use crate::context::{Compilation, Partition, SharedBlock};
use crate::conv::{Conv, Layout};
use amine_chip::synapse::{self as syn, TargetCoding};
use std::collections::HashSet;

/// One shared convolution as the packer sees it.
pub(super) struct Proj<'a> {
    pub index: usize,
    pub conv: &'a Conv,
    pub layout: Layout,
    /// The format of its shared lists (written sparse).
    pub format: syn::RowFormat,
    /// Target bin of each output channel (`u32::MAX` until packed).
    pub chan_bin: Vec<u32>,
    /// Per group of input channels: the distinct bins its output channels lie in.
    reach: Vec<Vec<u32>>,
}

/// The shared convolutions and the open bin's share of them.
pub(super) struct Shared<'a> {
    pub projs: Vec<Proj<'a>>,
    /// Per node: shared projections into it, and out of it.
    into: Vec<Vec<usize>>,
    from: Vec<Vec<usize>>,
    word: u32,
    in_slots: u64,
    out_slots: u64,
    /// The open bin: the target population it holds planes of, its channel range, the
    /// length of every (list, atom) row per projection into it.
    pub target: Option<usize>,
    channels: (u32, u32),
    lens: Vec<Vec<u32>>,
    /// `(projection, pixel, target bin)` output-axon entries of the open bin.
    seen: HashSet<(u32, u32, u32)>,
    /// Entries added since the last `keep` or `undo`.
    added: Vec<(u32, u32, u32)>,
    pub blocks: Vec<SharedBlock>,
}

impl<'a> Shared<'a> {
    pub fn new(c: &'a Compilation) -> Shared<'a> {
        let nodes = c.nodes.len();
        let core = &c.chip.core;
        let pc = core.population.as_ref();
        let mut s = Shared {
            projs: Vec::new(),
            into: vec![Vec::new(); nodes],
            from: vec![Vec::new(); nodes],
            word: core.word_bits,
            in_slots: pc.map_or(1, |p| p.input_slots) as u64,
            out_slots: pc.map_or(1, |p| p.output_slots) as u64,
            target: None,
            channels: (0, 0),
            lens: Vec::new(),
            seen: HashSet::new(),
            added: Vec::new(),
            blocks: Vec::new(),
        };
        let (Some(net), Some(q)) = (&c.net, &c.quant) else {
            return s;
        };
        let base_bits = pc.map_or(32, |p| p.base_bits);
        for (i, e) in net.projections.iter().enumerate() {
            let Some(conv) = net.shared(i) else { continue };
            let k = s.projs.len();
            s.into[e.post].push(k);
            s.from[e.pre].push(k);
            s.projs.push(Proj {
                index: i,
                conv,
                layout: conv.layout(base_bits),
                format: q.classes[q.class_of[i]].format,
                chan_bin: vec![u32::MAX; conv.output.0 as usize],
                reach: Vec::new(),
            });
        }
        s
    }

    pub fn is_target(&self, node: usize) -> bool {
        !self.into[node].is_empty()
    }

    pub fn is_source(&self, node: usize) -> bool {
        !self.from[node].is_empty()
    }

    /// Input axons and synapse bits that plane `co` of `node` adds to the open bin, or
    /// `None` if the bin holds planes of another target (it must close first).
    pub fn target_cost(&self, node: usize, co: u32) -> Option<(u64, u64)> {
        match self.target {
            Some(t) if t != node => return None,
            _ => {}
        }
        let fresh = self.target.is_none();
        let (mut axons, mut bits) = (0u64, 0u64);
        for (j, &k) in self.into[node].iter().enumerate() {
            let p = &self.projs[k];
            if fresh {
                axons += self.in_slots * p.layout.axons() as u64;
            }
            let cin = p.conv.input.0;
            for (l, list) in p.layout.lists.iter().enumerate() {
                for ci in 0..cin {
                    let add = p.conv.entries(list, ci, co);
                    if add == 0 {
                        continue;
                    }
                    let len = if fresh {
                        0
                    } else {
                        self.lens[j][l * cin as usize + ci as usize]
                    };
                    let sparse = TargetCoding::Sparse;
                    bits += syn::row_bits(self.word, &p.format, sparse, len + add)
                        - syn::row_bits(self.word, &p.format, sparse, len);
                }
            }
        }
        Some((axons, bits))
    }

    /// Book plane `co` of `node` into the open bin `bin`.
    pub fn target_commit(&mut self, node: usize, co: u32, bin: u32) {
        if self.target.is_none() {
            self.target = Some(node);
            self.channels = (co, co);
            self.lens = self.into[node]
                .iter()
                .map(|&k| {
                    let p = &self.projs[k];
                    vec![0; p.layout.lists.len() * p.conv.input.0 as usize]
                })
                .collect();
        }
        self.channels.1 = co + 1;
        for (j, &k) in self.into[node].iter().enumerate() {
            let p = &mut self.projs[k];
            p.chan_bin[co as usize] = bin;
            let cin = p.conv.input.0;
            for (l, list) in p.layout.lists.iter().enumerate() {
                for ci in 0..cin {
                    self.lens[j][l * cin as usize + ci as usize] += p.conv.entries(list, ci, co);
                }
            }
        }
    }

    /// Output-axon entries neuron `a` of `node` adds to the open bin as the source of
    /// shared convolutions (booked until [`Shared::undo`]).
    pub fn source_cost(&mut self, node: usize, a: u32) -> u64 {
        let mut n = 0;
        for &k in &self.from[node] {
            let p = &mut self.projs[k];
            let pixels = p.conv.pixels();
            let (ci, pixel) = (a / pixels, a % pixels);
            if p.layout.axon_of_pixel[pixel as usize].is_none() {
                continue;
            }
            if p.reach.is_empty() {
                p.reach = reach(p.conv, &p.chan_bin);
            }
            let g = (ci / (p.conv.input.0 / p.conv.groups.max(1)).max(1)) as usize;
            for &b in &p.reach[g] {
                if self.seen.insert((k as u32, pixel, b)) {
                    self.added.push((k as u32, pixel, b));
                    n += self.out_slots;
                }
            }
        }
        n
    }

    /// Take back every `source_cost` since the last `keep`.
    pub fn undo(&mut self) {
        for key in self.added.drain(..) {
            self.seen.remove(&key);
        }
    }

    /// Keep the `source_cost`s booked so far.
    pub fn keep(&mut self) {
        self.added.clear();
    }

    /// The open bin `bin` is closed: record its planes and start afresh.
    pub fn close(&mut self, bin: u32) {
        if let Some(t) = self.target.take() {
            for &k in &self.into[t] {
                self.blocks.push(SharedBlock {
                    bin,
                    projection: self.projs[k].index,
                    channels: self.channels,
                });
            }
        }
        self.lens.clear();
        self.seen.clear();
        self.added.clear();
    }
}

/// Per group of input channels, the distinct bins holding its output channels.
fn reach(conv: &Conv, chan_bin: &[u32]) -> Vec<Vec<u32>> {
    let groups = conv.groups.max(1);
    let cin_g = conv.input.0 / groups;
    (0..groups)
        .map(|g| {
            let mut v: Vec<u32> = conv
                .out_channels_of(g * cin_g)
                .map(|co| chan_bin[co as usize])
                .filter(|&b| b != u32::MAX)
                .collect();
            v.sort_unstable();
            v.dedup();
            v
        })
        .collect()
}

/// The bins a source neuron `a` of shared convolution `conv` sends a packet to: those
/// of `holders` (the projection's blocks) holding a channel of `a`'s group, if its pixel
/// has a population axon.
pub fn targets_of<'b>(
    conv: &Conv,
    layout: &Layout,
    holders: &'b [SharedBlock],
    a: u32,
) -> impl Iterator<Item = &'b SharedBlock> + 'b {
    let (ci, pixel) = (a / conv.pixels(), a % conv.pixels());
    let live = layout.axon_of_pixel[pixel as usize].is_some();
    let g = conv.out_channels_of(ci);
    holders
        .iter()
        .filter(move |b| live && b.channels.0 < g.end && g.start < b.channels.1)
}

/// Per bin, recounted from the finished partition: `(input axons, synapse bits, output
/// axons)` the shared convolutions take (the verifier's independent count).
pub fn usage(c: &Compilation, part: &Partition) -> Vec<(u64, u64, u64)> {
    let mut out = vec![(0u64, 0u64, 0u64); part.bins.len()];
    let (Some(net), Some(q)) = (&c.net, &c.quant) else {
        return out;
    };
    let core = &c.chip.core;
    let Some(pc) = &core.population else {
        return out;
    };
    let npops = c.program.populations.len();
    let mut row = Vec::new();
    for blk in &part.shared {
        let Some(conv) = net.shared(blk.projection) else {
            continue;
        };
        let format = q.classes[q.class_of[blk.projection]].format;
        let layout = conv.layout(pc.base_bits);
        let o = &mut out[blk.bin as usize];
        o.0 += pc.input_slots as u64 * layout.axons() as u64;
        for list in &layout.lists {
            for ci in 0..conv.input.0 {
                conv.list_row(list, ci, blk.channels, &mut row);
                o.1 += syn::row_bits(
                    core.word_bits,
                    &format,
                    TargetCoding::Sparse,
                    row.len() as u32,
                );
            }
        }
    }
    // Sending side: distinct (projection, pixel, target bin) per source bin.
    let mut entries: HashSet<(u32, usize, u32, u32)> = HashSet::new();
    packets(c, part, |i, node, a, bin| {
        if node < npops {
            let src = part.bin_of[(part.pop_base[node] + a) as usize];
            let pixels = net.convs[i].as_ref().map_or(1, |cv| cv.pixels());
            entries.insert((src, i, a % pixels, bin));
        }
    });
    for (src, ..) in entries {
        out[src as usize].2 += pc.output_slots as u64;
    }
    out
}

/// Every packet a spike of each shared convolution's sources sends: `f(i, node, a, bin)`
/// for projection `i`, source neuron `a` of node `node` (a population or an input) and
/// target bin `bin`.
pub fn packets(c: &Compilation, part: &Partition, mut f: impl FnMut(usize, usize, u32, u32)) {
    let Some(net) = &c.net else { return };
    let base_bits = c.chip.core.population.as_ref().map_or(32, |p| p.base_bits);
    for (i, e) in net.projections.iter().enumerate() {
        let Some(conv) = net.shared(i) else { continue };
        let layout = conv.layout(base_bits);
        let holders: Vec<SharedBlock> = part
            .shared
            .iter()
            .filter(|b| b.projection == i)
            .copied()
            .collect();
        for a in 0..conv.in_size() {
            for b in targets_of(conv, &layout, &holders, a) {
                f(i, e.pre, a, b.bin);
            }
        }
    }
}
