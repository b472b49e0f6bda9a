"""Gendarmerie patrol units: deployed by sector, dispatched to detections.

The personnel budget (1,200 a day, seed 003) is turned into patrol units of a
few officers with a buggy. Units wait at their posts on the coast road. When a
group is detected, the detection reaches a unit with chance ``dispatch_share``
(higher with UK liaison officers in the command centres, seed 002), and the
free unit that can arrive soonest is sent (one per boat attempt): along the road, then by
buggy to the dune edge, then on foot for the last stretch (seed 002); the
minutes for that last part come from the coast's going-speed layers
(``Site.road_to_hide_min``, ``Site.road_to_water_min``). A unit that reaches a
group on the beach may face thrown missiles (seed 003).
"""

from __future__ import annotations

from enum import Enum, auto

import numpy as np
from mesa.discrete_space import CellAgent

from sim.model.geography import Coast, Sectors, Site


class PatrolState(Enum):
    """What a patrol unit is doing."""

    ON_PATROL = auto()
    RESPONDING = auto()
    ENGAGED = auto()


class PatrolUnit(CellAgent):
    """A unit of a few gendarmes with a beach buggy, posted on one sector."""

    def __init__(self, model, cell, sector: int, post_km: float, officers: int):
        """Create a unit at its post."""
        super().__init__(model)
        self.cell = cell
        self.post = cell
        self.sector = sector
        self.post_km = post_km
        self.officers = officers
        self.state = PatrolState.ON_PATROL
        self.free_at = 0.0

    def respond(self, busy_until: float) -> None:
        """Head to a detection; back on patrol at ``busy_until``."""
        self.state = PatrolState.RESPONDING
        self.free_at = busy_until

    def engage(self, cell) -> None:
        """Reach the group."""
        self.state = PatrolState.ENGAGED
        self.cell = cell

    def release(self, now: float) -> None:
        """Return to patrol once the job is done."""
        if now >= self.free_at:
            self.state = PatrolState.ON_PATROL
            self.cell = self.post


def patrol_units(params, personnel: int | None = None) -> int:
    """Patrol units a night from the ``gendarmerie`` section (or ``personnel`` a day instead of its own)."""
    personnel = params.personnel_per_day if personnel is None else personnel
    return int(personnel * params.night_coast_share // params.officers_per_unit)


class Gendarmerie:
    """The command that posts units and dispatches the nearest free one.

    Args:
        model: the model.
        coast: the strip map.
        sectors: deployment sectors.
    """

    def __init__(self, model, coast: Coast, sectors: Sectors):
        self.model = model
        params = model.inputs.gendarmerie
        self.params = params
        n_units = patrol_units(params)
        self.coast = coast
        road_row = coast.n_rows - 1
        self.units: list[PatrolUnit] = [PatrolUnit(model, model.grid[(0, road_row)], 0, 0.0, params.officers_per_unit)
                                        for _ in range(n_units)]
        self._free_at = np.zeros(len(self.units))
        self._out: set[int] = set()  # units sent to a detection and not yet back on patrol
        self.post(sectors)

    def post(self, sectors: Sectors) -> None:
        """Post the units over the sectors in proportion to their weights, evenly within each."""
        coast = self.coast
        road_row = coast.n_rows - 1
        unit_sectors = sectors.allocate(len(self.units))
        per_sector = np.bincount(unit_sectors, minlength=sectors.n) if unit_sectors else np.zeros(sectors.n, int)
        seen = np.zeros(sectors.n, dtype=int)
        for unit, s in zip(self.units, unit_sectors):
            km = (s + (seen[s] + 0.5) / per_sector[s]) * sectors.length_km
            seen[s] += 1
            unit.sector, unit.post_km = s, km
            unit.post = self.model.grid[(coast.col_of(km), road_row)]
            if unit.state is PatrolState.ON_PATROL:
                unit.cell = unit.post
        self.units_per_sector = per_sector
        self._post_km = np.array([u.post_km for u in self.units])
        self._road_min: dict[int, np.ndarray] = {}  # site index -> minutes by road from each post

    def dispatch(self, now: float, site: Site, to_water: bool) -> tuple[PatrolUnit, float] | None:
        """Send the free unit that can reach ``site`` soonest.

        Args:
            now: model time of the detection (days).
            site: where the group is.
            to_water: the group is at the water's edge, not in its hiding place.

        Returns:
            ``(unit, arrival time)``, or None when the detection does not reach a
            unit (``dispatch_share``) or no unit is free.
        """
        params = self.params
        liaison = self.model.policies.uk_liaison  # faster, better-directed dispatch (seed 002)
        if self.model.rng.random() >= liaison.dispatch_share(params.dispatch_share):
            return None  # the detection does not reach a unit in time
        free = self._free_at <= now
        if not free.any():
            return None
        last_leg = site.road_to_water_min if to_water else site.road_to_hide_min
        reaction, travel_factor = liaison.response(params.reaction_min)
        road = self._road_min.get(site.index)
        if road is None:
            road = self._road_min[site.index] = np.abs(self._post_km - site.km) / params.road_speed_kmh * 60.0
        minutes = reaction + travel_factor * (road + last_leg)
        minutes = np.where(free, minutes, np.inf)
        i = int(minutes.argmin())
        arrival = now + minutes[i] / 1440.0
        busy_until = arrival + params.engaged_hours / 24.0
        self._free_at[i] = busy_until
        unit = self.units[i]
        unit.respond(busy_until)
        self._out.add(i)
        self.model.tracks.dispatch(i, now, arrival, busy_until, unit.post.coordinate,
                                   (site.col, self.coast.shore_row if to_water else site.hide_row))
        return unit, arrival

    def release_all(self, now: float) -> None:
        """Units whose jobs are over go back on patrol (called each day), in the order of ``units``."""
        for i in sorted(self._out):
            unit = self.units[i]
            unit.release(now)
            if unit.state is PatrolState.ON_PATROL:
                self._out.discard(i)
