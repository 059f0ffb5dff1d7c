r"""The certified tier: ball arithmetic (Arb, through python-flint).

Every number is a ball (a midpoint and a radius) and every operation returns a ball that
contains the exact result, elementary functions included. This module holds the pieces the
certificates are built from:

* ``precision(dps)``: a scoped working precision (python-flint's ``ctx.prec`` is global: it is
  set on entry and always restored in ``finally``; nothing sets it at import).
* conversions: exact numbers (int, Fraction, strings, mpmath numbers at their binary value)
  to balls, intervals ``[lo, hi]`` to balls, and ball ends back to exact ``Fraction`` s and
  outward-rounded decimal strings.
* ``ArbProgram``: SymPy expressions translated node by node to Arb, sharing common
  subexpressions: any elementary function SymPy can print that Arb has (exp, log, sin, cos,
  tan, tanh, sinh, cosh, atan, asin, acos, asinh, acosh, atanh, erf, erfc, sec, csc, cot,
  gamma, loggamma, sqrt and rational powers, ...). Monotone functions of a wide ball are
  evaluated at its ends (Arb's own enclosure of f(m +- r) grows with r).
* ``activation_balls``: s, s', s'' of every activation of the registry on a ball, on a given
  branch for the piecewise ones (relu, leaky_relu, elu, softsign at a fixed activation pattern).
* ``BallNetwork``: the loss, gradient and Hessian of a network problem on point data over a
  box, by a forward pass with tangents and a backward pass in ball arithmetic (no SymPy):

  .. math:: \nabla^2 L = \frac{2c}{n}\sum_i \Big[J_i^T J_i + \sum_k \dot Z_k^T
            \operatorname{diag}(\bar g_k \odot s''(z_k)) \dot Z_k + P_k + P_k^T\Big],

  with J_i the Jacobian of the output, Z_k' the tangents of the pre-activations, g_k the
  backward adjoints of r . N and P_k the bilinear cross terms of W_k h_{k-1}.

References
----------
F. Johansson, "Arb: efficient arbitrary-precision midpoint-radius interval arithmetic",
IEEE Trans. Computers 66 (2017). The FLINT team, python-flint (https://python-flint.readthedocs.io).
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Iterator, Sequence

import sympy
from flint import arb, arb_mat, fmpq, fmpz
from flint import ctx as _flint_ctx

from ..errors import InputError
from ..problem.numbers import GUARD_DPS, check_dps, to_fraction

__all__ = ["precision", "bits_for", "ball", "interval", "lower", "upper", "dec_lower", "dec_upper", "sqr",
           "ArbProgram", "Unsupported", "activation_balls", "BallNetwork", "NetEval", "ldl_inertia",
           "matrix_from_rows"]

#: relative radius above which a monotone function is evaluated at the ends of the ball
_WIDE = 2.0 ** -24


def bits_for(dps: int) -> int:
    """Working precision in bits for ``dps`` decimal digits plus ``GUARD_DPS`` guard digits."""
    return math.ceil((dps + GUARD_DPS) * math.log2(10))


@contextmanager
def precision(dps: int | None = None, *, bits: int | None = None) -> Iterator[int]:
    """Scope python-flint's working precision: ``dps`` digits (plus guard digits) or ``bits``.

    The previous precision is always restored.
    """
    if bits is None:
        bits = bits_for(check_dps(30 if dps is None else dps))
    saved = _flint_ctx.prec
    _flint_ctx.prec = int(bits)
    try:
        yield int(bits)
    finally:
        _flint_ctx.prec = saved


# ---------------------------------------------------------------------------------------
# Conversions
# ---------------------------------------------------------------------------------------

def ball(value: object, field: str = "value") -> arb:
    """A ball containing an exact number (int, Fraction, "p/q" or decimal string, mpmath number
    taken at its binary value, float at its binary value, SymPy number)."""
    if isinstance(value, arb):
        return value
    if isinstance(value, bool):
        raise InputError(field, value, "give a number")
    if isinstance(value, int):
        return arb(fmpz(value))
    if isinstance(value, Fraction):
        if value.denominator == 1:
            return arb(fmpz(value.numerator))
        return arb(fmpq(value.numerator, value.denominator))
    if hasattr(value, "_mpf_"):
        sign, man, exp, _ = value._mpf_
        if not man:
            return arb(0)
        m = arb(fmpz(-int(man) if sign else int(man)))
        return m * arb(2) ** int(exp)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(field, value, "give a finite number")
        return arb(value)
    if isinstance(value, sympy.Basic):
        if value.is_Rational:
            return ball(Fraction(int(value.p), int(value.q)))
        if value.free_symbols:
            raise InputError(field, str(value), "give a number, not an expression with symbols")
        return ArbProgram([value], ())([])[0]
    return ball(to_fraction(value, field))


def interval(lo: object, hi: object) -> arb:
    """A ball containing the interval [lo, hi] (exact ends)."""
    a, b = ball(lo), ball(hi)
    return a.union(b)


def _exact_fraction(x: arb) -> Fraction:
    man, exp = x.man_exp()
    m, e = int(man), int(exp)
    return Fraction(m * 2 ** e) if e >= 0 else Fraction(m, 2 ** (-e))


def lower(x: arb) -> Fraction | None:
    """The lower end of a ball as an exact Fraction (None when the ball is not finite)."""
    if not x.is_finite():
        return None
    return _exact_fraction(x.lower())


def upper(x: arb) -> Fraction | None:
    """The upper end of a ball as an exact Fraction (None when the ball is not finite)."""
    if not x.is_finite():
        return None
    return _exact_fraction(x.upper())


def _dec(q: Fraction | None, digits: int, up: bool) -> str:
    if q is None:
        return "inf" if up else "-inf"
    if q == 0:
        return "0"
    neg = q < 0
    a = -q if neg else q
    e = len(str(a.numerator)) - len(str(a.denominator))
    while Fraction(10) ** e > a:
        e -= 1
    while Fraction(10) ** (e + 1) <= a:
        e += 1
    shift = digits - 1 - e
    scaled = a * Fraction(10) ** shift
    away = up != neg     # round the magnitude up when moving outward
    n = -((-scaled.numerator) // scaled.denominator) if away else scaled.numerator // scaled.denominator
    text = str(n)
    frac = text[1:].rstrip("0")          # trailing zeros dropped: the value is unchanged
    mant = text[0] + ("." + frac if frac else "")
    exp10 = len(text) - 1 - shift
    return ("-" if neg else "") + mant + (f"e{exp10}" if exp10 else "")


def dec_lower(x: arb | Fraction | None, digits: int = 17) -> str:
    """A decimal string <= the ball's lower end (``digits`` significant digits)."""
    q = lower(x) if isinstance(x, arb) else x
    return _dec(q, digits, up=False)


def dec_upper(x: arb | Fraction | None, digits: int = 17) -> str:
    """A decimal string >= the ball's upper end (``digits`` significant digits)."""
    q = upper(x) if isinstance(x, arb) else x
    return _dec(q, digits, up=True)


def sqr(x: arb) -> arb:
    """x^2 as a ball, tight also for wide balls (Arb's x*x does not know the factors are equal)."""
    if not _wide(x) and (x > 0 or x < 0):
        return x * x
    if not x.is_finite():
        return x * x
    hi = x.abs_upper()
    lo = arb(0) if x.contains(0) else x.abs_lower()
    return (lo * lo).union(hi * hi)


def _pow_int(x: arb, k: int) -> arb:
    if k == 0:
        return arb(1)
    if k < 0:
        return 1 / _pow_int(x, -k)
    if k == 1:
        return x
    if not _wide(x) and (x > 0 or x < 0):
        return x ** k
    if not x.is_finite():
        return x ** k
    if k % 2:
        return (x.lower() ** k).union(x.upper() ** k)      # odd powers increase
    hi = x.abs_upper()
    lo = arb(0) if x.contains(0) else x.abs_lower()
    return (lo ** k).union(hi ** k)


def imul(a: arb, b: arb) -> arb:
    """a * b for independent a, b: the exact interval product of wide balls (endpoint products)."""
    if not (_wide(a) or _wide(b)) or not (a.is_finite() and b.is_finite()):
        return a * b
    al, ah, bl, bh = a.lower(), a.upper(), b.lower(), b.upper()
    out = al * bl
    for p in (al * bh, ah * bl, ah * bh):
        out = out.union(p)
    return out


def _wide(x: arb) -> bool:
    return bool(x.is_finite() and x.rad() > _WIDE * (1 + abs(x.mid())))


def _monotone(name: str, x: arb) -> arb:
    """f(x) for a monotone Arb method f, at the ends of a wide ball."""
    f = getattr(arb, name)
    if _wide(x):
        return f(x.lower()).union(f(x.upper()))
    return f(x)


def matrix_from_rows(rows: Sequence[Sequence[Any]]) -> arb_mat:
    """An arb_mat from rows of balls or exact numbers."""
    return arb_mat([[ball(v) for v in row] for row in rows])


# ---------------------------------------------------------------------------------------
# SymPy expression trees -> Arb
# ---------------------------------------------------------------------------------------

class Unsupported(Exception):
    """An expression node without a ball enclosure here."""


_MONO = {sympy.exp: "exp", sympy.log: "log", sympy.tanh: "tanh", sympy.atan: "atan", sympy.erf: "erf",
         sympy.erfc: "erfc", sympy.sinh: "sinh", sympy.asinh: "asinh", sympy.atanh: "atanh",
         sympy.asin: "asin", sympy.acos: "acos", sympy.acosh: "acosh"}
_PLAIN = {sympy.sin: "sin", sympy.cos: "cos", sympy.tan: "tan", sympy.cosh: "cosh", sympy.sec: "sec",
          sympy.csc: "csc", sympy.cot: "cot", sympy.sech: "sech", sympy.csch: "csch", sympy.coth: "coth",
          sympy.gamma: "gamma", sympy.loggamma: "lgamma", sympy.erfi: "erfi", sympy.Ei: "ei",
          sympy.Si: "si", sympy.Ci: "ci", sympy.Shi: "shi", sympy.Chi: "chi", sympy.zeta: "zeta",
          sympy.fresnels: "fresnel_s", sympy.fresnelc: "fresnel_c"}

Env = dict
Node = Callable[[Env], arb]


def _node(e: sympy.Expr) -> Node:
    if e.is_Rational:
        q = Fraction(int(e.p), int(e.q))
        return lambda env: ball(q)
    if e.is_Symbol:
        return lambda env: env[e]
    if e is sympy.pi:
        return lambda env: arb.pi()
    if e is sympy.E:
        return lambda env: arb.const_e()
    if e is sympy.EulerGamma:
        return lambda env: arb.const_euler()
    if e.is_Float:
        q = Fraction(str(sympy.Rational(e)))
        return lambda env: ball(q)
    if e.is_Add or e.is_Mul:
        parts = [_node(a) for a in e.args]
        if e.is_Add:
            def add(env: Env) -> arb:
                acc = parts[0](env)
                for f in parts[1:]:
                    acc = acc + f(env)
                return acc
            return add

        def mul(env: Env) -> arb:
            acc = parts[0](env)
            for f in parts[1:]:
                acc = acc * f(env)
            return acc
        return mul
    if e.is_Pow:
        base = _node(e.args[0])
        ex = e.args[1]
        if ex.is_Integer:
            k = int(ex)
            return lambda env: _pow_int(base(env), k)
        if ex == sympy.Rational(1, 2):
            return lambda env: _monotone("sqrt", base(env))
        if ex == sympy.Rational(-1, 2):
            return lambda env: _monotone("rsqrt", base(env))
        if ex.is_Rational:
            q = Fraction(int(ex.p), int(ex.q))
            return lambda env: _exp_log(base(env), ball(q))
        exn = _node(ex)
        return lambda env: _exp_log(base(env), exn(env))
    if isinstance(e, sympy.Abs):
        arg = _node(e.args[0])
        return lambda env: abs(arg(env))
    func = type(e)
    if func in _MONO or func in _PLAIN:
        if len(e.args) != 1:
            raise Unsupported(f"{func.__name__} with {len(e.args)} arguments")
        arg = _node(e.args[0])
        if func in _MONO:
            name = _MONO[func]
            return lambda env: _monotone(name, arg(env))
        method = _PLAIN[func]
        return lambda env: getattr(arg(env), method)()
    if isinstance(e, (sympy.Max, sympy.Min)):
        parts = [_node(a) for a in e.args]
        pick = "max" if isinstance(e, sympy.Max) else "min"

        def extreme(env: Env) -> arb:
            acc = parts[0](env)
            for f in parts[1:]:
                acc = getattr(acc, pick)(f(env))
            return acc
        return extreme
    raise Unsupported(f"{type(e).__name__} (no ball enclosure here)")


def _exp_log(base: arb, ex: arb) -> arb:
    if not base > 0:
        return arb("nan")
    return (ex * _monotone("log", base)).exp()


class ArbProgram:
    """Several SymPy expressions evaluated together in Arb, sharing common subexpressions.

    Parameters
    ----------
    exprs : sequence of sympy.Expr
    symbols : sequence of sympy.Symbol
        The inputs, in order.

    Raises
    ------
    Unsupported
        When a node has no ball enclosure here (the message names it).
    """

    def __init__(self, exprs: Sequence[sympy.Expr], symbols: Sequence[sympy.Symbol]) -> None:
        replacements, reduced = sympy.cse(list(exprs))
        self.symbols = tuple(symbols)
        self.steps = [(s, _node(e)) for s, e in replacements]
        self.outputs = [_node(e) for e in reduced]

    def __call__(self, values: Sequence[arb]) -> list[arb]:
        env: Env = dict(zip(self.symbols, values))
        for s, f in self.steps:
            env[s] = f(env)
        return [f(env) for f in self.outputs]


# ---------------------------------------------------------------------------------------
# Activations on balls
# ---------------------------------------------------------------------------------------

def _sigmoid(z: arb) -> arb:
    if _wide(z):
        return _sigmoid(z.lower()).union(_sigmoid(z.upper()))
    return 1 / (1 + (-z).exp())


def _tanh(z: arb) -> arb:
    return _monotone("tanh", z)


def _softplus(z: arb) -> arb:
    if _wide(z):
        return _softplus(z.lower()).union(_softplus(z.upper()))
    if z > 0:
        return z + (-z).exp().log1p()
    return z.exp().log1p()


def activation_balls(name: str, z: arb, order: int = 2, *, gamma: arb | None = None,
                     right: bool | None = None) -> tuple[arb, ...]:
    """(s(z), s'(z), s''(z))[: order + 1] as balls.

    ``right`` picks the branch of a piecewise activation (True: z > 0 formula, False: the
    left ``z <= 0`` formula); the caller proves the ball stays on that side. ``gamma``: the
    slope of leaky_relu.
    """
    one = arb(1)
    if name == "tanh":
        t = _tanh(z)
        d1 = 1 - sqr(t)
        return (t, d1, -2 * t * d1)[: order + 1]
    if name == "logistic":
        s = _sigmoid(z)
        d1 = arb(1) / 4 - sqr(s - arb(1) / 2)
        return (s, d1, d1 * (1 - 2 * s))[: order + 1]
    if name == "softplus":
        s = _sigmoid(z)
        d1 = arb(1) / 4 - sqr(s - arb(1) / 2)
        return (_softplus(z), s, d1)[: order + 1]
    if name == "swish":
        s = _sigmoid(z)
        d = s * (1 - s)
        return (z * s, s + z * d, d * (2 + z * (1 - 2 * s)))[: order + 1]
    if name == "gelu":
        phi_big = (1 + (z / arb(2).sqrt()).erf()) / 2
        phi = (-sqr(z) / 2).exp() / (2 * arb.pi()).sqrt()
        return (z * phi_big, phi_big + z * phi, phi * (2 - sqr(z)))[: order + 1]
    if name == "mish":
        sig = _sigmoid(z)
        t = _tanh(_softplus(z))
        sech2 = 1 - sqr(t)
        d1 = t + z * sech2 * sig
        d2 = 2 * sech2 * sig + z * (-2 * t * sech2 * sqr(sig) + sech2 * sig * (1 - sig))
        return (z * t, d1, d2)[: order + 1]
    if name == "identity":
        return (z, one, arb(0))[: order + 1]
    if name == "square":
        return (sqr(z), 2 * z, arb(2))[: order + 1]
    if right is None:
        raise ValueError(f"{name} needs a branch (right=True/False)")
    if name == "relu":
        return ((z, one, arb(0)) if right else (arb(0), arb(0), arb(0)))[: order + 1]
    if name == "leaky_relu":
        g = gamma if gamma is not None else arb(0)
        return ((z, one, arb(0)) if right else (g * z, g, arb(0)))[: order + 1]
    if name == "elu":
        if right:
            return (z, one, arb(0))[: order + 1]
        e = _monotone("exp", z)
        return (e - 1, e, e)[: order + 1]
    if name == "softsign":
        if right:
            q = 1 / (1 + z)
            return (z * q, sqr(q), -2 * q * sqr(q))[: order + 1]
        q = 1 / (1 - z)
        return (z * q, sqr(q), 2 * q * sqr(q))[: order + 1]
    raise ValueError(f"no ball enclosure for the activation {name}")


KINKED = ("relu", "leaky_relu", "elu", "softsign")


# ---------------------------------------------------------------------------------------
# Network losses on point data over boxes
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class NetEval:
    """Enclosures over a box: the loss, the gradient (d x 1) and the Hessian (d x d) as far
    as asked for, and ``off_piece`` (why the box leaves the activation pattern, or None)."""

    loss: arb
    grad: arb_mat | None
    hess: arb_mat | None
    off_piece: str | None


def _sum(values: Sequence[arb]) -> arb:
    acc = arb(0)
    for v in values:
        acc = acc + v
    return acc


class BallNetwork:
    """Loss, gradient and Hessian of a network problem on point data, in ball arithmetic.

    Parameters
    ----------
    problem : Problem
        Point data; any activation of the registry.
    pattern : sequence of exact numbers, optional
        For relu, leaky_relu, elu and softsign: a point whose activation pattern (the sign of
        every pre-activation at every datum) fixes the branch used; a box is reported
        ``off_piece`` when a pre-activation ball is not strictly on its side. Required for those
        activations; ignored for the others.
    wide : bool, keyword-only
        Boxes are wide (branch and bound): products of independent balls are taken as exact
        interval products (``imul``), so one-hidden-layer residuals are nearly exact ranges.
    """

    def __init__(self, problem: Any, pattern: Sequence[object] | None = None, *, wide: bool = False) -> None:
        self.wide = wide
        if problem.data.interval is not None:
            raise InputError("problem", problem.name, "BallNetwork handles point data; integral losses go through "
                             "their SymPy piece (verify.critical.certify)")
        self.problem = problem
        self.net = problem.network
        self.d = self.net.n_params
        self.n = problem.data.n
        self.kinked = self.net.activation in KINKED
        self._points = [tuple(p) for p in problem.data.points]
        self._targets = [problem.target.exact(p) for p in problem.data.points]
        self._cache_prec = -1
        self._x: list[list[arb]] = []
        self._y: list[list[arb]] = []
        self.signs: list[list[list[bool]]] | None = None
        self.kink: str | None = None
        if self.kinked:
            if pattern is None:
                raise InputError("pattern", None, f"{self.net.activation} needs a point fixing the activation pattern")
            self._set_pattern([to_fraction(v, "pattern") for v in pattern])

    def _data(self) -> tuple[list[list[arb]], list[list[arb]]]:
        if self._cache_prec != _flint_ctx.prec:
            self._x = [[ball(c) for c in p] for p in self._points]
            self._y = [[ball(t) for t in ts] for ts in self._targets]
            self._cache_prec = _flint_ctx.prec
        return self._x, self._y

    def _set_pattern(self, theta: list[Fraction]) -> None:
        net = self.net
        exact = net.activation in ("relu", "leaky_relu")
        signs: list[list[list[bool]]] = []
        if exact:
            h = [[Fraction(c) for c in p] for p in self._points]
            gamma = net.slope
            for k, layer in enumerate(net.layers):
                W = theta[layer.weight]
                b = theta[layer.bias] if layer.bias is not None else [Fraction(0)] * layer.fan_out
                z = [[sum((W[a * layer.fan_in + j] * hi[j] for j in range(layer.fan_in)), Fraction(0)) + b[a]
                      for a in range(layer.fan_out)] for hi in h]
                if not net.activated(k):
                    h = z
                    continue
                layer_signs = []
                for a in range(layer.fan_out):
                    col = []
                    for i in range(self.n):
                        if z[i][a] == 0:
                            self.kink = (f"neuron {a} of layer {k + 1} has pre-activation exactly 0 at the data point "
                                         f"{[str(c) for c in self._points[i]]}: a kink of {net.activation}, where L "
                                         "need not be twice differentiable")
                            return
                        col.append(z[i][a] > 0)
                    layer_signs.append(col)
                signs.append(layer_signs)
                h = [[zi if zi > 0 else (gamma * zi if net.activation == "leaky_relu" else Fraction(0)) for zi in row]
                     for row in z]
            self.signs = signs
            return
        # elu / softsign: signs from balls at high precision
        with precision(bits=256):
            self.signs = [[[True] * self.n for _ in range(layer.fan_out)] for layer in net.layers]
            res = self._forward_signs([ball(v) for v in theta])
        if isinstance(res, str):
            self.kink = res
        else:
            self.signs = res

    def _forward_signs(self, theta: list[arb]) -> list[list[list[bool]]] | str:
        net = self.net
        x, _ = self._data()
        h = [[x[i][j] for i in range(self.n)] for j in range(net.widths[0])]
        out: list[list[list[bool]]] = []
        assert self.signs is not None
        for k, layer in enumerate(net.layers):
            z = self._affine(theta, layer, h)
            if not net.activated(k):
                h = z
                continue
            layer_signs = []
            for a in range(layer.fan_out):
                col = []
                for i in range(self.n):
                    if not (z[a][i] > 0 or z[a][i] < 0):
                        return (f"neuron {a} of layer {k + 1} has a pre-activation not separated from 0 at the data "
                                f"point {[str(c) for c in self._points[i]]}: a kink of {net.activation}")
                    col.append(bool(z[a][i] > 0))
                layer_signs.append(col)
            out.append(layer_signs)
            h = [[activation_balls(net.activation, z[a][i], 0, right=layer_signs[a][i])[0] for i in range(self.n)]
                 for a in range(layer.fan_out)]
        return out

    def _affine(self, theta: Sequence[arb], layer: Any, h: list[list[arb]]) -> list[list[arb]]:
        W = theta[layer.weight]
        b = theta[layer.bias] if layer.bias is not None else None
        fi = layer.fan_in
        out = []
        for a in range(layer.fan_out):
            row = W[a * fi:(a + 1) * fi]
            za = []
            mul = imul if self.wide else arb.__mul__
            for i in range(self.n):
                acc = b[a] if b is not None else arb(0)
                for j in range(fi):
                    acc = acc + mul(row[j], h[j][i])
                za.append(acc)
            out.append(za)
        return out

    def __call__(self, theta: Sequence[arb], order: int = 2) -> NetEval:
        """Enclosures of L (order 0), grad L (1) and Hess L (2) over the box ``theta`` (balls)."""
        if self.kink is not None:
            raise ValueError(self.kink)
        net = self.net
        d, n = self.d, self.n
        theta = list(theta)
        x, y = self._data()
        gamma = ball(net.slope)
        off: str | None = None
        h_prev = [[x[i][j] for i in range(n)] for j in range(net.widths[0])]
        hd_prev: list[arb_mat] | None = None
        layers: list[Any] = []   # per layer: (h_prev, hd_prev, z, sp, spp, zd, hd, activated)
        act_k = 0
        for k, layer in enumerate(net.layers):
            z = self._affine(theta, layer, h_prev)
            zd: list[arb_mat] | None = None
            if order >= 2:
                zd = []
                W = theta[layer.weight]
                fi = layer.fan_in
                for a in range(layer.fan_out):
                    if hd_prev is not None:
                        m = W[a * fi] * hd_prev[0]
                        for j in range(1, fi):
                            m = m + W[a * fi + j] * hd_prev[j]
                    else:
                        m = arb_mat(n, d)
                    base = layer.weight.start + a * fi
                    for j in range(fi):
                        col = base + j
                        for i in range(n):
                            m[i, col] = m[i, col] + h_prev[j][i]
                    if layer.bias is not None:
                        col = layer.bias.start + a
                        for i in range(n):
                            m[i, col] = m[i, col] + 1
                    zd.append(m)
            if net.activated(k):
                signs = self.signs[act_k] if self.signs is not None else None
                act_k += 1
                h, sp, spp = [], [], []
                for a in range(layer.fan_out):
                    ha, spa, sppa = [], [], []
                    for i in range(n):
                        right = None
                        if signs is not None:
                            right = signs[a][i]
                            zi = z[a][i]
                            if off is None and not (zi > 0 if right else zi < 0):
                                off = (f"neuron {a} of layer {k + 1} at the data point "
                                       f"{[str(c) for c in self._points[i]]} crosses its kink")
                        vals = activation_balls(net.activation, z[a][i], min(order, 2), gamma=gamma, right=right)
                        ha.append(vals[0])
                        if order >= 1:
                            spa.append(vals[1])
                        if order >= 2:
                            sppa.append(vals[2])
                    h.append(ha)
                    sp.append(spa)
                    spp.append(sppa)
                hd = None
                if order >= 2:
                    assert zd is not None
                    hd = []
                    for a in range(layer.fan_out):
                        D = arb_mat(n, n)
                        for i in range(n):
                            D[i, i] = sp[a][i]
                        hd.append(D * zd[a])
                layers.append((h_prev, hd_prev, z, sp, spp, zd, hd, True))
                h_prev, hd_prev = h, hd
            else:
                layers.append((h_prev, hd_prev, z, None, None, zd, zd, False))
                h_prev, hd_prev = z, zd
        factor = ball(self.problem.factor)
        out_dim = net.widths[-1]
        r = [[h_prev[o][i] - y[i][o] for i in range(n)] for o in range(out_dim)]
        scale = factor / n
        loss = scale * _sum([sqr(v) for row in r for v in row])
        if order == 0:
            return NetEval(loss, None, None, off)
        # backward pass: gbar = dL/dh (with the factor 2c/n), delta = dL/dz
        gbar = [[2 * scale * v for v in row] for row in r]
        grad = [arb(0)] * d
        cross: list[tuple[int, list[arb], int, int]] = []   # (row p, delta_a, layer index, unit b)
        second: list[tuple[arb_mat, list[arb]]] = []
        for k in range(len(net.layers) - 1, -1, -1):
            layer = net.layers[k]
            hp, hdp, z, sp, spp, zd, hd, activated = layers[k]
            if activated:
                delta = [[gbar[a][i] * sp[a][i] for i in range(n)] for a in range(layer.fan_out)]
                if order >= 2:
                    for a in range(layer.fan_out):
                        second.append((zd[a], [gbar[a][i] * spp[a][i] for i in range(n)]))
            else:
                delta = gbar
            fi = layer.fan_in
            for a in range(layer.fan_out):
                for j in range(fi):
                    p = layer.weight.start + a * fi + j
                    grad[p] = _sum([delta[a][i] * hp[j][i] for i in range(n)])
                    if order >= 2 and hdp is not None:
                        cross.append((p, delta[a], k, j))
                if layer.bias is not None:
                    grad[layer.bias.start + a] = _sum(delta[a])
            if k > 0:
                W = theta[layer.weight]
                gbar = [[_sum([W[a * fi + j] * delta[a][i] for a in range(layer.fan_out)]) for i in range(n)]
                        for j in range(fi)]
        g = arb_mat([[v] for v in grad])
        if order == 1:
            return NetEval(loss, g, None, off)
        # Hessian
        Hm = arb_mat(d, d)
        for o in range(out_dim):
            J = layers[-1][6][o]
            Hm = Hm + (J.transpose() * J) * (2 * scale)
        for zdm, weights in second:
            D = arb_mat(n, n)
            for i in range(n):
                D[i, i] = weights[i]
            Hm = Hm + zdm.transpose() * (D * zdm)
        if cross:
            P = arb_mat(d, d)
            for p, delta_a, k, j in cross:
                hdp = layers[k][1]
                row = arb_mat([delta_a]) * hdp[j]
                for q in range(d):
                    P[p, q] = P[p, q] + row[0, q]
            Hm = Hm + P + P.transpose()
        return NetEval(loss, g, Hm, off)


# ---------------------------------------------------------------------------------------
# Inertia of a symmetric ball matrix
# ---------------------------------------------------------------------------------------

def ldl_inertia(B: arb_mat) -> tuple[int, int, int] | None:
    """(negative, 0, positive) pivot counts of a symmetric LDL^T elimination of a ball matrix.

    Every symmetric matrix contained in ``B`` (lower triangle read) has this inertia when
    every pivot ball excludes 0 (Sylvester's law of inertia: A = L D L^T is a congruence);
    None when a pivot ball contains 0.
    """
    n = B.nrows()
    A = [[B[i, j] for j in range(i + 1)] for i in range(n)]
    neg = pos = 0
    for k in range(n):
        p = A[k][k]
        if p > 0:
            pos += 1
        elif p < 0:
            neg += 1
        else:
            return None
        for i in range(k + 1, n):
            li = A[i][k] / p
            row = A[i]
            for j in range(k + 1, i + 1):
                row[j] = row[j] - li * A[j][k]
    return neg, 0, pos
