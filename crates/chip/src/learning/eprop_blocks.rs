//! The small fixed-point blocks of the e-prop engine besides the eligibility unit
//! ([`super::eprop`]), the error units ([`super::error_unit`]) and the update unit
//! ([`super::update_unit`]): the readout units and their presynaptic traces z̄, the
//! injection of the learning signal into the modulator grid, the rate regulariser and
//! the power tables of lazy decay. The general simulator and the fast e-prop backend
//! both call these, so their arithmetic exists once.

use super::eprop::{rshift, sat32, CONST_BITS};
use crate::image::eprop::RegulariserImage;

/// Fractional bits of readout values `y`, of z̄, of errors and of feedback weights B.
pub const Q: u32 = 16;

/// One readout step `y ← κ·y + (1 − κ)·drive` (κ Q0.16; y and drive Q15.16).
#[inline(always)]
pub fn readout_next(y: i32, drive: i64, kappa: i64) -> i32 {
    sat32(rshift(
        kappa * i64::from(y) + ((1 << CONST_BITS) - kappa) * drive,
        CONST_BITS,
    ))
}

/// One step of a readout source's trace `z̄ ← κ·z̄ + (1 − κ)·z` (Q.16).
#[inline(always)]
pub fn zbar_next(zbar: i32, fired: bool, kappa: i64) -> i32 {
    readout_next(zbar, i64::from(fired) << Q, kappa)
}

/// The amount an injector adds to its grid cell: `Σ_k B_k·err_k` (B and err Q.16, so
/// the sum is Q.32) rounded once to the grid's `grid_frac` fractional bits.
#[inline]
pub fn injection_bits(weights: &[(u32, i32)], err: &[i32], grid_frac: u32) -> i32 {
    let u: i64 = weights
        .iter()
        .map(|&(k, b)| i64::from(b) * i64::from(err.get(k as usize).copied().unwrap_or(0)))
        .sum();
    let shift = (2 * Q).saturating_sub(grid_frac);
    if shift == 0 {
        sat32(u)
    } else {
        sat32(rshift(u, shift))
    }
}

/// The rate unit's coefficient for a neuron that fired `spikes` times in the trial:
/// `c = round(K·(spikes·2^16 − target)/2^16)`.
pub fn rate_coefficient(r: &RegulariserImage, spikes: u32) -> i128 {
    let diff = (i128::from(spikes) << 16) - i128::from(r.target);
    let x = i128::from(r.k_mant) * diff;
    let shift = 16 - r.k_exp;
    if shift <= 0 {
        x << (-shift).min(60)
    } else {
        let s = shift.min(120) as u32;
        (x + (1i128 << (s - 1))) >> s
    }
}

/// `g + c·Σe` for one synapse (`(c·Σe) >> 16`, rounded; saturating).
#[inline]
pub fn regularised(g: i64, c: i128, esum: i64) -> i64 {
    let d = (c * i128::from(esum) + (1 << 15)) >> 16;
    g.saturating_add(d.clamp(i64::MIN as i128, i64::MAX as i128) as i64)
}

/// `(1 − decay/4096)^i` for `i` in `0..=len` with `bits` fractional bits: the factors
/// by which lazy decay catches up a trace that sat out `i` steps. Integer only: each
/// power is the previous one times the factor, carried with 56 fractional bits
/// (round to nearest), then rounded to `bits`.
pub fn power_table(decay: u16, len: usize, bits: u32) -> Vec<i64> {
    const CARRY: u32 = 56;
    let keep = u128::from(4096 - decay.min(4096));
    let mut p: u128 = 1 << CARRY;
    let drop = CARRY - bits.min(CARRY);
    let mut out = Vec::with_capacity(len + 1);
    for _ in 0..=len {
        let rounded = if drop == 0 {
            p
        } else {
            (p + (1 << (drop - 1))) >> drop
        };
        out.push(rounded as i64);
        p = (p * keep + 2048) >> 12;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readout_leaks_towards_its_drive() {
        let kappa = 62336; // (4096 − 200)·16
        let mut y = 0;
        for _ in 0..400 {
            y = readout_next(y, 3 << 16, kappa);
        }
        assert!((y - (3 << 16)).abs() <= 16, "{y}");
        assert_eq!(zbar_next(0, true, kappa), 3200); // (1 − κ)·2^16 = 3,200
    }

    #[test]
    fn injection_rounds_once() {
        // 0.5·0.25 + (−0.25)·0.5 = 0 exactly, whatever the format.
        let w = [(0, 1 << 15), (1, -(1 << 14))];
        assert_eq!(injection_bits(&w, &[1 << 14, 1 << 15], 24), 0);
        // 0.5·0.5 = 0.25: Q8.24 2^22, Q16.16 2^14.
        assert_eq!(injection_bits(&w[..1], &[1 << 15], 24), 1 << 22);
        assert_eq!(injection_bits(&w[..1], &[1 << 15], 16), 1 << 14);
    }

    #[test]
    fn rate_coefficient_is_linear_in_the_spike_excess() {
        let r = RegulariserImage {
            k_mant: 3,
            k_exp: 4,
            target: 5 << 16,
        };
        assert_eq!(rate_coefficient(&r, 5), 0);
        assert_eq!(rate_coefficient(&r, 7), 96);
        assert_eq!(rate_coefficient(&r, 4), -48);
        assert_eq!(regularised(10, 1 << 16, 7), 17);
    }

    #[test]
    fn power_table_matches_the_exact_powers() {
        for decay in [2u16, 200, 1000] {
            let t = power_table(decay, 3000, 24);
            let x = 1.0 - f64::from(decay) / 4096.0;
            for (i, &p) in t.iter().enumerate().step_by(37) {
                let exact = x.powi(i as i32) * 2f64.powi(24);
                assert!(
                    (p as f64 - exact).abs() <= 1.0,
                    "{decay} {i}: {p} vs {exact}"
                );
            }
            assert_eq!(t[0], 1 << 24);
        }
    }
}
