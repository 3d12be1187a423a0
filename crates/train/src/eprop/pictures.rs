//! The pictures of an e-prop study's report: the learning curve ([`curve_svg`]) and
//! the modulator field over a training trial ([`field_svg`]), each carrying the study's
//! provenance ([`caption`]) as its `<desc>`.

use super::report::{condition_name, count, task_name};
use super::study::mean_sd;
use super::{EpropRun, EpropStudy};
use amine_report::plot::{Axis, FieldPanels, LineChart, Panel, Series};
use amine_tasks::eprop::Condition;
use std::fmt::Write as _;

/// `svg` with the study's provenance ([`caption`]) as its `<desc>`, so a picture
/// passed on alone still names its programs and chip configuration.
fn described(svg: String, study: &EpropStudy) -> String {
    match svg
        .find("<svg")
        .and_then(|i| svg[i..].find('>').map(|j| i + j + 1))
    {
        Some(at) => format!(
            "{}\n<desc>{}</desc>{}",
            &svg[..at],
            amine_report::esc(&caption(study)),
            &svg[at..]
        ),
        None => svg,
    }
}

/// What a study's files were made from: its programs, and the chip with its
/// configuration's fingerprint.
pub fn caption(study: &EpropStudy) -> String {
    format!(
        "program {}; chip {}",
        study.sources.join(", "),
        study.chip.describe()
    )
}

/// The evaluation metric (accuracy, or normalised MSE for pattern generation) against
/// training trials seen: per condition the mean over seeds as a line and ± one standard
/// deviation as a band; the float reference's final mean, when it ran, as a dashed line.
pub fn curve_svg(study: &EpropStudy) -> String {
    let seeds = study
        .summaries
        .iter()
        .map(|c| c.seeds.len())
        .max()
        .unwrap_or(0);
    let (metric_axis, what) = if study.classification {
        (Axis::percent("accuracy on fresh trials"), "accuracy")
    } else {
        (Axis::plain("normalised MSE on fresh trials", ""), "NMSE")
    };
    let mut c = LineChart::new(
        format!(
            "e-prop on the chip, {}: eval {what} (mean ± sd, {})",
            task_name(study.task),
            count(seeds, "seed")
        ),
        Axis::plain("training trials seen", ""),
        metric_axis,
    );
    let max_trials = study
        .summaries
        .iter()
        .flat_map(|c| c.curve.iter().map(|p| p.0))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    for s in &study.summaries {
        let pts: Vec<(f64, f64, f64)> = s
            .curve
            .iter()
            .filter(|p| p.1.is_finite())
            .map(|&(t, m, sd)| (t as f64, m, if sd.is_finite() { sd } else { 0.0 }))
            .collect();
        c.series.push(
            Series::new(
                format!(
                    "{} ({}), ± 1 sd",
                    condition_name(s.condition),
                    count(s.seeds.len(), "seed")
                ),
                pts.iter().map(|&(t, m, _)| (t, m)).collect(),
            )
            .with_band(pts.iter().map(|&(t, m, sd)| (t, m - sd, m + sd)).collect()),
        );
    }
    for s in &study.summaries {
        let (fm, _) = mean_sd(&s.float_finals);
        if fm.is_finite() {
            c.series.push(
                Series::new(
                    format!("{}: float reference, final", condition_name(s.condition)),
                    vec![(0.0, fm), (max_trials, fm)],
                )
                .dashed(),
            );
        }
    }
    if study.classification {
        let lowest = c
            .series
            .iter()
            .flat_map(|s| {
                s.points
                    .iter()
                    .map(|p| p.1)
                    .chain(s.band.iter().map(|b| b.1))
            })
            .filter(|v| v.is_finite())
            .fold(1.0f64, f64::min);
        c.y_limits = Some((((lowest * 10.0).floor() / 10.0).clamp(0.0, 0.9), 1.0));
    } else {
        c.y_from_zero = true;
    }
    described(c.svg(), study)
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
/// of one training trial's learning window: a `side × side` map per frame, cell (x, y)
/// at column x and row y, all on one colour scale symmetric about 0, the step under each
/// frame and the cells of the injecting neurons outlined. Returns the picture and its
/// caption.
pub fn field_svg(study: &EpropStudy) -> (String, String) {
    let runs = first_runs(study);
    let mut panels = Vec::new();
    let mut columns = 0;
    let mut missing = Vec::new();
    let mut row_labels = Vec::new();
    let mut everywhere = Vec::new();
    for (condition, run) in &runs {
        let Some(run) = (*run).filter(|r| !r.strip.frames.is_empty()) else {
            missing.push(condition_name(*condition));
            continue;
        };
        let strip = &run.strip;
        columns = columns.max(strip.frames.len());
        let side = strip.side.max(1);
        row_labels.push(format!(
            "{}, seed {}",
            condition_name(*condition),
            run.config.seed
        ));
        // Outlines on most cells would hide the field.
        let marks = if strip.injectors.len() * 2 <= (side * side) as usize {
            strip.injectors.clone()
        } else {
            everywhere.push(condition_name(*condition));
            Vec::new()
        };
        for (step, values) in &strip.frames {
            panels.push(Panel {
                label: format!("step {step}"),
                width: side,
                height: side,
                values: values.clone(),
                marks: marks.clone(),
            });
        }
    }
    let (svg, note) = FieldPanels {
        title: format!(
            "e-prop on the chip — {}: the modulator field over one training trial's learning window",
            task_name(study.task)
        ),
        panels,
        value: Axis::plain("learning signal", ""),
        columns,
        row_labels,
    }
    .svg();
    let mut text = String::from(
        "The grid's learning signal at the strip's steps of one training trial after \
         training, first seed of each condition (a row each); cells of injecting neurons \
         outlined; one colour scale, symmetric about 0.",
    );
    if !everywhere.is_empty() {
        let _ = write!(
            text,
            " In {}, most cells inject (not outlined).",
            everywhere.join(", ")
        );
    }
    if !missing.is_empty() {
        let _ = write!(text, " No frames recorded for {}.", missing.join(", "));
    }
    if !note.is_empty() {
        let _ = write!(text, " {note}.");
    }
    let _ = write!(text, " {}", caption(study));
    (described(svg, study), text)
}
