"""Tests of the mpmath tier (verify.landscapes.mp.MpLandscape) against independent oracles.

Oracles: hand-derived closed forms, central finite differences at higher precision,
SymPy derivatives of the activations, mpmath.quad of the integrand written out here,
and the tier itself at twice the precision.
"""

from __future__ import annotations

import random
from fractions import Fraction

import mpmath
import pytest
import sympy

import verify.landscapes.mp as mp_module
from verify.errors import InputError
from verify.landscapes.mp import MpLandscape, _gauss_legendre_raw, _make_activation
from verify.problem.problem import Problem, parse_problem

ACTS = ["logistic", "tanh", "softplus", "gelu", "swish", "mish", "elu", "softsign",
        "relu", "leaky_relu", "identity", "square"]


def make_problem(widths, activation, data, expr, *, biases=True, output_activation=False,
                 slope=None, factor=None) -> Problem:
    """A problem from TOML text; ``data`` is the body of the [data] table."""
    exprs = expr if isinstance(expr, list) else [expr]
    lines = ["[network]", f"widths = {list(widths)}", f'activation = "{activation}"',
             f"biases = {'true' if biases else 'false'}",
             f"output_activation = {'true' if output_activation else 'false'}"]
    if slope is not None:
        lines.append(f'slope = "{slope}"')
    lines += ["[data]", data, "[target]", "expr = [" + ", ".join(f'"{e}"' for e in exprs) + "]"]
    if factor is not None:
        lines += ["[loss]", f'factor = "{factor}"']
    return parse_problem("\n".join(lines) + "\n")


def random_theta(n: int, seed: int) -> list[Fraction]:
    """Rationals in +-[1/10, 9/10] with denominator 100 (never zero)."""
    rng = random.Random(seed)
    return [Fraction(rng.choice([-1, 1]) * rng.randint(10, 90), 100) for _ in range(n)]


def rel_err(a, b, ctx) -> object:
    """max |a - b| / max(1, max |b|) over matching entries (vectors or matrices)."""
    def flat(x):
        if isinstance(x, (list, tuple)):
            return [y for item in x for y in flat(item)]
        return [x]
    fa, fb = flat(a), flat(b)
    assert len(fa) == len(fb)
    scale = max([ctx.one] + [abs(ctx.mpf(y)) for y in fb])
    return max(abs(ctx.mpf(x) - ctx.mpf(y)) for x, y in zip(fa, fb)) / scale


# ---------------------------------------------------------------------------------------
# closed form
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("factor", [Fraction(1), Fraction(3, 2)])
def test_closed_form_identity_network(factor):
    # N(x) = v (w x + b) + c on points 0, 1 with f(x) = x:
    # r0 = v b + c, r1 = v (w + b) + c - 1, L = factor (r0^2 + r1^2) / 2.
    problem = make_problem((1, 1, 1), "identity", 'points = ["0", "1"]', "x", factor=str(factor))
    land = MpLandscape(problem, dps=40)
    w, b, v, c = Fraction(1, 2), Fraction(-1, 3), Fraction(2), Fraction(1, 5)
    r0 = v * b + c
    r1 = v * (w + b) + c - 1
    loss = factor * (r0 ** 2 + r1 ** 2) / 2
    grad = [factor * g for g in (r1 * v, (r0 + r1) * v, r0 * b + r1 * (w + b), r0 + r1)]
    hess = [[v * v, v * v, r1 + v * (w + b), v],
            [v * v, 2 * v * v, r0 + r1 + v * (w + 2 * b), 2 * v],
            [r1 + v * (w + b), r0 + r1 + v * (w + 2 * b), b * b + (w + b) ** 2, w + 2 * b],
            [v, 2 * v, w + 2 * b, 2]]
    hess = [[factor * h for h in row] for row in hess]
    q = mpmath.MPContext()
    q.dps = 80

    def exact(x: Fraction):
        return q.mpf(x.numerator) / x.denominator

    theta = [w, b, v, c]
    assert abs(q.mpf(land.loss(theta)) - exact(loss)) < q.mpf("1e-40")
    for got, want in zip(land.grad(theta), grad):
        assert abs(q.mpf(got) - exact(want)) < q.mpf("1e-40")
    for row_got, row_want in zip(land.hessian(theta), hess):
        for got, want in zip(row_got, row_want):
            assert abs(q.mpf(got) - exact(want)) < q.mpf("1e-40")


# ---------------------------------------------------------------------------------------
# finite differences on random small architectures
# ---------------------------------------------------------------------------------------

CONFIGS = {
    # one hidden layer, biases, 1-D polynomial target
    "shallow": dict(widths=(1, 2, 1), data='grid = { start = "-1", stop = "1", num = 5 }', expr="x**2"),
    # two hidden layers, 2-D input
    "deep": dict(widths=(2, 2, 2, 1), data='points = [["-1", "1/2"], ["1/3", "-2/5"], ["7/10", "1"], ["0", "-1"]]',
                 expr="x1*x2 + x2**2"),
    # layers of width >= 4 (summed with one fdot per neuron and point)
    "wide": dict(widths=(2, 5, 4, 1), data='points = [["-1", "1/2"], ["3/10", "-1"], ["1", "1/5"]]',
                 expr="x1**2 - x2"),
    # no biases, activated output, two outputs, transcendental target
    "nobias_actout": dict(widths=(1, 3, 2), data='points = ["-4/5", "-1/10", "3/10", "1"]', expr=["sin(x)", "x/2"],
                          biases=False, output_activation=True),
}


def fd_grad(land: MpLandscape, theta, h):
    ctx = land.ctx
    th = [ctx.mpf(t.numerator) / t.denominator for t in theta]
    out = []
    for i in range(len(th)):
        p, m = list(th), list(th)
        p[i] += h
        m[i] -= h
        out.append((land.loss(p) - land.loss(m)) / (2 * h))
    return out


def fd_hessian(land: MpLandscape, theta, h):
    ctx = land.ctx
    th = [ctx.mpf(t.numerator) / t.denominator for t in theta]
    d = len(th)
    cols = []
    for i in range(d):
        p, m = list(th), list(th)
        p[i] += h
        m[i] -= h
        gp, gm = land.grad(p), land.grad(m)
        cols.append([(x - y) / (2 * h) for x, y in zip(gp, gm)])
    return [[cols[j][i] for j in range(d)] for i in range(d)]


@pytest.mark.parametrize("config", sorted(CONFIGS))
@pytest.mark.parametrize("activation", ACTS)
def test_gradient_and_hessian_against_finite_differences(activation, config):
    spec = dict(CONFIGS[config])
    problem = make_problem(spec.pop("widths"), activation, spec.pop("data"), spec.pop("expr"),
                           slope="1/10" if activation == "leaky_relu" else None, **spec)
    theta = random_theta(problem.n_params, seed=10 * ACTS.index(activation) + sorted(CONFIGS).index(config))
    land = MpLandscape(problem, dps=30)
    fine = MpLandscape(problem, dps=60)
    h = fine.ctx.mpf("1e-20")
    grad = land.grad(theta)
    assert rel_err(grad, fd_grad(fine, theta, h), fine.ctx) < mpmath.mpf("1e-25")
    hess = land.hessian(theta)
    assert rel_err(hess, fd_hessian(fine, theta, h), fine.ctx) < mpmath.mpf("1e-24")
    # symmetry is not imposed, so it is a check
    ctx = land.ctx
    scale = max(abs(x) for row in hess for x in row)
    asym = max(abs(hess[i][j] - hess[j][i]) for i in range(len(hess)) for j in range(len(hess)))
    assert asym <= ctx.mpf("1e-25") * scale


def test_finite_difference_check_detects_a_wrong_gradient():
    # the comparison above is sharp: a gradient off by 1e-20 in one entry fails it
    problem = make_problem((1, 2, 1), "tanh", 'points = ["-1", "0", "1/2"]', "x**2")
    theta = random_theta(problem.n_params, seed=3)
    land, fine = MpLandscape(problem, dps=30), MpLandscape(problem, dps=60)
    grad = land.grad(theta)
    grad[2] += land.ctx.mpf("1e-20")
    assert rel_err(grad, fd_grad(fine, theta, fine.ctx.mpf("1e-20")), fine.ctx) > mpmath.mpf("1e-25")


# ---------------------------------------------------------------------------------------
# activations against SymPy
# ---------------------------------------------------------------------------------------

def sympy_activation(name: str, z: sympy.Symbol, gamma: sympy.Rational) -> sympy.Expr:
    sig = 1 / (1 + sympy.exp(-z))
    sp = sympy.log(1 + sympy.exp(z))
    return {
        "logistic": sig,
        "tanh": sympy.tanh(z),
        "softplus": sp,
        "gelu": z * (1 + sympy.erf(z / sympy.sqrt(2))) / 2,
        "swish": z * sig,
        "mish": z * sympy.tanh(sp),
        # kinks: the z > 0 branch, else (z <= 0, so z = 0 too) the left branch
        "elu": sympy.Piecewise((z, z > 0), (sympy.exp(z) - 1, True)),
        "softsign": sympy.Piecewise((z / (1 + z), z > 0), (z / (1 - z), True)),
        "relu": sympy.Piecewise((z, z > 0), (0, True)),
        "leaky_relu": sympy.Piecewise((z, z > 0), (gamma * z, True)),
        "identity": z,
        "square": z ** 2,
    }[name]


@pytest.mark.parametrize("name", ACTS)
def test_activation_derivatives_against_sympy(name):
    z = sympy.Symbol("z", real=True)
    gamma = sympy.Rational(1, 7)
    expr = sympy_activation(name, z, gamma)
    forms = [expr, sympy.diff(expr, z), sympy.diff(expr, z, 2)]
    ctx = mpmath.MPContext()
    ctx.dps = 50
    act = _make_activation(ctx, name, Fraction(1, 7))
    points = [sympy.Integer(-30), sympy.Integer(-3), sympy.Rational(-1, 2), sympy.Rational(-1, 1000),
              sympy.Integer(0), sympy.Rational(1, 1000), sympy.Rational(7, 10), sympy.Rational(5, 2),
              sympy.Integer(30)]
    for point in points:
        got = act(ctx.mpf(point.p) / point.q)
        for order, form in enumerate(forms):
            want = ctx.mpf(str(sympy.N(form.subs(z, point), 60)))
            assert abs(got[order] - want) <= ctx.mpf("1e-38") * abs(want) + ctx.mpf("1e-60"), (point, order)


def test_kink_convention_is_the_left_branch():
    ctx = mpmath.MPContext()
    ctx.dps = 30
    zero = ctx.zero
    assert _make_activation(ctx, "relu", Fraction(0))(zero) == (0, 0, 0)
    assert _make_activation(ctx, "leaky_relu", Fraction(1, 4))(zero)[1:] == (ctx.mpf(0.25), 0)
    assert _make_activation(ctx, "elu", Fraction(0))(zero) == (0, 1, 1)
    assert _make_activation(ctx, "softsign", Fraction(0))(zero) == (0, 1, 2)


# ---------------------------------------------------------------------------------------
# precision
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", [
    ((1, 2, 1), "tanh", 'grid = { start = "-1", stop = "1", num = 8 }', "x**2"),
    ((2, 3, 2, 1), "gelu", 'points = [["-1", "1/2"], ["1/3", "-2/5"], ["7/10", "1"]]', "exp(x1) - x2"),
    ((1, 2, 1), "mish", 'interval = ["-1", "1"]', "exp(x)"),
])
def test_agrees_with_itself_at_twice_the_precision(case):
    widths, activation, data, expr = case
    problem = make_problem(widths, activation, data, expr)
    theta = random_theta(problem.n_params, seed=11)
    lo = MpLandscape(problem, dps=30).loss(theta)
    hi = MpLandscape(problem, dps=60).loss(theta)
    assert lo > 0
    q = mpmath.MPContext()
    q.dps = 70
    assert abs(q.mpf(lo) - q.mpf(hi)) <= q.mpf("1e-28") * abs(q.mpf(hi))


def test_private_context_leaves_global_precision_alone():
    before = (mpmath.mp.dps, mpmath.mp.prec)
    problem = make_problem((1, 2, 1), "tanh", 'interval = ["0", "1"]', "sin(x)")
    land = MpLandscape(problem, dps=50)
    theta = random_theta(problem.n_params, seed=5)
    value = land.loss(theta)
    land.hessian(theta)
    assert (mpmath.mp.dps, mpmath.mp.prec) == before
    assert land.ctx.dps == 60 and land.dps == 50
    assert type(value) is land.ctx.mpf
    assert all(type(g) is land.ctx.mpf for g in land.grad(theta))


# ---------------------------------------------------------------------------------------
# integral loss against mpmath.quad
# ---------------------------------------------------------------------------------------

def direct_network(q, activation, widths, theta, x, slope=Fraction(1, 100)):
    """N(x) for a 1-D input, written out: loops over layers, activations from q's functions."""
    def s(z):
        if activation == "tanh":
            return q.tanh(z)
        if activation == "relu":
            return z if z > 0 else q.zero
        if activation == "leaky_relu":
            return z if z > 0 else q.mpf(slope.numerator) / slope.denominator * z
        if activation == "elu":
            return z if z > 0 else q.exp(z) - 1
        if activation == "mish":
            return z * q.tanh(q.log(1 + q.exp(z)))
        if activation == "square":
            return z * z
        if activation == "identity":
            return z
        raise AssertionError(activation)

    th = [q.mpf(t.numerator) / t.denominator for t in theta]
    a = [q.mpf(x)]
    pos = 0
    for k in range(len(widths) - 1):
        fan_in, fan_out = widths[k], widths[k + 1]
        W = [th[pos + i * fan_in: pos + (i + 1) * fan_in] for i in range(fan_out)]
        pos += fan_in * fan_out
        b = th[pos: pos + fan_out]
        pos += fan_out
        z = [sum((W[i][j] * a[j] for j in range(fan_in)), b[i]) for i in range(fan_out)]
        a = [s(t) for t in z] if k < len(widths) - 2 else z
    return a


INTEGRALS = [
    # (widths, activation, interval, targets (sympy text, mpmath lambda), factor, slope)
    ((1, 2, 1), "tanh", ("-1", "1"), [("x**2", lambda q, x: x * x)], "1", None),
    ((1, 3, 1), "tanh", ("0", "2"), [("exp(x)", lambda q, x: q.exp(x))], "1/2", None),
    ((1, 3, 1), "relu", ("-1", "1"), [("x**2", lambda q, x: x * x)], "1", None),
    ((1, 2, 2), "leaky_relu", ("-1", "2"), [("x", lambda q, x: x), ("x**2 - 1", lambda q, x: x * x - 1)], "3",
     "1/10"),
    ((1, 3, 1), "relu", ("-1", "1"), [("exp(x)", lambda q, x: q.exp(x))], "1", None),
    ((1, 2, 1), "elu", ("-1", "1"), [("sin(x)", lambda q, x: q.sin(x))], "1", None),
    ((1, 2, 1), "square", ("-1", "1"), [("x**3", lambda q, x: x ** 3)], "1", None),
]


@pytest.mark.parametrize("case", INTEGRALS, ids=lambda c: f"{c[1]}-{c[3][0][0]}")
def test_integral_loss_against_mpmath_quad(case):
    widths, activation, (a, b), targets, factor, slope = case
    problem = make_problem(widths, activation, f'interval = ["{a}", "{b}"]', [t for t, _ in targets],
                           factor=factor, slope=slope)
    rng = random.Random(7)
    theta = random_theta(problem.n_params, seed=rng.randint(0, 99))
    if activation in ("relu", "leaky_relu", "elu"):
        # put every first-layer breakpoint inside (a, b)
        lo, hi = Fraction(a), Fraction(b)
        for j in range(widths[1]):
            w = theta[j]
            beta = lo + (hi - lo) * Fraction(j + 1, widths[1] + 1) + Fraction(1, 37)
            theta[widths[1] + j] = -beta * w
    land = MpLandscape(problem, dps=30)
    value = land.loss(theta)
    assert land.quadrature_converged

    q = mpmath.MPContext()
    q.dps = 40
    gamma = Fraction(slope) if slope else Fraction(1, 100)

    def integrand(x):
        out = direct_network(q, activation, widths, theta, x, gamma)
        return sum((o - f(q, x)) ** 2 for o, (_, f) in zip(out, targets))

    cuts = [q.mpf(Fraction(a).numerator) / Fraction(a).denominator]
    if activation in ("relu", "leaky_relu", "elu"):
        betas = sorted(-Fraction(theta[widths[1] + j]) / theta[j] for j in range(widths[1]))
        cuts += [q.mpf(c.numerator) / c.denominator for c in betas if Fraction(a) < c < Fraction(b)]
        assert len(cuts) == widths[1] + 1
    cuts.append(q.mpf(Fraction(b).numerator) / Fraction(b).denominator)
    want = q.quad(integrand, cuts) * Fraction(factor).numerator / Fraction(factor).denominator
    assert abs(q.mpf(value) - want) <= q.mpf("1e-25") * abs(want)
    if activation in ("relu", "leaky_relu", "square") and "exp" not in targets[0][0]:
        # exact rules: max(deg N, deg f) + 1 nodes per piece
        deg_n = 2 if activation == "square" else 1
        deg_f = max(sympy.Poly(sympy.sympify(t), sympy.Symbol("x")).degree() for t, _ in targets)
        assert land.quadrature_nodes == (max(deg_n, deg_f) + 1) * (len(cuts) - 1)


@pytest.mark.parametrize("n", [1, 2, 5, 12, 33])
def test_gauss_legendre_rule_against_mpmath(n):
    # oracle: mpmath's own (eigenvalue-based) rule, and exactness for x^k, k < 2n
    q = mpmath.MPContext()
    q.dps = 60
    nodes, weights = _gauss_legendre_raw(n, q.prec)
    xs = [q.make_mpf(t) for t in nodes]
    ws = [q.make_mpf(t) for t in weights]
    ref_x, ref_w = q.gauss_quadrature(n, "legendre")
    ref = sorted(zip(ref_x, ref_w))
    for x, w, (rx, rw) in zip(xs, ws, ref):
        assert abs(x - rx) < q.mpf("1e-55") and abs(w - rw) < q.mpf("1e-55")
    for k in range(2 * n):
        exact = q.mpf(2) / (k + 1) if k % 2 == 0 else q.zero
        assert abs(q.fdot(ws, [x ** k for x in xs]) - exact) < q.mpf("1e-57")


def test_point_loss_with_transcendental_target_against_direct_sum():
    problem = make_problem((1, 2, 1), "tanh", 'points = ["-1", "1/3", "7/10", "2"]', "exp(x) * sin(3*x)",
                           factor="2/3")
    theta = random_theta(problem.n_params, seed=23)
    q = mpmath.MPContext()
    q.dps = 50
    total = q.zero
    for x in (q.mpf(-1), q.mpf(1) / 3, q.mpf(7) / 10, q.mpf(2)):
        (out,) = direct_network(q, "tanh", (1, 2, 1), theta, x)
        total += (out - q.exp(x) * q.sin(3 * x)) ** 2
    want = total / 4 * 2 / 3
    got = MpLandscape(problem, dps=30).loss(theta)
    assert abs(q.mpf(got) - want) <= q.mpf("1e-30") * want


def test_adaptive_quadrature_reports_non_convergence(monkeypatch):
    # sqrt(x) on [0, 1] has a singular derivative at 0: Gauss-Legendre converges only
    # algebraically, so a small node cap is not enough
    monkeypatch.setattr(mp_module, "MAX_NODES", 64)
    problem = make_problem((1, 2, 1), "tanh", 'interval = ["0", "1"]', "sqrt(x)")
    land = MpLandscape(problem, dps=30)
    land.loss(random_theta(problem.n_params, seed=2))
    assert not land.quadrature_converged
    assert land.quadrature_nodes == 64
    smooth = MpLandscape(make_problem((1, 2, 1), "tanh", 'interval = ["0", "1"]', "sin(x)"), dps=30)
    smooth.loss(random_theta(problem.n_params, seed=2))
    assert smooth.quadrature_converged


# ---------------------------------------------------------------------------------------
# the relu / leaky_relu Hessian boundary term
# ---------------------------------------------------------------------------------------

BOUNDARY = [
    # widths, activation, slope, target, theta (W1, b1, W2, b2) with breakpoints in (-1, 1), biases
    ((1, 2, 1), "relu", None, "x**2", ["7/10", "-9/10", "1/5", "3/10", "11/10", "-2/5", "1/20"], True),
    ((1, 3, 1), "leaky_relu", "1/5", "exp(x)",
     ["1/2", "-3/4", "6/5", "1/10", "1/4", "-1/3", "4/5", "-7/10", "1/2", "3/10"], True),
    ((1, 2, 2), "relu", None, ["x", "1 - x**2"],
     ["-3/5", "4/5", "1/5", "-1/10", "9/10", "-1/2", "3/10", "6/5", "1/10", "-1/5"], True),
    ((1, 2, 1), "relu", None, "x**2", ["7/10", "-9/10", "11/10", "-2/5"], False),
]


@pytest.mark.parametrize("case", BOUNDARY, ids=lambda c: f"{c[1]}-{c[0]}-biases{c[5]}")
def test_relu_hessian_boundary_term_against_finite_differences(case):
    widths, activation, slope, expr, theta_text, biases = case
    problem = make_problem(widths, activation, 'interval = ["-1", "1"]', expr, slope=slope, biases=biases,
                           factor="3/2")
    theta = [Fraction(t) for t in theta_text]
    land = MpLandscape(problem, dps=40)
    h = land.ctx.mpf("1e-15")
    fd = fd_hessian(land, theta, h)
    hess = land.hessian(theta)
    tol = mpmath.mpf("1e-10")
    assert rel_err(hess, fd, land.ctx) < tol
    land._include_boundary = False
    without = land.hessian(theta)
    if not biases:
        # the breakpoint 0 does not move: there is no boundary term
        assert rel_err(without, hess, land.ctx) == 0
        return
    # dropping the boundary term fails the comparison
    assert rel_err(without, fd, land.ctx) > 1e-3
    # and the difference is the derived block 2 c (1 - gamma) sum_o r_o(beta) v_oj / |w_j| u u^T
    q = mpmath.MPContext()
    q.dps = 50
    c = Fraction(3, 2)
    gamma = Fraction(slope) if slope else Fraction(0)
    n_hidden, m = widths[1], widths[2]
    exprs = expr if isinstance(expr, list) else [expr]
    x = sympy.Symbol("x", real=True)
    d = problem.n_params
    block = [[q.zero] * d for _ in range(d)]
    for j in range(n_hidden):
        w, b = theta[j], theta[n_hidden + j]
        beta = -b / w
        out = direct_network(q, activation, widths, theta, q.mpf(beta.numerator) / beta.denominator, gamma)
        r_v = q.zero
        for o in range(m):
            f_beta = q.mpf(str(sympy.N(sympy.sympify(exprs[o], locals={"x": x}).subs(x, sympy.Rational(
                beta.numerator, beta.denominator)), 50)))
            v_oj = theta[2 * n_hidden + o * n_hidden + j]
            r_v += (out[o] - f_beta) * v_oj.numerator / v_oj.denominator
        coef = 2 * c * (1 - gamma) * r_v / abs(w)
        bq = q.mpf(beta.numerator) / beta.denominator
        block[j][j] = coef * bq * bq
        block[j][n_hidden + j] = block[n_hidden + j][j] = coef * bq
        block[n_hidden + j][n_hidden + j] = coef
    diff = [[q.mpf(hess[i][k]) - q.mpf(without[i][k]) for k in range(d)] for i in range(d)]
    assert rel_err(diff, block, q) < q.mpf("1e-35")


# ---------------------------------------------------------------------------------------
# Hessian-vector products, realization, input
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", [
    ((2, 3, 2, 1), "softplus", 'points = [["-1", "1/2"], ["1/3", "-2/5"], ["7/10", "1"]]', "x1**2 + x2", None),
    ((1, 3, 2), "swish", 'points = ["-1", "1/3", "1"]', ["x", "cos(x)"], None),
    ((1, 3, 1), "relu", 'interval = ["-1", "1"]', "x**3", None),
    ((1, 2, 1), "leaky_relu", 'interval = ["0", "3"]', "exp(-x)", "1/10"),
])
def test_hvp_equals_hessian_times_v(case):
    widths, activation, data, expr, slope = case
    problem = make_problem(widths, activation, data, expr, slope=slope)
    theta = random_theta(problem.n_params, seed=17)
    if problem.data.interval is not None:
        theta[widths[1]] = -theta[0] / 2  # b_1 = -w_1 / 2: a breakpoint at 1/2, inside the interval
    v = random_theta(problem.n_params, seed=18)
    land = MpLandscape(problem, dps=30)
    ctx = land.ctx
    hess = land.hessian(theta)
    vm = [ctx.mpf(t.numerator) / t.denominator for t in v]
    want = [ctx.fdot(row, vm) for row in hess]
    assert rel_err(land.hvp(theta, v), want, ctx) < ctx.mpf("1e-30")


def test_realization_matches_the_formula():
    problem = make_problem((1, 2, 1), "tanh", 'points = ["0"]', "x")
    land = MpLandscape(problem, dps=30)
    theta = ["1/2", "-3/2", "1/3", "0", "2", "-1", "1/7"]
    q = mpmath.MPContext()
    q.dps = 45
    x = q.mpf(3) / 4
    want = (2 * q.tanh(x / 2 + q.mpf(1) / 3) - q.tanh(-3 * x / 2) + q.mpf(1) / 7)
    (got,) = land.realization(theta, ["3/4"])
    assert abs(q.mpf(got) - want) < q.mpf("1e-38")


def test_theta_input_forms_agree():
    problem = make_problem((1, 2, 1), "tanh", 'points = ["-1", "1/2"]', "x**2")
    land = MpLandscape(problem, dps=30)
    forms = [
        [Fraction(1, 2), Fraction(-1, 4), 1, 0, Fraction(3, 2), 2, Fraction(-1, 8)],
        ["1/2", "-0.25", "1", "0", "3/2", 2, "-1/8"],
        [0.5, -0.25, 1.0, 0.0, 1.5, 2.0, -0.125],
        [land.ctx.mpf(t) for t in ("0.5", "-0.25", "1", "0", "1.5", "2", "-0.125")],
        [mpmath.mpf(t) for t in ("0.5", "-0.25", "1", "0", "1.5", "2", "-0.125")],
    ]
    values = [land.loss(f) for f in forms]
    assert all(v == values[0] for v in values)


def test_bad_input_raises_input_error():
    problem = make_problem((1, 2, 1), "tanh", 'points = ["-1", "1/2"]', "x**2")
    with pytest.raises(InputError, match="dps") as info:
        MpLandscape(problem, dps=3)
    assert info.value.field == "dps"
    land = MpLandscape(problem, dps=10)
    with pytest.raises(InputError, match="theta") as info:
        land.loss([1, 2, 3])
    assert info.value.field == "theta" and "7" in info.value.fix
    with pytest.raises(InputError) as info:
        land.grad([1, "abc", 0, 0, 0, 0, 0])
    assert info.value.field == "theta[1]"
    with pytest.raises(InputError) as info:
        land.hvp([0] * 7, [0] * 6)
    assert info.value.field == "v"
    with pytest.raises(InputError) as info:
        land.loss([0, 0, 0, mpmath.inf, 0, 0, 0])
    assert info.value.field == "theta[3]"
    with pytest.raises(InputError) as info:
        land.realization([0] * 7, [0, 1])
    assert info.value.field == "x"
