//! Static power: which cores, routers and grid draw it during a run.
//!
//! Without power gating (`static_power.gating: false`) the whole chip is powered: every
//! core, every router and the grid. With gating, only what the image uses: its cores,
//! the routers of every tile on an XY route its packets can take (the tiles of its cores
//! and input-port entry tiles included), and the grid if the image drives it.

use crate::tables::Tables;
use crate::timing::Geometry;
use amine_chip::config::ChipConfig;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// What draws static power in a run, and how much.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Powered {
    /// Whether the chip gates unused blocks (the configuration's `static_power.gating`).
    pub gating: bool,
    pub cores: u32,
    pub routers: u32,
    pub grid: bool,
    /// Their static power, in milliwatts.
    pub static_mw: f64,
}

impl Powered {
    pub(crate) fn of(
        config: &ChipConfig,
        tables: &Tables,
        geo: &Geometry,
        grid_runs: bool,
    ) -> Powered {
        Powered::gated(
            config,
            tables.cores.len() as u32,
            routed_tiles(tables, geo).len() as u32,
            grid_runs,
        )
    }

    /// What is powered on `config` for an image that uses `cores` cores, the routers of
    /// `routers` tiles and (if `grid`) the modulator grid: those with gating, the whole
    /// chip without.
    pub fn gated(config: &ChipConfig, cores: u32, routers: u32, grid: bool) -> Powered {
        let (cores, routers, grid) = if config.static_power.gating {
            (cores, routers, grid)
        } else {
            (config.cores(), config.tiles(), config.modulator.width > 0)
        };
        Powered {
            gating: config.static_power.gating,
            cores,
            routers,
            grid,
            static_mw: config.static_power_of(cores, routers, grid).0,
        }
    }
}

/// Every tile a packet of the image can pass through: the tiles of its cores, the entry
/// tiles of its input ports, and the XY routes of every fan-out entry.
fn routed_tiles(tables: &Tables, geo: &Geometry) -> BTreeSet<u32> {
    let mut pairs = BTreeSet::new();
    for c in &tables.cores {
        pairs.insert((c.tile, c.tile));
        pairs.extend(c.fan.iter().map(|d| (c.tile, d.tile)));
    }
    for p in &tables.ports {
        if !p.fan.is_empty() {
            pairs.insert((p.tile, p.tile));
        }
        pairs.extend(p.fan.iter().map(|d| (p.tile, d.tile)));
    }
    let mut tiles = BTreeSet::new();
    for (src, dst) in pairs {
        let mut t = src;
        tiles.insert(t);
        while let Some(dir) = geo.step_dir(t, dst) {
            t = geo.neighbour(t, dir);
            tiles.insert(t);
        }
    }
    tiles
}
