"""What recording tracks costs a batch: the same batches run with and without them.

Usage: ``python benchmarks/tracks_cost.py [--rounds N] [--runs N]``.

Each round runs one batch of ``--runs`` baseline years twice, as ``channel-sim
batch`` runs it (``sim.runs.batch.run_batch`` on one worker, into a scratch
folder): once storing the runs' tracks, as every batch does, and once with
``tracks=False`` (``channel-sim batch --no-tracks``: nothing recorded, no tracks
file), in alternating order, on one core. Each round gives two ratios, of the
batches' wall-clock seconds (what a user waits, fsyncs included) and of their
CPU time (less disturbed by other work on the machine); the cost is the median
over rounds of each. The target is at most 5 %.
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


def one_batch(folder: Path, plan, tracks: bool) -> tuple[float, float]:
    """(wall-clock seconds, CPU seconds) of a batch of ``plan`` into ``folder``, with or without tracks."""
    from sim.runs.batch import run_batch

    cpu = time.process_time()
    result = run_batch(folder, plan, workers=1, progress=False, tracks=tracks)
    return result.seconds, time.process_time() - cpu


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8, help="rounds, each a batch with and one without (default 8)")
    parser.add_argument("--runs", type=int, default=20, help="baseline years in each batch (default 20)")
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    from sim.runs.batch import plan_batch
    from sim.scenario import load_scenario

    baseline = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    wall, cpu = [], []
    with tempfile.TemporaryDirectory() as tmp:
        one_batch(Path(tmp) / "warm-up", plan_batch([baseline], 2), True)
        for r in range(args.rounds):
            plan = plan_batch([baseline], args.runs, base_seed=r + 1)  # other seeds each round, the same both ways
            order = (True, False) if r % 2 == 0 else (False, True)
            got = {flag: one_batch(Path(tmp) / f"{r}-{flag}", plan, flag) for flag in order}
            wall.append(got[True][0] / got[False][0])
            cpu.append(got[True][1] / got[False][1])
            print(f"round {r + 1}: {got[True][0]:.2f} s with tracks, {got[False][0]:.2f} s without "
                  f"({100 * (wall[-1] - 1):+.1f} % wall, {100 * (cpu[-1] - 1):+.1f} % CPU)", flush=True)
    cost_wall, cost_cpu = statistics.median(wall) - 1, statistics.median(cpu) - 1
    print(f"tracks cost a batch of {args.runs} baseline years {100 * cost_wall:+.1f} % wall-clock, "
          f"{100 * cost_cpu:+.1f} % CPU (medians of {args.rounds} rounds; target <= 5 %)")
    return 0 if max(cost_wall, cost_cpu) <= 0.05 else 1


if __name__ == "__main__":
    raise SystemExit(main())
