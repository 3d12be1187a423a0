//! The compile report's multi-chip section: cores used on every chip and the traffic the
//! placement sends over chip-to-chip links.
//!
//! Traffic is the placer's own measure (one packet per synapse-memory row per source
//! spike, every neuron spiking once), split by whether a packet's source and target
//! cores sit on different chips. Inputs enter from outside the system and are not
//! counted here.

use crate::context::Compilation;
use crate::error::group;
use serde::{Deserialize, Serialize};
use std::fmt::Write;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemReport {
    pub system: String,
    pub chips: u32,
    pub cores_per_chip: u32,
    /// Cores in use on each chip, by chip id (`y · chips_x + x`).
    pub cores_used: Vec<u32>,
    /// What the placer charged for one chip-to-chip link crossing, in on-chip hops.
    pub link_weight: u32,
    /// Packets between neurons on different chips when every neuron spikes once, and the
    /// same weighted by the links each crosses.
    pub chip_to_chip_packets: u64,
    pub link_crossings: u64,
    /// Packets between neurons on different cores (any chip), for comparison.
    pub core_to_core_packets: u64,
}

/// The section for a system compilation (`None` on a single chip).
pub fn build(c: &Compilation) -> Option<SystemReport> {
    let l = c.system.as_ref()?;
    let place = c.placement.as_ref()?;
    let t = crate::passes::place::traffic(c);
    let chip_of = |core: u32| l.chip_of_tile(c.tile_of(core));
    let mut cores_used = vec![0u32; l.chips() as usize];
    for &core in &place.core_of_bin {
        cores_used[chip_of(core) as usize] += 1;
    }
    let (mut chip_packets, mut crossings, mut core_packets) = (0u64, 0u64, 0u64);
    for (a, adj) in t.adj.iter().enumerate() {
        for &(b, w) in adj {
            if (b as usize) <= a {
                continue;
            }
            let (ka, kb) = (place.core_of_bin[a], place.core_of_bin[b as usize]);
            let x = u64::from(l.crossings(c.tile_of(ka), c.tile_of(kb)));
            core_packets += w;
            if x > 0 {
                chip_packets += w;
                crossings += w * x;
            }
        }
    }
    Some(SystemReport {
        system: l.name.clone(),
        chips: l.chips(),
        cores_per_chip: c.chip.cores() / l.chips().max(1),
        cores_used,
        link_weight: c.link_weight(),
        chip_to_chip_packets: chip_packets,
        link_crossings: crossings,
        core_to_core_packets: core_packets,
    })
}

impl SystemReport {
    pub fn text(&self, s: &mut String) {
        let used: Vec<String> = self.cores_used.iter().map(|u| u.to_string()).collect();
        let _ = writeln!(
            s,
            "  system `{}`: {} chips of {} cores; cores used per chip: {}",
            self.system,
            self.chips,
            self.cores_per_chip,
            used.join(", ")
        );
        let _ = writeln!(
            s,
            "  chip-to-chip: {} of {} core-to-core packets per spike round cross chips, {} link crossings (a crossing weighs {} hops in placement)",
            group(self.chip_to_chip_packets),
            group(self.core_to_core_packets),
            group(self.link_crossings),
            self.link_weight
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::testutil::*;
    use crate::{compile_str_on_system, program::MappingHints, Compiled};
    use amine_chip::system::SystemConfig;
    use amine_chip::ChipConfig;
    use std::path::Path;

    /// A chain of `n` layers, each filling one core of the chip below.
    fn chain(n: usize) -> String {
        let pops: Vec<String> = (0..n).map(|i| pop(&format!("l{i}"), 64, "Mixed")).collect();
        let projs: Vec<String> = (1..n)
            .map(|i| {
                format!(
                    r#"(from: "l{}", to: "l{i}", connect: OneToOne, weight: Some(Const(1.0)))"#,
                    i - 1
                )
            })
            .collect();
        program(&pops, "", &projs.join(", "))
    }

    /// 2 × 2 tiles of one core with 64 compartments.
    fn small() -> ChipConfig {
        chip(|c| {
            c.mesh.tiles_x = 2;
            c.mesh.tiles_y = 2;
            c.mesh.cores_per_tile = 1;
            c.core.compartments = 64;
        })
    }

    fn system(topology: &str) -> SystemConfig {
        SystemConfig::from_ron(
            &format!("System(name: \"s\", chip: \"tiny\", topology: {topology}, link: (latency_ns: 100.0, energy_pj_per_packet: 50.0, energy_pj_per_flit: 10.0, flit_bits: 32, bandwidth_gbit_s: 2.0))"),
            "s.ron",
        )
        .unwrap()
    }

    fn on(sys: &SystemConfig, text: &str) -> Result<Compiled, crate::Error> {
        compile_str_on_system(
            text,
            "t.ron",
            Path::new("."),
            sys,
            &small(),
            MappingHints::default(),
        )
    }

    #[test]
    fn a_one_chip_system_compiles_exactly_like_its_chip() {
        let text = chain(4);
        let a = compile_text(&text, &small()).unwrap();
        let b = on(&system("Links(chips: 1, links: [])"), &text).unwrap();
        assert_eq!(a.image, b.image);
        let mut rb = b.report.clone();
        let sys = rb.system.take().unwrap();
        assert_eq!(a.report, rb);
        assert_eq!((sys.cores_used, sys.chip_to_chip_packets), (vec![4], 0));
    }

    #[test]
    fn a_chain_over_two_chips_crosses_the_link_once_and_placement_pays_for_it() {
        // 8 layers on 2 chips of 4 cores: every core used, and the best placement crosses
        // the link once (64 packets per spike round: one per neuron of the crossing layer).
        let c = on(&system("Mesh(chips_x: 2, chips_y: 1)"), &chain(8)).unwrap();
        let s = c.report.system.clone().unwrap();
        assert_eq!(s.cores_used, vec![4, 4]);
        assert_eq!(s.core_to_core_packets, 7 * 64);
        assert_eq!((s.chip_to_chip_packets, s.link_crossings), (64, 64));
        // (50 + 10) pJ over the mean (3.0 + 4.0) / 2 pJ hop of the tiny chip's costs.
        let k = &small().costs;
        let expect = (60.0 / (0.5 * (k.hop_ew.energy_pj + k.hop_ns.energy_pj))).round() as u32;
        assert_eq!(s.link_weight, expect.max(1));
        // The placement cost charges every crossing: recomputed from the core positions,
        // with chip x = tile x / 2 on this 4 × 2-tile virtual mesh.
        let comp = &c.compilation;
        let core_of = &comp.placement.as_ref().unwrap().core_of_bin;
        let t = crate::passes::place::traffic(comp);
        let mut cost = 0u64;
        for (a, adj) in t.adj.iter().enumerate() {
            for &(b, w) in adj.iter().filter(|(b, _)| *b as usize > a) {
                let (pa, pb) = (comp.tile_of(core_of[a]), comp.tile_of(core_of[b as usize]));
                let hops = pa.0.abs_diff(pb.0) + pa.1.abs_diff(pb.1);
                let links = (pa.0 / 2).abs_diff(pb.0 / 2);
                cost += w * u64::from(hops + s.link_weight * links);
            }
        }
        assert_eq!(c.report.placement.cost, cost);
        assert!(cost >= 7 * 64 + u64::from(s.link_weight) * 64);
    }

    #[test]
    fn a_network_larger_than_the_system_is_refused_with_its_figures() {
        let e = on(&system("Mesh(chips_x: 2, chips_y: 1)"), &chain(9))
            .unwrap_err()
            .to_string();
        for figure in ["576 compartments", "s (2 × tiny) allows 512"] {
            assert!(e.contains(figure), "{e}");
        }
    }
}
