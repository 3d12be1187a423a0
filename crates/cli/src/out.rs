//! Printing where a closed stdout or stderr ends the program quietly.
//!
//! `amine demo | head -1` closes the pipe after one line. The standard `print!` then
//! panics (exit 101); [`out`] and [`err`] instead end the process with exit code 0 when
//! the reader has gone (`EPIPE`) — the output nobody reads is the only thing lost,
//! since every file amine writes is complete before anything is printed about it — and
//! with exit code 1 on any other write error (a full disk behind a redirection).

use std::io::Write;

fn failed(e: std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    // stderr may be the failing stream too: try once, ignore the outcome.
    let _ = writeln!(std::io::stderr(), "error: writing the output: {e}");
    std::process::exit(1);
}

/// Write to stdout (see the module docs).
pub fn out(args: std::fmt::Arguments) {
    let mut o = std::io::stdout().lock();
    if let Err(e) = o.write_fmt(args).and_then(|()| o.flush()) {
        failed(e);
    }
}

/// Write to stderr (see the module docs).
pub fn err(args: std::fmt::Arguments) {
    if let Err(e) = std::io::stderr().lock().write_fmt(args) {
        failed(e);
    }
}
