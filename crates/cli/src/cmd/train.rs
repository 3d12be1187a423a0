//! `amine train` and `amine template`: on-chip learning runs and the programs they use.
//!
//! `--task digits` / `mnist:<dir>` train a PROGRAM with Error Diffusion; the e-prop
//! tasks (`cue-accumulation`, `delayed-match`, `pattern-generation`) run a study of
//! conditions × seeds on the chip's e-prop core and need no program.
//!
//! Everything that can fail on input — flags, chip, program, task data, the image's
//! layout — is checked before the first sample, and the report directory is written
//! only after the run finished, through a temporary name.

use crate::args::{TemplateArgs, TrainArgs};
use amine_compiler::program::Program;
use amine_compiler::templates::{error_diffusion, Credit, EdNetwork};
use amine_sim::Timing;
use amine_tasks::eprop::{Condition, TaskKind};
use amine_train::eprop::report::{condition_name, summary_text, to_json, write_dir, FILES};
use amine_train::eprop::{run_study, EpropRunConfig, Point, StudyConfig};
use amine_train::report::FloatReference;
use amine_train::{train_ed, Progress, TrainOptions};
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Error Diffusion's default number of epochs.
const EPOCHS: usize = 20;

pub fn run(a: TrainArgs) -> Result<()> {
    match TaskKind::parse(&a.task) {
        Ok(task) => eprop(&a, task),
        Err(_) => ed(&a),
    }
}

fn ed(a: &TrainArgs) -> Result<()> {
    let start = Instant::now();
    if amine_tasks::parse_task(&a.task).is_err() {
        bail!(
            "unknown task `{}`: expected digits or mnist:<folder> (Error Diffusion), or \
             cue-accumulation, delayed-match or pattern-generation (e-prop)",
            a.task
        );
    }
    let eprop_only = [
        ("--condition", a.condition.is_some()),
        ("--seeds", a.seeds.is_some()),
        ("--trials", a.trials.is_some()),
        ("--batch", a.batch.is_some()),
        ("--eval-every", a.eval_every.is_some()),
        ("--eval-trials", a.eval_trials.is_some()),
        ("--lr", a.lr.is_some()),
        ("--k", a.k.is_some()),
        ("--c-reg", a.c_reg.is_some()),
        ("--weight-bits", a.weight_bits.is_some()),
        ("--frac-bits", a.frac_bits.is_some()),
        ("--strict-decay", a.strict_decay),
        ("--float", a.float),
        ("--adam", a.adam.is_some()),
    ];
    if let Some((flag, _)) = eprop_only.iter().find(|(_, given)| *given) {
        bail!(
            "{flag} is for the e-prop tasks (--task cue-accumulation, delayed-match or \
             pattern-generation), not --task {}",
            a.task
        );
    }
    let Some(program_path) = &a.program else {
        bail!(
            "--task {} trains a network program: give one, e.g. `amine train \
             programs/ed_digits.ron --task {}`",
            a.task,
            a.task
        );
    };
    let epochs = a.epochs.unwrap_or(EPOCHS);
    if epochs == 0 {
        bail!("--epochs 0: train for at least one epoch");
    }
    let chip = super::compile::resolve_chip(&a.chip, &a.set)?;
    if let Some(dir) = &a.report {
        amine_report::dir::check_target(dir)?;
    }
    let origin = program_path.display().to_string();
    let text =
        std::fs::read_to_string(program_path).with_context(|| format!("reading {origin}"))?;
    let mut program = Program::from_ron(&text, &origin)?;
    program.seed = a.seed;
    let base = program_path.parent().unwrap_or(Path::new("."));
    let compiled = amine_compiler::compile_program(program, base, &chip.config)
        .with_context(|| format!("compiling {origin}"))?;
    let split = amine_tasks::parse_task(&a.task)?.load()?;
    let opts = TrainOptions {
        epochs,
        seed: a.seed,
        threads: a.threads,
        timing: a.timing.unwrap_or(Timing::Analytic),
        test_every_epoch: !a.final_test_only,
    };
    let total = (epochs * split.train.len()) as u64;
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
    let mut shown = false;
    let train_start = Instant::now();
    let mut report = train_ed(&chip.config, &compiled.image, &split, &opts, &mut |p| {
        if !shown && train_start.elapsed() > Duration::from_millis(500) {
            shown = true;
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} {msg} [{bar:40}] {pos}/{len} samples, {elapsed} elapsed, eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_draw_target(ProgressDrawTarget::stderr());
        }
        match p {
            Progress::Training { epoch, done, total } => {
                bar.set_message(format!("epoch {}/{}", epoch + 1, epochs));
                bar.set_position((epoch * total + done) as u64);
            }
            Progress::Testing { set } => bar.set_message(format!("testing on {set}")),
        }
    })?;
    bar.finish_and_clear();
    report.chip_config = chip.identity.clone();
    let train_s = train_start.elapsed().as_secs_f64();
    if !a.no_float {
        report.float_reference = Some(float_reference(
            &compiled.compilation.program,
            &split,
            epochs,
            a.seed,
        )?);
    }
    if let Some(dir) = &a.report {
        report
            .write_dir(dir, &chip.config)
            .context("writing the report")?;
    }
    if a.json {
        print!("{}", report.to_json());
    } else {
        print!("{}", report.summary());
        println!(
            "wall time: {train_s:.2} s on the chip model ({} thread(s)), {:.2} s in all",
            a.threads,
            start.elapsed().as_secs_f64()
        );
        if let Some(dir) = &a.report {
            println!(
                "report written to {}/ (report.html, report.json, curve.csv, curve.svg, confusion.csv, summary.txt)",
                dir.display()
            );
        }
    }
    Ok(())
}

/// `--condition diffusion,sparse`: each name once, at least one.
fn parse_conditions(list: Option<&str>) -> Result<Vec<Condition>> {
    let Some(list) = list else {
        return Ok(vec![
            Condition::Diffusion,
            Condition::Sparse,
            Condition::Full,
        ]);
    };
    let mut out = Vec::new();
    for name in list.split(',').map(str::trim) {
        if name.is_empty() {
            bail!(
                "--condition {list}: an empty name; give a comma list of diffusion, sparse, full"
            );
        }
        let c = Condition::parse(name).map_err(|e| anyhow::anyhow!("--condition {list}: {e}"))?;
        if out.contains(&c) {
            bail!("--condition {list}: `{name}` is given twice");
        }
        out.push(c);
    }
    Ok(out)
}

/// `--lr IN,REC,OUT`: three finite, non-negative rates.
fn parse_lr(text: &str) -> Result<[f64; 3]> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let [i, r, o] = parts.as_slice() else {
        bail!(
            "--lr {text}: expected three rates IN,REC,OUT (input, recurrent, readout), e.g. 65,327,25; got {}",
            parts.len()
        );
    };
    let mut lr = [0.0; 3];
    for (slot, (part, what)) in lr
        .iter_mut()
        .zip([(i, "input"), (r, "recurrent"), (o, "readout")])
    {
        let v: f64 = part.parse().map_err(|_| {
            anyhow::anyhow!("--lr {text}: the {what} rate `{part}` is not a number")
        })?;
        if !(v.is_finite() && v >= 0.0) {
            bail!("--lr {text}: the {what} rate must be finite and not negative");
        }
        *slot = v;
    }
    Ok(lr)
}

/// `amine train --task <e-prop task>`: a study of conditions × seeds.
fn eprop(a: &TrainArgs, task: TaskKind) -> Result<()> {
    let start = Instant::now();
    if let Some(p) = &a.program {
        bail!(
            "--task {} builds its own network and takes no program (got `{}`); programs are \
             for the Error Diffusion tasks (digits, mnist:<dir>)",
            a.task,
            p.display()
        );
    }
    let ed_only = [
        ("--epochs", a.epochs.is_some()),
        ("--timing", a.timing.is_some()),
        ("--no-float", a.no_float),
        ("--final-test-only", a.final_test_only),
    ];
    if let Some((flag, _)) = ed_only.iter().find(|(_, given)| *given) {
        bail!(
            "{flag} is for the Error Diffusion tasks (digits, mnist:<dir>), not --task {}",
            a.task
        );
    }
    let conditions = parse_conditions(a.condition.as_deref())?;
    let lr = a.lr.as_deref().map(parse_lr).transpose()?;
    let seeds = a.seeds.unwrap_or(1);
    let positive = [
        ("--seeds", Some(seeds)),
        ("--threads", Some(a.threads)),
        ("--trials", a.trials),
        ("--batch", a.batch),
        ("--eval-every", a.eval_every),
    ];
    if let Some((flag, _)) = positive.iter().find(|(_, v)| *v == Some(0)) {
        bail!("{flag} 0: must be at least 1");
    }
    let mut base = EpropRunConfig::new(task, conditions[0], a.seed);
    base.trials = a.trials.unwrap_or(base.trials);
    base.batch = a.batch.unwrap_or(base.batch);
    base.eval_every = a.eval_every.unwrap_or(base.eval_every);
    base.eval_trials = a.eval_trials.unwrap_or(base.eval_trials);
    if let Some(k) = a.k {
        if !(k.is_finite() && (0.0..=1.0).contains(&k)) {
            bail!("--k {k}: must be in [0, 1]");
        }
        base.k = k;
    }
    if let Some(c) = a.c_reg {
        if !(c.is_finite() && c >= 0.0) {
            bail!("--c-reg {c}: must be finite and not negative");
        }
        base.c_reg = c;
    }
    base.weight_bits = a.weight_bits.unwrap_or(base.weight_bits);
    base.frac_bits = a.frac_bits.unwrap_or(base.frac_bits);
    base.lazy_decay = !a.strict_decay;
    base.float = a.float;
    if let Some(step) = a.adam {
        if !(step.is_finite() && step > 0.0) {
            bail!("--adam {step}: must be finite and positive");
        }
        if a.lr.is_some() {
            bail!("--lr sets the plain update's rates; with --adam give only the step");
        }
        base.adam = Some(step);
    }
    if let Some(dir) = &a.report {
        if dir.exists() && !dir.is_dir() {
            bail!("--report {}: exists and is not a directory", dir.display());
        }
    }
    let chip = super::compile::resolve_chip(&a.chip, &a.set)?.config;
    let runs = conditions.len() * seeds;
    // Runs in parallel first; threads left over go into each run's batches.
    let parallel = a.threads.min(runs).max(1);
    base.threads = (a.threads / parallel).max(1);
    let batches = base.trials.div_ceil(base.batch) as u64;
    let batch = base.batch;
    let cfg = StudyConfig {
        task,
        conditions,
        first_seed: a.seed,
        seeds,
        base,
        lr,
        threads: parallel,
    };
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(runs as u64 * batches);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {msg} [{bar:40}] {pos}/{len} batches, {elapsed} elapsed, eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message(format!("{runs} run(s), {parallel} at a time"));
        bar.enable_steady_tick(Duration::from_millis(250));
        bar
    } else {
        ProgressBar::hidden()
    };
    let classification = task != TaskKind::PatternGeneration;
    // Batches done per run, so each curve point advances the bar by its run's progress.
    let done: Mutex<HashMap<(&'static str, u64), u64>> = Mutex::new(HashMap::new());
    let on_point = |c: Condition, seed: u64, p: &Point| {
        let now = (p.trials / batch) as u64;
        let before = done
            .lock()
            .map(|mut d| d.insert((condition_name(c), seed), now).unwrap_or(0))
            .unwrap_or(now);
        bar.inc(now.saturating_sub(before));
        if let Some(e) = &p.eval {
            let shown = if classification {
                format!("accuracy {:.1} %", 100.0 * e.accuracy)
            } else {
                format!("NMSE {:.4}", e.nmse)
            };
            bar.set_message(format!(
                "{} seed {seed}: {shown} after {} trials",
                condition_name(c),
                amine_chip::units::group_digits(p.trials as u64)
            ));
        }
    };
    let train_start = Instant::now();
    let study = run_study(&cfg, &chip, &on_point);
    bar.finish_and_clear();
    let study = study?;
    let train_s = train_start.elapsed().as_secs_f64();
    if let Some(dir) = &a.report {
        write_dir(&study, dir).context("writing the report")?;
    }
    if a.json {
        print!("{}", to_json(&study));
    } else {
        print!("{}", summary_text(&study));
        // The last `runs % parallel` runs are each split over all the threads.
        let tail = match runs % parallel {
            0 => String::new(),
            k => format!(", the last {k} with {} each", cfg.base.threads * parallel),
        };
        println!(
            "wall time: {train_s:.2} s on the chip model ({runs} run(s), {parallel} at a time, \
             {} thread(s) per run{tail}), {:.2} s in all",
            cfg.base.threads,
            start.elapsed().as_secs_f64()
        );
        if let Some(dir) = &a.report {
            println!(
                "report written to {}/ ({})",
                dir.display(),
                FILES.join(", ")
            );
        }
    }
    Ok(())
}

/// The f64 reference of the program's network: the template's layout with the
/// program's hidden group size and α (u0 and the initial range are the template's).
fn float_reference(
    program: &Program,
    split: &amine_tasks::Split,
    epochs: usize,
    seed: u64,
) -> Result<FloatReference> {
    use amine_compiler::templates::WEIGHT_SCALE;
    use amine_tasks::ed::Topology;
    let has = |name: &str| program.populations.iter().any(|p| p.name == name);
    // The template's shared layer is `h0e`/`h0i` alone, serving every output.
    let shared = has("out1") && !has("h1e");
    let classes = split.train.classes.max(1);
    let hidden = program
        .populations
        .iter()
        .find(|p| p.name == "h0e")
        .map(|p| 2 * p.size as usize / if shared { classes } else { 1 })
        .unwrap_or(64);
    let alpha = program
        .projections
        .iter()
        .find_map(|p| p.learning.as_ref()?.params.get("alpha").copied())
        .map(|a| a / WEIGHT_SCALE)
        .unwrap_or(1.0 / 32.0);
    let cfg = amine_tasks::ed::EdConfig {
        hidden_per_class: hidden,
        alpha,
        epochs,
        seed,
        topology: if shared {
            Topology::SharedHidden
        } else {
            Topology::PerClass
        },
        ..amine_tasks::ed::EdConfig::default()
    };
    let mut curve = Vec::new();
    let result = amine_tasks::ed::train(&cfg, split, &mut |e| curve.push(e.test_accuracy))?;
    Ok(FloatReference {
        test_accuracy: result.test_accuracy(),
        train_accuracy: result.epochs.last().map_or(0.0, |e| e.train_accuracy),
        curve,
        config: format!(
            "{} ED, {hidden} hidden per class, alpha {alpha}, u0 {}, init U[0, {}), {} epochs, seed {}",
            if shared { "shared-hidden" } else { "per-class" },
            cfg.u0, cfg.init_max, cfg.epochs, cfg.seed
        ),
    })
}

pub fn template(a: TemplateArgs) -> Result<()> {
    if a.kind != "ed" {
        bail!("unknown template `{}`; known: ed", a.kind);
    }
    if a.hidden == 0 || !a.hidden.is_multiple_of(2) {
        bail!(
            "--hidden {}: must be even and positive (half excitatory, half inhibitory)",
            a.hidden
        );
    }
    let credit = match a.credit.as_str() {
        "broadcast" => Credit::Broadcast,
        "diffusion" => match Credit::diffusion() {
            Credit::Diffusion {
                edge,
                corner,
                decay,
                ..
            } => Credit::Diffusion {
                edge,
                corner,
                decay,
                steps: a.diffusion_steps,
            },
            c => c,
        },
        c => bail!("--credit {c}: broadcast or diffusion"),
    };
    let net = EdNetwork {
        name: a
            .output
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "ed".into()),
        inputs: a.inputs,
        classes: a.classes,
        hidden_per_class: a.hidden,
        seed: a.seed,
        credit,
        shared_hidden: a.shared_hidden,
        ..EdNetwork::default()
    };
    let text = error_diffusion(&net).to_ron();
    amine_chip::error::write_atomically(&a.output, text.as_bytes())
        .with_context(|| format!("writing {}", a.output.display()))?;
    println!(
        "wrote {} ({} classes × {} hidden, {} steps per sample)",
        a.output.display(),
        a.classes,
        a.hidden,
        net.steps_per_sample()
    );
    Ok(())
}
