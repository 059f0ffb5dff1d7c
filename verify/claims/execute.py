"""One execution layer for independent work: in this process, or on a Dask cluster.

By default everything runs here, one task after the other, and Dask is not needed. With
``--workers N`` a local ``dask.distributed`` cluster of N single-threaded worker processes is
started for the command; with ``--scheduler ADDRESS`` an existing cluster is used (``dask
scheduler`` / ``dask worker`` started by the user, or any deployment such as dask-jobqueue). Dask
is an optional extra: ``pip install "verify[dask]"``.

Tasks are pure functions of plain data (a claim's reference, the profile, the seed, the index of
a search part), so a worker that dies has its tasks rerun elsewhere (Dask's retries) and nothing
is computed twice into a result. Results come back to the client, which alone writes records and
files, in a fixed order: a parallel run records exactly what a serial run with the same seeds
records (up to wall times).
"""

from __future__ import annotations

import abc
import contextlib
from functools import lru_cache
from typing import Any, Callable, Iterator, Mapping, Sequence

from ..errors import InputError

__all__ = ["Executor", "InProcess", "DaskExecutor", "executor", "part_task", "conclude_task"]

#: times Dask reruns a task whose worker died (or that raised) before giving up
RETRIES = 2


class Executor(abc.ABC):
    """Runs tasks: ``submit(fn, *args)`` returns something with ``.result()``."""

    workers: int = 1
    description: str = "in process"

    @abc.abstractmethod
    def submit(self, fn: Callable[..., Any], *args: Any, priority: float = 0) -> Any:
        """Schedule ``fn(*args)``; arguments may be the results of earlier submissions. Among tasks
        that are ready, a cluster starts those of higher ``priority`` first."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the cluster (nothing for the in-process executor)."""


class _Done:
    def __init__(self, value: Any) -> None:
        self.value = value

    def result(self) -> Any:
        return self.value


class InProcess(Executor):
    """Runs each task at once, here (the default)."""

    def submit(self, fn: Callable[..., Any], *args: Any, priority: float = 0) -> _Done:
        return _Done(fn(*(_value(a) for a in args)))


def _value(arg: Any) -> Any:
    if isinstance(arg, _Done):
        return arg.value
    if isinstance(arg, list):
        return [_value(a) for a in arg]
    return arg


class DaskExecutor(Executor):
    """Tasks on a ``dask.distributed`` cluster (a local one started here, or one at an address)."""

    def __init__(self, *, workers: int | None = None, scheduler: str | None = None) -> None:
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            field, value = ("--workers", workers) if workers is not None else ("--scheduler", scheduler)
            raise InputError(field, value, "needs Dask: pip install \"verify[dask]\" (or drop the option to run "
                                           "in this process)") from None
        import logging

        self.cluster = None
        if scheduler is not None:
            try:
                self.client = Client(scheduler, timeout="20s")
            except (OSError, TimeoutError) as exc:
                raise InputError("--scheduler", scheduler, f"no Dask scheduler answers there ({exc}): start one "
                                                           "with `dask scheduler` and workers with `dask worker "
                                                           "ADDRESS`") from None
            self.workers = max(1, len(self.client.scheduler_info().get("workers", {})))
            self.description = f"Dask scheduler {scheduler} ({self.workers} workers)"
        else:
            assert workers is not None
            import dask

            # the workers' environment: single-threaded BLAS as Dask sets it, but glibc's own malloc
            # thresholds (Dask's MALLOC_TRIM_THRESHOLD_ also freezes the mmap threshold at 128 KiB,
            # so that every array above it is mapped and unmapped anew; the serial run keeps the
            # adaptive default)
            environ = {k: v for k, v in dask.config.get("distributed.nanny.pre-spawn-environ", {}).items()
                       if k != "MALLOC_TRIM_THRESHOLD_"}
            with dask.config.set({"distributed.nanny.pre-spawn-environ": environ,
                                  "distributed.worker.profile.enabled": False}):
                self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                            dashboard_address=None, silence_logs=logging.ERROR)
            self.client = Client(self.cluster)
            self.workers = workers
            self.description = f"a local Dask cluster of {workers} worker processes"

    def submit(self, fn: Callable[..., Any], *args: Any, priority: float = 0) -> Any:
        return self.client.submit(fn, *args, pure=False, retries=RETRIES, priority=priority)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()
        if self.cluster is not None:
            with contextlib.suppress(Exception):
                self.cluster.close()


@contextlib.contextmanager
def executor(*, workers: int | None = None, scheduler: str | None = None) -> Iterator[Executor]:
    """The executor the options ask for: in process (neither given), a local cluster of
    ``workers`` processes, or the cluster at ``scheduler``."""
    if workers is not None and scheduler is not None:
        raise InputError("--workers", workers, "give --workers or --scheduler, not both")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 256):
        raise InputError("--workers", workers, "must be an integer from 1 to 256")
    ex: Executor = InProcess() if workers is None and scheduler is None else DaskExecutor(workers=workers,
                                                                                          scheduler=scheduler)
    try:
        yield ex
    finally:
        ex.close()


# ---------------------------------------------------------------------------------------
# Tasks: pure functions of plain data
# ---------------------------------------------------------------------------------------

@lru_cache(maxsize=64)
def _claim(ref: str) -> Any:
    """The claim a reference names (an id of theorems/, or FILE.py::ID), loaded once per process."""
    from .engine import load_claims

    claims = load_claims(ref)
    path, _, wanted = ref.partition("::")
    if len(claims) != 1:
        raise InputError("CLAIM", ref, "names more than one claim")
    del path, wanted
    return claims[0]


#: the result types that carry numbers of a tier (instances and problems hold exact numbers only)
_CARRIERS = frozenset({"Judgement", "SearchPart", "CheckResult", "Counterexample"})


def portable(obj: Any) -> Any:
    """``obj`` with every mpmath number of a private context (its class exists only in the
    process that made it) replaced by the same number of mpmath's global context, which pickles:
    exactly, with no rounding. Judgements, search parts and results are rebuilt around them."""
    import dataclasses

    import mpmath

    if hasattr(obj, "_mpf_") and type(obj) is not mpmath.mpf:
        return mpmath.mp.make_mpf(obj._mpf_)
    if hasattr(obj, "_mpc_") and type(obj) is not mpmath.mpc:
        return mpmath.mp.make_mpc(obj._mpc_)
    if isinstance(obj, dict):
        return {k: portable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)) and type(obj) in (list, tuple):
        return type(obj)(portable(v) for v in obj)
    if type(obj).__name__ in _CARRIERS and type(obj).__module__ == "verify.claims.engine":
        changes = {f.name: portable(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.init}
        return dataclasses.replace(obj, **changes)
    return obj


def _on_dask_worker() -> bool:
    try:
        from distributed import get_worker
        get_worker()
    except (ImportError, ValueError):
        return False
    return True


@contextlib.contextmanager
def _quiet_worker_random() -> Iterator[None]:
    """On a Dask worker, ignore Hypothesis's note that the global ``random`` state changed while
    a strategy was drawn. The worker's own event-loop thread draws from ``random`` (connection
    backoff and retry jitter in ``distributed``) while the task thread runs the search, and
    Hypothesis compares the global state before and after each draw. The suite's strategies do
    not use ``random`` (the same searches in one process give no such note), and the search's
    own randomness is Hypothesis's seeded PRNG, so the instances do not depend on it."""
    if not _on_dask_worker():
        yield
        return
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Do not use the `random` module inside strategies")
        yield


def part_task(ref: str, profile: Any, seed: int | None, part: int) -> Any:
    """Part ``part`` of the search of the claim ``ref`` (a :class:`verify.claims.engine.SearchPart`)."""
    from .engine import search_part

    with _quiet_worker_random():
        return portable(search_part(_claim(ref), profile, seed, part))


def conclude_task(ref: str, profile: Any, seed: int | None, parts: Sequence[Any]) -> Any:
    """The result of a claim from its search parts: merged, and a violation confirmed (once).
    Nothing is written: the client writes counterexample files and records."""
    from .engine import check

    with _quiet_worker_random():
        return portable(check(_claim(ref), profile=profile, seed=seed, claim_ref=ref, parts=list(parts)))


def check_parallel(ex: Executor, claims: Sequence[tuple[Any, str]], profile: Any,
                   seed: int | None, costs: Mapping[str, float] | None = None) -> list[Any]:
    """Submit every part of every claim's search, then each claim's conclusion; returns one
    pending result per claim, in the order given (``.result()`` waits for it).

    ``costs`` (expected seconds per claim id, e.g. the wall times of an earlier run of the same
    profile) only orders the work: the parts of the longest claims start first, so that no long
    part is left to run alone at the end (longest processing time first); a conclusion starts as
    soon as its parts are done. Claims without a cost keep the order given, after those with one.
    The results do not depend on the order."""
    costs = costs or {}
    top = max(costs.values(), default=0.0) + 1.0
    pending = []
    for k, (claim, ref) in enumerate(claims):
        cost = costs.get(claim.id)
        # priorities: higher first; among claims without a cost, earlier first
        prio = float(cost) / profile.search_parts if cost is not None else -float(k + 1)
        parts = [ex.submit(part_task, ref, profile, seed, j, priority=prio) for j in range(profile.search_parts)]
        pending.append(ex.submit(conclude_task, ref, profile, seed, parts, priority=top))
    return pending
