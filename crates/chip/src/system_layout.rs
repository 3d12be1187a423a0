//! A system as one larger virtual mesh: the chips' tile meshes laid side by side as the
//! system's topology says, so the compiler can partition and place a network over every
//! chip at once.
//!
//! A `Mesh { chips_x, chips_y }` system of `W × H`-tile chips is a `chips_x·W ×
//! chips_y·H`-tile mesh; a `Links` system whose links are exactly the chain 0–1–…–(n−1)
//! is the `n × 1` mesh of chips. Other link sets have no such layout and are refused.
//! XY routing on the virtual mesh crosses `|Δchip x| + |Δchip y|` chip-to-chip links,
//! which is the shortest path of links between the two chips.
//!
//! **Invariant:** a one-chip system's virtual chip equals the chip except for its name, so
//! anything compiled for it is the chip's own compilation.

use crate::config::ChipConfig;
use crate::error::{Error, ErrorKind, Problem};
use crate::system::{LinkConfig, SystemConfig, Topology};

/// Where every chip sits in the virtual mesh, and what crossing between chips costs.
#[derive(Debug, Clone, PartialEq)]
pub struct SystemLayout {
    pub name: String,
    pub chips_x: u32,
    pub chips_y: u32,
    /// Tiles of one chip along x and y.
    pub chip_tiles_x: u32,
    pub chip_tiles_y: u32,
    pub link: LinkConfig,
}

impl SystemLayout {
    /// The chip (`y · chips_x + x`) holding tile `(x, y)` of the virtual mesh.
    pub fn chip_of_tile(&self, (x, y): (u32, u32)) -> u32 {
        let (cx, cy) = self.chip_xy((x, y));
        cy * self.chips_x + cx
    }

    /// Chip-to-chip links an XY-routed packet crosses from tile `a` to tile `b`.
    pub fn crossings(&self, a: (u32, u32), b: (u32, u32)) -> u32 {
        let (ax, ay) = self.chip_xy(a);
        let (bx, by) = self.chip_xy(b);
        ax.abs_diff(bx) + ay.abs_diff(by)
    }

    pub fn chips(&self) -> u32 {
        self.chips_x * self.chips_y
    }

    fn chip_xy(&self, (x, y): (u32, u32)) -> (u32, u32) {
        (x / self.chip_tiles_x.max(1), y / self.chip_tiles_y.max(1))
    }
}

impl SystemConfig {
    /// The chips' grid: `(chips_x, chips_y)`.
    pub fn grid(&self) -> Result<(u32, u32), Error> {
        match &self.topology {
            Topology::Mesh { chips_x, chips_y } => Ok((*chips_x, *chips_y)),
            Topology::Links { chips, .. } => {
                let chain: Vec<(u32, u32)> = (1..*chips).map(|c| (c - 1, c)).collect();
                if self.links() == chain {
                    Ok((*chips, 1))
                } else {
                    Err(Error::new(ErrorKind::Invalid {
                        origin: self.name.clone(),
                        problems: vec![Problem {
                            field: "topology.links".into(),
                            message: "only a chain of links (0, 1), (1, 2), … or a Mesh can \
                                      be laid out for compilation so far"
                                .into(),
                        }],
                    }))
                }
            }
        }
    }

    /// `chip` (the system's resolved chip) repeated over the system as one virtual mesh,
    /// checked like any chip, and the layout that maps its tiles back to chips.
    pub fn virtual_chip(&self, chip: &ChipConfig) -> Result<(ChipConfig, SystemLayout), Error> {
        let (chips_x, chips_y) = self.grid()?;
        let mut v = chip.clone();
        let too_big = |field: &str| {
            Error::new(ErrorKind::Invalid {
                origin: self.name.clone(),
                problems: vec![Problem {
                    field: field.into(),
                    message: format!(
                        "{chips_x} × {chips_y} chips of {} × {} tiles exceed 2^32 tiles",
                        chip.mesh.tiles_x, chip.mesh.tiles_y
                    ),
                }],
            })
        };
        v.mesh.tiles_x = chip
            .mesh
            .tiles_x
            .checked_mul(chips_x)
            .ok_or_else(|| too_big("topology.chips_x"))?;
        v.mesh.tiles_y = chip
            .mesh
            .tiles_y
            .checked_mul(chips_y)
            .ok_or_else(|| too_big("topology.chips_y"))?;
        if chips_x * chips_y > 1 {
            v.name = format!("{} ({} × {})", self.name, chips_x * chips_y, chip.name);
        }
        v.validate()?;
        let layout = SystemLayout {
            name: self.name.clone(),
            chips_x,
            chips_y,
            chip_tiles_x: chip.mesh.tiles_x,
            chip_tiles_y: chip.mesh.tiles_y,
            link: self.link.clone(),
        };
        Ok((v, layout))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presets::preset as chip_preset;
    use crate::system::preset;

    #[test]
    fn kapoho_bay_is_two_loihi_meshes_side_by_side() {
        let chip = chip_preset("loihi").unwrap();
        let (v, l) = preset("kapoho-bay").unwrap().virtual_chip(&chip).unwrap();
        assert_eq!(v.mesh.tiles_x, 2 * chip.mesh.tiles_x);
        assert_eq!(v.mesh.tiles_y, chip.mesh.tiles_y);
        assert_eq!(v.cores(), 2 * chip.cores());
        let w = chip.mesh.tiles_x;
        assert_eq!(l.chip_of_tile((w - 1, 0)), 0);
        assert_eq!(l.chip_of_tile((w, 0)), 1);
        assert_eq!(l.crossings((0, 0), (w - 1, 3)), 0);
        assert_eq!(l.crossings((w - 1, 0), (w, 0)), 1);
    }

    #[test]
    fn mesh_crossings_are_the_link_distance() {
        let chip = chip_preset("tiny").unwrap();
        let sys = preset("board-2x4").unwrap();
        let (_, l) = sys.virtual_chip(&chip).unwrap();
        let (w, h) = (chip.mesh.tiles_x, chip.mesh.tiles_y);
        for a in 0..8u32 {
            let dist = sys.hops(a);
            for b in 0..8u32 {
                let ta = ((a % 4) * w, (a / 4) * h);
                let tb = ((b % 4) * w + w - 1, (b / 4) * h + h - 1);
                assert_eq!(l.chip_of_tile(ta), a);
                assert_eq!(l.chip_of_tile(tb), b);
                assert_eq!(Some(l.crossings(ta, tb)), dist[b as usize]);
            }
        }
    }

    #[test]
    fn one_chip_system_is_the_chip_and_a_ring_is_refused() {
        let chip = chip_preset("tiny").unwrap();
        let link = "link: (latency_ns: 1.0, energy_pj_per_packet: 1.0, energy_pj_per_flit: 1.0, flit_bits: 32, bandwidth_gbit_s: 1.0)";
        let one = SystemConfig::from_ron(
            &format!("System(name: \"one\", chip: \"tiny\", topology: Links(chips: 1, links: []), {link})"),
            "one.ron",
        )
        .unwrap();
        assert_eq!(one.virtual_chip(&chip).unwrap().0, chip);
        let ring = SystemConfig::from_ron(
            &format!("System(name: \"ring\", chip: \"tiny\", topology: Links(chips: 3, links: [(0, 1), (1, 2), (2, 0)]), {link})"),
            "ring.ron",
        )
        .unwrap();
        let e = ring.virtual_chip(&chip).unwrap_err().to_string();
        assert!(e.contains("topology.links"), "{e}");
    }
}
