"""The results store: one folder per batch, one set of Parquet files per run.

Layout of a batch folder::

    manifest.json          batch definition(s) and provenance
    .lock                  held (flock) while a batch writes here
    runs/<hash>.boats.parquet
    runs/<hash>.daily.parquet
    runs/<hash>.tracks.parquet    where the run's agents went (``sim.outcomes.MoveRecord``), for a replay
    runs/<hash>.summary.parquet   written last, with the checksums of the others in its metadata

``<hash>`` is a hash of the resolved scenario content (sweep values applied)
and the seed, so a run is never done twice. Each file is written under a
temporary name and renamed, so no reader sees half a file. A run counts only
when its summary reads in full and its boats, daily and tracks files match the
checksums the summary carries (runs written before checksums were kept are
read in full instead; runs written before tracks were kept have none), each
with the columns of its table; a run that fails
the check is damaged: :func:`check_run` says which file and why, readers leave
it out, and the next batch on the folder redoes it.

:func:`load_results` gives tidy pandas tables of a folder, as :class:`Results`
(``res.summaries``, ``res.boats``, ``res.daily``; ``res["summaries"]`` too);
:func:`load_tracks` gives one run's tracks (a year's are some 7,000 rows a run,
too many to read for every run of a batch at once).
"""

from __future__ import annotations

import fcntl
import time
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.errors import StoreError
from sim.outcomes import BOAT_COLUMNS, DAY_COLUMNS, SUMMARY_KEYS, TRACK_COLUMNS

TABLES = ("boats", "daily", "tracks", "summary")
MANIFEST = "manifest.json"


def run_hash(scenario_content: dict, seed: int) -> str:
    """Name of a run: hash of resolved scenario content and seed."""
    blob = json.dumps({"scenario": scenario_content, "seed": int(seed)}, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:20]


#: Key of the summary file's Parquet metadata that holds the other files' checksums.
CHECKSUMS = b"channel_sim.checksums"

#: Columns each table must have (besides the run's ids: scenario, replication, seed, run, sweep.*).
EXPECTED_COLUMNS = {"boats": set(BOAT_COLUMNS), "daily": set(DAY_COLUMNS), "tracks": set(TRACK_COLUMNS),
                    "summary": {k for k in SUMMARY_KEYS if k != "scenario"} | {"run", "replication"}}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


#: How the tracks are written: dictionaries for the names only, no statistics (a third of the default's time).
TRACKS_PARQUET = {"use_dictionary": ["agent", "state"], "write_statistics": False}


def _write_table(df: pd.DataFrame | pa.Table, path: Path, metadata: dict[bytes, bytes] | None = None,
                 options: dict | None = None, sync: bool = True) -> str:
    """Write a table under a temporary name, then rename it; returns the file's checksum.

    ``sync`` forces the file to disk before the rename (False leaves that to the system).
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    table = df if isinstance(df, pa.Table) else pa.Table.from_pandas(df, preserve_index=False)
    if metadata:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **metadata})
    pq.write_table(table, tmp, **(options or {}))
    if sync:
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
    checksum = _sha256(tmp)
    os.replace(tmp, path)
    return checksum


def write_run(runs_dir: Path, key: str, boats: pd.DataFrame, daily: pd.DataFrame, summary: pd.DataFrame,
              tracks: pd.DataFrame | pa.Table | None = None) -> None:
    """Write one run's tables; the summary last, as the mark of completion, with the others' checksums.

    Each file but the tracks is forced to disk before the next is written. The tracks (a replay's, the
    largest file and the one least read) are left to the system's own flush: one lost to a power cut
    fails its checksum, and the next batch on the folder runs the run again, to the same results.
    """
    sums = {"boats": _write_table(boats, runs_dir / f"{key}.boats.parquet"),
            "daily": _write_table(daily, runs_dir / f"{key}.daily.parquet")}
    if tracks is not None:
        sums["tracks"] = _write_table(tracks, runs_dir / f"{key}.tracks.parquet", options=TRACKS_PARQUET,
                                      sync=False)
    _write_table(summary, runs_dir / f"{key}.summary.parquet", {CHECKSUMS: json.dumps(sums).encode()})


def _columns_problem(schema: pa.Schema, table: str) -> str | None:
    missing = EXPECTED_COLUMNS[table] - set(schema.names)
    return f"no column {', '.join(sorted(missing)[:3])}{' ...' if len(missing) > 3 else ''}" if missing else None


def check_run(runs_dir: Path, key: str) -> str | None:
    """Whether a run is complete and sound.

    Returns:
        None when it is; ``"missing"`` when its summary is not there (never
        finished); otherwise what is damaged, e.g.
        ``"3f2a....boats.parquet: checksum differs from the one written"``.
    """
    return _inspect(runs_dir, key)[0]


def _inspect(runs_dir: Path, key: str) -> tuple[str | None, pa.Table | None]:
    """``check_run``'s verdict, and the summary table it read to reach it (None unless sound)."""
    path = {t: runs_dir / f"{key}.{t}.parquet" for t in TABLES}
    if not path["summary"].exists():
        return "missing", None
    try:
        summary = pq.read_table(path["summary"])
    except Exception as exc:  # noqa: BLE001 - any failure to read means the file is unusable
        return f"{path['summary'].name}: unreadable ({_short(exc)})", None
    problem = _columns_problem(summary.schema, "summary")
    if problem:
        return f"{path['summary'].name}: {problem}", None
    raw = (summary.schema.metadata or {}).get(CHECKSUMS)
    try:
        sums = json.loads(raw) if raw is not None else None
    except ValueError:
        return f"{path['summary'].name}: damaged checksums", None
    for table in ("boats", "daily", "tracks"):
        if table == "tracks" and (sums is None or "tracks" not in sums):
            continue  # written before tracks were kept
        if not path[table].exists():
            return f"{path[table].name}: missing", None
        try:
            if sums is not None:
                if _sha256(path[table]) != sums.get(table):
                    return f"{path[table].name}: checksum differs from the one written with the run", None
                schema = pq.read_schema(path[table])
            else:  # written before checksums were kept: read it in full
                schema = pq.read_table(path[table]).schema
        except Exception as exc:  # noqa: BLE001
            return f"{path[table].name}: unreadable ({_short(exc)})", None
        problem = _columns_problem(schema, table)
        if problem:
            return f"{path[table].name}: {problem}", None
    return None, summary


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


def run_complete(runs_dir: Path, key: str) -> bool:
    """A run is complete when :func:`check_run` finds nothing wrong with it."""
    return check_run(runs_dir, key) is None


def discard_run(runs_dir: Path, key: str) -> None:
    """Remove whatever is left of an incomplete or damaged run."""
    for t in TABLES:
        (runs_dir / f"{key}.{t}.parquet").unlink(missing_ok=True)


@dataclass
class BatchLock:
    """An exclusive lock on a batch folder, released when the process ends (even by kill -9)."""

    folder: Path

    def __enter__(self) -> BatchLock:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.folder / ".lock", "a+")
        for attempt in range(20):  # a reader's look at the lock (completeness) lasts a moment: wait it out
            try:
                fcntl.flock(self._fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if attempt < 19:
                    time.sleep(0.05)
        else:
            self._fh.seek(0)
            holder = self._fh.read().strip() or "another process"
            self._fh.close()
            raise StoreError(f"{self.folder}: another batch is writing here ({holder}); "
                             "expected a folder no batch is using (wait for it or choose another --out)") from None
        self._fh.seek(0)
        self._fh.truncate()
        self._fh.write(f"pid {os.getpid()}\n")
        self._fh.flush()
        return self

    def __exit__(self, *exc) -> None:
        fcntl.flock(self._fh, fcntl.LOCK_UN)
        self._fh.close()


def read_manifest(folder: Path) -> dict | None:
    """The folder's manifest, None if there is none."""
    path = folder / MANIFEST
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StoreError(f"{path}: not a readable manifest ({exc}); expected the JSON a batch writes") from None
    except RecursionError:
        raise StoreError(f"{path}: nested too deeply; expected the JSON a batch writes") from None
    batches = manifest.get("batches") if isinstance(manifest, dict) else None
    if (not isinstance(batches, list) or not isinstance(manifest.get("scenarios", {}), dict)
            or not all(isinstance(b, dict) and isinstance(b.get("definition"), dict)
                       and isinstance(b["definition"].get("scenarios"), dict)
                       and isinstance(b["definition"].get("replications"), int) for b in batches)):
        raise StoreError(f"{path}: damaged manifest; expected the JSON a batch writes "
                         "(batches, each with its definition)")
    return manifest


def write_manifest(folder: Path, manifest: dict) -> None:
    """Write the manifest atomically."""
    path = folder / MANIFEST
    tmp = path.with_name(f".{MANIFEST}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(manifest, indent=2, default=str) + "\n")
        os.replace(tmp, path)
    except BaseException:  # a full disk, say: the old manifest stays, and no temporary file is left
        tmp.unlink(missing_ok=True)
        raise


def _concat(files: list[Path]) -> pd.DataFrame:
    if not files:
        return pd.DataFrame()
    return pd.concat((pd.read_parquet(f) for f in files), ignore_index=True)


def read_summaries(runs_dir: Path, keys: list[str]) -> pd.DataFrame:
    """The summary rows of the runs ``keys``, in that order (a batch's own runs, without the rest of its folder)."""
    return _concat([runs_dir / f"{k}.summary.parquet" for k in keys])


@dataclass
class Completeness:
    """How much of the batches a folder's manifest planned is there and sound.

    Attributes:
        planned: runs the manifest's batches planned.
        sound: runs that are complete and sound.
        missing: planned runs not there, key -> what the run is (scenario, replication).
        damaged: planned runs whose files are damaged, key -> what is wrong.
        writing: a batch holds the folder's lock now.
    """

    planned: int
    sound: int
    missing: dict
    damaged: dict
    writing: bool
    summaries: dict = field(default_factory=dict, repr=False)  # sound run key -> its summary table, as read

    @property
    def complete(self) -> bool:
        """Every planned run is there and sound, and no batch is writing."""
        return not (self.missing or self.damaged or self.writing) and self.sound >= self.planned

    def describe(self, limit: int = 3) -> str:
        """One line on what is not there, e.g. ``2 of 6 runs missing (baseline replication 3, ...)``."""
        parts = []
        if self.missing or self.sound < self.planned:
            named = list(self.missing.values())[:limit]
            count = max(len(self.missing), self.planned - self.sound - len(self.damaged))
            more = f" and {count - len(named)} more" if count > len(named) else ""
            parts.append(f"{count} of {self.planned} runs missing" + (f" ({', '.join(named)}{more})" if named else ""))
        if self.damaged:
            key, problem = next(iter(self.damaged.items()))
            parts.append(f"{len(self.damaged)} damaged ({problem}{' ...' if len(self.damaged) > 1 else ''})")
        if self.writing:
            parts.append("a batch is still writing here")
        return "; ".join(parts)


def _held(folder: Path) -> bool:
    """Whether a batch holds the folder's lock now."""
    lock = folder / ".lock"
    if not lock.exists():
        return False
    with open(lock) as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
    return False


def completeness(folder: str | Path) -> Completeness:
    """Compare a batch folder with what its manifest planned.

    Manifests written before the planned runs were recorded give only their
    count: the runs missing are then counted, not named.

    Raises:
        StoreError: the folder holds no batch.
    """
    folder = Path(folder)
    manifest = read_manifest(folder) if folder.is_dir() else None
    if manifest is None:
        raise StoreError(f"{folder}: no batch results here; expected a folder written by channel-sim batch")
    runs_dir = folder / "runs"
    planned: dict = {}
    counted = 0
    for entry in manifest.get("batches", []):
        keys = entry.get("planned")
        if isinstance(keys, dict):
            planned.update(keys)
        else:  # written before planned runs were recorded: appended batches may share runs, so the largest
            counted = max(counted, int(entry.get("runs") or 0))
    present = {p.name.removesuffix(".summary.parquet") for p in runs_dir.glob("*.summary.parquet")}
    damaged, sound, tables = {}, 0, {}
    for key in sorted(present):
        problem, table = _inspect(runs_dir, key)
        if problem is None:
            sound += 1
            tables[key] = table
        elif key in planned or not planned:
            damaged[key] = problem
    missing = {k: label for k, label in planned.items() if k not in present}
    return Completeness(max(len(planned), counted, sound), sound, missing, damaged, _held(folder), tables)


@dataclass(frozen=True, eq=False)
class Results:
    """The tidy tables of a batch folder (:func:`load_results`).

    Read as attributes (``res.summaries``) or, as a mapping of the three names,
    by item (``res["summaries"]``, ``res.keys()``, ``dict(res)``).

    Attributes:
        summaries: one row per run: its ids and the summary keys (``sim.outcomes.SUMMARY_KEYS``).
        boats: one row per boat attempt of every run (``sim.outcomes.BOAT_COLUMNS`` and the ids).
        daily: one row per simulated day of every run (``sim.outcomes.DAY_COLUMNS`` and the ids).
    """

    summaries: pd.DataFrame
    boats: pd.DataFrame
    daily: pd.DataFrame

    def keys(self) -> tuple[str, ...]:
        """``("summaries", "boats", "daily")``."""
        return ("summaries", "boats", "daily")

    def __getitem__(self, key: str) -> pd.DataFrame:
        if key not in self.keys():
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self):
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def __contains__(self, key) -> bool:
        return key in self.keys()

    def values(self) -> tuple[pd.DataFrame, ...]:
        """The three tables, in the order of :meth:`keys`."""
        return tuple(getattr(self, k) for k in self.keys())

    def items(self) -> tuple[tuple[str, pd.DataFrame], ...]:
        """``(name, table)`` pairs, in the order of :meth:`keys`."""
        return tuple((k, getattr(self, k)) for k in self.keys())

    def __repr__(self) -> str:
        return (f"Results(summaries: {len(self.summaries):,} runs, boats: {len(self.boats):,} attempts, "
                f"daily: {len(self.daily):,} days)")


Mapping.register(Results)


def load_results(folder: str | Path, status: Completeness | None = None) -> Results:
    """Tidy tables of every complete run in a batch folder.

    Args:
        folder: a folder written by ``channel-sim batch``.
        status: its :func:`completeness`, when the caller has it (its runs are not checked again).

    Returns:
        A :class:`Results` with three pandas DataFrames, ``summaries``, ``boats`` and
        ``daily`` (attributes, or items: ``res["summaries"]``), with columns ``scenario``,
        ``replication``, ``seed``, ``run`` and one column per sweep key (named
        ``sweep.<key>``) beside the model's own; a batch run with parameter draws
        (``--posterior``) adds ``draw`` (the particle's row in the posterior) and one column
        per parameter with the value the run had (``draw.<key>``).

    Raises:
        StoreError: the folder is missing or holds no batch.
    """
    folder = Path(folder)
    manifest = read_manifest(folder) if folder.is_dir() else None
    if manifest is None:
        raise StoreError(f"{folder}: no batch results here; expected a folder written by channel-sim batch")
    runs_dir = folder / "runs"
    keys = sorted(p.name.removesuffix(".summary.parquet") for p in runs_dir.glob("*.summary.parquet"))
    if status is not None:  # checked already (see completeness): the same runs, read once
        sound = dict(status.summaries)
    else:
        sound = {}
        for key in keys:
            problem, table = _inspect(runs_dir, key)
            if problem is None:
                sound[key] = table
    keys = list(sound)
    summaries = (pd.concat([table.to_pandas() for table in sound.values()], ignore_index=True)
                 if sound else pd.DataFrame())
    boats = _concat([runs_dir / f"{k}.boats.parquet" for k in keys])
    daily = _concat([runs_dir / f"{k}.daily.parquet" for k in keys])
    order = (["scenario"] + (["draw"] if "draw" in summaries.columns else []) + ["replication"]
             + [c for c in summaries.columns if c.startswith("sweep.")])
    names = list(dict.fromkeys(n for b in manifest.get("batches", []) for n in b["definition"]["scenarios"]))
    for df in (summaries, boats, daily):
        if len(df):  # scenarios in the order the batches named them
            df["scenario"] = pd.Categorical(df["scenario"], categories=names + sorted(set(df["scenario"]) - set(names)))
    if len(summaries):
        summaries = summaries.sort_values(order).reset_index(drop=True)
        boats = boats.sort_values(order + ["boat_id"]).reset_index(drop=True)
        daily = daily.sort_values(order + ["day"]).reset_index(drop=True)
    for df in (summaries, boats, daily):
        if len(df):
            df["scenario"] = df["scenario"].astype(str)
    return Results(summaries, boats, daily)


def load_tracks(folder: str | Path, run: str) -> pd.DataFrame | None:
    """One run's tracks (``sim.outcomes.MoveRecord``), by its key; None for a run written before tracks were kept.

    Raises:
        StoreError: the run is not in the folder, or is damaged (as :func:`check_run` says).
    """
    runs_dir = Path(folder) / "runs"
    problem = check_run(runs_dir, run)
    if problem is not None:
        what = "no such run" if problem == "missing" else problem
        raise StoreError(f"{runs_dir / run}: {what}; expected a complete run of the batch")
    path = runs_dir / f"{run}.tracks.parquet"
    return pd.read_parquet(path) if path.exists() else None
