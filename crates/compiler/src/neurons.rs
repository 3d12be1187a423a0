//! Physical neuron parameters → the chip's fixed-point compartment parameters.
//!
//! Conversions (the weight unit `a_in` adds 64 to `u`; see `program.rs`):
//! - every decay comes from [`decay_from_tau`], the chip's one conversion
//!   `round(4096·(1 − e^(−1/τ)))` (τ in steps): current decay `du + 1 = decay(tau_syn)`
//!   (so `tau_syn = 8` steps gives `du = 480`, and `tau_syn = 0`, no memory, `du =
//!   4095`), voltage decay `dv = decay(tau_mem)` (20 steps: 200), adaptation decay
//!   `da = decay(tau_adapt)`;
//! - negative or non-finite time constants are errors;
//! - threshold `vth = threshold` (a whole number: the chip compares `v > vth << 6`);
//! - bias `b` weight units is `64·b` raw, stored as `bias_mant << bias_exp` with the
//!   smallest exponent whose mantissa fits 13 bits;
//! - ALIF `a_inc = 64 · adapt`; graded bias `64·b` and sigmoid scale `u0` → `64·u0`;
//! - refractory periods are rounded to whole steps (0..=255).
//!
//! Every out-of-range value is a problem message, never a panic.

use crate::program::{Activation, Model, Time};
use amine_chip::neuron::alif::{AlifParams, Reset};
use amine_chip::neuron::graded::{Centring, GradedParams, SigmoidTable};
use amine_chip::neuron::lif::{LifParams, VTH_MAX};
use amine_chip::neuron::{decay_from_tau, NeuronParams};

/// u units per weight unit (`a_in << 6`).
pub const WEIGHT_SCALE: f64 = 64.0;

/// Entries of a graded unit's sigmoid table.
pub const SIGMOID_ENTRIES: usize = 256;
/// Entries of a ramp table: 512 buckets per side, so a ramp whose `u0` is 255 input
/// steps reads every step exactly (`u0` lands on a bucket edge at 2 buckets per step).
pub const RAMP_ENTRIES: usize = 1024;

/// The register of a centring rate `2^−k` (its fractional bits are the chip's, set by
/// the validate pass); any other rate is a problem.
fn centring_shift(rate: f64, p: &mut Vec<String>) -> Centring {
    let max = amine_chip::neuron::graded::CENTRING_MAX_SHIFT;
    let k = (0..=max).find(|&k| rate == 0.5f64.powi(i32::from(k)));
    if k.is_none() {
        p.push(format!(
            "centring = {rate}: the register's rate is a power of two, 2^-k with k in 0..={max}"
        ));
    }
    Centring {
        rate_shift: k.unwrap_or(0),
        frac_bits: 0,
    }
}

/// The compartment parameters of a model, or every problem found.
pub fn resolve(model: &Model, dt_ms: f64) -> Result<NeuronParams, Vec<String>> {
    let mut problems = Vec::new();
    let p = &mut problems;
    let params = match model {
        Model::Lif {
            tau_syn,
            tau_mem,
            threshold,
            bias,
            refractory,
        } => NeuronParams::Lif(lif(
            *tau_syn,
            *tau_mem,
            *threshold,
            *bias,
            *refractory,
            dt_ms,
            p,
        )),
        Model::LifRaw(l) => NeuronParams::Lif(*l),
        Model::Alif {
            tau_syn,
            tau_mem,
            threshold,
            tau_adapt,
            adapt,
            bias,
            refractory,
            subtract_reset,
            reset,
        } => {
            let a = adapt * WEIGHT_SCALE;
            let a_max = ((1u32 << 23) - 1) as f64;
            if !(0.0..=a_max).contains(&a) {
                p.push(format!(
                    "adapt = {adapt}: must be in 0..={} weight units",
                    a_max / WEIGHT_SCALE
                ));
            }
            NeuronParams::Alif(AlifParams {
                lif: lif(*tau_syn, *tau_mem, *threshold, *bias, *refractory, dt_ms, p),
                da: decay("tau_adapt", *tau_adapt, dt_ms, 0, p),
                a_inc: a.round().clamp(0.0, a_max) as i32,
                reset: match (reset, subtract_reset) {
                    (Some(r), false) => *r,
                    (Some(_), true) => {
                        p.push("give `reset` or `subtract_reset`, not both".into());
                        Reset::Zero
                    }
                    (None, true) => Reset::Subtract,
                    (None, false) => Reset::Zero,
                },
            })
        }
        Model::AlifRaw(a) => NeuronParams::Alif(*a),
        Model::Graded {
            u0,
            span,
            payload_bits,
            bias,
            tau_syn,
            activation,
            event_driven,
            centring,
        } => {
            let b = bias * WEIGHT_SCALE;
            if b.is_nan() || b.abs() > i32::MAX as f64 {
                p.push(format!("bias = {bias}: too large"));
            }
            if !(*u0 > 0.0 && u0.is_finite()) {
                p.push(format!(
                    "u0 = {u0}: must be a positive number of weight units"
                ));
            }
            if !(*span > 0.0 && span.is_finite()) {
                p.push(format!("span = {span}: must be positive"));
            }
            let du = match tau_syn {
                Some(t) => decay("tau_syn", *t, dt_ms, 1, p),
                None => 4095,
            };
            NeuronParams::Graded(GradedParams {
                du,
                bias: b.round().clamp(i32::MIN as f64, i32::MAX as f64) as i32,
                table: match activation {
                    Activation::Sigmoid => SigmoidTable::logistic(
                        u0 * WEIGHT_SCALE,
                        *span,
                        SIGMOID_ENTRIES,
                        *payload_bits,
                    ),
                    Activation::Ramp | Activation::MirroredRamp => SigmoidTable::ramp(
                        u0 * WEIGHT_SCALE,
                        RAMP_ENTRIES,
                        *payload_bits,
                        *activation == Activation::MirroredRamp,
                    ),
                },
                event_driven: *event_driven,
                centring: centring.map(|rate| centring_shift(rate, p)),
            })
        }
    };
    problems.extend(params.problems());
    if problems.is_empty() {
        Ok(params)
    } else {
        Err(problems)
    }
}

/// [`decay_from_tau`] of `t` for a 12-bit decay field; `extra` is subtracted (1 for
/// `du`, whose decrement is `du + 1`).
fn decay(field: &str, t: Time, dt_ms: f64, extra: u16, problems: &mut Vec<String>) -> u16 {
    let tau = t.steps(dt_ms);
    if !(tau >= 0.0 && tau.is_finite()) {
        problems.push(format!(
            "{field} = {tau} steps: a time constant must be finite and not negative \
             (0: no memory)"
        ));
        return 0;
    }
    decay_from_tau(tau).saturating_sub(extra).min(4095)
}

fn threshold(t: f64, problems: &mut Vec<String>) -> u32 {
    if !(t >= 0.0 && t <= VTH_MAX as f64 && t.fract() == 0.0) {
        problems.push(format!(
            "threshold = {t}: must be a whole number of weight units in 0..={VTH_MAX}"
        ));
        return 0;
    }
    t as u32
}

/// `(mant, exp)` with `mant << exp ≈ 64·b`, the smallest exponent whose mantissa fits.
pub fn bias_fields(b: f64) -> Result<(i16, i8), String> {
    let raw = b * WEIGHT_SCALE;
    for exp in 0..=7i8 {
        let m = (raw / f64::from(1u32 << exp)).round();
        if (-4096.0..=4095.0).contains(&m) {
            return Ok((m as i16, if m == 0.0 { 0 } else { exp }));
        }
    }
    Err(format!(
        "bias = {b}: outside ±{} weight units (13-bit mantissa << 7)",
        4095 * 128 / 64
    ))
}

#[allow(clippy::too_many_arguments)]
fn lif(
    tau_syn: Time,
    tau_mem: Time,
    th: f64,
    bias: f64,
    refractory: Option<Time>,
    dt: f64,
    problems: &mut Vec<String>,
) -> LifParams {
    let (bias_mant, bias_exp) = bias_fields(bias).unwrap_or_else(|m| {
        problems.push(m);
        (0, 0)
    });
    let refractory = match refractory {
        None => 0,
        Some(t) => {
            let r = t.steps(dt).round();
            if !(0.0..=255.0).contains(&r) {
                problems.push(format!("refractory = {r} steps: must be in 0..=255"));
            }
            r.clamp(0.0, 255.0) as u8
        }
    };
    LifParams {
        du: decay("tau_syn", tau_syn, dt, 1, problems),
        dv: decay("tau_mem", tau_mem, dt, 0, problems),
        vth: threshold(th, problems),
        bias_mant,
        bias_exp,
        refractory,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w1(tau_syn: Time, threshold: f64) -> Model {
        Model::Lif {
            tau_syn,
            tau_mem: Time::Steps(16.0),
            threshold,
            bias: 0.0,
            refractory: None,
        }
    }

    #[test]
    fn w1_time_constants_give_loihi_decays() {
        let NeuronParams::Lif(l) = resolve(&w1(Time::Steps(8.0), 1000.0), 1.0).unwrap() else {
            panic!()
        };
        // 4096·(1 − e^(−1/8)) = 481.3 → du + 1 = 481; 4096·(1 − e^(−1/16)) = 248.2.
        assert_eq!((l.du, l.dv, l.vth), (480, 248, 1000));
        // Milliseconds convert through dt: 4 ms at 0.5 ms per step is 8 steps.
        let NeuronParams::Lif(l) = resolve(&w1(Time::Ms(4.0), 1000.0), 0.5).unwrap() else {
            panic!()
        };
        assert_eq!(l.du, 480);
        // No memory: τ = 0 clears u every step.
        let NeuronParams::Lif(l) = resolve(&w1(Time::Steps(0.0), 1000.0), 1.0).unwrap() else {
            panic!()
        };
        assert_eq!(l.du, 4095);
    }

    #[test]
    fn bias_is_64_per_weight_unit() {
        for b in [0.0, 1.0, -3.5, 100.0, -64.0, 8000.0] {
            let (m, e) = bias_fields(b).unwrap();
            let raw = LifParams {
                bias_mant: m,
                bias_exp: e,
                ..Default::default()
            }
            .bias();
            let want = b * 64.0;
            assert!(
                (raw as f64 - want).abs() <= (1 << e) as f64 / 2.0,
                "{b}: {raw}"
            );
        }
        assert!(bias_fields(1e6).is_err());
    }

    #[test]
    fn bad_values_are_problems_not_panics() {
        let e = resolve(&w1(Time::Steps(-0.5), 10.5), 1.0).unwrap_err();
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(resolve(&w1(Time::Steps(f64::NAN), -1.0), 1.0).is_err());
        let graded = |u0: f64, centring: Option<f64>| Model::Graded {
            u0,
            span: 4.0,
            payload_bits: 8,
            bias: 0.0,
            tau_syn: None,
            activation: Default::default(),
            event_driven: false,
            centring,
        };
        assert!(resolve(&graded(-1.0, None), 1.0).is_err());
        // A centring rate that is not a power of two is named.
        let e = resolve(&graded(255.0, Some(0.01)), 1.0).unwrap_err();
        assert!(e.iter().any(|m| m.contains("centring = 0.01")), "{e:?}");
        let Ok(NeuronParams::Graded(p)) = resolve(&graded(255.0, Some(0.125)), 1.0) else {
            panic!("a power-of-two centring rate resolves");
        };
        assert_eq!(p.centring.map(|c| c.rate_shift), Some(3));
    }
}
