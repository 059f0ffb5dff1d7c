"""The stiff method of the mp tier (Radau IIA, ``solve_flow_mp(method="radau")``) and the switch to it.

Oracles: the quadrature and collocation conditions of the tableau, closed-form flows (a stiff
quadratic: the matrix exponential; the logistic datum: w + e^w = t + const), the float64
Rodas4 path, the method itself at twice the digits, and the explicit mp methods.
"""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
import scipy.linalg

from verify import ExprLandscape, InputError, NpLandscape, StepControl, parse_problem, solve_flow, solve_flow_mp
from verify.dynamics.radau import Tableau, stages
from verify.dynamics.trajectory import Events, Status

# Hessian diag(1000, 1/100): stiffness ratio 1e5
STIFF = ExprLandscape("(1000*(a - 1)**2 + (b + 2)**2/100)/2", ["a", "b"])
LOGISTIC = ExprLandscape("log(1 + exp(-w))", ["w"])
DRIFT = """
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


@pytest.mark.parametrize("s", [2, 3, 7, 12])
def test_tableau_is_radau_iia(s: int) -> None:
    ctx = mpmath.MPContext()
    ctx.dps = 40
    tab = Tableau(ctx, s)
    tol = ctx.mpf(10) ** -36
    assert tab.c[-1] == 1 and all(0 < a < b for a, b in zip(tab.c, tab.c[1:]))
    # collocation: sum_j a_ij c_j^(q-1) = c_i^q / q for q = 1..s (stage order s)
    for i in range(s):
        for q in range(1, s + 1):
            assert abs(ctx.fsum(tab.A[i][j] * tab.c[j] ** (q - 1) for j in range(s)) - tab.c[i] ** q / q) < tol
    # the last row is the Radau quadrature, exact to degree 2s - 2 (order 2s - 1) and not beyond
    b = tab.A[-1]
    for q in range(2 * s - 1):
        assert abs(ctx.fsum(bj * c ** q for bj, c in zip(b, tab.c)) - ctx.one / (q + 1)) < tol
    assert abs(ctx.fsum(bj * c ** (2 * s - 1) for bj, c in zip(b, tab.c)) - ctx.one / (2 * s)) > tol
    # the embedded formula: b0 at 0 and bh at c exact to degree s - 1
    for q in range(s):
        assert abs(tab.b0 * (1 if q == 0 else 0) + ctx.fsum(w * c ** q for w, c in zip(tab.bh, tab.c))
                   - ctx.one / (q + 1)) < tol
    assert stages(30) == 12 and stages(5) == 5 and stages(200) == 16


def test_stiff_quadratic_matches_the_matrix_exponential_in_few_steps() -> None:
    # started on the slow manifold a = 1: only the slow mode (rate 1/100) moves, the stiff one (rate
    # 1000) must merely stay put; an explicit method needs h <= O(1 / 1000), ~10^5 steps to t = 200
    land = STIFF.mp(30)
    ctx = land.ctx
    traj = solve_flow_mp(land, ["1", "0"], t1=200, method="radau", rtol="1e-20", checkpoints=4)
    assert traj.status is Status.T1_REACHED and traj.t == 200
    # theta(t) = c + exp(-t H)(theta0 - c), H = diag(1000, 1/100), c = (1, -2)
    b = -2 + 2 * ctx.exp(-ctx.mpf(200) / 100)
    assert abs(traj.theta[0] - 1) < ctx.mpf(10) ** -25 and abs(traj.theta[1] - b) < ctx.mpf(10) ** -18
    assert traj.costs.steps < 200 and traj.extra["method"] == "radau" and traj.costs.n_hess >= traj.costs.steps


def test_logistic_datum_closed_form() -> None:
    land = LOGISTIC.mp(30)
    ctx = land.ctx
    traj = solve_flow_mp(land, ["0"], t1=1000, method="radau", rtol="1e-22", checkpoints=8)
    w = traj.theta[0]
    # w + e^w = t + w0 + e^w0 = 1001
    assert abs(w + ctx.exp(w) - 1001) < ctx.mpf(10) ** -19 * 1001
    # checkpoints are hit exactly and are states of the same flow
    for t, loss in zip(traj.checkpoints.t[1:], traj.checkpoints.loss[1:]):
        wt = ctx.findroot(lambda x, t=t: x + ctx.exp(x) - (t + 1), ctx.log(t + 1))
        assert abs(loss - ctx.log(1 + ctx.exp(-wt))) < ctx.mpf(10) ** -19


def test_events_are_located() -> None:
    land = LOGISTIC.mp(25)
    ctx = land.ctx
    traj = solve_flow_mp(land, ["0"], t1=10**6, method="radau", events=Events(radius=5.0))
    # |w| = 5 at t* = 5 + e^5 - 1
    assert traj.status is Status.DIVERGED and traj.theta[0] >= 5
    assert abs(traj.t - (4 + ctx.exp(5))) < 1e-15


def test_drift_flow_agrees_with_rodas4_and_with_itself_at_twice_the_digits() -> None:
    # from t = 100 (where the drift is slow and stiff) to t = 600, Radau at 15 and at 30 digits
    p = parse_problem(DRIFT)
    start = solve_flow_mp(p.mp(40), ["1", "0", "1", "0"], t1=100, checkpoints=2).theta
    theta0 = [str(v) for v in start]
    lo = solve_flow_mp(p.mp(15), theta0, t1=500, method="radau", checkpoints=2)
    hi = solve_flow_mp(p.mp(30), theta0, t1=500, method="radau", checkpoints=2)
    assert lo.extra["stages"] < hi.extra["stages"] and lo.costs.steps < 400
    for a, b in zip(lo.theta, hi.theta):
        assert abs(a - b) < 1e-12 * (1 + abs(b))
    ref = solve_flow(NpLandscape(p), np.array([float(v) for v in start]), t1=500.0, solver="rodas4",
                     control=StepControl(rtol=1e-13, atol=1e-15)).members[0]
    np.testing.assert_allclose([float(v) for v in hi.theta], ref.theta, rtol=1e-9, atol=1e-12)


def test_auto_switches_from_the_taylor_method_where_the_flow_turns_stiff() -> None:
    p = parse_problem(DRIFT)
    land = p.mp(20)
    auto = solve_flow_mp(land, ["1", "0", "1", "0"], t1=20_000, checkpoints=8)
    assert auto.extra["method"] == "taylor+radau", auto.extra
    assert 100 < auto.extra["radau_from"] < 20_000 and auto.extra["rho_at_switch"] > 4
    radau = solve_flow_mp(land, ["1", "0", "1", "0"], t1=20_000, method="radau", checkpoints=8)
    for a, b in zip(auto.theta, radau.theta):
        assert abs(a - b) < 1e-16 * (1 + abs(b))
    # a non-stiff flow stays with the Taylor method
    short = solve_flow_mp(land, ["1", "0", "1", "0"], t1=10, checkpoints=8)
    assert short.extra["method"] == "taylor"


def test_radau_needs_a_hessian() -> None:
    class NoHessian:
        def __init__(self) -> None:
            inner = LOGISTIC.mp(20)
            self.ctx, self.dps, self.n_params, self.loss_and_grad = inner.ctx, 20, 1, inner.loss_and_grad

    with pytest.raises(InputError, match="hessian"):
        solve_flow_mp(NoHessian(), [Fraction(0)], t1=1, method="radau")
    assert math.isfinite(float(scipy.linalg.norm([1.0])))
