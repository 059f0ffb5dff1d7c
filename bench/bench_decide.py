"""Flows followed until decided on realistic SAD problems (issue 15's goal), with independent checks.

``python bench/run.py decide`` runs a small sample; the full experiment is

    python -m bench.bench_decide --problems 40 --budget 45 --json reports/decide.json

Problems (seeded, reproducible): one hidden layer of 3 to 8 neurons with a SAD activation
(tanh, softplus, swish, logistic, gelu, mish), 1-D inputs (a grid of 10 to 40 points in
[-1, 1]) or 2-D inputs (a 4x4 to 6x6 grid in [-1, 1]^2), polynomial targets of degree 2 to 3
with small integer coefficients, and normal, uniform or Xavier-uniform initializations.
Each flow is followed by ``follow_flow`` (np tier, ``solver="auto"``) with a wall budget
comparable to a claim's budget in the ``ci`` profile.

Every decided outcome is checked by something it did not compute itself:

* ``converged``: Newton's method in the mp tier (``MpLandscape``, an independent
  implementation of the landscape, at 50 digits; steps only along Hessian eigenvectors with
  |eigenvalue| > 1e-8 of the largest, as critical sets of networks are often not isolated)
  from the float64 limit must reach |grad L| < 1e-18 (relative), far below what float64
  resolves, within 1e-3 (relative) of it (the distance ``classify`` promises), with the same
  number of negative eigenvalues; and the flow continued from the decision for 9 times its
  flow time (Rodas4 alone, rtol 1e-10) must stay converged: within 1e-3 (relative) of the
  limit, at the same loss (to 1e-9 relative or 1e-10), with |grad L| not larger.
* ``diverging``: the flow continued from the decision to 100 times its flow time, at least to
  t = 1e5 (Rodas4 alone, rtol 1e-9) must keep |theta| growing over each decade and the loss
  falling, must not decelerate (its growth over the second decade at least a quarter of that
  over the first: a slow convergence shrinks it geometrically), and must not end next to a
  critical point (``classify`` at the end not ``converged``); its loss must stay above the
  extrapolated limit minus its error bar (a separate figure: a wrong error bar is not a wrong
  decision).

A decision that fails its check is counted as wrong; one whose continuation runs out of its steps
before the check is done is counted as unchecked. The goal needs none of either.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from verify import Budget, MpLandscape, NpLandscape, follow_flow, parse_problem, solve_flow
from verify.dynamics.trajectory import Events, StepControl

from ._common import Result

ACTS = ("tanh", "softplus", "swish", "logistic", "gelu", "mish")


@dataclass(frozen=True)
class Case:
    name: str
    toml: str


def _poly(rng: np.random.Generator, dim: int) -> str:
    """A polynomial of degree 2 or 3 with small integer coefficients (degree >= 2 guaranteed)."""
    deg = int(rng.integers(2, 4))
    xs = ["x"] if dim == 1 else ["x1", "x2"]
    terms: list[tuple[tuple[int, ...], int]] = []
    monos: list[tuple[int, ...]] = []
    for total in range(deg + 1):
        if dim == 1:
            monos.append((total,))
        else:
            monos += [(a, total - a) for a in range(total + 1)]
    for m in monos:
        c = int(rng.integers(-2, 3))
        if sum(m) == deg and c == 0 and not any(sum(mm) == deg for mm, _ in terms):
            c = 1
        if c:
            terms.append((m, c))
    if not any(sum(m) == deg for m, _ in terms):
        terms.append(((deg,) + (0,) * (dim - 1), 1))
    parts = []
    for m, c in terms:
        mono = "*".join(f"{x}**{e}" if e > 1 else x for x, e in zip(xs, m) if e)
        parts.append(f"({c})" + (f"*{mono}" if mono else ""))
    return " + ".join(parts)


def cases(n: int, seed: int = 2025) -> list[Case]:
    """n seeded problems, half with 1-D and half with 2-D inputs."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        dim = 1 if k % 2 == 0 else 2
        act = ACTS[int(rng.integers(len(ACTS)))]
        width = int(rng.integers(3, 9))
        if dim == 1:
            data = f'grid = {{ start = "-1", stop = "1", num = {int(rng.integers(10, 41))} }}'
        else:
            data = f'grid = {{ start = "-1", stop = "1", num = {int(rng.integers(4, 7))} }}'
        scheme = ("normal", "uniform", "xavier_uniform")[int(rng.integers(3))]
        init = f'scheme = "{scheme}"\nseed = {int(rng.integers(1000))}'
        if scheme == "uniform":
            init += '\nscale = "1"'
        toml = (f'name = "sad-{k}"\n[network]\nwidths = [{dim}, {width}, 1]\nactivation = "{act}"\n[data]\n{data}\n'
                f'[target]\nexpr = "{_poly(rng, dim)}"\n[init]\n{init}\n')
        out.append(Case(f"sad-{k}", toml))
    return out


def _mp_newton(problem: Any, theta: Any, dps: int = 50) -> tuple[float, float, tuple[int, int, int]]:
    """Newton in the mp tier (an independent implementation of the landscape) from theta, stepping
    only along Hessian eigenvectors with |eigenvalue| > 1e-8 max |eigenvalue| (critical sets of
    networks are often not isolated: along flat directions every point is as good):
    (|grad L| at the end, distance moved, inertia (negative, zero, positive) with zero below 1e-8)."""
    land = MpLandscape(problem, dps=dps)
    ctx = land.ctx
    x = [ctx.mpf(float(v)) for v in theta]
    x0 = list(x)
    d = len(x)
    cut = ctx.mpf("1e-8")
    E: Any = None
    for _ in range(30):
        g = land.grad(x)
        H = ctx.matrix(land.hessian(x))
        E, Q = ctx.eigsy((H + H.T) / 2)
        top = max(abs(E[i]) for i in range(d))
        step = [ctx.zero] * d
        for i in range(d):
            if abs(E[i]) > top * cut:
                qi = [Q[j, i] for j in range(d)]
                c = ctx.fdot(qi, g) / E[i]
                step = [s - c * q for s, q in zip(step, qi)]
        if ctx.sqrt(ctx.fdot(step, step)) < ctx.mpf(10) ** (-(dps - 5)):
            break
        x = [a + b for a, b in zip(x, step)]
    g = land.grad(x)
    top = max(abs(E[i]) for i in range(d))
    inertia = (sum(1 for i in range(d) if E[i] < -top * cut), sum(1 for i in range(d) if abs(E[i]) <= top * cut),
               sum(1 for i in range(d) if E[i] > top * cut))
    dist = ctx.sqrt(ctx.fsum((a - b) ** 2 for a, b in zip(x, x0)))
    return float(ctx.sqrt(ctx.fdot(g, g))), float(dist), inertia


def check_converged(problem: Any, member: Any) -> tuple[bool | None, str]:
    """Newton at 50 digits lands on a critical point next to the limit (|grad L| < 1e-18, within
    1e-3 relative, the distance the classifier promises), with the same count of negative
    eigenvalues; and the flow continued for 9 times its flow time (Rodas4) stays converged:
    within 1e-3 (relative) of the limit, with the same loss (to 1e-9 relative or 1e-10), |grad L|
    not larger. None (unchecked) where Newton agrees but the continuation runs out of steps."""
    out = member.outcome
    limit = np.array([float(v) for v in out.limit])
    gn, dist, (neg, null, pos) = _mp_newton(problem, limit)
    scale = max(1.0, float(np.linalg.norm(limit)))
    # within the distance the classifier promises (DIST_REL = 1e-3 relative: along directions that
    # float64 cannot tell from flat, |grad L| / lambda can be that far)
    # |grad L| far below what float64 resolves (about 1e-16 |H| |theta|): along flat directions of a
    # non-isolated critical set the gradient left is second order in the distance to it
    ok_newton = gn < 1e-18 * scale and dist <= 1e-3 * scale and neg == (out.index or 0)
    land = NpLandscape(problem)
    t_dec = float(member.decided_at)
    traj = member.trajectory
    cont = solve_flow(land, np.array([float(v) for v in traj.theta]), t1=9 * t_dec, solver="rodas4",
                      control=StepControl(rtol=1e-10, atol=1e-12), checkpoints=8,
                      events=Events(gtol=1e-300)).members[0]
    drift = float(np.linalg.norm(np.array(cont.theta) - limit)) / scale
    same_loss = abs(cont.loss - float(out.limit_loss)) <= 1e-9 * abs(float(out.limit_loss)) + 1e-10
    ok_flow = drift <= 1e-3 and same_loss and cont.grad_norm <= max(float(traj.grad_norm), 1e-13)
    verdict: bool | None = ok_newton and ok_flow
    if ok_newton and cont.status.value == "max_steps":
        verdict = None
    return verdict, (f"mp Newton |grad L| {gn:.1e} at distance {dist:.1e}, inertia (-{neg}, 0x{null}, +{pos}); "
                     f"continued to t = {10 * t_dec:g}: distance to the limit {drift:.1e}, loss {cont.loss:.6g} "
                     f"(limit {float(out.limit_loss):.6g}), |grad L| {cont.grad_norm:.1e}")


def check_diverging(problem: Any, member: Any, max_steps: int = 400_000) -> tuple[bool | None, bool, str]:
    """The flow continued from the decision (Rodas4 alone, rtol 1e-9) for two decades of flow time
    (to 100 t_dec, at least 1e5): |theta| must grow over each decade and the loss fall, the growth of
    |theta| over the second decade must be at least a quarter of that over the first (a flow that
    converges slowly decelerates: its growth per decade shrinks geometrically), and Newton's
    method from the end must find no critical point within 1e-3 (relative). Separately: the loss
    stays above the extrapolated limit minus its error bar. None (unchecked) where the continuation
    runs out of its ``max_steps`` steps first."""
    from verify import classify

    out = member.outcome
    land = NpLandscape(problem)
    t_dec = float(member.decided_at)
    traj = member.trajectory
    t_end = max(100 * t_dec, 1e5)
    marks = np.geomspace(t_dec, t_end, 9)[1:]            # absolute times: 4 per decade
    cont = solve_flow(land, np.array([float(v) for v in traj.theta]), t1=t_end - t_dec, solver="rodas4",
                      control=StepControl(rtol=1e-9, atol=1e-11, max_steps=max_steps), checkpoints=marks - t_dec,
                      events=Events(gtol=1e-300)).members[0]
    ck = cont.checkpoints
    tn = np.array(ck.theta_norm)
    loss = np.array(ck.loss)
    if cont.status.value == "diverged":
        return True, True, f"continued: reached the divergence radius at t = {t_dec + cont.t:g}"
    if cont.status.value == "max_steps":
        return None, True, (f"unchecked: the continuation ran out of its {cont.costs.steps + cont.costs.rejected} "
                            f"steps at t = {t_dec + cont.t:.3g} of {t_end:g}")
    grows = bool(tn[4] > tn[0] and tn[-1] > tn[4])      # over each decade (a transition may wiggle)
    falls = bool(loss[-1] < loss[0])
    first, second = tn[4] - tn[0], tn[-1] - tn[4]       # growth over the first and the second decade
    keeps = bool(first > 0 and second >= 0.25 * first)
    newton = classify(land, cont)
    near = newton.kind == "converged"
    ok = grows and falls and keeps and not near and cont.status.value == "t1_reached"
    lim_ok = True
    lim = "n/a"
    if out.loss_limit is not None:
        lim_ok = bool(cont.loss >= float(out.loss_limit) - float(out.loss_limit_error))
        lim = f"{float(out.loss_limit):.3g} +- {float(out.loss_limit_error):.2g}"
    return ok, lim_ok, (f"continued to t = {t_end:g} ({cont.status.value}): |theta| {tn[0]:.5g} -> {tn[4]:.5g} -> "
                        f"{tn[-1]:.5g} (growth per decade {first:.3g}, {second:.3g}), loss {loss[0]:.4g} -> "
                        f"{loss[-1]:.4g}, classified at the end: {newton.kind}; extrapolated limit {lim} "
                        f"{'consistent' if lim_ok else 'NOT consistent'} with the continued loss")


def run(n: int, budget: float, *, seed: int = 2025, log: Callable[[str], None] = print,
        only: Sequence[str] | None = None, t_max: float = 1e12, check_steps: int = 400_000) -> dict[str, Any]:
    """Follow the flows of ``cases(n, seed)`` (only those named in ``only``, if given) for at most
    ``budget`` wall seconds and flow time ``t_max`` each (1e12: the ``ci`` profile's flow time;
    ``thorough`` has 1e14), and check the decided ones."""
    rows = []
    for case in cases(n, seed):
        if only and case.name not in only:
            continue
        problem = parse_problem(case.toml, name=case.name)
        land = NpLandscape(problem)
        theta0 = problem.init.thetas(problem.network)[0]
        t0 = time.perf_counter()
        res = follow_flow(land, theta0, budget=Budget(seconds=budget, t_max=t_max))
        wall = time.perf_counter() - t0
        m = res.members[0]
        row: dict[str, Any] = {"name": case.name, "problem": case.toml, "d": problem.n_params, "n": problem.data.n,
                               "wall_s": wall, "decided": m.decided, "kind": m.outcome.kind,
                               "point_kind": m.outcome.point_kind, "t": float(m.trajectory.t),
                               "decided_at": None if m.decided_at is None else float(m.decided_at),
                               "why": m.why_stopped, "reason": m.outcome.reason,
                               "steps": m.trajectory.costs.steps}
        t1 = time.perf_counter()
        if m.decided and m.outcome.kind == "converged":
            ok, note = check_converged(problem, m)
            row.update(correct=ok, check=note)
        elif m.decided and m.outcome.kind == "diverging":
            ok, lim_ok, note = check_diverging(problem, m, check_steps)
            row.update(correct=ok, limit_consistent=lim_ok, check=note)
        row["check_s"] = time.perf_counter() - t1
        rows.append(row)
        log(f"{case.name:<8} d={row['d']:>3} n={row['n']:>3} {row['kind']:<10} {row['point_kind']!s:<8} "
            f"t={row['t']:<9.3g} {wall:6.1f}s  {row.get('correct', '-')!s:<5} {row.get('check', row['reason'])[:150]}")
    decided = [r for r in rows if r["decided"]]
    wrong = [r for r in decided if r.get("correct") is False]
    unchecked = [r for r in decided if r.get("correct") is None]
    return {"problems": len(rows), "budget_s": budget, "t_max": t_max, "decided": len(decided),
            "fraction_decided": len(decided) / max(1, len(rows)),
            "wrong": len(wrong), "unchecked": len(unchecked),
            "median_wall_s": float(np.median([r["wall_s"] for r in rows])),
            "kinds": {k: sum(r["kind"] == k for r in rows) for k in ("converged", "diverging", "undecided")},
            "rows": rows}


def goal_met(out: dict[str, Any]) -> bool:
    """Issue 15's goal: at least 90% decided, none wrong and none unchecked."""
    return out["fraction_decided"] >= 0.9 and out["wrong"] == 0 and out["unchecked"] == 0


def bench_decide(repeat: int) -> Result:
    """A small sample (8 problems, 30 s budget) of the experiment; goal: >= 90% decided, none wrongly."""
    out = run(8, 30.0, log=lambda s: None)
    frac = out["fraction_decided"]
    checks = float(np.median([r["check_s"] for r in out["rows"]]))
    return Result("decide", "follow_flow on 8 seeded SAD problems (30 s budget each)",
                  "independent checks: mp Newton at 50 digits, 10-100x longer runs", out["median_wall_s"], checks,
                  frac, ">= 0.9 decided, none wrong", goal_met(out),
                  f"{out['decided']}/{out['problems']} decided ({out['kinds']}), {out['wrong']} wrong, "
                  f"{out['unchecked']} unchecked; ratio is the "
                  "fraction decided")


BENCHMARKS: dict[str, Callable[[int], Result]] = {"decide": bench_decide}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--problems", type=int, default=40)
    ap.add_argument("--budget", type=float, default=45.0, help="wall seconds per flow")
    ap.add_argument("--t-max", type=float, default=1e12, help="flow time per flow (default 1e12, the ci profile's; "
                                                              "thorough has 1e14)")
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--json", metavar="PATH")
    ap.add_argument("--check-steps", type=int, default=400_000,
                    help="step budget of a diverging decision's continued run (default 400 000; near t = 1e12 a "
                         "decade takes about 30 000 to 100 000 steps)")
    ap.add_argument("--only", metavar="NAMES", help="comma-separated problem names (e.g. sad-3,sad-21): follow only "
                                                     "these of the problems drawn")
    args = ap.parse_args(argv)
    out = run(args.problems, args.budget, seed=args.seed, only=args.only.split(",") if args.only else None,
              t_max=args.t_max, check_steps=args.check_steps)
    print(f"decided {out['decided']}/{out['problems']} ({100 * out['fraction_decided']:.0f}%), wrong {out['wrong']}, "
          f"unchecked {out['unchecked']}, "
          f"kinds {out['kinds']}, median wall {out['median_wall_s']:.1f} s")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(out, fh, indent=1, default=str)
    return 0 if goal_met(out) else 1


if __name__ == "__main__":
    raise SystemExit(main())
