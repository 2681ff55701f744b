"""The audit log: what staff changes leave behind, filtering, and the CSV export."""

from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

ADMIN = "rita.alvarez@em.pinecounty.example"
INVITEE = "audit.trail@em.pinecounty.example"


def test_audit_log_shows_filters_and_exports_events(page, sign_in, visit, check_a11y):
    sign_in(page, ADMIN)

    # Leave some events of our own: invite someone, then revoke the invitation.
    visit(page, "/agencies/pine-em/staff/", "staff")
    page.get_by_label("Email address").fill(INVITEE)
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_role("status")).to_contain_text(f"Invitation sent to {INVITEE}.")
    page.get_by_role("button", name=f"Revoke invitation for {INVITEE}").click()
    expect(page.get_by_role("status")).to_contain_text(f"Invitation for {INVITEE} revoked.")
    check_a11y(page, "revoked")

    visit(page, "/", "dashboard")
    page.get_by_role("link", name="Audit log").click()
    expect(page).to_have_url(re.compile(r"/agencies/pine-em/audit/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")
    check_a11y(page, "audit")

    table = page.get_by_role("table", name=re.compile("Audit events"))
    rows = table.locator("tbody tr")
    # Newest first: the revocation, then the invitation; the seeded deactivation further down.
    expect(rows.nth(0)).to_contain_text("staff.invitation_revoked")
    expect(rows.nth(0)).to_contain_text("Rita Alvarez")
    expect(rows.nth(1)).to_contain_text("staff.invited")
    expect(rows.nth(1)).to_contain_text(INVITEE)
    expect(rows.filter(has_text="staff.deactivated").filter(has_text="Sam Keller")).to_have_count(1)

    # Filter by one action.
    page.get_by_label("Action").select_option("staff.invited")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"[?&]verb=staff\.invited(&|$)"))
    check_a11y(page, "audit-filtered")
    expect(rows.filter(has_text=INVITEE)).to_have_count(1)
    verbs = table.locator("tbody tr td:nth-child(3)").all_inner_texts()
    assert verbs, "the filtered audit log is empty"
    assert set(verbs) == {"staff.invited"}, verbs

    # The export carries the same filter and downloads as CSV.
    export = page.get_by_role("link", name="Export CSV")
    expect(export).to_have_attribute("href", re.compile(r"/agencies/pine-em/audit\.csv\?.*verb=staff\.invited"))
    with page.expect_download() as download_info:
        export.click()
    download = download_info.value
    assert download.suggested_filename == "audit-pine-em.csv"
    text = download.path().read_text(encoding="utf-8")
    records = list(csv.DictReader(io.StringIO(text)))
    assert records, text
    assert {record["verb"] for record in records} == {"staff.invited"}
    assert any(INVITEE in record["details"] for record in records), text

    # The unfiltered export has everything, including the revocation.
    response = page.request.get("/agencies/pine-em/audit.csv")
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/csv")
    verbs = {record["verb"] for record in csv.DictReader(io.StringIO(response.text()))}
    assert {"staff.invited", "staff.invitation_revoked", "staff.deactivated"} <= verbs, verbs

    # Clearing the filter brings every event back.
    page.get_by_role("link", name="Clear").click()
    expect(page).to_have_url(re.compile(r"/agencies/pine-em/audit/$"))
    expect(rows.first).to_contain_text("staff.invitation_revoked")
    check_a11y(page, "audit-cleared")
