r"""Certified lower bounds of a network loss on balls, and certified escape radii of flows.

``loss_lower_bound(problem, R)`` proves L(theta) >= l(R) for every theta with |theta| <= R
(Euclidean norm) by a best-first branch and bound in ball arithmetic (``verify.critical.arb``):

* two whole-ball bounds for one-hidden-layer networks, independent of the width h: the
  *ball-budget bound* (``budget_bound``: every neuron's contribution to every residual is at
  most K rho_k^2 sqrt(|x|^2 + 1) / 2 with sum rho_k^2 <= R^2) and the *curvature bound*
  (``curvature_bound``: projecting the residual vector off the polynomials of degree <= m
  removes the bias and each neuron's Taylor polynomial, leaving at most c_m M_{m+1} R^(m+2) of
  the network against |P_m y| of the target);
* the cube [-R, R]^d is split along its widest side; every box is first shrunk by the ball
  (|theta_j| <= sqrt(R^2 - sum_{i != j} min theta_i^2)) and dropped when it misses the ball;
* a box's bound is the larger of the *per-datum residual bound* (1/n) sum_i min r_i^2 over the
  ball enclosures R_i of the residuals N(x_i) - y_i (monotone activations evaluated at the
  ends of their arguments, so each R_i is nearly the exact range for one-hidden-layer networks)
  and the *mean-value form* L(m) + grad L(X) . (X - m) (a first-order Taylor model);
* *monotonicity pruning*: when a partial derivative has a proved sign on the box and moving
  that coordinate towards 0 lowers L (or the box lies inside the open ball), no minimizer of L
  on the ball lies in the box except on faces shared with other boxes, and the box is dropped;
* *second-order Taylor form* on small boxes: L(m) + grad L(m) . t + t^T H(X) t / 2 bounded
  below coordinate by coordinate (each 1-D quadratic minimized exactly, the off-diagonal
  terms by |H_jk| r_j r_k);
* *convexity*: on small boxes inside the ball whose Hessian enclosure is proved positive
  definite (ball LDL^T), L is convex and L(m) + grad L(m) . (X - m) bounds it from below.

The minimum of the bounds of the boxes left is l(R): a proof, whatever the budget (a small
budget gives a weaker bound, never a wrong one).

``escape_radius(problem, theta)`` combines it with a certified upper bound u of L at an exact
state theta: the loss never increases along a gradient flow, so the flow started from that
exact state never enters a ball |phi| <= R with l(R) > u.

References
----------
E. Hansen, G. W. Walster, *Global Optimization Using Interval Analysis*, 2nd ed., Dekker (2004),
chapters 11-12 (monotonicity and convexity tests). R. B. Kearfott, *Rigorous Global Search:
Continuous Problems*, Kluwer (1996).
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Sequence

from flint import arb

from ..errors import InputError
from ..problem.numbers import check_dps, to_fraction
from . import arb as _arb
from .arb import ball, dec_lower, dec_upper, interval, precision

__all__ = ["LowerBound", "loss_lower_bound", "EscapeRadius", "escape_radius"]

#: boxes narrower than this fraction of R get the convexity test (a Hessian enclosure)
CONVEX_WIDTH = Fraction(1, 16)

#: |s(z) - s(0)| <= K |z| for every z: (whether s(0) = 0, K), for the ball-budget bound
LIPSCHITZ = {"tanh": (True, Fraction(1)), "logistic": (False, Fraction(1, 4)), "softplus": (False, Fraction(1)),
             "swish": (True, Fraction(1)), "gelu": (True, Fraction(1)), "mish": (True, Fraction(1)),
             "identity": (True, Fraction(1))}
#: pieces of the output bias's range in the ball-budget bound
BUDGET_PIECES = 512


@dataclass(frozen=True)
class LowerBound:
    """A certified lower bound of L on the ball |theta| <= radius.

    Attributes
    ----------
    radius : Fraction
    bound : Fraction
        l(R): L(theta) >= bound for every |theta| <= radius (exact rational, >= 0).
    boxes : int
        Boxes explored (split or pruned).
    pruned : int
        Boxes dropped by the monotonicity test or as outside the ball.
    convex : int
        Boxes bounded by the convexity test.
    time_s : float
    exhausted : bool
        True when the box budget (or time limit) ended the search; False when it stopped
        because the bound reached ``target`` (or no box was left).
    worst_box : tuple of (str, str)
        The box with the smallest bound when the search stopped (where l(R) is decided).
    dps : int
    method : str
        Which bound decided l(R): "curvature", "ball budget" or "branch and bound".
    """

    radius: Fraction
    bound: Fraction
    boxes: int
    pruned: int
    convex: int
    time_s: float
    exhausted: bool
    worst_box: tuple[tuple[str, str], ...] = field(default=())
    dps: int = 15
    method: str = "branch and bound"

    @property
    def positive(self) -> bool:
        """L > 0 is proved on the whole ball."""
        return self.bound > 0

    def to_json(self) -> dict[str, Any]:
        return {"radius": str(self.radius), "lower": dec_lower(self.bound, 10),
                "boxes": self.boxes, "pruned": self.pruned, "convex": self.convex, "time_s": round(self.time_s, 3),
                "exhausted": self.exhausted, "dps": self.dps, "method": self.method}


def _check_problem(problem: Any) -> None:
    from ..landscapes.formula import ExprLandscape
    from ..problem.problem import Problem

    if isinstance(problem, ExprLandscape):
        from .certify import smooth_piece

        piece = smooth_piece(problem, [0] * problem.n_params)
        if isinstance(piece, str):
            raise InputError("problem", problem.name, f"{piece}: the branch and bound needs a smooth formula")
        return
    if not isinstance(problem, Problem):
        raise InputError("problem", type(problem).__name__,
                         "give a verify.Problem (a network on point data) or a verify.ExprLandscape")
    if problem.data.interval is not None:
        raise InputError("problem", problem.name, "the branch and bound handles point data (an empirical loss)")
    if problem.network.activation in _arb.KINKED:
        raise InputError("problem", problem.network.activation,
                         "the branch and bound needs a smooth activation (not relu, leaky_relu, elu, softsign)")


Box = list[tuple[Fraction, Fraction]]


def _shrink(box: Box, R2: Fraction) -> Box | None:
    mins = [Fraction(0) if lo <= 0 <= hi else min(lo * lo, hi * hi) for lo, hi in box]
    total = sum(mins)
    if total > R2:
        return None
    out = []
    for (lo, hi), mn in zip(box, mins):
        room = R2 - (total - mn)          # theta_j^2 <= room
        if hi * hi > room or lo * lo > room:
            r = _sqrt_up(room)
            lo, hi = max(lo, -r), min(hi, r)
            if lo > hi:
                return None
        out.append((lo, hi))
    return out


def _sqrt_up(q: Fraction) -> Fraction:
    """A rational >= sqrt(q), within a relative 2^-40."""
    if q <= 0:
        return Fraction(0)
    import math

    num, den = q.numerator, q.denominator
    scale = 1 << 60
    r = Fraction(math.isqrt(num * scale * scale // den) + 1, scale)
    while r * r < q:
        r += Fraction(1, scale)
    return r


def loss_lower_bound(problem: Any, radius: object, *, boxes: int = 2000, dps: int = 15,
                     time_limit: float | None = None, target: object = None) -> LowerBound:
    """A certified lower bound l(R) of L on the ball |theta| <= R, by branch and bound.

    Parameters
    ----------
    problem : Problem or ExprLandscape
        A network on point data with a smooth activation (tanh, logistic, softplus, swish,
        gelu, mish, identity, square); any widths, one-hidden-layer networks (1-h-1, 2-h-1)
        being where the residual enclosures are nearly exact. Or a smooth formula landscape
        (boxes only: the whole-ball bounds are for networks).
    radius : number
        R > 0, exact (int, Fraction, "p/q").
    boxes : int, keyword-only
        Budget of boxes explored.
    dps : int, keyword-only
        Digits of the ball arithmetic (default 15: bounds, not digits, are wanted).
    time_limit : float or None, keyword-only
        Stop after this many seconds (the bound stays certified).
    target : number or None, keyword-only
        Stop as soon as l(R) > target is proved.

    Returns
    -------
    LowerBound
        ``bound`` is certified whatever stopped the search.

    Examples
    --------
    >>> from verify import parse_problem
    >>> prob = parse_problem('''[network]\\nwidths = [1, 1, 1]\\nactivation = "tanh"
    ... [data]\\npoints = ["-1", "-1/2", "0", "1/2", "1"]\\n[target]\\nexpr = "x**2"''')
    >>> loss_lower_bound(prob, "1/2", boxes=200).bound > 0
    True
    """
    _check_problem(problem)
    R = to_fraction(radius, "radius")
    if R <= 0:
        raise InputError("radius", radius, "must be positive")
    if isinstance(boxes, bool) or not isinstance(boxes, int) or boxes < 1:
        raise InputError("boxes", boxes, "must be a positive integer")
    dps = check_dps(dps)
    goal = None if target is None else to_fraction(target, "target")
    start = time.perf_counter()
    with precision(dps):
        return _bnb(problem, R, boxes, dps, time_limit, goal, start)


def _quad_min(g: Fraction, h: Fraction, r: Fraction) -> Fraction:
    """min over |t| <= r of g t + h t^2 / 2 (exact)."""
    vals = [g * r + h * r * r / 2, -g * r + h * r * r / 2]
    if h > 0 and abs(g) <= h * r:
        vals.append(-g * g / (2 * h))
    return min(vals)


def _taylor_lower(loss_m: arb, grad_m: Any, hess_X: Any, radii: Sequence[Fraction]) -> Fraction | None:
    """A lower bound of L on the box m +- r from the second-order Taylor form with the Hessian enclosed over the box:
    L(m + t) >= L(m) + sum_j min (g_j t_j + H_jj t_j^2 / 2) - sum_{j != k} |H_jk| r_j r_k / 2."""
    d = len(radii)
    base = _arb.lower(loss_m)
    if base is None:
        return None
    total = base
    for j in range(d):
        gl, gu, hl = _arb.lower(grad_m[j, 0]), _arb.upper(grad_m[j, 0]), _arb.lower(hess_X[j, j])
        if gl is None or gu is None or hl is None:
            return None
        total += min(_quad_min(gl, hl, radii[j]), _quad_min(gu, hl, radii[j]))
        for k in range(d):
            if k != j:
                up = _arb.upper(abs(hess_X[j, k]))
                if up is None:
                    return None
                total -= up * radii[j] * radii[k] / 2
    return total


def budget_bound(problem: Any, R: Fraction) -> Fraction | None:
    r"""The ball-budget bound of a one-hidden-layer network (any h), or None where it does not apply.

    N(x) = c + sum_k v_k s(w_k . x + b_k). With |s(z) - s(0)| <= K |z| and Cauchy-Schwarz,
    |v_k (s(z_k) - s(0))| <= K |v_k| |(w_k, b_k)| sqrt(|x|^2 + 1) <= K rho_k^2 sqrt(|x|^2 + 1) / 2
    with rho_k^2 = v_k^2 + |w_k|^2 + b_k^2, and sum_k rho_k^2 <= R^2 - c^2 on the ball. So
    N(x_i) = c' + e_i with |e_i| <= a_i (R^2 - c^2), a_i = K sqrt(|x_i|^2 + 1) / 2, where c' = c
    when s(0) = 0 (|c| <= R) and c' = c + s(0) sum v_k is free otherwise (then c^2 is dropped).
    L >= min_{c'} (factor/n) sum_i max(0, |y_i - c'| - e_i)^2, bounded below piece by piece on
    ``BUDGET_PIECES`` pieces of c' in exact rational arithmetic. Independent of h.
    """
    net = problem.network
    if len(net.widths) != 3 or net.widths[-1] != 1 or net.activation not in LIPSCHITZ or net.output_activation:
        return None
    zero_at_0, K = LIPSCHITZ[net.activation]
    if not net.biases:
        return None
    ys = []
    for p in problem.data.points:
        t = problem.target.exact(p)[0]
        if not getattr(t, "is_Rational", False):
            return None
        ys.append(Fraction(int(t.p), int(t.q)))
    a = [K * _sqrt_up(sum(c * c for c in p) + 1) / 2 for p in problem.data.points]
    n = len(ys)
    R2 = R * R
    if zero_at_0:
        lo_c, hi_c = -R, R
    else:
        spread = max(a) * R2
        lo_c, hi_c = min(ys) - spread, max(ys) + spread
    best: Fraction | None = None
    step = (hi_c - lo_c) / BUDGET_PIECES
    for j in range(BUDGET_PIECES):
        c1, c2 = lo_c + j * step, lo_c + (j + 1) * step
        if zero_at_0:
            cmin2 = Fraction(0) if c1 <= 0 <= c2 else min(c1 * c1, c2 * c2)
            budget = R2 - cmin2
        else:
            budget = R2
        total = Fraction(0)
        for y, ai in zip(ys, a):
            dist = Fraction(0) if c1 <= y <= c2 else min(abs(y - c1), abs(y - c2))
            gap = dist - ai * budget
            if gap > 0:
                total += gap * gap
        if best is None or total < best:
            best = total
            if best == 0:
                break
    assert best is not None
    return problem.factor * best / n


#: the orders m of the polynomial projections tried by the curvature bound
CURVATURE_ORDERS = (0, 1, 2, 3)


def _derivative_polys(name: str, order: int) -> Any:
    """s^(j) for j = 1..order as polynomials in t = tanh(z) (tanh) or t = sigma(z) (logistic, softplus), exact."""
    import sympy

    t = sympy.Symbol("t")
    if name == "tanh":
        p, dt = t, 1 - t ** 2
    else:
        p, dt = t, t * (1 - t)
    out = []
    if name == "softplus":
        out.append(p)                  # softplus' = sigma
    while len(out) < order:
        p = sympy.expand(sympy.diff(p, t) * dt)
        out.append(p)
    return t, out[:order]


_SUP_CACHE: dict[tuple[str, int], Fraction] = {}


def derivative_sup(name: str, order: int) -> Fraction | None:
    """A rational upper bound of sup_z |s^(order)(z)| (order >= 1), rigorous, or None when not available here.

    tanh, logistic, softplus: s^(j) is a polynomial P_j in t = tanh(z) in [-1, 1] or t = sigma(z) in [0, 1] (exact,
    by SymPy), bounded by ball evaluation on 512 subintervals. swish = z sigma(z): s^(j) = z sigma^(j) + j sigma^(j-1)
    with sigma^(j) = sigma (1 - sigma) R_j(sigma) and |z| sigma (1 - sigma) <= |z| e^-|z| <= 1/e. gelu: ``_gelu_sup``.
    """
    key = (name, order)
    if key in _SUP_CACHE:
        return _SUP_CACHE[key]
    import sympy

    def poly_sup(expr: Any, t: Any, lo: Fraction, hi: Fraction) -> Fraction:
        coeffs = [Fraction(int(c.p), int(c.q)) for c in sympy.Poly(expr, t).all_coeffs()]
        best = Fraction(0)
        pieces = 512
        with precision(30):
            for k in range(pieces):
                seg = interval(lo + (hi - lo) * k / pieces, lo + (hi - lo) * (k + 1) / pieces)
                acc = arb(0)
                for c in coeffs:
                    acc = acc * seg + ball(c)
                up = _arb.upper(abs(acc))
                assert up is not None
                best = max(best, up)
        return best

    out: Fraction | None
    if name == "tanh":
        t, polys = _derivative_polys("tanh", order)
        out = poly_sup(polys[-1], t, Fraction(-1), Fraction(1))
    elif name in ("logistic", "softplus"):
        t, polys = _derivative_polys(name, order)
        out = poly_sup(polys[-1], t, Fraction(0), Fraction(1))
    elif name == "swish":
        t, polys = _derivative_polys("logistic", order)
        r_j = sympy.cancel(polys[-1] / (t * (1 - t)))
        b_j = poly_sup(r_j, t, Fraction(0), Fraction(1))
        prev = Fraction(1) if order == 1 else poly_sup(polys[-2], t, Fraction(0), Fraction(1))
        out = b_j * Fraction(3679, 10000) + order * prev          # 1/e < 0.3679
    elif name == "gelu":
        out = _gelu_sup(order)
    else:
        out = None
    _SUP_CACHE[key] = out   # type: ignore[assignment]
    return out


def _gelu_sup(order: int) -> Fraction:
    """sup |gelu^(j)|: gelu' = Phi + z phi (|.| <= 1 + phi(1) < 1.2421); for j >= 2, gelu^(j) = phi(z) P_j(z) with an
    exact polynomial P_j, bounded by ball evaluation on 512 pieces of [-Z, Z] and, beyond Z (> sqrt(deg P) + 1, where
    every |z|^i phi(z) decreases), by sum_i |c_i| Z^i phi(Z)."""
    import sympy

    if order == 1:
        return Fraction(12421, 10000)
    z = sympy.Symbol("z", real=True)
    phi = sympy.exp(-z ** 2 / 2) / sympy.sqrt(2 * sympy.pi)
    gelu = z * (1 + sympy.erf(z / sympy.sqrt(2))) / 2
    poly = sympy.Poly(sympy.simplify(sympy.diff(gelu, z, order) / phi), z)
    coeffs = [Fraction(int(c.p), int(c.q)) for c in poly.all_coeffs()]
    big_z = Fraction(int(poly.degree() ** 0.5) + 6)
    best = Fraction(0)
    pieces = 512
    with precision(30):
        norm = 1 / (2 * arb.pi()).sqrt()
        for k in range(pieces):
            seg = interval(-big_z + 2 * big_z * k / pieces, -big_z + 2 * big_z * (k + 1) / pieces)
            acc = arb(0)
            for c in coeffs:
                acc = acc * seg + ball(c)
            val = abs(acc * (-_arb.sqr(seg) / 2).exp() * norm)
            up = _arb.upper(val)
            assert up is not None
            best = max(best, up)
        tail = sum((abs(c) * big_z ** (len(coeffs) - 1 - i) for i, c in enumerate(coeffs)), Fraction(0))
        tail_up = _arb.upper(ball(tail) * (-ball(big_z) ** 2 / 2).exp() * norm)
        assert tail_up is not None
    return max(best, tail_up)


def _sqrt_down(q: Fraction) -> Fraction:
    """A rational <= sqrt(q)."""
    if q <= 0:
        return Fraction(0)
    r = _sqrt_up(q)
    return q / r


def curvature_bound(problem: Any, R: Fraction) -> Fraction | None:
    r"""The polynomial-projection bound of a one-hidden-layer network (any h), or None where it does not apply.

    Let P_m project R^n onto the orthogonal complement of the polynomials of total degree <= m in the inputs,
    evaluated at the data. P_m kills the output bias, and by Taylor's theorem at b_k the part of neuron k below
    degree m + 1: |P_m v_k s(w_k . x_i + b_k)| has norm <= |v_k| |w_k|^(m+1) M_{m+1} / (m+1)! ||(|x_i|^(m+1))_i||,
    M_j >= sup |s^(j)| (``derivative_sup``). Under v^2 + |w|^2 <= rho^2, |v| |w|^(m+1) <= c_m rho^(m+2) with
    c_m = (m+1)^((m+1)/2) / (m+2)^((m+2)/2), and sum_k rho_k^(m+2) <= R^(m+2) on the ball. With r = N - y,
    |r| >= |P_m r| >= |P_m y| - sum_k |P_m u_k|, so

    .. math:: L \ge rac{c}{n} ig(|P_m y| - c_m M_{m+1} \|x^{m+1}\| R^{m+2} / (m+1)!ig)_+^2,

    maximized over m in ``CURVATURE_ORDERS``; exact rational arithmetic with outward square roots.
    """
    from flint import fmpq_mat

    net = problem.network
    if len(net.widths) != 3 or net.widths[-1] != 1 or net.output_activation:
        return None
    ys: list[Fraction] = []
    for p in problem.data.points:
        t = problem.target.exact(p)[0]
        if not getattr(t, "is_Rational", False):
            return None
        ys.append(Fraction(int(t.p), int(t.q)))
    xs = [tuple(Fraction(c) for c in p) for p in problem.data.points]
    n, dim = len(xs), len(xs[0])
    best: Fraction | None = None
    for m in CURVATURE_ORDERS:
        M = derivative_sup(net.activation, m + 1)
        if M is None:
            continue
        exps = [e for e in _monomials(dim, m)]
        if len(exps) >= n:
            break
        V = [[_mono(x, e) for e in exps] for x in xs]
        G = fmpq_mat([[_q(sum((V[i][a] * V[i][b] for i in range(n)), Fraction(0))) for b in range(len(exps))]
                      for a in range(len(exps))])
        if G.det() == 0:
            continue
        rhs = fmpq_mat([[_q(sum((V[i][a] * ys[i] for i in range(n)), Fraction(0)))] for a in range(len(exps))])
        coef = G.solve(rhs)
        cs = [Fraction(int(coef[a, 0].p), int(coef[a, 0].q)) for a in range(len(exps))]
        res2 = sum(((ys[i] - sum((cs[a] * V[i][a] for a in range(len(exps))), Fraction(0))) ** 2 for i in range(n)),
                   Fraction(0))
        py = _sqrt_down(res2)
        xnorm = _sqrt_up(sum((sum((c * c for c in x), Fraction(0)) ** (m + 1) for x in xs), Fraction(0)))
        c_m = _sqrt_up(Fraction((m + 1) ** (m + 1), (m + 2) ** (m + 2)))
        fact = 1
        for j in range(2, m + 2):
            fact *= j
        gap = py - c_m * M * xnorm * R ** (m + 2) / fact
        if gap > 0:
            val = problem.factor * gap * gap / n
            best = val if best is None else max(best, val)
    return best


def _q(v: Fraction) -> Any:
    from flint import fmpq

    return fmpq(v.numerator, v.denominator)


def _monomials(dim: int, degree: int) -> list[tuple[int, ...]]:
    import itertools

    return [e for total in range(degree + 1) for e in itertools.product(range(total + 1), repeat=dim)
            if sum(e) == total]


def _mono(x: Sequence[Fraction], e: Sequence[int]) -> Fraction:
    out = Fraction(1)
    for c, k in zip(x, e):
        out *= c ** k
    return out


class _Ev:
    def __init__(self, loss: arb, grad: Any, hess: Any) -> None:
        self.loss, self.grad, self.hess = loss, grad, hess


def _box_model(problem: Any) -> Any:
    """(X, order) -> enclosures with .loss, .grad, .hess: the ball network, or a formula's SymPy-to-Arb programs."""
    from ..landscapes.formula import ExprLandscape

    if isinstance(problem, ExprLandscape):
        from .certify import _ExprModel, smooth_piece

        piece = smooth_piece(problem, [0] * problem.n_params)
        assert not isinstance(piece, str)
        model = _ExprModel(piece)

        def call(X: Any, order: int) -> _Ev:
            loss, g, H, _ = model(X, order)
            return _Ev(loss, g, H)
        call.d = model.d  # type: ignore[attr-defined]
        return call
    return _arb.BallNetwork(problem, wide=True)


def _bnb(problem: Any, R: Fraction, budget: int, dps: int, time_limit: float | None, goal: Fraction | None,
         start: float) -> LowerBound:
    net = _box_model(problem)
    d = net.d
    R2 = R * R
    counter = 0
    pruned = convex = explored = 0

    def evaluate(box: Box) -> tuple[Fraction, bool]:
        """(lower bound, prune?) of a box."""
        nonlocal convex
        X = [interval(lo, hi) for lo, hi in box]
        ev = net(X, 1)
        lb = _arb.lower(ev.loss)
        lb = Fraction(0) if lb is None or lb < 0 else lb
        g = ev.grad
        assert g is not None
        mids = [(lo + hi) / 2 for lo, hi in box]
        inside = sum(max(lo * lo, hi * hi) for lo, hi in box) < R2
        for j, (lo, hi) in enumerate(box):
            gj = g[j, 0]
            # strict: every point of the box moves towards theta_j = 0 (inside the ball) while L decreases
            if (gj > 0 and (lo > 0 or inside)) or (gj < 0 and (hi < 0 or inside)):
                return lb, True
        m = [ball(v) for v in mids]
        em = net(m, 0)
        mv = em.loss + sum((g[j, 0] * (X[j] - m[j]) for j in range(d)), arb(0))
        lmv = _arb.lower(mv)
        if lmv is not None and lmv > lb:
            lb = lmv
        width = max(hi - lo for lo, hi in box)
        if width <= CONVEX_WIDTH * R:
            full = net(X, 2)
            gm = net(m, 1)
            assert full.hess is not None and gm.grad is not None
            taylor = _taylor_lower(gm.loss, gm.grad, full.hess, [(hi - lo) / 2 for lo, hi in box])
            if taylor is not None and taylor > lb:
                lb = taylor
            inertia = _arb.ldl_inertia(full.hess) if inside else None
            if inertia is not None and inertia[0] == 0:
                convex += 1
                tangent = gm.loss + sum((gm.grad[j, 0] * (X[j] - m[j]) for j in range(d)), arb(0))
                lt = _arb.lower(tangent)
                if lt is not None and lt > lb:
                    lb = lt
        return lb, False

    root = _shrink([(-R, R)] * d, R2)
    assert root is not None
    heap: list[tuple[Fraction, int, Box]] = []
    lb0, _ = evaluate(root)
    from ..problem.problem import Problem

    network = isinstance(problem, Problem)
    ball_budget = (budget_bound(problem, R) if network else None) or Fraction(0)
    curvature = (curvature_bound(problem, R) if network else None) or Fraction(0)
    floor = max(ball_budget, curvature)
    explored += 1
    heap.append((max(lb0, floor), 0, root))
    exhausted = False
    while heap:
        lb, _, box = heap[0]
        if goal is not None and lb > goal:
            break
        if explored >= budget or (time_limit is not None and time.perf_counter() - start > time_limit):
            exhausted = True
            break
        heapq.heappop(heap)
        k = max(range(d), key=lambda i: box[i][1] - box[i][0])
        lo, hi = box[k]
        mid = (lo + hi) / 2
        for half in ((lo, mid), (mid, hi)):
            child = list(box)
            child[k] = half
            shrunk = _shrink(child, R2)
            explored += 1
            if shrunk is None:
                pruned += 1
                continue
            clb, prune = evaluate(shrunk)
            if prune:
                pruned += 1
                continue
            counter += 1
            heapq.heappush(heap, (max(lb, clb, floor), counter, shrunk))
    if not heap:
        # impossible in exact arithmetic (L attains its minimum on the ball): report no bound
        return LowerBound(R, Fraction(0), explored, pruned, convex, time.perf_counter() - start, False, (), dps)
    lb, _, box = heap[0]
    worst = tuple((str(lo), str(hi)) for lo, hi in box)
    method = ("curvature" if lb == curvature and lb > 0 else "ball budget" if lb == ball_budget and lb > 0
              else "branch and bound")
    return LowerBound(R, lb, explored, pruned, convex, time.perf_counter() - start, exhausted, worst, dps, method)


# ---------------------------------------------------------------------------------------
# Escape radius of a flow
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EscapeRadius:
    """A certified escape radius of the gradient flow started from an exact state.

    Attributes
    ----------
    theta_norm : str
        |theta| of the state (a decimal upper bound).
    loss_upper : Fraction
        u >= L(theta), certified.
    radius : Fraction or None
        The largest R tried with l(R) > u: the flow from theta never enters |phi| <= R. None
        when no radius was certified.
    bounds : tuple of LowerBound
        Every l(R) computed.
    statement : str
        What was proved, in words.
    """

    theta_norm: str
    loss_upper: Fraction
    radius: Fraction | None
    bounds: tuple[LowerBound, ...]
    statement: str

    def to_json(self) -> dict[str, Any]:
        return {"theta_norm": self.theta_norm, "loss_upper": dec_upper(self.loss_upper, 10),
                "radius": None if self.radius is None else str(self.radius),
                "bounds": [b.to_json() for b in self.bounds], "statement": self.statement}


def loss_upper_bound(problem: Any, theta: Sequence[object], *, dps: int = 30) -> Fraction:
    """A certified upper bound of L at the exact parameters theta (ball arithmetic)."""
    _check_problem(problem)
    d = problem.n_params
    if isinstance(theta, (str, bytes)) or len(theta) != d:
        raise InputError("theta", f"{len(theta)} values", f"give exactly {d} exact numbers")
    values = [to_fraction(v, f"theta[{i}]") for i, v in enumerate(theta)]
    with precision(check_dps(dps)):
        up = _arb.upper(_box_model(problem)([ball(v) for v in values], 0).loss)
    if up is None:
        raise InputError("theta", "overflow", "L(theta) is not finite in ball arithmetic")
    return up


def escape_radius(problem: Any, theta: Sequence[object], *, radii: Sequence[object] | None = None,
                  boxes: int = 2000, dps: int = 15, bisections: int = 8,
                  time_limit: float | None = None) -> EscapeRadius:
    r"""The largest R with a certified l(R) > L(theta): the flow from theta never enters |phi| <= R.

    L never increases along a gradient flow (dL/dt = -|grad L|^2), so if u >= L(theta) and
    L >= l(R) > u on the ball |phi| <= R, the gradient flow started from the exact state
    theta never enters that ball. The statement is about the flow from the exact state given
    (e.g. a late state of a computed flow, read exactly), not about the computed trajectory
    before it.

    Parameters
    ----------
    problem : Problem or ExprLandscape
        As for ``loss_lower_bound``.
    theta : sequence of d exact numbers
        The state (int, Fraction, "p/q" strings; mpmath numbers at their binary value).
    radii : sequence of numbers or None, keyword-only
        Radii to try (each is certified separately); None: bisection on [0, |theta|].
    boxes, dps, time_limit : keyword-only
        Passed to ``loss_lower_bound`` for each radius.
    bisections : int, keyword-only
        Bisection steps when ``radii`` is None.

    Returns
    -------
    EscapeRadius
    """
    _check_problem(problem)
    u = loss_upper_bound(problem, theta, dps=max(30, dps))
    values = [to_fraction(v, f"theta[{i}]") for i, v in enumerate(theta)]
    norm2 = sum((v * v for v in values), Fraction(0))
    norm_up = _sqrt_up(norm2)
    bounds: list[LowerBound] = []
    best: Fraction | None = None

    def proves(R: Fraction) -> bool:
        res = loss_lower_bound(problem, R, boxes=boxes, dps=dps, time_limit=time_limit, target=u)
        bounds.append(res)
        return res.bound > u

    if radii is not None:
        for r in sorted(to_fraction(v, "radii") for v in radii):
            if r <= 0:
                raise InputError("radii", str(r), "radii must be positive")
            if proves(r):
                best = r
    else:
        lo, hi = Fraction(0), norm_up
        for _ in range(bisections):
            mid = (lo + hi) / 2
            if proves(mid):
                lo = best = mid
            else:
                hi = mid
    if best is None:
        statement = (f"no radius certified: l(R) <= u = {dec_upper(u, 8)} >= L(theta) for every R tried")
    else:
        shown = dec_lower(best, 8)
        statement = (f"L(theta) <= {dec_upper(u, 8)} < {dec_lower(max(b.bound for b in bounds if b.radius == best), 8)}"
                     f" <= min of L on |phi| <= {shown}: the gradient flow started from this exact theta "
                     f"(|theta| <= {dec_upper(norm_up, 8)}) never enters the ball |phi| <= {shown}")
    return EscapeRadius(dec_upper(norm_up, 10), u, best, tuple(bounds), statement)
