"""The notification list, marking read from it, and the unread count in the header."""

from __future__ import annotations

import re

from django.urls import reverse

from messaging.models import Notification
from tests.messaging.conftest import notify_one

LIST = reverse("notification_list")
READ = reverse("notification_mark_read")


def badge(html: str) -> str:
    """The header link to the notification list, tags stripped, as a screen reader reads it."""
    link = re.search(r'<a href="/notifications/"[^>]*>(.*?)</a>', html, re.S)
    assert link is not None
    hidden = r'<span aria-hidden="true">.*?</span></span>'
    return re.sub(rf"{hidden}|<[^>]+>", "", link.group(1)).strip()


def test_list_shows_own_notifications_newest_first_with_unread_marked(world, client) -> None:  # type: ignore[no-untyped-def]
    older = notify_one(world.own_staff, "Pine EM asked to join", url="/communities/basin/")
    notify_one(world.own_staff, "Harbor EM accepted")
    notify_one(world.other_staff, "Somebody else's secret")
    Notification.objects.filter(pk=older.pk).update(read_at=older.created_at)
    client.force_login(world.own_staff)
    html = client.get(LIST).content.decode()
    assert html.index("Harbor EM accepted") < html.index("Pine EM asked to join")
    assert "Somebody else" not in html
    assert html.count('class="notification is-unread"') == 1
    assert html.count('<span class="badge">Unread</span>') == 1
    assert '<a href="/communities/basin/">Pine EM asked to join</a>' in html
    assert "1 unread." in html


def test_text_is_escaped(world, client) -> None:  # type: ignore[no-untyped-def]
    notify_one(world.own_staff, "<script>alert(1)</script>", body="<img src=x onerror=alert(2)>\nsecond line")
    client.force_login(world.own_staff)
    html = client.get(LIST).content.decode()
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(2)&gt;<br>second line" in html


def test_empty_state(world, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(world.own_staff)
    html = client.get(LIST).content.decode()
    assert "No notifications yet." in html
    assert "Mark all as read" not in html


def test_pages_of_25(world, client) -> None:  # type: ignore[no-untyped-def]
    for n in range(30):
        notify_one(world.own_staff, f"Notice number {n:02d}")
    client.force_login(world.own_staff)
    first = client.get(LIST).content.decode()
    second = client.get(LIST + "?page=2").content.decode()
    assert first.count('<li class="notification') == 25 and "Notice number 29" in first
    assert second.count('<li class="notification') == 5 and "Notice number 00" in second
    assert "Page 2 of 2" in second


def test_header_shows_the_unread_count_to_eyes_and_screen_readers(world, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(world.own_staff)
    assert badge(client.get(reverse("dashboard")).content.decode()) == "Notifications"
    for n in range(3):
        notify_one(world.own_staff, f"Notice {n}")
    notify_one(world.other_staff)
    html = client.get(reverse("dashboard")).content.decode()
    assert badge(html) == "Notifications, 3 unread"
    assert '<span aria-hidden="true">Notifications <span class="count">3</span></span>' in html


def test_mark_all_read_redirects_back(world, client) -> None:  # type: ignore[no-untyped-def]
    for n in range(3):
        notify_one(world.own_staff, f"Notice {n}")
    theirs = notify_one(world.other_staff)
    client.force_login(world.own_staff)
    response = client.post(READ, {"next": LIST + "?page=1"})
    assert response.status_code == 302 and response["Location"] == LIST + "?page=1"
    assert not Notification.objects.filter(recipient=world.own_staff, read_at=None).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None
    html = client.get(response["Location"]).content.decode()
    assert "All notifications are marked as read." in html
    assert badge(html) == "Notifications"


def test_mark_one_read(world, client) -> None:  # type: ignore[no-untyped-def]
    keep = notify_one(world.own_staff, "Keep me")
    done = notify_one(world.own_staff, "Done with me")
    client.force_login(world.own_staff)
    response = client.post(READ, {"id": done.pk})
    assert response.status_code == 302 and response["Location"] == LIST
    done.refresh_from_db()
    keep.refresh_from_db()
    assert done.read_at is not None and keep.read_at is None


def test_cannot_mark_or_see_another_persons_notification(world, client) -> None:  # type: ignore[no-untyped-def]
    theirs = notify_one(world.own_admin, "Only for the admin")
    client.force_login(world.own_staff)
    assert "Only for the admin" not in client.get(LIST).content.decode()
    assert client.post(READ, {"id": theirs.pk}).status_code == 302
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_next_must_be_a_path_on_this_site(world, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(world.own_staff)
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example/", "javascript:alert(1)"):
        response = client.post(READ, {"next": target})
        assert response["Location"] == LIST, target


def test_bad_id_changes_nothing_and_says_so(world, client) -> None:  # type: ignore[no-untyped-def]
    notify_one(world.own_staff)
    client.force_login(world.own_staff)
    response = client.post(READ, {"id": "all-of-them"}, follow=True)
    assert "Choose a notification to mark as read." in response.content.decode()
    assert Notification.objects.filter(recipient=world.own_staff, read_at=None).count() == 1


def test_marking_read_needs_post(world, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(world.own_staff)
    assert client.get(READ).status_code == 405
