//! One module per subcommand.
pub mod chip;
