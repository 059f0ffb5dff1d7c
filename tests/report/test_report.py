"""verify run and verify report: records, the report rendered from them alone, links, figures, exit codes.

The oracles: the run file itself (the report must show what the records say, and the figure
data must equal the recorded evidence), a second rendering (byte-identity), the file system
(every link of the HTML resolves), and closed-form claims in ``tests/report_claims.py`` whose
verdicts are known (one true, one false).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

import theorems
from verify.cli import main
from verify.report.render import read_records, render_report

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CLAIMS = HERE.parent / "report_claims.py"
PLANTED = HERE.parent / "quality" / "planted.py"
TRUE_ID, FALSE_ID = "quadratic_flow_decreases", "quadratic_form_is_convex"


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str]] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href") and value is not None:
                self.refs.append((tag, value))


def _check_links(report: Path) -> int:
    """Every relative src/href of every HTML page resolves to a file; nothing loads from the network."""
    pages = sorted(report.rglob("*.html"))
    assert pages
    count = 0
    for page in pages:
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8"))
        assert "script" not in parser.tags and "link" not in parser.tags, page   # inline CSS, no scripts
        for tag, ref in parser.refs:
            url = urlparse(ref)
            assert not url.scheme and not url.netloc, f"{page}: {tag} loads {ref} (the report must be self-contained)"
            if not url.path:   # a fragment
                continue
            target = (page.parent / unquote(url.path)).resolve()
            assert target.is_file(), f"{page}: {tag} -> {ref} does not resolve"
            assert report.resolve() in target.parents, f"{page}: {ref} leaves the report folder"
            count += 1
    return count


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run")
    code = main(["run", "--profile", "quick", "--only", f"{CLAIMS}::{TRUE_ID}", f"{CLAIMS}::{FALSE_ID}",
                 f"{PLANTED}::float_noise", "--out", str(out), "--json"])
    assert code == 1   # a counterexample
    return out


def _run_file(out: Path) -> Path:
    [path] = sorted((out / "runs").glob("*.jsonl"))
    return path


def test_run_records_one_line_per_claim_with_the_check_record(run_dir: Path) -> None:
    records = read_records(_run_file(run_dir))
    assert [r["claim"] for r in records] == [TRUE_ID, FALSE_ID, "float_noise"]
    assert [r["verdict"] for r in records] == ["consistent", "counterexample", "inconclusive"]
    for k, r in enumerate(records, 1):
        assert {"reason", "instances", "undecided", "rejected", "evidence", "counterexample", "profile", "seed",
                "wall_s", "schema", "claim_info", "provenance"} <= set(r)
        assert r["profile"]["name"] == "quick" and r["run"]["index"] == k
        assert r["run"]["id"] == _run_file(run_dir).stem and r["run"]["command"].startswith("verify run --profile")
    assert len({r["run"]["started"] for r in records}) == 1
    cx = records[1]["counterexample"]
    assert cx["confirmed"] and Path(cx["file"]).is_file()   # written to OUT/counterexamples as verify check does


def test_index_shows_what_the_records_say(run_dir: Path) -> None:
    records = read_records(_run_file(run_dir))
    index_html = (run_dir / "index.html").read_text()
    index_md = (run_dir / "index.md").read_text()
    for r in records:
        cid, info = r["claim"], r["claim_info"]
        for text in (index_html, index_md):
            assert cid in text and r["verdict"] in text
        assert info["source"].split("(")[0].strip() in index_md
        assert f"| {r['instances']} |" in index_md or f"| {r['instances']} (" in index_md
        page = (run_dir / "claims" / f"{cid}.html").read_text()
        assert r["reason"].split(" (")[0] in page.replace("&#x27;", "'")
        assert r["provenance"]["numpy"] in page and "git commit" in page and "profile" in page
    assert "1 counterexample, 1 inconclusive, 1 consistent" in index_md


def test_counterexample_page_has_the_instance_and_a_replay_that_reproduces_it(
        run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    page = (run_dir / "claims" / f"{FALSE_ID}.md").read_text()
    assert "## Counterexample" in page and "min(a, c, ac - b^2)" in page
    cmd = next(line for line in page.splitlines() if line.startswith("verify check") and "claims/" in line)
    capsys.readouterr()
    monkeypatch.chdir(run_dir)
    assert main(cmd.split()[1:] + ["--out", str(tmp_path)]) == 1
    assert "COUNTEREXAMPLE" in capsys.readouterr().out
    # the unconfirmed float64 violation is a candidate, never called a counterexample
    noise = (run_dir / "claims" / "float_noise.md").read_text()
    assert "not confirmed: not a counterexample" in noise and "## Counterexample\n" not in noise


def test_figures_ship_with_the_data_they_were_drawn_from(run_dir: Path) -> None:
    records = {r["claim"]: r for r in read_records(_run_file(run_dir))}
    folder = run_dir / "claims" / TRUE_ID
    for name in ("trajectories", "spectra", "outcomes"):
        assert (folder / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert b"Software" not in (folder / f"{name}.png").read_bytes()
    rows = list(csv.DictReader(io.StringIO((folder / "trajectories.csv").read_text())))
    evidence = records[TRUE_ID]["evidence"]
    expected = [(str(k), t, lo) for k, e in enumerate(evidence, 1)
                for t, lo in zip(e["evidence"]["series"]["t"], e["evidence"]["series"]["loss"])]
    assert [(r["instance"], float(r["t"]), float(r["loss"])) for r in rows] == expected
    counts = csv.DictReader(io.StringIO((folder / "outcomes.csv").read_text()))
    outcomes = {r["outcome"]: int(r["count"]) for r in counts}
    assert sum(outcomes.values()) == len(evidence)
    # the false claim: its spectra include the counterexample's (indefinite) spectrum
    spectra = list(csv.DictReader(io.StringIO((run_dir / "claims" / FALSE_ID / "spectra.csv").read_text())))
    cx_spec = records[FALSE_ID]["counterexample"]["judgement"]["evidence"]["spectrum"]
    assert [float(r["eigenvalue"]) for r in spectra if r["instance"] == "counterexample"] == cx_spec
    assert min(cx_spec) < 0
    assert not (run_dir / "claims" / "float_noise" / "trajectories.png").exists()   # no series: no figure


def test_every_link_and_figure_resolves(run_dir: Path) -> None:
    assert _check_links(run_dir) >= 3 + 3 * 2
    index = (run_dir / "index.html").read_text()
    for cid in (TRUE_ID, FALSE_ID, "float_noise"):
        assert f'href="claims/{cid}.html"' in index


def test_report_rebuilds_byte_identical_from_the_records(run_dir: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    run_file = _run_file(run_dir)
    assert main(["report", str(run_file), "--out", str(tmp_path / "a")]) == 0
    render_report(run_file, tmp_path / "b")
    render_report(tmp_path / "a" / "runs" / run_file.name, tmp_path / "a")   # again, in place
    a, b = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    assert a == b
    original = {k: v for k, v in _tree(run_dir).items() if not k.startswith(("counterexamples/", "candidates/"))}
    assert a == original   # verify run's report is the report of its run file
    assert "3 claims from 3 records" in capsys.readouterr().out


def _record(claim: str, verdict: str, reason: str, evidence: list[dict[str, object]]) -> dict[str, object]:
    return {"claim": claim, "verdict": verdict, "reason": reason, "instances": len(evidence), "undecided": 0,
            "rejected": 0, "evidence": evidence, "counterexample": None, "schema": 1, "seed": None, "wall_s": 0.25,
            "profile": {"name": "quick", "max_examples": 15, "horizon": 0.5, "dps": 25, "derandomize": True,
                        "shrink_seconds": 20.0, "max_evidence": 50},
            "claim_info": {"id": claim, "title": "a <b>title</b> & more", "statement": r"$\theta \to 0$",
                           "source": "hand-made", "hypotheses": ["h1"], "method": "by hand"},
            "provenance": {"verify": "0", "numpy": "1", "git_commit": None, "python": "3", "platform": "x"}}


def test_hand_made_records(tmp_path: Path) -> None:
    series = {"t": [0.0, 1.0, 10.0, 100.0], "loss": [1.0, 0.0, "1e-400", -1.0], "theta_norm": [1, 2, 3, "inf"],
              "grad_norm": [1.0, 0.5, 0.25, 0.125]}
    ev = [{"instance": {"name": "i", "theta0": ["1/2"]}, "margin": "-1/3", "summary": "s|x",
           "evidence": {"series": series, "spectrum": [[-2.0, 0.0], [1e-9, "3.5"]], "outcome": "diverging",
                        "rate": 0.5, "note": "n"}, "cost_s": 0.01},
          {"instance": {"name": "j"}, "margin": None, "summary": "undecided", "evidence": {"outcome": "undecided"}}]
    path = tmp_path / "runs" / "hand.jsonl"
    path.parent.mkdir()
    lines = [_record("c1", "consistent", "first record", []), _record("c2", "inconclusive", "other", ev),
             _record("c1", "inconclusive", "the later record of c1", [])]
    path.write_text("".join(json.dumps(r) + "\n" for r in lines) + "\n")
    rep = render_report(path, tmp_path)
    assert rep.claims == 2 and rep.records == 3
    md = (tmp_path / "index.md").read_text()
    assert "1 inconclusive" not in md and "2 inconclusive" in md   # the last record of c1 wins
    assert "the later record" in (tmp_path / "claims" / "c1.md").read_text()
    assert "first record" not in (tmp_path / "claims" / "c1.html").read_text()
    page = (tmp_path / "claims" / "c2.html").read_text()
    assert "a &lt;b&gt;title&lt;/b&gt; &amp; more" in page and "<b>title" not in page   # escaped
    assert 'class="viol"' in page and "undecided" in page and "rate" in page
    rows = list(csv.reader(io.StringIO((tmp_path / "claims" / "c2" / "trajectories.csv").read_text())))
    assert len(rows) == 1 + 4 and rows[1][:3] == ["1", "0.0", "1.0"] and rows[4][3] == "inf"   # all points kept
    spectra = list(csv.reader(io.StringIO((tmp_path / "claims" / "c2" / "spectra.csv").read_text())))
    assert [r[2] for r in spectra[1:]] == ["-2.0", "0.0", "1e-09", "3.5"]
    assert list(csv.reader(io.StringIO((tmp_path / "claims" / "c2" / "outcomes.csv").read_text()))) == [
        ["outcome", "count"], ["diverging", "1"], ["undecided", "1"]]
    _check_links(tmp_path)
    # a re-rendering without c2 removes c2's files (and only those the report wrote)
    (tmp_path / "claims" / "mine.txt").write_text("keep")
    path.write_text(json.dumps(lines[0]) + "\n")
    render_report(path, tmp_path)
    assert not (tmp_path / "claims" / "c2.html").exists() and not (tmp_path / "claims" / "c2" / "spectra.png").exists()
    assert (tmp_path / "claims" / "mine.txt").read_text() == "keep"


def test_bad_input_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    cases = {"missing": (None, "no such file"), "notjson": ("{not json\n", "line 1 is not JSON"),
             "keys": ('{"claim": "x"}\n', "the record lacks verdict"),
             "schema": (json.dumps({**_record("c", "consistent", "r", []), "schema": 9}) + "\n", "schema 9")}
    for name, (text, message) in cases.items():
        path = tmp_path / f"{name}.jsonl" if text is None else bad
        if text is not None:
            bad.write_text(text)
        assert main(["report", str(path), "--out", str(tmp_path / "r")]) == 2, name
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
    assert main(["run", "--only", "no_such_claim", "--out", str(tmp_path / "r")]) == 2
    assert "unknown claim id" in capsys.readouterr().err
    assert main(["run", "--only", f"{CLAIMS}::{TRUE_ID}", "--seed", "-1", "--out", str(tmp_path / "r")]) == 2
    assert not (tmp_path / "r" / "runs").exists()   # bad input: nothing ran, nothing written


def test_exit_codes_strict_and_progress(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERIFY_PROGRESS", "0")
    assert main(["run", "--profile", "quick", "--only", f"{CLAIMS}::{TRUE_ID}", "--out", str(tmp_path / "a")]) == 0
    captured = capsys.readouterr()
    assert f"[1/1] {TRUE_ID}: consistent" in captured.err and "\r" not in captured.err
    assert TRUE_ID in captured.out and "report:" in captured.out
    monkeypatch.setenv("VERIFY_PROGRESS", "1")
    only = ["--only", f"{PLANTED}::float_noise", "--out", str(tmp_path / "b")]
    assert main(["run", "--profile", "quick", *only]) == 0
    assert main(["run", "--profile", "quick", "--strict", *only]) == 3
    err = capsys.readouterr().err
    assert "\r[1/1] float_noise" in err and "instances" in err and " s" in err
    assert len(list((tmp_path / "b" / "runs").glob("*.jsonl"))) == 2   # every run gets a new run file


_THEOREM = '''
from hypothesis import strategies as st
from verify import Claim, ExprLandscape, Instance, Judgement


class Tiny(Claim):
    title = "tiny"
    source = "a module of theorems/"

    def instances(self, profile):
        return st.just(Instance(ExprLandscape("w**2", ["w"]), ("1",)))

    def judge(self, instance, profile):
        return Judgement(1.0, "held")
'''

_BROKEN = '''
from verify import Claim, Judgement


class Broken(Claim):
    title = "its strategy fails"

    def instances(self, profile):
        raise {error}("planted failure")

    def judge(self, instance, profile):
        return Judgement(1.0, "")
'''


def test_run_discovers_the_modules_of_theorems(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "aa_tiny.py").write_text(_THEOREM)
    (pkg / "bb_broken.py").write_text(_BROKEN.format(error="ValueError"))
    monkeypatch.setattr(theorems, "__path__", [str(pkg)])
    for name in ("theorems.aa_tiny", "theorems.bb_broken"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    try:
        out = tmp_path / "rep"
        assert main(["run", "--profile", "quick", "--out", str(out), "--json"]) == 0
        doc = json.loads(capsys.readouterr().out)
        assert [(r["claim"], r["verdict"]) for r in doc["results"]] == [("aa_tiny", "consistent"),
                                                                      ("bb_broken", "inconclusive")]
        assert "ValueError: planted failure" in doc["results"][1]["reason"]
        assert "aa_tiny" in (out / "index.md").read_text() and (out / "claims" / "bb_broken.html").is_file()
        # --only with ids of theorems/
        assert main(["run", "--profile", "quick", "--only", "aa_tiny", "--out", str(out), "--json"]) == 0
        assert [r["claim"] for r in json.loads(capsys.readouterr().out)["results"]] == ["aa_tiny"]
        assert not (out / "claims" / "bb_broken.html").exists()   # the new report shows the new run only
        # Ctrl-C: the finished claims are recorded and rendered, then the run stops as interrupted
        (pkg / "bb_broken.py").write_text(_BROKEN.format(error="KeyboardInterrupt"))
        monkeypatch.delitem(sys.modules, "theorems.bb_broken", raising=False)
        assert main(["run", "--profile", "quick", "--out", str(tmp_path / "int")]) == 130
        assert "interrupted; the report of the finished claims" in capsys.readouterr().err
        [run_file] = (tmp_path / "int" / "runs").glob("*.jsonl")
        assert [r["claim"] for r in read_records(run_file)] == ["aa_tiny"]
        assert "aa_tiny" in (tmp_path / "int" / "index.html").read_text()
    finally:
        for name in ("theorems.aa_tiny", "theorems.bb_broken"):
            sys.modules.pop(name, None)


EXAMPLE = ROOT / "reports" / "example"


@pytest.mark.skipif(not (EXAMPLE / "runs").is_dir(), reason="no example report")
def test_the_example_report_is_the_rendering_of_its_run_file(tmp_path: Path) -> None:
    [run_file] = sorted((EXAMPLE / "runs").glob("*.jsonl"))
    render_report(run_file, tmp_path)
    ours = _tree(tmp_path)
    theirs = {k: v for k, v in _tree(EXAMPLE).items() if k in ours}
    text = [k for k in ours if not k.endswith(".png")]   # PNG bytes depend on the matplotlib/freetype build
    assert {k: ours[k] for k in text} == {k: theirs.get(k) for k in text}
    assert set(ours) <= set(_tree(EXAMPLE))
    _check_links(EXAMPLE)
