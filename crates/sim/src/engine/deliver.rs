//! Phases 3–4's data path: the step's packets bucketed by destination core, and each
//! core's delivery (cores in parallel), which in the analytic mode also finishes the
//! core's timing. `step` decides what runs beside what (see
//! `Simulator::transport_and_deliver`).

use crate::kernels::deliver;
use crate::par;
use crate::state::CoreState;
use crate::tables::Tables;
use crate::timing::{analytic, Geometry, Packet};

/// The packets of a step bucketed by destination core, stable (packet order within a
/// core).
#[derive(Debug, Default)]
pub(super) struct Buckets {
    /// `(axon, multiplier)` of every packet, by destination core.
    incoming: Vec<(u32, i32)>,
    /// Per entry of `incoming`, its packet's index in the step's packet list.
    packet: Vec<u32>,
    /// Core `k`'s entries are `off[k]..off[k + 1]`.
    off: Vec<usize>,
    /// Where the next packet of each core goes (filling only).
    fill: Vec<usize>,
}

impl Buckets {
    /// Bucket `packets` (destinations below `cores`) by destination.
    pub(super) fn fill(&mut self, packets: &[Packet], cores: usize) {
        self.off.clear();
        self.off.resize(cores + 1, 0);
        for p in packets {
            self.off[p.dst as usize + 1] += 1;
        }
        for k in 0..cores {
            self.off[k + 1] += self.off[k];
        }
        self.fill.clear();
        self.fill.extend_from_slice(&self.off[..cores]);
        self.incoming.clear();
        self.incoming.resize(packets.len(), (0, 0));
        self.packet.clear();
        self.packet.resize(packets.len(), 0);
        for (i, p) in packets.iter().enumerate() {
            let f = &mut self.fill[p.dst as usize];
            self.incoming[*f] = (p.axon, p.mult);
            self.packet[*f] = i as u32;
            *f += 1;
        }
    }

    /// Core `k`'s entries' range.
    fn range(&self, k: usize) -> std::ops::Range<usize> {
        self.off[k]..self.off[k + 1]
    }
}

/// What each core's delivery also computes in the analytic mode (`analytic::core`):
/// its finishing cycle and its packets' stall, from the links' totals.
pub(super) struct AnalyticFinish<'a> {
    pub geo: &'a Geometry,
    pub packets: &'a [Packet],
    pub out_end: &'a [u64],
    pub links: &'a analytic::Scratch,
    pub finish: &'a mut [u64],
    pub stall: &'a mut [u64],
}

/// Phase 4: every core this process runs (`owned`; `None`: all) adds its bucket's rows
/// into its accumulators, cores split over `threads`; with `timing`, each core also
/// finishes its analytic timing. Returns the stall cycles summed over the cores (0
/// without `timing`).
pub(super) fn deliver_cores(
    threads: usize,
    tables: &Tables,
    owned: Option<&[bool]>,
    step: u32,
    cores: &mut [CoreState],
    b: &Buckets,
    timing: Option<AnalyticFinish<'_>>,
) -> u64 {
    let slots = tables.slots;
    let one = |k: usize, s: &mut CoreState| {
        if owned.is_none_or(|o| o[k]) {
            deliver(&tables.cores[k], s, step, slots, &b.incoming[b.range(k)]);
        }
    };
    let Some(a) = timing else {
        par::each(threads, cores, one);
        return 0;
    };
    let (geo, packets, out_end, links) = (a.geo, a.packets, a.out_end, a.links);
    par::zip3(threads, cores, a.finish, a.stall, |k, s, finish, stall| {
        one(k, s);
        let index = &b.packet[b.range(k)];
        (*finish, *stall) = analytic::core(geo, packets, index, out_end[k], links);
    });
    a.stall.iter().sum()
}
