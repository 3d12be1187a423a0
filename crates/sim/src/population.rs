//! Population axons decoded for delivery.
//!
//! A population axon reads, for a spike of atom `a`, the shared row `first_row + a` with
//! every target offset by the axon's base (`amine_chip::image::CorePopulation`). The
//! tables turn each `(population axon, atom)` into an *addressed row* of its own — the
//! shared row's entries with the base added — placed after the core's discrete rows, and
//! resolve every population fan-out target to it. Delivery then reads addressed rows
//! exactly like discrete ones; each costs the words and synapses of the shared row it
//! reads, which is what the hardware fetches.

use crate::synapses::{narrow_shift, Entry, Synapses};
use crate::tables::{Dest, RowInfo};
use amine_chip::config::CostTable;
use amine_chip::image::{CoreImage, PopFanout, PopTarget};
use amine_chip::synapse::SynapseMemory;

/// The rows packets address on one core, decoded: `(rows, synapses, delays)`.
pub(crate) type Addressed = (Vec<RowInfo>, Synapses, Vec<u8>);

/// [`Addressed`] with the synapses in layout `E`.
type AddressedIn<E> = (Vec<RowInfo>, Vec<E>, Vec<u8>);

/// Where a core's population axons begin among its addressed rows.
#[derive(Debug, Clone, Default)]
pub(crate) struct PopIndex {
    /// First population axon id (= the number of discrete rows).
    pub shared_from: u32,
    /// Addressed row of atom 0 of each population axon.
    pub start: Vec<u32>,
}

impl PopIndex {
    /// The addressed row of a population spike, if it exists (the image was verified).
    pub fn row(&self, axon: u32, atom: u32) -> u32 {
        let k = axon.saturating_sub(self.shared_from) as usize;
        self.start.get(k).map_or(u32::MAX, |s| s + atom)
    }
}

/// Cycles of synaptic work a packet to a row of `words` words and `len` synapses causes
/// at its core: `axon_in + words · synapse_word_read + len · (synaptic_op +
/// dendrite_accumulate)` (the fast e-prop backend's packets too).
pub(crate) fn row_work(costs: &CostTable, words: u64, len: u64) -> u64 {
    costs.axon_in.cycles
        + words * costs.synapse_word_read.cycles
        + len * (costs.synaptic_op.cycles + costs.dendrite_accumulate.cycles)
}

fn work(costs: &CostTable, words: u32, len: u32) -> u32 {
    u32::try_from(row_work(costs, u64::from(words), u64::from(len))).unwrap_or(u32::MAX)
}

/// The addressed rows of core `c`, decoded from its synapse memory (in the narrow
/// layout when its formats allow, see `synapses`), and its population index.
pub(crate) fn addressed(c: &CoreImage, costs: &CostTable) -> (Addressed, PopIndex) {
    let mem = &c.synapses;
    let info = |r: usize, start: u32, len: u32| {
        let words = mem.row_words(r as u32);
        RowInfo {
            start,
            len,
            words,
            work: work(costs, words, len),
        }
    };
    let index = pop_index(c);
    let order = c.population.as_ref().map(|_| row_order(c, &index));
    let order = order.as_deref();
    let (rows, syn, delays) = match narrow_shift(mem, c.compartments.len()) {
        Some(shift) => {
            let (rows, syn, delays) = decode(mem, order, info, shift);
            (rows, Synapses::Narrow(syn, shift), delays)
        }
        None => {
            let (rows, syn, delays) = decode(mem, order, info, 0);
            (rows, Synapses::Wide(syn), delays)
        }
    };
    ((rows, syn, delays), index)
}

/// The addressed rows `order` of `mem` (`None`: every row, as discrete axons) in
/// layout `E`.
fn decode<E: Entry>(
    mem: &SynapseMemory,
    order: Option<&[(u32, u32)]>,
    info: impl Fn(usize, u32, u32) -> RowInfo,
    shift: u32,
) -> AddressedIn<E> {
    match order {
        None => discrete(mem, info, shift),
        Some(order) => shared(mem, order, info, shift),
    }
}

/// Where core `c`'s population axons begin among its addressed rows (empty without a
/// population).
fn pop_index(c: &CoreImage) -> PopIndex {
    let Some(pop) = &c.population else {
        return PopIndex::default();
    };
    let mut index = PopIndex {
        shared_from: c.discrete_rows(),
        start: Vec::with_capacity(pop.axons.len()),
    };
    let mut next = index.shared_from;
    for a in &pop.axons {
        index.start.push(next);
        next = next.saturating_add(a.atoms);
    }
    index
}

/// Every addressed row of a core with a population: `(memory row, target base)`,
/// discrete rows first, then each population axon's atoms.
fn row_order(c: &CoreImage, index: &PopIndex) -> Vec<(u32, u32)> {
    let mut order: Vec<(u32, u32)> = (0..index.shared_from).map(|r| (r, 0)).collect();
    for a in c.population.iter().flat_map(|p| &p.axons) {
        order.extend((0..a.atoms).map(|k| (a.first_row + k, a.base)));
    }
    order
}

/// The addressed rows `order` of `mem` (with each target offset by its base).
fn shared<E: Entry>(
    mem: &SynapseMemory,
    order: &[(u32, u32)],
    info: impl Fn(usize, u32, u32) -> RowInfo,
    shift: u32,
) -> AddressedIn<E> {
    let d = mem.decode();
    let (mut rows, mut syn, mut delays) = (Vec::with_capacity(order.len()), Vec::new(), Vec::new());
    for &(r, base) in order {
        let (lo, hi) = (
            d.offsets[r as usize] as usize,
            d.offsets[r as usize + 1] as usize,
        );
        rows.push(info(r as usize, syn.len() as u32, (hi - lo) as u32));
        syn.extend(
            d.targets[lo..hi]
                .iter()
                .zip(&d.weights[lo..hi])
                .map(|(&t, &w)| E::pack(t + base, w, shift)),
        );
        delays.extend_from_slice(&d.delays[lo..hi]);
    }
    (rows, syn, delays)
}

/// Every row of `mem` as a discrete axon, decoded straight into the tables' layout: one
/// pass into buffers sized up front (no per-entry growth checks), and no delay buffer at
/// all when no row's format has delay bits (an empty one means "no delays").
fn discrete<E: Entry>(
    mem: &SynapseMemory,
    info: impl Fn(usize, u32, u32) -> RowInfo,
    shift: u32,
) -> AddressedIn<E> {
    let lens = mem.rows().iter().map(|r| r.len as usize);
    let total: usize = lens.clone().sum();
    let timed = mem.rows().iter().any(|r| r.format.delay_bits > 0);
    let mut rows = Vec::with_capacity(mem.rows().len());
    let mut syn = vec![E::default(); total];
    let mut delays = vec![0u8; if timed { total } else { 0 }];
    let (mut syn_rest, mut delay_rest) = (syn.as_mut_slice(), delays.as_mut_slice());
    let mut start = 0usize;
    for (r, len) in lens.enumerate() {
        let (syn_row, s) = std::mem::take(&mut syn_rest).split_at_mut(len);
        syn_rest = s;
        let (delay_row, d) =
            std::mem::take(&mut delay_rest).split_at_mut(if timed { len } else { 0 });
        delay_rest = d;
        let mut i = 0;
        mem.decode_row_with(r, |t, w, d| {
            if let Some(e) = syn_row.get_mut(i) {
                *e = E::pack(t, w, shift);
            }
            if let Some(e) = delay_row.get_mut(i) {
                *e = d;
            }
            i += 1;
        });
        // Only a memory of over 2^32 entries could overflow; saturate, not wrap.
        let at = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        rows.push(info(r, at(start), at(start + len) - at(start)));
        start += len;
    }
    (rows, syn, delays)
}

/// A fan-out table with each source's population targets appended to its discrete ones.
pub(crate) fn merge(
    offsets: &[u32],
    fan: &[Dest],
    pop: &PopFanout,
    resolve: impl Fn(&PopTarget) -> Dest,
) -> (Vec<u32>, Vec<Dest>) {
    let sources = offsets.len().saturating_sub(1);
    let mut off = Vec::with_capacity(offsets.len());
    let mut out = Vec::with_capacity(fan.len() + pop.targets.len());
    off.push(0);
    for i in 0..sources {
        out.extend_from_slice(&fan[offsets[i] as usize..offsets[i + 1] as usize]);
        out.extend(pop.of(i).iter().map(&resolve));
        off.push(out.len() as u32);
    }
    (off, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use amine_chip::synapse::{RowFormat, SignMode, Synapse};

    fn memory(delay_bits: u8) -> SynapseMemory {
        let f = |delay_bits| RowFormat {
            index_bits: 5,
            weight_bits: 7,
            sign: SignMode::Signed,
            delay_bits,
            tag_bits: 0,
        };
        let syn = |target, weight, delay| Synapse {
            target,
            weight,
            delay,
            tag: 0,
        };
        let mut m = SynapseMemory::new(16, 1 << 12);
        // 12- or 14-bit entries in 16-bit words: entries straddle words.
        m.push_row(f(0), 0, &[syn(3, -5, 0), syn(31, 63, 0), syn(0, -64, 0)])
            .unwrap();
        m.push_row(f(delay_bits), 2, &[]).unwrap();
        let d = u8::from(delay_bits > 0);
        m.push_row(f(delay_bits), -1, &[syn(7, 9, 3 * d), syn(8, -1, d)])
            .unwrap();
        m
    }

    #[test]
    fn discrete_rows_decode_as_the_memory_does() {
        for delay_bits in [0, 2] {
            let m = memory(delay_bits);
            let info = |_: usize, start, len| RowInfo {
                start,
                len,
                words: 0,
                work: 0,
            };
            let (rows, syn, delays) = discrete::<(u32, i32)>(&m, info, 0);
            let d = m.decode();
            let starts: Vec<(u32, u32)> = rows.iter().map(|r| (r.start, r.len)).collect();
            assert_eq!(starts, [(0, 3), (3, 0), (3, 2)]);
            let want: Vec<(u32, i32)> = d.targets.iter().copied().zip(d.weights).collect();
            assert_eq!(syn, want);
            // No delay field in any row: no delays kept.
            let want_delays = if delay_bits == 0 {
                Vec::new()
            } else {
                d.delays
            };
            assert_eq!(delays, want_delays);
        }
        assert_eq!(
            discrete::<(u32, i32)>(
                &memory(2),
                |_, s, l| RowInfo {
                    start: s,
                    len: l,
                    words: 0,
                    work: 0
                },
                0
            )
            .2,
            [0, 0, 0, 3, 1]
        );
    }

    #[test]
    fn the_narrow_layout_gives_back_the_memorys_targets_and_weights() {
        let m = memory(2);
        // Rows with entries have exponents 0 and -1: every weight is a multiple of
        // 2^(6 - 1); the empty row's exponent 2 does not count.
        let shift = crate::synapses::narrow_shift(&m, 32);
        assert_eq!(shift, Some(5));
        let info = |_: usize, start, len| RowInfo {
            start,
            len,
            words: 0,
            work: 0,
        };
        let (_, syn, _) = discrete::<(u16, i16)>(&m, info, 5);
        let got: Vec<(usize, i32)> = syn.iter().map(|e| (e.target(), e.weight(5))).collect();
        let d = m.decode();
        let want: Vec<(usize, i32)> = d
            .targets
            .iter()
            .map(|&t| t as usize)
            .zip(d.weights)
            .collect();
        assert_eq!(got, want);
        assert_eq!(want[1], (31, 63 << 6));
    }
}
