use super::*;
use proptest::prelude::*;

fn grid(w: u32, h: u32, edge: f64, corner: f64, decay: f64, b: Boundary, f: GridFormat) -> ModGrid {
    ModGrid::with(w, h, 1, Kernel { edge, corner }, decay, b, f).unwrap()
}

/// Channel 0 as rows of raw bits.
fn field(g: &ModGrid) -> Vec<Vec<i32>> {
    g.plane_bits(0)
        .unwrap()
        .chunks(g.width() as usize)
        .map(|r| r.to_vec())
        .collect()
}

const BOUNDARIES: [Boundary; 3] = [Boundary::Torus, Boundary::Reflecting, Boundary::Absorbing];
const FORMATS: [GridFormat; 3] = [GridFormat::Q8_24, GridFormat::Q16_16, GridFormat::Q24_8];

#[test]
fn zero_kernel_is_the_identity() {
    for b in BOUNDARIES {
        for f in FORMATS {
            let mut g = grid(4, 3, 0.0, 0.0, 0.0, b, f);
            g.inject_bits(0, 0, 0, i32::MAX).unwrap();
            g.inject_bits(0, 3, 2, i32::MIN).unwrap();
            g.inject_bits(0, 1, 1, -12345).unwrap();
            g.inject(0, 2, 1, 0.75).unwrap();
            let before = g.clone();
            for _ in 0..5 {
                g.step();
            }
            assert_eq!(g, before, "{b:?} {f:?}");
        }
    }
}

#[test]
fn one_step_by_hand() {
    // Q24.8: edge 0.125 = 32/256, corner 0.0625 = 16/256.
    let f = GridFormat::Q24_8;
    for (b, sign) in [(Boundary::Absorbing, 1), (Boundary::Reflecting, -1)] {
        let mut g = grid(5, 5, 0.125, 0.0625, 0.0, b, f);
        assert_eq!((g.edge_bits(), g.corner_bits()), (32, 16));
        g.inject_bits(0, 2, 2, sign * 1000).unwrap();
        g.step();
        // se = 1000·32/256 = 125, sc = trunc(62.5) = 62, centre 1000 − 500 − 248.
        // A negative source mirrors exactly: truncation, not flooring (−63).
        let s = sign;
        assert_eq!(
            field(&g),
            vec![
                vec![0, 0, 0, 0, 0],
                vec![0, 62 * s, 125 * s, 62 * s, 0],
                vec![0, 125 * s, 252 * s, 125 * s, 0],
                vec![0, 62 * s, 125 * s, 62 * s, 0],
                vec![0, 0, 0, 0, 0],
            ]
        );
        assert_eq!(g.total_bits(0), Ok(s as i64 * 1000));
    }

    // A source in the corner cell (0, 0): 2 edge and 3 corner shares leave the grid.
    let corner_case = |b| {
        let mut g = grid(4, 4, 0.125, 0.0625, 0.0, b, f);
        g.inject_bits(0, 0, 0, 1000).unwrap();
        g.step();
        field(&g)
    };
    assert_eq!(
        corner_case(Boundary::Reflecting),
        vec![
            vec![252 + 250 + 186, 125, 0, 0],
            vec![125, 62, 0, 0],
            vec![0, 0, 0, 0],
            vec![0, 0, 0, 0],
        ]
    );
    assert_eq!(
        corner_case(Boundary::Absorbing),
        vec![
            vec![252, 125, 0, 0],
            vec![125, 62, 0, 0],
            vec![0, 0, 0, 0],
            vec![0, 0, 0, 0],
        ]
    );
    assert_eq!(
        corner_case(Boundary::Torus),
        vec![
            vec![252, 125, 0, 125],
            vec![125, 62, 0, 62],
            vec![0, 0, 0, 0],
            vec![125, 62, 0, 62],
        ]
    );

    // Then decay 0.5: 1000 → 500, and 3 → 3 − trunc(1.5) = 2.
    let mut g = grid(2, 1, 0.0, 0.0, 0.5, Boundary::Absorbing, f);
    g.inject_bits(0, 0, 0, 1000).unwrap();
    g.inject_bits(0, 1, 0, -3).unwrap();
    g.step();
    assert_eq!(field(&g), vec![vec![500, -2]]);
}

#[test]
fn quantized_coefficients_are_exposed() {
    let g = grid(1, 1, 0.1, 0.05, 0.01, Boundary::Torus, GridFormat::Q24_8);
    assert_eq!(
        (g.edge_bits(), g.corner_bits(), g.decay_bits()),
        (26, 13, 3)
    );
    assert_eq!(g.kernel().edge, 26.0 / 256.0);
    assert_eq!(g.decay(), 3.0 / 256.0);
    assert_eq!(g.frac_bits(), 8);
    let g = grid(1, 1, 0.25, 0.0, 1.0, Boundary::Torus, GridFormat::Q8_24);
    assert_eq!((g.edge_bits(), g.decay_bits()), (1 << 22, 1 << 24));

    // Within the config's 1e-12 slack, nearest rounding would give 33 + 32 > 64
    // 256ths per direction; truncation keeps the centre's share non-negative.
    let edge = (32.5 + 3e-11) / 256.0;
    let corner = (31.5 + 3e-11) / 256.0;
    let g = grid(
        3,
        3,
        edge,
        corner,
        0.0,
        Boundary::Reflecting,
        GridFormat::Q24_8,
    );
    assert_eq!((g.edge_bits(), g.corner_bits()), (32, 31));
}

#[test]
fn invalid_parameters_are_refused() {
    let k = |edge, corner| Kernel { edge, corner };
    let (t, f) = (Boundary::Torus, GridFormat::Q16_16);
    for bad in [
        k(-0.1, 0.0),
        k(0.0, f64::NAN),
        k(0.2, 0.1),
        k(f64::INFINITY, 0.0),
    ] {
        assert!(matches!(
            ModGrid::with(2, 2, 1, bad, 0.0, t, f),
            Err(ModGridError::InvalidKernel { .. })
        ));
    }
    for d in [-0.01, 1.01, f64::NAN] {
        assert!(matches!(
            ModGrid::with(2, 2, 1, k(0.1, 0.0), d, t, f),
            Err(ModGridError::InvalidDecay { .. })
        ));
    }
    assert_eq!(
        ModGrid::with(4096, 4096, 17, k(0.1, 0.0), 0.0, t, f),
        Err(ModGridError::TooLarge {
            cells: 4096 * 4096 * 17
        })
    );
    assert!(ModGrid::with(u32::MAX, u32::MAX, u32::MAX, k(0.1, 0.0), 0.0, t, f).is_err());
}

#[test]
fn out_of_range_access_is_an_error() {
    let mut g = ModGrid::with(
        3,
        2,
        2,
        Kernel {
            edge: 0.1,
            corner: 0.0,
        },
        0.0,
        Boundary::Torus,
        GridFormat::Q16_16,
    )
    .unwrap();
    assert_eq!(
        g.inject(2, 0, 0, 1.0),
        Err(ModGridError::NoSuchChannel {
            channel: 2,
            channels: 2
        })
    );
    assert_eq!(
        g.sample(0, 3, 0),
        Err(ModGridError::OutsideGrid {
            x: 3,
            y: 0,
            width: 3,
            height: 2
        })
    );
    assert!(g.sample_bits(1, 0, 2).is_err());
    assert!(g.total_bits(5).is_err());
    assert!(g.plane_bits(2).is_err());
    assert_eq!(g.inject(0, 0, 0, f64::NAN), Err(ModGridError::NotANumber));
    assert_eq!(g.total_bits(0), Ok(0));
    assert_eq!(g.cell_updates_per_step(), 12);
    assert_eq!((g.width(), g.height(), g.channels()), (3, 2, 2));
}

#[test]
fn inject_sample_and_saturation() {
    let mut g = grid(
        2,
        1,
        0.25,
        0.0,
        0.0,
        Boundary::Reflecting,
        GridFormat::Q16_16,
    );
    g.inject(0, 0, 0, 1.5).unwrap();
    g.inject(0, 0, 0, -0.25).unwrap();
    assert_eq!(g.sample(0, 0, 0), Ok(1.25));
    assert_eq!(g.sample_bits(0, 0, 0), Ok(5 << 14));
    g.inject(0, 1, 0, 1e12).unwrap();
    assert_eq!(g.sample_bits(0, 1, 0), Ok(i32::MAX));
    g.inject_bits(0, 1, 0, 7).unwrap();
    assert_eq!(g.sample_bits(0, 1, 0), Ok(i32::MAX));
    g.inject_bits(0, 0, 0, i32::MAX).unwrap();
    g.step();
    assert_eq!(field(&g), vec![vec![i32::MAX, i32::MAX]], "no wrap-around");
    g.clear();
    assert_eq!(g.total_bits(0), Ok(0));
    assert_eq!(g.to_f64(g.from_f64(-2.5)), -2.5);
}

#[test]
fn a_step_that_overflows_saturates() {
    // Neighbours at i32::MIN send exact shares; the centre at MIN + 1 keeps 7 LSB
    // more than an exact kernel would (its shares truncate toward zero), so its sum
    // is MIN − 7.
    let mut g = grid(3, 3, 0.125, 0.0625, 0.0, Boundary::Torus, GridFormat::Q24_8);
    for y in 0..3 {
        for x in 0..3 {
            g.inject_bits(0, x, y, i32::MIN).unwrap();
        }
    }
    g.inject_bits(0, 1, 1, 1).unwrap();
    g.step();
    assert_eq!(g.sample_bits(0, 1, 1), Ok(i32::MIN));
}

#[test]
fn channels_do_not_mix_and_empty_grids_are_inert() {
    let mut g = ModGrid::with(
        5,
        5,
        3,
        Kernel {
            edge: 0.2,
            corner: 0.05,
        },
        0.1,
        Boundary::Torus,
        GridFormat::Q8_24,
    )
    .unwrap();
    g.inject(1, 2, 2, 1.0).unwrap();
    for _ in 0..10 {
        g.step();
    }
    assert_eq!(g.total_bits(0), Ok(0));
    assert_eq!(g.total_bits(2), Ok(0));
    assert!(g.total_bits(1).unwrap() > 0);

    let cfg = ModulatorConfig {
        width: 0,
        height: 0,
        channels: 4,
        kernel: Kernel {
            edge: 0.1,
            corner: 0.0,
        },
        decay: 0.0,
        boundary: Boundary::Absorbing,
        format: GridFormat::Q16_16,
    };
    let mut g = ModGrid::new(&cfg).unwrap();
    g.step();
    assert_eq!(g.cell_updates_per_step(), 0);
    assert!(g.sample(0, 0, 0).is_err());
    assert_eq!(g.total_bits(0), Ok(0));
}

#[test]
fn absorbing_eventually_loses_mass() {
    let mut g = grid(
        7,
        7,
        0.2,
        0.05,
        0.0,
        Boundary::Absorbing,
        GridFormat::Q16_16,
    );
    g.inject(0, 3, 3, 10.0).unwrap();
    let start = g.total_bits(0).unwrap();
    for _ in 0..3 {
        g.step();
    }
    assert_eq!(g.total_bits(0).unwrap(), start, "not yet at the edge");
    g.step();
    assert!(g.total_bits(0).unwrap() < start);
}

#[test]
fn serde_round_trip_and_corrupt_state() {
    let mut g = ModGrid::with(
        4,
        3,
        2,
        Kernel {
            edge: 0.15,
            corner: 0.05,
        },
        0.01,
        Boundary::Reflecting,
        GridFormat::Q24_8,
    )
    .unwrap();
    g.inject(1, 1, 2, 3.5).unwrap();
    g.step();
    let text = ron::to_string(&g).unwrap();
    let mut back: ModGrid = ron::from_str(&text).unwrap();
    assert_eq!(back, g);
    back.step();
    g.step();
    assert_eq!(back, g);
    assert_eq!(back.cells, g.cells);

    let truncated = text.replacen("cells:[", "cells:[1,", 1);
    assert!(ron::from_str::<ModGrid>(&truncated).is_err());
    let bad_kernel = text.replacen("edge_bits:38", "edge_bits:70", 1);
    assert_ne!(bad_kernel, text);
    assert!(ron::from_str::<ModGrid>(&bad_kernel).is_err());
}

fn arb_kernel() -> impl Strategy<Value = (f64, f64)> {
    (0.0f64..=0.25).prop_flat_map(|e| (Just(e), 0.0f64..=(0.25 - e)))
}

fn arb_format() -> impl Strategy<Value = GridFormat> {
    prop_oneof![
        Just(GridFormat::Q8_24),
        Just(GridFormat::Q16_16),
        Just(GridFormat::Q24_8)
    ]
}

fn arb_boundary() -> impl Strategy<Value = Boundary> {
    prop_oneof![
        Just(Boundary::Torus),
        Just(Boundary::Reflecting),
        Just(Boundary::Absorbing)
    ]
}

fn at(g: &ModGrid, x: i64, y: i64) -> i32 {
    let (w, h) = (g.width() as i64, g.height() as i64);
    g.sample_bits(0, x.rem_euclid(w) as u32, y.rem_euclid(h) as u32)
        .unwrap()
}

/// Whether channel 0 is symmetric about (sx, sy) under both mirrors and, if
/// `transpose`, the diagonal, checking every cell within `r` (wrapping).
fn symmetric_about(g: &ModGrid, sx: i64, sy: i64, r: i64, transpose: bool) -> bool {
    (-r..=r).all(|dx| {
        (-r..=r).all(|dy| {
            let v = at(g, sx + dx, sy + dy);
            v == at(g, sx - dx, sy + dy)
                && v == at(g, sx + dx, sy - dy)
                && (!transpose || v == at(g, sx + dy, sy + dx))
        })
    })
}

/// An independent gather-form model of one step: what each cell receives.
fn reference_step(g: &ModGrid, cells: &[i32]) -> Vec<i32> {
    let (w, h) = (g.width() as i64, g.height() as i64);
    let frac = g.frac_bits();
    let share = |c: i32, q: i32| (c as i64 * q as i64) / (1i64 << frac);
    let get = |x: i64, y: i64| cells[(y * w + x) as usize];
    let inside = |x: i64, y: i64| (0..w).contains(&x) && (0..h).contains(&y);
    let dirs: Vec<((i64, i64), i32)> = EDGES
        .iter()
        .map(|&d| (d, g.edge_bits()))
        .chain(CORNERS.iter().map(|&d| (d, g.corner_bits())))
        .collect();
    let mut out = Vec::new();
    for y in 0..h {
        for x in 0..w {
            let c = get(x, y);
            let mut acc = c as i64 - dirs.iter().map(|&(_, q)| share(c, q)).sum::<i64>();
            for &((dx, dy), q) in &dirs {
                let (sx, sy) = (x - dx, y - dy);
                match g.boundary() {
                    Boundary::Torus => acc += share(get(sx.rem_euclid(w), sy.rem_euclid(h)), q),
                    _ if inside(sx, sy) => acc += share(get(sx, sy), q),
                    _ => {}
                }
                if g.boundary() == Boundary::Reflecting && !inside(x + dx, y + dy) {
                    acc += share(c, q);
                }
            }
            let v = acc.clamp(i32::MIN as i64, i32::MAX as i64);
            out.push((v - v * g.decay_bits() as i64 / (1i64 << frac)) as i32);
        }
    }
    out
}

proptest! {
    #[test]
    fn step_matches_a_gather_form_reference(
        (w, h) in (1u32..9, 1u32..9),
        (edge, corner) in arb_kernel(),
        decay in prop_oneof![Just(0.0), 0.0f64..=1.0],
        format in arb_format(),
        b in arb_boundary(),
        cells in prop::collection::vec(prop_oneof![any::<i32>(), -1000i32..1000], 64),
        steps in 1usize..4,
    ) {
        let mut g = grid(w, h, edge, corner, decay, b, format);
        let n = (w * h) as usize;
        for (i, &c) in cells[..n].iter().enumerate() {
            g.inject_bits(0, i as u32 % w, i as u32 / w, c).unwrap();
        }
        for _ in 0..steps {
            let expect = reference_step(&g, g.plane_bits(0).unwrap());
            g.step();
            prop_assert_eq!(g.plane_bits(0).unwrap(), &expect[..]);
        }
    }

    #[test]
    fn mass_is_conserved_without_decay(
        (w, h) in (1u32..12, 1u32..12),
        (edge, corner) in arb_kernel(),
        format in arb_format(),
        torus in any::<bool>(),
        injections in prop::collection::vec((0u32..12, 0u32..12, -(1i32 << 24)..(1 << 24)), 1..20),
        steps in 1usize..40,
    ) {
        let b = if torus { Boundary::Torus } else { Boundary::Reflecting };
        let mut g = grid(w, h, edge, corner, 0.0, b, format);
        for (x, y, a) in injections {
            g.inject_bits(0, x % w, y % h, a).unwrap();
        }
        let total = g.total_bits(0).unwrap();
        for _ in 0..steps {
            g.step();
            prop_assert_eq!(g.total_bits(0).unwrap(), total);
        }
    }

    #[test]
    fn point_source_spreads_symmetrically(
        n in 0u32..6,
        (margin_x, margin_y) in (0u32..4, 0u32..4),
        (edge, corner) in arb_kernel(),
        format in arb_format(),
        b in arb_boundary(),
        amount in prop_oneof![-(1i32 << 30)..-1, 1..(1i32 << 30)],
        steps in 0u32..8,
    ) {
        // A source steps + margin cells from every edge: the field never reaches one.
        let (sx, sy) = (steps + margin_x, steps + margin_y);
        let (w, h) = (2 * sx + 1 + n, 2 * sy + 1 + n);
        let mut g = grid(w, h, edge, corner, 0.0, b, format);
        g.inject_bits(0, sx, sy, amount).unwrap();
        for _ in 0..steps {
            g.step();
        }
        let r = steps as i64;
        prop_assert!(symmetric_about(&g, sx as i64, sy as i64, r, true));
        prop_assert_eq!(g.total_bits(0).unwrap(), amount as i64);
    }

    #[test]
    fn point_source_on_a_torus_or_centred_stays_symmetric(
        half in 0u32..5,
        (edge, corner) in arb_kernel(),
        format in arb_format(),
        b in arb_boundary(),
        amount in -(1i32 << 30)..(1i32 << 30),
        (sx, sy) in (0u32..9, 0u32..9),
        steps in 0u32..12,
    ) {
        // Any source on a square torus; the centre of a square for the other boundaries.
        let side = 2 * half + 1;
        let (sx, sy) = if b == Boundary::Torus { (sx % side, sy % side) } else { (half, half) };
        let mut g = grid(side, side, edge, corner, 0.0, b, format);
        g.inject_bits(0, sx, sy, amount).unwrap();
        for _ in 0..steps {
            g.step();
        }
        prop_assert!(symmetric_about(&g, sx as i64, sy as i64, side as i64, true));
    }

    #[test]
    fn a_torus_has_no_edges(
        (w, h) in (1u32..10, 1u32..10),
        (sx, sy) in (0u32..10, 0u32..10),
        (edge, corner) in arb_kernel(),
        decay in 0.0f64..0.2,
        format in arb_format(),
        amount in -(1i32 << 30)..(1i32 << 30),
        steps in 0u32..15,
    ) {
        let (sx, sy) = (sx % w, sy % h);
        let mut origin = grid(w, h, edge, corner, decay, Boundary::Torus, format);
        let mut shifted = origin.clone();
        origin.inject_bits(0, 0, 0, amount).unwrap();
        shifted.inject_bits(0, sx, sy, amount).unwrap();
        for _ in 0..steps {
            origin.step();
            shifted.step();
        }
        for y in 0..h as i64 {
            for x in 0..w as i64 {
                prop_assert_eq!(at(&shifted, x + sx as i64, y + sy as i64), at(&origin, x, y));
            }
        }
    }

    #[test]
    fn absorbing_loses_mass_only_at_the_edge(
        (w, h) in (1u32..12, 1u32..12),
        (sx, sy) in (0u32..12, 0u32..12),
        (edge, corner) in arb_kernel(),
        format in arb_format(),
        amount in 1i32..(1 << 30),
        steps in 1usize..20,
    ) {
        let mut g = grid(w, h, edge, corner, 0.0, Boundary::Absorbing, format);
        g.inject_bits(0, sx % w, sy % h, amount).unwrap();
        for _ in 0..steps {
            let before = g.total_bits(0).unwrap();
            let on_edge = (0..h).any(|y| (0..w).any(|x| {
                (x == 0 || y == 0 || x + 1 == w || y + 1 == h) && g.sample_bits(0, x, y).unwrap() != 0
            }));
            g.step();
            let after = g.total_bits(0).unwrap();
            prop_assert!(after <= before);
            if !on_edge {
                prop_assert_eq!(after, before);
            }
        }
    }

    #[test]
    fn decay_without_diffusion_scales_every_cell(
        decay in 0.0f64..=1.0,
        format in arb_format(),
        b in arb_boundary(),
        cells in prop::collection::vec(any::<i32>(), 12),
    ) {
        let mut g = grid(4, 3, 0.0, 0.0, decay, b, format);
        for (i, &c) in cells.iter().enumerate() {
            g.inject_bits(0, i as u32 % 4, i as u32 / 4, c).unwrap();
        }
        g.step();
        let d = g.decay_bits() as i64;
        let one = 1i64 << g.frac_bits();
        prop_assert!((d - (decay * one as f64).round() as i64).abs() <= 1);
        for (i, &c) in cells.iter().enumerate() {
            let got = g.sample_bits(0, i as u32 % 4, i as u32 / 4).unwrap() as i64;
            let c = c as i64;
            // The removed share c·d rounds toward zero, so the kept part rounds away.
            prop_assert_eq!(got, c - c * d / one);
            let exact = c as f64 * (one - d) as f64 / one as f64;
            prop_assert!((got as f64 - exact).abs() < 1.0);
            prop_assert!(got.abs() <= c.abs() && got * c >= 0);
        }
    }
}
