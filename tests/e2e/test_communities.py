"""Two-sided consent in the browser: an owner invites an agency, its admin accepts, and
that agency's staff then see the community."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

OCIO_ADMIN = "samuel.okafor@cio.lakeland.example"
WATER_ADMIN = "greg.holt@water.tricounty.example"
WATER_STAFF = "ivy.chen@water.tricounty.example"
SHARED_IT = "/communities/lakeland-shared-it-services/"


def test_owner_invites_agency_admin_accepts_staff_see_it(new_context, sign_in, visit, check_a11y) -> None:  # type: ignore[no-untyped-def]
    staff = new_context().new_page()
    sign_in(staff, WATER_STAFF)
    visit(staff, SHARED_IT, "shared-it-as-outsider")
    expect(staff.get_by_role("heading", level=1)).to_contain_text("Lakeland Shared IT Services")

    owner = new_context().new_page()
    sign_in(owner, OCIO_ADMIN)
    visit(owner, SHARED_IT, "shared-it-as-owner")
    agency_select = owner.get_by_label("Agency", exact=True)
    value = agency_select.locator("option", has_text="Tri-County Regional Water Authority").get_attribute("value")
    agency_select.select_option(value)
    owner.get_by_role("button", name="Review invitation").click()
    expect(owner.get_by_role("heading", level=1)).to_have_text("Before access widens")
    expect(owner.get_by_role("main")).to_contain_text("Tri-County Regional Water Authority")
    check_a11y(owner, "invite-preview")
    owner.get_by_role("button", name="Send the invitation").click()
    check_a11y(owner, "invite-sent")

    admin = new_context().new_page()
    sign_in(admin, WATER_ADMIN)
    visit(admin, "/communities/inbox/", "inbox")
    admin.get_by_role("button", name="Accept the invitation to Lakeland Shared IT Services").click()
    check_a11y(admin, "inbox-accepted")

    visit(staff, "/", "dashboard-after-joining")
    expect(staff.get_by_role("link", name="Lakeland Shared IT Services")).to_be_visible()
    visit(staff, "/communities/", "directory")
