//! Running a sweep: each distinct chip structure (with each program variant and seed)
//! is compiled once, then every point runs on its own chip configuration — costs,
//! static power and clock apply at run time, so cost variants share one image.
//! Compiles and runs are spread over threads; every point runs single-threaded and
//! results are kept by point index, so the outcome does not depend on the thread count.

use crate::spec::{Job, Point, Sweep};
use crate::Error;
use amine_chip::image::VerifiedImage;
use amine_chip::presets::Resolved;
use amine_chip::system_layout::SystemLayout;
use amine_compiler::program::Program;
use amine_sim::{RunReport, SimOptions, Simulator};
use amine_train::{train_ed, Progress, TrainOptions, TrainReport};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What a point measured.
#[derive(Debug, Clone, PartialEq)]
pub enum Figures {
    Run(Box<RunReport>),
    Train(Box<TrainReport>),
}

/// One point and what became of it: its figures, or why it could not run (a program
/// that does not fit the chip names the limit).
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub point: Point,
    /// The chip configuration the point ran on.
    pub chip: Resolved,
    /// Cores of the image (0 when it did not compile).
    pub cores: usize,
    pub result: Result<Figures, String>,
}

/// Where a sweep is, for progress output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The points will do `units` units of work in all (sent once, before they run).
    Planned { units: u64 },
    /// `done` of `total` images compiled.
    Compiled { done: usize, total: usize },
    /// `n` more units of work done (simulated steps, or training samples).
    Units(u64),
    /// A point finished.
    Finished,
}

/// Units of work of one point of `sweep` (for a progress bar with a real ETA).
fn units(sweep: &Sweep, train_samples: usize) -> u64 {
    match &sweep.spec.job {
        Job::Run { steps, .. } => *steps as u64,
        Job::Train { epochs, .. } => (*epochs * train_samples) as u64,
    }
}

/// Run `f(i)` for `i in 0..n`, one after another for one thread, else one index per
/// task on the process's pool; results in index order.
fn parallel<T: Send>(n: usize, threads: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    if threads <= 1 {
        return (0..n).map(f).collect();
    }
    (0..n).into_par_iter().with_max_len(1).map(&f).collect()
}

/// Compile-once key: chip structure, program overrides and seed.
type Key = (String, Vec<String>, u64);

/// Run every point of `sweep` on `threads` threads, reporting progress.
pub fn run(
    sweep: &Sweep,
    threads: usize,
    progress: &(dyn Fn(Event) + Sync),
) -> Result<Vec<Outcome>, Error> {
    let text = std::fs::read_to_string(&sweep.program_path)
        .map_err(|e| Error::io(&sweep.program_path, &e))?;
    let origin = sweep.program_path.display().to_string();
    let base = sweep
        .program_path
        .parent()
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let program = Program::from_ron(&text, &origin).map_err(|e| Error::msg(e.to_string()))?;
    // Chips, once per (chip, overrides); all were checked when the sweep was read. Over a
    // system, the virtual chip and the system's layout.
    let mut chips: BTreeMap<(String, Vec<String>), (Resolved, Option<SystemLayout>)> =
        BTreeMap::new();
    for p in &sweep.points {
        let key = (
            p.chip.clone(),
            p.chip_sets.iter().map(|s| s.text.clone()).collect(),
        );
        if let std::collections::btree_map::Entry::Vacant(slot) = chips.entry(key) {
            let r = amine_chip::presets::resolve_with(&p.chip, &p.chip_sets)
                .map_err(|e| Error::msg(e.to_string()))?;
            slot.insert(match &sweep.system {
                Some(system) => {
                    let (v, layout) = r.on_system(system).map_err(|e| Error::msg(e.to_string()))?;
                    (v, Some(layout))
                }
                None => (r, None),
            });
        }
    }
    let chip_of = |p: &Point| -> &(Resolved, Option<SystemLayout>) {
        &chips[&(
            p.chip.clone(),
            p.chip_sets
                .iter()
                .map(|s| s.text.clone())
                .collect::<Vec<_>>(),
        )]
    };
    let key_of = |p: &Point| -> Key {
        (
            chip_of(p).0.identity.structure.clone(),
            p.program_sets.iter().map(|s| s.text.clone()).collect(),
            p.seed,
        )
    };
    let mut groups: BTreeMap<Key, usize> = BTreeMap::new();
    let mut firsts: Vec<&Point> = Vec::new();
    for p in &sweep.points {
        groups.entry(key_of(p)).or_insert_with(|| {
            firsts.push(p);
            firsts.len() - 1
        });
    }
    let done = AtomicUsize::new(0);
    let total = firsts.len();
    let images: Vec<Result<VerifiedImage, String>> = parallel(total, threads, |g| {
        let p = firsts[g];
        let (chip, layout) = chip_of(p);
        let r = compile(&program, p, &base, &chip.config, layout.as_ref());
        progress(Event::Compiled {
            done: done.fetch_add(1, Ordering::Relaxed) + 1,
            total,
        });
        r
    });
    let split = match &sweep.spec.job {
        Job::Train { task, .. } => Some(
            amine_tasks::parse_task(task)
                .and_then(|t| t.load())
                .map_err(|e| Error::msg(e.to_string()))?,
        ),
        Job::Run { .. } => None,
    };
    let per_point = units(sweep, split.as_ref().map_or(0, |s| s.train.len()));
    progress(Event::Planned {
        units: per_point * sweep.points.len() as u64,
    });
    let outcomes = parallel(sweep.points.len(), threads, |i| {
        let p = &sweep.points[i];
        let (chip, layout) = chip_of(p).clone();
        let image = &images[groups[&key_of(p)]];
        let (cores, result) = match image {
            Err(e) => (0, Err(e.clone())),
            Ok(image) => (
                image.cores.len(),
                run_point(
                    &sweep.spec.job,
                    p,
                    (&chip, layout),
                    image,
                    split.as_ref(),
                    progress,
                ),
            ),
        };
        progress(Event::Finished);
        Outcome {
            point: p.clone(),
            chip,
            cores,
            result,
        }
    });
    Ok(outcomes)
}

/// The point's program (overrides applied, its seed) compiled for `config`, or over
/// the system of `layout` whose virtual chip `config` is.
fn compile(
    program: &Program,
    p: &Point,
    base: &Path,
    config: &amine_chip::ChipConfig,
    layout: Option<&SystemLayout>,
) -> Result<VerifiedImage, String> {
    let mut program =
        amine_chip::overrides::apply(program, &p.program_sets).map_err(|e| e.to_string())?;
    program.seed = p.seed;
    let compiled = match layout {
        None => amine_compiler::compile_program(program, base, config),
        Some(layout) => {
            let origin = program.name.clone();
            amine_compiler::passes::parse::from_program(program, &origin, base, config.clone())
                .and_then(|mut c| {
                    c.system = Some(layout.clone());
                    amine_compiler::compile(c)
                })
        }
    };
    compiled.map(|c| c.image).map_err(|e| e.to_string())
}

/// Run one point on its image.
fn run_point(
    job: &Job,
    p: &Point,
    (chip, layout): (&Resolved, Option<SystemLayout>),
    image: &VerifiedImage,
    split: Option<&amine_tasks::Split>,
    progress: &(dyn Fn(Event) + Sync),
) -> Result<Figures, String> {
    match (job, split) {
        (Job::Run { steps, timing }, _) => {
            let options = SimOptions {
                threads: 1,
                timing: *timing,
                steps: *steps,
                record: amine_sim::Record {
                    spikes: false,
                    latency: true,
                },
                ..SimOptions::default()
            };
            let mut sim = Simulator::from_verified(&chip.config, image, options)
                .map_err(|e| e.to_string())?;
            if let Some(layout) = layout {
                sim = sim.with_system(layout).map_err(|e| e.to_string())?;
            }
            let mut state = sim.initial_state();
            let mut reported = 0u32;
            let outcome = sim.run(&mut state, |done, total| {
                if done - reported >= 100 || done == total {
                    progress(Event::Units((done - reported) as u64));
                    reported = done;
                }
            });
            let mut report = RunReport::new(&sim, &state, &outcome);
            report.chip_config = chip.identity.clone();
            Ok(Figures::Run(Box::new(report)))
        }
        (Job::Train { epochs, timing, .. }, Some(split)) => {
            let opts = TrainOptions {
                epochs: *epochs,
                seed: p.seed,
                threads: 1,
                timing: *timing,
                test_every_epoch: false,
                final_rate: None,
            };
            let mut reported = 0usize;
            let mut report = train_ed(&chip.config, image, split, &opts, &mut |e| {
                if let Progress::Training { epoch, done, total } = e {
                    let now = epoch * total + done;
                    progress(Event::Units((now - reported) as u64));
                    reported = now;
                }
            })
            .map_err(|e| e.to_string())?;
            report.chip_config = chip.identity.clone();
            Ok(Figures::Train(Box::new(report)))
        }
        (Job::Train { .. }, None) => Err("the task's data were not loaded".into()),
    }
}
