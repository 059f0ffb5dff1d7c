"""High-precision gradient flow (issue: mp flow): ``solve_flow_mp`` against ``mpmath.odefun``.

The flow of a 1-2-1 tanh network on 8 grid points of [-1, 1] with target x^2, at 30
digits, from a fixed theta0 to t1 = 5. Ours: ``verify._mpflow.solve_flow_mp`` on an
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
    from verify._mpflow import solve_flow_mp

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


BENCHMARKS: dict[str, Callable[[int], Result]] = {
    "mp_flow": bench_mp_flow,
}
