"""Scheduled publication and expiry through ``publish_scheduled``, on a clock the test sets."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from communities.announcements import actions, selectors
from communities.announcements.models import Announcement, AnnouncementState, Audience, Frequency
from messaging.models import StreamEvent
from tests.announcements.conftest import AnnouncementWorld, write


def run(now, *args: str) -> str:  # type: ignore[no-untyped-def]
    out = StringIO()
    call_command("publish_scheduled", f"--now={now.isoformat()}", *args, stdout=out)
    return out.getvalue()


def events(community, kind: str) -> int:  # type: ignore[no-untyped-def]
    return StreamEvent.objects.filter(stream=f"community:{community.pk}", kind=kind).count()


@pytest.fixture
def scheduled(aw: AnnouncementWorld) -> Announcement:
    """Round 2 opens on Monday at 08:00 and closes thirty days later."""
    monday = timezone.now().replace(microsecond=0) + timedelta(days=3)
    return write(
        aw.publisher_admin,
        aw.home,
        "Round 2 opens Monday",
        publish_at=monday,
        expire_at=monday + timedelta(days=30),
    )


def agency_feed_titles() -> str:
    return Client().get(reverse("announcement_agency_feed", args=["lbo", "atom"])).content.decode()


def test_scheduled_is_invisible_until_its_time(aw: AnnouncementWorld, scheduled: Announcement) -> None:
    assert scheduled.state == AnnouncementState.SCHEDULED
    assert "Round 2 opens Monday" not in agency_feed_titles()
    assert scheduled not in selectors.announcements_for_user(aw.participant)
    assert Client().get(scheduled.get_absolute_url()).status_code == 302
    out = run(scheduled.publish_at - timedelta(minutes=1))
    assert "0 published" in out
    scheduled.refresh_from_db()
    assert scheduled.state == AnnouncementState.SCHEDULED


def test_publishes_on_time_once(
    aw: AnnouncementWorld, scheduled: Announcement, django_capture_on_commit_callbacks, mailoutbox
) -> None:  # type: ignore[no-untyped-def]
    actions.subscribe(actor=aw.participant, frequency=Frequency.IMMEDIATE, community=aw.home)
    with django_capture_on_commit_callbacks(execute=True):
        out = run(scheduled.publish_at)
    assert "1 published" in out and f"#{scheduled.pk}" in out
    scheduled.refresh_from_db()
    assert scheduled.state == AnnouncementState.PUBLISHED
    assert scheduled.published_at == scheduled.publish_at
    assert "Round 2 opens Monday" in agency_feed_titles()
    assert events(aw.home, "announcement.published") == 4  # three from the world, one now
    assert [m.to for m in mailoutbox] == [[aw.participant.email]]

    with django_capture_on_commit_callbacks(execute=True):
        again = run(scheduled.publish_at + timedelta(minutes=1))
    assert "0 published, 0 expired" in again
    assert events(aw.home, "announcement.published") == 4
    assert len(mailoutbox) == 1


def test_expires_at_its_time(aw: AnnouncementWorld, scheduled: Announcement) -> None:
    run(scheduled.publish_at)
    scheduled.refresh_from_db()
    assert "0 expired" in run(scheduled.expire_at - timedelta(seconds=1))
    out = run(scheduled.expire_at)
    assert "1 expired" in out
    scheduled.refresh_from_db()
    assert scheduled.state == AnnouncementState.EXPIRED
    assert events(aw.home, "announcement.expired") == 1
    assert "0 expired" in run(scheduled.expire_at + timedelta(days=1))
    with pytest.raises(Exception):  # noqa: B017 (the action refuses: it can no longer change)
        actions.update_announcement(
            actor=aw.publisher_admin, announcement=scheduled, title="Again", program="Digital Equity"
        )


def test_a_missed_window_expires_without_publishing(aw: AnnouncementWorld, scheduled: Announcement) -> None:
    out = run(scheduled.expire_at + timedelta(hours=1))
    assert "0 published, 1 expired" in out
    scheduled.refresh_from_db()
    assert scheduled.state == AnnouncementState.EXPIRED and scheduled.published_at is None
    assert events(aw.home, "announcement.published") == 3


def test_dry_run_changes_nothing(aw: AnnouncementWorld, scheduled: Announcement) -> None:
    out = run(scheduled.publish_at, "--dry-run")
    assert "1 published" in out and "Dry run" in out
    scheduled.refresh_from_db()
    assert scheduled.state == AnnouncementState.SCHEDULED
    assert events(aw.home, "announcement.published") == 3


def test_publishing_by_hand_before_the_time(aw: AnnouncementWorld, scheduled: Announcement) -> None:
    actions.publish_announcement(actor=aw.publisher_staff, announcement=scheduled)
    scheduled.refresh_from_db()
    assert scheduled.state == AnnouncementState.PUBLISHED
    assert "0 published" in run(scheduled.publish_at + timedelta(minutes=5))


def test_a_scheduled_one_needs_a_time(aw: AnnouncementWorld, scheduled: Announcement) -> None:
    from workspace.exceptions import ActionError

    with pytest.raises(ActionError):
        actions.update_announcement(
            actor=aw.publisher_admin,
            announcement=scheduled,
            title=scheduled.title,
            program="Digital Equity",
            audience=Audience.PUBLIC,
        )


def test_bad_clock_is_refused(db) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CommandError):
        call_command("publish_scheduled", "--now=next monday", stdout=StringIO())
