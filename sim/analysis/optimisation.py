"""Designing a deployment: a simulation-based search over the resources a scenario has.

A *plan* splits the scenario's patrol units and drones over the sectors of the
coast (``gendarmerie.sector_weights``, ``surveillance.drone_sector_weights``)
and, as options, sets the interception mode at sea and the number of
lifeboats. Its budgets are the scenario's personnel and drones (or fewer):
a plan only splits them, so no plan can use more.

Each plan is judged in runs on one timeline: the scenario's deployment for
``settle`` days (the networks learn it), then the plan from noon of the next
day; the first ``warmup`` days of the plan do not count, so the networks have
had time to learn it (``sim.model.networks``), and the objectives are summed
over the days after. Every candidate runs on the same block of seeds (common
random numbers), beside the scenario's own deployment on those seeds. The
search is Optuna's (TPE, with several objectives a Pareto front; constraints
for "no worse than today's deployment"), ask-and-tell, in a journal file that
several processes, here or on other machines, share: a study that is stopped,
even by ``kill -9``, resumes where it stopped.

The chosen plans (the front) are run again on fresh seeds, paired with the
scenario's deployment on the same seeds, and their effect in the plan's first
30 days is set beside the effect once the networks have adapted.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import math
import os
import socket
import time
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.stats import mean_ci
from sim.errors import ScenarioError, StoreError, UserError, require_extra
from sim.outcomes import MEASURES, summarise
from sim.runs.batch import replication_seeds
from sim.runs.executors import executor_for
from sim.scenario import InterceptionMode, Scenario, from_dict, set_keys

#: What a plan may be judged on (summary keys, each to be made as small as possible).
OBJECTIVES = ("people_crossed", "deaths", "deaths_crossing", "deaths_intervention", "lives_at_risk",
              "officer_injuries")
#: What a search may change.
LEVERS = ("patrols", "drones", "interception", "lifeboats")
#: Interception modes, as the scenario names them.
MODES = InterceptionMode.__args__
#: Each sector's weight is searched on a grid of this step in [0, 1] (a plan's weights are short decimals).
WEIGHT_STEP = 0.05
#: The plan's first days whose effect is compared with its effect after the warm-up.
FIRST_MONTH = 30
#: The one study of a folder.
STUDY = "optimise"


class OptimisationError(UserError):
    """An optimisation that cannot be run as asked."""


# -- the search space ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Space:
    """What the search may change and within which bounds.

    Attributes:
        sectors: sectors of the coast (``gendarmerie.sector_weights``' length).
        levers: the levers searched, among :data:`LEVERS`.
        personnel: the personnel budget (a day), at most the scenario's.
        drones: the drone budget, at most the scenario's.
        modes: interception modes searched (with the ``interception`` lever).
        lifeboats: lowest and highest number of lifeboats (with the ``lifeboats`` lever).
    """

    sectors: int
    levers: tuple[str, ...]
    personnel: int
    drones: int
    modes: tuple[str, ...] = ()
    lifeboats: tuple[int, int] = (0, 0)


def parse_levers(text: str, scenario: Scenario) -> tuple[tuple[str, ...], tuple[str, ...], tuple[int, int]]:
    """``patrols,drones,interception=none/before_pickup,lifeboats=0-6`` into levers, modes and lifeboat range.

    Raises:
        OptimisationError: an unknown lever, an unknown mode, a malformed or empty range.
    """
    levers, modes, lifeboats = [], tuple(MODES), (0, scenario.maritime.lifeboats)
    for item in _items(text):
        name, _, value = item.partition("=")
        name = name.strip()
        if name not in LEVERS:
            hint = difflib.get_close_matches(name, LEVERS, n=1)
            raise OptimisationError(f"--levers: unknown lever {name!r}; expected some of {', '.join(LEVERS)}"
                                    + (f" (did you mean {hint[0]!r}?)" if hint else ""))
        if name in levers:
            raise OptimisationError(f"--levers: {name} given twice; expected each lever once")
        levers.append(name)
        if value and name == "interception":
            modes = tuple(m.strip() for m in value.split("/"))
            bad = [m for m in modes if m not in MODES]
            if bad or len(set(modes)) < 2:
                raise OptimisationError(f"--levers interception={value}: " + (
                    f"unknown mode {bad[0]!r}" if bad else "fewer than two modes to choose from")
                    + f"; expected two or more of {'/'.join(MODES)}")
        elif value and name == "lifeboats":
            low, sep, high = value.partition("-")
            try:
                lifeboats = (int(low), int(high)) if sep else (int(low), int(low))
            except ValueError:
                raise OptimisationError(f"--levers lifeboats={value}: expected a range LOW-HIGH of whole "
                                        "numbers, e.g. lifeboats=0-6") from None
        elif value:
            raise OptimisationError(f"--levers {item}: {name} takes no value; expected {name} alone")
    if not levers:
        raise OptimisationError(f"--levers {text!r}: no lever; expected some of {', '.join(LEVERS)}")
    if "lifeboats" in levers:
        low, high = lifeboats
        if low < 0 or high > 200 or low >= high:
            raise OptimisationError(f"--levers lifeboats={low}-{high}: an empty range; expected 0 <= LOW < HIGH "
                                    f"<= 200 (the scenario has {scenario.maritime.lifeboats}; give e.g. "
                                    "lifeboats=0-6)")
    return tuple(levers), modes, lifeboats


def _items(text: str) -> list[str]:
    """Comma-separated levers, where a lever's value may hold no comma."""
    return [p.strip() for p in text.split(",") if p.strip()]


def parse_objectives(text: str, option: str = "--objectives") -> tuple[str, ...]:
    """Comma-separated summary keys among :data:`OBJECTIVES`.

    Raises:
        OptimisationError: none, an unknown key, or one given twice.
    """
    keys = tuple(k.strip() for k in text.split(",") if k.strip())
    if not keys:
        raise OptimisationError(f"{option} {text!r}: no objective; expected some of {', '.join(OBJECTIVES)}")
    for key in keys:
        if key not in OBJECTIVES:
            hint = difflib.get_close_matches(key, OBJECTIVES, n=1)
            raise OptimisationError(f"{option}: unknown objective {key!r}; expected some of {', '.join(OBJECTIVES)}"
                                    + (f" (did you mean {hint[0]!r}?)" if hint else ""))
    if len(set(keys)) < len(keys):
        raise OptimisationError(f"{option} {text!r}: an objective given twice; expected each once")
    return keys


def make_space(scenario: Scenario, levers_text: str, personnel: int | None, drones: int | None) -> Space:
    """The search space of ``scenario`` with the levers and budgets asked for.

    Raises:
        OptimisationError: a budget of zero or above the scenario's, a lever with nothing to move.
    """
    levers, modes, lifeboats = parse_levers(levers_text, scenario)
    g, s = scenario.gendarmerie, scenario.surveillance
    budget_personnel = g.personnel_per_day if personnel is None else personnel
    budget_drones = s.drones if drones is None else drones
    for option, given, most in (("--personnel", personnel, g.personnel_per_day), ("--drones", drones, s.drones)):
        if given is not None and given > most:
            raise OptimisationError(f"{option} {given}: more than the scenario's {most}; expected a budget of at "
                                    f"most {most} (a plan may use fewer than the scenario has, never more)")
    if "patrols" in levers:
        units = int(budget_personnel * g.night_coast_share // g.officers_per_unit)
        if units < 1:
            raise OptimisationError(f"--personnel: a budget of {budget_personnel} personnel is no patrol unit "
                                    f"({g.night_coast_share:g} of them at night, {g.officers_per_unit} a unit); "
                                    "expected a budget that makes at least one unit to deploy")
    if "drones" in levers and budget_drones < 1:
        raise OptimisationError(f"--drones: a budget of zero drones; expected at least one drone to deploy "
                                "(or leave out the drones lever)")
    if "interception" in levers and any(c.policy.shallow_water_interception is not None for c in scenario.schedule):
        raise OptimisationError(f"--levers interception: {scenario.name} changes the interception mode on a date "
                                "(schedule); expected a scenario without such a change to search the mode")
    return Space(len(g.sector_weights), levers, budget_personnel, budget_drones, modes, lifeboats)


# -- plans -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """A deployment: its splits (None: as the scenario has it), interception mode and lifeboats."""

    personnel: int
    drones: int
    patrols: tuple[float, ...] | None = None
    drone_split: tuple[float, ...] | None = None
    interception: str | None = None
    lifeboats: int | None = None

    def keys(self, scenario: Scenario) -> dict:
        """The scenario keys (dotted) that set this plan over ``scenario``."""
        out = {}
        if self.personnel != scenario.gendarmerie.personnel_per_day:
            out["gendarmerie.personnel_per_day"] = self.personnel
        if self.drones != scenario.surveillance.drones:
            out["surveillance.drones"] = self.drones
        if self.patrols is not None:
            out["gendarmerie.sector_weights"] = list(self.patrols)
        if self.drone_split is not None:
            out["surveillance.drone_sector_weights"] = list(self.drone_split)
        if self.interception is not None:
            out["policy.shallow_water_interception"] = self.interception
        if self.lifeboats is not None:
            out["maritime.lifeboats"] = self.lifeboats
        return out

    def units_per_sector(self, scenario: Scenario) -> list[int]:
        """Patrol units in each sector under this plan."""
        from sim.model.geography import Sectors

        g = scenario.gendarmerie
        units = int(self.personnel * g.night_coast_share // g.officers_per_unit)
        weights = self.patrols or tuple(g.sector_weights)
        return np.bincount(Sectors(len(weights), 1.0, weights).allocate(units), minlength=len(weights)).tolist()

    def drones_per_sector(self, scenario: Scenario) -> list[int]:
        """Drones in each sector under this plan."""
        from sim.model.geography import Sectors

        weights = self.drone_split or scenario.surveillance.drone_sector_weights or self.patrols or \
            scenario.gendarmerie.sector_weights
        weights = tuple(weights)
        return np.bincount(Sectors(len(weights), 1.0, weights).allocate(self.drones), minlength=len(weights)).tolist()


def _split(params: dict, lever: str, n: int) -> tuple[float, ...]:
    weights = tuple(round(float(params[f"{lever}.{i}"]), 2) for i in range(n))
    return weights if sum(weights) > 0 else (1.0,) * n  # nowhere at all: an even split


def plan_of(params: dict, space: Space) -> Plan:
    """The plan a trial's parameters describe."""
    return Plan(space.personnel, space.drones,
                patrols=_split(params, "patrols", space.sectors) if "patrols" in space.levers else None,
                drone_split=_split(params, "drones", space.sectors) if "drones" in space.levers else None,
                interception=params.get("interception") if "interception" in space.levers else None,
                lifeboats=int(params["lifeboats"]) if "lifeboats" in space.levers else None)


def suggest(trial, space: Space) -> Plan:
    """Ask ``trial`` for a plan of ``space``."""
    for lever in ("patrols", "drones"):
        if lever in space.levers:
            for i in range(space.sectors):
                trial.suggest_float(f"{lever}.{i}", 0.0, 1.0, step=WEIGHT_STEP)
    if "interception" in space.levers:
        trial.suggest_categorical("interception", list(space.modes))
    if "lifeboats" in space.levers:
        trial.suggest_int("lifeboats", *space.lifeboats)
    return plan_of(trial.params, space)


# -- one evaluation run ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Timeline:
    """Days of an evaluation run: the scenario's deployment, then the plan, warm-up, scored days."""

    settle: int
    warmup: int
    days: int

    @property
    def scored(self) -> tuple[int, int]:
        """First and last (exclusive) day that counts."""
        return self.settle + self.warmup, self.days

    @property
    def first_month(self) -> tuple[int, int]:
        """The plan's first :data:`FIRST_MONTH` days."""
        return self.settle, min(self.days, self.settle + FIRST_MONTH)


def run_content(scenario: Scenario, plan: Plan | None, timeline: Timeline) -> dict:
    """The scenario a plan's runs are built from: its counts from the first day, its interception mode from the plan's.

    The splits are the scenario's until the plan starts (:func:`evaluate` redeploys then).
    """
    data = scenario.model_dump()
    data["days"] = timeline.days
    if plan is not None:
        counts = {k: v for k, v in plan.keys(scenario).items()
                  if k in ("gendarmerie.personnel_per_day", "surveillance.drones", "maritime.lifeboats")}
        data = set_keys(data, counts)
        if plan.interception is not None:
            if timeline.settle == 0:
                data = set_keys(data, {"policy.shallow_water_interception": plan.interception})
            else:
                start = scenario.start_date + dt.timedelta(days=timeline.settle)
                data["schedule"] = [*data["schedule"], {"date": start, "policy": {
                    "shallow_water_interception": plan.interception}}]
    return from_dict(data, scenario.name).to_dict()


def _window(boats: pd.DataFrame, days: tuple[int, int]) -> dict:
    low, high = days
    part = boats[(boats["day"] >= low) & (boats["day"] < high)]
    summary = summarise(part, days=high - low, seed=0, scenario="")
    return {k: float(summary[k]) for k in OBJECTIVES}


def evaluate(content: dict, weights: tuple | None, seed: int, timeline: Timeline) -> dict:
    """One run of a plan (in whichever process runs it): the objectives of its first month and of its scored days.

    Args:
        content: from :func:`run_content`.
        weights: ``(patrol weights, drone weights or None)`` set when the plan starts; None: no change.
        seed: the run's seed.
        timeline: the run's days.
    """
    from sim.model import ChannelModel

    model = ChannelModel(Scenario.model_validate(content), seed=seed)
    model.run_for(timeline.settle)
    if weights is not None:
        model.redeploy(list(weights[0]), None if weights[1] is None else list(weights[1]))
    model.run_for(timeline.days - timeline.settle)
    model.run_until(model.time + 0.999)
    boats = model.boats_frame()
    model.close()
    return {"seed": seed, "first_month": _window(boats, timeline.first_month), "scored": _window(boats, timeline.scored)}


def _weights(scenario: Scenario, plan: Plan | None) -> tuple | None:
    if plan is None or (plan.patrols is None and plan.drone_split is None):
        return None
    patrols = plan.patrols or tuple(scenario.gendarmerie.sector_weights)
    drones = plan.drone_split or scenario.surveillance.drone_sector_weights
    return (tuple(patrols), None if drones is None else tuple(drones))


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


def check_timeline(days: int, settle: int, warmup: int) -> Timeline:
    """The timeline, or one line when no day is left to score.

    Raises:
        OptimisationError: ``settle + warmup`` leaves no scored day.
    """
    if settle + warmup >= days:
        raise OptimisationError(f"--settle {settle} + --warmup {warmup}: no day left to score in a run of {days} "
                                "days; expected settle + warmup < --days")
    return Timeline(settle, warmup, days)


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


def n_params(space: Space) -> int:
    """Parameters of a whole plan of ``space``."""
    return (space.sectors * sum(lever in space.levers for lever in ("patrols", "drones"))
            + ("interception" in space.levers) + ("lifeboats" in space.levers))


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

    # Each process its own stream of proposals, so that processes sharing the study do not propose the same plans.
    # Optuna 5 reads the constraints each trial sets (Trial.set_constraint); Optuna 4 asks a function for them.
    old = settings.no_worse and not hasattr(optuna.trial.Trial, "set_constraint")
    sampler = optuna.samplers.TPESampler(seed=(settings.seed * 7919 + os.getpid()) % 2**31,
                                         multivariate=True, n_startup_trials=10,
                                         **({"constraints_func": constraints} if old else {}))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study = optuna.create_study(study_name=STUDY, storage=storage, sampler=sampler, load_if_exists=True,
                                    directions=["minimize"] * len(objectives))
    if "definition" not in study.user_attrs:
        study.set_user_attr("definition", settings.definition())
        study.enqueue_trial(todays_params(settings.scenario, settings.space), user_attrs={"today": True},
                            skip_if_exists=True)  # the first trial: today's deployment, as near as the grid allows
    return optuna, study


def todays_params(scenario: Scenario, space: Space) -> dict:
    """The trial parameters nearest the scenario's own deployment (weights scaled to at most 1, on the grid)."""
    def grid(weights) -> list[float]:
        top = max(weights)
        return [round(round(w / top / WEIGHT_STEP) * WEIGHT_STEP, 2) for w in weights]

    params = {}
    patrols = grid(scenario.gendarmerie.sector_weights)
    if "patrols" in space.levers:
        params.update({f"patrols.{i}": w for i, w in enumerate(patrols)})
    if "drones" in space.levers:
        own = scenario.surveillance.drone_sector_weights
        params.update({f"drones.{i}": w for i, w in enumerate(grid(own) if own else patrols)})
    if "interception" in space.levers and scenario.policy.shallow_water_interception in space.modes:
        params["interception"] = scenario.policy.shallow_water_interception
    if "lifeboats" in space.levers:
        params["lifeboats"] = min(max(scenario.maritime.lifeboats, space.lifeboats[0]), space.lifeboats[1])
    return params


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
                content, weights = run_content(scenario, plan, timeline), _weights(scenario, plan)
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
            content, weights = run_content(scenario, plan, timeline), _weights(scenario, plan)
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


# -- outputs ---------------------------------------------------------------------------------------


def write_plans(outcome: OptimisationResult) -> list[Path]:
    """Each chosen plan as a scenario file that ``extends:`` the source scenario (``plans/<name>.yaml``).

    The folder holds the plans of the study's last pass only: files of plans no longer chosen are removed.
    """
    import yaml

    settings = outcome.settings
    folder = outcome.folder / "plans"
    folder.mkdir(exist_ok=True)
    keep = set()
    for c in outcome.chosen:
        path = folder / f"{c.name}.yaml"
        parent = os.path.relpath(settings.source.resolve(), folder.resolve())
        data = set_keys({}, c.plan.keys(settings.scenario))
        objectives = ", ".join(f"{MEASURES[k].label.lower()} {c.fresh[k]:,.1f}" for k in settings.objectives)
        text = (f"# channel-sim optimise: trial {c.trial} of {outcome.folder}; on {len(outcome.fresh_seeds)} fresh "
                f"seeds, over days {settings.timeline.scored[0]}-{settings.timeline.scored[1] - 1} of each run: "
                f"{objectives}\n"
                + yaml.safe_dump({"extends": parent, "name": c.name,
                                  "description": f"deployment found by channel-sim optimise (trial {c.trial}) for "
                                                 f"{settings.scenario.name}"}, sort_keys=False)
                + yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=200))
        path.write_text(text, encoding="utf-8")
        c.file = path
        keep.add(path.name)
    for old in folder.glob("*.yaml"):
        if old.name not in keep:
            old.unlink()
    return [c.file for c in outcome.chosen]


def _cell(value: float) -> str:
    return f"{value:,.1f}"


def _interval(triple, percent: bool = False) -> str:
    m, lo, hi = triple
    if not np.isfinite(m):
        return "n/a"
    if percent:
        return f"{m:+.1%} [{lo:+.1%}, {hi:+.1%}]"
    return f"{m:+,.1f} [{lo:+,.1f}, {hi:+,.1f}]"


def beats(c: Chosen, key: str) -> bool:
    """The plan's paired interval against the scenario's deployment lies wholly below zero on ``key``."""
    m, lo, hi = c.difference[key]
    return bool(np.isfinite(hi) and hi < 0)


def survival(c: Chosen, key: str) -> float:
    """Share of the first month's reduction of ``key`` still there once the networks have adapted.

    NaN when the first month shows no reduction outside its paired interval (a share of noise means nothing).
    """
    first, _, high = c.first_month[key]
    adapted = c.adapted[key][0]
    return adapted / first if np.isfinite(high) and high < 0 else float("nan")


def markdown(outcome: OptimisationResult) -> str:
    """``pareto.md``: the chosen plans, their splits and their figures in search and on fresh seeds."""
    s = outcome.settings
    scenario, t = s.scenario, s.timeline
    keys = tuple(dict.fromkeys((*s.objectives, *s.no_worse)))
    label = {k: MEASURES[k].label.lower() for k in keys}
    lines = [f"# Deployments of {scenario.name}: {', '.join(label[k] for k in s.objectives)}", "",
             f"{len(outcome.trials)} trials, each on the same {s.seeds} seeds; runs of {t.days} days from "
             f"{scenario.start_date}: the scenario's deployment for {t.settle} days, then the plan; its first "
             f"{t.warmup} days do not count (the networks learn it), the objectives are summed over days "
             f"{t.scored[0]}-{t.scored[1] - 1}. Budgets: {s.space.personnel:,} personnel a day, {s.space.drones} "
             f"drones; levers: {', '.join(s.space.levers)}"
             + (f"; no worse than the scenario's deployment on {', '.join(label[k] for k in s.no_worse)}"
                if s.no_worse else "") + ".", "",
             f"Chosen plans (the front, {len(outcome.chosen)} of its "
             f"{int(outcome.trials['front'].sum()) if len(outcome.trials) else 0}) run again on "
             f"{len(outcome.fresh_seeds)} fresh seeds beside the scenario's deployment on the same seeds; "
             "differences are paired by seed, with 95 % intervals.", ""]
    head = ["plan", "patrol units by sector", "drones by sector", *(["interception"] if "interception" in s.space.levers
                                                                    else []),
            *(["lifeboats"] if "lifeboats" in s.space.levers else [])]
    head += [f"{label[k]} in search" for k in keys] + [f"{label[k]} fresh seeds" for k in keys]
    head += [f"{label[k]} vs deployment today (fresh)" for k in keys]
    rows = []
    base_units = Plan(scenario.gendarmerie.personnel_per_day, scenario.surveillance.drones)
    ref = ["scenario's deployment", " ".join(map(str, base_units.units_per_sector(scenario))),
           " ".join(map(str, base_units.drones_per_sector(scenario)))]
    ref += ([scenario.policy.shallow_water_interception] if "interception" in s.space.levers else [])
    ref += ([str(scenario.maritime.lifeboats)] if "lifeboats" in s.space.levers else [])
    ref += [_cell(outcome.reference_in_search[k]) for k in keys] + [_cell(outcome.reference_fresh[k]) for k in keys]
    ref += ["" for _ in keys]
    rows.append(ref)
    for c in outcome.chosen:
        row = [f"[{c.name}](plans/{c.name}.yaml)", " ".join(map(str, c.plan.units_per_sector(scenario))),
               " ".join(map(str, c.plan.drones_per_sector(scenario)))]
        row += ([c.plan.interception] if "interception" in s.space.levers else [])
        row += ([str(c.plan.lifeboats)] if "lifeboats" in s.space.levers else [])
        row += [_cell(c.in_search[k]) for k in keys] + [_cell(c.fresh[k]) for k in keys]
        row += [_interval(c.difference[k]) + (" **beats**" if beats(c, k) else "") for k in keys]
        rows.append(row)
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(r) + " |" for r in rows]
    first = s.objectives[0]
    lines += ["", f"## Does the effect survive adaptation? ({label[first]})", "",
              f"Relative effect against the scenario's deployment on the fresh seeds, in the plan's first "
              f"{FIRST_MONTH} days (days {t.first_month[0]}-{t.first_month[1] - 1}: the networks still expect "
              f"the old deployment) and after the warm-up (days {t.scored[0]}-{t.scored[1] - 1}).", "",
              "| plan | first month | after warm-up | share that survives |", "|---|---|---|---|"]
    for c in outcome.chosen:
        share = survival(c, first)
        lines.append(f"| {c.name} | {_interval(c.first_month[first], True)} | {_interval(c.adapted[first], True)} | "
                     f"{'n/a (no first-month reduction outside its interval)' if not np.isfinite(share) else f'{share:.0%}'} |")
    lines += ["", "Sectors run from the Belgian border (first) to the Bay of Somme (last), "
              f"{150 / s.space.sectors:g} km each. Each plan file extends the scenario; `channel-sim batch` runs "
              "it (from its first day, with no warm-up).", ""]
    return "\n".join(lines)


def write_outputs(outcome: OptimisationResult) -> dict:
    """``pareto.md``, ``pareto.png``, ``trials.csv`` and ``plans/`` in the study's folder."""
    from sim.analysis.optimisation_figures import pareto_figure

    folder = outcome.folder
    files = {"plans": write_plans(outcome)}
    files["md"] = folder / "pareto.md"
    files["md"].write_text(markdown(outcome), encoding="utf-8")
    files["csv"] = folder / "trials.csv"
    outcome.trials.to_csv(files["csv"], index=False)
    files["png"] = pareto_figure(outcome, folder / "pareto.png")
    (folder / "outcome.json").write_text(json.dumps({
        "fresh_seeds": outcome.fresh_seeds, "reference_fresh": outcome.reference_fresh,
        "reference_in_search": outcome.reference_in_search,
        "chosen": [{"name": c.name, "trial": c.trial, "keys": c.plan.keys(outcome.settings.scenario),
                    "in_search": c.in_search, "fresh": c.fresh, "difference": c.difference,
                    "first_month": c.first_month, "adapted": c.adapted} for c in outcome.chosen]},
        indent=1, default=float), encoding="utf-8")
    outcome.files = files
    return files


def check_fresh(fresh: int, plans: int) -> None:
    """Refuse too few fresh seeds for a paired interval.

    Raises:
        OptimisationError: fewer than two fresh seeds.
    """
    if fresh < 2:
        raise OptimisationError(f"--fresh-seeds {fresh}: expected at least 2 (a paired interval needs two pairs)")
