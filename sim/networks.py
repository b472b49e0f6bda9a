"""Smuggling networks: stock of boats, and each night's choices.

Each network works a stretch of coast around its centre and draws people from
one camp. Boats and engines come by van from warehouses in Germany, about four
hours away (seed 003); a network sends for a van when its stock runs low, and
cannot launch more boats than it holds. Each night it decides whether the sea
allows a launch (rarely above 0.5 m waves, never above 1 m: Times analysis),
how many boats, beach launch or taxi boat (taxi boats need a waterway within
reach of a pickup beach: seeds 000, 003, 004), where, and how many people per
boat. It learns the risk of each beach from what happens to its boats and
avoids the risky ones, which displaces launches when one stretch is policed
harder.
"""

from __future__ import annotations

from enum import Enum, auto

import numpy as np
from mesa import Agent

from sim.boats import Boat, plan_night
from sim.geography import Coast, Site, Waterway
from sim.migrants import Camp, MigrantGroup
from sim.outcomes import BoatKind, Outcome

#: A network's prior belief that a launch at an unknown beach is stopped. Assumption.
PRIOR_SITE_RISK = 0.3


class NetworkState(Enum):
    """A network's situation at the start of a night."""

    STOCKED = auto()         # has boats
    WAITING_FOR_VAN = auto() # below its reorder point, a van on the way
    OUT_OF_STOCK = auto()    # nothing to launch


class SmugglingNetwork(Agent):
    """A smuggling network working one stretch of coast.

    Args:
        model: the model.
        home_km: centre of its stretch, km from the Belgian border.
        camp: the camp it draws people from.
        coast: the strip map.
        barrages: names of waterways closed by barrages.
    """

    def __init__(self, model, home_km: float, camp: Camp, coast: Coast, barrages: list[str]):
        super().__init__(model)
        p = model.params.networks
        self.params = p
        self.home_km = home_km
        self.camp = camp
        self.boats = p.initial_boats
        self.van_due: float | None = None
        self.state = NetworkState.STOCKED if self.boats else NetworkState.OUT_OF_STOCK
        self.site_risk = np.full(len(coast.sites), PRIOR_SITE_RISK)
        near = [s for s in coast.sites if abs(s.km - home_km) <= p.range_km]
        self.beach_sites: list[Site] = [s for s in near if s.beach]
        self.taxi_options: list[tuple[Site, Waterway]] = []
        open_ways = [w for w in coast.waterways if w.name not in barrages]
        max_run = model.params.operations.taxi_max_run_km
        for s in near:
            if not s.pickup or not open_ways:
                continue
            w = min(open_ways, key=lambda w: abs(w.km - s.km))
            if abs(w.km - s.km) <= max_run:
                self.taxi_options.append((s, w))

    # -- supply ---------------------------------------------------------------------
    def resupply(self) -> None:
        """Send for a van from Germany when stock is low (seed 003: about 4 hours away)."""
        p = self.params
        if self.boats < p.reorder_below and self.van_due is None:
            self.van_due = self.model.time + p.van_hours / 24.0
            self.model.schedule_event(self._on_van_arrives, at=self.van_due)
            self.state = NetworkState.WAITING_FOR_VAN

    def _on_van_arrives(self) -> None:
        self.boats += self.params.van_boats
        self.van_due = None
        self.state = NetworkState.STOCKED

    # -- the night's decision -----------------------------------------------------------
    def launch_probability(self, wave: float) -> float:
        """Chance the network launches at all given the sea state."""
        p = self.params
        if wave > p.max_launch_wave_m:
            return 0.0
        return float(1.0 / (1.0 + np.exp((wave - p.launch_wave_m) / p.launch_wave_spread_m)))

    def plan_night(self, ready_people: float, wave: float, dusk: float, dawn: float) -> int:
        """Decide tonight's launches and commit the boats.

        Args:
            ready_people: people of its camp it can bring to the coast tonight.
            wave: today's wave height (m).
            dusk: model time of dusk.
            dawn: model time of dawn.

        Returns:
            Boats committed.
        """
        rng = self.model.rng
        p = self.params
        if self.boats <= 0:
            self.state = NetworkState.OUT_OF_STOCK
            return 0
        if rng.random() >= self.launch_probability(wave):
            return 0
        n = min(p.max_boats_per_night, self.boats, int(ready_people // p.people_per_boat_mean))
        if n == 0 and ready_people >= p.people_per_boat_min:
            n = 1
        committed = 0
        budget = ready_people
        for _ in range(n):
            kind = self._choose_kind(rng)
            if kind is None:
                break
            load_mean = p.people_per_boat_mean * (p.taxi_load_factor if kind is BoatKind.TAXI else 1.0)
            want = int(np.clip(round(rng.normal(load_mean, p.people_per_boat_sd)),
                               p.people_per_boat_min, p.people_per_boat_max))
            want = min(want, int(budget))
            if want < p.people_per_boat_min:
                break
            people = self.camp.take(want)
            if people < p.people_per_boat_min:
                self.camp.give_back(people)
                break
            budget -= people
            self._commit(kind, people, dusk, dawn)
            committed += 1
        return committed

    def _choose_kind(self, rng) -> BoatKind | None:
        if self.taxi_options and (not self.beach_sites or rng.random() < self.params.taxi_preference):
            return BoatKind.TAXI
        return BoatKind.BEACH if self.beach_sites else None

    def _pick(self, rng, sites: list[Site]) -> int:
        risk = self.site_risk[[s.index for s in sites]]
        w = np.exp(-self.params.site_risk_aversion * risk)
        return int(rng.choice(len(sites), p=w / w.sum()))

    def _commit(self, kind: BoatKind, people: int, dusk: float, dawn: float) -> None:
        rng = self.model.rng
        ops = self.model.params.operations
        if kind is BoatKind.TAXI:
            site, waterway = self.taxi_options[self._pick(rng, [s for s, _ in self.taxi_options])]
            run_h = (waterway.inland_km + abs(site.km - waterway.km)) / ops.taxi_speed_kmh
        else:
            site, waterway = self.beach_sites[self._pick(rng, self.beach_sites)], None
            run_h = 0.0
        plan = plan_night(rng, ops, dusk, dawn, run_h, kind)
        group = MigrantGroup(self.model, self.camp, people)
        self.boats -= 1
        Boat(self.model, self, group, kind, site, waterway, plan).start()

    # -- learning -------------------------------------------------------------------------
    def outcome(self, boat: Boat, outcome: Outcome, boat_kept: bool) -> None:
        """Learn from an attempt: update the risk of its beach; take back a kept boat."""
        stopped = outcome in (Outcome.PREVENTED_ON_LAND, Outcome.INTERCEPTED_AT_SEA)
        i = boat.site.index
        self.site_risk[i] += self.params.site_learning_rate * (float(stopped) - self.site_risk[i])
        if boat_kept:
            self.boats += 1
