//! Several trials of a batch in lockstep ("lanes"): the fast path of
//! [`EpropCore::run_trials`], bit-identical to running [`EpropCore::run_trial`] on each.
//!
//! The trials of a batch share the weights and, in a task, their length and window,
//! so the eligibility unit can sweep a row once for all of them: per-synapse traces are
//! laid out `[synapse][lane]` and the presynaptic traces `[source][lane]`, so a
//! synapse's source is looked up once for [`L`] trials and the per-lane arithmetic is a
//! fixed-length loop the compiler vectorises (with AVX2 where the CPU has it). The
//! neurons, readouts, error units and grids stay per lane (they are cheap), the neurons
//! on the hoisted [`super::bank`].
//!
//! Why it is exact:
//! - every lane runs the reference's arithmetic through the same chip functions;
//! - a lane whose row is skipped (lazy decay) gets constants that make the row step
//!   the identity: `c1 = 0, c2 = 2^F` for εa, `κ = 2^16, 1−κ = 0` for ē, ψ̂ = 0 and
//!   m = 0 (so `e = 0` and `g`, Σe do not move);
//! - `g` is kept per lane and folded into the state's `g` in trial order at the end:
//!   the per-synapse adds wrap (associative), and the regulariser's saturating add
//!   comes after each trial's own contributions, as in the reference;
//! - the readout gradient saturates in the reference, so the lanes take a batch only
//!   where no partial sum can reach the `i64` range (classification: `|err|, z̄ ≤ 2^16`;
//!   checked against the accumulator before each group), else the reference runs.

use super::bank::{Group, PsiDiv, Regs};
use super::build::{EpropCore, POW_BITS, Q};
use super::run::{EpropState, TrialData, TrialResult, TrialTarget};
use amine_chip::learning::eprop::{decay_by, rshift, sat32, EpropPost};
use amine_chip::modgrid::ModGrid;
use amine_chip::neuron::alif::AlifParams;

/// Trials per group.
pub(super) const L: usize = 8;
/// Up to this many lanes with work in a row are swept one by one.
const SPARSE: usize = 2;

#[cfg(test)]
mod tests {
    use super::Shift;
    use amine_chip::learning::eprop::rshift;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5000))]
        /// The logical-shift form equals the chip's rounding shift for every `i64`
        /// (wrapping where the chip's add would overflow).
        #[test]
        fn shift_equals_rshift(x in any::<i64>(), small in -(1i64 << 45)..(1i64 << 45), k in 1u32..=30) {
            for x in [x, small] {
                let want = (x.wrapping_add(1 << (k - 1))) >> k;
                prop_assert_eq!(Shift::new(k).apply(x), want);
                if x.checked_add(1 << (k - 1)).is_some() {
                    prop_assert_eq!(Shift::new(k).apply(x), rshift(x, k));
                }
            }
        }
    }
}

/// What the core precomputes for the lanes: its two neuron groups and the ψ̂ table.
#[derive(Debug, Clone)]
pub(super) struct Fast {
    groups: [Group; 2],
    psi: PsiDiv,
}

impl Fast {
    /// `None` unless every LIF neuron shares one parameter set and every ALIF neuron
    /// another, the bank models their reset, and both ψ̂ constants agree.
    pub(super) fn new(core: &EpropCore) -> Option<Fast> {
        let p: &[AlifParams] = &core.params;
        let (lif, alif) = p.split_at(core.n_lif.min(p.len()));
        let first = |g: &[AlifParams]| g.first().or(p.first()).copied();
        let (pl, pa) = (first(lif)?, first(alif)?);
        let same = lif.iter().all(|x| *x == pl) && alif.iter().all(|x| *x == pa);
        let (cl, ca) = (&core.lif_c, &core.alif_c);
        let thr = i64::from(pl.lif.threshold());
        if !same
            || thr != i64::from(pa.lif.threshold())
            || (cl.gamma, cl.frac) != (ca.gamma, ca.frac)
        {
            return None;
        }
        Some(Fast {
            groups: [Group::new(&pl)?, Group::new(&pa)?],
            psi: PsiDiv::new(thr, cl)?,
        })
    }

    /// The hoisted parameters of the LIF (`alif = false`) or ALIF group.
    pub(super) fn group(&self, alif: bool) -> &Group {
        &self.groups[usize::from(alif)]
    }

    /// The ψ̂ table both groups share.
    pub(super) fn psi(&self) -> &PsiDiv {
        &self.psi
    }
}

/// Per-lane state of a group of trials (index `[lane][neuron]` for what each lane's
/// scalar loops walk, `[neuron or synapse][lane]` for what the row sweep reads).
#[derive(Debug, Clone)]
pub(super) struct Lanes {
    regs: Vec<Regs>,
    cur: Vec<i64>,
    fired: Vec<bool>,
    spk: Vec<Vec<u32>>,
    spk_prev: Vec<Vec<u32>>,
    count: Vec<u32>,
    zbar: Vec<i32>,
    y: Vec<i32>,
    y_sum: Vec<i64>,
    err: Vec<i32>,
    g_out: Vec<i64>,
    grids: Vec<ModGrid>,
    ev: Vec<[i32; L]>,
    evp: Vec<[i32; L]>,
    psi: Vec<[i32; L]>,
    psi_prev: Vec<[i32; L]>,
    m: Vec<[i32; L]>,
    idle: Vec<[u32; L]>,
    ea: Vec<[i32; L]>,
    ebar: Vec<[i32; L]>,
    esum: Vec<[i64; L]>,
    g: Vec<[i64; L]>,
    post: EpropPost,
}

impl Lanes {
    pub(super) fn new(core: &EpropCore, grid: &ModGrid) -> Lanes {
        let (n, o, syn) = (core.n, core.outputs, core.w.len());
        let mut post = EpropPost::default();
        post.resize(L);
        Lanes {
            regs: vec![Regs::default(); L * n],
            cur: vec![0; L * n],
            fired: vec![false; L * n],
            spk: (0..L).map(|_| Vec::with_capacity(n)).collect(),
            spk_prev: (0..L).map(|_| Vec::with_capacity(n)).collect(),
            count: vec![0; L * n],
            zbar: vec![0; L * n],
            y: vec![0; L * o],
            y_sum: vec![0; L * o],
            err: vec![0; L * o],
            g_out: vec![0; L * o * n],
            grids: vec![grid.clone(); L],
            ev: vec![[0; L]; core.inputs + n],
            evp: vec![[0; L]; core.inputs + n],
            psi: vec![[0; L]; n],
            psi_prev: vec![[0; L]; n],
            m: vec![[0; L]; n],
            idle: vec![[0; L]; n],
            ea: vec![[0; L]; syn],
            ebar: vec![[0; L]; syn],
            esum: vec![[0; L]; syn],
            g: vec![[0; L]; syn],
            post,
        }
    }

    fn reset(&mut self) {
        self.regs.fill(Regs::default());
        self.fired.fill(false);
        self.spk.iter_mut().for_each(Vec::clear);
        self.spk_prev.iter_mut().for_each(Vec::clear);
        self.count.fill(0);
        self.zbar.fill(0);
        self.y.fill(0);
        self.y_sum.fill(0);
        self.g_out.fill(0);
        self.grids.iter_mut().for_each(ModGrid::clear);
        self.ev.fill([0; L]);
        self.psi.fill([0; L]);
        self.psi_prev.fill([0; L]);
        self.idle.fill([0; L]);
        self.ea.fill([0; L]);
        self.ebar.fill([0; L]);
        self.esum.fill([0; L]);
        self.g.fill([0; L]);
    }
}

/// One row's per-lane constants for a step.
struct LaneRow {
    psi: [i32; L],
    psi_beta: [i32; L],
    c1: [i32; L],
    c2: [i32; L],
    m: [i32; L],
    kappa: [i32; L],
    one_k: [i32; L],
}

/// `rshift(x, k)` (the chip's `(x + 2^(k−1)) >> k`, wrapping as release builds do)
/// through a logical shift, which vector units have for 64-bit lanes (AVX2 has no
/// arithmetic one): for any `y`, `y + 2^63` is in `[0, 2^64)` as an unsigned number,
/// so `(y + 2^63) >>> k − 2^(63−k) = ⌊y / 2^k⌋`. `k` in `1..=62`.
#[derive(Clone, Copy)]
struct Shift {
    k: u32,
    bias: i64,
    off: i64,
}

impl Shift {
    fn new(k: u32) -> Shift {
        let k = k.clamp(1, 62);
        Shift {
            k,
            bias: (1i64 << (k - 1)).wrapping_add(i64::MIN),
            off: 1i64 << (63 - k),
        }
    }

    #[inline(always)]
    fn apply(self, x: i64) -> i64 {
        ((x.wrapping_add(self.bias) as u64) >> self.k) as i64 - self.off
    }
}

/// `x` saturated to `i32`, written with min/max so it vectorises.
#[inline(always)]
fn sat(x: i64) -> i32 {
    x.min(i64::from(i32::MAX)).max(i64::from(i32::MIN)) as i32
}

/// One row's traces for one step, all lanes: [`super::run`]'s `row` per lane, with the
/// chip's `eps_a_next`, `e_alif`/`e_lif` and `ebar_next` written out on [`Shift`].
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn row<const ALIF: bool, const EBAR: bool, const GRAD: bool>(
    c: &LaneRow,
    lanes: std::ops::Range<usize>,
    f: Shift,
    src: &[u32],
    ev: &[[i32; L]],
    evp: &[[i32; L]],
    ea: &mut [[i32; L]],
    ebar: &mut [[i32; L]],
    esum: &mut [[i64; L]],
    g: &mut [[i64; L]],
) {
    let q16 = Shift::new(16);
    let it = src
        .iter()
        .zip(ea.iter_mut())
        .zip(ebar.iter_mut())
        .zip(esum.iter_mut())
        .zip(g.iter_mut());
    for ((((&s, ea), eb), es), g) in it {
        let (Some(v), Some(vp)) = (ev.get(s as usize), evp.get(s as usize)) else {
            continue;
        };
        for l in lanes.clone() {
            let wide = |a: i32, b: i32| i64::from(a) * i64::from(b);
            let e = if ALIF {
                ea[l] = sat(f.apply(wide(c.c1[l], vp[l]).wrapping_add(wide(c.c2[l], ea[l]))));
                f.apply(wide(c.psi[l], v[l]).wrapping_sub(wide(c.psi_beta[l], ea[l])))
            } else {
                f.apply(wide(c.psi[l], v[l]))
            };
            es[l] = es[l].wrapping_add(e);
            if EBAR {
                let k = wide(c.kappa[l], eb[l]);
                eb[l] = sat(q16.apply(k.wrapping_add(i64::from(c.one_k[l]).wrapping_mul(e))));
                if GRAD {
                    g[l] = g[l].wrapping_add(wide(c.m[l], eb[l]));
                }
            }
        }
    }
}

/// What the eligibility step needs besides the lanes.
struct Step {
    ebar_on: bool,
    in_window: bool,
    lazy: bool,
}

impl EpropCore {
    /// Whether `trials` can run as lanes from `state` (module docs), and their
    /// common window.
    fn lanes_fit(&self, state: &EpropState, trials: &[TrialData<'_>], learn: bool) -> bool {
        let Some(first) = trials.first() else {
            return false;
        };
        let window = |t: &TrialData<'_>| t.window.start.min(t.steps)..t.window.end.min(t.steps);
        let same = trials
            .iter()
            .all(|t| t.steps == first.steps && window(t) == window(first));
        let class = trials
            .iter()
            .all(|t| matches!(t.target, TrialTarget::Class(_)));
        // Classification: |err·z̄| ≤ 2^32 per step and output.
        let room = ((L * window(first).len()) as i128) << 32;
        let fits = state
            .g_out
            .iter()
            .all(|&g| i128::from(g).abs() + room < i128::from(i64::MAX));
        trials.len() > 1
            && self.fast.is_some()
            && state.log.is_none()
            && state.record_at.is_empty()
            && same
            && (!learn || (class && fits))
    }

    /// Runs `trials` from reset as [`EpropCore::run_trial`] would one after another,
    /// `out[i]` getting trial i's result and `state` the summed gradients (the same
    /// bits), in groups of up to [`L`] lanes where they fit (same length and window,
    /// classification when learning, no log); otherwise trial by trial. `state`'s
    /// per-trial internals (traces, spike counts) are not those of the last trial.
    pub fn run_trials(
        &self,
        state: &mut EpropState,
        trials: &[TrialData<'_>],
        learn: bool,
        out: &mut [TrialResult],
    ) {
        for (group, res) in trials.chunks(L).zip(out.chunks_mut(L)) {
            if self.lanes_fit(state, group, learn) {
                self.run_lanes(state, group, learn, res);
            } else {
                for (t, r) in group.iter().zip(res.iter_mut()) {
                    *r = self.run_trial(state, t, learn);
                }
            }
        }
    }

    fn run_lanes(
        &self,
        s: &mut EpropState,
        trials: &[TrialData<'_>],
        learn: bool,
        out: &mut [TrialResult],
    ) {
        let (Some(fast), Some(first)) = (self.fast.as_ref(), trials.first()) else {
            return;
        };
        let mut lz = s
            .lanes
            .take()
            .unwrap_or_else(|| Box::new(Lanes::new(self, &s.grid)));
        lz.reset();
        let (n, ni, o) = (self.n, self.inputs, self.outputs);
        let lane = |l: usize| &trials[l.min(trials.len() - 1)];
        let steps = first.steps;
        let window = first.window.start.min(steps)..first.window.end.min(steps);
        let gate = self.ebar_from(window.start);
        let (kappa, one_k) = (self.kappa, (1i64 << 16) - self.kappa);
        let mut r: [TrialResult; L] = std::array::from_fn(|_| TrialResult {
            steps,
            ..TrialResult::default()
        });
        let means: [f64; L] = std::array::from_fn(|l| match lane(l).target {
            TrialTarget::Series(v) => {
                v.iter().map(|&x| f64::from(x)).sum::<f64>() / v.len().max(1) as f64
            }
            TrialTarget::Class(_) => 0.0,
        });
        let avx2 = has_avx2();
        for t in 0..steps {
            let xs: [&[u16]; L] = std::array::from_fn(|l| {
                let tr = lane(l);
                let lo = tr.spike_start.get(t).copied().unwrap_or(0) as usize;
                let hi = tr.spike_start.get(t + 1).copied().unwrap_or(0) as usize;
                tr.spikes.get(lo..hi).unwrap_or(&[])
            });
            // 1. εv per source and lane.
            if learn {
                self.ev_step(&mut lz, &xs, avx2);
                for x in r.iter_mut() {
                    x.counts.trace_update += (ni + n) as u64;
                }
            }
            // 2. Spike delivery and the neurons, lane by lane.
            for (l, r) in r.iter_mut().enumerate() {
                self.neurons_step(&mut lz, fast, l, xs[l], r);
            }
            // 3. Readouts and z̄.
            let zbar_on = learn && t >= gate;
            for (l, r) in r.iter_mut().enumerate() {
                self.readout_step(&mut lz.y[l * o..(l + 1) * o], &lz.spk[l], &mut r.counts);
                if zbar_on {
                    let zs = &mut lz.zbar[l * n..(l + 1) * n];
                    for (zb, &z) in zs.iter_mut().zip(&lz.fired[l * n..(l + 1) * n]) {
                        let z = i64::from(z) << Q;
                        *zb = sat32(rshift(kappa * i64::from(*zb) + one_k * z, 16));
                    }
                    r.counts.trace_update += n as u64;
                }
            }
            // 4. Window: error units, readout gradient, learning signal.
            let in_window = window.contains(&t);
            if in_window {
                for (l, r) in r.iter_mut().enumerate() {
                    r.window_steps += 1;
                    let y = &lz.y[l * o..(l + 1) * o];
                    for (acc, &y) in lz.y_sum[l * o..(l + 1) * o].iter_mut().zip(y) {
                        *acc += i64::from(y);
                    }
                    let tr = lane(l);
                    let tv = match tr.target {
                        TrialTarget::Series(v) => v.get(t - window.start).copied().unwrap_or(0.0),
                        TrialTarget::Class(_) => 0.0,
                    };
                    let err = &mut lz.err[l * o..(l + 1) * o];
                    self.error_step(tr.target, tv, means[l], y, err, r);
                    if learn {
                        let m = &mut lz.m;
                        self.signal_step(
                            &lz.err[l * o..(l + 1) * o],
                            &lz.zbar[l * n..(l + 1) * n],
                            &mut lz.g_out[l * o * n..(l + 1) * o * n],
                            &mut lz.grids[l],
                            r,
                            None,
                            |j, v| m[j][l] = v,
                        );
                    }
                }
            }
            // 5. The eligibility unit, row by row, all lanes at once.
            if learn {
                let st = Step {
                    ebar_on: t >= gate,
                    in_window,
                    lazy: self.opts.lazy_decay,
                };
                self.eligibility_step(&mut lz, &st, &mut r, avx2);
            }
            std::mem::swap(&mut lz.spk, &mut lz.spk_prev);
        }
        for (l, (res, mut r)) in out.iter_mut().zip(r).enumerate() {
            if learn {
                for (g, lg) in s.g.iter_mut().zip(&lz.g) {
                    *g = g.wrapping_add(lg[l]);
                }
                let count = &lz.count[l * n..(l + 1) * n];
                let esum = &lz.esum;
                self.regularise(&mut s.g, count, |q| esum[q][l], steps, window.len());
                for (g, &lg) in s.g_out.iter_mut().zip(&lz.g_out[l * o * n..]) {
                    *g = g.saturating_add(lg);
                }
            }
            let count = &lz.count[l * n..(l + 1) * n];
            let spikes = |c: &[u32]| c.iter().map(|&c| u64::from(c)).sum::<u64>();
            r.spikes_lif = spikes(&count[..self.n_lif]);
            r.spikes_alif = spikes(&count[self.n_lif..]);
            let ys = &lz.y_sum[l * o..(l + 1) * o];
            r.predicted = (0..o)
                .max_by(|&a, &b| ys[a].cmp(&ys[b]).then(b.cmp(&a)))
                .unwrap_or(0);
            r.correct = matches!(lane(l).target, TrialTarget::Class(c) if c == r.predicted);
            r.chip.barriers = steps as u64;
            *res = r;
        }
        s.lanes = Some(lz);
    }

    /// Spike delivery into lane `l`'s neurons and their step.
    fn neurons_step(&self, lz: &mut Lanes, fast: &Fast, l: usize, xs: &[u16], r: &mut TrialResult) {
        let (n, ni) = (self.n, self.inputs);
        let cur = &mut lz.cur[l * n..(l + 1) * n];
        let sources = xs
            .iter()
            .map(|&i| usize::from(i))
            .chain(lz.spk_prev[l].iter().map(|&j| ni + j as usize));
        for src in sources {
            let shift = self.groups.exp[usize::from(src >= ni)];
            let (a, b) = (self.out_start[src], self.out_start[src + 1]);
            for q in a..b {
                let w = i64::from(self.w[self.out_syn[q] as usize]) << shift;
                cur[self.out_post[q] as usize] += w;
            }
            r.counts.synaptic_op += (b - a) as u64;
            r.counts.axon_in += 1;
        }
        let spk = &mut lz.spk[l];
        spk.clear();
        let regs = &mut lz.regs[l * n..(l + 1) * n];
        let fired = &mut lz.fired[l * n..(l + 1) * n];
        let count = &mut lz.count[l * n..(l + 1) * n];
        let mut active = 0u64;
        for (j, (((c, rg), fd), cnt)) in cur
            .iter_mut()
            .zip(regs.iter_mut())
            .zip(fired.iter_mut())
            .zip(count.iter_mut())
            .enumerate()
        {
            let input = std::mem::take(c).clamp(i32::MIN as i64, i32::MAX as i64) as i32;
            let (f, psi) = if rg.busy(input) {
                active += 1;
                rg.step(&fast.groups[usize::from(j >= self.n_lif)], &fast.psi, input)
            } else {
                (false, 0)
            };
            *fd = f;
            if f {
                spk.push(j as u32);
                *cnt += 1;
            }
            lz.psi_prev[j][l] = lz.psi[j][l];
            lz.psi[j][l] = psi;
        }
        r.counts.neuron_active += active;
        r.counts.neuron_idle += n as u64 - active;
        r.counts.spike_out += spk.len() as u64;
    }

    fn ev_step(&self, lz: &mut Lanes, xs: &[&[u16]; L], avx2: bool) {
        #[cfg(target_arch = "x86_64")]
        if avx2 {
            // SAFETY: the CPU has AVX2 (checked at run time).
            unsafe { self.ev_step_avx2(lz, xs) };
            return;
        }
        let _ = avx2;
        self.ev_step_any(lz, xs);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn ev_step_avx2(&self, lz: &mut Lanes, xs: &[&[u16]; L]) {
        self.ev_step_any(lz, xs);
    }

    /// εv(t) from εv(t−1) for every source and lane: the decay, then the sources that
    /// fired redone with their input.
    #[inline(always)]
    fn ev_step_any(&self, lz: &mut Lanes, xs: &[&[u16]; L]) {
        let c = &self.lif_c;
        std::mem::swap(&mut lz.ev, &mut lz.evp);
        for (e, p) in lz.ev.iter_mut().zip(&lz.evp) {
            for l in 0..L {
                e[l] = c.ev_next(p[l], false);
            }
        }
        let ni = self.inputs;
        for l in 0..L {
            let fired = xs[l]
                .iter()
                .map(|&i| usize::from(i))
                .chain(lz.spk_prev[l].iter().map(|&j| ni + j as usize));
            for i in fired {
                if let (Some(e), Some(p)) = (lz.ev.get_mut(i), lz.evp.get(i)) {
                    e[l] = c.ev_next(p[l], true);
                }
            }
        }
    }

    fn eligibility_step(&self, lz: &mut Lanes, st: &Step, r: &mut [TrialResult; L], avx2: bool) {
        #[cfg(target_arch = "x86_64")]
        if avx2 {
            // SAFETY: the CPU has AVX2 (checked at run time).
            unsafe { self.eligibility_avx2(lz, st, r) };
            return;
        }
        let _ = avx2;
        self.eligibility_any(lz, st, r);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn eligibility_avx2(&self, lz: &mut Lanes, st: &Step, r: &mut [TrialResult; L]) {
        self.eligibility_any(lz, st, r);
    }

    /// Step 5 of [`EpropCore::run_trial`] for every lane: per row, each lane decides
    /// (quiet, catch-up decay, constants) as the reference does; then one sweep.
    #[inline(always)]
    fn eligibility_any(&self, lz: &mut Lanes, st: &Step, r: &mut [TrialResult; L]) {
        let f = u32::from(self.opts.frac_bits);
        let fs = Shift::new(f);
        let one_k = ((1i64 << 16) - self.kappa) as i32;
        for j in 0..self.n {
            let alif = j >= self.n_lif;
            let c = if alif { &self.alif_c } else { &self.lif_c };
            let (lo, hi) = (self.row_start[j], self.row_start[j + 1]);
            let len = (hi - lo) as u64;
            // Skipped lanes step as the identity (module docs).
            let mut k = LaneRow {
                psi: [0; L],
                psi_beta: [0; L],
                c1: [0; L],
                c2: [1 << f; L],
                m: [0; L],
                kappa: [1 << 16; L],
                one_k: [0; L],
            };
            let mut grad = false;
            let mut active: Vec<std::ops::Range<usize>> = Vec::new();
            for l in 0..L {
                let (psi_j, pp) = (lz.psi[j][l], lz.psi_prev[j][l]);
                let m = if st.in_window { lz.m[j][l] } else { 0 };
                let quiet = psi_j == 0 && m == 0 && !(alif && pp != 0);
                if quiet && (st.lazy || (!alif && !st.ebar_on)) {
                    if alif || st.ebar_on {
                        lz.idle[j][l] += 1;
                    }
                    continue;
                }
                if active.len() <= SPARSE {
                    active.push(l..l + 1);
                }
                let idle = std::mem::take(&mut lz.idle[j][l]) as usize;
                if idle > 0 {
                    let kp = self.kappa_pow[idle.min(self.kappa_pow.len() - 1)];
                    let rp = self.rho_pow[idle.min(self.rho_pow.len() - 1)];
                    if alif {
                        for x in &mut lz.ea[lo..hi] {
                            x[l] = decay_by(x[l], rp, POW_BITS);
                        }
                        r[l].counts.trace_update += len;
                    }
                    if st.ebar_on {
                        for x in &mut lz.ebar[lo..hi] {
                            x[l] = decay_by(x[l], kp, POW_BITS);
                        }
                        r[l].counts.trace_update += len;
                    }
                }
                c.post_at(&mut lz.post, l, psi_j, pp, m);
                k.psi[l] = lz.post.psi[l];
                k.psi_beta[l] = lz.post.psi_beta[l];
                k.c1[l] = lz.post.c1[l];
                k.c2[l] = lz.post.c2[l];
                k.m[l] = m;
                k.kappa[l] = self.kappa as i32;
                k.one_k[l] = one_k;
                grad |= m != 0;
                let per = 1 + u64::from(alif) + u64::from(st.ebar_on) + u64::from(m != 0);
                r[l].counts.trace_update += per * len + 1;
            }
            if active.is_empty() {
                continue;
            }
            let src = &self.src[lo..hi];
            let (ev, evp) = (&lz.ev[..], &lz.evp[..]);
            let (ea, eb, es, g) = (
                &mut lz.ea[lo..hi],
                &mut lz.ebar[lo..hi],
                &mut lz.esum[lo..hi],
                &mut lz.g[lo..hi],
            );
            // A lane whose row is idle only costs work: with few active lanes, sweep
            // those one by one (the idle ones would step as the identity anyway).
            let all = 0..L;
            let sweeps: &[std::ops::Range<usize>] = if active.len() <= SPARSE {
                &active
            } else {
                std::slice::from_ref(&all)
            };
            for lanes in sweeps.iter().cloned() {
                let (ea, eb, es, g) = (&mut *ea, &mut *eb, &mut *es, &mut *g);
                match (alif, st.ebar_on, grad) {
                    (true, false, _) => {
                        row::<true, false, false>(&k, lanes, fs, src, ev, evp, ea, eb, es, g)
                    }
                    (true, true, false) => {
                        row::<true, true, false>(&k, lanes, fs, src, ev, evp, ea, eb, es, g)
                    }
                    (true, true, true) => {
                        row::<true, true, true>(&k, lanes, fs, src, ev, evp, ea, eb, es, g)
                    }
                    (false, false, _) => {
                        row::<false, false, false>(&k, lanes, fs, src, ev, evp, ea, eb, es, g)
                    }
                    (false, true, false) => {
                        row::<false, true, false>(&k, lanes, fs, src, ev, evp, ea, eb, es, g)
                    }
                    (false, true, true) => {
                        row::<false, true, true>(&k, lanes, fs, src, ev, evp, ea, eb, es, g)
                    }
                }
            }
        }
    }
}

fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}
