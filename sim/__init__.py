"""channel-sim: an agent-based simulation of small-boat crossings of the English Channel.

The main entry points, imported on first use:

* ``sim.load_scenario(path)``: a validated scenario;
* ``sim.ChannelModel(scenario, seed).run()``: one run, with ``summary()``,
  ``boats_frame()``, ``daily_frame()`` and ``tracks_frame()``;
* ``sim.load_results(folder)``: tidy tables of a batch folder, a ``Results`` with
  ``summaries`` (one row per run), ``boats`` (one per boat attempt) and ``daily``
  (one per day), read as ``res.summaries`` or ``res["summaries"]``;
* ``sim.load_tracks(folder, key)``: where one run's agents went (its tracks).
"""

from __future__ import annotations

_EXPORTS = {
    "load_scenario": "sim.scenario",
    "Scenario": "sim.scenario",
    "ChannelModel": "sim.model",
    "load_results": "sim.runs.store",
    "Results": "sim.runs.store",
    "load_tracks": "sim.runs.store",
    "plan_batch": "sim.runs.batch",
    "run_batch": "sim.runs.batch",
    "write_report": "sim.analysis.report",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
