"""Planted claims for testing the search: false ones it must refute, true ones it must not.

Each false claim is refuted by a known instance (the logistic datum, a sharp quadratic, a
tilted double well); the search has to find such an instance on its own, shrink it and
confirm it at higher precision. The true claims are theorems with one-line proofs; the
search must never report a counterexample to them.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import mpmath
import numpy as np
from hypothesis import strategies as st

from verify import (
    Claim,
    ExprLandscape,
    Instance,
    Judgement,
    NpLandscape,
    Profile,
    classify,
    landscape,
    solve_flow,
    solve_flow_mp,
)
from verify import strategies as vst
from verify.dynamics.trajectory import Events

FLOW_T1 = 10_000


def _flow_margin(outcome: Any) -> tuple[Any, str]:
    if outcome.kind == "converged":
        return 1.0, f"converged to a {outcome.point_kind}"
    if outcome.kind == "diverging":
        return -1.0, "diverging: |theta| grows without bound"
    return None, f"undecided: {outcome.reason}"


# ---------------------------------------------------------------------------------------
# False claims
# ---------------------------------------------------------------------------------------

class EveryFlowConverges(Claim):
    """False: the logistic datum's flow diverges (case (b) of the dichotomy)."""

    id = "every_flow_converges"
    title = "Every gradient flow converges to a critical point"
    statement = (r"For every smooth loss $L$ and every $\theta_0$, $\theta(t) \to \theta^*$ with "
                 r"$\nabla L(\theta^*) = 0$.")
    source = "planted (false: the logistic datum of Kranz et al. 2025)"
    method = "flow to t = 1e4 (float64 Dop853; mp at dps), then verify.classify"

    def instances(self, profile: Profile) -> Any:
        a = vst.rationals(min_value=Fraction(1, 2), max_value=3, max_denominator=4)
        w0 = vst.rationals(min_value=-2, max_value=2, max_denominator=4)
        quadratic = st.builds(lambda a, c: ExprLandscape(f"{a}*(w - ({c}))**2", ["w"], name="quadratic"), a, w0)
        logistic = st.builds(lambda a: ExprLandscape(f"log(1 + exp(-{a}*w))", ["w"], name="logistic"), a)
        return st.builds(lambda land, w: Instance(land, (w,)), st.one_of(quadratic, logistic), w0)

    def judge(self, instance: Instance, profile: Profile) -> Judgement:
        land = instance.source.np()
        traj = solve_flow(land, np.array([float(v) for v in instance.theta0]), t1=FLOW_T1).members[0]
        margin, summary = _flow_margin(classify(land, traj))
        return Judgement(margin, summary, {"outcome": summary.split(":")[0]})

    def confirm(self, instance: Instance, profile: Profile, dps: int) -> Judgement:
        land = instance.source.mp(dps)
        traj = solve_flow_mp(land, list(instance.theta0), t1=FLOW_T1, events=Events(gtol=1e-300))
        margin, summary = _flow_margin(classify(land, traj))
        return Judgement(margin, summary)


class GdDecreasesBelowOne(Claim):
    """False: on linear regression with large inputs (a sharp quadratic) GD overshoots."""

    id = "gd_decreases_below_one"
    title = "A GD step with step size below 1 never increases the loss"
    statement = r"$L(\theta - \eta \nabla L(\theta)) \le L(\theta)$ for all $\theta$ and $0 < \eta < 1$."
    source = "planted (false on a sharp quadratic)"
    method = "one GD step in float64; confirmed in exact rational arithmetic (SymPy)"

    def instances(self, profile: Profile) -> Any:
        net = vst.networks(min_depth=0, max_depth=0, activation=st.just("identity"), biases=st.just(True))
        problem = vst.problems(network=net, max_size=3, max_degree=1)
        return vst.instances(problem=problem, step_size=vst.step_sizes(max_value=Fraction(99, 100)))

    def _margin(self, land: Any, theta: Any, eta: Any) -> Any:
        g = land.grad(theta)
        return land.loss(theta) - land.loss([t - eta * gi for t, gi in zip(theta, g)])

    def judge(self, instance: Instance, profile: Profile) -> Judgement:
        land = NpLandscape(instance.source)
        theta = np.array([float(v) for v in instance.theta0])
        margin = float(self._margin(land, theta, float(instance.param("step_size"))))
        return Judgement(margin, f"L(theta0) - L(theta1) = {margin:.6g}")

    def confirm(self, instance: Instance, profile: Profile, dps: int) -> Judgement:
        exact = landscape(instance.source, tier="exact")
        margin = self._margin(exact, list(instance.theta0), instance.param("step_size"))
        return Judgement(Fraction(str(margin)), f"L(theta0) - L(theta1) = {margin} exactly")


class FlowLimitIsInfimum(Claim):
    """False: a flow can end in a non-global minimum of a tilted double well."""

    id = "flow_limit_is_infimum"
    title = "The limit loss of a gradient flow is the infimum of the loss"
    statement = r"$\lim_{t\to\infty} L(\theta(t)) = \inf L$."
    source = "planted (false: non-global minima)"
    method = "flow to t = 100; infimum from the roots of L' (numpy / mpmath.polyroots)"

    def instances(self, profile: Profile) -> Any:
        c = vst.rationals(min_value=Fraction(1, 8), max_value=1, max_denominator=8)
        w0 = vst.rationals(min_value=-2, max_value=2, max_denominator=8)
        return st.builds(lambda c, w: Instance(ExprLandscape(f"(w**2 - 1)**2 + ({c})*w", ["w"], name="tilted"),
                                               (w,), {"c": c}), c, w0)

    def judge(self, instance: Instance, profile: Profile) -> Judgement:
        c = float(instance.param("c"))
        land = instance.source.np()
        traj = solve_flow(land, np.array([float(instance.theta0[0])]), t1=100.0).members[0]
        roots = [r.real for r in np.roots([4.0, 0.0, -4.0, c]) if abs(r.imag) < 1e-12]
        inf = min(float(land.loss(np.array([r]))) for r in roots)
        margin = inf + 1e-8 - float(traj.loss)
        return Judgement(margin, f"limit loss {float(traj.loss):.6g}, infimum {inf:.6g}")

    def confirm(self, instance: Instance, profile: Profile, dps: int) -> Judgement:
        land = instance.source.mp(dps)
        ctx = land.ctx
        c = instance.param("c")
        traj = solve_flow_mp(land, list(instance.theta0), t1=100)
        roots = ctx.polyroots([4, 0, -4, ctx.mpf(c.numerator) / c.denominator])
        inf = min(land.loss([ctx.re(r)]) for r in roots if abs(ctx.im(r)) < ctx.mpf(10) ** (-dps // 2))
        margin = inf + ctx.mpf(10) ** (-dps // 2) - traj.loss
        return Judgement(margin, f"limit loss {mpmath.nstr(traj.loss, 12)}, infimum {mpmath.nstr(inf, 12)}")


class FloatNoise(Claim):
    """True, but its float64 judge is wrong: 0.3 - (0.1 + 0.2) < 0 in binary floating point."""

    id = "float_noise"
    title = "3/10 >= 1/10 + 2/10"
    statement = r"$\frac{3}{10} - (\frac{1}{10} + \frac{2}{10}) \ge 0$."
    source = "planted (true; the float64 judgement is rounding noise)"

    def instances(self, profile: Profile) -> Any:
        return st.just(Instance(ExprLandscape("w**2", ["w"]), ("0",)))

    def judge(self, instance: Instance, profile: Profile) -> Judgement:
        m = 0.3 - (0.1 + 0.2)
        return Judgement(m, f"0.3 - (0.1 + 0.2) = {m!r} in float64")

    def confirm(self, instance: Instance, profile: Profile, dps: int) -> Judgement:
        m = Fraction(3, 10) - (Fraction(1, 10) + Fraction(2, 10))
        return Judgement(m, f"= {m} exactly")


# ---------------------------------------------------------------------------------------
# True claims
# ---------------------------------------------------------------------------------------

class GdDecreasesBelowTwoOverCurvature(Claim):
    """True: L(w - eta a w) = (1 - eta a)^2 L(w) <= L(w) for 0 < eta <= 2 / a."""

    id = "gd_decreases_below_two_over_curvature"
    title = "On a quadratic a w^2 / 2, a GD step with eta < 2 / a does not increase the loss"
    statement = r"$L(w - \eta a w) \le L(w)$ for $L = a w^2 / 2$, $0 < \eta < 2/a$."
    source = "planted (true)"
    hypotheses = ("a > 0", "0 < step_size < 2 / a")
    method = "one GD step in float64; confirmed exactly"

    def instances(self, profile: Profile) -> Any:
        a = vst.rationals(min_value=Fraction(1, 4), max_value=16, max_denominator=8)
        u = vst.rationals(min_value=Fraction(1, 100), max_value=Fraction(99, 100), max_denominator=100)
        w0 = vst.rationals(min_value=-4, max_value=4, max_denominator=8)
        return st.builds(lambda a, u, w: Instance(ExprLandscape(f"({a})*w**2/2", ["w"], name="quadratic"), (w,),
                                                  {"a": a, "step_size": 2 * u / a}), a, u, w0)

    def check_hypotheses(self, instance: Instance) -> str | None:
        a, eta = instance.param("a"), instance.param("step_size")
        if a <= 0:
            return f"a = {a} is not positive"
        if not 0 < eta < 2 / a:
            return f"step_size = {eta} is not in (0, 2/a) = (0, {2 / a})"
        return None

    def judge(self, instance: Instance, profile: Profile) -> Judgement:
        a, eta, w = (float(v) for v in (instance.param("a"), instance.param("step_size"), instance.theta0[0]))
        m = a * w * w / 2 - a * (w - eta * a * w) ** 2 / 2
        return Judgement(m, f"L(w0) - L(w1) = {m:.6g}")

    def confirm(self, instance: Instance, profile: Profile, dps: int) -> Judgement:
        a, eta, w = instance.param("a"), instance.param("step_size"), instance.theta0[0]
        m = a * w * w / 2 - a * (w - eta * a * w) ** 2 / 2
        return Judgement(m, f"L(w0) - L(w1) = {m} exactly")


class QuadraticFlowsConverge(Claim):
    """True: the flow of a positive definite quadratic converges to its minimizer."""

    id = "quadratic_flows_converge"
    title = "Gradient flows of a (w - c)^2 converge to a critical point"
    statement = r"$\theta(t) \to c$ for $L = a (w - c)^2$, $a > 0$."
    source = "planted (true)"
    method = "flow to t = 1e4, then verify.classify"

    def instances(self, profile: Profile) -> Any:
        return EveryFlowConverges().instances(profile).filter(lambda inst: inst.source.name == "quadratic")

    judge = EveryFlowConverges.judge
    confirm = EveryFlowConverges.confirm
