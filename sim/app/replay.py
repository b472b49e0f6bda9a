"""A replay: the page's map and charts from a run's stored tables, without running the model.

``channel-sim app RUN_FOLDER`` (a folder ``channel-sim run`` wrote) or ``channel-sim app
--replay BATCH --run KEY`` (one run of a batch folder; KEY is the run's hash, or
``SCENARIO/REPLICATION`` when that names one run).

A run's tracks (``tracks.parquet``, ``sim.outcomes.MoveRecord``) hold where its boats,
patrol units, vessels and drones went and the people in its camps, so a replay draws
each night as the live page does (``sim.app.night``): at its busiest half hour, with
every attempt of the night at its site by outcome (the boats table), and the charts
from the daily table. A run stored before runs kept their tracks is replayed from its
deployment alone: the units at their posts, the vessels at their stations and the
drones over their sectors as a model of its scenario starts (built, never stepped),
the people waiting split between the camps by the scenario's share, and no boat under
way; the page says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.errors import RunDirError, StoreError
from sim.scenario import Scenario, from_dict, load_scenario, set_keys

@dataclass
class Replay:
    """One stored run: its scenario, seed, tables and where it came from.

    ``tracks`` is None for a run stored before runs kept them.
    """

    label: str
    scenario: Scenario
    seed: int
    boats: pd.DataFrame
    daily: pd.DataFrame
    tracks: pd.DataFrame | None = None


def _read_table(path: Path, expected: str) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except FileNotFoundError:
        raise RunDirError(f"{path}: file not found; expected {expected}") from None
    except Exception as exc:  # pyarrow's errors for a damaged file are of several kinds
        raise RunDirError(f"{path}: not a readable Parquet table ({' '.join(str(exc).split())[:120]}); "
                          f"expected {expected}") from None


def _run_folder(folder: Path) -> Replay:
    from sim.runs.rundir import _read_json, is_run_folder

    if not folder.is_dir():
        raise RunDirError(f"{folder}: no such folder; expected a folder written by channel-sim run")
    if not is_run_folder(folder):
        hint = (" (a batch folder: use --replay BATCH --run KEY)" if (folder / "manifest.json").exists() else "")
        raise RunDirError(f"{folder}: not a run folder{hint}; expected a folder written by channel-sim run "
                          "(summary.json, provenance.json, boats.parquet, daily.parquet, scenario.yaml)")
    summary = _read_json(folder / "summary.json")
    scenario = load_scenario(folder / "scenario.yaml")
    expected = "the tables channel-sim run writes"
    boats = _read_table(folder / "boats.parquet", expected)
    daily = _read_table(folder / "daily.parquet", expected)
    _check_columns(folder, boats, daily)
    tracks = _read_table(folder / "tracks.parquet", expected) if (folder / "tracks.parquet").exists() else None
    _check_tracks(folder / "tracks.parquet", tracks)
    return Replay(f"{folder} (seed {summary.get('seed', '?')})", scenario, int(summary.get("seed", 0)), boats, daily,
                  tracks)


def _check_columns(where: Path, boats: pd.DataFrame, daily: pd.DataFrame) -> None:
    need_boats = {"day", "launch_site", "launch_km", "kind", "outcome", "launch_hour", "people"}
    need_daily = {"day", "date", "wave_m", "night_hours", "camp_people", "boats_attempted", "boats_crossed",
                  "boats_prevented_on_land", "boats_intercepted_at_sea", "deaths", "interception"}
    for name, table, need in (("boats", boats, need_boats), ("daily", daily, need_daily)):
        missing = sorted(need - set(table.columns))
        if missing:
            raise RunDirError(f"{where}: its {name} table lacks {', '.join(missing)}; expected the tables "
                              "channel-sim writes")
    if len(daily) == 0:
        raise RunDirError(f"{where}: its daily table has no row; expected a run of at least one day")


def _check_tracks(path: Path, tracks: pd.DataFrame | None) -> None:
    from sim.outcomes import TRACK_COLUMNS, TRACK_STATES

    if tracks is None:
        return
    missing = sorted(set(TRACK_COLUMNS) - set(tracks.columns))
    if missing:
        raise RunDirError(f"{path}: lacks {', '.join(missing)}; expected the tracks channel-sim writes")
    unknown = sorted(set(tracks["agent"].astype(str)) - set(TRACK_STATES))
    if unknown:
        raise RunDirError(f"{path}: unknown agent {unknown[0]!r}; expected one of {', '.join(TRACK_STATES)}")


def _batch_run(folder: Path, run: str | None) -> Replay:
    from sim.runs.store import completeness, read_manifest

    status = completeness(folder)  # StoreError when the folder holds no batch
    manifest = read_manifest(folder)
    summaries = {key: table.to_pandas().iloc[0] for key, table in status.summaries.items()}
    if not summaries:
        raise StoreError(f"{folder}: no complete run; expected a batch with at least one finished run")
    labels = {key: f"{row['scenario']}/{int(row['replication'])}" for key, row in summaries.items()}
    names = sorted(labels.values())
    listing = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
    if not run:
        raise StoreError(f"--replay {folder}: no --run given; expected --run KEY, one of {listing} "
                         "(or a run's hash)")
    chosen = [key for key, label in labels.items() if run in (key, label)]
    if len(chosen) != 1:
        why = "names more than one run (draws or sweep points); give the run's hash" if chosen else "no such run"
        raise StoreError(f"--run {run}: {why} in {folder}; expected one of {listing} (or a run's hash)")
    key = chosen[0]
    row = summaries[key]
    content = None
    for entry in manifest.get("batches", []):
        ref = entry["definition"]["scenarios"].get(str(row["scenario"]))
        if ref is not None and ref in manifest.get("scenarios", {}):
            content = manifest["scenarios"][ref].get("content")
    if not isinstance(content, dict):
        raise StoreError(f"{folder / 'manifest.json'}: no scenario content for {row['scenario']}; expected the "
                         "manifest a batch writes")
    changes = {col.split(".", 1)[1]: _plain(row[col]) for col in row.index
               if col.startswith(("sweep.", "draw.")) and pd.notna(row[col])}
    if "days" in manifest["batches"][0]["definition"] and manifest["batches"][0]["definition"]["days"]:
        changes["days"] = int(manifest["batches"][0]["definition"]["days"])
    scenario = from_dict(set_keys(json.loads(json.dumps(content)), changes) if changes else content,
                         f"{folder} run {labels[key]}")
    runs = folder / "runs"
    expected = "the tables channel-sim batch writes"
    boats = _read_table(runs / f"{key}.boats.parquet", expected)
    daily = _read_table(runs / f"{key}.daily.parquet", expected)
    _check_columns(runs / key, boats, daily)
    path = runs / f"{key}.tracks.parquet"
    tracks = _read_table(path, expected) if path.exists() else None
    _check_tracks(path, tracks)
    return Replay(f"{folder}, run {labels[key]} ({key}, seed {int(row['seed'])})", scenario, int(row["seed"]),
                  boats.drop(columns=[c for c in ("scenario", "replication", "seed", "run") if c in boats]),
                  daily.sort_values("day").reset_index(drop=True), tracks)


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def load_replay(folder: str | Path, run: str | None = None) -> Replay:
    """The run to replay: a run folder (``run`` None) or one run of a batch folder.

    Raises:
        RunDirError, StoreError, ScenarioError: the folder or the run cannot be read, in one line.
    """
    folder = Path(folder)
    if run is None and not (folder / "manifest.json").exists():
        return _run_folder(folder)
    return _batch_run(folder, run)


def check_replay(folder: Path, run: str | None) -> dict[str, str]:
    """Read the run once (so that a bad folder is refused before the server starts); the page's settings."""
    load_replay(folder, run)
    env = {"CHANNEL_SIM_APP_REPLAY": str(Path(folder).resolve())}
    if run is not None:
        env["CHANNEL_SIM_APP_RUN"] = run
    return env


@dataclass
class Shown:
    """What a replay draws from: the run's tracks, ready to be asked, and the coast."""

    index: object  # sim.model.tracks.TrackIndex
    coast: object
    aircraft: int
    recorded: bool  # the tracks are the run's (False: its deployment alone)


def prepare(replay: Replay) -> Shown:
    """The replay's tracks made ready; for a run stored without them, its deployment and camps instead.

    A run with tracks needs no model: its coast is the package's, its aircraft the scenario's. One without
    them gets its deployment from a model of its scenario, built and never stepped.
    """
    from sim.model.geography import load_coast
    from sim.model.tracks import TrackIndex

    aircraft = replay.scenario.surveillance.aircraft
    if replay.tracks is not None:
        return Shown(TrackIndex(replay.tracks), load_coast(), aircraft, True)
    from sim.model import ChannelModel

    model = ChannelModel(replay.scenario, seed=replay.seed)
    try:
        tracks = model.tracks_frame()
        camps = tracks[tracks["agent"] == "camp"]
        noons = pd.concat([camps.assign(day=d, people=[int(round(n * c.share)) for c in model.camps])
                           for d, n in enumerate(replay.daily["camp_people"].to_numpy())])
        return Shown(TrackIndex(pd.concat([tracks, noons], ignore_index=True)), model.coast, aircraft, False)
    finally:
        model.close()


def replay_view(replay: Replay, shown: Shown, day: int):
    """The map of the night before ``day``'s noon, from the tables."""
    from sim.app.night import first_view, night_view

    daily = replay.daily
    if day < 1:
        return first_view(shown.index, shown.coast, daily["date"].iloc[0], shown.aircraft, 0.0,
                          note="replay of " + replay.label)
    night = day - 1
    boats = replay.boats[replay.boats["day"] == night]
    return night_view(shown.index, shown.coast, night, len(daily), daily.iloc[night], boats, shown.aircraft,
                      recorded=shown.recorded, note="replay of " + replay.label)


def date_line(replay: Replay, day: int) -> str:
    """The replay's date line: as the live page's, from the daily table."""
    row = replay.daily.iloc[day]
    return (f"Date: {pd.Timestamp(row['date']).date().isoformat()} (day {day + 1} of {len(replay.daily)})   "
            f"sea state {float(row['wave_m']):.1f} m   tonight {float(row['night_hours']):.1f} h of dark   "
            f"interception at sea: {row['interception']}   (replay)")
