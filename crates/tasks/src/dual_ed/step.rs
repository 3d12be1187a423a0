//! How a layer's summed Error Diffusion updates become weight changes: plain steps, or
//! Adam on the same updates; either way a magnitude never goes below the floor.
//!
//! The layer code computes, for every parameter, the signed sum `Σ` of its per-example
//! updates (`+Σ_b x·U_p` for `W_pp`, `−Σ_b x·U_p` for `W_np`, …) and hands it to
//! [`Stepper::apply`]; threads own disjoint parameters, so the stepper's writes never
//! overlap.

use super::net::{DualLayer, SharedMut};
use serde::{Deserialize, Serialize};

/// The update rule applied to the summed updates.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Optimizer {
    /// `w ← max(w + ρ·Σ, floor)`, `ρ = η / (B · fan_in)`.
    Sgd,
    /// Adam (Kingma & Ba 2015) on the mean update `g = Σ / B`: `m ← β1·m + (1−β1)·g`,
    /// `v ← β2·v + (1−β2)·g²`, `w ← max(w + η_t·m / (√v + ε), floor)` with
    /// `η_t = η·√(1−β2^t) / (1−β1^t)` at step `t`.
    Adam {
        beta1: f64,
        beta2: f64,
        epsilon: f64,
    },
}

/// Adam's moments of a layer's six parameter arrays (`W_pp, W_np, W_nn, W_pn, b_p, b_n`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Moments {
    pub m: Vec<Vec<f64>>,
    pub v: Vec<Vec<f64>>,
}

/// The step of one update of one layer.
#[derive(Debug, Clone, Copy)]
pub(super) enum Rule {
    Sgd {
        rate: f64,
    },
    Adam {
        rate: f64,
        scale: f64,
        beta1: f64,
        beta2: f64,
        epsilon: f64,
    },
}

/// Applies a [`Rule`] to one layer's parameters from many threads.
pub(super) struct Stepper {
    rule: Rule,
    floor: f64,
    params: [SharedMut; 6],
    m: [SharedMut; 6],
    v: [SharedMut; 6],
}

unsafe impl Sync for Stepper {}

impl Stepper {
    /// A stepper over `layer`'s parameters (allocating Adam's moments on first use).
    pub(super) fn new(layer: &mut DualLayer, rule: Rule, floor: f64) -> Stepper {
        let params = layer.shared_mut();
        let null = [SharedMut(std::ptr::null_mut()); 6];
        let (m, v) = match rule {
            Rule::Sgd { .. } => (null, null),
            Rule::Adam { .. } => {
                let sizes = layer.param_sizes();
                let moments = layer.moments.get_or_insert_with(|| Moments {
                    m: sizes.iter().map(|&n| vec![0.0; n]).collect(),
                    v: sizes.iter().map(|&n| vec![0.0; n]).collect(),
                });
                let ptrs = |a: &mut Vec<Vec<f64>>| -> [SharedMut; 6] {
                    std::array::from_fn(|i| SharedMut(a[i].as_mut_ptr()))
                };
                (ptrs(&mut moments.m), ptrs(&mut moments.v))
            }
        };
        Stepper {
            rule,
            floor,
            params,
            m,
            v,
        }
    }

    /// Moves parameter `e` of array `param` (0–3 magnitudes, 4–5 biases) by the signed
    /// update sum `sum`.
    ///
    /// # Safety
    /// `e` is in bounds of that array and no other thread touches it meanwhile.
    #[inline]
    pub(super) unsafe fn apply(&self, param: usize, e: usize, sum: f64) {
        let w = self.params[param].at(e);
        let step = match self.rule {
            Rule::Sgd { rate } => rate * sum,
            Rule::Adam {
                rate,
                scale,
                beta1,
                beta2,
                epsilon,
            } => {
                let g = sum * scale;
                let (m, v) = (self.m[param].at(e), self.v[param].at(e));
                *m = beta1 * *m + (1.0 - beta1) * g;
                *v = beta2 * *v + (1.0 - beta2) * g * g;
                rate * *m / (v.sqrt() + epsilon)
            }
        };
        *w += step;
        if param < 4 {
            *w = w.max(self.floor);
        }
    }
}
