"""Search in the browser: the header box, the results page, a facet, opening a result."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

WATER_STAFF = "ivy.chen@water.tricounty.example"


def test_search_filter_and_open_a_result(page, sign_in, check_a11y) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, WATER_STAFF)
    box = page.get_by_role("search", name="Site search").get_by_role("searchbox")
    box.fill("coalition")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/search/\?q=coalition"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Search")
    expect(page.get_by_role("status").first).to_contain_text("for “coalition”")
    check_a11y(page, "results")

    facets = page.get_by_role("complementary", name="Narrow down")
    facets.get_by_role("link", name=re.compile(r"^Communities \d+$")).click()
    expect(page).to_have_url(re.compile(r"type=community"))
    expect(facets.get_by_role("link", name=re.compile(r"^Communities \d+$"))).to_have_attribute("aria-current", "true")
    check_a11y(page, "filtered")

    results = page.get_by_role("list", name=re.compile(r"^Results"))
    first = results.get_by_role("heading", level=3).first.get_by_role("link")
    title = first.inner_text()
    first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(title)
    check_a11y(page, "opened")
