"""The tracks table: where a run's agents went, what a replay draws from.

What a user relies on: recording tracks changes no result; the tracks agree
with the boats table (each boat's moves end in its outcome; a boat stopped on
land meets a patrol unit there and then; one stopped at sea meets a patrol boat
and a lifeboat); positions between waypoints are where the waypoints say; the
store checks the tracks like any other table and keeps reading runs written
before them.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from sim.model import ChannelModel
from sim.model.tracks import TrackIndex, model_time
from sim.outcomes import TRACK_COLUMNS, TRACK_STATES
from sim.runs.store import CHECKSUMS, check_run, load_results, load_tracks
from sim.scenario import load_scenario
from tests.conftest import SCENARIOS


@pytest.fixture(scope="module")
def doctrine():
    """120 days of the UK's 300 m demand, with station intelligence: patrols and vessels both busy."""
    scenario = load_scenario(SCENARIOS / "shallow_water_300m.yaml").with_overrides(
        days=120, policy={"train_station_intel": True})
    return scenario, ChannelModel(scenario, seed=4).run()


@pytest.mark.parametrize("name", ["baseline", "shallow_water_300m", "train_station_intel"])
def test_recording_tracks_changes_no_result(name):
    scenario = load_scenario(SCENARIOS / f"{name}.yaml").with_overrides(days=90)
    a, b = ChannelModel(scenario, seed=7, tracks=True).run(), ChannelModel(scenario, seed=7, tracks=False).run()
    assert len(a.tracks_frame()) > 500 and len(b.tracks_frame()) == 0
    pd.testing.assert_frame_equal(a.boats_frame(), b.boats_frame())
    pd.testing.assert_frame_equal(a.daily_frame(), b.daily_frame())
    assert a.summary() == b.summary()


def test_the_table_has_its_columns_agents_and_states(doctrine):
    _, model = doctrine
    tracks = model.tracks_frame()
    assert tuple(tracks.columns) == TRACK_COLUMNS
    for agent, rows in tracks.groupby("agent", observed=True):
        assert set(rows["state"].astype(str)) <= set(TRACK_STATES[agent]), agent
    deployment = tracks[tracks["day"] == -1]
    assert (deployment["agent"] == "patrol unit").sum() == len(model.gendarmerie.units)
    assert (deployment["agent"] == "drone").sum() == len(model.surveillance.drones)
    assert (deployment["agent"] == "patrol boat").sum() == len(model.maritime.boats)
    camps = tracks[tracks["agent"] == "camp"]
    noon = camps[camps["day"] >= 0].groupby("day")["people"].sum()
    assert noon.tolist() == model.daily_frame()["camp_people"].tolist()


def test_each_boat_moves_in_time_order_and_ends_in_its_outcome(doctrine):
    _, model = doctrine
    tracks = model.tracks_frame()
    boats = model.boats_frame().set_index("boat_id")
    moves = tracks[tracks["agent"] == "boat"].assign(t=model_time)
    assert set(moves["agent_id"]) == set(boats.index)
    assert (moves.groupby("agent_id")["t"].apply(lambda t: bool(np.all(np.diff(t.to_numpy()) >= 0)))).all()
    last = moves.groupby("agent_id").tail(1).set_index("agent_id")
    assert (last["state"].astype(str) == boats.loc[last.index, "outcome"]).all()
    first = moves.groupby("agent_id").head(1).set_index("agent_id")
    assert (first["day"] == boats.loc[first.index, "day"]).all()
    crossed = last[last["state"] == "crossed"]
    assert len(crossed) > 20 and (crossed["row"] == 0).all()  # in UK waters
    launched = moves[moves["state"] == "at sea"].set_index("agent_id")
    hour = (launched["hour"].astype(float) + 12.0) % 24.0
    assert np.allclose(hour, boats.loc[launched.index, "launch_hour"], atol=2e-3)


def test_boats_stopped_meet_the_units_that_stopped_them(doctrine):
    _, model = doctrine
    tracks = model.tracks_frame().assign(t=model_time)
    boats = tracks[tracks["agent"] == "boat"]
    ends = boats.groupby("agent_id").tail(1)
    index = TrackIndex(tracks)
    on_land = ends[ends["state"] == "prevented_on_land"]
    assert len(on_land) > 20
    for _, end in on_land.iterrows():  # a unit is with the group when it is stopped
        units = index.at(end["t"] + 1e-7, ("patrol unit",))
        assert ((units["state"] == "engaged") & (units["col"] == end["col"])).any(), end
    at_sea = ends[ends["state"] == "intercepted_at_sea"]
    assert len(at_sea) > 5
    intervening = tracks[tracks["state"] == "intervening"]
    for _, end in at_sea.iterrows():  # the vessels reach it when it is stopped (a loaded boat: in its first 300 m)
        there = intervening[((intervening["t"] - end["t"]).abs() < 1e-6) & (intervening["col"] == end["col"])]
        assert set(there["agent"]) == {"patrol boat", "lifeboat"}, end


def test_positions_between_waypoints(doctrine):
    _, model = doctrine
    tracks = model.tracks_frame()
    index = TrackIndex(tracks)
    units = tracks[tracks["agent"] == "patrol unit"].assign(t=model_time)
    sent = units[units["state"] == "responding"].iloc[5]
    there = units[(units["agent_id"] == sent["agent_id"]) & (units["t"] > sent["t"])].iloc[0]
    assert there["state"] == "engaged"
    middle = (sent["t"] + there["t"]) / 2
    now = index.at(middle, ("patrol unit",)).set_index("agent_id").loc[sent["agent_id"]]
    assert now["state"] == "responding"
    assert now["col"] == pytest.approx((sent["col"] + there["col"]) / 2)
    assert now["row"] == pytest.approx((sent["row"] + there["row"]) / 2)
    later = index.at(there["t"] + 1e-4, ("patrol unit",)).set_index("agent_id").loc[sent["agent_id"]]
    assert later["state"] == "engaged" and later["col"] == there["col"]
    assert len(index.at(0.0, ("patrol unit",))) == len(model.gendarmerie.units)


def test_the_store_checks_the_tracks_and_reads_runs_without_them(tmp_path):
    from sim.runs.batch import plan_batch, run_batch

    plan = plan_batch([load_scenario(SCENARIOS / "baseline.yaml")], 2, 40, None)
    run_batch(tmp_path, plan, workers=1, progress=False)
    runs = tmp_path / "runs"
    keys = sorted(p.name.removesuffix(".summary.parquet") for p in runs.glob("*.summary.parquet"))
    tracks = load_tracks(tmp_path, keys[0])
    assert tuple(tracks.columns) == TRACK_COLUMNS and len(tracks) > 100
    assert check_run(runs, keys[0]) is None
    (runs / f"{keys[1]}.tracks.parquet").write_bytes(b"damaged")
    assert "tracks.parquet: checksum differs" in check_run(runs, keys[1])
    assert len(load_results(tmp_path).summaries) == 1
    # A run written before tracks were kept: no tracks file, no tracks checksum.
    summary = runs / f"{keys[0]}.summary.parquet"
    table = pq.read_table(summary)
    sums = json.loads(table.schema.metadata[CHECKSUMS])
    del sums["tracks"]
    pq.write_table(table.replace_schema_metadata({**table.schema.metadata, CHECKSUMS: json.dumps(sums).encode()}),
                   summary)
    (runs / f"{keys[0]}.tracks.parquet").unlink()
    assert check_run(runs, keys[0]) is None and load_tracks(tmp_path, keys[0]) is None
    with pytest.raises(Exception, match="checksum differs"):
        load_tracks(tmp_path, keys[1])


def test_a_batch_without_tracks_stores_none_and_its_runs_are_sound(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    exe = Path(sys.executable).parent / "channel-sim"
    result = subprocess.run([str(exe), "batch", str(SCENARIOS / "baseline.yaml"), "-n", "2", "--days", "30",
                             "--workers", "1", "--no-tracks", "--out", str(tmp_path), "--quiet"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    runs = tmp_path / "runs"
    keys = [p.name.removesuffix(".summary.parquet") for p in runs.glob("*.summary.parquet")]
    assert len(keys) == 2 and not list(runs.glob("*.tracks.parquet"))
    assert all(check_run(runs, key) is None and load_tracks(tmp_path, key) is None for key in keys)
    assert len(load_results(tmp_path).summaries) == 2
