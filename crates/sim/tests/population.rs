//! Population axons: a shared synapse list read through per-pixel bases gives the spikes,
//! states and event counts of the same connectivity written as discrete rows; and the
//! verifier refuses population axons a chip cannot hold.

mod common;
use amine_chip::config::NeuronModelKind;
use amine_sim::{SimOptions, Simulator};
use common::{lif, tiny, Builder};

/// `W[co][ci][k]`: 2 output channels, 2 input channels, 2 taps.
const W: [[[i32; 2]; 2]; 2] = [[[3, -1], [2, 4]], [[-2, 5], [1, 1]]];

/// A 1-D "full" convolution: source `(ci, x)` (2 channels × 2 positions, compartment
/// `2ci + x` of core 0, biased so they spike at different rates) reaches target
/// `(co, x + k)` (2 channels × 3 positions, compartment `3co + x + k` of core 6) with
/// weight `W[co][ci][k]`. `shared`: one shared list of 2 atoms and one population axon
/// per source position (base `x`); otherwise one discrete row per source neuron.
fn network(shared: bool) -> amine_chip::image::ChipImage {
    let mut b = Builder::new(tiny());
    for (ci, x) in [(0u32, 0u32), (0, 1), (1, 0), (1, 1)] {
        b.neurons(0, 1, lif(0, 0, 1 + 2 * ci + x, 9));
    }
    b.neurons(6, 6, lif(300, 200, 8, 0));
    let list = |ci: usize, x: u32| -> Vec<(u32, i32)> {
        let mut v = vec![];
        for (co, per_ci) in W.iter().enumerate() {
            for (k, &w) in per_ci[ci].iter().enumerate() {
                v.push((3 * co as u32 + x + k as u32, w));
            }
        }
        v
    };
    if shared {
        let first = b.shared_row(6, &list(0, 0));
        b.shared_row(6, &list(1, 0));
        for x in 0..2 {
            let k = b.pop_axon(6, first, 2, x);
            for ci in 0..2 {
                b.connect_pop(0, 2 * ci + x, 6, k, ci);
            }
        }
    } else {
        for ci in 0..2u32 {
            for x in 0..2 {
                let axon = b.row(6, &list(ci as usize, x));
                b.connect(0, 2 * ci + x, 6, axon);
            }
        }
    }
    b.population("src", NeuronModelKind::Lif, &[(0, 0, 4)]);
    b.population("dst", NeuronModelKind::Lif, &[(6, 0, 6)]);
    b.build()
}

#[test]
fn a_shared_list_acts_like_its_expanded_rows() {
    let run = |shared: bool| {
        let image = network(shared);
        let options = SimOptions {
            steps: 60,
            ..SimOptions::default()
        };
        let mut sim = Simulator::new(&tiny(), &image, options).unwrap();
        let mut state = sim.initial_state();
        let outcome = sim.run(&mut state, |_, _| {});
        (outcome, state)
    };
    let (a, sa) = run(true);
    let (b, sb) = run(false);
    assert!(
        a.spike_counts[1] > 5,
        "targets must spike: {:?}",
        a.spike_counts
    );
    assert_eq!(a.raster, b.raster);
    assert_eq!(
        (&sa.cores[1].u, &sa.cores[1].v),
        (&sb.cores[1].u, &sb.cores[1].v)
    );
    // Every packet reads a row of the same length and words either way.
    assert_eq!(sa.cores[1].counts, sb.cores[1].counts);
    assert_eq!(sa.cores[0].counts, sb.cores[0].counts);
    assert_eq!(a.steps, b.steps);
}

#[test]
fn the_shared_image_counts_its_axons_and_synapses() {
    let chip = tiny();
    let pc = chip.core.population.as_ref();
    let (shared, expanded) = (network(true), network(false));
    assert_eq!(shared.synapse_count(), 16);
    assert_eq!(expanded.synapse_count(), 16);
    // 2 population axons × 2 slots against 4 discrete rows; the memory holds 2 rows, not 4.
    assert_eq!(shared.cores[1].input_axons_used(pc), 4);
    assert_eq!(shared.cores[1].synapses.rows().len(), 2);
    assert_eq!(expanded.cores[1].synapses.rows().len(), 4);
    // Both channels of a position share one output-axon entry (2 slots) per target axon.
    assert_eq!(shared.cores[0].output_axons_used(pc), 2 * 2);
    assert_eq!(expanded.cores[0].output_axons_used(pc), 4);
}

#[test]
fn the_verifier_refuses_what_the_chip_cannot_hold() {
    // A chip without population axons.
    let mut plain = tiny();
    plain.core.population = None;
    let mut b = Builder::new(plain.clone());
    b.neurons(0, 1, lif(0, 0, 40, 9));
    b.neurons(6, 2, lif(0, 0, 40, 0));
    let first = b.shared_row(6, &[(0, 1)]);
    let k = b.pop_axon(6, first, 1, 1);
    b.connect_pop(0, 0, 6, k, 0);
    let p = b.build_unchecked().verify(&plain);
    assert!(
        p.iter().any(|x| x.message.contains("core.population")),
        "{p:?}"
    );
    // A base beyond the chip's 4 bits, and an atom the axon does not have.
    let mut b = Builder::new(tiny());
    b.neurons(0, 1, lif(0, 0, 40, 9));
    b.neurons(6, 20, lif(0, 0, 40, 0));
    let first = b.shared_row(6, &[(0, 1)]);
    let k = b.pop_axon(6, first, 1, 16);
    b.connect_pop(0, 0, 6, k, 1);
    let p: Vec<String> = b
        .build_unchecked()
        .verify(&tiny())
        .iter()
        .map(|x| x.to_string())
        .collect();
    assert!(
        p.iter()
            .any(|m| m.contains("base 16 needs more than 4 bits")),
        "{p:?}"
    );
    assert!(
        p.iter().any(|m| m.contains("atom 1, which does not exist")),
        "{p:?}"
    );
}
