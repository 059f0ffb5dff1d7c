"""The conjectures of ``conjecture_flows.py`` written the long way: a ``verify.Claim`` subclass with a
float64 ``judge`` and a high-precision ``confirm`` (the form every version of the suite accepts).

Run with:  verify conjecture examples/conjecture_classes.py --profile quick
"""

from itertools import pairwise

from hypothesis import strategies as st

from verify import Claim, Judgement, MpLandscape, NpLandscape, solve_flow, solve_flow_mp
from verify import strategies as vst

T1 = 10


def tanh_instances():
    """1-2-1 tanh networks, 2 to 4 data points in [-1, 1], targets of degree <= 2, exact theta0."""
    net = vst.networks(min_depth=1, max_depth=1, max_width=2, activation=st.just("tanh"), biases=st.just(True))
    return vst.instances(problem=vst.problems(network=net, min_size=2, max_size=4))


class LossNeverIncreases(Claim):
    title = "The loss never increases along a gradient flow"
    statement = r"$t \mapsto L(\theta(t))$ is non-increasing, since $\frac{d}{dt} L = -|\nabla L|^2$."
    source = "folklore (a sanity check of the integrators)"
    method = "loss at 32 log-spaced checkpoints up to t = 10; float64 tolerance 1e-12, mp tolerance 10^-(dps-5)"

    def instances(self, profile):
        return tanh_instances()

    def judge(self, instance, profile):
        flow = solve_flow(NpLandscape(instance.source), [float(v) for v in instance.theta0], t1=T1).members[0]
        losses = [float(v) for v in flow.checkpoints.loss]
        rise = max((b - a for a, b in pairwise(losses)), default=0 * losses[0])
        return Judgement(1e-12 * (1 + losses[0]) - rise, f"largest rise of the loss {rise:.3g}",
                         {"series": {"t": list(flow.checkpoints.t), "loss": losses}})

    def confirm(self, instance, profile, dps):
        land = MpLandscape(instance.source, dps=dps)
        flow = solve_flow_mp(land, list(instance.theta0), t1=T1)
        losses = flow.checkpoints.loss
        rise = max((b - a for a, b in pairwise(losses)), default=0 * losses[0])
        return Judgement(land.ctx.mpf(10) ** (5 - dps) * (1 + losses[0]) - rise, f"largest rise {rise}")


class NormNeverDecreases(Claim):
    title = "|theta| never decreases along a gradient flow"
    statement = r"$|\theta(t)| \ge |\theta_0|$ for $t \ge 0$."
    source = "a guess, to be tested"
    method = "|theta| at t = 10 against |theta_0|"

    def instances(self, profile):
        return tanh_instances()

    def judge(self, instance, profile):
        theta0 = [float(v) for v in instance.theta0]
        flow = solve_flow(NpLandscape(instance.source), theta0, t1=T1).members[0]
        start = sum(v * v for v in theta0) ** 0.5
        return Judgement(float(flow.theta_norm) - start, f"|theta| from {start:.4g} to {float(flow.theta_norm):.4g}")

    def confirm(self, instance, profile, dps):
        land = MpLandscape(instance.source, dps=dps)
        flow = solve_flow_mp(land, list(instance.theta0), t1=T1)
        ctx = land.ctx
        start = ctx.sqrt(sum((ctx.mpf(v.numerator) / v.denominator) ** 2 for v in instance.theta0))
        return Judgement(flow.theta_norm - start, f"|theta| from {start} to {flow.theta_norm}")
