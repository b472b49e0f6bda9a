"""The model floor: the model and its agents, the coast, the weather and the policies.

Knows nothing of files or batches: it takes a validated
:class:`~sim.scenario.Scenario` and a seed and hands back its results
(``sim.model.channel.ChannelModel``). ``from sim.model import ChannelModel``
imports it on first use, so that ``sim.model.geography`` alone does not load Mesa.
"""

from __future__ import annotations

__all__ = ["ChannelModel"]


def __getattr__(name: str):
    if name == "ChannelModel":
        from sim.model.channel import ChannelModel

        return ChannelModel
    raise AttributeError(f"module 'sim.model' has no attribute {name!r}")
