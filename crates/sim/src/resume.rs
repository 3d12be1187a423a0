//! Resuming a run: the body of an `amine run` checkpoint and the check that a state
//! read from a file fits the simulator it is given to.
//!
//! A checkpoint's checksum catches damage, but a state is also checked for shape —
//! every per-core, per-compartment, per-row and per-port array as long as this image
//! makes it, the grid of this chip's size, queued graded values within their ports — so
//! that no file, however it was made, can make a step index out of bounds.

use crate::engine::Simulator;
use crate::error::Error;
use crate::learning_eprop::EpropEngineState;
use crate::monitor::Recording;
use crate::record::Recorder;
use crate::state::{CoreState, PlasticState, PostTraces, SimState};
use serde::{Deserialize, Serialize};

/// What `amine run` checkpoints: the simulator's state, what the run recorded and,
/// for a run with a report, what its monitors recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunBody {
    pub state: SimState,
    pub recorder: Recorder,
    pub recording: Option<Recording>,
}

fn same(what: &str, a: usize, b: usize) -> Result<(), String> {
    if a == b {
        Ok(())
    } else {
        Err(format!("{what} has {a} entries, the image needs {b}"))
    }
}

fn core_shape(k: usize, s: &CoreState, want: &CoreState) -> Result<(), String> {
    let at = |f: &str| format!("core {k}: {f}");
    same(&at("u"), s.u.len(), want.u.len())?;
    same(&at("v"), s.v.len(), want.v.len())?;
    same(&at("refractory"), s.refractory.len(), want.refractory.len())?;
    same(&at("a"), s.a.len(), want.a.len())?;
    same(&at("out"), s.out.len(), want.out.len())?;
    same(&at("acc"), s.acc.len(), want.acc.len())?;
    same(&at("touched"), s.touched.len(), want.touched.len())?;
    same(&at("plastic rows"), s.plastic.len(), want.plastic.len())?;
    for (r, (p, w)) in s.plastic.iter().zip(&want.plastic).enumerate() {
        row_shape(&at(&format!("plastic row {r}")), p, w)?;
    }
    same(&at("post traces"), s.post.len(), want.post.len())?;
    for (i, (p, w)) in s.post.iter().zip(&want.post).enumerate() {
        post_shape(&at(&format!("post traces {i}")), p, w)?;
    }
    Ok(())
}

fn row_shape(at: &str, p: &PlasticState, w: &PlasticState) -> Result<(), String> {
    same(
        &format!("{at} mantissas"),
        p.mantissas.len(),
        w.mantissas.len(),
    )?;
    same(&format!("{at} tags"), p.tags.len(), w.tags.len())?;
    same(&format!("{at} weights"), p.weights.len(), w.weights.len())?;
    same(
        &format!("{at} εa"),
        p.eprop.eps_a.len(),
        w.eprop.eps_a.len(),
    )?;
    same(&format!("{at} ē"), p.eprop.ebar.len(), w.eprop.ebar.len())?;
    same(&format!("{at} Σe"), p.eprop.esum.len(), w.eprop.esum.len())?;
    same(&format!("{at} g"), p.eprop.g.len(), w.eprop.g.len())
}

/// The e-prop engine's arrays as long as the image makes them (its private per-step
/// products are recomputed before they are read, so equal lengths of the rest suffice
/// for them too).
fn eprop_shape(s: &EpropEngineState, w: &EpropEngineState) -> Result<(), String> {
    let at = |f: &str| format!("e-prop engine: {f}");
    same(&at("y"), s.y.len(), w.y.len())?;
    same(&at("y_sum"), s.y_sum.len(), w.y_sum.len())?;
    same(&at("err"), s.err.len(), w.err.len())?;
    same(&at("z̄"), s.zbar.len(), w.zbar.len())?;
    same(&at("count"), s.count.len(), w.count.len())?;
    same(&at("ψ"), s.psi.len(), w.psi.len())?;
    same(&at("ψ prev"), s.psi_prev.len(), w.psi_prev.len())?;
    same(&at("refractory"), s.refr_last.len(), w.refr_last.len())?;
    same(&at("idle"), s.idle.len(), w.idle.len())?;
    same(&at("readout weights"), s.w_out.len(), w.w_out.len())?;
    same(&at("readout gradients"), s.g_out.len(), w.g_out.len())?;
    same(&at("arrivals"), s.arrived_prev.len(), w.arrived_prev.len())?;
    same(&at("moments"), s.moments.len(), w.moments.len())?;
    for (r, (a, b)) in s.moments.iter().zip(&w.moments).enumerate() {
        same(&at(&format!("moments of row {r}")), a.len(), b.len())?;
    }
    same(
        &at("readout moments"),
        s.readout_moments.len(),
        w.readout_moments.len(),
    )?;
    if s.adam.is_some() != w.adam.is_some() {
        return Err(at("Adam is not configured as in the image"));
    }
    if !s.post_fits(w) {
        return Err(at("per-compartment products"));
    }
    match s.target {
        crate::learning_eprop::EpropTarget::Class(c) if c >= s.y.len() => {
            Err(at(&format!("target class {c} of {} readouts", s.y.len())))
        }
        _ => Ok(()),
    }
}

fn post_shape(at: &str, p: &PostTraces, w: &PostTraces) -> Result<(), String> {
    same(&format!("{at} y0"), p.y0.len(), w.y0.len())?;
    same(&format!("{at} y1"), p.y1.len(), w.y1.len())?;
    same(&format!("{at} y2"), p.y2.len(), w.y2.len())?;
    same(&format!("{at} y3"), p.y3.len(), w.y3.len())
}

fn grid_shape(
    g: &amine_chip::modgrid::ModGrid,
) -> (u32, u32, usize, amine_chip::config::GridFormat) {
    (g.width(), g.height(), g.channels(), g.format())
}

impl Simulator {
    /// Whether `state` fits this simulator: every array as long as the image makes it
    /// (compared with [`Simulator::initial_state`]), the grid of the chip's shape, row
    /// exponents within the chip's range and queued graded values within their ports.
    pub fn check_state(&self, state: &SimState, origin: &str) -> Result<(), Error> {
        let want = self.initial_state();
        let shape = || -> Result<(), String> {
            same("cores", state.cores.len(), want.cores.len())?;
            for (k, (s, w)) in state.cores.iter().zip(&want.cores).enumerate() {
                core_shape(k, s, w)?;
            }
            match (&state.grid, &want.grid) {
                (None, None) => {}
                (Some(a), Some(b)) if grid_shape(a) == grid_shape(b) => {}
                _ => return Err("the modulator grid is not this chip's".into()),
            }
            let (lo, hi) = (
                self.config().core.weight_exponent_min,
                self.config().core.weight_exponent_max,
            );
            for core in &state.cores {
                if let Some(p) = core
                    .plastic
                    .iter()
                    .find(|p| p.exponent < lo || p.exponent > hi)
                {
                    return Err(format!("a row exponent {} outside {lo}..={hi}", p.exponent));
                }
            }
            match (&state.eprop, &want.eprop) {
                (None, None) => {}
                (Some(a), Some(b)) => eprop_shape(a, b)?,
                _ => return Err("the e-prop engine is not this image's".into()),
            }
            let system_shape = |c: &crate::links::SystemCounts| {
                (c.links.len(), c.finish_sum.len(), c.finish_max.len())
            };
            if state.system.as_ref().map(system_shape) != want.system.as_ref().map(system_shape) {
                return Err("its chip-to-chip links and chips are not this run's system".into());
            }
            same(
                "queued inputs",
                state.host.pending.len(),
                want.host.pending.len(),
            )?;
            for (port, q) in state.host.pending.iter().enumerate() {
                self.check_queued(port, q)?;
            }
            Ok(())
        };
        shape().map_err(|m| Error::checkpoint(origin, format!("the state does not fit: {m}")))
    }
}
