"""The background writer: new items are indexed a moment after commit, in batches, by one
thread of the process; changes that narrow who may see something stay synchronous.

These tests commit for real (the writer's thread reads the committed rows on its own
connection), and set a long delay so that "not yet" is certain until they ask the writer
to finish with ``background.wait()``.
"""

from __future__ import annotations

import contextlib
import io
import logging
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from communities import actions as community_actions
from messaging import actions
from messaging.models import Message
from search import background, indexer
from search.backends import get_backend
from search.models import PendingIndex
from tests.search.conftest import SearchWorld, build_search_world, fresh

LONG = 60.0  # seconds: the writer would not write by itself during a test


@pytest.fixture
def world(backend, transactional_db, settings) -> SearchWorld:  # type: ignore[no-untyped-def]
    world = build_search_world()  # indexed synchronously (the suite's default delay is 0)
    settings.SEARCH_INDEX_DELAY = LONG
    yield world
    assert background.wait(timeout=30), "the writer did not finish"
    background.release()  # its connection must not outlive the test database


@pytest.fixture
def writes(monkeypatch) -> list[list[str]]:  # type: ignore[no-untyped-def]
    """The keys of every index write, in order, whatever the backend."""
    seen: list[list[str]] = []
    backend = get_backend()
    original = backend.write

    def recording(documents, removals, **options):  # type: ignore[no-untyped-def]
        seen.append([d.key for d in documents] + [f"-{key}" for key in removals])
        return original(documents, removals, **options)

    monkeypatch.setattr(backend, "write", recording)
    return seen


def fail_first_write(monkeypatch) -> list[int]:  # type: ignore[no-untyped-def]
    """The backend's first write raises (a full disk); later ones go through. Returns
    the list of calls made so far."""
    backend = get_backend()
    original = backend.write
    calls: list[int] = []

    def failing_once(documents, removals, **options):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            raise OSError("disk full")
        return original(documents, removals, **options)

    monkeypatch.setattr(backend, "write", failing_once)
    return calls


@contextlib.contextmanager
def background_silenced() -> Iterator[None]:
    """Additions are queued but this process's writer is not told (as if it had died)."""
    submit = background.writer.submit
    background.writer.submit = lambda task: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        background.writer.submit = submit  # type: ignore[method-assign]


def _post(world: SearchWorld, body: str) -> Message:
    return actions.post_message(
        actor=fresh(world.cw.owner_staff), thread=world.open_thread, body=body, client_id=uuid.uuid4()
    ).message


def test_a_new_message_is_indexed_by_the_writer_not_the_request(world, writes) -> None:  # type: ignore[no-untyped-def]
    message = _post(world, "The pelican count is in.")
    assert writes == []
    assert world.search(world.cw.owner_staff, "pelican").total == 0
    assert background.wait(timeout=30)
    assert writes == [[f"message:{message.pk}"]]
    assert [hit.key for hit in world.search(world.cw.participant_staff, "pelican").hits] == [f"message:{message.pk}"]


def test_the_additions_of_a_moment_share_one_write(world, writes) -> None:  # type: ignore[no-untyped-def]
    posted = [_post(world, f"Cormorant report {n}.") for n in range(5)]
    thread = actions.create_thread(
        actor=fresh(world.cw.participant_staff), community=world.community, title="Cormorants", body="Nests."
    )
    assert background.wait(timeout=30)
    assert len(writes) == 1
    expected = {f"message:{m.pk}" for m in posted} | {f"thread:{thread.pk}", f"message:{thread.messages.get().pk}"}
    assert set(writes[0]) == expected
    assert world.search(world.cw.owner_staff, "cormorant").total == 7


def test_a_deletion_is_written_before_the_request_returns(world, writes) -> None:  # type: ignore[no-untyped-def]
    actions.delete_message(actor=fresh(world.cw.participant_staff), message=world.reply)
    assert writes == [[f"-message:{world.reply.pk}"]]
    assert world.search(world.cw.owner_staff, "sandbag").total == 0


def test_a_pending_addition_never_puts_back_what_a_later_change_took_away(world) -> None:  # type: ignore[no-untyped-def]
    message = _post(world, "The egret colony moved upstream.")
    community_actions.remove_agency(
        actor=fresh(world.cw.owner_admin), community=world.community, agency=world.cw.removed_agency
    )
    assert background.wait(timeout=30)
    assert world.search(world.cw.removed, "egret").total == 0
    assert world.search(world.cw.removed, "riverstage").total == 0
    assert [hit.key for hit in world.search(world.cw.owner_staff, "egret").hits] == [f"message:{message.pk}"]


def test_a_failed_write_is_logged_and_retried_with_the_next_one(world, monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    fail_first_write(monkeypatch)
    with caplog.at_level(logging.ERROR, logger="search.background"):
        lost = _post(world, "The heron was lost.")
        assert background.wait(timeout=30)
    assert "disk full" in caplog.text
    assert list(PendingIndex.objects.values_list("key", flat=True)) == [f"message:{lost.pk}"]  # still queued
    later = _post(world, "The ibis was found.")
    assert background.wait(timeout=30)
    assert [hit.key for hit in world.search(world.cw.owner_staff, "ibis").hits] == [f"message:{later.pk}"]
    assert [hit.key for hit in world.search(world.cw.owner_staff, "heron").hits] == [f"message:{lost.pk}"]
    assert not PendingIndex.objects.exists()
    assert indexer.verify().clean


def test_an_addition_is_queued_in_its_own_transaction(world) -> None:  # type: ignore[no-untyped-def]
    message = _post(world, "A grebe on the reservoir.")
    assert list(PendingIndex.objects.values_list("key", flat=True)) == [f"message:{message.pk}"]
    with pytest.raises(RuntimeError), transaction.atomic():
        _post(world, "A rolled-back grebe.")
        raise RuntimeError
    assert PendingIndex.objects.count() == 1  # the rolled-back post queued nothing
    assert background.wait(timeout=30)
    assert not PendingIndex.objects.exists()


def test_what_a_stopped_process_left_queued_is_written_by_the_next_drain(world, writes) -> None:  # type: ignore[no-untyped-def]
    # A process that died after committing its post but before indexing it leaves only the
    # queue row behind: as if the post came from elsewhere and nobody here was told.
    with background_silenced():
        orphan = _post(world, "The osprey left its nest.")
    assert writes == [] and PendingIndex.objects.count() == 1
    later = _post(world, "The osprey came back.")
    assert background.wait(timeout=30)
    assert set(writes[0]) == {f"message:{orphan.pk}", f"message:{later.pk}"}
    assert not PendingIndex.objects.exists()


def test_an_addition_in_a_transaction_that_also_narrows_is_written_at_once(world, writes) -> None:  # type: ignore[no-untyped-def]
    with transaction.atomic():
        message = _post(world, "The plover count.")
        actions.delete_message(actor=fresh(world.cw.participant_staff), message=world.reply)
    assert {key for batch in writes for key in batch} == {f"message:{message.pk}", f"-message:{world.reply.pk}"}
    assert not PendingIndex.objects.exists()  # written already: nothing left for the drain


def test_with_the_worker_writer_the_server_only_queues(world, settings, writes) -> None:  # type: ignore[no-untyped-def]
    settings.SEARCH_INDEX_WRITER = "worker"
    settings.SEARCH_INDEX_DELAY = 0  # the worker queues whatever the delay
    message = _post(world, "A tern on the breakwater.")
    assert background.wait(timeout=30)  # this process's thread was not asked to write anything
    assert writes == []
    out = io.StringIO()
    call_command("search_worker", "--once", stdout=out)
    assert "Indexed 1 queued additions; 0 waiting now." in out.getvalue()
    assert [hit.key for hit in world.search(world.cw.owner_staff, "tern").hits] == [f"message:{message.pk}"]


def test_the_worker_loop_drains_until_stopped_and_retries_a_failure(world, settings, monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    settings.SEARCH_INDEX_WRITER = "worker"
    monkeypatch.setattr(background, "RETRY_SECONDS", 0.05)
    calls = fail_first_write(monkeypatch)
    stopping = threading.Event()
    worker = threading.Thread(target=background.work, args=(stopping, 0.02))
    with caplog.at_level(logging.ERROR, logger="search.background"):
        message = _post(world, "A curlew in the marsh.")
        worker.start()
        try:
            for _ in range(400):  # polled, with a generous bound
                if not PendingIndex.objects.exists():
                    break
                time.sleep(0.05)
        finally:
            stopping.set()
            worker.join(timeout=30)
    assert not worker.is_alive()
    assert "retrying" in caplog.text and len(calls) >= 2
    assert [hit.key for hit in world.search(world.cw.owner_staff, "curlew").hits] == [f"message:{message.pk}"]


def test_search_verify_reports_what_is_queued(world, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SEARCH_INDEX_WRITER = "worker"
    _post(world, "A dunlin flock.")
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("search_verify", stdout=out)
    assert "Queued additions not indexed yet: 1" in out.getvalue()
    call_command("search_worker", "--once", stdout=io.StringIO())
    call_command("search_verify", stdout=io.StringIO())  # clean now


def test_the_writer_writes_by_itself_after_the_delay(world, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SEARCH_INDEX_DELAY = 0.05
    message = _post(world, "A kingfisher on the gauge.")
    # No wait(): the thread must get there on its own (polled, with a generous bound).
    for _ in range(400):
        if world.search(world.cw.owner_staff, "kingfisher").total:
            break
        time.sleep(0.05)
    assert [hit.key for hit in world.search(world.cw.owner_staff, "kingfisher").hits] == [f"message:{message.pk}"]
