"""Writing one run to a folder: resolved scenario, summary, boats, daily series.

A run folder holds:

* ``scenario.yaml``: the resolved scenario (after ``extends`` and defaults);
* ``summary.json``: the summary (``sim.outcomes.SUMMARY_KEYS``);
* ``boats.parquet``: one row per boat attempt;
* ``daily.parquet``: one row per day;
* ``tracks.parquet``: where the run's agents went, as waypoints
  (``sim.outcomes.MoveRecord``), for ``channel-sim app RUN_FOLDER``;
* ``provenance.json``: package version, git commit, Python and Mesa versions,
  scenario hash, seed, start and end times;
* ``summary.md``: the same for a reader: the scenario, seed, days and dates,
  the main outcomes with their units (``sim.outcomes.RUN_TABLE``, formatted
  by ``sim.outcomes.MEASURES`` as the report formats them) and the provenance.

A run folder is one with ``summary.json`` and ``provenance.json`` and no
``manifest.json`` (which marks a batch folder): :func:`is_run_folder`.
:func:`run_summary` gives its ``summary.md``, writing it first for a folder
written before it was kept.

The folder is written under a temporary name beside its destination and
renamed at the end, so no one ever sees half a run, and an existing folder is
never overwritten.
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import math
import os
import platform
import shutil
import subprocess
import tempfile
from importlib import metadata
from pathlib import Path

import yaml

from sim.errors import RunDirError


def package_version() -> str:
    """The installed channel-sim version."""
    try:
        return metadata.version("channel-sim")
    except metadata.PackageNotFoundError:
        return "unknown"


def git_commit() -> str:
    """The git commit of the source tree, or "unknown" outside a repository."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent,
                             capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 else "unknown"


def code_provenance() -> dict:
    """Which code ran: package version, git commit, Python and Mesa versions."""
    return {"package_version": package_version(), "git_commit": git_commit(),
            "python": platform.python_version(), "mesa": metadata.version("mesa")}


def provenance(scenario, seed: int, started: str, finished: str) -> dict:
    """What is needed to reproduce a run."""
    return {
        **code_provenance(),
        "scenario": scenario.name,
        "scenario_hash": scenario.content_hash(),
        "seed": int(seed),
        "days": scenario.days,
        "started": started,
        "finished": finished,
    }


def free_name(parent: Path, stem: str) -> Path:
    """``parent/stem``, or ``stem-2``, ``stem-3``... whichever does not exist yet."""
    candidate = parent / stem
    n = 2
    while candidate.exists():
        candidate = parent / f"{stem}-{n}"
        n += 1
    return candidate


def check_new(out: Path) -> None:
    """Refuse a destination that already exists (nothing is silently overwritten)."""
    if out.exists():
        raise RunDirError(f"{out}: already exists; expected a new folder (choose another --out or remove it)")


def _clean(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: The reader's page of a run folder.
SUMMARY_MD = "summary.md"

#: Files a run folder holds besides summary.md, and what each is.
_FILES = (("scenario.yaml", "the resolved scenario; `channel-sim run` on it reproduces the run"),
          ("summary.json", "every summary key"),
          ("boats.parquet", "one row per boat attempt"),
          ("daily.parquet", "one row per day"),
          ("tracks.parquet", "where boats, patrol units, vessels and drones went, night by night (for a replay)"),
          ("provenance.json", "versions, git commit, scenario hash, seed, start and end times"))


def _dates(start, days) -> str:
    """``2025-01-01 to 2025-12-31``, or what is known of it."""
    try:
        first = start if isinstance(start, dt.date) else dt.date.fromisoformat(str(start))
        return f"{first.isoformat()} to {(first + dt.timedelta(days=int(days) - 1)).isoformat()}"
    except (TypeError, ValueError, OverflowError):
        return "dates not recorded"


def summary_markdown(scenario: dict, summary: dict, prov: dict) -> str:
    """The ``summary.md`` of a run: what ran, its main outcomes with their units, and where it came from.

    Args:
        scenario: the resolved scenario as data (``Scenario.to_dict()``, or its ``scenario.yaml``).
        summary: the run summary (``summary.json``).
        prov: the provenance record (``provenance.json``).
    """
    from sim.outcomes import MEASURES, RUN_TABLE

    name = summary.get("scenario") or prov.get("scenario") or scenario.get("name") or "unnamed"
    days = summary.get("days", prov.get("days", scenario.get("days")))
    seed = summary.get("seed", prov.get("seed"))
    lines = [f"# Run of {name}", ""]
    description = str(scenario.get("description") or "").strip()
    if description:
        lines += [description, ""]
    lines += ["| | |", "|---|---|",
              f"| scenario | {name} (hash {prov.get('scenario_hash', 'not recorded')}) |",
              f"| seed | {seed} |",
              f"| days | {days}: {_dates(scenario.get('start_date'), days)} |",
              f"| ran | {prov.get('started', '?')} to {prov.get('finished', '?')} |", "",
              "## Outcomes", ""]
    def shown(key: str) -> str:
        try:
            return MEASURES[key].format(summary[key])
        except (TypeError, ValueError):  # not a number (a summary.json edited by hand)
            return str(summary[key])

    rows = [(("- " if MEASURES[key].part_of else "") + MEASURES[key].label, shown(key), MEASURES[key].unit)
            for key in RUN_TABLE if key in summary]
    widths = [max(len(r[i]) for r in rows + [("outcome", "value", "unit")]) for i in range(3)]
    lines += [f"| {'outcome':<{widths[0]}} | {'value':>{widths[1]}} | {'unit':<{widths[2]}} |",
              f"|{'-' * (widths[0] + 2)}|{'-' * (widths[1] + 1)}:|{'-' * (widths[2] + 2)}|"]
    lines += [f"| {label:<{widths[0]}} | {value:>{widths[1]}} | {unit:<{widths[2]}} |" for label, value, unit in rows]
    lines += ["", "A line starting with - is a part of the nearest line above it without one. Every summary key "
              "is in summary.json.", "",
              "## Provenance", "",
              f"channel-sim {prov.get('package_version', 'unknown')}, git commit {prov.get('git_commit', 'unknown')}, "
              f"Python {prov.get('python', 'unknown')}, Mesa {prov.get('mesa', 'unknown')}. "
              f"`channel-sim run scenario.yaml --seed {seed}` in this folder reproduces the run.", "",
              "## Files", ""]
    lines += [f"- `{file}`: {what}" for file, what in _FILES]
    return "\n".join(lines) + "\n"


def is_run_folder(folder: Path) -> bool:
    """A folder ``channel-sim run`` wrote: ``summary.json`` and ``provenance.json``, and no batch manifest."""
    folder = Path(folder)
    return (folder.is_dir() and not (folder / "manifest.json").exists() and (folder / "summary.json").is_file()
            and (folder / "provenance.json").is_file())


def _read_json(path: Path) -> dict:
    expected = f"expected the {path.name} that channel-sim run writes"
    try:
        if path.stat().st_size > 1_000_000:
            raise RunDirError(f"{path}: larger than 1,000,000 bytes; {expected}")
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise RunDirError(f"{path}: not readable JSON ({' '.join(str(exc).split())[:120]}); {expected}") from None
    except RecursionError:
        raise RunDirError(f"{path}: nested too deeply; {expected}") from None
    if not isinstance(data, dict):
        raise RunDirError(f"{path}: a {type(data).__name__}, not a mapping; {expected}")
    return data


def run_summary(folder: Path) -> tuple[str, str | None]:
    """The text of a run folder's ``summary.md``, written first if the folder lacks it.

    Returns:
        The text, and None, or why it could not be written (the text is made all the same).

    Raises:
        RunDirError: its summary.json or provenance.json cannot be read.
    """
    folder = Path(folder)
    path = folder / SUMMARY_MD
    if path.is_file():
        try:
            return path.read_text(encoding="utf-8"), None
        except (OSError, UnicodeDecodeError) as exc:
            raise RunDirError(f"{path}: cannot be read ({exc}); expected the summary.md channel-sim run writes") \
                from None
    summary, prov = _read_json(folder / "summary.json"), _read_json(folder / "provenance.json")
    scenario = {}
    if (folder / "scenario.yaml").is_file():
        from sim.errors import ScenarioError
        from sim.scenario import read_yaml_file

        try:
            data = read_yaml_file(folder / "scenario.yaml", "a resolved scenario")
        except ScenarioError:
            data = None  # the dates and the description are then not shown
        scenario = data if isinstance(data, dict) else {}
    text = summary_markdown(scenario, summary, prov)
    tmp = folder / f".{SUMMARY_MD}.{os.getpid()}.tmp"
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:  # a folder that cannot be written: the summary is still shown
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        return text, exc.strerror or str(exc)
    return text, None


def write_run(out: Path, scenario, summary: dict, boats, daily, prov: dict, next_free: str | None = None,
              tracks=None) -> Path:
    """Write a run folder atomically.

    Args:
        out: destination folder; must not exist.
        scenario: the resolved scenario.
        summary: the run summary.
        boats: per-boat table.
        daily: daily table.
        tracks: the tracks table, or None to write none.
        prov: provenance record.
        next_free: a name stem: if another process takes ``out`` meanwhile, write to the next
            free ``stem-N`` instead (for the default folder of ``channel-sim run``).

    Returns:
        The folder written.
    """
    if next_free is None:
        check_new(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    os.chmod(tmp, 0o777 & ~_umask())  # a folder like any other (mkdtemp makes it 0700)
    try:
        (tmp / "scenario.yaml").write_text(yaml.safe_dump(scenario.to_dict(), sort_keys=False, allow_unicode=True))
        (tmp / "summary.json").write_text(json.dumps({k: _clean(v) for k, v in summary.items()}, indent=2) + "\n")
        (tmp / "provenance.json").write_text(json.dumps(prov, indent=2) + "\n")
        (tmp / SUMMARY_MD).write_text(summary_markdown(scenario.to_dict(), summary, prov), encoding="utf-8")
        boats.to_parquet(tmp / "boats.parquet", index=False)
        daily.to_parquet(tmp / "daily.parquet", index=False)
        if tracks is not None:
            tracks.to_parquet(tmp / "tracks.parquet", index=False)
        while True:
            if out.exists():  # rename would replace an empty folder: never take one that is there
                if next_free is None:
                    check_new(out)
                out = free_name(out.parent, next_free)
                continue
            try:
                os.rename(tmp, out)
                break
            except OSError as exc:
                if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                    raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
