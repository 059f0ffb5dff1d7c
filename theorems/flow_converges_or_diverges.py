r"""Theorem 2.8 of Kranz, Gallon, Dereich, Jentzen, "SAD neural networks" (arXiv 2505.09572).

Statement
---------
Activation and loss C^1 and definable in an o-minimal structure. Every gradient flow
theta' = -grad L(theta) satisfies exactly one of
(a) theta(t) -> theta* with grad L(theta*) = 0, or
(b) |theta(t)| -> infinity and L(theta(t)) -> an asymptotic critical value c, i.e. along the
    flow |theta| |grad L| -> 0 (Kurdyka-Orro-Simon).

How it is checked
-----------------
Each instance's flow is followed to t1 = 10^6 x profile.horizon with the stiff solver
(``Rodas4``: flows near the infimum are stiff and slow) and classified by ``verify.classify``:
``converged`` (the limit is Newton-refined to a critical point, and for d <= 30 certified with
Krawczyk's test in ball arithmetic, as an isolated point or, at a singular Hessian explained by
symmetries, as a critical manifold) and ``diverging`` (|theta| growing, the loss
falling to an extrapolated limit, |theta| |grad L| falling) are consistent (margin 1). A
counterexample candidate is a flow that ends bounded (|theta| settled) with a gradient that
does not fall, or one whose |theta| grows while |theta| |grad L| rises over the late
checkpoints; it is followed again at dps digits (``solve_flow_mp``) before anything is
reported. Flows that neither settle nor show the signature by t1 are undecided (margin None).

Instances: 1-1-1 and 1-2-1 networks with C^1 activations (tanh, softplus, swish, logistic,
elu, softsign) on 2-4 points, polynomial targets of degree <= 2, exact starts in [-2, 2]^d;
the softplus / tanh pairs near the infimum (case (b) expected); the logistic datum
L(w) = ln(1 + e^{-w}) (case (b) in closed form) and L(x, y) = (x y - 1)^2 + y^2.
Hypotheses: a network activation that is not C^1 (relu, leaky_relu) is ``not_applicable``.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
from hypothesis import strategies as st

from theorems import _sad
from verify import (
    Claim,
    ExprLandscape,
    Instance,
    Judgement,
    MpLandscape,
    NpLandscape,
    Problem,
    Profile,
    Rodas4,
    StepControl,
    certify_critical_point,
    classify,
    solve_flow,
    solve_flow_mp,
)
from verify import strategies as vst

#: converged limits of landscapes up to this many parameters are certified (ball-arithmetic Krawczyk test)
CERTIFY_MAX_PARAMS = 30


def _n_params(source: Any) -> int:
    return int(source.n_params)

C1_ACTIVATIONS = ("tanh", "softplus", "swish", "logistic", "elu", "softsign")


def _np_land(source: Any) -> Any:
    return NpLandscape(source) if isinstance(source, Problem) else source.np()


def _mp_land(source: Any, dps: int) -> Any:
    return MpLandscape(source, dps=dps) if isinstance(source, Problem) else source.mp(dps)


def _anomaly(ck: Any) -> float | None:
    """A negative number when the late checkpoints contradict both cases, else None.

    Bounded without convergence: |theta| settled (relative change < 1e-9) while |grad L| does
    not fall. Growth without asymptotic criticality: |theta| strictly increasing while
    |theta| |grad L| rises by more than 1e-3 relative.
    """
    norm = np.array([float(v) for v in ck.theta_norm][-6:])
    grad = np.array([float(v) for v in ck.grad_norm][-6:])
    if len(norm) < 4 or not (np.all(np.isfinite(norm)) and np.all(np.isfinite(grad))):
        return None
    settled = abs(norm[-1] - norm[0]) <= 1e-9 * max(1.0, norm[-1])
    if settled and grad[-1] > 1e-6 and grad[-1] >= grad[0]:
        return -float(grad[-1])
    crit = norm * grad
    if np.all(np.diff(norm) > 0) and crit[-1] > crit[0] * (1 + 1e-3) and crit[-1] > 1e-10:
        return -float(crit[-1] / crit[0] - 1)
    return None


class FlowConvergesOrDiverges(Claim):
    title = "Every gradient flow converges to a critical point or diverges to an asymptotic critical value"
    statement = (r"$C^1$ definable activation and loss: either $\theta(t) \to \theta^*$ with "
                 r"$\nabla L(\theta^*) = 0$, or $|\theta(t)| \to \infty$, $L(\theta(t)) \to c$ and "
                 r"$|\theta(t)|\,|\nabla L(\theta(t))| \to 0$.")
    source = "Kranz, Gallon, Dereich, Jentzen, SAD neural networks (arXiv 2505.09572), Theorem 2.8"
    hypotheses = ("C^1 activation, definable (all registry activations but relu / leaky_relu)", "point data")
    method = ("gradient flow to t = 1e6 x horizon (Rodas4, float64), classified by verify.classify (Newton-refined "
              "limits, Krawczyk certificates in ball arithmetic for d <= 30, growth signature); candidates "
              "re-followed at dps digits")

    def instances(self, profile: Profile) -> Any:
        net = vst.networks(min_depth=1, max_depth=1, max_width=2, activation=st.sampled_from(C1_ACTIVATIONS),
                           biases=st.just(True))
        generic = vst.instances(problem=vst.problems(network=net, min_size=2, max_size=4, max_degree=2))

        def pair(act: str, w: Fraction) -> Instance:
            th = _sad.to_fractions(_sad.pair_theta(act, Fraction(1), Fraction(0), w))
            return Instance(_sad.problem(act, (1, 2, 1), "x**2", _sad.grid(9), th, name=f"{act}-pair"), th)

        pairs = st.builds(pair, st.sampled_from(["softplus", "tanh"]), st.sampled_from([Fraction(1), Fraction(3, 2)]))
        w0 = vst.rationals(min_value=-2, max_value=2, max_denominator=4)
        logistic = st.builds(lambda w: Instance(ExprLandscape("log(1 + exp(-w))", ["w"], name="logistic-datum"),
                                                (w,)), w0)
        saddle = st.builds(lambda x, y: Instance(ExprLandscape("(x*y - 1)**2 + y**2", ["x", "y"], name="xy"),
                                                 (x, y)), w0, w0)
        return st.one_of(generic, generic, pairs, logistic, saddle)

    def check_hypotheses(self, instance: Instance) -> str | None:
        return _sad.c1_violation(instance.source)

    def _theta0(self, instance: Instance) -> tuple[Fraction, ...]:
        if instance.theta0 is not None:
            return instance.theta0
        return instance.source.initial_exact(0)

    def judge(self, instance: Instance, profile: Profile) -> Judgement:
        land = _np_land(instance.source)
        theta0 = np.array([float(v) for v in self._theta0(instance)])
        t1 = 1e6 * profile.horizon
        traj = solve_flow(land, theta0, t1=t1, solver=Rodas4(), control=StepControl(rtol=1e-10, atol=1e-12),
                          checkpoints=48).members[0]
        out = classify(land, traj)
        evidence: dict[str, Any] = {"outcome": out.kind, "series": _sad.series(traj), "status": str(traj.status)}
        if out.kind == "converged":
            evidence.update(point_kind=out.point_kind, index=out.index, null_dim=out.null_dim,
                            limit_loss=float(out.limit_loss), spectrum=[float(e) for e in out.eigenvalues or ()])
            cert = ""
            proof = None
            if _n_params(instance.source) <= CERTIFY_MAX_PARAMS:
                c = certify_critical_point(instance.source, list(out.limit), dps=20)
                evidence["certified"] = bool(c.certified)
                proof = c.record("instance.source")
                cert = ((", certified (Krawczyk" + (f", a {c.manifold_dim}-dimensional critical manifold)"
                                                    if c.manifold_dim else ")"))
                        if c.certified else ", Newton-confirmed (not certified)")
            return Judgement(1.0, f"converged to a {out.point_kind} with L = {float(out.limit_loss):.6g}{cert}",
                             evidence, proof)
        if out.kind == "diverging":
            crit = [float(v) for v in out.criticality or ()]
            evidence.update(loss_limit=None if out.loss_limit is None else float(out.loss_limit),
                            criticality=crit, growth=out.growth)
            last = crit[-1] if crit else float("nan")
            return Judgement(1.0, f"diverging: |theta| -> {float(traj.theta_norm):.6g}, L -> "
                                  f"{float(traj.loss):.6g}, |theta||grad L| -> {last:.3g}", evidence)
        margin = _anomaly(traj.checkpoints)
        if margin is not None:
            return Judgement(margin, f"neither case: {out.reason}", evidence)
        return Judgement(None, f"undecided at t = {t1:g}: {out.reason}", evidence)

    def confirm(self, instance: Instance, profile: Profile, dps: int) -> Judgement:
        land = _mp_land(instance.source, dps)
        t1 = 100 * profile.horizon
        traj = solve_flow_mp(land, list(self._theta0(instance)), t1=t1, checkpoints=24, max_steps=20_000)
        out = classify(land, traj)
        if out.kind in ("converged", "diverging"):
            return Judgement(1, f"at {dps} digits (t = {t1:g}): {out.kind}: {out.reason}")
        margin = _anomaly(traj.checkpoints)
        return Judgement(margin, f"at {dps} digits (t = {t1:g}): {out.kind}: {out.reason}")
