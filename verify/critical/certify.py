r"""Proofs about critical points in ball arithmetic: existence, uniqueness, loss, inertia.

``certify_critical_point`` takes a landscape source (a :class:`~verify.Problem` or an
:class:`~verify.ExprLandscape`) and a parameter vector theta, and tries to *prove*, in Arb's
ball arithmetic (python-flint, ``verify.critical.arb``), that the box

.. math:: X = \theta + [-r, r]^d

contains exactly one zero of grad L, or, at a non-isolated critical point, that a manifold of
critical points of a stated dimension passes through the box. What comes back is a
:class:`Certificate`; a failed proof is a result with the reason, never an exception.

Method
------
1. *Enclosures.* Network problems on point data: L, grad L and Hess L over a box by a forward
   pass with tangents and a backward pass in ball arithmetic (``verify.critical.arb.BallNetwork``),
   for every activation of the registry; relu, leaky_relu, elu and softsign on the activation
   pattern at theta (a box that lets a pre-activation cross 0 leaves the piece). Formula
   landscapes and integral losses: the SymPy expression of L on its smooth piece (the whole
   space, or the breakpoint order at theta), differentiated symbolically and translated node by
   node to Arb (any elementary function SymPy prints and Arb has: sin, cos, exp, log, tanh,
   erf, ...).
2. *Krawczyk test* (Krawczyk 1969; Moore 1977). With m = theta, Y an approximate inverse of
   Hess L(m) and H(X) a ball enclosure of the Hessian over X,

   .. math:: K(X) = m - Y\,\nabla L(m) + (I - Y H(X))(X - m).

   If K(X) lies in the interior of X, then X contains exactly one zero of grad L, and every
   matrix in H(X) is nonsingular (Rump 1983). Radii r = 4 |Y grad L(m)|, then 10 times larger,
   up to ``max_radius`` are tried; the box must also stay in the smooth piece.
3. *Loss enclosure.* L(theta*) lies in L(m) + grad L(X) . (X - m) (mean value form),
   intersected with the direct enclosure L(X).
4. *Inertia* (Sylvester's law of inertia). Q are approximate eigenvectors of Hess L(m)
   (float64), proved nonsingular by ||Q^T Q - I||_inf < 1 in balls; B = Q^T H(X) Q is then
   congruent to the Hessian at every point of X, and a symmetric LDL^T elimination of B in
   ball arithmetic whose pivots all exclude 0 proves the numbers of negative and positive
   eigenvalues (``verify.critical.arb.ldl_inertia``).
5. *Non-isolated critical sets* (a singular Hessian). Flat directions that come from a
   symmetry of L are found: the positive rescalings (w, b, v) -> (t w, t b, v / t) of the
   hidden neurons of relu, leaky_relu and identity networks, the coordinates of dead relu
   neurons (inactive on every datum; the box is checked to keep them dead), and for formulas
   the linear fields T(theta)_i = c_i theta_i + t_i (c, t in {-1, 0, 1}, d <= 7) that SymPy proves
   to leave L invariant (grad L . T = 0 identically). Each field is linear with a diagonal
   part, and the family is checked to commute. (Duplicated neurons of a one-hidden-layer
   network, equal incoming weights and bias, are handled by merging them: a critical point
   of the merged network with nonzero merged output weights lifts to a manifold of critical
   points, one dimension per extra copy; the inertia across the copies is not proved.) With
   V an orthonormal basis of the complement of the fields' span at theta, Krawczyk's test is
   run on the slice gradient s -> V^T grad L(theta + V s). A zero p of it with [V, T(p)]
   nonsingular (proved over the box by a ball LDL^T of its Gram matrix) is a critical point
   of L: grad L(p) is orthogonal to V, and to every T(p) because L is invariant along T. The
   orbit of p under the fields is then a manifold of critical points of dimension k (k
   fields), L is constant on it, and the Hessian's inertia is (neg, k, pos) with neg and pos
   those of the slice Hessian V^T H V (the congruence with [V, T(p)] is block diagonal
   because H(p) T(p) = 0).
6. *Exact checks.* When theta is given exactly (rationals) and the gradient and Hessian of
   the piece are rational there (formulas with rational derivatives, identity, square, relu
   and leaky_relu networks of at most ``EXACT_MAX_PARAMS`` parameters), the gradient is
   compared with 0 exactly, and the inertia of the exact Hessian is read from its
   characteristic polynomial by Descartes' rule of signs (FLINT's exact ``fmpq_mat``).

A point that is not a critical point, or whose Hessian has a null space not explained by
proved symmetries, is never certified: the reason says why.

mpmath's ``iv`` context is no longer used: Arb serves every enclosure this module needs (a
frozen copy of the former ``iv`` implementation is the peer of ``bench/run.py krawczyk``).

References
----------
R. Krawczyk, "Newton-Algorithmen zur Bestimmung von Nullstellen mit Fehlerschranken",
Computing 4 (1969). R. E. Moore, "A test for existence of solutions to nonlinear systems",
SIAM J. Numer. Anal. 14 (1977). S. M. Rump, "Solving algebraic problems with high accuracy",
in *A New Approach to Scientific Computation* (1983). A. Neumaier, *Interval Methods for
Systems of Equations*, Cambridge (1990), sections 5.1-5.3. R. Bott, "Nondegenerate critical
manifolds", Ann. of Math. 60 (1954) (Morse-Bott critical manifolds). F. Johansson, "Arb",
IEEE Trans. Computers 66 (2017).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise
from typing import Any, Callable, Sequence

import mpmath
import numpy as np
import sympy
from flint import arb, arb_mat, fmpq, fmpq_mat

from ..errors import InputError
from ..problem.numbers import check_dps, to_fraction
from . import arb as _arb
from .arb import ball, dec_lower, dec_upper, ldl_inertia, precision

__all__ = ["Certificate", "certify_critical_point", "smooth_piece", "Piece", "exact_inertia", "Source",
           "krawczyk", "KrawczykResult", "enclosure_model", "EXACT_MAX_PARAMS"]

Source = Any  # a Problem or an ExprLandscape
Box = list[arb]  # balls, one per parameter

#: inflations of the Krawczyk box tried (each 10x the previous radius)
KRAWCZYK_TRIES = 7


# ---------------------------------------------------------------------------------------
# The smooth piece of L that contains theta, as a SymPy expression
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Piece:
    """L as a SymPy expression on the smooth piece containing a point.

    Attributes
    ----------
    expr : sympy.Expr
        The loss in ``symbols``.
    symbols : tuple of sympy.Symbol
        The parameters, in the order of theta.
    guards : tuple of (sympy.Expr, bool)
        Expressions that must stay strictly positive (True) or strictly negative (False) on
        a box for ``expr`` to be L there (pre-activations, breakpoint gaps); empty for
        analytic losses.
    what : str
        Which piece, for reports.
    """

    expr: sympy.Expr
    symbols: tuple[sympy.Symbol, ...]
    guards: tuple[tuple[sympy.Expr, bool], ...]
    what: str


def _rat(q: Fraction) -> sympy.Rational:
    return sympy.Rational(q.numerator, q.denominator)


def _sign_of(value: sympy.Expr) -> int:
    """-1, 0 or 1 for an exact real number."""
    from ..landscapes.exact import _is_positive

    if _is_positive(value):
        return 1
    return -1 if _is_positive(-value) else 0


def _forward(problem: Any, inputs: Sequence[sympy.Expr], symbols: tuple[sympy.Symbol, ...],
             at: dict[sympy.Symbol, sympy.Rational], guards: list[tuple[sympy.Expr, bool]]) -> list[sympy.Expr] | str:
    """N(inputs) on the activation pattern at ``at``; appends the sign conditions to ``guards``.

    Returns a reason string when a pre-activation is exactly 0 at ``at`` (a kink: L need not be
    twice differentiable there).
    """
    from ..landscapes.exact import _PIECEWISE, _activate

    net = problem.network
    gamma = _rat(net.slope)
    kinked = net.activation in _PIECEWISE
    h = list(inputs)
    for k, layer in enumerate(net.layers):
        weights = symbols[layer.weight]
        biases = symbols[layer.bias] if layer.bias is not None else (sympy.S.Zero,) * layer.fan_out
        z = [sympy.Add(*(weights[i * layer.fan_in + j] * h[j] for j in range(layer.fan_in))) + biases[i]
             for i in range(layer.fan_out)]
        if not net.activated(k):
            h = z
            continue
        new = []
        for i, zi in enumerate(z):
            right = True
            if kinked:
                sign = _sign_of(zi.xreplace(at))
                if sign == 0:
                    return (f"neuron {i} of layer {k + 1} has pre-activation exactly 0 at the data point "
                            f"{[str(c) for c in inputs]}: a kink of {net.activation}, where L need not be twice "
                            "differentiable")
                right = sign > 0
                guards.append((zi, right))
            new.append(_activate(net.activation, zi, right, gamma))
        h = new
    return h


def _problem_piece(problem: Any, values: tuple[Fraction, ...]) -> Piece | str:
    from ..landscapes.exact import MAX_EXACT_POINTS, ExactLandscape

    net = problem.network
    d = net.n_params
    symbols = tuple(sympy.Symbol(f"th{i}", real=True) for i in range(d))
    at = {s: _rat(v) for s, v in zip(symbols, values)}
    factor = _rat(problem.factor)
    guards: list[tuple[sympy.Expr, bool]] = []
    data = problem.data
    if data.interval is None:
        if data.n > MAX_EXACT_POINTS:
            return f"{data.n} data points: more than the {MAX_EXACT_POINTS} the symbolic loss takes"
        terms = []
        for point in data.points:
            outs = _forward(problem, [_rat(c) for c in point], symbols, at, guards)
            if isinstance(outs, str):
                return outs
            terms += [(o - t) ** 2 for o, t in zip(outs, problem.target.exact(point))]
        what = "the activation pattern at theta" if guards else "the whole parameter space"
        return Piece(factor / data.n * sympy.Add(*terms), symbols, tuple(guards), what)
    a, b = (_rat(c) for c in data.interval)
    x = problem.target.symbols[0]
    if net.info.polynomial:
        outs = _forward(problem, [x], symbols, at, guards)
        assert not isinstance(outs, str)
        terms = [sympy.integrate(sympy.expand((o - f) ** 2), (x, a, b))
                 for o, f in zip(outs, problem.target.sympy_exprs)]
        return Piece(factor * sympy.Add(*terms), symbols, (), "the whole parameter space")
    if net.activation not in ("relu", "leaky_relu"):
        return (f"the integral loss with {net.activation} has no closed form: interval enclosures need one "
                "(use point data)")
    first = net.layers[0]
    w = symbols[first.weight]
    bias = symbols[first.bias] if first.bias is not None else (sympy.S.Zero,) * first.fan_out
    inside: list[tuple[sympy.Rational, int]] = []
    for j in range(first.fan_out):
        ends = [w[j] * a + bias[j], w[j] * b + bias[j]]
        signs = [_sign_of(e.xreplace(at)) for e in ends]
        if signs == [0, 0]:
            return f"neuron {j} has w = b = 0: L need not be twice differentiable there"
        if 0 in signs:
            return (f"neuron {j} has its breakpoint at an end of the interval [{a}, {b}]: L need not be twice "
                    "differentiable there")
        guards += [(e, s > 0) for e, s in zip(ends, signs)]
        if signs[0] != signs[1]:
            inside.append(((-bias[j] / w[j]).xreplace(at), j))
    inside.sort()
    for (beta0, j0), (beta1, j1) in pairwise(inside):
        if beta0 == beta1:
            return f"neurons {j0} and {j1} share the breakpoint {beta0}: L need not be twice differentiable there"
        guards.append((-bias[j1] / w[j1] + bias[j0] / w[j0], True))
    exact = ExactLandscape(problem)
    expr = exact._relu_interval_loss(tuple(_rat(v) for v in values)).expr
    expr = expr.xreplace(dict(zip(exact._symbols, symbols)))
    return Piece(expr, symbols, tuple(guards), "the breakpoint order at theta")


def smooth_piece(source: Source, theta: Sequence[object]) -> Piece | str:
    """L on the smooth piece containing ``theta`` as a SymPy expression, or the reason why not.

    Parameters
    ----------
    source : Problem or ExprLandscape
    theta : sequence of d exact numbers
    """
    from ..landscapes.formula import ExprLandscape
    from ..problem.problem import Problem

    values = _exact_theta(source, theta)
    if isinstance(source, ExprLandscape):
        bad = [type(f).__name__ for f in source.expr.atoms(sympy.Function, sympy.Piecewise)
               if isinstance(f, (sympy.Abs, sympy.sign, sympy.Max, sympy.Min, sympy.Piecewise, sympy.Heaviside))]
        if bad:
            return f"the expression uses {', '.join(sorted(set(bad)))}: not smooth, no piece is built for it"
        return Piece(source.expr, source.symbols, (), "the whole parameter space")
    assert isinstance(source, Problem)
    return _problem_piece(source, values)


def _n_params(source: Source) -> int:
    from ..landscapes.formula import ExprLandscape
    from ..problem.problem import Problem

    if isinstance(source, ExprLandscape):
        return source.n_params
    if isinstance(source, Problem):
        return source.n_params
    raise InputError("source", type(source).__name__,
                     "give a verify.Problem (load_problem / parse_problem) or a verify.ExprLandscape")


def _exact_theta(source: Source, theta: Sequence[object]) -> tuple[Fraction, ...]:
    d = _n_params(source)
    if isinstance(theta, (str, bytes)) or not hasattr(theta, "__len__") or len(theta) != d:
        raise InputError("theta", theta if isinstance(theta, str) else f"{getattr(theta, '__len__', lambda: '?')()}"
                         " values", f"give exactly {d} numbers (the landscape has {d} parameters)")
    return tuple(to_fraction(v, f"theta[{i}]") for i, v in enumerate(theta))


# ---------------------------------------------------------------------------------------
# Exact inertia
# ---------------------------------------------------------------------------------------

def _sign_changes(coeffs: Sequence[sympy.Rational]) -> int:
    signs = [c > 0 for c in coeffs if c != 0]
    return sum(1 for s, t in pairwise(signs) if s != t)


def exact_inertia(matrix: sympy.Matrix) -> tuple[int, int, int]:
    """(negative, zero, positive) eigenvalue counts of a rational symmetric matrix, exactly.

    The characteristic polynomial p of a real symmetric matrix has only real roots, so by
    Descartes' rule of signs the number of positive roots equals the number of sign changes of
    p's coefficients, and the number of negative roots that of p(-x); the multiplicity of 0 is
    the order of p's lowest nonzero coefficient.
    """
    M = sympy.Matrix(matrix)
    if M.shape[0] != M.shape[1] or M != M.T:
        raise InputError("matrix", f"shape {M.shape}", "give a symmetric square matrix")
    n = M.shape[0]
    rows = [[fmpq(int(sympy.Rational(v).p), int(sympy.Rational(v).q)) for v in M.row(i)] for i in range(n)]
    return _inertia_fmpq(fmpq_mat(rows) if n else fmpq_mat(0, 0), n)


def _inertia_fmpq(M: fmpq_mat, n: int) -> tuple[int, int, int]:
    p = M.charpoly()
    coeffs = [Fraction(int(c.p), int(c.q)) for c in reversed(p.coeffs())] if n else [Fraction(1)]
    coeffs = coeffs[: n + 1] + [Fraction(0)] * (n + 1 - len(coeffs))   # highest degree first
    zero = 0
    for c in reversed(coeffs):
        if c != 0:
            break
        zero += 1
    pos = _sign_changes(coeffs)
    neg = _sign_changes([c * (-1) ** (n - i) for i, c in enumerate(coeffs)])
    return neg, zero, pos


# ---------------------------------------------------------------------------------------
# Enclosure models: L, grad L and Hess L over boxes
# ---------------------------------------------------------------------------------------

#: the largest d for which the exact (SymPy) gradient and Hessian of a network piece are built
EXACT_MAX_PARAMS = 16
#: the largest d for which linear symmetry fields of a formula are searched (5^d candidates)
FORMULA_FIELD_MAX_PARAMS = 7


class _Model:
    """L, grad L (d x 1) and Hess L (d x d) over a box, and whether the box leaves the piece."""

    d: int
    what: str

    def __call__(self, X: Sequence[arb], order: int = 2) -> tuple[arb, Any, Any, str | None]:
        raise NotImplementedError


class _NetModel(_Model):
    def __init__(self, net: _arb.BallNetwork) -> None:
        self.net = net
        self.d = net.d
        self.what = "the activation pattern at theta" if net.kinked else "the whole parameter space"

    def __call__(self, X: Sequence[arb], order: int = 2) -> tuple[arb, Any, Any, str | None]:
        ev = self.net(X, order)
        return ev.loss, ev.grad, ev.hess, ev.off_piece


class _ExprModel(_Model):
    def __init__(self, piece: Piece) -> None:
        self.piece = piece
        self.d = len(piece.symbols)
        self.what = piece.what
        grads = [sympy.diff(piece.expr, s) for s in piece.symbols]
        self.grads = grads
        self.hess = [[sympy.diff(g, s) for s in piece.symbols] for g in grads]
        self._loss = _arb.ArbProgram([piece.expr], piece.symbols)
        self._grad = _arb.ArbProgram(grads, piece.symbols)
        self._hess = _arb.ArbProgram([h for row in self.hess for h in row], piece.symbols)
        self._guards = _arb.ArbProgram([e for e, _ in piece.guards], piece.symbols) if piece.guards else None

    def __call__(self, X: Sequence[arb], order: int = 2) -> tuple[arb, Any, Any, str | None]:
        d = self.d
        off = None
        if self._guards is not None:
            for val, (_, pos) in zip(self._guards(X), self.piece.guards):
                if not (val > 0 if pos else val < 0):
                    off = f"the box leaves {self.piece.what} (a kink or breakpoint is reached)"
                    break
        loss = self._loss(X)[0]
        g = arb_mat([[v] for v in self._grad(X)]) if order >= 1 else None
        H = None
        if order >= 2:
            flat = self._hess(X)
            H = arb_mat([[flat[i * d + j] for j in range(d)] for i in range(d)])
        return loss, g, H, off


def enclosure_model(source: Source, theta: Sequence[object]) -> _Model | str:
    """The ball model of L near ``theta`` (exact numbers), or the reason why there is none."""
    from ..problem.problem import Problem

    values = _exact_theta(source, theta)
    if isinstance(source, Problem) and source.data.interval is None:
        try:
            net = _arb.BallNetwork(source, pattern=values)
        except ValueError as exc:
            return str(exc)
        if net.kink is not None:
            return net.kink
        return _NetModel(net)
    piece = smooth_piece(source, values)
    if isinstance(piece, str):
        return piece
    try:
        return _ExprModel(piece)
    except _arb.Unsupported as exc:
        return f"no ball enclosure of L: it uses {exc}"


# ---------------------------------------------------------------------------------------
# Krawczyk's test for a square system F(x) = 0
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class KrawczykResult:
    """The outcome of Krawczyk's test: ``radius`` (None when nothing was proved), the box,
    the Jacobian enclosure over it, and the reason."""

    radius: float | None
    box: list[arb] | None
    jacobian: arb_mat | None
    reason: str
    newton_step: float
    tried: int


def _mid_float(M: arb_mat) -> np.ndarray:
    return np.array([[float(M[i, j].mid()) for j in range(M.ncols())] for i in range(M.nrows())])


def _exact_mat(A: np.ndarray) -> arb_mat:
    return arb_mat([[arb(float(v)) for v in row] for row in A])


def krawczyk(f_at: Callable[[list[arb]], arb_mat], jac_over: Callable[[list[arb]], tuple[arb_mat | None, str | None]],
             center: Sequence[arb], *, max_radius: float, tries: int = 7) -> KrawczykResult:
    """Krawczyk's test for F(x) = 0 on boxes center + [-r, r]^n of growing radius.

    Parameters
    ----------
    f_at : callable
        F at a point (balls of radius ~0), an n x 1 arb_mat.
    jac_over : callable
        (an enclosure of the Jacobian of F over a box, or None; a reason when the box leaves
        the domain where F is smooth, else None).
    center : sequence of balls
        The centre m (exact or nearly exact balls).
    max_radius : float
        Largest half-width tried.

    Returns
    -------
    KrawczykResult
        ``radius`` is the half-width of a box proved to hold exactly one zero of F, in which
        every Jacobian in the enclosure is nonsingular; None when no radius worked.
    """
    m = list(center)
    n = len(m)
    F_m = f_at(m)
    J_m, off = jac_over(m)
    if J_m is None:
        return KrawczykResult(None, None, None, off or "no Jacobian at the centre", math.inf, 0)
    eye = arb_mat([[1 if i == j else 0 for j in range(n)] for i in range(n)])
    try:
        # an approximate inverse at the working precision (Arb's inverse of the midpoint matrix)
        Y = J_m.mid().inv().mid()
    except (ZeroDivisionError, ValueError):
        Y = None
    if Y is None or not all(Y[i, j].is_finite() for i in range(n) for j in range(n)):
        return KrawczykResult(None, None, None, "the Jacobian at the centre is singular", math.inf, 0)
    YF = Y * F_m
    step = max((abs(float(YF[i, 0].mid())) + float(YF[i, 0].rad()) for i in range(n)), default=0.0)
    scale = max([1.0] + [abs(float(v.mid())) for v in m])
    tiny = 2.0 ** (-(_arb._flint_ctx.prec - 16)) * scale
    r = max(4 * step, tiny)
    tried = 0
    why = "Krawczyk image not inside the box: no zero proved"
    mF = [m[i] - YF[i, 0] for i in range(n)]
    while tried < tries:
        if r > max_radius and tried:
            break
        r_use = min(r, max_radius)
        tried += 1
        rad = arb(0, r_use)
        X = [mi + rad for mi in m]
        JX, off = jac_over(X)
        if off is not None:
            why = f"the box of radius {r_use:.3g} leaves {off}" if not off.startswith("the box") else off
            break
        if JX is None:
            break
        C = eye - Y * JX
        dx = arb_mat([[X[i] - m[i]] for i in range(n)])   # contains X - m~ for the exact centre m~ in m
        K = C * dx
        if all(X[i].contains_interior(mF[i] + K[i, 0]) for i in range(n)):
            return KrawczykResult(r_use, X, JX, "", step, tried)
        r *= 10
    return KrawczykResult(None, None, None, why, step, tried)


# ---------------------------------------------------------------------------------------
# Inertia of a ball Hessian by congruence
# ---------------------------------------------------------------------------------------

def _inertia_by_congruence(H: arb_mat, Hmid: np.ndarray) -> tuple[tuple[int, int, int] | None, str]:
    n = H.nrows()
    if n == 0:
        return (0, 0, 0), ""
    _, Q_np = np.linalg.eigh((Hmid + Hmid.T) / 2)
    Q = _exact_mat(Q_np)
    eye = arb_mat([[1 if i == j else 0 for j in range(n)] for i in range(n)])
    defect = Q.transpose() * Q - eye
    worst = max(_sum_abs_upper([defect[i, j] for j in range(n)]) for i in range(n))
    if not worst < 1:
        return None, "; eigenvalue signs not proved: the eigenvector matrix is not proved nonsingular"
    inertia = ldl_inertia(Q.transpose() * H * Q)
    if inertia is None:
        return None, "; eigenvalue signs not proved: a pivot of the LDL^T elimination of Q^T H(X) Q contains 0"
    return inertia, ""


def _sum_abs_upper(values: Sequence[arb]) -> float:
    return float(sum((abs(v) for v in values), arb(0)).upper())


# ---------------------------------------------------------------------------------------
# Symmetry fields: linear vector fields T(theta)_i = c_i theta_i + t_i that leave L invariant
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Field:
    name: str
    scale: tuple[int, ...]
    shift: tuple[int, ...]
    proof: str

    def at(self, theta: Sequence[Any]) -> list[Any]:
        return [c * t + s if c else (arb(s) if isinstance(t, arb) else s)
                for c, s, t in zip(self.scale, self.shift, theta)]


def _network_fields(problem: Any, values: tuple[Fraction, ...]) -> list[_Field]:
    net = problem.network
    if net.activation not in ("relu", "leaky_relu", "identity"):
        return []
    d = net.n_params
    fields: list[_Field] = []
    dead = _dead_units(problem, values) if net.activation == "relu" else set()
    for k in range(len(net.layers) - 1):
        if not net.activated(k):
            continue
        layer, nxt = net.layers[k], net.layers[k + 1]
        for a in range(layer.fan_out):
            incoming = [layer.weight.start + a * layer.fan_in + j for j in range(layer.fan_in)]
            if layer.bias is not None:
                incoming.append(layer.bias.start + a)
            outgoing = [nxt.weight.start + o * nxt.fan_in + a for o in range(nxt.fan_out)]
            if (k, a) in dead:
                for p in incoming + outgoing:
                    shift = [0] * d
                    shift[p] = 1
                    fields.append(_Field(f"dead neuron {a} of layer {k + 1}: coordinate {p}", (0,) * d, tuple(shift),
                                         "the neuron is inactive on every datum throughout the box"))
                continue
            scale = [0] * d
            for p in incoming:
                scale[p] = 1
            for p in outgoing:
                scale[p] = -1
            fields.append(_Field(f"rescaling of neuron {a} of layer {k + 1}", tuple(scale), (0,) * d,
                                 f"{net.activation} is positively homogeneous: s(t z) = t s(z) for t > 0"))
    return fields


def _dead_units(problem: Any, values: tuple[Fraction, ...]) -> set[tuple[int, int]]:
    net = problem.network
    first = net.layers[0]
    dead = set()
    if problem.data.interval is not None:
        a, b = problem.data.interval
        for j in range(first.fan_out):
            w = values[first.weight.start + j]
            bias = values[first.bias.start + j] if first.bias is not None else Fraction(0)
            if w * a + bias < 0 and w * b + bias < 0:
                dead.add((0, j))
        return dead
    bn = _arb.BallNetwork(problem, pattern=values)
    if bn.signs is None:
        return dead
    act = 0
    for k in range(len(net.layers)):
        if not net.activated(k):
            continue
        for a, col in enumerate(bn.signs[act]):
            if not any(col):
                dead.add((k, a))
        act += 1
    return dead


def _formula_fields(land: Any, values: tuple[Fraction, ...], null_vectors: np.ndarray) -> list[_Field]:
    """Linear fields c_i theta_i + t_i (entries in {-1, 0, 1}) tangent to the numerical null space and
    proved by SymPy to leave L invariant."""
    d = land.n_params
    if d > FORMULA_FIELD_MAX_PARAMS:
        return []
    grads = [sympy.diff(land.expr, s) for s in land.symbols]
    th = np.array([float(v) for v in values])
    P = null_vectors @ null_vectors.T    # projector on the numerical null space
    out: list[_Field] = []
    seen: list[np.ndarray] = []
    options = ((-1, 0), (0, 0), (1, 0), (0, -1), (0, 1))     # per coordinate: (c_i, t_i), never both nonzero
    for combo in itertools.product(options, repeat=d):
        scale = tuple(c for c, _ in combo)
        shift = tuple(t for _, t in combo)
        vec = np.array(scale, dtype=float) * th + np.array(shift, dtype=float)
        norm = np.linalg.norm(vec)
        if norm < 1e-9 or np.linalg.norm(vec - P @ vec) > 1e-6 * norm:
            continue
        if seen and np.linalg.matrix_rank(np.array([*seen, vec]), tol=1e-8) <= len(seen):
            continue
        T = [c * s + t for c, s, t in zip(scale, land.symbols, shift)]
        if sympy.simplify(sympy.expand(sum(g * t for g, t in zip(grads, T)))) != 0:
            continue
        seen.append(vec)
        out.append(_Field(f"T = ({', '.join(str(t) for t in T)})", tuple(scale), tuple(shift),
                          "grad L . T = 0 identically (SymPy)"))
        if len(seen) == null_vectors.shape[1]:
            break
    return out


def _commute(fields: Sequence[_Field]) -> bool:
    # [A x + t, B x + s] = B t - A s for diagonal A, B
    for f, g in itertools.combinations(fields, 2):
        if any(b * t - a * s for a, b, t, s in zip(f.scale, g.scale, f.shift, g.shift)):
            return False
    return True


# ---------------------------------------------------------------------------------------
# The certificate
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Certificate:
    """What ball arithmetic (and exact arithmetic, where it applies) proved about one point.

    Attributes
    ----------
    certified : bool
        True only if Krawczyk's test succeeded: the box ``theta +- box_radius`` (every
        coordinate) contains exactly one zero of grad L (``manifold_dim`` = 0), or, at a
        non-isolated point, exactly one zero of the gradient on a slice transversal to
        ``manifold_dim`` proved symmetry directions, through which a manifold of critical
        points of that dimension passes.
    reason : str
        What was proved, or why nothing was (e.g. "Krawczyk image not inside the box: no
        zero proved"; "grad L(theta) != 0 is proved ...").
    theta : tuple of str
        Centre of the box (decimal strings).
    box_radius : str or None
        r of the box (a decimal upper bound) when certified.
    loss_enclosure : (str, str) or None
        Certified lower and upper bound of L at the critical point (on the manifold: L is
        constant there).
    inertia : (int, int, int) or None
        Proved numbers of (negative, zero, positive) Hessian eigenvalues at the critical point
        (``inertia_method`` says how); None when the signs could not be proved.
    inertia_method : {"ldl", "exact", "slice-ldl"} or None
    exact_gradient_zero : bool or None
        For a rational theta on a piece with rational derivatives: whether grad L(theta) = 0
        exactly; None when that was not decided exactly.
    dps : int
        Digits of the ball arithmetic (plus guard digits).
    manifold_dim : int
        0 for an isolated critical point; k for a certified k-dimensional critical manifold.
    flat_directions : tuple of str
        The symmetry fields of the slice (name and why L is invariant along it).
    backend : str
        "arb" (python-flint ball arithmetic).
    """

    certified: bool
    reason: str
    theta: tuple[str, ...]
    box_radius: str | None = None
    loss_enclosure: tuple[str, str] | None = None
    inertia: tuple[int, int, int] | None = None
    inertia_method: str | None = None
    exact_gradient_zero: bool | None = None
    dps: int = 30
    manifold_dim: int = 0
    flat_directions: tuple[str, ...] = ()
    backend: str = "arb"

    @property
    def kind(self) -> str | None:
        """The proved kind ("minimum", "saddle", "maximum", "degenerate") or None.

        On a certified critical manifold whose null space is exactly its tangent space
        (Morse-Bott), the kind is read from the transversal signs.
        """
        if self.inertia is None:
            return None
        neg, zero, pos = self.inertia
        if neg and pos:
            return "saddle"     # strict: a direction of negative curvature
        if zero and not (self.certified and zero == self.manifold_dim):
            return "degenerate" if neg else None   # nonnegative with zeros: not decided by inertia
        return "maximum" if neg else "minimum"

    def recheck(self, source_expr: str = "source") -> str:
        """The Python call that re-checks this certificate from scratch."""
        theta = "[" + ", ".join(repr(t) for t in self.theta) + "]"
        return f"verify.certify_critical_point({source_expr}, {theta}, dps={self.dps})"

    def record(self, source_expr: str = "source") -> dict[str, Any] | None:
        """The per-instance proof for ``Judgement.certificate`` (None when nothing was certified)."""
        if not self.certified:
            return None
        return {"kind": "critical manifold" if self.manifold_dim else "critical point",
                "statement": self.reason, "theta": list(self.theta), "box_radius": self.box_radius,
                "loss_enclosure": list(self.loss_enclosure) if self.loss_enclosure else None,
                "inertia": list(self.inertia) if self.inertia else None, "manifold_dim": self.manifold_dim,
                "dps": self.dps, "recheck": self.recheck(source_expr)}

    def to_json(self) -> dict[str, Any]:
        return {"certified": self.certified, "reason": self.reason, "theta": list(self.theta),
                "box_radius": self.box_radius,
                "loss_enclosure": list(self.loss_enclosure) if self.loss_enclosure else None,
                "inertia": list(self.inertia) if self.inertia else None, "inertia_method": self.inertia_method,
                "exact_gradient_zero": self.exact_gradient_zero, "dps": self.dps,
                "manifold_dim": self.manifold_dim, "flat_directions": list(self.flat_directions),
                "backend": self.backend}


def _nstr(x: Any, dps: int) -> str:
    return mpmath.nstr(x, dps, strip_zeros=False, min_fixed=-4, max_fixed=6)


def _rational_piece_for_exact(source: Source, values: tuple[Fraction, ...]) -> Piece | None:
    from ..landscapes.formula import ExprLandscape

    if isinstance(source, ExprLandscape):
        piece = smooth_piece(source, values)
        return piece if isinstance(piece, Piece) else None
    net = source.network
    if net.activation not in ("relu", "leaky_relu", "identity", "square") or source.n_params > EXACT_MAX_PARAMS:
        return None
    piece = smooth_piece(source, values)
    return piece if isinstance(piece, Piece) else None


def _exact_checks(source: Source, values: tuple[Fraction, ...],
                  model: _Model) -> tuple[bool | None, tuple[int, int, int] | None]:
    piece = model.piece if isinstance(model, _ExprModel) else _rational_piece_for_exact(source, values)
    if piece is None:
        return None, None
    at = {s: _rat(v) for s, v in zip(piece.symbols, values)}
    grads = model.grads if isinstance(model, _ExprModel) else [sympy.diff(piece.expr, s) for s in piece.symbols]
    g = [e.xreplace(at) for e in grads]
    if not all(v.is_Rational for v in g):
        return None, None
    zero = all(v == 0 for v in g)
    hess = model.hess if isinstance(model, _ExprModel) else [[sympy.diff(e, s) for s in piece.symbols] for e in grads]
    H = [[e.xreplace(at) for e in row] for row in hess]
    inertia = None
    if all(v.is_Rational for row in H for v in row):
        n = len(H)
        inertia = _inertia_fmpq(fmpq_mat([[fmpq(int(v.p), int(v.q)) for v in row] for row in H]) if n
                                else fmpq_mat(0, 0), n)
    return zero, inertia


def certify_critical_point(source: Source, theta: Sequence[object], *, dps: int = 30,
                           max_radius: object = None, manifolds: bool = True) -> Certificate:
    """Prove (or fail to prove) that exactly one critical point, or one critical manifold, lies near ``theta``.

    Parameters
    ----------
    source : Problem or ExprLandscape
        The loss: network problems on point data (every activation of the registry; relu-type
        on the activation pattern at theta), integral losses of identity / square / relu /
        leaky_relu networks, formula landscapes with any elementary function Arb evaluates.
    theta : sequence of d numbers, shape (d,)
        The centre: exact numbers (int, Fraction, "p/q" strings) or mpmath numbers (taken at
        their exact binary value), e.g. a point from ``find_critical_points``.
    dps : int, keyword-only
        Decimal digits of the ball arithmetic (``GUARD_DPS`` guard digits are added).
    max_radius : number, keyword-only
        Largest box half-width tried; default 10^(-dps/2) max(1, |theta|_inf). A theta farther
        than this from a critical point cannot be certified.
    manifolds : bool, keyword-only
        At a singular Hessian, try the slice certificate of a critical manifold (module notes,
        step 5). False: a singular Hessian is reported as not isolated.

    Returns
    -------
    Certificate
        ``certified`` is True only when Krawczyk's test proved a unique zero (of grad L, or of
        the slice gradient); the reason says what was proved or why not.

    Notes
    -----
    The method and its references are in the module docstring of ``verify.critical.certify``.
    """
    dps = check_dps(dps)
    values = _exact_theta(source, theta)
    with mpmath.workdps(dps + 10):
        shown = tuple(_nstr(mpmath.mpf(v.numerator) / v.denominator, dps) for v in values)
    scale = max(1.0, max((abs(float(v)) for v in values), default=1.0))
    r_max = 10.0 ** (-dps / 2) * scale if max_radius is None else float(to_fraction(max_radius, "max_radius"))
    if not r_max > 0:
        raise InputError("max_radius", max_radius, "must be a positive number, or None for the default")
    model = enclosure_model(source, values)
    if isinstance(model, str):
        return Certificate(False, f"no ball model of L near theta: {model}", shown, dps=dps)
    with precision(dps):
        return _certify(source, model, values, shown, r_max, dps, manifolds)


def _certify(source: Source, model: _Model, values: tuple[Fraction, ...], shown: tuple[str, ...], r_max: float,
             dps: int, manifolds: bool) -> Certificate:
    d = model.d
    exact_zero, exact_in = _exact_checks(source, values, model)
    if not exact_zero:
        exact_in = None   # the inertia of a point not proved critical is not reported
    exact_kw: dict[str, Any] = {"exact_gradient_zero": exact_zero, "inertia": exact_in,
                                "inertia_method": "exact" if exact_in else None, "dps": dps}
    exact_note = f"; exact Hessian inertia (negative, zero, positive) = {exact_in}" if exact_in else ""
    m = [ball(v) for v in values]
    loss_m, g_m, H_m, _ = model(m, 2)
    assert g_m is not None and H_m is not None
    proved_nonzero = [i for i in range(d) if not g_m[i, 0].contains(0)]
    Hmid = _mid_float(H_m)
    Hmid = (Hmid + Hmid.T) / 2
    if not np.all(np.isfinite(Hmid)):
        return Certificate(False, "the Hessian at theta is not finite in ball arithmetic", shown, **exact_kw)
    lam, vecs = np.linalg.eigh(Hmid)
    hscale = max(1.0, float(np.max(np.abs(lam))) if d else 1.0)
    small = np.abs(lam) <= 1e-9 * hscale
    null = int(np.sum(small))
    if null and d <= 40 and dps > 15:
        # float64 cannot tell a tiny eigenvalue from 0: decide at the working precision
        with mpmath.workdps(dps + 10):
            E = mpmath.eigsy(mpmath.matrix([[H_m[i, j].mid().str(dps + 5, radius=False) for j in range(d)]
                                            for i in range(d)]), eigvals_only=True)
            null = sum(1 for i in range(d) if abs(E[i]) <= mpmath.mpf(10) ** (-dps / 2) * hscale)
    nonzero_note = ""
    if proved_nonzero:
        i = proved_nonzero[0]
        nonzero_note = (f"; grad L(theta) != 0 is proved (component {i} lies in [{dec_lower(g_m[i, 0], 5)}, "
                        f"{dec_upper(g_m[i, 0], 5)}]): theta itself is not a critical point")
    if null:
        failure = "no symmetry explains the flat directions"
        if manifolds:
            merged = _certify_duplicates(source, values, dps, r_max)
            if merged is not None:
                return merged
            cert = _certify_manifold(source, model, values, shown, r_max, dps, null, vecs[:, small],
                                     exact_kw, exact_note)
            if isinstance(cert, Certificate):
                return cert
            failure = cert
        g_norm = max((abs(float(g_m[i, 0].mid())) for i in range(d)), default=0.0)
        what = ("grad L(theta) = 0 exactly: a critical point" if exact_zero else
                f"|grad L(theta)|_inf = {g_norm:.3g}")
        extra = ""
        if manifolds:
            extra = "; " + failure
        return Certificate(False, f"Hessian singular at the point: not an isolated critical point (null_dim={null}); "
                                  f"{what}{extra}{nonzero_note}{exact_note}", shown, **exact_kw)

    def f_at(X: list[arb]) -> arb_mat:
        return model(X, 1)[1]

    def jac(X: list[arb]) -> tuple[arb_mat | None, str | None]:
        _, _, H, off = model(X, 2)
        return H, (None if off is None else model.what if "leaves" not in off else off)

    res = krawczyk(f_at, jac, m, max_radius=r_max)
    if res.radius is None:
        why = res.reason + nonzero_note
        why += (f"; Newton's step from theta has length {res.newton_step:.3g}, largest radius allowed {r_max:.3g}"
                f" (tried {res.tried} radii){exact_note}")
        return Certificate(False, why, shown, **exact_kw)
    X, HX = res.box, res.jacobian
    assert X is not None and HX is not None
    gX = model(X, 1)[1]
    assert gX is not None
    mv = loss_m + sum((gX[i, 0] * (X[i] - m[i]) for i in range(d)), arb(0))
    direct = model(X, 0)[0]
    enc = mv.intersection(direct) if mv.overlaps(direct) else mv
    inertia, note = _inertia_by_congruence(HX, Hmid)
    what = ""
    if inertia is not None:
        neg, _, pos = inertia
        what = (f"; Hessian inertia proved: {neg} negative, {pos} positive eigenvalue(s) ("
                + ("a strict saddle of index " + str(neg) if neg and pos else "a strict local maximum" if neg
                   else "a strict local minimum") + ")")
    reason = (f"Krawczyk's test proves exactly one critical point in the box of radius {res.radius:.3g}; "
              f"L there lies in [{dec_lower(enc, 9)}, {dec_upper(enc, 9)}]{what}{note}")
    if exact_zero:
        reason += "; grad L(theta) = 0 exactly"
    return Certificate(True, reason, shown, box_radius=dec_upper(arb(res.radius), 6),
                       loss_enclosure=(dec_lower(enc, dps), dec_upper(enc, dps)),
                       inertia=inertia, inertia_method="ldl" if inertia else None,
                       exact_gradient_zero=exact_zero, dps=dps)


def _duplicate_groups(problem: Any, values: tuple[Fraction, ...]) -> list[list[int]]:
    """Groups (>= 2) of hidden neurons (one hidden layer, one output) with equal incoming weights and bias."""
    net = problem.network
    if len(net.widths) != 3 or net.widths[-1] != 1:
        return []
    first = net.layers[0]
    rows: dict[tuple[Fraction, ...], list[int]] = {}
    for a in range(first.fan_out):
        key = tuple(values[first.weight.start + a * first.fan_in + j] for j in range(first.fan_in))
        if first.bias is not None:
            key += (values[first.bias.start + a],)
        rows.setdefault(key, []).append(a)
    return [g for g in rows.values() if len(g) > 1]


def _certify_duplicates(source: Source, values: tuple[Fraction, ...], dps: int, r_max: float) -> Certificate | None:
    """Duplicated neurons: certify the network with each group merged (output weights summed), then lift.

    If (w*, b*, v*) is a critical point of the merged network with every merged output weight v* != 0, every
    theta with the group's neurons equal to (w*, b*) and output weights summing to v* is a critical point of
    the full network (its w- and b-derivatives are v_a / v* times the merged ones, its v-derivatives equal
    the merged one): a manifold of dimension (group size - 1) per group, through the box around theta.
    """
    from dataclasses import replace

    from ..problem.network import Network
    from ..problem.problem import Init, Problem

    if not isinstance(source, Problem) or source.data.interval is not None:
        return None
    groups = _duplicate_groups(source, values)
    if not groups:
        return None
    net = source.network
    first, second = net.layers
    keep = [a for a in range(first.fan_out) if not any(a in g[1:] for g in groups)]
    owner = {a: a for a in keep}
    for g in groups:
        for a in g[1:]:
            owner[a] = g[0]
    w = [values[first.weight.start + a * first.fan_in: first.weight.start + (a + 1) * first.fan_in] for a in keep]
    b = [values[first.bias.start + a] for a in keep] if first.bias is not None else []
    v_full = [values[second.weight.start + a] for a in range(first.fan_out)]
    v = [sum((v_full[a] for a in range(first.fan_out) if owner[a] == k), Fraction(0)) for k in keep]
    reduced_theta = [x for row in w for x in row] + b + v + ([values[second.bias.start]] if second.bias else [])
    small = Network(widths=(net.widths[0], len(keep), 1), activation=net.activation, slope=net.slope,
                    biases=net.biases, output_activation=net.output_activation)
    reduced = replace(source, network=small, init=Init(scheme="explicit", theta=tuple(reduced_theta)),
                      name=f"{source.name}-merged")
    cert = certify_critical_point(reduced, reduced_theta, dps=dps, max_radius=r_max)
    if not cert.certified or cert.box_radius is None:
        return None
    r = Fraction(cert.box_radius)
    merged_v = [v[keep.index(g[0])] for g in groups]
    if any(abs(x) <= r for x in merged_v):
        return None       # a merged output weight may vanish in the box: the lift is not proved
    dim = cert.manifold_dim + sum(len(g) - 1 for g in groups)
    names = tuple(f"duplicated neurons {g} of layer 1 (output weights summing to a constant)" for g in groups)
    lo, hi = cert.loss_enclosure or ("?", "?")
    found = ("exactly one critical point" if not cert.manifold_dim
             else f"a {cert.manifold_dim}-dimensional critical manifold")
    reason = (f"a {dim}-dimensional manifold of critical points passes through the box around theta: the "
              f"network with the duplicated neurons {groups} merged has, by Krawczyk's test, {found} in a box of "
              f"radius {cert.box_radius} (merged output weights nonzero there), and every split of the merged "
              f"output weights is critical; L on it lies in [{lo}, {hi}]; the Hessian's inertia across the "
              "duplicated neurons is not proved")
    with mpmath.workdps(dps + 10):
        shown = tuple(_nstr(mpmath.mpf(x.numerator) / x.denominator, dps) for x in values)
    return Certificate(True, reason, shown, box_radius=cert.box_radius, loss_enclosure=cert.loss_enclosure,
                       dps=dps, manifold_dim=dim, flat_directions=names + cert.flat_directions)


def _certify_manifold(source: Source, model: _Model, values: tuple[Fraction, ...], shown: tuple[str, ...],
                      r_max: float, dps: int, null: int, null_vectors: np.ndarray, exact_kw: dict[str, Any],
                      exact_note: str) -> Certificate | str:
    from ..landscapes.formula import ExprLandscape

    d = model.d
    if isinstance(source, ExprLandscape):
        fields = _formula_fields(source, values, null_vectors)
    else:
        fields = _network_fields(source, values)
    th = np.array([float(v) for v in values])
    vecs = [np.array([float(x) for x in f.at(list(th))]) for f in fields]
    chosen: list[_Field] = []
    basis: list[np.ndarray] = []
    for f, v in zip(fields, vecs):
        if np.linalg.norm(v) < 1e-12:
            continue
        if np.linalg.matrix_rank(np.array([*basis, v]), tol=1e-9 * max(1.0, float(np.linalg.norm(v)))) > len(basis):
            basis.append(v)
            chosen.append(f)
    k = len(chosen)
    if k == 0:
        return "no symmetry of L is known along the flat directions"
    if not _commute(chosen):
        return "the symmetry fields found do not commute: no manifold is built from them"
    if k < null:
        return (f"only {k} proved symmetry direction(s) for a null space of dimension {null}: "
                "the other flat directions are not explained")
    Tm = np.array(basis).T                      # d x k
    q, _ = np.linalg.qr(np.hstack([Tm, np.eye(d)]))
    V_np = q[:, k:d]                            # orthonormal complement of span T(theta)
    V = _exact_mat(V_np)
    Vt = V.transpose()
    m = [ball(v) for v in values]
    c = d - k

    def theta_of(S: list[arb]) -> list[arb]:
        s = arb_mat([[v] for v in S])
        off = V * s
        return [m[i] + off[i, 0] for i in range(d)]

    def f_at(S: list[arb]) -> arb_mat:
        g = model(theta_of(S), 1)[1]
        return Vt * g

    def jac(S: list[arb]) -> tuple[arb_mat | None, str | None]:
        X = theta_of(S)
        _, _, H, off = model(X, 2)
        if off is not None:
            return None, off
        return Vt * H * V, None

    zero = [arb(0)] * c
    res = krawczyk(f_at, jac, zero, max_radius=r_max)
    names = tuple(f"{f.name} ({f.proof})" for f in chosen)
    if res.radius is None or res.box is None or res.jacobian is None:
        return (f"{k} symmetry direction(s) found ({'; '.join(f.name for f in chosen)}), but "
                f"on the transversal slice: {res.reason}")
    X = theta_of(res.box)
    # transversality: [V, T(p)] nonsingular for every p in X
    TX = [f.at(X) for f in chosen]
    M = arb_mat([[V[i, j] for j in range(c)] + [T[i] for T in TX] for i in range(d)])
    gram = M.transpose() * M
    tr = ldl_inertia(gram)
    if tr is None or tr[0] != 0:
        return "the slice is not proved transversal to the symmetry orbits"
    loss_c = model([theta_of(zero)[i] for i in range(d)], 0)[0]
    gX = model(X, 1)[1]
    center = theta_of(zero)
    mv = loss_c + sum((gX[i, 0] * (X[i] - center[i]) for i in range(d)), arb(0))
    direct = model(X, 0)[0]
    enc = mv.intersection(direct) if mv.overlaps(direct) else mv
    Hs = res.jacobian
    inertia_s, note = _inertia_by_congruence(Hs, _mid_float(Hs))
    inertia = None
    what = ""
    if inertia_s is not None:
        neg, _, pos = inertia_s
        inertia = (neg, k, pos)
        kind = (f"a saddle manifold of index {neg}" if neg and pos else "a manifold of local maxima" if neg
                else "a manifold of local minima (Morse-Bott)")
        what = f"; Hessian inertia proved: {neg} negative, {k} zero, {pos} positive ({kind})"
    reason = (f"a {k}-dimensional manifold of critical points passes through the box of radius "
              f"{res.radius:.3g} around theta: Krawczyk's test proves exactly one critical point on the slice "
              f"transversal to {k} symmetry direction(s) ({'; '.join(f.name for f in chosen)}); L on it lies in "
              f"[{dec_lower(enc, 9)}, {dec_upper(enc, 9)}]{what}{note}")
    if exact_kw.get("exact_gradient_zero"):
        reason += "; grad L(theta) = 0 exactly"
    reason += exact_note
    return Certificate(True, reason, shown, box_radius=dec_upper(arb(res.radius), 6),
                       loss_enclosure=(dec_lower(enc, dps), dec_upper(enc, dps)), inertia=inertia,
                       inertia_method="slice-ldl" if inertia else None,
                       exact_gradient_zero=exact_kw.get("exact_gradient_zero"), dps=dps, manifold_dim=k,
                       flat_directions=names)
