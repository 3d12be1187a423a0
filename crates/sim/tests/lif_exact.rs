//! The simulator's LIF dynamics are bit-exact with Loihi's CUBA LIF definition: a
//! two-core network driven by explicit input spike trains is replayed against an
//! independent reference written here (i64 arithmetic, truncating division instead of
//! shifts, a dense global weight table), comparing every u, v and spike of every step.

mod common;
use amine_chip::config::NeuronModelKind;
use amine_chip::image::InputSource;
use amine_chip::neuron::lif::LifParams;
use amine_chip::neuron::NeuronParams;
use amine_sim::{SimOptions, Simulator, Timing};
use common::{Builder, Lcg};

/// The Loihi definition, written independently of amine-chip's implementation.
mod reference {
    pub fn decay(x: i64, decrement: i64) -> i64 {
        // Rust's `/` truncates toward zero: exactly sign(x)·floor(|x|·keep / 4096).
        x * (4096 - decrement.min(4096)) / 4096
    }
    pub fn wrap24(x: i64) -> i64 {
        let m = x.rem_euclid(1 << 24);
        if m > 1 << 23 {
            m - (1 << 24)
        } else {
            m
        }
    }
    pub fn clip(x: i64) -> i64 {
        let max = (1 << 23) - 1;
        x.max(-max).min(max)
    }
    pub fn bias(mant: i64, exp: i64) -> i64 {
        if exp >= 0 {
            mant * (1 << exp)
        } else {
            mant.div_euclid(1 << -exp)
        }
    }
    /// (u, v, spiked) after one step.
    pub fn step(u: i64, v: i64, input: i64, p: &super::LifParams) -> (i64, i64, bool) {
        let u = wrap24(decay(u, p.du as i64 + 1) + input);
        let v = clip(decay(v, p.dv as i64) + u + bias(p.bias_mant as i64, p.bias_exp as i64));
        if v > (p.vth as i64) * 64 {
            (u, 0, true)
        } else {
            (u, v, false)
        }
    }
}

/// (core, exponent, [(local target, mantissa)]): one synapse row.
type Row = (u32, i8, Vec<(u32, i32)>);

struct Spec {
    /// (core, params) of every neuron; global order as listed.
    neurons: Vec<(u32, LifParams)>,
    /// (core, exponent, [(local target, mantissa)]) per row, axon = index within its core.
    rows: Vec<Row>,
    /// (global neuron, core, axon)
    fanout: Vec<(usize, u32, u32)>,
    /// (input, core, axon)
    input_fanout: Vec<(u32, u32, u32)>,
    spikes: Vec<(u32, u32)>,
}

fn p(du: u16, dv: u16, vth: u32, bias_mant: i16, bias_exp: i8) -> LifParams {
    LifParams {
        du,
        dv,
        vth,
        bias_mant,
        bias_exp,
        refractory: 0,
    }
}

fn spec(steps: u32) -> Spec {
    let mut neurons = vec![];
    for _ in 0..4 {
        neurons.push((0, p(511, 256, 1000, 0, 0)));
    }
    neurons.push((0, p(0, 0, 131_071, 0, 0))); // u wraps past 2^23, v saturates
    neurons.push((0, p(4095, 4095, 50, -37, -2))); // negative bias, floor shift
    neurons.push((0, p(300, 40, 400, 300, 3))); // bias-driven, spikes periodically
    for _ in 0..4 {
        neurons.push((5, p(1000, 100, 300, 0, 0)));
    }
    neurons.push((5, p(2000, 3000, 10, 5, 0)));
    // Core 3 shares one profile: the simulator's vectorised uniform-LIF loop.
    for _ in 0..6 {
        neurons.push((3, p(511, 256, 200, 0, 0)));
    }
    let rows = vec![
        (0, 0, vec![(0, 200), (1, 150), (2, -30), (3, 255)]),
        (0, 7, vec![(4, 255), (5, 255)]),
        (0, 0, vec![(0, 100), (2, 200), (5, 255)]),
        (0, 1, vec![(1, -100), (3, 120), (6, -7)]),
        (
            5,
            -3,
            vec![(0, 255), (1, 200), (2, -256), (3, 180), (4, 90)],
        ),
        (5, 0, vec![(0, 200), (2, -50), (4, 30)]),
        (5, 2, vec![(1, 250), (3, 250)]),
        (
            3,
            0,
            vec![(0, 255), (1, 140), (2, 90), (3, 200), (4, -60), (5, 255)],
        ),
        (3, 1, vec![(1, 120), (2, 200), (4, 255), (5, -100)]),
    ];
    // Axons: each core's rows are numbered in the order above (core 0: 0..4, core 5: 0..3, core 3: 0..2).
    let fanout = vec![
        (0, 5, 1),
        (1, 5, 1),
        (2, 5, 1),
        (2, 0, 3),
        (3, 5, 1),
        (6, 0, 2),
        (7, 5, 2),
        (7, 0, 3),
        (8, 0, 3),
        (11, 0, 3),
        (4, 5, 0),
        (12, 3, 1),
        (15, 3, 1),
        (17, 0, 3),
        (1, 3, 1),
    ];
    let input_fanout = vec![
        (0, 0, 0),
        (1, 0, 1),
        (2, 5, 0),
        (2, 0, 0),
        (0, 3, 0),
        (2, 3, 0),
    ];
    let mut rng = Lcg(42);
    let mut spikes = vec![];
    for s in 0..steps {
        for i in 0..3 {
            if rng.below(10) < 3 {
                spikes.push((s, i));
            }
        }
    }
    Spec {
        neurons,
        rows,
        fanout,
        input_fanout,
        spikes,
    }
}

fn image_of(s: &Spec) -> amine_chip::image::ChipImage {
    let mut b = Builder::new(common::tiny());
    let mut global = vec![];
    for &(core, params) in &s.neurons {
        global.push((core, b.neurons(core, 1, NeuronParams::Lif(params))));
    }
    for (core, exp, syn) in &s.rows {
        let syn: Vec<_> = syn.iter().map(|&(t, w)| (t, w, 0)).collect();
        b.row_exp(*core, *exp, &syn);
    }
    for &(g, core, axon) in &s.fanout {
        let (c, comp) = global[g];
        b.connect(c, comp, core, axon);
    }
    let port = b.input(
        "in",
        3,
        InputSource::Explicit {
            spikes: s.spikes.clone(),
        },
        (1, 1),
    );
    for &(i, core, axon) in &s.input_fanout {
        b.connect_input(port, i, core, axon);
    }
    b.population("core0", NeuronModelKind::Lif, &[(0, 0, 7)]);
    b.population("core5", NeuronModelKind::Lif, &[(5, 0, 5)]);
    b.population("core3", NeuronModelKind::Lif, &[(3, 0, 6)]);
    b.build()
}

fn replay(timing: Timing, threads: usize) {
    let steps = 300;
    let s = spec(steps);
    let image = image_of(&s);
    let chip = common::tiny();
    let mut sim = Simulator::new(
        &chip,
        &image,
        SimOptions {
            threads,
            timing,
            steps,
            ..SimOptions::default()
        },
    )
    .unwrap();
    let mut state = sim.initial_state();

    // Reference: global index of (core, local compartment), rows by (core, axon).
    let n = s.neurons.len();
    let local: Vec<(u32, u32)> = {
        let mut next = std::collections::HashMap::new();
        s.neurons
            .iter()
            .map(|&(c, _)| {
                let k = next.entry(c).or_insert(0u32);
                *k += 1;
                (c, *k - 1)
            })
            .collect()
    };
    let global_of = |core: u32, comp: u32| local.iter().position(|&x| x == (core, comp)).unwrap();
    let row_of = |core: u32, axon: u32| {
        s.rows
            .iter()
            .filter(|r| r.0 == core)
            .nth(axon as usize)
            .unwrap()
    };
    let deliver = |pending: &mut Vec<i64>, core: u32, axon: u32| {
        let (_, exp, syn) = row_of(core, axon);
        for &(t, m) in syn {
            pending[global_of(core, t)] += (m as i64) << (6 + *exp as i64);
        }
    };
    let (mut u, mut v) = (vec![0i64; n], vec![0i64; n]);
    let mut pending = vec![0i64; n];
    let mut total_spikes = 0;
    let mut uniform_spikes = 0;
    let mut wrapped = false;
    for step in 0..steps {
        let input = std::mem::replace(&mut pending, vec![0; n]);
        let mut spiked = vec![];
        for j in 0..n {
            let (nu, nv, sp) = reference::step(u[j], v[j], input[j], &s.neurons[j].1);
            wrapped |= (u[j] > 0 && nu < 0 && input[j] > 0) || nv == (1 << 23) - 1;
            u[j] = nu;
            v[j] = nv;
            if sp {
                spiked.push(j);
            }
        }
        for &i in &spiked {
            for &(g, core, axon) in &s.fanout {
                if g == i {
                    deliver(&mut pending, core, axon);
                }
            }
        }
        for &(st, i) in &s.spikes {
            if st == step {
                for &(k, core, axon) in &s.input_fanout {
                    if k == i {
                        deliver(&mut pending, core, axon);
                    }
                }
            }
        }

        sim.step(&mut state);
        let ids = sim.core_ids();
        for j in 0..n {
            let (core, comp) = local[j];
            let k = ids.iter().position(|&id| id == core).unwrap();
            let cs = &state.cores[k];
            assert_eq!(
                cs.u[comp as usize] as i64, u[j],
                "u of neuron {j} at step {step}"
            );
            assert_eq!(
                cs.v[comp as usize] as i64, v[j],
                "v of neuron {j} at step {step}"
            );
        }
        let mut sim_spikes: Vec<usize> = sim
            .last_emits()
            .map(|(k, comp, _)| global_of(ids[k], comp))
            .collect();
        sim_spikes.sort_unstable();
        assert_eq!(sim_spikes, spiked, "spikes at step {step}");
        total_spikes += spiked.len();
        uniform_spikes += spiked.iter().filter(|&&j| s.neurons[j].0 == 3).count();
    }
    assert!(
        total_spikes > 100,
        "the network should be active ({total_spikes} spikes)"
    );
    assert!(
        uniform_spikes > 20,
        "the uniform core should spike ({uniform_spikes})"
    );
    assert!(
        wrapped,
        "the replay should exercise u wrapping or v saturation"
    );
}

#[test]
fn lif_matches_the_loihi_reference_in_analytic_mode() {
    replay(Timing::Analytic, 1);
}

#[test]
fn lif_matches_the_loihi_reference_in_cycle_mode_on_two_threads() {
    replay(Timing::Cycle, 2);
}
