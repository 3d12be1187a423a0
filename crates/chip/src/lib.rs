//! amine-chip: the hardware model of an amine neuromorphic chip.
//!
//! This crate knows what a chip *is*, never how a network is mapped onto it (that is
//! amine-compiler) nor how a run unfolds in time (that is amine-sim). It holds:
//!
//! - [`config`]: the typed chip configuration read from RON, with [`presets`];
//! - [`neuron`]: the fixed-point compartments (Loihi CUBA LIF, ALIF, graded units);
//! - [`synapse`]: bit-packed synapse memory;
//! - [`modgrid`]: the diffusing modulator grid;
//! - [`units`]: cycles, picojoules and milliwatts as distinct types.
//!
//! ```
//! let chip = amine_chip::presets::preset("loihi").unwrap();
//! assert_eq!(chip.cores(), 128);
//! assert_eq!(chip.compartments(), 131_072);
//!
//! // One Loihi LIF compartment driven by a constant bias spikes periodically.
//! use amine_chip::neuron::lif::{LifParams, LifState};
//! let p = LifParams { du: 4095, dv: 0, vth: 10, bias_mant: 100, bias_exp: 0, refractory: 0 };
//! let mut s = LifState::default();
//! let spikes = (0..20).filter(|_| s.step(&p, 0)).count();
//! assert!(spikes > 0);
//! ```

pub mod bounded;
pub mod config;
pub mod csvread;
pub mod error;
pub mod identity;
pub mod image;
pub mod learning;
pub mod modgrid;
pub mod neuron;
pub mod overrides;
pub mod presets;
pub mod ranges;
pub mod synapse;
pub mod system;
pub mod system_layout;
pub mod textfmt;
pub mod units;

pub use config::ChipConfig;
pub use error::{Error, ErrorKind, Problem};
pub use identity::ChipIdentity;
