"""The observed record: the Home Office's daily arrivals and weekly French preventions.

The package ships a copy (``sim/data/observed/``, its README gives the
source, the licence and what was changed); a user can give a newer download
of the same tables instead (``channel-sim validate --record DIR``, or
``--daily FILE`` and ``--weekly FILE``). Files are read strictly: a missing or
misnamed column, a count that is not a whole number >= 0, a date that is not
YYYY-MM-DD, a date given twice, a day missing from the daily table or two
weeks that overlap is refused in one line naming the file, the line and what
was expected (:class:`sim.errors.RecordError`, exit status 2 at the command
line).

Tables (:func:`load_daily`, :func:`load_weekly`, :func:`load_record`):

* daily: ``date`` (datetime64), ``people_arrived``, ``boats_arrived`` (int64),
  one row per day, every day from the first to the last;
* weekly: ``week_ending`` (datetime64; the week covers ``week_ending`` - 6 days
  to ``week_ending``), ``people_arrived``, ``boats_arrived``,
  ``people_prevented``, ``events_prevented`` (int64), one row per week, sorted.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd

from sim.errors import RecordError

DAILY_FILE = "uk_small_boats_daily.csv"
WEEKLY_FILE = "uk_small_boats_weekly.csv"

#: Date column and count columns of each table.
DAILY_COLUMNS = ("date", "people_arrived", "boats_arrived")
WEEKLY_COLUMNS = ("week_ending", "people_arrived", "boats_arrived", "people_prevented", "events_prevented")

#: The largest file read (the daily table from 2018 is about 50 kB).
MAX_BYTES = 20_000_000

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_COUNT = re.compile(r"\d+(\.0*)?")


def shipped_folder() -> Path:
    """The folder of the record that ships with the package."""
    return Path(str(resources.files("sim") / "data" / "observed"))


@dataclass(frozen=True)
class Record:
    """The observed daily and weekly tables, and the files they were read from."""

    daily: pd.DataFrame
    weekly: pd.DataFrame
    daily_file: Path
    weekly_file: Path

    @property
    def first_day(self) -> dt.date:
        return self.daily["date"].iloc[0].date()

    @property
    def last_day(self) -> dt.date:
        return self.daily["date"].iloc[-1].date()

    def years(self) -> list[int]:
        """The calendar years the daily table covers in full."""
        first = self.first_day.year + (self.first_day != dt.date(self.first_day.year, 1, 1))
        last = self.last_day.year - (self.last_day != dt.date(self.last_day.year, 12, 31))
        return list(range(first, last + 1))

    def check_year(self, year: int) -> None:
        """Refuse a year the daily table does not cover in full.

        Raises:
            RecordError: one line naming the file, what it covers and the year asked.
        """
        years = self.years()
        if year not in years:
            held = f"a year it covers in full ({years[0]} to {years[-1]})" if years else "a year it covers in full"
            raise RecordError(f"{self.daily_file}: covers {self.first_day}..{self.last_day}; "
                              f"--observed {year} needs {held}")


def load_record(folder: str | Path | None = None, *, daily: str | Path | None = None,
                weekly: str | Path | None = None) -> Record:
    """The observed record: the shipped copy, or the files of the same names in ``folder``.

    Args:
        folder: a folder holding ``uk_small_boats_daily.csv`` and ``uk_small_boats_weekly.csv``
            (default: the copy shipped in ``sim/data/observed``).
        daily: a daily table to read instead of the folder's.
        weekly: a weekly table to read instead of the folder's.

    Raises:
        RecordError: a file is missing or malformed (one line naming it).
    """
    base = Path(folder) if folder is not None else shipped_folder()
    if folder is not None and not base.is_dir():
        what = "not found" if not base.exists() else "not a folder"
        raise RecordError(f"{base}: {what}; expected a folder holding {DAILY_FILE} and {WEEKLY_FILE}")
    daily_file = Path(daily) if daily is not None else base / DAILY_FILE
    weekly_file = Path(weekly) if weekly is not None else base / WEEKLY_FILE
    return Record(load_daily(daily_file), load_weekly(weekly_file), daily_file, weekly_file)


def load_daily(path: str | Path) -> pd.DataFrame:
    """The daily table: people and boats arriving on each day, every day from the first to the last.

    Raises:
        RecordError: the file is missing or malformed.
    """
    path = Path(path)
    frame, lines = _read_table(path, DAILY_COLUMNS, "the daily table")
    gaps = frame["date"].diff().dt.days.to_numpy()[1:]
    if (gaps > 1).any():
        i = int((gaps > 1).argmax()) + 1
        missing = (frame["date"].iloc[i - 1] + pd.Timedelta(days=1)).date()
        raise RecordError(f"{path}: no row for {missing} (between lines {lines[i - 1]} and {lines[i]}); "
                          "expected a row for every day from the first date to the last (0 for a day without arrivals)")
    return frame


def load_weekly(path: str | Path) -> pd.DataFrame:
    """The weekly table: arrivals and French preventions of each week (ending on ``week_ending``).

    Weeks may be missing; two weeks that overlap are refused.

    Raises:
        RecordError: the file is missing or malformed.
    """
    path = Path(path)
    frame, lines = _read_table(path, WEEKLY_COLUMNS, "the weekly table")
    gaps = frame["week_ending"].diff().dt.days.to_numpy()[1:]
    if (gaps < 7).any():
        i = int((gaps < 7).argmax()) + 1
        a, b = frame["week_ending"].iloc[i - 1].date(), frame["week_ending"].iloc[i].date()
        raise RecordError(f"{path}: the weeks ending {a} (line {lines[i - 1]}) and {b} (line {lines[i]}) overlap; "
                          "expected weeks ending at least 7 days apart (a week ending W covers W-6 to W)")
    return frame


def _read_text(path: Path, what: str) -> str:
    expected = f"expected {what} as a CSV file"
    if not path.exists():
        raise RecordError(f"{path}: file not found; {expected}")
    if path.is_dir():
        raise RecordError(f"{path}: is a folder; {expected}")
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise RecordError(f"{path}: {size:,} bytes; {expected} of at most {MAX_BYTES:,} bytes")
        with open(path, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise RecordError(f"{path}: cannot be read ({exc.strerror or exc}); {expected}") from None
    try:
        return data.decode("utf-8-sig")  # a file saved by a spreadsheet may start with a byte-order mark
    except UnicodeDecodeError as exc:
        raise RecordError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); {expected}") from None


def _read_table(path: Path, columns: tuple[str, ...], what: str) -> tuple[pd.DataFrame, list[int]]:
    """Parse a CSV whose first column is a date and the others counts; sorted by date, with each row's line."""
    text = _read_text(path, what)
    listed = ", ".join(columns)
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise RecordError(f"{path}: not readable as CSV ({exc}); expected {what} with columns {listed}") from None
    numbered = [(i + 1, r) for i, r in enumerate(rows) if any(c.strip() for c in r)]
    if not numbered:
        raise RecordError(f"{path}: empty; expected {what} with columns {listed}")
    header_line, header = numbered[0]
    header = [c.strip() for c in header]
    missing = [c for c in columns if c not in header]
    if missing:
        extra = [c for c in header if c not in columns]
        got = f" (it has {', '.join(repr(c) for c in extra)})" if extra else ""
        raise RecordError(f"{path}: no column {', '.join(repr(c) for c in missing)}{got}; "
                          f"expected {what} with columns {listed}")
    doubled = sorted({c for c in header if header.count(c) > 1 and c in columns})
    if doubled:
        raise RecordError(f"{path}: column {doubled[0]!r} given twice; expected {what} with columns {listed}")
    where = [header.index(c) for c in columns]
    dates: list[dt.date] = []
    counts: list[list[int]] = [[] for _ in columns[1:]]
    lines: list[int] = []
    for line, row in numbered[1:]:
        if len(row) != len(header):
            raise RecordError(f"{path}: line {line}: {len(row)} field(s); expected {len(header)} "
                              f"({', '.join(header)})")
        dates.append(_date(path, line, columns[0], row[where[0]]))
        for j, (name, k) in enumerate(zip(columns[1:], where[1:])):
            counts[j].append(_count(path, line, name, row[k]))
        lines.append(line)
    if not dates:
        raise RecordError(f"{path}: no rows under the header; expected {what} with a row per "
                          f"{'day' if columns[0] == 'date' else 'week'}")
    seen: dict[dt.date, int] = {}
    for d, line in zip(dates, lines):
        if d in seen:
            raise RecordError(f"{path}: {columns[0]} {d} given twice (lines {seen[d]} and {line}); "
                              "expected each date once")
        seen[d] = line
    frame = pd.DataFrame({columns[0]: pd.to_datetime(pd.Series(dates)).astype("datetime64[s]"),
                          **{name: pd.Series(values, dtype="int64") for name, values in zip(columns[1:], counts)}})
    frame["_line"] = lines
    frame = frame.sort_values(columns[0], kind="stable").reset_index(drop=True)
    lines = frame.pop("_line").tolist()
    return frame, lines


def _date(path: Path, line: int, name: str, text: str) -> dt.date:
    value = text.strip()
    try:
        if not _DATE.fullmatch(value):
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        shown = value if len(value) <= 40 else value[:40] + "..."
        raise RecordError(f"{path}: line {line}: {name} {shown!r} is not a date; expected YYYY-MM-DD") from None


def _count(path: Path, line: int, name: str, text: str) -> int:
    value = text.strip()
    if _COUNT.fullmatch(value) and len(value.split(".")[0]) <= 12:
        return int(value.split(".")[0])
    shown = value if len(value) <= 40 else value[:40] + "..."
    if not value:
        problem = "is empty"
    elif re.fullmatch(r"-\d+(\.0*)?", value):
        problem = f"{shown} is negative"
    elif _COUNT.fullmatch(value):
        problem = f"{shown} is too large"
    else:
        problem = f"{shown!r} is not a count"
    raise RecordError(f"{path}: line {line}: {name} {problem}; expected a whole number >= 0")
