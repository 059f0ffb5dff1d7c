"""Tests of the Taylor method of the high-precision flow (verify.dynamics.taylor, method="taylor").

Oracles, none computed by the Taylor code: the landscape's own gradient and Hessian (the
first two Taylor coefficients of a flow are -h grad L and h^2/2 H grad L); the jet in exact
fixed point (for the float64 orders); the closed-form flow of a linear least-squares problem
(a network with no hidden layer and the identity); Gragg-Bulirsch-Stoer extrapolation
(``method="gbs"``, a different integrator on the same landscape) on Hypothesis-drawn
networks of every supported activation; the Taylor flow at twice the digits; closed-form
event times of the linear flow.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import mpmath
import pytest
from hypothesis import given
from hypothesis import strategies as st

from verify import InputError, MpLandscape, parse_problem
from verify import strategies as vst
from verify.dynamics.mpflow import solve_flow_mp
from verify.dynamics.taylor import SUPPORTED, NetworkJet, taylor_support
from verify.dynamics.trajectory import Events, Status

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

LINEAR = """
[network]
widths = [2, 1]
activation = "tanh"
[data]
points = [["-1", "1/2"], ["1/3", "1"], ["1", "-1/4"], ["0", "2"]]
[target]
expr = "x1 - 2*x2 + 1"
"""

DRIFT = """
[network]
widths = [1, 1, 1]
activation = "tanh"
[data]
grid = { start = "-1", stop = "1", num = 5 }
[target]
expr = "x"
"""


def exact(ctx: Any, v: Any) -> Any:
    f = Fraction(v)
    return ctx.mpf(f.numerator) / f.denominator


def rel_diff(ctx: Any, a: Any, b: Any) -> Any:
    scale = max([ctx.one] + [abs(ctx.mpf(v)) for v in b])
    return max(abs(ctx.mpf(x) - ctx.mpf(y)) for x, y in zip(a, b)) / scale


# ---------------------------------------------------------------------------------------
# The jet
# ---------------------------------------------------------------------------------------

def test_first_coefficients_are_gradient_and_hessian_terms() -> None:
    """theta(t0 + h tau) = theta0 - h g tau + (h^2 / 2) H g tau^2 + ..."""
    land = MpLandscape(parse_problem(TANH_3), dps=30)
    ctx = land.ctx
    jet = NetworkJet.of(land, 12)
    theta = [exact(ctx, v) for v in THETA7]
    h = ctx.mpf(3) / 8
    J = jet.expand([jet.fixed(v) for v in theta], jet.fixed(h))
    g = land.grad(theta)
    H = land.hessian(theta)
    c1 = [jet.to_mpf(v) for v in J.S[:jet.d, 1]]
    c2 = [jet.to_mpf(v) for v in J.S[:jet.d, 2]]
    Hg = [ctx.fdot(row, g) for row in H]
    tol = ctx.mpf(10) ** -32
    assert rel_diff(ctx, c1, [-h * v for v in g]) < tol
    assert rel_diff(ctx, c2, [h * h * v / 2 for v in Hg]) < tol
    # the residual row at order 0 is the network's error at the data: loss = mult * sum r^2
    r = [jet.to_mpf(v) for v in J.S[jet.resid_rows, 0]]
    assert abs(jet.loss_mult * ctx.fdot(r, r) - land.loss(theta)) < tol


@pytest.mark.parametrize("activation", SUPPORTED)
def test_float64_orders_match_the_fixed_point_jet(activation: str) -> None:
    """Orders computed in float64 agree with the same orders in exact fixed point to about
    2^-50 of the largest coefficient of that order (the error model of the driver)."""
    problem = parse_problem(TANH_3.replace('"tanh"', f'"{activation}"'))
    land = MpLandscape(problem, dps=30)
    ctx = land.ctx
    jet = NetworkJet.of(land, 30)
    theta = [jet.fixed(exact(ctx, v)) for v in THETA7]
    H = jet.fixed(ctx.mpf(1) / 16)
    full = jet.expand(theta, H)
    mixed = jet.expand(theta, H, 10)
    assert full.F is None and mixed.F is not None and mixed.k_float == 10
    scale = 2.0 ** -jet.P
    lead = max(abs(float(v)) * scale for v in full.S[:jet.d, 10])
    for k in range(10, jet.K + 2):
        ref = [float(v) * scale for v in full.S[:jet.d, k]]
        got = list(mixed.F[:jet.d, k])
        size = max(abs(v) for v in ref)
        assert size > 0
        # relative 2^-48, except far out in the tail (2^-100 of the first float64 order),
        # where cancellation in the recurrences may cost digits that no step ever uses
        assert max(abs(a - b) for a, b in zip(got, ref)) <= 2.0 ** -48 * size + 2.0 ** -100 * lead, k
    # orders below k_float are identical
    assert (full.S[:, :10] == mixed.S[:, :10]).all()


# ---------------------------------------------------------------------------------------
# Flows against independent oracles
# ---------------------------------------------------------------------------------------

def linear_closed_form(ctx: Any, problem: Any, theta0: list[Any], t: Any) -> list[Any]:
    """theta(t) of L = factor * mean_p (w . x_p + b - y_p)^2: a quadratic 1/2 u^T A u - c^T u + const
    with A = 2 factor / N sum [x; 1][x; 1]^T, c = 2 factor / N sum y [x; 1]; the flow is
    u* + expm(-t A)(u0 - u*) with A u* = c."""
    pts = problem.data.points
    ys = [sum(exact(ctx, a) * exact(ctx, b) for a, b in zip(p, (1, -2))) + 1 for p in pts]
    N = len(pts)
    k = 2 * exact(ctx, problem.factor) / N
    rows = [[exact(ctx, v) for v in p] + [ctx.one] for p in pts]
    A = ctx.matrix(3, 3)
    c = ctx.matrix(3, 1)
    for r, y in zip(rows, ys):
        for i in range(3):
            c[i] += k * y * r[i]
            for j in range(3):
                A[i, j] += k * r[i] * r[j]
    u_star = ctx.lu_solve(A, c)
    u0 = ctx.matrix([exact(ctx, v) for v in theta0])
    u = u_star + ctx.expm(-ctx.mpf(t) * A) * (u0 - u_star)
    return [u[i] for i in range(3)]


@pytest.mark.parametrize("dps", [20, 45])
def test_linear_least_squares_matches_the_closed_form(dps: int) -> None:
    problem = parse_problem(LINEAR)
    land = MpLandscape(problem, dps=dps)
    ctx = land.ctx
    # the landscape's loss is the mean square error (the normalization the oracle assumes)
    assert problem.factor == 1
    theta0 = ["1/2", "-3", "2"]
    for t1 in ["1/4", "3", "20"]:
        flow = solve_flow_mp(land, theta0, t1=t1, method="taylor", checkpoints=3)
        assert flow.status is Status.T1_REACHED and flow.extra["method"] == "taylor"
        assert rel_diff(ctx, flow.theta, linear_closed_form(ctx, problem, theta0, flow.t)) < ctx.mpf(10) ** -(dps - 2)


@st.composite
def taylor_problems(draw: st.DrawFn) -> Any:
    net = draw(vst.networks(min_depth=1, max_depth=2, max_width=2, input_dims=(1, 2), output_dims=(1, 2),
                            activation=st.sampled_from(SUPPORTED), output_activation=st.booleans()))
    return draw(vst.problems(network=st.just(net), max_size=4))


@given(taylor_problems())
def test_agrees_with_extrapolation_on_drawn_networks(problem: Any) -> None:
    land = MpLandscape(problem, dps=20)
    assert taylor_support(land) is None
    ctx = land.ctx
    theta0 = list(problem.init.theta)
    kw: dict[str, Any] = {"t1": "1/4", "checkpoints": 2, "events": Events(radius=1e6, gtol=1e-100)}
    ours = solve_flow_mp(land, theta0, method="taylor", **kw)
    peer = solve_flow_mp(land, theta0, method="gbs", **kw)
    assert ours.status is peer.status
    assert ours.t == peer.t
    assert rel_diff(ctx, ours.theta, peer.theta) < ctx.mpf(10) ** -17
    assert abs(ours.loss - peer.loss) <= ctx.mpf(10) ** -17 * max(1, abs(peer.loss))


def test_agrees_with_itself_at_twice_the_digits_over_a_long_horizon() -> None:
    """The slowly drifting 1-1-1 tanh flow (infimum not attained) to t = 1000."""
    problem = parse_problem(DRIFT)
    theta0 = ["1/2", "0", "1", "0"]
    low = solve_flow_mp(MpLandscape(problem, dps=25), theta0, t1=1000, method="taylor", checkpoints=4)
    high = solve_flow_mp(MpLandscape(problem, dps=50), theta0, t1=1000, method="taylor", checkpoints=4)
    ctx = high.theta[0].context
    assert low.status is high.status is Status.T1_REACHED
    assert rel_diff(ctx, low.theta, high.theta) < ctx.mpf(10) ** -22
    assert abs(ctx.mpf(low.loss) - high.loss) <= ctx.mpf(10) ** -22 * high.loss
    # the drift: |theta| grows and the loss falls between checkpoints
    assert all(b > a for a, b in zip(high.checkpoints.theta_norm[1:], high.checkpoints.theta_norm[2:]))
    assert all(b < a for a, b in zip(high.checkpoints.loss, high.checkpoints.loss[1:]))


def test_agrees_with_mpmath_odefun() -> None:
    problem = parse_problem(TANH_3.replace('"tanh"', '"logistic"'))
    cache: dict[int, MpLandscape] = {}

    def field(t: Any, y: list[Any]) -> list[Any]:
        dps = mpmath.mp.dps
        if dps not in cache:
            cache[dps] = MpLandscape(problem, dps=dps, guard=0)
        return [-mpmath.mpf(g) for g in cache[dps].grad(y)]

    old = mpmath.mp.dps
    try:
        mpmath.mp.dps = 20
        peer = mpmath.odefun(field, 0, [exact(mpmath.mp, v) for v in THETA7])(mpmath.mpf(1) / 2)
    finally:
        mpmath.mp.dps = old
    land = MpLandscape(problem, dps=20)
    flow = solve_flow_mp(land, THETA7, t1="1/2", method="taylor", checkpoints=2)
    assert rel_diff(land.ctx, flow.theta, peer) < land.ctx.mpf(10) ** -18


def test_checkpoints_are_states_at_their_times() -> None:
    """A checkpoint inside a step comes from the dense Taylor polynomial: it must equal the
    end state of a flow stopped at that time."""
    land = MpLandscape(parse_problem(TANH_3), dps=25)
    ctx = land.ctx
    flow = solve_flow_mp(land, THETA7, t1=4, method="taylor", checkpoints=10)
    cp = flow.checkpoints
    assert cp.t[0] == 0 and cp.t[-1] == 4
    for i in (3, 7):
        short = solve_flow_mp(land, THETA7, t1=cp.t[i], method="gbs", checkpoints=1)
        assert abs(short.loss - cp.loss[i]) < ctx.mpf(10) ** -22 * max(1, cp.loss[i])
        assert abs(short.theta_norm - cp.theta_norm[i]) < ctx.mpf(10) ** -22
        assert abs(short.grad_norm - cp.grad_norm[i]) < ctx.mpf(10) ** -21


# ---------------------------------------------------------------------------------------
# Events
# ---------------------------------------------------------------------------------------

def test_stationary_event_at_the_closed_form_time() -> None:
    problem = parse_problem(LINEAR)
    land = MpLandscape(problem, dps=30)
    ctx = land.ctx
    theta0 = ["1/2", "-3", "2"]
    gtol = 1e-8
    flow = solve_flow_mp(land, theta0, t1=1000, method="taylor", events=Events(gtol=gtol))
    assert flow.status is Status.STATIONARY and flow.extra["event_searches"] > 0
    assert flow.grad_norm <= gtol

    def excess(t: Any) -> Any:
        g = land.grad(linear_closed_form(ctx, problem, theta0, t))
        return ctx.sqrt(ctx.fdot(g, g)) - ctx.mpf(gtol)

    t_exact = ctx.findroot(excess, flow.t)
    assert abs(flow.t - t_exact) < ctx.mpf(10) ** -20 * t_exact


@pytest.mark.parametrize("kind", ["radius", "loss_below"])
def test_events_agree_with_extrapolation(kind: str) -> None:
    problem = parse_problem(DRIFT)
    land = MpLandscape(problem, dps=25)
    ctx = land.ctx
    theta0 = ["1/2", "0", "1", "0"]
    events = Events(radius=1.5) if kind == "radius" else Events(loss_below=0.01)
    ours = solve_flow_mp(land, theta0, t1=10_000, method="taylor", events=events)
    peer = solve_flow_mp(land, theta0, t1=10_000, method="gbs", events=events)
    want = Status.DIVERGED if kind == "radius" else Status.LOSS_BELOW
    assert ours.status is peer.status is want
    assert abs(ours.t - peer.t) < ctx.mpf(10) ** -15 * peer.t
    assert ours.checkpoints.t[-1] == ours.t
    if kind == "radius":
        assert ctx.mpf(1.5) <= ours.theta_norm < ctx.mpf(1.5) + ctx.mpf(10) ** -15
    else:   # the level is the float 0.01, taken at its exact binary value
        assert ctx.mpf(0.01) * (1 - ctx.mpf(10) ** -15) < ours.loss <= ctx.mpf(0.01)


def test_max_steps_is_a_result() -> None:
    land = MpLandscape(parse_problem(TANH_3), dps=20)
    flow = solve_flow_mp(land, THETA7, t1=1000, method="taylor", max_steps=2)
    assert flow.status is Status.MAX_STEPS and "max_steps" in flow.message
    assert flow.costs.steps + flow.costs.rejected == 2 and 0 < flow.t < 1000


# ---------------------------------------------------------------------------------------
# Choosing the method
# ---------------------------------------------------------------------------------------

def test_auto_chooses_taylor_where_it_applies() -> None:
    land = MpLandscape(parse_problem(TANH_3), dps=20)
    assert solve_flow_mp(land, THETA7, t1=1, checkpoints=1).extra["method"] == "taylor"
    relu = MpLandscape(parse_problem(TANH_3.replace('"tanh"', '"relu"')), dps=20)
    assert "relu" in str(taylor_support(relu))
    assert solve_flow_mp(relu, THETA7, t1="1/10", checkpoints=1).extra["method"] == "gbs"


def test_taylor_where_it_does_not_apply_names_the_argument() -> None:
    relu = MpLandscape(parse_problem(TANH_3.replace('"tanh"', '"relu"')), dps=20)
    with pytest.raises(InputError) as info:
        solve_flow_mp(relu, THETA7, t1=1, method="taylor")
    assert info.value.field == "method" and "gbs" in str(info.value)
    interval = """
[network]
widths = [1, 2, 1]
activation = "tanh"
[data]
interval = ["-1", "1"]
[target]
expr = "x**2"
"""
    land = MpLandscape(parse_problem(interval), dps=20)
    assert "interval" in str(taylor_support(land))
    with pytest.raises(InputError):
        solve_flow_mp(land, THETA7, t1=1, method="taylor")
