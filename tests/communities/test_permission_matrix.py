"""Every community route against every kind of person, for a listed and an unlisted
community (see ``conftest.py`` for the world and the roles)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from communities import actions
from communities.models import CommunityRole, Visibility
from tests.communities.conftest import ADMINS, LOGIN, ROLES, VISIBILITIES, Route, check_route, client_as

SIGNED_IN = dict.fromkeys(ROLES, 200) | {"anonymous": LOGIN}


def only(ok: int, *roles: str, others: int = 403) -> dict[str, int]:
    """``ok`` for ``roles``, ``others`` for every other signed-in role."""
    return dict.fromkeys(ROLES, others) | dict.fromkeys(roles, ok) | {"anonymous": LOGIN}


def managers(ok: int) -> dict[str, int]:
    return only(ok, "owner_admin")


def _slug_url(name: str, *args) -> object:  # type: ignore[no-untyped-def]
    return lambda w: reverse(name, args=[w.community.slug, *(arg(w) for arg in args)])


def _inbox_url(name: str):  # type: ignore[no-untyped-def]
    def url(w) -> str:  # type: ignore[no-untyped-def]
        invitation = actions.invite_agency(actor=w.owner_admin, community=w.community, agency=w.nonmember)
        return reverse(name, args=[invitation.pk])

    return url


ROUTES = [
    Route("directory", lambda w: reverse("community_directory"), SIGNED_IN, scoped=False, per_visibility=False),
    Route(
        "create form",
        lambda w: reverse("community_create"),
        only(200, *ADMINS),
        scoped=False,
        per_visibility=False,
    ),
    Route(
        "create",
        lambda w: reverse("community_create"),
        only(302, *ADMINS),
        method="post",
        data=lambda w: {"name": "Basin Broadband", "purpose": "Shared fiber.", "visibility": "listed"},
        scoped=False,
        per_visibility=False,
    ),
    Route("inbox", lambda w: reverse("community_inbox"), only(200, *ADMINS), scoped=False, per_visibility=False),
    # The invitation is to Pine EM: other agencies' admins cannot reach it (404).
    Route(
        "accept invitation",
        _inbox_url("community_invitation_accept"),
        only(302, "nonmember_admin") | {"owner_admin": 404, "participant_admin": 404},
        method="post",
        scoped=False,
    ),
    Route(
        "decline invitation",
        _inbox_url("community_invitation_decline"),
        only(302, "nonmember_admin") | {"owner_admin": 404, "participant_admin": 404},
        method="post",
        scoped=False,
    ),
    Route("community page", _slug_url("community_detail"), SIGNED_IN),
    Route("who has access", _slug_url("community_access"), only(200, "owner_admin", "moderator")),
    Route(
        "invite: preview",
        _slug_url("community_invite"),
        managers(200),
        method="post",
        data=lambda w: {"agency": w.nonmember.pk, "role": "participant"},
    ),
    Route(
        "invite: confirm",
        _slug_url("community_invite"),
        managers(302),
        method="post",
        data=lambda w: {"agency": w.nonmember.pk, "role": "participant", "confirm": "1"},
    ),
    Route(
        "withdraw invitation",
        _slug_url("community_invitation_withdraw", lambda w: w.invitation.pk),
        managers(302),
        method="post",
    ),
    Route(
        "approve request",
        _slug_url("community_request_approve", lambda w: w.join_request.pk),
        managers(302),
        method="post",
        data=lambda w: {"role": "observer"},
    ),
    Route(
        "decline request",
        _slug_url("community_request_decline", lambda w: w.join_request.pk),
        managers(302),
        method="post",
    ),
    Route(
        "change role",
        _slug_url("community_member_role", lambda w: w.participant.slug),
        managers(302),
        method="post",
        data=lambda w: {"role": "observer"},
    ),
    Route(
        "remove confirmation",
        _slug_url("community_member_remove", lambda w: w.observer.slug),
        managers(200),
    ),
    Route(
        "remove",
        _slug_url("community_member_remove", lambda w: w.observer.slug),
        managers(302),
        method="post",
    ),
    Route("edit form", _slug_url("community_edit"), managers(200)),
    Route(
        "edit",
        _slug_url("community_edit"),
        managers(302),
        method="post",
        data=lambda w: {"name": "Renamed Coordination", "purpose": "Still coordinating.", "visibility": "listed"},
    ),
    Route("archive", _slug_url("community_archive"), managers(302), method="post", data=lambda w: {"archived": "1"}),
    # Admins of member agencies choose who of their staff take part.
    Route("participants form", _slug_url("community_participants"), only(200, "owner_admin", "participant_admin")),
    Route(
        "name participants",
        _slug_url("community_participants"),
        only(302, "owner_admin", "participant_admin"),
        method="post",
        data=lambda w: {"mode": "all"},
    ),
    Route(
        "appoint moderator",
        _slug_url("community_moderator_appoint"),
        managers(302),
        method="post",
        data=lambda w: {"person": w.participant_staff.pk},
    ),
    Route(
        "remove moderator",
        _slug_url("community_moderator_remove", lambda w: w.moderator.pk),
        managers(302),
        method="post",
    ),
    # Admins of member agencies; the owner is refused on POST as the last owner (a message).
    Route("leave confirmation", _slug_url("community_leave"), only(200, "owner_admin", "participant_admin")),
    Route("leave", _slug_url("community_leave"), only(302, "owner_admin", "participant_admin"), method="post"),
    # Any agency admin may ask; members are told they already are (a message).
    Route(
        "request to join",
        _slug_url("community_join"),
        only(302, *ADMINS),
        method="post",
        data=lambda w: {"reason": "We run the shelters on the east bank."},
    ),
]


CASES = [
    pytest.param(route, visibility, id=f"{route}-{visibility}")
    for route in ROUTES
    for visibility in (VISIBILITIES if route.per_visibility else (Visibility.LISTED,))
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("route", "visibility"), CASES)
def test_route_permissions(route: Route, role: str, visibility: str, make_community_world) -> None:  # type: ignore[no-untyped-def]
    check_route(route, role, make_community_world(visibility), visibility)


SCOPED = [route for route in ROUTES if route.scoped]


def _without_tokens(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)


@pytest.mark.parametrize("route", SCOPED, ids=str)
def test_unlisted_community_is_indistinguishable_from_a_missing_one(route: Route, make_community_world) -> None:  # type: ignore[no-untyped-def]
    """A non-member gets the same 404 page for an unlisted community as for an address
    that does not exist; a manager, too, gets 404 for the missing one."""
    world = make_community_world(Visibility.UNLISTED)
    url = route.url(world)
    missing = url.replace(f"/communities/{world.community.slug}/", "/communities/no-such-community/")
    outsider = client_as("nonmember_admin", world)
    call = getattr(outsider, route.method)
    hidden, absent = call(url, route.data(world)), call(missing, route.data(world))
    assert hidden.status_code == absent.status_code == 404
    assert _without_tokens(hidden.content.decode()) == _without_tokens(absent.content.decode())
    assert world.community.name not in hidden.content.decode()
    manager = client_as("owner_admin", world)
    assert getattr(manager, route.method)(missing, route.data(world)).status_code == 404


def test_inbox_shows_an_unlisted_invitation_without_revealing_more(make_community_world, client) -> None:  # type: ignore[no-untyped-def]
    """The invited agency learns the unlisted community's name and purpose from the
    invitation, but its page stays closed until the invitation is accepted."""
    world = make_community_world(Visibility.UNLISTED)
    actions.invite_agency(
        actor=world.owner_admin, community=world.community, agency=world.nonmember, role=CommunityRole.OBSERVER
    )
    client.force_login(world.nonmember_admin)
    inbox = client.get(reverse("community_inbox")).content.decode()
    assert world.community.name in inbox and world.community.purpose in inbox
    assert reverse("community_detail", args=[world.community.slug]) not in inbox
    assert client.get(reverse("community_detail", args=[world.community.slug])).status_code == 404


def test_a_removed_agencys_staff_lose_the_page_on_their_next_request(make_community_world) -> None:  # type: ignore[no-untyped-def]
    world = make_community_world(Visibility.UNLISTED)
    client = client_as("anonymous", world)
    client.force_login(world.removed)
    url = reverse("community_detail", args=[world.community.slug])
    assert client.get(url).status_code == 200
    actions.remove_agency(actor=world.owner_admin, community=world.community, agency=world.removed_agency)
    assert client.get(url).status_code == 404
