//! The run report's multi-chip section (`report.json` field `system`, and a table in the
//! terminal summary): energy and finishing cycles per chip, traffic, energy, use and
//! queueing per chip-to-chip link direction.

use crate::engine::Simulator;
use crate::links::SystemCounts;
use crate::report::{energy, group, nanos, CoreEnergy};
use amine_chip::system::LinkConfig;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// A run over a multi-chip system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemRun {
    pub system: String,
    pub chips_x: u32,
    pub chips_y: u32,
    /// The link's figures (from the system description) and, at the chip's clock, its
    /// latency and the serialisation of a spike packet in cycles.
    pub link: LinkConfig,
    pub link_latency_cycles: u64,
    pub spike_serialisation_cycles: u64,
    /// Energy of every link crossing (part of the NoC component).
    pub links_pj: f64,
    pub per_chip: Vec<ChipRun>,
    /// Every direction of every link, by the chip it leaves (then east, west, north,
    /// south).
    pub per_link: Vec<LinkRun>,
}

/// One chip of the system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChipRun {
    pub chip: u32,
    /// Cores of the image on this chip.
    pub cores: u32,
    /// Dynamic energy of those cores (as `energy.per_core`).
    pub dynamic_pj: f64,
    /// Energy of the packets sent over the links leaving this chip.
    pub links_out_pj: f64,
    /// When the chip's last core was done in a step (neuron update, spike out, received
    /// packets, learning), mean and largest over the steps, in cycles and ns.
    pub finish_mean_cycles: f64,
    pub finish_max_cycles: u64,
    pub finish_mean_ns: f64,
    pub finish_max_ns: f64,
}

/// One direction of one chip-to-chip link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkRun {
    pub from: u32,
    pub to: u32,
    pub packets: u64,
    pub flits: u64,
    /// `energy_pj_per_packet · packets + energy_pj_per_flit · flits`.
    pub energy_pj: f64,
    /// Cycles spent sending (serialisation), and that over the simulated time.
    pub busy_cycles: u64,
    pub utilisation: f64,
    /// Cycles packets waited for the link (cycle mode: measured; analytic: estimated),
    /// in all and per packet.
    pub wait_cycles: u64,
    pub mean_wait_cycles: f64,
}

/// The section of a run over `sim`'s system (`None` on one chip).
pub(crate) fn build(
    sim: &Simulator,
    counts: Option<&SystemCounts>,
    per_core: &[CoreEnergy],
    simulated_cycles: u64,
    steps: u64,
) -> Option<SystemRun> {
    let (sys, c) = (sim.system()?, counts?);
    let clock = sim.config().mesh.clock_hz as f64;
    let ns = |cycles: f64| cycles / clock * 1e9;
    let link = &sys.layout.link;
    let per_link: Vec<LinkRun> = c
        .links
        .iter()
        .enumerate()
        .filter_map(|(ch, l)| {
            let (from, to) = sys.ends(ch)?;
            Some(LinkRun {
                from,
                to,
                packets: l.packets,
                flits: l.flits,
                energy_pj: link.energy_pj(l.packets, l.flits),
                busy_cycles: l.busy_cycles,
                utilisation: ratio(l.busy_cycles as f64, simulated_cycles as f64),
                wait_cycles: l.wait_cycles,
                mean_wait_cycles: ratio(l.wait_cycles as f64, l.packets as f64),
            })
        })
        .collect();
    let per_chip = (0..sys.layout.chips())
        .map(|chip| {
            let mine = sys.chip_of_core.iter().zip(per_core);
            let mine: Vec<&CoreEnergy> = mine.filter(|(&k, _)| k == chip).map(|x| x.1).collect();
            let mean = ratio(c.finish_sum[chip as usize] as f64, steps as f64);
            let max = c.finish_max[chip as usize];
            ChipRun {
                chip,
                cores: mine.len() as u32,
                dynamic_pj: total(mine.iter().map(|e| e.total_pj)),
                links_out_pj: total(
                    per_link
                        .iter()
                        .filter(|l| l.from == chip)
                        .map(|l| l.energy_pj),
                ),
                finish_mean_cycles: mean,
                finish_max_cycles: max,
                finish_mean_ns: ns(mean),
                finish_max_ns: ns(max as f64),
            }
        })
        .collect();
    Some(SystemRun {
        system: sys.layout.name.clone(),
        chips_x: sys.layout.chips_x,
        chips_y: sys.layout.chips_y,
        link: link.clone(),
        link_latency_cycles: sys.geo.latency,
        spike_serialisation_cycles: sys.geo.ser(sim.config().router.spike_packet_flits),
        links_pj: sys.energy_pj(c),
        per_chip,
        per_link,
    })
}

/// `a / b`, 0 when `b` is 0.
/// A sum of energies that is `+0.0` when there is nothing to add (`Iterator::sum` over
/// `f64` starts from `-0.0`, which the report would print as `-0.0 pJ`).
fn total(it: impl Iterator<Item = f64>) -> f64 {
    it.fold(0.0, |a, x| a + x)
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        0.0
    }
}

impl SystemRun {
    /// The summary's system table: a row per chip, a row per link direction that
    /// carried traffic.
    pub fn text(&self, w: &mut String) {
        let _ = writeln!(
            w,
            "system `{}`: {} × {} chips, links {} + {} serialisation per spike, {} in all",
            self.system,
            self.chips_x,
            self.chips_y,
            nanos(self.link.latency_ns),
            nanos(self.link.serialisation_ns(1)),
            energy(self.links_pj)
        );
        let _ = writeln!(
            w,
            "  {:<8}{:>7}{:>14}{:>14}{:>16}{:>16}",
            "chip", "cores", "dynamic", "links out", "finish mean", "finish max"
        );
        for c in &self.per_chip {
            let _ = writeln!(
                w,
                "  {:<8}{:>7}{:>14}{:>14}{:>16}{:>16}",
                c.chip,
                c.cores,
                energy(c.dynamic_pj),
                energy(c.links_out_pj),
                nanos(c.finish_mean_ns),
                nanos(c.finish_max_ns)
            );
        }
        let _ = writeln!(
            w,
            "  {:<8}{:>12}{:>14}{:>9}{:>16}",
            "link", "packets", "energy", "busy", "wait / packet"
        );
        for l in self.per_link.iter().filter(|l| l.packets > 0) {
            let _ = writeln!(
                w,
                "  {:<8}{:>12}{:>14}{:>8.2}%{:>16}",
                format!("{} → {}", l.from, l.to),
                group(l.packets),
                energy(l.energy_pj),
                100.0 * l.utilisation,
                format!("{:.1} cyc", l.mean_wait_cycles)
            );
        }
        if self.per_link.iter().all(|l| l.packets == 0) {
            let _ = writeln!(w, "  (no packet crossed a link)");
        }
    }
}
