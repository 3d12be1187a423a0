//! Connectivity and weight generators of expand that need more than a pair of sizes:
//! distance-dependent connectivity (from the neurons' positions), an exact number of
//! random pairs, and truncated-normal weights. Each returns its pairs in row-major
//! order (by presynaptic, then postsynaptic neuron) for expand's CSR builder.

use crate::positions::choose;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

/// Pairs `(a, t)` connected with probability `1/(1 + exp(d²/(4σ)))`, `d` the distance
/// of `pre[a]` and `post[t]` on the unit torus; one uniform draw per pair, in row-major
/// order (`skip_self`: no `a == t` pairs, their draws still taken).
pub fn distance(
    rng: &mut ChaCha8Rng,
    pre: &[(f64, f64)],
    post: &[(f64, f64)],
    sigma: f64,
    skip_self: bool,
) -> Vec<(u32, u32)> {
    let tor = |a: f64, b: f64| {
        let d = (a - b).abs().fract();
        d.min(1.0 - d)
    };
    let mut out = Vec::new();
    for (a, &(ax, ay)) in pre.iter().enumerate() {
        for (t, &(tx, ty)) in post.iter().enumerate() {
            let u: f64 = rng.random();
            if skip_self && a == t {
                continue;
            }
            let (dx, dy) = (tor(ax, tx), tor(ay, ty));
            let prob = 1.0 / (1.0 + ((dx * dx + dy * dy) / (4.0 * sigma)).exp());
            if u < prob {
                out.push((a as u32, t as u32));
            }
        }
    }
    out
}

/// Exactly `round(p · npre · npost)` distinct pairs, uniformly, in row-major order.
pub fn fixed_total(rng: &mut ChaCha8Rng, npre: u32, npost: u32, p: f64) -> Vec<(u32, u32)> {
    let total = npre as usize * npost as usize;
    let k = (p.clamp(0.0, 1.0) * total as f64).round() as usize;
    let mut chosen = choose(rng, total, k);
    chosen.sort_unstable();
    chosen
        .into_iter()
        .map(|x| ((x / npost as usize) as u32, (x % npost as usize) as u32))
        .collect()
}

/// The partners of each of `m` modules (`m ≥ 2`): `n` random cycles through all the
/// modules (seeded shuffles), and each module's partner in a cycle is the module after it.
/// So every module has at most `n` partners and is the partner of at most `n` modules
/// (exactly `n` unless two cycles give a module the same partner, which counts once),
/// never of itself; lists sorted.
pub fn partner_modules(rng: &mut ChaCha8Rng, m: u32, n: u32) -> Vec<Vec<u32>> {
    let mut out = vec![Vec::new(); m as usize];
    if m < 2 {
        return out;
    }
    for _ in 0..n {
        let order = choose(rng, m as usize, m as usize);
        for (x, &k) in order.iter().enumerate() {
            out[k].push(order[(x + 1) % order.len()] as u32);
        }
    }
    for list in &mut out {
        list.sort_unstable();
        list.dedup();
    }
    out
}

/// The senders of each module: `senders[j]` lists the modules that drew `j` as a
/// partner, in increasing order.
pub fn senders(partners: &[Vec<u32>]) -> Vec<Vec<u32>> {
    let mut out = vec![Vec::new(); partners.len()];
    for (k, list) in partners.iter().enumerate() {
        for &j in list {
            out[j as usize].push(k as u32);
        }
    }
    out
}

/// A standard normal truncated to ±2 and rescaled to unit variance (Box–Muller, one
/// value per accepted pair of draws), as JAX's `truncated_normal`.
pub fn trunc_normal(rng: &mut ChaCha8Rng) -> f64 {
    loop {
        let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
        let u2: f64 = rng.random();
        let x = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        if x.abs() < 2.0 {
            return x / 0.879_625_661_034_239_8;
        }
    }
}

/// One weight drawn as `w` says (no sign truncation: for e-prop readouts and
/// feedback, which are of mixed sign).
pub fn draw(w: &crate::program::Weight, rng: &mut ChaCha8Rng) -> f64 {
    use crate::program::Weight;
    match *w {
        Weight::Const(x) => x,
        Weight::Uniform { low, high } => low + (high - low) * rng.random::<f64>(),
        Weight::Normal { mean, std } => {
            let u1: f64 = 1.0 - rng.random::<f64>();
            let u2: f64 = rng.random::<f64>();
            mean + std * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
        }
        Weight::TruncatedNormal { std } => std * trunc_normal(rng),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn distance_connectivity_is_local_with_the_expected_density() {
        // A 20 × 20 lattice: density ≈ 4πσ·ln 2 = 0.1045 for σ = 0.012.
        let pos: Vec<(f64, f64)> = (0..400)
            .map(|i| {
                (
                    (i % 20) as f64 / 20.0 + 0.025,
                    (i / 20) as f64 / 20.0 + 0.025,
                )
            })
            .collect();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let pairs = distance(&mut rng, &pos, &pos, 0.012, true);
        let density = pairs.len() as f64 / (400.0 * 399.0);
        assert!((density - 0.1045).abs() < 0.005, "{density}");
        assert!(pairs.iter().all(|&(a, t)| a != t));
        // The probability falls with distance: ≈ ½ next door, ≈ 0.5 % half a torus away.
        let d = |a: usize, t: usize| {
            let (p, q) = (pos[a], pos[t]);
            let tor = |x: f64| x.abs().min(1.0 - x.abs());
            tor(p.0 - q.0).hypot(tor(p.1 - q.1))
        };
        let rate = |lo: f64, hi: f64| {
            let all = (0..400)
                .flat_map(|a| (0..400).map(move |t| (a, t)))
                .filter(|&(a, t)| a != t && (lo..hi).contains(&d(a, t)))
                .count();
            let hit = pairs
                .iter()
                .filter(|&&(a, t)| (lo..hi).contains(&d(a as usize, t as usize)))
                .count();
            hit as f64 / all as f64
        };
        assert!(
            (0.45..0.55).contains(&rate(0.0, 0.06)),
            "{}",
            rate(0.0, 0.06)
        );
        assert!(rate(0.45, 1.0) < 0.02, "{}", rate(0.45, 1.0));
    }

    #[test]
    fn partner_modules_are_regular_others_and_uniform() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut seen = [[0u32; 6]; 6];
        for _ in 0..2000 {
            let p = partner_modules(&mut rng, 6, 2);
            let s = senders(&p);
            for k in 0..6 {
                assert!(!p[k].contains(&(k as u32)) && p[k].windows(2).all(|w| w[0] < w[1]));
                assert!((1..=2).contains(&p[k].len()) && (1..=2).contains(&s[k].len()));
                for &j in &p[k] {
                    seen[k][j as usize] += 1;
                    assert!(s[j as usize].contains(&(k as u32)));
                }
            }
        }
        // Each cycle gives k one of the 5 others uniformly: ≈ 2000 · 2 / 5 = 800 each,
        // a little fewer for the coincidences that count once (±5σ ≈ ±110).
        for (k, row) in seen.iter().enumerate() {
            for (j, &c) in row.iter().enumerate() {
                if j == k {
                    assert_eq!(c, 0);
                } else {
                    assert!((650..=910).contains(&c), "{k} → {j}: {c}");
                }
            }
        }
        // One cycle through every module: a permutation without fixed points.
        let p = partner_modules(&mut rng, 50, 1);
        let mut all: Vec<u32> = p.iter().map(|l| l[0]).collect();
        all.sort_unstable();
        assert_eq!(all, (0..50).collect::<Vec<_>>());
        assert!(partner_modules(&mut rng, 1, 3)[0].is_empty());
    }

    #[test]
    fn fixed_total_is_exact_and_distinct() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let pairs = fixed_total(&mut rng, 40, 50, 0.1);
        assert_eq!(pairs.len(), 200);
        assert!(pairs.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn truncated_normal_has_unit_variance_within_two() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let xs: Vec<f64> = (0..40_000).map(|_| trunc_normal(&mut rng)).collect();
        let var = xs.iter().map(|x| x * x).sum::<f64>() / xs.len() as f64;
        assert!((var - 1.0).abs() < 0.03, "{var}");
        assert!(xs.iter().all(|x| x.abs() < 2.0 / 0.8796 + 1e-9));
    }
}
