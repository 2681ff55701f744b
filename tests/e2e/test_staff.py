"""An agency admin manages staff: invitations, roles, deactivation and its effect on sessions."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

HARBOR_ADMIN = "jordan.reyes@em.harborcounty.example"
HEALTH_ADMIN = "alice.chen@health.harborcounty.example"
HEALTH_STAFF = "ben.foster@health.harborcounty.example"


def messages(page: Page):  # type: ignore[no-untyped-def]
    return page.get_by_role("status")


def staff_row(page: Page, email: str):  # type: ignore[no-untyped-def]
    section = page.get_by_role("region", name=re.compile(r"^Staff \("))
    return section.get_by_role("row").filter(has_text=email)


def invite(page: Page, email: str, role: str = "staff") -> None:
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Role", exact=True).select_option(role)
    page.get_by_role("button", name="Send invitation").click()
    expect(messages(page)).to_contain_text(f"Invitation sent to {email}.")


def test_admin_invites_changes_role_and_deactivates(page, sign_in, visit, check_a11y):
    sign_in(page, HARBOR_ADMIN)
    page.get_by_role("link", name="Manage staff").click()
    expect(page).to_have_url(re.compile(r"/agencies/harbor-em/staff/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Manage staff")
    check_a11y(page, "staff")

    # Invite a colleague: the success message and the pending list show it.
    invite(page, "pat.lee@em.harborcounty.example")
    pending = page.get_by_role("region", name="Pending invitations")
    row = pending.get_by_role("row").filter(has_text="pat.lee@em.harborcounty.example")
    expect(row).to_contain_text("Staff")
    expect(row).to_contain_text("Jordan Reyes")
    expect(pending.get_by_role("button", name="Revoke invitation for pat.lee@em.harborcounty.example")).to_be_visible()
    check_a11y(page, "invited")

    # An invalid address is refused with an error next to the field.
    page.get_by_label("Email address").fill("not-an-address")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator(".field-error")).to_contain_text("valid email address")
    check_a11y(page, "invite-error")
    visit(page, "/agencies/harbor-em/staff/", "staff-again")

    # Make Casey an admin, then staff again.
    role = page.get_by_label("Role of Casey Morgan", exact=True)
    for new_role in ("admin", "staff"):
        role.select_option(new_role)
        page.get_by_role("button", name="Save role of Casey Morgan").click()
        expect(messages(page)).to_contain_text(f"Casey Morgan is now {new_role}.")
        expect(role).to_have_value(new_role)
        check_a11y(page, f"role-{new_role}")

    # Deactivate Casey through the confirmation page, then reactivate.
    casey = staff_row(page, "casey.morgan@em.harborcounty.example")
    page.get_by_role("link", name="Deactivate Casey Morgan").click()
    expect(page).to_have_url(re.compile(r"/agencies/harbor-em/staff/\d+/deactivate/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Deactivate Casey Morgan?")
    check_a11y(page, "deactivate-confirm")
    page.get_by_role("button", name="Deactivate Casey Morgan").click()

    expect(page).to_have_url(re.compile(r"/agencies/harbor-em/staff/$"))
    expect(messages(page)).to_contain_text("Casey Morgan has been deactivated and signed out everywhere.")
    expect(casey).to_contain_text("Deactivated")
    expect(casey).to_have_class(re.compile(r"\binactive\b"))
    expect(page.get_by_label("Role of Casey Morgan", exact=True)).to_have_count(0)
    check_a11y(page, "deactivated")

    page.get_by_role("button", name="Reactivate Casey Morgan").click()
    expect(messages(page)).to_contain_text("Casey Morgan can sign in again.")
    expect(casey).to_contain_text("Active")
    expect(page.get_by_role("link", name="Deactivate Casey Morgan")).to_be_visible()
    check_a11y(page, "reactivated")

    # The audit log has every step, newest first.
    visit(page, "/agencies/harbor-em/audit/?actor=Jordan+Reyes", "audit")
    rows = page.get_by_role("table", name=re.compile("Audit events")).locator("tbody tr")
    expected = [
        ("staff.reactivated", "Casey Morgan"),
        ("staff.deactivated", "Casey Morgan"),
        ("staff.role_changed", "from: admin to: staff"),
        ("staff.role_changed", "from: staff to: admin"),
        ("staff.invited", "pat.lee@em.harborcounty.example"),
    ]
    for index, (verb, text) in enumerate(expected):
        expect(rows.nth(index).locator("td").nth(2)).to_have_text(verb)
        expect(rows.nth(index)).to_contain_text(text)


def test_invited_colleague_signs_up_from_the_emailed_link(
    page, new_context, sign_in, visit, check_a11y, read_invitation_link
):
    email = "riley.quinn@em.harborcounty.example"
    sign_in(page, HARBOR_ADMIN)
    visit(page, "/agencies/harbor-em/staff/", "staff")
    invite(page, email)
    check_a11y(page, "invited")

    link = read_invitation_link(email)
    newcomer = new_context().new_page()
    visit(newcomer, link, "join")
    expect(newcomer.get_by_role("heading", level=1)).to_have_text("Join Harbor County Emergency Management")
    expect(newcomer.get_by_role("main")).to_contain_text(email)

    # A password mismatch is reported on the field, and nothing is created.
    newcomer.get_by_label("Full name").fill("Riley Quinn")
    newcomer.get_by_label("Job title").fill("Logistics coordinator")
    newcomer.get_by_label("Password", exact=True).fill("harbor-logistics-2026")
    newcomer.get_by_label("Password again").fill("something-else-2026")
    newcomer.get_by_role("button", name="Create my account").click()
    expect(newcomer.locator(".field-error")).to_contain_text("The two passwords differ.")
    check_a11y(newcomer, "join-error")

    newcomer.get_by_label("Password", exact=True).fill("harbor-logistics-2026")
    newcomer.get_by_label("Password again").fill("harbor-logistics-2026")
    newcomer.get_by_role("button", name="Create my account").click()

    expect(newcomer).to_have_url(re.compile(r"/$"))
    expect(messages(newcomer)).to_contain_text("Welcome to the Interagency Workspace, Riley.")
    agency = newcomer.get_by_role("region", name="Your agency")
    expect(agency.get_by_role("link", name="Harbor County Emergency Management")).to_be_visible()
    expect(agency).to_contain_text("you are staff (Logistics coordinator)")
    check_a11y(newcomer, "welcome")

    # The link works once.
    visit(newcomer, link, "join-used", status=404)
    expect(newcomer.get_by_role("heading", level=1)).to_have_text("This invitation link does not work")

    # The admin sees the newcomer on the staff list and no longer as pending.
    visit(page, "/agencies/harbor-em/staff/", "staff-after-join")
    expect(staff_row(page, email)).to_contain_text("Riley Quinn")
    expect(page.get_by_role("region", name="Pending invitations")).not_to_contain_text(email)


def test_deactivation_ends_an_open_session(new_context, sign_in, visit, check_a11y):
    member = new_context().new_page()
    sign_in(member, HEALTH_STAFF)

    admin = new_context().new_page()
    sign_in(admin, HEALTH_ADMIN)
    visit(admin, "/agencies/harbor-health/staff/", "admin-staff")
    admin.get_by_role("link", name="Deactivate Ben Foster").click()
    check_a11y(admin, "admin-deactivate-confirm")
    admin.get_by_role("button", name="Deactivate Ben Foster").click()
    expect(messages(admin)).to_contain_text("Ben Foster has been deactivated")
    try:
        member.reload()
        expect(member).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
        expect(member.get_by_role("heading", level=1)).to_have_text("Sign in")
        check_a11y(member, "member-signed-out")

        # And the old password no longer lets them in.
        member.get_by_label("Email address").fill(HEALTH_STAFF)
        member.get_by_label("Password", exact=True).fill("lakeland-demo-2026")
        member.get_by_role("button", name="Sign in").click()
        expect(member.get_by_role("alert")).to_be_visible()
        expect(member).to_have_url(re.compile(r"/accounts/login/"))
        check_a11y(member, "member-refused")
    finally:
        # Put Ben back for any other test.
        visit(admin, "/agencies/harbor-health/staff/", "admin-staff-again")
        admin.get_by_role("button", name="Reactivate Ben Foster").click()
        expect(messages(admin)).to_contain_text("Ben Foster can sign in again.")
