"""Files are data: a fuzz test of every file format the suite reads.

Problem, formula and instance files are generated from a grammar that mixes valid tables with
hostile and malformed values (code in expressions, wrong types, huge numbers, unknown keys,
invalid UTF-8, deep nesting); run records for ``verify report`` are mutated the same way. Each
must either load (exit 0) or fail with exit 2 and exactly one line on stderr: never a traceback,
never code execution (every injected payload would create a canary file, and the test checks that
none exists), never more than a few seconds, never a file written outside the output folder.

The oracle is the file system and the process: the canary, the exit code, the lines on stderr,
the clock and the tree of files.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verify.cli import main

ROOT = Path(__file__).resolve().parents[1]
SECONDS = 10.0          # "a few seconds" on a loaded 2-core CI machine
WORK = Path(tempfile.mkdtemp(prefix="verify-fuzz-"))
CANARY = WORK / "canary"
C = str(CANARY)

#: payloads that create the canary if anything evaluates them
CODE = [
    f"__import__('os').system('touch {C}')",
    f"open('{C}', 'w').write('x')",
    f"exec(\"open('{C}', 'w')\")",
    f"eval(\"__import__('os').system('touch {C}')\")",
    f"(lambda: __import__('os').system('touch {C}'))()",
    f"x + __import__('os').system('touch {C}')",
    f"x*0 + [open('{C}', 'w') for _ in (1,)][0]",
    f"getattr(__builtins__, 'open')('{C}', 'w')",
    f"sympify(\"__import__('os').system('touch {C}')\")",
    f"S(\"__import__('os').system('touch {C}')\")",
    f"exp(x).func.__globals__['__builtins__']['open']('{C}', 'w')",
    f"Piecewise((x, True)).__class__.__init__.__globals__['os'].system('touch {C}')",
    "().__class__.__base__.__subclasses__()",
    f"x; __import__('os').system('touch {C}')",
    f"import os; os.system('touch {C}')",
    f"Function('{C}')(x)",
    f"x if __import__('os').system('touch {C}') else x",
    f"(x := __import__('os').system('touch {C}'))",
]
#: valid expressions in x (1-D), x1, x2 (2-D) and the formula parameters a, b
EXPRS_1D = ["x**2", "x", "sin(x) + 1/3", "exp(-x)*x**3", "0.5*x - 1e-3", "Rational(1, 3)*x**2", "tanh(2*x)",
            "Piecewise((x, x > 0), (0, True))", "x**10 - 2*x**8 + 2*x**5 + 3*x**3 - 2*x**2 + 5", "Abs(x)"]
EXPRS_2D = ["x1**2 - x2", "x1*x2", "sin(x1) + cos(x2)"]
EXPRS_FORMULA = ["(a*b - 1)**2 + b**2", "log(1 + exp(-a))", "a**2 + b**4/4", "(a - 1)**2*(b + 2)**2",
                 "Piecewise((a**4/2 - 3*a**2 + 8, (a >= -2) & (a <= 2)), (a**2, True))"]
#: expressions that are too big or malformed
BAD_EXPRS = ["(x+1)**100000", "10**10**10", "x**(10**100)", "(" * 3000 + "x" + ")" * 3000, "x+" * 20000 + "x",
             "9" * 5000, "1e999999", "x^2", "x.real", "x[0]", "'x'", "1j*x", "x and 1", "lambda: x", "", "   ",
             "x**x**x**x**x**x**x**x", "(x1+x2+x1*x2)**150", "2**4000 * 3**4000", "Max(" + "x," * 3000 + "x)",
             "1/0", "log(0)", "x < 1", "(x, 1)", "\x00x", "x\n+1", "f(x)", "Integral(x, x)", "oo", "zoo*x"]
NUMBERS = ["1/2", "-1", "0.25", "3", "-7/3", "1e-3", "0"]
BAD_NUMBERS: list[Any] = ["1e999999999", "nan", "inf", "-inf", "1/0", "9" * 5000, "1/" + "9" * 5000, "half", "",
                          True, [], {}, 10 ** 30, -(10 ** 30), "0x10", "1_0", " 1 ", "1/2/3", "--1"]
HOSTILE_STRINGS = CODE + ["../../etc/passwd", "<script>alert(1)</script>", "\u202e", "a" * 100_000, "\ud7ff"]


def _deep(depth: int) -> str:
    """A placeholder for an array nested ``depth`` deep, expanded in the file's text."""
    return f"@DEEP{depth}@"


def _expand(text: str) -> str:
    for depth in (2, 50, 2000):
        for quoted in (f'"@DEEP{depth}@"',):
            text = text.replace(quoted, "[" * depth + "1" + "]" * depth)
    return text


hostile_values = st.one_of(
    st.sampled_from(BAD_NUMBERS), st.sampled_from(HOSTILE_STRINGS), st.sampled_from(BAD_EXPRS),
    st.integers(min_value=-(10 ** 40), max_value=10 ** 40), st.booleans(),
    st.builds(_deep, st.sampled_from([2, 50, 2000])), st.just({"nested": {"table": 1}}),
    st.lists(st.sampled_from(NUMBERS + BAD_NUMBERS[:6]), max_size=6),
)


@st.composite
def problem_docs(draw: st.DrawFn) -> dict[str, Any]:
    """A valid problem document (mutated afterwards by ``documents``)."""
    dim = draw(st.sampled_from([1, 1, 2]))
    doc: dict[str, Any] = {"network": {"widths": [dim, draw(st.integers(1, 4)), 1],
                                       "activation": draw(st.sampled_from(["tanh", "softplus", "relu", "gelu"]))}}
    if dim == 1:
        doc["data"] = draw(st.sampled_from([
            {"points": ["-1", "0", "1/2", "1"]}, {"grid": {"start": "-1", "stop": "1", "num": 9}},
            {"interval": ["0", "1"]}, {"sample": {"low": "-1", "high": "1", "num": 12, "seed": 3}}]))
        doc["target"] = {"expr": draw(st.sampled_from(EXPRS_1D))}
    else:
        doc["data"] = {"grid": {"start": "-1", "stop": "1", "num": draw(st.integers(1, 5))}}
        doc["target"] = {"expr": draw(st.sampled_from(EXPRS_2D))}
    if draw(st.booleans()):
        doc["loss"] = {"factor": draw(st.sampled_from(["1/2", "0.25", "3", "1"]))}
    d = dim * doc["network"]["widths"][1] + 2 * doc["network"]["widths"][1] + 1
    init = draw(st.sampled_from(["none", "theta", "scheme"]))
    if init == "theta":
        doc["init"] = {"theta": draw(st.lists(st.sampled_from(NUMBERS), min_size=d, max_size=d))}
    elif init == "scheme":
        doc["init"] = {"scheme": draw(st.sampled_from(["normal", "uniform", "xavier_uniform"])),
                       "seed": draw(st.integers(0, 9)), "ensemble": draw(st.integers(1, 50))}
    if draw(st.booleans()):
        doc["instance"] = {"theta0": draw(st.lists(st.sampled_from(NUMBERS), min_size=d, max_size=d)),
                           "params": {"step_size": draw(st.sampled_from(NUMBERS))}}
    return doc


@st.composite
def formula_docs(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = {"expression": {"loss": draw(st.sampled_from(EXPRS_FORMULA)), "params": ["a", "b"]}}
    if draw(st.booleans()):
        doc["instance"] = {"theta0": draw(st.lists(st.sampled_from(NUMBERS), min_size=2, max_size=2))}
    return doc


#: hostile replacements of particular fields (besides any field by any hostile value)
SPECIAL: dict[str, st.SearchStrategy[Any]] = {
    "expr": st.sampled_from(CODE + BAD_EXPRS), "loss": st.sampled_from(CODE + BAD_EXPRS),
    "params": st.sampled_from([["__import__"], ["exp"], ["a", "a"], ["a b"], ["_a"], ["class"], ["pi"], [], "a",
                               ["a" * 100], ["os", "sys"]]),
    "widths": st.sampled_from([[1, 10 ** 7, 1], [1, 0, 1], [1], [1] * 100, [1, -2, 1], ["1", 2, 1], [1, 2.5, 1]]),
    "num": st.sampled_from([10 ** 6, 10 ** 12, 0, [1000, 1000], [10 ** 6, 10 ** 6]]),
    "ensemble": st.sampled_from([10 ** 11, 10 ** 9, 0, -1]),
    "theta0": st.lists(st.sampled_from(NUMBERS), max_size=12), "theta": st.lists(st.sampled_from(NUMBERS), max_size=12),
}


def _fields(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value in the document."""
    out = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.append((*prefix, k))
            out += _fields(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out.append((*prefix, i))
            out += _fields(v, (*prefix, i))
    return out


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    """A valid document with 0 to 4 of its fields made hostile, and unknown keys now and then."""
    doc = copy.deepcopy(draw(st.one_of(problem_docs(), formula_docs())))   # drawn values are shared: copy
    if draw(st.integers(0, 2)) == 0:    # a third of all files carry code or an oversized expression
        table, key = ("target", "expr") if "target" in doc else ("expression", "loss")
        doc[table][key] = draw(st.sampled_from(CODE + BAD_EXPRS))
    for _ in range(draw(st.sampled_from([0, 0, 1, 1, 1, 2, 4]))):
        path = draw(st.sampled_from(_fields(doc)))
        node: Any = doc
        for key in path[:-1]:
            node = node[key]
        last = path[-1]
        special = SPECIAL.get(last) if isinstance(last, str) else None
        node[last] = copy.deepcopy(draw(special if special is not None and draw(st.booleans()) else hostile_values))
    if draw(st.integers(0, 6)) == 0:
        table = draw(st.sampled_from(sorted(k for k, v in doc.items() if isinstance(v, dict)) or ["extra"]))
        doc.setdefault(table, {})
        if isinstance(doc[table], dict):
            doc[table][draw(st.sampled_from(["unknown", "__class__", "expr2", "extra"]))] = copy.deepcopy(
                draw(hostile_values))
    if draw(st.integers(0, 6)) == 0:
        doc[draw(st.sampled_from(["name", "module", "import"]))] = copy.deepcopy(draw(hostile_values))
    return doc


def _toml_key(k: str) -> str:
    return k if k.replace("_", "").isalnum() and k.isascii() else _toml_str(k)


def _toml_str(s: str) -> str:
    out = []
    for ch in s:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        elif 0xD800 <= ord(ch) <= 0xDFFF:
            out.append("?")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "nan" if v != v else ("inf" if v == float("inf") else "-inf" if v == float("-inf") else repr(v))
    if isinstance(v, str):
        return _toml_str(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(type(v))


def to_toml(doc: dict[str, Any]) -> str:
    lines = [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in doc.items() if not isinstance(v, dict)]
    for k, v in doc.items():
        if isinstance(v, dict):
            lines.append(f"[{_toml_key(k)}]")
            lines += [f"{_toml_key(kk)} = {_toml_value(vv)}" for kk, vv in v.items()]
    return "\n".join(lines) + "\n"


@st.composite
def file_bytes(draw: st.DrawFn) -> bytes:
    raw = _expand(to_toml(draw(documents()))).encode("utf-8")
    mutation = draw(st.integers(0, 14))
    if mutation == 0:      # invalid UTF-8 somewhere
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x80\x80"])) + raw[at:]
    elif mutation == 1:    # truncated
        raw = raw[:draw(st.integers(0, len(raw)))]
    elif mutation == 2:    # deeply nested TOML arrays
        raw += b"deep = " + b"[" * 5000 + b"1" + b"]" * 5000 + b"\n"
    return raw


def _run_cli(argv: list[str]) -> tuple[int, str, str, float]:
    out, err = io.StringIO(), io.StringIO()
    began = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(argv)       # an exception escaping here is a traceback: the test fails with it
    return rc, out.getvalue(), err.getvalue(), time.perf_counter() - began


def _assert_clean(rc: int, err: str, elapsed: float, what: str) -> None:
    assert not CANARY.exists(), f"code in {what} was executed"
    assert rc in (0, 2), f"exit {rc} on {what}: {err}"
    if rc == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("verify: error: "), f"not one line: {err!r}"
    assert "Traceback" not in err
    assert elapsed < SECONDS, f"{what} took {elapsed:.1f} s"


@settings(max_examples=int(os.environ.get("VERIFY_FUZZ_EXAMPLES", "200")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(file_bytes())
def test_input_files_load_or_fail_in_one_line(raw: bytes) -> None:
    path = WORK / "input.toml"
    path.write_bytes(raw)
    rc, _, err, elapsed = _run_cli(["validate", str(path)])
    _assert_clean(rc, err, elapsed, "verify validate")


def test_the_issue_files_cannot_run_code() -> None:
    """The two injections of issue 13, through the real command line (a fresh process)."""
    problem = WORK / "inject-problem.toml"
    problem.write_text(f"[network]\nwidths = [1, 2, 1]\nactivation = \"tanh\"\n[data]\npoints = [\"0\", \"1\"]\n"
                       f"[target]\nexpr = \"__import__('os').system('touch {C}')\"\n", encoding="utf-8")
    formula = WORK / "inject-formula.toml"
    formula.write_text(f"[expression]\nloss = \"__import__(\\\"os\\\").system(\\\"touch {C}\\\") + x**2\"\n"
                       f"params = [\"x\"]\n", encoding="utf-8")
    for argv in (["landscape", str(problem)], ["critical", str(formula)], ["check", "gd_map_nonsingular",
                                                                         "--problem", str(formula)]):
        proc = subprocess.run([sys.executable, "-m", "verify", *argv], capture_output=True, text=True, timeout=120,
                              cwd=WORK, check=False)
        assert not CANARY.exists(), argv
        assert proc.returncode == 2, (argv, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1 and "only the named functions" in proc.stderr, proc.stderr


def test_resource_limits_are_input_errors() -> None:
    """An ensemble of 1e11 members, 1e8 digits and a theta0 of the wrong length: exit 2, one line, at once."""
    base = ("[network]\nwidths = [1, 2, 1]\nactivation = \"tanh\"\n[data]\npoints = [\"0\", \"1\"]\n"
            "[target]\nexpr = \"x\"\n")
    cases = {
        "ensemble": (base + "[init]\nscheme = \"normal\"\nensemble = 100000000000\n", ["flow"], "init.ensemble"),
        "dps": (base, ["landscape", "--dps", "100000000"], "at most 10000"),
        "theta0": (base + "[instance]\ntheta0 = [\"1\", \"2\"]\n", ["check", "flow_converges_or_diverges"],
                   "give exactly 7"),
    }
    for name, (text, argv, needle) in cases.items():
        path = WORK / f"limit-{name}.toml"
        path.write_text(text, encoding="utf-8")
        full = [*argv, str(path)] if argv[0] != "check" else [*argv, "--problem", str(path), "--out", str(WORK)]
        rc, _, err, elapsed = _run_cli(full)
        assert rc == 2 and needle in err and len(err.strip().splitlines()) == 1, (name, err)
        assert elapsed < SECONDS


# -------------------------------------------------------------------------------------------
# run records read by `verify report`
# -------------------------------------------------------------------------------------------

def _valid_record() -> dict[str, Any]:
    return {
        "schema": 1, "claim": "quadratic_flow_decreases", "verdict": "consistent", "reason": "no counterexample",
        "instances": 3, "undecided": 0, "rejected": 0, "seed": None, "wall_s": 0.5,
        "evidence": [{"instance": {"name": "quadratic", "theta0": ["1"]}, "margin": "0.5", "summary": "ok",
                      "evidence": {"series": {"t": [0.0, 1.0], "loss": [1.0, 0.5]}, "outcome": "converged"},
                      "cost_s": 0.1}],
        "claim_info": {"id": "quadratic_flow_decreases", "title": "t", "statement": "s", "source": "src",
                       "hypotheses": ["h"], "method": "m"},
        "profile": {"name": "quick", "dps": 25, "derandomize": True},
        "provenance": {"verify": "0.1.0", "git_commit": None},
        "counterexample": None,
    }


_PATHS = [("claim",), ("verdict",), ("reason",), ("instances",), ("evidence",), ("evidence", 0),
          ("evidence", 0, "evidence"), ("evidence", 0, "evidence", "series"),
          ("evidence", 0, "evidence", "series", "t"),
          ("evidence", 0, "margin"), ("evidence", 0, "instance"), ("claim_info",), ("claim_info", "hypotheses"),
          ("claim_info", "statement"), ("profile",), ("profile", "dps"), ("provenance",), ("wall_s",),
          ("counterexample",), ("seed",), ("schema",)]

record_values = st.one_of(hostile_values, st.just(None), st.floats(allow_nan=True), st.just("../../outside"),
                          st.just({"confirmed": True, "instance_toml": "[network]\nwidths = [1]\n",
                                   "judgement": {"summary": "x\n[injected]"}, "confirmations": [1, 2]}))


@st.composite
def record_lines(draw: st.DrawFn) -> bytes:
    rec = _valid_record()      # a fresh dict each time
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_PATHS))
        node: Any = rec
        try:
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = copy.deepcopy(draw(record_values))   # st.just shares one object: no cycles
        except (KeyError, IndexError, TypeError):
            pass
    text = _expand(json.dumps(rec))
    mutation = draw(st.integers(0, 7))
    if mutation == 0:
        text = "[" * 100_000 + "]" * 100_000
    elif mutation == 1:
        text = text[: draw(st.integers(0, len(text)))]
    return text.encode("utf-8") + b"\n"


@settings(max_examples=int(os.environ.get("VERIFY_FUZZ_EXAMPLES", "200")) // 2, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(record_lines())
def test_run_records_render_or_fail_in_one_line(raw: bytes) -> None:
    area = Path(tempfile.mkdtemp(dir=WORK))
    run_file = area / "run.jsonl"
    run_file.write_bytes(raw)
    out = area / "out"
    before = {p for p in WORK.rglob("*")}
    rc, _, err, elapsed = _run_cli(["report", str(run_file), "--out", str(out)])
    _assert_clean(rc, err, elapsed, "verify report")
    new = {p for p in WORK.rglob("*")} - before
    outside = [p for p in new if out not in p.parents and p != out]
    assert not outside, f"the report wrote outside its folder: {outside}"
