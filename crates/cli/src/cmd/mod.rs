//! One module per subcommand.
pub mod chip;
pub mod compile;
pub mod image;
pub mod nir;
