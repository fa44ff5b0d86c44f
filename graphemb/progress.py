"""Progress bars on a terminal, silence elsewhere or with --quiet."""
from __future__ import annotations

import sys

from tqdm.auto import tqdm


def progress(total: int, desc: str, quiet: bool = False, unit: str = "it"):
    disable = quiet or not sys.stderr.isatty()
    return tqdm(total=total, desc=desc, unit=unit, disable=disable, leave=False,
                unit_scale=True, file=sys.stderr)
