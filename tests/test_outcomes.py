"""The outcome vocabulary: record types whose fields are the tables' columns, and one list of labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.model import ChannelModel
from sim.outcomes import (BOAT_COLUMNS, DAY_COLUMNS, DAY_COUNT_COLUMNS, MEASURES, REPORT_OUTCOMES, RUN_TABLE,
                          SENSITIVITY_OUTCOMES, SUMMARY_KEYS, BoatRecord, DayRecord, Outcome, dtypes, frame)
from sim.scenario import Scenario


@pytest.fixture(scope="module")
def run():
    # 40 days of summer (a winter start can see no launch for weeks)
    return ChannelModel(Scenario(name="t", start_date="2025-06-01", days=40,
                                 policy={"shallow_water_interception": "up_to_300m"}), 3).run()


def _kind(dtype) -> str:
    return "str" if pd.api.types.is_string_dtype(dtype) else str(dtype)


@pytest.mark.parametrize("record, table", [(BoatRecord, "boats_frame"), (DayRecord, "daily_frame")])
def test_tables_have_their_records_fields_and_declared_dtypes(run, record, table):
    df = getattr(run, table)()
    assert len(df) > 0
    assert list(df.columns) == list(record._fields)
    assert {c: _kind(df[c].dtype) for c in df.columns} == dtypes(record)


def test_a_record_is_one_row_of_its_table(run):
    """The first boat of the run, read back by name, is the record the model wrote."""
    boats = run.boats_frame()
    first = min(run._records, key=lambda r: r.boat_id)
    row = boats.iloc[0]
    for name in BOAT_COLUMNS:
        value = row[name]
        expected = getattr(first, name)
        assert (value.date() if name == "date" else value) == expected, name


def test_daily_counts_are_counted_from_the_boats(run):
    daily, boats = run.daily_frame(), run.boats_frame()
    assert DAY_COUNT_COLUMNS == ("boats_attempted", *(f"boats_{o.value}" for o in Outcome),
                                 "people_attempted", "people_crossed", "deaths", "boats_arrived", "people_arrived")
    assert daily["boats_attempted"].sum() == len(boats)
    assert daily["boats_crossed"].sum() == (boats["outcome"] == "crossed").sum()


def test_arrivals_are_counted_on_the_uk_date_they_land(run):
    """As the Home Office counts: a night's boats land after midnight, so on the next date, and only crossed boats."""
    daily, boats = run.daily_frame(), run.boats_frame()
    crossed = boats[boats["outcome"] == "crossed"]
    assert (boats.loc[boats["outcome"] != "crossed", "landed_day"] == -1).all()
    lag = crossed["landed_day"] - crossed["day"]
    assert lag.isin([0, 1]).all() and (lag == 1).mean() > 0.9  # launched in the night, ashore the next morning
    within = crossed[crossed["landed_day"] < len(daily)]
    assert daily["boats_arrived"].sum() == len(within)
    assert daily["people_arrived"].sum() == (within["people"] - within["deaths"]).sum()
    by_date = within.assign(p=within["people"] - within["deaths"]).groupby("landed_day")["p"].sum()
    assert daily.loc[by_date.index, "people_arrived"].tolist() == by_date.tolist()
    assert DAY_COLUMNS[: len(DAY_COLUMNS) - len(DAY_COUNT_COLUMNS)] == tuple(
        n for n in DAY_COLUMNS if n not in DAY_COUNT_COLUMNS)


def test_an_empty_table_keeps_its_columns_and_dtypes():
    df = frame(BoatRecord, [])
    assert list(df.columns) == list(BOAT_COLUMNS) and len(df) == 0
    assert {c: _kind(df[c].dtype) for c in df.columns} == dtypes(BoatRecord)


def test_every_numeric_summary_key_has_a_label_and_unit():
    numeric = [k for k in SUMMARY_KEYS if k not in ("days", "seed", "scenario")]
    assert sorted(MEASURES) == sorted(numeric)
    for key, m in MEASURES.items():
        assert m.label and m.unit and (m.part_of is None or m.part_of in MEASURES), key
    for selection in (REPORT_OUTCOMES, RUN_TABLE, SENSITIVITY_OUTCOMES):
        assert set(selection) <= set(MEASURES)
    assert len({m.label for m in MEASURES.values()}) == len(MEASURES)  # no two outcomes read alike


def test_the_cli_help_names_the_default_sensitivity_outcomes():
    from sim.cli import build_parser

    sens = build_parser()._subparsers._group_actions[0].choices["sensitivity"]
    text = " ".join(sens.format_help().split())
    assert ", ".join(SENSITIVITY_OUTCOMES) in text


def test_a_stop_on_land_is_one_prevention_event_per_party(run):
    """As the French count stops: each party a group hid in (operations.party_size) is an event."""
    boats = run.boats_frame()
    size = run.inputs.operations.party_size
    land = boats[boats["outcome"] == "prevented_on_land"]
    assert len(land) and (land["prevention_events"] == np.ceil(land["people"] / size)).all()
    assert (boats.loc[boats["outcome"].isin(["crossed", "failed_at_sea"]), "prevention_events"] == 0).all()
