"""LINE: first order puts linked nodes together, second order nodes with the same
neighbours; on a planted bipartite graph the two differ in a way that can be checked."""
import numpy as np
import pytest
import scipy.sparse as sp

from graphemb.evaluate import graph_from_adjacency
from graphemb.models.line import train_line


@pytest.fixture(scope="module")
def bipartite():
    """5 communities, each 40 nodes on side A linked (8 edges each) to 40 nodes on side B."""
    rng = np.random.default_rng(0)
    k, per = 5, 40
    n_a = k * per
    community = np.r_[np.arange(n_a) % k, np.arange(n_a) % k]
    side = np.r_[np.zeros(n_a, int), np.ones(n_a, int)]
    rows, cols = [], []
    for a in range(n_a):
        partners = n_a + np.flatnonzero(community[n_a:] == community[a])
        rows += [a] * 8
        cols += list(rng.choice(partners, 8, replace=False))
    adj = sp.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(2 * n_a, 2 * n_a)).tocsr()
    graph, _ = graph_from_adjacency(adj + adj.T)
    ids = np.asarray(graph.node_ids, dtype=np.int64)
    return graph, side[ids], community[ids]


def _top10(U):
    U = U / np.linalg.norm(U, axis=1, keepdims=True)
    S = U @ U.T
    np.fill_diagonal(S, -np.inf)
    return np.argsort(-S, axis=1)[:, :10]


@pytest.mark.parametrize("order", [1, 2])
def test_line_neighbours_of_a_planted_bipartite_graph(bipartite, order):
    graph, side, community = bipartite
    out = train_line(graph.indptr, graph.indices, graph.weights, order=order, dim=32,
                     samples=400_000, seed=0)
    top = _top10(out["U"])
    assert out["has_vector"].all()
    # Both orders find the community (chance: 1/5).
    assert (community[top] == community[:, None]).mean() > 0.95
    same_side = (side[top] == side[:, None]).mean()
    if order == 2:
        # Same neighbours = same side: every A node's 8 partners are B nodes.
        assert same_side > 0.95, same_side
    else:
        # Linked = other side: a node's partners, 8 of the 39 others of its community across.
        assert same_side < 0.8, same_side


def test_line_first_order_objective_decreases_and_one_thread_repeats(bipartite):
    import numba

    graph, _, _ = bipartite
    kw = dict(order=1, dim=16, samples=300_000, seed=3, block_chunks=8)
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        a = train_line(graph.indptr, graph.indices, graph.weights, **kw)
        b = train_line(graph.indptr, graph.indices, graph.weights, **kw)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(a["U"], b["U"])
    loss = np.array(a["loss_per_block"])
    # Each block averages 8 x 4096 samples (sd of a block's mean ~0.01): the first is near
    # 6 log 2 = 4.16 (untrained: every dot product ~0), and it falls block after block.
    assert loss[0] > 4.0 and loss[-1] < loss[0] - 0.2, loss
    assert np.all(np.diff(loss[:5]) < 0), loss[:5]


def test_edges_are_drawn_in_proportion_to_their_weight():
    """The alias table over edges: 200k draws against weights 1, 2, 3, 4 (z < 4)."""
    from graphemb.models.line import edge_sampler
    from graphemb.models.sgns import _draw_alias
    from graphemb.rng import mix64

    indptr = np.array([0, 2, 4], np.int64)
    sampler = edge_sampler(indptr, np.array([1, 0, 0, 1], np.int32),
                           np.array([1, 2, 3, 4], np.float32))
    draws = np.array([_draw_alias(np.uint64(mix64(np.uint64(s))), 4, sampler.edge_prob,
                                  sampler.edge_alias) for s in range(200_000)])
    freq = np.bincount(draws, minlength=4) / len(draws)
    p = np.array([1, 2, 3, 4]) / 10
    z = (freq - p) / np.sqrt(p * (1 - p) / len(draws))
    assert np.all(np.abs(z) < 4), z
    np.testing.assert_array_equal(sampler.src, [0, 0, 1, 1])
