//! Trains the e-prop float reference and prints the learning curve, the final figures
//! (final values, not best) and the simulation speed; the figures in docs/eprop.md
//! come from this binary.
//!
//! Options: `--task cue-accumulation|delayed-match|pattern-generation`,
//! `--condition diffusion|sparse|full`, `--seeds N` (seeds 1..=N), `--seed S` (first
//! seed), `--trials N`, `--batch N`, `--lr X`, `--optimizer sgd|adam`,
//! `--lr-groups IN,REC,OUT` (SGD rates per weight group), `--k X`, `--c-reg X`,
//! `--eval-every N`, `--eval-trials N`, `--threads N`, `--online` (gradient from the
//! online per-synapse traces instead of the backward pass: same result, slower).

use amine_tasks::eprop::{self, Condition, EpropConfig, Optimizer, TaskKind};
use std::time::Instant;

mod common;

fn main() {
    common::main_with(run);
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = common::Args::from_env();
    let opt = |name: &str| args.opt(name);
    let num = |name: &str, default: f64| args.num(name, default);
    let task = TaskKind::parse(&opt("--task").unwrap_or_else(|| "cue-accumulation".into()))?;
    let condition = Condition::parse(&opt("--condition").unwrap_or_else(|| "diffusion".into()))?;
    let mut cfg = EpropConfig::new(task, condition);
    cfg.trials = num("--trials", cfg.trials as f64)? as usize;
    cfg.batch = num("--batch", cfg.batch as f64)? as usize;
    cfg.lr = num("--lr", f64::from(cfg.lr))? as f32;
    cfg.k_diffusion = num("--k", f64::from(cfg.k_diffusion))? as f32;
    cfg.c_reg = num("--c-reg", f64::from(cfg.c_reg))? as f32;
    cfg.eval_every = num("--eval-every", cfg.eval_every as f64)? as usize;
    cfg.eval_trials = num("--eval-trials", cfg.eval_trials as f64)? as usize;
    cfg.threads = num("--threads", 1.0)? as usize;
    // The online per-synapse traces (what the chip computes) instead of the adjoint pass.
    cfg.adjoint = !std::env::args().any(|a| a == "--online");
    cfg.optimizer = match opt("--optimizer").as_deref() {
        None | Some("adam") => Optimizer::Adam,
        Some("sgd") => Optimizer::Sgd,
        Some(o) => return Err(format!("--optimizer: sgd or adam, not {o}").into()),
    };
    if let Some(g) = opt("--lr-groups") {
        let v: Vec<f32> = g
            .split(',')
            .map(|x| {
                x.parse()
                    .map_err(|_| format!("--lr-groups: not a number: {x}"))
            })
            .collect::<Result<_, _>>()?;
        let [a, b, c] = v[..] else {
            return Err("--lr-groups: three rates IN,REC,OUT".into());
        };
        cfg.lr_groups = Some([a, b, c]);
    }
    let seeds = num("--seeds", 1.0)? as u64;
    let first = num("--seed", 1.0)? as u64;
    println!("{cfg:?}");
    let mut finals = Vec::new();
    for seed in first..first + seeds {
        cfg.seed = seed;
        let start = Instant::now();
        let mut last = Instant::now();
        let mut last_trials = 0usize;
        let r = eprop::train(&cfg, &mut |p| {
            let dt = last.elapsed().as_secs_f64();
            let speed = (p.trials - last_trials) as f64 / dt.max(1e-9);
            last = Instant::now();
            last_trials = p.trials;
            let e = p.eval.as_ref();
            println!(
                "seed {seed} trials {:>6}: train loss {:.4} acc {:.3} nmse {:.3} | eval loss {:.4} acc {:.3} nmse {:.3} | rates LIF {:.1} ALIF {:.1} Hz | {speed:.0} trials/s (incl. eval)",
                p.trials,
                p.train.loss,
                p.train.accuracy,
                p.train.nmse,
                e.map_or(f64::NAN, |e| e.loss),
                e.map_or(f64::NAN, |e| e.accuracy),
                e.map_or(f64::NAN, |e| e.nmse),
                p.train.rate_lif_hz,
                p.train.rate_alif_hz,
            );
        })?;
        let secs = start.elapsed().as_secs_f64();
        let f = &r.final_eval;
        println!(
            "FINAL seed {seed}: {} trials, eval over {} trials: accuracy {:.4} loss {:.4} nmse {:.4}, rates LIF {:.1} ALIF {:.1} Hz; synapses in {} rec {} (density {:.4}); grad RMS at init in {:.2e} rec {:.2e} out {:.2e}; {:.1} s, {:.1} training trials/s with {} thread(s)",
            r.trials,
            f.trials,
            f.accuracy,
            f.loss,
            f.nmse,
            f.rate_lif_hz,
            f.rate_alif_hz,
            r.input_synapses,
            r.recurrent_synapses,
            r.recurrent_density,
            r.grad_rms_init[0],
            r.grad_rms_init[1],
            r.grad_rms_init[2],
            secs,
            r.trials as f64 / secs,
            cfg.threads
        );
        finals.push(if f.accuracy.is_nan() {
            f.nmse
        } else {
            f.accuracy
        });
    }
    let (mean, std) = common::mean_std(&finals);
    println!("SUMMARY {task:?} {condition:?}: final {mean:.4} ± {std:.4} over {seeds} seed(s) {finals:?}");
    Ok(())
}
