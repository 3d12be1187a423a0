//! A recording as files and pictures: `monitors/index.json` describes every file;
//! each probe, projection and the field is one CSV file, or an NPY array (with a CSV
//! of its axes) when it holds more than [`CSV_VALUES`] values.

use super::{FieldSnapshots, Recording, Trace, WeightSnapshots};
use amine_chip::image::ProbeKind;
use amine_chip::units::plural_s;
use amine_report::npy::to_npy;
use amine_report::plot::{Axis, FieldPanels, LineChart, Panel, Series};
use amine_report::{File, Table};
use serde_json::json;

/// Recordings with more values than this are written as NPY instead of CSV.
pub const CSV_VALUES: usize = 250_000;

/// Traces drawn per probe picture (the first neurons of the probe).
const DRAWN: usize = 8;

/// A file name made of `name`'s letters, digits, `-` and `_`.
fn safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn kind_name(k: ProbeKind) -> &'static str {
    match k {
        ProbeKind::Spikes => "spikes",
        ProbeKind::Voltage => "voltage",
        ProbeKind::Current => "current",
        ProbeKind::Graded => "graded",
    }
}

fn what(k: ProbeKind) -> (&'static str, &'static str) {
    match k {
        ProbeKind::Voltage => ("membrane voltage v", "chip units"),
        ProbeKind::Current => ("synaptic current u", "chip units"),
        _ => ("graded output payload", ""),
    }
}

fn trace_file(t: &Trace, index: &mut Vec<serde_json::Value>) -> Vec<File> {
    let base = format!("monitors/{}", safe(&t.probe));
    let mut entry = json!({
        "probe": t.probe, "kind": kind_name(t.kind), "population": t.population,
        "neurons": t.neurons, "steps": t.steps.len(), "first_step": t.steps.first(),
        "threshold": t.threshold, "unit": what(t.kind).1,
    });
    if t.values.len() <= CSV_VALUES {
        let mut table = Table::new(
            std::iter::once("step".to_string())
                .chain(t.neurons.iter().map(|n| format!("neuron_{n}"))),
        );
        let n = t.neurons.len().max(1);
        for (s, row) in t.steps.iter().zip(t.values.chunks(n)) {
            table.push(std::iter::once(s.to_string()).chain(row.iter().map(i32::to_string)));
        }
        entry["file"] = json!(format!("{base}.csv"));
        index.push(entry);
        return vec![File::new(format!("{base}.csv"), table.to_csv())];
    }
    let shape = [t.steps.len(), t.neurons.len()];
    let mut steps = Table::new(["sample", "step"]);
    for (i, s) in t.steps.iter().enumerate() {
        steps.push([i.to_string(), s.to_string()]);
    }
    entry["file"] = json!(format!("{base}.npy"));
    entry["shape"] = json!(shape);
    entry["axes"] = json!(format!("{base}_steps.csv"));
    index.push(entry);
    vec![
        File::new(
            format!("{base}.npy"),
            to_npy(&shape, &t.values).unwrap_or_default(),
        ),
        File::new(format!("{base}_steps.csv"), steps.to_csv()),
    ]
}

fn weight_files(w: &WeightSnapshots, index: &mut Vec<serde_json::Value>) -> Vec<File> {
    let base = format!("monitors/weights_{}", safe(&w.projection));
    let n = w.pre.len();
    let mut entry = json!({"projection": w.projection, "synapses": n, "snapshots": w.steps, "unit": "effective weight (chip units)"});
    if w.values.len() <= CSV_VALUES {
        let mut t = Table::new(["step", "pre", "pre_neuron", "post", "post_neuron", "weight"]);
        for (s, row) in w.steps.iter().zip(w.values.chunks(n.max(1))) {
            for (i, v) in row.iter().enumerate() {
                t.push([
                    s.to_string(),
                    w.pre[i].0.clone(),
                    w.pre[i].1.to_string(),
                    w.post[i].0.clone(),
                    w.post[i].1.to_string(),
                    v.to_string(),
                ]);
            }
        }
        entry["file"] = json!(format!("{base}.csv"));
        index.push(entry);
        return vec![File::new(format!("{base}.csv"), t.to_csv())];
    }
    let mut syn = Table::new(["synapse", "pre", "pre_neuron", "post", "post_neuron"]);
    for i in 0..n {
        syn.push([
            i.to_string(),
            w.pre[i].0.clone(),
            w.pre[i].1.to_string(),
            w.post[i].0.clone(),
            w.post[i].1.to_string(),
        ]);
    }
    let shape = [w.steps.len(), n];
    entry["file"] = json!(format!("{base}.npy"));
    entry["shape"] = json!(shape);
    entry["axes"] = json!(format!("{base}_synapses.csv"));
    index.push(entry);
    vec![
        File::new(
            format!("{base}.npy"),
            to_npy(&shape, &w.values).unwrap_or_default(),
        ),
        File::new(format!("{base}_synapses.csv"), syn.to_csv()),
    ]
}

fn field_files(f: &FieldSnapshots, index: &mut Vec<serde_json::Value>) -> Vec<File> {
    let mut entry = json!({"field": "modulator grid", "width": f.width, "height": f.height,
        "channels": f.channels, "snapshots": f.steps, "unit": "concentration"});
    if f.values.len() <= CSV_VALUES {
        let mut t = Table::new(["step", "channel", "x", "y", "value"]);
        let mut i = 0;
        for s in &f.steps {
            for c in 0..f.channels {
                for y in 0..f.height {
                    for x in 0..f.width {
                        t.push([
                            s.to_string(),
                            c.to_string(),
                            x.to_string(),
                            y.to_string(),
                            f.values[i].to_string(),
                        ]);
                        i += 1;
                    }
                }
            }
        }
        entry["file"] = json!("monitors/field.csv");
        index.push(entry);
        return vec![File::new("monitors/field.csv", t.to_csv())];
    }
    let shape = [
        f.steps.len(),
        f.channels as usize,
        f.height as usize,
        f.width as usize,
    ];
    entry["file"] = json!("monitors/field.npy");
    entry["shape"] = json!(shape);
    index.push(entry);
    vec![File::new(
        "monitors/field.npy",
        to_npy(&shape, &f.values).unwrap_or_default(),
    )]
}

/// The files of a recording (none when it is empty): `monitors/index.json` and one
/// file (or array and axes) per probe, projection and field.
pub fn monitor_files(rec: &Recording) -> Vec<File> {
    let mut index = Vec::new();
    let mut files = Vec::new();
    for s in &rec.spikes {
        let path = format!("monitors/{}.csv", safe(&s.probe));
        let mut t = Table::new(["step", "neuron"]);
        for (step, n) in &s.spikes {
            t.push([step.to_string(), n.to_string()]);
        }
        index.push(
            json!({"probe": s.probe, "kind": "spikes", "population": s.population,
            "neurons": s.neurons, "spikes": s.spikes.len(), "file": path}),
        );
        files.push(File::new(path, t.to_csv()));
    }
    for t in &rec.traces {
        files.extend(trace_file(t, &mut index));
    }
    for w in &rec.weights {
        files.extend(weight_files(w, &mut index));
    }
    if let Some(f) = &rec.field {
        files.extend(field_files(f, &mut index));
    }
    if files.is_empty() {
        return files;
    }
    let doc = json!({"options": rec.options, "recordings": index});
    let text = serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n";
    files.insert(0, File::new("monitors/index.json", text));
    files
}

/// Mean and standard deviation of `xs`.
fn mean_sd(xs: &[i32]) -> (f64, f64) {
    let n = xs.len().max(1) as f64;
    let m = xs.iter().map(|&x| x as f64).sum::<f64>() / n;
    let v = xs.iter().map(|&x| (x as f64 - m).powi(2)).sum::<f64>() / n;
    (m, v.sqrt())
}

/// Pictures of a recording: `(file name, SVG, caption)`.
pub fn monitor_pictures(rec: &Recording) -> Vec<(String, String, String)> {
    let every = rec.options.map_or(1, |o| o.every);
    let mut out: Vec<_> = rec.traces.iter().map(|t| trace_picture(t, every)).collect();
    out.extend(rec.weights.iter().map(weight_picture));
    out.extend(rec.field.as_ref().map(field_picture));
    out
}

/// A probe's trace: the first [`DRAWN`] neurons' values (sampled every `every` steps)
/// and the threshold, if any.
fn trace_picture(t: &Trace, every: u32) -> (String, String, String) {
    let (title, unit) = what(t.kind);
    let mut c = LineChart::new(
        format!("probe `{}`: {title} of `{}`", t.probe, t.population),
        Axis::plain("step", ""),
        Axis::plain(title, unit),
    );
    let n = t.neurons.len().max(1);
    for (i, neuron) in t.neurons.iter().take(DRAWN).enumerate() {
        let pts = t
            .steps
            .iter()
            .zip(t.values.chunks(n))
            .map(|(s, row)| (*s as f64, row[i] as f64))
            .collect();
        c.series.push(Series::new(format!("neuron {neuron}"), pts));
    }
    if let (Some(th), Some(a), Some(b)) = (t.threshold, t.steps.first(), t.steps.last()) {
        c.series.push(
            Series::new(
                "threshold",
                vec![(*a as f64, th as f64), (*b as f64, th as f64)],
            )
            .dashed(),
        );
    }
    let shown = if t.neurons.len() > DRAWN {
        format!("the first {DRAWN} of {} neurons", t.neurons.len())
    } else {
        format!("{} neuron(s)", t.neurons.len())
    };
    (
        format!("monitors/{}.svg", safe(&t.probe)),
        c.svg(),
        format!("{title} of {shown} of `{}`, sampled every {every} step(s), in the chip's fixed-point units", t.population),
    )
}

/// A learning projection's weights: their mean at each snapshot, in a band of ± 1
/// standard deviation.
fn weight_picture(w: &WeightSnapshots) -> (String, String, String) {
    let n = w.pre.len().max(1);
    let stats: Vec<(f64, f64, f64)> = w
        .steps
        .iter()
        .zip(w.values.chunks(n))
        .map(|(s, row)| {
            let (m, sd) = mean_sd(row);
            (*s as f64, m, sd)
        })
        .collect();
    let mut c = LineChart::new(
        format!("weights of the learning projection `{}`", w.projection),
        Axis::plain("step", ""),
        Axis::plain("effective weight", "chip units"),
    );
    c.series.push(
        Series::new(
            format!(
                "mean, band ± 1 sd over the {} synapse{}",
                w.pre.len(),
                plural_s(w.pre.len() as u64)
            ),
            stats.iter().map(|s| (s.0, s.1)).collect(),
        )
        .with_band(stats.iter().map(|s| (s.0, s.1 - s.2, s.1 + s.2)).collect()),
    );
    (
        format!("monitors/weights_{}.svg", safe(&w.projection)),
        c.svg(),
        format!("mean effective weight of the {} synapse{} of `{}` at each snapshot; the band is ± 1 standard deviation over those synapses", w.pre.len(), plural_s(w.pre.len() as u64), w.projection),
    )
}

/// The modulator grid: the channels that ever held a concentration (else channel 0)
/// at up to 12 snapshots in all.
fn field_picture(f: &FieldSnapshots) -> (String, String, String) {
    let plane = (f.width * f.height) as usize;
    let active: Vec<u32> = (0..f.channels)
        .filter(|&c| {
            (0..f.steps.len()).any(|s| {
                let a = (s * f.channels as usize + c as usize) * plane;
                f.values[a..a + plane].iter().any(|v| *v != 0.0)
            })
        })
        .collect();
    let channels = if active.is_empty() { vec![0] } else { active };
    let per = (12 / channels.len()).max(1);
    let pick: Vec<usize> = if f.steps.len() <= per {
        (0..f.steps.len()).collect()
    } else {
        (0..per)
            .map(|i| i * (f.steps.len() - 1) / (per - 1).max(1))
            .collect()
    };
    let mut panels = Vec::new();
    for &c in &channels {
        for &s in &pick {
            let a = (s * f.channels as usize + c as usize) * plane;
            panels.push(Panel {
                label: format!("ch {c}, step {}", f.steps[s]),
                width: f.width,
                height: f.height,
                values: f.values[a..a + plane].to_vec(),
                marks: Vec::new(),
            });
        }
    }
    let (svg, note) = FieldPanels {
        title: "modulator grid".into(),
        panels,
        value: Axis::plain("concentration", ""),
        columns: pick.len(),
        row_labels: channels.iter().map(|c| format!("channel {c}")).collect(),
    }
    .svg();
    let mut caption = format!(
        "concentration on the {}×{} grid at {} of {} snapshots, channel(s) {:?}; one colour scale from 0",
        f.width, f.height, pick.len(), f.steps.len(), channels
    );
    if !note.is_empty() {
        caption += &format!("; {note}");
    }
    ("monitors/field.svg".into(), svg, caption)
}
