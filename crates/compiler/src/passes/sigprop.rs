//! Pass sigprop: a program's `sigprop` section → the sigprop learning unit's part of
//! the image ([`SigpropImage`]).
//!
//! Runs right after validate, only for a program with a `sigprop` section. It assigns
//! each layer to the unit (the learning slots of the layer's incoming projections read
//! the unit's pull as `m0`) and checks, collecting every problem:
//!
//! - the chip has a sigprop unit whose register file holds the classes, whose distance
//!   unit serves the widest layer, β's width and the accumulator
//!   ([`SigpropNeeds::problems`], each naming its `learning.sigprop` field);
//! - the port is a graded input and every context has one value in [0, 1] per input;
//! - every layer is a graded population and has at least one incoming learning
//!   projection, whose rule reads `m0`.
//!
//! The contexts become the port's payloads here, once.

use crate::context::Compilation;
use crate::error::{Error, Problem};
use crate::program::sigprop::SigpropSpec;
use crate::program::{Input, Model, Program, Source};
use amine_chip::config::sigprop::SigpropNeeds;
use amine_chip::image::sigprop::{SigpropImage, SigpropLayer};

pub fn run(c: &mut Compilation) -> Result<(), Error> {
    let Some(spec) = c.program.sigprop.clone() else {
        return Ok(());
    };
    let p = &c.program;
    let mut problems = Vec::new();
    let Some(port) = p.inputs.iter().find(|i| i.name == spec.port) else {
        problems.push(problem(
            "sigprop.port".into(),
            format!("no input `{}`", spec.port),
        ));
        return Err(Error::invalid(&c.origin, problems));
    };
    let payload_bits = match port.source {
        Source::Graded { payload_bits } => payload_bits,
        _ => {
            problems.push(problem(
                "sigprop.port".into(),
                format!("input `{}` must be Graded", port.name),
            ));
            8
        }
    };
    let contexts = contexts(&spec, port, payload_bits, &mut problems);
    settings_problems(&spec, port, &mut problems);
    let layers = layers(p, &spec, &mut problems);
    if !problems.is_empty() {
        return Err(Error::invalid(&c.origin, problems));
    }
    let needs = SigpropNeeds {
        classes: contexts.len() as u32,
        widest_layer: layers.iter().map(|l| l.units).max().unwrap_or(0),
        response_bits: payload_bits,
        beta: spec.beta,
        own_class: spec.own_class,
    };
    let unfit: Vec<Problem> = needs
        .problems(&c.chip)
        .into_iter()
        .map(|pr| Problem {
            at: pr.field,
            message: pr.message,
        })
        .collect();
    if !unfit.is_empty() {
        return Err(Error::invalid(
            format!("{}: sigprop on chip `{}`", c.origin, c.chip.name),
            unfit,
        ));
    }
    c.sigprop = Some(SigpropImage {
        port: spec.port.clone(),
        layers,
        beta: spec.beta,
        batch: spec.batch,
        contexts,
        complement: spec.complement,
        rate_decay: spec.rate_decay,
        readout: spec.readout,
        contexts_per_class: spec.contexts_per_class,
        own_class: spec.own_class,
    });
    Ok(())
}

fn problem(at: String, message: String) -> Problem {
    Problem { at, message }
}

/// The contexts as the port's payloads (`payload_bits` wide); a context must have one
/// value in [0, 1] per input.
fn contexts(
    spec: &SigpropSpec,
    port: &Input,
    payload_bits: u8,
    problems: &mut Vec<Problem>,
) -> Vec<Vec<u16>> {
    let max = f64::from((1u32 << payload_bits.clamp(1, 16)) - 1);
    let mut contexts = Vec::new();
    for (k, row) in spec.contexts.iter().enumerate() {
        if row.len() != port.size as usize {
            problems.push(problem(
                format!("sigprop.contexts[{k}]"),
                format!(
                    "{} values; input `{}` has {}",
                    row.len(),
                    port.name,
                    port.size
                ),
            ));
        }
        if let Some(v) = row.iter().find(|v| !(0.0..=1.0).contains(*v)) {
            problems.push(problem(
                format!("sigprop.contexts[{k}]"),
                format!("{v} is outside [0, 1]"),
            ));
        }
        contexts.push(
            row.iter()
                .map(|v| (v.clamp(0.0, 1.0) * max).round() as u16)
                .collect(),
        );
    }
    contexts
}

/// Contexts per class, classes, complements, rate decay and batch in range.
fn settings_problems(spec: &SigpropSpec, port: &Input, problems: &mut Vec<Problem>) {
    let mut bad = |at: &str, message: String| problems.push(problem(at.into(), message));
    let per_class = spec.contexts_per_class as usize;
    if per_class == 0 {
        bad("sigprop.contexts_per_class", "must be at least 1".into());
    } else if !spec.contexts.len().is_multiple_of(per_class) || spec.contexts.len() / per_class < 2
    {
        bad(
            "sigprop.contexts",
            format!(
                "{} contexts: at least 2 classes of contexts_per_class = {per_class} each",
                spec.contexts.len()
            ),
        );
    }
    if spec.complement && port.size.is_multiple_of(2) {
        bad(
            "sigprop.complement",
            format!(
                "input `{}` has {} values; with complements it needs 2·inputs + 1 (odd)",
                port.name, port.size
            ),
        );
    }
    if !(spec.rate_decay > 0.0 && spec.rate_decay <= 1.0) {
        bad(
            "sigprop.rate_decay",
            format!("{}: must be in (0, 1]", spec.rate_decay),
        );
    }
    if spec.batch == 0 {
        bad("sigprop.batch", "must be at least 1".into());
    }
}

/// Each layer: a graded population with incoming learning projections whose rules read
/// `m0`, and its learning slots (the program's learning projections, in order).
fn layers(p: &Program, spec: &SigpropSpec, problems: &mut Vec<Problem>) -> Vec<SigpropLayer> {
    let mut bad = |at: String, message: String| problems.push(problem(at, message));
    let slots: Vec<(usize, &crate::program::Projection)> = p
        .projections
        .iter()
        .filter(|pr| pr.learning.is_some())
        .enumerate()
        .collect();
    let mut layers = Vec::new();
    for (l, name) in spec.layers.iter().enumerate() {
        let at = format!("sigprop.layers[{l}]");
        let Some(pop) = p.populations.iter().find(|q| &q.name == name) else {
            bad(at, format!("no population `{name}`"));
            continue;
        };
        if !matches!(pop.model, Model::Graded { .. }) {
            bad(at.clone(), format!("population `{name}` must be graded"));
        }
        let mine: Vec<usize> = slots
            .iter()
            .filter(|(_, pr)| &pr.to == name)
            .map(|&(i, _)| i)
            .collect();
        let reads_m0 = slots
            .iter()
            .filter(|(_, pr)| &pr.to == name)
            .all(|(_, pr)| pr.learning.as_ref().is_some_and(|r| r.rule.contains("m0")));
        if mine.is_empty() || !reads_m0 {
            bad(at, format!("population `{name}` needs incoming learning projections whose rule reads m0 (the unit's pull)"));
        }
        layers.push(SigpropLayer {
            population: name.clone(),
            units: pop.size,
            slots: mine,
        });
    }
    if spec.layers.is_empty() {
        bad("sigprop.layers".into(), "at least one layer".into());
    }
    layers
}
