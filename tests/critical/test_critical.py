"""Critical points: found, classified and certified against closed forms, SymPy and the exact tier."""

from __future__ import annotations

import json
from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy

from verify import (
    Certificate,
    ExprLandscape,
    InputError,
    certify_critical_point,
    find_critical_points,
    landscape,
    load_problem,
    parse_problem,
)
from verify.cli import main
from verify.critical.certify import exact_inertia, smooth_piece
from verify.critical.find import _canonical
from verify.problem.numbers import to_fraction

from ..conftest import EXAMPLES

SADDLE_XY = ExprLandscape("(x*y - 1)**2 + y**2", ["x", "y"])
DEEP_LINEAR = ExprLandscape("(w1*w2 - 1)**2/2", ["w1", "w2"])
ZIGZAG = load_problem(EXAMPLES / "relu-zigzag.toml")


def _quick(source, **kw):
    return find_critical_points(source, starts=kw.pop("starts", 24), flow_t1=kw.pop("flow_t1", None), **kw)


# ---------------------------------------------------------------------------------------
# Oracles with closed forms
# ---------------------------------------------------------------------------------------

def test_quadratic_has_one_certified_minimum_at_the_solution() -> None:
    # L = (x - 1)^2 + 3 (y + 2)^2 - x y: grad = 0 at A^-1 b with A = [[2, -1], [-1, 6]], b = (2, -12)
    land = ExprLandscape("(x - 1)**2 + 3*(y + 2)**2 - x*y", ["x", "y"])
    res = _quick(land, certify=True)
    assert len(res.points) == 1
    p = res.points[0]
    sol = np.linalg.solve([[2.0, -1.0], [-1.0, 6.0]], [2.0, -12.0])
    assert np.allclose([float(v) for v in p.theta], sol, atol=1e-14)
    assert p.kind == "minimum" and p.index == 0 and p.null_dim == 0
    eig = sorted(np.linalg.eigvalsh([[2.0, -1.0], [-1.0, 6.0]]))
    assert [float(v) for v in p.eigenvalues] == pytest.approx(eig, rel=1e-12)
    assert p.certified and p.certificate.inertia == (0, 0, 2) and p.certificate.kind == "minimum"
    lo, hi = (Fraction(v) for v in p.certificate.loss_enclosure)
    exact_loss = land.exact().loss([0, -2])   # A^-1 b = (0, -2) exactly, L = 1
    assert exact_loss == 1 and all(g == 0 for g in land.exact().grad([0, -2]))
    assert lo <= 1 <= hi and hi - lo < Fraction(1, 10**25)


def test_saddle_xy_one_saddle_value_one_eigenvalues_one_plus_minus_sqrt5() -> None:
    res = _quick(SADDLE_XY, certify=True)
    assert len(res.points) == 1
    p = res.points[0]
    assert max(abs(float(v)) for v in p.theta) < 1e-25
    assert p.kind == "saddle" and p.index == 1 and p.null_dim == 0
    assert abs(p.loss - 1) < mpmath.mpf(10) ** -28
    ctx = mpmath.MPContext()
    ctx.dps = 40
    root5 = ctx.sqrt(5)
    assert abs(p.eigenvalues[0] - (1 - root5)) < 1e-25 and abs(p.eigenvalues[1] - (1 + root5)) < 1e-25
    assert p.certified and p.certificate.inertia == (1, 0, 1) and p.certificate.kind == "saddle"
    lo, hi = (mpmath.mpf(v) for v in p.certificate.loss_enclosure)
    assert lo <= 1 <= hi
    assert p.exact == "{x: 0, y: 0}" and res.exact_solutions == ("{x: 0, y: 0}",)
    assert [v.kinds for v in res.values] == [("saddle",)] and res.gap is None


def test_deep_linear_saddle_at_zero_and_a_curve_of_minima() -> None:
    res = _quick(DEEP_LINEAR, certify=True)
    kinds = {p.kind: p for p in res.points}
    assert set(kinds) == {"minimum", "saddle"}
    saddle, curve = kinds["saddle"], kinds["minimum"]
    assert max(abs(float(v)) for v in saddle.theta) < 1e-25 and abs(saddle.loss - mpmath.mpf(1) / 2) < 1e-28
    assert saddle.certified and saddle.certificate.inertia == (1, 0, 1)
    # the minima lie on w1 w2 = 1: not isolated, sampled many times, certified as a curve of minima
    # (the slice transversal to the rescaling (w1, w2) -> (t w1, w2 / t), proved by SymPy to leave L invariant)
    w1, w2 = curve.theta
    assert abs(w1 * w2 - 1) < 1e-25 and curve.null_dim == 1 and curve.samples > 1
    cert = curve.certificate
    assert curve.certified and cert.manifold_dim == 1 and cert.inertia == (0, 1, 1) and cert.kind == "minimum"
    assert "1-dimensional manifold of critical points" in cert.reason
    lo, hi = (mpmath.mpf(v) for v in cert.loss_enclosure)
    assert lo <= 0 <= hi and hi - lo < 1e-25
    assert [float(v.value) for v in res.values] == pytest.approx([0.0, 0.5], abs=1e-25)
    assert float(res.infimum) == pytest.approx(0, abs=1e-25) and float(res.gap) == pytest.approx(0.5)
    assert "{w1: 1/w2} (dimension 1)" in res.exact_solutions and "{w1: 0, w2: 0}" in res.exact_solutions


def test_double_well_matches_sympy_exactly() -> None:
    land = ExprLandscape("x**4/4 - x**2/2 + y**2 + x*y/8", ["x", "y"])
    res = _quick(land, starts=48)
    x, y = sympy.symbols("x y", real=True)
    sols = sympy.solve([sympy.diff(land.expr.subs(dict(zip(land.symbols, (x, y)))), v) for v in (x, y)], [x, y],
                       dict=True)
    real = sorted((float(s[x]), float(s[y])) for s in sols if s[x].is_real)
    found = sorted((float(p.theta[0]), float(p.theta[1])) for p in res.points)
    assert np.allclose(found, real, atol=1e-20)
    assert sorted(p.kind for p in res.points) == ["minimum", "minimum", "saddle"]
    assert all(p.exact is not None for p in res.points)


def test_seeded_runs_are_reproducible() -> None:
    a = _quick(DEEP_LINEAR, seed=3).to_json()
    b = _quick(DEEP_LINEAR, seed=3).to_json()
    assert a == b


# ---------------------------------------------------------------------------------------
# Certification: wrong points fail, degenerate points are never certified
# ---------------------------------------------------------------------------------------

def test_wrong_point_fails_certification() -> None:
    cert = certify_critical_point(SADDLE_XY, ["1/10", "1/5"])
    assert isinstance(cert, Certificate) and not cert.certified
    assert "Krawczyk image not inside the box" in cert.reason and "not a critical point" in cert.reason
    assert cert.exact_gradient_zero is False and cert.inertia is None and cert.box_radius is None


def test_point_near_but_off_the_saddle_fails_with_the_default_radius_and_passes_with_a_larger_one() -> None:
    off = ["1e-8", "0"]
    assert not certify_critical_point(SADDLE_XY, off).certified
    cert = certify_critical_point(SADDLE_XY, off, max_radius="1e-6")
    assert cert.certified and float(cert.box_radius) <= 1e-6


def test_certificate_encloses_a_transcendental_critical_point() -> None:
    # L = (tanh(w) - 1/2)^2 + (w - v)^2: the minimum w = v = atanh(1/2), L = 0
    land = ExprLandscape("(tanh(w) - 1/2)**2 + (w - v)**2", ["w", "v"])
    a = mpmath.atanh(mpmath.mpf(1) / 2)
    ctx = mpmath.MPContext()
    ctx.dps = 40
    w = ctx.atanh(ctx.mpf(1) / 2)
    cert = certify_critical_point(land, [w, w], dps=30)
    assert cert.certified and cert.inertia == (0, 0, 2)
    assert float(cert.box_radius) < 1e-30
    assert abs(mpmath.mpf(cert.theta[0]) - a) < 1e-14
    lo, hi = (mpmath.mpf(v) for v in cert.loss_enclosure)
    assert lo <= 0 <= hi


def test_exact_inertia_against_eigenvalues() -> None:
    rng = np.random.default_rng(1)
    for _ in range(5):
        A = rng.integers(-3, 4, size=(4, 4))
        S = sympy.Matrix(A + A.T)
        S[0, :] = S[1, :]          # a singular one: rows 0 and 1 equal ...
        S[:, 0] = S[:, 1]          # ... and symmetric
        lam = np.linalg.eigvalsh(np.array(S, dtype=float))
        expected = (int((lam < -1e-9).sum()), int((abs(lam) <= 1e-9).sum()), int((lam > 1e-9).sum()))
        assert exact_inertia(S) == expected
    with pytest.raises(InputError, match="symmetric"):
        exact_inertia(sympy.Matrix([[1, 2], [3, 4]]))


# ---------------------------------------------------------------------------------------
# The shallow ReLU zig-zag point (theorems.md, section 2)
# ---------------------------------------------------------------------------------------

def test_zigzag_point_is_certified_as_a_2_dimensional_saddle_manifold() -> None:
    theta = ZIGZAG.initial_exact()
    exact = landscape(ZIGZAG, tier="exact")
    alpha = 2
    assert exact.loss(theta) == sympy.Rational(alpha**2, 12 * 3**4)   # alpha^2 / (12 (k+1)^4), k = 2
    assert all(g == 0 for g in exact.grad(theta))
    # independent oracle: the mp tier's Hessian (Gauss-Legendre + breakpoint terms) has 2 negative eigenvalues
    mp_land = landscape(ZIGZAG, tier="mp", dps=30)
    H = mp_land.ctx.matrix(mp_land.hessian(theta))
    lam = sorted(mp_land.ctx.eigsy(H, eigvals_only=True))
    assert lam[0] < -1e-3 and lam[1] < -1e-3 and abs(lam[2]) < 1e-25 and abs(lam[3]) < 1e-25 and lam[4] > 1e-3
    cert = certify_critical_point(ZIGZAG, theta)
    # certified on the slice transversal to the two neurons' rescaling orbits: a 2-dimensional saddle manifold
    assert cert.certified and cert.manifold_dim == 2 and "2-dimensional manifold of critical points" in cert.reason
    assert cert.exact_gradient_zero is True and cert.inertia == (2, 2, 3) and cert.inertia_method == "slice-ldl"
    assert cert.kind == "saddle" and len(cert.flat_directions) == 2
    lo, hi = (Fraction(v) for v in cert.loss_enclosure)
    assert lo <= Fraction(4, 972) <= hi and hi - lo < Fraction(1, 10**25)
    # without the slice the Hessian's null space stops Krawczyk's test: not certified, the exact inertia reported
    plain = certify_critical_point(ZIGZAG, theta, manifolds=False)
    assert not plain.certified and "not an isolated critical point (null_dim=2)" in plain.reason
    assert plain.inertia == (2, 2, 3) and plain.inertia_method == "exact"


def test_zigzag_is_found_by_the_search_with_its_value() -> None:
    res = find_critical_points(ZIGZAG, starts=12, flow_t1=None, seed=0)
    values = [Fraction(to_fraction(v.value, "value")) for v in res.values]
    zig = [p for p in res.points if abs(to_fraction(p.loss, "loss") - Fraction(4, 972)) < Fraction(1, 10**25)]
    assert len(zig) == 1, values
    assert zig[0].kind == "saddle" and zig[0].index == 2 and zig[0].null_dim == 2
    # every critical value found is one of the classification's: 0, alpha^2/972 (k = 2), alpha^2/12 (k = 0)
    for v in values:
        assert min(abs(v - c) for c in (Fraction(0), Fraction(4, 972), Fraction(4, 12))) < Fraction(1, 10**20)


def test_relu_nonsmooth_points_are_reported_and_not_certified() -> None:
    # neuron 0 with w = b = 0: L need not be twice differentiable
    theta = ["0", "-1", "0", "2/3", "4/3", "-4/3", "2"]
    piece = smooth_piece(ZIGZAG, theta)
    assert isinstance(piece, str) and "w = b = 0" in piece
    cert = certify_critical_point(ZIGZAG, theta)
    assert not cert.certified and "w = b = 0" in cert.reason
    at_end = ["1", "-1", "0", "2/3", "4/3", "-4/3", "2"]    # breakpoint of neuron 0 at x = 0
    assert "end of the interval" in certify_critical_point(ZIGZAG, at_end).reason


def test_relu_point_data_piece_has_kink_guards_and_rescaling_blocks_certification() -> None:
    # one relu neuron on two points, both active: N(x) = v relu(w x + b) + c fits y = x exactly; the
    # rescaling (w, b, v) -> (c w, c b, v / c) makes the zero set non-isolated: exactly critical, not certified
    prob = parse_problem("""
[network]
widths = [1, 1, 1]
activation = "relu"
[data]
points = ["1", "2"]
[target]
expr = "x"
[init]
theta = ["1", "0", "1", "0"]
""")
    piece = smooth_piece(prob, ["1", "0", "1", "0"])
    assert not isinstance(piece, str) and len(piece.guards) == 2   # w x + b > 0 at both points
    cert = certify_critical_point(prob, ["1", "0", "1", "0"])
    assert not cert.certified and cert.exact_gradient_zero is True   # rescaling: null_dim >= 1


# ---------------------------------------------------------------------------------------
# Symmetries
# ---------------------------------------------------------------------------------------

def test_canonical_form_identifies_permutations_and_sign_flips() -> None:
    prob = load_problem(EXAMPLES / "tanh-1-2-1.toml")
    net = prob.network
    th = np.array([0.5, -1.0, 0.1, 0.25, 2.0, 1.0, 0.3])
    swapped = th[[1, 0, 3, 2, 5, 4, 6]]
    flipped = th.copy()
    flipped[[0, 2, 4]] *= -1
    base = _canonical(net, th)
    assert np.allclose(_canonical(net, swapped), base) and np.allclose(_canonical(net, flipped), base)
    npl = landscape(prob, tier="np")
    assert float(npl.loss(base)) == pytest.approx(float(npl.loss(th)), rel=1e-14)
    # a 1-2-1 tanh search: symmetric copies are merged into one point with several images
    res = find_critical_points(prob, starts=16, flow_t1=20.0)
    assert sum(p.hits for p in res.points) <= res.converged
    assert any(p.images > 1 for p in res.points)


# ---------------------------------------------------------------------------------------
# Input validation and the command line
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("kw", "field"), [
    ({"starts": 0}, "starts"), ({"seed": -1}, "seed"), ({"dps": 3}, "dps"), ({"scale": -1.0}, "scale"),
    ({"flow_t1": 0.0}, "flow_t1"), ({"exact": "yes"}, "exact"),
])
def test_bad_arguments_raise_input_error(kw: dict, field: str) -> None:
    with pytest.raises(InputError, match=f"^{field} = "):
        find_critical_points(SADDLE_XY, **kw)


def test_bad_source_and_theta() -> None:
    with pytest.raises(InputError, match=r"^source = "):
        certify_critical_point("x**2", [0])
    with pytest.raises(InputError, match=r"^theta = "):
        certify_critical_point(SADDLE_XY, [0, 0, 0])
    with pytest.raises(InputError, match=r"^max_radius = "):
        certify_critical_point(SADDLE_XY, [0, 0], max_radius="-1")


def test_cli_critical_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["critical", str(EXAMPLES / "saddle-xy.toml"), "--starts", "8", "--flow-t1", "0", "--certify",
                 "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert set(obj) >= {"points", "values"}
    (p,) = obj["points"]
    assert set(p) >= {"theta", "loss", "kind", "index", "null_dim", "certified", "box_radius"}
    assert p["kind"] == "saddle" and p["index"] == 1 and p["null_dim"] == 0 and p["certified"] is True
    assert mpmath.mpf(p["loss"]) == 1 and float(p["box_radius"]) < 1e-30
    assert [v["value"][:5] for v in obj["values"]] == ["1.000"]


def test_cli_critical_table_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["critical", str(EXAMPLES / "saddle-xy.toml"), "--starts", "4", "--flow-t1", "0"]) == 0
    out = capsys.readouterr().out
    assert "saddle" in out and "critical values" in out
    assert main(["critical", str(EXAMPLES / "saddle-xy.toml"), "--starts", "0"]) == 2
    assert capsys.readouterr().err.strip().startswith("verify: error: starts = 0")
