"""``verify reproduce sad-polynomial``: the polynomial experiments of Kranz et al. (2025), re-implemented.

The protocol of the authors' code (GitHub ``deeplearningmethods/sad``; ``../shared/theorems.md``
section 1): a fully connected network with widths 1-10-20-10-1 (d = 1) or d-20-40-20-1 (d = 2, 4),
Xavier-uniform weights and zero biases, a fixed training set of 10 000 points uniform on
[-1, 1]^d, the mean squared error against a polynomial target, and either small-step GD
(learning rate 1e-3, mini-batches of 10 000 drawn *with replacement* from the training set each
step, as the paper did; or true full-batch GD) or Adam (learning rate 5e-3, batch 100, PyTorch's
update). The parameter norm and the loss are logged every 2000 steps; the loss curve is smoothed
by an exponential moving average with decay 0.95 and averaged over the runs.

All runs advance together: the parameters of R runs are one array of shape (R, D), and the
forward and backward passes are batched matrix products over a leading run axis
(hand-written, no autodiff framework). A mini-batch of B points drawn with replacement from the
n training points is the multiset of its distinct points with multiplicities; the mini-batch
loss (1/B) sum_j (N(x_{i_j}) - y_{i_j})^2 = sum_i (c_i / B) (N(x_i) - y_i)^2 is evaluated on the
~(1 - 1/e) n distinct points only, which is the same number with less work.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import scipy.special as sc

from ..errors import InputError

__all__ = ["SadTarget", "TARGETS", "Mlp", "ema", "xavier_uniform", "add_parser", "run", "train"]

Array = np.ndarray

ACTIVATIONS = ("swish", "softplus", "gelu", "elu", "tanh", "relu")
"""The paper's five activations, and relu as a contrast (outside the theorem: not analytic)."""

OUTSIDE_THEOREM = {"relu": "relu is not real analytic (not SAD): outside Theorems 3.4-3.6, a contrast run",
                   "elu": "elu is C^1 but not real analytic: covered by the dichotomy (Theorem 2.8), "
                          "not by Theorems 3.4-3.6"}


# --------------------------------------------------------------------------------------
# targets
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SadTarget:
    """A polynomial target of the paper with its architecture.

    Attributes
    ----------
    dim : int
        Input dimension d.
    widths : tuple of int
        Layer widths (d, ..., 1).
    formula : str
        The polynomial, in SymPy syntax with variables x1, ..., xd (x for d = 1).
    fn : callable
        x of shape (n, d) -> values of shape (n,).
    """

    dim: int
    widths: tuple[int, ...]
    formula: str
    fn: Callable[[Array], Array]


def _p1(x: Array) -> Array:
    t = x[:, 0]
    return t**10 - 2 * t**8 + 2 * t**5 + 3 * t**3 - 2 * t**2 + 5


def _p2(x: Array) -> Array:
    x1, x2 = x[:, 0], x[:, 1]
    return x2**5 - x1**3 * x2**2 - 4 * x1**2 * x2 + 3 * x1**3 - x2**2 + x1 + 2


def _p4(x: Array) -> Array:
    x1, x2, x3, x4 = x[:, 0], x[:, 1], x[:, 2], x[:, 3]
    return (x1**6 * x4**5 + x2**6 - x1**3 * x2**2 * x3 + x4**2 - 4 * x3**4 * x2**4 + 3 * x4**3 * x2**3
            - x3**2 * x1 + x3 + 3)


TARGETS: dict[int, SadTarget] = {
    1: SadTarget(1, (1, 10, 20, 10, 1), "x**10 - 2*x**8 + 2*x**5 + 3*x**3 - 2*x**2 + 5", _p1),
    2: SadTarget(2, (2, 20, 40, 20, 1), "x2**5 - x1**3*x2**2 - 4*x1**2*x2 + 3*x1**3 - x2**2 + x1 + 2", _p2),
    4: SadTarget(4, (4, 20, 40, 20, 1),
                 "x1**6*x4**5 + x2**6 - x1**3*x2**2*x3 + x4**2 - 4*x3**4*x2**4 + 3*x4**3*x2**3 - x3**2*x1 + x3 + 3",
                 _p4),
}


# --------------------------------------------------------------------------------------
# the batched network
# --------------------------------------------------------------------------------------
def _softplus(z: Array) -> Array:
    """log(1 + e^z) = max(z, 0) + log1p(e^-|z|), computed in place in one array (numpy's logaddexp and
    scipy's expit are 20-50x slower than exp and log1p on float32 arrays)."""
    a = np.abs(z)
    np.negative(a, out=a)
    np.exp(a, out=a)
    np.log1p(a, out=a)
    a += np.maximum(z, 0.0)
    return a


def _sigmoid(z: Array) -> Array:
    """1 / (1 + e^-z) = (1 + tanh(z / 2)) / 2: no overflow, absolute error of a few ulp of 1."""
    g = np.multiply(z, 0.5)
    np.tanh(g, out=g)
    g += 1.0
    g *= 0.5
    return g


def _gelu_derivative(z: Array, s: Array) -> Array:
    """Phi(z) + z phi(z) for s = z Phi(z), with Phi(z) = s / z (2 ulp; 1/2 at z = 0): scipy's ndtr is
    the slow part of GELU, and this way it runs once per step, in the forward pass."""
    phi = np.divide(s, z, out=np.full_like(z, 0.5), where=z != 0)
    e = np.multiply(z, z)
    e *= -0.5
    np.exp(e, out=e)
    e *= 0.3989422804014327 * z
    phi += e
    return phi


def _elu_derivative(z: Array, s: Array) -> Array:
    """1 for z > 0, e^z = s + 1 else; in the dtype of z (np.where with a Python 1.0 would make a
    float64 copy of a float32 array)."""
    d = s + 1.0
    np.copyto(d, 1.0, where=z > 0)
    return d


def _act(name: str) -> tuple[Callable[[Array], Array], Callable[[Array, Array], Array]]:
    """s(z) and s'(z) given (z, s(z)); relu'(0) = 0 as in PyTorch."""
    if name == "tanh":
        return np.tanh, lambda z, s: 1.0 - s * s
    if name == "softplus":
        return _softplus, (lambda z, s: -np.expm1(-s))       # e^-s = 1 - sigmoid(z)
    if name == "swish":
        return (lambda z: z * _sigmoid(z)), (lambda z, s: (g := _sigmoid(z)) * (1.0 + z * (1.0 - g)))
    if name == "gelu":
        return (lambda z: z * sc.ndtr(z)), _gelu_derivative
    if name == "elu":
        return ((lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0.0)))),
                _elu_derivative)
    if name == "relu":
        return (lambda z: np.maximum(z, 0.0)), (lambda z, s: (z > 0).astype(z.dtype))
    raise InputError("--activation", name, "use one of " + ", ".join(ACTIVATIONS))


class Mlp:
    """A fully connected network evaluated for R parameter vectors at once.

    Parameters
    ----------
    widths : sequence of int
        (l_0, ..., l_L); the last layer is affine.
    activation : str
        One of ``ACTIVATIONS``.

    Notes
    -----
    theta has shape (R, D), D = sum_k l_k (l_{k-1} + 1), laid out as (W_1, b_1, ..., W_L, b_L)
    with W_k of shape (l_k, l_{k-1}) row-major: the suite's convention, so theta is the same
    vector ``NpLandscape`` takes. Inputs x have shape (R, M, l_0) (or (M, l_0), shared) and
    weights w shape (R, M): the loss is L_r = sum_m w_rm (N_r(x_rm) - y_rm)^2.
    """

    def __init__(self, widths: tuple[int, ...] | list[int], activation: str) -> None:
        self.widths = tuple(int(w) for w in widths)
        self.activation = activation
        self.s, self.ds = _act(activation)
        self.slices: list[tuple[slice, slice, tuple[int, int]]] = []
        off = 0
        for i, o in zip(self.widths[:-1], self.widths[1:]):
            self.slices.append((slice(off, off + o * i), slice(off + o * i, off + o * i + o), (o, i)))
            off += o * (i + 1)
        self.n_params = off

    def layers(self, theta: Array) -> list[tuple[Array, Array]]:
        """Views (W_k of shape (R, l_k, l_{k-1}), b_k of shape (R, l_k)) into theta (R, D)."""
        R = theta.shape[0]
        return [(theta[:, sw].reshape(R, *shape), theta[:, sb]) for sw, sb, shape in self.slices]

    def forward(self, theta: Array, x: Array) -> tuple[Array, list[Array], list[Array]]:
        """Outputs (R, M) with the hidden pre-activations and activations, each (R, l_k, M)."""
        layers = self.layers(theta)
        a = np.swapaxes(x, -1, -2)  # (R, l0, M) or (l0, M)
        pre: list[Array] = []
        acts: list[Array] = [a]
        for k, (W, b) in enumerate(layers):
            z = W @ a
            z += b[:, :, None]
            if k == len(layers) - 1:
                return z[:, 0, :], pre, acts
            pre.append(z)
            a = self.s(z)
            acts.append(a)
        raise AssertionError  # pragma: no cover

    def loss_and_grad(self, theta: Array, x: Array, y: Array, w: Array) -> tuple[Array, Array]:
        """L (R,) and grad L (R, D) for L_r = sum_m w_rm (N_r(x_rm) - y_rm)^2."""
        out, pre, acts = self.forward(theta, x)
        e = out - y
        loss = np.einsum("rm,rm->r", w, e * e)
        grad = np.empty_like(theta)
        glayers = self.layers(grad)
        layers = self.layers(theta)
        g = (2.0 * w * e)[:, None, :]  # (R, 1, M): dL/d(output)
        for k in range(len(layers) - 1, -1, -1):
            gW, gb = glayers[k]
            gW[...] = g @ np.swapaxes(acts[k], -1, -2)
            gb[...] = g.sum(axis=2)
            if k == 0:
                break
            g = np.swapaxes(layers[k][0], 1, 2) @ g
            g *= self.ds(pre[k - 1], acts[k])
        return loss, grad

    def loss(self, theta: Array, x: Array, y: Array) -> Array:
        """Mean squared error (R,) on shared points x (M, l0), y (M,)."""
        out, _, _ = self.forward(theta, x)
        return np.mean((out - y) ** 2, axis=1)


def xavier_uniform(widths: tuple[int, ...], runs: int, rng: np.random.Generator, dtype: Any = np.float64) -> Array:
    """Xavier-uniform weights U(-a, a), a = sqrt(6 / (fan_in + fan_out)), zero biases: (runs, D)."""
    mlp = Mlp(widths, "tanh")
    theta = np.zeros((runs, mlp.n_params), dtype=dtype)
    for (sw, _, (o, i)) in mlp.slices:
        a = math.sqrt(6.0 / (i + o))
        theta[:, sw] = rng.uniform(-a, a, size=(runs, o * i))
    return theta


def ema(values: Array, decay: float = 0.95) -> Array:
    """Exponential moving average along the last axis: m_0 = v_0, m_k = decay m_{k-1} + (1 - decay) v_k."""
    v = np.asarray(values, dtype=np.float64)
    out = np.empty_like(v)
    out[..., 0] = v[..., 0]
    for k in range(1, v.shape[-1]):
        out[..., k] = decay * out[..., k - 1] + (1.0 - decay) * v[..., k]
    return out


def logged_ema(curves_loss: Array, steps: Array, decay: float = 0.95) -> Array:
    """EMA over the logged losses after step 0 (the authors' loss lists start at the first logging
    step); the value at step 0 is the raw loss there.

    With decay 0.95 over points 2000 steps apart the EMA remembers ~20 points (40 000 steps): while
    the loss falls by orders of magnitude it lags far above the raw loss (reported alongside).
    """
    out = np.array(curves_loss, dtype=np.float64, copy=True)
    start = 1 if len(steps) and steps[0] == 0 else 0
    if out.shape[-1] > start:
        out[..., start:] = ema(out[..., start:], decay)
    return out


# --------------------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Curves:
    """Logged values: steps (K,), norms (R, K), losses (R, K) on the training set, batch losses (R, K)."""

    steps: Array
    norm: Array
    loss: Array
    batch_loss: Array
    test_loss: Array
    wall: float


def _test_grid(dim: int, dtype: Any) -> Array:
    m = max(2, round(1000 ** (1.0 / dim)))
    axes = np.meshgrid(*[np.linspace(-1.0, 1.0, m)] * dim, indexing="ij")
    return np.stack([a.ravel() for a in axes], axis=1).astype(dtype)


def train(*, dim: int = 1, activation: str = "tanh", optimizer: str = "gd", runs: int = 20, steps: int = 500_000,
          full_batch: bool = False, seed: int = 0, log_every: int = 2000, train_size: int = 10_000,
          batch: int | None = None, step_size: float | None = None, dtype: Any = np.float64,
          on_log: Callable[[Curves, Array], None] | None = None,
          progress: Callable[[float], None] | None = None) -> tuple[Curves, Array]:
    """Run the paper's protocol for ``runs`` runs at once; returns the logged curves and the final theta.

    Parameters
    ----------
    dim : {1, 2, 4}
        Input dimension: selects the target and the architecture (``TARGETS``).
    activation : str
        One of ``ACTIVATIONS``.
    optimizer : {"gd", "adam"}
        GD (default step size 1e-3, mini-batch 10 000 with replacement, or the full batch) or Adam
        (PyTorch's update, default step size 5e-3, batch 100 with replacement).
    runs, steps, seed : int
        Independent runs (vectorized), iterations, seed of the initialization, data and batches.
    full_batch : bool
        GD on the whole training set (the exact gradient of the empirical loss) instead of mini-batches.
    log_every : int
        Logging interval (steps); step 0 is logged too.
    on_log : callable, optional
        Called with the curves so far and theta after every logging point (partial results).
    progress : callable, optional
        Called with the fraction done.

    Returns
    -------
    Curves, ndarray (runs, D)
    """
    if dim not in TARGETS:
        raise InputError("--dim", dim, "use 1, 2 or 4 (the paper's three targets)")
    if activation not in ACTIVATIONS:
        raise InputError("--activation", activation, "use one of " + ", ".join(ACTIVATIONS))
    if optimizer not in ("gd", "adam"):
        raise InputError("--optimizer", optimizer, "use gd or adam")
    for name, value, low in (("--runs", runs, 1), ("--steps", steps, 1), ("--log-every", log_every, 1),
                             ("--train-size", train_size, 2)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise InputError(name, value, f"must be an integer >= {low}")
    if full_batch and optimizer != "gd":
        raise InputError("--full-batch", True, "applies to --optimizer gd only")
    target = TARGETS[dim]
    mlp = Mlp(target.widths, activation)
    rng = np.random.default_rng(seed)
    theta = xavier_uniform(target.widths, runs, rng, dtype)
    X = rng.uniform(-1.0, 1.0, size=(train_size, dim)).astype(dtype)
    Y = target.fn(X.astype(np.float64)).astype(dtype)
    Xt = _test_grid(dim, dtype)
    Yt = target.fn(Xt.astype(np.float64)).astype(dtype)
    batch = (train_size if optimizer == "gd" else 100) if batch is None else batch
    eta = (1e-3 if optimizer == "gd" else 5e-3) if step_size is None else step_size
    if optimizer == "adam":
        m = np.zeros_like(theta)
        v = np.zeros_like(theta)
        b1, b2, eps = 0.9, 0.999, 1e-8
    n_log = steps // log_every + 1
    log_steps = np.zeros(n_log, dtype=np.int64)
    norms = np.full((runs, n_log), np.nan)
    losses = np.full((runs, n_log), np.nan)
    batch_losses = np.full((runs, n_log), np.nan)
    test_losses = np.full((runs, n_log), np.nan)
    full_w = np.full((runs, train_size), 1.0 / train_size, dtype=dtype)
    Xr = np.broadcast_to(X, (runs, *X.shape))
    Yr = np.broadcast_to(Y, (runs, train_size))
    offsets = (np.arange(runs) * train_size)[:, None]
    start = time.perf_counter()
    k_log = 0

    def log(step: int, batch_loss: Array) -> None:
        nonlocal k_log
        log_steps[k_log] = step
        norms[:, k_log] = np.linalg.norm(theta.astype(np.float64), axis=1)
        losses[:, k_log] = mlp.loss(theta, X, Y)
        test_losses[:, k_log] = mlp.loss(theta, Xt, Yt)
        batch_losses[:, k_log] = batch_loss
        k_log += 1
        if on_log is not None:
            on_log(_curves(time.perf_counter() - start), theta)

    def _curves(wall: float) -> Curves:
        return Curves(log_steps[:k_log].copy(), norms[:, :k_log].copy(), losses[:, :k_log].copy(),
                      batch_losses[:, :k_log].copy(), test_losses[:, :k_log].copy(), wall)

    log(0, np.full(runs, np.nan))
    for step in range(1, steps + 1):
        if optimizer == "gd" and full_batch:
            loss, grad = mlp.loss_and_grad(theta, Xr, Yr, full_w)
        elif batch >= 1000:  # with replacement: distinct points with multiplicities
            idx = rng.integers(0, train_size, size=(runs, batch))
            counts = np.bincount((idx + offsets).ravel(), minlength=runs * train_size).reshape(runs, train_size)
            width = int((counts > 0).sum(axis=1).max())
            order = np.argsort(counts == 0, axis=1, kind="stable")[:, :width]  # distinct points first
            c = np.take_along_axis(counts, order, axis=1)
            loss, grad = mlp.loss_and_grad(theta, X[order], Y[order], (c / batch).astype(dtype))
        else:
            idx = rng.integers(0, train_size, size=(runs, batch))
            loss, grad = mlp.loss_and_grad(theta, X[idx], Y[idx], np.full((runs, batch), 1.0 / batch, dtype=dtype))
        if optimizer == "gd":
            theta -= eta * grad
        else:
            m *= b1
            m += (1 - b1) * grad
            v *= b2
            v += (1 - b2) * grad * grad
            bc1 = 1 - b1**step
            bc2 = 1 - b2**step
            theta -= (eta / bc1) * m / (np.sqrt(v) / math.sqrt(bc2) + eps)
        if step % log_every == 0:
            log(step, loss)
            if progress is not None:
                progress(step / steps)
    return _curves(time.perf_counter() - start), theta


def time_per_run_step(*, dim: int = 1, activation: str = "tanh", runs: int = 4, steps: int = 20,
                      dtype: Any = np.float64, full_batch: bool = False) -> float:
    """Measured wall time (s) of one step of one run (GD, batch 10 000), from ``steps`` steps of ``runs`` runs."""
    train(dim=dim, activation=activation, runs=runs, steps=2, log_every=10**9, dtype=dtype, full_batch=full_batch)
    curves, _ = train(dim=dim, activation=activation, runs=runs, steps=steps, log_every=10**9, dtype=dtype,
                      full_batch=full_batch)
    return curves.wall / (runs * steps)


# --------------------------------------------------------------------------------------
# outputs
# --------------------------------------------------------------------------------------
def summarize(curves: Curves, *, config: dict[str, Any]) -> dict[str, Any]:
    """Mean curves and the paper's two findings: the mean norm rises monotonically, the loss falls."""
    steps_done = int(curves.steps[-1]) if len(curves.steps) else 0
    runs = curves.norm.shape[0]
    mean_norm = np.nanmean(curves.norm, axis=0)
    ema_loss = logged_ema(curves.loss, curves.steps)
    mean_ema = np.nanmean(ema_loss, axis=0)
    mean_raw = np.nanmean(curves.loss, axis=0)
    dl = np.diff(mean_raw)
    dn = np.diff(mean_norm)
    monotone = bool(np.all(dn >= 0)) if dn.size else None
    fell = bool(mean_ema[-1] < mean_ema[0]) if mean_ema.size > 1 else None
    finite = bool(np.all(np.isfinite(curves.norm)) and np.all(np.isfinite(curves.loss)))
    return {
        "config": config,
        "activation_in_theorem": config["activation"] not in OUTSIDE_THEOREM,
        "note": OUTSIDE_THEOREM.get(config["activation"], "SAD activation: Theorems 2.8 and 3.4-3.6 apply"),
        "steps_done": steps_done,
        "runs": runs,
        "wall_s": curves.wall,
        "wall_per_run_step_s": curves.wall / max(1, runs * steps_done),
        "finite": finite,
        "mean_norm_first": float(mean_norm[0]),
        "mean_norm_last": float(mean_norm[-1]),
        "mean_norm_monotone": monotone,
        "mean_norm_increments_positive_fraction": float(np.mean(dn > 0)) if dn.size else None,
        "runs_norm_monotone": int(np.sum(np.all(np.diff(curves.norm, axis=1) >= 0, axis=1))),
        "mean_ema_loss_first": float(mean_ema[0]),
        "mean_ema_loss_last": float(mean_ema[-1]),
        "loss_fell": fell,
        "mean_train_loss_first": float(mean_raw[0]),
        "mean_train_loss_monotone": bool(np.all(dl <= 0)) if dl.size else None,
        "mean_train_loss_decrements_fraction": float(np.mean(dl < 0)) if dl.size else None,
        "mean_train_loss_last": float(np.nanmean(curves.loss[:, -1])),
        "mean_test_loss_last": float(np.nanmean(curves.test_loss[:, -1])),
    }


def _summary_text(s: dict[str, Any]) -> str:
    c = s["config"]
    lines = [f"sad-polynomial d={c['dim']} {c['activation']} {c['optimizer']}"
             f"{' full-batch' if c['full_batch'] else ''}: {s['runs']} runs x {s['steps_done']} steps "
             f"({c['dtype']}, seed {c['seed']})",
             f"  {s['note']}",
             f"  wall {s['wall_s']:.1f} s, {1e3 * s['wall_per_run_step_s']:.3f} ms per run-step",
             f"  mean |theta|: {s['mean_norm_first']:.6g} -> {s['mean_norm_last']:.6g}; monotone rise: "
             f"{s['mean_norm_monotone']} (increments > 0: {s['mean_norm_increments_positive_fraction']}); "
             f"runs with monotone |theta|: {s['runs_norm_monotone']}/{s['runs']}",
             f"  mean EMA(0.95) training loss: {s['mean_ema_loss_first']:.6g} -> {s['mean_ema_loss_last']:.6g}; "
             f"fell: {s['loss_fell']}",
             f"  mean training loss (raw): {s['mean_train_loss_first']:.6g} -> {s['mean_train_loss_last']:.6g}; "
             f"monotone fall: {s['mean_train_loss_monotone']} (decrements: {s['mean_train_loss_decrements_fraction']})",
             f"  last mean training loss {s['mean_train_loss_last']:.6g}, test loss {s['mean_test_loss_last']:.6g}"]
    return "\n".join(lines)


def write_outputs(out: Path, curves: Curves, theta: Array, config: dict[str, Any], *, plot: bool = True) -> dict:
    """curves.csv (per run), mean.csv, summary.json / summary.txt and curves.png in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    ema_loss = logged_ema(curves.loss, curves.steps)
    with open(out / "curves.csv.tmp", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["run", "step", "norm", "train_loss", "ema_train_loss", "batch_loss", "test_loss"])
        for r in range(curves.norm.shape[0]):
            for k, st in enumerate(curves.steps):
                w.writerow([r, int(st), repr(float(curves.norm[r, k])), repr(float(curves.loss[r, k])),
                            repr(float(ema_loss[r, k])), repr(float(curves.batch_loss[r, k])),
                            repr(float(curves.test_loss[r, k]))])
    (out / "curves.csv.tmp").replace(out / "curves.csv")
    mean_norm = np.nanmean(curves.norm, axis=0)
    mean_ema = np.nanmean(ema_loss, axis=0)
    mean_ema_test = np.nanmean(logged_ema(curves.test_loss, curves.steps), axis=0)
    with open(out / "mean.csv.tmp", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["step", "mean_norm", "mean_ema_train_loss", "mean_train_loss", "mean_test_loss",
                    "mean_ema_test_loss"])
        for k, st in enumerate(curves.steps):
            w.writerow([int(st), repr(float(mean_norm[k])), repr(float(mean_ema[k])),
                        repr(float(np.nanmean(curves.loss[:, k]))), repr(float(np.nanmean(curves.test_loss[:, k]))),
                        repr(float(mean_ema_test[k]))])
    (out / "mean.csv.tmp").replace(out / "mean.csv")
    np.save(out / "theta.npy", theta)
    summary = summarize(curves, config=config)
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    (out / "summary.txt").write_text(_summary_text(summary) + "\n", encoding="utf-8")
    if plot and len(curves.steps) > 1:
        _plot(out / "curves.png", curves, ema_loss, summary)
    return summary


def load_curves(out: Path) -> tuple[Curves, dict[str, Any]]:
    """The curves and config of a finished or interrupted run, read back from curves.csv / summary.json."""
    with open(out / "curves.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        raise InputError("--redraw", str(out), "curves.csv is empty")
    runs = max(int(r["run"]) for r in rows) + 1
    steps = np.array(sorted({int(r["step"]) for r in rows}), dtype=np.int64)
    pos = {int(st): k for k, st in enumerate(steps)}
    arrays = {key: np.full((runs, len(steps)), np.nan) for key in ("norm", "train_loss", "batch_loss", "test_loss")}
    for r in rows:
        for key, arr in arrays.items():
            arr[int(r["run"]), pos[int(r["step"])]] = float(r[key])
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    curves = Curves(steps, arrays["norm"], arrays["train_loss"], arrays["batch_loss"], arrays["test_loss"],
                    float(summary["wall_s"]))
    return curves, summary["config"]


def _plot(path: Path, curves: Curves, ema_loss: Array, summary: dict[str, Any]) -> None:
    from ..report.plot import _pyplot

    plt = _pyplot()
    c = summary["config"]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    for r in range(curves.norm.shape[0]):
        a1.plot(curves.steps, curves.norm[r], lw=0.6, alpha=0.35)
        a2.plot(curves.steps, ema_loss[r], lw=0.6, alpha=0.35)
    a1.plot(curves.steps, np.nanmean(curves.norm, axis=0), "k", lw=2, label=f"mean of {curves.norm.shape[0]} runs")
    a2.plot(curves.steps, np.nanmean(ema_loss, axis=0), "k", lw=2, label="mean EMA(0.95)")
    a2.plot(curves.steps, np.nanmean(curves.loss, axis=0), "C3--", lw=1.5, label="mean raw loss")
    a1.set_xlabel("step")
    a1.set_title("parameter norm |theta|")
    a2.set_xlabel("step")
    a2.set_yscale("log")
    a2.set_title("training loss: EMA(0.95) over logged points, and raw")
    for a in (a1, a2):
        a.grid(True, alpha=0.3)
        a.legend()
    tag = "" if summary["activation_in_theorem"] else f"  [{c['activation']}: outside the theorem, contrast]"
    fig.suptitle(f"sad-polynomial d={c['dim']}, {c['activation']}, {c['optimizer']}"
                 f"{' full batch' if c['full_batch'] else ''}, {c['dtype']}{tag}")
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------
PROFILE_SETTINGS = {"paper": {"steps": 500_000, "runs": 20, "log_every": 2000},
                    "ci": {"steps": 4000, "runs": 3, "log_every": 200}}


def add_parser(sub: Any) -> None:
    """Register ``verify reproduce``."""
    rp = sub.add_parser(
        "reproduce", help="re-run a paper's numerical experiments",
        description="Re-implement a paper's numerical experiments. sad-polynomial: the polynomial-target experiments "
                    "of Kranz, Gallon, Dereich, Jentzen (arXiv 2505.09572): networks 1-10-20-10-1 (d=1) "
                    "or d-20-40-20-1 (d=2, 4), Xavier-uniform weights, zero biases, 10 000 training points uniform on "
                    "[-1,1]^d; GD (lr 1e-3, mini-batches of 10 000 drawn with replacement, or --full-batch) or Adam "
                    "(lr 5e-3, batch 100); norm and loss logged every 2000 steps; runs vectorized.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="outputs in --out: curves.csv (per run: norm, training loss, its EMA(0.95), mini-batch loss,\n"
               "test loss on a grid of ~1000 points as the authors plotted), mean.csv (mean over runs), curves.png,\n"
               "summary.json / summary.txt (wall time per run-step, whether the mean norm rose monotonically\n"
               "and the loss fell), theta.npy; rewritten at every logging point, so an interrupted run leaves\n"
               "its curves so far.\n\n"
               "The paper's finding: for every SAD activation the mean norm rises monotonically while the loss "
               "falls.\nrelu is offered as a contrast run (not analytic: outside the theorem).\n\n"
               "example:\n  verify reproduce sad-polynomial --dim 1 --activation tanh --runs 3 --steps 20000")
    rp.add_argument("experiment", choices=("sad-polynomial",), help="the experiment")
    rp.add_argument("--dim", type=int, choices=(1, 2, 4), default=1, help="input dimension (default 1)")
    rp.add_argument("--activation", choices=ACTIVATIONS, default="tanh", help="default tanh")
    rp.add_argument("--optimizer", choices=("gd", "adam"), default="gd", help="default gd")
    rp.add_argument("--profile", choices=tuple(PROFILE_SETTINGS), default="paper",
                    help="paper (500000 steps, 20 runs, log every 2000; default) or ci (4000 steps, 3 runs, log "
                         "every 200)")
    rp.add_argument("--runs", type=int, default=None, help="runs (overrides the profile)")
    rp.add_argument("--steps", type=int, default=None, help="steps (overrides the profile)")
    rp.add_argument("--log-every", type=int, default=None, help="logging interval in steps (overrides the profile)")
    rp.add_argument("--full-batch", action="store_true", help="true full-batch GD instead of mini-batches of 10000 "
                                                              "drawn with replacement")
    rp.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                    help="float64 (default) or float32 (the paper's PyTorch precision)")
    rp.add_argument("--seed", type=int, default=0, help="seed of initialization, data and mini-batches (default 0)")
    rp.add_argument("--out", metavar="DIR", default=None, help="output directory (default reports/sad-polynomial-"
                                                                "d<dim>-<activation>-<optimizer>)")
    rp.add_argument("--plot-every", type=int, default=25, help="redraw the figure every K logging points (default 25)")
    rp.add_argument("--json", action="store_true", help="print the summary as JSON")
    gr = rp.add_argument_group("the whole grid (--grid)")
    gr.add_argument("--grid", action="store_true",
                    help="run the paper's grid: --dims x --activations x --optimizers x --runs, sharded over "
                         "--workers; resumable (a rerun skips finished shards); a summary table and a figure per "
                         "dimension in --out (default reports/sad-polynomial-grid)")
    gr.add_argument("--dims", type=int, nargs="+", default=None, metavar="D", help="input dimensions (default 1 2 4)")
    gr.add_argument("--activations", nargs="+", default=None, metavar="NAME",
                    help="activations (default swish softplus gelu elu tanh)")
    gr.add_argument("--optimizers", nargs="+", default=None, metavar="OPT", help="gd, adam (default both)")
    gr.add_argument("--runs-per-shard", type=int, default=5, metavar="K",
                    help="runs per task (default 5; shard k has seed SEED + 1000 k)")
    from ..report.run import add_execution_options

    add_execution_options(rp)
    rp.add_argument("--redraw", action="store_true", help="do not train: rebuild mean.csv, the summary and the "
                                                          "figure of --out from its curves.csv")


def _single_thread_blas() -> str:
    """Make numpy's OpenBLAS single-threaded unless OPENBLAS_NUM_THREADS says otherwise.

    The products here are small (widths <= 40); BLAS threads only contend (measured: 12.6 vs
    2.9 ms per run-step on a shared two-core machine). Returns what was done.
    """
    import ctypes
    import glob
    import os

    if "OPENBLAS_NUM_THREADS" in os.environ:
        return f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']} (from the environment)"
    libs = glob.glob(os.path.join(os.path.dirname(np.__file__) + ".libs", "*openblas*.so*"))
    for path in libs:
        try:
            lib = ctypes.CDLL(path)
        except OSError:  # pragma: no cover - platform dependent
            continue
        for symbol in ("scipy_openblas_set_num_threads64_", "openblas_set_num_threads64_", "openblas_set_num_threads"):
            fn = getattr(lib, symbol, None)
            if fn is not None:
                fn(1)
                return "numpy's OpenBLAS set to 1 thread"
    return "BLAS threads unchanged (set OPENBLAS_NUM_THREADS=1 for speed)"  # pragma: no cover


def _reuse_heap() -> None:
    """Keep freed arrays in glibc's heap instead of returning them to the OS.

    The hot loop allocates arrays of a few MB each step; glibc serves those by mmap and unmaps
    them on free, so every step pays page faults (measured: 4.2 -> 1.3 ms per run-step for
    the 1-10-20-10-1 network). A no-op where glibc is absent.
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if not name:  # pragma: no cover - platform dependent
        return
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt(-3, 1 << 30)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 1 << 31)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        return


def _config(dim: int, activation: str, optimizer: str, full_batch: bool, runs: int, steps: int, log_every: int,
            dtype: str, seed: int) -> dict[str, Any]:
    return {"experiment": "sad-polynomial", "dim": dim, "widths": list(TARGETS[dim].widths),
            "target": TARGETS[dim].formula, "activation": activation, "optimizer": optimizer,
            "full_batch": full_batch, "runs": runs, "steps": steps, "log_every": log_every,
            "dtype": dtype, "seed": seed, "train_size": 10_000, "batch": 10_000 if optimizer == "gd" else 100,
            "step_size": 1e-3 if optimizer == "gd" else 5e-3,
            "batches": "full" if full_batch else "drawn with replacement"}


def config_of(c: Any) -> dict[str, Any]:
    """The configuration record of a grid configuration (``verify.experiments.grid.GridConfig``)."""
    out = _config(c.dim, c.activation, c.optimizer, c.full_batch, c.runs, c.steps, c.log_every, c.dtype, c.seed)
    out.update(runs_per_shard=c.runs_per_shard, shard_seeds=[c.seed + 1000 * k for k, _ in c.shards])
    return out


def _run_grid(args: argparse.Namespace, runs: int, steps: int, log_every: int) -> int:
    from ..claims.execute import executor
    from ..report.progress import ProgressBar
    from .grid import configs_from_args, run_grid

    configs = configs_from_args(args, runs=runs, steps=steps, log_every=log_every)
    out = Path(args.out) if args.out else Path("reports") / "sad-polynomial-grid"
    bar = ProgressBar("sad-polynomial grid")
    with executor(workers=args.workers, scheduler=args.scheduler) as ex:
        rows = run_grid(configs, out, ex, progress=bar, note=lambda text: print(text, file=sys.stderr))
    bar.close()
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        print((out / "grid_summary.md").read_text(encoding="utf-8") + f"\noutputs: {out}/")
    return 0


def run(args: argparse.Namespace) -> int:
    """Run ``verify reproduce``."""
    from ..report.progress import ProgressBar

    if args.redraw:
        if not args.out:
            raise InputError("--redraw", True, "give the run's directory with --out DIR")
        try:
            curves, config = load_curves(Path(args.out))
            theta = np.load(Path(args.out) / "theta.npy", allow_pickle=False)   # data only, never pickles
        except InputError:
            raise
        except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
            raise InputError("--redraw", args.out, f"the run's files cannot be read ({type(exc).__name__}: {exc}): "
                                                   "give the folder of a verify reproduce run") from None
        summary = write_outputs(Path(args.out), curves, theta, config, plot=True)
        print(json.dumps(summary, indent=1) if args.json else _summary_text(summary) + f"\n  outputs: {args.out}/")
        return 0
    _reuse_heap()
    blas = _single_thread_blas()

    prof = PROFILE_SETTINGS[args.profile]
    runs = prof["runs"] if args.runs is None else args.runs
    steps = prof["steps"] if args.steps is None else args.steps
    log_every = prof["log_every"] if args.log_every is None else args.log_every
    if args.grid:
        return _run_grid(args, runs, steps, log_every)
    if args.plot_every < 1:
        raise InputError("--plot-every", args.plot_every, "must be >= 1")
    out = Path(args.out) if args.out else Path("reports") / (
        f"sad-polynomial-d{args.dim}-{args.activation}-{args.optimizer}{'-full' if args.full_batch else ''}")
    dtype = np.float64 if args.dtype == "float64" else np.float32
    config = _config(args.dim, args.activation, args.optimizer, args.full_batch, runs, steps, log_every, args.dtype,
                     args.seed)
    config["blas_threads"] = blas
    count = 0

    def on_log(curves: Curves, theta: Array) -> None:
        nonlocal count
        count += 1
        write_outputs(out, curves, theta, config, plot=(count % args.plot_every == 1) or args.plot_every == 1)

    bar = ProgressBar(f"sad-polynomial d={args.dim} {args.activation} {args.optimizer}")
    curves, theta = train(dim=args.dim, activation=args.activation, optimizer=args.optimizer, runs=runs, steps=steps,
                          full_batch=args.full_batch, seed=args.seed, log_every=log_every, dtype=dtype,
                          on_log=on_log, progress=bar)
    bar.close()
    summary = write_outputs(out, curves, theta, config, plot=True)
    print(json.dumps(summary, indent=1) if args.json else _summary_text(summary) + f"\n  outputs: {out}/")
    return 0
