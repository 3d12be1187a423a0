//! The one matrix product the reference spends its time in, blocked for speed with a
//! fixed summation order.
//!
//! `out[r, c] = Σ_k a[r, k] · b[k, c]`, each sum taken over `k` ascending from `0.0`,
//! one multiply then one add per term (never fused): exactly the naive triple loop, so
//! the blocking, the thread split and the instruction set cannot change a bit. Where the
//! CPU has AVX-512 or AVX2 (detected at run time) the same code is compiled for it; the
//! results are identical (property-tested against the naive loop).

use std::ops::Range;

/// Rows and columns of the register block.
const MR: usize = 4;
const NR: usize = 8;

/// A row-major matrix view: element `(r, c)` at `data[r * stride + c]`.
#[derive(Clone, Copy)]
pub struct View<'a> {
    pub data: &'a [f64],
    pub stride: usize,
}

impl<'a> View<'a> {
    pub fn new(data: &'a [f64], stride: usize) -> View<'a> {
        View { data, stride }
    }
}

/// Writes `out[(r − rows.start) * out_stride + (c − cols.start)] = Σ_{k < depth}
/// a[r, k] · b[k, c]` for `r` in `rows`, `c` in `cols`.
pub fn gemm(
    a: View,
    b: View,
    depth: usize,
    rows: Range<usize>,
    cols: Range<usize>,
    out: &mut [f64],
    out_stride: usize,
) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F.
            return unsafe { gemm_avx512(a, b, depth, rows, cols, out, out_stride) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2.
            return unsafe { gemm_avx2(a, b, depth, rows, cols, out, out_stride) };
        }
    }
    gemm_body(a, b, depth, rows, cols, out, out_stride)
}

/// [`gemm_body`] compiled for an instruction set.
macro_rules! gemm_for {
    ($name:ident, $feature:literal) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $feature)]
        unsafe fn $name(
            a: View,
            b: View,
            depth: usize,
            rows: Range<usize>,
            cols: Range<usize>,
            out: &mut [f64],
            out_stride: usize,
        ) {
            gemm_body(a, b, depth, rows, cols, out, out_stride)
        }
    };
}
gemm_for!(gemm_avx512, "avx512f");
gemm_for!(gemm_avx2, "avx2");

/// `buf` cut into four equal parts (the four streams' sums of a layer).
pub fn quarters(buf: &mut [f64]) -> [&mut [f64]; 4] {
    let n = buf.len() / 4;
    let (a, rest) = buf.split_at_mut(n);
    let (b, rest) = rest.split_at_mut(n);
    let (c, d) = rest.split_at_mut(n);
    [a, b, c, &mut d[..n]]
}

/// The portable body (also what the feature-specific entry points compile).
#[inline(always)]
pub(super) fn gemm_body(
    a: View,
    b: View,
    depth: usize,
    rows: Range<usize>,
    cols: Range<usize>,
    out: &mut [f64],
    out_stride: usize,
) {
    let (r0, c0) = (rows.start, cols.start);
    let mut r = r0;
    while r < rows.end {
        let mr = MR.min(rows.end - r);
        let mut c = c0;
        while c < cols.end {
            let nr = NR.min(cols.end - c);
            if mr == MR && nr == NR {
                let mut acc = [[0.0f64; NR]; MR];
                for k in 0..depth {
                    let brow: &[f64; NR] = b.data[k * b.stride + c..k * b.stride + c + NR]
                        .try_into()
                        .unwrap();
                    for (i, acc) in acc.iter_mut().enumerate() {
                        let av = a.data[(r + i) * a.stride + k];
                        for j in 0..NR {
                            acc[j] += av * brow[j];
                        }
                    }
                }
                for (i, acc) in acc.iter().enumerate() {
                    let o = (r + i - r0) * out_stride + (c - c0);
                    out[o..o + NR].copy_from_slice(acc);
                }
            } else {
                for i in 0..mr {
                    for j in 0..nr {
                        let mut s = 0.0;
                        for k in 0..depth {
                            s += a.data[(r + i) * a.stride + k] * b.data[k * b.stride + c + j];
                        }
                        out[(r + i - r0) * out_stride + (c + j - c0)] = s;
                    }
                }
            }
            c += nr;
        }
        r += mr;
    }
}

/// The transpose of a `rows × cols` row-major matrix.
pub fn transpose(m: &[f64], rows: usize, cols: usize) -> Vec<f64> {
    let mut t = vec![0.0; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = m[r * cols + c];
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Bit-identical to the naive loop, for any shape and sub-range (so for any
        /// thread split), on whatever instruction set this machine dispatches to.
        #[test]
        fn equals_the_naive_loop(
            rows in 1usize..11, depth in 0usize..9, cols in 1usize..21,
            r_cut in 0usize..11, c_cut in 0usize..21, seed in any::<u64>(),
        ) {
            let mut x = seed | 1;
            let mut next = move || {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                (x % 2001) as f64 / 1000.0 - 1.0 + 1e-3 / (1 + x % 7) as f64
            };
            let a: Vec<f64> = (0..rows * depth).map(|_| next()).collect();
            let b: Vec<f64> = (0..depth * cols).map(|_| next()).collect();
            let (r0, c0) = (r_cut.min(rows - 1), c_cut.min(cols - 1));
            let (nr, nc) = (rows - r0, cols - c0);
            let mut got = vec![f64::NAN; nr * nc];
            gemm(View { data: &a, stride: depth }, View { data: &b, stride: cols }, depth,
                 r0..rows, c0..cols, &mut got, nc);
            let mut portable = vec![f64::NAN; nr * nc];
            gemm_body(View { data: &a, stride: depth }, View { data: &b, stride: cols }, depth,
                      r0..rows, c0..cols, &mut portable, nc);
            for r in r0..rows {
                for c in c0..cols {
                    let mut s = 0.0;
                    for k in 0..depth {
                        s += a[r * depth + k] * b[k * cols + c];
                    }
                    let i = (r - r0) * nc + (c - c0);
                    prop_assert_eq!(got[i].to_bits(), s.to_bits());
                    prop_assert_eq!(portable[i].to_bits(), s.to_bits());
                }
            }
        }
    }

    #[test]
    fn transpose_swaps_indices() {
        let m = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        assert_eq!(transpose(&m, 2, 3), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    }
}
