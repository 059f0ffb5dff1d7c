"""pytest integration: run a claim as a test.

>>> from verify.testing import assert_claim
>>> def test_my_conjecture():
...     assert_claim(MyConjecture(), profile="quick")

``assert_claim`` runs :func:`verify.check` and fails the test (``AssertionError``) unless the
verdict is the expected one (``consistent`` by default); the message carries the reason and,
for a counterexample, the shrunk instance as problem-file text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .claims.engine import CheckResult, Claim, Instance, Profile, Verdict, check

__all__ = ["assert_claim"]


def assert_claim(claim: Claim, *, profile: str | Profile | None = None, seed: int | None = None,
                 instance: Instance | None = None, expect: str | Verdict = Verdict.CONSISTENT,
                 out_dir: str | Path | None = None, record: str | Path | None = None) -> CheckResult:
    """Check ``claim`` and assert that its verdict is ``expect``; returns the result.

    Parameters are those of :func:`verify.check`; ``expect`` is a verdict or its name
    (``"consistent"``, ``"counterexample"``, ``"inconclusive"``, ``"not_applicable"``).
    """
    want = Verdict(expect)
    result = check(claim, profile=profile, seed=seed, instance=instance, out_dir=out_dir, record=record)
    if result.verdict is not want:
        lines: list[Any] = [f"claim {result.claim['id']}: expected {want.value}, got {result.verdict.value}",
                            result.reason]
        cx = result.counterexample
        if cx is not None:
            lines.append(f"instance ({cx.judgement.summary}):\n{cx.instance.to_toml()}")
            if cx.replay:
                lines.append(f"replay: {cx.replay}")
        raise AssertionError("\n".join(str(x) for x in lines))
    return result
