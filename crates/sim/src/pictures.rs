//! The run report's pictures, drawn by amine-report's plotting module: dynamic energy
//! per core on the mesh, the spike raster and the latency of every step.

use crate::engine::Spike;
use crate::report::{energy, RunReport};
use amine_chip::units::plural_s;
use amine_report::plot::{Axis, LineChart, MeshHeat, Raster, Series};

/// Raster dots drawn at most; beyond this every k-th spike is drawn (the caption says so).
const MAX_DOTS: usize = 20_000;

/// Latency points drawn at most; beyond, each point is the largest of a bucket of steps.
const MAX_POINTS: usize = 1_500;

/// `(file name, SVG, caption)` of each picture of a run.
pub fn pictures(r: &RunReport, raster: &[Spike]) -> Vec<(String, String, String)> {
    vec![energy_heatmap(r), spike_raster(r, raster), latency(r)]
}

fn energy_heatmap(r: &RunReport) -> (String, String, String) {
    let m = r.mesh;
    let h = MeshHeat {
        title: format!("Dynamic energy per core — {} on {}", r.program, r.chip),
        tiles_x: m.tiles_x,
        tiles_y: m.tiles_y,
        cores_per_tile: m.cores_per_tile,
        values: r
            .energy
            .per_core
            .iter()
            .map(|c| (c.core, c.total_pj))
            .collect(),
        value: Axis::energy("dynamic energy"),
        unused: "grey: core not used by the image".into(),
    };
    let per_core: f64 = r.energy.per_core.iter().map(|c| c.total_pj).sum();
    let caption = format!(
        "Dynamic energy of each core over {} step{} (synapse, dendrite, neuron, NoC of the packets it sent, learning): {} in the {} core{} shown. \
         Not drawn: the input ports' NoC energy ({}), the barrier ({}), the grid ({}) and static power ({}); the run's total is {}.",
        r.steps,
        plural_s(u64::from(r.steps)),
        energy(per_core),
        r.energy.per_core.len(),
        plural_s(r.energy.per_core.len() as u64),
        energy(r.energy.input_ports_pj),
        energy(r.energy.barrier_pj),
        energy(r.energy.components.modulator),
        energy(r.energy.components.static_),
        energy(r.energy.total_pj),
    );
    ("energy_heatmap.svg".into(), h.svg(), caption)
}

fn spike_raster(r: &RunReport, raster: &[Spike]) -> (String, String, String) {
    let first = raster.first().map_or(0, |s| s.step).min(
        r.steps
            .saturating_sub(r.latency.per_step_cycles.len() as u32),
    );
    let picture = Raster {
        title: format!("Spike raster — {}", r.program),
        first_step: first,
        steps: r.steps.saturating_sub(first).max(1),
        groups: r
            .spikes
            .populations
            .iter()
            .map(|p| (p.name.clone(), p.size))
            .collect(),
        spikes: raster
            .iter()
            .map(|s| (s.step, s.population, s.neuron))
            .collect(),
        max_dots: MAX_DOTS,
    };
    let (svg, note) = picture.svg();
    let mut caption = format!(
        "{} spike{} of the populations' neurons",
        amine_chip::units::group_digits(raster.len() as u64),
        plural_s(raster.len() as u64)
    );
    if !note.is_empty() {
        caption += &format!("; {note}");
    }
    ("raster.svg".into(), svg, caption)
}

fn latency(r: &RunReport) -> (String, String, String) {
    let l = &r.latency;
    let ns = 1e9 / r.clock_hz.max(1) as f64;
    let first = r.steps.saturating_sub(l.per_step_cycles.len() as u32) as f64;
    let bucket = l.per_step_cycles.len().div_ceil(MAX_POINTS).max(1);
    let pts: Vec<(f64, f64)> = l
        .per_step_cycles
        .chunks(bucket)
        .enumerate()
        .map(|(i, c)| {
            (
                first + (i * bucket) as f64,
                c.iter().copied().max().unwrap_or(0) as f64 * ns,
            )
        })
        .collect();
    let (a, b) = (
        first,
        first + l.per_step_cycles.len().saturating_sub(1) as f64,
    );
    let mut c = LineChart::new(
        format!("Latency per step — {} ({} timing)", r.program, r.timing),
        Axis::plain("step", ""),
        Axis::time("latency per step"),
    );
    c.y_from_zero = true;
    c.series.push(Series::new("step latency", pts));
    c.series.push(
        Series::new(
            format!("mean {}", crate::report::nanos(l.mean_ns)),
            vec![(a, l.mean_ns), (b, l.mean_ns)],
        )
        .dashed(),
    );
    c.series.push(
        Series::new(
            format!("p99 {}", crate::report::nanos(l.p99_ns)),
            vec![(a, l.p99_ns), (b, l.p99_ns)],
        )
        .dashed(),
    );
    let mut caption = format!(
        "Time from the start of each step to its barrier ({} timing); the longest is {} (step {}).",
        r.timing,
        crate::report::nanos(l.max_ns),
        l.max_step.map_or("-".into(), |s| s.to_string())
    );
    if bucket > 1 {
        caption += &format!(" Each point is the largest latency of {bucket} consecutive steps.");
    }
    ("latency.svg".into(), c.svg(), caption)
}
