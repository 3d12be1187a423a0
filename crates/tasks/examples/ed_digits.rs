//! Trains the ED float reference (and, with `--modes`, its 8-bit emulations) on a task
//! and prints per-epoch accuracy and a mean ± std summary over seeds: the figures in
//! docs/tasks.md come from
//! `cargo run -p amine-tasks --release --example ed_digits -- --seeds 3 --epochs 20`.
//!
//! Options: `--task digits|mnist:<folder>`, `--seeds N`, `--epochs N`, `--hidden H`,
//! `--alpha A`, `--u0 U`, `--span S` (table span, in u0), `--wbits B`, `--abits B`,
//! `--rounding stochastic|nearest`, `--topology per-class|shared`,
//! `--modes float,saturate,halve,cancel` (default `all`).

use amine_tasks::ed::{self, EdConfig, Overflow, Quantization, Rounding, Topology};
use std::time::Instant;

mod common;

fn main() {
    common::main_with(run);
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = common::Args::from_env();
    let opt = |name: &str| args.opt(name);
    let num = |name: &str, default: f64| args.num(name, default);
    let base = EdConfig::default();
    let task = opt("--task").unwrap_or_else(|| "digits".into());
    let seeds = num("--seeds", 3.0)? as u64;
    let mut cfg = EdConfig {
        epochs: num("--epochs", base.epochs as f64)? as usize,
        hidden_per_class: num("--hidden", base.hidden_per_class as f64)? as usize,
        alpha: num("--alpha", base.alpha)?,
        u0: num("--u0", base.u0)?,
        ..base
    };
    cfg.topology = match opt("--topology").as_deref() {
        None | Some("per-class") => Topology::PerClass,
        Some("shared") => Topology::SharedHidden,
        Some(t) => return Err(format!("--topology: per-class or shared, not {t}").into()),
    };
    let span = num("--span", 5.0)?;
    let wbits = num("--wbits", 8.0)? as u8;
    let abits = num("--abits", 8.0)? as u8;
    let rounding = match opt("--rounding").as_deref() {
        None | Some("stochastic") => Rounding::Stochastic,
        Some("nearest") => Rounding::Nearest,
        Some(r) => return Err(format!("--rounding: stochastic or nearest, not {r}").into()),
    };
    let modes = opt("--modes").unwrap_or_else(|| "all".into());
    let modes: Vec<&str> = if modes == "all" {
        vec!["float", "saturate", "halve", "cancel"]
    } else {
        modes.split(',').collect()
    };
    let split = amine_tasks::parse_task(&task)?.load()?;
    println!(
        "task {task}: {} train, {} test, {} classes; {cfg:?}",
        split.train.len(),
        split.test.len(),
        split.classes()
    );
    for mode in modes {
        let overflow = match mode {
            "float" => None,
            "saturate" => Some(Overflow::Saturate),
            "halve" => Some(Overflow::HalveLayer),
            "cancel" => Some(Overflow::CancelOverlap),
            m => {
                return Err(
                    format!("--modes: float, saturate, halve, cancel or all, not {m}").into(),
                )
            }
        };
        let quantization = overflow.map(|overflow| Quantization {
            weight_bits: Some(wbits),
            activation_bits: Some(abits),
            table_span: span,
            overflow,
            rounding,
        });
        let mut finals = Vec::new();
        let start = Instant::now();
        for seed in 1..=seeds {
            let c = EdConfig {
                seed,
                quantization,
                ..cfg.clone()
            };
            let r = ed::train(&c, &split, &mut |e| {
                println!(
                    "{mode:>8} seed {seed} epoch {:>2}: train {:.4} test {:.4}  max|w| hidden {:.3} output {:.3}  exp hidden {:?} output {:?}  overflows {}",
                    e.epoch, e.train_accuracy, e.test_accuracy, e.max_hidden_weight,
                    e.max_output_weight, e.max_hidden_exponent, e.max_output_exponent, e.overflow_events
                )
            })?;
            finals.push(r.test_accuracy());
        }
        let (mean, std) = common::mean_std(&finals);
        println!(
            "SUMMARY {mode:>8}: test accuracy {:.2} ± {:.2} % over {seeds} seeds {finals:?} ({:.1} s)",
            100.0 * mean,
            100.0 * std,
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
