"""Shared fixtures: scenario paths and a cache of replicated runs.

Replications are run in a process pool (one per core) and cached for the
session, so the calibration and policy tests share the baseline runs.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
REPLICATIONS = 20


def _summary(args):
    from sim.model import ChannelModel
    from sim.scenario import load_scenario

    path, seed, days, overrides = args
    scenario = load_scenario(path)
    if days is not None:
        scenario = scenario.with_overrides(days=days)
    if overrides:
        scenario = scenario.with_overrides(**json.loads(overrides))
    model = ChannelModel(scenario, seed).run()
    s = model.summary()
    s["taxi_share"] = s["taxi_boats_attempted"] / s["boats_attempted"]
    return s


class Replicates:
    """Summaries of replicated runs, computed once per session."""

    def __init__(self):
        self._cache: dict = {}
        # Fresh interpreters rather than fork: pytest's process may hold threads.
        self._pool = ProcessPoolExecutor(max_workers=os.cpu_count() or 2,
                                         mp_context=multiprocessing.get_context("spawn"))

    def __call__(self, name: str, n: int = REPLICATIONS, days: int | None = None, **overrides) -> list[dict]:
        """Summaries of seeds 0..n-1 of ``scenarios/<name>.yaml`` (with sections of ``overrides`` changed)."""
        changed = json.dumps(overrides, sort_keys=True) if overrides else ""
        key = (name, n, days, changed)
        if key not in self._cache:
            jobs = [(str(SCENARIOS / f"{name}.yaml"), seed, days, changed) for seed in range(n)]
            self._cache[key] = list(self._pool.map(_summary, jobs))
        return self._cache[key]

    def map(self, function, jobs) -> list:
        """``function`` over ``jobs`` in the session's pool (a picklable, module-level function)."""
        return list(self._pool.map(function, jobs))

    def close(self):
        self._pool.shutdown()


@pytest.fixture(scope="session")
def replicates():
    r = Replicates()
    yield r
    r.close()


def values(summaries: list[dict], key: str) -> np.ndarray:
    """One summary key across replications."""
    return np.array([s[key] for s in summaries], dtype=float)
