//! The host's e-prop interface: the engine's rows and image for audits, and the trial
//! and batch boundaries (begin a trial, end it, apply the summed gradients), each
//! priced as the e-prop engine's work.

use super::Simulator;
use crate::error::Error;
use crate::state::SimState;

impl Simulator {
    /// The e-prop engine's rows as `state` holds them, for audits and tests: per e-prop
    /// row of the engine's core, its synapse-memory row, its traces (εv, εa, ē, Σe, g)
    /// and its weight mantissas.
    pub fn eprop_rows<'s>(
        &'s self,
        state: &'s SimState,
    ) -> Vec<(u32, &'s amine_chip::learning::eprop::EpropRow, &'s [i32])> {
        let Some(t) = &self.tables.eprop else {
            return Vec::new();
        };
        let learn = &self.tables.cores[t.core].learn;
        learn
            .rows
            .iter()
            .zip(&state.cores[t.core].plastic)
            .enumerate()
            .filter(|(ri, _)| t.row_consts[*ri].is_some())
            .map(|(_, (p, ps))| (p.row, &ps.eprop, ps.mantissas.as_slice()))
            .collect()
    }

    /// The image's e-prop engine, if it has one.
    pub fn eprop_image(&self) -> Option<&amine_chip::image::eprop::EpropImage> {
        self.tables.eprop.as_ref().map(|t| &t.image)
    }

    /// The host starts an e-prop trial: the engine's trial reset (its core's neurons,
    /// accumulators, traces, readouts and the grid to zero; gradients and weights
    /// stay) and the error units' target.
    pub fn eprop_begin_trial(
        &mut self,
        state: &mut SimState,
        target: crate::learning_eprop::EpropTarget,
    ) -> Result<(), Error> {
        let (Some(t), Some(e)) = (&self.tables.eprop, &mut state.eprop) else {
            return Err(Error::options("the image has no e-prop engine"));
        };
        for q in &mut state.host.pending {
            q.clear();
        }
        crate::learning_eprop::begin_trial(
            &mut state.cores[t.core],
            e,
            state.grid.as_mut(),
            target,
        );
        Ok(())
    }

    /// The host ends an e-prop trial: with learning on, the rate unit adds its
    /// regulariser to the gradients (its cycles join the simulated time).
    pub fn eprop_end_trial(&mut self, state: &mut SimState) -> Result<(), Error> {
        let (Some(t), Some(e)) = (&self.tables.eprop, &state.eprop) else {
            return Err(Error::options("the image has no e-prop engine"));
        };
        let cycles = crate::learning_eprop::end_trial(
            t,
            &mut state.cores[t.core],
            e,
            state.host.learning_on,
            &self.config.costs,
        );
        state.chip.cycles += cycles;
        state.chip.learning_cycles += cycles;
        Ok(())
    }

    /// The host ends a batch: the update unit applies the gradients summed since the
    /// last update to every plastic and readout weight (its cycles join the simulated
    /// time).
    pub fn eprop_update(
        &mut self,
        state: &mut SimState,
    ) -> Result<crate::learning_eprop::UpdateStats, Error> {
        let (Some(t), Some(e)) = (&self.tables.eprop, &mut state.eprop) else {
            return Err(Error::options("the image has no e-prop engine"));
        };
        let (st, cycles) = crate::learning_eprop::update(
            t,
            &self.tables.cores[t.core],
            &mut state.cores[t.core],
            e,
            &self.config.costs,
        );
        state.chip.cycles += cycles;
        state.chip.learning_cycles += cycles;
        Ok(st)
    }
}
