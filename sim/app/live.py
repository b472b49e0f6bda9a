"""The model the page steps: a :class:`~sim.model.ChannelModel` built from keyword parameters.

Mesa's SolaraViz rebuilds the model on Reset from keyword arguments, so the page's
controls (the interception mode, the drones, the personnel, the seed) are the
parameters of :class:`AppModel`; they override the scenario file's values.
One step is one day, as in every run: noon, then the night that follows it, whose
events run during the next step.

What the page shows of a night: a snapshot of the boats, the patrol units and the
vessels at its busiest half hour (the app looks every half hour from 18:00 to 08:00,
with events that draw no random number and change nothing in the model, and keeps
the look with the most boats on the beach, in the surf or at sea), and the outcomes
of the night's boats from the boats table.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sim.model import ChannelModel
from sim.model.boats import Boat, BoatState
from sim.outcomes import BoatKind, Outcome
from sim.scenario import Scenario, load_scenario

#: Hours after noon at which the app looks at the night (18:00 to 08:00, every half hour).
LOOK_HOURS = tuple(6.0 + 0.5 * i for i in range(29))


@dataclass(frozen=True)
class Mark:
    """An agent on the map: grid column and row, and what it is doing."""

    col: float
    row: float
    state: str


@dataclass(frozen=True)
class BoatMark:
    """A boat where the map shows it: grid column and row, what it is doing, its people."""

    col: float
    row: float
    state: str
    kind: str
    people: int


def live_state(boat: Boat, now: float) -> str | None:
    """What ``boat`` is doing at model time ``now`` (read only: the boat's own moves are made lazily)."""
    if boat.state is BoatState.AT_SEA:
        return "at sea"
    if boat.state not in (BoatState.COMMITTED, BoatState.ON_WATERWAY, BoatState.ASSEMBLING):
        return None
    plan = boat.plan
    if boat.kind is BoatKind.TAXI:
        if now >= plan.exposed:
            return "taxi waiting in the surf"
        if now >= plan.put_in:
            return "taxi on waterway"
        return "hiding" if now >= plan.hide else None
    if now >= plan.exposed:
        return "assembling"
    return "hiding" if now >= plan.hide else None


def boat_marks(model: ChannelModel) -> list[BoatMark]:
    """The boats of the night as they stand now, placed on the grid."""
    coast = model.coast
    marks = []
    for boat in model.agents_by_type.get(Boat, []):
        state = live_state(boat, model.time)
        if state is None:
            continue
        site = boat.site
        if state == "hiding":
            col, row = site.col, site.hide_row
        elif state == "assembling":
            col, row = site.col, coast.shore_row
        elif state == "taxi on waterway":
            col, row = boat.waterway.col, coast.shore_row - 1
        elif state == "taxi waiting in the surf":
            col, row = site.col, coast.shore_row - 1
        else:
            col, row = site.col, coast.shore_row - 4
        marks.append(BoatMark(col, row, state, boat.kind.value, boat.group.people))
    return marks


def patrol_marks(model: ChannelModel) -> list[Mark]:
    """Patrol units where they stand: at their posts on the road, or with a group they reached."""
    return [Mark(*u.cell.coordinate, u.state.name.lower().replace("_", " ")) for u in model.gendarmerie.units]


def vessel_marks(model: ChannelModel) -> list[Mark]:
    """Patrol boats and lifeboats on station (each marked busy while called to a boat)."""
    maritime = model.maritime
    now = model.time
    marks = []
    for kind, vessels, free in (("patrol boat", maritime.boats, maritime._boat_free),
                                ("lifeboat", maritime.lifeboats, maritime._life_free)):
        for vessel, free_at in zip(vessels, free):
            marks.append(Mark(*vessel.cell.coordinate, kind + (" (called out)" if free_at > now else "")))
    return marks


def drone_marks(model: ChannelModel) -> list[Mark]:
    """Drones over the shore, spread along the sector each searches."""
    sectors = model.sectors
    coast = model.coast
    by_sector: dict[int, int] = {}
    for d in model.surveillance.drones:
        by_sector[d.sector] = by_sector.get(d.sector, 0) + 1
    marks = []
    for s, n in sorted(by_sector.items()):
        for i in range(n):
            km = (s + (i + 0.5) / n) * sectors.length_km
            marks.append(Mark(coast.col_of(km), coast.shore_row - 0.5, "drone"))
    return marks


class AppModel(ChannelModel):
    """A ChannelModel from a scenario file and the page's policy controls.

    Args:
        scenario_file: the scenario YAML (already checked by ``channel-sim app``).
        interception: ``policy.shallow_water_interception`` (none, before_pickup, up_to_300m).
        drones: ``surveillance.drones``.
        personnel: ``gendarmerie.personnel_per_day``.
        seed: the run's seed.
    """

    def __init__(self, scenario_file: str = "scenarios/baseline.yaml", interception: str | None = None,
                 drones: int | None = None, personnel: int | None = None, seed: int = 1):
        scenario = with_controls(load_scenario(Path(scenario_file)), interception, drones, personnel)
        super().__init__(scenario, seed=seed)
        self.scenario_file = str(scenario_file)
        self.snapshot: list[BoatMark] = []
        self.patrol_snapshot: list[Mark] = []
        self.vessel_snapshot: list[Mark] = []
        self.snapshot_time: float | None = None
        self._best = (-1, -1)
        self._out_at_sea: list[tuple[int, float, float, int]] = []
        self.running = True

    def step(self) -> None:
        """One day at noon (Mesa calls it once the night before has run), and a snapshot of the coming night."""
        if self.day_index + 1 >= self.inputs.days:
            self.running = False
            return
        super().step()
        for i, hours in enumerate(LOOK_HOURS):
            self.schedule_event(self._look_first if i == 0 else self._look, at=self.time + hours / 24.0)
        if self.day_index + 1 >= self.inputs.days:
            self.running = False

    def night_boats(self):
        """The boats table's rows of the last night that has run (committed on the day before today)."""
        boats = self._boats()
        return boats[boats["day"] == self.day_index - 1]

    def record_boat(self, boat, outcome, people, deaths, rescued, crossing_deaths) -> None:
        """The model's record of a finished boat; a boat that got to sea is also kept for the looks at the night.

        The model settles a crossing when the boat launches; the map shows it at sea, heading out, for the
        hours of its passage to UK waters (a failed boat for its first hour: when it failed is not modelled).
        """
        super().record_boat(boat, outcome, people, deaths, rescued, crossing_deaths)
        if outcome in (Outcome.CROSSED, Outcome.FAILED_AT_SEA):
            hours = boat.site.uk_waters_km / self.inputs.crossing.speed_kmh if outcome is Outcome.CROSSED else 1.0
            self._out_at_sea.append((boat.site.col, self.time, self.time + hours / 24.0, boat.group.people))

    def _look_first(self) -> None:
        self._best = (-1, -1)
        self._out_at_sea = []
        self.snapshot, self.patrol_snapshot, self.vessel_snapshot, self.snapshot_time = [], [], [], None
        self._look()

    def _look(self) -> None:
        """Keep this look at the night if it has more boats out (then more boats) than the best so far."""
        marks = boat_marks(self)
        now, top = self.time, self.coast.shore_row - 1
        for col, launched, gone, people in self._out_at_sea:
            if launched <= now < gone:
                marks.append(BoatMark(col, top * (1.0 - (now - launched) / (gone - launched)), "at sea", "", people))
        score = (sum(m.state != "hiding" for m in marks), len(marks))
        if score <= self._best or not marks:
            return
        self._best = score
        self.snapshot = marks
        self.patrol_snapshot = patrol_marks(self)
        self.vessel_snapshot = vessel_marks(self)
        self.snapshot_time = self.time


def with_controls(scenario: Scenario, interception: str | None, drones: int | None,
                  personnel: int | None) -> Scenario:
    """The scenario with the page's controls applied (None keeps the file's value)."""
    changes: dict = {}
    if interception is not None:
        changes["policy"] = {"shallow_water_interception": interception}
    if drones is not None:
        changes["surveillance"] = {"drones": int(drones)}
    if personnel is not None:
        changes["gendarmerie"] = {"personnel_per_day": int(personnel)}
    return scenario.with_overrides(**changes) if changes else scenario


def map_view(model: AppModel):
    """What the map shows after the model's last step: the night that ran before today's noon."""
    from sim.app.drawing import MapView, map_title

    d = model.day_index
    days = model.inputs.days
    camps = [(c.name, *c.cell.coordinate, int(c.people)) for c in model.camps]
    drones = [(m.col, m.row) for m in drone_marks(model)]
    common = dict(camps=camps, drones=drones, aircraft=len(model.surveillance.aircraft))
    if d < 1:
        start = model.inputs.start_date
        return MapView(title=f"{start:%a %d %b %Y}: before the first night (press Step)",
                       patrols=[(m.col, m.row, m.state) for m in patrol_marks(model)],
                       vessels=[(m.col, m.row, m.state) for m in vessel_marks(model)], **common)
    night = d - 1
    title = "Night of " + map_title(model.dates[night], night, days, float(model.waves[night]),
                                    float(model.night_hours[night]))
    boats = [(m.col, m.row, m.state) for m in model.snapshot]
    outcomes = model.night_boats()
    if model.snapshot_time is None:
        when = "(no boat out this night)"
    else:
        minutes = round(((model.snapshot_time % 1.0) * 24.0 + 12.0) % 24.0 * 60.0)
        when = f"as at {minutes // 60 % 24:02d}:{minutes % 60:02d}"
    note = (f"boats, patrols and vessels {when}, the night's busiest half hour; the night's {len(outcomes)} attempt(s) by outcome; "
            f"{common['aircraft']} aircraft over the whole strip\n"
            f"policy: interception {model.policies.shallow_water_interception.label()}, "
            f"{len(model.surveillance.drones)} drones, {model.inputs.gendarmerie.personnel_per_day:,} personnel a day")
    return MapView(title=title, boats=boats, outcomes=outcomes,
                   patrols=[(m.col, m.row, m.state) for m in model.patrol_snapshot or patrol_marks(model)],
                   vessels=[(m.col, m.row, m.state) for m in model.vessel_snapshot or vessel_marks(model)],
                   note=note, **common)
