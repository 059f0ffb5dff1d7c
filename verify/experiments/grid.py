"""``verify reproduce sad-polynomial --grid``: the SAD paper's whole experiment grid, sharded.

The grid: input dimensions (1, 2, 4) x activations (swish, softplus, GELU, ELU, tanh) x
optimizers (GD, Adam) x R runs, each configuration as ``verify reproduce sad-polynomial`` runs it
(:func:`verify.experiments.reproduce.train`). A configuration's runs are split into shards of
``runs_per_shard`` runs (shard k uses seed ``seed + 1000 k``: its own initializations, training
set and batches), and the shards are independent tasks for the execution layer
(:mod:`verify.claims.execute`): in this process by default, or on a Dask cluster. Each finished shard
comes back to the client, which saves it (``SHARDS/k.npz``, plain arrays) before anything else:
a rerun with the same options skips every shard already saved, so an interrupted grid resumes.

Outputs in ``OUT``: per configuration ``d<dim>-<activation>-<optimizer>/`` with the files of a
single ``verify reproduce`` run (curves.csv, mean.csv, summary, curves.png, theta.npy) over all
its runs; ``grid_summary.csv`` / ``.md`` / ``.json`` (mean |theta| and the mean EMA(0.95) training
loss at steps 0, 2k, 100k, 250k and 500k where reached, and the wall time per run-step); and one
figure per dimension, ``grid_d<dim>.png``.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import InputError

__all__ = ["GridConfig", "shard_task", "run_grid", "MILESTONES"]

#: the steps at which the summary table reports the mean norm and the mean EMA loss
MILESTONES = (0, 2_000, 100_000, 250_000, 500_000)


@dataclass(frozen=True)
class GridConfig:
    """One configuration of the grid and how its runs are sharded."""

    dim: int
    activation: str
    optimizer: str
    runs: int
    steps: int
    log_every: int
    dtype: str
    seed: int
    runs_per_shard: int
    full_batch: bool = False

    @property
    def name(self) -> str:
        return f"d{self.dim}-{self.activation}-{self.optimizer}{'-full' if self.full_batch else ''}"

    @property
    def shards(self) -> list[tuple[int, int]]:
        """(shard index, runs in it)."""
        out, left, k = [], self.runs, 0
        while left > 0:
            n = min(self.runs_per_shard, left)
            out.append((k, n))
            left -= n
            k += 1
        return out

    def identity(self) -> dict[str, Any]:
        """What a saved shard must match to be reused."""
        return {"dim": self.dim, "activation": self.activation, "optimizer": self.optimizer, "steps": self.steps,
                "log_every": self.log_every, "dtype": self.dtype, "seed": self.seed,
                "runs_per_shard": self.runs_per_shard, "full_batch": self.full_batch}


def shard_task(config: GridConfig, shard: int, runs: int) -> dict[str, Any]:
    """Train one shard (a pure function of its arguments); returns plain arrays."""
    from .reproduce import _single_thread_blas, train

    _single_thread_blas()
    curves, theta = train(dim=config.dim, activation=config.activation, optimizer=config.optimizer, runs=runs,
                          steps=config.steps, full_batch=config.full_batch, seed=config.seed + 1000 * shard,
                          log_every=config.log_every,
                          dtype=np.float64 if config.dtype == "float64" else np.float32)
    return {"steps": curves.steps, "norm": curves.norm, "loss": curves.loss, "batch_loss": curves.batch_loss,
            "test_loss": curves.test_loss, "wall": np.array(curves.wall), "theta": np.asarray(theta, np.float64)}


def _shard_path(out: Path, config: GridConfig, shard: int) -> Path:
    return out / config.name / "shards" / f"{shard}.npz"


def _load_shard(path: Path, config: GridConfig) -> dict[str, Any] | None:
    """A saved shard of this configuration, or None (missing, unreadable or of other options)."""
    meta = path.with_suffix(".json")
    if not path.is_file() or not meta.is_file():
        return None
    try:
        if json.loads(meta.read_text(encoding="utf-8")) != config.identity():
            return None
        with np.load(path, allow_pickle=False) as z:       # plain arrays only: never unpickles
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, json.JSONDecodeError):
        return None


def _save_shard(path: Path, config: GridConfig, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez(tmp, **data)
    tmp.replace(path)
    path.with_suffix(".json").write_text(json.dumps(config.identity()) + "\n", encoding="utf-8")


def _merge(config: GridConfig, shards: Sequence[dict[str, Any]]) -> tuple[Any, np.ndarray, float]:
    from .reproduce import Curves

    steps = shards[0]["steps"]
    cat = {k: np.concatenate([s[k] for s in shards], axis=0) for k in ("norm", "loss", "batch_loss", "test_loss")}
    wall = float(sum(float(s["wall"]) for s in shards))
    theta = np.concatenate([s["theta"] for s in shards], axis=0)
    return Curves(steps, cat["norm"], cat["loss"], cat["batch_loss"], cat["test_loss"], wall), theta, wall


def _milestones(curves: Any) -> dict[str, dict[str, float | None]]:
    from .reproduce import logged_ema

    mean_norm = np.nanmean(curves.norm, axis=0)
    mean_ema = np.nanmean(logged_ema(curves.loss, curves.steps), axis=0)
    out: dict[str, dict[str, float | None]] = {}
    for m in MILESTONES:
        hit = np.flatnonzero(curves.steps == m)
        if hit.size:
            out[str(m)] = {"mean_norm": float(mean_norm[hit[0]]), "mean_ema_loss": float(mean_ema[hit[0]])}
        else:
            out[str(m)] = {"mean_norm": None, "mean_ema_loss": None}
    return out


def run_grid(configs: Sequence[GridConfig], out: Path, ex: Any, *, progress: Any = None,
             note: Any = print) -> list[dict[str, Any]]:
    """Run (or resume) the grid; returns one summary row per configuration."""
    from .reproduce import config_of, write_outputs

    todo: list[tuple[GridConfig, int, int, Any]] = []
    saved: dict[tuple[str, int], dict[str, Any]] = {}
    for c in configs:
        for k, n in c.shards:
            hit = _load_shard(_shard_path(out, c, k), c)
            if hit is not None and hit["norm"].shape[0] == n:
                saved[(c.name, k)] = hit
            else:
                todo.append((c, k, n, None))
    total = sum(len(c.shards) for c in configs)
    note(f"grid: {len(configs)} configurations, {total} shards ({len(saved)} already done, {len(todo)} to run) "
         f"on {ex.description}")
    pending = [(c, k, ex.submit(shard_task, c, k, n)) for c, k, n, _ in todo]
    for done, (c, k, fut) in enumerate(pending, 1):
        data = fut.result()
        _save_shard(_shard_path(out, c, k), c, data)
        saved[(c.name, k)] = data
        if progress is not None:
            progress(done / max(1, len(pending)))
    rows = []
    for c in configs:
        shards = [saved[(c.name, k)] for k, _ in c.shards]
        curves, theta, wall = _merge(c, shards)
        summary = write_outputs(out / c.name, curves, theta, config_of(c), plot=True)
        steps_done = int(curves.steps[-1])
        rows.append({"config": c.name, "dim": c.dim, "activation": c.activation, "optimizer": c.optimizer,
                     "runs": c.runs, "steps": steps_done, "dtype": c.dtype,
                     "wall_per_run_step_ms": 1e3 * wall / max(1, c.runs * steps_done),
                     "mean_norm_monotone": summary["mean_norm_monotone"], "loss_fell": summary["loss_fell"],
                     "milestones": _milestones(curves)})
    _write_summary(out, rows)
    for dim in sorted({c.dim for c in configs}):
        _plot_dimension(out, dim, [c for c in configs if c.dim == dim])
    return rows


def _write_summary(out: Path, rows: list[dict[str, Any]]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "grid_summary.json").write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    head = ["config", "runs", "steps", "ms_per_run_step", "norm_monotone", "loss_fell"]
    for m in MILESTONES:
        head += [f"norm@{m}", f"ema_loss@{m}"]
    with open(out / "grid_summary.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(head)
        for r in rows:
            cells = [r["config"], r["runs"], r["steps"], f"{r['wall_per_run_step_ms']:.4f}",
                     r["mean_norm_monotone"], r["loss_fell"]]
            for m in MILESTONES:
                v = r["milestones"][str(m)]
                cells += ["" if v["mean_norm"] is None else f"{v['mean_norm']:.6g}",
                          "" if v["mean_ema_loss"] is None else f"{v['mean_ema_loss']:.6g}"]
            w.writerow(cells)
    md = ["| configuration | runs | steps | ms / run-step | " + " | ".join(
        f"|theta| @ {m // 1000}k, EMA loss" if m else "|theta| @ 0, EMA loss" for m in MILESTONES) + " |",
        "|---|---|---|---|" + "---|" * len(MILESTONES)]
    for r in rows:
        cells = []
        for m in MILESTONES:
            v = r["milestones"][str(m)]
            cells.append("-" if v["mean_norm"] is None else f"{v['mean_norm']:.4g}, {v['mean_ema_loss']:.3g}")
        md.append(f"| {r['config']} | {r['runs']} | {r['steps']} | {r['wall_per_run_step_ms']:.3f} | "
                  + " | ".join(cells) + " |")
    (out / "grid_summary.md").write_text("\n".join(md) + "\n", encoding="utf-8")


def _plot_dimension(out: Path, dim: int, configs: Sequence[GridConfig]) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:   # plots are optional (pip install "verify[plot]")
        return
    fig, (ax_n, ax_l) = plt.subplots(1, 2, figsize=(11, 4.2))
    for c in configs:
        mean = out / c.name / "mean.csv"
        if not mean.is_file():
            continue
        with open(mean, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        steps = [int(r["step"]) for r in rows]
        style = "-" if c.optimizer == "gd" else "--"
        ax_n.plot(steps, [float(r["mean_norm"]) for r in rows], style, label=f"{c.activation} {c.optimizer}")
        ax_l.plot(steps[1:], [float(r["mean_ema_train_loss"]) for r in rows][1:], style,
                  label=f"{c.activation} {c.optimizer}")
    ax_n.set(xlabel="step", ylabel="mean |theta|", title=f"d = {dim}: parameter norm")
    ax_l.set(xlabel="step", ylabel="mean EMA(0.95) training loss", yscale="log", title=f"d = {dim}: loss")
    ax_n.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(out / f"grid_d{dim}.png", dpi=100)
    plt.close(fig)


def configs_from_args(args: Any, *, runs: int, steps: int, log_every: int) -> list[GridConfig]:
    """The grid the CLI options describe."""
    from .reproduce import ACTIVATIONS

    dims = args.dims or [1, 2, 4]
    acts = args.activations or ["swish", "softplus", "gelu", "elu", "tanh"]
    opts = args.optimizers or ["gd", "adam"]
    for d in dims:
        if d not in (1, 2, 4):
            raise InputError("--dims", d, "use 1, 2 or 4 (the paper's targets)")
    for a in acts:
        if a not in ACTIVATIONS:
            raise InputError("--activations", a, "use " + ", ".join(ACTIVATIONS))
    for o in opts:
        if o not in ("gd", "adam"):
            raise InputError("--optimizers", o, "use gd or adam")
    if isinstance(args.runs_per_shard, bool) or args.runs_per_shard < 1:
        raise InputError("--runs-per-shard", args.runs_per_shard, "must be a positive integer")
    return [GridConfig(d, a, o, runs, steps, log_every, args.dtype, args.seed, args.runs_per_shard,
                       args.full_batch and o == "gd") for d in dims for a in acts for o in opts]
