"""The background writer: new items are indexed a moment after commit, in batches, by one
thread of the process; changes that narrow who may see something stay synchronous.

These tests commit for real (the writer's thread reads the committed rows on its own
connection), and set a long delay so that "not yet" is certain until they ask the writer
to finish with ``background.wait()``.
"""

from __future__ import annotations

import logging
import time
import uuid

import pytest

from communities import actions as community_actions
from messaging import actions
from messaging.models import Message
from search import background, indexer
from search.backends import get_backend
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


def test_a_failed_write_is_logged_and_the_next_one_still_happens(world, monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    backend = get_backend()
    original = backend.write
    calls = []

    def failing_once(documents, removals, **options):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            raise OSError("disk full")
        return original(documents, removals, **options)

    monkeypatch.setattr(backend, "write", failing_once)
    with caplog.at_level(logging.ERROR, logger="search.background"):
        _post(world, "The heron was lost.")
        assert background.wait(timeout=30)
    assert "search_verify --fix" in caplog.text
    later = _post(world, "The ibis was found.")
    assert background.wait(timeout=30)
    assert [hit.key for hit in world.search(world.cw.owner_staff, "ibis").hits] == [f"message:{later.pk}"]
    report = indexer.verify()
    assert [key.split(":")[0] for key in report.missing] == ["message"]  # the lost one, for --fix


def test_the_writer_writes_by_itself_after_the_delay(world, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SEARCH_INDEX_DELAY = 0.05
    message = _post(world, "A kingfisher on the gauge.")
    # No wait(): the thread must get there on its own (polled, with a generous bound).
    for _ in range(400):
        if world.search(world.cw.owner_staff, "kingfisher").total:
            break
        time.sleep(0.05)
    assert [hit.key for hit in world.search(world.cw.owner_staff, "kingfisher").hits] == [f"message:{message.pk}"]
