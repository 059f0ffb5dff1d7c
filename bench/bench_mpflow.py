"""High-precision gradient flow (issue: mp flow): ``solve_flow_mp`` against ``mpmath.odefun``.

The flow of a 1-2-1 tanh network on 8 grid points of [-1, 1] with target x^2, at 30
digits, from a fixed theta0 to t1 = 5. Ours: ``verify.dynamics.mpflow.solve_flow_mp`` on an
``MpLandscape`` at dps 30 (median of a few runs, 32 checkpoints as by default), with its
default method, which is the Taylor method on such a network; the extrapolation method
(``method="gbs"``) is timed once as well and reported in the notes. Peer:
``mpmath.odefun`` at ``mp.dps = 30`` evaluated at t = 5 (run once: it is slow).

About the peer's vector field. ``odefun`` is a Taylor method whose coefficients are
finite differences of F over steps of 2^-(prec+10), computed at (degree + 1) times the
working precision (degree = 3 + 1.5 dps = 48, so about 1500 digits). F must therefore be
accurate at the precision odefun is working at when it calls F. An ``MpLandscape`` at
dps 30 computes in its own 40-digit context, which turns those differences into noise:
odefun's first series then claims a radius of about 1e-33 and the integration would never
reach t = 5 (the notes report that radius, from one call of odefun's series routine). The
peer is therefore given F(t, y) = -grad L(y) from an ``MpLandscape`` built at odefun's
current ``mp.dps`` (cached per precision; guard 0): the same flow, with the precision odefun
needs.
"""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Any, Callable

import mpmath

from verify import MpLandscape, parse_problem

from ._common import Result, median_time

PROBLEM = """
[network]
widths = [1, 2, 1]
activation = "tanh"
[data]
grid = { start = "-1", stop = "1", num = 8 }
[target]
expr = "x**2"
"""
THETA0 = ["1/2", "-1", "1/4", "0", "1", "-1/2", "0"]
DPS = 30
T1 = 5
GOAL_SPEEDUP = 100
GOAL_DIGITS = 25


def _odefun_theta(problem: Any) -> tuple[list[Any], int, int, float, Any]:
    """theta(T1) from mpmath.odefun (as mpmath numbers), the number of F calls, the
    largest precision F was called at (digits), the wall time, and the first series
    radius odefun finds with a fixed 30-digit landscape as F."""
    from mpmath.calculus.odes import ode_taylor

    cache: dict[int, MpLandscape] = {}
    calls = [0]

    def field(t: Any, y: list[Any]) -> list[Any]:
        calls[0] += 1
        dps = mpmath.mp.dps
        land = cache.get(dps)
        if land is None:
            land = cache[dps] = MpLandscape(problem, dps=dps, guard=0)
        return [-mpmath.mpf(g) for g in land.grad(y)]

    fixed = MpLandscape(problem, dps=DPS)

    def fixed_field(t: Any, y: list[Any]) -> list[Any]:
        return [-mpmath.mpf(g) for g in fixed.grad(y)]

    old = mpmath.mp.dps
    try:
        mpmath.mp.dps = DPS
        y0 = [mpmath.mpf(Fraction(s).numerator) / Fraction(s).denominator for s in THETA0]
        # what odefun's first series sees with the literal F (one series, 48 F calls)
        _, radius = ode_taylor(mpmath.mp, fixed_field, mpmath.mpf(0), y0, mpmath.mp.prec + 10,
                               3 + int(3 * mpmath.mp.dps / 2.0))
        start = time.perf_counter()
        solution = mpmath.odefun(field, 0, y0)
        theta = solution(T1)
        wall = time.perf_counter() - start
    finally:
        mpmath.mp.dps = old
    return theta, calls[0], max(cache), wall, radius


def bench_mp_flow(repeat: int) -> Result:
    """solve_flow_mp against mpmath.odefun on the same flow at 30 digits (goal: >= 100x
    faster, >= 25 digits agreeing)."""
    from verify.dynamics.mpflow import solve_flow_mp

    problem = parse_problem(PROBLEM)
    land = MpLandscape(problem, dps=DPS)
    runs: list[Any] = []

    def ours_run() -> None:
        runs.append(solve_flow_mp(land, THETA0, t1=T1))

    ours = median_time(ours_run, min(repeat, 5), warmup=0)
    flow = runs[-1]
    # the other method of solve_flow_mp, for the record (why Taylor is the default here)
    start = time.perf_counter()
    gbs = solve_flow_mp(land, THETA0, t1=T1, method="gbs")
    gbs_wall = time.perf_counter() - start
    peer_theta, peer_calls, peer_dps, peer, radius = _odefun_theta(problem)

    ctx = land.ctx
    diff = max(abs(a - ctx.mpf(b)) for a, b in zip(flow.theta, peer_theta))
    scale = max(abs(ctx.mpf(b)) for b in peer_theta)
    digits = float(-ctx.log10(diff / scale)) if diff else float(ctx.dps)
    speedup = peer / ours
    met = speedup >= GOAL_SPEEDUP and digits >= GOAL_DIGITS and str(flow.status) == "t1_reached"
    notes = (f"speed-up {speedup:.1f}x; {digits:.1f} digits agree (max |difference| / max |theta|); "
             f"ours: {flow.costs.n_grad} gradient evaluations at {ctx.dps} digits, {flow.costs.steps} steps, "
             f"{flow.costs.rejected} rejected, orders up to {flow.extra['max_order']}; "
             f"Gragg-Bulirsch-Stoer (method='gbs') on the same flow: {gbs_wall:.3g} s "
             f"({gbs_wall / ours:.1f}x ours), {gbs.costs.n_grad} gradient evaluations; "
             f"odefun: {peer_calls} calls of F at up to {peer_dps} digits "
             f"(with a fixed {DPS}-digit MpLandscape as F its first series radius is "
             f"{mpmath.nstr(radius, 2)}: it cannot reach t = {T1})")
    return Result("mp_flow",
                  f"solve_flow_mp ({flow.extra['method']}), 1-2-1 tanh, 8 points, x^2, {DPS} digits, t1 = {T1}, "
                  "32 checkpoints",
                  f"mpmath.odefun at mp.dps = {DPS}, F = -grad at odefun's working precision",
                  ours, peer, ours / peer, f"ours/peer <= 1/{GOAL_SPEEDUP} with >= {GOAL_DIGITS} digits agreeing",
                  met, notes)


DRIFT = """
[network]
widths = [1, 1, 1]
activation = "tanh"
[data]
grid = { start = "-1", stop = "1", num = 5 }
[target]
expr = "x"
"""


def bench_mp_long_horizon(repeat: int) -> Result:
    """The long-horizon flow (1-1-1 tanh fitting x on five points, theta0 = (1, 0, 1, 0)) at 30
    digits to t1 = 1e5 with the default method (Taylor, handing over to Radau IIA where the flow
    turns stiff; goal: under a minute). Peer: the Taylor method alone, timed to t = 2000 only
    (its steps stay near 1 / rho: it would need about 10^5 of them to reach 1e5) and
    extrapolated linearly in its steps. Checks: the result against the same method at 60 digits (the
    digits that agree) and against float64 Rodas4 at rtol 1e-13."""
    from verify import NpLandscape, solve_flow
    from verify.dynamics.mpflow import solve_flow_mp
    from verify.dynamics.trajectory import StepControl

    p = parse_problem(DRIFT)
    theta0 = ["1", "0", "1", "0"]
    out: dict[str, Any] = {}

    def ours() -> None:
        out["m"] = solve_flow_mp(MpLandscape(p, dps=DPS), theta0, t1=100_000)

    t_ours = median_time(ours, 1, warmup=0)
    m = out["m"]
    t0 = time.perf_counter()
    taylor = solve_flow_mp(MpLandscape(p, dps=DPS), theta0, t1=2000, method="taylor")
    t_taylor = time.perf_counter() - t0
    ref = solve_flow_mp(MpLandscape(p, dps=2 * DPS), theta0, t1=100_000)
    diff = max(abs(a - b) / (1 + abs(b)) for a, b in zip(m.theta, ref.theta))
    digits = float(-mpmath.log10(diff)) if diff else float(2 * DPS)
    rodas = solve_flow(NpLandscape(p), [1.0, 0.0, 1.0, 0.0], t1=1e5, solver="rodas4",
                       control=StepControl(rtol=1e-13, atol=1e-15)).members[0]
    f64 = max(abs(float(a) - b) for a, b in zip(m.theta, rodas.theta))
    # the Taylor method alone: about 1 / rho per step; its steps near t = 2000 are extrapolated to 1e5
    per_step = t_taylor / max(1, taylor.costs.steps)
    t_peer = per_step * taylor.costs.steps * (100_000 / 2000)
    return Result("mp_long_horizon", f"solve_flow_mp(dps={DPS}) to t1 = 1e5 (method auto: {m.extra['method']})",
                  "the Taylor method alone (timed to t = 2000, extrapolated)", t_ours, t_peer, t_peer / t_ours,
                  "ours <= 60 s, >= 25 digits against itself at 60 digits", t_ours <= 60 and digits >= 25,
                  f"switch to Radau at t = {m.extra.get('radau_from', float('nan')):.4g}, {m.costs.steps} steps, "
                  f"{m.costs.n_grad} gradients, {m.costs.n_hess} Hessians; {digits:.1f} digits agree with itself at "
                  f"{2 * DPS} digits; max |theta - float64 Rodas4 (rtol 1e-13)| = {f64:.1e}; the Taylor method to "
                  f"t = 2000: {taylor.costs.steps} steps in {t_taylor:.1f} s; ratio is peer/ours")


BENCHMARKS: dict[str, Callable[[int], Result]] = {
    "mp_flow": bench_mp_flow,
    "mp_long_horizon": bench_mp_long_horizon,
}
