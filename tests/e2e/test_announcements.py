"""The broadband grant round in the browser: LBO's program manager writes an announcement,
previews it, publishes it and promotes it into Pine County's partners community; Pine's
owner accepts; a Pine County colleague sees it there. Public pages need no sign-in."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

GRACE = "grace.liu@broadband.lakeland.example"
VICTOR = "victor.lane@edc.pinecounty.example"
MIA = "mia.santos@edc.pinecounty.example"
PINE = "Pine County Economic Development Partners"
TITLE = "Digital Equity office hours: Tuesdays in March"


def test_publish_promote_accept_and_read(new_context, sign_in, visit, check_a11y) -> None:  # type: ignore[no-untyped-def]
    grace = new_context().new_page()
    sign_in(grace, GRACE)
    visit(grace, "/announcements/", "announcements")
    grace.get_by_role("link", name="Write an announcement").click()
    expect(grace.get_by_role("heading", level=1)).to_have_text("Write an announcement")
    check_a11y(grace, "composer")

    grace.get_by_label("Home community").select_option(label="Lakeland Broadband Programs")
    grace.get_by_label("Title").fill(TITLE)
    grace.get_by_label("Summary").fill("Bring your Round 2 questions; the grants team answers them live.")
    grace.get_by_label("Text").fill(
        "Every **Tuesday** at 10:00.\n\n- Eligibility\n- Budgets\n\n<script>alert(1)</script>"
    )
    grace.get_by_label("Program").fill("Digital Equity")
    grace.get_by_label("Public: anyone, in public pages and feeds").check()
    grace.get_by_label("Topics").fill("grants, office hours")
    grace.get_by_role("button", name="Preview").click()
    preview = grace.get_by_role("region", name="Preview")
    expect(preview.locator("strong", has_text="Tuesday")).to_be_visible()
    expect(preview).to_contain_text("<script>alert(1)</script>")  # shown as text, never run
    check_a11y(grace, "composer-preview")

    grace.get_by_role("button", name="Publish").click()
    expect(grace.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(grace.get_by_role("status")).to_contain_text("Published")
    check_a11y(grace, "published")

    grace.get_by_label("Community", exact=True).select_option(label=PINE)
    grace.get_by_label("Note to its owners").fill("For Pine County applicants.")
    grace.get_by_role("button", name="Ask to promote").click()
    expect(grace.get_by_role("status")).to_contain_text(f"Asked {PINE}")
    expect(grace.get_by_role("row", name=re.compile(PINE))).to_contain_text("Pending")
    check_a11y(grace, "promotion-asked")

    victor = new_context().new_page()
    sign_in(victor, VICTOR)
    visit(victor, "/announcements/promotions/", "promotion-requests")
    victor.get_by_role("button", name=f"Accept “{TITLE}” into {PINE}").click()
    expect(victor.get_by_role("status")).to_contain_text(f"now appears in {PINE}")
    check_a11y(victor, "promotion-accepted")

    mia = new_context().new_page()
    sign_in(mia, MIA)
    visit(mia, "/announcements/c/pine-county-economic-development-partners/", "pine-announcements")
    card = mia.get_by_role("article", name=TITLE)
    expect(card).to_contain_text("Lakeland Broadband Office")
    expect(card).to_contain_text("Digital Equity")
    expect(card).to_contain_text("Promoted")
    card.get_by_role("link", name=TITLE).click()
    expect(mia.get_by_role("heading", level=1)).to_have_text(TITLE)
    check_a11y(mia, "announcement-read")

    # Grace sees where it reached: Pine accepted, and Mia opened it.
    visit(grace, "/announcements/", "announcements-after")
    grace.get_by_role("link", name=TITLE).first.click()
    grace.get_by_role("link", name="Reach").click()
    expect(grace.get_by_role("heading", level=1)).to_contain_text("Where")
    expect(grace.get_by_role("row", name=re.compile("Pine County Economic Development"))).to_contain_text("1")
    check_a11y(grace, "reach")


def test_public_pages_and_feeds_need_no_sign_in(new_context, visit, check_a11y) -> None:  # type: ignore[no-untyped-def]
    page = new_context().new_page()
    visit(page, "/announcements/a/lbo/", "agency-public-page")
    expect(page.get_by_role("heading", level=1)).to_have_text("Announcements of Lakeland Broadband Office")
    expect(
        page.get_by_role("link", name="Digital Equity Subgrants, Round 2: applications open March 3")
    ).to_be_visible()
    expect(page.get_by_text("Round 2 reviewer guide")).to_have_count(0)  # members only
    page.get_by_role("link", name="Digital Equity Subgrants, Round 2: applications open March 3").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Digital Equity Subgrants")
    check_a11y(page, "public-announcement")
    response = page.request.get("/announcements/a/lbo/feed.atom")
    assert response.status == 200 and "Digital Equity Subgrants" in response.text()
    assert "reviewer guide" not in response.text()
