//! Where each population's neurons sit on the die, in [0, 1]²: what binds a neuron to a
//! modulator-grid cell (emit) and what distance-dependent connectivity reads (expand).
//!
//! `Lattice` positions are resolved for all populations at once: every population that
//! names the same lattice (width, height, seed) takes distinct random cells of it, in
//! population order — so an LIF and an ALIF population can share one 10 × 10 lattice as
//! the e-prop network's neurons do.

use crate::passes::expand::derive_seed;
use crate::program::{Positions, Program};
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The positions of every population (`None` where it has none), indexed like
/// `program.populations`. Sizes that do not fit their lattice were refused by validate;
/// here they get what cells there are (the rest at the lattice's last cell).
pub fn resolve(program: &Program) -> Vec<Option<Vec<(f64, f64)>>> {
    let mut out: Vec<Option<Vec<(f64, f64)>>> = program
        .populations
        .iter()
        .map(|pop| {
            let n = pop.size;
            Some(match pop.positions.as_ref()? {
                Positions::Grid { width, height } => (0..n)
                    .map(|i| centre(i % width, i / width, *width, *height))
                    .collect(),
                Positions::Random { seed } => {
                    // Distinct cells of the smallest square lattice that holds the population.
                    let k = (n as f64).sqrt().ceil().max(1.0) as u32;
                    let mut cells: Vec<u32> = (0..k * k).collect();
                    cells.shuffle(&mut ChaCha8Rng::seed_from_u64(*seed));
                    cells[..n as usize]
                        .iter()
                        .map(|&cell| centre(cell % k, cell / k, k, k))
                        .collect()
                }
                Positions::List(v) => v.clone(),
                Positions::Lattice { .. } => Vec::new(),
            })
        })
        .collect();
    // Shared lattices, in order of first appearance.
    let mut done = vec![false; program.populations.len()];
    for first in 0..program.populations.len() {
        let Some(Positions::Lattice {
            width,
            height,
            seed,
        }) = program.populations[first].positions
        else {
            continue;
        };
        if done[first] {
            continue;
        }
        let members: Vec<usize> = (first..program.populations.len())
            .filter(|&q| {
                program.populations[q].positions
                    == Some(Positions::Lattice {
                        width,
                        height,
                        seed,
                    })
            })
            .collect();
        let total: u64 = members
            .iter()
            .map(|&q| u64::from(program.populations[q].size))
            .sum();
        let cells = u64::from(width) * u64::from(height);
        let key = (u64::from(width) << 32) | u64::from(height);
        let seed = seed.unwrap_or_else(|| derive_seed(program.seed, 0x4_0000_0000 ^ key));
        let chosen = choose(
            &mut ChaCha8Rng::seed_from_u64(seed),
            cells as usize,
            total.min(cells) as usize,
        );
        let mut next = 0usize;
        for &q in &members {
            done[q] = true;
            let list = (0..program.populations[q].size)
                .map(|_| {
                    let c = chosen
                        .get(next)
                        .copied()
                        .unwrap_or(cells.saturating_sub(1) as usize)
                        as u32;
                    next += 1;
                    centre(c % width.max(1), c / width.max(1), width, height)
                })
                .collect();
            out[q] = Some(list);
        }
    }
    out
}

/// The modulator grid a program runs on: the chip's, with the program's registers
/// (kernel, decay, boundary and the part in use).
pub fn program_grid(
    program: &Program,
    chip: &amine_chip::config::ModulatorConfig,
) -> amine_chip::config::ModulatorConfig {
    amine_chip::image::ModulatorImage {
        registers: program.grid,
        ..Default::default()
    }
    .grid_config(chip)
}

/// The grid cell under position `(x, y)` of the die, on `grid` (which must have cells).
pub fn cell_at((x, y): (f64, f64), grid: &amine_chip::config::ModulatorConfig) -> (u32, u32) {
    let w = grid.width.max(1);
    let h = grid.height.max(1);
    (
        ((x * f64::from(w)) as u32).min(w - 1),
        ((y * f64::from(h)) as u32).min(h - 1),
    )
}

/// The centre of cell `(x, y)` of a `w × h` lattice.
fn centre(x: u32, y: u32, w: u32, h: u32) -> (f64, f64) {
    (
        (f64::from(x) + 0.5) / f64::from(w.max(1)),
        (f64::from(y) + 0.5) / f64::from(h.max(1)),
    )
}

/// `k` distinct values of `0..n` in random order (partial Fisher–Yates).
pub(crate) fn choose(rng: &mut ChaCha8Rng, n: usize, k: usize) -> Vec<usize> {
    let mut all: Vec<usize> = (0..n).collect();
    let k = k.min(n);
    for i in 0..k {
        let j = rng.random_range(i..n);
        all.swap(i, j);
    }
    all.truncate(k);
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::Program;

    #[test]
    fn populations_on_one_lattice_take_distinct_cells() {
        let text = r#"Program(name: "l", seed: 3, populations: [
            (name: "a", size: 30, model: Lif(tau_syn: Steps(0), tau_mem: Steps(20), threshold: 10), positions: Some(Lattice(width: 8, height: 8))),
            (name: "b", size: 34, model: Lif(tau_syn: Steps(0), tau_mem: Steps(20), threshold: 10), positions: Some(Lattice(width: 8, height: 8))),
            (name: "c", size: 4, model: Lif(tau_syn: Steps(0), tau_mem: Steps(20), threshold: 10), positions: Some(Lattice(width: 8, height: 8, seed: Some(1)))),
        ])"#;
        let p = Program::from_ron(text, "l.ron").unwrap();
        let pos = resolve(&p);
        let mut all: Vec<(u64, u64)> = pos[0]
            .iter()
            .chain(pos[1].iter())
            .flatten()
            .map(|&(x, y)| ((x * 8.0) as u64, (y * 8.0) as u64))
            .collect();
        assert_eq!(all.len(), 64);
        all.sort_unstable();
        all.dedup();
        assert_eq!(
            all.len(),
            64,
            "a and b fill the lattice without sharing a cell"
        );
        // Another seed is another lattice: c may reuse cells.
        assert_eq!(pos[2].as_ref().unwrap().len(), 4);
        // Deterministic.
        assert_eq!(resolve(&p), pos);
    }
}
