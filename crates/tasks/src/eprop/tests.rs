//! Tests of the e-prop reference.
