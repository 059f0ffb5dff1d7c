"""Tests of the high-precision gradient flow (verify.dynamics.mpflow.solve_flow_mp).

Oracles, each independent of the integrator: the closed-form linear flow of a quadratic
(mpmath's matrix exponential); the logistic datum, whose flow solves
w + e^w = t + w0 + e^w0 exactly; the same flow at twice the digits; scipy's DOP853 on the
float64 landscape; mpmath.odefun (a Taylor method); closed-form event times.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import mpmath
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from verify import InputError, MpLandscape, NpLandscape, parse_problem
from verify.dynamics.mpflow import METHODS, solve_flow_mp
from verify.dynamics.trajectory import Events, Status, checkpoint_times

GUARD = 10


# ---------------------------------------------------------------------------------------
# Small landscapes with closed-form flows (the duck-typed interface, own contexts)
# ---------------------------------------------------------------------------------------

class Quadratic:
    """L = 1/2 (theta - c)^T A (theta - c), A symmetric positive definite (exact rationals)."""

    def __init__(self, A: list[list[Any]], c: list[Any], dps: int) -> None:
        self.ctx = mpmath.MPContext()
        self.ctx.dps = dps + GUARD
        self.dps = dps
        self.n_params = len(c)
        q = self.ctx.mpf
        self.A = [[q(Fraction(v).numerator) / Fraction(v).denominator for v in row] for row in A]
        self.c = [q(Fraction(v).numerator) / Fraction(v).denominator for v in c]
        self.calls = 0

    def loss_and_grad(self, theta: list[Any]) -> tuple[Any, list[Any]]:
        self.calls += 1
        ctx = self.ctx
        r = [a - b for a, b in zip(theta, self.c)]
        g = [ctx.fdot(row, r) for row in self.A]
        return ctx.fdot(r, g) / 2, g

    def loss(self, theta: list[Any]) -> Any:
        return self.loss_and_grad(theta)[0]

    def exact(self, theta0: list[Any], t: Any) -> list[Any]:
        """c + expm(-t A) (theta0 - c)."""
        ctx = self.ctx
        E = ctx.expm(-ctx.mpf(t) * ctx.matrix(self.A))
        v = ctx.matrix([ctx.mpf(a) - b for a, b in zip(theta0, self.c)])
        w = E * v
        return [b + w[i] for i, b in enumerate(self.c)]


class Logistic:
    """One logistic datum: L(w) = ln(1 + e^-w), grad L = -1 / (1 + e^w)."""

    def __init__(self, dps: int) -> None:
        self.ctx = mpmath.MPContext()
        self.ctx.dps = dps + GUARD
        self.dps = dps
        self.n_params = 1

    def loss_and_grad(self, theta: list[Any]) -> tuple[Any, list[Any]]:
        ctx = self.ctx
        w = theta[0]
        return ctx.log1p(ctx.exp(-w)), [-1 / (1 + ctx.exp(w))]

    def loss(self, theta: list[Any]) -> Any:
        return self.loss_and_grad(theta)[0]

    def invariant(self, w: Any) -> Any:
        """w + e^w, which grows like t along the flow."""
        return w + self.ctx.exp(w)


A3 = [["2", "1/2", "0"], ["1/2", "1", "1/3"], ["0", "1/3", "3/2"]]
C3 = ["1", "-1/2", "1/4"]
THETA3 = ["1/3", "2", "-1"]

TANH_3 = """
[network]
widths = [1, 2, 1]
activation = "tanh"
[data]
points = [["-1"], ["1/3"], ["1"]]
[target]
expr = "x**2"
"""
THETA7 = ["1/2", "-1", "1/4", "0", "1", "-1/2", "0"]


def rel_diff(ctx: Any, a: list[Any], b: list[Any]) -> Any:
    """max |a - b| / max(1, max |b|)."""
    scale = max([ctx.one] + [abs(ctx.mpf(v)) for v in b])
    return max(abs(ctx.mpf(x) - ctx.mpf(y)) for x, y in zip(a, b)) / scale


# ---------------------------------------------------------------------------------------
# Closed forms
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("dps", [20, 40])
def test_linear_flow_matches_matrix_exponential(dps: int) -> None:
    land = Quadratic(A3, C3, dps)
    ctx = land.ctx
    for t1 in ["1/10", "1", "7/2"]:
        flow = solve_flow_mp(land, THETA3, t1=t1, checkpoints=4)
        assert flow.status is Status.T1_REACHED
        assert flow.t == ctx.mpf(Fraction(t1).numerator) / Fraction(t1).denominator
        exact = land.exact(THETA3, flow.t)
        assert rel_diff(ctx, list(flow.theta), exact) < ctx.mpf(10) ** -(dps - 3)
        # the checkpoints are states at their times: |theta(t)| from the closed form
        for t, norm in zip(flow.checkpoints.t, flow.checkpoints.theta_norm):
            ex = land.exact(THETA3, t)
            assert abs(norm - ctx.sqrt(ctx.fdot(ex, ex))) < ctx.mpf(10) ** -(dps - 3)


def test_linear_flow_2x2() -> None:
    land = Quadratic([["3", "-1"], ["-1", "1/2"]], ["0", "2"], 30)
    flow = solve_flow_mp(land, ["-3/2", "1/7"], t1=4)
    assert rel_diff(land.ctx, list(flow.theta), land.exact(["-3/2", "1/7"], 4)) < land.ctx.mpf(10) ** -27


@pytest.mark.parametrize("dps", [30, 50])
@pytest.mark.parametrize("t1", [10, 1000])
def test_logistic_datum_invariant(dps: int, t1: int) -> None:
    land = Logistic(dps)
    ctx = land.ctx
    w0 = ctx.mpf(-1) / 2
    flow = solve_flow_mp(land, ["-1/2"], t1=t1, checkpoints=8)
    assert flow.status is Status.T1_REACHED
    expected = t1 + land.invariant(w0)
    residual = abs(land.invariant(flow.theta[0]) - expected) / expected
    assert residual < ctx.mpf(10) ** -(dps - 3)
    # w ~ ln t: case (b) of the dichotomy in closed form
    assert abs(flow.theta[0] - ctx.log(t1)) < 1


def test_agrees_with_itself_at_twice_the_digits() -> None:
    problem = parse_problem(TANH_3)
    low = solve_flow_mp(MpLandscape(problem, dps=30), THETA7, t1=2, checkpoints=1)
    high = solve_flow_mp(MpLandscape(problem, dps=60), THETA7, t1=2, checkpoints=1)
    ctx = high.theta[0].context
    assert rel_diff(ctx, list(low.theta), list(high.theta)) < ctx.mpf(10) ** -28
    assert abs(ctx.mpf(low.loss) - high.loss) < ctx.mpf(10) ** -28


def test_agrees_with_float64_dop853() -> None:
    problem = parse_problem(TANH_3)
    np_land = NpLandscape(problem)
    theta0 = np.array([float(Fraction(s)) for s in THETA7])
    sol = solve_ivp(lambda t, y: -np_land.grad(y), (0.0, 1.0), theta0, method="DOP853", rtol=1e-12, atol=1e-14)
    assert sol.success
    flow = solve_flow_mp(MpLandscape(problem, dps=20), THETA7, t1=1, checkpoints=1)
    ours = np.array([float(v) for v in flow.theta])
    assert np.max(np.abs(ours - sol.y[:, -1])) < 1e-9


def test_agrees_with_mpmath_odefun() -> None:
    """odefun differentiates F numerically at (degree + 1) times its precision, so F follows
    mpmath's working precision (an MpLandscape built at the current mp.dps)."""
    problem = parse_problem(TANH_3)
    cache: dict[int, MpLandscape] = {}

    def field(t: Any, y: list[Any]) -> list[Any]:
        dps = mpmath.mp.dps
        land = cache.get(dps)
        if land is None:
            land = cache[dps] = MpLandscape(problem, dps=dps, guard=0)
        return [-mpmath.mpf(g) for g in land.grad(y)]

    old = mpmath.mp.dps
    try:
        mpmath.mp.dps = 20
        y0 = [mpmath.mpf(Fraction(s).numerator) / Fraction(s).denominator for s in THETA7]
        peer = mpmath.odefun(field, 0, y0)(mpmath.mpf(1) / 2)
    finally:
        mpmath.mp.dps = old
    land = MpLandscape(problem, dps=20)
    flow = solve_flow_mp(land, THETA7, t1="1/2", checkpoints=2)
    assert rel_diff(land.ctx, list(flow.theta), peer) < land.ctx.mpf(10) ** -18


# ---------------------------------------------------------------------------------------
# Events
# ---------------------------------------------------------------------------------------

def test_stationary_event_located_at_the_closed_form_time() -> None:
    land = Quadratic(A3, C3, 30)
    ctx = land.ctx
    gtol = 1e-6
    flow = solve_flow_mp(land, THETA3, t1=100, events=Events(gtol=gtol))
    assert flow.status is Status.STATIONARY
    assert "gtol" in flow.message
    assert flow.grad_norm <= gtol
    assert flow.grad_norm > ctx.mpf(gtol) * (1 - ctx.mpf(10) ** -20)
    A = ctx.matrix(land.A)

    def grad_norm_at(t: Any) -> Any:
        r = ctx.matrix([a - b for a, b in zip(land.exact(THETA3, t), land.c)])
        g = A * r
        return ctx.sqrt(sum(g[i] ** 2 for i in range(3))) - ctx.mpf(gtol)

    t_exact = ctx.findroot(grad_norm_at, flow.t)
    assert abs(flow.t - t_exact) < ctx.mpf(10) ** -25
    assert flow.costs.steps > 0 and flow.costs.n_grad > 0
    assert flow.extra["event_searches"] > 0


def test_diverged_event_of_the_logistic_datum() -> None:
    land = Logistic(30)
    ctx = land.ctx
    flow = solve_flow_mp(land, ["0"], t1=1000, events=Events(radius=5))
    assert flow.status is Status.DIVERGED
    t_exact = 5 + ctx.exp(5) - 0 - 1          # t = w + e^w - w0 - e^w0 at w = 5
    assert abs(flow.t - t_exact) < ctx.mpf(10) ** -24
    assert flow.theta[0] >= 5 and flow.theta[0] - 5 < ctx.mpf(10) ** -24
    assert flow.theta_norm >= 5
    assert flow.checkpoints.t[-1] == flow.t
    assert flow.costs.n_grad > 0 and flow.costs.steps > 0


def test_loss_below_event() -> None:
    land = Logistic(30)
    ctx = land.ctx
    level = 1e-3
    flow = solve_flow_mp(land, ["1"], t1=10_000, events=Events(loss_below=level))
    assert flow.status is Status.LOSS_BELOW
    w_star = -ctx.log(ctx.expm1(ctx.mpf(level)))     # ln(1 + e^-w) = level
    t_exact = land.invariant(w_star) - land.invariant(ctx.mpf(1))
    assert abs(flow.t - t_exact) / t_exact < ctx.mpf(10) ** -25
    assert flow.loss <= level
    assert flow.costs.n_grad > 0


def test_event_holding_at_the_start_stops_at_zero() -> None:
    land = Quadratic(A3, C3, 20)
    flow = solve_flow_mp(land, THETA3, t1=1, events=Events(radius=1))
    assert flow.status is Status.DIVERGED
    assert flow.t == 0 and flow.costs.steps == 0 and flow.costs.n_grad == 1
    assert len(flow.checkpoints) == 1


def test_max_steps_is_a_result_with_a_message() -> None:
    land = Quadratic(A3, C3, 30)
    flow = solve_flow_mp(land, THETA3, t1=100, max_steps=3)
    assert flow.status is Status.MAX_STEPS
    assert "max_steps" in flow.message and "reached t =" in flow.message
    assert flow.costs.steps + flow.costs.rejected == 3
    assert flow.costs.n_grad > 3
    assert 0 < flow.t < 100
    assert flow.checkpoints.t[-1] == flow.t


def test_step_underflow_on_a_flow_too_stiff_for_the_precision() -> None:
    land = Quadratic([[10**40]], ["0"], 20)
    flow = solve_flow_mp(land, ["1"], t1=1)
    assert flow.status is Status.STEP_UNDERFLOW
    assert "stiff" in flow.message
    assert flow.costs.rejected > 0


# ---------------------------------------------------------------------------------------
# Checkpoints, progress, exact input
# ---------------------------------------------------------------------------------------

def test_checkpoints_increase_to_t1_and_loss_decreases() -> None:
    land = MpLandscape(parse_problem(TANH_3), dps=20)
    flow = solve_flow_mp(land, THETA7, t1=3, checkpoints=12)
    cp = flow.checkpoints
    assert len(cp) == len(checkpoint_times(0, 3, 12)) + 1
    assert cp.t[0] == 0 and cp.t[-1] == 3
    assert all(a < b for a, b in zip(cp.t, cp.t[1:]))
    assert all(b <= a for a, b in zip(cp.loss, cp.loss[1:]))
    assert cp.loss[-1] == flow.loss and cp.theta_norm[-1] == flow.theta_norm
    ctx = land.ctx
    assert all(isinstance(v, ctx.mpf) for v in cp.t + cp.loss + cp.theta_norm + cp.grad_norm)
    # the recorded loss is the loss at the recorded time: compare with a flow ending there
    t_mid = cp.t[6]
    short = solve_flow_mp(land, THETA7, t1=t_mid, checkpoints=1)
    assert abs(short.loss - cp.loss[6]) < ctx.mpf(10) ** -17


def test_progress_is_called_with_floats() -> None:
    calls: list[tuple[float, float]] = []
    land = Logistic(20)
    solve_flow_mp(land, ["0"], t1=50, progress=lambda t, t1: calls.append((t, t1)))
    assert calls and calls[-1] == (50.0, 50.0)
    assert all(isinstance(t, float) and isinstance(t1, float) for t, t1 in calls)


def test_exact_input_string_and_fraction_agree() -> None:
    land = Quadratic(A3, C3, 25)
    a = solve_flow_mp(land, ["1/3", "-2/7", "5"], t1="3/2")
    b = solve_flow_mp(land, [Fraction(1, 3), Fraction(-2, 7), 5], t1=Fraction(3, 2))
    assert a.theta == b.theta and a.t == b.t and a.loss == b.loss
    assert a.checkpoints == b.checkpoints


def test_float_input_is_its_exact_binary_value() -> None:
    land = Logistic(30)
    a = solve_flow_mp(land, [0.1], t1=1, checkpoints=1)
    b = solve_flow_mp(land, [Fraction(0.1)], t1=1, checkpoints=1)
    c = solve_flow_mp(land, ["0.1"], t1=1, checkpoints=1)
    assert a.theta == b.theta
    assert a.theta != c.theta
    d = solve_flow_mp(land, [land.ctx.mpf("0.1")], t1=1, checkpoints=1)
    assert d.theta == c.theta


def test_result_fields() -> None:
    land = Quadratic(A3, C3, 20)
    flow = solve_flow_mp(land, THETA3, t1=1, method="gbs")
    assert flow.tier == "mp" and flow.dps == 20
    assert len(flow.theta) == 3 and all(isinstance(v, land.ctx.mpf) for v in flow.theta)
    assert flow.loss == land.loss(list(flow.theta))
    assert flow.extra["method"] == "gbs" and flow.extra["max_order"] >= 4
    assert flow.costs.n_grad == land.calls - 1   # the loss() call above is not the solver's
    assert "auto" in METHODS


# ---------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("kwargs", "field"), [
    ({"t1": 0}, "t1"),
    ({"t1": -1}, "t1"),
    ({"t1": "-1/2"}, "t1"),
    ({"t1": "soon"}, "t1"),
    ({"t1": 1, "checkpoints": 0}, "checkpoints"),
    ({"t1": 1, "checkpoints": True}, "checkpoints"),
    ({"t1": 1, "rtol": 0}, "rtol"),
    ({"t1": 1, "rtol": -1e-20}, "rtol"),
    ({"t1": 1, "rtol": "1e-60"}, "rtol"),
    ({"t1": 1, "max_steps": 0}, "max_steps"),
    ({"t1": 1, "method": "rk4"}, "method"),
    ({"t1": 1, "events": {"gtol": 1}}, "events"),
    ({"t1": 1, "progress": 3}, "progress"),
])
def test_bad_options_name_the_argument(kwargs: dict[str, Any], field: str) -> None:
    land = Quadratic(A3, C3, 20)
    with pytest.raises(InputError) as info:
        solve_flow_mp(land, THETA3, **kwargs)
    assert info.value.field == field


@pytest.mark.parametrize(("theta0", "field"), [
    (["1", "2"], "theta0"),
    (["1", "2", "3", "4"], "theta0"),
    ("123", "theta0"),
    (5, "theta0"),
    (["1", "two", "3"], "theta0[1]"),
    (["1", True, "3"], "theta0[1]"),
    (["1", float("nan"), "3"], "theta0[1]"),
])
def test_bad_theta0_names_the_argument(theta0: Any, field: str) -> None:
    land = Quadratic(A3, C3, 20)
    with pytest.raises(InputError) as info:
        solve_flow_mp(land, theta0, t1=1)
    assert info.value.field == field


def test_not_a_landscape() -> None:
    with pytest.raises(InputError) as info:
        solve_flow_mp(object(), [1], t1=1)
    assert info.value.field == "landscape"


@pytest.mark.parametrize("method", ["taylor", "gbs", "radau"])
def test_until_and_checkpoint_times_in_the_mp_tier(method: str) -> None:
    p = parse_problem("""
[network]
widths = [1, 2, 1]
activation = "tanh"
[data]
points = [["-1"], ["0"], ["1"]]
[target]
expr = "x**2"
""")
    land = p.mp(20)
    theta0 = ["1/2", "-1", "1/4", "0", "1", "-1/2", "0"]
    full = solve_flow_mp(land, theta0, t1=4, checkpoints=["1/2", "1", "2", "4"], method=method)
    assert [float(t) for t in full.checkpoints.t] == [0.0, 0.5, 1.0, 2.0, 4.0]
    stopped = solve_flow_mp(land, theta0, t1=4, checkpoints=["1/2", "1", "2", "4"], method=method,
                            until=lambda traj: traj.t >= 1)
    assert stopped.status is Status.STOPPED and stopped.t == 1 and len(stopped.checkpoints.t) == 3
    # the state where it stopped is the flow's state at t = 1 (the full run's checkpoint there)
    assert abs(stopped.loss - full.checkpoints.loss[2]) < 1e-15
    assert abs(stopped.theta_norm - full.checkpoints.theta_norm[2]) < 1e-15
    late = solve_flow_mp(land, theta0, t1=4, method=method, max_seconds=1e-9)
    assert late.status is Status.OUT_OF_TIME and late.t < 4
