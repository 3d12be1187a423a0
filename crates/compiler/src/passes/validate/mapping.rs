//! Validation of the mapping hints (`mapping` in a program, or a hints file and flags on
//! the command line): every name is a population, every number is in range, no hint
//! asks for more than a core or the chip has (a hardware-limit error naming the hint,
//! the limit and the value) and no two hints contradict each other (a problem naming
//! both).

use super::{limit, NodeKind};
use crate::context::Compilation;
use crate::error::{group, plural_s, LimitExceeded, Problem};
use std::collections::{BTreeMap, BTreeSet};

pub(super) fn check(c: &Compilation, p: &mut Vec<Problem>, limits: &mut Vec<LimitExceeded>) {
    let h = &c.program.mapping;
    colocate_groups(c, p);
    per_core_caps(c, p, limits);
    // `cores` and `place` spread a population over its own cores.
    let mut owner: BTreeMap<u32, &str> = BTreeMap::new();
    let names: BTreeSet<&String> = h.cores.keys().chain(h.place.keys()).collect();
    for name in names {
        let place = h.place.get(name);
        let s = Spread {
            name,
            at: match place {
                Some(_) => format!("mapping.place[\"{name}\"]"),
                None => format!("mapping.cores[\"{name}\"]"),
            },
            cores: h.cores.get(name),
            place,
        };
        let Some(size) = size_of(c, &s.at, name, p) else {
            continue;
        };
        if let Some(list) = place {
            placed_cores(c, &s, list, &mut owner, p, limits);
        }
        spread_fits(c, &s, size, p, limits);
    }
}

/// A hint's population, by name (a problem if there is none): its size.
fn size_of(c: &Compilation, at: &str, name: &str, p: &mut Vec<Problem>) -> Option<u32> {
    match c.node(name).map(|n| (c.nodes[n].kind, c.nodes[n].size)) {
        Some((NodeKind::Population(_), size)) => Some(size),
        _ => {
            p.push(Problem::new(at, format!("no population `{name}`")));
            None
        }
    }
}

/// Every colocated name is a population, in one group only.
fn colocate_groups(c: &Compilation, p: &mut Vec<Problem>) {
    let mut grouped = BTreeSet::new();
    for (g, names) in c.program.mapping.colocate.iter().enumerate() {
        let at = format!("mapping.colocate[{g}]");
        for name in names {
            if size_of(c, &at, name, p).is_some() && !grouped.insert(name) {
                p.push(Problem::new(
                    &at,
                    format!("`{name}` is in more than one group"),
                ));
            }
        }
    }
}

/// A hint of `n` compartments a core asks for no more than a core has.
fn per_core(c: &Compilation, at: String, n: u32, limits: &mut Vec<LimitExceeded>) {
    let core = &c.chip.core;
    if n > core.compartments {
        limits.push(limit(
            c,
            "core.compartments",
            format!("hint {at} = {}", group(n as u64)),
            n as u64,
            core.compartments as u64,
            "ask for at most a core's compartments",
        ));
    }
}

/// `max_compartments_per_core` and `max_per_core`: at least 1, at most a core.
fn per_core_caps(c: &Compilation, p: &mut Vec<Problem>, limits: &mut Vec<LimitExceeded>) {
    let h = &c.program.mapping;
    if let Some(n) = h.max_compartments_per_core {
        let at = "mapping.max_compartments_per_core";
        if n == 0 {
            p.push(Problem::new(at, "must be at least 1"));
        }
        per_core(c, at.into(), n, limits);
    }
    for (name, &n) in &h.max_per_core {
        let at = format!("mapping.max_per_core[\"{name}\"]");
        if size_of(c, &at, name, p).is_some() {
            if n == 0 {
                p.push(Problem::new(&at, "must be at least 1"));
            }
            per_core(c, at, n, limits);
        }
    }
}

/// A population spread over its own cores by `cores` and/or `place`.
struct Spread<'a> {
    name: &'a String,
    /// The hint named in problems: `place` if given, else `cores`.
    at: String,
    cores: Option<&'a u32>,
    place: Option<&'a Vec<u32>>,
}

/// The cores `place` lists exist and belong to no other population, and agree with
/// `cores`.
fn placed_cores<'a>(
    c: &Compilation,
    s: &Spread<'a>,
    list: &[u32],
    owner: &mut BTreeMap<u32, &'a str>,
    p: &mut Vec<Problem>,
    limits: &mut Vec<LimitExceeded>,
) {
    let (at, name) = (&s.at, s.name);
    for &k in list {
        if k >= c.chip.cores() {
            limits.push(limit(
                c,
                "chip.cores",
                format!("hint {at} (core {k})"),
                k as u64 + 1,
                c.chip.cores() as u64,
                "place populations on cores the chip has",
            ));
        } else if let Some(other) = owner.insert(k, name) {
            p.push(Problem::new(
                at,
                format!("core {k} is also given to `{other}` by mapping.place"),
            ));
        }
    }
    if let Some(&n) = s.cores.filter(|&&n| n as usize != list.len()) {
        p.push(Problem::new(
            at,
            format!(
                "lists {} cores, but mapping.cores[\"{name}\"] = {n}",
                list.len()
            ),
        ));
    }
}

/// The spread's cores: at least one, no more than neurons or the chip's cores, each
/// slice within a core and the population's caps, the same as its colocated ones'.
fn spread_fits(
    c: &Compilation,
    s: &Spread,
    size: u32,
    p: &mut Vec<Problem>,
    limits: &mut Vec<LimitExceeded>,
) {
    let (h, core) = (&c.program.mapping, &c.chip.core);
    let (at, name, place) = (&s.at, s.name, s.place);
    let n = place.map_or(s.cores.copied().unwrap_or(0), |l| l.len() as u32);
    let value = match place {
        Some(l) => format!("{l:?}"),
        None => n.to_string(),
    };
    if n == 0 {
        p.push(Problem::new(at, "needs at least one core"));
        return;
    }
    if n > size {
        p.push(Problem::new(
            at,
            format!("{n} cores for the {size} neurons of `{name}`"),
        ));
        return;
    }
    if place.is_none() && n > c.chip.cores() {
        limits.push(limit(
            c,
            "chip.cores",
            format!("hint {at} = {value}"),
            n as u64,
            c.chip.cores() as u64,
            "ask for at most the chip's cores",
        ));
    }
    let per = size.div_ceil(n);
    if per > core.compartments {
        limits.push(limit(
            c,
            "core.compartments",
            format!(
                "hint {at} = {value} ({} neurons of `{name}` a core)",
                group(per as u64)
            ),
            per as u64,
            core.compartments as u64,
            "give the population more cores",
        ));
    }
    let caps = [
        (
            "mapping.max_compartments_per_core".to_string(),
            h.max_compartments_per_core,
        ),
        (
            format!("mapping.max_per_core[\"{name}\"]"),
            h.max_per_core.get(name).copied(),
        ),
    ];
    for (other, cap) in caps {
        if let Some(m) = cap.filter(|&m| m > 0 && per > m) {
            p.push(Problem::new(
                at,
                format!(
                    "{n} core{} put{} {} neurons of `{name}` on a core, but {other} = {m}",
                    plural_s(n as u64),
                    if n == 1 { "s" } else { "" },
                    group(per as u64)
                ),
            ));
        }
    }
    // Colocated populations share their slices: their hints must agree.
    if let Some(g) = h.colocate.iter().find(|g| g.contains(name)) {
        for m in g.iter().filter(|m| *m != name) {
            if h.cores_of(m) != Some(n) || h.place.get(m) != place {
                p.push(Problem::new(
                    at,
                    format!(
                        "`{name}` is colocated with `{m}` (mapping.colocate), which is not spread over the same cores"
                    ),
                ));
            }
        }
    }
}
