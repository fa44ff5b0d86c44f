"""Run `python -m graphemb ARGS` in this process and write its memory high-water marks.

    python benchmarks/memrun.py STATUS.json ARGS...

After the command ends (normally or not) /proc/self/status is read once more and its
VmHWM (peak resident set: anonymous + file-backed + shared pages, the kernel's own
high-water mark of this process since exec), VmRSS, RssAnon, RssFile and RssShmem (KiB)
are written to STATUS.json; the exit code is the command's. Linux only. benchmarks/measure.py
(measure_memory) samples the same file from outside while the command runs, for the peak
of the anonymous part, which the kernel does not keep.
"""
from __future__ import annotations

import json
import runpy
import sys


def status_kib() -> dict:
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile", "RssShmem"):
                out[key] = int(value.split()[0])
    return out


def main() -> int:
    path, args = sys.argv[1], sys.argv[2:]
    sys.argv = ["graphemb", *args]
    code = 0
    try:
        runpy.run_module("graphemb", run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        with open(path, "w") as fh:
            json.dump(status_kib(), fh)
    return code


if __name__ == "__main__":
    sys.exit(main())
