//! A core's decoded synapses, `(target, effective weight)` per entry, in the narrowest
//! layout its image allows: delivery streams every row it reads from memory, so fewer
//! bytes per entry means fewer cache lines per packet (and less to write at decode).
//!
//! - [`Synapses::Narrow`]: 4 bytes, `(u16 target, i16 weight >> shift)`, when the core
//!   has at most 2^16 compartments and every row's format (mantissa width and
//!   exponent) gives effective weights that are multiples of `2^shift` whose quotients
//!   fit an `i16` (W2's Loihi rows: 9-bit mantissas, weight `m << (6 + exp)`);
//! - [`Synapses::Wide`]: 8 bytes, `(u32, i32)`, any core.
//!
//! Both give back exactly the decoded weight (`(w as i32) << shift` undoes an exact
//! division), so results do not depend on the layout.

use amine_chip::synapse::{effective_weight, SynapseMemory};

/// One decoded synapse in some layout.
pub(crate) trait Entry: Copy + Default + Send + Sync {
    /// The entry of `target` and `weight` (which the caller checked fit; see
    /// [`narrow_shift`]).
    fn pack(target: u32, weight: i32, shift: u32) -> Self;
    fn target(self) -> usize;
    /// The effective weight (the layout's `shift` undone).
    fn weight(self, shift: u32) -> i32;
}

impl Entry for (u32, i32) {
    #[inline(always)]
    fn pack(target: u32, weight: i32, _: u32) -> Self {
        (target, weight)
    }
    #[inline(always)]
    fn target(self) -> usize {
        self.0 as usize
    }
    #[inline(always)]
    fn weight(self, _: u32) -> i32 {
        self.1
    }
}

impl Entry for (u16, i16) {
    #[inline(always)]
    fn pack(target: u32, weight: i32, shift: u32) -> Self {
        (target as u16, (weight >> shift) as i16)
    }
    #[inline(always)]
    fn target(self) -> usize {
        self.0 as usize
    }
    #[inline(always)]
    fn weight(self, shift: u32) -> i32 {
        (self.1 as i32) << shift
    }
}

/// A core's synapses, rows back to back (see the module).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Synapses {
    Wide(Vec<(u32, i32)>),
    Narrow(Vec<(u16, i16)>, u32),
}

impl Default for Synapses {
    fn default() -> Self {
        Synapses::Wide(Vec::new())
    }
}

impl Synapses {
    /// Bytes of one entry.
    pub fn entry_bytes(&self) -> usize {
        match self {
            Synapses::Wide(_) => std::mem::size_of::<(u32, i32)>(),
            Synapses::Narrow(..) => std::mem::size_of::<(u16, i16)>(),
        }
    }

    /// The address of entry `i` (for a prefetch hint; never dereferenced here).
    pub fn entry_ptr(&self, i: usize) -> *const u8 {
        match self {
            Synapses::Wide(v) => v.as_ptr().wrapping_add(i) as *const u8,
            Synapses::Narrow(v, _) => v.as_ptr().wrapping_add(i) as *const u8,
        }
    }
}

/// The `shift` of the narrow layout for a core of `compartments` compartments whose
/// synapses are `mem`'s rows, or `None` if some entry might not fit it. Decided from
/// the rows' formats alone (every mantissa a format allows, at the row's exponent),
/// before decoding, so a core is decoded once.
pub(crate) fn narrow_shift(mem: &SynapseMemory, compartments: usize) -> Option<u32> {
    if compartments > 1 << 16 {
        return None;
    }
    let rows = || mem.rows().iter().filter(|r| r.len > 0);
    // Every effective weight is `m << (6 + exp)` (see `effective_weight`): a multiple
    // of the smallest such power of two over the rows.
    let shift = rows()
        .map(|r| (6 + r.exponent as i32).clamp(0, 31) as u32)
        .min()
        .unwrap_or(0);
    let fits = rows().all(|r| {
        let (lo, hi) = r.format.weight_range();
        [lo, hi].into_iter().all(|m| {
            let w = effective_weight(m, r.exponent);
            // Saturated weights are not multiples of 2^shift: keep them wide.
            let exact = (m as i64) << (6 + r.exponent as i32).clamp(0, 40);
            w as i64 == exact && i16::try_from(w >> shift).is_ok()
        })
    });
    fits.then_some(shift)
}

#[cfg(test)]
mod tests {
    use super::*;
    use amine_chip::synapse::{RowFormat, SignMode, Synapse};

    fn row(m: &mut SynapseMemory, weight_bits: u8, exponent: i8, weights: &[i32]) {
        let format = RowFormat {
            index_bits: 8,
            weight_bits,
            sign: SignMode::Signed,
            delay_bits: 0,
            tag_bits: 0,
        };
        let syn: Vec<Synapse> = weights
            .iter()
            .enumerate()
            .map(|(i, &weight)| Synapse {
                target: i as u32,
                weight,
                delay: 0,
                tag: 0,
            })
            .collect();
        m.push_row(format, exponent, &syn).unwrap();
    }

    #[test]
    fn the_narrow_layout_is_chosen_only_when_every_weight_fits() {
        // Loihi-like: 9-bit mantissas at exponents 0 and 3: multiples of 2^6, the
        // largest 255 << 9 = 130560 = 2040 · 2^6.
        let mut m = SynapseMemory::new(64, 1 << 16);
        row(&mut m, 9, 0, &[-256, 255]);
        row(&mut m, 9, 3, &[1, -1]);
        assert_eq!(narrow_shift(&m, 256), Some(6));
        assert_eq!(narrow_shift(&m, 1 << 16), Some(6));
        // Too many compartments for a 16-bit target.
        assert_eq!(narrow_shift(&m, (1 << 16) + 1), None);
        // A row at exponent -6 next to one at 7: 255 << 13 is not an i16.
        let mut far = SynapseMemory::new(64, 1 << 16);
        row(&mut far, 9, -6, &[1]);
        row(&mut far, 9, 7, &[1]);
        assert_eq!(narrow_shift(&far, 256), None);
        // 16-bit mantissas at one exponent still fit.
        let mut wide = SynapseMemory::new(64, 1 << 16);
        row(&mut wide, 16, 7, &[-32768, 32767]);
        assert_eq!(narrow_shift(&wide, 256), Some(13));
        assert_eq!(
            <(u16, i16)>::pack(5, -32768 << 13, 13).weight(13),
            -32768 << 13
        );
        // No rows: nothing to fit.
        assert_eq!(narrow_shift(&SynapseMemory::new(64, 64), 4), Some(0));
    }
}
