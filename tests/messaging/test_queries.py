"""The notification list and the header count cost the same number of queries for a few
notifications or many."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from messaging.models import Notification
from messaging.notifications import notify

# Session, person, paginator COUNT, membership and agency (header), header COUNT, the rows,
# the urgent-alert banner.
LIST_CEILING = 8


def captured(client, url: str) -> list[str]:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return [query["sql"] for query in ctx.captured_queries]


def grow(user, total: int) -> None:  # type: ignore[no-untyped-def]
    for n in range(total - Notification.objects.filter(recipient=user).count()):
        notify([user], kind="community.invited", title=f"Notice {n}", body="Body", url="/communities/x/", email=False)


def test_list_query_count_is_the_same_for_3_and_40_notifications(world, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(world.own_staff)
    grow(world.own_staff, 3)
    small = captured(client, reverse("notification_list"))
    grow(world.own_staff, 40)
    large = captured(client, reverse("notification_list"))
    assert len(small) == len(large), f"{len(small)} queries for 3 notifications, {len(large)} for 40"
    assert len(large) <= LIST_CEILING
    assert len(captured(client, reverse("notification_list") + "?page=2")) == len(large)


def test_header_count_is_one_count_query_per_page(world, client) -> None:  # type: ignore[no-untyped-def]
    grow(world.own_staff, 5)
    client.force_login(world.own_staff)
    touching = [sql for sql in captured(client, reverse("dashboard")) if "messaging_notification" in sql]
    assert len(touching) == 1 and "COUNT(" in touching[0].upper()


def test_no_count_for_anonymous_pages(db, client) -> None:  # type: ignore[no-untyped-def]
    queries = captured(client, reverse("login"))
    assert not [sql for sql in queries if "messaging_notification" in sql]
