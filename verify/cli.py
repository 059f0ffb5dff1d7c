"""The ``verify`` command."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any, Sequence

from . import __version__
from .errors import InputError

EXIT_USAGE = 2

_DESCRIPTION = """\
verify: a symbolic-numeric verification suite for theorems about how neural networks train.

A problem file (TOML) names a network, data, a target, a loss and initial parameters;
every number in it is read exactly. The loss landscape is computed in three independent
tiers that check each other: exact (SymPy), mp (mpmath at --dps digits) and np (float64,
vectorized over ensembles).
"""

_EPILOG = """\
examples:
  verify validate examples/tanh-1-2-1.toml   # read a problem file as data; say what it holds
  verify landscape examples/tanh-1-2-1.toml
  verify landscape examples/tanh-1-2-1.toml --tier exact --dps 40 --json
  verify critical examples/saddle-xy.toml --certify
  verify bound examples/tanh-1-2-1.toml --radius 1/2 1 2
  verify list
  verify check CLAIM --profile ci --json
  verify conjecture my_conjecture.py
  verify run --profile ci            # the main job: check every claim, write reports/index.html
  verify report reports/runs/NAME.jsonl --out DIR

exit codes: 0 success, 2 bad usage or input (one line on stderr, no traceback);
verify check / conjecture: 0 consistent, 1 counterexample, 3 inconclusive, 4 not applicable.
verify run: 0 no counterexample, 1 some counterexample (3 with --strict: some inconclusive).
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse's default exits 2 with usage; keep that
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"verify: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="verify", description=_DESCRIPTION, epilog=_EPILOG,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"verify {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    ls = sub.add_parser(
        "landscape", help="loss, gradient and Hessian spectrum at a problem's initial parameters",
        description="Evaluate the loss landscape of a problem at its initial parameters (the first member "
                    "of an ensemble): loss, gradient, gradient norm and the Hessian's eigenvalues (ascending).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="In the mp and exact tiers numbers are decimal strings with --dps significant digits;\n"
               "in the np tier plain floats. The exact tier is exact up to the final rounding.")
    ls.add_argument("file", metavar="FILE", help="problem file (TOML)")
    ls.add_argument("--tier", choices=("exact", "mp", "np"), default="mp",
                    help="exact (SymPy), mp (mpmath) or np (float64); default mp")
    ls.add_argument("--dps", type=int, default=30, help="significant decimal digits for mp/exact (>= 5; default 30)")
    ls.add_argument("--member", type=int, default=0, help="ensemble member to evaluate (default 0)")
    ls.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    ls.add_argument("--out", metavar="PATH", help="also write the JSON object to PATH")

    fl = sub.add_parser(
        "flow", help="follow the gradient flow of a problem and say where each member went",
        description="Integrate the gradient flow theta' = -grad L(theta) from the problem's initial parameters "
                    "(every ensemble member) and classify each trajectory: converged (to a Newton-refined critical "
                    "point, with its Hessian inertia), diverging (|theta| growing while the loss settles), or "
                    "undecided (with the reason).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="solvers (np tier): auto (default: each member starts with dop853 and switches to rodas4 where\n"
               "its steps are limited by stability, and back), dop853 (explicit 8th order), dopri5, rodas4 (stiff:\n"
               "exact Hessian; for long horizons and slow drifts). The mp tier follows one member at a time at --dps\n"
               "digits (the Taylor method or extrapolation, handing over to Radau IIA with the exact Hessian where\n"
               "the flow turns stiff).\n\n"
               "--until-decided: classified at t = 10, 100, 1000, ...; decided: converged to a strict minimum, or\n"
               "to another critical point on two classifications; diverging on three consecutive decades. --budget\n"
               "is the wall time of the command (the mp tier splits it among the members); --t1 the flow-time\n"
               "budget.")
    fl.add_argument("file", metavar="FILE", help="problem file (TOML)")
    fl.add_argument("--t1", type=float, default=None,
                    help="flow-time horizon (default 100; with --until-decided the flow-time budget, default 1e12)")
    fl.add_argument("--until-decided", action="store_true",
                    help="follow each flow in log-time segments, classifying after each decade of flow time, until "
                         "its outcome is decided (converged, diverging) or a budget is spent")
    fl.add_argument("--budget", type=float, default=60.0, metavar="SECONDS",
                    help="with --until-decided: wall seconds for the whole command (default 60)")
    fl.add_argument("--escape-seconds", type=float, default=20.0, metavar="SECONDS",
                    help="with --until-decided: wall seconds per diverging member for its certified escape radius "
                         "(the largest R with a certified lower bound l(R) of L on |theta| <= R above L at the "
                         "final state, so the flow never returns into that ball; 0 turns it off; default 20)")
    fl.add_argument("--rtol", type=float, default=None, help="relative tolerance (np default 1e-8; mp 10^-dps)")
    fl.add_argument("--atol", type=float, default=None, help="absolute tolerance (np default rtol/100)")
    fl.add_argument("--tier", choices=("np", "mp"), default="np", help="np (float64 ensembles) or mp")
    fl.add_argument("--dps", type=int, default=30, help="digits of the mp tier (default 30)")
    fl.add_argument("--solver", choices=("auto", "dop853", "dopri5", "rodas4"), default="auto",
                    help="np-tier solver (default auto)")
    fl.add_argument("--ensemble", type=int, default=None, help="members to draw (overrides the problem's init)")
    fl.add_argument("--checkpoints", type=int, default=32, help="log-spaced checkpoints (default 32)")
    fl.add_argument("--json", action="store_true", help="print {\"members\": [...]} as JSON")
    fl.add_argument("--plot", metavar="PNG", help="draw loss, |theta|, |grad L| against t on log axes")

    de = sub.add_parser(
        "descent", help="run gradient descent, SGD or Adam and say where each member went",
        description="Run GD (theta <- theta - eta grad L), SGD with seeded mini-batches, or Adam (as in PyTorch) "
                    "from the problem's initial parameters, and classify each run: converged, diverging, periodic "
                    "(a GD k-cycle with its multipliers) or undecided.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    de.add_argument("file", metavar="FILE", help="problem file (TOML)")
    de.add_argument("--step-size", type=float, required=True, metavar="ETA", help="step size (learning rate)")
    de.add_argument("--steps", type=int, default=10_000, help="iterations (default 10000)")
    de.add_argument("--optimizer", choices=("gd", "sgd", "adam"), default="gd", help="default gd")
    de.add_argument("--batch", type=int, default=None, help="mini-batch size (sgd; adam: full batch if omitted)")
    de.add_argument("--replacement", action="store_true", help="draw mini-batches with replacement")
    de.add_argument("--seed", type=int, default=0, help="seed of the mini-batch draws (default 0)")
    de.add_argument("--ensemble", type=int, default=None, help="members to draw (overrides the problem's init)")
    de.add_argument("--sharpness", action="store_true", help="record the top Hessian eigenvalue at checkpoints")
    de.add_argument("--checkpoints", type=int, default=32, help="log-spaced checkpoints (default 32)")
    de.add_argument("--json", action="store_true", help="print {\"members\": [...]} as JSON")
    de.add_argument("--plot", metavar="PNG", help="draw loss, |theta|, |grad L| against the step on log axes")

    cr = sub.add_parser(
        "critical", help="find, classify and certify the critical points of a small landscape",
        description="Find the critical points of a problem's loss (grad L = 0): Levenberg-Marquardt on grad L from "
                    "--starts seeded random starts and from the end points of gradient flows, points identified up "
                    "to the network's symmetries (neuron permutations, sign flips of odd activations, relu "
                    "rescaling), refined at --dps digits and classified by the Hessian (minimum, saddle with its "
                    "index, maximum, degenerate; null_dim = flat directions). Where grad L is polynomial SymPy "
                    "solves it exactly too. --certify proves with ball arithmetic (Krawczyk's test) that a box "
                    "around each point holds exactly one critical point, encloses the loss there and proves the "
                    "signs of the Hessian's eigenvalues; at a singular Hessian explained by symmetries (relu "
                    "rescalings, dead neurons, invariant fields of a formula) it proves a critical manifold of that "
                    "dimension on a transversal slice; other singular points are never certified.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="FILE is a problem file, or a formula file with an [expression] table:\n"
               "  [expression]\n  loss = \"(x*y - 1)**2 + y**2\"\n  params = [\"x\", \"y\"]\n\n"
               "The search reports what its starts reach: other critical points may exist.\n"
               "--json prints {\"points\": [...], \"values\": [...], ...}; numbers are decimal strings.")
    cr.add_argument("file", metavar="FILE", help="problem file (TOML) or formula file ([expression] table)")
    cr.add_argument("--starts", type=int, default=64, metavar="K", help="seeded random starts (default 64)")
    cr.add_argument("--seed", type=int, default=0, help="seed of the starts (default 0)")
    cr.add_argument("--scale", type=float, default=1.0, help="standard deviation of the starts (default 1)")
    cr.add_argument("--dps", type=int, default=30, help="digits of refinement and certificates (default 30)")
    cr.add_argument("--flow-t1", type=float, default=50.0, help="horizon of the flows whose limits are extra starts "
                                                                "(default 50; 0: no flows)")
    cr.add_argument("--certify", action="store_true", help="prove each point with ball arithmetic")
    cr.add_argument("--json", action="store_true", help="print {\"points\": [...], \"values\": [...]} as JSON")

    bo = sub.add_parser(
        "bound", help="certified lower bounds of L on balls |theta| <= R (and the escape radius of a flow)",
        description="Prove L(theta) >= l(R) for every |theta| <= R (Euclidean norm) by branch and bound in ball "
                    "arithmetic (python-flint), for networks on point data with smooth activations; one-hidden-layer "
                    "networks of any width also get two whole-ball bounds (ball budget, curvature). The bound is a "
                    "proof whatever the budget: a small budget gives a weaker bound, never a wrong one. With "
                    "--escape, the problem's exact initial theta is taken as a state of a gradient flow: u >= "
                    "L(theta) is proved and the largest R with l(R) > u is reported; the flow started from that "
                    "exact state never enters |phi| <= R (L never increases along a flow).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  verify bound examples/tanh-1-2-1.toml --radius 1/2 1 2\n"
               "  verify bound examples/tanh-1-2-1.toml --escape --json")
    bo.add_argument("file", metavar="FILE", help="problem file (TOML), point data")
    bo.add_argument("--radius", nargs="+", default=None, metavar="R",
                    help="radii, exact (default 1/2 1 2; with --escape: bisection on [0, |theta|])")
    bo.add_argument("--boxes", type=int, default=2000, help="box budget per radius (default 2000)")
    bo.add_argument("--escape", action="store_true", help="the certified escape radius of the flow from the "
                                                          "problem's exact initial theta (bisection, or --radius)")
    bo.add_argument("--json", action="store_true", help="print the bounds as JSON")

    li = sub.add_parser(
        "list", help="list the claims of the theorem suite",
        description="Every claim in theorems/ with its id (the module name), its source (paper and theorem) and a "
                    "one-line statement.")
    li.add_argument("--json", action="store_true", help="print a JSON list of the claims' descriptions")

    profile_help = ("settings profile: quick, ci (derandomized) or thorough (default: $VERIFY_PROFILE, else quick)")
    ch = sub.add_parser(
        "check", help="check one claim: search for a counterexample, or judge one given instance",
        description="Check a claim. Without --problem, Hypothesis draws instances that satisfy the claim's "
                    "hypotheses, judges each in float64, steers towards violations, shrinks one it finds and "
                    "confirms the shrunk instance at the profile's digits and at twice as many. With --problem the "
                    "claim is judged on that one instance.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="verdicts and exit codes:\n"
               "  0 consistent      no counterexample in N instances (not a proof)\n"
               "  1 counterexample  found, shrunk, confirmed at higher precision; written to\n"
               "                    OUT/counterexamples/ with the command that replays it\n"
               "  3 inconclusive    undecided, with the reason (e.g. a float64 violation that did not\n"
               "                    survive the higher precision)\n"
               "  4 not_applicable  the given problem violates a hypothesis (named)\n"
               "  2 bad usage or input\n\n"
               "Every check appends one JSON line to OUT/runs/checks.jsonl (--record to change).")
    ch.add_argument("claim", metavar="CLAIM", help="a claim id (see `verify list`), a .py file, or FILE.py::ID")
    ch.add_argument("--profile", default=None, help=profile_help)
    ch.add_argument("--problem", metavar="FILE", help="judge the claim on this one problem / instance file")
    ch.add_argument("--seed", type=int, default=None, help="seed of the search (default: derandomized or 0)")
    ch.add_argument("--out", metavar="DIR", default="reports", help="where counterexamples and run records go "
                                                                    "(default reports)")
    ch.add_argument("--record", metavar="FILE", default=None, help="run file to append to "
                                                                   "(default OUT/runs/checks.jsonl)")
    ch.add_argument("--json", action="store_true",
                    help="print {\"claim\", \"verdict\", \"instances\", \"evidence\", \"counterexample\"}")
    from .report.run import add_execution_options

    add_execution_options(ch)

    co = sub.add_parser(
        "conjecture", help="check every claim defined in your own Python file",
        description="Run every claim defined in FILE.py (subclasses of verify.Claim, or instances of them) as "
                    "`verify check` would, and print one verdict per claim. See the README for a worked example.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="exit code: 1 when any claim has a counterexample, else the largest of the claims' exit codes\n"
               "(0 when every claim is consistent, 3 with an inconclusive one, 4 not applicable).")
    co.add_argument("file", metavar="FILE.py", help="a Python file defining claims")
    co.add_argument("--profile", default=None, help=profile_help)
    co.add_argument("--seed", type=int, default=None, help="seed of the search (default: derandomized or 0)")
    co.add_argument("--out", metavar="DIR", default="reports", help="where counterexamples and run records go")
    co.add_argument("--json", action="store_true", help="print a JSON list of results")
    add_execution_options(co)

    va = sub.add_parser(
        "validate", help="read a problem, formula or instance file as data and say what it holds",
        description="Read a problem file, a formula file ([expression] table) or an instance file (either, with an "
                    "[instance] table) and check every field, as every other command does before it computes. "
                    "Nothing in the file is run: expressions are parsed against a whitelist and numbers are read "
                    "exactly. Prints what the file holds and the float64 loss at its start.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="exit codes: 0 the file is valid; 2 it is not (one line naming the field, the value and the fix).")
    va.add_argument("file", metavar="FILE", help="problem, formula or instance file (TOML)")
    va.add_argument("--json", action="store_true", help="print one JSON object")

    from .report.run import add_parsers as _add_run_parsers

    _add_run_parsers(sub)

    from .experiments.reproduce import add_parser as _add_reproduce

    _add_reproduce(sub)
    from .stability.stability import add_parser as _add_stability

    _add_stability(sub)
    return p


def _with_ensemble(problem: Any, ensemble: int | None) -> Any:
    from dataclasses import replace

    from .problem.problem import Init

    if ensemble is None:
        return problem
    if ensemble < 1:
        raise InputError("--ensemble", ensemble, "must be a positive integer")
    if problem.init.scheme == "explicit":
        if ensemble != 1:
            raise InputError("--ensemble", ensemble, "the problem gives theta explicitly: use a scheme in [init] "
                                                     "(normal, uniform, xavier_uniform) to draw an ensemble")
        return problem
    init = problem.init
    return replace(problem, init=Init(scheme=init.scheme, scale=init.scale, seed=init.seed, ensemble=ensemble))


def _number(value: Any, dps: int | None) -> Any:
    """JSON form of a number: float in the np tier, a decimal string in the mp tier."""
    if value is None:
        return None
    if dps is None:
        v = float(value)
        return v if v == v and abs(v) != float("inf") else str(v)
    import mpmath

    return mpmath.nstr(value, dps, strip_zeros=False, min_fixed=-4, max_fixed=6)


def _member_json(m: Any, outcome: Any) -> dict[str, Any]:
    dps = m.dps if m.tier == "mp" else None
    ck = m.checkpoints
    out = {
        "status": m.status.value, "message": m.message,
        "outcome": outcome.to_json() if outcome is not None else None,
        "t": _number(m.t, dps), "loss": _number(m.loss, dps), "theta_norm": _number(m.theta_norm, dps),
        "grad_norm": _number(m.grad_norm, dps), "theta": [_number(v, dps) for v in m.theta],
        "checkpoints": {key: [_number(v, dps) for v in getattr(ck, key)]
                        for key in ("t", "loss", "theta_norm", "grad_norm")},
        "costs": m.costs.to_json(),
    }
    if ck.sharpness is not None:
        out["checkpoints"]["sharpness"] = [_number(v, dps) for v in ck.sharpness]
    return out


def _short(v: Any) -> str:
    try:
        return f"{float(v):.6g}"
    except (TypeError, ValueError):
        return str(v)


def _member_table(members: Sequence[Any], outcomes: Sequence[Any], time_label: str) -> str:
    lines = [f"{'#':>4} {'status':<14} {'outcome':<26} {time_label:>10} {'loss':>12} {'|theta|':>11} {'|grad L|':>11}"]
    for i, (m, o) in enumerate(zip(members, outcomes)):
        what = "-" if o is None else o.kind + (f" ({o.point_kind}"
                                               + (f", index {o.index}" if o.point_kind == "saddle" else "") + ")"
                                               if o.kind == "converged" and o.point_kind else
                                               f" (period {o.period})" if o.kind == "periodic" else "")
        lines.append(f"{i:>4} {m.status.value:<14} {what:<26} {_short(m.t):>10} {_short(m.loss):>12} "
                     f"{_short(m.theta_norm):>11} {_short(m.grad_norm):>11}")
    counts: dict[str, int] = {}
    for o in outcomes:
        key = "-" if o is None else o.kind
        counts[key] = counts.get(key, 0) + 1
    lines.append("")
    lines.append("outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    undecided = [(i, o) for i, o in enumerate(outcomes) if o is not None and o.kind == "undecided"]
    for i, o in undecided[:5]:
        lines.append(f"  member {i}: {o.reason}")
    periodic = [(i, o) for i, o in enumerate(outcomes) if o is not None and o.kind == "periodic" and o.orbit]
    for i, o in periodic[:5]:
        lines.append(f"  member {i}: orbit of period {o.period} ({'stable' if o.stable else 'unstable'}), "
                     f"multipliers " + ", ".join(_complex(z) for z in o.multipliers or ()))
        for k, point in enumerate(o.orbit[:8]):
            lines.append(f"    theta_{k} = (" + ", ".join(f"{float(v):.10g}" for v in point) + ")")
    return "\n".join(lines)


def _complex(z: Any) -> str:
    z = complex(z)
    return f"{z.real:.6g}" if z.imag == 0 else f"{z.real:.6g}{z.imag:+.6g}j"


def _emit(args: argparse.Namespace, members: Sequence[Any], outcomes: Sequence[Any], extra: dict[str, Any],
          title: str, time_label: str) -> int:
    if args.plot:
        from .report.plot import plot_trajectories

        plot_trajectories(members, args.plot, title=title,
                          xlabel="flow time t" if time_label == "t" else "step")
    if args.json:
        print(json.dumps({**extra, "members": [_member_json(m, o) for m, o in zip(members, outcomes)]}, indent=1))
    else:
        print(title)
        print(_member_table(members, outcomes, time_label))
        if args.plot:
            print(f"figure: {args.plot}")
    return 0


def _cmd_flow(args: argparse.Namespace) -> int:
    from .dynamics.outcome import classify
    from .dynamics.trajectory import StepControl
    from .problem.problem import load_problem
    from .report.progress import ProgressBar

    problem = _with_ensemble(load_problem(args.file), args.ensemble)
    if args.until_decided:
        return _cmd_follow(args, problem)
    args.t1 = 100.0 if args.t1 is None else args.t1
    if not args.t1 > 0:
        raise InputError("--t1", args.t1, "must be a positive flow time")
    bar = ProgressBar(f"flow {problem.name}")
    land: Any
    if args.tier == "np":
        from .dynamics.flow import _solver_from, solve_flow
        from .landscapes.np import NpLandscape

        rtol = 1e-8 if args.rtol is None else args.rtol
        atol = rtol * 1e-2 if args.atol is None else args.atol
        land = NpLandscape(problem)
        solver = _solver_from(args.solver)
        res = solve_flow(land, problem.init.thetas(problem.network), t1=args.t1, solver=solver,
                         control=StepControl(rtol=rtol, atol=atol), checkpoints=args.checkpoints, progress=bar)
        members = list(res.members)
        extra = {"tier": "np", "dps": None, "solver": solver.name, "t1": args.t1, "rtol": rtol, "atol": atol,
                 "wall_time": res.wall_time}
    else:
        from .dynamics.mpflow import solve_flow_mp
        from .landscapes.mp import MpLandscape

        land = MpLandscape(problem, dps=args.dps)
        members = []
        exact = problem.init.exact_members(problem.network)
        for k, theta0 in enumerate(exact):
            def report(t: Any, t1: Any, k: int = k) -> None:
                bar((k + float(t) / float(t1)) / len(exact))

            members.append(solve_flow_mp(land, theta0, t1=args.t1, rtol=args.rtol, checkpoints=args.checkpoints,
                                         progress=report))
        extra = {"tier": "mp", "dps": args.dps, "solver": "mp", "t1": args.t1, "rtol": args.rtol}
    bar.close()
    outcomes = [classify(land, m, kind="flow") for m in members]
    title = (f"gradient flow of {problem.name} ({problem.network.describe()}), {len(members)} member(s), "
             f"t1 = {args.t1:g}, tier {args.tier}")
    return _emit(args, members, outcomes, extra, title, "t")


def _cmd_follow(args: argparse.Namespace, problem: Any) -> int:
    """``verify flow --until-decided``: follow_flow on every member."""
    from .dynamics.follow import Budget, follow_flow
    from .dynamics.trajectory import StepControl
    from .report.progress import ProgressBar

    t_max = 1e12 if args.t1 is None else args.t1
    if not t_max > 0:
        raise InputError("--t1", args.t1, "must be a positive flow time")
    if not args.budget > 0:
        raise InputError("--budget", args.budget, "must be a positive number of seconds")
    bar = ProgressBar(f"flow {problem.name} until decided")
    land: Any
    if args.tier == "np":
        from .dynamics.flow import _solver_from
        from .landscapes.np import NpLandscape

        rtol = 1e-8 if args.rtol is None else args.rtol
        atol = rtol * 1e-2 if args.atol is None else args.atol
        land = NpLandscape(problem)
        res = follow_flow(land, problem.init.thetas(problem.network), budget=Budget(seconds=args.budget, t_max=t_max),
                          solver=_solver_from(args.solver), control=StepControl(rtol=rtol, atol=atol), progress=bar)
        followed = list(res.members)
        extra: dict[str, Any] = {"tier": "np", "dps": None, "solver": res.extra["solver"], "rtol": rtol, "atol": atol}
    else:
        from .landscapes.mp import MpLandscape

        land = MpLandscape(problem, dps=args.dps)
        exact = problem.init.exact_members(problem.network)
        followed = []
        for k, theta0 in enumerate(exact):
            def report(frac: float, k: int = k) -> None:
                bar((k + frac) / len(exact))

            one = follow_flow(land, theta0, budget=Budget(seconds=args.budget / len(exact), t_max=t_max),
                              dps_rtol=args.rtol, progress=report)
            followed.extend(one.members)
        extra = {"tier": "mp", "dps": args.dps, "solver": "mp", "rtol": args.rtol}
    bar.close()
    if args.escape_seconds > 0:
        followed = [_with_escape_radius(problem, f, args.escape_seconds) for f in followed]
    extra.update(until_decided=True, budget={"seconds": args.budget, "t_max": t_max},
                 decided=sum(f.decided for f in followed))
    members = [f.trajectory for f in followed]
    outcomes = [f.outcome for f in followed]
    title = (f"gradient flow of {problem.name} ({problem.network.describe()}), {len(members)} member(s), followed "
             f"until decided (budget {args.budget:g} s, t <= {t_max:g}), tier {args.tier}: "
             f"{extra['decided']} decided")
    if args.json:
        rows = []
        for f in followed:
            row = _member_json(f.trajectory, f.outcome)
            row.update(decided=f.decided, decided_at=None if f.decided_at is None else float(f.decided_at),
                       why_stopped=f.why_stopped, segments=[dict(seg) for seg in f.segments])
            rows.append(row)
        if args.plot:
            from .report.plot import plot_trajectories

            plot_trajectories(members, args.plot, title=title, xlabel="flow time t")
        print(json.dumps({**extra, "members": rows}, indent=1))
        return 0
    code = _emit(args, members, outcomes, extra, title, "t")
    for i, f in enumerate(followed):
        when = f"decided at t = {float(f.decided_at):.4g}" if f.decided else f"not decided ({f.why_stopped})"
        print(f"  member {i}: {when}")
        if f.outcome.escape_radius is not None:
            print(f"    certified: {f.outcome.escape_radius['statement']}")
    return code


def _with_escape_radius(problem: Any, followed: Any, seconds: float) -> Any:
    """A diverging member with its certified escape radius (``verify.escape_radius`` at the final
    state, read exactly); others, and problems the branch and bound cannot take, unchanged."""
    from dataclasses import replace

    from .critical.bounds import escape_radius
    from .problem.numbers import to_fraction

    if followed.outcome.kind != "diverging":
        return followed
    theta = [to_fraction(v, "theta") for v in followed.trajectory.theta]
    try:
        er = escape_radius(problem, theta, time_limit=seconds / 8)
    except InputError as exc:     # beyond the branch and bound's reach: say so, keep the outcome
        info = {"radius": None, "statement": f"no certified escape radius: {exc}"}
    else:
        info = er.to_json()
    return replace(followed, outcome=replace(followed.outcome, escape_radius=info))


def _cmd_descent(args: argparse.Namespace) -> int:
    from .dynamics.descent import GD, SGD, Adam, run_descent
    from .dynamics.outcome import classify
    from .landscapes.np import NpLandscape
    from .problem.problem import load_problem
    from .report.progress import ProgressBar

    problem = _with_ensemble(load_problem(args.file), args.ensemble)
    if args.optimizer == "gd":
        if args.batch is not None:
            raise InputError("--batch", args.batch, "plain gd uses the full batch: use --optimizer sgd")
        optimizer: Any = GD()
    elif args.optimizer == "sgd":
        if args.batch is None:
            raise InputError("--batch", None, "sgd needs a mini-batch size, e.g. --batch 16")
        optimizer = SGD(batch=args.batch, replacement=args.replacement, seed=args.seed)
    else:
        optimizer = Adam(batch=args.batch, replacement=args.replacement, seed=args.seed)
    land = NpLandscape(problem)
    bar = ProgressBar(f"{args.optimizer} {problem.name}")
    res = run_descent(land, problem.init.thetas(problem.network), step_size=args.step_size, steps=args.steps,
                      optimizer=optimizer, checkpoints=args.checkpoints, sharpness=args.sharpness, progress=bar)
    bar.close()
    members = list(res.members)
    outcomes = [classify(land, m, kind="descent") for m in members]
    extra = {"tier": "np", "optimizer": args.optimizer, "step_size": args.step_size, "steps": args.steps,
             "batch": args.batch, "replacement": args.replacement, "seed": args.seed, "wall_time": res.wall_time}
    title = (f"{args.optimizer} on {problem.name} ({problem.network.describe()}), {len(members)} member(s), "
             f"step size {args.step_size:g}, {args.steps} steps")
    return _emit(args, members, outcomes, extra, title, "steps")


def _table(point: Any, problem: Any) -> str:
    names = problem.network.param_names()
    data = problem.data
    where = f"interval [{data.interval[0]}, {data.interval[1]}]" if data.interval else f"{data.n} points"
    lines = [f"problem   {problem.name}: {problem.network.describe()}, {where}, "
             f"target {', '.join(problem.target.exprs)}",
             f"tier      {point.tier}" + (f" ({point.dps} digits)" if point.dps else " (float64)"),
             f"loss      {point.loss}",
             f"|grad|    {point.grad_norm}",
             "", f"{'parameter':<12} {'theta':>16}  gradient"]
    for name, th, g in zip(names, point.theta, point.grad):
        lines.append(f"{name:<12} {th:>16}  {g}")
    lines += ["", "Hessian eigenvalues (ascending):"]
    lines += [f"  {e}" for e in point.hessian_eigenvalues]
    return "\n".join(lines)


def _cmd_landscape(args: argparse.Namespace) -> int:
    from .landscapes.base import evaluate
    from .problem.problem import load_problem
    from .report.progress import ProgressBar

    problem = load_problem(args.file)
    with ProgressBar("landscape").phases(f"landscape ({args.tier} tier, {args.dps} digits)") as ticker:
        point = evaluate(problem, tier=args.tier, dps=args.dps, member=args.member, progress=ticker)
    obj = point.to_json()
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(obj, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(obj, indent=2) if args.json else _table(point, problem))
    return 0


def _critical_table(result: Any, title: str) -> str:
    lines = [title, "", f"{'#':>3} {'loss':>14} {'kind':<11} {'index':>5} {'null':>4} {'hits':>5} {'certified':<9} "
                        "theta"]
    for i, p in enumerate(result.points):
        kind = p.kind + (f" x{p.samples}" if p.samples > 1 else "")
        cert = "-" if p.certificate is None else ("yes" if p.certified else "no")
        theta = ", ".join(_short(v) for v in p.theta[:8]) + (", ..." if len(p.theta) > 8 else "")
        lines.append(f"{i:>3} {_short(p.loss):>14} {kind:<11} {p.index:>5} {p.null_dim:>4} {p.hits:>5} {cert:<9} "
                     f"({theta})")
        if p.nonsmooth:
            lines.append(f"      not twice differentiable here: {p.nonsmooth}")
        if p.certificate is not None:
            lines.append(f"      {p.certificate.reason}")
    lines += ["", "critical values (ascending):"]
    for v in result.values:
        kinds: dict[str, int] = {}
        for k in v.kinds:
            kinds[k] = kinds.get(k, 0) + 1
        lines.append(f"  {_short(v.value):>14}  {v.points} point(s), {v.hits} hit(s): "
                     + ", ".join(f"{n} {k}" for k, n in kinds.items()))
    if result.gap is not None:
        lines.append(f"gap above the infimum {_short(result.infimum)}: {_short(result.gap)}")
    for text in result.exact_solutions:
        lines.append(f"exact: {text}")
    lines += ["", result.note]
    return "\n".join(lines)


def _cmd_critical(args: argparse.Namespace) -> int:
    from .critical.find import find_critical_points, load_source
    from .report.progress import ProgressBar

    source, name = load_source(args.file)
    bar = ProgressBar(f"critical {name}")
    result = find_critical_points(source, starts=args.starts, seed=args.seed, scale=args.scale, dps=args.dps,
                                  flow_t1=args.flow_t1 if args.flow_t1 else None, certify=args.certify,
                                  progress=bar)
    bar.close()
    if args.json:
        print(json.dumps(result.to_json(), indent=1))
    else:
        print(_critical_table(result, f"critical points of {name}: {args.starts} starts, seed {args.seed}, "
                                      f"{args.dps} digits"))
    return 0


def _cmd_bound(args: argparse.Namespace) -> int:
    from .critical.bounds import escape_radius, loss_lower_bound
    from .problem.problem import load_problem

    problem = load_problem(args.file)
    if args.escape:
        out = escape_radius(problem, problem.initial_exact(), radii=args.radius, boxes=args.boxes)
        print(json.dumps(out.to_json(), indent=1) if args.json else out.statement)
        return 0
    rows = [loss_lower_bound(problem, r, boxes=args.boxes) for r in (args.radius or ["1/2", "1", "2"])]
    if args.json:
        print(json.dumps({"bounds": [r.to_json() for r in rows]}, indent=1))
        return 0
    print(f"certified lower bounds of L on balls |theta| <= R: {problem.name} ({problem.network.describe()})")
    print(f"{'R':>8} {'l(R)':>14} {'decided by':<18} {'boxes':>7} {'time (s)':>9}")
    for r in rows:
        print(f"{r.radius!s:>8} {r.to_json()['lower']:>14} {r.method:<18} {r.boxes:>7} {r.time_s:9.2f}")
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from .claims.engine import describe_claims

    claims = describe_claims()
    if args.json:
        print(json.dumps(claims, indent=1))
        return 0
    if not claims:
        print("no claims in theorems/ yet")
        return 0
    width = max(len(c["id"]) for c in claims)
    for c in claims:
        print(f"{c['id']:<{width}}  {c['source']}")
        print(f"{'':<{width}}  {c['title']}")
    return 0


def _check_text(result: Any) -> str:
    lines = [f"{result.claim['id']}: {result.verdict.value.upper()}",
             f"  {result.claim['title']}" if result.claim.get("title") else "",
             f"  {result.reason}",
             f"  instances judged: {result.instances} (undecided {result.undecided}, rejected by the hypotheses "
             f"{result.rejected}); {result.wall_s:.1f} s"]
    cx = result.counterexample
    if cx is not None:
        lines.append(f"  candidate: {cx.judgement.summary} (float64 margin {cx.judgement.margin_text()})")
        for dps, j in cx.confirmations:
            lines.append(f"  at {dps} digits: margin {j.margin_text()}: {j.summary}")
        if cx.file:
            lines.append(f"  instance file: {cx.file}")
            lines.append(f"  replay: {cx.replay}")
    return "\n".join(line for line in lines if line)


def _run_checks(claims: Sequence[Any], args: argparse.Namespace, ref: Any, record: Path) -> list[Any]:
    from .claims.engine import Instance, check, get_profile
    from .claims.execute import executor, part_task
    from .report.progress import ProgressBar

    profile = get_profile(args.profile)
    instance = Instance.load(args.problem) if getattr(args, "problem", None) else None
    results = []
    parallel = instance is None and (args.workers is not None or args.scheduler is not None)
    with executor(workers=args.workers, scheduler=args.scheduler) if parallel else contextlib.nullcontext() as ex:
        for claim in claims:
            bar = ProgressBar(f"check {claim.id}")

            def progress(done: int, planned: int, bar: ProgressBar = bar) -> None:
                bar(min(1.0, done / max(1, planned)))

            parts = None
            if ex is not None:     # the search's parts on the workers; merged and confirmed here
                futures = [ex.submit(part_task, ref(claim), profile, args.seed, k) for k in range(profile.search_parts)]
                parts = [f.result() for f in futures]
            results.append(check(claim, profile=profile, seed=args.seed, instance=instance, out_dir=args.out,
                                 record=record, claim_ref=ref(claim), progress=progress, parts=parts))
            bar.close()
    return results


def _cmd_check(args: argparse.Namespace) -> int:
    from .claims.engine import load_claims

    claims = load_claims(args.claim)
    if len(claims) > 1:
        raise InputError("CLAIM", args.claim, f"defines {len(claims)} claims ({', '.join(c.id for c in claims)}): "
                                              "name one as FILE.py::ID, or use `verify conjecture FILE.py`")
    record = Path(args.record) if args.record else Path(args.out) / "runs" / "checks.jsonl"
    [result] = _run_checks(claims, args, lambda c: args.claim, record)
    print(json.dumps(result.to_json(), indent=1) if args.json else _check_text(result))
    return result.exit_code


def _cmd_conjecture(args: argparse.Namespace) -> int:
    from .claims.engine import load_claims

    if not args.file.endswith(".py"):
        raise InputError("FILE.py", args.file, "give a Python file that defines claims")
    claims = load_claims(args.file)
    record = Path(args.out) / "runs" / "checks.jsonl"
    results = _run_checks(claims, args, lambda c: f"{args.file}::{c.id}", record)
    if args.json:
        print(json.dumps([r.to_json() for r in results], indent=1))
    else:
        print("\n\n".join(_check_text(r) for r in results))
    codes = [r.exit_code for r in results]
    return 1 if 1 in codes else max(codes)


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from .experiments.reproduce import run

    return run(args)


def _cmd_validate(args: argparse.Namespace) -> int:
    import numpy as np

    from .claims.engine import Instance
    from .landscapes.formula import ExprLandscape
    from .landscapes.np import NpLandscape

    inst = Instance.load(args.file, field="FILE")
    src = inst.source
    out: dict[str, Any] = {"file": args.file, "valid": True, **inst.describe()}
    if isinstance(src, ExprLandscape):
        out["kind"] = "formula"
        out["n_params"] = src.n_params
        land: Any = src.np()
        start = inst.theta0
    else:
        out["kind"] = "problem"
        out["n_params"] = src.n_params
        out["data_points"] = src.data.n if src.data.interval is None else None
        out["init"] = src.init.spec()
        land = NpLandscape(src)
        start = inst.theta0 if inst.theta0 is not None else src.initial_exact(0)
    if start is not None:
        with np.errstate(all="ignore"):
            out["loss_at_start"] = float(land.loss(np.array([float(v) for v in start])))
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        what = (f"formula with {out['n_params']} parameters" if out["kind"] == "formula"
                else f"problem: {src.network.describe()} network, d = {out['n_params']}")
        print(f"{args.file}: valid {what}")
        for key, value in out.items():
            if key not in ("file", "valid", "kind", "name"):
                print(f"  {key}: {value}")
    return 0


def _cmd_stability(args: argparse.Namespace) -> int:
    from .stability import stability as _stability

    return int(_stability.run(args))


_COMMANDS = {"landscape": _cmd_landscape, "flow": _cmd_flow, "descent": _cmd_descent, "critical": _cmd_critical,
             "bound": _cmd_bound, "list": _cmd_list, "check": _cmd_check, "conjecture": _cmd_conjecture,
             "reproduce": _cmd_reproduce}
_COMMANDS.update({"run": lambda args: _run_cmd("cmd_run", args), "report": lambda args: _run_cmd("cmd_report", args)})
_COMMANDS.update({"stability": _cmd_stability, "validate": _cmd_validate})


def _run_cmd(name: str, args: argparse.Namespace) -> int:
    from .report import run as _run

    return int(getattr(_run, name)(args))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return _COMMANDS[args.command](args)
    except InputError as exc:
        print("verify: error: " + " ".join(str(exc).split()), file=sys.stderr)   # always one line
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("verify: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `verify ... | head`: the reader left, which is not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
