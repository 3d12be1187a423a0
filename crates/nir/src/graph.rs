//! The in-memory NIR graph: typed nodes with plain `Vec<f64>` tensors, no HDF5 and no
//! ndarray. [`crate::hdf5`] fills it from a file; tests may also build it by hand.
//!
//! Parameter names and meanings follow the `nir` Python package (version 1.x): a neuron's
//! parameters are arrays with one entry per neuron (or scalars, broadcast); weights are
//! `(out, in)` matrices; convolution weights `(C_out, C_in / groups, k…)`.

use amine_chip::image::Sign;
use std::collections::BTreeMap;

/// A dense row-major tensor of `f64` (integer datasets are converted on reading).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
}

impl Tensor {
    pub fn new(shape: Vec<usize>, data: Vec<f64>) -> Tensor {
        Tensor { shape, data }
    }

    /// A one-dimensional tensor.
    pub fn vector(data: Vec<f64>) -> Tensor {
        Tensor {
            shape: vec![data.len()],
            data,
        }
    }

    /// A zero-dimensional tensor.
    pub fn scalar(x: f64) -> Tensor {
        Tensor {
            shape: vec![],
            data: vec![x],
        }
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Entry `i` when the tensor has `n` entries, or its single entry broadcast (NIR
    /// files from some frameworks store per-population scalars).
    pub fn at(&self, i: usize) -> f64 {
        if self.data.len() == 1 {
            self.data[0]
        } else {
            self.data.get(i).copied().unwrap_or(f64::NAN)
        }
    }

    /// The entries as non-negative integers (shapes, strides, kernel sizes).
    pub fn as_usizes(&self) -> Option<Vec<usize>> {
        self.data
            .iter()
            .map(|&x| (x >= 0.0 && x.fract() == 0.0 && x < 1e9).then_some(x as usize))
            .collect()
    }
}

/// Convolution padding: explicit per spatial dimension, or PyTorch's `"same"`/`"valid"`.
#[derive(Debug, Clone, PartialEq)]
pub enum Padding {
    Explicit(Vec<usize>),
    Same,
    Valid,
}

/// A convolution (1-D or 2-D, by the weight's rank).
#[derive(Debug, Clone, PartialEq)]
pub struct Conv {
    /// Spatial input size (`(L,)` or `(H, W)`), when the file gives it.
    pub input_shape: Option<Vec<usize>>,
    /// `(C_out, C_in / groups, k…)`.
    pub weight: Tensor,
    pub stride: Vec<usize>,
    pub padding: Padding,
    pub dilation: Vec<usize>,
    pub groups: usize,
    /// One per output channel.
    pub bias: Tensor,
}

/// A 2-D pooling window.
#[derive(Debug, Clone, PartialEq)]
pub struct Pool {
    pub kernel: Vec<usize>,
    pub stride: Vec<usize>,
    pub padding: Vec<usize>,
}

/// One NIR node.
#[derive(Debug, Clone, PartialEq)]
pub enum NirNode {
    Input {
        shape: Vec<usize>,
    },
    Output {
        shape: Vec<usize>,
    },
    /// `y = W x + b`, `W` of shape `(out, in)`.
    Affine {
        weight: Tensor,
        bias: Tensor,
    },
    /// `y = W x`.
    Linear {
        weight: Tensor,
    },
    /// `y = s ⊙ x`.
    Scale {
        scale: Tensor,
    },
    Conv1d(Conv),
    Conv2d(Conv),
    SumPool2d(Pool),
    AvgPool2d(Pool),
    Flatten {
        start_dim: i64,
        end_dim: i64,
        input_shape: Option<Vec<usize>>,
    },
    /// Per-element delay in seconds.
    Delay {
        delay: Tensor,
    },
    /// A stateless Heaviside: spike iff `x > threshold`.
    Threshold {
        threshold: Tensor,
    },
    /// Integrator `dv/dt = R I`, no spikes.
    I {
        r: Tensor,
    },
    /// `dv/dt = R I`, spike and reset.
    If {
        r: Tensor,
        v_threshold: Tensor,
        v_reset: Tensor,
    },
    /// `tau dv/dt = (v_leak − v) + R I`, no spikes.
    Li {
        tau: Tensor,
        r: Tensor,
        v_leak: Tensor,
    },
    Lif {
        tau: Tensor,
        r: Tensor,
        v_leak: Tensor,
        v_threshold: Tensor,
        v_reset: Tensor,
    },
    /// `tau_syn dI/dt = −I + w_in S`, `tau_mem dv/dt = (v_leak − v) + R I`, no spikes.
    CubaLi {
        tau_syn: Tensor,
        tau_mem: Tensor,
        r: Tensor,
        v_leak: Tensor,
        w_in: Tensor,
    },
    CubaLif {
        tau_syn: Tensor,
        tau_mem: Tensor,
        r: Tensor,
        v_leak: Tensor,
        v_threshold: Tensor,
        v_reset: Tensor,
        w_in: Tensor,
    },
    /// A nested graph; [`NirGraph::flatten`] inlines it.
    Graph(NirGraph),
    /// A node type amine does not know (kept so that validation can name it).
    Unsupported {
        type_name: String,
    },
}

impl NirNode {
    /// The NIR type name, as stored in the file.
    pub fn type_name(&self) -> &str {
        match self {
            NirNode::Input { .. } => "Input",
            NirNode::Output { .. } => "Output",
            NirNode::Affine { .. } => "Affine",
            NirNode::Linear { .. } => "Linear",
            NirNode::Scale { .. } => "Scale",
            NirNode::Conv1d(_) => "Conv1d",
            NirNode::Conv2d(_) => "Conv2d",
            NirNode::SumPool2d(_) => "SumPool2d",
            NirNode::AvgPool2d(_) => "AvgPool2d",
            NirNode::Flatten { .. } => "Flatten",
            NirNode::Delay { .. } => "Delay",
            NirNode::Threshold { .. } => "Threshold",
            NirNode::I { .. } => "I",
            NirNode::If { .. } => "IF",
            NirNode::Li { .. } => "LI",
            NirNode::Lif { .. } => "LIF",
            NirNode::CubaLi { .. } => "CubaLI",
            NirNode::CubaLif { .. } => "CubaLIF",
            NirNode::Graph(_) => "NIRGraph",
            NirNode::Unsupported { type_name } => type_name,
        }
    }

    /// Neuron nodes (stateful or thresholding) become chip compartments; every other
    /// node except Input/Output is a linear map folded into projections.
    pub fn is_neuron(&self) -> bool {
        matches!(
            self,
            NirNode::Threshold { .. }
                | NirNode::I { .. }
                | NirNode::If { .. }
                | NirNode::Li { .. }
                | NirNode::Lif { .. }
                | NirNode::CubaLi { .. }
                | NirNode::CubaLif { .. }
        )
    }

    /// Non-spiking neurons (read out through their voltage).
    pub fn is_integrator(&self) -> bool {
        matches!(
            self,
            NirNode::I { .. } | NirNode::Li { .. } | NirNode::CubaLi { .. }
        )
    }

    /// The parameter tensors of a neuron node, by name (for shape checks and `nir show`).
    pub fn neuron_params(&self) -> Vec<(&'static str, &Tensor)> {
        match self {
            NirNode::Threshold { threshold } => vec![("threshold", threshold)],
            NirNode::I { r } => vec![("r", r)],
            NirNode::If {
                r,
                v_threshold,
                v_reset,
            } => vec![("r", r), ("v_threshold", v_threshold), ("v_reset", v_reset)],
            NirNode::Li { tau, r, v_leak } => vec![("tau", tau), ("r", r), ("v_leak", v_leak)],
            NirNode::Lif {
                tau,
                r,
                v_leak,
                v_threshold,
                v_reset,
            } => vec![
                ("tau", tau),
                ("r", r),
                ("v_leak", v_leak),
                ("v_threshold", v_threshold),
                ("v_reset", v_reset),
            ],
            NirNode::CubaLi {
                tau_syn,
                tau_mem,
                r,
                v_leak,
                w_in,
            } => vec![
                ("tau_syn", tau_syn),
                ("tau_mem", tau_mem),
                ("r", r),
                ("v_leak", v_leak),
                ("w_in", w_in),
            ],
            NirNode::CubaLif {
                tau_syn,
                tau_mem,
                r,
                v_leak,
                v_threshold,
                v_reset,
                w_in,
            } => vec![
                ("tau_syn", tau_syn),
                ("tau_mem", tau_mem),
                ("r", r),
                ("v_leak", v_leak),
                ("v_threshold", v_threshold),
                ("v_reset", v_reset),
                ("w_in", w_in),
            ],
            _ => vec![],
        }
    }
}

/// amine's own entries in a node's NIR `metadata` (written by `amine nir export`, used
/// by the importer when present, ignored by other NIR tools): they carry what NIR has no
/// field for, so that an exported network imports as the same program.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AmineMeta {
    /// `amine_order`: position of the population, input or projection in the program.
    pub order: Option<i64>,
    /// `amine_sign`: Dale's sign of a population or input (`Excitatory`, `Inhibitory`).
    pub sign: Option<Sign>,
    /// `amine_name`: the probe name of an Output node.
    pub name: Option<String>,
}

impl AmineMeta {
    pub fn is_empty(&self) -> bool {
        *self == AmineMeta::default()
    }
}

/// A NIR graph: named nodes and directed edges `(from, to)`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NirGraph {
    pub nodes: BTreeMap<String, NirNode>,
    pub edges: Vec<(String, String)>,
    /// The file's `version` (empty when absent).
    pub version: String,
    /// amine metadata by node name (only nodes that carry some).
    pub meta: BTreeMap<String, AmineMeta>,
}

impl NirGraph {
    /// Inline nested graphs: node `n` of subgraph `g` becomes `g.n`; an edge to `g`
    /// goes to its single Input node, an edge from `g` leaves its single Output node (the
    /// `nir` package's convention), and `g.x` addresses node `x` inside `g`. The nested
    /// Input and Output nodes are then spliced out — every edge into one is joined to
    /// every edge out of it — so `a -> g`, `g.input -> g.lif`, `g.lif -> g.output`,
    /// `g -> b` become `a -> g.lif -> b`, at any depth. A nested Input nothing feeds
    /// stays an input of the network, a nested Output that feeds nothing stays a probe.
    /// Ambiguous references (a subgraph with several inputs addressed by its bare name)
    /// are left unresolved, so validation reports them as edges to nowhere.
    pub fn flatten(&self) -> NirGraph {
        let mut out = NirGraph {
            version: self.version.clone(),
            ..Default::default()
        };
        // Map a bare subgraph name to its entry (for edges into it) and exit.
        let mut entry = BTreeMap::new();
        let mut exit = BTreeMap::new();
        let mut boundary = Vec::new();
        for (name, node) in &self.nodes {
            if let NirNode::Graph(g) = node {
                let g = g.flatten();
                let of_type = |input: bool| -> Vec<String> {
                    g.nodes
                        .iter()
                        .filter(|(_, n)| match n {
                            NirNode::Input { .. } => input,
                            NirNode::Output { .. } => !input,
                            _ => false,
                        })
                        .map(|(k, _)| format!("{name}.{k}"))
                        .collect()
                };
                let (ins, outs) = (of_type(true), of_type(false));
                if let [i] = ins.as_slice() {
                    entry.insert(name.clone(), i.clone());
                }
                if let [o] = outs.as_slice() {
                    exit.insert(name.clone(), o.clone());
                }
                boundary.extend(ins.into_iter().chain(outs));
                for (k, n) in g.nodes {
                    out.nodes.insert(format!("{name}.{k}"), n);
                }
                for (k, m) in g.meta {
                    out.meta.insert(format!("{name}.{k}"), m);
                }
                for (a, b) in g.edges {
                    out.edges
                        .push((format!("{name}.{a}"), format!("{name}.{b}")));
                }
            } else {
                out.nodes.insert(name.clone(), node.clone());
                if let Some(m) = self.meta.get(name) {
                    out.meta.insert(name.clone(), m.clone());
                }
            }
        }
        for (a, b) in &self.edges {
            let a = exit.get(a).cloned().unwrap_or_else(|| a.clone());
            let b = entry.get(b).cloned().unwrap_or_else(|| b.clone());
            out.edges.push((a, b));
        }
        for b in boundary {
            out.splice(&b);
        }
        out
    }

    /// Remove the pass-through node `b` if edges both enter and leave it, joining each
    /// predecessor to each successor.
    fn splice(&mut self, b: &str) {
        let preds: Vec<String> = self.preds(b).into_iter().map(str::to_string).collect();
        let succs: Vec<String> = self
            .edges
            .iter()
            .filter(|(a, _)| a == b)
            .map(|(_, c)| c.clone())
            .collect();
        if preds.is_empty() || succs.is_empty() {
            return;
        }
        self.edges.retain(|(x, y)| x != b && y != b);
        for p in &preds {
            for s in &succs {
                self.edges.push((p.clone(), s.clone()));
            }
        }
        self.nodes.remove(b);
    }

    /// Predecessors of `name`, in edge order.
    pub fn preds(&self, name: &str) -> Vec<&str> {
        self.edges
            .iter()
            .filter(|(_, b)| b == name)
            .map(|(a, _)| a.as_str())
            .collect()
    }
}
