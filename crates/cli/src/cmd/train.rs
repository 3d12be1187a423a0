//! `amine train`: on-chip learning runs (the programs `amine template` writes are in `template.rs`).
//!
//! `--task digits` / `mnist:<dir>` train a PROGRAM with Error Diffusion; the e-prop
//! tasks (`cue-accumulation`, `delayed-match`, `pattern-generation`) run a study of
//! programs × seeds on the chip's e-prop engine: the given e-prop program, or the
//! template's program of each `--condition`.
//!
//! Everything that can fail on input — flags, chip, program, task data, the image's
//! layout — is checked before the first sample, and the report directory is written
//! only after the run finished, through a temporary name.

use super::template::{parse_conditions, template_flags, template_options};
use crate::args::TrainArgs;
use amine_compiler::program::Program;
use amine_sim::checkpoint::{self, Identity};
use amine_sim::Timing;
use amine_tasks::eprop::{Condition, TaskKind};
use amine_train::eprop::report::{condition_name, summary_text, to_json, write_dir, FILES};
use amine_train::eprop::EpropRun;
use amine_train::eprop::{
    run_study_resumable, settings, template_program, EpropRunConfig, RunProgress, StudyConfig,
};
use amine_train::report::FloatReference;
use amine_train::{train_ed_with, Checkpointing, Progress, TrainOptions};
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
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
    let (program_path, epochs) = ed_args(a)?;
    let augment = a
        .augment
        .as_deref()
        .map(amine_tasks::datasets::augment::Augment::parse)
        .transpose()?;
    let (chip, compiled) = compile_ed(a, program_path)?;
    let split = ed_split(a, augment, compiled.image.sigprop.is_some())?;
    let opts = TrainOptions {
        epochs,
        seed: a.seed,
        threads: a.threads,
        timing: a.timing.unwrap_or(Timing::Analytic),
        test_every_epoch: !a.final_test_only,
        final_rate: a.final_rate,
    };
    let total = (epochs * split.train.len()) as u64;
    let mut bar = Bar::new(total, epochs);
    crate::signals::install();
    let ckpt = Checkpointing {
        path: a.checkpoint.checkpoint.as_deref(),
        every: usize::try_from(a.checkpoint.checkpoint_every.unwrap_or(1)).unwrap_or(usize::MAX),
        resume: a.checkpoint.resume.as_deref(),
        stop: &crate::signals::interrupted,
    };
    let sigprop = compiled.image.sigprop.is_some();
    if sigprop && (ckpt.path.is_some() || ckpt.resume.is_some()) {
        bail!("--checkpoint and --resume are for Error Diffusion and DFA programs; a sigprop program trains without checkpoints");
    }
    if sigprop && a.final_rate.is_some() {
        bail!("--final-rate is for Error Diffusion and DFA programs; a sigprop program trains at its template's rate");
    }
    let per_epoch = augment.filter(|a| a.per_epoch());
    let mut on_progress = |p| bar.update(p);
    let trained = if sigprop {
        amine_train::sigprop::train_sigprop_augmented(
            &chip.config,
            &compiled.image,
            &split,
            &opts,
            per_epoch,
            &mut on_progress,
            &crate::signals::interrupted,
        )
    } else {
        train_ed_with(
            &chip.config,
            &compiled.image,
            &split,
            &opts,
            &ckpt,
            &mut on_progress,
        )
    };
    bar.bar.finish_and_clear();
    let mut report = chip_report(trained)?;
    report.chip_config = chip.identity.clone();
    let train_s = bar.start.elapsed().as_secs_f64();
    if !a.no_float {
        report.float_reference = Some(float_reference(
            &compiled.compilation.program,
            &split,
            epochs,
            a.seed,
            a.final_rate,
            per_epoch,
        )?);
    }
    if let Some(dir) = &a.report {
        report
            .write_dir(dir, &chip.config)
            .context("writing the report")?;
    }
    print_ed_report(a, &report, train_s, start);
    Ok(())
}

/// The Error Diffusion run's program and epochs, after refusing what is not for it: an
/// unknown task, the e-prop flags, no program, no epochs, a bad final rate.
fn ed_args(a: &TrainArgs) -> Result<(&Path, usize)> {
    if amine_tasks::parse_task(&a.task).is_err() {
        bail!(
            "unknown task `{}`: expected digits or mnist:<folder> (Error Diffusion), or \
             cue-accumulation, delayed-match or pattern-generation (e-prop)",
            a.task
        );
    }
    let mut eprop_only = vec![
        ("--seeds", a.seeds.is_some()),
        ("--trials", a.trials.is_some()),
        ("--eval-every", a.eval_every.is_some()),
        ("--eval-trials", a.eval_trials.is_some()),
        ("--float", a.float),
    ];
    eprop_only.extend(template_flags(&a.eprop));
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
    if let Some(f) = a.final_rate {
        if !(f > 0.0 && f.is_finite()) {
            bail!(
                "--final-rate {f}: a positive fraction of the program's learning rate (e.g. 0.1)"
            );
        }
    }
    Ok((program_path.as_path(), epochs))
}

/// The chip (`--chip`, else the program's default) and the program compiled onto it
/// with `--seed`; the report directory must be one to write.
fn compile_ed(
    a: &TrainArgs,
    program_path: &Path,
) -> Result<(amine_chip::presets::Resolved, amine_compiler::Compiled)> {
    let origin = program_path.display().to_string();
    let text = amine_chip::bounded::read_text(
        program_path,
        "network program",
        amine_chip::bounded::limits::PROGRAM,
    )?;
    let mut program = Program::from_ron(&text, &origin)?;
    let chip =
        super::compile::resolve_chip(a.chip.as_deref().unwrap_or(default_chip(&program)), &a.set)?;
    if let Some(dir) = &a.report {
        amine_report::dir::check_target(dir)?;
    }
    program.seed = a.seed;
    let base = program_path.parent().unwrap_or(Path::new("."));
    let compiled = amine_compiler::compile_program(program, base, &chip.config)
        .with_context(|| format!("compiling {origin}"))?;
    Ok((chip, compiled))
}

/// The task's data, the training set augmented (a per-epoch augmentation only for a
/// `sigprop` program).
fn ed_split(
    a: &TrainArgs,
    augment: Option<amine_tasks::datasets::augment::Augment>,
    sigprop: bool,
) -> Result<amine_tasks::Split> {
    let mut split = amine_tasks::parse_task(&a.task)?.load()?;
    if let Some(aug) = augment {
        if aug.per_epoch() && !sigprop {
            bail!(
                "--augment {}: a per-epoch augmentation is for sigprop programs; use shift:N \
                 with this program",
                a.augment.as_deref().unwrap_or_default()
            );
        }
        // A per-epoch augmentation only names itself here; the runner and the f64
        // reference draw each epoch's set.
        split.train = aug.apply(&split.train)?;
    }
    Ok(split)
}

/// The default chip of a program: a sigprop program needs the sigprop unit (the smallest
/// shipped register file that holds its contexts); a shared
/// dual-stream program (`amine template ed --routing modulo`, centring on or off) or any
/// program whose error units centre gets loihi-ed.
pub(super) fn default_chip(program: &Program) -> &'static str {
    if let Some(s) = &program.sigprop {
        amine_chip::presets::sigprop_preset_for(s.contexts.len() as u64).unwrap_or("loihi-sigprop")
    } else if amine_train::dual_ed::is_dual_stream(program)
        || program.populations.iter().any(|p| {
            matches!(
                p.model,
                amine_compiler::program::Model::Graded {
                    centring: Some(_),
                    ..
                }
            )
        })
    {
        "loihi-ed"
    } else {
        "loihi"
    }
}

/// The training's progress bar: drawn on stderr once training has run half a second.
struct Bar {
    bar: ProgressBar,
    shown: bool,
    start: Instant,
    epochs: usize,
}

impl Bar {
    fn new(total: u64, epochs: usize) -> Bar {
        Bar {
            bar: ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden()),
            shown: false,
            start: Instant::now(),
            epochs,
        }
    }

    fn update(&mut self, p: Progress) {
        let bar = &self.bar;
        if !self.shown && self.start.elapsed() > Duration::from_millis(500) {
            self.shown = true;
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
                bar.set_message(format!("epoch {}/{}", epoch + 1, self.epochs));
                bar.set_position((epoch * total + done) as u64);
            }
            Progress::Testing { set } => bar.set_message(format!("testing on {set}")),
        }
    }
}

/// The chip run's report; an interrupted run is reported as such.
fn chip_report(
    trained: Result<amine_train::TrainReport, amine_train::Error>,
) -> Result<amine_train::TrainReport> {
    match trained {
        Err(e) => {
            if let amine_train::ErrorKind::Interrupted { message } = &e.kind {
                return Err(crate::signals::Interrupted(message.clone()).into());
            }
            Err(e.into())
        }
        Ok(r) => Ok(r),
    }
}

/// Prints the report: JSON, or the summary with the wall times (`train_s` training,
/// since `start` in all).
fn print_ed_report(a: &TrainArgs, report: &amine_train::TrainReport, train_s: f64, start: Instant) {
    if a.json {
        out!("{}", report.to_json());
    } else {
        out!("{}", report.summary());
        outln!(
            "wall time: {train_s:.2} s on the chip model ({} thread(s)), {:.2} s in all",
            a.threads,
            start.elapsed().as_secs_f64()
        );
        if let Some(dir) = &a.report {
            outln!(
                "report written to {}/ (report.html, report.json, curve.csv, curve.svg, confusion.csv, summary.txt)",
                dir.display()
            );
        }
    }
}

/// The programs of an e-prop study: the given file, or the template's for each
/// condition.
fn eprop_programs(a: &TrainArgs, task: TaskKind) -> Result<Vec<(String, Program)>> {
    let Some(path) = &a.program else {
        let options = template_options(&a.eprop)?;
        return Ok(parse_conditions(a.eprop.condition.as_deref())?
            .into_iter()
            .map(|c| ("template".to_string(), template_program(task, c, &options)))
            .collect());
    };
    if let Some((flag, _)) = template_flags(&a.eprop).iter().find(|(_, given)| *given) {
        bail!(
            "{flag} sets the template's network; {} carries its own — edit the program, or \
             leave it out to train the template's",
            path.display()
        );
    }
    let origin = path.display().to_string();
    let text = amine_chip::bounded::read_text(
        path,
        "network program",
        amine_chip::bounded::limits::PROGRAM,
    )?;
    let program = Program::from_ron(&text, &origin)?;
    settings(&program).with_context(|| format!("{origin} with --task {}", a.task))?;
    Ok(vec![(origin, program)])
}

/// `amine train [PROGRAM] --task <e-prop task>`: a study of programs × seeds.
fn eprop(a: &TrainArgs, task: TaskKind) -> Result<()> {
    let start = Instant::now();
    let seeds = eprop_flags(a)?;
    let programs = eprop_programs(a, task)?;
    let resolved =
        super::compile::resolve_chip(a.chip.as_deref().unwrap_or("loihi-eprop"), &a.set)?;
    let chip = resolved.config.clone();
    let cfg = study_config(a, task, programs, seeds, &chip)?;
    let runs = cfg.programs.len() * seeds;
    let parallel = cfg.threads;
    let batch = settings(&cfg.base.program)?.batch.max(1) as usize;
    let batches = cfg.base.trials.div_ceil(batch) as u64;
    let bar = study_bar(runs, parallel, batches);
    let classification = task != TaskKind::PatternGeneration;
    // The bar moves per batch of every run; an evaluation updates its message.
    let on_progress = |c: Condition, seed: u64, p: RunProgress| {
        let p = match p {
            RunProgress::Batch { .. } => return bar.inc(1),
            RunProgress::Point(p) => p,
        };
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
    // Checkpoints: the finished runs, written after each one; a signal ends the study
    // at once (the runs under way are lost, the finished ones are in the checkpoint).
    let identity = study_identity(&cfg, &chip)?;
    let done = resumed_runs(a, &identity)?;
    let progress = Mutex::new(done.clone());
    let on_run = |i: usize, run: &EpropRun| {
        let (Some(path), Ok(mut p)) = (&a.checkpoint.checkpoint, progress.lock()) else {
            return;
        };
        if p.len() <= i {
            p.resize(cfg.seeds * cfg.programs.len(), None);
        }
        p[i] = Some(run.clone());
        let text = serde_json::to_string(&*p).unwrap_or_default();
        if let Err(e) = checkpoint::write(path, &identity, &text) {
            errln!("warning: the checkpoint could not be written: {e}");
        }
    };
    crate::signals::install();
    let on_progress = |c: Condition, seed: u64, p: RunProgress| {
        if crate::signals::interrupted() {
            // Holding the lock: no checkpoint is being written.
            let _held = progress.lock();
            bar.finish_and_clear();
            let saved = match &a.checkpoint.checkpoint {
                Some(p) => format!("; the checkpoint {} continues it (--resume)", p.display()),
                None => String::new(),
            };
            errln!("error: interrupted{saved}");
            std::process::exit(i32::from(crate::signals::EXIT_INTERRUPTED));
        }
        on_progress(c, seed, p)
    };
    let train_start = Instant::now();
    let study = run_study_resumable(&cfg, &chip, &on_progress, done, &on_run)
        .map(|s| s.named(&resolved.identity));
    bar.finish_and_clear();
    let study = study?;
    let train_s = train_start.elapsed().as_secs_f64();
    if let Some(dir) = &a.report {
        write_dir(&study, dir, &chip).context("writing the report")?;
    }
    if a.json {
        out!("{}", to_json(&study));
    } else {
        out!("{}", summary_text(&study));
        print_study_wall_time(&cfg, runs, train_s, start);
        if let Some(dir) = &a.report {
            outln!(
                "report written to {}/ ({})",
                dir.display(),
                FILES.join(", ")
            );
        }
    }
    Ok(())
}

/// The flags of an e-prop study that are refused (Error Diffusion's, a checkpoint
/// interval, a zero count) before anything is read; the number of seeds.
fn eprop_flags(a: &TrainArgs) -> Result<usize> {
    if a.checkpoint.checkpoint_every.is_some() {
        bail!("--checkpoint-every is for `amine run` and Error Diffusion: an e-prop study is checkpointed after every run");
    }
    let ed_only = [
        ("--epochs", a.epochs.is_some()),
        ("--timing", a.timing.is_some()),
        ("--no-float", a.no_float),
        ("--final-test-only", a.final_test_only),
        ("--final-rate", a.final_rate.is_some()),
        ("--augment", a.augment.is_some()),
    ];
    if let Some((flag, _)) = ed_only.iter().find(|(_, given)| *given) {
        bail!(
            "{flag} is for the Error Diffusion tasks (digits, mnist:<dir>), not --task {}",
            a.task
        );
    }
    let seeds = a.seeds.unwrap_or(1);
    let positive = [
        ("--seeds", Some(seeds)),
        ("--threads", Some(a.threads)),
        ("--trials", a.trials),
        ("--eval-every", a.eval_every),
    ];
    if let Some((flag, _)) = positive.iter().find(|(_, v)| *v == Some(0)) {
        bail!("{flag} 0: must be at least 1");
    }
    if let Some(dir) = &a.report {
        amine_report::dir::check_target(dir)?;
    }
    Ok(seeds)
}

/// The study of `programs` × `seeds` on `chip`: every program compiles for the chip,
/// fits the task and runs on the fast backend before any run starts; the flags set
/// the runs' lengths; the threads go to parallel runs first, the rest into each
/// run's batches.
fn study_config(
    a: &TrainArgs,
    task: TaskKind,
    programs: Vec<(String, Program)>,
    seeds: usize,
    chip: &amine_chip::ChipConfig,
) -> Result<StudyConfig> {
    let gen = amine_tasks::eprop::TaskGen::new(task, a.seed);
    let mut base = None;
    for (source, program) in &programs {
        let cfg = EpropRunConfig::new(task, program.clone(), source, a.seed)?;
        let image = amine_train::eprop::compile_run(&cfg, chip, &gen)?;
        amine_sim::eprop::EpropCore::from_image(&image, chip)
            .with_context(|| format!("{source} on chip `{}`", chip.name))?;
        base.get_or_insert(cfg);
    }
    let mut base = base.context("no program to train")?;
    base.trials = a.trials.unwrap_or(base.trials);
    base.eval_every = a.eval_every.unwrap_or(base.eval_every);
    base.eval_trials = a.eval_trials.unwrap_or(base.eval_trials);
    base.float = a.float;
    let runs = programs.len() * seeds;
    // Runs in parallel first; threads left over go into each run's batches.
    let parallel = a.threads.min(runs).max(1);
    base.threads = (a.threads / parallel).max(1);
    Ok(StudyConfig {
        task,
        programs,
        first_seed: a.seed,
        seeds,
        base,
        threads: parallel,
    })
}

/// The study's progress bar on a terminal (per batch of every run), else hidden.
fn study_bar(runs: usize, parallel: usize, batches: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
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
}

/// The finished runs of `--resume`'s checkpoint (none without it).
fn resumed_runs(a: &TrainArgs, identity: &Identity) -> Result<Vec<Option<EpropRun>>> {
    Ok(match &a.checkpoint.resume {
        // The runs travel as JSON (exact floats): their NaN metrics are `null` there.
        Some(path) => {
            let text: String = checkpoint::read(path, identity)?;
            serde_json::from_str::<Vec<Option<EpropRun>>>(&text)
                .with_context(|| format!("{}: corrupt e-prop progress", path.display()))?
        }
        None => Vec::new(),
    })
}

/// The study's wall-time line: training and in all, with how the threads were used.
fn print_study_wall_time(cfg: &StudyConfig, runs: usize, train_s: f64, start: Instant) {
    let parallel = cfg.threads;
    // The last `runs % parallel` runs are each split over all the threads.
    let tail = match runs % parallel {
        0 => String::new(),
        k => format!(", the last {k} with {} each", cfg.base.threads * parallel),
    };
    outln!(
        "wall time: {train_s:.2} s on the chip model ({runs} run(s), {parallel} at a time, \
         {} thread(s) per run{tail}), {:.2} s in all",
        cfg.base.threads,
        start.elapsed().as_secs_f64()
    );
}

/// The f64 reference of the program's network: the template's layout with the
/// program's hidden group size and α (u0 and the initial range are the template's).
pub(crate) fn float_reference(
    program: &Program,
    split: &amine_tasks::Split,
    epochs: usize,
    seed: u64,
    final_rate: Option<f64>,
    augment: Option<amine_tasks::datasets::augment::Augment>,
) -> Result<FloatReference> {
    use amine_compiler::templates::WEIGHT_SCALE;
    // The chip's rate schedule: only the dual-stream reference follows it.
    let constant = if final_rate.is_some() {
        " (constant rate: the chip's --final-rate schedule is not modelled here)"
    } else {
        ""
    };
    if let Some(r) = super::template_ff::dfa_float_reference(program, split, epochs, seed) {
        return r.map(|mut r| {
            r.config.push_str(constant);
            r
        });
    }
    if let Some(r) =
        super::template_ff::sigprop_float_reference(program, split, epochs, seed, augment)
    {
        return r;
    }
    use amine_tasks::ed::Topology;
    if let Some(mut cfg) = amine_train::dual_ed::float_config(program, epochs, seed) {
        cfg.final_learning_rate = final_rate.map(|f| cfg.learning_rate * f);
        let split = amine_tasks::dual_ed::with_bias_unit(split, amine_train::ed::BIAS as f32);
        let r = amine_tasks::dual_ed::train(&cfg, &split, 1, &mut |_| {})?;
        let hidden: Vec<String> = cfg.hidden.iter().map(|h| h.to_string()).collect();
        return Ok(FloatReference {
            test_accuracy: r.test_accuracy(),
            train_accuracy: r.epochs.last().map_or(0.0, |e| e.online_train_accuracy),
            curve: r.epochs.iter().map(|e| e.test_accuracy).collect(),
            config: format!(
                "dual-stream ED, modulo routing, hidden {}, widths {:?}, eta {:.1}{}, batches of 1, centring {:?}, stream factors {:.2}/{:.2}, input bias unit, {} epochs, seed {}",
                hidden.join(","),
                cfg.widths,
                cfg.learning_rate,
                cfg.final_learning_rate
                    .map_or(String::new(), |e| format!(" falling linearly to {e:.1}")),
                cfg.centring,
                cfg.asymmetry.same,
                cfg.asymmetry.cross,
                cfg.epochs,
                cfg.seed
            ),
        });
    }
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
            "{} ED, {hidden} hidden per class, alpha {alpha}, u0 {}, init U[0, {}), {} epochs, seed {}{constant}",
            if shared { "shared-hidden" } else { "per-class" },
            cfg.u0, cfg.init_max, cfg.epochs, cfg.seed
        ),
    })
}

/// What an e-prop study's checkpoint belongs to: the chip, the programs and every
/// setting that fixes the runs (threads included: each run reports them).
fn study_identity(cfg: &StudyConfig, chip: &amine_chip::ChipConfig) -> Result<Identity> {
    let mut programs = String::new();
    for (source, program) in &cfg.programs {
        programs.push_str(source);
        programs.push_str(&program.to_ron());
    }
    // The whole configuration (costs included), not only the structure in the stamp.
    let full = format!(
        "{:?} {} {} {} {:?} {:016x}",
        cfg.task,
        cfg.first_seed,
        cfg.seeds,
        cfg.threads,
        cfg.base,
        amine_chip::identity::fingerprint(chip)
    );
    Ok(Identity {
        kind: "train-eprop".into(),
        program: cfg
            .programs
            .iter()
            .map(|p| p.0.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        chip: amine_chip::image::ChipStamp::of(chip),
        image: amine_chip::image::fnv1a(programs.as_bytes()),
        settings: amine_chip::image::fnv1a(full.as_bytes()),
        settings_text: format!(
            "task {:?}, seeds {}..{}, {} run(s) at a time, {} trials, eval every {} on {}, threads {}{}",
            cfg.task,
            cfg.first_seed,
            cfg.first_seed + cfg.seeds as u64,
            cfg.threads,
            cfg.base.trials,
            cfg.base.eval_every,
            cfg.base.eval_trials,
            cfg.base.threads,
            if cfg.base.float { ", float" } else { "" }
        ),
    })
}
