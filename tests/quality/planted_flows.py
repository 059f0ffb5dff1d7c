"""Planted false variants of the three SAD flow claims (Theorem 2.8, 2.8(v), Corollary 3.6).

Each reuses its theorem module's experiment and margin (``Claim.experiment``: the flow followed
until decided, in float64 to search and at 30 and 60 digits to confirm) and changes one thing a
user could plausibly get wrong: a hypothesis dropped or the conclusion strengthened. Each is
false, and the engine must refute it under ``ci`` with a counterexample confirmed at higher
precision by the same experiment. If a module's margin is weakened (a diverging flow scored 1
whatever its |theta| |grad L| does, a converged flow's positive loss ignored, the threshold
margin clipped at 0), its test here fails.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from hypothesis import strategies as st

from theorems import _sad
from theorems.flow_converges_or_diverges import FlowConvergesOrDiverges
from theorems.good_initialization_flow_diverges import GoodInitializationFlowDiverges
from theorems.loss_threshold_attracts_to_infimum import LossThresholdAttractsToInfimum
from verify import ExprLandscape, Instance, Profile, Tier
from verify import strategies as vst

#: C^1 and definable, but not bounded below: Theorem 2.8 is about losses >= 0
UNBOUNDED = (("x**2 - y", ("x", "y")), ("log(1 + exp(-w)) - w/4", ("w",)), ("(x*y - 1)**2 - y/8", ("x", "y")))


class DichotomyWithoutLowerBound(FlowConvergesOrDiverges):
    """False: without a lower bound a flow can run off to infinity with |grad L| bounded away from
    0 (L = x^2 - y: y' = 1), so |theta| |grad L| grows and the loss has no finite limit."""

    id = "dichotomy_without_lower_bound"
    title = "Every flow of a C^1 definable function converges or becomes asymptotically critical"
    source = "planted (false: the losses of Theorem 2.8 are bounded below; the hypothesis is dropped)"
    hypotheses = ("C^1 definable loss (bounded below or not)",)

    def instances(self, profile: Profile) -> Any:
        start = vst.rationals(min_value=-2, max_value=2, max_denominator=4)

        def build(k: int, a: Fraction, b: Fraction) -> Instance:
            expr, names = UNBOUNDED[k]
            return Instance(ExprLandscape(expr, list(names), name=f"unbounded-{k}"), (a, b)[:len(names)])

        return st.builds(build, st.integers(0, len(UNBOUNDED) - 1), start, start)


class EveryFlowConverges(FlowConvergesOrDiverges):
    """False: case (b) of the dichotomy happens (the logistic datum ln(1 + e^-w): w ~ ln t)."""

    id = "every_flow_converges"
    title = "Every gradient flow of a SAD landscape converges to a critical point"
    source = "planted (false: case (b) of Theorem 2.8 is dropped)"

    def instances(self, profile: Profile) -> Any:
        w0 = vst.rationals(min_value=-2, max_value=2, max_denominator=4)
        logistic = st.builds(lambda w: Instance(ExprLandscape("log(1 + exp(-w))", ["w"], name="logistic-datum"),
                                                (w,)), w0)
        saddle = st.builds(lambda x, y: Instance(ExprLandscape("(x*y - 1)**2 + y**2", ["x", "y"], name="xy"),
                                                 (x, y)), w0, w0)
        return st.one_of(logistic, saddle)

    def conclusion(self, fl: Any, land: Any, theta0: Any, tier: Tier) -> tuple[Any, str]:
        if not (fl.decided and fl.outcome.kind == "diverging"):
            return super().conclusion(fl, land, theta0, tier)
        # diverging: the margin is minus the growth exponent of |theta| ~ t^p over the last decade
        p = _sad.tail_exponent(fl, "norm")
        return (None, "diverging, no tail fit") if p is None else (-p, f"diverging: |theta| ~ t^{p:.3g}")


def _zero_start(act: str, c: Fraction) -> Instance:
    """A 1-2-1 network with every hidden weight and bias and both output weights 0: for tanh and
    swish (s(0) = 0) the flow stays on that invariant subspace and converges to the constant fit
    (L = the variance of the target values, 0.1337 for x^2 on 9 points), a critical point with L > 0."""
    th = (Fraction(0),) * 6 + (c,)
    prob = _sad.problem(act, (1, 2, 1), "(1)*x**2 + (0)", _sad.grid(9), th, name=f"{act}-zero-start")
    return Instance(prob, th)


class AnyStartFlowDiverges(GoodInitializationFlowDiverges):
    """False: Corollary 3.6 needs L(theta_0) below an eps; from the zero start the flow converges
    to the constant fit, a critical point with L > 0."""

    id = "any_start_flow_diverges"
    title = "Every gradient flow of a SAD network on a polynomial target diverges with L -> 0"
    source = "planted (false: the hypothesis L(theta_0) < eps is dropped)"

    def instances(self, profile: Profile) -> Any:
        zero = st.builds(_zero_start, st.sampled_from(["tanh", "swish"]),
                         st.sampled_from([Fraction(0), Fraction(1, 3), Fraction(-1, 2)]))
        return st.one_of(zero, super().instances(profile))


#: a tilted double well: a local minimum (w ~ 0.93, L ~ 0.483) above the global one (w ~ -1.06)
DOUBLE_WELL = ExprLandscape("(w**2 - 1)**2 + w/2", ["w"], name="tilted-double-well")


class LossToInfimumFromAnyStart(LossThresholdAttractsToInfimum):
    """False: Theorem 2.8(v) holds below a threshold; from above it a flow can stop at a higher
    critical value (the tilted double well from w >= 1/2, the zero start of a tanh network)."""

    id = "loss_to_infimum_from_any_start"
    title = "Every gradient flow converges in loss to the infimum"
    source = "planted (false: the hypothesis L(theta_0) < inf L + eps is dropped)"

    def instances(self, profile: Profile) -> Any:
        well = st.builds(lambda w: Instance(DOUBLE_WELL, (w,)),
                         vst.rationals(min_value=Fraction(1, 2), max_value=2, max_denominator=4))
        return st.one_of(well, super().instances(profile))

    def _below(self, loss0: float, est: dict[str, Any]) -> str | None:
        if est["threshold"] is None:
            return "no generalized critical value above the infimum was found: no threshold"
        return None
