"""The execution layer: serial and Dask runs record the same results, and a dying worker loses
nothing.

Oracles: the serial run itself (a parallel run with the same seeds must give the same records and
the same report, tree against tree, once wall times and the run's identity are set aside), and the
run file (one record per claim, in the order of the claims, after a worker was killed by its
process id mid-run).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from verify import InputError
from verify.claims.execute import InProcess, executor, part_task
from verify.report.render import render_report
from verify.report.run import run_suite

HERE = Path(__file__).resolve().parent
CLAIMS = HERE.parent / "report_claims.py"
SLOW_CLAIMS = '''
import time
from fractions import Fraction
from hypothesis import strategies as st
from verify import Claim, ExprLandscape, Instance, Judgement, Tier
from verify import strategies as vst


class _Slow(Claim):
    """w^2 >= c w for c in the class: false for c > 0 (w = c/2 refutes it), each judgement slowed."""

    c = Fraction(0)

    def instances(self, profile):
        return st.builds(lambda w: Instance(ExprLandscape("w**2", ["w"]), (w,)),
                         vst.rationals(min_value=-2, max_value=2, max_denominator=8))

    def experiment(self, instance, profile, tier):
        if tier.is_float64:
            time.sleep(0.15)
        w = tier.num(instance.theta0[0])
        return Judgement(w * w - tier.num(self.c) * w, "w^2 - c w")


class SlowTrue(_Slow):
    id = "slow_true"


class SlowFalse(_Slow):
    id = "slow_false"
    c = Fraction(3, 2)


class SlowTrueToo(_Slow):
    id = "slow_true_too"
'''


def _normalized(run_file: Path, dest: Path) -> Path:
    """The run file without what legitimately differs between two runs: wall times, the run's
    identity and command, provenance."""
    lines = []
    for line in run_file.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        rec["wall_s"] = 0
        rec.pop("run", None)
        rec.pop("provenance", None)
        for e in rec.get("evidence") or []:
            e.pop("cost_s", None)
        cx = rec.get("counterexample")
        if cx:
            cx["file"] = cx["replay"] = None
        lines.append(json.dumps(rec, sort_keys=True))
    dest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return dest


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and "runs" not in p.parts}


def test_the_in_process_executor_passes_results_along() -> None:
    ex = InProcess()
    a = ex.submit(lambda x: x + 1, 1)
    b = ex.submit(lambda xs: sum(xs), [a, a])
    assert b.result() == 4


def test_options_are_validated() -> None:
    with pytest.raises(InputError, match="not both"), executor(workers=2, scheduler="tcp://x:1"):
        pass
    with pytest.raises(InputError, match="from 1 to 256"), executor(workers=0):
        pass


def test_a_parallel_run_records_what_a_serial_run_records(tmp_path: Path) -> None:
    serial_file, serial = run_suite([str(CLAIMS)], profile="ci", out=tmp_path / "serial", stream=io.StringIO())
    parallel_file, parallel = run_suite([str(CLAIMS)], profile="ci", out=tmp_path / "parallel", workers=2,
                                        stream=io.StringIO())
    assert [(r.claim["id"], r.verdict, r.instances) for r in serial] == \
        [(r.claim["id"], r.verdict, r.instances) for r in parallel]
    # the report from the records: the same tree
    reports = []
    for name, run_file in (("serial", serial_file), ("parallel", parallel_file)):
        (tmp_path / "norm" / name).mkdir(parents=True)
        norm = _normalized(run_file, tmp_path / "norm" / name / "run.jsonl")
        render_report(norm, tmp_path / f"{name}-report")
        reports.append(_tree(tmp_path / f"{name}-report"))
    assert reports[0] == reports[1]
    # the search really was split: a ci search is in two parts, with different instances
    parts = [part_task(str(CLAIMS) + "::quadratic_flow_decreases", serial[0].profile, None, k) for k in (0, 1)]
    assert parts[0].judged + parts[1].judged > 0
    assert [e["instance"] for e in parts[0].evidence] != [e["instance"] for e in parts[1].evidence]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_worker_killed_mid_run_loses_nothing(tmp_path: Path) -> None:
    dask = shutil.which("dask") or str(Path(sys.executable).with_name("dask"))
    claims = tmp_path / "slow_claims.py"
    claims.write_text(SLOW_CLAIMS, encoding="utf-8")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(HERE.parents[1])}
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--dashboard-address", ":0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env=env)]
    try:
        time.sleep(3)
        workers = [subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--no-nanny",
                                     "--dashboard-address", ":0"], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, env=env) for _ in range(2)]
        procs += workers
        time.sleep(4)
        run = subprocess.Popen([sys.executable, "-m", "verify", "run", "--profile", "ci", "--only", str(claims),
                                "--out", str(tmp_path / "out"), "--scheduler", address, "--json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        time.sleep(6)                      # the parts are under way on both workers
        assert run.poll() is None, run.communicate()
        os.kill(workers[0].pid, signal.SIGKILL)
        out, err = run.communicate(timeout=300)
        assert run.returncode == 1, err          # slow_false has a counterexample
        doc = json.loads(out)
        got = {r["claim"]: (r["verdict"], r["instances"]) for r in doc["results"]}
        lines = Path(doc["run_file"]).read_text().splitlines()
        assert [json.loads(x)["claim"] for x in lines] == ["slow_true", "slow_false", "slow_true_too"]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=30)
    # the same results as a serial run with the same seeds
    _, serial = run_suite([str(claims)], profile="ci", out=tmp_path / "serial", stream=io.StringIO())
    assert got == {r.claim["id"]: (r.verdict.value, r.instances) for r in serial}
    assert got["slow_false"][0] == "counterexample" and got["slow_true"][0] == "consistent"


def test_only_dasks_own_random_note_is_silenced_and_only_on_a_worker(monkeypatch) -> None:
    import warnings

    from verify.claims import execute

    note = "Do not use the `random` module inside strategies; instead consider `st.randoms()`"
    assert not execute._on_dask_worker()
    with pytest.warns(UserWarning, match="Do not use"), execute._quiet_worker_random():
        warnings.warn(note, UserWarning, stacklevel=1)
    monkeypatch.setattr(execute, "_on_dask_worker", lambda: True)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with execute._quiet_worker_random():
            warnings.warn(note, UserWarning, stacklevel=1)
            warnings.warn("another warning", UserWarning, stacklevel=1)
    assert [str(w.message) for w in seen] == ["another warning"]


def test_longest_claims_are_submitted_first_from_an_earlier_runs_times(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from verify.claims.execute import Executor, check_parallel
    from verify.report.run import _earlier_costs

    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "20260101T000000Z-ci.jsonl").write_text('{"claim": "a", "wall_s": 99}\n', encoding="utf-8")
    (runs / "20260102T000000Z-quick.jsonl").write_text('{"claim": "a", "wall_s": 7}\n', encoding="utf-8")
    (runs / "20260103T000000Z-ci.jsonl").write_text(
        '{"claim": "a", "wall_s": 5.5}\nnot json\n{"claim": "b", "wall_s": "x"}\n{"claim": "c", "wall_s": 40}\n'
        '{"claim": "d", "wall_s": -1}\n', encoding="utf-8")
    new = runs / "20260104T000000Z-ci.jsonl"
    new.touch()
    assert _earlier_costs(new, "ci") == {"a": 5.5, "c": 40.0}
    assert _earlier_costs(new, "thorough") == {}

    class Recorder(Executor):
        def __init__(self) -> None:
            self.seen: list[tuple[str, str, float]] = []

        def submit(self, fn, *args, priority: float = 0):  # type: ignore[no-untyped-def]
            self.seen.append((fn.__name__, args[0], priority))
            return None

    ex = Recorder()
    claims = [(SimpleNamespace(id=c), f"ref-{c}") for c in "abce"]
    check_parallel(ex, claims, SimpleNamespace(search_parts=2), None, costs={"a": 5.5, "c": 40.0})
    parts = [(ref, p) for fn, ref, p in ex.seen if fn == "part_task"]
    order = [ref for ref, _ in sorted(parts, key=lambda rp: -rp[1])]
    assert order == ["ref-c", "ref-c", "ref-a", "ref-a", "ref-b", "ref-b", "ref-e", "ref-e"]
    assert all(p > 40 for fn, _, p in ex.seen if fn == "conclude_task")
