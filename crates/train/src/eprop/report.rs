//! The report of an e-prop study ([`EpropStudy`]): what each condition learned, and
//! what a training trial and an inference trial cost on the chip.
//!
//! [`write_dir`] writes six files:
//!
//! | file | contents |
//! | --- | --- |
//! | `report.html` | one self-contained page: the study, the summary table, both pictures, the programs' settings and the chip configuration |
//! | `report.json` | the whole study (every run's configuration, curve, costs, field strip) |
//! | `summary.txt` | [`summary_text`]: one row per condition, mean ± sd over seeds |
//! | `curve.csv` | one row per run and curve point ([`curve_csv`]) |
//! | `curve.svg` | the evaluation metric against training trials, mean ± sd band per condition |
//! | `field.svg` | the modulator field over a training trial's learning window, first seed of each condition |
//!
//! Pictures come from amine-report's plotting module and the directory is written by
//! [`amine_report::write_dir`]: whole or not at all, replacing only an earlier report.

pub use super::pictures::{caption, curve_svg, field_svg};
use super::study::mean_sd;
use super::{ConditionSummary, EpropStudy, Stats};
use crate::error::{Error, ErrorKind};
use amine_chip::ChipConfig;
use amine_report::{File, Page, Table};
use amine_tasks::eprop::{Condition, TaskKind};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The files [`write_dir`] writes, in order.
pub const FILES: [&str; 6] = [
    "report.html",
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
pub(super) fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", amine_chip::units::plural_s(n as u64))
}

/// The study as pretty JSON (non-finite numbers, e.g. the accuracy of a regression
/// task, become `null`).
pub fn to_json(study: &EpropStudy) -> String {
    serde_json::to_string_pretty(study).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// The terminal summary (also `summary.txt`): the study's settings, then one row per
/// condition: final metric mean ± sd over seeds and per seed, the float reference when
/// it ran, firing rates, and energy and latency per training and per inference trial.
pub fn summary_text(study: &EpropStudy) -> String {
    let mut s = String::new();
    write_heading(&mut s, study);
    write_settings(&mut s, study);
    s.push('\n');
    s.push_str(&conditions_table(study).to_text());
    s.push('\n');
    let _ = writeln!(
        s,
        "final = the last curve point's evaluation (fresh trials, learning off); \
         rates over those trials; costs are means per trial of the whole run"
    );
    write_condition_notes(&mut s, study);
    s
}

/// The title line (task, conditions, seeds, runs) and the caption.
fn write_heading(s: &mut String, study: &EpropStudy) {
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
}

/// The first run's training settings: trials, batches, evaluation, weight format,
/// decay and regulariser (nothing without runs).
fn write_settings(s: &mut String, study: &EpropStudy) {
    let Some(r) = study.runs.first() else {
        return;
    };
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

/// One row per condition: final metric, per seed, float reference (when any ran),
/// rates, and energy and latency per training and inference trial.
fn conditions_table(study: &EpropStudy) -> Table {
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
    let mut rows = Table::new(head);
    for c in &study.summaries {
        rows.push(condition_row(study, c, has_float));
    }
    rows
}

/// One condition's row of [`conditions_table`].
fn condition_row(study: &EpropStudy, c: &ConditionSummary, has_float: bool) -> Vec<String> {
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
    row
}

/// Per condition (that has a run): its kernel, update rule and rates, synapse count
/// and the weight clamps over all its runs.
fn write_condition_notes(s: &mut String, study: &EpropStudy) {
    for c in &study.summaries {
        let Some(r) = study
            .runs
            .iter()
            .find(|r| r.config.condition == c.condition)
        else {
            continue;
        };
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

/// The report page: the study, the summary table, both pictures, the programs'
/// settings and the chip configuration `config` the study ran on.
pub fn html(study: &EpropStudy, config: &ChipConfig) -> String {
    let mut p = Page::new(format!(
        "amine train: e-prop, {} on `{}`",
        task_name(study.task),
        study.chip.name
    ));
    let seeds = study.summaries.first().map_or(0, |c| c.seeds.len());
    p.section("Study").facts([
        ("task", task_name(study.task).to_string()),
        ("programs", study.sources.join(", ")),
        ("chip", study.chip.describe()),
        (
            "runs",
            format!(
                "{} × {} = {}",
                count(study.summaries.len(), "condition"),
                count(seeds, "seed"),
                count(study.runs.len(), "run")
            ),
        ),
    ]);
    let metric_name = if study.classification {
        "accuracy %"
    } else {
        "NMSE"
    };
    let mut t = Table::new([
        "condition".to_string(),
        "seeds".into(),
        format!("final {metric_name}"),
        "float reference".into(),
        "LIF rate".into(),
        "ALIF rate".into(),
        "energy / training trial".into(),
        "latency / training trial".into(),
        "energy / inference trial".into(),
        "latency / inference trial".into(),
    ]);
    for c in &study.summaries {
        let (fm, fsd) = mean_sd(&c.float_finals);
        let hz = |x: f64| format!("{x:.1} Hz");
        t.push([
            condition_name(c.condition).to_string(),
            c.seeds.len().to_string(),
            format!("{} ± {}", shown(study, c.mean), shown(study, c.sd)),
            if c.float_finals.is_empty() {
                "—".into()
            } else {
                format!("{} ± {}", shown(study, fm), shown(study, fsd))
            },
            hz(c.rate_lif_hz),
            hz(c.rate_alif_hz),
            amine_sim::report::energy(c.energy_per_training_trial_pj),
            amine_sim::report::nanos(c.latency_per_training_trial_s * 1e9),
            amine_sim::report::energy(c.energy_per_inference_trial_pj),
            amine_sim::report::nanos(c.latency_per_inference_trial_s * 1e9),
        ]);
    }
    p.table(
        "Final evaluation (mean ± sd over seeds) and cost per trial on the chip",
        &t,
    );
    for run in &study.runs {
        if let Some(e) = &run.conventional {
            p.table(
                format!(
                    "{} seed {}: one training trial as a float implementation (estimates)",
                    condition_name(run.config.condition),
                    run.config.seed
                ),
                &crate::report::conventional_table(e, run.per_training_trial.energy_pj),
            );
        }
    }
    p.section("Learning curve").figure(
        curve_svg(study),
        format!(
            "The evaluation metric on fresh trials (learning off) against training trials \
             seen: mean over seeds, band ± 1 sd; dashed: the float reference's final value. \
             {}",
            caption(study)
        ),
    );
    let (field, caption) = field_svg(study);
    p.section("Modulator field").figure(field, caption);
    p.section("Configuration");
    p.code("terminal summary", summary_text(study));
    p.code(
        format!(
            "chip configuration `{}` ({})",
            study.chip.name, study.chip.file
        ),
        config.to_ron(),
    );
    p.render()
}

/// Every file of the report directory, in [`FILES`] order.
pub fn files(study: &EpropStudy, config: &ChipConfig) -> Vec<File> {
    vec![
        File::new(FILES[0], html(study, config)),
        File::new(FILES[1], to_json(study)),
        File::new(FILES[2], summary_text(study)),
        File::new(FILES[3], curve_csv(study)),
        File::new(FILES[4], curve_svg(study)),
        File::new(FILES[5], field_svg(study).0),
    ]
}

/// Writes [`FILES`] as the directory `dir` (its parents created if needed), whole or
/// not at all, replacing only an earlier report; returns their paths. `config` is the
/// chip configuration the study ran on.
pub fn write_dir(
    study: &EpropStudy,
    dir: &Path,
    config: &ChipConfig,
) -> Result<Vec<PathBuf>, Error> {
    amine_report::write_dir(dir, &files(study, config)).map_err(|e| {
        Error::new(ErrorKind::Io {
            path: e.path,
            message: e.message,
        })
    })?;
    Ok(FILES.iter().map(|f| dir.join(f)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eprop::{
        settings, template_program, ConditionSummary, EpropRun, EpropRunConfig, FieldStrip, Point,
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
                    chip: amine_chip::ChipIdentity::of(
                        &amine_chip::presets::preset("loihi-eprop").unwrap(),
                        "<preset loihi-eprop>",
                        &[],
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
                    conventional: None,
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
            chip: amine_chip::ChipIdentity::of(
                &amine_chip::presets::preset("loihi-eprop").unwrap(),
                "<preset loihi-eprop>",
                &[],
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
        assert!(c.starts_with("<svg") && c.trim_end().ends_with("</svg>"));
        for want in [
            "diffusion (2 seeds), ± 1 sd",
            "full: float reference, final",
            "training trials seen",
            "accuracy on fresh trials (%)",
        ] {
            assert!(c.contains(want), "{want}");
        }
        let (f, caption) = field_svg(&st);
        assert!(f.starts_with("<svg") && f.contains("diffusion, seed 1") && f.contains("step 20"));
        assert!(f.contains("full, seed 1") && f.contains("learning signal"));
        assert!(caption.contains("loihi-eprop (<preset loihi-eprop>, fingerprint"));
        for svg in [&c, &f] {
            assert!(svg.contains(
                "<desc>program template; chip loihi-eprop (&lt;preset loihi-eprop&gt;, fingerprint"
            ));
        }
    }

    #[test]
    fn the_page_names_the_chip_and_holds_both_pictures() {
        let st = study();
        let config = amine_chip::presets::preset("loihi-eprop").unwrap();
        let h = html(&st, &config);
        assert!(h.contains("amine train: e-prop, cue-accumulation on `loihi-eprop`"));
        assert!(
            h.contains(&st.chip.fingerprint),
            "the configuration's fingerprint"
        );
        assert_eq!(h.matches("<svg").count(), 2, "curve and field");
        assert!(h.contains("80.00 ± 7.00") && h.contains("91.00 ± 1.41"));
    }

    #[test]
    fn write_dir_writes_the_report_whole_and_replaces_only_a_report() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b/report");
        let st = study();
        let config = amine_chip::presets::preset("loihi-eprop").unwrap();
        write_dir(&st, &dir, &config).unwrap();
        // Again: an earlier report is replaced whole.
        std::fs::write(dir.join("notes.txt"), "mine").unwrap();
        let written = write_dir(&st, &dir, &config).unwrap();
        assert_eq!(written.len(), FILES.len());
        for f in FILES {
            assert!(dir.join(f).is_file(), "{f}");
        }
        assert!(!dir.join("notes.txt").exists());
        let left: Vec<_> = std::fs::read_dir(root.path().join("a/b"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("report")]);
        // A directory of other files, or a file in the way, is refused naming it.
        let other = root.path().join("mine");
        std::fs::create_dir(&other).unwrap();
        std::fs::write(other.join("x.txt"), "x").unwrap();
        let e = write_dir(&st, &other, &config).unwrap_err().to_string();
        assert!(e.contains("mine") && e.contains("other files"), "{e}");
        let file = root.path().join("plain");
        std::fs::write(&file, "x").unwrap();
        let e = write_dir(&st, &file, &config).unwrap_err().to_string();
        assert!(e.contains("plain") && e.contains("not a directory"), "{e}");
    }
}
