//! `amine sweep` and `amine compare`: what-if studies over chips, costs, programs and
//! seeds. Everything is checked before the first point runs, and the report directory
//! is written whole or not at all.

use crate::args::{CompareArgs, SweepArgs};
use amine_sweep::{exec, spec::Job, Event, Sweep};
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A progress bar over the sweep's work (steps or training samples), with its ETA.
fn bar() -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {msg} [{bar:40}] {percent}%, {elapsed} elapsed, eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(250));
    bar
}

/// Run `sweep` on `threads` threads with a progress bar.
fn execute(sweep: &Sweep, threads: usize) -> Result<Vec<amine_sweep::Outcome>> {
    if threads == 0 {
        bail!("--threads 0: must be at least 1");
    }
    let bar = bar();
    let points = sweep.points.len();
    let finished = AtomicU64::new(0);
    let on = |e: Event| match e {
        Event::Planned { units } => {
            bar.set_length(units.max(1));
            bar.set_position(0);
        }
        Event::Compiled { done, total } => {
            bar.set_message(format!("compiled {done}/{total} image(s)"))
        }
        Event::Units(n) => bar.inc(n),
        Event::Finished => {
            let f = finished.fetch_add(1, Ordering::Relaxed) + 1;
            bar.set_message(format!("{f}/{points} points"));
        }
    };
    let out = exec::run(sweep, threads, &on);
    bar.finish_and_clear();
    Ok(out?)
}

pub fn sweep(a: SweepArgs) -> Result<()> {
    let start = Instant::now();
    amine_report::dir::check_target(&a.report)?;
    let mut sweep = Sweep::load(&a.spec)?;
    if let Some(name) = &a.system {
        sweep = sweep.on_system(super::chip::resolve_system(name)?)?;
    }
    let spec_text = std::fs::read_to_string(&a.spec)
        .with_context(|| format!("reading {}", a.spec.display()))?;
    let outcomes = execute(&sweep, a.threads)?;
    let files = amine_sweep::sweep_files(&sweep, &outcomes, &spec_text);
    amine_report::write_dir(&a.report, &files).context("writing the report")?;
    let rows = amine_sweep::rows::rows(&sweep, &outcomes);
    out!("{}", amine_sweep::page::summary(&sweep, &rows).to_text());
    let ok = outcomes.iter().filter(|o| o.result.is_ok()).count();
    outln!(
        "{} points ({ok} ran) in {:.1} s on {} thread(s); report written to {}/ (report.html, table.csv, table.json, pareto_*.svg)",
        outcomes.len(),
        start.elapsed().as_secs_f64(),
        a.threads,
        a.report.display()
    );
    Ok(())
}

pub fn compare(a: CompareArgs) -> Result<()> {
    let start = Instant::now();
    if let Some(dir) = &a.report {
        amine_report::dir::check_target(dir)?;
    }
    let job = match &a.task {
        Some(task) => Job::Train {
            task: task.clone(),
            epochs: a.epochs,
            timing: a.timing,
        },
        None => Job::Run {
            steps: a.steps,
            timing: a.timing,
        },
    };
    let sweep = amine_sweep::compare::sweep(Path::new(&a.program), &a.chip, job, a.seed)?;
    let outcomes = execute(&sweep, a.threads)?;
    let rows = amine_sweep::rows::rows(&sweep, &outcomes);
    let table = amine_sweep::compare::table(&sweep, &outcomes, &rows);
    if let Some(dir) = &a.report {
        amine_report::write_dir(dir, &amine_sweep::compare_files(&sweep, &outcomes))
            .context("writing the report")?;
    }
    out!("{}", table.to_text());
    outln!(
        "compared on {} chip{} in {:.1} s",
        outcomes.len(),
        amine_chip::units::plural_s(outcomes.len() as u64),
        start.elapsed().as_secs_f64()
    );
    if let Some(dir) = &a.report {
        outln!(
            "report written to {}/ (report.html, table.csv, table.json, comparison.txt, pictures)",
            dir.display()
        );
    }
    Ok(())
}
