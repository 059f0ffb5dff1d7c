"""The three tiers against each other, at random architectures, activations, data and
parameters drawn by Hypothesis: np vs mp, and mp vs exact."""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from verify.landscapes.exact import ExactLandscape
from verify.landscapes.mp import MpLandscape
from verify.landscapes.np import NpLandscape
from verify.strategies import activations, networks, problems


def as_float(v: object) -> float:
    return float(mpmath.mpf(v)) if not isinstance(v, float) else v


def scale(values: np.ndarray) -> float:
    return max(1.0, float(np.max(np.abs(values))))


@given(problems(network=networks(max_depth=2, max_width=3, input_dims=(1, 2), output_dims=(1, 2),
                                 output_activation=st.booleans())))
def test_np_agrees_with_mp(p) -> None:
    theta = p.initial_exact()
    mp_land = MpLandscape(p, dps=30)
    np_land = NpLandscape(p)
    th = np.array([float(c) for c in theta])
    loss_m, grad_m = mp_land.loss_and_grad(theta)
    loss_n, grad_n = np_land.loss_and_grad(th)
    # float64 rounds theta and the data once: allow a few hundred ulps of the magnitudes involved
    assert abs(float(loss_m) - float(loss_n)) <= 1e-12 * max(1.0, abs(float(loss_m)))
    gm = np.array([float(g) for g in grad_m])
    assert np.max(np.abs(gm - grad_n)) <= 1e-11 * scale(gm)
    Hm = np.array([[float(v) for v in row] for row in mp_land.hessian(theta)])
    Hn = np_land.hessian(th)
    assert np.max(np.abs(Hm - Hn)) <= 1e-10 * scale(Hm)


@settings(max_examples=10)
@given(problems(network=networks(max_depth=1, max_width=2, activation=activations(exclude=("mish", "gelu"))),
                max_size=3))
def test_mp_agrees_with_exact(p) -> None:
    theta = p.initial_exact()
    ex = ExactLandscape(p)
    loss_e, grad_e, hess_e = ex.evaluate(theta, 40)
    mp_land = MpLandscape(p, dps=40)
    ctx = mp_land.ctx
    loss_m, grad_m = mp_land.loss_and_grad(theta)
    tol = ctx.mpf(10) ** -33
    def close(a: object, b: object) -> bool:
        a, b = ctx.mpf(str(a)), ctx.mpf(b)
        return abs(a - b) <= tol * max(1, abs(a))
    assert close(loss_e, loss_m)
    assert all(close(a, b) for a, b in zip(grad_e, grad_m))
    Hm = mp_land.hessian(theta)
    d = p.n_params
    assert all(close(hess_e[i, j], Hm[i][j]) for i in range(d) for j in range(d))


@settings(max_examples=5)
@given(st.sampled_from(["gelu", "mish"]), st.integers(0, 1000))
def test_mp_agrees_with_exact_for_special_functions(act: str, seed: int) -> None:
    from verify import parse_problem

    rng = np.random.default_rng(seed)
    theta = [Fraction(int(v), 8) for v in rng.integers(-12, 12, size=7)]
    p = parse_problem(f"""
[network]
widths = [1, 2, 1]
activation = "{act}"
[data]
points = ["-1", "1/3", "1"]
[target]
expr = "x**2"
[init]
theta = {[str(c) for c in theta]}
""".replace("'", '"'))
    loss_e, grad_e, _ = ExactLandscape(p).evaluate(theta, 35)
    mp_land = MpLandscape(p, dps=35)
    loss_m, grad_m = mp_land.loss_and_grad(theta)
    assert abs(mp_land.ctx.mpf(str(loss_e)) - loss_m) <= mp_land.ctx.mpf(10) ** -30 * max(1, abs(loss_m))
    for a, b in zip(grad_e, grad_m):
        assert abs(mp_land.ctx.mpf(str(a)) - b) <= mp_land.ctx.mpf(10) ** -30 * max(1, abs(b))


def test_relu_integral_mp_agrees_with_exact_and_np() -> None:
    from verify import load_problem

    from ..conftest import EXAMPLES

    p = load_problem(EXAMPLES / "relu-interval.toml")
    theta = p.initial_exact()
    loss_e, _, hess_e = ExactLandscape(p).evaluate(theta, 40)
    # the relu integral loss is a rational function of rational parameters: exact is exactly rational
    assert isinstance(ExactLandscape(p).loss(theta), sympy.Rational)
    mp_land = MpLandscape(p, dps=40)
    ctx = mp_land.ctx
    H = mp_land.hessian(theta)
    assert abs(ctx.mpf(str(loss_e)) - mp_land.loss(theta)) < ctx.mpf(10) ** -35
    d = p.n_params
    assert max(abs(ctx.mpf(str(hess_e[i, j])) - H[i][j]) for i in range(d) for j in range(d)) < ctx.mpf(10) ** -33
    Hn = NpLandscape(p).hessian(np.array([float(c) for c in theta]))
    np.testing.assert_allclose(Hn, np.array([[float(v) for v in r] for r in H]), rtol=1e-12, atol=1e-12)
