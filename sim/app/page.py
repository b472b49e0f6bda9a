"""The page ``channel-sim app`` serves: Mesa's SolaraViz controls and the model's map and charts.

SolaraViz gives the side panel: Reset, play and pause, Step (one day: the night
before it, then noon), the play interval, and the model's parameters (the
interception mode, the drones and the personnel; they take effect on Reset). The
main column is drawn here: the date, the sea state and the night's length, the
coast map of the last night (``sim.app.drawing``) and the daily charts.

Only ``channel-sim app`` (``sim.app.serve``) and the tests import this module: it
imports Solara. The scenario file comes in the ``CHANNEL_SIM_APP_SCENARIO``
environment variable (the command has checked it), a replay's folder in
``CHANNEL_SIM_APP_REPLAY`` (and ``CHANNEL_SIM_APP_RUN``).
"""

from __future__ import annotations

import os

os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "false")  # before solara: no call to mixpanel or ipify

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import solara  # noqa: E402
from mesa.visualization import Slider, SolaraViz  # noqa: E402
from mesa.visualization.utils import update_counter  # noqa: E402

from sim.app.drawing import draw_charts, draw_map  # noqa: E402
from sim.app.live import AppModel, map_view  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402

INTERCEPTION_MODES = ["none", "before_pickup", "up_to_300m"]
DEFAULT_SCENARIO = "scenarios/baseline.yaml"


def model_params(scenario_file: str, seed: int = 1) -> dict:
    """The side panel's model parameters, starting at the scenario's values."""
    scenario = load_scenario(scenario_file)
    return {
        "scenario_file": str(scenario_file),
        "interception": {"type": "Select", "label": "Interception at sea (on Reset)",
                         "value": scenario.policy.shallow_water_interception, "values": INTERCEPTION_MODES},
        "drones": Slider("Thermal drones", scenario.surveillance.drones, 0, 60, 1),
        "personnel": Slider("Personnel a day", scenario.gendarmerie.personnel_per_day, 0, 3000, 100),
        "seed": Slider("Seed", seed, 0, 99, 1),
    }


def date_line(model: AppModel) -> str:
    """The date, sea state and night length the page shows above the map, and the policy in force."""
    d = model.day_index
    policy = (f"interception at sea: {model.policies.shallow_water_interception.label()}, "
              f"{len(model.surveillance.drones)} drones, {model.inputs.gendarmerie.personnel_per_day:,} personnel a day")
    if d < 0:
        return f"Date: {model.inputs.start_date.isoformat()} (before the first noon; Step runs one day)   {policy}"
    return (f"Date: {model.dates[d].isoformat()} (day {d + 1} of {model.inputs.days})   "
            f"sea state {float(model.waves[d]):.1f} m   tonight {float(model.night_hours[d]):.1f} h of dark   {policy}")


@solara.component
def DateLine(model: AppModel):
    """The date line (redrawn on every step)."""
    update_counter.get()
    solara.Text(date_line(model), style={"font-size": "1.05em", "font-weight": "bold"})


@solara.component
def CoastMap(model: AppModel):
    """The coast map of the last night."""
    update_counter.get()
    fig = draw_map(model.coast, map_view(model))
    solara.FigureMatplotlib(fig, dependencies=[model, model.day_index], format="png", dpi=90)


@solara.component
def DailyCharts(model: AppModel):
    """Attempts, crossings, prevented, people waiting and deaths, day by day."""
    update_counter.get()
    fig = draw_charts(model.daily_frame(), model.inputs.days, model.inputs.start_date)
    solara.FigureMatplotlib(fig, dependencies=[model, model.day_index], format="png", dpi=90)


@solara.component
def Viz(model: solara.Reactive, params: dict):
    """SolaraViz's controls in the side panel, the map and the charts in the main column."""
    SolaraViz(model, components=[], model_params=params, name=f"channel-sim: {model.value.inputs.name}",
              play_interval=300)
    with solara.Column(style={"padding": "8px", "max-width": "1120px"}):
        DateLine(model.value)
        CoastMap(model.value)
        DailyCharts(model.value)


@solara.component
def LivePage(scenario_file: str):
    """A live model of the scenario, one per browser tab."""
    params = solara.use_memo(lambda: model_params(scenario_file), [scenario_file])
    initial = solara.use_memo(lambda: AppModel(scenario_file=scenario_file, seed=params["seed"].value),
                              [scenario_file])
    model = solara.use_reactive(initial)
    return Viz(model, params)


@solara.component
def Page():
    """The page: a live model of the scenario the command was given, or a replay of a run."""
    replay = os.environ.get("CHANNEL_SIM_APP_REPLAY")
    if replay:
        from sim.app.replay import ReplayPage

        return ReplayPage(replay, os.environ.get("CHANNEL_SIM_APP_RUN") or None)
    return LivePage(os.environ.get("CHANNEL_SIM_APP_SCENARIO", DEFAULT_SCENARIO))
