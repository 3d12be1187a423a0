//! One neuron node of a NIR graph → its chip neurons: the discretised equations of
//! each neuron, the scale `c` (weight units per NIR voltage unit, see the module docs of
//! `lower`), the chip's LIF parameters, and one population per distinct parameter set.

use super::{is_whole, Expr, NodeMap, Role, W_MAX};
use crate::graph::{NirNode, Tensor};
use amine_chip::neuron::lif::{LifParams, U_WRAP, VTH_MAX};
use amine_compiler::neurons::bias_fields;

/// A node's populations: name, parameters and size.
pub(super) type Pops = Vec<(String, (LifParams, u32))>;

/// Per-neuron discretised equations of a neuron node (NIR voltage units).
#[derive(Debug, Clone, Copy)]
struct Neuron {
    /// `dt/τs`, or None for models without a current (u cleared every step).
    cur: Option<f64>,
    /// `dt/τm` (0 for IF/I).
    leak: f64,
    /// Input gain onto the current (see the module docs).
    gain: f64,
    /// Per-step bias from `v_leak − v_reset`.
    bias: f64,
    /// `v_th − v_reset`, None for non-spiking models.
    thr: Option<f64>,
}

fn neuron_eqs(node: &NirNode, i: usize, dt: f64) -> Neuron {
    let a = |t: &Tensor| t.at(i);
    match node {
        NirNode::Threshold { threshold } => Neuron {
            cur: None,
            leak: 1.0,
            gain: 1.0,
            bias: 0.0,
            thr: Some(a(threshold)),
        },
        NirNode::I { r } => Neuron {
            cur: None,
            leak: 0.0,
            gain: a(r) * dt,
            bias: 0.0,
            thr: None,
        },
        NirNode::If {
            r,
            v_threshold,
            v_reset,
        } => Neuron {
            cur: None,
            leak: 0.0,
            gain: a(r) * dt,
            bias: 0.0,
            thr: Some(a(v_threshold) - a(v_reset)),
        },
        NirNode::Li { tau, r, v_leak } => Neuron {
            cur: None,
            leak: dt / a(tau),
            gain: a(r) * dt / a(tau),
            bias: dt / a(tau) * a(v_leak),
            thr: None,
        },
        NirNode::Lif {
            tau,
            r,
            v_leak,
            v_threshold,
            v_reset,
        } => Neuron {
            cur: None,
            leak: dt / a(tau),
            gain: a(r) * dt / a(tau),
            bias: dt / a(tau) * (a(v_leak) - a(v_reset)),
            thr: Some(a(v_threshold) - a(v_reset)),
        },
        NirNode::CubaLi {
            tau_syn,
            tau_mem,
            r,
            v_leak,
            w_in,
        } => Neuron {
            cur: Some(dt / a(tau_syn)),
            leak: dt / a(tau_mem),
            gain: a(r) * dt / a(tau_mem) * dt / a(tau_syn) * a(w_in),
            bias: dt / a(tau_mem) * a(v_leak),
            thr: None,
        },
        NirNode::CubaLif {
            tau_syn,
            tau_mem,
            r,
            v_leak,
            v_threshold,
            v_reset,
            w_in,
        } => Neuron {
            cur: Some(dt / a(tau_syn)),
            leak: dt / a(tau_mem),
            gain: a(r) * dt / a(tau_mem) * dt / a(tau_syn) * a(w_in),
            bias: dt / a(tau_mem) * (a(v_leak) - a(v_reset)),
            thr: Some(a(v_threshold) - a(v_reset)),
        },
        _ => Neuron {
            cur: None,
            leak: 0.0,
            gain: 0.0,
            bias: 0.0,
            thr: None,
        },
    }
}

/// `x` is `m·2^e` with `|m| ≤ 255` and `e ∈ −6..=7`: a synapse holds it exactly.
fn weight_exact(x: f64) -> bool {
    (-6..=7).any(|e| {
        let m = x / 2f64.powi(e);
        is_whole(m) && m.abs() <= 255.0
    })
}

fn bias_exact(b: f64) -> bool {
    match bias_fields(b) {
        Ok((m, e)) => {
            let q = LifParams {
                bias_mant: m,
                bias_exp: e,
                ..Default::default()
            }
            .bias();
            (f64::from(q) - b * 64.0).abs() <= 1e-9 * (b * 64.0).abs().max(1.0)
        }
        Err(_) => false,
    }
}

/// A neuron node's populations (one per distinct parameter set), mapping and gains.
#[allow(clippy::type_complexity)]
pub(super) fn neuron_node(
    name: &str,
    node: &NirNode,
    n: usize,
    input: &Expr,
    dt: f64,
) -> Result<(NodeMap, Pops, Vec<f64>, Vec<(String, u32)>), Vec<String>> {
    let ty = node.type_name();
    let problems = param_problems(name, ty, node, dt);
    if !problems.is_empty() {
        return Err(problems);
    }
    let eqs = Eqs::new(node, n, input, dt);
    let mut problems = eqs.threshold_problems(name, ty);
    let (scale, headroom) = eqs.scale();
    let mut notes = Vec::new();
    if let Some(c0) = headroom {
        notes.push(format!(
            "scale lowered from {c0} to {scale} so that the current u stays within ±2^23 with every input spiking in every step (worst case {:.0} of 8388608)",
            scale * eqs.u_per_scale
        ));
    }
    let mut exact = eqs.exact_at(scale);
    let params = eqs.chip_params(name, ty, scale, &mut exact, &mut notes, &mut problems);
    if node.is_integrator() {
        notes.push("non-spiking: threshold set out of reach, read through a Voltage probe".into());
    }
    if matches!(node, NirNode::CubaLi { .. } | NirNode::CubaLif { .. })
        && input.bias.iter().any(|&b| b != 0.0)
    {
        notes.push("constant input (Affine bias) enters v as its steady-state current".into());
        exact = false;
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let (pops, idx, members) = populations(name, &params);
    let map = NodeMap {
        node: name.to_string(),
        nir_type: ty.to_string(),
        size: n,
        role: Role::Compartments,
        populations: pops.iter().map(|(p, _)| p.clone()).zip(members).collect(),
        scale,
        exact,
        notes,
    };
    Ok((map, pops, eqs.eqs.iter().map(|e| e.gain).collect(), idx))
}

/// Parameters that are not finite, and time constants shorter than the step.
fn param_problems(name: &str, ty: &str, node: &NirNode, dt: f64) -> Vec<String> {
    let mut problems = Vec::new();
    for (p, t) in node.neuron_params() {
        if let Some(x) = t.data.iter().find(|x| !x.is_finite()) {
            problems.push(format!(
                "node `{name}` ({ty}): parameter `{p}` = {x} is not finite"
            ));
        }
        if p.starts_with("tau") {
            if let Some(x) = t.data.iter().find(|&&x| x < dt) {
                problems.push(format!(
                    "node `{name}` ({ty}): parameter `{p}` = {x} s is shorter than the step dt = {dt} s (forward Euler needs tau ≥ dt)"
                ));
            }
        }
    }
    problems
}

/// The chip's `du` of a neuron: `round(4096·dt/τs) − 1`, 4095 without a current.
fn du_of(e: &Neuron) -> f64 {
    e.cur.map_or(4095.0, |a| (4096.0 * a).round() - 1.0)
}

/// A neuron node's discretised neurons and what reaches them.
struct Eqs<'a> {
    eqs: Vec<Neuron>,
    input: &'a Expr,
    /// The raw input weights onto the neurons (before scaling), and the largest |w|.
    raw_w: Vec<f64>,
    max_w: f64,
    /// Worst-case |u| in u units per unit of scale.
    u_per_scale: f64,
}

impl<'a> Eqs<'a> {
    fn new(node: &NirNode, n: usize, input: &'a Expr, dt: f64) -> Eqs<'a> {
        let eqs: Vec<Neuron> = (0..n).map(|i| neuron_eqs(node, i, dt)).collect();
        // Raw input weights and constant input onto each post neuron, before scaling.
        let mut max_w = 0f64;
        let mut raw_w = Vec::new();
        // Per post neuron: the summed positive and negative raw weights (every input spiking).
        let mut drive = vec![(0f64, 0f64); n];
        for t in input.terms.values() {
            for (&(_, post, _), &w) in t {
                let x = w * eqs.get(post).map_or(0.0, |e| e.gain);
                max_w = max_w.max(x.abs());
                raw_w.push(x);
                if let Some(d) = drive.get_mut(post) {
                    if x > 0.0 {
                        d.0 += x;
                    } else {
                        d.1 -= x;
                    }
                }
            }
        }
        // Worst-case |u| in u units per unit of scale: every presynaptic source spiking in
        // every step, so u settles at (summed weights)·4096/(du + 1); the 1/128 covers the
        // compiler's rounding of weights to 8-bit mantissas. `u` must stay within ±2^23.
        let u_per_scale = eqs
            .iter()
            .zip(&drive)
            .map(|(e, &(p, q))| 64.0 * p.max(q) * 4096.0 / (du_of(e) + 1.0) * (1.0 + 1.0 / 128.0))
            .fold(0f64, f64::max);
        Eqs {
            eqs,
            input,
            raw_w,
            max_w,
            u_per_scale,
        }
    }

    /// The first neuron whose threshold lies below its reset, if any.
    fn threshold_problems(&self, name: &str, ty: &str) -> Vec<String> {
        let mut problems = Vec::new();
        for (i, e) in self.eqs.iter().enumerate() {
            if let Some(t) = e.thr {
                if t < 0.0 {
                    problems.push(format!(
                        "node `{name}` ({ty}): neuron {i}: v_threshold is below v_reset ({t} below); the chip needs a non-negative threshold above the reset"
                    ));
                    break;
                }
            }
        }
        problems
    }

    fn u_fits(&self, c: f64) -> bool {
        c * self.u_per_scale <= f64::from(U_WRAP)
    }

    /// Neuron `i`'s bias at scale `c`, its constant input included.
    fn bias_of(&self, i: usize, c: f64) -> f64 {
        let e = &self.eqs[i];
        let b = self.input.bias.get(i).copied().unwrap_or(0.0);
        let frac = (du_of(e) + 1.0) / 4096.0;
        c * e.bias + c * e.gain * b / frac
    }

    /// Every threshold, bias and weight is exactly representable at scale `c`.
    fn exact_at(&self, c: f64) -> bool {
        self.eqs.iter().enumerate().all(|(i, e)| {
            e.thr
                .is_none_or(|t| is_whole(c * t) && c * t <= VTH_MAX as f64)
                && bias_exact(self.bias_of(i, c))
        }) && self.raw_w.iter().all(|&w| weight_exact(c * w))
    }

    /// The scale (module docs), and the one it was lowered from so `u` cannot wrap.
    fn scale(&self) -> (f64, Option<f64>) {
        if self.exact_at(1.0) && self.u_fits(1.0) {
            return (1.0, None);
        }
        let max_thr = self.eqs.iter().filter_map(|e| e.thr).fold(0f64, f64::max);
        let max_w = self.max_w;
        let mut k = if max_thr > 0.0 {
            (4096.0 / max_thr).log2().floor()
        } else if max_w > 0.0 {
            (256.0 / max_w).log2().floor()
        } else {
            0.0
        };
        k = k.clamp(-60.0, 60.0);
        while k > -60.0 && max_w * 2f64.powf(k) > W_MAX {
            k -= 1.0;
        }
        let k0 = k;
        while k > -60.0 && !self.u_fits(2f64.powf(k)) {
            k -= 1.0;
        }
        let headroom = (k < k0).then(|| 2f64.powf(k0));
        (2f64.powf(k), headroom)
    }

    /// The chip's LIF parameters of every neuron at `scale` (up to the first that cannot
    /// be, named in `problems`); rounded decays make the node inexact, with a note.
    fn chip_params(
        &self,
        name: &str,
        ty: &str,
        scale: f64,
        exact: &mut bool,
        notes: &mut Vec<String>,
        problems: &mut Vec<String>,
    ) -> Vec<LifParams> {
        let mut params = Vec::with_capacity(self.eqs.len());
        for (i, e) in self.eqs.iter().enumerate() {
            let du = du_of(e);
            let dv = (4096.0 * e.leak).round();
            if !is_whole(4096.0 * e.leak) || e.cur.is_some_and(|a| !is_whole(4096.0 * a)) {
                *exact = false;
                if notes.is_empty() {
                    notes.push("decays dt/tau are not multiples of 1/4096 (rounded)".to_string());
                }
            }
            if du < 0.0 {
                problems.push(format!(
                    "node `{name}` ({ty}): neuron {i}: tau_syn is so long that dt/tau_syn rounds to 0 in 1/4096 (the chip's current always leaks 1/4096 per step)"
                ));
                break;
            }
            let vth = match e.thr {
                Some(t) => (scale * t).round(),
                None => VTH_MAX as f64,
            };
            if vth > VTH_MAX as f64 {
                problems.push(format!(
                    "node `{name}` ({ty}): neuron {i}: threshold {vth} weight units exceeds the chip's {VTH_MAX}"
                ));
                break;
            }
            let (bias_mant, bias_exp) = match bias_fields(self.bias_of(i, scale)) {
                Ok(b) => b,
                Err(m) => {
                    problems.push(format!(
                        "node `{name}` ({ty}): neuron {i}: v_leak/bias not representable: {m}"
                    ));
                    break;
                }
            };
            params.push(LifParams {
                du: du.clamp(0.0, 4095.0) as u16,
                dv: dv.clamp(0.0, 4095.0) as u16,
                vth: vth as u32,
                bias_mant,
                bias_exp,
                refractory: 0,
            });
        }
        params
    }
}

/// One population per distinct parameter set, in order of first appearance (named
/// `name`, or `name#k` when there are several): the populations, each neuron's
/// (population, index in it), and each population's neurons.
#[allow(clippy::type_complexity)]
fn populations(name: &str, params: &[LifParams]) -> (Pops, Vec<(String, u32)>, Vec<Vec<usize>>) {
    let mut distinct: Vec<LifParams> = Vec::new();
    for p in params {
        if !distinct.contains(p) {
            distinct.push(*p);
        }
    }
    let pname = |k: usize| {
        if distinct.len() == 1 {
            name.to_string()
        } else {
            format!("{name}#{k}")
        }
    };
    let mut counts = vec![0u32; distinct.len()];
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); distinct.len()];
    let mut idx = Vec::with_capacity(params.len());
    for (i, p) in params.iter().enumerate() {
        let k = distinct.iter().position(|d| d == p).unwrap_or(0);
        idx.push((pname(k), counts[k]));
        counts[k] += 1;
        members[k].push(i);
    }
    let pops: Pops = distinct
        .iter()
        .enumerate()
        .map(|(k, p)| (pname(k), (*p, counts[k])))
        .collect();
    (pops, idx, members)
}
