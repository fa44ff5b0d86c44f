"""What the evaluation tasks share: the options in force (given, else the workspace's
manifests), a temporary workspace retrained with them, scikit-learn on demand, the tables."""
from __future__ import annotations

import os
import shutil
import tempfile
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..errors import GraphembError, require
from ..options import GRAPH, GRAPH_INPUT, SIDE, TRAIN, WALK
from ..workspace import Workspace, read_manifest, write_manifest


def format_table(headers, rows) -> str:
    """A plain aligned text table; floats with 4 decimals."""
    cells = [[_cell(x) for x in row] for row in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    line = "  ".join(f"{h:>{w}}" if i else f"{h:<{w}}" for i, (h, w) in
                     enumerate(zip(headers, widths)))
    out = [line, "  ".join("-" * w for w in widths)]
    for r in cells:
        out.append("  ".join(f"{c:>{w}}" if i else f"{c:<{w}}" for i, (c, w) in
                             enumerate(zip(r, widths))))
    return "\n".join(out)


def _cell(x) -> str:
    if isinstance(x, (float, np.floating)):
        return "nan" if np.isnan(x) else f"{x:.4f}"
    return str(x)


# option -> its manifest key, for the options carried over from the workspace (graphemb.options);
# a graph is rebuilt from a rewritten copy of the log, so how the log was read is not carried.
WALK_KEYS = WALK.manifest_keys
TRAIN_KEYS = {**TRAIN.manifest_keys, "trainer": SIDE.trainer.manifest}
GRAPH_KEYS = {k: v for k, v in GRAPH.manifest_keys.items() if k not in GRAPH_INPUT}


def current_options(workdir=None, walk=None, train=None, graph=None) -> dict:
    """The options in force: those given, else those recorded in the workspace's manifests
    (graph/, walks/, model/, including the trainer, gensim or numba), else the pipeline
    defaults (by leaving them out)."""
    ws = Workspace(workdir)
    recorded = {}
    for stage, folder in (("graph", ws.graph), ("walks", ws.walks), ("model", ws.model)):
        try:
            recorded[stage] = read_manifest(folder, stage)["params"]
        except GraphembError:
            recorded[stage] = {}
    g, w, t = (_recorded(recorded[stage], keys) for stage, keys in
               (("graph", GRAPH_KEYS), ("walks", WALK_KEYS), ("model", TRAIN_KEYS)))
    method = recorded["model"].get("method", "word2vec")
    if method == "word2vec":      # gensim
        t["trainer"] = "gensim"
    elif method == "skipgram":    # plain skip-gram with the Numba trainer
        t["trainer"] = "numba"
    elif method == "item2vec":    # skip-gram on the sessions (Numba trainer)
        t.pop("trainer", None)
        t["on"] = "sessions"
    elif method in ("line1", "line2"):
        t = {k: v for k, v in t.items() if k not in ("trainer", "window", "epochs", "sample")}
        t["model"] = method
        t["samples_per_node"] = recorded["model"].get("samples_per_node")
    else:                         # EGES/GES: evaluation retrains plain skip-gram with defaults
        t = {}
    if t and t.get("trainer") == "numba":
        t.pop("min_count", None)
    g.update({k: v for k, v in (graph or {}).items() if v is not None})
    w.update({k: v for k, v in (walk or {}).items() if v is not None})
    t.update({k: v for k, v in (train or {}).items() if v is not None})
    return {"graph": g, "walk": w, "train": t}


def _recorded(params: dict, keys: dict) -> dict:
    """The options recorded in a manifest's params, by option name."""
    return {name: params[key] for name, key in keys.items() if key in params}


@contextmanager
def temporary_workspace(workdir, task: str, keep: bool = False):
    root = Workspace(workdir).root / "eval"
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{task}-{os.getpid()}-", dir=root))  # pid: orphans
    try:
        yield tmp
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)


def write_graph(tmp_ws: Path, graph, params: dict, counts: dict, sessions=None) -> None:
    ws = Workspace(tmp_ws)
    with ws.writing("graph") as folder:
        graph.save(folder, sessions)
        write_manifest(folder, "graph", params, {}, counts, {})


def needs_walks(train_options: dict) -> bool:
    """LINE trains on the edges and item2vec on the sessions: neither reads walks."""
    return train_options.get("model", "skipgram") == "skipgram" and \
        train_options.get("on", "walks") == "walks"


def walk_train(tmp_ws, options, quiet):
    """Walk and train in ``tmp_ws`` with ``options``: (ItemVectors, timings)."""
    from .. import pipeline
    from ..vectors import ItemVectors

    t0 = time.perf_counter()
    if needs_walks(options["train"]):
        pipeline.walk(workdir=tmp_ws, quiet=quiet, **options["walk"])
    t1 = time.perf_counter()
    pipeline.train(workdir=tmp_ws, quiet=quiet, **options["train"])
    t2 = time.perf_counter()
    return ItemVectors.load(tmp_ws), {"walk_seconds": t1 - t0, "train_seconds": t2 - t1}


def sklearn_module(module: str, verb: str):
    return require("sklearn." + module, "eval", f"`graphemb {verb}` (scikit-learn)")


def quiet_sklearn():
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    try:
        from sklearn.exceptions import ConvergenceWarning, UndefinedMetricWarning
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        warnings.filterwarnings("ignore", category=UndefinedMetricWarning)
    except ImportError:  # pragma: no cover
        pass

