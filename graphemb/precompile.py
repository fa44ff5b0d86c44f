"""Fill Numba's cache ahead of the first real run: ``python -m graphemb.precompile``.

`make install` runs it after pip, so a user's first `graphemb` command loads compiled kernels
instead of compiling them (benchmarks/compile.py measures both). It runs the default
pipeline, the headline node2vec walk, graphemb's trainer (plain skip-gram and EGES) and
the exact search on a tiny generated log in a temporary workspace, through the same
functions the CLI calls, so the cached signatures are the ones a real run asks for.
Nothing outside the temporary folder and Numba's cache is written.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _tiny_log(path: Path, seed: int = 0) -> None:
    """Sessions of 60 users over 40 items, with a category per item."""
    rng = np.random.default_rng(seed)
    rows = ["user,item,time"]
    for user in range(60):
        items = (rng.integers(0, 8) * 5 + rng.integers(0, 12, 12)) % 40
        for k, item in enumerate(items):
            rows.append(f"u{user},i{item},{1_600_000_000 + 60 * k}")
    path.write_text("\n".join(rows) + "\n")
    side = ["item,category"] + [f"i{i},c{i % 4}" for i in range(40)]
    (path.parent / "side.csv").write_text("\n".join(side) + "\n")


def precompile(verbose: bool = True) -> float:
    """Compile (or load from the cache) every kernel of the default pipeline; seconds taken."""
    import graphemb as ge

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="graphemb-precompile-") as tmp:
        tmp = Path(tmp)
        log = tmp / "log.csv"
        _tiny_log(log)
        steps = [
            ("build-graph", lambda w: ge.build_graph(log, workdir=w, quiet=True)),
            ("walk", lambda w: ge.walk(workdir=w, num_walks=2, walk_length=8, quiet=True)),
            ("walk --p 0.5 --q 2", lambda w: ge.walk(workdir=w, num_walks=2, walk_length=8,
                                                     p=0.5, q=2, quiet=True)),
            ("train --trainer numba", lambda w: ge.train(workdir=w, dim=8, epochs=1,
                                                         trainer="numba", quiet=True)),
            ("train --side-info", lambda w: ge.train(workdir=w, dim=8, epochs=1,
                                                     side_info=tmp / "side.csv", quiet=True)),
            ("similar", lambda w: ge.similar(["i1"], workdir=w, k=2, min_count=1)),
        ]
        for name, step in steps:
            t = time.perf_counter()
            step(tmp / "work")
            if verbose:
                print(f"  {name}: {time.perf_counter() - t:.1f} s", file=sys.stderr)
    return time.perf_counter() - t0


def main() -> None:
    print("graphemb: compiling the Numba kernels once (cached for every later run)...",
          file=sys.stderr)
    seconds = precompile()
    print(f"graphemb: kernels ready ({seconds:.0f} s).", file=sys.stderr)


if __name__ == "__main__":
    main()
