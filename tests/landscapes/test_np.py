"""The float64 tier against oracles it did not compute: closed forms, finite differences,
quadrature by scipy, its own general path, and ensemble/chunking invariance."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import scipy.integrate
from hypothesis import given
from hypothesis import strategies as st

from verify import parse_problem
from verify.landscapes.np import NpLandscape
from verify.strategies import networks, problems


def problem(act: str, widths: str = "[1, 3, 1]", data: str = 'points = ["-1", "-1/2", "0", "1/3", "1"]',
            target: str = "x**2", extra: str = "", ensemble: int = 4):
    return parse_problem(f"""
[network]
widths = {widths}
activation = "{act}"
{extra}
[data]
{data}
[target]
expr = "{target}"
[init]
scheme = "normal"
seed = 1
ensemble = {ensemble}
""")


def fd_grad(land: NpLandscape, th: np.ndarray, h: float = 1e-6) -> np.ndarray:
    out = np.zeros_like(th)
    for k in range(th.shape[-1]):
        e = np.zeros(th.shape[-1])
        e[k] = h
        out[..., k] = (land.loss(th + e) - land.loss(th - e)) / (2 * h)
    return out


def fd_hess(land: NpLandscape, th: np.ndarray, h: float = 1e-6) -> np.ndarray:
    d = th.shape[-1]
    out = np.zeros(th.shape[:-1] + (d, d))
    for k in range(d):
        e = np.zeros(d)
        e[k] = h
        out[..., :, k] = (land.grad(th + e) - land.grad(th - e)) / (2 * h)
    return out


def test_closed_form_linear_unit() -> None:
    # N(x) = v (w x + b) + c on points 0 and 1, target x: L = mean of squared residuals
    p = problem("identity", "[1, 1, 1]", 'points = ["0", "1"]', "x")
    land = NpLandscape(p)
    w, b, v, c = 0.5, -1.0, 2.0, 0.25
    r0, r1 = v * b + c, v * (w + b) + c - 1
    loss = (r0**2 + r1**2) / 2
    grad = np.array([r1 * v, (r0 + r1) * v, r0 * b + r1 * (w + b), r0 + r1])
    assert land.loss([w, b, v, c]) == pytest.approx(loss, rel=1e-15)
    np.testing.assert_allclose(land.grad([w, b, v, c]), grad, rtol=1e-14)
    # Hessian by hand: residual derivatives dr0 = (0, v, b, 1), dr1 = (v, v, w + b, 1)
    dr0, dr1 = np.array([0, v, b, 1.0]), np.array([v, v, w + b, 1.0])
    second = np.zeros((4, 4))
    second[0, 2] = second[2, 0] = r1  # d2 r1 / dw dv = 1
    second[1, 2] = second[2, 1] = r0 + r1  # d2 r / db dv = 1 for both points
    hess = np.outer(dr0, dr0) + np.outer(dr1, dr1) + second
    np.testing.assert_allclose(land.hessian([w, b, v, c]), hess, rtol=1e-14, atol=1e-15)


ACTS = ["tanh", "logistic", "softplus", "gelu", "swish", "mish", "elu", "softsign", "relu", "leaky_relu",
        "identity", "square"]


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("widths", ["[1, 3, 1]", "[2, 2, 3, 2]"])
def test_gradient_and_hessian_against_finite_differences(act: str, widths: str) -> None:
    data = 'points = ["-1", "-1/2", "0", "1/3", "1"]' if widths.startswith("[1") else \
        'grid = { start = "-1", stop = "1", num = 3 }'
    target = "x**2" if widths.startswith("[1") else '["x1*x2", "x1 - x2"]'
    text_target = target if target.startswith("[") else f'"{target}"'
    p = parse_problem(f"""
[network]
widths = {widths}
activation = "{act}"
slope = "1/10"
[data]
{data}
[target]
expr = {text_target}
[init]
scheme = "normal"
seed = 3
ensemble = 3
""")
    land = NpLandscape(p)
    th = p.init.thetas(p.network)
    # keep kink activations away from their kinks so that differences are meaningful
    g = land.grad(th)
    np.testing.assert_allclose(g, fd_grad(land, th), rtol=1e-6, atol=1e-7)
    H = land.hessian(th)
    np.testing.assert_allclose(H, fd_hess(land, th), rtol=1e-5, atol=1e-6)
    assert np.max(np.abs(H - H.transpose(0, 2, 1))) <= 1e-12 * max(1.0, np.max(np.abs(H)))
    V = np.random.default_rng(0).normal(size=th.shape)
    np.testing.assert_allclose(land.hvp(th, V), np.einsum("eij,ej->ei", H, V), rtol=1e-12, atol=1e-12)


@given(problems(network=networks(max_depth=1, max_width=4)), st.integers(0, 2**32 - 1))
def test_fused_shallow_path_matches_the_general_path(p, seed) -> None:
    rng = np.random.default_rng(seed)
    th = rng.normal(size=(5, p.n_params))
    # the numpy paths (the compiled kernels, where numba is installed, are held to them in test_compiled.py)
    fused, general = NpLandscape(p, compiled=False), NpLandscape(p, compiled=False)
    general.fused = False
    lf, gf = fused.loss_and_grad(th)
    lg, gg = general.loss_and_grad(th)
    np.testing.assert_allclose(lf, lg, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(gf, gg, rtol=1e-11, atol=1e-12)


def test_ensemble_and_chunking_do_not_change_the_numbers() -> None:
    p = problem("tanh", "[1, 5, 2, 1]", 'grid = { start = "-1", stop = "1", num = 33 }', ensemble=7)
    th = p.init.thetas(p.network)
    big, small = NpLandscape(p), NpLandscape(p, chunk_elements=1024)
    l1, g1 = big.loss_and_grad(th)
    l2, g2 = small.loss_and_grad(th)
    np.testing.assert_allclose(l1, l2, rtol=1e-13)
    np.testing.assert_allclose(g1, g2, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(big.hessian(th), small.hessian(th), rtol=1e-12, atol=1e-13)
    for k in range(7):
        assert big.loss(th[k]) == pytest.approx(l1[k], rel=1e-14)


@pytest.mark.parametrize("act", ["relu", "leaky_relu"])
def test_relu_integral_loss_against_scipy_quad(act: str) -> None:
    p = problem(act, "[1, 3, 1]", 'interval = ["-1", "2"]', "x**3 - x", extra='slope = "1/4"')
    land = NpLandscape(p)
    th = np.array([1.0, -2.0, 0.5, 0.5, 1.0, -0.25, 1.5, -1.0, 2.0, 0.3])  # breakpoints -1/2, 1/2, 1/2
    gamma = 0.25 if act == "leaky_relu" else 0.0

    def s(z: float) -> float:
        return z if z > 0 else gamma * z

    def integrand(x: float) -> float:
        n = sum(th[6 + j] * s(th[j] * x + th[3 + j]) for j in range(3)) + th[9]
        return (n - (x**3 - x)) ** 2

    ref, _ = scipy.integrate.quad(integrand, -1, 2, points=[-0.5, 0.5], epsabs=1e-13, epsrel=1e-12)
    assert land.loss(th) == pytest.approx(ref, rel=1e-11)
    np.testing.assert_allclose(land.grad(th), fd_grad(land, th), rtol=1e-6, atol=1e-7)


def test_relu_integral_hessian_includes_moving_breakpoints() -> None:
    p = problem("relu", "[1, 2, 1]", 'interval = ["0", "1"]', "2*x + 1")
    land = NpLandscape(p)
    th = np.array([2.0, -1.0, -1.0, 0.6, 1.5, -0.5, 0.2])  # breakpoints 1/2 and 0.6 inside (0, 1)
    H = land.hessian(th)
    np.testing.assert_allclose(H, fd_hess(land, th), rtol=1e-6, atol=1e-7)
    # the naive Hessian (integral of the second derivative only) is measurably different
    naive = H - land._breakpoint_terms(th[None], np.eye(7)[None])[0]
    assert np.max(np.abs(naive - fd_hess(land, th))) > 1e-2


def test_smooth_integral_loss_against_scipy_quad() -> None:
    p = problem("tanh", "[1, 2, 1]", 'interval = ["-1", "1"]', "exp(x)")
    land = NpLandscape(p)
    th = np.array([1.5, -0.7, 0.2, 0.1, 1.0, -2.0, 0.3])

    def integrand(x: float) -> float:
        n = th[4] * np.tanh(th[0] * x + th[2]) + th[5] * np.tanh(th[1] * x + th[3]) + th[6]
        return (n - np.exp(x)) ** 2

    ref, _ = scipy.integrate.quad(integrand, -1, 1, epsabs=1e-13, epsrel=1e-12)
    assert land.loss(th) == pytest.approx(ref, rel=1e-11)


def test_overflow_is_a_value_not_an_exception() -> None:
    p = problem("softplus", "[1, 2, 1]", 'points = ["-1", "1"]')
    land = NpLandscape(p)
    th = np.array([[1e300, -1e300, 1e300, 0.0, 1e300, 1e300, 0.0], [0.1] * 7])
    loss, grad = land.loss_and_grad(th)  # warnings are errors in this test suite
    assert not np.isfinite(loss[0]) or not np.all(np.isfinite(grad[0]))
    assert np.isfinite(loss[1]) and np.all(np.isfinite(grad[1]))
    ref = NpLandscape(p).loss_and_grad(th[1])
    assert loss[1] == ref[0] and np.array_equal(grad[1], ref[1])


def test_exact_targets_enter_as_rounded_exact_values() -> None:
    p = problem("identity", "[1, 1, 1]", 'points = ["1/3"]', "x**2", ensemble=1)
    land = NpLandscape(p)
    # N = 0 at theta = 0, so L = f(1/3)^2 with f(1/3) = 1/9 rounded once
    assert float(land.loss(np.zeros(4))) == float(Fraction(1, 9)) ** 2


def test_shape_errors_name_the_argument() -> None:
    from verify import InputError

    land = NpLandscape(problem("tanh"))
    with pytest.raises(InputError, match="theta"):
        land.loss(np.zeros(3))
    with pytest.raises(InputError, match="v"):
        land.hvp(np.zeros((2, 10)), np.zeros((3, 10)))
