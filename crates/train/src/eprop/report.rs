//! The report of an e-prop study ([`EpropStudy`]): what each condition learned, and
//! what a training trial and an inference trial cost on the chip.
//!
//! [`write_dir`] writes five files:
//!
//! | file | contents |
//! | --- | --- |
//! | `report.json` | the whole study (every run's configuration, curve, costs, field strip) |
//! | `summary.txt` | [`summary_text`]: one row per condition, mean ± sd over seeds |
//! | `curve.csv` | one row per run and curve point ([`curve_csv`]) |
//! | `curve.svg` | the evaluation metric against training trials, mean ± sd band per condition |
//! | `field.svg` | the modulator field over a training trial's learning window, first seed of each condition |
//!
//! The directory appears whole or not at all: the files are written into a temporary
//! sibling directory, which is then renamed to `dir` (into an existing `dir`, file by
//! file, each by a rename), so a failure leaves no half-written report.

use super::study::mean_sd;
use super::{EpropRun, EpropStudy, Stats};
use crate::error::{Error, ErrorKind};
use crate::svg::{esc, BOTTOM, H, LEFT, RIGHT, TOP, W};
use amine_tasks::eprop::{Condition, TaskKind};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The files [`write_dir`] writes, in order.
pub const FILES: [&str; 5] = [
    "report.json",
    "summary.txt",
    "curve.csv",
    "curve.svg",
    "field.svg",
];

/// The task's command-line name (`cue-accumulation`, …).
pub fn task_name(task: TaskKind) -> &'static str {
    match task {
        TaskKind::CueAccumulation => "cue-accumulation",
        TaskKind::DelayedMatch => "delayed-match",
        TaskKind::PatternGeneration => "pattern-generation",
    }
}

/// The condition's command-line name (`diffusion`, `sparse`, `full`).
pub fn condition_name(c: Condition) -> &'static str {
    match c {
        Condition::Diffusion => "diffusion",
        Condition::Sparse => "sparse",
        Condition::Full => "full",
    }
}

/// One colour per condition, the same in every picture.
fn colour(c: Condition) -> &'static str {
    match c {
        Condition::Diffusion => "#21918c",
        Condition::Sparse => "#e6a100",
        Condition::Full => "#3b528b",
    }
}

/// The study's metric of a set of trials: accuracy (classification) or normalised MSE.
fn metric(study: &EpropStudy, s: &Stats) -> f64 {
    if study.classification {
        s.accuracy
    } else {
        s.nmse
    }
}

/// A metric value as shown in text: accuracy in % with two decimals, NMSE with four.
fn shown(study: &EpropStudy, x: f64) -> String {
    if !x.is_finite() {
        "—".into()
    } else if study.classification {
        format!("{:.2}", 100.0 * x)
    } else {
        format!("{x:.4}")
    }
}

/// `1 seed`, `2 seeds`.
fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// The study as pretty JSON (non-finite numbers, e.g. the accuracy of a regression
/// task, become `null`).
pub fn to_json(study: &EpropStudy) -> String {
    serde_json::to_string_pretty(study).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// Left-aligns the first column and right-aligns the others, padding by characters
/// (the table holds `±` and `—`).
fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let width: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut s = String::new();
    for r in rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            let pad = " ".repeat(width[c] - cell.chars().count());
            if c == 0 {
                line.push_str(cell);
                line.push_str(&pad);
            } else {
                line.push_str("  ");
                line.push_str(&pad);
                line.push_str(cell);
            }
        }
        s.push_str(line.trim_end());
        s.push('\n');
    }
    s
}

/// The terminal summary (also `summary.txt`): the study's settings, then one row per
/// condition: final metric mean ± sd over seeds and per seed, the float reference when
/// it ran, firing rates, and energy and latency per training and per inference trial.
pub fn summary_text(study: &EpropStudy) -> String {
    let mut s = String::new();
    let seeds: Vec<u64> = study
        .summaries
        .first()
        .map(|c| c.seeds.clone())
        .unwrap_or_default();
    let seed_range = match (seeds.first(), seeds.last()) {
        (Some(a), Some(b)) if a != b => format!("seeds {a}–{b}"),
        (Some(a), _) => format!("seed {a}"),
        _ => "no seeds".into(),
    };
    let _ = writeln!(
        s,
        "e-prop on the chip — task {}, {} × {} ({})",
        task_name(study.task),
        count(study.summaries.len(), "condition"),
        seed_range,
        count(study.runs.len(), "run")
    );
    let _ = writeln!(s, "{}", caption(study));
    if let Some(r) = study.runs.first() {
        let (c, st) = (&r.config, &r.settings);
        let batch = st.batch.max(1) as usize;
        let reg = match st.regulariser {
            Some((c_reg, hz)) => format!("c_reg {c_reg}, target rate {hz} Hz"),
            None => "no regulariser".into(),
        };
        let _ = writeln!(
            s,
            "{} training trials in batches of {batch}, evaluated every {} on {}; \
             {} weights, {} fractional bits, {} decay; {reg}",
            amine_chip::units::group_digits((c.trials.div_ceil(batch) * batch) as u64),
            amine_chip::units::group_digits(c.eval_every as u64),
            count(
                if study.classification {
                    c.eval_trials.max(1)
                } else {
                    1
                },
                "fresh trial"
            ),
            st.weight_bits
                .map_or("the chip's widest".into(), |b| format!("{b}-bit")),
            st.frac_bits,
            if st.lazy_decay { "lazy" } else { "strict" },
        );
    }
    let metric_name = if study.classification {
        "accuracy %"
    } else {
        "NMSE"
    };
    let has_float = study.summaries.iter().any(|c| !c.float_finals.is_empty());
    let mut head = vec![
        "condition".to_string(),
        "seeds".into(),
        format!("final {metric_name}"),
        "per seed".into(),
    ];
    if has_float {
        head.push(format!("float {metric_name}"));
    }
    head.extend(
        [
            "LIF Hz",
            "ALIF Hz",
            "train µJ",
            "train ms",
            "infer µJ",
            "infer ms",
        ]
        .map(String::from),
    );
    let mut rows = vec![head];
    for c in &study.summaries {
        let mut row = vec![
            condition_name(c.condition).to_string(),
            c.seeds.len().to_string(),
            format!("{} ± {}", shown(study, c.mean), shown(study, c.sd)),
            c.finals
                .iter()
                .map(|&x| shown(study, x))
                .collect::<Vec<_>>()
                .join(", "),
        ];
        if has_float {
            let (m, sd) = mean_sd(&c.float_finals);
            row.push(if c.float_finals.is_empty() {
                "—".into()
            } else {
                format!("{} ± {}", shown(study, m), shown(study, sd))
            });
        }
        let f = |x: f64, d: usize| {
            if x.is_finite() {
                format!("{x:.d$}")
            } else {
                "—".into()
            }
        };
        row.extend([
            f(c.rate_lif_hz, 1),
            f(c.rate_alif_hz, 1),
            f(c.energy_per_training_trial_pj * 1e-6, 3),
            f(c.latency_per_training_trial_s * 1e3, 3),
            f(c.energy_per_inference_trial_pj * 1e-6, 3),
            f(c.latency_per_inference_trial_s * 1e3, 3),
        ]);
        rows.push(row);
    }
    s.push('\n');
    s.push_str(&table(&rows));
    s.push('\n');
    let _ = writeln!(
        s,
        "final = the last curve point's evaluation (fresh trials, learning off); \
         rates over those trials; costs are means per trial of the whole run"
    );
    for c in &study.summaries {
        if let Some(r) = study
            .runs
            .iter()
            .find(|r| r.config.condition == c.condition)
        {
            let clamps: u64 = study
                .runs
                .iter()
                .filter(|r| r.config.condition == c.condition)
                .map(|r| r.weight_clamps)
                .sum();
            let st = &r.settings;
            let kernel = if st.k > 0.0 {
                format!("k {}; ", st.k)
            } else {
                String::new()
            };
            let update = format!(
                "{kernel}{}, {} (input, recurrent, readout) {}, {}, {}",
                st.update,
                if st.update == "Adam" {
                    "steps"
                } else {
                    "rates"
                },
                sig(st.rates[0]),
                sig(st.rates[1]),
                sig(st.rates[2])
            );
            let _ = writeln!(
                s,
                "{}: {update}; {} synapses; {} weight clamps in all",
                condition_name(c.condition),
                amine_chip::units::group_digits(r.synapses as u64),
                amine_chip::units::group_digits(clamps)
            );
        }
    }
    s
}

fn csv_num(x: Option<f64>) -> String {
    match x {
        Some(v) if v.is_finite() => format!("{v:.6}"),
        _ => String::new(),
    }
}

/// One row per run and curve point:
/// `condition,seed,trials,train_<metric>,train_loss,eval_<metric>,eval_loss,`
/// `train_rate_lif_hz,train_rate_alif_hz,eval_rate_lif_hz,eval_rate_alif_hz`, where
/// `<metric>` is `accuracy` (0..1) or `nmse`; a missing evaluation is an empty field.
pub fn curve_csv(study: &EpropStudy) -> String {
    let m = if study.classification {
        "accuracy"
    } else {
        "nmse"
    };
    let mut s = format!(
        "condition,seed,trials,train_{m},train_loss,eval_{m},eval_loss,\
         train_rate_lif_hz,train_rate_alif_hz,eval_rate_lif_hz,eval_rate_alif_hz\n"
    );
    for r in &study.runs {
        for p in &r.curve {
            let e = p.eval.as_ref();
            let _ = writeln!(
                s,
                "{},{},{},{},{},{},{},{},{},{},{}",
                condition_name(r.config.condition),
                r.config.seed,
                p.trials,
                csv_num(Some(metric(study, &p.train))),
                csv_num(Some(p.train.loss)),
                csv_num(e.map(|e| metric(study, e))),
                csv_num(e.map(|e| e.loss)),
                csv_num(Some(p.train.rate_lif_hz)),
                csv_num(Some(p.train.rate_alif_hz)),
                csv_num(e.map(|e| e.rate_lif_hz)),
                csv_num(e.map(|e| e.rate_alif_hz)),
            );
        }
    }
    s
}

/// A step of 1, 2 or 5 × 10^k that cuts `span` into about `n` intervals.
fn nice_step(span: f64, n: f64) -> f64 {
    if !(span.is_finite() && span > 0.0) {
        return 1.0;
    }
    let raw = span / n;
    let p = 10f64.powf(raw.log10().floor());
    let f = raw / p;
    p * if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    }
}

/// `x` with about three significant digits.
fn sig(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let a = x.abs();
    if !(1e-3..1e4).contains(&a) {
        return format!("{x:.2e}");
    }
    let d = (2 - a.log10().floor() as i32).max(0) as usize;
    format!("{x:.d$}")
}

/// Opens a picture with its title, and in small print in the bottom-left corner the
/// study's programs and the chip with its configuration's fingerprint.
fn svg_open(s: &mut String, study: &EpropStudy, w: f64, h: f64, title: &str) {
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" \
         font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"{w}\" height=\"{h}\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{}</text>\n\
         <text x=\"4\" y=\"{}\" font-size=\"9\" fill=\"#777\">{}</text>",
        w / 2.0,
        esc(title),
        h - 3.0,
        esc(&caption(study))
    );
}

/// What a study's files were made from: its programs, and the chip with its
/// configuration's fingerprint.
pub fn caption(study: &EpropStudy) -> String {
    format!(
        "program {}; chip `{}`, configuration fingerprint {:016x}",
        study.sources.join(", "),
        study.chip.name,
        study.chip.fingerprint
    )
}

/// The evaluation metric (accuracy, or normalised MSE for pattern generation) against
/// training trials seen: per condition the mean over seeds as a line and ± one standard
/// deviation as a band; the float reference's final mean, when it ran, as a dashed line.
pub fn curve_svg(study: &EpropStudy) -> String {
    let mut s = String::new();
    let seeds = study
        .summaries
        .iter()
        .map(|c| c.seeds.len())
        .max()
        .unwrap_or(0);
    svg_open(
        &mut s,
        study,
        W,
        H,
        &format!(
            "e-prop on the chip, {}: eval {} (mean ± sd, {})",
            task_name(study.task),
            if study.classification {
                "accuracy"
            } else {
                "NMSE"
            },
            count(seeds, "seed")
        ),
    );
    // Every finite value drawn: the bands' edges and the float references.
    let values: Vec<f64> = study
        .summaries
        .iter()
        .flat_map(|c| {
            c.curve
                .iter()
                .flat_map(|&(_, m, sd)| [m - sd.max(0.0), m + sd.max(0.0)])
                .chain(c.float_finals.iter().copied())
        })
        .filter(|v| v.is_finite())
        .collect();
    let (lo, hi, step) = if study.classification {
        // From the lowest value shown (rounded down to a tick) to 100 %.
        let lowest = values
            .iter()
            .copied()
            .fold(1.0f64, f64::min)
            .clamp(0.0, 1.0);
        let step = nice_step(1.0 - ((lowest * 10.0).floor() / 10.0).min(0.9), 5.0);
        let lo = ((lowest / step).floor() * step).clamp(0.0, 1.0 - step);
        (lo, 1.0, step)
    } else {
        let highest = values.iter().copied().fold(0.0f64, f64::max);
        let step = nice_step(highest.max(1e-3), 5.0);
        (0.0, (highest / step).ceil().max(1.0) * step, step)
    };
    let max_trials = study
        .summaries
        .iter()
        .flat_map(|c| c.curve.iter().map(|p| p.0))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let x = |t: f64| LEFT + (t / max_trials) * (W - LEFT - RIGHT);
    let y = |v: f64| H - BOTTOM - ((v - lo) / (hi - lo)).clamp(0.0, 1.0) * (H - TOP - BOTTOM);
    let _ = writeln!(
        s,
        "<line x1=\"{LEFT}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>\n<line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{}\" stroke=\"black\"/>",
        H - BOTTOM,
        W - RIGHT,
        H - BOTTOM,
        H - BOTTOM
    );
    let ticks = ((hi - lo) / step).round() as usize;
    for k in 0..=ticks {
        let v = lo + step * k as f64;
        let label = if study.classification {
            format!("{:.0} %", 100.0 * v)
        } else {
            let d = (-step.log10().floor()).max(0.0) as usize;
            format!("{v:.d$}")
        };
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{label}</text><line x1=\"{LEFT}\" y1=\"{:.1}\" x2=\"{}\" y2=\"{:.1}\" stroke=\"#ddd\"/>",
            LEFT - 6.0,
            y(v) + 4.0,
            y(v),
            W - RIGHT,
            y(v)
        );
    }
    let xstep = nice_step(max_trials, 6.0).max(1.0);
    let mut t = 0.0;
    while t <= max_trials + 1e-9 {
        let _ = writeln!(
            s,
            "<line x1=\"{0:.1}\" y1=\"{1}\" x2=\"{0:.1}\" y2=\"{2}\" stroke=\"black\"/><text x=\"{0:.1}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>",
            x(t),
            H - BOTTOM,
            H - BOTTOM + 4.0,
            H - BOTTOM + 17.0,
            amine_chip::units::group_digits(t.round() as u64)
        );
        t += xstep;
    }
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">training trials seen</text>",
        (LEFT + W - RIGHT) / 2.0,
        H - 12.0
    );
    // Accuracy rises, so its legend goes bottom right; NMSE falls: top right.
    let rows = study.summaries.len()
        + usize::from(study.summaries.iter().any(|c| !c.float_finals.is_empty()));
    let legend_y = |row: usize| {
        if study.classification {
            H - BOTTOM - 12.0 - 16.0 * (rows - row - 1) as f64
        } else {
            TOP + 16.0 + 16.0 * row as f64
        }
    };
    let lx = W - RIGHT - 200.0;
    for (row, c) in study.summaries.iter().enumerate() {
        let col = colour(c.condition);
        let name = condition_name(c.condition);
        let pts: Vec<(f64, f64, f64)> = c
            .curve
            .iter()
            .filter(|p| p.1.is_finite())
            .map(|&(t, m, sd)| (t as f64, m, if sd.is_finite() { sd } else { 0.0 }))
            .collect();
        if !pts.is_empty() {
            let upper = pts
                .iter()
                .map(|&(t, m, sd)| format!("{:.1},{:.1}", x(t), y(m + sd)));
            let lower = pts
                .iter()
                .rev()
                .map(|&(t, m, sd)| format!("{:.1},{:.1}", x(t), y(m - sd)));
            let _ = writeln!(
                s,
                "<polygon fill=\"{col}\" fill-opacity=\"0.2\" stroke=\"none\" points=\"{}\"><title>{name}: ± 1 sd</title></polygon>",
                upper.chain(lower).collect::<Vec<_>>().join(" ")
            );
            let line: Vec<String> = pts
                .iter()
                .map(|&(t, m, _)| format!("{:.1},{:.1}", x(t), y(m)))
                .collect();
            let _ = writeln!(
                s,
                "<polyline fill=\"none\" stroke=\"{col}\" stroke-width=\"2\" points=\"{}\"><title>{name}</title></polyline>",
                line.join(" ")
            );
            for &(t, m, sd) in &pts {
                let _ = writeln!(
                    s,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{col}\"><title>{name}, {} trials: {} ± {}</title></circle>",
                    x(t),
                    y(m),
                    amine_chip::units::group_digits(t as u64),
                    shown(study, m),
                    shown(study, sd)
                );
            }
        }
        let (fm, _) = mean_sd(&c.float_finals);
        if fm.is_finite() {
            let _ = writeln!(
                s,
                "<line x1=\"{LEFT}\" y1=\"{0:.1}\" x2=\"{1}\" y2=\"{0:.1}\" stroke=\"{col}\" stroke-dasharray=\"6 4\"><title>{name}: float reference, final {2}</title></line>",
                y(fm),
                W - RIGHT,
                shown(study, fm)
            );
        }
        let ly = legend_y(row);
        let _ = writeln!(
            s,
            "<rect x=\"{lx}\" y=\"{}\" width=\"12\" height=\"8\" fill=\"{col}\" fill-opacity=\"0.5\" stroke=\"{col}\"/><text x=\"{}\" y=\"{ly}\">{} ({})</text>",
            ly - 8.0,
            lx + 16.0,
            name,
            count(c.seeds.len(), "seed")
        );
    }
    if rows > study.summaries.len() {
        let ly = legend_y(rows - 1);
        let _ = writeln!(
            s,
            "<line x1=\"{lx}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" stroke=\"black\" stroke-dasharray=\"6 4\"/><text x=\"{2}\" y=\"{ly}\">float reference, final</text>",
            ly - 4.0,
            lx + 12.0,
            lx + 16.0
        );
    }
    s.push_str("</svg>\n");
    s
}

/// A diverging colour for `t` in [−1, 1]: blue below 0, white at 0, red above.
fn diverging(t: f64) -> String {
    const STOPS: [(f64, [f64; 3]); 5] = [
        (-1.0, [5.0, 48.0, 97.0]),
        (-0.5, [67.0, 147.0, 195.0]),
        (0.0, [247.0, 247.0, 247.0]),
        (0.5, [214.0, 96.0, 77.0]),
        (1.0, [103.0, 0.0, 31.0]),
    ];
    let t = if t.is_finite() {
        t.clamp(-1.0, 1.0)
    } else {
        0.0
    };
    let i = STOPS
        .windows(2)
        .position(|w| t <= w[1].0)
        .unwrap_or(STOPS.len() - 2);
    let ((t0, a), (t1, b)) = (STOPS[i], STOPS[i + 1]);
    let f = (t - t0) / (t1 - t0);
    let c = |k: usize| (a[k] + f * (b[k] - a[k])).round() as u8;
    format!("#{:02x}{:02x}{:02x}", c(0), c(1), c(2))
}

/// The first run of each condition's first seed.
fn first_runs(study: &EpropStudy) -> Vec<(Condition, Option<&EpropRun>)> {
    study
        .summaries
        .iter()
        .map(|c| {
            let seed = c.seeds.first().copied();
            let run = study
                .runs
                .iter()
                .find(|r| r.config.condition == c.condition && Some(r.config.seed) == seed)
                .or_else(|| {
                    study
                        .runs
                        .iter()
                        .find(|r| r.config.condition == c.condition)
                });
            (c.condition, run)
        })
        .collect()
}

/// Per condition (one row each), the first seed's modulator field at the strip's steps
/// of one training trial's learning window: a `side × side` heat map per frame, cell
/// (x, y) at column x and row y, on a colour scale symmetric about 0 (the row's largest
/// magnitude; its colour bar on the right), the step under each frame and the cells of
/// the injecting neurons outlined.
pub fn field_svg(study: &EpropStudy) -> String {
    const MAP: f64 = 120.0;
    const GAP: f64 = 14.0;
    const LABEL: f64 = 90.0;
    const BAR: f64 = 90.0;
    const ROW_HEAD: f64 = 22.0;
    const ROW_FOOT: f64 = 30.0;
    let runs = first_runs(study);
    let frames = runs
        .iter()
        .filter_map(|(_, r)| r.map(|r| r.strip.frames.len()))
        .max()
        .unwrap_or(0)
        .max(1);
    let w = LABEL + frames as f64 * (MAP + GAP) + BAR;
    let row_h = ROW_HEAD + MAP + ROW_FOOT;
    let h = TOP + 14.0 + runs.len().max(1) as f64 * row_h;
    let mut s = String::new();
    svg_open(
        &mut s,
        study,
        w,
        h,
        &format!(
            "e-prop on the chip — {}: the modulator field over one training trial's learning window",
            task_name(study.task)
        ),
    );
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"40\" text-anchor=\"middle\" fill=\"#555\">first seed of each condition, \
         after training; injecting neurons' cells outlined; colour scale per row, symmetric about 0</text>",
        w / 2.0
    );
    let _ = writeln!(
        s,
        "<defs><linearGradient id=\"diverging\" x1=\"0\" y1=\"0\" x2=\"0\" y2=\"1\">{}</linearGradient></defs>",
        (0..=8)
            .map(|k| {
                let off = f64::from(k) / 8.0;
                format!("<stop offset=\"{off}\" stop-color=\"{}\"/>", diverging(1.0 - 2.0 * off))
            })
            .collect::<String>()
    );
    for (row, (condition, run)) in runs.iter().enumerate() {
        let top = TOP + 14.0 + row as f64 * row_h;
        let map_top = top + ROW_HEAD;
        let _ = writeln!(
            s,
            "<text x=\"10\" y=\"{:.1}\" font-size=\"14\" fill=\"{}\">{}</text>",
            map_top + MAP / 2.0,
            colour(*condition),
            condition_name(*condition)
        );
        let Some(run) = run else { continue };
        let strip = &run.strip;
        let _ = writeln!(
            s,
            "<text x=\"10\" y=\"{:.1}\" fill=\"#555\">seed {}</text>",
            map_top + MAP / 2.0 + 16.0,
            run.config.seed
        );
        let side = strip.side.max(1) as usize;
        let cell = MAP / side as f64;
        let vmax = strip
            .frames
            .iter()
            .flat_map(|(_, v)| v.iter())
            .filter(|v| v.is_finite())
            .fold(0.0f64, |m, v| m.max(v.abs()));
        if strip.frames.is_empty() {
            let _ = writeln!(
                s,
                "<text x=\"{LABEL}\" y=\"{:.1}\" fill=\"#555\">no frames recorded</text>",
                map_top + MAP / 2.0
            );
            continue;
        }
        for (f, (step, values)) in strip.frames.iter().enumerate() {
            let left = LABEL + f as f64 * (MAP + GAP);
            let _ = writeln!(s, "<g shape-rendering=\"crispEdges\">");
            for (i, &v) in values.iter().enumerate().take(side * side) {
                let (cx, cy) = (i % side, i / side);
                let t = if vmax > 0.0 { v / vmax } else { 0.0 };
                let _ = writeln!(
                    s,
                    "<rect x=\"{:.2}\" y=\"{:.2}\" width=\"{:.2}\" height=\"{:.2}\" fill=\"{}\"><title>({cx}, {cy}): {}</title></rect>",
                    left + cx as f64 * cell,
                    map_top + cy as f64 * cell,
                    cell,
                    cell,
                    diverging(t),
                    sig(v)
                );
            }
            for &(ix, iy) in &strip.injectors {
                let _ = writeln!(
                    s,
                    "<rect x=\"{:.2}\" y=\"{:.2}\" width=\"{:.2}\" height=\"{:.2}\" fill=\"none\" stroke=\"black\" stroke-width=\"1\"/>",
                    left + f64::from(ix) * cell,
                    map_top + f64::from(iy) * cell,
                    cell,
                    cell
                );
            }
            let _ = writeln!(
                s,
                "<rect x=\"{left:.2}\" y=\"{map_top:.2}\" width=\"{MAP}\" height=\"{MAP}\" fill=\"none\" stroke=\"#888\"/></g>\n\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">step {step}</text>",
                left + MAP / 2.0,
                map_top + MAP + 16.0
            );
        }
        // The colour bar: +vmax at the top, 0 in the middle, −vmax at the bottom.
        let bx = LABEL + strip.frames.len() as f64 * (MAP + GAP) + 4.0;
        let _ = writeln!(
            s,
            "<rect x=\"{bx:.1}\" y=\"{map_top:.1}\" width=\"12\" height=\"{MAP}\" fill=\"url(#diverging)\" stroke=\"#888\"/>"
        );
        for (frac, v) in [(0.0, vmax), (0.5, 0.0), (1.0, -vmax)] {
            let ty = map_top + frac * MAP;
            let _ = writeln!(
                s,
                "<line x1=\"{:.1}\" y1=\"{ty:.1}\" x2=\"{:.1}\" y2=\"{ty:.1}\" stroke=\"black\"/><text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                bx + 12.0,
                bx + 16.0,
                bx + 18.0,
                ty + 4.0,
                sig(v)
            );
        }
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"#555\">{}</text>",
            bx,
            map_top + MAP + 16.0,
            if vmax > 0.0 { "field" } else { "field: 0" }
        );
    }
    s.push_str("</svg>\n");
    s
}

fn io(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// Writes [`FILES`] into `dir` (created with its parents if needed), whole or not at
/// all (`amine_chip::error::write_dir_whole`), and returns their paths.
pub fn write_dir(study: &EpropStudy, dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let texts = [
        to_json(study),
        summary_text(study),
        curve_csv(study),
        curve_svg(study),
        field_svg(study),
    ];
    let files: Vec<(&str, &[u8])> = FILES
        .iter()
        .zip(&texts)
        .map(|(n, t)| (*n, t.as_bytes()))
        .collect();
    amine_chip::error::write_dir_whole(dir, &files).map_err(|e| match e.kind() {
        amine_chip::ErrorKind::Io { path, message } => Error::new(ErrorKind::Io {
            path: path.clone(),
            message: message.clone(),
        }),
        _ => io(dir, e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eprop::{
        settings, template_program, ConditionSummary, EpropRunConfig, FieldStrip, Point,
        TemplateOptions, TrialCost,
    };

    fn stats(acc: f64) -> Stats {
        Stats {
            trials: 8,
            accuracy: acc,
            loss: 0.5,
            nmse: f64::NAN,
            rate_lif_hz: 9.0,
            rate_alif_hz: 11.0,
        }
    }

    /// A hand-made study of two conditions × two seeds (no simulation).
    fn study() -> EpropStudy {
        let mut runs = Vec::new();
        for c in [Condition::Diffusion, Condition::Full] {
            for seed in [1, 2] {
                let task = TaskKind::CueAccumulation;
                let program = template_program(task, c, &TemplateOptions::default());
                let settings = settings(&program).unwrap();
                let config = EpropRunConfig::new(task, program, "template", seed).unwrap();
                runs.push(EpropRun {
                    config,
                    chip: amine_chip::image::ChipStamp::of(
                        &amine_chip::presets::preset("loihi-eprop").unwrap(),
                    ),
                    settings,
                    curve: (1..=3)
                        .map(|i| Point {
                            trials: 64 * i,
                            train: stats(0.5),
                            eval: Some(stats(0.5 + 0.1 * i as f64)),
                        })
                        .collect(),
                    final_eval: stats(0.8),
                    per_training_trial: TrialCost {
                        energy_pj: 2.0e6,
                        latency_s: 2e-3,
                        ..TrialCost::default()
                    },
                    per_inference_trial: TrialCost::default(),
                    weight_clamps: 0,
                    weights_changed: 0,
                    synapses: 1000,
                    strip: FieldStrip {
                        side: 4,
                        frames: vec![(10, vec![0.5; 16]), (20, vec![-0.25; 16])],
                        injectors: vec![(1, 2)],
                    },
                    float_final: None,
                });
            }
        }
        let summaries = [Condition::Diffusion, Condition::Full]
            .into_iter()
            .map(|c| ConditionSummary {
                condition: c,
                seeds: vec![1, 2],
                finals: vec![0.75, 0.85],
                mean: 0.8,
                sd: 0.07,
                curve: vec![(64, 0.6, 0.05), (128, 0.7, 0.05), (192, 0.8, 0.07)],
                rate_lif_hz: 9.0,
                rate_alif_hz: 11.0,
                energy_per_training_trial_pj: 2.0e6,
                energy_per_inference_trial_pj: 1.0e6,
                latency_per_training_trial_s: 2e-3,
                latency_per_inference_trial_s: 1e-3,
                float_finals: if c == Condition::Full {
                    vec![0.9, 0.92]
                } else {
                    vec![]
                },
            })
            .collect();
        EpropStudy {
            task: TaskKind::CueAccumulation,
            chip: amine_chip::image::ChipStamp::of(
                &amine_chip::presets::preset("loihi-eprop").unwrap(),
            ),
            sources: vec!["template".into()],
            classification: true,
            runs,
            summaries,
        }
    }

    #[test]
    fn summary_has_a_row_per_condition_in_percent_and_micro_units() {
        let s = summary_text(&study());
        assert!(s.contains("cue-accumulation"), "{s}");
        let row = s.lines().find(|l| l.starts_with("diffusion ")).unwrap();
        assert!(row.contains("80.00 ± 7.00"), "{row}");
        assert!(row.contains("75.00, 85.00"), "{row}");
        assert!(row.contains("2.000"), "{row}");
        let full = s.lines().find(|l| l.starts_with("full ")).unwrap();
        assert!(full.contains("91.00 ± 1.41"), "{full}");
    }

    #[test]
    fn csv_has_a_row_per_run_and_point() {
        let csv = curve_csv(&study());
        assert_eq!(csv.lines().count(), 1 + 4 * 3);
        assert!(csv.starts_with("condition,seed,trials,train_accuracy,"));
        assert!(csv.contains("\nfull,2,192,0.500000,"), "{csv}");
    }

    #[test]
    fn pictures_are_svg_with_every_condition() {
        let st = study();
        let c = curve_svg(&st);
        assert!(c.starts_with("<svg") && c.ends_with("</svg>\n"));
        assert!(c.contains("diffusion (2 seeds)") && c.contains("float reference"));
        let f = field_svg(&st);
        assert!(f.starts_with("<svg") && f.contains("step 20") && f.contains("url(#diverging)"));
        // Two conditions × two frames × 16 cells, each a titled rect.
        assert_eq!(f.matches("<title>(").count(), 64);
    }

    #[test]
    fn diverging_scale_is_white_at_zero_and_ends_at_the_stops() {
        assert_eq!(diverging(0.0), "#f7f7f7");
        assert_eq!(diverging(1.0), "#67001f");
        assert_eq!(diverging(-1.0), "#053061");
        assert_eq!(diverging(f64::NAN), "#f7f7f7");
    }

    #[test]
    fn write_dir_replaces_whole_files_and_leaves_no_temporary() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b/report");
        let st = study();
        write_dir(&st, &dir).unwrap();
        // Again, into the existing directory holding another file.
        std::fs::write(dir.join("notes.txt"), "mine").unwrap();
        let written = write_dir(&st, &dir).unwrap();
        assert_eq!(written.len(), FILES.len());
        for f in FILES {
            assert!(dir.join(f).is_file(), "{f}");
        }
        assert!(dir.join("notes.txt").is_file());
        let left: Vec<_> = std::fs::read_dir(root.path().join("a/b"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("report")]);
        // A file in the way is an error naming it, and nothing is left behind.
        let file = root.path().join("plain");
        std::fs::write(&file, "x").unwrap();
        let e = write_dir(&st, &file).unwrap_err().to_string();
        assert!(e.contains("plain") && e.contains("not a directory"), "{e}");
    }
}
