//! One module per subcommand.
pub mod bench;
pub mod chip;
pub mod compile;
pub mod data;
pub mod demo;
pub mod hints;
pub mod image;
pub mod nir;
pub mod rules;
pub mod run;
pub mod run_mpi;
pub mod run_system;
pub mod sweep;
pub mod template;
pub mod template_ff;
pub mod train;
