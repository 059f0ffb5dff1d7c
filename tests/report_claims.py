"""Cheap claims whose evidence carries every figure a report draws (series, spectrum, outcome).

Both use closed forms only, so a report test runs in a second:

* ``quadratic_flow_decreases`` (true): along the gradient flow of L = a w^2 / 2 the loss
  decreases; w(t) = w0 exp(-a t), so the series of loss, |theta| and |grad L| is exact.
* ``quadratic_form_is_convex`` (false): every quadratic form a x^2/2 + b x y + c y^2/2 with
  a, c > 0 is convex; its Hessian [[a, b], [b, c]] is indefinite when b^2 > a c.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
from hypothesis import strategies as st

from verify import Claim, ExprLandscape, Instance, Judgement, Profile
from verify import strategies as vst


class QuadraticFlowDecreases(Claim):
    id = "quadratic_flow_decreases"
    title = "The loss decreases along the gradient flow of a w^2 / 2"
    statement = r"$L(\theta(t)) \le L(\theta_0)$ for $L = a w^2/2$, $a > 0$, $t \ge 0$."
    source = "test claim (true; w(t) = w_0 e^{-a t})"
    hypotheses = ("a > 0",)
    method = "closed-form flow at 12 log-spaced times in [1e-3, 10]; margin L(w0) - L(w(10))"

    def instances(self, profile: Profile) -> Any:
        a = vst.rationals(min_value=Fraction(1, 4), max_value=4, max_denominator=4)
        w0 = vst.rationals(min_value=-2, max_value=2, max_denominator=4)
        return st.builds(lambda a, w: Instance(ExprLandscape(f"({a})*w**2/2", ["w"], name="quadratic"), (w,),
                                               {"a": a}), a, w0)

    def judge(self, instance: Instance, profile: Profile) -> Judgement:
        a, w0 = float(instance.param("a")), float(instance.theta0[0])
        t = [float(v) for v in np.logspace(-3, 1, 12)]
        w = [w0 * math.exp(-a * s) for s in t]
        series = {"t": t, "loss": [a * v * v / 2 for v in w], "theta_norm": [abs(v) for v in w],
                  "grad_norm": [a * abs(v) for v in w]}
        margin = a * w0 * w0 / 2 - series["loss"][-1]
        outcome = "at the minimum" if w0 == 0 else "converged"
        return Judgement(margin, f"L from {a * w0 * w0 / 2:.4g} to {series['loss'][-1]:.4g}",
                         {"series": series, "spectrum": [a], "outcome": outcome, "a": a})


class QuadraticFormIsConvex(Claim):
    id = "quadratic_form_is_convex"
    title = "A quadratic form with positive diagonal is convex"
    statement = r"$\nabla^2 L \succeq 0$ for $L = a x^2/2 + b x y + c y^2/2$, $a, c > 0$."
    source = "test claim (false when b^2 > a c)"
    hypotheses = ("a > 0", "c > 0")
    method = "smallest Hessian eigenvalue in float64 (numpy.linalg.eigvalsh); confirmed exactly by min(a, c, ac - b^2)"

    def instances(self, profile: Profile) -> Any:
        pos = vst.rationals(min_value=Fraction(1, 2), max_value=2, max_denominator=2)
        b = vst.rationals(min_value=-3, max_value=3, max_denominator=2)
        return st.builds(lambda a, b, c: Instance(ExprLandscape(f"({a})*x**2/2 + ({b})*x*y + ({c})*y**2/2",
                                                                ["x", "y"], name="form"), ("0", "0"),
                                                  {"a": a, "b": b, "c": c}), pos, b, pos)

    def judge(self, instance: Instance, profile: Profile) -> Judgement:
        a, b, c = (float(instance.param(k)) for k in "abc")
        eig = np.linalg.eigvalsh(np.array([[a, b], [b, c]]))
        kind = "convex" if eig[0] >= 0 else "indefinite"
        return Judgement(float(eig[0]), f"smallest eigenvalue {eig[0]:.6g}",
                         {"spectrum": [float(v) for v in eig], "outcome": kind})

    def confirm(self, instance: Instance, profile: Profile, dps: int) -> Judgement:
        a, b, c = (instance.param(k) for k in "abc")
        m = min(a, c, a * c - b * b)
        return Judgement(m, f"min(a, c, ac - b^2) = {m} exactly")
