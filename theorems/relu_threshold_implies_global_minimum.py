r"""Below the loss threshold, gradient descent on shallow ReLU networks ends at a global minimum.

Statement (Cheridito, Jentzen, Rossmannek, arXiv:2208.02083: convergence to global minima under
an explicit threshold on the loss; the constant was not read, theorems.md section 2). For the
integral loss of a one-hidden-layer ReLU network against an affine target on [a, b]: a GD run
(small step sizes) whose loss falls below the threshold

.. math:: \lambda_N = \frac{\alpha^2 (b - a)^3}{12 (k_N + 1)^4}, \qquad k_N = \text{the largest even } k \le N,

ends at a global minimum (L = 0). The threshold used is the smallest positive critical value of
the classification (``relu_critical_values``): below it no critical point other than the global
minima exists, so a descent run that stays below it can only converge to one of them. For leaky
ReLU (no non-global local minima; the saddles are avoided by Theorem 14) every run that
converges reaches a global minimum.

The experiment (``experiment``, the same in every tier; the shared pattern of
``_relu_common``): M = 120 * horizon runs, theta_0 ~ N(0, I) and eta ~ U(0.01, 0.1) / (b - a)
from the instance's seed (exact binary rationals: ``starts``), K = 3000 * horizon GD steps,
stopped early as stationary when |grad L| <= g_tol = tol(1e-9) max(1, alpha^2 (b - a)^3) or as
diverged at |theta| >= 1e6. A run **counts** (the premise holds) when its loss at a checkpoint or
at the end is below the threshold, L < lambda_N (1 - 1e-9) (a run that stops at the constant fit
has L = lambda_N up to rounding when lambda_N is that value), and it never rises back to
lambda_N (1 - 1e-6) afterwards (a run whose loss rises was not a descent below the threshold:
the premise fails; it is reported and does not decide). Leaky ReLU: every run counts. The margin
of a counting run at its end point:

    m = max( log10(|grad L| / g_tol),      # > 0: not stationary (still descending)
             log10(L_0 / L) )              # > 0: at a global minimum, L_0 = 1e-8 alpha^2 (b - a)^3

negative exactly when the run is stationary at a loss above the global minimum: it converged to
a critical point that is not a global minimum although its loss fell below the threshold. The
ensemble is run in float64; the 3 counting runs of smallest float64 margin decide: the margin of
the instance is their smallest margin in the tier (float64: as computed; at ``dps`` digits:
replayed from their exact starts with their exact step sizes, the same K steps, events and
criteria, the tolerances scaled by ``tier.tol``). No counting run: undecided.

``threshold`` is the statement's constant; the planted variant of
``tests/quality/planted_relu.py`` raises it above the constant fit's value, where runs whose
neurons all die end stationary at L = alpha^2 (b - a)^3 / 12, and is refuted.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from verify import Claim, Instance, Judgement, Profile, Tier, relu_setting

from ._relu_common import (
    DECIDING,
    GTOL,
    ZERO_LOSS,
    deciding,
    draw_starts,
    gd_events,
    histogram,
    log_term,
    loss_histogram,
    relu_instances,
    replay,
    run_ensemble,
    scale_of,
    seed_of,
    setting_of,
    smallest_positive_value,
)


def run_margin(tier: Tier, traj: Any, threshold: Any, scale: Fraction) -> tuple[float | None, str]:
    """(margin or None when the run does not count, kind) of one run, in this tier (module notes)."""
    loss = traj.loss
    status = str(getattr(traj.status, "value", traj.status))
    if threshold is not None:
        thr = tier.num(threshold)
        path = list(traj.checkpoints.loss) + [loss]
        below = [k for k, v in enumerate(path) if _finite(v) and v < thr * (1 - tier.num(Fraction(1, 10**9)))]
        if not below:
            return None, "never below the threshold"
        if any((not _finite(v)) or v >= thr * (1 - tier.num(Fraction(1, 10**6))) for v in path[below[0]:]):
            return None, "rose back to the threshold (not a descent)"
    if status == "diverged" or not _finite(loss):
        return None, "diverged"
    gtol = float(tier.tol(GTOL)) * max(1.0, float(scale))
    a = log_term(traj.grad_norm, gtol)
    b = log_term(ZERO_LOSS * float(scale), loss)
    kind = "global minimum" if b >= 0 else ("still descending" if a >= 0 else "stationary above zero")
    return max(a, b), kind


def _finite(v: Any) -> bool:
    try:
        return bool(np.isfinite(float(v)))
    except OverflowError:
        return False


class ReluThresholdImpliesGlobalMinimum(Claim):
    title = "GD runs whose loss falls below the smallest positive critical value end at a global minimum"
    statement = (r"ReLU: if $L(\theta_n) < \alpha^2 (b-a)^3 / (12 (k_N + 1)^4)$ ($k_N$ the largest even $k \le N$) "
                 r"for some $n$, then $L(\theta_n) \to 0$; leaky ReLU: every convergent GD run has "
                 r"$L(\theta_n) \to 0$.")
    source = ("Cheridito, Jentzen, Rossmannek, arXiv:2208.02083 (2022), convergence to global minima below an explicit "
              "loss threshold (threshold taken as the smallest positive critical value, theorems.md section 2)")
    hypotheses = (
        "a [1, N, 1] network with biases and an affine output layer",
        "activation relu or leaky_relu",
        "the integral loss (factor 1) on an interval [a, b]",
        "an affine target alpha x + beta with rational coefficients",
        "GD with small random step sizes eta (b - a) in [0.01, 0.1] from random initializations",
    )
    method = ("The same experiment in every tier: 120 * horizon runs (theta_0 ~ N(0, I), eta ~ U(0.01, 0.1)/(b-a), "
              "exact binary rationals), 3000 * horizon GD steps, stationary at |grad L| <= g_tol = tol(1e-9) max(1, "
              "alpha^2 (b-a)^3). relu: a run counts when its loss falls below the threshold (1 - 1e-9) and does not "
              "rise back to it (else the premise, a descent below the threshold, fails); leaky relu: every run. "
              "Run margin max(log10(|grad L|/g_tol), log10(1e-8 alpha^2 (b-a)^3 / L)): negative when stationary "
              "above the global minimum. The ensemble in float64; the 3 counting runs of smallest margin replayed "
              "in the tier decide. tol = the float64 tolerance scaled to the tier.")

    def instances(self, profile: Profile) -> Any:
        return relu_instances(max_hidden=3)

    def check_hypotheses(self, instance: Instance) -> str | None:
        s = relu_setting(instance.source)
        return s if isinstance(s, str) else None

    def threshold(self, problem: Any) -> Fraction | None:
        """The loss threshold of the statement (relu: the smallest positive critical value; leaky
        relu: None, every run counts)."""
        return smallest_positive_value(problem) if setting_of(problem).activation == "relu" else None

    def starts(self, instance: Instance, profile: Profile) -> tuple[np.ndarray, np.ndarray]:
        """Initializations (M, d) and step sizes (M,), float64 (exact binary rationals), seeded."""
        members = max(20, int(120 * profile.horizon))
        return draw_starts(instance.source, members=members, seed=seed_of(instance), eta_lo=0.01, eta_hi=0.1)

    def experiment(self, instance: Instance, profile: Profile, tier: Tier) -> Judgement:
        prob = instance.source
        scale = scale_of(prob)
        thr = self.threshold(prob)
        steps = max(500, int(3000 * profile.horizon))
        theta0, eta = self.starts(instance, profile)
        f64 = Tier.float64()
        res = run_ensemble(prob, theta0, eta, steps=steps, events=gd_events(f64, scale))
        screened = [run_margin(f64, m, thr, scale) for m in res.members]
        counting = [m if m is not None else np.inf for m, _ in screened]
        chosen = [i for i in deciding(counting, DECIDING) if screened[i][0] is not None]
        decided = []
        for i in chosen:
            if tier.is_float64:
                m, kind = screened[i]
                traj = res.members[i]
            else:
                traj = replay(tier, prob, theta0[i], float(eta[i]), steps=steps, events=gd_events(tier, scale))
                m, kind = run_margin(tier, traj, thr, scale)
            decided.append({"run": i, "margin": m, "kind": kind, "steps": int(traj.t), "loss": tier.text(traj.loss),
                            "grad_norm": tier.text(traj.grad_norm), "step_size": float(eta[i]),
                            "float64_margin": screened[i][0]})
        margins = [r["margin"] for r in decided if r["margin"] is not None]
        kinds = [k for _, k in screened]
        hist = histogram(kinds)
        thr_text = "none (leaky relu: every run counts)" if thr is None else f"{float(thr):.6g}"
        n_count = sum(m is not None for m, _ in screened)
        if not margins:
            return Judgement(None, f"{tier}: threshold {thr_text}: no run counts (none fell below the threshold and "
                                   f"stayed there); outcomes {hist}",
                             {"outcome": "undecided", "outcome_histogram": hist, "runs": len(kinds)})
        worst = min((r for r in decided if r["margin"] is not None), key=lambda r: r["margin"])
        summary = (f"{tier}: threshold {thr_text}: {n_count} of {len(kinds)} runs count; outcomes {hist}; deciding "
                   f"run {worst['run']}: {worst['kind']} at L = {worst['loss']}, |grad L| = {worst['grad_norm']}, "
                   f"margin {worst['margin']:.3g}")
        evidence = {"outcome": "violation" if worst["margin"] < 0 else "all counting runs fine",
                    "outcome_histogram": hist, "threshold": None if thr is None else float(thr),
                    "threshold_reason": "the smallest positive critical value of the classification"
                    if thr is not None else "leaky relu: every run", "runs": len(kinds), "counting": n_count,
                    "steps": steps, "deciding_runs": decided, "tier": tier.name,
                    "final_loss_histogram": loss_histogram([float(m.loss) for m in res.members], float(scale))}
        return Judgement(worst["margin"], summary, evidence)


__all__ = ["ReluThresholdImpliesGlobalMinimum", "run_margin"]
