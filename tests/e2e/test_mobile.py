"""The layout on a phone: readable, accessible, and no sideways scrolling of the page."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}


def assert_no_horizontal_scroll(page: Page, name: str) -> None:
    sizes = page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth,"
        " body: document.body.scrollWidth})"
    )
    assert sizes["inner"] == PHONE["width"], f"{name}: unexpected viewport width {sizes}"
    assert sizes["scroll"] <= sizes["inner"], f"{name}: the page scrolls sideways {sizes}"
    assert sizes["body"] <= sizes["inner"], f"{name}: the body is wider than the screen {sizes}"


@pytest.fixture
def phone(new_context) -> Page:  # type: ignore[no-untyped-def]
    return new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()


def test_phone_layout_of_the_admin_pages(phone, sign_in, visit):
    sign_in(phone, "grace.liu@broadband.lakeland.example")
    assert_no_horizontal_scroll(phone, "dashboard")
    expect(phone.get_by_role("link", name="Manage staff")).to_be_visible()

    for path, name in [
        ("/", "dashboard"),
        ("/agencies/lbo/staff/", "staff"),
        ("/agencies/lbo/audit/", "audit"),
        ("/agencies/", "agencies"),
        ("/agencies/lbo/", "agency"),
    ]:
        visit(phone, path, name)
        assert_no_horizontal_scroll(phone, name)

    # The staff page's controls are usable at this width.
    visit(phone, "/agencies/lbo/staff/", "staff-again")
    expect(phone.get_by_role("button", name="Send invitation")).to_be_visible()
    expect(phone.get_by_role("button", name="Sign out")).to_be_visible()


def test_phone_layout_of_sign_in(phone, visit):
    visit(phone, "/accounts/login/", "sign-in")
    assert_no_horizontal_scroll(phone, "sign-in")
    expect(phone.get_by_role("button", name="Sign in")).to_be_visible()
