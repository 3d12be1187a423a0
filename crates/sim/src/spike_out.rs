//! Phase 2 of a step, spike out: every spike or graded payload becomes one packet per
//! output axon it uses.
//!
//! Input ports send first (serially: there are few ports, and their spike draws are
//! split over the pool inside [`crate::inputs::port_spikes`]), then every core builds
//! its own packets and counts its own events ([`core`], cores in parallel); the engine
//! concatenates them in core order, so the packet list is the same for any thread count.
//!
//! **Invariant**: a core's packets are in compartment then fan-out order, and packet `i`
//! of a source is injected `i + 1` spike-out slots after the source's first free cycle.

use crate::energy::Counts;
use crate::inputs::{port_spikes, ExternalSpikes};
use crate::kernels::{prefetch, NeuronOut};
use crate::tables::{CoreTable, PortTable};
use crate::timing::{Geometry, Packet};
use amine_chip::config::CostTable;

/// Packet sizes and the spike-out cost, as the chip configuration gives them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sender {
    pub geo: Geometry,
    pub spike_out: u64,
    pub spike_flits: u32,
    pub graded_flits: u32,
}

impl Sender {
    /// Count one packet sent from tile `from` to tile `to` and its hops.
    fn count(&self, counts: &mut Counts, from: u32, to: u32) {
        let (ew, ns) = self.geo.hops(from, to);
        counts.spike_out += 1;
        counts.hop_ew += ew as u64;
        counts.hop_ns += ns as u64;
    }
}

/// One core's spike out: its packets and the cycle its last packet left.
#[derive(Debug, Clone, Default)]
pub(crate) struct CoreOut {
    pub packets: Vec<Packet>,
    pub out_end: u64,
}

/// The packets of input port `pi` for step `t` (what it drew, then what the host queued
/// in `pending`), appended to `packets`; `spikes` and `payloads` are scratch.
#[allow(clippy::too_many_arguments)]
pub(crate) fn port(
    s: &Sender,
    pi: usize,
    port: &PortTable,
    t: u32,
    external: &ExternalSpikes,
    pending: &mut Vec<(u32, u16)>,
    src: u32,
    threads: usize,
    counts: &mut Counts,
    scratch: &mut (Vec<u32>, Vec<u16>),
    packets: &mut Vec<Packet>,
) {
    let (spikes, payloads) = scratch;
    spikes.clear();
    payloads.clear();
    port_spikes(pi, port, t, external, threads, spikes);
    for (idx, payload) in pending.drain(..) {
        spikes.push(idx);
        payloads.push(payload);
    }
    // Spiking inputs and compartments are scattered: request their fan-out offsets
    // first, so the misses overlap (a hint; it changes nothing).
    for &idx in spikes.iter() {
        prefetch(port.fan_off.as_ptr().wrapping_add(idx as usize));
    }
    let mut i = 0;
    for (k, &idx) in spikes.iter().enumerate() {
        // A graded port's packets carry the value; a spiking port's carry nothing.
        let payload = payloads.get(k).copied().unwrap_or(0);
        let (a, b) = (
            port.fan_off[idx as usize] as usize,
            port.fan_off[idx as usize + 1] as usize,
        );
        for d in &port.fan[a..b] {
            i += 1;
            s.count(counts, port.tile, d.tile);
            packets.push(Packet {
                src,
                same_core: false,
                src_tile: port.tile,
                dst: d.core,
                dst_tile: d.tile,
                axon: d.axon,
                mult: if payload != 0 { payload as i32 } else { 1 },
                flits: if payload != 0 {
                    s.graded_flits
                } else {
                    s.spike_flits
                },
                inject: i * s.spike_out,
                work: d.work as u64,
            });
        }
    }
}

/// Core `k`'s spike out after its neuron phase `out`: its packets into `dst`, its
/// events into `counts`.
pub(crate) fn core(
    s: &Sender,
    costs: &CostTable,
    k: usize,
    tab: &CoreTable,
    out: &NeuronOut,
    counts: &mut Counts,
    dst: &mut CoreOut,
) {
    dst.packets.clear();
    let emitted = out.emits.len() as u64;
    let neuron_end = costs.soma_cycles(out.active, out.idle, emitted);
    counts.neuron_spike += emitted;
    for e in &out.emits {
        prefetch(tab.fan_off.as_ptr().wrapping_add(e.comp as usize));
    }
    let mut i = 0;
    for e in &out.emits {
        let c = e.comp as usize;
        let (a, b) = (tab.fan_off[c] as usize, tab.fan_off[c + 1] as usize);
        for d in &tab.fan[a..b] {
            i += 1;
            s.count(counts, tab.tile, d.tile);
            let graded = e.payload != 0;
            dst.packets.push(Packet {
                src: k as u32,
                same_core: d.core as usize == k,
                src_tile: tab.tile,
                dst: d.core,
                dst_tile: d.tile,
                axon: d.axon,
                mult: if graded { e.payload as i32 } else { 1 },
                flits: if graded {
                    s.graded_flits
                } else {
                    s.spike_flits
                },
                inject: neuron_end + i * s.spike_out,
                work: d.work as u64,
            });
        }
    }
    dst.out_end = neuron_end + i * s.spike_out;
}
