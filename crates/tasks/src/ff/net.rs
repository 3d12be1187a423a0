//! A layered network of logistic units in f64, `h_l = σ(W_l·h_{l−1} + b_l)` with
//! `σ(a) = 1/(1 + e^−a)`: the structure every feed-forward reference trains.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

/// The logistic function.
pub fn sigmoid(a: f64) -> f64 {
    1.0 / (1.0 + (-a).exp())
}

/// One dense layer: `w[k * inputs + m]` is the weight from input `m` to unit `k`.
#[derive(Debug, Clone, PartialEq)]
pub struct Dense {
    pub inputs: usize,
    pub units: usize,
    pub w: Vec<f64>,
    pub b: Vec<f64>,
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
        }
    }

    /// `out = σ(W·x + b)`.
    pub fn forward(&self, x: &[f64], out: &mut Vec<f64>) {
        out.clear();
        out.extend(
            self.w
                .chunks_exact(self.inputs)
                .zip(&self.b)
                .map(|(row, b)| sigmoid(row.iter().zip(x).map(|(w, v)| w * v).sum::<f64>() + b)),
        );
    }

    /// `W −= rate · δ ⊗ x`, `b −= rate · δ` (δ: the loss's gradient at the units'
    /// pre-activations).
    pub fn descend(&mut self, delta: &[f64], x: &[f64], rate: f64) {
        for ((row, b), &d) in self
            .w
            .chunks_exact_mut(self.inputs)
            .zip(&mut self.b)
            .zip(delta)
        {
            if d == 0.0 {
                continue;
            }
            let g = rate * d;
            row.iter_mut().zip(x).for_each(|(w, v)| *w -= g * v);
            *b -= g;
        }
    }

    /// `Wᵀ·δ` (what backprop sends down).
    pub fn transpose_times(&self, delta: &[f64], out: &mut Vec<f64>) {
        out.clear();
        out.resize(self.inputs, 0.0);
        for (row, &d) in self.w.chunks_exact(self.inputs).zip(delta) {
            out.iter_mut().zip(row).for_each(|(o, w)| *o += w * d);
        }
    }

    /// Number of weights and biases.
    pub fn parameters(&self) -> usize {
        self.w.len() + self.b.len()
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
        Mlp {
            layers: sizes
                .windows(2)
                .map(|p| Dense::new(p[0], p[1], scale, rng))
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
