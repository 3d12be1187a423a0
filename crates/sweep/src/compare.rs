//! One program on several chips side by side (`amine compare`): a sweep whose one axis
//! is the chip, with its own table and pictures (energy by component, latency).

use crate::exec::Outcome;
use crate::rows::{number, Row};
use crate::spec::{Axis as SpecAxis, Job, Mode, Spec, Sweep};
use crate::{Error, Problem};
use amine_report::plot::{Axis, Bars};
use amine_report::{Page, Table};
use std::path::Path;

/// The sweep that runs `program` on each chip of the comma list `chips`; an empty,
/// repeated or unknown chip is an error naming it.
pub fn sweep(program: &Path, chips: &str, job: Job, seed: u64) -> Result<Sweep, Error> {
    let origin = format!("--chip {chips}");
    let bad = |m: String| Error::Spec {
        origin: origin.clone(),
        problems: vec![Problem::new("chip", m)],
    };
    let mut list: Vec<String> = Vec::new();
    for name in chips.split(',').map(str::trim) {
        if name.is_empty() {
            return Err(bad(
                "an empty chip name; give a comma list such as loihi,truenorth".into(),
            ));
        }
        if list.iter().any(|c| c == name) {
            return Err(bad(format!("`{name}` is given twice")));
        }
        amine_chip::presets::resolve(name).map_err(|e| bad(e.to_string()))?;
        // Files are made absolute: the sweep reads paths from the program's folder.
        let c = match std::fs::canonicalize(name) {
            Ok(p) if Path::new(name).is_file() => p.display().to_string(),
            _ => name.to_string(),
        };
        list.push(c);
    }
    if list.len() < 2 {
        return Err(bad("compare needs at least two chips".into()));
    }
    let file = program
        .file_name()
        .ok_or_else(|| bad(format!("{} is not a program file", program.display())))?;
    let spec = Spec {
        program: file.to_string_lossy().into_owned(),
        chip: list[0].clone(),
        job,
        axes: vec![SpecAxis {
            set: "chip".into(),
            values: list.into_iter().map(ron::Value::String).collect(),
        }],
        mode: Mode::Grid,
        seeds: vec![seed],
    };
    let dir = program
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    Sweep::new(spec, &origin, dir)
}

/// The side-by-side table: one row per chip.
pub fn table(sweep: &Sweep, outcomes: &[Outcome], rows: &[Row]) -> Table {
    let keys = crate::page::keys(&sweep.spec.job);
    let mut t = Table::new(
        ["chip", "cores", "status"]
            .into_iter()
            .map(String::from)
            .chain(keys.iter().map(|k| k.title.to_string())),
    );
    for (o, r) in outcomes.iter().zip(rows) {
        let status = crate::rows::status(&o.result);
        t.push(
            [o.chip.identity.name.clone(), o.cores.to_string(), status]
                .into_iter()
                .chain(
                    keys.iter()
                        .map(|k| number(r, k.name).map_or("-".into(), k.show)),
                ),
        );
    }
    t
}

const PARTS: [&str; 7] = [
    "synapse",
    "dendrite",
    "neuron",
    "noc",
    "modulator",
    "learning",
    "static",
];

/// `(file, SVG, caption)`: energy by component and latency, chip by chip.
pub fn pictures(
    sweep: &Sweep,
    outcomes: &[Outcome],
    rows: &[Row],
) -> Vec<(String, String, String)> {
    let names: Vec<String> = outcomes
        .iter()
        .map(|o| o.chip.identity.name.clone())
        .collect();
    let (prefix, what, latency, lat_factor, lat_title) = match &sweep.spec.job {
        Job::Run { steps, .. } => (
            "energy.components",
            format!("energy of {steps} steps"),
            "latency.mean_ns",
            1.0,
            "mean latency per step",
        ),
        Job::Train { .. } => (
            "per_inference.energy",
            "energy per inference".to_string(),
            "per_inference.latency_s",
            1e9,
            "latency per inference",
        ),
    };
    let stacks: Vec<(String, Vec<f64>)> = PARTS
        .iter()
        .map(|p| {
            let key = format!("{prefix}.{p}");
            (
                p.to_string(),
                rows.iter()
                    .map(|r| number(r, &key).unwrap_or(0.0))
                    .collect(),
            )
        })
        .filter(|(_, v): &(String, Vec<f64>)| v.iter().any(|x| *x > 0.0))
        .collect();
    let energy = Bars {
        title: format!(
            "Energy by component — {}",
            sweep
                .program_path
                .file_stem()
                .map_or(String::new(), |s| s.to_string_lossy().into_owned())
        ),
        categories: names.clone(),
        stacks,
        y: Axis::energy(&what),
    };
    let lat = Bars {
        title: "Latency".into(),
        categories: names,
        stacks: vec![(
            lat_title.to_string(),
            rows.iter()
                .map(|r| number(r, latency).unwrap_or(0.0) * lat_factor)
                .collect(),
        )],
        y: Axis::time(lat_title),
    };
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|o| o.result.is_err())
        .map(|o| o.chip.identity.name.clone())
        .collect();
    let note = if failed.is_empty() {
        String::new()
    } else {
        format!(
            " No bar: {} (the program does not fit; see the table).",
            failed.join(", ")
        )
    };
    vec![
        (
            "energy_by_chip.svg".into(),
            energy.svg(),
            format!("{what} on each chip, by component.{note}"),
        ),
        (
            "latency_by_chip.svg".into(),
            lat.svg(),
            format!("{lat_title} on each chip.{note}"),
        ),
    ]
}

/// The comparison's page.
pub fn html(
    sweep: &Sweep,
    outcomes: &[Outcome],
    rows: &[Row],
    pictures: &[(String, String, String)],
) -> String {
    let mut p = Page::new(format!("amine compare: {}", sweep.program_path.display()));
    p.section("Comparison").facts([
        ("program", sweep.program_path.display().to_string()),
        ("job", format!("{:?}", sweep.spec.job)),
        (
            "seed",
            sweep
                .spec
                .seeds
                .first()
                .map_or(String::new(), u64::to_string),
        ),
    ]);
    p.table(
        "Side by side (every figure is in table.csv)",
        &table(sweep, outcomes, rows),
    );
    p.section("Pictures");
    for (_, svg, caption) in pictures {
        p.figure(svg.clone(), caption.clone());
    }
    p.section("Chip configurations");
    for o in outcomes {
        let id = &o.chip.identity;
        p.code(
            format!("{} ({}, fingerprint {})", id.name, id.file, id.fingerprint),
            o.chip.config.to_ron(),
        );
    }
    p.render()
}
