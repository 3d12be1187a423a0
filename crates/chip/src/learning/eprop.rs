//! The e-prop eligibility unit: per-synapse eligibility traces of e-prop (Bellec et al.
//! 2020) in fixed point, accumulated against a learning signal read from the modulator
//! grid, and applied to the weights at the learning epoch.
//!
//! Per synapse j←i of an e-prop row (one presynaptic source i, targets j LIF or ALIF),
//! every step, with ψ', εv' the values of the previous step:
//!
//! ```text
//! εv_i  ← α·εv_i + (1−α)·x_i                                (per row)
//! ψ_j   = γ·max(0, 1 − |v_j − A_j|/thr_j),  0 while refractory   (per compartment, γ = 0.3)
//! εa_ji ← (1−ρ)·ψ'_j·εv'_i + (ρ − (1−ρ)·β·ψ'_j)·εa_ji        (only when β ≠ 0)
//! e_ji  = ψ_j·(εv_i − β·εa_ji)
//! ē_ji  ← κ·ē_ji + (1−κ)·e_ji
//! g_ji  += m_j·ē_ji
//! ```
//!
//! and at the epoch `Δw_ji = −η·g_ji` (stochastically rounded), `g = 0`.
//!
//! # Units: everything is normalised by the threshold
//!
//! The float model's pseudo-derivative is `(γ/thr)·max(…)`. The chip keeps ψ and εa
//! multiplied by the base threshold `thr = vth << 6` (v units), so every trace is a
//! dimensionless number in about [0, 1]: `ψ̂ = thr·ψ ∈ [0, γ]`, `ε̂a = thr·εa`, and β is
//! the float β divided by thr (`β̂ = β/thr`; the reference's 1.8 / 0.03 = 60). With these
//! the recursions above are unchanged and `ê = thr·e`, `ĝ = thr·g`: the chip's
//! gradient is the float one times the threshold, which `η` absorbs.
//!
//! The chip's ALIF `a` is in v units and enters the threshold directly (`A = thr + a`,
//! [`crate::neuron::alif`]), so it plays the float model's `β·a`: β enters only the
//! εa terms. A consistent β̂ is `a_inc / ((1 − ρ)·thr)` with `ρ = 1 − da/4096`.
//!
//! # Fixed point
//!
//! - the constants α, ρ, κ and γ are Q0.16 ([`CONST_BITS`]): `round(x·2^16)`, so a
//!   time constant τ is represented to a relative `2^-17·τ` (τ = 2000 steps: 0.7 %);
//!   `1 − α` is `2^16 − α_q`; β is Q16.16;
//! - εv, ψ, εa, e and ē are `i32` with `frac_bits` (F, 1..=24) fractional bits;
//! - g is `i64` with `F + modulator_frac` fractional bits (m is the grid's raw value);
//! - every product is exact in `i64` (`i128` where the bound needs it) and every
//!   shift back to F bits rounds to nearest, ties up (`(x + 2^(k−1)) >> k`); so each
//!   step adds at most ½ LSB of error per operation. εa, whose ρ is close to 1, sums
//!   its roundings over many steps, and β·ψ̂ carries them into e and ē: the proptest
//!   holds every trace within 64 LSBs of exact arithmetic on the quantised constants
//!   (2^-10 at F = 16, 2^-14 at F = 20) over 200 steps with β ≤ 8 and τa ≤ 3000;
//!   a hand-computed ALIF sequence agrees with the float equations to 2^-12 at F = 16;
//! - η is a 16-bit mantissa times a power of two; `Δw` in mantissa LSBs is
//!   `−η_m·g·2^(η_e − F − modulator_frac − exponent)`, rounded stochastically with the
//!   engine's counter-based draws ([`super::hash_random`] keyed by seed, epoch, row and
//!   synapse), clamped to the row's range (Dale: a sign-fixed row stops at 0), or with
//!   renormalisation the row is halved and its exponent raised, as
//!   [`super::engine::PreparedRule::apply_row`] does.
//!
//! # Layout
//!
//! Per row ([`EpropRow`]) the source's εv(t) and εv(t−1), and one dense array per
//! per-synapse trace (εa, ē, g) in synapse order: the sweep is one regular loop. Per
//! compartment and step the unit derives the few values the row loop needs
//! ([`EpropPost`]: ψ, ψ·β, and the two εa coefficients) once, so the synapse loop is
//! three multiply-adds and three shifts (two without εa).

use super::engine::{
    add_to_weights_clamped, add_to_weights_in_range, halve, weight_range, Delta, DrawKey, RowDraws,
    RowMut, RowOutcome,
};
use serde::{Deserialize, Serialize};

/// Fractional bits of the constants α, ρ, κ, γ (Q0.16) and of β (Q16.16).
pub const CONST_BITS: u32 = 16;
/// `εa ← (c1·εv' + c2·εa) >> F` (rounded): one synapse's adaptation trace, with the
/// coefficients of [`EpropConsts::post_at`]. Shared by every layout of the unit, so
/// they cannot drift apart.
#[inline(always)]
pub fn eps_a_next(c1: i32, c2: i32, ev_prev: i64, ea: i32, f: u32) -> i32 {
    sat32(rshift(
        i64::from(c1) * ev_prev + i64::from(c2) * i64::from(ea),
        f,
    ))
}

/// `e = (ψ̂·εv − ψ̂β·εa) >> F` (rounded) of a synapse onto an ALIF compartment.
#[inline(always)]
pub fn e_alif(psi: i32, psi_beta: i32, ev: i64, ea: i32, f: u32) -> i64 {
    rshift(i64::from(psi) * ev - i64::from(psi_beta) * i64::from(ea), f)
}

/// `e = (ψ̂·εv) >> F` (rounded) of a synapse onto a compartment without adaptation.
#[inline(always)]
pub fn e_lif(psi: i32, ev: i64, f: u32) -> i64 {
    rshift(i64::from(psi) * ev, f)
}

/// `ē ← (κ·ē + (1−κ)·e) >> 16` (rounded), κ and `1 − κ` in Q0.16.
#[inline(always)]
pub fn ebar_next(kappa: i64, one_minus_kappa: i64, ebar: i32, e: i64) -> i32 {
    sat32(rshift(
        kappa * i64::from(ebar) + one_minus_kappa * e,
        CONST_BITS,
    ))
}

/// `x·p >> bits` (rounded): a trace decayed by a tabulated power of its factor.
#[inline(always)]
pub fn decay_by(x: i32, p: i64, bits: u32) -> i32 {
    sat32(rshift(i64::from(x) * p, bits))
}

/// The pseudo-derivative's dampening factor γ.
pub const PSI_GAMMA: f64 = 0.3;
/// Range of `frac_bits`.
pub const FRAC_BITS: std::ops::RangeInclusive<u8> = 1..=24;
/// Largest β (β̂ in threshold units; Q16.16 in an `i64`).
pub const BETA_MAX: f64 = 32768.0;

const ONE: i64 = 1 << CONST_BITS;

/// Parameters of an e-prop slot (see the module header for the equations).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpropParams {
    /// Membrane decay per step, `e^(−1/τm)`: the εv filter.
    pub alpha: f64,
    /// Adaptation decay per step, `e^(−1/τa)` (ALIF targets).
    pub rho: f64,
    /// Threshold-adaptation strength in threshold units (β/thr of the float model; 0 for
    /// LIF): with β = 0 the unit keeps no εa.
    pub beta: f64,
    /// Low-pass decay of the eligibility trace, `e^(−1/τout)`.
    pub kappa: f64,
    /// Learning rate: `Δw = −η·g` in weight units.
    pub eta: f64,
    /// Modulator channel carrying the learning signal.
    pub channel: u8,
    /// Fractional bits of the traces (1..=24, e.g. 20).
    pub frac_bits: u8,
}

impl EpropParams {
    /// Every problem of the parameters on a grid of `channels` channels (empty: valid).
    pub fn problems(&self, channels: u32) -> Vec<String> {
        let mut p = Vec::new();
        for (name, x) in [
            ("alpha", self.alpha),
            ("rho", self.rho),
            ("kappa", self.kappa),
        ] {
            if !(x.is_finite() && (0.0..1.0).contains(&x)) {
                p.push(format!("{name} = {x}: must be in [0, 1)"));
            }
        }
        if !(self.beta.is_finite() && (0.0..BETA_MAX).contains(&self.beta)) {
            p.push(format!("beta = {}: must be in [0, {BETA_MAX})", self.beta));
        }
        if !(self.eta.is_finite() && self.eta >= 0.0 && self.eta < 2f64.powi(60)) {
            p.push(format!("eta = {}: must be finite and ≥ 0", self.eta));
        }
        if u32::from(self.channel) >= channels {
            p.push(format!(
                "channel {}: the chip has {channels} modulator channel(s)",
                self.channel
            ));
        }
        if !FRAC_BITS.contains(&self.frac_bits) {
            p.push(format!(
                "frac_bits = {}: must be in {}..={}",
                self.frac_bits,
                FRAC_BITS.start(),
                FRAC_BITS.end()
            ));
        }
        p
    }

    /// The fixed-point constants the unit runs with.
    pub fn consts(&self) -> EpropConsts {
        let q = |x: f64| ((x * ONE as f64).round() as i64).clamp(0, ONE);
        let (eta_m, eta_e) = if self.eta > 0.0 && self.eta.is_finite() {
            let e = self.eta.log2().floor() as i32 - 15;
            ((self.eta / 2f64.powi(e)).round() as i64, e)
        } else {
            (0, 0)
        };
        EpropConsts {
            alpha: q(self.alpha),
            rho: q(self.rho),
            kappa: q(self.kappa),
            beta: (self.beta.clamp(0.0, BETA_MAX) * ONE as f64).round() as i64,
            gamma: q(PSI_GAMMA),
            frac: u32::from(self.frac_bits.clamp(*FRAC_BITS.start(), *FRAC_BITS.end())),
            eta_m,
            eta_e,
            channel: self.channel,
        }
    }
}

/// [`EpropParams`] in the unit's fixed point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpropConsts {
    /// α, ρ, κ, γ in Q0.16.
    pub alpha: i64,
    pub rho: i64,
    pub kappa: i64,
    pub gamma: i64,
    /// β in Q16.16.
    pub beta: i64,
    /// Fractional bits F of the traces.
    pub frac: u32,
    /// η = `eta_m · 2^eta_e` (`eta_m` < 2^17).
    pub eta_m: i64,
    pub eta_e: i32,
    pub channel: u8,
}

/// `(x + 2^(k−1)) >> k`: round to nearest, ties up.
#[inline(always)]
pub fn rshift(x: i64, k: u32) -> i64 {
    (x + (1 << (k - 1))) >> k
}

/// `x` saturated to the `i32` range.
#[inline(always)]
pub fn sat32(x: i64) -> i32 {
    x.clamp(i32::MIN as i64, i32::MAX as i64) as i32
}

/// The pseudo-derivative ψ̂ = γ·max(0, 1 − |v − thr_eff|/thr) with F fractional bits
/// (0 while `refractory` or for `thr ≤ 0`). `v`, `thr_eff` and `thr` are in v units:
/// `thr = vth << 6`, `thr_eff = thr + a` for ALIF. One division per compartment and
/// step, rounded to nearest.
#[inline]
pub fn psi(v: i64, thr_eff: i64, refractory: bool, thr: i64, c: &EpropConsts) -> i32 {
    if refractory || thr <= 0 {
        return 0;
    }
    let h = (thr - (v.saturating_sub(thr_eff)).abs()).max(0);
    // In i64 whenever it cannot overflow (h, thr < 2^24 and F ≤ 22: every chip
    // compartment); the same value as the i128 form, which covers the rest.
    if h < 1 << 24 && thr < 1 << 24 && c.frac <= 22 && (0..=1 << 16).contains(&c.gamma) {
        let num = (h * c.gamma) << c.frac;
        let den = thr << CONST_BITS;
        return ((num + den / 2) / den) as i32;
    }
    let num = (h as i128 * c.gamma as i128) << c.frac;
    let den = (thr as i128) << CONST_BITS;
    ((num + den / 2) / den) as i32
}

/// One row's e-prop state: the source's εv now and one step ago, and per synapse (in
/// the row's synapse order) εa, ē, the trial's Σe (for the rate regulariser) and the
/// accumulated gradient g.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EpropRow {
    pub ev: i32,
    pub ev_prev: i32,
    pub eps_a: Vec<i32>,
    pub ebar: Vec<i32>,
    pub esum: Vec<i64>,
    pub g: Vec<i64>,
}

/// What every synapse onto one compartment reads in one step: the compartment's
/// [`EpropPost`] values, its learning signal m, the trace format and κ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowStep {
    pub psi: i32,
    pub psi_beta: i32,
    pub c1: i32,
    pub c2: i32,
    pub m: i64,
    /// Fractional bits F of the traces.
    pub f: u32,
    /// κ and 1 − κ in Q0.16.
    pub kappa: i64,
    pub one_k: i64,
}

/// Which parts of a synapse's step run: εa (the target adapts: β ≠ 0), ē (from the
/// trace gate on), g (with a non-zero signal; only with ē).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowKind {
    pub alif: bool,
    pub ebar: bool,
    pub grad: bool,
}

/// One synapse's step of the eligibility unit, from its source's `[εv, εv']`: εa (ALIF),
/// `e`, `Σe += e`, ē (`EBAR`) and `g += m·ē` (`GRAD`). Σe and g are plain (wrapping)
/// adds, as the hardware's accumulators: with traces below 2^24 and signals below 2^31
/// a batch of 2^10 windows of 2^10 steps stays below 2^63. Every layout of the unit
/// (the general simulator's rows, the fast backend's rows and its 8-wide body) computes
/// exactly this.
#[inline(always)]
pub fn synapse_step<const ALIF: bool, const EBAR: bool, const GRAD: bool>(
    c: &RowStep,
    [v, vp]: [i32; 2],
    ea: &mut i32,
    eb: &mut i32,
    es: &mut i64,
    g: &mut i64,
) {
    let e = if ALIF {
        *ea = eps_a_next(c.c1, c.c2, i64::from(vp), *ea, c.f);
        e_alif(c.psi, c.psi_beta, i64::from(v), *ea, c.f)
    } else {
        e_lif(c.psi, i64::from(v), c.f)
    };
    *es = es.wrapping_add(e);
    if EBAR {
        *eb = ebar_next(c.kappa, c.one_k, *eb, e);
        if GRAD {
            *g = g.wrapping_add(c.m * i64::from(*eb));
        }
    }
}

/// [`synapse_step`] with its parts chosen at run time.
#[inline]
pub fn synapse_step_kind(
    c: &RowStep,
    kind: RowKind,
    ev: [i32; 2],
    ea: &mut i32,
    eb: &mut i32,
    es: &mut i64,
    g: &mut i64,
) {
    match (kind.alif, kind.ebar, kind.grad) {
        (true, false, _) => synapse_step::<true, false, false>(c, ev, ea, eb, es, g),
        (true, true, false) => synapse_step::<true, true, false>(c, ev, ea, eb, es, g),
        (true, true, true) => synapse_step::<true, true, true>(c, ev, ea, eb, es, g),
        (false, false, _) => synapse_step::<false, false, false>(c, ev, ea, eb, es, g),
        (false, true, false) => synapse_step::<false, true, false>(c, ev, ea, eb, es, g),
        (false, true, true) => synapse_step::<false, true, true>(c, ev, ea, eb, es, g),
    }
}

/// Per compartment (indexed by compartment), what the synapse loop reads, derived once
/// per step by [`EpropConsts::post_at`].
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EpropPost {
    /// ψ̂(t), F bits.
    pub psi: Vec<i32>,
    /// ψ̂(t)·β, F bits.
    pub psi_beta: Vec<i32>,
    /// εa coefficients `(1−ρ)·ψ̂'` and `ρ − (1−ρ)·β·ψ̂'`, F bits.
    pub c1: Vec<i32>,
    pub c2: Vec<i32>,
    /// The learning signal: the grid's raw value on the slot's channel.
    pub m: Vec<i32>,
}

impl EpropPost {
    /// Room for compartments `0..n`.
    pub fn resize(&mut self, n: usize) {
        for v in [
            &mut self.psi,
            &mut self.psi_beta,
            &mut self.c1,
            &mut self.c2,
            &mut self.m,
        ] {
            v.resize(n, 0);
        }
    }
}

impl EpropRow {
    /// A row of `n` synapses, every trace 0.
    pub fn new(n: usize) -> EpropRow {
        EpropRow {
            eps_a: vec![0; n],
            ebar: vec![0; n],
            esum: vec![0; n],
            g: vec![0; n],
            ..EpropRow::default()
        }
    }

    /// `εv ← α·εv + (1−α)·x`, keeping the old value as εv(t−1).
    pub fn step_pre(&mut self, spiked: bool, c: &EpropConsts) {
        self.ev_prev = self.ev;
        self.ev = c.ev_next(self.ev, spiked);
    }
}

impl EpropConsts {
    /// `εv ← α·εv + (1−α)·x` (rounded): one source's presynaptic trace, shared by
    /// every layout of the unit.
    #[inline(always)]
    pub fn ev_next(&self, ev: i32, spiked: bool) -> i32 {
        let x = if spiked {
            (ONE - self.alpha) << self.frac
        } else {
            0
        };
        sat32(rshift(self.alpha * i64::from(ev) + x, CONST_BITS))
    }

    /// Whether the unit keeps εa (β ≠ 0).
    pub fn keeps_eps_a(&self) -> bool {
        self.beta != 0
    }

    /// Per-synapse traces updated per synapse and step (εa if kept, ē, g).
    pub fn traces_per_synapse(&self) -> u64 {
        2 + u64::from(self.keeps_eps_a())
    }

    /// Fill compartment `j` of `post` from ψ̂(t), ψ̂(t−1) and the learning signal m(t).
    #[inline]
    pub fn post_at(&self, post: &mut EpropPost, j: usize, psi: i32, psi_prev: i32, m: i32) {
        let (psi, pp) = (i64::from(psi), i64::from(psi_prev));
        post.psi[j] = psi as i32;
        post.psi_beta[j] = sat32(rshift(psi * self.beta, CONST_BITS));
        post.c1[j] = sat32(rshift((ONE - self.rho) * pp, CONST_BITS));
        // ρ·2^F − (1−ρ)·β·ψ̂' / 2^32: up to 2^16·2^31·2^24, so in i128.
        let drop = ((ONE - self.rho) as i128 * self.beta as i128 * pp as i128
            + (1i128 << (2 * CONST_BITS - 1)))
            >> (2 * CONST_BITS);
        let rho = (((self.rho as i128) << self.frac) + (1 << (CONST_BITS - 1))) >> CONST_BITS;
        let c2 = rho - drop;
        post.c2[j] = c2.clamp(i32::MIN as i128, i32::MAX as i128) as i32;
        post.m[j] = m;
    }

    /// The row constants of compartment `j` of `post` with the signal `m`.
    #[inline]
    pub fn row_step(&self, post: &EpropPost, j: usize) -> RowStep {
        RowStep {
            psi: post.psi[j],
            psi_beta: post.psi_beta[j],
            c1: post.c1[j],
            c2: post.c2[j],
            m: i64::from(post.m[j]),
            f: self.frac,
            kappa: self.kappa,
            one_k: ONE - self.kappa,
        }
    }

    /// Advance one row's synapses by one step (after [`EpropRow::step_pre`] and with
    /// `post` filled for every target): εa, e, Σe, ē and g, every one of them. Returns
    /// the traces updated.
    pub fn step_row(&self, row: &mut EpropRow, targets: &[u32], post: &EpropPost) -> u64 {
        let ev = [row.ev, row.ev_prev];
        let n = targets
            .len()
            .min(row.eps_a.len())
            .min(row.ebar.len())
            .min(row.esum.len())
            .min(row.g.len());
        let kind = RowKind {
            alif: self.keeps_eps_a(),
            ebar: true,
            grad: true,
        };
        for (i, &j) in targets.iter().enumerate().take(n) {
            let c = self.row_step(post, j as usize);
            synapse_step_kind(
                &c,
                kind,
                ev,
                &mut row.eps_a[i],
                &mut row.ebar[i],
                &mut row.esum[i],
                &mut row.g[i],
            );
        }
        n as u64 * self.traces_per_synapse()
    }

    /// The learning epoch of one row: `Δw = −η·g` in weight units, stochastically
    /// rounded to mantissa LSBs with draws keyed by `key`; clamped to the row's range
    /// (sign-fixed rows stop at 0) or, when `row.max_exponent` allows, renormalised as
    /// the rule engine does. `g` is cleared. `saved` is reused memory.
    pub fn apply_row(
        &self,
        state: &mut EpropRow,
        row: RowMut,
        modulator_frac: i32,
        key: DrawKey,
        saved: &mut Vec<i32>,
    ) -> RowOutcome {
        let targets = row.targets;
        let mut outcome = RowOutcome {
            updates: targets.len() as u64,
            ..RowOutcome::default()
        };
        let range = weight_range(row.sign, row.weight_bits);
        let (exponent, weights, tags) = (row.exponent, row.weights, &*row.tags);
        loop {
            let d = EtaG {
                g: &state.g,
                eta_m: self.eta_m,
                exp: self.eta_e - self.frac as i32 - modulator_frac - i32::from(*exponent),
                draws: RowDraws::new(key),
            };
            if row.max_exponent.is_none_or(|m| *exponent >= m) {
                outcome.clamped += add_to_weights_clamped(&d, targets, weights, tags, range);
                break;
            }
            if let Some(clamped) =
                add_to_weights_in_range(&d, targets, weights, tags, saved, row.sign, range)
            {
                outcome.clamped += clamped;
                break;
            }
            weights.iter_mut().for_each(|w| *w = halve(*w));
            *exponent += 1;
            outcome.renormalised += 1;
        }
        state.g.iter_mut().for_each(|g| *g = 0);
        outcome
    }
}

/// `−η_m·g·2^exp` per synapse, stochastically rounded.
struct EtaG<'a> {
    g: &'a [i64],
    eta_m: i64,
    exp: i32,
    draws: RowDraws,
}

impl Delta for EtaG<'_> {
    fn delta(&self, i: usize, _target: usize, _w: i32, _t: i32) -> i64 {
        let g = self.g.get(i).copied().unwrap_or(0);
        super::update_unit::sgd_delta(g, self.eta_m, self.exp, self.draws.at(i as u64))
    }
}

#[cfg(test)]
#[path = "eprop_tests.rs"]
mod tests;
