"""Planted false variants of the stability claims (Craciun-Ghoshdastidar; arXiv 2402.13108).

Each is a conjecture a user could plausibly write: a theorem claim of ``theorems/`` with one of
its conclusions changed through the hook the claim documents (``predicted_singular``,
``predicted_gd``, ``closed_form``, ``bound``). The experiment is the theorem module's own, so
these claims measure that module's power to say "false": each is false, and the engine must
refute it under the ``ci`` profile with a counterexample that is shrunk and confirmed at 30
and 60 digits. If a module's judgement is weakened (a margin that cannot become negative, a
criterion switched off), its planted test fails.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Sequence

from theorems.gd_map_nonsingular import GdMapNonsingular
from theorems.gd_periodic_orbits import GdPeriodicOrbits
from theorems.large_step_gd_avoids_minima import LargeStepGdAvoidsMinima
from theorems.minima_stability_gd_sgd import MinimaStabilityGdSgd
from verify import Instance, Tier


class NonsingularForEveryStep(GdMapNonsingular):
    """False: G_eta is singular where det(I - eta H) vanishes on a piece of positive measure
    (Figure 1 at eta = 1/2 maps the exterior of [-2, 2] to 0; a quadratic at eta = 1/lambda)."""

    id = "nonsingular_for_every_step"
    title = "G_eta is non-singular for every step size eta > 0"
    source = "planted (false: Figure 1 of Craciun-Ghoshdastidar at eta = 1/2)"

    def predicted_singular(self, instance: Instance, singular_pieces: list[str]) -> bool:
        return False


class StableBelowThreeOverSharpness(MinimaStabilityGdSgd):
    """False: the GD stability bound is 2 / lambda_max, not 3 / lambda_max."""

    id = "stable_below_three_over_sharpness"
    title = "A global minimum is GD-stable iff eta lambda_max < 3"
    source = "planted (false: the edge of stability is eta lambda_max = 2)"

    def predicted_gd(self, mu: float, normal_eigenvalues: Sequence[float], eta: Fraction,
                     certified: bool | None) -> bool | None:
        if not normal_eigenvalues:
            return True
        return float(eta) * max(normal_eigenvalues) < 3


class WrongTwoCycleMultipliers(GdPeriodicOrbits):
    """False: on the paper's diagonal 2-cycle the multiplier along the diagonal is 9 - 2 (1 + k)^2;
    this variant drops the factor 2."""

    id = "wrong_two_cycle_multipliers"
    title = "The diagonal 2-cycle of the paper's example has multipliers 9 - (1 + k)^2 and 3 - 2k"
    source = "planted (false: the multiplier is 9 - 2 (1 + k)^2)"

    def closed_form(self, instance: Instance, tier: Tier, period: int, points: list[Any]) -> list[Any] | None:
        right = super().closed_form(instance, tier, period, points)
        if right is None or period != 2:
            return right
        k = 2 * tier.num(Fraction(1765, 1000)) * tier.num(instance.param("step_size"))
        return sorted([9 - (1 + k) ** 2, 3 - 2 * k])


class LargeStepFromOneOverD(LargeStepGdAvoidsMinima):
    """False: for 1/D < eta <= 2/D the balanced minima are GD-stable, and GD converges from a
    set of starts of positive measure."""

    id = "large_step_from_one_over_d"
    title = "For eta > 1/D, GD on (w_1 ... w_D - 1)^2 / 2 converges from no random start"
    source = "planted (false: the bound is 2/D)"
    bound = Fraction(1)
