r"""Reports of theorem checks, rendered from run records alone.

A run file holds one JSON line per checked claim (:meth:`CheckResult.record`, plus a ``run``
table written by ``verify run``). :func:`render_report` turns such a file into a folder::

    OUT/index.html, OUT/index.md         the verdict table (claim, source, verdict, instances, time)
    OUT/claims/ID.html, OUT/claims/ID.md one page per claim: statement, hypotheses, method and
                                         tolerances, counterexample with its replay command,
                                         figures, per-instance evidence, provenance
    OUT/claims/ID/                       figures (PNG) with the data they were drawn from (CSV),
                                         all evidence (JSON), the counterexample's instance file
    OUT/runs/NAME.jsonl                  the records the report was rendered from

Nothing else enters the report: no clock, no file system state, no network. The same records
give byte-identical files (the PNGs carry no software or date metadata; matplotlib's style is
reset to its defaults while drawing). When a file holds several records of one claim (e.g.
``verify check`` appending to ``checks.jsonl``), the last one is shown.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
import re
import shlex
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from ..errors import InputError

__all__ = ["read_records", "render_report", "RenderedReport", "VERDICT_TEXT"]

SCHEMA = 1
MANIFEST = ".verify-report-files"
MAX_LINES = 50          # trajectories drawn per figure (the CSV holds all of them)
MAX_COLUMNS = 8         # scalar evidence columns in the per-instance table
DPI = 100

VERDICT_TEXT = {
    "consistent": "no counterexample among the instances judged; not a proof",
    "counterexample": "a violation found, shrunk, and confirmed at two higher precisions",
    "inconclusive": "undecided, with the reason (a float64 violation that did not survive the higher "
                    "precision is never a counterexample)",
    "not_applicable": "the given instance violates a hypothesis",
}
_VERDICT_ORDER = ("counterexample", "inconclusive", "consistent", "not_applicable")
_REQUIRED = ("claim", "verdict", "reason", "instances", "evidence", "claim_info", "profile", "wall_s")


# ---------------------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------------------

def read_records(path: str | Path) -> list[dict[str, Any]]:
    """The records of a run file (JSON lines), validated.

    Raises
    ------
    InputError
        The file is missing, a line is not JSON, or a record lacks the keys of a check record.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError("RUNFILE", str(path), "no such file: give a run file such as reports/runs/NAME.jsonl")
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError("RUNFILE", str(path), f"cannot be read ({exc})") from None
    records = []
    for k, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except RecursionError:
            raise InputError("RUNFILE", f"{path}:{k}", f"line {k} nests too deeply: give a run file written "
                                                       "by verify run or verify check") from None
        except (json.JSONDecodeError, ValueError) as exc:
            msg = getattr(exc, "msg", str(exc))
            raise InputError("RUNFILE", f"{path}:{k}", f"line {k} is not JSON ({msg}): give a run file written "
                                                       "by verify run or verify check") from None
        if not isinstance(rec, dict):
            raise InputError("RUNFILE", f"{path}:{k}", "each line must be a JSON object (a check record)")
        missing = [key for key in _REQUIRED if key not in rec]
        if missing:
            raise InputError("RUNFILE", f"{path}:{k}", f"the record lacks {', '.join(missing)}: give a run file "
                                                       "written by verify run or verify check")
        if rec.get("schema", SCHEMA) != SCHEMA:
            raise InputError("RUNFILE", f"{path}:{k}", f"record schema {rec.get('schema')!r} is not {SCHEMA}: "
                                                       "render it with the verify version that wrote it")
        problem = _record_problem(rec)
        if problem:
            raise InputError("RUNFILE", f"{path}:{k}", f"{problem}: give a run file written by verify run or "
                                                       "verify check")
        records.append(rec)
    return records


_NUMBER = (int, float)
#: the JSON types of a record's fields (None allowed where the writer writes null)
_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "claim": (str,), "verdict": (str,), "reason": (str,), "instances": (int,), "undecided": (int,),
    "rejected": (int,), "evidence": (list,), "claim_info": (dict,), "profile": (dict, str), "wall_s": _NUMBER,
    "counterexample": (dict, type(None)), "provenance": (dict, type(None)), "run": (dict, type(None)),
    "seed": (int, type(None)),
}
_CX_TYPES: dict[str, tuple[type, ...]] = {
    "instance": (dict,), "instance_toml": (str,), "judgement": (dict,), "confirmations": (list,),
    "confirmed": (bool,), "file": (str, type(None)), "replay": (str, type(None)),
}


def _record_problem(rec: dict[str, Any]) -> str | None:
    """What is wrong with the shape of a check record, or None (records are untrusted data)."""
    for key, types in _FIELD_TYPES.items():
        if key in rec and (not isinstance(rec[key], types) or (isinstance(rec[key], bool) and bool not in types)):
            return f"the record's {key!r} is a {type(rec[key]).__name__}"
    if rec["verdict"] not in VERDICT_TEXT:
        return f"the record's verdict {rec['verdict'][:40]!r} is not one of {', '.join(VERDICT_TEXT)}"
    if not rec["claim"] or len(rec["claim"]) > 200:
        return "the record's claim id must have 1 to 200 characters"
    if not all(isinstance(e, dict) for e in rec["evidence"]):
        return "the record's evidence must be a list of objects"
    info = rec["claim_info"]
    for key in ("title", "statement", "source", "method"):
        if key in info and not isinstance(info[key], str):
            return f"the record's claim_info.{key} is a {type(info[key]).__name__}"
    if "hypotheses" in info and not (isinstance(info["hypotheses"], list)
                                     and all(isinstance(h, str) for h in info["hypotheses"])):
        return "the record's claim_info.hypotheses must be a list of strings"
    cx = rec.get("counterexample")
    if isinstance(cx, dict):
        for key, types in _CX_TYPES.items():
            if key in cx and not isinstance(cx[key], types):
                return f"the record's counterexample.{key} is a {type(cx[key]).__name__}"
        if not all(isinstance(c, dict) for c in cx.get("confirmations") or []):
            return "the record's counterexample.confirmations must be a list of objects"
    for key in ("provenance", "run", "profile"):
        value = rec.get(key)
        if isinstance(value, dict) and not all(isinstance(v, (str, int, float, bool, type(None), list))
                                               for v in value.values()):
            return f"the record's {key} must map names to plain values"
    return None


def _latest_per_claim(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The last record of each claim, in the order the claims first appear."""
    order: list[str] = []
    last: dict[str, dict[str, Any]] = {}
    for rec in records:
        cid = str(rec["claim"])
        if cid not in last:
            order.append(cid)
        last[cid] = rec
    return [last[c] for c in order]


# ---------------------------------------------------------------------------------------
# Formatting helpers
# ---------------------------------------------------------------------------------------

def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _float(v: Any) -> float:
    """A recorded number as a float (decimal strings, 'inf'; anything else: nan)."""
    if isinstance(v, bool) or v is None:
        return math.nan
    if isinstance(v, (int, float)):
        return float(v)
    try:
        text = str(v)
        if "/" in text:
            num, den = text.split("/", 1)
            return float(num) / float(den)
        return float(text)
    except (ValueError, ZeroDivisionError, OverflowError):
        return math.nan


def _num(v: Any) -> str:
    """A number for a table: floats to 6 significant digits, recorded text as it is."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def _short(v: Any, width: int = 60) -> str:
    text = v if isinstance(v, str) else json.dumps(v, sort_keys=True)
    return text if len(text) <= width else text[: width - 3] + "..."


def _seconds(v: Any) -> str:
    f = _float(v)
    return "" if math.isnan(f) else f"{f:.1f} s"


_MATHML_TAGS = frozenset({"math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msub", "msup", "msubsup",
                          "mfrac", "msqrt", "mroot", "mover", "munder", "munderover", "mtable", "mtr", "mtd",
                          "mstyle", "mpadded", "mphantom", "menclose", "semantics", "annotation"})
_MATHML_ATTRS = frozenset({"display", "mathvariant", "stretchy", "fence", "separator", "lspace", "rspace",
                           "accent", "accentunder", "movablelimits", "largeop", "symmetric", "minsize", "maxsize",
                           "displaystyle", "scriptlevel", "columnalign", "rowspacing", "columnspacing", "width",
                           "height", "depth", "notation", "linethickness", "form", "encoding"})
_MATH = re.compile(r"(?<!\\)\$(.+?)(?<!\\)\$", re.S)


def _mathml(latex: str) -> str | None:
    """MathML of one LaTeX formula (latex2mathml), sanitized: only MathML elements and
    presentation attributes survive (no links, no scripts, no foreign markup); None if the
    formula cannot be converted."""
    import xml.etree.ElementTree as ET

    import latex2mathml.converter

    try:
        raw = latex2mathml.converter.convert(latex)
        root = ET.fromstring(raw)
    except Exception:   # any failure of a third-party converter: show the LaTeX instead
        return None
    ns = "{http://www.w3.org/1998/Math/MathML}"
    for el in root.iter():
        tag = el.tag[len(ns):] if el.tag.startswith(ns) else el.tag
        if tag not in _MATHML_TAGS:
            return None
        el.tag = tag
        for key in list(el.attrib):
            if key not in _MATHML_ATTRS:
                del el.attrib[key]
    root.set("xmlns", "http://www.w3.org/1998/Math/MathML")
    return ET.tostring(root, encoding="unicode", short_empty_elements=False)


def _math_html(text: str) -> str:
    """Text with ``$...$`` formulas: the text escaped, each formula as MathML (rendered by the
    browser, no network), or as escaped LaTeX in <code> where it cannot be converted."""
    out, pos = [], 0
    for m in _MATH.finditer(text):
        out.append(_e(text[pos:m.start()]))
        mathml = _mathml(m.group(1))
        out.append(mathml if mathml is not None else f"<code>{_e(m.group(0))}</code>")
        pos = m.end()
    out.append(_e(text[pos:]))
    return "".join(out)


def _slug(cid: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_.-]", "_", cid).strip(".") or "claim"
    slug, k = base, 2
    while slug.lower() in taken:
        slug, k = f"{base}-{k}", k + 1
    taken.add(slug.lower())
    return slug


def _is_scalar(v: Any) -> bool:
    return v is None or isinstance(v, (str, int, float, bool))


def _instance_text(inst: Any) -> str:
    if not isinstance(inst, dict):
        return _short(inst)
    parts = [str(inst.get("name", "instance"))]
    if "loss" in inst:
        parts.append(f"L = {inst['loss']}")
    if "network" in inst and isinstance(inst["network"], dict):
        net = inst["network"]
        parts.append("-".join(str(w) for w in net.get("widths", [])) + f" {net.get('activation', '')}".rstrip())
    if "theta0" in inst:
        parts.append("theta0 = (" + ", ".join(str(v) for v in inst["theta0"]) + ")")
    if inst.get("params"):
        parts.append(", ".join(f"{k} = {v}" for k, v in sorted(inst["params"].items())))
    return "; ".join(parts)


# ---------------------------------------------------------------------------------------
# Figures (matplotlib, drawn without pyplot so that no global state changes)
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Figure:
    png: str          # file name inside the claim's folder
    data: str         # the data it was drawn from
    title: str
    caption: str


def _mpl() -> Any:
    try:
        import matplotlib
        import matplotlib.style
    except ImportError:  # pragma: no cover - depends on the environment
        raise InputError("report", "matplotlib", "is not installed: pip install 'verify[plot]'") from None
    return matplotlib


def _save(fig: Any, path: Path) -> None:
    fig.savefig(path, dpi=DPI, metadata={"Software": None}, format="png")


def _draw(draw: Any, path: Path, figsize: tuple[float, float]) -> None:
    mpl = _mpl()
    from matplotlib.figure import Figure

    rc = {"svg.hashsalt": "verify-report", "font.size": 9, "axes.titlesize": 10, "figure.dpi": DPI,
          "savefig.dpi": DPI, "lines.linewidth": 0.9}
    with mpl.style.context("default"), mpl.rc_context(rc):
        fig = Figure(figsize=figsize, layout="constrained")
        draw(fig)
        _save(fig, path)


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for row in rows:
        w.writerow([repr(v) if isinstance(v, float) else ("" if v is None else v) for v in row])
    path.write_text(buf.getvalue(), encoding="utf-8")


_SERIES_KEYS = (("loss", "loss L"), ("theta_norm", "|theta|"), ("grad_norm", "|grad L|"))


def _series_figure(items: list[tuple[str, dict[str, Any]]], folder: Path) -> _Figure | None:
    rows: list[list[Any]] = []
    lines: list[tuple[str, list[float], dict[str, list[float]]]] = []
    for label, s in items:
        t = s.get("t") if isinstance(s, dict) else None
        if not isinstance(t, list):
            continue
        cols = {key: list(s.get(key) or []) for key, _ in _SERIES_KEYS}
        for k, tk in enumerate(t):
            rows.append([label, tk] + [cols[key][k] if k < len(cols[key]) else None for key, _ in _SERIES_KEYS])
        lines.append((label, [_float(v) for v in t], {key: [_float(v) for v in cols[key]] for key in cols}))
    if not lines:
        return None
    _write_csv(folder / "trajectories.csv", ["instance", "t", "loss", "theta_norm", "grad_norm"], rows)
    drawn = [ln for ln in lines if ln[0] != "counterexample"][:MAX_LINES]
    cx = [ln for ln in lines if ln[0] == "counterexample"]

    def draw(fig: Any) -> None:
        axes = fig.subplots(1, 3)
        for label, ts, cols in drawn + cx:
            for ax, (key, _) in zip(axes, _SERIES_KEYS):
                pts = [(a, b) for a, b in zip(ts, cols[key]) if a > 0 and b > 0 and math.isfinite(a * b)]
                if not pts:
                    continue
                xs, ys = zip(*pts)
                if label == "counterexample":
                    ax.plot(xs, ys, color="black", lw=2.0, label="counterexample", zorder=3)
                else:
                    ax.plot(xs, ys, alpha=0.7)
        for ax, (_, name) in zip(axes, _SERIES_KEYS):
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("t")
            ax.set_title(name)
            ax.grid(True, which="both", alpha=0.3)
        if cx:
            axes[0].legend(loc="best", fontsize=8)

    _draw(draw, folder / "trajectories.png", (11.0, 3.4))
    n = len(lines) - len(cx)
    shown = f"the first {len(drawn)} of {n}" if n > len(drawn) else f"{n}"
    caption = (f"Loss, |theta| and |grad L| against t on log axes: {shown} judged instances"
               + ("; the counterexample in black" if cx else "")
               + ". Points with t <= 0 or a value <= 0 cannot be drawn on log axes and are left out "
                 "(they are in the data).")
    return _Figure("trajectories.png", "trajectories.csv", "Trajectories", caption)


def _spectrum_values(spec: Any) -> list[Any]:
    if isinstance(spec, dict):
        spec = spec.get("eigenvalues", spec.get("values", []))
    out: list[Any] = []
    for v in spec if isinstance(spec, list) else [spec]:
        out.extend(_spectrum_values(v) if isinstance(v, (list, dict)) else [v])
    return out


def _spectrum_figure(items: list[tuple[str, Any]], folder: Path) -> _Figure | None:
    rows: list[list[Any]] = []
    pts: list[tuple[int, float, bool]] = []
    labels: list[str] = []
    for label, spec in items:
        vals = _spectrum_values(spec)
        if not vals:
            continue
        labels.append(label)
        x = len(labels)
        for k, v in enumerate(vals):
            rows.append([label, k, v])
            f = _float(v)
            if math.isfinite(f):
                pts.append((x, f, label == "counterexample"))
    if not rows:
        return None
    _write_csv(folder / "spectra.csv", ["instance", "k", "eigenvalue"], rows)
    nonzero = [abs(f) for _, f, _ in pts if f != 0]
    linthresh = min(1.0, max(1e-12, min(nonzero))) if nonzero else 1.0

    from matplotlib.ticker import MaxNLocator

    def draw(fig: Any) -> None:
        ax = fig.subplots(1, 1)
        for flag, color, size in ((False, "tab:blue", 14), (True, "black", 30)):
            sel = [(x, f) for x, f, c in pts if c == flag]
            if sel:
                xs, ys = zip(*sel)
                ax.scatter(xs, ys, s=size, color=color, label="counterexample" if flag else None, zorder=3)
        ax.axhline(0.0, color="grey", lw=0.8)
        ax.set_yscale("symlog", linthresh=linthresh)
        ax.margins(x=0.05, y=0.08)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("instance (as in the evidence table)")
        ax.set_ylabel("Hessian eigenvalue")
        ax.grid(True, which="major", alpha=0.3)
        if any(c for _, _, c in pts):
            ax.legend(loc="best", fontsize=8)

    _draw(draw, folder / "spectra.png", (8.0, 3.4))
    caption = (f"Hessian spectra of {len(labels)} instances, one column each (symmetric log axis, linear within "
               f"+-{linthresh:.3g}).")
    return _Figure("spectra.png", "spectra.csv", "Hessian spectra", caption)


def _outcome_figure(outcomes: list[str], folder: Path) -> _Figure | None:
    if not outcomes:
        return None
    from matplotlib.ticker import MaxNLocator

    counts = sorted(Counter(outcomes).items(), key=lambda kv: (-kv[1], kv[0]))
    _write_csv(folder / "outcomes.csv", ["outcome", "count"], counts)

    def draw(fig: Any) -> None:
        ax = fig.subplots(1, 1)
        ax.bar(range(len(counts)), [c for _, c in counts], color="tab:blue")
        ax.set_xticks(range(len(counts)), [_short(k, 24) for k, _ in counts], rotation=20, ha="right")
        ax.set_ylabel("instances")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, axis="y", alpha=0.3)

    _draw(draw, folder / "outcomes.png", (max(4.0, min(9.0, 1.2 * len(counts) + 2)), 3.2))
    caption = f"Outcomes over {len(outcomes)} judged instances (initializations): " + ", ".join(
        f"{k} {c}" for k, c in counts) + "."
    return _Figure("outcomes.png", "outcomes.csv", "Outcomes", caption)


def _figures(rec: dict[str, Any], folder: Path) -> list[_Figure]:
    evidence = [e for e in rec.get("evidence") or [] if isinstance(e, dict)]
    cx = rec.get("counterexample") or {}
    cx_ev = ((cx.get("judgement") or {}).get("evidence") or {}) if cx.get("confirmed") else {}
    ev_of = [(str(k), (e.get("evidence") or {})) for k, e in enumerate(evidence, 1)]
    series = [(k, ev["series"]) for k, ev in ev_of if isinstance(ev, dict) and "series" in ev]
    spectra = [(k, ev["spectrum"]) for k, ev in ev_of if isinstance(ev, dict) and "spectrum" in ev]
    if isinstance(cx_ev, dict) and "series" in cx_ev:
        series.append(("counterexample", cx_ev["series"]))
    if isinstance(cx_ev, dict) and "spectrum" in cx_ev:
        spectra.append(("counterexample", cx_ev["spectrum"]))
    outcomes = [str(ev["outcome"]) for _, ev in ev_of if isinstance(ev, dict) and ev.get("outcome") is not None]
    figs = [_series_figure(series, folder), _spectrum_figure(spectra, folder), _outcome_figure(outcomes, folder)]
    return [f for f in figs if f is not None]


# ---------------------------------------------------------------------------------------
# Pages
# ---------------------------------------------------------------------------------------

_CSS = """
body{font-family:-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;margin:0;color:#1d1d1f;
background:#fff;line-height:1.45;font-size:15px}
main{max-width:72rem;margin:0 auto;padding:1rem 1.5rem 3rem}
h1{font-size:1.5rem;margin:.6rem 0}h2{font-size:1.2rem;margin-top:1.8rem;border-bottom:1px solid #ddd}
h3{font-size:1.05rem}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
th,td{border:1px solid #d6d6d6;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.scroll{overflow-x:auto;max-width:100%}
pre,code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85rem}
pre{background:#f6f8fa;padding:.6rem;overflow-x:auto;white-space:pre-wrap;word-break:break-word}
.v{display:inline-block;padding:.05rem .45rem;border-radius:.3rem;font-weight:600;font-size:.85rem}
.v-consistent{background:#dff3e3;color:#135d24}.v-counterexample{background:#fbe0e0;color:#8a1414}
.v-inconclusive{background:#fff1cc;color:#6b4b00}.v-not_applicable{background:#e8e8e8;color:#333}
tr.viol td{background:#fff4f4}
figure{margin:1rem 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.85rem;color:#444}
.muted{color:#666;font-size:.85rem}
nav{font-size:.9rem;margin-top:.5rem}
""".strip()


def _page(title: str, body: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{_e(title)}</title>\n<style>\n{_CSS}\n</style>\n</head>\n<body>\n<main>\n{body}</main>\n"
            "</body>\n</html>\n")


def _badge(verdict: str) -> str:
    return f"<span class=\"v v-{_e(verdict)}\">{_e(verdict)}</span>"


def _md_cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _provenance_rows(rec: dict[str, Any]) -> list[tuple[str, str]]:
    prov = rec.get("provenance") or {}
    prof = rec.get("profile") or {}
    run = rec.get("run") or {}
    rows: list[tuple[str, str]] = []
    if run:
        rows.append(("run", f"{run.get('id', '')} (started {run.get('started', '?')})"))
        if run.get("command"):
            rows.append(("command", str(run["command"])))
    rows.append(("git commit", _commit_text(prov, run)))
    if isinstance(prof, dict):
        rows.append(("profile", ", ".join(f"{k} {_num(v)}" for k, v in prof.items())))
    else:
        rows.append(("profile", str(prof)))
    seed = rec.get("seed")
    rows.append(("seed", "derandomized" if seed is None and isinstance(prof, dict) and prof.get("derandomize")
                 else str(0 if seed is None else seed)))
    rows.append(("wall time", _seconds(rec.get("wall_s"))))
    pkgs = ", ".join(f"{k} {v}" for k, v in prov.items() if k not in ("git_commit", "platform", "python"))
    rows.append(("packages", pkgs))
    rows.append(("python", f"{prov.get('python', '?')} on {prov.get('platform', '?')}"))
    return rows


def _commit_text(prov: dict[str, Any], run: dict[str, Any]) -> str:
    commit = prov.get("git_commit") or run.get("workdir_git_commit")
    if not commit:
        return "unknown"
    if run.get("workdir_git_dirty") and run.get("workdir_git_commit") == commit:
        return f"{commit} (with uncommitted changes)"
    return str(commit)


def _provenance_html(rec: dict[str, Any]) -> str:
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>\n" for k, v in _provenance_rows(rec))
    return f"<h2>Provenance</h2>\n<div class=\"scroll\"><table>\n{rows}</table></div>\n"


def _provenance_md(rec: dict[str, Any]) -> str:
    rows = "".join(f"| {k} | {_md_cell(v)} |\n" for k, v in _provenance_rows(rec))
    return f"## Provenance\n\n| | |\n|---|---|\n{rows}\n"


def _profile_text(prof: Any) -> str:
    if not isinstance(prof, dict):
        return f"profile {prof}"
    dps = prof.get("dps")
    return (f"profile {prof.get('name', '?')}: up to {prof.get('max_examples', '?')} instances drawn by Hypothesis "
            f"(shrinking budget {_num(prof.get('shrink_seconds'))} s), horizons x{_num(prof.get('horizon'))}; "
            f"a float64 violation is confirmed at {dps} and {2 * dps if isinstance(dps, int) else '?'} digits "
            f"before it is reported as a counterexample; per-instance evidence kept for the first "
            f"{prof.get('max_evidence', '?')} instances.")


@dataclass(frozen=True)
class _ClaimDoc:
    rec: dict[str, Any]
    slug: str
    figures: tuple[_Figure, ...]
    cx_file: str | None          # the counterexample's instance file inside the claim folder
    columns: tuple[str, ...]


def _evidence_columns(evidence: Sequence[dict[str, Any]]) -> tuple[str, ...]:
    cols: list[str] = []
    for e in evidence:
        ev = e.get("evidence") or {}
        if not isinstance(ev, dict):
            continue
        for k, v in ev.items():
            if k not in cols and k not in ("series", "spectrum") and _is_scalar(v):
                cols.append(k)
    return tuple(cols[:MAX_COLUMNS])


def _cx_block(doc: _ClaimDoc, *, md: bool) -> str:
    rec = doc.rec
    cx = rec.get("counterexample")
    if not cx:
        return ""
    cid = str(rec["claim"])
    confirmed = bool(cx.get("confirmed"))
    head = "Counterexample" if confirmed else "Candidate violation (not confirmed: not a counterexample)"
    j = cx.get("judgement") or {}
    confs = cx.get("confirmations") or []
    local = f"claims/{doc.slug}/{doc.cx_file}" if doc.cx_file else None
    replays = []
    if cx.get("replay"):
        replays.append(("as recorded (from the directory the run started in)", str(cx["replay"])))
    if local:
        ref = cid
        try:
            words = shlex.split(str(cx.get("replay") or ""))
        except ValueError:
            words = []
        if len(words) > 2 and words[:2] == ["verify", "check"]:
            ref = words[2]   # how the run named the claim: an id of theorems/ or FILE.py::ID
        replays.append(("from this report's folder", shlex.join(["verify", "check", ref, "--problem", local])))
    note = str(cx.get("note") or "")
    attempts = [a for a in cx.get("attempts") or [] if isinstance(a, dict)]

    def digits(c: dict[str, Any]) -> str:
        return "exact" if c.get("dps") == 0 else str(c.get("dps"))

    if md:
        out = [f"## {head}\n", f"float64 judgement: {j.get('summary', '')} (margin {j.get('margin')})\n"]
        if note:
            out.append(f"Note: this instance was {note}.\n")
        if confs:
            out.append("| digits | margin | summary |\n|---|---|---|")
            out.extend(f"| {digits(c)} | {_md_cell(c.get('margin'))} | {_md_cell(c.get('summary', ''))} |"
                       for c in confs)
            out.append("")
        if len(attempts) > 1:
            out.append("Candidates the engine tried to confirm, in order:\n")
            out.extend(f"{k}. {_md_cell(_instance_text(a.get('instance')))}: float64 margin "
                       f"{_md_cell(a.get('float64_margin'))}; "
                       + ("confirmed" if a.get("confirmed") else f"not confirmed: {_md_cell(a.get('why', ''))}")
                       for k, a in enumerate(attempts, 1))
            out.append("")
        if doc.cx_file:
            out.append(f"Instance file: [{doc.cx_file}]({doc.slug}/{doc.cx_file})\n")
        out.append("```toml\n" + str(cx.get("instance_toml", "")).rstrip() + "\n```\n")
        for label, cmd in replays:
            out.append(f"Replay, {label}:\n\n```bash\n{cmd}\n```\n")
        return "\n".join(out) + "\n"
    out = [f"<h2>{_e(head)}</h2>",
           f"<p>float64 judgement: {_e(j.get('summary', ''))} (margin <code>{_e(j.get('margin'))}</code>)</p>"]
    if note:
        out.append(f"<p>Note: this instance was {_e(note)}.</p>")
    if confs:
        rows = "".join(f"<tr><td class=\"num\">{_e(digits(c))}</td><td class=\"num\">{_e(c.get('margin'))}</td>"
                       f"<td>{_e(c.get('summary', ''))}</td></tr>\n" for c in confs)
        out.append("<div class=\"scroll\"><table>\n<tr><th>digits</th><th>margin</th><th>summary</th></tr>\n"
                   f"{rows}</table></div>")
    if len(attempts) > 1:
        items = "".join(f"<li>{_e(_instance_text(a.get('instance')))}: float64 margin <code>"
                        f"{_e(a.get('float64_margin'))}</code>; "
                        + ("confirmed" if a.get("confirmed") else f"not confirmed: {_e(a.get('why', ''))}")
                        + "</li>\n" for a in attempts)
        out.append(f"<p>Candidates the engine tried to confirm, in order:</p>\n<ol>\n{items}</ol>")
    if doc.cx_file:
        out.append(f"<p>Instance file: <a href=\"{_e(doc.slug)}/{_e(doc.cx_file)}\">{_e(doc.cx_file)}</a></p>")
    out.append(f"<pre>{_e(str(cx.get('instance_toml', '')).rstrip())}</pre>")
    for label, cmd in replays:
        out.append(f"<p>Replay, {_e(label)}:</p>\n<pre>{_e(cmd)}</pre>")
    return "\n".join(out) + "\n"


def _evidence_rows(doc: _ClaimDoc) -> list[tuple[bool, list[str]]]:
    rows = []
    for k, e in enumerate(doc.rec.get("evidence") or [], 1):
        if not isinstance(e, dict):
            continue
        ev = e.get("evidence") or {}
        margin = e.get("margin")
        viol = margin is not None and _float(margin) < 0
        cells = [str(k), _instance_text(e.get("instance")), "undecided" if margin is None else _num(margin),
                 str(e.get("summary", ""))]
        cells += [_short(_num(ev.get(c)), 40) if isinstance(ev, dict) else "" for c in doc.columns]
        cells.append(_num(e.get("cost_s")))
        rows.append((viol, cells))
    return rows


def _certificates(doc: _ClaimDoc) -> list[tuple[str, dict[str, Any]]]:
    """(instance text, certificate) of the evidence records that carry one."""
    out = []
    for e in doc.rec.get("evidence") or []:
        cert = e.get("certificate")
        if isinstance(cert, dict):
            out.append((_instance_text(e.get("instance")), cert))
    return out


def _cert_fields(cert: dict[str, Any]) -> list[tuple[str, str]]:
    return [(str(k), json.dumps(v) if not isinstance(v, str) else v) for k, v in cert.items()
            if k not in ("statement", "recheck", "kind")]


def _certificates_html(doc: _ClaimDoc) -> str:
    certs = _certificates(doc)
    if not certs:
        return ""
    b = ["<h2>Certificates</h2>",
         f"<p class=\"muted\">{len(certs)} of the recorded instances carry a proof (ball arithmetic; each can be "
         "re-checked from scratch with the call shown).</p>"]
    for k, (inst, cert) in enumerate(certs, 1):
        fields = "".join(f"<tr><td>{_e(a)}</td><td>{_e(v)}</td></tr>" for a, v in _cert_fields(cert))
        b.append(f"<h3>{k}. {_e(inst)}: {_e(cert.get('kind', 'certificate'))}</h3>"
                 f"<p>{_e(cert.get('statement', ''))}</p>"
                 + (f"<div class=\"scroll\"><table>{fields}</table></div>" if fields else "")
                 + (f"<p>Re-check: <code>{_e(cert['recheck'])}</code></p>" if cert.get("recheck") else ""))
    return "\n".join(b)


def _certificates_md(doc: _ClaimDoc) -> str:
    certs = _certificates(doc)
    if not certs:
        return ""
    out = ["## Certificates\n", f"{len(certs)} of the recorded instances carry a proof (ball arithmetic; each can be "
           "re-checked from scratch with the call shown).\n"]
    for k, (inst, cert) in enumerate(certs, 1):
        out.append(f"### {k}. {inst}: {cert.get('kind', 'certificate')}\n")
        out.append(f"{cert.get('statement', '')}\n")
        for a, v in _cert_fields(cert):
            out.append(f"- {a}: {_md_cell(v)}")
        if cert.get("recheck"):
            out.append(f"\nRe-check: `{cert['recheck']}`\n")
        else:
            out.append("")
    return "\n".join(out)


def _claim_html(doc: _ClaimDoc) -> str:
    rec = doc.rec
    info = rec.get("claim_info") or {}
    cid = str(rec["claim"])
    verdict = str(rec["verdict"])
    hyps = info.get("hypotheses") or []
    b = ["<nav><a href=\"../index.html\">&larr; all claims</a></nav>",
         f"<h1>{_e(cid)}</h1>", f"<p><strong>{_e(info.get('title', ''))}</strong></p>",
         f"<p>{_badge(verdict)} {_e(rec.get('reason', ''))}</p>",
         f"<p class=\"muted\">Instances judged: {_e(rec.get('instances'))} (undecided {_e(rec.get('undecided', 0))}, "
         f"rejected by the hypotheses {_e(rec.get('rejected', 0))}); wall time {_e(_seconds(rec.get('wall_s')))}.</p>",
         "<h2>Statement</h2>", f"<p class=\"statement\">{_math_html(info.get('statement', '') or '(none given)')}</p>",
         f"<details><summary>LaTeX source</summary><pre>{_e(info.get('statement', ''))}</pre></details>",
         f"<p>Source: {_e(info.get('source', '') or 'not given')}</p>",
         "<h2>Hypotheses</h2>",
         ("<ul>" + "".join(f"<li>{_e(h)}</li>" for h in hyps) + "</ul>") if hyps
         else "<p>None stated beyond what the instance strategy draws.</p>",
         "<h2>Method and tolerances</h2>", f"<p>{_e(info.get('method', '') or 'not described')}</p>",
         f"<p>{_e(_profile_text(rec.get('profile')))}</p>"]
    b.append(_cx_block(doc, md=False))
    if doc.figures:
        b.append("<h2>Figures</h2>")
        for f in doc.figures:
            b.append(f"<figure><img src=\"{_e(doc.slug)}/{_e(f.png)}\" alt=\"{_e(f.title)}\">"
                     f"<figcaption>{_e(f.caption)} Data: <a href=\"{_e(doc.slug)}/{_e(f.data)}\">{_e(f.data)}</a>"
                     "</figcaption></figure>")
    rows = _evidence_rows(doc)
    b.append("<h2>Per-instance evidence</h2>")
    if rows:
        head = ["#", "instance", "margin", "summary", *doc.columns, "cost (s)"]
        num_cols = {0, 2, len(head) - 1}
        trs = []
        for viol, cells in rows:
            tds = "".join(f"<td class=\"num\">{_e(c)}</td>" if i in num_cols else f"<td>{_e(c)}</td>"
                          for i, c in enumerate(cells))
            cls = " class=\"viol\"" if viol else ""
            trs.append(f"<tr{cls}>{tds}</tr>\n")
        b.append(f"<p class=\"muted\">The first {len(rows)} judged instances (margin &ge; 0: the conclusion held; "
                 "negative: violated in float64; undecided: the instance did not decide). All evidence: "
                 f"<a href=\"{_e(doc.slug)}/evidence.json\">evidence.json</a></p>")
        b.append("<div class=\"scroll\"><table>\n<tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr>\n"
                 + "".join(trs) + "</table></div>")
    else:
        b.append("<p>No instance was judged.</p>")
    b.append(_certificates_html(doc))
    b.append(_provenance_html(rec))
    return _page(f"{cid}: {verdict}", "\n".join(x for x in b if x) + "\n")


def _claim_md(doc: _ClaimDoc) -> str:
    rec = doc.rec
    info = rec.get("claim_info") or {}
    cid = str(rec["claim"])
    hyps = info.get("hypotheses") or []
    out = ["[all claims](../index.md)\n", f"# {cid}\n", f"**{info.get('title', '')}**\n",
           f"**{rec['verdict']}**: {rec.get('reason', '')}\n",
           f"Instances judged: {rec.get('instances')} (undecided {rec.get('undecided', 0)}, rejected by the "
           f"hypotheses {rec.get('rejected', 0)}); wall time {_seconds(rec.get('wall_s'))}.\n",
           "## Statement\n", "```text\n" + (info.get("statement", "") or "(none given)") + "\n```\n",
           f"Source: {info.get('source', '') or 'not given'}\n", "## Hypotheses\n",
           ("\n".join(f"- {h}" for h in hyps) + "\n") if hyps else "None stated beyond what the instance strategy "
                                                                 "draws.\n",
           "## Method and tolerances\n", f"{info.get('method', '') or 'not described'}\n",
           f"{_profile_text(rec.get('profile'))}\n"]
    block = _cx_block(doc, md=True)
    if block:
        out.append(block)
    if doc.figures:
        out.append("## Figures\n")
        for f in doc.figures:
            out.append(f"![{f.title}]({doc.slug}/{f.png})\n\n{f.caption} Data: [{f.data}]({doc.slug}/{f.data})\n")
    out.append("## Per-instance evidence\n")
    rows = _evidence_rows(doc)
    if rows:
        head = ["#", "instance", "margin", "summary", *doc.columns, "cost (s)"]
        out.append(f"All evidence: [evidence.json]({doc.slug}/evidence.json)\n")
        out.append("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
        out.extend("| " + " | ".join(_md_cell(c) for c in cells) + " |" for _, cells in rows)
        out.append("")
    else:
        out.append("No instance was judged.\n")
    certs = _certificates_md(doc)
    if certs:
        out.append(certs)
    out.append(_provenance_md(rec))
    return "\n".join(out)


def _run_summary(records: Sequence[dict[str, Any]], shown: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    runs = []
    for rec in records:
        run = rec.get("run") or {}
        ident = str(run.get("id", "")) if run else ""
        if ident and ident not in runs:
            runs.append(ident)
    prov = [rec.get("provenance") or {} for rec in shown]
    commits = sorted({_commit_text(rec.get("provenance") or {}, rec.get("run") or {}) for rec in shown})
    profiles = sorted({str((rec.get("profile") or {}).get("name", rec.get("profile")))
                       if isinstance(rec.get("profile"), dict) else str(rec.get("profile")) for rec in shown})
    total = sum(_float(rec.get("wall_s")) for rec in shown if math.isfinite(_float(rec.get("wall_s"))))
    rows = [("runs", ", ".join(runs) or "(records of verify check)")]
    started = [str((rec.get("run") or {}).get("started")) for rec in shown if (rec.get("run") or {}).get("started")]
    if started:
        rows.append(("started", min(started)))
    rows += [("profile", ", ".join(profiles) or "-"), ("git commit", ", ".join(commits) or "-"),
             ("claims", str(len(shown))), ("total check time", f"{total:.1f} s")]
    if prov:
        p0 = prov[0]
        rows.append(("packages", ", ".join(f"{k} {v}" for k, v in p0.items()
                                           if k not in ("git_commit", "platform", "python"))))
        rows.append(("python", f"{p0.get('python', '?')} on {p0.get('platform', '?')}"))
    return rows


def _index_rows(docs: Sequence[_ClaimDoc]) -> list[tuple[_ClaimDoc, list[str]]]:
    out = []
    for d in docs:
        info = d.rec.get("claim_info") or {}
        inst = f"{d.rec.get('instances')}"
        extra = [f"{d.rec.get('certified')} with certificates" if d.rec.get("certified") else "",
                 f"{d.rec.get('undecided')} undecided" if d.rec.get("undecided") else "",
                 f"{d.rec.get('rejected')} rejected" if d.rec.get("rejected") else ""]
        extra = [x for x in extra if x]
        if extra:
            inst += f" ({', '.join(extra)})"
        out.append((d, [str(d.rec["claim"]), str(info.get("source", "")), str(d.rec["verdict"]), inst,
                        _seconds(d.rec.get("wall_s"))]))
    return out


def _counts(docs: Sequence[_ClaimDoc]) -> str:
    c = Counter(str(d.rec["verdict"]) for d in docs)
    return ", ".join(f"{c[v]} {v}" for v in _VERDICT_ORDER if c[v]) or "no claims"


def _index_html(docs: Sequence[_ClaimDoc], records: Sequence[dict[str, Any]], run_name: str) -> str:
    b = ["<h1>Theorem checks</h1>", f"<p>{_e(_counts(docs))}.</p>"]
    if docs:
        trs = []
        for d, cells in _index_rows(docs):
            title = (d.rec.get("claim_info") or {}).get("title", "")
            trs.append(f"<tr><td><a href=\"claims/{_e(d.slug)}.html\">{_e(cells[0])}</a><br>"
                       f"<span class=\"muted\">{_e(title)}</span></td><td>{_e(cells[1])}</td>"
                       f"<td>{_badge(cells[2])}</td><td class=\"num\">{_e(cells[3])}</td>"
                       f"<td class=\"num\">{_e(cells[4])}</td></tr>\n")
        b.append("<div class=\"scroll\"><table>\n<tr><th>claim</th><th>source theorem</th><th>verdict</th>"
                 "<th>instances</th><th>time</th></tr>\n" + "".join(trs) + "</table></div>")
    else:
        b.append("<p>The run file holds no records.</p>")
    b.append("<h2>Verdicts</h2>\n<ul>" + "".join(f"<li>{_badge(v)} {_e(t)}</li>" for v, t in VERDICT_TEXT.items())
             + "</ul>")
    summary = _run_summary(records, [d.rec for d in docs])
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>\n" for k, v in summary)
    b.append(f"<h2>Provenance</h2>\n<div class=\"scroll\"><table>\n{rows}</table></div>")
    b.append(f"<p class=\"muted\">Rendered from the run records <a href=\"runs/{_e(run_name)}\">runs/{_e(run_name)}"
             f"</a> alone; rebuild with <code>verify report runs/{_e(run_name)} --out .</code> in this folder.</p>")
    return _page("Theorem checks", "\n".join(b) + "\n")


def _index_md(docs: Sequence[_ClaimDoc], records: Sequence[dict[str, Any]], run_name: str) -> str:
    out = ["# Theorem checks\n", f"{_counts(docs)}.\n"]
    if docs:
        out.append("| claim | source theorem | verdict | instances | time |\n|---|---|---|---|---|")
        for d, cells in _index_rows(docs):
            out.append(f"| [{_md_cell(cells[0])}](claims/{d.slug}.md) | {_md_cell(cells[1])} | **{cells[2]}** | "
                       f"{cells[3]} | {cells[4]} |")
        out.append("")
    else:
        out.append("The run file holds no records.\n")
    out.append("## Verdicts\n")
    out.extend(f"- **{v}**: {t}" for v, t in VERDICT_TEXT.items())
    out.append("\n## Provenance\n\n| | |\n|---|---|")
    out.extend(f"| {k} | {_md_cell(v)} |" for k, v in _run_summary(records, [d.rec for d in docs]))
    out.append(f"\nRendered from the run records [runs/{run_name}](runs/{run_name}) alone; rebuild with "
               f"`verify report runs/{run_name} --out .` in this folder.\n")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------
# The driver
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RenderedReport:
    """What :func:`render_report` wrote.

    Attributes
    ----------
    index : Path
        ``OUT/index.html``.
    files : tuple of Path
        Every file written (relative to the report folder), sorted.
    claims : int
        Claims shown.
    records : int
        Records in the run file.
    """

    index: Path
    files: tuple[Path, ...]
    claims: int
    records: int


def render_report(run_file: str | Path, out_dir: str | Path = "reports") -> RenderedReport:
    """Render the report of a run file into ``out_dir`` (see the module notes for the layout).

    The run file is copied to ``out_dir/runs/`` unless it is there already. Files a previous
    report wrote into ``out_dir`` (listed in ``out_dir/.verify-report-files``) that this one does
    not write are removed; nothing else is touched.

    Parameters
    ----------
    run_file : path
        JSON lines of check records.
    out_dir : path
        The report folder (created).

    Returns
    -------
    RenderedReport
    """
    src = Path(run_file)
    records = read_records(src)
    try:
        return _render(src, records, Path(out_dir))
    except InputError:
        raise
    except (TypeError, KeyError, AttributeError, ValueError, OverflowError, IndexError) as exc:
        # records are untrusted data: a shape the checks above did not foresee is bad input, not a crash
        what = f"{type(exc).__name__}: {exc}"
        raise InputError("RUNFILE", str(src), f"a record has a field of an unexpected shape ({what}): give a run "
                                              "file written by verify run or verify check") from None


def _render(src: Path, records: list[dict[str, Any]], out_dir: Path) -> RenderedReport:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "runs").mkdir(exist_ok=True)
    run_copy = out / "runs" / src.name
    if not (run_copy.exists() and run_copy.resolve() == src.resolve()):
        shutil.copyfile(src, run_copy)
    shown = _latest_per_claim(records)
    written: list[Path] = []

    def write(rel: str, text: str) -> None:
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(Path(rel))

    docs: list[_ClaimDoc] = []
    taken: set[str] = set()
    claims_dir = out / "claims"
    for rec in shown:
        slug = _slug(str(rec["claim"]), taken)
        folder = claims_dir / slug
        folder.mkdir(parents=True, exist_ok=True)
        figures = _figures(rec, folder)
        for f in figures:
            written += [Path("claims") / slug / f.png, Path("claims") / slug / f.data]
        cx_file = None
        cx = rec.get("counterexample")
        if cx and cx.get("instance_toml"):
            kind = "counterexample" if cx.get("confirmed") else "candidate"
            cx_file = f"{kind}.toml"
            summary = str((cx.get("judgement") or {}).get("summary", ""))
            header = " ".join(f"# {kind} for {rec['claim']}: {summary}".split()) + "\n"
            write(f"claims/{slug}/{cx_file}", header + str(cx["instance_toml"]))
        write(f"claims/{slug}/evidence.json",
              json.dumps({"claim": rec["claim"], "evidence": rec.get("evidence") or [],
                          "counterexample": rec.get("counterexample")}, indent=1, sort_keys=True) + "\n")
        docs.append(_ClaimDoc(rec, slug, tuple(figures), cx_file,
                              _evidence_columns([e for e in rec.get("evidence") or [] if isinstance(e, dict)])))
    for d in docs:
        write(f"claims/{d.slug}.html", _claim_html(d))
        write(f"claims/{d.slug}.md", _claim_md(d))
    write("index.html", _index_html(docs, records, src.name))
    write("index.md", _index_md(docs, records, src.name))
    manifest = out / MANIFEST
    if manifest.is_file():
        current = {p.as_posix() for p in written}
        for line in manifest.read_text(encoding="utf-8").splitlines():
            rel = Path(line)
            if line and line not in current and not rel.is_absolute() and ".." not in rel.parts:
                stale = out / rel
                if stale.is_file():
                    stale.unlink()
    files = tuple(sorted(written, key=lambda p: p.as_posix()))
    manifest.write_text("".join(p.as_posix() + "\n" for p in files), encoding="utf-8")
    return RenderedReport(out / "index.html", files, len(docs), len(records))
