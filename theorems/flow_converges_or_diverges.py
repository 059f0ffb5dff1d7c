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
One experiment in every tier (``Claim.experiment``): the flow from the instance's exact start is
followed until decided (``Tier.follow``: log-time segments, ``verify.classify`` after each
decade) or until the profile's flow time and steps are spent (``quick`` 1e8, ``ci`` 1e12,
``thorough`` 1e14): ``converged`` to a Newton-refined critical point (for d <= 30 also
certified with Krawczyk's test in ball arithmetic, as an isolated point or, at a singular
Hessian explained by symmetries, as a critical manifold), or ``diverging`` on three
consecutive decades. The margin is a signed distance from violating the dichotomy
(``_sad.dichotomy_margin``): 1 - |grad L(theta_T)| / |grad L(theta_0)| for a converged flow,
-kappa for a diverging one (|theta| |grad L| ~ t^kappa on the tail: negative when
|theta| |grad L| does not fall), and, for a flow still undecided at the budget, -kappa when
|theta| grew over the last two decades while |theta| |grad L| rose on both; otherwise the
instance is undecided. A violation is confirmed by the same experiment at dps and 2 dps digits;
where the high-precision flow cannot be decided within ``flow_seconds``, from the float64
flow's final state (the claim is about every start, so that state is an instance too).

Instances: 1-1-1 and 1-2-1 networks with C^1 activations (tanh, softplus, swish, logistic,
elu, softsign) on 2-4 points, polynomial targets of degree <= 2, exact starts in [-2, 2]^d;
the softplus / tanh pairs near the infimum (case (b) expected); the logistic datum
L(w) = ln(1 + e^{-w}) (case (b) in closed form) and L(x, y) = (x y - 1)^2 + y^2.
Hypotheses: a network activation that is not C^1 (relu, leaky_relu) is ``not_applicable``.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from hypothesis import strategies as st

from theorems import _sad
from verify import Claim, ExprLandscape, Instance, Judgement, Profile, Tier, certify_critical_point
from verify import strategies as vst

#: converged limits of landscapes up to this many parameters are certified (ball-arithmetic Krawczyk test)
CERTIFY_MAX_PARAMS = 30


def _n_params(source: Any) -> int:
    return int(source.n_params)

C1_ACTIVATIONS = ("tanh", "softplus", "swish", "logistic", "elu", "softsign")


class FlowConvergesOrDiverges(Claim):
    title = "Every gradient flow converges to a critical point or diverges to an asymptotic critical value"
    statement = (r"$C^1$ definable activation and loss: either $\theta(t) \to \theta^*$ with "
                 r"$\nabla L(\theta^*) = 0$, or $|\theta(t)| \to \infty$, $L(\theta(t)) \to c$ and "
                 r"$|\theta(t)|\,|\nabla L(\theta(t))| \to 0$.")
    source = "Kranz, Gallon, Dereich, Jentzen, SAD neural networks (arXiv 2505.09572), Theorem 2.8"
    hypotheses = ("C^1 activation, definable (all registry activations but relu / leaky_relu)", "point data")
    method = ("gradient flow followed until decided (Tier.follow: automatic stiffness switching, verify.classify "
              "after each decade, to the profile's flow time: ci 1e12), the same experiment at dps and 2 dps digits "
              "to confirm; margin 1 - |grad L(T)|/|grad L(0)| (converged, Krawczyk certificates for d <= 30) or "
              "-kappa with |theta||grad L| ~ t^kappa (diverging)")
    restartable = True

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

    def conclusion(self, fl: Any, land: Any, theta0: Any, tier: Tier) -> tuple[Any, str]:
        """(margin, what was seen) of a followed flow: ``_sad.dichotomy_margin``."""
        return _sad.dichotomy_margin(fl, land, theta0, tier)

    def experiment(self, instance: Instance, profile: Profile, tier: Tier) -> Judgement:
        theta0 = self._theta0(instance)
        land, fl = _sad.follow(instance.source, theta0, profile, tier)
        margin, what = self.conclusion(fl, land, theta0, tier)
        evidence = _sad.flow_evidence(fl)
        proof = None
        out = fl.outcome
        small = _n_params(instance.source) <= CERTIFY_MAX_PARAMS
        if tier.is_float64 and fl.decided and out.kind == "converged" and small:
            c = certify_critical_point(instance.source, list(out.limit), dps=20)
            evidence["certified"] = bool(c.certified)
            if c.certified:
                proof = c.record("instance.source")
                what += (f", certified (Krawczyk, a {c.manifold_dim}-dimensional critical manifold)" if c.manifold_dim
                         else ", certified (Krawczyk)")
            else:
                what += ", Newton-confirmed (not certified)"
        restart, note = _sad.restart_state(fl, tier)
        return Judgement(margin, f"{tier.name}: {what}", evidence, proof, restart, note)
