"""Threads in the browser: two people of different agencies follow one thread live, a lost
connection catches up without a reload, and posting works with JavaScript turned off."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.e2e

JORDAN = "jordan.reyes@em.harborcounty.example"  # Harbor EM
RITA = "rita.alvarez@em.pinecounty.example"  # Pine EM
COORDINATION = "/communities/lakeland-emergency-coordination/"
THREADS = "/threads/c/lakeland-emergency-coordination/"
SANDBAGS = "Easton River Flood: sandbag requests"

# Keeps every socket the page opens within reach of the test, and lets it refuse new
# ones while ``__refuse`` is set (a network that is down).
TRACK_SOCKETS = """
(() => {
  const Native = window.WebSocket;
  window.__sockets = [];
  window.__refuse = false;
  window.WebSocket = class extends Native {
    constructor(...args) {
      if (window.__refuse) throw new Error("offline");
      super(...args);
      window.__sockets.push(this);
    }
  };
})();
"""


def open_thread(page: Page, visit, title: str, name: str) -> None:  # type: ignore[no-untyped-def]
    visit(page, THREADS, f"{name}-list")
    page.get_by_role("link", name=title, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.get_by_role("status").filter(has_text="Live")).to_be_visible()


def messages(page: Page):  # type: ignore[no-untyped-def]
    return page.get_by_role("list", name="Messages").get_by_role("listitem").filter(has=page.locator(".msg-body"))


def send(page: Page, text: str) -> None:
    page.get_by_role("textbox", name="Message").fill(text)
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("textbox", name="Message")).to_have_value("")


def test_two_agencies_see_each_others_messages_live(new_context, sign_in, visit, check_a11y) -> None:  # type: ignore[no-untyped-def]
    jordan = new_context().new_page()
    sign_in(jordan, JORDAN)
    visit(jordan, COORDINATION, "community")
    jordan.get_by_role("link", name="Threads", exact=True).click()
    expect(jordan.get_by_role("heading", level=1)).to_have_text("Threads")
    check_a11y(jordan, "thread-list")

    rita = new_context().new_page()
    sign_in(rita, RITA)
    open_thread(jordan, visit, SANDBAGS, "jordan")
    open_thread(rita, visit, SANDBAGS, "rita")
    check_a11y(rita, "thread")
    rita.evaluate("window.__notReloaded = true")
    jordan.evaluate("window.__notReloaded = true")

    # Rita types: Jordan is told; then she posts and Jordan sees it without reloading.
    rita.get_by_role("textbox", name="Message").press_sequentially("Pine EM")
    expect(jordan.locator("#typing")).to_have_text("Rita Alvarez (Pine EM) is typing…")
    send(rita, "Pine EM can send **six** people to fill bags at River Road.")
    from_rita = messages(jordan).filter(has_text="Pine EM can send six people")
    expect(from_rita).to_have_count(1)
    expect(from_rita.locator("strong")).to_have_text("six")
    expect(from_rita).to_contain_text("Rita Alvarez")
    expect(jordan.locator("#announcer")).to_have_text("New message from Rita Alvarez (Pine EM)")
    expect(jordan.locator("#typing")).to_have_text("")

    # Jordan answers Rita's message; she sees the answer, marked as a reply, once.
    from_rita.get_by_role("link", name="Reply to Rita Alvarez").click()
    expect(jordan.get_by_text("Replying to Rita Alvarez")).to_be_visible()
    send(jordan, "Thank you, Rita. The fairgrounds gate opens at 13:00.")
    reply = messages(rita).filter(has_text="The fairgrounds gate opens at 13:00.")
    expect(reply).to_have_count(1)
    expect(reply.get_by_role("link", name="In reply to Rita Alvarez")).to_be_visible()
    expect(messages(rita).filter(has_text="Pine EM can send six people")).to_have_count(1)

    # A reaction and a deletion reach the other side too.
    mine = messages(rita).filter(has_text="Pine EM can send six people")
    messages(jordan).filter(has_text="Pine EM can send six people").locator("summary").click()
    messages(jordan).filter(has_text="Pine EM can send six people").get_by_role(
        "button", name="thanks", exact=True
    ).click()
    expect(mine.get_by_role("button", name="thanks, 1")).to_be_visible()
    deleted = rita.locator(f"#{reply.get_attribute('id')}")
    jordans = messages(jordan).filter(has_text="The fairgrounds gate opens at 13:00.")
    jordans.get_by_role("link", name="Delete the message of Jordan Reyes").click()
    check_a11y(jordan, "delete-confirmation")
    jordan.get_by_role("button", name="Delete message").click()
    expect(deleted).to_contain_text("This message was deleted.")
    expect(deleted).not_to_contain_text("fairgrounds gate")

    check_a11y(rita, "thread-after-live-updates")
    assert rita.evaluate("window.__notReloaded") is True


def test_a_lost_connection_catches_up_without_a_reload(new_context, sign_in, visit) -> None:  # type: ignore[no-untyped-def]
    rita_context = new_context()
    rita_context.add_init_script(TRACK_SOCKETS)
    rita = rita_context.new_page()
    sign_in(rita, RITA)
    open_thread(rita, visit, SANDBAGS, "rita")
    rita.evaluate("window.__notReloaded = true")

    rita.evaluate("window.__refuse = true; window.__sockets.at(-1).close()")
    expect(rita.get_by_role("status")).to_contain_text("Reconnecting…")

    jordan = new_context().new_page()
    sign_in(jordan, JORDAN)
    open_thread(jordan, visit, SANDBAGS, "jordan")
    send(jordan, "Missed while offline: the levee crew needs gloves.")
    send(jordan, "And a second one: the pumps arrived.")
    expect(messages(rita).filter(has_text="Missed while offline")).to_have_count(0)

    # The network is back: the browser says so, and the page reconnects at once.
    rita.evaluate("window.__refuse = false; window.dispatchEvent(new Event('online'))")
    expect(rita.get_by_role("status")).to_contain_text("Live", timeout=15_000)
    expect(messages(rita).filter(has_text="Missed while offline: the levee crew needs gloves.")).to_have_count(1)
    expect(messages(rita).last).to_contain_text("And a second one: the pumps arrived.")
    assert rita.evaluate("window.__notReloaded") is True


def test_new_thread_restricted_to_two_agencies(new_context, sign_in, visit, check_a11y) -> None:  # type: ignore[no-untyped-def]
    jordan = new_context().new_page()
    sign_in(jordan, JORDAN)
    visit(jordan, THREADS, "thread-list")
    jordan.get_by_role("link", name="Start a thread").click()
    expect(jordan.get_by_role("heading", level=1)).to_have_text("Start a thread")
    check_a11y(jordan, "new-thread")
    jordan.get_by_role("button", name="Start thread").click()
    expect(jordan.get_by_text("Give the thread a title.")).to_be_visible()
    check_a11y(jordan, "new-thread-errors")

    jordan.get_by_label("Title").fill("County staging areas")
    jordan.get_by_label("First message").fill("Harbor and Pine: where do we stage the pumps?")
    jordan.get_by_label("Pine County Emergency Management").check()
    jordan.get_by_role("button", name="Start thread").click()
    expect(jordan.get_by_role("heading", level=1)).to_contain_text("County staging areas")
    expect(jordan.get_by_text("Only people of Harbor County Emergency Management and Pine County")).to_be_visible()
    check_a11y(jordan, "restricted-thread")

    rita = new_context().new_page()
    sign_in(rita, RITA)
    visit(rita, THREADS, "thread-list-pine")
    expect(rita.get_by_role("link", name="County staging areas")).to_be_visible()
    easton = new_context().new_page()
    sign_in(easton, "frank.novak@publicworks.easton.example")
    visit(easton, THREADS, "thread-list-easton")
    expect(easton.get_by_role("link", name=SANDBAGS)).to_be_visible()
    expect(easton.get_by_role("link", name="County staging areas")).to_have_count(0)


def test_posting_without_javascript(new_context) -> None:  # type: ignore[no-untyped-def]
    """The page is a plain form without JavaScript. (axe-core needs JavaScript to run, so
    these pages are checked in the tests above, with the same markup.)"""
    page = new_context(java_script_enabled=False).new_page()
    page.goto("/accounts/login/")
    page.get_by_label("Email address").fill(JORDAN)
    page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")
    page.goto(THREADS)
    page.get_by_role("link", name=SANDBAGS, exact=True).click()
    page.get_by_role("textbox", name="Message").fill("Posted by the form: 500 bags left at the fairgrounds.")
    page.get_by_role("button", name="Send").click()
    expect(page).to_have_url(re.compile(r"/threads/\d+/#message-\d+$"))
    expect(messages(page).filter(has_text="Posted by the form: 500 bags left")).to_have_count(1)

    # Replying works through the link and the hidden field.
    messages(page).filter(has_text="Posted by the form").get_by_role("link", name="Reply to Jordan Reyes").click()
    expect(page.get_by_text("Replying to Jordan Reyes")).to_be_visible()
    page.get_by_role("textbox", name="Message").fill("Correction: 450 bags.")
    page.get_by_role("button", name="Send").click()
    correction = messages(page).filter(has_text="Correction: 450 bags.")
    expect(correction.get_by_role("link", name="In reply to Jordan Reyes")).to_be_visible()

    # An empty message is refused with the reason next to the field, and nothing is stored.
    count = messages(page).count()
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Write something first.")).to_be_visible()
    assert messages(page).count() == count


def test_a_moderator_takes_a_thread_away_from_other_agencies(new_context, sign_in, visit, check_a11y) -> None:  # type: ignore[no-untyped-def]
    dana = new_context().new_page()  # LOEM admin: LOEM owns the community, so Dana moderates
    sign_in(dana, "dana.whitfield@loem.lakeland.example")
    visit(dana, THREADS, "thread-list-dana")
    dana.get_by_role("link", name="Start a thread").click()
    dana.get_by_label("Title").fill("Duty roster for the weekend")
    dana.get_by_label("First message").fill("Who covers Saturday night?")
    dana.get_by_role("button", name="Start thread").click()
    expect(dana.get_by_role("heading", level=1)).to_contain_text("Duty roster for the weekend")

    easton = new_context().new_page()
    sign_in(easton, "frank.novak@publicworks.easton.example")
    visit(easton, THREADS, "thread-list-easton-before")
    expect(easton.get_by_role("link", name="Duty roster for the weekend")).to_be_visible()

    dana.get_by_role("link", name=re.compile("^Thread settings")).click()
    expect(dana.get_by_role("heading", level=1)).to_have_text("Thread settings")
    check_a11y(dana, "thread-settings")
    dana.get_by_label("Only the agencies chosen below").check()
    dana.get_by_label("Harbor County Emergency Management").check()
    dana.get_by_role("button", name="Change who can see it").click()
    expect(dana.get_by_role("heading", level=1)).to_contain_text("Take this thread away from")
    expect(dana.get_by_role("listitem").filter(has_text="City of Easton Public Works")).to_be_visible()
    check_a11y(dana, "thread-audience-confirm")
    dana.get_by_role("button", name="Restrict the thread").click()
    expect(dana.get_by_text("Who can see this thread has changed.")).to_be_visible()
    expect(dana.get_by_text(re.compile("Only people of Harbor County Emergency Management and"))).to_be_visible()

    visit(easton, THREADS, "thread-list-easton-after")
    expect(easton.get_by_role("link", name="Duty roster for the weekend")).to_have_count(0)
