"""The command line: --version, --help, landscape output, and one-line errors with exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from verify import __version__
from verify.cli import main

from .conftest import EXAMPLES


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "verify", *args], capture_output=True, text=True, timeout=300)


def test_version_and_help() -> None:
    out = run("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"verify {__version__}"
    h = run("--help")
    assert h.returncode == 0 and "landscape" in h.stdout and "exit codes" in h.stdout
    h2 = run("landscape", "--help")
    assert h2.returncode == 0 and "--tier" in h2.stdout and "--dps" in h2.stdout


@pytest.mark.parametrize("tier", ["np", "mp", "exact"])
def test_landscape_json(tier: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["landscape", str(EXAMPLES / "tanh-1-2-1.toml"), "--tier", tier, "--dps", "25", "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert set(obj) >= {"tier", "dps", "n_params", "loss", "grad", "grad_norm", "hessian_eigenvalues"}
    assert obj["tier"] == tier and obj["n_params"] == 7 and len(obj["grad"]) == 7
    eig = obj["hessian_eigenvalues"]
    assert len(eig) == 7
    if tier == "np":
        assert obj["dps"] is None and isinstance(obj["loss"], float)
        assert eig == sorted(eig)
    else:
        assert obj["dps"] == 25
        digits = obj["loss"].split("e")[0].replace("-", "").replace(".", "").lstrip("0")
        assert len(digits) >= 25, obj["loss"]
        assert [float(e) for e in eig] == sorted(float(e) for e in eig)


def test_tiers_agree_through_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    vals = {}
    for tier in ("np", "mp", "exact"):
        main(["landscape", str(EXAMPLES / "tanh-1-2-1.toml"), "--tier", tier, "--json"])
        vals[tier] = json.loads(capsys.readouterr().out)
    assert vals["mp"]["loss"][:28] == vals["exact"]["loss"][:28]
    assert float(vals["mp"]["loss"]) == pytest.approx(vals["np"]["loss"], rel=1e-13)


def test_landscape_table_and_out_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sub" / "l.json"
    assert main(["landscape", str(EXAMPLES / "relu-interval.toml"), "--tier", "np", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Hessian eigenvalues" in text and "W1[0,0]" in text
    assert json.loads(out.read_text())["n_params"] == 10


@pytest.mark.parametrize(("args", "needle"), [
    (["landscape", "does-not-exist.toml"], "FILE"),
    (["landscape", str(EXAMPLES / "tanh-1-2-1.toml"), "--dps", "3"], "dps = 3"),
    (["landscape", str(EXAMPLES / "tanh-1-2-1.toml"), "--member", "5"], "member"),
])
def test_errors_are_one_line_and_exit_2(args: list[str], needle: str) -> None:
    out = run(*args)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("verify: error:") and needle in lines[0]
    assert "Traceback" not in out.stderr


def test_bad_problem_file_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[network]\nwidths = [1, 2, 1]\nactivation = "relux"\n[data]\npoints = ["1"]\n'
                   '[target]\nexpr = "x"\n')
    out = run("landscape", str(bad))
    assert out.returncode == 2 and "network.activation = 'relux'" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_unknown_tier_is_a_usage_error() -> None:
    out = run("landscape", str(EXAMPLES / "tanh-1-2-1.toml"), "--tier", "gpu")
    assert out.returncode == 2 and "Traceback" not in out.stderr


def test_flow_json_members(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flow", str(EXAMPLES / "tanh-ensemble.toml"), "--ensemble", "3", "--t1", "20", "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert len(obj["members"]) == 3
    for m in obj["members"]:
        assert set(m) >= {"status", "outcome", "t", "loss", "theta_norm", "grad_norm", "theta", "checkpoints"}
        assert m["status"] in {"t1_reached", "stationary", "diverged", "loss_below", "max_steps", "step_underflow"}
        assert m["outcome"]["kind"] in {"converged", "diverging", "periodic", "undecided"}
        ck = m["checkpoints"]
        assert len(ck["t"]) == len(ck["loss"]) == len(ck["theta_norm"]) == len(ck["grad_norm"]) > 2
        assert ck["t"] == sorted(ck["t"]) and ck["t"][-1] == m["t"]


def test_flow_mp_tier_prints_decimal_strings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flow", str(EXAMPLES / "tanh-1-2-1.toml"), "--tier", "mp", "--dps", "20", "--t1", "1",
                 "--checkpoints", "4", "--json"]) == 0
    m = json.loads(capsys.readouterr().out)["members"][0]
    assert isinstance(m["loss"], str) and len(m["loss"].replace("-", "").replace(".", "").split("e")[0]) >= 20
    assert all(isinstance(v, str) for v in m["theta"])


def test_flow_table_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png = tmp_path / "flow.png"
    assert main(["flow", str(EXAMPLES / "drift-1-1-1.toml"), "--solver", "rodas4", "--t1", "1000",
                 "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "outcomes:" in out and png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"


def test_descent_json_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["descent", str(EXAMPLES / "tanh-ensemble.toml"), "--ensemble", "2", "--step-size", "0.1",
                 "--steps", "200", "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert len(obj["members"]) == 2 and obj["members"][0]["checkpoints"]["t"][-1] <= 200
    assert main(["descent", str(EXAMPLES / "tanh-ensemble.toml"), "--optimizer", "sgd", "--step-size", "0.1",
                 "--steps", "10"]) == 2
    assert "--batch" in capsys.readouterr().err


def test_descent_names_the_orbit_of_a_periodic_outcome(capsys: pytest.CaptureFixture[str]) -> None:
    # the two-parameter ReLU example of Craciun-Ghoshdastidar at eta = 0.325: a stable 2-cycle on the diagonal
    # with points (sqrt(1 + 3/k) +- sqrt(1 - 1/k)) / 2, k = 2 * 1.765 * 0.325
    args = ["descent", str(EXAMPLES / "craciun-relu.toml"), "--step-size", "0.325", "--steps", "2000"]
    assert main([*args, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)["members"][0]["outcome"]
    k = 2 * 1.765 * 0.325
    p, q = ((1 + 3 / k) ** 0.5 + (1 - 1 / k) ** 0.5) / 2, ((1 + 3 / k) ** 0.5 - (1 - 1 / k) ** 0.5) / 2
    assert out["kind"] == "periodic" and out["period"] == 2 and len(out["orbit"]) == 2
    assert sorted(pt[0] for pt in out["orbit"]) == pytest.approx([q, p], rel=1e-9)
    assert sorted(z["re"] for z in out["multipliers"]) == pytest.approx(sorted([3 - 2 * k, 9 - 2 * (1 + k) ** 2]),
                                                                        rel=1e-7)
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "orbit of period 2 (stable)" in text
    assert f"theta_0 = ({p:.10g}" in text or f"theta_0 = ({q:.10g}" in text
