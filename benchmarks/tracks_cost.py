"""What recording tracks costs a batch: runs written to a store with and without their tracks.

Usage: ``python benchmarks/tracks_cost.py [--pairs N]``.

Each of ``--pairs`` seeds runs a baseline year and writes it to a scratch store
twice with the batch's own code (``sim.runs.batch.execute_run``), once with its
tracks and once with none (``tracks=False``: nothing recorded, no tracks file), the order alternating
from seed to seed, on one core. The cost is the median of the pairs' ratios of
CPU time (building and running the model, its tables, the Parquet files and
their checksums; CPU time is less disturbed by a busy machine than the wall
clock, and pairing by seed takes out the seeds' differences). The target is at
most 5 %.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def write_runs(specs, runs_dir: Path, tracks: bool) -> float:
    """CPU seconds to run and store ``specs`` as a batch does (``sim.runs.batch.execute_run``), with or without tracks."""
    from sim.runs.batch import execute_run

    folder = runs_dir / ("with" if tracks else "without")
    folder.mkdir(exist_ok=True)
    t0 = time.process_time()
    for spec in specs:
        execute_run(spec, str(folder), {}, tracks=tracks)
    return time.process_time() - t0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=40, help="seeds, each run both ways (default 40)")
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    from sim.scenario import load_scenario

    from sim.runs.batch import plan_batch

    specs = plan_batch([load_scenario(ROOT / "scenarios" / "baseline.yaml")], args.pairs + 1, None, None).runs
    ratios, cpu = [], {True: [], False: []}
    with tempfile.TemporaryDirectory() as tmp:
        runs_dir = Path(tmp)
        write_runs(specs[:1], runs_dir, True)  # warm-up
        write_runs(specs[:1], runs_dir, False)
        for i, spec in enumerate(specs[1:]):
            order = (True, False) if i % 2 else (False, True)
            pair = {flag: write_runs([spec], runs_dir, flag) for flag in order}
            for flag in pair:
                cpu[flag].append(pair[flag])
            ratios.append(pair[True] / pair[False])
    cost = statistics.median(ratios) - 1
    print(f"a baseline year run and stored: {statistics.median(cpu[True]):.3f} s CPU with tracks, "
          f"{statistics.median(cpu[False]):.3f} s without (medians of {args.pairs} seeds)")
    print(f"tracks cost a batch {100 * cost:+.1f} % (median of the {args.pairs} paired ratios; "
          f"quartiles {100 * (statistics.quantiles(ratios, n=4)[0] - 1):+.1f} % to "
          f"{100 * (statistics.quantiles(ratios, n=4)[2] - 1):+.1f} %; target <= 5 %)")
    return 0 if cost <= 0.05 else 1


if __name__ == "__main__":
    raise SystemExit(main())
