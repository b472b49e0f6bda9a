"""Patterns of the observed record, and how a scenario's runs compare with them.

A *pattern* is a number computed from a year of a daily table of arrivals
(``date``, ``people_arrived``, ``boats_arrived``) and, where the record has
them, the year's weekly French preventions. One function, :func:`patterns`,
computes them all, for the observed record and for each simulated run alike:

========================================  ===================================================
key                                       definition (over the days of the year)
========================================  ===================================================
``people_arrived``, ``boats_arrived``     totals
``people_per_boat``                       people arrived / boats arrived
``arrival_day_share``                     share of days with people arriving (> 0)
``boats_per_arrival_day_median``, ``_p90``  median and 90th percentile of boats on arrival days
``people_per_arrival_day_median``, ``_p90`` the same of people (percentiles interpolated linearly)
``largest_day_people``, ``largest_day_boats``  the most on one day
``dispersion_people``                     variance (n - 1 divisor) over mean of people a day
``longest_run_without_arrivals``          most consecutive days without arrivals
``month_share_01`` .. ``month_share_12``  each month's share of the year's people
``share_july_december``                   share of the year's people arriving July to December
``people_prevented``, ``events_prevented``  summed over the prevention weeks given
========================================  ===================================================

The monthly profile is judged by one number, its total-variation distance
``monthly_profile_distance`` (see :func:`total_variation`): half the sum of
the absolute differences of two profiles of shares, that is the share of the
year's arrivals that would have to move from one month to another for one
profile to match the other. It is 0 for identical profiles and 1 for profiles
with no month in common, reads in the units of the profile itself (a share of
the year's people) and, unlike a chi-square, is not dominated by the quiet
winter months. It is judged as a posterior predictive check: the observed
profile's distance from the runs' median profile against the runs' own
distances from it (each run's distance from the median of the *other* runs,
so that no run is measured against a median that it helped to make, as the
observed profile did not). Only a distance larger than the runs' is a
failure.

The criterion (:func:`classify`): a pattern passes when the observed value
lies inside the runs' 90 % predictive interval (their 5th to 95th
percentile), is "near" when it lies inside the 99 % interval (0.5th to 99.5th
percentile) but outside the 90 % one, and fails otherwise; for the distance
the intervals are [0, 95th percentile] and [0, 99.5th percentile]. The whole
passes when no pattern fails and at most one is near (:func:`verdict`). That
is strict. Were the model exactly right and its intervals exact, each pattern
would lie outside its 90 % interval one time in ten, so of 16 patterns one or
two would in an average year. The intervals are percentiles of a few dozen
runs, which are narrower than the model's own spread: with 20 runs the
observed value of a right model falls outside the runs' 5th-95th percentiles
about 18 % of the time and outside their 0.5th-99.5th (about their range)
about 10 %; with 40 runs about 14 % and 5 %. The patterns are correlated
(people per day, the largest day and the dispersion move together), which
makes the whole pass more often than 16 independent tests would; more runs
make it fairer.

Preventions: the weekly table starts in May 2024 (its prevention columns are
0 before). :func:`prevention_weeks` gives the weeks of a year that lie wholly
inside it, from the first week with a prevention on record; the runs' people
and events prevented are counted from their boats (:func:`weekly_prevented`,
boats prevented on land or intercepted at sea, people aboard less deaths, by
the night the boat was committed) over exactly those weeks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.analysis.observed import Record
from sim.errors import RecordError
from sim.outcomes import Outcome


@dataclass(frozen=True)
class Pattern:
    """One pattern of the judged table: its key, label and unit."""

    key: str
    label: str
    unit: str
    share: bool = False      # printed as a percentage
    distance: bool = False   # judged one-sided: only a larger distance than the runs' fails


MONTH_KEYS = tuple(f"month_share_{m:02d}" for m in range(1, 13))
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

#: The patterns judged, in the order they are shown.
PATTERNS = (
    Pattern("people_arrived", "people arriving in the year", "people"),
    Pattern("boats_arrived", "boats arriving in the year", "boats"),
    Pattern("people_per_boat", "people per boat arriving", "people per boat"),
    Pattern("arrival_day_share", "days with arrivals", "share of days", share=True),
    Pattern("boats_per_arrival_day_median", "boats per arrival day, median", "boats"),
    Pattern("boats_per_arrival_day_p90", "boats per arrival day, 90th percentile", "boats"),
    Pattern("people_per_arrival_day_median", "people per arrival day, median", "people"),
    Pattern("people_per_arrival_day_p90", "people per arrival day, 90th percentile", "people"),
    Pattern("largest_day_people", "largest day, people", "people"),
    Pattern("largest_day_boats", "largest day, boats", "boats"),
    Pattern("dispersion_people", "variance-to-mean ratio of people a day", "people"),
    Pattern("longest_run_without_arrivals", "longest run of days without arrivals", "days"),
    Pattern("monthly_profile_distance", "monthly profile, distance from the runs' median",
            "share of the year's people", share=True, distance=True),
    Pattern("share_july_december", "arriving July to December", "share of the year's people", share=True),
    Pattern("people_prevented", "people prevented by France", "people (attempts)"),
    Pattern("events_prevented", "events prevented by France", "events"),
)
PATTERN_BY_KEY = {p.key: p for p in PATTERNS}

#: Outcomes counted as prevented (on land or at sea), as in ``sim.outcomes.summarise``.
PREVENTED = (Outcome.PREVENTED_ON_LAND.value, Outcome.INTERCEPTED_AT_SEA.value)

RESULTS = ("pass", "near", "FAIL", "n/a")


def patterns(daily: pd.DataFrame, year: int, prevented: pd.DataFrame | None = None) -> dict[str, float]:
    """The patterns of one year of a daily table of arrivals (one run, or the record).

    Args:
        daily: columns ``date``, ``people_arrived``, ``boats_arrived``, one row per
            day; every day of ``year`` must be there (other days are ignored).
        year: the calendar year.
        prevented: the weeks whose preventions are summed, columns ``week_ending``,
            ``people_prevented``, ``events_prevented`` (the record's
            :func:`prevention_weeks`, or a run's :func:`weekly_prevented` over the
            same weeks). None or no rows: no prevention patterns.

    Returns:
        Pattern key -> value (floats; NaN where undefined, e.g. people per boat
        in a year without boats). The keys are those of the module's table;
        ``monthly_profile_distance`` is not among them (it compares runs, see
        :func:`judge`).

    Raises:
        RecordError: the table lacks a day of the year or holds one twice.
    """
    days = _days_of(daily, year)
    people = days["people_arrived"].to_numpy(dtype=np.int64)
    boats = days["boats_arrived"].to_numpy(dtype=np.int64)
    arrival = people > 0
    total = people.sum()
    nan = float("nan")
    out = {
        "people_arrived": float(total),
        "boats_arrived": float(boats.sum()),
        "people_per_boat": float(total / boats.sum()) if boats.sum() else nan,
        "arrival_day_share": float(arrival.mean()),
    }
    for name, values in (("boats", boats), ("people", people)):
        on = values[arrival]
        out[f"{name}_per_arrival_day_median"] = float(np.percentile(on, 50)) if len(on) else nan
        out[f"{name}_per_arrival_day_p90"] = float(np.percentile(on, 90)) if len(on) else nan
    out["largest_day_people"] = float(people.max())
    out["largest_day_boats"] = float(boats.max())
    mean = people.mean()
    out["dispersion_people"] = float(people.var(ddof=1) / mean) if mean > 0 else nan
    out["longest_run_without_arrivals"] = float(longest_run(~arrival))
    months = days["date"].dt.month.to_numpy()
    by_month = np.bincount(months, weights=people, minlength=13)[1:]
    shares = by_month / total if total else np.full(12, nan)
    out.update({key: float(v) for key, v in zip(MONTH_KEYS, shares)})
    out["share_july_december"] = float(shares[6:].sum()) if total else nan
    if prevented is not None and len(prevented):
        out["people_prevented"] = float(prevented["people_prevented"].sum())
        out["events_prevented"] = float(prevented["events_prevented"].sum())
    return out


def longest_run(flags: np.ndarray) -> int:
    """The most consecutive True values."""
    best = run = 0
    for f in np.asarray(flags, dtype=bool):
        run = run + 1 if f else 0
        best = max(best, run)
    return best


def _days_of(daily: pd.DataFrame, year: int) -> pd.DataFrame:
    """The rows of ``year``, sorted by date; every day of the year exactly once."""
    dates = pd.to_datetime(daily["date"])
    days = daily.loc[dates.dt.year == year].assign(date=dates[dates.dt.year == year]).sort_values("date")
    expected = pd.date_range(dt.date(year, 1, 1), dt.date(year, 12, 31), freq="D")
    if days["date"].duplicated().any():
        twice = days.loc[days["date"].duplicated(), "date"].iloc[0].date()
        raise RecordError(f"the daily table holds {twice} more than once (several runs in one table?); "
                          "expected one row per day")
    if len(days) != len(expected):
        held = f"{dates.min().date()}..{dates.max().date()}" if len(dates) else "no day"
        raise RecordError(f"the daily table covers {held}; patterns of {year} need every day of {year}")
    return days


def prevention_weeks(weekly: pd.DataFrame, year: int) -> pd.DataFrame:
    """The record's weeks of ``year`` whose preventions are compared.

    The weeks that lie wholly inside the year (a week ending on W covers W-6 to
    W), from the first week of the table with a prevention on record (the
    series starts in May 2024; before, its columns are 0). Weeks missing from
    the table are missing here too.

    Returns:
        Columns ``week_ending``, ``people_prevented``, ``events_prevented``; no rows
        when the year has no prevention on record.
    """
    cols = ["week_ending", "people_prevented", "events_prevented"]
    ending = pd.to_datetime(weekly["week_ending"])
    reported = (weekly["people_prevented"] > 0) | (weekly["events_prevented"] > 0)
    if not reported.any():
        return weekly.loc[[], cols].reset_index(drop=True)
    start = ending[reported].min()
    keep = (ending.dt.year == year) & ((ending - pd.Timedelta(days=6)).dt.year == year) & (ending >= start)
    return weekly.loc[keep, cols].sort_values("week_ending").reset_index(drop=True)


def weekly_prevented(boats: pd.DataFrame, week_endings) -> pd.DataFrame:
    """A run's people and events prevented in each of the given weeks.

    Args:
        boats: the run's boats table (``date``: the night the boat was committed,
            ``outcome``, ``people``, ``deaths``).
        week_endings: the weeks, by the date they end (each covers the six days before too).

    Returns:
        Columns ``week_ending``, ``people_prevented`` (people aboard less deaths of
        the boats prevented on land or intercepted at sea), ``events_prevented``
        (their ``prevention_events``: one per party stopped on land, one per boat
        stopped at sea, as the French count stops), one row per week in the order given.
    """
    weeks = pd.to_datetime(pd.Series(week_endings)).astype("datetime64[s]").reset_index(drop=True)
    people = np.zeros(len(weeks), dtype=np.int64)
    events = np.zeros(len(weeks), dtype=np.int64)
    if len(weeks) and len(boats):
        stopped = boats[boats["outcome"].isin(PREVENTED)]
        when = pd.to_datetime(stopped["date"]).astype("datetime64[s]").to_numpy()
        order = np.argsort(weeks.to_numpy(), kind="stable")
        ends = weeks.to_numpy()[order]
        i = np.searchsorted(ends, when, side="left")
        inside = i < len(ends)
        inside[inside] = ends[i[inside]] - np.timedelta64(6, "D") <= when[inside]
        week = order[i[inside]]
        stopped_people = (stopped["people"] - stopped["deaths"]).to_numpy(dtype=np.int64)[inside]
        np.add.at(people, week, stopped_people)
        np.add.at(events, week, stopped["prevention_events"].to_numpy(dtype=np.int64)[inside])
    return pd.DataFrame({"week_ending": weeks, "people_prevented": people, "events_prevented": events})


def run_patterns(daily: pd.DataFrame, boats: pd.DataFrame, year: int, weeks=None) -> pd.DataFrame:
    """:func:`patterns` of every run of a results table (``sim.load_results``' daily and boats).

    Args:
        daily, boats: tables with a ``run`` column (and ``scenario``, ``replication``, ``seed``).
        year: the calendar year.
        weeks: the prevention weeks' endings (the record's :func:`prevention_weeks`), or None.

    Returns:
        One row per run: ``run`` (and ``scenario``, ``replication``, ``seed`` when
        present) and one column per pattern key.
    """
    return _per_run(daily, boats, year, weeks)[0]


def _per_run(daily: pd.DataFrame, boats: pd.DataFrame, year: int, weeks) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each run's patterns, and each run's weekly preventions (``run`` and :func:`weekly_prevented`'s columns)."""
    ids = [c for c in ("scenario", "replication", "seed", "run") if c in daily.columns]
    by_run = {run: b for run, b in boats.groupby("run", sort=False, observed=True)} if len(boats) else {}
    rows, weekly = [], []
    for run, d in daily.groupby("run", sort=False, observed=True):
        prevented = None
        if weeks is not None and len(weeks):
            prevented = weekly_prevented(by_run.get(run, boats.iloc[0:0]), weeks)
            weekly.append(prevented.assign(run=run))
        rows.append({**d[ids].iloc[0].to_dict(), **patterns(d, year, prevented)})
    weekly_frame = (pd.concat(weekly, ignore_index=True) if weekly else
                    pd.DataFrame(columns=["week_ending", "people_prevented", "events_prevented", "run"]))
    return pd.DataFrame(rows), weekly_frame


def total_variation(p, q) -> float:
    """Total-variation distance of two profiles of shares: half the sum of absolute differences.

    Each profile is scaled to sum to 1 first. The result is the share of the
    total that would have to move between categories (months) for one profile
    to match the other: 0 when they are the same, 1 when they share nothing.
    """
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    return float(0.5 * np.abs(p / p.sum() - q / q.sum()).sum())


def classify(observed: float, low90: float, high90: float, low99: float, high99: float) -> str:
    """"pass" inside the 90 % interval, "near" inside the 99 % one only, "FAIL" outside (ends included).

    An observed value that is not a number is "n/a" (nothing to judge); an
    interval that is not (no run gave the pattern) is "FAIL".
    """
    if not np.isfinite(observed):
        return "n/a"
    if not (np.isfinite(low90) and np.isfinite(high90) and np.isfinite(low99) and np.isfinite(high99)):
        return "FAIL"
    if low90 <= observed <= high90:
        return "pass"
    if low99 <= observed <= high99:
        return "near"
    return "FAIL"


QUANTILES = (0.005, 0.05, 0.5, 0.95, 0.995)


def judge(observed: dict, simulated: pd.DataFrame) -> pd.DataFrame:
    """The table of patterns: observed, the runs' median, 90 % and 99 % intervals, and the result.

    Args:
        observed: :func:`patterns` of the record.
        simulated: one row per run, a column per pattern key (:func:`run_patterns`).

    Returns:
        One row per pattern of ``PATTERNS`` that ``observed`` has: ``pattern``,
        ``label``, ``unit``, ``observed``, ``median``, ``low90``, ``high90``, ``low99``,
        ``high99``, ``n`` (runs with a value), ``result`` (see :func:`classify`).
    """
    rows = []
    for p in PATTERNS:
        if p.distance:
            if not all(k in observed for k in MONTH_KEYS):
                continue
            value, runs = _profile_distances(observed, simulated)
            median, high90, high99 = (np.quantile(runs, [0.5, 0.95, 0.995]) if len(runs)
                                      else (np.nan, np.nan, np.nan))
            low90 = low99 = 0.0 if len(runs) else np.nan
        else:
            if p.key not in observed:
                continue
            value = observed[p.key]
            runs = simulated[p.key].to_numpy(dtype=float) if p.key in simulated else np.array([])
            runs = runs[np.isfinite(runs)]
            low99, low90, median, high90, high99 = (np.quantile(runs, QUANTILES) if len(runs)
                                                    else (np.nan,) * 5)
        rows.append({"pattern": p.key, "label": p.label, "unit": p.unit, "observed": float(value),
                     "median": float(median), "low90": float(low90), "high90": float(high90),
                     "low99": float(low99), "high99": float(high99), "n": len(runs),
                     "result": classify(value, low90, high90, low99, high99)})
    return pd.DataFrame(rows)


def _profile_distances(observed: dict, simulated: pd.DataFrame) -> tuple[float, np.ndarray]:
    """The observed profile's distance from the runs' median profile, and each run's from the others' median."""
    if not all(k in simulated for k in MONTH_KEYS):
        return np.nan, np.array([])
    profiles = simulated[list(MONTH_KEYS)].to_numpy(dtype=float)
    profiles = profiles[np.isfinite(profiles).all(axis=1)]
    obs = np.array([observed[k] for k in MONTH_KEYS], dtype=float)
    if len(profiles) < 2 or not np.isfinite(obs).all():
        return (total_variation(obs, np.median(profiles, axis=0)) if len(profiles) and np.isfinite(obs).all()
                else np.nan), np.array([])
    value = total_variation(obs, np.median(profiles, axis=0))
    runs = np.array([total_variation(profiles[i], np.median(np.delete(profiles, i, axis=0), axis=0))
                     for i in range(len(profiles))])
    return value, runs


@dataclass(frozen=True)
class Verdict:
    """The whole table judged: it passes when nothing fails and at most one pattern is near."""

    passed: bool
    counts: dict   # result -> patterns

    def describe(self) -> str:
        c = self.counts
        why = ("no pattern outside its 99 % interval and at most one near" if self.passed else
               f"{c['FAIL']} outside the 99 % interval" if c["FAIL"] else f"{c['near']} near (at most 1 allowed)")
        judged = c["pass"] + c["near"] + c["FAIL"]
        return (f"{c['pass']} of {judged} patterns pass, {c['near']} near, {c['FAIL']} FAIL: "
                f"{'pass' if self.passed else 'FAIL'} ({why})")


def verdict(table: pd.DataFrame) -> Verdict:
    """Judge the whole table of :func:`judge`."""
    counts = {r: int((table["result"] == r).sum()) for r in RESULTS}
    return Verdict(counts["FAIL"] == 0 and counts["near"] <= 1, counts)


def format_value(value: float, share: bool = False, decimals: int | None = None) -> str:
    """A pattern's value for a table: shares as percentages to 0.1; others with ``decimals`` (default: by size)."""
    if not np.isfinite(value):
        return "-"
    if share:
        return f"{100 * value:.1f} %"
    if decimals is None:
        decimals = 0 if float(value).is_integer() else _decimals(abs(value))
    return f"{value:,.{decimals}f}"


def _decimals(size: float) -> int:
    return 0 if size >= 1000 else 1 if size >= 10 else 2


def row_decimals(values) -> int:
    """One number of decimals for a row of values: none when all are whole, else by the largest."""
    finite = [float(v) for v in values if np.isfinite(v)]
    if not finite or all(v.is_integer() for v in finite):
        return 0
    return _decimals(max(abs(v) for v in finite))


def markdown_patterns(table: pd.DataFrame, year: int) -> str:
    """The judged table in Markdown."""
    lines = [f"| pattern | unit | observed {year} | simulated median | 90 % interval | 99 % interval | result |",
             "|---|---|---|---|---|---|---|"]
    for _, r in table.iterrows():
        share = PATTERN_BY_KEY[r["pattern"]].share
        decimals = row_decimals(r[["observed", "median", "low90", "high90", "low99", "high99"]])
        f = lambda v: format_value(v, share, decimals)  # noqa: E731
        lines.append(f"| {r['label']} | {r['unit']} | {f(r['observed'])} | {f(r['median'])} | "
                     f"{f(r['low90'])} to {f(r['high90'])} | {f(r['low99'])} to {f(r['high99'])} | {r['result']} |")
    return "\n".join(lines)


@dataclass
class PatternComparison:
    """A scenario's runs against a year of the observed record."""

    year: int
    record: Record
    observed: dict               # patterns of the record
    simulated: pd.DataFrame      # patterns of each run
    table: pd.DataFrame          # judged, see :func:`judge`
    verdict: Verdict
    observed_daily: pd.DataFrame   # the record's days of the year
    simulated_daily: pd.DataFrame  # the runs' days of the year (``run``, ``date``, ``people_arrived``, ``boats_arrived``)
    weeks: pd.DataFrame            # the record's prevention weeks of the year (:func:`prevention_weeks`)
    simulated_weekly: pd.DataFrame  # the runs' preventions over those weeks (``run`` and :func:`weekly_prevented`'s)

    @property
    def runs(self) -> int:
        return len(self.simulated)

    def notes(self) -> list[str]:
        """What the table's reader needs to know: the weeks of preventions, and what few runs do to intervals."""
        out = [f"{self.runs} runs. 90 % interval: the runs' 5th to 95th percentiles; 99 %: their 0.5th to 99.5th "
               "(interpolated). A pattern passes inside the 90 % interval, is near inside the 99 % one only, "
               "and fails outside it; the whole fails with a pattern outside or more than one near. The monthly "
               "profile's distance is the share of the year's people that would have to move month to match "
               "the runs' median profile, judged against the runs' own distances from it (at most their 95th "
               "percentile passes)."]
        if self.runs < 40:
            out.append(f"With {self.runs} runs the intervals are narrower than the model's own spread, which makes "
                       "the test stricter than it should be: 40 or more runs are better.")
        if len(self.weeks):
            first, last = self.weeks["week_ending"].min().date(), self.weeks["week_ending"].max().date()
            every = pd.date_range(first, last, freq="7D")
            missing = sorted(set(every.date) - set(self.weeks["week_ending"].dt.date))
            gap = (f"; the record lacks the week{'s' if len(missing) > 1 else ''} ending "
                   f"{', '.join(str(d) for d in missing)}" if missing else "")
            out.append(f"Preventions: the {len(self.weeks)} weeks of the record that lie wholly in {self.year} "
                       f"from the start of its prevention series (weeks ending {first} to {last}{gap}); the runs' "
                       "over the same weeks, counted by the night each boat was committed.")
        else:
            out.append(f"The record has no preventions in {self.year} (its series starts in May 2024): "
                       "no prevention patterns.")
        return out

    def markdown(self) -> str:
        """The judged table, its verdict and its notes, in Markdown."""
        return "\n\n".join([markdown_patterns(self.table, self.year), self.verdict.describe(), *self.notes()])


def record_patterns(record: Record, year: int) -> tuple[pd.DataFrame, dict]:
    """The record's prevention weeks of ``year`` (:func:`prevention_weeks`) and its patterns that year.

    Raises:
        RecordError: the record does not cover the whole year.
    """
    record.check_year(year)
    weeks = prevention_weeks(record.weekly, year)
    return weeks, patterns(record.daily, year, weeks)


def compare_record(record: Record, daily: pd.DataFrame, boats: pd.DataFrame, year: int) -> PatternComparison:
    """Judge the runs of ``daily`` and ``boats`` (``sim.load_results``' tables) against ``year`` of the record.

    Raises:
        RecordError: the record or a run does not cover the whole year, or there are fewer than 2 runs.
    """
    weeks, observed = record_patterns(record, year)
    simulated, weekly = _per_run(daily, boats, year, weeks["week_ending"])
    if len(simulated) < 2:
        raise RecordError(f"{len(simulated)} run(s) to compare with the {year} record; expected at least 2 "
                          "replications (20 or more for intervals worth the name)")
    table = judge(observed, simulated)
    dates = pd.to_datetime(daily["date"])
    sim_daily = daily.loc[dates.dt.year == year, ["run", "date", "people_arrived", "boats_arrived"]]
    obs_dates = record.daily["date"].dt.year == year
    return PatternComparison(year, record, observed, simulated, table, verdict(table),
                             record.daily.loc[obs_dates].reset_index(drop=True),
                             sim_daily.assign(date=pd.to_datetime(sim_daily["date"])).reset_index(drop=True),
                             weeks, weekly)


def covered_years(daily: pd.DataFrame) -> list[int]:
    """The calendar years that every run of a daily table (a ``run`` column) covers in full."""
    years = None
    for _, d in daily.groupby("run", sort=False, observed=True):
        dates = pd.to_datetime(d["date"])
        first, last = dates.min().date(), dates.max().date()
        full = {y for y in range(first.year, last.year + 1)
                if first <= dt.date(y, 1, 1) and dt.date(y, 12, 31) <= last}
        years = full if years is None else years & full
    return sorted(years or [])
