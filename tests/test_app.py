"""``channel-sim app`` without a browser: the page's components rendered in process, the command's errors.

Needs the ``app`` extra (``pip install -e '.[app]'``); skipped without it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "false")
solara = pytest.importorskip("solara", reason="the app extra is not installed (pip install -e '.[app]')")
v = pytest.importorskip("ipyvuetify", reason="the app extra is not installed (pip install -e '.[app]')")
import ipywidgets  # noqa: E402

from tests.conftest import ROOT, SCENARIOS, free_port  # noqa: E402

EXE = Path(sys.executable).parent / "channel-sim"
BASELINE = str(SCENARIOS / "baseline.yaml")


def cli(*args, code=None, timeout=60):
    """``channel-sim ARGS`` as a user runs it (or ``code`` run with python -c)."""
    cmd = [sys.executable, "-c", code, *map(str, args)] if code else [str(EXE), *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def texts(rc) -> list[str]:
    return [w.children[0] for w in rc.find(v.Html, tag="span").widgets if w.children and isinstance(w.children[0], str)]


def date_text(rc) -> str:
    found = [t for t in texts(rc) if t.startswith("Date:")]
    assert len(found) == 1, texts(rc)
    return found[0]


def images(rc) -> list[bytes]:
    return [w.value for w in rc.find(ipywidgets.Image).widgets]


@pytest.fixture
def page():
    """The live page of the baseline, rendered, with its reactive model."""
    from sim.app.live import AppModel
    from sim.app.page import Viz, model_params

    params = model_params(BASELINE)
    model = solara.reactive(AppModel(scenario_file=BASELINE, seed=1))

    @solara.component
    def Page():
        with solara.AppLayout():  # SolaraViz's side panel is a portal into an AppLayout
            Viz(model, params)

    box, rc = solara.render(Page(), handle_error=False)
    yield model, rc
    rc.close()


def test_the_page_shows_the_date_the_map_and_the_charts(page):
    model, rc = page
    assert date_text(rc).startswith("Date: 2025-01-01 (before the first noon")
    shown = images(rc)
    assert len(shown) == 2 and all(img[:8] == b"\x89PNG\r\n\x1a\n" and len(img) > 20_000 for img in shown)
    for control in ("Reset", "Step"):
        rc.find(v.Btn, children=[control]).assert_single()


def test_step_runs_one_day_and_the_page_follows(page):
    model, rc = page
    map_before = images(rc)[0]
    rc.find(v.Btn, children=["Step"]).widget.click()
    rc.find(v.Btn, children=["Step"]).widget.click()
    assert model.value.time == 2 and model.value.day_index == 1  # one step, one day
    assert date_text(rc).startswith("Date: 2025-01-02 (day 2 of 365)")
    assert images(rc)[0] != map_before  # the map of the first night is drawn


def test_a_policy_switch_rebuilds_the_model_on_reset(page):
    model, rc = page
    first = model.value
    assert first.inputs.policy.shallow_water_interception == "none"
    select = rc.find(v.Select, label="Interception at sea (on Reset)")
    select.assert_single()
    select.widget.v_model = "before_pickup"
    rc.find(v.Btn, children=["Reset"]).widget.click()
    assert model.value is not first
    assert model.value.inputs.policy.shallow_water_interception == "before_pickup"
    assert model.value.inputs.surveillance.drones == 12  # the other switches keep the scenario's values
    assert "interception at sea: before_pickup, 12 drones" in date_text(rc)


def test_the_drones_and_personnel_controls_rebuild_the_model_on_reset(page):
    model, rc = page
    rc.find(v.Slider, label="Thermal drones").widget.v_model = 30
    rc.find(v.Slider, label="Personnel a day").widget.v_model = 600
    assert model.value.inputs.surveillance.drones == 12  # not before Reset
    rc.find(v.Btn, children=["Reset"]).widget.click()
    assert model.value.inputs.surveillance.drones == 30 and len(model.value.surveillance.drones) == 30
    assert model.value.inputs.gendarmerie.personnel_per_day == 600
    assert model.value.inputs.policy.shallow_water_interception == "none"
    assert "none, 30 drones, 600 personnel a day" in date_text(rc)


def test_the_app_model_gives_the_runs_results():
    """The page's model and its tracks change nothing: the same boats and days as channel-sim run."""
    from sim.app.live import AppModel
    from sim.app.live import map_view
    from sim.model import ChannelModel
    from sim.scenario import load_scenario

    days = 200
    app = AppModel(scenario_file=BASELINE, seed=3)
    for _ in range(days + 1):  # the last step runs the last night
        app.step()
        if app.day_index % 20 == 0:
            map_view(app)
    run = ChannelModel(load_scenario(BASELINE), seed=3, tracks=False)
    run.run_for(days + 1)
    boats = app.boats_frame().drop(columns="boat_id")
    assert len(boats) > 50
    assert boats.equals(run.boats_frame().drop(columns="boat_id"))
    assert app.daily_frame().equals(run.daily_frame())


def test_the_policy_switches_and_the_scenario_file_are_controls(page):
    from sim.app.page import scenario_choices

    model, rc = page
    labels = {w.label for w in rc.find(v.Checkbox).widgets}
    assert {"Van intelligence", "Warehouse raids", "Train-station intelligence", "UK liaison officers",
            "Returns (one in, one out)", "No officer intervenes at sea"} <= labels
    rc.find(v.Checkbox, label="UK liaison officers").widget.v_model = True
    rc.find(v.Checkbox, label="Returns (one in, one out)").widget.v_model = True
    assert not model.value.inputs.policy.uk_liaison  # not before Reset
    rc.find(v.Btn, children=["Reset"]).widget.click()
    assert model.value.inputs.policy.uk_liaison and model.value.inputs.policy.returns
    assert not model.value.inputs.policy.van_intelligence
    choices = scenario_choices(BASELINE)
    assert "baseline.yaml" in choices and "shallow_water_300m.yaml" in choices and "targets.yaml" not in choices


def test_choosing_a_scenario_file_builds_its_model_with_its_values():
    from sim.app.page import LivePage

    @solara.component
    def Page():
        with solara.AppLayout():
            LivePage(BASELINE)

    box, rc = solara.render(Page(), handle_error=False)
    try:
        assert "interception at sea: none" in date_text(rc)
        rc.find(v.Select, label="Scenario file (builds its model)").widget.v_model = "shallow_water_300m.yaml"
        assert "interception at sea: up to 300 m" in date_text(rc) or "up_to_300m" in date_text(rc), date_text(rc)
        assert rc.find(v.Select, label="Interception at sea (on Reset)").widget.v_model == "up_to_300m"
        rc.find(v.Btn, children=["Step"]).widget.click()
        assert date_text(rc).startswith("Date: 2025-01-01 (day 1 of 365)")
    finally:
        rc.close()


def test_the_map_shows_the_nights_boats():
    from sim.app.live import AppModel, map_view

    model = AppModel(scenario_file=BASELINE, seed=1)
    seen_out, seen_outcomes = set(), 0
    for _ in range(120):
        model.step()
        view = map_view(model)
        seen_out |= {state for _, _, state in view.boats}
        seen_outcomes += 0 if view.outcomes is None else len(view.outcomes)
        assert len(view.patrols) == len(model.gendarmerie.units)
        assert len(view.drones) == 12 and len(view.camps) == 2
    assert {"hiding", "at sea"} <= seen_out
    assert seen_outcomes == len(model.boats_frame()[model.boats_frame()["day"] < model.day_index])


@pytest.mark.parametrize("content, says", [
    ("surveillance:\n  drons: 3\n", "surveillance.drons: unknown key (did you mean 'drones'?)"),
    ("days: [\n", "not valid YAML"),
])
def test_a_bad_scenario_gets_one_line(tmp_path, content, says):
    bad = tmp_path / "bad.yaml"
    bad.write_text(content)
    result = cli("app", bad, "--port", free_port())
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"channel-sim: error: {bad}") and says in lines[0], result.stderr


def test_a_missing_scenario_and_a_taken_port_get_one_line(tmp_path):
    result = cli("app", tmp_path / "nothing.yaml")
    assert result.returncode == 2 and result.stderr.splitlines() == [
        f"channel-sim: error: {tmp_path / 'nothing.yaml'}: file not found; expected a scenario YAML file"]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("app", BASELINE, "--port", port)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"channel-sim: error: 127.0.0.1:{port}: cannot listen (already in use); "
                                          "expected a free port (choose another --port)"]


def test_without_the_extra_the_command_says_what_to_install():
    code = ("import sys; sys.modules['solara'] = None; from sim.cli import main; "
            "sys.argv[0] = 'channel-sim'; sys.exit(main(sys.argv[1:]))")
    result = cli("app", BASELINE, "--port", free_port(), code=code)
    assert result.returncode == 2
    assert result.stderr.splitlines() == ["channel-sim: error: channel-sim app needs the app extra (solara not "
                                          "installed); expected it installed: pip install -e '.[app]'"]


# -- replays ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A run folder (channel-sim run) and a batch folder of two runs (channel-sim batch), 200 days each."""
    base = tmp_path_factory.mktemp("replay")
    run = cli("run", BASELINE, "--seed", 2, "--days", 200, "--out", base / "run", "--quiet", timeout=300)
    assert run.returncode == 0, run.stderr
    batch = cli("batch", BASELINE, "-n", 2, "--days", 200, "--workers", 1, "--out", base / "batch", timeout=300)
    assert batch.returncode == 0, batch.stderr
    return base / "run", base / "batch"


def test_a_replay_of_a_run_folder_steps_through_its_nights(stored):
    from sim.app.page import ReplayPage

    folder, _ = stored

    @solara.component
    def Page():
        with solara.AppLayout():
            ReplayPage(str(folder))

    box, rc = solara.render(Page(), handle_error=False)
    try:
        assert date_text(rc).startswith("Date: 2025-01-01 (day 1 of 200)")
        first_map = images(rc)[0]
        rc.find(v.Btn, children=["Step"]).widget.click()
        rc.find(v.Btn, children=["Step"]).widget.click()
        assert date_text(rc).startswith("Date: 2025-01-03 (day 3 of 200)")
        assert images(rc)[0] != first_map
        rc.find(v.Slider).widget.v_model = 199
        assert date_text(rc).startswith("Date: 2025-07-19 (day 200 of 200)")
        rc.find(v.Btn, children=["Step"]).assert_single()
        assert rc.find(v.Btn, children=["Step"]).widget.disabled  # the last day
        rc.find(v.Btn, children=["Reset"]).widget.click()
        assert date_text(rc).startswith("Date: 2025-01-01 (day 1 of 200)")
        rc.find(v.Btn, children=["▶"]).widget.click()  # plays a night every 0.4 s
        deadline = time.monotonic() + 20
        while date_text(rc).startswith("Date: 2025-01-01") and time.monotonic() < deadline:
            time.sleep(0.2)
        rc.find(v.Btn, children=["❚❚"]).widget.click()
        shown = date_text(rc)
        assert not shown.startswith("Date: 2025-01-01") and not shown.startswith("Date: 2025-07-19"), shown
    finally:
        rc.close()


def test_playing_a_replay_waits_for_each_night_to_be_drawn(stored, monkeypatch):
    """On a slow machine a night takes longer to draw than play's interval: play waits for it, and the
    page keeps up (rather than a render pass that never ends, every one of them changed by play)."""
    import sim.app.replay as replay
    from sim.app.page import ReplayPage

    folder, _ = stored
    date_line = replay.date_line

    drawn = []

    def slow_date_line(replay_, day):  # a render pass of the page takes 0.2 s more
        time.sleep(0.2)
        drawn.append(day)
        return date_line(replay_, day)

    monkeypatch.setattr(replay, "date_line", slow_date_line)

    @solara.component
    def Page():
        with solara.AppLayout():
            ReplayPage(str(folder), play_interval_s=0.05)

    box, rc = solara.render(Page(), handle_error=False)
    try:
        rc.find(v.Btn, children=["▶"]).widget.click()
        deadline = time.monotonic() + 30
        while not date_text(rc).startswith("Date: 2025-01-04") and time.monotonic() < deadline:
            time.sleep(0.05)
        rc.find(v.Btn, children=["❚❚"]).widget.click()  # still playing: not run through to the end
        shown = date_text(rc)
        assert not shown.startswith(("Date: 2025-01-01", "Date: 2025-01-02", "Date: 2025-01-03")), shown
        nights = sorted(set(drawn))
        assert nights == list(range(nights[-1] + 1)), nights  # every night drawn, none skipped
    finally:
        rc.close()


def test_a_replay_draws_each_nights_agents_from_the_tracks(stored):
    import pandas as pd

    from sim.app.replay import load_replay, prepare, replay_view

    folder, _ = stored
    replay = load_replay(folder)
    assert replay.tracks is not None
    boats = pd.read_parquet(folder / "boats.parquet")
    shown = prepare(replay)
    first = replay_view(replay, shown, 0)
    assert len(first.patrols) > 0 and len(first.drones) == 12 and len(first.camps) == 2 and not first.boats
    seen, busy_patrols = set(), 0
    for day in range(1, 200):
        view = replay_view(replay, shown, day)
        night = boats[boats["day"] == day - 1]
        assert len(view.outcomes) == len(night)
        assert len(view.boats) <= len(night) and (len(night) == 0 or "busiest half hour" in view.note)
        assert len(view.patrols) == len(first.patrols) and len(view.camps) == 2
        seen |= {state for *_, state in view.boats}
        busy_patrols += sum(state != "on patrol" for *_, state in view.patrols)
    assert {"hiding", "assembling", "taxi waiting in the surf", "at sea"} <= seen
    assert busy_patrols > 10


def test_a_run_stored_without_tracks_is_replayed_from_its_deployment(stored, tmp_path):
    import shutil

    from sim.app.replay import load_replay, prepare, replay_view

    folder, _ = stored
    old = tmp_path / "old-run"
    shutil.copytree(folder, old)
    (old / "tracks.parquet").unlink()
    replay = load_replay(old)
    assert replay.tracks is None
    shown = prepare(replay)
    view = replay_view(replay, shown, 100)
    assert not view.boats and len(view.patrols) > 0 and "stored before runs kept their tracks" in view.note
    waiting = int(replay.daily["camp_people"].iloc[99])
    assert abs(sum(people for *_, people in view.camps) - waiting) <= 1


def test_a_replay_of_one_run_of_a_batch_reads_that_run(stored):
    from sim.app.replay import load_replay
    from sim.runs.store import load_results

    _, batch = stored
    replay = load_replay(batch, "baseline/1")
    res = load_results(batch)
    daily = res.daily[res.daily["replication"] == 1].reset_index(drop=True)
    assert replay.seed == int(res.summaries.loc[res.summaries["replication"] == 1, "seed"].iloc[0])
    assert replay.daily["boats_attempted"].tolist() == daily["boats_attempted"].tolist()
    assert replay.scenario.days == 200


def test_replay_errors_get_one_line(stored, tmp_path):
    folder, batch = stored
    result = cli("app", tmp_path)
    assert result.returncode == 2 and result.stderr.splitlines() == [
        f"channel-sim: error: {tmp_path}: not a run folder; expected a folder written by channel-sim run "
        "(summary.json, provenance.json, boats.parquet, daily.parquet, scenario.yaml)"]
    result = cli("app", "--replay", batch)
    assert result.returncode == 2 and result.stderr.splitlines() == [
        f"channel-sim: error: --replay {batch}: no --run given; expected --run KEY, one of baseline/0, "
        "baseline/1 (or a run's hash)"]
    result = cli("app", "--replay", batch, "--run", "baseline/7")
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1 and "no such run" in result.stderr
    result = cli("app", folder, "--run", "baseline/0")
    assert result.returncode == 2 and "given without --replay" in result.stderr
    (tmp_path / "run").mkdir()
    for name in ("summary.json", "provenance.json", "scenario.yaml"):
        (tmp_path / "run" / name).write_bytes((folder / name).read_bytes())
    (tmp_path / "run" / "boats.parquet").write_text("not parquet")
    result = cli("app", tmp_path / "run")
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1
    assert f"{tmp_path / 'run' / 'boats.parquet'}: not a readable Parquet table" in result.stderr
