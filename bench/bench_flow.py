"""Gradient-flow benchmarks (issue: dynamics)."""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np
import scipy.integrate

from verify import parse_problem
from verify._flow import Auto, Dop853, Rodas4, solve_flow
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
    to infinity) followed to t1 = 1e5 at rtol 1e-10 (goal: within 10 s). Peers, to t = 1e4
    only: scipy's BDF as usually called (finite-difference Jacobian) and with the exact
    Hessian as Jacobian; accuracy at t = 1e4 against a tight Radau reference (rtol 1e-13)."""
    p = parse_problem(LONG)
    land = NpLandscape(p)
    th0 = p.init.thetas(p.network)[0]
    control = StepControl(rtol=1e-10, atol=1e-12)
    out = {}

    def ours() -> None:
        out["m"] = solve_flow(land, th0, t1=1e5, solver=Rodas4(), control=control).members[0]

    t_ours = median_time(ours, 1, warmup=0)

    def f(t: float, y: np.ndarray) -> np.ndarray:
        return -land.grad(y)

    def jac(t: float, y: np.ndarray) -> np.ndarray:
        return -land.hessian(y)

    ref = scipy.integrate.solve_ivp(f, (0.0, 1e4), th0, method="Radau", rtol=1e-13, atol=1e-15, jac=jac).y[:, -1]
    ours_1e4 = solve_flow(land, th0, t1=1e4, solver=Rodas4(), control=control).members[0]
    err_ours = float(np.max(np.abs(np.array(ours_1e4.theta) - ref)))
    t0 = time.perf_counter()
    bdf = scipy.integrate.solve_ivp(f, (0.0, 1e4), th0, method="BDF", rtol=1e-10, atol=1e-12)
    t_bdf = time.perf_counter() - t0
    t0 = time.perf_counter()
    bdfj = scipy.integrate.solve_ivp(f, (0.0, 1e4), th0, method="BDF", rtol=1e-10, atol=1e-12, jac=jac)
    t_bdfj = time.perf_counter() - t0
    m = out["m"]
    return Result("long_horizon", "solve_flow(Rodas4) to t1 = 1e5",
                  "solve_ivp(BDF, finite-difference Jacobian) to t = 1e4 only", t_ours, t_bdf, t_bdf / t_ours,
                  "ours <= 10 s", t_ours <= 10.0,
                  f"ours to 1e5: {m.costs.steps} steps, {m.costs.n_grad} gradients, {m.costs.n_hess} Hessians, "
                  f"loss {m.loss:.4g}, |theta| {m.theta_norm:.5g}; at t = 1e4: ours {ours_1e4.costs.n_grad} "
                  f"gradients, error {err_ours:.1e}; BDF {bdf.nfev} gradients, error "
                  f"{np.max(np.abs(bdf.y[:, -1] - ref)):.1e}; BDF with the exact Jacobian {t_bdfj:.2f} s, "
                  f"{bdfj.nfev} gradients, error {np.max(np.abs(bdfj.y[:, -1] - ref)):.1e}")


def bench_auto_long_horizon(repeat: int) -> Result:
    """The default solver (``Auto``: Dop853, switching to Rodas4 where the flow turns stiff) on the
    long-horizon case to t1 = 1e5 against ``Rodas4`` alone, which a user would have to know to pick
    (goal: within 2x), at the CLI's default tolerance (rtol 1e-8) and at rtol 1e-10; accuracy of
    both against Rodas4 at rtol 1e-13."""
    p = parse_problem(LONG)
    land = NpLandscape(p)
    th0 = p.init.thetas(p.network)[0]
    ref = np.array(solve_flow(land, th0, t1=1e5, solver=Rodas4(),
                              control=StepControl(rtol=1e-13, atol=1e-15)).members[0].theta)
    times: dict[str, list[float]] = {}
    notes = []
    for rtol in (1e-8, 1e-10):
        control = StepControl(rtol=rtol, atol=rtol / 100)
        out: dict[str, Any] = {}
        for name, solver in (("auto", Auto()), ("rodas4", Rodas4())):
            def run(name: str = name, solver: Any = solver, out: dict[str, Any] = out,
                    control: StepControl = control) -> None:
                out[name] = solve_flow(land, th0, t1=1e5, solver=solver, control=control).members[0]

            times.setdefault(f"{name}@{rtol:g}", []).append(median_time(run, max(1, min(repeat, 3)), warmup=0))
        a, r = out["auto"], out["rodas4"]
        notes.append(f"rtol {rtol:g}: auto {times[f'auto@{rtol:g}'][0]:.2f} s ({a.costs.steps} steps, "
                     f"{a.extra['stiff_steps']} Rodas4, switch {a.extra['switches']}x, error "
                     f"{np.max(np.abs(np.array(a.theta) - ref)):.1e}), rodas4 {times[f'rodas4@{rtol:g}'][0]:.2f} s "
                     f"({r.costs.steps} steps, error {np.max(np.abs(np.array(r.theta) - ref)):.1e})")
    t_ours = times["auto@1e-08"][0]
    t_peer = times["rodas4@1e-08"][0]
    worst = max(times[f"auto@{r:g}"][0] / times[f"rodas4@{r:g}"][0] for r in (1e-8, 1e-10))
    return Result("auto_long_horizon", "solve_flow(solver='auto') to t1 = 1e5 (rtol 1e-8)",
                  "solve_flow(Rodas4()) to t1 = 1e5", t_ours, t_peer, t_ours / t_peer,
                  "ours/peer <= 2 at both tolerances", worst <= 2.0,
                  "; ".join(notes) + "; ratio is ours/peer at rtol 1e-8")


def bench_auto_ensemble(repeat: int) -> Result:
    """The default solver on the E = 1000 ensemble benchmark (1-4-1 tanh, t1 = 100, rtol 1e-8)
    against Dop853 (the previous default) with the same gradient: goal within 10%. Members
    that turn stiff before the horizon switch to Rodas4; accuracy of both against Dop853 at
    rtol 1e-12."""
    p = parse_problem(ENSEMBLE)
    land = NpLandscape(p)
    th0 = p.init.thetas(p.network)
    control = StepControl(rtol=1e-8, atol=1e-10)
    ref = np.array([m.theta for m in solve_flow(land, th0, t1=100.0, solver=Dop853(),
                                                 control=StepControl(rtol=1e-12, atol=1e-14)).members])
    out: dict[str, Any] = {}
    samples: dict[str, list[float]] = {"auto": [], "dop853": []}
    for _ in range(max(2, min(repeat, 5))):      # interleaved, so that both see the same machine load
        for name, solver in (("auto", Auto()), ("dop853", Dop853())):
            t0 = time.perf_counter()
            out[name] = solve_flow(land, th0, t1=100.0, solver=solver, control=control)
            samples[name].append(time.perf_counter() - t0)
    t_ours, t_peer = float(np.median(samples["auto"])), float(np.median(samples["dop853"]))
    a = out["auto"]
    switched = sum(1 for m in a.members if m.extra["switches"])
    stiff = sum(m.extra["stiff_steps"] for m in a.members)
    err = {k: float(np.max(np.abs(np.array([m.theta for m in v.members]) - ref))) for k, v in out.items()}
    return Result("auto_ensemble", "solve_flow(solver='auto'), E = 1000, t1 = 100",
                  "solve_flow(Dop853()), the same members", t_ours, t_peer, t_ours / t_peer, "ours/peer <= 1.1",
                  t_ours / t_peer <= 1.1,
                  f"{switched} members switched to Rodas4 ({stiff} Rodas4 steps); max |theta - reference|: auto "
                  f"{err['auto']:.1e}, dop853 {err['dop853']:.1e}; ratio is ours/peer (median of interleaved runs)")


BENCHMARKS: dict[str, Callable[[int], Result]] = {
    "ensemble_flow": bench_ensemble_flow,
    "long_horizon": bench_long_horizon,
    "auto_long_horizon": bench_auto_long_horizon,
    "auto_ensemble": bench_auto_ensemble,
}
