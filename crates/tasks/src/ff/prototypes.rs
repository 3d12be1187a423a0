//! Sub-class prototypes for sigprop's contexts: `K` contexts per class, the `K` k-means
//! centroids of that class's training samples, and each sample's sub-class (the nearest
//! context of its own class). The f64 reference and the chip's runner both use these
//! functions, so a program's contexts and a sample's target are the same in both.
//!
//! Contexts are stored class-major: class `c`'s `j`-th context is row `c·K + j`.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Lloyd iterations at most (the assignment usually settles well before).
const KMEANS_ROUNDS: usize = 50;

/// The `k` k-means centroids of `points` (all of one length), seeded: the initial
/// centroids are `k` distinct points in a seeded shuffle (repeated if there are fewer
/// than `k` points), then at most [`KMEANS_ROUNDS`] Lloyd rounds, stopping when the
/// assignment no longer changes. A centroid left without points keeps its place.
/// Empty `points` give no centroids.
pub fn kmeans(points: &[Vec<f64>], k: usize, seed: u64) -> Vec<Vec<f64>> {
    if points.is_empty() || k == 0 {
        return Vec::new();
    }
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed ^ 0x6B4D_EA45_0000_0001));
    let mut centroids: Vec<Vec<f64>> = (0..k)
        .map(|j| points[order[j % order.len()]].clone())
        .collect();
    let mut assign = vec![usize::MAX; points.len()];
    for _ in 0..KMEANS_ROUNDS {
        let mut changed = false;
        for (a, p) in assign.iter_mut().zip(points) {
            let n = nearest(&centroids, p);
            changed |= *a != n;
            *a = n;
        }
        if !changed {
            break;
        }
        let dim = points[0].len();
        let mut sum = vec![vec![0.0; dim]; k];
        let mut count = vec![0usize; k];
        for (&a, p) in assign.iter().zip(points) {
            count[a] += 1;
            sum[a].iter_mut().zip(p).for_each(|(s, v)| *s += v);
        }
        for ((c, s), &n) in centroids.iter_mut().zip(sum).zip(&count) {
            if n > 0 {
                *c = s.into_iter().map(|v| v / n as f64).collect();
            }
        }
    }
    centroids
}

/// The index of the row of `rows` nearest `x` (squared Euclidean distance over the
/// shorter length; the first on ties; 0 for no rows).
pub fn nearest(rows: &[Vec<f64>], x: &[f64]) -> usize {
    let mut best = (0, f64::INFINITY);
    for (i, r) in rows.iter().enumerate() {
        let d = sq_dist(r, x);
        if d < best.1 {
            best = (i, d);
        }
    }
    best.0
}

/// Squared Euclidean distance between `a` and `b` over the shorter length.
pub fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// The sub-class of a sample of class `class` whose network input is `input`: the index
/// (into `contexts`, class-major with `per_class` rows a class) of the nearest context of
/// its own class. `per_class` 1: the class itself.
pub fn subclass(contexts: &[Vec<f64>], per_class: usize, class: usize, input: &[f64]) -> usize {
    let per_class = per_class.max(1);
    let first = class * per_class;
    let own = contexts.get(first..first + per_class).unwrap_or(&[]);
    first + nearest(own, input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kmeans_finds_two_separated_groups() {
        let pts: Vec<Vec<f64>> = [0.0, 0.1, 0.2, 5.0, 5.2, 5.4]
            .iter()
            .map(|&v| vec![v, 1.0])
            .collect();
        let mut c = kmeans(&pts, 2, 7);
        c.sort_by(|a, b| a[0].total_cmp(&b[0]));
        assert!((c[0][0] - 0.1).abs() < 1e-12, "{c:?}");
        assert!((c[1][0] - 5.2).abs() < 1e-12, "{c:?}");
        assert_eq!(kmeans(&pts, 2, 7), kmeans(&pts, 2, 7));
        // More centroids than points: every point is a centroid, none is invented.
        let few = kmeans(&pts[..1], 3, 1);
        assert_eq!(few, vec![pts[0].clone(); 3]);
        assert!(kmeans(&[], 3, 1).is_empty());
    }

    #[test]
    fn subclass_is_the_nearest_context_of_the_own_class() {
        let ctx = vec![vec![0.0], vec![1.0], vec![0.4], vec![0.9]];
        assert_eq!(subclass(&ctx, 2, 0, &[0.8]), 1);
        assert_eq!(subclass(&ctx, 2, 1, &[0.0]), 2);
        assert_eq!(subclass(&ctx, 1, 3, &[0.0]), 3);
    }
}
