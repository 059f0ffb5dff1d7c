"""Shared pieces of the shallow-ReLU claims (theorems.md section 2): instances, GD ensembles, the
critical-point search, and the per-run margins.

Not a claim module (the leading underscore keeps it out of ``verify list``); it uses only the
public API of ``verify``.

The GD claims share one pattern, written once here so that every tier runs the same experiment:

1. **Screen.** The whole ensemble (seeded starts and step sizes, each an exact binary rational) is
   run in float64 (``run_descent``), and every run gets its signed margin (``run_margin``).
2. **The deciding runs.** The ``DECIDING`` runs of smallest float64 margin are selected.
3. **The margin** of the instance is the smallest margin of the deciding runs, computed in the
   tier of the experiment: in float64 it is the float64 margin of those runs (which is the
   smallest of the whole ensemble, since the deciding runs include its minimum); at ``dps`` digits
   the deciding runs are replayed from their exact starts with their exact step sizes, for the
   same number of steps, with the same events and criteria, the tolerances scaled by ``tier.tol``.

So the margin is defined by the same runs in every tier, and confirming it costs ``DECIDING``
high-precision runs instead of the whole ensemble.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from fractions import Fraction
from typing import Any, Sequence

import numpy as np
from hypothesis import strategies as st

from verify import (
    Events,
    Instance,
    NpLandscape,
    Tier,
    relu_critical_values,
    relu_problem,
    relu_setting,
    run_descent,
)

#: |grad L| (relative to max(1, alpha^2 (b - a)^3)) below which a GD run has converged (float64;
#: scaled to the tier by ``tier.tol``)
GTOL = 1e-9
#: loss below which (relative to alpha^2 (b - a)^3) a run is at a global minimum: far below the
#: smallest positive classified value alpha^2 (b - a)^3 / (12 (N + 1)^4) >= 1.3e-4 for N <= 4, and
#: above what a run that converges to L = 0 reaches; a modelling threshold between the value 0 and
#: the positive critical values, not a rounding tolerance, so it is the same in every tier
ZERO_LOSS = 1e-8
#: relative size under which a neuron's (w, b) counts as 0 (the nonsmooth saddle w = b = 0) in
#: float64 (scaled to the tier)
TINY = 1e-4
#: relative size under which a Hessian eigenvalue counts as 0 (float64; scaled to the tier)
EIG_TOL = 1e-6
#: the runs (or points) with the smallest float64 margins that decide the margin in every tier
DECIDING = 3
#: cap of the logarithmic margin terms (a term of a run that is nowhere near the criterion)
CAP = 50.0


def nonzero_rationals(lo: int, hi: int) -> st.SearchStrategy[Fraction]:
    return st.builds(Fraction, st.integers(lo, hi).filter(lambda p: p != 0), st.integers(1, 4))


@st.composite
def relu_instances(draw: st.DrawFn, *, max_hidden: int = 3, activations: tuple[str, ...] = ("relu", "leaky_relu"),
                   seeds: bool = True, min_hidden: int = 1) -> Instance:
    """A problem of the setting: N hidden neurons, alpha x + beta on [a, a + length], a seed."""
    n = draw(st.integers(min_hidden, max_hidden))
    act = draw(st.sampled_from(activations))
    alpha = draw(nonzero_rationals(-6, 6))
    beta = Fraction(draw(st.integers(-4, 4)), draw(st.integers(1, 4)))
    a = Fraction(draw(st.integers(-4, 4)), 2)
    length = draw(st.sampled_from([Fraction(1), Fraction(1, 2), Fraction(2), Fraction(3, 2)]))
    slope = draw(st.sampled_from([Fraction(1, 10), Fraction(1, 4), Fraction(1, 2)]))
    prob = relu_problem(n, alpha=alpha, beta=beta, interval=(a, a + length), activation=act, slope=slope)
    params = {"seed": draw(st.integers(0, 10**6))} if seeds else {}
    return Instance(prob, None, params)


def setting_of(problem: Any) -> Any:
    s = relu_setting(problem)
    assert not isinstance(s, str), s
    return s


def scale_of(problem: Any) -> Fraction:
    """alpha^2 (b - a)^3: the loss scale of the setting (the constant fit has 1/12 of it)."""
    s = setting_of(problem)
    return s.alpha ** 2 * s.length ** 3


def smallest_positive_value(problem: Any) -> Fraction:
    """The smallest positive critical value of the classification."""
    return min(v for v in relu_critical_values(problem) if v > 0)


def seed_of(instance: Instance) -> int:
    return int(instance.params.get("seed", "0")) % (2 ** 32)


def log_term(value: Any, threshold: Any) -> float:
    """log10(value / threshold) for value, threshold >= 0, capped to [-CAP, CAP] (float)."""
    v, t = float(value), float(threshold)
    if not math.isfinite(v) or math.isnan(v):
        return CAP
    if v <= 0:
        return -CAP
    if t <= 0:
        return CAP
    return max(-CAP, min(CAP, math.log10(v) - math.log10(t)))


# ---------------------------------------------------------------------------------------
# GD ensembles
# ---------------------------------------------------------------------------------------

def draw_starts(problem: Any, *, members: int, seed: int, eta_lo: float,
                eta_hi: float) -> tuple[np.ndarray, np.ndarray]:
    """Random initializations theta ~ N(0, I) (shape (members, d)) and step sizes
    eta ~ U(eta_lo, eta_hi) / (b - a) (shape (members,)), from ``seed``. Each float64 value is
    an exact binary rational, so a run can be replayed at any precision."""
    s = setting_of(problem)
    rng = np.random.default_rng(seed)
    theta0 = rng.normal(0.0, 1.0, size=(members, problem.n_params))
    eta = rng.uniform(eta_lo, eta_hi, size=members) / float(s.length)
    return theta0, eta


def gd_events(tier: Tier, scale: Fraction, loss_below: Any = None) -> Events:
    """The events of the GD runs at this tier: stationary at |grad L| <= tol(GTOL) max(1, scale),
    diverged at |theta| >= 1e6, and an optional loss level."""
    gtol = float(tier.tol(GTOL)) * max(1.0, float(scale))
    return Events(gtol=gtol, radius=1e6, loss_below=None if loss_below is None else float(loss_below))


def run_ensemble(problem: Any, theta0: np.ndarray, eta: np.ndarray, *, steps: int,
                 events: Events, checkpoints: int = 24) -> Any:
    """The float64 screen: every run at once (``run_descent``)."""
    return run_descent(NpLandscape(problem), theta0, step_size=eta, steps=steps, checkpoints=checkpoints,
                       events=events)


def replay(tier: Tier, problem: Any, theta0: Sequence[float], eta: float, *, steps: int, events: Events,
           checkpoints: int = 24) -> Any:
    """One run of the ensemble at this tier, from its exact start with its exact step size."""
    land = tier.landscape(problem)
    return tier.descent(land, [Fraction(float(v)) for v in theta0], step_size=Fraction(float(eta)), steps=steps,
                        events=events, checkpoints=checkpoints)


def deciding(margins: Sequence[float], count: int = DECIDING) -> list[int]:
    """The indices of the ``count`` smallest margins (ties by index)."""
    order = sorted(range(len(margins)), key=lambda i: (margins[i], i))
    return order[:count]


def neuron_gap(theta: Sequence[Any], n: int, dead_on: tuple[float, float] | None = None) -> float:
    """min_j |(w_j, b_j)| / max(1, |theta|_inf): how far the nearest neuron is from w = b = 0 (float).

    ``dead_on = (a, b)``: neurons strictly inactive on [a, b] (relu: w x + b < 0 at both ends) are
    left out; such a neuron is frozen (its gradient is 0 nearby), so a point where it has small
    (w, b) is a local minimum in its directions, not the nonsmooth saddle w = b = 0. Returns inf
    when no neuron is left.
    """
    th = [float(v) for v in theta]
    size = max(1.0, max((abs(v) for v in th), default=1.0))
    gaps = [math.hypot(th[j], th[n + j]) / size for j in range(n)
            if dead_on is None or max(th[j] * dead_on[0] + th[n + j], th[j] * dead_on[1] + th[n + j]) >= 0]
    return min(gaps, default=math.inf)


def hessian_min_ratio(tier: Tier, land: Any, theta: Any) -> float:
    """lambda_min / max(1e-300, |lambda|_max) of the Hessian at theta, in this tier (float)."""
    H = land.hessian(theta if tier.is_float64 else list(theta))
    lam = tier.eigvalsh(H)
    top = max(abs(float(v)) for v in lam)
    return float(lam[0]) / top if top > 0 else 0.0


def histogram(kinds: list[str]) -> dict[str, int]:
    return dict(sorted(Counter(kinds).items()))


def loss_histogram(losses: list[float], scale: float) -> dict[str, Any]:
    """Final losses / (alpha^2 (b - a)^3) on log-spaced bins (for plots)."""
    edges = [0.0, 1e-12, 1e-10, 1e-8, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, float("inf")]
    rel = np.asarray(losses, dtype=np.float64) / scale
    rel = np.where(np.isfinite(rel), rel, np.inf)
    counts, _ = np.histogram(np.clip(rel, 0, 1e300), bins=[e if np.isfinite(e) else 1e301 for e in edges])
    return {"edges_relative_to_alpha2_len3": [str(e) for e in edges], "counts": [int(c) for c in counts]}


# ---------------------------------------------------------------------------------------
# The critical-point search (relu_critical_points_classified)
# ---------------------------------------------------------------------------------------

#: Levenberg-Marquardt iterations of the float64 search
LM_ITER = 200
#: relative |grad L| at which a point counts as critical (float64; scaled to the tier)
CRIT_GTOL = 1e-10
#: at most this many hidden neurons: the structured starts enumerate 2^k orientation patterns
MAX_SEARCH_HIDDEN = 6


def structured_starts(problem: Any, rng: np.random.Generator, *, reps: int, normal: int) -> np.ndarray:
    """Starts of the critical-point search, shape (S, 3N + 1): knot configurations and N(0, I).

    For every k = 1..N active neurons and every one of the 2^k orientation patterns (each neuron
    active to the right or to the left of its knot), ``reps`` starts with knots at
    a + i (b - a)/(k + 1) jittered by N(0, (0.1 (b - a)/(k + 1))^2), input weights of random size
    exp(N(0, 0.3^2)), the other N - k neurons dead (relu) or idle, and the output weights fitted
    by least squares on a grid of 1001 points; then ``normal`` starts theta ~ N(0, I). Nothing
    here uses a critical value: the starts only say where to look.
    """
    s = setting_of(problem)
    n = s.n_hidden
    a, b = float(s.a), float(s.b)
    alpha, beta = float(s.alpha), float(s.beta)
    xs = np.linspace(a, b, 1001)
    out: list[np.ndarray] = []
    for k in range(1, n + 1):
        h = (b - a) / (k + 1)
        for pattern in itertools.product((1.0, -1.0), repeat=k):
            for _ in range(reps):
                knots = a + h * np.arange(1, k + 1) + rng.normal(0.0, 0.1 * h, size=k)
                w = np.array(pattern) * np.exp(rng.normal(0.0, 0.3, size=k))
                bias = -w * knots
                w_rest = np.ones(n - k)
                b_rest = -(b + 1.0) - rng.uniform(0.0, 1.0, size=n - k)      # inactive on [a, b]
                phi = np.hstack([np.maximum(np.outer(xs, w) + bias, 0.0), np.ones((xs.size, 1))])
                coef = np.linalg.lstsq(phi, alpha * xs + beta, rcond=None)[0]
                v = np.concatenate([coef[:k], rng.normal(0.0, 1.0, size=n - k)])
                out.append(np.concatenate([w, w_rest, bias, b_rest, v, [coef[-1]]]))
    arr = np.array(out).reshape(-1, 3 * n + 1)
    return np.vstack([arr, rng.normal(0.0, 1.0, size=(normal, 3 * n + 1))])


def lm_search(land: NpLandscape, X: np.ndarray, *, iters: int = LM_ITER,
              gtol: float = CRIT_GTOL) -> tuple[np.ndarray, np.ndarray]:
    """Levenberg-Marquardt on grad L from every row of X (float64, vectorized): the step solves
    (H^2 + mu I) delta = H g (the Gauss-Newton step for min |g|^2), mu / 3 after a step that lowers
    |g|, mu * 4 after one that does not (Marquardt 1963). Returns the end points and the mask of
    those with |g| <= gtol max(1, |H|) max(1, |theta|)."""
    X = np.array(X, dtype=np.float64, copy=True)
    E, d = X.shape
    eye = np.eye(d)
    with np.errstate(all="ignore"):
        g = land.grad(X)
        H = land.hessian(X)
        gn = np.linalg.norm(g, axis=1)
        hmax = np.abs(H).reshape(E, -1).max(axis=1)
        mu = 1e-3 * (1 + hmax)
        for _ in range(iters):
            size = np.maximum(1, hmax) * np.maximum(1, np.abs(X).max(axis=1))
            run = np.isfinite(gn) & (gn > gtol * size) & (mu < 1e20)
            if not run.any():
                break
            idx = np.flatnonzero(run)
            Hr, gr = H[idx], g[idx]
            floor = 1e-14 * (1 + hmax[idx]) ** 2
            A = Hr @ Hr + np.maximum(mu[idx], floor)[:, None, None] * eye
            step = np.linalg.solve(A, np.einsum("eij,ej->ei", Hr, gr)[..., None])[..., 0]
            Xn = X[idx] - step
            gnew = land.grad(Xn)
            gnn = np.linalg.norm(gnew, axis=1)
            better = np.isfinite(gnn) & (gnn < gn[idx])
            take = idx[better]
            X[take], g[take], gn[take] = Xn[better], gnew[better], gnn[better]
            if take.size:
                H[take] = land.hessian(X[take])
                hmax[take] = np.abs(H[take]).reshape(take.size, -1).max(axis=1)
            mu[idx] = np.where(better, mu[idx] / 3, mu[idx] * 4)
        size = np.maximum(1, hmax) * np.maximum(1, np.abs(X).max(axis=1))
        ok = np.isfinite(gn) & (gn <= gtol * size)
    return X, ok


def balance(theta: Sequence[Any], n: int) -> list[Any]:
    """The positive rescaling (w_j, b_j, v_j) -> (c w_j, c b_j, v_j / c) with |(w_j, b_j)| = |v_j|
    (an exact symmetry of relu and leaky relu networks: L is unchanged)."""
    th = list(theta)
    for j in range(n):
        w, b, v = float(th[j]), float(th[n + j]), float(th[2 * n + j])
        r_in, r_out = math.hypot(w, b), abs(v)
        if r_in > 0 and r_out > 0:
            c = math.sqrt(r_out / r_in)
            th[j], th[n + j], th[2 * n + j] = w * c, b * c, v / c
    return th


def refine(tier: Tier, land: Any, theta: Sequence[Any], *, gtol: Any,
           max_iter: int = 30) -> tuple[Any, Any, bool, int]:
    """Levenberg-Marquardt on grad L from one exact start, in this tier's arithmetic.

    mu = |g| max(1, |H|) (Yamashita-Fukushima: quadratic convergence to a critical set that
    need not be isolated). Returns (theta, |grad L|, reached |grad L| <= gtol max(1, |H|)
    max(1, |theta|), iterations).
    """
    th: Any = tier.vector([Fraction(float(v)) for v in theta])
    d = len(th)
    for it in range(max_iter + 1):
        g = land.grad(th)
        H = land.hessian(th)
        gnorm = tier.norm(g)
        hmax = max(abs(x) for row in H for x in row)
        size = max(1, hmax) * max(1, max(abs(x) for x in th))
        if gnorm <= gtol * size:
            return th, gnorm, True, it
        if it == max_iter or not (gnorm == gnorm):
            break
        mu = gnorm * max(1, hmax)
        for _ in range(8):
            step = _lm_step(tier, H, g, mu, d)
            trial = tier.axpy(-1, step, th)
            g2 = land.grad(trial)
            if tier.norm(g2) < gnorm:
                th = trial
                break
            mu = mu * 10
        else:
            break
    return th, gnorm, False, it


def _lm_step(tier: Tier, H: Any, g: Any, mu: Any, d: int) -> Any:
    if tier.is_float64:
        A = np.asarray(H, dtype=np.float64)
        return np.linalg.solve(A @ A + mu * np.eye(d), A @ np.asarray(g, dtype=np.float64))
    ctx = tier.ctx
    A = ctx.matrix([[ctx.mpf(x) for x in row] for row in H])
    rhs = A * ctx.matrix([ctx.mpf(x) for x in g])
    M = A * A
    for i in range(d):
        M[i, i] += mu
    sol = ctx.lu_solve(M, rhs)
    return [sol[i] for i in range(d)]


def nonsmooth_reason(problem: Any, theta: Sequence[Any], tiny: float) -> str | None:
    """Where L is not twice differentiable at theta (float test at relative size ``tiny``): a
    neuron with w = b = 0, or a breakpoint -b/w at an end of the interval; None when smooth."""
    s = setting_of(problem)
    n = s.n_hidden
    th = [float(v) for v in theta]
    size = max(1.0, max(abs(v) for v in th))
    a, b = float(s.a), float(s.b)
    for j in range(n):
        w, bias = th[j], th[n + j]
        if math.hypot(w, bias) <= tiny * size:
            return f"neuron {j + 1} has w = b = 0"
        if abs(w) > tiny * size:
            knot = -bias / w
            if min(abs(knot - a), abs(knot - b)) <= tiny * (b - a) * size:
                return f"neuron {j + 1} has its breakpoint at an end of the interval"
    return None


def float64_points(problem: Any, seed: int, *, reps: int, normal: int) -> dict[str, Any]:
    """The float64 stage of the critical-point search (the same in every tier): the structured
    starts, Levenberg-Marquardt, and the converged end points, balanced."""
    s = setting_of(problem)
    rng = np.random.default_rng(seed)
    X0 = structured_starts(problem, rng, reps=reps, normal=normal)
    land = NpLandscape(problem)
    X, ok = lm_search(land, X0)
    pts = np.array([balance(x, s.n_hidden) for x in X[ok]]).reshape(-1, problem.n_params)
    return {"starts": int(X0.shape[0]), "converged": int(ok.sum()), "points": pts, "land": land}

