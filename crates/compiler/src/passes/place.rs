//! Pass 6, place: bins → physical cores, minimising spike traffic × hop distance.
//!
//! Decides the core of every bin and the entry tile of every input. The traffic between
//! two bins is the number of rows one holds for sources in the other: each is one packet
//! per source spike, and with no rates known every neuron is assumed to spike equally
//! often. The cost of a placement is Σ traffic × XY hops between the bins' tiles (cores on
//! one tile are 0 hops apart); on a multi-chip system each chip-to-chip link crossed adds
//! the link's weight in hops (`Compilation::place_distance`). It is an integer, so
//! comparisons are exact and the search is bit-for-bit deterministic.
//!
//! A greedy start puts the most connected bin at the mesh centre and then, one by one,
//! the bin most connected to those already placed on the free core that adds the least
//! cost; a local search then tries moving each bin to every core (swapping with its
//! occupant) in a seeded random order, keeping every improvement, until a sweep improves
//! nothing. Round-robin (bin i → tile i mod T) and in-order (bin i → core i) placements are
//! costed too, for the report. Inputs enter at their given tile or at the weighted median
//! tile of their targets, which minimises their own hop count.

use crate::context::{Compilation, Placement};
use crate::passes::expand::derive_seed;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// Most local-search sweeps; each sweep tries every (bin, core) pair.
const MAX_SWEEPS: usize = 50;
/// Above this many cores, each bin tries only this many random cores per sweep.
const MAX_CANDIDATES: usize = 512;
/// Above this many cores the greedy start (which tries every free core for every bin)
/// gives way to the in-order start.
const MAX_GREEDY_CORES: usize = 4096;
/// Most candidate moves the local search evaluates in all (a count, not a time, so the
/// result stays deterministic).
const MAX_EVALUATIONS: u64 = 20_000_000;

/// Most tiles for which [`Distance`] tabulates every pair (4 M entries, 16 MB).
const MAX_TABLE_TILES: usize = 2048;

/// [`Compilation::place_distance`] between cores, which depends only on their tiles:
/// tabulated once per pair of tiles (the local search asks for it millions of times),
/// or computed on each call above [`MAX_TABLE_TILES`] tiles. The same integers either way.
struct Distance<'a> {
    c: &'a Compilation,
    per_tile: u32,
    tiles: usize,
    table: Vec<u32>,
}

impl<'a> Distance<'a> {
    fn new(c: &'a Compilation) -> Self {
        let per_tile = c.chip.mesh.cores_per_tile.max(1);
        let tiles = c.chip.tiles() as usize;
        let mut table = Vec::new();
        if tiles <= MAX_TABLE_TILES {
            table.reserve(tiles * tiles);
            for a in 0..tiles as u32 {
                for b in 0..tiles as u32 {
                    table.push(c.place_distance(a * per_tile, b * per_tile));
                }
            }
        }
        Distance {
            c,
            per_tile,
            tiles,
            table,
        }
    }

    #[inline]
    fn get(&self, a: u32, b: u32) -> u32 {
        let (ta, tb) = ((a / self.per_tile) as usize, (b / self.per_tile) as usize);
        match self.table.get(ta * self.tiles + tb) {
            Some(&d) if ta < self.tiles && tb < self.tiles => d,
            _ => self.c.place_distance(a, b),
        }
    }
}

/// Symmetric traffic between bins: `adj[a]` lists `(b, packets)`.
pub struct Traffic {
    pub adj: Vec<Vec<(u32, u64)>>,
    /// Per input: packets per spike into each bin.
    pub inputs: Vec<Vec<(u32, u64)>>,
}

pub fn traffic(c: &Compilation) -> Traffic {
    let (Some(part), Some(q)) = (c.partition.as_ref(), c.quant.as_ref()) else {
        return Traffic {
            adj: Vec::new(),
            inputs: Vec::new(),
        };
    };
    let npops = c.program.populations.len();
    let mut pairs: BTreeMap<(u32, u32), u64> = BTreeMap::new();
    let mut inputs: Vec<BTreeMap<u32, u64>> = vec![BTreeMap::new(); c.program.inputs.len()];
    for r in &part.rows {
        let node = q.classes[r.class as usize].source;
        if node < npops {
            let src = part.bin_of[(part.pop_base[node] + r.source) as usize];
            if src != r.bin {
                *pairs.entry((src.min(r.bin), src.max(r.bin))).or_insert(0) += 1;
            }
        } else {
            *inputs[node - npops].entry(r.bin).or_insert(0) += 1;
        }
    }
    crate::passes::partition::shared::packets(c, part, |_, node, a, bin| {
        if node < npops {
            let src = part.bin_of[(part.pop_base[node] + a) as usize];
            if src != bin {
                *pairs.entry((src.min(bin), src.max(bin))).or_insert(0) += 1;
            }
        } else {
            *inputs[node - npops].entry(bin).or_insert(0) += 1;
        }
    });
    let mut adj = vec![Vec::new(); part.bins.len()];
    for ((a, b), w) in pairs {
        adj[a as usize].push((b, w));
        adj[b as usize].push((a, w));
    }
    Traffic {
        adj,
        inputs: inputs
            .into_iter()
            .map(|m| m.into_iter().collect())
            .collect(),
    }
}

/// Σ traffic × hops of a placement (each pair counted once).
pub fn cost(c: &Compilation, t: &Traffic, core_of: &[u32]) -> u64 {
    let d = Distance::new(c);
    let mut sum = 0;
    for (a, list) in t.adj.iter().enumerate() {
        for &(b, w) in list {
            if (b as usize) > a {
                sum += w * d.get(core_of[a], core_of[b as usize]) as u64;
            }
        }
    }
    sum
}

/// Bin i on tile i mod T (its next free core): the spread-out naive placement.
pub fn round_robin(c: &Compilation, bins: usize) -> Vec<u32> {
    let tiles = c.chip.tiles().max(1);
    let per = c.chip.mesh.cores_per_tile;
    (0..bins as u32)
        .map(|i| (i % tiles) * per + i / tiles)
        .collect()
}

pub fn run(c: &mut Compilation) -> Result<(), crate::Error> {
    let t = traffic(c);
    let bins = t.adj.len();
    let cores = c.chip.cores() as usize;
    let pinned: Vec<Option<u32>> = c
        .partition
        .as_ref()
        .map_or(Vec::new(), |p| p.bins.iter().map(|b| b.pinned).collect());
    let mut core_of = if cores <= MAX_GREEDY_CORES || pinned.iter().any(Option::is_some) {
        greedy(c, &t, cores, &pinned)
    } else {
        (0..bins as u32).collect()
    };
    improve(c, &t, &mut core_of, cores, &pinned);
    let sequential: Vec<u32> = (0..bins as u32).collect();
    let entry_tiles = entry_tiles(c, &t, &core_of);
    c.placement = Some(Placement {
        cost: cost(c, &t, &core_of),
        round_robin_cost: cost(c, &t, &round_robin(c, bins)),
        sequential_cost: cost(c, &t, &sequential),
        core_of_bin: core_of,
        entry_tiles,
    });
    Ok(())
}

/// Cost of bin `a` at `core` against every placed neighbour except `skip`.
fn local(d: &Distance, t: &Traffic, core_of: &[u32], a: usize, core: u32, skip: usize) -> i64 {
    t.adj[a]
        .iter()
        .filter(|&&(b, _)| b as usize != skip && core_of[b as usize] != u32::MAX)
        .map(|&(b, w)| (w * d.get(core, core_of[b as usize]) as u64) as i64)
        .sum()
}

fn greedy(c: &Compilation, t: &Traffic, cores: usize, pinned: &[Option<u32>]) -> Vec<u32> {
    let bins = t.adj.len();
    let d = Distance::new(c);
    let mut core_of = vec![u32::MAX; bins];
    let mut used = vec![false; cores];
    let mut pull = vec![0u64; bins];
    // Bins a `place` hint pins go first, where they are told.
    let mut placed = 0;
    for (a, p) in pinned.iter().enumerate() {
        if let Some(k) = *p {
            core_of[a] = k;
            used[k as usize] = true;
            placed += 1;
            for &(b, w) in &t.adj[a] {
                pull[b as usize] += w;
            }
        }
    }
    let weight = |a: usize| t.adj[a].iter().map(|e| e.1).sum::<u64>();
    let (cx, cy) = (
        c.chip.mesh.tiles_x.saturating_sub(1) / 2,
        c.chip.mesh.tiles_y.saturating_sub(1) / 2,
    );
    for step in placed..bins {
        // The unplaced bin most connected to the placed ones (the heaviest first).
        let a = (0..bins)
            .filter(|&a| core_of[a] == u32::MAX)
            .max_by_key(|&a| (pull[a], weight(a), std::cmp::Reverse(a)))
            .unwrap_or(0);
        let best = (0..cores as u32)
            .filter(|&k| !used[k as usize])
            .min_by_key(|&k| {
                let (x, y) = c.tile_of(k);
                let centre = x.abs_diff(cx) + y.abs_diff(cy);
                let cost = if step == 0 {
                    0
                } else {
                    local(&d, t, &core_of, a, k, usize::MAX)
                };
                (cost, centre, k)
            })
            .unwrap_or(0);
        core_of[a] = best;
        used[best as usize] = true;
        for &(b, w) in &t.adj[a] {
            pull[b as usize] += w;
        }
    }
    core_of
}

fn improve(
    c: &Compilation,
    t: &Traffic,
    core_of: &mut [u32],
    cores: usize,
    pinned: &[Option<u32>],
) {
    let fixed = |a: usize| pinned.get(a).is_some_and(Option::is_some);
    let bins = core_of.len();
    if bins < 2 {
        return;
    }
    let d = Distance::new(c);
    let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(c.program.seed, 0x9_1ace));
    let mut occupant = vec![u32::MAX; cores];
    for (a, &k) in core_of.iter().enumerate() {
        occupant[k as usize] = a as u32;
    }
    let mut order: Vec<usize> = (0..bins).collect();
    let mut all_cores: Vec<u32> = (0..cores as u32).collect();
    let mut budget = MAX_EVALUATIONS;
    for _ in 0..MAX_SWEEPS {
        let mut improved = false;
        order.shuffle(&mut rng);
        for &a in &order {
            if fixed(a) {
                continue;
            }
            all_cores.shuffle(&mut rng);
            for &k in all_cores.iter().take(MAX_CANDIDATES) {
                let from = core_of[a];
                if k == from {
                    continue;
                }
                if budget == 0 {
                    return;
                }
                budget -= 1;
                let b = occupant[k as usize];
                if b != u32::MAX && fixed(b as usize) {
                    continue;
                }
                let skip = if b == u32::MAX {
                    usize::MAX
                } else {
                    b as usize
                };
                let mut delta =
                    local(&d, t, core_of, a, k, skip) - local(&d, t, core_of, a, from, skip);
                if b != u32::MAX {
                    let b = b as usize;
                    delta += local(&d, t, core_of, b, from, a) - local(&d, t, core_of, b, k, a);
                }
                if delta < 0 {
                    core_of[a] = k;
                    occupant[k as usize] = a as u32;
                    occupant[from as usize] = b;
                    if b != u32::MAX {
                        core_of[b as usize] = from;
                    }
                    improved = true;
                }
            }
        }
        if !improved {
            break;
        }
    }
}

/// Weighted lower median of `(value, weight)` pairs.
fn median(mut v: Vec<(u32, u64)>) -> u32 {
    v.sort_unstable();
    let total: u64 = v.iter().map(|e| e.1).sum();
    let mut acc = 0;
    for (x, w) in &v {
        acc += w;
        if 2 * acc >= total {
            return *x;
        }
    }
    0
}

fn entry_tiles(c: &Compilation, t: &Traffic, core_of: &[u32]) -> Vec<(u32, u32)> {
    c.program
        .inputs
        .iter()
        .zip(&t.inputs)
        .map(|(input, targets)| {
            input.entry_tile.unwrap_or_else(|| {
                let tiles: Vec<((u32, u32), u64)> = targets
                    .iter()
                    .map(|&(b, w)| (c.tile_of(core_of[b as usize]), w))
                    .collect();
                let x = median(tiles.iter().map(|&((x, _), w)| (x, w)).collect());
                let y = median(tiles.iter().map(|&((_, y), w)| (y, w)).collect());
                (x, y)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_median_minimises_distance() {
        assert_eq!(median(vec![(0, 1), (5, 1), (9, 1)]), 5);
        assert_eq!(median(vec![(0, 10), (5, 1), (9, 1)]), 0);
        assert_eq!(median(vec![]), 0);
    }

    use crate::testutil::*;

    /// A chain of 16 layers, each filling one tiny core: neighbours in the chain talk.
    fn chain() -> String {
        let pops: Vec<String> = (0..16)
            .map(|i| pop(&format!("l{i}"), 64, "Mixed"))
            .collect();
        let projs: Vec<String> = (0..15)
            .map(|i| {
                format!(
                    r#"(from: "l{i}", to: "l{}", connect: OneToOne, weight: Some(Const(1.0)))"#,
                    i + 1
                )
            })
            .collect();
        program(&pops, "", &projs.join(", "))
    }

    #[test]
    fn optimised_placement_beats_round_robin_and_is_deterministic() {
        let c = chip(|c| {
            c.mesh.tiles_x = 4;
            c.mesh.tiles_y = 4;
            c.mesh.cores_per_tile = 1;
        });
        let a = compile_text(&chain(), &c).unwrap();
        let p = a.compilation.placement.as_ref().unwrap();
        // Round-robin puts consecutive layers on consecutive tiles: 15 edges, one hop
        // each except row changes; a snake through the mesh is optimal at 15.
        let t = traffic(&a.compilation);
        assert_eq!(p.cost, cost(&a.compilation, &t, &p.core_of_bin));
        assert_eq!(
            p.round_robin_cost,
            cost(&a.compilation, &t, &round_robin(&a.compilation, 16))
        );
        assert!(
            p.cost <= p.round_robin_cost,
            "{} vs {}",
            p.cost,
            p.round_robin_cost
        );
        assert!(p.cost <= 15 * 64 + 64 * 2, "{}", p.cost);
        let b = compile_text(&chain(), &c).unwrap();
        assert_eq!(
            a.compilation.placement.unwrap().core_of_bin,
            b.compilation.placement.unwrap().core_of_bin
        );
    }
}
