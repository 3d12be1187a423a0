//! The training report: what was learned, and what learning and inference cost.
//!
//! Written by [`TrainReport::write_dir`] as `report.json` (everything), `curve.csv` and
//! `curve.svg` (accuracy against epochs), `confusion.csv` (test set, `[true][predicted]`),
//! `summary.txt` (the terminal summary) and `report.html` (all of it on one page). The
//! directory is written whole or not at all ([`amine_report::dir`]).

use amine_chip::identity::ChipIdentity;
use amine_chip::ChipConfig;
use amine_report::plot::{Axis, LineChart, Series};
use amine_report::{File, Page, Table};
use amine_sim::{Components, SimState, Simulator};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;

/// One point of the learning curve.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct EpochPoint {
    /// Epochs completed (1-based).
    pub epoch: usize,
    pub samples_seen: usize,
    /// Fraction of this epoch's training samples predicted right *before* the chip
    /// learned from each (online accuracy).
    pub online_train_accuracy: f64,
    /// Test accuracy after the epoch (`None` when not measured).
    pub test_accuracy: Option<f64>,
}

/// Energy and latency of one sample of a phase.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cost {
    /// Energy per sample by component, in pJ.
    pub energy: Components,
    pub energy_pj: f64,
    pub cycles: f64,
    pub latency_s: f64,
    /// The learning engine's part of `latency_s` (its cycles on each step's critical core).
    pub learning_latency_s: f64,
    /// Samples the figures are averaged over.
    pub samples: f64,
}

impl Cost {
    /// Per-sample figures from a phase's totals over `samples` samples.
    pub fn new(total: Components, cycles_per_sample: f64, clock_hz: f64, samples: f64) -> Cost {
        let per = scale(total, 1.0 / samples.max(1.0));
        Cost {
            energy_pj: per.total(),
            energy: per,
            cycles: cycles_per_sample,
            latency_s: cycles_per_sample / clock_hz.max(1.0),
            learning_latency_s: 0.0,
            samples,
        }
    }
}

/// What the same network reaches in f64, trained outside the chip model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FloatReference {
    pub test_accuracy: f64,
    pub train_accuracy: f64,
    /// Test accuracy after each epoch.
    pub curve: Vec<f64>,
    /// What the run used (layout, α, u0, initial range).
    pub config: String,
}

/// Everything a training run reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainReport {
    pub program: String,
    pub chip: String,
    /// Which configuration the run used: name, file, fingerprints, overrides.
    pub chip_config: ChipIdentity,
    pub task: String,
    pub seed: u64,
    pub epochs: usize,
    /// The learning rate's fraction in the last epoch when it fell linearly
    /// ([`crate::TrainOptions::final_rate`]); absent: constant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub final_rate: Option<f64>,
    pub steps_per_sample: u32,
    pub train_samples: usize,
    pub test_samples: usize,
    pub curve: Vec<EpochPoint>,
    /// Final accuracies, measured with the learning engine off.
    pub train_accuracy: f64,
    pub test_accuracy: f64,
    /// Test set, `confusion[true][predicted]`.
    pub confusion: Vec<Vec<u32>>,
    pub per_training_sample: Cost,
    pub per_inference: Cost,
    /// Synaptic updates the learning engine made in the whole run.
    pub synaptic_updates: u64,
    /// Learned weights whose sign differs from their row's sign (Dale's principle): 0
    /// unless the engine is broken.
    pub dale_violations: u64,
    pub float_reference: Option<FloatReference>,
    /// What a training sample of the float reference would cost on a CPU and a GPU
    /// (estimates: `amine_tasks::conventional`).
    pub conventional: Option<amine_tasks::conventional::Estimate>,
}

pub(crate) fn scale(c: Components, k: f64) -> Components {
    Components {
        synapse: c.synapse * k,
        dendrite: c.dendrite * k,
        neuron: c.neuron * k,
        noc: c.noc * k,
        modulator: c.modulator * k,
        learning: c.learning * k,
        static_: c.static_ * k,
    }
}

/// `a − b`, component by component.
pub(crate) fn diff(a: Components, b: Components) -> Components {
    let mut d = a;
    d += scale(b, -1.0);
    d
}

/// Weights of sign-fixed plastic rows that left their sign.
pub(crate) fn dale_violations(sim: &Simulator, state: &SimState) -> u64 {
    use amine_chip::synapse::SignMode;
    sim.plastic_rows(state)
        .map(|(sign, mantissas, _)| {
            mantissas
                .iter()
                .filter(|&&m| match sign {
                    SignMode::Excitatory => m < 0,
                    SignMode::Inhibitory => m > 0,
                    SignMode::Signed => false,
                })
                .count() as u64
        })
        .sum()
}

fn pct(x: f64) -> String {
    format!("{:.2} %", 100.0 * x)
}

impl TrainReport {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// The learning curve as CSV: `epoch,samples_seen,online_train_accuracy,test_accuracy`.
    pub fn curve_csv(&self) -> String {
        let mut s = String::from("epoch,samples_seen,online_train_accuracy,test_accuracy\n");
        for p in &self.curve {
            let test = p
                .test_accuracy
                .map(|a| format!("{a:.6}"))
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "{},{},{:.6},{test}",
                p.epoch, p.samples_seen, p.online_train_accuracy
            );
        }
        s
    }

    /// The test confusion matrix as CSV, a header row of predicted classes.
    pub fn confusion_csv(&self) -> String {
        let n = self.confusion.len();
        let mut s = String::from("true\\predicted");
        for c in 0..n {
            let _ = write!(s, ",{c}");
        }
        s.push('\n');
        for (t, row) in self.confusion.iter().enumerate() {
            let _ = write!(s, "{t}");
            for v in row {
                let _ = write!(s, ",{v}");
            }
            s.push('\n');
        }
        s
    }

    /// The terminal summary.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{} on {} — task {} ({} train / {} test), {} epochs, seed {}, {} steps per sample",
            self.program,
            self.chip,
            self.task,
            self.train_samples,
            self.test_samples,
            self.epochs,
            self.seed,
            self.steps_per_sample
        );
        if let Some(f) = self.final_rate {
            let _ = writeln!(
                s,
                "learning rate: falling linearly over the epochs to {f} of the program's"
            );
        }
        let _ = writeln!(
            s,
            "accuracy: test {}, train {}",
            pct(self.test_accuracy),
            pct(self.train_accuracy)
        );
        if let Some(f) = &self.float_reference {
            let _ = writeln!(s, "{}", float_line(self.test_accuracy, f.test_accuracy));
        }
        for (name, c) in [
            ("per training sample", &self.per_training_sample),
            ("per inference", &self.per_inference),
        ] {
            let _ = writeln!(
                s,
                "{name}: {} and {} simulated ({} cycles; learning engine {})",
                amine_sim::report::energy(c.energy_pj),
                amine_sim::report::nanos(c.latency_s * 1e9),
                amine_sim::report::group(c.cycles.round() as u64),
                amine_sim::report::nanos(c.learning_latency_s * 1e9)
            );
            let parts: Vec<String> = c
                .energy
                .named()
                .iter()
                .filter(|(_, v)| *v > 0.0)
                .map(|(n, v)| format!("{n} {}", amine_sim::report::energy(*v)))
                .collect();
            let _ = writeln!(s, "    {}", parts.join(", "));
        }
        if let Some(e) = &self.conventional {
            let _ = writeln!(s, "{}", e.line());
        }
        let _ = writeln!(
            s,
            "learning engine: {} synaptic updates; Dale's principle: {} weights changed sign",
            amine_sim::report::group(self.synaptic_updates),
            self.dale_violations
        );
        s
    }

    /// The learning curve: online training and test accuracy per epoch, and the float
    /// reference's test accuracy.
    pub fn curve_svg(&self) -> String {
        let mut c = LineChart::new(
            format!("{} — {} on {}", self.program, self.task, self.chip),
            Axis::plain("epoch", ""),
            Axis::percent("accuracy"),
        );
        let epoch = |p: &EpochPoint| p.epoch as f64;
        c.series.push(Series::new(
            "online training accuracy (chip)",
            self.curve
                .iter()
                .map(|p| (epoch(p), p.online_train_accuracy))
                .collect(),
        ));
        c.series.push(Series::new(
            "test accuracy (chip)",
            self.curve
                .iter()
                .filter_map(|p| Some((epoch(p), p.test_accuracy?)))
                .collect(),
        ));
        if let Some(f) = &self.float_reference {
            c.series.push(
                Series::new(
                    "test accuracy (f64 reference)",
                    f.curve
                        .iter()
                        .enumerate()
                        .map(|(i, a)| ((i + 1) as f64, *a))
                        .collect(),
                )
                .dashed(),
            );
        }
        let lowest = c
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .fold(1.0f64, f64::min);
        c.y_limits = Some((((lowest * 10.0).floor() / 10.0).clamp(0.0, 0.9), 1.0));
        c.svg()
    }

    /// The report page: the run, accuracy, costs, the curve, the confusion matrix and
    /// the chip configuration.
    pub fn html(&self, config: &ChipConfig) -> String {
        let mut p = Page::new(format!(
            "amine train: `{}` on `{}`",
            self.program, self.chip
        ));
        p.section("Training").facts([
            ("program", self.program.clone()),
            ("chip", self.chip_config.describe()),
            (
                "task",
                format!(
                    "{} ({} training / {} test samples)",
                    self.task, self.train_samples, self.test_samples
                ),
            ),
            ("epochs, seed", format!("{}, {}", self.epochs, self.seed)),
            ("steps per sample", self.steps_per_sample.to_string()),
            (
                "synaptic updates",
                amine_sim::report::group(self.synaptic_updates),
            ),
            (
                "Dale's principle",
                format!("{} weights changed sign", self.dale_violations),
            ),
        ]);
        let mut t = Table::new(["", "test", "train"]);
        t.push([
            "chip".to_string(),
            pct(self.test_accuracy),
            pct(self.train_accuracy),
        ]);
        if let Some(f) = &self.float_reference {
            t.push([
                "f64 reference".to_string(),
                pct(f.test_accuracy),
                pct(f.train_accuracy),
            ]);
        }
        p.table("Accuracy", &t);
        let mut t = Table::new(
            ["", "energy", "latency", "learning engine"]
                .into_iter()
                .map(String::from)
                .chain(
                    Components::default()
                        .named()
                        .iter()
                        .map(|(n, _)| n.to_string()),
                ),
        );
        for (name, c) in [
            ("per training sample", &self.per_training_sample),
            ("per inference", &self.per_inference),
        ] {
            t.push(
                [
                    name.to_string(),
                    amine_sim::report::energy(c.energy_pj),
                    amine_sim::report::nanos(c.latency_s * 1e9),
                    amine_sim::report::nanos(c.learning_latency_s * 1e9),
                ]
                .into_iter()
                .chain(
                    c.energy
                        .named()
                        .iter()
                        .map(|(_, v)| amine_sim::report::energy(*v)),
                ),
            );
        }
        p.table("Energy and simulated time", &t);
        if let Some(e) = &self.conventional {
            p.table(
                "The same training as a float implementation (estimates)",
                &conventional_table(e, self.per_training_sample.energy_pj),
            );
        }
        p.section("Learning curve").figure(
            self.curve_svg(),
            "Accuracy after each epoch: online training accuracy (each sample predicted before the chip learns from it), test accuracy of the chip, and of the same network trained in f64 (dashed).",
        );
        let n = self.confusion.len();
        let mut t = Table::new(
            std::iter::once("true \\ predicted".to_string()).chain((0..n).map(|c| c.to_string())),
        );
        for (i, row) in self.confusion.iter().enumerate() {
            t.push(std::iter::once(i.to_string()).chain(row.iter().map(u32::to_string)));
        }
        p.section("Confusion matrix").table("test set", &t);
        p.section("Configuration");
        p.code("terminal summary", self.summary());
        if let Some(f) = &self.float_reference {
            p.code("f64 reference", f.config.clone());
        }
        p.code(
            format!(
                "chip configuration `{}` ({})",
                self.chip_config.name, self.chip_config.file
            ),
            config.to_ron(),
        );
        p.render()
    }

    /// Every file of the report directory.
    pub fn files(&self, config: &ChipConfig) -> Vec<File> {
        vec![
            File::new("report.json", self.to_json()),
            File::new("curve.csv", self.curve_csv()),
            File::new("curve.svg", self.curve_svg()),
            File::new("confusion.csv", self.confusion_csv()),
            File::new("summary.txt", self.summary()),
            File::new("report.html", self.html(config)),
        ]
    }

    /// Write the report into `dir`, whole or not at all.
    pub fn write_dir(&self, dir: &Path, config: &ChipConfig) -> Result<(), crate::Error> {
        amine_report::write_dir(dir, &self.files(config)).map_err(|e| {
            crate::Error::new(crate::ErrorKind::Io {
                path: e.path,
                message: e.message,
            })
        })
    }
}

/// Chip, CPU and GPU energy of a training sample, with the ratios and the sources.
pub fn conventional_table(e: &amine_tasks::conventional::Estimate, chip_pj: f64) -> Table {
    let mut t = Table::new([
        "",
        "energy per training sample",
        "chip / this",
        "source and assumptions",
    ]);
    t.push([
        "chip (simulated)".to_string(),
        amine_sim::report::energy(chip_pj),
        "1".to_string(),
        "this run".to_string(),
    ]);
    for (name, pj, src) in [
        ("CPU estimate", e.cpu.energy_pj, &e.cpu_source),
        ("GPU estimate", e.gpu.energy_pj, &e.gpu_source),
    ] {
        t.push([
            name.to_string(),
            amine_sim::report::energy(pj),
            format!("{:.3}", chip_pj / pj.max(f64::MIN_POSITIVE)),
            format!(
                "{src}; {:.3} MFLOP and {:.3} MB per sample at batch {}; GPU utilisation {}",
                e.work.flops / 1e6,
                e.work.bytes / 1e6,
                e.work.batch,
                e.gpu_utilisation
            ),
        ]);
    }
    t
}

/// The summary line comparing the chip with its float reference: what fixed point costs
/// is the float accuracy minus the chip's (positive when the chip is below the float).
fn float_line(chip_test: f64, float_test: f64) -> String {
    format!(
        "float reference (f64, same network): test {} — fixed point costs {:+.2} points",
        pct(float_test),
        100.0 * (float_test - chip_test)
    )
}

#[cfg(test)]
mod float_line_tests {
    #[test]
    fn the_cost_of_fixed_point_is_positive_when_the_chip_is_below_the_float() {
        assert!(super::float_line(0.9000, 0.9028).ends_with("costs +0.28 points"));
        assert!(super::float_line(0.9111, 0.9000).ends_with("costs -1.11 points"));
    }
}
