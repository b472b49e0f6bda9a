"""The search space of ``channel-sim optimise``: what a plan may change, its budgets, and the plans themselves.

A *plan* splits the scenario's patrol units and drones over the sectors of the
coast (``gendarmerie.sector_weights``, ``surveillance.drone_sector_weights``)
and, as options, sets the interception mode at sea and the number of
lifeboats. Its budgets are the scenario's personnel and drones (or fewer):
a plan only splits them, so no plan can use more. Here: the levers and
objectives a search accepts (:func:`parse_levers`, :func:`parse_objectives`),
the space they make with the budgets (:func:`make_space`), a plan and the
scenario keys that set it (:class:`Plan`), and the trial parameters that
describe one (:func:`suggest`, :func:`plan_of`, :func:`todays_params`).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from sim.analysis.deployments import Deployment, deployment_of
from sim.errors import UserError
from sim.model.patrols import patrol_units
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
        units = patrol_units(g, budget_personnel)
        if units < 1:
            raise OptimisationError(f"--personnel: a budget of {budget_personnel} personnel is no patrol unit "
                                    f"({g.night_coast_share:g} of them at night, {g.officers_per_unit} a unit); "
                                    "expected a budget that makes at least one unit to deploy")
    if "drones" in levers and budget_drones < 1:
        raise OptimisationError("--drones: a budget of zero drones; expected at least one drone to deploy "
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

    def deployment(self, scenario: Scenario) -> Deployment:
        """The plan's units and drones by sector, as the model deploys ``scenario`` with the plan's keys set."""
        return deployment_of(from_dict(set_keys(scenario.to_dict(), self.keys(scenario)), "<plan>"))

    def units_per_sector(self, scenario: Scenario) -> list[int]:
        """Patrol units in each sector under this plan."""
        return list(self.deployment(scenario).units)

    def drones_per_sector(self, scenario: Scenario) -> list[int]:
        """Drones in each sector under this plan."""
        return list(self.deployment(scenario).drones)


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


def n_params(space: Space) -> int:
    """Parameters of a whole plan of ``space``."""
    return (space.sectors * sum(lever in space.levers for lever in ("patrols", "drones"))
            + ("interception" in space.levers) + ("lifeboats" in space.levers))


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
