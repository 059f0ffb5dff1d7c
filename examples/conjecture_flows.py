"""A researcher's conjectures about gradient flows of small tanh networks, one function each.

Run with:  verify conjecture examples/conjecture_flows.py --profile quick
"""

from itertools import pairwise

from hypothesis import strategies as st

from verify import conjecture
from verify import strategies as vst

tanh_nets = vst.networks(max_depth=1, max_width=2, activation=st.just("tanh"))
small_problems = vst.instances(problem=vst.problems(network=tanh_nets, min_size=2, max_size=4))


@conjecture(small_problems, flow={"t1": 10})
def loss_never_increases(case):
    """The loss never increases along a gradient flow (dL/dt = -|grad L|^2)"""
    losses = case.run.checkpoints.loss
    rise = max((b - a for a, b in pairwise(losses)), default=0)
    return case.tier.tol(1e-12) * (1 + losses[0]) - rise      # rounding allowance of the tier


@conjecture(small_problems, flow={"t1": 10})
def norm_never_decreases(case):
    """|theta| never decreases along a gradient flow (a guess)"""
    return case.run.theta_norm - case.tier.norm(case.theta0)
