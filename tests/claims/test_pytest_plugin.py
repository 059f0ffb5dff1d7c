"""The pytest plugin: conjecture files are collected as tests, a failure shows the shrunk
instance, its margins and the replay command, and a confirmed counterexample is kept in
Hypothesis' example database and judged first next time.

The oracle is pytest itself, run in a fresh process on a scratch folder (``pytester``), and the
closed form of the conjectures: one GD step with eta = 3/4 on a w^2 / 2 increases the loss
exactly when 3a/4 > 2; a w^2 / 2 >= 0 always.
"""

from __future__ import annotations

import pytest

CONJECTURES = '''
from hypothesis import strategies as st
from verify import ExprLandscape, Instance, conjecture, strategies as vst

quadratics = st.builds(lambda a, w: Instance(ExprLandscape(f"({a})*w**2/2", ["w"]), (w,), {"step_size": "3/4"}),
                       vst.rationals(min_value=1, max_value=4), vst.rationals(min_value=-2, max_value=2))

@conjecture(quadratics, exact=True)
def gd_step_decreases(case):
    """One GD step with eta = 3/4 never increases a w^2/2"""
    w = case.theta0
    return case.loss() - case.loss([w[0] - case.param("step_size") * case.landscape.grad(w)[0]])

@conjecture(quadratics, exact=True)
def loss_nonnegative(case):
    """a w^2 / 2 >= 0"""
    return case.loss()
'''


@pytest.fixture
def folder(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.mkdir("my_conjectures")
    (pytester.path / "my_conjectures" / "quadratics.py").write_text(CONJECTURES)
    (pytester.path / "helpers.py").write_text(CONJECTURES)            # not a conjecture file: not collected
    return pytester


def test_conjecture_files_are_tests_and_failures_say_how_to_replay(folder: pytest.Pytester) -> None:
    result = folder.runpytest_subprocess("-p", "no:cacheprovider", "--verify-profile", "quick", ".")
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert "gd_step_decreases: COUNTEREXAMPLE" in out and "confirmed in exact arithmetic" in out
    assert "exact: margin -" in out and "shrunk instance:" in out and "[instance]" in out
    assert "replay: verify check" in out and "my_conjectures/quadratics.py::gd_step_decreases" in out
    assert "helpers.py" not in out
    # the counterexample went to Hypothesis' database: the next run judges it first
    again = folder.runpytest_subprocess("-p", "no:cacheprovider", ".")
    again.assert_outcomes(passed=1, failed=1)
    assert "replayed from the example database" in again.stdout.str()


def test_the_profile_option_reaches_the_check(folder: pytest.Pytester) -> None:
    result = folder.runpytest_subprocess("-p", "no:cacheprovider", "--verify-profile", "nonsense", ".")
    assert result.ret != 0
    assert "profile = 'nonsense'" in result.stdout.str()
