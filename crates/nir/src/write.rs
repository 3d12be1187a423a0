//! Writing a [`NirGraph`] as a NIR file, in the layout the `nir` Python package writes
//! and reads (`nir.write` / `nir.read`, version 1.x), with the pure-Rust `hdf5-pure`
//! crate: `/version`, `/node/type = "NIRGraph"`, `/node/nodes/<name>/…`, `/node/edges` as
//! an `(n, 2)` array of variable-length strings; every string a scalar variable-length
//! UTF-8 dataset, every array a gzip-compressed `f64` dataset (`i64` for shapes and whole
//! numbers), amine's node metadata under `<node>/metadata`. The file is written
//! atomically (a temporary beside it, then a rename).

use crate::error::{Error, ErrorKind};
use crate::graph::{AmineMeta, Conv, NirGraph, NirNode, Padding, Pool, Tensor};
use amine_chip::image::Sign;
use hdf5_pure::{FileBuilder, GroupBuilder};
use std::path::Path;

/// The `nir` package version whose layout this writes (stored as `/version`).
pub const NIR_VERSION: &str = "1.0.8";

/// A node parameter as stored.
enum Value<'a> {
    Floats(&'a Tensor),
    Ints(Vec<i64>),
    Str(&'a str),
}

/// Write `graph` to `path` atomically.
pub fn write(graph: &NirGraph, path: &Path) -> Result<(), Error> {
    let bytes = to_bytes(graph)?;
    amine_chip::error::write_atomically(path, &bytes).map_err(|e| {
        // The chip error already names the path: keep its message only.
        let message = match e.kind() {
            amine_chip::ErrorKind::Io { message, .. } => message.clone(),
            _ => e.to_string(),
        };
        Error::new(ErrorKind::Write {
            path: path.display().to_string(),
            message,
        })
    })
}

/// The NIR file of `graph`, in memory.
pub fn to_bytes(graph: &NirGraph) -> Result<Vec<u8>, Error> {
    let mut b = FileBuilder::new();
    b.create_dataset("version")
        .with_vlen_strings(&[NIR_VERSION])
        .with_shape(&[]);
    let mut node = b.create_group("node");
    graph_into(&mut node, graph)?;
    b.add_group(node.finish());
    b.finish().map_err(|e| {
        Error::new(ErrorKind::Argument(format!(
            "cannot encode the NIR graph as HDF5: {e}"
        )))
    })
}

fn bad(m: String) -> Error {
    Error::new(ErrorKind::Argument(m))
}

/// `type`, `nodes/…` and `edges` of a graph into `g`.
fn graph_into(g: &mut GroupBuilder, graph: &NirGraph) -> Result<(), Error> {
    put(g, "type", Value::Str("NIRGraph"));
    let mut nodes = g.create_group("nodes");
    for (name, node) in &graph.nodes {
        if name.is_empty() || name.contains('/') || name.contains('.') {
            return Err(bad(format!(
                "node `{name}`: a NIR node name must be non-empty and contain no `/` or `.`"
            )));
        }
        let mut ng = nodes.create_group(name);
        if let NirNode::Graph(sub) = node {
            graph_into(&mut ng, sub)?;
        } else {
            put(&mut ng, "type", Value::Str(node.type_name()));
            for (k, v) in params(node).map_err(|m| bad(format!("node `{name}`: {m}")))? {
                put(&mut ng, k, v);
            }
        }
        if let Some(m) = graph.meta.get(name).filter(|m| !m.is_empty()) {
            let mut mg = ng.create_group("metadata");
            meta_into(&mut mg, m);
            ng.add_group(mg.finish());
        }
        nodes.add_group(ng.finish());
    }
    g.add_group(nodes.finish());
    let flat: Vec<&str> = graph
        .edges
        .iter()
        .flat_map(|(a, b)| [a.as_str(), b.as_str()])
        .collect();
    g.create_dataset("edges")
        .with_vlen_strings(&flat)
        .with_shape(&[graph.edges.len() as u64, 2]);
    Ok(())
}

fn meta_into(g: &mut GroupBuilder, m: &AmineMeta) {
    if let Some(o) = m.order {
        g.create_dataset("amine_order")
            .with_i64_data(&[o])
            .with_shape(&[]);
    }
    if let Some(s) = m.sign {
        let s = match s {
            Sign::Excitatory => "Excitatory",
            Sign::Inhibitory => "Inhibitory",
            Sign::Mixed => "Mixed",
        };
        put(g, "amine_sign", Value::Str(s));
    }
    if let Some(n) = &m.name {
        put(g, "amine_name", Value::Str(n));
    }
}

fn put(g: &mut GroupBuilder, name: &str, v: Value) {
    match v {
        Value::Str(s) => {
            g.create_dataset(name)
                .with_vlen_strings(&[s])
                .with_shape(&[]);
        }
        Value::Ints(x) => {
            let n = x.len() as u64;
            g.create_dataset(name).with_i64_data(&x).with_shape(&[n]);
        }
        Value::Floats(t) => {
            let shape: Vec<u64> = t.shape.iter().map(|&d| d as u64).collect();
            let ds = g.create_dataset(name);
            ds.with_f64_data(&t.data).with_shape(&shape);
            // Chunked and compressed like nir.write (whole array one chunk); scalars and
            // empty arrays stay contiguous.
            if !shape.is_empty() && !t.data.is_empty() {
                ds.with_chunks(&shape).with_deflate(4);
            }
        }
    }
}

fn ints(v: &[usize]) -> Value<'static> {
    Value::Ints(v.iter().map(|&x| x as i64).collect())
}

/// The stored parameters of a (non-graph) node, in the `nir` package's names.
fn params(node: &NirNode) -> Result<Vec<(&'static str, Value<'_>)>, String> {
    use Value::Floats as F;
    Ok(match node {
        NirNode::Input { shape } | NirNode::Output { shape } => vec![("shape", ints(shape))],
        NirNode::Affine { weight, bias } => vec![("weight", F(weight)), ("bias", F(bias))],
        NirNode::Linear { weight } => vec![("weight", F(weight))],
        NirNode::Scale { scale } => vec![("scale", F(scale))],
        NirNode::Conv1d(c) | NirNode::Conv2d(c) => conv(c),
        NirNode::SumPool2d(p) | NirNode::AvgPool2d(p) => pool(p),
        NirNode::Flatten {
            start_dim,
            end_dim,
            input_shape,
        } => {
            let mut v = vec![
                ("start_dim", Value::Ints(vec![*start_dim])),
                ("end_dim", Value::Ints(vec![*end_dim])),
            ];
            if let Some(s) = input_shape {
                v.push(("input_type", ints(s)));
            }
            v
        }
        NirNode::Delay { delay } => vec![("delay", F(delay))],
        NirNode::Graph(_) => vec![],
        NirNode::Unsupported { type_name } => {
            return Err(format!("node type `{type_name}` cannot be written"))
        }
        n => n
            .neuron_params()
            .into_iter()
            .map(|(k, t)| (k, F(t)))
            .collect(),
    })
}

fn conv(c: &Conv) -> Vec<(&'static str, Value<'_>)> {
    let mut v = vec![
        ("weight", Value::Floats(&c.weight)),
        ("bias", Value::Floats(&c.bias)),
        ("stride", ints(&c.stride)),
        ("dilation", ints(&c.dilation)),
        ("groups", Value::Ints(vec![c.groups as i64])),
    ];
    v.push(match &c.padding {
        Padding::Explicit(p) => ("padding", ints(p)),
        Padding::Same => ("padding", Value::Str("same")),
        Padding::Valid => ("padding", Value::Str("valid")),
    });
    if let Some(s) = &c.input_shape {
        v.push(("input_shape", ints(s)));
    }
    v
}

fn pool(p: &Pool) -> Vec<(&'static str, Value<'_>)> {
    vec![
        ("kernel_size", ints(&p.kernel)),
        ("stride", ints(&p.stride)),
        ("padding", ints(&p.padding)),
    ]
}
