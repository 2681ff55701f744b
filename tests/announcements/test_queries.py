"""Announcement lists and feeds cost the same number of queries for a few entries or many.

Each ceiling is the count measured when the test was written: a new query on one of these
should be a decision, not an accident.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import count

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from communities.announcements import actions
from communities.announcements.models import Announcement, Audience
from tests.announcements.conftest import AnnouncementWorld, write

_serial = count()


def queries_for(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


def grow(world: AnnouncementWorld) -> Callable[[int], None]:
    """Add announcements until there are ``total``: half public, half members only, each
    with topics, every third promoted into Pine's community."""

    def to(total: int) -> None:
        while Announcement.objects.count() < total:
            n = next(_serial)
            audience = Audience.PUBLIC if n % 2 else Audience.MEMBERS
            announcement = write(
                world.publisher_admin,
                world.home,
                f"Announcement {n}",
                audience=audience,
                tags=[f"topic {n}", "grants"],
                program=f"Program {n % 3}",
                links=[f"https://broadband.lakeland.gov/{n}"],
            )
            if n % 3 == 0:
                promotion = actions.request_promotion(
                    actor=world.publisher_admin, announcement=announcement, community=world.receiving
                )
                actions.accept_promotion(actor=world.receiver_owner, promotion=promotion)

    return to


def at_two_sizes(
    client: Client, url: str, world: AnnouncementWorld, small: int = 6, large: int = 45
) -> tuple[int, int]:
    grower = grow(world)
    grower(small)
    at_small = queries_for(client, url)
    grower(large)
    return at_small, queries_for(client, url)


COMMUNITY_PAGE_CEILING = 13  # 12, and the live stream's seq read before the rows
FEED_CEILING = 4
PRIVATE_FEED_CEILING = 3
LIST_CEILING = 13


@pytest.mark.parametrize("viewer", ["participant", "receiver_staff"])
def test_community_page_query_count_does_not_grow(aw: AnnouncementWorld, viewer: str) -> None:
    client = Client()
    client.force_login(getattr(aw, viewer))
    community = aw.home if viewer == "participant" else aw.receiving
    small, large = at_two_sizes(client, reverse("announcement_community", args=[community.slug]), aw)
    assert small == large, f"community page: {small} queries at the small size, {large} at the large"
    assert large <= COMMUNITY_PAGE_CEILING


def test_announcement_list_query_count_does_not_grow(aw: AnnouncementWorld) -> None:
    client = Client()
    client.force_login(aw.publisher_staff)
    small, large = at_two_sizes(client, reverse("announcement_list"), aw)
    assert small == large
    assert large <= LIST_CEILING


@pytest.mark.parametrize("fmt", ["atom", "rss", "json"])
def test_public_feed_query_count_does_not_grow(aw: AnnouncementWorld, fmt: str) -> None:
    small, large = at_two_sizes(Client(), reverse("announcement_community_feed", args=[aw.receiving.slug, fmt]), aw)
    assert small == large, f"{fmt} feed: {small} queries at the small size, {large} at the large"
    assert large <= FEED_CEILING
    tag_small, tag_large = at_two_sizes(Client(), reverse("announcement_tag_feed", args=["grants", fmt]), aw, 46, 70)
    assert tag_small == tag_large <= FEED_CEILING


def test_private_feed_query_count_does_not_grow(aw: AnnouncementWorld) -> None:
    url = reverse("announcement_private_feed", args=[actions.reset_feed_token(actor=aw.receiver_staff), "atom"])
    small, large = at_two_sizes(Client(), url, aw)
    assert small == large
    assert large <= PRIVATE_FEED_CEILING
