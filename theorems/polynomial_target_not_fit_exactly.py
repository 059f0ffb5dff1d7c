r"""Theorem 3.4 of Kranz, Gallon, Dereich, Jentzen, "SAD neural networks" (arXiv 2505.09572).

Statement
---------
Let the activation be SAD (sublinear along rays, real analytic, definable), the target a
polynomial of degree >= 2, and the architecture and data set big enough. Then the empirical
loss is positive everywhere: L(theta) > 0 for every theta (no network fits the target exactly).

How it is checked
-----------------
Two sides, each at several radii R (balls |theta| <= R):

* *certified lower bounds* l(R) of min_{|theta| <= R} L by ``verify.loss_lower_bound`` (a
  branch and bound in ball arithmetic with the h-independent ball-budget bound, per-datum
  residual bounds, mean-value forms, monotonicity and convexity pruning): l(R) > 0 proves
  that no theta in the ball fits the data, and is this instance's certificate;
* *upper bounds* u(R): the best loss a seeded least-squares search in the ball reaches.

The experiment is one body for every tier (float64 to search, ``dps`` and ``2 dps`` digits to
confirm). Its search is the same in every tier: seeded least squares (float64) in each ball gives
u(R) and the best fit theta*. In float64 the fit's loss is u* = L(theta*); at ``dps`` digits
theta* is refined by Levenberg-Marquardt at those digits and its loss bounded from above in ball
arithmetic (``verify.loss_upper_bound``). The margin is log10(u* / floor), floor = tol(1e-14)
(1 + mean y^2) (1e-14 in float64, where least squares reaches about 1e-17 on an exact fit;
10^(-0.894 dps) at dps digits): positive when no fit below the floor is found, negative when
the search fits the data, which a confirmation accepts only for a fit exact to the digits. Where
no fit is found, the certified lower bounds (the same in every tier) decide: an instance whose
smallest ball is not certified is ``inconclusive`` ("beyond this method's reach: ...");
``not_applicable`` is kept for violated hypotheses only.

The paper's exact hypotheses on architecture and data could not be read; "enough data" is
taken as n > d (more points than parameters). Violations give ``not_applicable``: a
non-analytic (relu, elu) or non-sublinear (square) activation, a target of degree < 2, too
little data. Networks with more than one output, or any widths the search cannot handle, are
beyond this method's reach (inconclusive), not outside the theorem.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
from hypothesis import strategies as st
from scipy.optimize import least_squares

from theorems import _sad
from verify import Claim, Instance, Judgement, NpLandscape, Profile, Tier, loss_lower_bound, loss_upper_bound

TARGETS = ("x**2", "x**3 - x", "x**2 + x/2", "2*x**2 - 1", "x**4 - x**2 + 1/4")
ACTIVATIONS = ("tanh", "logistic", "softplus", "swish", "gelu")
#: float64 least squares reaches about 1e-17 on an exact fit: a fit below FLOOR (1 + mean y^2) is a candidate
FLOOR = 1e-14


def _radii(profile: Profile) -> list[Fraction]:
    return {"quick": [Fraction(1, 2), Fraction(1), Fraction(2)],
            "ci": [Fraction(1, 2), Fraction(1), Fraction(2), Fraction(4)]}.get(
        profile.name, [Fraction(1, 2), Fraction(1), Fraction(2), Fraction(4), Fraction(8)])


def _boxes(profile: Profile) -> int:
    return {"quick": 150, "ci": 300}.get(profile.name, 3000)


def _hidden(profile: Profile) -> list[int]:
    return {"quick": [1, 2], "ci": [1, 2, 3]}.get(profile.name, [1, 2, 3, 4, 8])


def _ys(prob: Any) -> list[float]:
    return [float(prob.target.exact(p)[0]) for p in prob.data.points]


class PolynomialTargetNotFitExactly(Claim):
    title = "SAD networks never fit a polynomial target of degree >= 2 exactly: L > 0 everywhere"
    statement = (r"SAD activation, polynomial target of degree $\ge 2$, enough data: "
                 r"$L(\theta) > 0$ for every $\theta$.")
    source = "Kranz, Gallon, Dereich, Jentzen, SAD neural networks (arXiv 2505.09572), Theorem 3.4"
    hypotheses = ("SAD activation (analytic, sublinear, not a polynomial)", "polynomial target of degree >= 2",
                  "more data points than parameters (n > d)")
    method = ("one experiment in every tier (float64 to search, dps and 2 dps digits to confirm): seeded least "
              "squares in each ball |theta| <= R (the same in every tier) gives the best fit theta*; its loss u* in "
              "float64, or, at dps digits, after Levenberg-Marquardt refinement at those digits as a ball-arithmetic "
              "upper bound; margin log10(u* / floor), floor = tol(1e-14) (1 + mean y^2); where no fit is found, "
              "certified lower bounds l(R) of L on the balls (verify.loss_lower_bound: ball-arithmetic branch and "
              "bound, the certificates) decide, and an uncertified smallest ball is beyond this method's reach")

    def instances(self, profile: Profile) -> Any:
        def build(act: str, target: str, hidden: int, extra: int) -> Instance:
            d = 3 * hidden + 1
            xs = _sad.grid(d + 1 + extra)
            prob = _sad.problem(act, (1, hidden, 1), target, xs, [Fraction(0)] * d,
                                name=f"{act}-1-{hidden}-1-{len(xs)}pts")
            return Instance(prob, None)

        return st.builds(build, st.sampled_from(ACTIVATIONS), st.sampled_from(TARGETS),
                         st.sampled_from(_hidden(profile)), st.integers(0, 2))

    def check_hypotheses(self, instance: Instance) -> str | None:
        reason = _sad.sad_violation(instance.source)
        if reason == "this check handles 1-D input and output":
            return None     # a limit of the method, not a hypothesis: judged inconclusive
        return reason

    def _reach(self, instance: Instance) -> str | None:
        prob = instance.source
        if prob.network.widths[-1] != 1:
            return "beyond this method's reach: networks with one output only"
        return None

    def _upper(self, instance: Instance, radius: float, seed: int = 0) -> tuple[float, np.ndarray]:
        prob = instance.source
        land = NpLandscape(prob)
        d = prob.n_params
        xs = prob.data.array
        ys = np.array(_ys(prob))
        rng = np.random.default_rng(seed)
        best, best_theta = math.inf, np.zeros(d)
        for _ in range(8):
            th0 = rng.normal(size=d)
            th0 *= radius * rng.uniform(0.2, 1.0) / max(1e-12, float(np.linalg.norm(th0)))

            def res(th: np.ndarray) -> np.ndarray:
                th = th * min(1.0, radius / max(1e-300, float(np.linalg.norm(th))))   # project onto the ball
                out = land.realization(th[None, :], xs)
                return (np.ravel(out) - ys) * math.sqrt(float(prob.factor) / len(ys))

            sol = least_squares(res, th0, max_nfev=200)
            th = sol.x * min(1.0, radius / max(1e-300, float(np.linalg.norm(sol.x))))
            val = float(land.loss(th))
            if val < best:
                best, best_theta = val, th
        return best, best_theta

    def _scale(self, instance: Instance) -> float:
        ys = _ys(instance.source)
        return 1.0 + sum(y * y for y in ys) / len(ys)

    def experiment(self, instance: Instance, profile: Profile, tier: Tier) -> Judgement:
        beyond = self._reach(instance)
        if beyond:
            return Judgement(None, beyond)
        prob = instance.source
        # the search (the experiment's design, the same in every tier): seeded least squares in each ball
        fits = [(R,) + self._upper(instance, float(R)) for R in _radii(profile)]
        _, best_u, best_theta = min(fits, key=lambda f: f[1])
        scale = self._scale(instance)
        floor = tier.tol(FLOOR) * scale
        if tier.is_float64:
            theta: Any = [Fraction(float(v)) for v in best_theta]
            fit = max(best_u, 0.0)
            how = "least squares"
        else:   # the best fit refined at the tier's digits, its loss bounded above in ball arithmetic
            theta = list(_sad.refine_fit(prob, best_theta, int(tier.dps)))  # type: ignore[arg-type]
            fit = tier.num(loss_upper_bound(prob, theta, dps=int(tier.dps)))  # type: ignore[arg-type]
            how = f"refined at {tier.dps} digits, certified upper bound"
        fit_f = tier.to_float(fit)
        margin = tier.ctx.log10(fit / floor) if fit_f > 0 else tier.num(-300)
        if tier.is_float64:
            margin = float(margin)
        rows: list[dict[str, Any]] = [{"radius": str(R), "upper": u} for R, u, _ in fits]
        evidence: dict[str, Any] = {"bounds": rows, "best_fit": fit_f, "floor": tier.to_float(floor),
                                    "fit_method": how, "tier": str(tier),
                                    "best_theta": [float(v) for v in best_theta],
                                    "series": {"t": [float(R) for R, _, _ in fits], "loss": [u for _, u, _ in fits]}}
        if tier.to_float(margin) < 0:
            evidence["outcome"] = "fit found"
            return Judgement(margin, f"({tier}) the search fits the data: L = {tier.text(fit, 4)} ({how}) below the "
                                     f"floor {tier.text(floor, 3)}", evidence)
        # no fit: the certified lower bounds (ball arithmetic, the same in every tier) decide the positive side
        certified: list[Any] = []
        for row in rows:
            lb = loss_lower_bound(prob, Fraction(row["radius"]), boxes=_boxes(profile), target=0)
            row.update(lb.to_json())
            if not lb.positive:     # stop once a ball is not certified
                break
            certified.append(lb)
        summary = f"({tier}) " + "; ".join(f"R={r['radius']}: L in [{r.get('lower', '?')}, {r['upper']:.3g}]"
                                           for r in rows)
        if not certified:
            evidence["outcome"] = "not certified"
            return Judgement(None, "beyond this method's reach: the branch and bound did not prove L > 0 on the "
                                   f"smallest ball |theta| <= {rows[0]['radius']} within {_boxes(profile)} boxes, and "
                                   f"no fit was found (best L = {tier.text(fit, 3)}): " + summary, evidence)
        evidence["outcome"] = "certified"
        last = certified[-1]
        summary += f" (certified L > 0 up to R={last.radius})"
        cert = {"kind": "lower bound on a ball",
                "statement": f"L(theta) >= {last.to_json()['lower']} > 0 for every |theta| <= {last.radius}",
                "radius": str(last.radius), "lower": last.to_json()["lower"], "decided_by": last.method,
                "boxes": last.boxes, "time_s": round(last.time_s, 3),
                "recheck": (f"verify.loss_lower_bound(problem, {str(last.radius)!r}, boxes={last.boxes}, "
                            f"target=0).bound >= Fraction({last.to_json()['lower']!r})")}
        return Judgement(margin, summary, evidence, cert)
