//! A layered network of logistic units in f64, `h_l = σ(W_l·h_{l−1} + b_l)` with
//! `σ(a) = 1/(1 + e^−a)`: the structure every feed-forward reference trains.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;

/// The logistic function.
pub fn sigmoid(a: f64) -> f64 {
    1.0 / (1.0 + (-a).exp())
}

/// One layer: dense, `w[k * inputs + m]` the weight from input `m` to unit `k`; or
/// sparsely wired (a patch-wired first layer, [`crate::dual_ed::patch`]), every unit
/// reading `fan` of the inputs: `w[k * fan + n]` the weight from input
/// `sources[k * fan + n]` to unit `k`. An absent synapse is a weight of 0 that never
/// moves.
#[derive(Debug, Clone, PartialEq)]
pub struct Dense {
    pub inputs: usize,
    pub units: usize,
    pub w: Vec<f64>,
    pub b: Vec<f64>,
    /// Each unit's sources, ascending, unit-major; `None`: every input.
    pub sources: Option<Arc<Vec<u32>>>,
}

impl Dense {
    /// Weights uniform in `±scale/√inputs`, biases 0.
    pub fn new(inputs: usize, units: usize, scale: f64, rng: &mut ChaCha8Rng) -> Dense {
        let r = scale / (inputs.max(1) as f64).sqrt();
        Dense {
            inputs,
            units,
            w: (0..inputs * units)
                .map(|_| (2.0 * rng.random::<f64>() - 1.0) * r)
                .collect(),
            b: vec![0.0; units],
            sources: None,
        }
    }

    /// A patch-wired layer of `units` over `inputs` sources (a square image, then any
    /// further sources, which reach every unit): unit `j` reads the `size × size` patch
    /// at position `j mod positions` ([`crate::dual_ed::patch`] with one unit a class),
    /// weights uniform in `±scale/√fan_in`, biases 0. `size` and `stride` must pass
    /// [`crate::dual_ed::patch::check`].
    pub fn patch(
        inputs: usize,
        units: usize,
        size: usize,
        stride: usize,
        scale: f64,
        rng: &mut ChaCha8Rng,
    ) -> Dense {
        use crate::dual_ed::patch;
        let sources: Vec<u32> = (0..units)
            .flat_map(|j| patch::sources(inputs, size, stride, j, 1))
            .map(|i| i as u32)
            .collect();
        let fan = patch::fan_in(inputs, size);
        let r = scale / (fan.max(1) as f64).sqrt();
        Dense {
            inputs,
            units,
            w: (0..sources.len())
                .map(|_| (2.0 * rng.random::<f64>() - 1.0) * r)
                .collect(),
            b: vec![0.0; units],
            sources: Some(Arc::new(sources)),
        }
    }

    /// Inputs per unit: all, or (patch wiring) the sources of one.
    pub fn fan_in(&self) -> usize {
        match &self.sources {
            Some(s) => s.len() / self.units.max(1),
            None => self.inputs,
        }
    }

    /// `Σ_n row[n] · x[source n of unit k]`: unit `k`'s drive without its bias.
    pub fn drive(&self, k: usize, row: &[f64], x: &[f64]) -> f64 {
        match &self.sources {
            None => row.iter().zip(x).map(|(w, v)| w * v).sum(),
            Some(s) => {
                let fan = row.len();
                row.iter()
                    .zip(&s[k * fan..(k + 1) * fan])
                    .map(|(w, &i)| w * x[i as usize])
                    .sum()
            }
        }
    }

    /// `out = σ(W·x + b)`.
    pub fn forward(&self, x: &[f64], out: &mut Vec<f64>) {
        out.clear();
        out.extend(
            self.w
                .chunks_exact(self.fan_in())
                .zip(&self.b)
                .enumerate()
                .map(|(k, (row, b))| sigmoid(self.drive(k, row, x) + b)),
        );
    }

    /// `W −= rate · δ ⊗ x`, `b −= rate · δ` (δ: the loss's gradient at the units'
    /// pre-activations).
    pub fn descend(&mut self, delta: &[f64], x: &[f64], rate: f64) {
        let fan = self.fan_in();
        let sources = self.sources.as_deref().map(Vec::as_slice);
        for (k, ((row, b), &d)) in self
            .w
            .chunks_exact_mut(fan)
            .zip(&mut self.b)
            .zip(delta)
            .enumerate()
        {
            if d == 0.0 {
                continue;
            }
            let g = rate * d;
            add_outer(sources, k, row, -g, x);
            *b -= g;
        }
    }

    /// `Wᵀ·δ` (what backprop sends down).
    pub fn transpose_times(&self, delta: &[f64], out: &mut Vec<f64>) {
        out.clear();
        out.resize(self.inputs, 0.0);
        for (k, (row, &d)) in self.w.chunks_exact(self.fan_in()).zip(delta).enumerate() {
            match &self.sources {
                None => out.iter_mut().zip(row).for_each(|(o, w)| *o += w * d),
                Some(s) => row
                    .iter()
                    .zip(&s[k * row.len()..])
                    .for_each(|(w, &i)| out[i as usize] += w * d),
            }
        }
    }

    /// Number of weights and biases.
    pub fn parameters(&self) -> usize {
        self.w.len() + self.b.len()
    }
}

/// `row[n] += g · x[source n of unit k]`: unit `k`'s weights (or their gradient) of a
/// layer wired to `sources` ([`Dense::sources`]; `None`: every input).
pub fn add_outer(sources: Option<&[u32]>, k: usize, row: &mut [f64], g: f64, x: &[f64]) {
    match sources {
        None => row.iter_mut().zip(x).for_each(|(w, v)| *w += g * v),
        Some(s) => {
            let fan = row.len();
            row.iter_mut()
                .zip(&s[k * fan..(k + 1) * fan])
                .for_each(|(w, &i)| *w += g * x[i as usize]);
        }
    }
}

/// Layers in order; `forward` keeps every layer's output.
#[derive(Debug, Clone, PartialEq)]
pub struct Mlp {
    pub layers: Vec<Dense>,
}

impl Mlp {
    /// Layers of `sizes[0] → sizes[1] → …`.
    pub fn new(sizes: &[usize], scale: f64, rng: &mut ChaCha8Rng) -> Mlp {
        Mlp::with_patch(sizes, None, scale, rng)
    }

    /// [`Mlp::new`], the first layer patch-wired if `patch` is `Some((size, stride))`
    /// ([`Dense::patch`]).
    pub fn with_patch(
        sizes: &[usize],
        patch: Option<(usize, usize)>,
        scale: f64,
        rng: &mut ChaCha8Rng,
    ) -> Mlp {
        Mlp {
            layers: sizes
                .windows(2)
                .enumerate()
                .map(|(l, p)| match patch {
                    Some((size, stride)) if l == 0 => {
                        Dense::patch(p[0], p[1], size, stride, scale, rng)
                    }
                    _ => Dense::new(p[0], p[1], scale, rng),
                })
                .collect(),
        }
    }

    /// `acts[0] = x`, `acts[l + 1]` = layer `l`'s output.
    pub fn forward(&self, x: &[f64], acts: &mut Vec<Vec<f64>>) {
        acts.resize_with(self.layers.len() + 1, Vec::new);
        acts[0].clear();
        acts[0].extend_from_slice(x);
        for (l, layer) in self.layers.iter().enumerate() {
            let (done, rest) = acts.split_at_mut(l + 1);
            layer.forward(&done[l], &mut rest[0]);
        }
    }

    /// Widths: inputs, then each layer's units.
    pub fn sizes(&self) -> Vec<usize> {
        let mut s: Vec<usize> = self.layers.first().map(|l| l.inputs).into_iter().collect();
        s.extend(self.layers.iter().map(|l| l.units));
        s
    }
}

/// Index of the largest value (the lowest index on ties).
pub fn argmax(v: &[f64]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}
