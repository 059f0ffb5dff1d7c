r"""Large-step GD avoids the minima of deep linear networks (arXiv 2402.13108).

Statement. For linear networks with the squared loss the GD map is non-singular, the global
minimizers form a smooth manifold M, and for a step size too large for every minimum to be
GD-stable, the set of initializations from which GD converges (to a point of M) has measure zero.
For the scalar deep linear network L(w) = (1/2)(w_1 ... w_D - 1)^2 the non-zero Hessian
eigenvalue on M is sum_i 1 / w_i^2 >= D (equality at the balanced points |w_i| = 1), so every
minimum is GD-unstable for eta > 2/D: GD from random starts converges for no start.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
from hypothesis import strategies as st

from verify import Claim, Events, Instance, Judgement, NpLandscape, Profile, landscape, run_descent
from verify import strategies as vst

from ._stability_examples import deep_linear_problem

#: GD is "converged to M" when the loss at the last step is below this
_CONVERGED = 1e-24
_NO_STOP = Events(gtol=1e-300)


def _starts(depth: int, count: int, seed: int) -> np.ndarray:
    """Half uniform in [-3/2, 3/2]^D, half in [1/2, 3/2]^D (near M), rounded to 2^-30 (exact binary)."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(-1.5, 1.5, size=(count // 2, depth))
    b = rng.uniform(0.5, 1.5, size=(count - count // 2, depth))
    return np.round(np.vstack([a, b]) * 2.0**30) / 2.0**30


def _converged(res: Any) -> list[int]:
    return [i for i, m in enumerate(res.members)
            if np.isfinite(m.loss) and m.loss <= _CONVERGED and m.status.value != "diverged"]


class LargeStepGdAvoidsMinima(Claim):
    title = "For eta > 2/D, GD on (w_1 ... w_D - 1)^2 / 2 converges from no random start"
    statement = (r"For $L(w) = \frac12 (w_1 \cdots w_D - 1)^2$ and $\eta > 2/D$ every global minimum is GD-unstable "
                 r"($\eta \sum_i w_i^{-2} \ge \eta D > 2$), and the set of $w_0$ from which GD converges to a minimum "
                 r"has measure zero.")
    source = "arXiv 2402.13108 (GD on linear networks: non-singular maps, unstable minima for large steps)"
    hypotheses = ("scalar deep linear network of depth D >= 2 with one datum x = y = 1 and L = (1/2)(N(1) - 1)^2",
                  "step_size > 2/D")
    method = ("GD in float64 from 32 x horizon seeded starts (half uniform in [-1.5, 1.5]^D, half in [0.5, 1.5]^D, "
              "rounded to multiples of 2^-30) for 4000 x horizon steps without early stop; a start converged if the "
              "final loss is <= 1e-24 (GD near M at these step sizes either leaves it, cycles or diverges). Margin: "
              "+1 when none converged, minus the number converged otherwise. As a control that the test can see "
              "convergence, the same starts are run at eta' = 0.9 * 2/D (reported, not judged). Confirmation: the "
              "starts that converged are rerun in the mp tier at dps digits (final loss below 10^-(dps - 5)).")

    def instances(self, profile: Profile) -> Any:
        @st.composite
        def draw(d: Any) -> Instance:
            depth = d(st.integers(2, 5))
            u = d(vst.rationals(min_value=Fraction(1, 50), max_value=1, max_denominator=50))
            seed = d(st.integers(0, 1000))
            return Instance(deep_linear_problem(depth), None,
                            {"step_size": Fraction(2, depth) * (1 + u), "seed": seed})

        return draw()

    def check_hypotheses(self, instance: Instance) -> str | None:
        src = instance.source
        net = getattr(src, "network", None)
        if net is None or net.activation != "identity" or net.biases or any(w != 1 for w in net.widths) \
                or src.data.n != 1:
            return "not a scalar deep linear network without biases on one datum"
        depth = len(net.widths) - 1
        eta = instance.param("step_size")
        if eta <= Fraction(2, depth):
            return f"step_size = {eta} is not above 2/D = {Fraction(2, depth)}"
        return None

    def _setup(self, instance: Instance, profile: Profile) -> tuple[int, float, np.ndarray, int]:
        depth = len(instance.source.network.widths) - 1
        count = max(8, int(32 * profile.horizon))
        seed = int(instance.param("seed")) if "seed" in instance.params else 0
        steps = max(1000, int(4000 * profile.horizon))
        return depth, float(instance.param("step_size")), _starts(depth, count, seed), steps

    def judge(self, instance: Instance, profile: Profile) -> Judgement:
        depth, eta, starts, steps = self._setup(instance, profile)
        land = NpLandscape(instance.source)
        res = run_descent(land, starts, step_size=eta, steps=steps, events=_NO_STOP, keep_last=0)
        conv = _converged(res)
        control_eta = 0.9 * 2 / depth
        control = run_descent(land, starts, step_size=control_eta, steps=steps, events=_NO_STOP, keep_last=0)
        control_conv = len(_converged(control))
        statuses = res.statuses
        ev = {"depth": depth, "bound_2_over_D": 2 / depth, "starts": len(starts), "steps": steps,
              "converged": len(conv), "statuses": statuses, "control_step_size": control_eta,
              "control_converged": control_conv, "outcome": "none converged" if not conv else "some converged",
              "converged_starts": [list(map(float, starts[i])) for i in conv[:5]]}
        margin = 1.0 if not conv else -float(len(conv))
        summary = (f"D = {depth}, eta = {eta:.4g} > 2/D = {2 / depth:.4g}: {len(conv)} of {len(starts)} starts "
                   f"converged ({', '.join(f'{k} {v}' for k, v in statuses.items())}); control eta = "
                   f"{control_eta:.4g}: {control_conv} converged")
        return Judgement(margin, summary, ev)

    def confirm(self, instance: Instance, profile: Profile, dps: int) -> Judgement:
        _, eta, starts, steps = self._setup(instance, profile)
        res = run_descent(NpLandscape(instance.source), starts, step_size=eta, steps=steps, events=_NO_STOP,
                          keep_last=0)
        mp = landscape(instance.source, tier="mp", dps=dps)
        ctx = mp.ctx
        q = instance.param("step_size")
        eta_mp = ctx.mpf(q.numerator) / q.denominator
        still = 0
        for i in _converged(res):
            w = [ctx.mpf(float(v)) for v in starts[i]]
            for _ in range(steps):
                g = mp.grad(w)
                w = [a - eta_mp * b for a, b in zip(w, g)]
                if abs(mp.loss(w)) > 1e6:
                    break
            if mp.loss(w) <= ctx.mpf(10) ** (5 - dps):
                still += 1
        margin = 1.0 if still == 0 else -float(still)
        return Judgement(margin, f"{still} start(s) converge at {dps} digits")
