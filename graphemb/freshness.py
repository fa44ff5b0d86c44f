"""`graphemb status`: each stage of a workspace, its key parameters, fresh or stale, and the
command that (re)makes it."""
from __future__ import annotations

import os
import shlex
from pathlib import Path

from .errors import GraphembError
from .ingest.times import parse_duration
from .options import GRAPH, TRAIN, WALK, Opt
from .workspace import DEFAULT_WORKDIR, RERUN, Workspace, check_fresh, read_manifest


def _as_text(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict):                       # --event-weights
        return ",".join(f"{k}={v:g}" for k, v in value.items())
    if isinstance(value, (list, tuple)):              # --columns, --side-cols
        return ",".join(map(str, value))
    return str(value)


def _args(opt: Opt, value, every: bool = False) -> list[str]:
    """The command-line words that give ``opt`` its recorded ``value``: none for the default
    unless ``every`` (a flag never)."""
    if value is None or (not every or opt.kind == bool) and value == opt.default:
        return []
    if opt.kind == bool:
        return [opt.cli_flag] if value else [opt.off] if opt.off else []
    return [opt.cli_flag, _as_text(value)]


def _recorded_args(stage, p: dict, every: bool, skip=()) -> list[str]:
    """Every option of ``stage`` recorded in the manifest params ``p`` (graphemb.options)."""
    return [a for o in stage if o.cli and o.manifest and o.name not in skip
            for a in _args(o, p.get(o.manifest), every)]


# Recorded differently from how they are given: the graph's source, the session gap (in
# seconds), --columns (with --no-header), the engine (the one auto chose), the walk threads.
_GRAPH_OWN = ("from_edges", "session_gap", "columns", "engine")


def _graph_command(p: dict) -> str:
    args = ["graphemb", "build-graph"]
    if p.get("edges"):
        args += ["--from-edges", p["edges"]]
    else:
        args.append(p.get("logs") or "LOGS")
        gap = p.get("session_gap_seconds")
        if gap is not None and gap != parse_duration(GRAPH.session_gap.default):
            args += ["--session-gap", f"{gap:g}s"]
        if p.get("columns"):
            args += ["--no-header", "--columns", _as_text(p["columns"])]
        if p.get("engine") and p["engine"] != "numpy":
            args += ["--engine", p["engine"]]
    command = shlex.join(args + _recorded_args(GRAPH, p, False, _GRAPH_OWN))
    if "appended_to" in p:
        # An appended graph is remade by building the first log and appending each later one
        # (the options of the earlier days are not recorded: the same ones are assumed).
        decay = [] if p.get("decay", 1) == 1 else ["--decay", f"{p['decay']:g}"]
        steps = [shlex.join(["graphemb", "build-graph", h.get("logs") or h.get("edges", "?")])
                 for h in p.get("history", [])[:1]]
        steps += [shlex.join(["graphemb", "build-graph", h.get("logs") or h.get("edges", "?"),
                              "--append"]) for h in p.get("history", [])[1:]]
        command = " && ".join(steps + [command + " " + shlex.join(["--append", *decay])])
    return command


def _walk_command(p: dict) -> str:
    args = ["graphemb", "walk", *_recorded_args(WALK, p, True, ("workers",))]
    if p.get("shard"):
        args += ["--shard", "{}/{}".format(*p["shard"])]
    return shlex.join(args)


def _train_command(p: dict) -> str:
    method = p.get("method", "word2vec")
    # graphemb's trainer records sg and hs it cannot change and no --min-count
    fixed = ("workers", "alpha") + (("sg", "hs", "min_count") if method != "word2vec" else ())
    args = ["graphemb", "train", *_recorded_args(TRAIN, p, True, fixed)]
    if method in ("eges", "ges"):
        if p.get("side_info"):
            args += ["--side-info", str(p["side_info"])]
        if p.get("side_cols"):
            args += ["--side-cols", _as_text(p["side_cols"])]
        args += ["--fusion", method]
    elif method == "skipgram":
        args += ["--trainer", "numba"]
    elif method == "item2vec":
        args += ["--on", "sessions"]
    elif method in ("line1", "line2"):
        args += ["--model", method]
        if p.get("samples_per_node") not in (None, 1000):
            args += ["--samples-per-node", f"{p['samples_per_node']:g}"]
    return shlex.join(args)


def _summary(stage: str, p: dict) -> str:
    if stage == "graph":
        source = p.get("logs") or p.get("edges") or "?"
        unit = f", times in {p['time_unit']}" if p.get("time_unit") else ""
        ends = (f", sessions end on {','.join(p['end_session_on'])}"
                if p.get("end_session_on") else "")
        dwell = (f", dwell >= {p['min_dwell_seconds']:g}s ({p['dwell_col']})"
                 if p.get("min_dwell_seconds") else "")
        return f"{source}{', undirected' if p.get('undirected') else ''}{unit}{ends}{dwell}"
    if stage == "walks":
        return f"{p['num_walks']} x {p['walk_length']} nodes, p={p['p']:g} q={p['q']:g}, " \
               f"seed {p['seed']}"
    return f"{p.get('method', 'word2vec')}, dim {p.get('dim')}, window {p.get('window')}, " \
           f"epochs {p.get('epochs')}"


def _model_reads_walks(ws: Workspace) -> bool:
    """Whether the workspace's model (if any) was trained on walks."""
    try:
        inputs = read_manifest(ws.model, "model").get("inputs", {})
    except GraphembError:
        return True
    return any(name.rstrip("0123456789") == "walks" for name in inputs)


def status(workdir=None) -> list[dict]:
    """One row per stage: stage, folder, state (fresh, stale, missing, unreadable), what its
    parameters are, why it is stale, and the command to (re)run."""
    ws = Workspace(workdir)
    if not ws.root.is_dir():
        raise GraphembError(f"{ws.root}: no workspace here; run `graphemb build-graph LOGS` "
                            "(or pass --workdir).")
    walk_folders = [ws.walks] if ws.walks.exists() else sorted(ws.root.glob("walks-shard-*"))
    if not walk_folders and not _model_reads_walks(ws):
        walk_folders = []       # LINE or item2vec: no walk stage to report (or rebuild)
    else:
        walk_folders = walk_folders or [ws.walks]
    stages = [("graph", ws.graph)] + [("walks", f) for f in walk_folders] + \
        [("model", ws.model)]
    rows, upstream_bad = [], False
    for stage, folder in stages:
        row = {"stage": stage, "folder": str(folder), "params": "", "why": ""}
        try:
            manifest = read_manifest(folder, stage)
        except GraphembError as exc:
            row.update(state="missing" if not (folder / "manifest.json").exists()
                       else "unreadable", why=str(exc), command=RERUN[stage])
            rows.append(row)
            upstream_bad = True
            continue
        p = manifest["params"]
        row["params"] = _summary(stage, p)
        row["command"] = {"graph": _graph_command, "walks": _walk_command,
                          "model": _train_command}[stage](p)
        state, why = "fresh", ""
        if stage == "graph":
            source = p.get("logs") or p.get("edges")
            if source and not os.path.exists(source):
                why = f"{source} no longer exists"
            elif source and os.path.getmtime(source) > \
                    os.path.getmtime(folder / "manifest.json"):
                state, why = "stale", f"{source} changed after the graph was built"
        else:
            for name, record in manifest.get("inputs", {}).items():
                base = name.rstrip("0123456789")
                if base not in ("graph", "walks"):
                    continue
                here = ws.root / Path(record["path"]).name
                here = here if here.exists() else Path(record["path"])
                try:
                    check_fresh(manifest, folder, stage, name, here)
                except (GraphembError, OSError):
                    state, why = "stale", f"{here} was rewritten after it was made"
        if upstream_bad or any(r["state"] == "stale" for r in rows):
            if state == "fresh":
                state, why = "stale", "an earlier stage is stale or missing"
        row.update(state=state, why=why)
        rows.append(row)
    if str(ws.root) != DEFAULT_WORKDIR:
        for row in rows:
            row["command"] = row["command"].replace(
                "graphemb ", f"graphemb --workdir {shlex.quote(str(ws.root))} ")
    return rows
