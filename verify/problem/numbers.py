"""Exact numbers: every datum and initial value enters as a rational, never through a float."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from enum import Enum
from fractions import Fraction
from typing import Any, Union

from ..errors import InputError

__all__ = ["Exact", "to_fraction", "ExactLike", "MIN_DPS", "MAX_DPS", "GUARD_DPS", "check_dps"]

#: the fewest decimal digits a high-precision computation may be asked for
MIN_DPS = 5
#: the most decimal digits a high-precision computation may be asked for
MAX_DPS = 10_000
#: guard digits added to the working precision of the mp tier and of exact evaluation
GUARD_DPS = 10


def check_dps(dps: object, field: str = "dps") -> int:
    """Validate a precision in decimal digits."""
    if isinstance(dps, bool) or not isinstance(dps, int) or dps < MIN_DPS:
        raise InputError(field, dps, f"use an integer of at least {MIN_DPS} decimal digits, e.g. 30")
    if dps > MAX_DPS:
        raise InputError(field, dps, f"at most {MAX_DPS} decimal digits: the suite bounds high-precision work "
                                     "(30 to 100 digits confirm float64 results)")
    return dps

Exact = Fraction
ExactLike = Union[int, str, Fraction]

#: longest text of one exact number (characters), and the largest |decimal exponent| ("1e-300")
MAX_NUMBER_CHARS = 4_000
MAX_DECIMAL_EXPONENT = 4_000

_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_RATIO = re.compile(r"^[+-]?\d+\s*/\s*[+-]?\d+$")


def to_fraction(value: object, field: str) -> Fraction:
    """Read ``value`` exactly as a rational.

    Accepts ``int``, ``Fraction``, decimal strings (``"0.1"`` is 1/10, ``"1e-3"``),
    and ratio strings (``"-1/2"``). A Python ``float`` is taken at its exact binary
    value; problem files never produce one because TOML floats are read at their
    decimal text.

    Raises
    ------
    InputError
        If the value is not a finite rational number.
    """
    if isinstance(value, bool):
        raise InputError(field, value, "give a number such as 1, \"1/2\" or \"0.25\", not a boolean")
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int):
        if value.bit_length() > 4 * MAX_NUMBER_CHARS:
            raise InputError(field, f"an integer of {value.bit_length()} bits",
                             f"at most {4 * MAX_NUMBER_CHARS} bits per number")
        return Fraction(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise InputError(field, value, "must be finite: give a finite number such as \"1/2\"")
        return Fraction(value)
    if isinstance(value, str):
        text = value.strip().replace("_", "")
        if len(text) > MAX_NUMBER_CHARS:
            raise InputError(field, f"a number of {len(text)} characters",
                             f"at most {MAX_NUMBER_CHARS} characters per number")
        try:
            if _DECIMAL.match(text):
                exponent = text.lower().partition("e")[2]
                if exponent and abs(int(exponent)) > MAX_DECIMAL_EXPONENT:
                    raise InputError(field, value, f"has a decimal exponent beyond +-{MAX_DECIMAL_EXPONENT}")
                return Fraction(text)
            if _RATIO.match(text):
                num, den = (part.strip() for part in text.split("/"))
                if int(den) == 0:
                    raise InputError(field, value, "has a zero denominator: give a finite rational")
                return Fraction(int(num), int(den))
        except (ValueError, OverflowError) as exc:
            if isinstance(exc, InputError):
                raise
            raise InputError(field, value, f"cannot be read as an exact number ({exc})") from None
        raise InputError(
            field, value,
            "is not an exact number: write an integer, a decimal (\"0.1\") or a ratio (\"-1/2\")",
        )
    mpf_value = getattr(value, "_mpf_", None)
    if mpf_value is not None:  # an mpmath number, from any context: its exact binary value
        import mpmath.libmp as libmp

        if mpf_value in (libmp.finf, libmp.fninf, libmp.fnan):
            raise InputError(field, str(value), "must be finite: give a finite number such as \"1/2\"")
        sign, man, exp, _ = mpf_value
        q = Fraction(int(man)) * (Fraction(2) ** int(exp))
        return -q if sign else q
    # numpy scalars and the like: accept integers and finite floats at their exact value
    try:
        import numbers

        if isinstance(value, numbers.Integral):
            return Fraction(int(value))
        if isinstance(value, numbers.Rational):  # sympy.Rational, gmpy2.mpq: exact
            return Fraction(int(value.numerator), int(value.denominator))
        if isinstance(value, numbers.Real):
            return to_fraction(float(value), field)
    except TypeError:  # pragma: no cover - defensive
        pass
    raise InputError(field, value, "must be a number (int, decimal string or \"p/q\" string)")


def jsonable(obj: Any) -> Any:
    """Numbers to JSON: floats stay floats (non-finite as strings), mp numbers and fractions
    become decimal strings, numpy scalars and arrays become lists."""
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, (int, str)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else str(obj)
    if isinstance(obj, Fraction):
        return str(obj)
    if hasattr(obj, "_mpf_"):
        import mpmath

        return mpmath.nstr(obj, 20)
    if hasattr(obj, "tolist"):
        return jsonable(obj.tolist())
    if isinstance(obj, Enum):
        return obj.value
    try:
        f = float(obj)
    except (TypeError, ValueError):
        return str(obj)
    return f if math.isfinite(f) else str(f)
