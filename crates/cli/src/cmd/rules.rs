//! `amine rules`: feed-forward learning rules head to head on one task — Error Diffusion
//! programs trained on the chip (`amine train`'s path), their f64 references, and the
//! float references of backprop, DFA and sigprop — as one table and one picture of test
//! accuracy against energy per training sample (chip, CPU and GPU estimates).
//!
//! Every program given (Error Diffusion, DFA or sigprop) with `--program NAME=FILE` is a
//! row; a new program (another routing of the error, say) is a row more on the next run.
//! `NAME=FILE@CHIP` runs that program on its own chip (the modulo-routing ED program on
//! `loihi-ed`, whose error units have the centring register), and its row names the chip.

use crate::args::RulesArgs;
use amine_compiler::program::Program;
use amine_report::plot::{Axis, Better, Scatter, ScatterPoint};
use amine_report::{File, Table};
use amine_tasks::conventional::{Estimate, Work};
use amine_tasks::ff::{self, FfConfig, Rule};
use amine_train::{train_ed, TrainOptions};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// One row: a rule, where it ran, its mean test accuracy and its costs.
struct Row {
    rule: String,
    on: &'static str,
    accuracy: Vec<f64>,
    chip_pj: Option<f64>,
    chip_latency_s: Option<f64>,
    estimate: Estimate,
    /// The chip it ran on, when not the command's (a sigprop program on a chip without
    /// the sigprop unit runs on `loihi-sigprop`).
    chip: Option<String>,
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

/// `NAME=FILE` or `NAME=FILE@CHIP`: a row's name, its program and the chip (preset or
/// chip-config file) it runs on, when not `--chip`.
fn parse_program(spec: &str) -> Result<(String, PathBuf, Option<String>)> {
    match spec.split_once('=') {
        Some((n, f)) if !n.is_empty() && !f.is_empty() => {
            let (file, chip) = match f.rsplit_once('@') {
                Some((file, chip)) if !file.is_empty() && !chip.is_empty() => {
                    (file, Some(chip.to_string()))
                }
                Some(_) => bail!(
                    "--program {spec}: expected NAME=FILE@CHIP with a file and a chip, e.g. ed-modulo=dual.ron@loihi-ed"
                ),
                None => (f, None),
            };
            Ok((n.to_string(), PathBuf::from(file), chip))
        }
        _ => {
            bail!("--program {spec}: expected NAME=FILE or NAME=FILE@CHIP, e.g. ed-per-class=programs/ed_digits.ron")
        }
    }
}

impl Row {
    fn new(rule: String, on: &'static str) -> Row {
        Row {
            rule,
            on,
            accuracy: Vec::new(),
            chip_pj: None,
            chip_latency_s: None,
            estimate: Estimate::of(Work::default()),
            chip: None,
        }
    }
}

pub fn run(a: RulesArgs) -> Result<()> {
    if a.seeds == 0 || a.epochs == 0 {
        bail!("--seeds and --epochs must be at least 1");
    }
    let programs = if a.program.is_empty() {
        vec![
            (
                "ed-per-class".to_string(),
                PathBuf::from("programs/ed_digits.ron"),
                None,
            ),
            (
                "dfa".to_string(),
                PathBuf::from("programs/dfa_digits.ron"),
                None,
            ),
            (
                "sigprop".to_string(),
                PathBuf::from("programs/sigprop_digits.ron"),
                None,
            ),
        ]
    } else {
        a.program
            .iter()
            .map(|s| parse_program(s))
            .collect::<Result<_>>()?
    };
    amine_report::dir::check_target(&a.out)?;
    let chip = super::compile::resolve_chip(&a.chip, &a.set)?;
    let split = amine_tasks::parse_task(&a.task)?.load()?;
    let mut loaded = Vec::new();
    for (name, path, own_chip) in &programs {
        // Resolved before any training, so a bad chip fails before the long runs.
        let own_chip = match own_chip {
            Some(c) => Some(
                super::compile::resolve_chip(c, &a.set)
                    .with_context(|| format!("--program {name}: chip {c}"))?
                    .config,
            ),
            None => None,
        };
        let origin = path.display().to_string();
        let text = amine_chip::bounded::read_text(
            path,
            "network program",
            amine_chip::bounded::limits::PROGRAM,
        )?;
        let program = Program::from_ron(&text, &origin)?;
        let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        loaded.push((name.clone(), program, base, own_chip));
    }
    let mut rows = Vec::new();
    for (name, program, base, own_chip) in &loaded {
        let on = match own_chip {
            Some(c) => OnChip::Own(c),
            None => OnChip::Command(&chip.config),
        };
        rows.extend(chip_rows(&a, on, &split, name, program, base)?);
    }
    rows.extend(float_rows(&a, &split)?);
    let files = files(&a, &chip.config.name, &rows);
    amine_report::write_dir(&a.out, &files)
        .map_err(|e| anyhow::anyhow!("{}: {}", e.path, e.message))?;
    for f in files.iter().filter(|f| f.name == "rules.txt") {
        out!("{}", String::from_utf8_lossy(&f.bytes));
    }
    outln!(
        "written to {}/ (rules.csv, rules.txt, rules.svg)",
        a.out.display()
    );
    Ok(())
}

/// The chip a program runs on: its own (`NAME=FILE@CHIP`) or the command's `--chip`.
enum OnChip<'a> {
    Own(&'a amine_chip::ChipConfig),
    Command(&'a amine_chip::ChipConfig),
}

/// A program trained on the chip for every seed: its row and its f64 reference's.
fn chip_rows(
    a: &RulesArgs,
    on: OnChip<'_>,
    split: &amine_tasks::Split,
    name: &str,
    program: &Program,
    base: &Path,
) -> Result<[Row; 2]> {
    let mut chip_row = Row::new(name.to_string(), "chip");
    let mut float_row = Row::new(format!("{name} (f64)"), "float");
    // A sigprop program needs the sigprop unit: on a chip without it, the smallest
    // shipped sigprop preset that holds its contexts (unless the program names its chip).
    let with_unit;
    let config = match on {
        OnChip::Own(config) => {
            chip_row.chip = Some(config.name.clone());
            config
        }
        OnChip::Command(config)
            if program.sigprop.is_some() && config.learning.sigprop.is_none() =>
        {
            let name = super::train::default_chip(program);
            with_unit = super::compile::resolve_chip(name, &a.set)?.config;
            chip_row.chip = Some(with_unit.name.clone());
            &with_unit
        }
        OnChip::Command(config) => config,
    };
    let (mut pj, mut lat) = (Vec::new(), Vec::new());
    for seed in a.seed..a.seed + a.seeds as u64 {
        let mut p = program.clone();
        p.seed = seed;
        let compiled = amine_compiler::compile_program(p, base, config)
            .with_context(|| format!("compiling {name}"))?;
        let opts = TrainOptions {
            epochs: a.epochs,
            seed,
            test_every_epoch: false,
            ..TrainOptions::default()
        };
        let report = if compiled.image.sigprop.is_some() {
            amine_train::sigprop::train_sigprop(config, &compiled.image, split, &opts, &mut |_| {})?
        } else {
            train_ed(config, &compiled.image, split, &opts, &mut |_| {})?
        };
        let float = super::train::float_reference(
            &compiled.compilation.program,
            split,
            a.epochs,
            seed,
            None,
            None,
        )?;
        errln!(
            "{name} seed {seed}: chip {:.4}, f64 {:.4}",
            report.test_accuracy,
            float.test_accuracy
        );
        chip_row.accuracy.push(report.test_accuracy);
        float_row.accuracy.push(float.test_accuracy);
        pj.push(report.per_training_sample.energy_pj);
        lat.push(report.per_training_sample.latency_s);
        if let Some(e) = report.conventional {
            chip_row.estimate = e.clone();
            float_row.estimate = e;
        }
    }
    chip_row.chip_pj = Some(mean(&pj));
    chip_row.chip_latency_s = Some(mean(&lat));
    Ok([chip_row, float_row])
}

/// The float references of backprop, DFA (Nøkland's form) and sigprop.
fn float_rows(a: &RulesArgs, split: &amine_tasks::Split) -> Result<Vec<Row>> {
    let task = amine_tasks::parse_task(&a.task)?;
    let mut rows = Vec::new();
    for rule in [Rule::Backprop, Rule::Dfa, Rule::Sigprop] {
        let label = match rule {
            Rule::Dfa => "dfa, Nøkland form (learned biases, δ fed back)".to_string(),
            r => r.name().to_string(),
        };
        let mut row = Row::new(label, "float");
        for seed in a.seed..a.seed + a.seeds as u64 {
            let cfg = FfConfig {
                epochs: a.epochs,
                seed,
                ..FfConfig::for_task(rule, &task)
            };
            let r = ff::train(&cfg, split, &mut |_| {})?;
            errln!("{} seed {seed}: f64 {:.4}", rule.name(), r.test_accuracy());
            row.accuracy.push(r.test_accuracy());
            row.estimate = Estimate::of(rule.work(&cfg, &r.sizes, split.classes()));
        }
        rows.push(row);
    }
    Ok(rows)
}

fn files(a: &RulesArgs, chip: &str, rows: &[Row]) -> Vec<File> {
    let uj = |pj: f64| format!("{:.3}", pj / 1e6);
    let mut t = Table::new([
        "rule",
        "trained on",
        "test accuracy (mean)",
        "per seed",
        "chip µJ/sample",
        "chip µs/sample",
        "CPU est. µJ/sample",
        "GPU est. µJ/sample",
        "chip/CPU",
        "chip/GPU",
        "MFLOP/sample",
        "MB/sample",
    ]);
    for r in rows {
        let e = &r.estimate;
        t.push([
            r.rule.clone(),
            if r.on == "chip" {
                format!("chip ({})", r.chip.as_deref().unwrap_or(chip))
            } else {
                "f64 reference".into()
            },
            format!("{:.2} %", 100.0 * mean(&r.accuracy)),
            r.accuracy
                .iter()
                .map(|x| format!("{:.2}", 100.0 * x))
                .collect::<Vec<_>>()
                .join(" "),
            r.chip_pj.map_or("—".into(), uj),
            r.chip_latency_s
                .map_or("—".into(), |s| format!("{:.1}", s * 1e6)),
            uj(e.cpu.energy_pj),
            uj(e.gpu.energy_pj),
            r.chip_pj
                .map_or("—".into(), |c| format!("{:.3}", c / e.cpu.energy_pj)),
            r.chip_pj
                .map_or("—".into(), |c| format!("{:.3}", c / e.gpu.energy_pj)),
            format!("{:.3}", e.work.flops / 1e6),
            format!("{:.3}", e.work.bytes / 1e6),
        ]);
    }
    let mut s = Scatter {
        title: format!("{} — test accuracy vs energy per training sample", a.task),
        x: Axis::plain("energy per training sample, log10 µJ", ""),
        y: Axis::percent("test accuracy"),
        points: Vec::new(),
        groups: vec![
            "chip (simulated)".into(),
            "CPU estimate".into(),
            "GPU estimate (full utilisation)".into(),
        ],
        front: Some((Better::Lower, Better::Higher)),
    };
    for r in rows {
        let acc = mean(&r.accuracy);
        let pts = [
            (0, r.chip_pj),
            (1, Some(r.estimate.cpu.energy_pj)),
            (2, Some(r.estimate.gpu.energy_pj)),
        ];
        for (g, pj) in pts {
            if let Some(pj) = pj {
                s.points.push(ScatterPoint {
                    x: (pj / 1e6).log10(),
                    y: acc,
                    label: r.rule.clone(),
                    group: g,
                });
            }
        }
    }
    let text = format!(
        "rules head to head: task {}, chip {chip}, {} epochs, seeds {}..{}\n{}\nCPU/GPU figures are estimates (docs/feedforward-rules.md): {}; {}\n",
        a.task,
        a.epochs,
        a.seed,
        a.seed + a.seeds as u64 - 1,
        t.to_text(),
        amine_tasks::conventional::CPU.source,
        amine_tasks::conventional::GPU.source
    );
    vec![
        File::new("rules.csv", t.to_csv()),
        File::new("rules.txt", text),
        File::new("rules.svg", s.svg()),
    ]
}
