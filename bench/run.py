"""Benchmarks: ``python bench/run.py [NAME ...] [--repeat N] [--json PATH]``.

Each benchmark times our code and a named peer in the same run and prints the ratio of
medians. Performance goals live here, never in timed unit tests.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from verify import __version__, parse_problem  # noqa: E402


@dataclass(frozen=True)
class Result:
    name: str
    ours: str
    peer: str
    ours_median_s: float
    peer_median_s: float
    ratio: float
    goal: str
    met: bool


def median_time(fn: Callable[[], object], repeat: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_np_loss_grad(repeat: int) -> Result:
    """np tier, E = 1000, widths (1, 16, 1), tanh, 64 points: one batched loss + gradient
    against a bare np.tanh over the same E * 64 * 16 float64 elements (goal: ratio <= 3)."""
    from verify._np import NpLandscape

    p = parse_problem("""
[network]
widths = [1, 16, 1]
activation = "tanh"
[data]
grid = { start = "-1", stop = "1", num = 64 }
[target]
expr = "x**2"
[init]
scheme = "normal"
seed = 0
ensemble = 1000
""")
    land = NpLandscape(p)
    theta = p.init.thetas(p.network)
    z = np.random.default_rng(0).normal(size=(1000, 64, 16))
    ours = median_time(lambda: land.loss_and_grad(theta), repeat)
    peer = median_time(lambda: np.tanh(z), repeat)
    ratio = ours / peer
    return Result("np_loss_grad", "NpLandscape.loss_and_grad (E=1000, 1-16-1 tanh, 64 points)",
                  "np.tanh over 1000*64*16 float64", ours, peer, ratio, "ratio <= 3", ratio <= 3)


def bench_np_einsum_reference(repeat: int) -> Result:
    """The same evaluation written as a straightforward einsum, for context (no goal)."""
    from verify._np import NpLandscape

    E, n, H = 1000, 64, 16
    rng = np.random.default_rng(0)
    x = np.linspace(-1, 1, n)
    y = x**2
    W, b, v, c = rng.normal(size=(E, H)), rng.normal(size=(E, H)), rng.normal(size=(E, H)), rng.normal(size=E)

    def einsum_version() -> tuple[np.ndarray, ...]:
        a = np.tanh(np.einsum("n,eh->enh", x, W) + b[:, None, :])
        r = np.einsum("enh,eh->en", a, v) + c[:, None] - y
        loss = np.mean(r * r, axis=1)
        g = 2 * r / n
        gv = np.einsum("en,enh->eh", g, a)
        gz = np.einsum("en,eh->enh", g, v) * (1 - a * a)
        return loss, gv, g.sum(1), np.einsum("enh,n->eh", gz, x), gz.sum(1)

    p = parse_problem("""
[network]
widths = [1, 16, 1]
activation = "tanh"
[data]
grid = { start = "-1", stop = "1", num = 64 }
[target]
expr = "x**2"
[init]
scheme = "normal"
ensemble = 1000
""")
    land = NpLandscape(p)
    theta = p.init.thetas(p.network)
    ours = median_time(lambda: land.loss_and_grad(theta), repeat)
    peer = median_time(einsum_version, repeat)
    return Result("np_vs_einsum", "NpLandscape.loss_and_grad", "straightforward einsum loss + gradient",
                  ours, peer, ours / peer, "context only", True)


BENCHMARKS: dict[str, Callable[[int], Result]] = {
    "np_loss_grad": bench_np_loss_grad,
    "np_vs_einsum": bench_np_einsum_reference,
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help=f"benchmarks to run (default all): {', '.join(BENCHMARKS)}")
    ap.add_argument("--repeat", type=int, default=30, help="timed repetitions per side (median reported)")
    ap.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = ap.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        ap.error(f"unknown benchmark {unknown[0]!r}: choose from {', '.join(BENCHMARKS)}")
    results = []
    print(f"verify {__version__}, numpy {np.__version__}, Python {platform.python_version()}, {platform.machine()}")
    print(f"{'benchmark':<16} {'ours (ms)':>10} {'peer (ms)':>10} {'ratio':>7}  goal")
    for name in args.names or list(BENCHMARKS):
        r = BENCHMARKS[name](args.repeat)
        results.append(r)
        flag = "" if r.met else "  NOT MET"
        print(f"{r.name:<16} {r.ours_median_s * 1e3:10.3f} {r.peer_median_s * 1e3:10.3f} {r.ratio:7.2f}  "
              f"{r.goal}{flag}   [peer: {r.peer}]")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
    return 0 if all(r.met for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
