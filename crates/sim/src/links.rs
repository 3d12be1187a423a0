//! A run over a multi-chip system: the traffic of every chip-to-chip link channel and
//! when each chip finishes its steps.
//!
//! The timing of a crossing is the link model's (`timing::links`); this module counts,
//! once per step and the same in both timing modes, the packets, flits and busy
//! (serialisation) cycles of every channel a packet's XY route crosses — a function of
//! the packets alone — and adds the queueing cycles the timing mode found. The energy of
//! a channel is `LinkConfig::energy_pj(packets, flits)`, the system's one pricing of
//! link events ([`SystemSim::energy_pj`]).

use crate::error::Error;
use crate::timing::links::LinkGeo;
use crate::timing::{Geometry, Packet};
use amine_chip::config::ChipConfig;
use amine_chip::system_layout::SystemLayout;
use serde::{Deserialize, Serialize};

/// What crossed one direction of one chip-to-chip link.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkCounts {
    pub packets: u64,
    pub flits: u64,
    /// Cycles the link was sending (serialisation of every packet).
    pub busy_cycles: u64,
    /// Cycles packets waited for the link (the timing mode's queueing).
    pub wait_cycles: u64,
}

/// The system's share of a run's state: per channel (`chip · 4 + dir`, dir 0 east,
/// 1 west, 2 north, 3 south) its traffic, per chip its finishing cycles.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemCounts {
    pub links: Vec<LinkCounts>,
    /// Per chip, summed over steps: the cycle its last core was done (neuron update,
    /// spike out, the packets it received, learning), 0 for a chip without cores.
    pub finish_sum: Vec<u64>,
    /// Per chip, the largest such cycle of any step.
    pub finish_max: Vec<u64>,
}

/// The system a simulator runs over.
#[derive(Debug, Clone)]
pub(crate) struct SystemSim {
    pub layout: SystemLayout,
    pub geo: LinkGeo,
    /// Chip of each core of the image, in state order.
    pub chip_of_core: Vec<u32>,
    /// This step's per-chip finishing cycle.
    finish: Vec<u64>,
}

impl SystemSim {
    /// `layout` over `config` (the system's virtual chip), whose image has cores
    /// `core_ids`. The layout must tile `config`'s mesh exactly.
    pub fn new(layout: SystemLayout, config: &ChipConfig, core_ids: &[u32]) -> Result<Self, Error> {
        let (w, h) = (
            u64::from(layout.chips_x) * u64::from(layout.chip_tiles_x),
            u64::from(layout.chips_y) * u64::from(layout.chip_tiles_y),
        );
        if (w, h)
            != (
                u64::from(config.mesh.tiles_x),
                u64::from(config.mesh.tiles_y),
            )
        {
            return Err(Error::options(format!(
                "system `{}` ({} × {} chips of {} × {} tiles) does not lay out chip `{}` ({} × {} tiles)",
                layout.name,
                layout.chips_x,
                layout.chips_y,
                layout.chip_tiles_x,
                layout.chip_tiles_y,
                config.name,
                config.mesh.tiles_x,
                config.mesh.tiles_y
            )));
        }
        let geo = LinkGeo::new(
            &layout,
            config.mesh.clock_hz,
            config.router.spike_packet_flits,
            config.router.graded_packet_flits,
        );
        let tiles_x = config.mesh.tiles_x;
        let chip_of_core = core_ids
            .iter()
            .map(|&id| {
                let tile = id / config.mesh.cores_per_tile.max(1);
                geo.chip_of((tile % tiles_x, tile / tiles_x))
            })
            .collect();
        let chips = layout.chips() as usize;
        Ok(SystemSim {
            layout,
            geo,
            chip_of_core,
            finish: vec![0; chips],
        })
    }

    /// The counters of a run's start.
    pub fn initial(&self) -> SystemCounts {
        let chips = self.layout.chips() as usize;
        SystemCounts {
            links: vec![LinkCounts::default(); self.geo.channels()],
            finish_sum: vec![0; chips],
            finish_max: vec![0; chips],
        }
    }

    /// Account one step: the traffic of its `packets` over `geo`, the channels' queueing
    /// `wait` (taken and zeroed) and each chip's finish from the cores' `finish`.
    pub fn account(
        &mut self,
        geo: &Geometry,
        packets: &[Packet],
        wait: &mut [u64],
        finish: &[u64],
        c: &mut SystemCounts,
    ) {
        for p in packets.iter().filter(|p| p.src_tile != p.dst_tile) {
            let busy = self.geo.ser(p.flits);
            self.geo
                .for_crossings(geo.xy(p.src_tile), geo.xy(p.dst_tile), |ch| {
                    let l = &mut c.links[ch as usize];
                    l.packets += 1;
                    l.flits += u64::from(p.flits);
                    l.busy_cycles += busy;
                });
        }
        for (l, w) in c.links.iter_mut().zip(wait.iter_mut()) {
            l.wait_cycles += std::mem::take(w);
        }
        self.finish.fill(0);
        for (&chip, &f) in self.chip_of_core.iter().zip(finish) {
            let x = &mut self.finish[chip as usize];
            *x = (*x).max(f);
        }
        for (chip, &f) in self.finish.iter().enumerate() {
            c.finish_sum[chip] += f;
            c.finish_max[chip] = c.finish_max[chip].max(f);
        }
    }

    /// The energy of the link traffic in `c`, in picojoules.
    pub fn energy_pj(&self, c: &SystemCounts) -> f64 {
        c.links
            .iter()
            .map(|l| self.layout.link.energy_pj(l.packets, l.flits))
            .sum()
    }

    /// The chip a channel leaves and the chip it leads to (`None`: off the system).
    pub fn ends(&self, channel: usize) -> Option<(u32, u32)> {
        let (chip, dir) = ((channel / 4) as u32, (channel % 4) as u32);
        let (w, h) = (self.layout.chips_x, self.layout.chips_y);
        let (x, y) = (chip % w, chip / w);
        let to = match dir {
            0 if x + 1 < w => chip + 1,
            1 if x > 0 => chip - 1,
            2 if y > 0 => chip - w,
            3 if y + 1 < h => chip + w,
            _ => return None,
        };
        Some((chip, to))
    }
}
