"""Tests of the exact tier (verify.landscapes.exact.ExactLandscape) against independent oracles.

Oracles: closed forms derived by hand, realizations written out directly in the tests
(SymPy, mpmath, Fractions), mpmath quadrature split at the breakpoints, finite differences,
and direct SymPy integration. None of them uses the module under test.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Callable, Sequence

import mpmath
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from verify.errors import InputError
from verify.landscapes.exact import MAX_EXACT_POINTS, ExactLandscape
from verify.problem.problem import Problem, parse_problem

F = Fraction
R = sympy.Rational


def make_problem(widths: Sequence[int], activation: str, data: str, target: str, *,
                 extra: str = "", factor: str = "1") -> Problem:
    return parse_problem(f"""
[network]
widths = {list(widths)}
activation = "{activation}"
{extra}
[data]
{data}
[target]
expr = {target}
[loss]
factor = "{factor}"
""")


def fd_grad(f: Callable[[list[mpmath.mpf]], mpmath.mpf], theta: Sequence[object], h: str) -> list[mpmath.mpf]:
    """Central differences of f at theta (call inside an mpmath precision context)."""
    base = [mpmath.mpf(sympy.Rational(str(t)).p) / sympy.Rational(str(t)).q for t in theta]
    step = mpmath.mpf(h)
    out = []
    for k in range(len(base)):
        plus, minus = list(base), list(base)
        plus[k] += step
        minus[k] -= step
        out.append((f(plus) - f(minus)) / (2 * step))
    return out


def fd_hessian(f: Callable[[list[mpmath.mpf]], mpmath.mpf], theta: Sequence[object], h: str) -> list[list[mpmath.mpf]]:
    """Second central differences of f at theta."""
    base = [mpmath.mpf(sympy.Rational(str(t)).p) / sympy.Rational(str(t)).q for t in theta]
    step = mpmath.mpf(h)
    d = len(base)

    def at(i: int, si: int, j: int, sj: int) -> mpmath.mpf:
        x = list(base)
        x[i] += si * step
        x[j] += sj * step
        return f(x)

    out = [[mpmath.mpf(0)] * d for _ in range(d)]
    for i in range(d):
        for j in range(i, d):
            value = (at(i, 1, j, 1) - at(i, 1, j, -1) - at(i, -1, j, 1) + at(i, -1, j, -1)) / (4 * step**2)
            out[i][j] = out[j][i] = value
    return out


def assert_close(exact: object, approx: mpmath.mpf, tol: float) -> None:
    value = mpmath.mpf(sympy.N(exact, 60))
    assert abs(value - approx) <= tol * max(1, abs(value)), (value, approx)


# ---------------------------------------------------------------- closed form by hand

def test_identity_network_closed_form() -> None:
    # N(x) = v (w x + b) + c, points 0 and 1, target x, factor 3/2
    problem = make_problem([1, 1, 1], "identity", 'points = ["0", "1"]', '"x"', factor="3/2")
    land = ExactLandscape(problem)
    w, b, v, c = F(1, 2), F(-1, 3), F(2), F(1, 5)
    theta = (w, b, v, c)
    k = F(3, 2) / 2  # factor / n
    loss = F(0)
    grad = [F(0)] * 4
    hess = [[F(0)] * 4 for _ in range(4)]
    for x in (F(0), F(1)):
        r = v * (w * x + b) + c - x
        dr = [v * x, v, w * x + b, F(1)]           # d/dw, d/db, d/dv, d/dc
        d2r = {(0, 2): x, (1, 2): F(1)}            # d2/dw dv = x, d2/db dv = 1
        loss += k * r**2
        for p in range(4):
            grad[p] += k * 2 * r * dr[p]
            for q in range(4):
                hess[p][q] += k * 2 * (dr[p] * dr[q] + r * d2r.get((min(p, q), max(p, q)), 0))
    assert loss == F(3, 2) * F(49, 225)  # both residuals are -7/15
    assert land.loss(theta) == R(loss.numerator, loss.denominator)
    assert land.grad(theta) == tuple(R(g.numerator, g.denominator) for g in grad)
    assert land.hessian(theta) == sympy.ImmutableMatrix(4, 4, lambda p, q: R(hess[p][q].numerator,
                                                                              hess[p][q].denominator))
    # at the exact fit w v = 1, v b + c = 0 the loss and gradient vanish
    assert land.loss((1, 0, 1, 0)) == 0
    assert land.grad((2, "1/3", "1/2", "-1/6")) == (0, 0, 0, 0)


def test_theta_forms_agree_exactly() -> None:
    problem = make_problem([1, 1, 1], "identity", 'points = ["0", "1"]', '"x"')
    land = ExactLandscape(problem)
    reference = land.loss((F(1, 3), F(-1, 2), F(1, 10), F(2)))
    assert land.loss(("1/3", "-1/2", "0.1", 2)) == reference
    assert land.loss((R(1, 3), R(-1, 2), R(1, 10), sympy.Integer(2))) == reference  # no float on the way


# ---------------------------------------------------------------- tanh point data

TANH_THETA = ("1/2", "-3/4", "1/3", "1/5", "3/2", "-2/3", "1/7")  # w1 w2 b1 b2 v1 v2 c
TANH_POINTS = (F(-1), F(1, 3), F(2))


def tanh_problem() -> Problem:
    return make_problem([1, 2, 1], "tanh", 'points = ["-1", "1/3", "2"]', '"x**2"')


def tanh_loss_mp(t: Sequence[mpmath.mpf]) -> mpmath.mpf:
    w1, w2, b1, b2, v1, v2, c = t
    total = mpmath.mpf(0)
    for x in TANH_POINTS:
        xm = mpmath.mpf(x.numerator) / x.denominator
        total += (v1 * mpmath.tanh(w1 * xm + b1) + v2 * mpmath.tanh(w2 * xm + b2) + c - xm**2) ** 2
    return total / 3


def test_tanh_loss_equals_direct_formula() -> None:
    land = ExactLandscape(tanh_problem())
    w1, w2, b1, b2, v1, v2, c = (sympy.Rational(t) for t in TANH_THETA)
    direct = sum(((v1 * sympy.tanh(w1 * x + b1) + v2 * sympy.tanh(w2 * x + b2) + c - x**2) ** 2
                  for x in (R(-1), R(1, 3), R(2))), sympy.S.Zero) / 3
    loss = land.loss(TANH_THETA)
    assert loss.has(sympy.tanh)  # exact, not a float
    assert not loss.atoms(sympy.Float)
    assert sympy.simplify(loss - direct) == 0
    assert abs(sympy.N(loss - direct, 50)) < sympy.Float("1e-48")


def test_tanh_gradient_and_hessian_vs_finite_differences() -> None:
    land = ExactLandscape(tanh_problem())
    grad = land.grad(TANH_THETA)
    hess = land.hessian(TANH_THETA)
    assert len(grad) == 7 and hess.shape == (7, 7)
    with mpmath.workdps(50):
        for g, fd in zip(grad, fd_grad(tanh_loss_mp, TANH_THETA, "1e-15")):
            assert_close(g, fd, 1e-20)
        fdh = fd_hessian(tanh_loss_mp, TANH_THETA, "1e-12")
    for p in range(7):
        for q in range(7):
            assert_close(hess[p, q], fdh[p][q], 1e-15)
    assert hess == hess.T


def test_evaluate_rounds_the_exact_values() -> None:
    land = ExactLandscape(tanh_problem())
    loss, grad, hess = land.evaluate(TANH_THETA, 40)
    assert isinstance(loss, sympy.Float) and all(isinstance(g, sympy.Float) for g in grad)
    assert all(isinstance(h, sympy.Float) for h in hess) and hess.shape == (7, 7)
    with mpmath.workdps(60):
        assert_close(loss, tanh_loss_mp([mpmath.mpf(sympy.Rational(t)) for t in TANH_THETA]), 1e-39)
    exact = land.grad(TANH_THETA)
    for g, e in zip(grad, exact):
        assert abs(g - e.evalf(60)) <= sympy.Float("1e-39") * abs(e.evalf(60))
    with pytest.raises(InputError, match="dps"):
        land.evaluate(TANH_THETA, 0)


# ---------------------------------------------------------------- layout, depth, several outputs

def test_two_inputs_two_outputs_logistic_output_activation() -> None:
    problem = make_problem([2, 2, 2], "logistic", 'points = [["0", "1"], ["1", "-1"], ["1/2", "1/3"]]',
                           '["x1*x2", "x1 - x2"]', extra="output_activation = true", factor="1/2")
    theta = ("1/2", "-1", "1/3", "2", "0", "-1/4", "1", "1/2", "-3/2", "1/5", "1/10", "-1/3")
    points = [(0, 1), (1, -1), (F(1, 2), F(1, 3))]

    def loss_mp(t: Sequence[mpmath.mpf]) -> mpmath.mpf:
        sig = lambda z: 1 / (1 + mpmath.exp(-z))  # noqa: E731
        W1, b1, W2, b2 = [[t[0], t[1]], [t[2], t[3]]], t[4:6], [[t[6], t[7]], [t[8], t[9]]], t[10:12]
        total = mpmath.mpf(0)
        for p in points:
            x = [mpmath.mpf(F(c).numerator) / F(c).denominator for c in p]
            h = [sig(W1[i][0] * x[0] + W1[i][1] * x[1] + b1[i]) for i in range(2)]
            out = [sig(W2[o][0] * h[0] + W2[o][1] * h[1] + b2[o]) for o in range(2)]
            total += (out[0] - x[0] * x[1]) ** 2 + (out[1] - (x[0] - x[1])) ** 2
        return total / 2 / 3

    land = ExactLandscape(problem)
    with mpmath.workdps(50):
        exact_theta = [mpmath.mpf(sympy.Rational(t).p) / sympy.Rational(t).q for t in theta]
        assert_close(land.loss(theta), loss_mp(exact_theta), 1e-45)
        for g, fd in zip(land.grad(theta), fd_grad(loss_mp, theta, "1e-15")):
            assert_close(g, fd, 1e-20)


def test_deep_elu_away_from_kinks_vs_finite_differences() -> None:
    problem = make_problem([1, 2, 2, 1], "elu", 'points = ["-1", "1/2", "1"]', '"x"')
    theta = ("1", "-2", "1/3", "1/4", "1/2", "-1", "2", "1", "1/5", "-1/3", "1", "-1", "1/7")

    def loss_mp(t: Sequence[mpmath.mpf]) -> mpmath.mpf:
        elu = lambda z: z if z > 0 else mpmath.exp(z) - 1  # noqa: E731
        total = mpmath.mpf(0)
        for x in (mpmath.mpf(-1), mpmath.mpf(1) / 2, mpmath.mpf(1)):
            h1 = [elu(t[0] * x + t[2]), elu(t[1] * x + t[3])]
            h2 = [elu(t[4] * h1[0] + t[5] * h1[1] + t[8]), elu(t[6] * h1[0] + t[7] * h1[1] + t[9])]
            total += (t[10] * h2[0] + t[11] * h2[1] + t[12] - x) ** 2
        return total / 3

    land = ExactLandscape(problem)
    assert land.loss(theta).has(sympy.exp)  # some neurons are on the exponential branch
    with mpmath.workdps(50):
        for g, fd in zip(land.grad(theta), fd_grad(loss_mp, theta, "1e-15")):
            assert_close(g, fd, 1e-20)
        fdh = fd_hessian(loss_mp, theta, "1e-12")
    hess = land.hessian(theta)
    for p in range(13):
        for q in range(13):
            assert_close(hess[p, q], fdh[p][q], 1e-14)


# ---------------------------------------------------------------- kink convention

def test_relu_at_zero_uses_left_branch() -> None:
    # theta = 0: every pre-activation is 0, relu(0) = 0 and relu'(0) = 0 (left branch), so
    # N = c = 0 and only the output bias moves: dL/dc = (2/3) sum (0 - x_i) = -1 for x = -1, 1/2, 2.
    problem = make_problem([1, 2, 1], "relu", 'points = ["-1", "1/2", "2"]', '"x"')
    land = ExactLandscape(problem)
    zero = [0] * 7
    assert land.loss(zero) == R(7, 4)  # (1 + 1/4 + 4) / 3
    assert land.grad(zero) == (0, 0, 0, 0, 0, 0, -1)
    expected = sympy.zeros(7, 7)
    expected[6, 6] = 2
    assert land.hessian(zero) == expected


@pytest.mark.parametrize(
    ("activation", "expected"),
    [
        # (1,1,1), theta = (w, b, v, c) = (0, 0, 1, 0), points x = 1, 2 (mean x^2 = 5/2, mean x = 3/2)
        # leaky, target x: r = -x, dN/dw = gamma x, dN/db = gamma: grad = (-2 gamma 5/2, -2 gamma 3/2, 0, -3)
        ("leaky_relu", {"grad": (R(-1, 2), R(-3, 10), 0, -3)}),
        # elu, target -1: r = 1, elu'(0) = 1, elu''(0) = 1 (left): H_ww = mean 2 (x^2 + r x^2) = 10
        ("elu", {"hww": 10}),
        # softsign, target -1: r = 1, softsign'(0) = 1, softsign''(0) = +2 (left): H_ww = mean 2 (x^2 + 2 x^2) = 15
        ("softsign", {"hww": 15}),
    ],
)
def test_kink_derivatives_follow_left_branch(activation: str, expected: dict[str, object]) -> None:
    target = '"x"' if activation == "leaky_relu" else '"-1"'
    problem = make_problem([1, 1, 1], activation, 'points = ["1", "2"]', target, extra='slope = "1/10"'
                           if activation == "leaky_relu" else "")
    land = ExactLandscape(problem)
    theta = (0, 0, 1, 0)
    if "grad" in expected:
        assert land.grad(theta) == expected["grad"]
    else:
        assert land.hessian(theta)[0, 0] == expected["hww"]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from([F(-2), F(-1), F(-1, 2), F(0), F(1, 3), F(1), F(2)]), min_size=7, max_size=7))
def test_relu_points_match_hand_formula(theta: list[Fraction]) -> None:
    # N = v1 relu(w1 x + b1) + v2 relu(w2 x + b2) + c; relu'(z) = 1 if z > 0 else 0 (kinks hit often)
    w, b, v, c = theta[0:2], theta[2:4], theta[4:6], theta[6]
    points = (F(-1), F(0), F(1, 2), F(2))
    loss, grad = F(0), [F(0)] * 7
    hess = [[F(0)] * 7 for _ in range(7)]
    for x in points:
        z = [w[j] * x + b[j] for j in range(2)]
        on = [1 if zj > 0 else 0 for zj in z]
        r = sum(v[j] * on[j] * z[j] for j in range(2)) + c - x**2
        dn = [v[0] * on[0] * x, v[1] * on[1] * x, v[0] * on[0], v[1] * on[1], on[0] * z[0], on[1] * z[1], F(1)]
        d2n = {(0, 4): on[0] * x, (1, 5): on[1] * x, (2, 4): F(on[0]), (3, 5): F(on[1])}
        loss += r**2 / 4
        for p in range(7):
            grad[p] += 2 * r * dn[p] / 4
            for q in range(7):
                hess[p][q] += 2 * (dn[p] * dn[q] + r * d2n.get((min(p, q), max(p, q)), 0)) / 4
    land = _RELU_POINTS
    assert land.loss(theta) == R(loss.numerator, loss.denominator)
    assert land.grad(theta) == tuple(R(g.numerator, g.denominator) for g in grad)
    assert land.hessian(theta) == sympy.Matrix(7, 7, lambda p, q: R(hess[p][q].numerator, hess[p][q].denominator))


_RELU_POINTS = ExactLandscape(make_problem([1, 2, 1], "relu", 'points = ["-1", "0", "1/2", "2"]', '"x**2"'))


# ---------------------------------------------------------------- relu / leaky_relu on an interval

LEAKY_THETA = ("2", "-1", "1/2", "-1", "3", "3", "1", "-2", "1/2", "1/3")  # w1..w3 b1..b3 v1..v3 c


def leaky_loss_quad(t: Sequence[mpmath.mpf]) -> mpmath.mpf:
    """integral_{-1}^{2} (N(x) - (x^2 - x))^2 dx by mpmath quadrature split at the breakpoints."""
    w, b, v, c = t[0:3], t[3:6], t[6:9], t[9]
    a, e, gamma = mpmath.mpf(-1), mpmath.mpf(2), mpmath.mpf(1) / 10

    def integrand(x: mpmath.mpf) -> mpmath.mpf:
        n = c + sum(v[j] * max(w[j] * x + b[j], gamma * (w[j] * x + b[j])) for j in range(3))
        return (n - (x**2 - x)) ** 2

    cuts = sorted(-b[j] / w[j] for j in range(3) if w[j] != 0 and a < -b[j] / w[j] < e)
    return mpmath.quad(integrand, [a, *cuts, e], method="gauss-legendre")


def leaky_problem() -> Problem:
    return make_problem([1, 3, 1], "leaky_relu", 'interval = ["-1", "2"]', '"x**2 - x"', extra='slope = "1/10"')


def test_leaky_interval_loss_and_gradient_vs_quadrature() -> None:
    # breakpoints -b/w: 1/2 inside, 3 and -6 outside on either side of [-1, 2]
    land = ExactLandscape(leaky_problem())
    loss = land.loss(LEAKY_THETA)
    assert loss.is_Rational
    with mpmath.workdps(50):
        exact_theta = [mpmath.mpf(sympy.Rational(t).p) / sympy.Rational(t).q for t in LEAKY_THETA]
        assert_close(loss, leaky_loss_quad(exact_theta), 1e-25)
        for g, fd in zip(land.grad(LEAKY_THETA), fd_grad(leaky_loss_quad, LEAKY_THETA, "1e-12")):
            assert_close(g, fd, 1e-18)


def test_leaky_interval_hessian_vs_quadrature() -> None:
    theta = ("2", "-1", "-3", "-1", "1", "2", "1", "-2", "1/2", "1/3")  # breakpoints 1/2, 1, 2/3: all inside
    land = ExactLandscape(leaky_problem())
    hess = land.hessian(theta)
    with mpmath.workdps(50):
        fdh = fd_hessian(leaky_loss_quad, theta, "1e-10")
    for p in range(10):
        for q in range(10):
            assert_close(hess[p, q], fdh[p][q], 1e-14)


RELU_THETA = (F(2), F(-3, 5), F(-1), F(1), F(3, 2), F(-1, 2), F(1, 4))  # breakpoints 1/2 inside, 5/3 outside


def relu_pieces(t: Sequence[object]) -> tuple[list[mpmath.mpf], ...]:
    return tuple([mpmath.mpf(F(c).numerator) / F(c).denominator if not isinstance(c, mpmath.mpf) else c
                  for c in t[i:i + n]] for i, n in ((0, 2), (2, 2), (4, 2), (6, 1)))


def relu_problem() -> Problem:
    # N(x) = v1 relu(w1 x + b1) + v2 relu(w2 x + b2) + c on [0, 1], target 2x - 1/2, factor 1/2
    return make_problem([1, 2, 1], "relu", 'interval = ["0", "1"]', '"2*x - 1/2"', factor="1/2")


def test_relu_interval_hessian_includes_moving_breakpoint() -> None:
    land = ExactLandscape(relu_problem())
    hess = land.hessian(RELU_THETA)
    assert hess == hess.T
    # (1) finite differences of the exact gradient, with a rational step
    h = F(1, 10**12)
    for k in range(7):
        plus = list(RELU_THETA)
        minus = list(RELU_THETA)
        plus[k] += h
        minus[k] -= h
        gp, gm = land.grad(plus), land.grad(minus)
        for p in range(7):
            fd = (gp[p] - gm[p]) / (2 * R(h.numerator, h.denominator))
            assert abs(fd - hess[p, k]) <= R(1, 10**10) * max(1, abs(hess[p, k]))

    # (2) the naive Hessian, factor * integral 2 (dN dN^T + r d2N) dx, misses the boundary term
    #     B_pq = factor * 2 r(beta) (dN_p(beta-) - dN_p(beta+)) dbeta/dtheta_q of the breakpoint beta = -b1/w1
    with mpmath.workdps(50):
        (w, b, v, c) = relu_pieces(RELU_THETA)
        half = mpmath.mpf(1) / 2

        def parts(x: mpmath.mpf) -> tuple[mpmath.mpf, list[mpmath.mpf], dict[tuple[int, int], mpmath.mpf]]:
            z = [w[j] * x + b[j] for j in range(2)]
            on = [1 if zj > 0 else 0 for zj in z]
            r = c[0] + sum(v[j] * on[j] * z[j] for j in range(2)) - (2 * x - half)
            dn = [v[0] * on[0] * x, v[1] * on[1] * x, v[0] * on[0], v[1] * on[1], on[0] * z[0], on[1] * z[1], 1]
            return r, dn, {(0, 4): on[0] * x, (1, 5): on[1] * x, (2, 4): on[0], (3, 5): on[1]}

        beta = -b[0] / w[0]
        naive = [[mpmath.mpf(0)] * 7 for _ in range(7)]
        for p in range(7):
            for q in range(p, 7):
                def integrand(x: mpmath.mpf, p: int = p, q: int = q) -> mpmath.mpf:
                    r, dn, d2n = parts(x)
                    return 2 * (dn[p] * dn[q] + r * d2n.get((p, q), 0))
                naive[p][q] = naive[q][p] = half * mpmath.quad(integrand, [0, beta, 1], method="gauss-legendre")
        eps = mpmath.mpf(10) ** -30
        r_left, dn_left, _ = parts(beta - eps)
        _, dn_right, _ = parts(beta + eps)
        dbeta = {0: b[0] / w[0] ** 2, 2: -1 / w[0]}  # d beta / d w1, d beta / d b1
        boundary = [[mpmath.mpf(0)] * 7 for _ in range(7)]
        for p in (0, 2):
            for q in (0, 2):
                boundary[p][q] = half * 2 * r_left * (dn_left[p] - dn_right[p]) * dbeta[q]
        for p in range(7):
            for q in range(7):
                assert_close(hess[p, q], naive[p][q] + boundary[p][q], 1e-25)
        assert abs(boundary[0][0]) > mpmath.mpf("0.01")  # the naive Hessian really is wrong there
        assert abs(mpmath.mpf(sympy.N(hess[0, 0], 40)) - naive[0][0]) > mpmath.mpf("0.01")


def test_relu_interval_dead_and_degenerate_neurons() -> None:
    # w1 = 0, b1 = 1/2 > 0: active everywhere; w2 = 0, b2 = 0: inactive (left branch). N = v1/2 + c.
    land = ExactLandscape(relu_problem())
    theta = (0, 0, F(1, 2), 0, F(1), F(3), F(1, 4))
    # L = 1/2 integral_0^1 (3/4 - 2x + 1/2)^2 dx = 1/2 integral_0^1 (5/4 - 2x)^2 dx
    x = sympy.Symbol("x")
    assert land.loss(theta) == sympy.integrate((R(5, 4) - 2 * x) ** 2, (x, 0, 1)) / 2
    g = land.grad(theta)
    assert g[3] == 0 and g[5] == 0  # the inactive neuron's bias and output weight do not move
    assert g[6] == sympy.integrate(R(5, 4) - 2 * x, (x, 0, 1))  # dL/dc = integral r


def test_leaky_interval_two_outputs_without_biases() -> None:
    # N_o(x) = v_o1 s(w1 x) + v_o2 s(w2 x), breakpoints fixed at 0; targets x and 1 on [-1, 1]
    problem = make_problem([1, 2, 2], "leaky_relu", 'interval = ["-1", "1"]', '["x", "1"]',
                           extra='slope = "1/4"\nbiases = false')
    theta = ("1/2", "-2", "1", "-1/3", "2", "1/5")  # w1 w2 | W2 = [[1, -1/3], [2, 1/5]]

    def loss_quad(t: Sequence[mpmath.mpf]) -> mpmath.mpf:
        s = lambda z: z if z > 0 else z / 4  # noqa: E731

        def integrand(x: mpmath.mpf) -> mpmath.mpf:
            h = [s(t[0] * x), s(t[1] * x)]
            return (t[2] * h[0] + t[3] * h[1] - x) ** 2 + (t[4] * h[0] + t[5] * h[1] - 1) ** 2

        return mpmath.quad(integrand, [-1, 0, 1], method="gauss-legendre")

    land = ExactLandscape(problem)
    with mpmath.workdps(50):
        exact_theta = [mpmath.mpf(sympy.Rational(t).p) / sympy.Rational(t).q for t in theta]
        assert_close(land.loss(theta), loss_quad(exact_theta), 1e-40)
        for g, fd in zip(land.grad(theta), fd_grad(loss_quad, theta, "1e-15")):
            assert_close(g, fd, 1e-20)
        fdh = fd_hessian(loss_quad, theta, "1e-12")
    hess = land.hessian(theta)
    for p in range(6):
        for q in range(6):
            assert_close(hess[p, q], fdh[p][q], 1e-15)


# ---------------------------------------------------------------- polynomial activations on an interval

def test_square_interval_vs_direct_integration() -> None:
    problem = make_problem([1, 2, 1], "square", 'interval = ["-1", "2"]', '"x**3 - 2*x"', factor="1/2")
    land = ExactLandscape(problem)
    theta = ("1/2", "-1", "1/3", "2", "3/2", "-1/4", "1/5")
    x = sympy.Symbol("x")
    syms = sympy.symbols("w1 w2 b1 b2 v1 v2 c")
    w1, w2, b1, b2, v1, v2, c = syms
    n = v1 * (w1 * x + b1) ** 2 + v2 * (w2 * x + b2) ** 2 + c
    loss = sympy.integrate(sympy.expand((n - (x**3 - 2 * x)) ** 2), (x, -1, 2)) / 2
    subs = {s: sympy.Rational(t) for s, t in zip(syms, theta)}
    assert land.loss(theta) == loss.subs(subs)
    assert land.grad(theta) == tuple(sympy.diff(loss, s).subs(subs) for s in syms)
    assert land.hessian(theta) == sympy.hessian(loss, syms).subs(subs)


def test_deep_square_interval_directional() -> None:
    # (1,2,2,1) square on [0, 1], target x: L(theta + t e_k + s e_l) is a polynomial in (t, s),
    # integrated exactly here with theta substituted first.
    problem = make_problem([1, 2, 2, 1], "square", 'interval = ["0", "1"]', '"x"')
    land = ExactLandscape(problem)
    theta = [F(1, 2), F(-1), F(1, 3), F(1, 4), F(1), F(-1, 2), F(2, 3), F(1), F(0), F(-1, 5), F(1), F(1, 2), F(-1, 3)]
    x, t, s = sympy.symbols("x t s")

    def loss_along(k: int, m: int) -> sympy.Expr:
        th: list[sympy.Expr] = [R(q.numerator, q.denominator) for q in theta]
        th[k] += t
        th[m] += s
        h1 = [(th[0] * x + th[2]) ** 2, (th[1] * x + th[3]) ** 2]
        h2 = [(th[4] * h1[0] + th[5] * h1[1] + th[8]) ** 2, (th[6] * h1[0] + th[7] * h1[1] + th[9]) ** 2]
        n = th[10] * h2[0] + th[11] * h2[1] + th[12]
        return sympy.integrate(sympy.expand((n - x) ** 2), (x, 0, 1))

    grad, hess = land.grad(theta), land.hessian(theta)
    assert land.loss(theta) == loss_along(0, 0).subs({t: 0, s: 0})
    for k, m in ((0, 0), (0, 4), (3, 9), (10, 12), (7, 2)):
        along = loss_along(k, m)
        at0 = {t: 0, s: 0}
        assert grad[k] == sympy.diff(along, t).subs(at0)
        assert grad[m] == sympy.diff(along, s).subs(at0)
        assert hess[k, m] == sympy.diff(along, t, s).subs(at0)


def test_square_interval_two_outputs_transcendental_target() -> None:
    # (1,2,2) square on [0, 1], targets sin(x) and x**2: the loss involves sin(1), cos(1).
    problem = make_problem([1, 2, 2], "square", 'interval = ["0", "1"]', '["sin(x)", "x**2"]', factor="2")
    theta = ("1/2", "-1", "1/3", "1/4", "1", "-1/2", "2/3", "1", "0", "-1/5")
    x = sympy.Symbol("x")
    syms = sympy.symbols("t0:10")
    h = [(syms[0] * x + syms[2]) ** 2, (syms[1] * x + syms[3]) ** 2]
    outputs = [syms[4] * h[0] + syms[5] * h[1] + syms[8], syms[6] * h[0] + syms[7] * h[1] + syms[9]]
    integrand = 2 * ((outputs[0] - sympy.sin(x)) ** 2 + (outputs[1] - x**2) ** 2)
    subs = {sy: sympy.Rational(t) for sy, t in zip(syms, theta)}
    land = ExactLandscape(problem)
    loss = land.loss(theta)
    assert loss.has(sympy.sin) or loss.has(sympy.cos)
    assert sympy.simplify(loss - sympy.integrate(sympy.expand(integrand.subs(subs)), (x, 0, 1))) == 0
    # derivatives under the integral sign (the integrand is smooth in theta), by quadrature
    grad, hess = land.grad(theta), land.hessian(theta)
    with mpmath.workdps(40):
        for p in range(10):
            dp = sympy.diff(integrand, syms[p])
            f = sympy.lambdify(x, dp.subs(subs), "mpmath")
            assert_close(grad[p], mpmath.quad(f, [0, 1]), 1e-30)
            for q in range(p, 10):
                f = sympy.lambdify(x, sympy.diff(dp, syms[q]).subs(subs), "mpmath")
                assert_close(hess[p, q], mpmath.quad(f, [0, 1]), 1e-30)
                assert hess[q, p] == hess[p, q]


# ---------------------------------------------------------------- bad input

def test_wrong_theta_length() -> None:
    land = ExactLandscape(tanh_problem())
    with pytest.raises(InputError, match=r"theta.*give exactly 7") as info:
        land.loss([1, 2, 3])
    assert info.value.field == "theta"
    with pytest.raises(InputError, match="theta"):
        land.grad("1234567")
    with pytest.raises(InputError, match=r"theta\[2\]"):
        land.loss([1, 2, "abc", 4, 5, 6, 7])


def test_unsupported_interval_activation() -> None:
    problem = make_problem([1, 2, 1], "tanh", 'interval = ["0", "1"]', '"x"')
    with pytest.raises(InputError, match=r"network\.activation") as info:
        ExactLandscape(problem)
    assert info.value.field == "network.activation" and "--tier mp" in info.value.fix


def test_too_many_points() -> None:
    problem = make_problem([1, 1, 1], "identity",
                           f'grid = {{ start = "0", stop = "1", num = {MAX_EXACT_POINTS + 1} }}', '"x"')
    with pytest.raises(InputError, match=r"data\.points") as info:
        ExactLandscape(problem)
    assert f"{MAX_EXACT_POINTS + 1}" in str(info.value) and "mp or np tier" in info.value.fix


def test_target_without_closed_form_integral() -> None:
    problem = make_problem([1, 2, 1], "relu", 'interval = ["1", "2"]', '"x**x"')
    with pytest.raises(InputError, match=r"target\.expr"):
        ExactLandscape(problem)


def test_non_polynomial_target_integrates_in_closed_form() -> None:
    # relu (1,1,1) with w = 1, b = -1/2, v = 1, c = 0 on [0, 1], target exp(x):
    # L = integral_0^{1/2} e^{2x} dx + integral_{1/2}^1 (x - 1/2 - e^x)^2 dx
    problem = make_problem([1, 1, 1], "relu", 'interval = ["0", "1"]', '"exp(x)"')
    x = sympy.Symbol("x")
    expected = (sympy.integrate(sympy.exp(2 * x), (x, 0, R(1, 2)))
                + sympy.integrate(sympy.expand((x - R(1, 2) - sympy.exp(x)) ** 2), (x, R(1, 2), 1)))
    loss = ExactLandscape(problem).loss((1, "-1/2", 1, 0))
    assert sympy.simplify(loss - expected) == 0
