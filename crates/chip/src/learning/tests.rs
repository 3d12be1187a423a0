//! Tests of the rule assembler and the microcode arithmetic.

use super::*;
use std::collections::BTreeMap;

fn loihi_limits() -> Limits {
    Limits::of(&crate::presets::preset("loihi").unwrap())
}

#[test]
fn the_stdp_example_assembles() {
    let p = parse_rule("dw = 2^-4*x1*y0 - 2^-4*y1*x0").unwrap();
    let eq = p.equation(Target::Weight).unwrap();
    assert_eq!(eq.terms.len(), 2);
    assert_eq!((eq.terms[0].mantissa, eq.terms[0].shift), (1, -4));
    assert_eq!((eq.terms[1].mantissa, eq.terms[1].shift), (-1, -4));
    let vars: Vec<Var> = eq.terms[1].factors.iter().map(|f| f.var).collect();
    assert_eq!(vars, vec![Var::Y1, Var::X0]);
    assert!(p.pre_gated());
}

#[test]
fn scales_split_into_mantissa_and_shift() {
    let p = parse_rule("dt = 0.75*x1 + 3*2^-3*y1*(x2 - 4); dw = -12*t").unwrap();
    let t = &p.equation(Target::Tag).unwrap().terms;
    assert_eq!((t[0].mantissa, t[0].shift), (3, -2));
    assert_eq!((t[1].mantissa, t[1].shift), (3, -3));
    assert_eq!(
        t[1].factors[1],
        Factor {
            var: Var::X2,
            constant: -4.0
        }
    );
    let w = &p.equation(Target::Weight).unwrap().terms;
    assert_eq!((w[0].mantissa, w[0].shift), (-3, 2));
    assert!(!p.pre_gated(), "dw = -12*t has no pre factor");
}

#[test]
fn errors_point_into_the_string() {
    let text = "dw = 2^-4*x1*yy - y1*x0";
    let e = parse_rule(text).unwrap_err();
    assert_eq!(&text[e.start..e.end], "yy");
    assert!(e.message.contains("unknown variable `yy`"));
    assert!(
        e.render(text).contains("             ^^ unknown"),
        "{}",
        e.render(text)
    );

    let text = "dw = 0.1*x1*y0";
    let e = parse_rule(text).unwrap_err();
    assert_eq!(&text[e.start..e.end], "0.1*x1*y0");
    assert!(e.message.contains("power of two"));

    for (text, bad) in [
        ("dw = 3^2*x1", "3"),
        ("dx = x1", "dx"),
        ("dw = x1 # y0", "#"),
        ("dw = (x1 * 2)", "*"),
    ] {
        let e = parse_rule(text).unwrap_err();
        assert_eq!(&text[e.start..e.end], bad, "{text}: {e}");
    }
    let e = parse_rule("dw = x1; dw = y1").unwrap_err();
    assert!(e.message.contains("already"));
}

#[test]
fn limits_are_checked_with_locations() {
    let limits = loihi_limits();
    // 4 channels on the loihi grid.
    let text = "dw = 2^-3*m7*x1";
    let errs = assemble(text, &limits).unwrap_err();
    assert_eq!(&text[errs[0].start..errs[0].end], "m7");
    // Too many factors and a width overflow in one term: both reported.
    let text = "dw = m0*m1*m2*pre*deriv*sgn";
    let errs = assemble(text, &limits).unwrap_err();
    assert!(
        errs.iter().any(|e| e.message.contains("factors")),
        "{errs:?}"
    );
    assert!(
        errs.iter().any(|e| e.message.contains("width overflow")),
        "{errs:?}"
    );
    assert!(errs
        .iter()
        .all(|e| &text[e.start..e.end] == "m0*m1*m2*pre*deriv*sgn"));
    assert!(assemble("dw = 2^-5*pre*deriv*m0*sgn", &limits).is_ok());
}

#[test]
fn stdp_evaluates_exactly() {
    let p = parse_rule("dw = 2^-4*x1*y0 - 2^-4*y1*x0").unwrap();
    let eq = p.equation(Target::Weight).unwrap();
    // Post spike with pre trace 40, no pre spike: Δw = 40/16 = 2.5 weight units. With
    // row exponent 0 the mantissa has 0 fractional bits; ask for 8 bits of fraction.
    let read = |v: Var| Fixed {
        value: match v {
            Var::X1 => 40,
            Var::Y0 => 1,
            Var::Y1 => 9,
            Var::X0 => 0,
            _ => 0,
        },
        frac: 0,
    };
    assert_eq!(evaluate(eq, 0, 8, read), (2.5 * 256.0) as i128);
    // A row with exponent 2 (weights in steps of 4): Δ = 2.5/4 mantissa LSBs.
    assert_eq!(evaluate(eq, -2, 8, read), (0.625 * 256.0) as i128);
}

#[test]
fn modulator_and_graded_factors_use_their_fractional_bits() {
    let p = parse_rule("dw = 2^-5*pre*deriv*m0*sgn").unwrap();
    let eq = p.equation(Target::Weight).unwrap();
    // pre = 0.5 (128/256), deriv = 0.25 (64/256), m0 = 0.75 (Q16.16), sgn = −1:
    // Δw = −(1/32)·0.5·0.25·0.75 = −0.0029296875 → in 2^-12 weight units: −12.
    let read = |v: Var| match v {
        Var::Pre => Fixed {
            value: 128,
            frac: 8,
        },
        Var::Deriv => Fixed { value: 64, frac: 8 },
        Var::M(0) => Fixed {
            value: 3 << 14,
            frac: 16,
        },
        Var::Sgn => Fixed { value: -1, frac: 0 },
        _ => Fixed { value: 0, frac: 0 },
    };
    assert_eq!(evaluate(eq, 12, 0, read), -12);
}

#[test]
fn stochastic_rounding_is_unbiased() {
    // 0.3 of an LSB rounds up 30% of the time.
    let scaled = (0.3 * 256.0f64).round() as i128; // 77/256
    let n = 20_000u64;
    let ups: i64 = (0..n)
        .map(|i| stochastic_round(scaled, 8, hash_random(7, i, 0, 0)))
        .sum();
    let mean = ups as f64 / n as f64;
    assert!((mean - 77.0 / 256.0).abs() < 0.01, "mean {mean}");
    // Exact values are never disturbed; negatives floor correctly.
    assert_eq!(stochastic_round(5 << 8, 8, u64::MAX), 5);
    assert_eq!(stochastic_round(-(5 << 8), 8, 0), -5);
    assert_eq!(stochastic_round(-1, 8, 0), -1);
}

#[test]
fn named_rules_expand_and_assemble() {
    let limits = loihi_limits();
    for (name, _, _) in NAMED_RULES {
        let text = named_rule(name, &BTreeMap::new()).unwrap().unwrap();
        assemble(&text, &limits).unwrap_or_else(|e| panic!("{name}: {text}: {e:?}"));
    }
    let mut params = BTreeMap::new();
    params.insert("alpha".to_string(), 0.0625);
    params.insert("channel".to_string(), 1.0);
    let text = named_rule("error_diffusion", &params).unwrap().unwrap();
    assert_eq!(text, "dw = 0.0625*pre*deriv*m1*sgn");
    params.insert("gamma".to_string(), 1.0);
    let e = named_rule("error_diffusion", &params).unwrap().unwrap_err();
    assert!(e.contains("`gamma`") && e.contains("alpha"), "{e}");
    assert!(named_rule("dw = x1", &BTreeMap::new()).is_none());
}

#[test]
fn r_stdp_without_modulator_changes_no_weight() {
    let text = named_rule("r_stdp", &BTreeMap::new()).unwrap().unwrap();
    let p = parse_rule(&text).unwrap();
    let eq = p.equation(Target::Weight).unwrap();
    for tag in [-100i64, -1, 0, 1, 127] {
        let read = |v: Var| match v {
            Var::T => Fixed {
                value: tag,
                frac: 0,
            },
            _ => Fixed { value: 0, frac: 16 },
        };
        assert_eq!(evaluate(eq, 0, 16, read), 0);
    }
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn the_assembler_never_panics(text in "[ dwtxym0-9.^*+()=;a-z-]{0,40}") {
            let _ = assemble(&text, &loihi_limits());
        }

        #[test]
        fn power_of_two_scales_are_exact(k in -20i32..20, m in 1i32..=255) {
            let text = format!("dw = {m}*2^{k}*x1");
            let p = parse_rule(&text).unwrap();
            let t = &p.equations[0].terms[0];
            prop_assert_eq!(t.mantissa as f64 * (t.shift as f64).exp2(), m as f64 * (k as f64).exp2());
            prop_assert!(t.mantissa % 2 != 0, "mantissa {} not reduced", t.mantissa);
        }
    }
}

mod engine_tests {
    use super::*;
    use crate::learning::engine::*;
    use crate::synapse::SignMode;
    use proptest::prelude::*;

    const SCALES: Scales = Scales {
        payload_frac: 8,
        modulator_frac: 16,
    };

    fn prepared(text: &str) -> PreparedRule {
        PreparedRule::new(&parse_rule(text).unwrap())
    }

    #[derive(Debug, Clone)]
    struct Post {
        y0: Vec<bool>,
        y1: Vec<u16>,
        out: Vec<u16>,
        deriv: Vec<u16>,
        m: Vec<Vec<i32>>,
    }

    impl Post {
        fn new(n: usize) -> Post {
            Post {
                y0: vec![false; n],
                y1: vec![0; n],
                out: vec![0; n],
                deriv: vec![0; n],
                m: vec![vec![0; n]; 2],
            }
        }
        fn side(&self) -> PostSide<'_> {
            PostSide {
                y0: &self.y0,
                y1: &self.y1,
                y2: &[],
                y3: &[],
                out: &self.out,
                deriv: &self.deriv,
                modulator: &self.m,
            }
        }
    }

    const KEY: DrawKey = DrawKey {
        seed: 1,
        epoch: 0,
        row: 0,
    };

    #[test]
    fn stdp_potentiates_on_post_spikes_and_depresses_on_pre_spikes() {
        let rule = prepared("dw = 2^-2*x1*y0 - 2^-2*y1*x0");
        let mut post = Post::new(2);
        post.y0[0] = true; // target 0 spiked
        post.y1[1] = 8; // target 1 has a post trace
        let products = rule.post_products(&post.side(), 2, SCALES);
        let mut exponent = 0i8;
        let mut weights = vec![10, 10];
        let mut tags = vec![0, 0];
        let row = RowMut {
            sign: SignMode::Signed,
            weight_bits: 8,
            tag_bits: 0,
            exponent: &mut exponent,
            max_exponent: None,
            targets: &[0, 1],
            weights: &mut weights,
            tags: &mut tags,
        };
        // Pre trace 12, pre spiked: Δw0 = 12/4 = +3, Δw1 = −8/4 = −2 (exact, no rounding).
        let out = rule.apply_row(
            &products,
            PreSide {
                x0: true,
                x1: 12,
                ..Default::default()
            },
            SCALES,
            row,
            KEY,
        );
        assert_eq!(weights, vec![13, 8]);
        assert_eq!(out.updates, 2);
    }

    #[test]
    fn pre_gated_rules_skip_silent_rows() {
        let rule = prepared("dw = 2^-5*pre*deriv*m0*sgn");
        let post = Post::new(1);
        let products = rule.post_products(&post.side(), 1, SCALES);
        let (mut e, mut w, mut t) = (0i8, vec![5], vec![0]);
        let row = RowMut {
            sign: SignMode::Excitatory,
            weight_bits: 8,
            tag_bits: 0,
            exponent: &mut e,
            max_exponent: None,
            targets: &[0],
            weights: &mut w,
            tags: &mut t,
        };
        let out = rule.apply_row(&products, PreSide::default(), SCALES, row, KEY);
        assert_eq!(out, RowOutcome::default());
    }

    #[test]
    fn a_full_row_is_halved_and_its_exponent_raised() {
        // Every update adds +4 weight units; the row is at its 8-bit magnitude limit.
        let rule = prepared("dw = 4*pre");
        let post = Post::new(3);
        let products = rule.post_products(&post.side(), 3, SCALES);
        let (mut e, mut w, mut t) = (0i8, vec![255, 100, 3], vec![0; 3]);
        let row = RowMut {
            sign: SignMode::Excitatory,
            weight_bits: 8,
            tag_bits: 0,
            exponent: &mut e,
            max_exponent: Some(7),
            targets: &[0, 1, 2],
            weights: &mut w,
            tags: &mut t,
        };
        let out = rule.apply_row(
            &products,
            PreSide {
                payload: 256,
                ..Default::default()
            },
            SCALES,
            row,
            KEY,
        );
        // payload 256/256 = 1.0 → Δ = 4 weight units = 2 mantissa LSBs at exponent 1.
        assert_eq!(e, 1);
        assert_eq!(out.renormalised, 1);
        assert_eq!(w, vec![128 + 2, 50 + 2, 2 + 2]);
        assert_eq!(out.clamped, 0);
    }

    #[test]
    fn without_renormalisation_weights_clamp() {
        let rule = prepared("dw = 4*pre");
        let post = Post::new(1);
        let products = rule.post_products(&post.side(), 1, SCALES);
        let (mut e, mut w, mut t) = (0i8, vec![254], vec![0]);
        let row = RowMut {
            sign: SignMode::Excitatory,
            weight_bits: 8,
            tag_bits: 0,
            exponent: &mut e,
            max_exponent: None,
            targets: &[0],
            weights: &mut w,
            tags: &mut t,
        };
        let out = rule.apply_row(
            &products,
            PreSide {
                payload: 256,
                ..Default::default()
            },
            SCALES,
            row,
            KEY,
        );
        assert_eq!((w[0], e, out.clamped), (255, 0, 1));
    }

    #[test]
    fn r_stdp_tags_accumulate_and_zero_reward_moves_no_weight() {
        let text = named_rule("r_stdp", &BTreeMap::new()).unwrap().unwrap();
        let rule = prepared(&text);
        let mut post = Post::new(1);
        post.y0[0] = true;
        let products = rule.post_products(&post.side(), 1, SCALES);
        let (mut e, mut w, mut t) = (0i8, vec![40], vec![0]);
        for epoch in 0..5 {
            let row = RowMut {
                sign: SignMode::Signed,
                weight_bits: 8,
                tag_bits: 8,
                exponent: &mut e,
                max_exponent: None,
                targets: &[0],
                weights: &mut w,
                tags: &mut t,
            };
            rule.apply_row(
                &products,
                PreSide {
                    x1: 64,
                    ..Default::default()
                },
                SCALES,
                row,
                DrawKey { epoch, ..KEY },
            );
        }
        assert!(t[0] > 0, "tag {t:?}");
        assert_eq!(w[0], 40);
    }

    proptest! {
        #[test]
        fn error_diffusion_never_flips_a_sign(
            ws in proptest::collection::vec(0i32..=255, 1..20),
            inhibitory in any::<bool>(),
            derivs in proptest::collection::vec(0u16..=64, 20),
            m in -70000i32..70000,
            payload in 0u16..=255,
            renorm in any::<bool>(),
            epochs in 1u64..20,
        ) {
            let rule = prepared("dw = 2^-1*pre*deriv*m0*sgn");
            let n = ws.len();
            let mut post = Post::new(n);
            post.deriv = derivs[..n].to_vec();
            post.m[0] = vec![m; n];
            let products = rule.post_products(&post.side(), n, SCALES);
            let sign = if inhibitory { SignMode::Inhibitory } else { SignMode::Excitatory };
            let mut w: Vec<i32> = ws.iter().map(|&x| if inhibitory { -x } else { x }).collect();
            let mut t = vec![0; n];
            let mut e = 0i8;
            let targets: Vec<u32> = (0..n as u32).collect();
            for epoch in 0..epochs {
                let row = RowMut { sign, weight_bits: 8, tag_bits: 0, exponent: &mut e, max_exponent: renorm.then_some(7), targets: &targets, weights: &mut w, tags: &mut t };
                rule.apply_row(&products, PreSide { payload, ..Default::default() }, SCALES, row, DrawKey { epoch, ..KEY });
            }
            for &x in &w {
                prop_assert!(if inhibitory { x <= 0 } else { x >= 0 }, "weight {x}");
                prop_assert!(x.abs() <= 255);
            }
        }

        #[test]
        fn updates_are_deterministic_and_unbiased_in_expectation(seed in any::<u64>()) {
            // Δ = 0.25 LSB: over many draws the mean is 0.25; the same key gives the same draw.
            // 4,000 draws: sd of the mean 0.0068, so the bound 0.04 is ~6 sd (a false
            // failure about once in 10^8 cases).
            let rule = prepared("dw = 2^-2*pre");
            let post = Post::new(1);
            let products = rule.post_products(&post.side(), 1, SCALES);
            let mut total = 0i64;
            for epoch in 0..4000 {
                let (mut e, mut w, mut t) = (0i8, vec![0], vec![0]);
                let key = DrawKey { seed, epoch, row: 3 };
                let row = RowMut { sign: SignMode::Signed, weight_bits: 8, tag_bits: 0, exponent: &mut e, max_exponent: None, targets: &[0], weights: &mut w, tags: &mut t };
                rule.apply_row(&products, PreSide { payload: 256, ..Default::default() }, SCALES, row, key);
                let (mut e2, mut w2, mut t2) = (0i8, vec![0], vec![0]);
                let row = RowMut { sign: SignMode::Signed, weight_bits: 8, tag_bits: 0, exponent: &mut e2, max_exponent: None, targets: &[0], weights: &mut w2, tags: &mut t2 };
                rule.apply_row(&products, PreSide { payload: 256, ..Default::default() }, SCALES, row, key);
                prop_assert_eq!(w[0], w2[0]);
                total += w[0] as i64;
            }
            let mean = total as f64 / 4000.0;
            prop_assert!((mean - 0.25).abs() < 0.04, "mean {}", mean);
        }
    }

    /// A factor of the assembler's grammar: a variable, maybe shifted by a constant.
    fn factor() -> impl Strategy<Value = String> {
        let var = prop::sample::select(vec![
            "x0", "x1", "x2", "y0", "y1", "y2", "y3", "w", "t", "sgn", "m0", "m1", "pre", "out",
            "deriv",
        ]);
        let constant = prop_oneof![
            4 => Just(None),
            1 => (-8i32..=8).prop_map(|k| Some(k as f64)),
            1 => prop::sample::select(vec![0.5, -0.5, 0.25, -1.5]).prop_map(Some),
        ];
        (var, constant).prop_map(|(v, k)| match k {
            None => v.to_string(),
            Some(k) if k < 0.0 => format!("({v} - {})", -k),
            Some(k) => format!("({v} + {k})"),
        })
    }

    /// `±m·2^k·f1·…` with up to 3 factors.
    fn term() -> impl Strategy<Value = String> {
        (
            any::<bool>(),
            (0i32..128).prop_map(|m| 2 * m + 1),
            -12i32..=2,
            proptest::collection::vec(factor(), 0..=3),
        )
            .prop_map(|(neg, m, k, fs)| {
                let mut t = format!("{}{m}*2^{k}", if neg { "-" } else { "" });
                for f in fs {
                    t.push('*');
                    t.push_str(&f);
                }
                t
            })
    }

    fn equation(target: &'static str) -> impl Strategy<Value = String> {
        proptest::collection::vec(term(), 1..=10)
            .prop_map(move |ts| format!("{target} = {}", ts.join(" + ").replace("+ -", "- ")))
    }

    /// Named rules with random parameters, or random sums of products.
    fn rule_text() -> impl Strategy<Value = String> {
        let power = || (-8i32..=0).prop_map(|k| (k as f64).exp2());
        let named = (
            prop::sample::select(vec!["stdp", "r_stdp", "error_diffusion"]),
            power(),
            power(),
            0u32..2,
        )
            .prop_map(|(name, a, b, ch)| {
                let params: BTreeMap<String, f64> = match name {
                    "stdp" => [("a_plus", a), ("a_minus", b)].into_iter(),
                    "r_stdp" => [("tag_decay", a), ("eta", b)].into_iter(),
                    _ => [("alpha", a), ("channel", ch as f64)].into_iter(),
                }
                .map(|(k, v)| (k.to_string(), v))
                .collect();
                named_rule(name, &params).unwrap().unwrap()
            });
        prop_oneof![
            1 => named,
            1 => equation("dw"),
            1 => equation("dt"),
            1 => (equation("dt"), equation("dw")).prop_map(|(a, b)| format!("{a}; {b}")),
            1 => (equation("dw"), equation("dt")).prop_map(|(a, b)| format!("{a}; {b}")),
        ]
    }

    #[derive(Debug, Clone)]
    struct Case {
        sign: SignMode,
        weight_bits: u8,
        tag_bits: u8,
        exponent: i8,
        grow: Option<i8>,
        targets: Vec<u32>,
        weights: Vec<i32>,
        tags: Vec<i32>,
        pre: PreSide,
        key: DrawKey,
    }

    /// A random row of `1..40` synapses over `comps` compartments, its weights in range.
    fn case(comps: u32) -> impl Strategy<Value = Case> {
        (
            prop::sample::select(vec![
                SignMode::Signed,
                SignMode::Excitatory,
                SignMode::Inhibitory,
            ]),
            1u8..=9,
            0u8..=8,
            -4i8..=4,
            prop::option::of(0i8..=3),
            proptest::collection::vec((0..comps, any::<u32>(), any::<u32>()), 1..40),
            (any::<bool>(), 0u16..128, 0u16..128, 0u16..=512),
            (any::<u64>(), 0u64..1000, any::<u64>()),
        )
            .prop_map(
                |(sign, wb, tb, exponent, grow, syn, (x0, x1, x2, payload), (seed, epoch, row))| {
                    let (wmin, wmax) = weight_range(sign, wb);
                    let tspan = if tb == 0 { 0 } else { 1u32 << (tb - 1) };
                    Case {
                        sign,
                        weight_bits: wb,
                        tag_bits: tb,
                        exponent,
                        grow: grow.map(|g| exponent + g),
                        targets: syn.iter().map(|s| s.0).collect(),
                        weights: syn
                            .iter()
                            .map(|s| (wmin + (s.1 as i64).rem_euclid(wmax - wmin + 1)) as i32)
                            .collect(),
                        tags: syn
                            .iter()
                            .map(|s| (s.2 % (2 * tspan).max(1)) as i32 - tspan as i32)
                            .collect(),
                        pre: PreSide {
                            x0,
                            x1,
                            x2,
                            payload,
                        },
                        key: DrawKey { seed, epoch, row },
                    }
                },
            )
    }

    /// Post-side values of `comps` compartments.
    fn post_values(comps: usize) -> impl Strategy<Value = (Post, Vec<u16>, Vec<u16>)> {
        let v = move |hi: u16| proptest::collection::vec(0u16..hi, comps);
        (
            proptest::collection::vec(any::<bool>(), comps),
            v(128),
            v(128),
            v(128),
            v(513),
            v(129),
            proptest::collection::vec(proptest::collection::vec(-8192i32..8192, comps), 2),
        )
            .prop_map(|(y0, y1, y2, y3, out, deriv, m)| {
                (
                    Post {
                        y0,
                        y1,
                        out,
                        deriv,
                        m,
                    },
                    y2,
                    y3,
                )
            })
    }

    /// Runs `apply` on a copy of the case's row for 3 epochs; what it leaves.
    fn run_case(
        c: &Case,
        mut apply: impl FnMut(RowMut, DrawKey) -> RowOutcome,
    ) -> (Vec<i32>, Vec<i32>, i8, Vec<RowOutcome>) {
        let (mut w, mut t, mut e) = (c.weights.clone(), c.tags.clone(), c.exponent);
        let outcomes = (0..3)
            .map(|k| {
                let row = RowMut {
                    sign: c.sign,
                    weight_bits: c.weight_bits,
                    tag_bits: c.tag_bits,
                    exponent: &mut e,
                    max_exponent: c.grow,
                    targets: &c.targets,
                    weights: &mut w,
                    tags: &mut t,
                };
                apply(
                    row,
                    DrawKey {
                        epoch: c.key.epoch + k,
                        ..c.key
                    },
                )
            })
            .collect();
        (w, t, e, outcomes)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn row_draws_are_the_synapse_hashes(seed in any::<u64>(), epoch in any::<u64>(), row in any::<u64>(), i in any::<u64>()) {
            let draws = crate::learning::engine::RowDraws::new(DrawKey { seed, epoch, row });
            prop_assert_eq!(draws.at(i), hash_random(seed, epoch, row, i));
        }

        /// The fast engine, its exact fallback and the original implementation agree
        /// bit for bit: weights, tags, exponent and outcome.
        #[test]
        fn apply_row_matches_the_reference(
            text in rule_text(),
            (comps, (post, y2, y3), cases) in (1u32..8).prop_flat_map(|n| {
                (Just(n), post_values(n as usize), proptest::collection::vec(case(n), 1..4))
            }),
            payload_frac in 1i32..=9,
            modulator_frac in 0i32..=16,
        ) {
            let rule = prepared(&text);
            let scales = Scales { payload_frac, modulator_frac };
            let mut side = post.side();
            side.y2 = &y2;
            side.y3 = &y3;
            let products = rule.post_products(&side, comps as usize, scales);
            // Only some compartments reached: the same products where they are.
            let reached: Vec<u32> = (0..comps).filter(|c| c % 3 != 1).collect();
            let mut some = PostProducts::default();
            rule.post_products_into(&side, comps as usize, Some(&reached), scales, &mut some);
            let mut scratch = RowScratch::default();
            for c in &cases {
                let want = run_case(c, |row, key| rule.apply_row_reference(&products, c.pre, scales, row, key));
                let fast = run_case(c, |row, key| rule.apply_row_with(&products, c.pre, scales, row, key, &mut scratch));
                prop_assert_eq!(&fast, &want, "{}", text);
                let mut exact_only = RowScratch::default();
                exact_only.exact_only = true;
                let exact = run_case(c, |row, key| rule.apply_row_with(&products, c.pre, scales, row, key, &mut exact_only));
                prop_assert_eq!(&exact, &want, "{} (exact path)", text);
                if c.targets.iter().all(|t| reached.contains(t)) {
                    let part = run_case(c, |row, key| rule.apply_row(&some, c.pre, scales, row, key));
                    prop_assert_eq!(&part, &want, "{} (reached only)", text);
                }
            }
        }
    }
}

#[test]
fn a_rule_scaled_by_the_host_keeps_eight_bit_mantissas() {
    let p = parse_rule("dw = 200*2^-10*pre*deriv*m0 - 200*2^-10*pre*deriv*m1").unwrap();
    assert_eq!(p.terms(), 2);
    let value = |t: &Term| f64::from(t.mantissa) * 2f64.powi(i32::from(t.shift));
    let base = value(&p.equations[0].terms[0]);
    for factor in [1.0, 0.5, 0.37, 0.1, 0.013, 3.3] {
        let q = p.scaled(factor);
        for (t, t0) in q.equations[0].terms.iter().zip(&p.equations[0].terms) {
            assert!(t.mantissa.abs() <= 255, "{factor}: {}", t.mantissa);
            assert_eq!(t.mantissa.signum(), t0.mantissa.signum());
            assert_eq!(t.factors, t0.factors);
            // Nearest with 8 significant bits: within half a unit of the 8th bit.
            let want = base * factor * f64::from(t0.mantissa.signum());
            assert!((value(t) - want).abs() <= want.abs() / 256.0, "{factor}");
        }
    }
    // Exactly representable factors are exact; nonsense changes nothing.
    assert_eq!(value(&p.scaled(0.5).equations[0].terms[0]), base / 2.0);
    assert_eq!(p.scaled(0.0), p);
    assert_eq!(p.scaled(f64::NAN), p);
    assert_eq!(nearest_scale(0.0), None);
    assert_eq!(nearest_scale(255.0), Some((255, 0)));
    assert_eq!(nearest_scale(255.6), Some((1, 8)));
}
