"""Batches: scenarios x sweep points x replications, run on any executor.

Seeds come from ``numpy.random.SeedSequence``: replication *i* gets the same
seed in every scenario and sweep point (common random numbers), so policy
differences are paired. With parameter draws from a posterior
(``sim.runs.posterior``), every scenario runs under every draw with the same
seeds: pairs by draw and seed. Runs go to a local process pool, to a Dask cluster
(``distributed.Client(address).get_executor()``), or run in this process
(one worker); the same seed gives the same results on any of them.

Each run is written to the results store by the process that ran it, so the
batch's memory does not grow with the number of runs, and a batch that is
stopped, even by ``kill -9``, resumes where it stopped.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import math
import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Executor, wait
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sim.errors import PlanError, ScenarioError, StoreError
from sim.runs.executors import executor_for
from sim.runs.posterior import Posterior, kept_by
from sim.runs.rundir import code_provenance
from sim.runs.store import (BatchLock, check_run, discard_run, read_manifest, read_summaries, run_hash,
                            write_manifest, write_run)
from sim.scenario import Scenario, from_dict, parse_value, set_keys


@dataclass(frozen=True)
class RunSpec:
    """One run of a batch."""

    scenario_name: str
    content: dict           # resolved scenario, sweep values applied
    sweep: dict             # sweep key -> value
    replication: int
    seed: int
    key: str
    draw: int = -1                                       # row of the posterior drawn (-1: no draws)
    parameters: dict = field(default_factory=dict)       # the draw's values that were applied (dotted keys)


@dataclass
class BatchPlan:
    """What a batch will run, and the definition that identifies it."""

    definition: dict
    runs: list[RunSpec]
    scenarios: dict = field(default_factory=dict)  # name -> resolved content (no sweep)


def parse_sweep(text: str) -> tuple[str, list]:
    """``KEY=V1,V2,...`` into the dotted key and its values (YAML-typed).

    Raises:
        ScenarioError: the text is not of that form.
    """
    key, sep, values = text.partition("=")
    key = key.strip()
    if not sep or not key or not values.strip():
        raise ScenarioError(f"--sweep {text!r}: expected KEY=V1,V2,... (for example surveillance.drones=12,24)")
    try:
        parsed = [parse_value(v.strip()) for v in values.split(",")]
    except (yaml.YAMLError, ValueError) as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError(f"--sweep {text!r}: a value is not a number, boolean or word ({problem})") from None
    repeated = sorted({str(v) for v in parsed if parsed.count(v) > 1})
    if repeated:
        raise ScenarioError(f"--sweep {text!r}: {', '.join(repeated)} given more than once; expected each value once")
    return key, parsed


#: The most runs one batch plans (each planned run is held in memory, as is the list of its seeds).
MAX_RUNS = 200_000


def check_size(runs: int) -> None:
    """Refuse a batch of more than :data:`MAX_RUNS` runs, before anything is planned.

    Raises:
        PlanError: one line giving the count and the bound.
    """
    if runs > MAX_RUNS:
        raise PlanError(f"batch: {runs:,} runs; expected at most {MAX_RUNS:,} in one batch "
                        "(fewer replications or sweep values, or several --out folders)")


def replication_seeds(base_seed: int, n: int) -> list[int]:
    """Seed of each replication, from ``SeedSequence(base_seed)``; the same for every scenario."""
    children = np.random.SeedSequence(base_seed).spawn(n)
    return [int(c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for c in children]  # 63 bits: int64 columns


def _runs_at(name: str, base: dict, point: dict, seeds: list[int], where: str,
             draw: dict | None = None) -> list[RunSpec]:
    """The replications of one scenario at one point (dotted keys set over ``base``, after a draw's), validated."""
    applied = kept_by(base, draw["point"]) if draw else {}
    try:
        content = from_dict(set_keys(set_keys(base, applied), point), name).to_dict()
    except ScenarioError as exc:
        raise ScenarioError(f"{where}: {exc}") from None
    row = draw["draw"] if draw else -1
    return [RunSpec(name, content, point, i, seed, run_hash(content, seed), row, applied)
            for i, seed in enumerate(seeds)]


def plan_batch(scenarios: list[Scenario], replications: int, days: int | None = None,
               sweeps: list[tuple[str, list]] | None = None, base_seed: int = 0,
               posterior: Posterior | None = None, draws: int = 0) -> BatchPlan:
    """Expand scenarios x parameter draws x sweep points x replications into runs.

    Args:
        scenarios: validated scenarios (names must differ).
        replications: replications of each scenario, draw and sweep point.
        days: days per run (the scenarios' own when None).
        sweeps: ``(dotted key, values)`` pairs; their cartesian product is swept (over a draw's values).
        base_seed: entropy of the ``SeedSequence`` the seeds come from (and of the choice of draws).
        posterior: parameter sets to draw from; every scenario runs under each draw with the same
            seeds. A scenario that sets one of its parameters to a value of its own keeps that value.
        draws: how many distinct particles to draw from ``posterior``.

    Raises:
        ScenarioError: duplicate names, or a sweep value the schema rejects.
    """
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names):
        raise ScenarioError(f"scenarios: names must differ, got {', '.join(names)}")
    sweeps = sweeps or []
    chosen = posterior.draw(draws, base_seed) if posterior is not None else [None]
    check_size(len(scenarios) * len(chosen) * math.prod(len(values) for _, values in sweeps) * replications)
    seeds = replication_seeds(base_seed, replications)
    runs, contents = [], {}
    for scenario in scenarios:
        base = scenario.model_dump()
        if days is not None:
            base["days"] = days
        contents[scenario.name] = from_dict(base, scenario.name).to_dict()
        for draw in chosen:
            for point in itertools.product(*(values for _, values in sweeps)):
                sweep = {k: v for (k, _), v in zip(sweeps, point)}
                where = ("--sweep " + ", ".join(f"{k}={v}" for k, v in sweep.items()) if sweep
                         else f"{posterior.path}: particle {draw['draw']}" if draw else scenario.name)
                runs += _runs_at(scenario.name, base, sweep, seeds, where, draw)
    definition = {
        "scenarios": {name: Scenario.model_validate(c).content_hash() for name, c in contents.items()},
        "replications": replications,
        "days": days,
        "sweep": {k: v for k, v in sweeps},
        "seed": base_seed,
    }
    if posterior is not None:
        definition["posterior"] = {"file": posterior.digest, "draws": draws,
                                   "particles": [d["draw"] for d in chosen]}
    return BatchPlan(definition, runs, contents)


def plan_points(scenario: Scenario, points: list[dict], replications: int = 1, days: int | None = None,
                base_seed: int = 0, label: str = "points") -> BatchPlan:
    """Runs of one scenario at given parameter points (dotted keys), e.g. a sensitivity design.

    Every point gets the same replication seeds (common random numbers).

    Raises:
        ScenarioError: a point the schema rejects.
    """
    check_size(len(points) * replications)
    seeds = replication_seeds(base_seed, replications)
    base = scenario.model_dump()
    if days is not None:
        base["days"] = days
    runs = []
    for point in points:
        runs += _runs_at(scenario.name, base, dict(point), seeds, label)
    digest = run_hash({"points": [sorted(p.items()) for p in points]}, base_seed)
    contents = {scenario.name: from_dict(base, scenario.name).to_dict()}
    definition = {"scenarios": {scenario.name: Scenario.model_validate(contents[scenario.name]).content_hash()},
                  "replications": replications, "days": days, "sweep": {}, "seed": base_seed,
                  label: {"count": len(points), "hash": digest}}
    return BatchPlan(definition, runs, contents)


def execute_run(spec: RunSpec, runs_dir: str, provenance: dict, tracks: bool = True) -> None:
    """Run one model and write its tables to the store (in whichever process runs it); ``tracks`` False keeps none."""
    from sim.model import ChannelModel

    scenario = Scenario.model_validate(spec.content)
    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    model = ChannelModel(scenario, seed=spec.seed, tracks=tracks).run()
    seconds = time.perf_counter() - t0
    ids = {"scenario": spec.scenario_name, "replication": spec.replication, "seed": spec.seed, "run": spec.key}
    if spec.draw >= 0:
        ids["draw"] = spec.draw
        ids.update({f"draw.{k}": v for k, v in spec.parameters.items()})
    ids.update({f"sweep.{k}": v for k, v in spec.sweep.items()})

    def tag(df: pd.DataFrame) -> pd.DataFrame:
        for i, (k, v) in enumerate(ids.items()):
            df.insert(i, k, [v] * len(df))
        return df

    summary = model.summary()
    summary.pop("seed")
    summary.pop("scenario")
    row = {**ids, **summary, "scenario_hash": scenario.content_hash(), **provenance,
           "started": started, "seconds": round(seconds, 4)}
    row["seed"] = spec.seed
    write_run(Path(runs_dir), spec.key, tag(model.boats_frame()), tag(model.daily_frame()), pd.DataFrame([row]),
              model.tracks.table() if tracks else None)
    model.close()  # its grid serves the next run in this process


@dataclass
class BatchResult:
    """What a batch did."""

    folder: Path
    planned: int
    already_done: int
    ran: int
    seconds: float
    summaries: pd.DataFrame  # one row per run of the plan, in the plan's order
    damaged: dict = field(default_factory=dict)  # run key -> what was wrong with its files (they were redone)


def run_batch(folder: str | Path, plan: BatchPlan, *, workers: int = 1, scheduler: str | None = None,
              append: bool = False, progress: bool = True, sources: dict | None = None,
              append_hint: str = ", or channel-sim batch --append to add runs to it",
              tracks: bool = True) -> BatchResult:
    """Run the missing runs of a plan into a results folder.

    Args:
        folder: the batch folder (created if missing).
        plan: from :func:`plan_batch`.
        workers: local processes (1 runs in this process).
        scheduler: address of a Dask scheduler (overrides ``workers``).
        append: allow a different batch definition into a folder that holds one.
        progress: show a progress bar.
        sources: scenario name -> file it came from (recorded in the manifest).
        append_hint: how the refusal of a different batch tells the user to add runs (empty where they cannot).
        tracks: store each run's tracks (False: none, for a batch no one will replay; its runs are as sound).

    Raises:
        StoreError: another batch holds the folder, or it holds a different batch and ``append`` is False.
    """
    folder = Path(folder)
    t0 = time.perf_counter()
    if folder.is_dir() and not (folder / "runs").is_dir() and any(
            p.name not in (".lock", "manifest.json") for p in folder.iterdir()):
        raise StoreError(f"{folder}: exists and is not a batch folder; expected a new folder or one written by channel-sim batch")
    if folder.exists() and not folder.is_dir():
        raise StoreError(f"{folder}: is a file; expected a folder for the batch")
    prov = code_provenance()  # once, for the manifest and every run (it asks git)
    with BatchLock(folder):
        runs_dir = folder / "runs"
        runs_dir.mkdir(exist_ok=True)
        for stale in runs_dir.glob(".*.tmp"):  # left by a batch that was killed mid-write
            stale.unlink(missing_ok=True)
        manifest = read_manifest(folder) or {"format": 1, "batches": [], "scenarios": {}}
        batches = manifest.get("batches", [])
        entry = next((b for b in batches if b.get("definition") == plan.definition), None)
        if entry is None and batches and not append:
            old = batches[-1]["definition"]
            raise StoreError(f"{folder}: holds a different batch (scenarios {', '.join(old['scenarios'])}, "
                             f"{old['replications']} replications); expected the same definition "
                             f"(or another --out{append_hint})")
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        if entry is None:
            entry = {"definition": plan.definition, "started": now, "runs": len(plan.runs)}
            batches.append(entry)
        entry.update({"resumed" if "finished" in entry else "last_started": now, **prov})
        # Every run the batch plans, so that a reader can tell a finished batch from one that is not.
        entry["planned"] = {spec.key: f"{spec.scenario_name} replication {spec.replication}"
                            + (f", draw {spec.draw}" if spec.draw >= 0 else "")
                            + "".join(f", {k}={v}" for k, v in spec.sweep.items()) for spec in plan.runs}
        entry.pop("finished", None)
        manifest["batches"] = batches
        for name, content in plan.scenarios.items():
            manifest["scenarios"].setdefault(Scenario.model_validate(content).content_hash(), {
                "name": name, "source": (sources or {}).get(name), "content": content})
        write_manifest(folder, manifest)

        todo, damaged = [], {}
        for spec in plan.runs:
            problem = check_run(runs_dir, spec.key)
            if problem is None:
                continue
            if problem != "missing":
                damaged[spec.key] = problem
            discard_run(runs_dir, spec.key)
            todo.append(spec)
        done_before = len(plan.runs) - len(todo)
        _run_all(todo, runs_dir, workers, scheduler, progress, done_before, len(plan.runs), tracks, prov)

        entry["finished"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        write_manifest(folder, manifest)
        summaries = read_summaries(runs_dir, [spec.key for spec in plan.runs])
    return BatchResult(folder, len(plan.runs), done_before, len(todo), time.perf_counter() - t0, summaries, damaged)


def _run_all(todo: list[RunSpec], runs_dir: Path, workers: int, scheduler: str | None,
             progress: bool, done_before: int, total: int, tracks: bool = True, prov: dict | None = None) -> None:
    from tqdm import tqdm

    if not todo:
        return
    prov = code_provenance() if prov is None else prov
    runs_path = str(runs_dir.resolve())  # workers elsewhere (a Dask cluster) resolve paths against their own folder
    where = executor_for(min(workers, len(todo)), scheduler)  # no process without a run to do
    if scheduler:
        _check_workers_can_write(where.executor, runs_path, where.shutdown)
    bar = tqdm(total=total, initial=done_before, unit="run", desc="runs", disable=not progress, dynamic_ncols=True)
    try:
        if where.executor is None:
            for spec in todo:
                execute_run(spec, runs_path, prov, tracks)
                bar.update()
            return
        _drain(where, todo, runs_path, prov, bar, limit=2 * where.slots, tracks=tracks)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: queued runs are dropped, running ones finish and are kept
        if hasattr(where.executor, "_processes"):  # a local pool (a Dask client has no queue of ours)
            where.executor.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        where.shutdown()
        bar.close()


def _can_write(runs_path: str) -> str | None:
    """In a worker: None when it can write a file in ``runs_path``, else why not."""
    import os
    import socket

    probe = Path(runs_path) / f".probe.{socket.gethostname()}.{os.getpid()}.tmp"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        return f"{socket.gethostname()}: {exc.strerror or exc}"
    return None


def _check_workers_can_write(executor: Executor, runs_path: str, shutdown) -> None:
    """Before any run: the cluster's workers can write to the batch folder (they see the same files).

    Raises:
        StoreError: one line naming the folder and what a worker said.
    """
    problem = executor.submit(_can_write, runs_path).result()
    if problem is not None:
        shutdown()
        raise StoreError(f"{runs_path}: the Dask workers cannot write here ({problem}); expected a folder "
                         "that every worker sees (a shared file system), given as the same path")


@contextlib.contextmanager
def _signals_held():
    """Ctrl-C and SIGTERM wait (they are not lost) while local workers are being started.

    A worker forked while its pool is torn down finds the pool's locks gone and
    dies with a traceback; holding the signals until every worker has started
    leaves a Ctrl-C in those moments one line, like any other. Held by
    handlers that note the signal, then call the usual handler once the
    workers are up (a signal mask would not do: another thread may take it).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []
    usual = {sig: signal.signal(sig, lambda signum, frame: caught.append((signum, frame)))
             for sig in (signal.SIGINT, signal.SIGTERM)}
    usual = {sig: signal.SIG_DFL if handler is None else handler for sig, handler in usual.items()}
    try:
        yield
    finally:
        for sig, handler in usual.items():
            signal.signal(sig, handler)
    for signum, frame in caught[:1]:  # now as it would have been handled
        handler = usual[signum]
        if callable(handler):
            handler(signum, frame)
        elif handler == signal.SIG_DFL:
            signal.raise_signal(signum)


def _drain(where, todo: list[RunSpec], runs_path: str, prov: dict, bar, limit: int, tracks: bool = True) -> None:
    """Keep at most ``limit`` runs in flight, so nothing piles up in memory."""
    executor = where.executor
    pending = set()
    queue = iter(todo)
    with _signals_held():
        for spec in itertools.islice(queue, limit):  # the first submissions start the workers
            pending.add(executor.submit(execute_run, spec, runs_path, prov, tracks))
        if where.ready is not None:  # the workers the pool started (fewer when an early run left one idle)
            started = len(getattr(executor, "_processes", None) or ()) or where.slots
            deadline = time.monotonic() + 30.0
            for _ in range(started):
                if not where.ready.acquire(timeout=max(0.0, deadline - time.monotonic())):
                    break  # a worker that did not start (it died): the pool reports it with the run
    while pending:
        finished, pending = wait(pending, return_when=FIRST_COMPLETED)
        for fut in finished:
            fut.result()
            bar.update()
            nxt = next(queue, None)
            if nxt is not None:
                pending.add(executor.submit(execute_run, nxt, runs_path, prov, tracks))
