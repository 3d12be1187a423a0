//! Pass 3, expand: every projection's connectivity rule → its explicit synapses.
//!
//! Decides which pairs are connected and with which float weight and delay, in
//! compressed-sparse-row form by presynaptic neuron ([`Expanded`]). Random connectivity
//! is generated in O(synapses) by geometric skipping over the row-major pair space (the
//! gap to the next connected pair is drawn from a geometric distribution), never with a
//! Bernoulli trial per pair, so a 131,072² space with p ≈ 10⁻³ takes milliseconds per
//! million synapses. Constant weights and delays are stored once, not per synapse.
//!
//! Randomness: each projection has its own seed (given, or derived from the program seed
//! and the projection index), split into a connectivity stream and a weight/delay
//! stream, so editing one projection never changes another's synapses — and projections
//! expand in parallel with the same result.

use crate::context::{Compilation, Expanded, Network, Values};
use crate::conv::{obstacle_in, Conv};
use crate::program::{Connect, Projection, Weight};
use amine_chip::image::Sign;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// SplitMix64 finaliser: decorrelates derived seeds (seed, seed+1, … give unrelated streams).
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Seed of stream `stream` (e.g. 1 = projection 0's connectivity) under `base`.
pub fn derive_seed(base: u64, stream: u64) -> u64 {
    mix(mix(base) ^ stream.wrapping_mul(0xd6e8_feb8_6659_fd93))
}

/// The seed a projection uses.
pub fn projection_seed(c: &Compilation, i: usize) -> u64 {
    c.program.projections[i]
        .seed
        .unwrap_or_else(|| derive_seed(c.program.seed, 0x100 + i as u64))
}

pub fn run(c: &mut Compilation) -> Result<(), crate::Error> {
    let mut net = Network::default();
    // Projections in parallel: each draws from its own seeded streams.
    let expanded: Vec<_> = (0..c.program.projections.len())
        .into_par_iter()
        .with_max_len(1)
        .map(|i| expand(c, i))
        .collect();
    for (e, conv) in expanded {
        net.projections.push(e);
        net.convs.push(conv);
    }
    // Shared convolutions the mapping cannot lay out are expanded (or, if the program
    // insists on the shared form, refused).
    let mut limits = Vec::new();
    for i in 0..net.convs.len() {
        let Some(why) = net.shared(i).and_then(|_| layout_obstacle(c, &net, i)) else {
            continue;
        };
        if c.program.projections[i]
            .connect
            .conv_spec()
            .and_then(|s| s.shared)
            == Some(true)
        {
            limits.push(why);
        }
        let e = expand_conv(&net, i);
        net.projections[i] = e;
        if let Some(cv) = net.convs[i].as_mut() {
            cv.shared = false;
        }
    }
    if !limits.is_empty() {
        let ls = limits
            .iter()
            .map(|o| crate::passes::validate::shared_limit(c, o.0, &o.1))
            .collect();
        return Err(crate::Error::new(crate::ErrorKind::HardwareLimit(ls)));
    }
    c.net = Some(net);
    Ok(())
}

/// Why shared convolution `i` cannot be laid out: its source and target feed each other
/// (the target must be packed first), one of them is colocated, a `cores` hint cuts the
/// target finer than its channel planes, or an earlier shared convolution into the same
/// target has another output shape.
fn layout_obstacle(
    c: &Compilation,
    net: &Network,
    i: usize,
) -> Option<(usize, crate::conv::Obstacle)> {
    let e = &net.projections[i];
    let cv = net.convs[i].as_ref()?;
    let ob = |limit, needed, available, why: String| {
        Some((
            i,
            crate::conv::Obstacle {
                limit,
                needed,
                available,
                why,
            },
        ))
    };
    let npops = c.program.populations.len();
    let comps = crate::graph::targets_first(c);
    let same = comps
        .iter()
        .any(|g| g.contains(&e.post) && (e.pre == e.post || g.contains(&e.pre)));
    if e.pre < npops && same {
        return ob(
            "shared.recurrent",
            1,
            0,
            "its source and target feed each other".into(),
        );
    }
    let hints = &c.program.mapping;
    for node in [e.pre, e.post] {
        let name = &c.nodes[node].name;
        if hints.colocate.iter().any(|g| g.contains(name)) {
            return ob("mapping.colocate", 1, 0, format!("`{name}` is colocated"));
        }
    }
    if let Some(n) = hints.cores_of(&c.nodes[e.post].name) {
        if n > cv.output.0 {
            return ob(
                "mapping.cores",
                n as u64,
                cv.output.0 as u64,
                format!(
                    "`{}` has {} channel planes",
                    c.nodes[e.post].name, cv.output.0
                ),
            );
        }
    }
    let earlier = (0..i).find(|&j| net.shared(j).is_some() && net.projections[j].post == e.post);
    if let Some(j) = earlier.filter(|&j| net.convs[j].as_ref().map(|x| x.output) != Some(cv.output))
    {
        return ob(
            "shared.layout",
            1,
            0,
            format!(
                "projection `{}` into the same target has another output shape",
                c.program.projections[j].name()
            ),
        );
    }
    None
}

/// Projection `i`'s convolution as explicit synapses.
fn expand_conv(net: &Network, i: usize) -> Expanded {
    let e = &net.projections[i];
    let mut b = CsrBuilder::new(e.offsets.len() as u32 - 1);
    let mut w = Vec::new();
    if let Some(cv) = &net.convs[i] {
        cv.for_each(|a, t, x| {
            b.push(a, t);
            w.push(x);
        });
    }
    let (offsets, targets) = b.finish(e.offsets.len() as u32 - 1);
    Expanded {
        pre: e.pre,
        post: e.post,
        offsets,
        targets,
        weights: Values::Each(w),
        delays: e.delays.clone(),
    }
}

/// The convolution of projection `i` (a `Conv` or `Pool`), its kernel drawn from the
/// weight stream when the program gives none, and whether it is stored shared: as asked,
/// or, by default, wherever [`obstacle`](crate::conv::obstacle) finds nothing against it.
fn convolution(c: &Compilation, i: usize, rng: &mut ChaCha8Rng) -> Option<Conv> {
    let pr = &c.program.projections[i];
    let spec = pr.connect.conv_spec()?;
    let pre = c.node(&pr.from).unwrap_or(0);
    let n = spec.kernel_len() as usize;
    let weights = match &spec.weights {
        Some(w) => w.clone(),
        None => match weights(pr, pr.sign_with(c.nodes[pre].sign), n, rng) {
            Values::Const(w) => vec![w; n],
            Values::Each(w) => w,
        },
    };
    let mut conv = spec.resolve(weights)?;
    conv.shared = match spec.shared {
        Some(s) => s,
        None => obstacle_in(c, i, &conv).is_none(),
    };
    Some(conv)
}

/// Builds CSR rows from pairs arriving in row-major order.
struct CsrBuilder {
    offsets: Vec<u32>,
    targets: Vec<u32>,
}

impl CsrBuilder {
    fn new(npre: u32) -> Self {
        let mut offsets = Vec::with_capacity(npre as usize + 1);
        offsets.push(0);
        CsrBuilder {
            offsets,
            targets: Vec::new(),
        }
    }
    fn reserve(&mut self, n: usize) {
        self.targets.reserve(n);
    }
    /// Add pair (i, j); pairs must come with non-decreasing `i`.
    fn push(&mut self, i: u32, j: u32) {
        while self.offsets.len() <= i as usize {
            self.offsets.push(self.targets.len() as u32);
        }
        self.targets.push(j);
    }
    fn finish(mut self, npre: u32) -> (Vec<u32>, Vec<u32>) {
        while self.offsets.len() <= npre as usize {
            self.offsets.push(self.targets.len() as u32);
        }
        (self.offsets, self.targets)
    }
}

fn expand(c: &Compilation, i: usize) -> (Expanded, Option<Conv>) {
    let pr = &c.program.projections[i];
    let pre = c.node(&pr.from).unwrap_or(0);
    let post = c.node(&pr.to).unwrap_or(0);
    let npre = c.nodes[pre].size;
    let seed = projection_seed(c, i);
    let mut conn_rng = ChaCha8Rng::seed_from_u64(derive_seed(seed, 1));
    let mut b = CsrBuilder::new(npre);
    let mut value_rng = ChaCha8Rng::seed_from_u64(derive_seed(seed, 2));
    let conv = convolution(c, i, &mut value_rng);
    let ends = Ends { pre, post };
    let carried = connect(c, pr, ends, conv.as_ref(), &mut conn_rng, &mut b);
    let (offsets, targets) = b.finish(npre);
    let n = targets.len();
    let weights = match carried.w {
        Some(w) => Values::Each(w),
        None => weights(pr, pr.sign_with(c.nodes[pre].sign), n, &mut value_rng),
    };
    let delays = match carried.d {
        Some(d) => Values::Each(d),
        None => Values::Const(pr.delay),
    };
    let e = Expanded {
        pre,
        post,
        offsets,
        targets,
        weights,
        delays,
    };
    (e, conv)
}

/// A projection's source and target nodes.
#[derive(Clone, Copy)]
struct Ends {
    pre: usize,
    post: usize,
}

/// Per-synapse data carried by the connectivity itself, in CSR order.
#[derive(Default)]
struct Carried {
    w: Option<Vec<f64>>,
    d: Option<Vec<u8>>,
}

/// Pushes the synapses of `pr`'s connectivity into `b` in row-major order (random ones
/// drawn from `conn_rng`), with the weights and delays it carries.
fn connect(
    c: &Compilation,
    pr: &Projection,
    Ends { pre, post }: Ends,
    conv: Option<&Conv>,
    conn_rng: &mut ChaCha8Rng,
    b: &mut CsrBuilder,
) -> Carried {
    let (npre, npost) = (c.nodes[pre].size, c.nodes[post].size);
    let same = pre == post;
    let mut carried = Carried::default();
    match &pr.connect {
        Connect::Conv { .. } | Connect::Pool { .. } => {
            let mut w = Vec::new();
            // Shared: no per-synapse rows; the kernel is the synapses.
            if let Some(cv) = conv.filter(|cv| !cv.shared) {
                cv.for_each(|a, t, x| {
                    b.push(a, t);
                    w.push(x);
                });
            }
            carried.w = Some(w);
        }
        Connect::All => {
            for a in 0..npre {
                for t in 0..npost {
                    b.push(a, t);
                }
            }
        }
        Connect::OneToOne => {
            for a in 0..npre.min(npost) {
                b.push(a, a);
            }
        }
        Connect::Random {
            p,
            allow_self,
            modules,
            partners: None,
        } => {
            let m = modules.unwrap_or(1).max(1);
            random_modules(conn_rng, *p, m, (npre, npost), same && !allow_self, b);
        }
        Connect::Random {
            p,
            modules,
            partners: Some(n),
            ..
        } => {
            let m = modules.unwrap_or(1).max(1);
            random_partners(conn_rng, *p, m, *n, (npre, npost), b);
        }
        Connect::Dense(rows) => {
            let mut w = Vec::new();
            for (a, row) in rows.iter().enumerate() {
                for (t, &x) in row.iter().enumerate() {
                    if x != 0.0 {
                        b.push(a as u32, t as u32);
                        w.push(x);
                    }
                }
            }
            carried.w = Some(w);
        }
        Connect::Sparse(list) => {
            let mut l: Vec<(u32, u32, f64)> = list.clone();
            l.sort_by_key(|s| (s.0, s.1));
            carried.w = Some(l.iter().map(|s| s.2).collect());
            for (a, t, _) in l {
                b.push(a, t);
            }
        }
        Connect::File(f) => carried = from_file(c, pr, f, b),
        Connect::Distance { sigma, allow_self } => {
            let pos = crate::positions::resolve(&c.program);
            let at = |n: usize| match c.nodes[n].kind {
                crate::context::NodeKind::Population(q) => pos[q].clone().unwrap_or_default(),
                crate::context::NodeKind::Input(_) => Vec::new(),
            };
            let pairs = crate::generate::distance(
                conn_rng,
                &at(pre),
                &at(post),
                *sigma,
                same && !allow_self,
            );
            for (a, t) in pairs {
                b.push(a, t);
            }
        }
        Connect::FixedTotal { p } => {
            for (a, t) in crate::generate::fixed_total(conn_rng, npre, npost, *p) {
                b.push(a, t);
            }
        }
    }
    carried
}

/// Bernoulli(`p`) connectivity within each of `m` modules (the diagonal blocks of the
/// `npre × npost` matrix), `no_self` leaving out `a == t`.
fn random_modules(
    conn_rng: &ChaCha8Rng,
    p: f64,
    m: u32,
    (npre, npost): (u32, u32),
    no_self: bool,
    b: &mut CsrBuilder,
) {
    let pairs = (0..m)
        .map(|k| {
            let rows = (cut(npre, m, k + 1) - cut(npre, m, k)) as u64;
            rows * (cut(npost, m, k + 1) - cut(npost, m, k)) as u64
        })
        .sum();
    b.reserve(expected(p, pairs));
    let mut gaps = Gaps::new(conn_rng, p);
    for k in 0..m {
        let (a0, a1) = (cut(npre, m, k), cut(npre, m, k + 1));
        let (t0, t1) = (cut(npost, m, k), cut(npost, m, k + 1));
        random_block(&mut gaps, (a0, a1), (t0, t1), no_self, |a, t| b.push(a, t));
    }
}

/// Bernoulli(`p`) connectivity from each of `m` modules to `n` partner modules drawn
/// from `conn_rng`.
fn random_partners(
    conn_rng: &mut ChaCha8Rng,
    p: f64,
    m: u32,
    n: u32,
    (npre, npost): (u32, u32),
    b: &mut CsrBuilder,
) {
    let partners = crate::generate::partner_modules(conn_rng, m, n);
    let mut gaps = Gaps::new(conn_rng, p);
    // Pre module j's rows reach every module that drew it: their blocks are
    // drawn in module order and merged into row-major order.
    for (j, to) in crate::generate::senders(&partners).iter().enumerate() {
        let j = j as u32;
        let (a0, a1) = (cut(npre, m, j), cut(npre, m, j + 1));
        let mut pairs = Vec::new();
        for &k in to {
            let (t0, t1) = (cut(npost, m, k), cut(npost, m, k + 1));
            random_block(&mut gaps, (a0, a1), (t0, t1), false, |a, t| {
                pairs.push((a, t))
            });
        }
        pairs.sort_unstable();
        for (a, t) in pairs {
            b.push(a, t);
        }
    }
}

/// A connectivity file's synapses (multapses in file order), with their weights and,
/// if any synapse gives one, delays.
fn from_file(c: &Compilation, pr: &Projection, f: &str, b: &mut CsrBuilder) -> Carried {
    let mut l = c.synapse_files[f].synapses.clone();
    // Stable: multapses keep their file order.
    l.sort_by_key(|s| (s.pre, s.post));
    let mut carried = Carried {
        w: Some(l.iter().map(|s| s.weight).collect()),
        d: None,
    };
    if l.iter().any(|s| s.delay.is_some()) {
        let default = pr.delay as u32;
        carried.d = Some(
            l.iter()
                .map(|s| s.delay.unwrap_or(default).min(255) as u8)
                .collect(),
        );
    }
    for s in l {
        b.push(s.pre, s.post);
    }
    carried
}

/// Start of module `k` of `m` over `n` neurons.
fn cut(n: u32, m: u32, k: u32) -> u32 {
    (n as u64 * k as u64 / m as u64) as u32
}

/// About how many synapses Bernoulli(`p`) on `pairs` pairs gives (a capacity, not a
/// count: the mean plus six standard deviations, at most 2²⁸ entries; validate's
/// synapse budget has already refused a program the chip's memory cannot hold).
fn expected(p: f64, pairs: u64) -> usize {
    let mean = p.clamp(0.0, 1.0) * pairs as f64;
    (mean + 6.0 * mean.sqrt() + 16.0).min((1u64 << 28) as f64) as usize
}

/// The geometric gaps of one connectivity stream, drawn ahead in batches: draw `i` is
/// the `u64` at words `2i, 2i + 1` past the stream's position when the batch began (a
/// ChaCha stream is seekable), so each chunk of a batch seeks its own copy of the
/// generator and the chunks run in parallel. The gaps are those a sequential loop of
/// `rng.random::<f64>()` would give, whatever the thread count; a batch drawn past the
/// last gap used costs time, never a different network.
pub(crate) struct Gaps {
    rng: ChaCha8Rng,
    /// Word position of draw 0.
    origin: u128,
    p: f64,
    log_q: f64,
    /// The current batch (draws `first..first + buf.len()`) and the next gap in it.
    buf: Vec<f64>,
    first: u64,
    at: usize,
}

/// Draws per parallel chunk, and the largest batch.
const GAP_CHUNK: usize = 4096;
const GAP_BATCH: usize = 16 * GAP_CHUNK;

impl Gaps {
    /// Gaps for Bernoulli(`p`) from `rng`'s present position (it is not advanced).
    pub(crate) fn new(rng: &ChaCha8Rng, p: f64) -> Gaps {
        // For a `p` so small that `1 − p` rounds to 1, `ln(1 − p)` would be 0 and every
        // pair would connect; `ln_1p(−p)` is right there. Elsewhere the textbook form
        // stays, so the random streams of every other `p` are unchanged.
        let log_q = if 1.0 - p == 1.0 {
            (-p).ln_1p()
        } else {
            (1.0 - p).ln()
        };
        Gaps {
            rng: rng.clone(),
            origin: rng.get_word_pos(),
            p,
            log_q,
            buf: Vec::new(),
            first: 0,
            at: 0,
        }
    }

    /// The next gap: `ln U / ln(1 − p)` for the next draw `U` in (0, 1], unfloored.
    #[inline]
    fn next(&mut self) -> f64 {
        if self.at == self.buf.len() {
            self.refill();
        }
        let g = self.buf[self.at];
        self.at += 1;
        g
    }

    /// Draw the next batch (twice the last, from one chunk up to `GAP_BATCH`).
    #[cold]
    fn refill(&mut self) {
        self.first += self.buf.len() as u64;
        let n = (2 * self.buf.len()).clamp(GAP_CHUNK, GAP_BATCH);
        self.buf.resize(n, 0.0);
        self.at = 0;
        let (rng, origin, first, log_q) = (&self.rng, self.origin, self.first, self.log_q);
        let fill = |(k, out): (usize, &mut [f64])| {
            let mut r = rng.clone();
            r.set_word_pos(origin + 2 * (first as u128 + (k * GAP_CHUNK) as u128));
            for g in out {
                let u: f64 = 1.0 - r.random::<f64>();
                *g = u.ln() / log_q;
            }
        };
        if n > GAP_CHUNK {
            self.buf
                .par_chunks_mut(GAP_CHUNK)
                .enumerate()
                .for_each(fill);
        } else {
            self.buf.chunks_mut(GAP_CHUNK).enumerate().for_each(fill);
        }
    }
}

/// Bernoulli(p) on every pair of `pre × post`, by geometric skipping, `p` and the
/// random stream from `gaps`.
///
/// The gap to the next pair is `⌊ln U / ln(1 − p)⌋`, one draw per connected pair (plus
/// one that ends the block). The floor is the truncation `as u64` (the quotient is never
/// negative but for −0 or a NaN, which both truncate to 0), and the pair's (row, column)
/// is carried along instead of divided out of the flat index: the same pairs as the
/// textbook form, from the same draws, without a division per synapse.
fn random_block(
    gaps: &mut Gaps,
    (a0, a1): (u32, u32),
    (t0, t1): (u32, u32),
    skip_self: bool,
    mut push: impl FnMut(u32, u32),
) {
    let width = (t1 - t0) as u64;
    let total = (a1 - a0) as u64 * width;
    let p = gaps.p;
    if p <= 0.0 || total == 0 {
        return;
    }
    // Flat index `idx` = `row · width + col`, with `col < width`.
    let (mut idx, mut row, mut col) = (0u64, 0u64, 0u64);
    loop {
        if p < 1.0 {
            // Number of failures before the next success: floor(ln U / ln(1 - p)), U in (0, 1].
            let gap = gaps.next();
            // `total - idx` is a whole number, so comparing the unfloored gap is the same.
            if gap >= (total - idx) as f64 {
                return;
            }
            let skip = gap as u64;
            idx += skip;
            col += skip;
            if col >= width {
                row += col / width;
                col %= width;
            }
        }
        if idx >= total {
            return;
        }
        let (a, t) = (a0 + row as u32, t0 + col as u32);
        // Skipping a drawn self-pair is exactly Bernoulli(p) on the other pairs.
        if !(skip_self && a == t) {
            push(a, t);
        }
        idx += 1;
        col += 1;
        if col == width {
            col = 0;
            row += 1;
        }
    }
}

fn weights(pr: &Projection, sign: Sign, n: usize, rng: &mut ChaCha8Rng) -> Values<f64> {
    match pr.weight.clone() {
        None => Values::Const(0.0),
        Some(Weight::Const(w)) => Values::Const(w),
        Some(Weight::Uniform { low, high }) => Values::Each(
            (0..n)
                .map(|_| low + (high - low) * rng.random::<f64>())
                .collect(),
        ),
        Some(Weight::Normal { mean, std }) => Values::Each(
            (0..n)
                .map(|_| {
                    // Truncated to the source's sign by redrawing (Dale's principle).
                    for _ in 0..64 {
                        let w = mean + std * normal(rng);
                        let ok = match sign {
                            Sign::Excitatory => w >= 0.0,
                            Sign::Inhibitory => w <= 0.0,
                            Sign::Mixed => true,
                        };
                        if ok {
                            return w;
                        }
                    }
                    0.0
                })
                .collect(),
        ),
        Some(Weight::TruncatedNormal { std }) => Values::Each(
            (0..n)
                .map(|_| std * crate::generate::trunc_normal(rng))
                .collect(),
        ),
    }
}

/// A standard normal draw (Box–Muller; one of the pair is enough here).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gen(p: f64, n: u32, skip_self: bool, seed: u64) -> (Vec<u32>, Vec<u32>) {
        let mut b = CsrBuilder::new(n);
        let mut gaps = Gaps::new(&ChaCha8Rng::seed_from_u64(seed), p);
        random_block(&mut gaps, (0, n), (0, n), skip_self, |a, t| b.push(a, t));
        b.finish(n)
    }

    #[test]
    fn geometric_skipping_has_the_right_density() {
        let n = 1000;
        let (off, t) = gen(0.1, n, true, 7);
        let count = t.len() as f64;
        let expect = 0.1 * (n as f64) * (n as f64 - 1.0);
        // 5 standard deviations of a binomial.
        let sd = (expect * 0.9).sqrt();
        assert!((count - expect).abs() < 5.0 * sd, "{count} vs {expect}");
        for i in 0..n as usize {
            let row = &t[off[i] as usize..off[i + 1] as usize];
            assert!(row.windows(2).all(|w| w[0] < w[1]));
            assert!(!row.contains(&(i as u32)), "self pair in row {i}");
        }
    }

    #[test]
    fn a_vanishing_p_connects_almost_nothing() {
        // 1 − 1e-17 rounds to 1: 10⁶ pairs at p = 1e-17 expect 1e-11 synapses.
        for p in [1e-17, 1e-300, f64::MIN_POSITIVE] {
            let (_, t) = gen(p, 1000, false, 3);
            assert!(t.is_empty(), "p = {p}: {} synapses", t.len());
        }
    }

    /// The textbook form: floor of the gap, (row, column) divided out of the flat index.
    fn reference(p: f64, n: u32, m: u32, skip_self: bool, seed: u64) -> Vec<(u32, u32)> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut out = Vec::new();
        let log_q = (1.0 - p).ln();
        let total = n as u64 * m as u64;
        let mut idx = 0u64;
        loop {
            if p < 1.0 {
                let u: f64 = 1.0 - rng.random::<f64>();
                let gap = (u.ln() / log_q).floor();
                if gap >= (total - idx) as f64 {
                    break;
                }
                idx += gap as u64;
            }
            if idx >= total {
                break;
            }
            let (a, t) = ((idx / m as u64) as u32, (idx % m as u64) as u32);
            if !(skip_self && a == t) {
                out.push((a, t));
            }
            idx += 1;
        }
        out
    }

    #[test]
    fn skipping_matches_the_textbook_form() {
        for (p, n, m, skip, seed) in [
            (0.068, 300, 300, true, 3),
            (0.5, 40, 7, false, 4),
            (0.001, 2000, 3, false, 5),
            (0.9, 30, 31, true, 6),
            (1e-6, 3000, 3000, false, 7),
            // 80,000 draws: batches of every size, their chunks drawn in parallel.
            (0.5, 400, 200, false, 8),
        ] {
            // A block away from the origin (same offset on both sides keeps self-pairs).
            let o = 11;
            let mut gaps = Gaps::new(&ChaCha8Rng::seed_from_u64(seed), p);
            let mut got = Vec::new();
            random_block(&mut gaps, (o, o + n), (o, o + m), skip, |a, t| {
                got.push((a - o, t - o))
            });
            assert_eq!(got, reference(p, n, m, skip, seed), "p = {p}, {n} × {m}");
        }
    }

    #[test]
    fn extremes_of_p() {
        assert_eq!(gen(0.0, 50, false, 1).1.len(), 0);
        assert_eq!(gen(1.0, 50, false, 1).1.len(), 2500);
        assert_eq!(gen(1.0, 50, true, 1).1.len(), 2450);
    }

    #[test]
    fn same_seed_same_synapses() {
        assert_eq!(gen(0.05, 300, false, 9), gen(0.05, 300, false, 9));
        assert_ne!(gen(0.05, 300, false, 9), gen(0.05, 300, false, 10));
    }

    #[test]
    fn derived_seeds_differ() {
        assert_ne!(derive_seed(1, 1), derive_seed(1, 2));
        assert_ne!(derive_seed(1, 1), derive_seed(2, 1));
    }
}
