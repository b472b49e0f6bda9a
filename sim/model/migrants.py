"""Migrants: the camps where people wait, and the groups that go to the coast.

People are held as a count in each camp (Loon-Plage near Dunkirk, Calais),
fed by a seasonal inflow. When a network commits a boat it takes a group from
its camp; the group travels to the coast, hides near the beach (dunes, woods
or bunkers, seed 002), and either boards or is dispersed. Survivors who do not
reach the UK (dispersed, taken back from the water, rescued) return to their
camp and try again: one person stopped three times is three prevented attempts
(channel-facts.md, caveats).
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

    def __init__(self, model, cell, name: str, share: float):
        """Create a camp.

        Args:
            model: the model.
            cell: the grid cell where the camp stands.
            name: camp name.
            share: its share of the inflow.
        """
        super().__init__(model)
        self.cell = cell
        self.name = name
        self.share = share
        self.people = 0
        self.arrived = 0

    def receive(self, mean_arrivals: float) -> None:
        """Add the day's arrivals, Poisson around ``mean_arrivals * share``."""
        n = int(self.model.rng.poisson(mean_arrivals * self.share))
        self.people += n
        self.arrived += n

    def take(self, n: int) -> int:
        """Take up to ``n`` people for a boat; returns how many came."""
        n = min(n, self.people)
        self.people -= n
        return n

    def give_back(self, n: int) -> None:
        """People who did not cross come back to wait for another try."""
        self.people += n


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
        """Finish the attempt: survivors who did not cross go back to the camp."""
        self.state = state
        if state is not GroupState.ARRIVED:
            self.camp.give_back(self.people - deaths)
        self.remove()


def seasonal_inflow(mean: float, seasonality: float, peak_doy: int, doy: np.ndarray) -> np.ndarray:
    """Mean daily arrivals at the camps on each day of the year."""
    return mean * (1.0 + seasonality * np.cos(2 * np.pi * (doy - peak_doy) / 365.25))
