//! Analytic timing: per-core busy sums, Manhattan hops, a link-load contention estimate.
//!
//! For each packet `p`: arrival `A_p = inject_p + hops_ew·c_ew + hops_ns·c_ns +
//! (flits − 1)·flit_cycles + w_p`. The contention estimate `w_p` is the largest, over
//! the mesh links of its path, of the smaller of two classic estimates for a link `L`
//! carrying `load_L` flits injected over a window `T_L` (first to last injection of its
//! packets, plus one packet time):
//! - a burst: the packet waits behind half of the other flits, `(load_L − F_p)·fc / 2`;
//! - a queue: with utilisation `ρ = min(load_L·fc / T_L, 0.95)`, the M/D/1 mean wait
//!   `ρ / (2(1 − ρ)) · F_p·fc`, plus half the backlog `max(0, load_L·fc − T_L) / 2` of
//!   an overloaded link.
//!
//! (rounded up). Packets injected far apart then wait little, and a burst waits at most
//! for its share. A core finishes at `max(out_k + Σ work, max_p (A_p + work_p))`: either
//! it is busy back to back after its own spike-out, or the last packet to arrive sets the
//! pace. O(packets × hops + cores).
//!
//! A chip-to-chip link (`links`) is a link slot like a mesh link, its service the link's
//! serialisation; and the last packet injected onto a link does not arrive before
//! `first injection + the link's total serialisation + its latency` (a link sends one
//! packet at a time), so a step lasts at least as long as its busiest link sends.

use super::{Geometry, Packet};

#[derive(Debug, Default)]
pub(crate) struct Scratch {
    load: Vec<u64>,
    first: Vec<u64>,
    last_inject: Vec<u64>,
    /// Per packet, the earliest cycle a chip-to-chip link it is the last to use can
    /// have delivered it (0: none).
    drain: Vec<u64>,
}

/// Service cycles of a packet of `flits` flits on link slot `l` (see
/// [`Geometry::for_path`]): `F · flit_cycles` on a mesh link, the serialisation on a
/// chip-to-chip link.
fn service(g: &Geometry, mesh: usize, l: usize, flits: u32) -> u64 {
    match g.links {
        Some(links) if l >= mesh => links.ser(flits),
        _ => flits as u64 * g.flit_cycles,
    }
}

/// The estimated wait of a packet needing `service` cycles on a link whose packets
/// need `load` cycles in all, injected from `first` to `last_inject`.
fn wait_on(load: u64, first: u64, last_inject: u64, service: u64) -> u64 {
    let burst = (load - service).div_ceil(2);
    let window = (last_inject - first + service).max(1);
    let demand = load as f64;
    let rho = (demand / window as f64).min(0.95);
    // An overloaded link (demand beyond its window) also builds a backlog that a
    // packet finds half-drained on average.
    let backlog = (demand - window as f64).max(0.0) / 2.0;
    let queue = (backlog + rho / (2.0 * (1.0 - rho)) * service as f64).ceil() as u64;
    burst.min(queue)
}

/// The first half, serial: the links' loads and windows over this step's packets
/// (O(cross-tile packets × hops)), each chip-to-chip channel's estimated waits added
/// to `link_wait` (empty without links), and the packets' drain times. [`core`] then
/// finishes each core from these (cores in parallel).
pub(crate) fn links(g: &Geometry, packets: &[Packet], s: &mut Scratch, link_wait: &mut [u64]) {
    let links = g.link_slots();
    let mesh = (g.tiles_x * g.tiles_y * 4) as usize;
    s.load.clear();
    s.load.resize(links, 0);
    s.first.clear();
    s.first.resize(links, u64::MAX);
    s.last_inject.clear();
    s.last_inject.resize(links, 0);
    for p in packets.iter().filter(|p| p.src_tile != p.dst_tile) {
        g.for_path(p.src_tile, p.dst_tile, |l| {
            s.load[l] += service(g, mesh, l, p.flits);
            s.first[l] = s.first[l].min(p.inject);
            s.last_inject[l] = s.last_inject[l].max(p.inject);
        });
    }
    let (load, first, last_inject) = (&s.load, &s.first, &s.last_inject);
    s.drain.clear();
    if let Some(chip_links) = g.links {
        s.drain.resize(packets.len(), 0);
        for (p, drain) in packets.iter().zip(s.drain.iter_mut()) {
            if p.src_tile == p.dst_tile {
                continue;
            }
            g.for_path(p.src_tile, p.dst_tile, |l| {
                if l >= mesh {
                    let service = service(g, mesh, l, p.flits);
                    link_wait[l - mesh] += wait_on(load[l], first[l], last_inject[l], service);
                    // A link sends one packet at a time: the last one injected is not
                    // at the far chip before the link has sent them all.
                    if p.inject == last_inject[l] {
                        *drain = (*drain).max(first[l] + load[l] + chip_links.latency);
                    }
                }
            });
        }
    }
}

/// The second half, per core (after [`links`]): the finishing cycle of a core whose
/// spike out ended at `out_end` and which receives the packets `incoming` (indices
/// into `packets`), and the stall (contention) cycles of those packets. Each packet's
/// wait reads only the links' totals, so cores run in parallel and the stall sums
/// (integers) do not depend on the order.
pub(crate) fn core(
    g: &Geometry,
    packets: &[Packet],
    incoming: &[u32],
    out_end: u64,
    s: &Scratch,
) -> (u64, u64) {
    let mesh = (g.tiles_x * g.tiles_y * 4) as usize;
    let (load, first, last_inject) = (&s.load, &s.first, &s.last_inject);
    let (mut stall, mut work, mut last) = (0, 0, 0);
    for &i in incoming {
        let p = &packets[i as usize];
        let mut wait = 0;
        if p.src_tile != p.dst_tile {
            g.for_path(p.src_tile, p.dst_tile, |l| {
                let service = service(g, mesh, l, p.flits);
                wait = wait.max(wait_on(load[l], first[l], last_inject[l], service));
            });
        }
        stall += wait;
        let drain = s.drain.get(i as usize).copied().unwrap_or(0);
        let arrive = (p.inject + g.ideal_latency(p) + wait).max(drain);
        work += p.work;
        last = u64::max(last, arrive + p.work);
    }
    ((out_end + work).max(last), stall)
}
