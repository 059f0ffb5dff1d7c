r"""Stability of global minima under GD and SGD, and the non-singularity of GD maps.

For a loss L with a set M of global minima and a step size eta, the GD map is
G(theta) = theta - eta grad L(theta), with derivative DG = I - eta H (H the Hessian).

**GD (mu).** At theta in M let N be the normal space of M: the span of the eigenvectors of
H(theta) whose eigenvalues are not numerically zero (|h| > ``rank_tol`` max(1, max |h|); the
tangent space of a Morse-Bott minimum set is the kernel of H). Then

    mu(theta) = log max_{h in spec(H|_N)} |1 - eta h|,

and the minimum is linearly stable under GD if mu < 0, unstable if mu > 0 (Craciun and
Ghoshdastidar, Corollary 13). For interpolating minima mu < 0 iff every non-zero eigenvalue lies
in (0, 2 / eta).

**SGD (lambda).** With mini-batch Hessians H_xi = (1/B) sum_{i in xi} H_i (H_i the Hessian of the
loss of datum i alone, so that H is the mean of the H_i),

    lambda(theta) = lim_n (1/n) log |P (I - eta H_{xi_n}) ... P (I - eta H_{xi_1}) v|,

P the orthogonal projection onto N, v a random unit vector of N: the top Lyapunov exponent of
the random products (Chemnitz and Engel, arXiv 2407.20209). The batches are B distinct indices
drawn uniformly (without ``weights``; B = n gives lambda = mu) or B indices drawn independently
with probabilities ``weights``. The estimate is the mean of the per-step log growths after a
burn-in; its confidence interval comes from batch means (the steps split into ``blocks``
consecutive blocks, Student's t on the block means).

**Non-singularity.** ``gd_nonsingularity`` samples theta and evaluates det(I - eta H(theta)) (in
float64 or at ``dps`` digits): the fraction of samples where it vanishes, the step sizes
1 / h that recur among the sampled Hessians (candidates for the exceptional step sizes where
det vanishes on a set of positive measure), and, for a formula landscape, the determinant as a
SymPy expression, piece by piece, with the pieces on which it vanishes identically.
``preimage_measure`` measures G^{-1}([c - r, c + r]^d) inside a box for shrinking r (a fine grid
in 1-D, seeded Monte Carlo otherwise); ``preimage_measure_exact`` does it exactly in 1-D for
piecewise polynomial formulas.

References
----------
C. Craciun, D. Ghoshdastidar, "On the non-singularity of gradient descent maps and the stability
of minima", arXiv 2510.24466 (Proposition 11, Lemma 10, Corollary 13, Figure 1, Section 5).
D. Chemnitz, M. Engel, "Characterizing dynamical stability of stochastic gradient descent in
overparameterized learning", arXiv 2407.20209.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any, Callable, Sequence

import numpy as np

from ..errors import InputError
from ..problem.limits import check_memory, ensemble_bytes

__all__ = ["MinimumStability", "Lyapunov", "PreimageMeasure", "Nonsingularity", "gd_stability", "sgd_lyapunov",
           "minimum_stability", "sample_minima", "NearMinimumRun",
           "run_near_minimum", "gd_nonsingularity", "preimage_measure", "preimage_measure_exact",
           "add_parser", "run"]

Array = np.ndarray
Source = Any

#: eigenvalues with |h| <= RANK_TOL * max(1, max |h|) span the tangent space of M
RANK_TOL = 1e-8
#: |mu| or the confidence interval of lambda within this of 0: the boundary (undecided)
BOUNDARY = 1e-3


# --------------------------------------------------------------------------------------
# validation and tiers
# --------------------------------------------------------------------------------------
def _positive(name: str, value: object) -> float:
    if isinstance(value, bool) or isinstance(value, bytes):
        raise InputError(name, value, "must be a positive number")
    try:
        v = float(Fraction(value.strip())) if isinstance(value, str) else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, ZeroDivisionError):
        raise InputError(name, value, "must be a positive number") from None
    if not (v > 0 and math.isfinite(v)):
        raise InputError(name, value, "must be a positive finite number")
    return v


def _int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < minimum:
        raise InputError(name, value, f"must be an integer >= {minimum}")
    return int(value)


def _is_expr(source: Source) -> bool:
    from ..landscapes.formula import ExprLandscape

    return isinstance(source, ExprLandscape)


def _np_land(source: Source) -> Any:
    from ..landscapes.formula import ExprLandscape
    from ..landscapes.np import NpLandscape
    from ..problem.problem import Problem

    if isinstance(source, ExprLandscape):
        return source.np()
    if isinstance(source, Problem):
        return NpLandscape(source)
    raise InputError("source", type(source).__name__, "give a verify.Problem or a verify.ExprLandscape")


def _mp_land(source: Source, dps: int) -> Any:
    from ..landscapes.mp import MpLandscape

    if _is_expr(source):
        return source.mp(dps)
    return MpLandscape(source, dps=dps)


def _theta(theta: object, d: int) -> Array:
    if isinstance(theta, (list, tuple)) and any(isinstance(v, (str, Fraction)) for v in theta):
        from ..problem.numbers import to_fraction

        theta = [float(to_fraction(v, f"theta[{i}]")) for i, v in enumerate(theta)]
    try:
        th = np.array(theta, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError("theta", theta, f"give {d} numbers") from None
    if th.shape != (d,) or not np.all(np.isfinite(th)):
        raise InputError("theta", theta, f"give {d} finite numbers")
    return th


def datum_sources(source: Source) -> list[Any]:
    """One problem per data point: the loss of datum i alone (same network, target and factor)."""
    from ..problem.problem import Data, Problem

    if not isinstance(source, Problem) or source.data.interval is not None:
        raise InputError("source", getattr(source, "name", type(source).__name__),
                         "SGD needs a problem with point data (points, grid or sample), not a formula or an interval")
    return [replace(source, data=Data.from_points([list(p)])) for p in source.data.points]


def _weights(weights: Sequence[object] | None, n: int) -> Array | None:
    if weights is None:
        return None
    if isinstance(weights, (str, bytes)) or len(weights) != n:
        raise InputError("weights", weights, f"give {n} non-negative numbers, one per data point")
    w = np.array([_nonneg(f"weights[{i}]", v) for i, v in enumerate(weights)])
    if not w.sum() > 0:
        raise InputError("weights", weights, "at least one weight must be positive")
    return w / w.sum()


def _nonneg(name: str, v: object) -> float:
    if isinstance(v, bool) or isinstance(v, (bytes,)):
        raise InputError(name, v, "must be a non-negative number")
    try:
        f = float(Fraction(v)) if isinstance(v, str) else float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError, ZeroDivisionError):
        raise InputError(name, v, "must be a non-negative number such as 0.5 or \"1/3\"") from None
    if not (f >= 0 and math.isfinite(f)):
        raise InputError(name, v, "must be a non-negative finite number")
    return f


# --------------------------------------------------------------------------------------
# normal space and mu
# --------------------------------------------------------------------------------------
def normal_space(hessian: Array, *, rank_tol: float = RANK_TOL) -> tuple[Array, Array]:
    """Eigenvalues (ascending) and an orthonormal basis (d, r) of the span of the eigenvectors
    with |h| > rank_tol * max(1, max |h|)."""
    H = 0.5 * (hessian + hessian.T)
    vals, vecs = np.linalg.eigh(H)
    cut = rank_tol * max(1.0, float(np.max(np.abs(vals))) if vals.size else 1.0)
    keep = np.abs(vals) > cut
    return vals[keep], vecs[:, keep]


def _log_abs(x: float) -> float:
    return -math.inf if x == 0 else math.log(abs(x))


def _verdict(upper: float, lower: float, boundary: float) -> bool | None:
    """True (stable) when the exponent is surely below -boundary, False when surely above, else None."""
    if upper < -boundary:
        return True
    if lower > boundary:
        return False
    return None


@dataclass(frozen=True)
class Lyapunov:
    """The SGD exponent lambda at a point, with a confidence interval.

    Attributes
    ----------
    estimate : float
        Mean per-step log growth of the projected product after the burn-in.
    low, high : float
        The confidence interval (``level``) from batch means; equal to ``estimate`` when exact.
    steps, blocks, burn_in : int
    batch : int
    weights : tuple of float or None
        Sampling probabilities (None: uniform batches of distinct indices).
    level : float
    stderr : float
        Standard error of the estimate (from the block means).
    """

    estimate: float
    low: float
    high: float
    steps: int
    blocks: int
    burn_in: int
    batch: int
    weights: tuple[float, ...] | None
    level: float
    stderr: float

    def to_json(self) -> dict[str, Any]:
        from ..problem.numbers import jsonable as _jsonable

        return _jsonable({"estimate": self.estimate, "low": self.low, "high": self.high, "stderr": self.stderr,
                          "steps": self.steps, "blocks": self.blocks, "burn_in": self.burn_in,
                          "batch": self.batch, "weights": self.weights, "level": self.level})


@dataclass(frozen=True)
class MinimumStability:
    """GD and SGD stability of one point of the minimum set.

    Attributes
    ----------
    theta : tuple of float, length d
    loss : float
    normal_dim : int
        Dimension r of the normal space N (d - r: the numerical dimension of M).
    normal_eigenvalues : tuple of float
        Eigenvalues of H on N, ascending (the top one is the sharpness).
    step_size : float
    mu : float
        log max |1 - eta h| over ``normal_eigenvalues`` (-inf when r = 0).
    gd_stable : bool or None
        mu < -1e-3: True; mu > 1e-3: False; else None (the boundary).
    lyapunov : Lyapunov or None
        lambda (None without mini-batches: a formula landscape).
    sgd_stable : bool or None
        From the confidence interval of lambda, as ``gd_stable``.
    """

    theta: tuple[float, ...]
    loss: float
    normal_dim: int
    normal_eigenvalues: tuple[float, ...]
    step_size: float
    mu: float
    gd_stable: bool | None
    lyapunov: Lyapunov | None
    sgd_stable: bool | None

    @property
    def sharpness(self) -> float:
        return self.normal_eigenvalues[-1] if self.normal_eigenvalues else 0.0

    def to_json(self) -> dict[str, Any]:
        from ..problem.numbers import jsonable as _jsonable

        return _jsonable({"theta": self.theta, "loss": self.loss, "normal_dim": self.normal_dim,
                          "normal_eigenvalues": self.normal_eigenvalues, "sharpness": self.sharpness,
                          "step_size": self.step_size, "mu": self.mu, "gd_stable": self.gd_stable,
                          "lambda": None if self.lyapunov is None else self.lyapunov.to_json(),
                          "sgd_stable": self.sgd_stable})


def gd_stability(source: Source, theta: Sequence[object], *, step_size: object, dps: int | None = None,
                 rank_tol: float = RANK_TOL) -> tuple[Any, tuple[Any, ...]]:
    """mu(theta) = log max |1 - eta h| over the Hessian eigenvalues h on the normal space.

    Parameters
    ----------
    source : Problem or ExprLandscape
    theta : sequence of d numbers
        A point of the minimum set (exact numbers are read exactly at ``dps`` digits).
    step_size : number, keyword-only
        eta.
    dps : int or None, keyword-only
        None: float64 (``numpy.linalg.eigh``); else mpmath's ``eigsy`` at ``dps`` digits in the
        landscape's private context (the cut-off is then 10^(-dps/2) relative).
    rank_tol : float, keyword-only
        Relative cut-off of zero eigenvalues (float64).

    Returns
    -------
    (mu, eigenvalues)
        mu as a float (or an mpf at ``dps``), -inf when no eigenvalue survives; the normal
        eigenvalues ascending.
    """
    if dps is None:
        eta = _positive("step_size", step_size)
        land = _np_land(source)
        th = _theta(theta, land.n_params)
        vals, _ = normal_space(np.asarray(land.hessian(th), dtype=np.float64), rank_tol=rank_tol)
        if vals.size == 0:
            return -math.inf, ()
        return max(_log_abs(1.0 - eta * float(h)) for h in vals), tuple(float(h) for h in vals)
    from ..problem.numbers import check_dps, to_fraction

    land = _mp_land(source, check_dps(dps))
    ctx = land.ctx
    q = to_fraction(step_size, "step_size")
    if q <= 0:
        raise InputError("step_size", step_size, "must be positive")
    eta_mp = ctx.mpf(q.numerator) / q.denominator
    H = land.hessian(list(theta))
    d = len(H)
    A = ctx.matrix(d, d)
    for i in range(d):
        for j in range(d):
            A[i, j] = (H[i][j] + H[j][i]) / 2
    E, _ = ctx.eigsy(A)
    mp_vals = sorted(E[i] for i in range(d))
    top = max([abs(v) for v in mp_vals] + [ctx.mpf(1)])
    cut = ctx.mpf(10) ** (-(dps // 2)) * top
    kept = tuple(v for v in mp_vals if abs(v) > cut)
    if not kept:
        return ctx.ninf, ()
    m = max(abs(1 - eta_mp * h) for h in kept)
    return (ctx.ninf if m == 0 else ctx.log(m)), kept


def _datum_hessians(source: Source, theta: Array) -> Array:
    hs = [np.asarray(_np_land(s).hessian(theta), dtype=np.float64) for s in datum_sources(source)]
    return np.stack([0.5 * (h + h.T) for h in hs])


def _draw_batches(rng: np.random.Generator, n: int, batch: int, steps: int, weights: Array | None) -> Array:
    if weights is not None:
        return rng.choice(n, size=(steps, batch), replace=True, p=weights)
    if batch == n:
        return np.tile(np.arange(n), (steps, 1))
    return np.argsort(rng.random((steps, n)), axis=1)[:, :batch]


def sgd_lyapunov(source: Source, theta: Sequence[object], *, step_size: object, batch: int = 1,
                 weights: Sequence[object] | None = None, steps: int = 20_000, blocks: int = 20,
                 burn_in: int | None = None, seed: int = 0, level: float = 0.95,
                 rank_tol: float = RANK_TOL) -> Lyapunov:
    """lambda(theta): the top Lyapunov exponent of the SGD linearization on the normal space.

    Parameters
    ----------
    source : Problem
        A problem with point data (the mini-batch Hessians are those of the data points' own
        losses, averaged over the batch).
    theta : sequence of d numbers
        A point of the minimum set.
    step_size : number, keyword-only
    batch : int, keyword-only
        Mini-batch size B (1 <= B <= n).
    weights : sequence of n numbers or None, keyword-only
        Sampling probabilities of the data points (normalized; B independent draws per step);
        None: B distinct indices drawn uniformly.
    steps : int, keyword-only
        Steps of the product after the burn-in.
    blocks : int, keyword-only
        Number of batch-means blocks of the confidence interval (>= 2).
    burn_in : int or None, keyword-only
        Steps discarded first (default steps // 10).
    seed : int, keyword-only
        Seed of the batches and of the start vector.
    level : float, keyword-only
        Confidence level of the interval.

    Returns
    -------
    Lyapunov
        With a one-dimensional normal space the per-step growths are independent and the
        interval is Student's t on the block means all the same.
    """
    from scipy import stats

    eta = _positive("step_size", step_size)
    batch = _int("batch", batch, 1)
    steps = _int("steps", steps, 2)
    blocks = _int("blocks", blocks, 2)
    seed = _int("seed", seed, 0)
    if steps < blocks:
        raise InputError("steps", steps, f"must be at least blocks = {blocks}")
    burn = steps // 10 if burn_in is None else _int("burn_in", burn_in, 0)
    if isinstance(level, bool) or not isinstance(level, float) or not 0 < level < 1:
        raise InputError("level", level, "must be a number in (0, 1), e.g. 0.95")
    land = _np_land(source)
    th = _theta(theta, land.n_params)
    Hs = _datum_hessians(source, th)
    n = Hs.shape[0]
    if batch > n:
        raise InputError("batch", batch, f"must be at most the number of data points n = {n}")
    w = _weights(weights, n)
    _, Q = normal_space(np.asarray(land.hessian(th), dtype=np.float64), rank_tol=rank_tol)
    r = Q.shape[1]
    wtuple = None if w is None else tuple(float(v) for v in w)
    if r == 0:
        return Lyapunov(-math.inf, -math.inf, -math.inf, steps, blocks, burn, batch, wtuple, level, 0.0)
    A = np.einsum("dr,nde,es->nrs", Q, Hs, Q)  # the data Hessians on the normal space
    rng = np.random.default_rng(seed)
    v = rng.standard_normal(r)
    v /= np.linalg.norm(v)
    total = burn + steps
    growth = np.empty(steps)
    eye = np.eye(r)
    chunk = 4096
    k = 0
    while k < total:
        m = min(chunk, total - k)
        idx = _draw_batches(rng, n, batch, m, w)
        mats = eye[None] - eta * A[idx].mean(axis=1)
        for j in range(m):
            v = mats[j] @ v
            norm = float(np.linalg.norm(v))
            if norm == 0.0 or not math.isfinite(norm):
                if norm == 0.0:
                    return Lyapunov(-math.inf, -math.inf, -math.inf, steps, blocks, burn, batch, wtuple, level, 0.0)
                raise InputError("step_size", step_size, "the product overflowed: the step size is far too large")
            v /= norm
            if k + j >= burn:
                growth[k + j - burn] = math.log(norm)
        k += m
    per = steps // blocks
    means = growth[:per * blocks].reshape(blocks, per).mean(axis=1)
    est = float(growth.mean())
    se = float(means.std(ddof=1) / math.sqrt(blocks))
    half = float(stats.t.ppf(0.5 + level / 2, blocks - 1)) * se
    return Lyapunov(est, est - half, est + half, steps, blocks, burn, batch, wtuple, level, se)


def minimum_stability(source: Source, theta: Sequence[object], *, step_size: object, batch: int | None = 1,
                      weights: Sequence[object] | None = None, steps: int = 20_000, blocks: int = 20,
                      seed: int = 0, boundary: float = BOUNDARY) -> MinimumStability:
    """mu and lambda at one point of the minimum set, with the GD and SGD verdicts.

    ``batch=None`` (or a formula landscape) skips lambda. The verdicts: stable when the
    exponent (the upper end of the confidence interval of lambda) is below -``boundary``,
    unstable when it (the lower end) is above ``boundary``, else None.
    """
    eta = _positive("step_size", step_size)
    land = _np_land(source)
    th = _theta(theta, land.n_params)
    mu, vals = gd_stability(source, list(th), step_size=eta)
    lyap = None
    if batch is not None and not _is_expr(source):
        lyap = sgd_lyapunov(source, list(th), step_size=eta, batch=batch, weights=weights, steps=steps, blocks=blocks,
                            seed=seed)
    return MinimumStability(
        theta=tuple(float(v) for v in th), loss=float(land.loss(th)), normal_dim=len(vals),
        normal_eigenvalues=tuple(float(v) for v in vals), step_size=eta, mu=float(mu),
        gd_stable=_verdict(float(mu), float(mu), boundary), lyapunov=lyap,
        sgd_stable=None if lyap is None else _verdict(lyap.high, lyap.low, boundary))


def sample_minima(source: Source, *, starts: int = 32, seed: int = 0, scale: float = 1.0, t1: float = 200.0,
                  loss_rtol: float = 1e-6) -> tuple[tuple[float, ...], ...]:
    """Points of the set of global minima, sampled by gradient flows from random starts.

    theta_0 ~ N(0, scale^2 I) (seeded), the float64 flow to ``t1``, then Newton's method with
    the pseudo-inverse of the Hessian (cut-off 1e-10 relative) on grad L; the points whose loss
    is within ``loss_rtol`` max(1, |min|) of the smallest loss found are kept (other minima,
    saddles and flows that did not converge are dropped). What is kept are global minima only
    as far as the starts reach: a lower basin no start finds stays unseen.

    Returns
    -------
    tuple of tuples, shape (m, d)
    """
    from ..dynamics.flow import solve_flow

    starts = _int("starts", starts, 1)
    seed = _int("seed", seed, 0)
    scale = _positive("scale", scale)
    t1 = _positive("t1", t1)
    land = _np_land(source)
    d = land.n_params
    check_memory("starts", starts, ensemble_bytes(starts, d), f"use fewer starts (d = {d})")
    X0 = np.random.default_rng(seed).normal(0.0, scale, size=(starts, d))
    res = solve_flow(land, X0, t1=t1, checkpoints=2)
    pts = []
    with np.errstate(all="ignore"):
        for m in res.members:
            p = np.asarray(m.theta, dtype=np.float64)
            if not np.all(np.isfinite(p)):
                continue
            for _ in range(20):
                g = np.asarray(land.grad(p), dtype=np.float64)
                H = np.asarray(land.hessian(p), dtype=np.float64)
                if not (np.all(np.isfinite(g)) and np.all(np.isfinite(H))):
                    break
                step = np.linalg.lstsq(H, -g, rcond=1e-10)[0]
                if np.linalg.norm(step) > 1.0:
                    break
                p = p + step
                if np.linalg.norm(step) <= 1e-15 * max(1.0, float(np.linalg.norm(p))):
                    break
            if np.all(np.isfinite(p)) and np.linalg.norm(land.grad(p)) <= 1e-8 * max(1.0, float(np.linalg.norm(p))):
                pts.append(p)
    if not pts:
        return ()
    losses = np.array([float(land.loss(p)) for p in pts])
    low = float(losses.min())
    keep = losses <= low + loss_rtol * max(1.0, abs(low))
    return tuple(tuple(float(v) for v in p) for p, k in zip(pts, keep) if k)


@dataclass(frozen=True)
class NearMinimumRun:
    """GD or SGD started next to a point theta* of the minimum set.

    Attributes
    ----------
    outcome : {"converged", "left", "undecided"}
        converged: at the end |theta - theta*| <= 10 delta_0 and L - L* <= 1e-6 (L_0 - L*);
        left: |theta - theta*| > 1e3 delta_0 at some step (or a non-finite value);
        undecided: neither within ``steps``.
    steps : int
        Steps taken.
    delta0 : float
        The initial distance |theta_0 - theta*|.
    max_distance, final_distance : float
    final_gap : float
        L(theta_N) - L(theta*).
    distances : tuple of float
        |theta_k - theta*| at about 40 log-spaced steps (for figures).
    """

    outcome: str
    steps: int
    delta0: float
    max_distance: float
    final_distance: float
    final_gap: float
    distances: tuple[float, ...]

    def to_json(self) -> dict[str, Any]:
        from ..problem.numbers import jsonable as _jsonable

        return _jsonable({"outcome": self.outcome, "steps": self.steps, "delta0": self.delta0,
                          "max_distance": self.max_distance, "final_distance": self.final_distance,
                          "final_gap": self.final_gap})


def run_near_minimum(source: Source, theta: Sequence[object], *, step_size: object, steps: int,
                     batch: int | None = None, weights: Sequence[object] | None = None, delta: float = 1e-6,
                     seed: int = 0, dps: int | None = None) -> NearMinimumRun:
    """GD (``batch=None``) or SGD (mini-batches as in :func:`sgd_lyapunov`) from theta* + delta_0 u.

    u is a random unit vector of the normal space at theta* (seeded), delta_0 = ``delta``
    max(1, |theta*|). ``dps``: GD or SGD in the mp tier at ``dps`` digits (theta*, eta and u are
    the same numbers; slow: for confirmations).
    """
    eta = _positive("step_size", step_size)
    steps = _int("steps", steps, 1)
    land = _np_land(source)
    star = _theta(theta, land.n_params)
    _, Q = normal_space(np.asarray(land.hessian(star), dtype=np.float64))
    rng = np.random.default_rng(seed)
    if Q.shape[1] == 0:
        u = rng.standard_normal(star.size)
    else:
        u = Q @ rng.standard_normal(Q.shape[1])
    u /= np.linalg.norm(u)
    d0 = float(delta) * max(1.0, float(np.linalg.norm(star)))
    start = star + d0 * u
    draws = None
    per_datum: list[Any] = []
    if batch is not None:
        subs = datum_sources(source)
        n = len(subs)
        if not 1 <= batch <= n:
            raise InputError("batch", batch, f"must be in 1 .. n = {n}")
        draws = _draw_batches(rng, n, batch, steps, _weights(weights, n))
        per_datum = subs
    if dps is None:
        grads = [_np_land(s) for s in per_datum]

        def grad_at(p: Any, k: int) -> Any:
            if draws is None:
                return np.asarray(land.grad(p), dtype=np.float64)
            return sum(np.asarray(grads[i].grad(p), dtype=np.float64) for i in draws[k]) / len(draws[k])

        def loss(p: Any) -> float:
            return float(land.loss(p))

        def dist(p: Any) -> float:
            return float(np.linalg.norm(p - star))

        p: Any = start.copy()
        step_eta: Any = eta
    else:
        from ..problem.numbers import check_dps, to_fraction

        mp = _mp_land(source, check_dps(dps))
        ctx = mp.ctx
        mgrads = [_mp_land(s, dps) for s in per_datum]
        exact = [to_fraction(v, f"theta[{i}]") for i, v in enumerate(theta)]
        star_mp = [ctx.mpf(v.numerator) / v.denominator for v in exact]
        q = to_fraction(step_size, "step_size")
        step_eta = ctx.mpf(q.numerator) / q.denominator

        def grad_at(p: Any, k: int) -> Any:
            if draws is None:
                return mp.grad(p)
            gs = [mgrads[i].grad(p) for i in draws[k]]
            return [ctx.fsum(g[j] for g in gs) / len(gs) for j in range(len(p))]

        def loss(p: Any) -> float:
            return float(mp.loss(p))

        def dist(p: Any) -> float:
            return float(ctx.sqrt(ctx.fsum((a - b) ** 2 for a, b in zip(p, star_mp))))

        p = [a + ctx.mpf(d0) * ctx.mpf(float(b)) for a, b in zip(star_mp, u)]
    loss_star = loss(star if dps is None else star_mp)
    gap0 = loss(p) - loss_star
    marks = {round(float(v)) for v in np.geomspace(1, steps, 40)}
    series: list[float] = []
    max_d = d0
    outcome = "undecided"
    k = 0
    with np.errstate(all="ignore"):
        for k in range(1, steps + 1):
            g = grad_at(p, k - 1)
            p = p - step_eta * g if dps is None else [a - step_eta * b for a, b in zip(p, g)]
            dk = dist(p)
            if k in marks:
                series.append(dk)
            if not math.isfinite(dk) or dk > 1e3 * d0:
                outcome = "left"
                max_d = dk if math.isfinite(dk) else math.inf
                break
            max_d = max(max_d, dk)
    final_d = dist(p)
    gap = loss(p) - loss_star if math.isfinite(final_d) else math.inf
    if outcome != "left" and final_d <= 10 * d0 and gap <= 1e-6 * max(gap0, 1e-300):
        outcome = "converged"
    return NearMinimumRun(outcome, k, d0, max_d, final_d, gap, tuple(series))


# --------------------------------------------------------------------------------------
# non-singularity
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Nonsingularity:
    """det(I - eta H(theta)) over sampled theta, and the exceptional step-size candidates.

    Attributes
    ----------
    step_size : str
        eta (exact text).
    samples : int
    vanishing : int
        Samples with |det| <= tol * prod(1 + eta |h_i|) (tol 1e-10 in float64, 10^(-dps/2) at dps).
    min_rel_det : float
        The smallest |det| / prod(1 + eta |h_i|) over the samples.
    exceptional : tuple of (float, float)
        Step sizes 1/h recurring (relative 1e-9) in at least max(3, 5%) of the sampled Hessians'
        spectra, with the fraction of samples where they occur: candidates for step sizes at
        which det vanishes on a set of positive measure.
    dps : int or None
    symbolic : tuple of (str, str, bool) or None
        For a formula landscape: the pieces (condition, det(I - eta H) as text, identically zero)
        of det(I - eta H(theta)) at this eta, exact (SymPy).
    box : (float, float)
        theta is sampled uniformly in box^d.
    """

    step_size: str
    samples: int
    vanishing: int
    min_rel_det: float
    exceptional: tuple[tuple[float, float], ...]
    dps: int | None
    symbolic: tuple[tuple[str, str, bool], ...] | None
    box: tuple[float, float]

    @property
    def fraction(self) -> float:
        return self.vanishing / self.samples

    @property
    def identically_zero_piece(self) -> bool | None:
        """Whether det vanishes identically on some piece (None: not computed)."""
        if self.symbolic is None:
            return None
        return any(z for _, _, z in self.symbolic)

    def to_json(self) -> dict[str, Any]:
        from ..problem.numbers import jsonable as _jsonable

        return _jsonable({"step_size": self.step_size, "samples": self.samples, "vanishing": self.vanishing,
                          "fraction": self.fraction, "min_rel_det": self.min_rel_det,
                          "exceptional": [list(e) for e in self.exceptional], "dps": self.dps,
                          "symbolic": None if self.symbolic is None else
                          [{"condition": c, "det": e, "identically_zero": z} for c, e, z in self.symbolic],
                          "box": list(self.box)})


def _symbolic_det(source: Source, eta: Fraction) -> tuple[tuple[str, str, bool], ...]:
    """det(I - eta H) as exact pieces (condition, expression, identically zero)."""
    import sympy

    H = sympy.Matrix(source.hessian_exprs)
    d = H.shape[0]
    e = sympy.Rational(eta.numerator, eta.denominator)
    det = (sympy.eye(d) - e * H).det(method="berkowitz")
    folded = sympy.piecewise_fold(det)
    pieces = folded.args if isinstance(folded, sympy.Piecewise) else ((folded, sympy.true),)
    out = []
    for expr, cond in pieces:
        simple = sympy.simplify(sympy.expand(expr))
        out.append((str(cond), str(simple), bool(simple == 0)))
    return tuple(out)


def gd_nonsingularity(source: Source, *, step_size: object, samples: int = 64, seed: int = 0,
                      box: tuple[float, float] = (-2.0, 2.0), dps: int | None = None,
                      symbolic: bool = True) -> Nonsingularity:
    """Sample det(I - eta H(theta)) for theta uniform in ``box``^d; see :class:`Nonsingularity`.

    Parameters
    ----------
    source : Problem or ExprLandscape
    step_size : number (read exactly), keyword-only
    samples, seed : int, keyword-only
    box : (low, high), keyword-only
    dps : int or None, keyword-only
        None: float64; else the samples (rounded to rationals with 2^-40 spacing) are
        evaluated by the mp tier at ``dps`` digits.
    symbolic : bool, keyword-only
        For a formula landscape, also the exact pieces of det(I - eta H) (SymPy).
    """
    from ..problem.numbers import check_dps, to_fraction

    q = to_fraction(step_size, "step_size")
    if q <= 0:
        raise InputError("step_size", str(q), "must be positive")
    samples = _int("samples", samples, 1)
    seed = _int("seed", seed, 0)
    lo, hi = (float(b) for b in box)
    if not lo < hi:
        raise InputError("box", box, "give (low, high) with low < high")
    land = _np_land(source)
    d = land.n_params
    raw = np.random.default_rng(seed).uniform(lo, hi, size=(samples, d))
    pts = np.round(raw * 2.0**40) / 2.0**40
    eta = float(q)
    rel: list[float] = []
    spectra: list[Array] = []
    if dps is None:
        Hs = np.asarray(land.hessian(pts), dtype=np.float64)
        for H in Hs:
            vals = np.linalg.eigvalsh(0.5 * (H + H.T))
            spectra.append(vals)
            scale = float(np.prod(1.0 + eta * np.abs(vals)))
            rel.append(abs(float(np.prod(1.0 - eta * vals))) / scale)
        tol = 1e-10
    else:
        dps = check_dps(dps)
        mp = _mp_land(source, dps)
        ctx = mp.ctx
        eta_mp = ctx.mpf(q.numerator) / q.denominator
        for p in pts:
            theta = [Fraction(float(v)) for v in p]
            H = mp.hessian(theta)
            A = ctx.matrix([[(H[i][j] + H[j][i]) / 2 for j in range(d)] for i in range(d)])
            E, _ = ctx.eigsy(A)
            vals_mp = [E[i] for i in range(d)]
            spectra.append(np.array([float(v) for v in vals_mp]))
            M = ctx.eye(d) - eta_mp * A
            scale_mp = ctx.fprod([1 + eta_mp * abs(v) for v in vals_mp])
            rel.append(float(abs(ctx.det(M)) / scale_mp))
        tol = 10.0 ** (-(dps // 2))
    vanishing = sum(1 for r in rel if r <= tol)
    recips = [np.array([1.0 / h for h in s if h > 0]) for s in spectra]
    found: list[tuple[float, float]] = []
    need = max(3, math.ceil(0.05 * samples))
    for s in recips:
        for r in s:
            if any(abs(r - f) <= 1e-9 * abs(f) for f, _ in found):
                continue
            count = sum(1 for t in recips if t.size and np.min(np.abs(t - r)) <= 1e-9 * abs(r))
            if count >= need:
                found.append((float(r), count / samples))
    sym = _symbolic_det(source, q) if (symbolic and _is_expr(source)) else None
    return Nonsingularity(str(q), samples, vanishing, float(min(rel)), tuple(sorted(found)), dps, sym, (lo, hi))


@dataclass(frozen=True)
class PreimageMeasure:
    """The measure of G^{-1}(center + [-r, r]^d) inside box^d for each radius r.

    Attributes
    ----------
    radii : tuple of float
    measures : tuple of float (or str for exact values)
    stderr : tuple of float
        Monte Carlo standard errors (0 on a 1-D grid: there the error is at most 2 cells per
        preimage piece boundary, reported in ``resolution``).
    method : str
        "grid", "monte carlo" or "exact".
    resolution : float
        Grid cell length (1-D) or 0.
    """

    radii: tuple[float, ...]
    measures: tuple[Any, ...]
    stderr: tuple[float, ...]
    method: str
    resolution: float

    def ratio(self) -> float:
        """measure at the smallest radius / measure at the largest (1.0 when both are zero)."""
        a, b = float(self.measures[-1]), float(self.measures[0])
        return 1.0 if b == 0 else a / b

    def to_json(self) -> dict[str, Any]:
        from ..problem.numbers import jsonable as _jsonable

        return _jsonable({"radii": self.radii, "measures": self.measures, "stderr": self.stderr,
                          "method": self.method, "resolution": self.resolution, "ratio": self.ratio()})


def preimage_measure(source: Source, *, step_size: object, center: Sequence[float] | None = None,
                     radii: Sequence[float] = (1e-1, 1e-2, 1e-3, 1e-4), box: tuple[float, float] = (-4.0, 4.0),
                     samples: int = 2_000_000, seed: int = 0) -> PreimageMeasure:
    """Measure G^{-1}(B) ∩ box^d for the cubes B = center + [-r, r]^d, r in ``radii`` (descending).

    In 1-D the box is cut into ``samples`` equal cells whose midpoints are mapped (a Riemann sum
    of the indicator); otherwise ``samples`` seeded uniform points (Monte Carlo, with standard
    errors). A non-singular G has measures -> 0 as r -> 0 (like r^d at regular values); a
    singular one can keep a positive measure (Figure 1 of Craciun-Ghoshdastidar: eta = 1/2 maps
    the whole exterior of [-2, 2] to 0).
    """
    eta = _positive("step_size", step_size)
    samples = _int("samples", samples, 100)
    land = _np_land(source)
    d = land.n_params
    c = np.zeros(d) if center is None else _theta(center, d)
    rs = sorted((_positive("radii", r) for r in radii), reverse=True)
    if not rs:
        raise InputError("radii", radii, "give at least one radius")
    lo, hi = (float(b) for b in box)
    if not lo < hi:
        raise InputError("box", box, "give (low, high) with low < high")
    vol = (hi - lo) ** d
    if d == 1:
        cell = (hi - lo) / samples
        pts = (lo + cell * (np.arange(samples) + 0.5))[:, None]
        method, resolution = "grid", cell
    else:
        pts = np.random.default_rng(seed).uniform(lo, hi, size=(samples, d))
        method, resolution = "monte carlo", 0.0
    dist = np.zeros(samples)
    chunk = 200_000
    with np.errstate(all="ignore"):
        for s in range(0, samples, chunk):
            th = pts[s:s + chunk]
            img = th - eta * np.asarray(land.grad(th), dtype=np.float64)
            dist[s:s + chunk] = np.max(np.abs(img - c), axis=1)
    measures, errs = [], []
    for r in rs:
        frac = float(np.mean(dist <= r))
        measures.append(vol * frac)
        errs.append(0.0 if d == 1 else vol * math.sqrt(frac * (1 - frac) / samples))
    return PreimageMeasure(tuple(rs), tuple(measures), tuple(errs), method, resolution)


def preimage_measure_exact(source: Source, *, step_size: object, center: object = 0,
                           radii: Sequence[object] = ("1/10", "1/100", "1/1000", "1/10000"),
                           box: tuple[object, object] = (-4, 4), digits: int = 50) -> PreimageMeasure:
    """The measure of G^{-1}([c - r, c + r]) ∩ box for a 1-D piecewise polynomial formula.

    On each piece (a condition set of the Piecewise, intersected with the box) G = theta -
    eta L'(theta) is a polynomial with rational coefficients; the real roots of G - c -+ r are
    isolated exactly (SymPy ``real_roots``) and evaluated to ``digits`` digits, and between
    consecutive break points the sign is read at the midpoint. The measures are given as decimal
    strings (exact up to ``digits`` digits).
    """
    import mpmath
    import sympy

    from ..problem.numbers import to_fraction

    if not _is_expr(source) or source.n_params != 1:
        raise InputError("source", getattr(source, "name", source), "exact preimages need a 1-D formula landscape")
    (t,) = source.symbols

    def rat(v: object, name: str) -> sympy.Rational:
        f = to_fraction(v, name)
        return sympy.Rational(f.numerator, f.denominator)

    eta, c = rat(step_size, "step_size"), rat(center, "center")
    rs = sorted((rat(r, "radii") for r in radii), reverse=True)
    lo, hi = rat(box[0], "box[0]"), rat(box[1], "box[1]")
    G = sympy.piecewise_fold(t - eta * source.grad_exprs[0])
    pieces = G.args if isinstance(G, sympy.Piecewise) else ((G, sympy.true),)
    rest: Any = sympy.Interval(lo, hi)
    parts = []
    for expr, cond in pieces:
        where = rest if cond is sympy.true else cond.as_set().intersect(rest)
        rest = rest - where
        if not expr.is_polynomial(t):
            raise InputError("source", str(source.expr), "exact preimages need polynomial pieces")
        intervals = where.args if isinstance(where, sympy.Union) else (where,)
        parts.append((sympy.Poly(sympy.expand(expr), t), [iv for iv in intervals if isinstance(iv, sympy.Interval)]))
    ctx = mpmath.MPContext()
    ctx.dps = digits + 10
    measures = []
    for r in rs:
        total = ctx.mpf(0)
        for poly, intervals in parts:
            roots = []
            for shift in (c + r, c - r):
                q = poly - shift
                if q.degree() > 0:
                    roots += [ctx.mpf(sympy.N(z, digits + 10)) for z in q.real_roots()]
            for iv in intervals:
                a, b = ctx.mpf(sympy.N(iv.start, digits + 10)), ctx.mpf(sympy.N(iv.end, digits + 10))
                pts = sorted({a, b, *[z for z in roots if a < z < b]})
                coeffs = [ctx.mpf(sympy.N(k, digits + 10)) for k in poly.all_coeffs()]
                for x0, x1 in itertools.pairwise(pts):
                    value = ctx.polyval(coeffs, (x0 + x1) / 2)
                    if abs(value - ctx.mpf(sympy.N(c, digits + 10))) <= ctx.mpf(sympy.N(r, digits + 10)):
                        total += x1 - x0
        measures.append(ctx.nstr(total, digits))
    return PreimageMeasure(tuple(float(r) for r in rs), tuple(measures), tuple(0.0 for _ in rs), "exact", 0.0)


# --------------------------------------------------------------------------------------
# the command `verify stability`
# --------------------------------------------------------------------------------------
def add_parser(sub: Any) -> None:
    """Register ``verify stability`` on the CLI's subparsers."""
    import argparse

    st = sub.add_parser(
        "stability", help="GD and SGD stability (mu, lambda) of the global minima of a problem",
        description="Sample points of the set M of global minima of a problem (gradient flows from seeded random "
                    "starts, refined by Newton's method), and at each point compute mu = log max |1 - eta h| over "
                    "the Hessian eigenvalues h on the normal space of M (GD stable iff mu < 0) and lambda, the top "
                    "Lyapunov exponent of the products of (I - eta H_xi) on the normal space for random mini-batch "
                    "Hessians H_xi (SGD stable iff lambda < 0; estimated with a 95% confidence interval from batch "
                    "means). Craciun-Ghoshdastidar, arXiv 2510.24466, Corollary 13.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Mini-batches: --batch B distinct indices drawn uniformly per step (B = n gives lambda = mu), or,\n"
               "with --weights, B independent draws with those probabilities (normalized).\n"
               "A formula file ([expression] table) has no data: mu only.\n"
               "The stable region is the set of sampled points with mu < 0 (lambda < 0); points with |mu| or the\n"
               "interval of lambda within 1e-3 of 0 are on the boundary (undecided).\n"
               "--json prints {\"step_size\", \"batch\", \"weights\", \"points\": [...], \"summary\": {...}}.")
    st.add_argument("file", metavar="FILE", help="problem file (TOML) or formula file ([expression] table)")
    st.add_argument("--step-size", type=str, required=True, metavar="ETA", help="step size eta (exact: 0.3 or 3/10)")
    st.add_argument("--batch", type=int, default=1, help="mini-batch size B (default 1)")
    st.add_argument("--weights", type=str, default=None, metavar="W1,W2,...",
                    help="sampling probabilities of the data points (default uniform)")
    st.add_argument("--starts", type=int, default=32, help="random starts sampling M (default 32)")
    st.add_argument("--seed", type=int, default=0, help="seed of the starts and of the batches (default 0)")
    st.add_argument("--scale", type=float, default=1.0, help="standard deviation of the starts (default 1)")
    st.add_argument("--steps", type=int, default=20_000, help="steps of the Lyapunov products (default 20000)")
    st.add_argument("--json", action="store_true", help="print one JSON object")
    st.add_argument("--plot", metavar="PNG", help="draw the sampled minima coloured by GD / SGD stability, and mu, "
                                                  "lambda against the sharpness")


def _stable_text(v: bool | None) -> str:
    return "stable" if v is True else "unstable" if v is False else "boundary"


def _region(points: Sequence[MinimumStability], key: Callable[[MinimumStability], bool | None]) -> dict[str, Any]:
    stable = [p for p in points if key(p) is True]
    out: dict[str, Any] = {"stable": len(stable), "unstable": sum(1 for p in points if key(p) is False),
                           "boundary": sum(1 for p in points if key(p) is None)}
    if stable:
        arr = np.array([p.theta for p in stable])
        out["theta_min"] = arr.min(axis=0).tolist()
        out["theta_max"] = arr.max(axis=0).tolist()
        out["sharpness_range"] = [min(p.sharpness for p in stable), max(p.sharpness for p in stable)]
    return out


def _plot(points: Sequence[MinimumStability], path: str, title: str) -> None:
    from ..report.plot import _pyplot

    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    colours = {True: "tab:blue", False: "tab:red", None: "tab:gray"}
    ax = axes[0]
    for p in points:
        x = p.theta[0]
        y = p.theta[1] if len(p.theta) > 1 else 0.0
        ax.scatter([x], [y], s=40, c=colours[p.gd_stable], marker="o", alpha=0.6)
        if p.lyapunov is not None:
            ax.scatter([x], [y], s=12, c=colours[p.sgd_stable], marker="x")
    ax.set_xlabel("theta_1")
    ax.set_ylabel("theta_2" if points and len(points[0].theta) > 1 else "")
    ax.set_title("sampled minima: o GD, x SGD (blue stable, red unstable)")
    ax = axes[1]
    sharp = [p.sharpness for p in points]
    ax.scatter(sharp, [p.mu for p in points], c="tab:blue", label="mu (GD)")
    lyap = [(p.sharpness, p.lyapunov) for p in points if p.lyapunov is not None]
    if lyap:
        ax.errorbar([s for s, _ in lyap], [ly.estimate for _, ly in lyap],
                    yerr=[[ly.estimate - ly.low for _, ly in lyap], [ly.high - ly.estimate for _, ly in lyap]],
                    fmt="x", c="tab:orange", label="lambda (SGD), 95% CI")
    ax.axhline(0.0, c="k", lw=0.8)
    ax.set_xlabel("sharpness (top Hessian eigenvalue on the normal space)")
    ax.set_ylabel("exponent")
    ax.legend()
    fig.suptitle(title)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run(args: Any) -> int:
    """``verify stability``: print mu, lambda and the stable region along the minimum set."""
    import json

    from ..critical.find import load_source
    from ..problem.numbers import to_fraction

    source, name = load_source(args.file)
    eta_q = to_fraction(args.step_size, "--step-size")
    if eta_q <= 0:
        raise InputError("--step-size", args.step_size, "must be positive")
    eta = float(eta_q)
    weights = None
    if args.weights is not None:
        parts = [s.strip() for s in args.weights.split(",")]
        weights = [str(to_fraction(s, "--weights")) for s in parts]
    expr = _is_expr(source)
    if expr and args.weights is not None:
        raise InputError("--weights", args.weights, "a formula file has no data points: drop --weights")
    if not expr:
        n = len(datum_sources(source))
        if weights is not None and len(weights) != n:
            raise InputError("--weights", args.weights, f"give {n} weights, one per data point")
        if not 1 <= args.batch <= n:
            raise InputError("--batch", args.batch, f"must be in 1 .. n = {n}")
    pts = sample_minima(source, starts=args.starts, seed=args.seed, scale=args.scale)
    if not pts:
        raise InputError("FILE", args.file, "no start reached a minimum: try more --starts or another --scale")
    results = [minimum_stability(source, p, step_size=eta, batch=None if expr else args.batch, weights=weights,
                                 steps=args.steps, seed=args.seed) for p in pts]
    results.sort(key=lambda r: r.sharpness)
    summary = {"points": len(results), "gd": _region(results, lambda p: p.gd_stable),
               "sgd": None if expr else _region(results, lambda p: p.sgd_stable),
               "min_loss": min(r.loss for r in results)}
    title = f"stability of the minima of {name}, step size {eta_q}" + ("" if expr else f", batch {args.batch}")
    if args.plot:
        _plot(results, args.plot, title)
    if args.json:
        from ..problem.numbers import jsonable as _jsonable

        print(json.dumps(_jsonable({"file": args.file, "step_size": str(eta_q), "batch": None if expr else args.batch,
                                    "weights": weights, "points": [r.to_json() for r in results],
                                    "summary": summary}), indent=1))
        return 0
    lines = [title, f"{len(results)} sampled minima (loss {summary['min_loss']:.3g}); GD stable iff mu < 0, SGD iff "
                    "lambda < 0", "",
             f"{'#':>3} {'sharpness':>10} {'r':>2} {'mu':>10} {'GD':<9} {'lambda [95% CI]':<30} {'SGD':<9} theta"]
    for i, r in enumerate(results):
        ly = "-" if r.lyapunov is None else (f"{r.lyapunov.estimate:.4g} [{r.lyapunov.low:.4g}, "
                                             f"{r.lyapunov.high:.4g}]")
        theta = ", ".join(f"{v:.4g}" for v in r.theta[:6]) + (", ..." if len(r.theta) > 6 else "")
        lines.append(f"{i:>3} {r.sharpness:>10.4g} {r.normal_dim:>2} {r.mu:>10.4g} {_stable_text(r.gd_stable):<9} "
                     f"{ly:<30} {'-' if r.lyapunov is None else _stable_text(r.sgd_stable):<9} ({theta})")
    lines.append("")
    for label in ("gd", "sgd"):
        reg: Any = summary[label]
        if reg is None:
            continue
        text = f"{label.upper()}: {reg['stable']} stable, {reg['unstable']} unstable, {reg['boundary']} boundary"
        if "sharpness_range" in reg:
            lo, hi = reg["sharpness_range"]
            text += (f"; stable region: sharpness in [{lo:.4g}, {hi:.4g}], theta in "
                     + " x ".join(f"[{a:.4g}, {b:.4g}]" for a, b in zip(reg["theta_min"], reg["theta_max"])))
        lines.append(text)
    lines.append("The points are what the starts reached: the stable region is reported on them, not proved.")
    if args.plot:
        lines.append(f"figure: {args.plot}")
    print("\n".join(lines))
    return 0
