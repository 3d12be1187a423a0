//! Synapse updates per second of the learning engine's row update, the original
//! implementation (`reference`) against the current one (`fast`), on rows of 128
//! synapses: Error Diffusion on an excitatory row, pair STDP and R-STDP on signed rows.
//!
//! `cargo bench -p amine-chip --bench learning`; the time per synapse update is the
//! time per iteration / 128 (criterion also prints it as a throughput).

use amine_chip::learning::engine::{
    DrawKey, PostProducts, PostSide, PreSide, PreparedRule, RowMut, RowScratch, Scales,
};
use amine_chip::learning::{named_rule, parse_rule};
use amine_chip::synapse::SignMode;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::hint::black_box;

const SYNAPSES: usize = 128;
const COMPARTMENTS: usize = 256;
const SCALES: Scales = Scales {
    payload_frac: 8,
    modulator_frac: 16,
};

/// A small deterministic generator (the benchmark needs no quality, only repeatability).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

struct Workload {
    name: &'static str,
    rule: PreparedRule,
    products: PostProducts,
    pre: PreSide,
    sign: SignMode,
    tag_bits: u8,
    max_exponent: Option<i8>,
    targets: Vec<u32>,
    weights: Vec<i32>,
    tags: Vec<i32>,
}

fn workload(name: &'static str, sign: SignMode, tag_bits: u8, pre: PreSide) -> Workload {
    let text = named_rule(name, &Default::default()).unwrap().unwrap();
    let rule = PreparedRule::new(&parse_rule(&text).unwrap());
    let mut rng = Lcg(7);
    let n = COMPARTMENTS;
    let mut values = |hi: u64| -> Vec<u16> { (0..n).map(|_| rng.below(hi) as u16).collect() };
    let (y1, y2, y3, out, deriv) = (
        values(128),
        values(128),
        values(128),
        values(256),
        values(65),
    );
    let y0: Vec<bool> = (0..n).map(|_| rng.below(4) == 0).collect();
    // Modulator concentrations of either sign, up to ±0.25 (Q16.16).
    let m = vec![(0..n)
        .map(|_| rng.below(1 << 15) as i32 - (1 << 14))
        .collect::<Vec<i32>>()];
    let side = PostSide {
        y0: &y0,
        y1: &y1,
        y2: &y2,
        y3: &y3,
        out: &out,
        deriv: &deriv,
        modulator: &m,
    };
    let products = rule.post_products(&side, n, SCALES);
    let mut targets: Vec<u32> = (0..n as u32).collect();
    for i in 0..SYNAPSES {
        let j = i + rng.below((n - i) as u64) as usize;
        targets.swap(i, j);
    }
    targets.truncate(SYNAPSES);
    let weights = (0..SYNAPSES)
        .map(|_| match sign {
            SignMode::Signed => rng.below(256) as i32 - 128,
            _ => rng.below(256) as i32,
        })
        .collect();
    let tags = (0..SYNAPSES).map(|_| rng.below(64) as i32 - 32).collect();
    Workload {
        name,
        rule,
        products,
        pre,
        sign,
        tag_bits,
        max_exponent: (name == "error_diffusion").then_some(7),
        targets,
        weights,
        tags,
    }
}

fn bench(c: &mut Criterion) {
    let spiked = PreSide {
        x0: true,
        x1: 40,
        x2: 20,
        payload: 0,
    };
    let workloads = [
        workload(
            "error_diffusion",
            SignMode::Excitatory,
            0,
            PreSide {
                payload: 160,
                ..PreSide::default()
            },
        ),
        workload("stdp", SignMode::Signed, 0, spiked),
        workload("r_stdp", SignMode::Signed, 8, spiked),
    ];
    for w in &workloads {
        let mut group = c.benchmark_group(format!("apply_row/{}", w.name));
        group.throughput(Throughput::Elements(SYNAPSES as u64));
        let mut scratch = RowScratch::default();
        for fast in [false, true] {
            let id = if fast { "fast" } else { "reference" };
            let mut epoch = 0u64;
            group.bench_function(id, |b| {
                b.iter_batched_ref(
                    || (w.weights.clone(), w.tags.clone(), 0i8),
                    |(weights, tags, exponent)| {
                        epoch += 1;
                        let row = RowMut {
                            sign: w.sign,
                            weight_bits: 8,
                            tag_bits: w.tag_bits,
                            exponent,
                            max_exponent: w.max_exponent,
                            targets: &w.targets,
                            weights,
                            tags,
                        };
                        let key = DrawKey {
                            seed: 1,
                            epoch,
                            row: 5,
                        };
                        let (products, pre) = (black_box(&w.products), black_box(w.pre));
                        if fast {
                            w.rule
                                .apply_row_with(products, pre, SCALES, row, key, &mut scratch)
                        } else {
                            w.rule.apply_row_reference(products, pre, SCALES, row, key)
                        }
                    },
                    BatchSize::SmallInput,
                )
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
