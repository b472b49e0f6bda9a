"""``channel-sim app``: the model in a browser page (Solara, Mesa's SolaraViz), served on this machine.

* ``live``: the model the page steps (:class:`~sim.app.live.AppModel`) and what it shows of a night;
* ``drawing``: the coast map and the daily charts, with matplotlib, for a live model or a replay;
* ``replay``: the same map and charts from a run folder's tables, without a model;
* ``page``: the Solara components; ``serve``: the server (imports Solara, so only the command imports it).

Nothing here is imported by the other commands: Solara and its front end are the ``app`` extra.
"""
