"""Gradient-flow benchmarks (issue: dynamics)."""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np
import scipy.integrate

from verify import parse_problem
from verify.dynamics.flow import Auto, Dop853, Rodas4, solve_flow
from verify.dynamics.trajectory import StepControl
from verify.landscapes.np import NpLandscape

from . import _peers
from ._common import Result, median_time

T1 = 100.0

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


def _ours_row(land: NpLandscape, th0: np.ndarray, rtol: float, err: Callable[[np.ndarray], float],
              first_call: float, name: str, runner: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    """Our row (the run time is filled in by the interleaved timing of ``runner``)."""
    control = StepControl(rtol=rtol, atol=rtol / 100)

    def run() -> None:
        solve_flow(land, th0, t1=T1, solver=Dop853(), control=control)

    label = f"{name} rtol {rtol:g}"
    runner[label] = run
    theta = np.array([m.theta for m in solve_flow(land, th0, t1=T1, solver=Dop853(), control=control).members])
    return {"name": label, "compile_s": first_call, "error": err(theta)}


def _peer_row(row: _peers.Row, out: np.ndarray | None, err: Callable[[np.ndarray], float]) -> dict[str, Any]:
    if row.skipped:
        return {"name": row.name, "skipped": row.skipped}
    return {"name": row.name, "run_s": row.run_s, "compile_s": row.compile_s, "total_s": row.total_s,
            "error": err(out) if out is not None else float("nan"), "note": row.note}


def bench_ensemble_flow(repeat: int) -> Result:
    """E = 1000 flows of a 1-4-1 tanh network (16 grid points on [-1, 1], target x^2, normal init)
    to t1 = 100, against heyoka (batch Taylor), diffrax (Tsit5, jit(vmap)) and a loop of scipy LSODA.
    Ours and heyoka run in turn, three rounds, and each side's best run counts (diffrax: best of 2,
    LSODA and our numpy path: one run), so that both meet the same load on a shared machine.

    Accuracy: the max over members of |L(theta(t1)) - L_ref| / L_ref, L_ref from our Dop853 at
    rtol 1e-13 (checked against heyoka at tol 1e-15 when installed). Ours at rtol 1e-8 .. 1e-10,
    heyoka at tol 1e-8, 1e-9, 1e-10: for each heyoka run, ours is the fastest run with an
    error no larger (goal: ahead end to end for each). Our "compile" is what the first kernel
    calls cost in a fresh process beyond their run time, loading the kernels from numba's disk
    cache (an empty cache: in the notes); heyoka's is building its integrator (its disk cache
    as ordinary; empty: in the notes)."""
    p = parse_problem(ENSEMBLE)
    land = NpLandscape(p)
    th0 = p.init.thetas(p.network)
    q = land._fixed
    assert q is not None
    x, y = q.x[:, 0], q.y[:, 0]
    ref_control = StepControl(rtol=1e-13, atol=1e-15, max_steps=10**7)
    ref = np.array([m.theta for m in solve_flow(land, th0, t1=T1, solver=Dop853(), control=ref_control).members])
    loss_ref = land.loss(ref)

    def err(theta: np.ndarray) -> float:
        k = theta.shape[0]
        return float(np.max(np.abs(land.loss(theta) - loss_ref[:k]) / np.abs(loss_ref[:k])))

    notes = []
    row, hy_ref = _peers.heyoka_flow(th0, x, y, 4, T1, 1e-15)
    if hy_ref is not None:
        notes.append(f"reference (Dop853 rtol 1e-13) against heyoka tol 1e-15: {err(hy_ref):.1e}")
    compiled = land._kernel() is not None
    _peers.first_call_cost(ENSEMBLE, 1e-9, T1, cold=False)  # fills numba's disk cache if it was empty
    warm = _peers.first_call_cost(ENSEMBLE, 1e-9, T1, cold=False)
    cold = _peers.first_call_cost(ENSEMBLE, 1e-9, T1, cold=True)
    notes.append(f"ours: compiled kernels {'on' if compiled else 'OFF (numba missing)'}; in a fresh process the first "
                 f"solve_flow (rtol 1e-9) took {warm['first']:.2f} s and the second {warm['second']:.2f} s with "
                 f"numba's "
                 f"disk cache (the difference, {warm['overhead']:.2f} s, is our compile column), {cold['first']:.2f} s "
                 f"and {cold['second']:.2f} s compiling into an empty cache (import of verify {warm['import']:.2f} s, "
                 f"not counted for either side)")
    runner: dict[str, Callable[[], Any]] = {}
    table = [_ours_row(land, th0, rtol, err, warm["overhead"], "verify Dop853", runner)
             for rtol in (1e-8, 1e-9, 3e-10, 2e-10, 1e-10)]
    # the two places for the adaptive loop, measured: in the kernel (the rows above) or in numpy around a
    # compiled stage kernel (solve_flow's loop as it is without NpLandscape._explicit_advance)
    numpy_loop = NpLandscape(p)
    numpy_loop._explicit_advance = lambda: None  # type: ignore[method-assign]
    table.append(_ours_row(numpy_loop, th0, 1e-9, err, warm["overhead"], "verify Dop853 numpy loop+kernel", runner))
    heyoka_rows = []
    for tol in (1e-8, 1e-9, 1e-10):
        runs: list[Callable[[], Any]] = []
        row, out = _peers.heyoka_flow(th0, x, y, 4, T1, tol, runner=runs)
        heyoka_rows.append(_peer_row(row, out, err))
        if runs:
            runner[row.name] = runs[0]
    # every side of the comparison in turn, best of 3 rounds (the machine is shared)
    best = _peers.interleaved(runner, max(1, min(repeat, 3)))
    for r in table + heyoka_rows:
        if r["name"] in best:
            r["run_s"] = best[r["name"]]
            r["total_s"] = r["run_s"] + r["compile_s"]
            r["note"] = (r.get("note", "") + "; " if r.get("note") else "") + "run: best of 3 interleaved rounds"
    slow = NpLandscape(p, compiled=False)
    control8 = StepControl(rtol=1e-8, atol=1e-10)
    t_slow, flow_slow = _peers.timed(lambda: solve_flow(slow, th0, t1=T1, solver=Dop853(), control=control8))
    table.append({"name": "verify Dop853 numpy path rtol 1e-08", "run_s": t_slow, "compile_s": 0.0, "total_s": t_slow,
                  "error": err(np.array([m.theta for m in flow_slow.members])), "note": "one run"})
    row, _ = _peers.heyoka_flow(th0, x, y, 4, T1, 1e-10, cold=True)
    if not row.skipped:
        notes.append(f"heyoka tol 1e-10 compile with an empty disk cache: {row.compile_s:.2f} s")
    table += heyoka_rows
    row, out = _peers.diffrax_flow(th0, x, y, 4, T1, 1e-8, 1e-10)
    table.append(_peer_row(row, out, err))
    row, out, _ = _peers.lsoda_flow(th0, x, y, 4, T1, 1e-8, 1e-10, members=100)
    table.append(_peer_row(row, out, err))
    ours_rows = list(table[:5])
    for r in table:
        r["total_ratio"] = r["total_s"] / ours_rows[1]["total_s"] if "total_s" in r else float("nan")
        r["run_ratio"] = r["run_s"] / ours_rows[1]["run_s"] if "run_s" in r else float("nan")
    # each heyoka run against our fastest run at equal or better accuracy
    verdicts, ratios = [], []
    for h in heyoka_rows:
        if h.get("skipped"):
            continue
        fits = [o for o in ours_rows if o["error"] <= h["error"]]
        if not fits:
            verdicts.append(f"{h['name']} (error {h['error']:.1e}): no run of ours as accurate")
            ratios.append(0.0)
            continue
        best = min(fits, key=lambda o: o["total_s"])
        ratios.append(h["total_s"] / best["total_s"])
        verdicts.append(f"{h['name']} (error {h['error']:.1e}) vs {best['name']} (error {best['error']:.1e}): "
                        f"end to end {h['total_s'] / best['total_s']:.2f}x, run {h['run_s'] / best['run_s']:.2f}x")
    notes.append("ratios in the table are solver / ours at rtol 1e-9 (above 1: ours is faster)")
    if heyoka_rows and not heyoka_rows[-1].get("skipped"):
        h = heyoka_rows[-1]
        fits = [o for o in ours_rows if o["error"] <= h["error"]]
        best = min(fits, key=lambda o: o["total_s"]) if fits else ours_rows[-1]
        ours_s, peer_s = best["total_s"], h["total_s"]
        met = bool(ratios) and min(ratios) > 1.0
        peer = f"heyoka taylor_adaptive_batch tol 1e-10, end to end (compile + run): {'; '.join(verdicts)}"
    else:
        ours_s, peer_s, met = ours_rows[1]["total_s"], float("nan"), False
        peer = "heyoka: not installed, goal not judged (pip install -e '.[bench]')"
    return Result("ensemble_flow", f"solve_flow(Dop853) over E={th0.shape[0]} members, end to end", peer, ours_s,
                  peer_s, peer_s / ours_s, "ahead of heyoka end to end at equal or better accuracy (each tolerance)",
                  met, "; ".join(notes), table)


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
