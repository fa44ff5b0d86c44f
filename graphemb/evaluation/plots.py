"""The evaluation results as pictures (`graphemb evaluate ... --plot FILE.png`): node
classification's F1 against the labelled ratio, next-item HitRate@K against K, link
prediction's AUC per scorer. Each takes the result dict its task returns (or its JSON)."""
from __future__ import annotations

from pathlib import Path

from ..errors import GraphembError, require

SIZE = (900, 600)          # pixels
DPI = 100


def check_plot(path, task: str) -> Path:
    """Refuse, before the evaluation runs, a plot file that could not be written."""
    from ..plotting import check_output

    check_output(path, f"`graphemb evaluate {task} --plot`", formats=("png",))
    return Path(path)


def _figure():
    require("matplotlib", "plot", "`graphemb evaluate --plot`")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(SIZE[0] / DPI, SIZE[1] / DPI), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def node_classification_axes(ax, result: dict) -> None:
    rows = result["results"]
    ratios = [r["train_ratio"] for r in rows]
    for key, label in (("micro_f1", "Micro-F1"), ("macro_f1", "Macro-F1")):
        ax.errorbar(ratios, [r[key] for r in rows], yerr=[r.get(key + "_std", 0) for r in rows],
                    marker="o", capsize=3, label=label)
    ax.set_xlabel("share of nodes labelled (train ratio)")
    ax.set_ylabel("F1 on the other nodes")
    c = result.get("counts", {})
    ax.set_title(f"node classification: {c.get('labelled_nodes', 0):,} nodes, "
                 f"{c.get('labels', 0)} labels, mean ± sd over "
                 f"{rows[0].get('repeats', 0)} splits")
    ax.legend()
    ax.grid(alpha=0.3)


def next_item_axes(ax, result: dict) -> None:
    curve = result.get("hit_curve")
    for name, m in result["metrics"].items():
        if curve:
            ax.plot(curve["k"], curve["methods"][name], label=name)
        else:                                   # results written before hit_curve existed
            ks = result["params"]["ks"]
            ax.plot(ks, [m[f"hit@{k}"] for k in ks], marker="o", label=name)
    ax.set_xlabel("K (items recommended)")
    ax.set_ylabel("HitRate@K (held-out item in the top K)")
    c = result.get("counts", {})
    ax.set_title(f"next item: {c.get('test_users', 0):,} users, catalogue of "
                 f"{c.get('catalogue', 0):,} items")
    ax.set_ylim(bottom=0)
    ax.legend()
    ax.grid(alpha=0.3)


def link_prediction_axes(ax, result: dict) -> None:
    from .link_prediction import SCORERS

    kinds = result.get("scorers", {k: "" for k in result["auc"]})
    names = list(kinds)
    labels = [SCORERS[n][1] if n in SCORERS else n for n in names]
    values = [result["auc"][n] for n in names]
    colours = ["#1f77b4" if kinds[n] == "embedding" else "#a0a0a0" for n in names]
    y = list(range(len(names)))[::-1]
    ax.barh(y, values, color=colours)
    for yi, v in zip(y, values):
        ax.text(min(v, 1.0) + 0.01, yi, f"{v:.3f}", va="center", fontsize=9)
    ax.set_yticks(y, labels)
    ax.axvline(0.5, color="black", linewidth=0.8, linestyle="--")
    ax.set_xlim(0, 1.08)
    ax.set_xlabel("AUC (0.5 = chance, dashed)")
    p = result.get("params", {})
    ax.set_title(f"link prediction: {p.get('negatives', '?')} non-edges; blue: embedding, "
                 "grey: graph baselines")


AXES = {"node-classification": node_classification_axes, "next-item": next_item_axes,
        "link-prediction": link_prediction_axes}


def plot_result(result: dict, path) -> Path:
    """Draw an evaluation ``result`` (by its "task") into the PNG ``path``, written to a
    temporary name and renamed."""
    from ..workspace import atomic_file

    task = result.get("task")
    if task not in AXES:
        raise GraphembError(f"cannot plot a result of task {task!r}; expected one of "
                            f"{', '.join(AXES)}.")
    fig = _figure()
    ax = fig.add_axes((0.3, 0.12, 0.65, 0.78) if task == "link-prediction"
                      else (0.1, 0.1, 0.85, 0.8))
    AXES[task](ax, result)
    path = Path(path)
    with atomic_file(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI)
    return path


def with_plot(path, result: dict) -> dict:
    """``result``, drawn into ``path`` first if one is given (its name added as "plot")."""
    if path is not None:
        result["plot"] = str(plot_result(result, path))
    return result
