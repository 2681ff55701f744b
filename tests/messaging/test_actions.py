"""mark_read: a person marks their own notifications read, and never anyone else's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from messaging import actions, selectors
from messaging.models import Notification
from tests.messaging.conftest import notify_one
from workspace.models import User


def unread_ids(user: User) -> set[int]:
    return set(Notification.objects.filter(recipient=user, read_at=None).values_list("pk", flat=True))


def test_marks_only_the_given_notifications(world) -> None:  # type: ignore[no-untyped-def]
    first, second, third = (notify_one(world.own_staff, f"Notice {n}") for n in range(3))
    changed = actions.mark_read(actor=world.own_staff, notification_ids=[first.pk, third.pk])
    assert changed == 2
    assert unread_ids(world.own_staff) == {second.pk}


def test_none_marks_all_of_the_actors_and_nobody_elses(world) -> None:  # type: ignore[no-untyped-def]
    for n in range(3):
        notify_one(world.own_staff, f"Notice {n}")
    theirs = notify_one(world.other_staff)
    assert actions.mark_read(actor=world.own_staff, notification_ids=None) == 3
    assert unread_ids(world.own_staff) == set()
    assert unread_ids(world.other_staff) == {theirs.pk}


def test_other_peoples_ids_are_ignored_and_never_touched(world) -> None:  # type: ignore[no-untyped-def]
    mine = notify_one(world.own_staff)
    theirs = notify_one(world.other_staff)
    colleagues = notify_one(world.own_admin)
    changed = actions.mark_read(actor=world.own_staff, notification_ids=[theirs.pk, colleagues.pk, mine.pk, 987654])
    assert changed == 1
    assert unread_ids(world.other_staff) == {theirs.pk}
    assert unread_ids(world.own_admin) == {colleagues.pk}
    assert unread_ids(world.own_staff) == set()


def test_already_read_keeps_its_first_read_time(world) -> None:  # type: ignore[no-untyped-def]
    notification = notify_one(world.own_staff)
    earlier = timezone.now() - timedelta(days=2)
    Notification.objects.filter(pk=notification.pk).update(read_at=earlier)
    assert actions.mark_read(actor=world.own_staff, notification_ids=[notification.pk]) == 0
    assert actions.mark_read(actor=world.own_staff, notification_ids=None) == 0
    notification.refresh_from_db()
    assert notification.read_at == earlier


def test_empty_list_marks_nothing(world) -> None:  # type: ignore[no-untyped-def]
    notify_one(world.own_staff)
    assert actions.mark_read(actor=world.own_staff, notification_ids=[]) == 0
    assert selectors.unread_count(world.own_staff) == 1


def test_deactivated_person_cannot_mark(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PermissionDenied):
        actions.mark_read(actor=User.objects.get(pk=world.deactivated.pk), notification_ids=None)


def test_selectors_show_only_the_persons_own_newest_first(world) -> None:  # type: ignore[no-untyped-def]
    older = notify_one(world.own_staff, "Older")
    newer = notify_one(world.own_staff, "Newer")
    notify_one(world.other_staff, "Not yours")
    actions.mark_read(actor=world.own_staff, notification_ids=[older.pk])
    assert list(selectors.notifications_for_user(world.own_staff)) == [newer, older]
    assert selectors.unread_count(world.own_staff) == 1
    assert selectors.unread_count(world.own_admin) == 0
