"""Every announcement route and feed against every kind of person (see ``conftest.py``).

Each route runs once per role, in the order of ``ROLES``: people who are refused go first,
the publisher last, so a successful write (a retraction, an acceptance) cannot hide a
refusal. Every refused request must leave the announcements and promotions as they were.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from communities.announcements import actions
from communities.announcements.models import Announcement, Promotion, Subscription, TrustedPublisher
from tests.announcements.conftest import LOGIN, PUBLISHERS, ROLES, AnnouncementWorld, sign_in

EVERYONE = dict.fromkeys(ROLES, 200)
SIGNED_IN = EVERYONE | {"anonymous": LOGIN, "deactivated": LOGIN}
READERS = ("publisher_admin", "publisher_staff", "receiver_owner", "receiver_staff", "participant", "observer")


def expect(ok: int, *roles: str, others: int = 403, hidden: tuple[str, ...] = ()) -> dict[str, int]:
    """``ok`` for ``roles``, 404 for ``hidden``, ``others`` for the rest of the signed-in."""
    return (
        dict.fromkeys(ROLES, others)
        | dict.fromkeys(hidden, 404)
        | dict.fromkeys(roles, ok)
        | {"anonymous": LOGIN, "deactivated": LOGIN}
    )


def publisher_only(ok: int) -> dict[str, int]:
    """Routes on the members-only announcement that only its publisher may use: its readers
    get 403, people who cannot read it 404."""
    return expect(ok, *PUBLISHERS, hidden=("nonmember", "removed"))


@dataclass(frozen=True)
class Route:
    name: str
    url: Callable[[AnnouncementWorld], str]
    expect: dict[str, int]
    method: str = "get"
    data: Callable[[AnnouncementWorld], dict[str, Any]] = field(default=lambda w: {})

    def __post_init__(self) -> None:
        assert set(self.expect) == set(ROLES), f"{self.name}: expectations for {sorted(set(ROLES) - set(self.expect))}"

    def __str__(self) -> str:
        return self.name


def _url(name: str, *args: Callable[[AnnouncementWorld], Any]) -> Callable[[AnnouncementWorld], str]:
    return lambda w: reverse(name, args=[arg(w) for arg in args])


def _edit_data(w: AnnouncementWorld) -> dict[str, str]:
    return {"title": "Changed", "program": "Digital Equity", "audience": "members", "save": "1"}


ROUTES = [
    Route("list", _url("announcement_list"), SIGNED_IN),
    Route(
        "composer",
        _url("announcement_new"),
        expect(200, *READERS[:-1], others=403),
    ),
    Route(
        "compose: preview",
        _url("announcement_new"),
        expect(200, *PUBLISHERS, "participant")
        | {"receiver_owner": 400, "receiver_staff": 400, "observer": 403, "nonmember": 403, "removed": 403},
        method="post",
        data=lambda w: {
            "community": w.home.pk,
            "title": "Preview me",
            "program": "Digital Equity",
            "audience": "public",
            "body": "Hello *there*",
            "preview": "1",
        },
    ),
    Route("public announcement", _url("announcement_detail", lambda w: w.public.pk), EVERYONE),
    Route(
        "members-only announcement",
        _url("announcement_detail", lambda w: w.members.pk),
        expect(200, *READERS, hidden=("nonmember", "removed")),
    ),
    Route(
        "draft",
        _url("announcement_detail", lambda w: w.draft.pk),
        expect(200, *PUBLISHERS, others=404),
    ),
    Route("edit form", _url("announcement_edit", lambda w: w.members.pk), publisher_only(200)),
    Route(
        "edit",
        _url("announcement_edit", lambda w: w.members.pk),
        publisher_only(302),
        method="post",
        data=_edit_data,
    ),
    Route(
        "publish draft",
        _url("announcement_publish", lambda w: w.draft.pk),
        expect(302, *PUBLISHERS, others=404),
        method="post",
    ),
    Route("retract confirmation", _url("announcement_retract", lambda w: w.members.pk), publisher_only(200)),
    Route("retract", _url("announcement_retract", lambda w: w.members.pk), publisher_only(302), method="post"),
    Route(
        "promote",
        _url("announcement_promote", lambda w: w.members.pk),
        publisher_only(302),
        method="post",
        data=lambda w: {"community": w.business.pk},
    ),
    Route(
        "withdraw promotion",
        _url("announcement_promotion_withdraw", lambda w: w.members.pk, lambda w: w.accepted_promotion.pk),
        publisher_only(302),
        method="post",
    ),
    Route("reach", _url("announcement_reach", lambda w: w.members.pk), publisher_only(200)),
    Route("reach CSV", _url("announcement_reach_csv", lambda w: w.members.pk), publisher_only(200)),
    Route("promotion requests", _url("announcement_promotion_inbox"), expect(200, "publisher_admin", "receiver_owner")),
    Route(
        "accept promotion",
        _url("announcement_promotion_accept", lambda w: w.pending_promotion.pk),
        expect(302, "receiver_owner", others=404),
        method="post",
    ),
    Route(
        "decline promotion",
        _url("announcement_promotion_decline", lambda w: w.pending_promotion.pk),
        expect(302, "receiver_owner", others=404),
        method="post",
    ),
    Route(
        "take down accepted promotion",
        _url("announcement_promotion_decline", lambda w: w.accepted_promotion.pk),
        expect(302, "receiver_owner", others=404),
        method="post",
    ),
    Route(
        "home community announcements",
        _url("announcement_community", lambda w: w.home.slug),
        expect(200, *PUBLISHERS, "participant", "observer", others=404),
    ),
    Route(
        "receiving community announcements",
        _url("announcement_community", lambda w: w.receiving.slug),
        expect(200, "receiver_owner", "receiver_staff", others=404),
    ),
    Route(
        "trust an agency",
        _url("announcement_trust_add", lambda w: w.home.slug),
        expect(302, "publisher_admin", others=403, hidden=("receiver_owner", "receiver_staff", "nonmember", "removed")),
        method="post",
        data=lambda w: {"agency": w.pine.pk},
    ),
    Route("community feed", _url("announcement_community_feed", lambda w: w.home.slug, lambda w: "atom"), EVERYONE),
    Route("agency page", _url("announcement_agency", lambda w: "lbo"), EVERYONE),
    Route("agency feed", _url("announcement_agency_feed", lambda w: "lbo", lambda w: "rss"), EVERYONE),
    Route("program page", _url("announcement_program", lambda w: "lbo", lambda w: "digital-equity"), EVERYONE),
    Route(
        "program feed",
        _url("announcement_program_feed", lambda w: "lbo", lambda w: "digital-equity", lambda w: "json"),
        EVERYONE,
    ),
    Route("topic page", _url("announcement_tag", lambda w: "grants"), EVERYONE),
    Route("topic feed", _url("announcement_tag_feed", lambda w: "grants", lambda w: "atom"), EVERYONE),
    Route("feeds and email", _url("announcement_feeds"), SIGNED_IN),
    Route("new private feed address", _url("announcement_feed_reset"), SIGNED_IN, method="post"),
    Route(
        "follow a program",
        _url("announcement_subscribe"),
        SIGNED_IN | dict.fromkeys(ROLES[2:], 302),
        method="post",
        data=lambda w: {"target": f"program:{w.public.program_id}", "frequency": "daily"},
    ),
]


def snapshot(world: AnnouncementWorld) -> tuple[Any, ...]:
    """Everything a route could change."""
    return (
        sorted(Announcement.objects.values_list("pk", "state", "title", "version")),
        sorted(Promotion.objects.values_list("pk", "status")),
        sorted(TrustedPublisher.objects.values_list("community_id", "agency_id")),
        Subscription.objects.count(),
    )


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_route_answers_each_role(aw: AnnouncementWorld, route: Route) -> None:
    wrong = []
    for role in ROLES:
        client = Client()
        sign_in(client, aw, role)
        before = snapshot(aw)
        response = getattr(client, route.method)(route.url(aw), route.data(aw))
        expected = route.expect[role]
        if response.status_code != expected:
            wrong.append(f"{role}: got {response.status_code}, expected {expected}")
            continue
        if expected == LOGIN and role in ("anonymous", "deactivated"):
            assert "/accounts/login/" in response["Location"], f"{route} as {role}"
        if expected in (403, 404, 400) or (expected == LOGIN and role in ("anonymous", "deactivated")):
            assert snapshot(aw) == before, f"{route} as {role} was refused but changed something"
    assert not wrong, f"{route.method.upper()} {route}:\n" + "\n".join(wrong)


def test_unsubscribe_link_works_for_anyone(aw: AnnouncementWorld) -> None:
    """The link in an email needs no session, whoever opens it."""
    subscription = actions.subscribe(actor=aw.participant, frequency="daily", program=aw.public.program)
    url = reverse("announcement_unsubscribe", args=[actions.unsubscribe_token(subscription)])
    for role in ROLES:
        client = Client()
        sign_in(client, aw, role)
        assert client.get(url).status_code == 200, role


def test_every_announcement_url_is_in_the_matrix() -> None:
    """A new route must be added to the matrix (or to the tests of its own)."""
    from communities.announcements import urls

    names = {pattern.name for pattern in urls.urlpatterns}
    covered = {
        "announcement_list",
        "announcement_new",
        "announcement_detail",
        "announcement_edit",
        "announcement_publish",
        "announcement_retract",
        "announcement_promote",
        "announcement_promotion_withdraw",
        "announcement_reach",
        "announcement_reach_csv",
        "announcement_promotion_inbox",
        "announcement_promotion_accept",
        "announcement_promotion_decline",
        "announcement_community",
        "announcement_trust_add",
        "announcement_community_feed",
        "announcement_agency",
        "announcement_agency_feed",
        "announcement_program",
        "announcement_program_feed",
        "announcement_tag",
        "announcement_tag_feed",
        "announcement_feeds",
        "announcement_feed_reset",
        "announcement_subscribe",
        # Tested on their own: test_subscriptions.py and test_feeds.py.
        "announcement_unsubscribe",
        "announcement_subscription_delete",
        "announcement_private_feed",
        "announcement_trust_remove",
    }
    assert names == covered
