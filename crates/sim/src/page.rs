//! The run's `report.html`: one self-contained page with the configuration, the tables
//! and every picture of the run.

use crate::monitor::Recording;
use crate::report::{energy, group, nanos, RunReport};
use amine_chip::units::plural_s;
use amine_chip::ChipConfig;
use amine_report::{Page, Table};

/// The page of run `r`, with its pictures `(file, SVG, caption)`.
pub(crate) fn run_page(
    r: &RunReport,
    pictures: &[(String, String, String)],
    recording: &Recording,
    config: &ChipConfig,
) -> String {
    let mut p = Page::new(format!("amine run: `{}` on `{}`", r.program, r.chip));
    run_facts(&mut p, r);
    energy_tables(&mut p, r);
    latency_spikes_noc(&mut p, r);
    p.section("Pictures");
    for (_, svg, caption) in pictures.iter().filter(|x| !x.0.starts_with("monitors/")) {
        p.figure(svg.clone(), caption.clone());
    }
    monitors(&mut p, pictures, recording);
    p.section("Configuration");
    p.code("terminal summary", r.summary());
    let id = &r.chip_config;
    p.code(
        format!("chip configuration `{}` ({})", id.name, id.file),
        config.to_ron(),
    );
    p.render()
}

/// The "Run" section: program, chip, steps, time and energy in brief.
fn run_facts(p: &mut Page, r: &RunReport) {
    let id = &r.chip_config;
    p.section("Run").facts([
        ("program", r.program.clone()),
        ("chip", id.describe()),
        ("structure fingerprint", id.structure.clone()),
        (
            "steps",
            format!(
                "{} ({} timing, {} thread(s))",
                group(r.steps as u64),
                r.timing,
                r.threads
            ),
        ),
        ("model time per step", format!("{} ms", r.dt_s * 1e3)),
        ("simulated time", nanos(r.simulated_time_s * 1e9)),
        ("total energy", energy(r.energy.total_pj)),
        (
            "per synaptic event",
            format!(
                "{} dynamic, {} total ({} synaptic events)",
                energy(r.energy.per_synaptic_event_dynamic_pj),
                energy(r.energy.per_synaptic_event_pj),
                group(r.synaptic_events)
            ),
        ),
    ]);
}

/// Energy by component with its shares, and the static power and what is powered.
fn energy_tables(p: &mut Page, r: &RunReport) {
    let mut t = Table::new(["component", "energy", "share"]);
    for (name, pj) in r.energy.components.named() {
        let share = if r.energy.total_pj > 0.0 {
            100.0 * pj / r.energy.total_pj
        } else {
            0.0
        };
        t.push([name.to_string(), energy(pj), format!("{share:.1} %")]);
    }
    t.push([
        "total".to_string(),
        energy(r.energy.total_pj),
        "100.0 %".into(),
    ]);
    p.table("Energy by component", &t);
    let pw = &r.energy.powered;
    p.text(format!(
        "Static power {:.3} mW from {} core{}, {} router{}{} ({}).",
        r.energy.static_power_mw,
        pw.cores,
        plural_s(pw.cores as u64),
        pw.routers,
        plural_s(pw.routers as u64),
        if pw.grid {
            " and the modulator grid"
        } else {
            ""
        },
        if pw.gating {
            "power gating: only what the image uses is powered"
        } else {
            "no power gating: the whole chip is powered"
        }
    ));
}

/// Latency per step (mean, p99, max), spikes per population and the NoC's traffic.
fn latency_spikes_noc(p: &mut Page, r: &RunReport) {
    let l = &r.latency;
    let mut t = Table::new(["latency per step", "cycles", "time"]);
    t.push([
        "mean".to_string(),
        format!("{:.1}", l.mean_cycles),
        nanos(l.mean_ns),
    ]);
    t.push(["p99".to_string(), group(l.p99_cycles), nanos(l.p99_ns)]);
    t.push(["max".to_string(), group(l.max_cycles), nanos(l.max_ns)]);
    p.table("Latency", &t);
    let mut t = Table::new(["population", "neurons", "spikes", "rate"]);
    for s in &r.spikes.populations {
        t.push([
            s.name.clone(),
            group(s.size as u64),
            group(s.spikes),
            format!("{:.2} Hz", s.rate_hz),
        ]);
    }
    p.table("Spikes", &t);
    let n = &r.noc;
    p.facts([
        ("NoC packets", group(n.packets)),
        (
            "hops east-west / north-south",
            format!("{} / {}", group(n.hops_ew), group(n.hops_ns)),
        ),
        ("stall cycles", group(n.stall_cycles)),
    ]);
}

/// The "Monitors" section (only when something was recorded): what was, each spike
/// probe's count and the monitors' pictures.
fn monitors(p: &mut Page, pictures: &[(String, String, String)], recording: &Recording) {
    let probes = recording.traces.len() + recording.spikes.len();
    if probes == 0 && recording.weights.is_empty() && recording.field.is_none() {
        return;
    }
    p.section("Monitors");
    p.text(format!(
        "{probes} probe(s), {} learning projection(s) and {} recorded; files under monitors/ (index.json describes them).",
        recording.weights.len(),
        if recording.field.is_some() { "the modulator field" } else { "no field (the image does not drive the grid)" }
    ));
    for s in &recording.spikes {
        p.text(format!(
            "Spike probe `{}` on `{}`: {} spike{} (monitors/{}.csv).",
            s.probe,
            s.population,
            group(s.spikes.len() as u64),
            plural_s(s.spikes.len() as u64),
            s.probe
        ));
    }
    for (_, svg, caption) in pictures.iter().filter(|x| x.0.starts_with("monitors/")) {
        p.figure(svg.clone(), caption.clone());
    }
}
