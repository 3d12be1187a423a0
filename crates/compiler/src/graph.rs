//! The population graph: which populations feed which, its strongly connected
//! components, and the order that packs every population's targets before it.

use crate::context::Compilation;

/// Populations grouped into strongly connected components, listed so that every
/// component comes after all the components it feeds (targets first). Ties go to the
/// component whose first member comes first in the program, so program order is kept
/// wherever no projection asks otherwise; a chain is packed from its end. Members of a
/// component are in program order.
pub fn targets_first(c: &Compilation) -> Vec<Vec<usize>> {
    let n = c.program.populations.len();
    let mut succ = vec![Vec::new(); n];
    for pr in &c.program.projections {
        if let (Some(a), Some(b)) = (c.node(&pr.from), c.node(&pr.to)) {
            if a < n && b < n && a != b {
                succ[a].push(b);
            }
        }
    }
    for s in &mut succ {
        s.sort_unstable();
        s.dedup();
    }
    let comp = scc(&succ);
    let k = comp.iter().copied().max().map_or(0, |m| m + 1);
    let mut members = vec![Vec::new(); k];
    for (v, &cv) in comp.iter().enumerate() {
        members[cv].push(v);
    }
    // Components each component feeds (outside itself), and how many are unplaced.
    let mut feeds = vec![Vec::new(); k];
    for (a, s) in succ.iter().enumerate() {
        for &b in s {
            if comp[a] != comp[b] {
                feeds[comp[a]].push(comp[b]);
            }
        }
    }
    let mut pending: Vec<usize> = feeds
        .iter_mut()
        .map(|f| {
            f.sort_unstable();
            f.dedup();
            f.len()
        })
        .collect();
    let mut fed_by = vec![Vec::new(); k];
    for (a, f) in feeds.iter().enumerate() {
        for &b in f {
            fed_by[b].push(a);
        }
    }
    let mut done = vec![false; k];
    let mut out = Vec::with_capacity(k);
    for _ in 0..k {
        // Ready: every component it feeds is placed. Take the first in the program.
        let Some(next) = (0..k)
            .filter(|&x| !done[x] && pending[x] == 0)
            .min_by_key(|&x| members[x][0])
        else {
            break;
        };
        done[next] = true;
        for &a in &fed_by[next] {
            pending[a] -= 1;
        }
        out.push(members[next].clone());
    }
    out
}

/// Component number of every vertex (Tarjan's algorithm, iterative).
fn scc(succ: &[Vec<usize>]) -> Vec<usize> {
    let n = succ.len();
    const NONE: usize = usize::MAX;
    let (mut index, mut low, mut comp) = (vec![NONE; n], vec![0; n], vec![NONE; n]);
    let (mut on_stack, mut stack) = (vec![false; n], Vec::new());
    let (mut next_index, mut next_comp) = (0, 0);
    for root in 0..n {
        if index[root] != NONE {
            continue;
        }
        // (vertex, next successor to visit)
        let mut call = vec![(root, 0usize)];
        index[root] = next_index;
        low[root] = next_index;
        next_index += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (v, ref mut i)) = call.last_mut() {
            if let Some(&w) = succ[v].get(*i) {
                *i += 1;
                if index[w] == NONE {
                    index[w] = next_index;
                    low[w] = next_index;
                    next_index += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    call.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            call.pop();
            if let Some(&(u, _)) = call.last() {
                low[u] = low[u].min(low[v]);
            }
            if low[v] == index[v] {
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    comp[w] = next_comp;
                    if w == v {
                        break;
                    }
                }
                next_comp += 1;
            }
        }
    }
    comp
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;

    fn order(pops: &[&str], edges: &[(&str, &str)]) -> Vec<Vec<usize>> {
        let pops: Vec<String> = pops.iter().map(|p| pop(p, 4, "Mixed")).collect();
        let projs: Vec<String> = edges
            .iter()
            .map(|(a, b)| {
                format!(r#"(from: "{a}", to: "{b}", connect: All, weight: Some(Const(1.0)))"#)
            })
            .collect();
        let text = program(&pops, "", &projs.join(", "));
        let out = compile_text(&text, &chip(|c| c.mesh.tiles_x = 8)).unwrap();
        targets_first(&out.compilation)
    }

    #[test]
    fn a_chain_is_packed_from_its_end() {
        let o = order(&["a", "b", "c"], &[("a", "b"), ("b", "c")]);
        assert_eq!(o, vec![vec![2], vec![1], vec![0]]);
    }

    #[test]
    fn recurrent_groups_stay_together_in_program_order() {
        // b <-> c form one component fed by a and feeding d.
        let o = order(
            &["a", "b", "c", "d"],
            &[("a", "b"), ("b", "c"), ("c", "b"), ("c", "d"), ("b", "b")],
        );
        assert_eq!(o, vec![vec![3], vec![1, 2], vec![0]]);
    }

    #[test]
    fn unrelated_populations_keep_program_order() {
        let o = order(&["a", "b", "c"], &[]);
        assert_eq!(o, vec![vec![0], vec![1], vec![2]]);
        // A branch: both targets (program order) before their source.
        let o = order(&["a", "b", "c"], &[("a", "c"), ("a", "b")]);
        assert_eq!(o, vec![vec![1], vec![2], vec![0]]);
    }
}
