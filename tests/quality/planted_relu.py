"""Planted false variants of the four shallow-ReLU claims (theorems.md section 2), written as a user
would write a conjecture: a subclass of the theorem's claim that changes its statement and nothing
else. The engine must refute each with a confirmed, shrunk counterexample (``test_relu_refuted.py``).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
from hypothesis import strategies as st

from theorems.center_stable_manifold_null_basin import CenterStableManifoldNullBasin, gd_map_instance
from theorems.gd_avoids_relu_saddles import GdAvoidsReluSaddles
from theorems.relu_critical_points_classified import ReluCriticalPointsClassified, constructed_points
from theorems.relu_threshold_implies_global_minimum import ReluThresholdImpliesGlobalMinimum
from verify import ExprLandscape, Instance, Profile, relu_setting


def _scale(problem: Any) -> Fraction:
    s = relu_setting(problem)
    assert not isinstance(s, str)
    return s.alpha ** 2 * s.length ** 3


class ZigzagValueCubed(ReluCriticalPointsClassified):
    """False: the zig-zag values with the wrong power, alpha^2 (b - a)^3 / (12 (k + 1)^3)."""

    id = "planted_zigzag_value_cubed"
    title = "The ReLU critical values are 0 and alpha^2 (b-a)^3 / (12 (k+1)^3), k even (wrong power)"
    source = "planted (false: the power is 4)"

    def critical_values(self, problem: Any) -> tuple[Fraction, ...]:
        s = relu_setting(problem)
        assert not isinstance(s, str)
        ks = range(0, s.n_hidden + 1, 2) if s.activation == "relu" else (0,)
        return tuple(sorted({Fraction(0)} | {_scale(problem) / (12 * (k + 1) ** 3) for k in ks}))


class NoZigzagSaddles(ReluCriticalPointsClassified):
    """False: "the only critical values are 0 and the constant fit". The conjecture describes no
    zig-zag point, so only the independent search can refute it."""

    id = "planted_no_zigzag_saddles"
    title = "The only critical values of shallow ReLU networks are 0 and the constant fit's"
    source = "planted (false: the zig-zag saddles)"

    def critical_values(self, problem: Any) -> tuple[Fraction, ...]:
        return (Fraction(0), _scale(problem) / 12)

    def classified_points(self, problem: Any) -> list[tuple[str, tuple[Fraction, ...]]]:
        return [p for p in constructed_points(problem) if not p[0].startswith("zig-zag")]


class ReluNoSpuriousMinima(ReluCriticalPointsClassified):
    """False: "ReLU networks, like leaky ReLU networks, have no non-global local minima" (the
    constant fit with dead neurons is one)."""

    id = "planted_relu_no_spurious_minima"
    title = "Shallow ReLU networks have no non-global local minima"
    source = "planted (false: dead neurons)"

    def minimum_values(self, problem: Any) -> tuple[Fraction, ...]:
        return (Fraction(0),)


class GdFromZeroHiddenLayerAvoidsSaddles(GdAvoidsReluSaddles):
    """False: "GD from initializations with a zero hidden layer (w = b = v = 0) does not converge to a
    saddle". That set is invariant and GD on it converges to the constant fit, a saddle: Theorem 14
    holds only for almost every initialization."""

    id = "planted_gd_zero_hidden_layer"
    title = "GD started with a zero hidden layer does not converge to a saddle (shallow ReLU)"
    source = "planted (false: {w = b = v = 0} is a null set that GD does not leave)"

    def starts(self, instance: Instance, profile: Profile) -> tuple[np.ndarray, np.ndarray]:
        theta0, eta = super().starts(instance, profile)
        n = instance.source.network.widths[1]
        theta0 = theta0.copy()
        theta0[:, :3 * n] = 0.0
        return theta0, eta


class ThresholdAboveConstantFit(ReluThresholdImpliesGlobalMinimum):
    """False: a threshold that is too high, alpha^2 (b - a)^3 / 6 (twice the constant fit's value):
    runs whose neurons all die fall below it and end stationary at the constant fit."""

    id = "planted_threshold_too_high"
    title = "GD runs whose loss falls below alpha^2 (b-a)^3 / 6 end at a global minimum (shallow ReLU)"
    source = "planted (false: the constant fit, with dead neurons, lies below that level)"

    def threshold(self, problem: Any) -> Fraction | None:
        s = relu_setting(problem)
        assert not isinstance(s, str)
        return _scale(problem) / 6 if s.activation == "relu" else None


class NullBasinWithoutRepellingDirection(CenterStableManifoldNullBasin):
    """False: "the set of starts whose GD iterates converge to a fixed point is a null set", without
    the hypothesis that DG has an eigenvalue of modulus > 1 there. The maps are those of the claim
    with the sign of the y^2 term flipped: the origin is a strict local minimum with a basin of
    positive measure."""

    id = "planted_null_basin_without_repelling_direction"
    title = "The set of starts whose GD iterates converge to a fixed point is a null set"
    source = "planted (false: an attracting fixed point has a basin of positive measure)"
    hypotheses = ("G = theta - eta grad L, the GD map of a polynomial loss, eta > 0; the origin a fixed point",)

    def instances(self, profile: Profile) -> Any:
        pos = st.builds(Fraction, st.integers(1, 8), st.integers(2, 4))

        @st.composite
        def draw(d: st.DrawFn) -> Instance:
            a, b, c = d(pos), d(pos), d(pos)
            e = d(st.sampled_from([Fraction(0), Fraction(1, 2), Fraction(1)]))
            eta = Fraction(d(st.integers(1, 9)), 10) / max(a, b)
            return gd_map_instance(a, -b, c, e, eta, dim=d(st.sampled_from([1, 2])), seed=d(st.integers(0, 10**6)))

        return draw()

    def check_hypotheses(self, instance: Instance) -> str | None:
        src = instance.source
        if not isinstance(src, ExprLandscape) or "step_size" not in instance.params:
            return "not a GD map of a formula with a step size"
        return None
