//! The chip-to-chip link model: where an XY route over a system's virtual mesh crosses
//! from one chip to the next, and what the crossing takes.
//!
//! A multi-chip system runs as one virtual mesh (`amine_chip::system_layout`): chip
//! `cy · chips_x + cx` holds the tiles `cx·W .. (cx+1)·W` × `cy·H .. (cy+1)·H`. A mesh hop
//! between two tiles of different chips does not take an on-chip mesh link: it takes the
//! chip-to-chip link between the two chips, one **channel** per chip and direction
//! (`chip · 4 + dir`, the link's two directions independent), shared by every packet
//! that crosses there whatever its row or column. A crossing:
//! - is **store-and-forward**: the far chip's router has the whole packet
//!   `latency + serialisation` cycles after the link starts sending it
//!   (`serialisation = ⌈F · flit_bits / bandwidth⌉` in cycles, `LinkConfig`);
//! - keeps the link busy for the serialisation; later packets wait (cycle mode) or are
//!   estimated to wait (analytic mode) like on a mesh link;
//! - still enters the far chip's router, so its hop is counted (and priced) as a hop;
//!   its cycles are the link's instead of the hop's.
//!
//! Pricing is not here: a link event's energy is `LinkConfig::energy_pj` (the system
//! configuration), applied once to the counts in `crate::links`.

use super::{EAST, NORTH, SOUTH, WEST};
use amine_chip::system_layout::SystemLayout;

/// The chips' tiling of the virtual mesh and the link's timing in cycles.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LinkGeo {
    pub chips_x: u32,
    pub chips_y: u32,
    pub chip_tiles_x: u32,
    pub chip_tiles_y: u32,
    /// Cycles from the end of serialisation to the far router.
    pub latency: u64,
    /// Serialisation cycles of a spike and of a graded packet: (flits, cycles).
    ser: [(u32, u64); 2],
}

impl LinkGeo {
    /// The model of `layout`'s links on a chip clocked at `clock_hz` whose packets have
    /// `spike_flits` or `graded_flits` flits.
    pub fn new(layout: &SystemLayout, clock_hz: u64, spike_flits: u32, graded_flits: u32) -> Self {
        let ser = |f: u32| (f, layout.link.serialisation_cycles(f, clock_hz));
        LinkGeo {
            chips_x: layout.chips_x,
            chips_y: layout.chips_y,
            chip_tiles_x: layout.chip_tiles_x.max(1),
            chip_tiles_y: layout.chip_tiles_y.max(1),
            latency: layout.link.latency_cycles(clock_hz),
            ser: [ser(spike_flits), ser(graded_flits)],
        }
    }

    /// Channels (`chips · 4`; those leading off the system are never used).
    pub fn channels(&self) -> usize {
        (self.chips_x * self.chips_y * 4) as usize
    }

    /// Cycles a packet of `flits` flits occupies a link.
    pub fn ser(&self, flits: u32) -> u64 {
        if self.ser[0].0 == flits {
            self.ser[0].1
        } else {
            self.ser[1].1
        }
    }

    /// Cycles a crossing adds to a packet of `flits` flits through idle links.
    pub fn crossing_cycles(&self, flits: u32) -> u64 {
        self.latency + self.ser(flits)
    }

    /// The chip holding tile `(x, y)`.
    pub fn chip_of(&self, (x, y): (u32, u32)) -> u32 {
        (y / self.chip_tiles_y) * self.chips_x + x / self.chip_tiles_x
    }

    /// The channel a mesh hop from tile `(x, y)` in direction `dir` takes if it leaves
    /// the chip, `None` if it stays on it.
    pub fn crossing(&self, (x, y): (u32, u32), dir: u32) -> Option<u32> {
        let (w, h) = (self.chip_tiles_x, self.chip_tiles_y);
        let leaves = match dir {
            EAST => (x + 1) % w == 0,
            WEST => x % w == 0,
            NORTH => y % h == 0,
            _ => (y + 1) % h == 0,
        };
        leaves.then(|| self.chip_of((x, y)) * 4 + dir)
    }

    /// Crossings of the XY route from tile `a` to tile `b`: (east-west, north-south).
    pub fn crossings(&self, a: (u32, u32), b: (u32, u32)) -> (u32, u32) {
        let (ca, cb) = (self.chip_xy(a), self.chip_xy(b));
        (ca.0.abs_diff(cb.0), ca.1.abs_diff(cb.1))
    }

    /// Calls `f` with the channel of every crossing of the XY route from tile `a` to
    /// tile `b`, in route order (x first, along `a`'s chip row; then y, along `b`'s chip
    /// column). O(crossings).
    pub fn for_crossings(&self, a: (u32, u32), b: (u32, u32), mut f: impl FnMut(u32)) {
        let ((ax, ay), (bx, by)) = (self.chip_xy(a), self.chip_xy(b));
        let chip = |x: u32, y: u32| y * self.chips_x + x;
        if ax < bx {
            (ax..bx).for_each(|x| f(chip(x, ay) * 4 + EAST));
        } else {
            (bx + 1..=ax).rev().for_each(|x| f(chip(x, ay) * 4 + WEST));
        }
        if ay < by {
            (ay..by).for_each(|y| f(chip(bx, y) * 4 + SOUTH));
        } else {
            (by + 1..=ay).rev().for_each(|y| f(chip(bx, y) * 4 + NORTH));
        }
    }

    fn chip_xy(&self, (x, y): (u32, u32)) -> (u32, u32) {
        (x / self.chip_tiles_x, y / self.chip_tiles_y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timing::Geometry;

    fn board() -> (Geometry, LinkGeo) {
        // 4 × 2 chips of 3 × 2 tiles.
        let layout = SystemLayout {
            name: "b".into(),
            chips_x: 4,
            chips_y: 2,
            chip_tiles_x: 3,
            chip_tiles_y: 2,
            link: amine_chip::system::preset("board-2x4").unwrap().link,
        };
        let l = LinkGeo::new(&layout, 10_000_000_000, 1, 2);
        let g = Geometry {
            tiles_x: 12,
            tiles_y: 4,
            hop_ew: 1,
            hop_ns: 1,
            flit_cycles: 1,
            buffer_flits: 4,
            sources: 0,
            cores: 0,
            links: Some(l),
        };
        (g, l)
    }

    #[test]
    fn a_route_crosses_the_links_its_hops_cross() {
        let (g, l) = board();
        assert_eq!((l.ser(1), l.ser(2), l.latency), (160, 320, 1000));
        for a in 0..48 {
            for b in 0..48 {
                // Walk the route hop by hop and collect the hops that leave a chip.
                let mut walked = Vec::new();
                let mut t = a;
                while let Some(d) = g.step_dir(t, b) {
                    if let Some(c) = l.crossing(g.xy(t), d) {
                        walked.push(c);
                    }
                    t = g.neighbour(t, d);
                }
                let mut direct = Vec::new();
                l.for_crossings(g.xy(a), g.xy(b), |c| direct.push(c));
                assert_eq!(walked, direct, "{a} -> {b}");
                let (ew, ns) = l.crossings(g.xy(a), g.xy(b));
                assert_eq!((ew + ns) as usize, direct.len());
            }
        }
        // Tile 2 (chip 0's east edge) to tile 3 (chip 1): chip 0's east channel.
        assert_eq!(l.crossing(g.xy(2), EAST), Some(EAST));
        assert_eq!(l.crossing(g.xy(1), EAST), None);
        // Tile 24 + 3 = (3, 2): chip 5's north edge, to chip 1.
        assert_eq!(l.crossing(g.xy(27), NORTH), Some(5 * 4 + NORTH));
    }
}
