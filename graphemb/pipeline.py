"""The Python API: one function per CLI verb, each reading and writing a workspace."""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from .errors import GraphembError
from .ingest.edges import edges_from_networkx, read_edge_list
from .ingest.sessions import parse_end_types, parse_event_weights, transitions_from_log
from .ingest.times import check_time_unit, parse_duration
from .io.tables import parse_columns
from .io.writers import FORMATS, guess_format, write_vectors
from .graph import Graph, graph_from_coded_edges, sessions_as_nodes
from .options import EXPORT, GRAPH, GRAPH_VERB, SIDE, TRAIN, TRAIN_VERB, WALK, WALK_VERB, checked
from .progress import progress
from .workspace import (Workspace, check_fresh, input_record, load_npy, locked,
                        read_manifest, save_npy, write_manifest)

def _one_stage_at_a_time(stage: str):
    """Run the stage holding the workspace lock (graphemb.workspace.locked)."""
    import functools

    def wrap(fn):
        @functools.wraps(fn)
        def locked_stage(*args, **kwargs):
            with locked(kwargs.get("workdir"), stage):
                return fn(*args, **kwargs)
        return locked_stage
    return wrap


# Every option's default and range is graphemb.options' (the API checks them as the CLI does).
G, W, T, S = GRAPH.defaults, WALK.defaults, TRAIN.defaults, SIDE.defaults


@_one_stage_at_a_time("build-graph")
@checked(GRAPH, GRAPH_VERB)
def build_graph(logs: str | Path | None = None, *, workdir=None, from_edges=None,
                user_col: str | None = None, item_col: str | None = None,
                time_col: str | None = None, weight_col: str | None = None,
                event_col: str | None = None, event_weights=None, session_gap=G.session_gap,
                undirected: bool = G.undirected, min_item_count: int = G.min_item_count,
                max_user_events: int | None = None, delimiter: str | None = None,
                engine: str = G.engine, memory_limit: str = G.memory_limit,
                time_unit: str = G.time_unit, no_header: bool = False, columns=None,
                end_session_on=None, min_dwell=None, dwell_col: str | None = None,
                append: bool = False, decay: float | None = None, quiet: bool = True) -> dict:
    """Build the item graph from a behaviour log (or an edge list) into ``workdir/graph``.

    ``append``: add this log's graph to the workspace's graph (new logs arriving daily):
    old edge weights times ``decay`` (default 1, no decay) plus the new ones, event counts
    summed, sessions kept; ``graph/previous_nodes.npy`` maps every node to its index in the
    graph before (-1: new), which ``train(warm_start=True)`` uses.

    ``engine``: "numpy" reads the log into memory (fastest, exact line numbers in errors);
    "duckdb" streams a log of any size under ``memory_limit``, spilling to disk; "spark" runs
    on Apache Spark; "auto" picks duckdb for logs over 2 GB on disk, numpy otherwise.

    ``logs`` (or ``from_edges``) may also be a networkx Graph or DiGraph: its nodes become
    the items and its edges' "weight" attribute the weights; a networkx Graph is undirected.

    ``end_session_on`` ("buy" or "buy,booking", or a list): events of these types (in
    ``event_col``) close their session. ``min_dwell`` (a duration, "30s") drops events whose
    dwell (``dwell_col``, seconds; guessed: dwell, duration, dwell_time) is shorter.

    Returns the manifest, whose "counts" say how many events each rule dropped.
    """
    ws = Workspace(workdir)
    t0 = time.perf_counter()
    nx_graph = next((g for g in (logs, from_edges) if _is_networkx(g)), None)
    if nx_graph is not None:
        logs, from_edges = None, nx_graph
        undirected = undirected or not nx_graph.is_directed()
    if (logs is None) == (from_edges is None):
        raise GraphembError("give either a log file or --from-edges FILE, not both or neither.")
    gap = parse_duration(session_gap)
    column_names = parse_columns(no_header, columns)
    end_types, dwell_min = _session_end_options(end_session_on, min_dwell, dwell_col, event_col,
                                                event_weights)
    previous = _graph_to_append_to(ws, append, decay, undirected)
    if from_edges is not None:
        # Options of a behaviour log would be ignored on an edge list: refuse them.
        log_only = {"--user-col": user_col, "--item-col": item_col, "--time-col": time_col,
                    "--weight-col": weight_col, "--event-col": event_col,
                    "--event-weights": event_weights, "--max-user-events": max_user_events,
                    "--end-session-on": end_types, "--min-dwell": dwell_min,
                    "--dwell-col": dwell_col,
                    "--no-header/--columns": column_names,
                    "--session-gap": None if gap == parse_duration(G.session_gap) else session_gap,
                    "--min-item-count": None if min_item_count == G.min_item_count
                    else min_item_count,
                    "--engine": None if engine == G.engine else engine,
                    "--memory-limit": None if memory_limit == G.memory_limit else memory_limit}
        idle = [k for k, v in log_only.items() if v not in (None, False)]
        if idle:
            raise GraphembError(f"{', '.join(idle)}: option(s) of a behaviour log, which an "
                                "edge list (--from-edges) would ignore; drop them.")
    if from_edges is not None and time_unit not in (None, G.time_unit):
        raise GraphembError("--time-unit applies to a log's time column; an edge list has "
                            "none, drop it.")
    if event_weights is not None and not event_col:
        raise GraphembError("--event-weights needs --event-col (the column holding the event "
                            "types); without it every event would weigh 1.")
    sessions = None            # a log read by the numpy engine also gives its sessions
    if nx_graph is not None:
        src, dst, weight, item_ids, item_counts, counts = edges_from_networkx(nx_graph)
        source = {"networkx": f"{type(nx_graph).__name__} with {nx_graph.number_of_nodes():,} "
                              f"nodes, {nx_graph.number_of_edges():,} edges"}
    elif from_edges is not None:
        src, dst, weight, item_ids, item_counts, counts = read_edge_list(Path(from_edges),
                                                                          delimiter)
        source = {"edges": os.path.abspath(from_edges)}    # usable from any folder
    else:
        src, dst, weight, item_ids, item_counts, counts, sessions = transitions_from_log(
            Path(logs), user_col, item_col, time_col, weight_col, event_col,
            parse_event_weights(event_weights), gap, min_item_count, max_user_events, delimiter,
            engine, memory_limit, ws.root, quiet, time_unit=check_time_unit(time_unit),
            column_names=column_names, end_session_on=end_types, min_dwell=dwell_min,
            dwell_col=dwell_col)
        dwell_col = counts.pop("dwell_col")             # as given or guessed
        source = {"logs": os.path.abspath(logs), "engine": counts.pop("engine"),
                  "time_unit": counts.pop("time_unit"),
                  "time_unit_option": time_unit or G.time_unit,
                  "columns": column_names}
    t_read = time.perf_counter()
    report = {}
    graph, isolated = graph_from_coded_edges(src, dst, weight, item_ids, item_counts, undirected,
                                             report=report)
    if graph.num_edges == 0:
        what = from_edges if from_edges is not None else logs
        raise GraphembError(f"{what}: no edges: no session has two distinct consecutive items; "
                            "check --session-gap, the filters and the user/time columns.")
    counts.update({"items_without_edges": isolated, "nodes": graph.num_nodes,
                   "edges": graph.num_edges})
    if sessions is not None:
        sessions = sessions_as_nodes(sessions, report.pop("node_of_item"))
    if previous is not None:
        graph, previous_nodes, sessions = _append(previous, graph, sessions, counts)
    if sessions is not None:
        counts["sessions_saved"] = len(sessions[1]) - 1
    params = {"session_gap_seconds": gap, "undirected": undirected,
              "min_item_count": min_item_count, "max_user_events": max_user_events,
              "weight_col": weight_col, "event_col": event_col,
              "event_weights": parse_event_weights(event_weights),
              "end_session_on": list(end_types) if end_types else None,
              "min_dwell_seconds": dwell_min, "dwell_col": dwell_col, **source}
    if undirected:
        # How the listing was read: a symmetric one keeps its weights, a one-way one has
        # both directions summed (graphemb.graph.csr_from_edges).
        params["symmetric_input"] = report["symmetric_input"]
    if previous is not None:
        params.update(previous["params"])
    with ws.writing("graph") as tmp:
        graph.save(tmp, sessions)
        if previous is not None:
            save_npy(tmp, "previous_nodes", previous_nodes)
        manifest = write_manifest(tmp, "graph", params, {}, counts,
                                  {"read_seconds": t_read - t0,
                                   "total_seconds": time.perf_counter() - t0})
    return manifest


def _session_end_options(end_session_on, min_dwell, dwell_col, event_col, event_weights):
    """(end types, min dwell in seconds) from --end-session-on and --min-dwell, each refused
    where it could have no effect."""
    end_types = parse_end_types(end_session_on)
    if end_types and not event_col:
        raise GraphembError("--end-session-on needs --event-col (the column holding the event "
                            "types, e.g. --event-col event).")
    weights = parse_event_weights(event_weights)
    dropped = [t for t in end_types or () if weights and t not in weights]
    if dropped:
        raise GraphembError(f"--end-session-on {','.join(dropped)}: --event-weights drops that "
                            f"type (it is not listed there); add it, e.g. {dropped[0]}=1.")
    dwell_min = None
    if min_dwell is not None:
        try:
            dwell_min = parse_duration(min_dwell)
        except GraphembError as exc:
            raise GraphembError(f"--min-dwell: {exc}") from None
        if not (dwell_min > 0 and np.isfinite(dwell_min)):
            raise GraphembError(f"--min-dwell {min_dwell!r}: give a duration above 0, e.g. 30s "
                                "(0 would drop nothing).")
    if dwell_col and dwell_min is None:
        raise GraphembError("--dwell-col only applies with --min-dwell (e.g. --min-dwell 30s); "
                            "add it or drop --dwell-col.")
    return end_types, dwell_min


def _graph_to_append_to(ws: Workspace, append: bool, decay, undirected: bool):
    """For --append: the workspace's graph, its sessions and what the new manifest records
    of it; None without --append. Checked before the new log is read."""
    from .graph import load_sessions
    from .workspace import file_hash

    if not append:
        if decay is not None:
            raise GraphembError("--decay weighs the old graph's edges in --append; without "
                                "--append there is no old graph: drop it or add --append.")
        return None
    decay = 1.0 if decay is None else decay        # its range: graphemb.options
    try:
        manifest = read_manifest(ws.graph, "graph")
    except GraphembError:
        raise GraphembError(f"{ws.graph}: no graph to append to; build the first one without "
                            "--append.") from None
    if bool(manifest["params"]["undirected"]) != bool(undirected):
        kind = "undirected" if manifest["params"]["undirected"] else "directed"
        raise GraphembError(f"{ws.graph} is {kind}; append with the same "
                            f"{'--undirected' if kind == 'undirected' else 'direction (drop --undirected)'}.")
    old_params = manifest["params"]
    history = old_params.get("history", []) + [
        {k: old_params.get(k) for k in ("logs", "edges", "decay") if old_params.get(k)}]
    return {"graph": Graph.load(ws.graph, directed=not undirected, mmap=False),
            "sessions": load_sessions(ws.graph, mmap=False),
            "params": {"appended_to": {"manifest_sha": file_hash(ws.graph / "manifest.json"),
                                       "nodes": manifest["counts"]["nodes"],
                                       "edges": manifest["counts"]["edges"]},
                       "decay": decay, "history": history}}


def _append(previous: dict, graph: Graph, sessions, counts: dict):
    """The new log's graph merged into the previous one (graphemb.graph.merge_graphs)."""
    from .graph import merge_graphs

    decay = previous["params"]["decay"]
    merged, previous_nodes, merged_sessions = merge_graphs(
        previous["graph"], graph, decay, previous["sessions"], sessions)
    counts.update({"new_log_nodes": graph.num_nodes, "new_log_edges": graph.num_edges,
                   "nodes_new_today": int((previous_nodes < 0).sum()),
                   "nodes": merged.num_nodes, "edges": merged.num_edges})
    return merged, previous_nodes, merged_sessions


def _is_networkx(obj) -> bool:
    # Checked by module name so that reading a file never imports networkx.
    return type(obj).__module__.startswith("networkx.")


def load_graph(workdir=None, mmap: bool = True, nodes: bool = True) -> tuple[Graph, dict]:
    ws = Workspace(workdir)
    manifest = read_manifest(ws.graph, "graph")
    graph = Graph.load(ws.graph, directed=not manifest["params"]["undirected"], mmap=mmap,
                       nodes=nodes)
    return graph, manifest


def parse_shard(shard) -> tuple[int, int] | None:
    """'2/4' -> (2, 4): the second of four shards (1-based)."""
    if shard is None or isinstance(shard, tuple):
        return shard
    part, sep, total = str(shard).partition("/")
    try:
        i, n = int(part), int(total)
    except ValueError:
        i, n = 0, 0
    if not sep or not 1 <= i <= n:
        raise GraphembError(f"--shard {shard!r}: write i/N with 1 <= i <= N, e.g. 2/4.")
    return i, n


@_one_stage_at_a_time("walk")
@checked(WALK, WALK_VERB)
def walk(*, workdir=None, num_walks: int = W.num_walks, walk_length: int = W.walk_length,
         p: float = W.p, q: float = W.q, seed: int = W.seed, workers: int | None = None,
         batch_walks: int = 0, shard=None, quiet: bool = True) -> dict:
    """Random walks over ``workdir/graph`` into ``workdir/walks/walks.npy`` (int32, -1 padded).

    With ``shard=(i, N)`` only the i-th of N equal blocks of start nodes is walked, into
    ``walks-shard-i-of-N/``; every walk keeps its number (and so its random stream), so the
    N shards together hold exactly the walks of the unsharded run.
    """
    from .walks import WalkSampler, set_workers, start_nodes

    shard = parse_shard(shard)
    ws = Workspace(workdir)
    t0 = time.perf_counter()
    graph, _ = load_graph(workdir, nodes=False)
    threads = set_workers(workers)
    sampler = WalkSampler(graph.indptr, graph.indices, graph.weights)
    t_prep = time.perf_counter()
    n_start = int(np.count_nonzero(np.diff(graph.indptr) > 0))
    first, last = 0, n_start
    if shard:
        first, last = (shard[0] - 1) * n_start // shard[1], shard[0] * n_start // shard[1]
    per_round = last - first
    total = per_round * num_walks
    # Batches keep memory bounded and let the progress bar move; ~16M steps each.
    batch = batch_walks or max(1, (1 << 24) // walk_length)
    folder = "walks" if not shard else f"walks-shard-{shard[0]}-of-{shard[1]}"
    with ws.writing(folder) as tmp:
        # One reused batch buffer, appended to the file in walk order: memory stays at one
        # batch (a memory map of the output would keep every written page resident).
        buffer = np.empty((min(batch, max(per_round, 1)), walk_length), dtype=np.int32)
        steps = 0
        with open(tmp / "walks.npy", "wb") as fh, \
                progress(total * walk_length, "walk", quiet, unit="step") as bar:
            np.lib.format.write_array_header_1_0(
                fh, {"descr": np.lib.format.dtype_to_descr(np.dtype(np.int32)),
                     "fortran_order": False, "shape": (total, walk_length)})
            for r, starts in start_nodes(graph.indptr, num_walks, seed):
                for a in range(first, last, batch):
                    chunk = starts[a:min(a + batch, last)]
                    view = buffer[:len(chunk)]
                    # The walk number r * n_start + a is the same as in an unsharded run.
                    sampler.walks(chunk, r * n_start + a, walk_length, p, q, seed, out=view)
                    steps += int(np.count_nonzero(view[:, 1:] >= 0))
                    fh.write(memoryview(view).cast("B"))
                    bar.update(len(chunk) * walk_length)
        t_walk = time.perf_counter()
        manifest = write_manifest(
            tmp, "walks",
            {"num_walks": num_walks, "walk_length": walk_length, "p": p, "q": q, "seed": seed,
             "workers": threads, "shard": list(shard) if shard else None},
            {"graph": input_record(ws.graph)},
            {"walks": total, "steps": steps, "start_nodes": n_start, "nodes": graph.num_nodes},
            {"prepare_seconds": t_prep - t0, "walk_seconds": t_walk - t_prep,
             "steps_per_second": steps / max(t_walk - t_prep, 1e-9),
             "total_seconds": time.perf_counter() - t0})
    return manifest


def load_walks(workdir=None) -> tuple[np.ndarray, dict]:
    ws = Workspace(workdir)
    manifest = read_manifest(ws.walks, "walks")
    check_fresh(manifest, ws.walks, "walks", "graph", ws.graph)
    return load_npy(ws.walks, "walks"), manifest


def find_walk_folders(workdir=None, walk_dirs=None) -> list[Path]:
    """The walk folders to train on: given ones, else walks/, else a complete shard set."""
    ws = Workspace(workdir)
    if walk_dirs:
        return [Path(d) for d in walk_dirs]
    if ws.walks.exists():
        return [ws.walks]
    shards = sorted(ws.root.glob("walks-shard-*-of-*"))
    if not shards:
        return [ws.walks]  # read_manifest will say what to run
    totals = {s.name.rsplit("-of-", 1)[1] for s in shards}
    if len(totals) != 1:
        raise GraphembError(f"{ws.root}: walk shards of different splits "
                            f"({', '.join(s.name for s in shards)}); keep one set.")
    n = int(totals.pop())
    have = {int(s.name.split("-")[2]) for s in shards}
    missing = sorted(set(range(1, n + 1)) - have)
    if missing:
        raise GraphembError(f"{ws.root}: walk shard(s) {', '.join(map(str, missing))} of {n} "
                            f"missing; run `graphemb walk --shard {missing[0]}/{n}` or copy "
                            "them in.")
    return sorted(shards, key=lambda s: int(s.name.split("-")[2]))


def load_walk_sets(workdir=None, walk_dirs=None) -> list[tuple[np.ndarray, dict, Path]]:
    """Walk arrays (memory-mapped) with their manifests, each checked against the graph."""
    ws = Workspace(workdir)
    sets = []
    for folder in find_walk_folders(workdir, walk_dirs):
        manifest = read_manifest(folder, "walks")
        check_fresh(manifest, folder, "walks", "graph", ws.graph)
        sets.append((load_npy(folder, "walks"), manifest, folder))
    params = [{k: v for k, v in m["params"].items() if k not in ("shard", "workers")}
              for _, m, _ in sets]
    if any(p != params[0] for p in params[1:]):
        raise GraphembError("walk shards were made with different options; rerun "
                            "`graphemb walk` with the same options for every shard.")
    return sets


def check_walks(workdir=None, walk_dirs=None) -> None:
    """Refuse walks no kernel should see: not a 2-D int32 array, a node id outside the graph
    (the trainers index arrays with them unchecked), or no pair of nodes to train on."""
    graph_manifest = read_manifest(Workspace(workdir).graph, "graph")
    n_nodes = int(graph_manifest["counts"]["nodes"])
    pairs = False
    for walks, _, folder in load_walk_sets(workdir, walk_dirs):
        path = Path(folder) / "walks.npy"
        if walks.ndim != 2 or walks.dtype != np.int32:
            raise GraphembError(f"{path}: expected a 2-D int32 array of node ids, found "
                                f"{walks.ndim}-D {walks.dtype}; rerun `graphemb walk`.")
        step = max(1, (1 << 24) // max(walks.shape[1], 1))
        for a in range(0, len(walks), step):
            block = np.asarray(walks[a:a + step])
            if not block.size:
                continue
            lo, hi = int(block.min()), int(block.max())
            if lo < -1 or hi >= n_nodes:
                bad = np.flatnonzero(((block < -1) | (block >= n_nodes)).any(1))[0]
                value = lo if lo < -1 else hi
                raise GraphembError(
                    f"{path}: row {a + bad} holds node id {value}, outside the graph's "
                    f"0..{n_nodes - 1} (-1 pads); the walks are not of this graph or are "
                    "damaged: rerun `graphemb walk`.")
            if walks.shape[1] >= 2 and not pairs:
                pairs = bool((block[:, 1] >= 0).any())
    if not pairs:
        raise GraphembError("the walks hold no pair of nodes (0 steps: --walk-length 1, or "
                            "every start node without an out-edge); nothing to train on. "
                            "Rerun `graphemb walk --walk-length 80`.")


# What a LINE run cannot use (a value other than the default would have no effect).
LINE_IDLE = ("window", "epochs", "sample")


def not_for_line(flags) -> GraphembError:
    return GraphembError(f"{', '.join(flags)}: not used by LINE, which samples edges of the "
                         "graph (no walks, windows or epochs; size the run with "
                         "--samples-per-node); drop them.")


def _check_train_options(*, model, on, trainer, window, side_info, hs, sg, min_count,
                         negative, samples_per_node, dim, epochs, line_values) -> str:
    """Refuse what a trainer would ignore or cannot do; return the trainer to run:
    gensim, numba (skip-gram, GES, EGES) or line."""
    # Ranges and choices are checked by graphemb.options (@checked); here what depends on
    # several options at once.
    if window == "session" and on != "sessions":
        raise GraphembError("--window session pairs every two items of a session; it needs "
                            "--on sessions (item2vec). Give a number of positions for walks.")
    if not hs and negative == 0:
        raise GraphembError("--negative 0 needs --hs (otherwise nothing is trained).")
    if samples_per_node is not None and not model.startswith("line"):
        raise GraphembError("--samples-per-node sets how many edges LINE samples; it needs "
                            "--model line1 or line2.")
    if model.startswith("line"):
        idle = [f"--{k.replace('_', '-')}" for k in LINE_IDLE
                if line_values[k] != TRAIN.by_name[k].default]
        idle += ["--on sessions"] * (on != "walks") + ["--side-info"] * (side_info is not None)
        idle += [f"--trainer {trainer}"] * (trainer is not None)
        if idle:
            raise not_for_line(idle)
    gensim_only = hs or not sg or min_count != 1
    needs_numba = side_info is not None or on == "sessions" or model.startswith("line")
    if needs_numba and trainer == "gensim":
        why = "--side-info (EGES)" if side_info is not None else "--on sessions (item2vec)"
        raise GraphembError(f"{why} trains with graphemb's Numba trainer; drop --trainer gensim.")
    if (needs_numba or trainer == "numba") and gensim_only:
        raise GraphembError("--side-info, --on sessions, LINE and --trainer numba train "
                            "skip-gram with negative sampling only; drop --hs, --cbow and "
                            "--min-count.")
    if (needs_numba or trainer == "numba") and negative < 1:
        raise GraphembError("graphemb's trainer needs --negative of at least 1 (it has no "
                            "hierarchical softmax).")
    if model.startswith("line"):
        return "line"
    return "numba" if needs_numba or trainer == "numba" else "gensim"


def _training_sessions(workdir, graph_folder: Path):
    """The graph's sessions for item2vec, or a one-line refusal naming what to do."""
    from .graph import load_sessions

    sessions = load_sessions(graph_folder)
    if sessions is None:
        raise GraphembError(f"{graph_folder}: this graph keeps no sessions (it was built from "
                            "an edge list, by an SQL engine, or by an older graphemb); rebuild "
                            "it with `graphemb build-graph LOGS` (numpy engine) to train "
                            "--on sessions.")
    if len(sessions.offsets) < 2:
        raise GraphembError(f"{graph_folder}: the log has no session of two or more items; "
                            "nothing to train --on sessions.")
    return sessions


def _warm_start_state(ws: Workspace, graph: Graph, graph_manifest: dict, dim: int, seed: int):
    """The previous model carried over to today's graph: {"init": (E, Z), "record": ...}."""
    from .models.warm import carried_rows
    from .workspace import file_hash

    try:
        model = read_manifest(ws.model, "model")
    except GraphembError:
        raise GraphembError(f"{ws.model}: no model to warm-start from; train once without "
                            "--warm-start.") from None
    if not (ws.model / "context.npy").exists():
        raise GraphembError(f"{ws.model}: this model keeps no context vectors (trained by "
                            f"gensim, LINE or EGES: method {model['params'].get('method')}); "
                            "warm start needs one trained with --trainer numba or --on "
                            "sessions.")
    if model["params"].get("dim") != dim:
        raise GraphembError(f"{ws.model} has --dim {model['params'].get('dim')}; a warm start "
                            f"keeps it (got --dim {dim}).")
    trained_on = model.get("inputs", {}).get("graph", {}).get("manifest_sha")
    appended_to = graph_manifest["params"].get("appended_to", {}).get("manifest_sha")
    if trained_on == file_hash(ws.graph / "manifest.json"):
        previous = np.arange(graph.num_nodes)              # the same graph: row for row
    elif trained_on is not None and trained_on == appended_to:
        previous = load_npy(ws.graph, "previous_nodes", mmap=False)
    else:
        raise GraphembError(f"{ws.model} was trained on another graph than the one "
                            f"{ws.graph} was appended to; warm start needs the model of the "
                            "graph before `build-graph --append` (train after each append).")
    E, Z, counts = carried_rows(previous, load_npy(ws.model, "vectors", mmap=False),
                                load_npy(ws.model, "context", mmap=False),
                                load_npy(ws.model, "has_vector", mmap=False),
                                np.asarray(graph.indptr), np.asarray(graph.indices), seed)
    return {"init": (E, Z), "record": {"from_model_sha": file_hash(ws.model / "manifest.json"),
                                       **counts}}


@_one_stage_at_a_time("train")
@checked(TRAIN, TRAIN_VERB, SIDE)
def train(*, workdir=None, dim: int = T.dim, window=T.window, epochs: int = T.epochs,
          negative: int = T.negative, sg: bool = T.sg, hs: bool = T.hs,
          ns_exponent: float = T.ns_exponent, sample: float = T.sample,
          min_count: int = T.min_count, alpha: float = T.alpha, workers: int | None = None,
          seed: int = T.seed, walk_dirs=None, quiet: bool = True, side_info=None, side_cols=None,
          fusion: str = S.fusion, item_col: str | None = None, multi_value: str = S.multi_value,
          trainer: str | None = S.trainer, delimiter: str | None = None,
          side_update: str = S.side_update, attention_lr: float = S.attention_lr,
          model: str = T.model, on: str = T.on, samples_per_node: float | None = None,
          warm_start: bool = False) -> dict:
    """Train item vectors into ``workdir/model/vectors.npy`` (node order).

    model="skipgram" (default) trains skip-gram on the walks (``on="walks"``) or on the
    graph's sessions (``on="sessions"``: item2vec; ``window="session"`` pairs every two
    items of a session). By gensim unless ``trainer="numba"``; sessions and ``side_info``
    (EGES, or GES with fusion="ges") use graphemb's Numba trainer (graphemb.models.sgns,
    .eges). model="line1"/"line2" trains LINE on the graph's edges (no walks).

    ``walk_dirs`` trains on these walk folders (e.g. shards made on other machines) instead;
    by default walks/, or else every ``walks-shard-i-of-N`` folder of the workspace.

    ``warm_start`` starts from the workspace's previous model (graphemb's trainer, skip-gram
    on walks or sessions), carried over to a graph made by ``build_graph(append=True)``
    (graphemb.models.warm).
    """
    from .models import eges, line, sgns
    from .models.word2vec import fit_word2vec
    from .walks import set_workers

    run_with = _check_train_options(
        model=model, on=on, trainer=trainer, window=window, side_info=side_info, hs=hs, sg=sg,
        min_count=min_count, negative=negative, samples_per_node=samples_per_node, dim=dim,
        epochs=epochs, line_values={"window": window, "epochs": epochs, "sample": sample})
    if walk_dirs and (on == "sessions" or run_with == "line"):
        raise GraphembError("--walks names walk folders; LINE and --on sessions do not read "
                            "walks: drop it.")
    ws = Workspace(workdir)
    t0 = time.perf_counter()
    side = None if side_info is None else eges.read_side_info(
        side_info, item_col=item_col, side_cols=side_cols, delimiter=delimiter,
        multi_value=multi_value)
    graph, graph_manifest = load_graph(workdir)
    if warm_start and (run_with != "numba" or side is not None):
        raise GraphembError("--warm-start continues graphemb's skip-gram (walks or sessions); "
                            "add --trainer numba, and drop --side-info or --model.")
    warm = _warm_start_state(ws, graph, graph_manifest, dim, seed) if warm_start else None
    inputs = {}
    if run_with == "line":
        corpus, n_rows = None, 0
    elif on == "sessions":
        corpus = _training_sessions(workdir, ws.graph)
        n_rows = len(corpus.offsets) - 1
    else:
        check_walks(workdir, walk_dirs)
        walk_sets = load_walk_sets(workdir, walk_dirs)
        corpus = [w for w, _, _ in walk_sets]
        inputs = {("walks" if i == 0 else f"walks{i}"): input_record(folder)
                  for i, (_, _, folder) in enumerate(walk_sets)}
        n_rows = sum(len(w) for w in corpus)
    inputs["graph"] = input_record(ws.graph)
    if side is not None:
        inputs["side_info"] = eges.side_info_record(Path(side_info))
    options = dict(dim=dim, window=window, epochs=epochs, negative=negative,
                   ns_exponent=ns_exponent, sample=sample, alpha=alpha, seed=seed)
    t_read = time.perf_counter()
    with ws.writing("model") as tmp:
        if run_with == "gensim":
            with progress(n_rows, "corpus", quiet, unit="walk") as bar:
                fitted = fit_word2vec(corpus, graph.num_nodes, tmp, sg=sg, hs=hs,
                                      min_count=min_count, workers=workers, quiet=quiet,
                                      on_rows=bar.update, **options)
        else:
            threads = set_workers(workers)
            options["min_alpha"] = 0.0001
            if run_with == "line":
                per_node = 1000 if samples_per_node is None else samples_per_node
                total = line.line_samples(graph.num_nodes, per_node)
                with progress(total, "train", quiet, unit="edge") as bar:
                    fitted = line.fit_line(graph, order=int(model[-1]), dim=dim,
                                           negative=negative, ns_exponent=ns_exponent,
                                           alpha=alpha, seed=seed, samples_per_node=per_node,
                                           on_samples=bar.update)
            else:
                if on == "sessions":
                    options["window"] = None if window == "session" else window
                with progress(n_rows * epochs, "train", quiet, unit=on[:-1]) as bar:
                    if side is None:
                        fitted = sgns.fit_skipgram(corpus, graph.num_nodes, on_rows=bar.update,
                                                   corpus=on, init=warm and warm["init"],
                                                   **options)
                    else:
                        fitted = eges.fit_eges(corpus, graph.node_ids, side, tmp, fusion=fusion,
                                               multi_value=multi_value,
                                               attention_lr=attention_lr,
                                               side_update=side_update, on_rows=bar.update,
                                               **options)
                        fitted.params.update(on=on, window=window)
            fitted.params["workers"] = threads
            fitted.timings["read_seconds"] = t_read - t0
        save_npy(tmp, "vectors", fitted.vectors)
        save_npy(tmp, "has_vector", fitted.has_vector)
        for name, array in fitted.arrays.items():
            save_npy(tmp, name, array)
        if warm is not None:
            fitted.params["warm_start"] = warm["record"]
        manifest = write_manifest(tmp, "model", fitted.params, inputs, fitted.counts,
                                  {**fitted.timings, "total_seconds": time.perf_counter() - t0})
    return manifest


def load_vectors(workdir=None) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """(item_ids, vectors, has_vector, manifest) of the trained model, checked for staleness;
    graphemb.ItemVectors.load gives them as one object."""
    from .vectors import ItemVectors

    items = ItemVectors.load(workdir)
    return items.ids, items.vectors, items.has_vector, items.manifest


@checked(EXPORT)
def export(output: str | Path, *, workdir=None, format: str | None = None,
           include_missing: bool = False, what: str = EXPORT.defaults.what) -> dict:
    """Write item vectors to ``output``; the format follows the file name unless given.

    EGES/GES models add their cold-start items and a boolean ``cold_start`` column;
    what="side-info" or "attention" writes their side-information embeddings or attention
    weights instead.
    """
    if str(output) == "-":
        return _export_to_stdout(workdir=workdir, format=format,
                                 include_missing=include_missing, what=what)
    output = Path(output)
    fmt = format or guess_format(output)
    if fmt not in FORMATS:
        raise GraphembError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}.")
    if what != "vectors":
        from .models.eges import export_extra
        return export_extra(output, fmt, what, workdir)
    from .vectors import ItemVectors

    items = ItemVectors.load(workdir)
    # EGES/GES models also hold cold-start items (side information, no edge).
    rows = items.with_cold_start() if items.side_info else items
    if not include_missing:
        rows = rows.subset(rows.has_vector)
    extra = {"cold_start": rows.cold_start} if items.side_info else None
    files = write_vectors(output, fmt, rows.ids, rows.vectors, extra)
    return {"files": [str(f) for f in files], "rows": len(rows), "dim": rows.dim,
            "format": fmt, "skipped_without_vector": int((~items.has_vector).sum())
            if not include_missing else 0}


def _export_to_stdout(*, workdir, format, include_missing, what) -> dict:
    """`export -`: the file (CSV unless --format says) written whole, then copied to stdout,
    so that a failure sends nothing half-written down the pipe."""
    import shutil
    import sys
    import tempfile

    fmt = format or "csv"
    if fmt == "npy":
        raise GraphembError("export -: npy output is two files (.npy and .ids.parquet); "
                            "choose another --format for stdout.")
    with tempfile.TemporaryDirectory(prefix="graphemb-export-") as tmp:
        result = export(Path(tmp) / "stdout", workdir=workdir, format=fmt,
                        include_missing=include_missing, what=what)
        out = getattr(sys.stdout, "buffer", None)
        with open(result["files"][0], "rb") as fh:
            if out is None:     # a text-only stdout (a test runner): text formats only
                sys.stdout.write(fh.read().decode("utf-8"))
            else:
                sys.stdout.flush()
                shutil.copyfileobj(fh, out, 1 << 20)
                out.flush()
    return {**result, "files": ["-"]}


@_one_stage_at_a_time("run")
def run(logs, output: str | Path | None = None, *, workdir=None, graph_options: dict | None = None,
        walk_options: dict | None = None, train_options: dict | None = None,
        export_format: str | None = None, quiet: bool = True) -> dict:
    """All four stages with one set of options (all checked before the first stage runs)."""
    for stage, given in ((GRAPH, graph_options), (WALK, walk_options), (TRAIN, train_options),
                         (SIDE, train_options)):
        stage.check(**(given or {}))
    results = {"graph": build_graph(logs, workdir=workdir, quiet=quiet, **(graph_options or {}))}
    results["walks"] = walk(workdir=workdir, quiet=quiet, **(walk_options or {}))
    results["model"] = train(workdir=workdir, quiet=quiet, **(train_options or {}))
    if output is not None:
        results["export"] = export(output, workdir=workdir, format=export_format)
    return results
