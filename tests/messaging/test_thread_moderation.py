"""Moderating a thread from the browser: title and state, and who can see it. Taking a
thread away from agencies is confirmed first, then reaches their results and sockets at
once; bad input changes nothing. (Who may use these routes: test_thread_pages.py.)"""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from messaging import actions, events
from messaging.models import StreamEvent, Thread
from search import api
from tests.messaging.test_thread_pages import ThreadWorld, build_thread_world, fresh, post
from workspace.exceptions import ActionError
from workspace.models import AuditEvent


@pytest.fixture
def tw(db) -> ThreadWorld:  # type: ignore[no-untyped-def]
    return build_thread_world()


@pytest.fixture
def committed_tw(transactional_db) -> ThreadWorld:  # type: ignore[no-untyped-def]
    """The world with real commits: the search index is written after each one."""
    return build_thread_world()


def as_(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def audience(thread: Thread) -> tuple[bool, list[int]]:
    thread.refresh_from_db()
    return thread.restricted, sorted(thread.allowed_agencies.values_list("pk", flat=True))


def test_the_settings_page_shows_the_current_state(tw) -> None:  # type: ignore[no-untyped-def]
    page = as_(tw.cw.owner_admin).get(reverse("thread_settings", args=[tw.restricted.pk])).content.decode()
    assert 'value="Levee breach drill (OEM only)"' in page
    assert re.search(r'value="some"[^>]*checked', page)
    detail = as_(tw.cw.owner_admin).get(reverse("thread_detail", args=[tw.thread.pk])).content.decode()
    assert reverse("thread_settings", args=[tw.thread.pk]) in detail
    reader = as_(tw.cw.participant_staff).get(reverse("thread_detail", args=[tw.thread.pk])).content.decode()
    assert reverse("thread_settings", args=[tw.thread.pk]) not in reader  # not offered to non-moderators


def test_a_moderator_locks_and_renames_a_thread(tw) -> None:  # type: ignore[no-untyped-def]
    url = reverse("thread_settings", args=[tw.thread.pk])
    response = as_(tw.cw.owner_admin).post(url, {"title": "Sandbag staging: closed", "locked": "on"})
    assert response.status_code == 302
    tw.thread.refresh_from_db()
    assert (tw.thread.title, tw.thread.is_locked, tw.thread.is_pinned) == ("Sandbag staging: closed", True, False)
    with pytest.raises(PermissionDenied):
        post(tw.thread, tw.cw.participant_staff)  # locked


def test_an_empty_title_is_refused_and_changes_nothing(tw) -> None:  # type: ignore[no-untyped-def]
    before = StreamEvent.objects.count()
    url = reverse("thread_settings", args=[tw.thread.pk])
    response = as_(tw.cw.owner_admin).post(url, {"title": " ", "locked": "on"})
    assert response.status_code == 400
    assert "Give the thread a title." in response.content.decode()
    tw.thread.refresh_from_db()
    assert not tw.thread.is_locked and StreamEvent.objects.count() == before


def test_taking_a_thread_away_is_confirmed_first_and_then_hides_it(committed_tw) -> None:  # type: ignore[no-untyped-def]
    tw = committed_tw
    url = reverse("thread_audience", args=[tw.thread.pk])
    choice = {"audience": "some", "restrict_to": [tw.cw.owner.pk]}
    assert api.query(fresh(tw.cw.participant_staff), "fairgrounds").total == 1
    first = as_(tw.cw.owner_admin).post(url, choice)
    assert first.status_code == 200
    page = first.content.decode()
    for agency in (tw.cw.participant, tw.cw.observer):
        assert agency.name in page  # named before anything changes
    assert tw.cw.owner.name not in page.split("<ul>")[1].split("</ul>")[0]
    assert audience(tw.thread) == (False, [])
    assert as_(tw.cw.owner_admin).post(url, choice | {"confirm": "on"}).status_code == 302
    assert audience(tw.thread) == (True, [tw.cw.owner.pk])
    assert as_(tw.cw.participant_staff).get(reverse("thread_detail", args=[tw.thread.pk])).status_code == 404
    assert api.query(fresh(tw.cw.participant_staff), "fairgrounds").total == 0  # before the request returned
    assert api.query(fresh(tw.cw.owner_staff), "fairgrounds").total == 1
    record = AuditEvent.objects.filter(verb="thread.audience_changed").get()
    assert record.details["restricted"] is True and tw.cw.participant.slug in record.details["lost"]


def test_opening_a_restricted_thread_needs_no_confirmation(committed_tw) -> None:  # type: ignore[no-untyped-def]
    tw = committed_tw
    assert api.query(fresh(tw.cw.participant_staff), "drill").total == 0
    url = reverse("thread_audience", args=[tw.restricted.pk])
    assert as_(tw.cw.owner_admin).post(url, {"audience": "everyone"}).status_code == 302
    assert audience(tw.restricted) == (False, [])
    assert as_(tw.cw.participant_staff).get(reverse("thread_detail", args=[tw.restricted.pk])).status_code == 200
    assert api.query(fresh(tw.cw.participant_staff), "drill").total >= 1


def test_a_moderator_of_another_agency_keeps_their_own_among_the_allowed(tw) -> None:  # type: ignore[no-untyped-def]
    url = reverse("thread_audience", args=[tw.thread.pk])
    response = as_(tw.cw.moderator).post(url, {"audience": "some", "restrict_to": [tw.cw.owner.pk], "confirm": "on"})
    assert response.status_code == 302
    assert audience(tw.thread) == (True, sorted([tw.cw.owner.pk, tw.cw.moderator.agency.pk]))


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"audience": "nobody"},
        {"audience": "some", "restrict_to": ["not-a-number"]},
        {"audience": "some", "restrict_to": ["999999"]},
    ],
    ids=["no choice", "unknown choice", "bad agency", "agency not a member"],
)
def test_bad_audience_input_is_refused_and_changes_nothing(tw, data) -> None:  # type: ignore[no-untyped-def]
    before = (audience(tw.thread), StreamEvent.objects.count(), AuditEvent.objects.count())
    response = as_(tw.cw.owner_admin).post(reverse("thread_audience", args=[tw.thread.pk]), data | {"confirm": "on"})
    assert response.status_code == 400
    assert 'class="field-error"' in response.content.decode()
    assert (audience(tw.thread), StreamEvent.objects.count(), AuditEvent.objects.count()) == before


def test_a_non_member_agency_is_refused_by_the_action(tw) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ActionError, match="member agencies"):
        actions.change_thread_audience(
            actor=fresh(tw.cw.owner_admin), thread=tw.thread, restrict_to=[tw.cw.owner, tw.cw.nonmember]
        )
    assert audience(tw.thread) == (False, [])


def test_restricting_names_no_title_on_the_community_stream(tw) -> None:  # type: ignore[no-untyped-def]
    community_stream = f"community:{tw.cw.community.pk}"
    before = events.current_seq(community_stream)
    actions.change_thread_audience(actor=fresh(tw.cw.owner_admin), thread=tw.thread, restrict_to=[tw.cw.owner])
    removed = StreamEvent.objects.get(stream=community_stream, seq=before + 1)
    assert (removed.kind, removed.data) == ("thread.removed", {"thread": {"id": tw.thread.pk, "reason": "restricted"}})
    last = StreamEvent.objects.filter(stream=tw.thread.stream).order_by("-seq").first()
    assert last.kind == "thread.updated" and last.data["changed"] == ["restricted"]
    actions.change_thread_audience(
        actor=fresh(tw.cw.owner_admin), thread=tw.thread, restrict_to=[tw.cw.owner, tw.cw.participant]
    )
    assert events.current_seq(community_stream) == before + 1  # still restricted: its title goes nowhere shared
    actions.change_thread_audience(actor=fresh(tw.cw.owner_admin), thread=tw.thread, restrict_to=None)
    opened = StreamEvent.objects.get(stream=community_stream, seq=before + 2)
    assert opened.kind == "thread.updated" and opened.data["thread"]["title"] == "Sandbag staging"


def test_the_same_audience_again_changes_nothing(tw) -> None:  # type: ignore[no-untyped-def]
    before = StreamEvent.objects.count()
    change = actions.change_thread_audience(
        actor=fresh(tw.cw.owner_admin), thread=tw.restricted, restrict_to=[tw.cw.owner]
    )
    assert change.lost == change.gained == [] and StreamEvent.objects.count() == before
