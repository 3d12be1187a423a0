//! Convolutions and pooling: geometry, expansion and the per-pixel patterns that let a
//! kernel be stored once as shared synapse lists.
//!
//! Layouts follow PyTorch (and NIR): a population of `C × H × W` neurons is channel-major,
//! neuron `(c, y, x)` has index `(c·H + y)·W + x`. The convolution is a
//! cross-correlation: output `(co, yo, xo)` receives input
//! `(g·Cg + ci', yo·sy − py + ky·dy, xo·sx − px + kx·dx)` with weight
//! `w[co][ci'][ky][kx]` for every input channel `ci'` of the output channel's group `g`;
//! inputs outside the image are zero padding (no synapse). The output size is
//! `⌊(n + 2p − d(k − 1) − 1) / s⌋ + 1`. A zero weight is an absent synapse.
//!
//! **Shared form.** Seen from one input pixel, the synapses it makes form a pattern of
//! `(tap, Δy, Δx)` offsets from the first output pixel it reaches. Interior pixels share
//! one pattern; pixels near the border (or, with a stride, of another phase) have a few
//! others. Laid out channel-major on a core, the targets of input channel `ci` at pattern
//! `P` are the same relative compartments for every pixel with pattern `P`, so one row
//! per `(P, ci)` (an atom) serves them all, each pixel's population axon adding its first
//! output pixel as the base.

/// A convolution as a program states it (see [`crate::program::Connect::Conv`]; a
/// pooling is the depthwise convolution [`crate::program::Connect::conv_spec`] gives).
#[derive(Debug, Clone, PartialEq)]
pub struct ConvSpec {
    pub input: (u32, u32, u32),
    pub channels: u32,
    pub kernel: (u32, u32),
    pub stride: (u32, u32),
    pub padding: (u32, u32),
    pub dilation: (u32, u32),
    pub groups: u32,
    pub weights: Option<Vec<f64>>,
    pub shared: Option<bool>,
}

/// A convolution with every size resolved and its kernel.
#[derive(Debug, Clone, PartialEq)]
pub struct Conv {
    /// Input channels, height, width.
    pub input: (u32, u32, u32),
    /// Output channels, height, width.
    pub output: (u32, u32, u32),
    pub kernel: (u32, u32),
    pub stride: (u32, u32),
    pub padding: (u32, u32),
    pub dilation: (u32, u32),
    pub groups: u32,
    /// `output.0 × input.0/groups × kh × kw`, row-major.
    pub weights: Vec<f64>,
    /// Whether the compiler stores it as shared synapse lists.
    pub shared: bool,
}

/// One dimension of a pixel's pattern: `(tap, output offset from the first output)`.
pub type Taps = Vec<(u32, u32)>;

/// Output length of one dimension, or `None` if the kernel does not fit.
fn out_len(n: u32, k: u32, s: u32, p: u32, d: u32) -> Option<u32> {
    let span = d.checked_mul(k.checked_sub(1)?)?.checked_add(1)?;
    let total = n.checked_add(p.checked_mul(2)?)?;
    (s >= 1 && total >= span).then(|| (total - span) / s + 1)
}

impl ConvSpec {
    /// Output shape `(channels, height, width)`, or why the geometry is impossible.
    pub fn output(&self) -> Result<(u32, u32, u32), String> {
        let (c, h, w) = self.input;
        let (kh, kw) = self.kernel;
        if c == 0 || h == 0 || w == 0 {
            return Err(format!(
                "input shape {:?} has an empty dimension",
                self.input
            ));
        }
        if kh == 0 || kw == 0 || self.channels == 0 {
            return Err("kernel size and channels must be at least 1".into());
        }
        let (sy, sx) = self.stride;
        let (dy, dx) = self.dilation;
        if sy == 0 || sx == 0 || dy == 0 || dx == 0 {
            return Err("stride and dilation must be at least 1".into());
        }
        let g = self.groups;
        if g == 0 || !c.is_multiple_of(g) || !self.channels.is_multiple_of(g) {
            return Err(format!(
                "groups = {g} must divide the {c} input and {} output channels",
                self.channels
            ));
        }
        let (py, px) = self.padding;
        let ho = out_len(h, kh, sy, py, dy);
        let wo = out_len(w, kw, sx, px, dx);
        match (ho, wo) {
            (Some(ho), Some(wo)) => Ok((self.channels, ho, wo)),
            _ => Err(format!(
                "a {kh}×{kw} kernel (dilation {:?}) does not fit the padded {h}×{w} input",
                self.dilation
            )),
        }
    }

    /// The convolution with kernel `weights` (stored expanded until the compiler decides
    /// otherwise), if the geometry is possible.
    pub fn resolve(&self, weights: Vec<f64>) -> Option<Conv> {
        Some(Conv {
            input: self.input,
            output: self.output().ok()?,
            kernel: self.kernel,
            stride: self.stride,
            padding: self.padding,
            dilation: self.dilation,
            groups: self.groups,
            weights,
            shared: false,
        })
    }

    /// The convolution with its own kernel, or an all-ones one where the kernel is still
    /// to be drawn (for shapes and synapse counts; a drawn kernel may have zeros).
    pub fn conv(&self) -> Option<Conv> {
        let n = self.kernel_len() as usize;
        self.resolve(self.weights.clone().unwrap_or_else(|| vec![1.0; n]))
    }

    /// Kernel values expected: `channels × input channels / groups × kh × kw`.
    pub fn kernel_len(&self) -> u64 {
        self.channels as u64
            * (self.input.0 / self.groups.max(1)) as u64
            * self.kernel.0 as u64
            * self.kernel.1 as u64
    }
}

impl Conv {
    pub fn in_size(&self) -> u32 {
        self.input.0 * self.input.1 * self.input.2
    }
    pub fn out_size(&self) -> u32 {
        self.output.0 * self.output.1 * self.output.2
    }
    /// Neurons of one output channel plane.
    pub fn plane(&self) -> u32 {
        self.output.1 * self.output.2
    }
    /// Input pixels (one population axon each in the shared form).
    pub fn pixels(&self) -> u32 {
        self.input.1 * self.input.2
    }
    /// Input channels per group.
    fn cin_g(&self) -> u32 {
        self.input.0 / self.groups.max(1)
    }
    /// Output channels per group.
    fn cout_g(&self) -> u32 {
        self.output.0 / self.groups.max(1)
    }

    /// Weight of output channel `co`, input channel `ci` (of `co`'s group) and tap `(ky, kx)`.
    pub fn weight(&self, co: u32, ci: u32, ky: u32, kx: u32) -> f64 {
        let cl = ci % self.cin_g().max(1);
        let (kh, kw) = self.kernel;
        let i = ((co as usize * self.cin_g() as usize + cl as usize) * kh as usize + ky as usize)
            * kw as usize
            + kx as usize;
        self.weights.get(i).copied().unwrap_or(0.0)
    }

    /// Output channels input channel `ci` reaches (its group's).
    pub fn out_channels_of(&self, ci: u32) -> std::ops::Range<u32> {
        let g = ci / self.cin_g().max(1);
        g * self.cout_g()..(g + 1) * self.cout_g()
    }

    /// Taps of one dimension for input coordinate `i`: `(k, o)` pairs with
    /// `o·s − p + k·d = i`, `0 ≤ o < n_out`, in increasing `k`.
    fn taps_abs(i: u32, k: u32, s: u32, p: u32, d: u32, n_out: u32) -> Vec<(u32, u32)> {
        (0..k)
            .filter_map(|kk| {
                let num = i as i64 + p as i64 - (kk as i64) * d as i64;
                (num >= 0 && num % s as i64 == 0)
                    .then(|| num / s as i64)
                    .filter(|&o| o < n_out as i64)
                    .map(|o| (kk, o as u32))
            })
            .collect()
    }

    /// The pattern of input pixel `(y, x)`: its taps per dimension relative to the first
    /// output row and column it reaches, and that first output pixel (`None` if it
    /// reaches no output).
    pub fn pattern(&self, y: u32, x: u32) -> Option<(Taps, Taps, (u32, u32))> {
        let ty = Self::taps_abs(
            y,
            self.kernel.0,
            self.stride.0,
            self.padding.0,
            self.dilation.0,
            self.output.1,
        );
        let tx = Self::taps_abs(
            x,
            self.kernel.1,
            self.stride.1,
            self.padding.1,
            self.dilation.1,
            self.output.2,
        );
        let y0 = ty.iter().map(|t| t.1).min()?;
        let x0 = tx.iter().map(|t| t.1).min()?;
        let rel = |v: Vec<(u32, u32)>, o0: u32| v.into_iter().map(|(k, o)| (k, o - o0)).collect();
        Some((rel(ty, y0), rel(tx, x0), (y0, x0)))
    }

    /// Every synapse of input neuron `pre`: `(post, weight)` in increasing `post`.
    pub fn synapses_of(&self, pre: u32, out: &mut Vec<(u32, f64)>) {
        out.clear();
        let (_, h, w) = self.input;
        let (ci, y, x) = (pre / (h * w), (pre / w) % h, pre % w);
        let Some((ty, tx, (y0, x0))) = self.pattern(y, x) else {
            return;
        };
        let (_, ho, wo) = self.output;
        for co in self.out_channels_of(ci) {
            for &(ky, dy) in &ty {
                for &(kx, dx) in &tx {
                    let wv = self.weight(co, ci, ky, kx);
                    if wv != 0.0 {
                        out.push(((co * ho + y0 + dy) * wo + x0 + dx, wv));
                    }
                }
            }
        }
        out.sort_by_key(|s| s.0);
    }

    /// Visit every synapse `(pre, post, weight)` in increasing `pre`, then `post`.
    pub fn for_each(&self, mut f: impl FnMut(u32, u32, f64)) {
        let mut row = Vec::new();
        for pre in 0..self.in_size() {
            self.synapses_of(pre, &mut row);
            for &(post, w) in &row {
                f(pre, post, w);
            }
        }
    }

    /// Number of synapses.
    pub fn synapse_count(&self) -> u64 {
        let mut n = 0u64;
        self.for_each(|_, _, _| n += 1);
        n
    }

    /// The largest weight magnitude of input channel `ci` (its kernel slice).
    pub fn channel_max(&self, ci: u32) -> f64 {
        let (kh, kw) = self.kernel;
        let mut m = 0.0f64;
        for co in self.out_channels_of(ci) {
            for ky in 0..kh {
                for kx in 0..kw {
                    m = m.max(self.weight(co, ci, ky, kx).abs());
                }
            }
        }
        m
    }
}

/// How a core holding whole output channel planes, from its first compartment, stores a
/// convolution as shared lists: the distinct lists and each input pixel's population axon.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// Per input pixel (row-major): `(list, base)`, or `None` if it reaches no output.
    pub axon_of_pixel: Vec<Option<(u32, u32)>>,
    /// The distinct lists: taps per dimension and the part of the base (a multiple of
    /// `2^base_bits`) folded into the entries because the base field cannot hold it.
    pub lists: Vec<(Taps, Taps, u32)>,
}

impl Layout {
    /// Pixels with a population axon (in pixel order).
    pub fn axons(&self) -> u32 {
        self.axon_of_pixel.iter().flatten().count() as u32
    }
}

impl Conv {
    /// The shared-list layout for bases of `base_bits` bits (independent of which output
    /// channels a core holds: entries are relative to the core's first channel).
    pub fn layout(&self, base_bits: u8) -> Layout {
        let (_, h, w) = self.input;
        let wo = self.output.2;
        let mut index: std::collections::HashMap<(Taps, Taps, u32), u32> = Default::default();
        let mut lists = Vec::new();
        let mut axon_of_pixel = Vec::with_capacity((h * w) as usize);
        let lo_mask = (1u64 << base_bits.min(32)) - 1;
        for y in 0..h {
            for x in 0..w {
                let Some((ty, tx, (y0, x0))) = self.pattern(y, x) else {
                    axon_of_pixel.push(None);
                    continue;
                };
                let full = (y0 * wo + x0) as u64;
                let (base, high) = ((full & lo_mask) as u32, (full & !lo_mask) as u32);
                let key = (ty, tx, high);
                let l = *index.entry(key.clone()).or_insert_with(|| {
                    lists.push(key);
                    lists.len() as u32 - 1
                });
                axon_of_pixel.push(Some((l, base)));
            }
        }
        Layout {
            axon_of_pixel,
            lists,
        }
    }

    /// Entries of list `list` for atom (input channel) `ci` on a core holding output
    /// channels `c0..c1` from compartment 0: `(target, weight)` in increasing target.
    pub fn list_row(
        &self,
        list: &(Taps, Taps, u32),
        ci: u32,
        (c0, c1): (u32, u32),
        out: &mut Vec<(u32, f64)>,
    ) {
        out.clear();
        let (ty, tx, high) = list;
        let (plane, wo) = (self.plane(), self.output.2);
        let g = self.out_channels_of(ci);
        for co in c0.max(g.start)..c1.min(g.end) {
            for &(ky, dy) in ty {
                for &(kx, dx) in tx {
                    let wv = self.weight(co, ci, ky, kx);
                    if wv != 0.0 {
                        out.push(((co - c0) * plane + dy * wo + dx + high, wv));
                    }
                }
            }
        }
        out.sort_by_key(|e| e.0);
    }

    /// Non-zero entries output channel `co` adds to the row of atom `ci` in `list`.
    pub fn entries(&self, list: &(Taps, Taps, u32), ci: u32, co: u32) -> u32 {
        if !self.out_channels_of(ci).contains(&co) {
            return 0;
        }
        let (ty, tx, _) = list;
        let mut n = 0;
        for &(ky, _) in ty {
            for &(kx, _) in tx {
                n += (self.weight(co, ci, ky, kx) != 0.0) as u32;
            }
        }
        n
    }
}

/// Why a convolution cannot be stored in shared form on a chip.
#[derive(Debug, Clone, PartialEq)]
pub struct Obstacle {
    pub limit: &'static str,
    pub needed: u64,
    pub available: u64,
    pub why: String,
}

/// The first reason `conv` cannot be stored as shared lists on `chip`, with one output
/// channel plane per core at most `cap` compartments and `delay_bits` of delay: no
/// population axons, learning, too many input channels for one axon, or one channel
/// plane alone exceeding a core's compartments, input axons or synapse memory (at the
/// widest weights, an upper bound).
pub fn obstacle(
    conv: &Conv,
    chip: &amine_chip::ChipConfig,
    learns: bool,
    cap: u32,
    delay_bits: u32,
) -> Option<Obstacle> {
    let ob = |limit, needed, available, why: String| {
        Some(Obstacle {
            limit,
            needed,
            available,
            why,
        })
    };
    let core = &chip.core;
    let Some(pc) = &core.population else {
        return ob(
            "core.population",
            1,
            0,
            "the chip has no population axons".into(),
        );
    };
    if learns {
        return ob("learning", 1, 0, "a shared kernel cannot learn".into());
    }
    if conv.input.0 > pc.max_atoms {
        return ob(
            "core.population.max_atoms",
            conv.input.0 as u64,
            pc.max_atoms as u64,
            format!("{} input channels", conv.input.0),
        );
    }
    let cap = cap.min(core.compartments);
    if conv.plane() > cap {
        return ob(
            "core.compartments",
            conv.plane() as u64,
            cap as u64,
            "one output channel plane".into(),
        );
    }
    let layout = conv.layout(pc.base_bits);
    let axons = layout.axons() as u64 * pc.input_slots as u64;
    if axons > core.input_axons as u64 {
        return ob(
            "core.input_axons",
            axons,
            core.input_axons as u64,
            format!("{} input pixels × {} slots", layout.axons(), pc.input_slots),
        );
    }
    let entry = amine_chip::config::bits_for(core.compartments) as u64
        + core.weight_bits.iter().copied().max().unwrap_or(9) as u64
        + delay_bits as u64;
    let word = core.word_bits.max(1) as u64;
    let mut bits = 0u64;
    for co in 0..conv.output.0 {
        let mut plane_bits = 0u64;
        for l in &layout.lists {
            for ci in 0..conv.input.0 {
                plane_bits += (conv.entries(l, ci, co) as u64 * entry).div_ceil(word) * word;
            }
        }
        bits = bits.max(plane_bits);
    }
    if bits > core.synapse_memory_bits {
        return ob(
            "core.synapse_memory_bits",
            bits,
            core.synapse_memory_bits,
            "the shared lists of one output channel plane".into(),
        );
    }
    None
}

/// [`obstacle`] for convolution projection `i` of a compilation: whether it learns, the
/// per-core cap the hints put on its target, its delay.
pub fn obstacle_in(c: &crate::Compilation, i: usize, conv: &Conv) -> Option<Obstacle> {
    let pr = &c.program.projections[i];
    let cap = c.node(&pr.to).map_or(u32::MAX, |t| {
        c.program.mapping.cap_of(&pr.to, c.nodes[t].size)
    });
    let delay_bits = crate::passes::quantize::bits_for_value(pr.delay as u64);
    obstacle(conv, &c.chip, pr.learning.is_some(), cap, delay_bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(
        input: (u32, u32, u32),
        channels: u32,
        k: u32,
        s: u32,
        p: u32,
        d: u32,
        g: u32,
    ) -> ConvSpec {
        ConvSpec {
            input,
            channels,
            kernel: (k, k),
            stride: (s, s),
            padding: (p, p),
            dilation: (d, d),
            groups: g,
            weights: None,
            shared: None,
        }
    }

    fn conv(s: &ConvSpec, seed: u64) -> Conv {
        let mut x = seed;
        let weights = (0..s.kernel_len())
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                // A few zeros: absent synapses.
                ((x >> 33) % 7) as f64 - 3.0
            })
            .collect();
        Conv {
            input: s.input,
            output: s.output().unwrap(),
            kernel: s.kernel,
            stride: s.stride,
            padding: s.padding,
            dilation: s.dilation,
            groups: s.groups,
            weights,
            shared: false,
        }
    }

    /// The output-centric definition (as PyTorch computes it), independent of the
    /// input-centric patterns under test.
    fn reference(c: &Conv) -> Vec<(u32, u32, f64)> {
        let (ci_n, h, w) = c.input;
        let (co_n, ho, wo) = c.output;
        let (kh, kw) = c.kernel;
        let cg = ci_n / c.groups;
        let per = co_n / c.groups;
        let mut v = Vec::new();
        for co in 0..co_n {
            let g = co / per;
            for yo in 0..ho {
                for xo in 0..wo {
                    for cl in 0..cg {
                        for ky in 0..kh {
                            for kx in 0..kw {
                                let iy = (yo * c.stride.0 + ky * c.dilation.0) as i64
                                    - c.padding.0 as i64;
                                let ix = (xo * c.stride.1 + kx * c.dilation.1) as i64
                                    - c.padding.1 as i64;
                                if iy < 0 || ix < 0 || iy >= h as i64 || ix >= w as i64 {
                                    continue;
                                }
                                let wv = c.weights[(((co * cg + cl) * kh + ky) * kw + kx) as usize];
                                if wv != 0.0 {
                                    let pre = ((g * cg + cl) * h + iy as u32) * w + ix as u32;
                                    v.push((pre, (co * ho + yo) * wo + xo, wv));
                                }
                            }
                        }
                    }
                }
            }
        }
        v.sort_by_key(|s| (s.0, s.1));
        v
    }

    #[test]
    fn expansion_equals_the_output_centric_definition() {
        let cases = [
            spec((1, 7, 7), 3, 3, 2, 0, 1, 1),
            spec((4, 6, 5), 6, 3, 1, 1, 1, 2),
            spec((2, 9, 8), 2, 3, 2, 2, 2, 2),
            spec((3, 1, 11), 4, 1, 1, 0, 1, 1),
            spec((2, 5, 5), 2, 2, 3, 1, 1, 1),
        ];
        for (i, s) in cases.iter().enumerate() {
            let c = conv(s, i as u64 + 1);
            let mut mine = Vec::new();
            c.for_each(|a, b, w| mine.push((a, b, w)));
            assert_eq!(mine, reference(&c), "case {i}: {s:?}");
            assert_eq!(c.synapse_count(), mine.len() as u64);
        }
    }

    #[test]
    fn output_shapes_follow_pytorch() {
        // 32×32 → 3×3 stride 2, no padding: 15×15; then 3×3 stride 1: 13×13.
        assert_eq!(
            spec((1, 32, 32), 16, 3, 2, 0, 1, 1).output(),
            Ok((16, 15, 15))
        );
        assert_eq!(
            spec((16, 15, 15), 32, 3, 1, 0, 1, 1).output(),
            Ok((32, 13, 13))
        );
        assert!(spec((1, 2, 2), 1, 5, 1, 0, 1, 1).output().is_err());
        assert!(spec((3, 4, 4), 4, 3, 1, 0, 1, 2).output().is_err());
    }

    #[test]
    fn interior_pixels_share_one_pattern() {
        let c = conv(&spec((1, 10, 10), 1, 3, 1, 0, 1, 1), 3);
        let interior = c.pattern(4, 4).unwrap();
        assert_eq!(c.pattern(5, 6).unwrap().0, interior.0);
        assert_eq!(interior.0, vec![(0, 2), (1, 1), (2, 0)]);
        // A corner pixel reaches one output through the first tap only.
        assert_eq!(c.pattern(0, 0).unwrap().0, vec![(0, 0)]);
    }
}
