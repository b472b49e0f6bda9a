"""Hostile input across every command: each must end with one line on stderr, exit status 2, no traceback.

Usage::

    python tests/hostile_inputs.py            # a Markdown table of every case, exit 1 if one misbehaves

``tests/test_hostile.py`` runs it in the suite. Each case is run as a user
runs it (the ``channel-sim`` console script, in a scratch folder), and the
table gives its exit status, the number of lines it wrote on stderr, whether
a traceback appeared, and the start of its message.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXE = Path(sys.executable).with_name("channel-sim")
BASELINE = str(ROOT / "scenarios" / "baseline.yaml")
DOCTRINE = str(ROOT / "scenarios" / "shallow_water_before_pickup.yaml")


def _alias_bomb() -> str:
    lines = ["a0: &a0 [" + ", ".join(["x"] * 9) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    return "\n".join(lines) + "\ndescription: *a8\n"


TARGET = "targets:\n  - name: x\n    reported: 1\n    source: s\n"

#: name -> text of the files each case may use (written in the scratch folder).
FILES = {
    "unknown_key.yaml": "surveillance:\n  drons: 3\n",
    "wrong_type.yaml": "days: many\n",
    "out_of_range.yaml": "camps:\n  ready_fraction: 2\n",
    "circular_a.yaml": "extends: circular_b.yaml\n",
    "circular_b.yaml": "extends: circular_a.yaml\n",
    "bomb.yaml": _alias_bomb(),
    "duplicate.yaml": "surveillance:\n  drones: 24\nsurveillance:\n  drones: 12\n",
    "nested.yaml": "description: " + "[" * 5000 + "]" * 5000 + "\n",
    "huge.yaml": "description: '" + "x" * 1_100_000 + "'\n",
    "dev_zero.yaml": "extends: /dev/zero\n",
    "impossible_date.yaml": "start_date: 2025-02-30\n",
    "epoch_date.yaml": "start_date: 0\n",
    "min_above_max.yaml": "networks:\n  people_per_boat_min: 120\n",
    "a_list.yaml": "- days: 3\n",
    "bad_syntax.yaml": "days: [1, 2\n",
    "exponent.yaml": "crossing:\n  load_exponent: 5000\n",
    "long_value.yaml": "gendarmerie:\n  sector_weights: [" + ", ".join(["'x'"] * 10000) + "]\n",
    "t_zero.yaml": TARGET + "    band: [0, 2]\n    formula: people_crossed / 0\n",
    "t_nan.yaml": TARGET + "    band: [.nan, 2]\n    key: people_crossed\n",
    "t_text_key.yaml": TARGET + "    band: [0, 2]\n    key: scenario\n",
    "t_long.yaml": TARGET + "    band: [0, 2]\n    formula: " + "+".join(["deaths"] * 30000) + "\n",
    "u_inf.yaml": "parameters:\n  - {key: crossing.load_exponent, low: 1, high: .inf}\n",
    "u_unknown.yaml": "parameters:\n  - {key: crossing.nothing, low: 1, high: 2}\n",
    "u_outside.yaml": "parameters:\n  - {key: camps.ready_fraction, low: 0.5, high: 2}\n",
    "u_empty.yaml": "parameters:\n  - {key: crossing.load_exponent, low: 1.5, high: 1.5}\n",
    "afile": "not a folder\n",
    "p_noweight.csv": "camps.inflow_per_day\n100\n",
    "p_unknown.csv": "camps.inflow_per_dy,weight\n100,1\n",
    "p_text.csv": "camps.inflow_per_day,weight\n100,1\nmany,1\n",
    "p_negative.csv": "camps.inflow_per_day,weight\n100,-1\n110,2\n",
    "p_section.csv": "camps,weight\n100,1\n",
    "p_rejected.csv": "camps.ready_fraction,weight\n2.5,1\n",
    "p_two.csv": "camps.inflow_per_day,weight\n100,1\n110,1\n",
    "r_text.csv": "date,people_arrived,boats_arrived\n2025-01-01,12,three\n",
    "r_overlap.csv": ("week_ending,people_arrived,boats_arrived,people_prevented,events_prevented\n"
                      "2025-01-05,0,0,0,0\n2025-01-11,0,0,0,0\n"),
}

#: (case, arguments, environment): ``{d}`` is the scratch folder.
CASES = [
    ("check: an unknown key", ["check", "{d}/unknown_key.yaml"], None),
    ("check: a wrong type", ["check", "{d}/wrong_type.yaml"], None),
    ("check: a value out of range", ["check", "{d}/out_of_range.yaml"], None),
    ("check: a missing file", ["check", "{d}/nothing.yaml"], None),
    ("check: a folder", ["check", "{d}"], None),
    ("check: a circular extends", ["check", "{d}/circular_a.yaml"], None),
    ("check: a YAML alias bomb", ["check", "{d}/bomb.yaml"], None),
    ("check: a duplicate section", ["check", "{d}/duplicate.yaml"], None),
    ("check: 5,000 nested brackets", ["check", "{d}/nested.yaml"], None),
    ("check: a 1.1 MB file", ["check", "{d}/huge.yaml"], None),
    ("check: a loop of symbolic links", ["check", "{d}/loop_a.yaml"], None),
    ("check: extends /dev/zero", ["check", "{d}/dev_zero.yaml"], None),
    ("check: an impossible date", ["check", "{d}/impossible_date.yaml"], None),
    ("check: a date given as 0", ["check", "{d}/epoch_date.yaml"], None),
    ("check: a minimum above its maximum", ["check", "{d}/min_above_max.yaml"], None),
    ("check: a list, not a mapping", ["check", "{d}/a_list.yaml"], None),
    ("check: broken YAML", ["check", "{d}/bad_syntax.yaml"], None),
    ("check: bytes that are not UTF-8", ["check", "{d}/binary.yaml"], None),
    ("check: 10,000 bad values", ["check", "{d}/long_value.yaml"], None),
    ("run: --days 0", ["run", BASELINE, "--days", "0"], None),
    ("run: --days 1000000000", ["run", BASELINE, "--days", "1000000000"], None),
    ("run: --seed -1", ["run", BASELINE, "--seed", "-1"], None),
    ("run: --out a folder that exists", ["run", BASELINE, "--days", "5", "--out", "{d}"], None),
    ("run: --out under a file", ["run", BASELINE, "--days", "5", "--out", "{d}/afile/sub"], None),
    ("run: a value that would break the run", ["run", "{d}/exponent.yaml", "--days", "5", "--out", "{d}/r1"], None),
    ("scenarios: a folder that is not there", ["scenarios", "{d}/nothing"], None),
    ("scenarios: a file, not a folder", ["scenarios", "{d}/afile"], None),
    ("scenarios: a folder without scenarios", ["scenarios", "{d}/garbage"], None),
    ("scenarios: a folder with a broken scenario", ["scenarios", "{d}/listing"], None),
    ("scenarios: no folder given, none here", ["scenarios"], None),
    ("batch: -n 0", ["batch", BASELINE, "-n", "0", "--out", "{d}/b1"], None),
    ("batch: -n 100000000", ["batch", BASELINE, "-n", "100000000", "--days", "5", "--out", "{d}/b2"], None),
    ("batch: a malformed --sweep", ["batch", BASELINE, "-n", "1", "--sweep", "drones", "--out", "{d}/b3"], None),
    ("batch: --sweep of an unknown key", ["batch", BASELINE, "-n", "1", "--sweep", "surveillance.drons=1,2",
                                          "--out", "{d}/b4"], None),
    ("batch: a sweep value twice", ["batch", BASELINE, "-n", "1", "--sweep", "surveillance.drones=1,1",
                                    "--out", "{d}/b5"], None),
    ("batch: --out a file", ["batch", BASELINE, "-n", "1", "--out", "{d}/afile"], None),
    ("batch: --out a folder that is not a batch", ["batch", BASELINE, "-n", "1", "--out", "{d}/mine"], None),
    ("batch: one scenario twice", ["batch", BASELINE, BASELINE, "-n", "1", "--out", "{d}/b6"], None),
    ("batch: a malformed --scheduler", ["batch", BASELINE, "-n", "1", "--days", "5", "--quiet",
                                        "--scheduler", "tcp://::::bad", "--out", "{d}/b7"], None),
    ("batch: a malformed DASK_SCHEDULER_ADDRESS", ["batch", BASELINE, "-n", "1", "--days", "5", "--quiet",
                                                   "--out", "{d}/b8"], {"DASK_SCHEDULER_ADDRESS": "nonsense"}),
    ("batch: --workers 0", ["batch", BASELINE, "-n", "1", "--workers", "0", "--out", "{d}/b9"], None),
    ("batch: --baseline without --report", ["batch", BASELINE, "-n", "1", "--baseline", "returns",
                                            "--out", "{d}/b10"], None),
    ("batch: --report against a baseline not in the batch", ["batch", BASELINE, "-n", "1", "--days", "5", "-j", "1",
                                                            "--quiet", "--report", "--baseline", "nothing",
                                                            "--out", "{d}/b11"], None),
    ("batch: --draws without --posterior", ["batch", BASELINE, "-n", "1", "--draws", "3", "--out", "{d}/p1"], None),
    ("batch: --posterior a missing file", ["batch", BASELINE, "-n", "1", "--posterior", "{d}/nothing.csv",
                                            "--out", "{d}/p2"], None),
    ("batch: --posterior with no weight", ["batch", BASELINE, "-n", "1", "--posterior", "{d}/p_noweight.csv",
                                            "--out", "{d}/p3"], None),
    ("batch: --posterior with an unknown key", ["batch", BASELINE, "-n", "1", "--posterior", "{d}/p_unknown.csv",
                                                 "--out", "{d}/p4"], None),
    ("batch: --posterior with text for a number", ["batch", BASELINE, "-n", "1", "--posterior", "{d}/p_text.csv",
                                                    "--out", "{d}/p5"], None),
    ("batch: --posterior with a negative weight", ["batch", BASELINE, "-n", "1", "--posterior",
                                                    "{d}/p_negative.csv", "--out", "{d}/p6"], None),
    ("batch: --posterior of a whole section", ["batch", BASELINE, "-n", "1", "--posterior", "{d}/p_section.csv",
                                                "--out", "{d}/p7"], None),
    ("batch: --posterior with a value out of range", ["batch", BASELINE, "-n", "1", "--posterior",
                                                       "{d}/p_rejected.csv", "--draws", "1", "--out", "{d}/p8"], None),
    ("batch: more --draws than particles", ["batch", BASELINE, "-n", "1", "--posterior", "{d}/p_two.csv",
                                            "--draws", "3", "--out", "{d}/p9"], None),
    ("batch: --posterior a binary file", ["batch", BASELINE, "-n", "1", "--posterior", "{d}/binary.yaml",
                                           "--out", "{d}/p10"], None),
    ("report: a folder that is not there", ["report", "{d}/nothing"], None),
    ("report: a manifest that is not JSON", ["report", "{d}/garbage"], None),
    ("report: a manifest nested 100,000 deep", ["report", "{d}/deep"], None),
    ("report: an incomplete manifest", ["report", "{d}/incomplete"], None),
    ("report: a batch with a run missing", ["report", "{d}/unfinished"], None),
    ("report: a run folder whose summary.json is damaged", ["report", "{d}/damaged_run"], None),
    ("validate: --targets a missing file", ["validate", "{d}/lonely/baseline.yaml", "--targets", "{d}/nothing.yaml",
                                            "-n", "1", "--days", "5", "--out", "{d}/v1"], None),
    ("validate: a target that divides by zero", ["validate", BASELINE, "--targets", "{d}/t_zero.yaml", "-n", "1",
                                                 "--out", "{d}/v2"], None),
    ("validate: a band of NaN", ["validate", BASELINE, "--targets", "{d}/t_nan.yaml", "--out", "{d}/v3"], None),
    ("validate: a target key that is text", ["validate", BASELINE, "--targets", "{d}/t_text_key.yaml",
                                             "--out", "{d}/v4"], None),
    ("validate: a formula of 30,000 terms", ["validate", BASELINE, "--targets", "{d}/t_long.yaml",
                                             "--out", "{d}/v5"], None),
    ("validate: --observed a year the record lacks", ["validate", BASELINE, "--observed", "2017",
                                                       "--out", "{d}/v6"], None),
    ("validate: --observed a year the runs miss", ["validate", BASELINE, "--observed", "2024", "--out", "{d}/v7"],
     None),
    ("validate: a daily record with text in a count", ["validate", BASELINE, "--observed", "2025",
                                                        "--daily", "{d}/r_text.csv", "--out", "{d}/v8"], None),
    ("validate: a weekly record with weeks that overlap", ["validate", BASELINE, "--observed", "2025",
                                                           "--weekly", "{d}/r_overlap.csv", "--out", "{d}/v9"], None),
    ("validate: a record folder without its tables", ["validate", BASELINE, "--observed", "2025",
                                                      "--record", "{d}/lonely", "--out", "{d}/v10"], None),
    ("validate: --record without --observed", ["validate", BASELINE, "--record", "{d}/lonely", "--out", "{d}/v11"],
     None),
    ("sensitivity: a range up to infinity", ["sensitivity", BASELINE, "--parameters", "{d}/u_inf.yaml",
                                             "--out", "{d}/s1"], None),
    ("sensitivity: an unknown parameter", ["sensitivity", BASELINE, "--parameters", "{d}/u_unknown.yaml",
                                           "--out", "{d}/s2"], None),
    ("sensitivity: --sobol-samples -4", ["sensitivity", BASELINE, "--sobol-samples", "-4"], None),
    ("sensitivity: an unknown outcome", ["sensitivity", BASELINE, "--outcomes", "happiness", "--days", "5",
                                         "--out", "{d}/s3"], None),
    ("sensitivity: --out a folder it did not write", ["sensitivity", BASELINE, "--days", "5", "--out", "{d}/mine"], None),
    ("calibrate: a prior outside the schema", ["calibrate", BASELINE, "--parameters", "{d}/u_outside.yaml",
                                               "-j", "2", "--out", "{d}/c1"], None),
    ("calibrate: --sensitivity without morris.csv", ["calibrate", BASELINE, "--sensitivity", "{d}/mine",
                                                     "--out", "{d}/c2"], None),
    ("calibrate: --out a folder that is not empty", ["calibrate", BASELINE, "--days", "5", "--out", "{d}/mine"], None),
    # discover and optimise refuse before they run anything ({d}/pair: a finished batch of two scenarios).
    ("discover: an unknown policy", ["discover", "{d}/pair", "--policy", "nothing"], None),
    ("discover: an unknown outcome", ["discover", "{d}/pair", "--policy", "shallow_water_before_pickup",
                                      "--outcome", "happiness"], None),
    ("discover: a folder that is not a batch", ["discover", "{d}/mine", "--policy", "shallow_water_before_pickup"],
     None),
    ("discover: an empty range in --parameters", ["discover", "{d}/lh", "--latin-hypercube", "2", "--scenarios",
                                                  BASELINE, DOCTRINE, "--policy", "shallow_water_before_pickup",
                                                  "--parameters", "{d}/u_empty.yaml", "--workers", "1"], None),
    ("optimise: an unknown lever", ["optimise", BASELINE, "--levers", "patrol", "--out", "{d}/o1"], None),
    ("optimise: an unknown objective", ["optimise", BASELINE, "--objectives", "happiness", "--out", "{d}/o2"], None),
    ("optimise: --personnel 0", ["optimise", BASELINE, "--personnel", "0", "--out", "{d}/o3"], None),
    ("optimise: a budget that makes no patrol unit", ["optimise", BASELINE, "--personnel", "10",
                                                      "--out", "{d}/o4"], None),
    ("optimise: a warm-up that leaves no day to score", ["optimise", BASELINE, "--days", "100", "--settle", "50",
                                                         "--warmup", "50", "--out", "{d}/o5"], None),
    # channel-sim app refuses before it serves; an address no interface has (192.0.2.1) would stop it if not.
    ("app: an unknown key", ["app", "{d}/unknown_key.yaml", "--host", "192.0.2.1"], None),
    ("app: a port that cannot be listened on", ["app", BASELINE, "--host", "192.0.2.1"], None),
    ("app: --port 70000", ["app", BASELINE, "--port", "70000"], None),
    ("app: a folder that is not a run", ["app", "{d}/mine", "--host", "192.0.2.1"], None),
    ("app: --replay a batch without --run", ["app", "--replay", "{d}/unfinished", "--host", "192.0.2.1"], None),
    ("app: --run without --replay", ["app", "--run", "baseline/0", "--host", "192.0.2.1"], None),
    ("an unknown command", ["fly"], None),
    ("an option but no command", ["--quiet"], None),
]


def _prepare(d: Path) -> None:
    for name, text in FILES.items():
        (d / name).write_text(text)
    (d / "binary.yaml").write_bytes(b"days: \xff\xfe\x00\x81\n")
    (d / "loop_a.yaml").symlink_to(d / "loop_b.yaml")
    (d / "loop_b.yaml").symlink_to(d / "loop_a.yaml")
    (d / "mine").mkdir()
    (d / "mine" / "notes.txt").write_text("mine\n")
    (d / "listing" / "more").mkdir(parents=True)
    shutil.copy(BASELINE, d / "listing" / "baseline.yaml")
    (d / "listing" / "more" / "broken.yaml").write_text(FILES["unknown_key.yaml"])
    (d / "lonely").mkdir()
    shutil.copy(BASELINE, d / "lonely" / "baseline.yaml")
    for name, manifest in (("garbage", "{not json"), ("deep", '{"batches": ' + "[" * 100_000 + "]" * 100_000 + "}"),
                           ("incomplete", '{"batches": [{"definition": {"scenarios": {"a": "x"}}}]}')):
        (d / name / "runs").mkdir(parents=True)
        (d / name / "manifest.json").write_text(manifest)
    (d / "damaged_run").mkdir()
    (d / "damaged_run" / "summary.json").write_text('{"days": 3,')
    (d / "damaged_run" / "provenance.json").write_text("{}")
    unfinished = d / "unfinished"
    subprocess.run([str(EXE), "batch", BASELINE, "-n", "2", "--days", "5", "-j", "1", "--quiet", "--out",
                    str(unfinished)], check=True, capture_output=True)
    next((unfinished / "runs").glob("*.summary.parquet")).unlink()
    subprocess.run([str(EXE), "batch", BASELINE, DOCTRINE, "-n", "1", "--days", "5", "-j", "1", "--quiet", "--out",
                    str(d / "pair")], check=True, capture_output=True)


def _run(case: tuple, d: Path) -> dict:
    name, args, env = case
    result = subprocess.run([str(EXE), *(a.replace("{d}", str(d)) for a in args)], capture_output=True, text=True,
                            cwd=d, timeout=300, env={**os.environ, **(env or {})})
    lines = [ln for ln in result.stderr.strip().splitlines() if ln.strip() and not ln.startswith("runs:")]
    message = lines[-1] if lines else ""
    return {"case": name, "exit": result.returncode, "lines": len(lines), "traceback": "Traceback" in result.stderr,
            "message": message.replace(str(d), "DIR").replace(f"{ROOT}/", "").removeprefix("channel-sim: error: ")[:90]}


def run_all() -> list[dict]:
    """Every case, in order (two at a time)."""
    with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
        d = Path(tmp)
        _prepare(d)
        with ThreadPoolExecutor(max_workers=2) as pool:
            return list(pool.map(lambda c: _run(c, d), CASES))


def behaves(row: dict) -> bool:
    """Exit status 2, one line, no traceback."""
    return row["exit"] == 2 and row["lines"] == 1 and not row["traceback"]


def markdown(rows: list[dict]) -> str:
    """The table of the README's section on errors."""
    out = ["| case | exit | lines | traceback | message (start) |", "|---|---|---|---|---|"]
    for r in rows:
        message = r["message"].replace("|", "\\|")
        out.append(f"| {r['case']} | {r['exit']} | {r['lines']} | {'yes' if r['traceback'] else 'no'} | {message} |")
    return "\n".join(out)


def main() -> int:
    rows = run_all()
    print(markdown(rows))
    bad = [r for r in rows if not behaves(r)]
    print(f"\n{len(rows) - len(bad)} of {len(rows)} cases: exit 2, one line, no traceback")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
