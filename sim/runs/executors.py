"""Where runs execute: this process, a local process pool, or a Dask cluster.

``distributed.Client(address).get_executor()`` is a
``concurrent.futures.Executor``, so the same batch runner drives a local pool
or a cluster. :func:`dask_client` is the one place a Dask client is made, for
batches and for the samplers of the calibration alike.
"""

from __future__ import annotations

import os
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Callable

from sim.errors import StoreError, require_extra
from sim.runs.workers import context, worker_init


def dask_client(address: str):
    """A client of the Dask scheduler at ``address``.

    Raises:
        MissingExtra: Dask is not installed.
        StoreError: the scheduler cannot be reached.
    """
    distributed = require_extra("distributed", "dask", "--scheduler")
    try:
        return distributed.Client(address, timeout="20s")
    except OSError as exc:
        raise StoreError(f"--scheduler {address}: cannot reach the Dask scheduler ({exc})") from None
    except (ValueError, TypeError) as exc:  # an address Dask cannot parse
        problem = " ".join(str(exc).split())[:120]
        raise StoreError(f"--scheduler {address}: not a scheduler address ({problem}); expected e.g. "
                         "tcp://host:8786 (also from $DASK_SCHEDULER_ADDRESS)") from None


@dataclass
class Where:
    """An executor to submit runs to (None: run them in this process), how to shut it down, its slots."""

    executor: Executor | None
    shutdown: Callable[[], None]
    slots: int
    ready: object | None = None  # a local pool's semaphore, released by each worker once it has started


def executor_for(workers: int, scheduler: str | None) -> Where:
    """The executor for ``workers`` local processes, or for the Dask scheduler at ``scheduler``."""
    if scheduler:
        client = dask_client(scheduler)
        return Where(client.get_executor(), client.close, sum(client.nthreads().values()) or 1)
    if workers <= 1:
        return Where(None, lambda: None, 1)
    # Each worker freezes what it inherits for the collector (batch memory stays flat) and ends with the batch.
    ctx = context()
    ready = ctx.Semaphore(0)
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=worker_init,
                               initargs=(os.getpid(), ready))
    return Where(pool, pool.shutdown, workers, ready)
