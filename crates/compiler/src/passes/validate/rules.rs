//! Validation of learning rules (assembled by the chip's own assembler, e-prop
//! parameters, traces) and of the mapping hints.

use super::*;
use amine_chip::learning;

/// Assemble a rule (a named rule with its parameters, or an expression) with the chip's
/// learning-engine assembler, so the compiler accepts exactly what the engine can run.
pub(super) fn rule_ok(
    rule: &str,
    params: &std::collections::BTreeMap<String, f64>,
    chip: &amine_chip::ChipConfig,
) -> Result<(), Vec<String>> {
    let text = match learning::named_rule(rule, params) {
        Some(Ok(text)) => text,
        Some(Err(m)) => return Err(vec![m]),
        None if !params.is_empty() => {
            return Err(vec![format!(
                "`params` only go with a named rule ({})",
                learning::NAMED_RULES
                    .iter()
                    .map(|r| r.0)
                    .collect::<Vec<_>>()
                    .join(", ")
            )])
        }
        None => rule.to_string(),
    };
    learning::assemble(&text, &learning::Limits::of(chip))
        .map(|_| ())
        .map_err(|es| es.iter().map(|e| e.render(&text)).collect())
}

pub(super) fn learning_and_mapping(
    c: &Compilation,
    p: &mut Vec<Problem>,
    limits: &mut Vec<LimitExceeded>,
) {
    let mut rules = 0;
    for (i, pr) in c.program.projections.iter().enumerate() {
        let Some(l) = &pr.learning else { continue };
        rules += 1;
        let at = |f: &str| format!("projections[{i}].learning.{f}");
        if l.rule.trim() == crate::program::eprop::RULE {
            super::eprop::rule_ok(c, pr, l, &at("rule"), p);
        } else if let Err(ms) = rule_ok(l.rule.trim(), &l.params, &c.chip) {
            for m in ms {
                p.push(Problem::new(at("rule"), m));
            }
        }
        if l.epoch == 0 {
            p.push(Problem::new(at("epoch"), "must be at least 1 step"));
        }
        let mirrored = c.program.populations.iter().any(|q| {
            q.name == pr.to
                && matches!(
                    q.model,
                    crate::program::Model::Graded {
                        activation: crate::program::Activation::MirroredRamp,
                        ..
                    }
                )
        });
        if mirrored {
            p.push(Problem::new(
                at("rule"),
                format!(
                    "`{}` has a MirroredRamp activation, whose decreasing table has no derivative a rule can read",
                    pr.to
                ),
            ));
        }
        let t = &l.traces;
        for (name, given) in [
            ("x1", t.x1),
            ("x2", t.x2),
            ("y1", t.y1),
            ("y2", t.y2),
            ("y3", t.y3),
        ] {
            let Some(tr) = given else { continue };
            let steps = tr.tau.steps(c.program.dt_ms);
            if !(steps.is_finite() && steps >= 1.0) {
                p.push(Problem::new(
                    at(&format!("traces.{name}.tau")),
                    format!("{steps} steps: must be at least 1 step"),
                ));
            }
            let max = (1u32 << c.chip.learning.trace_bits.clamp(1, 16)) - 1;
            if u32::from(tr.impulse) > max {
                p.push(Problem::new(
                    at(&format!("traces.{name}.impulse")),
                    format!(
                        "{} exceeds the chip's {}-bit traces (max {max})",
                        tr.impulse, c.chip.learning.trace_bits
                    ),
                ));
            }
        }
        if let Some((k, v)) = l.params.iter().find(|(_, v)| !v.is_finite()) {
            p.push(Problem::new(
                at("params"),
                format!("`{k}` = {v} is not finite"),
            ));
        }
    }
    if rules > 0 && !c.chip.learning.enabled {
        limits.push(limit(
            c,
            "learning.enabled",
            format!("{rules} learning rule(s)"),
            1,
            0,
            "use a chip with a learning engine or drop the `learning` attachments",
        ));
    }
    super::mapping::check(c, p, limits);
}
