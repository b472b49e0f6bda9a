"""The runs floor: batches of model runs, the results store, run folders, workers and executors.

Depends on the model floor and the foundations (``sim.scenario``, ``sim.outcomes``),
never on the analysis of results.
"""
