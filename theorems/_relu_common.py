"""Shared pieces of the shallow-ReLU claims (theorems.md section 2): instances and GD ensembles.

Not a claim module (the leading underscore keeps it out of ``verify list``); it uses only the
public API of ``verify``.
"""

from __future__ import annotations

from collections import Counter
from fractions import Fraction
from typing import Any

import numpy as np
from hypothesis import strategies as st

from verify import Events, Instance, NpLandscape, relu_critical_values, relu_problem, relu_setting, run_descent

#: |grad L| below which a GD run counts as converged (float64)
GTOL = 1e-9
#: loss below which (relative to alpha^2 (b - a)^3) a run is at a global minimum: 1e-8, far below
#: the smallest positive classified value alpha^2 (b - a)^3 / (12 (N + 1)^4) >= 1.3e-4 for N <= 4
ZERO_LOSS = 1e-8
#: relative size under which a neuron's (w, b, v) counts as 0 (the nonsmooth saddle w = b = v = 0)
TINY = 1e-4


def nonzero_rationals(lo: int, hi: int) -> st.SearchStrategy[Fraction]:
    return st.builds(Fraction, st.integers(lo, hi).filter(lambda p: p != 0), st.integers(1, 4))


@st.composite
def relu_instances(draw: st.DrawFn, *, max_hidden: int = 3, activations: tuple[str, ...] = ("relu", "leaky_relu"),
                   seeds: bool = True) -> Instance:
    """A problem of the setting: N hidden neurons, alpha x + beta on [a, a + length], a seed."""
    n = draw(st.integers(1, max_hidden))
    act = draw(st.sampled_from(activations))
    alpha = draw(nonzero_rationals(-6, 6))
    beta = Fraction(draw(st.integers(-4, 4)), draw(st.integers(1, 4)))
    a = Fraction(draw(st.integers(-4, 4)), 2)
    length = draw(st.sampled_from([Fraction(1), Fraction(1, 2), Fraction(2), Fraction(3, 2)]))
    slope = draw(st.sampled_from([Fraction(1, 10), Fraction(1, 4), Fraction(1, 2)]))
    prob = relu_problem(n, alpha=alpha, beta=beta, interval=(a, a + length), activation=act, slope=slope)
    params = {"seed": draw(st.integers(0, 10**6))} if seeds else {}
    return Instance(prob, None, params)


def scale_of(problem: Any) -> Fraction:
    """alpha^2 (b - a)^3: the loss scale of the setting (the constant fit has 1/12 of it)."""
    s = relu_setting(problem)
    assert not isinstance(s, str)
    return s.alpha ** 2 * s.length ** 3


def smallest_positive_value(problem: Any) -> Fraction:
    """The threshold: the smallest positive critical value of the classification."""
    return min(v for v in relu_critical_values(problem) if v > 0)


def draw_starts(problem: Any, *, members: int, seed: int, eta_lo: float,
                eta_hi: float) -> tuple[np.ndarray, np.ndarray]:
    """Random initializations theta ~ N(0, I) (shape (members, d)) and step sizes
    eta ~ U(eta_lo, eta_hi) / (b - a) (shape (members,)), from ``seed``. Each float64 value is
    an exact binary rational, so a run can be replayed at any precision."""
    s = relu_setting(problem)
    assert not isinstance(s, str)
    rng = np.random.default_rng(seed)
    theta0 = rng.normal(0.0, 1.0, size=(members, problem.n_params))
    eta = rng.uniform(eta_lo, eta_hi, size=members) / float(s.length)
    return theta0, eta


def endpoint_kind(problem: Any, land: NpLandscape, member: Any, scale: float) -> str:
    """What a GD run ended at (float64): "global minimum", "saddle", "saddle (w = b = 0)",
    "local minimum", "diverged", or "not converged"."""
    status = str(getattr(member.status, "value", member.status))
    theta = np.asarray(member.theta, dtype=np.float64)
    loss = float(member.loss)
    if status == "diverged" or not np.all(np.isfinite(theta)):
        return "diverged"
    if loss <= ZERO_LOSS * scale:
        return "global minimum"
    if float(member.grad_norm) > GTOL * max(1.0, scale):
        return "not converged"
    n = problem.network.widths[1]
    w, b, v = theta[:n], theta[n:2 * n], theta[2 * n:3 * n]
    size = max(1.0, float(np.abs(theta).max()))
    if np.any((np.abs(w) < TINY * size) & (np.abs(b) < TINY * size)):
        return "saddle (w = b = 0)"
    lam = np.linalg.eigvalsh(land.hessian(theta))
    if lam[0] < -1e-6 * max(1.0, float(np.abs(lam).max())):
        return "saddle"
    del v
    return "local minimum"


def run_ensemble(problem: Any, theta0: np.ndarray, eta: np.ndarray, *, steps: int,
                 loss_below: float | None = None) -> Any:
    land = NpLandscape(problem)
    return run_descent(land, theta0, step_size=eta, steps=steps, checkpoints=24,
                       events=Events(gtol=GTOL, radius=1e6, loss_below=loss_below))


def histogram(kinds: list[str]) -> dict[str, int]:
    return dict(sorted(Counter(kinds).items()))


def loss_histogram(losses: list[float], scale: float) -> dict[str, Any]:
    """Final losses / (alpha^2 (b - a)^3) on log-spaced bins (for plots)."""
    edges = [0.0, 1e-12, 1e-10, 1e-8, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, float("inf")]
    rel = np.asarray(losses, dtype=np.float64) / scale
    rel = np.where(np.isfinite(rel), rel, np.inf)
    counts, _ = np.histogram(np.clip(rel, 0, 1e300), bins=[e if np.isfinite(e) else 1e301 for e in edges])
    return {"edges_relative_to_alpha2_len3": [str(e) for e in edges], "counts": [int(c) for c in counts]}
