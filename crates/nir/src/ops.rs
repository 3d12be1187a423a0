//! Linear NIR nodes as sparse matrices: Affine, Linear, Scale, Conv1d/Conv2d, SumPool2d,
//! AvgPool2d, Flatten and Delay all become a [`SparseOp`] from the flattened (row-major,
//! as numpy stores it) input to the flattened output, with a per-output bias and, for
//! Delay, a per-entry delay in steps. The lowering composes chains of them.
//!
//! Convolution follows PyTorch (`torch.nn.Conv2d`, which NIR adopts): cross-correlation,
//! `out[co, y, x] = b[co] + Σ w[co, ci', ky, kx] · in[g·Cg + ci', y·s − p + ky·d, x·s − p + kx·d]`
//! over the input channels `ci'` of the output channel's group `g`; out-of-range inputs
//! are zero padding. Output size `⌊(n + 2p − d(k − 1) − 1) / s⌋ + 1`.

use crate::graph::{Conv, NirNode, Padding, Pool};
use crate::validate::size;

/// A sparse linear map with delays: input `i` reaches output `o` with weight `w` after
/// `d` extra steps for every `(o, w, d)` in `cols[i]`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SparseOp {
    pub n_out: usize,
    pub cols: Vec<Vec<(usize, f64, u32)>>,
    pub bias: Vec<f64>,
}

impl SparseOp {
    fn new(n_in: usize, n_out: usize) -> SparseOp {
        SparseOp {
            n_out,
            cols: vec![Vec::new(); n_in],
            bias: vec![0.0; n_out],
        }
    }

    fn identity(n: usize) -> SparseOp {
        let mut op = SparseOp::new(n, n);
        for (i, c) in op.cols.iter_mut().enumerate() {
            c.push((i, 1.0, 0));
        }
        op
    }
}

/// `(pad_before, out_len)` per spatial dimension of a convolution.
fn conv_geometry(c: &Conv, spatial: &[usize]) -> Result<Vec<(usize, usize)>, String> {
    let k = &c.weight.shape[2..];
    let dims = k.len();
    let get = |v: &[usize], i: usize, what: &str| {
        v.get(i)
            .copied()
            .ok_or_else(|| format!("`{what}` has {} values for {dims} dimensions", v.len()))
    };
    let mut out = Vec::new();
    for (i, &n) in spatial.iter().enumerate() {
        let s = get(&c.stride, i, "stride")?;
        let d = get(&c.dilation, i, "dilation")?;
        if s == 0 || d == 0 {
            return Err("stride and dilation must be at least 1".into());
        }
        let span = d * (k[i].max(1) - 1) + 1;
        let p = match &c.padding {
            Padding::Explicit(p) => get(p, i, "padding")?,
            Padding::Valid => 0,
            // PyTorch's "same" (stride 1): total padding d(k − 1), the extra one after.
            Padding::Same => (span - 1) / 2,
        };
        let total = match &c.padding {
            Padding::Same => n + span - 1,
            _ => n + 2 * p,
        };
        if total < span {
            return Err(format!(
                "kernel span {span} is larger than the padded input {total}"
            ));
        }
        out.push((p, (total - span) / s + 1));
    }
    Ok(out)
}

/// Output shape `(C_out, spatial…)` of a convolution on input `(C_in, spatial…)`.
pub fn conv_output(c: &Conv, input: &[usize]) -> Result<Vec<usize>, String> {
    let w = &c.weight.shape;
    let dims = w.len().saturating_sub(2);
    if input.len() != dims + 1 {
        return Err(format!(
            "input shape {input:?} is not (channels, {dims} spatial dimensions)"
        ));
    }
    let g = c.groups;
    if g == 0 || !w[0].is_multiple_of(g) {
        return Err(format!("groups = {g} does not divide C_out = {}", w[0]));
    }
    if input[0] != w[1] * g {
        return Err(format!(
            "shape mismatch: input has {} channels, weight expects {} × {g} groups",
            input[0], w[1]
        ));
    }
    if c.bias.len() != w[0] && c.bias.len() != 1 {
        return Err(format!(
            "shape mismatch: bias has {} values for {} output channels",
            c.bias.len(),
            w[0]
        ));
    }
    let geo = conv_geometry(c, &input[1..])?;
    let mut out = vec![w[0]];
    out.extend(geo.iter().map(|g| g.1));
    Ok(out)
}

/// Output shape of a 2-D pooling on `(C, H, W)`.
pub fn pool_output(p: &Pool, input: &[usize]) -> Result<Vec<usize>, String> {
    if input.len() != 3 || p.kernel.len() != 2 || p.stride.len() != 2 || p.padding.len() != 2 {
        return Err(format!(
            "pooling needs a (C, H, W) input and 2-D kernel, stride, padding; input is {input:?}"
        ));
    }
    let mut out = vec![input[0]];
    for i in 0..2 {
        let (k, s, pad) = (p.kernel[i], p.stride[i], p.padding[i]);
        if k == 0 || s == 0 || input[1 + i] + 2 * pad < k {
            return Err(format!(
                "kernel {k} / stride {s} do not fit the input {input:?}"
            ));
        }
        out.push((input[1 + i] + 2 * pad - k) / s + 1);
    }
    Ok(out)
}

/// The sparse matrix of a linear node given its input and output shapes (from
/// validation). Delays are converted to whole steps with `dt` by the caller through
/// `delay_steps`; `None` for neuron, Input and Output nodes.
pub fn sparse_op(
    node: &NirNode,
    input: &[usize],
    output: &[usize],
    delay_steps: &dyn Fn(f64) -> u32,
) -> Option<SparseOp> {
    let (n_in, n_out) = (size(input), size(output));
    Some(match node {
        NirNode::Affine { weight, .. } | NirNode::Linear { weight } if weight.shape.len() == 2 => {
            let (o, i) = (weight.shape[0], weight.shape[1]);
            let mut op = SparseOp::new(i, o);
            for r in 0..o {
                for c in 0..i {
                    let w = weight.data.get(r * i + c).copied().unwrap_or(0.0);
                    if w != 0.0 {
                        op.cols[c].push((r, w, 0));
                    }
                }
            }
            if let NirNode::Affine { bias, .. } = node {
                for (r, b) in op.bias.iter_mut().enumerate() {
                    *b = bias.at(r);
                }
            }
            op
        }
        NirNode::Scale { scale } => {
            let mut op = SparseOp::new(n_in, n_in);
            for (i, c) in op.cols.iter_mut().enumerate() {
                c.push((i, scale.at(i), 0));
            }
            op
        }
        NirNode::Delay { delay } => {
            let mut op = SparseOp::new(n_in, n_in);
            for (i, c) in op.cols.iter_mut().enumerate() {
                c.push((i, 1.0, delay_steps(delay.at(i))));
            }
            op
        }
        NirNode::Flatten { .. } => SparseOp::identity(n_in),
        NirNode::Conv1d(c) | NirNode::Conv2d(c) => conv_op(c, input, output)?,
        NirNode::SumPool2d(p) => pool_op(p, input, output, 1.0),
        NirNode::AvgPool2d(p) => {
            let k = (p.kernel[0] * p.kernel[1]) as f64;
            pool_op(p, input, output, 1.0 / k)
        }
        _ => return None,
    })
    .filter(|op| op.cols.len() == n_in && op.n_out == n_out)
}

/// Conv1d is Conv2d with a height of one.
fn conv_op(c: &Conv, input: &[usize], output: &[usize]) -> Option<SparseOp> {
    let w = &c.weight.shape;
    let two = w.len() == 4;
    let (kh, kw) = if two { (w[2], w[3]) } else { (1, w[2]) };
    let (h, wd) = if two {
        (input[1], input[2])
    } else {
        (1, input[1])
    };
    let (ho, wo) = if two {
        (output[1], output[2])
    } else {
        (1, output[1])
    };
    let geo = conv_geometry(c, &input[1..]).ok()?;
    let (ph, pw) = if two {
        (geo[0].0, geo[1].0)
    } else {
        (0, geo[0].0)
    };
    let (sh, sw) = if two {
        (c.stride[0], c.stride[1])
    } else {
        (1, c.stride[0])
    };
    let (dh, dw) = if two {
        (c.dilation[0], c.dilation[1])
    } else {
        (1, c.dilation[0])
    };
    let (co_n, cg) = (w[0], w[1]);
    let per_group = co_n / c.groups.max(1);
    let mut op = SparseOp::new(size(input), size(output));
    for co in 0..co_n {
        let g = co / per_group.max(1);
        for y in 0..ho {
            for x in 0..wo {
                let o = (co * ho + y) * wo + x;
                op.bias[o] = c.bias.at(co);
                for cl in 0..cg {
                    let ci = g * cg + cl;
                    for ky in 0..kh {
                        let iy = (y * sh + ky * dh) as isize - ph as isize;
                        if iy < 0 || iy >= h as isize {
                            continue;
                        }
                        for kx in 0..kw {
                            let ix = (x * sw + kx * dw) as isize - pw as isize;
                            if ix < 0 || ix >= wd as isize {
                                continue;
                            }
                            let wv = c
                                .weight
                                .data
                                .get(((co * cg + cl) * kh + ky) * kw + kx)
                                .copied()
                                .unwrap_or(0.0);
                            if wv != 0.0 {
                                let i = (ci * h + iy as usize) * wd + ix as usize;
                                op.cols[i].push((o, wv, 0));
                            }
                        }
                    }
                }
            }
        }
    }
    Some(op)
}

fn pool_op(p: &Pool, input: &[usize], output: &[usize], gain: f64) -> SparseOp {
    let (ch, h, wd) = (input[0], input[1], input[2]);
    let (ho, wo) = (output[1], output[2]);
    let mut op = SparseOp::new(size(input), size(output));
    for c in 0..ch {
        for y in 0..ho {
            for x in 0..wo {
                let o = (c * ho + y) * wo + x;
                for ky in 0..p.kernel[0] {
                    let iy = (y * p.stride[0] + ky) as isize - p.padding[0] as isize;
                    for kx in 0..p.kernel[1] {
                        let ix = (x * p.stride[1] + kx) as isize - p.padding[1] as isize;
                        if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < wd {
                            let i = (c * h + iy as usize) * wd + ix as usize;
                            op.cols[i].push((o, gain, 0));
                        }
                    }
                }
            }
        }
    }
    op
}
