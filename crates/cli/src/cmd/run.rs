//! `amine run`: load (or compile) an image, simulate it, print and write the report.
//!
//! Every check — chip, image, input file — happens before the simulation starts, and
//! the report directory is only written after the run succeeded, so a failure leaves
//! no partial report. A progress bar appears on stderr once a run has taken over a
//! second (and only on a terminal).

use crate::args::{CheckpointArgs, MappingArgs, RunArgs};
use amine_chip::image::{codec::MAGIC, ChipImage, VerifiedImage};
use amine_chip::presets::Resolved;
use amine_chip::ChipConfig;
use amine_compiler::program::MappingHints;
use amine_sim::checkpoint::{self, Identity};
use amine_sim::resume::RunBody;
use amine_sim::{
    parse_csv, Monitor, MonitorOptions, Record, Recorder, Recording, RunOutcome, RunReport,
    SimOptions, SimState, Simulator, Timing,
};
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::path::Path;
use std::time::{Duration, Instant};

/// An image ready to run, with what the program said about time.
pub struct Loaded {
    pub image: LoadedImage,
    /// Seconds per step (the program's `dt`; 1 ms for an image).
    pub dt_s: f64,
    pub compile_s: f64,
    /// The compiler's steps and their wall times (empty for an image).
    pub pass_times: Vec<(&'static str, Duration)>,
}

/// Whether RON text is a network program rather than an image: its first token
/// (after comments) is `Program`.
pub fn is_program(text: &str) -> bool {
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
    Ok(Loaded::compiled(compiled, start))
}

/// A loaded image: read from a file (checked when simulated) or compiled in this
/// process (checked by the compiler, so not again for the chip it was compiled for).
pub enum LoadedImage {
    Read(Box<ChipImage>),
    Compiled(Box<VerifiedImage>),
}

impl std::ops::Deref for LoadedImage {
    type Target = ChipImage;
    fn deref(&self) -> &ChipImage {
        match self {
            LoadedImage::Read(image) => image,
            LoadedImage::Compiled(verified) => verified,
        }
    }
}

impl LoadedImage {
    /// A simulator of this image on `config` (see [`Simulator::from_verified`]).
    pub fn simulator(
        &self,
        config: &ChipConfig,
        options: SimOptions,
    ) -> Result<Simulator, amine_sim::Error> {
        match self {
            LoadedImage::Read(image) => Simulator::new(config, image, options),
            LoadedImage::Compiled(verified) => Simulator::from_verified(config, verified, options),
        }
    }
}

impl Loaded {
    /// The image of `compiled`, begun at `start`.
    pub fn compiled(compiled: amine_compiler::Compiled, start: Instant) -> Loaded {
        let amine_compiler::Compiled {
            image,
            compilation,
            pass_times,
            ..
        } = compiled;
        Loaded {
            image: LoadedImage::Compiled(Box::new(image)),
            dt_s: compilation.program.dt_ms * 1e-3,
            compile_s: start.elapsed().as_secs_f64(),
            pass_times,
        }
    }

    /// An image read from a file.
    fn read(image: ChipImage) -> Loaded {
        Loaded {
            image: LoadedImage::Read(Box::new(image)),
            dt_s: 1e-3,
            compile_s: 0.0,
            pass_times: Vec::new(),
        }
    }
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
        return Ok(Loaded::compiled(compiled, start));
    }
    use amine_chip::bounded::{limits, read_text_from, sniff};
    // The first 64 KiB tell a binary image, a program and a RON image apart, so each
    // is read within its own limit.
    let sniffed = sniff(path, "chip image", limits::IMAGE_BINARY, 64 << 10)?;
    let (head, reader, cap) = (sniffed.head, sniffed.reader, sniffed.cap);
    let origin = path.display().to_string();
    if head.starts_with(&MAGIC) {
        if mapping.given() {
            anyhow::bail!(
                "{origin} is a compiled image: mapping hints (--hints, --cores, --max-per-core, --place, --colocate) apply when a program or NIR file is compiled"
            );
        }
        let image = ChipImage::read_binary(reader, &origin, cap)?;
        return Ok(Loaded::read(image));
    }
    let valid = match std::str::from_utf8(&head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && head.len() == 64 << 10,
    };
    if !valid || head.contains(&0) {
        anyhow::bail!("{origin}: neither a binary chip image nor RON text (a program or an image)");
    }
    let text = if is_program(&String::from_utf8_lossy(&head)) {
        read_text_from(reader, path, "network program", limits::PROGRAM.min(cap))?
    } else {
        read_text_from(
            reader,
            path,
            "chip image in RON",
            limits::IMAGE_RON.min(cap),
        )?
    };
    let text = text.as_str();
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
        Ok(Loaded::read(ChipImage::from_ron(text, &origin)?))
    }
}

/// What a finished run produced, with wall-clock timings.
pub struct Finished {
    pub report: RunReport,
    pub outcome: RunOutcome,
    pub recording: Recording,
    pub sim_s: f64,
    /// Checkpoints written, their total bytes and seconds (part of `sim_s`).
    pub checkpoints: (u32, u64, f64),
    /// Wall-clock seconds per phase of the step (when [`How::phases`] asked for them).
    pub phases: Option<amine_sim::PhaseTimes>,
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
    /// Checkpoint and resume (see `amine_sim::checkpoint`).
    pub checkpoint: &'a CheckpointArgs,
    /// The multi-chip system the image runs over (its chip is the system's virtual chip).
    pub system: Option<&'a amine_chip::system_layout::SystemLayout>,
    /// Time every phase of the step (for `--timings`; results do not change).
    pub phases: bool,
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

/// Steps between two checkpoints when `--checkpoint-every` is not given.
const CHECKPOINT_EVERY: u64 = 100_000;

/// Simulate `loaded` on `chip`, with an optional input file, showing progress on long
/// runs; with `how.checkpoint`, checkpointing and resuming (see `amine_sim::checkpoint`).
/// SIGINT or SIGTERM stop the run between two steps (after writing the checkpoint).
pub fn simulate(chip: &Resolved, loaded: &Loaded, how: How) -> Result<Finished> {
    let ckpt = how.checkpoint;
    let (mut sim, input_sum) = prepare_simulator(chip, loaded, &how)?;
    // Hashing the image takes a while: only a checkpointed or resumed run needs it.
    let checkpointed = ckpt.checkpoint.is_some() || ckpt.resume.is_some();
    let identity = checkpointed.then(|| run_identity(chip, loaded, &how, input_sum));
    let (state, rec, recording) = start_state(&sim, ckpt, identity.as_ref(), how.record.is_some())?;
    let mut monitor = how
        .record
        .map(|o| Monitor::new(&sim, &loaded.image, &state, o, how.steps))
        .transpose()?;
    if let (Some(m), Some(r), Some(path)) = (&mut monitor, recording, &ckpt.resume) {
        m.resume(r, &path.display().to_string())?;
    }
    crate::signals::install();
    if how.phases {
        sim.time_phases();
    }
    let mut run = Running {
        sim,
        state,
        rec,
        monitor,
        saver: Saver {
            path: ckpt.checkpoint.as_deref(),
            identity: identity.as_ref(),
            written: (0, 0, 0.0),
        },
    };
    let every = ckpt.checkpoint_every.unwrap_or(CHECKPOINT_EVERY).max(1);
    let start = Instant::now();
    run.steps(how.steps, every)?;
    let sim_s = start.elapsed().as_secs_f64();
    let Running {
        sim,
        state,
        rec,
        monitor,
        saver,
    } = run;
    let outcome = RunOutcome::from(rec);
    let mut report = RunReport::new(&sim, &state, &outcome);
    report.chip_config = chip.identity.clone();
    Ok(Finished {
        report,
        outcome,
        recording: monitor.map(Monitor::finish).unwrap_or_default(),
        sim_s,
        checkpoints: saver.written,
        phases: sim.phase_times().cloned(),
    })
}

/// The simulator of `loaded` on `chip` (over `how.system`, with `how.input`'s spikes)
/// and the hash of the input file (0 without one); a note when External ports get no
/// input.
fn prepare_simulator(chip: &Resolved, loaded: &Loaded, how: &How) -> Result<(Simulator, u64)> {
    let options = SimOptions {
        threads: how.threads,
        timing: how.timing,
        steps: how.steps,
        record: Record {
            spikes: how.record.is_some(),
            // The report's latency figures are kept in bounded memory by the recorder.
            latency: false,
        },
        dt_s: loaded.dt_s,
    };
    let mut sim = loaded.image.simulator(&chip.config, options)?;
    if let Some(layout) = how.system {
        sim = sim.with_system(layout.clone())?;
    }
    let external: Vec<&str> = loaded
        .image
        .inputs
        .iter()
        .filter(|p| matches!(p.source, amine_chip::image::InputSource::External))
        .map(|p| p.name.as_str())
        .collect();
    if how.input.is_none() && !external.is_empty() {
        errln!(
            "note: no --input given, so the External input port(s) `{}` send no spikes",
            external.join("`, `")
        );
    }
    let mut input_sum = 0;
    if let Some(path) = how.input {
        let text = amine_chip::bounded::read_text(
            path,
            "spike file",
            amine_sim::inputs::max_spike_file_bytes(&loaded.image, how.steps),
        )?;
        input_sum = amine_chip::image::fnv1a(text.as_bytes());
        let spikes = parse_csv(&text, &path.display().to_string(), &loaded.image, how.steps)?;
        sim = sim.with_external(spikes)?;
    }
    Ok((sim, input_sum))
}

/// Everything besides the image that fixes the run's result (threads do not): what a
/// checkpoint must match to be resumed.
fn run_identity(chip: &Resolved, loaded: &Loaded, how: &How, input_sum: u64) -> Identity {
    let How {
        steps,
        timing,
        record,
        system,
        ..
    } = how;
    let record_spikes = record.is_some();
    Identity::new(
        "run",
        &loaded.image,
        format!(
            "steps={steps} timing={timing} dt_s={} input={input_sum:016x} raster={record_spikes} monitors={} chip_config={}{}",
            loaded.dt_s,
            record.map_or("none".to_string(), |o| format!("{}/{}", o.every, o.snapshot_every)),
            chip.identity.fingerprint,
            system.map_or(String::new(), |l| format!(" system={}:{:?}", l.name, l.link))
        ),
    )
}

/// The state, recorder and monitor recording a run starts from: `--resume`'s
/// checkpoint, else the initial state (with the raster recorded if `record_spikes`).
fn start_state(
    sim: &Simulator,
    ckpt: &CheckpointArgs,
    identity: Option<&Identity>,
    record_spikes: bool,
) -> Result<(SimState, Recorder, Option<Recording>)> {
    Ok(match &ckpt.resume {
        Some(path) => {
            let identity = identity.context("no run identity to resume with")?;
            let body: RunBody = checkpoint::read(path, identity)?;
            sim.check_state(&body.state, &path.display().to_string())?;
            (body.state, body.recorder, body.recording)
        }
        None => {
            let state = sim.initial_state();
            let populations = sim.population_names().len();
            let raster_until = if record_spikes { u32::MAX } else { 0 };
            let rec = Recorder::new(0, populations, raster_until, false);
            (state, rec, None)
        }
    })
}

/// Writes a run's checkpoints (when it has a path) and counts them.
struct Saver<'a> {
    path: Option<&'a Path>,
    identity: Option<&'a Identity>,
    /// Checkpoints written, their total bytes and seconds.
    written: (u32, u64, f64),
}

impl Saver<'_> {
    fn save(&mut self, state: &SimState, rec: &Recorder, monitor: &Option<Monitor>) -> Result<()> {
        if let (Some(path), Some(identity)) = (self.path, self.identity) {
            let t = Instant::now();
            let body = RunBody {
                state: state.clone(),
                recorder: rec.clone(),
                recording: monitor.as_ref().map(|m| m.recording().clone()),
            };
            let bytes = checkpoint::write(path, identity, &body)?;
            let w = &mut self.written;
            *w = (w.0 + 1, w.1 + bytes, w.2 + t.elapsed().as_secs_f64());
        }
        Ok(())
    }
}

/// A run under way: the simulator, its state, what records it and its checkpoints.
struct Running<'a> {
    sim: Simulator,
    state: SimState,
    rec: Recorder,
    monitor: Option<Monitor>,
    saver: Saver<'a>,
}

impl Running<'_> {
    /// Step up to `steps`, checkpointing every `every` steps, with a progress bar once
    /// the run has taken over a second; a signal saves and ends the run.
    fn steps(&mut self, steps: u32, every: u64) -> Result<()> {
        let start = Instant::now();
        let bar = ProgressBar::with_draw_target(Some(steps as u64), ProgressDrawTarget::hidden());
        bar.set_position(u64::from(self.state.step));
        bar.reset_eta();
        let mut shown = false;
        while self.state.step < steps {
            let monitor = &mut self.monitor;
            self.sim
                .step_observed(&mut self.state, &mut self.rec, |sim, state| {
                    if let Some(m) = monitor {
                        m.observe(sim, state);
                    }
                });
            if u64::from(self.state.step) % every == 0 && self.state.step < steps {
                self.saver.save(&self.state, &self.rec, &self.monitor)?;
            }
            if crate::signals::interrupted() {
                bar.finish_and_clear();
                self.saver.save(&self.state, &self.rec, &self.monitor)?;
                let saved = match self.saver.path {
                    Some(p) => format!("; the checkpoint {} continues it (--resume)", p.display()),
                    None => String::new(),
                };
                return Err(crate::signals::Interrupted(format!(
                    "interrupted after step {} of {steps}{saved}",
                    self.state.step
                ))
                .into());
            }
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
            bar.set_position(u64::from(self.state.step));
        }
        bar.finish_and_clear();
        Ok(())
    }
}

/// Write a finished run's report directory.
pub fn write_report(done: &Finished, dir: &Path, config: &ChipConfig) -> Result<()> {
    done.report
        .write_dir(dir, &done.outcome.raster, &done.recording, config)
        .context("writing the report")
}

pub fn run(a: RunArgs) -> Result<()> {
    if a.mpi {
        return super::run_mpi::run(a);
    }
    let start = Instant::now();
    let on = match &a.system {
        Some(name) => Some(super::run_system::resolve(name, &a.set)?),
        None => None,
    };
    let chip = match &on {
        Some(on) => on.virtual_chip.clone(),
        None => super::compile::resolve_chip(&a.chip, &a.set)?,
    };
    if let Some(dir) = &a.report {
        amine_report::dir::check_target(dir)?;
    }
    let record = match &a.report {
        Some(_) => Some(monitor_options(a.steps, a.monitor_every, a.snapshot_every)?),
        None => None,
    };
    let loaded = match &on {
        Some(on) => super::run_system::load(&a.target, on, &a.mapping)?,
        None => load(&a.target, &chip.config, a.dt, &a.mapping)?,
    };
    super::run_system::check_target(&loaded.image, &a.target, on.as_ref(), &chip)?;
    if a.report.is_none() && !loaded.image.probes.is_empty() {
        errln!(
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
            checkpoint: &a.checkpoint,
            system: on.as_ref().map(|o| &o.layout),
            phases: a.timings,
        },
    )?;
    let report_start = Instant::now();
    print_done(&a, &done, &chip.config)?;
    if a.timings {
        errln!(
            "amine-timings: compile_s={:.6} sim_s={:.6} report_s={:.6} total_s={:.6} checkpoints={} checkpoint_bytes={} checkpoint_s={:.6}",
            loaded.compile_s,
            done.sim_s,
            report_start.elapsed().as_secs_f64(),
            start.elapsed().as_secs_f64(),
            done.checkpoints.0,
            done.checkpoints.1,
            done.checkpoints.2
        );
        if !loaded.pass_times.is_empty() {
            let passes: Vec<String> = loaded
                .pass_times
                .iter()
                .map(|(name, t)| format!("pass_{name}_s={:.6}", t.as_secs_f64()))
                .collect();
            errln!("amine-passes: {}", passes.join(" "));
        }
        if let Some(p) = &done.phases {
            errln!("{}", phases_line(p));
        }
    }
    Ok(())
}

/// The `amine-phases:` line of `--timings`: seconds per phase of the step, summed over
/// the steps, and the serial share (the phases that run on one thread whatever
/// `--threads`).
pub fn phases_line(p: &amine_sim::PhaseTimes) -> String {
    let parts: Vec<String> = amine_sim::PHASE_NAMES
        .iter()
        .zip(p.secs)
        .map(|(name, s)| format!("phase_{name}_s={s:.6}"))
        .collect();
    format!(
        "amine-phases: steps={} {} serial_share={:.4}",
        p.steps,
        parts.join(" "),
        p.serial_share()
    )
}

/// Write the report directory (with `--report`) and print the summary or the JSON.
pub fn print_done(a: &RunArgs, done: &Finished, config: &ChipConfig) -> Result<()> {
    if let Some(dir) = &a.report {
        write_report(done, dir, config)?;
    }
    if a.json {
        out!("{}", done.report.to_json());
    } else {
        out!("{}", done.report.summary());
        if let Some(dir) = &a.report {
            outln!(
                "report written to {}/ (report.html, report.json, raster.csv, energy_heatmap.svg, raster.svg, latency.svg{})",
                dir.display(),
                if done.recording.traces.is_empty() && done.recording.spikes.is_empty() && done.recording.weights.is_empty() && done.recording.field.is_none() { "" } else { ", monitors/" }
            );
        }
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
