//! One system run split over several ranks (processes, e.g. MPI ranks): each rank owns a
//! contiguous block of chips and simulates only their cores; what crosses ranks is
//! exchanged once per step at the step boundary, bulk-synchronously.
//!
//! The transport is the caller's ([`Exchange`]: MPI in the command line's `mpi` feature,
//! threads in the tests); this module decides what is exchanged and how it is put back,
//! so that every rank holds, after the exchange, the very packet list and emits a
//! single process would have (ports first, then cores in core order), and rank 0 can
//! run the NoC timing, the links' accounting and the recorder exactly as one process
//! does. At the end [`Ranks::gather_cores`] hands rank 0 every core's state, so its
//! report is the single-process report to the bit.
//!
//! Per step: one all-gather (packets, each core's last-packet cycle and emits); with a
//! learning phase, one gather of each core's learning cycles to rank 0 (the step's
//! latency needs them). Nothing here reads a clock.

use crate::error::Error;
use crate::kernels::{Emit, NeuronOut};
use crate::spike_out::CoreOut;
use crate::state::CoreState;
use crate::tables::CoreTable;
use crate::timing::Packet;

/// A collective transport between `size` ranks. Every rank must call the same methods
/// in the same order (they are collectives); the results are in rank order.
pub trait Exchange: Send {
    /// This rank (0-based).
    fn rank(&self) -> usize;
    /// The number of ranks.
    fn size(&self) -> usize;
    /// Every rank's `mine`, in rank order, on every rank.
    fn all_gather(&mut self, mine: &[u8]) -> Vec<Vec<u8>>;
    /// Every rank's `mine`, in rank order, on rank 0 (an empty list on the others).
    fn gather(&mut self, mine: &[u8]) -> Vec<Vec<u8>>;
}

/// Rank `rank`'s chips of `chips` split over `size` ranks: `[rank·chips/size,
/// (rank+1)·chips/size)`, contiguous and as even as possible.
pub fn chips_of_rank(rank: usize, size: usize, chips: u32) -> std::ops::Range<u32> {
    let c = u64::from(chips);
    let (r, n) = (rank as u64, size.max(1) as u64);
    (r * c / n) as u32..((r + 1) * c / n) as u32
}

/// This process's share of a split run: the transport and which cores are its own
/// (apart, so that the step can read one while it uses the other).
#[derive(Debug)]
pub(crate) struct Ranks {
    pub comm: Comm,
    /// Per core (state order): whether this rank simulates it.
    pub owned: Vec<bool>,
}

/// The transport and every rank's cores.
pub(crate) struct Comm {
    ex: Box<dyn Exchange>,
    pub rank: usize,
    /// Per rank, its cores in increasing order.
    cores_of: Vec<Vec<usize>>,
    buf: Vec<u8>,
}

impl std::fmt::Debug for Comm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Comm")
            .field("rank", &self.rank)
            .field("ranks", &self.cores_of.len())
            .finish_non_exhaustive()
    }
}

impl Ranks {
    /// Split the cores (their chips `chip_of_core`) of a system of `chips` chips over
    /// `ex`'s ranks. More ranks than chips is an error (a rank would own nothing).
    pub fn new(ex: Box<dyn Exchange>, chip_of_core: &[u32], chips: u32) -> Result<Ranks, Error> {
        let (rank, size) = (ex.rank(), ex.size());
        if size == 0 || rank >= size {
            return Err(Error::options(format!("rank {rank} of {size} ranks")));
        }
        if size > chips as usize {
            return Err(Error::options(format!(
                "{size} ranks for a system of {chips} chip(s): each rank owns at least one chip, so run at most {chips} ranks"
            )));
        }
        let owner = |chip: u32| (0..size).find(|&r| chips_of_rank(r, size, chips).contains(&chip));
        let mut cores_of = vec![Vec::new(); size];
        for (k, &chip) in chip_of_core.iter().enumerate() {
            let r = owner(chip).ok_or_else(|| {
                Error::options(format!("core {k} on chip {chip}, outside the system"))
            })?;
            cores_of[r].push(k);
        }
        let mut owned = vec![false; chip_of_core.len()];
        cores_of[rank].iter().for_each(|&k| owned[k] = true);
        Ok(Ranks {
            comm: Comm {
                ex,
                rank,
                cores_of,
                buf: Vec::new(),
            },
            owned,
        })
    }
}

impl Comm {
    /// The step's exchange. Before: `packets` holds the ports' packets on rank 0 (empty
    /// elsewhere), `neuron` and `core_out` this rank's cores' outputs. After, on every
    /// rank: `packets` the ports' packets, `neuron[k].emits` and `core_out[k]` every
    /// core's, exactly as one process computes them.
    pub fn exchange(
        &mut self,
        packets: &mut Vec<Packet>,
        neuron: &mut [NeuronOut],
        core_out: &mut [CoreOut],
    ) {
        let mut b = std::mem::take(&mut self.buf);
        b.clear();
        if self.rank == 0 {
            put_packets(&mut b, packets);
        }
        for &k in &self.cores_of[self.rank] {
            b.extend_from_slice(&core_out[k].out_end.to_le_bytes());
            put_packets(&mut b, &core_out[k].packets);
            put_u32(&mut b, neuron[k].emits.len() as u32);
            for e in &neuron[k].emits {
                put_u32(&mut b, e.comp);
                b.extend_from_slice(&e.payload.to_le_bytes());
            }
        }
        let all = self.ex.all_gather(&b);
        self.buf = b;
        for (r, bytes) in all.iter().enumerate() {
            if r == self.rank {
                continue;
            }
            let mut rd = Reader(bytes);
            if r == 0 {
                packets.clear();
                rd.packets(packets);
            }
            for &k in &self.cores_of[r] {
                core_out[k].out_end = rd.u64();
                core_out[k].packets.clear();
                rd.packets(&mut core_out[k].packets);
                let emits = &mut neuron[k].emits;
                emits.clear();
                for _ in 0..rd.u32() {
                    let comp = rd.u32();
                    let payload = u16::from_le_bytes(rd.take());
                    emits.push(Emit { comp, payload });
                }
            }
        }
    }

    /// Rank 0 receives every core's learning cycles of the step (collective).
    pub fn gather_cycles(&mut self, cycles: &mut [u64]) {
        let mine: Vec<u8> = self.cores_of[self.rank]
            .iter()
            .flat_map(|&k| cycles[k].to_le_bytes())
            .collect();
        let all = self.ex.gather(&mine);
        for (r, bytes) in all.iter().enumerate().filter(|(r, _)| *r != self.rank) {
            let mut rd = Reader(bytes);
            self.cores_of[r].iter().for_each(|&k| cycles[k] = rd.u64());
        }
    }

    /// Rank 0 receives every core's state (collective; after the last step).
    pub fn gather_cores(&mut self, cores: &mut [CoreState]) -> Result<(), Error> {
        let mine: Vec<&CoreState> = self.cores_of[self.rank]
            .iter()
            .map(|&k| &cores[k])
            .collect();
        let bytes = postcard::to_stdvec(&mine).map_err(|e| {
            Error::options(format!("encoding rank {}'s core states: {e}", self.rank))
        })?;
        let all = self.ex.gather(&bytes);
        for (r, bytes) in all.iter().enumerate().filter(|(r, _)| *r != self.rank) {
            let got: Vec<CoreState> = postcard::from_bytes(bytes)
                .map_err(|e| Error::options(format!("decoding rank {r}'s core states: {e}")))?;
            if got.len() != self.cores_of[r].len() {
                return Err(Error::options(format!(
                    "rank {r} sent {} core states for its {} cores",
                    got.len(),
                    self.cores_of[r].len()
                )));
            }
            for (&k, s) in self.cores_of[r].iter().zip(got) {
                cores[k] = s;
            }
        }
        Ok(())
    }

    /// Every rank's cores, in rank order (for per-rank figures).
    pub fn cores_per_rank(&self) -> Vec<usize> {
        self.cores_of.iter().map(Vec::len).collect()
    }
}

/// On a rank other than 0, free what only the owner of a core reads: its synapses and
/// delays (delivery) and its fan-out (spike out). Rank 0 keeps every table: its report
/// and monitors read them. What any rank reads of another rank's cores stays: rows
/// (a packet's work is priced at its source), profiles, compartment owners, learning.
pub(crate) fn drop_others(cores: &mut [CoreTable], owned: &[bool]) {
    for (t, _) in cores.iter_mut().zip(owned).filter(|(_, &o)| !o) {
        t.synapses = Default::default();
        t.delays = Vec::new();
        t.fan = Vec::new();
    }
}

fn put_u32(b: &mut Vec<u8>, x: u32) {
    b.extend_from_slice(&x.to_le_bytes());
}

fn put_packets(b: &mut Vec<u8>, packets: &[Packet]) {
    put_u32(b, packets.len() as u32);
    for p in packets {
        for x in [
            p.src,
            u32::from(p.same_core),
            p.src_tile,
            p.dst,
            p.dst_tile,
            p.axon,
        ] {
            put_u32(b, x);
        }
        b.extend_from_slice(&p.mult.to_le_bytes());
        put_u32(b, p.flits);
        b.extend_from_slice(&p.inject.to_le_bytes());
        b.extend_from_slice(&p.work.to_le_bytes());
    }
}

/// Reads what this module wrote. Every rank runs the same code on the same image, so a
/// short or malformed message can only be a broken transport: it panics rather than
/// let the ranks go on with different states.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let (head, rest) = self
            .0
            .split_first_chunk::<N>()
            .expect("rank exchange: a message ended early (the transport lost bytes)");
        self.0 = rest;
        *head
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take())
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take())
    }
    fn packets(&mut self, out: &mut Vec<Packet>) {
        let n = self.u32() as usize;
        out.reserve(n);
        for _ in 0..n {
            let [src, same, src_tile, dst, dst_tile, axon] = [(); 6].map(|_| self.u32());
            out.push(Packet {
                src,
                same_core: same != 0,
                src_tile,
                dst,
                dst_tile,
                axon,
                mult: i32::from_le_bytes(self.take()),
                flits: self.u32(),
                inject: self.u64(),
                work: self.u64(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chips_are_split_in_contiguous_nearly_even_blocks() {
        let split = |size, chips| {
            (0..size)
                .map(|r| chips_of_rank(r, size, chips))
                .collect::<Vec<_>>()
        };
        assert_eq!(split(2, 8), vec![0..4, 4..8]);
        assert_eq!(split(3, 8), vec![0..2, 2..5, 5..8]);
        assert_eq!(split(4, 8), vec![0..2, 2..4, 4..6, 6..8]);
        assert_eq!(split(1, 2), vec![0..2]);
    }

    #[test]
    fn packets_survive_the_encoding() {
        let p = Packet {
            src: 7,
            same_core: true,
            src_tile: 3,
            dst: 9,
            dst_tile: 4,
            axon: 11,
            mult: -5,
            flits: 2,
            inject: u64::MAX - 1,
            work: 12345,
        };
        let mut b = Vec::new();
        put_packets(
            &mut b,
            &[
                p,
                Packet {
                    same_core: false,
                    ..p
                },
            ],
        );
        let mut out = Vec::new();
        Reader(&b).packets(&mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(
            (
                out[0].src,
                out[0].same_core,
                out[0].mult,
                out[0].inject,
                out[0].work
            ),
            (7, true, -5, u64::MAX - 1, 12345)
        );
        assert!(!out[1].same_core);
        assert_eq!(
            (out[1].dst, out[1].dst_tile, out[1].axon, out[1].flits),
            (9, 4, 11, 2)
        );
    }
}
