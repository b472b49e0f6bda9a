"""Seconds per simulated year, one core: median of 5 runs after a warm-up.

Usage: ``python benchmarks/bench_year.py [SCENARIO ...]`` (default: the
baseline). Each timing covers building the model (grid, agents) and running
365 days, not the interpreter start or imports. Writes
``benchmarks/results.json`` and prints a table.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
REPEATS = 5


def time_year(path: Path, seed: int) -> tuple[float, float, int]:
    from sim.model import ChannelModel
    from sim.scenario import load_scenario

    scenario = load_scenario(path).with_overrides(days=365)
    t0 = time.perf_counter()
    model = ChannelModel(scenario, seed)
    t1 = time.perf_counter()
    model.run()
    t2 = time.perf_counter()
    return t2 - t0, t1 - t0, model.summary()["boats_attempted"]


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or [ROOT / "scenarios" / "baseline.yaml"]
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    rows = []
    for path in paths:
        time_year(path, 999)  # warm-up: imports, caches
        runs = [time_year(path, seed) for seed in range(REPEATS)]
        total = [r[0] for r in runs]
        build = [r[1] for r in runs]
        rows.append({
            "scenario": path.stem,
            "seconds_per_year_median": round(statistics.median(total), 3),
            "seconds_per_year_min": round(min(total), 3),
            "seconds_per_year_max": round(max(total), 3),
            "build_seconds_median": round(statistics.median(build), 3),
            "boats_per_year_median": statistics.median(r[2] for r in runs),
            "repeats": REPEATS,
        })
    result = {
        "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                    "cpus": os.cpu_count(), "python": platform.python_version()},
        "measured": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "results": rows,
    }
    (HERE / "results.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'scenario':32s} {'s/year (median)':>16s} {'min':>7s} {'max':>7s} {'build':>7s} {'boats':>7s}")
    for r in rows:
        print(f"{r['scenario']:32s} {r['seconds_per_year_median']:16.3f} {r['seconds_per_year_min']:7.3f} "
              f"{r['seconds_per_year_max']:7.3f} {r['build_seconds_median']:7.3f} {r['boats_per_year_median']:7.0f}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main(sys.argv[1:]))
