"""Community streams in the browser: a reader of Lakeland Broadband Programs keeps its
announcements page open; LBO's program manager publishes an announcement in her own
session and then retracts it; the reader's page shows both without a reload, and says so
in its live region."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

GRACE = "grace.liu@broadband.lakeland.example"  # LBO, publishes in the community
HANNAH = "hannah.ortiz@library.easton.example"  # Easton library, a participant
ANNOUNCEMENTS = "/announcements/c/lakeland-broadband-programs/"
TITLE = "Hotspot lending: new pickup hours at the Easton library"


def test_an_announcement_appears_and_is_retracted_live(new_context, sign_in, visit, check_a11y) -> None:  # type: ignore[no-untyped-def]
    hannah = new_context().new_page()
    sign_in(hannah, HANNAH)
    visit(hannah, ANNOUNCEMENTS, "community-announcements")
    activity = hannah.get_by_role("region", name="Live activity")
    expect(activity.get_by_role("status")).to_contain_text("Live")
    expect(hannah.get_by_role("article", name=TITLE)).to_have_count(0)
    hannah.evaluate("window.__notReloaded = true")

    grace = new_context().new_page()
    sign_in(grace, GRACE)
    visit(grace, "/announcements/new/?community=lakeland-broadband-programs", "composer")
    grace.get_by_label("Title").fill(TITLE)
    grace.get_by_label("Summary").fill("Pick up a hotspot on weekday evenings from 5 to 8.")
    grace.get_by_label("Text").fill("Bring a library card.")
    grace.get_by_label("Program").fill("Digital Equity")
    grace.get_by_role("button", name="Publish").click()
    expect(grace.get_by_role("heading", level=1)).to_have_text(TITLE)

    # Published: the card is on top of Hannah's list, built from the event.
    card = hannah.get_by_role("article", name=TITLE)
    expect(card).to_be_visible()
    expect(card).to_contain_text("Lakeland Broadband Office")
    expect(card).to_contain_text("Digital Equity")
    expect(card).to_contain_text("Pick up a hotspot on weekday evenings")
    expect(card.get_by_role("link", name=TITLE)).to_have_attribute("href", re.compile(r"^/announcements/\d+/$"))
    first = hannah.locator("#announcements article").first
    expect(first).to_have_attribute("aria-labelledby", re.compile(r"^announcement-\d+-title$"))
    expect(first).to_contain_text(TITLE)
    entries = activity.get_by_role("list", name="Live activity, newest first").get_by_role("listitem")
    expect(entries.first).to_contain_text(f"New announcement from LBO (Digital Equity): {TITLE}")
    expect(entries.first.get_by_role("link", name=TITLE)).to_be_visible()
    assert hannah.evaluate("window.__notReloaded") is True
    check_a11y(hannah, "announcement-arrived")

    # Retracted: the card stays, marked, without its link; the live region says so.
    grace.get_by_role("link", name="Retract…").click()
    expect(grace.get_by_role("heading", level=1)).to_have_text("Retract this announcement?")
    grace.get_by_role("button", name="Retract everywhere").click()
    expect(grace.get_by_text("Retracted on")).to_be_visible()

    expect(card).to_contain_text("Retracted")
    expect(card.get_by_role("link", name=TITLE)).to_have_count(0)
    expect(entries.first).to_have_text(re.compile(rf"Announcement retracted: “{re.escape(TITLE)}”"))
    expect(entries).to_have_count(2)
    assert hannah.evaluate("window.__notReloaded") is True
    check_a11y(hannah, "announcement-retracted")

    # Reloaded, the page is what the server renders: the retracted one is gone.
    hannah.reload()
    expect(hannah.get_by_role("article", name=TITLE)).to_have_count(0)
