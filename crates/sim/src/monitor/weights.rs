//! Which synapses the weight snapshots hold: every plastic row of the image, grouped by
//! the learning projection it belongs to, each synapse named by its source and target
//! neuron (found through the fan-out tables).

use super::WeightSnapshots;
use crate::engine::Simulator;
use crate::state::SimState;
use amine_chip::image::ChipImage;
use std::collections::HashMap;

/// One learning projection's rows.
#[derive(Debug, Clone)]
struct Projection {
    name: String,
    /// `(core index, plastic row index)`, in image order.
    rows: Vec<(usize, usize)>,
    pre: Vec<(String, u32)>,
    post: Vec<(String, u32)>,
}

#[derive(Debug, Clone, Default)]
pub(super) struct WeightIndex {
    projections: Vec<Projection>,
}

impl WeightIndex {
    pub fn new(sim: &Simulator, image: &ChipImage) -> WeightIndex {
        let t = sim.tables();
        let name = |(pop, n): (u32, u32), comp: u32| -> (String, u32) {
            match t.population_names.get(pop as usize) {
                Some(p) => (p.clone(), n),
                None => ("(compartment)".into(), comp),
            }
        };
        // The source of every (core index, input axon) the fan-out tables reach.
        let mut source: HashMap<(u32, u32), (String, u32)> = HashMap::new();
        for core in &t.cores {
            for comp in 0..core.n {
                let (a, b) = (core.fan_off[comp] as usize, core.fan_off[comp + 1] as usize);
                for d in &core.fan[a..b] {
                    source.insert((d.core, d.axon), name(core.neuron_of[comp], comp as u32));
                }
            }
        }
        for port in &t.ports {
            for i in 0..port.size as usize {
                let (a, b) = (port.fan_off[i] as usize, port.fan_off[i + 1] as usize);
                for d in &port.fan[a..b] {
                    source.insert((d.core, d.axon), (port.name.clone(), i as u32));
                }
            }
        }
        let mut projections: Vec<Projection> = image
            .learning
            .iter()
            .map(|s| Projection {
                name: s.projection.clone(),
                rows: Vec::new(),
                pre: Vec::new(),
                post: Vec::new(),
            })
            .collect();
        for (k, core) in t.cores.iter().enumerate() {
            for (ri, row) in core.learn.rows.iter().enumerate() {
                let slot = core.learn.slots[row.local_slot].slot;
                let Some(p) = projections.get_mut(slot) else {
                    continue;
                };
                let pre = source
                    .get(&(k as u32, row.row))
                    .cloned()
                    .unwrap_or_else(|| ("(unconnected axon)".into(), row.row));
                p.rows.push((k, ri));
                for &target in &row.targets {
                    p.pre.push(pre.clone());
                    p.post.push(name(core.neuron_of[target as usize], target));
                }
            }
        }
        projections.retain(|p| !p.rows.is_empty());
        WeightIndex { projections }
    }

    /// Synapses in all snapshotted projections.
    pub fn synapses(&self) -> usize {
        self.projections.iter().map(|p| p.pre.len()).sum()
    }

    /// Append the weights in `state` (after `step` steps) to `out` (one entry per
    /// projection, created on the first call).
    pub fn snapshot(
        &self,
        _sim: &Simulator,
        state: &SimState,
        step: u32,
        out: &mut Vec<WeightSnapshots>,
    ) {
        if out.is_empty() {
            out.extend(self.projections.iter().map(|p| WeightSnapshots {
                projection: p.name.clone(),
                pre: p.pre.clone(),
                post: p.post.clone(),
                steps: Vec::new(),
                values: Vec::new(),
            }));
        }
        for (p, snap) in self.projections.iter().zip(out.iter_mut()) {
            snap.steps.push(step);
            for &(k, ri) in &p.rows {
                snap.values
                    .extend_from_slice(&state.cores[k].plastic[ri].weights);
            }
        }
    }
}
