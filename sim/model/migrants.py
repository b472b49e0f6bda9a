"""Migrants: the camps where people wait, and the groups that go to the coast.

People are held as a count in each camp (Loon-Plage near Dunkirk, Calais),
fed by the flow of people towards the coast. When a network commits a boat it
takes a group from its camp; the group travels to the coast, hides near the
beach (dunes, woods or bunkers, seed 002), and either boards or is dispersed.
Survivors who do not reach the UK (dispersed, taken back from the water,
rescued) mostly return to their camp and try again: one person stopped three
times is three prevented attempts (channel-facts.md, caveats).

The camps are open: people leave the coast (give up, claim asylum in France,
move to another route) after a failed attempt and, whatever happened, with a
weekly hazard; police clearances move part of a camp away for some days, and
some of those moved do not come back. How many of the people heading for the
coast come to the camps responds to the route's recent record
(:class:`RouteResponse`).
"""

from __future__ import annotations

from enum import Enum, auto

import numpy as np
from mesa.discrete_space import CellAgent, FixedAgent


class GroupState(Enum):
    """Where a migrant group is in its attempt."""

    TRAVELLING = auto()  # from the camp to the coast
    HIDING = auto()      # in dunes, woods or a bunker near the beach
    ON_BEACH = auto()    # assembling a dinghy, or wading out to a taxi boat
    ABOARD = auto()      # at sea
    DISPERSED = auto()   # stopped on land or taken back from the water
    RESCUED = auto()     # their boat failed at sea
    ARRIVED = auto()     # reached UK waters


class Camp(FixedAgent):
    """A camp: a count of people waiting, fed by the daily inflow."""

    #: The camps' own streams of draws (offsets of the run's seed): arrivals, the day's leaving and
    #: clearances, and leaving after a failed attempt. A policy that changes how many come or stay
    #: then changes these counts without shifting the draws of the rest of the model, or of each other.
    STREAMS = {"arrivals": 0xA77, "days": 0xDA5, "failures": 0xFA1}

    def __init__(self, model, cell, name: str, share: float, streams: dict[str, np.random.Generator]):
        """Create a camp.

        Args:
            model: the model.
            cell: the grid cell where the camp stands.
            name: camp name.
            share: its share of the inflow.
            streams: the camps' streams of draws, by name (``STREAMS``), shared by the camps.
        """
        super().__init__(model)
        self.streams = streams
        self.cell = cell
        self.name = name
        self.share = share
        self.people = 0
        self.arrived = 0
        self.away = 0       # moved by a clearance, not yet back
        self.left = 0       # people who left the coast from this camp, since the start
        self.cleared = 0    # people moved in clearances, since the start

    def receive(self, mean_arrivals: float) -> None:
        """Add the day's arrivals, Poisson around ``mean_arrivals * share``."""
        n = int(self.streams["arrivals"].poisson(mean_arrivals * self.share))
        self.people += n
        self.arrived += n

    def daily(self, params) -> None:
        """A day of the camp: people moved away come back, some leave, and the police may clear it.

        Args:
            params: the scenario (its ``camps`` and ``clearances`` sections).
        """
        rng = self.streams["days"]
        clearances = params.clearances
        if self.away:
            back = int(rng.binomial(self.away, 1.0 - np.exp(-1.0 / clearances.return_days)))
            self.away -= back
            self.people += back
        weekly = params.camps.leave_per_week
        if weekly > 0 and self.people:
            self._leave(int(rng.binomial(self.people, 1.0 - (1.0 - weekly) ** (1 / 7))))
        if clearances.per_month > 0 and rng.random() < clearances.per_month / 30.44:
            moved = int(rng.binomial(self.people, clearances.share_moved))
            self.people -= moved
            self.cleared += moved
            staying_away = int(rng.binomial(moved, clearances.leave_share))
            self.left += staying_away
            self.away += moved - staying_away

    def _leave(self, n: int) -> None:
        self.people -= n
        self.left += n

    def take(self, n: int) -> int:
        """Take up to ``n`` people for a boat; returns how many came."""
        n = min(n, self.people)
        self.people -= n
        return n

    def give_back(self, n: int) -> None:
        """People who did not set out after all come back to wait."""
        self.people += n

    def after_failure(self, n: int) -> None:
        """Survivors of a failed attempt: some leave the coast, the others wait to try again."""
        share = self.model.inputs.camps.leave_after_failure
        leaving = int(self.streams["failures"].binomial(n, share)) if share > 0 and n > 0 else 0
        self.people += n - leaving
        self.left += leaving


class MigrantGroup(CellAgent):
    """The people of one boat attempt, from the camp to the outcome."""

    def __init__(self, model, camp: Camp, people: int):
        """Create a group that has just left ``camp``.

        Args:
            model: the model.
            camp: where they come from (and return to if stopped).
            people: how many.
        """
        super().__init__(model)
        self.camp = camp
        self.people = people
        self.state = GroupState.TRAVELLING
        self.cell = camp.cell

    def hide(self, cell) -> None:
        """Reach the hiding place near the beach."""
        self.state = GroupState.HIDING
        self.cell = cell

    def go_to_beach(self, cell) -> None:
        """Leave cover for the beach or the surf."""
        self.state = GroupState.ON_BEACH
        self.cell = cell

    def board(self) -> None:
        """Board the boat."""
        self.state = GroupState.ABOARD

    def end(self, state: GroupState, deaths: int = 0) -> None:
        """Finish the attempt: survivors who did not cross go back to the camp, or leave the coast."""
        self.state = state
        if state is not GroupState.ARRIVED:
            self.camp.after_failure(self.people - deaths)
        self.remove()


def seasonal_inflow(mean: float, seasonality: float, peak_doy: int, doy: np.ndarray) -> np.ndarray:
    """Mean daily arrivals at the camps on each day of the year."""
    return mean * (1.0 + seasonality * np.cos(2 * np.pi * (doy - peak_doy) / 365.25))


class RouteResponse:
    """How the arrivals at the camps respond to the route's recent record.

    The record is the weekly chance that a person waiting at the coast
    crosses and stays: people crossed a week per person waiting (success and
    time waited in one figure), times one less the share of those crossed who
    were returned to France. Each is an exponentially weighted average over
    ``camps.response_memory_days``. Arrivals are the flow towards the coast
    times ``(record / reference_crossing_rate) ** response_elasticity``, at most
    ``max_response``: with an elasticity of 0 they do not respond at all. The
    returns policy deters only through this response.

    Args:
        params: the scenario's ``camps`` section.
    """

    def __init__(self, params):
        self.params = params
        self.rate = 1.0 / params.response_memory_days
        self.waiting = float(params.initial_people)
        self.crossed = params.reference_crossing_rate / 7.0 * max(1.0, self.waiting)  # a start at the reference
        self.returned = 0.0

    def update(self, crossed: int, waiting: int, returned: int) -> None:
        """Add a day: people crossed since the day before, people waiting, people returned."""
        a = self.rate
        self.crossed += a * (crossed - self.crossed)
        self.waiting += a * (waiting - self.waiting)
        self.returned += a * (returned - self.returned)

    def record(self) -> float:
        """People crossed and staying, a week per person waiting, over the recent past."""
        staying = max(0.0, 1.0 - self.returned / self.crossed) if self.crossed > 0 else 0.0
        return 7.0 * self.crossed / max(1.0, self.waiting) * staying

    def factor(self) -> float:
        """The multiple of the flow towards the coast that comes to the camps today."""
        params = self.params
        if params.response_elasticity == 0:
            return 1.0
        ratio = self.record() / params.reference_crossing_rate
        return float(min(params.max_response, ratio ** params.response_elasticity)) if ratio > 0 else 0.0
