"""The model the page steps: a :class:`~sim.model.ChannelModel` built from keyword parameters.

Mesa's SolaraViz rebuilds the model on Reset from keyword arguments, so the page's
controls (the scenario file, the interception mode, the drones, the personnel,
each policy switch, the seed) are the parameters of :class:`AppModel`; they
override the scenario file's values. One step is one day, as in every run: noon,
then the night that follows it, whose events run during the next step.

What the page shows of a night comes from the model's tracks, as a replay's
does from a stored run's (``sim.app.night``): the night at its busiest half
hour, and the outcomes of the night's boats from the boats table.
"""

from __future__ import annotations

from pathlib import Path

from sim.model import ChannelModel
from sim.model.tracks import TrackIndex
from sim.scenario import Scenario, load_scenario

#: The policy switches the page offers, each on or off: ``policy.<key>``.
SWITCHES = ("van_intelligence", "warehouse_raids", "train_station_intel", "uk_liaison", "returns", "union_refusal")


class AppModel(ChannelModel):
    """A ChannelModel from a scenario file and the page's policy controls.

    Args:
        scenario_file: the scenario YAML (already checked by ``channel-sim app``).
        interception: ``policy.shallow_water_interception`` (none, before_pickup, up_to_300m).
        drones: ``surveillance.drones``.
        personnel: ``gendarmerie.personnel_per_day``.
        seed: the run's seed.
        van_intelligence, warehouse_raids, train_station_intel, uk_liaison, returns, union_refusal: the
            policy switches (:data:`SWITCHES`), on or off; None keeps the file's.
    """

    def __init__(self, scenario_file: str = "scenarios/baseline.yaml", interception: str | None = None,
                 drones: int | None = None, personnel: int | None = None, seed: int = 1,
                 van_intelligence: bool | None = None, warehouse_raids: bool | None = None,
                 train_station_intel: bool | None = None, uk_liaison: bool | None = None,
                 returns: bool | None = None, union_refusal: bool | None = None):
        switches = dict(van_intelligence=van_intelligence, warehouse_raids=warehouse_raids,
                        train_station_intel=train_station_intel, uk_liaison=uk_liaison, returns=returns,
                        union_refusal=union_refusal)
        scenario = with_controls(load_scenario(Path(scenario_file)), interception, drones, personnel, switches)
        super().__init__(scenario, seed=seed)
        self.scenario_file = str(scenario_file)
        self.running = True
        self._index: tuple[int, TrackIndex] | None = None

    def step(self) -> None:
        """One day at noon (Mesa calls it once the night before has run)."""
        if self.day_index + 1 >= self.inputs.days:
            self.running = False
            return
        super().step()
        if self.day_index + 1 >= self.inputs.days:
            self.running = False

    def night_boats(self):
        """The boats table's rows of the last night that has run (committed on the day before today)."""
        boats = self._boats()
        return boats[boats["day"] == self.day_index - 1]

    def track_index(self) -> TrackIndex:
        """The tracks so far, ready to be asked where everything was (made once a step)."""
        if self._index is None or self._index[0] != self.day_index:
            self._index = (self.day_index, TrackIndex(self.tracks_frame()))
        return self._index[1]


def with_controls(scenario: Scenario, interception: str | None, drones: int | None,
                  personnel: int | None, switches: dict | None = None) -> Scenario:
    """The scenario with the page's controls applied (None keeps the file's value)."""
    changes: dict = {}
    policy = {k: bool(v) for k, v in (switches or {}).items() if v is not None}
    if interception is not None:
        policy["shallow_water_interception"] = interception
    if policy:
        changes["policy"] = policy
    if drones is not None:
        changes["surveillance"] = {"drones": int(drones)}
    if personnel is not None:
        changes["gendarmerie"] = {"personnel_per_day": int(personnel)}
    return scenario.with_overrides(**changes) if changes else scenario


def map_view(model: AppModel):
    """What the map shows after the model's last step: the night that ran before today's noon."""
    from sim.app.night import first_view, night_view

    d = model.day_index
    index = model.track_index()
    aircraft = len(model.surveillance.aircraft)
    policy = (f"policy: interception {model.policies.shallow_water_interception.label()}, "
              f"{len(model.surveillance.drones)} drones, {model.inputs.gendarmerie.personnel_per_day:,} personnel a day")
    if d < 1:
        return first_view(index, model.coast, model.inputs.start_date, aircraft, model.time, note=policy)
    night = d - 1
    row = {"date": model.dates[night], "wave_m": model.waves[night], "night_hours": model.night_hours[night]}
    return night_view(index, model.coast, night, model.inputs.days, row, model.night_boats(), aircraft, note=policy)
