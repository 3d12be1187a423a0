//! Named rules: `stdp`, `r_stdp`, `error_diffusion`, expanded to rule text from their
//! parameters so that they go through the same assembler (and the same error reporting)
//! as hand-written expressions.

use std::collections::BTreeMap;

/// A named rule: name, parameters with their defaults, and the text template.
pub type NamedRule = (&'static str, &'static [(&'static str, f64)], &'static str);

/// Each named rule, its parameters with defaults, and its text template.
pub const NAMED_RULES: &[NamedRule] = &[
    (
        // Pair-based STDP: potentiate on a post spike by the pre trace, depress on a pre
        // spike by the post trace.
        "stdp",
        &[("a_plus", 0.0625), ("a_minus", 0.0625)],
        "dw = {a_plus}*x1*y0 - {a_minus}*y1*x0",
    ),
    (
        // Reward-modulated STDP: the STDP window accumulates in the tag (eligibility),
        // which decays; the weight moves by the modulator (reward) times the tag.
        "r_stdp",
        &[
            ("a_plus", 0.0625),
            ("a_minus", 0.0625),
            ("tag_decay", 0.0625),
            ("eta", 0.0625),
            ("channel", 0.0),
        ],
        "dt = {a_plus}*x1*y0 - {a_minus}*y1*x0 - {tag_decay}*t; dw = {eta}*m{channel}*t",
    ),
    (
        // Kaneko's Error Diffusion for graded units: Δw = α·in·o(1−o)·d·sign(w), where d
        // is the modulator channel carrying d+ (excitatory pre) or d− (inhibitory pre).
        "error_diffusion",
        &[("alpha", 0.03125), ("channel", 0.0)],
        "dw = {alpha}*pre*deriv*m{channel}*sgn",
    ),
];

/// The rule text of a named rule with `params` filled in (defaults for the rest).
/// Returns `None` for a name that is not a named rule (it may be an expression).
pub fn named_rule(name: &str, params: &BTreeMap<String, f64>) -> Option<Result<String, String>> {
    let (_, defaults, template) = NAMED_RULES.iter().find(|(n, _, _)| *n == name)?;
    if let Some(unknown) = params
        .keys()
        .find(|k| !defaults.iter().any(|(d, _)| d == k))
    {
        let known: Vec<&str> = defaults.iter().map(|(d, _)| *d).collect();
        return Some(Err(format!(
            "rule `{name}` has no parameter `{unknown}` (it takes {})",
            known.join(", ")
        )));
    }
    let mut text = template.to_string();
    for (key, default) in defaults.iter() {
        let v = params.get(*key).copied().unwrap_or(*default);
        let shown = if *key == "channel" {
            if v.fract() != 0.0 || !(0.0..16.0).contains(&v) {
                return Some(Err(format!(
                    "`channel` must be a whole number in 0..16, not {v}"
                )));
            }
            format!("{}", v as u32)
        } else {
            format!("{v}")
        };
        text = text.replace(&format!("{{{key}}}"), &shown);
    }
    Some(Ok(text))
}
