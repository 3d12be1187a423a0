//! A study: several conditions × several seeds of one task, run side by side on
//! `threads` threads (one run per thread at a time, and the last few, fewer than the
//! threads, each split over all of them; a run's result does not depend on which or how
//! many threads ran it), summarised per condition as mean ± standard deviation over
//! seeds.

use super::{train_eprop, EpropRun, EpropRunConfig, RunProgress};
use crate::error::Error;
use amine_chip::{ChipConfig, ChipIdentity};
use amine_compiler::program::Program;
use amine_tasks::eprop::{Condition, TaskKind};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::sync::Mutex;

/// What to run.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyConfig {
    pub task: TaskKind,
    /// One program per group of runs, with where it came from; its condition names the
    /// group (each condition once).
    pub programs: Vec<(String, Program)>,
    /// Seeds `first_seed..first_seed + seeds`.
    pub first_seed: u64,
    pub seeds: usize,
    /// Every run's settings (task, program, condition and seed are filled in per run).
    pub base: EpropRunConfig,
    /// Runs in parallel.
    pub threads: usize,
}

/// Mean ± sd over seeds of one condition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConditionSummary {
    pub condition: Condition,
    pub seeds: Vec<u64>,
    /// Final evaluation per seed: accuracy (classification) or normalised MSE.
    pub finals: Vec<f64>,
    #[serde(deserialize_with = "super::nan_if_null")]
    pub mean: f64,
    #[serde(deserialize_with = "super::nan_if_null")]
    pub sd: f64,
    /// Per curve point: trials seen, mean and sd of the evaluation metric.
    pub curve: Vec<(usize, f64, f64)>,
    #[serde(deserialize_with = "super::nan_if_null")]
    pub rate_lif_hz: f64,
    #[serde(deserialize_with = "super::nan_if_null")]
    pub rate_alif_hz: f64,
    pub energy_per_training_trial_pj: f64,
    pub energy_per_inference_trial_pj: f64,
    pub latency_per_training_trial_s: f64,
    pub latency_per_inference_trial_s: f64,
    /// The float reference's final metric per seed, when it ran.
    pub float_finals: Vec<f64>,
}

/// Every run and the per-condition summaries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpropStudy {
    pub task: TaskKind,
    /// The chip configuration every run was compiled for and priced on: name, file,
    /// fingerprints, overrides (the caller names the file; see [`EpropStudy::named`]).
    pub chip: ChipIdentity,
    /// The programs, as given (a file, or `template`).
    pub sources: Vec<String>,
    pub classification: bool,
    pub runs: Vec<EpropRun>,
    pub summaries: Vec<ConditionSummary>,
}

impl EpropStudy {
    /// The study with its chip configuration (and every run's) named by `identity` —
    /// where the configuration came from and the overrides applied, which only the
    /// caller knows. `identity` must be that of the configuration the study ran on.
    pub fn named(mut self, identity: &ChipIdentity) -> EpropStudy {
        self.chip = identity.clone();
        for r in &mut self.runs {
            r.chip = identity.clone();
        }
        self
    }
}

/// Mean and sample standard deviation (NaN for no values, sd 0 for one).
pub(crate) fn mean_sd(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    if x.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let m = x.iter().sum::<f64>() / n;
    let v = if x.len() > 1 {
        x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (m, v.sqrt())
}

fn metric(classification: bool, s: &super::Stats) -> f64 {
    if classification {
        s.accuracy
    } else {
        s.nmse
    }
}

/// Runs the study; `on_progress(condition, seed, progress)` sees every batch and every
/// curve point of every run.
pub fn run_study(
    cfg: &StudyConfig,
    chip: &ChipConfig,
    on_progress: &(dyn Fn(Condition, u64, RunProgress) + Sync),
) -> Result<EpropStudy, Error> {
    run_study_resumable(cfg, chip, on_progress, Vec::new(), &|_, _| {})
}

/// [`run_study`] that can continue: `done[i]`, when given, is job `i`'s finished run
/// (jobs in study order: programs, then seeds), used as it is instead of training it
/// again; `on_run(i, run)` sees each run as it finishes (to checkpoint it). Runs are
/// independent and deterministic, so a study continued this way equals an
/// uninterrupted one.
pub fn run_study_resumable(
    cfg: &StudyConfig,
    chip: &ChipConfig,
    on_progress: &(dyn Fn(Condition, u64, RunProgress) + Sync),
    done: Vec<Option<EpropRun>>,
    on_run: &(dyn Fn(usize, &EpropRun) + Sync),
) -> Result<EpropStudy, Error> {
    let mut jobs: Vec<EpropRunConfig> = Vec::new();
    let mut conditions = Vec::new();
    for (source, program) in &cfg.programs {
        let condition = super::settings(program)?.condition;
        if conditions.contains(&condition) {
            return Err(Error::new(crate::error::ErrorKind::Settings {
                message: format!(
                    "two programs of the {} condition in one study",
                    super::report::condition_name(condition)
                ),
            }));
        }
        conditions.push(condition);
        for i in 0..cfg.seeds as u64 {
            jobs.push(EpropRunConfig {
                task: cfg.task,
                condition,
                seed: cfg.first_seed + i,
                source: source.clone(),
                program: program.clone(),
                ..cfg.base.clone()
            });
        }
    }
    if !done.is_empty() && done.len() != jobs.len() {
        return Err(Error::new(crate::error::ErrorKind::Settings {
            message: format!(
                "the saved progress has {} runs, this study {}",
                done.len(),
                jobs.len()
            ),
        }));
    }
    let results: Mutex<Vec<Option<Result<EpropRun, Error>>>> = Mutex::new(
        (0..jobs.len())
            .map(|i| done.get(i).cloned().flatten().map(Ok))
            .collect(),
    );
    let finished = |i: usize| results.lock().map(|all| all[i].is_some()).unwrap_or(false);
    let threads = cfg.threads.clamp(1, jobs.len().max(1));
    let store = |i: usize, r: Result<EpropRun, Error>| {
        if let Ok(run) = &r {
            on_run(i, run);
        }
        if let Ok(mut all) = results.lock() {
            all[i] = Some(r);
        }
    };
    // Whole runs side by side while every thread can have one; the last
    // `jobs % threads` runs (which would leave threads idle) one after another, each
    // with its batches split over all the threads (results do not depend on the split).
    let side_by_side = jobs.len() - jobs.len() % threads;
    let run = |i: usize| {
        let job = &jobs[i];
        if !finished(i) {
            store(
                i,
                train_eprop(job, chip, &mut |p| on_progress(job.condition, job.seed, p)),
            );
        }
    };
    if threads == 1 {
        (0..side_by_side).for_each(run);
    } else {
        // One run per task on the process's pool.
        (0..side_by_side)
            .into_par_iter()
            .with_max_len(1)
            .for_each(run);
    }
    for (i, job) in jobs.iter().enumerate().skip(side_by_side) {
        if finished(i) {
            continue;
        }
        let job = EpropRunConfig {
            threads: job.threads * threads,
            ..job.clone()
        };
        let r = train_eprop(&job, chip, &mut |p| on_progress(job.condition, job.seed, p));
        // Report the run's settings as asked (the split does not change its result).
        store(
            i,
            r.map(|mut run| {
                run.config.threads = jobs[i].threads;
                run
            }),
        );
    }
    let mut runs = Vec::new();
    for r in results.into_inner().unwrap_or_default() {
        match r {
            Some(Ok(run)) => runs.push(run),
            Some(Err(e)) => return Err(e),
            None => {}
        }
    }
    let classification = cfg.task != TaskKind::PatternGeneration;
    let summaries = conditions
        .iter()
        .map(|&c| summarise(c, &runs, classification))
        .collect();
    Ok(EpropStudy {
        task: cfg.task,
        chip: ChipIdentity::of(chip, "(given in memory)", &[]),
        sources: cfg.programs.iter().map(|p| p.0.clone()).collect(),
        classification,
        runs,
        summaries,
    })
}

fn summarise(condition: Condition, runs: &[EpropRun], classification: bool) -> ConditionSummary {
    let mine: Vec<&EpropRun> = runs
        .iter()
        .filter(|r| r.config.condition == condition)
        .collect();
    let finals: Vec<f64> = mine
        .iter()
        .map(|r| metric(classification, &r.final_eval))
        .collect();
    let (mean, sd) = mean_sd(&finals);
    let points = mine.iter().map(|r| r.curve.len()).min().unwrap_or(0);
    let curve = (0..points)
        .map(|i| {
            let v: Vec<f64> = mine
                .iter()
                .filter_map(|r| r.curve[i].eval.as_ref().map(|e| metric(classification, e)))
                .collect();
            let (m, s) = mean_sd(&v);
            (mine[0].curve[i].trials, m, s)
        })
        .collect();
    let avg =
        |f: &dyn Fn(&EpropRun) -> f64| mean_sd(&mine.iter().map(|r| f(r)).collect::<Vec<_>>()).0;
    ConditionSummary {
        condition,
        seeds: mine.iter().map(|r| r.config.seed).collect(),
        finals,
        mean,
        sd,
        curve,
        rate_lif_hz: avg(&|r| r.final_eval.rate_lif_hz),
        rate_alif_hz: avg(&|r| r.final_eval.rate_alif_hz),
        energy_per_training_trial_pj: avg(&|r| r.per_training_trial.energy_pj),
        energy_per_inference_trial_pj: avg(&|r| r.per_inference_trial.energy_pj),
        latency_per_training_trial_s: avg(&|r| r.per_training_trial.latency_s),
        latency_per_inference_trial_s: avg(&|r| r.per_inference_trial.latency_s),
        float_finals: mine
            .iter()
            .filter_map(|r| r.float_final.as_ref().map(|f| metric(classification, f)))
            .collect(),
    }
}
