"""The pytest plugin (entry point ``pytest11: verify``): conjecture files are test files.

``pytest my_conjectures/`` collects every claim of every conjecture file as one test: a file whose
name matches the ini option ``verify_files`` (default ``conjecture*.py *_conjecture*.py
*_conjectures.py``) or that lies in a folder named ``conjectures``, ``*_conjectures`` or
``conjectures_*``. Each claim
defined in it (a ``@verify.conjecture`` function, a ``verify.Claim`` instance, or a concrete
subclass) is checked with :func:`verify.check`; the test passes when the verdict is
``consistent``. A failure shows the verdict, the reason, the shrunk instance (as instance-file
text), the margins at every precision and the command that replays it.

Options: ``--verify-profile NAME`` (default ``$VERIFY_PROFILE``, else ``quick``), ``--verify-out
DIR`` (where counterexample files go; default ``reports``), ``--verify-database DIR`` (default
``.hypothesis/examples`` under the rootdir; ``none`` turns it off). Confirmed counterexamples are kept
in that Hypothesis example database under the claim's id, so the next run judges them first. The
folder is named explicitly rather than taken from Hypothesis' current settings, whose ``ci`` profile
(loaded automatically when ``CI`` is set) has no database.
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path
from typing import Any, Iterator

import pytest

DEFAULT_FILES = "conjecture*.py *_conjecture*.py *_conjectures.py"
#: folders whose Python files are all conjecture files
DIRECTORIES = ("conjectures", "*_conjectures", "conjectures_*")


def _database(config: pytest.Config) -> Any:
    """The example database the plugin keeps counterexamples in (``None`` when turned off)."""
    from hypothesis.database import DirectoryBasedExampleDatabase

    where = config.getoption("verify_database")
    if where is not None and where.strip().lower() == "none":
        return None
    folder = Path(where) if where else Path(config.rootpath) / ".hypothesis" / "examples"
    return DirectoryBasedExampleDatabase(str(folder))


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("verify", "verify: conjecture files as tests")
    group.addoption("--verify-profile", default=None, metavar="NAME",
                    help="profile of the checks: quick, ci or thorough (default $VERIFY_PROFILE, else quick)")
    group.addoption("--verify-out", default="reports", metavar="DIR",
                    help="where counterexample files are written (default reports)")
    group.addoption("--verify-database", default=None, metavar="DIR",
                    help="Hypothesis example database of confirmed counterexamples, replayed first on the "
                         "next run (default .hypothesis/examples under the rootdir; 'none' turns it off)")
    parser.addini("verify_files", "glob patterns of conjecture files (besides files in *conjecture* folders)",
                  type="args", default=DEFAULT_FILES.split())


def _is_conjecture_file(path: Path, config: pytest.Config) -> bool:
    if path.suffix != ".py" or path.name.startswith("_"):
        return False
    patterns = config.getini("verify_files")
    return (any(fnmatch.fnmatch(path.name, p) for p in patterns)
            or any(fnmatch.fnmatch(path.parent.name, p) for p in DIRECTORIES))


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if not _is_conjecture_file(file_path, parent.config):
        return None
    python_files = parent.config.getini("python_files")
    if any(fnmatch.fnmatch(file_path.name, p) for p in python_files):
        return None        # pytest's own collector takes it; the hook below adds its claims
    return ConjectureFile.from_parent(parent, path=file_path)


class ConjectureFile(pytest.Module):
    """A conjecture file: its claims (and any test functions) are tests."""


def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> Any:
    from .engine import Claim

    path = getattr(collector, "path", None)
    if not isinstance(collector, pytest.Module) or path is None or not _is_conjecture_file(Path(path),
                                                                                           collector.config):
        return None
    if isinstance(obj, Claim):
        return ClaimItem.from_parent(collector, name=obj.id or name, claim=obj)
    if (isinstance(obj, type) and issubclass(obj, Claim) and obj.__module__ == getattr(collector.obj, "__name__", "")
            and not getattr(obj, "__abstractmethods__", None)):
        claim = obj()
        if not claim.id:
            type(claim).id = obj.__name__
        return ClaimItem.from_parent(collector, name=claim.id, claim=claim)
    return None


class ClaimFailed(Exception):
    """A claim's verdict was not ``consistent``."""


class ClaimItem(pytest.Item):
    """One claim, checked as one test."""

    def __init__(self, *, claim: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.claim = claim
        self.result: Any = None

    def runtest(self) -> None:
        from .engine import Verdict, check

        profile = self.config.getoption("verify_profile") or os.environ.get("VERIFY_PROFILE") or "quick"
        out = Path(self.config.getoption("verify_out"))
        ref = f"{self.path}::{self.claim.id}"
        self.result = check(self.claim, profile=profile, out_dir=out, claim_ref=ref,
                            database=_database(self.config))
        if self.result.verdict is not Verdict.CONSISTENT:
            raise ClaimFailed(self.result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if not isinstance(excinfo.value, ClaimFailed):
            return str(super().repr_failure(excinfo))
        return "\n".join(_failure_lines(self.result))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"claim {self.claim.id}"


def _failure_lines(result: Any) -> Iterator[str]:
    yield f"{result.claim['id']}: {str(result.verdict).upper()}"
    yield f"  {result.reason}"
    cx = result.counterexample
    if cx is None:
        return
    yield f"  float64 margin {cx.judgement.margin_text()}: {cx.judgement.summary}"
    for dps, j in cx.confirmations:
        where = "exact" if dps == 0 else f"{dps} digits"
        yield f"  {where}: margin {j.margin_text()}: {j.summary}"
    yield "  shrunk instance:"
    yield from ("    " + line for line in cx.instance.to_toml().splitlines())
    if cx.replay:
        yield f"  replay: {cx.replay}"


def pytest_report_header(config: pytest.Config) -> str:
    profile = config.getoption("verify_profile") or os.environ.get("VERIFY_PROFILE") or "quick"
    return f"verify: conjecture files are tests (profile {profile})"
