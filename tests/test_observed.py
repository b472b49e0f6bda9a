"""The observed record: its shipped copy, its loader, the patterns, the criterion, and `validate --observed`."""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim.cli
from sim.analysis.observed import DAILY_FILE, WEEKLY_FILE, load_daily, load_record, load_weekly, shipped_folder
from sim.analysis.patterns import (MONTH_KEYS, PATTERNS, classify, judge, patterns, prevention_weeks,
                                   run_patterns, total_variation, verdict, weekly_prevented)
from sim.analysis.report import write_report
from sim.errors import RecordError
from sim.runs.store import load_results
from tests.conftest import ROOT, SCENARIOS

EXE = Path(sys.executable).parent / "channel-sim"


# -- the shipped copy --------------------------------------------------------------------


def test_the_record_ships_as_package_data():
    folder = shipped_folder()
    assert {DAILY_FILE, WEEKLY_FILE, "README.md"} <= {p.name for p in folder.iterdir()}
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = config["packages"]["find"]  # tests/test_commands.py builds the wheel and looks inside
    assert any(fnmatch.fnmatch("sim.data.observed", g) for g in found["include"])
    globs = config["package-data"]["sim.data.observed"]
    assert all(any(Path(name).match(g) for g in globs) for name in (DAILY_FILE, WEEKLY_FILE, "README.md"))
    readme = (folder / "README.md").read_text()
    for words in ("Open Government Licence v3.0", "rvaughan/uk-migrant-data", "2026-12-03", "31 December 2025",
                  hashlib.sha256((folder / DAILY_FILE).read_bytes()).hexdigest()):
        assert words in readme


def test_the_shipped_tables_are_tidy_and_agree():
    record = load_record()
    assert list(record.daily.columns) == ["date", "people_arrived", "boats_arrived"]
    assert list(record.weekly.columns) == ["week_ending", "people_arrived", "boats_arrived", "people_prevented",
                                           "events_prevented"]
    assert str(record.daily["date"].dtype).startswith("datetime64")
    assert all(str(record.daily[c].dtype) == "int64" for c in ("people_arrived", "boats_arrived"))
    assert record.years() == list(range(2018, 2026))
    daily = record.daily.set_index("date")
    for _, week in record.weekly.iterrows():  # every week is the sum of its seven days
        days = daily.loc[week["week_ending"] - pd.Timedelta(days=6):week["week_ending"]]
        assert len(days) == 7
        assert (days["people_arrived"].sum(), days["boats_arrived"].sum()) == (week["people_arrived"],
                                                                               week["boats_arrived"])
    first = record.weekly.loc[record.weekly["people_prevented"] > 0, "week_ending"].min()
    assert first.year == 2024 and first.month == 5
    for year, total in ((2024, 36816), (2025, 41472)):  # the source README's totals
        assert daily.loc[str(year), "people_arrived"].sum() == total


# -- malformed files: one line, exit 2 ---------------------------------------------------


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "record"
    folder.mkdir()
    for name in (DAILY_FILE, WEEKLY_FILE):
        shutil.copy(shipped_folder() / name, folder / name)
    return folder


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


# (which file, text replaced, replacement, words the message must hold)
MALFORMED = [
    ("daily", "date,people_arrived,boats_arrived", "date,people_arrived", "no column 'boats_arrived'"),
    ("daily", "date,people_arrived,boats_arrived", "date,people,boats_arrived",
     "no column 'people_arrived' (it has 'people')"),
    ("daily", "2025-01-05,0,0", "2025-01-05,many,0", "line 2563: people_arrived 'many' is not a count"),
    ("daily", "2025-01-05,0,0", "2025-01-05,0,-3", "line 2563: boats_arrived -3 is negative"),
    ("daily", "2025-01-05,0,0", "2025-01-05,,0", "line 2563: people_arrived is empty"),
    ("daily", "2025-01-05,0,0", "2025-02-30,0,0", "line 2563: date '2025-02-30' is not a date; expected YYYY-MM-DD"),
    ("daily", "2025-01-05,0,0", "04/03/2025,0,0", "line 2563: date '04/03/2025' is not a date"),
    ("daily", "2025-01-05,0,0", "2025-01-06,0,0", "date 2025-01-06 given twice (lines 2563 and 2564)"),
    ("daily", "2025-01-05,0,0\n", "", "no row for 2025-01-05"),
    ("daily", "2025-01-05,0,0", "2025-01-05,0,0,7", "line 2563: 4 field(s); expected 3"),
    ("weekly", "week_ending,", "week,", "no column 'week_ending' (it has 'week')"),
    ("weekly", "2025-01-12,67,1,276,9", "2025-01-12,67,1,276.5,9", "people_prevented '276.5' is not a count"),
    ("weekly", "2025-01-12,67,1,276,9", "2025-01-11,67,1,276,9", "overlap"),
    ("weekly", "2025-01-12,67,1,276,9", "2025-01-12,67,1", "3 field(s); expected 5"),
]


def _main(capsys, *args) -> tuple[int, list[str]]:
    status = sim.cli.main([str(a) for a in args])
    err = capsys.readouterr().err
    return status, [ln for ln in err.splitlines() if ln.strip()]


@pytest.mark.parametrize("which, old, new, words", MALFORMED)
def test_a_malformed_record_is_one_line(tmp_path, capsys, which, old, new, words):
    folder = _copy(tmp_path)
    name = DAILY_FILE if which == "daily" else WEEKLY_FILE
    _edit(folder / name, old, new)
    status, lines = _main(capsys, "validate", SCENARIOS / "baseline.yaml", "--observed", 2025, "--record", folder,
                          "-j", 1, "--quiet", "--out", tmp_path / "v")
    assert status == 2 and len(lines) == 1, lines
    assert lines[0].startswith(f"channel-sim: error: {folder / name}: ") and words in lines[0], lines[0]
    assert "expected" in lines[0]
    assert not (tmp_path / "v").exists()  # refused before any run


def test_a_missing_file_and_single_files(tmp_path, capsys):
    folder = _copy(tmp_path)
    (folder / WEEKLY_FILE).unlink()
    common = ["--observed", 2025, "-j", 1, "--quiet", "--out", tmp_path / "v"]
    status, lines = _main(capsys, "validate", SCENARIOS / "baseline.yaml", "--record", folder, *common)
    assert status == 2 and len(lines) == 1 and f"{folder / WEEKLY_FILE}: file not found" in lines[0]
    bad = tmp_path / "mine.csv"
    bad.write_text("date,people_arrived,boats_arrived\n2025-01-01,1,x\n")
    status, lines = _main(capsys, "validate", SCENARIOS / "baseline.yaml", "--daily", bad, *common)
    assert status == 2 and len(lines) == 1 and f"{bad}: line 2: boats_arrived 'x' is not a count" in lines[0]
    status, lines = _main(capsys, "validate", SCENARIOS / "baseline.yaml", "--weekly", bad, *common)
    assert status == 2 and len(lines) == 1 and f"{bad}: no column 'week_ending'" in lines[0]
    status, lines = _main(capsys, "validate", SCENARIOS / "baseline.yaml", "--record", tmp_path / "none", *common)
    assert status == 2 and len(lines) == 1 and "not found; expected a folder holding" in lines[0]


def test_years_and_runs_that_do_not_cover_are_refused(tmp_path, capsys):
    common = ["-j", 1, "--quiet", "--out", tmp_path / "v"]
    status, lines = _main(capsys, "validate", SCENARIOS / "baseline.yaml", "--observed", 2024, *common)
    assert status == 2 and len(lines) == 1
    assert "scenario baseline covers 2025-01-01..2025-12-31; --observed 2024 needs a run covering 2024" in lines[0]
    status, lines = _main(capsys, "validate", SCENARIOS / "baseline.yaml", "--observed", 2025, "--days", 300, *common)
    assert status == 2 and "covers 2025-01-01..2025-10-27 (with --days 300)" in lines[0]
    status, lines = _main(capsys, "validate", SCENARIOS / "baseline.yaml", "--observed", 2017, *common)
    assert status == 2 and len(lines) == 1 and "covers 2018-01-01..2025-12-31; --observed 2017 needs" in lines[0]
    status, lines = _main(capsys, "validate", SCENARIOS / "baseline.yaml", "--record", shipped_folder(), *common)
    assert status == 2 and "--record: given without --observed YEAR" in lines[0]
    assert not (tmp_path / "v").exists()


def test_a_newer_download_is_read_the_same_way(tmp_path):
    """A spreadsheet's export: columns in another order, an extra column, a byte-order mark, CRLF, unsorted rows."""
    path = tmp_path / DAILY_FILE
    path.write_bytes("\ufeffboats_arrived,date,note,people_arrived\r\n2,2026-01-02,,120\r\n0,2026-01-01,x,0\r\n"
                     .encode("utf-8"))
    daily = load_daily(path)
    assert list(daily.columns) == ["date", "people_arrived", "boats_arrived"]
    assert daily["date"].dt.day.tolist() == [1, 2] and daily["people_arrived"].tolist() == [0, 120]
    weekly = tmp_path / WEEKLY_FILE
    weekly.write_text("week_ending,people_arrived,boats_arrived,people_prevented,events_prevented\n"
                      "2026-01-18,5,1,10,2\n2026-01-04,0,0,0,0\n")  # a week missing between them is allowed
    assert load_weekly(weekly)["week_ending"].dt.day.tolist() == [4, 18]


# -- the patterns, on a series worked out by hand ------------------------------------------


def _year(arrivals: dict, year: int = 2023) -> pd.DataFrame:
    """A daily table of ``year`` (plus a busy day either side, which must be ignored)."""
    dates = pd.date_range(f"{year - 1}-12-31", f"{year + 1}-01-01", freq="D")
    people = [arrivals.get(d.strftime("%m-%d"), (0, 0))[0] for d in dates]
    boats = [arrivals.get(d.strftime("%m-%d"), (0, 0))[1] for d in dates]
    people[0], boats[0], people[-1], boats[-1] = 999, 20, 999, 20
    return pd.DataFrame({"date": dates, "people_arrived": people, "boats_arrived": boats})


HAND = {"01-10": (100, 2), "01-11": (50, 1), "03-01": (200, 4), "07-15": (300, 5), "12-31": (350, 8)}


def test_each_pattern_on_a_hand_made_year():
    weeks = pd.DataFrame({"week_ending": pd.to_datetime(["2023-06-04", "2023-06-11"]),
                          "people_prevented": [40, 2], "events_prevented": [3, 1]})
    p = patterns(_year(HAND), 2023, weeks)
    assert p["people_arrived"] == 1000 and p["boats_arrived"] == 20
    assert p["people_per_boat"] == 50
    assert p["arrival_day_share"] == pytest.approx(5 / 365)
    # boats on arrival days, sorted: 1 2 4 5 8; the 90th percentile lies 0.6 of the way from 5 to 8
    assert p["boats_per_arrival_day_median"] == 4 and p["boats_per_arrival_day_p90"] == pytest.approx(6.8)
    # people: 50 100 200 300 350; 0.6 of the way from 300 to 350
    assert p["people_per_arrival_day_median"] == 200 and p["people_per_arrival_day_p90"] == pytest.approx(330)
    assert p["largest_day_people"] == 350 and p["largest_day_boats"] == 8
    mean = 1000 / 365
    variance = (100**2 + 50**2 + 200**2 + 300**2 + 350**2 - 365 * mean**2) / 364
    assert p["dispersion_people"] == pytest.approx(variance / mean)
    # quiet runs: 9 days in January, 48 to 28 February, 135 to 14 July, 168 from 16 July to 30 December
    assert p["longest_run_without_arrivals"] == 168
    shares = [p[k] for k in MONTH_KEYS]
    assert shares == pytest.approx([0.15, 0, 0.2, 0, 0, 0, 0.3, 0, 0, 0, 0, 0.35])
    assert p["share_july_december"] == pytest.approx(0.65)
    assert p["people_prevented"] == 42 and p["events_prevented"] == 4
    assert "people_prevented" not in patterns(_year(HAND), 2023)  # no weeks, no prevention patterns


def test_a_leap_year_and_a_quiet_year():
    p = patterns(_year({"02-29": (10, 1)}, 2024), 2024)
    assert p["arrival_day_share"] == pytest.approx(1 / 366) and p["month_share_02"] == 1
    assert p["longest_run_without_arrivals"] == 306  # 1 March to 31 December
    quiet = patterns(_year({}, 2023), 2023)
    assert quiet["people_arrived"] == 0 and quiet["longest_run_without_arrivals"] == 365
    assert np.isnan(quiet["people_per_boat"]) and np.isnan(quiet["dispersion_people"])


def test_a_table_that_does_not_cover_the_year_is_refused():
    daily = _year(HAND)
    with pytest.raises(RecordError, match="patterns of 2023 need every day of 2023"):
        patterns(daily[daily["date"] != "2023-05-05"], 2023)
    with pytest.raises(RecordError, match="more than once"):
        patterns(pd.concat([daily, daily.iloc[[40]]]), 2023)
    with pytest.raises(RecordError, match="covers 2022-12-31..2024-01-01; patterns of 2025"):
        patterns(daily, 2025)


def test_preventions_are_counted_by_week_from_the_boats():
    boats = pd.DataFrame({
        "date": pd.to_datetime(["2025-06-02", "2025-06-08", "2025-06-08", "2025-06-09", "2025-06-01", "2025-06-05",
                                "2025-06-20"]),
        "outcome": ["prevented_on_land", "intercepted_at_sea", "crossed", "prevented_on_land", "prevented_on_land",
                    "failed_at_sea", "intercepted_at_sea"],
        "people": [50, 60, 70, 80, 90, 40, 30],
        "deaths": [0, 2, 0, 0, 0, 3, 0],
        "prevention_events": [1] * 7})  # one stop each
    weeks = weekly_prevented(boats, pd.to_datetime(["2025-06-15", "2025-06-08"]))
    # the week ending 8 June covers 2-8 June: 50 and 60 - 2 (the crossing and the failure do not count);
    # 1 June is in the week before, 20 June in the week after, neither asked for
    assert weeks["week_ending"].dt.day.tolist() == [15, 8]
    assert weeks["people_prevented"].tolist() == [80, 108] and weeks["events_prevented"].tolist() == [1, 2]


def test_prevention_weeks_lie_in_the_year_and_the_series():
    weekly = pd.DataFrame({"week_ending": pd.to_datetime(["2024-04-21", "2024-04-28", "2024-05-05", "2024-12-29",
                                                           "2025-01-05", "2025-01-12"]),
                           "people_prevented": [0, 0, 100, 200, 300, 0], "events_prevented": [0, 0, 5, 6, 7, 0]})
    assert prevention_weeks(weekly, 2024)["week_ending"].dt.strftime("%m-%d").tolist() == ["05-05", "12-29"]
    # the week ending 5 January 2025 began in 2024; a week with no prevention after the start counts (a zero)
    assert prevention_weeks(weekly, 2025)["week_ending"].dt.strftime("%m-%d").tolist() == ["01-12"]
    assert prevention_weeks(weekly.assign(people_prevented=0, events_prevented=0), 2024).empty


# -- the criterion ------------------------------------------------------------------------


def test_classify_pass_near_and_fail():
    assert classify(50, 40, 60, 30, 70) == "pass"
    assert classify(40, 40, 60, 30, 70) == "pass"  # the ends are inside
    assert classify(65, 40, 60, 30, 70) == "near" and classify(30, 40, 60, 30, 70) == "near"
    assert classify(71, 40, 60, 30, 70) == "FAIL" and classify(29, 40, 60, 30, 70) == "FAIL"
    assert classify(np.nan, 40, 60, 30, 70) == "n/a"
    assert classify(50, np.nan, np.nan, np.nan, np.nan) == "FAIL"


def _runs(values: np.ndarray, **columns) -> pd.DataFrame:
    return pd.DataFrame({"people_arrived": values, **columns})


def test_the_intervals_are_the_runs_percentiles_and_moving_the_observed_value_fails():
    runs = _runs(np.arange(201, dtype=float))  # percentiles fall on whole runs: 5th = 10, 0.5th = 1
    row = judge({"people_arrived": 100.0}, runs).iloc[0]
    assert (row["low99"], row["low90"], row["median"], row["high90"], row["high99"]) == pytest.approx(
        (1, 10, 100, 190, 199))
    assert row["result"] == "pass" and row["n"] == 201
    assert judge({"people_arrived": 195.0}, runs).iloc[0]["result"] == "near"
    assert judge({"people_arrived": 5.0}, runs).iloc[0]["result"] == "near"
    assert judge({"people_arrived": 199.5}, runs).iloc[0]["result"] == "FAIL"
    assert judge({"people_arrived": -1.0}, runs).iloc[0]["result"] == "FAIL"


def test_the_whole_fails_with_a_fail_or_two_nears():
    def table(*results):
        return pd.DataFrame({"result": list(results)})
    assert verdict(table("pass", "pass", "near")).passed
    assert not verdict(table("pass", "near", "near")).passed
    assert not verdict(table("pass", "FAIL")).passed
    assert verdict(table("pass", "n/a")).passed
    v = verdict(table("pass", "near", "near", "FAIL"))
    assert v.counts == {"pass": 1, "near": 2, "FAIL": 1, "n/a": 0} and "1 outside" in v.describe()


def test_total_variation_is_the_share_that_would_move():
    assert total_variation([0.5, 0.5, 0], [0, 0.5, 0.5]) == pytest.approx(0.5)
    assert total_variation([1, 0], [0, 1]) == 1 and total_variation([3, 1], [0.75, 0.25]) == 0


def test_the_monthly_profile_is_judged_against_the_runs_own_distances():
    rng = np.random.default_rng(1)
    flat = np.full(12, 1 / 12)
    profiles = rng.dirichlet(flat * 4000, size=60)  # runs scattered about a flat year
    runs = pd.DataFrame(profiles, columns=list(MONTH_KEYS)).assign(people_arrived=1.0)
    typical = dict(zip(MONTH_KEYS, np.median(profiles, axis=0)))  # distance 0: inside, the test is one-sided
    row = judge(typical, runs).set_index("pattern").loc["monthly_profile_distance"]
    assert row["observed"] == pytest.approx(0, abs=1e-12) and row["result"] == "pass"
    assert row["low90"] == 0 and 0 < row["median"] < row["high90"] < row["high99"] < 0.1
    summer = dict(zip(MONTH_KEYS, [0.02] * 5 + [0.2, 0.3, 0.2] + [0.02] * 4))
    row = judge(summer, runs).set_index("pattern").loc["monthly_profile_distance"]
    assert row["result"] == "FAIL" and row["observed"] == pytest.approx(total_variation(
        list(summer.values()), np.median(profiles, axis=0)))


# -- end to end -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def validated(tmp_path_factory):
    """`channel-sim validate --observed 2025 -n 3` as a user runs it (three one-year runs)."""
    d = tmp_path_factory.mktemp("observed")
    shutil.copytree(SCENARIOS, d / "scenarios")
    result = subprocess.run([str(EXE), "validate", "scenarios/baseline.yaml", "--observed", "2025", "-n", "3",
                             "--quiet", "--out", "results/v"], capture_output=True, text=True, cwd=d, timeout=600)
    return d, result


def test_validate_observed_end_to_end(validated):
    d, result = validated
    out = d / "results" / "v"
    assert "Traceback" not in result.stderr and result.returncode in (0, 1), result.stderr
    table = pd.read_csv(out / "patterns.csv")
    assert list(table["pattern"]) == [p.key for p in PATTERNS] and set(table["year"]) == {2025}
    assert (table["n"] == 3).all()
    # the record's side and every run's side are computed by the same function
    record = load_record()
    weeks = prevention_weeks(record.weekly, 2025)
    observed = patterns(record.daily, 2025, weeks)
    res = load_results(out)
    runs = run_patterns(res["daily"], res["boats"], 2025, weeks["week_ending"])
    for _, row in table.iterrows():
        if row["pattern"] in observed:
            assert row["observed"] == pytest.approx(observed[row["pattern"]])
            assert row["median"] == pytest.approx(np.median(runs[row["pattern"]]))
            assert row["low90"] == pytest.approx(np.quantile(runs[row["pattern"]], 0.05))
    for name in ("patterns", "patterns_daily", "patterns_monthly", "patterns_per_day", "patterns_prevented"):
        assert (out / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "validation.csv").is_file() and "targets passed" in result.stdout
    md = (out / "patterns.md").read_text()
    assert "| people arriving in the year | people | 41,472 |" in md and "lacks the week ending 2025-12-21" in md
    passed = verdict(table).passed and pd.read_csv(out / "validation.csv")["passed"].all()
    assert result.returncode == (0 if passed else 1)
    for r in table.itertuples():
        assert f"| {r.label} |" in result.stdout and r.result in result.stdout


def test_validate_fails_when_the_record_is_moved_out_of_reach(validated, tmp_path):
    d, _ = validated
    folder = _copy(tmp_path)
    daily = pd.read_csv(folder / DAILY_FILE)
    in_2025 = daily["date"].str.startswith("2025")
    daily.loc[in_2025, "people_arrived"] *= 3  # three times the people in the same boats
    daily.to_csv(folder / DAILY_FILE, index=False)
    result = subprocess.run([str(EXE), "validate", "scenarios/baseline.yaml", "--observed", "2025", "-n", "3",
                             "--quiet", "--record", str(folder), "--out", "results/v"],  # the same runs, reused
                            capture_output=True, text=True, cwd=d, timeout=600)
    assert result.returncode == 1, result.stderr
    table = pd.read_csv(d / "results" / "v" / "patterns.csv").set_index("pattern")
    assert table.loc["people_arrived", "observed"] == 3 * 41472
    assert table.loc["people_arrived", "result"] == "FAIL" and table.loc["people_per_boat", "result"] == "FAIL"
    assert table.loc["boats_arrived", "observed"] == 672  # untouched
    assert "FAIL" in result.stdout


def test_the_report_shows_the_record_beside_the_baseline(validated, tmp_path):
    d, _ = validated
    copy = tmp_path / "copy"
    shutil.copytree(d / "results" / "v", copy, ignore=shutil.ignore_patterns("*.png", "*.csv", "*.md"))
    written = write_report(copy, targets=ROOT / "sim" / "data" / "targets.yaml")
    md = written["md"].read_text()
    assert "## baseline against the observed record of 2025" in md
    assert "| people arriving in the year | people | 41,472 |" in md
    for name in ("patterns", "patterns_daily", "patterns_monthly", "patterns_per_day", "patterns_prevented"):
        assert f"(figures/{name}.png)" in md and (copy / "figures" / f"{name}.png").is_file()
    html = written["html"].read_text()
    assert "lacks the week ending 2025-12-21" in html
    assert html.count("data:image/png;base64,") == len(list((copy / "figures").glob("*.png")))
