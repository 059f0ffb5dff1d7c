"""The ``verify`` command."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Sequence

from . import __version__
from ._errors import InputError

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
  verify landscape examples/tanh-1-2-1.toml
  verify landscape examples/tanh-1-2-1.toml --tier exact --dps 40 --json

exit codes: 0 success, 2 bad usage or input (one line on stderr, no traceback).
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
    return p


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
    from ._landscape import evaluate
    from ._problem import load_problem

    problem = load_problem(args.file)
    point = evaluate(problem, tier=args.tier, dps=args.dps, member=args.member)
    obj = point.to_json()
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(obj, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(obj, indent=2) if args.json else _table(point, problem))
    return 0


_COMMANDS = {"landscape": _cmd_landscape}


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
        print(f"verify: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("verify: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `verify ... | head`: the reader left, which is not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
