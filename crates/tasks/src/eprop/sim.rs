//! One trial of the network with e-prop: the forward dynamics, the eligibility traces,
//! the learning signal of the chosen condition and the per-trial gradient.
//!
//! Order of one step t (z' = spikes of step t − 1, x = inputs of step t):
//! 1. `εv_s ← α·εv_s + (1−α)·pre_s` (pre = x for inputs, z' for neurons);
//! 2. `r ← refractory if z' else max(r − 1, 0)`;
//!    `v ← α·v + (1−α)(W_rec·z' + W_in·x) − z'·thr`;
//!    `a ← ρ·a + (1−ρ)·z'`, `A = thr + β·a`; `z = [v > A and r = 0]`;
//!    `ψ = (γ/thr)·max(0, 1 − |v − A|/thr)`, 0 while `r > 0`;
//! 3. readout `y ← κ·y + (1−κ)·W_out·z`, `z̄ ← κ·z̄ + (1−κ)·z`;
//! 4. in the learning window: error, loss, readout gradient `err_k·z̄_j`, and the
//!    learning signal `m_j` (the loss is the mean over the window, so `err` enters
//!    both divided by the window length);
//! 5. per synapse j←s: `εa ← (1−ρ)·ψ'_j·εv'_s + (ρ − (1−ρ)·β·ψ'_j)·εa` (ψ', εv' of
//!    step t − 1, as the threshold at t depends on the spike at t − 1),
//!    `e = ψ_j·(εv_s − β·εa)`, `ē ← κ·ē + (1−κ)·e`, `Σe += e`, and in the window
//!    `g += m_j·ē`.
//!
//! A row whose neuron has ψ = 0 at t (and, for ALIF, at t − 1) and no learning
//! signal does nothing at t but decay: `εa ← ρ·εa`, `ē ← κ·ē`, `e = 0`. Such steps
//! are counted and applied at once (`ρ^n`, `κ^n`) when the row next has work, so a
//! neuron below 0 or refractory costs nothing per synapse; what is computed does not
//! change (up to f32 rounding of `ρ^n` against n products).
//!
//! With [`LearnParams::adjoint`] steps 1 and 5 are skipped: the forward pass records
//! ψ, m and the spikes, and [`super::adjoint`] computes the same gradient backward.

use super::adjoint::{self, History};
use super::grid::ModGrid;
use super::net::Net;
use super::tasks::{Target, Trial};
use super::Condition;

/// What the learning signal and regulariser need beyond the network.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LearnParams {
    pub condition: Condition,
    /// The grid's kernel factor (0 for `sparse`).
    pub k: f32,
    pub c_reg: f32,
    /// Target rate in spikes per step (Hz / 1000).
    pub f_target: f32,
    /// Keep ē only from [`ebar_start`] on (faster; differs from the full sum by less
    /// than f32 resolution). `false` keeps it from step 0.
    pub truncate_ebar: bool,
    /// Compute the gradient backward in time ([`super::adjoint`]) instead of with the
    /// online per-synapse traces; the two agree to f32 rounding.
    pub adjoint: bool,
}

/// Per-thread working state, reused across trials.
#[derive(Debug, Clone)]
pub struct Scratch {
    v: Vec<f32>,
    a: Vec<f32>,
    psi: Vec<f32>,
    psi_prev: Vec<f32>,
    refr: Vec<u32>,
    /// Spikes of the last step as 0.0 / 1.0.
    z: Vec<f32>,
    spk: Vec<u32>,
    spk_prev: Vec<u32>,
    cur: Vec<f32>,
    /// `[εv(t), εv(t − 1)]` per source (one gather serves both).
    ev: Vec<[f32; 2]>,
    ea: Vec<f32>,
    ebar: Vec<f32>,
    esum: Vec<f32>,
    idle: Vec<u32>,
    y: Vec<f32>,
    zbar: Vec<f32>,
    m: Vec<f32>,
    err: Vec<f32>,
    grid: ModGrid,
    rho_pow: Vec<f32>,
    kappa_pow: Vec<f32>,
    hist: History,
}

/// What one trial produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrialOut {
    /// `(1/|W|)·Σ_window m_j·ē_ji + c_reg·(f_j − f_target)/T·Σ_t e_ji`, per synapse
    /// (m computed from the error divided by the window length |W|).
    pub grad: Vec<f32>,
    /// `(1/|W|)·Σ_window err_k·z̄_j`, per readout weight (0 where masked out).
    pub grad_out: Vec<f32>,
    /// Summed over the window: cross-entropy (classification) or ½·err² (regression).
    pub loss: f64,
    /// Classification: the class whose output has the largest mean over the window.
    pub predicted: usize,
    pub correct: bool,
    /// Regression: Σ err² and Σ (target − mean target)² over the window.
    pub sq_err: f64,
    pub target_ss: f64,
    pub window_steps: usize,
    /// Spikes of the LIF and of the ALIF population over the trial.
    pub spikes_lif: u64,
    pub spikes_alif: u64,
    pub steps: usize,
}

impl Scratch {
    pub fn new(net: &Net, k: f32, steps: usize) -> Scratch {
        let n = net.neurons();
        let ns = net.p.inputs + n;
        let syn = net.synapses();
        let rho = (-1.0 / f64::from(net.p.tau_a)).exp();
        let kappa = (-1.0 / f64::from(net.p.tau_out)).exp();
        Scratch {
            v: vec![0.0; n],
            a: vec![0.0; n],
            psi: vec![0.0; n],
            psi_prev: vec![0.0; n],
            refr: vec![0; n],
            z: vec![0.0; n],
            spk: Vec::with_capacity(n),
            spk_prev: Vec::with_capacity(n),
            cur: vec![0.0; n],
            ev: vec![[0.0; 2]; ns],
            ea: vec![0.0; syn],
            ebar: vec![0.0; syn],
            esum: vec![0.0; syn],
            idle: vec![0; n],
            y: vec![0.0; net.p.outputs],
            zbar: vec![0.0; n],
            m: vec![0.0; n],
            err: vec![0.0; net.p.outputs],
            grid: ModGrid::new(net.p.grid_side, k),
            rho_pow: (0..=steps).map(|i| rho.powi(i as i32) as f32).collect(),
            kappa_pow: (0..=steps).map(|i| kappa.powi(i as i32) as f32).collect(),
            hist: History::default(),
        }
    }

    fn reset(&mut self, steps: usize) {
        for v in [
            &mut self.v,
            &mut self.a,
            &mut self.psi,
            &mut self.psi_prev,
            &mut self.ea,
            &mut self.ebar,
            &mut self.esum,
            &mut self.y,
            &mut self.zbar,
            &mut self.m,
        ] {
            v.iter_mut().for_each(|x| *x = 0.0);
        }
        self.ev.iter_mut().for_each(|e| *e = [0.0; 2]);
        self.refr.iter_mut().for_each(|r| *r = 0);
        self.idle.iter_mut().for_each(|r| *r = 0);
        self.z.iter_mut().for_each(|z| *z = 0.0);
        self.spk.clear();
        self.spk_prev.clear();
        self.grid.clear();
        self.hist.clear();
        if self.rho_pow.len() <= steps {
            // A longer trial than the scratch was made for: extend the power tables.
            let (r, k) = (self.rho_pow[1], self.kappa_pow[1]);
            while self.rho_pow.len() <= steps {
                let i = self.rho_pow.len() as i32;
                self.rho_pow.push(f64::from(r).powi(i) as f32);
                self.kappa_pow.push(f64::from(k).powi(i) as f32);
            }
        }
    }

    /// ψ of every neuron at the last simulated step (for tests).
    pub fn psi(&self) -> &[f32] {
        &self.psi
    }
}

/// The decay factors of one trial: membrane α, adaptation ρ, readout κ.
#[derive(Clone, Copy)]
struct Decays {
    alpha: f32,
    rho: f32,
    kappa: f32,
}

/// What step 4 needs that stays fixed over the trial.
struct TrialConst<'a> {
    /// Neurons that inject an error into the grid (a nonzero sparse feedback weight).
    injectors: Vec<usize>,
    /// Regression: the mean of the target series (0 for classification).
    target_mean: f64,
    outputs: usize,
    trial: &'a Trial,
}

/// Simulates `trial` on `net`. With `learn`, accumulates the e-prop gradient into
/// `out.grad`/`out.grad_out` (overwritten); without, runs the forward pass only.
pub fn run_trial(
    net: &Net,
    trial: &Trial,
    lp: &LearnParams,
    s: &mut Scratch,
    out: &mut TrialOut,
    learn: bool,
) {
    let p = &net.p;
    let n = net.neurons();
    let ni = p.inputs;
    let d = Decays {
        alpha: (-1.0 / p.tau_m).exp(),
        rho: (-1.0 / p.tau_a).exp(),
        kappa: (-1.0 / p.tau_out).exp(),
    };
    s.reset(trial.steps);
    begin_out(net, trial, out, learn);
    let mut y_sum = vec![0.0f64; p.outputs];
    let mut spikes = vec![0u32; n];
    let tc = trial_const(net, trial);
    let ebar_from = ebar_start(trial.window.start, p.tau_out);
    let online = learn && !lp.adjoint;
    for t in 0..trial.steps {
        let xs = trial.spikes_at(t);
        // 1. presynaptic traces.
        if online {
            presynaptic_traces(s, xs, ni, d.alpha);
        }
        // 2. neurons.
        neuron_step(net, s, xs, d, &mut spikes);
        // 3. readout.
        readout_step(net, s, d.kappa, learn);
        // 4. error, loss, learning signal.
        let in_window = trial.window.contains(&t);
        if in_window {
            window_step(net, lp, &tc, t, s, out, &mut y_sum, learn);
        }
        // 5. eligibility traces and gradient.
        if learn && lp.adjoint {
            s.hist.record(&s.psi, &s.spk);
        } else if learn {
            let keep_ebar = !lp.truncate_ebar || t >= ebar_from;
            rows(net, s, &mut out.grad, in_window, keep_ebar, d.rho, d.kappa);
        }
        std::mem::swap(&mut s.spk, &mut s.spk_prev);
    }
    if learn {
        rate_regulariser(net, trial, lp, s, &mut out.grad, &spikes);
    }
    finish_out(net, trial, out, &spikes, &y_sum);
}

/// Clears `out` for a new trial (the gradients sized only when learning).
fn begin_out(net: &Net, trial: &Trial, out: &mut TrialOut, learn: bool) {
    out.grad.clear();
    out.grad.resize(if learn { net.synapses() } else { 0 }, 0.0);
    out.grad_out.clear();
    let o_n = net.p.outputs * net.neurons();
    out.grad_out.resize(if learn { o_n } else { 0 }, 0.0);
    out.loss = 0.0;
    out.sq_err = 0.0;
    out.target_ss = 0.0;
    out.window_steps = 0;
    out.steps = trial.steps;
}

/// The injecting neurons and the target's mean for one trial.
fn trial_const<'a>(net: &Net, trial: &'a Trial) -> TrialConst<'a> {
    let (n, o) = (net.neurons(), net.p.outputs);
    let injectors: Vec<usize> = (0..n)
        .filter(|&j| (0..o).any(|k| net.b_sparse[k * n + j] != 0.0))
        .collect();
    let target_mean = match &trial.target {
        Target::Series(v) => v.iter().map(|&x| f64::from(x)).sum::<f64>() / v.len().max(1) as f64,
        Target::Class(_) => 0.0,
    };
    TrialConst {
        injectors,
        target_mean,
        outputs: o,
        trial,
    }
}

/// Step 1: `εv_s ← α·εv_s + (1−α)·pre_s`, keeping the previous value beside it.
#[inline]
fn presynaptic_traces(s: &mut Scratch, xs: &[u16], ni: usize, alpha: f32) {
    for e in s.ev.iter_mut() {
        *e = [flush(alpha * e[0]), e[0]];
    }
    for &i in xs {
        s.ev[i as usize][0] += 1.0 - alpha;
    }
    for &j in &s.spk_prev {
        s.ev[ni + j as usize][0] += 1.0 - alpha;
    }
}

/// Step 2: the synaptic current of this step's input and last step's spikes, then
/// every neuron's refractory count, v, a, spike and ψ; collects `s.spk` and counts
/// each neuron's spikes in `spikes`.
#[inline]
fn neuron_step(net: &Net, s: &mut Scratch, xs: &[u16], d: Decays, spikes: &mut [u32]) {
    let p = &net.p;
    let ni = p.inputs;
    let (alpha, rho) = (d.alpha, d.rho);
    let (thr, gamma) = (p.thr, p.gamma);
    s.cur.iter_mut().for_each(|c| *c = 0.0);
    let sources = xs
        .iter()
        .map(|&i| i as usize)
        .chain(s.spk_prev.iter().map(|&j| ni + j as usize));
    for src in sources {
        for q in net.out_start[src]..net.out_start[src + 1] {
            s.cur[net.out_post[q] as usize] += net.w[net.out_syn[q] as usize];
        }
    }
    s.spk.clear();
    let inv_thr = 1.0 / thr;
    let scale = gamma * inv_thr;
    // Branch-free (the conditions flip unpredictably), and the spike list is
    // collected in a second pass, so the update vectorises.
    let neurons =
        s.z.iter_mut()
            .zip(s.refr.iter_mut())
            .zip(s.v.iter_mut())
            .zip(s.a.iter_mut())
            .zip(s.psi.iter_mut())
            .zip(s.psi_prev.iter_mut())
            .zip(s.cur.iter().zip(&net.beta));
    for ((((((z, r), v), a), psi), psi_prev), (&cur, &beta)) in neurons {
        let zp = *z;
        let fired = zp != 0.0;
        *r = if fired {
            p.refractory
        } else {
            r.saturating_sub(1)
        };
        *v = flush(alpha * *v + (1.0 - alpha) * cur - zp * thr);
        *a = flush(rho * *a + (1.0 - rho) * zp);
        let a_thr = thr + beta * *a;
        let free = f32::from(u8::from(*r == 0));
        *z = if *v > a_thr { free } else { 0.0 };
        *psi_prev = *psi;
        let h = (1.0 - (*v - a_thr).abs() * inv_thr).max(0.0);
        *psi = scale * h * free;
    }
    for (j, (&z, count)) in s.z.iter().zip(spikes.iter_mut()).enumerate() {
        if z != 0.0 {
            s.spk.push(j as u32);
            *count += 1;
        }
    }
}

/// Step 3: `y ← κ·y + (1−κ)·W_out·z`, and when learning `z̄ ← κ·z̄ + (1−κ)·z`.
#[inline]
fn readout_step(net: &Net, s: &mut Scratch, kappa: f32, learn: bool) {
    let n = net.neurons();
    for k in 0..net.p.outputs {
        let w = &net.w_out[k * n..(k + 1) * n];
        let drive: f32 = s.spk.iter().map(|&j| w[j as usize]).sum();
        s.y[k] = flush(kappa * s.y[k] + (1.0 - kappa) * drive);
    }
    if learn {
        for (zb, &z) in s.zbar.iter_mut().zip(&s.z) {
            *zb = flush(kappa * *zb + z * (1.0 - kappa));
        }
    }
}

/// Step 4 at a step `t` inside the window: the output sums, the error and loss, and
/// when learning the readout gradient and the learning signal.
#[allow(clippy::too_many_arguments)]
#[inline]
fn window_step(
    net: &Net,
    lp: &LearnParams,
    tc: &TrialConst<'_>,
    t: usize,
    s: &mut Scratch,
    out: &mut TrialOut,
    y_sum: &mut [f64],
    learn: bool,
) {
    out.window_steps += 1;
    for (acc, &y) in y_sum.iter_mut().zip(&s.y) {
        *acc += f64::from(y);
    }
    error_and_loss(tc, t, s, out);
    if learn {
        let (n, trial) = (net.neurons(), tc.trial);
        // The task loss is the mean over the window's steps, so its gradient
        // carries 1/|window| (the rate regulariser is a per-trial term).
        let inv = 1.0 / trial.window.len() as f32;
        s.err.iter_mut().for_each(|e| *e *= inv);
        for k in 0..net.p.outputs {
            let row = &mut out.grad_out[k * n..(k + 1) * n];
            let mask = &net.out_mask[k * n..(k + 1) * n];
            for ((g, &zb), &on) in row.iter_mut().zip(&s.zbar).zip(mask) {
                if on {
                    *g += s.err[k] * zb;
                }
            }
        }
        learning_signal(net, lp, s, &tc.injectors);
        if lp.adjoint {
            s.hist.m.extend_from_slice(&s.m);
        }
    }
}

/// The output error `s.err` at window step `t` (softmax minus one-hot, or output
/// minus target) and its loss terms added to `out`.
#[inline]
fn error_and_loss(tc: &TrialConst<'_>, t: usize, s: &mut Scratch, out: &mut TrialOut) {
    let trial = tc.trial;
    match &trial.target {
        Target::Class(label) => {
            let mx = s.y.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
            let z: f64 = s.y.iter().map(|&y| f64::from(y - mx).exp()).sum();
            for k in 0..tc.outputs {
                let pk = f64::from(s.y[k] - mx).exp() / z;
                s.err[k] = (pk - f64::from(u8::from(k == *label))) as f32;
            }
            out.loss += z.ln() - f64::from(s.y[*label] - mx);
        }
        Target::Series(v) => {
            let tv = v[t - trial.window.start];
            s.err[0] = s.y[0] - tv;
            for e in s.err.iter_mut().skip(1) {
                *e = 0.0;
            }
            let e = f64::from(s.err[0]);
            out.loss += 0.5 * e * e;
            out.sq_err += e * e;
            out.target_ss += (f64::from(tv) - tc.target_mean).powi(2);
        }
    }
}

/// The rate regulariser's per-neuron factor `c_reg·(f_j − f_target)/T`, applied to
/// the summed traces (online) or handed to the backward pass (adjoint).
fn rate_regulariser(
    net: &Net,
    trial: &Trial,
    lp: &LearnParams,
    s: &mut Scratch,
    grad: &mut [f32],
    spikes: &[u32],
) {
    let steps = trial.steps.max(1) as f64;
    let c: Vec<f64> = spikes
        .iter()
        .map(|&count| {
            let rate = f64::from(count) / steps;
            f64::from(lp.c_reg) * (rate - f64::from(lp.f_target)) / steps
        })
        .collect();
    if lp.adjoint {
        adjoint::gradient(net, trial, &mut s.hist, &c, grad);
    } else if lp.c_reg != 0.0 {
        for (j, &cj) in c.iter().enumerate() {
            let (lo, hi) = (net.row_start[j], net.row_start[j + 1]);
            for (g, &e) in grad[lo..hi].iter_mut().zip(&s.esum[lo..hi]) {
                *g += cj as f32 * e;
            }
        }
    }
}

/// The trial's spike counts per population and its prediction.
fn finish_out(net: &Net, trial: &Trial, out: &mut TrialOut, spikes: &[u32], y_sum: &[f64]) {
    let n_lif = net.p.n_lif;
    out.spikes_lif = spikes[..n_lif].iter().map(|&c| u64::from(c)).sum();
    out.spikes_alif = spikes[n_lif..].iter().map(|&c| u64::from(c)).sum();
    out.predicted = (0..net.p.outputs)
        .max_by(|&a, &b| y_sum[a].total_cmp(&y_sum[b]).then(b.cmp(&a)))
        .unwrap_or(0);
    out.correct = matches!(trial.target, Target::Class(l) if l == out.predicted);
}

/// `x`, or 0 when `|x| < 2^-100`: a silent neuron's decaying state would otherwise
/// reach subnormal floats (α^1700 < 2^-126 after a single input), whose arithmetic is
/// many times slower; values this small change nothing else.
#[inline(always)]
fn flush(x: f32) -> f32 {
    if x.abs() < 7.9e-31 {
        0.0
    } else {
        x
    }
}

/// Fills `s.m` with this step's learning signal.
fn learning_signal(net: &Net, lp: &LearnParams, s: &mut Scratch, injectors: &[usize]) {
    let n = net.neurons();
    let o = net.p.outputs;
    match lp.condition {
        Condition::Full => {
            for j in 0..n {
                s.m[j] = (0..o).map(|k| net.b_full[k * n + j] * s.err[k]).sum();
            }
        }
        Condition::Sparse | Condition::Diffusion => {
            s.grid.diffuse();
            for &j in injectors {
                let u: f32 = (0..o).map(|k| net.b_sparse[k * n + j] * s.err[k]).sum();
                s.grid.inject(net.cell[j], u);
            }
            for j in 0..n {
                s.m[j] = s.grid.read(net.cell[j]);
            }
        }
    }
}

/// Step 5 over every row (see the module header). Before `ebar_from` the low-pass
/// trace ē is not kept (it only feeds the window's gradient, see [`ebar_start`]).
fn rows(
    net: &Net,
    s: &mut Scratch,
    grad: &mut [f32],
    in_window: bool,
    ebar: bool,
    rho: f32,
    kappa: f32,
) {
    let n = net.neurons();
    for j in 0..n {
        let psi = s.psi[j];
        let pp = s.psi_prev[j];
        let mj = if in_window { s.m[j] } else { 0.0 };
        let alif = net.beta[j] != 0.0;
        if psi == 0.0 && mj == 0.0 && !(alif && pp != 0.0) {
            s.idle[j] += 1;
            continue;
        }
        let idle = s.idle[j] as usize;
        s.idle[j] = 0;
        let c = RowConst {
            psi,
            mj,
            beta: net.beta[j],
            dk: kappa * s.kappa_pow[idle],
            one_k: 1.0 - kappa,
            c1: (1.0 - rho) * pp,
            c2: (rho - (1.0 - rho) * net.beta[j] * pp) * s.rho_pow[idle],
        };
        let (lo, hi) = (net.row_start[j], net.row_start[j + 1]);
        let r = Row {
            src: &net.src[lo..hi],
            ev: &s.ev,
            ea: &mut s.ea[lo..hi],
            ebar: &mut s.ebar[lo..hi],
            esum: &mut s.esum[lo..hi],
            g: &mut grad[lo..hi],
        };
        match (alif, ebar, in_window) {
            (true, false, _) => row::<true, false, false>(r, &c),
            (true, true, false) => row::<true, true, false>(r, &c),
            (true, true, true) => row::<true, true, true>(r, &c),
            (false, false, _) => row::<false, false, false>(r, &c),
            (false, true, false) => row::<false, true, false>(r, &c),
            (false, true, true) => row::<false, true, true>(r, &c),
        }
    }
}

/// The constants of one row at one step.
struct RowConst {
    psi: f32,
    mj: f32,
    beta: f32,
    /// κ·κ^idle: one step of ē decay plus the skipped ones.
    dk: f32,
    one_k: f32,
    /// `(1−ρ)·ψ'` and `(ρ − (1−ρ)·β·ψ')·ρ^idle`.
    c1: f32,
    c2: f32,
}

/// One row's slices.
struct Row<'a> {
    src: &'a [u32],
    /// `[εv(t), εv(t − 1)]` per source.
    ev: &'a [[f32; 2]],
    ea: &'a mut [f32],
    ebar: &'a mut [f32],
    esum: &'a mut [f32],
    g: &'a mut [f32],
}

/// The per-synapse sweep, specialised so that LIF rows skip εa, steps before the ē
/// horizon skip ē, and steps outside the window skip the gradient.
#[inline(always)]
fn row<const ALIF: bool, const EBAR: bool, const GRAD: bool>(r: Row<'_>, c: &RowConst) {
    let it = r
        .src
        .iter()
        .zip(r.ea.iter_mut())
        .zip(r.ebar.iter_mut())
        .zip(r.esum.iter_mut())
        .zip(r.g.iter_mut());
    for ((((&si, ea), ebar), esum), g) in it {
        let [ev, evp] = r.ev[si as usize];
        let e = if ALIF {
            let a = c.c1 * evp + c.c2 * *ea;
            *ea = a;
            c.psi * (ev - c.beta * a)
        } else {
            c.psi * ev
        };
        *esum += e;
        if EBAR {
            let eb = c.dk * *ebar + c.one_k * e;
            *ebar = eb;
            if GRAD {
                *g += c.mj * eb;
            }
        }
    }
}

/// The first step at which ē is kept: `κ^(window.start − start) < 2^-24`, so what ē
/// would carry into the window from earlier steps is below f32 resolution of its
/// value (`horizon` = ⌈τ_out · 24 ln 2⌉ steps before the window; 333 for τ_out = 20).
pub fn ebar_start(window_start: usize, tau_out: f32) -> usize {
    let horizon = (f64::from(tau_out) * 24.0 * std::f64::consts::LN_2).ceil() as usize;
    window_start.saturating_sub(horizon)
}
