"""Metrics of the evaluation tasks: pure functions over arrays."""
from __future__ import annotations

import numpy as np

KS = (10, 20, 50)


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney); tied scores count one half."""
    from scipy.stats import rankdata

    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores, dtype=np.float64)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(scores)  # average ranks for ties
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def top_k_predictions(scores: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Binary matrix with the k[i] highest-scoring labels of row i set (ties by label order)."""
    scores = np.asarray(scores, dtype=np.float64)
    order = np.argsort(-scores, axis=1, kind="stable")
    position = np.empty_like(order)
    np.put_along_axis(position, order, np.arange(scores.shape[1])[None, :].repeat(len(scores), 0),
                      axis=1)
    return position < np.asarray(k)[:, None]


def f1_scores(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[float, float]:
    """(Micro-F1, Macro-F1) of binary indicator matrices; a label with no true and no
    predicted positive scores 0 in the macro average (scikit-learn's zero_division=0)."""
    t = np.asarray(y_true).astype(bool)
    p = np.asarray(y_pred).astype(bool)
    tp = (t & p).sum(0).astype(np.float64)
    fp = (~t & p).sum(0).astype(np.float64)
    fn = (t & ~p).sum(0).astype(np.float64)
    denom = 2 * tp + fp + fn
    per_label = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    micro_denom = 2 * tp.sum() + fp.sum() + fn.sum()
    micro = 2 * tp.sum() / micro_denom if micro_denom > 0 else 0.0
    return float(micro), float(per_label.mean())


def target_ranks(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """1-based position of each target in its row's full ranking (best = 1).

    scores (B, C); targets (B, H) column indices, -1 for a target that cannot be ranked (not
    in the catalogue). Ties are broken by column order. Unrankable targets and targets scored
    -inf (excluded, or without a vector) get rank inf.
    """
    scores = np.asarray(scores)
    targets = np.asarray(targets).reshape(len(scores), -1)
    idx = np.clip(targets, 0, None)
    ts = np.take_along_axis(scores, idx, 1)
    cols = np.arange(scores.shape[1])[None, :]
    ranks = np.empty(targets.shape, dtype=np.float64)
    for h in range(targets.shape[1]):  # a loop over held-out positions (usually one)
        t = ts[:, h:h + 1]
        ahead = (scores > t) | ((scores == t) & (cols < idx[:, h:h + 1]))
        ranks[:, h] = ahead.sum(1) + 1
    ranks[(targets < 0) | ~np.isfinite(ts)] = np.inf
    return ranks


def ranking_metrics(ranks: np.ndarray, ks=KS) -> dict:
    """HitRate@K (any held-out item in the top K), Recall@K (share of held-out items in the top
    K) and MRR (reciprocal rank of the best-placed held-out item, full ranking), averaged over
    users. ranks: (users, held-out) 1-based, inf = not found, nan = no such held-out item."""
    ranks = np.asarray(ranks, dtype=np.float64).reshape(len(ranks), -1)
    present = ~np.isnan(ranks)
    r = np.where(present, ranks, np.inf)
    n_rel = present.sum(1)
    users = n_rel > 0
    out = {}
    for k in ks:
        inside = r <= k
        out[f"hit@{k}"] = float(inside.any(1)[users].mean()) if users.any() else float("nan")
        recall = inside.sum(1)[users] / n_rel[users]
        out[f"recall@{k}"] = float(recall.mean()) if users.any() else float("nan")
    best = r.min(1)[users]
    out["mrr"] = float((1.0 / best).mean()) if users.any() else float("nan")
    return out



def hit_rate_curve(ranks: np.ndarray, max_k: int) -> np.ndarray:
    """HitRate@K for K = 1..max_k (ranks as for ranking_metrics): the share of users whose
    best-placed held-out item ranks within K."""
    ranks = np.asarray(ranks, dtype=np.float64).reshape(len(ranks), -1)
    present = ~np.isnan(ranks)
    users = present.any(1)
    if not users.any():
        return np.full(max_k, np.nan)
    best = np.where(present, ranks, np.inf).min(1)[users]
    return np.searchsorted(np.sort(best), np.arange(1, max_k + 1), side="right") / len(best)
