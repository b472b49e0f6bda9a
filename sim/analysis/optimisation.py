"""Designing a deployment: the study of ``channel-sim optimise``, its search and the re-evaluation of its plans.

Every candidate plan (:mod:`sim.analysis.optimisation_space`) runs on the same
block of seeds (common random numbers), each run on the timeline of
:mod:`sim.analysis.optimisation_runs`, beside the scenario's own deployment on
those seeds. The search is Optuna's (TPE, with several objectives a Pareto
front; constraints for "no worse than today's deployment"), ask-and-tell, in a
journal file that several processes, here or on other machines, share: a study
that is stopped, even by ``kill -9``, resumes where it stopped (trials left
running by a process that is gone are failed and their plans queued again).

The chosen plans (the front) are run again on fresh seeds, paired with the
scenario's deployment on the same seeds, and their effect in the plan's first
30 days is set beside the effect once the networks have adapted. The files
and Markdown written from the outcome are :mod:`sim.analysis.optimisation_outputs`.
"""

from __future__ import annotations

import math
import os
import socket
import time
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.optimisation_runs import Timeline, evaluate, redeploy_weights, run_content
from sim.analysis.optimisation_space import OptimisationError, Plan, Space, n_params, plan_of, suggest, todays_params
from sim.analysis.stats import mean_ci
from sim.errors import StoreError, require_extra
from sim.runs.batch import replication_seeds
from sim.runs.executors import executor_for
from sim.scenario import Scenario

#: The one study of a folder.
STUDY = "optimise"


# -- the study -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """What defines a study (a folder holds one): a rerun with the same settings resumes it."""

    scenario: Scenario
    source: Path
    space: Space
    objectives: tuple[str, ...]
    no_worse: tuple[str, ...]
    seeds: int
    timeline: Timeline
    seed: int = 0

    def definition(self) -> dict:
        """The study's definition as stored in it."""
        return {"scenario": self.scenario.content_hash(), "scenario_name": self.scenario.name,
                "levers": list(self.space.levers), "modes": list(self.space.modes),
                "lifeboats": list(self.space.lifeboats), "personnel": self.space.personnel,
                "drones": self.space.drones, "objectives": list(self.objectives), "no_worse": list(self.no_worse),
                "seeds": self.seeds, "seed": self.seed, "settle": self.timeline.settle,
                "warmup": self.timeline.warmup, "days": self.timeline.days}

    def search_seeds(self) -> list[int]:
        """The block of seeds every candidate runs on."""
        return replication_seeds(self.seed, self.seeds)

    def fresh_seeds(self, n: int) -> list[int]:
        """``n`` seeds that are not among the search's (the same sequence, further on)."""
        return replication_seeds(self.seed, self.seeds + n)[self.seeds:]


def _journal(folder: Path):
    optuna = require_extra("optuna", "optimise", "channel-sim optimise")
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna, JournalStorage(JournalFileBackend(str(folder / "study.log")))


def stored_definition(folder: Path) -> dict | None:
    """The definition of the study a folder holds, or None when it holds none."""
    if not (folder / "study.log").is_file():
        return None
    optuna, storage = _journal(folder)
    try:
        study = optuna.load_study(study_name=STUDY, storage=storage)
    except KeyError:
        return None
    return study.user_attrs.get("definition")


def study_folder(out: Path | None, settings: Settings) -> Path:
    """Where the study goes: ``--out``, or the ``results/optimise-<scenario>`` folder that holds it, or a new one.

    Raises:
        StoreError: ``--out`` holds something else than this study.
    """
    definition = settings.definition()
    if out is not None:
        if out.exists() and not out.is_dir():
            raise StoreError(f"{out}: is a file; expected a folder for the study")
        if out.is_dir() and any(out.iterdir()):
            found = stored_definition(out)
            if found is None:
                raise StoreError(f"{out}: exists and holds no study; expected a new folder or one written by "
                                 "channel-sim optimise")
            if found != definition:
                changed = sorted(k for k in definition if found.get(k) != definition[k])
                raise StoreError(f"{out}: holds a different study ({', '.join(changed)} differ); expected the same "
                                 "scenario and options to resume it, or another --out")
        return out
    stem, n = f"optimise-{settings.scenario.name}", 1
    while True:
        candidate = Path("results") / (stem if n == 1 else f"{stem}-{n}")
        if not candidate.exists() or stored_definition(candidate) == definition:
            return candidate
        n += 1


def _alive(host: str, pid: int) -> bool:
    if host != socket.gethostname():
        return True  # a process elsewhere: it may still be running
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _not_a_zombie(pid)


def _not_a_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _requeue_stale(study, optuna, space: Space) -> int:
    """Trials left running by a process of this machine that is gone: failed, and their plans queued again.

    A trial stopped while its plan was being drawn (some parameters only) is failed and not queued.
    """
    from optuna.trial import TrialState

    stale = 0
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        host, pid = trial.user_attrs.get("host"), trial.user_attrs.get("pid")
        if host is None or _alive(host, int(pid)):
            continue
        study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
        if len(trial.params) == n_params(space):
            study.enqueue_trial(trial.params, user_attrs={"requeued_from": trial.number})
        stale += 1
    return stale


def open_study(folder: Path, settings: Settings):
    """Create the study in ``folder``, or load it (a stopped study resumes)."""
    optuna, storage = _journal(folder)
    objectives = settings.objectives

    def constraints(trial) -> list[float]:
        return trial.user_attrs.get("constraints", [0.0])

    # Optuna 5 reads the constraints each trial sets (Trial.set_constraint); Optuna 4 asks a function for them.
    old = settings.no_worse and not hasattr(optuna.trial.Trial, "set_constraint")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study = optuna.create_study(study_name=STUDY, storage=storage, load_if_exists=True,
                                    directions=["minimize"] * len(objectives))
        # Each opening of the study its own stream of proposals, numbered in the study: commands sharing a study
        # do not propose the same plans, and a study run from scratch by one command is the same for the same seed.
        stream = int(study.user_attrs.get("streams", 0))
        study.set_user_attr("streams", stream + 1)
        study.sampler = optuna.samplers.TPESampler(seed=(settings.seed * 7919 + stream) % 2**31, multivariate=True,
                                                   n_startup_trials=10,
                                                   **({"constraints_func": constraints} if old else {}))
    if "definition" not in study.user_attrs:
        study.set_user_attr("definition", settings.definition())
        study.enqueue_trial(todays_params(settings.scenario, settings.space), user_attrs={"today": True},
                            skip_if_exists=True)  # the first trial: today's deployment, as near as the grid allows
    return optuna, study


def _reference_key(seeds: list[int]) -> str:
    return "reference:" + ",".join(map(str, seeds))


def reference(study, settings: Settings, where, progress) -> list[dict]:
    """The scenario's own deployment on the search seeds (run once, kept in the study)."""
    seeds = settings.search_seeds()
    key = _reference_key(seeds)
    if key not in study.user_attrs:
        content = run_content(settings.scenario, None, settings.timeline)
        found = _map(where, [(content, None, s, settings.timeline) for s in seeds])
        study.set_user_attr(key, found)
        progress(len(seeds))
    return study.user_attrs[key]


def _map(where, calls: list[tuple]) -> list[dict]:
    if where.executor is None:
        return [evaluate(*c) for c in calls]
    return [f.result() for f in [where.executor.submit(evaluate, *c) for c in calls]]


def _means(runs: list[dict], part: str, keys) -> list[float]:
    return [float(np.mean([r[part][k] for r in runs])) for k in keys]


@dataclass
class SearchResult:
    """What a search did."""

    folder: Path
    trials: int          # complete trials in the study
    ran: int             # trials this process completed
    requeued: int        # trials of a stopped process queued again
    seconds: float


def search(folder: Path, settings: Settings, trials: int, *, workers: int = 1, scheduler: str | None = None,
           progress: bool = True) -> SearchResult:
    """Run trials into the study of ``folder`` until it holds ``trials`` complete ones.

    Each trial is a plan run on every search seed; up to as many runs as there are workers are in
    flight (several trials at once). Another process on the same folder shares the work.
    """
    from optuna.trial import TrialState
    from tqdm import tqdm

    t0 = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    optuna, study = open_study(folder, settings)
    requeued = _requeue_stale(study, optuna, settings.space)
    scenario, space, timeline = settings.scenario, settings.space, settings.timeline
    seeds = settings.search_seeds()
    host, pid = socket.gethostname(), os.getpid()

    def complete() -> int:
        return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))

    def taken() -> int:
        return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.RUNNING,
                                                               TrialState.WAITING)))

    bar = tqdm(total=trials, initial=min(trials, complete()), unit="trial", desc="trials",
               disable=None if progress else True, dynamic_ncols=True)
    where = executor_for(workers, scheduler)
    ran = 0
    in_flight: dict = {}   # trial number -> (trial, its runs' futures, or their results)
    try:
        base = reference(study, settings, where, lambda n: None)
        base_means = _means(base, "scored", settings.no_worse)
        limit = max(1, math.ceil(2 * where.slots / len(seeds))) if where.executor is not None else 1
        while True:
            while len(in_flight) < limit and taken() < trials:
                trial = study.ask()
                trial.set_user_attr("host", host)
                trial.set_user_attr("pid", pid)
                plan = suggest(trial, space)
                content, weights = run_content(scenario, plan, timeline), redeploy_weights(scenario, plan)
                calls = [(content, weights, s, timeline) for s in seeds]
                if where.executor is None:
                    in_flight[trial.number] = (trial, [evaluate(*c) for c in calls])
                else:
                    in_flight[trial.number] = (trial, [where.executor.submit(evaluate, *c) for c in calls])
            if not in_flight:
                break
            if where.executor is not None:
                pending = [f for _, fs in in_flight.values() for f in fs if not f.done()]
                if pending:
                    wait(pending, return_when=FIRST_COMPLETED)
            for number in list(in_flight):
                trial, parts = in_flight[number]
                if where.executor is not None:
                    if not all(f.done() for f in parts):
                        continue
                    parts = [f.result() for f in parts]
                trial.set_user_attr("seeds", [r["seed"] for r in parts])
                trial.set_user_attr("scored", [r["scored"] for r in parts])
                trial.set_user_attr("first_month", [r["first_month"] for r in parts])
                if settings.no_worse:
                    means = _means(parts, "scored", settings.no_worse)
                    excess = [m - b for m, b in zip(means, base_means)]
                    trial.set_user_attr("constraints", excess)
                    if hasattr(trial, "set_constraint"):
                        for key, value in zip(settings.no_worse, excess):
                            trial.set_constraint(f"no_worse_{key}", value)
                study.tell(trial, _means(parts, "scored", settings.objectives))
                del in_flight[number]
                ran += 1
                bar.n = min(trials, complete())
                bar.refresh()
    except BaseException:
        for trial, _ in in_flight.values():
            try:
                study.tell(trial, state=TrialState.FAIL)
            except Exception:  # the journal may be unwritable at this point; a rerun fails the trial
                pass
        raise
    finally:
        bar.close()
        where.shutdown()
    return SearchResult(folder, complete(), ran, requeued, time.perf_counter() - t0)


# -- the chosen plans, on fresh seeds ---------------------------------------------------------------


def _dominated(a: np.ndarray, b: np.ndarray) -> bool:
    """``a`` is dominated by ``b`` (every objective at least as small, one smaller)."""
    return bool(np.all(b <= a) and np.any(b < a))


def front(study, settings: Settings) -> list:
    """The complete, feasible trials no other such trial dominates, best first on the first objective."""
    from optuna.trial import TrialState

    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if all(c <= 0 for c in t.user_attrs.get("constraints", [0.0]))]
    values = [np.asarray(t.values) for t in done]
    kept = [t for t, v in zip(done, values) if not any(_dominated(v, w) for w in values)]
    unique = {}
    for t in sorted(kept, key=lambda t: (tuple(t.values), t.number)):
        unique.setdefault(tuple(t.values), t)
    return list(unique.values())


def choose(candidates: list, count: int) -> list:
    """Up to ``count`` plans spread along the front, the best on the first objective first."""
    if len(candidates) <= count:
        return candidates
    picks = sorted({round(i * (len(candidates) - 1) / max(1, count - 1)) for i in range(count)})
    return [candidates[i] for i in picks]


@dataclass
class Chosen:
    """A chosen plan and its figures."""

    name: str
    trial: int
    plan: Plan
    in_search: dict          # objective -> mean on the search seeds
    fresh: dict              # objective -> mean on the fresh seeds
    difference: dict         # objective -> (mean, low, high) of plan - scenario's deployment, paired by seed
    first_month: dict        # objective -> (relative effect, low, high) in the plan's first 30 days
    adapted: dict            # objective -> (relative effect, low, high) on the scored days
    file: Path | None = None


@dataclass
class OptimisationResult:
    """The chosen plans and the scenario's deployment on the same fresh seeds."""

    folder: Path
    settings: Settings
    trials: pd.DataFrame       # one row per complete trial: its objectives and whether it is on the front
    chosen: list[Chosen]
    reference_in_search: dict
    reference_fresh: dict
    fresh_seeds: list[int]
    files: dict = field(default_factory=dict)


def _paired(plan: list[dict], base: list[dict], part: str, key: str, relative: bool) -> tuple[float, float, float]:
    diff = np.array([p[part][key] - b[part][key] for p, b in zip(plan, base)])
    m, lo, hi = mean_ci(diff)
    if not relative:
        return (m, lo, hi)
    scale = float(np.mean([b[part][key] for b in base]))
    return tuple(v / scale if scale > 0 else float("nan") for v in (m, lo, hi))


def reevaluate(folder: Path, settings: Settings, plans: int, fresh: int, *, workers: int = 1,
               scheduler: str | None = None, progress: bool = True) -> OptimisationResult:
    """Run the chosen plans and the scenario's deployment on ``fresh`` new seeds, paired (kept in the study)."""
    from optuna.trial import TrialState
    from tqdm import tqdm

    optuna, study = open_study(folder, settings)
    scenario, space, timeline = settings.scenario, settings.space, settings.timeline
    seeds = settings.fresh_seeds(fresh)
    candidates = front(study, settings)
    picked = choose([t for t in candidates if not t.user_attrs.get("today")], plans)  # today's is the reference
    jobs = [("reference", None)] + [(f"trial:{t.number}", plan_of(t.params, space)) for t in picked]
    missing = [(label, plan) for label, plan in jobs if f"fresh:{label}:{seeds}" not in study.user_attrs]
    bar = tqdm(total=len(jobs) * len(seeds), initial=(len(jobs) - len(missing)) * len(seeds), unit="run",
               desc="fresh seeds", disable=None if progress else True, dynamic_ncols=True)
    where = executor_for(workers, scheduler)
    try:
        for label, plan in missing:
            content, weights = run_content(scenario, plan, timeline), redeploy_weights(scenario, plan)
            calls = [(content, weights, s, timeline) for s in seeds]
            if where.executor is None:
                found = []
                for c in calls:
                    found.append(evaluate(*c))
                    bar.update()
            else:
                found = _map(where, calls)
                bar.update(len(calls))
            study.set_user_attr(f"fresh:{label}:{seeds}", found)
    finally:
        bar.close()
        where.shutdown()
    attrs = study.user_attrs
    base = attrs[f"fresh:reference:{seeds}"]
    base_search = attrs[_reference_key(settings.search_seeds())]
    objectives = settings.objectives
    chosen = []
    for trial in picked:
        runs = attrs[f"fresh:trial:{trial.number}:{seeds}"]
        keys = tuple(dict.fromkeys((*objectives, *settings.no_worse)))
        chosen.append(Chosen(
            name=f"{scenario.name}-plan-{trial.number}", trial=trial.number, plan=plan_of(trial.params, space),
            in_search={k: float(np.mean([r[k] for r in trial.user_attrs["scored"]])) for k in keys},
            fresh={k: float(np.mean([r["scored"][k] for r in runs])) for k in keys},
            difference={k: _paired(runs, base, "scored", k, False) for k in keys},
            first_month={k: _paired(runs, base, "first_month", k, True) for k in keys},
            adapted={k: _paired(runs, base, "scored", k, True) for k in keys}))
    on_front = {t.number for t in candidates}
    rows = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        row = {"trial": t.number, **{k: v for k, v in zip(objectives, t.values)},
               "feasible": all(c <= 0 for c in t.user_attrs.get("constraints", [0.0])),
               "front": t.number in on_front}
        rows.append(row)
    keys = tuple(dict.fromkeys((*objectives, *settings.no_worse)))
    return OptimisationResult(folder, settings, pd.DataFrame(rows), chosen,
                   {k: float(np.mean([r["scored"][k] for r in base_search])) for k in keys},
                   {k: float(np.mean([r["scored"][k] for r in base])) for k in keys}, seeds)


def check_fresh(fresh: int, plans: int) -> None:
    """Refuse too few fresh seeds for a paired interval.

    Raises:
        OptimisationError: fewer than two fresh seeds.
    """
    if fresh < 2:
        raise OptimisationError(f"--fresh-seeds {fresh}: expected at least 2 (a paired interval needs two pairs)")
