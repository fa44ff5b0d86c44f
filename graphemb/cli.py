"""The command line: a thin click skin over graphemb's Python API (same verbs)."""
from __future__ import annotations

import errno
import os
import signal
import sys

import click

from . import __version__, pipeline
from .errors import GraphembError
from .options import AFTER_VERB, GRAPH, SIDE, SIDE_ONLY, TRAIN, TRAIN_SHARED, VERBS, WALK, Opt



class SpecOption(click.Option):
    """A click option generated from a graphemb.options spec (``.spec``)."""

    def __init__(self, *args, spec: Opt, **kwargs):
        super().__init__(*args, **kwargs)
        self.spec = spec


class _Checked:
    """A click type whose check is the spec's (the API calls the same Opt.check)."""

    def __init__(self, spec: Opt, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.spec = spec

    def convert(self, value, param, ctx):
        value, why = self.spec.problem(value)
        if why:
            self.fail(why, param, ctx)
        return value


class _Range(_Checked):
    def _describe_range(self) -> str:
        return self.spec.range_text()


class _IntRange(_Range, click.IntRange):
    pass


class _FloatRange(_Range, click.FloatRange):
    pass


class _Int(_Checked, click.types.IntParamType):
    pass


class _Float(_Checked, click.types.FloatParamType):
    pass


class _Choice(_Checked, click.Choice):
    pass


class _Window(_Checked, click.ParamType):
    """--window: N >= 1 positions, or 'session' (with --on sessions: the whole session)."""

    name = "N|session"


class _Workers(_Checked, click.ParamType):
    """--workers: N >= 1 threads, or -1 for all cores (as in scikit-learn/joblib)."""

    name = "N|-1"


_PATHS = {"file": dict(dir_okay=False), "file-or-dash": dict(dir_okay=False, allow_dash=True),
          "dir": dict(file_okay=False)}


def _click_type(spec: Opt):
    if spec.kind in _PATHS:
        return click.Path(**_PATHS[spec.kind])
    if spec.kind == "workers":
        return _Workers(spec)
    if spec.kind == "window":
        return _Window(spec)
    if spec.kind in (int, float):
        if spec.range_text():
            cls = _IntRange if spec.kind == int else _FloatRange
            return cls(spec, spec.min, spec.max, spec.min_open, spec.max_open)
        return (_Int if spec.kind == int else _Float)(spec)
    if spec.choice_list() is not None:
        return _Choice(spec, spec.choice_list())
    return None                                   # text: click's STRING


def _declared(spec: Opt) -> tuple[list[str], dict]:
    """click's declarations and keyword arguments for one spec."""
    flag = spec.cli_flag + (f"/{spec.off}" if spec.off else "")
    decls = [spec.param, flag] + ([spec.short] if spec.short else [])
    show = spec.show_default
    if show is None:
        show = spec.default is not None and spec.default is not False
    kwargs = dict(help=spec.help, show_default=show, multiple=spec.multiple,
                  required=spec.required, envvar=spec.envvar, default=spec.default, spec=spec)
    if spec.kind == bool:
        if not spec.off:                              # --sg/--cbow is a pair already
            kwargs["is_flag"] = True
    else:
        kwargs["type"] = _click_type(spec)
    return decls, kwargs


def options_for(*verbs: str):
    """Decorator: the options of graphemb.options.VERBS[verb], in --help order."""
    specs = [s for verb in verbs for s in VERBS[verb] if s.cli]

    def add(f):
        for spec in reversed(specs):
            decls, kwargs = _declared(spec)
            f = click.option(*decls, cls=SpecOption, **kwargs)(f)
        return f
    return add


class _Group(click.Group):
    """Turns GraphembError (and a few others) into one line on stderr and exit status 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except GraphembError as exc:
            raise click.ClickException(str(exc)) from None
        except MemoryError:
            raise click.ClickException("out of memory; try a smaller batch, fewer walks or "
                                       "--min-item-count to shrink the graph.") from None
        except KeyboardInterrupt:
            click.echo("interrupted; earlier artifacts are unchanged.", err=True)
            raise click.exceptions.Exit(130) from None
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except OSError as exc:          # disk full, file too large, permission denied...
            if errno_of(exc) == errno.EPIPE:
                # The reader went away (`graphemb export - | head`): stop quietly, as cat
                # does; stdout goes to devnull so Python's own flush at exit stays silent.
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                raise click.exceptions.Exit(141) from None
            raise click.ClickException(os_error_line(exc)) from None
        except Exception as exc:
            if os.environ.get("GRAPHEMB_DEBUG"):
                raise
            raise click.ClickException(
                f"internal error ({type(exc).__name__}: {exc}); this is a bug in graphemb, "
                "please report it with GRAPHEMB_DEBUG=1 set to see the traceback.") from None


def errno_of(exc: OSError) -> int | None:
    """The errno of an OSError; pyarrow and others put "[Errno 28]" in the text only."""
    import re

    if exc.errno is not None:
        return exc.errno
    found = re.search(r"[Ee]rrno:? ?(\d+)", str(exc))
    return int(found.group(1)) if found else None


def os_error_line(exc: OSError) -> str:
    """'PATH: No space left on device (ENOSPC); earlier artifacts are unchanged.'"""
    import errno as errno_mod

    code = errno_of(exc)
    text = os.strerror(code) if code else (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    name = f" ({errno_mod.errorcode[code]})" if code in errno_mod.errorcode else ""
    paths = [p for p in (exc.filename, exc.filename2) if p is not None]
    where = " -> ".join(os.fsdecode(p) for p in paths) + ": " if paths else ""
    return f"{where}{text}{name}; earlier artifacts are unchanged."


def _say(ctx, text: str) -> None:
    if not ctx.obj["quiet"]:
        click.echo(text)


def _tsv(value) -> str:
    """A TSV field: backslash, tab and line breaks escaped (as PostgreSQL's text COPY does)."""
    return (str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r"))


def _table(rows) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k:<{width}}  {v}" for k, v in rows)


@click.group(cls=_Group, epilog="""\b
Example:
  graphemb build-graph examples/movielens/ratings.csv
  graphemb walk --p 0.5 --q 2
  graphemb train
  graphemb export vectors.parquet
""")
@click.version_option(__version__, prog_name="graphemb")
@options_for("graphemb")
@click.pass_context
def main(ctx, workdir, quiet, verbose):
    """Item embeddings from behaviour logs: graph, random walks, word2vec, export."""
    import shlex

    from . import workspace

    ctx.ensure_object(dict)
    ctx.obj.update(workdir=workdir, quiet=quiet)
    if verbose:
        os.environ["GRAPHEMB_DEBUG"] = "1"
    if hasattr(signal, "SIGXFSZ"):
        # Over `ulimit -f` a write then fails with EFBIG (reported with its path) instead of
        # the signal killing the process with a core dump.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    # Named by the workspace lock to a second stage started meanwhile.
    workspace.COMMAND = "graphemb " + shlex.join(sys.argv[1:])


def _side_options(ctx, kw) -> dict:
    """The EGES options (train's keywords); refused without --side-info (they would do nothing)."""
    side = SIDE.pick(kw)
    if side["side_info"] is None:
        flags = {p.name: p.opts[0] for p in ctx.command.params}
        idle = [flags[SIDE.by_name[k].param] for k in SIDE_ONLY
                if _given(ctx, {SIDE.by_name[k].param: None})]
        if idle:
            raise click.UsageError(f"{', '.join(idle)} only apply with --side-info (EGES); "
                                   "add the item table or drop them.")
    return side


@main.command("build-graph", epilog="""\b
Examples:
  graphemb build-graph logs.csv
  graphemb build-graph logs.parquet --user-col uid --item-col sku --time-col ts --session-gap 1h
  graphemb build-graph --from-edges edges.csv --undirected
  graphemb build-graph today.csv --append --decay 0.9   # add a day to the graph so far
""")
@click.argument("logs", required=False, type=click.Path(dir_okay=False))
@options_for("build-graph")
@click.pass_context
def build_graph_cmd(ctx, logs, **kw):
    """Build the weighted item graph from a behaviour log (CSV, TSV or Parquet, optionally .gz)."""
    m = pipeline.build_graph(logs, workdir=ctx.obj["workdir"], quiet=ctx.obj["quiet"], **kw)
    c = m["counts"]
    _say(ctx, _table([(k.replace("_", " "), f"{v:,}") for k, v in c.items()]))
    if m["params"].get("time_unit"):
        from .ingest.times import TIME_UNIT_NAMES
        how = ("detected from their magnitude; --time-unit to override"
               if m["params"].get("time_unit_option", "auto") == "auto" else "--time-unit")
        _say(ctx, f"timestamps read as {TIME_UNIT_NAMES[m['params']['time_unit']]} ({how})")
    if "symmetric_input" in m["params"]:
        from .graph import undirected_rule
        _say(ctx, f"undirected: {undirected_rule(m['params']['symmetric_input'])}")
    _say(ctx, f"wrote {ctx.obj['workdir']}/graph/")


@main.command("walk", epilog="""\b
Examples:
  graphemb walk                      # weighted DeepWalk
  graphemb walk --p 0.5 --q 2        # node2vec
  graphemb walk --shard 2/4          # the 2nd quarter of the walks (for N machines)
""")
@options_for("walk")
@click.pass_context
def walk_cmd(ctx, shard, **kw):
    """Random walks on the graph: DeepWalk (p = q = 1) or node2vec."""
    m = pipeline.walk(workdir=ctx.obj["workdir"], quiet=ctx.obj["quiet"], shard=shard, **kw)
    c, t = m["counts"], m["timings"]
    folder = "walks" if not shard else "walks-shard-{}-of-{}".format(*m["params"]["shard"])
    _say(ctx, f"{c['walks']:,} walks, {c['steps']:,} steps in {t['walk_seconds']:.2f}s "
              f"({t['steps_per_second'] / 1e6:.2f} M steps/s); wrote "
              f"{ctx.obj['workdir']}/{folder}/")


@main.command("train", epilog="""\b
Examples:
  graphemb train
  graphemb train --dim 64 --window 10 --epochs 3
  graphemb train --walks a/walks-shard-1-of-2 --walks b/walks-shard-2-of-2
  graphemb train --side-info movies.csv --side-cols genres --multi-value first   # EGES
  graphemb train --side-info items.parquet --fusion ges
  graphemb train --trainer numba         # plain skip-gram, graphemb's own trainer
  graphemb train --on sessions --window session   # item2vec on the log's sessions
  graphemb train --model line2 --samples-per-node 2000   # LINE, second order
""")
@options_for("train")
@click.pass_context
def train_cmd(ctx, walk_dirs, **kw):
    """Train word2vec on the walks (EGES/GES with --side-info, item2vec with --on sessions,
    LINE with --model line1|line2)."""
    if kw["model"] != "skipgram":
        # The API sees only values; here a LINE run also refuses a typed default (--window 5).
        idle = [o for o, k in (("--window", "window"), ("--epochs", "epochs"),
                               ("--sample", "sample")) if _given(ctx, {k: None})]
        if idle:
            raise pipeline.not_for_line(idle)
    m = pipeline.train(workdir=ctx.obj["workdir"], quiet=ctx.obj["quiet"],
                       walk_dirs=walk_dirs or None, **_side_options(ctx, kw), **TRAIN.pick(kw))
    _say_trained(ctx, m)


def _say_trained(ctx, m):
    c = m["counts"]
    _say(ctx, f"{c['vectors']:,} vectors of dim {m['params']['dim']} in "
              f"{m['timings']['total_seconds']:.1f}s; wrote {ctx.obj['workdir']}/model/")
    if "cold_start_items" in c:
        _say(ctx, f"{m['params']['method'].upper()} on {', '.join(m['params']['side_cols'])}: "
                  f"{c['side_info_items_in_graph']:,} items of the table in the graph, "
                  f"{c['cold_start_items']:,} cold-start items, "
                  f"{c['graph_items_without_side_info']:,} graph items without side information")


@main.command("export", epilog="""\b
Examples:
  graphemb export vectors.parquet
  graphemb export vectors.txt            # word2vec text, loads with gensim KeyedVectors
  graphemb export vectors.bin --format word2vec-binary
  graphemb export side.parquet --what side-info     # EGES: per column and value
  graphemb export attention.csv --what attention    # EGES: weights per item
  graphemb export - --format word2vec | head        # to stdout
""")
@click.argument("output", type=click.Path(dir_okay=False, allow_dash=True))
@options_for("export")
@click.pass_context
def export_cmd(ctx, output, fmt, what):
    """Write the item vectors (item_id, vector) to a file, or to stdout with - (CSV unless
    --format says; word2vec text with --format word2vec). Onto a symlink, the link's target is
    written; a device or FIFO is written into."""
    r = pipeline.export(output, workdir=ctx.obj["workdir"], format=fmt, what=what)
    to = "stdout" if output == "-" else ", ".join(r["files"])
    if ctx.obj["quiet"]:
        return
    if what == "attention":
        text = f"wrote attention weights of {r['rows']:,} items to {to}"
    else:
        text = f"wrote {r['rows']:,} vectors of dim {r['dim']} to {to}"
    click.echo(text, err=output == "-")      # stdout holds the vectors


@main.command("run", epilog="""\b
Example:
  graphemb run examples/movielens/ratings.csv --p 0.5 --q 2 --output vectors.parquet
  graphemb run ratings.csv --side-info movies.csv --side-cols genres --multi-value first -o v.parquet
""")
@click.argument("logs", required=False, type=click.Path(dir_okay=False))
@options_for("run")
@click.pass_context
def run_cmd(ctx, logs, output, **kw):
    """Run build-graph, walk, train (and export) with one set of options (LOGS, or an edge
    list with --from-edges)."""
    side = _side_options(ctx, kw)
    g, w = GRAPH.pick(kw), WALK.pick(kw)
    t = {**TRAIN_SHARED.pick(kw), "seed": w["seed"], "workers": w["workers"], **side}
    r = pipeline.run(logs, output, workdir=ctx.obj["workdir"], graph_options=g, walk_options=w,
                     train_options=t, quiet=ctx.obj["quiet"])
    c = r["graph"]["counts"]
    read = (f"{c['events_read']:,} events" if "events_read" in c
            else f"{c['edges_read']:,} listed edges")
    _say(ctx, f"graph: {c['nodes']:,} nodes, {c['edges']:,} edges from {read}")
    _say(ctx, f"walks: {r['walks']['counts']['walks']:,}")
    _say_trained(ctx, r["model"])
    if output:
        _say(ctx, f"wrote {output}")


# --- Using the vectors: evaluate, similar, user-vectors, recommend -----------------------------

def _given(ctx, values: dict) -> dict:
    """Only the options typed on the command line (the rest come from the workspace)."""
    from click.core import ParameterSource

    defaults = (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP, None)
    return {k: v for k, v in values.items() if ctx.get_parameter_source(k) not in defaults}


def _options_given(ctx, kw):
    """The walk and train options typed on the command line (evaluate: the rest come from the
    workspace); --seed and --workers serve both."""
    trainer = kw.pop("trainer", None)
    w_given = _given(ctx, WALK.pick(kw))
    t_given = _given(ctx, TRAIN_SHARED.pick(kw))
    for k in ("seed", "workers"):
        if k in w_given:
            t_given[k] = w_given[k]
    if trainer is not None:
        t_given["trainer"] = trainer
    return w_given, t_given


def _evaluate(ctx, task, output, summary, **options):
    """Run graphemb.evaluate's TASK, print summary(counts) and its table, write the JSON."""
    from . import evaluate
    from .workspace import Workspace, write_json

    name = task.replace("-", "_")
    r = getattr(evaluate, name)(workdir=ctx.obj["workdir"], quiet=ctx.obj["quiet"], **options)
    for line in summary(r["counts"]):
        click.echo(line)
    click.echo(getattr(evaluate, f"{name}_table")(r))
    path = output or Workspace(ctx.obj["workdir"]).root / "eval" / f"{task}.json"
    write_json(path, r)
    _say(ctx, f"wrote {path}" + (f" and {r['plot']}" if r.get("plot") else ""))


@main.group("evaluate", cls=_Group, epilog="""\b
Examples:
  graphemb evaluate link-prediction
  graphemb evaluate node-classification --labels labels.csv
  graphemb --workdir ppi evaluate node-classification --labels Homo_sapiens.mat --p 4 --q 1
  graphemb evaluate next-item examples/movielens/ratings.csv
""")
@click.pass_context
def evaluate_group(ctx):
    """Measure the vectors: link prediction, node classification, next-item recall.

    Walk and train options not given are taken from the workspace (walks/ and model/
    manifests), else the defaults. Results are printed and written as JSON to
    WORKDIR/eval/TASK.json.
    """
    from .workspace import locked

    if not ctx.resilient_parsing:       # (shell completion)
        ctx.with_resource(locked(ctx.obj["workdir"], "evaluate"))


@evaluate_group.command("link-prediction", epilog="""\b
Examples:
  graphemb evaluate link-prediction
  graphemb evaluate link-prediction --negatives degree --trainer numba
""")
@options_for("evaluate link-prediction")
@click.pass_context
def evaluate_link_prediction_cmd(ctx, test_fraction, negatives, output, plot, **kw):
    """Hold out edges (node2vec protocol), retrain on the residual graph, and report the AUC
    of embedding scorers (centred cosine, dot, Hadamard + logistic regression) and graph
    baselines (popularity, common neighbours, Adamic-Adar) on the same held-out pairs.

    The held-out edges and as many non-edges are split in two halves: the logistic
    regression is fitted on one, and every scorer is measured on the other.
    """
    def summary(c):
        yield (f"link prediction: {c['held_out_edges']:,} of {c['undirected_edges']:,} edges "
               f"held out and as many {negatives} non-edges; AUC on {c['test_edges']:,} + "
               f"{c['test_non_edges']:,} of them (the rest fit the logistic regression)")
        if c["held_out_edges"] < c["held_out_requested"]:
            yield (f"note: only {c['held_out_edges']:,} edges lie outside a spanning forest, "
                   f"fewer than the {c['held_out_requested']:,} asked for")

    w, t = _options_given(ctx, kw)
    _evaluate(ctx, "link-prediction", output, summary, test_fraction=test_fraction,
              negatives=negatives, seed=w.get("seed", 0), walk_options=w, train_options=t,
              plot=plot)


@evaluate_group.command("node-classification")
@options_for("evaluate node-classification")
@click.pass_context
def evaluate_node_classification_cmd(ctx, labels, ratios, repeats, output, plot, **kw):
    """One-vs-rest logistic regression on the vectors; Micro/Macro-F1 per train ratio."""
    try:
        ratio_list = [float(x) for x in ratios.split(",") if x.strip()]
    except ValueError:
        raise click.BadParameter("write ratios like 0.1,0.5,0.9", param_hint="--ratios") \
            from None
    if not ratio_list or not all(0 < x < 1 for x in ratio_list):
        raise click.BadParameter("each ratio must be between 0 and 1", param_hint="--ratios")
    w, t = _options_given(ctx, kw)
    if not str(labels).lower().endswith(".mat") and (w or t):
        given = sorted({f"--{k.replace('_', '-')}" for k in (*w, *t)})
        raise click.UsageError(
            f"{', '.join(given)}: node-classification with a label file classifies the "
            "workspace's trained vectors and would ignore walk and train options; run "
            "`graphemb walk`/`graphemb train` with them first (only a .mat file is retrained).")
    _evaluate(ctx, "node-classification", output,
              lambda c: [f"node classification: {c['labelled_nodes']:,} nodes, {c['labels']} "
                         f"labels, {repeats} splits per ratio"],
              labels=labels, ratios=ratio_list, repeats=repeats, seed=w.get("seed", 0),
              walk_options=w, train_options=t, plot=plot)


@evaluate_group.command("next-item")
@click.argument("logs", required=False, type=click.Path(dir_okay=False))
@options_for("evaluate next-item")
@click.pass_context
def evaluate_next_item_cmd(ctx, logs, holdout, exclude_history, center, half_life, output,
                           plot, **kw):
    """Hold out each user's last event, build/walk/train on the rest, rank the whole catalogue
    (HitRate, Recall@10/20/50, MRR) against a most-popular baseline.

    LOGS defaults to the log the workspace graph was built from.
    """
    g = _given(ctx, GRAPH.without("from_edges").pick(kw))
    w, t = _options_given(ctx, kw)
    _evaluate(ctx, "next-item", output,
              lambda c: [f"next item: {c['test_users']:,} users, catalogue of "
                         f"{c['catalogue']:,} items ({c['catalogue_with_vector']:,} with a "
                         "vector)"],
              logs=logs, holdout=holdout, exclude_history=exclude_history, center=center,
              half_life=half_life, graph_options=g, walk_options=w, train_options=t,
              plot=plot)


@main.command("similar", epilog="""\b
Examples:
  graphemb similar 260 -k 5 --names examples/movielens/movies.csv
  graphemb similar --items-file items.txt
  graphemb similar 318 --min-count 1          # rare items may be neighbours too
  graphemb similar 318 --index lsh --tables 16 --bits 12
""")
@click.argument("items", nargs=-1)
@options_for("similar")
@click.pass_context
def similar_cmd(ctx, items, k, items_file, min_count, names_path, name_col, names_id_col, index,
                tables, bits, probes, cold, center):
    """Most similar items by cosine, with scores (and names with --names)."""
    from .vectors import read_items_file, read_names, similar

    items = list(items) + (read_items_file(items_file) if items_file else [])
    if not items:
        raise click.UsageError("give ITEM ids or --items-file FILE.")
    names, name_header = {}, None
    if names_path:
        names, name_header = read_names(names_path, names_id_col, name_col)
    lsh = _given(ctx, {"tables": tables, "bits": bits, "probes": probes})
    if lsh and index != "lsh":
        raise click.UsageError(f"{', '.join('--' + k for k in lsh)} only apply with --index "
                               "lsh; add it or drop them.")
    r = similar(items, workdir=ctx.obj["workdir"], k=k, index=index, tables=tables, bits=bits,
                probes=probes, center=center, min_count=min_count, cold=cold)
    click.echo("query\trank\titem\tscore" + (f"\t{name_header}" if names_path else "") +
               ("\tcold_start" if cold else ""))
    for q, nb, sc, cq, flags in zip(r["items"], r["neighbors"], r["scores"], r["cold_query"],
                                    r["cold_neighbor"]):
        if names_path and not ctx.obj["quiet"]:
            click.echo(f"# {q}: {names.get(str(q), '?')}", err=True)   # stdout stays a table
        if cq and not ctx.obj["quiet"]:
            click.echo(f"# {q} is a cold-start item (side information only): neighbours by "
                       "the model's co-occurrence score, not cosine", err=True)
        for rank, (item, score, flag) in enumerate(zip(nb, sc, flags), 1):
            name = f"\t{_tsv(names.get(str(item), ''))}" if names_path else ""
            tail = ("\tyes" if flag else "\tno") if cold else ""
            click.echo(f"{_tsv(q)}\t{rank}\t{_tsv(item)}\t{score:.4f}{name}{tail}")
    if min_count > 1 and not ctx.obj["quiet"]:
        click.echo(f"neighbours among the {r['candidates']:,} items with >= {min_count} events "
                   "(--min-count 1 for all)", err=True)
    if index == "hnsw":
        _say(ctx, f"hnsw: recall@{k} {r['recall_at_k']:.3f} vs exact, query "
                  f"{r['query_seconds'] * 1e3:.1f} ms vs exact {r['exact_seconds'] * 1e3:.1f} ms, "
                  f"build {r['build_seconds']:.2f}s")
    if index == "lsh":
        _say(ctx, f"lsh ({tables} tables x {bits} bits, {probes} probes): recall@{k} "
                  f"{r['recall_at_k']:.3f} vs exact, {r['mean_candidates']:.0f} candidates per "
                  f"query, query {r['query_seconds'] * 1e3:.1f} ms vs exact "
                  f"{r['exact_seconds'] * 1e3:.1f} ms ({r['speedup']:.1f}x), build "
                  f"{r['build_seconds']:.2f}s")


@main.command("user-vectors", epilog="""\b
Examples:
  graphemb user-vectors examples/movielens/ratings.csv
  graphemb user-vectors logs.csv --half-life 7d -o users.parquet
""")
@click.argument("logs", type=click.Path(dir_okay=False))
@options_for("user-vectors")
@click.pass_context
def user_vectors_cmd(ctx, logs, output, half_life, user_col, item_col, time_col, delimiter,
                     center):
    """A vector per user: the mean of the item vectors of their history."""
    from .recommendation import user_vectors

    r = user_vectors(logs, output, workdir=ctx.obj["workdir"], half_life=half_life,
                     user_col=user_col, item_col=item_col, time_col=time_col,
                     delimiter=delimiter, center=center)
    _say(ctx, f"wrote {r['users']:,} user vectors of dim {r['dim']} to {r['output']} "
              f"({r['events_used']:,} events; {r['events_without_vector']:,} events on items "
              f"without a vector skipped; {r['users_without_vector']:,} users left out)")


@main.command("recommend", epilog="""\b
Examples:
  graphemb recommend 42 -k 10
  graphemb recommend 42 --user-vectors users.parquet --keep-seen
""")
@click.argument("user")
@options_for("recommend")
@click.pass_context
def recommend_cmd(ctx, user, k, user_vectors_path, logs, keep_seen, cold):
    """Top-k items for USER by cosine to the user vector, items seen left out."""
    from .recommendation import recommend

    r = recommend(user, workdir=ctx.obj["workdir"], k=k, user_vectors_path=user_vectors_path,
                  logs=logs, keep_seen=keep_seen, cold=cold)
    click.echo("rank\titem\tscore" + ("\tcold_start" if cold else ""))
    for rank, (item, score, flag) in enumerate(zip(r["items"], r["scores"], r["cold_start"]), 1):
        tail = ("\tyes" if flag else "\tno") if cold else ""
        click.echo(f"{rank}\t{item}\t{score:.4f}{tail}")


@main.command("status", epilog="""\b
Example:
  graphemb status
  graphemb --workdir ml status
""")
@click.pass_context
def status_cmd(ctx):
    """Each stage of the workspace: parameters, fresh or stale, and the command to rerun.

    Exit status 0 when every stage is fresh, 1 otherwise."""
    from .freshness import status

    rows = status(ctx.obj["workdir"])
    for r in rows:
        click.echo(f"{r['stage']:<6} {r['state']:<10} {r['folder']}")
        if r["params"]:
            click.echo(f"       {r['params']}")
        if r["why"] and r["state"] != "fresh":
            click.echo(f"       {r['why']}")
        click.echo(f"       {'rerun' if r['state'] != 'missing' else 'run'}: {r['command']}")
    if any(r["state"] != "fresh" for r in rows):
        ctx.exit(1)


@main.command("plot", epilog="""\b
Examples:
  graphemb plot map.png map.html --color-by genres    # EGES model: its side table
  graphemb plot map.html --side examples/movielens/movies.csv --color-by genres \\
      --names examples/movielens/movies.csv
  graphemb plot map.png --method pca --min-count 1 --max-points 5000 --seed 3
""")
@click.argument("outputs", nargs=-1, required=True, type=click.Path(dir_okay=False))
@options_for("plot")
@click.pass_context
def plot_cmd(ctx, outputs, method, color_by, side, item_col, top, names_path, name_col,
             names_id_col, max_points, min_count, seed, size):
    """Draw a 2-D map of the item vectors (UMAP or PCA) coloured by a side-information
    column, as PNG and/or self-contained HTML with hover labels (OUTPUT's suffix decides)."""
    from .plotting import parse_size, plot

    if not color_by and _given(ctx, {"top": top}):
        raise click.UsageError("--top only applies with --color-by; add it or drop --top.")
    r = plot(outputs, workdir=ctx.obj["workdir"], method=method, color_by=color_by,
             side=side, item_col=item_col, top=top, names=names_path, name_col=name_col,
             names_id_col=names_id_col, max_points=max_points, seed=seed, min_count=min_count,
             size=parse_size(size))
    rare = (f"; {r['rare_left_out']:,} items with fewer than {min_count} events left out "
            "(--min-count 1 for all)" if r["rare_left_out"] else "")
    sample = "" if r["sample"] == "all" else f" ({r['sample']})"
    _say(ctx, f"{r['points']:,} items plotted{sample}, {r['cold_start_points']:,} of them "
              f"cold-start{rare}")
    _say(ctx, f"projection: {r['method'].upper()} ({r['method_reason']})")
    if color_by:
        shown = ", ".join(f"{e['label']} {e['items']:,}" for e in r["legend"])
        _say(ctx, f"colours by {color_by}: {shown}")
    _say(ctx, f"wrote {', '.join(r['files'])}")


# -q/--quiet and -v/--verbose after the subcommand too (`graphemb walk -q`), as before it.

def _set_quiet(ctx, param, value):
    if value:
        ctx.ensure_object(dict)["quiet"] = True


def _set_verbose(ctx, param, value):
    if value:
        os.environ["GRAPHEMB_DEBUG"] = "1"


def _add_verbosity(group: click.Group) -> None:
    for command in group.commands.values():
        if isinstance(command, click.Group):
            _add_verbosity(command)
            continue
        taken = {o for p in command.params for o in getattr(p, "opts", [])}
        for spec, callback in zip(AFTER_VERB, (_set_quiet, _set_verbose)):
            if not taken & set(spec.decls):
                decls, kwargs = _declared(spec)
                command.params.append(SpecOption(decls, **kwargs, expose_value=False,
                                                 callback=callback))


_add_verbosity(main)     # keep last: it reaches only the commands defined above

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
