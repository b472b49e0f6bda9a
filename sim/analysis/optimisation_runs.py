"""One evaluation run of a plan (``channel-sim optimise``): its timeline, the scenario it runs, its figures.

Each plan is judged in runs on one timeline: the scenario's deployment for
``settle`` days (the networks learn it), then the plan from noon of the next
day; the first ``warmup`` days of the plan do not count, so the networks have
had time to learn it (``sim.model.networks``), and the objectives are summed
over the days after. The counts a plan sets (personnel, drones, lifeboats)
hold from the run's first day. :func:`evaluate` is what a worker process runs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from sim.analysis.optimisation_space import OBJECTIVES, OptimisationError, Plan
from sim.outcomes import summarise
from sim.scenario import Scenario, from_dict, set_keys

#: The plan's first days whose effect is compared with its effect after the warm-up.
FIRST_MONTH = 30


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

    model = ChannelModel(Scenario.model_validate(content), seed=seed, tracks=False)  # no one reads its tracks
    model.run_for(timeline.settle)
    if weights is not None:
        model.redeploy(list(weights[0]), None if weights[1] is None else list(weights[1]))
    model.run_for(timeline.days - timeline.settle)
    model.run_until(model.time + 0.999)
    boats = model.boats_frame()
    model.close()
    return {"seed": seed, "first_month": _window(boats, timeline.first_month), "scored": _window(boats, timeline.scored)}


def redeploy_weights(scenario: Scenario, plan: Plan | None) -> tuple | None:
    """The weights ``(patrols, drones or None)`` a plan's runs redeploy to when it starts; None: no change."""
    if plan is None or (plan.patrols is None and plan.drone_split is None):
        return None
    patrols = plan.patrols or tuple(scenario.gendarmerie.sector_weights)
    drones = plan.drone_split or scenario.surveillance.drone_sector_weights
    return (tuple(patrols), None if drones is None else tuple(drones))


def check_timeline(days: int, settle: int, warmup: int) -> Timeline:
    """The timeline, or one line when no day is left to score.

    Raises:
        OptimisationError: ``settle + warmup`` leaves no scored day.
    """
    if settle + warmup >= days:
        raise OptimisationError(f"--settle {settle} + --warmup {warmup}: no day left to score in a run of {days} "
                                "days; expected settle + warmup < --days")
    return Timeline(settle, warmup, days)
