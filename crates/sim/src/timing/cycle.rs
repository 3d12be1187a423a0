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
//!   (0 for injection); the flits it held upstream are released as its tail leaves (and
//!   taken back by that buffer's feeder when it next needs them).
//!   Ejection delivers the tail to the core `(F − 1) · flit_cycles` after it starts.
//! - Each output serves its requests first-come first-served, ties in packet order;
//!   packets waiting in one input buffer for different outputs do not block each other
//!   (no head-of-line blocking).
//! - The receiving core processes packets in arrival order, each starting at
//!   `max(arrival, busy_until)` and busy for its synaptic work; it starts once its own
//!   neuron update and spike-out are done.
//!
//! - A hop that leaves a chip of a multi-chip system takes that chip's link channel
//!   (`links`), shared by every packet crossing there: it holds the channel for the
//!   link's serialisation, and the far router has the packet `latency + serialisation`
//!   cycles after it started (store-and-forward); the channel's buffer at the far chip
//!   has `buffer_flits` flits like a mesh link's. Its queueing (request to send) is
//!   summed per channel.
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
    /// Cycle of the earliest wake-up scheduled for this port (`u64::MAX`: none).
    wake_at: u64,
    /// Free flits of the buffer this port leads to.
    credits: u32,
    /// Flits that leave that buffer later: (cycle, flits). A buffer holds a few packets
    /// at most, so this stays tiny; credits are taken back lazily when needed, which
    /// saves one event per hop.
    returning: Vec<(u64, u32)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    /// Packet `.0`'s head is at a router and requests port `.1`.
    Ready(u32, u32),
    /// Port `.0` may be able to send (its link freed or credits returned).
    Wake(u32),
}

#[derive(Debug, Default)]
pub(crate) struct Scratch {
    ports: Vec<Port>,
    held: Vec<u32>,
    arrival: Vec<u64>,
    delivered: usize,
    heap: BinaryHeap<Reverse<(u64, u64, Ev)>>,
    seq: u64,
    order: Vec<(u32, u64, u32)>,
    /// Per packet: the tile it is at and the cycle it requested its port (kept for
    /// chip-to-chip channels, whose tile and queueing the port does not tell).
    at: Vec<(u32, u64)>,
}

/// Port layout: mesh links `0..4·tiles`, then injection channels (one per source),
/// then ejection channels (one per core), then chip-to-chip channels (`chip · 4 + dir`).
struct Layout {
    inject0: u32,
    eject0: u32,
    link0: u32,
}

impl Scratch {
    fn push(&mut self, t: u64, e: Ev) {
        self.seq += 1;
        self.heap.push(Reverse((t, self.seq, e)));
    }

    /// Schedule a wake-up of port `o` at `t` unless an earlier one is pending.
    fn wake(&mut self, o: u32, t: u64) {
        let port = &mut self.ports[o as usize];
        if t < port.wake_at {
            port.wake_at = t;
            self.push(t, Ev::Wake(o));
        }
    }

    /// The port packet `pi` at `tile` requests at `now` (noting where and when, for a
    /// chip-to-chip channel).
    fn route(&mut self, g: &Geometry, l: &Layout, tile: u32, pi: u32, p: &Packet, now: u64) -> u32 {
        match g.step_dir(tile, p.dst_tile) {
            Some(d) => match g.links.and_then(|k| k.crossing(g.xy(tile), d)) {
                Some(c) => {
                    self.at[pi as usize] = (tile, now);
                    l.link0 + c
                }
                None => tile * 4 + d,
            },
            None => l.eject0 + p.dst,
        }
    }

    /// Packet `pi`'s head reaches port `o`'s router at `now`.
    #[allow(clippy::too_many_arguments)]
    fn arrive(
        &mut self,
        g: &Geometry,
        l: &Layout,
        packets: &[Packet],
        pi: u32,
        o: u32,
        now: u64,
        link_wait: &mut [u64],
    ) {
        self.ports[o as usize].queue.push_back(pi);
        self.try_send(g, l, packets, o, now, link_wait);
    }

    fn try_send(
        &mut self,
        g: &Geometry,
        l: &Layout,
        packets: &[Packet],
        o: u32,
        now: u64,
        link_wait: &mut [u64],
    ) {
        let port = &mut self.ports[o as usize];
        let Some(&pi) = port.queue.front() else {
            return;
        };
        if port.free_at > now {
            let at = port.free_at;
            self.wake(o, at);
            return;
        }
        let p = &packets[pi as usize];
        let f = p.flits;
        let buffered = o < l.eject0 || o >= l.link0;
        if buffered && port.credits < f {
            // Take back the flits that have left the buffer by now.
            let mut next = u64::MAX;
            port.returning.retain(|&(t, n)| {
                if t <= now {
                    port.credits += n;
                    false
                } else {
                    next = next.min(t);
                    true
                }
            });
            if port.credits < f {
                // Back-pressure: try again when the next flits leave the buffer.
                self.wake(o, next);
                return;
            }
        }
        port.queue.pop_front();
        if buffered {
            port.credits -= f;
        }
        let chip_link = o >= l.link0;
        let ser = match g.links {
            Some(k) if chip_link => k.ser(f),
            _ => f as u64 * g.flit_cycles,
        };
        port.free_at = now + ser;
        if !port.queue.is_empty() {
            self.wake(o, now + ser);
        }
        let held = self.held[pi as usize];
        if held != NONE {
            // The tail leaves the upstream buffer as this link finishes the packet; the
            // buffer's feeder may be waiting for exactly that room.
            let feeder = &mut self.ports[held as usize];
            feeder.returning.push((now + ser, f));
            if !feeder.queue.is_empty() {
                self.wake(held, now + ser);
            }
        }
        if chip_link {
            self.held[pi as usize] = o;
            let (tile, asked) = self.at[pi as usize];
            link_wait[(o - l.link0) as usize] += now - asked;
            let t = g.neighbour(tile, (o - l.link0) % 4);
            let at = now + ser + g.links.map_or(0, |k| k.latency);
            let next = self.route(g, l, t, pi, p, at);
            self.push(at, Ev::Ready(pi, next));
        } else if o >= l.eject0 {
            self.arrival[pi as usize] = now + ser - g.flit_cycles;
            self.delivered += 1;
        } else if o >= l.inject0 {
            self.held[pi as usize] = o;
            let next = self.route(g, l, p.src_tile, pi, p, now);
            // Entering the router takes no cycle: request the next port right away.
            self.arrive(g, l, packets, pi, next, now, link_wait);
        } else {
            self.held[pi as usize] = o;
            let (tile, dir) = (o / 4, o % 4);
            let t = g.neighbour(tile, dir);
            let at = now + g.hop_cycles(dir);
            let next = self.route(g, l, t, pi, p, at);
            self.push(at, Ev::Ready(pi, next));
        }
    }
}

/// Fills `finish` (per core; the caller sets it to each core's spike-out end) and
/// returns the stall cycles; adds each chip-to-chip channel's queueing cycles to
/// `link_wait` (empty without links).
pub(crate) fn run(
    g: &Geometry,
    packets: &[Packet],
    finish: &mut [u64],
    s: &mut Scratch,
    link_wait: &mut [u64],
) -> u64 {
    let mesh = g.tiles_x * g.tiles_y * 4;
    let l = Layout {
        inject0: mesh,
        eject0: mesh + g.sources,
        link0: mesh + g.sources + g.cores,
    };
    let nports = l.link0 as usize + g.links.map_or(0, |k| k.channels());
    s.ports.resize_with(nports, Port::default);
    for p in s.ports.iter_mut() {
        p.queue.clear();
        p.free_at = 0;
        p.wake_at = u64::MAX;
        p.credits = g.buffer_flits;
        p.returning.clear();
    }
    s.held.clear();
    s.held.resize(packets.len(), NONE);
    s.arrival.clear();
    s.arrival.resize(packets.len(), 0);
    if g.links.is_some() {
        s.at.clear();
        s.at.resize(packets.len(), (0, 0));
    }
    s.heap.clear();
    s.seq = 0;
    s.delivered = 0;
    for (i, p) in packets.iter().enumerate() {
        if p.same_core {
            s.arrival[i] = p.inject;
        } else {
            s.push(p.inject, Ev::Ready(i as u32, l.inject0 + p.src));
        }
    }
    while let Some(Reverse((now, _, ev))) = s.heap.pop() {
        match ev {
            Ev::Ready(pi, o) => s.arrive(g, &l, packets, pi, o, now, link_wait),
            Ev::Wake(o) => {
                let port = &mut s.ports[o as usize];
                if port.wake_at == now {
                    port.wake_at = u64::MAX;
                }
                s.try_send(g, &l, packets, o, now, link_wait);
            }
        }
    }
    // XY routing with whole-packet buffers cannot deadlock: every packet gets out.
    debug_assert_eq!(
        s.delivered,
        packets.iter().filter(|p| !p.same_core).count(),
        "packets lost in the NoC"
    );
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
