"""Certified tier: Krawczyk certification and the lower-bound branch and bound, ball arithmetic (python-flint)
against the mpmath.iv implementations they replaced (frozen copies in bench/_iv_certify.py, bench/_iv_bnb.py).

* ``krawczyk_d7``, ``krawczyk_d13``: ``certify_critical_point`` at the exact global minimum of a 1-2-1 (d = 7) and a
  1-4-1 (d = 13) tanh teacher-student problem (targets realized by the teacher network, 3h + 4 points on [-3, 3]),
  30 digits. End to end (model building + proof) and run only (the proof with the model built: for the peer, the
  interval evaluation after SymPy's differentiation and cse). Both sides must certify the same inertia; the loss
  enclosures must contain the true value 0. Goal: at least 10x faster end to end.
* ``lower_bound``: ``loss_lower_bound`` on |theta| <= 1 for a 1-1-1 tanh network, x^2 on 7 points, against the iv
  branch and bound with the same number of box evaluations; then l(1/2), boxes and time for 1-h-1 networks,
  h = 1..8 (d = 4..25), printed as a table. Goal: faster per box, bound at least as high.
"""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Any, Callable

from bench._common import Result, median_time
from verify import certify_critical_point, loss_lower_bound, parse_problem


def teacher(h: int) -> tuple[Any, list[Fraction]]:
    """A 1-h-1 tanh problem whose targets a teacher network with exact parameters realizes: theta* is the global
    minimum (L = 0), isolated for these distinct neurons and 3h + 4 spread points."""
    w = [Fraction(2 + i, 2) * (-1) ** i for i in range(h)]
    b = [Fraction(2 * i - h, 2) for i in range(h)]
    v = [Fraction(3 + (i % 3), 4) * (-1) ** (i // 2) for i in range(h)]
    c = Fraction(1, 3)
    terms = " + ".join(f"({vi})*tanh(({wi})*x + ({bi}))" for wi, bi, vi in zip(w, b, v))
    n = 3 * h + 4
    pts = ", ".join(f'"{3 * (Fraction(2 * i, n - 1) - 1)}"' for i in range(n))
    theta = [*w, *b, *v, c]
    prob = parse_problem(f"""
[network]
widths = [1, {h}, 1]
activation = "tanh"
[data]
points = [{pts}]
[target]
expr = "{terms} + ({c})"
[init]
theta = [{", ".join(f'"{t}"' for t in theta)}]
""", name=f"teacher-1-{h}-1")
    return prob, theta


def _krawczyk(h: int, repeat: int) -> Result:
    from bench import _iv_certify as peer
    from verify.critical import certify as _certify
    from verify.critical.arb import precision

    prob, theta = teacher(h)
    d = prob.n_params
    ours = certify_critical_point(prob, theta, dps=30)
    t0 = time.perf_counter()
    theirs = peer.certify_critical_point(prob, theta, dps=30)
    peer_end = time.perf_counter() - t0
    assert ours.certified and theirs.certified, (ours.reason, theirs.reason)
    assert ours.inertia == theirs.inertia == (0, 0, d)
    for cert in (ours, theirs):
        assert cert.loss_enclosure is not None
        lo, hi = (Fraction(v) for v in cert.loss_enclosure)
        assert lo <= 0 <= hi
    ours_end = median_time(lambda: certify_critical_point(prob, theta, dps=30), repeat)
    peer_end = min(peer_end, median_time(lambda: peer.certify_critical_point(prob, theta, dps=30),
                                         max(1, min(repeat, 3)), warmup=0))
    # run only: the proof with the model already built
    values = _certify._exact_theta(prob, theta)
    model = _certify.enclosure_model(prob, values)
    assert not isinstance(model, str)
    shown = tuple(str(v) for v in values)

    def ours_run() -> object:
        with precision(30):
            return _certify._certify(prob, model, values, shown, 1e-15 * 3, 30, True)

    ours_run_s = median_time(ours_run, repeat)
    peer_run_s = _peer_run_only(peer, prob, values, repeat)
    width = {name: float(Fraction(c.loss_enclosure[1]) - Fraction(c.loss_enclosure[0]))
             for name, c in (("ours", ours), ("peer", theirs)) if c.loss_enclosure}
    ratio = peer_end / ours_end
    return Result(f"krawczyk_d{d}", f"certify_critical_point (Arb), 1-{h}-1 tanh teacher, d = {d}, 30 digits",
                  "the former mpmath.iv certification (SymPy gradient and Hessian, iv evaluation)",
                  ours_end, peer_end, ratio, "at least 10x faster end to end", ratio >= 10,
                  f"run only: ours {ours_run_s:.4g} s, peer {peer_run_s:.4g} s, ratio {peer_run_s / ours_run_s:.3g}; "
                  f"both prove inertia (0, 0, {d}); loss enclosure widths ours {width['ours']:.2g}, "
                  f"peer {width['peer']:.2g}; box radius ours {ours.box_radius}, peer {theirs.box_radius}")


def _peer_run_only(peer: Any, prob: Any, values: Any, repeat: int) -> float:
    import mpmath
    import sympy
    from mpmath import iv

    piece = peer.smooth_piece(prob, values)
    grads = [sympy.diff(piece.expr, s) for s in piece.symbols]
    hess = [[sympy.diff(g, s) for s in piece.symbols] for g in grads]
    g_prog = peer._IvProgram(grads, piece.symbols)
    h_prog = peer._IvProgram([h for row in hess for h in row], piece.symbols)
    l_prog = peer._IvProgram([piece.expr], piece.symbols)
    d = len(values)
    shown = tuple(str(v) for v in values)

    def run() -> object:
        ctx = mpmath.MPContext()
        ctx.dps = 40
        saved = iv.prec
        try:
            iv.prec = ctx.prec + 8
            cert = peer._krawczyk(ctx, piece, values, shown, g_prog, h_prog, l_prog, None, 3e-15, 30, None, None, d)
            assert cert.certified
            return cert
        finally:
            iv.prec = saved

    return median_time(run, max(1, min(repeat, 3)), warmup=0)


def bench_krawczyk_d7(repeat: int) -> Result:
    return _krawczyk(2, repeat)


def bench_krawczyk_d13(repeat: int) -> Result:
    return _krawczyk(4, repeat)


def bench_lower_bound(repeat: int) -> Result:
    from bench import _iv_bnb
    from theorems import _sad

    xs = _sad.grid(7)
    ys = [x * x for x in xs]
    prob = _sad.problem("tanh", (1, 1, 1), "x**2", xs, [Fraction(0)] * 4)
    splits = 300
    ours_res = loss_lower_bound(prob, 1, boxes=2 * splits)   # explored boxes = 2 x splits of the peer
    peer_lb = _iv_bnb.bnb_lower_bound("tanh", 1, xs, ys, Fraction(1), boxes=splits)[0]
    reps = max(1, min(repeat, 3))
    ours_s = median_time(lambda: loss_lower_bound(prob, 1, boxes=2 * splits), reps, warmup=0)
    peer_s = median_time(lambda: _iv_bnb.bnb_lower_bound("tanh", 1, xs, ys, Fraction(1), boxes=splits), reps,
                         warmup=0)
    rows = []
    for h in range(1, 9):
        d = 3 * h + 1
        p = _sad.problem("tanh", (1, h, 1), "x**2", _sad.grid(d + 2), [Fraction(0)] * d)
        r = loss_lower_bound(p, Fraction(1, 2), boxes=300)
        rows.append(f"h={h} d={d}: l(1/2)={float(r.bound):.4g} boxes={r.boxes} {r.time_s:.2f}s")
    met = ours_s < peer_s and ours_res.bound >= Fraction(str(peer_lb))
    return Result("lower_bound", f"loss_lower_bound (Arb), 1-1-1 tanh, x^2 on 7 points, R = 1, {2 * splits} boxes: "
                  f"l = {float(ours_res.bound):.4g}",
                  f"the former mpmath.iv branch and bound, {splits} splits: l = {float(peer_lb):.4g}",
                  ours_s, peer_s, peer_s / ours_s, "faster, with a bound at least as high", met,
                  "1-h-1 tanh, x^2 on d + 2 points, R = 1/2, 300 boxes: " + "; ".join(rows))


BENCHMARKS: dict[str, Callable[[int], Result]] = {
    "krawczyk_d7": bench_krawczyk_d7,
    "krawczyk_d13": bench_krawczyk_d13,
    "lower_bound": bench_lower_bound,
}
