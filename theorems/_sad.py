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

from fractions import Fraction
from math import comb
from typing import Any, Sequence

import mpmath
import sympy

from verify import ACTIVATIONS, Data, Init, Network, Problem, Target

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
# interval arithmetic (mpmath iv) for one-hidden-layer networks
# ---------------------------------------------------------------------------------------
def _iv_act(activation: str, z: Any, iv: Any) -> Any:
    """An enclosure of s(z) over the interval z (each formula has z once, except swish)."""
    if activation == "tanh":
        return 1 - 2 / (iv.exp(2 * z) + 1)
    if activation == "logistic":
        return 1 / (1 + iv.exp(-z))
    if activation == "softplus":
        return iv.log(1 + iv.exp(z))
    if activation == "swish":
        return z / (1 + iv.exp(-z))
    raise ValueError(f"no interval enclosure for {activation}")


IV_ACTIVATIONS = ("tanh", "logistic", "softplus", "swish")


def iv_residuals(activation: str, hidden: int, theta: Sequence[Any], xs: Sequence[Fraction],
                 ys: Sequence[Fraction], iv: Any) -> list[Any]:
    """Enclosures of N(x_i) - y_i for a 1-h-1 network, theta = (W1 (h), b1 (h), W2 (h), b2) intervals."""
    w, b, v, c = theta[:hidden], theta[hidden:2 * hidden], theta[2 * hidden:3 * hidden], theta[3 * hidden]
    out = []
    for x, y in zip(xs, ys):
        xi = iv.mpf(x.numerator) / x.denominator
        acc = c - iv.mpf(y.numerator) / y.denominator
        for k in range(hidden):
            acc = acc + v[k] * _iv_act(activation, w[k] * xi + b[k], iv)
        out.append(acc)
    return out


def _sq_lower(r: Any, iv: Any) -> Any:
    """An interval whose lower end bounds r^2 from below over the interval r (0 when it contains 0)."""
    lo, hi = r.a, r.b
    if lo > 0:
        return lo * lo
    if hi < 0:
        return hi * hi
    return iv.mpf(0)


def bnb_lower_bound(activation: str, hidden: int, xs: Sequence[Fraction], ys: Sequence[Fraction], radius: Fraction,
                    *, boxes: int, prec: int = 53) -> tuple[Any, int, Any]:
    r"""A certified lower bound of L(theta) = (1/n) sum_i (N(x_i) - y_i)^2 over |theta| <= radius.

    Best-first interval branch and bound (mpmath ``iv`` at ``prec`` bits, restored after):
    the cube [-R, R]^d is split along its widest side; a box's bound is (1/n) sum_i
    min_{r in R_i} r^2 over the interval residuals R_i (the natural interval extension),
    boxes lying wholly outside the ball are dropped, and the box with the smallest bound is
    split next, ``boxes`` times. The minimum of the bounds of the remaining boxes is a lower
    bound of L on the ball, certified up to mpmath's outward rounding.

    Returns
    -------
    (bound, boxes split, worst box's lower corner) ; the bound as an mpf (lower end).
    """
    iv = mpmath.iv
    saved = iv.prec
    iv.prec = prec
    try:
        with mpmath.workprec(prec):
            return _bnb(activation, hidden, xs, ys, radius, boxes, iv)
    finally:
        iv.prec = saved


def _bnb(activation: str, hidden: int, xs: Sequence[Fraction], ys: Sequence[Fraction], radius: Fraction,
         boxes: int, iv: Any) -> tuple[Any, int, Any]:
    import heapq

    d = 3 * hidden + 1
    R = mpmath.mpf(radius.numerator) / radius.denominator
    n = len(xs)

    def bound(box: list[Any]) -> Any:
        res = iv_residuals(activation, hidden, [iv.mpf([lo, hi]) for lo, hi in box], xs, ys, iv)
        total = iv.mpf(0)
        for r in res:
            total = total + _sq_lower(r, iv)
        return mpmath.mpf((total / n).a)

    def outside(box: list[Any]) -> bool:  # wholly outside the ball, with a margin for rounding
        near = sum((0 if lo <= 0 <= hi else min(lo * lo, hi * hi)) for lo, hi in box)
        return bool(near > R * R * (1 + mpmath.mpf(2) ** -40))

    start = [(-R, R)] * d
    heap: list[tuple[Any, int, list[Any]]] = [(bound(start), 0, start)]
    counter = 1
    split = 0
    while split < boxes and heap:
        lb, _, box = heapq.heappop(heap)
        split += 1
        widths = [hi - lo for lo, hi in box]
        k = max(range(d), key=lambda i: widths[i])
        lo, hi = box[k]
        mid = (lo + hi) / 2
        for half in ((lo, mid), (mid, hi)):
            child = list(box)
            child[k] = half
            if outside(child):
                continue
            heapq.heappush(heap, (max(lb, bound(child)), counter, child))
            counter += 1
    if not heap:
        return mpmath.inf, split, None
    lb, _, box = heap[0]
    return lb, split, [lo for lo, _ in box]


def iv_loss_upper(activation: str, hidden: int, theta: Sequence[Any], xs: Sequence[Fraction],
                  ys: Sequence[Fraction], *, prec: int) -> Any:
    """A certified upper bound of L at the exact (binary) parameters theta (mpf), iv at ``prec`` bits."""
    iv = mpmath.iv
    saved = iv.prec
    iv.prec = prec
    try:
        res = iv_residuals(activation, hidden, [iv.mpf(t) for t in theta], xs, ys, iv)
        total = iv.mpf(0)
        for r in res:
            total = total + r * r
        with mpmath.workprec(prec):
            return +mpmath.mpf((total / len(xs)).b)
    finally:
        iv.prec = saved
