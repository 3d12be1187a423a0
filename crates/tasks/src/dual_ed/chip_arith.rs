//! The learning engine's weight arithmetic, emulated on the f64 reference
//! (`DualEdConfig::weight_arith`, the example's `--weight-arith chip`).
//!
//! On the chip (`amine template ed --routing modulo`) every magnitude is a row mantissa
//! of `weight_bits` bits times its row's power of two, in the template's weight units
//! (`scale` per f64 unit: `amine_compiler::templates::WEIGHT_SCALE`). A row is one
//! source's synapses of one projection: for a hidden layer a source's synapses onto
//! every unit of the layer (one core holds the layer), for the output layer one synapse
//! (the template writes one projection per class). Here, after the f64 update of a
//! sample, each weight's change becomes a change of its mantissa the way the engine
//! makes it:
//!
//! - the change, in mantissa LSBs at the row's exponent, is rounded stochastically with
//!   the chip's [`stochastic_round`] and a counter-based [`hash_random`] draw keyed by
//!   (seed, update, row, synapse), as the engine keys its own;
//! - a mantissa that would leave `0..=2^bits − 1` is clamped (at 0: the sign never
//!   changes) unless the row's exponent can still grow: then every mantissa of the row
//!   is halved with the engine's [`halve`], the exponent raised by one and the row's
//!   update recomputed at the new scale with the same draws (the engine's
//!   renormalisation);
//! - the initial magnitudes are quantised as the compiler quantises the program's:
//!   [`choose_exponent`] of the row's largest, then [`quantize_weight`].
//!
//! Every rounding, clamp and halving is amine-chip's own function; only the bookkeeping
//! (which weights form a row) is here. What is not emulated: the rule scale's 8-bit
//! mantissa (the read-back's η already is the rounded one) and the f64 update itself,
//! which is exact before it is rounded (the engine's product is exact in `i128` too).

use super::net::DualLayer;
use amine_chip::learning::engine::{halve, weight_range};
use amine_chip::learning::{hash_random, stochastic_round};
use amine_chip::neuron::graded::SigmoidTable;
use amine_chip::synapse::{choose_exponent, quantize_weight, RowFormat, SignMode};
use serde::{Deserialize, Serialize};

/// The chip's weight format for [`super::DualEdConfig::weight_arith`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChipArith {
    /// Mantissa bits of a magnitude (the template's plastic rows: 8).
    pub weight_bits: u8,
    /// Weight units per f64 unit (`amine_compiler::templates::WEIGHT_SCALE`).
    pub scale: f64,
    /// The chip's row exponent range (`core.weight_exponent_min`, `_max`).
    pub exponent_min: i8,
    pub exponent_max: i8,
    /// Rows halve and raise their exponent instead of clamping at the top.
    pub renormalise: bool,
}

impl ChipArith {
    /// The `loihi-ed` preset's format for the template's plastic rows: 8-bit
    /// magnitudes, its exponent range, renormalisation on; `scale` is the template's.
    pub fn loihi_ed(scale: f64) -> Result<ChipArith, String> {
        let chip = amine_chip::presets::preset("loihi-ed").map_err(|e| e.to_string())?;
        Ok(ChipArith {
            weight_bits: 8,
            scale,
            exponent_min: chip.core.weight_exponent_min,
            exponent_max: chip.core.weight_exponent_max,
            renormalise: true,
        })
    }

    fn format(&self) -> RowFormat {
        RowFormat {
            index_bits: 20,
            weight_bits: self.weight_bits,
            sign: SignMode::Excitatory,
            delay_bits: 0,
            tag_bits: 0,
        }
    }

    /// Checks the format against what the chip's rows allow.
    pub fn check(&self) -> Result<(), String> {
        if !(1..=16).contains(&self.weight_bits) {
            return Err(format!(
                "weight_arith.weight_bits = {}: a row mantissa has 1 to 16 bits",
                self.weight_bits
            ));
        }
        if !(self.scale.is_finite() && self.scale > 0.0) {
            return Err(format!(
                "weight_arith.scale = {}: must be finite and > 0",
                self.scale
            ));
        }
        if self.exponent_min > self.exponent_max {
            return Err(format!(
                "weight_arith: exponent_min {} above exponent_max {}",
                self.exponent_min, self.exponent_max
            ));
        }
        Ok(())
    }

    /// The f64 value of mantissa `m` at exponent `e`.
    fn value(&self, m: i64, e: i8) -> f64 {
        m as f64 * 2f64.powi(i32::from(e)) / self.scale
    }

    /// The mantissa of an f64 magnitude already on the grid of exponent `e`.
    fn mantissa(&self, w: f64, e: i8) -> i64 {
        (w * self.scale * 2f64.powi(-i32::from(e))).round() as i64
    }
}

/// What the emulated engine did, summed over updates (the lockstep study's counts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ArithCounts {
    /// Synapses whose f64 change was not 0.
    pub updates: u64,
    /// Of those, changes rounded to no change of the mantissa.
    pub rounded_to_zero: u64,
    /// Mantissas clamped (at 0, or at the top of a row that cannot grow).
    pub clamped: u64,
    /// Row halvings.
    pub renormalised: u64,
}

/// Per layer and matrix, each row's exponent; and the counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChipWeights {
    pub arith: ChipArith,
    /// `exponents[layer][matrix][row]`.
    pub exponents: Vec<[Vec<i8>; 4]>,
    /// Synapses per row, per layer (a hidden layer's `outputs`; the output layer's 1).
    pub row_len: Vec<usize>,
    pub counts: ArithCounts,
}

/// One row's state while its update is applied.
struct Row<'a> {
    old: &'a [f64],
    new: &'a mut [f64],
    exponent: &'a mut i8,
}

impl ChipWeights {
    /// Quantises the layers' initial magnitudes as the compiler quantises the program's
    /// and returns the rows' exponents.
    pub fn quantise(arith: ChipArith, layers: &mut [DualLayer]) -> ChipWeights {
        let format = arith.format();
        let n = layers.len();
        let mut exponents = Vec::with_capacity(n);
        let mut row_len = Vec::with_capacity(n);
        for (l, layer) in layers.iter_mut().enumerate() {
            // The output layer's rows are single synapses (one projection per class).
            let len = if l + 1 == n { 1 } else { layer.outputs.max(1) };
            let mats = [
                &mut layer.w_pp,
                &mut layer.w_np,
                &mut layer.w_nn,
                &mut layer.w_pn,
            ];
            let exps = mats.map(|w| {
                w.chunks_mut(len)
                    .map(|row| {
                        let max = row.iter().fold(0.0f64, |m, &x| m.max(x)) * arith.scale;
                        let e =
                            choose_exponent(max, &format, arith.exponent_min, arith.exponent_max);
                        for x in row.iter_mut() {
                            let m = quantize_weight(*x * arith.scale, &format, e);
                            *x = arith.value(i64::from(m), e);
                        }
                        e
                    })
                    .collect()
            });
            exponents.push(exps);
            row_len.push(len);
        }
        ChipWeights {
            arith,
            exponents,
            row_len,
            counts: ArithCounts::default(),
        }
    }

    /// Turns layer `l`'s f64 update (`old` → `new`, per matrix) into the engine's:
    /// `new` is rewritten with the mantissas the engine would hold. `update` and `seed`
    /// key the rounding draws.
    pub fn apply(
        &mut self,
        l: usize,
        old: [&[f64]; 4],
        new: [&mut Vec<f64>; 4],
        seed: u64,
        update: u64,
    ) {
        let len = self.row_len[l];
        for (k, (old, new)) in old.into_iter().zip(new).enumerate() {
            let exps = &mut self.exponents[l][k];
            for (r, ((o, n), e)) in old
                .chunks(len)
                .zip(new.chunks_mut(len))
                .zip(exps.iter_mut())
                .enumerate()
            {
                let row_id = ((l as u64) << 40) | ((k as u64) << 32) | r as u64;
                let row = Row {
                    old: o,
                    new: n,
                    exponent: e,
                };
                let key = (seed, update, row_id);
                apply_row(&self.arith, row, key, &mut self.counts);
            }
        }
    }
}

/// Fractional bits the f64 change is held with before the chip's stochastic rounding.
const DRAW_BITS: u32 = 32;

/// One row's update at the engine's arithmetic (see the module's text).
fn apply_row(
    arith: &ChipArith,
    row: Row,
    (seed, update, row_id): (u64, u64, u64),
    counts: &mut ArithCounts,
) {
    let (lo, hi) = weight_range(SignMode::Excitatory, arith.weight_bits);
    let Row { old, new, exponent } = row;
    if old.iter().zip(new.iter()).all(|(o, n)| o == n) {
        return;
    }
    let e0 = *exponent;
    let mut mant: Vec<i64> = old.iter().map(|&w| arith.mantissa(w, e0)).collect();
    let deltas: Vec<f64> = old.iter().zip(new.iter()).map(|(o, n)| n - o).collect();
    let mut halvings = 0u64;
    let result = loop {
        let e = *exponent;
        let lsb = arith.scale * 2f64.powi(-i32::from(e));
        let mut overflow = false;
        let want: Vec<i64> = mant
            .iter()
            .zip(&deltas)
            .enumerate()
            .map(|(j, (&m, &d))| {
                if d == 0.0 {
                    return m;
                }
                let scaled = (d * lsb * 2f64.powi(DRAW_BITS as i32)).round() as i128;
                let draw = hash_random(seed, update, row_id, j as u64);
                let w = m.saturating_add(stochastic_round(scaled, DRAW_BITS, draw));
                overflow |= w > hi;
                w
            })
            .collect();
        if overflow && arith.renormalise && e < arith.exponent_max {
            for m in mant.iter_mut() {
                *m = i64::from(halve(*m as i32));
            }
            *exponent += 1;
            halvings += 1;
            continue;
        }
        break want;
    };
    counts.renormalised += halvings;
    for ((w, (&m, &d)), &want) in new.iter_mut().zip(mant.iter().zip(&deltas)).zip(&result) {
        if d == 0.0 {
            *w = arith.value(m, *exponent);
            continue;
        }
        counts.updates += 1;
        let clamped = want.clamp(lo, hi);
        counts.clamped += u64::from(clamped != want);
        counts.rounded_to_zero += u64::from(want == m);
        *w = arith.value(clamped, *exponent);
    }
}

/// The chip's activation tables for [`super::DualEdConfig::activation_table`]: every
/// layer's `φ` read from amine-chip's [`SigmoidTable`] (the value at the lower edge of
/// the bucket `z` falls in, as the chip's graded unit reads it) instead of exactly.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSpec {
    /// Raw `u` units per f64 unit of summed input (the template's weight scale × payload
    /// maximum × the compiler's weight scale).
    pub u_scale: f64,
    /// The table covers `±span·u0` (the template's populations: 5).
    pub span: f64,
    /// Entries (the compiler's `SIGMOID_ENTRIES`).
    pub entries: usize,
    /// Buckets added to `u` before the lookup (0: as the chip; ½ makes the lower-edge
    /// read the nearest tabulated point).
    #[serde(default)]
    pub offset: f64,
}

impl TableSpec {
    /// The table of a layer of width `alpha` with payloads of `bits`.
    pub fn table(&self, alpha: f64, bits: u8) -> SigmoidTable {
        SigmoidTable::logistic(alpha * self.u_scale, self.span, self.entries, bits)
    }
}

/// `φ(z)` as the chip's `table` reads it, as a fraction of the payload maximum.
pub fn table_activation(table: &SigmoidTable, spec: &TableSpec, z: f64) -> f64 {
    let bucket = 2f64.powi(i32::from(table.in_shift));
    let u = (z * spec.u_scale + spec.offset * bucket)
        .floor()
        .clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32;
    let max = (1u32 << table.payload_bits) - 1;
    f64::from(table.lookup(u)) / f64::from(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 8-bit magnitudes, one weight unit per f64 unit, exponents −6..=7.
    fn arith() -> ChipArith {
        ChipArith {
            weight_bits: 8,
            scale: 1.0,
            exponent_min: -6,
            exponent_max: 7,
            renormalise: true,
        }
    }

    /// One layer of one matrix in use: rows of `len` at exponent `e`.
    fn weights(len: usize, rows: usize, e: i8) -> ChipWeights {
        let exps = vec![e; rows];
        ChipWeights {
            arith: arith(),
            exponents: vec![[exps.clone(), exps.clone(), exps.clone(), exps]],
            row_len: vec![len],
            counts: ArithCounts::default(),
        }
    }

    fn apply(w: &mut ChipWeights, old: &[f64], new: &[f64], update: u64) -> Vec<f64> {
        let zero = vec![0.0; old.len()];
        let mut mats = [new.to_vec(), zero.clone(), zero.clone(), zero.clone()];
        let [a, b, c, d] = &mut mats;
        w.apply(0, [old, &zero, &zero, &zero], [a, b, c, d], 7, update);
        mats[0].clone()
    }

    #[test]
    fn an_overflowing_row_halves_and_raises_its_exponent() {
        // Mantissas 255 and 3 at exponent 0; +2 on the first overflows: the row becomes
        // 128 and 2 (halved, half away from zero) at exponent 1, then +1 (2 at the new
        // scale, exactly): 129·2 and 2·2.
        let mut w = weights(2, 1, 0);
        let out = apply(&mut w, &[255.0, 3.0], &[257.0, 3.0], 0);
        assert_eq!(out, vec![258.0, 4.0]);
        assert_eq!(w.exponents[0][0], vec![1]);
        assert_eq!(w.counts.renormalised, 1);
    }

    #[test]
    fn a_magnitude_stops_at_zero() {
        let mut w = weights(1, 1, 0);
        assert_eq!(apply(&mut w, &[5.0], &[-40.0], 0), vec![0.0]);
        assert_eq!(w.counts.clamped, 1);
    }

    #[test]
    fn small_changes_round_stochastically_and_without_bias() {
        // 4,000 rows of one weight 10, each moved by +0.25 LSB: every result is 10 or
        // 11, and about a quarter are 11.
        let n = 4000;
        let mut w = weights(1, n, 0);
        let old = vec![10.0; n];
        let new = vec![10.25; n];
        let out = apply(&mut w, &old, &new, 3);
        assert!(out.iter().all(|&x| x == 10.0 || x == 11.0));
        let up = out.iter().filter(|&&x| x == 11.0).count();
        assert!((900..1100).contains(&up), "{up} of {n} rounded up");
        assert_eq!(w.counts.rounded_to_zero as usize, n - up);
    }

    #[test]
    fn the_table_reads_the_lower_edge_of_the_bucket() {
        let spec = TableSpec {
            u_scale: 1024.0,
            span: 5.0,
            entries: 256,
            offset: 0.0,
        };
        let table = spec.table(3.0, 8);
        let bucket = 2f64.powi(i32::from(table.in_shift)) / spec.u_scale;
        // Just below the end of the bucket starting at 0: the value at 0, one half.
        let z = 0.999 * bucket;
        assert_eq!(table_activation(&table, &spec, z), 128.0 / 255.0);
        // Half a bucket added: the read is the nearest tabulated point, the next one.
        let nearest = TableSpec {
            offset: 0.5,
            ..spec
        };
        let exact = 1.0 / (1.0 + (-2.0 * bucket / 3.0f64).exp());
        let got = table_activation(&table, &nearest, z);
        assert!(
            (got - exact).abs() <= 0.5 / 255.0 + 1e-12,
            "{got} vs {exact}"
        );
    }
}
