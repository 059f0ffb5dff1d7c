"""Gradient-flow benchmarks (issue: dynamics)."""

from __future__ import annotations

import time
from typing import Callable

import numpy as np
import scipy.integrate

from verify import parse_problem
from verify._flow import Dop853, Rodas4, solve_flow
from verify._np import NpLandscape
from verify._trajectory import StepControl

from ._common import Result, median_time

ENSEMBLE = """
[network]
widths = [1, 4, 1]
activation = "tanh"
[data]
grid = { start = "-1", stop = "1", num = 16 }
[target]
expr = "x**2"
[init]
scheme = "normal"
seed = 0
ensemble = 1000
"""

LONG = """
[network]
widths = [1, 1, 1]
activation = "tanh"
[data]
grid = { start = "-1", stop = "1", num = 5 }
[target]
expr = "x"
[init]
theta = ["1", "0", "1", "0"]
"""


def bench_ensemble_flow(repeat: int) -> Result:
    """E = 1000 flows of a 1-4-1 tanh network (16 grid points, target x^2, normal init) to
    t1 = 100 at rtol 1e-8: ours (Dop853, all members at once) against a loop of
    scipy.integrate.solve_ivp(LSODA) over the members with the same gradient (goal: >= 15x)."""
    p = parse_problem(ENSEMBLE)
    land = NpLandscape(p)
    th0 = p.init.thetas(p.network)
    control = StepControl(rtol=1e-8, atol=1e-10)
    result = {}

    def ours() -> None:
        result["ours"] = solve_flow(land, th0, t1=100.0, solver=Dop853(), control=control)

    t_ours = median_time(ours, max(1, min(repeat, 3)), warmup=1)

    def fun(t: float, y: np.ndarray) -> np.ndarray:
        return -land.grad(y)

    t0 = time.perf_counter()
    ends = np.array([scipy.integrate.solve_ivp(fun, (0.0, 100.0), th0[e], method="LSODA", rtol=1e-8,
                                               atol=1e-10).y[:, -1] for e in range(th0.shape[0])])
    t_peer = time.perf_counter() - t0
    ours_end = np.array([m.theta for m in result["ours"].members])
    diff = float(np.max(np.abs(ours_end - ends)))
    ratio = t_peer / t_ours
    return Result("ensemble_flow", "solve_flow(Dop853) over E=1000 members",
                  "loop of solve_ivp(LSODA) over the members", t_ours, t_peer, ratio, "peer/ours >= 15",
                  ratio >= 15, f"max |theta_ours - theta_lsoda| at t1 = {diff:.1e}; ratio is peer time / ours")


def bench_long_horizon(repeat: int) -> Result:
    """The 1-1-1 tanh network fitted to x on five points (infimum 0 not attained: a slow drift
    to infinity) followed to t1 = 1e5 at rtol 1e-10 (goal: within 10 s), against scipy's BDF
    to t = 1e4 only (about 75 s and 480 000 gradient evaluations on the reference machine)."""
    p = parse_problem(LONG)
    land = NpLandscape(p)
    th0 = p.init.thetas(p.network)[0]
    out = {}

    def ours() -> None:
        out["m"] = solve_flow(land, th0, t1=1e5, solver=Rodas4(),
                              control=StepControl(rtol=1e-10, atol=1e-12)).members[0]

    t_ours = median_time(ours, 1, warmup=0)
    t0 = time.perf_counter()
    peer = scipy.integrate.solve_ivp(lambda t, y: -land.grad(y), (0.0, 1e4), th0, method="BDF", rtol=1e-10,
                                     atol=1e-12, jac=lambda t, y: -land.hessian(y))
    t_peer = time.perf_counter() - t0
    m = out["m"]
    k = list(m.checkpoints.t).index(min(m.checkpoints.t, key=lambda t: abs(t - 1e4)))
    return Result("long_horizon", "solve_flow(Rodas4) to t1 = 1e5", "solve_ivp(BDF, exact Jacobian) to t = 1e4",
                  t_ours, t_peer, t_ours, "ours <= 10 s", t_ours <= 10.0,
                  f"ours: {m.costs.steps} steps, {m.costs.n_grad} gradients, {m.costs.n_hess} Hessians, "
                  f"loss(1e5) = {m.loss:.4g}, |theta| = {m.theta_norm:.4g} (|theta| at t = {m.checkpoints.t[k]:.3g}: "
                  f"{m.checkpoints.theta_norm[k]:.6g}); BDF: {peer.nfev} gradients, {peer.njev} Jacobians, "
                  f"status {peer.status}, |theta(1e4)| = {np.linalg.norm(peer.y[:, -1]):.6g}; "
                  "the ratio column shows ours in seconds")


BENCHMARKS: dict[str, Callable[[int], Result]] = {
    "ensemble_flow": bench_ensemble_flow,
    "long_horizon": bench_long_horizon,
}
