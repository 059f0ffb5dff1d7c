"""Peers of the float64 benchmarks, each in its best ordinary setup, and ours in a fresh process.

Every function returns a ``Row`` (times in seconds) or a ``Row`` with ``skipped`` set to the
reason (a peer that is not installed is reported, never a crash). The peers are optional:
``pip install -e '.[bench]'`` (heyoka needs Python >= 3.11).

- heyoka: ``taylor_adaptive_batch`` (batch size = ``recommended_simd_size()``, compact mode),
  the gradient written out as expressions (heyoka decomposes them with common subexpressions);
  the 1000 members run as consecutive batches through one integrator. Compile = building the
  integrator with the in-memory cache cleared, with heyoka's disk cache as ordinary (warm) and
  with an empty one (cold).
- diffrax: ``Tsit5`` with a ``PIDController``, ``jax.jit(jax.vmap(diffeqsolve))`` in float64, the
  gradient by ``jax.grad``; compile = ``lower(...).compile()``.
- scipy LSODA: one ``solve_ivp`` per member with a plain numpy gradient of that member.
- jax: ``jax.jit(jax.vmap(jax.value_and_grad(loss)))``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import scipy.integrate

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Row:
    """One solver's figures: run (warm), compile (or first-call load), end to end, accuracy."""

    name: str
    run_s: float = float("nan")
    compile_s: float = 0.0
    error: float = float("nan")
    note: str = ""
    skipped: str | None = None

    @property
    def total_s(self) -> float:
        return self.run_s + self.compile_s


def skipped(name: str, reason: str) -> Row:
    return Row(name, skipped=reason)


def shallow_parts(theta: np.ndarray, hidden: int) -> tuple[np.ndarray, ...]:
    """W1, b1, v, c of one-input one-hidden-layer networks: theta (..., 3 H + 1) in verify's layout."""
    H = hidden
    return theta[..., :H], theta[..., H:2 * H], theta[..., 2 * H:3 * H], theta[..., 3 * H]


# --------------------------------------------------------------------------------------
# ensemble flow peers (1-H-1 tanh network, points x, targets y, L = mean squared error)
# --------------------------------------------------------------------------------------
def heyoka_flow(th0: np.ndarray, x: np.ndarray, y: np.ndarray, hidden: int, t1: float, tol: float,
                cold: bool = False, repeat: int = 1,
                runner: list[Callable[[], Any]] | None = None) -> tuple[Row, np.ndarray | None]:
    """theta(t1) of every member from heyoka's batch Taylor integrator (run: the best of ``repeat``);
    the run itself is appended to ``runner`` (for timing it again, interleaved with ours)."""
    try:
        import heyoka as hy
    except ImportError as exc:
        return skipped(f"heyoka tol {tol:g}", f"heyoka is not installed ({exc})"), None
    H, n = hidden, x.size
    names = [f"w{h}" for h in range(H)] + [f"b{h}" for h in range(H)] + [f"v{h}" for h in range(H)] + ["c"]
    V = hy.make_vars(*names)
    w, b, v, c = V[:H], V[H:2 * H], V[2 * H:3 * H], V[3 * H]
    parts: dict[str, list[Any]] = {nm: [] for nm in names}
    for xj, yj in zip(x.tolist(), y.tolist()):
        a = [hy.tanh(w[h] * xj + b[h]) for h in range(H)]
        r = hy.sum([v[h] * a[h] for h in range(H)]) + c - yj
        for h in range(H):
            parts[f"v{h}"].append(r * a[h])
            dz = r * v[h] * (1.0 - a[h] * a[h])
            parts[f"w{h}"].append(dz * xj)
            parts[f"b{h}"].append(dz)
        parts["c"].append(r)
    system = [(var, (-2.0 / n) * hy.sum(parts[nm])) for var, nm in zip(V, names)]
    batch = int(hy.recommended_simd_size())
    old_path = hy.llvm_state.get_diskcache_path()
    tmp = tempfile.TemporaryDirectory() if cold else None
    try:
        if tmp is not None:
            hy.llvm_state.set_diskcache_path(tmp.name)
        hy.llvm_state.clear_memcache()
        start = time.perf_counter()
        ta = hy.taylor_adaptive_batch(system, np.zeros((len(V), batch)), tol=tol, compact_mode=True)
        compile_s = time.perf_counter() - start
    finally:
        if tmp is not None:
            hy.llvm_state.set_diskcache_path(old_path)
            tmp.cleanup()
    E = th0.shape[0]
    out = np.empty_like(th0)

    def run() -> np.ndarray:
        for s in range(0, E, batch):
            blk = th0[s:s + batch]
            k = blk.shape[0]
            ta.set_time(0.0)
            ta.state[:, :k] = blk.T
            if k < batch:
                ta.state[:, k:] = blk[-1][:, None]
            ta.propagate_until(t1)
            out[s:s + k] = ta.state[:, :k].T
        return out

    if runner is not None:
        runner.append(run)
    runs = []
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        run()
        runs.append(time.perf_counter() - start)
    run_s = min(runs)
    cache = "empty disk cache" if cold else "heyoka's disk cache"
    return Row(f"heyoka tol {tol:g}", run_s, compile_s,
               note=f"batch {batch}, compact mode; compile with {cache}"), out


def diffrax_flow(th0: np.ndarray, x: np.ndarray, y: np.ndarray, hidden: int, t1: float, rtol: float,
                 atol: float) -> tuple[Row, np.ndarray | None]:
    """theta(t1) of every member from diffrax Tsit5 under jax.jit(jax.vmap(...))."""
    try:
        import diffrax
        import jax
        import jax.numpy as jnp
    except ImportError as exc:
        return skipped(f"diffrax Tsit5 rtol {rtol:g}", f"diffrax/jax is not installed ({exc})"), None
    jax.config.update("jax_enable_x64", True)
    H = hidden
    xs, ys = jnp.asarray(x), jnp.asarray(y)

    def loss(theta: Any) -> Any:
        w, b, v, c = theta[:H], theta[H:2 * H], theta[2 * H:3 * H], theta[3 * H]
        out = jnp.tanh(jnp.outer(xs, w) + b) @ v + c
        return jnp.mean((out - ys) ** 2)

    grad = jax.grad(loss)
    term = diffrax.ODETerm(lambda t, theta, args: -grad(theta))
    controller = diffrax.PIDController(rtol=rtol, atol=atol)

    def solve(theta0: Any) -> Any:
        return diffrax.diffeqsolve(term, diffrax.Tsit5(), t0=0.0, t1=t1, dt0=None, y0=theta0,
                                   stepsize_controller=controller, max_steps=1_000_000).ys[-1]

    arg = jnp.asarray(th0)
    start = time.perf_counter()
    compiled = jax.jit(jax.vmap(solve)).lower(arg).compile()
    compile_s = time.perf_counter() - start
    runs = []
    for _ in range(2):
        start = time.perf_counter()
        out = np.asarray(jax.block_until_ready(compiled(arg)))
        runs.append(time.perf_counter() - start)
    return Row(f"diffrax Tsit5 rtol {rtol:g}", min(runs), compile_s,
               note="jax.jit(jax.vmap(diffeqsolve)), float64; run best of 2"), out


def lsoda_flow(th0: np.ndarray, x: np.ndarray, y: np.ndarray, hidden: int, t1: float, rtol: float, atol: float,
               members: int) -> tuple[Row, np.ndarray, int]:
    """theta(t1) of the first ``members`` members from one scipy LSODA solve each, with a plain
    numpy gradient of one member (not through NpLandscape); the time is scaled to all members."""
    H, n = hidden, x.size

    def field(t: float, theta: np.ndarray) -> np.ndarray:
        w, b, v, c = theta[:H], theta[H:2 * H], theta[2 * H:3 * H], theta[3 * H]
        a = np.tanh(np.outer(x, w) + b)
        r = a @ v + c - y
        g = (2.0 / n) * r
        gz = np.outer(g, v) * (1.0 - a * a)
        return -np.concatenate([x @ gz, gz.sum(axis=0), g @ a, [g.sum()]])

    k = min(members, th0.shape[0])
    start = time.perf_counter()
    out = np.array([scipy.integrate.solve_ivp(field, (0.0, t1), th0[e], method="LSODA", rtol=rtol,
                                              atol=atol).y[:, -1] for e in range(k)])
    run_s = (time.perf_counter() - start) * th0.shape[0] / k
    return Row(f"scipy LSODA loop rtol {rtol:g}", run_s, 0.0,
               note=f"time of {k} members x {th0.shape[0] // k}; error over those {k}"), out, k


# --------------------------------------------------------------------------------------
# ours, first call in a fresh process
# --------------------------------------------------------------------------------------
_FIRST_CALL = r"""
import json, sys, time
start = time.perf_counter()
import numpy as np
from verify import parse_problem
from verify.landscapes.np import NpLandscape
from verify.dynamics.flow import Dop853, solve_flow
from verify.dynamics.trajectory import StepControl
problem = parse_problem(sys.stdin.read())
land = NpLandscape(problem)
theta0 = problem.init.thetas(problem.network)
control = StepControl(rtol=float(sys.argv[1]), atol=float(sys.argv[1]) / 100)
imported = time.perf_counter() - start
times = []
for _ in range(2):
    start = time.perf_counter()
    solve_flow(land, theta0, t1=float(sys.argv[2]), solver=Dop853(), control=control)
    times.append(time.perf_counter() - start)
print(json.dumps({"import": imported, "first": times[0], "second": times[1], "compiled": land._kernel() is not None}))
"""


def first_call_cost(problem_text: str, rtol: float, t1: float, cold: bool) -> dict[str, Any]:
    """A fresh process runs ``solve_flow`` (Dop853) twice: the first call's extra time over the
    second is what loading the kernels from numba's disk cache (``cold`` False) or compiling
    them into an empty cache costs."""
    env = dict(os.environ)
    tmp = tempfile.TemporaryDirectory() if cold else None
    if tmp is not None:
        env["NUMBA_CACHE_DIR"] = tmp.name
    try:
        done = subprocess.run([sys.executable, "-c", _FIRST_CALL, repr(rtol), repr(t1)], input=problem_text,
                              capture_output=True, text=True, cwd=ROOT, env=env, check=True)
    finally:
        if tmp is not None:
            tmp.cleanup()
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["overhead"] = max(0.0, result["first"] - result["second"])
    return result


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def interleaved(runs: dict[str, Callable[[], Any]], repeat: int) -> dict[str, float]:
    """The best time of each run over ``repeat`` rounds that run them one after another in turn, so
    that every side meets the same load on a shared machine."""
    best = {name: float("inf") for name in runs}
    for _ in range(repeat):
        for name, fn in runs.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best
