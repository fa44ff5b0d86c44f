"""Skip-gram with negative sampling in Numba, straight from the int32 walk array.

Three models, which differ only in how the input vector H_v of an item v is made from rows
of one stacked input matrix ``E``:

    plain skip-gram   m = 1:   H_v = E[v]
    GES               m = n+1: H_v = mean_j E[feat[v, j]]            (equal weights)
    EGES              m = n+1: H_v = sum_j softmax(A[v])_j E[feat[v, j]]

``feat[v, 0] = v`` is the item's own id row (W^0); ``feat[v, s]`` is the row of the value
that item v has in side-information column s (W^s, shared by every item with that value).
The output vectors are ``Z``. For an input item v and a target u (one is the centre of a
window and the other a word in it; as in word2vec, the input is the word in the window)
with negatives n:

    loss = -log sigma(H_v . Z_u) - sum_n log sigma(-H_v . Z_n)

The gradient reaches Z, every E row in feat[v] (scaled by its weight) and, for EGES, A[v]:

    dL/dZ_t = (sigma(H.Z_t) - label_t) H
    dL/dH   = sum_t (sigma(H.Z_t) - label_t) Z_t
    dL/dE_j = w_j dL/dH                       (E_j = E[feat[v, j]])
    dL/da_j = w_j (E_j - H) . dL/dH           (softmax derivative)

Examples are visited as in word2vec's skip-gram (``train_block``; plain skip-gram and
GES/EGES are two compiled specialisations of it): the input row(s) and A are updated after
every (centre, context) pair, Z after each target. A side-value row receives the gradient of
every item that has the value; ``side_row_scale`` divides its step by the number of such
items ("mean", the default) so one popular category cannot swamp the id rows (issue 10),
or leaves it as in the paper ("sum"). Training is Hogwild: chunks of walks run in parallel
with ``prange`` and update the shared matrices without locks. Each chunk draws from its own
SplitMix64 stream seeded by (seed, epoch, chunk), and chunks hold a fixed number of walks
whatever the thread count, so one thread gives identical results run to run; more threads
differ only by the order in which concurrent updates land.

Details that follow word2vec: the window is shrunk at random for each centre (``b`` drawn
in [0, window), effective window ``window - b``), frequent items are down-sampled with
``sample`` before windowing, the learning rate decays linearly from ``alpha`` to
``min_alpha`` over all epochs (by walk position), and negatives come from the unigram
distribution raised to the option ``ns_exponent``, drawn in O(1) from an alias table; a
negative equal to the target is skipped.

Speed without changing the vectors (benchmarks/quality.py, parity and speed tables):
sigma and the loss are read from interpolated tables instead of computing exp and log per
target, and plain skip-gram computes the k+1 dot products of a pair before its k+1 updates,
so the random Z rows are fetched together. Both kernels draw the next pair's negatives one
pair ahead (the random stream is consumed in the same order, so the vectors are
bit-identical) and ask for that pair's rows (its input rows, all m of a fused item, and its
output rows) with prefetch hints, so their cache misses overlap this pair's arithmetic
(measured: benchmarks/trainer_bound.py, README).
"""
from __future__ import annotations

import math
import time
from collections import namedtuple

import numpy as np
from numba import njit, prange

from ..options import SIDE, TRAIN
from ..prefetch import prefetch
from ..rng import GOLDEN as _GOLDEN, MIX1 as _MIX1, S11 as _S11, TO_UNIT as _TO_UNIT
from ..rng import mix64 as _mix64, next64 as _next64

_S32 = np.uint64(32)
_LOW32 = np.uint64(0xFFFFFFFF)
_TO_UNIT32 = 1.0 / 4294967296.0      # 2**-32

# sigma and -log sigma on a grid over [-_TABLE_SPAN, _TABLE_SPAN], read with linear
# interpolation (error < 1e-6): two exp and a log per target cost as much as the dot products.
_TABLE_SPAN = 8.0
_TABLE_SIZE = 4096
_TABLE_SCALE = _TABLE_SIZE / (2 * _TABLE_SPAN)
_GRID = np.linspace(-_TABLE_SPAN, _TABLE_SPAN, _TABLE_SIZE + 1)
_SIGMA_TABLE = (1.0 / (1.0 + np.exp(-_GRID))).astype(np.float32)
_NLL_TABLE = np.logaddexp(0.0, -_GRID).astype(np.float32)          # -log sigma(x)

# Walks per chunk: the unit of parallel work and of random streams (fixed, so results do
# not depend on the number of threads).
T, S = TRAIN.defaults, SIDE.defaults      # the train stage's options (graphemb.options)
CHUNK_ROWS = 64

# The kernels' arguments, grouped. Sentences are walks or sessions in CSR form: sentence r
# is tokens[offsets[r]:offsets[r + 1]], cut short by a -1 (a walk that stopped). A 2-D walk
# array is tokens of one length (as_sentences), so no copy is made of a memory map.
Sentences = namedtuple("Sentences", "tokens offsets")
# What a pair draws: noise (alias table), down-sampling, the window (whole_sentence: every
# other token of the sentence, item2vec's "basket as a set"; else word2vec's shrunk window).
Sampling = namedtuple("Sampling", "neg_prob neg_alias keep_prob use_sample window "
                      "whole_sentence negative")
# Where a block sits in the whole run: random streams and the learning-rate schedule.
Schedule = namedtuple("Schedule", "seed epoch first_chunk alpha min_alpha rows_before "
                      "rows_total")
# GES/EGES: the rows of E of each item, its attention logits, and how rows are stepped.
Fusion = namedtuple("Fusion", "feat A learn_attention attention_lr row_scale")


# ----------------------------------------------------------------------------- random

@njit(cache=True, inline="always")
def _chunk_state(seed, epoch, chunk):
    z = _mix64(np.uint64(seed) * _GOLDEN + _mix64(np.uint64(epoch) + _GOLDEN))
    return _mix64(z + _mix64(np.uint64(chunk) * _MIX1 + _GOLDEN))


@njit(cache=True, inline="always")
def _draw_alias(bits, n, prob, alias):
    """One draw from an alias table with 64 random bits: high half picks, low half accepts."""
    k = np.int64(((bits >> _S32) * np.uint64(n)) >> _S32)
    u = np.float64(bits & _LOW32) * _TO_UNIT32
    if u < prob[k]:
        return k
    return np.int64(alias[k])


# ------------------------------------------------------------------- model pieces (pure)

@njit(cache=True, inline="always")
def _sigma_and_nll(x):
    """(sigma(x), -log sigma(x)) from the tables; exact limits outside the grid."""
    if x >= _TABLE_SPAN:
        return np.float32(1.0), np.float32(math.exp(-x))
    if x <= -_TABLE_SPAN:
        return np.float32(0.0), np.float32(-x)
    f = (x + _TABLE_SPAN) * _TABLE_SCALE
    k = np.int64(f)
    t = np.float32(f - k)
    sig = _SIGMA_TABLE[k] + t * (_SIGMA_TABLE[k + 1] - _SIGMA_TABLE[k])
    nll = _NLL_TABLE[k] + t * (_NLL_TABLE[k + 1] - _NLL_TABLE[k])
    return sig, nll


@njit(cache=True, inline="always")
def _draw_target(k, positive, state, prob, alias):
    """Target k of an example: the positive itself for k = 0, else a noise draw from the
    alias table (prob, alias); -1 when the draw is the positive (skipped, as in word2vec)."""
    if k == 0:
        return state, np.int64(positive)
    state, bits = _next64(state)
    t = _draw_alias(bits, prob.shape[0], prob, alias)
    return state, (np.int64(-1) if t == positive else t)


@njit(cache=True, inline="always")
def _label_gradient(score, k):
    """(d log-likelihood / d score, loss) of target k: label 1 for k = 0, 0 for a negative."""
    if k == 0:
        sig, nll = _sigma_and_nll(score)
        return np.float32(1.0 - sig), nll
    sig, nll = _sigma_and_nll(-score)                   # sigma(-s) = 1 - sigma(s)
    return np.float32(sig - 1.0), nll


@njit(cache=True, inline="always")
def _dot(a, b):
    s = np.float32(0.0)
    for d in range(a.shape[0]):
        s += a[d] * b[d]
    return s


@njit(cache=True, inline="always")
def fuse(E, feat_row, a_row, learn_attention, h, w):
    """H of one item into ``h``, its component weights into ``w``.

    With learn_attention the weights are softmax(a_row); otherwise equal (1/m), which is
    GES, and plain skip-gram when m == 1.
    """
    m = feat_row.shape[0]
    dim = h.shape[0]
    if learn_attention:
        top = a_row[0]
        for j in range(1, m):
            if a_row[j] > top:
                top = a_row[j]
        total = 0.0
        for j in range(m):
            w[j] = math.exp(a_row[j] - top)
            total += w[j]
        for j in range(m):
            w[j] = w[j] / total
    else:
        for j in range(m):
            w[j] = 1.0 / m
    row = feat_row[0]
    w0 = w[0]
    for d in range(dim):
        h[d] = w0 * E[row, d]
    for j in range(1, m):
        row = feat_row[j]
        wj = w[j]
        for d in range(dim):
            h[d] += wj * E[row, d]


@njit(cache=True, inline="always")
def sgns_pair(h, Z, targets, n_targets, lr, dh):
    """One skip-gram example: context ``targets[0]`` (label 1), negatives ``targets[1:n]``
    (label 0; a negative of -1 is skipped).

    Adds dL/dH to ``dh`` (each Z row taken before its own update) and moves every Z row by
    ``-lr * dL/dZ``. Returns the loss of the example.
    """
    dim = h.shape[0]
    loss = 0.0
    for k in range(n_targets):
        t = targets[k]
        if t < 0:
            continue
        ascent, nll = _label_gradient(_dot(h, Z[t]), k)
        g = -ascent
        loss += nll
        step = np.float32(lr * g)
        for d in range(dim):
            z = Z[t, d]
            dh[d] += g * z
            Z[t, d] = z - step * h[d]
    return loss


@njit(cache=True, inline="always")
def fused_backward(E, feat_row, a_row, w, h, dh, lr, lr_attention, learn_attention,
                   row_scale):
    """Apply dL/dH (``dh``) to the item's input rows and, with attention, to its a_v.

    Row r of E moves by ``lr * row_scale[r] * w_j * dh``: a side-value row shared by many
    items takes a scaled step (see ``side_row_scale``) so that it does not outgrow the ids.
    """
    m = feat_row.shape[0]
    dim = h.shape[0]
    if learn_attention:
        hd = np.float32(0.0)
        for d in range(dim):
            hd += h[d] * dh[d]
        for j in range(m):
            row = feat_row[j]
            ed = np.float32(0.0)
            for d in range(dim):
                ed += E[row, d] * dh[d]
            a_row[j] -= lr_attention * w[j] * (ed - hd)
    for j in range(m):
        row = feat_row[j]
        step = np.float32(lr * w[j] * row_scale[row])
        for d in range(dim):
            E[row, d] -= step * dh[d]


# ---------------------------------------------------------------------------- kernels
#
# Both kernels visit (centre, context) pairs exactly as word2vec's skip-gram does: for each
# position i a window shrunk at random (b in [0, window)), and for each j != i inside it
# one example whose *input* row is the word at j and whose *output* target is the word at
# i, followed by ``negative`` noise words. The input row is updated after every pair, not
# once per window: summing a centre's gradient over its whole window and applying it once
# was measurably worse (issue 10: Macro-F1 0.204 vs 0.219 on identical walks).


@njit(cache=True, inline="always")
def _lr_of(alpha, min_alpha, done, total):
    lr = alpha - (alpha - min_alpha) * done / total
    return lr if lr > min_alpha else min_alpha


@njit(cache=True, inline="always")
def _subsample(sentences, r, sampling, state, sent):
    """Copy sentence r into ``sent`` without padding and down-sampled tokens: (n, state)."""
    n = 0
    for t in range(sentences.offsets[r], sentences.offsets[r + 1]):
        x = sentences.tokens[t]
        if x < 0:
            break
        if sampling.use_sample:
            state, bits = _next64(state)
            if (bits >> _S11) * _TO_UNIT >= sampling.keep_prob[x]:
                continue
        sent[n] = x
        n += 1
    return n, state


@njit(cache=True, inline="always")
def _window(state, i, n, sampling):
    """The positions [lo, hi) paired with position i: word2vec's window shrunk by b drawn in
    [0, window), or the whole sentence."""
    if sampling.whole_sentence:
        return state, 0, n
    state, bits = _next64(state)
    window = sampling.window
    b = np.int64(bits % np.uint64(window))
    return state, max(0, i - window + b), min(n, i + window - b + 1)


@njit(cache=True, inline="always")
def _sentence_pairs(sentences, r, sampling, schedule, state, sent, inputs, outputs):
    """Sentence r's (input, output) pairs in word2vec's order: for each position i (the
    output, the centre) its window, and for each other position j in it the input sent[j].
    Returns (learning rate, pairs, words kept after down-sampling, state); the rate follows
    the sentence's position in the whole run."""
    lr = np.float32(_lr_of(schedule.alpha, schedule.min_alpha, schedule.rows_before + r,
                           schedule.rows_total))
    n, state = _subsample(sentences, r, sampling, state, sent)
    n_pairs = 0
    for i in range(n):
        state, lo, hi = _window(state, i, n, sampling)
        for j in range(lo, hi):
            if j != i:
                inputs[n_pairs] = sent[j]
                outputs[n_pairs] = sent[i]
                n_pairs += 1
    return lr, n_pairs, n, state


@njit(cache=True)
def _pair_capacity(sentences, sampling):
    """Room for the pairs of the longest sentence (and the sentence itself)."""
    longest = 0
    for r in range(sentences.offsets.shape[0] - 1):
        longest = max(longest, sentences.offsets[r + 1] - sentences.offsets[r])
    width = longest - 1 if sampling.whole_sentence else min(2 * sampling.window, longest - 1)
    return longest, max(longest * width, 1)


@njit(cache=True, inline="always")
def _chunk_start(schedule, c, longest, capacity):
    """Chunk c's random stream and scratch: the sentence and its pairs' inputs and outputs."""
    state = _chunk_state(schedule.seed, schedule.epoch, schedule.first_chunk + c)
    return (state, np.empty(longest, dtype=np.int32), np.empty(capacity, dtype=np.int32),
            np.empty(capacity, dtype=np.int32))


@njit(cache=True, inline="always")
def _draw_targets(centre, sampling, state, targets):
    """The example's targets: ``centre`` (label 1) then ``negative`` noise draws, a draw
    equal to the centre as -1 (skipped). Returns the state."""
    for k in range(sampling.negative + 1):
        state, targets[k] = _draw_target(k, centre, state, sampling.neg_prob,
                                         sampling.neg_alias)
    return state


@njit(cache=True, inline="always")
def _prefetch_rows(flat, row, dim):
    """Ask for every cache line (16 float32) of row ``row`` of a C-ordered (rows, dim)."""
    base = row * dim
    for c in range(0, dim, 16):
        prefetch(flat, base + c)


@njit(cache=True, inline="always")
def _skipgram_pair(ex, Z, sampling, lr, targets, grads, dh):
    """One plain skip-gram example: input row ``ex``, its targets drawn by _draw_targets.
    Returns the loss.

    All dot products first, then all updates: the k+1 Z rows are fetched together (their
    cache misses overlap) and are in cache for the update. Same result as one target after
    another unless a negative repeats.
    """
    loss = 0.0
    n_t = 0
    for k in range(sampling.negative + 1):
        t = targets[k]
        if t < 0:
            continue
        g, nll = _label_gradient(_dot(ex, Z[t]), k)
        loss += nll
        targets[n_t] = t
        grads[n_t] = g * lr
        n_t += 1
    dim = ex.shape[0]
    for d in range(dim):
        dh[d] = 0.0
    for k in range(n_t):
        zt = Z[targets[k]]
        g = grads[k]
        for d in range(dim):
            z = zt[d]
            dh[d] += g * z
            zt[d] = z + g * ex[d]
    for d in range(dim):
        ex[d] += dh[d]
    return loss


@njit(cache=True, inline="always")
def _fused_pair(E, Z, x, fusion, sampling, lr, targets, h, w, dh):
    """One GES/EGES example: input item ``x`` (its rows fused into ``h``), its targets drawn
    by _draw_targets. Returns the loss."""
    fuse(E, fusion.feat[x], fusion.A[x], fusion.learn_attention, h, w)
    for d in range(h.shape[0]):
        dh[d] = 0.0
    loss = sgns_pair(h, Z, targets, sampling.negative + 1, lr, dh)
    fused_backward(E, fusion.feat[x], fusion.A[x], w, h, dh, lr, lr * fusion.attention_lr,
                   fusion.learn_attention, fusion.row_scale)
    return loss


@njit(cache=True, parallel=True, fastmath=True)
def train_block(sentences, E, Z, fusion, sampling, schedule, stats):
    """Skip-gram over a block of sentences: plain (``fusion`` None; E has one row per node)
    or GES/EGES (``fusion`` a Fusion). Numba compiles the two separately and drops the
    other's branch (an argument typed None is pruned at compile time), so plain skip-gram
    never compiles the fused model.

    The block's first chunk of CHUNK_ROWS sentences has the global number
    ``schedule.first_chunk`` (it seeds the chunk's random stream); ``schedule.rows_before``
    sentences of the whole run (all epochs) came before the block and ``rows_total`` are in
    it: a sentence's learning rate follows its position in it. Writes (loss, examples,
    words) of each chunk into ``stats`` [n_chunks, 3].
    """
    n_rows = sentences.offsets.shape[0] - 1
    dim = E.shape[1]
    negative = sampling.negative
    m = 1
    if fusion is not None:
        m = fusion.feat.shape[1]
    longest, capacity = _pair_capacity(sentences, sampling)
    E_flat = E.reshape(E.shape[0] * dim)
    Z_flat = Z.reshape(Z.shape[0] * dim)
    for c in prange(stats.shape[0]):
        state, sent, inputs, outputs = _chunk_start(schedule, c, longest, capacity)
        h = np.empty(dim, dtype=np.float32)
        dh = np.empty(dim, dtype=np.float32)
        w = np.empty(m, dtype=np.float32)
        targets = np.empty(negative + 1, dtype=np.int64)
        ahead = np.empty(negative + 1, dtype=np.int64)
        grads = np.empty(negative + 1, dtype=np.float32)
        loss = 0.0
        pairs = 0
        words = 0
        for r in range(c * CHUNK_ROWS, min((c + 1) * CHUNK_ROWS, n_rows)):
            lr, n_pairs, n, state = _sentence_pairs(sentences, r, sampling, schedule, state,
                                                    sent, inputs, outputs)
            words += n
            pairs += n_pairs
            if n_pairs > 0:
                state = _draw_targets(outputs[0], sampling, state, ahead)
            for p in range(n_pairs):
                # the next example's targets are drawn (the stream's order is kept) and
                # its rows asked for now, so their misses overlap this example's work
                for k in range(negative + 1):
                    targets[k] = ahead[k]
                if p + 1 < n_pairs:
                    state = _draw_targets(outputs[p + 1], sampling, state, ahead)
                    if fusion is None:
                        _prefetch_rows(E_flat, inputs[p + 1], dim)
                    else:
                        for j in range(m):
                            _prefetch_rows(E_flat, fusion.feat[inputs[p + 1], j], dim)
                    for k in range(negative + 1):
                        if ahead[k] >= 0:
                            _prefetch_rows(Z_flat, ahead[k], dim)
                if fusion is None:
                    nll = _skipgram_pair(E[inputs[p]], Z, sampling, lr, targets, grads, dh)
                else:
                    nll = _fused_pair(E, Z, inputs[p], fusion, sampling, lr, targets, h, w,
                                      dh)
                loss += nll
        stats[c, 0] = loss
        stats[c, 1] = pairs
        stats[c, 2] = words


# ---------------------------------------------------------------------------- driver

def as_sentences(corpus) -> Sentences:
    """A 2-D walk array (-1 padded; a memory map stays one) or Sentences, as Sentences."""
    if isinstance(corpus, Sentences):
        return corpus
    rows, length = corpus.shape
    return Sentences(np.asarray(corpus).reshape(-1),
                     np.arange(0, rows * length + 1, max(length, 1), dtype=np.int64)[:rows + 1])


def _corpora(walks) -> list[Sentences]:
    """Walk arrays, Sentences, or a list of either."""
    items = list(walks) if isinstance(walks, list) or (isinstance(walks, tuple) and
                                                       not isinstance(walks, Sentences)) \
        else [walks]
    return [as_sentences(c) for c in items]


def _block(corpus: Sentences, a: int, b: int) -> Sentences:
    """Sentences a..b-1 of a corpus, read into memory, offsets from 0."""
    lo, hi = int(corpus.offsets[a]), int(corpus.offsets[b])
    tokens = np.ascontiguousarray(np.asarray(corpus.tokens[lo:hi]).view(np.ndarray),
                                  dtype=np.int32)
    return Sentences(tokens, np.ascontiguousarray(corpus.offsets[a:b + 1] - lo, dtype=np.int64))


def token_counts(walks, num_nodes: int, block_rows: int = 1 << 16) -> np.ndarray:
    """Occurrences of every node in walk arrays or Sentences (or a list of them)."""
    counts = np.zeros(num_nodes, dtype=np.int64)
    for corpus in _corpora(walks):
        rows = len(corpus.offsets) - 1
        for a in range(0, rows, block_rows):
            tokens = _block(corpus, a, min(a + block_rows, rows)).tokens
            counts += np.bincount(tokens[tokens >= 0], minlength=num_nodes)
    return counts


def negative_table(counts: np.ndarray, exponent: float = TRAIN.ns_exponent.default):
    """Alias table (prob float64, alias int32) over nodes, weights count**exponent."""
    from ..walks import build_alias_tables

    weights = np.where(counts > 0, np.power(counts.astype(np.float64), exponent), 0.0)
    if not weights.sum() > 0:
        from ..errors import GraphembError
        raise GraphembError("the walks hold no items to train on; rerun `graphemb walk`.")
    prob, alias = build_alias_tables(np.array([0, len(weights)], dtype=np.int64), weights)
    return prob.astype(np.float64), alias


def keep_probabilities(counts: np.ndarray, sample: float) -> np.ndarray:
    """word2vec's down-sampling: keep a token of frequency f with (sqrt(f/t) + 1) t / f."""
    if sample <= 0:
        return np.ones(len(counts), dtype=np.float64)
    total = counts.sum()
    threshold = sample * total
    with np.errstate(divide="ignore", invalid="ignore"):
        keep = (np.sqrt(counts / threshold) + 1.0) * threshold / counts
    return np.where(counts > 0, np.minimum(keep, 1.0), 1.0)


def side_row_scale(feat: np.ndarray, counts: np.ndarray, num_rows: int,
                   mode: str = S.side_update) -> np.ndarray:
    """Step factor of each row of E: 1 for id rows; for a side-value row 1/n ("mean"),
    1/sqrt(n) ("sqrt") or 1 ("sum", the paper), n = items in the walks that have it."""
    SIDE.side_update.check(mode)
    scale = np.ones(num_rows, dtype=np.float32)
    if mode == "sum" or feat.shape[1] < 2:
        return scale
    walked = counts > 0
    sharing = np.zeros(num_rows, dtype=np.int64)
    for s in range(1, feat.shape[1]):
        sharing += np.bincount(feat[walked, s], minlength=num_rows)
    side = sharing > 0
    n = sharing[side].astype(np.float64)
    scale[side] = (1.0 / n if mode == "mean" else 1.0 / np.sqrt(n)).astype(np.float32)
    return scale


def train(walks: np.ndarray, feat: np.ndarray | None, num_rows: int, *,
          learn_attention: bool = False, dim: int = T.dim, window: int | None = T.window,
          epochs: int = T.epochs, negative: int = T.negative,
          ns_exponent: float = T.ns_exponent, sample: float = T.sample,
          alpha: float = T.alpha, min_alpha: float = 0.0001,
          attention_lr: float = S.attention_lr, side_update: str = S.side_update,
          seed: int = T.seed, counts: np.ndarray | None = None,
          block_rows: int = CHUNK_ROWS * 1024, on_rows=None, init=None) -> dict:
    """Train on every walk ``epochs`` times; return E, Z, A, counts and statistics.

    ``walks`` is a 2-D int32 array (-1 padded, memory-mapped is fine), Sentences (CSR:
    sessions), or a list of them. ``window=None`` pairs every token of a sentence with every
    other (item2vec on sessions).

    ``feat`` is int32 [num_nodes, m] (rows of E per item; see the module doc), ``num_rows``
    the number of rows of E; ``feat=None`` is plain skip-gram (E has one row per node and
    the fused kernel is never compiled). ``on_rows(k)`` is called as walks are done.
    ``init=(E, Z)`` starts plain skip-gram from these input and context vectors.
    """
    plain = feat is None
    num_nodes = num_rows if plain else feat.shape[0]
    m = 1 if plain else feat.shape[1]
    TRAIN.check(dim=dim, epochs=epochs, negative=negative, ns_exponent=ns_exponent,
                sample=sample, alpha=alpha, **({} if window is None else {"window": window}))
    if counts is None:
        counts = token_counts(walks, num_nodes)
    neg_prob, neg_alias = negative_table(counts, ns_exponent)
    keep = keep_probabilities(counts, sample)
    rng = np.random.default_rng(seed)
    E = ((rng.random((num_rows, dim), dtype=np.float32) - 0.5) / dim).astype(np.float32)
    Z = np.zeros((num_nodes, dim), dtype=np.float32)
    if init is not None:          # a warm start (plain skip-gram): the previous E and Z
        if not plain:
            raise ValueError("init is for plain skip-gram")
        E, Z = (np.array(x, dtype=np.float32, order="C") for x in init)
    A = np.zeros((num_nodes, m), dtype=np.float32)
    if not plain:
        feat = np.ascontiguousarray(feat, dtype=np.int32)
        row_scale = side_row_scale(feat, counts, num_rows, side_update)
    corpora = _corpora(walks)
    n_walks = sum(len(c.offsets) - 1 for c in corpora)
    block_rows = max(CHUNK_ROWS, block_rows // CHUNK_ROWS * CHUNK_ROWS)
    rows_total = float(n_walks * epochs)
    noise = dict(neg_prob=neg_prob, neg_alias=neg_alias, keep_prob=keep,
                 use_sample=bool(sample > 0), negative=np.int64(negative))
    sampling = Sampling(window=np.int64(window if window else 1),
                        whole_sentence=window is None, **noise)
    fusion = None if plain else Fusion(feat, A, bool(learn_attention), float(attention_lr),
                                       row_scale)
    losses, pairs, words = [], 0, 0
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    for epoch in range(epochs):
        epoch_loss, epoch_pairs = 0.0, 0
        row_base, chunk_base = 0, 0
        for corpus in corpora:
            rows = len(corpus.offsets) - 1
            for a in range(0, rows, block_rows):
                block = _block(corpus, a, min(a + block_rows, rows))
                n_block = len(block.offsets) - 1
                schedule = Schedule(np.int64(seed), np.int64(epoch),
                                    np.int64(chunk_base + a // CHUNK_ROWS), float(alpha),
                                    float(min_alpha), float(epoch * n_walks + row_base + a),
                                    rows_total)
                stats = np.zeros((-(-n_block // CHUNK_ROWS), 3), dtype=np.float64)
                train_block(block, E, Z, fusion, sampling, schedule, stats)
                epoch_loss += stats[:, 0].sum()
                epoch_pairs += int(stats[:, 1].sum())
                words += int(stats[:, 2].sum())
                if on_rows is not None:
                    on_rows(n_block)
            row_base += rows
            chunk_base += -(-rows // CHUNK_ROWS)
        pairs += epoch_pairs
        losses.append(epoch_loss / max(epoch_pairs, 1))
    seconds = time.perf_counter() - t0
    tokens = int(counts.sum()) * epochs
    return {"E": E, "Z": Z, "A": A, "counts": counts, "loss_per_epoch": losses,
            "examples": pairs, "words_trained": words, "seconds": seconds,
            "cpu_seconds": time.process_time() - cpu0,
            "words_per_second": tokens / max(seconds, 1e-9),
            "examples_per_second": pairs / max(seconds, 1e-9)}


def train_skipgram(walks: np.ndarray, num_nodes: int, **kw) -> tuple[np.ndarray, np.ndarray, dict]:
    """Plain skip-gram: (vectors [num_nodes, dim], has_vector, stats)."""
    out = train(walks, None, num_nodes, **kw)
    has_vector = out["counts"] > 0
    vectors = out["E"].copy()          # one float32 copy (np.where would make a float64 one)
    vectors[~has_vector] = 0.0
    return vectors, has_vector, out


def trained(vectors, has_vector, stats: dict, method: str, options: dict, counts: dict):
    """The train stage's record of a Numba training (plain skip-gram, GES or EGES)."""
    from . import Trained

    counts = {**counts, "examples": stats["examples"], "words_trained": stats["words_trained"],
              "loss_per_epoch": [round(x, 5) for x in stats["loss_per_epoch"]]}
    params = {"method": method, "trainer": "numba", **options, "sg": True, "hs": False}
    return Trained(vectors, has_vector, params, counts,
                   {"train_seconds": stats["seconds"],
                    "words_per_second": stats["words_per_second"]})


def fit_skipgram(walks, num_nodes: int, *, on_rows=None, corpus: str = "walks", init=None,
                 **options):
    """Plain skip-gram with graphemb's trainer, as the train stage records it: on walks, or
    on sessions (corpus="sessions", method "item2vec"; window None = the whole session)."""
    vectors, has_vector, stats = train_skipgram(walks, num_nodes, on_rows=on_rows, init=init,
                                                **options)
    method = "item2vec" if corpus == "sessions" else "skipgram"
    if corpus == "sessions":
        options = {**options, "on": "sessions",
                   "window": "session" if options.get("window") is None else options["window"]}
    out = trained(vectors, has_vector, stats, method, options,
                  {"nodes": num_nodes, "vectors": int(has_vector.sum()),
                   "nodes_without_vector": int((~has_vector).sum())})
    out.arrays["context"] = stats["Z"]       # for a later warm start
    return out
