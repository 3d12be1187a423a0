//! The same e-prop gradient as the online per-synapse traces of [`super::sim`],
//! computed backward in time per postsynaptic neuron, which is far cheaper.
//!
//! For a synapse j←i every e-prop trace is linear in the presynaptic spikes `p_i`
//! (`p = x` for inputs, `p(t) = z(t − 1)` for neurons), with coefficients that depend
//! only on the postsynaptic neuron's ψ_j. The gradient
//! `g_ji = Σ_t m_j(t)·ē_ji(t) + c_j·Σ_t e_ji(t)` (`c_j` the regulariser's factor) is
//! therefore `(1 − α)·Σ_{t: p_i(t) = 1} λ_j(t)`, where λ_j is the adjoint of εv run
//! backward from the end of the trial:
//!
//! ```text
//! M(t)   = m(t) + κ·M(t + 1)                       (m = 0 outside the window)
//! w(t)   = c + (1 − κ)·M(t)                         (∂g/∂e(t))
//! λa(t)  = −β·w(t)·ψ(t) + (ρ − (1 − ρ)·β·ψ(t))·λa(t + 1)
//! λ(t)   = w(t)·ψ(t) + (1 − ρ)·ψ(t)·λa(t + 1) + α·λ(t + 1)
//! ```
//!
//! with `λ(T) = λa(T) = 0`. The backward pass costs O(neurons × steps) and the sum
//! O(presynaptic spikes × fan-out), against O(synapses × steps) for the online traces.
//! Both are kept: the online form is what the chip computes, this one is what long
//! runs use, and a test holds them equal.

use super::net::Net;
use super::tasks::Trial;

/// What the forward pass records for the backward one.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// `psi[t * n + j]`.
    pub psi: Vec<f32>,
    /// `m[(t − window.start) * n + j]`, the learning signal in the window.
    pub m: Vec<f32>,
    /// Neurons spiking at step t: `spk[spk_start[t]..spk_start[t + 1]]`.
    pub spk_start: Vec<u32>,
    pub spk: Vec<u32>,
    lam: Vec<f64>,
    lam_a: Vec<f64>,
    big_m: Vec<f64>,
    /// The learning signal outside the window.
    zeros: Vec<f32>,
}

impl History {
    pub fn clear(&mut self) {
        self.psi.clear();
        self.m.clear();
        self.spk.clear();
        self.spk_start.clear();
        self.spk_start.push(0);
    }

    /// Records step t's ψ and spikes (call once per step, in order).
    pub fn record(&mut self, psi: &[f32], spikes: &[u32]) {
        self.psi.extend_from_slice(psi);
        self.spk.extend_from_slice(spikes);
        self.spk_start.push(self.spk.len() as u32);
    }
}

/// Adds the gradient of every synapse to `grad` (CSR order), given the per-neuron
/// regulariser factors `c` (`c_reg·(f_j − f_target)/T`).
pub fn gradient(net: &Net, trial: &Trial, h: &mut History, c: &[f64], grad: &mut [f32]) {
    let p = &net.p;
    let n = net.neurons();
    let ni = p.inputs;
    let alpha = f64::from((-1.0 / p.tau_m).exp());
    let rho = f64::from((-1.0 / p.tau_a).exp());
    let kappa = f64::from((-1.0 / p.tau_out).exp());
    for v in [&mut h.lam, &mut h.lam_a, &mut h.big_m] {
        v.clear();
        v.resize(n, 0.0);
    }
    h.zeros.clear();
    h.zeros.resize(n, 0.0);
    let ws = trial.window.start;
    for t in (0..trial.steps).rev() {
        let psi = &h.psi[t * n..(t + 1) * n];
        let m = if trial.window.contains(&t) {
            &h.m[(t - ws) * n..(t - ws + 1) * n]
        } else {
            &h.zeros[..]
        };
        let state = h
            .lam
            .iter_mut()
            .zip(h.lam_a.iter_mut())
            .zip(h.big_m.iter_mut())
            .zip(psi.iter().zip(m).zip(net.beta.iter().zip(c)));
        for (((lam, lam_a), big_m), ((&ps, &mt), (&beta, &cj))) in state {
            *big_m = f64::from(mt) + kappa * *big_m;
            let w = cj + (1.0 - kappa) * *big_m;
            let (ps, beta) = (f64::from(ps), f64::from(beta));
            let la_next = *lam_a;
            *lam = w * ps + (1.0 - rho) * ps * la_next + alpha * *lam;
            *lam_a = -beta * w * ps + (rho - (1.0 - rho) * beta * ps) * la_next;
        }
        // Sources whose p(t) = 1: the inputs firing at t, the neurons that fired at t − 1.
        let recurrent = if t > 0 {
            &h.spk[h.spk_start[t - 1] as usize..h.spk_start[t] as usize]
        } else {
            &[][..]
        };
        let sources = trial
            .spikes_at(t)
            .iter()
            .map(|&i| usize::from(i))
            .chain(recurrent.iter().map(|&j| ni + j as usize));
        for s in sources {
            for q in net.out_start[s]..net.out_start[s + 1] {
                let j = net.out_post[q] as usize;
                grad[net.out_syn[q] as usize] += ((1.0 - alpha) * h.lam[j]) as f32;
            }
        }
    }
}
