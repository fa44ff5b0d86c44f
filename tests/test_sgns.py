"""graphemb's Numba skip-gram: per-pair updates exactly as derived, parity with gensim."""
import numpy as np
import pytest

from graphemb.models import sgns


def _log_sigmoid_grad(x, z):
    """Gradient of -log sigma(x . z) with respect to x and to z."""
    g = 1.0 / (1.0 + np.exp(-(x @ z))) - 1.0
    return g * z, g * x


def _numeric_grad(f, x, eps=1e-6):
    out = np.zeros_like(x)
    for i in range(len(x)):
        plus, minus = x.copy(), x.copy()
        plus[i] += eps
        minus[i] -= eps
        out[i] = (f(plus) - f(minus)) / (2 * eps)
    return out


def test_skipgram_kernel_applies_each_pairs_gradient_before_the_next():
    """Walk [0, 1], window 1, no negatives, no down-sampling, constant learning rate: the
    kernel makes exactly two SGD steps, (input 1 -> target 0) then (input 0 -> target 1),
    the second one seeing the first one's update (word2vec's order)."""
    rng = np.random.default_rng(0)
    dim, lr = 6, 0.5
    E = rng.normal(0, 0.4, (2, dim)).astype(np.float32)
    Z = rng.normal(0, 0.4, (2, dim)).astype(np.float32)
    walks = np.array([[0, 1]], dtype=np.int32)
    e, z = E.astype(np.float64), Z.astype(np.float64)
    for x, t in ((1, 0), (0, 1)):
        loss = lambda xv: -np.log(1 / (1 + np.exp(-(xv @ z[t]))))   # noqa: E731
        gx, gz = _log_sigmoid_grad(e[x], z[t])
        np.testing.assert_allclose(gx, _numeric_grad(loss, e[x]), rtol=1e-5, atol=1e-8)
        e[x], z[t] = e[x] - lr * gx, z[t] - lr * gz
    stats = np.zeros((1, 3))
    sampling = sgns.Sampling(np.ones(2), np.zeros(2, np.int32), np.ones(2), False, np.int64(1),
                             False, np.int64(0))
    schedule = sgns.Schedule(np.int64(0), np.int64(0), np.int64(0), lr, lr, 0.0, 1.0)
    sgns.train_block(sgns.as_sentences(walks), E, Z, None, sampling, schedule, stats)
    assert stats[0, 1] == 2 and stats[0, 2] == 2                      # 2 pairs, 2 words
    np.testing.assert_allclose(E, e, rtol=1e-5)
    np.testing.assert_allclose(Z, z, rtol=1e-5)


def test_skipgram_kernel_with_negatives_matches_a_replay_of_its_stream():
    """Window 2 and 3 negatives over two walks: the kernel's vectors equal a float64 replay
    that draws from the same stream in word2vec's order (each sentence's shrunk windows,
    then per pair its negatives) and applies each pair's k+1 updates before the next pair.
    Catches any change of the order in which the kernel consumes its random stream, such as
    the look-ahead that draws a pair's negatives while the previous pair is trained."""
    rng = np.random.default_rng(1)
    n, dim, lr, negative = 7, 8, 0.3, 3
    E = rng.normal(0, 0.4, (n, dim)).astype(np.float32)
    Z = rng.normal(0, 0.4, (n, dim)).astype(np.float32)
    walks = np.array([[0, 1, 2, 3, 4, 5], [6, 2, 4, 1, 0, 3]], dtype=np.int32)
    prob, alias = sgns.negative_table(np.arange(1, n + 1))
    sampling = sgns.Sampling(prob, alias, np.ones(n), False, np.int64(2), False,
                             np.int64(negative))
    schedule = sgns.Schedule(np.int64(5), np.int64(0), np.int64(0), lr, lr, 0.0, 1.0)
    e, z = E.astype(np.float64), Z.astype(np.float64)
    state = np.uint64(sgns._chunk_state(np.uint64(5), np.uint64(0), np.uint64(0)))
    for sent in walks:
        pairs = []
        for i in range(len(sent)):
            state, lo, hi = sgns._window(state, i, len(sent), sampling)
            state = np.uint64(state)   # a Python int would be typed int64 on the next call
            pairs += [(sent[j], sent[i]) for j in range(lo, hi) if j != i]
        for x, centre in pairs:
            targets = []
            for k in range(negative + 1):
                state, t = sgns._draw_target(k, centre, state, prob, alias)
                state = np.uint64(state)
                if t >= 0:
                    targets.append((int(t), 1.0 if k == 0 else 0.0))
            grads = [(label - 1 / (1 + np.exp(-(e[x] @ z[t])))) * lr for t, label in targets]
            dh = np.zeros(dim)
            for (t, _), g in zip(targets, grads):
                dh += g * z[t]
                z[t] = z[t] + g * e[x]
            e[x] = e[x] + dh
    stats = np.zeros((1, 3))
    sgns.train_block(sgns.as_sentences(walks), E, Z, None, sampling, schedule, stats)
    assert stats[0, 2] == 12
    np.testing.assert_allclose(E, e, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(Z, z, rtol=1e-4, atol=1e-6)


def _planted(n=600, k=6, degree=8, inside=0.6, seed=0):
    from graphemb.evaluate import graph_from_adjacency
    import scipy.sparse as sp
    rng = np.random.default_rng(seed)
    block = np.arange(n) % k
    m = n * degree // 2
    u = rng.integers(0, n, m)
    v = np.where(rng.random(m) < inside, rng.integers(0, n // k, m) * k + block[u],
                 rng.integers(0, n, m))
    keep = u != v
    adj = sp.coo_matrix((np.ones(keep.sum()), (np.minimum(u, v)[keep], np.maximum(u, v)[keep])),
                        shape=(n, n)).tocsr()
    adj.data[:] = 1.0
    graph, _ = graph_from_adjacency(adj)
    y = np.zeros((n, k), dtype=bool)
    y[np.arange(n), block] = True
    return graph, y[np.asarray(graph.node_ids, dtype=np.int64)]


def test_numba_skipgram_matches_gensim_on_planted_communities(tmp_path):
    """Same walks, same settings: Macro-F1 (50% labelled, 10 splits) of the two trainers
    differs by less than 3 standard errors of the difference over the splits."""
    import numba

    from graphemb.evaluate import classify
    from graphemb.walks import WalkSampler, start_nodes
    from graphemb.models.word2vec import train_word2vec

    graph, y = _planted()
    sampler = WalkSampler(graph.indptr, graph.indices, graph.weights)
    parts, first = [], 0
    for _, starts in start_nodes(np.asarray(graph.indptr), 10, 3):
        parts.append(sampler.walks(starts, first, 20, seed=3))
        first += len(starts)
    walks = np.concatenate(parts)
    opts = dict(dim=32, window=5, epochs=2, negative=5, seed=1)
    numba.set_num_threads(1)
    vg, _, _ = train_word2vec([walks], graph.num_nodes, tmp_path, workers=1, **opts)
    vn, _, _ = sgns.train_skipgram(walks, graph.num_nodes, **opts)
    rg = classify(vg, y, ratios=[0.5], repeats=10, seed=0)[0]
    rn = classify(vn, y, ratios=[0.5], repeats=10, seed=0)[0]
    # Same splits for both: the spread of each over 10 splits bounds the difference.
    se = np.hypot(rg["macro_f1_std"], rn["macro_f1_std"]) / np.sqrt(10)
    assert rg["macro_f1"] > 0.5          # the communities are learnable at all
    assert abs(rn["macro_f1"] - rg["macro_f1"]) < 3 * se + 0.01, (rn, rg)


def test_session_pairs_stay_within_sessions():
    """item2vec: with the whole-session window every ordered pair of a session and nothing
    across sessions; with word2vec's window of 1, neighbours only."""
    sessions = sgns.Sentences(np.array([0, 1, 2, 3, 4, 5, 6, -1], np.int32),
                              np.array([0, 3, 5, 8], np.int64))       # [0 1 2] [3 4] [5 6]
    inputs = np.zeros(64, np.int32)
    outputs = np.zeros(64, np.int32)
    sent = np.zeros(8, np.int32)

    def pairs(window, whole):
        sampling = sgns.Sampling(np.ones(7), np.zeros(7, np.int32), np.ones(7), False,
                                 np.int64(window), whole, np.int64(5))
        schedule = sgns.Schedule(np.int64(0), np.int64(0), np.int64(0), 0.025, 0.0001, 0.0,
                                 3.0)
        got = set()
        for r in range(3):
            _, n, _, _ = sgns._sentence_pairs(sessions, r, sampling, schedule,
                                              np.uint64(r + 1), sent, inputs, outputs)
            got |= set(zip(inputs[:n].tolist(), outputs[:n].tolist()))
        return got

    within = {(a, b) for group in ([0, 1, 2], [3, 4], [5, 6]) for a in group for b in group
              if a != b}
    assert pairs(1, True) == within
    assert pairs(1, False) == {(0, 1), (1, 0), (1, 2), (2, 1), (3, 4), (4, 3), (5, 6), (6, 5)}
