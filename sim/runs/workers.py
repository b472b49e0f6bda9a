"""Local worker processes: how many, and how they start.

Kept free of heavy imports so that the command line can start the workers'
fork server before it imports pandas, pydantic and the rest: the server then
imports the model on the other core while the command line reads the
scenarios and plans the batch, and a batch on several workers starts about as
soon as one on a single worker.
"""

from __future__ import annotations

import multiprocessing
import os

# Modules a worker needs, imported once by the fork server rather than by every worker.
PRELOAD = ["sim.runs.batch", "sim.model.channel", "sim.runs.store", "pandas", "pyarrow.parquet"]


def default_workers() -> int:
    """All cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def context():
    """How local workers start: forked from a server that has the model imported, where there is one.

    A spawned worker imports Mesa, pandas and the model afresh, a second or
    two each; workers forked from a single-threaded server that imported them
    once start at once. Where there is no fork server (Windows, macOS
    defaults), workers are spawned.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


def worker_init(batch_pid: int, ready=None) -> None:
    """Set up a local worker: freeze what it inherits, leave Ctrl-C to the batch, and end with the batch.

    ``gc.freeze``: the collector leaves alone what a worker inherits from its
    server, so it does not touch (and so copy) the pages it shares with it.
    The watchdog: a worker forked from the fork server is not the batch
    process's child, and would go on computing queued runs after the batch
    was killed (``kill -9``); a thread waits on the batch process and ends the
    worker when it is gone.
    """
    import gc
    import signal
    import threading

    gc.freeze()
    # Ctrl-C in a terminal reaches the whole process group: the batch process handles it (it
    # cancels the queued runs and waits for the running ones), so a worker does not.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # the fork server's block (see start_server)
    threading.Thread(target=_end_with, args=(batch_pid,), name="batch-watchdog", daemon=True).start()
    if ready is not None:  # the batch waits for this before it lets Ctrl-C stop it (see sim.runs.batch)
        ready.release()


def _end_with(pid: int) -> None:
    """Return only to end this process, once process ``pid`` has ended."""
    import select
    import time

    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):  # no pidfd here: poll
        fd = None
    if fd is not None:
        select.select([fd], [], [])
    else:
        while True:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            except PermissionError:
                pass
            time.sleep(1.0)
    os._exit(1)


def start_server() -> None:
    """Start the fork server now, without waiting for it to import the model.

    Does nothing where workers are spawned, or when the server is running.
    The first worker asked of it waits until its imports are done. The server
    is started with Ctrl-C ignored, which it inherits: a Ctrl-C that reaches
    the whole process group while it imports the model does not print a
    traceback of the server's. This process ignores Ctrl-C for those moments
    with the signal also blocked, so that one arriving then stays pending
    (Linux queues a blocked signal even when it is ignored) and is handled as
    soon as the handler is back: no Ctrl-C is lost.
    """
    ctx = context()
    if ctx.get_start_method() == "forkserver":
        import signal
        import threading
        from multiprocessing import forkserver, resource_tracker

        if threading.current_thread() is not threading.main_thread():
            forkserver.ensure_running()
            return
        resource_tracker.ensure_running()  # first: starting it unblocks Ctrl-C, which must then not be ignored
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            forkserver.ensure_running()
        finally:
            signal.signal(signal.SIGINT, previous)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # one that came meanwhile is handled now
