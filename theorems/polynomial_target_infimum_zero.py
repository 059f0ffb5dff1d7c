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
|theta_h| ~ h^{-k}. The parameters theta_h (h = 2^-1, ..., 2^-10) are computed once at 60
digits and fixed as exact rationals; the experiment (one body for every tier: float64 to
search, ``dps`` and ``2 dps`` digits to confirm) evaluates L(theta_h) and |theta_h| in the tier
and fits the rates L ~ h^alpha, |theta| ~ h^-beta over h = 2^-6 .. 2^-10 (least squares on the
logarithms, in the tier). float64 resolves these losses (its rounding of theta_h costs about
1e-13 in L at h = 2^-10, far below L ~ 1e-5). The certificate: a ball-arithmetic upper bound
of L at theta_h for h = 2^-10 (``verify.loss_upper_bound``), so inf L <= U is proved for
explicit parameters.

Margin: min(alpha - ``loss_rate``, beta). With ``loss_rate = 0`` (the claim: L(theta_h) -> 0
along parameters that diverge) it is negative when the loss along the construction does not
decay (alpha <= 0) or the parameters do not grow (beta <= 0); a variant of the claim that states
a faster rate (a larger ``loss_rate``) is refuted by the fitted alpha ~ 2 (the planted false
claim in ``tests/quality/`` does this). A construction that fails to drive L to 0 would not
refute the theorem (another sequence might); it is reported, confirmed at higher precision, as a
candidate.

Hypotheses (``not_applicable`` otherwise): a SAD activation, a polynomial target of degree
>= 2, point data, more data points than parameters. Beyond this method's reach (inconclusive):
networks other than one hidden layer of at least k + 1 neurons with 1-D input and output (the
construction's; extra neurons get zero weights), and activations with a derivative of order
<= k that nearly vanishes at b = 1/2.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from typing import Any

import mpmath
from hypothesis import strategies as st

from theorems import _sad
from verify import Claim, Instance, Judgement, Profile, Tier, loss_upper_bound
from verify import strategies as vst

#: h = 2^-1 .. 2^-_LEVELS; rates are fitted over the later half
_LEVELS = 10


def _exact(v: Any) -> Fraction:
    """The exact value of an mpf (of any context)."""
    sign, man, exp, _ = v._mpf_
    q = Fraction(int(man)) * Fraction(2) ** int(exp)
    return -q if sign else q


@lru_cache(maxsize=32)
def _thetas(activation: str, target: str, width: int) -> tuple[tuple[Fraction, ...], ...]:
    """theta_h for h = 2^-1 .. 2^-_LEVELS as exact rationals (computed at 60 digits, padded to ``width``)."""
    coeffs = _sad.poly_coeffs(target)
    k = len(coeffs) - 1
    ctx = mpmath.MPContext()
    ctx.dps = 60
    out = []
    pad = width - (k + 1)  # extra neurons: zero in and out
    for m in range(1, _LEVELS + 1):
        th = [_exact(ctx.mpf(v)) for v in _sad.finite_difference_theta(activation, coeffs, ctx.mpf(2) ** -m, ctx)]
        w, b, v, c = th[:k + 1], th[k + 1:2 * k + 2], th[2 * k + 2:3 * k + 3], th[-1]
        z = [Fraction(0)] * pad
        out.append(tuple(w + z + b + z + v + z + [c]))
    return tuple(out)


def _slope(tier: Tier, xs: list[Any], ys: list[Any]) -> Any:
    """Least-squares slope of ys against xs, in the tier."""
    n = len(xs)
    mx = sum(xs, tier.num(0)) / n
    my = sum(ys, tier.num(0)) / n
    sxy = sum(((x - mx) * (y - my) for x, y in zip(xs, ys)), tier.num(0))
    sxx = sum(((x - mx) ** 2 for x in xs), tier.num(0))
    return sxy / sxx


class PolynomialTargetInfimumZero(Claim):
    title = "For SAD networks and polynomial targets of degree >= 2 the infimum of the loss is 0"
    statement = (r"SAD activation, polynomial target of degree $\ge 2$, architecture and data big enough: "
                 r"$\inf_\theta L(\theta) = 0$, along parameters with $|\theta| \to \infty$.")
    source = "Kranz, Gallon, Dereich, Jentzen, SAD neural networks (arXiv 2505.09572), Theorem 3.5"
    hypotheses = ("SAD activation", "1-D polynomial target of degree k >= 2", "more data points than parameters")
    method = ("finite-difference parameters theta_h, h = 2^-1 .. 2^-10, exact rationals; one experiment in every "
              "tier (float64 to search, dps and 2 dps digits to confirm): L(theta_h) and |theta_h| in the tier, "
              "rates L ~ h^alpha and |theta| ~ h^-beta fitted over h = 2^-6 .. 2^-10; margin min(alpha, beta); the "
              "certificate: a ball-arithmetic upper bound of L(theta_h) at h = 2^-10 (verify.loss_upper_bound)")
    #: the rate the claim asserts for L(theta_h) -> 0 along the construction: L = O(h^alpha) with alpha > loss_rate
    loss_rate = 0

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
        if reason == "this check handles 1-D input and output":
            return None     # a limit of the method, not a hypothesis: judged inconclusive
        return reason

    def _reach(self, instance: Instance) -> str | None:
        net = instance.source.network
        k = _sad.target_degree(instance.source)
        if net.widths[0] != 1 or net.widths[-1] != 1:
            return "beyond this method's reach: the construction is for 1-D input and output"
        if len(net.widths) != 3 or net.widths[1] < k + 1:
            return (f"beyond this method's reach: the finite-difference construction needs one hidden layer of >= "
                    f"{k + 1} neurons (degree {k}), got {net.describe()}")
        return None

    def experiment(self, instance: Instance, profile: Profile, tier: Tier) -> Judgement:
        beyond = self._reach(instance)
        if beyond:
            return Judgement(None, beyond)
        prob = instance.source
        try:
            thetas = _thetas(prob.network.activation, prob.target.exprs[0], prob.network.widths[1])
        except ValueError as exc:   # a derivative of s nearly vanishes at b
            return Judgement(None, f"beyond this method's reach: {exc}")
        land = tier.landscape(prob)
        losses = [land.loss(tier.vector(t) if tier.is_float64 else list(t)) for t in thetas]
        norms = [tier.norm(tier.vector(t)) for t in thetas]
        if tier.is_float64:
            losses = [float(v) for v in losses]
        log = tier.ctx.log
        logh = [log(tier.num(Fraction(1, 2**m))) for m in range(1, _LEVELS + 1)]
        half = _LEVELS // 2
        if any(tier.to_float(v) <= 0 for v in losses[half:]):
            return Judgement(None, "a loss along the construction is 0 in this tier: no rate to fit")
        alpha = _slope(tier, logh[half:], [log(v) for v in losses[half:]])
        beta = -_slope(tier, logh[half:], [log(v) for v in norms[half:]])
        margin = min(alpha - self.loss_rate, beta, key=tier.to_float)
        if tier.is_float64:
            margin = float(margin)
        summary = (f"({tier}) L(theta_h) ~ h^{tier.text(alpha, 4)} -> {tier.text(losses[-1], 4)} at h = 2^-{_LEVELS}, "
                   f"|theta_h| ~ h^-{tier.text(beta, 4)} -> {tier.text(norms[-1], 4)}")
        evidence = {"series": {"t": [2.0**m for m in range(1, _LEVELS + 1)], "loss": [tier.to_float(v) for v in losses],
                               "theta_norm": [tier.to_float(v) for v in norms]},
                    "loss_rate": tier.to_float(alpha), "norm_rate": tier.to_float(beta),
                    "outcome": "L -> 0" if tier.to_float(alpha) > 0 else "no decay"}
        upper = loss_upper_bound(prob, list(thetas[-1]), dps=30)
        cert = {"kind": "upper bound at a point",
                "statement": (f"L(theta_h) <= {float(upper):.6g} at the finite-difference parameters theta_h, "
                              f"h = 2^-{_LEVELS} (|theta_h| = {tier.to_float(norms[-1]):.6g}): inf L <= "
                              f"{float(upper):.6g}"),
                "upper": str(upper) if Fraction(upper).denominator < 10**40 else f"{float(upper):.17g}",
                "theta": [str(v) for v in thetas[-1]][:64],
                "recheck": "verify.loss_upper_bound(problem, theta, dps=30)"}
        return Judgement(margin, summary, evidence, cert if tier.to_float(margin) >= 0 else None)
