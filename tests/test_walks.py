"""Walk kernels: validity, exact first- and second-order distributions, reproducibility.

Frequencies are compared with exact probabilities under a tolerance of Z standard errors of
a binomial proportion, sqrt(p (1 - p) / n). With fixed seeds the tests are deterministic;
Z = 5 keeps a correct sampler from failing by chance across the few hundred cells checked
(two-sided P(|z| > 5) ~ 6e-7 per cell) while a wrong one (e.g. a return probability off by a
few percent with n in the tens of thousands) is many standard errors away.
"""
import numpy as np
import pytest
from scipy import stats

from graphemb.graph import csr_from_edges
from graphemb.walks import RULES, WalkSampler, build_alias_tables, set_workers

from helpers import random_graph

Z = 5.0


def exact_next(indptr, indices, weights, t, v, p, q):
    """Exact node2vec distribution of the step after t -> v, as {x: probability}."""
    nbrs_t = set(indices[indptr[t]:indptr[t + 1]].tolist())
    mass = {}
    for e in range(indptr[v], indptr[v + 1]):
        x = int(indices[e])
        alpha = 1 / p if x == t else (1.0 if x in nbrs_t else 1 / q)
        mass[x] = mass.get(x, 0.0) + weights[e] * alpha
    total = sum(mass.values())
    return {x: m / total for x, m in mass.items()}


def triple_counts(walks):
    a, b, c = walks[:, :-2].ravel(), walks[:, 1:-1].ravel(), walks[:, 2:].ravel()
    ok = c >= 0
    return a[ok], b[ok], c[ok]


def assert_second_order(indptr, indices, weights, walks, p, q, min_visits=2000):
    t_, v_, x_ = triple_counts(walks)
    keys = (t_.astype(np.int64) << 32) | v_.astype(np.int64)
    uniq, inverse, visits = np.unique(keys, return_inverse=True, return_counts=True)
    checked = 0
    for k, (key, n) in enumerate(zip(uniq, visits)):
        if n < min_visits:
            continue
        t, v = int(key >> 32), int(key & 0xFFFFFFFF)
        expected = exact_next(indptr, indices, weights, t, v, p, q)
        seen = x_[inverse == k]
        for x, prob in expected.items():
            freq = np.count_nonzero(seen == x) / n
            tol = Z * np.sqrt(prob * (1 - prob) / n) + 1e-12
            assert abs(freq - prob) <= tol, (t, v, x, freq, prob, n)
        assert set(np.unique(seen).tolist()) <= set(expected)
        checked += 1
    assert checked >= 5, "too few (t, v) states were visited often enough to test"
    return checked


def walks_from(csr, starts, length, p, q, seed=7):
    sampler = WalkSampler(*csr)
    return sampler.walks(np.asarray(starts), 0, length, p, q, seed)


def test_alias_tables_reproduce_weights():
    weights = np.array([1, 2, 3, 4, 5, 0.5, 7], dtype=np.float32)
    indptr = np.array([0, 4, 4, 7])
    prob, alias = build_alias_tables(indptr, weights)
    for v in (0, 2):
        start, end = indptr[v], indptr[v + 1]
        deg = end - start
        implied = np.zeros(deg)
        for k in range(deg):
            implied[k] += prob[start + k] / deg
            implied[alias[start + k]] += (1 - prob[start + k]) / deg
        w = weights[start:end]
        np.testing.assert_allclose(implied, w / w.sum(), rtol=1e-6)


@pytest.mark.parametrize("p,q", [(1, 1), (0.5, 2), (2, 0.5)])
def test_every_step_is_an_edge(p, q):
    csr = random_graph(200, 1500, seed=1, directed=True)
    indptr, indices, _ = csr
    walks = walks_from(csr, np.flatnonzero(np.diff(indptr) > 0), 40, p, q)
    edges = set()
    for v in range(len(indptr) - 1):
        edges.update((v, int(x)) for x in indices[indptr[v]:indptr[v + 1]])
    a, b = walks[:, :-1].ravel(), walks[:, 1:].ravel()
    ok = b >= 0
    assert all((int(x), int(y)) in edges for x, y in zip(a[ok], b[ok]))
    # Padding only after a dead end: once -1, always -1, and the node before has no out-edge.
    pad = walks < 0
    assert np.all(pad[:, 1:] >= pad[:, :-1])
    first_pad = np.argmax(pad, axis=1)
    rows = np.flatnonzero(pad.any(axis=1))
    last = walks[rows, first_pad[rows] - 1]
    assert np.all(np.diff(indptr)[last] == 0)


def test_first_order_frequencies_match_weights():
    src = np.array([0, 0, 0, 0, 1, 2, 3, 4])
    dst = np.array([1, 2, 3, 4, 0, 0, 0, 0])
    w = np.array([1.0, 2.0, 3.0, 10.0, 1, 1, 1, 1])
    csr = csr_from_edges(src, dst, w, 5, undirected=False)
    walks = walks_from(csr, np.zeros(20000, dtype=np.int32), 21, 1, 1)
    # Every other step leaves node 0.
    a, b = walks[:, :-1].ravel(), walks[:, 1:].ravel()
    out = b[a == 0]
    n = len(out)
    for x, weight in zip([1, 2, 3, 4], [1, 2, 3, 10]):
        prob = weight / 16
        assert abs(np.count_nonzero(out == x) / n - prob) <= Z * np.sqrt(prob * (1 - prob) / n)


# Small weighted undirected graph with triangles (so 1/p, 1 and 1/q all occur).
def _triangles():
    src = np.array([0, 0, 0, 1, 1, 2, 3, 3, 4, 5, 2])
    dst = np.array([1, 2, 3, 2, 4, 3, 4, 5, 5, 0, 5])
    w = np.array([1.0, 2.0, 1.5, 1.0, 3.0, 0.5, 1.0, 2.0, 1.0, 1.0, 4.0])
    return csr_from_edges(src, dst, w, 6, undirected=True)


@pytest.mark.parametrize("p,q", [(0.5, 2.0), (2.0, 0.5), (0.25, 0.5), (3.0, 4.0), (0.1, 1.0),
                                 (1.0, 0.2)])
def test_node2vec_second_order_exact_weighted(p, q):
    csr = _triangles()
    walks = walks_from(csr, np.repeat(np.arange(6), 2000), 80, p, q)
    assert_second_order(*csr, walks, p, q)


@pytest.mark.parametrize("p,q", [(0.5, 2.0), (2.0, 0.5), (0.25, 0.5), (3.0, 4.0), (0.1, 2.0)])
def test_node2vec_second_order_exact_directed(p, q):
    # (0.1, 2): most steps jump back, often several in a row, each reading the reverse
    # edge's masses from the record it holds; reciprocal edges have different weights
    csr = random_graph(12, 60, seed=3, directed=True)
    indptr = csr[0]
    starts = np.repeat(np.flatnonzero(np.diff(indptr) > 0), 2000)
    walks = walks_from(csr, starts, 60, p, q)
    assert_second_order(*csr, walks, p, q, min_visits=3000)


@pytest.mark.parametrize("p,q", [(0.25, 4.0), (4.0, 0.25), (0.5, 0.25), (3.0, 4.0)])
def test_node2vec_second_order_exact_hub(p, q):
    # A hub joined to 300 leaves, some leaves linked in a ring: the hub's rows are long,
    # the return jump (1/p dominant) and the neighbour search in long rows are exercised.
    leaves = np.arange(1, 301)
    src = np.concatenate([np.zeros(300, dtype=int), leaves[:-1]])
    dst = np.concatenate([leaves, leaves[1:]])
    rng = np.random.default_rng(5)
    w = rng.uniform(0.5, 2.0, len(src))
    csr = csr_from_edges(src, dst, w, 301, undirected=True)
    walks = walks_from(csr, np.repeat(np.arange(1, 11), 3000), 50, p, q)
    checked = assert_second_order(*csr, walks, p, q, min_visits=2000)
    assert checked >= 10


@pytest.mark.parametrize("p,q", [(0.5, 2.0), (2.0, 0.5)])
def test_edge_filter_only_skips_searches(p, q):
    # The filter may only answer "not a neighbour" when that is true: walks drawn with it
    # must equal, step for step, walks drawn with a filter that always says "search".
    csr = random_graph(200, 3000, seed=2)
    starts = np.repeat(np.arange(200), 5)
    real = WalkSampler(*csr).walks(starts, 0, 30, p, q, seed=4)
    always_search = WalkSampler(*csr)
    always_search._edge_filter = (np.full(1, 0xFF, dtype=np.uint8), np.uint64(63))
    assert np.array_equal(real, always_search.walks(starts, 0, 30, p, q, seed=4))
    bits, _ = WalkSampler(*csr).edge_filter()
    assert len(bits) * 8 >= 8 * len(csr[1])        # at least 8 bits per edge


def brute_edge_records(indptr, indices, weights):
    """[w(v, t), S, F, position of t in v's row or -1] for every edge t -> v, by definition."""
    rows = []
    for t in range(len(indptr) - 1):
        nbrs_t = set(indices[indptr[t]:indptr[t + 1]].tolist())
        for v in indices[indptr[t]:indptr[t + 1]]:
            back, near, far, rev = 0.0, 0.0, 0.0, -1
            for e in range(indptr[v], indptr[v + 1]):
                x = int(indices[e])
                if x == t:
                    back, rev = weights[e], e
                elif x in nbrs_t:
                    near += weights[e]
                else:
                    far += weights[e]
            rows.append((back, near, far, rev))
    return np.array(rows)


@pytest.mark.parametrize("directed", [False, True])
def test_edge_records_match_their_definition(directed):
    # Rows of very different lengths, so both scan directions (shorter row in the longer)
    # are used; a self-loop, which is near from t (t -> v is an edge) but never "back".
    indptr, indices, weights = random_graph(60, 900, seed=8, directed=directed)
    src = np.concatenate([np.repeat(np.arange(60), np.diff(indptr)), np.zeros(40, int), [7]])
    dst = np.concatenate([indices, np.arange(20, 60), [7]])
    w = np.concatenate([weights, np.full(40, 1.5), [2.0]])
    csr = csr_from_edges(src, dst, w, 60, undirected=not directed)
    masses = WalkSampler(*csr).edge_masses()
    expected = brute_edge_records(*csr)
    np.testing.assert_allclose(masses[:, :3], expected[:, :3], rtol=1e-5, atol=1e-5)
    rev = masses.view(np.int32)[:, 3]
    np.testing.assert_array_equal(rev, expected[:, 3])
    # no far edge: far exactly 0, never a rounding remainder
    assert np.all((masses[:, 2] == 0) == (expected[:, 2] == 0))
    # the second half: the edge's own weight and its reverse edge's S and F (0 if none), so
    # that a jump back reads no other record
    np.testing.assert_array_equal(masses[:, 4], csr[2])
    has_rev = rev >= 0
    assert directed == (not has_rev.all())
    np.testing.assert_array_equal(masses[has_rev, 5:7], masses[rev[has_rev], 1:3])
    assert np.all(masses[~has_rev, 5:8] == 0) and np.all(masses[:, 7] == 0)


def test_rejection_keeps_only_the_near_bits():
    # With 1/q the largest weight node2vec samples by rejection: it needs one bit per edge
    # (has v a near out-edge?), not the 16-byte records, and must not keep them.
    csr = random_graph(60, 900, seed=8)
    sampler = WalkSampler(*csr)
    sampler.walks(np.arange(60), 0, 10, 2.0, 0.5, seed=1)
    assert sampler._edge_masses is None
    bits = np.unpackbits(sampler.near_bits(), bitorder="little")[:len(csr[1])]
    np.testing.assert_array_equal(bits, brute_edge_records(*csr)[:, 1] > 0)


@pytest.mark.parametrize("near_scan", [0.0, np.inf])
@pytest.mark.parametrize("p,q", [(0.5, 2.0), (0.25, 0.5)])
def test_near_steps_exact_by_scan_and_by_proposals(near_scan, p, q):
    # In the three-part draw (here: 1/p or 1 the largest weight) the near part is drawn by
    # scanning the rows or by proposals, whichever is cheaper; each way alone must give the
    # exact distribution (near_scan 0: always proposals).
    from graphemb.walks import node2vec
    csr = random_graph(30, 200, seed=13)            # dense: near edges in most steps
    sampler = WalkSampler(*csr)
    rule = node2vec.prepare(sampler, p, q)._replace(near_scan=near_scan)
    assert not rule.by_rejection
    starts = np.repeat(np.arange(30, dtype=np.int32), 400)
    walks = np.empty((len(starts), 60), dtype=np.int32)
    node2vec.walk_batch(sampler.graph, rule, starts, np.int64(0), np.int64(5), walks)
    assert assert_second_order(*csr, walks, p, q, min_visits=1500) >= 20


def test_node2vec_refuses_unsorted_rows():
    indptr, indices, weights = random_graph(20, 80, seed=1)
    shuffled = indices.copy()
    shuffled[indptr[3]:indptr[4]] = shuffled[indptr[3]:indptr[4]][::-1]
    sampler = WalkSampler(indptr, shuffled, weights)
    with pytest.raises(ValueError, match="sorted, without duplicates"):
        sampler.walks(np.arange(20), 0, 5, 0.5, 2.0)


def test_return_fraction_matches_exact():
    # Aggregate check of the statistic the benchmark reports: share of steps back to t.
    csr = random_graph(300, 3000, seed=11)
    indptr, indices, weights = csr
    p, q = 0.5, 2.0
    walks = walks_from(csr, np.repeat(np.arange(300), 30), 40, p, q)
    t_, v_, x_ = triple_counts(walks)
    observed = np.mean(x_ == t_)
    exact = np.mean([exact_next(indptr, indices, weights, int(t), int(v), p, q).get(int(t), 0.0)
                     for t, v in zip(t_[:20000], v_[:20000])])
    n = len(x_)
    assert abs(observed - exact) < Z * np.sqrt(exact * (1 - exact) / n) + 0.005


@pytest.mark.parametrize("p,q", [(1, 1), (0.5, 2)])
def test_same_seed_same_walks_any_workers(p, q):
    csr = random_graph(500, 5000, seed=2)
    starts = np.arange(500)
    set_workers(1)
    one = walks_from(csr, starts, 30, p, q, seed=42)
    set_workers(2)
    two = walks_from(csr, starts, 30, p, q, seed=42)
    np.testing.assert_array_equal(one, two)
    other = walks_from(csr, starts, 30, p, q, seed=43)
    assert not np.array_equal(one, other)


def test_walk_rows_do_not_depend_on_batching():
    csr = random_graph(100, 800, seed=4)
    sampler = WalkSampler(*csr)
    starts = np.arange(100, dtype=np.int32)
    whole = sampler.walks(starts, 0, 20, 0.5, 2.0, seed=9)
    parts = np.vstack([sampler.walks(starts[:37], 0, 20, 0.5, 2.0, seed=9),
                       sampler.walks(starts[37:], 37, 20, 0.5, 2.0, seed=9)])
    np.testing.assert_array_equal(whole, parts)


# A step rule is a module of graphemb/walks/ plus one line in RULES; walks/uniform.py is the
# example: every out-neighbour with probability 1/deg, whatever the weights.
def _skewed_graph():
    """Directed, degrees 1..8, weights spanning 1..1000: far from uniform when weighted."""
    rng = np.random.default_rng(12)
    src, dst = [], []
    for v in range(40):
        nbrs = rng.choice(np.setdiff1d(np.arange(40), [v]), size=1 + v % 8, replace=False)
        src += [v] * len(nbrs)
        dst += nbrs.tolist()
    w = 10.0 ** rng.uniform(0, 3, len(src))
    return csr_from_edges(np.array(src), np.array(dst), w, 40, undirected=False)


def transition_table(walks):
    """{(a, b): count} of the steps a -> b in walks (padding excluded)."""
    a, b = walks[:, :-1].ravel(), walks[:, 1:].ravel()
    keys, counts = np.unique((a[b >= 0].astype(np.int64) << 32) | b[b >= 0], return_counts=True)
    return {(int(k >> 32), int(k & 0xFFFFFFFF)): int(c) for k, c in zip(keys, counts)}


def uniform_fit(indptr, indices, walks):
    """(largest |z| over the (node, neighbour) cells, chi-square, its degrees of freedom) of
    the walks' transition counts against the uniform rule's exact 1/deg."""
    seen = transition_table(walks)
    worst, chi2, dof = 0.0, 0.0, 0
    for v in range(len(indptr) - 1):
        nbrs = indices[indptr[v]:indptr[v + 1]].tolist()
        n = sum(seen.get((v, x), 0) for x in nbrs)
        assert n == sum(c for (a, _), c in seen.items() if a == v)   # only real edges
        prob = 1.0 / len(nbrs)
        for x in nbrs:
            count = seen.get((v, x), 0)
            worst = max(worst, abs(count / n - prob) / np.sqrt(prob * (1 - prob) / n + 1e-300))
            chi2 += (count - n * prob) ** 2 / (n * prob)
        dof += len(nbrs) - 1
    return worst, chi2, dof


def test_uniform_rule_matches_its_exact_distribution():
    assert "uniform" in RULES
    csr = _skewed_graph()
    indptr, indices, _ = csr
    sampler = WalkSampler(*csr)
    starts = np.repeat(np.arange(40), 500)
    worst, chi2, dof = uniform_fit(indptr, indices,
                                   sampler.walks(starts, 0, 40, seed=3, rule="uniform"))
    assert worst <= Z
    assert chi2 <= stats.chi2.ppf(1 - 1e-6, dof), (chi2, dof)
    # The same check tells the weighted rule apart, so it would catch a rule that used weights.
    worst, chi2, dof = uniform_fit(indptr, indices, sampler.walks(starts, 0, 40, seed=3))
    assert worst > 10 * Z and chi2 > 10 * stats.chi2.ppf(1 - 1e-6, dof)


def test_uniform_rule_is_deepwalk_on_equal_weights():
    # Both draw the slot from the same random bits, so on equal weights they agree exactly.
    indptr, indices, _ = random_graph(300, 2000, seed=6, directed=True)
    sampler = WalkSampler(indptr, indices, np.full(len(indices), 2.5))
    starts = np.flatnonzero(np.diff(indptr) > 0)
    np.testing.assert_array_equal(sampler.walks(starts, 5, 25, seed=2, rule="uniform"),
                                  sampler.walks(starts, 5, 25, seed=2))


def test_rules_refuse_what_they_would_ignore():
    sampler = WalkSampler(*random_graph(20, 60, seed=1))
    starts = np.arange(20)
    with pytest.raises(ValueError, match="walk rule 'uniform' takes no p, q"):
        sampler.walks(starts, 0, 5, 0.5, 2.0, rule="uniform")
    with pytest.raises(ValueError, match="walk rule 'deepwalk' takes no p, q"):
        sampler.walks(starts, 0, 5, 0.5, 2.0, rule="deepwalk")
    with pytest.raises(ValueError, match="unknown walk rule 'metapath'; known: deepwalk"):
        sampler.walks(starts, 0, 5, rule="metapath")
