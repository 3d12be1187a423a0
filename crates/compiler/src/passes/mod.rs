//! The passes, one per file, in pipeline order. Each reads the [`Compilation`]
//! (crate::context::Compilation) fields earlier passes filled and fills its own; the
//! verifier (`crate::verify`) checks the result before the next pass runs.
//!
//! parse → validate → sigprop → expand → quantize → partition → place → route → eprop → emit

pub mod emit;
pub mod eprop;
pub mod expand;
pub mod parse;
pub mod partition;
pub mod place;
pub mod quantize;
pub mod route;
pub mod sigprop;
pub mod validate;
