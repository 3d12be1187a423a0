//! The eligibility unit's row sweep: one postsynaptic row's traces for one step.
//!
//! [`sweep`] is what [`EpropCore::run_trial`](super::EpropCore::run_trial) calls per
//! busy row. It has two bodies with the same integer arithmetic: [`row`], the chip's
//! [`synapse_step`] per synapse (the reference), and on x86-64 CPUs with AVX-512 (F, DQ, VL) an
//! 8-synapse-wide body chosen at run time. A row holds about 14 synapses (10 % of 140
//! sources), so the wide body handles a row in two masked passes; the gather of the
//! sources' εv is one instruction per pass. Results are bit-identical (a proptest
//! drives both bodies with random traces, constants and shifts, extremes included).

use amine_chip::learning::eprop::synapse_step;
pub(super) use amine_chip::learning::eprop::{RowKind, RowStep};

/// One row's per-synapse slices: the sources (indices into `ev`, whose entries are
/// `[εv(t), εv(t−1)]`), and the traces εa, ē, Σe and g, all of the row's length.
pub(super) struct RowSlices<'a> {
    pub src: &'a [u32],
    pub ev: &'a [[i32; 2]],
    pub ea: &'a mut [i32],
    pub ebar: &'a mut [i32],
    pub esum: &'a mut [i64],
    pub g: &'a mut [i64],
}

/// Whether [`sweep`] may take the wide body on this CPU (checked once per core).
pub(super) fn wide_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512dq")
            && std::is_x86_feature_detected!("avx512vl")
            && std::is_x86_feature_detected!("avx512bw")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether every source of `src` indexes an `ev` of `len` entries: what `sweep`'s wide
/// body needs of its caller (which checks it once per trial, not per row and step).
pub(super) fn sources_in_range(src: &[u32], len: usize) -> bool {
    src.iter().all(|&i| (i as usize) < len)
}

/// Steps one row: the wide body when `wide` (which must be [`wide_available`] and
/// [`sources_in_range`] of every row's sources), else the reference.
#[inline(always)]
pub(super) fn sweep(c: &RowStep, kind: RowKind, s: RowSlices<'_>, wide: bool) {
    #[cfg(target_arch = "x86_64")]
    if wide {
        let n = s.src.len();
        assert!(
            s.ea.len() == n && s.ebar.len() == n && s.esum.len() == n && s.g.len() == n,
            "a row's trace slices have the row's length"
        );
        debug_assert!(s.src.iter().all(|&i| (i as usize) < s.ev.len()));
        // SAFETY: `wide` comes from `wide_available` (the CPU has AVX-512 F/DQ/VL/BW) and
        // the caller's promise that every source indexes `ev` (checked once per trial,
        // see `sources_in_range`); the assert above covers the traces.
        unsafe { wide::sweep(c, kind, s) };
        return;
    }
    let _ = wide;
    reference(c, kind, s);
}

/// The reference body: the chip's per-synapse functions, one synapse at a time.
pub(super) fn reference(c: &RowStep, kind: RowKind, s: RowSlices<'_>) {
    let RowSlices {
        src,
        ev,
        ea,
        ebar,
        esum,
        g,
    } = s;
    match (kind.alif, kind.ebar, kind.grad) {
        (true, false, _) => row::<true, false, false>(c, src, ev, ea, ebar, esum, g),
        (true, true, false) => row::<true, true, false>(c, src, ev, ea, ebar, esum, g),
        (true, true, true) => row::<true, true, true>(c, src, ev, ea, ebar, esum, g),
        (false, false, _) => row::<false, false, false>(c, src, ev, ea, ebar, esum, g),
        (false, true, false) => row::<false, true, false>(c, src, ev, ea, ebar, esum, g),
        (false, true, true) => row::<false, true, true>(c, src, ev, ea, ebar, esum, g),
    }
}

/// One row's traces for one step, specialised so LIF rows skip εa, steps before the
/// gate skip ē and steps without a signal skip g: the chip's
/// [`synapse_step`](amine_chip::learning::eprop::synapse_step) per synapse.
#[inline(always)]
fn row<const ALIF: bool, const EBAR: bool, const GRAD: bool>(
    c: &RowStep,
    src: &[u32],
    ev: &[[i32; 2]],
    ea: &mut [i32],
    ebar: &mut [i32],
    esum: &mut [i64],
    g: &mut [i64],
) {
    let it = src
        .iter()
        .zip(ea.iter_mut())
        .zip(ebar.iter_mut())
        .zip(esum.iter_mut())
        .zip(g.iter_mut());
    for ((((&s, ea), eb), es), g) in it {
        synapse_step::<ALIF, EBAR, GRAD>(c, ev[s as usize], ea, eb, es, g);
    }
}

#[cfg(target_arch = "x86_64")]
mod wide {
    //! The 8-synapse body. Every product has i32 factors except `(1 − κ)·e` (e is an
    //! i64), so `vpmuldq` (signed 32 × 32 → 64) serves for all but that one, which is
    //! `vpmullq`; rounding shifts are `vpsraq`; `sat32` and the store to 32 bits are
    //! one saturating `vpmovsqd`.
    use super::{RowKind, RowSlices, RowStep};
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx512f,avx512dq,avx512vl")]
    #[inline]
    pub(super) unsafe fn sweep(c: &RowStep, kind: RowKind, s: RowSlices<'_>) {
        match (kind.alif, kind.ebar, kind.grad) {
            (true, false, _) => body::<true, false, false>(c, s),
            (true, true, false) => body::<true, true, false>(c, s),
            (true, true, true) => body::<true, true, true>(c, s),
            (false, false, _) => body::<false, false, false>(c, s),
            (false, true, false) => body::<false, true, false>(c, s),
            (false, true, true) => body::<false, true, true>(c, s),
        }
    }

    /// `(x + 2^(k−1)) >> k`, arithmetic (the chip's `rshift`).
    #[inline(always)]
    unsafe fn rshift(x: __m512i, half: __m512i, k: __m128i) -> __m512i {
        _mm512_sra_epi64(_mm512_add_epi64(x, half), k)
    }

    /// `sat32(x)` as i64 lanes and as the 8 × i32 to store.
    #[inline(always)]
    unsafe fn sat32(x: __m512i) -> (__m512i, __m256i) {
        let narrow = _mm512_cvtsepi64_epi32(x);
        (_mm512_cvtepi32_epi64(narrow), narrow)
    }

    #[inline(always)]
    unsafe fn body<const ALIF: bool, const EBAR: bool, const GRAD: bool>(
        c: &RowStep,
        s: RowSlices<'_>,
    ) {
        let n = s.src.len();
        let k_f = _mm_cvtsi64_si128(i64::from(c.f));
        let half_f = _mm512_set1_epi64(1i64 << (c.f - 1));
        let k_16 = _mm_cvtsi64_si128(16);
        let half_16 = _mm512_set1_epi64(1i64 << 15);
        let psi = _mm512_set1_epi64(i64::from(c.psi));
        let psi_beta = _mm512_set1_epi64(i64::from(c.psi_beta));
        let c1 = _mm512_set1_epi64(i64::from(c.c1));
        let c2 = _mm512_set1_epi64(i64::from(c.c2));
        // κ and 1 − κ are Q0.16 (≤ 2^16) and m an i32 widened by the caller: the low
        // 32 bits carry each exactly.
        let kappa = _mm512_set1_epi64(c.kappa);
        let one_k = _mm512_set1_epi64(c.one_k);
        let m = _mm512_set1_epi64(c.m);
        let ev = s.ev.as_ptr().cast::<i64>();
        let mut q = 0;
        while q < n {
            let k: __mmask8 = if n - q >= 8 {
                0xff
            } else {
                (1u8 << (n - q)) - 1
            };
            let idx = _mm256_maskz_loadu_epi32(k, s.src.as_ptr().add(q).cast());
            // Each entry is [εv, εv'] as one i64: εv in the low half, εv' in the high.
            let evs = _mm512_mask_i32gather_epi64::<8>(_mm512_setzero_si512(), k, idx, ev);
            let e = if ALIF {
                let p_ea = s.ea.as_mut_ptr().add(q);
                let ea = _mm512_cvtepi32_epi64(_mm256_maskz_loadu_epi32(k, p_ea.cast()));
                let ev_prev = _mm512_srli_epi64::<32>(evs);
                let x = _mm512_add_epi64(_mm512_mul_epi32(c1, ev_prev), _mm512_mul_epi32(c2, ea));
                let (ea, ea32) = sat32(rshift(x, half_f, k_f));
                _mm256_mask_storeu_epi32(p_ea.cast(), k, ea32);
                let y =
                    _mm512_sub_epi64(_mm512_mul_epi32(psi, evs), _mm512_mul_epi32(psi_beta, ea));
                rshift(y, half_f, k_f)
            } else {
                rshift(_mm512_mul_epi32(psi, evs), half_f, k_f)
            };
            let p_es = s.esum.as_mut_ptr().add(q);
            let es = _mm512_maskz_loadu_epi64(k, p_es.cast());
            _mm512_mask_storeu_epi64(p_es.cast(), k, _mm512_add_epi64(es, e));
            if EBAR {
                let p_eb = s.ebar.as_mut_ptr().add(q);
                let eb = _mm512_cvtepi32_epi64(_mm256_maskz_loadu_epi32(k, p_eb.cast()));
                let x = _mm512_add_epi64(_mm512_mul_epi32(kappa, eb), _mm512_mullo_epi64(one_k, e));
                let (eb, eb32) = sat32(rshift(x, half_16, k_16));
                _mm256_mask_storeu_epi32(p_eb.cast(), k, eb32);
                if GRAD {
                    let p_g = s.g.as_mut_ptr().add(q);
                    let g = _mm512_maskz_loadu_epi64(k, p_g.cast());
                    let g = _mm512_add_epi64(g, _mm512_mul_epi32(m, eb));
                    _mm512_mask_storeu_epi64(p_g.cast(), k, g);
                }
            }
            q += 8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        /// The wide body computes bit for bit what the reference does, for every row
        /// length (tails included), every kind and constants over their ranges.
        #[test]
        fn wide_body_equals_the_reference(
            syn in proptest::collection::vec(
                (0u32..40, any::<i32>(), any::<i32>(), -(1i64 << 50)..(1i64 << 50),
                 -(1i64 << 50)..(1i64 << 50)), 0..40),
            ev in proptest::collection::vec(any::<[i32; 2]>(), 40),
            psi in 0i32..(1 << 23), psi_beta in -(1i32 << 23)..(1 << 23),
            c1 in -(1i32 << 30)..(1 << 30), c2 in -(1i32 << 30)..(1 << 30),
            m in any::<i32>(), kappa in 0i64..=65536, f in 1u32..=24,
            alif in any::<bool>(), ebar in any::<bool>(), grad in any::<bool>(),
        ) {
            // Without AVX-512 there is no wide body to compare (`sweep` never takes it).
            if !wide_available() {
                return Ok(());
            }
            let c = RowStep { psi, psi_beta, c1, c2, m: i64::from(m), f, kappa, one_k: 65536 - kappa };
            let kind = RowKind { alif, ebar, grad: grad && ebar };
            let src: Vec<u32> = syn.iter().map(|s| s.0).collect();
            let mut want: (Vec<i32>, Vec<i32>, Vec<i64>, Vec<i64>) = (
                syn.iter().map(|s| s.1).collect(),
                syn.iter().map(|s| s.2).collect(),
                syn.iter().map(|s| s.3).collect(),
                syn.iter().map(|s| s.4).collect(),
            );
            let mut got = want.clone();
            let (ea, eb, es, g) = (&mut want.0, &mut want.1, &mut want.2, &mut want.3);
            reference(&c, kind, RowSlices { src: &src, ev: &ev, ea, ebar: eb, esum: es, g });
            prop_assert!(sources_in_range(&src, ev.len()));
            let (ea, eb, es, g) = (&mut got.0, &mut got.1, &mut got.2, &mut got.3);
            sweep(&c, kind, RowSlices { src: &src, ev: &ev, ea, ebar: eb, esum: es, g }, true);
            prop_assert_eq!(got, want);
        }
    }
}
