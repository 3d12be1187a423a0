//! amine-sim
