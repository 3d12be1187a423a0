//! A sweep's pictures (Pareto fronts), its summary table and its `report.html`.

use crate::exec::Outcome;
use crate::rows::{number, Row};
use crate::spec::{Job, Sweep};
use amine_report::plot::{Axis, Better, Scatter, ScatterPoint};
use amine_report::{Page, Table};
use amine_sim::report::{energy, nanos};

/// A key figure: its dotted name, its column title, and how to show it.
pub struct Key {
    pub name: &'static str,
    pub title: &'static str,
    pub show: fn(f64) -> String,
}

fn pct(x: f64) -> String {
    format!("{:.2} %", 100.0 * x)
}

fn secs(x: f64) -> String {
    nanos(x * 1e9)
}

/// The figures a terminal or page table shows for `job`.
pub fn keys(job: &Job) -> Vec<Key> {
    match job {
        Job::Run { .. } => vec![
            Key {
                name: "energy.total_pj",
                title: "energy",
                show: energy,
            },
            Key {
                name: "energy.dynamic_pj",
                title: "dynamic",
                show: energy,
            },
            Key {
                name: "energy.per_synaptic_event_dynamic_pj",
                title: "dyn/syn event",
                show: energy,
            },
            Key {
                name: "energy.per_synaptic_event_pj",
                title: "total/syn event",
                show: energy,
            },
            Key {
                name: "latency.mean_ns",
                title: "latency/step",
                show: nanos,
            },
        ],
        Job::Train { .. } => vec![
            Key {
                name: "test_accuracy",
                title: "test acc.",
                show: pct,
            },
            Key {
                name: "per_training_sample.energy_pj",
                title: "energy/train sample",
                show: energy,
            },
            Key {
                name: "per_inference.energy_pj",
                title: "energy/inference",
                show: energy,
            },
            Key {
                name: "per_inference.latency_s",
                title: "latency/inference",
                show: secs,
            },
        ],
    }
}

/// The point's columns and the key figures, one row per point.
pub fn summary(sweep: &Sweep, rows: &[Row]) -> Table {
    let keys = keys(&sweep.spec.job);
    let head: Vec<String> = rows.first().map_or(Vec::new(), |r| {
        r.head
            .iter()
            .filter(|h| !h.0.starts_with("chip_"))
            .map(|h| h.0.clone())
            .collect()
    });
    let mut t = Table::new(
        head.into_iter()
            .chain(keys.iter().map(|k| k.title.to_string())),
    );
    for r in rows {
        t.push(
            r.head
                .iter()
                .filter(|h| !h.0.starts_with("chip_"))
                .map(|h| h.1.clone())
                .chain(
                    keys.iter()
                        .map(|k| number(r, k.name).map_or(String::new(), k.show)),
                ),
        );
    }
    t
}

/// One scatter of figure `x` against figure `y` over the points that ran.
fn scatter(
    sweep: &Sweep,
    rows: &[Row],
    title: &str,
    x: (&str, Axis, f64, Better),
    y: (&str, Axis, f64, Better),
) -> String {
    let mut groups: Vec<String> = Vec::new();
    let mut points = Vec::new();
    for r in rows {
        let (Some(a), Some(b)) = (number(r, x.0), number(r, y.0)) else {
            continue;
        };
        let group = match sweep.spec.axes.first() {
            Some(axis) => {
                let label = r
                    .head
                    .iter()
                    .find(|h| h.0 == axis.set)
                    .map_or(String::new(), |h| format!("{} = {}", axis.set, h.1));
                match groups.iter().position(|g| *g == label) {
                    Some(i) => i,
                    None => {
                        groups.push(label);
                        groups.len() - 1
                    }
                }
            }
            None => 0,
        };
        points.push(ScatterPoint {
            x: a * x.2,
            y: b * y.2,
            label: format!("#{}", r.head[0].1),
            group,
        });
    }
    Scatter {
        title: title.to_string(),
        x: x.1,
        y: y.1,
        points,
        groups,
        front: Some((x.3, y.3)),
    }
    .svg()
}

/// `(file, SVG, caption)` of the sweep's Pareto pictures.
pub fn pictures(sweep: &Sweep, rows: &[Row]) -> Vec<(String, String, String)> {
    match &sweep.spec.job {
        Job::Run { steps, .. } => vec![
            (
                "pareto_energy_latency.svg".into(),
                scatter(sweep, rows, "Energy vs latency", ("latency.mean_ns", Axis::time("mean latency per step"), 1.0, Better::Lower), ("energy.total_pj", Axis::energy(&format!("energy of {steps} steps")), 1.0, Better::Lower)),
                "Each point of the sweep (#index, coloured by the first axis); circled: the Pareto front, the points no other point beats on both energy and latency.".into(),
            ),
            (
                "pareto_dynamic_latency.svg".into(),
                scatter(sweep, rows, "Dynamic energy vs latency", ("latency.mean_ns", Axis::time("mean latency per step"), 1.0, Better::Lower), ("energy.dynamic_pj", Axis::energy(&format!("dynamic energy of {steps} steps")), 1.0, Better::Lower)),
                "As above, without static energy (which follows the latency).".into(),
            ),
        ],
        Job::Train { .. } => vec![
            (
                "pareto_energy_accuracy.svg".into(),
                scatter(sweep, rows, "Training energy vs accuracy", ("per_training_sample.energy_pj", Axis::energy("energy per training sample"), 1.0, Better::Lower), ("test_accuracy", Axis::percent("test accuracy"), 1.0, Better::Higher)),
                "Each point of the sweep (#index, coloured by the first axis); circled: the Pareto front, the points no other point beats on both training energy and test accuracy.".into(),
            ),
            (
                "pareto_inference.svg".into(),
                scatter(sweep, rows, "Inference energy vs accuracy", ("per_inference.energy_pj", Axis::energy("energy per inference"), 1.0, Better::Lower), ("test_accuracy", Axis::percent("test accuracy"), 1.0, Better::Higher)),
                "The same points by the energy of one inference.".into(),
            ),
            (
                "pareto_energy_latency.svg".into(),
                scatter(sweep, rows, "Inference energy vs latency", ("per_inference.latency_s", Axis::time("latency per inference"), 1e9, Better::Lower), ("per_inference.energy_pj", Axis::energy("energy per inference"), 1.0, Better::Lower)),
                "Energy and simulated time of one inference.".into(),
            ),
        ],
    }
}

/// The sweep's page.
pub fn html(
    sweep: &Sweep,
    outcomes: &[Outcome],
    rows: &[Row],
    pictures: &[(String, String, String)],
    spec_text: &str,
) -> String {
    let mut p = Page::new(format!("amine sweep: {}", sweep.origin));
    let ok = outcomes.iter().filter(|o| o.result.is_ok()).count();
    let images: std::collections::BTreeSet<_> = outcomes
        .iter()
        .map(|o| {
            (
                o.chip.identity.structure.clone(),
                o.point
                    .program_sets
                    .iter()
                    .map(|s| s.text.clone())
                    .collect::<Vec<_>>(),
                o.point.seed,
            )
        })
        .collect();
    p.section("Sweep").facts([
        ("spec", sweep.origin.clone()),
        ("program", sweep.program_path.display().to_string()),
        ("job", format!("{:?}", sweep.spec.job)),
        (
            "points",
            format!(
                "{} ({ok} ran, {} did not)",
                outcomes.len(),
                outcomes.len() - ok
            ),
        ),
        (
            "images compiled",
            format!(
                "{} (one per chip structure, program variant and seed)",
                images.len()
            ),
        ),
        (
            "files",
            "table.csv and table.json hold every figure of every point".to_string(),
        ),
    ]);
    p.table(
        "Key figures (every figure is in table.csv)",
        &summary(sweep, rows),
    );
    p.section("Pareto fronts");
    for (_, svg, caption) in pictures {
        p.figure(svg.clone(), caption.clone());
    }
    p.section("Specification")
        .code("the sweep as written", spec_text);
    let mut chips = Table::new(["chip", "file", "fingerprint", "structure", "overrides"]);
    let mut seen = std::collections::BTreeSet::new();
    for o in outcomes {
        let id = &o.chip.identity;
        if seen.insert(id.fingerprint.clone()) {
            chips.push([
                id.name.clone(),
                id.file.clone(),
                id.fingerprint.clone(),
                id.structure.clone(),
                id.overrides.join(" "),
            ]);
        }
    }
    p.table("Chip configurations", &chips);
    p.render()
}
