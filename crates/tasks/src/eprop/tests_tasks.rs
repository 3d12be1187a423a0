//! Properties of the task generators (timing windows, labels, rates, frozen pattern)
//! and of the neuromodulator grid (k = 0 locality, mass, spread).

use super::grid::ModGrid;
use super::tasks::*;
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Every (step, input) spike of a trial.
fn events(t: &Trial) -> Vec<(usize, usize)> {
    (0..t.steps)
        .flat_map(|s| t.spikes_at(s).iter().map(move |&i| (s, usize::from(i))))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn cue_accumulation_trials_follow_the_protocol(seed in any::<u64>()) {
        let (t, sides) = cue_trial(&mut ChaCha8Rng::seed_from_u64(seed));
        prop_assert_eq!(t.steps, 2050);
        prop_assert_eq!(t.window.clone(), 1900..2050);
        t.check(40, 2).unwrap();
        let right = sides.iter().filter(|&&s| s).count();
        prop_assert_eq!(t.target.clone(), Target::Class(usize::from(right >= 4)));
        for s in 0..t.steps {
            prop_assert!(t.spikes_at(s).windows(2).all(|w| w[0] < w[1]));
        }
        let mut per_cue = [0usize; 7];
        for (s, i) in events(&t) {
            match i / 10 {
                g @ (0 | 1) => {
                    let c = s / 150;
                    prop_assert!(c < 7 && s % 150 < 100, "cue spike at {} outside a cue", s);
                    prop_assert_eq!(usize::from(sides[c]), g, "spike of the wrong side");
                    per_cue[c] += 1;
                }
                2 => prop_assert!(s >= 1900, "recall spike at {}", s),
                3 => {}
                _ => prop_assert!(false, "input {} out of range", i),
            }
        }
        // 10 inputs at 40 Hz for 100 ms: 40 spikes expected per cue (sd ≈ 6.3).
        for (c, &k) in per_cue.iter().enumerate() {
            prop_assert!((10..=80).contains(&k), "cue {} has {} spikes", c, k);
        }
    }

    #[test]
    fn delayed_match_trials_follow_the_protocol(seed in any::<u64>()) {
        let (t, cues) = delayed_match_trial(&mut ChaCha8Rng::seed_from_u64(seed));
        prop_assert_eq!(t.steps, 1100);
        prop_assert_eq!(t.window.clone(), 1050..1100);
        t.check(80, 2).unwrap();
        prop_assert_eq!(t.target.clone(), Target::Class(usize::from(cues[0] == cues[1])));
        let mut count = [0usize; 4];
        for (s, i) in events(&t) {
            let g = i / 20;
            count[g] += 1;
            match g {
                0 => prop_assert!(cues[0] && (50..200).contains(&s), "cue 1 spike at {}", s),
                1 => prop_assert!(cues[1] && (900..1050).contains(&s), "cue 2 spike at {}", s),
                2 => prop_assert!(s >= 1050, "decision spike at {}", s),
                _ => {}
            }
        }
        // 20 inputs at 40 Hz for 150 ms: 120 expected; decision 50 ms: 40; background
        // 20 at 10 Hz for 1.1 s: 220.
        for (g, on) in [(0, cues[0]), (1, cues[1])] {
            prop_assert!(!on || (60..=180).contains(&count[g]), "group {} count {}", g, count[g]);
        }
        prop_assert!((10..=80).contains(&count[2]), "decision count {}", count[2]);
        prop_assert!((140..=300).contains(&count[3]), "background count {}", count[3]);
    }
}

#[test]
fn background_and_cue_rates_are_as_specified() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let (mut bg, mut cue, mut cue_steps) = (0usize, 0usize, 0usize);
    let trials = 40;
    for _ in 0..trials {
        let (t, _) = cue_trial(&mut rng);
        for (_, i) in events(&t) {
            match i / 10 {
                0 | 1 => cue += 1,
                3 => bg += 1,
                _ => {}
            }
        }
        cue_steps += 7 * 100;
    }
    // Expected 10 inputs × 2.05 s × 10 Hz = 205 per trial; 5 sd margins.
    let bg_hz = bg as f64 / (trials as f64 * 10.0 * 2.05);
    let cue_hz = cue as f64 / (cue_steps as f64 * 10.0 / 1000.0);
    assert!((9.5..10.5).contains(&bg_hz), "background {bg_hz} Hz");
    assert!((38.0..42.0).contains(&cue_hz), "cue {cue_hz} Hz");
}

#[test]
fn pattern_generation_is_frozen_centred_and_bounded() {
    let a = TaskGen::new(TaskKind::PatternGeneration, 3);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let t = a.trial(&mut rng);
    assert_eq!(t, a.trial(&mut rng), "the same trial every call");
    assert_eq!(
        t,
        TaskGen::new(TaskKind::PatternGeneration, 3).trial(&mut rng)
    );
    assert_ne!(
        t,
        TaskGen::new(TaskKind::PatternGeneration, 4).trial(&mut rng)
    );
    t.check(100, 1).unwrap();
    assert_eq!((t.steps, t.window.clone()), (2000, 0..2000));
    let Target::Series(y) = &t.target else {
        panic!("regression target expected")
    };
    let mean = y.iter().map(|&v| f64::from(v)).sum::<f64>() / 2000.0;
    assert!(mean.abs() < 1e-6, "mean {mean}");
    // Σ a_f = 1, so |y + mean_before| ≤ 1 and the centred signal stays within 2.
    assert!(y.iter().all(|v| v.abs() <= 2.0));
    assert!(y.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() > 0.0);
    // 100 inputs at 50 Hz for 2 s: 10,000 spikes expected (sd 100).
    assert!(
        (9_500..10_500).contains(&t.spikes.len()),
        "{}",
        t.spikes.len()
    );
}

#[test]
fn task_names_parse() {
    for (s, k) in [
        ("cue-accumulation", TaskKind::CueAccumulation),
        ("delayed-match", TaskKind::DelayedMatch),
        ("pattern-generation", TaskKind::PatternGeneration),
    ] {
        assert_eq!(TaskKind::parse(s).unwrap(), k);
    }
    assert!(TaskKind::parse("cue").is_err());
}

#[test]
fn grid_with_k_zero_delivers_only_to_the_injecting_cell() {
    let mut g = ModGrid::new(10, 0.0);
    g.diffuse();
    g.inject(37, 2.5);
    for c in 0..100 {
        assert_eq!(g.read(c), if c == 37 { 2.5 } else { 0.0 }, "cell {c}");
    }
    g.diffuse();
    assert!(g.field().iter().all(|&v| v == 0.0), "no memory with k = 0");
}

#[test]
fn grid_step_scales_mass_by_k_and_adds_the_injection() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    use rand::RngExt;
    for side in [1, 2, 3, 10, 20] {
        let mut g = ModGrid::new(side, 0.75);
        for _ in 0..5 {
            let before: f64 = g.field().iter().map(|&v| f64::from(v)).sum();
            g.diffuse();
            let mut injected = 0.0f64;
            for _ in 0..3 {
                let cell = rng.random_range(0..side * side);
                let v: f32 = rng.random::<f32>() - 0.3;
                g.inject(cell, v);
                injected += f64::from(v);
            }
            let after: f64 = g.field().iter().map(|&v| f64::from(v)).sum();
            let want = 0.75 * before + injected;
            assert!(
                (after - want).abs() < 1e-5,
                "side {side}: {after} vs {want}"
            );
        }
    }
}

#[test]
fn grid_spreads_a_point_to_its_toroidal_moore_neighbourhood() {
    let mut g = ModGrid::new(10, 0.9);
    g.inject(0, 1.0); // row 0, column 0: neighbours wrap to row 9 and column 9
    g.diffuse();
    let expect = [0, 1, 9, 10, 11, 19, 90, 91, 99];
    for c in 0..100 {
        let want = if expect.contains(&c) { 0.1 } else { 0.0 };
        assert!((g.read(c) - want).abs() < 1e-7, "cell {c}: {}", g.read(c));
    }
}
