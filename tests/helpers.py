"""Small builders shared by the tests."""
import numpy as np


def write_csv(path, header, rows):
    lines = [",".join(header)] + [",".join(str(x) for x in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def edges_of(graph):
    """{(src_id, dst_id): weight} of a Graph, by original item ids."""
    out = {}
    ids = graph.node_ids
    for v in range(graph.num_nodes):
        for e in range(graph.indptr[v], graph.indptr[v + 1]):
            out[(ids[v], ids[graph.indices[e]])] = float(graph.weights[e])
    return out


def random_graph(n, m, seed, weighted=True, directed=False):
    """A small random graph as CSR arrays (sorted rows, no duplicate edges, no self-loops)."""
    from graphemb.graph import csr_from_edges

    rng = np.random.default_rng(seed)
    src = rng.integers(0, n, m)
    dst = rng.integers(0, n, m)
    keep = src != dst
    src, dst = src[keep], dst[keep]
    w = rng.uniform(0.5, 3.0, len(src)) if weighted else np.ones(len(src))
    return csr_from_edges(src, dst, w, n, undirected=not directed)


def planted_edges(k, per, seed=7, inside=0.85):
    """Undirected edges (u < v, 0-based) of k categories of ``per`` nodes: 6 edges per node,
    a share ``inside`` of them within a category. Returns (sorted edges, category per node)."""
    rng = np.random.default_rng(seed)
    n = k * per
    cat = np.arange(n) // per
    edges = set()
    while len(edges) < 6 * n:
        u, v = rng.integers(0, n, 2)
        if u == v or (cat[u] != cat[v] and rng.random() < inside):
            continue
        edges.add((min(u, v), max(u, v)))
    return sorted(edges), cat
