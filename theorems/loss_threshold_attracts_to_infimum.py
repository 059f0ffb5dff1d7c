r"""Theorem 2.8(v) of Kranz, Gallon, Dereich, Jentzen, "SAD neural networks" (arXiv 2505.09572).

Statement
---------
Activation and loss C^1 and definable. There is eps > 0 such that every gradient flow with
L(theta_0) < inf L + eps has L(theta(t)) -> inf L.

Mechanism: the limit of the loss along a flow lies in the set K(L) of generalized critical
values (critical values and asymptotic critical values), which is finite for definable C^1
functions; the loss does not increase along the flow, so eps can be taken as the gap between
inf L and the next generalized critical value.

How it is checked
-----------------
For each landscape the threshold is estimated, once per run: critical values from
``find_critical_points`` (multi-start Levenberg-Marquardt with mp refinement) and asymptotic
critical values from the loss limits of the flows from seeded random starts that
``classify`` calls diverging. The asymptotic values are finite-horizon estimates, good only to
an absolute error, so every value below 1/100 of the smallest Newton-refined critical value
above 1e-6 is taken for the infimum, estimated as max(0, smallest) (a squared loss is >= 0);
the threshold eps_hat is the gap from the infimum estimate to the next value found. This is an
estimate: a generalized critical value the search did not find could make the true eps
smaller. Each instance's start must satisfy L(theta_0) < inf + eps_hat (otherwise the instance
does not decide). One experiment in every tier: the flow is followed until decided
(``Tier.follow``, to the profile's flow time: ``ci`` 1e12), and the margin is
inf + eps_hat / 2 - L_lim, with L_lim the Newton-refined limit value (converged) or the
extrapolated limit of the loss (diverging; the loss at the end where the extrapolation is not
available): positive when the flow goes to the infimum's side of the gap. A negative margin
(a generalized critical value below the estimated threshold) is confirmed by the same
experiment at dps and 2 dps digits, or, where that is undecided within ``flow_seconds``, from
the float64 flow's final state (an instance too: its loss is lower). The threshold estimate is
part of the hypotheses and made once, in float64.

Landscapes: L(x, y) = (x y - 1)^2 + y^2 (K(L) = {0, 1}, threshold 1: theorems.md) with starts
near the valley x y = 1; 1-2-1 softplus and tanh networks fitting x^2 on 9 points, with starts
on the finite-difference pairs (Theorem 3.5's construction) at several widths.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
from hypothesis import strategies as st

from theorems import _sad
from verify import (
    Claim,
    ExprLandscape,
    Instance,
    Judgement,
    NpLandscape,
    Problem,
    Profile,
    Rodas4,
    StepControl,
    Tier,
    classify,
    find_critical_points,
    solve_flow,
)
from verify import strategies as vst

_THRESHOLDS: dict[str, dict[str, Any]] = {}


def _np_land(source: Any) -> Any:
    return NpLandscape(source) if isinstance(source, Problem) else source.np()


def estimate_threshold(source: Any, profile: Profile) -> dict[str, Any]:
    """inf L, eps_hat and the values behind them (cached per landscape and profile)."""
    key = f"{profile.name}:{getattr(source, 'name', '')}:{source!r}"
    if key in _THRESHOLDS:
        return _THRESHOLDS[key]
    starts = 8 if profile.name == "quick" else (12 if profile.name == "ci" else 48)
    crit = find_critical_points(source, starts=starts, seed=0, flow_t1=50, dps=20)
    values = [float(v.value) for v in crit.values]
    land = _np_land(source)
    rng = np.random.default_rng(0)
    theta = rng.normal(size=(starts, land.n_params))
    flows = solve_flow(land, theta, t1=1e4 * max(1.0, profile.horizon), solver=Rodas4(),
                       control=StepControl(rtol=1e-8, atol=1e-10))
    asymptotic = []
    for member in flows.members:
        out = classify(land, member)
        if out.kind == "diverging":
            asymptotic.append(float(out.loss_limit) if out.loss_limit is not None else float(member.loss))
    found = sorted(values + asymptotic)
    reliable = [v for v in values if v > 1e-6]
    cut = 1e-2 * (min(reliable) if reliable else 1.0)
    near = [v for v in found if v <= cut]
    above = [v for v in found if v > cut]
    inf_hat = max(0.0, min(near)) if near else (found[0] if found else float("nan"))
    result = {"infimum": inf_hat, "threshold": (above[0] - inf_hat) if above else None,
              "critical_values": values, "asymptotic_values": asymptotic, "starts": starts}
    _THRESHOLDS[key] = result
    return result


class LossThresholdAttractsToInfimum(Claim):
    title = "Flows started below a loss threshold converge in loss to the infimum"
    statement = (r"There is $\varepsilon > 0$ such that $L(\theta_0) < \inf L + \varepsilon$ implies "
                 r"$L(\theta(t)) \to \inf L$.")
    source = "Kranz, Gallon, Dereich, Jentzen, SAD neural networks (arXiv 2505.09572), Theorem 2.8(v)"
    hypotheses = ("C^1 definable activation and loss", "L(theta_0) below the estimated threshold")
    method = ("threshold = gap from the infimum to the next critical or asymptotic critical value found "
              "(find_critical_points + classified flows from seeded starts); flows from below it followed until "
              "decided (Tier.follow, ci: to t = 1e12), the same experiment at dps and 2 dps digits to confirm; "
              "margin inf + eps/2 - limit loss")
    restartable = True

    def instances(self, profile: Profile) -> Any:
        xy = ExprLandscape("(x*y - 1)**2 + y**2", ["x", "y"], name="xy")
        x0 = vst.rationals(min_value=2, max_value=6, max_denominator=4)
        dy = vst.rationals(min_value=Fraction(-1, 16), max_value=Fraction(1, 16), max_denominator=32)
        valley = st.builds(lambda x, e: Instance(xy, (x, 1 / x + e)), x0, dy)

        def pair(act: str, w: Fraction) -> Instance:
            th = _sad.to_fractions(_sad.pair_theta(act, Fraction(1), Fraction(0), w))
            return Instance(_sad.problem(act, (1, 2, 1), "x**2", _sad.grid(9), [Fraction(0)] * 7,
                                         name=f"{act}-1-2-1-x2"), th)

        pairs = st.builds(pair, st.sampled_from(["softplus", "tanh"]),
                          st.sampled_from([Fraction(1), Fraction(3, 2), Fraction(2), Fraction(3)]))
        return st.one_of(valley, pairs)

    def check_hypotheses(self, instance: Instance) -> str | None:
        return _sad.c1_violation(instance.source)

    def _margin(self, fl: Any, est: dict[str, Any]) -> tuple[Any, str]:
        out, traj = fl.outcome, fl.trajectory
        if fl.decided and out.kind == "converged":
            lim = out.limit_loss
            what = f"converged to a {out.point_kind} with L = {float(lim):.6g}"
        elif fl.decided and out.kind == "diverging":
            lim = out.loss_limit if out.loss_limit is not None else traj.loss
            what = f"diverging with L -> {float(lim):.6g} (L = {float(traj.loss):.6g} at t = {float(traj.t):g})"
        else:
            return None, f"undecided ({fl.why_stopped}): {out.reason}"
        mid = est["infimum"] + est["threshold"] / 2
        return mid - lim, what

    def experiment(self, instance: Instance, profile: Profile, tier: Tier) -> Judgement:
        est = estimate_threshold(instance.source, profile)
        loss0 = float(_np_land(instance.source).loss(np.array([float(v) for v in instance.theta0])))
        evidence: dict[str, Any] = {"threshold": est["threshold"], "infimum": est["infimum"], "loss0": loss0,
                                    "critical_values": est["critical_values"],
                                    "asymptotic_values": est["asymptotic_values"]}
        reason = self._below(loss0, est)
        if reason is not None:
            return Judgement(None, reason, evidence)
        _, fl = _sad.follow(instance.source, instance.theta0, profile, tier)
        margin, what = self._margin(fl, est)
        evidence.update(_sad.flow_evidence(fl))
        restart, note = _sad.restart_state(fl, tier)
        return Judgement(margin, f"{tier.name}: L0 = {loss0:.4g} < inf + eps_hat = {est['infimum']:.3g} + "
                                 f"{est['threshold']:.4g}: {what}", evidence, None, restart, note)

    def _below(self, loss0: float, est: dict[str, Any]) -> str | None:
        """Why the start does not decide (no threshold, or not below it), or None."""
        if est["threshold"] is None:
            return "no generalized critical value above the infimum was found: no threshold"
        if loss0 >= est["infimum"] + est["threshold"]:
            return f"L(theta0) = {loss0:.6g} is not below inf + eps_hat = {est['infimum'] + est['threshold']:.6g}"
        return None
