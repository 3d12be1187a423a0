//! Reading a NIR file (HDF5) into a [`NirGraph`] — the NIR layout on top of the bounded
//! HDF5 access of [`crate::h5file`] (the pure-Rust `hdf5-pure` crate; no C library).
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
//! A nested graph is a node of type `NIRGraph` with the same `nodes`/`edges` layout, up
//! to [`MAX_DEPTH`] levels. Every failure (not HDF5, truncated, wrong types, sizes the file
//! cannot hold, hard-link cycles) becomes an [`Error`] naming the file; a missing
//! parameter is a `Malformed` problem naming the node and the dataset. Numbers are read
//! as `f64` whatever their stored type, so integer weights stay exact.

use crate::error::{Error, ErrorKind};
use crate::graph::{AmineMeta, Conv, NirGraph, NirNode, Padding, Pool, Tensor};
use crate::h5file::{H5File, Members};
use amine_chip::image::Sign;
use hdf5_pure::Group;
use std::cell::Cell;
use std::path::Path;

/// Nested graphs deeper than this are refused (HDF5 hard links can form cycles).
pub const MAX_DEPTH: usize = 16;

/// A node group takes at least this many bytes of file (object header and link): a walk
/// that visits more groups than the file could hold goes round shared or cyclic links.
const MIN_GROUP_BYTES: u64 = 32;

/// Read the NIR file at `path`. Nested graphs are kept; call [`NirGraph::flatten`].
pub fn read(path: &Path) -> Result<NirGraph, Error> {
    let file = H5File::open(path).map_err(|message| {
        Error::new(ErrorKind::Io {
            path: path.display().to_string(),
            message,
        })
    })?;
    read_file(&file, &path.display().to_string())
}

/// Read a NIR file held in memory; `name` names it in messages.
pub fn read_bytes(bytes: Vec<u8>, name: &str) -> Result<NirGraph, Error> {
    let file = H5File::from_bytes(bytes).map_err(|message| {
        Error::new(ErrorKind::Io {
            path: name.to_string(),
            message,
        })
    })?;
    read_file(&file, name)
}

fn read_file(file: &H5File, name: &str) -> Result<NirGraph, Error> {
    let malformed = |problems: Vec<String>| {
        Error::new(ErrorKind::Malformed {
            file: name.to_string(),
            problems,
        })
    };
    let root = file.root();
    let top = Members::of(&root).map_err(|m| malformed(vec![format!("root group: {m}")]))?;
    let version = if top.has_dataset("version") {
        root.dataset("version")
            .ok()
            .and_then(|d| file.strings(&d).ok())
            .and_then(|s| s.into_iter().next())
            .unwrap_or_default()
    } else {
        String::new()
    };
    if !top.has_group("node") {
        return Err(malformed(vec![
            "no group `node` at the root (not a NIR file written by nir.write)".into(),
        ]));
    }
    let node = root
        .group("node")
        .map_err(|e| malformed(vec![format!("`node`: {e}")]))?;
    let walk = Walk {
        file,
        groups_left: Cell::new(file.size() / MIN_GROUP_BYTES + 1),
        stopped: Cell::new(false),
    };
    let mut problems = Vec::new();
    let mut graph = walk.graph(&node, "", 0, &mut problems);
    graph.version = version;
    if problems.is_empty() {
        Ok(graph)
    } else {
        Err(malformed(problems))
    }
}

/// One walk over the graph groups of a file, bounded in depth and in groups visited.
struct Walk<'f> {
    file: &'f H5File,
    groups_left: Cell<u64>,
    /// Set once the walk hit a bound: every further graph is skipped (one message).
    stopped: Cell<bool>,
}

impl Walk<'_> {
    /// Count one more group visited; false when the file cannot hold that many.
    fn visit(&self) -> bool {
        let left = self.groups_left.get();
        self.groups_left.set(left.saturating_sub(1));
        left > 0
    }

    /// Read a `NIRGraph` group (`nodes` and `edges`); `prefix` names it in messages.
    fn graph(&self, g: &Group, prefix: &str, depth: usize, problems: &mut Vec<String>) -> NirGraph {
        let mut graph = NirGraph::default();
        let at = |s: &str| {
            if prefix.is_empty() {
                s.to_string()
            } else {
                format!("{prefix}.{s}")
            }
        };
        let here = if prefix.is_empty() { "node" } else { prefix };
        if self.stopped.get() {
            return graph;
        }
        if depth > MAX_DEPTH {
            self.stopped.set(true);
            problems.push(format!(
                "graph `{here}`: nested more than {MAX_DEPTH} levels deep (or its links form a cycle)"
            ));
            return graph;
        }
        let members = match Members::of(g) {
            Ok(m) => m,
            Err(e) => {
                problems.push(format!("graph `{here}`: cannot list its members: {e}"));
                return graph;
            }
        };
        if !members.has_group("nodes") {
            problems.push(format!("graph `{here}`: no group `nodes`"));
        } else {
            match g.group("nodes").map_err(|e| e.to_string()).and_then(|n| {
                let m = Members::of(&n)?;
                Ok((n, m))
            }) {
                Err(e) => problems.push(format!("graph `{here}`: cannot list nodes: {e}")),
                Ok((nodes, m)) => {
                    for name in m.groups {
                        if !self.visit() {
                            self.stopped.set(true);
                            problems.push(format!(
                                "graph `{here}`: more node groups than a file of {} bytes can hold (shared or cyclic links)",
                                self.file.size()
                            ));
                            return graph;
                        }
                        let full = at(&name);
                        let node = nodes
                            .group(&name)
                            .map_err(|e| e.to_string())
                            .and_then(|ng| {
                                let n = self.node(&ng, &full, depth, problems)?;
                                let has_meta = Members::of(&ng)?.has_group("metadata");
                                let meta = if has_meta {
                                    self.meta(&ng)?
                                } else {
                                    AmineMeta::default()
                                };
                                Ok((n, meta))
                            });
                        match node {
                            Ok((n, meta)) => {
                                graph.nodes.insert(name.clone(), n);
                                if !meta.is_empty() {
                                    graph.meta.insert(name, meta);
                                }
                            }
                            Err(m) => problems.push(format!("node `{full}`: {m}")),
                        }
                    }
                    for name in m.datasets {
                        problems.push(format!("node `{}`: not a group", at(&name)));
                    }
                }
            }
        }
        match self.edges(g, &members) {
            Ok(e) => graph.edges = e,
            Err(m) => problems.push(format!("graph `{here}`: edges: {m}")),
        }
        graph
    }

    fn edges(&self, g: &Group, members: &Members) -> Result<Vec<(String, String)>, String> {
        let f = self.file;
        if members.has_group("edges") {
            // Older layout: two parallel string arrays.
            let eg = g.group("edges").map_err(|e| e.to_string())?;
            let src = f.strings(&eg.dataset("src").map_err(|e| e.to_string())?)?;
            let dst = f.strings(&eg.dataset("dst").map_err(|e| e.to_string())?)?;
            if src.len() != dst.len() {
                return Err(format!(
                    "{} sources but {} destinations",
                    src.len(),
                    dst.len()
                ));
            }
            return Ok(src.into_iter().zip(dst).collect());
        }
        if !members.has_dataset("edges") {
            return Ok(Vec::new());
        }
        let ds = g.dataset("edges").map_err(|e| e.to_string())?;
        let shape = ds.shape().map_err(|e| e.to_string())?;
        if shape.contains(&0) {
            return Ok(Vec::new());
        }
        if shape.len() != 2 || shape[1] != 2 {
            return Err(format!(
                "expected an (n, 2) array of names, found shape {shape:?}"
            ));
        }
        let flat = f.strings(&ds)?;
        Ok(flat
            .chunks_exact(2)
            .map(|c| (c[0].clone(), c[1].clone()))
            .collect())
    }
}

/// A node's datasets, read lazily by name with messages that name the dataset.
struct Params<'a> {
    file: &'a H5File,
    g: &'a Group,
    members: Members,
}

impl Params<'_> {
    fn has(&self, name: &str) -> bool {
        self.members.has(name)
    }

    fn tensor(&self, name: &str) -> Result<Tensor, String> {
        if !self.has(name) {
            return Err(format!("missing parameter `{name}`"));
        }
        if !self.members.has_dataset(name) {
            return Err(format!("parameter `{name}` is not a dataset"));
        }
        let ds = self
            .g
            .dataset(name)
            .map_err(|e| format!("parameter `{name}`: {e}"))?;
        let (shape, data) = self
            .file
            .numbers(&ds)
            .map_err(|m| format!("parameter `{name}`: {m}"))?;
        Ok(Tensor::new(shape, data))
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

    /// A string dataset holding exactly one string; `None` when absent or not a string.
    fn string(&self, name: &str) -> Option<String> {
        self.one_string(name).ok()
    }

    /// A string dataset holding exactly one string, or why it is not one.
    fn one_string(&self, name: &str) -> Result<String, String> {
        if !self.members.has_dataset(name) {
            return Err(format!("no dataset `{name}`"));
        }
        let d = self
            .g
            .dataset(name)
            .map_err(|e| format!("dataset `{name}`: {e}"))?;
        let s = self
            .file
            .strings(&d)
            .map_err(|e| format!("dataset `{name}`: {e}"))?;
        match <[String; 1]>::try_from(s) {
            Ok([one]) => Ok(one),
            Err(s) => Err(format!(
                "dataset `{name}`: expected one string, found {}",
                s.len()
            )),
        }
    }

    /// `v_reset` defaults to zeros shaped like `like` (files written before NIR 1.0).
    fn reset(&self, like: &Tensor) -> Result<Tensor, String> {
        Ok(self
            .opt("v_reset")?
            .unwrap_or_else(|| Tensor::new(like.shape.clone(), vec![0.0; like.len()])))
    }
}

impl Walk<'_> {
    fn node(
        &self,
        g: &Group,
        full: &str,
        depth: usize,
        problems: &mut Vec<String>,
    ) -> Result<NirNode, String> {
        let p = Params {
            file: self.file,
            g,
            members: Members::of(g)?,
        };
        let ty = p.one_string("type")?;
        read_node(&p, &ty, || self.graph(g, full, depth + 1, problems))
    }

    /// amine's entries of a node's `metadata` group (absent or foreign entries: none).
    fn meta(&self, g: &Group) -> Result<AmineMeta, String> {
        let mg = g.group("metadata").map_err(|e| e.to_string())?;
        let p = Params {
            file: self.file,
            g: &mg,
            members: Members::of(&mg)?,
        };
        let sign = match p.string("amine_sign").as_deref() {
            None => None,
            Some("Excitatory") => Some(Sign::Excitatory),
            Some("Inhibitory") => Some(Sign::Inhibitory),
            Some("Mixed") => Some(Sign::Mixed),
            Some(s) => return Err(format!("metadata `amine_sign`: unknown sign `{s}`")),
        };
        let order = match p.opt("amine_order")? {
            None => None,
            Some(_) => Some(p.int("amine_order", 0)?),
        };
        Ok(AmineMeta {
            order,
            sign,
            name: p.string("amine_name"),
        })
    }
}

/// The node of type `ty` from its parameters; `nested` reads a nested graph.
fn read_node(p: &Params, ty: &str, nested: impl FnOnce() -> NirGraph) -> Result<NirNode, String> {
    let t = |n: &str| p.tensor(n);
    Ok(match ty {
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
            let conv = read_conv(p)?;
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
        "NIRGraph" => NirNode::Graph(nested()),
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
