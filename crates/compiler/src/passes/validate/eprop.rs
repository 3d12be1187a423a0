//! Validation of e-prop training: the `eprop` rule of a projection and the program's
//! `eprop` section, and the chip-wide limits of the chip's e-prop engine — every width,
//! unit and block the program needs, against what `learning.eprop` has. What does not
//! fit is a hardware-limit error naming the limit, the value needed and the value
//! available; a chip without an engine fails with every such limit listed.

use super::*;
use crate::program::eprop::{EpropSpec, ErrorKind, FeedbackWeights, UpdateSpec, RULE, RULE_PARAMS};
use crate::program::Model;
use amine_chip::config::eprop::{EligibilityUnit, EpropEngineConfig};

/// An `eprop` attachment on projection `pr`: its parameters, a LIF/ALIF target, a
/// spiking source, and the program's `eprop` section.
pub(super) fn rule_ok(
    c: &Compilation,
    pr: &crate::program::Projection,
    l: &crate::program::LearningSpec,
    at: &str,
    p: &mut Vec<Problem>,
) {
    for k in l.params.keys() {
        if !RULE_PARAMS.iter().any(|(n, _)| n == k) {
            let known: Vec<&str> = RULE_PARAMS.iter().map(|x| x.0).collect();
            p.push(Problem::new(
                at,
                format!(
                    "rule `eprop` has no parameter `{k}` (it takes {}; α, ρ and β come from \
                     the target population's neurons, κ from the readout's tau)",
                    known.join(", ")
                ),
            ));
        }
    }
    if let Some((k, v)) = l
        .params
        .iter()
        .find(|(_, v)| !(v.is_finite() && **v >= 0.0))
    {
        p.push(Problem::new(
            at,
            format!("`{k}` = {v}: must be finite and ≥ 0"),
        ));
    }
    if l.params.get("headroom").is_some_and(|&h| h < 1.0) {
        p.push(Problem::new(at, "`headroom` must be at least 1"));
    }
    match &c.program.eprop {
        None => p.push(Problem::new(
            at,
            "an `eprop` rule needs the program's `eprop` section (readouts, error units, \
             trial, update)",
        )),
        Some(spec) => {
            let (name, what) = match spec.update {
                UpdateSpec::Sgd => ("lr", "the plain update (`update: Sgd`)"),
                UpdateSpec::Adam { .. } => ("step", "the Adam update"),
            };
            if !l.params.contains_key(name) {
                p.push(Problem::new(
                    at,
                    format!("{what} needs the parameter `{name}`"),
                ));
            }
        }
    }
    if l.epoch != 1
        || l.overflow != crate::program::Overflow::Clamp
        || l.traces != Default::default()
    {
        p.push(Problem::new(
            at,
            "an `eprop` rule updates once per batch (eprop.batch) and clamps: leave out \
             `epoch`, `overflow` and `traces`",
        ));
    }
    let population = |name: &str| c.program.populations.iter().find(|q| q.name == name);
    if let Some(q) = population(&pr.to) {
        if !spiking(&q.model) {
            p.push(Problem::new(
                at,
                format!(
                    "`eprop` needs LIF or ALIF targets (ψ reads v and the threshold); `{}` is not",
                    pr.to
                ),
            ));
        }
    }
    let graded_population = population(&pr.from).is_some_and(|q| !spiking(&q.model));
    let graded_input = c
        .program
        .inputs
        .iter()
        .any(|x| x.name == pr.from && matches!(x.source, Source::Graded { .. }));
    if graded_population || graded_input {
        p.push(Problem::new(
            at,
            format!(
                "`eprop` needs a spiking source (εv filters spikes); `{}` sends graded values",
                pr.from
            ),
        ));
    }
}

fn spiking(m: &Model) -> bool {
    matches!(
        m,
        Model::Lif { .. } | Model::LifRaw(_) | Model::Alif { .. } | Model::AlifRaw(_)
    )
}

/// The program's `eprop` section, and the chip's engine against it.
pub(super) fn spec_ok(c: &Compilation, p: &mut Vec<Problem>, limits: &mut Vec<LimitExceeded>) {
    let Some(s) = &c.program.eprop else {
        return;
    };
    let at = |f: &str| format!("eprop.{f}");
    let t = &s.trial;
    if !(t.window.0 < t.window.1 && t.window.1 <= t.steps) {
        p.push(Problem::new(
            at("trial.window"),
            format!(
                "{}..{} must be a non-empty range inside the {}-step trial",
                t.window.0, t.window.1, t.steps
            ),
        ));
    }
    if s.batch == 0 {
        p.push(Problem::new(at("batch"), "must be at least 1 trial"));
    }
    readout_ok(c, s, p);
    update_ok(s, p);
    if let Some(reg) = &s.regulariser {
        if !(reg.strength.is_finite()
            && reg.strength >= 0.0
            && reg.target_hz.is_finite()
            && reg.target_hz >= 0.0)
        {
            p.push(Problem::new(
                at("regulariser"),
                "strength and target_hz must be finite and ≥ 0",
            ));
        }
    }
    if !c
        .program
        .projections
        .iter()
        .any(|pr| pr.learning.as_ref().is_some_and(|l| l.rule.trim() == RULE))
    {
        p.push(Problem::new(
            "eprop",
            "no projection learns with the `eprop` rule",
        ));
    }
    chip_ok(c, s, limits);
}

/// The readouts: at least one, τ, p and headroom in range, finite weights (and dense
/// feedback's), reading spiking populations with positions.
fn readout_ok(c: &Compilation, s: &EpropSpec, p: &mut Vec<Problem>) {
    let at = |f: &str| format!("eprop.{f}");
    let r = &s.readout;
    if r.size == 0 {
        p.push(Problem::new(
            at("readout.size"),
            "needs at least one readout",
        ));
    }
    let tau = r.tau.steps(c.program.dt_ms);
    if !(tau.is_finite() && tau >= 0.0) {
        p.push(Problem::new(
            at("readout.tau"),
            format!("{tau} steps: must be finite and not negative"),
        ));
    }
    if !(0.0..=1.0).contains(&r.p) {
        p.push(Problem::new(
            at("readout.p"),
            format!("{} is not a fraction in [0, 1]", r.p),
        ));
    }
    if !(r.headroom.is_finite() && r.headroom >= 1.0) {
        p.push(Problem::new(at("readout.headroom"), "must be at least 1"));
    }
    weight_ok(&r.weight, &at("readout.weight"), p);
    if let FeedbackWeights::Dense { weight, .. } = &s.feedback.weights {
        weight_ok(weight, &at("feedback.weights"), p);
    }
    for (k, name) in r.from.iter().enumerate() {
        match c.program.populations.iter().find(|q| &q.name == name) {
            None => p.push(Problem::new(
                at(&format!("readout.from[{k}]")),
                format!("no population `{name}`"),
            )),
            Some(q) if !spiking(&q.model) => p.push(Problem::new(
                at(&format!("readout.from[{k}]")),
                format!("`{name}` does not spike; readouts read LIF or ALIF neurons"),
            )),
            Some(q) if q.positions.is_none() => p.push(Problem::new(
                at(&format!("readout.from[{k}]")),
                format!(
                    "`{name}` has no positions: its neurons need a grid cell to inject the \
                     learning signal at"
                ),
            )),
            _ => {}
        }
    }
    if r.from.is_empty() {
        p.push(Problem::new(
            at("readout.from"),
            "name the populations the readouts read",
        ));
    }
}

/// The update: Adam's β1, β2 in [0, 1), and the readout's rate (`lr` or `step`).
fn update_ok(s: &EpropSpec, p: &mut Vec<Problem>) {
    let at = |f: &str| format!("eprop.{f}");
    let r = &s.readout;
    let (name, rate) = match s.update {
        UpdateSpec::Sgd => ("lr", r.lr),
        UpdateSpec::Adam { beta1, beta2 } => {
            for (n, b) in [("beta1", beta1), ("beta2", beta2)] {
                if !(0.0..1.0).contains(&b) {
                    p.push(Problem::new(
                        at(&format!("update.{n}")),
                        format!("{b} must be in [0, 1)"),
                    ));
                }
            }
            ("step", r.step)
        }
    };
    match rate {
        None => p.push(Problem::new(
            at("readout"),
            format!("the update needs the readout's `{name}`"),
        )),
        Some(x) if !(x.is_finite() && x >= 0.0) => p.push(Problem::new(
            at(&format!("readout.{name}")),
            format!("{x}: must be finite and ≥ 0"),
        )),
        _ => {}
    }
}

fn weight_ok(w: &Weight, at: &str, p: &mut Vec<Problem>) {
    let ok = match *w {
        Weight::Const(x) => x.is_finite(),
        Weight::Uniform { low, high } => low.is_finite() && high.is_finite() && low <= high,
        Weight::Normal { mean, std } => mean.is_finite() && std.is_finite() && std >= 0.0,
        Weight::TruncatedNormal { std } => std.is_finite() && std >= 0.0,
    };
    if !ok {
        p.push(Problem::new(
            at,
            "weights must be finite (std ≥ 0, low ≤ high)",
        ));
    }
}

/// Every block and width `s` needs of the chip's e-prop engine.
fn chip_ok(c: &Compilation, s: &EpropSpec, limits: &mut Vec<LimitExceeded>) {
    let f = u64::from(s.frac_bits);
    let Some(hw) = &c.chip.learning.eprop else {
        limits.push(limit(
            c,
            "learning.eprop",
            "e-prop training (eligibility, readout, error and update units)".into(),
            1,
            0,
            "use a chip with an e-prop learning engine, e.g. --chip loihi-eprop",
        ));
        limits.push(limit(
            c,
            "learning.trace_bits",
            format!("eligibility traces with {f} fractional bits (eprop.frac_bits)"),
            f + 2,
            u64::from(c.chip.learning.trace_bits),
            "the chip's learning traces are too narrow for e-prop's eligibility traces",
        ));
        grid_ok(c, s, limits);
        return;
    };
    eligibility_ok(c, s, &hw.eligibility, limits);
    readout_units_ok(c, s, hw, limits);
    engine_units_ok(c, s, hw, limits);
    grid_ok(c, s, limits);
}

/// The eligibility unit holds the traces' fractional bits and, if asked, lazy decay.
fn eligibility_ok(
    c: &Compilation,
    s: &EpropSpec,
    el: &EligibilityUnit,
    limits: &mut Vec<LimitExceeded>,
) {
    let f = u64::from(s.frac_bits);
    if !(el.min_frac_bits..=el.max_frac_bits).contains(&s.frac_bits) {
        let (lim, avail) = if s.frac_bits < el.min_frac_bits {
            ("min_frac_bits", el.min_frac_bits)
        } else {
            ("max_frac_bits", el.max_frac_bits)
        };
        limits.push(limit(
            c,
            &format!("learning.eprop.eligibility.{lim}"),
            "eprop.frac_bits".into(),
            f,
            u64::from(avail),
            &format!(
                "give the traces {}..={} fractional bits",
                el.min_frac_bits, el.max_frac_bits
            ),
        ));
    }
    if s.lazy_decay && !el.lazy_decay {
        limits.push(limit(
            c,
            "learning.eprop.eligibility.lazy_decay",
            "eprop.lazy_decay".into(),
            1,
            0,
            "set `lazy_decay: false` (every row steps every step)",
        ));
    }
}

/// The readout unit has the readouts and their weight width.
fn readout_units_ok(
    c: &Compilation,
    s: &EpropSpec,
    hw: &EpropEngineConfig,
    limits: &mut Vec<LimitExceeded>,
) {
    let r = &s.readout;
    if u64::from(r.size) > u64::from(hw.readout.units) {
        limits.push(limit(
            c,
            "learning.eprop.readout.units",
            "eprop.readout.size".into(),
            u64::from(r.size),
            u64::from(hw.readout.units),
            "use fewer readouts",
        ));
    }
    if let Some(b) = r.weight_bits {
        if !(2..=hw.readout.weight_bits).contains(&b) {
            limits.push(limit(
                c,
                "learning.eprop.readout.weight_bits",
                "eprop.readout.weight_bits".into(),
                u64::from(b),
                u64::from(hw.readout.weight_bits),
                "use a narrower readout weight (at least 2 bits)",
            ));
        }
    }
}

/// The engine has the error unit, regulariser, trial blocks and Adam `s` uses.
fn engine_units_ok(
    c: &Compilation,
    s: &EpropSpec,
    hw: &EpropEngineConfig,
    limits: &mut Vec<LimitExceeded>,
) {
    let (kind, has) = match s.error {
        ErrorKind::Softmax => ("softmax", hw.error.softmax),
        ErrorKind::Regression => ("regression", hw.error.regression),
    };
    if !has {
        limits.push(limit(
            c,
            &format!("learning.eprop.error.{kind}"),
            format!("eprop.error: {:?}", s.error),
            1,
            0,
            "the engine has no such error unit",
        ));
    }
    if s.regulariser.is_some() && !hw.trial.rate_regulariser {
        limits.push(limit(
            c,
            "learning.eprop.trial.rate_regulariser",
            "eprop.regulariser".into(),
            1,
            0,
            "drop the regulariser",
        ));
    }
    for (name, has) in [
        ("window_gating", hw.trial.window_gating),
        ("trial_reset", hw.trial.trial_reset),
    ] {
        if !has {
            limits.push(limit(
                c,
                &format!("learning.eprop.trial.{name}"),
                "e-prop trials (eprop.trial)".into(),
                1,
                0,
                "the engine cannot run trials without it",
            ));
        }
    }
    if matches!(s.update, UpdateSpec::Adam { .. }) && hw.update.adam.is_none() {
        limits.push(limit(
            c,
            "learning.eprop.update.adam",
            "eprop.update: Adam".into(),
            1,
            0,
            "use `update: Sgd` with `lr` rates",
        ));
    }
}

/// The modulator grid the learning signal travels on.
fn grid_ok(c: &Compilation, s: &EpropSpec, limits: &mut Vec<LimitExceeded>) {
    let g = &c.chip.modulator;
    if g.width == 0 || g.height == 0 {
        limits.push(limit(
            c,
            "modulator.width",
            "the learning signal (eprop.feedback)".into(),
            1,
            0,
            "use a chip with a modulator grid",
        ));
        return;
    }
    if s.feedback.channel >= g.channels {
        limits.push(limit(
            c,
            "modulator.channels",
            "eprop.feedback.channel".into(),
            u64::from(s.feedback.channel) + 1,
            u64::from(g.channels),
            "use a lower channel",
        ));
    }
}
