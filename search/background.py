"""Index writes taken off the request: new items are queued in the database and written in
batches by one thread per process, or by a worker process of their own.

A new message should not pay for the search index before its author hears back: a whoosh
commit costs tens of milliseconds on a small index and a few hundred on a large one, and
it used to run in the request (or in daphne's one thread for database work) after every
post. The indexer queues such additions in the database instead (``PendingIndex``, in the
item's own transaction) and, after commit, wakes this process's writer thread. The thread
waits ``SEARCH_INDEX_DELAY`` seconds, then drains the queue, so under load many posts
share one commit, and a new message is findable within the delay plus one write (the
requirement is 2 seconds).

``SEARCH_INDEX_WRITER = "worker"`` leaves the queue to ``manage.py search_worker``, a
process of its own, so that index writes never compete with the server for its
interpreter (see docs/operations.md). The default, ``"thread"``, needs nothing else running.

Only additions are queued (a new message, thread or document: nothing anyone could see
before). Changes that narrow who may see something, edits and deletions stay synchronous,
so that results and counts follow them at once. Both kinds build their documents from the
committed rows while holding the backend's writer slot, so whichever writes last writes
the newest state: a queued addition can never put back what a later change took away.

The queue is a table, so what a process leaves behind when it stops, normally or not, is
written by the next drain of any process (or ``manage.py search_worker --once``).
``SEARCH_INDEX_DELAY = 0`` with the thread writer queues nothing and writes every batch
at once, in the caller's thread (the test suite runs so).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)


FAILED = "Search index update failed; run `manage.py search_verify --fix` to repair it."

# An idle writer closes its database connections after this many seconds.
IDLE_SECONDS = 5.0
# After a failed drain, a worker waits this long before the next try (a full disk, a
# restarting database): long enough not to flood the log, short enough to catch up soon.
RETRY_SECONDS = 5.0


WRITERS = ("thread", "worker")


def delay() -> float:
    """Seconds the writer thread waits for more additions; 0 writes at once."""
    return float(getattr(settings, "SEARCH_INDEX_DELAY", 0))


def writer_mode() -> str:
    """Who drains the queue of additions: "thread" (this process) or "worker" (search_worker)."""
    return str(getattr(settings, "SEARCH_INDEX_WRITER", "thread"))


def queues_additions() -> bool:
    """Whether new items go through the queue (else they are written in the request)."""
    return writer_mode() == "worker" or delay() > 0


class Writer:
    """One per process: a daemon thread that runs the submitted task (draining the queue)
    a moment after it is asked to, once for every request made meanwhile."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._pending: Callable[[], object] | None = None
        self._submitted = 0  # batches handed in, ever
        self._written = 0  # of those, how many were written (or failed and were logged)
        self._hurry = False  # someone waits for the result: skip the gathering pause
        self._release = False  # someone asks the thread to close its connections
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def submit(self, task: Callable[[], object]) -> None:
        """Have the thread run ``task`` after the delay (once for all submitted meanwhile)."""
        with self._condition:
            if self._pid != os.getpid():  # a forked child: the parent's thread is not here
                self._reset()
            self._pending = task
            self._submitted += 1
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="search-index-writer", daemon=True)
                self._thread.start()
            self._condition.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        """Write now what is pending and block until everything submitted before this call
        is written; False if ``timeout`` seconds pass first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._condition:
            target = self._submitted
            while self._written < target:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._hurry = True
                self._condition.notify_all()
                self._condition.wait(remaining)
        return True

    def _reset(self) -> None:
        self._pending = None
        self._submitted = self._written = 0
        self._hurry = self._release = False
        self._thread = None
        self._pid = os.getpid()

    def release(self, timeout: float = 10.0) -> None:
        """Have the thread close its database connections now (a test database is about to
        be dropped); it opens new ones for its next batch."""
        with self._condition:
            if self._thread is None or not self._thread.is_alive():
                return
            self._release = True
            self._condition.notify_all()
            deadline = time.monotonic() + timeout
            while self._release and (left := deadline - time.monotonic()) > 0:
                self._condition.wait(left)

    def _run(self) -> None:
        while True:
            with self._condition:
                while self._pending is None:
                    # Busy, the thread keeps its connections from batch to batch (opening
                    # one costs about as much as a small write); idle, it closes them.
                    woken = self._condition.wait(IDLE_SECONDS)
                    if self._release or (not woken and self._pending is None):
                        connections.close_all()  # this thread's own
                        self._release = False
                        self._condition.notify_all()
                deadline = time.monotonic() + delay()
                while not self._hurry and (left := deadline - time.monotonic()) > 0:
                    self._condition.wait(left)
                self._hurry = False
                task, self._pending = self._pending, None
                taken = self._submitted
            try:
                task()
            except Exception:
                logger.exception(FAILED)
                connections.close_all()  # this thread's own: a broken one is not reused
            finally:
                with self._condition:
                    self._written = taken
                    self._condition.notify_all()


writer = Writer()


def wait(timeout: float | None = None) -> bool:
    """Have this process's writer drain now what it was asked to, and wait for it (tests,
    commands, shutdown)."""
    return writer.wait(timeout)


def release() -> None:
    """Close the writer thread's database connections (before a test database is dropped)."""
    writer.release()


@atexit.register
def _flush_at_exit() -> None:
    if writer._pid == os.getpid() and not writer.wait(timeout=10):
        logger.warning("Search index additions were still queued at exit; the next drain writes them.")


def work(stopping: threading.Event, interval: float, report: Callable[[int], object] | None = None) -> None:
    """The loop of ``manage.py search_worker``: drain the queue, look again every
    ``interval`` seconds while it is empty, until ``stopping`` is set. A failed drain is
    logged and retried after ``RETRY_SECONDS``; its rows stay queued meanwhile."""
    from search import indexer

    while not stopping.is_set():
        try:
            taken = indexer.drain()
        except Exception:
            logger.exception("Indexing queued additions failed; they stay queued, retrying in %g s.", RETRY_SECONDS)
            connections.close_all()  # this thread's own: a broken one is not reused
            stopping.wait(RETRY_SECONDS)
            continue
        if taken and report is not None:
            report(taken)
        if taken < indexer.CHUNK:
            stopping.wait(interval)
    connections.close_all()
