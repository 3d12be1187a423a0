//! One synapse, many updates: the engine's row update against its definition (issue 17).
//!
//! A single-synapse row (Error Diffusion's output rows are such rows) is driven by an
//! Error Diffusion–shaped rule, `dw = 2^-3·pre·m0 − 2^-3·pre·m1`, whose change `x` (in
//! mantissa LSBs at the row's exponent) is set exactly through `m0` or `m1`. The
//! reference is computed here in f64 from the documented arithmetic, not from the
//! engine: the new mantissa is `m + floor(x + r)` for a uniform draw `r`; a mantissa
//! above the top of an excitatory row's range is a magnitude overflow, which halves the
//! row (half away from zero), raises its exponent and redoes the update at the new scale
//! with the same draw (while the exponent may grow; else it clamps); a mantissa below 0
//! would change the weight's sign, and halving cannot cure that, so it clamps at 0.
//! Its expectation over `r` is taken on a fine grid of midpoints.

use super::engine::{DrawKey, PostSide, PreSide, PreparedRule, RowMut, RowOutcome, Scales};
use super::hash_random;
use super::parse_rule;
use crate::synapse::SignMode;

const SCALES: Scales = Scales {
    payload_frac: 8,
    modulator_frac: 16,
};
/// `2^-3`: the rule's scale.
const K_SHIFT: i32 = 3;
const MAX_EXPONENT: i8 = 7;

/// One update of a single excitatory synapse with mantissa `m` at exponent `e`, by `x`
/// LSBs; `epoch` keys the draw. Returns the new mantissa, exponent and outcome.
fn engine_update(m: i32, e: i8, x: f64, epoch: u64) -> (i32, i8, RowOutcome) {
    let rule = PreparedRule::new(&parse_rule("dw = 2^-3*pre*m0 - 2^-3*pre*m1").unwrap());
    // Δw = x·2^e weight units = 2^-3 · 1.0 · (m / 2^16): m = x·2^(e+3+16).
    let raw = (x.abs() * f64::from(i32::from(e) + K_SHIFT + 16).exp2()).round() as i32;
    assert_eq!(
        f64::from(raw) * f64::from(-i32::from(e) - K_SHIFT - 16).exp2(),
        x.abs(),
        "x must be exact in the modulator's fixed point"
    );
    let modulator = if x >= 0.0 {
        vec![vec![raw], vec![0]]
    } else {
        vec![vec![0], vec![raw]]
    };
    let post = PostSide {
        y0: &[false],
        y1: &[0],
        y2: &[0],
        y3: &[0],
        out: &[0],
        deriv: &[0],
        modulator: &modulator,
    };
    let products = rule.post_products(&post, 1, SCALES);
    let (mut w, mut exp, mut tags) = ([m], e, [0]);
    let pre = PreSide {
        payload: 256,
        ..PreSide::default()
    };
    let row = RowMut {
        sign: SignMode::Excitatory,
        weight_bits: 8,
        tag_bits: 0,
        exponent: &mut exp,
        max_exponent: Some(MAX_EXPONENT),
        targets: &[0],
        weights: &mut w,
        tags: &mut tags,
    };
    let key = DrawKey {
        seed: 0x5EED,
        epoch,
        row: 3,
    };
    let out = rule.apply_row(&products, pre, SCALES, row, key);
    (w[0], exp, out)
}

/// The reference: the synapse's new (mantissa, exponent) for draw `r`, from the
/// arithmetic's definition (the module's text).
fn reference_update(m: i64, e: i8, x: f64, r: f64) -> (i64, i8) {
    let (mut m, mut e, mut x) = (m, e, x);
    loop {
        let new = m + (x + r).floor() as i64;
        if new > 255 && e < MAX_EXPONENT {
            m = (m + m.signum()) / 2;
            e += 1;
            x /= 2.0;
            continue;
        }
        return (new.clamp(0, 255), e);
    }
}

fn value(m: i64, e: i8) -> f64 {
    m as f64 * f64::from(e).exp2()
}

/// Mean and variance of the change in weight units, and the mean exponent change.
fn moments(samples: impl Iterator<Item = (f64, f64)>) -> (f64, f64, f64) {
    let (mut n, mut s, mut s2, mut de) = (0.0, 0.0, 0.0, 0.0);
    for (d, e) in samples {
        n += 1.0;
        s += d;
        s2 += d * d;
        de += e;
    }
    let mean = s / n;
    (mean, s2 / n - mean * mean, de / n)
}

#[test]
fn a_dale_row_at_zero_clamps_instead_of_raising_its_exponent() {
    // Mantissa 1 at exponent 0, a change of −3.25 LSBs: the weight stops at 0 and the
    // row keeps its exponent (halving 1 gives 1: before the fix the row was halved up to
    // exponent 7 and then clamped, one step of 128 weight units per LSB).
    let (w, e, out) = engine_update(1, 0, -3.25, 0);
    assert_eq!((w, e), (0, 0));
    assert_eq!((out.clamped, out.renormalised), (1, 0));
    // Many small zero-mean changes at 0: the exponent never moves.
    let mut state = (0, -2i8);
    for epoch in 0..2_000u64 {
        let x = if epoch % 2 == 0 { 0.25 } else { -0.25 };
        let (w, e, _) = engine_update(state.0, state.1, x, epoch);
        state = (w, e);
    }
    assert_eq!(state.1, -2, "a row never renormalises below 255");
}

/// Per exponent, sign of the change, and start near 0, mid-range or near 255: the mean
/// and variance of the engine's change over 4,000 independent draws match the
/// reference's expectation, and so does the exponent's.
#[test]
fn single_synapse_changes_have_the_reference_mean_and_variance() {
    const N: u64 = 4_000;
    const GRID: usize = 4_096;
    for e in [-6i8, 0, 5] {
        for x in [0.3125, -0.3125, 0.046875, -0.046875, 2.5, -2.5] {
            for m in [0i32, 1, 128, 254, 255] {
                let before = value(i64::from(m), e);
                let (mean, var, de) = moments((0..N).map(|k| {
                    let (w, e2, _) = engine_update(m, e, x, k);
                    (
                        value(i64::from(w), e2) - before,
                        f64::from(e2) - f64::from(e),
                    )
                }));
                let (rmean, rvar, rde) = moments((0..GRID).map(|j| {
                    let r = (j as f64 + 0.5) / GRID as f64;
                    let (w, e2) = reference_update(i64::from(m), e, x, r);
                    (value(w, e2) - before, f64::from(e2) - f64::from(e))
                }));
                let lsb = f64::from(e).exp2();
                // Five standard errors of the mean, and a grid's worth of slack.
                let tol = 5.0 * (rvar / N as f64).sqrt() + lsb / 256.0;
                let what = format!("e {e}, x {x}, m {m}");
                assert!((mean - rmean).abs() <= tol, "{what}: mean {mean} ≠ {rmean}");
                let vtol = 0.15 * rvar + lsb * lsb / 256.0;
                assert!((var - rvar).abs() <= vtol, "{what}: var {var} ≠ {rvar}");
                assert!((de - rde).abs() <= 0.05, "{what}: Δe {de} ≠ {rde}");
            }
        }
    }
}

/// The draws of one synapse in consecutive epochs, of neighbouring rows in one epoch and
/// of the same row on neighbouring cores are uncorrelated.
#[test]
fn rounding_draws_are_uncorrelated_across_epochs_rows_and_cores() {
    const N: u64 = 20_000;
    let u = |epoch: u64, row: u64| hash_random(0x5EED, epoch, row, 0) as f64 / 2f64.powi(64);
    let corr = |pairs: &[(f64, f64)]| {
        let n = pairs.len() as f64;
        let (ma, mb) = pairs
            .iter()
            .fold((0.0, 0.0), |(a, b), p| (a + p.0 / n, b + p.1 / n));
        let cov: f64 = pairs.iter().map(|p| (p.0 - ma) * (p.1 - mb)).sum::<f64>() / n;
        let va: f64 = pairs.iter().map(|p| (p.0 - ma).powi(2)).sum::<f64>() / n;
        let vb: f64 = pairs.iter().map(|p| (p.1 - mb).powi(2)).sum::<f64>() / n;
        cov / (va * vb).sqrt()
    };
    let row = 7u64 << 32 | 11;
    let lag: Vec<_> = (0..N).map(|k| (u(k, row), u(k + 1, row))).collect();
    let rows: Vec<_> = (0..N).map(|k| (u(5, k), u(5, k + 1))).collect();
    let cores: Vec<_> = (0..N).map(|k| (u(k, row), u(k, row + (1 << 32)))).collect();
    let bound = 4.0 / (N as f64).sqrt();
    for (what, pairs) in [("epochs", lag), ("rows", rows), ("cores", cores)] {
        let c = corr(&pairs);
        assert!(c.abs() < bound, "{what}: correlation {c}");
        let mean = pairs.iter().map(|p| p.0).sum::<f64>() / N as f64;
        assert!((mean - 0.5).abs() < bound, "{what}: mean draw {mean}");
    }
}
