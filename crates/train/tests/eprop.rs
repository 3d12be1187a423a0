//! The chip's e-prop core against the float reference, and the trainer's contracts.

use amine_sim::eprop::{CoreOptions, EpropCore, EpropState};
use amine_tasks::eprop::sim::{run_trial, LearnParams, Scratch, TrialOut};
use amine_tasks::eprop::{Condition, EpropConfig, Net, Target, TaskGen, TaskKind};
use amine_train::eprop::core_net;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f64 = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| x * x).sum::<f64>().sqrt();
    dot / (na * nb).max(f64::MIN_POSITIVE)
}

/// One trial's gradient on the core (fixed point, strict per-step decay or lazy)
/// points the same way as the float model's online gradient and has its size.
#[test]
fn one_trial_gradient_matches_the_float_reference() {
    for condition in [Condition::Full, Condition::Diffusion] {
        let cfg = EpropConfig::new(TaskKind::CueAccumulation, condition);
        let net = Net::new(&cfg.net, &mut ChaCha8Rng::seed_from_u64(3)).unwrap();
        let gen = TaskGen::new(TaskKind::CueAccumulation, 3);
        let trial = gen.trial(&mut ChaCha8Rng::seed_from_u64(11));
        let lp = LearnParams {
            condition,
            k: if condition == Condition::Diffusion {
                0.75
            } else {
                0.0
            },
            c_reg: 0.005,
            f_target: 0.01,
            truncate_ebar: true,
            adjoint: false,
        };
        let mut scratch = Scratch::new(&net, lp.k, trial.steps);
        let mut out = TrialOut::default();
        run_trial(&net, &trial, &lp, &mut scratch, &mut out, true);
        for lazy in [false, true] {
            let opts = CoreOptions {
                lazy_decay: lazy,
                batch: 1,
                window: trial.window.len(),
                ..CoreOptions::default()
            };
            let core = EpropCore::new(&core_net(&net, condition, 0.75), &opts).unwrap();
            let mut state = EpropState::new(&core);
            let data = amine_train::eprop::trial_data(&trial);
            let r = core.run_trial(&mut state, &data, true);
            let scale = 2f64.powi(i32::from(core.options().frac_bits) + 24)
                * trial.window.len() as f64
                * 0.03;
            let chip: Vec<f64> = state.g.iter().map(|&g| g as f64 / scale).collect();
            let float: Vec<f64> = out.grad.iter().map(|&g| f64::from(g)).collect();
            let cos = cosine(&chip, &float);
            let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
            let ratio = norm(&chip) / norm(&float);
            eprintln!(
                "{condition:?} lazy {lazy}: cos {cos:.4} |chip|/|float| {ratio:.3} spikes chip {} float {}",
                r.spikes_lif + r.spikes_alif,
                out.spikes_lif + out.spikes_alif
            );
            assert!(cos > 0.9, "{condition:?} lazy {lazy}: cosine {cos}");
            assert!(
                (0.7..1.4).contains(&ratio),
                "{condition:?} lazy {lazy}: ratio {ratio}"
            );
            let out_scale = 2f64.powi(32) * trial.window.len() as f64;
            let chip_out: Vec<f64> = state.g_out.iter().map(|&g| g as f64 / out_scale).collect();
            let float_out: Vec<f64> = out.grad_out.iter().map(|&g| f64::from(g)).collect();
            let cos_out = cosine(&chip_out, &float_out);
            assert!(cos_out > 0.9, "{condition:?} readout cosine {cos_out}");
        }
    }
}

/// A reduced cue task for CI: one 150 ms cue (left or right group at 40 Hz) whose
/// last 50 ms are the recall window (recall group at 40 Hz); background 10 Hz; label
/// = the cue's side. The cue-accumulation input layout, without the memory demand.
fn short_cue(rng: &mut ChaCha8Rng) -> amine_tasks::eprop::Trial {
    use rand::RngExt;
    let steps = 150;
    let side = usize::from(rng.random::<bool>());
    let mut spike_start = vec![0u32];
    let mut spikes = Vec::new();
    for t in 0..steps {
        for i in 0..40u16 {
            let g = usize::from(i / 10);
            let hz = match g {
                0 | 1 if g == side => 40.0,
                2 if t >= 100 => 40.0,
                3 => 10.0,
                _ => 0.0,
            };
            if rng.random::<f64>() < hz / 1000.0 {
                spikes.push(i);
            }
        }
        spike_start.push(spikes.len() as u32);
    }
    amine_tasks::eprop::Trial {
        steps,
        inputs: 40,
        spike_start,
        spikes,
        target: Target::Class(side),
        window: 100..150,
    }
}

/// The CI check that learning happens on the chip: on the reduced cue task the loss
/// falls and the final accuracy is clearly above chance, under diffusion.
#[test]
fn reduced_cue_task_learns_on_the_chip() {
    let gen = TaskGen::custom(40, 2, 150, short_cue);
    let mut cfg =
        amine_train::eprop::EpropRunConfig::new(TaskKind::CueAccumulation, Condition::Diffusion, 1);
    cfg.trials = 2400;
    cfg.batch = 32;
    cfg.eval_every = 800;
    cfg.eval_trials = 256;
    cfg.threads = 2;
    let chip = amine_chip::presets::preset("loihi").unwrap();
    let run = amine_train::eprop::train_eprop_on(&cfg, &gen, &chip, &mut |p| {
        eprintln!(
            "{} {:?}",
            p.trials,
            p.eval.as_ref().map(|e| (e.accuracy, e.loss, e.rate_lif_hz))
        );
    })
    .unwrap();
    let first = run.curve.first().unwrap().train.loss;
    let last = run.curve.last().unwrap().train.loss;
    assert!(last < first - 0.05, "training loss {first} → {last}");
    assert!(
        run.final_eval.accuracy > 0.7,
        "final accuracy {}",
        run.final_eval.accuracy
    );
}

/// A run is bit-identical for 1 and 3 threads (integer gradients, per-trial seeds).
#[test]
fn runs_do_not_depend_on_the_thread_count() {
    let gen = TaskGen::custom(40, 2, 150, short_cue);
    let chip = amine_chip::presets::preset("loihi").unwrap();
    let runs: Vec<_> = [1, 3]
        .into_iter()
        .map(|threads| {
            let mut cfg = amine_train::eprop::EpropRunConfig::new(
                TaskKind::CueAccumulation,
                Condition::Sparse,
                4,
            );
            cfg.trials = 96;
            cfg.batch = 32;
            cfg.eval_every = 32;
            cfg.eval_trials = 10;
            cfg.threads = threads;
            amine_train::eprop::train_eprop_on(&cfg, &gen, &chip, &mut |_| {}).unwrap()
        })
        .collect();
    // Debug text, since NaN (the regression metric of a classification run) ≠ NaN.
    let text = |r: &amine_train::eprop::EpropRun| {
        format!(
            "{:?} {:?} {:?}",
            r.curve, r.final_eval, r.per_training_trial
        )
    };
    assert_eq!(text(&runs[0]), text(&runs[1]));
    assert_eq!(runs[0].strip, runs[1].strip);
    assert!(runs[0].weights_changed > 0);
}

/// A one-seed cue-accumulation study of `conditions` in batches of 32 (the tests set
/// the trial counts).
fn small_cue_study(
    conditions: Vec<Condition>,
    first_seed: u64,
    threads: usize,
) -> amine_train::eprop::StudyConfig {
    let mut base =
        amine_train::eprop::EpropRunConfig::new(TaskKind::CueAccumulation, Condition::Diffusion, 1);
    base.batch = 32;
    amine_train::eprop::StudyConfig {
        task: TaskKind::CueAccumulation,
        conditions,
        first_seed,
        seeds: 1,
        base,
        lr: None,
        threads,
    }
}

/// A study saved as JSON (NaN written as `null`) loads back to the same study.
#[test]
fn a_study_round_trips_through_json() {
    let mut cfg = small_cue_study(vec![Condition::Diffusion, Condition::Full], 7, 2);
    cfg.base.trials = 32;
    cfg.base.eval_trials = 4;
    cfg.base.snapshots = 3;
    let chip = amine_chip::presets::preset("loihi").unwrap();
    let study = amine_train::eprop::run_study(&cfg, &chip, &|_, _, _| {}).unwrap();
    let text = amine_train::eprop::report::to_json(&study);
    assert!(
        text.contains("null"),
        "the classification study has NaN NMSEs"
    );
    let back: amine_train::eprop::EpropStudy = serde_json::from_str(&text).unwrap();
    // serde_json parses floats to within an ulp, so compare what it writes.
    assert!(
        amine_train::eprop::report::to_json(&back) == text,
        "the reloaded study differs"
    );
    assert_eq!(back.runs[0].strip.frames.len(), 3);
}

/// A study whose runs do not divide among the threads (3 runs on 2: two side by side,
/// the last split over both) gives the runs it gives on one thread.
#[test]
fn a_study_splits_its_last_runs_without_changing_them() {
    let cfg = |threads| {
        let all = vec![Condition::Diffusion, Condition::Sparse, Condition::Full];
        let mut cfg = small_cue_study(all, 3, threads);
        cfg.base.trials = 64;
        cfg.base.eval_trials = 8;
        cfg.base.eval_every = 32;
        cfg
    };
    let chip = amine_chip::presets::preset("loihi").unwrap();
    let run = |threads| {
        let study = amine_train::eprop::run_study(&cfg(threads), &chip, &|_, _, _| {}).unwrap();
        assert_eq!(study.runs.len(), 3);
        amine_train::eprop::report::to_json(&study)
    };
    let one = run(1);
    assert!(
        one.contains("\"weights_changed\""),
        "the report lists the runs"
    );
    assert_eq!(run(2), one);
}
