"""Landscape benchmarks (issue: foundation)."""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Any, Callable

import numpy as np

from verify import parse_problem

from ._common import Result, median_time
from ._peers import interleaved

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


def _jax_loss_grad(x: np.ndarray, y: np.ndarray, hidden: int, theta: np.ndarray, repeat: int,
                   runner: dict[str, Callable[[], Any]] | None = None
                   ) -> tuple[dict[str, Any], np.ndarray | None, np.ndarray | None]:
    """jax.jit(jax.vmap(jax.value_and_grad(loss))) on the same ensemble, float64."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError as exc:
        return {"name": "jax.jit(vmap(value_and_grad))", "skipped": f"jax is not installed ({exc})"}, None, None
    jax.config.update("jax_enable_x64", True)
    H = hidden
    xs, ys = jnp.asarray(x), jnp.asarray(y)

    def loss(th: Any) -> Any:
        w, b, v, c = th[:H], th[H:2 * H], th[2 * H:3 * H], th[3 * H]
        return jnp.mean((jnp.tanh(jnp.outer(xs, w) + b) @ v + c - ys) ** 2)

    arg = jnp.asarray(theta)
    start = time.perf_counter()
    fn = jax.jit(jax.vmap(jax.value_and_grad(loss))).lower(arg).compile()
    compile_s = time.perf_counter() - start
    run_s = median_time(lambda: jax.block_until_ready(fn(arg)), repeat)
    if runner is not None:
        runner["jax"] = lambda: jax.block_until_ready(fn(arg))
    value, grad = fn(arg)
    return ({"name": "jax.jit(vmap(value_and_grad))", "run_s": run_s, "compile_s": compile_s,
             "total_s": run_s + compile_s, "note": f"jax {jax.__version__}, float64, compile = lower().compile()"},
            np.asarray(value), np.asarray(grad))


def bench_np_loss_grad(repeat: int) -> Result:
    """np tier, E = 1000, widths (1, 16, 1), tanh, 64 points: one batched loss + gradient against
    the floor, a bare np.tanh over the same E * 64 * 16 float64 elements (goal: ratio <= 2), with
    jax.jit(vmap(value_and_grad)) and our numpy reference path beside it; all sides run in turn,
    ``repeat`` rounds, best of each. Accuracy: the max relative error of loss and gradient over 4
    members against the mp tier at 30 digits."""
    from verify import MpLandscape
    from verify.landscapes.np import NpLandscape

    p = parse_problem(SHALLOW_1000)
    land = NpLandscape(p)
    numpy_land = NpLandscape(p, compiled=False)
    theta = p.init.thetas(p.network)
    z = np.random.default_rng(0).normal(size=(1000, 64, 16))
    start = time.perf_counter()
    land.loss_and_grad(theta[:1])
    first = time.perf_counter() - start
    runner: dict[str, Callable[[], Any]] = {"ours": lambda: land.loss_and_grad(theta), "floor": lambda: np.tanh(z),
                                            "numpy": lambda: numpy_land.loss_and_grad(theta)}
    members = [0, 1, 2, 3]
    mp = MpLandscape(p, dps=30)
    exact = [mp.loss_and_grad([Fraction(v) for v in theta[e]]) for e in members]
    loss_ref = np.array([float(v[0]) for v in exact])
    grad_ref = np.array([[float(g) for g in v[1]] for v in exact])

    def error(loss: np.ndarray | None, grad: np.ndarray | None) -> float:
        if loss is None or grad is None:
            return float("nan")
        el = np.max(np.abs(loss[members] - loss_ref) / np.abs(loss_ref))
        eg = np.max(np.abs(grad[members] - grad_ref)) / np.max(np.abs(grad_ref))
        return float(max(el, eg))

    q = land._fixed
    assert q is not None
    jax_row, jl, jg = _jax_loss_grad(q.x[:, 0], q.y[:, 0], 16, theta, 3, runner)
    jax_row["error"] = error(jl, jg)
    # every side in turn, ``repeat`` rounds, the best of each (the machine is shared)
    for fn in runner.values():
        fn()
    best = interleaved(runner, repeat)
    ours, floor, reference = best["ours"], best["floor"], best["numpy"]
    if "jax" in best:
        jax_row["run_s"] = best["jax"]
        jax_row["total_s"] = best["jax"] + jax_row["compile_s"]
    compiled = land._kernel() is not None
    table = [
        {"name": "verify loss_and_grad" + (" (compiled)" if compiled else " (numpy: numba missing)"), "run_s": ours,
         "compile_s": first, "total_s": ours + first, "error": error(*land.loss_and_grad(theta)),
         "note": "compile = first call in this process (kernels from numba's disk cache)"},
        {"name": "verify loss_and_grad (numpy path)", "run_s": reference, "compile_s": 0.0, "total_s": reference,
         "error": error(*numpy_land.loss_and_grad(theta)), "note": "the reference implementation"},
        jax_row,
        {"name": "np.tanh floor", "run_s": floor, "compile_s": 0.0, "total_s": floor,
         "note": "np.tanh over 1000 * 64 * 16 float64"},
    ]
    for row in table:
        if "run_s" in row:
            row["run_ratio"] = row["run_s"] / ours
    ratio = ours / floor
    notes = (f"ours / floor {ratio:.2f}; numpy path / floor {reference / floor:.2f}"
             + (f"; jax / floor {jax_row['run_s'] / floor:.2f}" if "run_s" in jax_row else ""))
    return Result("np_loss_grad", "NpLandscape.loss_and_grad (E=1000, 1-16-1 tanh, 64 points)",
                  "np.tanh over 1000*64*16 float64", ours, floor, ratio, "ratio <= 2", ratio <= 2, notes, table)


def bench_np_einsum_reference(repeat: int) -> Result:
    """Our numpy reference path against the same evaluation written as a straightforward einsum, for
    context (no goal)."""
    from verify.landscapes.np import NpLandscape

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
    land = NpLandscape(p, compiled=False)
    theta = p.init.thetas(p.network)
    ours = median_time(lambda: land.loss_and_grad(theta), repeat)
    peer = median_time(einsum_version, repeat)
    return Result("np_vs_einsum", "NpLandscape.loss_and_grad, numpy path", "straightforward einsum loss + gradient",
                  ours, peer, ours / peer, "context only", True)


BENCHMARKS: dict[str, Callable[[int], Result]] = {
    "np_loss_grad": bench_np_loss_grad,
    "np_vs_einsum": bench_np_einsum_reference,
}
