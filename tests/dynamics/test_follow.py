"""Flows followed until decided (``follow_flow``), on landscapes whose fate is known in closed form."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import pytest

from verify import Budget, ExprLandscape, InputError, MpLandscape, NpLandscape, follow_flow, load_problem, parse_problem
from verify.cli import main
from verify.dynamics.follow import decision_times
from verify.dynamics.trajectory import Events, Status, StepControl

from ..conftest import EXAMPLES

LOGISTIC = ExprLandscape("log(1 + exp(-w))", ["w"])               # w + e^w = t + const: w ~ ln t, L -> 0
QUAD = ExprLandscape("(3*(a-1)**2 + 2*(a-1)*(b+2) + 2*(b+2)**2)/2", ["a", "b"])   # minimum (1, -2), value 0
# the x-axis is invariant: from (0, 1) the flow converges to the saddle (0, 0) (index 1: x^3 - x)
SADDLE = ExprLandscape("(x**2 - 1)**2/4 + y**2/2", ["x", "y"])
# minimum 0 at w = 0, maxima 1/2 at w = +-1, L -> 0 as |w| -> infinity: |w0| < 1 converges, |w0| > 1 diverges
BUMP = ExprLandscape("w**2/(1 + w**4)", ["w"])


def test_logistic_datum_is_decided_diverging() -> None:
    res = follow_flow(LOGISTIC.np(), [0.0], budget=Budget(seconds=60))
    m = res.members[0]
    assert m.decided and m.outcome.kind == "diverging" and m.why_stopped == "decided", m.outcome.reason
    assert m.trajectory.status is Status.STOPPED and m.trajectory.t == m.decided_at
    # three disjoint decades showed the signature: decided at t >= 1000
    kinds = [s["kind"] for s in m.segments]
    assert m.decided_at >= 1000 and kinds[-3:] == ["diverging"] * 3
    # the closed form: w(t) + e^w(t) = t + 1 at the decision
    w = m.trajectory.theta[0]
    assert w + math.exp(w) == pytest.approx(m.decided_at + 1, rel=1e-6)
    g = m.outcome.growth
    assert g["better"] == "log" and g["log"]["b"] == pytest.approx(1.0, abs=0.05)
    # L ~ 1/t -> 0: the fitted limit is 0 within its error bar, the fitted rate about 1
    fit = m.outcome.loss_fit
    assert fit["model"] == "power" and fit["rate"] == pytest.approx(1.0, abs=0.05)
    assert abs(m.outcome.loss_limit) <= m.outcome.loss_limit_error < m.trajectory.loss
    assert m.outcome.escape_radius is None and "escape_radius" in m.outcome.to_json()


def test_the_last_decade_at_the_flow_time_budget_counts() -> None:
    # the logistic datum shows the signature on the decades ending at 1e4, 1e5, 1e6 (from 10: a
    # start far out); with t_max = 1e6 the third look is the end of the run, and it counts
    first = follow_flow(LOGISTIC.np(), [0.0], budget=Budget(seconds=60)).members[0]
    t_dec = float(first.decided_at)
    res = follow_flow(LOGISTIC.np(), [0.0], budget=Budget(seconds=60, t_max=t_dec)).members[0]
    assert res.decided and res.outcome.kind == "diverging", res.outcome.reason
    assert res.decided_at == pytest.approx(t_dec)


def test_minimum_is_decided_at_the_first_look_and_refined() -> None:
    m = follow_flow(QUAD.np(), [3.0, -1.0], budget=Budget(seconds=60)).members[0]
    assert m.decided and m.outcome.kind == "converged" and m.outcome.point_kind == "minimum", m.outcome.reason
    assert m.decided_at == 10.0
    np.testing.assert_allclose(m.outcome.limit, [1.0, -2.0], atol=1e-12)


def test_saddle_on_an_invariant_line_is_decided_after_a_second_look() -> None:
    m = follow_flow(SADDLE.np(), [0.0, 1.0], budget=Budget(seconds=60), events=Events(gtol=1e-300)).members[0]
    assert m.decided and m.outcome.kind == "converged" and m.outcome.point_kind == "saddle", m.outcome.reason
    # at t = 10 |theta| = e^-10 still moves; at t = 100 and 1000 the flow sits at the saddle
    assert m.outcome.index == 1 and m.decided_at == 1000.0
    assert [s["kind"] for s in m.segments] == ["undecided", "converged", "converged"]
    np.testing.assert_allclose(m.outcome.limit, [0.0, 0.0], atol=1e-12)


def test_members_are_decided_independently() -> None:
    land = BUMP.np()
    res = follow_flow(land, np.array([[0.5], [2.0], [-3.0]]), budget=Budget(seconds=60))
    kinds = [m.outcome.kind for m in res.members]
    assert kinds == ["converged", "diverging", "diverging"] and res.decided == 3
    assert res.members[0].outcome.point_kind == "minimum" and abs(res.members[0].outcome.limit[0]) < 1e-12
    assert res.members[1].trajectory.theta[0] > 2 and res.members[2].trajectory.theta[0] < -3
    alone = follow_flow(land, [2.0], budget=Budget(seconds=60)).members[0]
    assert alone.decided_at == res.members[1].decided_at
    np.testing.assert_allclose(alone.trajectory.theta, res.members[1].trajectory.theta, rtol=1e-12)


def test_budgets_name_what_ran_out() -> None:
    land = LOGISTIC.np()
    short = follow_flow(land, [0.0], budget=Budget(seconds=60, t_max=50.0)).members[0]
    assert not short.decided and short.outcome.kind == "undecided" and "flow time budget" in short.why_stopped
    assert short.trajectory.t == 50.0 and short.outcome.reason.startswith("flow time budget")
    steps = follow_flow(land, [0.0], budget=Budget(seconds=60, max_steps=20)).members[0]
    assert not steps.decided and "step budget" in steps.why_stopped
    assert steps.trajectory.status is Status.MAX_STEPS
    wall = follow_flow(land, [0.0], budget=Budget(seconds=1e-9)).members[0]
    assert not wall.decided and "wall time budget" in wall.why_stopped
    assert wall.trajectory.status is Status.OUT_OF_TIME


def test_the_issues_sad_problem_is_decided() -> None:
    # issue 15: a 1-3-1 softplus network, 20 grid points on [-1, 1], target x^2, normal initialization.
    # At t = 1e6 the loss is ~5e-8 after a dip of |theta| (3.66 -> 3.65) and |theta| accelerates again
    # (undecided there); followed further, the decades from 1e7 on show the signature.
    p = parse_problem("""
[network]
widths = [1, 3, 1]
activation = "softplus"
[data]
grid = { start = "-1", stop = "1", num = 20 }
[target]
expr = "x**2"
[init]
scheme = "normal"
seed = 0
""")
    m = follow_flow(NpLandscape(p), p.init.thetas(p.network)[0], budget=Budget(seconds=300)).members[0]
    assert m.decided and m.outcome.kind == "diverging", m.outcome.reason
    ck = m.trajectory.checkpoints
    tn = np.array(ck.theta_norm)
    dips = np.flatnonzero(np.diff(tn) < 0)
    assert dips.size and ck.t[dips[-1]] > 10      # the transient dip is in the record, and did not stop it
    assert m.outcome.loss_limit is not None and abs(m.outcome.loss_limit) <= m.outcome.loss_limit_error
    assert m.outcome.criticality_exponent < 0


def test_mp_tier() -> None:
    m = follow_flow(LOGISTIC.mp(20), ["0"], budget=Budget(seconds=120)).members[0]
    assert m.decided and m.outcome.kind == "diverging" and m.trajectory.tier == "mp", m.outcome.reason
    assert abs(m.outcome.loss_limit) <= m.outcome.loss_limit_error
    q = follow_flow(QUAD.mp(25), ["3", "-1"], budget=Budget(seconds=120)).members[0]
    assert q.decided and q.outcome.kind == "converged" and q.outcome.point_kind == "minimum"
    assert abs(q.outcome.limit[0] - 1) < 1e-22 and abs(q.outcome.limit[1] + 2) < 1e-22


def test_decision_times_and_bad_input() -> None:
    assert decision_times(10.0, 1e4) == [10.0, 100.0, 1000.0, 1e4]
    assert decision_times(3.0, 50.0) == [10.0, 50.0]
    for kwargs, field in [({"seconds": 0}, "budget.seconds"), ({"t_max": -1.0}, "budget.t_max"),
                          ({"max_steps": 0}, "budget.max_steps")]:
        with pytest.raises(InputError) as info:
            Budget(**kwargs)
        assert info.value.field == field
    with pytest.raises(InputError, match="budget"):
        follow_flow(QUAD.np(), [0.0, 0.0], budget=60)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="per_decade"):
        follow_flow(QUAD.np(), [0.0, 0.0], per_decade=1)
    m = follow_flow(QUAD.np(), [3.0, -1.0], control=StepControl(rtol=1e-10, atol=1e-12)).members[0]
    assert m.decided


def test_cli_until_decided(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flow", str(EXAMPLES / "drift-1-1-1.toml"), "--until-decided", "--budget", "60", "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["until_decided"] and obj["decided"] == 1
    [m] = obj["members"]
    assert m["decided"] and m["outcome"]["kind"] == "diverging" and m["status"] == "stopped"
    assert m["why_stopped"] == "decided" and m["decided_at"] == m["t"] and len(m["segments"]) >= 2
    # the certified escape radius of the diverging flow: L at the final state is below l(R)
    esc = m["outcome"]["escape_radius"]
    assert esc["radius"] is not None and "never enters the ball" in esc["statement"]
    R = float(Fraction(esc["radius"]))
    assert 0 < R < float(np.linalg.norm(m["theta"]))
    # an oracle the bound did not compute: the loss (mpmath, 30 digits) at points of the ball
    prob = load_problem(EXAMPLES / "drift-1-1-1.toml")
    land = MpLandscape(prob, dps=30)
    loss_end = land.loss([Fraction(v) for v in m["theta"]])
    rng = np.random.default_rng(0)
    for _ in range(200):
        u = rng.normal(size=4)
        phi = u / np.linalg.norm(u) * R * rng.uniform() ** 0.25
        assert land.loss([Fraction(float(v)) for v in phi]) > loss_end
    assert main(["flow", str(EXAMPLES / "drift-1-1-1.toml"), "--until-decided", "--t1", "20"]) == 0
    text = capsys.readouterr().out
    assert "not decided (flow time budget" in text and "undecided" in text
    assert main(["flow", str(EXAMPLES / "drift-1-1-1.toml"), "--until-decided", "--budget", "0"]) == 2
    assert "--budget" in capsys.readouterr().err


def test_an_undecided_flow_says_what_it_saw_on_the_way() -> None:
    # from w = 0 the logistic datum shows the signature on the decades ending at 100, 1000 and 1e4 (decided
    # there): stopped at t = 1000 it is undecided, and the reason lists the looks that had the signature
    m = follow_flow(LOGISTIC.np(), [0.0], budget=Budget(seconds=60, t_max=1e3)).members[0]
    assert not m.decided, m.outcome.reason
    div = [s["t"] for s in m.segments if s["kind"] == "diverging"]
    assert div == [100.0, 1000.0], m.segments
    assert "on the way: the divergence signature at t = " + ", ".join(f"{t:.3g}" for t in div) in m.outcome.reason
    assert "3 consecutive decades" in m.outcome.reason
