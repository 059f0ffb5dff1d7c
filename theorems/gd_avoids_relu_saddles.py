r"""Gradient descent on shallow ReLU networks does not converge to saddle points.

Statement (Cheridito, Jentzen, Rossmannek, arXiv:2208.02083, Theorem 14). For the integral loss
L = int_a^b (N_theta(x) - alpha x - beta)^2 dx of a one-hidden-layer ReLU (or leaky ReLU)
network with an affine target, for almost every step size eta the set of initializations from
which GD theta_{n+1} = theta_n - eta grad L(theta_n) converges to a saddle point has Lebesgue
measure zero.

Method. Both sides of the null-set statement. (1) Random side: M = 150 * horizon
initializations theta_0 ~ N(0, I) and step sizes eta ~ U(0.02, 0.3) / (b - a), drawn from the
instance's seed (float64 values, exact binary rationals), run with ``run_descent`` for
3000 * horizon steps; each end point is classified (``global minimum`` when L <= 1e-8
alpha^2 (b - a)^3; else, with |grad L| <= 1e-9: ``saddle`` when the float64 Hessian has an
eigenvalue < -1e-6 |H|, ``saddle (w = b = 0)`` when a neuron has w = b = 0 (a nonsmooth saddle:
L decreases along a curve that switches the neuron on), else ``local minimum``; ``not
converged``, ``diverged``). The count of runs ending at a saddle is reported with Wilson's
95% upper bound on the probability. margin = -count (>= 0: none ended at a saddle); a
violation is confirmed by replaying the offending runs at ``dps`` digits. (2) Null-set side:
the set {w = b = v = 0} is invariant under GD (grad L has zero hidden components there,
checked exactly) and GD on it is c -> c - 2 eta (b - a)(c - f((a+b)/2)), so runs started there
with eta < 1/(b - a) converge to the constant-fit saddle; and the zig-zag saddle (ReLU, N >= 2)
is a fixed point of GD (exact zero gradient). These are run and reported in the evidence.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from verify import (
    Claim,
    Instance,
    Judgement,
    MpLandscape,
    NpLandscape,
    Profile,
    landscape,
    relu_setting,
    relu_zigzag_point,
    wilson_upper,
)

from ._relu_common import (
    GTOL,
    draw_starts,
    endpoint_kind,
    histogram,
    loss_histogram,
    relu_instances,
    run_ensemble,
    scale_of,
)

CONFIDENCE = 0.95


def stable_set_runs(problem: Any, seed: int) -> dict[str, Any]:
    """Runs started on the stable set of a saddle: they converge to it (module notes)."""
    s = relu_setting(problem)
    assert not isinstance(s, str)
    d = problem.n_params
    exact = landscape(problem, tier="exact")
    fit = s.target((s.a + s.b) / 2)
    out: dict[str, Any] = {}
    starts = [fit + 1, fit - s.alpha, fit + 3]      # on {w = b = v = 0}
    invariant = all(all(g == 0 for g in exact.grad([0] * (d - 1) + [c])[:d - 1]) for c in starts)
    rng = np.random.default_rng(seed)
    theta0 = np.zeros((len(starts), d))
    theta0[:, -1] = [float(c) for c in starts]
    eta = rng.uniform(0.05, 0.95, size=len(starts)) / float(s.length)    # eta (b - a) < 1
    res = run_ensemble(problem, theta0, eta, steps=2000)
    target = float(fit)
    ends = [abs(float(m.theta[-1]) - target) + float(np.abs(np.asarray(m.theta[:-1], dtype=float)).max())
            for m in res.members]
    out["constant_fit_saddle"] = {"invariant_exact": bool(invariant), "starts_c": [str(c) for c in starts],
                                  "step_sizes": [float(e) for e in eta], "distance_at_end": ends,
                                  "converged": bool(all(e < 1e-9 for e in ends))}
    if s.activation == "relu" and s.n_hidden >= 2:
        zz = relu_zigzag_point(problem, 2)
        res2 = run_ensemble(problem, np.array([[float(v) for v in zz]]), np.array([0.1 / float(s.length)]),
                            steps=200)
        dist = float(np.linalg.norm(np.asarray(res2.members[0].theta, dtype=float) - [float(v) for v in zz]))
        out["zigzag_saddle"] = {"grad_zero_exact": bool(all(g == 0 for g in exact.grad(zz))),
                                "distance_after_200_steps": dist, "stays": dist < 1e-12}
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
    method = ("150 * horizon runs per instance, theta_0 ~ N(0, I), eta ~ U(0.02, 0.3)/(b - a), 3000 * horizon GD "
              "steps (run_descent, float64); end points classified (global minimum: L <= 1e-8 alpha^2 (b-a)^3; "
              f"converged: |grad L| <= {GTOL:g}; saddle: Hessian eigenvalue < -1e-6 |H| or a neuron with w = b = 0; "
              "else local minimum); margin = -(runs ending at a saddle); Wilson 95% upper bound on the "
              "probability. Confirmation: the offending runs replayed at dps digits (MpLandscape). Null-set side: "
              "starts on the invariant set {w = b = v = 0} converge to the constant-fit saddle; the zig-zag is a "
              "fixed point (exact zero gradient).")

    def instances(self, profile: Profile) -> Any:
        return relu_instances(max_hidden=3)

    def check_hypotheses(self, instance: Instance) -> str | None:
        s = relu_setting(instance.source)
        return s if isinstance(s, str) else None

    def _runs(self, instance: Instance, profile: Profile) -> tuple[Any, np.ndarray, np.ndarray, int]:
        prob = instance.source
        seed = int(instance.params.get("seed", "0"))
        members = max(20, int(150 * profile.horizon))
        steps = max(500, int(3000 * profile.horizon))
        theta0, eta = draw_starts(prob, members=members, seed=seed, eta_lo=0.02, eta_hi=0.3)
        return run_ensemble(prob, theta0, eta, steps=steps), theta0, eta, steps

    def judge(self, instance: Instance, profile: Profile) -> Judgement:
        prob = instance.source
        scale = float(scale_of(prob))
        res, _theta0, eta, steps = self._runs(instance, profile)
        land = NpLandscape(prob)
        kinds = [endpoint_kind(prob, land, m, scale) for m in res.members]
        saddle = [i for i, k in enumerate(kinds) if k.startswith("saddle")]
        n = len(kinds)
        upper = wilson_upper(len(saddle), n, confidence=CONFIDENCE)
        stable = stable_set_runs(prob, int(instance.params.get("seed", "0")))
        summary = (f"{len(saddle)} of {n} runs ended at a saddle (Wilson {CONFIDENCE:.0%} upper bound "
                   f"{upper:.3g}); outcomes {histogram(kinds)}; starts on a saddle's stable set converge: "
                   f"{all(v.get('converged', v.get('stays', True)) for v in stable.values())}")
        evidence = {"outcome": "saddle reached" if saddle else "no saddle reached",
                    "outcome_histogram": histogram(kinds), "runs": n, "steps": steps,
                    "ended_at_saddle": len(saddle), "saddle_runs": saddle[:10],
                    "wilson_upper": upper, "confidence": CONFIDENCE,
                    "final_loss_histogram": loss_histogram([float(m.loss) for m in res.members], scale),
                    "step_size_range": [float(eta.min()), float(eta.max())], "stable_set": stable}
        return Judgement(-float(len(saddle)) if saddle else 1.0 - upper, summary, evidence)

    def confirm(self, instance: Instance, profile: Profile, dps: int) -> Judgement:
        """Replay the runs that ended at a saddle at ``dps`` digits (same exact starts and steps)."""
        prob = instance.source
        scale = float(scale_of(prob))
        res, theta0, eta, steps = self._runs(instance, profile)
        land = NpLandscape(prob)
        bad = [i for i, m in enumerate(res.members) if endpoint_kind(prob, land, m, scale).startswith("saddle")]
        mp_land = MpLandscape(prob, dps=dps)
        ctx = mp_land.ctx
        still = []
        for i in bad[:5]:
            th = [ctx.mpf(float(v)) for v in theta0[i]]
            h = ctx.mpf(float(eta[i]))
            for _ in range(steps):
                g = mp_land.grad(th)
                th = [t - h * gi for t, gi in zip(th, g)]
            g = mp_land.grad(th)
            gnorm = ctx.sqrt(sum(gi * gi for gi in g))
            H = ctx.matrix(mp_land.hessian(th))
            lam = ctx.eigsy(H, eigvals_only=True)
            if gnorm < ctx.mpf(10) ** (-dps // 2) and min(lam) < -1e-6 * max(abs(x) for x in lam):
                still.append(i)
        return Judgement(-float(len(still)) if still else 1.0,
                         f"{len(still)} of {len(bad[:5])} replayed runs end at a saddle at {dps} digits",
                         {"replayed": bad[:5], "still_saddle": still})


__all__ = ["GdAvoidsReluSaddles", "stable_set_runs"]
