"""The ensemble gradient-flow driver against closed forms, scipy, and itself."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.integrate
import scipy.linalg

from verify import InputError, parse_problem
from verify.dynamics.flow import Auto, Dop853, Dopri5, Rodas4, solve_flow
from verify.dynamics.trajectory import Events, Status, StepControl, checkpoint_times
from verify.landscapes.formula import ExprLandscape
from verify.landscapes.np import NpLandscape

SOLVERS = [Dopri5(), Dop853(), Rodas4(), Auto(), Auto(explicit=Dopri5(), to_stiff=5)]
A = np.array([[3.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 1.0]])
C = np.array([1.0, -2.0, 0.5])
QUAD = ExprLandscape("(3*(a-1)**2 + 2*(a-1)*(b+2) + 2*(b+2)**2 + (b+2)*(c-1/2) + (c-1/2)**2)/2", ["a", "b", "c"])
LOGISTIC = ExprLandscape("log(1 + exp(-w))", ["w"])


def quad_exact(theta0: np.ndarray, t: float) -> np.ndarray:
    return C + scipy.linalg.expm(-t * A) @ (theta0 - C)


@pytest.mark.parametrize("solver", SOLVERS, ids=lambda s: s.name)
def test_linear_flow_matches_the_matrix_exponential(solver) -> None:
    theta0 = np.array([[0.0, 0.0, 0.0], [3.0, -1.0, 2.0]])
    res = solve_flow(QUAD.np(), theta0, t1=4.0, solver=solver, control=StepControl(rtol=1e-11, atol=1e-13))
    for e, m in enumerate(res.members):
        assert m.status is Status.T1_REACHED and m.t == 4.0
        np.testing.assert_allclose(m.theta, quad_exact(theta0[e], 4.0), rtol=1e-8, atol=1e-9)
        # checkpoints are states of the same flow
        for t, loss in zip(m.checkpoints.t[1:], m.checkpoints.loss[1:]):
            x = quad_exact(theta0[e], t) - C
            assert loss == pytest.approx(0.5 * x @ A @ x, rel=1e-7, abs=1e-12)


@pytest.mark.parametrize("solver", SOLVERS, ids=lambda s: s.name)
def test_logistic_datum_follows_its_implicit_solution(solver) -> None:
    # w(t) + e^w(t) = t + w0 + e^w0 exactly; w -> infinity like log t, L -> 0
    w0 = np.array([[-1.0], [0.0], [2.0]])
    res = solve_flow(LOGISTIC.np(), w0, t1=1000.0, solver=solver, control=StepControl(rtol=1e-10, atol=1e-12))
    for e, m in enumerate(res.members):
        w = m.theta[0]
        rhs = 1000.0 + w0[e, 0] + math.exp(w0[e, 0])
        assert (w + math.exp(w)) == pytest.approx(rhs, rel=1e-8)
        assert np.all(np.diff(m.checkpoints.loss) < 0)
        if w0[e, 0] >= 0:  # from w0 < 0, |w| first shrinks through 0
            assert np.all(np.diff(m.checkpoints.theta_norm) > 0)


def test_errors_shrink_with_the_tolerance() -> None:
    theta0 = np.array([[3.0, -1.0, 2.0]])
    exact = quad_exact(theta0[0], 2.0)
    for solver in SOLVERS:
        errs = [np.max(np.abs(np.array(solve_flow(QUAD.np(), theta0, t1=2.0, solver=solver, checkpoints=1,
                                                  control=StepControl(rtol=r, atol=r * 1e-2)).members[0].theta)
                              - exact)) for r in (1e-4, 1e-7, 1e-10)]
        assert errs[0] > errs[1] > errs[2] and errs[2] < 1e-8, (solver.name, errs)


def network_problem(ensemble: int = 3):
    return parse_problem(f"""
[network]
widths = [1, 3, 1]
activation = "tanh"
[data]
grid = {{ start = "-1", stop = "1", num = 8 }}
[target]
expr = "x**2"
[init]
scheme = "normal"
seed = 4
ensemble = {ensemble}
""")


@pytest.mark.parametrize("solver", SOLVERS, ids=lambda s: s.name)
def test_network_flow_agrees_with_scipy(solver) -> None:
    p = network_problem()
    land = NpLandscape(p)
    th0 = p.init.thetas(p.network)
    res = solve_flow(land, th0, t1=5.0, solver=solver, control=StepControl(rtol=1e-10, atol=1e-12))
    for e, m in enumerate(res.members):
        ref = scipy.integrate.solve_ivp(lambda t, y: -land.grad(y), (0, 5), th0[e], method="DOP853",
                                        rtol=1e-13, atol=1e-14).y[:, -1]
        np.testing.assert_allclose(m.theta, ref, rtol=1e-7, atol=1e-8)


def test_members_are_independent() -> None:
    p = network_problem(ensemble=4)
    land = NpLandscape(p)
    th0 = p.init.thetas(p.network)
    th0[2] *= 1e6  # a member that overflows / diverges at once
    together = solve_flow(land, th0, t1=3.0, events=Events(radius=1e5))
    assert together.members[2].status is Status.DIVERGED
    for e in (0, 1, 3):
        alone = solve_flow(land, th0[e], t1=3.0, events=Events(radius=1e5)).members[0]
        np.testing.assert_allclose(together.members[e].theta, alone.theta, rtol=1e-12, atol=1e-14)
        assert together.members[e].costs == alone.costs


def test_events() -> None:
    land = QUAD.np()
    st = solve_flow(land, np.zeros(3), t1=1e4, events=Events(gtol=1e-6)).members[0]
    assert st.status is Status.STATIONARY and st.grad_norm <= 1e-6 and st.t < 1e4
    lb = solve_flow(land, np.zeros(3), t1=1e4, events=Events(loss_below=1e-3)).members[0]
    assert lb.status is Status.LOSS_BELOW and lb.loss <= 1e-3
    # the logistic datum crosses |w| = 5 at t* = 5 + e^5 - 0 - 1 (from w0 = 0)
    dv = solve_flow(LOGISTIC.np(), np.zeros(1), t1=1e4, events=Events(radius=5.0)).members[0]
    t_cross = 5 + math.exp(5) - 1
    assert dv.status is Status.DIVERGED and dv.theta[0] >= 5 and t_cross <= dv.t < t_cross * 1.5
    ms = solve_flow(LOGISTIC.np(), np.zeros(1), t1=1e4, control=StepControl(max_steps=3)).members[0]
    assert ms.status is Status.MAX_STEPS and "max_steps" in ms.message and ms.costs.steps + ms.costs.rejected == 3


def test_checkpoints_are_the_log_spaced_times() -> None:
    m = solve_flow(QUAD.np(), np.zeros(3), t1=50.0, checkpoints=10).members[0]
    expected = checkpoint_times(0.0, 50.0, 10)
    np.testing.assert_array_equal(m.checkpoints.t, [0.0, *expected])
    assert np.all(np.diff(m.checkpoints.loss) <= 0)


def test_bad_input() -> None:
    land = QUAD.np()
    for kwargs, field in [({"t1": -1.0}, "t1"), ({"t1": 1.0, "checkpoints": 0}, "checkpoints"),
                          ({"t1": 1.0, "solver": "rk45"}, "solver")]:
        with pytest.raises(InputError, match=field):
            solve_flow(land, np.zeros(3), **kwargs)
    with pytest.raises(InputError, match="theta0"):
        solve_flow(land, np.zeros(4), t1=1.0)
    with pytest.raises(InputError, match="rtol"):
        StepControl(rtol=0.0)


# a flow whose fast direction a stiffens it at first (Hessian eigenvalue 1 + 1000 e^(-c/5)) while c
# runs like a clock (c' ~ 1) and b tracks sin c: stiff for t up to about 15, not stiff after that
SWITCHING = ExprLandscape("(1 + 1000*exp(-c/5))*a**2/2 + (b - sin(c))**2/2 - c", ["a", "b", "c"])


def test_auto_switches_to_rodas4_and_back() -> None:
    land = SWITCHING.np()
    th0 = np.array([1.0, 0.0, 0.0])
    control = StepControl(rtol=1e-9, atol=1e-11)
    auto = solve_flow(land, th0, t1=50.0, control=control).members[0]
    assert auto.extra["switches"] == 2 and auto.extra["last_solver"] == "dop853" and auto.extra["stiff_steps"] > 10
    ref = scipy.integrate.solve_ivp(lambda t, y: -land.grad(y), (0, 50), th0, method="DOP853", rtol=1e-13,
                                    atol=1e-15).y[:, -1]
    np.testing.assert_allclose(auto.theta, ref, rtol=1e-7, atol=1e-8)
    # cheaper than the explicit pair alone (gradient evaluations, a Hessian counted as 2 d of them)
    explicit = solve_flow(land, th0, t1=50.0, solver=Dop853(), control=control).members[0]
    assert auto.costs.n_grad + 6 * auto.costs.n_hess < 0.8 * explicit.costs.n_grad, (auto.costs, explicit.costs)


def test_auto_does_not_switch_where_too_few_explicit_steps_remain() -> None:
    """The switch to Rodas4 needs ``ahead`` explicit steps of the current size left to the horizon:
    with ahead = 1 the stiff phase switches; with more steps than the whole flow could take it never
    does, and the run is Dop853's."""
    land = SWITCHING.np()
    th0 = np.array([1.0, 0.0, 0.0])
    control = StepControl(rtol=1e-9, atol=1e-11)
    eager = solve_flow(land, th0, t1=50.0, solver=Auto(ahead=1), control=control).members[0]
    never = solve_flow(land, th0, t1=50.0, solver=Auto(ahead=10**9), control=control).members[0]
    explicit = solve_flow(land, th0, t1=50.0, solver=Dop853(), control=control).members[0]
    assert eager.extra["switches"] >= 1 and never.extra["switches"] == 0
    np.testing.assert_allclose(never.theta, explicit.theta, rtol=1e-12, atol=1e-14)
    with pytest.raises(InputError, match="ahead"):
        Auto(ahead=0)


def test_auto_turns_stiff_on_a_slow_drift() -> None:
    p = parse_problem("""
[network]
widths = [1, 1, 1]
activation = "tanh"
[data]
grid = { start = "-1", stop = "1", num = 5 }
[target]
expr = "x"
[init]
theta = ["1", "0", "1", "0"]
""")
    land = NpLandscape(p)
    th0 = p.init.thetas(p.network)
    control = StepControl(rtol=1e-9, atol=1e-11)
    auto = solve_flow(land, th0, t1=1e4, control=control).members[0]
    stiff = solve_flow(land, th0, t1=1e4, solver="rodas4", control=control).members[0]
    assert auto.extra["last_solver"] == "rodas4" and auto.extra["switches"] == 1
    assert auto.costs.steps < 1.2 * stiff.costs.steps
    np.testing.assert_allclose(auto.theta, stiff.theta, rtol=1e-6, atol=1e-9)


def test_solver_names() -> None:
    land = QUAD.np()
    for name in ("auto", "dop853", "dopri5", "rodas4"):
        res = solve_flow(land, np.zeros(3), t1=1.0, solver=name)
        assert res.solver.startswith(name) and res.members[0].status is Status.T1_REACHED
    with pytest.raises(InputError, match="to_stiff"):
        Auto(to_stiff=0)
    with pytest.raises(InputError, match="explicit"):
        Auto(explicit=Rodas4())  # type: ignore[arg-type]


def test_until_stops_members_at_a_checkpoint_and_max_seconds_at_once() -> None:
    land = QUAD.np()
    theta0 = np.array([[0.0, 0.0, 0.0], [3.0, -1.0, 2.0]])
    seen: list[tuple[int, float]] = []

    def until(e: int, traj) -> bool:
        seen.append((e, traj.t))
        assert traj.status is Status.STOPPED and traj.checkpoints.t[-1] == traj.t
        return e == 1 and traj.t >= 1.0

    times = [0.5, 1.0, 2.0, 4.0]
    res = solve_flow(land, theta0, t1=4.0, checkpoints=times, until=until)
    a, b = res.members
    assert a.status is Status.T1_REACHED and list(a.checkpoints.t) == [0.0, *times]
    assert b.status is Status.STOPPED and b.t == 1.0 and list(b.checkpoints.t) == [0.0, 0.5, 1.0]
    np.testing.assert_allclose(b.theta, quad_exact(theta0[1], 1.0), rtol=1e-7, atol=1e-9)
    assert (1, 2.0) not in seen and (0, 2.0) in seen and all(t < 4.0 for _, t in seen)
    late = solve_flow(land, theta0, t1=4.0, max_seconds=1e-9).members
    assert all(m.status is Status.OUT_OF_TIME and m.t < 4.0 for m in late)
    for bad in ([2.0, 1.0], [0.0, 1.0], [5.0]):
        with pytest.raises(InputError, match="checkpoints"):
            solve_flow(land, theta0, t1=4.0, checkpoints=bad)
    with pytest.raises(InputError, match="max_seconds"):
        solve_flow(land, theta0, t1=4.0, max_seconds=0)
