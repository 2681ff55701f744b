"""Shared documents in the browser: Harbor County's clinic coordinator uploads a sheet to the
health coalition and revises it, the health officer shares it with Tri-County Water, that
agency's admin accepts, and its water quality specialist downloads it. axe on every page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

COORDINATOR = "ben.foster@health.harborcounty.example"
HEALTH_OFFICER = "alice.chen@health.harborcounty.example"
WATER_ADMIN = "greg.holt@water.tricounty.example"
WATER_STAFF = "ivy.chen@water.tricounty.example"
COALITION = "/communities/lakeland-health-coalition/"
FIRST = b"site,day,hours\nHarbor City Health Center,Mon,9-4\n"
SECOND = b"site,day,hours\nHarbor City Health Center,Mon,9-4\nTri-County intake plant,Fri,8-12\n"


def test_upload_revise_share_and_download(new_context, sign_in, visit, check_a11y) -> None:  # type: ignore[no-untyped-def]
    coordinator = new_context().new_page()
    sign_in(coordinator, COORDINATOR)
    visit(coordinator, COALITION, "coalition")
    coordinator.get_by_role("link", name="Documents", exact=True).click()
    expect(coordinator.get_by_role("heading", level=1)).to_have_text("Documents")
    expect(coordinator.get_by_role("link", name="Immunization clinic schedule")).to_be_visible()
    check_a11y(coordinator, "documents-list")

    coordinator.get_by_role("link", name="Add a document").click()
    check_a11y(coordinator, "upload-form")
    coordinator.get_by_label("File").set_input_files(
        files=[{"name": "flu-clinic-signup.csv", "mimeType": "text/csv", "buffer": FIRST}]
    )
    coordinator.get_by_label("Title").fill("Flu clinic sign-up sheet")
    coordinator.get_by_label("Tags").fill("flu, schedule")
    coordinator.get_by_role("button", name="Upload").click()
    expect(coordinator.get_by_role("heading", level=1)).to_have_text("Flu clinic sign-up sheet")
    expect(coordinator).to_have_url(re.compile(r"/documents/\d+/$"))
    expect(coordinator.get_by_text("“Flu clinic sign-up sheet” is added.")).to_be_visible()
    document_path = re.search(r"/documents/\d+/", coordinator.url).group(0)  # type: ignore[union-attr]
    check_a11y(coordinator, "document-added")

    coordinator.get_by_role("link", name="Upload a new version").click()
    expect(coordinator.get_by_role("heading", level=1)).to_have_text("Upload a new version")
    check_a11y(coordinator, "revise-form")
    coordinator.get_by_label("File").set_input_files(
        files=[{"name": "flu-clinic-signup.csv", "mimeType": "text/csv", "buffer": SECOND}]
    )
    coordinator.get_by_label("What changed").fill("Friday session at the intake plant.")
    coordinator.get_by_role("button", name="Upload version").click()
    expect(coordinator.get_by_text("Version 2 of “Flu clinic sign-up sheet” is uploaded.")).to_be_visible()
    expect(coordinator.get_by_role("heading", name="Versions (2)")).to_be_visible()
    check_a11y(coordinator, "document-revised")

    officer = new_context().new_page()
    sign_in(officer, HEALTH_OFFICER)
    visit(officer, document_path, "document-as-manager")
    target = officer.get_by_label("Share with")
    target.select_option(label="Tri-County Regional Water Authority")
    officer.get_by_label("Message (optional)").fill("Your plant hosts the Friday session.")
    officer.get_by_role("button", name="Offer").click()
    expect(officer.get_by_text("Nothing changes until they accept.")).to_be_visible()
    check_a11y(officer, "share-offered")

    water_staff = new_context().new_page()
    sign_in(water_staff, WATER_STAFF)
    visit(water_staff, document_path, "document-before-consent", status=404)

    admin = new_context().new_page()
    sign_in(admin, WATER_ADMIN)
    visit(admin, "/documents/", "shared-documents-inbox")
    admin.get_by_role(
        "button", name="Accept “Flu clinic sign-up sheet” for Tri-County Regional Water Authority"
    ).click()
    expect(admin.get_by_text("is shared with Tri-County Regional Water Authority")).to_be_visible()
    check_a11y(admin, "share-accepted")

    visit(water_staff, "/documents/", "shared-with-tri-county")
    water_staff.get_by_role("link", name="Flu clinic sign-up sheet").click()
    expect(water_staff.get_by_role("heading", level=1)).to_have_text("Flu clinic sign-up sheet")
    check_a11y(water_staff, "document-as-receiving-agency")
    with water_staff.expect_download() as download_info:
        water_staff.get_by_role("link", name=re.compile(r"^Download version 2")).first.click()
    download = download_info.value
    assert download.suggested_filename == "flu-clinic-signup.csv"
    with open(download.path(), "rb") as f:
        assert f.read() == SECOND
    with water_staff.expect_download() as old_info:
        water_staff.get_by_role("link", name="Download version 1", exact=True).click()
    with open(old_info.value.path(), "rb") as f:
        assert f.read() == FIRST
