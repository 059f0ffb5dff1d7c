"""The safe expression reader: text from a file or the command line to a SymPy expression.

Every expression the suite reads (a problem's target, a formula file's loss, a claim instance's
formula) goes through :func:`parse_expression`. The text is parsed by Python's :mod:`ast` (which
only parses, never runs anything) and the SymPy expression is built node by node from a
whitelist:

* numbers: integers and decimals (``0.1`` is exactly 1/10), read at their text, never via a float;
* the declared symbols, and the constants ``pi``, ``E``, ``True``, ``False``;
* ``+ - * / **``, unary ``-`` and ``+``, parentheses; comparisons ``< <= > >=`` and
  ``& | ~`` between conditions (as SymPy prints ``Piecewise`` conditions);
* calls of the functions in :data:`FUNCTIONS` by name, with positional arguments, and tuples
  inside ``Piecewise((value, condition), ...)``.

Anything else (attribute access, subscripts, keyword arguments, strings, lambdas, other names,
``^``, ...) is an :class:`~verify.InputError` that names the field and the offending token.
``sympy.sympify`` and ``parse_expr`` are never used on text: both call ``eval``.

Size is bounded so that a short text cannot make SymPy work for hours: the text's length, the
tree's depth and node count, the bit size of every number, the magnitude of numeric exponents,
and an estimate of the number of monomials the expression can expand to (see the ``MAX_*``
constants).
"""

from __future__ import annotations

import ast
import math
from fractions import Fraction
from typing import Any, Callable, Mapping

import sympy

from ..errors import InputError

__all__ = ["FUNCTIONS", "CONSTANTS", "RESERVED", "parse_expression", "check_symbol_names",
           "MAX_CHARS", "MAX_DEPTH", "MAX_NODES", "MAX_BITS", "MAX_EXPONENT", "MAX_TERMS"]

#: longest expression text accepted (characters)
MAX_CHARS = 20_000
#: deepest nesting of the parsed tree
MAX_DEPTH = 60
#: most nodes in the parsed tree
MAX_NODES = 4_000
#: largest numerator or denominator of any number, literal or intermediate (bits)
MAX_BITS = 4_096
#: largest |exponent| of a numeric power (numerator and denominator of a rational exponent)
MAX_EXPONENT = 200
#: largest number of monomials the expression could expand to, C(degree + k, k) for k symbols
MAX_TERMS = 2_000

_UNARY_FUNCTIONS = ("exp", "log", "sqrt", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh",
                    "asinh", "acosh", "atanh", "erf", "erfc", "Abs", "sign", "Heaviside")

#: the functions an expression may call: name -> (SymPy callable, fewest args, most args or None)
FUNCTIONS: dict[str, tuple[Callable[..., Any], int, int | None]] = {
    **{name: (getattr(sympy, name), 1, 1) for name in _UNARY_FUNCTIONS},
    "abs": (sympy.Abs, 1, 1),
    "log": (sympy.log, 1, 2),
    "Max": (sympy.Max, 1, None),
    "Min": (sympy.Min, 1, None),
    "Piecewise": (sympy.Piecewise, 1, None),
    "Rational": (sympy.Rational, 1, 2),
    "Eq": (sympy.Eq, 2, 2),
    "Ne": (sympy.Ne, 2, 2),
    "And": (sympy.And, 2, None),
    "Or": (sympy.Or, 2, None),
    "Not": (sympy.Not, 1, 1),
}

#: named constants
CONSTANTS: dict[str, Any] = {"pi": sympy.pi, "E": sympy.E, "True": sympy.true, "False": sympy.false}

#: names a symbol may not take (they mean a function or a constant)
RESERVED = frozenset(FUNCTIONS) | frozenset(CONSTANTS)

_NON_FINITE = (sympy.zoo, sympy.nan, sympy.oo, -sympy.oo)
_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_COMPARE = {ast.Lt: sympy.Lt, ast.LtE: sympy.Le, ast.Gt: sympy.Gt, ast.GtE: sympy.Ge}
_HINTS = {
    ast.BitXor: "'^' is not a power here: write x**2",
    ast.FloorDiv: "'//' is not supported: write a/b",
    ast.Mod: "'%' is not supported",
    ast.MatMult: "'@' is not supported",
    ast.LShift: "'<<' is not supported",
    ast.RShift: "'>>' is not supported",
}


def check_symbol_names(names: object, field: str) -> tuple[str, ...]:
    """Validate declared symbol names: distinct identifiers, not keywords, not function or
    constant names, not starting with an underscore, at most 32 characters."""
    import keyword

    if isinstance(names, str) or not isinstance(names, (list, tuple)) or len(names) == 0:
        raise InputError(field, names, "give the parameter names as a non-empty list, e.g. [\"x\", \"y\"]")
    out = []
    for n in names:
        if (not isinstance(n, str) or not n.isidentifier() or not n.isascii() or keyword.iskeyword(n)
                or n.startswith("_") or len(n) > 32):
            raise InputError(field, n, "each name must be an ASCII identifier of at most 32 characters, "
                                       "not a Python keyword and not starting with '_', e.g. \"w1\"")
        if n in RESERVED:
            raise InputError(field, n, "names a function or constant of the expression language: "
                                       "choose another name, e.g. \"w1\"")
        out.append(n)
    if len(set(out)) != len(out):
        raise InputError(field, list(out), "give distinct names")
    return tuple(out)


class _Reader:
    """Builds the SymPy expression of one parsed tree, enforcing the whitelist and the bounds."""

    def __init__(self, text: str, symbols: Mapping[str, sympy.Symbol], field: str) -> None:
        self.text = text
        self.symbols = symbols
        self.field = field
        self.nodes = 0

    def fail(self, node: ast.AST | None, what: str) -> InputError:
        token = ""
        if node is not None:
            seg = ast.get_source_segment(self.text, node)
            if seg is not None:
                token = seg if len(seg) <= 40 else seg[:37] + "..."
        shown = f" at {token!r}" if token else ""
        return InputError(self.field, self.text, f"{what}{shown}")

    # -- numbers ---------------------------------------------------------------------------
    def number(self, node: ast.Constant) -> Any:
        value = node.value
        if isinstance(value, bool):
            return sympy.true if value else sympy.false
        if not isinstance(value, (int, float)):
            kind = "a string" if isinstance(value, (str, bytes)) else type(value).__name__
            raise self.fail(node, f"{kind} is not a number of the expression language")
        seg = ast.get_source_segment(self.text, node) or repr(value)
        seg = seg.replace("_", "")
        if isinstance(value, int):
            if value.bit_length() > MAX_BITS:
                raise self.fail(node, f"an integer of more than {MAX_BITS} bits")
            return sympy.Integer(value)
        # a decimal literal: read exactly from its text (never through the float)
        exponent = seg.lower().partition("e")[2]
        if exponent and abs(int(exponent)) > 1000:
            raise self.fail(node, "a decimal exponent beyond +-1000")
        try:
            q = Fraction(seg)
        except (ValueError, ZeroDivisionError):
            raise self.fail(node, "not a decimal number") from None
        return self.rational(node, q)

    def rational(self, node: ast.AST, q: Fraction) -> sympy.Expr:
        if q.numerator.bit_length() > MAX_BITS or q.denominator.bit_length() > MAX_BITS:
            raise self.fail(node, f"a number of more than {MAX_BITS} bits")
        return sympy.Rational(q.numerator, q.denominator)

    def checked(self, node: ast.AST, value: Any) -> Any:
        """Bounds on a freshly built node: numbers and numeric exponents."""
        for part in (value, *getattr(value, "args", ())):
            if isinstance(part, sympy.Rational):
                if int(part.p).bit_length() > MAX_BITS or int(part.q).bit_length() > MAX_BITS:
                    raise self.fail(node, f"a number of more than {MAX_BITS} bits arises")
            elif isinstance(part, sympy.Pow) and isinstance(part.exp, sympy.Rational):
                if abs(int(part.exp.p)) > MAX_EXPONENT or int(part.exp.q) > MAX_EXPONENT:
                    raise self.fail(node, f"an exponent beyond {MAX_EXPONENT} arises ({part.exp})")
        if value in _NON_FINITE:
            raise self.fail(node, "a division by zero or an infinity arises")
        return value

    # -- the tree --------------------------------------------------------------------------
    def build(self, node: ast.AST, depth: int = 0) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.fail(None, f"the expression has more than {MAX_NODES} nodes: simplify it")
        if depth > MAX_DEPTH:
            raise self.fail(node, f"nesting deeper than {MAX_DEPTH}")
        sub = depth + 1
        if isinstance(node, ast.Constant):
            return self.number(node)
        if isinstance(node, ast.Name):
            if node.id in self.symbols:
                return self.symbols[node.id]
            if node.id in CONSTANTS:
                return CONSTANTS[node.id]
            allowed = ", ".join(sorted(self.symbols)) or "(none)"
            if node.id in FUNCTIONS:
                raise self.fail(node, f"{node.id} is a function: call it, e.g. {node.id}(x)")
            raise self.fail(node, f"unknown name {node.id!r}: the symbols are {allowed}; constants pi, E")
        if isinstance(node, ast.UnaryOp):
            operand = self.build(node.operand, sub)
            if isinstance(node.op, ast.USub):
                return self.checked(node, -operand)
            if isinstance(node.op, ast.UAdd):
                return operand
            if isinstance(node.op, ast.Invert):
                if not isinstance(operand, sympy.logic.boolalg.Boolean):
                    raise self.fail(node, "'~' applies to conditions only")
                return sympy.Not(operand)
            raise self.fail(node, "'not' is not supported: write ~(condition)")
        if isinstance(node, ast.BinOp):
            op = type(node.op)
            if op in (ast.BitAnd, ast.BitOr):
                left, right = self.build(node.left, sub), self.build(node.right, sub)
                if not all(isinstance(v, sympy.logic.boolalg.Boolean) for v in (left, right)):
                    raise self.fail(node, "'&' and '|' join conditions only, e.g. (x >= 0) & (x <= 1)")
                return sympy.And(left, right) if op is ast.BitAnd else sympy.Or(left, right)
            if op not in _BINARY:
                raise self.fail(node, _HINTS.get(op, f"the operator {op.__name__} is not supported"))
            left, right = self.build(node.left, sub), self.build(node.right, sub)
            for v in (left, right):
                if not isinstance(v, sympy.Expr):
                    raise self.fail(node, "arithmetic on a condition or a tuple")
            if op is ast.Pow:
                return self.power(node, left, right)
            if op is ast.Div and right == 0:
                raise self.fail(node, "a division by zero")
            value = {ast.Add: lambda: left + right, ast.Sub: lambda: left - right,
                     ast.Mult: lambda: left * right, ast.Div: lambda: left / right}[op]()
            return self.checked(node, value)
        if isinstance(node, ast.Compare):
            if len(node.ops) != 1:
                raise self.fail(node, "chained comparisons are not supported: write (a < b) & (b < c)")
            cmp = type(node.ops[0])
            if cmp not in _COMPARE:
                raise self.fail(node, "use < <= > >= (or Eq(a, b), Ne(a, b))")
            left, right = self.build(node.left, sub), self.build(node.comparators[0], sub)
            if not all(isinstance(v, sympy.Expr) for v in (left, right)):
                raise self.fail(node, "comparisons are between numbers or expressions")
            return _COMPARE[cmp](left, right)
        if isinstance(node, ast.Tuple):
            return tuple(self.build(e, sub) for e in node.elts)
        if isinstance(node, ast.Call):
            return self.call(node, sub)
        names = {ast.Attribute: "attribute access", ast.Subscript: "a subscript", ast.Lambda: "a lambda",
                 ast.List: "a list", ast.Dict: "a dict", ast.Set: "a set", ast.JoinedStr: "an f-string",
                 ast.BoolOp: "'and'/'or' (write & or |)", ast.IfExp: "a conditional expression (use Piecewise)",
                 ast.NamedExpr: "an assignment", ast.Starred: "a starred argument"}
        what = next((v for k, v in names.items() if isinstance(node, k)), type(node).__name__)
        raise self.fail(node, f"{what} is not part of the expression language")

    def power(self, node: ast.AST, base: sympy.Expr, exp: sympy.Expr) -> sympy.Expr:
        if isinstance(exp, sympy.Rational):
            if abs(int(exp.p)) > MAX_EXPONENT or int(exp.q) > MAX_EXPONENT:
                raise self.fail(node, f"a numeric exponent beyond {MAX_EXPONENT}")
            if isinstance(base, sympy.Rational):
                # the size of base**exp before SymPy computes it
                bits = max(int(base.p).bit_length(), int(base.q).bit_length()) * abs(int(exp.p))
                if bits > MAX_BITS:
                    raise self.fail(node, f"a number of more than {MAX_BITS} bits")
                if base == 0 and exp < 0:
                    raise self.fail(node, "a division by zero")
        return self.checked(node, base ** exp)

    def call(self, node: ast.Call, sub: int) -> Any:
        if not isinstance(node.func, ast.Name):
            raise self.fail(node.func, "only the named functions may be called")
        name = node.func.id
        if name not in FUNCTIONS:
            known = ", ".join(sorted(FUNCTIONS))
            raise self.fail(node.func, f"unknown function {name!r}: use one of {known}")
        if node.keywords:
            raise self.fail(node, "keyword arguments are not supported")
        fn, lo, hi = FUNCTIONS[name]
        if not lo <= len(node.args) <= (hi if hi is not None else len(node.args)):
            want = f"{lo}" if lo == hi else (f"{lo} or more" if hi is None else f"{lo} to {hi}")
            raise self.fail(node, f"{name} takes {want} argument(s)")
        args = [self.build(a, sub) for a in node.args]
        if name == "Piecewise":
            pairs = []
            for a, raw in zip(args, node.args):
                if not (isinstance(a, tuple) and len(a) == 2 and isinstance(a[0], sympy.Expr)
                        and isinstance(a[1], (sympy.logic.boolalg.Boolean, sympy.core.relational.Relational))):
                    raise self.fail(raw, "Piecewise takes pairs (value, condition)")
                pairs.append(a)
            args = pairs
        elif any(isinstance(a, tuple) for a in args):
            raise self.fail(node, "tuples are only for the pairs of Piecewise")
        if name == "Rational":
            if not all(isinstance(a, sympy.Integer) for a in args):
                raise self.fail(node, "Rational takes integers, e.g. Rational(1, 3)")
            if len(args) == 2 and args[1] == 0:
                raise self.fail(node, "a division by zero")
            return self.checked(node, sympy.Rational(*args))
        if name in ("And", "Or", "Not") and not all(isinstance(a, sympy.logic.boolalg.Boolean) for a in args):
            raise self.fail(node, f"{name} takes conditions")
        try:
            value = fn(*args)
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise self.fail(node, f"{name} cannot take these arguments ({exc})") from None
        return self.checked(node, value)


_CAP = 10**12     # term counts saturate here (the bound is compared with MAX_TERMS only)


def _size(node: ast.AST) -> tuple[int, int]:
    """Upper bounds (terms, degree) of the polynomial the tree can expand to: terms add under
    + and multiply under *, a power of a t-term sum has at most C(n + t - 1, t - 1) terms; a
    function of the symbols is one opaque factor (one term, degree 1)."""
    if isinstance(node, ast.Constant):
        return 1, 0
    if isinstance(node, ast.Name):
        return 1, (0 if node.id in CONSTANTS else 1)
    if isinstance(node, ast.UnaryOp):
        return _size(node.operand)
    if isinstance(node, ast.BinOp):
        (ta, da), (tb, db) = _size(node.left), _size(node.right)
        if isinstance(node.op, (ast.Add, ast.Sub, ast.BitAnd, ast.BitOr)):
            return min(_CAP, ta + tb), max(da, db)
        if isinstance(node.op, (ast.Mult, ast.Div)):
            return min(_CAP, ta * tb), da + db
        if isinstance(node.op, ast.Pow):
            e = node.right
            if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub):
                e = e.operand
            if isinstance(e, ast.Constant) and isinstance(e.value, int) and not isinstance(e.value, bool):
                n = min(abs(e.value), MAX_EXPONENT)
                return min(_CAP, math.comb(n + ta - 1, ta - 1) if ta > 1 else 1), da * n
            return 1, (da * MAX_EXPONENT if da else 0)     # a symbolic exponent: one opaque factor
        return min(_CAP, ta * tb), da + db
    if isinstance(node, ast.Compare):
        parts = [_size(node.left), *(_size(c) for c in node.comparators)]
        return max(t for t, _ in parts), max(d for _, d in parts)
    if isinstance(node, (ast.Tuple, ast.Call)):
        items = node.elts if isinstance(node, ast.Tuple) else node.args
        parts = [_size(p) for p in items] or [(1, 0)]
        terms, degree = max(t for t, _ in parts), max(d for _, d in parts)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id not in (
                "Piecewise", "Max", "Min", "Abs", "abs", "Rational"):
            return 1, (1 if degree else 0)     # a transcendental function of the symbols: one opaque factor
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Piecewise":
            return min(_CAP, sum(t for t, _ in parts)), degree
        return terms, degree
    return 1, 0


def parse_expression(text: object, symbols: Mapping[str, sympy.Symbol] | Any, *, field: str) -> sympy.Expr:
    """Read an expression from untrusted text, safely.

    Parameters
    ----------
    text : str
        The expression, e.g. ``"(x*y - 1)**2 + y**2"`` or SymPy's printed form of an expression
        built from the whitelist (``str(expr)`` of any expression this module returns reads back).
    symbols : mapping of str to sympy.Symbol
        The symbols the text may use, by name.
    field : str, keyword-only
        The name of the field the text came from, for error messages (``"target.expr"``).

    Returns
    -------
    sympy.Expr
        A scalar expression (a condition or a tuple is refused).

    Raises
    ------
    InputError
        For anything outside the expression language, or beyond the size bounds, naming the field
        and the offending token.
    """
    if not isinstance(text, str):
        raise InputError(field, text, "give the expression as a string, e.g. \"x**2\"")
    if len(text) > MAX_CHARS:
        raise InputError(field, f"{len(text)} characters", f"at most {MAX_CHARS} characters")
    if not text.strip():
        raise InputError(field, text, "is empty: give an expression such as \"x**2\"")
    if "\x00" in text:
        raise InputError(field, text, "contains a NUL character")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        where = f" at column {exc.offset}" if exc.offset else ""
        raise InputError(field, text, f"is not an expression ({exc.msg}{where})") from None
    except (RecursionError, MemoryError, ValueError):
        raise InputError(field, text, f"nesting deeper than {MAX_DEPTH}") from None
    reader = _Reader(text.strip(), dict(symbols), field)
    try:
        terms, degree = _size(tree.body)
    except RecursionError:
        raise InputError(field, text, f"nesting deeper than {MAX_DEPTH}") from None
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id in reader.symbols}
    if degree > 0:
        terms = min(terms, math.comb(degree + len(used), len(used)))
    if terms > MAX_TERMS:
        raise InputError(field, text, f"could expand to more than {MAX_TERMS} monomials (degree up to {degree} "
                                      f"in {len(used)} symbols): lower the powers")
    try:
        value = reader.build(tree.body)
    except RecursionError:
        raise InputError(field, text, f"nesting deeper than {MAX_DEPTH}") from None
    if not isinstance(value, sympy.Expr):
        raise InputError(field, text, "must be a scalar expression, not a condition or a tuple")
    if value.has(*_NON_FINITE):
        raise InputError(field, text, "has a division by zero or an infinity in it")
    return value
