//! The chip's e-prop core against the float reference, and the trainer's contracts.

use amine_sim::eprop::{EpropCore, EpropState};
use amine_tasks::eprop::sim::{run_trial, LearnParams, Scratch, TrialOut};
use amine_tasks::eprop::{Condition, Target, TaskGen, TaskKind};
use amine_train::eprop::{
    float_net, template_program, EpropRunConfig, StudyConfig, TemplateOptions, FLOAT_THR,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f64 = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| x * x).sum::<f64>().sqrt();
    dot / (na * nb).max(f64::MIN_POSITIVE)
}

/// One trial's gradient on the chip (the fast backend from the compiled template,
/// per-step or lazy decay) points the same way as the float model's online gradient on
/// the same network (read back from the image) and has its size. (The chip's inputs act
/// one step after they are sent, the float model's in the same step.)
#[test]
fn one_trial_gradient_matches_the_float_reference() {
    let chip = amine_chip::presets::preset("loihi-eprop").unwrap();
    for condition in [Condition::Full, Condition::Diffusion] {
        for lazy in [false, true] {
            let options = TemplateOptions {
                lazy_decay: Some(lazy),
                batch: Some(1),
                ..TemplateOptions::default()
            };
            let mut program = template_program(TaskKind::CueAccumulation, condition, &options);
            program.seed = 3;
            let image =
                amine_compiler::compile_program(program.clone(), std::path::Path::new("."), &chip)
                    .unwrap()
                    .image
                    .into_image();
            let (_, net) = float_net(&image, &program).unwrap();
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
            let core = EpropCore::from_image(&image, &chip).unwrap();
            let mut state = EpropState::new(&core);
            let r = core.run_trial(&mut state, &amine_train::eprop::trial_data(&trial), true);
            let scale = 2f64.powi(20 + 24) * trial.window.len() as f64 * FLOAT_THR;
            let g: Vec<f64> = state.g.iter().map(|&g| g as f64 / scale).collect();
            // The float gradient in the backend's synapse order (by post, then source).
            let mut float = Vec::new();
            for j in 0..net.neurons() {
                let mut row: Vec<(u32, f64)> = (net.row_start[j]..net.row_start[j + 1])
                    .map(|q| (net.src[q], f64::from(out.grad[q])))
                    .collect();
                row.sort_by_key(|x| x.0);
                float.extend(row.into_iter().map(|x| x.1));
            }
            let cos = cosine(&g, &float);
            let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
            let ratio = norm(&g) / norm(&float);
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

/// The template's cue program for the reduced task: trials of 150 steps, the window
/// their last 50, batches of 32.
fn short_cue_program(condition: Condition) -> amine_compiler::program::Program {
    let options = TemplateOptions {
        batch: Some(32),
        ..TemplateOptions::default()
    };
    let mut p = template_program(TaskKind::CueAccumulation, condition, &options);
    if let Some(e) = &mut p.eprop {
        e.trial.steps = 150;
        e.trial.window = (100, 150);
    }
    p
}

fn short_cue_run(condition: Condition, seed: u64) -> EpropRunConfig {
    let task = TaskKind::CueAccumulation;
    EpropRunConfig::new(task, short_cue_program(condition), "template", seed).unwrap()
}

/// The CI check that learning happens on the chip: on the reduced cue task the loss
/// falls and the final accuracy is clearly above chance, under diffusion.
#[test]
fn reduced_cue_task_learns_on_the_chip() {
    let gen = TaskGen::custom(40, 2, 150, short_cue);
    let mut cfg = short_cue_run(Condition::Diffusion, 1);
    cfg.trials = 2400;
    cfg.eval_every = 800;
    cfg.eval_trials = 256;
    cfg.threads = 2;
    let chip = amine_chip::presets::preset("loihi-eprop").unwrap();
    let run = amine_train::eprop::train_eprop_on(&cfg, &gen, &chip, &mut |p| {
        let amine_train::eprop::RunProgress::Point(p) = p else {
            return;
        };
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
    let chip = amine_chip::presets::preset("loihi-eprop").unwrap();
    let runs: Vec<_> = [1, 3]
        .into_iter()
        .map(|threads| {
            let mut cfg = short_cue_run(Condition::Sparse, 4);
            cfg.trials = 96;
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
fn small_cue_study(conditions: Vec<Condition>, first_seed: u64, threads: usize) -> StudyConfig {
    let task = TaskKind::CueAccumulation;
    let options = TemplateOptions {
        batch: Some(32),
        ..TemplateOptions::default()
    };
    let programs = conditions
        .iter()
        .map(|&c| ("template".to_string(), template_program(task, c, &options)))
        .collect();
    let base = short_cue_run(Condition::Diffusion, 1);
    StudyConfig {
        task,
        programs,
        first_seed,
        seeds: 1,
        base,
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
    let chip = amine_chip::presets::preset("loihi-eprop").unwrap();
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
    let chip = amine_chip::presets::preset("loihi-eprop").unwrap();
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

/// A study continued from its finished runs — saved in a checkpoint and read back —
/// equals the uninterrupted study, and reports each run it trains as it finishes.
#[test]
fn a_study_resumed_from_its_finished_runs_equals_the_whole_study() {
    use amine_sim::checkpoint::{self, Identity};
    use amine_train::eprop::{run_study_resumable, EpropRun};
    let mut cfg = small_cue_study(vec![Condition::Diffusion, Condition::Full], 5, 1);
    cfg.base.trials = 32;
    cfg.base.eval_trials = 4;
    let chip = amine_chip::presets::preset("loihi-eprop").unwrap();
    let whole = amine_train::eprop::run_study(&cfg, &chip, &|_, _, _| {}).unwrap();
    let json = amine_train::eprop::report::to_json(&whole);
    // Only the second run finished before the interruption.
    let mut done: Vec<Option<EpropRun>> = vec![None; whole.runs.len()];
    done[1] = Some(whole.runs[1].clone());
    let id = Identity {
        kind: "train-eprop".into(),
        program: "p".into(),
        chip: amine_chip::image::ChipStamp::of(&chip),
        image: 1,
        settings: 2,
        settings_text: "s".into(),
    };
    // As `amine train` saves them: JSON (exact floats; NaN as null) in a checkpoint.
    let bytes = checkpoint::encode(&id, &serde_json::to_string(&done).unwrap());
    let text: String = checkpoint::decode(&bytes, "c", &id).unwrap();
    let done: Vec<Option<EpropRun>> = serde_json::from_str(&text).unwrap();
    let trained = std::sync::Mutex::new(Vec::new());
    let resumed = run_study_resumable(&cfg, &chip, &|_, _, _| {}, done, &|i, _| {
        trained.lock().unwrap().push(i)
    })
    .unwrap();
    assert_eq!(amine_train::eprop::report::to_json(&resumed), json);
    let mut trained = trained.into_inner().unwrap();
    trained.sort();
    assert_eq!(trained, vec![0], "only the unfinished run is trained again");
}
