//! Read-outs of one trained sigprop network, measured post hoc (after an epoch, with
//! the weights fixed): the same hidden responses to the test set, classified against
//! several sets of anchors. Every anchor set but the last two is a list of response
//! vectors a register file could latch; distances run over every hidden layer (the
//! summed read-out) unless the name says "last".
//!
//! - `contexts, last` / `contexts, summed`: the latched context responses (the chip's
//!   read-outs, [`super::sigprop::Readout::Last`] and `Sum`); `contexts, pooled`: the
//!   class's contexts pooled (`log Σ_j exp(−(β/2)·d_j)`); `contexts, layer l`: one
//!   hidden layer alone; `contexts, input and summed`: the distance of the sample's
//!   input to the context's added to the summed one.
//! - `class means, last` / `class means, summed`: per class, the mean response to its
//!   training samples (one anchor a class).
//! - `sub-class means`: per context, the mean response to the training samples whose
//!   target it is ([`super::prototypes::subclass`]): as many anchors as contexts.
//! - `response k-means K`: per class, the `K` k-means centroids of its training
//!   responses ([`super::prototypes::kmeans`]).
//! - `1-NN` (every training response an anchor) and `least squares` (a linear map of
//!   the responses and a constant 1 to the one-hot class, ridge 1e-3 per sample): not
//!   register-file read-outs, bounds on what the responses separate.

use super::net::{argmax, Mlp};
use super::prototypes::{kmeans, nearest, sq_dist};
use super::sigprop::State;
use super::FfConfig;
use crate::datasets::Dataset;
use serde::{Deserialize, Serialize};

/// One read-out's test accuracy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadoutScore {
    pub name: String,
    pub test_accuracy: f64,
}

/// Every sample's hidden responses, the layers concatenated (layer 1 first).
fn responses(mlp: &Mlp, cfg: &FfConfig, set: &Dataset) -> Vec<Vec<f64>> {
    let mut acts = Vec::new();
    set.inputs
        .iter()
        .map(|x| {
            mlp.forward(&super::input(cfg, x), &mut acts);
            acts[1..].concat()
        })
        .collect()
}

/// The share of `labels` that `classify` gets right over `rows`.
fn accuracy(rows: &[Vec<f64>], labels: &[u8], classify: impl Fn(&[f64]) -> usize) -> f64 {
    let right = rows
        .iter()
        .zip(labels)
        .filter(|(r, &y)| classify(r) == usize::from(y))
        .count();
    right as f64 / rows.len().max(1) as f64
}

/// The class of the anchor nearest `x` over `range` of the response (`anchors`
/// class-major, `per_class` a class).
fn nearest_class(
    anchors: &[Vec<f64>],
    per_class: usize,
    x: &[f64],
    range: std::ops::Range<usize>,
) -> usize {
    let d: Vec<f64> = anchors
        .iter()
        .map(|a| -sq_dist(&a[range.clone()], &x[range.clone()]))
        .collect();
    argmax(&d) / per_class.max(1)
}

/// Means of `rows` grouped by `group` (`groups` of them; an empty group's mean is 0).
fn group_means(rows: &[Vec<f64>], group: &[usize], groups: usize) -> Vec<Vec<f64>> {
    let dim = rows.first().map_or(0, Vec::len);
    let mut sum = vec![vec![0.0; dim]; groups];
    let mut count = vec![0usize; groups];
    for (r, &g) in rows.iter().zip(group) {
        count[g] += 1;
        sum[g].iter_mut().zip(r).for_each(|(s, v)| *s += v);
    }
    for (s, &n) in sum.iter_mut().zip(&count) {
        s.iter_mut().for_each(|v| *v /= n.max(1) as f64);
    }
    sum
}

/// Every read-out of the module docs on `test`, the anchors from `train` (its unmoved
/// images) and the network as it stands.
pub(crate) fn probe(
    mlp: &Mlp,
    state: &State,
    cfg: &FfConfig,
    train: &Dataset,
    test: &Dataset,
    classes: usize,
) -> Vec<ReadoutScore> {
    let r = Probed {
        tr: responses(mlp, cfg, train),
        te: responses(mlp, cfg, test),
        labels: &test.labels,
        last_units: mlp.layers.last().map_or(0, |l| l.units),
    };
    let mut out = context_readouts(&r, mlp, state, cfg, test);
    out.extend(training_readouts(&r, state, cfg, train, classes));
    out
}

/// The responses a probe reads: every training and test sample's (layers concatenated).
struct Probed<'a> {
    tr: Vec<Vec<f64>>,
    te: Vec<Vec<f64>>,
    labels: &'a [u8],
    last_units: usize,
}

impl Probed<'_> {
    fn dim(&self) -> usize {
        self.te.first().map_or(0, Vec::len)
    }

    fn last(&self) -> std::ops::Range<usize> {
        self.dim() - self.last_units..self.dim()
    }

    fn score(&self, name: impl Into<String>, classify: impl Fn(&[f64]) -> usize) -> ReadoutScore {
        ReadoutScore {
            name: name.into(),
            test_accuracy: accuracy(&self.te, self.labels, classify),
        }
    }
}

/// The read-outs against the latched context responses.
fn context_readouts(
    r: &Probed,
    mlp: &Mlp,
    state: &State,
    cfg: &FfConfig,
    test: &Dataset,
) -> Vec<ReadoutScore> {
    let (dim, last, per_class) = (r.dim(), r.last(), state.per_class());
    let latched = state.latched(mlp);
    let ctx: Vec<Vec<f64>> = latched.iter().map(|l| l[1..].concat()).collect();
    let mut out = vec![
        r.score("contexts, last", |x| {
            nearest_class(&ctx, per_class, x, last.clone())
        }),
        r.score("contexts, summed", |x| {
            nearest_class(&ctx, per_class, x, 0..dim)
        }),
    ];
    // Each hidden layer but the last alone, and the input layer added to the sum.
    let mut start = 0;
    for (l, layer) in mlp.layers.iter().enumerate().take(mlp.layers.len() - 1) {
        let range = start..start + layer.units;
        start = range.end;
        out.push(r.score(format!("contexts, layer {}", l + 1), |x| {
            nearest_class(&ctx, per_class, x, range.clone())
        }));
    }
    let with_input = |x: &[f64], input: &[f64]| {
        let d: Vec<f64> = (latched.iter().zip(&ctx))
            .map(|(l, c)| -sq_dist(&l[0], input) - sq_dist(c, x))
            .collect();
        argmax(&d) / per_class.max(1)
    };
    let right = (r.te.iter().zip(&test.inputs).zip(r.labels))
        .filter(|((x, i), &y)| with_input(x, &super::input(cfg, i)) == usize::from(y))
        .count();
    out.push(ReadoutScore {
        name: "contexts, input and summed".into(),
        test_accuracy: right as f64 / r.te.len().max(1) as f64,
    });
    let beta = state.beta;
    out.push(r.score("contexts, pooled", |x| {
        let pooled: Vec<f64> = ctx
            .chunks(per_class)
            .map(|c| {
                let s: Vec<f64> = c.iter().map(|a| -0.5 * beta * sq_dist(a, x)).collect();
                let m = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                m + s.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
            })
            .collect();
        argmax(&pooled)
    }));
    out
}

/// The read-outs whose anchors come from the training responses.
fn training_readouts(
    r: &Probed,
    state: &State,
    cfg: &FfConfig,
    train: &Dataset,
    classes: usize,
) -> Vec<ReadoutScore> {
    let (dim, last, per_class) = (r.dim(), r.last(), state.per_class());
    let class_of: Vec<usize> = train.labels.iter().map(|&y| usize::from(y)).collect();
    let means = group_means(&r.tr, &class_of, classes);
    let target: Vec<usize> = (train.inputs.iter().zip(&class_of))
        .map(|(x, &y)| state.target(y, &super::input(cfg, x)))
        .collect();
    let sub = group_means(&r.tr, &target, classes * per_class);
    let mut out = vec![
        r.score("class means, last", |x| {
            nearest_class(&means, 1, x, last.clone())
        }),
        r.score("class means, summed", |x| {
            nearest_class(&means, 1, x, 0..dim)
        }),
        r.score("sub-class means", |x| {
            nearest_class(&sub, per_class, x, 0..dim)
        }),
    ];
    for k in [per_class, 32] {
        let protos: Vec<Vec<f64>> = (0..classes)
            .flat_map(|c| {
                let pts: Vec<Vec<f64>> = (r.tr.iter().zip(&class_of))
                    .filter(|(_, &y)| y == c)
                    .map(|(v, _)| v.clone())
                    .collect();
                let mut cs = kmeans(&pts, k, cfg.seed ^ c as u64);
                cs.resize(k, vec![f64::INFINITY; dim]);
                cs
            })
            .collect();
        out.push(r.score(format!("response k-means {k}"), |x| {
            nearest_class(&protos, k, x, 0..dim)
        }));
    }
    out.push(r.score("1-NN", |x| class_of[nearest(&r.tr, x)]));
    if let Some(w) = least_squares(&r.tr, &class_of, classes) {
        out.push(r.score("least squares", |x| argmax(&linear(&w, x))));
    }
    out
}

/// `W·[x; 1]`, one row a class.
fn linear(w: &[Vec<f64>], x: &[f64]) -> Vec<f64> {
    w.iter()
        .map(|row| {
            row.iter()
                .zip(x.iter().chain([&1.0]))
                .map(|(a, b)| a * b)
                .sum()
        })
        .collect()
}

/// The ridge least-squares map of `[x; 1]` to the one-hot class (ridge `1e-3·n`), by a
/// Cholesky solve of the normal equations; `None` if they are not positive definite.
fn least_squares(rows: &[Vec<f64>], class: &[usize], classes: usize) -> Option<Vec<Vec<f64>>> {
    let d = rows.first()?.len() + 1;
    let mut a = vec![0.0; d * d];
    let mut b = vec![vec![0.0; d]; classes];
    for (r, &c) in rows.iter().zip(class) {
        let x: Vec<f64> = r.iter().copied().chain([1.0]).collect();
        for i in 0..d {
            let xi = x[i];
            a[i * d..i * d + i + 1]
                .iter_mut()
                .zip(&x)
                .for_each(|(v, &xj)| *v += xi * xj);
        }
        b[c].iter_mut().zip(&x).for_each(|(v, &xi)| *v += xi);
    }
    let ridge = 1e-3 * rows.len() as f64;
    for i in 0..d {
        a[i * d + i] += ridge;
    }
    // Cholesky, lower triangle in place.
    for j in 0..d {
        let s: f64 = (0..j).map(|k| a[j * d + k] * a[j * d + k]).sum();
        let diag = a[j * d + j] - s;
        if diag <= 0.0 || !diag.is_finite() {
            return None;
        }
        a[j * d + j] = diag.sqrt();
        for i in j + 1..d {
            let s: f64 = (0..j).map(|k| a[i * d + k] * a[j * d + k]).sum();
            a[i * d + j] = (a[i * d + j] - s) / a[j * d + j];
        }
    }
    let solve = |mut v: Vec<f64>| {
        for i in 0..d {
            let s: f64 = (0..i).map(|k| a[i * d + k] * v[k]).sum();
            v[i] = (v[i] - s) / a[i * d + i];
        }
        for i in (0..d).rev() {
            let s: f64 = (i + 1..d).map(|k| a[k * d + i] * v[k]).sum();
            v[i] = (v[i] - s) / a[i * d + i];
        }
        v
    };
    Some(b.into_iter().map(solve).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three classes on a line, `x` in `[0, 1)`, `[1, 2)`, `[2, 3)`, with a second,
    /// class-indicating feature: the least-squares map classifies every point, and
    /// recovers the exact map where one exists.
    #[test]
    fn least_squares_fits_a_linear_map() {
        let rows: Vec<Vec<f64>> = (0..30)
            .map(|i| {
                let c = i / 10;
                vec![
                    c as f64 + (i % 10) as f64 / 10.0,
                    f64::from(u8::from(c == 1)),
                ]
            })
            .collect();
        let class: Vec<usize> = (0..30).map(|i| i / 10).collect();
        let w = least_squares(&rows, &class, 3).unwrap();
        let right = rows
            .iter()
            .zip(&class)
            .filter(|(r, &c)| argmax(&linear(&w, r)) == c)
            .count();
        assert!(right >= 27, "{right} of 30");
        // Class 1's output leans on the indicator feature.
        assert!(w[1][1] > 0.5, "{:?}", w[1]);
        assert!(least_squares(&[], &[], 3).is_none());
    }

    #[test]
    fn group_means_average_each_group() {
        let rows = vec![vec![1.0, 2.0], vec![3.0, 4.0], vec![5.0, 6.0]];
        let m = group_means(&rows, &[0, 0, 2], 3);
        assert_eq!(m, vec![vec![2.0, 3.0], vec![0.0, 0.0], vec![5.0, 6.0]]);
        let a = vec![
            vec![0.0, 0.0],
            vec![10.0, 0.0],
            vec![0.0, 10.0],
            vec![10.0, 10.0],
        ];
        // Two anchors a class: the point (9, 9) is nearest anchor 3, class 1; over the
        // first coordinate only, anchors 1 and 3 tie at 1 and the first wins (class 0).
        assert_eq!(nearest_class(&a, 2, &[9.0, 9.0], 0..2), 1);
        assert_eq!(nearest_class(&a, 2, &[9.0, 9.0], 0..1), 0);
    }
}
