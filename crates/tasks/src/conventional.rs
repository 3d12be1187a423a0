//! What a training sample would cost as a conventional float implementation on a CPU
//! and on a GPU: **estimates**, from counted work and published per-operation energies.
//! This module is the one place the figures and their sources live; every train report
//! prices its float reference's work here.
//!
//! **Work** ([`Work`]): floating-point operations and bytes moved per training sample of
//! the float reference, FP32 (4 bytes a value), counted from the layer widths: a
//! multiply-accumulate is 2 FLOPs, a logistic unit [`SIGMOID_FLOPS`], an SGD update 2
//! FLOPs a weight (scale, subtract). Bytes: per mini-batch every weight is read by the
//! forward pass, read again by a backward pass that uses it, and the update reads the
//! gradient and reads and writes the weight; per sample the activations are written and
//! read once more. Batching divides the weight traffic by the batch size.
//!
//! **CPU** ([`CPU`]): Horowitz, "Computing's energy problem (and what we can do about
//! it)", ISSCC 2014, 45 nm, 0.9 V: FP32 multiply 3.7 pJ, FP32 add 0.9 pJ (so 2.3 pJ a
//! FLOP of a fused multiply-add); an instruction's overhead (fetch, decode, register
//! file, control) about 70 pJ — *assumption*: amortised over one AVX2 FMA instruction of
//! 8 FP32 lanes = 16 FLOPs, 4.4 pJ a FLOP; memory per 64-bit access: 32 KB SRAM 20 pJ,
//! 1 MB SRAM 100 pJ, DRAM 1.3–2.6 nJ (we take 2 nJ). The tier is the one the
//! parameters and their gradients fit in (*assumption*: the working set is that). No
//! static or uncore power: a lower bound for a CPU that does nothing else.
//!
//! **GPU** ([`GPU`]): NVIDIA H100 SXM5 datasheet: TDP 700 W, FP32 (non-tensor) 67
//! TFLOP/s, HBM3 3.35 TB/s. Time per sample is the roofline `max(FLOPs/peak, bytes/bw)`
//! divided by the utilisation, energy is TDP × that time (*assumption*: the board draws
//! its TDP while it works). At utilisation 1 this is a lower bound; a network this
//! small, trained one sample at a time, keeps a GPU far below it (kernel launches of a
//! few µs each dominate), and the energy grows as 1/utilisation.

use serde::{Deserialize, Serialize};

/// FLOPs of one logistic unit `1/(1 + e^−a)` (*assumption*: an exponential ≈ 8 FLOPs,
/// one add, one divide).
pub const SIGMOID_FLOPS: f64 = 10.0;
/// Bytes of one FP32 value.
pub const BYTES: f64 = 4.0;

/// Work of one training sample of a float implementation.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Work {
    pub flops: f64,
    /// Bytes moved between the arithmetic and memory.
    pub bytes: f64,
    /// Bytes of the parameters and their gradients (the working set).
    pub working_set: f64,
    /// Samples per weight update the counts assume.
    pub batch: usize,
}

/// How a layer's error reaches its hidden units (what the backward pass costs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backward {
    /// `Wᵀ·δ` per layer below the top: the weights are read again.
    Transpose,
    /// `B_l·e` per hidden layer (`classes` columns).
    Direct,
}

/// Forward pass of dense logistic layers `sizes[0] → sizes[1] → …`: (FLOPs, parameters,
/// activations).
fn forward(sizes: &[usize]) -> (f64, f64, f64) {
    forward_wired(sizes, &dense(sizes))
}

/// Each layer's incoming weights when every unit reads every value below it.
pub fn dense(sizes: &[usize]) -> Vec<usize> {
    sizes.windows(2).map(|p| p[0] * p[1]).collect()
}

/// [`forward`] with layer `l`'s incoming weights counted as wired: `weights[l]`.
fn forward_wired(sizes: &[usize], weights: &[usize]) -> (f64, f64, f64) {
    let mut flops = 0.0;
    let mut params = 0.0;
    let mut acts = 0.0;
    for (p, &w) in sizes.windows(2).zip(weights) {
        let (w, o) = (w as f64, p[1] as f64);
        flops += 2.0 * w + o * (1.0 + SIGMOID_FLOPS);
        params += w + o;
        acts += o;
    }
    (flops, params, acts)
}

impl Work {
    fn of(flops: f64, params: f64, weight_passes: f64, acts: f64, batch: usize) -> Work {
        let b = batch.max(1) as f64;
        // per batch: forward read, `weight_passes − 1` more reads, the update's
        // gradient read and weight read + write; per sample: activations write + read.
        let weight_bytes = BYTES * params * (weight_passes + 3.0) / b;
        Work {
            flops,
            bytes: weight_bytes + 2.0 * BYTES * acts,
            working_set: 2.0 * BYTES * params,
            batch: batch.max(1),
        }
    }

    /// Backprop or DFA on dense logistic layers (`sizes` from the inputs to the
    /// `classes` outputs).
    pub fn layered(sizes: &[usize], backward: Backward, batch: usize) -> Work {
        let (fwd, params, acts) = forward(sizes);
        let classes = sizes.last().copied().unwrap_or(0) as f64;
        let mut flops = fwd + 3.0 * classes; // output error and its derivative
        let mut passes = 1.0;
        for (l, p) in sizes.windows(2).enumerate() {
            let (i, o) = (p[0] as f64, p[1] as f64);
            flops += 2.0 * i * o + 2.0 * o + 2.0 * (i * o + o) / batch.max(1) as f64; // gradient, update
            if l > 0 {
                // the error reaching the layer below: i values
                flops += 3.0 * i
                    + match backward {
                        Backward::Transpose => 2.0 * i * o,
                        Backward::Direct => 2.0 * i * classes,
                    };
            }
        }
        if backward == Backward::Transpose && sizes.len() > 2 {
            passes += 1.0;
        }
        Work::of(flops, params, passes, acts, batch)
    }

    /// Sigprop (the reference in [`crate::ff::sigprop`]): the sample's forward pass and
    /// each layer's local loss and update; the `classes` contexts are propagated twice
    /// per batch (before and after the update), and, with `target_updates`, their
    /// gradients are added per batch.
    pub fn sigprop(sizes: &[usize], classes: usize, batch: usize, target_updates: bool) -> Work {
        Work::sigprop_wired(sizes, &dense(sizes), classes, batch, target_updates)
    }

    /// [`Work::sigprop`] with layer `l`'s incoming weights counted as wired,
    /// `weights[l]` (a patch-wired layer reads only its patches; dense:
    /// `sizes[l] · sizes[l + 1]`).
    pub fn sigprop_wired(
        sizes: &[usize],
        weights: &[usize],
        classes: usize,
        batch: usize,
        target_updates: bool,
    ) -> Work {
        let (fwd, params, acts) = forward_wired(sizes, weights);
        let (c, b) = (classes as f64, batch.max(1) as f64);
        let mut flops = fwd + 2.0 * c * fwd / b;
        for (p, &w) in sizes.windows(2).zip(weights) {
            let (w, o) = (w as f64, p[1] as f64);
            // distances, softmax, mean context, δ; the sample's gradient; the update
            flops += 3.0 * c * o + 12.0 * c + 2.0 * c * o + 3.0 * o;
            flops += 2.0 * w + 2.0 * o + 2.0 * (w + o) / b;
            if target_updates {
                flops += 4.0 * c * o + 2.0 * c * (w + o) / b;
            }
        }
        let passes = 1.0 + 2.0 * c + if target_updates { c } else { 0.0 };
        Work::of(flops, params, passes, acts * (1.0 + 2.0 * c / b), batch)
    }

    /// Kaneko's per-class Error Diffusion (the reference in [`crate::ed`]), online: per
    /// class a hidden group of `hidden` units reading both streams of `inputs + 1`
    /// values and one output; every weight updates every sample.
    pub fn error_diffusion(inputs: usize, hidden: usize, classes: usize) -> Work {
        let (n, h, c) = (2.0 * (inputs as f64 + 1.0), hidden as f64, classes as f64);
        Work::online_ed(c * (h * n + h), c * (h + 1.0), c)
    }

    /// Dual-stream Error Diffusion with modulo routing (the reference in
    /// [`crate::dual_ed`]), online: `weights` plastic weights (each layer's four
    /// sign-fixed projections and the outputs' two; every one delivered and updated every
    /// sample) onto `units` logistic units (both streams' hidden units and the outputs).
    pub fn dual_error_diffusion(weights: usize, units: usize, classes: usize) -> Work {
        Work::online_ed(weights as f64, units as f64, classes as f64)
    }

    /// Error Diffusion's online work: `weights` weights onto `units` units, `classes`
    /// outputs.
    fn online_ed(weights: f64, units: f64, classes: f64) -> Work {
        // forward MACs and units; error split; per weight α·in·deriv·d·sgn and the add
        let flops = 2.0 * weights
            + units * (1.0 + SIGMOID_FLOPS)
            + 4.0 * classes
            + 2.0 * weights
            + 3.0 * units;
        Work::of(flops, weights, 1.0, units, 1)
    }

    /// e-prop (the reference in [`crate::eprop`]) for one training trial of `steps`
    /// steps: every synapse is delivered (a MAC) and updates its eligibility traces
    /// (*assumption*: 8 FLOPs a synapse a step for εv, εa, e and ē — Bellec et al.'s
    /// traces, counted per synapse as the reference runs them) and, in the learning
    /// window, accumulates `m·ē` (2 FLOPs); `neurons` LIF/ALIF units step (10 FLOPs
    /// each); the readouts are `readouts × neurons` MACs a step; the weights update once
    /// per `batch` trials.
    pub fn eprop(
        synapses: usize,
        neurons: usize,
        readouts: usize,
        steps: usize,
        window: usize,
        batch: usize,
    ) -> Work {
        let (s, n, r, t, w) = (
            synapses as f64,
            neurons as f64,
            readouts as f64,
            steps as f64,
            window as f64,
        );
        let b = batch.max(1) as f64;
        let flops = t * (2.0 * s + 8.0 * s + 10.0 * n + 2.0 * r * n) + w * 2.0 * s + 2.0 * s / b;
        let params = s + r * n;
        // per step the synapse weights are read and the traces read and written (3
        // values a synapse); the working set holds the weights, traces and gradients
        let bytes = BYTES * (t * (s + 6.0 * s + r * n) + 3.0 * params / b);
        Work {
            flops,
            bytes,
            working_set: BYTES * 6.0 * s,
            batch: batch.max(1),
        }
    }
}

/// A CPU priced by per-operation energies.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Cpu {
    pub name: &'static str,
    /// pJ a FLOP: arithmetic and amortised instruction overhead.
    pub flop_pj: f64,
    /// Memory tiers: (capacity in bytes, pJ per 64-bit access); the last has no limit.
    pub tiers: [(f64, f64); 3],
    pub source: &'static str,
}

/// Horowitz, ISSCC 2014, 45 nm (see the module docs for each figure).
pub const CPU: Cpu = Cpu {
    name: "CPU, 45 nm (Horowitz ISSCC 2014)",
    flop_pj: (3.7 + 0.9) / 2.0 + 70.0 / 16.0,
    tiers: [
        (32.0 * 1024.0, 20.0),
        (1024.0 * 1024.0, 100.0),
        (f64::INFINITY, 2000.0),
    ],
    source: "Horowitz, Computing's energy problem, ISSCC 2014: FP32 mult 3.7 pJ, add 0.9 pJ, \
             ~70 pJ instruction overhead (assumed amortised over 16 FLOPs of one AVX2 FMA), \
             SRAM 32 KB 20 pJ / 1 MB 100 pJ per 64 bits, DRAM 1.3-2.6 nJ per 64 bits (2 nJ taken)",
};

/// A GPU priced by its board power over roofline time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Gpu {
    pub name: &'static str,
    pub tdp_w: f64,
    pub flops_per_s: f64,
    pub bytes_per_s: f64,
    pub source: &'static str,
}

/// NVIDIA H100 SXM5 (datasheet figures).
pub const GPU: Gpu = Gpu {
    name: "GPU, NVIDIA H100 SXM5",
    tdp_w: 700.0,
    flops_per_s: 67e12,
    bytes_per_s: 3.35e12,
    source:
        "NVIDIA H100 Tensor Core GPU datasheet: SXM5 TDP 700 W, FP32 67 TFLOP/s, HBM3 3.35 TB/s",
};

/// One platform's estimate for one training sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Priced {
    pub energy_pj: f64,
    /// Time a sample takes (GPU: roofline at the utilisation; CPU: not estimated, 0).
    pub latency_s: f64,
}

/// CPU and GPU estimates of one training sample's work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub work: Work,
    pub cpu: Priced,
    pub gpu: Priced,
    /// The GPU utilisation assumed (1: the roofline, a lower bound).
    pub gpu_utilisation: f64,
    pub cpu_source: String,
    pub gpu_source: String,
}

impl Cpu {
    /// pJ per byte moved for a working set of `bytes`.
    pub fn byte_pj(&self, working_set: f64) -> f64 {
        let tier = self
            .tiers
            .iter()
            .find(|(cap, _)| working_set <= *cap)
            .unwrap_or(&self.tiers[2]);
        tier.1 / 8.0
    }

    pub fn price(&self, w: &Work) -> Priced {
        Priced {
            energy_pj: w.flops * self.flop_pj + w.bytes * self.byte_pj(w.working_set),
            latency_s: 0.0,
        }
    }
}

impl Gpu {
    pub fn price(&self, w: &Work, utilisation: f64) -> Priced {
        let u = utilisation.clamp(1e-9, 1.0);
        let t = (w.flops / self.flops_per_s).max(w.bytes / self.bytes_per_s) / u;
        Priced {
            energy_pj: self.tdp_w * t * 1e12,
            latency_s: t,
        }
    }
}

impl Estimate {
    /// Both platforms' estimates of `work`, the GPU at utilisation 1 (its roofline).
    pub fn of(work: Work) -> Estimate {
        Estimate {
            work,
            cpu: CPU.price(&work),
            gpu: GPU.price(&work, 1.0),
            gpu_utilisation: 1.0,
            cpu_source: CPU.source.to_string(),
            gpu_source: GPU.source.to_string(),
        }
    }

    /// One line for a summary.
    pub fn line(&self) -> String {
        format!(
            "float implementation, estimated per training sample ({:.3} MFLOP, {:.3} MB moved, batch {}): CPU {:.3} µJ, GPU {:.3} µJ at full utilisation",
            self.work.flops / 1e6,
            self.work.bytes / 1e6,
            self.work.batch,
            self.cpu.energy_pj / 1e6,
            self.gpu.energy_pj / 1e6
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counted by hand: 2 → 3 → 2 backprop, batch 1.
    #[test]
    fn a_tiny_network_is_counted_by_hand() {
        let w = Work::layered(&[2, 3, 2], Backward::Transpose, 1);
        // forward: 2·2·3 + 3·11 + 2·3·2 + 2·11 = 12 + 33 + 12 + 22 = 79; output error 6;
        // layer 0: 2·6 + 6 + 2·9 = 36; layer 1: 12 + 4 + 2·8 = 32, plus 3·3 + 2·3·2 = 21
        assert_eq!(w.flops, 79.0 + 6.0 + 36.0 + 32.0 + 21.0);
        // 17 parameters; 2 weight passes + 3 per batch; activations 5, written and read
        assert_eq!(w.bytes, 4.0 * 17.0 * 5.0 + 2.0 * 4.0 * 5.0);
        let dfa = Work::layered(&[2, 3, 2], Backward::Direct, 1);
        assert_eq!(dfa.flops, w.flops); // B is 3 × 2 like W₁ᵀ here
        assert!(dfa.bytes < w.bytes);
    }

    #[test]
    fn prices_follow_the_published_figures() {
        let w = Work {
            flops: 1e6,
            bytes: 8e6,
            working_set: 100e3,
            batch: 1,
        };
        // 1e6 · (2.3 + 4.375) pJ + 1e6 64-bit accesses · 100 pJ (1 MB tier)
        let cpu = CPU.price(&w).energy_pj;
        assert!((cpu - (6.675e6 + 100e6)).abs() < 1.0, "{cpu}");
        // memory bound: 8e6 B / 3.35e12 B/s · 700 W
        let gpu = GPU.price(&w, 1.0);
        assert!((gpu.latency_s - 8e6 / 3.35e12).abs() < 1e-15);
        assert!((GPU.price(&w, 0.1).energy_pj / gpu.energy_pj - 10.0).abs() < 1e-9);
    }

    #[test]
    fn batching_divides_the_weight_traffic() {
        let one = Work::layered(&[64, 128, 10], Backward::Transpose, 1);
        let many = Work::layered(&[64, 128, 10], Backward::Transpose, 32);
        assert!(many.bytes < one.bytes / 10.0);
        assert!(many.flops < one.flops);
    }
}
