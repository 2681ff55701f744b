"""Community pages cost the same number of queries for a few rows or many.

Each ceiling is the count measured when the test was written: a new query on one of these
pages should be a decision, not an accident.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import count

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from communities import actions, selectors
from communities.models import CommunityInvitation, CommunityMembership, CommunityRole
from tests.communities.conftest import CommunityWorld, join
from tests.factories import AgencyFactory, PersonFactory
from workspace.models import AgencyRole, JurisdictionLevel

_serial = count()


def queries_for(client, url: str) -> int:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


def measure_at_two_sizes(client, url: str, grow: Callable[[int], None], small: int, large: int) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    grow(small)
    at_small = queries_for(client, url)
    grow(large)
    return at_small, queries_for(client, url)


def _new_agency_with_admin(state: str = "LK"):  # type: ignore[no-untyped-def]
    n = next(_serial)
    level = list(JurisdictionLevel.values)[n % len(JurisdictionLevel.values)]
    agency = AgencyFactory(level=level, state=state)
    return agency, PersonFactory(agency=agency, role=AgencyRole.ADMIN)


# --- Directory: 5 and 60 listed communities (pages of 25) -------------------------------


def _grow_directory(world: CommunityWorld) -> Callable[[int], None]:
    def grow(total: int) -> None:
        for _ in range(total - CommunityMembership.objects.filter(agency=world.owner).count()):
            n = next(_serial)
            actions.create_community(
                actor=world.owner_admin,
                name=f"Basin Working Group {n}",
                purpose="Share plans across the basin.",
                tags=[f"topic {n}", "planning"],
            )

    return grow


# Every ceiling below counts the urgent-alert banner's query (one per signed-in page).
DIRECTORY_CEILING = 12


@pytest.mark.parametrize("viewer", ["owner_admin", "participant_staff"])
def test_directory_query_count_does_not_grow(cw, client, viewer: str) -> None:  # type: ignore[no-untyped-def]
    client.force_login(getattr(cw, viewer))
    small, large = measure_at_two_sizes(client, reverse("community_directory"), _grow_directory(cw), 5, 60)
    assert small == large, f"directory: {small} queries for 5 communities, {large} for 60"
    assert large <= DIRECTORY_CEILING
    filtered = reverse("community_directory") + "?level=state&state=LK&tag=planning&q=basin"
    assert queries_for(client, filtered) <= DIRECTORY_CEILING


# --- Community page: 3 and 40 member agencies --------------------------------------------


def _grow_members(world: CommunityWorld) -> Callable[[int], None]:
    """Member agencies up to ``total``, and as many pending invitations and requests as
    there are members beyond the first three (so those lists grow too)."""

    def grow(total: int) -> None:
        members = CommunityMembership.objects.filter(community=world.community).count()
        for _ in range(total - members):
            agency, admin = _new_agency_with_admin()
            join(world.owner_admin, world.community, agency, admin, CommunityRole.PARTICIPANT)
            invited, _ = _new_agency_with_admin()
            actions.invite_agency(actor=world.owner_admin, community=world.community, agency=invited)
            _, asking = _new_agency_with_admin()
            actions.request_to_join(actor=asking, community=world.community, reason="Our river, too.")

    return grow


# Manager: session, user, community, viewer's agency (2) and its grants (2), viewer's
# membership, community grants (2), member count, members, tags, pending requests, pending
# invitations, agencies to invite; the alert banner.
# Readers of the community: one more, the live stream's seq read before the rows.
COMMUNITY_PAGE_CEILINGS = {"owner_admin": 19, "participant_staff": 16, "nonmember_admin": 17, "nonmember_staff": 15}


@pytest.mark.parametrize("viewer", list(COMMUNITY_PAGE_CEILINGS))
def test_community_page_query_count_does_not_grow(cw, client, viewer: str) -> None:  # type: ignore[no-untyped-def]
    # Three member agencies: Lakeland OEM, Harbor EM and Easton PW.
    actions.remove_agency(actor=cw.owner_admin, community=cw.community, agency=cw.removed_agency)
    assert CommunityMembership.objects.filter(community=cw.community).count() == 3
    client.force_login(getattr(cw, viewer))
    url = reverse("community_detail", args=[cw.community.slug])
    small, large = measure_at_two_sizes(client, url, _grow_members(cw), 3, 40)
    assert small == large, f"community page as {viewer}: {small} queries for 3 members, {large} for 40"
    assert large <= COMMUNITY_PAGE_CEILINGS[viewer]


# --- The agency's inbox: 3 and 30 invitations (half of them declined, then requested) ----


INBOX_CEILING = 13


def test_inbox_query_count_does_not_grow(cw, client) -> None:  # type: ignore[no-untyped-def]
    def grow(total: int) -> None:
        for n in range(CommunityInvitation.objects.filter(agency=cw.nonmember).count(), total):
            community = actions.create_community(actor=cw.owner_admin, name=f"Corridor {n}", purpose="Roads.")
            invitation = actions.invite_agency(actor=cw.owner_admin, community=community, agency=cw.nonmember)
            if n % 2:  # every other one waits; the rest are declined, then asked to join after all
                actions.decline_invitation(actor=cw.nonmember_admin, invitation=invitation)
                actions.request_to_join(actor=cw.nonmember_admin, community=community, reason="Shared corridor.")

    client.force_login(cw.nonmember_admin)
    small, large = measure_at_two_sizes(client, reverse("community_inbox"), grow, 3, 30)
    assert small == large, f"inbox: {small} queries for 3 invitations, {large} for 30"
    assert large <= INBOX_CEILING


# --- Who has access: 10 and 45 people ----------------------------------------------------

# policy.explain_many answers for the whole page at once.
ACCESS_CEILING = 17


def test_access_page_query_count_does_not_grow(cw, client) -> None:  # type: ignore[no-untyped-def]
    def grow(total: int) -> None:
        for _ in range(total - selectors.people_with_access(cw.community).count()):
            PersonFactory(agency=cw.participant)

    client.force_login(cw.owner_admin)
    url = reverse("community_access", args=[cw.community.slug])
    small, large = measure_at_two_sizes(client, url, grow, 10, 45)
    assert small == large, f"access page: {small} queries for 10 people, {large} for 45"
    assert large <= ACCESS_CEILING
