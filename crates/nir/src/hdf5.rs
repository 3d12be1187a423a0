//! Reading a NIR file (HDF5) into a [`NirGraph`] — the only module that touches HDF5.
//!
//! The layout is the one the `nir` Python package writes (`nir.write`, version 1.x):
//!
//! ```text
//! /version                      string dataset, e.g. "1.0.8"
//! /node/type                    "NIRGraph"
//! /node/nodes/<name>/type       "LIF", "Affine", … (variable-length UTF-8 string)
//! /node/nodes/<name>/<param>    float or integer datasets (tau, weight, …)
//! /node/edges                   (n, 2) string array of (from, to); older writers use
//!                               /node/edges/src and /node/edges/dst instead
//! ```
//!
//! A nested graph is a node of type `NIRGraph` with the same `nodes`/`edges` layout.
//! Every HDF5 failure (not HDF5, truncated, wrong types) becomes an [`Error`]; a missing
//! parameter is a `Malformed` problem naming the node and the dataset. Numbers are read
//! as `f64` whatever their stored type, so integer weights stay exact.

use crate::error::{Error, ErrorKind};
use crate::graph::{Conv, NirGraph, NirNode, Padding, Pool, Tensor};
use hdf5::types::{TypeDescriptor, VarLenAscii, VarLenUnicode};
use std::path::Path;

/// Nested graphs deeper than this are refused (HDF5 hard links can form cycles).
const MAX_DEPTH: usize = 16;

/// Read the NIR file at `path`. Nested graphs are kept; call [`NirGraph::flatten`].
pub fn read(path: &Path) -> Result<NirGraph, Error> {
    // HDF5 may reject a file in its own C code (reported as an error) but the Rust
    // bindings also assert on a few impossible-looking states; a panic there must still
    // be an error for the user, not a crash.
    let p = path.to_path_buf();
    match std::panic::catch_unwind(move || read_inner(&p)) {
        Ok(r) => r,
        Err(_) => Err(Error::malformed(format!(
            "{}: the HDF5 library failed on this file",
            path.display()
        ))),
    }
}

fn read_inner(path: &Path) -> Result<NirGraph, Error> {
    let file = hdf5::File::open(path).map_err(|e| {
        Error::new(ErrorKind::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    })?;
    let version = if file.link_exists("version") {
        file.dataset("version")
            .ok()
            .and_then(|d| read_string(&d).ok())
            .unwrap_or_default()
    } else {
        String::new()
    };
    if !file.link_exists("node") {
        return Err(Error::malformed(
            "no group `node` at the root (not a NIR file written by nir.write)",
        ));
    }
    let root = file
        .group("node")
        .map_err(|e| Error::malformed(format!("`node`: {e}")))?;
    let mut problems = Vec::new();
    let mut graph = read_graph(&root, "", 0, &mut problems);
    graph.version = version;
    if problems.is_empty() {
        Ok(graph)
    } else {
        Err(Error::new(ErrorKind::Malformed(problems)))
    }
}

/// Read a `NIRGraph` group (`nodes` and `edges`); `prefix` names it in messages.
fn read_graph(g: &hdf5::Group, prefix: &str, depth: usize, problems: &mut Vec<String>) -> NirGraph {
    let mut graph = NirGraph::default();
    let at = |s: &str| {
        if prefix.is_empty() {
            s.to_string()
        } else {
            format!("{prefix}.{s}")
        }
    };
    if depth > MAX_DEPTH {
        problems.push(format!(
            "graph `{prefix}`: nested more than {MAX_DEPTH} levels deep"
        ));
        return graph;
    }
    match g.group("nodes") {
        Err(_) => problems.push(format!("graph `{}`: no group `nodes`", at("node"))),
        Ok(nodes) => match nodes.member_names() {
            Err(e) => problems.push(format!("graph `{prefix}`: cannot list nodes: {e}")),
            Ok(names) => {
                for name in names {
                    match nodes.group(&name) {
                        Ok(ng) => {
                            let full = at(&name);
                            match read_node(&ng, &full, depth, problems) {
                                Ok(n) => {
                                    graph.nodes.insert(name, n);
                                }
                                Err(m) => problems.push(format!("node `{full}`: {m}")),
                            }
                        }
                        Err(_) => problems.push(format!("node `{}`: not a group", at(&name))),
                    }
                }
            }
        },
    }
    match read_edges(g) {
        Ok(e) => graph.edges = e,
        Err(m) => problems.push(format!("graph `{}`: edges: {m}", at("node"))),
    }
    graph
}

fn read_edges(g: &hdf5::Group) -> Result<Vec<(String, String)>, String> {
    if !g.link_exists("edges") {
        return Ok(Vec::new());
    }
    if let Ok(eg) = g.group("edges") {
        // Older layout: two parallel string arrays.
        let src = strings(&eg.dataset("src").map_err(|e| e.to_string())?)?;
        let dst = strings(&eg.dataset("dst").map_err(|e| e.to_string())?)?;
        if src.len() != dst.len() {
            return Err(format!(
                "{} sources but {} destinations",
                src.len(),
                dst.len()
            ));
        }
        return Ok(src.into_iter().zip(dst).collect());
    }
    let ds = g.dataset("edges").map_err(|e| e.to_string())?;
    if ds.size() == 0 {
        return Ok(Vec::new());
    }
    let shape = ds.shape();
    if shape.len() != 2 || shape[1] != 2 {
        return Err(format!(
            "expected an (n, 2) array of names, found shape {shape:?}"
        ));
    }
    let flat = strings(&ds)?;
    Ok(flat
        .chunks_exact(2)
        .map(|c| (c[0].clone(), c[1].clone()))
        .collect())
}

/// All strings of a string dataset (variable-length UTF-8 or ASCII).
fn strings(ds: &hdf5::Dataset) -> Result<Vec<String>, String> {
    let desc = ds
        .dtype()
        .and_then(|t| t.to_descriptor())
        .map_err(|e| e.to_string())?;
    match desc {
        TypeDescriptor::VarLenUnicode => Ok(ds
            .read_raw::<VarLenUnicode>()
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|s| s.as_str().to_string())
            .collect()),
        TypeDescriptor::VarLenAscii => Ok(ds
            .read_raw::<VarLenAscii>()
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|s| s.as_str().to_string())
            .collect()),
        d => Err(format!("expected strings, found {d}")),
    }
}

fn read_string(ds: &hdf5::Dataset) -> Result<String, String> {
    let s = strings(ds)?;
    if s.len() == 1 {
        Ok(s.into_iter().next().unwrap_or_default())
    } else {
        Err(format!("expected one string, found {}", s.len()))
    }
}

/// A numeric dataset as a tensor; strings and compound types are an error.
fn read_tensor(ds: &hdf5::Dataset) -> Result<Tensor, String> {
    let desc = ds
        .dtype()
        .and_then(|t| t.to_descriptor())
        .map_err(|e| e.to_string())?;
    let data: Vec<f64> = match desc {
        TypeDescriptor::Float(_) => ds.read_raw::<f64>().map_err(|e| e.to_string())?,
        TypeDescriptor::Integer(_) => ds
            .read_raw::<i64>()
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|x| x as f64)
            .collect(),
        TypeDescriptor::Unsigned(_) => ds
            .read_raw::<u64>()
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|x| x as f64)
            .collect(),
        TypeDescriptor::Boolean => ds
            .read_raw::<bool>()
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|x| f64::from(u8::from(x)))
            .collect(),
        d => return Err(format!("expected numbers, found {d}")),
    };
    let shape = ds.shape();
    if shape.iter().product::<usize>() != data.len() {
        return Err("size does not match shape".into());
    }
    Ok(Tensor::new(shape, data))
}

/// A node's datasets, read lazily by name with messages that name the dataset.
struct Params<'a> {
    g: &'a hdf5::Group,
}

impl Params<'_> {
    fn has(&self, name: &str) -> bool {
        self.g.link_exists(name)
    }

    fn tensor(&self, name: &str) -> Result<Tensor, String> {
        if !self.has(name) {
            return Err(format!("missing parameter `{name}`"));
        }
        let ds = self
            .g
            .dataset(name)
            .map_err(|_| format!("parameter `{name}` is not a dataset"))?;
        read_tensor(&ds).map_err(|m| format!("parameter `{name}`: {m}"))
    }

    /// An optional tensor; `None` when absent.
    fn opt(&self, name: &str) -> Result<Option<Tensor>, String> {
        if self.has(name) {
            self.tensor(name).map(Some)
        } else {
            Ok(None)
        }
    }

    fn usizes(&self, name: &str) -> Result<Vec<usize>, String> {
        self.tensor(name)?
            .as_usizes()
            .ok_or_else(|| format!("parameter `{name}`: expected non-negative whole numbers"))
    }

    fn int(&self, name: &str, default: i64) -> Result<i64, String> {
        match self.opt(name)? {
            None => Ok(default),
            Some(t) if t.len() == 1 && t.data[0].fract() == 0.0 && t.data[0].abs() < 1e9 => {
                Ok(t.data[0] as i64)
            }
            Some(_) => Err(format!("parameter `{name}`: expected one whole number")),
        }
    }

    fn string(&self, name: &str) -> Option<String> {
        self.g.dataset(name).ok().and_then(|d| read_string(&d).ok())
    }

    /// `v_reset` defaults to zeros shaped like `like` (files written before NIR 1.0).
    fn reset(&self, like: &Tensor) -> Result<Tensor, String> {
        Ok(self
            .opt("v_reset")?
            .unwrap_or_else(|| Tensor::new(like.shape.clone(), vec![0.0; like.len()])))
    }
}

fn read_node(
    g: &hdf5::Group,
    full: &str,
    depth: usize,
    problems: &mut Vec<String>,
) -> Result<NirNode, String> {
    let p = Params { g };
    let ty = if p.has("type") {
        p.string("type").ok_or("dataset `type` is not a string")?
    } else {
        return Err("no dataset `type`".into());
    };
    let t = |n: &str| p.tensor(n);
    Ok(match ty.as_str() {
        "Input" => NirNode::Input {
            shape: p.usizes("shape")?,
        },
        "Output" => NirNode::Output {
            shape: p.usizes("shape")?,
        },
        "Affine" => NirNode::Affine {
            weight: t("weight")?,
            bias: t("bias")?,
        },
        "Linear" => NirNode::Linear {
            weight: t("weight")?,
        },
        "Scale" => NirNode::Scale { scale: t("scale")? },
        "Conv1d" | "Conv2d" => {
            let conv = read_conv(&p)?;
            if ty == "Conv1d" {
                NirNode::Conv1d(conv)
            } else {
                NirNode::Conv2d(conv)
            }
        }
        "SumPool2d" | "AvgPool2d" => {
            let pool = Pool {
                kernel: pair(p.usizes("kernel_size")?),
                stride: pair(p.usizes("stride")?),
                padding: pair(p.usizes("padding")?),
            };
            if ty == "SumPool2d" {
                NirNode::SumPool2d(pool)
            } else {
                NirNode::AvgPool2d(pool)
            }
        }
        "Flatten" => NirNode::Flatten {
            start_dim: p.int("start_dim", 1)?,
            end_dim: p.int("end_dim", -1)?,
            input_shape: if p.has("input_type") {
                Some(p.usizes("input_type")?)
            } else {
                None
            },
        },
        "Delay" => NirNode::Delay { delay: t("delay")? },
        "Threshold" => NirNode::Threshold {
            threshold: t("threshold")?,
        },
        "I" => NirNode::I { r: t("r")? },
        "IF" => {
            let v_threshold = t("v_threshold")?;
            NirNode::If {
                r: t("r")?,
                v_reset: p.reset(&v_threshold)?,
                v_threshold,
            }
        }
        "LI" => NirNode::Li {
            tau: t("tau")?,
            r: t("r")?,
            v_leak: t("v_leak")?,
        },
        "LIF" => {
            let v_threshold = t("v_threshold")?;
            NirNode::Lif {
                tau: t("tau")?,
                r: t("r")?,
                v_leak: t("v_leak")?,
                v_reset: p.reset(&v_threshold)?,
                v_threshold,
            }
        }
        "CubaLI" => NirNode::CubaLi {
            tau_syn: t("tau_syn")?,
            tau_mem: t("tau_mem")?,
            r: t("r")?,
            v_leak: t("v_leak")?,
            w_in: t("w_in")?,
        },
        "CubaLIF" => {
            let v_threshold = t("v_threshold")?;
            NirNode::CubaLif {
                tau_syn: t("tau_syn")?,
                tau_mem: t("tau_mem")?,
                r: t("r")?,
                v_leak: t("v_leak")?,
                v_reset: p.reset(&v_threshold)?,
                v_threshold,
                w_in: t("w_in")?,
            }
        }
        "NIRGraph" => NirNode::Graph(read_graph(g, full, depth + 1, problems)),
        other => NirNode::Unsupported {
            type_name: other.to_string(),
        },
    })
}

/// A scalar kernel/stride/padding given once means the same for both dimensions.
fn pair(v: Vec<usize>) -> Vec<usize> {
    if v.len() == 1 {
        vec![v[0], v[0]]
    } else {
        v
    }
}

fn read_conv(p: &Params) -> Result<Conv, String> {
    let weight = p.tensor("weight")?;
    let dims = weight.shape.len().saturating_sub(2).max(1);
    let spread = |v: Vec<usize>| {
        if v.len() == 1 {
            vec![v[0]; dims]
        } else {
            v
        }
    };
    let padding = match p.string("padding") {
        Some(s) if s == "same" => Padding::Same,
        Some(s) if s == "valid" => Padding::Valid,
        Some(s) => return Err(format!("parameter `padding`: unknown padding `{s}`")),
        None => Padding::Explicit(spread(p.usizes("padding")?)),
    };
    let input_shape = match p.opt("input_shape")? {
        None => None,
        Some(t) if t.is_empty() => None,
        Some(t) => Some(
            t.as_usizes()
                .ok_or("parameter `input_shape`: expected whole numbers")?,
        ),
    };
    let groups = p.int("groups", 1)?;
    let bias = p.tensor("bias")?;
    Ok(Conv {
        input_shape,
        weight,
        stride: spread(p.usizes("stride")?),
        padding,
        dilation: spread(p.usizes("dilation")?),
        groups: usize::try_from(groups).map_err(|_| "parameter `groups`: negative")?,
        bias,
    })
}
