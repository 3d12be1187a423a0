//! `amine run … --system S --mpi` under `mpirun -n N`: the system split over MPI ranks
//! (`amine_sim::ranks`), each rank simulating a contiguous block of chips, spikes
//! crossing ranks once per step, and rank 0 printing and writing the report — the
//! single-process report to the bit.
//!
//! Every rank takes the same collective path: it loads and checks everything on its own,
//! then the ranks agree (an all-gather of each rank's outcome) before any step; a failure
//! anywhere is printed once, by rank 0, and every rank exits non-zero. The same holds
//! for the inputs: each rank hashes its image, system, chip, options and input file, and
//! ranks that disagree stop before the first step. Only the per-rank wall-clock figures
//! (stderr, never the report) read a clock.

/// `amine run --mpi` in a build without the `mpi` feature.
#[cfg(not(feature = "mpi"))]
pub fn run(_a: crate::args::RunArgs) -> anyhow::Result<()> {
    anyhow::bail!(
        "this amine was built without MPI: build it with `cargo build --release --features mpi` \
         (needs an MPI library, e.g. Debian's libopenmpi-dev, and libclang; docs/systems.md, \"MPI\")"
    )
}

#[cfg(feature = "mpi")]
pub use with_mpi::run;

/// An error already reported (by rank 0): the process exits non-zero without printing.
#[derive(Debug)]
pub struct Quiet;

impl std::fmt::Display for Quiet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("failed on another rank (rank 0 printed why)")
    }
}

impl std::error::Error for Quiet {}

#[cfg(feature = "mpi")]
mod with_mpi {
    use super::Quiet;
    use crate::args::RunArgs;
    use crate::cmd::run::{self, Finished};
    use amine_chip::image::fnv1a;
    use amine_sim::{Exchange, Monitor, Recorder, RunOutcome, RunReport, SimOptions, Simulator};
    use anyhow::{Context, Result};
    use mpi::datatype::PartitionMut;
    use mpi::topology::{Communicator, SimpleCommunicator};
    use mpi::traits::{Root, *};
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    use std::time::Instant;

    /// The MPI transport: `MPI_COMM_WORLD`'s all-gather and gather (with their counts
    /// first). It adds the nanoseconds it spends in the collectives to `waited`.
    ///
    /// Every message carries one byte more than it says: an empty Rust slice points at
    /// address 1, which Open MPI reads as `MPI_IN_PLACE`.
    struct Mpi {
        rank: usize,
        size: usize,
        waited: Arc<AtomicU64>,
    }

    impl Mpi {
        fn counts(&self, mine: usize) -> i32 {
            i32::try_from(mine).unwrap_or_else(|_| self.abort("a message over 2 GiB"))
        }
        /// Split `buf` by `counts`, checking the total fits MPI's `int` displacements.
        fn layout(&self, counts: &[i32]) -> (Vec<i32>, usize) {
            let mut displs = Vec::with_capacity(counts.len());
            let mut total = 0i64;
            for &c in counts {
                displs.push(
                    i32::try_from(total)
                        .unwrap_or_else(|_| self.abort("messages over 2 GiB in all")),
                );
                total += i64::from(c);
            }
            (displs, total as usize)
        }
        fn abort(&self, what: &str) -> ! {
            errln!("error: rank {}: the rank exchange needs {what}, more than one MPI collective carries", self.rank);
            SimpleCommunicator::world().abort(1)
        }
        fn split(buf: &[u8], counts: &[i32]) -> Vec<Vec<u8>> {
            let mut at = 0;
            counts
                .iter()
                .map(|&c| {
                    let part = buf[at..at + c as usize - 1].to_vec();
                    at += c as usize;
                    part
                })
                .collect()
        }
    }

    /// `mine` and the pad byte.
    fn padded(mine: &[u8]) -> Vec<u8> {
        let mut v = Vec::with_capacity(mine.len() + 1);
        v.extend_from_slice(mine);
        v.push(0);
        v
    }

    impl Exchange for Mpi {
        fn rank(&self) -> usize {
            self.rank
        }
        fn size(&self) -> usize {
            self.size
        }
        fn all_gather(&mut self, mine: &[u8]) -> Vec<Vec<u8>> {
            let t = Instant::now();
            let mine = &padded(mine)[..];
            let world = SimpleCommunicator::world();
            let mut counts = vec![0i32; self.size];
            world.all_gather_into(&self.counts(mine.len()), &mut counts[..]);
            let (displs, total) = self.layout(&counts);
            let mut buf = vec![0u8; total];
            {
                let mut part = PartitionMut::new(&mut buf[..], &counts[..], &displs[..]);
                world.all_gather_varcount_into(mine, &mut part);
            }
            let all = Self::split(&buf, &counts);
            self.waited
                .fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
            all
        }
        fn gather(&mut self, mine: &[u8]) -> Vec<Vec<u8>> {
            let t = Instant::now();
            let world = SimpleCommunicator::world();
            let root = world.process_at_rank(0);
            let mine = &padded(mine)[..];
            let n = self.counts(mine.len());
            let all = if self.rank == 0 {
                let mut counts = vec![0i32; self.size];
                root.gather_into_root(&n, &mut counts[..]);
                let (displs, total) = self.layout(&counts);
                let mut buf = vec![0u8; total];
                {
                    let mut part = PartitionMut::new(&mut buf[..], &counts[..], &displs[..]);
                    root.gather_varcount_into_root(mine, &mut part);
                }
                Self::split(&buf, &counts)
            } else {
                root.gather_into(&n);
                root.gather_varcount_into(mine);
                Vec::new()
            };
            self.waited
                .fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
            all
        }
    }

    /// Collective: every rank's `outcome`; an error on any rank becomes, on rank 0, the
    /// first failing rank's message (its own with its causes) and elsewhere [`Quiet`].
    fn agree<T>(ex: &mut Mpi, outcome: Result<T>) -> Result<T> {
        let mine = match &outcome {
            Ok(_) => Vec::new(),
            Err(e) => {
                let mut m = format!("{e}");
                for cause in e.chain().skip(1) {
                    m.push_str(&format!("\n  caused by: {cause}"));
                }
                // Non-empty even for an empty message.
                format!("!{m}").into_bytes()
            }
        };
        let all = ex.all_gather(&mine);
        let Some((r, msg)) = all.iter().enumerate().find(|(_, m)| !m.is_empty()) else {
            return outcome;
        };
        match (ex.rank, outcome) {
            (0, Err(e)) => Err(e),
            (0, Ok(_)) => Err(anyhow::anyhow!(
                "rank {r} of {}: {}",
                ex.size,
                String::from_utf8_lossy(&msg[1..])
            )),
            _ => Err(Quiet.into()),
        }
    }

    /// What a rank loaded: its simulator (split over the ranks) and what fixes its run.
    struct Ready {
        sim: Simulator,
        loaded: run::Loaded,
        chip: amine_chip::presets::Resolved,
        monitor: Option<amine_sim::MonitorOptions>,
        /// FNV-1a of: the image, the system and its chip, the run's options, the input.
        hashes: [u64; 4],
    }

    const HASHED: [&str; 4] = [
        "image",
        "system and chip configuration",
        "run options",
        "--input file",
    ];

    /// Load, compile and check everything on this rank (no collective inside).
    fn prepare(a: &RunArgs, ex: Mpi) -> Result<Ready> {
        let name = a.system.as_deref().context("--mpi needs --system")?;
        let on = crate::cmd::run_system::resolve(name, &a.set)?;
        let chip = on.virtual_chip.clone();
        if let Some(dir) = &a.report {
            amine_report::dir::check_target(dir)?;
        }
        let loaded = crate::cmd::run_system::load(&a.target, &on, &a.mapping)?;
        crate::cmd::run_system::check_target(&loaded.image, &a.target, Some(&on), &chip)?;
        let image = &loaded.image;
        if a.report.is_some() {
            let sampled = image
                .probes
                .iter()
                .any(|p| p.kind != amine_chip::image::ProbeKind::Spikes);
            let plastic = image.cores.iter().any(|c| !c.plastic_rows.is_empty());
            anyhow::ensure!(
                !sampled && !plastic,
                "--report with --mpi: rank 0 holds other ranks' cores only at the end, so it cannot sample \
                 voltage, current or graded probes or weights during the run; drop --report (the JSON and \
                 summary are complete) or run without --mpi"
            );
        }
        let monitor = match &a.report {
            Some(_) => Some(run::monitor_options(
                a.steps,
                a.monitor_every,
                a.snapshot_every,
            )?),
            None => None,
        };
        let options = SimOptions {
            threads: a.threads,
            timing: a.timing,
            steps: a.steps,
            record: amine_sim::Record {
                spikes: monitor.is_some(),
                latency: false,
            },
            dt_s: loaded.dt_s,
        };
        let settings = format!("{options:?}");
        let mut sim = image
            .simulator(&chip.config, options)?
            .with_system(on.layout.clone())?;
        let mut input = 0;
        if let Some(path) = &a.input {
            let text = amine_chip::bounded::read_text(
                path,
                "spike file",
                amine_sim::inputs::max_spike_file_bytes(image, a.steps),
            )?;
            input = fnv1a(text.as_bytes());
            let spikes = amine_sim::parse_csv(&text, &path.display().to_string(), image, a.steps)?;
            sim = sim.with_external(spikes)?;
        }
        let sim = sim.with_ranks(Box::new(ex))?;
        let system = format!("{:?} {}", on.layout, chip.identity.fingerprint);
        let hashes = [
            fnv1a(&image.to_bytes()),
            fnv1a(system.as_bytes()),
            fnv1a(settings.as_bytes()),
            input,
        ];
        Ok(Ready {
            sim,
            loaded,
            chip,
            monitor,
            hashes,
        })
    }

    /// Collective: the ranks' hashes agree, or rank 0 says which inputs differ.
    fn same_inputs(ex: &mut Mpi, hashes: &[u64; 4]) -> Result<()> {
        let mine: Vec<u8> = hashes.iter().flat_map(|h| h.to_le_bytes()).collect();
        let all = ex.all_gather(&mine);
        let differ: Vec<String> = all
            .iter()
            .enumerate()
            .filter(|(_, h)| **h != all[0])
            .map(|(r, h)| {
                let what: Vec<&str> = (0..4)
                    .filter(|&i| h[i * 8..i * 8 + 8] != all[0][i * 8..i * 8 + 8])
                    .map(|i| HASHED[i])
                    .collect();
                format!("rank {r}: {}", what.join(", "))
            })
            .collect();
        if differ.is_empty() {
            return Ok(());
        }
        if ex.rank != 0 {
            return Err(Quiet.into());
        }
        anyhow::bail!(
            "the ranks disagree on their inputs ({} differ from rank 0's); every rank must be given the same \
             files and options (on a cluster: the same files on every node)",
            differ.join("; ")
        )
    }

    /// Per rank: cores, seconds of the step loop, seconds in the rank exchange.
    fn rank_figures(ex: &mut Mpi, cores: &[usize], loop_s: f64, steps: u32) {
        let waited = ex.waited.load(Ordering::Relaxed) as f64 * 1e-9;
        let mine: Vec<u8> = [loop_s, waited]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        let all = ex.gather(&mine);
        if ex.rank != 0 {
            return;
        }
        errln!(
            "mpi: {} ranks, {steps} steps (wall clock, not part of the report)",
            ex.size
        );
        errln!(
            "  {:<6}{:>8}{:>16}{:>16}{:>10}",
            "rank",
            "cores",
            "step (ms)",
            "exchange (ms)",
            "share"
        );
        for (r, b) in all.iter().enumerate() {
            let f =
                |i: usize| f64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or_default());
            let (per, ex_per) = (
                1e3 * f(0) / f64::from(steps.max(1)),
                1e3 * f(1) / f64::from(steps.max(1)),
            );
            let share = if f(0) > 0.0 { 100.0 * f(1) / f(0) } else { 0.0 };
            errln!(
                "  {:<6}{:>8}{:>16.3}{:>16.3}{:>9.1}%",
                r,
                cores[r],
                per,
                ex_per,
                share
            );
        }
    }

    pub fn run(a: RunArgs) -> Result<()> {
        let (universe, _) = mpi::initialize_with_threading(mpi::Threading::Funneled)
            .context("MPI could not be initialised (it was already)")?;
        let world = universe.world();
        let (rank, size) = (world.rank() as usize, world.size() as usize);
        let waited = Arc::new(AtomicU64::new(0));
        let mk = || Mpi {
            rank,
            size,
            waited: waited.clone(),
        };
        let mut ex = mk();
        let ready = agree(&mut ex, prepare(&a, mk()))?;
        same_inputs(&mut ex, &ready.hashes)?;
        let Ready {
            mut sim,
            loaded,
            chip,
            monitor,
            ..
        } = ready;
        let mut state = sim.initial_state();
        let populations = sim.population_names().len();
        let raster_until = if monitor.is_some() { u32::MAX } else { 0 };
        let mut rec = Recorder::new(0, populations, raster_until, false);
        let mut mon = match (rank, monitor) {
            (0, Some(o)) => Some(Monitor::new(&sim, &loaded.image, &state, o, a.steps)?),
            _ => None,
        };
        // Only rank 0's monitors read the image; the simulator holds what it needs.
        drop(loaded);
        waited.store(0, Ordering::Relaxed);
        let start = Instant::now();
        while state.step < a.steps {
            sim.step_observed(&mut state, &mut rec, |sim, state| {
                if let Some(m) = &mut mon {
                    m.observe(sim, state);
                }
            });
        }
        let loop_s = start.elapsed().as_secs_f64();
        let gathered = sim.gather_cores(&mut state).map_err(anyhow::Error::from);
        rank_figures(&mut ex, &sim.cores_per_rank(), loop_s, a.steps);
        let printed = gathered.and_then(|()| {
            if rank != 0 {
                return Ok(());
            }
            let outcome = RunOutcome::from(rec);
            let mut report = RunReport::new(&sim, &state, &outcome);
            report.chip_config = chip.identity.clone();
            let done = Finished {
                report,
                outcome,
                recording: mon.map(Monitor::finish).unwrap_or_default(),
                sim_s: loop_s,
                checkpoints: (0, 0, 0.0),
                phases: None,
            };
            run::print_done(&a, &done, &chip.config)
        });
        agree(&mut ex, printed)
    }
}
