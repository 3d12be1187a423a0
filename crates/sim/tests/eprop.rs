//! The e-prop eligibility unit in the simulator: an ALIF neuron with a plastic input row
//! learns against the learning signal read from the modulator grid.

mod common;
use amine_chip::config::{ChipConfig, NeuronModelKind};
use amine_chip::image::{ChipImage, InputSource, LearningSlot, ModSource, PlasticRow};
use amine_chip::learning::eprop::EpropParams;
use amine_chip::learning::traces::default_traces;
use amine_chip::learning::RuleProgram;
use amine_chip::neuron::alif::{AlifParams, Reset};
use amine_chip::neuron::lif::LifParams;
use amine_chip::neuron::NeuronParams;
use amine_sim::{SimOptions, SimState, Simulator};
use common::{lif, tiny, Builder};

fn eprop_slot(epoch: u32, eta: f64) -> LearningSlot {
    let [x1, x2, y1, y2, y3] = default_traces(None, None);
    LearningSlot {
        projection: "in->alif".into(),
        rule: "eprop".into(),
        params: vec![],
        epoch,
        microcode: RuleProgram { equations: vec![] },
        x1,
        x2,
        y1,
        y2,
        y3,
        seed: 5,
        renormalise: false,
        eprop: Some(EpropParams {
            alpha: (-1.0f64 / 20.0).exp(),
            rho: (-1.0f64 / 200.0).exp(),
            beta: 1.0,
            kappa: (-1.0f64 / 20.0).exp(),
            eta,
            channel: 0,
            frac_bits: 16,
        }),
    }
}

/// An ALIF neuron near its threshold (compartment 0, thr = 6400) on every core in
/// `cores`, a plastic row (mantissa 10: 640 per spike) from a Bernoulli input, and, if
/// `gain` is not 0, a bias-driven LIF (compartment 1) that injects `gain` per spike
/// into channel 0 at the cell the ALIF reads.
fn image(chip: &ChipConfig, cores: &[u32], gain: f64, epoch: u32, eta: f64) -> ChipImage {
    let mut b = Builder::new(chip.clone());
    let alif = NeuronParams::Alif(AlifParams {
        lif: LifParams {
            du: 4095,
            dv: 256,
            vth: 100,
            bias_mant: 330,
            bias_exp: 0,
            refractory: 2,
        },
        da: 20,
        a_inc: 1500,
        reset: Reset::Subtract,
    });
    let port = b.input(
        "in",
        cores.len() as u32,
        InputSource::Bernoulli { p: 0.3, seed: 9 },
        (0, 0),
    );
    let mut rows = vec![];
    for (i, &c) in cores.iter().enumerate() {
        b.neurons(c, 1, alif.clone());
        b.neurons(c, 1, lif(4095, 0, 10, 100));
        let r = b.row(c, &[(0, 10)]);
        b.connect_input(port, i as u32, c, r);
        rows.push((c, r));
        if gain != 0.0 {
            b.modulator.sources.push(ModSource {
                core: c,
                compartment: 1,
                channel: 0,
                gain,
                cell: (0, 0),
                region: Some((chip.modulator.width, chip.modulator.height)),
            });
        }
    }
    let blocks: Vec<(u32, u32, u32)> = cores.iter().map(|&c| (c, 0, 2)).collect();
    b.population("net", NeuronModelKind::Alif, &blocks);
    let mut image = b.build();
    for (c, r) in rows {
        let core = image.cores.iter_mut().find(|k| k.id == c).unwrap();
        core.plastic_rows = vec![PlasticRow { row: r, slot: 0 }];
    }
    image.learning = vec![eprop_slot(epoch, eta)];
    let problems = image.verify(chip);
    assert!(problems.is_empty(), "{problems:?}");
    image
}

fn run(chip: &ChipConfig, image: &ChipImage, steps: u32, threads: usize) -> SimState {
    let mut sim = Simulator::new(
        chip,
        image,
        SimOptions {
            steps,
            threads,
            ..SimOptions::default()
        },
    )
    .unwrap();
    let mut state = sim.initial_state();
    sim.run(&mut state, |_, _| {});
    state
}

const STEPS: u32 = 300;

#[test]
fn the_weight_moves_against_m_times_ebar() {
    let chip = tiny();
    let eta = 0.1;
    for gain in [1.0, -1.0] {
        // First without an epoch in the run: g = Σ m·ē as accumulated.
        let s = run(&chip, &image(&chip, &[0], gain, 1_000_000, eta), STEPS, 1);
        let row = &s.cores[0].plastic[0];
        let g = row.eprop.g[0] as f64 / 2f64.powi(16 + chip.modulator.format.frac_bits() as i32);
        assert!(row.eprop.ebar[0] > 0, "the ALIF neuron sits near threshold");
        assert!(g * gain > 0.0, "m has the sign of the gain: g = {g}");
        assert_eq!(row.mantissas, vec![10], "no epoch yet, no weight change");
        // Then with the epoch at the last step: Δw = −η·g, rounded stochastically.
        let s = run(&chip, &image(&chip, &[0], gain, STEPS, eta), STEPS, 1);
        let row = &s.cores[0].plastic[0];
        let dw = f64::from(row.mantissas[0] - 10);
        assert!(
            (dw + eta * g).abs() <= 1.0,
            "Δw = {dw}, −η·g = {}",
            -eta * g
        );
        assert!(dw * gain < 0.0, "moves opposite to m·ē: Δw = {dw}");
        assert_eq!(row.eprop.g, vec![0], "g is cleared at the epoch");
        assert_eq!(row.weights[0], row.mantissas[0] << 6, "delivery sees it");
    }
}

#[test]
fn without_a_learning_signal_nothing_changes() {
    let chip = tiny();
    let s = run(&chip, &image(&chip, &[0], 0.0, 50, 4.0), STEPS, 1);
    let row = &s.cores[0].plastic[0];
    assert!(row.eprop.ebar[0] > 0, "the traces still run");
    assert_eq!(row.eprop.g, vec![0]);
    assert_eq!(row.mantissas, vec![10]);
    // Costs: per step εv (1 row) + ψ (1 compartment) + εa, ē, g (1 synapse); one
    // synaptic update per synapse and epoch.
    let counts = s.total_counts();
    assert_eq!(counts.trace_update, u64::from(STEPS) * 5);
    assert_eq!(counts.synaptic_update, u64::from(STEPS / 50));
}

#[test]
fn thread_counts_do_not_matter() {
    let chip = tiny();
    let cores: Vec<u32> = (0..chip.cores()).collect();
    let image = image(&chip, &cores, 1.0, 40, 0.2);
    let one = run(&chip, &image, 200, 1);
    let moved = one.cores.iter().any(|c| c.plastic[0].mantissas[0] != 10);
    assert!(moved, "some weight learned");
    for threads in [2, 8] {
        assert!(run(&chip, &image, 200, threads) == one, "{threads} threads");
    }
}
