//! `amine run`: load (or compile) an image, simulate it, print and write the report.
//!
//! Every check — chip, image, input file — happens before the simulation starts, and
//! the report directory is only written after the run succeeded, so a failure leaves
//! no partial report. A progress bar appears on stderr once a run has taken over a
//! second (and only on a terminal).

use crate::args::{MappingArgs, RunArgs};
use amine_chip::image::{codec::MAGIC, ChipImage};
use amine_chip::presets::Resolved;
use amine_chip::ChipConfig;
use amine_compiler::program::MappingHints;
use amine_sim::{
    parse_csv, Monitor, MonitorOptions, Record, Recording, RunOutcome, RunReport, SimOptions,
    Simulator, Timing,
};
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::path::Path;
use std::time::{Duration, Instant};

/// An image ready to run, with what the program said about time.
pub struct Loaded {
    pub image: ChipImage,
    /// Seconds per step (the program's `dt`; 1 ms for an image).
    pub dt_s: f64,
    pub compile_s: f64,
}

/// Whether RON text is a network program rather than an image: its first token
/// (after comments) is `Program`.
fn is_program(text: &str) -> bool {
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix("//") {
            rest = r.split_once('\n').map_or("", |(_, r)| r);
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r.split_once("*/").map_or("", |(_, r)| r);
        } else {
            return rest.starts_with("Program");
        }
    }
}

/// Compile program text for `chip`, with `hints` added to its mapping.
pub fn compile(
    text: &str,
    origin: &str,
    base: &Path,
    chip: &ChipConfig,
    hints: MappingHints,
) -> Result<Loaded> {
    let start = Instant::now();
    let compiled = amine_compiler::compile_str_with(text, origin, base, chip, hints)?;
    Ok(Loaded {
        image: compiled.image,
        dt_s: compiled.compilation.program.dt_ms * 1e-3,
        compile_s: start.elapsed().as_secs_f64(),
    })
}

/// Read a chip image (binary or RON) or compile a program file or, with `dt`, a NIR
/// file (`.nir`), with the mapping hints of `mapping` (which an image cannot take).
pub fn load(
    path: &Path,
    chip: &ChipConfig,
    dt: Option<f64>,
    mapping: &MappingArgs,
) -> Result<Loaded> {
    let hints = mapping.hints()?;
    if amine_nir::is_nir_path(path) {
        let start = Instant::now();
        let compiled = super::compile::compile_nir(path, chip, dt, hints)?;
        return Ok(Loaded {
            image: compiled.image,
            dt_s: compiled.compilation.program.dt_ms * 1e-3,
            compile_s: start.elapsed().as_secs_f64(),
        });
    }
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let origin = path.display().to_string();
    if bytes.starts_with(&MAGIC) {
        if mapping.given() {
            anyhow::bail!(
                "{origin} is a compiled image: mapping hints (--hints, --cores, --max-per-core, --place, --colocate) apply when a program or NIR file is compiled"
            );
        }
        let image = ChipImage::from_bytes(&bytes, &origin)?;
        return Ok(Loaded {
            image,
            dt_s: 1e-3,
            compile_s: 0.0,
        });
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        anyhow::anyhow!(
            "{origin}: neither a binary chip image nor RON text (a program or an image)"
        )
    })?;
    if is_program(text) {
        compile(
            text,
            &origin,
            path.parent().unwrap_or(Path::new(".")),
            chip,
            hints,
        )
    } else if mapping.given() {
        anyhow::bail!(
            "{origin} is a compiled image: mapping hints (--hints, --cores, --max-per-core, --place, --colocate) apply when a program or NIR file is compiled"
        )
    } else {
        Ok(Loaded {
            image: ChipImage::from_ron(text, &origin)?,
            dt_s: 1e-3,
            compile_s: 0.0,
        })
    }
}

/// What a finished run produced, with wall-clock timings.
pub struct Finished {
    pub report: RunReport,
    pub outcome: RunOutcome,
    pub recording: Recording,
    pub sim_s: f64,
}

/// How a run is simulated.
pub struct How<'a> {
    pub steps: u32,
    pub timing: Timing,
    pub threads: usize,
    pub input: Option<&'a Path>,
    /// Record the raster and, with monitor options, every probe, weights and field
    /// (for a report directory).
    pub record: Option<MonitorOptions>,
}

/// The monitor sampling of a run with a report: every `every` steps, snapshots every
/// `snapshot_every` (default an eighth of the run).
pub fn monitor_options(
    steps: u32,
    every: u32,
    snapshot_every: Option<u32>,
) -> Result<MonitorOptions> {
    if every == 0 || snapshot_every == Some(0) {
        anyhow::bail!("--monitor-every and --snapshot-every must be at least 1");
    }
    Ok(MonitorOptions {
        every,
        snapshot_every: snapshot_every.unwrap_or(steps.div_ceil(8).max(1)),
    })
}

/// Simulate `loaded` on `chip`, with an optional input file, showing progress on long runs.
pub fn simulate(chip: &Resolved, loaded: &Loaded, how: How) -> Result<Finished> {
    let How {
        steps,
        timing,
        threads,
        input,
        record,
    } = how;
    let options = SimOptions {
        threads,
        timing,
        steps,
        record: Record {
            spikes: record.is_some(),
            latency: true,
        },
        dt_s: loaded.dt_s,
    };
    let mut sim = Simulator::new(&chip.config, &loaded.image, options)?;
    let external: Vec<&str> = loaded
        .image
        .inputs
        .iter()
        .filter(|p| matches!(p.source, amine_chip::image::InputSource::External))
        .map(|p| p.name.as_str())
        .collect();
    if input.is_none() && !external.is_empty() {
        eprintln!(
            "note: no --input given, so the External input port(s) `{}` send no spikes",
            external.join("`, `")
        );
    }
    if let Some(path) = input {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let spikes = parse_csv(&text, &path.display().to_string(), &loaded.image, steps)?;
        sim = sim.with_external(spikes)?;
    }
    let mut state = sim.initial_state();
    let mut monitor = record
        .map(|o| Monitor::new(&sim, &loaded.image, &state, o, steps))
        .transpose()?;
    let start = Instant::now();
    let bar = ProgressBar::with_draw_target(Some(steps as u64), ProgressDrawTarget::hidden());
    let mut shown = false;
    let observe = |sim: &Simulator, state: &amine_sim::SimState| {
        if let Some(m) = &mut monitor {
            m.observe(sim, state);
        }
    };
    let outcome = sim.run_observed(
        &mut state,
        |done, _| {
            if !shown && start.elapsed() > Duration::from_secs(1) {
                shown = true;
                bar.set_style(
                    ProgressStyle::with_template(
                        "{spinner} step {pos}/{len} [{bar:40}] {elapsed} elapsed, eta {eta}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                bar.set_draw_target(ProgressDrawTarget::stderr());
            }
            bar.set_position(done as u64);
        },
        observe,
    );
    bar.finish_and_clear();
    let sim_s = start.elapsed().as_secs_f64();
    let mut report = RunReport::new(&sim, &state, &outcome);
    report.chip_config = chip.identity.clone();
    Ok(Finished {
        report,
        outcome,
        recording: monitor.map(Monitor::finish).unwrap_or_default(),
        sim_s,
    })
}

/// Write a finished run's report directory.
pub fn write_report(done: &Finished, dir: &Path, config: &ChipConfig) -> Result<()> {
    done.report
        .write_dir(dir, &done.outcome.raster, &done.recording, config)
        .context("writing the report")
}

pub fn run(a: RunArgs) -> Result<()> {
    let start = Instant::now();
    let chip = super::compile::resolve_chip(&a.chip, &a.set)?;
    if let Some(dir) = &a.report {
        amine_report::dir::check_target(dir)?;
    }
    let record = match &a.report {
        Some(_) => Some(monitor_options(a.steps, a.monitor_every, a.snapshot_every)?),
        None => None,
    };
    let loaded = load(&a.target, &chip.config, a.dt, &a.mapping)?;
    if a.report.is_none() && !loaded.image.probes.is_empty() {
        eprintln!(
            "note: the image declares {} probe(s); give --report DIR to record them",
            loaded.image.probes.len()
        );
    }
    let done = simulate(
        &chip,
        &loaded,
        How {
            steps: a.steps,
            timing: a.timing,
            threads: a.threads,
            input: a.input.as_deref(),
            record,
        },
    )?;
    let report_start = Instant::now();
    if let Some(dir) = &a.report {
        write_report(&done, dir, &chip.config)?;
    }
    if a.json {
        print!("{}", done.report.to_json());
    } else {
        print!("{}", done.report.summary());
        if let Some(dir) = &a.report {
            println!(
                "report written to {}/ (report.html, report.json, raster.csv, energy_heatmap.svg, raster.svg, latency.svg{})",
                dir.display(),
                if done.recording.traces.is_empty() && done.recording.spikes.is_empty() && done.recording.weights.is_empty() && done.recording.field.is_none() { "" } else { ", monitors/" }
            );
        }
    }
    if a.timings {
        eprintln!(
            "amine-timings: compile_s={:.6} sim_s={:.6} report_s={:.6} total_s={:.6}",
            loaded.compile_s,
            done.sim_s,
            report_start.elapsed().as_secs_f64(),
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn programs_are_told_from_images() {
        assert!(super::is_program("// W1\n/* x */ Program(name: \"a\")"));
        assert!(!super::is_program("// image\nChipImage(version: 1)"));
        assert!(!super::is_program("(version: 1)"));
    }
}
