"""Scenario discovery (channel-sim discover): PRIM finds a planted region, pairs runs as the batch ran them,
and refuses bad input in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

pytest.importorskip("ema_workbench")

from sim.analysis.discovery import discover, paired_runs, parameter_values, point_cuts  # noqa: E402
from sim.runs.batch import plan_batch, run_batch  # noqa: E402
from sim.runs.posterior import SHIPPED, load_posterior  # noqa: E402
from sim.runs.store import load_results  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402
from tests.conftest import SCENARIOS  # noqa: E402

EXE = Path(sys.executable).parent / "channel-sim"
POLICY = "shallow_water_before_pickup"

#: The planted region: the policy fails where a > 0.5, b < 0.6 and d > 0.3 (c and e play no part).
PLANTED = {"a": (0.5, 1.0), "b": (0.0, 0.6), "d": (0.3, 1.0)}


def cli(*args, cwd=None):
    return subprocess.run([str(EXE), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300)


def synthetic_summaries(seed: int, draws: int = 300, replications: int = 2) -> pd.DataFrame:
    """A batch's summaries made up: the policy cuts crossings by 20 % (+-3 % by chance per run), but by 4 % in
    the planted region, so a cut of 10 % fails exactly there."""
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(rng.uniform(0, 1, (draws, 5)), columns=list("abcde"))
    planted = np.ones(draws, dtype=bool)
    for name, (low, high) in PLANTED.items():
        planted &= (x[name] > low) & (x[name] < high)
    rows = []
    for d in range(draws):
        params = {f"draw.{k}": x.loc[d, k] for k in x.columns}
        for r in range(replications):
            base = 1000 + rng.normal(0, 50)
            cut = (0.04 if planted[d] else 0.20) + rng.normal(0, 0.03)
            for name, value in (("baseline", base), (POLICY, base * (1 - cut))):
                rows.append({"scenario": name, "draw": d, **params, "replication": r, "seed": 100 + r,
                             "run": f"{name}-{d}-{r}", "people_crossed": value})
    return pd.DataFrame(rows).sample(frac=1.0, random_state=seed).reset_index(drop=True), planted


@pytest.mark.parametrize("seed", [1, 2])
def test_prim_recovers_a_planted_region(seed):
    summaries, planted = synthetic_summaries(seed)
    pairs = paired_runs(summaries, POLICY, "baseline", "people_crossed")
    points = point_cuts(pairs, 10.0).join(parameter_values(summaries, POLICY, "baseline"))
    assert (points["fails"].to_numpy() == planted).mean() > 0.97  # chance decides only a few near the cut
    found = discover(points[list("abcde")], points["fails"].to_numpy(), resamples=10, seed=seed)
    assert found.coverage > 0.8 and found.density > 0.8
    limits = found.limits.set_index("parameter")
    assert set(limits.index) == set(PLANTED)  # the two that play no part are not restricted
    spacing = 1.0 / np.sqrt(planted.sum())  # about the gap between neighbouring failing points on one axis
    for name, (low, high) in PLANTED.items():
        assert abs(limits.loc[name, "low"] - low) < max(0.05, 3 * spacing) or low == 0.0
        assert abs(limits.loc[name, "high"] - high) < max(0.05, 3 * spacing) or high == 1.0
        assert np.nanmin(limits.loc[name, ["qp_low", "qp_high"]].to_numpy(float)) < 0.05
    inside = found.inside
    assert (inside & planted).sum() / planted.sum() == pytest.approx(found.coverage)
    assert found.found_again > 0.8
    assert all(limits["recurs"] > 0.8)


def test_a_trajectory_trades_coverage_for_density():
    summaries, _ = synthetic_summaries(3, draws=200)
    pairs = paired_runs(summaries, POLICY, "baseline", "people_crossed")
    points = point_cuts(pairs, 10.0).join(parameter_values(summaries, POLICY, "baseline"))
    found = discover(points[list("abcde")], points["fails"].to_numpy(), resamples=0, prune=False)
    t = found.trajectory
    assert t.loc[0, "coverage"] == 1.0 and t.loc[0, "density"] == pytest.approx(points["fails"].mean())
    peel = t[t["step"] == "prim"]
    assert peel["density"].iloc[-1] > peel["density"].iloc[0]
    assert (np.diff(peel["mass"].to_numpy()) <= 1e-12).sum() >= len(peel) // 2  # peeling mostly takes mass away
    assert found.coverage >= 0.8 - 1e-9 and found.resamples.empty


@pytest.fixture(scope="module")
def tiny_batch(tmp_path_factory):
    """3 posterior draws x 2 replications x 2 scenarios x 20 days of summer (12 runs)."""
    folder = tmp_path_factory.mktemp("disc") / "batch"
    scenarios = [load_scenario(SCENARIOS / f"{name}.yaml").with_overrides(start_date="2025-07-01")
                 for name in ("baseline", POLICY)]
    plan = plan_batch(scenarios, 2, days=20, base_seed=3, posterior=load_posterior(SHIPPED), draws=3)
    run_batch(folder, plan, workers=1, progress=False)
    return folder


def test_differences_are_paired_by_draw_and_seed(tiny_batch):
    s = load_results(tiny_batch).summaries
    pairs = paired_runs(s, POLICY, "baseline", "people_crossed")
    assert len(pairs) == 6 and pairs[["draw", "replication"]].drop_duplicates().shape[0] == 6
    for row in pairs.itertuples():  # by hand: the policy's run and the baseline's of this draw and seed
        pol = s[(s["scenario"] == POLICY) & (s["draw"] == row.draw) & (s["seed"] == row.seed)]
        base = s[(s["scenario"] == "baseline") & (s["draw"] == row.draw) & (s["seed"] == row.seed)]
        assert len(pol) == len(base) == 1
        assert row.difference == float(pol["people_crossed"].iloc[0]) - float(base["people_crossed"].iloc[0])
        assert row.run_policy == pol["run"].iloc[0] and row.run_baseline == base["run"].iloc[0]
    points = point_cuts(pairs, 10.0)
    for draw, g in pairs.groupby("draw"):
        expected = -100 * g["difference"].mean() / g["baseline"].mean()
        assert points.loc[draw, "cut"] == pytest.approx(expected)
    values = parameter_values(s, POLICY, "baseline")
    assert len(values) == 3 and "camps.inflow_per_day" in values.columns
    first = s[s["scenario"] == "baseline"].groupby("draw")["draw.camps.inflow_per_day"].first()
    assert (values["camps.inflow_per_day"] == first).all()


def test_discover_writes_its_tables_and_figures(tiny_batch, capsys):
    s = load_results(tiny_batch).summaries
    pairs = paired_runs(s, POLICY, "baseline", "people_crossed")
    cuts = np.sort(point_cuts(pairs, 0.0, per_pair=True)["cut"].to_numpy())
    cut = float((cuts[2] + cuts[3]) / 2)  # half the pairs fail
    result = cli("discover", tiny_batch, "--policy", POLICY, "--cut", cut, "--per-pair", "--resamples", 5)
    assert result.returncode == 0, result.stderr
    out = tiny_batch / f"discover-{POLICY}"
    assert str(out / "discovery.md") in result.stdout
    for name in ("discovery.md", "peeling.png", "box.png", "scatter.png", "points.csv", "pairs.csv", "peeling.csv",
                 "box.csv", "resamples.csv"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    points = pd.read_csv(out / "points.csv")
    assert len(points) == 6 and points["fails"].sum() == 3
    md = (out / "discovery.md").read_text()
    assert "coverage" in md and "quasi-p" in md.lower() or "no parameter" in md
    code, _ = main(["discover", tiny_batch, "--policy", POLICY, "--cut", cut, "--per-pair", "--resamples", 0,
                    "--quiet"], capsys)
    assert code == 0 and capsys.readouterr().out == ""
    assert (tiny_batch / f"discover-{POLICY}-2" / "discovery.md").is_file()  # the first is kept


def main(argv, capsys) -> tuple[int, str]:
    """``channel-sim ARGS`` in this process (as the console script calls it): its exit status and stderr."""
    from sim.cli import main as channel_sim

    try:
        code = channel_sim([str(a) for a in argv])
    except SystemExit as exc:  # the parser's refusals
        code = exc.code
    return code, capsys.readouterr().err


LHS = ["--latin-hypercube", 4, "--scenarios", SCENARIOS / "baseline.yaml", SCENARIOS / f"{POLICY}.yaml",
       "--days", 5, "--policy", POLICY]

#: name -> (arguments after ``channel-sim discover``, the start of what the one line must say).
BAD = {
    "missing folder": (["{scratch}/nowhere", "--policy", POLICY], "no batch results here"),
    "not a batch": (["{scratch}/empty", "--policy", POLICY], "no batch results here"),
    "policy not in the batch": (["{batch}", "--policy", "drones_doubled"],
                                "--policy drones_doubled: no scenario of that name"),
    "baseline not in the batch": (["{batch}", "--policy", POLICY, "--baseline", "base"],
                                  "--baseline base: no scenario of that name"),
    "policy is the baseline": (["{batch}", "--policy", "baseline"], "the same scenario as"),
    "unknown outcome": (["{batch}", "--policy", POLICY, "--outcome", "people_crosed"],
                        "--outcome people_crosed: not a numeric summary key"),
    "unknown parameter": (["{batch}", "--policy", POLICY, "--only", "camps.inflow"],
                          "--only camps.inflow: not a parameter that varies"),
    "no parameter named": (["{batch}", "--policy", POLICY, "--only", ","], "no parameter named"),
    "none fails": (["{batch}", "--policy", POLICY, "--cut", -1000], "none of the"),
    "every one fails": (["{batch}", "--policy", POLICY, "--cut", 1e6], "every one of the"),
    "a box not on the trajectory": (["{batch}", "--policy", POLICY, "--per-pair", "--cut", "{half}", "--box", 999],
                                    "--box 999: not on the peeling trajectory"),
    "design option without the design": (["{batch}", "--policy", POLICY, "--days", 5],
                                         "--days: given without --latin-hypercube"),
    "empty range": (["{scratch}/lhs", *LHS, "--parameters", "{scratch}/empty_range.yaml"], "expected low < high"),
    "unknown parameter in the ranges": (["{scratch}/lhs", *LHS, "--parameters", "{scratch}/unknown.yaml"],
                                        "is not a scenario key"),
    "no ranges": (["{scratch}/lhs", *LHS, "--parameters", "{scratch}/none.yaml"], "parameters"),
    "unknown outcome of a design": (["{scratch}/lhs", *LHS, "--outcome", "happiness"],
                                    "--outcome happiness: not a numeric summary key"),
    "policy not among the scenarios": (["{scratch}/lhs", "--latin-hypercube", 4, "--scenarios",
                                        SCENARIOS / "baseline.yaml", "--policy", POLICY],
                                       f"--policy {POLICY}: not among the --scenarios"),
    "a coverage above 1": (["{batch}", "--policy", POLICY, "--min-coverage", 1.5],
                           "expected a number above 0 and up to 1"),
    "an output folder that exists": (["{batch}", "--policy", POLICY, "--per-pair", "--cut", "{half}", "--out",
                                      "{scratch}"], "exists"),
}


def _half(batch: Path) -> float:
    """A cut that half the pairs of runs of the batch fail."""
    s = load_results(batch).summaries
    cuts = np.sort(point_cuts(paired_runs(s, POLICY, "baseline", "people_crossed"), 0.0, per_pair=True)["cut"])
    return float((cuts[len(cuts) // 2 - 1] + cuts[len(cuts) // 2]) / 2)


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_one_line_and_exit_2(tiny_batch, tmp_path, capsys, case):
    (tmp_path / "empty").mkdir()
    for name, entry in (("empty_range", {"key": "camps.inflow_per_day", "low": 100, "high": 100}),
                        ("unknown", {"key": "camps.inflow_per_dya", "low": 100, "high": 200})):
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump({"parameters": [entry]}))
    (tmp_path / "none.yaml").write_text(yaml.safe_dump({"parameters": []}))
    args, expected = BAD[case]
    half = _half(tiny_batch) if "{half}" in args else 0
    args = [str(a).format(scratch=tmp_path, batch=tiny_batch, half=half) for a in args]
    code, err = main(["discover", *args], capsys)
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and expected in lines[0], err
    assert not (tmp_path / "lhs").exists() or not any((tmp_path / "lhs").glob("runs/*"))  # refused before any run


def test_a_batch_without_parameter_draws_is_refused(tmp_path, capsys):
    scenarios = [load_scenario(SCENARIOS / "baseline.yaml"), load_scenario(SCENARIOS / f"{POLICY}.yaml")]
    run_batch(tmp_path / "b", plan_batch(scenarios, 1, days=3), workers=1, progress=False)
    code, err = main(["discover", tmp_path / "b", "--policy", POLICY], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "no parameter draws or sweep" in lines[0]


def test_a_latin_hypercube_is_run_then_discovered(tmp_path, capsys):
    """Two parameters, 6 points, 2 scenarios, 5 days: the runs pair by point and seed."""
    ranges = tmp_path / "ranges.yaml"
    ranges.write_text(yaml.safe_dump({"parameters": [{"key": "camps.inflow_per_day", "low": 60, "high": 220},
                                                     {"key": "camps.ready_fraction", "low": 0.3, "high": 0.7}]}))
    args = ["discover", tmp_path / "lhs", "--latin-hypercube", 6, "--scenarios", SCENARIOS / "baseline.yaml",
            SCENARIOS / f"{POLICY}.yaml", "--parameters", ranges, "--days", 5, "--workers", 1, "--policy", POLICY,
            "--outcome", "people_attempted", "--cut", 0, "--resamples", 0, "--quiet"]
    code, err = main(args, capsys)
    s = load_results(tmp_path / "lhs").summaries
    assert len(s) == 12 and s.groupby("scenario")["sweep.camps.inflow_per_day"].nunique().tolist() == [6, 6]
    pairs = paired_runs(s, POLICY, "baseline", "people_attempted")
    assert len(pairs) == 6
    if code == 2:  # in 5 days the policy may change no attempt, or every one: said in one line
        assert "--cut 0" in err and len(err.strip().splitlines()) == 1
    else:
        assert code == 0, err
        assert (tmp_path / "lhs" / f"discover-{POLICY}" / "discovery.md").is_file()


def test_the_help_ends_with_examples_that_parse(capsys):
    """As every command's help does (tests/test_commands.py): examples that name files there and parse."""
    import shlex

    from sim.cli import build_parser
    from sim.cli import main as channel_sim
    from tests.conftest import ROOT

    with pytest.raises(SystemExit) as exit_:
        channel_sim(["discover", "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    examples = [ln.strip() for ln in text.split("\nexamples:\n", 1)[1].splitlines() if ln.strip()]
    assert 1 <= len(examples) <= 2
    for example in examples:
        words = shlex.split(example)
        assert words[:2] == ["channel-sim", "discover"]
        assert all((ROOT / w).is_file() for w in words if w.endswith(".yaml"))
        assert build_parser().parse_args(words[1:]).command == "discover"
