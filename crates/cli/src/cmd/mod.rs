//! One module per subcommand.
pub mod chip;
pub mod bench;
pub mod demo;
pub mod run;
