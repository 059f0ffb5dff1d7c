"""The compiled float64 kernels (numba) against oracles they did not compute: mpmath for the
activations, the numpy reference implementation and finite differences for loss, gradient and
Hessian-vector products, the numpy stage loop and the numpy flow driver for the integrators,
and the mp tier for a gradient. Skipped only where numba is not installed (the numpy path is
then the only one, and the rest of the suite tests it)."""

from __future__ import annotations

import os
import subprocess
import sys
from fractions import Fraction

import mpmath
import numpy as np
import pytest

from verify import InputError, MpLandscape, parse_problem
from verify.dynamics.flow import Dop853, Dopri5, Rodas4, solve_flow
from verify.dynamics.trajectory import Events, Status, StepControl
from verify.landscapes import compiled as _compiled
from verify.landscapes.np import NpLandscape

pytestmark = pytest.mark.skipif(not _compiled.available(), reason=f"{_compiled.unavailable_reason()}")

EPS = np.finfo(float).eps


def problem(act: str, widths: str = "[1, 4, 1]", data: str = 'grid = { start = "-1", stop = "1", num = 9 }',
            target: str = '"x**2"', extra: str = "", ensemble: int = 5, seed: int = 2, scale: str = "1"):
    return parse_problem(f"""
[network]
widths = {widths}
activation = "{act}"
{extra}
[data]
{data}
[target]
expr = {target}
[init]
scheme = "normal"
scale = "{scale}"
seed = {seed}
ensemble = {ensemble}
""")


def special_and_wide() -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.concatenate([rng.normal(size=3000) * 3, np.linspace(-1e-6, 1e-6, 201), np.linspace(-40, 40, 801),
                           np.geomspace(1e-300, 30, 300), -np.geomspace(1e-300, 30, 300), [0.0, -0.0, 19.06, 20.0,
                                                                                             -745.0, 700.0]])


@pytest.mark.parametrize("act,fn", [("tanh", mpmath.tanh), ("logistic", lambda v: 1 / (1 + mpmath.exp(-v)))])
def test_vectorized_activations_against_mpmath(act: str, fn) -> None:
    from verify.landscapes import compiled_nb as nb

    z = special_and_wide()
    out = np.empty_like(z)
    nb.activate((0,) * _compiled.ACT_CODES[act], z, out)
    with mpmath.workdps(40):
        exact = np.array([float(fn(mpmath.mpf(float(v)))) for v in z])
    nz = np.abs(exact) >= 1e-300
    rel = np.abs(out[nz] - exact[nz]) / np.abs(exact[nz])
    assert rel.max() <= 2.5 * EPS, (act, rel.max() / EPS, z[nz][np.argmax(rel)])
    # below 1e-300 (the logistic function left of -690): absolutely, exp(-v) is 0 past v = 708
    assert np.all(np.abs(out[~nz] - exact[~nz]) <= 1e-300)
    special = np.array([np.inf, -np.inf, np.nan, -0.0])
    res = np.empty(4)
    nb.activate((0,) * _compiled.ACT_CODES[act], special, res)
    expected = np.tanh(special) if act == "tanh" else 1 / (1 + np.exp(-special))
    np.testing.assert_array_equal(res, expected)
    if act == "tanh":
        assert np.signbit(res[3])  # tanh(-0) = -0


CASES = [
    ("tanh", "[1, 4, 1]", "", '"x**2"', 'grid = { start = "-1", stop = "1", num = 9 }'),
    ("logistic", "[2, 3, 2]", "", '["x1*x2", "x1 - x2"]', 'grid = { start = "-1", stop = "1", num = 3 }'),
    ("softplus", "[1, 3, 1]", "biases = false", '"x**3"', 'points = ["-2", "-1/2", "0", "1/3", "1", "3"]'),
    ("swish", "[2, 3, 2, 1]", "", '"x1*x2"', 'grid = { start = "-1", stop = "1", num = 3 }'),
    ("gelu", "[1, 3, 2, 1]", "output_activation = true", '"x**2/4"', 'interval = ["0", "1"]'),
    ("square", "[1, 2, 2, 1]", "", '"x**3"', 'points = ["-1", "0", "1/2", "1"]'),
    ("identity", "[1, 2, 1]", "", '"x**3"', 'points = ["-1", "0", "1/2", "1"]'),
    ("tanh", "[1, 5, 4, 1]", "biases = false", '"x**2"', 'sample = { low = "-1", high = "1", num = 40, seed = 1 }'),
]


@pytest.mark.parametrize("act,widths,extra,target,data", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_kernels_equal_the_numpy_reference(act: str, widths: str, extra: str, target: str, data: str) -> None:
    p = problem(act, widths, data, target, extra, ensemble=7, scale="3/2")
    fast, ref = NpLandscape(p), NpLandscape(p, compiled=False)
    assert fast._kernel() is not None and ref._kernel() is None
    th = p.init.thetas(p.network)
    lf, gf = fast.loss_and_grad(th)
    lr, gr = ref.loss_and_grad(th)
    np.testing.assert_allclose(lf, lr, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(gf, gr, rtol=1e-12, atol=1e-13 * np.max(np.abs(gr)))
    np.testing.assert_allclose(fast.loss(th), lr, rtol=1e-13, atol=1e-15)
    Hf, Hr = fast.hessian(th), ref.hessian(th)
    np.testing.assert_allclose(Hf, Hr, rtol=1e-11, atol=1e-12 * np.max(np.abs(Hr)))
    V = np.random.default_rng(3).normal(size=(th.shape[0], 2, th.shape[1]))
    np.testing.assert_allclose(fast.hvp(th, V), ref.hvp(th, V), rtol=1e-11, atol=1e-12 * np.max(np.abs(Hr)))
    # single members, and a member that overflows stays to itself
    np.testing.assert_allclose(fast.grad(th[2]), gr[2], rtol=1e-12, atol=1e-13 * np.max(np.abs(gr)))
    big = th.copy()
    big[1] = 1e300
    with np.errstate(all="ignore"):
        lb, gb = fast.loss_and_grad(big)
    assert not np.isfinite(lb[1]) or not np.all(np.isfinite(gb[1]))
    np.testing.assert_allclose(lb[[0, 2, 3]], lr[[0, 2, 3]], rtol=1e-13)


def test_gradient_against_finite_differences_and_the_mp_tier() -> None:
    p = problem("tanh", "[1, 3, 1]", ensemble=2)
    land = NpLandscape(p, compiled=True)
    th = p.init.thetas(p.network)
    g = land.grad(th)
    h = 1e-6
    fd = np.stack([(land.loss(th + h * e) - land.loss(th - h * e)) / (2 * h) for e in np.eye(th.shape[1])], axis=1)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)
    mp = MpLandscape(p, dps=30)
    exact = np.array([float(v) for v in mp.grad([Fraction(v) for v in th[0]])])
    np.testing.assert_allclose(g[0], exact, rtol=1e-13, atol=1e-15)
    H = land.hessian(th)
    fdh = np.stack([(land.grad(th + h * e) - land.grad(th - h * e)) / (2 * h) for e in np.eye(th.shape[1])], axis=2)
    np.testing.assert_allclose(H, fdh, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("solver", [Dopri5(), Dop853()], ids=lambda s: s.name)
def test_stage_kernel_equals_the_numpy_stage_loop(solver) -> None:
    p = problem("tanh", ensemble=6)
    fast, ref = NpLandscape(p), NpLandscape(p, compiled=False)
    th = p.init.thetas(p.network)
    g = ref.grad(th)
    h = np.linspace(1e-3, 0.3, th.shape[0])
    Kf, yf, lf, gf, sf = solver._stages(fast, th, g, h)
    Kr, yr, lr, gr, sr = solver._stages(ref, th, g, h)
    # Hairer's stiffness estimate h rho (a difference quotient: rounding matters only far below the boundary ~ 6)
    np.testing.assert_allclose(sf, sr, rtol=1e-6, atol=1e-3)
    # rounding differences grow through the stages (coefficients up to about 30): relative to the largest entry
    scale = np.max(np.abs(Kr))
    np.testing.assert_allclose(Kf, Kr, rtol=1e-11, atol=1e-12 * scale)
    np.testing.assert_allclose(yf, yr, rtol=1e-13, atol=1e-14 * scale)
    np.testing.assert_allclose(lf, lr, rtol=1e-12)
    np.testing.assert_allclose(gf, gr, rtol=1e-11, atol=1e-12 * scale)


@pytest.mark.parametrize("solver", [Dopri5(), Dop853()], ids=lambda s: s.name)
def test_compiled_flow_agrees_with_the_numpy_driver(solver) -> None:
    p = problem("tanh", ensemble=6, seed=5)
    th0 = p.init.thetas(p.network)
    control = StepControl(rtol=1e-10, atol=1e-12)
    fast = solve_flow(NpLandscape(p), th0, t1=20.0, solver=solver, control=control, checkpoints=8)
    ref = solve_flow(NpLandscape(p, compiled=False), th0, t1=20.0, solver=solver, control=control, checkpoints=8)
    for a, b in zip(fast.members, ref.members):
        assert a.status is b.status is Status.T1_REACHED and a.t == b.t == 20.0
        np.testing.assert_allclose(a.theta, b.theta, rtol=1e-7, atol=1e-8)
        assert a.checkpoints.t == b.checkpoints.t
        np.testing.assert_allclose(a.checkpoints.loss, b.checkpoints.loss, rtol=1e-7, atol=1e-12)
        # the same step-size control: step counts agree but for decisions at the margin
        assert abs(a.costs.steps - b.costs.steps) <= 2 and a.costs.n_grad > 0


def test_compiled_flow_events_and_limits() -> None:
    p = problem("tanh", "[1, 2, 1]", ensemble=4, seed=1)
    th0 = p.init.thetas(p.network)
    th0[1] *= 1e6                                     # overflows at once: diverged, alone
    land, ref = NpLandscape(p), NpLandscape(p, compiled=False)
    events = Events(radius=1e4, loss_below=0.05)
    fast = solve_flow(land, th0, t1=1e3, events=events)
    slow = solve_flow(ref, th0, t1=1e3, events=events)
    assert [m.status for m in fast.members] == [m.status for m in slow.members]
    assert fast.members[1].status is Status.DIVERGED
    for a, b in zip(fast.members, slow.members):
        if a.status is Status.LOSS_BELOW:
            assert a.loss <= 0.05 and a.t == pytest.approx(b.t, rel=1e-6)
    st = solve_flow(land, th0[[0]], t1=1e5, events=Events(gtol=1e-3)).members[0]
    assert st.status is Status.STATIONARY and st.grad_norm <= 1e-3 and st.t < 1e5
    ms = solve_flow(land, th0[[0]], t1=1e4, control=StepControl(max_steps=5)).members[0]
    assert ms.status is Status.MAX_STEPS and ms.costs.steps + ms.costs.rejected == 5


def test_rodas4_with_compiled_hessians_matches_the_numpy_path() -> None:
    p = problem("logistic", "[1, 2, 1]", ensemble=2)
    th0 = p.init.thetas(p.network)
    control = StepControl(rtol=1e-9, atol=1e-11)
    a = solve_flow(NpLandscape(p), th0, t1=10.0, solver=Rodas4(), control=control).members
    b = solve_flow(NpLandscape(p, compiled=False), th0, t1=10.0, solver=Rodas4(), control=control).members
    for x, y in zip(a, b):
        np.testing.assert_allclose(x.theta, y.theta, rtol=1e-7, atol=1e-9)


def test_where_the_kernels_do_not_apply_numpy_runs() -> None:
    relu = problem("relu", "[1, 3, 1]", data='interval = ["-1", "1"]')
    assert NpLandscape(relu)._kernel() is None                  # relu: breakpoints, numpy
    mish = problem("mish")
    assert NpLandscape(mish)._kernel() is None                  # no kernel for mish
    tanh = problem("tanh")
    land = NpLandscape(tanh)
    idx = np.array([[0, 1], [2, 3], [4, 5], [6, 7], [8, 0]])
    loss, grad = land.loss_and_grad_batch(tanh.init.thetas(tanh.network), idx)   # mini-batches: numpy
    assert loss.shape == (5,) and np.all(np.isfinite(grad))


def test_switches_and_bad_input() -> None:
    p = problem("tanh")
    assert NpLandscape(p, compiled=False)._kernel() is None
    with pytest.raises(InputError, match="compiled"):
        NpLandscape(p, compiled="yes")  # type: ignore[arg-type]
    env = dict(os.environ, VERIFY_COMPILED="0")
    code = ("from verify import parse_problem; from verify.landscapes import compiled as _compiled\n"
            "from verify.landscapes.np import NpLandscape\n"
            "from verify import InputError\n"
            "assert not _compiled.available() and 'VERIFY_COMPILED' in _compiled.unavailable_reason()\n"
            "p = parse_problem(open(0).read())\n"
            "assert NpLandscape(p)._kernel() is None\n"
            "try:\n    NpLandscape(p, compiled=True)\nexcept InputError as e:\n    print('refused:', e)\n")
    text = ('[network]\nwidths = [1, 2, 1]\nactivation = "tanh"\n[data]\npoints = ["0", "1"]\n'
            '[target]\nexpr = "x"\n[init]\ntheta = ["1", "0", "1", "0", "0", "0", "0"]\n')
    done = subprocess.run([sys.executable, "-c", code], input=text, capture_output=True, text=True, env=env, check=True)
    assert "refused: compiled" in done.stdout


def test_auto_switching_inside_the_compiled_loop_matches_the_numpy_driver() -> None:
    """solver="auto": on the compiled path Hairer's test runs inside the kernel's loop; the members
    switch to Rodas4 as on the numpy path, and the states agree."""
    from verify import load_problem, solve_flow

    from ..conftest import EXAMPLES

    p = load_problem(EXAMPLES / "drift-1-1-1.toml")
    th0 = np.array([float(v) for v in p.initial_exact(0)])
    runs = {}
    for compiled in (True, False):
        land = NpLandscape(p, compiled=compiled)
        runs[compiled] = solve_flow(land, th0, t1=1e4, control=StepControl(rtol=1e-9, atol=1e-11)).members[0]
    fast, ref = runs[True], runs[False]
    assert fast.extra["switches"] >= 1 and ref.extra["switches"] >= 1      # the drift turns stiff
    assert fast.extra["last_solver"] == ref.extra["last_solver"] == "rodas4"
    np.testing.assert_allclose(fast.theta, ref.theta, rtol=1e-6, atol=1e-9 * max(abs(v) for v in ref.theta))
    assert abs(fast.loss - ref.loss) <= 1e-6 * abs(ref.loss)
