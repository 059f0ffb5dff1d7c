"""The exact tier of the loss landscape: SymPy expressions with rational data.

The loss, its gradient and its Hessian are evaluated *exactly* at rational parameters: the
results are rationals or closed-form expressions such as ``tanh(1/2)``. Derivatives come from
SymPy differentiation of the realization, never from hand-written derivative formulas, so this
tier is independent of the numpy and mpmath tiers.

Point data
    ``L(theta) = factor / n * sum_i sum_o (N_o(x_i) - f_o(x_i))^2``. The realization N_o is
    built once per branch pattern as an expression in the input symbols and the parameter
    symbols; its gradient and Hessian are differentiated once and cached; the loss derivatives
    follow from the chain rule for the square,
    ``grad L = factor / n * sum_{i,o} 2 r_io grad N_o(x_i)`` and
    ``Hess L = factor / n * sum_{i,o} 2 (grad N_o grad N_o^T + r_io Hess N_o)(x_i)``
    with residuals ``r_io = N_o(x_i) - f_o(x_i)``.
Interval data
    ``L(theta) = factor * integral_a^b sum_o (N_o(x) - f_o(x))^2 dx``, integrated in closed form
    as a symbolic function of theta, then differentiated. Supported: polynomial activations
    (identity, square; any depth) and relu / leaky_relu with one hidden layer, where the
    interval is split at the breakpoints ``-b_j / w_j`` kept symbolic, so the Hessian contains
    the boundary terms of moving breakpoints.

Kinks (relu, leaky_relu, elu, softsign at z = 0): the left branch (the ``z <= 0`` formula) is
used for the value and all derivatives, so relu'(0) = 0, leaky_relu'(0) = gamma, elu''(0) = 1,
softsign''(0) = 2.
"""

from __future__ import annotations

from fractions import Fraction
from itertools import pairwise
from typing import Any, Callable, Sequence

import sympy
from sympy import QQ
from sympy.core.evalf import PrecisionExhausted
from sympy.polys.rings import PolyElement, ring

from ..errors import InputError
from ..problem.numbers import GUARD_DPS, check_dps, to_fraction
from ..problem.problem import Problem

__all__ = ["ExactLandscape", "MAX_EXACT_POINTS"]

MAX_EXACT_POINTS = 2000
"""More data points than this are refused: the symbolic work would take too long."""

_Pattern = tuple[bool, ...]
_Hessian = dict[tuple[int, int], sympy.Expr]
_Values = tuple[sympy.Expr, tuple[sympy.Expr, ...], _Hessian]

_ANALYTIC: dict[str, Callable[[sympy.Expr], sympy.Expr]] = {
    "logistic": lambda z: 1 / (1 + sympy.exp(-z)),
    "tanh": sympy.tanh,
    "softplus": lambda z: sympy.log(1 + sympy.exp(z)),
    "gelu": lambda z: z / 2 * (1 + sympy.erf(z / sympy.sqrt(2))),
    "swish": lambda z: z / (1 + sympy.exp(-z)),
    "mish": lambda z: z * sympy.tanh(sympy.log(1 + sympy.exp(z))),
    "identity": lambda z: z,
    "square": lambda z: z**2,
}

# (left branch z <= 0, right branch z > 0); the left one takes the slope gamma
_PIECEWISE: dict[str, tuple[Callable[[sympy.Expr, sympy.Expr], sympy.Expr], Callable[[sympy.Expr], sympy.Expr]]] = {
    "elu": (lambda z, g: sympy.exp(z) - 1, lambda z: z),
    "softsign": (lambda z, g: z / (1 - z), lambda z: z / (1 + z)),
    "relu": (lambda z, g: sympy.S.Zero, lambda z: z),
    "leaky_relu": (lambda z, g: g * z, lambda z: z),
}


def _rational(q: Fraction) -> sympy.Rational:
    return sympy.Rational(q.numerator, q.denominator)


def _qq(q: Fraction) -> Any:
    """A Fraction in SymPy's QQ (whatever its ground types: python, gmpy2 or flint)."""
    return QQ(q.numerator, q.denominator)


def _activate(name: str, z: sympy.Expr, right: bool, gamma: sympy.Expr) -> sympy.Expr:
    """s(z) in SymPy form; for a piecewise activation the branch is given by ``right``."""
    if name in _PIECEWISE:
        left_branch, right_branch = _PIECEWISE[name]
        return right_branch(z) if right else left_branch(z, gamma)
    return _ANALYTIC[name](z)


def _is_positive(value: sympy.Expr) -> bool:
    """Whether an exact real number is > 0; zero is not (the left-branch convention).

    Rationals are decided exactly; other numbers by evaluation at rising precision with
    SymPy's error control. A number that stays indistinguishable from zero at 1000 digits is
    simplified, and counts as zero unless SymPy proves it positive.
    """
    if value.is_Rational:
        return bool(value > 0)
    for digits in (30, 150, 1000):
        try:
            approx = value.evalf(digits, strict=True)
        except PrecisionExhausted:
            continue
        if approx.is_Number and approx != 0:
            return bool(approx > 0)
    return bool(sympy.simplify(value).is_positive)


def _numeric(values: Sequence[sympy.Expr], dps: int) -> list[sympy.Float]:
    """``values`` evaluated to ``dps`` significant digits.

    Every function value (``tanh(1/2)``, ...) is evaluated once with ``evalf`` at ``dps`` plus
    guard digits and substituted, then each value is evaluated with ``evalf``; this is done at
    two working precisions, and a value on which they do not agree to ``dps + 1`` digits is
    evaluated directly with ``evalf(dps)`` (SymPy's own error control). Shared function values
    make the substitution far faster than evaluating every expression tree on its own.
    """
    atoms: set[sympy.Basic] = set().union(*(v.atoms(sympy.Function) for v in values))

    def at(digits: int) -> list[sympy.Expr]:
        table = {atom: atom.evalf(digits) for atom in atoms}
        return [v.xreplace(table).evalf(digits) for v in values]

    low, high = at(dps + 15), at(dps + 30)
    tolerance = sympy.Float(10, dps + 30) ** (-dps - 1)
    out = []
    for value, u, v in zip(values, low, high):
        if u.is_Number and v.is_Number and abs(u - v) <= tolerance * abs(v):
            out.append(sympy.Float(v, dps))
        else:
            out.append(sympy.Float(value.evalf(dps), dps))
    return out


class _Derivatives:
    """A scalar expression in the parameter symbols with its gradient and Hessian, built on demand.

    The Hessian keeps the nonzero entries of the upper triangle, ``{(p, q): expr}`` with p <= q.
    """

    def __init__(self, expr: sympy.Expr, symbols: tuple[sympy.Symbol, ...]) -> None:
        self.expr = expr
        self._symbols = symbols
        self._grad: tuple[sympy.Expr, ...] | None = None
        self._hess: _Hessian | None = None

    def grad(self) -> tuple[sympy.Expr, ...]:
        if self._grad is None:
            self._grad = tuple(sympy.diff(self.expr, s) for s in self._symbols)
        return self._grad

    def hessian(self) -> _Hessian:
        if self._hess is None:
            grad = self.grad()
            hess: _Hessian = {}
            for p, gp in enumerate(grad):
                if gp == 0:
                    continue
                for q in range(p, len(grad)):
                    entry = sympy.diff(gp, self._symbols[q])
                    if entry != 0:
                        hess[(p, q)] = entry
            self._hess = hess
        return self._hess

    def at(self, values: Sequence[sympy.Rational], order: int) -> _Values:
        """Value, gradient (order >= 1) and Hessian entries (order >= 2) at exact parameters."""
        subs = dict(zip(self._symbols, values))
        grad = tuple(g.xreplace(subs) for g in self.grad()) if order >= 1 else ()
        hess = {pq: h.xreplace(subs) for pq, h in self.hessian().items()} if order >= 2 else {}
        return self.expr.xreplace(subs), grad, hess


def _poly_value(poly: PolyElement, point: Sequence[Any], powers: dict[tuple[int, int], Any]) -> Any:
    """poly(point) over QQ: sum of coeff * prod point_i^e_i, with the powers shared between calls."""
    total = QQ(0)
    for monomial, coeff in poly.iterterms():
        for i, e in enumerate(monomial):
            if e:
                if (i, e) not in powers:
                    powers[(i, e)] = point[i] ** e
                coeff = coeff * powers[(i, e)]
        total += coeff
    return total


class _PolynomialLoss:
    """``L = factor * sum_o (c_o^T M c_o - 2 F_o . c_o + G_o)`` for a realization polynomial in x.

    ``c_o = (c_o0, ..., c_oD)`` are the coefficients of ``N_o = sum_k c_ok(theta) x^k``, polynomials
    over QQ in SymPy's sparse rings; ``M_kl = integral x^(k+l) dx`` and ``F_ok = integral x^k f_o dx``
    over [a, b]. The coefficients are differentiated in the ring (far faster than expression
    trees) and L's derivatives follow from the chain rule for the quadratic form:
    ``grad L = factor sum_o sum_k (2 (M c_o)_k - 2 F_ok) grad c_ok`` and
    ``Hess L = factor sum_o [2 sum_kl M_kl grad c_ok grad c_ol^T + sum_k (2 (M c_o)_k - 2 F_ok) Hess c_ok]``.
    """

    def __init__(self, coefficients: list[list[PolyElement]], gram: list[list[Any]],
                 moments: list[list[sympy.Expr]], constant: sympy.Expr, factor: sympy.Rational) -> None:
        self._coefficients = coefficients
        self._gram = gram
        self._moments = moments
        self._constant = constant
        self._factor = factor
        self._derivs: list[list[tuple[dict[int, PolyElement], dict[tuple[int, int], PolyElement]]]] | None = None

    def _derivatives(self) -> list[list[tuple[dict[int, PolyElement], dict[tuple[int, int], PolyElement]]]]:
        """For every output and power k: the nonzero entries of grad c_ok and of its upper Hessian."""
        if self._derivs is None:
            self._derivs = []
            for coeffs in self._coefficients:
                row = []
                for poly in coeffs:
                    gens = poly.ring.gens
                    grad = {p: g for p, x in enumerate(gens) if (g := poly.diff(x))}
                    hess = {(p, q): h for p, g in grad.items() for q in range(p, len(gens)) if (h := g.diff(gens[q]))}
                    row.append((grad, hess))
                self._derivs.append(row)
        return self._derivs

    def at(self, values: Sequence[sympy.Rational], order: int) -> _Values:
        d = len(values)
        point = [QQ(int(v.p), int(v.q)) for v in values]
        powers: dict[tuple[int, int], Any] = {}
        loss, grad = QQ(0), [QQ(0)] * d
        hess: dict[tuple[int, int], Any] = {}
        # rational parts are summed over QQ; parts with a transcendental moment F_ok stay symbolic
        loss_s: list[sympy.Expr] = [self._constant]
        grad_s: list[list[sympy.Expr]] = [[] for _ in range(d)]
        hess_s: dict[tuple[int, int], list[sympy.Expr]] = {}
        for o, (coeffs, moments) in enumerate(zip(self._coefficients, self._moments)):
            c = [_poly_value(ck, point, powers) for ck in coeffs]
            weights = [2 * sum((m * cl for m, cl in zip(row, c)), QQ(0)) for row in self._gram]  # 2 (M c)_k
            loss += sum((ck * w for ck, w in zip(c, weights)), QQ(0)) / 2
            rational = [f.is_Rational for f in moments]
            for k, f in enumerate(moments):
                if rational[k]:
                    weights[k] -= 2 * QQ(int(f.p), int(f.q))
                    loss -= 2 * QQ(int(f.p), int(f.q)) * c[k]
                else:
                    loss_s.append(-2 * f * QQ.to_sympy(c[k]))
            if order < 1:
                continue
            derivs = self._derivatives()[o]
            grads = [{p: _poly_value(g, point, powers) for p, g in dk[0].items()} for dk in derivs]
            for k, gk in enumerate(grads):
                for p, value in gk.items():
                    grad[p] += weights[k] * value
                    if not rational[k]:
                        grad_s[p].append(-2 * moments[k] * QQ.to_sympy(value))
            if order < 2:
                continue
            for k, gk in enumerate(grads):
                for j, gj in enumerate(grads):
                    if self._gram[k][j]:
                        for p, gp in gk.items():
                            for q, gq in gj.items():
                                if p <= q:
                                    hess[(p, q)] = hess.get((p, q), QQ(0)) + 2 * self._gram[k][j] * gp * gq
                for pq, h in derivs[k][1].items():
                    value = _poly_value(h, point, powers)
                    hess[pq] = hess.get(pq, QQ(0)) + weights[k] * value
                    if not rational[k]:
                        hess_s.setdefault(pq, []).append(-2 * moments[k] * QQ.to_sympy(value))
        factor = self._factor

        def total(exact: Any, symbolic: list[sympy.Expr]) -> sympy.Expr:
            return factor * (QQ.to_sympy(exact) + sympy.Add(*symbolic))

        hess_out = {pq: total(hess.get(pq, QQ(0)), hess_s.get(pq, [])) for pq in set(hess) | set(hess_s)}
        return total(loss, loss_s), tuple(total(g, t) for g, t in zip(grad, grad_s)), hess_out


def _hessian_matrix(entries: _Hessian, d: int) -> sympy.ImmutableMatrix:
    """The symmetric d x d matrix with the given upper-triangle entries (others zero)."""
    rows = [[sympy.S.Zero] * d for _ in range(d)]
    for (p, q), value in entries.items():
        rows[p][q] = rows[q][p] = value
    return sympy.ImmutableMatrix(rows)


class ExactLandscape:
    """The loss landscape of a problem, evaluated exactly with SymPy at rational parameters.

    Parameters
    ----------
    problem : Problem
        Network, data, target and loss factor. Point data with at most ``MAX_EXACT_POINTS``
        points, or an interval with a polynomial activation (identity, square) or with relu /
        leaky_relu (one hidden layer, which ``Problem`` enforces).

    Raises
    ------
    InputError
        For too many points, an activation that cannot be integrated exactly over an interval,
        or a target whose integrals SymPy cannot find in closed form.

    Notes
    -----
    Every method takes ``theta`` as a sequence of d = ``network.n_params`` exact numbers (int,
    ``Fraction``, ``sympy.Rational``, or strings such as ``"-1/2"`` and ``"0.1"``) in the layout
    (W_1, b_1, ..., W_L, b_L), W_k of shape (l_k, l_{k-1}) row-major. Symbolic derivatives are
    cached per branch pattern (per breakpoint order for interval data), so repeated calls are
    fast.

    Where L is not twice differentiable (a pre-activation exactly 0 at a data point; for the
    integral loss a breakpoint exactly at a or b, or two coinciding breakpoints) the values are
    those of one adjacent smooth piece: the left branch at a kink, a breakpoint at an end of the
    interval is left out, coinciding breakpoints are ordered by neuron index.
    """

    tier = "exact"

    def __init__(self, problem: Problem) -> None:
        if not isinstance(problem, Problem):
            raise InputError("problem", type(problem).__name__, "give a verify.Problem (see verify.parse_problem)")
        self.problem = problem
        net = problem.network
        self._d = net.n_params
        self._symbols = tuple(sympy.Symbol(f"th{i}", real=True) for i in range(self._d))
        self._inputs: tuple[sympy.Symbol, ...] = problem.target.symbols
        self._targets: tuple[sympy.Expr, ...] = problem.target.sympy_exprs
        self._factor = _rational(problem.factor)
        self._gamma = _rational(net.slope)
        self._point_cache: dict[_Pattern, tuple[_Derivatives, ...]] = {}
        self._interval_cache: dict[tuple[object, ...], _Derivatives] = {}
        self._polynomial_loss: _PolynomialLoss | None = None
        self._antiderivatives: tuple[sympy.Expr, ...] = ()
        self._alpha, self._beta = sympy.symbols("alpha beta", real=True)
        data = problem.data
        if data.interval is None:
            if data.n > MAX_EXACT_POINTS:
                raise InputError("data.points", f"{data.n} points",
                                 f"the exact tier handles at most {MAX_EXACT_POINTS} points: use the mp or np tier")
            self._points = tuple(tuple(_rational(c) for c in p) for p in data.points)
            self._target_values = tuple(problem.target.exact(p) for p in data.points)
        elif net.info.polynomial:
            self._polynomial_loss = self._polynomial_interval_loss()
        elif net.activation in ("relu", "leaky_relu"):
            self._antiderivatives = tuple(self._antiderivative(f) for f in self._targets)
        else:
            raise InputError("network.activation", net.activation,
                             "the exact tier integrates only polynomial and piecewise-linear activations over an "
                             "interval: use the mp tier (--tier mp)")

    # ------------------------------------------------------------------ public interface

    def loss(self, theta: Sequence[object]) -> sympy.Expr:
        """The exact loss L(theta), a SymPy number (rational or closed form)."""
        return self._compute(theta, 0)[0]

    def grad(self, theta: Sequence[object]) -> tuple[sympy.Expr, ...]:
        """The exact gradient of L at theta, length d."""
        return self._compute(theta, 1)[1]

    def hessian(self, theta: Sequence[object]) -> sympy.ImmutableMatrix:
        """The exact Hessian of L at theta, a symmetric d x d matrix."""
        hess = self._compute(theta, 2)[2]
        assert hess is not None
        return hess

    def evaluate(self, theta: Sequence[object],
                 dps: int) -> tuple[sympy.Float, tuple[sympy.Float, ...], sympy.ImmutableMatrix]:
        """Loss, gradient (length d) and Hessian (d x d) evaluated to ``dps`` significant digits.

        The exact values are computed first and then rounded with SymPy's ``evalf``: function
        values such as ``tanh(1/2)`` are evaluated once and shared, the result is accepted when
        two working precisions (``dps + 15`` and ``dps + 30``) agree to ``dps + 1`` digits, and
        any other entry is evaluated directly with ``evalf(n=dps)``.

        Returns
        -------
        loss : sympy.Float
        grad : tuple of sympy.Float, length d
        hessian : sympy.ImmutableMatrix of sympy.Float, shape (d, d)
        """
        dps = check_dps(dps)
        loss, grad, hess = self._compute(theta, 2)
        assert hess is not None
        d = self._d
        numbers = _numeric([loss, *grad, *hess], dps + GUARD_DPS)   # guard digits: correct to dps digits
        return numbers[0], tuple(numbers[1:d + 1]), sympy.ImmutableMatrix(d, d, numbers[d + 1:])

    # ------------------------------------------------------------------ dispatch

    def _parse_theta(self, theta: Sequence[object]) -> tuple[sympy.Rational, ...]:
        net = self.problem.network
        fix = (f"the network {net.describe()} has {self._d} parameters "
               f"({', '.join(net.param_names()[:6])}{', ...' if self._d > 6 else ''}): give exactly {self._d}")
        if isinstance(theta, (str, bytes)):
            raise InputError("theta", theta, fix)
        try:
            values = list(theta)
        except TypeError:
            raise InputError("theta", theta, fix) from None
        if len(values) != self._d:
            raise InputError("theta", f"{len(values)} values", fix)
        out = []
        for i, v in enumerate(values):
            # sympy.Rational registers as numbers.Real, which to_fraction would read through a float
            q = Fraction(int(v.p), int(v.q)) if isinstance(v, sympy.Rational) else to_fraction(v, f"theta[{i}]")
            out.append(_rational(q))
        return tuple(out)

    def _compute(self, theta: Sequence[object],
                 order: int) -> tuple[sympy.Expr, tuple[sympy.Expr, ...], sympy.ImmutableMatrix | None]:
        """Loss, gradient (if order >= 1, else empty) and Hessian (if order >= 2, else None)."""
        values = self._parse_theta(theta)
        if self.problem.data.interval is None:
            loss, grad, hess = self._point_terms(values, order)
        elif self._polynomial_loss is not None:
            loss, grad, hess = self._polynomial_loss.at(values, order)
        else:
            loss, grad, hess = self._relu_interval_loss(values).at(values, order)
        return loss, grad, _hessian_matrix(hess, self._d) if order >= 2 else None

    # ------------------------------------------------------------------ the realization

    def _realization(self, inputs: Sequence[sympy.Expr], pattern: _Pattern,
                     params: Sequence[sympy.Expr]) -> list[sympy.Expr]:
        """N(inputs) for parameters ``params`` (symbols or numbers); one entry per output.

        ``pattern`` holds, for every activated neuron in layer order, whether its pre-activation
        is positive (right branch); it is empty for analytic activations.
        """
        net = self.problem.network
        branches = iter(pattern)
        h = list(inputs)
        for k, layer in enumerate(net.layers):
            weights = params[layer.weight]
            biases = params[layer.bias] if layer.bias is not None else [sympy.S.Zero] * layer.fan_out
            z = [sympy.Add(*(weights[i * layer.fan_in + j] * h[j] for j in range(layer.fan_in))) + biases[i]
                 for i in range(layer.fan_out)]
            if net.activated(k):
                kink = net.activation in _PIECEWISE
                h = [_activate(net.activation, zi, next(branches) if kink else True, self._gamma) for zi in z]
            else:
                h = z
        return h

    def _pattern(self, values: tuple[sympy.Rational, ...], point: tuple[sympy.Rational, ...]) -> _Pattern:
        """The branch of every activated neuron at one data point, decided exactly."""
        net = self.problem.network
        if net.activation not in _PIECEWISE:
            return ()
        bits: list[bool] = []
        h: list[sympy.Expr] = list(point)
        for k, layer in enumerate(net.layers):
            weights = values[layer.weight]
            biases = values[layer.bias] if layer.bias is not None else (sympy.S.Zero,) * layer.fan_out
            z = [sympy.Add(*(weights[i * layer.fan_in + j] * h[j] for j in range(layer.fan_in))) + biases[i]
                 for i in range(layer.fan_out)]
            if net.activated(k):
                right = [_is_positive(zi) for zi in z]
                bits += right
                h = [_activate(net.activation, zi, r, self._gamma) for zi, r in zip(z, right)]
            else:
                h = z
        return tuple(bits)

    # ------------------------------------------------------------------ point data

    def _outputs(self, pattern: _Pattern) -> tuple[_Derivatives, ...]:
        """Symbolic N_o(x, theta) for one branch pattern, with cached derivatives."""
        if pattern not in self._point_cache:
            outputs = self._realization(self._inputs, pattern, self._symbols)
            self._point_cache[pattern] = tuple(_Derivatives(e, self._symbols) for e in outputs)
        return self._point_cache[pattern]

    def _point_terms(self, values: tuple[sympy.Rational, ...], order: int) -> _Values:
        d = self._d
        theta_subs = dict(zip(self._symbols, values))
        loss_terms: list[sympy.Expr] = []
        grad_terms: list[list[sympy.Expr]] = [[] for _ in range(d)]
        hess_terms: dict[tuple[int, int], list[sympy.Expr]] = {}
        for point, targets in zip(self._points, self._target_values):
            subs = {**theta_subs, **dict(zip(self._inputs, point))}
            for out, target in zip(self._outputs(self._pattern(values, point)), targets):
                residual = out.expr.xreplace(subs) - target
                loss_terms.append(residual**2)
                if order < 1:
                    continue
                grad = [g.xreplace(subs) if g != 0 else sympy.S.Zero for g in out.grad()]
                nonzero = [p for p in range(d) if grad[p] != 0]
                for p in nonzero:
                    grad_terms[p].append(residual * grad[p])
                if order < 2:
                    continue
                for i, p in enumerate(nonzero):
                    for q in nonzero[i:]:
                        hess_terms.setdefault((p, q), []).append(grad[p] * grad[q])
                if residual != 0:
                    for pq, h in out.hessian().items():
                        hess_terms.setdefault(pq, []).append(residual * h.xreplace(subs))
        scale = self._factor / len(self._points)
        loss = scale * sympy.Add(*loss_terms)
        grad_out = tuple(2 * scale * sympy.Add(*t) for t in grad_terms) if order >= 1 else ()
        return loss, grad_out, {pq: 2 * scale * sympy.Add(*t) for pq, t in hess_terms.items()}

    # ------------------------------------------------------------------ interval data

    def _integral(self, integrand: sympy.Expr, limits: tuple[sympy.Expr, ...]) -> sympy.Expr:
        """A closed-form integral in x (definite with limits (a, b), else indefinite)."""
        x = self._inputs[0]
        result = sympy.integrate(integrand, (x, *limits)) if limits else sympy.integrate(integrand, x)
        if result.has(sympy.Integral):
            raise InputError("target.expr", list(self.problem.target.exprs),
                             f"SymPy finds no closed form for the integral of {integrand}: use the mp tier (--tier mp)")
        return result

    def _polynomial_interval_loss(self) -> _PolynomialLoss:
        """L(theta) for a polynomial activation: the coefficients of N_o in x and the moments."""
        assert self.problem.data.interval is not None
        a, b = self.problem.data.interval
        limits = (_rational(a), _rational(b))
        x = self._inputs[0]
        with_x = ring([x, *self._symbols], QQ)[0]
        theta_ring = ring(list(self._symbols), QQ)[0]
        coefficients: list[list[PolyElement]] = []
        moments: list[list[sympy.Expr]] = []
        constant = sympy.S.Zero
        for n_o, f_o in zip(self._realization([x], (), self._symbols), self._targets):
            by_power: dict[int, dict[tuple[int, ...], Any]] = {}
            for monomial, coeff in with_x.from_expr(n_o).terms():
                by_power.setdefault(monomial[0], {})[monomial[1:]] = coeff
            degree = max(by_power, default=0)
            coefficients.append([theta_ring.from_dict(by_power.get(k, {})) for k in range(degree + 1)])
            moments.append([self._integral(x**k * f_o, limits) for k in range(degree + 1)])
            constant += self._integral(f_o**2, limits)
        size = max(len(c) for c in coefficients)
        for c, f in zip(coefficients, moments):  # pad every output to the same degree
            c += [theta_ring.zero] * (size - len(c))
            f += [sympy.S.Zero] * (size - len(f))
        gram = [[_qq((b ** (i + j + 1) - a ** (i + j + 1)) / (i + j + 1)) for j in range(size)] for i in range(size)]
        return _PolynomialLoss(coefficients, gram, moments, constant, self._factor)

    def _antiderivative(self, target: sympy.Expr) -> sympy.Expr:
        """Phi(x; alpha, beta), an antiderivative in x of (alpha x + beta - f(x))^2."""
        x, alpha, beta = self._inputs[0], self._alpha, self._beta
        return (alpha**2 * x**3 / 3 + alpha * beta * x**2 + beta**2 * x
                - 2 * alpha * self._integral(x * target, ()) - 2 * beta * self._integral(target, ())
                + self._integral(target**2, ()))

    def _relu_interval_loss(self, values: tuple[sympy.Rational, ...]) -> _Derivatives:
        """L(theta) near the given theta for a shallow relu / leaky_relu network on [a, b].

        N_o(x) = c_o + sum_j v_oj s(w_j x + b_j). The interior breakpoints -b_j / w_j are kept
        symbolic in their order at theta; on each piece every neuron is active or not (decided
        at the piece's midpoint), so N_o = A_o x + B_o and the piece contributes
        Phi_o(right; A_o, B_o) - Phi_o(left; A_o, B_o).
        """
        net = self.problem.network
        assert self.problem.data.interval is not None
        a, b = (_rational(c) for c in self.problem.data.interval)
        first, second = net.layers
        width, outputs = first.fan_out, second.fan_out
        w_val, w_sym = values[first.weight], self._symbols[first.weight]
        zeros = (sympy.S.Zero,) * width
        b_val = values[first.bias] if first.bias is not None else zeros
        b_sym = self._symbols[first.bias] if first.bias is not None else zeros
        inside = sorted((-b_val[j] / w_val[j], j) for j in range(width)
                        if w_val[j] != 0 and a < -b_val[j] / w_val[j] < b)
        ends_val = [a] + [beta for beta, _ in inside] + [b]
        states = tuple(tuple(bool(w_val[j] * (lo + hi) / 2 + b_val[j] > 0) for j in range(width))
                       for lo, hi in pairwise(ends_val))
        key = (tuple(j for _, j in inside), states)
        if key in self._interval_cache:
            return self._interval_cache[key]
        ends = [a] + [-b_sym[j] / w_sym[j] for _, j in inside] + [b]
        v_sym = self._symbols[second.weight]
        c_sym = self._symbols[second.bias] if second.bias is not None else (sympy.S.Zero,) * outputs
        x, alpha, beta = self._inputs[0], self._alpha, self._beta
        left_slope = self._gamma if net.activation == "leaky_relu" else sympy.S.Zero
        terms: list[sympy.Expr] = []
        for (lo, hi), active in zip(pairwise(ends), states):
            slopes = [sympy.S.One if on else left_slope for on in active]
            for o in range(outputs):
                coef = [v_sym[o * width + j] * slopes[j] for j in range(width)]
                big_a = sympy.Add(*(coef[j] * w_sym[j] for j in range(width)))
                big_b = sympy.Add(*(coef[j] * b_sym[j] for j in range(width))) + c_sym[o]
                phi = self._antiderivatives[o]
                terms.append(phi.xreplace({alpha: big_a, beta: big_b, x: hi})
                             - phi.xreplace({alpha: big_a, beta: big_b, x: lo}))
        derivs = _Derivatives(self._factor * sympy.Add(*terms), self._symbols)
        self._interval_cache[key] = derivs
        return derivs
