"""The high-precision tier of the loss landscape: mpmath at a chosen number of digits.

Loss, gradient, Hessian and Hessian-vector products of a problem's loss, for any network
size, computed with plain Python lists of mpmath numbers in a private context. The
gradient is reverse-mode backpropagation; Hessian-vector products are forward-over-reverse
(Pearlmutter's R-operator); the Hessian is d such products with the basis vectors. The
integral loss is a Gauss-Legendre sum, split at the first-layer breakpoints of kinked
activations, with the Leibniz boundary term that a ReLU / leaky ReLU Hessian needs.

This tier shares no numerical code with the float64 and SymPy tiers: it is an independent
implementation, checked against its own oracles in ``tests/test_mp.py``.

References
----------
B. A. Pearlmutter, "Fast exact multiplication by the Hessian", Neural Computation 6 (1994).
"""

from __future__ import annotations

from fractions import Fraction
from itertools import pairwise
from typing import Any, Callable, Sequence

import mpmath
import numpy as np
import sympy
from mpmath import libmp

from ..errors import InputError
from ..problem.numbers import GUARD_DPS, check_dps, to_fraction
from ..problem.problem import Problem

__all__ = ["MpLandscape"]

Mpf = Any  # mpmath has no type stubs: an ``ctx.mpf`` of the landscape's context
Vec = list[Any]  # a list of Mpf
ActivationFn = Callable[[Any], "tuple[Any, Any, Any]"]

FIRST_NODES = 8
"""Gauss-Legendre nodes per piece at which the adaptive rule starts (then doubles)."""
MAX_NODES = 1024
"""Largest number of Gauss-Legendre nodes per piece of the adaptive rule."""

_FDOT_WIDTH = 4
"""Layers at least this wide sum W a with one ``fdot`` per neuron and point."""
_KINKED = ("relu", "leaky_relu", "elu", "softsign")
_RAW = libmp.round_nearest


# ---------------------------------------------------------------------------------------
# Activations: value, first and second derivative, hand-written for mpmath
# ---------------------------------------------------------------------------------------

def _make_activation(ctx: Any, name: str, slope: Fraction) -> ActivationFn:
    """The function z -> (s(z), s'(z), s''(z)) in ``ctx``.

    At the kink z = 0 of relu, leaky_relu, elu and softsign the left branch (the formula for
    z < 0) gives the value and both derivatives. The formulas avoid cancellation, so the
    three numbers are accurate relative to their own size (except near a zero of s'').

    Parameters
    ----------
    ctx : mpmath context
        Working context; the result computes in it.
    name : str
        Activation name (see ``verify.ACTIVATIONS``).
    slope : Fraction
        gamma of leaky_relu.
    """
    mpf = ctx.mpf
    zero, one = ctx.zero, ctx.one
    two, four = mpf(2), mpf(4)
    half = mpf(0.5)
    exp, log1p = ctx.exp, ctx.log1p

    def sig_om(z: Mpf) -> tuple[Mpf, Mpf]:
        # logistic(z) and 1 - logistic(z), from exp(-|z|) <= 1: no overflow, no cancellation
        if z > zero:
            e = exp(-z)
            d = one + e
            return one / d, e / d
        e = exp(z)
        d = one + e
        return e / d, one / d

    if name == "tanh":
        def act(z: Mpf) -> tuple[Mpf, Mpf, Mpf]:
            if z > half or z < -half:
                e = exp(-2 * abs(z))
                d = one + e
                t = (one - e) / d
                if z < zero:
                    t = -t
                s1 = four * e / (d * d)
            else:
                t = ctx.tanh(z)
                s1 = one - t * t
            return t, s1, -2 * t * s1
    elif name == "logistic":
        def act(z: Mpf) -> tuple[Mpf, Mpf, Mpf]:
            sig, om = sig_om(z)
            s1 = sig * om
            return sig, s1, s1 * (om - sig)
    elif name == "softplus":
        def act(z: Mpf) -> tuple[Mpf, Mpf, Mpf]:
            if z > zero:
                e = exp(-z)
                d = one + e
                sig, om = one / d, e / d
                value = z + log1p(e)
            else:
                e = exp(z)
                d = one + e
                sig, om = e / d, one / d
                value = log1p(e)
            return value, sig, sig * om
    elif name == "gelu":
        inv_sqrt2 = one / ctx.sqrt(2)
        inv_sqrt2pi = one / ctx.sqrt(2 * ctx.pi)

        def act(z: Mpf) -> tuple[Mpf, Mpf, Mpf]:
            cdf = ctx.erfc(-z * inv_sqrt2) / 2
            zz = z * z
            pdf = exp(-zz / 2) * inv_sqrt2pi
            return z * cdf, cdf + z * pdf, pdf * (two - zz)
    elif name == "swish":
        def act(z: Mpf) -> tuple[Mpf, Mpf, Mpf]:
            sig, om = sig_om(z)
            return z * sig, sig * (one + z * om), sig * om * (two + z * (om - sig))
    elif name == "mish":
        # s = z T, T = tanh(softplus z); with sig = logistic z, D = 1 - T^2 = T'/sig:
        # s' = T + z sig D,  s'' = sig D (2 + z (1 - sig - 2 T sig))
        def act(z: Mpf) -> tuple[Mpf, Mpf, Mpf]:
            if z > zero:
                e = exp(-z)             # u = 1 + e^z = (1 + e) / e
                d = one + e
                sig, om = one / d, e / d
                num = one + 2 * e       # (u^2 - 1) e^2
                den = num + 2 * e * e   # (u^2 + 1) e^2
                t = num / den
                dd = four * (d * e / den) ** 2
            else:
                e = exp(z)
                u = one + e
                sig, om = e / u, one / u
                q = u * u
                t = e * (two + e) / (q + one)
                dd = four * q / (q + one) ** 2
            sd = sig * dd
            return z * t, t + z * sd, sd * (two + z * (om - 2 * t * sig))
    elif name == "elu":
        eighth = mpf(0.125)

        def act(z: Mpf) -> tuple[Mpf, Mpf, Mpf]:
            if z > zero:
                return z, one, zero
            if z > -eighth:
                em = ctx.expm1(z)
                e = em + one
            else:
                e = exp(z)
                em = e - one
            return em, e, e
    elif name == "softsign":
        def act(z: Mpf) -> tuple[Mpf, Mpf, Mpf]:
            if z > zero:
                d = one + z
                inv = one / d
                inv2 = inv * inv
                return z * inv, inv2, -2 * inv2 * inv
            d = one - z
            inv = one / d
            inv2 = inv * inv
            return z * inv, inv2, 2 * inv2 * inv
    elif name == "relu":
        def act(z: Mpf) -> tuple[Mpf, Mpf, Mpf]:
            if z > zero:
                return z, one, zero
            return zero, zero, zero
    elif name == "leaky_relu":
        gamma = mpf(libmp.from_rational(slope.numerator, slope.denominator, ctx.prec, _RAW))

        def act(z: Mpf) -> tuple[Mpf, Mpf, Mpf]:
            if z > zero:
                return z, one, zero
            return gamma * z, gamma, zero
    elif name == "identity":
        def act(z: Mpf) -> tuple[Mpf, Mpf, Mpf]:
            return z, one, zero
    elif name == "square":
        def act(z: Mpf) -> tuple[Mpf, Mpf, Mpf]:
            return z * z, 2 * z, two
    else:  # pragma: no cover - Network validates the name
        raise InputError("network.activation", name, "unknown activation")
    return act


# ---------------------------------------------------------------------------------------
# Gauss-Legendre rules at any precision
# ---------------------------------------------------------------------------------------

_GL_CACHE: dict[tuple[int, int], tuple[tuple[Any, ...], tuple[Any, ...]]] = {}


def _gauss_legendre_raw(n: int, prec: int) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """Nodes and weights of the n-point Gauss-Legendre rule on [-1, 1], as raw mpf tuples.

    Newton's method on P_n from numpy's float64 nodes, in fixed-point integer arithmetic
    with ``prec + 40`` bits (the three-term recurrence is stable on [-1, 1]); weights
    w = 2 / ((1 - x^2) P_n'(x)^2). Nodes ascending; exactly symmetric. Cached per (n, prec).
    """
    key = (n, prec)
    hit = _GL_CACHE.get(key)
    if hit is not None:
        return hit
    wp = prec + 40
    unit = 1 << wp
    tol = 1 << (wp - prec - 20)

    def legendre(x: int) -> tuple[int, int]:
        p0, p1 = unit, x
        for k in range(1, n):
            p0, p1 = p1, ((2 * k + 1) * ((x * p1) >> wp) - k * p0) // (k + 1)
        return p1, p0  # P_n(x), P_{n-1}(x)

    guesses = np.polynomial.legendre.leggauss(n)[0]
    positive: list[tuple[int, int]] = []
    for g in guesses[n - n // 2:]:
        x = round(float(g) * 2.0 ** 53) << (wp - 53)
        for _ in range(60):
            pn, pm = legendre(x)
            dd = ((x * pn) >> wp) - pm                    # (x^2 - 1) P_n'(x) / n
            dx = ((pn * (((x * x) >> wp) - unit)) // (n * dd)) if dd else 0  # P_n / P_n'
            x -= dx
            if abs(dx) <= tol:
                break
        pn, pm = legendre(x)
        dd = ((x * pn) >> wp) - pm
        weight = ((2 * (unit - ((x * x) >> wp))) << (2 * wp)) // (n * n * dd * dd)
        positive.append((x, weight))
    middle: list[tuple[int, int]] = []
    if n % 2:
        pn, pm = legendre(0)
        middle.append((0, ((2 * unit) << (2 * wp)) // (n * n * pm * pm)))
    pairs = [(-x, w) for x, w in reversed(positive)] + middle + positive

    def to_raw(v: int) -> Any:
        return libmp.from_man_exp(v, -wp, prec, _RAW)

    result = (tuple(to_raw(x) for x, _ in pairs), tuple(to_raw(w) for _, w in pairs))
    _GL_CACHE[key] = result
    return result


# ---------------------------------------------------------------------------------------
# Targets at arbitrary (irrational) nodes
# ---------------------------------------------------------------------------------------

_FUNCTIONS = {
    "exp": "exp", "log": "ln", "sin": "sin", "cos": "cos", "tan": "tan", "cot": "cot", "sec": "sec",
    "csc": "csc", "asin": "asin", "acos": "acos", "atan": "atan", "acot": "acot", "sinh": "sinh",
    "cosh": "cosh", "tanh": "tanh", "coth": "coth", "sech": "sech", "csch": "csch", "asinh": "asinh",
    "acosh": "acosh", "atanh": "atanh", "erf": "erf", "erfc": "erfc", "gamma": "gamma",
    "loggamma": "loggamma", "Abs": "fabs", "sign": "sign", "atan2": "atan2",
}


def _compile_expr(expr: sympy.Expr, symbols: tuple[sympy.Symbol, ...], ctx: Any) -> Callable[[Sequence[Mpf]], Mpf]:
    """A function of the symbol values computing ``expr`` in ``ctx`` (a tree of closures).

    Sub-expressions without a closed mpmath counterpart fall back to ``sympy.N`` at the
    exact binary value of the argument (slow but exact to the working precision).
    """
    digits = ctx.dps + 10

    def const(e: sympy.Expr) -> Callable[[Sequence[Mpf]], Mpf]:
        if e.is_Rational:
            value = ctx.mpf(libmp.from_rational(int(e.p), int(e.q), ctx.prec, _RAW))
        else:
            num = sympy.N(e, digits)
            if not num.is_real:
                raise InputError("target.expr", str(expr), f"the constant {e} is not real: use a real target")
            value = ctx.mpf(str(num))
        return lambda xs: value

    def fallback(e: sympy.Expr) -> Callable[[Sequence[Mpf]], Mpf]:
        def f(xs: Sequence[Mpf]) -> Mpf:
            subs = {}
            for s, v in zip(symbols, xs):
                man, exp_ = ctx.mpf(v).man_exp
                subs[s] = sympy.Integer(man) * sympy.Integer(2) ** exp_
            num = sympy.N(e.xreplace(subs), digits)
            if not num.is_real:
                raise InputError("target.expr", str(expr), "is not real on the data interval: choose a real target")
            return ctx.mpf(str(num))
        return f

    def build(e: sympy.Expr) -> Callable[[Sequence[Mpf]], Mpf]:
        if not e.free_symbols:
            return const(e)
        if e.is_Symbol:
            i = symbols.index(e)
            return lambda xs: xs[i]
        if e.is_Add:
            parts = [build(a) for a in e.args]
            return lambda xs: ctx.fsum([p(xs) for p in parts])
        if e.is_Mul:
            parts = [build(a) for a in e.args]

            def mul(xs: Sequence[Mpf]) -> Mpf:
                acc = parts[0](xs)
                for p in parts[1:]:
                    acc = acc * p(xs)
                return acc
            return mul
        if e.is_Pow:
            base = build(e.args[0])
            ex = e.args[1]
            if ex.is_Integer:
                k = int(ex)
                return lambda xs: base(xs) ** k
            if ex == sympy.Rational(1, 2):
                return lambda xs: ctx.sqrt(base(xs))
            power = build(ex)
            return lambda xs: ctx.power(base(xs), power(xs))
        name = type(e).__name__
        if isinstance(e, sympy.Function) and name in _FUNCTIONS:
            fn = getattr(ctx, _FUNCTIONS[name])
            args = [build(a) for a in e.args]
            return lambda xs: fn(*[a(xs) for a in args])
        if isinstance(e, (sympy.Max, sympy.Min)):
            args = [build(a) for a in e.args]
            pick = max if isinstance(e, sympy.Max) else min
            return lambda xs: pick(a(xs) for a in args)
        return fallback(e)

    return build(expr)


def _fraction_mpf(ctx: Any, q: Fraction) -> Mpf:
    """A rational rounded once (to nearest) to the working precision of ``ctx``."""
    return ctx.make_mpf(libmp.from_rational(q.numerator, q.denominator, ctx.prec, _RAW))


# ---------------------------------------------------------------------------------------
# The landscape
# ---------------------------------------------------------------------------------------

class MpLandscape:
    r"""Loss, gradient, Hessian and Hessian-vector products in mpmath at ``dps`` digits.

    For point data (x_i, n points)

    .. math:: L(\theta) = \frac{c}{n}\sum_{i=1}^{n}\sum_{o}(N_o(x_i) - f_o(x_i))^2,

    for an interval [a, b] :math:`L(\theta) = c\int_a^b \sum_o (N_o(x) - f_o(x))^2\,dx`, with
    c = ``problem.factor``. theta = (W_1, b_1, ..., W_L, b_L) as in :class:`verify.Network`.

    Parameters
    ----------
    problem : Problem
        Network, data, target and loss factor.
    dps : int, keyword-only
        Decimal digits wanted in the results (at least 5).
    guard : int, keyword-only
        Extra digits carried in the arithmetic: the private context ``ctx`` works at
        ``dps + guard`` digits. Global mpmath precision (``mpmath.mp``) is never touched.

    Attributes
    ----------
    ctx : mpmath.ctx_mp.MPContext
        Private context at ``dps + guard`` digits; every returned number is a ``ctx.mpf``.
    dps, guard : int
    problem : Problem
    n_params : int
        d, the length of theta.
    quadrature_converged : bool
        After each evaluation of an integral loss: whether every piece's adaptive
        Gauss-Legendre rule converged (the loss with n and 2n nodes agreed to about
        ``dps + guard/2`` digits, or to the rounding level of the integrand) within
        ``MAX_NODES`` nodes. Exact rules (polynomial integrand on each piece) and point data
        always give True. A False result is still returned, computed with ``MAX_NODES``
        nodes per piece: treat its last digits as unverified.
    quadrature_nodes : int or None
        Total number of nodes used by the last integral evaluation (None for point data).

    Notes
    -----
    *Kinks.* At z = 0 exactly, relu, leaky_relu, elu and softsign use the left branch
    (relu'(0) = 0, leaky_relu'(0) = gamma, elu''(0) = 1, softsign''(0) = 2).

    *Integral loss.* Gauss-Legendre rules, with [a, b] split at the first-layer breakpoints
    beta_j = -b_j / w_j inside (a, b) for relu, leaky_relu, elu and softsign (neurons with
    w_j = 0 have none). Identity and square networks, and the shallow relu / leaky_relu
    networks, with a polynomial target have a polynomial integrand on every piece: the
    rule with max(deg N, deg f) + 1 nodes per piece is exact. Otherwise the number of nodes
    per piece doubles from ``FIRST_NODES`` until two successive rules agree (see
    ``quadrature_converged``), and the gradient and Hessian use the finer rule. Kinks of
    deeper layers (elu / softsign with several hidden layers or an activated output) are
    not split at, so those rules converge slowly and may report False.

    *Hessian boundary term.* For relu / leaky_relu the gradient integrand
    G(x) = 2c r(x) grad_theta N(x), r = N - f, jumps where s' jumps, and the breakpoint
    beta_j = -b_j / w_j moves with (w_j, b_j). By Leibniz's rule the Hessian of the integral
    loss is the integral of dG/dtheta plus, for each neuron with w_j != 0 and beta_j in
    (a, b), the block on (w_j, b_j)

    .. math:: B_j = \frac{2c(1-\gamma)}{|w_j|}\Big(\sum_o r_o(\beta_j) v_{oj}\Big)
              \begin{pmatrix}\beta_j^2 & \beta_j\\ \beta_j & 1\end{pmatrix},

    v the output weights. Without biases beta_j = 0 does not move and the block is zero.
    At parameters where a breakpoint sits at a or b, or w_j = 0, the loss need not be
    twice differentiable; the value returned is the formula above with such neurons left
    out.

    *Cost.* Forward pass, backward pass and Hessian-vector product cost O(n d) operations;
    ``hessian`` shares one forward and one backward pass between its d products.
    """

    tier = "mp"
    #: a lower bound of the loss (a factor times a mean of squares): used by ``classify``'s path bound
    loss_floor = 0

    def __init__(self, problem: Problem, *, dps: int = 30, guard: int = GUARD_DPS) -> None:
        if not isinstance(problem, Problem):
            raise InputError("problem", type(problem).__name__, "give a verify.Problem (e.g. from parse_problem)")
        check_dps(dps)
        if isinstance(guard, bool) or not isinstance(guard, int) or guard < 0:
            raise InputError("guard", guard, "give a non-negative integer number of guard digits, e.g. 10")
        self.problem = problem
        self.dps = dps
        self.guard = guard
        ctx = mpmath.MPContext()
        ctx.dps = dps + guard
        self.ctx: Any = ctx
        net = problem.network
        self._net = net
        self.n_params = net.n_params
        self._act = _make_activation(ctx, net.activation, net.slope)
        self._layers: list[tuple[int, int, int, int | None, bool]] = [
            (layer.fan_in, layer.fan_out, layer.weight.start,
             None if layer.bias is None else layer.bias.start, net.activated(k))
            for k, layer in enumerate(net.layers)
        ]
        self._factor = _fraction_mpf(ctx, problem.factor)
        self._include_boundary = True  # test hook: the relu / leaky_relu Hessian boundary term
        self.quadrature_converged = True
        self.quadrature_nodes: int | None = None
        self._m = net.output_dim
        interval = problem.data.interval
        self._interval = interval is not None
        if interval is None:
            self._init_points()
        else:
            self._init_interval(interval)

    # -- set-up ----------------------------------------------------------------------------

    def _init_points(self) -> None:
        ctx = self.ctx
        problem = self.problem
        target = problem.target
        pts = problem.data.points
        n = len(pts)
        dim = len(pts[0])
        self._X: list[Vec] = [[_fraction_mpf(ctx, p[j]) for p in pts] for j in range(dim)]
        columns: list[Vec] = [[] for _ in range(self._m)]
        if target.polynomial:
            for o, values in enumerate(target.polynomial_values(pts)):
                columns[o] = [ctx.make_mpf(libmp.from_rational(int(v.numerator), int(v.denominator), ctx.prec, _RAW))
                              for v in values]
        else:
            digits = ctx.dps + 5
            for p in pts:
                for o, value in enumerate(target.exact(p)):
                    num = sympy.N(value, digits)
                    if not num.is_real or not num.is_finite:
                        raise InputError("target.expr", list(target.exprs),
                                         f"is not finite and real at the data point {[str(c) for c in p]}: "
                                         "choose a target defined on all the data")
                    columns[o].append(ctx.mpf(str(num)))
        self._Y: list[Vec] = columns
        self._n = n
        self._loss_mult = ctx.make_mpf(libmp.from_rational(
            problem.factor.numerator, problem.factor.denominator * n, ctx.prec, _RAW))
        self._grad_mult = 2 * self._loss_mult

    def _init_interval(self, interval: tuple[Fraction, Fraction]) -> None:
        ctx = self.ctx
        net = self._net
        problem = self.problem
        target = problem.target
        self._a = _fraction_mpf(ctx, interval[0])
        self._b = _fraction_mpf(ctx, interval[1])
        self._loss_mult = self._factor
        self._grad_mult = 2 * self._factor
        # the target at irrational nodes is evaluated with 20 more digits, then rounded
        tctx = mpmath.MPContext()
        tctx.dps = ctx.dps + 20
        self._tctx = tctx
        if target.polynomial:
            coeffs = [[_fraction_mpf(tctx, Fraction(int(c.p), int(c.q)))
                       for c in sympy.Poly(e, *target.symbols).all_coeffs()] for e in target.sympy_exprs]

            def horner(cs: list[Mpf]) -> Callable[[Sequence[Mpf]], Mpf]:
                def f(xs: Sequence[Mpf]) -> Mpf:
                    x = xs[0]
                    acc = cs[0]
                    for c in cs[1:]:
                        acc = acc * x + c
                    return acc
                return f
            self._target_fns = [horner(cs) for cs in coeffs]
        else:
            self._target_fns = [_compile_expr(e, target.symbols, tctx) for e in target.sympy_exprs]
        name = net.activation
        self._split = name in _KINKED
        self._boundary = name in ("relu", "leaky_relu")
        gamma = net.slope if name == "leaky_relu" else Fraction(0)
        self._one_minus_gamma = _fraction_mpf(ctx, 1 - gamma)
        self._exact_nodes: int | None = None
        if target.polynomial and (net.info.polynomial or net.info.piecewise_linear):
            if name == "square":
                activated = sum(1 for k in range(net.depth) if net.activated(k))
                deg_n = 2 ** activated
            else:
                deg_n = 1
            deg_f = target.degree or 0
            self._exact_nodes = max(deg_n, deg_f) + 1   # 2m - 1 >= 2 max(deg N, deg f)
        self._node_cache: dict[tuple[Any, Any, int], tuple[Vec, list[Vec], Vec]] = {}
        eps = ctx.mpf(2) ** (-ctx.prec)
        self._rel_tol = ctx.mpf(10) ** (-(self.dps + self.guard // 2))
        self._noise_tol = 1000 * eps

    def _target_at(self, xs: Vec) -> list[Vec]:
        """Target values at 1-D nodes (ctx numbers), one list per output."""
        tctx, ctx = self._tctx, self.ctx
        out: list[Vec] = [[] for _ in range(self._m)]
        for x in xs:
            tx = [tctx.mpf(x)]
            for o, fn in enumerate(self._target_fns):
                v = fn(tx)
                if not hasattr(v, "_mpf_"):
                    if v.imag != 0:
                        raise InputError("target.expr", list(self.problem.target.exprs),
                                         f"is not real at x = {ctx.nstr(x, 15)}: choose a target real on the interval")
                    v = v.real
                out[o].append(ctx.mpf(v))
        return out

    # -- input -----------------------------------------------------------------------------

    def _vector(self, values: Any, field: str, size: int, what: str) -> Vec:
        ctx = self.ctx
        mpf = ctx.mpf
        try:
            count = len(values)
        except TypeError:
            raise InputError(field, values, f"give a sequence of {size} numbers") from None
        if count != size:
            raise InputError(field, f"{count} values", f"give exactly {size} values ({what})")
        out = []
        for i, t in enumerate(values):
            if type(t) is mpf:
                raw = t._mpf_
                if not raw[1] and raw[2]:
                    raise InputError(f"{field}[{i}]", t, "must be finite")
                out.append(t)
            elif hasattr(t, "_mpf_"):
                if not ctx.isfinite(t):
                    raise InputError(f"{field}[{i}]", t, "must be finite")
                out.append(mpf(t))
            elif isinstance(t, float) and not isinstance(t, bool):
                if t != t or t in (float("inf"), float("-inf")):
                    raise InputError(f"{field}[{i}]", t, "must be finite")
                out.append(mpf(t))
            else:
                out.append(_fraction_mpf(ctx, to_fraction(t, f"{field}[{i}]")))
        return out

    def _theta(self, theta: Any, field: str = "theta") -> Vec:
        d = self.n_params
        return self._vector(theta, field, d, f"the network {self._net.describe()} has {d} parameters")

    def _params(self, th: Vec) -> list[tuple[list[Vec], Vec | None]]:
        """theta split into per-layer weight rows and biases."""
        out = []
        for fan_in, fan_out, w0, b0, _ in self._layers:
            rows = [th[w0 + i * fan_in: w0 + (i + 1) * fan_in] for i in range(fan_out)]
            out.append((rows, None if b0 is None else th[b0: b0 + fan_out]))
        return out

    # -- kernels ---------------------------------------------------------------------------

    def _forward(self, params: list[tuple[list[Vec], Vec | None]], X: list[Vec]
                 ) -> tuple[list[list[Vec]], list[list[Vec] | None], list[list[Vec] | None]]:
        """Forward pass over a batch.

        Returns A (A[0] = X, A[k] = layer k's outputs, each of shape (l_k, n) as lists),
        and per layer the lists s'(z), s''(z) (None for an affine layer).
        """
        act = self._act
        fdot = self.ctx.fdot
        A: list[list[Vec]] = [X]
        S1: list[list[Vec] | None] = []
        S2: list[list[Vec] | None] = []
        a = X
        for (rows, bias), (fan_in, fan_out, _, _, activated) in zip(params, self._layers):
            z: list[Vec] = []
            if fan_in >= _FDOT_WIDTH:
                # wide layer: one exactly summed dot product per neuron and point
                points = list(zip(*a))
                for i in range(fan_out):
                    row = rows[i]
                    if bias is not None:
                        c = bias[i]
                        z.append([fdot(row, col) + c for col in points])
                    else:
                        z.append([fdot(row, col) for col in points])
            else:
                for i in range(fan_out):
                    row = rows[i]
                    w = row[0]
                    if bias is not None:
                        c = bias[i]
                        acc = [w * x + c for x in a[0]]
                    else:
                        acc = [w * x for x in a[0]]
                    for j in range(1, fan_in):
                        w = row[j]
                        acc = [s + w * x for s, x in zip(acc, a[j])]
                    z.append(acc)
            if activated:
                out: list[Vec] = []
                d1: list[Vec] = []
                d2: list[Vec] = []
                for zi in z:
                    triples = [act(t) for t in zi]
                    out.append([t[0] for t in triples])
                    d1.append([t[1] for t in triples])
                    d2.append([t[2] for t in triples])
                a = out
                S1.append(d1)
                S2.append(d2)
            else:
                a = z
                S1.append(None)
                S2.append(None)
            A.append(a)
        return A, S1, S2

    def _residual(self, A: list[list[Vec]], Y: list[Vec], W: Vec | None) -> tuple[Mpf, list[Vec], list[Vec]]:
        """Raw loss sum_i w_i sum_o r_io^2, the residuals r, and the weighted residuals w r."""
        ctx = self.ctx
        out = A[-1]
        R = [[p - y for p, y in zip(out[o], Y[o])] for o in range(self._m)]
        G = R if W is None else [[r * w for r, w in zip(Ro, W)] for Ro in R]
        if self._m == 1:
            raw = ctx.fdot(G[0], R[0])
        else:
            raw = ctx.fsum([ctx.fdot(g, r) for g, r in zip(G, R)])
        return raw, R, G

    def _backward(self, params: list[tuple[list[Vec], Vec | None]], A: list[list[Vec]],
                  S1: list[list[Vec] | None], G: list[Vec]
                  ) -> tuple[Vec, list[list[Vec]], list[list[Vec]]]:
        """Backpropagation of the weighted residuals G = w r.

        Returns the raw gradient (half the gradient of sum_i w_i |r_i|^2), and per layer
        the adjoints dE/da_k (Ga) and dE/dz_k (Gz) of E = (1/2) sum_i w_i |r_i|^2.
        """
        ctx = self.ctx
        fdot, fsum = ctx.fdot, ctx.fsum
        grad: Vec = [ctx.zero] * self.n_params
        L = len(self._layers)
        Ga: list[list[Vec]] = [[]] * L
        Gz: list[list[Vec]] = [[]] * L
        g = G
        for k in range(L - 1, -1, -1):
            fan_in, fan_out, w0, b0, _ = self._layers[k]
            rows = params[k][0]
            Ga[k] = g
            s1 = S1[k]
            gz = g if s1 is None else [[s * t for s, t in zip(s1[i], g[i])] for i in range(fan_out)]
            Gz[k] = gz
            a_prev = A[k]
            for i in range(fan_out):
                base = w0 + i * fan_in
                gi = gz[i]
                for j in range(fan_in):
                    grad[base + j] = fdot(gi, a_prev[j])
                if b0 is not None:
                    grad[b0 + i] = fsum(gi)
            if k > 0:
                new_g: list[Vec] = []
                if fan_out >= _FDOT_WIDTH:
                    points = list(zip(*gz))
                    for j in range(fan_in):
                        column = [rows[i][j] for i in range(fan_out)]
                        new_g.append([fdot(column, col) for col in points])
                else:
                    for j in range(fan_in):
                        w = rows[0][j]
                        acc = [w * t for t in gz[0]]
                        for i in range(1, fan_out):
                            w = rows[i][j]
                            acc = [s + w * t for s, t in zip(acc, gz[i])]
                        new_g.append(acc)
                g = new_g
        return grad, Ga, Gz

    def _hv_raw(self, params: list[tuple[list[Vec], Vec | None]], A: list[list[Vec]],
                S1: list[list[Vec] | None], S2: list[list[Vec] | None], Ga: list[list[Vec]],
                Gz: list[list[Vec]], W: Vec | None, v: Vec) -> Vec:
        """R-operator pass: the raw Hessian-vector product (half of Hess(E_raw) v).

        Zero blocks of v (e.g. of a basis vector) are skipped: ``None`` stands for a zero
        list.
        """
        ctx = self.ctx
        fdot, fsum = ctx.fdot, ctx.fsum
        layers = self._layers
        L = len(layers)
        vp = self._params(v)

        def axpy(acc: Vec | None, w: Mpf, xs: Vec) -> Vec:
            if acc is None:
                return [w * x for x in xs]
            return [s + w * x for s, x in zip(acc, xs)]

        # R-forward: R{z_k}, R{a_k}
        RA: list[list[Vec | None] | None] = [None] * (L + 1)
        RZ: list[list[Vec | None] | None] = [None] * L
        ra: list[Vec | None] | None = None
        for k in range(L):
            fan_in, fan_out, _, _, activated = layers[k]
            rows = params[k][0]
            vrows, vbias = vp[k]
            a_prev = A[k]
            rz: list[Vec | None] = []
            for i in range(fan_out):
                acc: Vec | None = None
                vrow = vrows[i]
                for j in range(fan_in):
                    vij = vrow[j]
                    if vij:
                        acc = axpy(acc, vij, a_prev[j])
                if vbias is not None and vbias[i]:
                    c = vbias[i]
                    acc = [c] * len(a_prev[0]) if acc is None else [s + c for s in acc]
                if ra is not None:
                    row = rows[i]
                    for j in range(fan_in):
                        rj = ra[j]
                        if rj is not None:
                            acc = axpy(acc, row[j], rj)
                rz.append(acc)
            if all(r is None for r in rz):
                RZ[k] = None
                ra = None
            else:
                RZ[k] = rz
                s1 = S1[k]
                if activated and s1 is not None:
                    ra = [None if r is None else [s * t for s, t in zip(s1[i], r)] for i, r in enumerate(rz)]
                else:
                    ra = rz
            RA[k + 1] = ra
        # R of the output adjoint: w R{r}
        rg: list[Vec | None] | None
        if ra is None:
            rg = None
        elif W is None:
            rg = ra
        else:
            rg = [None if r is None else [t * w for t, w in zip(r, W)] for r in ra]
        hv: Vec = [ctx.zero] * self.n_params
        for k in range(L - 1, -1, -1):
            fan_in, fan_out, w0, b0, activated = layers[k]
            rows = params[k][0]
            gz, ga = Gz[k], Ga[k]
            rz_k = RZ[k]
            s1, s2 = S1[k], S2[k]
            rgz: list[Vec | None]
            if activated and s1 is not None and s2 is not None:
                rgz = []
                for i in range(fan_out):
                    acc = None
                    rzi = None if rz_k is None else rz_k[i]
                    if rzi is not None:
                        acc = [p * q * t for p, q, t in zip(s2[i], rzi, ga[i])]
                    rgi = None if rg is None else rg[i]
                    if rgi is not None:
                        acc = [p * t for p, t in zip(s1[i], rgi)] if acc is None else \
                            [s + p * t for s, p, t in zip(acc, s1[i], rgi)]
                    rgz.append(acc)
            else:
                rgz = [None] * fan_out if rg is None else list(rg)
            a_prev = A[k]
            ra_prev = RA[k]
            for i in range(fan_out):
                base = w0 + i * fan_in
                rgi = rgz[i]
                gi = gz[i]
                for j in range(fan_in):
                    rj = None if ra_prev is None else ra_prev[j]
                    if rgi is not None and rj is not None:
                        hv[base + j] = fdot(rgi + gi, a_prev[j] + rj)
                    elif rgi is not None:
                        hv[base + j] = fdot(rgi, a_prev[j])
                    elif rj is not None:
                        hv[base + j] = fdot(gi, rj)
                if b0 is not None and rgi is not None:
                    hv[b0 + i] = fsum(rgi)
            if k > 0:
                vrows = vp[k][0]
                new_rg: list[Vec | None] = []
                for j in range(fan_in):
                    acc = None
                    for i in range(fan_out):
                        vij = vrows[i][j]
                        if vij:
                            acc = axpy(acc, vij, gz[i])
                        rgi = rgz[i]
                        if rgi is not None:
                            acc = axpy(acc, rows[i][j], rgi)
                    new_rg.append(acc)
                rg = None if all(r is None for r in new_rg) else new_rg
        return hv

    # -- integral loss: nodes ---------------------------------------------------------------

    def _pieces(self, params: list[tuple[list[Vec], Vec | None]]) -> list[tuple[Mpf, Mpf]]:
        """[a, b] split at the first-layer breakpoints inside (a, b) (kinked activations)."""
        a, b = self._a, self._b
        cuts = []
        if self._split:
            rows, bias = params[0]
            for j, row in enumerate(rows):
                w = row[0]
                if not w:
                    continue
                beta = (-bias[j] / w) if bias is not None else self.ctx.zero
                if a < beta < b:
                    cuts.append(beta)
        ends = [a] + sorted(set(cuts)) + [b]
        return list(pairwise(ends))

    def _rule(self, lo: Mpf, hi: Mpf, n: int) -> tuple[Vec, list[Vec], Vec]:
        """Nodes, target values (one list per output) and weights of the n-point rule on [lo, hi]."""
        key = (lo._mpf_, hi._mpf_, n)
        hit = self._node_cache.get(key)
        if hit is not None:
            return hit
        ctx = self.ctx
        make = ctx.make_mpf
        raw_x, raw_w = _gauss_legendre_raw(n, ctx.prec)
        half = (hi - lo) / 2
        mid = (hi + lo) / 2
        xs = [mid + half * make(t) for t in raw_x]
        ws = [half * make(t) for t in raw_w]
        result = (xs, self._target_at(xs), ws)
        if len(self._node_cache) > 256:
            self._node_cache.clear()
        self._node_cache[key] = result
        return result

    def _piece_loss(self, params: list[tuple[list[Vec], Vec | None]], xs: Vec, ys: list[Vec], ws: Vec
                    ) -> tuple[Mpf, Mpf]:
        """Raw loss on one rule and the size sum_i w_i sum_o (N_o^2 + f_o^2) of its terms."""
        ctx = self.ctx
        A, _, _ = self._forward(params, [xs])
        raw, _, _ = self._residual(A, ys, ws)
        size = ctx.fsum([ctx.fdot([p * w for p, w in zip(A[-1][o], ws)], A[-1][o])
                         + ctx.fdot([y * w for y, w in zip(ys[o], ws)], ys[o]) for o in range(self._m)])
        return raw, size

    def _nodes(self, params: list[tuple[list[Vec], Vec | None]]) -> tuple[list[Vec], list[Vec], Vec, Mpf | None]:
        """The quadrature for the current theta: X (1, n), Y (m, n), weights (n,), and the
        raw loss when the adaptive search already computed it (else None)."""
        ctx = self.ctx
        xs_all: Vec = []
        ys_all: list[Vec] = [[] for _ in range(self._m)]
        ws_all: Vec = []
        known: list[Mpf] = []
        converged = True
        for lo, hi in self._pieces(params):
            if self._exact_nodes is not None:
                xs, ys, ws = self._rule(lo, hi, self._exact_nodes)
            else:
                n = FIRST_NODES
                xs, ys, ws = self._rule(lo, hi, n)
                q_prev, _ = self._piece_loss(params, xs, ys, ws)
                while True:
                    n *= 2
                    xs, ys, ws = self._rule(lo, hi, n)
                    q, size = self._piece_loss(params, xs, ys, ws)
                    tol = self._rel_tol * abs(q) + self._noise_tol * ctx.sqrt(abs(q) * size)
                    if abs(q - q_prev) <= tol:
                        break
                    if n >= MAX_NODES:
                        converged = False
                        break
                    q_prev = q
                known.append(q)
            xs_all += xs
            for o in range(self._m):
                ys_all[o] += ys[o]
            ws_all += ws
        self.quadrature_converged = converged
        self.quadrature_nodes = len(xs_all)
        raw = ctx.fsum(known) if self._exact_nodes is None else None
        return [xs_all], ys_all, ws_all, raw

    def _data(self, params: list[tuple[list[Vec], Vec | None]]) -> tuple[list[Vec], list[Vec], Vec | None, Mpf | None]:
        if not self._interval:
            return self._X, self._Y, None, None
        return self._nodes(params)

    def _boundary_terms(self, params: list[tuple[list[Vec], Vec | None]]) -> list[tuple[int, int, Mpf, Mpf]]:
        """(index of w_j, index of b_j, coefficient, beta_j) for each moving breakpoint in (a, b)."""
        if not (self._interval and self._boundary and self._include_boundary and self._net.biases):
            return []
        ctx = self.ctx
        _, _, w0, b0, _ = self._layers[0]
        assert b0 is not None
        rows, bias = params[0]
        assert bias is not None
        out_rows = params[1][0]
        found = []
        for j, row in enumerate(rows):
            w = row[0]
            if not w:
                continue
            beta = -bias[j] / w
            if self._a < beta < self._b:
                found.append((j, w, beta))
        if not found:
            return []
        betas = [beta for _, _, beta in found]
        A, _, _ = self._forward(params, [betas])
        F = self._target_at(betas)
        terms = []
        for idx, (j, w, beta) in enumerate(found):
            rv = ctx.fsum([(A[-1][o][idx] - F[o][idx]) * out_rows[o][j] for o in range(self._m)])
            coef = self._grad_mult * self._one_minus_gamma * rv / abs(w)
            terms.append((w0 + j, b0 + j, coef, beta))
        return terms

    # -- public ----------------------------------------------------------------------------

    def loss(self, theta: Sequence[Any]) -> Mpf:
        """The loss L(theta).

        Parameters
        ----------
        theta : sequence of d numbers
            int, Fraction, exact string ("-1/2", "0.25"), float (its exact binary value)
            or mpmath number.

        Returns
        -------
        mpf
            L(theta) at the working precision of ``ctx``.
        """
        params = self._params(self._theta(theta))
        X, Y, W, raw = self._data(params)
        if raw is None:
            A, _, _ = self._forward(params, X)
            raw, _, _ = self._residual(A, Y, W)
        return self._loss_mult * raw

    def loss_and_grad(self, theta: Sequence[Any]) -> tuple[Mpf, Vec]:
        """The loss and its gradient (shape (d,)) from one forward and one backward pass."""
        params = self._params(self._theta(theta))
        X, Y, W, _ = self._data(params)
        A, S1, _ = self._forward(params, X)
        raw, _, G = self._residual(A, Y, W)
        grad, _, _ = self._backward(params, A, S1, G)
        mult = self._grad_mult
        return self._loss_mult * raw, [mult * g for g in grad]

    def grad(self, theta: Sequence[Any]) -> Vec:
        """The gradient grad L(theta), a list of d numbers in the order of theta."""
        return self.loss_and_grad(theta)[1]

    def hvp(self, theta: Sequence[Any], v: Sequence[Any]) -> Vec:
        """The Hessian-vector product H(theta) v (shape (d,)) by the R-operator.

        For the integral loss with relu / leaky_relu this includes the boundary term B v
        (see the class notes).
        """
        th = self._theta(theta)
        vec = self._theta(v, "v")
        params = self._params(th)
        X, Y, W, _ = self._data(params)
        A, S1, S2 = self._forward(params, X)
        _, _, G = self._residual(A, Y, W)
        _, Ga, Gz = self._backward(params, A, S1, G)
        mult = self._grad_mult
        out = [mult * h for h in self._hv_raw(params, A, S1, S2, Ga, Gz, W, vec)]
        for iw, ib, coef, beta in self._boundary_terms(params):
            u = beta * vec[iw] + vec[ib]
            out[iw] += coef * beta * u
            out[ib] += coef * u
        return out

    def hessian(self, theta: Sequence[Any]) -> list[Vec]:
        """The Hessian, d x d (list of rows), column m = H e_m; not symmetrized."""
        ctx = self.ctx
        d = self.n_params
        params = self._params(self._theta(theta))
        X, Y, W, _ = self._data(params)
        A, S1, S2 = self._forward(params, X)
        _, _, G = self._residual(A, Y, W)
        _, Ga, Gz = self._backward(params, A, S1, G)
        mult = self._grad_mult
        zero, one = ctx.zero, ctx.one
        columns = []
        for m in range(d):
            e = [zero] * d
            e[m] = one
            columns.append(self._hv_raw(params, A, S1, S2, Ga, Gz, W, e))
        H = [[mult * columns[m][i] for m in range(d)] for i in range(d)]
        for iw, ib, coef, beta in self._boundary_terms(params):
            H[iw][iw] += coef * beta * beta
            H[iw][ib] += coef * beta
            H[ib][iw] += coef * beta
            H[ib][ib] += coef
        return H

    def realization(self, theta: Sequence[Any], x: Sequence[Any]) -> Vec:
        """N_theta(x): the network's output (shape (l_L,)) at one input x (shape (l_0,))."""
        params = self._params(self._theta(theta))
        xs = self._vector(x, "x", self._net.input_dim, f"the network's input width is {self._net.input_dim}")
        A, _, _ = self._forward(params, [[t] for t in xs])
        return [col[0] for col in A[-1]]
