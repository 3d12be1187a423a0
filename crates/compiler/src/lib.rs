//! amine-compiler
