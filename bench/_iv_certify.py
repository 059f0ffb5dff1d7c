r"""The benchmark peer: the mpmath.iv certification as it was before the ball-arithmetic backend (a frozen copy of
verify/_certify.py at commit 0cf2600; not used by the library).

Proofs about one critical point with interval arithmetic: existence, uniqueness, loss, inertia.

``certify_critical_point`` takes a landscape source (a :class:`~verify.Problem` or an
:class:`~verify.ExprLandscape`) and a parameter vector theta, and tries to *prove*, with
mpmath's interval context ``iv`` (outward rounding), that the box

.. math:: X = \theta + [-r, r]^d

contains exactly one zero of grad L. What comes back is a :class:`Certificate`; a failed proof
is a result with the reason, never an exception.

Method
------
1. *Symbolic gradient.* L is built as a SymPy expression on the smooth piece containing theta
   (the whole space for analytic activations; for relu-type networks the piece of the
   activation pattern at theta, valid while every pre-activation keeps its strict sign, and
   for the integral loss while breakpoints keep their order and stay inside or outside
   [a, b]). grad L and Hess L are differentiated symbolically and evaluated in ``iv`` after
   common-subexpression elimination; tanh is evaluated as 1 - 2 / (exp(2z) + 1).
2. *Krawczyk test* (Krawczyk 1969; Moore 1977). With m = theta, Y an approximate inverse of
   Hess L(m) (mpmath, from its eigendecomposition) and H(X) an interval enclosure of the
   Hessian over X,

   .. math:: K(X) = m - Y\,\nabla L(m) + (I - Y H(X))(X - m).

   If K(X) lies in the interior of X, then X contains exactly one zero of grad L, and every
   matrix in H(X) is nonsingular (Rump 1983). Radii r = 4 |Y grad L(m)|, then 10 times larger,
   up to ``max_radius`` are tried; the box must also stay in the smooth piece.
3. *Loss enclosure.* L(theta*) lies in L(m) + grad L(X) . (X - m) (mean value form),
   intersected with the direct enclosure L(X).
4. *Signs of the Hessian's eigenvalues at theta* (Sylvester's law of inertia + Gershgorin).*
   Q are approximate eigenvectors of Hess L(m). Q is proved nonsingular by
   ||Q^T Q - I||_inf < 1 in intervals; then B = Q^T H(X) Q is congruent to the Hessian at
   every point of X, so it has the Hessian's inertia. If no Gershgorin disc of B (centre
   B_ii, radius sum_{j != i} |B_ij|, all upper bounds) contains 0, the discs in the right
   half-line hold exactly as many eigenvalues as there are such discs (their union is
   disjoint from the others), so the numbers of positive and negative eigenvalues are proved.
5. *Exact checks.* When theta is given exactly (rationals) and the gradient and Hessian of
   the piece are rational there, the gradient is compared with 0 exactly, and the inertia
   of the exact Hessian is read from its characteristic polynomial by Descartes' rule of
   signs (exact for a real symmetric matrix: all its roots are real). This is how a
   non-isolated critical point (a singular Hessian) can still be proved critical and a
   strict saddle, though never ``certified``: Krawczyk's test proves isolated zeros only.

A point whose Hessian is (numerically) singular is never certified: it is reported as "not an
isolated critical point" with the dimension of the numerical null space.

References
----------
R. Krawczyk, "Newton-Algorithmen zur Bestimmung von Nullstellen mit Fehlerschranken",
Computing 4 (1969). R. E. Moore, "A test for existence of solutions to nonlinear systems",
SIAM J. Numer. Anal. 14 (1977). S. M. Rump, "Solving algebraic problems with high accuracy",
in *A New Approach to Scientific Computation* (1983). A. Neumaier, *Interval Methods for
Systems of Equations*, Cambridge (1990), sections 5.1-5.3.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise
from typing import Any, Callable, Sequence

import mpmath
import sympy
from mpmath import iv

from verify.errors import InputError
from verify.problem.numbers import GUARD_DPS, check_dps, to_fraction

__all__ = ["Certificate", "certify_critical_point", "smooth_piece", "Piece", "exact_inertia", "Source"]

Source = Any  # a Problem or an ExprLandscape
Box = list[Any]  # iv intervals, one per parameter

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
    from verify.landscapes.exact import _is_positive

    if _is_positive(value):
        return 1
    return -1 if _is_positive(-value) else 0


def _forward(problem: Any, inputs: Sequence[sympy.Expr], symbols: tuple[sympy.Symbol, ...],
             at: dict[sympy.Symbol, sympy.Rational], guards: list[tuple[sympy.Expr, bool]]) -> list[sympy.Expr] | str:
    """N(inputs) on the activation pattern at ``at``; appends the sign conditions to ``guards``.

    Returns a reason string when a pre-activation is exactly 0 at ``at`` (a kink: L need not be
    twice differentiable there).
    """
    from verify.landscapes.exact import _PIECEWISE, _activate

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
    from verify.landscapes.exact import MAX_EXACT_POINTS, ExactLandscape

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
    from verify.landscapes.formula import ExprLandscape
    from verify.problem.problem import Problem

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
    from verify.landscapes.formula import ExprLandscape
    from verify.problem.problem import Problem

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
# Interval evaluation of SymPy expressions
# ---------------------------------------------------------------------------------------

class _Unsupported(Exception):
    pass


IvFn = Callable[[dict], Any]


def _iv_node(e: sympy.Expr) -> IvFn:
    """A closure evaluating ``e`` in ``iv`` from an environment {symbol: interval}."""
    if e.is_Rational:
        p, q = int(e.p), int(e.q)
        return (lambda env: iv.mpf(p)) if q == 1 else (lambda env: iv.mpf(p) / q)
    if e.is_Symbol:
        return lambda env: env[e]
    if e is sympy.pi:
        return lambda env: iv.pi
    if e is sympy.E:
        return lambda env: iv.exp(1)
    if e.is_Add or e.is_Mul:
        parts = [_iv_node(a) for a in e.args]
        add = e.is_Add

        def combine(env: dict) -> Any:
            acc = parts[0](env)
            for f in parts[1:]:
                acc = acc + f(env) if add else acc * f(env)
            return acc
        return combine
    if e.is_Pow:
        base = _iv_node(e.args[0])
        ex = e.args[1]
        if ex.is_Integer:
            k = int(ex)
            return (lambda env: base(env) ** k) if k >= 0 else (lambda env: 1 / base(env) ** (-k))
        if ex == sympy.Rational(1, 2):
            return lambda env: iv.sqrt(base(env))
        if ex == sympy.Rational(-1, 2):
            return lambda env: 1 / iv.sqrt(base(env))
        raise _Unsupported(f"the power {e}")
    if isinstance(e, sympy.exp):
        arg = _iv_node(e.args[0])
        return lambda env: iv.exp(arg(env))
    if isinstance(e, sympy.log):
        arg = _iv_node(e.args[0])
        return lambda env: iv.log(arg(env))
    if isinstance(e, sympy.tanh):
        arg = _iv_node(e.args[0])
        return lambda env: 1 - 2 / (iv.exp(2 * arg(env)) + 1)
    raise _Unsupported(f"{type(e).__name__} (no interval enclosure here)")


class _IvProgram:
    """Several SymPy expressions evaluated together in ``iv``, sharing subexpressions (cse)."""

    def __init__(self, exprs: Sequence[sympy.Expr], symbols: tuple[sympy.Symbol, ...]) -> None:
        replacements, reduced = sympy.cse(list(exprs))
        self.symbols = symbols
        self.steps = [(s, _iv_node(e)) for s, e in replacements]
        self.outputs = [_iv_node(e) for e in reduced]

    def __call__(self, values: Sequence[Any]) -> list[Any]:
        env: dict = dict(zip(self.symbols, values))
        for s, f in self.steps:
            env[s] = f(env)
        return [f(env) for f in self.outputs]


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
    lam = sympy.Symbol("lam")
    p = sympy.Poly(M.charpoly(lam).as_expr(), lam)
    coeffs = p.all_coeffs()   # highest degree first
    n = M.shape[0]
    zero = 0
    for c in reversed(coeffs):
        if c != 0:
            break
        zero += 1
    pos = _sign_changes(coeffs)
    neg = _sign_changes([c * (-1) ** (n - i) for i, c in enumerate(coeffs)])
    return neg, zero, pos


# ---------------------------------------------------------------------------------------
# The certificate
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Certificate:
    """What interval arithmetic (and exact arithmetic, where it applies) proved about one point.

    Attributes
    ----------
    certified : bool
        True only if Krawczyk's test succeeded: the box ``theta +- box_radius`` (every
        coordinate) contains exactly one zero of grad L.
    reason : str
        What was proved, or why nothing was (e.g. "Hessian singular at the point: not an
        isolated critical point (null_dim=1)", "Krawczyk image not inside the box: no zero
        proved").
    theta : tuple of str
        Centre of the box (decimal strings).
    box_radius : str or None
        r of the box (a decimal upper bound) when certified.
    loss_enclosure : (str, str) or None
        Certified lower and upper bound of L at the unique critical point in the box.
    inertia : (int, int, int) or None
        Proved numbers of (negative, zero, positive) Hessian eigenvalues at the critical point
        (``inertia_method`` says how); None when the signs could not be proved.
    inertia_method : {"gershgorin", "exact"} or None
    exact_gradient_zero : bool or None
        For a rational theta on a piece with rational derivatives: whether grad L(theta) = 0
        exactly; None when that was not decidable exactly.
    dps : int
        Digits of the interval arithmetic (plus guard digits).
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

    @property
    def kind(self) -> str | None:
        """The proved kind ("minimum", "saddle", "maximum", "degenerate") or None."""
        if self.inertia is None:
            return None
        neg, zero, pos = self.inertia
        if neg and pos:
            return "saddle"     # strict: a direction of negative curvature
        if zero:
            return "degenerate" if neg else None   # nonnegative with zeros: not decided by inertia
        return "maximum" if neg else "minimum"

    def to_json(self) -> dict[str, Any]:
        return {"certified": self.certified, "reason": self.reason, "theta": list(self.theta),
                "box_radius": self.box_radius,
                "loss_enclosure": list(self.loss_enclosure) if self.loss_enclosure else None,
                "inertia": list(self.inertia) if self.inertia else None, "inertia_method": self.inertia_method,
                "exact_gradient_zero": self.exact_gradient_zero, "dps": self.dps}


def _nstr(x: Any, dps: int) -> str:
    return mpmath.nstr(x, dps, strip_zeros=False, min_fixed=-4, max_fixed=6)


def _outward(ctx: Any, x: Any, dps: int, direction: int) -> str:
    """A decimal string of ``dps`` digits on the outer side of x (a bound stays a bound)."""
    if x == 0:
        return "0.0"
    return _nstr(x + direction * abs(x) * ctx.mpf(10) ** (1 - dps), dps)


def _exact_checks(piece: Piece, values: tuple[Fraction, ...], grads: Sequence[sympy.Expr],
                  hess: Sequence[Sequence[sympy.Expr]]) -> tuple[bool | None, tuple[int, int, int] | None]:
    at = {s: _rat(v) for s, v in zip(piece.symbols, values)}
    g = [e.xreplace(at) for e in grads]
    zero = all(v == 0 for v in g) if all(v.is_Rational for v in g) else None
    H = sympy.Matrix([[e.xreplace(at) for e in row] for row in hess])
    inertia = exact_inertia(H) if all(v.is_Rational for v in H) else None
    return zero, inertia


def certify_critical_point(source: Source, theta: Sequence[object], *, dps: int = 30,
                           max_radius: object = None) -> Certificate:
    """Prove (or fail to prove) that exactly one critical point lies near ``theta``.

    Parameters
    ----------
    source : Problem or ExprLandscape
        The loss. Problems: point data (any activation with an interval enclosure: not gelu),
        or an interval with identity / square / relu / leaky_relu networks.
    theta : sequence of d numbers, shape (d,)
        The centre: exact numbers (int, Fraction, "p/q" strings) or mpmath numbers (taken at
        their exact binary value), e.g. a point from ``find_critical_points``.
    dps : int, keyword-only
        Decimal digits of the interval arithmetic (``GUARD_DPS`` guard digits are added).
    max_radius : number, keyword-only
        Largest box half-width tried; default 10^(-dps/2) max(1, |theta|_inf). A theta farther
        than this from a critical point cannot be certified.

    Returns
    -------
    Certificate
        ``certified`` is True only when Krawczyk's test proved a unique zero of grad L in the
        box; the reason says what was proved or why not.

    Notes
    -----
    The method and its references are in the module docstring of ``verify.critical.certify``.
    """
    dps = check_dps(dps)
    values = _exact_theta(source, theta)
    d = len(values)
    ctx = mpmath.MPContext()
    ctx.dps = dps + GUARD_DPS
    shown = tuple(_nstr(ctx.mpf(v.numerator) / v.denominator, dps) for v in values)
    scale = max(1.0, max(abs(float(v)) for v in values))
    r_max = 10.0 ** (-dps / 2) * scale if max_radius is None else float(to_fraction(max_radius, "max_radius"))
    if not r_max > 0:
        raise InputError("max_radius", max_radius, "must be a positive number, or None for the default")
    piece = smooth_piece(source, values)
    if isinstance(piece, str):
        return Certificate(False, f"no interval model of L near theta: {piece}", shown, dps=dps)
    grads = [sympy.diff(piece.expr, s) for s in piece.symbols]
    hess = [[sympy.diff(g, s) for s in piece.symbols] for g in grads]
    exact_zero, exact_in = _exact_checks(piece, values, grads, hess)
    if not exact_zero:
        exact_in = None   # the inertia of a point not proved critical is not reported
    try:
        g_prog = _IvProgram(grads, piece.symbols)
        h_prog = _IvProgram([h for row in hess for h in row], piece.symbols)
        l_prog = _IvProgram([piece.expr], piece.symbols)
        guard_prog = _IvProgram([e for e, _ in piece.guards], piece.symbols) if piece.guards else None
    except _Unsupported as exc:
        return Certificate(False, f"no interval enclosure of L: it uses {exc}", shown, exact_gradient_zero=exact_zero,
                           inertia=exact_in, inertia_method="exact" if exact_in else None, dps=dps)
    saved = iv.prec
    try:
        iv.prec = ctx.prec + 8
        return _krawczyk(ctx, piece, values, shown, g_prog, h_prog, l_prog, guard_prog, r_max, dps,
                         exact_zero, exact_in, d)
    finally:
        iv.prec = saved


def _krawczyk(ctx: Any, piece: Piece, values: tuple[Fraction, ...], shown: tuple[str, ...], g_prog: _IvProgram,
              h_prog: _IvProgram, l_prog: _IvProgram, guard_prog: _IvProgram | None, r_max: float, dps: int,
              exact_zero: bool | None, exact_in: tuple[int, int, int] | None, d: int) -> Certificate:
    m_mp = [ctx.mpf(v.numerator) / v.denominator for v in values]
    m = [iv.mpf(v) for v in m_mp]
    exact_kw: dict[str, Any] = {"exact_gradient_zero": exact_zero, "inertia": exact_in,
                                "inertia_method": "exact" if exact_in else None, "dps": dps}
    exact_note = ""
    if exact_in:
        exact_note = f"; exact Hessian inertia (negative, zero, positive) = {exact_in}"
    g_m = g_prog(m)
    H_m = h_prog(m)
    H_mid = ctx.matrix(d, d)
    for i in range(d):
        for j in range(d):
            H_mid[i, j] = ctx.mpf(H_m[i * d + j].mid)
    H_mid = (H_mid + H_mid.T) / 2
    E, Q = ctx.eigsy(H_mid)
    lam = [E[i] for i in range(d)]
    hscale = max([ctx.one] + [abs(v) for v in lam])
    null = sum(1 for v in lam if abs(v) <= ctx.mpf(10) ** (-dps / 2) * hscale)
    if null:
        g_norm = max(abs(ctx.mpf(v.mid)) for v in g_m)
        what = ("grad L(theta) = 0 exactly: a critical point" if exact_zero else
                f"|grad L(theta)|_inf = {_nstr(g_norm, 5)}")
        return Certificate(False, f"Hessian singular at the point: not an isolated critical point (null_dim={null}); "
                                  f"{what}{exact_note}", shown, **exact_kw)
    Y = [[ctx.fsum(Q[i, k] * Q[j, k] / lam[k] for k in range(d)) for j in range(d)] for i in range(d)]
    Yi = [[iv.mpf(Y[i][j]) for j in range(d)] for i in range(d)]
    newton = [ctx.fsum(Y[i][j] * ctx.mpf(g_m[j].mid) for j in range(d)) for i in range(d)]
    step = max(abs(v) for v in newton)
    proved_nonzero = [i for i in range(d) if 0 not in g_m[i]]
    tiny = float(ctx.mpf(2) ** (-(ctx.prec - 16))) * max(1.0, max(abs(float(v)) for v in values))
    r = max(4 * float(step), tiny)
    tried: list[float] = []
    outside = ""
    for _ in range(KRAWCZYK_TRIES):
        if r > r_max:
            if tried:
                break
        r_use = min(r, r_max)
        tried.append(r_use)
        rad = iv.mpf([-r_use, r_use])
        X = [mi + rad for mi in m]
        if guard_prog is not None:
            bad = [k for k, (val, (_, pos)) in enumerate(zip(guard_prog(X), piece.guards))
                   if not (val.a > 0 if pos else val.b < 0)]
            if bad:
                outside = f"; the box of radius {r_use:.3g} leaves {piece.what} (a kink or breakpoint is reached)"
                break
        HX = h_prog(X)
        ok = True
        for i in range(d):
            acc = m[i]
            for j in range(d):
                acc = acc - Yi[i][j] * g_m[j]
                col = (1 if i == j else 0) - sum((Yi[i][k] * HX[k * d + j] for k in range(d)), iv.mpf(0))
                acc = acc + col * rad
            if not (acc.a > X[i].a and acc.b < X[i].b):
                ok = False
                break
        if ok:
            return _certified(ctx, m, X, HX, Q, d, r_use, l_prog, g_prog, shown, dps, exact_zero, exact_note)
        r *= 10
    why = "Krawczyk image not inside the box: no zero proved"
    if proved_nonzero:
        i = proved_nonzero[0]
        why += (f"; grad L(theta) != 0 is proved (component {i} lies in [{_nstr(ctx.mpf(g_m[i].a), 5)}, "
                f"{_nstr(ctx.mpf(g_m[i].b), 5)}]): "
                "theta is not a critical point")
    why += (f"; Newton's step from theta has length {_nstr(step, 3)}, largest radius allowed {r_max:.3g}"
            f" (tried {len(tried)} radii){outside}{exact_note}")
    return Certificate(False, why, shown, **exact_kw)


def _certified(ctx: Any, m: Box, X: Box, HX: list[Any], Q: Any, d: int, r: float, l_prog: _IvProgram,
               g_prog: _IvProgram, shown: tuple[str, ...], dps: int, exact_zero: bool | None,
               exact_note: str) -> Certificate:
    # loss: mean-value form intersected with the direct enclosure
    L_m = l_prog(m)[0]
    g_X = g_prog(X)
    mv = L_m + sum((g_X[i] * (X[i] - m[i]) for i in range(d)), iv.mpf(0))
    direct = l_prog(X)[0]
    lo = max(ctx.mpf(mv.a), ctx.mpf(direct.a))
    hi = min(ctx.mpf(mv.b), ctx.mpf(direct.b))
    # inertia: congruence with approximate eigenvectors, then Gershgorin
    Qi = [[iv.mpf(Q[i, j]) for j in range(d)] for i in range(d)]
    defect = max(sum((abs(sum((Qi[k][i] * Qi[k][j] for k in range(d)), iv.mpf(0)) - (1 if i == j else 0))
                      for j in range(d)), iv.mpf(0)).b for i in range(d))
    inertia = None
    note = ""
    if defect < 1:
        T = [[sum((HX[i * d + k] * Qi[k][j] for k in range(d)), iv.mpf(0)) for j in range(d)] for i in range(d)]
        B = [[sum((Qi[k][i] * T[k][j] for k in range(d)), iv.mpf(0)) for j in range(d)] for i in range(d)]
        neg = pos = 0
        for i in range(d):
            radius = sum((abs(B[i][j]) for j in range(d) if j != i), iv.mpf(0)).b
            if B[i][i].a - radius > 0:
                pos += 1
            elif B[i][i].b + radius < 0:
                neg += 1
        if neg + pos == d:
            inertia = (neg, 0, pos)
        else:
            note = "; eigenvalue signs not proved: a Gershgorin disc of Q^T H(X) Q contains 0"
    else:
        note = "; eigenvalue signs not proved: the eigenvector matrix is not proved nonsingular"
    what = ""
    if inertia is not None:
        neg, _, pos = inertia
        what = (f"; Hessian inertia proved: {neg} negative, {pos} positive eigenvalue(s) ("
                + ("a strict saddle of index " + str(neg) if neg and pos else "a strict local maximum" if neg
                   else "a strict local minimum") + ")")
    reason = (f"Krawczyk's test proves exactly one critical point in the box of radius {r:.3g}; "
              f"L there lies in [{_nstr(lo, 8)}, {_nstr(hi, 8)}]{what}{note}")
    if exact_zero:
        reason += "; grad L(theta) = 0 exactly"
    rad = ctx.mpf(r)
    return Certificate(True, reason, shown, box_radius=_nstr(rad, 6),
                       loss_enclosure=(_outward(ctx, lo, dps, -1), _outward(ctx, hi, dps, 1)),
                       inertia=inertia, inertia_method="gershgorin" if inertia else None,
                       exact_gradient_zero=exact_zero, dps=dps)
