"""Problem files: exact reading, the data kinds, writing back, and every kind of bad input."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from verify import InputError, Network, load_problem, parse_problem

BASE = """
[network]
widths = [1, 2, 1]
activation = "tanh"
[data]
points = ["-1", "-1/2", "0", "1/2", "1"]
[target]
expr = "x**2"
[init]
theta = ["1/2", "0", "2", "0", "1", "-1", "0.1"]
"""


def with_(section: str, body: str) -> str:
    """BASE with one table replaced."""
    out, skip = [], False
    for line in BASE.strip().splitlines():
        if line.startswith("["):
            skip = line.strip() == f"[{section}]"
            if skip:
                out.append(f"[{section}]")
                out.append(body)
                continue
        if not skip:
            out.append(line)
    return "\n".join(out)


def test_numbers_are_read_exactly() -> None:
    p = parse_problem(BASE)
    assert p.init.theta is not None
    assert p.init.theta[-1] == Fraction(1, 10)  # "0.1" is one tenth, not a binary float
    assert [pt[0] for pt in p.data.points] == [Fraction(-1), Fraction(-1, 2), 0, Fraction(1, 2), 1]


def test_toml_floats_are_taken_at_their_decimal_text() -> None:
    p = parse_problem(with_("init", "theta = [0.1, 0, 2, 0, 1, -1, 1e-3]"))
    assert p.init.theta is not None
    assert p.init.theta[0] == Fraction(1, 10) and p.init.theta[-1] == Fraction(1, 1000)


def test_grid_sample_and_interval() -> None:
    grid = parse_problem(with_("data", 'grid = { start = "-1", stop = "1", num = 5 }'))
    assert [c[0] for c in grid.data.points] == [Fraction(k, 2) for k in range(-2, 3)]
    two_d = parse_problem(with_("data", 'grid = { start = "0", stop = "1", num = 3 }')
                          .replace("[1, 2, 1]", "[2, 2, 1]").replace('"x**2"', '"x1*x2"')
                          .replace('theta = ["1/2", "0", "2", "0", "1", "-1", "0.1"]',
                                   'theta = ["1", "2", "3", "4", "5", "6", "7", "8", "9"]'))
    assert two_d.data.n == 9 and (Fraction(1, 2), Fraction(1)) in two_d.data.points
    s1 = parse_problem(with_("data", 'sample = { low = "-1", high = "1", num = 50, seed = 3 }'))
    s2 = parse_problem(with_("data", 'sample = { low = "-1", high = "1", num = 50, seed = 3 }'))
    assert s1.data.points == s2.data.points and all(-1 <= c[0] <= 1 for c in s1.data.points)
    iv = parse_problem(with_("data", 'interval = ["0", "1/2"]'))
    assert iv.data.interval == (0, Fraction(1, 2)) and iv.data.kind == "interval"


def test_init_schemes_are_seeded() -> None:
    text = with_("init", 'scheme = "normal"\nscale = "1/2"\nseed = 7\nensemble = 4')
    a, b = parse_problem(text), parse_problem(text)
    ta, tb = a.init.thetas(a.network), b.init.thetas(b.network)
    assert ta.shape == (4, 7) and np.array_equal(ta, tb)
    # the exact members are the floats' exact values
    assert a.initial_exact(2) == tuple(Fraction(float(v)) for v in ta[2])
    xa = parse_problem(with_("init", 'scheme = "xavier_uniform"\nseed = 1\nensemble = 3'))
    th = xa.init.thetas(xa.network)
    bound1, bound2 = (6 / 3) ** 0.5, (6 / 3) ** 0.5
    assert np.all(np.abs(th[:, 0:2]) <= bound1) and np.all(th[:, 2:4] == 0) and np.all(th[:, 6] == 0)
    assert np.all(np.abs(th[:, 4:6]) <= bound2) and np.any(th[:, 0:2] != 0)


def test_round_trip_through_toml() -> None:
    for text in (BASE, with_("data", 'interval = ["-1", "2"]'),
                 with_("init", 'scheme = "xavier_uniform"\nseed = 2\nensemble = 3')):
        p = parse_problem(text)
        q = parse_problem(p.to_toml())
        assert q.network == p.network and q.data.points == p.data.points and q.data.interval == p.data.interval
        assert q.target == p.target and q.factor == p.factor and q.init == p.init


def test_layout_matches_the_guide() -> None:
    net = Network(widths=(2, 3, 1))
    assert net.n_params == 3 * 3 + 1 * 4
    assert net.param_names()[:7] == ("W1[0,0]", "W1[0,1]", "W1[1,0]", "W1[1,1]", "W1[2,0]", "W1[2,1]", "b1[0]")
    assert Network(widths=(2, 3, 1), biases=False).n_params == 9


BAD = [
    ("unknown activation", with_("network", 'widths = [1, 2, 1]\nactivation = "sigmoidal"'), "network.activation"),
    ("empty widths", with_("network", 'widths = []\nactivation = "tanh"'), "network.widths"),
    ("zero width", with_("network", 'widths = [1, 0, 1]\nactivation = "tanh"'), "network.widths"),
    ("theta too short", with_("init", 'theta = ["1", "2"]'), "init.theta"),
    ("unknown symbol", with_("target", 'expr = "x**2 + y"'), "target.expr"),
    ("bad expression", with_("target", 'expr = "x**"'), "target.expr"),
    ("infinite datum", with_("data", 'points = ["-1", inf]'), "data.points[1]"),
    ("nan datum", with_("data", 'points = [nan, "1"]'), "data.points[0]"),
    ("text datum", with_("data", 'points = ["one"]'), "data.points[0]"),
    ("mixed dimensions", with_("data", 'points = [["1", "2"], "3"]'), "data.points"),
    ("wrong dimension", with_("data", 'points = [["1", "2"]]'), "data"),
    ("two data kinds", with_("data", 'points = ["1"]\ninterval = ["0", "1"]'), "[data]"),
    ("empty interval", with_("data", 'interval = ["1", "1"]'), "data.interval"),
    ("target not finite", with_("target", 'expr = "1/x"'), "target.expr"),
    ("malformed toml", BASE.replace("widths = [1, 2, 1]", "widths = [1, 2"), "problem file"),
    ("negative factor", BASE + '\n[loss]\nfactor = "-1"\n', "loss.factor"),
    ("unknown key", BASE.replace('activation = "tanh"', 'activation = "tanh"\nwidth = 3'), "network.width"),
    ("leaky slope", with_("network", 'widths = [1, 2, 1]\nactivation = "leaky_relu"\nslope = "2"'),
     "network.slope"),
    ("deep relu integral", with_("network", 'widths = [1, 2, 2, 1]\nactivation = "relu"')
     .replace('points = ["-1", "-1/2", "0", "1/2", "1"]', 'interval = ["0", "1"]'), "network.widths"),
]


@pytest.mark.parametrize(("case", "text", "field"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_names_the_field(case: str, text: str, field: str) -> None:
    with pytest.raises(InputError) as info:
        parse_problem(text)
    assert isinstance(info.value, ValueError)
    assert str(info.value).startswith(field + " = "), str(info.value)
    assert info.value.fix  # a fix is always offered


def test_missing_file(tmp_path) -> None:
    with pytest.raises(InputError, match="FILE"):
        load_problem(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(InputError, match="FILE"):
        load_problem(bad)
