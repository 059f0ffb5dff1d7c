"""Tiers (one experiment at every precision) and the engine's confirmation of the same experiment.

Oracles: closed forms (GD on a quadratic: w_k = (1 - eta a)^k w_0 exactly; the logistic datum's
flow w + e^w = t + w_0 + e^{w_0}), the float64 tier against the mp tier, exact rationals, and
the engine's own records (which candidate it tried, and why each failed).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import mpmath
import pytest
import sympy
from hypothesis import strategies as st

from verify import Claim, ExprLandscape, InputError, Instance, Judgement, Profile, Tier, Verdict, check, load_problem
from verify import strategies as vst
from verify.dynamics.trajectory import Events, Status

from ..conftest import EXAMPLES


def test_numbers_enter_exactly_and_round_once() -> None:
    mp = Tier.mp(50)
    third = mp.vector(["1/3", Fraction(2, 3), 1])
    assert third[0] == mp.ctx.mpf(1) / 3 and third[1] == mp.ctx.mpf(2) / 3
    assert Tier.float64().vector(["0.1"])[0] == 0.1
    assert Tier.exact().vector(["0.1", "1/3"]) == (Fraction(1, 10), Fraction(1, 3))
    assert mp.exact_of(mp.num("0.5")) == Fraction(1, 2)
    assert str(mp) == "50 digits" and str(Tier.float64()) == "float64" and str(Tier.exact()) == "exact"
    with pytest.raises(InputError):
        Tier.mp(3)
    with pytest.raises(InputError):
        Tier("float64", 30)


def test_tolerances_scale_with_the_digits() -> None:
    # 1e-8 is eps64^a with a = log(1e-8) / log(2^-52) = 0.5115...; at 30 digits: 10^(-30 a)
    a = math.log(1e-8) / math.log(2.0 ** -52)
    assert float(Tier.mp(30).tol(1e-8)) == pytest.approx(10 ** (-30 * a), rel=1e-12)
    assert float(Tier.mp(60).tol(1e-8)) == pytest.approx(10 ** (-60 * a), rel=1e-12)
    assert Tier.float64().tol(1e-8) == 1e-8
    assert Tier.exact().tol(0.5) == Fraction(1, 2)
    assert float(Tier.mp(30).eps) == pytest.approx(1e-30)


def test_the_landscape_of_every_tier_agrees() -> None:
    problem = load_problem(EXAMPLES / "tanh-1-2-1.toml")
    theta = problem.initial_exact(0)
    values = {t.name: t.landscape(problem).loss(t.vector(theta) if t.is_float64 else list(theta))
              for t in (Tier.float64(), Tier.mp(40))}
    exact = Tier.exact().landscape(problem).loss(list(theta))
    assert abs(float(values["40 digits"]) - float(exact)) < 1e-30
    assert float(values["float64"]) == pytest.approx(float(exact), rel=1e-14)


@pytest.mark.parametrize("tier", [Tier.float64(), Tier.mp(30)], ids=str)
def test_descent_matches_the_closed_form(tier: Tier) -> None:
    # L = a w^2 / 2: w_k = (1 - eta a)^k w0 exactly
    land = tier.landscape(ExprLandscape("(3/2)*w**2", ["w"]))
    traj = tier.descent(land, ["1/2"], step_size="1/10", steps=40, events=Events(gtol=1e-300))
    exact = Fraction(1, 2) * (1 - Fraction(1, 10) * 3) ** 40
    assert traj.status is Status.T1_REACHED and traj.t == 40
    tol = 1e-15 if tier.is_float64 else 1e-28
    assert abs(tier.exact_of(traj.theta[0]) - exact) <= tol * abs(exact) * 40
    assert traj.checkpoints.t[0] == 0 and traj.checkpoints.t[-1] == 40


def test_descent_events_are_the_same_in_every_tier() -> None:
    runs = {}
    for tier in (Tier.float64(), Tier.mp(30)):
        land = tier.landscape(ExprLandscape("w**2", ["w"]))
        runs[tier.name] = tier.descent(land, ["1"], step_size="3/2", steps=200, events=Events(radius=1e6))
    # eta > 1: w_k = (-2)^k diverges; both tiers stop at the same step
    assert runs["float64"].status is Status.DIVERGED and runs["30 digits"].status is Status.DIVERGED
    assert runs["float64"].t == runs["30 digits"].t == 20


@pytest.mark.parametrize("tier", [Tier.float64(), Tier.mp(25)], ids=str)
def test_flow_matches_the_logistic_closed_form(tier: Tier) -> None:
    land = tier.landscape(ExprLandscape("log(1 + exp(-w))", ["w"]))
    traj = tier.flow(land, ["0"], t1=50.0, checkpoints=8)
    w = mpmath.findroot(lambda v: v + mpmath.exp(v) - (50 + 0 + 1), 3.9)
    assert abs(float(traj.theta[0]) - float(w)) < (1e-8 if tier.is_float64 else 1e-18)
    assert str(tier.classify(land, traj).kind) in ("diverging", "undecided")


# -------------------------------------------------------------------------------------------
# the engine: one experiment at every precision, several candidates, restarts
# -------------------------------------------------------------------------------------------

class QuadraticStepDecreases(Claim):
    """False for eta a > 2: one GD step on a w^2 / 2 increases the loss. Stated once."""

    id = "quadratic_step_decreases"
    title = "one GD step does not increase a w^2 / 2"
    exact = True

    def instances(self, profile: Profile) -> Any:
        a = vst.rationals(min_value=Fraction(1, 2), max_value=4, max_denominator=4)
        w = vst.rationals(min_value=-2, max_value=2, max_denominator=4)
        return st.builds(lambda a, w: Instance(ExprLandscape(f"({a})*w**2/2", ["w"]), (w,),
                                               {"step_size": Fraction(3, 4)}), a, w)

    def experiment(self, instance: Instance, profile: Profile, tier: Tier) -> Judgement:
        land = tier.landscape(instance.source)
        w = tier.vector(instance.theta0)
        eta = tier.num(instance.param("step_size"))
        after = tier.axpy(-eta, land.grad(w), w)
        margin = land.loss(w) - land.loss(after)
        return Judgement(margin, f"L(w0) - L(w1) = {tier.text(margin)} ({tier})")


def test_a_claim_stated_once_is_confirmed_by_the_same_experiment_exactly(tmp_path) -> None:
    result = check(QuadraticStepDecreases(), profile="ci", out_dir=tmp_path)
    assert result.verdict is Verdict.COUNTEREXAMPLE, result.reason
    cx = result.counterexample
    assert cx is not None and [d for d, _ in cx.confirmations] == [0]     # exact: once
    margin = cx.confirmations[0][1].margin
    assert isinstance(margin, Fraction) and margin < 0
    src = cx.instance.source
    a = 2 * Fraction(str(sympy.Poly(src.expr, *src.symbols).coeffs()[0]))
    assert a * Fraction(3, 4) > 2                    # the closed form: a violation iff eta a > 2
    assert "in exact arithmetic" in result.reason


class NoiseThenReal(Claim):
    """False, but the shrunk candidate (w = 0, where float64 rounding fakes a violation) does not
    confirm; the real violations (w >= 3) do. The engine must go on to them."""

    id = "noise_then_real"
    title = "w <= 2 + (float noise)"

    def instances(self, profile: Profile) -> Any:
        return st.builds(lambda w: Instance(ExprLandscape("w**2", ["w"]), (w,)), st.integers(0, 6))

    def experiment(self, instance: Instance, profile: Profile, tier: Tier) -> Judgement:
        w = tier.num(instance.theta0[0])
        if w == 0:
            noise = tier.num("0.3") - (tier.num("0.1") + tier.num("0.2"))   # < 0 in float64 only
            return Judgement(noise, f"noise {tier.text(noise)}")
        return Judgement(2 - w, f"2 - w = {tier.text(2 - w)}")


def test_the_engine_tries_other_violations_when_the_shrunk_one_does_not_confirm(tmp_path) -> None:
    result = check(NoiseThenReal(), profile="ci", out_dir=tmp_path)
    assert result.verdict is Verdict.COUNTEREXAMPLE, result.reason
    cx = result.counterexample
    assert cx is not None and cx.instance.theta0[0] >= 3
    attempts = cx.attempts
    assert len(attempts) >= 2 and not attempts[0]["confirmed"] and attempts[-1]["confirmed"]
    assert attempts[0]["instance"]["theta0"] == ["0"] and "did not survive" in attempts[0]["why"]
    assert "the shrunk candidate was not" in result.reason


class RestartOnly(Claim):
    """A restartable claim whose mp experiment cannot decide from the original start (too
    expensive, say) but can from the late state the float64 run reports."""

    id = "restart_only"
    title = "a planted restart"
    restartable = True

    def instances(self, profile: Profile) -> Any:
        return st.just(Instance(ExprLandscape("w**2", ["w"]), ("1",)))

    def experiment(self, instance: Instance, profile: Profile, tier: Tier) -> Judgement:
        late = instance.theta0 == (Fraction(1, 8),)
        if not tier.is_float64 and not late:
            return Judgement(None, "undecided: the full experiment is out of reach at this precision")
        return Judgement(tier.num(-1), "violated", restart=(Fraction(1, 8),), restart_note="the state at t = 5")


def test_a_restartable_claim_is_confirmed_from_the_late_state(tmp_path) -> None:
    result = check(RestartOnly(), profile="quick", out_dir=tmp_path)
    assert result.verdict is Verdict.COUNTEREXAMPLE, result.reason
    cx = result.counterexample
    assert cx is not None and cx.instance.theta0 == (Fraction(1, 8),)
    assert "restarted from the state at t = 5" in cx.note and "quantifies over all starts" in result.reason
    assert [a["confirmed"] for a in cx.attempts] == [False, True]


def test_without_restartable_the_late_state_is_not_used(tmp_path) -> None:
    class NotRestartable(RestartOnly):
        restartable = False

    result = check(NotRestartable(), profile="quick", out_dir=tmp_path)
    assert result.verdict is Verdict.INCONCLUSIVE and result.counterexample is not None
    assert len(result.counterexample.attempts) == 1


def test_a_claim_without_experiment_or_judge_is_reported() -> None:
    class Empty(Claim):
        def instances(self, profile: Profile) -> Any:
            return st.just(Instance(ExprLandscape("w**2", ["w"]), ("1",)))

    result = check(Empty(), profile="quick")
    assert result.verdict is Verdict.INCONCLUSIVE and "neither experiment() nor judge()" in result.reason
