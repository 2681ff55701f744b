"""Several worker processes write to one whoosh index at once: every write lands, none
meets whoosh's LockError, and the index equals the database afterwards."""

from __future__ import annotations

import multiprocessing
import uuid

import pytest
from django.core.management import call_command
from whoosh import index
from whoosh.index import LockError

from messaging import actions
from search import indexer, registry
from search.backends.whoosh_backend import SCHEMA
from tests.search.conftest import fresh
from tests.search.writer_process import write

PROCESSES = 4


def test_whoosh_alone_refuses_a_second_writer(tmp_path) -> None:
    """The failure the serialized writer exists to prevent."""
    ix = index.create_in(str(tmp_path), SCHEMA)
    first = ix.writer()
    try:
        with pytest.raises(LockError):
            ix.writer()
    finally:
        first.cancel()


@pytest.mark.parametrize("backend", ["whoosh"], indirect=True)
def test_processes_writing_at_once_meet_no_lock_error(sw, settings, capsys) -> None:  # type: ignore[no-untyped-def]
    # Content committed without its on-commit indexing (the test's transaction never
    # commits), so the index lags the database until the processes catch it up.
    for n in range(40):
        actions.post_message(
            actor=fresh(sw.cw.participant_staff), thread=sw.open_thread, body=f"Heron count {n}", client_id=uuid.uuid4()
        )
    documents = [d for entry in registry.types() for d in indexer.expected_documents(entry)]
    assert len(indexer.verify().missing) == 40

    context = multiprocessing.get_context("spawn")
    results, start = context.Queue(), context.Event()
    shares = [documents[n::PROCESSES] for n in range(PROCESSES)]
    workers = [
        context.Process(target=write, args=(str(settings.SEARCH_INDEX_DIR), share, results, start)) for share in shares
    ]
    for worker in workers:
        worker.start()
    assert all(results.get(timeout=120)[0] == "ready" for _ in workers)
    start.set()
    reports = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)

    errors = [report for report in reports if report[0] != "ok"]
    assert errors == [], errors
    assert sum(report[2] for report in reports) == len(documents)
    assert all(worker.exitcode == 0 for worker in workers)
    call_command("search_verify")
    assert "matches the database" in capsys.readouterr().out
    assert sw.search(sw.cw.owner_staff, "heron").total == 40
