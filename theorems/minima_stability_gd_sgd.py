r"""Stability of global minima under GD and SGD (Craciun and Ghoshdastidar, arXiv 2510.24466, Corollary 13).

Statement. For almost all step sizes eta there are functions mu and lambda on the set M of global
minima (Chemnitz and Engel, arXiv 2407.20209) such that a minimum theta in M is stable under GD
only if mu(theta) <= 0 and unstable if mu(theta) > 0, and stable under SGD only if
lambda(theta) <= 0 and unstable if lambda(theta) > 0. Here (derived forms)

    mu(theta) = log max |1 - eta h|, h over the Hessian eigenvalues on the normal space of M,
    lambda(theta) = lim (1/n) log |(I - eta H_{xi_n}) ... (I - eta H_{xi_1}) restricted to the normal space|.

Instances: the paper's two-parameter ReLU example f(x) = relu(theta_2 relu(theta_1 x)) on the
data (0.9, 0.9), (2.5, 2.5), with the loss normalization L = (1/m) sum_i (1/2)(f(x_i) - y_i)^2
(= 1.765 (1 - theta_1 theta_2)^2 on the positive quadrant; the paper's caption prints 3.53, which
does not reproduce its figures), batch size 1 and probability p of drawing 0.9; the scalar deep
linear network L(w) = (1/2)(w_1 ... w_D - 1)^2 (one datum, so SGD = GD), whose GD-stable minima
vanish for eta > 2/D (arXiv 2402.13108); and linear regression y = 2x - 1 on two points (an
isolated minimum whose two data Hessians do not commute: a genuine random matrix product).

The experiment (one body for every tier: float64 to search, ``dps`` and ``2 dps`` digits to
confirm). Its design is fixed by the instance (the same in every tier): the start
theta_0 = theta* + delta_0 u (u a seeded unit vector of the float64 normal space, delta_0 = 1e-6
max(1, |theta*|), both exact binary numbers), the SGD batches (seeded indices), and the step counts
(enough for the predicted exponent to move the normal distance by 1e4 against four standard
deviations of the noise, at most 6000). In the tier: the Hessian at theta*, its normal space
(eigenvalues above tol(1e-8) relative), mu; lambda exactly as sum over the batch distribution of
P(xi) log |1 - eta a_xi| when the normal space is one-dimensional (a_xi the normal curvature of the
batch loss), else the Lyapunov exponent of the projected random product over 20000 x horizon seeded
draws with a 95% batch-means interval; then GD and SGD from theta_0, and the observed contraction
per step of the normal distance, c = (L(theta_N) / L(theta_0))^(1 / 2N) (the loss gap is quadratic
in the normal distance at an interpolating minimum), stopped when the gap grows by 1e6 (left) or
falls below tol(1e-16) of its start.

Margin (how far from violating the conclusion), the least of: ``1 - c`` for a run predicted stable
(mu < -1e-3, certified by the exact-Hessian enclosure where available; lambda's interval below
-1e-3) and ``c - 1`` for one predicted unstable, so it is negative when the run does the opposite
of what the exponent predicts; and, for the deep linear network with eta > 2/D, ``exp(mu) - 1``,
negative if a minimum were GD-stable there. ``predicted_gd`` and ``predicted_sgd`` are the hooks a
variant of the claim overrides (the planted false claims in ``tests/quality/`` do).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace
from fractions import Fraction
from typing import Any, Sequence

import numpy as np
from hypothesis import strategies as st

from verify import (
    Claim,
    Data,
    ExprLandscape,
    Instance,
    Judgement,
    Problem,
    Profile,
    Tier,
    certify_gd_stability,
    landscape,
    parse_problem,
)
from verify import strategies as vst

from . import _stability_examples as la
from ._stability_examples import DATA, C, deep_linear_depth, deep_linear_problem, is_paper, paper_problem

#: runs must move the normal distance by 1e4 (in or out) to decide; step caps
_DECIDE = math.log(1e4)
_MAX_STEPS = 6000
#: exponents within this of 0 are the boundary (not judged)
_BOUNDARY = 1e-3
#: relative perturbation of theta*
_DELTA = 1e-6
#: the start of the Lyapunov product, the batches and the perturbation direction are seeded
_SEED = 1
#: a batch distribution with at most this many outcomes is summed exactly (else sampled)
_ENUMERATE = 1000


def _regression() -> Problem:
    return parse_problem("""
[network]
widths = [1, 1]
activation = "identity"
biases = true
[data]
points = ["1/2", "2"]
[target]
expr = "2*x - 1"
[loss]
factor = "1/2"
[init]
theta = ["2", "-1"]
""", name="regression-2x-1")


def _gd_steps(mu: float) -> int:
    return int(min(_MAX_STEPS, math.ceil(2 * _DECIDE / abs(mu)) + 20))


def _sgd_steps(lam: float, sigma: float) -> int | None:
    """Steps after which the drift |lambda| N beats log(1e4) plus four standard deviations of the noise
    (sigma: standard deviation of one step's log growth)."""
    a, b, c = abs(lam), 4 * sigma, 2 * _DECIDE
    root = (b + math.sqrt(b * b + 4 * a * c)) / (2 * a)
    n = math.ceil(root * root) + 20
    return n if n <= _MAX_STEPS else None


def _is_problem(source: Any) -> bool:
    return isinstance(source, Problem)


def _datum_problems(source: Problem) -> list[Problem]:
    """One problem per data point: the loss of datum i alone (same network, target and factor)."""
    return [replace(source, data=Data.from_points([list(p)])) for p in source.data.points]


class _Design:
    """The part of the experiment fixed by the instance alone (the same in every tier)."""

    def __init__(self, claim: MinimaStabilityGdSgd, instance: Instance, profile: Profile) -> None:
        src = instance.source
        self.theta = list(instance.theta0)
        self.eta = instance.param("step_size")
        self.batch = int(instance.param("batch")) if "batch" in instance.params else 1
        self.weights = claim.weights(instance)
        land = Tier.float64().landscape(src)
        star = np.array([float(v) for v in self.theta])
        vals, vecs = la.eigh(Tier.float64(), np.asarray(land.hessian(star), dtype=np.float64))
        cut = 1e-8 * max(1.0, max(abs(v) for v in vals))
        normal = [v for v, h in zip(vecs, vals) if abs(h) > cut]
        rng = np.random.default_rng(_SEED)
        u = sum((g * q for g, q in zip(rng.standard_normal(len(normal)), normal)), np.zeros(star.size)) \
            if normal else rng.standard_normal(star.size)
        u /= np.linalg.norm(u)
        d0 = _DELTA * max(1.0, float(np.linalg.norm(star)))
        self.start = [Fraction(v) + Fraction(float(d0 * w)) for v, w in zip(self.theta, u)]
        self.normal_dim = len(normal)
        mu = max((math.log(abs(1 - float(self.eta) * h)) if 1 - float(self.eta) * h != 0 else -math.inf)
                 for h in vals if abs(h) > cut) if normal else -math.inf
        self.gd_steps = _gd_steps(mu) if abs(mu) > _BOUNDARY else None
        self.lyap_steps = max(2000, int(20_000 * profile.horizon))
        self.sgd = _is_problem(src) and src.data.kind == "points" and src.data.n > 1
        self.n = src.data.n if _is_problem(src) else 0
        self.draws: np.ndarray | None = None
        self.sgd_steps: int | None = None
        if self.sgd:
            self.outcomes = _batch_outcomes(self.n, self.batch, self.weights)
            # the float64 exponent and the noise of one step fix the SGD step count
            lam, sigma = _float_lambda(src, star, float(self.eta), normal, self.outcomes, self)
            if math.isfinite(lam) and abs(lam) > _BOUNDARY:
                self.sgd_steps = _sgd_steps(lam, sigma)
            total = (self.sgd_steps or 0) + self.lyap_steps + self.lyap_steps // 10
            self.draws = _draw(np.random.default_rng(_SEED + 1), self.n, self.batch, total, self.weights)


def _batch_outcomes(n: int, batch: int,
                    weights: list[Fraction] | None) -> list[tuple[Fraction, tuple[int, ...]]] | None:
    """The batch distribution as (probability, indices), when it has at most _ENUMERATE outcomes."""
    if weights is None:
        if math.comb(n, batch) > _ENUMERATE:
            return None
        combos = list(itertools.combinations(range(n), batch))
        return [(Fraction(1, len(combos)), c) for c in combos]
    if n ** batch > _ENUMERATE:
        return None
    out = []
    for idx in itertools.product(range(n), repeat=batch):
        out.append((math.prod((weights[i] for i in idx), start=Fraction(1)), idx))
    return out


def _draw(rng: np.random.Generator, n: int, batch: int, steps: int, weights: list[Fraction] | None) -> np.ndarray:
    if weights is not None:
        p = np.array([float(w) for w in weights])
        return rng.choice(n, size=(steps, batch), replace=True, p=p / p.sum())
    if batch == n:
        return np.tile(np.arange(n), (steps, 1))
    return np.argsort(rng.random((steps, n)), axis=1)[:, :batch]


def _float_lambda(src: Problem, star: np.ndarray, eta: float, normal: list[np.ndarray],
                  outcomes: list[tuple[Fraction, tuple[int, ...]]] | None, design: _Design) -> tuple[float, float]:
    """(lambda, standard deviation of one step's log growth) in float64, for the design."""
    if not normal:
        return -math.inf, 0.0
    hs = [np.asarray(landscape(s, tier="np").hessian(star), dtype=np.float64) for s in _datum_problems(src)]
    Q = np.stack(normal, axis=1)
    A = [Q.T @ (0.5 * (h + h.T)) @ Q for h in hs]
    if len(normal) == 1 and outcomes is not None:
        logs = []
        for p, idx in outcomes:
            a = float(np.mean([A[i][0, 0] for i in idx]))
            logs.append((float(p), math.log(abs(1 - eta * a)) if 1 - eta * a != 0 else -1e3))
        lam = sum(p * v for p, v in logs)
        var = sum(p * (v - lam) ** 2 for p, v in logs)
        return lam, math.sqrt(var)
    draws = _draw(np.random.default_rng(_SEED + 1), len(hs), design.batch, 4000, design.weights)
    growth = _product_growth(Tier.float64(), [[[float(x) for x in row] for row in a] for a in A], eta, draws, 400)
    if growth is None:
        return -math.inf, 0.0
    g = np.array(growth)
    return float(g.mean()), float(g.std())


def _product_growth(tier: Tier, A: list[list[list[Any]]], eta: Any, draws: np.ndarray, burn: int) -> list[float] | None:
    """Per-step log growths of |v| under v <- (I - eta mean_{i in batch} A_i) v along ``draws`` (after ``burn``
    steps), in plain tier arithmetic (Python floats are IEEE doubles); None if the product vanishes."""
    r = len(A[0])
    sqrt, log = (math.sqrt, math.log) if tier.is_float64 else (tier.ctx.sqrt, tier.ctx.log)
    zero = tier.num(0)
    v = [tier.num(1)] * r
    mats: dict[tuple[int, ...], list[list[Any]]] = {}
    growth: list[float] = []
    rows = range(r)
    for j, idx in enumerate(draws.tolist()):
        key = tuple(idx)
        m = mats.get(key)
        if m is None:
            m = [[(1 if a == b else 0) - eta * sum((A[i][a][b] for i in key), zero) / len(key) for b in rows]
                 for a in rows]
            mats[key] = m
        w = []
        for a in rows:
            acc = zero
            ma = m[a]
            for b in rows:
                acc += ma[b] * v[b]
            w.append(acc)
        n2 = zero
        for x in w:
            n2 += x * x
        if n2 == 0:
            return None
        nv = sqrt(n2)
        v = [x / nv for x in w]
        if j >= burn:
            growth.append(float(log(nv)))
    return growth


class MinimaStabilityGdSgd(Claim):
    title = "Minima with mu < 0 (lambda < 0) attract GD (SGD); with mu > 0 (lambda > 0) they repel it"
    statement = (r"For almost all $\eta$, a global minimum $\theta \in M$ is stable under GD only if "
                 r"$\mu(\theta) \le 0$ and unstable if $\mu(\theta) > 0$, with $\mu = \log \max_h |1 - \eta h|$ "
                 r"over the Hessian eigenvalues on the normal space $N_\theta M$; under SGD the same with the "
                 r"Lyapunov exponent $\lambda(\theta) = \lim \frac1n \log \|(I - \eta H_{\xi_n}) \cdots "
                 r"(I - \eta H_{\xi_1})|_{N_\theta M}\|$. In particular for $L = \frac12(w_1 \cdots w_D - 1)^2$ "
                 r"no minimum is GD-stable for $\eta > 2/D$.")
    source = ("Craciun, Ghoshdastidar 2025 (arXiv 2510.24466), Corollary 13 and Section 5; "
              "deep linear example: arXiv 2402.13108")
    hypotheses = (
        "theta is a global minimum: L(theta) = 0 exactly (interpolation; checked in exact arithmetic)",
        "M is a manifold near theta whose tangent space is the kernel of the Hessian (Morse-Bott)",
        "the loss is C^2 near theta (the ReLU example: theta_1, theta_2 > 0)",
        "0 < step_size; 1 <= batch <= n; sampling probabilities p in (0, 1)",
    )
    method = ("One experiment in every tier (float64 to search, dps and 2 dps digits to confirm), designed from the "
              "instance alone: start theta* + 1e-6 max(1, |theta*|) u (u a seeded unit normal vector), seeded SGD "
              "batches, step counts that let the predicted exponent move the normal distance by 1e4 against four "
              "noise standard deviations (at most 6000). In the tier: mu from the Hessian's normal eigenvalues "
              "(above tol(1e-8) relative; its sign certified by the exact-Hessian enclosure where available); "
              "lambda exactly (sum over the batch distribution) for a one-dimensional normal space, else from "
              "20000 x horizon seeded steps of the projected product with a 95% batch-means interval; GD and SGD "
              "from the start; observed contraction per step c = (L_N / L_0)^(1/2N), stopped when L grows by 1e6 or "
              "falls below tol(1e-16) L_0. Margin: the least of 1 - c (stable predicted: exponent < -1e-3) or "
              "c - 1 (unstable: > 1e-3), and exp(mu) - 1 for the deep linear net with eta > 2/D. The ReLU example "
              "uses L = (1/m) sum (1/2)(f - y)^2 = 1.765 (1 - theta_1 theta_2)^2 on the positive quadrant (not the "
              "caption's 3.53).")

    def instances(self, profile: Profile) -> Any:
        eta = vst.rationals(min_value=Fraction(1, 20), max_value=Fraction(2, 5), max_denominator=40)
        s = vst.rationals(min_value=Fraction(1, 2), max_value=2, max_denominator=20)
        p = vst.rationals(min_value=Fraction(1, 10), max_value=Fraction(9, 10), max_denominator=20)
        paper = st.builds(lambda s, e, p: Instance(paper_problem(), (s, 1 / s),
                                                   {"step_size": e, "p": p, "batch": 1}), s, eta, p)

        @st.composite
        def deep(draw: Any) -> Instance:
            depth = draw(st.integers(2, 4))
            w = [draw(vst.rationals(min_value=Fraction(2, 3), max_value=Fraction(3, 2), max_denominator=8))
                 for _ in range(depth - 1)]
            prod = math.prod(w, start=Fraction(1))
            u = draw(vst.rationals(min_value=Fraction(1, 4), max_value=Fraction(7, 4), max_denominator=16))
            return Instance(deep_linear_problem(depth), (*w, 1 / prod), {"step_size": u * Fraction(2, depth),
                                                                        "batch": 1})

        eta_r = vst.rationals(min_value=Fraction(1, 20), max_value=Fraction(3, 5), max_denominator=40)
        regression = st.builds(lambda e, p: Instance(_regression(), (2, -1), {"step_size": e, "p": p, "batch": 1}),
                               eta_r, p)
        return st.one_of(paper, deep(), regression)

    def check_hypotheses(self, instance: Instance) -> str | None:
        src = instance.source
        if instance.theta0 is None:
            return "no point theta of the minimum set given (theta0)"
        if "step_size" not in instance.params:
            return "no step size: give [instance] params = { step_size = \"1/4\" }"
        eta = instance.param("step_size")
        if eta <= 0:
            return f"step_size = {eta} is not positive"
        if _is_problem(src):
            n = src.data.n if src.data.kind == "points" else 0
            batch = int(instance.param("batch")) if "batch" in instance.params else 1
            if n and not 1 <= batch <= n:
                return f"batch = {batch} is not in 1 .. n = {n}"
            if "p" in instance.params and not 0 < instance.param("p") < 1:
                return f"p = {instance.param('p')} is not in (0, 1)"
            if src.network.activation in ("relu", "leaky_relu") and not all(v > 0 for v in instance.theta0):
                return "the ReLU example is C^2 near theta only for theta_1, theta_2 > 0"
        elif not isinstance(src, ExprLandscape):
            return "the source is neither a problem nor a formula landscape"
        loss = Tier.exact().landscape(src).loss(list(instance.theta0))
        if loss != 0:
            return f"theta is not a global minimum: L(theta) = {loss} (exact), not 0"
        return None

    def weights(self, instance: Instance) -> list[Fraction] | None:
        if "p" not in instance.params:
            return None
        p = instance.param("p")
        return [p, 1 - p]

    # -- hooks a variant of the claim may override ----------------------------------------------
    def predicted_gd(self, mu: float, normal_eigenvalues: Sequence[float], eta: Fraction,
                     certified: bool | None) -> bool | None:
        """GD-stable iff mu < 0, as the exact-Hessian enclosure proves it when it decides (None: |mu| <= 1e-3,
        the boundary)."""
        if abs(mu) <= _BOUNDARY:
            return None
        return certified if certified is not None else mu < 0

    def predicted_sgd(self, low: float, high: float) -> bool | None:
        """SGD-stable iff lambda < 0 (from its interval; None: within 1e-3 of 0)."""
        return True if high < -_BOUNDARY else False if low > _BOUNDARY else None

    # -- the experiment ---------------------------------------------------------------------------
    def experiment(self, instance: Instance, profile: Profile, tier: Tier) -> Judgement:
        design = _Design(self, instance, profile)
        src = instance.source
        land = tier.landscape(src)
        eta = tier.num(design.eta)
        star = la.vec(tier, design.theta)
        vals, vecs = la.eigh(tier, la.hessian(tier, land, star))
        top = max([abs(v) for v in vals] + [tier.num(1)])
        cut = tier.tol(1e-8) * top
        normal = [(h, q) for h, q in zip(vals, vecs) if abs(h) > cut]
        amps = [abs(1 - eta * h) for h, _ in normal]
        big = max(amps) if amps else tier.num(0)
        mu = tier.ctx.log(big) if tier.to_float(big) > 0 else -tier.ctx.inf
        mu_f = tier.to_float(mu)
        ev: dict[str, Any] = {"mu": mu_f, "normal_eigenvalues": [tier.to_float(h) for h, _ in normal],
                              "spectrum": [tier.to_float(h) for h, _ in normal], "tier": str(tier)}
        # where the Hessian at theta is exact, mu is enclosed in ball arithmetic: the proved sign decides GD
        proof = None
        cert = certify_gd_stability(src, design.theta, step_size=design.eta)
        if cert.certified and cert.mu is not None:
            ev["mu_certified"] = list(cert.mu)
            proof = {"kind": "stability exponent", "statement": cert.reason, "mu": list(cert.mu),
                     "normal_eigenvalues": [list(e) for e in cert.eigenvalues], "null_dim": cert.null_dim,
                     "recheck": (f"verify.certify_gd_stability(instance.source, {[str(v) for v in design.theta]}, "
                                 f"step_size={str(design.eta)!r})")}
        gd_pred = self.predicted_gd(mu_f, [tier.to_float(h) for h, _ in normal], design.eta,
                                    cert.stable if cert.certified else None)
        margins: list[Any] = []
        notes: list[str] = []
        if gd_pred is not None and design.gd_steps is not None:
            c, steps, outcome = self._run(tier, land, eta, design, design.gd_steps, None)
            if steps:
                margins.append(1 - c if gd_pred else c - 1)
            ev["gd_run"] = {"steps": steps, "contraction": tier.to_float(c), "outcome": outcome,
                            "predicted_stable": gd_pred}
            notes.append(f"GD {outcome} after {steps} steps, contraction {tier.text(c, 4)} per step "
                         f"(mu {mu_f:.4g}: {'stable' if gd_pred else 'unstable'})")
        else:
            notes.append(f"mu {mu_f:.3g} on the boundary")
        if design.sgd and normal:
            lam, low, high, how = self._lyapunov(tier, src, star, eta, normal, design)
            ev["lambda"] = {"estimate": lam, "low": low, "high": high, "method": how}
            sgd_pred = self.predicted_sgd(low, high)
            if sgd_pred is not None and design.sgd_steps is not None:
                c, steps, outcome = self._run(tier, land, eta, design, design.sgd_steps, _datum_landscapes(tier, src))
                if steps:
                    margins.append(1 - c if sgd_pred else c - 1)
                ev["sgd_run"] = {"steps": steps, "contraction": tier.to_float(c), "outcome": outcome,
                                 "predicted_stable": sgd_pred}
                notes.append(f"SGD {outcome} after {steps} steps, contraction {tier.text(c, 4)} per step "
                             f"(lambda {lam:.4g} [{low:.3g}, {high:.3g}], {how})")
            else:
                notes.append(f"SGD not judged: lambda {lam:.3g} [{low:.3g}, {high:.3g}] too close to 0 for "
                             f"{_MAX_STEPS} steps")
        depth = deep_linear_depth(src)
        if depth is not None:
            ev["sharpness_closed_form"] = sum(1 / (float(w) ** 2) for w in design.theta)
            ev["bound_2_over_D"] = 2 / depth
            if design.eta > Fraction(2, depth):
                margins.append(big - 1)
                notes.append(f"eta > 2/D = {2 / depth:.4g}: max |1 - eta h| = {tier.text(big, 6)}")
        if is_paper(src):
            r2 = sum(float(v) ** 2 for v in design.theta)
            ev["mu_closed_form"] = math.log(abs(1 - float(design.eta) * 2 * float(C) * r2))
            if design.weights is not None:
                ev["lambda_closed_form"] = sum(float(q) * math.log(abs(1 - float(design.eta) * float(x) ** 2 * r2))
                                               for q, x in zip(design.weights, DATA))
        margin = min(margins, key=tier.to_float) if margins else None
        if margin is not None and tier.is_float64:
            margin = float(margin)
        ev["outcome"] = "undecided" if margin is None else "disagree" if tier.to_float(margin) < 0 else "agree"
        return Judgement(margin, f"({tier}) " + "; ".join(notes), ev, proof if margin is not None else None)

    def _lyapunov(self, tier: Tier, src: Problem, star: Any, eta: Any, normal: list[tuple[Any, Any]],
                  design: _Design) -> tuple[float, float, float, str]:
        """lambda in the tier: exact over the batch distribution (1-D normal space), else sampled."""
        hs = [la.hessian(tier, _land(tier, s), star) for s in _datum_problems(src)]
        r = len(normal)
        Q = [q for _, q in normal]
        A = [[[_scalar(tier, tier.dot(Q[a], la.matvec(tier, h, Q[b]))) for b in range(r)] for a in range(r)]
             for h in hs]
        if r == 1 and design.outcomes is not None:
            lam = tier.num(0)
            for p, idx in design.outcomes:
                a = sum((A[i][0][0] for i in idx), tier.num(0)) / len(idx)
                amp = abs(1 - eta * a)
                lam += tier.num(p) * (tier.ctx.log(amp) if tier.to_float(amp) > 0 else tier.num(-1000))
            v = tier.to_float(lam)
            return v, v, v, "exact over the batch distribution"
        assert design.draws is not None
        burn = design.lyap_steps // 10
        growth = _product_growth(tier, A, eta, design.draws[-(design.lyap_steps + burn):], burn)
        if growth is None:
            return -math.inf, -math.inf, -math.inf, "the product vanished"
        from scipy import stats

        g = np.array(growth)
        blocks = 20
        per = g.size // blocks
        means = g[:per * blocks].reshape(blocks, per).mean(axis=1)
        est = float(g.mean())
        half = float(stats.t.ppf(0.975, blocks - 1)) * float(means.std(ddof=1) / math.sqrt(blocks))
        return est, est - half, est + half, f"{design.lyap_steps} seeded steps, 95% batch-means interval"

    def _run(self, tier: Tier, land: Any, eta: Any, design: _Design, steps: int,
             data_lands: list[Any] | None) -> tuple[Any, int, str]:
        """GD (data_lands None) or SGD (the design's batches) from the design's start: the observed contraction
        per step of the normal distance, the steps taken and the outcome."""
        x = la.vec(tier, design.start)
        gap0 = land.loss(x)
        if not tier.to_float(gap0) > 0:     # the start is itself a minimum: nothing to observe
            return tier.num(1), 0, "no loss gap at the start"
        gap = gap0
        floor = tier.tol(1e-16) * gap0
        outcome = "ran"
        k = 0
        for k in range(1, steps + 1):
            if data_lands is None:
                g = la.grad(tier, land, x)
            else:
                assert design.draws is not None
                idx = design.draws[k - 1]
                gs = [la.grad(tier, data_lands[int(i)], x) for i in idx]
                g = gs[0] if len(gs) == 1 else (sum(gs[1:], gs[0]) / len(gs) if tier.is_float64 else
                                                [tier.ctx.fsum(c) / len(gs) for c in zip(*gs)])
            x = tier.axpy(-eta, g, x)
            gap = land.loss(x)
            gf = tier.to_float(gap / gap0)
            if not math.isfinite(gf) or gf > 1e6:
                outcome = "left"
                break
            if gap <= floor:
                outcome = "converged"
                break
        ratio = gap / gap0
        rf = tier.to_float(ratio)
        if not math.isfinite(rf):
            return tier.ctx.inf, k, outcome
        if rf <= 0:
            return tier.num(0), k, outcome
        return ratio ** (tier.num(1) / (2 * k)), k, outcome


def _scalar(tier: Tier, x: Any) -> Any:
    return float(x) if tier.is_float64 else x


def _land(tier: Tier, source: Any) -> Any:
    """A landscape of one datum's problem (not cached by the tier, which keeps the instance's)."""
    if tier.is_float64:
        return landscape(source, tier="np")
    return landscape(source, tier="mp", dps=int(tier.dps))  # type: ignore[arg-type]


def _datum_landscapes(tier: Tier, src: Problem) -> list[Any]:
    return [_land(tier, s) for s in _datum_problems(src)]
