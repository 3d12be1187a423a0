//! Cycle timing: event-driven, flit-level routers with input buffers and back-pressure.
//!
//! Model (virtual cut-through, XY routing, credit-based flow control):
//! - Every tile's router has four mesh output links (E, W, N, S), one injection channel
//!   per local core (and per input port entering there) and one ejection channel per
//!   local core. Each mesh link and injection channel feeds an input buffer of
//!   `buffer_flits` flits at the router it leads to; ejection into a core is unbuffered
//!   (the core's input queue is unbounded).
//! - A packet of `F` flits may take an output when the link is free and the buffer it
//!   leads to has `F` free flits (its credits). It then occupies the link for
//!   `F · flit_cycles`; its head reaches the next router `hop_ew` / `hop_ns` cycles later
//!   (0 for injection); the flits it held upstream are released as its tail leaves.
//!   Ejection delivers the tail to the core `(F − 1) · flit_cycles` after it starts.
//! - Each output serves its requests first-come first-served, ties in packet order;
//!   packets waiting in one input buffer for different outputs do not block each other
//!   (no head-of-line blocking).
//! - The receiving core processes packets in arrival order, each starting at
//!   `max(arrival, busy_until)` and busy for its synaptic work; it starts once its own
//!   neuron update and spike-out are done.
//!
//! Only events are simulated (a binary heap ordered by cycle, then insertion), never
//! idle cycles, so the cost is O(packets × hops × log). Stall cycles are each packet's
//! arrival minus its arrival through an idle NoC.

use super::{Geometry, Packet};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

const NONE: u32 = u32::MAX;

#[derive(Debug, Clone, Default)]
struct Port {
    queue: VecDeque<u32>,
    free_at: u64,
    wake_pending: bool,
    waiting_credit: bool,
    credits: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    /// Packet `.0`'s head is at a router and requests port `.1`.
    Ready(u32, u32),
    /// Port `.0`'s link became free.
    Wake(u32),
    /// Port `.0`'s downstream buffer got `.1` flits back.
    Credit(u32, u32),
}

#[derive(Debug, Default)]
pub(crate) struct Scratch {
    ports: Vec<Port>,
    held: Vec<u32>,
    arrival: Vec<u64>,
    heap: BinaryHeap<Reverse<(u64, u64, Ev)>>,
    seq: u64,
    order: Vec<(u32, u64, u32)>,
}

/// Port layout: mesh links `0..4·tiles`, then injection channels (one per source),
/// then ejection channels (one per core).
struct Layout {
    inject0: u32,
    eject0: u32,
}

impl Scratch {
    fn push(&mut self, t: u64, e: Ev) {
        self.seq += 1;
        self.heap.push(Reverse((t, self.seq, e)));
    }

    fn route(&self, g: &Geometry, l: &Layout, tile: u32, p: &Packet) -> u32 {
        match g.step_dir(tile, p.dst_tile) {
            Some(d) => tile * 4 + d,
            None => l.eject0 + p.dst,
        }
    }

    fn try_send(&mut self, g: &Geometry, l: &Layout, packets: &[Packet], o: u32, now: u64) {
        let port = &mut self.ports[o as usize];
        let Some(&pi) = port.queue.front() else {
            return;
        };
        if port.free_at > now {
            if !port.wake_pending {
                port.wake_pending = true;
                let at = port.free_at;
                self.push(at, Ev::Wake(o));
            }
            return;
        }
        let p = &packets[pi as usize];
        let f = p.flits;
        let buffered = o < l.eject0;
        if buffered && port.credits < f {
            port.waiting_credit = true;
            return;
        }
        port.queue.pop_front();
        if buffered {
            port.credits -= f;
        }
        let ser = f as u64 * g.flit_cycles;
        port.free_at = now + ser;
        if !port.queue.is_empty() {
            port.wake_pending = true;
            self.push(now + ser, Ev::Wake(o));
        }
        let held = self.held[pi as usize];
        if held != NONE {
            self.push(now + ser, Ev::Credit(held, f));
        }
        if o >= l.eject0 {
            self.arrival[pi as usize] = now + ser - g.flit_cycles;
        } else if o >= l.inject0 {
            self.held[pi as usize] = o;
            let next = self.route(g, l, p.src_tile, p);
            self.push(now, Ev::Ready(pi, next));
        } else {
            self.held[pi as usize] = o;
            let (tile, dir) = (o / 4, o % 4);
            let t = g.neighbour(tile, dir);
            let next = self.route(g, l, t, p);
            self.push(now + g.hop_cycles(dir), Ev::Ready(pi, next));
        }
    }
}

/// Fills `finish` (per core; the caller sets it to each core's spike-out end) and returns the stall cycles.
pub(crate) fn run(g: &Geometry, packets: &[Packet], finish: &mut [u64], s: &mut Scratch) -> u64 {
    let mesh = g.tiles_x * g.tiles_y * 4;
    let l = Layout {
        inject0: mesh,
        eject0: mesh + g.sources,
    };
    let nports = (l.eject0 + g.cores) as usize;
    s.ports.resize_with(nports, Port::default);
    for p in s.ports.iter_mut() {
        p.queue.clear();
        p.free_at = 0;
        p.wake_pending = false;
        p.waiting_credit = false;
        p.credits = g.buffer_flits;
    }
    s.held.clear();
    s.held.resize(packets.len(), NONE);
    s.arrival.clear();
    s.arrival.resize(packets.len(), 0);
    s.heap.clear();
    s.seq = 0;
    for (i, p) in packets.iter().enumerate() {
        if p.same_core {
            s.arrival[i] = p.inject;
        } else {
            s.push(p.inject, Ev::Ready(i as u32, l.inject0 + p.src));
        }
    }
    while let Some(Reverse((now, _, ev))) = s.heap.pop() {
        match ev {
            Ev::Ready(pi, o) => {
                s.ports[o as usize].queue.push_back(pi);
                s.try_send(g, &l, packets, o, now);
            }
            Ev::Wake(o) => {
                s.ports[o as usize].wake_pending = false;
                s.try_send(g, &l, packets, o, now);
            }
            Ev::Credit(o, f) => {
                let port = &mut s.ports[o as usize];
                port.credits += f;
                if std::mem::take(&mut port.waiting_credit) {
                    s.try_send(g, &l, packets, o, now);
                }
            }
        }
    }
    let mut stall = 0;
    s.order.clear();
    for (i, p) in packets.iter().enumerate() {
        stall += s.arrival[i].saturating_sub(p.inject + g.ideal_latency(p));
        s.order.push((p.dst, s.arrival[i], i as u32));
    }
    s.order.sort_unstable();
    for &(d, a, i) in &s.order {
        let f = &mut finish[d as usize];
        *f = (*f).max(a) + packets[i as usize].work;
    }
    stall
}
