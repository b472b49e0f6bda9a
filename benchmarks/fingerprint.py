"""Fingerprints of the model's outputs, to show an optimisation leaves results unchanged.

Usage::

    python benchmarks/fingerprint.py --write   # record benchmarks/fingerprints.json
    python benchmarks/fingerprint.py           # compare the current code with the record

Runs every shipped scenario for a few seeds and hashes the boats table, the
daily table and the summary of each run. An optimisation that does not change
the model must leave every fingerprint as it was; one that does change it says
so, and the record is written again in the same commit.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
RECORD = HERE / "fingerprints.json"


def fingerprint(scenario, seed: int) -> str:
    """Hash of one run's boats table, daily table and summary."""
    import pandas as pd

    from sim.model import ChannelModel

    model = ChannelModel(scenario, seed).run()
    h = hashlib.sha256()
    for frame in (model.boats_frame(), model.daily_frame()):
        h.update(pd.util.hash_pandas_object(frame, index=True).values.tobytes())
        h.update(",".join(map(str, frame.columns)).encode())
    h.update(json.dumps(model.summary(), sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


def shipped_scenarios() -> list[Path]:
    """The shipped scenario files (``scenarios/*.yaml`` but the validation targets), by name."""
    return [p for p in sorted((ROOT / "scenarios").glob("*.yaml")) if p.name != "targets.yaml"]


def all_fingerprints(seeds: list[int], days: int) -> dict:
    from sim.scenario import load_scenario

    out = {}
    for path in shipped_scenarios():
        scenario = load_scenario(path).with_overrides(days=days)
        for seed in seeds:
            out[f"{scenario.name}/{seed}"] = fingerprint(scenario, seed)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="record the current fingerprints")
    parser.add_argument("--seeds", type=int, default=2, help="seeds per scenario (default 2)")
    parser.add_argument("--days", type=int, default=365, help="days per run (default 365)")
    args = parser.parse_args(argv)
    current = all_fingerprints(list(range(args.seeds)), args.days)
    record = {"days": args.days, "seeds": args.seeds, "fingerprints": current}
    if args.write:
        RECORD.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
        print(f"recorded {len(current)} fingerprints in {RECORD.relative_to(ROOT)}")
        return 0
    if not RECORD.exists():
        print(f"no record at {RECORD.relative_to(ROOT)}; run with --write first")
        return 2
    old = json.loads(RECORD.read_text())
    if (old["days"], old["seeds"]) != (args.days, args.seeds):
        print(f"the record is for {old['seeds']} seeds x {old['days']} days; run with those")
        return 2
    changed = sorted(k for k in old["fingerprints"] if current.get(k) != old["fingerprints"][k])
    for k in changed:
        print(f"changed: {k}")
    print(f"{len(old['fingerprints']) - len(changed)} of {len(old['fingerprints'])} runs unchanged")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
