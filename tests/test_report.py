"""The policy comparison report, on a small batch."""

from __future__ import annotations

import re

import pytest

from sim.runs.batch import plan_batch, run_batch
from sim.analysis.report import paired_differences, scenario_table, write_report
from sim.outcomes import MEASURES, REPORT_OUTCOMES
from sim.scenario import load_scenario
from sim.runs.store import load_results
from tests.conftest import SCENARIOS

NAMES = ["baseline", "shallow_water_before_pickup", "drones_doubled"]


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    folder = tmp_path_factory.mktemp("batch")
    plan = plan_batch([load_scenario(SCENARIOS / f"{n}.yaml") for n in NAMES], replications=4, days=45)
    run_batch(folder, plan, workers=2, progress=False)
    return folder, write_report(folder, targets=SCENARIOS / "targets.yaml")


def test_report_files_exist(batch):
    folder, written = batch
    assert (folder / "report.md").is_file() and (folder / "report.html").is_file()
    for name in ("reported", "differences", "map", "daily", "tradeoff", "validation"):
        png = folder / "figures" / f"{name}.png"
        assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_every_scenario_is_in_the_report(batch):
    folder, _ = batch
    md = (folder / "report.md").read_text()
    html = (folder / "report.html").read_text()
    for name in NAMES:
        assert name in md and name in html
    for key in REPORT_OUTCOMES:
        assert MEASURES[key].label in md
    assert "81 %" in md and "41,472" in md  # reported rates beside the simulated ones


def test_runs_short_of_a_year_are_not_compared_with_the_observed_record(batch):
    """45-day runs cover no whole year: the report says so, with no pattern table or figure."""
    folder, _ = batch
    md = (folder / "report.md").read_text()
    assert "The runs of baseline cover no whole year of the observed record (2018 to 2025)" in md
    assert "patterns" not in md and not list((folder / "figures").glob("patterns*.png"))


def test_html_is_self_contained(batch):
    folder, _ = batch
    html = (folder / "report.html").read_text()
    sources = re.findall(r"src='([^']*)'", html) + re.findall(r'src="([^"]*)"', html)
    assert len(sources) == 6 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "http://" not in html and "https://" not in html


def test_reported_rates_come_from_the_targets_file_alone(batch, tmp_path):
    """Without a targets file the report has no reported rates; with one, exactly that file's figures."""
    import shutil

    folder, _ = batch
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("figures", "report.*"))
    write_report(copy)
    md = (copy / "report.md").read_text()
    assert "Reported rates" not in md and "41,472" not in md and not (copy / "figures" / "reported.png").exists()
    targets = tmp_path / "targets.yaml"
    targets.write_text((SCENARIOS / "targets.yaml").read_text().replace("reported: 41472", "reported: 41999"))
    shutil.rmtree(copy / "figures")
    write_report(copy, targets=targets)
    md = (copy / "report.md").read_text()
    assert "41,999" in md and (copy / "figures" / "reported.png").is_file()


def test_markdown_links_its_figures(batch):
    folder, _ = batch
    md = (folder / "report.md").read_text()
    for link in re.findall(r"\]\((figures/[^)]+)\)", md):
        assert (folder / link).is_file()


def test_confidence_intervals_are_ordered(batch):
    folder, _ = batch
    s = load_results(folder)["summaries"]
    table = scenario_table(s)
    assert set(table["scenario"]) == set(NAMES)
    varying = table[table["ci_high"] > table["ci_low"]]
    assert len(varying) > len(table) / 2
    ok = table.dropna(subset=["ci_low"])
    assert (ok["ci_low"] <= ok["mean"]).all() and (ok["mean"] <= ok["ci_high"]).all()
    diffs = paired_differences(s, "baseline")
    assert set(diffs["scenario"]) == {"shallow_water_before_pickup", "drones_doubled"}
    ok = diffs.dropna(subset=["ci_low"])
    assert (ok["ci_low"] <= ok["mean"]).all() and (ok["mean"] <= ok["ci_high"]).all()


def test_paired_differences_match_the_pairs(batch):
    folder, _ = batch
    s = load_results(folder)["summaries"]
    diffs = paired_differences(s, "baseline").set_index(["scenario", "outcome"])
    a = s[s["scenario"] == "drones_doubled"].set_index("replication")["people_prevented"]
    b = s[s["scenario"] == "baseline"].set_index("replication")["people_prevented"]
    assert diffs.loc[("drones_doubled", "people_prevented"), "mean"] == pytest.approx((a - b).mean())


def test_report_cli_on_a_folder_without_runs(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    exe = Path(sys.executable).parent / "channel-sim"
    result = subprocess.run([str(exe), "report", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 2 and "no batch results" in result.stderr and "Traceback" not in result.stderr


def test_report_compares_the_baseline_with_the_targets(batch, tmp_path):
    folder, _ = batch
    written = write_report(folder, targets=SCENARIOS / "targets.yaml")
    md = (folder / "report.md").read_text()
    assert "Validation of baseline" in md and "taxi_share" in md
    assert written["validation"].is_file()


def test_an_unfinished_batch_is_refused_unless_partial(batch, tmp_path):
    """Runs missing, damaged, or a batch still writing: the report names it and stops, or says so with --partial."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    import pandas as pd

    from sim.errors import StoreError
    from sim.runs.store import BatchLock

    folder, _ = batch
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("figures", "report.*"))
    summaries = load_results(copy)["summaries"]
    gone = summaries[(summaries["scenario"] == "drones_doubled") & (summaries["replication"] == 2)]["run"].item()
    (copy / "runs" / f"{gone}.summary.parquet").unlink()
    with pytest.raises(StoreError, match=r"1 of 12 runs missing \(drones_doubled replication 2\)"):
        write_report(copy)
    exe = Path(sys.executable).parent / "channel-sim"
    refused = subprocess.run([str(exe), "report", str(copy)], capture_output=True, text=True)
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert "--partial" in refused.stderr and "Traceback" not in refused.stderr
    write_report(copy, partial=True)
    md = (copy / "report.md").read_text()
    assert "PARTIAL REPORT: 1 of 12 runs missing (drones_doubled replication 2)" in md and "11 runs" in md

    damaged = summaries["run"].iloc[0]
    pd.DataFrame({"x": [1]}).to_parquet(copy / "runs" / f"{damaged}.daily.parquet")
    with pytest.raises(StoreError, match=r"1 damaged \(.*daily\.parquet: checksum differs"):
        write_report(copy)

    shutil.rmtree(copy)
    shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("figures", "report.*"))
    write_report(copy)  # finished: no complaint
    with BatchLock(copy):
        with pytest.raises(StoreError, match="a batch is still writing here"):
            write_report(copy)


def test_a_report_that_cannot_be_written_leaves_the_old_one_whole(batch, tmp_path, monkeypatch):
    """The disk fills while the new report is written: the good report.html stays as it was."""
    import shutil

    import sim.analysis.output as output

    folder, _ = batch
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    good = (copy / "report.html").read_bytes()
    real_open = open

    def full_disk(path, mode="r", *args, **kwargs):
        fh = real_open(path, mode, *args, **kwargs)
        if "w" in mode and str(path).endswith(".tmp") and "report.html" in str(path):
            fh.write(b"<!DOCTYPE html><html>cut sh")
            fh.close()
            raise OSError(28, "No space left on device", str(path))
        return fh

    monkeypatch.setattr(output, "open", full_disk, raising=False)
    with pytest.raises(OSError):
        write_report(copy)
    assert (copy / "report.html").read_bytes() == good
    assert not list(copy.glob(".report.html.*.tmp"))
