r"""The critical points and critical values of the integral loss of shallow ReLU networks.

Statement (Cheridito, Jentzen, Rossmannek, J. Nonlinear Sci. 32 (2022), the classification
behind arXiv:2208.02083; theorems.md section 2, in our own derivation). For a network
N(x) = c + sum_j v_j s(w_j x + b_j) with N hidden neurons and the loss
L = int_a^b (N(x) - alpha x - beta)^2 dx:

* ReLU: the critical values are 0 and alpha^2 (b - a)^3 / (12 (k + 1)^4) for even
  0 <= k <= N. k = 0 is the constant fit f((a + b)/2) (a non-global local minimum when all
  neurons are strictly dead); even k >= 2 is the zig-zag (continuous, piecewise linear, knots
  a + i (b - a)/(k + 1), interpolating f at the midpoints of its pieces), a strict saddle.
* leaky ReLU: no non-global local minima; the constant fit (all hidden parameters 0) is a
  critical point with value alpha^2 (b - a)^3 / 12. (The guide gives no classification of the
  other leaky-ReLU saddle values: the ones the search finds are reported, not judged.)

Method. (1) The classified points are built exactly (``verify.relu_zigzag_point`` for every
even k <= N, ``verify.relu_constant_fit_point``) and checked in
exact arithmetic: grad L = 0, L equals the formula, and the Hessian's inertia (exact, from the
characteristic polynomial) where L is twice differentiable. (2) An independent search:
``find_critical_points`` from random starts (Levenberg-Marquardt on grad L, Newton refinement
at 20 digits in the judgement, at ``dps`` in the confirmation); every critical value found is
compared with the classification at relative tolerance 1e-8 of alpha^2 (b - a)^3, and the
kinds of smooth points are compared too (ReLU zig-zag values: saddles; minima only at 0 or at
the constant fit; leaky ReLU: minima only at 0). A value outside the classification is a
counterexample candidate; the engine confirms it by re-running the search at ``dps`` and 2 dps
digits before it is called one.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import mpmath
import numpy as np

from verify import (
    Claim,
    Instance,
    Judgement,
    NpLandscape,
    Profile,
    certify_critical_point,
    find_critical_points,
    landscape,
    relu_constant_fit_point,
    relu_critical_values,
    relu_setting,
    relu_zigzag_point,
)

from ._relu_common import relu_instances, scale_of

#: relative tolerance (of alpha^2 (b - a)^3) at which a found value matches a classified one
VALUE_TOL = 1e-8


def constructed_points(problem: Any) -> list[tuple[str, tuple[Fraction, ...], Fraction]]:
    """(label, exact theta, classified value) of every classified point built for ``problem``."""
    s = relu_setting(problem)
    assert not isinstance(s, str)
    scale = s.alpha ** 2 * s.length ** 3
    out = [("constant fit (k = 0)", relu_constant_fit_point(problem), scale / 12)]
    if s.activation == "relu":
        for k in range(2, s.n_hidden + 1, 2):
            out.append((f"zig-zag k = {k}", relu_zigzag_point(problem, k), scale / (12 * (k + 1) ** 4)))
    return out


def exact_checks(problem: Any, *, inertia: bool) -> list[dict[str, Any]]:
    """Exact gradient, loss and (optionally) Hessian inertia of the constructed points."""
    exact = landscape(problem, tier="exact")
    rows = []
    for label, theta, value in constructed_points(problem):
        grad_zero = all(g == 0 for g in exact.grad(theta))
        loss = exact.loss(theta)
        row: dict[str, Any] = {"point": label, "theta": [str(v) for v in theta], "value": str(value),
                               "grad_zero": bool(grad_zero), "loss_exact": str(loss),
                               "loss_matches": bool(loss == value)}
        if inertia and problem.network.activation == "relu":
            cert = certify_critical_point(problem, theta)
            row["inertia"] = list(cert.inertia) if cert.inertia else None
            row["inertia_note"] = cert.reason if cert.inertia is None else cert.inertia_method
            row["kind"] = cert.kind
        rows.append(row)
    return rows


class ReluCriticalPointsClassified(Claim):
    title = "The critical values of shallow ReLU / leaky ReLU networks on an interval are the classified ones"
    statement = (r"For $\mathcal N(x) = c + \sum_{j=1}^N v_j s(w_j x + b_j)$, $L = \int_a^b (\mathcal N - \alpha x "
                 r"- \beta)^2\,dx$: for ReLU the critical values are $0$ and $\alpha^2 (b-a)^3 / (12 (k+1)^4)$, $k$ "
                 r"even, $0 \le k \le N$ (zig-zag points, strict saddles for $k \ge 2$; non-global minima only at "
                 r"the constant fit $k = 0$); for leaky ReLU there are no non-global local minima.")
    source = ("Cheridito, Jentzen, Rossmannek, J. Nonlinear Sci. 32 (2022) (classification), as derived in "
              "theorems.md section 2 for arXiv:2208.02083")
    hypotheses = (
        "a [1, N, 1] network with biases and an affine output layer, N >= 1",
        "activation relu or leaky_relu",
        "the integral loss (factor 1) on an interval [a, b]",
        "an affine target alpha x + beta with rational coefficients",
    )
    method = ("Exact: the zig-zag points (every even k <= N) and the constant fit are built with "
              "rational coordinates; grad L = 0 and L = formula are checked in SymPy, the Hessian's inertia from "
              "its characteristic polynomial where L is twice differentiable. Search: find_critical_points with "
              "24 * horizon random starts (seeded by the instance), Newton at 20 digits (judge) / dps (confirm); "
              f"found values match a classified value within {VALUE_TOL:g} alpha^2 (b - a)^3; kinds of smooth points "
              "checked (relu: minima only at 0 or alpha^2 (b-a)^3/12, zig-zag values saddles; leaky relu: minima "
              "only at 0). margin = the smallest slack of these tests, relative to alpha^2 (b - a)^3.")

    def instances(self, profile: Profile) -> Any:
        return relu_instances(max_hidden=4 if profile.name != "quick" else 3)

    def check_hypotheses(self, instance: Instance) -> str | None:
        s = relu_setting(instance.source)
        return s if isinstance(s, str) else None

    def _judge(self, instance: Instance, profile: Profile, dps: int) -> Judgement:
        prob = instance.source
        s = relu_setting(prob)
        assert not isinstance(s, str)
        scale = scale_of(prob)
        values = relu_critical_values(prob)
        seed = int(instance.params.get("seed", "0"))
        margins: list[float] = []
        failures: list[str] = []
        # (1) the classified points, exactly
        rows = exact_checks(prob, inertia=dps > 20 or s.n_hidden <= 3)
        for row in rows:
            ok = row["grad_zero"] and row["loss_matches"]
            if row.get("kind") is not None and row["point"].startswith("zig-zag") and row["kind"] != "saddle":
                ok = False
            margins.append(1.0 if ok else -1.0)
            if not ok:
                failures.append(f"constructed {row['point']} fails an exact check")
        # (2) the independent search
        starts = max(8, int(24 * profile.horizon))
        res = find_critical_points(prob, starts=starts, seed=seed % (2**31), flow_t1=None, dps=dps)
        found: list[dict[str, Any]] = []
        unclassified: list[str] = []
        for p in res.points:
            v = p.loss
            rel = [abs(float(v - mpmath.mpf(c.numerator) / c.denominator)) / float(scale) for c in values]
            near = int(np.argmin(rel))
            matched = rel[near] <= VALUE_TOL
            rec = {"value": mpmath.nstr(v, 15), "relative_value": float(v) / float(scale), "kind": p.kind,
                   "index": p.index, "null_dim": p.null_dim, "hits": p.hits, "nonsmooth": p.nonsmooth,
                   "classified_as": str(values[near]) if matched else None}
            found.append(rec)
            positive = float(v) > VALUE_TOL * float(scale)
            if s.activation == "relu":
                slack = VALUE_TOL - rel[near]
                margins.append(slack / VALUE_TOL)
                if not matched:
                    unclassified.append(rec["value"])
                    failures.append(f"critical value {rec['value']} ({p.kind}) is not in the classification")
                elif p.nonsmooth is None and positive:
                    k_zero = values[near] == scale / 12
                    if p.kind == "minimum" and not k_zero:
                        margins.append(-1.0)
                        failures.append(f"a local minimum at the zig-zag value {values[near]}")
            else:
                if not matched:
                    unclassified.append(rec["value"])   # reported, not judged (module notes)
                if p.nonsmooth is None and p.kind == "minimum" and positive:
                    margins.append(-float(v) / float(scale))
                    failures.append(f"a non-global local minimum of leaky relu at {rec['value']}")
        margin = min(margins) if margins else None
        kinds = sorted({r["kind"] for r in found})
        summary = (f"N={s.n_hidden} {s.activation}: {len(rows)} classified points exact; search found "
                   f"{len(found)} point(s), values / (alpha^2 (b-a)^3) "
                   f"{sorted({round(r['relative_value'], 8) for r in found})}"
                   + (f"; FAILURES: {'; '.join(failures)}" if failures else "")
                   + (f"; leaky values outside {{0, const fit}}: {unclassified}" if unclassified
                      and s.activation != "relu" else ""))
        evidence = {"outcome": "unclassified value" if (unclassified and s.activation == "relu") else
                    ("all classified" if not failures else "failure"),
                    "classified_values": [str(v) for v in values], "exact_checks": rows, "found": found,
                    "kinds": kinds, "unclassified_values": unclassified, "search_note": res.note,
                    "starts": starts, "dps": dps}
        return Judgement(margin, summary, evidence)

    def judge(self, instance: Instance, profile: Profile) -> Judgement:
        return self._judge(instance, profile, 20)

    def confirm(self, instance: Instance, profile: Profile, dps: int) -> Judgement:
        return self._judge(instance, profile, dps)


__all__ = ["ReluCriticalPointsClassified", "constructed_points", "exact_checks", "NpLandscape"]
