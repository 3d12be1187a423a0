//! The f64 reference of a shared dual-stream program (`amine template ed --routing
//! modulo`): the same network read back from the program, for `amine_tasks::dual_ed`.
//!
//! What is read: the hidden layers (`l1e`, `l2e`, … sizes), each layer's sigmoid width
//! (`u0 / (WEIGHT_SCALE · PAYLOAD_MAX)`), η (from the first layer's rule scale
//! `K = η·(2/α_1)/fan_in·WEIGHT_SCALE`, which the template rounds to an 8-bit mantissa),
//! the error units' centring rate and the initial stream factors (the largest initial
//! magnitude of `x_e → l1e` and `x_i → l1e`, times `√fan_in`). The chip learns one
//! sample at a time, so the reference runs batches of one at a constant rate, with
//! the chip's biases: a constant input unit ([`BIAS`](crate::ed::BIAS), appended by
//! [`amine_tasks::dual_ed::with_bias_unit`]) and no layer biases.

use amine_compiler::program::{Connect, Model, Program, Weight};
use amine_compiler::templates::{PAYLOAD_MAX, WEIGHT_SCALE};
use amine_tasks::dual_ed::{patch, AsymmetricInit, Centring, DualEdConfig, Hidden, Ingredients};

/// Whether `program` is a shared dual-stream program (`amine template ed --routing
/// modulo`): it has the first hidden layer's excitatory stream `l1e`, with or without
/// centring in its error units.
pub fn is_dual_stream(program: &Program) -> bool {
    program.populations.iter().any(|p| p.name == "l1e")
}

/// The reference configuration of `program`, or `None` when it is not a shared
/// dual-stream program (no `l1e`).
pub fn float_config(program: &Program, epochs: usize, seed: u64) -> Option<DualEdConfig> {
    let pop = |name: &str| program.populations.iter().find(|p| p.name == name);
    let width = |name: &str| match pop(name)?.model {
        Model::Graded { u0, .. } => Some(u0 / (WEIGHT_SCALE * PAYLOAD_MAX)),
        _ => None,
    };
    let mut hidden: Vec<Hidden> = Vec::new();
    let mut widths = Vec::new();
    for l in 1.. {
        let Some(p) = pop(&format!("l{l}e")) else {
            break;
        };
        hidden.push(Hidden::Dense {
            units: p.size as usize,
        });
        widths.push(width(&p.name)?);
    }
    if hidden.is_empty() {
        return None;
    }
    widths.push(width("out0")?);
    let projection = |from: &str| {
        program
            .projections
            .iter()
            .find(|p| p.from == from && p.to == "l1e")
    };
    let sources = program.inputs.iter().find(|i| i.name == "x_e")?.size as usize;
    let classes = program.inputs.iter().find(|i| i.name == "target")?.size as usize;
    if let Connect::Sparse(list) = &projection("x_e")?.connect {
        hidden[0] = patch_layer(list, sources, hidden[0], classes)?;
    }
    let fan_in = match hidden[0] {
        Hidden::Patch { size, .. } => patch::fan_in(sources, size),
        _ => sources,
    } as f64;
    // The largest initial magnitude: the bound of an all-to-all projection's range, or
    // the largest of an explicit list's draws (just under the bound).
    let scale = |from: &str| -> Option<f64> {
        let top = match (
            &projection(from)?.connect,
            projection(from)?.weight.as_ref(),
        ) {
            (_, Some(Weight::Uniform { low, high })) => low.abs().max(high.abs()),
            (Connect::Sparse(list), None) => list.iter().map(|s| s.2.abs()).fold(0.0, f64::max),
            _ => return None,
        };
        Some(top * fan_in.sqrt() / WEIGHT_SCALE)
    };
    let rule = &projection("x_e")?.learning.as_ref()?.rule;
    let k: f64 = rule
        .strip_prefix("dw = ")?
        .split('*')
        .next()?
        .trim()
        .parse()
        .ok()?;
    let eta = k * fan_in * widths[0] / 2.0 / WEIGHT_SCALE;
    let centring = match pop("dp0")?.model {
        Model::Graded {
            centring: Some(rate),
            ..
        } => Centring::Running { rate },
        _ => Centring::Off,
    };
    Some(DualEdConfig {
        hidden,
        input_channels: 1,
        uniform_width: widths[0],
        widths,
        learning_rate: eta,
        final_learning_rate: None,
        layer_rates: Vec::new(),
        batch_size: 1,
        epochs,
        seed,
        // The chip clamps magnitudes at 0; the reference needs a positive floor.
        weight_floor: 1e-9,
        asymmetry: AsymmetricInit {
            same: scale("x_e")?,
            cross: scale("x_i")?,
        },
        centring,
        ingredients: Ingredients::ALL,
        layer_biases: false,
        ..DualEdConfig::default()
    })
}

/// The first layer of a program whose input projection is an explicit list: the patch
/// wiring it is ([`patch::recognise`]), or `None` when the list is any other wiring.
fn patch_layer(
    list: &[(u32, u32, f64)],
    sources: usize,
    layer: Hidden,
    classes: usize,
) -> Option<Hidden> {
    let Hidden::Dense { units } = layer else {
        return None;
    };
    let (size, stride) = patch::recognise(list, sources, units, classes)?;
    Some(Hidden::Patch {
        units,
        size,
        stride,
    })
}
