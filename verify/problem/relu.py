r"""Shallow ReLU networks on an interval: the setting, the classified critical points, and counts.

The setting of Cheridito, Jentzen and Rossmannek (theorems.md, section 2): one hidden layer of
N neurons, scalar input and output,

.. math:: \mathcal N_\theta(x) = c + \sum_{j=1}^N v_j\, s(w_j x + b_j), \qquad
          \theta = (w_1..w_N, b_1..b_N, v_1..v_N, c) \in \mathbb R^{3N+1},

s = ReLU or leaky ReLU max(z, gamma z), and the integral loss
L(theta) = int_a^b (N_theta(x) - f(x))^2 dx against an affine target f(x) = alpha x + beta.

The classified critical points (ReLU; our own derivation, see theorems.md), built exactly:

* the **constant fit** (k = 0): N = f((a + b)/2), loss alpha^2 (b - a)^3 / 12;
* the **zig-zag** of even k (2 <= k <= N): the continuous piecewise-linear function with knots
  a + i h, h = (b - a)/(k + 1), i = 1..k, that interpolates f at the midpoints of the k + 1
  pieces, with slopes alternating alpha k/(k+1), alpha (k+2)/(k+1). The error e = N - f is linear on
  each piece, zero at its midpoint, with slope -+alpha/(k+1) alternating, so
  L = (k + 1) (alpha h)^2 h^3 / 12 = alpha^2 (b - a)^3 / (12 (k + 1)^4).
  The neuron with knot a + i h points right (w > 0, active on [a + i h, b]) for odd i and left
  (w < 0) for even i: then each neuron's active region is a union of an even number of pieces
  and int_active e = int_active e x = 0, i.e. grad L = 0. v_i w_i = 2 alpha/(k+1) (times
  The other N - k neurons are strictly dead (inactive on all of [a, b]). The slope on the
  first piece is then sum over the k/2 left-pointing neurons of v_i w_i = alpha k/(k+1), as it
  must be; the mirror error (outer slopes alpha (k+2)/(k+1)) is not realizable with k neurons
  this way (the outer slope would be -alpha k/(k+1)).

References
----------
P. Cheridito, A. Jentzen, F. Rossmannek, "Landscape analysis for shallow neural networks:
complete classification of critical points for affine target functions", J. Nonlinear Sci. 32
(2022). P. Cheridito, A. Jentzen, F. Rossmannek, "Gradient descent provably escapes saddle
points in the training of shallow ReLU networks", arXiv:2208.02083 (2022).
E. B. Wilson, "Probable inference, the law of succession, and statistical inference", JASA 22
(1927).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import sympy

from ..errors import InputError
from .numbers import to_fraction
from .problem import Problem, parse_problem

__all__ = ["ReluSetting", "relu_setting", "relu_problem", "relu_zigzag_point", "relu_constant_fit_point",
           "relu_critical_values", "wilson_upper"]


@dataclass(frozen=True)
class ReluSetting:
    """A problem read as the shallow-ReLU setting.

    Attributes
    ----------
    n_hidden : int
        N.
    activation : {"relu", "leaky_relu"}
    slope : Fraction
        gamma (0 for relu).
    alpha, beta : Fraction
        The target f(x) = alpha x + beta.
    a, b : Fraction
        The interval.
    """

    n_hidden: int
    activation: str
    slope: Fraction
    alpha: Fraction
    beta: Fraction
    a: Fraction
    b: Fraction

    @property
    def length(self) -> Fraction:
        return self.b - self.a

    def target(self, x: Fraction) -> Fraction:
        return self.alpha * x + self.beta


def _setting_or_reason(problem: Any) -> ReluSetting | str:
    if not isinstance(problem, Problem):
        return "the landscape is not a network problem (a formula has no neurons)"
    net = problem.network
    if net.activation not in ("relu", "leaky_relu"):
        return f"the activation is {net.activation}, not relu or leaky_relu"
    if len(net.widths) != 3:
        return f"the network has widths {list(net.widths)}: one hidden layer [1, N, 1] is required"
    if net.widths[0] != 1:
        return f"the network has {net.widths[0]} inputs: the theorem is about a scalar input"
    if net.widths[2] != 1:
        return f"the network has {net.widths[2]} outputs: the theorem is about a scalar output"
    if not net.biases or net.output_activation:
        return "the network must have biases and an affine output layer"
    if problem.data.interval is None:
        return "the loss is over data points: the theorem is about the integral loss on an interval"
    if problem.factor != 1:
        return f"the loss has factor {problem.factor}: the classification is stated for factor 1"
    x = problem.target.symbols[0]
    expr = problem.target.sympy_exprs[0]
    try:
        poly = sympy.Poly(expr, x)
    except sympy.PolynomialError:
        return f"the target {expr} is not affine"
    if poly.degree() > 1 or not all(c.is_Rational for c in poly.all_coeffs()):
        return f"the target {expr} is not affine with rational coefficients"
    alpha = Fraction(str(poly.coeff_monomial(x)))
    beta = Fraction(str(poly.coeff_monomial(1)))
    a, b = problem.data.interval
    return ReluSetting(net.widths[1], net.activation, Fraction(net.left_slope), alpha, beta, a, b)


def relu_setting(problem: Any) -> ReluSetting | str:
    """The problem as a :class:`ReluSetting`, or the reason (a sentence) why it is not one.

    The setting: a ``[1, N, 1]`` relu / leaky_relu network with biases, the integral loss with
    factor 1 on an interval, an affine target with rational coefficients.
    """
    return _setting_or_reason(problem)


def _setting(problem: Any) -> ReluSetting:
    s = _setting_or_reason(problem)
    if isinstance(s, str):
        raise InputError("problem", getattr(problem, "name", type(problem).__name__), f"{s}")
    return s


def relu_problem(n_hidden: int, *, alpha: object = 2, beta: object = 1, interval: tuple[object, object] = (0, 1),
                 activation: str = "relu", slope: object = "1/10", name: str | None = None) -> Problem:
    """The problem of a ``[1, n_hidden, 1]`` network against alpha x + beta on [a, b].

    Parameters
    ----------
    n_hidden : int
        N >= 1.
    alpha, beta : exact numbers, keyword-only
        The target's slope and intercept.
    interval : (a, b), keyword-only
        a < b, exact.
    activation : {"relu", "leaky_relu"}, keyword-only
    slope : exact number, keyword-only
        gamma of leaky_relu (ignored for relu).
    """
    if isinstance(n_hidden, bool) or not isinstance(n_hidden, int) or n_hidden < 1:
        raise InputError("n_hidden", n_hidden, "must be a positive integer, e.g. 2")
    if activation not in ("relu", "leaky_relu"):
        raise InputError("activation", activation, "use \"relu\" or \"leaky_relu\"")
    al, be = to_fraction(alpha, "alpha"), to_fraction(beta, "beta")
    if not isinstance(interval, (tuple, list)) or len(interval) != 2:
        raise InputError("interval", interval, "give (a, b) with a < b, e.g. (0, 1)")
    a, b = to_fraction(interval[0], "interval[0]"), to_fraction(interval[1], "interval[1]")
    if not a < b:
        raise InputError("interval", f"({a}, {b})", "needs a < b")
    gamma = to_fraction(slope, "slope")
    slope_line = f'slope = "{gamma}"\n' if activation == "leaky_relu" else ""
    label = name or f"{activation}-{n_hidden}-alpha{al}-beta{be}-on-{a}-{b}".replace("/", "_")
    return parse_problem(f"""
[network]
widths = [1, {n_hidden}, 1]
activation = "{activation}"
{slope_line}
[data]
interval = ["{a}", "{b}"]

[target]
expr = "({al})*x + ({be})"
""", name=label)


def _dead(s: ReluSetting) -> tuple[Fraction, Fraction, Fraction]:
    """(w, b, v) of a strictly dead ReLU neuron: w x + b = x - (b_end + 1) < 0 on [a, b]."""
    return Fraction(1), -(s.b + 1), Fraction(1)


def relu_zigzag_point(problem: Problem, k: int) -> tuple[Fraction, ...]:
    """The exact zig-zag critical point of even ``k`` (module notes), shape (3N + 1,).

    Parameters
    ----------
    problem : Problem
        A relu problem of the setting (``relu_setting``) with N >= k hidden neurons.
    k : int
        Even, 2 <= k <= N: the number of knots (active neurons); the other neurons are dead.

    Returns
    -------
    tuple of Fraction
        theta = (w, b, v, c) with grad L(theta) = 0 and L = alpha^2 (b - a)^3 / (12 (k+1)^4).
    """
    s = _setting(problem)
    if s.activation != "relu":
        raise InputError("problem", problem.name, "the zig-zag family is the classification for relu networks")
    if isinstance(k, bool) or not isinstance(k, int) or k < 2 or k % 2 or k > s.n_hidden:
        raise InputError("k", k, f"must be even with 2 <= k <= N = {s.n_hidden}")
    h = s.length / (k + 1)
    w: list[Fraction] = []
    bias: list[Fraction] = []
    v: list[Fraction] = []
    for i in range(1, k + 1):
        knot = s.a + i * h
        wi = Fraction(1) if i % 2 else Fraction(-1)
        w.append(wi)
        bias.append(-wi * knot)
        v.append(2 * s.alpha / ((k + 1) * wi))
    for _ in range(s.n_hidden - k):
        dw, db, dv = _dead(s)
        w.append(dw)
        bias.append(db)
        v.append(dv)
    # e = N - f on the first piece has slope -alpha / (k+1) and is 0 at its midpoint a + h/2
    e_at_a = s.alpha / (k + 1) * h / 2
    n_at_a = s.target(s.a) + e_at_a
    c = n_at_a - sum((vi * (wi * s.a + bi) for wi, bi, vi in zip(w, bias, v) if wi * s.a + bi > 0), Fraction(0))
    return tuple(w + bias + v + [c])


def relu_constant_fit_point(problem: Problem) -> tuple[Fraction, ...]:
    """The exact constant fit N = f((a + b)/2) (k = 0), shape (3N + 1,).

    For relu every neuron is strictly dead (w = 1, b = -(b_end + 1), v = 1): L is locally
    constant in the hidden parameters, and the point is a non-global local minimum. For
    leaky_relu (no neuron can be dead) every hidden parameter is 0 (w = b = v = 0): a critical
    point where L is not twice differentiable.
    """
    s = _setting(problem)
    n = s.n_hidden
    fit = s.target((s.a + s.b) / 2)
    if s.activation == "relu":
        dw, db, dv = _dead(s)
        return tuple([dw] * n + [db] * n + [dv] * n + [fit])
    return tuple([Fraction(0)] * (3 * n) + [fit])


def relu_critical_values(problem: Problem) -> tuple[Fraction, ...]:
    r"""The critical values of the classification, ascending (exact).

    relu: 0 and alpha^2 (b - a)^3 / (12 (k + 1)^4) for even k, 0 <= k <= N. leaky_relu: 0 and
    the constant fit's alpha^2 (b - a)^3 / 12 (the zig-zag construction needs dead neurons; the
    guide gives no classification of the other leaky-ReLU saddle values).
    """
    s = _setting(problem)
    ks = range(0, s.n_hidden + 1, 2) if s.activation == "relu" else (0,)
    vals = {Fraction(0)} | {s.alpha ** 2 * s.length ** 3 / (12 * (k + 1) ** 4) for k in ks}
    return tuple(sorted(vals))


def wilson_upper(successes: int, trials: int, *, confidence: float = 0.95) -> float:
    r"""The upper end of Wilson's score interval for a binomial proportion.

    .. math:: \frac{\hat p + z^2/(2n) + z \sqrt{\hat p (1 - \hat p)/n + z^2/(4n^2)}}{1 + z^2/n},

    z the two-sided normal quantile of ``confidence``; with 0 successes it is z^2 / (n + z^2).
    """
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise InputError("trials", trials, "must be a positive integer")
    if isinstance(successes, bool) or not isinstance(successes, int) or not 0 <= successes <= trials:
        raise InputError("successes", successes, f"must be an integer in [0, trials = {trials}]")
    if not 0 < confidence < 1:
        raise InputError("confidence", confidence, "must lie in (0, 1), e.g. 0.95")
    from statistics import NormalDist

    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    n = trials
    p = successes / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return min(1.0, (centre + spread) / (1 + z * z / n))
