"""Rendered mathematics in the HTML report: statements' LaTeX becomes MathML, laid out by the
browser without any network, and nothing unsafe survives the conversion.

The oracle for "rendered" is headless Chromium: it loads a claim page (a copy with a probe script
appended; the report itself has no scripts) and reports, for every formula, its box and, for every
fraction, whether the numerator sits above the denominator (true MathML layout; unsupported
markup would flow as a line of text). The test needs Chromium (Debian's ``chromium``); it is
skipped without one unless ``VERIFY_REQUIRE_BROWSER=1`` (set by ``.ci/run``), where its absence
fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from verify.claims.engine import describe_claims
from verify.report.render import _math_html, _mathml, render_report

_PROBE = """
<script>
const maths = [...document.querySelectorAll('math')].map(m => {
  const r = m.getBoundingClientRect(); return [r.width, r.height, getComputedStyle(m).display]; });
const fracs = [...document.querySelectorAll('mfrac')].map(f => {
  const [a, b] = f.children; return a.getBoundingClientRect().bottom <= b.getBoundingClientRect().top + 0.5; });
document.title = JSON.stringify({maths, fracs});
</script>
"""


def _browser() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("VERIFY_REQUIRE_BROWSER") == "1":
        pytest.fail("VERIFY_REQUIRE_BROWSER=1 but no chromium on PATH (install Debian's chromium)")
    pytest.skip("no chromium on PATH")
    return None


def _records(tmp_path: Path) -> Path:
    run = tmp_path / "run.jsonl"
    lines = []
    for info in describe_claims():
        lines.append(json.dumps({
            "schema": 1, "claim": info["id"], "verdict": "consistent", "reason": "r", "instances": 1,
            "evidence": [], "claim_info": info, "profile": {"name": "quick"}, "wall_s": 1.0}))
    run.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return run


def test_statements_become_sanitized_mathml() -> None:
    html = _math_html(r"For $\frac{a}{b} < 1$ and $x$: done <b>")
    assert html.count("<math") == 2 and "<mfrac>" in html and "&lt;b&gt;" in html and "$" not in html
    # the converter's links and raw markup never reach the page
    linked = _mathml(r"\href{javascript:alert(1)}{x}")
    assert linked is not None and "href" not in linked and "javascript" not in linked
    assert _mathml(r"\text{<script>alert(1)</script>}") is None     # raw markup: refused, shown as LaTeX
    assert "<code>" in _math_html(r"$\frac{$")       # unconvertible: shown as LaTeX, escaped


def test_every_statement_renders_in_headless_chromium(tmp_path: Path) -> None:
    browser = _browser()
    out = tmp_path / "report"
    render_report(_records(tmp_path), out)
    pages = sorted((out / "claims").glob("*.html"))
    assert len(pages) == len(describe_claims()) >= 13
    for page in pages:
        text = page.read_text(encoding="utf-8")
        statement = re.search(r'<p class="statement">(.*?)</p>', text, re.S)
        assert statement is not None and "$" not in statement.group(1), page.name
        expected = statement.group(1).count("<math")
        probe = page.with_name(page.stem + "-probe.html")
        probe.write_text(text.replace("</body>", _PROBE + "</body>"), encoding="utf-8")
        proc = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                               "--no-first-run", "--disable-background-networking", "--disable-component-update",
                               "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
                               probe.as_uri()], capture_output=True, text=True, timeout=120, check=False)
        title = re.search(r"<title>(.*?)</title>", proc.stdout, re.S)
        assert title is not None, proc.stderr[-2000:]
        seen = json.loads(title.group(1).replace("&quot;", '"'))
        assert len(seen["maths"]) == expected > 0, page.name
        for width, height, display in seen["maths"]:
            assert width > 0 and height > 0 and display.endswith("math"), (page.name, width, height, display)
        assert all(seen["fracs"]), page.name        # numerators above denominators: laid out as MathML
