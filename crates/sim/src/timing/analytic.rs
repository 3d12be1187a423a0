//! Analytic timing: per-core busy sums, Manhattan hops, a link-load contention estimate.
//!
//! For each packet `p`: arrival `A_p = inject_p + hops_ew·c_ew + hops_ns·c_ns +
//! (flits − 1)·flit_cycles + w_p`, where the contention estimate `w_p` is half the
//! serialisation time of the other flits on the busiest link of its path:
//! `w_p = ceil(max_link (load − flits_p) · flit_cycles / 2)` (a packet waits, on average,
//! behind half of the traffic it shares a link with). A core finishes at
//! `max(out_k + Σ work, max_p (A_p + work_p))`: either it is busy back to back after its
//! own spike-out, or the last packet to arrive sets the pace. O(packets × hops + cores).

use super::{Geometry, Packet};

#[derive(Debug, Default)]
pub(crate) struct Scratch {
    load: Vec<u64>,
    work: Vec<u64>,
    last: Vec<u64>,
}

/// Fills `finish` (per core, initialised by the caller to `out_end`) and returns the
/// stall (contention) cycles.
pub(crate) fn run(
    g: &Geometry,
    packets: &[Packet],
    out_end: &[u64],
    finish: &mut [u64],
    s: &mut Scratch,
) -> u64 {
    let links = (g.tiles_x * g.tiles_y * 4) as usize;
    s.load.clear();
    s.load.resize(links, 0);
    s.work.clear();
    s.work.resize(out_end.len(), 0);
    s.last.clear();
    s.last.resize(out_end.len(), 0);
    for p in packets.iter().filter(|p| p.src_tile != p.dst_tile) {
        g.for_path(p.src_tile, p.dst_tile, |l| s.load[l] += p.flits as u64);
    }
    let mut stall = 0;
    for p in packets {
        let mut wait = 0;
        if p.src_tile != p.dst_tile {
            let mut worst = 0;
            g.for_path(p.src_tile, p.dst_tile, |l| worst = worst.max(s.load[l]));
            wait = ((worst - p.flits as u64) * g.flit_cycles).div_ceil(2);
        }
        stall += wait;
        let arrive = p.inject + g.ideal_latency(p) + wait;
        let d = p.dst as usize;
        s.work[d] += p.work;
        s.last[d] = s.last[d].max(arrive + p.work);
    }
    for (k, f) in finish.iter_mut().enumerate() {
        *f = (out_end[k] + s.work[k]).max(s.last[k]);
    }
    stall
}
