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

Method. 120 * horizon runs, theta_0 ~ N(0, I), eta ~ U(0.01, 0.1)/(b - a), from the instance's
seed. ReLU: phase 1 runs GD (``run_descent``) until L <= lambda_N (an event) for 3000 * horizon
steps; the runs that crossed continue for 4000 * horizon steps from the crossing point. A run
that crossed ends at a global minimum when its final loss is <= 1e-8 alpha^2 (b - a)^3; it
violates the claim when it is stationary (|grad L| <= 1e-9) at a loss in (1e-8 alpha^2 (b - a)^3,
lambda_N). A run whose loss goes back up to lambda_N or above was not a descent (the step was too
large for the local curvature): the premise fails, it is reported and does not decide. Crossing
means L < lambda_N (1 - 1e-9): a run that stops at the constant fit has L = lambda_N up to rounding
(an early version counted those as crossings and reported a false counterexample for N = 1).
Leaky ReLU: every run, 6000 * horizon steps,
same rule. margin = the smallest of 1 (global minimum) and -L_end / lambda_N (a stationary
non-global end); runs still moving at the end do not decide. Confirmation: the violating runs
replayed at ``dps`` digits.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from verify import Claim, Instance, Judgement, MpLandscape, Profile, relu_setting

from ._relu_common import (
    GTOL,
    ZERO_LOSS,
    draw_starts,
    histogram,
    loss_histogram,
    relu_instances,
    run_ensemble,
    scale_of,
    smallest_positive_value,
)


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
    method = ("120 * horizon runs per instance (theta_0 ~ N(0, I), eta ~ U(0.01, 0.1)/(b-a)); relu: GD until L <= "
              "threshold (3000 * horizon steps), then 4000 * horizon more steps from the crossing; leaky relu: "
              "6000 * horizon steps. End at a global minimum: L <= 1e-8 alpha^2 (b-a)^3; violation: |grad L| <= "
              f"{GTOL:g} at a loss in (that, threshold); runs whose loss returns to the threshold (not a descent) "
              "do not decide. margin = min(1 for global minima, -L_end/threshold for violations). "
              "Confirmation: violating runs replayed at dps digits.")

    def instances(self, profile: Profile) -> Any:
        return relu_instances(max_hidden=3)

    def check_hypotheses(self, instance: Instance) -> str | None:
        s = relu_setting(instance.source)
        return s if isinstance(s, str) else None

    def _ends(self, instance: Instance, profile: Profile) -> dict[str, Any]:
        prob = instance.source
        s = relu_setting(prob)
        assert not isinstance(s, str)
        scale = float(scale_of(prob))
        thr = float(smallest_positive_value(prob))
        members = max(20, int(120 * profile.horizon))
        theta0, eta = draw_starts(prob, members=members, seed=int(instance.params.get("seed", "0")),
                                  eta_lo=0.01, eta_hi=0.1)
        if s.activation == "relu":
            first = run_ensemble(prob, theta0, eta, steps=max(500, int(3000 * profile.horizon)), loss_below=thr)
            # strictly below (a run that stops at the constant fit has L = threshold up to rounding)
            crossed = [i for i, m in enumerate(first.members) if float(m.loss) < thr * (1 - 1e-9)]
            if crossed:
                start = np.array([np.asarray(first.members[i].theta, dtype=float) for i in crossed])
                second = run_ensemble(prob, start, eta[crossed], steps=max(800, int(4000 * profile.horizon)))
                ends = list(second.members)
                steps_before = [float(first.members[i].t) for i in crossed]
            else:
                ends, start, steps_before = [], np.zeros((0, prob.n_params)), []
        else:
            crossed = list(range(members))
            second = run_ensemble(prob, theta0, eta, steps=max(1000, int(6000 * profile.horizon)))
            ends, start, steps_before = list(second.members), theta0, [0.0] * members
        kinds, rose = [], 0
        for m in ends:
            loss, g = float(m.loss), float(m.grad_norm)
            cps = [float(v) for v in m.checkpoints.loss]
            if s.activation == "relu" and max(cps, default=0.0) > thr:
                rose += 1
            if loss <= ZERO_LOSS * scale:
                kinds.append("global minimum")
            elif s.activation == "relu" and np.isfinite(loss) and loss >= thr * (1 - 1e-6):
                # the loss went back up to the threshold: GD was not a descent there (step too large
                # for the local curvature); the claim's premise (descent below the threshold) fails
                kinds.append("rose back to the threshold (not a descent)")
            elif np.isfinite(loss) and g <= GTOL * max(1.0, scale):
                kinds.append("stationary above zero")
            elif not np.isfinite(loss) or str(getattr(m.status, "value", m.status)) == "diverged":
                kinds.append("diverged")
            else:
                kinds.append("still descending")
        return {"threshold": thr, "scale": scale, "members": members, "crossed": crossed, "ends": ends,
                "kinds": kinds, "rose_above": rose, "start": start, "eta": eta, "steps_before": steps_before}

    def judge(self, instance: Instance, profile: Profile) -> Judgement:
        r = self._ends(instance, profile)
        margins = [1.0 if k == "global minimum" else -float(m.loss) / r["threshold"]
                   for k, m in zip(r["kinds"], r["ends"]) if k in ("global minimum", "stationary above zero")]
        margin = min(margins) if margins else None
        hist = histogram(r["kinds"])
        bad = sum(k == "stationary above zero" for k in r["kinds"])
        summary = (f"threshold {r['threshold']:.6g}: {len(r['crossed'])} of {r['members']} runs below it; ends "
                   f"{hist}; {bad} stationary above 0; {r['rose_above']} rose above the threshold again")
        evidence = {"outcome": "violation" if bad else ("all global" if margins else "undecided"),
                    "outcome_histogram": hist, "threshold": r["threshold"],
                    "threshold_reason": "the smallest positive critical value of the classification",
                    "runs": r["members"], "crossed": len(r["crossed"]), "rose_above_threshold": r["rose_above"],
                    "final_loss_histogram": loss_histogram([float(m.loss) for m in r["ends"]], r["scale"])}
        return Judgement(margin, summary, evidence)

    def confirm(self, instance: Instance, profile: Profile, dps: int) -> Judgement:
        """Replay (up to 3) violating runs from their crossing point at ``dps`` digits."""
        r = self._ends(instance, profile)
        prob = instance.source
        land = MpLandscape(prob, dps=dps)
        ctx = land.ctx
        bad = [i for i, k in enumerate(r["kinds"]) if k == "stationary above zero"][:3]
        worst = None
        for i in bad:
            th = [ctx.mpf(float(v)) for v in r["start"][i]]
            h = ctx.mpf(float(r["eta"][r["crossed"][i]]))
            for _ in range(int(r["ends"][i].t)):
                th = [t - h * gi for t, gi in zip(th, land.grad(th))]
            loss = land.loss(th)
            if loss > ZERO_LOSS * r["scale"]:
                worst = loss if worst is None else max(worst, loss)
        if worst is None:
            return Judgement(1.0, f"none of {len(bad)} replayed runs stays above zero at {dps} digits")
        return Judgement(-worst / r["threshold"], f"a replayed run ends at L = {worst} at {dps} digits")


__all__ = ["ReluThresholdImpliesGlobalMinimum"]
