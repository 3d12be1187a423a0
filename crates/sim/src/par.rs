//! The thread pool of the per-core phases: rayon's global pool (the command line sizes
//! it with `--threads`), used only when the run asks for more than one thread.
//!
//! **Invariant**: every call gives each index its own elements and nothing else, so a
//! result never depends on the thread count or the order in which indices run.

use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Most indices one task of [`zip2`] / [`zip3`] runs before it lets the other threads
/// take the rest. Rayon alone stops splitting a range no thread has stolen at
/// blocks of a quarter of it on two threads (32 of W2's 128 cores), so the thread that finishes first
/// could wait for a whole such block at the end of every phase; blocks of this many
/// cores leave at most about 1/32 of a phase to the end, for ~30 more task pushes a
/// phase (tens of nanoseconds each). Changes no result (see the invariant).
const GRAIN: usize = 4;

/// Run `f(k, &mut a[k])` for every `k`: inline when `threads` is 1, else split over
/// the pool in blocks of at most [`GRAIN`].
pub(crate) fn each<A: Send>(threads: usize, a: &mut [A], f: impl Fn(usize, &mut A) + Sync) {
    if threads <= 1 || a.len() <= 1 {
        a.iter_mut().enumerate().for_each(|(k, x)| f(k, x));
        return;
    }
    a.par_iter_mut()
        .enumerate()
        .with_max_len(GRAIN)
        .for_each(|(k, x)| f(k, x));
}

/// Run `f(k, &mut a[k], &mut b[k])` for every `k`: inline when `threads` is 1, else
/// split over the pool.
pub(crate) fn zip2<A: Send, B: Send>(
    threads: usize,
    a: &mut [A],
    b: &mut [B],
    f: impl Fn(usize, &mut A, &mut B) + Sync,
) {
    if threads <= 1 || a.len() <= 1 {
        for (k, (x, y)) in a.iter_mut().zip(b.iter_mut()).enumerate() {
            f(k, x, y);
        }
        return;
    }
    a.par_iter_mut()
        .zip(b.par_iter_mut())
        .enumerate()
        .with_max_len(GRAIN)
        .for_each(|(k, (x, y))| f(k, x, y));
}

/// [`zip2`] over three slices: `f(k, &mut a[k], &mut b[k], &mut c[k])`.
pub(crate) fn zip3<A: Send, B: Send, C: Send>(
    threads: usize,
    a: &mut [A],
    b: &mut [B],
    c: &mut [C],
    f: impl Fn(usize, &mut A, &mut B, &mut C) + Sync,
) {
    if threads <= 1 || a.len() <= 1 {
        for (k, ((x, y), z)) in a.iter_mut().zip(b.iter_mut()).zip(c.iter_mut()).enumerate() {
            f(k, x, y, z);
        }
        return;
    }
    a.par_iter_mut()
        .zip(b.par_iter_mut())
        .zip(c.par_iter_mut())
        .enumerate()
        .with_max_len(GRAIN)
        .for_each(|(k, ((x, y), z))| f(k, x, y, z));
}

/// Append to `out`, in increasing order, every `i < n` with `keep(i)`: inline when
/// `threads` is 1 or `n` is small, else split over the pool in blocks.
pub(crate) fn filter_range(
    threads: usize,
    n: u32,
    out: &mut Vec<u32>,
    keep: impl Fn(u32) -> bool + Sync,
) {
    const SERIAL_BELOW: u32 = 4096;
    if threads <= 1 || n < SERIAL_BELOW {
        out.extend((0..n).filter(|&i| keep(i)));
        return;
    }
    out.par_extend(
        (0..n)
            .into_par_iter()
            .with_min_len(1024)
            .filter(|&i| keep(i)),
    );
}

/// Spins of [`KeepAwake`]'s task at most: a bound (about a millisecond), so that a task
/// nobody releases cannot hold a worker for longer.
const AWAKE_SPINS: u32 = 1 << 16;

/// Keeps one idle worker of the pool spinning, not asleep, while the thread that holds
/// it runs a serial stretch between two parallel phases, until dropped (or for at most
/// [`AWAKE_SPINS`] spins). A sleeping worker needs a wake-up (a futex call, tens of
/// microseconds on a virtual machine) at the next phase; the pool's own idle spin ends
/// after a few microseconds, shorter than the step's serial stretches. This is the
/// active wait of OpenMP runtimes (`OMP_WAIT_POLICY=active`). Changes no result: the
/// task only reads a flag.
///
/// **Invariant**: no parallel call may run while it is held: the worker is busy
/// spinning (and the holder could pick the task itself from its own queue).
#[derive(Debug, Default)]
pub(crate) struct KeepAwake(Option<Arc<AtomicBool>>);

impl KeepAwake {
    /// Start keeping a worker awake (nothing with one thread).
    pub(crate) fn new(threads: usize) -> KeepAwake {
        if threads <= 1 {
            return KeepAwake(None);
        }
        let done = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&done);
        rayon::spawn(move || {
            for _ in 0..AWAKE_SPINS {
                if flag.load(Ordering::Acquire) {
                    return;
                }
                std::hint::spin_loop();
            }
        });
        KeepAwake(Some(done))
    }
}

impl Drop for KeepAwake {
    fn drop(&mut self) {
        if let Some(done) = &self.0 {
            done.store(true, Ordering::Release);
        }
    }
}
