"""Shared pieces of the SAD claims (Kranz, Gallon, Dereich, Jentzen, arXiv 2505.09572).

Not a claim module (the leading underscore keeps it out of ``verify list``). Uses only the
public API of ``verify``.

* ``sad_violation`` / ``c1_violation``: the hypotheses, each violated one named.
* ``problem``: a 1-D point-data problem with an exact initialization.
* ``finite_difference_theta``: the parameters of Theorem 3.5's construction, a 1-(k+1)-1
  network whose realization is a forward-difference approximation of a polynomial of degree
  k; ``pair_theta``: the symmetric (central) second difference, a 1-2-1 network
  approximating a x^2 + c (for softplus the pair of ``theorems.md``).
* ``series``: the ``series`` evidence of a trajectory.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction
from math import comb
from typing import Any, Sequence

import mpmath
import sympy

from verify import ACTIVATIONS, Data, Init, MpLandscape, Network, Problem, Target

#: the bias b of the finite-difference construction: s^(j)(b) != 0 for j = 1..4 for these activations
FD_BIAS = Fraction(1, 2)
#: the bias b of the symmetric pair: s''(b) != 0 (softplus and swish: b = 0 as in theorems.md)
SAD_BIAS = {"tanh": Fraction(1, 2), "logistic": Fraction(1, 2), "softplus": Fraction(0), "swish": Fraction(0),
            "gelu": Fraction(1, 2), "mish": Fraction(1, 2)}


def _activation_reason(name: str) -> str | None:
    info = ACTIVATIONS[name]
    if not info.analytic:
        return f"non-analytic activation: {name} is not real analytic (not SAD)"
    if not info.sublinear:
        return f"non-sublinear activation: {name} grows faster than linearly along rays (not SAD)"
    if info.polynomial:
        return f"polynomial activation: {name} networks are polynomials (not SAD)"
    return None


def target_degree(problem: Problem) -> int | None:
    """Total degree of a polynomial target (one output), None if not a polynomial."""
    return problem.target.degree if problem.target.polynomial else None


def sad_violation(source: Any, *, min_data: str = "params") -> str | None:
    """The violated hypothesis of Theorems 3.4-3.6 (SAD activation, 1-D polynomial target of
    degree >= 2, point data, more data points than parameters), or None.

    The paper's exact hypotheses on architecture and data could not be read ("big enough");
    this suite asks for n > d (more data points than parameters), below which an analytic
    network generically interpolates the data exactly, and at least one hidden layer.
    """
    if not isinstance(source, Problem):
        return "the theorem is about network losses: give a network problem, not a formula"
    net = source.network
    reason = _activation_reason(net.activation)
    if reason:
        return reason
    if len(net.widths) < 3:
        return "architecture too small: no hidden layer (the network is affine)"
    if source.data.kind != "points":
        return "the theorem is about point data (an empirical loss), not an integral loss"
    if net.widths[0] != 1 or net.widths[-1] != 1:
        return "this check handles 1-D input and output"
    deg = target_degree(source)
    if deg is None:
        return "target is not a polynomial"
    if deg < 2:
        return f"target of degree {deg} < 2 (an affine target can be fitted exactly)"
    if min_data == "params" and source.data.n <= source.n_params:
        return (f"too little data: n = {source.data.n} points <= d = {source.n_params} parameters "
                "(an exact fit is generically possible)")
    return None


def c1_violation(source: Any) -> str | None:
    """The violated hypothesis of Theorem 2.8 (C^1 definable activation), or None."""
    if isinstance(source, Problem):
        name = source.network.activation
        if not ACTIVATIONS[name].c1:
            return f"non-C^1 activation: {name} is not continuously differentiable"
        if source.data.kind != "points":
            return "the check handles point data (an empirical loss)"
    return None


def problem(activation: str, widths: Sequence[int], target: str, points: Sequence[Fraction],
            theta: Sequence[Fraction], *, name: str = "sad") -> Problem:
    """A 1-D problem with point data, mean squared error and an explicit exact theta0."""
    return Problem(network=Network(widths=tuple(widths), activation=activation),
                   data=Data.from_points([[p] for p in points]), target=Target(exprs=(target,), dim=1),
                   factor=Fraction(1), init=Init(scheme="explicit", theta=tuple(theta)), name=name)


def grid(n: int) -> list[Fraction]:
    """n equispaced points in [-1, 1] (exact)."""
    return [Fraction(-1) + Fraction(2 * i, n - 1) for i in range(n)]


def poly_coeffs(target: str) -> list[Fraction]:
    """Coefficients a_0..a_k of a 1-D polynomial target, exact."""
    parsed = Target(exprs=(target,), dim=1)     # the safe reader: target text is never evaluated
    x = parsed.symbols[0]
    poly = sympy.Poly(parsed.sympy_exprs[0], x)
    coeffs = [Fraction(0)] * (poly.degree() + 1)
    for (j,), c in poly.terms():
        coeffs[j] = Fraction(str(sympy.Rational(c)))
    return coeffs


def _mp(value: Any, ctx: Any) -> Any:
    if isinstance(value, Fraction):
        return ctx.mpf(value.numerator) / value.denominator
    return ctx.mpf(value)


def derivative(activation: str, order: int, b: Any, ctx: Any = mpmath) -> Any:
    """s^(order)(b) in ``ctx`` (numerical differentiation at the context's precision)."""
    f = {"tanh": ctx.tanh, "logistic": lambda z: 1 / (1 + ctx.exp(-z)),
         "softplus": lambda z: ctx.log1p(ctx.exp(z)), "swish": lambda z: z / (1 + ctx.exp(-z)),
         "gelu": lambda z: z * ctx.ncdf(z), "mish": lambda z: z * ctx.tanh(ctx.log1p(ctx.exp(z)))}[activation]
    return ctx.diff(f, ctx.mpf(b), order)


def finite_difference_theta(activation: str, coeffs: Sequence[Fraction], h: Any, ctx: Any = mpmath) -> list[Any]:
    r"""theta of the 1-(k+1)-1 network N(x) = sum_i v_i s(b + i h x) + c approximating p(x) = sum_j a_j x^j.

    b = FD_BIAS = 1/2; x^j = h^{-j} Delta_h^j s(b + h x) / s^{(j)}(b) + O(h), with the forward
    difference
    Delta_h^j s(b + h x) = sum_{i=0}^{j} (-1)^{j-i} C(j, i) s(b + i h x): hidden neuron i has
    weight i h and bias b, output weight v_i = sum_{j >= max(i, 1)} a_j h^{-j} (-1)^{j-i} C(j, i)
    / s^{(j)}(b), and c = a_0. So |theta| ~ h^{-k} and L = O(h^2) (Theorem 3.5's mechanism).
    Returns the parameters (W1, b1, W2, b2) in ``ctx`` numbers.
    """
    k = len(coeffs) - 1
    b = _mp(FD_BIAS, ctx)
    h = _mp(h, ctx)
    ders = [None] + [derivative(activation, j, b, ctx) for j in range(1, k + 1)]
    if any(abs(v) < 1e-3 for v in ders[1:]):
        raise ValueError(f"{activation}: a derivative of order <= {k} nearly vanishes at b = {FD_BIAS}")
    v = []
    for i in range(k + 1):
        v.append(sum((ctx.mpf(coeffs[j].numerator) / coeffs[j].denominator) * h ** (-j) * (-1) ** (j - i)
                     * comb(j, i) / ders[j] for j in range(max(i, 1), k + 1)))
    a0 = ctx.mpf(coeffs[0].numerator) / coeffs[0].denominator
    return [i * h for i in range(k + 1)] + [b] * (k + 1) + v + [a0]


def pair_theta(activation: str, a: Fraction, c: Fraction, w: Any, ctx: Any = mpmath) -> list[Any]:
    r"""theta of the 1-2-1 network (v s(b + w x) + v s(b - w x) + c') approximating a x^2 + c.

    s(b + w x) + s(b - w x) - 2 s(b) = s''(b) w^2 x^2 + O(w^4): v = a / (s''(b) w^2),
    c' = c - 2 v s(b). For softplus (b = 0, s''(0) = 1/4) this is the pair of theorems.md:
    N = (4a/w^2)(sp(w x) + sp(-w x)) - 8 a ln 2 / w^2 + c.
    """
    b = ctx.mpf(SAD_BIAS[activation].numerator) / SAD_BIAS[activation].denominator
    w = _mp(w, ctx)
    a_ = ctx.mpf(a.numerator) / a.denominator
    v = a_ / (derivative(activation, 2, b, ctx) * w * w)
    s_b = derivative(activation, 0, b, ctx)
    return [w, -w, b, b, v, v, ctx.mpf(c.numerator) / c.denominator - 2 * v * s_b]


def to_fractions(theta: Sequence[Any], digits: int = 25) -> tuple[Fraction, ...]:
    """Exact rationals near mp numbers (rounded to ``digits`` significant digits)."""
    return tuple(Fraction(mpmath.nstr(mpmath.mpf(t), digits, min_fixed=-mpmath.inf, max_fixed=mpmath.inf))
                 if t != 0 else Fraction(0) for t in theta)


def series(trajectory: Any, *, limit: int = 64) -> dict[str, list[float]]:
    """The ``series`` evidence (t, loss, theta_norm, grad_norm) of a trajectory's checkpoints."""
    ck = trajectory.checkpoints
    out = {key: [float(v) for v in getattr(ck, key)] for key in ("t", "loss", "theta_norm", "grad_norm")}
    step = max(1, len(out["t"]) // limit)
    return {k: v[::step] for k, v in out.items()}


# ---------------------------------------------------------------------------------------
# certified bounds: the library's ball arithmetic (verify.loss_lower_bound, verify.loss_upper_bound)
# ---------------------------------------------------------------------------------------
#: activations whose claims here use certified (ball-arithmetic) bounds; every smooth activation of the registry
#: has ball enclosures (verify.critical.arb), these are the ones the SAD claims draw
IV_ACTIVATIONS = ("tanh", "logistic", "softplus", "swish")


def refine_fit(problem: Problem, theta: Sequence[float], dps: int, *, steps: int = 60) -> tuple[Fraction, ...]:
    """Levenberg-Marquardt on L from a float64 theta at ``dps`` digits (MpLandscape); exact rationals back.

    Used to confirm a near-exact fit: the result is evaluated with ``verify.loss_upper_bound``.
    """
    land = MpLandscape(problem, dps=dps)
    ctx = land.ctx
    th = [ctx.mpf(float(v)) for v in theta]
    d = len(th)
    lam = ctx.mpf(10) ** -3
    loss = land.loss(th)
    for _ in range(steps):
        g = land.grad(th)
        H = ctx.matrix(land.hessian(th))
        A = H + lam * ctx.eye(d)
        try:
            step = ctx.lu_solve(A, ctx.matrix(g))
        except ZeroDivisionError:
            lam *= 10
            continue
        trial = [th[i] - step[i] for i in range(d)]
        new = land.loss(trial)
        if new < loss:
            th, loss = trial, new
            lam = max(lam / 10, ctx.mpf(10) ** (-2 * dps))
            if loss < ctx.mpf(10) ** (-3 * dps):
                break
        else:
            lam *= 10
            if lam > 1e10:
                break
    return tuple(_binary_fraction(v) for v in th)


def _binary_fraction(v: Any) -> Fraction:
    """The exact value of an mpmath number."""
    sign, man, exp, _ = mpmath.mpf(v)._mpf_
    return (-1 if sign else 1) * Fraction(int(man)) * Fraction(2) ** int(exp)


# ---------------------------------------------------------------------------------------
# Followed flows: one experiment for the three flow claims, in every tier
# ---------------------------------------------------------------------------------------

def follow(source: Any, theta0: Sequence[Any], profile: Any, tier: Any) -> tuple[Any, Any]:
    """(landscape, FollowedFlow): the flow from exact theta0 followed until decided, to the
    profile's flow time and steps, in ``tier`` (``Tier.follow``)."""
    land = tier.landscape(source)
    return land, tier.follow(land, list(theta0), t_max=profile.flow_time, max_steps=profile.flow_steps,
                             seconds=profile.flow_seconds)


def to_float(x: Any) -> float:
    """A tier number (float, mpf, Fraction) as a float; nan where it has none."""
    try:
        return float(x)
    except (TypeError, ValueError, OverflowError):
        return float("nan")


def tail_exponent(fl: Any, values: str, decades: float = 1.0) -> float | None:
    """Slope of log(values) against log t over the last ``decades`` of flow time (least
    squares on the checkpoints; None with fewer than three or non-positive values). ``values``
    is ``"crit"`` (|theta| |grad L|), ``"grad"``, ``"norm"`` or ``"loss"``."""
    ck = fl.trajectory.checkpoints
    t = [to_float(v) for v in ck.t]
    if not t or not t[-1] > 0:
        return None
    keep = [i for i, v in enumerate(t) if v > 0 and v >= t[-1] / 10 ** decades]
    norm = [to_float(ck.theta_norm[i]) for i in keep]
    grad = [to_float(ck.grad_norm[i]) for i in keep]
    loss = [to_float(ck.loss[i]) for i in keep]
    y = {"crit": [a * b for a, b in zip(norm, grad)], "grad": grad, "norm": norm, "loss": loss}[values]
    x = [math.log(t[i]) for i in keep]
    if len(x) < 3 or not all(v > 0 and math.isfinite(v) for v in y) or x[-1] - x[0] <= 0:
        return None
    ly = [math.log(v) for v in y]
    mx, my = sum(x) / len(x), sum(ly) / len(ly)
    sxx = sum((a - mx) ** 2 for a in x)
    return sum((a - mx) * (b - my) for a, b in zip(x, ly)) / sxx


def growing(fl: Any, decades: float = 2.0) -> bool:
    """|theta| strictly increasing over the checkpoints of the last ``decades`` of flow time."""
    ck = fl.trajectory.checkpoints
    t = [to_float(v) for v in ck.t]
    norm = [to_float(ck.theta_norm[i]) for i, v in enumerate(t) if t[-1] > 0 and v >= t[-1] / 10 ** decades]
    return len(norm) >= 3 and all(b > a for a, b in itertools.pairwise(norm))


def dichotomy_margin(fl: Any, land: Any, theta0: Sequence[Any], tier: Any) -> tuple[Any, str]:
    """Signed distance from violating Theorem 2.8's dichotomy, and what was seen.

    Decided ``converged``: 1 - |grad L(theta_T)| / |grad L(theta_0)| (the gradient fell to the
    Newton-refined critical point; 1 for a critical start). Decided ``diverging``: -kappa, with
    |theta| |grad L| ~ t^kappa on the tail (positive while the flow becomes asymptotically
    critical, negative for a blow-up whose |theta| |grad L| does not fall). Undecided: -kappa
    when |theta| grew over the last two decades of flow time while |theta| |grad L| rose on
    each of them (a violation of case (b) as far as the budget shows); otherwise None.
    """
    out = fl.outcome
    traj = fl.trajectory
    if fl.decided and out.kind == "converged":
        g0 = tier.norm(land.grad(tier.vector(theta0)))
        gT = traj.grad_norm
        margin = 1 - gT / g0 if g0 > 0 else tier.num(1)
        return margin, f"converged to a {out.point_kind} with L = {to_float(out.limit_loss):.6g}"
    kappa = out.criticality_exponent if out.kind == "diverging" else None
    if kappa is None:
        kappa = tail_exponent(fl, "crit")
    if fl.decided and out.kind == "diverging":
        if kappa is None:
            return None, f"diverging, but |theta| |grad L| has no tail fit: {out.reason}"
        return -kappa, (f"diverging: |theta| -> {to_float(traj.theta_norm):.6g}, L -> {to_float(traj.loss):.6g}, "
                        f"|theta||grad L| ~ t^{kappa:.3g}")
    if fl.decided and out.kind == "periodic":
        return -1.0, "a periodic orbit of a gradient flow"
    late = tail_exponent(fl, "crit", 2.0)
    if growing(fl) and kappa is not None and late is not None and kappa > 0 and late > 0:
        return -min(kappa, late), (f"neither case by t = {to_float(traj.t):g}: |theta| grows while |theta||grad L| "
                                   f"rises (~ t^{min(kappa, late):.3g} over two decades)")
    return None, f"undecided ({fl.why_stopped}): {out.reason}"


def flow_evidence(fl: Any) -> dict[str, Any]:
    """The evidence of a followed flow (outcome, when decided, why it stopped, the series)."""
    out = fl.outcome
    ev: dict[str, Any] = {"outcome": out.kind, "decided": fl.decided, "decided_at": to_float(fl.decided_at)
                          if fl.decided_at is not None else None, "why_stopped": fl.why_stopped,
                          "t": to_float(fl.trajectory.t), "series": series(fl.trajectory),
                          "status": str(fl.trajectory.status)}
    if out.kind == "converged":
        ev.update(point_kind=out.point_kind, index=out.index, null_dim=out.null_dim,
                  limit_loss=to_float(out.limit_loss))
    if out.kind == "diverging":
        ev.update(loss_limit=None if out.loss_limit is None else to_float(out.loss_limit),
                  criticality_exponent=out.criticality_exponent)
    return ev


def restart_state(fl: Any, tier: Any) -> tuple[tuple[Fraction, ...], str]:
    """The flow's final state, exact (its binary value), and where it comes from."""
    theta = tuple(tier.exact_of(v) for v in fl.trajectory.theta)
    return theta, f"the {tier.name} flow's state at t = {to_float(fl.trajectory.t):.4g}"
