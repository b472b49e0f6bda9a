"""Policies: each one a named unit, with its switch, its parameters and the places where it acts.

A policy's switch is declared once, as a field of the scenario schema's
``policy`` section (:class:`sim.scenario.Policy`; the dated ``schedule`` patch
is derived from it), and its parameters, when it has any, are a section of the
schema (``supply``, ``station_intel``, ``liaison``, ``returns``, ``maritime``).
Everything a policy *does* is here: the agents ask their policy unit, through
``model.policies``, and never read a switch themselves. A unit reads the
policy in force (``model.policy``), so a switch changed on a date by the
schedule takes effect at once.

Where each acts:

======================== ====================================== ==========================
unit                     acts in                                 parameters
======================== ====================================== ==========================
ShallowWaterInterception ``Boat`` (``allows``, before vessels)   ``maritime``
UnionRefusal             the same; the daily ``interception``    none
Barrages                 networks' taxi routes                   none (names of waterways)
VanIntelligence          a network's van from the warehouse      ``supply``
WarehouseRaids           a network's warehouse, each day         ``supply``
TrainStationIntel        a boat's group on its way to the coast  ``station_intel``
UkLiaison                the gendarmerie's dispatch              ``liaison``
Returns                  the camps, each day                     ``returns``
======================== ====================================== ==========================

To add a policy: declare its switch in ``sim.scenario.Policy`` (and a section
for its parameters if it has any), write its unit here (a subclass of
:class:`PolicyUnit` naming the switch, added to :data:`UNITS`), call it from
the place it acts, and add a scenario file under ``scenarios/``. The suite
checks that every switch has exactly one unit.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np


class PolicyUnit:
    """One policy: its switch in ``scenario.Policy``, its parameter section, and what it does.

    Args:
        model: the model it acts in.
    """

    #: The field of ``scenario.Policy`` that switches it.
    switch: ClassVar[str]
    #: The scenario section that holds its parameters, or None.
    section: ClassVar[str | None] = None

    def __init__(self, model):
        self.model = model

    @property
    def setting(self):
        """The switch's value in force (a bool for most policies)."""
        return getattr(self.model.policy, self.switch)

    @property
    def on(self) -> bool:
        """Whether the policy is in force today."""
        return bool(self.setting)

    @property
    def params(self):
        """Its scenario section (parameters), or None."""
        return getattr(self.model.inputs, self.section) if self.section else None


class ShallowWaterInterception(PolicyUnit):
    """Interception at sea by patrol boats with a lifeboat escort (seed 004).

    ``none``: the 2025 posture, police powerless once a boat is in the water;
    ``before_pickup``: the French doctrine, against taxi boats before they load;
    ``up_to_300m``: the UK demand, also against loaded boats up to 300 m out.
    The vessels and the measures are ``sim.model.maritime``'s.
    """

    switch = "shallow_water_interception"
    section = "maritime"

    @property
    def on(self) -> bool:  # noqa: D102
        return self.setting != "none"

    def allows(self, loaded: bool) -> bool:
        """Whether the doctrine in force allows intervening against a boat (loaded: with people aboard).

        Under a union refusal the doctrine exists but no officer goes to sea (seed 001).
        """
        if self.model.policies.union_refusal.on or not self.on:
            return False
        if self.setting == "before_pickup":
            return not loaded
        return True

    def label(self) -> str:
        """The interception in force, as the daily table names it."""
        return "none (union refusal)" if self.model.policies.union_refusal.on else self.setting


class UnionRefusal(PolicyUnit):
    """The doctrine exists but no officer intervenes at sea (seed 001); read by ``ShallowWaterInterception``."""

    switch = "union_refusal"


class Barrages(PolicyUnit):
    """Waterways closed to taxi boats by barrages or floating dams (seed 003; Canche and Authie 2023)."""

    switch = "barrages"

    def open_waterways(self, waterways) -> list:
        """The waterways taxi boats can still be put in on."""
        closed = self.setting
        return [w for w in waterways if w.name not in closed]

    def changed(self, before: list[str]) -> None:
        """After a dated change: networks work out their taxi routes again if the barrages moved."""
        if self.setting != before:
            for net in self.model.networks:
                net.refresh_options()


class VanIntelligence(PolicyUnit):
    """Intelligence on the vans from Germany leads to seizures of their cargo (seed 003)."""

    switch = "van_intelligence"
    section = "supply"

    def seizes(self, rng: np.random.Generator, drive_hours: float) -> bool:
        """Whether a van about to leave will be stopped and its cargo seized (no draw when off).

        The UK National Crime Agency learns of it with ``van_intel_probability``;
        the warning (exponential, at most the drive itself) must be long enough
        to act on.
        """
        if not self.on:
            return False
        params = self.params
        return bool(rng.random() < params.van_intel_probability
                    and min(rng.exponential(params.intel_lead_hours_mean), drive_hours) >= params.seizure_hours_needed)


class WarehouseRaids(PolicyUnit):
    """Warehouses in Germany raided once facilitation is a crime there (seed 003)."""

    switch = "warehouse_raids"
    section = "supply"

    def seized(self, rng: np.random.Generator, stock: int) -> int:
        """Boats seized from a warehouse holding ``stock`` today (0, with no draw, when off)."""
        params = self.params
        if self.on and rng.random() < 1.0 - (1.0 - params.raid_probability_per_week) ** (1 / 7):
            return int(round(stock * params.raid_seizure_share))
        return 0


class TrainStationIntel(PolicyUnit):
    """Groups moving to the coast reported from train stations; a patrol waits at the beach (seed 003)."""

    switch = "train_station_intel"
    section = "station_intel"

    def warning_at(self, rng: np.random.Generator, now: float, hide: float) -> float | None:
        """When a warning naming the right beach reaches the gendarmes, or None (no draw when off).

        Args:
            rng: random generator.
            now: model time the boat is committed.
            hide: model time its group reaches its hiding place.
        """
        if not self.on:
            return None
        params = self.params
        if rng.random() < params.share_by_train * params.flag_probability and rng.random() < params.site_accuracy:
            return max(now, hide - params.warning_hours / 24.0)
        return None


class UkLiaison(PolicyUnit):
    """UK liaison officers in French command centres: faster, better-directed dispatch (seed 002)."""

    switch = "uk_liaison"
    section = "liaison"

    def dispatch_share(self, default: float) -> float:
        """Share of detections that reach a patrol unit in time."""
        return self.params.dispatch_share if self.on else default

    def response(self, reaction_min: float) -> tuple[float, float]:
        """Minutes from a detection to a unit moving, and the factor on its travel time."""
        if not self.on:
            return reaction_min, 1.0
        return reaction_min * self.params.reaction_factor, self.params.approach_factor


class Returns(PolicyUnit):
    """Returns to France under "one in, one out" (seed 004): some of those returned try again.

    Whether returns deter people from coming is left to the camps' response to
    the route's record (``migrants.RouteResponse``): the share of those crossed
    who are returned lowers it.

    Attributes:
        returned: people returned since the start.
        returned_today: people returned today.
    """

    switch = "returns"
    section = "returns"

    def __init__(self, model):
        super().__init__(model)
        self.returned = 0
        self.returned_today = 0
        # Its own stream of draws, from the run's seed: switching returns on leaves the model's own
        # draws as they were, so a run with returns stays paired with the same seed's run without.
        self.rng = np.random.default_rng([int(model.seed), 0x5E7])

    def daily(self, crossed: int) -> None:
        """Return today's people (at most those who crossed and are not yet returned); some go back to the camps."""
        self.returned_today = 0
        if not self.on:
            return
        params = self.params
        rng = self.rng
        n = min(crossed - self.returned, int(rng.poisson(params.per_day)))
        if n <= 0:
            return
        self.returned_today = n
        self.returned += n
        retry = int(rng.binomial(n, params.retry_probability))
        camps = self.model.camps
        for camp, k in zip(camps, rng.multinomial(retry, [c.share for c in camps])):
            camp.give_back(int(k))


#: Every policy unit, one per switch of ``scenario.Policy``.
UNITS: tuple[type[PolicyUnit], ...] = (ShallowWaterInterception, UnionRefusal, Barrages, VanIntelligence,
                                       WarehouseRaids, TrainStationIntel, UkLiaison, Returns)


class Policies:
    """The model's policy units, one attribute per switch (``model.policies.van_intelligence``, ...)."""

    def __init__(self, model):
        self.units = tuple(unit(model) for unit in UNITS)
        for unit in self.units:
            setattr(self, unit.switch, unit)

    def in_force(self) -> list[str]:
        """The switches of the policies in force today."""
        return [u.switch for u in self.units if u.on]
