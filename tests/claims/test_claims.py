"""The claim abstraction, the engine's verdicts, run records, and the list/check/conjecture commands."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st

from verify import (
    PROFILES,
    Claim,
    ExprLandscape,
    InputError,
    Instance,
    Judgement,
    Verdict,
    check,
    get_profile,
    load_claims,
    parse_problem,
)
from verify import strategies as vst
from verify.cli import main

from ..conftest import EXAMPLES

ROOT = Path(__file__).resolve().parents[2]

SMOOTH_ONLY = """
[network]
widths = [1, 2, 1]
activation = "relu"
[data]
points = [["0"], ["1"]]
[target]
expr = "x"
[init]
theta = ["1", "0", "1", "0", "1", "1", "0"]
"""


class NeedsAnalytic(Claim):
    """Judged on network problems; needs an analytic activation."""

    id = "needs_analytic"
    title = "The loss at theta0 is non-negative"
    statement = r"$L(\theta_0) \ge 0$"
    source = "test"
    hypotheses = ("the activation is real analytic",)

    def instances(self, profile: Any) -> Any:
        net = vst.networks(max_depth=1, max_width=2, activation=vst.activations(smooth_only=True))
        return vst.instances(problem=vst.problems(network=net))

    def check_hypotheses(self, instance: Instance) -> str | None:
        net = instance.source.network
        if not net.info.analytic:
            return f"the activation is real analytic: {net.activation} is not"
        return None

    def judge(self, instance: Instance, profile: Any) -> Judgement:
        from verify import NpLandscape

        loss = float(NpLandscape(instance.source).loss([float(v) for v in instance.theta0]))
        return Judgement(loss, f"L = {loss:.4g}", {"loss": loss, "outcome": "held"})


class Broken(Claim):
    id = "broken"
    title = "a claim whose judge fails"

    def instances(self, profile: Any) -> Any:
        return st.builds(lambda w: Instance(ExprLandscape("w**2", ["w"]), (w,)), vst.rationals())

    def judge(self, instance: Instance, profile: Any) -> Judgement:
        raise ZeroDivisionError("planted")


class NoConfirmation(Claim):
    id = "no_confirmation"
    title = "w0 >= 1 (false, with no higher-precision check)"

    def instances(self, profile: Any) -> Any:
        return st.builds(lambda w: Instance(ExprLandscape("w**2", ["w"]), (w,)), vst.rationals())

    def judge(self, instance: Instance, profile: Any) -> Judgement:
        return Judgement(float(instance.theta0[0]) - 1)


class NeverDecides(Claim):
    id = "never_decides"
    title = "undecidable here"

    def instances(self, profile: Any) -> Any:
        return st.just(Instance(ExprLandscape("w**2", ["w"]), ("0",)))

    def judge(self, instance: Instance, profile: Any) -> Judgement:
        return Judgement(None, "horizon too short")


# ---------------------------------------------------------------------------------------
# Verdicts
# ---------------------------------------------------------------------------------------

def test_consistent_states_n_profile_and_seed_and_never_proves(tmp_path: Path) -> None:
    record = tmp_path / "runs" / "r.jsonl"
    result = check(NeedsAnalytic(), profile="quick", seed=3, record=record)
    assert result.verdict is Verdict.CONSISTENT and result.exit_code == 0
    assert f"in {result.instances} decided instances" in result.reason
    assert "profile quick, seed 3" in result.reason and "does not prove" in result.reason
    assert "proved" not in result.reason.replace("does not prove", "")
    assert result.evidence and all("instance" in e and "margin" in e for e in result.evidence)
    line = json.loads(record.read_text().splitlines()[0])
    for key in ("claim", "verdict", "instances", "evidence", "counterexample", "claim_info", "profile",
                "provenance", "seed", "wall_s"):
        assert key in line
    assert line["claim_info"]["hypotheses"] == ["the activation is real analytic"]
    assert line["profile"]["name"] == "quick" and line["provenance"]["numpy"]
    # every check appends one line
    check(NeedsAnalytic(), profile="quick", seed=3, record=record)
    assert len(record.read_text().splitlines()) == 2


def test_not_applicable_names_the_hypothesis() -> None:
    inst = Instance(parse_problem(SMOOTH_ONLY), parse_problem(SMOOTH_ONLY).initial_exact(0))
    result = check(NeedsAnalytic(), instance=inst, profile="quick")
    assert result.verdict is Verdict.NOT_APPLICABLE and result.exit_code == 4
    assert "relu is not" in result.reason and "real analytic" in result.reason


def test_a_failing_judge_is_inconclusive_with_the_error() -> None:
    result = check(Broken(), profile="quick")
    assert result.verdict is Verdict.INCONCLUSIVE and result.exit_code == 3
    assert "ZeroDivisionError: planted" in result.reason


def test_a_violation_without_confirmation_is_inconclusive() -> None:
    result = check(NoConfirmation(), profile="quick")
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "no higher-precision check" in result.reason
    assert result.counterexample is not None and not result.counterexample.confirmed


def test_no_decided_instance_is_inconclusive() -> None:
    result = check(NeverDecides(), profile="quick")
    assert result.verdict is Verdict.INCONCLUSIVE and "decided" in result.reason


def test_profiles_and_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert set(PROFILES) == {"quick", "ci", "thorough"}
    assert PROFILES["ci"].derandomize and PROFILES["thorough"].max_examples > PROFILES["ci"].max_examples
    assert PROFILES["thorough"].dps > PROFILES["ci"].dps and PROFILES["thorough"].horizon > PROFILES["ci"].horizon
    monkeypatch.setenv("VERIFY_PROFILE", "thorough")
    assert get_profile().name == "thorough"
    monkeypatch.delenv("VERIFY_PROFILE")
    assert get_profile().name == "quick"
    with pytest.raises(InputError) as info:
        get_profile("fast")
    assert info.value.field == "profile"


# ---------------------------------------------------------------------------------------
# Instances
# ---------------------------------------------------------------------------------------

def test_instance_files_round_trip(tmp_path: Path) -> None:
    prob = parse_problem(SMOOTH_ONLY)
    for inst in (Instance(prob, prob.initial_exact(0), {"step_size": Fraction(1, 3)}),
                 Instance(ExprLandscape("(x*y - 1)**2 + y**2", ["x", "y"], name="xy"), ("1/2", 3))):
        path = tmp_path / f"{inst.key()}.toml"
        path.write_text(inst.to_toml())
        back = Instance.load(path)
        assert back.to_dict() == inst.to_dict() and back.key() == inst.key()
    assert inst.theta0 == (Fraction(1, 2), Fraction(3))


def test_instance_bad_input() -> None:
    land = ExprLandscape("w**2", ["w"])
    with pytest.raises(InputError) as info:
        Instance(land, ("half",))
    assert info.value.field == "instance.theta0[0]"
    with pytest.raises(InputError) as info:
        Instance(land, ("1", "2"))
    assert info.value.field == "instance.theta0" and "give exactly 1" in str(info.value)
    with pytest.raises(InputError) as info:
        Instance(land, None, {"step_size": "fast"})
    assert info.value.field == "instance.params.step_size"
    with pytest.raises(InputError) as info:
        Instance(land).param("step_size")
    assert info.value.field == "params.step_size"
    with pytest.raises(InputError):
        Instance.load("/nonexistent/file.toml")


def test_a_problem_files_init_theta_is_the_start(tmp_path: Path) -> None:
    # [init] theta is theta0 when [instance] has none; [instance] theta0 wins where both are given
    inst = Instance.load(EXAMPLES / "tanh-1-2-1.toml")
    assert inst.theta0 == parse_problem((EXAMPLES / "tanh-1-2-1.toml").read_text()).initial_exact(0)
    assert inst.theta0 == (Fraction(1, 2), Fraction(-1), Fraction(0), Fraction(1, 4), Fraction(2), Fraction(1),
                           Fraction(0))
    own = tmp_path / "own.toml"
    own.write_text((EXAMPLES / "tanh-1-2-1.toml").read_text() + '\n[instance]\ntheta0 = ["1", "0", "0", "0", "0", "0", '
                   '"0"]\n')
    assert Instance.load(own).theta0 == (Fraction(1),) + (Fraction(0),) * 6
    # a seeded scheme gives no single start: theta0 stays None (claims then draw from the problem's init)
    assert Instance.load(EXAMPLES / "tanh-ensemble.toml").theta0 is None


def test_a_missing_parameter_says_how_to_give_it() -> None:
    with pytest.raises(InputError, match=r"\[instance\] params = \{ step_size = \"13/40\" \}"):
        Instance.load(EXAMPLES / "craciun-relu.toml").param("step_size")


def test_network_problem_files_reach_the_judgement(tmp_path: Path) -> None:
    # gd_periodic_orbits on a network problem file used to crash ('Problem' object has no attribute 'np');
    # the paper's two-parameter ReLU network at eta = 13/40 has a stable 2-cycle
    path = tmp_path / "craciun.toml"
    path.write_text((EXAMPLES / "craciun-relu.toml").read_text() + '\n[instance]\nparams = { step_size = "13/40" }\n')
    [claim] = load_claims("gd_periodic_orbits")
    result = check(claim, profile="quick", instance=Instance.load(path), out_dir=tmp_path,
                   record=tmp_path / "runs.jsonl")
    assert result.verdict is Verdict.CONSISTENT, result.reason
    orbits = result.evidence[0]["evidence"]["orbits"]
    assert any(o["period"] == 2 and o["certified_stable"] and o["points"] for o in orbits)


def test_problem_tiers_have_the_expression_interface() -> None:
    prob = parse_problem(SMOOTH_ONLY)
    theta = prob.initial_exact(0)
    assert float(prob.np().loss([float(v) for v in theta])) == pytest.approx(float(prob.mp(25).loss(theta)),
                                                                             rel=1e-13)
    assert float(prob.exact().loss(theta)) == pytest.approx(float(prob.mp(25).loss(theta)), rel=1e-20)


def test_check_rejects_what_is_not_a_claim() -> None:
    with pytest.raises(InputError) as info:
        check(object())  # type: ignore[arg-type]
    assert info.value.field == "claim"
    with pytest.raises(InputError) as info:
        check(NeverDecides(), seed=-1)
    assert info.value.field == "seed"


# ---------------------------------------------------------------------------------------
# Loading claims and the commands
# ---------------------------------------------------------------------------------------

def test_load_claims_from_a_file_and_by_id(tmp_path: Path) -> None:
    claims = load_claims(str(EXAMPLES / "conjecture_classes.py"))
    assert [c.id for c in claims] == ["LossNeverIncreases", "NormNeverDecreases"]
    one = load_claims(f"{EXAMPLES / 'conjecture_classes.py'}::NormNeverDecreases")
    assert len(one) == 1
    decorated = load_claims(str(EXAMPLES / "conjecture_flows.py"))
    assert [c.id for c in decorated] == ["loss_never_increases", "norm_never_decreases"]
    assert decorated[1].title == "|theta| never decreases along a gradient flow (a guess)"
    for ref, field in [("no_such_claim", "CLAIM"), (str(tmp_path / "missing.py"), "CLAIM")]:
        with pytest.raises(InputError) as info:
            load_claims(ref)
        assert info.value.field == field
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    with pytest.raises(InputError, match="defines no claim"):
        load_claims(str(empty))
    broken = tmp_path / "broken.py"
    broken.write_text("def (:\n")
    with pytest.raises(InputError, match="SyntaxError"):
        load_claims(str(broken))


def test_cli_list_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    assert main(["list", "--json"]) == 0
    out = capsys.readouterr().out
    assert out.strip()


@pytest.mark.parametrize("name, ids", [("conjecture_flows.py", ("loss_never_increases", "norm_never_decreases")),
                                       ("conjecture_classes.py", ("LossNeverIncreases", "NormNeverDecreases"))])
def test_cli_conjecture_worked_example(name: str, ids: tuple[str, str], tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """The README's worked example (decorated functions), and the same conjectures as Claim classes
    (the older form keeps working): one consistent, one refuted with a confirmed counterexample."""
    code = main(["conjecture", str(EXAMPLES / name), "--profile", "quick", "--out", str(tmp_path), "--json"])
    docs = json.loads(capsys.readouterr().out)
    verdicts = {d["claim"]: d["verdict"] for d in docs}
    assert verdicts == {ids[0]: "consistent", ids[1]: "counterexample"}
    assert code == 1
    assert len((tmp_path / "runs" / "checks.jsonl").read_text().splitlines()) == 2
    cx = next(d for d in docs if d["verdict"] == "counterexample")["counterexample"]
    assert cx["confirmed"] and cx["replay"].startswith("verify check ")
    # the replay: one instance, the same verdict
    assert main(cx["replay"].split()[1:] + ["--out", str(tmp_path)]) == 1
    assert "COUNTEREXAMPLE" in capsys.readouterr().out


def test_cli_check_json_keys_and_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    claims = tmp_path / "claims.py"
    head = Path(__file__).read_text().split("# -----")[0]
    claims.write_text(head.replace("from ..conftest import EXAMPLES\n", ""))
    problem = tmp_path / "relu.toml"
    problem.write_text(SMOOTH_ONLY)
    assert main(["check", f"{claims}::needs_analytic", "--problem", str(problem), "--out", str(tmp_path),
                 "--json"]) == 4
    doc = json.loads(capsys.readouterr().out)
    assert {"claim", "verdict", "instances", "evidence", "counterexample"} <= set(doc)
    assert doc["verdict"] == "not_applicable"
    assert main(["check", f"{claims}::broken", "--out", str(tmp_path)]) == 3
    assert main(["check", str(claims), "--out", str(tmp_path)]) == 2          # several claims: name one
    assert "FILE.py::ID" in capsys.readouterr().err
    assert main(["check", "no_such_claim"]) == 2
    assert main(["check", f"{claims}::needs_analytic", "--profile", "fast"]) == 2
