//! amine-sim: the timestep-synchronous, cycle-level simulator of amine chip images.
//!
//! A [`Simulator`] runs a [`ChipImage`](amine_chip::image::ChipImage) on the
//! [`ChipConfig`](amine_chip::ChipConfig) it was compiled for, step by step like the
//! hardware: spikes emitted in step `t` act in step `t + 1`, so the functional result
//! never depends on timing. Within a step, cores are busy-until counters and packets
//! cross the mesh hop by hop, in one of two [`Timing`] modes that share the functional
//! model (identical spikes and energy, different latencies). Every hardware event is
//! counted per core and per kind ([`Counts`]); energy is `count × cost` from the chip's
//! cost table, plus static power over the simulated time. A [`RunReport`] gathers
//! energy by component and core, latency per step, NoC and spike statistics, and
//! renders JSON, a terminal table, a raster CSV and SVG pictures.
//!
//! Results are bit-identical for any thread count and across runs.
//!
//! ```
//! use amine_chip::image::{AxonTarget, ChipImage, ChipStamp, CoreImage, ModulatorImage};
//! use amine_chip::neuron::{lif::LifParams, NeuronParams};
//! use amine_chip::synapse::SynapseMemory;
//! use amine_sim::{SimOptions, Simulator};
//!
//! // One core, one LIF compartment driven by its bias, with no synapses.
//! let chip = amine_chip::presets::preset("tiny").unwrap();
//! let lif = LifParams { du: 4095, dv: 0, vth: 10, bias_mant: 100, bias_exp: 0, refractory: 0 };
//! let image = ChipImage {
//!     version: amine_chip::image::IMAGE_VERSION,
//!     chip: ChipStamp::of(&chip),
//!     program: "doc".into(),
//!     cores: vec![CoreImage {
//!         id: 0,
//!         profiles: vec![NeuronParams::Lif(lif)],
//!         compartments: vec![0],
//!         synapses: SynapseMemory::new(chip.core.word_bits, chip.core.synapse_memory_bits),
//!         fanout_offsets: vec![0, 0],
//!         fanout: Vec::<AxonTarget>::new(),
//!         plastic_rows: vec![],
//!         population: None,
//!     }],
//!     inputs: vec![],
//!     populations: vec![],
//!     probes: vec![],
//!     modulator: ModulatorImage::default(),
//!     learning: vec![],
//!     eprop: None,
//!     sigprop: None,
//! };
//! let mut sim = Simulator::new(&chip, &image, SimOptions { steps: 20, ..SimOptions::default() }).unwrap();
//! let mut state = sim.initial_state();
//! let outcome = sim.run(&mut state, |_, _| {});
//! let report = amine_sim::RunReport::new(&sim, &state, &outcome);
//! assert_eq!(state.total_counts().neuron_active, 20);
//! assert!(report.energy.total_pj > 0.0);
//! ```

pub mod checkpoint;
pub mod energy;
mod engine;
pub mod eprop;
pub mod error;
pub mod inputs;
mod kernels;
mod learning;
pub mod learning_eprop;
pub mod learning_sigprop;
pub mod links;
pub mod monitor;
pub mod options;
mod page;
mod par;
mod pictures;
mod population;
pub mod power;
pub mod ranks;
pub mod record;
pub mod report;
pub mod resume;
mod spike_out;
pub mod state;
mod synapses;
mod system_report;
mod tables;
mod timing;

pub use energy::{ChipCounts, Components, Counts};
pub use engine::{
    PhaseTimes, RunOutcome, Simulator, Spike, StepTiming, PHASE_NAMES, PHASE_PARALLEL,
};
pub use error::{Error, ErrorKind};
pub use inputs::{parse_csv, ExternalSpikes};
pub use links::{LinkCounts, SystemCounts};
pub use monitor::{Monitor, MonitorOptions, Recording};
pub use options::{Record, SimOptions, Timing};
pub use power::Powered;
pub use ranks::{chips_of_rank, Exchange};
pub use record::{LatencyStats, Recorder};
pub use report::{energy_so_far, RunReport};
pub use state::{CoreState, HostRegisters, PlasticState, PostTraces, SimState};
pub use system_report::{ChipRun, LinkRun, SystemRun};
