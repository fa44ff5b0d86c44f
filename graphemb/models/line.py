"""LINE (Tang et al., WWW 2015): embeddings trained on edges sampled from the graph itself.

No walks. Each step draws an edge (i, j) with probability proportional to its weight (an
alias table over all E edges, O(E) memory) and ``negative`` noise nodes n with probability
proportional to weighted out-degree**0.75, then takes one SGD step on

    first order  (LINE-1): -log sigma(U_i . U_j) - sum_n log sigma(-U_i . U_n)
    second order (LINE-2): -log sigma(U_i . C_j) - sum_n log sigma(-U_i . C_n)

LINE-1 puts linked nodes close to each other; LINE-2 puts nodes with similar neighbours
close (j is a context, with its own vector C_j), so on a bipartite graph LINE-2's neighbours
of a node are on its own side and LINE-1's on the other. The item vector is U. The learning
rate falls linearly from ``alpha`` over all samples, as in the paper's reference code.

Samples are drawn in chunks of CHUNK_SAMPLES, each chunk with its own random stream keyed by
(seed, chunk number), so one thread gives identical results run to run; with more threads
the chunks update the shared matrices without locks (Hogwild), as word2vec does.
"""
from __future__ import annotations

import time
from collections import namedtuple

import numpy as np
from numba import njit, prange

from .sgns import _chunk_state, _dot, _draw_alias, _draw_target, _label_gradient, _lr_of, _next64

CHUNK_SAMPLES = 4096
ORDERS = (1, 2)

# Everything a step samples from: the edges (source, target, alias table) and the noise.
EdgeSampler = namedtuple("EdgeSampler", "src dst edge_prob edge_alias noise_prob noise_alias")


@njit(cache=True, parallel=True, fastmath=True)
def _line_block(tables, U, C, negative, first_chunk, n_chunks, seed, alpha, min_alpha,
                samples_before, samples_total, losses):
    """n_chunks chunks of CHUNK_SAMPLES edge samples; C is U itself for first order.
    Writes each chunk's mean loss into ``losses``."""
    dim = U.shape[1]
    n_edges = tables.edge_prob.shape[0]
    for c in prange(n_chunks):
        state = _chunk_state(seed, 0, first_chunk + c)
        dh = np.empty(dim, dtype=np.float32)
        loss = 0.0
        for s in range(CHUNK_SAMPLES):
            done = samples_before + c * CHUNK_SAMPLES + s
            lr = np.float32(_lr_of(alpha, min_alpha, done, samples_total))
            state, bits = _next64(state)
            e = _draw_alias(bits, n_edges, tables.edge_prob, tables.edge_alias)
            i = tables.src[e]
            j = tables.dst[e]
            ui = U[i]
            for d in range(dim):
                dh[d] = 0.0
            for k in range(negative + 1):
                state, t = _draw_target(k, j, state, tables.noise_prob, tables.noise_alias)
                if t < 0:
                    continue
                ct = C[t]
                ascent, nll = _label_gradient(_dot(ui, ct), k)
                g = lr * ascent
                loss += nll
                for d in range(dim):
                    dh[d] += g * ct[d]
                    ct[d] += g * ui[d]
            for d in range(dim):
                ui[d] += dh[d]
        losses[c] = loss / CHUNK_SAMPLES


def edge_sampler(indptr: np.ndarray, indices: np.ndarray, weights: np.ndarray,
                 ns_exponent: float = 0.75) -> EdgeSampler:
    """Alias tables over the edges (by weight) and over the nodes (by weighted
    out-degree**ns_exponent, 0.75 in the paper)."""
    from ..walks import build_alias_tables

    indptr = np.asarray(indptr, dtype=np.int64)
    weights = np.asarray(weights, dtype=np.float64)
    n = len(indptr) - 1
    src = np.repeat(np.arange(n, dtype=np.int32), np.diff(indptr))
    edge_prob, edge_alias = build_alias_tables(np.array([0, len(weights)], np.int64), weights)
    degree = np.bincount(src, weights=weights, minlength=n)
    noise_prob, noise_alias = build_alias_tables(np.array([0, n], np.int64),
                                                 degree ** ns_exponent)
    return EdgeSampler(src, np.ascontiguousarray(indices, dtype=np.int32), edge_prob,
                       edge_alias, noise_prob, noise_alias)


def train_line(indptr, indices, weights, *, order: int = 2, dim: int = 128,
               negative: int = 5, samples: int | None = None, alpha: float = 0.025,
               ns_exponent: float = 0.75,
               min_alpha: float = 0.0001, seed: int = 0, block_chunks: int = 256,
               on_samples=None) -> dict:
    """LINE of ``order`` 1 or 2 on a CSR graph; returns U (the vectors), C, has_vector and
    statistics (loss per block of samples, seconds).

    ``samples`` defaults to 1000 per node, rounded up to whole chunks.
    """
    if order not in ORDERS:
        raise ValueError(f"LINE order must be 1 or 2 (got {order!r})")
    n = len(indptr) - 1
    if len(indices) == 0:
        from ..errors import GraphembError
        raise GraphembError("the graph has no edges to train LINE on.")
    tables = edge_sampler(indptr, indices, weights, ns_exponent)
    samples = 1000 * n if samples is None else int(samples)
    n_chunks = max(1, -(-samples // CHUNK_SAMPLES))
    total = float(n_chunks * CHUNK_SAMPLES)
    rng = np.random.default_rng(seed)
    U = ((rng.random((n, dim), dtype=np.float32) - 0.5) / dim).astype(np.float32)
    C = U if order == 1 else np.zeros((n, dim), dtype=np.float32)
    losses = np.zeros(n_chunks, dtype=np.float64)
    t0 = time.perf_counter()
    for first in range(0, n_chunks, block_chunks):
        count = min(block_chunks, n_chunks - first)
        _line_block(tables, U, C, np.int64(negative), np.int64(first), np.int64(count),
                    np.int64(seed), float(alpha), float(min_alpha),
                    float(first * CHUNK_SAMPLES), total, losses[first:first + count])
        if on_samples is not None:
            on_samples(count * CHUNK_SAMPLES)
    out_degree = np.diff(np.asarray(indptr))
    # A node is trained as a source under both orders, and as a target only under LINE-1.
    has_vector = out_degree > 0
    if order == 1:
        has_vector |= np.bincount(tables.dst, minlength=n) > 0
    blocks = [losses[a:a + block_chunks].mean() for a in range(0, n_chunks, block_chunks)]
    return {"U": U, "C": C, "has_vector": has_vector, "samples": int(total),
            "loss_per_block": blocks, "loss_per_chunk": losses, "seconds": time.perf_counter() - t0}


def line_samples(num_nodes: int, per_node: float) -> int:
    """Edge samples of a run: ``per_node`` per node, in whole chunks."""
    n_chunks = max(1, -(-int(round(per_node * num_nodes)) // CHUNK_SAMPLES))
    return n_chunks * CHUNK_SAMPLES


def fit_line(graph, *, order: int, samples_per_node: float = 1000, ns_exponent: float = 0.75,
             on_samples=None, **options):
    """LINE on a Graph as the train stage records it (method line1 or line2)."""
    from . import Trained

    samples = line_samples(graph.num_nodes, samples_per_node)
    out = train_line(graph.indptr, graph.indices, graph.weights, order=order,
                     samples=samples, ns_exponent=ns_exponent, on_samples=on_samples,
                     **options)
    has = out["has_vector"]
    vectors = out["U"].copy()          # one float32 copy (np.where would make a float64 one)
    vectors[~has] = 0.0
    params = {"method": f"line{order}", "trainer": "numba", **options,
              "ns_exponent": ns_exponent, "samples_per_node": samples_per_node}
    return Trained(vectors, has, params,
                   {"nodes": graph.num_nodes, "vectors": int(has.sum()),
                    "nodes_without_vector": int((~has).sum()), "edge_samples": out["samples"],
                    # mean loss of the first and the last CHUNK_SAMPLES samples
                    "loss_first_chunk": round(float(out["loss_per_chunk"][0]), 5),
                    "loss_last_chunk": round(float(out["loss_per_chunk"][-1]), 5)},
                   {"train_seconds": out["seconds"],
                    "edges_per_second": out["samples"] / max(out["seconds"], 1e-9)})
