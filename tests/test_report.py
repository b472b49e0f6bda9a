"""The policy comparison report, on a small batch."""

from __future__ import annotations

import re

import pytest

from sim.runs.batch import plan_batch, run_batch
from sim.analysis.report import paired_differences, scenario_table, write_report
from sim.outcomes import MEASURES, REPORT_OUTCOMES
from sim.scenario import load_scenario
from sim.runs.store import load_results
from tests.conftest import ROOT, SCENARIOS

#: The shipped targets file (the reported rates of 2025).
TARGETS = next(p for p in (ROOT / "sim" / "data" / "targets.yaml", SCENARIOS / "targets.yaml") if p.is_file())

NAMES = ["baseline", "shallow_water_before_pickup", "drones_doubled"]


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    folder = tmp_path_factory.mktemp("batch")
    plan = plan_batch([load_scenario(SCENARIOS / f"{n}.yaml") for n in NAMES], replications=4, days=45)
    run_batch(folder, plan, workers=2, progress=False)
    return folder, write_report(folder, targets=TARGETS)


def test_report_files_exist(batch):
    folder, written = batch
    assert (folder / "report.md").is_file() and (folder / "report.html").is_file()
    for name in ("differences", "map", "daily", "tradeoff", "validation"):
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
    assert "81 %" in md and "41,472" in md  # the baseline beside the reported rates and their sources


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
    assert len(sources) == 5 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "http://" not in html and "https://" not in html


def test_reported_rates_come_from_the_targets_file_alone(batch, tmp_path):
    """Without a targets file the report has no reported rates; with one, exactly that file's figures."""
    import shutil

    folder, _ = batch
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("figures", "report.*"))
    write_report(copy)
    md = (copy / "report.md").read_text()
    assert "against the reported rates" not in md and "41,472" not in md
    assert not (copy / "figures" / "validation.png").exists()
    targets = tmp_path / "targets.yaml"
    targets.write_text((TARGETS).read_text().replace("reported: 41472", "reported: 41999"))
    shutil.rmtree(copy / "figures")
    write_report(copy, targets=targets)
    md = (copy / "report.md").read_text()
    assert "41,999" in md and (copy / "figures" / "validation.png").is_file()


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
    written = write_report(folder, targets=TARGETS)
    md = (folder / "report.md").read_text()
    assert "baseline against the reported rates" in md and "taxi_share" in md
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


# -- what the report concludes -----------------------------------------------------------


def test_the_ranking_is_sorted_by_crossings_averted_computed_from_the_pairs(batch):
    """Each policy's crossings averted is the mean over seeds of baseline minus policy; the ranking sorts on it."""
    from sim.analysis.findings import ranking

    folder, _ = batch
    s = load_results(folder)["summaries"]
    base = s[s["scenario"] == "baseline"].set_index("seed")["people_crossed"]
    averted = {n: float((base - s[s["scenario"] == n].set_index("seed")["people_crossed"]).mean())
               for n in NAMES[1:]}
    rank = ranking(paired_differences(s, "baseline"))
    assert list(rank["scenario"]) == sorted(averted, key=averted.get, reverse=True)
    for _, r in rank.iterrows():
        assert r["people_crossed"].mean == pytest.approx(averted[r["scenario"]])
    md = (folder / "report.md").read_text()
    rows = re.findall(r"^\| (\d+) \| (\S+) \| ([+-]?[\d,.]+) \[", md, flags=re.M)
    assert [(int(i), name) for i, name, _ in rows] == [(i + 1, n) for i, n in enumerate(rank["scenario"])]


def test_the_summary_names_the_clear_effects_and_only_those(batch):
    """A policy is listed as cutting crossings clearly exactly when its interval of crossings averted is above zero."""
    from sim.analysis.findings import ranking

    folder, _ = batch
    s = load_results(folder)["summaries"]
    rank = ranking(paired_differences(s, "baseline"))
    md = (folder / "report.md").read_text()
    summary = md.split("## Summary")[1].split("##")[0]
    clear = [r["scenario"] for _, r in rank.iterrows() if r["people_crossed"].low > 0]
    assert f"{len(clear)} of {len(rank)} policies cut crossings clearly" in summary
    quiet = summary.split("No clear effect on crossings or deaths:")[-1] if "No clear effect" in summary else ""
    for name in clear:
        assert name not in quiet


def test_the_terminal_ranking_is_written_beside_the_report(batch):
    folder, written = batch
    text = written["ranking"].read_text()
    assert text.startswith("effects in 45 days against baseline, mean [95 % interval]")
    assert all(name in text for name in NAMES[1:])


def test_intervals_stay_inside_the_possible_values(batch):
    """With 4 seeds a t-interval of a rare count reaches below zero; the report's intervals never do."""
    from sim.analysis.stats import interval

    folder, _ = batch
    s = load_results(folder)["summaries"]
    table = scenario_table(s).dropna(subset=["ci_low"])
    shares = table["outcome"].map(lambda k: MEASURES[k].share)
    assert (table["ci_low"] >= 0).all()
    assert (table.loc[shares, "ci_high"] <= 1).all()
    naive = [interval(g["deaths"].to_numpy()).low for _, g in s.groupby("scenario")]
    assert min(naive) < 0 or (table.loc[table["outcome"] == "deaths", "ci_low"] > 0).all()


def test_a_bounded_interval_covers_the_mean_as_often_as_it_claims():
    """Log-scale intervals of a rare Poisson count (mean 3, 8 runs): coverage near 95 % over 4,000 trials."""
    import numpy as np

    from sim.analysis.stats import bounded, interval

    rng = np.random.default_rng(7)
    trials = 4000
    hits = 0
    for _ in range(trials):
        found = bounded(interval(rng.poisson(3.0, 8)), share=False)
        assert found.low >= 0
        hits += found.low <= 3.0 <= found.high
    coverage = hits / trials
    se = np.sqrt(0.95 * 0.05 / trials)
    assert 0.95 - 0.04 - 3 * se <= coverage <= 0.95 + 0.03 + 3 * se  # the delta method's own error, and chance


def test_rates_stay_inside_0_and_1_however_few_runs():
    import numpy as np

    from sim.analysis.stats import bounded, interval

    found = bounded(interval(np.array([0.55, 0.99, 1.0, 0.97])), share=True)
    assert 0 <= found.low < found.mean < found.high <= 1
    assert interval(np.array([0.55, 0.99, 1.0, 0.97])).high > 1  # the t-interval alone leaves [0, 1]


def test_a_sweep_batch_gets_paired_differences_per_sweep_point(tmp_path):
    """Each policy against the baseline at its own sweep point; the baseline's other points against its first."""
    from sim.analysis.findings import ranking

    folder = tmp_path / "sweep"
    scenarios = [load_scenario(SCENARIOS / f"{n}.yaml") for n in ("baseline", "drones_doubled")]
    from sim.runs.batch import parse_sweep

    plan = plan_batch(scenarios, replications=3, days=30, sweeps=[parse_sweep("gendarmerie.personnel_per_day=600,1200")])
    run_batch(folder, plan, workers=2, progress=False)
    s = load_results(folder)["summaries"]
    diffs = paired_differences(s, "baseline")
    pairs = set(zip(diffs["scenario"], diffs["against"]))
    assert pairs == {("drones_doubled [gendarmerie.personnel_per_day=600]", "baseline [gendarmerie.personnel_per_day=600]"),
                     ("drones_doubled [gendarmerie.personnel_per_day=1200]", "baseline [gendarmerie.personnel_per_day=1200]"),
                     ("baseline [gendarmerie.personnel_per_day=1200]", "baseline [gendarmerie.personnel_per_day=600]")}
    col = "sweep.gendarmerie.personnel_per_day"
    a = s[(s["scenario"] == "baseline") & (s[col] == 1200)].set_index("seed")["people_attempted"]
    b = s[(s["scenario"] == "baseline") & (s[col] == 600)].set_index("seed")["people_attempted"]
    got = diffs.set_index(["scenario", "outcome"]).loc[("baseline [gendarmerie.personnel_per_day=1200]", "boats_attempted")]
    boats_a = s[(s["scenario"] == "baseline") & (s[col] == 1200)].set_index("seed")["boats_attempted"]
    boats_b = s[(s["scenario"] == "baseline") & (s[col] == 600)].set_index("seed")["boats_attempted"]
    assert got["mean"] == pytest.approx(float((boats_a - boats_b).mean()))
    assert len(a) == len(b) == 3
    assert len(ranking(diffs)) == 3
    write_report(folder, targets=TARGETS)
    md = (folder / "report.md").read_text()
    assert "2 scenarios x 2 sweep points (gendarmerie.personnel_per_day = 600, 1200) x 3 seeds" in md
    assert "The runs of baseline sweep parameters: they are not compared with the reported rates" in md
    assert "against baseline [gendarmerie.personnel_per_day=600]" in md


def test_an_unknown_baseline_is_one_line_and_exit_2(batch):
    import subprocess
    import sys
    from pathlib import Path

    folder, _ = batch
    exe = Path(sys.executable).parent / "channel-sim"
    result = subprocess.run([str(exe), "report", str(folder), "--baseline", "nosuch"], capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "--baseline nosuch" in result.stderr and "drones_doubled" in result.stderr


def test_figures_of_an_earlier_report_are_removed(batch, tmp_path):
    import shutil

    folder, _ = batch
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    for stale in ("reported.png", "patterns_daily.png"):
        (copy / "figures" / stale).write_bytes(b"\x89PNG\r\n\x1a\nold")
    write_report(copy, targets=TARGETS)
    left = sorted(p.name for p in (copy / "figures").glob("*.png"))
    assert left == ["daily.png", "differences.png", "map.png", "tradeoff.png", "validation.png"]


def test_another_baseline_does_not_move_the_validation(batch, tmp_path):
    """--baseline drones_doubled ranks against drones_doubled; the reported rates still check the calibrated baseline."""
    import shutil

    folder, _ = batch
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    write_report(copy, baseline="drones_doubled", targets=TARGETS)
    md = (copy / "report.md").read_text()
    assert "# Policy comparison against drones_doubled" in md
    assert "## baseline against the reported rates" in md and "drones_doubled against the reported" not in md
    assert "The 4 runs of baseline against the rates" in md


def test_the_first_screen_shows_the_summary_and_the_ranking_in_a_browser(batch, tmp_path):
    """Headless Chromium at 1,400 x 900: no horizontal cut-off, the summary and the whole ranking on the first screen."""
    pytest.importorskip("playwright.sync_api", reason="the test extra installs Playwright")
    from tests.browser import CHROMIUM, HEIGHT, first_screen

    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (make test installs Debian's chromium when it can)")
    folder, _ = batch
    shot = tmp_path / "first-screen.png"
    found = first_screen(folder / "report.html", shot)
    assert found["scroll_width"] <= found["client_width"]
    assert all(t["right"] <= found["client_width"] for t in found["tables"])
    assert found["summary"]["top"] >= 0 and found["summary"]["bottom"] <= HEIGHT
    assert found["ranking"]["bottom"] <= HEIGHT
    assert found["images"] and all(w > 0 and done for w, done in found["images"])  # every figure decoded
    from PIL import Image

    pixels = Image.open(shot).convert("L")
    assert pixels.size == (1400, HEIGHT) and pixels.getextrema()[0] < 100  # text drawn, not a blank page


def test_a_batch_with_a_plan_gets_its_deployment_by_sector_as_the_model_makes_it(batch, tmp_path):
    """A plan (another split of the units and drones over the sectors) gets a section; a batch without one does not."""
    from sim.model import ChannelModel

    folder, written = batch
    assert "Deployments by sector" not in written["md"].read_text() and "deployments" not in written
    plan_file = tmp_path / "plan.yaml"
    plan_file.write_text(f"extends: {SCENARIOS / 'baseline.yaml'}\nname: plan-7\n"
                         "gendarmerie:\n  sector_weights: [3, 3, 1, 1, 1, 1, 1, 1, 1, 1]\n"
                         "surveillance:\n  drone_sector_weights: [0, 0, 1, 1, 1, 1, 1, 1, 2, 4]\n")
    scenarios = [load_scenario(SCENARIOS / "baseline.yaml"), load_scenario(plan_file)]
    run_batch(tmp_path / "b", plan_batch(scenarios, replications=2, days=20), workers=1, progress=False)
    written = write_report(tmp_path / "b")
    md = written["md"].read_text()
    section = md.split("## Deployments by sector", 1)[1].split("\n## ", 1)[0]
    assert written["deployments"].is_file() and "figures/deployments.png" in md
    for scenario in scenarios:
        model = ChannelModel(scenario, seed=0)
        units = " ".join(map(str, model.gendarmerie.units_per_sector))
        drones = [0] * len(units.split())
        for d in model.surveillance.drones:
            drones[d.sector] += 1
        model.close()
        row = next(line for line in section.splitlines() if line.startswith(f"| {scenario.name} |"))
        assert f"| {units} ({len(model.gendarmerie.units)}) | {' '.join(map(str, drones))} ({sum(drones)}) |" in row
    rank = next(line for line in md.split("## Ranking", 1)[1].splitlines() if "plan-7" in line)
    effect = rank.split("|")[3].strip()  # crossings averted, as the ranking shows it
    assert effect in section
