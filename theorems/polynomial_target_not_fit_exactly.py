r"""Theorem 3.4 of Kranz, Gallon, Dereich, Jentzen, "SAD neural networks" (arXiv 2505.09572).

Statement
---------
Let the activation be SAD (sublinear along rays, real analytic, definable), the target a
polynomial of degree >= 2, and the architecture and data set big enough. Then the empirical
loss is positive everywhere: L(theta) > 0 for every theta (no network fits the target exactly).

How it is checked
-----------------
Evidence that does not depend on where a local optimizer stopped: for a 1-1-1 network
(d = 4 parameters) and n >= 5 data points, a best-first interval branch and bound
(mpmath ``iv``) proves lower bounds L >= l(R) > 0 on the balls |theta| <= R for growing R;
a local search (least squares from seeded starts in the ball) gives upper bounds u(R) of
min_{|theta| <= R} L, so min over the ball lies in [l(R), u(R)]. Both are reported with
their decay in R (the infimum over all theta is 0 for big enough architectures: Theorem 3.5).
The margin is l(R_0) at the smallest radius: positive means certified positivity. A
counterexample would be a theta with L(theta) = 0: a local search reaching L < 1e-20 is a
candidate, refined and re-evaluated at dps digits.

The paper's exact hypotheses on architecture and data could not be read; "enough data" is
taken as n > d (more points than parameters). Violations give ``not_applicable``: a
non-analytic (relu, elu) or non-sublinear (square) activation, a target of degree < 2, too
little data.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import mpmath
import numpy as np
from hypothesis import strategies as st
from scipy.optimize import least_squares

from theorems import _sad
from verify import Claim, Instance, Judgement, NpLandscape, Profile

TARGETS = ("x**2", "x**3 - x", "x**2 + x/2", "2*x**2 - 1", "x**4 - x**2 + 1/4")


def _radii(profile: Profile) -> list[Fraction]:
    return {"quick": [Fraction(1, 2), Fraction(1), Fraction(2)],
            "ci": [Fraction(1, 2), Fraction(1), Fraction(2), Fraction(4)]}.get(
        profile.name, [Fraction(1, 2), Fraction(1), Fraction(2), Fraction(4), Fraction(8)])


def _boxes(profile: Profile) -> int:
    return {"quick": 400, "ci": 800}.get(profile.name, 8000)


class PolynomialTargetNotFitExactly(Claim):
    title = "SAD networks never fit a polynomial target of degree >= 2 exactly: L > 0 everywhere"
    statement = (r"SAD activation, polynomial target of degree $\ge 2$, enough data: "
                 r"$L(\theta) > 0$ for every $\theta$.")
    source = "Kranz, Gallon, Dereich, Jentzen, SAD neural networks (arXiv 2505.09572), Theorem 3.4"
    hypotheses = ("SAD activation (analytic, sublinear, not a polynomial)", "1-D polynomial target of degree >= 2",
                  "more data points than parameters (n > d)")
    method = ("certified lower bounds l(R) of L on balls |theta| <= R by interval branch and bound (mpmath iv), "
              "upper bounds u(R) by seeded least squares in the ball; margin l(R_0)")

    def instances(self, profile: Profile) -> Any:
        def build(act: str, target: str, n: int) -> Instance:
            xs = _sad.grid(n)
            prob = _sad.problem(act, (1, 1, 1), target, xs, [Fraction(0)] * 4, name=f"{act}-1-1-1-{n}pts")
            return Instance(prob, None)

        return st.builds(build, st.sampled_from(_sad.IV_ACTIVATIONS), st.sampled_from(TARGETS),
                         st.sampled_from([5, 7]))

    def check_hypotheses(self, instance: Instance) -> str | None:
        reason = _sad.sad_violation(instance.source)
        if reason is None and instance.source.network.activation not in _sad.IV_ACTIVATIONS:
            return f"no interval enclosure for {instance.source.network.activation} in this check"
        if reason is None and (len(instance.source.network.widths) != 3 or instance.source.network.widths[1] > 2):
            return "this check handles 1-h-1 networks with h <= 2 (the branch and bound is exponential in d)"
        return reason

    def _data(self, instance: Instance) -> tuple[list[Fraction], list[Fraction], int]:
        prob = instance.source
        xs = [p[0] for p in prob.data.points]
        ys = [Fraction(str(prob.target.exact(p)[0])) for p in prob.data.points]
        return xs, ys, prob.network.widths[1]

    def _upper(self, instance: Instance, radius: float, seed: int = 0) -> tuple[float, list[float]]:
        land = NpLandscape(instance.source)
        d = instance.source.n_params
        prob = instance.source
        xs = prob.data.array[:, 0]
        ys = np.array([float(prob.target.exact(p)[0]) for p in prob.data.points])
        rng = np.random.default_rng(seed)
        best, best_theta = np.inf, np.zeros(d)
        for _ in range(8):
            th0 = rng.normal(size=d)
            th0 *= radius * rng.uniform(0.2, 1.0) / max(1e-12, np.linalg.norm(th0))

            def res(th: np.ndarray) -> np.ndarray:
                scale = min(1.0, radius / max(1e-300, float(np.linalg.norm(th))))   # project onto the ball
                th = th * scale
                out = land.realization(th[None, :], xs[:, None])
                return (np.ravel(out) - ys) / np.sqrt(len(xs))

            sol = least_squares(res, th0, max_nfev=400)
            th = sol.x * min(1.0, radius / max(1e-300, float(np.linalg.norm(sol.x))))
            val = float(land.loss(th))
            if val < best:
                best, best_theta = val, th
        return best, list(best_theta)

    def judge(self, instance: Instance, profile: Profile) -> Judgement:
        return self._judge(instance, profile, prec=53)

    def _judge(self, instance: Instance, profile: Profile, *, prec: int) -> Judgement:
        xs, ys, hidden = self._data(instance)
        act = instance.source.network.activation
        rows = []
        for R in _radii(profile):
            lb, split, _ = _sad.bnb_lower_bound(act, hidden, xs, ys, R, boxes=_boxes(profile), prec=prec)
            ub, _ = self._upper(instance, float(R))
            rows.append({"radius": str(R), "lower": mpmath.nstr(lb, 8), "upper": ub, "boxes": split})
        lb0 = mpmath.mpf(rows[0]["lower"])
        certified = [r for r in rows if mpmath.mpf(r["lower"]) > 0]
        summary = "; ".join(f"R={r['radius']}: L in [{r['lower']}, {r['upper']:.3g}]" for r in rows)
        if certified:
            summary += f" (certified positive up to R={certified[-1]['radius']})"
        evidence = {"bounds": rows, "outcome": "certified" if lb0 > 0 else "not certified",
                    "series": {"t": [float(Fraction(r["radius"])) for r in rows],
                               "loss": [r["upper"] for r in rows]}}
        if lb0 > 0:
            return Judgement(float(lb0) if prec == 53 else lb0, summary, evidence)
        best = min(r["upper"] for r in rows)
        if best < 1e-20:
            return Judgement(-1.0, f"a local search reached L = {best:.3g}: " + summary, evidence)
        return Judgement(None, "the branch and bound did not certify L > 0 within its budget: " + summary, evidence)

    def confirm(self, instance: Instance, profile: Profile, dps: int) -> Judgement:
        return self._judge(instance, profile, prec=int(dps * 3.33) + 8)
