//! Convolution and pooling projections: shapes, kernel, Dale's principle, and whether a
//! projection that asks for the shared form can have it on this chip.

use super::limit;
use crate::context::Compilation;
use crate::conv::obstacle_in;
use crate::conv::ConvSpec;
use crate::error::{group, LimitExceeded, Problem};

/// An upper bound of a convolution's synapses, for the memory budget.
pub(super) fn expected_synapses(spec: &ConvSpec, npost: f64) -> f64 {
    let (kh, kw) = spec.kernel;
    npost * (spec.input.0 / spec.groups.max(1)) as f64 * kh as f64 * kw as f64
}

#[allow(clippy::too_many_arguments)]
pub(super) fn check(
    c: &Compilation,
    i: usize,
    spec: &ConvSpec,
    (npre, npost): (u32, u32),
    dale: &dyn Fn(f64) -> bool,
    dale_msg: &dyn Fn(f64) -> String,
    p: &mut Vec<Problem>,
    limits: &mut Vec<LimitExceeded>,
) {
    let pr = &c.program.projections[i];
    let at = |f: &str| format!("projections[{i}].connect.{f}");
    let out = match spec.output() {
        Ok(o) => o,
        Err(m) => return p.push(Problem::new(at("kernel"), m)),
    };
    let (ci, h, w) = spec.input;
    if ci as u64 * h as u64 * w as u64 != npre as u64 {
        p.push(Problem::new(
            at("input"),
            format!(
                "{ci} × {h} × {w} = {} neurons, but `{}` has {npre}",
                group(ci as u64 * h as u64 * w as u64),
                pr.from
            ),
        ));
    }
    let n_out = out.0 as u64 * out.1 as u64 * out.2 as u64;
    if n_out != npost as u64 {
        p.push(Problem::new(
            at("channels"),
            format!(
                "the convolution computes {} × {} × {} = {} outputs, but `{}` has {npost} neurons",
                out.0,
                out.1,
                out.2,
                group(n_out),
                pr.to
            ),
        ));
    }
    if let Some(ws) = &spec.weights {
        if ws.len() as u64 != spec.kernel_len() {
            p.push(Problem::new(
                at("weights"),
                format!(
                    "{} values; a {} × {} × {} × {} kernel needs {}",
                    ws.len(),
                    spec.channels,
                    ci / spec.groups.max(1),
                    spec.kernel.0,
                    spec.kernel.1,
                    spec.kernel_len()
                ),
            ));
        }
        if let Some((k, &x)) = ws
            .iter()
            .enumerate()
            .find(|(_, x)| !x.is_finite() || !dale(**x))
        {
            let m = if x.is_finite() {
                dale_msg(x)
            } else {
                format!("{x} is not finite")
            };
            p.push(Problem::new(
                format!("projections[{i}].connect.weights[{k}]"),
                m,
            ));
        }
    }
    if spec.shared != Some(true) || !p.is_empty() {
        return;
    }
    // The shared form was asked for: refuse it here if no mapping can give it.
    let Some(conv) = spec.conv() else { return };
    if let Some(o) = obstacle_in(c, i, &conv) {
        limits.push(shared_limit(c, i, &o));
    }
}

/// The hardware-limit error of a convolution that cannot be stored in shared form.
pub(crate) fn shared_limit(c: &Compilation, i: usize, o: &crate::conv::Obstacle) -> LimitExceeded {
    let fix = match o.limit {
        "core.population" => "use a chip with population axons, or set `shared: Some(false)` to expand it",
        "learning" => "drop `learning`, or set `shared: Some(false)`: only expanded rows learn",
        _ => "set `shared: Some(false)` to expand it into per-synapse rows, or use a chip with larger cores",
    };
    limit(
        c,
        o.limit,
        format!(
            "projection `{}` in shared form ({})",
            c.program.projections[i].name(),
            o.why
        ),
        o.needed,
        o.available,
        fix,
    )
}
