//! The `amine` command: a thin layer of argument parsing and printing over the
//! amine-chip, amine-compiler and amine-sim libraries.
//!
//! `main()` only maps [`run`]'s outcome to an exit code: 0 on success, 1 on any error
//! (printed to stderr with its full chain), 2 for command-line usage errors (clap), 130
//! when SIGINT or SIGTERM stopped a run (`signals`). A closed stdout or stderr ends
//! the process quietly (`out`).

/// `print!` that ends quietly when stdout is closed (see `out.rs`).
macro_rules! out {
    ($($t:tt)*) => { $crate::out::out(format_args!($($t)*)) };
}
/// `println!` that ends quietly when stdout is closed (see `out.rs`).
macro_rules! outln {
    () => { $crate::out::out(format_args!("\n")) };
    ($($t:tt)*) => { $crate::out::out(format_args!("{}\n", format_args!($($t)*))) };
}
/// `eprintln!` that ends quietly when stderr is closed (see `out.rs`).
macro_rules! errln {
    () => { $crate::out::err(format_args!("\n")) };
    ($($t:tt)*) => { $crate::out::err(format_args!("{}\n", format_args!($($t)*))) };
}

mod args;
mod cmd;
mod out;
mod signals;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    match in_pool(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // Another MPI rank failed and rank 0 said why (`amine run --mpi`).
        Err(e) if e.downcast_ref::<cmd::run_mpi::Quiet>().is_some() => ExitCode::FAILURE,
        Err(e) => {
            errln!("error: {e}");
            for cause in e.chain().skip(1) {
                errln!("  caused by: {cause}");
            }
            if e.downcast_ref::<signals::Interrupted>().is_some() {
                ExitCode::from(signals::EXIT_INTERRUPTED)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// Run the command inside the process's one thread pool, of `--threads` workers (one
/// for commands without the option): every parallel phase of the compiler and the
/// simulator runs on it, and with one worker everything runs on it inline.
fn in_pool(cli: args::Cli) -> anyhow::Result<()> {
    let threads = match &cli.command {
        args::Command::Compile { threads, .. } => *threads,
        args::Command::Run(a) => a.threads,
        args::Command::Train(a) => a.threads,
        args::Command::Sweep(a) => a.threads,
        args::Command::Compare(a) => a.threads,
        _ => 1,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        // The main thread's size: deeply nested program text parses recursively.
        .stack_size(8 << 20)
        .thread_name(|i| format!("amine-{i}"))
        .build()?;
    pool.install(|| run(cli))
}

fn run(cli: args::Cli) -> anyhow::Result<()> {
    match cli.command {
        args::Command::Chip { command } => cmd::chip::run(command),
        args::Command::Compile {
            program,
            chip,
            system,
            output,
            json,
            dt,
            set,
            mapping,
            threads: _,
        } => cmd::compile::run(
            &program,
            cmd::compile::Target::from_args(chip.as_deref(), system.as_deref())?,
            &set,
            &output,
            json.as_deref(),
            dt,
            &mapping,
        ),
        args::Command::Nir { command } => cmd::nir::run(command),
        args::Command::Image { command } => cmd::image::run(command),
        args::Command::Run(a) => cmd::run::run(a),
        args::Command::Demo(a) => cmd::demo::run(a),
        args::Command::Bench(a) => cmd::bench::run(a),
        args::Command::Train(a) => cmd::train::run(a),
        args::Command::Rules(a) => cmd::rules::run(a),
        args::Command::Template(a) => cmd::template::template(a),
        args::Command::Sweep(a) => cmd::sweep::sweep(a),
        args::Command::Compare(a) => cmd::sweep::compare(a),
        args::Command::Data { command } => cmd::data::run(command),
    }
}
