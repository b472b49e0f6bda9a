"""A replay: the page's map and charts from a run's stored tables, without running the model.

``channel-sim app RUN_FOLDER`` (a folder ``channel-sim run`` wrote) or ``channel-sim app
--replay BATCH --run KEY`` (one run of a batch folder; KEY is the run's hash, or
``SCENARIO/REPLICATION`` when that names one run).

What the tables hold, and so what a replay shows: every night's boat attempts with
their launch site, kind, launch hour and outcome (drawn at their sites, as the live
page draws them), the boats at sea at the night's busiest half hour (from their launch
hours and the passage to UK waters), and the daily series (the charts, the date, the
sea state, the night's length, the people waiting). What runs do not record, a replay
cannot show: where patrol units went in the night, and which groups were hiding or
assembling. It shows the units at their posts, the vessels at their stations and the
drones over their sectors as the run's scenario deploys them (the deployment a model
of that scenario starts with; the model is built for it, never stepped), and the people
waiting split between the camps by the scenario's share.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.errors import RunDirError, StoreError
from sim.scenario import Scenario, from_dict, load_scenario, set_keys

#: Hours after noon at which the replay looks for the night's busiest half hour (18:00 to 08:00).
LOOK_HOURS = tuple(6.0 + 0.5 * i for i in range(29))


@dataclass
class Replay:
    """One stored run: its scenario, seed, tables and where it came from."""

    label: str
    scenario: Scenario
    seed: int
    boats: pd.DataFrame
    daily: pd.DataFrame


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
    return Replay(f"{folder} (seed {summary.get('seed', '?')})", scenario, int(summary.get("seed", 0)), boats, daily)


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
    return Replay(f"{folder}, run {labels[key]} ({key}, seed {int(row['seed'])})", scenario, int(row["seed"]),
                  boats.drop(columns=[c for c in ("scenario", "replication", "seed", "run") if c in boats]),
                  daily.sort_values("day").reset_index(drop=True))


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
    replay = load_replay(folder, run)
    env = {"CHANNEL_SIM_APP_REPLAY": str(Path(folder).resolve())}
    if run is not None:
        env["CHANNEL_SIM_APP_RUN"] = run
    return env


@dataclass
class Layout:
    """The deployment a run's scenario starts with: posts, stations, drones, camps (grid positions)."""

    coast: object
    patrols: list
    vessels: list
    drones: list
    camps: list  # (name, col, row, share)
    aircraft: int


def layout_of(replay: Replay) -> Layout:
    """The scenario's deployment, from a model of it built and not stepped."""
    from sim.app.live import drone_marks, patrol_marks, vessel_marks
    from sim.model import ChannelModel

    model = ChannelModel(replay.scenario, seed=replay.seed)
    try:
        return Layout(model.coast, [(m.col, m.row, m.state) for m in patrol_marks(model)],
                      [(m.col, m.row, m.state) for m in vessel_marks(model)],
                      [(m.col, m.row) for m in drone_marks(model)],
                      [(c.name, *c.cell.coordinate, c.share) for c in model.camps], len(model.surveillance.aircraft))
    finally:
        model.close()


def at_sea(boats: pd.DataFrame, coast, speed_kmh: float) -> tuple[list, float | None]:
    """The night's boats at sea at its busiest half hour, from their launch hours: (marks, hours after noon)."""
    out = boats[boats["outcome"].isin(["crossed", "failed_at_sea"])]
    if not len(out):
        return [], None
    sites = {s.name: s for s in coast.sites}
    launched = ((out["launch_hour"].to_numpy(dtype=float) - 12.0) % 24.0)
    hours = [sites[name].uk_waters_km / speed_kmh if outcome == "crossed" else 1.0
             for name, outcome in zip(out["launch_site"], out["outcome"])]
    cols = [sites[name].col for name in out["launch_site"]]
    best, best_t = -1, None
    for t in LOOK_HOURS:
        n = sum(1 for a, h in zip(launched, hours) if a <= t < a + h)
        if n > best:
            best, best_t = n, t
    top = coast.shore_row - 1
    marks = [(c, top * (1.0 - (best_t - a) / h), "at sea") for c, a, h in zip(cols, launched, hours)
             if a <= best_t < a + h]
    return marks, best_t if marks else None


def replay_view(replay: Replay, layout: Layout, day: int):
    """The map of the night before ``day``'s noon, from the tables."""
    from sim.app.drawing import MapView, map_title

    daily = replay.daily
    days = len(daily)
    waiting = int(daily["camp_people"].iloc[max(0, day)])
    camps = [(name, col, row, int(round(waiting * share))) for name, col, row, share in layout.camps]
    common = dict(patrols=layout.patrols, vessels=layout.vessels, drones=layout.drones, camps=camps,
                  aircraft=layout.aircraft)
    if day < 1:
        start = pd.Timestamp(daily["date"].iloc[0])
        return MapView(title=f"{start:%a %d %b %Y}: the first day (press Step)", note="replay of " + replay.label,
                       **common)
    night = day - 1
    row = daily.iloc[night]
    boats = replay.boats[replay.boats["day"] == night]
    marks, t = at_sea(boats, layout.coast, replay.scenario.crossing.speed_kmh)
    when = ("no boat at sea this night" if t is None
            else f"boats at sea at {int((t + 12) % 24):02d}:{int(t % 1 * 60):02d}, the night's busiest half hour")
    note = (f"replay of {replay.label}: {when}; the night's {len(boats)} attempt(s) "
            "by outcome\nthe tables do not hold where patrols went or who was hiding: units at their posts, "
            "vessels at their stations; camps' people split by the scenario's share")
    return MapView(title="Night of " + map_title(row["date"], night, days, float(row["wave_m"]),
                                                 float(row["night_hours"])),
                   boats=marks, outcomes=boats, note=note, **common)


def date_line(replay: Replay, day: int) -> str:
    """The replay's date line: as the live page's, from the daily table."""
    row = replay.daily.iloc[day]
    return (f"Date: {pd.Timestamp(row['date']).date().isoformat()} (day {day + 1} of {len(replay.daily)})   "
            f"sea state {float(row['wave_m']):.1f} m   tonight {float(row['night_hours']):.1f} h of dark   "
            f"interception at sea: {row['interception']}   (replay)")
