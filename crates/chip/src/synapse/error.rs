//! Errors of the synapse memory: every refusal names the entry, field and limits.

use super::{SignMode, EXPONENT_MAX, EXPONENT_MIN};
use std::fmt;

/// A field of an entry, named in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SynapseField {
    Target,
    /// The distance of a delta row's target from the previous one.
    TargetDelta,
    Weight,
    Delay,
    Tag,
}

impl fmt::Display for SynapseField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SynapseField::Target => "target",
            SynapseField::TargetDelta => "target delta",
            SynapseField::Weight => "weight",
            SynapseField::Delay => "delay",
            SynapseField::Tag => "tag",
        })
    }
}

/// Why a synapse-memory operation was refused. A refused operation changes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SynapseError {
    /// A [`RowFormat`](super::RowFormat) width is outside what the memory supports.
    InvalidFormat {
        field: &'static str,
        value: u8,
        min: u8,
        max: u8,
    },
    /// A row exponent is outside [`EXPONENT_MIN`]`..=`[`EXPONENT_MAX`].
    InvalidExponent { exponent: i8 },
    /// A value does not fit its field (entry `entry` of the row being written).
    FieldOverflow {
        entry: u32,
        field: SynapseField,
        value: i64,
        min: i64,
        max: i64,
    },
    /// A weight whose sign contradicts its row's [`SignMode`].
    WrongSign {
        entry: u32,
        weight: i32,
        sign: SignMode,
    },
    /// A delta row's targets must not decrease.
    UnsortedTargets {
        entry: u32,
        target: u32,
        previous: u32,
    },
    /// The row does not fit in what is left of the memory.
    CapacityExceeded {
        needed_bits: u64,
        free_bits: u64,
        capacity_bits: u64,
    },
    /// Row ids are `u32`: no further row can be numbered.
    TooManyRows,
    /// No row with this id.
    NoSuchRow { row: u32, rows: usize },
    /// The row has no entry with this index.
    NoSuchEntry { row: u32, entry: u32, len: u32 },
}

impl fmt::Display for SynapseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SynapseError::InvalidFormat {
                field,
                value,
                min,
                max,
            } => write!(f, "row format: {field} = {value} is outside {min}..={max}"),
            SynapseError::InvalidExponent { exponent } => write!(
                f,
                "row exponent {exponent} is outside {EXPONENT_MIN}..={EXPONENT_MAX}"
            ),
            SynapseError::FieldOverflow {
                entry,
                field,
                value,
                min,
                max,
            } => write!(
                f,
                "synapse {entry}: {field} {value} does not fit its field ({min}..={max})"
            ),
            SynapseError::WrongSign {
                entry,
                weight,
                sign,
            } => write!(
                f,
                "synapse {entry}: weight {weight} has the wrong sign for a {sign:?} row"
            ),
            SynapseError::UnsortedTargets {
                entry,
                target,
                previous,
            } => write!(
                f,
                "synapse {entry}: target {target} below the previous target {previous} in a delta-coded row"
            ),
            SynapseError::CapacityExceeded {
                needed_bits,
                free_bits,
                capacity_bits,
            } => write!(
                f,
                "synapse memory full: the row needs {needed_bits} bits, \
                 {free_bits} of {capacity_bits} are left"
            ),
            SynapseError::TooManyRows => f.write_str("no row id left (rows are numbered by u32)"),
            SynapseError::NoSuchRow { row, rows } => {
                write!(f, "row {row} does not exist ({rows} rows)")
            }
            SynapseError::NoSuchEntry { row, entry, len } => {
                write!(f, "row {row} has no entry {entry} ({len} entries)")
            }
        }
    }
}

impl std::error::Error for SynapseError {}
