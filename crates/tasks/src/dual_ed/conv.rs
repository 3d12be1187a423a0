//! Convolutional and locally connected dual-stream layers: the same equations as the
//! dense layer ([`super::net`]), each unit seeing only a `kernel × kernel` patch.
//!
//! A layer maps `in_channels × H × W` maps to `channels × H' × W'` maps with square
//! `kernel × kernel` kernels at `stride` (no padding: `H' = (H − kernel)/stride + 1`).
//! Convolutional (`shared`): one kernel per output channel, stored
//! `[out channel][in channel][ky][kx]`. Locally connected (not `shared`): one kernel per
//! output *unit*, `[out channel][position][in channel][ky][kx]` — what a chip without
//! weight sharing in its learning engine holds. Activity is `[channel][y][x]`,
//! row-major, one example after another. Every unit of output channel `o` hears class
//! `o mod C` (modulo routing over channels, so a shared kernel hears one class). A shared
//! kernel's update is the mean of the per-position updates (the rate is divided by the
//! number of positions as well as by the fan-in), so a kernel moves a unit's input as
//! much as a dense weight does.
//!
//! Threads split the *output channels*; every sum runs in a fixed order (in channel,
//! ky, kx; example, y, x), so results are bit-identical for any thread count.

use super::gemm::{gemm, quarters, transpose, View};
use super::net::{par_ranges, DualLayer, SharedMut};
use super::step::Stepper;
use serde::{Deserialize, Serialize};

/// The shape of a convolutional layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConvGeometry {
    pub in_channels: usize,
    pub in_height: usize,
    pub in_width: usize,
    pub channels: usize,
    pub kernel: usize,
    pub stride: usize,
    /// One kernel per channel (convolutional), or one per unit (locally connected).
    pub shared: bool,
}

impl ConvGeometry {
    pub fn out_height(&self) -> usize {
        (self.in_height - self.kernel) / self.stride + 1
    }
    pub fn out_width(&self) -> usize {
        (self.in_width - self.kernel) / self.stride + 1
    }
    /// Output positions per channel.
    pub fn positions(&self) -> usize {
        self.out_height() * self.out_width()
    }
    /// Kernel taps per output unit (`in_channels · kernel²`): the fan-in.
    pub fn taps(&self) -> usize {
        self.in_channels * self.kernel * self.kernel
    }
    /// Values per example in and out.
    pub fn inputs(&self) -> usize {
        self.in_channels * self.in_height * self.in_width
    }
    pub fn outputs(&self) -> usize {
        self.channels * self.positions()
    }
    /// Magnitudes per matrix.
    pub fn weights(&self) -> usize {
        self.taps()
            * if self.shared {
                self.channels
            } else {
                self.outputs()
            }
    }
    /// The first weight of the kernel of channel `o` at position `q`.
    fn kernel_at(&self, o: usize, q: usize) -> usize {
        if self.shared {
            o * self.taps()
        } else {
            (o * self.positions() + q) * self.taps()
        }
    }
    /// The number of positions a kernel's update is summed over (1 when not shared).
    pub fn shared_positions(&self) -> usize {
        if self.shared {
            self.positions()
        } else {
            1
        }
    }
    /// Input offset of tap `(ci, ky, kx)` for output position `(oy, ox)`.
    fn at(&self, ci: usize, y: usize, x: usize) -> usize {
        (ci * self.in_height + y) * self.in_width + x
    }
}

/// The patches of a batch: row `b·positions + q` holds the `taps` inputs that output
/// position `q` of example `b` sees, in kernel order (in channel, ky, kx).
fn patches(x: &[f64], g: &ConvGeometry, batch: usize) -> Vec<f64> {
    let (ni, taps, ow, k, s) = (g.inputs(), g.taps(), g.out_width(), g.kernel, g.stride);
    let mut out = Vec::with_capacity(batch * g.positions() * taps);
    for b in 0..batch {
        let x = &x[b * ni..(b + 1) * ni];
        for q in 0..g.positions() {
            let (oy, ox) = (q / ow, q % ow);
            for ci in 0..g.in_channels {
                for ky in 0..k {
                    let row = g.at(ci, oy * s + ky, ox * s);
                    out.extend_from_slice(&x[row..row + k]);
                }
            }
        }
    }
    out
}

/// Forward pass of a convolutional or locally connected layer over a batch (see
/// [`DualLayer::forward`]).
pub(super) fn forward(
    l: &DualLayer,
    g: &ConvGeometry,
    p_in: &[f64],
    n_in: &[f64],
    batch: usize,
    threads: usize,
) -> (Vec<f64>, Vec<f64>) {
    if !g.shared {
        return forward_local(l, g, p_in, n_in, batch, threads);
    }
    // Shared kernels: (B·positions × taps) patches times (taps × channels) kernels.
    let (no, pos, taps, ch) = (g.outputs(), g.positions(), g.taps(), g.channels);
    let rows = batch * pos;
    let (xp, xn) = (patches(p_in, g, batch), patches(n_in, g, batch));
    let (xp, xn) = (View::new(&xp, taps), View::new(&xn, taps));
    let kt = [&l.w_pp, &l.w_np, &l.w_nn, &l.w_pn].map(|w| transpose(w, ch, taps));
    let mut p = vec![0.0; batch * no];
    let mut n = vec![0.0; batch * no];
    let (pp, pn) = (SharedMut(p.as_mut_ptr()), SharedMut(n.as_mut_ptr()));
    par_ranges(ch, threads, |range| {
        let w = range.len();
        let mut z = vec![0.0; 4 * rows * w];
        let [z_pp, z_np, z_nn, z_pn] = quarters(&mut z);
        for (x, m, out) in [
            (xp, &kt[0], &mut *z_pp),
            (xn, &kt[1], &mut *z_np),
            (xn, &kt[2], &mut *z_nn),
            (xp, &kt[3], &mut *z_pn),
        ] {
            gemm(x, View::new(m, ch), taps, 0..rows, range.clone(), out, w);
        }
        for b in 0..batch {
            for q in 0..pos {
                for (k, o) in range.clone().enumerate() {
                    let e = (b * pos + q) * w + k;
                    let u = b * no + o * pos + q;
                    // SAFETY: channel o belongs to this thread's range only.
                    unsafe {
                        *pp.at(u) = l.activate(l.b_p[o] + z_pp[e] - z_np[e]);
                        *pn.at(u) = l.activate(l.b_n[o] + z_nn[e] - z_pn[e]);
                    }
                }
            }
        }
    });
    (p, n)
}

/// Forward pass of a locally connected layer: every unit its own kernel.
fn forward_local(
    l: &DualLayer,
    g: &ConvGeometry,
    p_in: &[f64],
    n_in: &[f64],
    batch: usize,
    threads: usize,
) -> (Vec<f64>, Vec<f64>) {
    let (ni, no, pos, taps) = (g.inputs(), g.outputs(), g.positions(), g.taps());
    let (oh, ow, k, s) = (g.out_height(), g.out_width(), g.kernel, g.stride);
    let mut p = vec![0.0; batch * no];
    let mut n = vec![0.0; batch * no];
    let (pp, pn) = (SharedMut(p.as_mut_ptr()), SharedMut(n.as_mut_ptr()));
    par_ranges(g.channels, threads, |range| {
        for o in range {
            for b in 0..batch {
                let (xp, xn) = (&p_in[b * ni..(b + 1) * ni], &n_in[b * ni..(b + 1) * ni]);
                for oy in 0..oh {
                    for ox in 0..ow {
                        let k0 = g.kernel_at(o, oy * ow + ox);
                        let kr = k0..k0 + taps;
                        let (kpp, knp) = (&l.w_pp[kr.clone()], &l.w_np[kr.clone()]);
                        let (knn, kpn) = (&l.w_nn[kr.clone()], &l.w_pn[kr]);
                        let (mut spp, mut snp, mut snn, mut spn) = (0.0, 0.0, 0.0, 0.0);
                        let mut t = 0;
                        for ci in 0..g.in_channels {
                            for ky in 0..k {
                                let row = g.at(ci, oy * s + ky, ox * s);
                                for kx in 0..k {
                                    let (a, c) = (xp[row + kx], xn[row + kx]);
                                    spp += a * kpp[t];
                                    spn += a * kpn[t];
                                    snp += c * knp[t];
                                    snn += c * knn[t];
                                    t += 1;
                                }
                            }
                        }
                        let u = b * no + o * pos + oy * ow + ox;
                        // SAFETY: channel o belongs to this thread's range only.
                        unsafe {
                            *pp.at(u) = l.activate(l.b_p[o] + spp - snp);
                            *pn.at(u) = l.activate(l.b_n[o] + snn - spn);
                        }
                    }
                }
            }
        }
    });
    (p, n)
}

/// The Error Diffusion update of a convolutional or locally connected layer (see
/// [`DualLayer::learn`]); `rate` is `η / (B · taps · positions)` for shared kernels,
/// `η / (B · taps)` for local ones.
#[allow(clippy::too_many_arguments)]
pub(super) fn learn(
    g: &ConvGeometry,
    p_in: &[f64],
    n_in: &[f64],
    u_p: &[f64],
    u_n: &[f64],
    batch: usize,
    step: &Stepper,
    threads: usize,
) {
    if !g.shared {
        return learn_local(g, p_in, n_in, u_p, u_n, batch, step, threads);
    }
    // ΔK[o, t] = Σ_{b,q} U[b, o, q] · patch[b·positions + q, t]: the drives as
    // (channels × B·positions) times the patches.
    let (no, pos, taps, ch) = (g.outputs(), g.positions(), g.taps(), g.channels);
    let depth = batch * pos;
    let (xp, xn) = (patches(p_in, g, batch), patches(n_in, g, batch));
    let (xp, xn) = (View::new(&xp, taps), View::new(&xn, taps));
    let by_channel = |u: &[f64]| -> Vec<f64> {
        let mut t = vec![0.0; ch * depth];
        for b in 0..batch {
            for o in 0..ch {
                let src = &u[b * no + o * pos..b * no + (o + 1) * pos];
                t[o * depth + b * pos..o * depth + (b + 1) * pos].copy_from_slice(src);
            }
        }
        t
    };
    let (tp, tn) = (by_channel(u_p), by_channel(u_n));
    let (up, un) = (View::new(&tp, depth), View::new(&tn, depth));
    par_ranges(ch, threads, |range| {
        let w = range.len();
        let mut acc = vec![0.0; 4 * w * taps];
        let [a_pp, a_np, a_nn, a_pn] = quarters(&mut acc);
        for (u, x, out) in [
            (up, xp, &mut *a_pp),
            (up, xn, &mut *a_np),
            (un, xn, &mut *a_nn),
            (un, xp, &mut *a_pn),
        ] {
            gemm(u, x, depth, range.clone(), 0..taps, out, taps);
        }
        for (r, o) in range.enumerate() {
            for t in 0..taps {
                let (e, a) = (o * taps + t, r * taps + t);
                // SAFETY: kernel o belongs to this thread's range only.
                unsafe {
                    step.apply(0, e, a_pp[a]);
                    step.apply(1, e, -a_np[a]);
                    step.apply(2, e, a_nn[a]);
                    step.apply(3, e, -a_pn[a]);
                }
            }
            let (mut bp, mut bn) = (0.0, 0.0);
            for b in 0..batch {
                for q in 0..pos {
                    bp += u_p[b * no + o * pos + q];
                    bn += u_n[b * no + o * pos + q];
                }
            }
            // SAFETY: bias o belongs to this thread's range only.
            unsafe {
                step.apply(4, o, bp);
                step.apply(5, o, bn);
            }
        }
    });
}

/// The update of a locally connected layer: every unit's kernel from its own drives.
#[allow(clippy::too_many_arguments)]
fn learn_local(
    g: &ConvGeometry,
    p_in: &[f64],
    n_in: &[f64],
    u_p: &[f64],
    u_n: &[f64],
    batch: usize,
    step: &Stepper,
    threads: usize,
) {
    let (ni, no, pos, taps) = (g.inputs(), g.outputs(), g.positions(), g.taps());
    let (ow, k, s) = (g.out_width(), g.kernel, g.stride);
    par_ranges(g.channels, threads, |range| {
        let mut acc = vec![0.0; 4 * taps];
        for o in range {
            for q in 0..pos {
                // Σ_b over this unit's patch: (pp, np, nn, pn) sums per tap.
                acc.fill(0.0);
                let (oy, ox) = (q / ow, q % ow);
                for b in 0..batch {
                    let (xp, xn) = (&p_in[b * ni..(b + 1) * ni], &n_in[b * ni..(b + 1) * ni]);
                    let u = b * no + o * pos + q;
                    let (up, un) = (u_p[u], u_n[u]);
                    let mut t = 0;
                    for ci in 0..g.in_channels {
                        for ky in 0..k {
                            let row = g.at(ci, oy * s + ky, ox * s);
                            for kx in 0..k {
                                let (a, c) = (xp[row + kx], xn[row + kx]);
                                acc[t] += a * up;
                                acc[taps + t] += c * up;
                                acc[2 * taps + t] += c * un;
                                acc[3 * taps + t] += a * un;
                                t += 1;
                            }
                        }
                    }
                }
                let k0 = g.kernel_at(o, q);
                for t in 0..taps {
                    // SAFETY: the kernels of channel o belong to this thread only.
                    unsafe {
                        step.apply(0, k0 + t, acc[t]);
                        step.apply(1, k0 + t, -acc[taps + t]);
                        step.apply(2, k0 + t, acc[2 * taps + t]);
                        step.apply(3, k0 + t, -acc[3 * taps + t]);
                    }
                }
            }
            let (mut bp, mut bn) = (0.0, 0.0);
            for b in 0..batch {
                for q in 0..pos {
                    bp += u_p[b * no + o * pos + q];
                    bn += u_n[b * no + o * pos + q];
                }
            }
            // The bias is one more input (of value 1) of every position; a local layer's
            // channel bias moves by the mean over its positions.
            let scale = 1.0 / pos as f64;
            // SAFETY: bias o belongs to this thread's range only.
            unsafe {
                step.apply(4, o, scale * bp);
                step.apply(5, o, scale * bn);
            }
        }
    });
}

/// The drives of a layer's units: `U_p = φ'(p)·R`, `U_n = φ'(n)·(−R)`.
pub(super) fn drives(
    p_out: &[f64],
    n_out: &[f64],
    routed: &[f64],
    layer: &DualLayer,
) -> (Vec<f64>, Vec<f64>) {
    let u_p = p_out
        .iter()
        .zip(routed)
        .map(|(&a, &r)| layer.derivative(a) * r)
        .collect();
    let u_n = n_out
        .iter()
        .zip(routed)
        .map(|(&a, &r)| -layer.derivative(a) * r)
        .collect();
    (u_p, u_n)
}
