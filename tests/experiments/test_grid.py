"""verify reproduce sad-polynomial --grid: sharded, resumable, the same numbers on any executor.

Oracles: the single-configuration command (a grid configuration of one shard is the same run as
``verify reproduce`` with that seed), the shard files themselves (a rerun must not touch them),
mean.csv (the summary's milestones are its rows), and a serial run against a Dask run.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from verify.cli import main

ARGS = ["reproduce", "sad-polynomial", "--grid", "--dims", "1", "--activations", "tanh", "softplus",
        "--optimizers", "gd", "adam", "--runs", "3", "--runs-per-shard", "2", "--steps", "40", "--log-every", "10",
        "--json"]


def _rows(capsys) -> list[dict]:
    return json.loads(capsys.readouterr().out)


def test_grid_shards_resume_and_summarize(tmp_path: Path, capsys) -> None:
    out = tmp_path / "grid"
    assert main([*ARGS, "--out", str(out)]) == 0
    rows = _rows(capsys)
    assert [r["config"] for r in rows] == ["d1-tanh-gd", "d1-tanh-adam", "d1-softplus-gd", "d1-softplus-adam"]
    shards = sorted(out.glob("*/shards/*.npz"))
    assert len(shards) == 8                          # 4 configurations x 2 shards (2 + 1 runs)
    stamps = {p: p.stat().st_mtime_ns for p in shards}
    # the merged curves hold every run; shards differ (their own seeds)
    with open(out / "d1-tanh-gd" / "curves.csv", newline="") as fh:
        runs = {int(r["run"]) for r in csv.DictReader(fh)}
    assert runs == {0, 1, 2}
    theta = np.load(out / "d1-tanh-gd" / "theta.npy", allow_pickle=False)
    assert theta.shape[0] == 3 and not np.allclose(theta[0], theta[2])
    # the summary's milestone (step 0) is mean.csv's first row
    with open(out / "d1-tanh-gd" / "mean.csv", newline="") as fh:
        first = next(csv.DictReader(fh))
    assert rows[0]["milestones"]["0"]["mean_norm"] == float(first["mean_norm"])
    assert rows[0]["milestones"]["100000"]["mean_norm"] is None      # not reached
    assert (out / "grid_d1.png").is_file() and (out / "grid_summary.md").is_file()
    # resumable: a rerun runs nothing and rewrites no shard
    assert main([*ARGS, "--out", str(out)]) == 0
    assert _rows(capsys) == rows                     # the saved shards, wall times included
    assert {p: p.stat().st_mtime_ns for p in shards} == stamps
    # a one-shard configuration is the single command with that seed
    single = tmp_path / "single"
    assert main(["reproduce", "sad-polynomial", "--dim", "1", "--activation", "tanh", "--runs", "2", "--steps", "40",
                 "--log-every", "10", "--out", str(single), "--json"]) == 0
    capsys.readouterr()
    with np.load(out / "d1-tanh-gd" / "shards" / "0.npz", allow_pickle=False) as z:
        assert np.array_equal(z["theta"], np.load(single / "theta.npy", allow_pickle=False))


def test_the_grid_on_dask_gives_the_same_numbers(tmp_path: Path, capsys) -> None:
    assert main([*ARGS, "--out", str(tmp_path / "serial")]) == 0
    serial = _rows(capsys)
    assert main([*ARGS, "--out", str(tmp_path / "dask"), "--workers", "2"]) == 0
    parallel = _rows(capsys)
    assert [r["milestones"] for r in serial] == [r["milestones"] for r in parallel]
