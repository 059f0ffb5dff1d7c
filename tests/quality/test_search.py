"""The search is tested too: planted false claims must be refuted with a confirmed, shrunk
counterexample that replays; true claims must never get one; a float64 violation that does
not survive the higher precision is inconclusive, never a counterexample."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest

from verify import Instance, Verdict, check
from verify.cli import main
from verify.testing import assert_claim

from .planted import (
    EveryFlowConverges,
    FloatNoise,
    FlowLimitIsInfimum,
    GdDecreasesBelowOne,
    GdDecreasesBelowTwoOverCurvature,
    QuadraticFlowsConverge,
)

PLANTED = Path(__file__).with_name("planted.py")


def test_every_flow_converges_is_refuted_by_a_logistic_datum(tmp_path: Path) -> None:
    result = check(EveryFlowConverges(), profile="ci", out_dir=tmp_path)
    assert result.verdict is Verdict.COUNTEREXAMPLE, result.reason
    cx = result.counterexample
    assert cx is not None and cx.confirmed
    assert cx.instance.source.name == "logistic"       # the quadratics all converge
    assert [d for d, _ in cx.confirmations] == [30, 60]
    assert all(j.violated for _, j in cx.confirmations)
    assert "confirmed at 30 and 60 digits" in result.reason
    # shrunk: the simplest start (w0 = 0)
    assert cx.instance.theta0 == (Fraction(0),)


def test_gd_below_one_is_refuted_on_a_sharp_quadratic_and_the_file_replays(tmp_path: Path, capsys) -> None:
    result = check(GdDecreasesBelowOne(), profile="ci", out_dir=tmp_path,
                   claim_ref=f"{PLANTED}::gd_decreases_below_one")
    assert result.verdict is Verdict.COUNTEREXAMPLE, result.reason
    cx = result.counterexample
    assert cx is not None and cx.file is not None and Path(cx.file).parent.name == "counterexamples"
    # exact confirmation: a rational margin below zero
    assert all(isinstance(j.margin, Fraction) and j.margin < 0 for _, j in cx.confirmations)
    eta = cx.instance.param("step_size")
    assert 0 < eta < 1
    # the replay command judges the written instance again: exit 1, the same verdict
    assert cx.replay == f"verify check {PLANTED}::gd_decreases_below_one --problem {cx.file}"
    argv = cx.replay.split()[1:] + ["--out", str(tmp_path / "replay"), "--json"]
    assert main(argv) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["verdict"] == "counterexample" and doc["instances"] == 1
    assert Instance.load(cx.file) == cx.instance or Instance.load(cx.file).to_dict() == cx.instance.to_dict()


def test_flow_limit_is_infimum_is_refuted_by_a_non_global_minimum(tmp_path: Path) -> None:
    result = check(FlowLimitIsInfimum(), profile="ci", out_dir=tmp_path)
    assert result.verdict is Verdict.COUNTEREXAMPLE, result.reason
    cx = result.counterexample
    assert cx is not None
    # the flow ended in the right-hand (non-global) well
    assert cx.instance.theta0[0] > 0
    assert all(j.margin < -0.1 for _, j in cx.confirmations)


@pytest.mark.parametrize("claim", [GdDecreasesBelowTwoOverCurvature(), QuadraticFlowsConverge()],
                         ids=lambda c: c.id)
def test_true_claims_get_no_counterexample(claim, tmp_path: Path) -> None:
    result = assert_claim(claim, profile="ci", out_dir=tmp_path)
    assert result.instances >= 10 and result.counterexample is None
    assert "does not prove" in result.reason and "derandomized" in result.reason
    assert not (tmp_path / "counterexamples").exists()


def test_a_violation_that_does_not_survive_higher_precision_is_inconclusive(tmp_path: Path) -> None:
    result = check(FloatNoise(), profile="ci", out_dir=tmp_path)
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "not a counterexample" in result.reason and "did not survive" in result.reason
    assert result.counterexample is not None and not result.counterexample.confirmed
    assert Path(result.counterexample.file).parent.name == "candidates"


def test_assert_claim_fails_with_the_instance_and_the_replay(tmp_path: Path) -> None:
    with pytest.raises(AssertionError) as info:
        assert_claim(GdDecreasesBelowOne(), profile="quick", out_dir=tmp_path)
    text = str(info.value)
    assert "expected consistent, got counterexample" in text
    assert "[instance]" in text and "step_size" in text and "replay: verify check" in text


def test_same_seed_same_result(tmp_path: Path) -> None:
    a = check(GdDecreasesBelowOne(), profile="quick", seed=7, out_dir=tmp_path)
    b = check(GdDecreasesBelowOne(), profile="quick", seed=7, out_dir=tmp_path)
    assert a.to_json()["counterexample"] == b.to_json()["counterexample"]
    def numbers(result):   # the evidence without its wall times
        return [{k: v for k, v in e.items() if k != "cost_s"} for e in result.evidence]

    assert numbers(a) == numbers(b) and a.instances == b.instances
    assert all(e["cost_s"] >= 0 for e in a.evidence)
