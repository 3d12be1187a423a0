//! One projection's checks: its two ends, its sign against its source's (Dale's
//! principle), its weight law, its connectivity, and the delay and weight width the
//! chip allows.

use super::{conv, limit, partners};
use crate::context::{Compilation, NodeKind};
use crate::error::{LimitExceeded, Problem};
use crate::program::{Connect, Projection, Weight};
use amine_chip::image::Sign;

/// A projection whose two ends resolved: what every check below needs.
struct Ends<'a> {
    c: &'a Compilation,
    i: usize,
    pr: &'a Projection,
    from: usize,
    to: usize,
    npre: u32,
    npost: u32,
    sign: Sign,
}

impl Ends<'_> {
    fn at(&self, field: &str) -> String {
        format!("projections[{}].{field}", self.i)
    }

    fn dale(&self, w: f64) -> bool {
        match self.sign {
            Sign::Excitatory => w >= 0.0,
            Sign::Inhibitory => w <= 0.0,
            Sign::Mixed => true,
        }
    }

    fn dale_msg(&self, w: f64) -> String {
        format!(
            "weight {w} from {:?} `{}` breaks Dale's principle (its weights must be {})",
            self.sign,
            self.pr.from,
            if self.sign == Sign::Excitatory {
                "≥ 0"
            } else {
                "≤ 0"
            }
        )
    }
}

/// Every problem of projection `i` into `p`, every chip limit it breaks into `limits`.
pub(super) fn check(
    c: &Compilation,
    i: usize,
    p: &mut Vec<Problem>,
    limits: &mut Vec<LimitExceeded>,
) {
    let Some(e) = ends(c, i, p) else {
        return;
    };
    weight_law(&e, p);
    connectivity(&e, p, limits);
    hardware(&e, limits);
}

/// The resolved ends and sign, or `None` (with the problems pushed) when an end is missing.
fn ends<'a>(c: &'a Compilation, i: usize, p: &mut Vec<Problem>) -> Option<Ends<'a>> {
    let pr = &c.program.projections[i];
    let at = |f: &str| format!("projections[{i}].{f}");
    let from = c.node(&pr.from);
    let to = c.node(&pr.to);
    if from.is_none() {
        p.push(Problem::new(
            at("from"),
            format!("no population or input `{}`", pr.from),
        ));
    }
    match to.map(|t| c.nodes[t].kind) {
        None => p.push(Problem::new(at("to"), format!("no population `{}`", pr.to))),
        Some(NodeKind::Input(_)) => p.push(Problem::new(
            at("to"),
            format!("`{}` is an input; projections end on populations", pr.to),
        )),
        _ => {}
    }
    let (from, to) = (from?, to?);
    if let Some(s) = pr.sign {
        if c.nodes[from].sign != Sign::Mixed && c.nodes[from].sign != s {
            p.push(Problem::new(
                at("sign"),
                format!(
                    "{s:?} contradicts the {:?} sign of `{}`",
                    c.nodes[from].sign, pr.from
                ),
            ));
        }
    }
    Some(Ends {
        c,
        i,
        pr,
        from,
        to,
        npre: c.nodes[from].size,
        npost: c.nodes[to].size,
        sign: pr.sign_with(c.nodes[from].sign),
    })
}

/// `weight` present exactly when the connectivity carries no weights of its own, and
/// its law finite and on the source's side of zero.
fn weight_law(e: &Ends, p: &mut Vec<Problem>) {
    let pr = e.pr;
    let carries_weights = match &pr.connect {
        Connect::Dense(_) | Connect::Sparse(_) | Connect::File(_) => true,
        Connect::Conv { weights, .. } => weights.is_some(),
        _ => false,
    };
    match (&pr.weight, carries_weights) {
        (Some(_), true) => p.push(Problem::new(
            e.at("weight"),
            "this connectivity carries its own weights; remove `weight`",
        )),
        (None, false) => p.push(Problem::new(
            e.at("weight"),
            "required: Some(Const(w)), Some(Uniform(low:, high:)) or Some(Normal(mean:, std:))",
        )),
        _ => {}
    }
    let problem = match pr.weight.clone() {
        Some(Weight::Const(w)) if !w.is_finite() => format!("{w} is not finite"),
        Some(Weight::Const(w)) if !e.dale(w) => e.dale_msg(w),
        Some(Weight::Uniform { low, high })
            if !(low.is_finite() && high.is_finite() && low <= high) =>
        {
            format!("uniform bounds ({low}, {high}) must be finite with low ≤ high")
        }
        Some(Weight::Uniform { low, high }) if !e.dale(low) || !e.dale(high) => {
            e.dale_msg(if e.dale(low) { high } else { low })
        }
        Some(Weight::Normal { mean, std })
            if !(mean.is_finite() && std.is_finite() && std >= 0.0) =>
        {
            format!("normal ({mean}, {std}) needs a finite mean and std ≥ 0")
        }
        // Draws are truncated to the source's sign, which needs the mean on that side.
        Some(Weight::Normal { mean, .. }) if mean != 0.0 && !e.dale(mean) => e.dale_msg(mean),
        Some(Weight::TruncatedNormal { std }) if !(std.is_finite() && std >= 0.0) => {
            format!("truncated normal with std {std}: needs a finite std ≥ 0")
        }
        Some(Weight::TruncatedNormal { std }) if e.sign != Sign::Mixed && std > 0.0 => format!(
            "a truncated normal has both signs; `{}` is {:?} (Dale's principle)",
            pr.from, e.sign
        ),
        _ => return,
    };
    p.push(Problem::new(e.at("weight"), problem));
}

/// The connectivity's own parameters and, for listed synapses, every index and weight.
fn connectivity(e: &Ends, p: &mut Vec<Problem>, limits: &mut Vec<LimitExceeded>) {
    let (pr, npre, npost) = (e.pr, e.npre, e.npost);
    match &pr.connect {
        Connect::Distance { sigma, .. } => distance(e, *sigma, p),
        Connect::FixedTotal { p: prob } => {
            if !(0.0..=1.0).contains(prob) {
                p.push(Problem::new(
                    e.at("connect.p"),
                    format!("{prob} is not a fraction in [0, 1]"),
                ));
            }
        }
        Connect::All => {}
        Connect::OneToOne => {
            if npre != npost {
                p.push(Problem::new(
                    e.at("connect"),
                    format!(
                        "OneToOne needs equal sizes, `{}` has {npre} and `{}` {npost}",
                        pr.from, pr.to
                    ),
                ));
            }
        }
        Connect::Random {
            p: prob,
            modules,
            partners,
            ..
        } => random(e, *prob, *modules, *partners, p),
        Connect::Dense(rows) => dense(e, rows, p),
        Connect::Sparse(list) => {
            for (k, &(a, b, w)) in list.iter().enumerate() {
                let m = if a >= npre || b >= npost {
                    format!("({a}, {b}) is outside {npre} × {npost}")
                } else if !w.is_finite() {
                    format!("{w} is not finite")
                } else if !e.dale(w) {
                    e.dale_msg(w)
                } else {
                    continue;
                };
                p.push(Problem::new(
                    format!("projections[{}].connect[{k}]", e.i),
                    m,
                ));
                break;
            }
        }
        Connect::Conv { .. } | Connect::Pool { .. } => {
            if matches!(pr.connect, Connect::Pool { .. })
                && !matches!(pr.weight, Some(Weight::Const(_)) | None)
            {
                p.push(Problem::new(
                    e.at("weight"),
                    "pooling takes one weight for every tap: Some(Const(w))",
                ));
            }
            if let Some(spec) = pr.connect.conv_spec() {
                let (dale, dale_msg) = (|w| e.dale(w), |w| e.dale_msg(w));
                conv::check(e.c, e.i, &spec, (npre, npost), &dale, &dale_msg, p, limits);
            }
        }
        Connect::File(f) => file(e, f, p),
    }
}

/// Distance connectivity: a positive width, and positions at both ends.
fn distance(e: &Ends, sigma: f64, p: &mut Vec<Problem>) {
    if !(sigma.is_finite() && sigma > 0.0) {
        p.push(Problem::new(
            e.at("connect.sigma"),
            format!("{sigma} must be finite and positive"),
        ));
    }
    for (name, node) in [(&e.pr.from, e.from), (&e.pr.to, e.to)] {
        let placed = match e.c.nodes[node].kind {
            NodeKind::Population(q) => e.c.program.populations[q].positions.is_some(),
            NodeKind::Input(_) => false,
        };
        if !placed {
            p.push(Problem::new(
                e.at("connect"),
                format!("Distance connectivity needs positions, and `{name}` has none"),
            ));
        }
    }
}

/// Random connectivity: a probability, a module count both ends divide into, partners.
fn random(e: &Ends, prob: f64, modules: Option<u32>, partners: Option<u32>, p: &mut Vec<Problem>) {
    let (npre, npost) = (e.npre, e.npost);
    if !(0.0..=1.0).contains(&prob) {
        p.push(Problem::new(
            e.at("connect.p"),
            format!("{prob} is not a probability in [0, 1]"),
        ));
    }
    if let Some(m) = modules {
        if m == 0 || m > npre.min(npost) {
            p.push(Problem::new(
                e.at("connect.modules"),
                format!(
                    "{m} modules for sizes {npre} and {npost}: need 1..={}",
                    npre.min(npost)
                ),
            ));
        }
    }
    if let Some(n) = partners {
        partners::problems(n, modules, &|f| e.at(f), p);
    }
}

/// A dense matrix: one row per source, one column per target, finite weights of the
/// source's sign (the first problem only).
fn dense(e: &Ends, rows: &[Vec<f64>], p: &mut Vec<Problem>) {
    let (pr, i) = (e.pr, e.i);
    if rows.len() != e.npre as usize {
        p.push(Problem::new(
            e.at("connect"),
            format!("{} rows, `{}` has {} neurons", rows.len(), pr.from, e.npre),
        ));
    }
    for (r, row) in rows.iter().enumerate() {
        if row.len() != e.npost as usize {
            p.push(Problem::new(
                format!("projections[{i}].connect[{r}]"),
                format!("{} columns, `{}` has {} neurons", row.len(), pr.to, e.npost),
            ));
            break;
        }
        if let Some(w) = row.iter().find(|w| !w.is_finite() || !e.dale(**w)) {
            let m = if w.is_finite() {
                e.dale_msg(*w)
            } else {
                format!("{w} is not finite")
            };
            p.push(Problem::new(format!("projections[{i}].connect[{r}]"), m));
            break;
        }
    }
}

/// A synapse file: every index in range and every weight of the source's sign (the
/// first problem only, named by file and line).
fn file(e: &Ends, f: &str, p: &mut Vec<Problem>) {
    let (pr, npre, npost) = (e.pr, e.npre, e.npost);
    let t = &e.c.synapse_files[f];
    for s in &t.synapses {
        let m = if s.pre >= npre {
            format!("pre index {} but `{}` has {npre} neurons", s.pre, pr.from)
        } else if s.post >= npost {
            format!("post index {} but `{}` has {npost} neurons", s.post, pr.to)
        } else if !e.dale(s.weight) {
            e.dale_msg(s.weight)
        } else {
            continue;
        };
        p.push(Problem::new(format!("{}:{}", t.origin, s.line), m));
        break;
    }
}

/// The delay and a forced weight width against the chip's cores.
fn hardware(e: &Ends, limits: &mut Vec<LimitExceeded>) {
    let (c, pr) = (e.c, e.pr);
    let chip = &c.chip.core;
    let d = max_delay(c, e.i);
    let dmax = (1u32 << chip.max_delay_bits) - 1;
    if d > dmax {
        limits.push(limit(
            c,
            "core.max_delay_bits",
            format!("projection `{}` (delay {d} steps)", pr.name()),
            crate::passes::quantize::bits_for_value(d as u64) as u64,
            chip.max_delay_bits as u64,
            &format!("keep delays within {dmax} steps"),
        ));
    }
    if let Some(b) = pr.weight_bits {
        if !chip.weight_bits.contains(&b) {
            limits.push(limit(
                c,
                "core.weight_bits",
                format!("projection `{}`", pr.name()),
                b as u64,
                chip.weight_bits.iter().copied().max().unwrap_or(0) as u64,
                &format!("use one of the supported widths {:?}", chip.weight_bits),
            ));
        }
    }
}

/// A projection's longest delay: its own, or the longest of its synapse file's.
fn max_delay(c: &Compilation, i: usize) -> u32 {
    let pr = &c.program.projections[i];
    let file = match &pr.connect {
        Connect::File(f) => c.synapse_files[f]
            .synapses
            .iter()
            .filter_map(|s| s.delay)
            .max()
            .unwrap_or(0),
        _ => 0,
    };
    (pr.delay as u32).max(file)
}
