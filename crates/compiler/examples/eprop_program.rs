//! Prints the e-prop template's program (default network) as RON, for `amine run`.
//!
//! `eprop_program [P] [static]`: with `P`, the input port `x` sends Bernoulli spikes
//! with probability `P` per step (0.01 is the cue task's 10 Hz background) instead of
//! being `External`; `static` drops every learning rule (to time the simulator without
//! the e-prop unit).

use amine_compiler::program::Source;
use amine_compiler::templates::{eprop, EpropNetwork};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut program = eprop(&EpropNetwork::default());
    if let Some(p) = args.first().and_then(|a| a.parse::<f64>().ok()) {
        program.inputs[0].source = Source::Bernoulli {
            p,
            seed: Some(program.seed),
        };
    }
    if args.iter().any(|a| a == "static") {
        for projection in &mut program.projections {
            projection.learning = None;
        }
    }
    print!("{}", program.to_ron());
}
