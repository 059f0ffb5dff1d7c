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
below it. Each flow is followed to t = 10^6 x profile.horizon with the stiff solver (Rodas4) and classified:

* ``diverging`` (|theta| strictly growing, the loss falling, |theta| |grad L| falling, growth
  past the initial phase) is consistent when the loss tends to 0: the margin is
  L_T / 2 - max(L_lim, 0) with L_lim the extrapolated limit of the loss (L_T at the horizon);
  positive when the extrapolated limit lies well below the current loss.
* ``converged`` to a critical point with L > 0 (a generalized critical value below L(theta_0))
  is a counterexample candidate (margin -L(theta*)), followed again at dps digits.
* Otherwise undecided; where float64 no longer resolves the decrease of the loss (relative
  change below 1e-12 over the late checkpoints), the flow is continued from its end state at
  dps digits (``solve_flow_mp``, Taylor method) and the continuation is reported.

Hypotheses (``not_applicable`` otherwise): a SAD activation (tanh, logistic, softplus,
swish), a polynomial target of degree >= 2, more data points than parameters.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import mpmath
import numpy as np
from hypothesis import strategies as st

from theorems import _sad
from verify import (
    Claim,
    Instance,
    Judgement,
    MpLandscape,
    NpLandscape,
    Profile,
    Rodas4,
    StepControl,
    classify,
    solve_flow,
    solve_flow_mp,
)

PAIR_ACTIVATIONS = ("softplus", "tanh", "swish", "logistic")


class GoodInitializationFlowDiverges(Claim):
    title = "Gradient flows started with a small loss diverge while the loss tends to 0"
    statement = (r"SAD activation, polynomial target of degree $\ge 2$: there is $\varepsilon > 0$ such that "
                 r"$L(\theta_0) < \varepsilon$ implies $|\theta(t)| \to \infty$ and $L(\theta(t)) \to 0$.")
    source = "Kranz, Gallon, Dereich, Jentzen, SAD neural networks (arXiv 2505.09572), Corollary 3.6"
    hypotheses = ("SAD activation", "1-D polynomial target of degree >= 2", "more data points than parameters",
                  "L(theta_0) small (starts on the finite-difference pairs, w <= 2)")
    method = ("flow from the pair construction to t = 1e6 x horizon (Rodas4), verify.classify; loss limit "
              "extrapolated; mp continuation (Taylor method) where float64 cannot resolve the loss")

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

    def judge(self, instance: Instance, profile: Profile) -> Judgement:
        land = NpLandscape(instance.source)
        theta0 = np.array([float(v) for v in self._theta0(instance)])
        t1 = 1e6 * profile.horizon
        traj = solve_flow(land, theta0, t1=t1, solver=Rodas4(), control=StepControl(rtol=1e-10, atol=1e-12),
                          checkpoints=48).members[0]
        out = classify(land, traj)
        loss_t = float(traj.loss)
        evidence: dict[str, Any] = {"outcome": out.kind, "series": _sad.series(traj), "loss0": float(land.loss(theta0))}
        if out.kind == "diverging":
            lim = float(out.loss_limit) if out.loss_limit is not None else None
            evidence.update(loss_limit=lim, criticality=[float(v) for v in out.criticality or ()], growth=out.growth)
            margin = loss_t / 2 - max(lim if lim is not None else 0.0, 0.0)
            return Judgement(margin, f"diverging: |theta| {np.linalg.norm(theta0):.5g} -> "
                                     f"{float(traj.theta_norm):.5g}, L {evidence['loss0']:.3g} -> {loss_t:.3g}, "
                                     f"extrapolated limit {'n/a' if lim is None else f'{lim:.3g}'}", evidence)
        if out.kind == "converged":
            lim = float(out.limit_loss)
            evidence.update(limit_loss=lim, point_kind=out.point_kind)
            return Judgement(-lim if lim > 1e-14 else None,
                             f"converged to a {out.point_kind} with L = {lim:.6g}", evidence)
        losses = [float(v) for v in traj.checkpoints.loss][-6:]
        if len(losses) >= 2 and abs(losses[0] - losses[-1]) <= 1e-12 * abs(losses[-1]):
            evidence["mp_continuation"] = self._continue(instance, traj, dps=max(30, profile.dps))
        return Judgement(None, f"undecided at t = {t1:g}: {out.reason}", evidence)

    def _continue(self, instance: Instance, traj: Any, *, dps: int) -> dict[str, Any]:
        """Continue the flow from its float64 end state at dps digits for flow time 1000."""
        land = MpLandscape(instance.source, dps=dps)
        cont = solve_flow_mp(land, [Fraction(float(v)) for v in traj.theta], t1=1000, checkpoints=16,
                             max_steps=20_000)
        ck = cont.checkpoints
        return {"dps": dps, "loss": [mpmath.nstr(v, 20) for v in ck.loss],
                "theta_norm": [mpmath.nstr(v, 20) for v in ck.theta_norm],
                "loss_falls": all(b < a for a, b in zip(ck.loss, ck.loss[1:])),
                "norm_grows": all(b > a for a, b in zip(ck.theta_norm, ck.theta_norm[1:]))}

    def confirm(self, instance: Instance, profile: Profile, dps: int) -> Judgement:
        land = MpLandscape(instance.source, dps=dps)
        t1 = 1000 * profile.horizon
        traj = solve_flow_mp(land, list(self._theta0(instance)), t1=t1, checkpoints=24, max_steps=50_000)
        out = classify(land, traj)
        if out.kind == "converged":
            return Judgement(-out.limit_loss, f"at {dps} digits: converged to a {out.point_kind} with L = "
                                              f"{mpmath.nstr(out.limit_loss, 12)}")
        if out.kind == "diverging":
            lim = out.loss_limit if out.loss_limit is not None else 0
            return Judgement(traj.loss / 2 - max(lim, 0),
                             f"at {dps} digits: diverging, L -> {mpmath.nstr(traj.loss, 8)}")
        return Judgement(None, f"at {dps} digits (t = {t1:g}): {out.kind}: {out.reason}")
