"""A person reads their notifications: the header count, the list, marking read, on a phone too."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import _manage, _server_env
from tests.e2e.test_mobile import PHONE, assert_no_horizontal_scroll

pytestmark = pytest.mark.e2e

PERSON = "ben.foster@health.harborcounty.example"


def notify_demo_person(server, count: int) -> None:  # type: ignore[no-untyped-def]
    """Write notifications for PERSON through ``notify``, in the server's own database."""
    code = (
        "from messaging.notifications import notify\n"
        "from workspace.models import User\n"
        f"person = User.objects.get(email={PERSON!r})\n"
        f"for n in range({count}):\n"
        "    notify([person], kind='community.invited', title=f'Lakeland OEM invited you, number {n}',"
        " body='Join the Basin Flood Working Group.\\nIt meets on Mondays.', url='/communities/', email=False)\n"
    )
    _manage(_server_env(server.log_path.parent, server.base_url), "shell", "-c", code)


def nav_link(page: Page):  # type: ignore[no-untyped-def]
    return page.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile(r"^Notifications"))


def test_header_count_list_and_marking_read(server, page, sign_in, visit, check_a11y):
    sign_in(page, PERSON)
    visit(page, "/notifications/", "empty")
    expect(page.get_by_text("No notifications yet.")).to_be_visible()

    notify_demo_person(server, 3)
    visit(page, "/", "dashboard-with-count")
    expect(nav_link(page)).to_have_accessible_name("Notifications, 3 unread")
    nav_link(page).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Notifications")
    expect(page.locator(".notification.is-unread")).to_have_count(3)
    check_a11y(page, "unread")

    page.get_by_role("button", name="Mark as read: Lakeland OEM invited you, number 1").click()
    expect(page.locator(".notification.is-unread")).to_have_count(2)
    expect(nav_link(page)).to_have_accessible_name("Notifications, 2 unread")

    page.get_by_role("button", name="Mark all as read").click()
    expect(page.get_by_role("status")).to_contain_text("All notifications are marked as read.")
    expect(page.locator(".notification.is-unread")).to_have_count(0)
    expect(nav_link(page)).to_have_accessible_name("Notifications")
    check_a11y(page, "all-read")


def test_phone_layout_of_notifications(server, new_context, sign_in, visit):
    phone = new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()
    notify_demo_person(server, 2)
    sign_in(phone, PERSON)
    assert_no_horizontal_scroll(phone, "dashboard")
    visit(phone, "/notifications/", "notifications")
    assert_no_horizontal_scroll(phone, "notifications")
    expect(phone.get_by_role("button", name="Mark all as read")).to_be_visible()
