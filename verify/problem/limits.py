"""Resource limits: work the suite refuses before it starts, as an input error.

A tiny input file must not make the suite allocate terabytes or compute for hours. Sizes that
set the memory of an ensemble, a grid, a sample or a set of starts are estimated before anything
is allocated; beyond :data:`MEMORY_LIMIT_BYTES` the input is refused with an
:class:`~verify.InputError` naming the field, the estimate and the limit. The precision of
high-precision work is bounded by :data:`~verify.problem.numbers.MAX_DPS`; the size of a network by
:data:`MAX_PARAMS`.
"""

from __future__ import annotations

from ..errors import InputError

__all__ = ["MEMORY_LIMIT_BYTES", "MAX_PARAMS", "MAX_LAYERS", "check_memory", "ensemble_bytes"]

#: the largest working set the suite plans for one command (bytes)
MEMORY_LIMIT_BYTES = 4 << 30
#: the largest network (parameters d): the tiers are built for small networks
MAX_PARAMS = 1_000_000
#: the most affine layers of a network
MAX_LAYERS = 64


def ensemble_bytes(members: int, d: int) -> int:
    """Working set of an ensemble of ``members`` parameter vectors in R^d in the float64 tier:
    the solvers' stages, checkpoints and exact copies (about 48 vectors per member), plus one
    Hessian per member (d x d)."""
    return 8 * members * d * (48 + d)


def _human(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"  # pragma: no cover


def check_memory(field: str, value: object, nbytes: int, fix: str) -> None:
    """Refuse work whose estimated memory ``nbytes`` exceeds :data:`MEMORY_LIMIT_BYTES`."""
    if nbytes > MEMORY_LIMIT_BYTES:
        raise InputError(field, value, f"needs about {_human(nbytes)} of memory, over the limit of "
                                       f"{_human(MEMORY_LIMIT_BYTES)}: {fix}")
