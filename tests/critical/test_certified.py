"""The certified tier (ball arithmetic, python-flint) against independent oracles: mpmath at high precision,
the mp tier, exact SymPy values, closed forms, sampling inside boxes and balls."""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy
from flint import arb, arb_mat
from flint import ctx as flint_ctx

from verify import (
    ExprLandscape,
    InputError,
    MpLandscape,
    NpLandscape,
    certify_critical_point,
    certify_cycle,
    certify_gd_stability,
    escape_radius,
    loss_lower_bound,
    loss_upper_bound,
    parse_problem,
)
from verify.critical.arb import (
    ArbProgram,
    BallNetwork,
    activation_balls,
    ball,
    dec_lower,
    dec_upper,
    interval,
    ldl_inertia,
    lower,
    precision,
    upper,
)
from verify.critical.bounds import curvature_bound, derivative_sup

F = Fraction
ACTS = ("tanh", "logistic", "softplus", "swish", "gelu", "mish", "identity", "square")
KINKED = ("elu", "softsign", "relu", "leaky_relu")


def _mp_act(name: str, z: mpmath.mpf, right: bool = True) -> mpmath.mpf:
    s = {"tanh": mpmath.tanh, "logistic": lambda t: 1 / (1 + mpmath.exp(-t)),
         "softplus": lambda t: mpmath.log1p(mpmath.exp(t)), "swish": lambda t: t / (1 + mpmath.exp(-t)),
         "gelu": lambda t: t * mpmath.ncdf(t), "mish": lambda t: t * mpmath.tanh(mpmath.log1p(mpmath.exp(t))),
         "identity": lambda t: t, "square": lambda t: t * t,
         "elu": lambda t: t if right else mpmath.exp(t) - 1,
         "softsign": lambda t: t / (1 + t) if right else t / (1 - t),
         "relu": lambda t: t if right else 0 * t, "leaky_relu": lambda t: t if right else t / 10}[name]
    return s(z)


def _frac(q: mpmath.mpf) -> Fraction:
    sign, man, exp, _ = q._mpf_ if hasattr(q, "_mpf_") else mpmath.mpf(q)._mpf_
    return (-1 if sign else 1) * F(int(man)) * F(2) ** int(exp)


def test_precision_is_scoped_and_restored() -> None:
    before = flint_ctx.prec
    with precision(50) as bits:
        assert flint_ctx.prec == bits > 166
        with precision(bits=80):
            assert flint_ctx.prec == 80
        assert flint_ctx.prec == bits
    assert flint_ctx.prec == before


def test_decimal_bounds_are_outward() -> None:
    with precision(30):
        third = ball(F(1, 3))
        assert F(dec_lower(third, 6)) <= F(1, 3) <= F(dec_upper(third, 6))
        assert F(dec_upper(-third, 6)) >= F(-1, 3) >= F(dec_lower(-third, 6))
    assert dec_upper(F(12345), 3) == "1.24e4" and dec_lower(F(12345), 3) == "1.23e4"
    assert dec_lower(F(0), 5) == "0"


@pytest.mark.parametrize("name", ACTS + KINKED)
def test_activation_balls_enclose_mpmath_derivatives(name: str) -> None:
    """s, s', s'' at points and over wide balls (sampled) against mpmath's numerical derivatives at 40 digits."""
    rng = np.random.default_rng(1)
    with mpmath.workdps(40), precision(40):
        for right in ((True, False) if name in KINKED else (None,)):
            lo_z, hi_z = (F(1, 10), F(3)) if right else (F(-3), F(-1, 10)) if right is False else (F(-4), F(3))
            box = interval(lo_z, hi_z)
            wide = activation_balls(name, box, 2, gamma=ball(F(1, 10)), right=right)
            for z in [lo_z, hi_z, *[F(int(k), 1000) for k in rng.integers(int(lo_z * 1000), int(hi_z * 1000), 6)]]:
                zm = mpmath.mpf(z.numerator) / z.denominator
                at = activation_balls(name, ball(z), 2, gamma=ball(F(1, 10)), right=right)
                side = right is not False
                ref = [mpmath.diff(lambda t, side=side: _mp_act(name, t, side), zm, k) for k in range(3)]
                for k in range(3):
                    assert abs(float(at[k].mid()) - float(ref[k])) < 1e-25 + 1e-25 * abs(float(ref[k]))
                    assert float(lower(wide[k])) <= float(ref[k]) + 1e-30 <= float(upper(wide[k])) + 2e-30


def test_wide_monotone_enclosures_are_tight() -> None:
    with precision(30):
        t = activation_balls("tanh", interval(-1, 3), 0)[0]
        # a ball stores its radius to ~30 bits: the ends of a wide ball are outside [lo, hi] by ~1e-9 of its width
        assert float(lower(t)) == pytest.approx(np.tanh(-1), abs=1e-8) and float(lower(t)) <= np.tanh(-1)
        assert float(upper(t)) == pytest.approx(np.tanh(3), abs=1e-8) and float(upper(t)) >= np.tanh(3)
        sq = activation_balls("square", interval(-3, 1), 0)[0]
        assert -1e-7 < lower(sq) <= 0 and float(upper(sq)) == pytest.approx(9, abs=1e-7)


def test_program_translates_elementary_functions_node_by_node() -> None:
    x, y = sympy.symbols("x y", real=True)
    exprs = [sympy.sin(x) * sympy.cos(y) + sympy.exp(x / 3), sympy.log(2 + x ** 2) * sympy.tanh(y),
             sympy.erf(x - y) + sympy.atan(x * y) + sympy.sqrt(1 + y ** 2), x ** sympy.Rational(3, 2),
             sympy.erfc(y) + sympy.asinh(x) + sympy.cosh(y) / sympy.cosh(x) + sympy.pi]
    prog = ArbProgram(exprs, (x, y))
    at = {x: sympy.Rational(7, 10), y: sympy.Rational(-3, 4)}
    with precision(40):
        vals = prog([ball(F(7, 10)), ball(F(-3, 4))])
        wide = prog([interval(F(1, 2), F(9, 10)), interval(F(-1), F(-1, 2))])
    rng = np.random.default_rng(0)
    for e, v, w in zip(exprs, vals, wide):
        exact = sympy.N(e.xreplace(at), 50)
        assert abs(float(v.mid()) - float(exact)) < 1e-30 and v.rad() < 1e-30
        for _ in range(20):   # sampled points of the box lie in the wide enclosure
            px, py = rng.uniform(0.5, 0.9), rng.uniform(-1, -0.5)
            val = float(e.xreplace({x: px, y: py}).evalf())
            assert float(lower(w)) - 1e-12 <= val <= float(upper(w)) + 1e-12


def _net_problem(act: str, widths: str = "[2, 3, 2, 1]") -> object:
    return parse_problem(f"""
[network]
widths = {widths}
activation = "{act}"
slope = "1/10"
[data]
points = [["-1", "1/2"], ["1/3", "0"], ["1", "-1"], ["1/2", "1/2"], ["-2/3", "-1/4"]]
[target]
expr = "x1**2 - sin(x2)"
[init]
scheme = "normal"
seed = 1
""")


@pytest.mark.parametrize("act", ACTS + KINKED)
def test_ball_network_encloses_the_mp_tier(act: str) -> None:
    """Loss, gradient and Hessian of a 2-3-2-1 network (d = 20) against the mp tier at 40 digits."""
    prob = _net_problem(act)
    d = prob.n_params
    rng = np.random.default_rng(2)
    theta = [F(int(v), 64) for v in rng.integers(-80, 80, d)]
    net = BallNetwork(prob, pattern=theta)
    if net.kink is not None:
        pytest.skip(net.kink)
    mp = MpLandscape(prob, dps=40)
    with precision(40):
        ev = net([ball(v) for v in theta], 2)
    L, g, H = mp.loss(theta), mp.grad(theta), mp.hessian(theta)
    with mpmath.workdps(40):
        assert abs(mpmath.mpf(ev.loss.mid().str(45, radius=False)) - L) < 1e-30
        for i in range(d):
            assert abs(mpmath.mpf(ev.grad[i, 0].mid().str(45, radius=False)) - g[i]) < 1e-28
            for j in range(d):
                assert abs(mpmath.mpf(ev.hess[i, j].mid().str(45, radius=False)) - H[i][j]) < 1e-26


@pytest.mark.parametrize("act", ["tanh", "gelu", "softplus"])
def test_ball_network_over_a_box_contains_sampled_values(act: str) -> None:
    prob = _net_problem(act, "[2, 2, 1]")
    d = prob.n_params
    rng = np.random.default_rng(3)
    centre = rng.normal(size=d) * 0.8
    rad = 0.05
    with precision(20):
        X = [interval(F(float(c - rad)), F(float(c + rad))) for c in centre]
        for wide in (False, True):
            ev = BallNetwork(prob, wide=wide)(X, 2)
            land = NpLandscape(prob)
            for _ in range(30):
                th = centre + rng.uniform(-rad, rad, size=d)
                assert float(lower(ev.loss)) - 1e-12 <= float(land.loss(th)) <= float(upper(ev.loss)) + 1e-12
                g, H = land.grad(th), land.hessian(th)
                for i in range(d):
                    assert float(lower(ev.grad[i, 0])) - 1e-12 <= g[i] <= float(upper(ev.grad[i, 0])) + 1e-12
                    for j in range(d):
                        assert float(lower(ev.hess[i, j])) - 1e-11 <= H[i, j] <= float(upper(ev.hess[i, j])) + 1e-11


def test_ldl_inertia_matches_numpy_and_refuses_a_singular_matrix() -> None:
    rng = np.random.default_rng(4)
    with precision(30):
        for n in (1, 3, 8):
            A = rng.normal(size=(n, n))
            S = A + A.T
            lam = np.linalg.eigvalsh(S)
            B = arb_mat([[arb(float(v)) for v in row] for row in S])
            assert ldl_inertia(B) == (int((lam < 0).sum()), 0, int((lam > 0).sum()))
        sing = arb_mat([[1, 1], [1, 1]])
        assert ldl_inertia(sing) is None


# ---------------------------------------------------------------------------------------
# Critical points
# ---------------------------------------------------------------------------------------

def test_formula_with_sin_cos_erf_is_certified_against_exact_values() -> None:
    """L = (sin x - 1/2)^2 + (y - erf(1/3))^2 + (1 - cos z): a minimum at (pi/6, erf(1/3), 0), value 0."""
    land = ExprLandscape("(sin(x) - 1/2)**2 + (y - erf(1/3))**2 + 1 - cos(z)", ["x", "y", "z"])
    with mpmath.workdps(50):
        theta = [mpmath.pi / 6, mpmath.erf(mpmath.mpf(1) / 3), 0]
        cert = certify_critical_point(land, theta, dps=40)
    assert cert.certified and cert.inertia == (0, 0, 3) and cert.kind == "minimum", cert.reason
    lo, hi = (F(v) for v in cert.loss_enclosure)
    assert lo <= 0 <= hi and hi - lo < F(1, 10**35)
    # a saddle: L = cos(x) + y^2 at (0, 0): Hessian diag(-1, 2)
    sad = certify_critical_point(ExprLandscape("cos(x) + y**2", ["x", "y"]), [0, 0])
    assert sad.certified and sad.inertia == (1, 0, 1) and sad.kind == "saddle"
    assert F(sad.loss_enclosure[0]) <= 1 <= F(sad.loss_enclosure[1])


def _teacher(h: int, n: int) -> tuple[object, list[Fraction]]:
    w = [F(2 + i, 2) * (-1) ** i for i in range(h)]
    b = [F(2 * i - h, 2) for i in range(h)]
    v = [F(3 + (i % 3), 4) * (-1) ** (i // 2) for i in range(h)]
    c = F(1, 3)
    terms = " + ".join(f"({vi})*tanh(({wi})*x + ({bi}))" for wi, bi, vi in zip(w, b, v))
    pts = ", ".join(f'"{3 * (F(2 * i, n - 1) - 1)}"' for i in range(n))
    theta = [*w, *b, *v, c]
    prob = parse_problem(f"""
[network]
widths = [1, {h}, 1]
activation = "tanh"
[data]
points = [{pts}]
[target]
expr = "{terms} + ({c})"
""")
    return prob, theta


def test_thirty_one_parameters_are_certified_and_a_perturbed_point_is_not() -> None:
    """d = 31 (a 1-10-1 tanh teacher network, 60 points): the exact global minimum is certified with its full
    inertia; moved by 1e-6 it is not, and the reason proves the gradient nonzero there."""
    prob, theta = _teacher(10, 60)
    cert = certify_critical_point(prob, theta, dps=60)
    assert cert.certified and cert.inertia == (0, 0, 31), cert.reason
    lo, hi = (F(v) for v in cert.loss_enclosure)
    assert lo <= 0 <= hi
    moved = list(theta)
    moved[3] += F(1, 10**6)
    bad = certify_critical_point(prob, moved, dps=60)
    assert not bad.certified and "grad L(theta) != 0 is proved" in bad.reason


def test_inertia_is_never_wrong_on_random_quadratics() -> None:
    """Quadratic forms with known exact inertia (including indefinite ones): the certified inertia is exact."""
    rng = np.random.default_rng(5)
    names = [f"t{i}" for i in range(5)]
    for _ in range(6):
        A = rng.integers(-3, 4, size=(5, 5))
        S = sympy.Matrix(A + A.T)
        if S.det() == 0:
            continue
        expr = sum(S[i, j] * sympy.Symbol(names[i]) * sympy.Symbol(names[j]) for i in range(5) for j in range(5)) / 2
        cert = certify_critical_point(ExprLandscape(str(expr), names), [0] * 5)
        lam = np.linalg.eigvalsh(np.array(S, dtype=float))
        assert cert.certified and cert.inertia == (int((lam < 0).sum()), 0, int((lam > 0).sum()))


def test_deep_linear_depth_three_is_a_certified_two_dimensional_minimum_manifold() -> None:
    land = ExprLandscape("(w1*w2*w3 - 1)**2/2", ["w1", "w2", "w3"])
    cert = certify_critical_point(land, ["2", "1/4", "2"])
    assert cert.certified and cert.manifold_dim == 2 and cert.inertia == (0, 2, 1) and cert.kind == "minimum"
    assert all("SymPy" in f for f in cert.flat_directions)


def test_dead_relu_neuron_and_rescaling_give_a_four_dimensional_minimum_manifold() -> None:
    """relu 1-2-1 on 5 points fitting 2 relu(x + 1/4) - 1 exactly: neuron 0 active (its rescaling is flat), neuron 1
    dead on every datum (its 3 coordinates are flat): a 4-dimensional manifold of global minima."""
    prob = parse_problem("""
[network]
widths = [1, 2, 1]
activation = "relu"
[data]
points = ["-1", "-1/2", "0", "1/2", "1"]
[target]
expr = "2*Max(x + 1/4, 0) - 1"
""")
    theta = ["1", "-1", "1/4", "-5", "2", "3/2", "-1"]
    cert = certify_critical_point(prob, theta)
    assert cert.certified and cert.manifold_dim == 4 and cert.inertia == (0, 4, 3), cert.reason
    assert cert.exact_gradient_zero is True and sum("dead neuron" in f for f in cert.flat_directions) == 3
    lo, hi = (F(v) for v in cert.loss_enclosure)
    assert lo <= 0 <= hi


def test_duplicated_neurons_give_a_certified_line_of_minima() -> None:
    """A 1-3-1 tanh network whose neurons 0 and 1 duplicate one neuron of a 1-2-1 teacher (output weights 1/4 + 1/2
    = 3/4): the merged network's minimum is certified and lifts to a line of global minima (v_0 + v_1 = 3/4)."""
    w, b, v, c = [F(1), F(-3, 2)], [F(-1, 2), F(1, 2)], [F(3, 4), F(-1)], F(1, 3)
    terms = " + ".join(f"({vi})*tanh(({wi})*x + ({bi}))" for wi, bi, vi in zip(w, b, v))
    pts = ", ".join(f'"{3 * (F(2 * i, 11) - 1)}"' for i in range(12))
    prob = parse_problem(f"""
[network]
widths = [1, 3, 1]
activation = "tanh"
[data]
points = [{pts}]
[target]
expr = "{terms} + ({c})"
""")
    theta = [w[0], w[0], w[1], b[0], b[0], b[1], F(1, 4), F(1, 2), v[1], c]
    cert = certify_critical_point(prob, theta)
    assert cert.certified and cert.manifold_dim == 1 and cert.inertia is None, cert.reason
    assert "duplicated neurons [[0, 1]]" in cert.reason
    lo, hi = (F(x) for x in cert.loss_enclosure)
    assert lo <= 0 <= hi
    # the independent oracle: along the line the mp tier's gradient vanishes
    mp = MpLandscape(prob, dps=30)
    for split in (F(0), F(3, 8), F(2)):
        moved = list(theta)
        moved[6], moved[7] = split, F(3, 4) - split
        assert max(abs(g) for g in mp.grad(moved)) < 1e-25


def test_unexplained_flat_directions_are_not_certified() -> None:
    """(x + y - 1)^2 + z^2 at a minimum: the flat direction (1, -1, 0) is a translation along x + y = 1, not a
    linear field c_i theta_i + t_i that SymPy proves invariant... except that it is one: T = (1, -1, 0) (t = shift);
    the ring (x^2 + y^2 - 1)^2 has the rotation (-y, x), not of that form: not certified, with the reason."""
    line = certify_critical_point(ExprLandscape("(x + y - 1)**2 + z**2", ["x", "y", "z"]), ["1/2", "1/2", "0"])
    assert line.certified and line.manifold_dim == 1 and line.inertia == (0, 1, 2)
    ring = certify_critical_point(ExprLandscape("(x**2 + y**2 - 1)**2", ["x", "y"]), ["3/5", "4/5"])
    assert not ring.certified and "not an isolated critical point (null_dim=1)" in ring.reason


def test_a_sin_landscape_of_eight_parameters_certifies_every_saddle_index() -> None:
    """L = sum_i cos(theta_i): critical at theta_i in {0, pi}; index = number of zeros (cos'' = -cos)."""
    names = [f"a{i}" for i in range(8)]
    land = ExprLandscape(" + ".join(f"cos({n})" for n in names), names)
    with mpmath.workdps(40):
        theta = [0, mpmath.pi, 0, 0, mpmath.pi, mpmath.pi, 0, mpmath.pi]
        cert = certify_critical_point(land, theta, dps=30)
    assert cert.certified and cert.inertia == (4, 0, 4)


# ---------------------------------------------------------------------------------------
# Lower bounds, escape radius
# ---------------------------------------------------------------------------------------

def _sad_problem(act: str, h: int, n: int, target: str = "x**2") -> object:
    pts = ", ".join(f'"{F(2 * i, n - 1) - 1}"' for i in range(n))
    return parse_problem(f"""
[network]
widths = [1, {h}, 1]
activation = "{act}"
[data]
points = [{pts}]
[target]
expr = "{target}"
""")


@pytest.mark.parametrize(("act", "h", "R"), [("tanh", 1, F(1)), ("softplus", 2, F(3, 2)), ("swish", 3, F(1)),
                                              ("logistic", 8, F(3, 2))])
def test_lower_bound_is_below_sampled_losses_in_the_ball(act: str, h: int, R: Fraction) -> None:
    prob = _sad_problem(act, h, 3 * h + 3)
    res = loss_lower_bound(prob, R, boxes=60)
    assert res.bound > 0 and res.radius == R
    land = NpLandscape(prob)
    d = 3 * h + 1
    rng = np.random.default_rng(6)
    th = rng.normal(size=(20000, d))
    th *= float(R) * rng.uniform(size=(20000, 1)) ** (1 / d) / np.linalg.norm(th, axis=1, keepdims=True)
    assert float(land.loss(th).min()) >= float(res.bound)


def test_branch_and_bound_alone_is_sound() -> None:
    """A transcendental target switches the whole-ball bounds off: the bound comes from the boxes alone."""
    prob = parse_problem("""
[network]
widths = [1, 1, 1]
activation = "tanh"
[data]
points = ["-1", "-1/2", "0", "1/2", "1"]
[target]
expr = "exp(x)"
""")
    res = loss_lower_bound(prob, 1, boxes=300)
    assert res.method == "branch and bound" and res.bound > 0 and res.pruned > 0
    land = NpLandscape(prob)
    rng = np.random.default_rng(8)
    th = rng.normal(size=(40000, 4))
    th *= rng.uniform(size=(40000, 1)) ** (1 / 4) / np.linalg.norm(th, axis=1, keepdims=True)
    assert float(land.loss(th).min()) >= float(res.bound)
    # more boxes never give a weaker bound here (best-first, the same first 300 boxes)
    assert loss_lower_bound(prob, 1, boxes=600).bound >= res.bound


def test_two_input_lower_bound_is_below_sampled_losses() -> None:
    prob = parse_problem("""
[network]
widths = [2, 3, 1]
activation = "softplus"
[data]
grid = { start = "-1", stop = "1", num = 4 }
[target]
expr = "x1*x2 + x1**2"
""")
    res = loss_lower_bound(prob, 1, boxes=40)
    assert res.bound > 0
    land = NpLandscape(prob)
    rng = np.random.default_rng(7)
    d = prob.n_params
    th = rng.normal(size=(20000, d))
    th *= rng.uniform(size=(20000, 1)) ** (1 / d) / np.linalg.norm(th, axis=1, keepdims=True)
    assert float(land.loss(th).min()) >= float(res.bound)


def test_derivative_sups_bound_the_derivatives_and_are_nearly_tight() -> None:
    z = np.linspace(-30, 30, 200001)
    t = np.tanh(z)
    closed = {("tanh", 1): 1 - t ** 2, ("tanh", 2): -2 * t * (1 - t ** 2), ("tanh", 3): (1 - t ** 2) * (6 * t ** 2 - 2)}
    for (name, j), vals in closed.items():
        sup = derivative_sup(name, j)
        assert sup is not None and np.abs(vals).max() <= float(sup) <= 1.02 * np.abs(vals).max()
    from scipy.stats import norm

    phi = norm.pdf(z)
    for j, vals in ((2, phi * (2 - z ** 2)), (3, phi * (z ** 3 - 4 * z)), (4, phi * (-z ** 4 + 7 * z ** 2 - 4))):
        sup = derivative_sup("gelu", j)      # gelu = z Phi(z): gelu^(j) = phi(z) P_j(z)
        assert sup is not None and np.abs(vals).max() <= float(sup) <= 1.05 * np.abs(vals).max()
    assert derivative_sup("relu", 2) is None


def test_curvature_bound_needs_curvature_or_a_small_ball() -> None:
    # an affine target: only the mean-removal projection (m = 0) can bound, and only while R^2 is small
    affine = _sad_problem("tanh", 2, 9, "3*x - 1")
    assert curvature_bound(affine, F(1, 2)) > 0 and curvature_bound(affine, F(4)) is None
    curved = _sad_problem("tanh", 2, 9, "x**2")
    assert curvature_bound(curved, F(1)) > 0 and curvature_bound(curved, F(4)) is None


def test_formula_lower_bound_and_escape_radius_on_the_xy_example() -> None:
    """L = (x y - 1)^2 + y^2 has no critical point but the saddle at 0 (L = 1): its minimum on |theta| <= R lies on
    the circle, computed here on 2 million points (an independent oracle); the bound must lie just below."""
    land = ExprLandscape("(x*y - 1)**2 + y**2", ["x", "y"])
    a = np.linspace(0, 2 * np.pi, 2_000_001)
    for R in (F(1, 2), F(2)):
        x, y = float(R) * np.cos(a), float(R) * np.sin(a)
        true_min = min(float(((x * y - 1) ** 2 + y ** 2).min()), 1.0)
        res = loss_lower_bound(land, R, boxes=2000)
        assert res.method == "branch and bound" and true_min - 1e-3 < float(res.bound) <= true_min
    out = escape_radius(land, ["3", "1/4"], boxes=500, bisections=6)
    assert out.loss_upper >= F(1, 8) and out.radius is not None and F(2) < out.radius < F(3)
    x, y = float(out.radius) * np.cos(a), float(out.radius) * np.sin(a)
    assert float(((x * y - 1) ** 2 + y ** 2).min()) > float(out.loss_upper)


def test_lower_bound_input_errors() -> None:
    prob = _sad_problem("tanh", 1, 5)
    with pytest.raises(InputError, match="radius"):
        loss_lower_bound(prob, 0)
    with pytest.raises(InputError, match="boxes"):
        loss_lower_bound(prob, 1, boxes=0)
    relu = _sad_problem("relu", 1, 5)
    with pytest.raises(InputError, match="smooth activation"):
        loss_lower_bound(relu, 1)
    with pytest.raises(InputError, match="smooth formula"):
        loss_lower_bound(ExprLandscape("Abs(x) + y**2", ["x", "y"]), 1)


def test_escape_radius_is_honest_and_sound() -> None:
    from scipy.optimize import least_squares

    prob = _sad_problem("tanh", 2, 9)
    land = NpLandscape(prob)
    xs = prob.data.array
    ys = xs[:, 0] ** 2
    fit = least_squares(lambda th: np.ravel(land.realization(th[None, :], xs)) - ys,
                        np.array([2.0, -2.0, 0.5, 0.5, 2.0, 2.0, -1.0]), max_nfev=300)
    theta = [F(float(v)) for v in fit.x]          # a late state of small loss, read exactly
    out = escape_radius(prob, theta, boxes=40, bisections=5)
    u = loss_upper_bound(prob, theta)
    assert out.loss_upper == u and float(u) >= float(NpLandscape(prob).loss(np.array([float(v) for v in theta])))
    assert out.radius is not None and out.radius > 0
    assert "never enters the ball" in out.statement and "from this exact theta" in out.statement
    best = max(b.bound for b in out.bounds if b.radius == out.radius)
    assert best > u
    listed = escape_radius(prob, theta, radii=["1/4", "1/2", "8"], boxes=40)
    assert listed.radius in (F(1, 4), F(1, 2))


# ---------------------------------------------------------------------------------------
# GD cycles and stability
# ---------------------------------------------------------------------------------------

def test_paper_two_cycle_is_certified_with_the_closed_form_multipliers() -> None:
    from theorems._stability_examples import C, paper_problem, paper_quadrant, two_cycle

    eta = F(13, 40)
    k = 2 * C * eta
    p = two_cycle(float(k))[0]
    for source in (paper_quadrant(), paper_problem()):
        cert = certify_cycle(source, [p, p], step_size=eta, period=2, dps=30)
        assert cert.certified and cert.stable is True, cert.reason
        # closed forms at 40 digits: p, q = (sqrt(1 + 3/k) +- sqrt(1 - 1/k)) / 2
        with mpmath.workdps(40):
            kk = mpmath.mpf(k.numerator) / k.denominator
            pp = (mpmath.sqrt(1 + 3 / kk) + mpmath.sqrt(1 - 1 / kk)) / 2
            qq = (mpmath.sqrt(1 + 3 / kk) - mpmath.sqrt(1 - 1 / kk)) / 2
            pts = sorted(mpmath.mpf(pt[0]) for pt in cert.points)
            assert abs(pts[0] - qq) < 1e-25 and abs(pts[1] - pp) < 1e-25
            exact = sorted([9 - 2 * (1 + kk) ** 2, 3 - 2 * kk])
            got = sorted(cert.multipliers, key=lambda m: F(m[0]))
            for (re_lo, re_hi, im_lo, im_hi), value in zip(got, exact):
                assert F(re_lo) <= _frac(value) <= F(re_hi) and F(im_lo) <= 0 <= F(im_hi)


def test_a_continuum_of_fixed_points_is_not_certified_as_a_cycle() -> None:
    from theorems._stability_examples import paper_quadrant

    cert = certify_cycle(paper_quadrant(), ["2", "1/2"], step_size="1/10", period=1)
    assert not cert.certified and cert.multipliers is None


def test_certified_mu_matches_the_closed_form() -> None:
    """On 1.765 (t1 t2 - 1)^2 the normal eigenvalue at a minimum is 2 C |theta|^2: mu = log |1 - 2 C eta |theta|^2|."""
    from theorems._stability_examples import C, paper_quadrant

    for theta, eta in ((("1", "1"), F(1, 4)), (("2", "1/2"), F(3, 10)), (("4/5", "5/4"), F(1, 10))):
        cert = certify_gd_stability(paper_quadrant(), theta, step_size=eta)
        norm2 = sum(F(t) ** 2 for t in theta)
        with mpmath.workdps(40):
            mu = mpmath.log(abs(1 - 2 * (mpmath.mpf(C.numerator) / C.denominator) * eta.numerator / eta.denominator
                                * mpmath.mpf(norm2.numerator) / norm2.denominator))
        assert cert.certified and cert.null_dim == 1
        assert F(cert.mu[0]) <= _frac(mu) <= F(cert.mu[1])
        assert cert.stable is (mu < 0)
    off = certify_gd_stability(paper_quadrant(), ["1", "2"], step_size="1/4")
    assert not off.certified and "not a critical point" in off.reason
    # (0, 0, 0, 1/2) is an exact critical point of the tanh net (tanh(0) = 0, c = mean y): certified; at w = 1 the
    # Hessian involves tanh(x_i): not exact, no certificate
    flat = certify_gd_stability(_sad_problem("tanh", 1, 5), ["0", "0", "0", "1/2"], step_size="1/4")
    assert flat.certified and flat.null_dim == 3
    tanh = certify_gd_stability(_sad_problem("tanh", 1, 5), ["1", "0", "1", "0"], step_size="1/4")
    assert not tanh.certified and "not rational" in tanh.reason


# ---------------------------------------------------------------------------------------
# Certificates in verdicts and reports
# ---------------------------------------------------------------------------------------

def test_results_count_certificates_and_reports_show_them(tmp_path: object) -> None:
    """A claim whose judgements carry certificates on some instances: the result counts them ("N with
    certificates"), the record keeps them, and the claim page shows each with its re-check call."""
    from pathlib import Path

    from hypothesis import strategies as st

    from verify import Claim, Instance, Judgement, check
    from verify.report.render import render_report

    class SaddleOrNot(Claim):
        title = "x y - c has its critical point at the origin"
        statement = "grad L = 0 at (0, 0)"
        source = "a test"

        def instances(self, profile: object) -> object:
            return st.sampled_from([0, 1, 2, 3]).map(lambda c: Instance(ExprLandscape(f"x*y - {c}", ["x", "y"],
                                                                                       name=f"c{c}")))

        def judge(self, instance: Instance, profile: object) -> Judgement:
            cert = certify_critical_point(instance.source, [0, 0])
            proof = cert.record("instance.source") if instance.name != "c3" else None
            return Judgement(1.0, cert.reason[:60], {"kind": cert.kind}, proof)

    out = Path(str(tmp_path))
    record = out / "runs" / "r.jsonl"
    result = check(SaddleOrNot(), profile="quick", record=record)
    assert result.verdict.value == "consistent"
    assert 0 < result.certified < result.instances
    assert f"{result.certified} with certificates" in result.reason
    assert result.to_json()["certified"] == result.certified
    with_cert = [e for e in result.evidence if "certificate" in e]
    assert len(with_cert) == result.certified
    c = with_cert[0]["certificate"]
    assert c["kind"] == "critical point" and c["inertia"] == [1, 0, 1] and "certify_critical_point" in c["recheck"]
    render_report(record, out)
    page = (out / "claims").glob("*.md")
    text = "".join(p.read_text() for p in page)
    assert "## Certificates" in text and "Re-check: `verify.certify_critical_point(instance.source" in text
    assert "with certificates" in (out / "index.md").read_text()


def test_cli_bound_prints_certified_bounds_and_escape_radius(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from verify.cli import main

    assert main(["bound", "examples/tanh-1-2-1.toml", "--radius", "1/2", "--boxes", "20", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["bounds"]
    assert rows[0]["radius"] == "1/2" and F(rows[0]["lower"]) > 0
    assert main(["bound", "examples/tanh-1-2-1.toml", "--escape", "--radius", "1/100", "4", "--boxes", "20"]) == 0
    assert "never enters the ball |phi| <= 1e-2" in capsys.readouterr().out
    assert main(["bound", "examples/relu-zigzag.toml"]) == 2
    assert "point data" in capsys.readouterr().err


def test_a_cycle_certificate_is_about_the_point_given() -> None:
    """From a point of the quadrant example's minimum curve, Newton on G^2 - id can wander to the
    saddle at the origin; a certificate there would be about another cycle, so none is issued."""
    from theorems._stability_examples import paper_quadrant
    from verify import certify_cycle

    cert = certify_cycle(paper_quadrant(), ["3/2", "2/3"], step_size="38/189", period=2, dps=30)
    assert not cert.certified and "moved" in cert.reason, cert.reason
    # (test_paper_two_cycle_is_certified_with_the_closed_form_multipliers: a point next to a cycle still is)


@pytest.mark.parametrize("n_hidden, k", [(2, 2), (4, 4)])
def test_relu_zigzag_saddle_is_a_certified_manifold_with_the_closed_form_value(n_hidden: int, k: int) -> None:
    """The zig-zag of even k (Cheridito-Jentzen-Rossmannek): a saddle whose rescaling (and dead-neuron)
    directions are flat. Certified on the slice transversal to them, as a manifold of that dimension; the
    loss enclosure holds alpha^2 (b - a)^3 / (12 (k + 1)^4), computed here, not by the certifier."""
    from verify import relu_problem, relu_zigzag_point

    prob = relu_problem(n_hidden)
    cert = certify_critical_point(prob, relu_zigzag_point(prob, k))
    assert cert.certified and cert.kind == "saddle", cert.reason
    assert cert.manifold_dim == k + 3 * (n_hidden - k)       # k rescalings, 3 coordinates per dead neuron
    lo, hi = (F(v) for v in cert.loss_enclosure)
    assert lo <= F(2) ** 2 / (12 * (k + 1) ** 4) <= hi and hi - lo < F(1, 10**20)
