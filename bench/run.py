"""Benchmarks: ``python bench/run.py [NAME ...] [--repeat N] [--json PATH]``.

Each benchmark times our code and a named peer in the same run and prints the ratio of
medians. Performance goals live here, never in timed unit tests. Benchmarks are collected
from the ``BENCHMARKS`` dict of every ``bench/bench_*.py`` module.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
from dataclasses import asdict, replace
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


def print_table(rows: list[dict[str, object]]) -> None:
    """Every solver of a benchmark: times, ratios to ours (peer / ours: above 1, ours is faster), accuracy."""
    print(f"{'':<4}{'solver':<34} {'run s':>8} {'compile s':>10} {'total s':>8} {'total/ours':>10} "
          f"{'run/ours':>9} {'error':>9}  note")
    for row in rows:
        if row.get("skipped"):
            print(f"{'':<4}{row['name']:<34} skipped: {row['skipped']}")
            continue
        def num(key: str, fmt: str, row: dict[str, object] = row) -> str:
            value = row.get(key)
            return format(value, fmt) if isinstance(value, float) and value == value else "-"
        print(f"{'':<4}{row['name']:<34} {num('run_s', '8.4g')} {num('compile_s', '10.4g')} {num('total_s', '8.4g')} "
              f"{num('total_ratio', '10.2f')} {num('run_ratio', '9.2f')} {num('error', '9.1e')}  {row.get('note', '')}")


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
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(f"verify {__version__}, numpy {np.__version__}, Python {platform.python_version()}, {platform.machine()}, "
          f"{os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"{'benchmark':<16} {'ours (s)':>10} {'peer (s)':>10} {'ratio':>8}  goal")
    for name in args.names or list(benchmarks):
        r = benchmarks[name](args.repeat)
        load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
        r = replace(r, notes=(r.notes + "; " if r.notes else "") + f"load average after it {load[0]:.2f}")
        results.append(r)
        flag = "" if r.met else "  NOT MET"
        print(f"{r.name:<16} {r.ours_median_s:10.4g} {r.peer_median_s:10.4g} {r.ratio:8.3g}  {r.goal}{flag}",
              flush=True)
        print(f"{'':<16} ours: {r.ours}; peer: {r.peer}" + (f"; {r.notes}" if r.notes else ""), flush=True)
        if r.table:
            print_table(r.table)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
    return 0 if all(r.met for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
