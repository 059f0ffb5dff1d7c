r"""Find the critical points of a small landscape, say what each one is, and prove what can be proved.

``find_critical_points`` runs, in order:

1. **Starts.** ``starts`` seeded draws theta ~ N(0, scale^2 I) (plus, for a problem, its own
   initial parameters), and the limits of the float64 gradient flows from them at time
   ``flow_t1`` as extra starts (``solve_flow`` with ``Dop853``).
2. **Levenberg-Marquardt on grad L, vectorized over all starts.** The step solves
   (H^2 + mu I) delta = H g with H = Hess L, g = grad L (the Gauss-Newton step for
   min |g|^2, which is Newton's step as mu -> 0); mu is divided by 3 after a step that lowers
   |g| and multiplied by 4 after one that does not (Marquardt 1963; Nocedal-Wright, ch. 10).
   Members with |g| <= 1e-8 max(1, |H|) max(1, |theta|) are kept.
3. **Symmetries.** For a network, each kept point is put in a canonical form under the maps
   that leave the realization unchanged: permutations of the neurons of each hidden layer;
   for odd activations (tanh, softsign, identity) the flip (w_j, b_j, v_j) -> -(w_j, b_j, v_j);
   for relu / leaky_relu the positive rescaling (w_j, b_j, v_j) -> (c w_j, c b_j, v_j / c),
   balanced to |(w_j, b_j)| = |v_j|. Points equal after that (relative distance 1e-6) are one
   point; ``hits`` counts the starts that ended there and ``images`` the distinct symmetric
   copies among them. Non-isolated points (null_dim > 0) with the same loss, kind, index and
   null_dim are reported once, as samples of critical sets of positive dimension
   (``samples``).
4. **Refinement at ``dps`` digits** by Newton's method with the pseudo-inverse of the Hessian
   (``verify.dynamics.outcome``'s, shared with ``classify``), and the **kind** from the Hessian's
   spectrum: minimum, saddle (with its index), maximum, degenerate, and ``null_dim`` the number
   of numerically zero eigenvalues (|lambda| <= 10^(-dps/2) max(1, |lambda|_max)): critical
   sets of networks are often not isolated. For relu-type networks, ``nonsmooth`` says where
   L is not twice differentiable at the point (a breakpoint at an end of the interval, a neuron
   with w = b = 0, a pre-activation 0 at a data point): there the Hessian is that of one
   adjacent piece and the kind is only indicative.
5. **Exact solutions** (``exact``): where grad L is polynomial (a polynomial formula, identity or
   square activations) or, for relu / leaky_relu, rational on the activation pattern of a
   point found, SymPy solves grad L = 0 exactly (small d only). Isolated real solutions are
   matched with the points found; solution sets of positive dimension are reported as text.
6. **Certificates** (``certify``): ``certify_critical_point`` on every point (Krawczyk's test in
   ball arithmetic, critical manifolds on transversal slices; see ``verify.critical.certify``).
7. **Critical values**: the distinct losses (relative tolerance 10^(-dps/2)), each with the
   number of points, the hits and the kinds; ``gap`` is the distance from the smallest value
   found to the next one.

What is reported is what the search found. It does not prove that no other critical point
exists: a critical point whose basin of attraction under Levenberg-Marquardt misses all
starts stays unseen.

References
----------
D. W. Marquardt, "An algorithm for least-squares estimation of nonlinear parameters", J. SIAM
11 (1963). J. Nocedal, S. J. Wright, *Numerical Optimization*, 2nd ed., Springer (2006).
P. Cheridito, A. Jentzen, F. Rossmannek, "Landscape analysis for shallow neural networks:
complete classification of critical points for affine target functions", J. Nonlinear Sci. 32
(2022) (the critical points of shallow ReLU networks).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Sequence

import mpmath
import numpy as np
import sympy

from ..dynamics.outcome import DIST_REL, _kind_of_point, _MpOps, _newton
from ..errors import InputError
from ..problem.limits import check_memory, ensemble_bytes
from ..problem.numbers import check_dps
from .certify import Certificate, Piece, Source, _n_params, _nstr, certify_critical_point, smooth_piece

__all__ = ["CriticalPoint", "CriticalValue", "CriticalSet", "find_critical_points", "load_source"]

#: Levenberg-Marquardt iterations at most
LM_MAX_ITER = 200
#: relative gradient level at which an LM member counts as critical (float64)
LM_GTOL = 1e-8
#: relative distance below which two canonical points are one
SAME_POINT = 1e-6
#: most parameters for which SymPy is asked to solve grad L = 0 exactly
EXACT_MAX_PARAMS = 6


# ---------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CriticalPoint:
    """One critical point found, refined and classified.

    Attributes
    ----------
    theta : tuple of mpf, length d
        The point at ``dps`` digits (in a canonical form under the network's symmetries).
    loss, grad_norm : mpf
        L(theta) and |grad L(theta)| there.
    kind : {"minimum", "saddle", "maximum", "degenerate"}
        From the Hessian's spectrum (rules of ``verify.classify``).
    index : int
        Number of negative Hessian eigenvalues.
    null_dim : int
        Number of numerically zero Hessian eigenvalues (> 0: possibly not isolated).
    eigenvalues : tuple of mpf
        Hessian eigenvalues, ascending.
    hits : int
        How many starts ended at this point or at a symmetric image of it.
    images : int
        How many distinct symmetric images of it were found.
    samples : int
        For a non-isolated point (null_dim > 0): how many points found on critical sets with the
        same loss, kind, index and null_dim this entry stands for (the one nearest the origin
        is shown); 1 otherwise.
    nonsmooth : str or None
        Where L is not twice differentiable at theta (relu-type networks), else None.
    exact : str or None
        The exact solution of grad L = 0 this point matches, if SymPy found one.
    certificate : Certificate or None
        The ball-arithmetic certificate, when asked for.
    """

    theta: tuple
    loss: Any
    grad_norm: Any
    kind: str
    index: int
    null_dim: int
    eigenvalues: tuple
    hits: int
    images: int
    samples: int = 1
    nonsmooth: str | None = None
    exact: str | None = None
    certificate: Certificate | None = None

    @property
    def certified(self) -> bool:
        """Whether Krawczyk's test (ball arithmetic) proved a unique critical point in a box around theta, or a
        critical manifold through it (``certificate.manifold_dim`` > 0)."""
        return self.certificate is not None and self.certificate.certified

    @property
    def box_radius(self) -> str | None:
        return self.certificate.box_radius if self.certificate is not None else None

    def to_json(self, dps: int) -> dict[str, Any]:
        def s(x: Any) -> str:
            return _nstr(x, dps)

        return {
            "theta": [s(v) for v in self.theta], "loss": s(self.loss), "grad_norm": mpmath.nstr(self.grad_norm, 5),
            "kind": self.kind, "index": self.index, "null_dim": self.null_dim,
            "eigenvalues": [mpmath.nstr(v, 10) for v in self.eigenvalues], "hits": self.hits,
            "images": self.images, "samples": self.samples, "nonsmooth": self.nonsmooth, "exact": self.exact,
            "certified": self.certified, "box_radius": self.box_radius,
            "certificate": self.certificate.to_json() if self.certificate is not None else None,
        }


@dataclass(frozen=True)
class CriticalValue:
    """One critical value: the loss shared by ``points`` of the points found.

    ``hits`` sums their hits; ``kinds`` lists their kinds (sorted, with repetition).
    """

    value: Any
    points: int
    hits: int
    kinds: tuple[str, ...]

    def to_json(self, dps: int) -> dict[str, Any]:
        return {"value": _nstr(self.value, dps),
                "points": self.points, "hits": self.hits, "kinds": list(self.kinds)}


@dataclass(frozen=True)
class CriticalSet:
    """All critical points found, with the critical values and the search's bookkeeping.

    Attributes
    ----------
    points : tuple of CriticalPoint
        Ascending by loss.
    values : tuple of CriticalValue
        The distinct critical values, ascending.
    infimum : mpf or None
        The smallest critical value found.
    gap : mpf or None
        The next critical value minus ``infimum`` (None with fewer than two values): the
        thresholds of convergence theorems are stated with it.
    exact_solutions : tuple of str
        SymPy's exact solution sets of grad L = 0 (empty when not attempted), e.g.
        ``"{w1: 1/w2} (dimension 1)"``.
    note : str
        What was done, and what was not (e.g. why no exact solution was attempted).
    starts, runs, converged : int
        Random starts; all LM runs (starts, problem initializations, flow limits); runs that
        reached a critical point.
    dps, seed : int
    """

    points: tuple[CriticalPoint, ...]
    values: tuple[CriticalValue, ...]
    infimum: Any
    gap: Any
    exact_solutions: tuple[str, ...]
    note: str
    starts: int
    runs: int
    converged: int
    dps: int
    seed: int

    def to_json(self) -> dict[str, Any]:
        """``{"points": [...], "values": [...], ...}`` as printed by ``verify critical --json``."""
        def s(x: Any) -> str | None:
            return None if x is None else _nstr(x, self.dps)

        return {"points": [p.to_json(self.dps) for p in self.points],
                "values": [v.to_json(self.dps) for v in self.values],
                "infimum": s(self.infimum), "gap": s(self.gap), "exact_solutions": list(self.exact_solutions),
                "note": self.note, "starts": self.starts, "runs": self.runs, "converged": self.converged,
                "dps": self.dps, "seed": self.seed}


# ---------------------------------------------------------------------------------------
# Tiers of a source
# ---------------------------------------------------------------------------------------

def _tiers(source: Source, dps: int) -> tuple[Any, Any, Any]:
    """(np landscape, mp landscape, network or None)."""
    from ..landscapes.formula import ExprLandscape
    from ..landscapes.mp import MpLandscape
    from ..landscapes.np import NpLandscape

    if isinstance(source, ExprLandscape):
        return source.np(), source.mp(dps), None
    return NpLandscape(source), MpLandscape(source, dps=dps), source.network


def load_source(path: str) -> tuple[Source, str]:
    """A problem file, or a formula file with an ``[expression]`` table (``loss``, ``params``, ``name``)."""
    from ..landscapes.formula import expression_from_doc
    from ..problem.problem import problem_from_dict, read_toml

    doc = read_toml(path)
    if "expression" not in doc:
        problem = problem_from_dict(doc, name=Path(path).stem)
        return problem, problem.name
    land = expression_from_doc(doc)
    return land, land.name


# ---------------------------------------------------------------------------------------
# Levenberg-Marquardt on grad L, all members at once
# ---------------------------------------------------------------------------------------

def _levenberg_marquardt(land: Any, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Minimize |grad L|^2 from every row of X (shape (E, d)); returns (X, ok mask)."""
    E, d = X.shape
    eye = np.eye(d)
    with np.errstate(all="ignore"):
        g = land.grad(X)
        H = land.hessian(X)
        gn = np.linalg.norm(g, axis=1)
        mu = 1e-3 * (1 + np.abs(H).reshape(E, -1).max(axis=1))
        active = np.all(np.isfinite(g), axis=1) & np.all(np.isfinite(H.reshape(E, -1)), axis=1)
        done = np.zeros(E, bool)
        for _ in range(LM_MAX_ITER):
            scale = np.maximum(1, np.abs(H).reshape(E, -1).max(axis=1)) * np.maximum(1, np.linalg.norm(X, axis=1))
            done |= active & (gn <= LM_GTOL * scale)
            run = active & ~done & (mu < 1e20)
            if not run.any():
                break
            idx = np.flatnonzero(run)
            Hr, gr = H[idx], g[idx]
            A = Hr @ Hr + mu[idx, None, None] * eye
            try:
                step = np.linalg.solve(A, np.einsum("eij,ej->ei", Hr, gr)[..., None])[..., 0]
            except np.linalg.LinAlgError:
                step = np.stack([np.linalg.lstsq(a, b, rcond=None)[0] for a, b in
                                 zip(A, np.einsum("eij,ej->ei", Hr, gr))])
            Xn = X[idx] - step
            gnew = land.grad(Xn)
            gnn = np.linalg.norm(gnew, axis=1)
            better = np.isfinite(gnn) & (gnn < gn[idx])
            take = idx[better]
            X[take], g[take], gn[take] = Xn[better], gnew[better], gnn[better]
            if take.size:
                H[take] = land.hessian(X[take])
            mu[idx] = np.where(better, mu[idx] / 3, mu[idx] * 4)
        scale = np.maximum(1, np.abs(H).reshape(E, -1).max(axis=1)) * np.maximum(1, np.linalg.norm(X, axis=1))
        done |= active & (gn <= LM_GTOL * scale)
    return X, done


# ---------------------------------------------------------------------------------------
# Symmetries of the network
# ---------------------------------------------------------------------------------------

def _canonical(net: Any, theta: np.ndarray) -> np.ndarray:
    """theta in a canonical form under hidden-neuron permutations, odd sign flips and relu rescaling."""
    th = np.array(theta, dtype=np.float64)
    if net is None:
        return th
    odd = net.info.odd
    homogeneous = net.activation in ("relu", "leaky_relu")
    for k in range(net.depth - 1):
        layer, nxt = net.layers[k], net.layers[k + 1]
        n = layer.fan_out
        W = th[layer.weight].reshape(n, layer.fan_in)
        b = th[layer.bias] if layer.bias is not None else np.zeros(n)
        inc = np.column_stack([W, b])
        V = th[nxt.weight].reshape(nxt.fan_out, n).copy()
        for j in range(n):
            a, c = np.linalg.norm(inc[j]), np.linalg.norm(V[:, j])
            if homogeneous and a > 0 and c > 0:
                lam = np.sqrt(c / a)
                inc[j] *= lam
                V[:, j] /= lam
            if odd:
                both = np.concatenate([inc[j], V[:, j]])
                big = np.flatnonzero(np.abs(both) > 1e-6 * max(1.0, float(np.abs(both).max(initial=0))))
                if big.size and both[big[0]] < 0:
                    inc[j] *= -1
                    V[:, j] *= -1
        keys = [tuple(np.round(np.concatenate([inc[j], V[:, j]]) / SAME_POINT ** 0.5).tolist()) for j in range(n)]
        order = sorted(range(n), key=lambda j: keys[j])
        inc, V = inc[order], V[:, order]
        th[layer.weight] = inc[:, :-1].reshape(-1)
        if layer.bias is not None:
            th[layer.bias] = inc[:, -1]
        th[nxt.weight] = V.reshape(-1)
    return th


def _cluster(points: Sequence[np.ndarray], tol: float) -> list[list[int]]:
    """Greedy groups of indices whose points lie within tol * max(1, |p|) of the group's first."""
    groups: list[list[int]] = []
    for i, p in enumerate(points):
        for grp in groups:
            q = points[grp[0]]
            if np.linalg.norm(p - q) <= tol * max(1.0, float(np.linalg.norm(q))):
                grp.append(i)
                break
        else:
            groups.append([i])
    return groups


def _nonsmooth(problem: Any, theta: np.ndarray, tol: float) -> str | None:
    """Where a relu-type network's loss is not twice differentiable at theta (None: nowhere)."""
    if problem is None:
        return None
    net = problem.network
    if not net.info.kink:
        return None
    first = net.layers[0]
    w = theta[first.weight].reshape(first.fan_out, first.fan_in)
    b = theta[first.bias] if first.bias is not None else np.zeros(first.fan_out)
    scale = tol * max(1.0, float(np.abs(theta).max()))
    notes = []
    if problem.data.interval is not None:
        lo, hi = (float(c) for c in problem.data.interval)
        for j in range(first.fan_out):
            if abs(w[j, 0]) <= scale and abs(b[j]) <= scale:
                notes.append(f"neuron {j} has w = b = 0")
            elif abs(w[j, 0] * lo + b[j]) <= scale or abs(w[j, 0] * hi + b[j]) <= scale:
                notes.append(f"neuron {j} has its breakpoint at an end of [{lo:g}, {hi:g}]")
        return "; ".join(notes) or None
    z = problem.data.array @ w.T + b   # first-layer pre-activations (n, width)
    hit = np.argwhere(np.abs(z) <= scale)
    if hit.size:
        i, j = hit[0]
        return (f"neuron {j} of layer 1 has pre-activation 0 at data point {i}"
                + (f" (and {len(hit) - 1} more such)" if len(hit) > 1 else ""))
    return None


# ---------------------------------------------------------------------------------------
# Exact solutions with SymPy
# ---------------------------------------------------------------------------------------

def _solve_exact(expr: sympy.Expr, symbols: tuple[sympy.Symbol, ...]) -> list[tuple[str, int, tuple | None]]:
    """SymPy's solution sets of grad expr = 0: (text, dimension, real point or None)."""
    grads = [sympy.together(sympy.diff(expr, s)) for s in symbols]
    eqs = [sympy.numer(g) for g in grads]
    out = []
    for sol in sympy.solve(eqs, list(symbols), dict=True):
        free = {s for s in symbols if s not in sol} | set().union(*(v.free_symbols for v in sol.values()))
        point = None
        if not free:
            vals = [sol[s] for s in symbols]
            if not all(v.is_real for v in vals):
                continue
            dens = [sympy.denom(g).xreplace(sol) for g in grads]
            if any(den == 0 for den in dens):
                continue   # a pole of the rational gradient, not a zero
            point = tuple(vals)
        text = "{" + ", ".join(f"{s}: {sol[s]}" for s in symbols if s in sol) + "}"
        out.append((text + (f" (dimension {len(free)})" if free else ""), len(free), point))
    return out


def _polynomial(expr: sympy.Expr, symbols: tuple[sympy.Symbol, ...]) -> bool:
    return bool(expr.is_polynomial(*symbols))


# ---------------------------------------------------------------------------------------
# The driver
# ---------------------------------------------------------------------------------------

def _check_int(value: object, name: str, minimum: int, example: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InputError(name, value, f"must be an integer >= {minimum}, e.g. {example}")
    return int(value)


def find_critical_points(source: Source, *, starts: int = 64, seed: int = 0, scale: float = 1.0, dps: int = 30,
                         flow_t1: float | None = 50.0, exact: bool | None = None, certify: bool = False,
                         progress: Callable[[float], None] | None = None) -> CriticalSet:
    """Find, classify and (optionally) certify the critical points of a small landscape.

    Parameters
    ----------
    source : Problem or ExprLandscape
        The loss: a network problem, or a formula such as
        ``ExprLandscape("(x*y - 1)**2 + y**2", ["x", "y"])``.
    starts : int, keyword-only
        Random starts, theta ~ N(0, scale^2 I), shape (starts, d).
    seed : int, keyword-only
        Seed of the starts (numpy's ``default_rng``): the same seed gives the same points.
    scale : float, keyword-only
        Standard deviation of the starts.
    dps : int, keyword-only
        Digits of the refinement, the classification and the certificates.
    flow_t1 : float or None, keyword-only
        Horizon of the gradient flows whose end points are extra starts; None: no flows.
    exact : bool or None, keyword-only
        Solve grad L = 0 with SymPy as well: None (default) when grad L is polynomial (or
        rational on a relu activation pattern) and d <= ``EXACT_MAX_PARAMS``; True forces
        the attempt for any d (may be slow); False never.
    certify : bool, keyword-only
        Run ``certify_critical_point`` on every point found.
    progress : callable, keyword-only
        Called with the fraction done in [0, 1].

    Returns
    -------
    CriticalSet
        Points ascending by loss, distinct critical values, the gap above the infimum.
    """
    d = _n_params(source)
    starts = _check_int(starts, "starts", 1, "64")
    check_memory("starts", starts, 2 * ensemble_bytes(starts, d), f"use fewer starts (d = {d})")
    seed = _check_int(seed, "seed", 0, "0")
    dps = check_dps(dps)
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0 or not np.isfinite(scale):
        raise InputError("scale", scale, "must be a positive finite number, e.g. 1.0")
    if flow_t1 is not None and (isinstance(flow_t1, bool) or not isinstance(flow_t1, (int, float))
                                or not flow_t1 > 0 or not np.isfinite(flow_t1)):
        raise InputError("flow_t1", flow_t1, "must be a positive flow time, e.g. 50.0, or None for no flows")
    if exact not in (None, True, False):
        raise InputError("exact", exact, "use None (automatic), True or False")
    report = progress if progress is not None else (lambda f: None)
    np_land, mp_land, net = _tiers(source, dps)
    problem = None if net is None else source
    rng = np.random.default_rng(seed)
    X0 = rng.normal(0.0, scale, size=(starts, d))
    if problem is not None:
        X0 = np.vstack([X0, problem.init.thetas(net)[:16]])
    runs = [X0]
    if flow_t1 is not None:
        from ..dynamics.flow import solve_flow

        res = solve_flow(np_land, X0, t1=float(flow_t1), checkpoints=2, progress=lambda f: report(0.3 * f))
        ends = np.array([np.asarray(m.theta, dtype=np.float64) for m in res.members])
        runs.append(ends[np.all(np.isfinite(ends), axis=1)])
    X = np.vstack(runs)
    report(0.3)
    X, ok = _levenberg_marquardt(np_land, X)
    report(0.5)
    found = [X[i] for i in np.flatnonzero(ok)]
    canon = [_canonical(net, p) for p in found]
    groups = _cluster(canon, SAME_POINT)
    ops = _MpOps(mp_land)
    zero_tol = ops.root(2)
    newton_tol = ops.eps ** (ops.num(3) / 4)
    refined: list[tuple[Any, Any, int, int, np.ndarray]] = []   # (crit, kind info, hits, images, float theta)
    dropped = 0
    for n, grp in enumerate(groups):
        start = ops.vec(list(canon[grp[0]]))
        crit = _newton(ops, start, zero_tol=zero_tol, newton_tol=newton_tol,
                       max_dist=DIST_REL * max(1, ops.norm(start)))
        report(0.5 + 0.3 * (n + 1) / len(groups))
        if not crit.confirmed:
            dropped += len(grp)
            continue
        images = len(_cluster([found[i] for i in grp], SAME_POINT))
        refined.append((crit, _kind_of_point(ops, crit, zero_tol), len(grp), images,
                        np.array([float(v) for v in crit.theta])))
    # points that the refinement brought together are one point
    merged = _cluster([r[4] for r in refined], SAME_POINT * 1e-2)
    points_raw: list[tuple[Any, ...]] = []
    for grp in merged:
        crit, (kind, index, null, _), _, _, th = refined[grp[0]]
        hits = sum(refined[i][2] for i in grp)
        images = sum(refined[i][3] for i in grp)
        points_raw.append((crit, kind, index, null, hits, images, th))
    points_raw.sort(key=lambda p: ops.loss(p[0].theta))
    sets = _merge_sets(ops, points_raw, dps)
    exact_texts, exact_note, exact_points = _exact_part(source, problem, d, exact, [p[6] for p in sets])
    report(0.85)
    points = []
    for n, (crit, kind, index, null, hits, images, th, samples) in enumerate(sets):
        match = None
        for text, pt in exact_points:
            image = _canonical(net, np.array([float(v) for v in pt]))
            if float(np.linalg.norm(image - th)) <= 1e-8 * max(1.0, float(np.abs(th).max())):
                match = text
        cert = certify_critical_point(source, crit.theta, dps=dps) if certify else None
        assert crit.eig is not None
        points.append(CriticalPoint(tuple(crit.theta), ops.loss(crit.theta), crit.grad_norm, kind, index, null,
                                    tuple(crit.eig[0]), hits, images, samples, _nonsmooth(problem, th, 1e-8), match,
                                    cert))
        report(0.85 + 0.15 * (n + 1) / max(1, len(sets)))
    values = _values(ops, points, dps)
    infimum = values[0].value if values else None
    gap = values[1].value - values[0].value if len(values) > 1 else None
    missed = [t for t, pt in exact_points if not any(p.exact == t for p in points)]
    if missed:
        exact_note += f"; exact solutions the search did not find: {', '.join(missed)}"
    note = (f"{len(points)} critical point(s) from {len(X)} runs ({int(ok.sum())} reached grad L = 0 in float64"
            + (f", {dropped} of them not confirmed by Newton's method at {dps} digits and left out" if dropped else "")
            + f"); {exact_note}. The search finds what its starts reach: other critical points may exist")
    report(1.0)
    return CriticalSet(tuple(points), values, infimum, gap, tuple(exact_texts), note, starts, len(X), int(ok.sum()),
                       dps, seed)


def _merge_sets(ops: Any, points: list[tuple], dps: int) -> list[tuple[Any, ...]]:
    """Non-isolated points (null_dim > 0) with the same loss, kind, index and null_dim are one entry.

    They are samples of critical sets of positive dimension (one set or several with equal
    value: the search cannot tell); the sample nearest the origin represents them.
    """
    tol = ops.ctx.mpf(10) ** (-dps / 2)
    out: list[list] = []
    for crit, kind, index, null, hits, images, th in points:
        loss = ops.loss(crit.theta)
        for entry in out:
            if null and entry[3] == null and entry[1] == kind and entry[2] == index \
                    and abs(ops.loss(entry[0].theta) - loss) <= tol * max(1, abs(loss)):
                entry[4] += hits
                entry[5] += images
                entry[7] += 1
                if np.linalg.norm(th) < np.linalg.norm(entry[6]):
                    entry[0], entry[6] = crit, th
                break
        else:
            out.append([crit, kind, index, null, hits, images, th, 1])
    return [tuple(e) for e in out]


def _values(ops: Any, points: Sequence[CriticalPoint], dps: int) -> tuple[CriticalValue, ...]:
    tol = ops.ctx.mpf(10) ** (-dps / 2)
    groups: list[list[CriticalPoint]] = []
    for p in sorted(points, key=lambda p: p.loss):
        if groups and abs(p.loss - groups[-1][0].loss) <= tol * max(1, abs(groups[-1][0].loss)):
            groups[-1].append(p)
        else:
            groups.append([p])
    return tuple(CriticalValue(g[0].loss, len(g), sum(p.hits for p in g), tuple(sorted(p.kind for p in g)))
                 for g in groups)


def _exact_part(source: Source, problem: Any, d: int, exact: bool | None,
                found: Sequence[np.ndarray]) -> tuple[list[str], str, list[tuple[str, tuple]]]:
    """Exact solution sets (text), a note, and the isolated real solutions (text, point)."""
    if exact is False:
        return [], "exact solution not asked for", []
    if exact is None and d > EXACT_MAX_PARAMS:
        return [], f"no exact solution attempted (d = {d} > {EXACT_MAX_PARAMS}; exact=True forces it)", []
    pieces: list[Piece] = []
    kinked = problem is not None and problem.network.activation in ("relu", "leaky_relu")
    if kinked:
        for th in found:
            piece = smooth_piece(source, [Fraction(float(v)) for v in th])
            if not isinstance(piece, str) and piece.expr not in [p.expr for p in pieces]:
                pieces.append(piece)
    else:
        piece = smooth_piece(source, [0] * d)
        if isinstance(piece, str) or not _polynomial(piece.expr, piece.symbols):
            return [], "no exact solution attempted: grad L is not polynomial", []
        pieces.append(piece)
    texts: list[str] = []
    isolated: list[tuple[str, tuple]] = []
    for piece in pieces:
        for text, _, point in _solve_exact(piece.expr, piece.symbols):
            if kinked and point is not None:
                at = dict(zip(piece.symbols, point))
                if not all((e.xreplace(at) > 0) == pos and e.xreplace(at) != 0 for e, pos in piece.guards):
                    continue   # a zero of this piece's formula outside the piece
            if kinked and point is None:
                text += f" on {piece.what}"
            if text not in texts:
                texts.append(text)
            if point is not None:
                isolated.append((text, point))
    what = "on the activation patterns of the points found" if kinked else "of the polynomial system"
    return texts, f"SymPy: {len(texts)} exact solution set(s) {what}", isolated
