//! Trains the dual-stream Error Diffusion reference (modulo error routing) on a task and
//! prints per-epoch accuracy and a mean ± std summary over seeds; with `--ablation` it
//! also runs each ingredient removed in turn. The figures in docs/dual-stream-ed.md come
//! from this example.
//!
//! Options: `--task digits|mnist:<folder>|cifar10:<folder>`, `--seeds N` (seeds
//! `--seed`, `--seed`+1, …), `--seed S`, `--epochs N`, `--hidden c16k5s2,256` (`c<channels>k<kernel>s<stride>` convolutional, a number dense, `360p3` patch-wired),
//! `--widths 6,6,1`, `--channels C` (colour planes: 3 for CIFAR-10), `--uniform-width W`, `--lr ETA`, `--layer-rates 1,1,0.3` (per-layer factors), `--lr-end ETA|none` (linear decay to it over the epochs; default 100), `--batch B`, `--optimizer sgd|adam`, `--floor F`,
//! `--centring batch|running:RATE|off`, `--input-code plain|onoff|centre|standard` (recode
//! the pixels; [`input_code`]), `--input-bias B` (the chip's form: the constant
//! `B` appended to every sample, layer biases held at 0), `--without widths|centring|asymmetry` (one
//! ingredient off), `--ablation` (full, then each ingredient off), `--threads T`,
//! `--json FILE` (every run's epochs, as JSON), `--augment shift:N` (the training set and
//! its images shifted by 1..=N pixels each way, `amine_tasks::datasets::augment`), `--payload-bits 8` (emulate the chip's 8-bit graded
//! payloads: rounded activations and its floored derivative), `--error-rounding
//! exact|nearest|chip` (round the centred class error to payload steps: to the nearest,
//! or as the chip's error units did with a mirrored ramp — positive errors up;
//! `amine_tasks::dual_ed::error_unit`), `--weight-arith exact|chip` (the learning
//! engine's weight arithmetic: 8-bit row mantissas, stochastic rounding, clamp at 0,
//! renormalisation; `amine_tasks::dual_ed::chip_arith`).

use amine_tasks::dual_ed::{self, Centring, DualEdConfig, Hidden, Ingredients};
use std::time::Instant;

mod common;

fn main() {
    common::main_with(run);
}

fn list<T: std::str::FromStr>(name: &str, v: &str) -> Result<Vec<T>, String> {
    v.split(',')
        .map(|x| {
            x.trim()
                .parse()
                .map_err(|_| format!("{name}: not a number: {x}"))
        })
        .collect()
}

fn without(name: &str) -> Result<Ingredients, String> {
    let mut i = Ingredients::ALL;
    match name {
        "none" => {}
        "widths" => i.layer_widths = false,
        "centring" => i.centring = false,
        "asymmetry" => i.asymmetric_init = false,
        o => return Err(format!("--without: widths, centring or asymmetry, not {o}")),
    }
    Ok(i)
}

/// Recodes every pixel `x` (in `0..1`) of both sets, for the input-coding study of
/// docs/dual-stream-ed.md: `plain` (as loaded), `onoff` (each pixel, then `1 − x`: twice
/// the rows), `centre` (`2x − 1`) or `standard` (minus the pixel's training mean, over
/// its training standard deviation floored at 0.1). The last two are negative where a
/// chip's graded port carries rates in `0..1`: a float-only study.
fn input_code(split: &mut amine_tasks::Split, code: &str) -> Result<(), String> {
    let n = split.train.input_len();
    let (mut mean, mut sd) = (vec![0.0f64; n], vec![0.0f64; n]);
    let m = split.train.len().max(1) as f64;
    for x in &split.train.inputs {
        for (i, &v) in x.iter().enumerate() {
            mean[i] += f64::from(v) / m;
            sd[i] += f64::from(v).powi(2) / m;
        }
    }
    for (s, mu) in sd.iter_mut().zip(&mean) {
        *s = (*s - mu * mu).max(0.0).sqrt().max(0.1);
    }
    for d in [&mut split.train, &mut split.test] {
        for x in &mut d.inputs {
            match code {
                "plain" => {}
                "onoff" => x.extend(x.clone().iter().map(|v| 1.0 - v)),
                "centre" => x.iter_mut().for_each(|v| *v = 2.0 * *v - 1.0),
                "standard" => {
                    for (i, v) in x.iter_mut().enumerate() {
                        *v = ((f64::from(*v) - mean[i]) / sd[i]) as f32;
                    }
                }
                o => {
                    return Err(format!(
                        "--input-code: plain, onoff, centre or standard, not {o}"
                    ))
                }
            }
        }
        if code == "onoff" {
            d.shape = [d.shape[0] * 2, d.shape[1]];
        }
    }
    Ok(())
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn run() -> Res<()> {
    let args = common::Args::from_env();
    let opt = |name: &str| args.opt(name);
    let num = |name: &str, default: f64| args.num(name, default);
    let task = opt("--task").unwrap_or_else(|| "digits".into());
    let mut cfg = config(&args)?;
    let seeds = num("--seeds", 1.0)? as u64;
    let threads = num("--threads", 1.0)? as usize;
    let variants: Vec<&str> = if args.flag("--ablation") {
        vec!["none", "widths", "centring", "asymmetry"]
    } else {
        vec![opt("--without").map_or("none", |w| Box::leak(w.into_boxed_str()))]
    };
    let split = load_split(&args, &task, &mut cfg)?;
    println!(
        "task {task}: {} train, {} test, {} classes; {threads} thread(s); {cfg:?}",
        split.train.len(),
        split.test.len(),
        split.classes()
    );
    let mut runs = Vec::new();
    for variant in variants {
        let c = DualEdConfig {
            ingredients: without(variant)?,
            ..cfg.clone()
        };
        run_variant(variant, &c, &split, seeds, threads, &mut runs)?;
    }
    if let Some(path) = opt("--json") {
        std::fs::write(&path, serde_json::to_string_pretty(&runs)?)?;
    }
    Ok(())
}

/// The configuration from the options (module docs), checked in the order given there.
fn config(args: &common::Args) -> Res<DualEdConfig> {
    let opt = |name: &str| args.opt(name);
    let num = |name: &str, default: f64| args.num(name, default);
    let base = DualEdConfig::default();
    let mut cfg = DualEdConfig {
        epochs: num("--epochs", base.epochs as f64)? as usize,
        learning_rate: num("--lr", base.learning_rate)?,
        batch_size: num("--batch", base.batch_size as f64)? as usize,
        uniform_width: num("--uniform-width", base.uniform_width)?,
        weight_floor: num("--floor", base.weight_floor)?,
        seed: num("--seed", 1.0)? as u64,
        ..base
    };
    match opt("--lr-end").as_deref() {
        None => {}
        Some("none") => cfg.final_learning_rate = None,
        Some(end) => {
            let end = end
                .parse()
                .map_err(|_| format!("--lr-end: not a number: {end}"))?;
            cfg.final_learning_rate = Some(end);
        }
    }
    if let Some(h) = opt("--hidden") {
        cfg.hidden = Hidden::parse_list(&h)?;
    }
    cfg.input_channels = num("--channels", 1.0)? as usize;
    chip_emulation(args, &mut cfg)?;
    training_options(args, &mut cfg)?;
    Ok(cfg)
}

/// `--payload-bits`, `--error-rounding`, `--weight-arith` and `--tables`: the chip's
/// arithmetic emulated in the float reference.
fn chip_emulation(args: &common::Args, cfg: &mut DualEdConfig) -> Res<()> {
    let opt = |name: &str| args.opt(name);
    if let Some(b) = opt("--payload-bits") {
        let b = b
            .parse()
            .map_err(|_| format!("--payload-bits: not a number of bits: {b}"))?;
        cfg.payload_bits = Some(b);
    }
    cfg.error_rounding = match opt("--error-rounding").as_deref() {
        None | Some("exact") => None,
        Some("nearest") => Some(dual_ed::error_unit::ErrorRounding::Nearest),
        Some("chip") => Some(dual_ed::error_unit::ErrorRounding::MirroredCeil),
        Some(o) => return Err(format!("--error-rounding: exact, nearest or chip, not {o}").into()),
    };
    cfg.weight_arith = match opt("--weight-arith").as_deref() {
        None | Some("exact") => None,
        Some("chip") => Some(dual_ed::chip_arith::ChipArith::loihi_ed(
            amine_compiler::templates::WEIGHT_SCALE,
        )?),
        Some(o) => return Err(format!("--weight-arith: exact or chip, not {o}").into()),
    };
    cfg.activation_table = match opt("--tables").as_deref() {
        None | Some("exact") => None,
        Some(t @ ("chip" | "chip-nearest")) => {
            let spec = dual_ed::chip_arith::TableSpec {
                u_scale: amine_compiler::templates::WEIGHT_SCALE
                    * amine_compiler::templates::PAYLOAD_MAX
                    * amine_compiler::neurons::WEIGHT_SCALE,
                span: 5.0,
                entries: amine_compiler::neurons::SIGMOID_ENTRIES,
                offset: 0.0,
            };
            // `chip-nearest`: half a bucket added, so the lower-edge read is the nearest.
            let offset = if t == "chip" { 0.0 } else { 0.5 };
            Some(dual_ed::chip_arith::TableSpec { offset, ..spec })
        }
        Some(o) => return Err(format!("--tables: exact, chip or chip-nearest, not {o}").into()),
    };
    Ok(())
}

/// `--layer-rates`, `--widths`, `--optimizer` and `--centring`.
fn training_options(args: &common::Args, cfg: &mut DualEdConfig) -> Res<()> {
    let opt = |name: &str| args.opt(name);
    if let Some(r) = opt("--layer-rates") {
        cfg.layer_rates = list("--layer-rates", &r)?;
    }
    if let Some(w) = opt("--widths") {
        cfg.widths = list("--widths", &w)?;
    }
    cfg.optimizer = match opt("--optimizer").as_deref() {
        None | Some("sgd") => dual_ed::Optimizer::Sgd,
        Some("adam") => dual_ed::Optimizer::Adam {
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
        },
        Some(o) => return Err(format!("--optimizer: sgd or adam, not {o}").into()),
    };
    cfg.centring = match opt("--centring").as_deref() {
        None | Some("batch") => Centring::Batch,
        Some("off") => Centring::Off,
        Some(r) => match r.strip_prefix("running:").map(str::parse) {
            Some(Ok(rate)) => Centring::Running { rate },
            _ => return Err(format!("--centring: batch, off or running:RATE, not {r}").into()),
        },
    };
    Ok(())
}

/// The task's data with `--input-code`, `--augment` and `--input-bias` applied (the
/// last also turns the layer biases off in `cfg`).
fn load_split(args: &common::Args, task: &str, cfg: &mut DualEdConfig) -> Res<amine_tasks::Split> {
    let opt = |name: &str| args.opt(name);
    let mut split = amine_tasks::parse_task(task)?.load()?;
    if let Some(code) = opt("--input-code") {
        input_code(&mut split, &code)?;
    }
    if let Some(a) = opt("--augment") {
        // The training set only, before the bias unit is appended (shifts move pixels).
        split.train = amine_tasks::datasets::augment::Augment::parse(&a)?.apply(&split.train)?;
    }
    if let Some(b) = opt("--input-bias") {
        // The chip's form: a constant unit appended to the input, no layer biases.
        let b: f32 = b
            .parse()
            .map_err(|_| format!("--input-bias: not a number: {b}"))?;
        split = dual_ed::with_bias_unit(&split, b);
        cfg.layer_biases = false;
    }
    Ok(split)
}

/// One run per record of [`run_variant`]: the variant, the seed and its epochs.
type Runs = Vec<(String, u64, Vec<dual_ed::EpochStats>)>;

/// Every seed of one variant (`c` with its ingredient off), each run's lines and the
/// summary over the seeds; each run's epochs are added to `runs`.
fn run_variant(
    variant: &str,
    c: &DualEdConfig,
    split: &amine_tasks::Split,
    seeds: u64,
    threads: usize,
    runs: &mut Runs,
) -> Res<()> {
    let mut finals = Vec::new();
    let start = Instant::now();
    for seed in c.seed..c.seed + seeds {
        let c = DualEdConfig { seed, ..c.clone() };
        let t0 = Instant::now();
        let mut last = Instant::now();
        let r = dual_ed::train(&c, split, threads, &mut |e| {
            println!(
                "without {variant:>9} seed {seed} epoch {:>3}: online {:.4} test {:.4} |S| {:.4} E/I {:?} floor {:?} ({:.1} s)",
                e.epoch, e.online_train_accuracy, e.test_accuracy, e.mean_error,
                e.ei_ratio.iter().map(|v| (v * 100.0).round() / 100.0).collect::<Vec<_>>(),
                e.at_floor.iter().map(|v| (v * 1000.0).round() / 1000.0).collect::<Vec<_>>(),
                last.elapsed().as_secs_f64()
            );
            last = Instant::now();
        })?;
        let secs = t0.elapsed().as_secs_f64();
        println!(
            "RUN without {variant} seed {seed}: test {:.4} ({secs:.1} s, {:.2} s/epoch)",
            r.test_accuracy(),
            secs / c.epochs.max(1) as f64
        );
        if let Some(chip) = &r.net.chip {
            let c = chip.counts;
            println!(
                "ENGINE seed {seed}: {} updates, {:.4} rounded to no change, {:.5} clamped, {} row halvings",
                c.updates,
                c.rounded_to_zero as f64 / c.updates.max(1) as f64,
                c.clamped as f64 / c.updates.max(1) as f64,
                c.renormalised
            );
        }
        finals.push(r.test_accuracy());
        runs.push((variant.to_string(), seed, r.epochs));
    }
    let (mean, std) = common::mean_std(&finals);
    println!(
        "SUMMARY without {variant:>9}: test accuracy {:.2} ± {:.2} % over {seeds} seeds {finals:?} ({:.1} s)",
        100.0 * mean,
        100.0 * std,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
