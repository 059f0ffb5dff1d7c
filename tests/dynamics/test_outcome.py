"""``classify`` on planted problems whose fate is known in closed form or by construction.

Every class has at least two planted cases, and most have a control next to them that a
wrong classifier would get wrong the same way: a start off the stable manifold next to one
on it, a step size that converges next to one that cycles, a horizon too short next to a
long one.
"""

from __future__ import annotations

import itertools
import json
import math

import mpmath
import numpy as np
import pytest
import scipy.optimize
from hypothesis import given, settings
from hypothesis import strategies as st

from verify import InputError, parse_problem
from verify.dynamics.flow import Rodas4, solve_flow
from verify.dynamics.outcome import Outcome, classify
from verify.dynamics.trajectory import Events, Status, StepControl
from verify.landscapes.formula import ExprLandscape
from verify.landscapes.mp import MpLandscape
from verify.landscapes.np import NpLandscape

LOGISTIC = ExprLandscape("log(1 + exp(-w))", ["w"])
XY = ExprLandscape("(x*y - 1)**2 + y**2", ["x", "y"])          # inf 0 not attained; saddle (0, 0)
DEEP = ExprLandscape("(w1*w2 - 1)**2/2", ["w1", "w2"])          # minima on w1 w2 = 1; saddle (0, 0)
QUAD = ExprLandscape("(3*(a-1)**2 + 2*(a-1)*(b+2) + 2*(b+2)**2)/2", ["a", "b"])  # Hessian [[3,1],[1,2]]
PAPER = ExprLandscape("1.765*(1 - a*b)**2", ["a", "b"])          # Craciun-Ghoshdastidar, Fig. 3
LOGCOSH = ExprLandscape("log(cosh(x))", ["x"])

TIGHT = StepControl(rtol=1e-10, atol=1e-12)
SQRT5 = math.sqrt(5.0)


def flow(land, theta0, t1, **kw):
    return solve_flow(land, np.asarray(theta0, dtype=float), t1=t1, **kw).members[0]


def descent(land, theta0, eta, steps):
    from verify.dynamics.descent import run_descent

    return run_descent(land, np.asarray(theta0, dtype=float), step_size=eta, steps=steps).members[0]


def network_problem(seed: int = 3):
    return parse_problem(f"""
[network]
widths = [1, 2, 1]
activation = "tanh"
[data]
points = ["-1", "0", "1"]
[target]
expr = "x**2"
[init]
scheme = "normal"
seed = {seed}
ensemble = 4
""")


# ---------------------------------------------------------------------------------------
# diverging
# ---------------------------------------------------------------------------------------

def test_logistic_datum_diverges_like_log_t() -> None:
    # w + e^w = t + w0 + e^w0: w ~ ln t, L ~ 1/t -> 0, w |L'(w)| -> 0
    traj = flow(LOGISTIC.np(), [0.0], 1e6, control=TIGHT)
    assert traj.status is Status.T1_REACHED
    out = classify(LOGISTIC.np(), traj)
    assert out.kind == "diverging", out.reason
    assert "not a proof" in out.reason
    g = out.growth
    assert g["better"] == "log"
    assert g["log"]["rms_residual"] < 0.1 * g["power"]["rms_residual"]
    assert g["log"]["b"] == pytest.approx(1.0, abs=0.02)
    # the limit loss is 0, and the error bar says so
    assert out.loss_limit_error is not None and out.loss_limit_error < 1e-6
    assert abs(out.loss_limit - 0.0) <= out.loss_limit_error
    crit = out.criticality
    assert all(b < a for a, b in itertools.pairwise(crit)) and crit[-1] < 1e-4


@pytest.mark.parametrize("theta0", [[1.0, 0.5], [-1.5, -0.5]])
def test_xy_flow_below_the_saddle_value_diverges_like_a_power(theta0) -> None:
    # L < 1 = the only critical value: |theta| -> inf along the valley y ~ 1/x with x^4 ~ 8 t
    assert XY.np().loss(np.array(theta0)) < 1
    traj = flow(XY.np(), theta0, 1e6, solver=Rodas4(), control=StepControl(rtol=1e-9, atol=1e-12))
    out = classify(XY.np(), traj)
    assert out.kind == "diverging", out.reason
    g = out.growth
    assert g["better"] == "power"
    assert g["power"]["p"] == pytest.approx(0.25, abs=0.02)
    assert g["velocity_exponent"] == pytest.approx(0.25, abs=0.02)
    assert abs(out.loss_limit) <= out.loss_limit_error < 1e-4


def test_logistic_datum_diverges_in_the_mp_tier_where_float64_gives_up() -> None:
    mp = LOGISTIC.mp(20)
    from verify.dynamics.mpflow import solve_flow_mp

    # at t = 1e30, w ~ 69: the gradient (1e-30) is tiny but |theta| keeps growing like ln t
    traj = solve_flow_mp(mp, [0], t1=10**30, events=Events(gtol=1e-40))
    out = classify(mp, traj)
    assert out.kind == "diverging", out.reason
    assert out.growth["better"] == "log"
    assert out.growth["log"]["b"] == pytest.approx(1.0, abs=1e-6)
    assert isinstance(out.loss_limit, type(mp.ctx.mpf(1)))
    assert abs(out.loss_limit) <= out.loss_limit_error < mp.ctx.mpf("1e-29")


def test_reaching_the_radius_is_divergence_and_a_gd_blow_up_is_named() -> None:
    traj = flow(LOGISTIC.np(), [0.0], 1e6, events=Events(radius=5.0))
    assert traj.status is Status.DIVERGED
    out = classify(LOGISTIC.np(), traj)
    assert out.kind == "diverging" and "radius" in out.reason
    # GD on x^2 / 2 with step 2.5 multiplies x by -1.5: loss rises, no asymptotic critical value
    square = ExprLandscape("x**2/2", ["x"])
    from verify.dynamics.descent import run_descent
    from verify.dynamics.trajectory import Events as Ev

    gd = run_descent(square.np(), np.array([0.1]), step_size=2.5, steps=500, events=Ev(radius=1e6)).members[0]
    assert gd.status is Status.DIVERGED
    out = classify(square.np(), gd, kind="descent")
    assert out.kind == "diverging" and "blow-up" in out.reason and out.loss_limit is None


# ---------------------------------------------------------------------------------------
# converged: minima
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("t1", [100.0, 1e4])
def test_positive_definite_quadratic_converges_to_its_minimizer(t1) -> None:
    traj = flow(QUAD.np(), [5.0, 5.0], t1, control=TIGHT)
    out = classify(QUAD.np(), traj)
    assert out.kind == "converged", out.reason
    assert out.point_kind == "minimum" and out.index == 0 and out.null_dim == 0
    np.testing.assert_allclose(out.limit, [1.0, -2.0], atol=1e-13)
    np.testing.assert_allclose(out.eigenvalues, [(5 - SQRT5) / 2, (5 + SQRT5) / 2], rtol=1e-13)
    assert out.limit_loss < 1e-25


def test_tanh_network_converges_to_minima_newton_refines_them() -> None:
    land = NpLandscape(network_problem())
    theta0 = np.random.default_rng(1).normal(size=(4, land.n_params))
    res = solve_flow(land, theta0, t1=1e4, solver=Rodas4())
    zero_loss = 0
    for traj in res.members:
        out = classify(land, traj)
        assert out.kind == "converged" and out.point_kind == "minimum", out.reason
        assert out.index == 0 and out.null_dim >= 0
        # an independent look at the limit: the landscape's own gradient there
        assert np.linalg.norm(land.grad(np.array(out.limit))) < 1e-10
        assert out.limit_grad_norm < 1e-10
        if out.limit_loss < 1e-20:
            zero_loss += 1
            # 7 parameters, 3 residuals: H = (2/3) J^T J has rank 3 on the zero-loss set
            assert out.null_dim == 4
    assert zero_loss >= 1


def test_tanh_network_minimum_in_the_mp_tier() -> None:
    problem = network_problem()
    land = NpLandscape(problem)
    theta0 = np.random.default_rng(1).normal(size=land.n_params)
    start = flow(land, theta0, 200.0, solver=Rodas4()).theta
    from verify.dynamics.mpflow import solve_flow_mp

    mpl = MpLandscape(problem, dps=20)
    traj = solve_flow_mp(mpl, list(start), t1=100, events=Events(gtol=1e-18))
    out = classify(mpl, traj)
    assert out.kind == "converged" and out.point_kind == "minimum" and out.null_dim == 4, out.reason
    assert out.limit_grad_norm < mpl.ctx.mpf("1e-25")


def test_deep_linear_scalar_net_converges_to_the_curve_of_minima() -> None:
    traj = flow(DEEP.np(), [0.1, 0.1], 100.0, control=TIGHT)
    out = classify(DEEP.np(), traj)
    assert out.kind == "converged" and out.point_kind == "minimum", out.reason
    assert out.index == 0 and out.null_dim == 1          # the tangent of w1 w2 = 1
    w1, w2 = out.limit
    assert w1 * w2 == pytest.approx(1.0, abs=1e-14)
    assert w1 == pytest.approx(1.0, abs=1e-10) and w2 == pytest.approx(1.0, abs=1e-10)  # by symmetry
    assert out.eigenvalues[1] == pytest.approx(w1 ** 2 + w2 ** 2, rel=1e-10)


def test_flat_direction_with_a_lower_loss_is_not_called_a_minimum() -> None:
    # x^3 + y^2 at the origin: the Hessian is diag(0, 2), but the loss falls along -x
    land = ExprLandscape("x**3 + y**2", ["x", "y"]).np()
    traj = flow(land, [0.0, 0.0], 1.0)
    out = classify(land, traj)
    assert out.kind == "converged" and out.point_kind == "degenerate" and out.null_dim == 1, out.reason


# ---------------------------------------------------------------------------------------
# converged: saddles
# ---------------------------------------------------------------------------------------

def test_deep_linear_started_at_the_saddle_stays_there() -> None:
    traj = flow(DEEP.np(), [0.0, 0.0], 10.0)
    assert traj.status is Status.STATIONARY
    out = classify(DEEP.np(), traj)
    assert out.kind == "converged" and out.point_kind == "saddle" and out.index == 1, out.reason
    np.testing.assert_allclose(out.eigenvalues, [-1.0, 1.0], atol=1e-15)
    assert out.limit == (0.0, 0.0) and out.limit_loss == 0.5


class _Reversed:
    """The landscape -L: its gradient flow is theta' = +grad L (the flow of L backward in time)."""

    def __init__(self, land) -> None:
        self.land, self.ctx, self.dps, self.n_params = land, land.ctx, land.dps, land.n_params

    def loss(self, theta):
        return -self.land.loss(theta)

    def loss_and_grad(self, theta):
        loss, grad = self.land.loss_and_grad(theta)
        return -loss, [-g for g in grad]


@pytest.fixture(scope="module")
def stable_manifold_start():
    """A point on the stable manifold of the saddle (0, 0) of (xy - 1)^2 + y^2, to ~50 digits.

    Start 1e-20 along the stable eigenvector (eigenvalue 1 + sqrt 5): its distance from the
    manifold is O(1e-40). Follow theta' = +grad L for flow time 14: along the manifold the
    point moves out like e^{(1 + sqrt 5) t} (to |theta| ~ 0.5), across it the error shrinks
    like e^{(1 - sqrt 5) t}: backward in time the stable manifold attracts.
    """
    from verify.dynamics.mpflow import solve_flow_mp

    mp = XY.mp(50)
    ctx = mp.ctx
    E, Q = ctx.eigsy(ctx.matrix(mp.hessian([0, 0])))
    assert ctx.almosteq(E[1], 1 + ctx.sqrt(5)) and ctx.almosteq(E[0], 1 - ctx.sqrt(5))
    stable, unstable = [Q[0, 1], Q[1, 1]], [Q[0, 0], Q[1, 0]]
    start = [ctx.mpf("1e-20") * v for v in stable]
    back = solve_flow_mp(_Reversed(mp), start, t1=14, events=Events(gtol=1e-300, radius=1e3), checkpoints=2)
    assert back.status is Status.T1_REACHED
    point = list(back.theta)
    assert 0.2 < ctx.norm(point) < 1.0 and mp.loss(point) > 1
    return mp, point, unstable


def test_flow_from_the_stable_manifold_converges_to_the_saddle(stable_manifold_start) -> None:
    from verify.dynamics.mpflow import solve_flow_mp

    mp, point, _ = stable_manifold_start
    ctx = mp.ctx
    traj = solve_flow_mp(mp, point, t1=15, events=Events(gtol=1e-40))
    out = classify(mp, traj)
    assert out.kind == "converged" and out.point_kind == "saddle" and out.index == 1, out.reason
    assert out.null_dim == 0
    assert abs(out.eigenvalues[0] - (1 - ctx.sqrt(5))) < ctx.mpf("1e-40")
    assert abs(out.eigenvalues[1] - (1 + ctx.sqrt(5))) < ctx.mpf("1e-40")
    assert ctx.norm(list(out.limit)) < ctx.mpf("1e-40")
    assert abs(out.limit_loss - 1) < ctx.mpf("1e-40")
    # the forward flow itself came within 1e-20 of the saddle: the start is on the manifold
    assert traj.theta_norm < ctx.mpf("1e-20")


def test_flow_just_off_the_stable_manifold_does_not_converge(stable_manifold_start) -> None:
    from verify.dynamics.mpflow import solve_flow_mp

    mp, point, unstable = stable_manifold_start
    ctx = mp.ctx
    off = [p + ctx.mpf("1e-8") * u for p, u in zip(point, unstable)]
    traj = solve_flow_mp(mp, off, t1=30, events=Events(gtol=1e-40))
    out = classify(mp, traj)
    assert out.kind != "converged", out.reason
    assert traj.loss < 1   # it left the saddle downhill


@settings(max_examples=10)
@given(st.lists(st.sampled_from([-3.0, -1.0, -0.5, 0.5, 1.0, 2.0]), min_size=2, max_size=3),
       st.floats(0.0, 3.0))
def test_kind_and_index_at_a_nondegenerate_critical_point(spectrum, angle) -> None:
    # L = (1/2) (theta - c)^T R diag(spectrum) R^T (theta - c), started at c: Sylvester's law of inertia
    d = len(spectrum)
    R = np.eye(d)
    c, s = math.cos(angle), math.sin(angle)
    R[:2, :2] = [[c, -s], [s, c]]
    A = R @ np.diag(spectrum) @ R.T
    names = [f"p{i}" for i in range(d)]
    centre = [0.5 * (i + 1) for i in range(d)]
    terms = [f"({float(A[i, j])!r})*(p{i} - {centre[i]})*(p{j} - {centre[j]})" for i in range(d) for j in range(d)]
    land = ExprLandscape("(" + " + ".join(terms) + ")/2", names).np()
    out = classify(land, flow(land, centre, 1.0))
    neg = sum(1 for v in spectrum if v < 0)
    expected = "minimum" if neg == 0 else "maximum" if neg == d else "saddle"
    assert out.kind == "converged" and out.point_kind == expected and out.index == neg
    np.testing.assert_allclose(out.eigenvalues, sorted(spectrum), atol=1e-12)


# ---------------------------------------------------------------------------------------
# periodic (gradient descent)
# ---------------------------------------------------------------------------------------

def test_paper_example_cycles_at_step_0325_and_converges_at_025() -> None:
    pytest.importorskip("verify.dynamics.descent")
    start = [1.48, 1 / 1.48 + 0.1]
    out = classify(PAPER.np(), descent(PAPER.np(), start, 0.325, 2000), kind="descent")
    assert out.kind == "periodic" and out.period == 2 and out.stable is True, out.reason
    assert all(abs(z) < 1 for z in out.multipliers)
    # the orbit is named: the diagonal 2-cycle p, q = (sqrt(1 + 3/k) +- sqrt(1 - 1/k)) / 2, k = 2 C eta,
    # with multipliers 9 - 2 (1 + k)^2 and 3 - 2 k (hand derivation, theorems/_stability_examples.py)
    k = 2 * 1.765 * 0.325
    p, q = (math.sqrt(1 + 3 / k) + math.sqrt(1 - 1 / k)) / 2, (math.sqrt(1 + 3 / k) - math.sqrt(1 - 1 / k)) / 2
    assert sorted(pt[0] for pt in out.orbit) == pytest.approx([q, p], rel=1e-9)
    assert all(pt[0] == pytest.approx(pt[1], rel=1e-9) for pt in out.orbit)
    assert sorted(z.real for z in out.multipliers) == pytest.approx(sorted([9 - 2 * (1 + k) ** 2, 3 - 2 * k]),
                                                                    rel=1e-7)
    assert f"{p:.6g}"[:6] in out.reason and f"{q:.6g}"[:6] in out.reason
    assert out.to_json()["orbit"] == [list(pt) for pt in out.orbit]
    out = classify(PAPER.np(), descent(PAPER.np(), start, 0.25, 2000), kind="descent")
    assert out.kind == "converged" and out.point_kind == "minimum", out.reason
    a, b = out.limit
    assert a * b == pytest.approx(1.0, abs=1e-12)
    # GD-stable minimum: the nonzero Hessian eigenvalue 3.53 (a^2 + b^2) lies below 2 / eta
    assert 0 < out.eigenvalues[-1] < 2 / 0.25


def test_log_cosh_two_cycle_matches_its_closed_form() -> None:
    pytest.importorskip("verify.dynamics.descent")
    eta = 2.5
    out = classify(LOGCOSH.np(), descent(LOGCOSH.np(), [0.3], eta, 500), kind="descent")
    assert out.kind == "periodic" and out.period == 2 and out.stable, out.reason
    # the orbit is +-a with 2 a = eta tanh a; the multiplier is (1 - eta sech^2 a)^2
    a = scipy.optimize.brentq(lambda x: 2 * x - eta * math.tanh(x), 0.1, 5.0)
    expected = (1 - eta / math.cosh(a) ** 2) ** 2
    assert len(out.multipliers) == 1 and out.multipliers[0].real == pytest.approx(expected, rel=1e-8)
    # below 2 / L''(0) = 2 the minimum 0 is GD-stable
    out = classify(LOGCOSH.np(), descent(LOGCOSH.np(), [0.3], 1.5, 500), kind="descent")
    assert out.kind == "converged" and out.point_kind == "minimum" and abs(out.limit[0]) < 1e-12, out.reason


# ---------------------------------------------------------------------------------------
# undecided
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("w0", [0.0, 3.0])
def test_logistic_datum_with_a_horizon_far_too_short(w0) -> None:
    # from w0 = 3, |theta| grows, the loss and w |L'(w)| fall: only the ballistic growth
    # (d|theta|/d ln t ~ t) tells that nothing asymptotic has been seen yet
    out = classify(LOGISTIC.np(), flow(LOGISTIC.np(), [w0], 0.01))
    assert out.kind == "undecided" and "horizon" in out.reason and "raise t1" in out.reason


def test_quadratic_with_a_short_horizon_is_undecided() -> None:
    out = classify(QUAD.np(), flow(QUAD.np(), [5.0, 5.0], 4.0))
    assert out.kind == "undecided" and "still falling" in out.reason


def test_max_steps_is_undecided_and_names_the_budget() -> None:
    traj = flow(LOGISTIC.np(), [0.0], 100.0, control=StepControl(max_steps=5))
    assert traj.status is Status.MAX_STEPS
    out = classify(LOGISTIC.np(), traj)
    assert out.kind == "undecided" and "MAX_STEPS" in out.reason and "step budget" in out.reason


def test_float64_precision_exhausted_points_to_the_mp_tier() -> None:
    # beyond w ~ 37, 1 + e^-w == 1 in float64: the loss is 0 while |theta| grows like ln t
    traj = flow(LOGISTIC.np(), [0.0], 1e25, events=Events(gtol=1e-30))
    out = classify(LOGISTIC.np(), traj)
    assert out.kind == "undecided" and "precision exhausted" in out.reason and "mp tier" in out.reason


def test_stationary_stop_on_a_diverging_flow_is_conflicting_evidence() -> None:
    # gtol = 1e-12 stops the logistic flow at w ~ 27.6 (t ~ 1e12): stationary in float64,
    # but |theta| grew like ln t right up to there. Not a minimum.
    traj = flow(LOGISTIC.np(), [0.0], 1e14)
    assert traj.status is Status.STATIONARY
    out = classify(LOGISTIC.np(), traj)
    assert out.kind == "undecided" and "conflicting" in out.reason


# ---------------------------------------------------------------------------------------
# records and arguments
# ---------------------------------------------------------------------------------------

def test_to_json_in_both_tiers(stable_manifold_start) -> None:
    from verify.dynamics.mpflow import solve_flow_mp

    np_out = classify(LOGISTIC.np(), flow(LOGISTIC.np(), [0.0], 1e4))
    mp, point, _ = stable_manifold_start
    mp_out = classify(mp, solve_flow_mp(mp, point, t1=15, events=Events(gtol=1e-40)))
    mp_div = classify(LOGISTIC.mp(20), solve_flow_mp(LOGISTIC.mp(20), [0], t1=10**4))
    periodic = classify(LOGCOSH.np(), descent(LOGCOSH.np(), [0.3], 2.5, 200), kind="descent")
    for out in (np_out, mp_out, mp_div, periodic):
        doc = json.loads(json.dumps(out.to_json(), allow_nan=False))
        assert doc["kind"] == out.kind and doc["reason"] == out.reason
    doc = mp_out.to_json()
    # mpf as decimal strings with all their digits
    assert isinstance(doc["limit_loss"], str)
    assert mpmath.mpf(doc["eigenvalues"][1]) - (1 + mpmath.sqrt(5)) < mpmath.mpf("1e-14")
    assert mp.ctx.mpf(doc["limit_loss"]) == mp_out.limit_loss
    assert isinstance(mp_div.to_json()["loss_limit"], str)
    assert periodic.to_json()["multipliers"][0]["im"] == 0.0
    assert np_out.to_json()["growth"]["better"] == "log"


def test_arguments_are_validated() -> None:
    traj = flow(LOGISTIC.np(), [0.0], 1.0)
    with pytest.raises(InputError, match="kind"):
        classify(LOGISTIC.np(), traj, kind="sgd")
    with pytest.raises(InputError, match="landscape"):
        classify(LOGISTIC.mp(20), traj)
    with pytest.raises(InputError, match="zero_tol"):
        classify(LOGISTIC.np(), traj, zero_tol=-1.0)
    with pytest.raises(InputError, match="trajectory"):
        classify(QUAD.np(), traj)
    with pytest.raises(InputError, match="kind"):
        Outcome("finished", "no")


# ---------------------------------------------------------------------------------------
# decided on the tail
# ---------------------------------------------------------------------------------------

def test_a_transient_dip_of_theta_does_not_prevent_the_decision() -> None:
    # from w0 = -3 the logistic datum's |w| first falls to 0 (a dip of |theta| lasting to t ~ 20),
    # then grows like ln t: the tail (the last decade) decides
    traj = flow(LOGISTIC.np(), [-3.0], 1e6, control=TIGHT, checkpoints=64)
    tn = np.array(traj.checkpoints.theta_norm)
    assert np.any(np.diff(tn) < 0)
    out = classify(LOGISTIC.np(), traj)
    assert out.kind == "diverging", out.reason
    assert "on its tail" in out.reason and out.growth["t_first"] >= 1e5 * 0.99


@pytest.mark.parametrize("t1", [30.0, 100.0, 300.0, 1000.0, 3000.0])
def test_an_approach_to_a_far_minimum_is_never_called_diverging(t1: float) -> None:
    # L = (w - 10)^2 / 200: w = 10 - 10 e^(-t/100) from 0; |theta| grows, the loss and |theta||grad L|
    # fall on the way, yet the flow converges: whatever the horizon, never "diverging"
    land = ExprLandscape("(w - 10)**2/200", ["w"]).np()
    out = classify(land, flow(land, [0.0], t1, control=TIGHT))
    assert out.kind != "diverging", out.reason
    if t1 >= 3000:
        assert out.kind == "converged" and out.limit[0] == pytest.approx(10.0, abs=1e-10)


@pytest.mark.parametrize(("model", "loss", "limit", "rate"), [
    ("power", lambda t: 0.1 + 3.0 * t ** -0.7, 0.1, 0.7),
    ("exponential", lambda t: 0.3 + 2.0 * np.exp(-t / 500.0), 0.3, 1 / 500.0),
])
def test_the_loss_fit_finds_the_law_the_limit_and_an_honest_error_bar(model, loss, limit, rate) -> None:
    from verify.dynamics.outcome import _late, _loss_fit, _NpOps
    from verify.dynamics.trajectory import Checkpoints, Costs, Trajectory

    t = np.geomspace(100.0, 1000.0, 9)
    L = loss(t)
    ck = Checkpoints(tuple(t), tuple(L), tuple(1 + np.log(t)), tuple(np.full(9, 1e-3)))
    traj = Trajectory(Status.T1_REACHED, "", t[-1], L[-1], 1 + np.log(t[-1]), 1e-3, (0.0,), ck, Costs())
    ops = _NpOps(LOGISTIC.np())
    est, err, note, fit = _loss_fit(ops, _late(ops, traj))
    assert fit["model"] == model and fit["rate"] == pytest.approx(rate, rel=1e-3), fit
    # the error bar: at least 10% of the distance extrapolated, and here not much more
    assert abs(est - limit) <= err <= 0.11 * (L[-1] - limit), (est, err)
    assert model in note or "t^" in note or "e^" in note


def test_a_slow_approach_with_a_finite_path_is_not_called_diverging() -> None:
    # L = (w - 3)^8 from w = 2: w = 3 - (1 + 48 t)^(-1/6), so |theta| grows like R - c t^(-1/6): gamma = -1/6
    # lies in the growth window, the loss and |theta||grad L| fall; but |grad L| = |w'| ~ t^(-7/6): the path
    # left is finite, and the flow converges to the degenerate minimum w = 3
    land = ExprLandscape("(w - 3)**8", ["w"]).np()
    traj = flow(land, [2.0], 1e6, control=TIGHT)
    w = traj.theta[0]
    assert w == pytest.approx(3 - (1 + 48 * 1e6) ** (-1 / 6), rel=1e-6)
    out = classify(land, traj)
    assert out.kind != "diverging", out.reason
    assert "path left" in out.reason or out.kind == "converged", out.reason


class _Floored:
    """A formula landscape that declares its loss nonnegative, as network landscapes do."""

    loss_floor = 0.0

    def __init__(self, land) -> None:
        self._land = land

    def __getattr__(self, name):
        return getattr(self._land, name)


def test_the_path_bound_holds_on_a_degenerate_minimum_and_is_only_evidence() -> None:
    # L = (w - 3)^4 from w = 2: 3 - w = (1 + 8 t)^(-1/2) and L = (1 + 8 t)^-2, so alpha = 2 and the path
    # left at T is 3 - w(T); the bound sqrt(T L(T)) / (1 - 2^(-1/2)) is 1.21 times it for large T
    base = ExprLandscape("(w - 3)**4", ["w"]).np()
    T = 1e6
    traj = flow(base, [2.0], T, control=TIGHT)
    left = (1 + 8 * T) ** -0.5
    assert 3 - traj.theta[0] == pytest.approx(left, rel=1e-6)
    out = classify(_Floored(base), traj)
    assert out.path_left is not None, out.reason
    assert left <= out.path_left <= 1.3 * left, (out.path_left, left)
    assert "extrapolation, not a decision" in out.reason
    # without a declared floor (a formula may go negative) there is no bound
    assert classify(base, traj).path_left is None


@pytest.mark.parametrize(("alpha", "applies"), [(2.0, True), (1.3, True), (1.0, False), (0.5, False)])
def test_the_path_bound_needs_the_loss_to_fall_faster_than_one_over_t(alpha, applies) -> None:
    from verify.dynamics.outcome import _late, _NpOps, _path_left
    from verify.dynamics.trajectory import Checkpoints, Costs, Trajectory

    t = np.geomspace(1e3, 1e4, 9)
    L = 5.0 * t ** -alpha
    ck = Checkpoints(tuple(t), tuple(L), tuple(np.full(9, 2.0)), tuple(np.full(9, 1e-9)))
    traj = Trajectory(Status.T1_REACHED, "", t[-1], L[-1], 2.0, 1e-9, (2.0,), ck, Costs())
    ops = _NpOps(LOGISTIC.np())
    got = _path_left(ops, _late(ops, traj), 9, 0.0)
    if not applies:
        assert got is None
        return
    bound, a = got
    assert a == pytest.approx(alpha, rel=1e-9)
    assert bound == pytest.approx(math.sqrt(t[-1] * L[-1]) / (1 - 2 ** ((1 - alpha) / 2)), rel=1e-12)
    # a decay that slows down on the second half of the tail counts at its slower rate
    L2 = np.where(t < t[4], L, L[4] * (t / t[4]) ** -1.0)
    ck2 = Checkpoints(tuple(t), tuple(L2), tuple(np.full(9, 2.0)), tuple(np.full(9, 1e-9)))
    traj2 = Trajectory(Status.T1_REACHED, "", t[-1], L2[-1], 2.0, 1e-9, (2.0,), ck2, Costs())
    assert _path_left(ops, _late(ops, traj2), 9, 0.0) is None


def test_the_path_bound_in_the_mp_tier_below_float64s_range() -> None:
    # L = 1e-400 (t / 1e3)^-2: a bound of about 1e-198, computed in the tier's numbers (in float64 it
    # would underflow to 0)
    from verify.dynamics.outcome import _late, _MpOps, _path_left
    from verify.dynamics.trajectory import Checkpoints, Costs, Trajectory

    land = MpLandscape(network_problem(), dps=30)
    ctx = land.ctx
    t = [ctx.mpf(10) ** (3 + ctx.mpf(k) / 8) for k in range(9)]
    L = [ctx.mpf("1e-400") * (s / 1000) ** -2 for s in t]
    ck = Checkpoints(tuple(t), tuple(L), tuple([ctx.mpf(2)] * 9), tuple([ctx.mpf("1e-300")] * 9))
    traj = Trajectory(Status.T1_REACHED, "", t[-1], L[-1], ctx.mpf(2), ctx.mpf("1e-300"), (ctx.mpf(2),) * 7, ck,
                      Costs(), tier="mp")
    ops = _MpOps(land)
    bound, alpha = _path_left(ops, _late(ops, traj), 9, land.loss_floor)
    assert alpha == pytest.approx(2.0, rel=1e-9)
    expect = ctx.sqrt(t[-1] * L[-1]) / (1 - ctx.mpf(2) ** ctx.mpf(-0.5))
    assert bound > 0 and abs(bound / expect - 1) < 1e-12, (bound, expect)
