"""Benchmarks: ``python bench/run.py [NAME ...] [--repeat N] [--json PATH]``.

Each benchmark times our code and a named peer in the same run and prints the ratio of
medians. Performance goals live here, never in timed unit tests. Benchmarks are collected
from the ``BENCHMARKS`` dict of every ``bench/bench_*.py`` module.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Callable

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench._common import Result  # noqa: E402
from verify import __version__  # noqa: E402


def collect() -> dict[str, Callable[[int], Result]]:
    found: dict[str, Callable[[int], Result]] = {}
    for path in sorted(HERE.glob("bench_*.py")):
        module = importlib.import_module(f"bench.{path.stem}")
        found.update(module.BENCHMARKS)
    return found


def main(argv: list[str] | None = None) -> int:
    benchmarks = collect()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help=f"benchmarks to run (default all): {', '.join(benchmarks)}")
    ap.add_argument("--repeat", type=int, default=30, help="timed repetitions per side where cheap (median)")
    ap.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = ap.parse_args(argv)
    unknown = [n for n in args.names if n not in benchmarks]
    if unknown:
        ap.error(f"unknown benchmark {unknown[0]!r}: choose from {', '.join(benchmarks)}")
    results = []
    print(f"verify {__version__}, numpy {np.__version__}, Python {platform.python_version()}, {platform.machine()}")
    print(f"{'benchmark':<16} {'ours (s)':>10} {'peer (s)':>10} {'ratio':>8}  goal")
    for name in args.names or list(benchmarks):
        r = benchmarks[name](args.repeat)
        results.append(r)
        flag = "" if r.met else "  NOT MET"
        print(f"{r.name:<16} {r.ours_median_s:10.4g} {r.peer_median_s:10.4g} {r.ratio:8.3g}  {r.goal}{flag}",
              flush=True)
        print(f"{'':<16} ours: {r.ours}; peer: {r.peer}" + (f"; {r.notes}" if r.notes else ""), flush=True)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
    return 0 if all(r.met for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
