use super::*;
use proptest::prelude::*;

fn fmt(index_bits: u8, weight_bits: u8, sign: SignMode, delay_bits: u8, tag_bits: u8) -> RowFormat {
    RowFormat {
        index_bits,
        weight_bits,
        sign,
        delay_bits,
        tag_bits,
    }
}

fn syn(target: u32, weight: i32, delay: u8, tag: i32) -> Synapse {
    Synapse {
        target,
        weight,
        delay,
        tag,
    }
}

#[test]
fn layout_is_hand_checked() {
    // 4 + 3 + 2 + 3 = 12-bit entries in 16-bit words.
    let f = fmt(4, 3, SignMode::Signed, 2, 3);
    assert_eq!(f.entry_bits(), 12);
    let mut m = SynapseMemory::new(16, 1024);
    let row = [syn(5, -2, 1, -1), syn(10, 3, 2, 1)];
    assert_eq!(m.push_row(f, 0, &row), Ok(0));
    // Entry 0: target 0101, weight 110 << 4, delay 01 << 7, tag 111 << 9 = 0xEE5.
    // Entry 1 at bit 12: 1010 | 011 << 4 | 10 << 7 | 001 << 9 = 0x33A.
    assert_eq!(m.words, vec![0x0033_AEE5]);
    assert_eq!(m.row_words(0), 2, "24 bits round up to two 16-bit words");
    // The next row starts on word 2 = bit 32, even though bit 24 is free.
    let e = fmt(4, 3, SignMode::Excitatory, 0, 0);
    assert_eq!(m.push_row(e, 1, &[syn(1, 7, 0, 0)]), Ok(1));
    assert_eq!(m.rows()[1].word_offset, 2);
    assert_eq!(m.words, vec![0x71_0033_AEE5]);
    // An inhibitory row stores the magnitude.
    let i = fmt(4, 3, SignMode::Inhibitory, 0, 0);
    assert_eq!(m.push_row(i, 0, &[syn(2, -5, 0, 0)]), Ok(2));
    assert_eq!(m.words, vec![0x0052_0071_0033_AEE5]);
    assert_eq!(m.synapse(0, 0), Ok(row[0]));
    assert_eq!(m.synapse(0, 1), Ok(row[1]));
    assert_eq!(m.synapse(2, 0), Ok(syn(2, -5, 0, 0)));
    assert_eq!(m.used_bits(), 64);
}

#[test]
fn entries_straddle_u64_elements() {
    let f = fmt(20, 9, SignMode::Signed, 6, 16); // 51 bits
    let mut m = SynapseMemory::new(64, 1 << 16);
    let row: Vec<_> = (0..7)
        .map(|k| {
            syn(
                0xF_FFFF - k,
                -256 + k as i32,
                63 - k as u8,
                -32768 + k as i32,
            )
        })
        .collect();
    m.push_row(f, 3, &row).unwrap();
    assert_eq!(m.row_synapses(0).collect::<Vec<_>>(), row);
    assert_eq!(m.row_words(0), 6); // 357 bits
}

#[test]
fn capacity_accounting_is_exact() {
    let f = fmt(10, 8, SignMode::Signed, 0, 0); // 18-bit entries
    let mut m = SynapseMemory::new(32, 8 * 32);
    let lens = [0u32, 1, 2, 3];
    for &len in &lens {
        let row: Vec<_> = (0..len).map(|t| syn(t, 1, 0, 0)).collect();
        m.push_row(f, 0, &row).unwrap();
    }
    let words: Vec<u32> = (0..4).map(|r| m.row_words(r)).collect();
    assert_eq!(words, vec![0, 1, 2, 2]);
    let planned: u64 = lens
        .iter()
        .map(|&l| row_bits(32, &f, TargetCoding::Sparse, l))
        .sum();
    assert_eq!(m.used_bits(), 5 * 32);
    assert_eq!(m.used_bits(), planned);

    // Three words are left: five 18-bit entries (90 bits) fit them exactly, six don't.
    let before = m.clone();
    let five: Vec<_> = (0..5).map(|t| syn(t, 1, 0, 0)).collect();
    let six: Vec<_> = (0..6).map(|t| syn(t, 1, 0, 0)).collect();
    let err = m.push_row(f, 0, &six).unwrap_err();
    assert_eq!(
        err,
        SynapseError::CapacityExceeded {
            needed_bits: 128,
            free_bits: 96,
            capacity_bits: 256,
        }
    );
    assert!(err.to_string().contains("needs 128 bits, 96 of 256"));
    assert_eq!(m, before, "a refused row leaves the memory unchanged");
    assert_eq!(m.push_row(f, 0, &five), Ok(4));
    assert_eq!(m.used_bits(), m.capacity_bits());
    assert!(m.push_row(f, 0, &[syn(0, 1, 0, 0)]).is_err());
    assert_eq!(m.push_row(f, 0, &[]), Ok(5), "an empty row costs nothing");
}

#[test]
fn sign_fixed_rows_reject_wrong_sign() {
    let mut m = SynapseMemory::new(64, 4096);
    let e = fmt(8, 4, SignMode::Excitatory, 0, 0);
    let i = fmt(8, 4, SignMode::Inhibitory, 0, 0);
    assert_eq!(e.weight_range(), (0, 15));
    assert_eq!(i.weight_range(), (-15, 0));
    assert_eq!(
        m.push_row(e, 0, &[syn(0, 3, 0, 0), syn(1, -1, 0, 0)]),
        Err(SynapseError::WrongSign {
            entry: 1,
            weight: -1,
            sign: SignMode::Excitatory,
        })
    );
    assert!(matches!(
        m.push_row(i, 0, &[syn(0, 1, 0, 0)]),
        Err(SynapseError::WrongSign { .. })
    ));
    assert_eq!(m.row_count(), 0);
    m.push_row(e, 0, &[syn(0, 15, 0, 0), syn(1, 0, 0, 0)])
        .unwrap();
    m.push_row(i, 0, &[syn(0, -15, 0, 0), syn(1, 0, 0, 0)])
        .unwrap();
    assert!(matches!(
        m.set_weight(0, 0, -2),
        Err(SynapseError::WrongSign { .. })
    ));
    assert!(matches!(
        m.set_weight(1, 0, 2),
        Err(SynapseError::WrongSign { .. })
    ));
    m.set_weight(1, 1, -7).unwrap();
    assert_eq!(m.synapse(1, 1).unwrap().weight, -7);
    // Quantization clamps a wrong-signed weight to zero rather than flipping it.
    assert_eq!(quantize_weight(-3.0, &e, 0), 0);
    assert_eq!(quantize_weight(3.0, &i, 0), 0);
}

#[test]
fn fields_that_do_not_fit_are_rejected() {
    let f = fmt(4, 3, SignMode::Signed, 2, 3);
    let mut m = SynapseMemory::new(64, 4096);
    let over = |entry, field, value, min, max| {
        Err(SynapseError::FieldOverflow {
            entry,
            field,
            value,
            min,
            max,
        })
    };
    assert_eq!(
        m.push_row(f, 0, &[syn(16, 0, 0, 0)]),
        over(0, SynapseField::Target, 16, 0, 15)
    );
    assert_eq!(
        m.push_row(f, 0, &[syn(0, 4, 0, 0)]),
        over(0, SynapseField::Weight, 4, -4, 3)
    );
    assert_eq!(
        m.push_row(f, 0, &[syn(0, -5, 0, 0)]),
        over(0, SynapseField::Weight, -5, -4, 3)
    );
    assert_eq!(
        m.push_row(f, 0, &[syn(0, 0, 4, 0)]),
        over(0, SynapseField::Delay, 4, 0, 3)
    );
    assert_eq!(
        m.push_row(f, 0, &[syn(0, 0, 0, 4)]),
        over(0, SynapseField::Tag, 4, -4, 3)
    );
    let no_tag = fmt(4, 3, SignMode::Signed, 0, 0);
    assert_eq!(
        m.push_row(no_tag, 0, &[syn(0, 0, 1, 0)]),
        over(0, SynapseField::Delay, 1, 0, 0)
    );
    assert_eq!(
        m.push_row(no_tag, 0, &[syn(0, 0, 0, -1)]),
        over(0, SynapseField::Tag, -1, 0, 0)
    );
    for (bad, field) in [
        (fmt(0, 3, SignMode::Signed, 0, 0), "index_bits"),
        (fmt(21, 3, SignMode::Signed, 0, 0), "index_bits"),
        (fmt(4, 0, SignMode::Signed, 0, 0), "weight_bits"),
        (fmt(4, 17, SignMode::Excitatory, 0, 0), "weight_bits"),
        (fmt(4, 3, SignMode::Signed, 7, 0), "delay_bits"),
        (fmt(4, 3, SignMode::Signed, 0, 17), "tag_bits"),
    ] {
        match m.push_row(bad, 0, &[]) {
            Err(SynapseError::InvalidFormat { field: got, .. }) => assert_eq!(got, field),
            other => panic!("{bad:?}: {other:?}"),
        }
    }
    assert_eq!(
        m.push_row(f, 8, &[]),
        Err(SynapseError::InvalidExponent { exponent: 8 })
    );
    assert_eq!(
        m.push_row(f, -7, &[]),
        Err(SynapseError::InvalidExponent { exponent: -7 })
    );
    assert_eq!(m.row_count(), 0);
    assert_eq!(m.used_bits(), 0);
}

#[test]
fn out_of_range_access_is_an_error_not_a_panic() {
    let f = fmt(4, 3, SignMode::Signed, 2, 3);
    let mut m = SynapseMemory::new(64, 4096);
    m.push_row(f, 0, &[syn(1, 1, 1, 1)]).unwrap();
    assert_eq!(
        m.synapse(1, 0),
        Err(SynapseError::NoSuchRow { row: 1, rows: 1 })
    );
    assert_eq!(
        m.synapse(0, 1),
        Err(SynapseError::NoSuchEntry {
            row: 0,
            entry: 1,
            len: 1
        })
    );
    assert!(m.set_weight(0, 1, 0).is_err());
    assert!(m.set_tag(5, 0, 0).is_err());
    assert!(m.set_tag(0, 0, 4).is_err());
    assert!(m.set_exponent(1, 0).is_err());
    assert!(m.set_exponent(0, 9).is_err());
    m.set_exponent(0, 7).unwrap();
    assert_eq!(m.rows()[0].exponent, 7);
    assert_eq!(m.row_synapses(9).count(), 0);
    assert_eq!(m.row_targets(9).count(), 0);
    assert_eq!(m.row_words(9), 0);
}

#[test]
fn corrupt_memory_reads_zeros_instead_of_panicking() {
    let f = fmt(4, 3, SignMode::Signed, 2, 3);
    let mut m = SynapseMemory::new(64, 4096);
    m.push_row(f, 0, &[syn(1, 1, 1, 1)]).unwrap();
    m.words.clear();
    m.rows[0].format.index_bits = 200;
    assert_eq!(m.synapse(0, 0).unwrap().target, 0);
    m.set_weight(0, 0, 0).unwrap_or(());
    let _ = m.decode();
}

#[test]
fn weight_helpers() {
    let s8 = fmt(8, 8, SignMode::Signed, 0, 0);
    assert_eq!(s8.weight_range(), (-128, 127));
    assert_eq!(fmt(8, 1, SignMode::Signed, 0, 0).weight_range(), (-1, 0));
    assert_eq!(effective_weight(3, -6), 3);
    assert_eq!(effective_weight(3, 0), 192);
    assert_eq!(effective_weight(-255, 7), -255 << 13);
    assert_eq!(effective_weight(5, -20), 5, "below −6 acts as −6");
    assert_eq!(effective_weight(1, 127), i32::MAX);
    assert_eq!(quantize_weight(2.5, &s8, 0), 3, "ties away from zero");
    assert_eq!(quantize_weight(-2.5, &s8, 0), -3);
    assert_eq!(quantize_weight(1.25, &s8, -2), 5);
    assert_eq!(quantize_weight(1e9, &s8, 0), 127);
    assert_eq!(quantize_weight(-1e9, &s8, 0), -128);
    assert_eq!(quantize_weight(f64::NAN, &s8, 0), 0);
    assert_eq!(choose_exponent(100.0, &s8, -6, 7), 0);
    assert_eq!(choose_exponent(127.4, &s8, -6, 7), 0);
    assert_eq!(choose_exponent(127.5, &s8, -6, 7), 1);
    assert_eq!(choose_exponent(1.0, &s8, -6, 7), -6);
    assert_eq!(choose_exponent(1e12, &s8, -6, 7), 7);
    assert_eq!(choose_exponent(0.0, &s8, -2, 3), -2);
    assert_eq!(choose_exponent(f64::NAN, &s8, 3, -2), -2);
    assert_eq!(choose_exponent(100.0, &s8, -60, 60), 0);
}

#[test]
fn serde_round_trip_is_lossless() {
    let mut m = SynapseMemory::new(32, 1 << 12);
    m.push_row(
        fmt(10, 8, SignMode::Signed, 3, 5),
        -3,
        &[syn(1000, -128, 7, -16)],
    )
    .unwrap();
    m.push_row(
        fmt(5, 9, SignMode::Inhibitory, 0, 0),
        4,
        &[syn(31, -511, 0, 0); 9],
    )
    .unwrap();
    let text = ron::to_string(&m).unwrap();
    let back: SynapseMemory = ron::from_str(&text).unwrap();
    assert_eq!(back, m);
    assert_eq!(back.decode(), m.decode());
}

fn arb_format() -> impl Strategy<Value = RowFormat> {
    (
        1..=MAX_INDEX_BITS,
        1..=MAX_WEIGHT_BITS,
        prop_oneof![
            Just(SignMode::Signed),
            Just(SignMode::Excitatory),
            Just(SignMode::Inhibitory)
        ],
        0..=MAX_DELAY_BITS,
        0..=MAX_TAG_BITS,
    )
        .prop_map(|(i, w, s, d, t)| fmt(i, w, s, d, t))
}

fn arb_synapse(f: RowFormat) -> impl Strategy<Value = Synapse> {
    let (wlo, whi) = f.weight_range();
    let (tlo, thi) = f.tag_range();
    (
        0..=mask(f.index_bits as u32) as u32,
        wlo..=whi,
        0..=mask(f.delay_bits as u32) as u8,
        tlo..=thi,
    )
        .prop_map(|(t, w, d, g)| syn(t, w, d, g))
}

fn arb_row() -> impl Strategy<Value = (RowFormat, i8, Vec<Synapse>)> {
    arb_format().prop_flat_map(|f| {
        (
            Just(f),
            EXPONENT_MIN..=EXPONENT_MAX,
            prop::collection::vec(arb_synapse(f), 0..12),
        )
    })
}

fn arb_memory() -> impl Strategy<Value = SynapseMemory> {
    (
        prop_oneof![Just(8u32), Just(16), Just(32), Just(64)],
        prop::collection::vec(arb_row(), 1..8),
    )
        .prop_map(|(wb, rows)| {
            let mut m = SynapseMemory::new(wb, 1 << 20);
            for (f, e, s) in rows {
                m.push_row(f, e, &s).unwrap();
            }
            m
        })
}

proptest! {
    #[test]
    fn quantized_weight_reads_back_and_is_within_half_an_lsb(
        f in arb_format(),
        e in EXPONENT_MIN..=EXPONENT_MAX,
        ws in prop::collection::vec(-2000.0f64..2000.0, 1..20),
        word_bits in prop_oneof![Just(8u32), Just(16), Just(32), Just(64)],
    ) {
        let mut m = SynapseMemory::new(word_bits, 1 << 16);
        // A leading row shifts the row under test off bit 0.
        m.push_row(fmt(3, 2, SignMode::Signed, 0, 1), 0, &[syn(7, -2, 0, -1)]).unwrap();
        let q: Vec<i32> = ws.iter().map(|&w| quantize_weight(w, &f, e)).collect();
        let row: Vec<Synapse> = q.iter().enumerate().map(|(k, &w)| syn(k as u32 & 1, w, 0, 0)).collect();
        let r = m.push_row(f, e, &row).unwrap();
        let (lo, hi) = f.weight_range();
        for (k, &w) in ws.iter().enumerate() {
            let back = m.synapse(r, k as u32).unwrap();
            prop_assert_eq!(back.weight, q[k]);
            let unclamped = (w * 2f64.powi(-(e as i32))).round();
            if unclamped >= lo as f64 && unclamped <= hi as f64 {
                let lsb = 2f64.powi(6 + e as i32);
                let err = (effective_weight(back.weight, e) as f64 - w * 64.0).abs();
                prop_assert!(err <= 0.5 * lsb, "w {} e {} m {} err {}", w, e, back.weight, err);
            } else {
                prop_assert!(back.weight == lo || back.weight == hi);
            }
        }
    }

    #[test]
    fn chosen_exponent_is_the_finest_that_holds(f in arb_format(), w in 0.001f64..100_000.0) {
        let e = choose_exponent(w, &f, EXPONENT_MIN, EXPONENT_MAX);
        let fits = |e: i8| (w * 2f64.powi(-(e as i32))).round() <= f.max_magnitude() as f64;
        if fits(EXPONENT_MAX) {
            prop_assert!(fits(e));
            prop_assert!(e == EXPONENT_MIN || !fits(e - 1));
        } else {
            prop_assert_eq!(e, EXPONENT_MAX);
        }
    }

    #[test]
    fn used_bits_is_the_sum_of_word_rounded_rows(m in arb_memory()) {
        let wb = m.word_bits() as u64;
        let sum: u64 = (0..m.row_count() as u32).map(|r| m.row_words(r) as u64 * wb).sum();
        prop_assert_eq!(m.used_bits(), sum);
        let planned: u64 = m.rows().iter().map(|r| row_bits(m.word_bits(), &r.format, r.coding, r.len)).sum();
        prop_assert_eq!(m.used_bits(), planned);
        prop_assert_eq!(m.words.len() as u64, sum.div_ceil(64));
    }

    #[test]
    fn set_weight_and_set_tag_touch_only_their_field(
        m in arb_memory(),
        pick in any::<prop::sample::Index>(),
        wpick in any::<prop::sample::Index>(),
        tpick in any::<prop::sample::Index>(),
    ) {
        let entries: Vec<(u32, u32)> = m.rows().iter().enumerate()
            .flat_map(|(r, row)| (0..row.len).map(move |i| (r as u32, i)))
            .collect();
        prop_assume!(!entries.is_empty());
        let (r, i) = entries[pick.index(entries.len())];
        let row = m.rows()[r as usize];
        let f = row.format;
        let (wlo, whi) = f.weight_range();
        let (tlo, thi) = f.tag_range();
        let w = wlo + wpick.index((whi - wlo + 1) as usize) as i32;
        let t = tlo + tpick.index((thi - tlo + 1) as usize) as i32;
        let start = m.entry_bit(&row, i);
        let wfield = (start + f.index_bits as u64, f.weight_bits as u64);
        let tfield = (start + (f.index_bits + f.weight_bits + f.delay_bits) as u64, f.tag_bits as u64);

        for (field, set) in [(wfield, true), (tfield, false)] {
            let mut after = m.clone();
            if set {
                after.set_weight(r, i, w).unwrap();
            } else {
                after.set_tag(r, i, t).unwrap();
            }
            let before_bits = m.words.view_bits::<Lsb0>();
            let after_bits = after.words.view_bits::<Lsb0>();
            prop_assert_eq!(before_bits.len(), after_bits.len());
            for k in 0..before_bits.len() as u64 {
                if k < field.0 || k >= field.0 + field.1 {
                    prop_assert_eq!(before_bits[k as usize], after_bits[k as usize], "bit {}", k);
                }
            }
            let mut expect = m.synapse(r, i).unwrap();
            if set { expect.weight = w } else { expect.tag = t }
            prop_assert_eq!(after.synapse(r, i).unwrap(), expect);
            prop_assert_eq!(&after.rows, &m.rows);
        }
    }

    #[test]
    fn decode_agrees_with_row_synapses(m in arb_memory()) {
        let d = m.decode();
        prop_assert_eq!(d.offsets.len(), m.row_count() + 1);
        for (r, row) in m.rows().iter().enumerate() {
            let span = d.offsets[r] as usize..d.offsets[r + 1] as usize;
            let syns: Vec<Synapse> = m.row_synapses(r as u32).collect();
            prop_assert_eq!(syns.len(), row.len as usize);
            prop_assert_eq!(&d.targets[span.clone()], &syns.iter().map(|s| s.target).collect::<Vec<_>>()[..]);
            prop_assert_eq!(&d.delays[span.clone()], &syns.iter().map(|s| s.delay).collect::<Vec<_>>()[..]);
            let eff: Vec<i32> = syns.iter().map(|s| effective_weight(s.weight, row.exponent)).collect();
            prop_assert_eq!(&d.weights[span], &eff[..]);
        }
    }

    #[test]
    fn rows_read_back_as_pushed_and_survive_serde((rows, wb) in (prop::collection::vec(arb_row(), 1..8), prop_oneof![Just(8u32), Just(16), Just(32), Just(64)])) {
        let mut m = SynapseMemory::new(wb, 1 << 20);
        for (f, e, s) in &rows {
            m.push_row(*f, *e, s).unwrap();
        }
        for (r, (f, e, s)) in rows.iter().enumerate() {
            prop_assert_eq!(m.rows()[r].format, *f);
            prop_assert_eq!(m.rows()[r].exponent, *e);
            prop_assert_eq!(&m.row_synapses(r as u32).collect::<Vec<_>>(), s);
        }
        let back: SynapseMemory = ron::from_str(&ron::to_string(&m).unwrap()).unwrap();
        prop_assert_eq!(back, m);
    }

    #[test]
    fn word_wise_writer_equals_the_bitvec_writer(
        m in arb_memory(),
        noise in prop::collection::vec(any::<u64>(), 1..64),
        writes in prop::collection::vec((0u64..5000, 0u32..70, any::<u64>()), 1..16),
    ) {
        // Random contents, then the same writes through both writers, every bit compared.
        let mut fast = m;
        for (w, n) in fast.words.iter_mut().zip(noise.iter().cycle()) {
            *w ^= n;
        }
        let mut slow = fast.clone();
        for &(start, width, value) in &writes {
            fast.write_bits(start, width, value);
            slow.write_bits_bitvec(start, width, value);
            prop_assert_eq!(&fast.words, &slow.words, "write of {} bits at {}", width, start);
        }
    }

    #[test]
    fn word_wise_reader_equals_the_bitvec_reader(
        m in arb_memory(),
        noise in prop::collection::vec(any::<u64>(), 0..64),
        keep in any::<prop::sample::Index>(),
        corrupt in any::<bool>(),
        start in 0u64..5000,
        width in 0u32..70,
    ) {
        // Random contents: every bit pattern, not only what push_row writes; and
        // optionally a truncated store, as a corrupt memory would have.
        let mut m = m;
        for (w, n) in m.words.iter_mut().zip(noise.iter().cycle()) {
            *w ^= n;
        }
        if corrupt && !m.words.is_empty() {
            let len = keep.index(m.words.len());
            m.words.truncate(len);
        }
        prop_assert_eq!(read_word_bits(&m.words, start, width), m.read_bits(start, width));
        let d = m.decode();
        for (r, row) in m.rows().iter().enumerate() {
            let fast: Vec<Synapse> = m.row_synapses(r as u32).collect();
            let slow: Vec<Synapse> = (0..row.len).map(|i| m.decode_entry_bitvec(row, i)).collect();
            prop_assert_eq!(&fast, &slow);
            for (i, s) in slow.iter().enumerate() {
                prop_assert_eq!(m.synapse(r as u32, i as u32).unwrap(), *s);
            }
            let targets: Vec<u32> = m.row_targets(r as u32).collect();
            prop_assert_eq!(targets, slow.iter().map(|s| s.target).collect::<Vec<_>>());
            let span = d.offsets[r] as usize..d.offsets[r + 1] as usize;
            prop_assert_eq!(&d.targets[span.clone()], &slow.iter().map(|s| s.target).collect::<Vec<_>>()[..]);
            prop_assert_eq!(&d.delays[span.clone()], &slow.iter().map(|s| s.delay).collect::<Vec<_>>()[..]);
            let eff: Vec<i32> = slow.iter().map(|s| effective_weight(s.weight, row.exponent)).collect();
            prop_assert_eq!(&d.weights[span], &eff[..]);
        }
    }
}

// ---- delta-coded (run-length) target rows ----

#[test]
fn delta_row_bits_by_hand() {
    // 5 entries of a 10-bit index, 3-bit weight, no delay or tag: sparse 13 bits an
    // entry, 65 bits → two 64-bit words = 128. Targets 3, 5, 12, 12, 40: deltas 3, 2,
    // 7, 0, 28, widest 28 → 5 bits; entries of 5 + 3 = 8 bits, 40 bits → one word.
    let f = fmt(10, 3, SignMode::Signed, 0, 0);
    let syns: Vec<_> = [3, 5, 12, 12, 40]
        .iter()
        .map(|&t| syn(t, 1, 0, 0))
        .collect();
    assert_eq!(delta_bits_of(syns.iter().map(|s| s.target)), Some(5));
    assert_eq!(row_bits(64, &f, TargetCoding::Sparse, 5), 128);
    let d = TargetCoding::Delta { delta_bits: 5 };
    assert_eq!(row_bits(64, &f, d, 5), 64);
    assert_eq!(best_coding(64, &f, Some(8), &syns), d);
    // Too wide for the chip, or no delta rows: sparse.
    assert_eq!(best_coding(64, &f, Some(4), &syns), TargetCoding::Sparse);
    assert_eq!(best_coding(64, &f, None, &syns), TargetCoding::Sparse);
    let mut m = SynapseMemory::new(64, 1 << 16);
    m.push_row_coded(f, d, 0, &syns).unwrap();
    assert_eq!(m.used_bits(), 64);
    assert_eq!(m.row_words(0), 1);
}

#[test]
fn delta_rows_refuse_unsorted_and_wide() {
    let f = fmt(10, 3, SignMode::Signed, 0, 0);
    let d = TargetCoding::Delta { delta_bits: 4 };
    let mut m = SynapseMemory::new(64, 1 << 16);
    let unsorted = [syn(5, 1, 0, 0), syn(4, 1, 0, 0)];
    assert!(matches!(
        m.push_row_coded(f, d, 0, &unsorted),
        Err(SynapseError::UnsortedTargets { entry: 1, .. })
    ));
    assert_eq!(delta_bits_of(unsorted.iter().map(|s| s.target)), None);
    let wide = [syn(3, 1, 0, 0), syn(19, 1, 0, 0)];
    assert!(matches!(
        m.push_row_coded(f, d, 0, &wide),
        Err(SynapseError::FieldOverflow {
            entry: 1,
            field: SynapseField::TargetDelta,
            ..
        })
    ));
    let too_wide = TargetCoding::Delta { delta_bits: 11 };
    assert!(matches!(
        m.push_row_coded(f, too_wide, 0, &[]),
        Err(SynapseError::InvalidFormat {
            field: "delta_bits",
            ..
        })
    ));
    assert_eq!(m.row_count(), 0);
    assert_eq!(m.used_bits(), 0);
}

fn sorted_row() -> impl Strategy<Value = (RowFormat, Vec<Synapse>)> {
    (1u8..=9, 0u8..=6, 0u8..=8).prop_flat_map(|(wb, db, tb)| {
        let f = fmt(10, wb, SignMode::Signed, db, tb);
        let (wlo, whi) = f.weight_range();
        let (tlo, thi) = f.tag_range();
        let entry = (
            0u32..1024,
            wlo..=whi,
            0u8..=((1u16 << db) - 1) as u8,
            tlo..=thi,
        );
        proptest::collection::vec(entry, 0..40).prop_map(move |mut v| {
            v.sort_by_key(|e| e.0);
            let syns = v.into_iter().map(|(t, w, d, g)| syn(t, w, d, g)).collect();
            (f, syns)
        })
    })
}

proptest! {
    /// Random sorted rows round-trip through both codings (decode, row_synapses,
    /// synapse(i)), and set_weight / set_tag by index touch only their entry.
    #[test]
    fn delta_and_sparse_rows_round_trip((f, syns) in sorted_row(), wi in 0usize..40) {
        let d = delta_bits_of(syns.iter().map(|s| s.target)).unwrap();
        for coding in [TargetCoding::Sparse, TargetCoding::Delta { delta_bits: d }] {
            let mut m = SynapseMemory::new(64, 1 << 20);
            m.push_row_coded(f, TargetCoding::Sparse, 0, &syns[..syns.len() / 2]).unwrap();
            m.push_row_coded(f, coding, 1, &syns).unwrap();
            let got: Vec<Synapse> = m.row_synapses(1).collect();
            prop_assert_eq!(&got, &syns);
            let dec = m.decode();
            let (a, b) = (dec.offsets[1] as usize, dec.offsets[2] as usize);
            let targets: Vec<u32> = syns.iter().map(|s| s.target).collect();
            prop_assert_eq!(&dec.targets[a..b], &targets[..]);
            prop_assert_eq!(m.used_bits() - row_bits(64, &f, TargetCoding::Sparse, (syns.len() / 2) as u32),
                row_bits(64, &f, coding, syns.len() as u32));
            if !syns.is_empty() {
                let i = wi % syns.len();
                let (wlo, _) = f.weight_range();
                let (_, thi) = f.tag_range();
                m.set_weight(1, i as u32, wlo).unwrap();
                m.set_tag(1, i as u32, thi).unwrap();
                let mut want = syns.clone();
                want[i].weight = wlo;
                want[i].tag = thi;
                let got: Vec<Synapse> = m.row_synapses(1).collect();
                prop_assert_eq!(&got, &want);
                prop_assert_eq!(m.synapse(1, i as u32).unwrap(), want[i]);
            }
        }
    }
}
