"""The command line: a thin click skin over graphemb's Python API (same verbs)."""
from __future__ import annotations

import functools
import os
import sys

import click

from . import __version__, pipeline
from .errors import GraphembError


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
            raise click.ClickException("interrupted; earlier artifacts are unchanged.") from None
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except Exception as exc:
            if os.environ.get("GRAPHEMB_DEBUG"):
                raise
            raise click.ClickException(
                f"internal error ({type(exc).__name__}: {exc}); this is a bug in graphemb, "
                "please report it with GRAPHEMB_DEBUG=1 set to see the traceback.") from None


def _say(ctx, text: str) -> None:
    if not ctx.obj["quiet"]:
        click.echo(text)


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
@click.option("--workdir", envvar="GRAPHEMB_WORKDIR", default="graphemb-out", show_default=True,
              type=click.Path(file_okay=False), help="Workspace folder (or GRAPHEMB_WORKDIR).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars or summaries.")
@click.pass_context
def main(ctx, workdir, quiet):
    """Item embeddings from behaviour logs: graph, random walks, word2vec, export."""
    ctx.ensure_object(dict)
    ctx.obj.update(workdir=workdir, quiet=quiet)


def graph_options(f):
    options = [
        click.option("--from-edges", type=click.Path(dir_okay=False),
                     help="Read an edge list (src,dst[,weight]) instead of a log."),
        click.option("--user-col", help="User column (default: guessed, e.g. user_id, userId)."),
        click.option("--item-col", help="Item column (default: guessed, e.g. item_id, movieId)."),
        click.option("--time-col", help="Time column: epoch seconds or ISO-8601 (default: "
                                        "guessed, e.g. timestamp)."),
        click.option("--weight-col", help="Numeric event weight column (default: each event 1)."),
        click.option("--event-col", help="Event type column; needs --event-weights."),
        click.option("--event-weights", help="Weights per event type, e.g. view=1,cart=3,buy=5; "
                                             "other types are dropped."),
        click.option("--session-gap", default="30m", show_default=True,
                     help="Split a user's events where the gap exceeds this (s, m, h, d)."),
        click.option("--undirected", is_flag=True, help="Treat transitions as undirected."),
        click.option("--min-item-count", default=1, show_default=True, type=int,
                     help="Drop items with fewer events."),
        click.option("--max-user-events", type=int,
                     help="Drop users with more events (bots, spam)."),
        click.option("--delimiter", help="Field separator (default: by file name, comma or tab)."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _graph_kwargs(kw):
    keys = ("from_edges", "user_col", "item_col", "time_col", "weight_col", "event_col",
            "event_weights", "session_gap", "undirected", "min_item_count", "max_user_events",
            "delimiter")
    return {k: kw.pop(k) for k in keys}


def walk_options(f):
    options = [
        click.option("--num-walks", default=10, show_default=True, type=int,
                     help="Walks started from each node."),
        click.option("--walk-length", default=80, show_default=True, type=int,
                     help="Nodes per walk."),
        click.option("--p", "p", default=1.0, show_default=True, type=float,
                     help="node2vec return parameter (1/p weights going back)."),
        click.option("--q", "q", default=1.0, show_default=True, type=float,
                     help="node2vec in-out parameter (1/q weights moving away)."),
        click.option("--seed", "seed", default=0, show_default=True, type=int,
                     help="Walks are identical for the same seed, whatever --workers."),
        click.option("--workers", type=int, help="Threads (default: all cores)."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _walk_kwargs(kw):
    return {k: kw.pop(k) for k in ("num_walks", "walk_length", "p", "q", "seed", "workers")}


def train_options(f, shared_seed=False):
    """Training options; with shared_seed (for `run`), --seed and --workers come from walk."""
    options = [
        click.option("--dim", default=128, show_default=True, type=int, help="Vector size."),
        click.option("--window", default=5, show_default=True, type=int, help="Context window."),
        click.option("--epochs", default=5, show_default=True, type=int),
        click.option("--negative", default=5, show_default=True, type=int,
                     help="Negative samples per pair (0 with --hs)."),
        click.option("--sg/--cbow", default=True, show_default=True,
                     help="Skip-gram or CBOW."),
        click.option("--hs", is_flag=True, help="Hierarchical softmax."),
        click.option("--ns-exponent", default=0.75, show_default=True, type=float),
        click.option("--sample", default=1e-3, show_default=True, type=float,
                     help="Down-sampling threshold for frequent nodes (0 = off)."),
        click.option("--min-count", default=1, show_default=True, type=int),
    ]
    if not shared_seed:
        options += [
            click.option("--workers", "train_workers", type=int,
                         help="Threads (default: all cores). Only 1 is deterministic in gensim."),
            click.option("--seed", "train_seed", default=0, show_default=True, type=int),
        ]
    for option in reversed(options):
        f = option(f)
    return f


def _train_kwargs(kw, seed=None, workers=None):
    out = {k: kw.pop(k) for k in ("dim", "window", "epochs", "negative", "sg", "hs",
                                  "ns_exponent", "sample", "min_count")}
    out["workers"] = kw.pop("train_workers", workers)
    out["seed"] = kw.pop("train_seed", seed)
    return out


def _graph_summary(m) -> str:
    c = m["counts"]
    rows = [(k.replace("_", " "), f"{v:,}") for k, v in c.items()]
    return "graph written to {}:\n{}".format(m["params"].get("logs") or m["params"].get("edges"),
                                             _table(rows))


@main.command("build-graph", epilog="""\b
Examples:
  graphemb build-graph logs.csv
  graphemb build-graph logs.parquet --user-col uid --item-col sku --time-col ts --session-gap 1h
  graphemb build-graph --from-edges edges.csv --undirected
""")
@click.argument("logs", required=False, type=click.Path(dir_okay=False))
@graph_options
@click.pass_context
def build_graph_cmd(ctx, logs, **kw):
    """Build the weighted item graph from a behaviour log (CSV, TSV or Parquet, optionally .gz)."""
    m = pipeline.build_graph(logs, workdir=ctx.obj["workdir"], quiet=ctx.obj["quiet"],
                             **_graph_kwargs(kw))
    c = m["counts"]
    _say(ctx, _table([(k.replace("_", " "), f"{v:,}") for k, v in c.items()]))
    _say(ctx, f"wrote {ctx.obj['workdir']}/graph/")


@main.command("walk", epilog="""\b
Examples:
  graphemb walk                      # weighted DeepWalk
  graphemb walk --p 0.5 --q 2        # node2vec
""")
@walk_options
@click.pass_context
def walk_cmd(ctx, **kw):
    """Random walks on the graph: DeepWalk (p = q = 1) or node2vec."""
    m = pipeline.walk(workdir=ctx.obj["workdir"], quiet=ctx.obj["quiet"], **_walk_kwargs(kw))
    c, t = m["counts"], m["timings"]
    _say(ctx, f"{c['walks']:,} walks, {c['steps']:,} steps in {t['walk_seconds']:.2f}s "
              f"({t['steps_per_second'] / 1e6:.2f} M steps/s); wrote {ctx.obj['workdir']}/walks/")


@main.command("train", epilog="""\b
Examples:
  graphemb train
  graphemb train --dim 64 --window 10 --epochs 3
""")
@train_options
@click.pass_context
def train_cmd(ctx, **kw):
    """Train word2vec on the walks."""
    m = pipeline.train(workdir=ctx.obj["workdir"], quiet=ctx.obj["quiet"], **_train_kwargs(kw))
    c = m["counts"]
    _say(ctx, f"{c['vectors']:,} vectors of dim {m['params']['dim']} in "
              f"{m['timings']['total_seconds']:.1f}s; wrote {ctx.obj['workdir']}/model/")


@main.command("export", epilog="""\b
Examples:
  graphemb export vectors.parquet
  graphemb export vectors.txt            # word2vec text, loads with gensim KeyedVectors
  graphemb export vectors.bin --format word2vec-binary
""")
@click.argument("output", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(pipeline.FORMATS),
              help="Default: from the file name (.parquet, .txt, .bin, .npy, .csv).")
@click.pass_context
def export_cmd(ctx, output, fmt):
    """Write the item vectors (item_id, vector) to a file."""
    r = pipeline.export(output, workdir=ctx.obj["workdir"], format=fmt)
    _say(ctx, f"wrote {r['rows']:,} vectors of dim {r['dim']} to {', '.join(r['files'])}")


@main.command("run", epilog="""\b
Example:
  graphemb run examples/movielens/ratings.csv --p 0.5 --q 2 --output vectors.parquet
""")
@click.argument("logs", type=click.Path(dir_okay=False))
@graph_options
@walk_options
@functools.partial(train_options, shared_seed=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False),
              help="Export the vectors here as well.")
@click.pass_context
def run_cmd(ctx, logs, output, **kw):
    """Run build-graph, walk, train (and export) with one set of options."""
    g, w = _graph_kwargs(kw), _walk_kwargs(kw)
    t = _train_kwargs(kw, seed=w["seed"], workers=w["workers"])
    if g["from_edges"]:
        raise click.UsageError("run takes a log; for an edge list use the stages one by one.")
    g.pop("from_edges")
    r = pipeline.run(logs, output, workdir=ctx.obj["workdir"], graph_options=g, walk_options=w,
                     train_options=t, quiet=ctx.obj["quiet"])
    c = r["graph"]["counts"]
    _say(ctx, f"graph: {c['nodes']:,} nodes, {c['edges']:,} edges from {c['events_read']:,} "
              "events")
    _say(ctx, f"walks: {r['walks']['counts']['walks']:,}; vectors: "
              f"{r['model']['counts']['vectors']:,}")
    if output:
        _say(ctx, f"wrote {output}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
