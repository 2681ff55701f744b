"""Signing in, what a plain staff member may not do, and keyboard access to the content."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

ADMIN = "jordan.reyes@em.harborcounty.example"
STAFF = "marcus.ortega@loem.lakeland.example"


def test_agency_admin_signs_in_to_their_dashboard(page, sign_in):
    sign_in(page, ADMIN)

    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Jordan")
    agency = page.get_by_role("region", name="Your agency")
    expect(agency.get_by_role("link", name="Harbor County Emergency Management")).to_be_visible()
    expect(agency).to_contain_text("you are admin")
    expect(agency.get_by_role("link", name="Manage staff")).to_be_visible()
    expect(page.get_by_role("banner")).to_contain_text("Jordan Reyes")


def test_wrong_password_shows_an_accessible_error(page, visit, check_a11y):
    visit(page, "/accounts/login/", "sign-in")
    page.get_by_label("Email address").fill("casey.morgan@em.harborcounty.example")
    page.get_by_label("Password", exact=True).fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("alert")).to_contain_text("do not match an active account")
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    check_a11y(page, "sign-in-error")


def test_signed_out_visitor_is_sent_to_sign_in(page, check_a11y):
    page.goto("/agencies/harbor-em/staff/")

    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/agencies/harbor-em/staff/$"))
    check_a11y(page, "sign-in-with-next")


def test_plain_staff_cannot_manage_staff(page, sign_in, visit):
    sign_in(page, STAFF)

    expect(page.get_by_role("region", name="Your agency")).to_contain_text("you are staff")
    expect(page.get_by_role("link", name="Manage staff")).to_have_count(0)
    expect(page.get_by_role("link", name="Audit log")).to_have_count(0)

    visit(page, "/agencies/loem/", "own-agency")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Lakeland Office of Emergency Management")
    expect(page.get_by_role("link", name="Manage staff")).to_have_count(0)

    for path, name in [
        ("/agencies/loem/staff/", "forbidden-own-staff"),
        ("/agencies/harbor-em/staff/", "forbidden-other-staff"),
        ("/agencies/harbor-em/audit/", "forbidden-other-audit"),
    ]:
        visit(page, path, name, status=403)
        expect(page.get_by_role("heading", level=1)).to_have_text("You can't do that here")
        expect(page.get_by_role("link", name="Back to your dashboard")).to_be_visible()


def test_skip_link_is_the_first_tab_stop_and_moves_focus_to_main(page, sign_in, visit, check_a11y):
    sign_in(page, ADMIN)

    for path, name in [("/", "dashboard"), ("/agencies/harbor-em/staff/", "staff")]:
        visit(page, path, name)
        page.keyboard.press("Tab")
        skip_link = page.get_by_role("link", name="Skip to main content")
        expect(skip_link).to_be_focused()
        box = skip_link.bounding_box()
        assert box is not None and box["x"] >= 0 and box["y"] >= 0, f"skip link is off screen when focused: {box}"
        check_a11y(page, f"{name}-skip-link-focused")

        page.keyboard.press("Enter")
        expect(page.locator("main#main")).to_be_focused()
        # The next Tab stop is the first control inside the main content, past the header.
        page.keyboard.press("Tab")
        assert page.evaluate("document.querySelector('main').contains(document.activeElement)"), (
            "Tab after the skip link did not land inside main"
        )
