"""Planted false variants of the SAD claims on polynomial targets (Kranz, Gallon, Dereich, Jentzen).

Each is a conjecture a user could plausibly write: a theorem claim of ``theorems/`` with one
hypothesis dropped or one rate changed, through the claim's own experiment. Each is false, and
the engine must refute it under the ``ci`` profile with a counterexample that is shrunk and
confirmed at 30 and 60 digits; if a module's judgement is weakened (a margin that cannot become
negative, a criterion switched off), its planted test fails.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from hypothesis import strategies as st

from theorems import _sad
from theorems.polynomial_target_infimum_zero import PolynomialTargetInfimumZero
from theorems.polynomial_target_not_fit_exactly import ACTIVATIONS, TARGETS, PolynomialTargetNotFitExactly
from verify import Instance, Profile


class FiniteDifferencesConvergeLikeH4(PolynomialTargetInfimumZero):
    """False: the forward differences of Theorem 3.5's construction approximate x^j with an O(h)
    error, so L(theta_h) = O(h^2), not O(h^4) (the rate of central differences)."""

    id = "finite_differences_converge_like_h4"
    title = "Along the finite-difference construction L(theta_h) = O(h^4)"
    source = "planted (false: the forward differences give L = O(h^2))"
    loss_rate = 4


class NoExactFitOnAnyData(PolynomialTargetNotFitExactly):
    """False: Theorem 3.4 needs enough data; with n <= d points a network fits the data exactly."""

    id = "no_exact_fit_on_any_data"
    title = "SAD networks never fit a polynomial target of degree >= 2 exactly, on any number of points"
    source = "planted (false: the hypothesis n > d is dropped)"

    def instances(self, profile: Profile) -> Any:
        def build(act: str, target: str, hidden: int, n: int) -> Instance:
            d = 3 * hidden + 1
            prob = _sad.problem(act, (1, hidden, 1), target, _sad.grid(n), [Fraction(0)] * d,
                                name=f"{act}-1-{hidden}-1-{n}pts")
            return Instance(prob, None)

        return st.builds(build, st.sampled_from(ACTIVATIONS), st.sampled_from(TARGETS), st.sampled_from([1, 2]),
                         st.integers(2, 9))

    def check_hypotheses(self, instance: Instance) -> str | None:
        reason = super().check_hypotheses(instance)
        return None if reason is not None and reason.startswith("too little data") else reason
