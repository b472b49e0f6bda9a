"""The README's figures against what the commands and files beside them give.

Figures read from a shipped file (the targets, the record of the posterior's calibration, the fitted
parameters, the shipped defaults, the observed record, the benchmark's record) must match it to the
precision the README prints. Figures made by runs are recomputed from the runs the README's command
makes (the same seeds, through the same functions), and each is held to a tolerance taken from the
spread of those runs, plus half of the last digit the README prints:

* a mean, to two standard errors of the mean;
* the ends of a 95 % interval, to that and three standard errors of the runs' standard deviation
  (its relative standard error is 1 / sqrt(2 (n - 1)));
* a median or percentile of the runs, to two bootstrap standard errors;
* a pass, near or FAIL, exactly.

Not recomputed here, for their cost: the structure comparison over the posterior (360 runs), the
sensitivity screening (248 runs) and the calibrations (thousands of runs).
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import ROOT, SCENARIOS

README = (ROOT / "README.md").read_text(encoding="utf-8")
WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
         "ten": 10}


# -- reading the README ------------------------------------------------------------------------


def section(title: str) -> str:
    """The text of the README's section ``## title``, up to the next section."""
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end if end > 0 else None]


def prose(text: str) -> str:
    """Text with its line breaks as spaces, for phrases that wrap."""
    return re.sub(r"\s+", " ", text)


def find(text: str, pattern: str) -> str:
    """The first group of ``pattern`` in ``text`` (lines joined), or a failure naming the pattern."""
    found = re.search(pattern, prose(text))
    assert found, f"README: no match for {pattern!r}"
    return found.group(1)


def table(text: str, header_start: str) -> list[list[str]]:
    """The body rows of the first Markdown table in ``text`` whose header starts with ``header_start``."""
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[at + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return rows


class Figure:
    """A number as the README prints it: its value and half of its last digit."""

    def __init__(self, text: str):
        text = text.strip()
        self.text = text
        share = text.endswith("%")
        digits = text.removesuffix("%").strip().lstrip("+").replace(",", "")
        decimals = len(digits.split(".")[1]) if "." in digits else 0
        scale = 0.01 if share else 1.0
        self.value = float(digits) * scale
        self.half_unit = 0.5 * 10.0 ** -decimals * scale

    def near(self, value: float, tolerance: float) -> bool:
        return abs(self.value - value) <= tolerance + self.half_unit + 1e-12

    def __repr__(self) -> str:
        return self.text


def interval_cell(cell: str) -> tuple[Figure, Figure, Figure]:
    """``'39,907 [38,899, 40,941]'`` (any trailing remark dropped) as three figures."""
    found = re.match(r"^(\S+(?: %)?) \[(\S+(?: %)?), (\S+(?: %)?)\]", cell)
    assert found, f"README: not a value with its interval: {cell!r}"
    return tuple(Figure(g) for g in found.groups())


def check_mean_interval(where: str, cell: str, mean: float, low: float, high: float, values: np.ndarray):
    """A README cell 'mean [low, high]' against a fresh mean and interval of ``values``' runs."""
    m, lo, hi = interval_cell(cell)
    n = len(values)
    se = float(np.std(values, ddof=1) / np.sqrt(n))
    ends = 2 * se + 3 * (high - low) / 2 / np.sqrt(2 * (n - 1))
    assert m.near(mean, 2 * se), f"{where}: README {m}, runs {mean:,.4g} (+- {2 * se:,.3g})"
    assert lo.near(low, ends) and hi.near(high, ends), (
        f"{where}: README [{lo}, {hi}], runs [{low:,.4g}, {high:,.4g}] (+- {ends:,.3g})")


# -- the runs the README's commands make ---------------------------------------------------------


def _default(key: str):
    """A scenario key's shipped default."""
    from sim.scenario import Scenario, get_key

    return get_key(Scenario().model_dump(), key)


def targets_file():
    """The shipped targets, wherever this tree keeps them."""
    return next(p for p in (ROOT / "sim" / "data" / "targets.yaml", SCENARIOS / "targets.yaml") if p.is_file())


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """`validate scenarios/baseline.yaml --observed 2025 -n 40`, `validate scenarios/baseline_2024.yaml
    --observed 2024 -n 40` and the structure batch of "What drives crossings" (-n 20, whose baseline
    runs are the first 20 of the 40: the same seeds and scenario)."""
    from sim.runs.batch import plan_batch, replication_seeds, run_batch
    from sim.runs.store import load_results
    from sim.scenario import load_scenario

    folder = tmp_path_factory.mktemp("readme")
    years = plan_batch([load_scenario(SCENARIOS / "baseline.yaml"), load_scenario(SCENARIOS / "baseline_2024.yaml")],
                       replications=40)
    structure = plan_batch([load_scenario(SCENARIOS / "structure" / f"{n}.yaml")
                            for n in ("no_land_enforcement", "land_enforcement_doubled")], replications=20)
    run_batch(folder / "years", years, workers=2, progress=False)
    run_batch(folder / "structure", structure, workers=2, progress=False)
    assert replication_seeds(0, 40)[:20] == replication_seeds(0, 20)
    return load_results(folder / "years"), load_results(folder / "structure")["summaries"]


def scenario_tables(results, name: str):
    keep = lambda df: df[df["scenario"] == name]  # noqa: E731
    return keep(results["summaries"]), keep(results["daily"]), keep(results["boats"])


# -- Calibration: the baseline against the reported rates ---------------------------------------


def test_calibration_table_is_what_validate_gives(runs):
    from sim.analysis.validation import compare, load_targets, simulated

    text = section("Calibration: the baseline against the reported rates")
    assert "channel-sim validate scenarios/baseline.yaml --observed 2025 -n 40" in prose(text)
    summaries, _, _ = scenario_tables(runs[0], "baseline")
    assert len(summaries) == 40
    targets = load_targets(targets_file())
    fresh = compare(summaries, targets)
    rows = table(text, "| quantity | reported | band |")
    assert len(rows) == len(targets)
    for row, target, (_, found) in zip(rows, targets, fresh.iterrows()):
        low, high = (Figure(v) for v in re.split(r"(?<=\d)-(?=\d)", row[2]))
        assert (low.value, high.value) == tuple(target.band), f"{row[0]}: band {row[2]}, targets {target.band}"
        check_mean_interval(row[0], row[3], found["mean"], found["ci_low"], found["ci_high"],
                            simulated(summaries, target).to_numpy())


def test_people_who_came_left_and_crossed_are_the_same_runs(runs):
    text = section("Calibration: the baseline against the reported rates")
    summaries, _, _ = scenario_tables(runs[0], "baseline")
    for pattern, key in [(r"([\d,]+) people come to the camps", "people_came_to_camps"),
                         (r"([\d,]+) of them leave the coast", "people_left_coast"),
                         (r"and ([\d,]+) cross", "people_crossed")]:
        figure, values = Figure(find(text, pattern)), summaries[key].to_numpy(dtype=float)
        se = values.std(ddof=1) / np.sqrt(len(values))
        assert figure.near(values.mean(), 2 * se + 50), f"{key}: README {figure}, runs {values.mean():,.0f}"
    assert Figure(find(text, r"`camps.inflow_per_day`, (\d+) a day")).near(_default("camps.inflow_per_day"), 0)


# -- What drives crossings -----------------------------------------------------------------------


def test_structure_at_the_shipped_point_is_what_its_batch_gives(runs):
    from sim.analysis.stats import interval

    text = section("What drives crossings")
    assert "scenarios/structure/land_enforcement_doubled.yaml -n 20 --out results/structure" in text
    years, structure = runs
    base = years["summaries"][years["summaries"]["scenario"] == "baseline"]
    base = base[base["seed"].isin(structure["seed"])]
    assert len(base) == 20
    rows = {r[0]: r for r in table(text, "| | at the shipped point (20 seeds) |")}
    names = {"no land enforcement": "no_land_enforcement", "land enforcement doubled": "land_enforcement_doubled"}
    keys = {"people crossed": "people_crossed", "people who left the coast": "people_left_coast",
            "people who came to the camps": "people_came_to_camps"}
    assert rows, "README: no structure table"

    def effect(scenario: str, key: str) -> tuple[np.ndarray, float]:
        pairs = structure[structure["scenario"] == scenario].merge(base, on="seed", suffixes=("", "_base"))
        assert len(pairs) == 20
        return (pairs[key] - pairs[f"{key}_base"]).to_numpy(dtype=float), float(pairs[f"{key}_base"].mean())

    for label, row in rows.items():
        who, what = label.split(": ")
        diff, base_mean = effect(names[who], keys[what])
        found = interval(diff)
        check_mean_interval(label, row[1], found.mean, found.low, found.high, diff)
        share = re.search(r"\(([+-]\d+(?:\.\d+)? %)\)", row[1])
        if share:
            se = diff.std(ddof=1) / np.sqrt(len(diff))
            assert Figure(share.group(1)).near(found.mean / base_mean, 2 * se / base_mean), (
                f"{label}: README {share.group(1)}, runs {found.mean / base_mean:+.1%}")

    diff, _ = effect("no_land_enforcement", "people_waiting_mean")
    fewer = Figure(find(text, r"and ([\d,]+) fewer are waiting on an average day"))
    assert fewer.near(-diff.mean(), 2 * diff.std(ddof=1) / np.sqrt(len(diff))), (fewer, diff.mean())


# -- A coast that surges, and the observed record ------------------------------------------------


def _bootstrap_sd(observed: dict, simulated: pd.DataFrame, draws: int = 200) -> pd.DataFrame:
    """Bootstrap standard errors of each pattern's median and 90 % interval over the runs."""
    from sim.analysis.patterns import judge

    rng = np.random.default_rng(0)
    tables = [judge(observed, simulated.iloc[rng.integers(0, len(simulated), len(simulated))])
              .set_index("pattern")[["median", "low90", "high90"]] for _ in range(draws)]
    return pd.concat(tables).groupby(level=0).std()


def test_surge_table_is_what_the_two_validations_give(runs):
    from sim.analysis.observed import load_record
    from sim.analysis.patterns import compare_record

    text = section("A coast that surges")
    flat = prose(text)
    assert "channel-sim validate scenarios/baseline.yaml --observed 2025 -n 40" in flat
    assert "channel-sim validate scenarios/baseline_2024.yaml --observed 2024 -n 40" in flat
    rows = table(text, "| pattern | 2025 record |")
    record = load_record()
    for year, name, columns in [(2025, "baseline", (1, 2, 3)), (2024, "baseline_2024", (4, 5, 6))]:
        _, daily, boats = scenario_tables(runs[0], name)
        cmp = compare_record(record, daily, boats, year)
        fresh = cmp.table.set_index("label")
        spread = _bootstrap_sd(cmp.observed, cmp.simulated)
        assert len(rows) == len(fresh), f"{year}: README {len(rows)} patterns, validate {len(fresh)}"
        for row in rows:
            label = row[0]
            assert label in fresh.index, f"README: pattern {label!r} is not one validate prints"
            f = fresh.loc[label]
            sd = spread.loc[f["pattern"]]
            observed, runs_cell, result = (row[c] for c in columns)
            assert Figure(observed).near(f["observed"], 0), f"{year}, {label}: record {observed}, {f['observed']}"
            median, low, high = interval_cell(runs_cell)
            for figure, key in [(median, "median"), (low, "low90"), (high, "high90")]:
                assert figure.near(f[key], 2 * sd[key]), (
                    f"{year}, {label}, {key}: README {figure}, runs {f[key]:,.4g} (+- {2 * sd[key]:,.3g})")
            assert result == f["result"], f"{year}, {label}: README {result}, validate {f['result']}"
        counts = cmp.verdict.counts
        if year == 2025:
            assert cmp.verdict.passed
            found = re.search(r"\((\d+) pass, (\w+) near: the share arriving July to December, (\d+(?:\.\d+)? %) against "
                              r"(\d+(?:\.\d+)? %); exit 0\)", flat)
            assert found, "README: no verdict of 2025"
            assert int(found.group(1)) == counts["pass"] and WORDS[found.group(2)] == counts["near"]
            july = fresh.loc["arriving July to December"]
            assert Figure(found.group(3)).near(july["median"], 2 * spread.loc[july["pattern"], "median"])
            assert Figure(found.group(4)).near(july["observed"], 0)
        else:
            assert not cmp.verdict.passed
            assert WORDS[find(text, r"there\), fails (\w+) patterns \(exit 1\)")] == counts["FAIL"]


def test_the_records_figures_are_the_records():
    from sim.analysis.observed import load_record
    from sim.analysis.patterns import record_patterns

    text = section("A coast that surges")
    record = load_record()
    _, observed = record_patterns(record, 2025)
    assert Figure(find(text, r"in 2025 they arrived on (\d+ %) of the days")).near(observed["arrival_day_share"], 0)
    assert WORDS[find(text, r"(\w+) boats on the median arrival day")] == observed["boats_per_arrival_day_median"]
    assert Figure(find(text, r"up to (\d+) on one day")).near(observed["largest_day_boats"], 0)
    assert WORDS[find(text, r"with (\w+) weeks in a row without any")] == observed["longest_run_without_arrivals"] / 7
    days = record.daily[(record.daily["date"].dt.year == 2025) & (record.daily["boats_arrived"] > 0)]
    per_boat = days["people_arrived"] / days["boats_arrived"]
    few, many = days["boats_arrived"] <= 2, days["boats_arrived"] >= 10
    assert Figure(find(text, r"people per boat: (\d+) on days of one or two boats")).near(per_boat[few].mean(), 0)
    assert Figure(find(text, r"(\d+) on days of ten or more")).near(per_boat[many].mean(), 0)


def test_the_shipped_values_are_the_defaults():
    text = section("A coast that surges")
    for pattern, key in [(r"day-to-day persistence (\d+(?:\.\d+)?)", "weather.persistence"),
                         (r"seasonal amplitude (\d+(?:\.\d+)?)", "weather.seasonal_amplitude"),
                         (r"\(log error (\d+(?:\.\d+)?)\)", "weather.forecast_error"),
                         (r"(\d+ %) of them take the coast's common reading", "networks.decide_together"),
                         (r"push aboard in part \((\d+ %) of the excess\)", "networks.boarding_crowding"),
                         (r"`operations.party_size`, (\d+)\)", "operations.party_size"),
                         (r"`inflow_per_day` (\d+(?:\.\d+)?)", "camps.inflow_per_day"),
                         (r"`leave_after_failure` (\d+(?:\.\d+)?)", "camps.leave_after_failure"),
                         (r"`leave_per_week` (\d+(?:\.\d+)?)", "camps.leave_per_week"),
                         (r"`response_elasticity` (\d+(?:\.\d+)?)", "camps.response_elasticity"),
                         (r"with a weekly hazard of (\d+(?:\.\d+)? %)", "camps.leave_per_week")]:
        assert Figure(find(text, pattern)).near(_default(key), 0), (pattern, _default(key))
    crossings = section("What drives crossings")
    assert Figure(find(crossings, r"the shipped point has one of (\d+(?:\.\d+)?)")).near(
        _default("camps.response_elasticity"), 0)


def test_the_posteriors_figures_are_its_record():
    info = json.loads((ROOT / "sim" / "data" / "posterior.json").read_text())
    fitted = yaml.safe_load((ROOT / "sim" / "data" / "fitted.yaml").read_text())["parameters"]
    text = section("A coast that surges")
    block = re.search(r"```\n(channel-sim calibrate [^`]*?--parameters sim/data/fitted.yaml[^`]*?)```", text)
    assert block, "README: no command of the posterior's calibration"
    assert " ".join(block.group(1).replace("\\\n", " ").split()) == info["command"]
    flat = prose(text)
    assert Figure(find(text, r"([\d,]+) one-year runs \(about")).value == info["simulations"]
    assert Figure(find(text, r"the (\d+) closest to the (\w+) annual targets")).value == info["population"]
    stats = info["statistics"]
    annual = [k for k in stats if not k.startswith("pattern.")]
    assert WORDS[find(text, r"closest to the (\w+) annual targets")] == len(annual)
    assert Figure(find(text, r"annual targets and the (\d+) patterns of 2025 kept")).value == len(stats) - len(annual)
    assert f"the {len(fitted)} parameters of `sim/data/fitted.yaml`" in flat
    p = info["parameters"]
    flow = p["camps.inflow_per_day"]
    assert Figure(find(text, r"flow \(median (\d+) a day")).near(flow["median"], 0)
    low, high = find(text, r"median \d+ a day, 90 % interval (\d+-\d+)").split("-")
    assert Figure(low).near(flow["q05"], 0) and Figure(high).near(flow["q95"], 0)
    assert find(text, r"a day, 90 % interval \d+-\d+, prior (\d+-\d+)") == "-".join(f"{v:.0f}" for v in flow["prior"])
    widths = {k: (v["q95"] - v["q05"]) / (v["prior"][1] - v["prior"][0]) for k, v in p.items()}
    assert Figure(find(text, r"prior \d+-\d+: (\d+ %) of the prior's width")).near(widths["camps.inflow_per_day"], 0)
    others = [w for k, w in widths.items() if k != "camps.inflow_per_day"]
    assert int(find(text, r"leaves the other (\d+) parameters")) == len(others)
    at = re.search(r"90 % intervals at (\d+ %) to (\d+ %) of their priors' widths", flat)
    assert at and Figure(at.group(1)).near(min(others), 0) and Figure(at.group(2)).near(max(others), 0)
    elasticity = p["camps.response_elasticity"]
    assert Figure(find(text, r"shifted towards low values \(median (\d+(?:\.\d+)?)\)")).near(elasticity["median"], 0)
    crossings = section("What drives crossings")
    low, high = find(crossings, r"the elasticity spans its prior \(90 % interval (\d+(?:\.\d+)?-\d+(?:\.\d+)?)").split("-")
    assert Figure(low).near(elasticity["q05"], 0) and Figure(high).near(elasticity["q95"], 0)


def test_the_percentiles_of_few_runs_miss_as_often_as_the_readme_says():
    """Outside the 5th-95th percentiles of n runs (interpolated, as the criterion takes them), by chance."""
    text = section("Validating against the observed record")
    rng = np.random.default_rng(0)
    for n, pattern in [(20, r"with 20 runs a right model's value falls outside the runs' 5th-95th percentiles "
                            r"about (\d+ %)"),
                       (40, r"of the time, with 40 about (\d+ %)")]:
        draws = rng.standard_normal((20_000, n + 1))
        low, high = np.quantile(draws[:, :n], [0.05, 0.95], axis=1)
        outside = float(((draws[:, n] < low) | (draws[:, n] > high)).mean())
        assert Figure(find(text, pattern)).near(outside, 0.01), (n, outside)  # "about": to a point


# -- Speed -------------------------------------------------------------------------------------


def test_speed_figures_are_the_benchmarks_record():
    bench = json.loads((ROOT / "benchmarks" / "results.json").read_text())
    text = section("Speed")
    flat = prose(text)
    assert bench["measured"].split()[1][:5] in flat and bench["measured"].split()[0] in flat
    years = bench["seconds_per_year"]
    assert Figure(find(text, r"on one core \((\d+(?:\.\d+)?) s;")).near(years["baseline"], 0)
    assert Figure(find(text, r"the shipped scenarios (\d+(?:\.\d+)?) to")).near(min(years.values()), 0)
    assert Figure(find(text, r"the shipped scenarios \d+(?:\.\d+)? to (\d+(?:\.\d+)?) s")).near(max(years.values()), 0)
    assert Figure(find(text, r"\(exponent (\d+(?:\.\d+)?) over 1, 2 and 5 years\)")).near(
        bench["scaling"]["days"]["exponent"], 0)
    assert Figure(find(text, r"boat attempts \((\d+(?:\.\d+)?)\)")).near(bench["scaling"]["inflow"]["exponent_in_boats"], 0)
    assert Figure(find(text, r"replications takes (\d+) s on 2 workers")).near(bench["policy_batch"]["seconds"], 0)
    throughput = bench["throughput"]
    speedup = throughput["two_workers"]["runs_per_second"] / throughput["one_worker"]["runs_per_second"]
    assert Figure(find(text, r"batch (\d+(?:\.\d+)?) times as fast as one")).near(speedup, 0)
    assert Figure(find(text, r"parallel efficiency (\d+ %)")).near(throughput["parallel_efficiency"], 0)
    rounds = throughput["efficiency_by_round"]
    assert Figure(find(text, r"rounds (\d+) to \d+")).near(100 * min(rounds), 0)
    assert Figure(find(text, r"rounds \d+ to (\d+)")).near(100 * max(rounds), 0)
    memory = bench["memory"]
    assert Figure(find(text, r"\((\d+) MB for 10 runs")).near(memory["batch_small"]["peak_memory_mb"], 0)
    assert Figure(find(text, r"(\d+) MB for 200")).near(memory["batch_large"]["peak_memory_mb"], 0)
