r"""Large-step GD avoids the minima of deep linear networks (arXiv 2402.13108).

Statement. For linear networks with the squared loss the GD map is non-singular, the global
minimizers form a smooth manifold M, and for a step size too large for every minimum to be
GD-stable, the set of initializations from which GD converges (to a point of M) has measure zero.
For the scalar deep linear network L(w) = (1/2)(w_1 ... w_D - 1)^2 the non-zero Hessian
eigenvalue on M is sum_i 1 / w_i^2 >= D (equality at the balanced points |w_i| = 1), so every
minimum is GD-unstable for eta > 2/D: GD from random starts converges for no start (a start
that converges is drawn with probability 0).

The experiment (one body for every tier: float64 to search, ``dps`` and ``2 dps`` digits to
confirm): GD from the same 32 x horizon seeded starts (half uniform in [-3/2, 3/2]^D, half in
[1/2, 3/2]^D near M, exact multiples of 2^-30) for 2000 x horizon steps, stopped when the loss
falls to tol(1e-24) (converged to M) or |w| reaches 1e8 (diverged). The float64 tier runs the
starts together (``run_descent``, the same loop and events as ``Tier.descent``), the mp tier one
by one. As a control that the method can see convergence, float64 also runs the same starts at
eta' = 0.9 * 2/D (reported, not judged).

Margin: min over the starts of log10(L_end / tol(1e-24)), L_end the loss where the run stopped:
how many decades each run stayed above convergence. It is negative exactly when some random
start converges to a minimum (its loss reached the threshold), which the theorem says happens
with probability 0.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
from hypothesis import strategies as st

from verify import Claim, Events, Instance, Judgement, Profile, Tier, run_descent
from verify import strategies as vst

from ._stability_examples import deep_linear_depth, deep_linear_problem

#: GD is "converged to M" when the loss falls to tol(_CONVERGED)
_CONVERGED = 1e-24
#: GD is "diverged" when |w| reaches this
_RADIUS = 1e8


def _starts(depth: int, count: int, seed: int) -> list[list[Fraction]]:
    """Half uniform in [-3/2, 3/2]^D, half in [1/2, 3/2]^D (near M), rounded to 2^-30 (exact)."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(-1.5, 1.5, size=(count // 2, depth))
    b = rng.uniform(0.5, 1.5, size=(count - count // 2, depth))
    grid = np.round(np.vstack([a, b]) * 2.0**30)
    return [[Fraction(int(v), 2**30) for v in row] for row in grid]


class LargeStepGdAvoidsMinima(Claim):
    title = "For eta > 2/D, GD on (w_1 ... w_D - 1)^2 / 2 converges from no random start"
    statement = (r"For $L(w) = \frac12 (w_1 \cdots w_D - 1)^2$ and $\eta > 2/D$ every global minimum is GD-unstable "
                 r"($\eta \sum_i w_i^{-2} \ge \eta D > 2$), and the set of $w_0$ from which GD converges to a minimum "
                 r"has measure zero.")
    source = "arXiv 2402.13108 (GD on linear networks: non-singular maps, unstable minima for large steps)"
    hypotheses = ("scalar deep linear network of depth D >= 2 with one datum x = y = 1 and L = (1/2)(N(1) - 1)^2",
                  "step_size > 2/D")
    method = ("One experiment in every tier (float64 to search, dps and 2 dps digits to confirm): GD from 32 x horizon "
              "seeded starts (half uniform in [-1.5, 1.5]^D, half in [0.5, 1.5]^D, exact multiples of 2^-30) for "
              "2000 x horizon steps, stopped at L <= tol(1e-24) (converged) or |w| >= 1e8 (diverged); margin min over "
              "the starts of log10(L_end / tol(1e-24)), negative iff some start converged. As a control that the "
              "test can see convergence, float64 also runs the same starts at eta' = 0.9 * 2/D (reported, not "
              "judged).")
    #: the claim's bound: eta > bound / D (a variant of the claim may change it)
    bound = Fraction(2)

    def instances(self, profile: Profile) -> Any:
        bound = self.bound

        @st.composite
        def draw(d: Any) -> Instance:
            depth = d(st.integers(2, 5))
            u = d(vst.rationals(min_value=Fraction(1, 50), max_value=1, max_denominator=50))
            seed = d(st.integers(0, 1000))
            return Instance(deep_linear_problem(depth), None,
                            {"step_size": bound / depth * (1 + u), "seed": seed})

        return draw()

    def check_hypotheses(self, instance: Instance) -> str | None:
        depth = deep_linear_depth(instance.source)
        if depth is None:
            return ("not the scalar deep linear network (1/2)(w_D ... w_1 - 1)^2 (identity activation, no biases, one "
                    "datum x = y = 1)")
        if "step_size" not in instance.params:
            return "no step size: give [instance] params = { step_size = \"3/4\" }"
        eta = instance.param("step_size")
        if eta <= self.bound / depth:
            return f"step_size = {eta} is not above {self.bound}/D = {self.bound / depth}"
        return None

    def experiment(self, instance: Instance, profile: Profile, tier: Tier) -> Judgement:
        src = instance.source
        depth = len(src.network.widths) - 1
        count = max(8, int(32 * profile.horizon))
        seed = int(instance.param("seed")) if "seed" in instance.params else 0
        steps = max(1000, int(2000 * profile.horizon))
        eta = instance.param("step_size")
        starts = _starts(depth, count, seed)
        thr = tier.tol(_CONVERGED)
        events = Events(gtol=1e-300, radius=_RADIUS, loss_below=float(thr))
        land = tier.landscape(src)
        control_eta = 0.9 * 2 / depth
        if tier.is_float64:     # the judged runs and the control together (members are independent)
            arr = np.array([[float(v) for v in s] for s in starts])
            res = run_descent(land, np.vstack([arr, arr]), step_size=[float(eta)] * count + [control_eta] * count,
                              steps=steps, events=events, keep_last=0)
            runs, ctl = list(res.members[:count]), list(res.members[count:])
        else:
            runs = [tier.descent(land, s, step_size=eta, steps=steps, events=events) for s in starts]
        decades = []
        for r in runs:
            loss = tier.to_float(r.loss) if r.status.value != "loss_below" else None
            if loss is not None and not math.isfinite(loss):
                decades.append(math.inf)
            else:
                value = r.loss if not tier.is_float64 else float(r.loss)
                value = max(value, tier.num(0))
                decades.append(tier.to_float(tier.ctx.log10(value / thr)) if value > 0 else -math.inf)
        statuses: dict[str, int] = {}
        for r in runs:
            statuses[r.status.value] = statuses.get(r.status.value, 0) + 1
        conv = [i for i, m in enumerate(decades) if m <= 0]
        margin = min(decades)
        if not math.isfinite(margin):   # a loss of exactly 0 (or every run overflowed): keep the sign, finitely
            margin = -300.0 if margin < 0 else 300.0
        ev: dict[str, Any] = {"depth": depth, "bound_2_over_D": 2 / depth, "starts": count, "steps": steps,
                              "threshold": tier.to_float(thr), "converged": len(conv), "statuses": statuses,
                              "decades_above_threshold": decades[:64],
                              "outcome": "none converged" if not conv else "some converged",
                              "converged_starts": [[str(v) for v in starts[i]] for i in conv[:5]]}
        control = ""
        if tier.is_float64:
            n_ctl = sum(1 for m in ctl if m.status.value == "loss_below")
            ev.update({"control_step_size": control_eta, "control_converged": n_ctl})
            control = f"; control eta = {control_eta:.4g}: {n_ctl} converged"
        summary = (f"D = {depth}, eta = {float(eta):.4g} > {self.bound}/D = {float(self.bound / depth):.4g} ({tier}): "
                   f"{len(conv)} of {count} starts converged ({', '.join(f'{k} {v}' for k, v in statuses.items())}), "
                   f"closest {margin:.3g} decades above L = {tier.text(thr, 3)}{control}")
        return Judgement(margin, summary, ev)
