"""GD, SGD, Adam and GD periodic orbits against oracles the driver did not compute: matrix
powers, plain loops, reference updates written here, mini-batch problems rebuilt from the drawn
points, eigenvalues of Hessians, and the hand-derived 2-cycle of the non-singularity paper."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from verify import InputError, load_problem, parse_problem
from verify.dynamics.descent import (
    GD,
    SGD,
    Adam,
    Cycle,
    _Batches,
    _checkpoint_steps,
    _top_eigenvalue,
    find_cycle,
    run_descent,
)
from verify.dynamics.trajectory import Events, Status
from verify.landscapes.formula import ExprLandscape
from verify.landscapes.np import NpLandscape

from ..conftest import EXAMPLES

NO_STOP = Events(gtol=1e-300)

# L = 1/2 theta^T A theta with A = [[3, 1], [1, 2]]
A = np.array([[3.0, 1.0], [1.0, 2.0]])
QUAD = ExprLandscape("(3*x**2 + 2*x*y + 2*y**2)/2", ["x", "y"])

# Craciun-Ghoshdastidar, Section 5: f(x) = relu(t2 relu(t1 x)) on (9/10, 9/10), (5/2, 5/2) with
# L = (1/m) sum (1/2)(f - y)^2 = C (t1 t2 - 1)^2 on the positive quadrant, C = 1.765
C = 1.765
PAPER = ExprLandscape("(1/2)*((9/10)**2*(t1*t2 - 1)**2 + (5/2)**2*(t1*t2 - 1)**2)/2", ["t1", "t2"])
PAPER_START = [1.48, 1 / 1.48 + 0.1]


def net_problem(points=("-1", "-1/2", "0", "1/3", "1"), widths="[1, 3, 1]", act="tanh", target="x**2",
                ensemble=3, factor="1"):
    pts = ", ".join(f'"{p}"' for p in points)
    return parse_problem(f"""
[network]
widths = {widths}
activation = "{act}"
[data]
points = [{pts}]
[target]
expr = "{target}"
[loss]
factor = "{factor}"
[init]
scheme = "normal"
seed = 3
ensemble = {ensemble}
""")


def paper_network() -> NpLandscape:
    return NpLandscape(parse_problem("""
[network]
widths = [1, 1, 1]
activation = "relu"
biases = false
output_activation = true
[data]
points = ["9/10", "5/2"]
[target]
expr = "x"
[loss]
factor = "1/2"
[init]
theta = ["37/25", "1"]
"""))


def gd_map(land, eta: float, theta: np.ndarray) -> np.ndarray:
    return theta - eta * land.grad(theta)


# --------------------------------------------------------------------------------------
# checkpoints
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("steps", "n"), [(1, 32), (5, 32), (32, 32), (33, 32), (100, 32), (10**6, 32), (50, 1),
                                          (1000, 7)])
def test_checkpoint_steps_distinct_log_spaced_ending_at_steps(steps: int, n: int) -> None:
    ks = _checkpoint_steps(steps, n)
    assert len(ks) == min(n, steps)
    assert ks[-1] == steps
    assert ks[0] == (1 if n > 1 else steps)
    assert np.all(np.diff(ks) > 0) and ks[0] >= 1
    if steps > 100 * n:  # log-spaced: the ratios are about (steps)^(1/n)
        ratios = ks[1:] / ks[:-1]
        assert ratios.max() < 3 * steps ** (1 / (n - 1))


# --------------------------------------------------------------------------------------
# GD
# --------------------------------------------------------------------------------------
def test_gd_quadratic_iterates_are_matrix_powers() -> None:
    land = QUAD.np()
    theta0 = np.array([[1.0, -2.0], [0.5, 0.25], [-3.0, 1.0]])
    etas = np.array([0.1, 0.25, 0.5])
    steps = 30
    res = run_descent(land, theta0, step_size=etas, steps=steps, events=NO_STOP, keep_last=steps + 1)
    for e, m in enumerate(res.members):
        assert m.status is Status.T1_REACHED and m.t == steps
        last = np.array(m.extra["last"])
        assert last.shape == (steps + 1, 2)
        G = np.eye(2) - etas[e] * A
        expect = np.array([np.linalg.matrix_power(G, k) @ theta0[e] for k in range(steps + 1)])
        np.testing.assert_allclose(last, expect, rtol=1e-13, atol=1e-15 * np.abs(theta0[e]).max())
        np.testing.assert_array_equal(m.theta, last[-1])
        assert m.extra["step_size"] == etas[e]
        assert m.costs.steps == steps and m.costs.n_grad == steps + 1 and m.costs.n_hess == 0
        assert m.loss == pytest.approx(0.5 * last[-1] @ A @ last[-1], rel=1e-13, abs=1e-300)


def test_gd_step_sizes_swept_in_one_call_diverge_above_2_over_lambda_max() -> None:
    land = QUAD.np()
    lam = np.linalg.eigvalsh(A)
    etas = np.array([0.5, 1.0, 1.9, 2.02]) / lam[-1]
    res = run_descent(land, [1.0, 1.0], step_size=etas, steps=20_000, events=Events(gtol=1e-10, radius=100.0))
    assert res.step_size == tuple(etas)
    assert [m.status for m in res.members] == [Status.STATIONARY] * 3 + [Status.DIVERGED]
    assert res.statuses == {"stationary": 3, "diverged": 1}
    for m in res.members[:3]:
        assert m.grad_norm <= 1e-10 and m.theta_norm < 1e-9
    div = res.members[3]
    assert 100.0 <= div.theta_norm < 100 * 1.05  # stopped at the first step beyond the radius
    assert div.t < 1000 and "radius" in div.message
    # per member, the stationary step count is that of the slowest mode |1 - eta lambda_i|
    rate = [max(abs(1 - eta * lam)) for eta in etas[:3]]
    assert res.members[2].t > res.members[1].t and rate[2] > rate[1]


def test_gd_network_equals_a_plain_loop() -> None:
    p = net_problem()
    land = NpLandscape(p)
    theta0 = p.init.thetas(p.network)
    etas = np.array([0.05, 0.2, 0.4])
    steps = 60
    res = run_descent(land, theta0, step_size=etas, steps=steps, events=NO_STOP, keep_last=5)
    theta = theta0.copy()
    history = [theta.copy()]
    for _ in range(steps):
        theta -= etas[:, None] * land.grad(theta)
        history.append(theta.copy())
    for e, m in enumerate(res.members):
        np.testing.assert_allclose(m.theta, theta[e], rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(np.array(m.extra["last"]), np.array(history[-5:])[:, e], rtol=1e-13, atol=1e-14)
        assert m.loss == pytest.approx(float(land.loss(theta[e])), rel=1e-12)
    # the same members one at a time: the ensemble axis does not mix members
    solo = run_descent(land, theta0[1], step_size=etas[1], steps=steps, events=NO_STOP)
    np.testing.assert_allclose(solo.members[0].theta, res.members[1].theta, rtol=1e-13, atol=1e-14)


def test_keep_last_oldest_first_and_short_runs() -> None:
    land = QUAD.np()
    res = run_descent(land, [1.0, 0.0], step_size=0.1, steps=3, events=NO_STOP, keep_last=10)
    last = np.array(res.members[0].extra["last"])
    assert last.shape == (4, 2)
    np.testing.assert_array_equal(last[0], [1.0, 0.0])
    for k in range(3):
        np.testing.assert_allclose(last[k + 1], gd_map(land, 0.1, last[k]), rtol=1e-15)
    res0 = run_descent(land, [1.0, 0.0], step_size=0.1, steps=3, keep_last=0)
    assert res0.members[0].extra["last"] == ()


def test_loss_below_and_stationary_at_start() -> None:
    land = QUAD.np()
    res = run_descent(land, [[1.0, 1.0], [0.0, 0.0]], step_size=0.1, steps=1000,
                      events=Events(gtol=1e-14, loss_below=1e-3))
    a, b = res.members
    assert a.status is Status.LOSS_BELOW and a.loss <= 1e-3
    # the step before was above the level
    prev = np.array(a.extra["last"][-2])
    assert 0.5 * prev @ A @ prev > 1e-3
    assert b.status is Status.STATIONARY and b.t == 0 and b.costs.n_grad == 1


# --------------------------------------------------------------------------------------
# checkpoints and sharpness
# --------------------------------------------------------------------------------------
def test_checkpoints_record_the_states_and_the_sharpness() -> None:
    p = net_problem()
    land = NpLandscape(p)
    theta0 = p.init.thetas(p.network)
    steps = 300
    res = run_descent(land, theta0, step_size=0.1, steps=steps, events=NO_STOP, checkpoints=12, sharpness=True,
                      keep_last=steps + 1)
    for m in res.members:
        ck = m.checkpoints
        assert ck.t[0] == 0 and ck.t[-1] == steps and len(ck) == 13
        assert all(b > a for a, b in zip(ck.t, ck.t[1:]))
        hist = np.array(m.extra["last"])
        th = hist[list(ck.t)]
        H = land.hessian(th)
        top = np.linalg.eigvalsh((H + H.transpose(0, 2, 1)) / 2)[:, -1]
        np.testing.assert_allclose(ck.sharpness, top, rtol=1e-12)
        np.testing.assert_allclose(ck.loss, land.loss(th), rtol=1e-12)
        np.testing.assert_allclose(ck.theta_norm, np.linalg.norm(th, axis=1), rtol=1e-14)
        np.testing.assert_allclose(ck.grad_norm, np.linalg.norm(land.grad(th), axis=1), rtol=1e-12)
        assert m.costs.n_hess == len(ck)
    plain = run_descent(land, theta0, step_size=0.1, steps=10, checkpoints=3)
    assert plain.members[0].checkpoints.sharpness is None
    assert plain.members[0].checkpoints.t == (0, 1, 3, 10)


def test_sharpness_by_power_iteration_above_200_parameters() -> None:
    p = net_problem(widths="[1, 70, 1]", ensemble=2)
    land = NpLandscape(p)
    assert land.n_params > 200
    theta0 = 0.5 * p.init.thetas(p.network)
    res = run_descent(land, theta0, step_size=0.01, steps=2, events=NO_STOP, checkpoints=1, sharpness=True,
                      keep_last=3)
    for m in res.members:
        th = np.array(m.extra["last"])[[0, 2]]
        H = land.hessian(th)
        top = np.linalg.eigvalsh((H + H.transpose(0, 2, 1)) / 2)[:, -1]
        np.testing.assert_allclose(m.checkpoints.sharpness, top, rtol=1e-7)
        assert m.costs.n_hess > 2  # counts Hessian-vector products


class _Matrix:
    """A quadratic landscape 1/2 theta^T S theta given by its matrix (hvp only)."""

    tier = "np"

    def __init__(self, S: np.ndarray) -> None:
        self.S = S
        self.n_params = S.shape[0]

    def hvp(self, theta, v):
        return v @ self.S


@pytest.mark.parametrize("spectrum", ["negative", "plus_minus", "generic"])
def test_power_iteration_finds_the_largest_not_the_dominant_eigenvalue(spectrum: str) -> None:
    d = 205
    rng = np.random.default_rng(7)
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    if spectrum == "negative":
        lam = -np.linspace(0.5, 5.0, d)  # top eigenvalue -0.5, dominant -5
    elif spectrum == "plus_minus":
        lam = np.concatenate([[3.0, -3.0], np.linspace(-1, 1, d - 2)])
    else:
        lam = np.concatenate([[4.0, -6.0], np.linspace(-2, 2, d - 2)])
    S = (Q * lam) @ Q.T
    top, work = _top_eigenvalue(_Matrix(S), np.zeros((1, d)))
    assert top[0] == pytest.approx(lam.max(), rel=1e-6)
    assert work > 0


# --------------------------------------------------------------------------------------
# SGD
# --------------------------------------------------------------------------------------
def test_sgd_full_batches_without_replacement_equal_gd() -> None:
    p = net_problem()
    land = NpLandscape(p)
    theta0 = p.init.thetas(p.network)
    etas = np.array([0.05, 0.1, 0.3])
    gd = run_descent(land, theta0, step_size=etas, steps=40, events=NO_STOP)
    for shared in (False, True):
        sgd = run_descent(land, theta0, step_size=etas, steps=40, events=NO_STOP,
                          optimizer=SGD(batch=p.data.n, shared_batches=shared, seed=5))
        assert sgd.optimizer == "sgd"
        for a, b in zip(gd.members, sgd.members):
            np.testing.assert_allclose(b.theta, a.theta, rtol=1e-12, atol=1e-13)
            assert b.status is Status.T1_REACHED and b.t == 40
            assert b.loss == pytest.approx(a.loss, rel=1e-11)
            assert "last" not in b.extra


@pytest.mark.parametrize("replacement", [True, False])
def test_sgd_same_seed_same_run_other_seed_other_run(replacement: bool) -> None:
    p = net_problem()
    land = NpLandscape(p)
    theta0 = p.init.thetas(p.network)

    def run(seed: int):
        return run_descent(land, theta0, step_size=0.1, steps=50, events=NO_STOP,
                           optimizer=SGD(batch=2, replacement=replacement, seed=seed))

    a, b, c = run(11), run(11), run(12)
    for x, y, z in zip(a.members, b.members, c.members):
        assert x.theta == y.theta and x.checkpoints == y.checkpoints
        assert x.theta != z.theta


def _sub_landscape(p, idx) -> NpLandscape:
    """The problem restricted to the drawn points (repeats kept): its loss is the batch loss."""
    pts = [str(p.data.points[i][0]) for i in idx]
    return NpLandscape(net_problem(points=pts, ensemble=1))


@pytest.mark.parametrize(("replacement", "shared"), [(True, False), (False, False), (True, True), (False, True)])
def test_sgd_one_step_uses_the_gradient_of_the_drawn_points(replacement: bool, shared: bool) -> None:
    p = net_problem(ensemble=4)
    land = NpLandscape(p)
    theta0 = p.init.thetas(p.network)
    E, n, B, seed, eta = 4, p.data.n, 2, 21, 0.3
    rng = np.random.default_rng(seed)  # the documented draws, repeated here
    if replacement:
        idx = rng.integers(0, n, size=B if shared else (E, B))
    else:
        perm = rng.permutation(n) if shared else rng.permuted(np.tile(np.arange(n), (E, 1)), axis=1)
        idx = perm[..., :B]
    res = run_descent(land, theta0, step_size=eta, steps=1, events=NO_STOP,
                      optimizer=SGD(batch=B, replacement=replacement, seed=seed, shared_batches=shared))
    for e, m in enumerate(res.members):
        drawn = idx if shared else idx[e]
        g = _sub_landscape(p, drawn).grad(theta0[e])
        np.testing.assert_allclose(m.theta, theta0[e] - eta * g, rtol=1e-13, atol=1e-15)
        assert m.costs.n_grad == 1 + 1 + 1  # start, one batch, the checkpoint at the last step
    # Adam's first step from zero moments is lr * g / (|g| + eps) componentwise
    res = run_descent(land, theta0, step_size=eta, steps=1, events=NO_STOP,
                      optimizer=Adam(batch=B, replacement=replacement, seed=seed, shared_batches=shared))
    for e, m in enumerate(res.members):
        g = _sub_landscape(p, idx if shared else idx[e]).grad(theta0[e])
        np.testing.assert_allclose(m.theta, theta0[e] - eta * g / (np.abs(g) + 1e-8), rtol=1e-12, atol=1e-15)


def test_batches_without_replacement_are_epochs_of_permutations() -> None:
    n, B, E = 10, 3, 4
    b = _Batches(n, B, E, replacement=False, shared=False, seed=3)
    draws = [b.draw() for _ in range(9)]  # three epochs of n // B = 3 steps
    assert all(d.shape == (E, B) for d in draws)
    for epoch in range(3):
        chunk = np.concatenate(draws[3 * epoch:3 * epoch + 3], axis=1)
        for e in range(E):
            assert len(set(chunk[e].tolist())) == 9  # no index twice within an epoch
    assert not np.array_equal(np.concatenate(draws[:3], axis=1), np.concatenate(draws[3:6], axis=1))
    s = _Batches(n, B, E, replacement=False, shared=True, seed=3)
    assert s.draw().shape == (B,)
    r = _Batches(n, B, E, replacement=True, shared=False, seed=3)
    assert r.draw().shape == (E, B)


def test_sgd_stationary_and_loss_below_are_checked_at_checkpoints() -> None:
    # a linear model on an affine target interpolates: the batch gradients vanish at the fit too
    p = net_problem(widths="[1, 1]", act="identity", target="2*x + 1", ensemble=2)
    land = NpLandscape(p)
    res = run_descent(land, p.init.thetas(p.network), step_size=0.3, steps=5000, checkpoints=40,
                      optimizer=SGD(batch=1, replacement=True, seed=1), events=Events(gtol=1e-9))
    ck_steps = set(_checkpoint_steps(5000, 40).tolist())
    for m in res.members:
        assert m.status is Status.STATIONARY and m.grad_norm <= 1e-9
        assert m.t in ck_steps and m.checkpoints.t[-1] == m.t
        np.testing.assert_allclose(m.theta, [2.0, 1.0], atol=1e-8)
    res = run_descent(land, p.init.thetas(p.network), step_size=0.3, steps=5000, checkpoints=40,
                      optimizer=SGD(batch=1, replacement=True, seed=1), events=Events(gtol=1e-300, loss_below=1e-6))
    for m in res.members:
        assert m.status is Status.LOSS_BELOW and m.t in ck_steps and m.loss <= 1e-6


# --------------------------------------------------------------------------------------
# Adam
# --------------------------------------------------------------------------------------
def adam_reference(grad, theta, lr, steps, b1=0.9, b2=0.999, eps=1e-8):
    """PyTorch's documented Adam (no weight decay, no amsgrad), one member, plain numpy."""
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    for t in range(1, steps + 1):
        g = grad(theta)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        mhat = m / (1 - b1**t)
        vhat = v / (1 - b2**t)
        theta = theta - lr * mhat / (np.sqrt(vhat) + eps)
    return theta


@pytest.mark.parametrize("betas", [(0.9, 0.999), (0.5, 0.9)])
def test_adam_equals_a_reference_implementation(betas) -> None:
    p = net_problem()
    land = NpLandscape(p)
    theta0 = p.init.thetas(p.network)
    lrs = np.array([1e-3, 1e-2, 5e-2])
    res = run_descent(land, theta0, step_size=lrs, steps=25, events=NO_STOP, optimizer=Adam(betas=betas, eps=1e-7))
    assert res.optimizer == "adam"
    for e, m in enumerate(res.members):
        ref = adam_reference(land.grad, theta0[e], lrs[e], 25, *betas, eps=1e-7)
        np.testing.assert_allclose(m.theta, ref, rtol=1e-11, atol=1e-13)
        assert m.costs.n_grad == 26
    # mini-batches of all n points without replacement: the same up to summation order
    full = run_descent(land, theta0, step_size=lrs, steps=25, events=NO_STOP,
                       optimizer=Adam(betas=betas, eps=1e-7, batch=p.data.n, seed=4))
    for a, b in zip(res.members, full.members):
        np.testing.assert_allclose(b.theta, a.theta, rtol=1e-9, atol=1e-12)


# --------------------------------------------------------------------------------------
# overflow
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("optimizer", [GD(), SGD(batch=2, seed=1), Adam(), Adam(batch=2, replacement=True)])
def test_an_overflowing_member_diverges_quietly_and_alone(optimizer) -> None:
    p = net_problem(ensemble=3)
    land = NpLandscape(p)
    theta0 = p.init.thetas(p.network)
    etas = np.array([0.1, 1e300, 0.05])
    res = run_descent(land, theta0, step_size=etas, steps=30, events=NO_STOP, optimizer=optimizer)
    assert res.members[1].status is Status.DIVERGED
    assert res.members[1].t <= 3
    # the others are exactly what they are without the overflowing member (per-member batches are
    # drawn for all members, so the remaining members see the same batches)
    ref = run_descent(land, theta0, step_size=np.array([0.1, 0.2, 0.05]), steps=30, events=NO_STOP,
                      optimizer=optimizer)
    for e in (0, 2):
        assert res.members[e].status is Status.T1_REACHED
        np.testing.assert_allclose(res.members[e].theta, ref.members[e].theta, rtol=1e-13, atol=1e-14)


def test_overflow_on_a_formula_landscape() -> None:
    res = run_descent(QUAD.np(), [1.0, -1.0], step_size=[0.1, 1e308], steps=10, events=Events(radius=1e300))
    assert res.members[0].status is Status.T1_REACHED
    assert res.members[1].status is Status.DIVERGED


# --------------------------------------------------------------------------------------
# the paper's worked example: a stable GD 2-cycle
# --------------------------------------------------------------------------------------
def test_paper_loss_constant_and_network() -> None:
    assert (Fraction(81, 100) + Fraction(625, 100)) / 4 == Fraction(1765, 1000)
    land = PAPER.np()
    net = paper_network()
    rng = np.random.default_rng(0)
    th = rng.uniform(0.1, 3.0, size=(20, 2))
    u = th[:, 0] * th[:, 1]
    np.testing.assert_allclose(land.loss(th), C * (u - 1) ** 2, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(net.loss(th), land.loss(th), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(net.grad(th), land.grad(th), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(net.hessian(th), land.hessian(th), rtol=1e-12, atol=1e-13)


def two_cycle(eta: float) -> tuple[float, float, float, float]:
    """Hand derivation. On the positive quadrant grad L = 2C(u - 1)(t2, t1), so with
    a = t1 + t2, b = t1 - t2 and s = 2 C eta (u - 1): a' = (1 - s) a, b' = (1 + s) b. A 2-cycle
    with a != 0 needs b = 0 (else (1 - s)(1 - s') = (1 + s)(1 + s') = 1 forces s = s' = 0), i.e.
    t1 = t2 = x with x' = f(x) = (1 + k) x - k x^3, k = 2 C eta. f(p) = q, f(q) = p with p != q
    gives p^2 + pq + q^2 = (2 + k) / k and p^3 + q^3 = p + q, so pq = 1/k, (p + q)^2 = 1 + 3/k:
    p, q = (sqrt(1 + 3/k) +- sqrt(1 - 1/k)) / 2 (real iff k > 1). DG is diagonal in (a, b) on the
    diagonal: the multipliers are f'(p) f'(q) = 9 - 2 (1 + k)^2 and
    (1 + k (p^2 - 1))(1 + k (q^2 - 1)) = 3 - 2k; stable iff 1 < k < sqrt(5) - 1."""
    k = 2 * C * eta
    sigma, root = np.sqrt(1 + 3 / k), np.sqrt(1 - 1 / k)
    return (sigma + root) / 2, (sigma - root) / 2, 9 - 2 * (1 + k) ** 2, 3 - 2 * k


def test_paper_example_gd_converges_for_0_25_and_cycles_for_0_325() -> None:
    land = PAPER.np()
    res = run_descent(land, PAPER_START, step_size=[0.25, 0.325], steps=3000, events=Events(gtol=1e-12))
    converged, cycling = res.members
    # eta = 0.25: a global minimum, t1 t2 = 1, whose normal multiplier 1 - 2 C eta |theta|^2 is in (-1, 1)
    assert converged.status is Status.STATIONARY
    t1, t2 = converged.theta
    assert t1 * t2 == pytest.approx(1.0, abs=1e-12)
    assert abs(1 - 2 * C * 0.25 * (t1**2 + t2**2)) < 1
    fixed = find_cycle(land, 0.25, converged.extra["last"])
    assert isinstance(fixed, Cycle) and fixed.period == 1 and fixed.stable
    np.testing.assert_allclose(fixed.points[0], converged.theta, atol=1e-10)
    mult = sorted(z.real for z in fixed.multipliers)
    assert mult == pytest.approx(sorted([1.0, 1 - 2 * C * 0.25 * (t1**2 + t2**2)]), abs=1e-9)
    # eta = 0.325: all minima are unstable (2 C eta |theta|^2 >= 4 C eta > 2) and GD ends on the 2-cycle
    assert 4 * C * 0.325 > 2
    assert cycling.status is Status.T1_REACHED
    cyc = find_cycle(land, 0.325, cycling.extra["last"])
    assert cyc is not None and cyc.period == 2 and cyc.stable
    p, q, mu_a, mu_b = two_cycle(0.325)
    pts = sorted(cyc.points, key=lambda x: -x[0])
    np.testing.assert_allclose(pts, [[p, p], [q, q]], rtol=1e-13)
    P = np.array(cyc.points[0])
    assert np.linalg.norm(gd_map(land, 0.325, gd_map(land, 0.325, P)) - P) <= 1e-12
    assert np.linalg.norm(gd_map(land, 0.325, P) - P) > 0.1
    assert cyc.residual <= 1e-12
    assert sorted(z.real for z in cyc.multipliers) == pytest.approx(sorted([mu_a, mu_b]), abs=1e-12)
    assert all(abs(z.imag) < 1e-14 for z in cyc.multipliers)
    # the same orbit on the ReLU network itself
    net_cyc = find_cycle(paper_network(), 0.325, cycling.extra["last"])
    assert net_cyc is not None and net_cyc.period == 2
    np.testing.assert_allclose(sorted(net_cyc.points, key=lambda x: -x[0]), [[p, p], [q, q]], rtol=1e-12)


@pytest.mark.parametrize("eta", [0.3, 0.325, 0.36])
def test_two_cycle_multipliers_predict_direct_iteration(eta: float) -> None:
    """Perturb an orbit point and iterate G^2: the perturbation shrinks iff the cycle is stable,
    at the rate of the spectral radius."""
    land = PAPER.np()
    p, q, mu_a, mu_b = two_cycle(eta)
    # start find_cycle from the hand-derived orbit (0.36: unstable, GD would not stay on it)
    thetas = np.array([[p, p], [q, q], [p, p], [q, q]]) + 1e-9
    cyc = find_cycle(land, eta, thetas)
    assert cyc is not None and cyc.period == 2
    np.testing.assert_allclose(sorted(cyc.points, key=lambda x: -x[0]), [[p, p], [q, q]], rtol=1e-12)
    rho = max(abs(mu_a), abs(mu_b))
    assert max(abs(z) for z in cyc.multipliers) == pytest.approx(rho, rel=1e-10)
    assert cyc.stable == (rho < 1)
    base = np.array(cyc.points[0])
    delta = 1e-9 * np.array([0.6, -0.8])
    x = base + delta
    dist = [np.linalg.norm(delta)]
    for _ in range(30):
        x = gd_map(land, eta, gd_map(land, eta, x))
        dist.append(np.linalg.norm(x - base))
    assert (dist[-1] < dist[0]) == cyc.stable
    # after the transient of the smaller multiplier, the distance changes by rho per period
    assert (dist[30] / dist[10]) ** (1 / 20) == pytest.approx(rho, rel=0.03)


def test_find_cycle_returns_none_without_a_cycle() -> None:
    # one logistic datum: GD drifts to infinity ever more slowly, there is no critical point to refine to
    land = ExprLandscape("log(1 + exp(-w))", ["w"]).np()
    res = run_descent(land, [0.0], step_size=1.0, steps=20000, events=NO_STOP)
    last = res.members[0].extra["last"]
    assert abs(last[-1][0] - last[-2][0]) < 1e-3  # small steps: a fixed-point candidate
    assert find_cycle(land, 1.0, last) is None
    # iterates that do not repeat
    assert find_cycle(QUAD.np(), 0.1, [[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]]) is None
    # a diverged run
    res = run_descent(QUAD.np(), [1.0, 1.0], step_size=1e308, steps=10)
    assert find_cycle(QUAD.np(), 1e308, res.members[0].extra["last"]) is None


def test_find_cycle_reports_the_minimal_period() -> None:
    land = PAPER.np()
    p, q, _, _ = two_cycle(0.325)
    # eight iterates on the 2-cycle: periods 2, 4, 6, 8 all repeat; the minimal one is reported
    thetas = np.array([[p, p], [q, q]] * 4)
    cyc = find_cycle(land, 0.325, thetas, max_period=8)
    assert cyc is not None and cyc.period == 2
    assert find_cycle(land, 0.325, thetas, max_period=1) is None


def test_find_cycle_reduces_a_flip_to_its_fixed_point() -> None:
    # L = w^2 / 2, eta = 1.999: G(w) = -0.999 w flips sign each step, so only theta_{K-1} and
    # theta_{K-3} are close; Newton on G^2 - id lands on the fixed point 0, reported as period 1
    land = ExprLandscape("w**2/2", ["w"]).np()
    res = run_descent(land, [0.4], step_size=1.999, steps=3, events=NO_STOP)
    last = res.members[0].extra["last"]
    assert abs(last[-1][0] - last[-2][0]) > 0.5 and abs(last[-1][0] - last[-3][0]) < 1e-3
    cyc = find_cycle(land, 1.999, last)
    assert cyc is not None and cyc.period == 1 and cyc.stable
    assert cyc.points[0][0] == pytest.approx(0.0, abs=1e-15)
    assert cyc.multipliers[0] == pytest.approx(-0.999, rel=1e-12)
    # beyond 2 / eta the same fixed point is unstable
    unstable = find_cycle(land, 2.001, [[1e-6], [-1.001e-6], [1.002e-6]])
    assert unstable is not None and unstable.period == 1 and not unstable.stable


# --------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------
def _call(**kw):
    args = {"landscape": NpLandscape(net_problem()), "theta0": np.zeros(10), "step_size": 0.1, "steps": 10}
    args.update(kw)
    land, theta0 = args.pop("landscape"), args.pop("theta0")
    return run_descent(land, theta0, **args)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"steps": 0}, "steps"),
    ({"steps": 2.5}, "steps"),
    ({"steps": True}, "steps"),
    ({"step_size": 0.0}, "step_size"),
    ({"step_size": -1.0}, "step_size"),
    ({"step_size": float("nan")}, "step_size"),
    ({"theta0": np.zeros((3, 10)), "step_size": np.array([0.1, 0.2])}, "step_size"),
    ({"step_size": np.ones((2, 2))}, "step_size"),
    ({"step_size": "0.1"}, "step_size"),
    ({"theta0": np.zeros(9)}, "theta0"),
    ({"theta0": np.zeros((2, 3, 10))}, "theta0"),
    ({"optimizer": "sgd"}, "optimizer"),
    ({"optimizer": SGD(batch=6)}, "batch"),
    ({"optimizer": Adam(batch=6)}, "batch"),
    ({"landscape": QUAD.np(), "theta0": np.zeros(2), "optimizer": SGD(batch=1)}, "optimizer"),
    ({"landscape": QUAD.np(), "theta0": np.zeros(2), "optimizer": Adam(batch=1)}, "optimizer"),
    ({"landscape": NpLandscape(load_problem(EXAMPLES / "relu-interval.toml")), "optimizer": SGD(batch=1)},
     "optimizer"),
    ({"landscape": QUAD, "theta0": np.zeros(2)}, "landscape"),
    ({"checkpoints": 0}, "checkpoints"),
    ({"keep_last": -1}, "keep_last"),
    ({"sharpness": 1}, "sharpness"),
    ({"events": {"gtol": 1}}, "events"),
    ({"progress": 3}, "progress"),
])
def test_bad_input_names_the_argument(kwargs, field) -> None:
    with pytest.raises(InputError) as info:
        _call(**kwargs)
    assert info.value.field == field


@pytest.mark.parametrize(("make", "field"), [
    (lambda: SGD(batch=0), "batch"),
    (lambda: SGD(batch=2.0), "batch"),
    (lambda: SGD(batch=2, seed=-1), "seed"),
    (lambda: SGD(batch=2, replacement=1), "replacement"),
    (lambda: Adam(betas=(0.9, 1.0)), "betas"),
    (lambda: Adam(betas=(0.9,)), "betas"),
    (lambda: Adam(eps=0.0), "eps"),
    (lambda: Adam(batch=0), "batch"),
    (lambda: find_cycle(QUAD.np(), 0.0, [[0, 0], [0, 0]]), "step_size"),
    (lambda: find_cycle(QUAD.np(), 0.1, [[0, 0]]), "thetas"),
    (lambda: find_cycle(QUAD.np(), 0.1, [[0, 0, 0], [0, 0, 0]]), "thetas"),
    (lambda: find_cycle(QUAD.np(), 0.1, [[0, 0], [0, 0]], max_period=0), "max_period"),
    (lambda: find_cycle(QUAD.np(), 0.1, [[0, 0], [0, 0]], tol=0), "tol"),
])
def test_bad_options_name_the_argument(make, field) -> None:
    with pytest.raises(InputError) as info:
        make()
    assert info.value.field == field


def test_keyword_only_and_progress() -> None:
    land = QUAD.np()
    with pytest.raises(TypeError):
        run_descent(land, [1.0, 1.0], 0.1, 10)  # type: ignore[misc]
    seen: list[float] = []
    run_descent(land, [1.0, 1.0], step_size=0.1, steps=10, progress=seen.append)
    assert seen and seen[-1] == 1.0 and all(0 <= f <= 1 for f in seen)
