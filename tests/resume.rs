//! Checkpoint and resume: a run stopped at any step, written to a checkpoint, read back
//! into a fresh simulator and continued ends bit-identical to the uninterrupted run
//! (state — spikes, weights, traces, grid, counters — the recorder, the monitors'
//! recording and every file of the report directory);
//! a child `amine run` killed with SIGKILL at a seeded moment and resumed from its last
//! checkpoint prints the identical report; SIGINT stops a run with exit code 130 and
//! leaves no report; a closed stdout ends `amine` quietly.

use amine_sim::checkpoint::{self, Identity};
use amine_sim::resume::RunBody;
use amine_sim::{
    Monitor, MonitorOptions, Record, Recorder, RunOutcome, RunReport, SimOptions, SimState,
    Simulator,
};
use proptest::prelude::*;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

mod common;
use common::{amine, root, text};

const STEPS: u32 = 48;

fn compiled(program: &str, chip: &str) -> (amine_chip::ChipConfig, amine_chip::image::ChipImage) {
    let chip = amine_chip::presets::preset(chip).unwrap();
    let path = root().join("programs").join(program);
    let image = amine_compiler::compile_file(&path, &chip)
        .unwrap()
        .image
        .into_image();
    (chip, image)
}

fn simulator(chip: &amine_chip::ChipConfig, image: &amine_chip::image::ChipImage) -> Simulator {
    let options = SimOptions {
        steps: STEPS,
        record: Record {
            spikes: true,
            latency: false,
        },
        ..SimOptions::default()
    };
    Simulator::new(chip, image, options).unwrap()
}

fn recorder(sim: &Simulator) -> Recorder {
    Recorder::new(0, sim.population_names().len(), u32::MAX, false)
}

/// Monitors sampling every 3 steps, snapshotting every 8.
const MONITORS: MonitorOptions = MonitorOptions {
    every: 3,
    snapshot_every: 8,
};

fn monitor(sim: &Simulator, image: &amine_chip::image::ChipImage, state: &SimState) -> Monitor {
    Monitor::new(sim, image, state, MONITORS, STEPS).unwrap()
}

/// The report directory's files (report.json, pictures, monitors, report.html) and the
/// outcome.
fn finish(
    sim: &Simulator,
    state: &SimState,
    rec: Recorder,
    monitor: Monitor,
) -> (Vec<amine_report::File>, RunOutcome) {
    let outcome = RunOutcome::from(rec);
    let report = RunReport::new(sim, state, &outcome);
    let files = report.files(&outcome.raster, &monitor.finish(), sim.config());
    (files, outcome)
}

/// Runs `program` to STEPS whole, and again stopped after `stop` steps, checkpointed
/// through bytes and continued in a new simulator; both must agree in everything.
fn resume_matches(program: &str, chip: &str, stop: u32) {
    let (chip, image) = compiled(program, chip);
    let mut sim = simulator(&chip, &image);
    let mut state = sim.initial_state();
    let mut rec = recorder(&sim);
    let mut mon = monitor(&sim, &image, &state);
    for _ in 0..STEPS {
        sim.step_recorded(&mut state, &mut rec);
        mon.observe(&sim, &state);
    }
    let whole_state = state.clone();
    let (whole_report, whole) = finish(&sim, &state, rec, mon);

    let id = Identity::new("run", &image, format!("steps={STEPS}"));
    let mut sim = simulator(&chip, &image);
    let mut state = sim.initial_state();
    let mut rec = recorder(&sim);
    let mut mon = monitor(&sim, &image, &state);
    for _ in 0..stop {
        sim.step_recorded(&mut state, &mut rec);
        mon.observe(&sim, &state);
    }
    let bytes = checkpoint::encode(
        &id,
        &RunBody {
            state,
            recorder: rec,
            recording: Some(mon.recording().clone()),
        },
    );
    drop(sim);
    let body: RunBody = checkpoint::decode(&bytes, "c", &id).unwrap();
    let mut sim = simulator(&chip, &image);
    sim.check_state(&body.state, "c").unwrap();
    let (mut state, mut rec) = (body.state, body.recorder);
    let mut mon = monitor(&sim, &image, &state);
    mon.resume(body.recording.unwrap(), "c").unwrap();
    while state.step < STEPS {
        sim.step_recorded(&mut state, &mut rec);
        mon.observe(&sim, &state);
    }
    assert_eq!(
        state, whole_state,
        "{program}: state after resuming at {stop}"
    );
    let (report, outcome) = finish(&sim, &state, rec, mon);
    assert_eq!(
        outcome, whole,
        "{program}: spikes and latencies after {stop}"
    );
    assert_eq!(report, whole_report, "{program}: report after {stop}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    /// Learning (R-STDP and a sum-of-products rule), the modulator grid and ALIF.
    #[test]
    fn resumed_learning_run_equals_the_uninterrupted_one(stop in 0..=STEPS) {
        resume_matches("recurrent_modulated.ron", "loihi", stop);
    }

    /// The balanced E/I network (W1).
    #[test]
    fn resumed_balanced_run_equals_the_uninterrupted_one(stop in 0..=STEPS) {
        resume_matches("balanced.ron", "loihi", stop);
    }

    /// The chip's e-prop engine (traces, readouts, error units).
    #[test]
    fn resumed_eprop_run_equals_the_uninterrupted_one(stop in 0..=STEPS) {
        resume_matches("cue_accumulation.ron", "loihi-eprop", stop);
    }
}

#[test]
fn a_checkpoint_of_another_run_or_a_damaged_one_is_refused() {
    let (chip, image) = compiled("balanced.ron", "loihi");
    let sim = simulator(&chip, &image);
    let body = RunBody {
        state: sim.initial_state(),
        recorder: recorder(&sim),
        recording: None,
    };
    let id = Identity::new("run", &image, "steps=48".into());
    let bytes = checkpoint::encode(&id, &body);
    let other = Identity::new("run", &image, "steps=49".into());
    let e = checkpoint::decode::<RunBody>(&bytes, "c", &other).unwrap_err();
    assert!(e.to_string().contains("steps=48"), "{e}");
    let (_, image2) = compiled("layered.ron", "loihi");
    let e = checkpoint::decode::<RunBody>(
        &bytes,
        "c",
        &Identity::new("run", &image2, "steps=48".into()),
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("belongs to program `balanced`"),
        "{e}"
    );
    let e = checkpoint::decode::<RunBody>(&bytes[..bytes.len() - 1], "c", &id).unwrap_err();
    assert!(e.to_string().contains("truncated"), "{e}");
    // A well-formed checkpoint whose state has the wrong shape fails the shape check.
    let mut wrong = body.clone();
    wrong.state.cores[0].v.pop();
    let bytes = checkpoint::encode(&id, &wrong);
    let back: RunBody = checkpoint::decode(&bytes, "c", &id).unwrap();
    let e = sim.check_state(&back.state, "c").unwrap_err();
    assert!(e.to_string().contains("core 0: v"), "{e}");
}

fn run_json(args: &[&str]) -> String {
    let out = amine(args);
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    text(&out.stdout)
}

/// Kill `amine run --checkpoint` with SIGKILL once its first checkpoint exists plus a
/// seeded delay, resume it (again and again if needed), and compare with the whole run.
#[test]
fn a_run_killed_with_sigkill_resumes_to_the_identical_report() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("run.ckpt");
    let ckpt_s = ckpt.to_str().unwrap();
    let steps = "120000";
    let base = ["run", "programs/balanced.ron", "--steps", steps, "--json"];
    let whole = run_json(&base);
    // Seeded delays (an LCG: no unseeded randomness).
    let mut seed: u64 = 0x5eed_1e16;
    let mut delay = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        Duration::from_millis((seed >> 33) % 150)
    };
    let mut resume = false;
    for attempt in 0..20 {
        let mut args: Vec<&str> = base.to_vec();
        args.extend(["--checkpoint", ckpt_s, "--checkpoint-every", "7000"]);
        if resume {
            args.extend(["--resume", ckpt_s]);
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_amine"))
            .args(&args)
            .current_dir(root())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        if attempt < 3 {
            // Wait for a checkpoint newer than the one resumed from, then a while more.
            let before = std::fs::metadata(&ckpt).and_then(|m| m.modified()).ok();
            for _ in 0..2000 {
                let now = std::fs::metadata(&ckpt).and_then(|m| m.modified()).ok();
                if now.is_some() && now != before {
                    break;
                }
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            std::thread::sleep(delay());
            let _ = child.kill(); // SIGKILL
        }
        let out = child.wait_with_output().unwrap();
        if out.status.success() {
            assert_eq!(text(&out.stdout), whole, "resumed after {attempt} kills");
            assert!(attempt > 0, "the run was never killed");
            return;
        }
        resume = Path::new(&ckpt).exists();
    }
    panic!("the run never finished");
}

#[test]
fn sigint_stops_a_run_with_a_checkpoint_and_no_report() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("c.ckpt");
    let report = dir.path().join("report");
    let child = Command::new(env!("CARGO_BIN_EXE_amine"))
        .args(["run", "programs/balanced.ron", "--steps", "4000000000"])
        .args(["--checkpoint", ckpt.to_str().unwrap()])
        .args(["--checkpoint-every", "1000000000", "--report"])
        .arg(&report)
        .current_dir(root())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The report's raster is recorded from the start: wait until the run has begun.
    std::thread::sleep(Duration::from_millis(700));
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted after step"), "{err}");
    assert!(ckpt.exists(), "{err}");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        vec!["c.ckpt".to_string()],
        "only the checkpoint remains"
    );
}

#[test]
fn a_closed_stdout_ends_amine_quietly() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_amine"))
        .args(["demo", "--steps", "50"])
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away, like `| head -0`
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("panicked"));
}

/// A report directory that holds other files and no earlier report is refused before
/// the run, named once, and left as it was; nothing is written beside it.
#[test]
fn a_report_that_cannot_be_written_leaves_nothing_and_names_the_path_once() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r");
    std::fs::create_dir_all(report.join("latency.svg")).unwrap();
    let out = amine(&[
        "run",
        "programs/balanced.ron",
        "--steps",
        "20",
        "--report",
        report.to_str().unwrap(),
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.matches(report.to_str().unwrap()).count(), 1, "{err}");
    let mut names: Vec<_> = std::fs::read_dir(&report)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec!["latency.svg".to_string()],
        "nothing else written"
    );
    let siblings = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(siblings, 1, "no temporary directory left");
}

/// An e-prop study checkpoints its finished runs; resumed, it reports the same study,
/// and a checkpoint of another study is refused.
#[test]
fn an_eprop_study_resumes_from_its_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("study.ckpt");
    let c = ckpt.to_str().unwrap();
    let study = |extra: &[&str]| {
        let mut args = vec![
            "train",
            "--task",
            "cue-accumulation",
            "--condition",
            "diffusion,full",
            "--trials",
            "32",
            "--batch",
            "32",
            "--eval-trials",
            "4",
            "--json",
        ];
        args.extend_from_slice(extra);
        amine(&args)
    };
    let whole = study(&["--checkpoint", c]);
    assert!(whole.status.success(), "{}", text(&whole.stderr));
    assert!(ckpt.exists());
    let resumed = study(&["--resume", c]);
    assert!(resumed.status.success(), "{}", text(&resumed.stderr));
    assert_eq!(text(&resumed.stdout), text(&whole.stdout));
    let other = study(&["--resume", c, "--seed", "2"]);
    assert_eq!(other.status.code(), Some(1));
    assert!(
        text(&other.stderr).contains("does not fit"),
        "{}",
        text(&other.stderr)
    );
}
