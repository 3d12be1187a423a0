//! The compiler's parallel passes (expand, partition's key lists and rows, emit) give
//! the same image, byte for byte, in thread pools of any size.

use amine_compiler::compile_str;
use std::path::Path;

#[test]
fn images_are_identical_in_pools_of_1_2_and_3_threads() {
    // Several projections (expanded side by side), thousands of sources in more than one
    // emit block, rows on many cores and random weights.
    let text = r#"Program(name: "pools", seed: 11, dt_ms: 1.0,
        populations: [
            (name: "exc", size: 39200, sign: Excitatory, model: Lif(tau_syn: Steps(8), tau_mem: Steps(16), threshold: 1000)),
            (name: "inh", size: 9800, sign: Inhibitory, model: Lif(tau_syn: Steps(8), tau_mem: Steps(16), threshold: 1000)),
        ],
        inputs: [(name: "in", size: 2940, source: Bernoulli(p: 0.04))],
        projections: [
            (from: "in", to: "exc", connect: Random(p: 0.2, modules: Some(49)), weight: Some(Uniform(low: 1.0, high: 30.0))),
            (from: "exc", to: "exc", connect: Random(p: 0.05, allow_self: false, modules: Some(49)), weight: Some(Uniform(low: 0.5, high: 6.0))),
            (from: "exc", to: "inh", connect: Random(p: 0.05, modules: Some(49)), weight: Some(Const(4.0))),
            (from: "inh", to: "exc", connect: Random(p: 0.05, modules: Some(49)), weight: Some(Const(-20.0))),
        ],
        mapping: (colocate: [["exc", "inh"]]),
    )"#;
    let chip = amine_chip::presets::preset("loihi").unwrap();
    let compile = || {
        compile_str(text, "pools.ron", Path::new("."), &chip)
            .unwrap()
            .image
            .to_bytes()
    };
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(compile);
    for threads in [2, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let image = pool.install(compile);
        assert!(image == one, "{threads} threads: the image differs");
    }
}
