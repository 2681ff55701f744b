"""The notification routes against anonymous, own-agency staff and admin, other-agency staff
and admin, and a person deactivated mid-session. Everyone signed in works on their own
notifications only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from messaging.models import Notification
from tests.matrix import LOGIN, ROLES, Route, check_route, client_as
from tests.messaging.conftest import notify_one

SIGNED_IN = {"anonymous": LOGIN, "deactivated": LOGIN}
SIGNED_IN_GET = dict.fromkeys(ROLES, 200) | SIGNED_IN
SIGNED_IN_POST = dict.fromkeys(ROLES, 302) | SIGNED_IN
PEOPLE = [role for role in ROLES if role not in ("anonymous", "deactivated")]


def _own_staffs_notification(world) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {"id": notify_one(world.own_staff).pk}


ROUTES = [
    Route("notification list", lambda w: reverse("notification_list"), SIGNED_IN_GET),
    Route("mark all read", lambda w: reverse("notification_mark_read"), SIGNED_IN_POST, method="post"),
    Route(
        "mark one read",
        lambda w: reverse("notification_mark_read"),
        SIGNED_IN_POST,
        method="post",
        data=_own_staffs_notification,
    ),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_route_permissions(route: Route, role: str, world) -> None:  # type: ignore[no-untyped-def]
    check_route(route, role, world)


@pytest.mark.parametrize("role", PEOPLE)
def test_each_person_sees_and_marks_only_their_own(role: str, world) -> None:  # type: ignore[no-untyped-def]
    mine = {person: notify_one(world.person(person), f"For {person} only") for person in PEOPLE}
    client = client_as(role, world)
    html = client.get(reverse("notification_list")).content.decode()
    assert f"For {role} only" in html
    assert [person for person in PEOPLE if f"For {person} only" in html] == [role]

    for notification in mine.values():
        client.post(reverse("notification_mark_read"), {"id": notification.pk})
    client.post(reverse("notification_mark_read"))
    read = set(Notification.objects.exclude(read_at=None).values_list("recipient_id", flat=True))
    assert read == {world.person(role).pk}


def test_deactivated_persons_notifications_stay_as_they_were(world) -> None:  # type: ignore[no-untyped-def]
    theirs = notify_one(world.own_staff)
    Notification.objects.filter(pk=theirs.pk).update(recipient=world.deactivated)
    client = client_as("deactivated", world)
    response = client.post(reverse("notification_mark_read"), {"id": theirs.pk})
    assert response.status_code == LOGIN
    assert Notification.objects.get(pk=theirs.pk).read_at is None
