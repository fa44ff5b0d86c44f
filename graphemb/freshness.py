"""`graphemb status`: each stage of a workspace, its key parameters, fresh or stale, and the
command that (re)makes it."""
from __future__ import annotations

import os
import shlex
from pathlib import Path

from .errors import GraphembError
from .workspace import DEFAULT_WORKDIR, RERUN, Workspace, check_fresh, read_manifest


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _graph_command(p: dict) -> str:
    args = ["graphemb", "build-graph"]
    if p.get("edges"):
        args += ["--from-edges", p["edges"]]
    else:
        args.append(p.get("logs") or "LOGS")
        gap = p.get("session_gap_seconds")
        if gap is not None and gap != 1800:
            args += ["--session-gap", f"{gap:g}s"]
        for key in ("weight_col", "event_col"):
            if p.get(key):
                args += [_flag(key), p[key]]
        if p.get("event_weights"):
            args += ["--event-weights",
                     ",".join(f"{k}={v:g}" for k, v in p["event_weights"].items())]
        if p.get("columns"):
            args += ["--no-header", "--columns", ",".join(p["columns"])]
        if p.get("time_unit_option") not in (None, "auto"):
            args += ["--time-unit", p["time_unit_option"]]
        if p.get("engine") and p["engine"] != "numpy":
            args += ["--engine", p["engine"]]
    if p.get("undirected"):
        args.append("--undirected")
    if (p.get("min_item_count") or 1) > 1:
        args += ["--min-item-count", str(p["min_item_count"])]
    if p.get("max_user_events"):
        args += ["--max-user-events", str(p["max_user_events"])]
    command = shlex.join(args)
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
    args = ["graphemb", "walk", "--num-walks", str(p["num_walks"]), "--walk-length",
            str(p["walk_length"]), "--p", f"{p['p']:g}", "--q", f"{p['q']:g}", "--seed",
            str(p["seed"])]
    if p.get("shard"):
        args += ["--shard", "{}/{}".format(*p["shard"])]
    return shlex.join(args)


def _train_command(p: dict) -> str:
    args = ["graphemb", "train"]
    for key in ("dim", "window", "epochs", "negative"):
        if key in p:
            args += [_flag(key), str(p[key])]
    method = p.get("method", "word2vec")
    if method in ("eges", "ges"):
        if p.get("side_info"):
            args += ["--side-info", str(p["side_info"])]
        if p.get("side_cols"):
            args += ["--side-cols", ",".join(p["side_cols"])]
        args += ["--fusion", method]
    elif method == "skipgram":
        args += ["--trainer", "numba"]
    elif method == "item2vec":
        args += ["--on", "sessions"]
    elif method in ("line1", "line2"):
        args = ["graphemb", "train", "--model", method, "--dim", str(p.get("dim")),
                "--negative", str(p.get("negative"))]
        if p.get("samples_per_node") not in (None, 1000):
            args += ["--samples-per-node", f"{p['samples_per_node']:g}"]
    else:
        if p.get("sg") is False:
            args.append("--cbow")
        if p.get("hs"):
            args.append("--hs")
        if (p.get("min_count") or 1) > 1:
            args += ["--min-count", str(p["min_count"])]
    if p.get("seed") is not None:
        args += ["--seed", str(p["seed"])]
    return shlex.join(args)


def _summary(stage: str, p: dict) -> str:
    if stage == "graph":
        source = p.get("logs") or p.get("edges") or "?"
        unit = f", times in {p['time_unit']}" if p.get("time_unit") else ""
        return f"{source}{', undirected' if p.get('undirected') else ''}{unit}"
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
