//! Multi-chip systems: chips of one configuration on a board mesh or joined by named
//! links, with the cost of a chip-to-chip link.
//!
//! A [`SystemConfig`] names its chip by preset or chip-config file (the chip's own
//! limits and costs apply on every position), a [`Topology`] and one [`LinkConfig`] for
//! every link. [`SystemConfig::problems`] lists every inconsistency (no chips, links to
//! chips that do not exist, self or repeated links, chips no link reaches, non-finite or
//! negative costs, zero bandwidth); presets for published Loihi systems are embedded.
//!
//! **Status:** the description, its checks, its presets, the chip-to-chip distance
//! ([`SystemConfig::hops`]), the layout as one virtual mesh
//! ([`crate::system_layout`], which the compiler places over) and the link's timing and
//! pricing ([`LinkConfig`], which the simulator's link model uses) exist.

use crate::error::{Error, ErrorKind, Problem};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, VecDeque};

/// Most chips a system may have (Loihi's hierarchical addressing: 16,384 chips, Davies et
/// al., IEEE Micro 2018).
pub const MAX_CHIPS: u32 = 16_384;

/// A board or rack of chips.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename = "System")]
pub struct SystemConfig {
    pub name: String,
    /// The chip on every position: a preset name or a chip-config file.
    pub chip: String,
    pub topology: Topology,
    /// Every chip-to-chip link's figures.
    pub link: LinkConfig,
}

/// How the chips are joined.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Topology {
    /// `chips_x × chips_y` chips, chip `y · chips_x + x` at (x, y), each linked to its
    /// four neighbours.
    Mesh { chips_x: u32, chips_y: u32 },
    /// `chips` chips and the listed bidirectional links between them.
    Links { chips: u32, links: Vec<(u32, u32)> },
}

/// One chip-to-chip link, the same in both directions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkConfig {
    /// Latency of a packet over the link, excluding serialisation.
    pub latency_ns: f64,
    /// Energy per packet crossing the link, plus per flit.
    pub energy_pj_per_packet: f64,
    pub energy_pj_per_flit: f64,
    /// Bits of one flit on the link and the link's bandwidth: a packet of `f` flits
    /// occupies it for `f · flit_bits / bandwidth` (serialisation).
    pub flit_bits: u32,
    pub bandwidth_gbit_s: f64,
}

impl LinkConfig {
    /// Nanoseconds a packet of `flits` flits occupies the link.
    pub fn serialisation_ns(&self, flits: u32) -> f64 {
        f64::from(flits) * f64::from(self.flit_bits) / self.bandwidth_gbit_s
    }

    /// [`Self::serialisation_ns`] in cycles of a `clock_hz` clock, rounded up.
    pub fn serialisation_cycles(&self, flits: u32, clock_hz: u64) -> u64 {
        ns_to_cycles(self.serialisation_ns(flits), clock_hz)
    }

    /// The link's latency in cycles of a `clock_hz` clock, rounded up.
    pub fn latency_cycles(&self, clock_hz: u64) -> u64 {
        ns_to_cycles(self.latency_ns, clock_hz)
    }

    /// Energy of `packets` packets of `flits` flits in all crossing the link: the one
    /// pricing of chip-to-chip traffic.
    pub fn energy_pj(&self, packets: u64, flits: u64) -> f64 {
        packets as f64 * self.energy_pj_per_packet + flits as f64 * self.energy_pj_per_flit
    }
}

/// `ns` nanoseconds in whole cycles of a `clock_hz` clock, rounded up (a product within
/// 10⁻⁹ of a whole number counts as that number, so 16 ns at 10 GHz is 160 cycles).
fn ns_to_cycles(ns: f64, clock_hz: u64) -> u64 {
    let c = ns * clock_hz as f64 / 1e9;
    let r = c.round();
    if (c - r).abs() < 1e-9 {
        r as u64
    } else {
        c.ceil() as u64
    }
}

/// Name and RON text of each embedded system preset.
pub const SYSTEM_PRESETS: &[(&str, &str)] = &[
    (
        "kapoho-bay",
        include_str!("../../../chip-configs/systems/kapoho_bay.ron"),
    ),
    (
        "nahuku-8",
        include_str!("../../../chip-configs/systems/nahuku_8.ron"),
    ),
    (
        "nahuku-32",
        include_str!("../../../chip-configs/systems/nahuku_32.ron"),
    ),
    (
        "board-2x4",
        include_str!("../../../chip-configs/systems/board_2x4.ron"),
    ),
];

/// The embedded system preset called `name`, parsed and checked.
pub fn preset(name: &str) -> Result<SystemConfig, Error> {
    let (_, text) = SYSTEM_PRESETS
        .iter()
        .find(|(n, _)| *n == name)
        .ok_or_else(|| {
            Error::new(ErrorKind::UnknownPreset {
                name: name.into(),
                known: SYSTEM_PRESETS.iter().map(|(n, _)| *n).collect(),
            })
        })?;
    SystemConfig::from_ron(text, &format!("<system preset {name}>"))
}

impl SystemConfig {
    /// Parse a system description and check it: unknown fields, and every problem of
    /// [`Self::problems`], are errors naming the file and the field.
    pub fn from_ron(text: &str, origin: &str) -> Result<SystemConfig, Error> {
        let s: SystemConfig =
            crate::textfmt::from_ron(text, origin).map_err(|e| Error::new(ErrorKind::Syntax(e)))?;
        let problems = s.problems();
        if problems.is_empty() {
            Ok(s)
        } else {
            Err(Error::new(ErrorKind::Invalid {
                origin: origin.to_string(),
                problems,
            }))
        }
    }

    /// `"mesh W × H"` or `"links"`.
    pub fn topology_kind(&self) -> String {
        match &self.topology {
            Topology::Mesh { chips_x, chips_y } => format!("mesh {chips_x} × {chips_y}"),
            Topology::Links { .. } => "links".into(),
        }
    }

    /// Number of chips.
    pub fn chips(&self) -> u32 {
        match &self.topology {
            Topology::Mesh { chips_x, chips_y } => chips_x.saturating_mul(*chips_y),
            Topology::Links { chips, .. } => *chips,
        }
    }

    /// Every link once, as (lower chip, higher chip), in increasing order.
    pub fn links(&self) -> Vec<(u32, u32)> {
        match &self.topology {
            Topology::Mesh { chips_x, chips_y } => {
                let (w, h) = (*chips_x, *chips_y);
                let mut v = Vec::new();
                for y in 0..h {
                    for x in 0..w {
                        let c = y * w + x;
                        if x + 1 < w {
                            v.push((c, c + 1));
                        }
                        if y + 1 < h {
                            v.push((c, c + w));
                        }
                    }
                }
                v.sort_unstable();
                v
            }
            Topology::Links { links, .. } => {
                let set: BTreeSet<(u32, u32)> =
                    links.iter().map(|&(a, b)| (a.min(b), a.max(b))).collect();
                set.into_iter().collect()
            }
        }
    }

    /// Links on the shortest path from chip `a` to every chip (`None`: unreachable).
    pub fn hops(&self, a: u32) -> Vec<Option<u32>> {
        let n = self.chips() as usize;
        let mut next = vec![Vec::new(); n];
        for (x, y) in self.links() {
            if (x as usize) < n && (y as usize) < n {
                next[x as usize].push(y);
                next[y as usize].push(x);
            }
        }
        let mut dist = vec![None; n];
        if (a as usize) >= n {
            return dist;
        }
        dist[a as usize] = Some(0);
        let mut queue = VecDeque::from([a]);
        while let Some(c) = queue.pop_front() {
            let d = dist[c as usize].unwrap_or(0);
            for &m in &next[c as usize] {
                if dist[m as usize].is_none() {
                    dist[m as usize] = Some(d + 1);
                    queue.push_back(m);
                }
            }
        }
        dist
    }

    /// Every inconsistency, each located by its field.
    pub fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut push = |field: &str, message: String| {
            out.push(Problem {
                field: field.to_string(),
                message,
            })
        };
        if self.name.trim().is_empty() {
            push("name", "must not be empty".into());
        }
        if self.chip.trim().is_empty() {
            push("chip", "must name a preset or a chip-config file".into());
        }
        let n = u64::from(self.chips());
        let too_many = match &self.topology {
            Topology::Mesh { chips_x, chips_y } => {
                u64::from(*chips_x) * u64::from(*chips_y) > u64::from(MAX_CHIPS)
            }
            Topology::Links { chips, .. } => *chips > MAX_CHIPS,
        };
        if n == 0 {
            push("topology", "a system needs at least one chip".into());
        } else if too_many {
            push(
                "topology",
                format!("more than {MAX_CHIPS} chips cannot be addressed"),
            );
        }
        if let Topology::Links { chips, links } = &self.topology {
            let mut seen = BTreeSet::new();
            for (i, &(a, b)) in links.iter().enumerate() {
                let field = format!("topology.links[{i}]");
                if a >= *chips || b >= *chips {
                    push(
                        &field,
                        format!(
                            "link ({a}, {b}) names a chip the system ({chips} chips) does not have"
                        ),
                    );
                } else if a == b {
                    push(&field, format!("chip {a} is linked to itself"));
                } else if !seen.insert((a.min(b), a.max(b))) {
                    push(&field, format!("chips {a} and {b} are already linked"));
                }
            }
        }
        if n > 0 && !too_many {
            let dist = self.hops(0);
            if let Some(c) = dist.iter().position(Option::is_none) {
                push(
                    "topology",
                    format!("chip {c} cannot be reached from chip 0: no path of links joins them"),
                );
            }
        }
        let l = &self.link;
        for (field, v) in [
            ("link.latency_ns", l.latency_ns),
            ("link.energy_pj_per_packet", l.energy_pj_per_packet),
            ("link.energy_pj_per_flit", l.energy_pj_per_flit),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                push(field, format!("{v} must be finite and not negative"));
            }
        }
        if !(l.bandwidth_gbit_s.is_finite() && l.bandwidth_gbit_s > 0.0) {
            push(
                "link.bandwidth_gbit_s",
                format!("{} must be finite and positive", l.bandwidth_gbit_s),
            );
        }
        if l.flit_bits == 0 {
            push("link.flit_bits", "must be at least 1".into());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(text: &str) -> Vec<String> {
        match SystemConfig::from_ron(text, "s.ron") {
            Ok(_) => panic!("accepted: {text}"),
            Err(e) => match e.kind() {
                ErrorKind::Invalid { problems, .. } => {
                    problems.iter().map(|p| p.field.clone()).collect()
                }
                ErrorKind::Syntax(s) => vec![format!("syntax {:?}", s.field)],
                k => panic!("{k:?}"),
            },
        }
    }

    const LINK: &str = "link: (latency_ns: 100.0, energy_pj_per_packet: 50.0, energy_pj_per_flit: 10.0, flit_bits: 32, bandwidth_gbit_s: 2.0)";

    #[test]
    fn presets_parse_and_have_the_published_chip_counts() {
        let chips: Vec<(String, u32, usize)> = SYSTEM_PRESETS
            .iter()
            .map(|(n, _)| {
                let s = preset(n).unwrap();
                assert_eq!(s.name, *n);
                (s.name.clone(), s.chips(), s.links().len())
            })
            .collect();
        // Chips as published; links of a 2 × 4 mesh: 3 · 2 + 4 = 10, of 8 × 4: 7 · 4 + 8 · 3.
        assert_eq!(
            chips,
            vec![
                ("kapoho-bay".into(), 2, 1),
                ("nahuku-8".into(), 8, 10),
                ("nahuku-32".into(), 32, 52),
                ("board-2x4".into(), 8, 10),
            ]
        );
        assert!(preset("pohoiki").is_err());
    }

    #[test]
    fn mesh_hops_are_manhattan_distances() {
        let s = preset("board-2x4").unwrap();
        // Chip 0 at (0, 0); chip 7 at (3, 1).
        let d: Vec<u32> = s.hops(0).into_iter().map(|d| d.unwrap()).collect();
        assert_eq!(d, vec![0, 1, 2, 3, 1, 2, 3, 4]);
        assert_eq!(s.link.serialisation_ns(2), 32.0);
        // At Loihi's nominal 10 GHz tick: 32 ns, 100 ns; 3 packets of 2 flits each.
        assert_eq!(s.link.serialisation_cycles(2, 10_000_000_000), 320);
        assert_eq!(s.link.serialisation_cycles(1, 3_000_000_000), 48);
        assert_eq!(s.link.latency_cycles(10_000_000_000), 1000);
        assert_eq!(s.link.energy_pj(3, 6), 3.0 * 50.0 + 6.0 * 10.0);
    }

    #[test]
    fn bad_descriptions_name_their_fields() {
        let sys = |topology: &str, link: &str| {
            format!("System(name: \"s\", chip: \"loihi\", topology: {topology}, {link})")
        };
        assert_eq!(
            fields(&sys(
                "Links(chips: 3, links: [(0, 1), (1, 3), (2, 2), (1, 0)])",
                LINK
            )),
            vec![
                "topology.links[1]",
                "topology.links[2]",
                "topology.links[3]",
                "topology"
            ]
        );
        assert_eq!(
            fields(&sys("Mesh(chips_x: 0, chips_y: 4)", LINK)),
            vec!["topology"]
        );
        assert_eq!(
            fields(&sys("Mesh(chips_x: 200, chips_y: 200)", LINK)),
            vec!["topology"]
        );
        let bad_link = LINK
            .replace("100.0", "-1.0")
            .replace("2.0)", "0.0)")
            .replace("32", "0");
        assert_eq!(
            fields(&sys("Mesh(chips_x: 2, chips_y: 1)", &bad_link)),
            vec!["link.latency_ns", "link.bandwidth_gbit_s", "link.flit_bits"]
        );
        let unknown =
            sys("Mesh(chips_x: 2, chips_y: 1)", LINK).replace("chip:", "chip_count: 2, chip:");
        assert_eq!(fields(&unknown), vec!["syntax Some(\"chip_count\")"]);
        let nan = LINK.replace("50.0", "NaN");
        assert_eq!(
            fields(&sys("Mesh(chips_x: 2, chips_y: 1)", &nan)),
            vec!["link.energy_pj_per_packet"]
        );
    }
}
