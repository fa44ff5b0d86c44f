"""`graphemb plot` and `evaluate --plot`: the PNG has its size and coloured points, the HTML
is self-contained with one hover label per point, PCA is deterministic, bad input is one line."""
import json
import os
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from click.testing import CliRunner

import graphemb
from graphemb.cli import main
from graphemb.errors import GraphembError
from graphemb import plotting

from helpers import planted_edges, write_csv

mpimg = pytest.importorskip("matplotlib.image")

FAST = ["--dim", "16", "--epochs", "4", "--window", "3", "--sample", "0", "--workers", "1"]
K, PER, COLD_PER = 4, 12, 3         # categories, graph items per category, cold-start items
SVG = "{http://www.w3.org/2000/svg}"


def invoke(args, workdir=None):
    pre = ["--workdir", str(workdir)] if workdir is not None else []
    return CliRunner().invoke(main, pre + [str(a) for a in args])


def one_line_error(result, *needles):
    """One "Error:" line (after click's usage lines for an option refused when parsed)."""
    assert result.exit_code in (1, 2), result.output
    lines = [line for line in result.output.strip().splitlines() if line]
    if result.exit_code == 2:
        lines = [x for x in lines if not x.startswith(("Usage:", "Try '"))]
    assert len(lines) == 1 and lines[0].startswith("Error:"), result.output
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """K categories of PER items, 85% of the edges inside a category; an EGES model on the
    'category' column with COLD_PER cold-start items per category. The side table's 'genre'
    holds multi-valued cells "c1|x" (first value: the category); 'title' names the items."""
    root = tmp_path_factory.mktemp("plot")
    edges, cat = planted_edges(K, PER, seed=7)
    n = K * PER
    write_csv(root / "edges.csv", ["src", "dst"], [(u + 1, v + 1) for u, v in edges])
    rows = [(i + 1, f"c{cat[i]}", f"c{cat[i]}|x", f"film {i + 1}") for i in range(n)]
    rows += [(1001 + k, f"c{k // COLD_PER}", f"c{k // COLD_PER}", f"cold {k}")
             for k in range(K * COLD_PER)]
    side = write_csv(root / "items.csv", ["item_id", "category", "genre", "title"], rows)
    ws = root / "ws"
    for args in (["build-graph", "--from-edges", root / "edges.csv", "--undirected"],
                 ["walk", "--num-walks", "10", "--walk-length", "20", "--seed", "1"],
                 ["train", *FAST, "--side-info", side, "--side-cols", "category"]):
        r = invoke(args, ws)
        assert r.exit_code == 0, r.output
    return {"root": root, "ws": ws, "side": side, "n": n, "cold": K * COLD_PER}


def rgb_counts(path, background=(1.0, 1.0, 1.0)):
    """{(r, g, b) in 0..255: pixels} of a PNG, the white background left out."""
    img = mpimg.imread(path)[..., :3]
    flat = np.round(img.reshape(-1, 3) * 255).astype(np.int64)
    keys, counts = np.unique(flat, axis=0, return_counts=True)
    out = {tuple(k): int(c) for k, c in zip(keys, counts)}
    out.pop(tuple(np.round(np.array(background) * 255).astype(int)), None)
    return out


def hex_rgb(colour):
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


def test_png_has_its_size_and_the_colours_of_the_categories(planted, tmp_path):
    out = tmp_path / "map.png"
    r = invoke(["plot", out, "--method", "pca", "--color-by", "genre", "--min-count", "1",
                "--size", "640x480"], planted["ws"])
    assert r.exit_code == 0, r.output
    assert "PCA (--method pca)" in r.output and f"wrote {out}" in r.output
    img = mpimg.imread(out)
    assert img.shape[:2] == (480, 640)
    colours = rgb_counts(out)
    assert len(colours) >= 10                         # points, text, axes: not blank
    # "c0|x" counts as c0: four values, each with its palette colour, drawn for real.
    assert "colours by genre: c0 15, c1 15, c2 15, c3 15" in r.output
    for k in range(K):
        assert colours.get(hex_rgb(plotting.PALETTE[k]), 0) >= 20, plotting.PALETTE[k]
    assert colours.get(hex_rgb(plotting.PALETTE[K]), 0) == 0     # a colour nobody has
    assert not list(tmp_path.glob(".*tmp*"))                      # nothing half-written


def test_html_is_self_contained_with_one_hover_label_per_point(planted, tmp_path):
    out = tmp_path / "map.html"
    r = graphemb.plot(out, workdir=planted["ws"], method="pca", color_by="genre", min_count=1,
                      names=planted["side"], name_col="title")
    text = out.read_text()
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "") \
        .replace('xmlns="http://www.w3.org/1999/xhtml"', "")
    assert "https://" not in text and "<script src" not in text and "<link" not in text
    root = ET.fromstring(text.split("\n", 1)[1])      # well-formed XHTML after the doctype
    svg = root.find(".//" + SVG + "svg")
    points = [e for g in svg.iter(SVG + "g") if g.get("id", "").startswith("g")
              for e in g if e.tag in (SVG + "circle", SVG + "rect")]
    n_points = planted["n"] + planted["cold"]
    assert r["points"] == n_points and len(points) == n_points
    labels = [e.find(SVG + "title").text for e in points]
    assert len(labels) == n_points
    assert "7 | film 7 | genre: c0" in labels
    assert "1001 | cold 0 | genre: c0 | cold-start" in labels
    cold = [e for e in points if e.tag == SVG + "rect"]
    assert len(cold) == planted["cold"]                # cold-start items: squares
    # The colour of a point's group is its category's.
    for g in svg.iter(SVG + "g"):
        if g.get("id", "").startswith("g"):
            cats = {e.find(SVG + "title").text.split("genre: ")[1].split(" ")[0] for e in g}
            assert len(cats) == 1
            assert g.get("fill") == plotting.PALETTE[int(cats.pop()[1])]


def test_pca_is_deterministic_and_a_rotation_of_the_centred_vectors(planted, tmp_path):
    a = plotting.item_map(workdir=planted["ws"], method="pca", min_count=1)
    b = plotting.item_map(workdir=planted["ws"], method="pca", min_count=1)
    np.testing.assert_array_equal(a.xy, b.xy)
    x = graphemb.ItemVectors.load(planted["ws"]).with_cold_start().unit(center=True)
    x = x - x.mean(0)
    var = (x ** 2).sum(0).sum()
    # The two axes are uncorrelated and hold the largest share of the variance.
    assert abs(np.corrcoef(a.xy.T)[0, 1]) < 1e-6
    top2 = np.linalg.svd(x, compute_uv=False)[:2] ** 2 / var
    np.testing.assert_allclose((a.xy ** 2).sum(0) / var, top2, rtol=1e-6)
    # Categories separate on the map: each point's nearest warm point is of its category.
    cats = np.array([plotting.side_values(planted["side"], None, "category", a.ids)]).ravel()
    warm = ~a.cold
    d = ((a.xy[warm, None] - a.xy[None, warm]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    assert (cats[warm][d.argmin(1)] == cats[warm]).mean() >= 0.8


def test_png_and_html_bytes_repeat_and_the_sample_is_seeded(planted, tmp_path):
    for name in ("a", "b"):
        graphemb.plot(tmp_path / f"{name}.html", workdir=planted["ws"], method="pca",
                      min_count=1, max_points=20, seed=5)
    assert (tmp_path / "a.html").read_text() == (tmp_path / "b.html").read_text()
    r = graphemb.plot(tmp_path / "c.html", workdir=planted["ws"], method="pca", min_count=1,
                      max_points=20, seed=6)
    assert r["points"] == 20 and "seed 6" in r["sample"]
    assert (tmp_path / "c.html").read_text() != (tmp_path / "a.html").read_text()


def test_default_colour_table_is_the_models_and_top_greys_the_rest(planted, tmp_path):
    r = graphemb.plot(tmp_path / "m.png", workdir=planted["ws"], method="pca",
                      color_by="category", top=2, min_count=1)
    assert r["side_table"] == str(planted["side"])
    labels = [(e["label"], e["items"]) for e in r["legend"]]
    assert labels == [("c0", 15), ("c1", 15), ("other (2 values)", 30)]
    colours = rgb_counts(tmp_path / "m.png")
    assert colours.get(hex_rgb(plotting.OTHER), 0) >= 20
    assert colours.get(hex_rgb(plotting.PALETTE[2]), 0) == 0


def test_min_count_leaves_rare_items_out_but_keeps_cold_start(planted, tmp_path):
    counts = graphemb.ItemVectors.load(planted["ws"]).counts
    threshold = int(np.median(counts)) + 1
    r = graphemb.plot(tmp_path / "m.html", workdir=planted["ws"], method="pca",
                      min_count=threshold)
    assert r["rare_left_out"] == int((counts < threshold).sum()) > 0
    assert r["points"] == int((counts >= threshold).sum()) + planted["cold"]


def test_top_codes_rank_by_count_then_text():
    values = np.array(["b", "a", "b", None, "c", "a", "d"], dtype=object)
    codes, chosen, counts = plotting.top_codes(values, 2)
    assert chosen == ["a", "b"] and counts == [2, 2]
    assert list(codes) == [1, 0, 1, plotting.NO_VALUE_CODE, plotting.OTHER_CODE, 0,
                           plotting.OTHER_CODE]


def test_auto_method_says_which_it_chose(planted, tmp_path, monkeypatch):
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "umap" else real(name, *a))
    r = invoke(["plot", tmp_path / "m.html", "--min-count", "1"], planted["ws"])
    assert r.exit_code == 0, r.output
    assert "projection: PCA (umap-learn not installed: pip install 'graphemb[umap]'" in r.output
    assert "PC1 (" in (tmp_path / "m.html").read_text()


def test_umap_when_installed(planted, tmp_path):
    pytest.importorskip("umap")
    r = graphemb.plot(tmp_path / "u.png", workdir=planted["ws"], method="umap",
                      color_by="category", min_count=1)
    assert r["method"] == "umap"
    assert len(rgb_counts(tmp_path / "u.png")) >= 10


@pytest.mark.parametrize("args, needles", [
    (["--color-by", "colour"], ["no column 'colour' to colour by", "category, genre"]),
    (["--color-by", "item_id"], ["--color-by item_id: that is the table's item id column"]),
    (["--side", "{root}/nope.csv", "--color-by", "genre"], ["nope.csv: no such file"]),
    (["--side", "{root}/items.csv"], ["--side only apply with --color-by"]),
    (["--top", "3"], ["--top only applies with --color-by"]),
    (["--top", "21", "--color-by", "genre"], ["21"]),
    (["--size", "12x9"], ["each side must be 200..10000"]),
    (["--size", "big"], ["WIDTHxHEIGHT"]),
    (["--names", "{root}/items.csv"], ["add an OUT.html"]),
    (["--name-col", "title", "--method", "pca"], ["only apply with --names"]),
    (["--min-count", "100000"], ["lower --min-count"]),
])
def test_bad_plot_options_are_one_line_errors(planted, tmp_path, args, needles):
    args = [a.format(root=planted["root"]) for a in args]
    r = invoke(["plot", tmp_path / "m.png", *args], planted["ws"])
    one_line_error(r, *needles)
    assert not list(tmp_path.iterdir())


def test_bad_outputs_and_workspaces(planted, tmp_path):
    one_line_error(invoke(["plot", tmp_path / "m.jpg"], planted["ws"]), "m.jpg", ".png or .html")
    one_line_error(invoke(["plot", tmp_path / "no" / "m.png"], planted["ws"]), "does not exist")
    one_line_error(invoke(["plot", tmp_path / "m.png"], tmp_path / "empty"),
                   "manifest.json: not found", "graphemb")
    if os.geteuid() != 0:                   # root writes anywhere
        locked = tmp_path / "ro"
        locked.mkdir(mode=0o500)
        one_line_error(invoke(["plot", locked / "m.png"], planted["ws"]), "cannot write")
    # A model without side information needs --side to colour by.
    plain = tmp_path / "plain"
    for args in (["build-graph", "--from-edges", planted["root"] / "edges.csv", "--undirected"],
                 ["walk", "--num-walks", "2", "--walk-length", "5"], ["train", *FAST]):
        assert invoke(args, plain).exit_code == 0
    one_line_error(invoke(["plot", tmp_path / "m.png", "--color-by", "genre"], plain),
                   "without side information", "--side FILE")
    r = invoke(["plot", tmp_path / "m.png", "--color-by", "genre", "--side", planted["side"],
                "--min-count", "1"], plain)
    assert r.exit_code == 0, r.output
    assert "colours by genre: c0 12, c1 12, c2 12, c3 12" in r.output     # no cold start


def test_existing_output_is_replaced_whole_or_kept(planted, tmp_path, monkeypatch):
    out = tmp_path / "m.png"
    out.write_bytes(b"old")

    def broken(*a, **k):
        raise RuntimeError("drawing failed")
    monkeypatch.setattr(plotting, "html_text", broken)
    with pytest.raises(RuntimeError):
        graphemb.plot([out, tmp_path / "m.html"], workdir=planted["ws"], method="pca",
                      min_count=1)
    assert not (tmp_path / "m.html").exists()
    assert not list(tmp_path.glob(".*tmp*"))
    assert out.read_bytes() != b"old" and out.read_bytes()[:4] == b"\x89PNG"


def test_missing_matplotlib_names_the_extra(planted, tmp_path, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(GraphembError, match=r"pip install 'graphemb\[plot\]'"):
        graphemb.plot(tmp_path / "m.png", workdir=planted["ws"], method="pca", min_count=1)
    # HTML needs no matplotlib.
    graphemb.plot(tmp_path / "m.html", workdir=planted["ws"], method="pca", min_count=1)
    assert (tmp_path / "m.html").exists() and not (tmp_path / "m.png").exists()


def test_package_api_has_plot():
    assert "plot" in graphemb.__all__ and "plot" in dir(graphemb)
    assert graphemb.plot is plotting.plot


# ------------------------------------------------------------------- evaluate --plot


def test_evaluate_plots_are_non_blank_pngs(planted, tmp_path):
    pytest.importorskip("sklearn")
    from graphemb.evaluation.plots import plot_result

    labels = planted["root"] / "labels.txt"
    labels.write_text("".join(f"{i + 1} {i // PER}\n" for i in range(planted["n"])))
    out = tmp_path / "nc.png"
    r = invoke(["evaluate", "node-classification", "--labels", labels, "--ratios", "0.3,0.6",
                "--repeats", "2", "-o", tmp_path / "nc.json", "--plot", out], planted["ws"])
    assert r.exit_code == 0, r.output
    assert f"and {out}" in r.output
    assert mpimg.imread(out).shape[:2] == (600, 900) and len(rgb_counts(out)) >= 10
    assert json.loads((tmp_path / "nc.json").read_text())["plot"] == str(out)
    # The other two tasks from results of their shape.
    next_item = {"task": "next-item", "counts": {"test_users": 5, "catalogue": 9},
                 "params": {"ks": [1, 3]},
                 "metrics": {"a": {"hit@1": 0.2, "hit@3": 0.6}, "b": {"hit@1": 0.1,
                                                                       "hit@3": 0.3}},
                 "hit_curve": {"k": [1, 2, 3], "methods": {"a": [0.2, 0.4, 0.6],
                                                           "b": [0.1, 0.2, 0.3]}}}
    link = {"task": "link-prediction", "params": {"negatives": "uniform"},
            "auc": {"centred_cosine": 0.9, "popularity": 0.6},
            "scorers": {"centred_cosine": "embedding", "popularity": "baseline"}}
    for result in (next_item, link):
        path = tmp_path / f"{result['task']}.png"
        plot_result(result, path)
        assert len(rgb_counts(path)) >= 10
    bars = rgb_counts(tmp_path / "link-prediction.png")
    assert bars.get(hex_rgb("#1f77b4"), 0) > 1000 and bars.get(hex_rgb("#a0a0a0"), 0) > 500
    with pytest.raises(GraphembError, match="cannot plot"):
        plot_result({"task": "other"}, tmp_path / "x.png")


def test_evaluate_refuses_a_bad_plot_file_before_running(planted, tmp_path):
    r = invoke(["evaluate", "link-prediction", "--plot", tmp_path / "lp.html"], planted["ws"])
    one_line_error(r, "lp.html", "png")
    assert not (planted["ws"] / "eval" / "link-prediction.json").exists()


def test_hit_rate_curve_counts_users_within_k():
    from graphemb.evaluation.metrics import hit_rate_curve, ranking_metrics

    ranks = np.array([[1.0], [3.0], [np.inf], [2.0], [np.nan]])
    curve = hit_rate_curve(ranks, 4)
    np.testing.assert_allclose(curve, [0.25, 0.5, 0.75, 0.75])
    m = ranking_metrics(ranks, ks=(1, 3))
    assert curve[0] == m["hit@1"] and curve[2] == m["hit@3"]
