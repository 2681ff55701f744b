"""The indexer: one batch per transaction, written after commit, only what changed, and a
failed index write never reaches the person who acted."""

from __future__ import annotations

import logging
import uuid

import pytest
from django.db import transaction

from messaging import actions
from messaging.models import Message
from search import indexer
from search.backends import get_backend
from search.backends.whoosh_backend import WhooshBackend
from tests.search.conftest import fresh

pytestmark = pytest.mark.parametrize("backend", ["whoosh"], indirect=True)


@pytest.fixture
def writes(monkeypatch) -> list[tuple[list[str], list[str]]]:  # type: ignore[no-untyped-def]
    """Every non-empty index write, as (written keys, removed keys)."""
    seen: list[tuple[list[str], list[str]]] = []
    original = WhooshBackend.write

    def recording(self, documents, removals):  # type: ignore[no-untyped-def]
        if documents or removals:
            seen.append(([d.key for d in documents], list(removals)))
        return original(self, documents, removals)

    monkeypatch.setattr(WhooshBackend, "write", recording)
    return seen


def test_a_transaction_is_written_once_after_commit(sw, committed, writes) -> None:  # type: ignore[no-untyped-def]
    with committed():
        thread = actions.create_thread(actor=fresh(sw.cw.owner_staff), community=sw.community, title="T", body="B")
        assert writes == []  # nothing before commit
    message = thread.messages.get()
    assert writes == [([f"thread:{thread.pk}", f"message:{message.pk}"], [])]


def test_unchanged_items_are_not_rewritten(sw, committed, writes) -> None:  # type: ignore[no-untyped-def]
    with committed():
        indexer.reindex_community_on_commit(sw.community)
        indexer.index_on_commit(sw.open_thread)
    assert writes == []


def test_a_rolled_back_savepoint_does_not_lose_later_work(sw, committed) -> None:  # type: ignore[no-untyped-def]
    with committed():
        with pytest.raises(RuntimeError), transaction.atomic():
            actions.post_message(
                actor=fresh(sw.cw.owner_staff), thread=sw.open_thread, body="Ibis", client_id=uuid.uuid4()
            )
            raise RuntimeError("boom")
        later = actions.post_message(
            actor=fresh(sw.cw.owner_staff), thread=sw.open_thread, body="Heron", client_id=uuid.uuid4()
        ).message
    assert sw.search(sw.cw.owner_staff, "ibis").total == 0
    assert {h.key for h in sw.search(sw.cw.owner_staff, "heron").hits} == {f"message:{later.pk}"}


def test_a_failed_index_write_is_logged_not_raised(sw, committed, monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    def broken(self, documents, removals):  # type: ignore[no-untyped-def]
        raise OSError("disk full")

    monkeypatch.setattr(WhooshBackend, "write", broken)
    with caplog.at_level(logging.ERROR, logger="search.indexer"), committed():
        posted = actions.post_message(
            actor=fresh(sw.cw.owner_staff), thread=sw.open_thread, body="Egret", client_id=uuid.uuid4()
        )
    assert Message.objects.filter(pk=posted.message.pk).exists()
    assert "search_verify --fix" in caplog.text
    assert indexer.verify().missing == [f"message:{posted.message.pk}"]


def test_reindex_community_picks_up_rows_changed_behind_the_actions(sw) -> None:  # type: ignore[no-untyped-def]
    Message.objects.filter(pk=sw.reply.pk).update(body_html="<p>Kingfisher</p>")
    indexer.reindex_community(sw.community.pk)
    assert {h.key for h in sw.search(sw.cw.owner_staff, "kingfisher").hits} == {f"message:{sw.reply.pk}"}
    assert get_backend().digests([f"message:{sw.reply.pk}"])
