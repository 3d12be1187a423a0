//! The cross-field consistency checks of a [`ChipConfig`], one function per section
//! of the configuration; [`ChipConfig::problems`] runs them in file order.

use super::{ChipConfig, CoreConfig, LearningConfig, ModulatorConfig, RouterConfig};
use crate::error::Problem;

/// Collects a [`Problem`] for every check that fails.
struct Checks(Vec<Problem>);

impl Checks {
    fn need(&mut self, ok: bool, field: &str, msg: String) {
        if !ok {
            self.0.push(Problem {
                field: field.to_string(),
                message: msg,
            });
        }
    }
}

/// Every consistency problem of `config`, section by section (empty when valid).
pub(super) fn problems(config: &ChipConfig) -> Vec<Problem> {
    let mut p = Checks(Vec::new());
    p.need(
        !config.name.trim().is_empty(),
        "name",
        "must not be empty".into(),
    );
    core(&mut p, &config.core);
    router(&mut p, &config.router);
    modulator(&mut p, &config.modulator);
    learning(&mut p, &config.learning);
    let mut p = p.0;
    p.extend(crate::ranges::problems(config));
    if let Some(e) = &config.learning.eprop {
        p.extend(e.problems(config.core.word_bits));
    }
    if let Some(s) = &config.learning.sigprop {
        p.extend(s.problems(config.core.compartments));
    }
    p
}

/// Word, synapse memory, weight format, delay, tag and neuron-model fields.
fn core(p: &mut Checks, c: &CoreConfig) {
    p.need(
        matches!(c.word_bits, 8 | 16 | 32 | 64),
        "core.word_bits",
        format!("{} is not one of 8, 16, 32, 64", c.word_bits),
    );
    p.need(
        c.synapse_memory_bits >= c.word_bits as u64
            && c.synapse_memory_bits
                .is_multiple_of(c.word_bits.max(1) as u64),
        "core.synapse_memory_bits",
        format!(
            "{} is not a positive multiple of the {}-bit word",
            c.synapse_memory_bits, c.word_bits
        ),
    );
    p.need(
        !c.weight_bits.is_empty(),
        "core.weight_bits",
        "must list at least one width".into(),
    );
    for &w in &c.weight_bits {
        p.need(
            (1..=crate::synapse::MAX_WEIGHT_BITS).contains(&w),
            "core.weight_bits",
            format!(
                "width {w} is outside 1..={}",
                crate::synapse::MAX_WEIGHT_BITS
            ),
        );
    }
    p.need(
        c.weight_exponent_min <= c.weight_exponent_max,
        "core.weight_exponent_min",
        format!(
            "min {} is above max {}",
            c.weight_exponent_min, c.weight_exponent_max
        ),
    );
    p.need(
        c.weight_exponent_min >= -6 && c.weight_exponent_max <= 7,
        "core.weight_exponent_max",
        "exponents must lie in -6..=7 (the dendrite adds weight << (6 + exponent))".into(),
    );
    p.need(
        c.max_delay_bits <= 6,
        "core.max_delay_bits",
        "at most 6 (63 steps)".into(),
    );
    p.need(
        c.max_tag_bits <= 16,
        "core.max_tag_bits",
        "at most 16".into(),
    );
    if let Some(d) = &c.delta_rows {
        p.need(
            (1..=crate::synapse::MAX_INDEX_BITS).contains(&d.max_delta_bits),
            "core.delta_rows.max_delta_bits",
            format!(
                "{} is outside 1..={}",
                d.max_delta_bits,
                crate::synapse::MAX_INDEX_BITS
            ),
        );
    }
    p.need(
        !c.neuron_models.is_empty(),
        "core.neuron_models",
        "must list at least one model".into(),
    );
}

/// Packet lengths against each other and against the buffer.
fn router(p: &mut Checks, r: &RouterConfig) {
    p.need(
        r.graded_packet_flits >= r.spike_packet_flits,
        "router.graded_packet_flits",
        "a graded packet cannot be shorter than a spike packet".into(),
    );
    p.need(
        r.buffer_flits >= r.graded_packet_flits,
        "router.buffer_flits",
        format!(
            "{} flits cannot hold one {}-flit graded packet",
            r.buffer_flits, r.graded_packet_flits
        ),
    );
}

/// Grid size, channels and the diffusion kernel.
fn modulator(p: &mut Checks, g: &ModulatorConfig) {
    if g.width > 0 || g.height > 0 {
        p.need(
            g.width >= 1 && g.height >= 1,
            "modulator",
            "width and height must both be positive (or both 0 to disable the grid)".into(),
        );
        p.need(
            g.channels >= 1,
            "modulator.channels",
            "an enabled grid needs at least one channel".into(),
        );
    }
    p.need(
        4.0 * (g.kernel.edge + g.kernel.corner) <= 1.0 + 1e-12,
        "modulator.kernel",
        format!(
            "4·edge + 4·corner = {} exceeds 1: the centre would keep a negative share",
            4.0 * (g.kernel.edge + g.kernel.corner)
        ),
    );
}

/// Trace and tag widths, and the units (e-prop, centring, sigprop) that need the
/// learning engine enabled.
fn learning(p: &mut Checks, l: &LearningConfig) {
    if l.enabled {
        p.need(
            (1..=16).contains(&l.trace_bits),
            "learning.trace_bits",
            "must be in 1..=16".into(),
        );
        p.need(
            (1..=16).contains(&l.tag_bits),
            "learning.tag_bits",
            "must be in 1..=16".into(),
        );
    }
    if l.eprop.is_some() {
        p.need(
            l.enabled,
            "learning.eprop",
            "an e-prop engine needs `learning.enabled: true`".into(),
        );
    }
    if let Some(c) = &l.centring {
        p.need(
            l.enabled,
            "learning.centring",
            "a centring register needs `learning.enabled: true`".into(),
        );
        let max = crate::neuron::graded::CENTRING_MAX_SHIFT;
        p.need(
            c.frac_bits <= max && c.max_rate_shift <= max,
            "learning.centring",
            format!(
                "frac_bits = {} and max_rate_shift = {} must be at most {max}",
                c.frac_bits, c.max_rate_shift
            ),
        );
    }
    if l.sigprop.is_some() {
        p.need(
            l.enabled,
            "learning.sigprop",
            "a sigprop unit needs `learning.enabled: true`".into(),
        );
    }
}
