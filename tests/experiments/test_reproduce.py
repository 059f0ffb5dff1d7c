"""verify reproduce sad-polynomial: the batched MLP, targets, initialization, EMA, reproducibility, CLI."""

from __future__ import annotations

import json
import math
from fractions import Fraction
from itertools import pairwise

import numpy as np
import pytest
import sympy

from verify import InputError, NpLandscape, parse_problem
from verify.cli import main
from verify.experiments.reproduce import TARGETS, Mlp, ema, logged_ema, summarize, train, xavier_uniform


def _problem(act: str, widths: tuple[int, ...], xs: np.ndarray) -> object:
    pts = ", ".join("[" + ", ".join(f'"{Fraction(float(v))}"' for v in row) + "]" for row in xs)
    n = sum(o * (i + 1) for i, o in pairwise(widths))
    dim = widths[0]
    expr = "x**2" if dim == 1 else "x1**2"
    return parse_problem(f"""
[network]
widths = {list(widths)}
activation = "{act}"
[data]
points = [{pts}]
[target]
expr = "{expr}"
[init]
theta = {json.dumps(["0"] * n)}
""")


@pytest.mark.parametrize("act", ["tanh", "softplus", "swish", "gelu", "elu", "relu"])
def test_loss_and_gradient_match_nplandscape(act: str) -> None:
    """The hand-written batched backward pass against the suite's own float64 landscape."""
    rng = np.random.default_rng(3)
    widths = (2, 3, 4, 1)
    xs = rng.uniform(-1, 1, size=(6, 2))
    prob = _problem(act, widths, xs)
    land = NpLandscape(prob)
    mlp = Mlp(widths, act)
    theta = rng.normal(size=(3, mlp.n_params))
    X = prob.data.array
    y = X[:, 0] ** 2
    loss, grad = mlp.loss_and_grad(theta, np.broadcast_to(X, (3, 6, 2)), np.broadcast_to(y, (3, 6)),
                                   np.full((3, 6), 1 / 6))
    ref_loss, ref_grad = land.loss_and_grad(theta)
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-10, atol=1e-12)


def test_gradient_matches_finite_differences_with_weights() -> None:
    """Weighted (multiset) losses: central differences of the loss itself."""
    rng = np.random.default_rng(0)
    mlp = Mlp((1, 10, 20, 10, 1), "tanh")
    theta = xavier_uniform(mlp.widths, 2, rng)
    theta[:, -1] = 0.3
    x = rng.uniform(-1, 1, size=(2, 7, 1))
    y = rng.normal(size=(2, 7))
    w = rng.integers(1, 4, size=(2, 7)) / 10.0
    _, grad = mlp.loss_and_grad(theta, x, y, w)
    h = 1e-6
    for k in rng.choice(mlp.n_params, size=12, replace=False):
        e = np.zeros_like(theta)
        e[:, k] = h
        fd = (mlp.loss_and_grad(theta + e, x, y, w)[0] - mlp.loss_and_grad(theta - e, x, y, w)[0]) / (2 * h)
        np.testing.assert_allclose(grad[:, k], fd, rtol=1e-6, atol=1e-8)


def test_targets_against_the_formulas() -> None:
    rng = np.random.default_rng(1)
    for dim, target in TARGETS.items():
        names = ["x"] if dim == 1 else [f"x{i}" for i in range(1, dim + 1)]
        syms = sympy.symbols(names)
        f = sympy.lambdify(syms, sympy.sympify(target.formula, locals=dict(zip(names, syms))), "numpy")
        x = rng.uniform(-1, 1, size=(50, dim))
        np.testing.assert_allclose(target.fn(x), f(*x.T), rtol=1e-13, atol=1e-13)
        assert target.widths[0] == dim and target.widths[-1] == 1
    assert TARGETS[1].widths == (1, 10, 20, 10, 1)
    assert TARGETS[4].widths == (4, 20, 40, 20, 1)
    assert TARGETS[1].fn(np.array([[1.0]]))[0] == 1 - 2 + 2 + 3 - 2 + 5


def test_xavier_uniform_bounds_and_zero_biases() -> None:
    mlp = Mlp((1, 10, 20, 10, 1), "tanh")
    theta = xavier_uniform(mlp.widths, 200, np.random.default_rng(0))
    for W, b in mlp.layers(theta):
        a = math.sqrt(6 / (W.shape[1] + W.shape[2]))
        assert np.all(np.abs(W) <= a) and np.abs(W).max() > 0.9 * a
        assert np.all(b == 0)
        assert abs(W.var() - a * a / 3) < 0.1 * a * a / 3


def test_ema() -> None:
    v = np.array([[1.0, 0.0, 0.0, 2.0]])
    out = ema(v, 0.95)
    expected = [1.0, 0.95, 0.9025, 0.95 * 0.9025 + 0.1]
    np.testing.assert_allclose(out[0], expected, rtol=1e-15)
    np.testing.assert_allclose(ema(np.full((1, 5), 3.0)), 3.0)


def test_logged_ema_starts_after_step_zero() -> None:
    loss = np.array([[20.0, 1.0, 0.5, 0.25]])
    out = logged_ema(loss, np.array([0, 2000, 4000, 6000]))
    np.testing.assert_allclose(out[0], [20.0, 1.0, 0.975, 0.975 * 0.95 + 0.0125], rtol=1e-15)
    np.testing.assert_allclose(logged_ema(loss, np.array([1, 2, 3, 4])), ema(loss))


def test_reproducible_and_loss_falls() -> None:
    a, ta = train(runs=2, steps=60, log_every=20, seed=5, train_size=500)
    b, tb = train(runs=2, steps=60, log_every=20, seed=5, train_size=500)
    c, _ = train(runs=2, steps=60, log_every=20, seed=6, train_size=500)
    np.testing.assert_array_equal(ta, tb)
    np.testing.assert_array_equal(a.norm, b.norm)
    assert not np.array_equal(a.norm, c.norm)
    assert list(a.steps) == [0, 20, 40, 60]
    assert np.all(a.loss[:, -1] < a.loss[:, 0])


def test_minibatch_with_replacement_is_the_weighted_multiset_loss() -> None:
    """One GD step with drawn indices equals the step on the distinct points with counts / B."""
    rng = np.random.default_rng(2)
    mlp = Mlp((1, 4, 1), "softplus")
    theta = xavier_uniform(mlp.widths, 1, rng)
    X = rng.uniform(-1, 1, size=(30, 1))
    Y = X[:, 0] ** 2
    idx = rng.integers(0, 30, size=30)
    direct = mlp.loss_and_grad(theta, X[idx][None], Y[idx][None], np.full((1, 30), 1 / 30))
    counts = np.bincount(idx, minlength=30)
    keep = counts > 0
    multiset = mlp.loss_and_grad(theta, X[keep][None], Y[keep][None], (counts[keep] / 30)[None])
    np.testing.assert_allclose(direct[0], multiset[0], rtol=1e-13)
    np.testing.assert_allclose(direct[1], multiset[1], rtol=1e-12, atol=1e-15)


def test_full_batch_gd_is_plain_gd() -> None:
    _, theta = train(runs=1, steps=3, log_every=1, full_batch=True, seed=0, train_size=50)
    rng = np.random.default_rng(0)
    mlp = Mlp(TARGETS[1].widths, "tanh")
    th = xavier_uniform(mlp.widths, 1, rng)
    X = rng.uniform(-1, 1, size=(50, 1))
    Y = TARGETS[1].fn(X)
    for _ in range(3):
        th = th - 1e-3 * mlp.loss_and_grad(th, X[None], Y[None], np.full((1, 50), 1 / 50))[1]
    np.testing.assert_allclose(theta, th, rtol=1e-13)


def test_adam_and_summary() -> None:
    curves, _ = train(runs=2, steps=40, log_every=10, optimizer="adam", activation="relu", dim=2, train_size=500)
    s = summarize(curves, config={"activation": "relu"})
    assert s["activation_in_theorem"] is False and "outside" in s["note"]
    assert s["steps_done"] == 40 and s["runs"] == 2


def test_bad_input() -> None:
    with pytest.raises(InputError):
        train(dim=3)
    with pytest.raises(InputError):
        train(optimizer="adam", full_batch=True)
    with pytest.raises(InputError):
        train(steps=0)


def test_cli_writes_curves_and_summary(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "run"
    code = main(["reproduce", "sad-polynomial", "--runs", "2", "--steps", "40", "--log-every", "10",
                 "--out", str(out), "--json", "--dtype", "float32"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["config"]["dtype"] == "float32" and summary["steps_done"] == 40
    for name in ("curves.csv", "mean.csv", "summary.json", "summary.txt", "curves.png"):
        assert (out / name).is_file()
    lines = (out / "mean.csv").read_text().splitlines()
    assert lines[0].startswith("step,mean_norm") and len(lines) == 1 + 5
    assert main(["reproduce", "sad-polynomial", "--plot-every", "0", "--out", str(out)]) == 2
    before = (out / "mean.csv").read_text()
    (out / "mean.csv").unlink()
    assert main(["reproduce", "sad-polynomial", "--redraw", "--out", str(out)]) == 0
    again = (out / "mean.csv").read_text().splitlines()
    assert again[0] == before.splitlines()[0] and len(again) == len(before.splitlines())
    np.testing.assert_allclose([float(v) for v in again[-1].split(",")],
                               [float(v) for v in before.splitlines()[-1].split(",")], rtol=1e-6)


@pytest.mark.parametrize("act", ["tanh", "softplus", "swish", "gelu", "elu"])
def test_activation_derivatives_match_mpmath_at_zero_and_far_out(act: str) -> None:
    """s and s' of the grid's fast activation forms against mpmath at 30 digits (z = 0 and |z| up to 40
    included: the cancellation-prone and overflow-prone points), in float64 and float32."""
    import mpmath

    from verify.experiments.reproduce import _act

    mp = mpmath.mp.clone()
    mp.dps = 30
    ref = {"tanh": mp.tanh, "softplus": lambda z: mp.log1p(mp.exp(z)), "swish": lambda z: z / (1 + mp.exp(-z)),
           "gelu": lambda z: z * mp.ncdf(z), "elu": lambda z: z if z > 0 else mp.expm1(z)}[act]
    zs = [-40.0, -9.5, -1.25, -1e-3, 0.0, 1e-3, 0.75, 3.0, 17.0, 40.0]
    s, ds = _act(act)
    for dtype, tol in ((np.float64, 1e-13), (np.float32, 3e-6)):
        z = np.array(zs, dtype=dtype)
        val = s(z)
        der = ds(z, val)
        assert val.dtype == dtype and der.dtype == dtype
        for zk, v, d in zip(zs, val, der):
            want_v = ref(mp.mpf(zk))
            want_d = mp.diff(ref, mp.mpf(zk)) if not (act == "elu" and zk == 0) else mp.one
            assert abs(v - want_v) <= tol * max(1, abs(want_v)), (zk, v, want_v)
            assert abs(d - want_d) <= tol * max(1, abs(want_d)), (zk, d, want_d)
