"""The page ``channel-sim app`` serves: Mesa's SolaraViz controls and the model's map and charts.

The side panel: the scenario file (any scenario of the given file's folder;
choosing one builds its model at once, with its own values in the controls
below), then SolaraViz's Reset, play and pause, Step (one day: the night before
it, then noon), the play interval, and the model's parameters (the interception
mode, the drones, the personnel, each policy switch on or off, the seed; they
take effect on Reset). The main column is drawn here: the date, the sea state
and the night's length, the coast map of the last night (``sim.app.drawing``,
``sim.app.night``) and the daily charts.

Only ``channel-sim app`` (``sim.app.serve``) and the tests import this module: it
imports Solara. The scenario file comes in the ``CHANNEL_SIM_APP_SCENARIO``
environment variable (the command has checked it), a replay's folder in
``CHANNEL_SIM_APP_REPLAY`` (and ``CHANNEL_SIM_APP_RUN``).
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "false")  # before solara: no call to mixpanel or ipify

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import solara  # noqa: E402
from mesa.visualization import Slider, SolaraViz  # noqa: E402
from mesa.visualization.utils import update_counter  # noqa: E402

from sim.app.drawing import draw_charts, draw_map  # noqa: E402
from sim.app.live import SWITCHES, AppModel, map_view  # noqa: E402
from sim.errors import ScenarioError  # noqa: E402
from sim.scenario import Policy, load_scenario  # noqa: E402

INTERCEPTION_MODES = ["none", "before_pickup", "up_to_300m"]
DEFAULT_SCENARIO = "scenarios/baseline.yaml"


#: The switches' labels in the side panel.
SWITCH_LABELS = {"van_intelligence": "Van intelligence", "warehouse_raids": "Warehouse raids",
                 "train_station_intel": "Train-station intelligence", "uk_liaison": "UK liaison officers",
                 "returns": "Returns (one in, one out)", "union_refusal": "No officer intervenes at sea"}
assert set(SWITCH_LABELS) == set(SWITCHES) <= set(Policy.model_fields)


def model_params(scenario_file: str, seed: int = 1) -> dict:
    """The side panel's model parameters, starting at the scenario's values."""
    scenario = load_scenario(scenario_file)
    return {
        "scenario_file": str(scenario_file),
        "interception": {"type": "Select", "label": "Interception at sea (on Reset)",
                         "value": scenario.policy.shallow_water_interception, "values": INTERCEPTION_MODES},
        "drones": Slider("Thermal drones", scenario.surveillance.drones, 0, 60, 1),
        "personnel": Slider("Personnel a day", scenario.gendarmerie.personnel_per_day, 0, 3000, 100),
        **{name: {"type": "Checkbox", "label": label, "value": bool(getattr(scenario.policy, name))}
           for name, label in SWITCH_LABELS.items()},
        "seed": Slider("Seed", seed, 0, 99, 1),
    }


def scenario_choices(scenario_file: str) -> dict[str, str]:
    """The scenarios the page offers: the given file and every scenario beside it, by file name.

    Files of the folder that are not scenarios (a targets file, a broken one) are left out.
    """
    given = Path(scenario_file)
    choices = {given.name: str(given)}
    for path in sorted(given.parent.glob("*.yaml")):
        if path.name in choices:
            continue
        try:
            load_scenario(path)
        except ScenarioError:
            continue
        choices[path.name] = str(path)
    return dict(sorted(choices.items()))


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
    fig = solara.use_memo(lambda: draw_map(model.coast, map_view(model)), [model, model.day_index])
    solara.FigureMatplotlib(fig, dependencies=[model, model.day_index], format="png", dpi=90)


@solara.component
def DailyCharts(model: AppModel):
    """Attempts, crossings, prevented, people waiting and deaths, day by day."""
    update_counter.get()
    fig = solara.use_memo(lambda: draw_charts(model.daily_frame(), model.inputs.days, model.inputs.start_date),
                          [model, model.day_index])
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
def LiveModel(scenario_file: str):
    """A live model of one scenario file, with the controls of its values."""
    params = solara.use_memo(lambda: model_params(scenario_file), [scenario_file])
    initial = solara.use_memo(lambda: AppModel(scenario_file=scenario_file, seed=params["seed"].value),
                              [scenario_file])
    model = solara.use_reactive(initial)
    return Viz(model, params)


@solara.component
def LivePage(scenario_file: str):
    """A live model, one per browser tab, of the scenario chosen in the side panel (at first, the given one)."""
    choices = solara.use_memo(lambda: scenario_choices(scenario_file), [scenario_file])
    chosen = solara.use_reactive(Path(scenario_file).name)
    with solara.Sidebar(), solara.Card("Scenario"):
        solara.Select("Scenario file (builds its model)", value=chosen, values=list(choices))
        solara.Text(f"in {Path(scenario_file).parent}/", style={"font-size": "0.85em"})
    LiveModel(choices[chosen.value]).key(chosen.value)  # a new model, and controls at its file's values


@solara.component
def ReplayPage(folder: str, run: str | None = None, play_interval_s: float = 0.4):
    """A stored run, night by night: the live page's map and charts from its tables (``sim.app.replay``)."""
    import time

    from sim.app.replay import date_line as replay_date_line
    from sim.app.replay import load_replay, prepare, replay_view

    replay = solara.use_memo(lambda: load_replay(folder, run), [folder, run])
    shown = solara.use_memo(lambda: prepare(replay), [replay])
    day = solara.use_reactive(0)
    playing = solara.use_reactive(False)
    last = len(replay.daily) - 1
    # The last night drawn, and when: set once a render pass is over. Play shows the next night only when
    # this one has been drawn and on the page for play_interval_s, so that it never runs ahead of the
    # drawing (on a slow machine a night takes longer to draw than the interval): no night is skipped, and
    # no render pass is changed by play before it ends.
    drawn = solara.use_ref((-1, 0.0))
    this_day = day.value
    solara.use_effect(lambda: setattr(drawn, "current", (this_day, time.monotonic())), [this_day])

    def play():
        while playing.value and day.value < last:
            time.sleep(min(0.05, play_interval_s))
            shown_day, at = drawn.current
            if playing.value and shown_day == day.value and time.monotonic() - at >= play_interval_s:
                day.value = min(last, day.value + 1)
        playing.value = False

    solara.use_thread(play, dependencies=[playing.value])

    with solara.AppBar():
        solara.AppBarTitle(f"channel-sim replay: {replay.scenario.name}")
    with solara.Sidebar(), solara.Column():
        with solara.Card("Replay"):
            with solara.Row(justify="space-between"):
                solara.Button("Reset", color="primary", on_click=lambda: (playing.set(False), day.set(0)))
                solara.Button("Back", color="primary", disabled=playing.value or day.value <= 0,
                              on_click=lambda: day.set(max(0, day.value - 1)))
                solara.Button("❚❚" if playing.value else "▶", color="primary", disabled=day.value >= last,
                              on_click=lambda: playing.set(not playing.value))
                solara.Button("Step", color="primary", disabled=playing.value or day.value >= last,
                              on_click=lambda: day.set(min(last, day.value + 1)))
            with solara.Div(style={"padding-top": "28px"}):  # room for the day over the thumb, below the buttons
                solara.SliderInt("Day", value=day, min=0, max=last)
        with solara.Card("Run"), solara.Column():
            solara.Text(replay.label)
            solara.Text("A replay of stored tables: no model runs; policy controls belong to the live page "
                        "(channel-sim app SCENARIO).")
    with solara.Column(style={"padding": "8px", "max-width": "1120px"}):
        solara.Text(replay_date_line(replay, day.value), style={"font-size": "1.05em", "font-weight": "bold"})
        map_fig = solara.use_memo(lambda: draw_map(shown.coast, replay_view(replay, shown, day.value)),
                                  [replay, day.value])
        solara.FigureMatplotlib(map_fig, dependencies=[replay, day.value], format="png", dpi=90)
        chart_fig = solara.use_memo(lambda: draw_charts(replay.daily.iloc[: day.value + 1], len(replay.daily),
                                                        replay.daily["date"].iloc[0]), [replay, day.value])
        solara.FigureMatplotlib(chart_fig, dependencies=[replay, day.value], format="png", dpi=90)


@solara.component
def Page():
    """The page: a live model of the scenario the command was given, or a replay of a run."""
    replay = os.environ.get("CHANNEL_SIM_APP_REPLAY")
    if replay:
        return ReplayPage(replay, os.environ.get("CHANNEL_SIM_APP_RUN") or None)
    return LivePage(os.environ.get("CHANNEL_SIM_APP_SCENARIO", DEFAULT_SCENARIO))
