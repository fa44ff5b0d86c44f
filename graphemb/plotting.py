"""The `plot` verb: a 2-D map of a workspace's trained item vectors, as a PNG (matplotlib)
and as a self-contained HTML file (an inline SVG written here, one hover label per point).

The map is UMAP (umap-learn, optional) or PCA of the items' vectors in the space `similar`
compares them in (centred, unit length: graphemb.vectors.item_space), so that near on the map
means similar by cosine. Points are coloured by a side-information column (the most common
``top`` values get colours, the rest are grey, items without a value light grey); cold-start
items of an EGES/GES model are drawn as triangles (PNG) or squares (HTML). At most
``max_points`` items are plotted, a uniform random sample with ``seed``.
"""
from __future__ import annotations

import html
import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import GraphembError, require
from .options import PLOT

DEFAULT_MIN_COUNT = PLOT.min_count.default     # as similar: rarer items' vectors are noise

METHODS = ("auto", "pca", "umap")
FORMATS = {".png": "png", ".html": "html", ".htm": "html"}
DEFAULT_MAX_POINTS = 20_000
DEFAULT_TOP = 10
DEFAULT_SIZE = (1200, 900)
MIN_UMAP_POINTS = 16            # fewer: UMAP's neighbour graph is degenerate (PCA then)
# Colours of the top values (no grey among them: grey is "other").
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#bcbd22", "#17becf", "#393b79", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896",
           "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d", "#9edae5", "#637939")
OTHER, NO_VALUE, PLAIN = "#a0a0a0", "#dcdcdc", "#1f77b4"
OTHER_CODE, NO_VALUE_CODE = -1, -2
MAX_TOP = len(PALETTE)


@dataclass
class ItemMap:
    """What is drawn: one row per plotted item."""

    ids: np.ndarray                 # item ids
    xy: np.ndarray                  # float64 [n, 2]
    cold: np.ndarray                # bool [n]: cold-start item
    codes: np.ndarray               # int [n]: colour index, OTHER_CODE or NO_VALUE_CODE
    legend: list                    # [(label, colour, count)] in drawing-key order
    hover: list                     # hover label per point
    title: str
    axes: tuple                     # axis names
    info: dict = field(default_factory=dict)

    def colours(self) -> np.ndarray:
        palette = np.array([*PALETTE, NO_VALUE, OTHER], dtype=object)
        return palette[np.where(self.codes >= 0, self.codes, len(PALETTE) + 2 + self.codes)] \
            if self.info.get("color_by") else np.full(len(self.codes), PLAIN, dtype=object)


# --------------------------------------------------------------------------- checks


def output_format(path) -> str:
    """"png" or "html" by the file name's suffix."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise GraphembError(f"{path}: give a file name ending in .png or .html (the suffix "
                            "decides the format).")
    return FORMATS[suffix]


def check_output(path, needed_for: str, formats=("png", "html")) -> str:
    """The format of ``path``, after checking that it can be written (its folder exists and
    is writable, it is not a folder) and that matplotlib is there for a PNG; before any
    work, so nothing is computed for an output that cannot be written."""
    path = Path(path)
    fmt = output_format(path)
    if fmt not in formats:
        raise GraphembError(f"{path}: {needed_for} writes {' or '.join(formats)} files; "
                            f"name it .{formats[0]}.")
    folder = path.parent
    if path.is_dir():
        raise GraphembError(f"{path}: is a folder; give a file name.")
    if not folder.is_dir():
        raise GraphembError(f"{path}: folder {str(folder)!r} does not exist; create it first.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise GraphembError(f"{path}: cannot write in {str(folder)!r} (permission denied).")
    if fmt == "png":
        require("matplotlib", "plot", f"{needed_for} as PNG")
    return fmt


def check_options(method: str, max_points: int, top: int, size, seed: int,
                  min_count: int) -> None:
    if method not in METHODS:
        raise GraphembError(f"--method must be one of {', '.join(METHODS)} (got {method!r}).")
    if max_points < 2:
        raise GraphembError(f"--max-points must be at least 2 (got {max_points}).")
    if not 1 <= top <= MAX_TOP:
        raise GraphembError(f"--top must be between 1 and {MAX_TOP} (got {top}).")
    width, height = size
    if not (200 <= width <= 10_000 and 200 <= height <= 10_000):
        raise GraphembError(f"--size {width}x{height}: each side must be 200..10000 pixels.")
    if min_count < 1:
        raise GraphembError(f"--min-count must be at least 1 (got {min_count}).")
    if not isinstance(seed, (int, np.integer)):
        raise GraphembError(f"--seed must be a whole number (got {seed!r}).")


def parse_size(text: str) -> tuple[int, int]:
    """'1200x900' -> (1200, 900)."""
    try:
        width, height = (int(x) for x in str(text).lower().split("x"))
    except ValueError:
        raise GraphembError(f"--size {text!r}: write WIDTHxHEIGHT in pixels, e.g. 1200x900.") \
            from None
    return width, height


# ----------------------------------------------------------------------- the map


def sample_rows(n: int, max_points: int, seed: int) -> np.ndarray:
    """All rows, or ``max_points`` of them drawn uniformly without replacement, sorted."""
    if n <= max_points:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, max_points, replace=False))


def pca_2d(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first two principal components of ``x`` (rows centred) and the share of the
    variance each explains. Each axis's sign is fixed (its largest loading positive), so
    the map is the same on every machine."""
    x = np.asarray(x, dtype=np.float64)
    x = x - x.mean(0)
    _, s, vt = np.linalg.svd(x, full_matrices=False)
    vt = vt[:2]
    vt *= np.sign(vt[np.arange(len(vt)), np.abs(vt).argmax(1)])[:, None]
    xy = x @ vt.T
    if xy.shape[1] < 2:                        # one-dimensional vectors
        xy = np.c_[xy, np.zeros(len(xy))]
    total = float((s ** 2).sum())
    share = (s[:2] ** 2) / total if total > 0 else np.zeros(2)
    return xy, np.r_[share, np.zeros(2 - len(share))]


def umap_2d(x: np.ndarray, seed: int) -> np.ndarray:
    """UMAP (cosine metric) to two dimensions, seeded (umap-learn then runs on one thread).

    Identical rows are embedded once and share their point: cold-start items with the same
    side values have the same vector, and as many copies at distance 0 would be each other's
    only neighbours, a component of their own that UMAP throws far from the rest."""
    import warnings

    umap = require("umap", "umap", "`graphemb plot --method umap`")
    unique, inverse = np.unique(np.asarray(x, dtype=np.float32), axis=0, return_inverse=True)
    if len(unique) < MIN_UMAP_POINTS:
        raise GraphembError(f"UMAP needs at least {MIN_UMAP_POINTS} distinct vectors "
                            f"({len(unique)} to plot); use --method pca.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reducer = umap.UMAP(n_components=2, metric="cosine", random_state=seed,
                            n_neighbors=min(15, len(unique) - 1), min_dist=0.1)
        xy = np.asarray(reducer.fit_transform(unique), np.float64)
    return xy[inverse.reshape(-1)]


def choose_method(method: str, n: int) -> tuple[str, str]:
    """(pca or umap, why) for ``method`` (auto: UMAP if umap-learn is installed)."""
    if method == "umap":
        if n < MIN_UMAP_POINTS:
            raise GraphembError(f"UMAP needs at least {MIN_UMAP_POINTS} points ({n} to plot); "
                                "use --method pca.")
        return "umap", "--method umap"
    if method == "pca":
        return "pca", "--method pca"
    if importlib.util.find_spec("umap") is None:
        return "pca", "umap-learn not installed: pip install 'graphemb[umap]' for UMAP"
    if n < MIN_UMAP_POINTS:
        return "pca", f"fewer than {MIN_UMAP_POINTS} points for UMAP"
    return "umap", "umap-learn installed"


def top_codes(values: np.ndarray, top: int) -> tuple[np.ndarray, list, list]:
    """Colour codes for ``values`` (text, None = no value): 0..top-1 for the most common
    values (ties by text), OTHER_CODE for the rest, NO_VALUE_CODE for None; and the chosen
    values with their counts."""
    present = np.array([v is not None for v in values], dtype=bool)
    codes = np.full(len(values), NO_VALUE_CODE, dtype=np.int64)
    if not present.any():
        return codes, [], []
    uniq, inverse, counts = np.unique(values[present].astype(str), return_inverse=True,
                                      return_counts=True)
    order = np.lexsort((uniq, -counts))[:top]       # most common first, then by text
    rank = np.full(len(uniq), OTHER_CODE, dtype=np.int64)
    rank[order] = np.arange(len(order))
    codes[present] = rank[inverse]
    return codes, [str(u) for u in uniq[order]], [int(c) for c in counts[order]]


def side_values(path, item_col, column: str, ids: np.ndarray) -> np.ndarray:
    """The first value (of A|B) of ``column`` for each of ``ids``, None where the table has
    no value or no row for the item."""
    from .io import tables
    from .io.ids import id_positions
    from .models.eges import read_side_info

    source = tables.open_table(path, what="side-information table")
    if column not in source.header:
        raise GraphembError(f"{source.path}: no column {column!r} to colour by (columns are: "
                            f"{', '.join(source.header[:12])}); fix --color-by.")
    if item_col is not None and item_col not in source.header:
        raise GraphembError(f"{source.path}: item column {item_col!r} not found (columns are: "
                            f"{', '.join(source.header[:12])}); fix --item-col.")
    guessed = item_col or next((c for c in tables.ITEM_COLUMNS if c in source.header), None)
    if column == guessed:
        raise GraphembError(f"--color-by {column}: that is the table's item id column; name a "
                            "categorical column such as genre.")
    side = read_side_info(source.path, item_col, [column], multi_value="first")
    labels = np.array(side.labels[0], dtype=object)          # the last one is None (missing)
    pos = id_positions(side.keys.astype(str), [str(i) for i in ids])
    out = np.full(len(ids), None, dtype=object)
    found = pos >= 0
    out[found] = labels[side.codes[pos[found], 0]]
    return out


def side_table_of(vectors, side, item_col, color_by):
    """The table to colour by and its id column: ``side``, else the one the EGES/GES model
    was trained with."""
    if color_by is None:
        given = [name for name, v in (("--side", side), ("--item-col", item_col)) if v]
        if given:
            raise GraphembError(f"{', '.join(given)} only apply with --color-by COLUMN; add it "
                                "or drop them.")
        return None, None
    if side is not None:
        return side, item_col
    params = (vectors.manifest or {}).get("params", {})
    if not params.get("side_info"):
        raise GraphembError(f"--color-by {color_by}: this model was trained without side "
                            "information; give the table with --side FILE (keyed by item id).")
    if not Path(params["side_info"]).exists():
        raise GraphembError(f"{params['side_info']}: the model's side-information table is "
                            "gone; give it with --side FILE.")
    return params["side_info"], item_col or params.get("item_col")


def item_map(*, workdir=None, vectors=None, method: str = "auto", color_by: str | None = None,
             side=None, item_col: str | None = None, top: int = DEFAULT_TOP, names=None,
             name_col: str | None = None, names_id_col: str | None = None,
             max_points: int = DEFAULT_MAX_POINTS, seed: int = 0,
             min_count: int = DEFAULT_MIN_COUNT, size=DEFAULT_SIZE) -> ItemMap:
    """The points of `graphemb plot` (see ``plot``), not yet drawn."""
    from .vectors import ItemVectors, read_names

    check_options(method, max_points, top, size, seed, min_count)
    if names is None and (name_col or names_id_col):
        raise GraphembError("--name-col and --names-id-col only apply with --names FILE.")
    vectors = ItemVectors.load(workdir) if vectors is None else vectors
    table, table_id = side_table_of(vectors, side, item_col, color_by)
    names_map = read_names(names, names_id_col, name_col)[0] if names else {}
    if vectors.side_info and vectors.folder is not None:
        vectors = vectors.with_cold_start()
    keep = vectors.has_vector.copy()
    with_vector = int(keep.sum())
    if min_count > 1:
        keep &= vectors.eligible(min_count) | vectors.cold_start
    rows = np.flatnonzero(keep)
    if len(rows) < 2:
        raise GraphembError(f"only {len(rows)} item(s) with a vector to plot; lower --min-count "
                            "or train on more data.")
    rows = rows[sample_rows(len(rows), max_points, seed)]
    ids, cold = vectors.ids[rows], vectors.cold_start[rows]
    x = vectors.unit(center=True)[rows]
    chosen, why = choose_method(method, len(rows))
    if chosen == "umap":
        xy, axes, how = umap_2d(x, seed), ("UMAP 1", "UMAP 2"), "UMAP (cosine)"
    else:
        xy, share = pca_2d(x)
        axes = tuple(f"PC{i + 1} ({s:.1%} of variance)" for i, s in enumerate(share))
        how = "PCA"
    info = {"method": chosen, "method_reason": why, "points": int(len(rows)),
            "items_with_vector": with_vector, "rare_left_out": with_vector - int(keep.sum()),
            "cold_start_points": int(cold.sum()),
            "sample": ("all" if keep.sum() <= max_points else
                       f"uniform random {len(rows):,} of {int(keep.sum()):,}, seed {seed}"),
            "color_by": color_by, "min_count": min_count}
    legend = []
    if color_by:
        values = side_values(table, table_id, color_by, ids)
        codes, chosen_values, counts = top_codes(values, top)
        legend = [(v, PALETTE[i], c) for i, (v, c) in enumerate(zip(chosen_values, counts))]
        n_other, n_none = int((codes == OTHER_CODE).sum()), int((codes == NO_VALUE_CODE).sum())
        if n_other:
            distinct = len({str(v) for v in values if v is not None}) - len(chosen_values)
            legend.append((f"other ({distinct} values)", OTHER, n_other))
        if n_none:
            legend.append(("no value", NO_VALUE, n_none))
        info.update(side_table=str(table), values_coloured=len(chosen_values))
    else:
        values = np.full(len(ids), None, dtype=object)
        codes = np.zeros(len(ids), dtype=np.int64)
    hover = []
    for item, value, is_cold in zip(ids, values, cold):       # one label per plotted point
        parts = [str(item)]
        if names_map:
            parts.append(names_map.get(str(item), "?"))
        if color_by:
            parts.append(f"{color_by}: {value if value is not None else '(none)'}")
        if is_cold:
            parts.append("cold-start")
        hover.append(" | ".join(parts))
    where = Path(vectors.folder).parent.name if vectors.folder is not None else "vectors"
    title = f"{where}: {len(rows):,} items, {how}"
    if color_by:
        title += f", coloured by {color_by}"
    return ItemMap(ids, xy, cold, codes, legend, hover, title, axes, info)


# ------------------------------------------------------------------------- drawing


def cold_label(m: ItemMap) -> str:
    """The legend's entry for cold-start items; those with the same side values share a
    vector, so say at how many distinct places they are."""
    n = int(m.cold.sum())
    places = len(np.unique(np.round(m.xy[m.cold], 9), axis=0))
    return f"cold-start item ({n:,}" + (f", at {places:,} places)" if places < n else ")")


def point_radius(n: int) -> float:
    """Radius in pixels: 5 for a few hundred points, down to 1.5 for tens of thousands."""
    return float(np.clip(5.0 * np.sqrt(300.0 / max(n, 1)), 1.5, 5.0))


def draw_order(m: ItemMap) -> np.ndarray:
    """Grey points first, then the coloured ones from the most common value to the least
    (so that small groups stay visible); stable within a group."""
    key = np.where(m.codes < 0, -10 + m.codes, m.codes)
    return np.argsort(key, kind="stable")


def write_png(m: ItemMap, path, size=DEFAULT_SIZE) -> Path:
    """The map as a PNG of exactly ``size`` pixels (matplotlib, no pyplot state)."""
    from .workspace import atomic_file

    require("matplotlib", "plot", "`graphemb plot` as PNG")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    dpi = 100
    fig = Figure(figsize=(size[0] / dpi, size[1] / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.05, 0.07, 0.68 if m.legend else 0.9, 0.85))
    colours, order = m.colours(), draw_order(m)
    r = point_radius(len(m.ids))
    area = (2 * r * 72 / dpi) ** 2                      # points^2
    for is_cold, marker, scale in ((False, "o", 1.0), (True, "^", 2.0)):
        rows = order[m.cold[order] == is_cold]
        if len(rows):
            ax.scatter(m.xy[rows, 0], m.xy[rows, 1], s=area * scale, c=list(colours[rows]),
                       marker=marker, linewidths=0.6 if is_cold else 0,
                       edgecolors="black" if is_cold else "none")
    ax.set_xlabel(m.axes[0])
    ax.set_ylabel(m.axes[1])
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(m.title, fontsize=11)
    handles = [Line2D([], [], marker="o", linestyle="", color=c, label=f"{label} ({n:,})")
               for label, c, n in m.legend]
    if m.cold.any():
        handles.append(Line2D([], [], marker="^", linestyle="", markerfacecolor="white",
                              markeredgecolor="black", color="black", label=cold_label(m)))
    if handles:
        fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.75, 0.92),
                   fontsize=9, frameon=False)
    path = Path(path)
    with atomic_file(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    return path


def _scaled(xy: np.ndarray, box) -> np.ndarray:
    """``xy`` into the pixel box (left, top, width, height), y upwards, aspect kept."""
    left, top, width, height = box
    lo, hi = xy.min(0), xy.max(0)
    span = np.where(hi - lo > 0, hi - lo, 1.0)
    scale = min(width / span[0], height / span[1])
    centre = (lo + hi) / 2
    out = np.empty_like(xy, dtype=np.float64)
    out[:, 0] = left + width / 2 + (xy[:, 0] - centre[0]) * scale
    out[:, 1] = top + height / 2 - (xy[:, 1] - centre[1]) * scale
    return out


_CSS = ("body{font-family:sans-serif;margin:1em}svg{max-width:100%;height:auto}"
        ".pts circle:hover,.pts rect:hover{stroke:#000;stroke-width:2}"
        ".key{cursor:pointer}.off{opacity:.25}")
# Clicking a legend entry hides or shows its points (written here; no library).
_JS = ("document.querySelectorAll('.key').forEach(function(k){k.addEventListener('click',"
       "function(){var g=document.getElementById(k.dataset.group);var hide=!k.classList"
       ".contains('off');k.classList.toggle('off',hide);g.style.display=hide?'none':'';});});")


def html_text(m: ItemMap, size=DEFAULT_SIZE) -> str:
    """The map as one self-contained XHTML page: an inline SVG with one ``<title>`` hover
    label per point, and a legend whose entries toggle their points."""
    width, height = size
    legend_w = 260 if m.legend or m.cold.any() else 0
    box = (20, 20, width - legend_w - 40, height - 40)
    xy = _scaled(m.xy, box)
    r = point_radius(len(m.ids))
    colours, order = m.colours(), draw_order(m)
    esc = html.escape
    groups = {}                                   # colour -> [svg elements], in draw order
    for i in order:
        x, y = xy[i]
        label = f"<title>{esc(m.hover[i])}</title>"
        if m.cold[i]:
            d = 2 * r
            element = (f'<rect x="{x - d / 2:.1f}" y="{y - d / 2:.1f}" width="{d:.1f}" '
                       f'height="{d:.1f}" stroke="#000" stroke-width="0.6">{label}</rect>')
        else:
            element = f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}">{label}</circle>'
        groups.setdefault(colours[i], []).append(element)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}">',
             f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fff"/>',
             '<g class="pts">']
    for k, (colour, elements) in enumerate(groups.items()):
        parts.append(f'<g id="g{k}" fill="{colour}">' + "".join(elements) + "</g>")
    parts.append("</g>")
    group_of = {c: f"g{k}" for k, c in enumerate(groups)}
    y0, lx = 40, width - legend_w
    for j, (label, colour, n) in enumerate(m.legend):
        gid = group_of.get(colour, "")
        parts.append(f'<g class="key" data-group="{gid}"><circle cx="{lx + 8}" '
                     f'cy="{y0 + 20 * j}" r="6" fill="{colour}"/><text x="{lx + 20}" '
                     f'y="{y0 + 20 * j + 4}" font-size="13">{esc(label)} ({n:,})</text></g>')
    if m.cold.any():
        j = len(m.legend)
        parts.append(f'<rect x="{lx + 2}" y="{y0 + 20 * j - 6}" width="12" height="12" '
                     f'fill="#fff" stroke="#000"/><text x="{lx + 20}" y="{y0 + 20 * j + 4}" '
                     f'font-size="13">{esc(cold_label(m))}</text>')
    parts.append("</svg>")
    sample = "" if m.info["sample"] == "all" else f" ({m.info['sample']})"
    note = (f"{m.axes[0]} across, {m.axes[1]} up; {len(m.ids):,} items plotted{sample}. "
            "Hover over a point for its id; click a legend entry to hide or show its points.")
    return ("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\"><head>"
            f'<meta charset="utf-8"/><title>{esc(m.title)}</title><style>{_CSS}</style>'
            f"</head><body><h3>{esc(m.title)}</h3><p>{esc(note)}</p>\n" + "\n".join(parts) +
            f"\n<script>//<![CDATA[\n{_JS}\n//]]></script></body></html>\n")


def write_html(m: ItemMap, path, size=DEFAULT_SIZE) -> Path:
    from .workspace import atomic_file

    path = Path(path)
    with atomic_file(path) as tmp:
        tmp.write_text(html_text(m, size), encoding="utf-8")
    return path


# ------------------------------------------------------------------------- the verb


def plot(outputs, *, workdir=None, vectors=None, method: str = "auto",
         color_by: str | None = None, side=None, item_col: str | None = None,
         top: int = DEFAULT_TOP, names=None, name_col: str | None = None,
         names_id_col: str | None = None, max_points: int = DEFAULT_MAX_POINTS, seed: int = 0,
         min_count: int = DEFAULT_MIN_COUNT, size=DEFAULT_SIZE) -> dict:
    """Write a 2-D map of the workspace's item vectors to ``outputs`` (a path or several;
    ``.png`` through matplotlib, ``.html`` a self-contained page with an inline SVG and one
    hover label per point).

    ``method``: "umap" (umap-learn, cosine), "pca", or "auto" (UMAP if umap-learn is
    installed and there are at least 16 points, else PCA). ``color_by`` names a column of
    ``side`` (a CSV/TSV/Parquet table keyed by item id, the id column ``item_col`` or
    guessed), by default the table an EGES/GES model was trained with; a cell like
    ``Action|Comedy`` counts as its first value; the ``top`` most common values get colours,
    the others grey. ``names`` (e.g. movies.csv) adds names to the hover labels, as
    `similar --names`. Items with fewer than ``min_count`` events are left out (cold-start
    items stay). At most ``max_points`` items are plotted: a uniform random sample, seeded.

    Returns {"files", "method", "method_reason", "points", "sample", "legend", ...}.
    """
    outputs = [outputs] if isinstance(outputs, (str, os.PathLike)) else list(outputs)
    if not outputs:
        raise GraphembError("give an output file: OUT.png or OUT.html.")
    formats = [check_output(p, "`graphemb plot`") for p in outputs]
    if names is not None and "html" not in formats:
        raise GraphembError("--names labels the points of the HTML map (hover); add an "
                            "OUT.html or drop --names.")
    m = item_map(workdir=workdir, vectors=vectors, method=method, color_by=color_by, side=side,
                 item_col=item_col, top=top, names=names, name_col=name_col,
                 names_id_col=names_id_col, max_points=max_points, seed=seed,
                 min_count=min_count, size=size)
    files = []
    for path, fmt in zip(outputs, formats):
        files.append(str((write_png if fmt == "png" else write_html)(m, path, size)))
    return {"files": files, **m.info, "title": m.title,
            "legend": [{"label": label, "colour": c, "items": n} for label, c, n in m.legend]}
