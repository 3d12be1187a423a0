//! `amine train` and `amine template`: on-chip learning runs and the programs they use.
//!
//! Everything that can fail on input — chip, program, task data, the image's layout —
//! is checked before the first sample, and the report directory is written only after
//! the run finished, file by file through a temporary name.

use crate::args::{TemplateArgs, TrainArgs};
use amine_chip::presets;
use amine_compiler::program::Program;
use amine_compiler::templates::{error_diffusion, Credit, EdNetwork};
use amine_train::report::FloatReference;
use amine_train::{train_ed, Progress, TrainOptions};
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::path::Path;
use std::time::{Duration, Instant};

pub fn run(a: TrainArgs) -> Result<()> {
    let start = Instant::now();
    if a.epochs == 0 {
        bail!("--epochs 0: train for at least one epoch");
    }
    let chip = presets::resolve(&a.chip)?;
    let origin = a.program.display().to_string();
    let text = std::fs::read_to_string(&a.program).with_context(|| format!("reading {origin}"))?;
    let mut program = Program::from_ron(&text, &origin)?;
    program.seed = a.seed;
    let base = a.program.parent().unwrap_or(Path::new("."));
    let compiled = amine_compiler::compile_program(program, base, &chip)
        .with_context(|| format!("compiling {origin}"))?;
    let split = amine_tasks::parse_task(&a.task)?.load()?;
    let opts = TrainOptions {
        epochs: a.epochs,
        seed: a.seed,
        threads: a.threads,
        timing: a.timing,
        test_every_epoch: !a.final_test_only,
    };
    let total = (a.epochs * split.train.len()) as u64;
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
    let mut shown = false;
    let train_start = Instant::now();
    let mut report = train_ed(&chip, &compiled.image, &split, &opts, &mut |p| {
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
                bar.set_message(format!("epoch {}/{}", epoch + 1, a.epochs));
                bar.set_position((epoch * total + done) as u64);
            }
            Progress::Testing { set } => bar.set_message(format!("testing on {set}")),
        }
    })?;
    bar.finish_and_clear();
    let train_s = train_start.elapsed().as_secs_f64();
    if !a.no_float {
        report.float_reference = Some(float_reference(&compiled.compilation.program, &split, &a)?);
    }
    if let Some(dir) = &a.report {
        report.write_dir(dir).context("writing the report")?;
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
                "report written to {}/ (report.json, curve.csv, curve.svg, confusion.csv, summary.txt)",
                dir.display()
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
    a: &TrainArgs,
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
        epochs: a.epochs,
        seed: a.seed,
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
