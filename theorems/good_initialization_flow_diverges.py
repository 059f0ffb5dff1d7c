r"""Corollary 3.6 (the main result) of Kranz, Gallon, Dereich, Jentzen, "SAD neural networks" (arXiv 2505.09572).

Statement
---------
SAD activation, polynomial target of degree >= 2, architecture and data set big enough: there
is eps > 0 such that every gradient flow with L(theta_0) < eps satisfies |theta(t)| -> infinity
and L(theta(t)) -> 0. (By Theorem 3.4 no point has L = 0 and by Theorem 3.5 inf L = 0, so by
Theorem 2.8(v) flows started close enough to the infimum must diverge.)

How it is checked
-----------------
Starts with a small loss come from the finite-difference pair of Theorem 3.5, a 1-2-1 network
v s(b + w x) + v s(b - w x) + c' with v = a / (s''(b) w^2) approximating a x^2 + c (for
softplus the pair of theorems.md; L(theta_0) = O(w^4)). eps is not known: the instances are
starts with small L(theta_0) (w in {1, 2}, targets +-x^2 on 9 points: 16 instances), assumed
below it. One experiment in every tier: each flow is followed until decided (``Tier.follow``, to
the profile's flow time: ``ci`` 1e12) and the margin is a signed distance from violating the
conclusion:

* ``diverging``: 1 - 2 max(L_lim, 0) / L_T, with L_lim the extrapolated limit of the loss and
  L_T the loss at the end: positive while the extrapolated limit lies below half of the current
  loss, negative when the loss levels off at a positive value.
* ``converged`` to a critical point with L > 0: -L(theta*) / L(theta_0) (the flow stays
  bounded and the loss does not go to 0). A limit whose loss is at the rounding level of the
  tier (an exact fit, which Theorem 3.4 rules out, cannot be told from a slow drift there) is
  undecided.
* Otherwise undecided.

A violation is confirmed by the same experiment at dps and 2 dps digits; where that is undecided
within ``flow_seconds``, from the float64 flow's final state (an instance too: its loss is
smaller than L(theta_0)).

Hypotheses (``not_applicable`` otherwise): a SAD activation (tanh, logistic, softplus,
swish), a polynomial target of degree >= 2, more data points than parameters.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from hypothesis import strategies as st

from theorems import _sad
from verify import Claim, Instance, Judgement, Profile, Tier

PAIR_ACTIVATIONS = ("softplus", "tanh", "swish", "logistic")


class GoodInitializationFlowDiverges(Claim):
    title = "Gradient flows started with a small loss diverge while the loss tends to 0"
    statement = (r"SAD activation, polynomial target of degree $\ge 2$: there is $\varepsilon > 0$ such that "
                 r"$L(\theta_0) < \varepsilon$ implies $|\theta(t)| \to \infty$ and $L(\theta(t)) \to 0$.")
    source = "Kranz, Gallon, Dereich, Jentzen, SAD neural networks (arXiv 2505.09572), Corollary 3.6"
    hypotheses = ("SAD activation", "1-D polynomial target of degree >= 2", "more data points than parameters",
                  "L(theta_0) small (starts on the finite-difference pairs, w <= 2)")
    method = ("flow from the pair construction followed until decided (Tier.follow, ci: to t = 1e12), the same "
              "experiment at dps and 2 dps digits to confirm; margin 1 - 2 L_lim+/L_T (diverging) or "
              "-L(theta*)/L(theta_0) (converged)")
    restartable = True

    def instances(self, profile: Profile) -> Any:
        def build(act: str, a: Fraction, c: Fraction, n: int, w: Fraction) -> Instance:
            th = _sad.to_fractions(_sad.pair_theta(act, a, c, w))
            target = f"({a})*x**2 + ({c})"
            return Instance(_sad.problem(act, (1, 2, 1), target, _sad.grid(n), th, name=f"{act}-pair"), th,
                            {"w": w})

        return st.builds(build, st.sampled_from(PAIR_ACTIVATIONS),
                         st.sampled_from([Fraction(1), Fraction(-1)]), st.just(Fraction(0)), st.just(9),
                         st.sampled_from([Fraction(1), Fraction(2)]))

    def check_hypotheses(self, instance: Instance) -> str | None:
        return _sad.sad_violation(instance.source)

    def _theta0(self, instance: Instance) -> tuple[Fraction, ...]:
        return instance.theta0 if instance.theta0 is not None else instance.source.initial_exact(0)

    def experiment(self, instance: Instance, profile: Profile, tier: Tier) -> Judgement:
        theta0 = self._theta0(instance)
        land, fl = _sad.follow(instance.source, theta0, profile, tier)
        out, traj = fl.outcome, fl.trajectory
        loss0 = land.loss(tier.vector(theta0))
        evidence = _sad.flow_evidence(fl)
        evidence["loss0"] = _sad.to_float(loss0)
        start = f"|theta| {_sad.to_float(tier.norm(tier.vector(theta0))):.5g}, L {_sad.to_float(loss0):.3g}"
        margin: Any = None
        if fl.decided and out.kind == "diverging":
            lim = out.loss_limit
            lim_pos = lim if lim is not None and lim > 0 else 0
            margin = 1 - 2 * lim_pos / traj.loss if traj.loss > 0 else None
            what = (f"diverging: {start} -> |theta| {_sad.to_float(traj.theta_norm):.5g}, "
                    f"L {_sad.to_float(traj.loss):.3g}, "
                    f"extrapolated limit {'n/a' if lim is None else f'{_sad.to_float(lim):.3g}'}")
        elif fl.decided and out.kind == "converged":
            lim = out.limit_loss
            what = f"converged to a {out.point_kind} with L = {_sad.to_float(lim):.6g} ({start})"
            if lim > tier.tol(1e-14) * max(1, loss0):
                margin = -lim / loss0
            else:
                what += ": L at the rounding level of this tier, an exact fit cannot be told from a slow drift"
        else:
            what = f"undecided ({fl.why_stopped}): {out.reason}"
        restart, note = _sad.restart_state(fl, tier)
        return Judgement(margin, f"{tier.name}: {what}", evidence, None, restart, note)
