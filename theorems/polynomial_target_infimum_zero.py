r"""Theorem 3.5 of Kranz, Gallon, Dereich, Jentzen, "SAD neural networks" (arXiv 2505.09572).

Statement
---------
SAD activation, polynomial target of degree >= 2, architecture and data set big enough:
inf_theta L(theta) = 0 (while, by Theorem 3.4, the infimum is not attained).

How it is checked
-----------------
By the paper's mechanism, finite differences: for a target p(x) = sum_j a_j x^j of degree k
and a bias b with s^(j)(b) != 0, the 1-(k+1)-1 network

    N_h(x) = sum_{i=0}^{k} v_i s(b + i h x) + a_0,
    v_i = sum_{j >= max(i,1)} a_j h^{-j} (-1)^{j-i} C(j, i) / s^(j)(b)

uses h^{-j} Delta_h^j s(b + h x) = s^(j)(b) x^j + O(h), so L(theta_h) = O(h^2) while
|theta_h| ~ h^{-k}. The check builds theta_h for h = 2^-1, 2^-2, ... and fits the rates
L ~ h^alpha, |theta| ~ h^-beta. float64 (``judge``) is used only while it resolves the
cancellations (h >= 2^-6); ``confirm`` evaluates L(theta_h) with certified upper bounds
(ball arithmetic, ``verify.loss_upper_bound``, at dps digits) down to h = 2^-(dps/3), so
"inf L <= U(h_last)" is proved for the explicit parameters. Margin: the fitted alpha
(positive: the loss along the sequence tends to 0).
A construction that fails to drive L to 0 would not refute the theorem (another sequence
might); it is reported, confirmed at higher precision, as a candidate.

Hypotheses (``not_applicable`` otherwise): a SAD activation with an interval enclosure
(tanh, logistic, softplus, swish), a 1-D polynomial target of degree >= 2, a one-hidden-layer
network with at least k + 1 neurons (the construction's; extra neurons get zero weights), and
more data points than parameters.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import mpmath
import numpy as np
from hypothesis import strategies as st

from theorems import _sad
from verify import Claim, Instance, Judgement, NpLandscape, Profile, loss_upper_bound
from verify import strategies as vst


def _fit(hs: list[float], values: list[float]) -> float:
    """Slope of log(values) against log(h) over the later half (L ~ h^slope)."""
    k = max(2, len(hs) // 2)
    x, y = np.log(hs[-k:]), np.log(np.maximum(values[-k:], 1e-300))
    return float(np.polyfit(x, y, 1)[0])


class PolynomialTargetInfimumZero(Claim):
    title = "For SAD networks and polynomial targets of degree >= 2 the infimum of the loss is 0"
    statement = (r"SAD activation, polynomial target of degree $\ge 2$, architecture and data big enough: "
                 r"$\inf_\theta L(\theta) = 0$, along parameters with $|\theta| \to \infty$.")
    source = "Kranz, Gallon, Dereich, Jentzen, SAD neural networks (arXiv 2505.09572), Theorem 3.5"
    hypotheses = ("SAD activation (tanh, logistic, softplus, swish here)", "1-D polynomial target of degree k >= 2",
                  "one hidden layer with >= k + 1 neurons", "more data points than parameters")
    method = ("finite-difference parameters theta_h (h = 2^-m): L(theta_h) in float64 while it resolves, "
              "certified upper bounds (ball arithmetic, verify.loss_upper_bound) at dps digits in the confirmation; "
              "fitted rates")

    def instances(self, profile: Profile) -> Any:
        coeff = vst.rationals(min_value=-2, max_value=2, max_denominator=4)

        @st.composite
        def build(draw: Any) -> Instance:
            act = draw(st.sampled_from(_sad.IV_ACTIVATIONS))
            k = draw(st.integers(2, 3))
            coeffs = [draw(coeff) for _ in range(k)] + [draw(coeff.filter(lambda c: c != 0))]
            target = " + ".join(f"({c})*x**{j}" for j, c in enumerate(coeffs))
            d = 3 * (k + 1) + 1
            n = draw(st.integers(d + 1, d + 4))
            prob = _sad.problem(act, (1, k + 1, 1), target, _sad.grid(n), [Fraction(0)] * d,
                                name=f"{act}-1-{k + 1}-1-deg{k}")
            return Instance(prob, None)

        return build()

    def check_hypotheses(self, instance: Instance) -> str | None:
        reason = _sad.sad_violation(instance.source)
        if reason is not None:
            return reason
        net = instance.source.network
        if net.activation not in _sad.IV_ACTIVATIONS:
            return f"no interval enclosure for {net.activation} in this check"
        k = _sad.target_degree(instance.source)
        if len(net.widths) != 3 or net.widths[1] < k + 1:
            return (f"architecture too small: the construction needs one hidden layer of >= {k + 1} neurons "
                    f"(degree {k}), got {net.describe()}")
        return None

    def _theta(self, instance: Instance, h: Any, ctx: Any) -> list[Any]:
        prob = instance.source
        coeffs = _sad.poly_coeffs(prob.target.exprs[0])
        k = len(coeffs) - 1
        width = prob.network.widths[1]
        th = _sad.finite_difference_theta(prob.network.activation, coeffs, h, ctx)
        pad = width - (k + 1)  # extra neurons: zero in and out
        w, b, v, c = th[:k + 1], th[k + 1:2 * k + 2], th[2 * k + 2:3 * k + 3], th[-1]
        return w + [0] * pad + b + [0] * pad + v + [0] * pad + [c]

    def judge(self, instance: Instance, profile: Profile) -> Judgement:
        land = NpLandscape(instance.source)
        ms = list(range(1, 7))
        hs = [2.0 ** -m for m in ms]
        with mpmath.workdps(30):
            thetas = [np.array([float(v) for v in self._theta(instance, mpmath.mpf(h), mpmath)]) for h in hs]
        losses = [float(land.loss(t)) for t in thetas]
        norms = [float(np.linalg.norm(t)) for t in thetas]
        alpha, beta = _fit(hs, losses), -_fit(hs, norms)
        summary = (f"L(theta_h) ~ h^{alpha:.2f} -> {losses[-1]:.3g} at h = 2^-{ms[-1]}, |theta_h| ~ h^-{beta:.2f} "
                   f"-> {norms[-1]:.3g}")
        evidence = {"series": {"t": [1 / h for h in hs], "loss": losses, "theta_norm": norms},
                    "loss_rate": alpha, "norm_rate": beta, "outcome": "L -> 0" if alpha > 0 else "no decay"}
        return Judgement(alpha, summary, evidence)

    def confirm(self, instance: Instance, profile: Profile, dps: int) -> Judgement:
        prob = instance.source
        prec = int(dps * 3.33) + 8
        ms = list(range(1, max(8, dps // 3) + 1))
        uppers, norms = [], []
        with mpmath.workprec(prec):
            for m in ms:
                th = self._theta(instance, mpmath.mpf(2) ** -m, mpmath)
                up = loss_upper_bound(prob, th, dps=dps)
                uppers.append(mpmath.mpf(up.numerator) / up.denominator)
                norms.append(mpmath.norm(th))
        hs = [2.0 ** -m for m in ms]
        alpha = _fit(hs, [float(u) for u in uppers])
        beta = -_fit(hs, [float(v) for v in norms])
        summary = (f"certified L(theta_h) <= {mpmath.nstr(uppers[-1], 6)} at h = 2^-{ms[-1]} (|theta| = "
                   f"{mpmath.nstr(norms[-1], 6)}); rates L ~ h^{alpha:.2f}, |theta| ~ h^-{beta:.2f}")
        return Judgement(mpmath.mpf(alpha), summary,
                         {"certified_upper": [mpmath.nstr(u, 10) for u in uppers], "loss_rate": alpha})
