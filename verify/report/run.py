"""The suite's front door: ``verify run`` (check every claim, write the report) and ``verify report``.

``verify run`` checks the claims of ``theorems/`` (or those named by ``--only``) one after the
other, appends each record to a new run file ``OUT/runs/<UTC time>-<profile>.jsonl`` as soon as
the claim is done, and renders the report from that file alone (:mod:`verify.report.render`).
``verify report RUNFILE`` renders it again from the file.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import re
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Sequence, TextIO

from ..errors import InputError

__all__ = ["add_parsers", "cmd_run", "cmd_report", "run_suite", "RUN_EXIT_CODES"]

RUN_EXIT_CODES = {"ok": 0, "counterexample": 1, "usage": 2, "strict_inconclusive": 3}
"""Exit codes of ``verify run``: 0 no counterexample, 1 some claim has a counterexample, 2 bad
usage or input, 3 (with ``--strict``) no counterexample but some claim inconclusive."""

_RUN_EPILOG = """\
what it does:
  1. checks each claim as `verify check CLAIM` would (Hypothesis search in float64, a violation
     shrunk and confirmed at the profile's digits and twice as many);
  2. appends each claim's record to a new run file OUT/runs/<UTC time>-<profile>.jsonl as soon
     as the claim is done (an interrupted run keeps what it finished);
  3. renders the report from that file alone: OUT/index.html and OUT/index.md (the verdict
     table), OUT/claims/ID.html and .md (one page per claim, figures with their data).
  Confirmed counterexamples are also written to OUT/counterexamples/ with a replay command.

progress (stderr): the claim, instances judged and elapsed time, live on a terminal
(VERIFY_PROGRESS=1 forces it, 0 turns it off); one line per finished claim always.

exit codes:
  0  no counterexample (every claim consistent or inconclusive)
  1  some claim has a confirmed counterexample
  2  bad usage or input (an unknown claim id, a theorem module that does not import)
  3  with --strict: no counterexample, but some claim is inconclusive

examples:
  verify run --profile ci                       # what `tox -e verify` runs
  verify run --profile quick --only CLAIM_A CLAIM_B --out /tmp/rep
  verify run --profile quick --out reports/example   # the example report in the repository
"""

_REPORT_EPILOG = """\
The report is rendered from the records alone: the same file gives byte-identical output.
When the file holds several records of one claim (verify check appends to
OUT/runs/checks.jsonl), the last one is shown. The run file is copied to DIR/runs/.
"""


def add_execution_options(parser: Any) -> None:
    """``--workers N`` / ``--scheduler ADDRESS`` (Dask; the default runs in this process)."""
    g = parser.add_argument_group("parallel execution (optional: pip install \"verify[dask]\")")
    g.add_argument("--workers", type=int, default=None, metavar="N",
                   help="start a local Dask cluster of N worker processes: claims and the parts of each search run "
                        "concurrently; the same seeds give the same records")
    g.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="use the Dask cluster at ADDRESS (e.g. tcp://host:8786, from `dask scheduler`)")


def add_parsers(sub: Any) -> None:
    """Register ``run`` and ``report`` on the CLI's subparsers."""
    profile_help = "settings profile: quick, ci (derandomized) or thorough (default: $VERIFY_PROFILE, else quick)"
    ru = sub.add_parser(
        "run", help="check every claim of theorems/ and write the report (the main job)",
        description="Check every claim in theorems/ (or those named by --only) with a progress display, record "
                    "the results in a new run file and render the report (HTML and Markdown) from it.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=_RUN_EPILOG)
    ru.add_argument("--profile", default=None, help=profile_help)
    ru.add_argument("--only", nargs="+", metavar="CLAIM", default=None,
                    help="check only these claims (ids of theorems/, .py files, or FILE.py::ID)")
    ru.add_argument("--seed", type=int, default=None, help="seed of every search (default: derandomized or 0)")
    ru.add_argument("--out", metavar="DIR", default="reports", help="report folder (default reports)")
    ru.add_argument("--strict", action="store_true", help="exit 3 when a claim is inconclusive")
    add_execution_options(ru)
    ru.add_argument("--json", action="store_true",
                    help="print {\"run_file\", \"report\", \"results\": [{\"claim\", \"verdict\", ...}]}")

    rp = sub.add_parser(
        "report", help="render the report of a run file again",
        description="Render the report (index.html, index.md, one page per claim, figures with their data) from "
                    "a run file of check records alone.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=_REPORT_EPILOG)
    rp.add_argument("run_file", metavar="RUNFILE", help="a run file (JSON lines), e.g. reports/runs/NAME.jsonl")
    rp.add_argument("--out", metavar="DIR", default="reports", help="report folder (default reports)")


# ---------------------------------------------------------------------------------------
# Progress
# ---------------------------------------------------------------------------------------

class _Display:
    """Progress of a run on stderr: a live line on a terminal, one line per finished claim."""

    def __init__(self, total: int, *, stream: TextIO | None = None, interval: float = 0.25) -> None:
        self.stream = sys.stderr if stream is None else stream
        forced = os.environ.get("VERIFY_PROGRESS")
        self.live = forced == "1" or (forced != "0" and self.stream.isatty())
        self.total = total
        self.interval = interval
        self.run_start = time.perf_counter()
        self.claim_start = self.run_start
        self.label = ""
        self.last = 0.0
        self.width = 0

    def start(self, k: int, claim_id: str) -> None:
        self.label = f"[{k}/{self.total}] {claim_id}"
        self.claim_start = time.perf_counter()
        self.last = 0.0
        self.update(0, 0, force=True)

    def update(self, done: int, planned: int, *, force: bool = False) -> None:
        if not self.live:
            return
        now = time.perf_counter()
        if not force and now - self.last < self.interval:
            return
        self.last = now
        text = (f"{self.label}  {done} instances judged (budget {planned})  {now - self.claim_start:6.1f} s  "
                f"(run {now - self.run_start:6.1f} s)")
        pad = max(0, self.width - len(text))
        self.width = len(text)
        self.stream.write("\r" + text + " " * pad)
        self.stream.flush()

    def note(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def finish(self, result: Any) -> None:
        line = (f"{self.label}: {result.verdict.value}, {result.instances} instances, {result.wall_s:.1f} s "
                f"(run {time.perf_counter() - self.run_start:.1f} s)")
        if self.live:
            line = "\r" + line + " " * max(0, self.width - len(line))
            self.width = 0
        self.stream.write(line + "\n")
        self.stream.flush()


# ---------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------

def _resolve(refs: Sequence[str] | None) -> list[tuple[Any, str]]:
    """(claim, how replay commands name it) for each claim, all loaded before any runs."""
    from ..claims.engine import list_claims, load_claims

    names = list(refs) if refs else list_claims()
    out: list[tuple[Any, str]] = []
    for ref in names:
        path_part = ref.partition("::")[0] if isinstance(ref, str) else ref
        is_file = isinstance(ref, str) and (path_part.endswith(".py") or "/" in path_part or os.sep in path_part)
        for claim in load_claims(ref):
            out.append((claim, f"{path_part}::{claim.id}" if is_file else ref))
    seen: set[str] = set()
    for claim, _ in out:
        if claim.id in seen:
            raise InputError("--only", claim.id, "names a claim twice: give each claim once")
        seen.add(claim.id)
    return out


def _new_run_file(out: Path, profile: str, started: datetime.datetime) -> Path:
    folder = out / "runs"
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{started.strftime('%Y%m%dT%H%M%SZ')}-{profile}"
    path, k = folder / f"{stem}.jsonl", 2
    while path.exists():
        path, k = folder / f"{stem}-{k}.jsonl", k + 1
    path.touch()
    return path


def _workdir_git() -> dict[str, Any]:
    """The git commit of the directory the run started in, and whether it had uncommitted changes
    (untracked files count: a new theorem module changes the run; an installed package, e.g. under tox,
    cannot see the checkout it was built from). Files under the checkout's ``reports/`` do not count."""
    import subprocess

    def git(*cmd: str) -> str | None:
        try:
            out = subprocess.run(["git", *cmd], capture_output=True, text=True, timeout=10, check=False)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"workdir_git_commit": None, "workdir_git_dirty": None}
    # generated output under reports/ (the example report included) is not a change of the code
    status = git("status", "--porcelain", "--", ":(top)", ":(top,exclude)reports")
    return {"workdir_git_commit": commit.strip(), "workdir_git_dirty": None if status is None else bool(status.strip())}


def _failed_result(claim: Any, profile: Any, seed: int | None, exc: BaseException, wall: float) -> Any:
    from ..claims.engine import CheckResult, Verdict

    return CheckResult(claim.describe(), Verdict.INCONCLUSIVE,
                       f"the check failed before a verdict ({type(exc).__name__}: {exc})", 0, 0, 0, (), None,
                       profile, seed, wall)


def run_suite(refs: Sequence[str] | None = None, *, profile: str | None = None, seed: int | None = None,
              out: str | Path = "reports", command: str | None = None, stream: TextIO | None = None,
              workers: int | None = None, scheduler: str | None = None) -> tuple[Path, list[Any]]:
    """Check claims one after the other, recording each in a new run file.

    Parameters
    ----------
    refs : sequence of str or None
        Claim ids of ``theorems/``, ``.py`` files or ``FILE.py::ID``; None: every claim of
        ``theorems/``.
    profile, seed : keyword-only
        As for :func:`verify.check`.
    out : path, keyword-only
        The report folder; the run file is ``out/runs/<UTC time>-<profile>.jsonl``, confirmed
        counterexamples go to ``out/counterexamples/``.
    command : str, keyword-only
        The command line recorded with each record (default: built from the arguments).
    stream : text stream, keyword-only
        Where progress goes (default stderr).
    workers, scheduler : keyword-only
        Run on a local Dask cluster of ``workers`` processes, or on the cluster at
        ``scheduler`` (see :mod:`verify.claims.execute`); default: in this process. Either way the
        records are written here, in the order of the claims, and hold the same results.

    Returns
    -------
    (Path, list of CheckResult)
        The run file and the results, in order. A claim whose check raised (outside its judge,
        whose failures :func:`verify.check` already reports) is recorded as inconclusive with
        the error.
    """
    from ..claims.engine import get_profile

    prof = get_profile(profile)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise InputError("--seed", seed, "must be a non-negative integer, e.g. 0")
    claims = _resolve(refs)
    out_dir = Path(out)
    started = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    run_file = _new_run_file(out_dir, prof.name, started)
    if command is None:
        parts = ["verify", "run", "--profile", prof.name]
        if refs:
            parts += ["--only", *refs]
        if seed is not None:
            parts += ["--seed", str(seed)]
        parts += ["--out", str(out)]
        command = shlex.join(parts)
    run_info = {"id": run_file.stem, "started": started.isoformat().replace("+00:00", "Z"), "command": command,
                "claims": [c.id for c, _ in claims], **_workdir_git()}
    display = _Display(len(claims), stream=stream)
    results: list[Any] = []
    from ..claims.execute import executor

    with executor(workers=workers, scheduler=scheduler) as ex:
        try:
            if workers is None and scheduler is None:
                _run_claims(claims, prof, seed, out_dir, run_file, run_info, display, results)
            else:
                display.note(f"running on {ex.description}")
                _run_claims_parallel(ex, claims, prof, seed, out_dir, run_file, run_info, display, results)
        except KeyboardInterrupt:
            raise RunInterrupted(run_file) from None
    return run_file, results


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during ``run_suite``; ``run_file`` holds the records of the finished claims."""

    def __init__(self, run_file: Path) -> None:
        super().__init__(str(run_file))
        self.run_file = run_file


def _run_claims(claims: Sequence[tuple[Any, str]], prof: Any, seed: int | None, out_dir: Path, run_file: Path,
                run_info: dict[str, Any], display: _Display, results: list[Any]) -> None:
    from ..claims.engine import check

    for k, (claim, cref) in enumerate(claims, 1):
        display.start(k, claim.id)
        began = time.perf_counter()
        try:
            result = check(claim, profile=prof, seed=seed, out_dir=out_dir, claim_ref=cref, progress=display.update)
        except Exception as exc:   # one broken claim must not lose the others' results
            result = _failed_result(claim, prof, seed, exc, time.perf_counter() - began)
        _append(run_file, result, run_info, k)
        display.finish(result)
        results.append(result)


def _append(run_file: Path, result: Any, run_info: dict[str, Any], k: int) -> None:
    record = {**result.record(), "run": {**run_info, "index": k}}
    with run_file.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, sort_keys=True) + "\n")


def _earlier_costs(run_file: Path, profile: str) -> dict[str, float]:
    """Wall seconds per claim id in the newest earlier run file of this profile next to ``run_file``
    (only to schedule the longest claims first; unreadable lines are skipped)."""
    name = re.compile(rf"\d{{8}}T\d{{6}}Z-{re.escape(profile)}(-\d+)?")
    earlier = sorted(p for p in run_file.parent.glob("*.jsonl") if p != run_file and name.fullmatch(p.stem))
    for path in reversed(earlier):
        costs: dict[str, float] = {}
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            continue
        for line in lines:
            try:
                rec = json.loads(line)
                cid, wall = rec["claim"], rec["wall_s"]
            except (ValueError, KeyError, TypeError):
                continue
            if isinstance(cid, str) and isinstance(wall, (int, float)) and not isinstance(wall, bool) \
                    and math.isfinite(wall) and wall >= 0:
                costs[cid] = float(wall)
        if costs:
            return costs
    return {}


def _run_claims_parallel(ex: Any, claims: Sequence[tuple[Any, str]], prof: Any, seed: int | None, out_dir: Path,
                         run_file: Path, run_info: dict[str, Any], display: _Display, results: list[Any]) -> None:
    """Every claim's search parts and conclusion on the cluster; records and counterexample files
    written here, in the order of the claims, as each result arrives."""
    from dataclasses import replace

    from ..claims.engine import _write_counterexample
    from ..claims.execute import check_parallel

    began = time.perf_counter()
    pending = check_parallel(ex, claims, prof, seed, costs=_earlier_costs(run_file, prof.name))
    for k, ((claim, cref), fut) in enumerate(zip(claims, pending), 1):
        display.start(k, claim.id)
        try:
            result = fut.result()
            if result.counterexample is not None:
                result = replace(result, counterexample=_write_counterexample(claim, result.counterexample,
                                                                              out_dir, cref))
        except Exception as exc:   # one broken claim must not lose the others' results
            result = _failed_result(claim, prof, seed, exc, time.perf_counter() - began)
        _append(run_file, result, run_info, k)
        display.finish(result)
        results.append(result)


def _exit_code(results: Sequence[Any], strict: bool) -> int:
    verdicts = {r.verdict.value for r in results}
    if "counterexample" in verdicts:
        return RUN_EXIT_CODES["counterexample"]
    if strict and "inconclusive" in verdicts:
        return RUN_EXIT_CODES["strict_inconclusive"]
    return RUN_EXIT_CODES["ok"]


def _summary(results: Sequence[Any]) -> str:
    if not results:
        return "no claims in theorems/ yet"
    width = max(len(r.claim["id"]) for r in results)
    return "\n".join(f"{r.claim['id']:<{width}}  {r.verdict.value:<14}  {r.instances:>5} instances  {r.wall_s:7.1f} s"
                     for r in results)


def cmd_run(args: argparse.Namespace) -> int:
    """``verify run``."""
    from .render import render_report

    stream = sys.stderr
    out = Path(args.out)
    try:
        run_file, results = run_suite(args.only, profile=args.profile, seed=args.seed, out=out, stream=stream,
                                      workers=args.workers, scheduler=args.scheduler)
    except RunInterrupted as exc:   # render what was finished, then stop as interrupted
        report = render_report(exc.run_file, out)
        print(f"\nverify: interrupted; the report of the finished claims: {report.index}", file=stream)
        raise
    report = render_report(run_file, out)
    if args.json:
        print(json.dumps({"run_file": str(run_file), "report": str(report.index),
                          "results": [{"claim": r.claim["id"], "verdict": r.verdict.value, "reason": r.reason,
                                       "instances": r.instances, "wall_s": round(r.wall_s, 3)} for r in results]},
                         indent=1))
    else:
        print(_summary(results))
        print(f"\nrecords: {run_file}\nreport:  {report.index}")
    return _exit_code(results, args.strict)


def cmd_report(args: argparse.Namespace) -> int:
    """``verify report``."""
    from .render import render_report

    report = render_report(args.run_file, args.out)
    print(f"{report.claims} claims from {report.records} records: {report.index}")
    return 0
