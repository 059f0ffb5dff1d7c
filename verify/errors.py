"""The one exception type for bad input."""

from __future__ import annotations

__all__ = ["InputError"]


class InputError(ValueError):
    """Bad input: names the argument (or problem-file field), the value, and the fix.

    Raised at the boundary of the library (problem files, public functions, the CLI),
    never for a numerical failure: those are results with a status and a message.
    """

    def __init__(self, field: str, value: object, fix: str) -> None:
        self.field = field
        self.value = value
        self.fix = fix
        shown = repr(value)
        if len(shown) > 120:
            shown = shown[:117] + "..."
        super().__init__(f"{field} = {shown}: {fix}")
