"""The benchmark peer of ``lower_bound``: the mpmath.iv branch and bound of Theorem 3.4 as it was before the
ball-arithmetic backend (a frozen copy of theorems/_sad.py at commit 0cf2600; not used by the library)."""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Sequence

import mpmath


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
