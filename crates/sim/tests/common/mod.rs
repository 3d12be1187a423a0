//! A small hand-layout image builder for the simulator's tests (the compiler is not
//! used here, so every compartment, row and fan-out entry is exactly what a test says).
#![allow(dead_code)]

use amine_chip::config::{bits_for, ChipConfig, NeuronModelKind};
use amine_chip::image::{
    AxonTarget, Block, ChipImage, ChipStamp, CoreImage, CorePopulation, InputPort, InputSource,
    ModulatorImage, PopAxon, PopFanout, PopTarget, PopulationMap, Sign, IMAGE_VERSION,
};
use amine_chip::neuron::lif::LifParams;
use amine_chip::neuron::NeuronParams;
use amine_chip::synapse::{RowFormat, SignMode, Synapse, SynapseMemory};
use std::collections::BTreeMap;

pub fn tiny() -> ChipConfig {
    amine_chip::presets::preset("tiny").unwrap()
}

pub fn lif(du: u16, dv: u16, vth: u32, bias_mant: i16) -> NeuronParams {
    NeuronParams::Lif(LifParams {
        du,
        dv,
        vth,
        bias_mant,
        bias_exp: 0,
        refractory: 0,
    })
}

/// A row: exponent and (target, mantissa, delay) synapses.
type RowSpec = (i8, Vec<(u32, i32, u8)>);

#[derive(Default)]
struct CoreB {
    profiles: Vec<NeuronParams>,
    comps: Vec<u16>,
    /// (exponent, synapses (target, mantissa, delay))
    rows: Vec<RowSpec>,
    fanout: Vec<Vec<AxonTarget>>,
    /// Shared rows (after the discrete ones), population axons (first shared row index,
    /// atoms, base) and population fan-out per compartment.
    shared: Vec<RowSpec>,
    pop_axons: Vec<(u32, u32, u32)>,
    pop_fanout: Vec<Vec<(u32, u32, u32)>>,
}

pub struct Builder {
    pub chip: ChipConfig,
    cores: BTreeMap<u32, CoreB>,
    inputs: Vec<InputPort>,
    input_fanout: Vec<Vec<Vec<AxonTarget>>>,
    pops: Vec<PopulationMap>,
    pub modulator: ModulatorImage,
}

impl Builder {
    pub fn new(chip: ChipConfig) -> Builder {
        Builder {
            chip,
            cores: BTreeMap::new(),
            inputs: vec![],
            input_fanout: vec![],
            pops: vec![],
            modulator: ModulatorImage::default(),
        }
    }

    /// Adds `n` compartments of `params` to core `core`; returns the first one.
    pub fn neurons(&mut self, core: u32, n: u32, params: NeuronParams) -> u32 {
        let c = self.cores.entry(core).or_default();
        let pi = match c.profiles.iter().position(|p| *p == params) {
            Some(i) => i,
            None => {
                c.profiles.push(params);
                c.profiles.len() - 1
            }
        };
        let first = c.comps.len() as u32;
        for _ in 0..n {
            c.comps.push(pi as u16);
            c.fanout.push(vec![]);
            c.pop_fanout.push(vec![]);
        }
        first
    }

    /// Adds a synapse row (input axon) to `core`: (target, mantissa, delay) with
    /// exponent `exp` (effective weight `mantissa << (6 + exp)`). Returns the axon.
    pub fn row_exp(&mut self, core: u32, exp: i8, synapses: &[(u32, i32, u8)]) -> u32 {
        let c = self.cores.entry(core).or_default();
        c.rows.push((exp, synapses.to_vec()));
        c.rows.len() as u32 - 1
    }

    pub fn row(&mut self, core: u32, synapses: &[(u32, i32)]) -> u32 {
        let s: Vec<_> = synapses.iter().map(|&(t, w)| (t, w, 0)).collect();
        self.row_exp(core, 0, &s)
    }

    /// Adds a shared row to `core` (stored after every discrete row); returns its index
    /// among the core's shared rows.
    pub fn shared_row(&mut self, core: u32, synapses: &[(u32, i32)]) -> u32 {
        let c = self.cores.entry(core).or_default();
        c.shared
            .push((0, synapses.iter().map(|&(t, w)| (t, w, 0)).collect()));
        c.shared.len() as u32 - 1
    }

    /// A population axon on `core` reading `atoms` shared rows from shared row `first`,
    /// targets offset by `base`; returns its index among the core's population axons.
    pub fn pop_axon(&mut self, core: u32, first: u32, atoms: u32, base: u32) -> u32 {
        let c = self.cores.entry(core).or_default();
        c.pop_axons.push((first, atoms, base));
        c.pop_axons.len() as u32 - 1
    }

    /// Compartment `comp` of `core` sends atom `atom` to population axon `k` of `to_core`.
    pub fn connect_pop(&mut self, core: u32, comp: u32, to_core: u32, k: u32, atom: u32) {
        self.cores.get_mut(&core).unwrap().pop_fanout[comp as usize].push((to_core, k, atom));
    }

    /// Compartment `comp` of `core` sends to axon `axon` of `to_core`.
    pub fn connect(&mut self, core: u32, comp: u32, to_core: u32, axon: u32) {
        self.cores.get_mut(&core).unwrap().fanout[comp as usize].push(AxonTarget {
            core: to_core,
            axon,
        });
    }

    /// An input port with per-input fan-out lists; returns its index.
    pub fn input(
        &mut self,
        name: &str,
        size: u32,
        source: InputSource,
        entry_tile: (u32, u32),
    ) -> usize {
        self.inputs.push(InputPort {
            name: name.into(),
            size,
            source,
            entry_tile,
            fanout_offsets: vec![],
            fanout: vec![],
            pop_fanout: None,
        });
        self.input_fanout.push(vec![vec![]; size as usize]);
        self.inputs.len() - 1
    }

    pub fn connect_input(&mut self, port: usize, index: u32, to_core: u32, axon: u32) {
        self.input_fanout[port][index as usize].push(AxonTarget {
            core: to_core,
            axon,
        });
    }

    /// A population made of (core, first compartment, count) blocks, in neuron order.
    pub fn population(&mut self, name: &str, model: NeuronModelKind, blocks: &[(u32, u32, u32)]) {
        let mut first = 0;
        let blocks = blocks
            .iter()
            .map(|&(core, fc, count)| {
                let b = Block {
                    core,
                    first_compartment: fc,
                    first_neuron: first,
                    count,
                };
                first += count;
                b
            })
            .collect();
        self.pops.push(PopulationMap {
            name: name.into(),
            size: first,
            model,
            sign: Sign::Mixed,
            blocks,
        });
    }

    pub fn build(self) -> ChipImage {
        let chip = self.chip.clone();
        let image = self.build_unchecked();
        let problems = image.verify(&chip);
        assert!(problems.is_empty(), "test image invalid: {problems:?}");
        image
    }

    /// The image, not verified (for tests of the verifier).
    pub fn build_unchecked(mut self) -> ChipImage {
        let chip = &self.chip;
        let cores = std::mem::take(&mut self.cores)
            .into_iter()
            .map(|(id, c)| {
                let mut mem =
                    SynapseMemory::new(chip.core.word_bits, chip.core.synapse_memory_bits);
                let index_bits = bits_for(chip.core.compartments) as u8;
                let discrete = c.rows.len() as u32;
                for (exp, syn) in c.rows.iter().chain(&c.shared) {
                    let delay_bits = if syn.iter().any(|s| s.2 > 0) {
                        chip.core.max_delay_bits
                    } else {
                        0
                    };
                    let format = RowFormat {
                        index_bits,
                        weight_bits: 9,
                        sign: SignMode::Signed,
                        delay_bits,
                        tag_bits: 0,
                    };
                    let syn: Vec<Synapse> = syn
                        .iter()
                        .map(|&(target, weight, delay)| Synapse {
                            target,
                            weight,
                            delay,
                            tag: 0,
                        })
                        .collect();
                    mem.push_row(format, *exp, &syn).expect("test row fits");
                }
                let mut offsets = vec![0u32];
                let mut fanout = vec![];
                for f in &c.fanout {
                    fanout.extend_from_slice(f);
                    offsets.push(fanout.len() as u32);
                }
                (id, c, mem, offsets, fanout, discrete)
            })
            .collect::<Vec<_>>();
        // Population fan-out names target axons by index: the id is the target core's
        // discrete row count plus the index.
        let discrete_of: BTreeMap<u32, u32> = cores.iter().map(|x| (x.0, x.5)).collect();
        let cores = cores
            .into_iter()
            .map(|(id, c, mem, offsets, fanout, discrete)| {
                let uses = !c.pop_axons.is_empty() || c.pop_fanout.iter().any(|f| !f.is_empty());
                let population = uses.then(|| {
                    let mut fan = PopFanout {
                        offsets: vec![0],
                        targets: vec![],
                    };
                    for f in &c.pop_fanout {
                        fan.targets
                            .extend(f.iter().map(|&(core, k, atom)| PopTarget {
                                core,
                                axon: discrete_of[&core] + k,
                                atom,
                            }));
                        fan.offsets.push(fan.targets.len() as u32);
                    }
                    CorePopulation {
                        shared_from: discrete,
                        axons: c
                            .pop_axons
                            .iter()
                            .map(|&(first, atoms, base)| PopAxon {
                                first_row: discrete + first,
                                atoms,
                                base,
                            })
                            .collect(),
                        fanout: fan,
                    }
                });
                CoreImage {
                    id,
                    profiles: c.profiles,
                    compartments: c.comps,
                    synapses: mem,
                    fanout_offsets: offsets,
                    fanout,
                    plastic_rows: vec![],
                    population,
                }
            })
            .collect();
        for (port, fans) in self.inputs.iter_mut().zip(&self.input_fanout) {
            port.fanout_offsets = vec![0];
            for f in fans {
                port.fanout.extend_from_slice(f);
                port.fanout_offsets.push(port.fanout.len() as u32);
            }
        }
        ChipImage {
            version: IMAGE_VERSION,
            chip: ChipStamp::of(&self.chip),
            program: "test".into(),
            cores,
            inputs: self.inputs,
            populations: self.pops,
            probes: vec![],
            modulator: self.modulator,
            learning: vec![],
            eprop: None,
            sigprop: None,
        }
    }
}

/// A deterministic pseudo-random generator for building test networks.
pub struct Lcg(pub u64);
impl Lcg {
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A random recurrent LIF network over every core of the tiny chip, with Bernoulli
/// and explicit inputs, optional delays and some graded units. All in one image.
pub fn random_network(seed: u64, delays: bool, graded: bool) -> ChipImage {
    random_network_on(tiny(), seed, delays, graded)
}

/// [`random_network`] over every core of `chip` (e.g. a system's virtual chip).
pub fn random_network_on(chip: ChipConfig, seed: u64, delays: bool, graded: bool) -> ChipImage {
    let mut rng = Lcg(seed);
    let mut b = Builder::new(chip.clone());
    let cores: Vec<u32> = (0..chip.cores()).collect();
    let per_core = 12u32;
    for &c in &cores {
        b.neurons(c, per_core - 2, lif(511, 256, 60, 0));
        b.neurons(c, 2, lif(100, 900, 40, 3));
    }
    if graded {
        use amine_chip::neuron::graded::{GradedParams, SigmoidTable};
        b.neurons(
            1,
            2,
            NeuronParams::Graded(GradedParams {
                du: 2000,
                bias: -200,
                table: SigmoidTable::logistic(3000.0, 4.0, 64, 8),
                event_driven: false,
                centring: None,
            }),
        );
    }
    // Each compartment sends to 1-3 random rows elsewhere; each row hits 1-6 targets.
    let mut rows: Vec<(u32, u32)> = vec![];
    for &c in &cores {
        let n = b_len(&b, c);
        for _ in 0..10 {
            let len = 1 + rng.below(6) as usize;
            let syn: Vec<(u32, i32, u8)> = (0..len)
                .map(|_| {
                    let w = rng.below(200) as i32 - 60;
                    let d = if delays { rng.below(4) as u8 } else { 0 };
                    (rng.below(n as u64) as u32, w, d)
                })
                .collect();
            let axon = b.row_exp(c, -2, &syn);
            rows.push((c, axon));
        }
    }
    for &c in &cores {
        for comp in 0..b_len(&b, c) {
            for _ in 0..1 + rng.below(3) {
                let (tc, ta) = rows[rng.below(rows.len() as u64) as usize];
                b.connect(c, comp, tc, ta);
            }
        }
    }
    let p = b.input(
        "noise",
        16,
        InputSource::Bernoulli {
            p: 0.2,
            seed: seed ^ 7,
        },
        (1, 0),
    );
    for i in 0..16 {
        let (tc, ta) = rows[rng.below(rows.len() as u64) as usize];
        b.connect_input(p, i, tc, ta);
    }
    let spikes: Vec<(u32, u32)> = (0..30).map(|s| (s * 2, s % 4)).collect();
    let q = b.input("train", 4, InputSource::Explicit { spikes }, (0, 1));
    for i in 0..4 {
        let (tc, ta) = rows[rng.below(rows.len() as u64) as usize];
        b.connect_input(q, i, tc, ta);
    }
    let blocks: Vec<(u32, u32, u32)> = cores.iter().map(|&c| (c, 0, per_core)).collect();
    b.population("net", NeuronModelKind::Lif, &blocks);
    b.build()
}

fn b_len(b: &Builder, core: u32) -> u32 {
    b.cores.get(&core).map_or(0, |c| c.comps.len() as u32)
}

/// A chain of `chips` tiny chips; links of 20 ns, 50 pJ + 10 pJ per flit, 32-bit flits
/// at 4 Gbit/s (8 ns a flit): at tiny's 1 GHz, 20 cycles and 8 cycles per flit.
pub fn chain(chips: u32) -> (ChipConfig, amine_chip::system_layout::SystemLayout) {
    let links: Vec<String> = (1..chips).map(|c| format!("({}, {c})", c - 1)).collect();
    let text = format!(
        "System(name: \"chain\", chip: \"tiny\", topology: Links(chips: {chips}, links: [{}]), \
         link: (latency_ns: 20.0, energy_pj_per_packet: 50.0, energy_pj_per_flit: 10.0, \
         flit_bits: 32, bandwidth_gbit_s: 4.0))",
        links.join(", ")
    );
    let sys = amine_chip::system::SystemConfig::from_ron(&text, "chain.ron").unwrap();
    sys.virtual_chip(&tiny()).unwrap()
}
