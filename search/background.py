"""Index writes taken off the request: one thread per process gathers them and writes in batches.

A new message should not pay for the search index before its author hears back: a whoosh
commit costs tens of milliseconds on a small index and a few hundred on a large one, and
it used to run in the request (or in daphne's one thread for database work) after every
post. The indexer hands such *deferred* batches here instead. The thread waits
``SEARCH_INDEX_DELAY`` seconds after the first one arrives, merges whatever came
meanwhile and writes it as one batch, so under load many posts share one commit, and a new
message is findable within the delay plus one write (the requirement is 2 seconds).

Only additions are deferred (a new message, thread or document: nothing anyone could see
before). Changes that narrow who may see something, edits and deletions stay synchronous,
so that results and counts follow them at once. Both kinds build their documents from the
committed rows while holding the backend's writer slot, so whichever writes last writes
the newest state: a deferred batch can never put back what a later change took away.

A process that stops flushes what it holds (``atexit``); one that is killed loses at most
the last delay's worth of additions, which ``manage.py search_verify --fix`` restores.
``SEARCH_INDEX_DELAY = 0`` writes every batch at once, in the caller's thread.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from typing import Protocol, Self

from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)


FAILED = "Search index update failed; run `manage.py search_verify --fix` to repair it."

# An idle writer closes its database connections after this many seconds.
IDLE_SECONDS = 5.0


def delay() -> float:
    """Seconds a deferred batch waits for others; 0 writes at once."""
    return float(getattr(settings, "SEARCH_INDEX_DELAY", 0))


class Work(Protocol):
    def merge(self, other: Self) -> None: ...

    def flush(self) -> None: ...


class Writer:
    """One per process: pending work merged into one batch, a daemon thread that writes it."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._pending: Work | None = None
        self._submitted = 0  # batches handed in, ever
        self._written = 0  # of those, how many were written (or failed and were logged)
        self._hurry = False  # someone waits for the result: skip the gathering pause
        self._release = False  # someone asks the thread to close its connections
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def submit(self, batch: Work) -> None:
        """Queue ``batch``, merged with what is already waiting."""
        with self._condition:
            if self._pid != os.getpid():  # a forked child: the parent's thread is not here
                self._reset()
            if self._pending is None:
                self._pending = batch
            else:
                self._pending.merge(batch)
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
                batch, self._pending = self._pending, None
                taken = self._submitted
            try:
                batch.flush()
            except Exception:
                logger.exception(FAILED)
                connections.close_all()  # this thread's own: a broken one is not reused
            finally:
                with self._condition:
                    self._written = taken
                    self._condition.notify_all()


writer = Writer()


def wait(timeout: float | None = None) -> bool:
    """Write what this process holds now and wait for it (tests, commands, shutdown)."""
    return writer.wait(timeout)


def release() -> None:
    """Close the writer thread's database connections (before a test database is dropped)."""
    writer.release()


@atexit.register
def _flush_at_exit() -> None:
    if writer._pid == os.getpid() and not writer.wait(timeout=10):
        logger.warning("Search index updates were still pending at exit; run `manage.py search_verify --fix`.")
