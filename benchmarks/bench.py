"""The performance benchmark: time per simulated year, scaling, memory, batch throughput.

Usage: ``python benchmarks/bench.py [--repeats N] [--batch-runs N] [--quick]`` (``make bench``).

Every timing is the median of ``--repeats`` runs (at least 5) after a warm-up
run, covering building the model and running it, not interpreter start or
imports. Single-run timings are taken on one core (the process is pinned to
one CPU). It measures:

* seconds per simulated year of the baseline and of the most expensive
  shipped scenario;
* how the cost grows with the number of days (1, 2, 5 years), with personnel
  and drones (x0.5, x1, x2) and with the inflow of migrants (x1, x2, x4): the
  exponent of each growth (slope of log time against log size);
* peak memory (resident set) of one run, and of the batch process for batches
  of 50 and ``--batch-runs`` runs (the batch's memory should not grow with runs);
* batch throughput on 1 and 2 workers, and the parallel efficiency.

It writes ``benchmarks/results.json`` and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))


def _scenario(name: str, **overrides):
    from sim.scenario import load_scenario

    s = load_scenario(ROOT / "scenarios" / f"{name}.yaml")
    return s.with_overrides(**overrides) if overrides else s


def time_run(scenario, seed: int) -> float:
    """Seconds to build and run one model."""
    from sim.model import ChannelModel

    t0 = time.perf_counter()
    ChannelModel(scenario, seed).run()
    return time.perf_counter() - t0


def median_time(scenario, repeats: int) -> float:
    time_run(scenario, 10_000)  # warm-up
    return statistics.median(time_run(scenario, seed) for seed in range(repeats))


def exponent(sizes: list[float], times: list[float]) -> float:
    """Slope of log(time) against log(size), least squares."""
    import numpy as np

    return float(np.polyfit(np.log(sizes), np.log(times), 1)[0])


def scaling(repeats: int, quick: bool) -> dict:
    base = _scenario("baseline")
    out = {}
    days = [365, 730] if quick else [365, 730, 1825]
    t_days = [median_time(base.with_overrides(days=d), repeats) for d in days]
    out["days"] = {"sizes": days, "seconds": t_days, "exponent": exponent(days, t_days)}
    g, sv = base.gendarmerie, base.surveillance
    factors = [0.5, 1.0, 2.0]
    t_force = [median_time(base.with_overrides(gendarmerie={"personnel_per_day": int(g.personnel_per_day * f)},
                                               surveillance={"drones": int(sv.drones * f)}), repeats)
               for f in factors]
    out["personnel_and_drones"] = {"sizes": factors, "seconds": t_force, "exponent": exponent(factors, t_force)}
    inflow = [1.0, 2.0] if quick else [1.0, 2.0, 4.0]
    t_in, boats = [], []
    for f in inflow:
        s = base.with_overrides(camps={"inflow_per_day": base.camps.inflow_per_day * f,
                                       "initial_people": int(base.camps.initial_people * f)},
                                networks={"max_boats_per_night": int(base.networks.max_boats_per_night * f)},
                                supply={"restock_per_day": base.supply.restock_per_day * f})
        t_in.append(median_time(s, repeats))
        from sim.model import ChannelModel

        boats.append(ChannelModel(s, 0).run().summary()["boats_attempted"])
    out["inflow"] = {"sizes": inflow, "seconds": t_in, "boats_attempted": boats,
                     "exponent": exponent(inflow, t_in), "exponent_in_boats": exponent(boats, t_in)}
    return out


def peak_memory_one_run() -> float:
    """Peak resident set (MB) of a fresh process that runs one baseline year."""
    code = ("import resource, sys; sys.path.insert(0, %r)\n"
            "from sim.model import ChannelModel\nfrom sim.scenario import load_scenario\n"
            "ChannelModel(load_scenario(%r), 0).run().summary()\n"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)") % (str(ROOT), str(ROOT / "scenarios" / "baseline.yaml"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1]) / 1024.0


def batch(runs: int, workers: int, days: int = 365) -> dict:
    """Time and peak memory of the batch process (and its workers) for ``runs`` one-scenario runs."""
    exe = Path(sys.executable).parent / "channel-sim"
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [str(exe), "batch", str(ROOT / "scenarios" / "baseline.yaml"), "-n", str(runs), "--days", str(days),
               "--workers", str(workers), "--out", str(Path(tmp) / "b"), "--quiet"]
        # A wrapper process, so that the peak is this batch's alone (its process and its workers).
        wrapper = ("import resource, subprocess, sys, time; t0 = time.perf_counter(); "
                   "subprocess.run(sys.argv[1:], check=True); "
                   "print(time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
        out = subprocess.run([sys.executable, "-c", wrapper, *cmd], capture_output=True, text=True, check=True)
        seconds, peak_kb = out.stdout.split()
    seconds = float(seconds)
    return {"runs": runs, "workers": workers, "days": days, "seconds": seconds,
            "runs_per_second": runs / seconds, "peak_rss_mb": int(peak_kb) / 1024.0}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per median (at least 5)")
    parser.add_argument("--batch-runs", type=int, default=200, help="runs in the memory batch (default 200)")
    parser.add_argument("--quick", action="store_true", help="fewer sizes and a smaller batch (a quick look)")
    args = parser.parse_args(argv)
    repeats = max(5, args.repeats)
    results: dict = {
        "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                    "cpus": os.cpu_count(), "python": platform.python_version()},
        "measured": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "repeats": repeats,
    }
    # Throughput and memory first, on all cores; then pin to one core for the single-run timings.
    n_batch = 40 if args.quick else args.batch_runs
    one = batch(20, 1)
    two = batch(20, 2)
    results["throughput"] = {"one_worker": one, "two_workers": two,
                             "parallel_efficiency": two["runs_per_second"] / (2 * one["runs_per_second"])}
    results["memory"] = {"batch_small": batch(10, 2), "batch_large": batch(n_batch, 2)}
    results["memory"]["one_run_peak_rss_mb"] = peak_memory_one_run()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    results["seconds_per_year"] = {name: median_time(_scenario(name), repeats)
                                   for name in ("baseline", "shallow_water_300m", "combined_package")}
    results["scaling"] = scaling(repeats, args.quick)
    (HERE / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    _print(results)
    return 0


def _print(r: dict) -> None:
    print(f"machine: {r['machine']['processor']}, {r['machine']['cpus']} cpus, Python {r['machine']['python']}")
    print("seconds per simulated year (one core, median of %d):" % r["repeats"])
    for name, t in r["seconds_per_year"].items():
        print(f"  {name:28s} {t:7.3f}")
    print("growth exponents (slope of log time on log size):")
    sc = r["scaling"]
    print(f"  days {sc['days']['sizes']}: {sc['days']['exponent']:.2f}")
    print(f"  personnel and drones x{sc['personnel_and_drones']['sizes']}: {sc['personnel_and_drones']['exponent']:.2f}")
    print(f"  inflow x{sc['inflow']['sizes']}: {sc['inflow']['exponent']:.2f} "
          f"(in boat attempts {sc['inflow']['boats_attempted']}: {sc['inflow']['exponent_in_boats']:.2f})")
    th = r["throughput"]
    print(f"batch throughput: 1 worker {th['one_worker']['runs_per_second']:.2f} runs/s, "
          f"2 workers {th['two_workers']['runs_per_second']:.2f} runs/s, efficiency {th['parallel_efficiency']:.0%}")
    m = r["memory"]
    print(f"peak memory: one run {m['one_run_peak_rss_mb']:.0f} MB; batch of {m['batch_small']['runs']} runs "
          f"{m['batch_small']['peak_rss_mb']:.0f} MB, of {m['batch_large']['runs']} runs {m['batch_large']['peak_rss_mb']:.0f} MB")


if __name__ == "__main__":
    sys.exit(main())
