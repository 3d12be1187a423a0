//! The checks a row passes before it is written: its target coding, sorted delta
//! targets, the row exponent, and every entry's fields against the row's format.

use super::{
    mask, RowFormat, SignMode, Synapse, SynapseError, SynapseField, TargetCoding, EXPONENT_MAX,
    EXPONENT_MIN,
};

pub(super) fn check_coding(f: &RowFormat, coding: TargetCoding) -> Result<(), SynapseError> {
    match coding {
        TargetCoding::Delta { delta_bits } if !(1..=f.index_bits).contains(&delta_bits) => {
            Err(SynapseError::InvalidFormat {
                field: "delta_bits",
                value: delta_bits,
                min: 1,
                max: f.index_bits,
            })
        }
        _ => Ok(()),
    }
}

/// A delta row's targets are sorted and every delta fits `delta_bits`.
pub(super) fn check_deltas(coding: TargetCoding, synapses: &[Synapse]) -> Result<(), SynapseError> {
    let TargetCoding::Delta { delta_bits } = coding else {
        return Ok(());
    };
    let mut prev = 0u32;
    for (i, s) in synapses.iter().enumerate() {
        let entry = u32::try_from(i).unwrap_or(u32::MAX);
        let Some(delta) = s.target.checked_sub(prev) else {
            return Err(SynapseError::UnsortedTargets {
                entry,
                target: s.target,
                previous: prev,
            });
        };
        check_unsigned(entry, SynapseField::TargetDelta, delta as u64, delta_bits)?;
        prev = s.target;
    }
    Ok(())
}

pub(super) fn check_exponent(exponent: i8) -> Result<(), SynapseError> {
    if (EXPONENT_MIN..=EXPONENT_MAX).contains(&exponent) {
        Ok(())
    } else {
        Err(SynapseError::InvalidExponent { exponent })
    }
}

pub(super) fn check_unsigned(
    entry: u32,
    field: SynapseField,
    value: u64,
    bits: u8,
) -> Result<(), SynapseError> {
    let max = mask(bits as u32);
    if value > max {
        return Err(SynapseError::FieldOverflow {
            entry,
            field,
            value: value as i64,
            min: 0,
            max: max as i64,
        });
    }
    Ok(())
}

pub(super) fn check_weight(entry: u32, f: &RowFormat, w: i32) -> Result<(), SynapseError> {
    let wrong_sign = match f.sign {
        SignMode::Signed => false,
        SignMode::Excitatory => w < 0,
        SignMode::Inhibitory => w > 0,
    };
    if wrong_sign {
        return Err(SynapseError::WrongSign {
            entry,
            weight: w,
            sign: f.sign,
        });
    }
    let (min, max) = f.weight_range();
    if !(min..=max).contains(&w) {
        return Err(SynapseError::FieldOverflow {
            entry,
            field: SynapseField::Weight,
            value: w as i64,
            min: min as i64,
            max: max as i64,
        });
    }
    Ok(())
}

pub(super) fn check_tag(entry: u32, f: &RowFormat, tag: i32) -> Result<(), SynapseError> {
    let (min, max) = f.tag_range();
    if !(min..=max).contains(&tag) {
        return Err(SynapseError::FieldOverflow {
            entry,
            field: SynapseField::Tag,
            value: tag as i64,
            min: min as i64,
            max: max as i64,
        });
    }
    Ok(())
}
