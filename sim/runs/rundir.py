"""Writing one run to a folder: resolved scenario, summary, boats, daily series.

A run folder holds:

* ``scenario.yaml``: the resolved scenario (after ``extends`` and defaults);
* ``summary.json``: the summary (``sim.outcomes.SUMMARY_KEYS``);
* ``boats.parquet``: one row per boat attempt;
* ``daily.parquet``: one row per day;
* ``provenance.json``: package version, git commit, Python and Mesa versions,
  scenario hash, seed, start and end times.

The folder is written under a temporary name beside its destination and
renamed at the end, so no one ever sees half a run, and an existing folder is
never overwritten.
"""

from __future__ import annotations

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


def write_run(out: Path, scenario, summary: dict, boats, daily, prov: dict, next_free: str | None = None) -> Path:
    """Write a run folder atomically.

    Args:
        out: destination folder; must not exist.
        scenario: the resolved scenario.
        summary: the run summary.
        boats: per-boat table.
        daily: daily table.
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
        boats.to_parquet(tmp / "boats.parquet", index=False)
        daily.to_parquet(tmp / "daily.parquet", index=False)
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
