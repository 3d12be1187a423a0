//! Tests of the e-prop reference: the eligibility traces of one synapse against the
//! equations evaluated independently in f64, the learning-signal conditions, run
//! determinism over thread counts, and a small training run that must learn. (Task
//! generators and the grid have their own tests in `tests_tasks.rs`.)

use super::sim::{ebar_start, run_trial, LearnParams, Scratch, TrialOut};
use super::tasks::{cue_trial, Target, Trial};
use super::*;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// One ALIF neuron (β = `beta`) with two inputs, weights +0.3 and −0.5, readout
/// weight 0 (so y = 0 and the error is `−target`), feedback 1.
fn tiny_net(beta: f32, tau_a: f32) -> Net {
    let p = NetParams {
        n_lif: usize::from(beta == 0.0),
        n_alif: usize::from(beta != 0.0),
        inputs: 2,
        outputs: 1,
        grid_side: 1,
        tau_m: 20.0,
        tau_out: 20.0,
        tau_a,
        thr: 0.03,
        beta,
        gamma: 0.3,
        refractory: 5,
        sigma: 0.012,
        input_density: 1.0,
        readout_density: 1.0,
    };
    Net {
        p,
        cell: vec![0],
        beta: vec![beta],
        row_start: vec![0, 2],
        src: vec![0, 1],
        w: vec![0.3, -0.5],
        out_start: vec![0, 1, 2, 2],
        out_post: vec![0, 0],
        out_syn: vec![0, 1],
        w_out: vec![0.0],
        out_mask: vec![true],
        b_sparse: vec![1.0],
        b_full: vec![1.0],
    }
}

/// A trial of `steps` steps with input `i` firing at the steps in `fire[i]`, a
/// regression target of −1 over `window` (so err = 1 and m = 1 there).
fn tiny_trial(steps: usize, fire: [&[usize]; 2], window: std::ops::Range<usize>) -> Trial {
    let mut spike_start = vec![0u32];
    let mut spikes = Vec::new();
    for t in 0..steps {
        for (i, f) in fire.iter().enumerate() {
            if f.contains(&t) {
                spikes.push(i as u16);
            }
        }
        spike_start.push(spikes.len() as u32);
    }
    Trial {
        steps,
        inputs: 2,
        spike_start,
        spikes,
        target: Target::Series(vec![-1.0; window.len()]),
        window,
    }
}

/// The equations of docs/eprop.md for `tiny_net`, step by step in f64: returns per
/// step `(v, z, ψ, [e_0, e_1], [ē_0, ē_1])`.
type Step = (f64, bool, f64, [f64; 2], [f64; 2]);
fn reference(net: &Net, trial: &Trial) -> Vec<Step> {
    let p = &net.p;
    let alpha = (-1.0 / f64::from(p.tau_m)).exp();
    let rho = (-1.0 / f64::from(p.tau_a)).exp();
    let kappa = (-1.0 / f64::from(p.tau_out)).exp();
    let (thr, beta, gamma) = (f64::from(p.thr), f64::from(p.beta), f64::from(p.gamma));
    let (mut v, mut a, mut r, mut z, mut psi) = (0.0f64, 0.0f64, 0u32, false, 0.0f64);
    let (mut ev, mut ea, mut eb) = ([0.0f64; 2], [0.0f64; 2], [0.0f64; 2]);
    let mut steps = Vec::new();
    for t in 0..trial.steps {
        let x = [0, 1].map(|i| f64::from(u8::from(trial.spikes_at(t).contains(&i))));
        let ev_prev = ev;
        for i in 0..2 {
            ev[i] = alpha * ev[i] + (1.0 - alpha) * x[i];
        }
        let zp = f64::from(u8::from(z));
        r = if z { p.refractory } else { r.saturating_sub(1) };
        v = alpha * v + (1.0 - alpha) * (0.3 * x[0] - 0.5 * x[1]) - zp * thr;
        a = rho * a + (1.0 - rho) * zp;
        let big_a = thr + beta * a;
        let psi_prev = psi;
        z = r == 0 && v > big_a;
        psi = if r == 0 {
            gamma / thr * (1.0 - (v - big_a).abs() / thr).max(0.0)
        } else {
            0.0
        };
        let mut e = [0.0; 2];
        for i in 0..2 {
            ea[i] =
                (1.0 - rho) * psi_prev * ev_prev[i] + (rho - (1.0 - rho) * beta * psi_prev) * ea[i];
            e[i] = psi * (ev[i] - beta * ea[i]);
            eb[i] = kappa * eb[i] + (1.0 - kappa) * e[i];
        }
        steps.push((v, z, psi, e, eb));
    }
    steps
}

fn learn(c_reg: f32, f_target: f32) -> LearnParams {
    LearnParams {
        condition: Condition::Full,
        k: 0.0,
        c_reg,
        f_target,
        truncate_ebar: false,
        adjoint: false,
    }
}

/// Runs `trial` on `net` and returns the per-synapse gradient.
fn grad_of(net: &Net, trial: &Trial, lp: &LearnParams) -> Vec<f32> {
    let mut s = Scratch::new(net, lp.k, trial.steps);
    let mut out = TrialOut::default();
    run_trial(net, trial, lp, &mut s, &mut out, true);
    out.grad
}

/// `a` equals `b` up to f32 rounding, relative to `scale` (the size of the values
/// the compared one is computed from: a difference of traces can be much smaller than
/// the traces, and carries their rounding).
fn close(a: f64, b: f64, scale: f64, what: &str) {
    let tol = 1e-5 * scale.max(b.abs());
    assert!((a - b).abs() <= tol, "{what}: got {a}, expected {b}");
}

#[test]
fn first_step_traces_by_hand() {
    // Input 0 fires at step 0 into an ALIF neuron at rest: εv_0 = 1 − α,
    // v = (1 − α)·0.3, A = thr, ψ = (0.3/0.03)·(1 − |v − 0.03|/0.03), εa = 0 (ψ' = 0),
    // e_0 = ψ·εv_0, ē_0 = (1 − κ)·e_0.
    let one_m_alpha = 1.0 - (-1.0f64 / 20.0).exp(); // 0.048771
    let v = one_m_alpha * 0.3; // 0.014631
    let psi = 10.0 * (1.0 - (v - 0.03f64).abs() / 0.03); // 4.8771
    let e0 = psi * one_m_alpha; // 0.237861
    let ebar0 = one_m_alpha * e0; // (1 − κ) = (1 − α) here: τ_out = τ_m
    assert!((e0 - 0.237_86).abs() < 1e-5 && (ebar0 - 0.011_601).abs() < 1e-5);
    let net = tiny_net(1.8, 2000.0);
    let trial = tiny_trial(1, [&[0], &[]], 0..1);
    let g = grad_of(&net, &trial, &learn(0.0, 0.0));
    close(f64::from(g[0]), ebar0, ebar0, "ē_0 at step 0");
    assert_eq!(g[1], 0.0, "input 1 never fired");
}

#[test]
fn eligibility_traces_match_the_equations_step_by_step() {
    // Input 0 drives the neuron over threshold (a spike, refractoriness, adaptation),
    // input 1 pushes v below 0 so ψ = 0 for a while (the lazy-decay path), then input
    // 0 brings it back. A short τ_a makes ρ visibly < 1.
    let fire0: &[usize] = &[0, 1, 2, 3, 4, 14, 22, 23, 24, 25, 26];
    let fire1: &[usize] = &[8, 9];
    for (beta, tau_a) in [(1.8, 40.0), (0.0, 40.0)] {
        let net = tiny_net(beta, tau_a);
        let full = tiny_trial(40, [fire0, fire1], 0..40);
        let want = reference(&net, &full);
        assert!(
            want.iter().any(|s| s.1),
            "the neuron must spike in this sequence"
        );
        assert!(
            want.iter().filter(|s| s.2 == 0.0).count() > 5,
            "ψ must be 0 for some steps"
        );
        let scale = want
            .iter()
            .flat_map(|s| s.4)
            .fold(0.0f64, |m, x| m.max(x.abs()));
        // Window = the last step only: the gradient is that step's ē (m = err = 1).
        for (steps, adjoint) in (1..=40).flat_map(|s| [(s, false), (s, true)]) {
            let trial = tiny_trial(steps, [fire0, fire1], steps - 1..steps);
            let lp = LearnParams {
                adjoint,
                ..learn(0.0, 0.0)
            };
            let g = grad_of(&net, &trial, &lp);
            for (i, &gi) in g.iter().enumerate() {
                close(
                    f64::from(gi),
                    want[steps - 1].4[i],
                    scale,
                    &format!("β {beta}, adjoint {adjoint}: ē_{i} at step {}", steps - 1),
                );
            }
        }
        // Window = whole trial and a rate regulariser:
        // (1/T)·Σ_t ē + c_reg·(f − f0)/T·Σ_t e (the task loss is a mean over the window).
        let t = full.steps as f64;
        let rate = want.iter().filter(|s| s.1).count() as f64 / t;
        for (adjoint, (i, gi)) in [false, true].into_iter().flat_map(|adjoint| {
            let lp = LearnParams {
                adjoint,
                ..learn(0.5, 0.2)
            };
            grad_of(&net, &full, &lp)
                .into_iter()
                .enumerate()
                .map(move |x| (adjoint, x))
        }) {
            let sum_eb: f64 = want.iter().map(|s| s.4[i]).sum();
            let sum_e: f64 = want.iter().map(|s| s.3[i]).sum();
            let expect = sum_eb / t + 0.5 * (rate - 0.2f32 as f64) / t * sum_e;
            close(
                f64::from(gi),
                expect,
                scale,
                &format!("β {beta}, adjoint {adjoint}: gradient {i}"),
            );
        }
    }
}

#[test]
fn adjoint_gradient_equals_the_online_traces() {
    // A trained-looking network (inputs scaled up so neurons spike), every condition,
    // the regulariser on, both tasks' windows.
    let mut net = cue_net(8);
    net.w.iter_mut().for_each(|w| *w *= 3.0);
    let dm = super::tasks::delayed_match_trial(&mut ChaCha8Rng::seed_from_u64(2)).0;
    let cue = cue_trial(&mut ChaCha8Rng::seed_from_u64(1)).0;
    for trial in [cue, dm] {
        for (condition, k) in [
            (Condition::Full, 0.0),
            (Condition::Sparse, 0.0),
            (Condition::Diffusion, 0.75),
        ] {
            let mut lp = LearnParams {
                condition,
                k,
                ..learn(0.005, 0.01)
            };
            let mut s = Scratch::new(&net, k, trial.steps);
            let mut online = TrialOut::default();
            run_trial(&net, &trial, &lp, &mut s, &mut online, true);
            lp.adjoint = true;
            let mut fast = TrialOut::default();
            run_trial(&net, &trial, &lp, &mut s, &mut fast, true);
            assert!(online.spikes_lif + online.spikes_alif > 100);
            assert_eq!(online.grad_out, fast.grad_out);
            assert_eq!(online.loss, fast.loss);
            let scale = online.grad.iter().fold(0.0f32, |m, g| m.max(g.abs()));
            assert!(scale > 0.0);
            for (sy, (a, b)) in online.grad.iter().zip(&fast.grad).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-4 * scale,
                    "{condition:?} synapse {sy}: online {a}, adjoint {b} (scale {scale})"
                );
            }
        }
    }
}

fn cue_net(seed: u64) -> Net {
    let cfg = EpropConfig::new(TaskKind::CueAccumulation, Condition::Full);
    Net::new(&cfg.net, &mut ChaCha8Rng::seed_from_u64(seed)).unwrap()
}

#[test]
fn truncated_ebar_matches_the_full_sum_to_f32_resolution() {
    let net = cue_net(3);
    let (trial, _) = cue_trial(&mut ChaCha8Rng::seed_from_u64(4));
    assert_eq!(ebar_start(1900, 20.0), 1900 - 333);
    let mut lp = learn(0.0, 0.0);
    let exact = grad_of(&net, &trial, &lp);
    lp.truncate_ebar = true;
    let fast = grad_of(&net, &trial, &lp);
    let scale = exact.iter().fold(0.0f32, |m, g| m.max(g.abs()));
    assert!(scale > 0.0);
    for (a, b) in exact.iter().zip(&fast) {
        assert!((a - b).abs() <= 1e-4 * scale, "{a} vs {b}");
    }
}

#[test]
fn sparse_feedback_reaches_only_readout_neurons_and_diffusion_spreads_it() {
    let net = cue_net(5);
    let n = net.neurons();
    let readers: Vec<bool> = (0..n)
        .map(|j| (0..2).any(|k| net.b_sparse[k * n + j] != 0.0))
        .collect();
    let (trial, _) = cue_trial(&mut ChaCha8Rng::seed_from_u64(6));
    let row_nonzero = |g: &[f32], j: usize| {
        g[net.row_start[j]..net.row_start[j + 1]]
            .iter()
            .any(|&x| x != 0.0)
    };
    let mut lp = learn(0.0, 0.0);
    lp.condition = Condition::Sparse;
    let g = grad_of(&net, &trial, &lp);
    for (j, _) in readers.iter().enumerate().filter(|(_, &r)| !r) {
        assert!(!row_nonzero(&g, j), "neuron {j} has no readout weight");
    }
    assert!((0..n).any(|j| readers[j] && row_nonzero(&g, j)));
    lp.condition = Condition::Diffusion;
    lp.k = 0.75;
    let g = grad_of(&net, &trial, &lp);
    let reached = (0..n)
        .filter(|&j| !readers[j] && row_nonzero(&g, j))
        .count();
    assert!(
        reached > 10,
        "diffusion reached only {reached} non-readout neurons"
    );
}

#[test]
fn network_matches_its_description() {
    let net = cue_net(7);
    let n = net.neurons();
    let (inp, rec) = net.synapse_counts();
    assert_eq!(inp, 400); // 10 % of 40 × 100
    let d = net.recurrent_density();
    assert!((0.07..0.14).contains(&d), "recurrent density {d}");
    let mut cells = net.cell.clone();
    cells.sort_unstable();
    cells.dedup();
    assert_eq!(cells.len(), n, "cells are distinct");
    for j in 0..n {
        let row = &net.src[net.row_start[j]..net.row_start[j + 1]];
        assert!(row.windows(2).all(|w| w[0] < w[1]), "sorted, no duplicates");
        assert!(!row.contains(&((40 + j) as u32)), "no self-connection");
    }
    assert_eq!(rec + inp, net.synapses());
    for k in 0..2 {
        let m = net.out_mask[k * n..(k + 1) * n]
            .iter()
            .filter(|&&b| b)
            .count();
        assert_eq!(m, 10, "each output reads 10 % of the neurons");
    }
    assert!(net
        .w_out
        .iter()
        .zip(&net.out_mask)
        .all(|(&w, &m)| m || w == 0.0));
    assert_eq!(net.b_sparse, net.w_out);
    assert!(net.b_full.iter().all(|&b| b != 0.0));
}

/// Which of two input groups fired (100 Hz for 60 ms), answered during the last 40
/// of those steps: a task a working pipeline learns in a few hundred trials.
fn smoke_trial(rng: &mut ChaCha8Rng) -> Trial {
    let label = usize::from(rng.random::<bool>());
    let mut spike_start = vec![0u32];
    let mut spikes = Vec::new();
    for _ in 0..60 {
        for i in 0..20u16 {
            let p = if usize::from(i / 10) == label {
                0.1
            } else {
                0.0
            };
            if rng.random::<f64>() < p {
                spikes.push(i);
            }
        }
        spike_start.push(spikes.len() as u32);
    }
    Trial {
        steps: 60,
        inputs: 20,
        spike_start,
        spikes,
        target: Target::Class(label),
        window: 20..60,
    }
}

fn smoke_config(condition: Condition, threads: usize) -> EpropConfig {
    let mut cfg = EpropConfig::new(TaskKind::CueAccumulation, condition);
    cfg.net.inputs = 20;
    cfg.net.input_density = 0.3;
    cfg.trials = 1600;
    cfg.batch = 16;
    cfg.eval_every = 400;
    cfg.eval_trials = 200;
    cfg.lr = 0.01;
    cfg.threads = threads;
    cfg
}

#[test]
fn a_small_run_learns_under_every_condition() {
    let gen = TaskGen::custom(20, 2, 60, smoke_trial);
    for condition in [Condition::Full, Condition::Diffusion, Condition::Sparse] {
        let cfg = smoke_config(condition, 1);
        let r = train_on(&cfg, &gen, &mut |_| {}).unwrap();
        let first = &r.curve[0].train;
        let last = r.curve.last().unwrap().eval.clone().unwrap();
        assert!(
            last.loss < 0.8 * first.loss,
            "{condition:?}: loss {} → {}",
            first.loss,
            last.loss
        );
        assert!(
            last.accuracy > 0.8,
            "{condition:?}: accuracy {}",
            last.accuracy
        );
    }
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let gen = TaskGen::custom(20, 2, 60, smoke_trial);
    let mut cfg = smoke_config(Condition::Diffusion, 1);
    cfg.trials = 96;
    cfg.eval_every = 32;
    cfg.eval_trials = 20;
    // Compared as text: the regression-only fields are NaN, and NaN ≠ NaN.
    let one = format!("{:?}", train_on(&cfg, &gen, &mut |_| {}).unwrap());
    for threads in [2, 3, 7] {
        cfg.threads = threads;
        let other = format!("{:?}", train_on(&cfg, &gen, &mut |_| {}).unwrap());
        assert_eq!(other, one, "{threads} threads");
    }
}

#[test]
fn bad_configurations_and_trials_are_errors() {
    let base = EpropConfig::new(TaskKind::CueAccumulation, Condition::Diffusion);
    let mut bad = vec![];
    let mut c = base.clone();
    c.batch = 0;
    bad.push(c);
    let mut c = base.clone();
    c.net.n_lif = 200; // 250 neurons on a 10×10 grid
    bad.push(c);
    let mut c = base.clone();
    c.lr = f32::NAN;
    bad.push(c);
    let mut c = base.clone();
    c.net.inputs = 41;
    bad.push(c);
    let mut c = base.clone();
    c.net.thr = 0.0;
    bad.push(c);
    for c in bad {
        let e = train(&c, &mut |_| {}).unwrap_err();
        assert!(
            matches!(e.kind(), crate::ErrorKind::Config { .. }),
            "{c:?}: {e}"
        );
    }
    // A custom trial with an input beyond the network's is refused, not simulated.
    fn wide(rng: &mut ChaCha8Rng) -> Trial {
        let mut t = smoke_trial(rng);
        t.spikes.push(25);
        *t.spike_start.last_mut().unwrap() += 1;
        t
    }
    let cfg = smoke_config(Condition::Full, 2);
    let e = train_on(&cfg, &TaskGen::custom(20, 2, 60, wide), &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("inputs must be below 20"), "{e}");
}
