"""What recording tracks costs a batch: each of a batch's runs, run with and without them.

Usage: ``python benchmarks/tracks_cost.py [--runs N] [--repeats N] [--rounds N]``.

A batch worker does one thing per run: ``sim.runs.batch.execute_run`` runs the
model and writes its tables to the store. This runs that for ``--runs`` baseline
years (seeds 1, 2, ...), on one core, each ``--repeats`` times both ways in
turn: storing its tracks, as every batch does, and with ``tracks=False``
(``channel-sim batch --no-tracks``: nothing recorded, no tracks file), into
scratch folders. A run's time is the least of its repeats: on these shared
machines the same run's time scatters by some 10 % from other work, which only
ever adds, and whole batches timed a few seconds apart gave ratios scattered by
several per cent round to round. The batch's own fixed work (its manifest, lock
and summaries, the same either way) is left out, so the share is if anything
overstated.

The cost is the ratio of the runs' total seconds with and without tracks, of
wall-clock time (what a user waits, file writes included) and of CPU time, with
a 95 % interval from resampling the seeds (paired); ``--rounds`` repeats the
whole set on other seeds and reports each round. The target is at most 5 %; the
exit status is 1 when the upper end of either interval is above it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET = 0.05


def one_run(folder: Path, spec, provenance: dict, tracks: bool) -> tuple[float, float]:
    """(wall-clock seconds, CPU seconds) of one batch run of ``spec`` into ``folder``, with or without tracks."""
    from sim.runs.batch import execute_run

    runs = folder / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    wall, cpu = time.perf_counter(), time.process_time()
    execute_run(spec, str(runs), provenance, tracks)
    return time.perf_counter() - wall, time.process_time() - cpu


def interval(with_: np.ndarray, without: np.ndarray, rng: np.random.Generator) -> tuple[float, float, float]:
    """Cost (ratio of totals, minus one) and its 95 % interval over paired resamples of the runs."""
    picks = rng.integers(0, len(with_), size=(2000, len(with_)))
    ratios = with_[picks].sum(axis=1) / without[picks].sum(axis=1) - 1
    lo, hi = np.quantile(ratios, [0.025, 0.975])
    return with_.sum() / without.sum() - 1, float(lo), float(hi)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40, help="baseline years, each run both ways (default 40)")
    parser.add_argument("--repeats", type=int, default=3, help="times each run is timed each way (default 3)")
    parser.add_argument("--rounds", type=int, default=1, help="times to repeat the whole set (default 1)")
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    from sim.runs.batch import plan_batch
    from sim.runs.rundir import code_provenance
    from sim.scenario import load_scenario

    baseline = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    provenance = code_provenance()
    rng = np.random.default_rng(0)
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for spec in plan_batch([baseline], 2, base_seed=10_000).runs:  # warm-up: imports, caches, the grid
            one_run(Path(tmp) / "warm-up", spec, provenance, True)
        for r in range(args.rounds):
            specs = plan_batch([baseline], args.runs, base_seed=1 + r * args.runs).runs
            times = {True: [], False: []}
            for spec in specs:
                best = {True: (np.inf, np.inf), False: (np.inf, np.inf)}
                for k in range(args.repeats):
                    for flag in ((True, False) if k % 2 == 0 else (False, True)):
                        took = one_run(Path(tmp) / f"{r}-{flag}-{k}", spec, provenance, flag)
                        best[flag] = tuple(min(a, b) for a, b in zip(best[flag], took))
                for flag in best:
                    times[flag].append(best[flag])
            with_, without = np.array(times[True]), np.array(times[False])
            wall = interval(with_[:, 0], without[:, 0], rng)
            cpu = interval(with_[:, 1], without[:, 1], rng)
            worst = max(worst, wall[2], cpu[2])
            print(f"round {r + 1}: {args.runs} baseline years, {1e3 * with_[:, 0].mean():.1f} ms a run with tracks, "
                  f"{1e3 * without[:, 0].mean():.1f} ms without: tracks cost {100 * wall[0]:+.1f} % wall-clock "
                  f"[{100 * wall[1]:+.1f}, {100 * wall[2]:+.1f}], {100 * cpu[0]:+.1f} % CPU "
                  f"[{100 * cpu[1]:+.1f}, {100 * cpu[2]:+.1f}] (95 % intervals; target <= {100 * TARGET:.0f} %)",
                  flush=True)
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
