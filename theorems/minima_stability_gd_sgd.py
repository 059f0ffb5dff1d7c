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
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from hypothesis import strategies as st

from verify import (
    Claim,
    Instance,
    Judgement,
    Profile,
    certify_gd_stability,
    landscape,
    minimum_stability,
    parse_problem,
    run_near_minimum,
)
from verify import strategies as vst

from ._stability_examples import DATA, C, deep_linear_problem, paper_problem

#: runs must move the distance to theta* by 1e4 (in or out) to decide; step caps
_DECIDE = math.log(1e4)
_MAX_STEPS = 6000


def _regression():
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


def _sgd_steps(lam: float, stderr: float, steps: int) -> int | None:
    """Steps after which the drift |lambda| N beats 2 * log(1e4) plus four standard deviations of the noise."""
    sigma = stderr * math.sqrt(steps)  # per-step standard deviation of the log growth (batch means)
    a, b, c = abs(lam), 4 * sigma, 2 * _DECIDE
    root = (b + math.sqrt(b * b + 4 * a * c)) / (2 * a)
    n = math.ceil(root * root) + 20
    return n if n <= _MAX_STEPS else None


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
    method = ("mu from numpy's eigh of the Hessian (normal space: eigenvalues above 1e-8 relative); lambda from "
              "20000 x horizon steps of the projected random product (a random start vector, burn-in 10%), with a "
              "95% Student-t interval from 20 batch means. GD and SGD (batch 1, index i drawn with probability p_i) "
              "start at theta + 1e-6 max(1, |theta|) u, u a random unit normal vector; a run is 'converged' when it "
              "ends within 10 delta_0 with the loss gap below 1e-6 of the initial one, 'left' when it goes 1e3 "
              "delta_0 away. Only runs long enough to move the distance by 1e4 against four noise standard "
              "deviations (at most 6000 steps) and exponents beyond 1e-3 from 0 decide. Margin: -1 if a decided "
              "run contradicts the sign of its exponent, +1 if all decided runs agree; for the deep linear net "
              "with eta > 2/D also mu > 0. The ReLU example uses the loss L = (1/m) sum (1/2)(f - y)^2 = 1.765 "
              "(1 - theta_1 theta_2)^2 on the positive quadrant (not the caption's 3.53). Confirmation: mu by "
              "mpmath's eigsy and the same runs (same draws) in the mp tier at dps digits; lambda is the float64 "
              "estimate.")

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
        eta = instance.param("step_size")
        if eta <= 0:
            return f"step_size = {eta} is not positive"
        n = src.data.n if hasattr(src, "data") else 0
        batch = int(instance.param("batch")) if "batch" in instance.params else 1
        if not 1 <= batch <= max(n, 1):
            return f"batch = {batch} is not in 1 .. n = {n}"
        if "p" in instance.params and not 0 < instance.param("p") < 1:
            return f"p = {instance.param('p')} is not in (0, 1)"
        if src.network.activation == "relu" and not all(v > 0 for v in instance.theta0):
            return "the ReLU example is C^2 near theta only for theta_1, theta_2 > 0"
        loss = landscape(src, tier="exact").loss(list(instance.theta0))
        if loss != 0:
            return f"theta is not a global minimum: L(theta) = {loss} (exact), not 0"
        return None

    def _weights(self, instance: Instance) -> list[str] | None:
        if "p" not in instance.params:
            return None
        p = instance.param("p")
        return [str(p), str(1 - p)]

    def _decide(self, instance: Instance, profile: Profile, dps: int | None) -> Judgement:
        src = instance.source
        theta = list(instance.theta0)
        eta = instance.param("step_size")
        batch = int(instance.param("batch"))
        weights = self._weights(instance)
        lyap_steps = max(2000, int(20_000 * profile.horizon))
        ms = minimum_stability(src, [float(v) for v in theta], step_size=float(eta), batch=batch, weights=weights,
                               steps=lyap_steps)
        mu: Any = ms.mu
        if dps is not None:
            from verify import gd_stability

            mu = gd_stability(src, theta, step_size=eta, dps=dps)[0]
        mu_f = float(mu)
        gd_pred = True if mu_f < -1e-3 else False if mu_f > 1e-3 else None
        ev: dict[str, Any] = {"mu": mu, "normal_eigenvalues": list(ms.normal_eigenvalues),
                              "lambda": None if ms.lyapunov is None else ms.lyapunov.to_json(),
                              "spectrum": list(ms.normal_eigenvalues)}
        # where the Hessian at theta is exact, mu is enclosed in ball arithmetic: the proved sign decides GD
        proof = None
        cert = certify_gd_stability(src, theta, step_size=eta)
        if cert.certified and cert.mu is not None:
            ev["mu_certified"] = list(cert.mu)
            if cert.stable is not None and abs(mu_f) > 1e-3:
                gd_pred = cert.stable
            proof = {"kind": "stability exponent", "statement": cert.reason, "mu": list(cert.mu),
                     "normal_eigenvalues": [list(e) for e in cert.eigenvalues], "null_dim": cert.null_dim,
                     "recheck": (f"verify.certify_gd_stability(instance.source, {[str(v) for v in theta]}, "
                                 f"step_size={str(eta)!r})")}
        agree, disagree, notes = 0, 0, []
        if gd_pred is not None:
            run = run_near_minimum(src, theta, step_size=eta, steps=_gd_steps(mu_f), dps=dps)
            ev["gd_run"] = run.to_json()
            if run.outcome != "undecided":
                ok = (run.outcome == "converged") == gd_pred
                agree += ok
                disagree += not ok
                notes.append(f"GD {run.outcome} (mu {mu_f:.4g})")
            else:
                notes.append(f"GD undecided after {run.steps} steps (mu {mu_f:.4g})")
        else:
            notes.append(f"mu {mu_f:.3g} on the boundary")
        ly = ms.lyapunov
        if ly is not None and ms.sgd_stable is not None and src.data.n > 1:
            n_steps = _sgd_steps(ly.estimate, ly.stderr, ly.steps)
            if n_steps is None:
                notes.append(f"SGD not run: lambda {ly.estimate:.3g} too close to 0 for {_MAX_STEPS} steps")
            else:
                run = run_near_minimum(src, theta, step_size=eta, steps=n_steps, batch=batch, weights=weights,
                                       seed=1, dps=dps)
                ev["sgd_run"] = run.to_json()
                if run.outcome != "undecided":
                    ok = (run.outcome == "converged") == ms.sgd_stable
                    agree += ok
                    disagree += not ok
                    notes.append(f"SGD {run.outcome} (lambda {ly.estimate:.4g} [{ly.low:.3g}, {ly.high:.3g}])")
                else:
                    notes.append(f"SGD undecided after {run.steps} steps")
        if src.name.startswith("deep-linear"):
            depth = len(theta)
            closed = sum(1 / (float(w) ** 2) for w in theta)
            ev["sharpness_closed_form"] = closed
            ev["bound_2_over_D"] = 2 / depth
            if eta > Fraction(2, depth):
                ok = mu_f > 0
                agree += ok
                disagree += not ok
                notes.append(f"eta > 2/D = {2 / depth:.4g}: mu {'>' if ok else '<='} 0")
        if src.network.activation == "relu":
            r2 = sum(float(v) ** 2 for v in theta)
            ev["mu_closed_form"] = math.log(abs(1 - float(eta) * 2 * float(C) * r2))
            p = float(instance.param("p"))
            ev["lambda_closed_form"] = sum(q * math.log(abs(1 - float(eta) * float(x) ** 2 * r2))
                                           for q, x in zip((p, 1 - p), DATA))
        outcome = "disagree" if disagree else "agree" if agree else "undecided"
        ev["outcome"] = outcome
        margin = -1.0 if disagree else 1.0 if agree else None
        return Judgement(margin, "; ".join(notes), ev, proof if margin is not None else None)

    def judge(self, instance: Instance, profile: Profile) -> Judgement:
        return self._decide(instance, profile, None)

    def confirm(self, instance: Instance, profile: Profile, dps: int) -> Judgement:
        return self._decide(instance, profile, dps)
