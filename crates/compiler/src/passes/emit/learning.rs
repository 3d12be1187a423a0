//! The image's learning slots: one per learning projection, in program order — its
//! microcode (none for an e-prop slot, which runs the eligibility unit), traces, epoch
//! and seed.

use crate::context::Compilation;
use crate::passes::expand::derive_seed;
use crate::program::{LearningSpec, Projection};
use amine_chip::image::LearningSlot;
use amine_chip::learning::traces::{default_traces, TraceParams};
use amine_chip::learning::{Limits, RuleProgram};

/// Every learning projection's slot, or the first problem assembling one (a compiler
/// bug: `validate` and the `eprop` pass checked them).
pub(super) fn slots(c: &Compilation) -> Result<Vec<LearningSlot>, Vec<String>> {
    let limits = Limits::of(&c.chip);
    let mut learning = Vec::new();
    for pr in &c.program.projections {
        let Some(l) = pr.learning.as_ref() else {
            continue;
        };
        learning.push(slot(c, pr, l, learning.len(), &limits)?);
    }
    Ok(learning)
}

/// The slot of learning projection `pr`, the `index`-th.
fn slot(
    c: &Compilation,
    pr: &Projection,
    l: &LearningSpec,
    index: usize,
    limits: &Limits,
) -> Result<LearningSlot, Vec<String>> {
    // An e-prop slot runs the eligibility unit and no microcode.
    let eprop = c
        .eprop
        .as_ref()
        .and_then(|plan| plan.slots.get(index).copied().flatten());
    if l.rule.trim() == crate::program::eprop::RULE && eprop.is_none() {
        return Err(vec![format!(
            "learning rule of {}: the eprop pass left no constants",
            pr.name()
        )]);
    }
    // `validate` assembled the same text already; a failure here is a compiler bug.
    let text = match amine_chip::learning::named_rule(&l.rule, &l.params) {
        _ if eprop.is_some() => String::new(),
        Some(Ok(text)) => text,
        Some(Err(m)) => return Err(vec![format!("learning rule of {}: {m}", pr.name())]),
        None => l.rule.clone(),
    };
    let microcode = match eprop {
        Some(_) => RuleProgram { equations: vec![] },
        None => amine_chip::learning::assemble(&text, limits).map_err(|es| {
            es.iter()
                .map(|e| format!("learning rule of {}: {}", pr.name(), e.render(&text)))
                .collect::<Vec<_>>()
        })?,
    };
    let [x1, x2, y1, y2, y3] = traces(c, l);
    Ok(LearningSlot {
        projection: pr.name(),
        rule: l.rule.clone(),
        params: l.params.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        // An e-prop slot updates once per batch of trials.
        epoch: match (&eprop, &c.program.eprop) {
            (Some(_), Some(s)) => s.batch.saturating_mul(s.trial.steps).max(1),
            _ => l.epoch,
        },
        microcode,
        x1,
        x2,
        y1,
        y2,
        y3,
        seed: derive_seed(c.program.seed, 0x2_0000 + index as u64),
        renormalise: l.overflow == crate::program::Overflow::Renormalise,
        eprop,
    })
}

/// The slot's five traces (x1, x2, y1, y2, y3): the chip's defaults where the program
/// gives none.
fn traces(c: &Compilation, l: &LearningSpec) -> [TraceParams; 5] {
    let mut traces = default_traces(None, None);
    let t = &l.traces;
    for (k, given) in [t.x1, t.x2, t.y1, t.y2, t.y3].into_iter().enumerate() {
        if let Some(tr) = given {
            traces[k] = TraceParams::from_tau(tr.tau.steps(c.program.dt_ms), tr.impulse);
        }
    }
    traces
}
