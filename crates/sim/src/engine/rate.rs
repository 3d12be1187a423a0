//! The host changing the learning rate between epochs: it rewrites the scale register
//! of every term of every learning rule (the mantissa and shift the engine multiplies
//! an update by), in every core that runs the rule. Each register written is a
//! `rule_write` event, priced by `costs.rule_write` (energy in the learning component;
//! its cycles join the simulated time, the chip waiting for the host), so a schedule
//! of rates is part of the run's accounting.

use super::Simulator;
use crate::error::Error;
use crate::state::SimState;
use amine_chip::learning::engine::PreparedRule;

impl Simulator {
    /// Scale every (non e-prop) learning rule's rate by `factor` of the image's, each
    /// term's scale rounded to the engine's 8-bit mantissa
    /// ([`amine_chip::learning::RuleProgram::scaled`]). The registers are written (and
    /// counted) only when `factor` differs from the one `state` holds; the simulator's
    /// rules always follow `state` afterwards, so calling this after resuming from a
    /// checkpoint loads the saved rate without counting a write again.
    pub fn set_learning_rate(&mut self, state: &mut SimState, factor: f64) -> Result<(), Error> {
        if !(factor > 0.0 && factor.is_finite()) {
            return Err(Error::options(format!(
                "learning-rate factor {factor}: must be positive and finite"
            )));
        }
        if state.host.rate_scale.unwrap_or(1.0) != factor {
            let mut writes = 0u64;
            for (table, core) in self.tables.cores.iter().zip(&mut state.cores) {
                let n: u64 = table
                    .learn
                    .slots
                    .iter()
                    .map(|cs| &self.tables.learning[cs.slot])
                    .filter(|slot| slot.eprop.is_none())
                    .map(|slot| slot.microcode.terms() as u64)
                    .sum();
                core.counts.rule_write += n;
                writes += n;
            }
            state.chip.cycles += writes * self.config.costs.rule_write.cycles;
            state.host.rate_scale = Some(factor);
        }
        if self.tables.rate_scale != factor {
            for slot in self
                .tables
                .learning
                .iter_mut()
                .filter(|s| s.eprop.is_none())
            {
                slot.rule = PreparedRule::new(&slot.microcode.scaled(factor));
            }
            self.tables.rate_scale = factor;
        }
        Ok(())
    }
}
