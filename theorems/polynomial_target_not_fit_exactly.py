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

The margin is log10(u* / floor), u* = min_R u(R) and floor = 1e-14 (1 + mean y^2) the level
float64 least squares reaches on an exact fit (about 1e-17 and below): positive when every fit
found stays above it, negative when the search fits the data (a candidate counterexample).
The confirmation refines the best fit at dps digits (Levenberg-Marquardt in ball-midpoint
arithmetic) and bounds L at that exact point from above in ball arithmetic: the margin is then
log10(u_cert / floor_dps) with floor_dps = 10^-dps (1 + mean y^2), negative only for a fit
exact to dps digits. An instance whose smallest ball is not certified and whose search finds
no fit is ``inconclusive``: "beyond this method's reach: ...". ``not_applicable`` is kept for
violated hypotheses only.

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
from verify import Claim, Instance, Judgement, NpLandscape, Profile, loss_lower_bound, loss_upper_bound

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
    method = ("certified lower bounds l(R) of L on balls |theta| <= R (verify.loss_lower_bound: ball-arithmetic "
              "branch and bound, the certificates); upper bounds u(R) by seeded least squares in the ball; margin "
              "log10(min u / floor), floor = 1e-14 (1 + mean y^2); a fit is confirmed at dps digits by refinement "
              "and a ball upper bound of L (floor 10^-dps)")

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

    def judge(self, instance: Instance, profile: Profile) -> Judgement:
        beyond = self._reach(instance)
        if beyond:
            return Judgement(None, beyond)
        prob = instance.source
        rows: list[dict[str, Any]] = []
        best_u, best_theta = math.inf, None
        certified: list[Any] = []
        lower_failed = False
        for R in _radii(profile):
            u, th = self._upper(instance, float(R))
            row: dict[str, Any] = {"radius": str(R), "upper": u}
            if not lower_failed:
                lb = loss_lower_bound(prob, R, boxes=_boxes(profile), target=0)   # stop once L > 0 is proved
                row.update(lb.to_json())
                if lb.positive:
                    certified.append(lb)
                else:
                    lower_failed = True
            rows.append(row)
            if u < best_u:
                best_u, best_theta = u, th
        floor = FLOOR * self._scale(instance)
        margin = math.log10(max(best_u, 1e-300) / floor)
        summary = "; ".join(f"R={r['radius']}: L in [{r.get('lower', '?')}, {r['upper']:.3g}]" for r in rows)
        if certified:
            summary += f" (certified L > 0 up to R={certified[-1].radius})"
        evidence = {"bounds": rows, "best_fit": best_u, "floor": floor,
                    "best_theta": [float(v) for v in (best_theta if best_theta is not None else [])],
                    "outcome": "certified" if certified else ("fit found" if margin < 0 else "not certified"),
                    "series": {"t": [float(Fraction(r["radius"])) for r in rows], "loss": [r["upper"] for r in rows]}}
        cert = None
        if certified:
            last = certified[-1]
            cert = {"kind": "lower bound on a ball",
                    "statement": f"L(theta) >= {last.to_json()['lower']} > 0 for every |theta| <= {last.radius}",
                    "radius": str(last.radius), "lower": last.to_json()["lower"], "decided_by": last.method,
                    "boxes": last.boxes, "time_s": round(last.time_s, 3),
                    "recheck": (f"verify.loss_lower_bound(problem, {str(last.radius)!r}, boxes={last.boxes}, "
                                f"target=0).bound >= Fraction({last.to_json()['lower']!r})")}
        if margin < 0:
            return Judgement(margin, f"a least-squares search fits the data: L = {best_u:.3g} below the float64 "
                                     f"floor {floor:.3g}; " + summary, evidence, cert)
        if not certified:
            return Judgement(None, "beyond this method's reach: the branch and bound did not prove L > 0 on the "
                                   f"smallest ball |theta| <= {rows[0]['radius']} within {_boxes(profile)} boxes, and "
                                   f"no fit was found (best L = {best_u:.3g}): " + summary, evidence)
        return Judgement(margin, summary, evidence, cert)

    def confirm(self, instance: Instance, profile: Profile, dps: int) -> Judgement:
        beyond = self._reach(instance)
        if beyond:
            return Judgement(None, beyond)
        prob = instance.source
        best_u, best_theta = math.inf, None
        for R in _radii(profile):
            u, th = self._upper(instance, float(R))
            if u < best_u:
                best_u, best_theta = u, th
        assert best_theta is not None
        theta = _sad.refine_fit(prob, best_theta, dps)
        upper = loss_upper_bound(prob, theta, dps=dps)
        floor = Fraction(10) ** (-dps) * Fraction(self._scale(instance))
        margin = math.log10(max(float(upper), 1e-300)) - math.log10(float(floor)) if upper > 0 else -math.inf
        return Judgement(margin, f"refined at {dps} digits: certified L(theta) <= {float(upper):.4g} "
                                 f"(floor {float(floor):.3g})", {"certified_upper": str(upper)})
