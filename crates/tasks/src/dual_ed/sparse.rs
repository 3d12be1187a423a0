//! A masked dense layer (patch wiring, [`super::patch`]) over its present synapses only.
//!
//! A patch-wired layer keeps the dense layout (`w[i * outputs + j]`) with its absent
//! synapses at 0; the dense path multiplies every one of them (a `1440p5s2` layer reads
//! 26 of its 785 sources a unit, so 97 % of that work adds zeros). Here every sum runs
//! over a unit's present sources only, in the dense path's order (sources ascending for
//! the forward sums, examples ascending for the updates, from `0.0`, one multiply then
//! one add): an absent synapse's term is `±0.0`, which leaves such a sum unchanged, so
//! the results are bit-identical to the dense path's (tested against it).

use super::net::{par_ranges, DualLayer, SharedMut};
use super::step::Stepper;
use std::sync::OnceLock;

/// Per unit, its present sources ascending, read once from the layer's mask (a cache:
/// never serialised, equal to any other).
#[derive(Clone, Default)]
pub struct Fields(OnceLock<Vec<Vec<u32>>>);

impl std::fmt::Debug for Fields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fields(cache of the mask)")
    }
}

impl PartialEq for Fields {
    fn eq(&self, _: &Fields) -> bool {
        true
    }
}

impl Fields {
    /// The sources of every unit of an `inputs × outputs` layer with this mask
    /// (source-major, `mask[i * outputs + j]`).
    pub(super) fn get(&self, mask: &[bool], inputs: usize, outputs: usize) -> &[Vec<u32>] {
        self.0.get_or_init(|| {
            let mut fields = vec![Vec::new(); outputs];
            for i in 0..inputs {
                for (j, field) in fields.iter_mut().enumerate() {
                    if mask[i * outputs + j] {
                        field.push(i as u32);
                    }
                }
            }
            fields
        })
    }
}

/// The forward pass of a masked layer (`mask` its synapses): `p_in`, `n_in` are
/// `B × inputs`; returns `(p, n)`, each `B × outputs`.
pub(super) fn forward(
    layer: &DualLayer,
    mask: &[bool],
    p_in: &[f64],
    n_in: &[f64],
    batch: usize,
    threads: usize,
) -> (Vec<f64>, Vec<f64>) {
    let (ni, no) = (layer.inputs, layer.outputs);
    let fields = layer.fields.get(mask, ni, no);
    let mut p = vec![0.0; batch * no];
    let mut n = vec![0.0; batch * no];
    let (pp, pn) = (SharedMut(p.as_mut_ptr()), SharedMut(n.as_mut_ptr()));
    par_ranges(no, threads, |range| {
        for b in 0..batch {
            let (xp, xn) = (&p_in[b * ni..][..ni], &n_in[b * ni..][..ni]);
            for j in range.clone() {
                let (mut z_pp, mut z_np, mut z_nn, mut z_pn) = (0.0, 0.0, 0.0, 0.0);
                for &i in &fields[j] {
                    let (i, e) = (i as usize, i as usize * no + j);
                    z_pp += xp[i] * layer.w_pp[e];
                    z_np += xn[i] * layer.w_np[e];
                    z_nn += xn[i] * layer.w_nn[e];
                    z_pn += xp[i] * layer.w_pn[e];
                }
                let zp = layer.b_p[j] + z_pp - z_np;
                let zn = layer.b_n[j] + z_nn - z_pn;
                // SAFETY: unit j belongs to this thread's range only.
                unsafe {
                    *pp.at(b * no + j) = layer.activate(zp);
                    *pn.at(b * no + j) = layer.activate(zn);
                }
            }
        }
    });
    (p, n)
}

/// The update of a masked `inputs × outputs` layer's present synapses (`fields`, from
/// [`Fields::get`]): `p_in`, `n_in` its sources (`B × inputs`), `u_p`, `u_n` the
/// postsynaptic drives (`B × outputs`); then the biases, as the dense path does.
#[allow(clippy::too_many_arguments)]
pub(super) fn learn(
    fields: &[Vec<u32>],
    (ni, no): (usize, usize),
    p_in: &[f64],
    n_in: &[f64],
    u_p: &[f64],
    u_n: &[f64],
    batch: usize,
    step: &Stepper,
    threads: usize,
) {
    par_ranges(no, threads, |range| {
        for j in range.clone() {
            for &i in &fields[j] {
                let i = i as usize;
                let (mut a_pp, mut a_np, mut a_nn, mut a_pn) = (0.0, 0.0, 0.0, 0.0);
                for b in 0..batch {
                    let (xp, xn) = (p_in[b * ni + i], n_in[b * ni + i]);
                    let (up, un) = (u_p[b * no + j], u_n[b * no + j]);
                    a_pp += xp * up;
                    a_np += xn * up;
                    a_nn += xn * un;
                    a_pn += xp * un;
                }
                let e = i * no + j;
                // SAFETY: column j belongs to this thread's range only.
                unsafe {
                    step.apply(0, e, a_pp);
                    step.apply(1, e, -a_np);
                    step.apply(2, e, a_nn);
                    step.apply(3, e, -a_pn);
                }
            }
        }
        super::net::learn_biases(u_p, u_n, batch, no, range, step);
    });
}

#[cfg(test)]
mod tests {
    use super::super::net::DualLayer;
    use super::super::patch;
    use super::super::step::Rule;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// A patch-wired layer (a 7×7 image and a bias source, 3×3 patches at stride 2,
    /// 3 classes: 27 units) with random present magnitudes, and the same layer without
    /// its mask (the dense path over the same weights, absent ones 0).
    fn layers(seed: u64) -> (DualLayer, DualLayer) {
        let (inputs, outputs) = (50, 27);
        let mask = patch::mask(inputs, outputs, 3, 2, 3);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut w = || -> Vec<f64> {
            mask.iter()
                .map(|&on| if on { rng.random::<f64>() } else { 0.0 })
                .collect()
        };
        let (w_pp, w_np, w_nn, w_pn) = (w(), w(), w(), w());
        let b: Vec<f64> = (0..outputs).map(|j| 0.01 * j as f64 - 0.1).collect();
        let dense = DualLayer {
            inputs,
            outputs,
            alpha: 3.0,
            conv: None,
            w_pp,
            w_np,
            w_nn,
            w_pn,
            b_p: b.clone(),
            b_n: b.iter().map(|x| -x).collect(),
            moments: None,
            mask: None,
            fields: Default::default(),
            payload_bits: None,
            table: None,
        };
        let masked = DualLayer {
            mask: Some(mask),
            ..dense.clone()
        };
        (masked, dense)
    }

    /// Sources of a batch, some negative (a centred input code).
    fn sources(n: usize, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| rng.random::<f64>() * 1.5 - 0.25).collect()
    }

    #[test]
    fn present_synapses_only_give_the_dense_paths_bits() {
        let batch = 3;
        for threads in [1, 2, 4] {
            let (mut masked, mut dense) = layers(7);
            let (p_in, n_in) = (sources(batch * 50, 1), sources(batch * 50, 2));
            let (p, n) = masked.forward(&p_in, &n_in, batch, threads);
            assert_eq!(
                (&p, &n),
                (
                    &dense.forward(&p_in, &n_in, batch, 1).0,
                    &dense.forward(&p_in, &n_in, batch, 1).1
                )
            );
            let start = masked.clone();
            let routed = sources(batch * 27, 3);
            let rule = Rule::Sgd { rate: 0.7 };
            for l in [&mut masked, &mut dense] {
                l.learn(&p_in, &n_in, &p, &n, &routed, batch, rule, 1e-4, threads);
            }
            let mask = masked.mask.clone().unwrap();
            let pairs = [
                (&masked.w_pp, &dense.w_pp, &start.w_pp),
                (&masked.w_np, &dense.w_np, &start.w_np),
                (&masked.w_nn, &dense.w_nn, &start.w_nn),
                (&masked.w_pn, &dense.w_pn, &start.w_pn),
            ];
            let mut moved = 0;
            for (m, d, s) in pairs {
                for (e, &on) in mask.iter().enumerate() {
                    if on {
                        assert_eq!(
                            m[e].to_bits(),
                            d[e].to_bits(),
                            "synapse {e}, {threads} threads"
                        );
                        moved += usize::from(m[e] != s[e]);
                    } else {
                        assert_eq!(m[e], 0.0, "absent synapse {e} learned");
                    }
                }
            }
            assert!(moved > 100, "{moved}");
            assert_eq!((&masked.b_p, &masked.b_n), (&dense.b_p, &dense.b_n));
            assert!(masked.mask.is_some(), "the mask is put back");
        }
    }
}
