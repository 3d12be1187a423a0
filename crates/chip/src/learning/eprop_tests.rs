//! Tests of the e-prop eligibility unit against the equations evaluated in f64.

use super::*;
use crate::synapse::SignMode;
use proptest::prelude::*;

/// The float equations of one synapse (threshold-normalised, see the module header).
#[derive(Debug, Default, Clone, Copy)]
struct Exact {
    ev: f64,
    ev_prev: f64,
    psi_prev: f64,
    ea: f64,
    e: f64,
    ebar: f64,
    g: f64,
}

impl Exact {
    /// One step: pre spike `x`, ψ̂(t) `psi`, learning signal `m`; constants `(α, ρ, β, κ)`.
    fn step(&mut self, x: bool, psi: f64, m: f64, (a, r, b, k): (f64, f64, f64, f64)) {
        self.ev_prev = self.ev;
        self.ev = a * self.ev + (1.0 - a) * f64::from(u8::from(x));
        if b != 0.0 {
            self.ea = (1.0 - r) * self.psi_prev * self.ev_prev
                + (r - (1.0 - r) * b * self.psi_prev) * self.ea;
        }
        self.e = psi * (self.ev - b * self.ea);
        self.ebar = k * self.ebar + (1.0 - k) * self.e;
        self.g += m * self.ebar;
        self.psi_prev = psi;
    }
}

/// The chip's unit on one synapse reaching compartment 0.
struct Chip {
    c: EpropConsts,
    row: EpropRow,
    post: EpropPost,
    psi_prev: i32,
}

impl Chip {
    fn new(p: &EpropParams) -> Chip {
        let mut post = EpropPost::default();
        post.resize(1);
        Chip {
            c: p.consts(),
            row: EpropRow::new(1),
            post,
            psi_prev: 0,
        }
    }

    fn step(&mut self, x: bool, psi: i32, m: i32) -> u64 {
        self.row.step_pre(x, &self.c);
        self.c.post_at(&mut self.post, 0, psi, self.psi_prev, m);
        self.psi_prev = psi;
        self.c.step_row(&mut self.row, &[0], &self.post)
    }
}

fn params(tau_m: f64, tau_a: f64, beta: f64, tau_out: f64, frac_bits: u8) -> EpropParams {
    EpropParams {
        alpha: (-1.0 / tau_m).exp(),
        rho: (-1.0 / tau_a).exp(),
        beta,
        kappa: (-1.0 / tau_out).exp(),
        eta: 1.0,
        channel: 0,
        frac_bits,
    }
}

const MOD_FRAC: u32 = 12;

#[test]
fn a_hand_computed_alif_synapse() {
    // thr = vth << 6 = 6400 (vth = 100); β̂ = 2; τm = 20, τa = 5, τout = 10; F = 16.
    let p = params(20.0, 5.0, 2.0, 10.0, 16);
    let thr = 6400i64;
    // (pre spike, v, a, refractory, m) per step.
    let steps: [(bool, i64, i64, bool, f64); 8] = [
        (true, 3000, 0, false, 0.0),
        (true, 6000, 0, false, 0.5),
        (false, 6900, 500, false, 0.0),
        (false, 2000, 800, true, 0.75),
        (true, 5000, 600, false, -0.25),
        (false, 7000, 400, false, 1.0),
        (false, 1000, 300, false, -1.0),
        (false, 0, 200, false, 0.5),
    ];
    // ψ̂ by hand: γ·max(0, 1 − |v − (thr + a)|/thr).
    let psi_hand = [
        0.3 * (1.0 - 3400.0 / 6400.0), // 0.140625
        0.3 * (1.0 - 400.0 / 6400.0),  // 0.28125
        0.3,                           // v at the threshold
        0.0,                           // refractory
        0.3 * (1.0 - 2000.0 / 6400.0), // 0.20625
        0.3 * (1.0 - 200.0 / 6400.0),  // 0.290625
        0.3 * (1.0 - 5700.0 / 6400.0), // 0.0328125
        0.0,                           // |0 − 6600| > thr
    ];
    let one = |x: i64, bits: u32| x as f64 / f64::from(1u32 << bits);
    let (a, r, k) = (p.alpha, p.rho, p.kappa);
    let mut chip = Chip::new(&p);
    let mut exact = Exact::default();
    let tol = 2f64.powi(-12);
    for (t, &(x, v, adapt, refr, m)) in steps.iter().enumerate() {
        let psi = psi(v, thr + adapt, refr, thr, &chip.c);
        assert!(
            (one(psi.into(), 16) - psi_hand[t]).abs() < 2f64.powi(-15),
            "ψ at {t}: {psi}"
        );
        let m_raw = (m * f64::from(1u32 << MOD_FRAC)) as i32;
        let traces = chip.step(x, psi, m_raw);
        assert_eq!(traces, 3, "εa, ē and g");
        exact.step(x, psi_hand[t], m, (a, r, 2.0, k));
        let got = [
            one(chip.row.ev.into(), 16),
            one(chip.row.eps_a[0].into(), 16),
            one(chip.row.ebar[0].into(), 16),
            one(chip.row.g[0], 16 + MOD_FRAC),
        ];
        let want = [exact.ev, exact.ea, exact.ebar, exact.g];
        for (name, (g, w)) in ["εv", "εa", "ē", "g"].iter().zip(got.iter().zip(&want)) {
            assert!((g - w).abs() < tol, "step {t} {name}: chip {g}, f64 {w}");
        }
        if t == 0 {
            // By hand: εv = 1 − e^(−1/20), εa = 0 (ψ' = 0), e = ψ·εv, ē = (1 − κ)·e.
            assert!((exact.ev - 0.048771).abs() < 1e-6);
            assert_eq!(exact.ea, 0.0);
            assert!((exact.ebar - (1.0 - k) * 0.140625 * 0.048771).abs() < 1e-6);
        }
        if t == 1 {
            // εa = (1 − ρ)·ψ̂(0)·εv(0) = 0.181269·0.140625·0.048771.
            assert!((exact.ea - 0.181269 * 0.140625 * 0.048771).abs() < 1e-6);
        }
    }
    assert!(exact.g.abs() > 1e-3, "the scenario moves g: {}", exact.g);
}

#[test]
fn lif_slots_keep_no_eps_a() {
    let mut chip = Chip::new(&params(20.0, 100.0, 0.0, 10.0, 16));
    for t in 0..20 {
        assert_eq!(chip.step(t % 3 == 0, 10_000, 4096), 2, "ē and g only");
    }
    assert_eq!(chip.row.eps_a[0], 0);
    assert!(chip.row.g[0] > 0);
}

#[test]
fn psi_is_zero_far_from_threshold_and_while_refractory() {
    let c = params(20.0, 20.0, 0.0, 20.0, 16).consts();
    assert_eq!(psi(6400, 6400, false, 6400, &c), 19661, "γ = 0.3 in Q16");
    assert_eq!(psi(6400, 6400, true, 6400, &c), 0);
    assert_eq!(psi(0, 6400, false, 6400, &c), 0);
    assert_eq!(psi(13_000, 6400, false, 6400, &c), 0);
    assert_eq!(psi(100, 100, false, 0, &c), 0, "no threshold, no ψ");
    assert_eq!(
        psi(3200, 6400, false, 6400, &c),
        psi(9600, 6400, false, 6400, &c)
    );
}

fn row_mut<'a>(
    sign: SignMode,
    exponent: &'a mut i8,
    max_exponent: Option<i8>,
    targets: &'a [u32],
    weights: &'a mut [i32],
) -> RowMut<'a> {
    RowMut {
        sign,
        weight_bits: 8,
        tag_bits: 0,
        exponent,
        max_exponent,
        targets,
        weights,
        tags: &mut [],
    }
}

fn key(epoch: u64) -> DrawKey {
    DrawKey {
        seed: 11,
        epoch,
        row: 3,
    }
}

#[test]
fn the_epoch_moves_weights_by_minus_eta_g_unbiased() {
    // η = 1, g = 0.3 weight units (F = 16, 12 modulator bits) on 1000 synapses at
    // exponent 0: Δw = −0.3 LSB, rounded to 0 or −1 with mean −0.3.
    let c = params(20.0, 20.0, 0.0, 20.0, 16).consts();
    let n = 1000;
    let mut state = EpropRow::new(n);
    state.g.fill((0.3 * f64::from(1u32 << 28)) as i64);
    let targets = vec![0u32; n];
    let mut weights = vec![100i32; n];
    let mut e = 0i8;
    let out = c.apply_row(
        &mut state,
        row_mut(SignMode::Signed, &mut e, None, &targets, &mut weights),
        MOD_FRAC as i32,
        key(0),
        &mut Vec::new(),
    );
    assert_eq!(out.updates, n as u64);
    assert!(state.g.iter().all(|&g| g == 0), "g is cleared");
    assert!(weights.iter().all(|&w| w == 100 || w == 99));
    let mean: f64 = weights.iter().map(|&w| f64::from(w - 100)).sum::<f64>() / n as f64;
    assert!((mean + 0.3).abs() < 0.05, "mean Δw {mean}");
    // The same draws for the same key: identical.
    let mut again = EpropRow::new(n);
    again.g.fill((0.3 * f64::from(1u32 << 28)) as i64);
    let mut w2 = vec![100i32; n];
    let mut e2 = 0i8;
    c.apply_row(
        &mut again,
        row_mut(SignMode::Signed, &mut e2, None, &targets, &mut w2),
        MOD_FRAC as i32,
        key(0),
        &mut Vec::new(),
    );
    assert_eq!(weights, w2);
}

#[test]
fn dale_rows_stop_at_zero_and_renormalising_rows_halve() {
    let c = params(20.0, 20.0, 0.0, 20.0, 16).consts();
    let targets = [0u32, 0];
    // g = 10 weight units: Δw = −10; an excitatory weight of 3 stops at 0.
    let big = 10i64 << 28;
    let mut state = EpropRow::new(2);
    state.g = vec![big, -big];
    let mut w = [3, 250];
    let mut e = 0i8;
    let out = c.apply_row(
        &mut state,
        row_mut(SignMode::Excitatory, &mut e, None, &targets, &mut w),
        MOD_FRAC as i32,
        key(1),
        &mut Vec::new(),
    );
    assert_eq!(w, [0, 255], "clamped to the excitatory range");
    assert_eq!(out.clamped, 2);
    // With renormalisation: 250 + 10 leaves the 8-bit range, so the row is halved.
    state.g = vec![0, -big];
    let mut w = [4, 250];
    let mut e = 0i8;
    let out = c.apply_row(
        &mut state,
        row_mut(SignMode::Excitatory, &mut e, Some(3), &targets, &mut w),
        MOD_FRAC as i32,
        key(1),
        &mut Vec::new(),
    );
    assert_eq!((out.renormalised, e), (1, 1));
    // At exponent 1 a weight LSB is 2 units: +10 → +5 on the halved row.
    assert_eq!(w, [2, 130]);
}

#[test]
fn params_are_checked() {
    let ok = params(20.0, 200.0, 1.0, 20.0, 16);
    assert!(ok.problems(4).is_empty());
    let bad = EpropParams {
        alpha: 1.0,
        rho: f64::NAN,
        beta: -1.0,
        kappa: -0.1,
        eta: f64::INFINITY,
        channel: 4,
        frac_bits: 30,
    };
    let p = bad.problems(4);
    assert_eq!(p.len(), 7, "{p:?}");
}

proptest! {
    #[test]
    fn psi_matches_f64(v in -200_000i64..200_000, a in 0i64..50_000, vth in 1i64..2000, refr: bool) {
        let c = params(20.0, 20.0, 0.0, 20.0, 16).consts();
        let thr = vth << 6;
        let got = psi(v, thr + a, refr, thr, &c);
        let want = if refr { 0.0 } else {
            c.gamma as f64 / 65536.0 * (1.0 - (v - thr - a).abs() as f64 / thr as f64).max(0.0)
        };
        prop_assert!((f64::from(got) / 65536.0 - want).abs() <= 0.5 / 65536.0 + 1e-12);
    }

    /// Fixed point against the same equations in f64 with the quantised constants,
    /// over random 200-step sequences: every trace within 64 LSBs (2^-10 at F = 16,
    /// 2^-14 at F = 20), g's per-step mean too. Each step adds at most ½ LSB per
    /// rounding; εa, with ρ close to 1, sums its roundings over the whole sequence and
    /// β·ψ̂ (up to 2.4 here) carries them into e, which is where the error grows.
    #[test]
    fn fixed_point_tracks_f64(
        tau_m in 2.0f64..30.0,
        tau_a in 2.0f64..3000.0,
        beta in prop_oneof![Just(0.0), 0.0f64..8.0],
        tau_out in 2.0f64..30.0,
        frac_bits in prop_oneof![Just(16u8), Just(20u8)],
        seq in proptest::collection::vec((any::<bool>(), 0.0f64..0.3, -1.0f64..1.0), 200),
    ) {
        let p = params(tau_m, tau_a, beta, tau_out, frac_bits);
        let mut chip = Chip::new(&p);
        let c = chip.c;
        let q = |x: i64| x as f64 / 65536.0;
        let consts = (q(c.alpha), q(c.rho), q(c.beta), q(c.kappa));
        let one = 2f64.powi(frac_bits.into());
        let f = |x: i64| x as f64 / one;
        let mut exact = Exact::default();
        let tol = 64.0 / one;
        for (t, &(x, psi, m)) in seq.iter().enumerate() {
            let psi_raw = (psi * one).round() as i32;
            let m_raw = (m * 4096.0).round() as i32;
            chip.step(x, psi_raw, m_raw);
            exact.step(x, f(psi_raw.into()), m_raw as f64 / 4096.0, consts);
            let err = [
                f(chip.row.ev.into()) - exact.ev,
                f(chip.row.eps_a[0].into()) - exact.ea,
                f(chip.row.ebar[0].into()) - exact.ebar,
                (chip.row.g[0] as f64 / (one * 4096.0) - exact.g) / (t + 1) as f64,
            ];
            for (name, e) in ["εv", "εa", "ē", "g/steps"].iter().zip(err) {
                prop_assert!(e.abs() < tol, "step {} {}: error {}", t, name, e);
            }
        }
    }
}
