//! `amine demo`: the README's first command. Compiles the bundled balanced E/I network
//! (W1, `programs/balanced.ron`) onto the embedded Loihi-like preset, runs it and prints
//! the report. No files are read, and none are written unless `--report` is given.

use crate::args::DemoArgs;
use amine_chip::units::plural_s;
use anyhow::Result;
use std::path::Path;

/// The bundled program, compiled into the binary.
pub const BALANCED: &str = include_str!("../../../../programs/balanced.ron");

pub fn run(a: DemoArgs) -> Result<()> {
    let chip = amine_chip::presets::resolve_with("loihi", &[])?;
    if let Some(dir) = &a.report {
        amine_report::dir::check_target(dir)?;
    }
    let loaded = super::run::compile(
        BALANCED,
        "programs/balanced.ron",
        Path::new("."),
        &chip.config,
        Default::default(),
    )?;
    outln!(
        "amine demo: the balanced E/I network (1,000 LIF neurons, 100 inputs) on the Loihi-like chip\n\
         compiled onto {} core{} in {:.1} ms\n",
        loaded.image.cores.len(),
        plural_s(loaded.image.cores.len() as u64),
        loaded.compile_s * 1e3
    );
    let record = match &a.report {
        Some(_) => Some(super::run::monitor_options(a.steps, 1, None)?),
        None => None,
    };
    let done = super::run::simulate(
        &chip,
        &loaded,
        super::run::How {
            steps: a.steps,
            timing: a.timing,
            threads: 1,
            system: None,
            input: None,
            record,
            checkpoint: &Default::default(),
            phases: false,
        },
    )?;
    out!("{}", done.report.summary());
    if let Some(dir) = &a.report {
        super::run::write_report(&done, dir, &chip.config)?;
        outln!("report written to {}/ (open report.html)", dir.display());
    }
    outln!(
        "simulated {} step{} in {:.1} ms ({:.1} M synaptic events/s)",
        a.steps,
        plural_s(u64::from(a.steps)),
        done.sim_s * 1e3,
        done.report.synaptic_events as f64 / done.sim_s.max(1e-9) / 1e6
    );
    Ok(())
}
