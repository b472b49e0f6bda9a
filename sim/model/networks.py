"""Smuggling networks: supply, each night's choices, and what they learn.

Each network works the coast around its centre and draws people from one camp.

Supply (seed 003): boats and engines wait in the network's warehouse in
Germany, bought from further east; a van brings a load about four hours'
drive away when the network's stock on the coast runs low. Intelligence on the
vans can lead to the cargo being seized, and once facilitation is a crime in
Germany warehouses can be raided. A network with no boat cannot launch.

The warehouse is restocked by a market, not at a fixed rate: each day a
network orders enough to keep its warehouse and the boats on order at its
recent losses (boats launched, seized or abandoned, an exponentially weighted
average) over the lead time and some days' cover; the suppliers deliver what
was ordered after the lead time, at most their capacity a day. A network that
loses more boats buys more, and seizures then cost it time and money rather
than capping its launches, unless they outrun the suppliers. Boats and engines
are one kit: they travel together in the vans (seed 003), and no figure would
tell their supplies apart.

Each night it decides whether the sea allows a launch (rarely above 0.5 m
waves, never above 1 m: Times analysis), how many boats, beach launch or taxi
boat (taxi boats need a waterway within reach of a pickup beach: seeds 000,
003, 004), where, and how many people per boat.

Learning (seeds 002, 003: a game of cat and mouse): a network keeps an
estimate of the risk of each beach and of each mode (beach launch or taxi
boat), updated from its own outcomes and, more weakly, from what it hears of
others'; the estimates drift back to the prior when nothing happens. It
prefers beaches near its centre but moves up to ``range_km`` away (seed 003:
estuaries up to 60 km from the Strait) when those near it turn risky; under
pressure it sends fewer, fuller boats (seed 003).
"""

from __future__ import annotations

import numpy as np
from mesa import Agent

from sim.model.boats import Boat, plan_night
from sim.model.geography import Coast, Site, Waterway
from sim.model.migrants import Camp, MigrantGroup
from sim.outcomes import BoatKind, Outcome

#: A network's prior belief that a launch at an unknown beach, or by a mode, is stopped. Assumption.
PRIOR_SITE_RISK = 0.3


#: Column of each mode in ``Beliefs.mode``.
MODE_COLUMN = {BoatKind.BEACH: 0, BoatKind.TAXI: 1}


class Beliefs:
    """What every network believes of the risk of each beach and of each mode: one row per network.

    The networks' estimates are kept in one table so that the daily forgetting,
    and the learning from hearsay, are one array operation for all networks
    rather than one per network; each network reads and updates its own row.

    Args:
        n_networks: rows.
        n_sites: columns of ``site`` (the coast's sites, by ``Site.index``).
    """

    def __init__(self, n_networks: int, n_sites: int):
        self.site = np.full((n_networks, n_sites), PRIOR_SITE_RISK)
        self.mode = np.full((n_networks, len(MODE_COLUMN)), PRIOR_SITE_RISK)

    def forget(self, rate: float) -> None:
        """Every estimate drifts back towards the prior by ``rate`` (one day)."""
        self.site += rate * (PRIOR_SITE_RISK - self.site)
        self.mode += rate * (PRIOR_SITE_RISK - self.mode)

    def hear(self, teller: int, site: int, kind: BoatKind, stopped: float, rate: float) -> None:
        """Every network but ``teller`` learns from its outcome at ``site`` by mode ``kind``."""
        for column in (self.site[:, site], self.mode[:, MODE_COLUMN[kind]]):
            own = column[teller]  # the teller learns from its own outcome instead
            column += rate * (stopped - column)
            column[teller] = own


def stopped_value(outcome: Outcome) -> float:
    """1.0 when an outcome counts as stopped for learning (prevented on land, intercepted at sea), else 0.0."""
    return float(outcome in (Outcome.PREVENTED_ON_LAND, Outcome.INTERCEPTED_AT_SEA))


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return float(np.log(p / (1 - p)))


class SmugglingNetwork(Agent):
    """A smuggling network working one stretch of coast.

    Args:
        model: the model.
        home_km: centre of its stretch, km from the Belgian border.
        camp: the camp it draws people from.
        coast: the strip map.
        beliefs: the table of all networks' learned risks.
        row: this network's row in ``beliefs``.
    """

    def __init__(self, model, home_km: float, camp: Camp, coast: Coast, beliefs: Beliefs, row: int):
        super().__init__(model)
        params = model.inputs.networks
        self.params = params
        self.coast = coast
        self.home_km = home_km
        self.camp = camp
        self.boats = params.initial_boats
        supply = model.inputs.supply
        self.warehouse = supply.warehouse_boats
        # The market: the network's estimate of its daily losses, and its orders in transit
        # (one per day of the lead time, oldest first), started at that estimate.
        self.use = supply.initial_use_per_day
        self._lost_today = 0
        self.on_order = [min(self.use, supply.supplier_capacity_per_day)] * max(0, int(round(supply.lead_time_days)))
        self._delivered_fraction = 0.0
        self.van_due: float | None = None
        self._van_seized = False
        self.seized_from_vans = 0
        self.seized_in_raids = 0
        self.bought = 0  # boats delivered to its warehouse since the start
        self.beliefs = beliefs
        self.row = row
        self.site_risk = self.beliefs.site[row]  # views of its row: updated in place
        self._mode_risk = self.beliefs.mode[row]
        self.pressure = PRIOR_SITE_RISK
        self.refresh_options()

    def refresh_options(self) -> None:
        """Work out which beaches and taxi routes are open (again after a barrage goes up or down)."""
        params = self.params
        near = [s for s in self.coast.sites if abs(s.km - self.home_km) <= params.range_km]
        self.beach_sites: list[Site] = [s for s in near if s.beach]
        self.taxi_options: list[tuple[Site, Waterway]] = []
        open_ways = self.model.policies.barrages.open_waterways(self.coast.waterways)
        max_run = self.model.inputs.operations.taxi_max_run_km
        for s in near:
            if not s.pickup or not open_ways:
                continue
            w = min(open_ways, key=lambda w: abs(w.km - s.km))
            if abs(w.km - s.km) <= max_run:
                self.taxi_options.append((s, w))
        # Arrays for the nightly choice, computed once per set of options: site indices and
        # the distance term of the score.
        scale = params.distance_scale_km
        self._choice = {
            BoatKind.BEACH: (np.array([s.index for s in self.beach_sites], dtype=int),
                             np.array([abs(s.km - self.home_km) for s in self.beach_sites]) / scale),
            BoatKind.TAXI: (np.array([s.index for s, _ in self.taxi_options], dtype=int),
                            np.array([abs(s.km - self.home_km) for s, _ in self.taxi_options]) / scale),
        }

    @property
    def mode_risk(self) -> dict[BoatKind, float]:
        """Learned risk that a launch by each mode is stopped."""
        return {kind: float(self._mode_risk[col]) for kind, col in MODE_COLUMN.items()}

    # -- each day ---------------------------------------------------------------------
    def daily(self) -> None:
        """Order boats, take delivery, face raids, and send for a van if needed; pressure eases a little.

        The learned risks of beaches and modes are forgotten for all networks at
        once (``Beliefs.forget``, called by the model each day).
        """
        params = self.params
        f = params.forgetting_per_day
        self.pressure += f * (PRIOR_SITE_RISK - self.pressure)
        rng = self.model.rng
        self._restock()
        seized = self.model.policies.warehouse_raids.seized(rng, self.warehouse)
        self.warehouse -= seized
        self.seized_in_raids += seized
        self._lost_today += seized
        self.resupply()

    def _restock(self) -> None:
        """The day's delivery (ordered a lead time ago) and the day's order, from the estimate of losses."""
        supply = self.model.inputs.supply
        self.use += (self._lost_today - self.use) / supply.use_memory_days
        self._lost_today = 0
        wanted = self.use * (supply.lead_time_days + supply.order_cover_days)
        order = min(supply.supplier_capacity_per_day, max(0.0, wanted - self.warehouse - sum(self.on_order)))
        self.on_order.append(order)
        arriving = self.on_order.pop(0) + self._delivered_fraction  # whole boats; the rest comes with the next
        whole = int(arriving)
        self._delivered_fraction = arriving - whole
        self.bought += whole
        self.warehouse = min(supply.warehouse_capacity, self.warehouse + whole)

    def resupply(self) -> None:
        """Send for a van from the warehouse when stock is low (seed 003: about 4 hours away)."""
        params = self.params
        if self.boats >= params.reorder_below or self.van_due is not None:
            return
        load = min(params.van_boats, self.warehouse)
        if load <= 0:
            return
        self.warehouse -= load
        self._van_load = load
        self.van_due = self.model.time + params.van_hours / 24.0
        self._van_seized = self.model.policies.van_intelligence.seizes(self.model.rng, params.van_hours)
        self.model.schedule_event(self._on_van_arrives, at=self.van_due)

    def _on_van_arrives(self) -> None:
        if self._van_seized:
            self.seized_from_vans += self._van_load
            self._lost_today += self._van_load
        else:
            self.boats += self._van_load
        self.van_due = None
        self._van_seized = False

    # -- the night's decision -----------------------------------------------------------
    def launch_probability(self, wave: float) -> float:
        """Chance the network launches at all given the forecast sea state (the same for every network)."""
        params = self.params
        if wave > params.max_launch_wave_m:
            return 0.0
        return float(1.0 / (1.0 + np.exp((wave - params.launch_wave_m) / params.launch_wave_spread_m)))

    def taxi_probability(self) -> float:
        """Chance of a taxi boat rather than a beach launch, shifted by the learned risks of each."""
        params = self.params
        beach, taxi = self._mode_risk.tolist()
        shift = params.mode_risk_aversion * (beach - taxi)
        return float(1.0 / (1.0 + np.exp(-(_logit(params.taxi_preference) + shift))))

    def load_mean(self) -> float:
        """People per boat the network aims for: fuller under pressure (seed 003)."""
        params = self.params
        pressure = max(0.0, self.pressure - PRIOR_SITE_RISK)
        return params.people_per_boat_mean * (1.0 + params.fuller_under_pressure * pressure)

    def plan_night(self, ready_people: float, goes: bool, dusk: float, dawn: float,
                   window: tuple[float, float] | None = None) -> int:
        """Decide tonight's launches and commit the boats.

        Args:
            ready_people: people of its camp it can bring to the coast tonight.
            goes: the night's go or no-go, taken on the forecast (``launch_probability``), alone or with the coast.
            dusk: model time of dusk.
            dawn: model time of dawn.
            window: a coordinated launch window (model times), or None.

        Returns:
            Boats committed.
        """
        rng = self.model.rng
        params = self.params
        if self.boats <= 0:
            return 0
        if not goes:
            return 0
        load_mean = self.load_mean()
        n = min(params.max_boats_per_night, self.boats, int(ready_people // load_mean))
        if n == 0 and ready_people >= params.people_per_boat_min:
            n = 1
        committed = 0
        budget = ready_people
        # More people at the waterline than tonight's boats take at their planned load: some of the
        # rest push aboard (loads rise with the size of the night in the daily record).
        waiting = min(ready_people / max(n, 1), params.people_per_boat_max)
        load_mean += params.boarding_crowding * max(0.0, waiting - load_mean)
        for _ in range(n):
            kind = self._choose_kind(rng)
            if kind is None:
                break
            mean = load_mean * (params.taxi_load_factor if kind is BoatKind.TAXI else 1.0)
            want = min(max(round(rng.normal(mean, params.people_per_boat_sd)), params.people_per_boat_min),
                       params.people_per_boat_max)
            want = min(want, int(budget))
            if want < params.people_per_boat_min:
                break
            people = self.camp.take(want)
            if people < params.people_per_boat_min:
                self.camp.give_back(people)
                break
            budget -= people
            self._commit(kind, people, dusk, dawn, window)
            committed += 1
        return committed

    def _choose_kind(self, rng) -> BoatKind | None:
        if self.taxi_options and (not self.beach_sites or rng.random() < self.taxi_probability()):
            return BoatKind.TAXI
        return BoatKind.BEACH if self.beach_sites else None

    def _pick(self, rng, kind: BoatKind) -> int:
        """Index into the options of ``kind``: risky and distant beaches are less likely."""
        idx, distance_term = self._choice[kind]
        score = -self.params.site_risk_aversion * self.site_risk[idx] - distance_term
        w = np.exp(score - np.maximum.reduce(score))
        # What rng.choice(len(idx), p=w / w.sum()) does, step for step (the same
        # numbers and the same one uniform draw), without its checks of p. The
        # ufuncs' reduce is what .max() and .sum() call, without their Python wrappers.
        cdf = (w / np.add.reduce(w)).cumsum()
        cdf /= cdf[-1]
        return int(cdf.searchsorted(rng.random(), side="right"))

    def _commit(self, kind: BoatKind, people: int, dusk: float, dawn: float, window) -> None:
        rng = self.model.rng
        ops = self.model.inputs.operations
        if kind is BoatKind.TAXI:
            site, waterway = self.taxi_options[self._pick(rng, BoatKind.TAXI)]
            run_h = (waterway.inland_km + abs(site.km - waterway.km)) / ops.taxi_speed_kmh
        else:
            site, waterway = self.beach_sites[self._pick(rng, BoatKind.BEACH)], None
            run_h = 0.0
        plan = plan_night(rng, ops, dusk, dawn, run_h, kind, window)
        group = MigrantGroup(self.model, self.camp, people)
        self.boats -= 1
        Boat(self.model, self, group, kind, site, waterway, plan).start()

    # -- learning -------------------------------------------------------------------------
    def outcome(self, boat: Boat, outcome: Outcome, boat_kept: bool) -> None:
        """Learn from its own attempt, and take back a boat that came home."""
        self.learn(boat.site.index, boat.kind, outcome, weight=1.0)
        self.pressure += self.params.site_learning_rate * (stopped_value(outcome) - self.pressure)
        if boat_kept:
            self.boats += 1
        else:
            self._lost_today += 1

    def learn(self, site: int, kind: BoatKind, outcome: Outcome, weight: float) -> None:
        """Update the risk of a beach and of a mode from one outcome (own: weight 1; heard: less).

        ``ChannelModel.hear`` makes the same update for all the other networks at once (``Beliefs.hear``).
        """
        stopped = stopped_value(outcome)
        rate = self.params.site_learning_rate * weight
        risk = float(self.site_risk[site])  # a Python float: the same sum, without numpy's scalar overhead
        self.site_risk[site] = risk + rate * (stopped - risk)
        col = MODE_COLUMN[kind]
        risk = float(self._mode_risk[col])
        self._mode_risk[col] = risk + rate * (stopped - risk)
