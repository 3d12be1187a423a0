//! What the Error Diffusion tests share: the chip, a slice of the digits, and the
//! learned weights read back.

use amine_chip::synapse::{effective_weight, SignMode};
use amine_chip::ChipConfig;
use amine_sim::Simulator;
use amine_tasks::Split;

pub fn chip() -> ChipConfig {
    amine_chip::presets::preset("loihi").unwrap()
}

/// The first `train` training and `test` test digits.
pub fn digits(train: usize, test: usize) -> Split {
    let mut s = amine_tasks::parse_task("digits").unwrap().load().unwrap();
    s.train.inputs.truncate(train);
    s.train.labels.truncate(train);
    s.test.inputs.truncate(test);
    s.test.labels.truncate(test);
    s
}

/// Every plastic synapse as (sign mode, effective weight).
pub fn weights(sim: &Simulator, state: &amine_sim::SimState) -> Vec<(SignMode, i64)> {
    sim.plastic_rows(state)
        .flat_map(|(sign, ms, e)| {
            ms.iter()
                .map(move |&m| (sign, effective_weight(m, e) as i64))
        })
        .collect()
}
