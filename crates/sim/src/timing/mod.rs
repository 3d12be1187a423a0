//! Step latency: when each packet reaches its core and when each core is done.
//!
//! Both modes take the same packets — each with its injection cycle (the source core's
//! neuron phase plus its place in the spike-out queue), its flit count and the
//! synaptic work it causes at its destination — and produce, per core, the cycle at
//! which the core has finished its neuron update, its spike-out and the processing of
//! every packet addressed to it, plus the stall cycles the NoC added. The engine adds
//! the modulator grid and the barrier. See `docs/simulator.md` for the formulas.

pub(crate) mod analytic;
pub(crate) mod cycle;
pub(crate) mod links;

use links::LinkGeo;

/// A packet of one step, with everything timing needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Packet {
    /// Injection channel: the core index, or `cores + port` for an input port.
    pub src: u32,
    /// Source and destination are the same core: no router is crossed.
    pub same_core: bool,
    pub src_tile: u32,
    /// Destination core index and tile.
    pub dst: u32,
    pub dst_tile: u32,
    pub axon: u32,
    /// 1 for a spike, the payload for a graded packet.
    pub mult: i32,
    pub flits: u32,
    /// Cycle at which the packet leaves its source (enters the router).
    pub inject: u64,
    /// Cycles of synaptic work at the destination (axon-in, word reads, ops, accumulates).
    pub work: u64,
}

/// Mesh geometry and the costs timing needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Geometry {
    pub tiles_x: u32,
    pub tiles_y: u32,
    pub hop_ew: u64,
    pub hop_ns: u64,
    pub flit_cycles: u64,
    pub buffer_flits: u32,
    /// Injection channels (cores + input ports) and cores of the image.
    pub sources: u32,
    pub cores: u32,
    /// The chip-to-chip links of a multi-chip system (`None`: one chip, no links).
    pub links: Option<LinkGeo>,
}

/// Output directions of a router; link `tile · 4 + dir` leaves `tile` that way.
pub(crate) const EAST: u32 = 0;
pub(crate) const WEST: u32 = 1;
pub(crate) const NORTH: u32 = 2;
pub(crate) const SOUTH: u32 = 3;

impl Geometry {
    pub fn xy(&self, tile: u32) -> (u32, u32) {
        (tile % self.tiles_x, tile / self.tiles_x)
    }

    /// East-west and north-south hops between two tiles under XY routing.
    pub fn hops(&self, a: u32, b: u32) -> (u32, u32) {
        let ((ax, ay), (bx, by)) = (self.xy(a), self.xy(b));
        (ax.abs_diff(bx), ay.abs_diff(by))
    }

    /// The next direction from `tile` towards `dst` (X first, then Y); `None` when there.
    pub fn step_dir(&self, tile: u32, dst: u32) -> Option<u32> {
        let ((x, y), (dx, dy)) = (self.xy(tile), self.xy(dst));
        if x < dx {
            Some(EAST)
        } else if x > dx {
            Some(WEST)
        } else if y > dy {
            Some(NORTH)
        } else if y < dy {
            Some(SOUTH)
        } else {
            None
        }
    }

    /// The tile a link of direction `dir` leads to from `tile`.
    pub fn neighbour(&self, tile: u32, dir: u32) -> u32 {
        match dir {
            EAST => tile + 1,
            WEST => tile - 1,
            NORTH => tile - self.tiles_x,
            _ => tile + self.tiles_x,
        }
    }

    pub fn hop_cycles(&self, dir: u32) -> u64 {
        if dir <= WEST {
            self.hop_ew
        } else {
            self.hop_ns
        }
    }

    /// Latency of a packet through an idle NoC: head hops plus the tail's serialisation;
    /// a hop that crosses chips takes the link's latency and serialisation instead of
    /// the hop's cycles (`links`).
    pub fn ideal_latency(&self, p: &Packet) -> u64 {
        if p.same_core {
            return 0;
        }
        let (ew, ns) = self.hops(p.src_tile, p.dst_tile);
        let (xe, xn) = match &self.links {
            Some(l) => l.crossings(self.xy(p.src_tile), self.xy(p.dst_tile)),
            None => (0, 0),
        };
        let crossing = self.links.map_or(0, |l| l.crossing_cycles(p.flits));
        (ew - xe) as u64 * self.hop_ew
            + (ns - xn) as u64 * self.hop_ns
            + (xe + xn) as u64 * crossing
            + (p.flits as u64 - 1) * self.flit_cycles
    }

    /// Mesh links (`4 · tiles`) and, after them, chip-to-chip channels.
    pub fn link_slots(&self) -> usize {
        (self.tiles_x * self.tiles_y * 4) as usize + self.links.map_or(0, |l| l.channels())
    }

    /// Calls `f` with every link of the XY path from `a` to `b`: a mesh link
    /// `tile · 4 + dir`, or for a hop that crosses chips its channel `4 · tiles + channel`.
    pub fn for_path(&self, a: u32, b: u32, mut f: impl FnMut(usize)) {
        let mesh = self.tiles_x * self.tiles_y * 4;
        let mut t = a;
        while let Some(d) = self.step_dir(t, b) {
            match self.links.and_then(|l| l.crossing(self.xy(t), d)) {
                Some(c) => f((mesh + c) as usize),
                None => f((t * 4 + d) as usize),
            }
            t = self.neighbour(t, d);
        }
    }
}
