//! End-to-end tests of `amine run --system S --mpi` under `mpirun` (the `mpi` feature):
//! the JSON report over 2 and 4 ranks is the single-process report byte for byte, in
//! both timing modes, for an image, a program compiled on every rank and a learning
//! network; bad input (unknown system, a network that does not fit, ranks given
//! different options, more ranks than chips) ends every rank non-zero, within a time
//! bound, with one error message from rank 0.
//!
//! Skipped, saying so, when `mpirun` is not on the PATH. `AMINE_MPI_RANKS` (default
//! `2 4`) sets the rank counts.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::{amine, root, text};

/// A 2 × 2 mesh of Loihi-like chips cut to 4 × 2 tiles (32 cores each; with
/// `SMALL`), so W1 spread at 8 neurons a core fills all four chips.
const QUAD: &str =
    "System(name: \"quad\", chip: \"loihi\", topology: Mesh(chips_x: 2, chips_y: 2), \
    link: (latency_ns: 100.0, energy_pj_per_packet: 50.0, energy_pj_per_flit: 10.0, flit_bits: 32, \
    bandwidth_gbit_s: 2.0))";
const SMALL: [&str; 4] = ["--set", "mesh.tiles_x=4", "--set", "mesh.tiles_y=2"];

fn mpirun() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("mpirun"))
        .find(|p| p.is_file())
}

/// Whether `mpirun` is on the PATH; if not, says the test is skipped and why.
fn mpirun_found() -> bool {
    let found = mpirun().is_some();
    if !found {
        eprintln!("skipped: mpirun is not on the PATH (install openmpi-bin and build with --features mpi)");
    }
    found
}

fn ranks() -> Vec<u32> {
    std::env::var("AMINE_MPI_RANKS")
        .unwrap_or_else(|_| "2 4".into())
        .split_whitespace()
        .map(|n| n.parse().expect("AMINE_MPI_RANKS: rank counts"))
        .collect()
}

/// `mpirun` with `n` ranks of `amine args` (each rank's own command line: `per_rank`),
/// bounded by `timeout` when it exists; Open MPI is told not to abort the other ranks
/// when one exits non-zero, so each rank's exit status can be seen.
fn mpi(per_rank: &[(u32, Vec<String>)], dir: &Path) -> Output {
    let mut cmd = Command::new("timeout");
    let have_timeout = Command::new("timeout").arg("--help").output().is_ok();
    if !have_timeout {
        cmd = Command::new("mpirun");
    } else {
        cmd.args(["300", "mpirun"]);
    }
    cmd.args([
        "--oversubscribe",
        "--allow-run-as-root",
        "--mca",
        "orte_abort_on_non_zero_status",
        "0",
    ]);
    // Each rank writes its exit status to `dir/status.<rank>` (Open MPI and MPICH
    // name the rank differently).
    let script = format!(
        "\"$0\" \"$@\"; s=$?; echo $s > {}/status.${{OMPI_COMM_WORLD_RANK:-$PMI_RANK}}; exit 0",
        dir.display()
    );
    for (i, (n, args)) in per_rank.iter().enumerate() {
        if i > 0 {
            cmd.arg(":");
        }
        cmd.args([
            "-n",
            &n.to_string(),
            "sh",
            "-c",
            &script,
            env!("CARGO_BIN_EXE_amine"),
        ]);
        cmd.args(args);
    }
    cmd.current_dir(root()).output().expect("mpirun runs")
}

/// Every rank's exit status, in rank order.
fn statuses(dir: &Path, n: u32) -> Vec<i32> {
    (0..n)
        .map(|r| {
            let s = std::fs::read_to_string(dir.join(format!("status.{r}")))
                .unwrap_or_else(|_| panic!("rank {r} left no exit status"));
            std::fs::remove_file(dir.join(format!("status.{r}"))).unwrap();
            s.trim().parse().unwrap()
        })
        .collect()
}

/// Groups of ranks and the command line each group runs (an MPMD launch).
type Launch = Vec<(u32, Vec<String>)>;

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn reports_over_ranks_are_the_single_process_report_byte_for_byte() {
    if !mpirun_found() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let quad = dir.path().join("quad.ron");
    std::fs::write(&quad, QUAD).unwrap();
    let (img, rm) = (dir.path().join("w1.img"), dir.path().join("rm.img"));
    let spread = ["--max-per-core", "exc=8", "--max-per-core", "inh=8"];
    for (program, out, hints) in [
        ("programs/balanced.ron", &img, spread),
        (
            "programs/recurrent_modulated.ron",
            &rm,
            ["--max-per-core", "rec_e=2", "--max-per-core", "rec_i=2"],
        ),
    ] {
        let mut a = vec!["compile", program, "--system", s(&quad), "-o", s(out)];
        a.extend(SMALL);
        a.extend(hints);
        let o = amine(&a);
        assert!(o.status.success(), "{}", text(&o.stderr));
        assert!(
            text(&o.stdout).contains("cores used per chip: 32, "),
            "{}",
            text(&o.stdout)
        );
    }
    // (target, extra arguments, timing): an image in both modes, a program (compiled
    // by every rank), a learning network with a modulator grid.
    let cases: Vec<(&Path, Vec<&str>, &str)> = vec![
        (&img, vec![], "analytic"),
        (&img, vec![], "cycle"),
        (
            Path::new("programs/balanced.ron"),
            spread.to_vec(),
            "analytic",
        ),
        (&rm, vec![], "cycle"),
    ];
    for (target, extra, timing) in cases {
        let mut a = vec![
            "run",
            s(target),
            "--system",
            s(&quad),
            "--steps",
            "120",
            "--timing",
            timing,
            "--json",
        ];
        a.extend(SMALL);
        a.extend(extra);
        let one = amine(&a);
        assert!(one.status.success(), "{}", text(&one.stderr));
        assert!(text(&one.stdout).contains("\"per_link\""));
        a.push("--mpi");
        for n in ranks() {
            let o = mpi(&[(n, args(&a))], dir.path());
            assert!(o.status.success(), "{n} ranks: {}", text(&o.stderr));
            assert_eq!(statuses(dir.path(), n), vec![0; n as usize]);
            assert!(
                one.stdout == o.stdout,
                "{} over {n} ranks, {timing}: the report differs from one process's",
                target.display()
            );
            // The per-rank figures go to stderr, one row per rank.
            let err = text(&o.stderr);
            assert!(err.contains(&format!("mpi: {n} ranks, 120 steps")), "{err}");
        }
    }
}

#[test]
fn bad_input_ends_every_rank_non_zero_with_one_message() {
    if !mpirun_found() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let quad = dir.path().join("quad.ron");
    std::fs::write(&quad, QUAD).unwrap();
    let base = |steps: &str| {
        let mut a = args(&[
            "run",
            "programs/balanced.ron",
            "--system",
            s(&quad),
            "--steps",
            steps,
            "--mpi",
        ]);
        a.extend(args(&SMALL));
        a.extend(args(&[
            "--max-per-core",
            "exc=8",
            "--max-per-core",
            "inh=8",
        ]));
        a
    };
    // One neuron a core: 1,000 cores for a system of 128.
    let mut too_big = base("10");
    let at = too_big.iter().position(|a| a == "exc=8").unwrap();
    too_big[at] = "exc=1".into();
    let unknown = args(&[
        "run",
        "programs/balanced.ron",
        "--system",
        "no-such-board",
        "--mpi",
    ]);
    // (ranks and their command lines, what rank 0 says)
    let cases: Vec<(Launch, &str)> = vec![
        (
            vec![(2, unknown)],
            "`no-such-board` is neither a system preset",
        ),
        (vec![(2, too_big)], "does not fit"),
        (
            vec![(1, base("10")), (1, base("11"))],
            "the ranks disagree on their inputs (rank 1: run options",
        ),
        (vec![(5, base("10"))], "5 ranks for a system of 4 chip(s)"),
    ];
    for (per_rank, says) in cases {
        let n: u32 = per_rank.iter().map(|p| p.0).sum();
        let o = mpi(&per_rank, dir.path());
        let err = text(&o.stderr);
        assert_eq!(statuses(dir.path(), n), vec![1; n as usize], "{err}");
        assert!(err.contains(says), "{err}");
        assert_eq!(
            err.matches("error: ").count(),
            1,
            "one message, from rank 0: {err}"
        );
        assert!(o.stdout.is_empty(), "no report: {}", text(&o.stdout));
    }
}
