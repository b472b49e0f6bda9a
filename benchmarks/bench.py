"""The performance benchmark: time per simulated year, scaling, memory, batch throughput.

Usage: ``python benchmarks/bench.py [--repeats N] [--batch-runs N] [--quick]`` (``make bench``).

Every timing is the median of ``--repeats`` runs (at least 5) after a warm-up
run, covering building the model and running it, not interpreter start or
imports. Single-run timings are taken on one core (the process is pinned to
one CPU), in rounds over the things compared (the scenarios; the sizes of one
growth), so that a drift in the machine's speed falls on all of them alike.
It measures:

* seconds per simulated year of every shipped scenario (wall clock, and CPU
  time, which a busy machine disturbs less);
* how the cost grows with the number of days (1, 2, 5 years), with personnel
  and drones (x0.5, x1, x2) and with the inflow of migrants (x1, x2, x4): the
  exponent of each growth (slope of log time against log size);
* peak memory (resident set) of one run, and of the batch (its process and
  workers) for batches of 10 and ``--batch-runs`` runs (it should not grow with runs);
* batch throughput on 1 and 2 workers, and the parallel efficiency: the
  median over ``--repeats`` rounds, each a batch on 1 worker beside one on 2
  workers, after a warm-up pair; and, for comparison, the efficiency the
  machine itself gives two bare model processes running at once;
* the time of the policy batch of the targets: 8 scenarios x 100 replications
  x 1 year on 2 workers;

and checks each against the targets (at most 0.5 s per baseline year, growth
exponents at most 1.1, efficiency at least 85 %, the policy batch under 4
minutes, batch memory flat).

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

from fingerprint import shipped_scenarios  # noqa: E402 - beside this file


def _scenario(name: str, **overrides):
    from sim.scenario import load_scenario

    s = load_scenario(ROOT / "scenarios" / f"{name}.yaml")
    return s.with_overrides(**overrides) if overrides else s


def time_run(scenario, seed: int) -> tuple[float, float]:
    """Seconds (wall clock, and CPU time of this process) to build and run one model."""
    from sim.model import ChannelModel

    t0, c0 = time.perf_counter(), time.process_time()
    ChannelModel(scenario, seed).run()
    return time.perf_counter() - t0, time.process_time() - c0


def interleaved_medians(scenarios: dict, repeats: int) -> dict:
    """Median wall-clock and CPU seconds of each scenario over ``repeats`` runs, after a warm-up run of each.

    The runs are taken in rounds, one run of every scenario per round, so that
    a drift in the machine's speed while they run falls on all of them alike
    (this machine's speed drifts within minutes: benchmarks/README.md).

    Returns:
        ``{key: (wall, cpu)}`` for the keys of ``scenarios``.
    """
    for scenario in scenarios.values():
        time_run(scenario, 10_000)  # warm-up
    times: dict = {key: [] for key in scenarios}
    for seed in range(repeats):
        for key, scenario in scenarios.items():
            times[key].append(time_run(scenario, seed))
    return {key: (statistics.median(t for t, _ in ts), statistics.median(c for _, c in ts)) for key, ts in times.items()}


def _walls(scenarios: list, repeats: int) -> list[float]:
    """Median wall-clock seconds of each of ``scenarios``, interleaved."""
    medians = interleaved_medians(dict(enumerate(scenarios)), repeats)
    return [medians[i][0] for i in range(len(scenarios))]


def exponent(sizes: list[float], times: list[float]) -> float:
    """Slope of log(time) against log(size), least squares."""
    import numpy as np

    return float(np.polyfit(np.log(sizes), np.log(times), 1)[0])


def scaling(repeats: int, quick: bool) -> dict:
    base = _scenario("baseline")
    out = {}
    days = [365, 730] if quick else [365, 730, 1825]
    t_days = _walls([base.with_overrides(days=d) for d in days], repeats)
    out["days"] = {"sizes": days, "seconds": t_days, "exponent": exponent(days, t_days)}
    g, sv = base.gendarmerie, base.surveillance
    factors = [0.5, 1.0, 2.0]
    t_force = _walls([base.with_overrides(gendarmerie={"personnel_per_day": int(g.personnel_per_day * f)},
                                          surveillance={"drones": int(sv.drones * f)}) for f in factors], repeats)
    out["personnel_and_drones"] = {"sizes": factors, "seconds": t_force, "exponent": exponent(factors, t_force)}
    inflow = [1.0, 2.0] if quick else [1.0, 2.0, 4.0]
    from sim.model import ChannelModel

    grown = [base.with_overrides(camps={"inflow_per_day": base.camps.inflow_per_day * f,
                                        "initial_people": int(base.camps.initial_people * f)},
                                 networks={"max_boats_per_night": int(base.networks.max_boats_per_night * f)},
                                 supply={"initial_use_per_day": base.supply.initial_use_per_day * f,
                                         "supplier_capacity_per_day": base.supply.supplier_capacity_per_day * f})
             for f in inflow]
    t_in = _walls(grown, repeats)
    boats = [ChannelModel(s, 0).run().summary()["boats_attempted"] for s in grown]
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


# The policy batch of the performance target: the baseline and seven policy scenarios.
POLICY_BATCH = ["baseline", "shallow_water_before_pickup", "shallow_water_300m", "drones_doubled",
                "estuary_barrages", "train_station_intel", "uk_liaison", "combined_package"]


def batch(runs: int, workers: int, days: int = 365, scenarios: list[str] | None = None, memory: bool = False) -> dict:
    """Time of a ``channel-sim batch`` of ``runs`` replications of each scenario; and its peak memory if ``memory``.

    Watching memory reads ``/proc`` while the batch runs, which costs some CPU,
    so batches that are timed for throughput are not watched.
    """
    exe = Path(sys.executable).parent / "channel-sim"
    scenarios = scenarios or ["baseline"]
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [str(exe), "batch", *(str(ROOT / "scenarios" / f"{s}.yaml") for s in scenarios), "-n", str(runs),
               "--days", str(days), "--workers", str(workers), "--out", str(Path(tmp) / "b"), "--quiet"]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd)
        if memory:
            peak_mb = _watch_memory(proc)
        else:
            proc.wait()
            peak_mb = float("nan")
        seconds = time.perf_counter() - t0
        if proc.returncode != 0:
            raise RuntimeError(f"batch failed ({proc.returncode}): {' '.join(cmd)}")
    total = runs * len(scenarios)
    return {"scenarios": scenarios, "runs": total, "workers": workers, "days": days, "seconds": seconds,
            "runs_per_second": total / seconds, "peak_memory_mb": peak_mb}


def throughput(runs: int, rounds: int) -> dict:
    """Batches of ``runs`` runs on 1 and on 2 workers, paired over ``rounds`` rounds, after a warm-up pair.

    Each round times a batch on 1 worker and one on 2 workers, one right after
    the other (in turn 1 then 2, and 2 then 1, so that a steady drift of the
    machine's speed does not favour either), and the round's parallel
    efficiency is the ratio of the two. The efficiency is the median over the
    rounds: each round compares two batches made under nearly the same speed
    of this machine, which drifts within minutes (benchmarks/README.md). The
    throughput of each is the median batch; every round's seconds are kept.
    """
    batch(10, 1)  # warm-up: page cache, the compiled bytecode, the fork server's imports
    batch(10, 2)
    timed: dict[int, list[dict]] = {1: [], 2: []}
    for r in range(rounds):
        for workers in ((1, 2) if r % 2 == 0 else (2, 1)):
            timed[workers].append(batch(runs, workers))
    out = {}
    for workers, key in ((1, "one_worker"), (2, "two_workers")):
        ordered = sorted(timed[workers], key=lambda b: b["seconds"])
        median = dict(ordered[len(ordered) // 2])
        median["rounds_seconds"] = [b["seconds"] for b in timed[workers]]
        out[key] = median
    per_round = [one["seconds"] / (2 * two["seconds"]) for one, two in zip(timed[1], timed[2])]
    out["efficiency_by_round"] = per_round
    out["parallel_efficiency"] = statistics.median(per_round)
    return out


def machine_ceiling(years: int, rounds: int) -> dict:
    """How well this machine runs two model processes at once, without any batch machinery.

    Each round times ``years`` baseline years (after a warm-up) in one process
    alone, then in each of two processes started together. The ratio of the
    time alone to the slower of the pair is the parallel efficiency the machine
    itself allows; the batch's can be no better. Median over ``rounds``.
    """
    code = ("import sys, time; sys.path.insert(0, %r)\n"
            "from sim.model import ChannelModel\nfrom sim.scenario import load_scenario\n"
            "s = load_scenario(%r)\nChannelModel(s, 10000).run().close()\nt = time.perf_counter()\n"
            "for seed in range(%d):\n    ChannelModel(s, seed).run().close()\n"
            "print(time.perf_counter() - t)") % (str(ROOT), str(ROOT / "scenarios" / "baseline.yaml"), years)

    def together(n: int) -> list[float]:
        procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(n)]
        return [float(proc.communicate()[0].strip().splitlines()[-1]) for proc in procs]

    alone, pairs = [], []
    for _ in range(rounds):
        alone.append(together(1)[0])
        pairs.append(max(together(2)))
    ratios = sorted(a / b for a, b in zip(alone, pairs))
    return {"years": years, "alone_seconds": alone, "pair_seconds": pairs, "efficiency": ratios[len(ratios) // 2]}


def _watch_memory(proc: subprocess.Popen, every: float = 0.25) -> float:
    """Peak memory (MB) of a process and all its descendants until it ends.

    Sums the proportional set size (PSS: shared pages split between the
    processes sharing them) of the process tree, sampled every ``every`` s,
    so forked workers sharing their parent's pages are not counted twice.
    Linux only (``/proc``); elsewhere returns NaN.
    """
    if not Path("/proc/self/smaps_rollup").exists():
        proc.wait()
        return float("nan")
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, sum(_pss_kb(pid) for pid in _tree(proc.pid)) / 1024.0)
        time.sleep(every)
    return peak


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def _pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


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
    # Batches first, on all cores; then pin to one core for the single-run timings.
    n_batch = 40 if args.quick else args.batch_runs
    n_throughput = 20 if args.quick else 100
    results["throughput"] = throughput(n_throughput, 1 if args.quick else repeats)
    results["throughput"]["machine_ceiling"] = machine_ceiling(5 if args.quick else 10, 1 if args.quick else repeats)
    results["policy_batch"] = batch(10 if args.quick else 100, 2, scenarios=POLICY_BATCH)
    results["memory"] = {"batch_small": batch(10, 2, memory=True), "batch_large": batch(n_batch, 2, memory=True)}
    results["memory"]["one_run_peak_rss_mb"] = peak_memory_one_run()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    names = [p.stem for p in shipped_scenarios()]
    per_year = interleaved_medians({name: _scenario(name) for name in names}, repeats)
    results["seconds_per_year"] = {name: wall for name, (wall, _) in per_year.items()}
    results["cpu_seconds_per_year"] = {name: cpu for name, (_, cpu) in per_year.items()}
    results["scaling"] = scaling(repeats, args.quick)
    results["targets"] = targets(results, args.quick)
    (HERE / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    _print(results)
    return 0


def targets(r: dict, quick: bool) -> dict:
    """The performance targets, each with the measured value and whether it is met."""
    sc = r["scaling"]
    pb = r["policy_batch"]
    mem = r["memory"]
    out = {
        "baseline seconds per year <= 0.5": (r["seconds_per_year"]["baseline"], r["seconds_per_year"]["baseline"] <= 0.5),
        "growth exponent in days <= 1.1": (sc["days"]["exponent"], sc["days"]["exponent"] <= 1.1),
        "growth exponent in boat attempts <= 1.1": (sc["inflow"]["exponent_in_boats"], sc["inflow"]["exponent_in_boats"] <= 1.1),
        "parallel efficiency on 2 workers >= 0.85": (r["throughput"]["parallel_efficiency"],
                                                     r["throughput"]["parallel_efficiency"] >= 0.85),
        # Flat: the large batch peaks within 10 % of the small one.
        "batch memory flat in runs (large / small <= 1.1)": (mem["batch_large"]["peak_memory_mb"] / mem["batch_small"]["peak_memory_mb"],
                                                             mem["batch_large"]["peak_memory_mb"] <= 1.1 * mem["batch_small"]["peak_memory_mb"]),
    }
    if not quick:
        out["8 scenarios x 100 replications x 1 year on 2 workers < 240 s"] = (pb["seconds"], pb["seconds"] < 240)
    return {k: {"value": v, "met": bool(ok)} for k, (v, ok) in out.items()}


def _print(r: dict) -> None:
    print(f"machine: {r['machine']['processor']}, {r['machine']['cpus']} cpus, Python {r['machine']['python']}")
    print("seconds per simulated year (one core, median of %d; wall clock and CPU):" % r["repeats"])
    for name, t in sorted(r["seconds_per_year"].items(), key=lambda kv: -kv[1]):
        print(f"  {name:28s} {t:7.3f} {r['cpu_seconds_per_year'][name]:7.3f}")
    print("growth exponents (slope of log time on log size):")
    sc = r["scaling"]
    print(f"  days {sc['days']['sizes']}: {sc['days']['exponent']:.2f}")
    print(f"  personnel and drones x{sc['personnel_and_drones']['sizes']}: {sc['personnel_and_drones']['exponent']:.2f}")
    print(f"  inflow x{sc['inflow']['sizes']}: {sc['inflow']['exponent']:.2f} "
          f"(in boat attempts {sc['inflow']['boats_attempted']}: {sc['inflow']['exponent_in_boats']:.2f})")
    th = r["throughput"]
    print(f"batch throughput ({th['one_worker']['runs']} runs): 1 worker {th['one_worker']['runs_per_second']:.2f} runs/s, "
          f"2 workers {th['two_workers']['runs_per_second']:.2f} runs/s, efficiency {th['parallel_efficiency']:.0%} "
          f"(median of the rounds' {', '.join(f'{e:.0%}' for e in th['efficiency_by_round'])}; "
          f"two bare model processes at once: {th['machine_ceiling']['efficiency']:.0%})")
    pb = r["policy_batch"]
    print(f"policy batch ({len(pb['scenarios'])} scenarios, {pb['runs']} one-year runs, 2 workers): {pb['seconds']:.0f} s")
    m = r["memory"]
    print(f"peak memory: one run {m['one_run_peak_rss_mb']:.0f} MB; batch of {m['batch_small']['runs']} runs "
          f"{m['batch_small']['peak_memory_mb']:.0f} MB, of {m['batch_large']['runs']} runs {m['batch_large']['peak_memory_mb']:.0f} MB"
          " (process tree, PSS)")
    print("targets:")
    for name, t in r["targets"].items():
        print(f"  {'met ' if t['met'] else 'MISS'} {name}: {t['value']:.3g}")


if __name__ == "__main__":
    sys.exit(main())
