"""Landscape benchmarks (issue: foundation)."""

from __future__ import annotations

from typing import Callable

import numpy as np

from verify import parse_problem

from ._common import Result, median_time

SHALLOW_1000 = """
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
"""


def bench_np_loss_grad(repeat: int) -> Result:
    """np tier, E = 1000, widths (1, 16, 1), tanh, 64 points: one batched loss + gradient
    against a bare np.tanh over the same E * 64 * 16 float64 elements (goal: ratio <= 3)."""
    from verify._np import NpLandscape

    p = parse_problem(SHALLOW_1000)
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

    p = parse_problem(SHALLOW_1000)
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
