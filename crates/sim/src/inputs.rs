//! Input ports: which inputs spike in which step.
//!
//! - `Bernoulli { p, seed }` and `Poisson { rate_hz, dt_s, seed }` (p = 1 − e^(−rate·dt))
//!   draw from a **counter-based** hash of `(seed, port, step, index)`: no generator
//!   state, so a spike never depends on the thread count, on the order of evaluation or
//!   on earlier steps, and a snapshot needs no RNG state.
//! - `Explicit { spikes }` replays the image's own (step, index) list.
//! - `External` ports are fed from [`ExternalSpikes`], e.g. read by [`parse_csv`] from
//!   `amine run --input spikes.csv`.

use crate::error::Error;
use crate::tables::PortTable;
use amine_chip::csvread;
use amine_chip::image::{ChipImage, InputSource};

/// splitmix64's finaliser: a bijective 64-bit mix with full avalanche.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The counter-based hash behind Bernoulli and Poisson inputs.
pub fn input_hash(seed: u64, port: u32, step: u32, index: u32) -> u64 {
    let h = mix(seed ^ 0x9e37_79b9_7f4a_7c15);
    let h = mix(h ^ ((port as u64) << 32 | step as u64));
    mix(h ^ index as u64)
}

/// `h < threshold` happens with probability `p` for a uniform 64-bit `h`.
fn threshold(p: f64) -> Option<u64> {
    if p.is_nan() || p <= 0.0 {
        Some(0)
    } else if p >= 1.0 {
        None
    } else {
        // p · 2^64, exact to the 53 bits of p.
        Some((p * 18_446_744_073_709_551_616.0) as u64)
    }
}

/// Spikes for the `External` ports, sorted by (step, index), one list per port of the
/// image (empty for other ports).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExternalSpikes {
    pub per_port: Vec<Vec<(u32, u32)>>,
}

impl ExternalSpikes {
    /// No external spikes for an image with `ports` input ports.
    pub fn none(ports: usize) -> ExternalSpikes {
        ExternalSpikes {
            per_port: vec![Vec::new(); ports],
        }
    }
}

/// Append the indices of port `pi` that spike in `step` to `out` (in increasing order);
/// a large port's draws are split over `threads`.
pub(crate) fn port_spikes(
    pi: usize,
    port: &PortTable,
    step: u32,
    external: &ExternalSpikes,
    threads: usize,
    out: &mut Vec<u32>,
) {
    let from_list = |list: &[(u32, u32)], out: &mut Vec<u32>| {
        let a = list.partition_point(|&(s, _)| s < step);
        let b = list.partition_point(|&(s, _)| s <= step);
        out.extend(list[a..b].iter().map(|&(_, i)| i));
    };
    let draw = |p: f64, seed: u64, out: &mut Vec<u32>| match threshold(p) {
        Some(0) => {}
        None => out.extend(0..port.size),
        Some(thr) => crate::par::filter_range(threads, port.size, out, |i| {
            input_hash(seed, pi as u32, step, i) < thr
        }),
    };
    match &port.source {
        InputSource::Bernoulli { p, seed } => draw(*p, *seed, out),
        InputSource::Poisson {
            rate_hz,
            dt_s,
            seed,
        } => draw(1.0 - (-rate_hz * dt_s).exp(), *seed, out),
        InputSource::Explicit { spikes } => from_list(spikes, out),
        InputSource::External => {
            if let Some(list) = external.per_port.get(pi) {
                from_list(list, out)
            }
        }
        // Graded ports send what the host queued (`Simulator::send_graded`).
        InputSource::Graded { .. } => {}
    }
}

/// Most spike rows an input file for `image` and `steps` steps can hold: every input of
/// every `External` port spiking in every step.
pub fn max_spike_rows(image: &ChipImage, steps: u32) -> u64 {
    let inputs: u64 = image
        .inputs
        .iter()
        .filter(|p| matches!(p.source, InputSource::External))
        .map(|p| u64::from(p.size))
        .sum();
    inputs.saturating_mul(u64::from(steps))
}

/// Most bytes an input spike file for `image` and `steps` steps may have: 64 per row it
/// can hold plus 1 MiB of comments, at most 1 GiB.
pub fn max_spike_file_bytes(image: &ChipImage, steps: u32) -> u64 {
    max_spike_rows(image, steps)
        .saturating_mul(64)
        .saturating_add(1 << 20)
        .min(1 << 30)
}

/// Read an input spike file for `image`: CSV lines `step,index` (or `port,step,index`
/// when the image has several `External` ports) in the dialect of
/// [`amine_chip::csvread`] (an optional header line, `#` comment lines, blank lines).
/// Every index must be below the port's size and every step below `steps`, and the
/// file has at most [`max_spike_rows`] rows. Errors name `origin:line:col`.
pub fn parse_csv(
    text: &str,
    origin: &str,
    image: &ChipImage,
    steps: u32,
) -> Result<ExternalSpikes, Error> {
    let external: Vec<usize> = image
        .inputs
        .iter()
        .enumerate()
        .filter(|(_, p)| matches!(p.source, InputSource::External))
        .map(|(i, _)| i)
        .collect();
    if external.is_empty() {
        return Err(Error::input(
            origin,
            0,
            0,
            "the image has no External input port to feed (its inputs generate their own spikes)",
        ));
    }
    let file =
        csvread::read(text, origin).map_err(|e| Error::input(origin, e.line, e.col, e.message))?;
    let mut out = ExternalSpikes::none(image.inputs.len());
    let max_rows = max_spike_rows(image, steps);
    for (rows, r) in (1u64..).zip(&file.records) {
        let located = |i: usize, message: String| {
            let e = r.error(origin, i, message);
            Error::input(origin, e.line, e.col, e.message)
        };
        let (port, first) = match r.fields.len() {
            2 if external.len() == 1 => (external[0], 0),
            2 => {
                return Err(located(
                    0,
                    format!(
                        "the image has {} External ports: write `port,step,index`",
                        external.len()
                    ),
                ))
            }
            3 => {
                let name = &r.fields[0].text;
                let p = image
                    .inputs
                    .iter()
                    .position(|p| p.name == *name)
                    .ok_or_else(|| located(0, format!("no input port `{name}`")))?;
                if !external.contains(&p) {
                    return Err(located(0, format!("input port `{name}` is not External")));
                }
                (p, 1)
            }
            n => {
                return Err(located(
                    0,
                    format!("expected `step,index`, found {n} fields"),
                ))
            }
        };
        let num = |i: usize, what: &str| {
            let f = &r.fields[i].text;
            f.parse::<u32>()
                .map_err(|_| located(i, format!("{what} `{f}` is not a non-negative integer")))
        };
        if rows > max_rows {
            return Err(located(
                0,
                format!(
                    "more than {max_rows} spikes: each of the External ports' inputs spikes at most once in each of the {steps} steps"
                ),
            ));
        }
        let step = num(first, "step")?;
        let index = num(first + 1, "index")?;
        if step >= steps {
            return Err(located(
                first,
                format!("step {step} is not below --steps {steps}"),
            ));
        }
        let size = image.inputs[port].size;
        if index >= size {
            return Err(located(
                first + 1,
                format!(
                    "index {index} is out of range: input port `{}` has {size} inputs (0..{size})",
                    image.inputs[port].name
                ),
            ));
        }
        out.per_port[port].push((step, index));
    }
    for list in &mut out.per_port {
        list.sort_unstable();
        list.dedup();
    }
    Ok(out)
}
