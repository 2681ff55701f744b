"""Feeds: valid in every format, public ones public only, private ones per person, and
every change (edit, retraction, declined promotion, lost membership) reaching all of them."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import timedelta

import feedparser
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.http import http_date

from communities import actions as community_actions
from communities.announcements import actions
from communities.announcements.feeds import JSON_FEED_VERSION
from communities.announcements.models import Announcement, Audience
from communities.models import Visibility
from tests.announcements.conftest import AnnouncementWorld, write

FORMATS = ("atom", "rss", "json")
ATOM = "{http://www.w3.org/2005/Atom}"


def public_feeds(world: AnnouncementWorld, fmt: str) -> dict[str, str]:
    return {
        "home community": reverse("announcement_community_feed", args=[world.home.slug, fmt]),
        "receiving community": reverse("announcement_community_feed", args=[world.receiving.slug, fmt]),
        "agency": reverse("announcement_agency_feed", args=["lbo", fmt]),
        "program": reverse("announcement_program_feed", args=["lbo", "digital-equity", fmt]),
        "topic": reverse("announcement_tag_feed", args=["grants", fmt]),
    }


def private_feed(user, fmt: str = "atom") -> str:  # type: ignore[no-untyped-def]
    token = actions.reset_feed_token(actor=user)
    return reverse("announcement_private_feed", args=[token, fmt])


def entries(url: str, client: Client | None = None) -> list[str]:
    """The titles of a feed's entries, read the way a feed reader reads them."""
    response = (client or Client()).get(url)
    assert response.status_code == 200, url
    if url.endswith(".json"):
        return [item["title"] for item in json.loads(response.content)["items"]]
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, f"{url}: {parsed.get('bozo_exception')}"
    return [entry.title for entry in parsed.entries]


# --- Valid in every format, whatever the text ---------------------------------------------------

NASTY_TITLE = 'Round 2 <b>opens</b> & "closes" — ᏣᎳᎩ 数字 رقمي 🛜 \x07\x1b done'
NASTY_SUMMARY = "Tom & Jerry's <script>alert(1)</script> &amp; &copy; &#x2603; \x00\x0b summary"
NASTY_BODY = (
    "**Bold** <em>raw html</em> <script>alert(1)</script> & [link](https://example.org/?a=1&b=2)\n\n"
    "```\n<xml> & \x0c code\n```\n\nΕλληνικά, ʻŌlelo Hawaiʻi, Diné bizaad, \ufffe\x7f end"
)


@pytest.fixture
def nasty(aw: AnnouncementWorld) -> Announcement:
    announcement = write(
        aw.publisher_admin,
        aw.home,
        NASTY_TITLE,
        tags=["grants", "ᏣᎳᎩ"],
        links=[{"label": "Apply <now> & \x01 soon", "url": "https://example.org/apply?x=1&y=<2>"}],
    )
    actions.update_announcement(
        actor=aw.publisher_admin,
        announcement=announcement,
        title=NASTY_TITLE,
        summary=NASTY_SUMMARY,
        body=NASTY_BODY,
        program="Digital Equity",
        audience=Audience.PUBLIC,
        tags=["grants", "ᏣᎳᎩ"],
        links=[{"label": "Apply <now> & \x01 soon", "url": "https://example.org/apply?x=1&y=<2>"}],
    )
    promotion = actions.request_promotion(actor=aw.publisher_admin, announcement=announcement, community=aw.receiving)
    actions.accept_promotion(actor=aw.receiver_owner, promotion=promotion)
    # Text that reached the database some other way (an older row, a raw fix): feeds clean
    # it once more. (PostgreSQL refuses NUL in text, so that one is left out here.)
    Announcement.objects.filter(pk=announcement.pk).update(summary=NASTY_SUMMARY.replace("\x00", "") + "\x1b\x08")
    return announcement


CLEAN_TITLE = 'Round 2 <b>opens</b> & "closes" — ᏣᎳᎩ 数字 رقمي 🛜 done'


@pytest.mark.parametrize("fmt", ["atom", "rss"])
def test_xml_feeds_parse_strictly_and_in_feedparser(aw: AnnouncementWorld, nasty: Announcement, fmt: str) -> None:
    """Markup, entities, non-Latin scripts and control characters: every XML feed is well
    formed (strict parser) and feedparser reads it without complaint."""
    urls = public_feeds(aw, fmt) | {"private": private_feed(aw.participant, fmt)}
    for name, url in urls.items():
        response = Client().get(url)
        assert response.status_code == 200, name
        root = ET.fromstring(response.content)  # raises on anything malformed
        parsed = feedparser.parse(response.content)
        assert not parsed.bozo, f"{name}: {parsed.get('bozo_exception')}"
        if fmt == "atom":
            assert root.tag == f"{ATOM}feed"
            assert parsed.version == "atom10"
            entry = next(e for e in parsed.entries if "ᏣᎳᎩ" in e.title)
            assert entry.title == CLEAN_TITLE, name
            assert entry.author == "Lakeland Broadband Office"
            assert "Digital Equity" in [t.term for t in entry.tags]
            assert "<script" not in entry.content[0].value
            for element in root.iter(f"{ATOM}entry"):
                assert element.find(f"{ATOM}id") is not None and element.find(f"{ATOM}updated") is not None
        else:
            assert root.tag == "rss" and root.attrib["version"] == "2.0"
            assert parsed.version == "rss20"
            assert any("ᏣᎳᎩ" in e.title for e in parsed.entries), name
        assert b"\x07" not in response.content and b"\x1b" not in response.content


def test_json_feed_has_the_required_fields(aw: AnnouncementWorld, nasty: Announcement) -> None:
    urls = public_feeds(aw, "json") | {"private": private_feed(aw.participant, "json")}
    for name, url in urls.items():
        response = Client().get(url)
        assert response.status_code == 200, name
        assert response["Content-Type"].startswith("application/feed+json")
        feed = json.loads(response.content)
        assert feed["version"] == JSON_FEED_VERSION
        assert feed["title"] and feed["feed_url"].endswith(url) and feed["home_page_url"].startswith("http")
        assert isinstance(feed["items"], list) and feed["items"], name
        for item in feed["items"]:
            assert item["id"] and item["url"].startswith("http://testserver/announcements/")
            assert item["content_html"] and item["title"]
            assert item["authors"][0]["name"] == "Lakeland Broadband Office"
            assert item["date_published"]
        item = next(i for i in feed["items"] if "ᏣᎳᎩ" in i["title"])
        assert item["title"] == CLEAN_TITLE
        assert "<script" not in item["content_html"] and "&lt;script&gt;" in item["content_html"]
        assert item["tags"][0] == "Digital Equity"


def test_feed_advertised_on_public_pages(aw: AnnouncementWorld) -> None:
    page = Client().get(reverse("announcement_agency", args=["lbo"])).content.decode()
    assert 'type="application/atom+xml"' in page and "/announcements/a/lbo/feed.atom" in page


# --- Who sees what -----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_public_feeds_carry_public_announcements_only(aw: AnnouncementWorld, fmt: str) -> None:
    for name, url in public_feeds(aw, fmt).items():
        titles = entries(url)
        assert aw.members.title not in titles, name
        assert aw.pending.title not in titles, name
        assert aw.draft.title not in titles, name
    assert aw.public.title in entries(public_feeds(aw, fmt)["agency"])
    assert aw.public.title in entries(public_feeds(aw, fmt)["receiving community"])


def test_private_feed_carries_what_the_person_may_read(aw: AnnouncementWorld) -> None:
    participant = entries(private_feed(aw.participant))
    assert {aw.public.title, aw.members.title, aw.pending.title} <= set(participant)
    receiver = entries(private_feed(aw.receiver_staff))
    assert aw.members.title in receiver  # accepted into Pine's community
    assert aw.pending.title not in receiver  # not accepted yet
    outsider = entries(private_feed(aw.nonmember))
    assert aw.public.title in outsider
    assert aw.members.title not in outsider and aw.pending.title not in outsider
    assert aw.draft.title not in entries(private_feed(aw.publisher_admin))


def test_private_feed_follows_membership_at_once(aw: AnnouncementWorld) -> None:
    url = private_feed(aw.removed)
    assert aw.members.title in entries(url)
    community_actions.remove_agency(actor=aw.publisher_admin, community=aw.home, agency=aw.red_cedar)
    assert aw.members.title not in entries(url)
    assert aw.public.title in entries(url)


def test_unlisted_and_archived_communities_have_no_public_feed(aw: AnnouncementWorld) -> None:
    url = reverse("announcement_community_feed", args=[aw.receiving.slug, "atom"])
    community_actions.update_community(
        actor=aw.receiver_owner,
        community=aw.receiving,
        name=aw.receiving.name,
        purpose=aw.receiving.purpose,
        visibility=Visibility.UNLISTED,
    )
    assert Client().get(url).status_code == 404
    community_actions.set_archived(actor=aw.publisher_admin, community=aw.home, archived=True)
    assert Client().get(reverse("announcement_community_feed", args=[aw.home.slug, "rss"])).status_code == 404


def test_unknown_format_and_missing_feeds_are_404(aw: AnnouncementWorld) -> None:
    client = Client()
    assert client.get("/announcements/a/lbo/feed.xml").status_code == 404
    assert client.get(reverse("announcement_agency_feed", args=["nope", "atom"])).status_code == 404
    assert client.get(reverse("announcement_program_feed", args=["lbo", "nope", "atom"])).status_code == 404
    assert client.get(reverse("announcement_tag_feed", args=["nope", "atom"])).status_code == 404
    assert client.get(reverse("announcement_private_feed", args=["not-a-token", "atom"])).status_code == 404


# --- Private feed address ------------------------------------------------------------------------


def test_reset_address_stops_working_at_once(aw: AnnouncementWorld) -> None:
    client = Client()
    client.force_login(aw.participant)
    first = client.post(reverse("announcement_feed_reset"))
    assert first.status_code == 200
    old_url = first.context["private_feeds"][0][2]
    assert Client().get(old_url).status_code == 200
    second = client.post(reverse("announcement_feed_reset"))
    new_url = second.context["private_feeds"][0][2]
    assert new_url != old_url
    assert Client().get(old_url).status_code == 404
    assert Client().get(new_url).status_code == 200
    # The page shows the address once; afterwards it offers only a reset.
    assert "/private/" not in client.get(reverse("announcement_feeds")).content.decode()


def test_only_a_hash_of_the_secret_is_stored(aw: AnnouncementWorld) -> None:
    from communities.announcements.models import FeedToken

    token = actions.reset_feed_token(actor=aw.participant)
    stored = FeedToken.objects.get(user=aw.participant).token_hash
    assert token not in stored and len(stored) == 64


def test_a_deactivated_person_s_feed_stops(aw: AnnouncementWorld) -> None:
    from workspace import actions as workspace_actions

    url = private_feed(aw.participant)
    workspace_actions.deactivate_staff(actor=aw.participant_admin, member=aw.participant)
    assert Client().get(url).status_code == 404


# --- Changes reach every feed and page ------------------------------------------------------------


def _every_place(aw: AnnouncementWorld) -> list[tuple[str, str, Client]]:
    """Every feed and page where the public announcement shows, with who reads it."""
    places: list[tuple[str, str, Client]] = []
    tokens = {
        who: actions.reset_feed_token(actor=getattr(aw, who)) for who in ("participant", "receiver_staff", "nonmember")
    }
    for fmt in FORMATS:
        places += [(f"{name} {fmt}", url, Client()) for name, url in public_feeds(aw, fmt).items()]
        places += [
            (f"private {fmt} of {who}", reverse("announcement_private_feed", args=[token, fmt]), Client())
            for who, token in tokens.items()
        ]
    member, receiver = Client(), Client()
    member.force_login(aw.participant)
    receiver.force_login(aw.receiver_staff)
    places += [
        ("agency page", reverse("announcement_agency", args=["lbo"]), Client()),
        ("program page", reverse("announcement_program", args=["lbo", "digital-equity"]), Client()),
        ("topic page", reverse("announcement_tag", args=["grants"]), Client()),
        ("home community page", reverse("announcement_community", args=[aw.home.slug]), member),
        ("receiving community page", reverse("announcement_community", args=[aw.receiving.slug]), receiver),
        ("list", reverse("announcement_list"), receiver),
    ]
    return places


def _shows(url: str, client: Client, text: str) -> bool:
    if "/feed." in url:
        return any(text in title for title in entries(url, client))
    response = client.get(url)
    assert response.status_code == 200, url
    return text in response.content.decode()


def test_an_edit_shows_everywhere(aw: AnnouncementWorld) -> None:
    places = _every_place(aw)
    actions.update_announcement(
        actor=aw.publisher_staff,
        announcement=aw.public,
        title="Digital Equity Subgrants, Round 2: deadline moved to May 15",
        program="Digital Equity",
        audience=Audience.PUBLIC,
        tags=["broadband", "grants"],
    )
    for name, url, client in places:
        assert _shows(url, client, "deadline moved to May 15"), name
        assert not _shows(url, client, "Digital Equity Subgrants, Round 2<"), name  # the old title, closed


def test_a_retraction_removes_it_everywhere(aw: AnnouncementWorld) -> None:
    places = _every_place(aw)
    for name, url, client in places:
        assert _shows(url, client, aw.public.title), name
    actions.retract_announcement(actor=aw.publisher_admin, announcement=aw.public, note="Posted too early")
    for name, url, client in places:
        assert not _shows(url, client, aw.public.title), name
    reader = Client()
    reader.force_login(aw.receiver_staff)
    assert reader.get(aw.public.get_absolute_url()).status_code == 404
    assert Client().get(aw.public.get_absolute_url()).status_code == 302  # anonymous: sign in, like any hidden one
    publisher = Client()
    publisher.force_login(aw.publisher_staff)
    assert "Retracted" in publisher.get(aw.public.get_absolute_url()).content.decode()


def test_a_declined_promotion_disappears_from_that_community(aw: AnnouncementWorld) -> None:
    receiver = Client()
    receiver.force_login(aw.receiver_staff)
    feed = reverse("announcement_community_feed", args=[aw.receiving.slug, "atom"])
    private = private_feed(aw.receiver_staff)
    page = reverse("announcement_community", args=[aw.receiving.slug])
    assert aw.public.title in entries(feed) and aw.members.title in entries(private)
    promotions = aw.public.promotions.get(community=aw.receiving), aw.accepted_promotion
    for promotion in promotions:
        actions.decline_promotion(actor=aw.receiver_owner, promotion=promotion)
    assert aw.public.title not in entries(feed)
    assert aw.members.title not in entries(private)
    assert aw.public.title in entries(private)  # still public elsewhere
    assert aw.members.title not in receiver.get(page).content.decode()
    assert receiver.get(aw.members.get_absolute_url()).status_code == 404
    # Its home still shows it.
    assert aw.public.title in entries(reverse("announcement_community_feed", args=[aw.home.slug, "atom"]))


def test_expired_announcements_leave_feeds_at_their_expiry(aw: AnnouncementWorld) -> None:
    url = reverse("announcement_agency_feed", args=["lbo", "atom"])
    Announcement.objects.filter(pk=aw.public.pk).update(expire_at=timezone.now() - timedelta(seconds=1))
    assert aw.public.title not in entries(url)


# --- Conditional requests -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_repeated_request_with_its_validator_answers_304(aw: AnnouncementWorld, fmt: str) -> None:
    client = Client()
    url = reverse("announcement_agency_feed", args=["lbo", fmt])
    first = client.get(url)
    assert first.status_code == 200 and first["ETag"] and first["Last-Modified"]
    assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    assert client.get(url, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"]).status_code == 304
    assert client.head(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304


def test_an_edit_or_a_removal_changes_the_validators(aw: AnnouncementWorld) -> None:
    # Date everything a minute back, so that a change now moves Last-Modified past it.
    Announcement.objects.update(changed_at=timezone.now() - timedelta(minutes=1))
    client = Client()
    url = reverse("announcement_community_feed", args=[aw.receiving.slug, "atom"])
    first = client.get(url)
    actions.decline_promotion(actor=aw.receiver_owner, promotion=aw.public.promotions.get(community=aw.receiving))
    by_etag = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    by_date = client.get(url, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    assert by_etag.status_code == 200 and by_etag["ETag"] != first["ETag"]
    assert by_date.status_code == 200
    assert aw.public.title not in feedparser.parse(by_date.content).entries.__repr__()


def test_expiry_moves_last_modified(aw: AnnouncementWorld) -> None:
    Announcement.objects.update(changed_at=timezone.now() - timedelta(minutes=10))
    client = Client()
    url = reverse("announcement_agency_feed", args=["lbo", "rss"])
    first = client.get(url)
    Announcement.objects.filter(pk=aw.public.pk).update(expire_at=timezone.now() - timedelta(minutes=1))
    later = client.get(url, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    assert later.status_code == 200


def test_private_feeds_validate_by_etag_only(aw: AnnouncementWorld) -> None:
    """A membership change alters a private feed without touching any announcement, so it
    has no Last-Modified; its ETag still changes."""
    client = Client()
    url = private_feed(aw.removed)
    first = client.get(url)
    assert "Last-Modified" not in first and first["Cache-Control"] == "private, no-cache"
    assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    assert client.get(url, HTTP_IF_MODIFIED_SINCE=http_date()).status_code == 200
    community_actions.remove_agency(actor=aw.publisher_admin, community=aw.home, agency=aw.red_cedar)
    assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200
