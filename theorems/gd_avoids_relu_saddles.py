r"""Gradient descent on shallow ReLU networks does not converge to saddle points.

Statement (Cheridito, Jentzen, Rossmannek, arXiv:2208.02083, Theorem 14). For the integral loss
L = int_a^b (N_theta(x) - alpha x - beta)^2 dx of a one-hidden-layer ReLU (or leaky ReLU)
network with an affine target, for almost every step size eta the set of initializations from
which GD theta_{n+1} = theta_n - eta grad L(theta_n) converges to a saddle point has Lebesgue
measure zero.

The experiment (``experiment``, the same in every tier; the shared pattern of
``_relu_common``): M = 150 * horizon runs, theta_0 ~ N(0, I) and eta ~ U(0.02, 0.3) / (b - a)
drawn from the instance's seed (float64 values, exact binary rationals: ``starts``), K = 2000 *
horizon GD steps, stopped early as stationary when |grad L| <= tol(1e-9) max(1, alpha^2 (b - a)^3)
or as diverged at |theta| >= 1e6. The whole ensemble is run in float64 (``run_descent``) and each
run gets its margin; the 3 runs of smallest float64 margin decide: the margin of the instance is
their smallest margin in the tier of the experiment (float64: as computed; at ``dps`` digits: the
three runs replayed from their exact starts with their exact step sizes, for the same K steps,
with the same events and criteria at the tier's tolerances). A confirmation thus replays the
same runs, not a shorter experiment, and costs three high-precision runs.

The margin of a run, at its end point theta (all terms base-10 logarithms, capped at +-50):

    m = max( log10(|grad L| / g_tol),           # > 0: not converged
             log10(L_0 / L),                    # > 0: at a global minimum (L_0 = 1e-8 alpha^2 (b-a)^3)
             min( log10(tol(1e-6) / s_H),       # < 0: the Hessian has a negative eigenvalue,
                                                #      s_H = -lambda_min / |lambda|_max
                  log10(r / tol(1e-4)) ) )      # < 0: a neuron has |(w_j, b_j)| = r below tol(1e-4) |theta|
                                                #      (w = b = 0: a nonsmooth saddle); for relu only
                                                #      neurons not strictly dead on [a, b] count (a dead
                                                #      neuron is frozen: a local minimum in its directions)

It is negative exactly when the run converged (stationary), not at a global minimum, at a point
with negative curvature or a switched-off neuron w = b = 0: a run that converged to a saddle.
The instance margin, the smallest over the deciding runs, is negative when one of them did. A
seeded random run does that with probability 0 if the theorem holds; the
``tests/quality/planted_relu.py`` variant that starts on the invariant set {w = b = v = 0} (a
null set, where GD converges to the constant-fit saddle) is refuted.

Evidence (float64, the same in every tier): the outcome histogram of all M runs, the count ending
at a saddle with Wilson's 95% upper bound on its probability, the final-loss histogram, and the
null-set side: starts on the invariant set {w = b = v = 0} converge to the constant-fit saddle
(GD on it is c -> c - 2 eta (b - a)(c - f((a+b)/2))), and the zig-zag saddle (relu, N >= 2) is a
fixed point of GD.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from verify import (
    Claim,
    Events,
    Instance,
    Judgement,
    NpLandscape,
    Profile,
    Tier,
    relu_setting,
    relu_zigzag_point,
    wilson_upper,
)

from ._relu_common import (
    DECIDING,
    EIG_TOL,
    GTOL,
    TINY,
    ZERO_LOSS,
    deciding,
    draw_starts,
    gd_events,
    histogram,
    log_term,
    loss_histogram,
    neuron_gap,
    relu_instances,
    replay,
    run_ensemble,
    scale_of,
    seed_of,
    setting_of,
)

CONFIDENCE = 0.95


def run_margin(tier: Tier, land: Any, problem: Any, theta: Any, loss: Any, grad_norm: Any, status: str,
               hessian: Any = None, *, scale: Any = None) -> tuple[float, str, dict[str, float]]:
    """(margin, kind, terms) of one run's end point, in this tier (module notes)."""
    scale = scale_of(problem) if scale is None else scale
    n = problem.network.widths[1]
    if status == "diverged" or not all(np.isfinite(float(v)) for v in theta):
        return 50.0, "diverged", {}
    gtol = float(tier.tol(GTOL)) * max(1.0, float(scale))
    terms = {"not_converged": log_term(grad_norm, gtol), "global_minimum": log_term(ZERO_LOSS * float(scale), loss)}
    if hessian is None:
        hessian = land.hessian(theta if tier.is_float64 else list(theta))
    lam = tier.eigvalsh(hessian)
    top = max(abs(float(v)) for v in lam)
    s_h = -float(lam[0]) / top if top > 0 else 0.0
    terms["negative_curvature"] = log_term(float(tier.tol(EIG_TOL)), s_h) if s_h > 0 else 50.0
    s = setting_of(problem)
    dead_on = (float(s.a), float(s.b)) if s.activation == "relu" else None
    terms["neuron_off"] = log_term(neuron_gap(theta, n, dead_on), float(tier.tol(TINY)))
    margin = max(terms["not_converged"], terms["global_minimum"], min(terms["negative_curvature"], terms["neuron_off"]))
    if terms["global_minimum"] >= 0:
        kind = "global minimum"
    elif terms["not_converged"] >= 0:
        kind = "not converged"
    elif terms["neuron_off"] < 0:
        kind = "saddle (w = b = 0)"
    elif terms["negative_curvature"] < 0:
        kind = "saddle"
    else:
        kind = "local minimum"
    return margin, kind, terms


def stable_set_runs(problem: Any, seed: int) -> dict[str, Any]:
    """Runs started on the stable set of a saddle: they converge to it (module notes; float64,
    300 steps; the zig-zag, a fixed point, as a fourth member)."""
    s = setting_of(problem)
    d = problem.n_params
    land = NpLandscape(problem)
    fit = s.target((s.a + s.b) / 2)
    starts = [fit + 1, fit - s.alpha, fit + 3]      # on {w = b = v = 0}
    theta0 = np.zeros((len(starts), d))
    theta0[:, -1] = [float(c) for c in starts]
    grad0 = land.grad(theta0)
    rng = np.random.default_rng(seed)
    eta = rng.uniform(0.05, 0.95, size=len(starts)) / float(s.length)    # eta (b - a) < 1: |1 - 2 eta (b-a)| < 0.9
    zigzag = s.activation == "relu" and s.n_hidden >= 2
    if zigzag:
        zz = np.array([float(v) for v in relu_zigzag_point(problem, 2)])
        theta0 = np.vstack([theta0, zz])
        eta = np.append(eta, 0.1 / float(s.length))
    res = run_ensemble(problem, theta0, eta, steps=300, events=Events(gtol=1e-300, radius=1e6), checkpoints=4)
    ends = [abs(float(m.theta[-1]) - float(fit)) + float(np.abs(np.asarray(m.theta[:-1], dtype=float)).max())
            for m in res.members[:len(starts)]]
    out: dict[str, Any] = {"constant_fit_saddle": {
        "invariant": bool(np.all(grad0[:, :-1] == 0.0)), "starts_c": [str(c) for c in starts],
        "step_sizes": [float(e) for e in eta[:len(starts)]], "distance_at_end": ends,
        "converged": bool(all(e < 1e-9 for e in ends))}}
    if zigzag:
        dist = float(np.linalg.norm(np.asarray(res.members[-1].theta, dtype=float) - zz))
        out["zigzag_saddle"] = {"grad_norm_float64": float(np.linalg.norm(land.grad(zz[None, :])[0])),
                                "distance_after_300_steps": dist, "stays": dist < 1e-12}
    return out


class GdAvoidsReluSaddles(Claim):
    title = "GD from random initializations and random step sizes does not converge to a saddle (shallow ReLU)"
    statement = (r"For almost every $\eta$, $\{\theta_0 : \theta_n \to \text{a saddle point}\}$ has Lebesgue measure "
                 r"zero, where $\theta_{n+1} = \theta_n - \eta \nabla L(\theta_n)$ and $L = \int_a^b (\mathcal "
                 r"N_\theta - \alpha x - \beta)^2\,dx$ for a shallow ReLU or leaky ReLU network.")
    source = "Cheridito, Jentzen, Rossmannek, arXiv:2208.02083 (2022), Theorem 14"
    hypotheses = (
        "a [1, N, 1] network with biases and an affine output layer",
        "activation relu or leaky_relu",
        "the integral loss (factor 1) on an interval [a, b]",
        "an affine target alpha x + beta with rational coefficients",
        "random initializations and random step sizes (the statement holds for almost every one)",
    )
    method = ("The same experiment in every tier: 150 * horizon runs, theta_0 ~ N(0, I), eta ~ U(0.02, 0.3)/(b - a) "
              "(exact binary rationals), 2000 * horizon GD steps, stationary at |grad L| <= tol(1e-9) max(1, "
              "alpha^2 (b-a)^3); the ensemble in float64, the 3 runs of smallest margin replayed in the tier. Run "
              "margin max(log10(|grad L|/g_tol), log10(1e-8 alpha^2 (b-a)^3 / L), min(log10(tol(1e-6)/s_H), "
              "log10(r/tol(1e-4)))) with s_H = -lambda_min/|lambda|_max and r the smallest |(w_j, b_j)|: negative "
              "when the run converged to a saddle (negative curvature or a neuron with w = b = 0) away from the "
              "global minima. tol = the float64 tolerance scaled to the tier. Evidence: outcome histogram, Wilson "
              "95% bound, starts on {w = b = v = 0} converge to the constant-fit saddle, the zig-zag is a fixed "
              "point.")

    def instances(self, profile: Profile) -> Any:
        return relu_instances(max_hidden=3)

    def check_hypotheses(self, instance: Instance) -> str | None:
        s = relu_setting(instance.source)
        return s if isinstance(s, str) else None

    def starts(self, instance: Instance, profile: Profile) -> tuple[np.ndarray, np.ndarray]:
        """Initializations (M, d) and step sizes (M,), float64 (exact binary rationals), seeded."""
        members = max(20, int(150 * profile.horizon))
        return draw_starts(instance.source, members=members, seed=seed_of(instance), eta_lo=0.02, eta_hi=0.3)

    def experiment(self, instance: Instance, profile: Profile, tier: Tier) -> Judgement:
        prob = instance.source
        scale = scale_of(prob)
        steps = max(500, int(2000 * profile.horizon))
        theta0, eta = self.starts(instance, profile)
        # the float64 screen (the same in every tier)
        f64 = Tier.float64()
        res = run_ensemble(prob, theta0, eta, steps=steps, events=gd_events(f64, scale))
        land64 = NpLandscape(prob)
        ends = np.array([np.asarray(m.theta, dtype=float) for m in res.members])
        finite = np.all(np.isfinite(ends), axis=1)
        H = np.zeros((len(ends), prob.n_params, prob.n_params))
        if finite.any():
            H[finite] = land64.hessian(ends[finite])
        screened = [run_margin(f64, land64, prob, ends[i], float(m.loss), float(m.grad_norm), _status(m), H[i],
                               scale=scale) for i, m in enumerate(res.members)]
        chosen = deciding([m for m, _, _ in screened], DECIDING)
        # the deciding runs in the tier
        decided = []
        for i in chosen:
            if tier.is_float64:
                m, kind, terms = screened[i]
                steps_run = int(res.members[i].t)
            else:
                traj = replay(tier, prob, theta0[i], float(eta[i]), steps=steps, events=gd_events(tier, scale))
                m, kind, terms = run_margin(tier, tier.landscape(prob), prob, traj.theta, traj.loss, traj.grad_norm,
                                            _status(traj))
                steps_run = int(traj.t)
            decided.append({"run": i, "margin": m, "kind": kind, "terms": terms, "steps": steps_run,
                            "step_size": float(eta[i]), "float64_margin": screened[i][0]})
        worst = min(decided, key=lambda r: r["margin"])
        kinds = [k for _, k, _ in screened]
        saddle = [i for i, k in enumerate(kinds) if k.startswith("saddle")]
        upper = wilson_upper(len(saddle), len(kinds), confidence=CONFIDENCE)
        stable = stable_set_runs(prob, seed_of(instance))
        summary = (f"{tier}: {len(saddle)} of {len(kinds)} float64 runs ended at a saddle (Wilson {CONFIDENCE:.0%} "
                   f"upper bound {upper:.3g}); outcomes {histogram(kinds)}; deciding run {worst['run']}: "
                   f"{worst['kind']}, margin {worst['margin']:.3g}")
        evidence = {"outcome": "saddle reached" if worst["margin"] < 0 else "no saddle reached",
                    "outcome_histogram": histogram(kinds), "runs": len(kinds), "steps": steps,
                    "ended_at_saddle": len(saddle), "saddle_runs": saddle[:10], "wilson_upper": upper,
                    "confidence": CONFIDENCE, "deciding_runs": decided, "tier": tier.name,
                    "final_loss_histogram": loss_histogram([float(m.loss) for m in res.members], float(scale)),
                    "step_size_range": [float(eta.min()), float(eta.max())], "stable_set": stable}
        return Judgement(worst["margin"], summary, evidence)


def _status(traj: Any) -> str:
    return str(getattr(traj.status, "value", traj.status))


__all__ = ["GdAvoidsReluSaddles", "run_margin", "stable_set_runs"]
