"""The spring flood in the browser: LOEM's duty officer sends an urgent alert from the
incident page; a dispatcher at Easton Public Works, whose tab is on her dashboard, sees the
banner appear live and acknowledges it there; the duty officer's roll-up updates without a
reload. axe-core checks every page on the way."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

COORDINATOR = "dana.whitfield@loem.lakeland.example"  # LOEM, commands the incident
DISPATCHER = "leah.kim@publicworks.easton.example"  # Easton PW, another agency
INCIDENT = "Easton River Flood"


def alert_card(page: Page, body: str):  # type: ignore[no-untyped-def]
    return page.locator(".alert-card").filter(has_text=body)


def test_alert_reaches_another_page_and_the_rollup_updates_live(new_context, sign_in, visit, check_a11y) -> None:  # type: ignore[no-untyped-def]
    body = f"Evacuate the river flats by 21:00 (drill {uuid.uuid4().hex[:6]})"

    dana = new_context().new_page()
    sign_in(dana, COORDINATOR)
    visit(dana, "/incidents/", "incident-list")
    dana.get_by_role("link", name=INCIDENT, exact=True).click()
    expect(dana.get_by_role("heading", level=1)).to_contain_text(INCIDENT)
    expect(dana.locator("#live-status")).to_contain_text("Live")
    check_a11y(dana, "incident-page")

    leah = new_context().new_page()
    sign_in(leah, DISPATCHER)  # stays on the dashboard
    expect(leah.get_by_role("heading", level=1)).to_have_text("Welcome, Leah")

    dana.get_by_text("Send an urgent alert").click()
    dana.get_by_role("textbox", name="Alert").fill(body)
    dana.get_by_role("button", name="Send alert").click()
    expect(dana.get_by_role("status")).to_contain_text("The alert is sent.")
    card = alert_card(dana, body)
    expect(card.locator(".rollup-summary")).to_contain_text(re.compile(r"^0 of \d+ agencies"))
    easton_row = card.locator(".rollup-agency").filter(has_text="Easton PW")
    expect(easton_row).to_contain_text("Waiting")
    check_a11y(dana, "alert-sent")
    dana.evaluate("window.notReloaded = true")

    # The dispatcher's dashboard, untouched since she signed in, shows the alert.
    banner_item = leah.locator(".alert-item").filter(has_text=body)
    expect(banner_item).to_be_visible()
    expect(banner_item).to_have_attribute("role", "alert")
    expect(banner_item.get_by_role("link", name=INCIDENT)).to_be_visible()
    check_a11y(leah, "banner-on-dashboard")
    leah.evaluate("window.notReloaded = true")
    banner_item.get_by_role("button", name=f"Acknowledge the alert in {INCIDENT}").click()
    expect(banner_item).to_have_count(0)
    assert leah.evaluate("window.notReloaded") is True  # acknowledged over the socket, in place
    expect(leah).to_have_url(re.compile(r"/$"))
    check_a11y(leah, "banner-acknowledged")

    # The duty officer's roll-up counts Easton PW now, without a reload.
    expect(easton_row).to_have_class(re.compile(r"\bis-done\b"))
    expect(easton_row).to_contain_text("Acknowledged")
    expect(card.locator(".rollup-summary")).to_contain_text(re.compile(r"^1 of \d+ agencies, 1 of \d+ people"))
    assert dana.evaluate("window.notReloaded") is True
    check_a11y(dana, "rollup-updated")

    # The dispatcher opens the incident: the duty officer sees her arrive in the roster.
    leah.get_by_role("link", name="Incidents").click()
    # (Her banner links to it too: the demo alert still waits for her.)
    leah.get_by_role("table").get_by_role("link", name=INCIDENT, exact=True).click()
    expect(leah.locator("#live-status")).to_contain_text("Live")
    expect(alert_card(leah, body).locator(".acknowledged")).to_contain_text("You acknowledged")
    check_a11y(leah, "incident-page-dispatcher")
    roster = dana.locator("#roster")
    expect(roster.locator(".roster-group").filter(has_text="Easton PW")).to_contain_text("Leah Kim")

    visit(dana, dana.url.split("#")[0] + "handoff/", "handoff")
    expect(dana.get_by_role("heading", level=1)).to_have_text(f"Shift handoff: {INCIDENT}")
    expect(dana.get_by_role("main")).to_contain_text(body)


def test_acknowledging_without_the_pages_scripts(new_context, sign_in, visit) -> None:  # type: ignore[no-untyped-def]
    """The banner is an ordinary form: with the site's scripts not loaded (blocked here, so
    that axe itself can still run), acknowledging posts it and comes back to the same page."""
    context = new_context()
    context.route("**/static/js/*.js", lambda route: route.abort())
    page = context.new_page()
    sign_in(page, "ivy.chen@water.tricounty.example")  # Tri-County observes; the demo alert waits for her
    item = page.locator(".alert-item").filter(has_text="Activate EOCs, report status by 18:00")
    expect(item).to_be_visible()
    visit(page, "/communities/", "banner-on-directory")
    page.locator(".alert-item").filter(has_text="Activate EOCs").get_by_role("button").click()
    expect(page).to_have_url(re.compile(r"/communities/$"))
    expect(page.get_by_role("status")).to_contain_text("You acknowledged the alert in Easton River Flood")
    expect(page.locator(".alert-item").filter(has_text="Activate EOCs")).to_have_count(0)
