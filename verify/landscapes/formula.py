"""Loss landscapes given by a formula: L(theta) as a SymPy expression in named parameters.

For the worked examples of the theorems (the logistic datum, (xy - 1)^2 + y^2, quadratics,
the GD map of the non-singularity paper) that are not network losses. One expression gives
the same three tiers as a problem: exact (SymPy), mp (mpmath in a private context) and np
(float64, vectorized over members), with derivatives by SymPy differentiation.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, Callable, Sequence

import mpmath
import numpy as np
import sympy

from ..errors import InputError
from ..problem.numbers import GUARD_DPS, check_dps, to_fraction
from ..problem.safe_expr import check_symbol_names, parse_expression

__all__ = ["ExprLandscape", "expression_from_doc"]

Array = np.ndarray

_MP_FUNCS = ("exp", "log", "sqrt", "tanh", "sinh", "cosh", "sin", "cos", "tan", "atan", "erf", "erfc",
             "log1p", "expm1", "pi", "e", "sign", "fabs")


class ExprLandscape:
    """A landscape L(theta) defined by a SymPy expression.

    Parameters
    ----------
    expr : str or sympy.Expr
        The loss, e.g. ``"(x*y - 1)**2 + y**2"``.
    params : sequence of str
        Parameter names in the order of theta, e.g. ``["x", "y"]``.
    name : str, keyword-only
        A label for reports.

    Examples
    --------
    >>> L = ExprLandscape("log(1 + exp(-w))", ["w"])
    >>> float(L.np().loss([0.0]))
    0.6931471805599453
    """

    def __init__(self, expr: str | sympy.Expr, params: Sequence[str], *, name: str = "expression") -> None:
        names = list(check_symbol_names(params, "params"))
        self.symbols = tuple(sympy.Symbol(n, real=True) for n in names)
        local = {s.name: s for s in self.symbols}
        if isinstance(expr, str):
            parsed = parse_expression(expr, local, field="expr")
        elif isinstance(expr, sympy.Basic):
            parsed = expr.xreplace({sympy.Symbol(s.name): s for s in self.symbols})
        else:
            raise InputError("expr", type(expr).__name__, "give the loss as a string or a SymPy expression")
        if not isinstance(parsed, sympy.Expr):
            raise InputError("expr", expr, "must be a scalar expression")
        unknown = sorted(str(s) for s in parsed.free_symbols if s not in self.symbols)
        if unknown:
            raise InputError("expr", str(expr), f"uses {', '.join(unknown)}, not among params {names}")
        self.expr: sympy.Expr = parsed
        self.name = name
        self.n_params = len(self.symbols)

    def __repr__(self) -> str:
        return f"ExprLandscape({str(self.expr)!r}, {[s.name for s in self.symbols]})"

    @cached_property
    def grad_exprs(self) -> tuple[sympy.Expr, ...]:
        return tuple(sympy.diff(self.expr, s) for s in self.symbols)

    @cached_property
    def hessian_exprs(self) -> tuple[tuple[sympy.Expr, ...], ...]:
        g = self.grad_exprs
        d = self.n_params
        rows: list[list[sympy.Expr]] = [[sympy.S.Zero] * d for _ in range(d)]
        for i in range(d):
            for j in range(i, d):
                rows[i][j] = rows[j][i] = sympy.diff(g[i], self.symbols[j])
        return tuple(tuple(r) for r in rows)

    # tiers ---------------------------------------------------------------------------------
    def np(self) -> _ExprNp:
        """The float64 tier (vectorized over members)."""
        return _ExprNp(self)

    def mp(self, dps: int = 30) -> _ExprMp:
        """The mpmath tier at ``dps`` digits (plus guard digits) in a private context."""
        return _ExprMp(self, check_dps(dps))

    def exact(self) -> _ExprExact:
        """The exact tier: SymPy values at rational parameters."""
        return _ExprExact(self)


def expression_from_doc(doc: dict[str, Any], *, name: str = "expression") -> ExprLandscape:
    """The landscape of a formula file's ``[expression]`` table (``loss``, ``params``); its name is
    the file's top-level ``name``, else the table's, else ``name``."""
    table = doc["expression"]
    if not isinstance(table, dict) or "loss" not in table or "params" not in table:
        raise InputError("expression", table, "give loss = \"(x*y - 1)**2 + y**2\" and params = [\"x\", \"y\"]")
    unknown = sorted(set(table) - {"loss", "params", "name"})
    if unknown:
        raise InputError(f"expression.{unknown[0]}", table[unknown[0]], "unknown key; [expression] takes loss, "
                                                                       "params, name")
    extra = sorted(set(doc) - {"expression", "name", "instance"})
    if extra:
        raise InputError(extra[0], doc[extra[0]], "unknown table; a formula file has [expression] (and name, "
                                                  "[instance]), not the tables of a network problem")
    label = doc.get("name", table.get("name", name))
    if not isinstance(label, str) or len(label) > 200:
        raise InputError("name", label, "must be a string of at most 200 characters")
    return ExprLandscape(table["loss"], table["params"], name=label)


def _check_len(theta: Sequence[Any], d: int) -> None:
    if len(theta) != d:
        raise InputError("theta", f"{len(theta)} values", f"give exactly {d} values")


class _ExprNp:
    tier = "np"

    def __init__(self, land: ExprLandscape) -> None:
        self.land = land
        self.n_params = land.n_params
        syms = land.symbols
        self._f = sympy.lambdify(syms, land.expr, modules="numpy")
        self._g = [sympy.lambdify(syms, e, modules="numpy") for e in land.grad_exprs]
        self._h = [[sympy.lambdify(syms, e, modules="numpy") for e in row] for row in land.hessian_exprs]

    def _batch(self, theta: object) -> tuple[Array, bool]:
        arr = np.asarray(theta, dtype=np.float64)
        single = arr.ndim == 1
        if arr.ndim not in (1, 2) or arr.shape[-1] != self.n_params:
            raise InputError("theta", f"array of shape {arr.shape}",
                             f"give shape (d,) or (E, d) with d = {self.n_params}")
        return (arr[None] if single else arr), single

    def _eval(self, fn: Callable[..., Any], th: Array) -> Array:
        with np.errstate(all="ignore"):
            return np.broadcast_to(np.asarray(fn(*th.T), dtype=np.float64), (th.shape[0],))

    def loss(self, theta: object) -> Array:
        th, single = self._batch(theta)
        v = self._eval(self._f, th)
        return v[0] if single else v.copy()

    def grad(self, theta: object) -> Array:
        th, single = self._batch(theta)
        g = np.stack([self._eval(fn, th) for fn in self._g], axis=1)
        return g[0] if single else g

    def loss_and_grad(self, theta: object) -> tuple[Array, Array]:
        return self.loss(theta), self.grad(theta)

    def hessian(self, theta: object) -> Array:
        th, single = self._batch(theta)
        H = np.stack([np.stack([self._eval(fn, th) for fn in row], axis=1) for row in self._h], axis=1)
        return H[0] if single else H

    def hvp(self, theta: object, v: object) -> Array:
        H = self.hessian(theta)
        return np.einsum("...ij,...j->...i", H, np.asarray(v, dtype=np.float64))


class _ExprMp:
    tier = "mp"

    def __init__(self, land: ExprLandscape, dps: int) -> None:
        self.land = land
        self.n_params = land.n_params
        self.dps = dps
        self.ctx = mpmath.MPContext()
        self.ctx.dps = dps + GUARD_DPS
        namespace = {name: getattr(self.ctx, name) for name in _MP_FUNCS if hasattr(self.ctx, name)}
        namespace["mpf"] = self.ctx.mpf
        namespace["Abs"] = self.ctx.fabs
        modules = [namespace, "mpmath"]
        syms = land.symbols
        self._f = sympy.lambdify(syms, land.expr, modules=modules)
        self._g = [sympy.lambdify(syms, e, modules=modules) for e in land.grad_exprs]
        self._h = [[sympy.lambdify(syms, e, modules=modules) for e in row] for row in land.hessian_exprs]

    def _args(self, theta: Sequence[Any]) -> list[Any]:
        _check_len(theta, self.n_params)
        out = []
        for i, v in enumerate(theta):
            if isinstance(v, self.ctx.mpf):
                out.append(v)
            else:
                q = to_fraction(v, f"theta[{i}]")
                out.append(self.ctx.mpf(q.numerator) / q.denominator)
        return out

    def loss(self, theta: Sequence[Any]) -> Any:
        return self.ctx.mpf(self._f(*self._args(theta)))

    def grad(self, theta: Sequence[Any]) -> list[Any]:
        args = self._args(theta)
        return [self.ctx.mpf(fn(*args)) for fn in self._g]

    def loss_and_grad(self, theta: Sequence[Any]) -> tuple[Any, list[Any]]:
        args = self._args(theta)
        return self.ctx.mpf(self._f(*args)), [self.ctx.mpf(fn(*args)) for fn in self._g]

    def hessian(self, theta: Sequence[Any]) -> list[list[Any]]:
        args = self._args(theta)
        return [[self.ctx.mpf(fn(*args)) for fn in row] for row in self._h]

    def hvp(self, theta: Sequence[Any], v: Sequence[Any]) -> list[Any]:
        H = self.hessian(theta)
        vv = self._args(v)
        return [self.ctx.fdot(row, vv) for row in H]


class _ExprExact:
    tier = "exact"

    def __init__(self, land: ExprLandscape) -> None:
        self.land = land
        self.n_params = land.n_params

    def _subs(self, theta: Sequence[object]) -> dict[sympy.Symbol, sympy.Rational]:
        _check_len(theta, self.n_params)
        out = {}
        for i, (s, v) in enumerate(zip(self.land.symbols, theta)):
            q = to_fraction(v, f"theta[{i}]")
            out[s] = sympy.Rational(q.numerator, q.denominator)
        return out

    def loss(self, theta: Sequence[object]) -> sympy.Expr:
        return sympy.simplify(self.land.expr.xreplace(self._subs(theta)))

    def grad(self, theta: Sequence[object]) -> tuple[sympy.Expr, ...]:
        s = self._subs(theta)
        return tuple(sympy.simplify(e.xreplace(s)) for e in self.land.grad_exprs)

    def hessian(self, theta: Sequence[object]) -> sympy.ImmutableMatrix:
        s = self._subs(theta)
        return sympy.ImmutableMatrix([[sympy.simplify(e.xreplace(s)) for e in row] for row in self.land.hessian_exprs])
