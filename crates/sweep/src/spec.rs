//! The sweep specification (`amine sweep <spec.ron>`) and its expansion into points.
//!
//! ```ron
//! Sweep(
//!     program: "../programs/ed_digits.ron",   // relative to the spec file
//!     chip: "loihi",                          // a preset or a chip-config file
//!     job: Train(task: "digits", epochs: 1),  // or Run(steps: 1000)
//!     axes: [
//!         (set: "costs.synaptic_op.energy_pj", values: [11.8, 23.6, 47.2]),
//!         (set: "core.weight_bits", values: [[4], [6], [8]]),
//!     ],
//!     mode: Grid,                             // or Zip
//!     seeds: [1, 2],
//! )
//! ```
//!
//! An axis sets a chip-config path (as `--set` does), a program path when it starts
//! with `program.` (e.g. `program.populations[exc].size`), or the chip itself when it
//! is `chip` (values are preset names or files). `Grid` takes every combination of the
//! axes' values, `Zip` the i-th values of every axis together; every point runs once
//! per seed, which replaces the program's seed (and orders a training run's samples).
//! Every point is checked — chip overrides applied and validated, program overrides
//! read back — before anything runs, and a problem names the spec's field.

use crate::{Error, Problem};
use amine_chip::overrides::{value, Set};
use amine_sim::Timing;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What each point does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Job {
    /// Simulate the image for `steps` steps.
    Run {
        steps: u32,
        #[serde(default)]
        timing: Timing,
    },
    /// Train with Error Diffusion on `task` (`digits` or `mnist:<folder>`).
    Train {
        task: String,
        epochs: usize,
        #[serde(default)]
        timing: Timing,
    },
}

/// How the axes combine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    /// Every combination of the axes' values.
    #[default]
    Grid,
    /// The i-th values of every axis together (all axes equally long).
    Zip,
}

/// One swept parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Axis {
    /// A chip-config path, `program.<path>`, or `chip`.
    pub set: String,
    pub values: Vec<ron::Value>,
}

/// A sweep as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename = "Sweep")]
pub struct Spec {
    pub program: String,
    #[serde(default = "default_chip")]
    pub chip: String,
    pub job: Job,
    #[serde(default)]
    pub axes: Vec<Axis>,
    #[serde(default)]
    pub mode: Mode,
    #[serde(default = "default_seeds")]
    pub seeds: Vec<u64>,
}

fn default_chip() -> String {
    "loihi".into()
}

fn default_seeds() -> Vec<u64> {
    vec![1]
}

/// What an axis value sets.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Chip(String),
    ChipSet(Set),
    ProgramSet(Set),
}

/// One point of the sweep: its chip (name or file) and overrides, and its seed.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub index: usize,
    pub chip: String,
    pub chip_sets: Vec<Set>,
    pub program_sets: Vec<Set>,
    pub seed: u64,
    /// The value of each axis, as text, in axis order.
    pub labels: Vec<String>,
}

/// A checked sweep: where its files are, and its points.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    pub spec: Spec,
    /// The spec file (for messages and the report).
    pub origin: String,
    pub program_path: PathBuf,
    pub points: Vec<Point>,
    /// The multi-chip system every point is compiled over and runs on (`None`: each
    /// point on its chip); see [`Sweep::on_system`].
    pub system: Option<amine_chip::system::SystemConfig>,
}

/// Points a sweep may have (each is a whole run).
pub const MAX_POINTS: usize = 100_000;

/// Resolve a chip name or file relative to `dir` (a name that is not a file there is
/// taken as a preset or a path from the working directory).
pub fn chip_path(chip: &str, dir: &Path) -> String {
    let rel = dir.join(chip);
    if !Path::new(chip).is_absolute() && rel.is_file() {
        rel.display().to_string()
    } else {
        chip.to_string()
    }
}

impl Sweep {
    /// Read and check the spec file at `path`.
    pub fn load(path: &Path) -> Result<Sweep, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, &e))?;
        let origin = path.display().to_string();
        let spec: Spec =
            amine_chip::textfmt::from_ron(&text, &origin).map_err(|e| Error::Spec {
                origin: origin.clone(),
                problems: vec![Problem::new(
                    e.field.clone().unwrap_or_default(),
                    e.to_string(),
                )],
            })?;
        Sweep::new(spec, &origin, path.parent().unwrap_or(Path::new(".")))
    }

    /// Check `spec` (read from `origin`; relative paths from `dir`) and expand it.
    pub fn new(mut spec: Spec, origin: &str, dir: &Path) -> Result<Sweep, Error> {
        let mut problems = Vec::new();
        let mut need = |ok: bool, field: &str, message: String| {
            if !ok {
                problems.push(Problem::new(field, message));
            }
        };
        let program_path = dir.join(&spec.program);
        need(
            program_path.is_file(),
            "program",
            format!("{} is not a readable file", program_path.display()),
        );
        spec.chip = chip_path(&spec.chip, dir);
        match &spec.job {
            Job::Run { steps, .. } => need(*steps > 0, "job.steps", "must be at least 1".into()),
            Job::Train { task, epochs, .. } => {
                need(*epochs > 0, "job.epochs", "must be at least 1".into());
                if let Err(e) = amine_tasks::parse_task(task) {
                    need(false, "job.task", e.to_string());
                }
            }
        }
        need(
            !spec.seeds.is_empty(),
            "seeds",
            "give at least one seed".into(),
        );
        let mut seen = spec.seeds.clone();
        seen.sort_unstable();
        seen.dedup();
        need(
            seen.len() == spec.seeds.len(),
            "seeds",
            "a seed is given twice".into(),
        );
        let mut targets: Vec<Vec<Target>> = Vec::new();
        for (i, axis) in spec.axes.iter().enumerate() {
            let at = format!("axes[{i}]");
            need(
                !axis.values.is_empty(),
                &format!("{at}.values"),
                "give at least one value".into(),
            );
            if spec.axes[..i].iter().any(|a| a.set == axis.set) {
                need(
                    false,
                    &format!("{at}.set"),
                    format!("`{}` is swept twice", axis.set),
                );
            }
            let mut ts = Vec::new();
            for (j, v) in axis.values.iter().enumerate() {
                match target(&axis.set, v, dir) {
                    Ok(t) => ts.push(t),
                    Err(m) => need(false, &format!("{at}.values[{j}]"), m),
                }
            }
            targets.push(ts);
        }
        if spec.mode == Mode::Zip {
            let lens: Vec<usize> = spec.axes.iter().map(|a| a.values.len()).collect();
            need(
                lens.windows(2).all(|w| w[0] == w[1]),
                "mode",
                format!("Zip needs axes of one length; they have {lens:?}"),
            );
        }
        let combos = match spec.mode {
            Mode::Grid => spec.axes.iter().map(|a| a.values.len()).product::<usize>(),
            Mode::Zip => spec.axes.first().map_or(1, |a| a.values.len()),
        };
        let total = combos.saturating_mul(spec.seeds.len());
        need(
            total <= MAX_POINTS,
            "axes",
            format!("{total} points; at most {MAX_POINTS}"),
        );
        if !problems.is_empty() {
            return Err(Error::Spec {
                origin: origin.to_string(),
                problems,
            });
        }
        let points = expand(&spec, &targets);
        let sweep = Sweep {
            spec,
            origin: origin.to_string(),
            program_path,
            points,
            system: None,
        };
        sweep.check_points()?;
        Ok(sweep)
    }

    /// Run every point over `system` instead: each point's chip is the system's chip
    /// (with the point's chip-config overrides), repeated over the system as one virtual
    /// chip, and its program is compiled over the system. The spec's `chip` is not
    /// used; a `chip` axis and a training job (which runs on one chip) are errors.
    pub fn on_system(mut self, system: amine_chip::system::SystemConfig) -> Result<Sweep, Error> {
        let mut problems = Vec::new();
        if let Some(i) = self.spec.axes.iter().position(|a| a.set == "chip") {
            problems.push(Problem::new(
                format!("axes[{i}].set"),
                format!(
                    "a `chip` axis cannot be swept over system `{}`: the system names its chip (`{}`)",
                    system.name, system.chip
                ),
            ));
        }
        if matches!(self.spec.job, Job::Train { .. }) {
            problems.push(Problem::new(
                "job",
                format!(
                    "a sweep over system `{}` runs Run jobs; training runs on one chip",
                    system.name
                ),
            ));
        }
        if !problems.is_empty() {
            return Err(Error::Spec {
                origin: self.origin,
                problems,
            });
        }
        self.spec.chip = system.chip.clone();
        for p in &mut self.points {
            p.chip = system.chip.clone();
        }
        self.check_points()?;
        self.system = Some(system);
        Ok(self)
    }

    /// Apply every point's overrides before anything runs.
    fn check_points(&self) -> Result<(), Error> {
        let text = std::fs::read_to_string(&self.program_path)
            .map_err(|e| Error::io(&self.program_path, &e))?;
        let program = amine_compiler::program::Program::from_ron(
            &text,
            &self.program_path.display().to_string(),
        )
        .map_err(|e| Error::Spec {
            origin: self.origin.clone(),
            problems: vec![Problem::new("program", e.to_string())],
        })?;
        let mut problems = Vec::new();
        let mut checked = std::collections::BTreeSet::new();
        for p in &self.points {
            let key = (
                p.chip.clone(),
                p.chip_sets
                    .iter()
                    .map(|s| s.text.clone())
                    .collect::<Vec<_>>(),
            );
            if checked.insert(key) {
                if let Err(e) = amine_chip::presets::resolve_with(&p.chip, &p.chip_sets) {
                    problems.push(Problem::new(self.field_of(p), e.to_string()));
                }
            }
            if let Err(e) = amine_chip::overrides::apply(&program, &p.program_sets) {
                problems.push(Problem::new(self.field_of(p), e.to_string()));
            }
            if problems.len() >= 10 {
                break;
            }
        }
        problems.dedup();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Spec {
                origin: self.origin.clone(),
                problems,
            })
        }
    }

    /// `axes` and the point's values, for an error about it.
    fn field_of(&self, p: &Point) -> String {
        let values: Vec<String> = self
            .spec
            .axes
            .iter()
            .zip(&p.labels)
            .map(|(a, l)| format!("{}={l}", a.set))
            .collect();
        if values.is_empty() {
            "chip".into()
        } else {
            format!("axes ({})", values.join(", "))
        }
    }
}

/// The target of `value` on axis `set`.
fn target(set: &str, value: &ron::Value, dir: &Path) -> Result<Target, String> {
    if set == "chip" {
        return match value {
            ron::Value::String(s) => Ok(Target::Chip(chip_path(s, dir))),
            _ => Err("a chip is a preset name or a file, as a string".into()),
        };
    }
    let json = value::from_ron(value)?;
    if let Some(path) = set.strip_prefix("program.") {
        return Set::new(path, json)
            .map(Target::ProgramSet)
            .map_err(|e| e.to_string());
    }
    Set::new(set, json)
        .map(Target::ChipSet)
        .map_err(|e| e.to_string())
}

/// A value as a short label (`[4]`, `23.6`, `loihi`).
fn label(t: &Target) -> String {
    match t {
        Target::Chip(c) => Path::new(c)
            .file_stem()
            .map_or(c.clone(), |s| s.to_string_lossy().into_owned()),
        Target::ChipSet(s) | Target::ProgramSet(s) => {
            s.value.to_string().trim_matches('"').to_string()
        }
    }
}

fn expand(spec: &Spec, targets: &[Vec<Target>]) -> Vec<Point> {
    let combos: Vec<Vec<usize>> = match spec.mode {
        Mode::Zip => (0..targets.first().map_or(1, Vec::len))
            .map(|i| vec![i; targets.len()])
            .collect(),
        Mode::Grid => {
            let mut out = vec![vec![]];
            for t in targets {
                out = out
                    .into_iter()
                    .flat_map(|c: Vec<usize>| {
                        (0..t.len()).map(move |i| {
                            let mut c = c.clone();
                            c.push(i);
                            c
                        })
                    })
                    .collect();
            }
            out
        }
    };
    let mut points = Vec::new();
    for combo in combos {
        for &seed in &spec.seeds {
            let mut p = Point {
                index: points.len(),
                chip: spec.chip.clone(),
                chip_sets: Vec::new(),
                program_sets: Vec::new(),
                seed,
                labels: Vec::new(),
            };
            for (axis, &i) in targets.iter().zip(&combo) {
                let t = &axis[i];
                p.labels.push(label(t));
                match t {
                    Target::Chip(c) => p.chip = c.clone(),
                    Target::ChipSet(s) => p.chip_sets.push(s.clone()),
                    Target::ProgramSet(s) => p.program_sets.push(s.clone()),
                }
            }
            points.push(p);
        }
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> Result<Sweep, Error> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../programs");
        let spec: Spec = amine_chip::textfmt::from_ron(text, "s.ron").unwrap();
        Sweep::new(spec, "s.ron", &dir)
    }

    #[test]
    fn a_grid_expands_axes_then_seeds() {
        let s = spec(
            "Sweep(program: \"balanced.ron\", job: Run(steps: 10), seeds: [1, 2], axes: [
               (set: \"costs.synaptic_op.energy_pj\", values: [1.0, 2.0, 3.0]),
               (set: \"core.weight_bits\", values: [[4], [8]]),
               (set: \"program.populations[exc].size\", values: [700])])",
        )
        .unwrap();
        assert_eq!(s.points.len(), 12);
        let p = &s.points[3];
        assert_eq!(
            (p.seed, p.labels.clone()),
            (2, vec!["1.0".into(), "[8]".into(), "700".into()])
        );
        assert_eq!(p.chip_sets.len(), 2);
        assert_eq!(p.program_sets[0].path, "populations[exc].size");
        assert_eq!(s.points[11].labels[0], "3.0");
    }

    #[test]
    fn zip_and_chip_axes() {
        let s = spec(
            "Sweep(program: \"balanced.ron\", job: Run(steps: 10), mode: Zip, axes: [
               (set: \"chip\", values: [\"loihi\", \"tiny\"]),
               (set: \"costs.hop_ew.energy_pj\", values: [1.0, 2.0])])",
        )
        .unwrap();
        assert_eq!(s.points.len(), 2);
        assert_eq!(
            (s.points[1].chip.as_str(), s.points[1].labels[1].as_str()),
            ("tiny", "2.0")
        );
    }

    fn problems(text: &str) -> String {
        spec(text).unwrap_err().to_string()
    }

    #[test]
    fn bad_specs_name_the_field() {
        let e = problems("Sweep(program: \"nope.ron\", job: Run(steps: 0), seeds: [1, 1])");
        assert!(
            e.contains("`program`") && e.contains("`job.steps`") && e.contains("`seeds`"),
            "{e}"
        );
        let e = problems(
            "Sweep(program: \"balanced.ron\", job: Run(steps: 5), axes: [
               (set: \"costs.synaptic_opp.energy_pj\", values: [1.0])])",
        );
        assert!(
            e.contains("`synaptic_opp` is not a field of `costs`"),
            "{e}"
        );
        let e = problems(
            "Sweep(program: \"balanced.ron\", job: Run(steps: 5), axes: [
               (set: \"core.weight_bits\", values: [[4], [17]])])",
        );
        assert!(
            e.contains("axes (core.weight_bits=[17])") && e.contains("width 17 is outside 1..=16"),
            "{e}"
        );
        let e = problems(
            "Sweep(program: \"balanced.ron\", job: Run(steps: 5), axes: [
               (set: \"modulator.boundary\", values: [Torus])])",
        );
        assert!(
            e.contains("axes[0].values[0]") && e.contains("\\\"Torus\\\"")
                || e.contains("\"Torus\""),
            "{e}"
        );
        let e = problems(
            "Sweep(program: \"balanced.ron\", job: Run(steps: 5), mode: Zip, axes: [
               (set: \"costs.hop_ew.energy_pj\", values: [1.0, 2.0]),
               (set: \"costs.hop_ns.energy_pj\", values: [1.0])])",
        );
        assert!(e.contains("Zip needs axes of one length"), "{e}");
        let e =
            problems("Sweep(program: \"balanced.ron\", job: Train(task: \"cifar\", epochs: 1))");
        assert!(e.contains("`job.task`"), "{e}");
        let e = problems(
            "Sweep(program: \"balanced.ron\", job: Run(steps: 5), axes: [
               (set: \"program.populations[nope].size\", values: [3])])",
        );
        assert!(e.contains("no entry named `nope`"), "{e}");
    }
}
