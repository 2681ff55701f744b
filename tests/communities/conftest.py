"""One community seen by every kind of person, and the permission matrix for its routes.

The world: Lakeland OEM owns the community; Harbor EM takes part (one of its staff is also
a named moderator); Easton observes; Red Cedar took part until it was removed; Pine is not
a member. Besides, Tri-County has a pending invitation and Baylor a pending join request.

Roles are people by where their agency stands. ``removed`` signs in while Red Cedar is a
member and Red Cedar is removed before the request, so it covers "lost access
mid-session". Every route runs for a listed and an unlisted community.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client

from communities import actions
from communities.models import (
    Community,
    CommunityInvitation,
    CommunityMembership,
    CommunityRole,
    JoinRequest,
    Moderator,
    Visibility,
)
from tests.factories import AgencyFactory, PersonFactory
from workspace.models import Agency, AgencyRole, JurisdictionLevel, User

ROLES = (
    "anonymous",
    "owner_staff",
    "owner_admin",
    "participant_staff",
    "participant_admin",
    "observer_staff",
    "moderator",
    "nonmember_staff",
    "nonmember_admin",
    "removed",
)
NON_MEMBERS = ("nonmember_staff", "nonmember_admin", "removed")
ADMINS = ("owner_admin", "participant_admin", "nonmember_admin")
LOGIN = 302  # anonymous people are sent to sign in
VISIBILITIES = (Visibility.LISTED, Visibility.UNLISTED)


@dataclass
class CommunityWorld:
    community: Community
    owner: Agency
    participant: Agency
    observer: Agency
    removed_agency: Agency
    nonmember: Agency
    invitee: Agency
    applicant: Agency
    owner_admin: User
    owner_staff: User
    participant_admin: User
    participant_staff: User
    observer_admin: User
    observer_staff: User
    moderator: User
    removed_admin: User
    removed: User
    nonmember_admin: User
    nonmember_staff: User
    applicant_admin: User
    invitation: CommunityInvitation  # pending, to Tri-County
    join_request: JoinRequest  # pending, from Baylor

    def person(self, role: str) -> User | None:
        return None if role == "anonymous" else getattr(self, role)


def _agency(name: str, short_name: str, slug: str, level: str, state: str = "LK") -> Agency:
    return AgencyFactory(name=name, short_name=short_name, slug=slug, level=level, state=state)


def join(inviter: User, community: Community, agency: Agency, admin: User, role: str) -> None:
    """Invite ``agency`` and have its ``admin`` accept: it becomes a member with ``role``."""
    invitation = actions.invite_agency(actor=inviter, community=community, agency=agency, role=role)
    actions.accept_invitation(actor=admin, invitation=invitation)


def build_world(visibility: str = Visibility.LISTED) -> CommunityWorld:
    level = JurisdictionLevel
    owner = _agency("Lakeland Office of Emergency Management", "Lakeland OEM", "loem", level.STATE)
    participant = _agency("Harbor County Emergency Management", "Harbor EM", "harbor-em", level.COUNTY)
    observer = _agency("City of Easton Public Works", "Easton PW", "easton-pw", level.CITY)
    removed_agency = _agency("Red Cedar Nation Emergency Services", "Red Cedar ES", "red-cedar-es", level.TRIBAL)
    nonmember = _agency("Pine County Emergency Management", "Pine EM", "pine-em", level.COUNTY)
    invitee = _agency("Tri-County Water District", "Tri-County Water", "tri-county-water", level.SPECIAL_DISTRICT)
    applicant = _agency("Baylor Regional Planning Council", "Baylor RPC", "baylor-rpc", level.REGIONAL, "BY")
    admin = AgencyRole.ADMIN
    people = {
        "owner_admin": PersonFactory(agency=owner, role=admin, full_name="Dana Whitfield"),
        "owner_staff": PersonFactory(agency=owner, full_name="Luis Ortega"),
        "participant_admin": PersonFactory(agency=participant, role=admin, full_name="Jordan Reyes"),
        "participant_staff": PersonFactory(agency=participant, full_name="Casey Morgan"),
        "observer_admin": PersonFactory(agency=observer, role=admin, full_name="Priya Natarajan"),
        "observer_staff": PersonFactory(agency=observer, full_name="Ben Adler"),
        "moderator": PersonFactory(agency=participant, full_name="Mara Lindqvist"),
        "removed_admin": PersonFactory(agency=removed_agency, role=admin, full_name="Tomas Greywolf"),
        "removed": PersonFactory(agency=removed_agency, full_name="Ada Running"),
        "nonmember_admin": PersonFactory(agency=nonmember, role=admin, full_name="Rita Alvarez"),
        "nonmember_staff": PersonFactory(agency=nonmember, full_name="Owen Hale"),
        "applicant_admin": PersonFactory(agency=applicant, role=admin, full_name="Grace Oyelaran"),
    }
    PersonFactory(agency=invitee, role=admin, full_name="Hank Mills")
    owner_admin = people["owner_admin"]
    community = actions.create_community(
        actor=owner_admin,
        name="Lakeland Flood Coordination",
        purpose="Coordinate flood response along the Lakeland river basin.",
        description="Gauge readings, evacuation plans and shelter status during floods.",
        entry_requirements="Agencies with a flood duty officer in the Lakeland basin.",
        tags=["flood", "emergency management"],
    )
    join(owner_admin, community, participant, people["participant_admin"], CommunityRole.PARTICIPANT)
    join(owner_admin, community, observer, people["observer_admin"], CommunityRole.OBSERVER)
    join(owner_admin, community, removed_agency, people["removed_admin"], CommunityRole.PARTICIPANT)
    join_request = actions.request_to_join(
        actor=people["applicant_admin"], community=community, reason="We plan the basin's levees."
    )
    invitation = actions.invite_agency(
        actor=owner_admin, community=community, agency=invitee, role=CommunityRole.OBSERVER
    )
    actions.appoint_moderator(actor=owner_admin, community=community, person=people["moderator"])
    if visibility == Visibility.UNLISTED:
        # Nor to change visibility: a community that was listed when Baylor asked to join.
        Community.objects.filter(pk=community.pk).update(visibility=Visibility.UNLISTED)
        community.refresh_from_db()
    return CommunityWorld(
        community=community,
        owner=owner,
        participant=participant,
        observer=observer,
        removed_agency=removed_agency,
        nonmember=nonmember,
        invitee=invitee,
        applicant=applicant,
        invitation=invitation,
        join_request=join_request,
        **people,
    )


@pytest.fixture
def make_community_world(db) -> Callable[..., CommunityWorld]:  # type: ignore[no-untyped-def]
    return build_world


@pytest.fixture
def cw(db) -> CommunityWorld:  # type: ignore[no-untyped-def]
    """The world around a listed community."""
    return build_world()


# --- The matrix ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """One route and the status each role should get on a listed community.

    ``scoped`` routes live under a community's address: on an unlisted community every
    non-member gets 404, exactly as for an address that does not exist. Routes that do not
    depend on the community at all (``per_visibility=False``) run for the listed one only.
    """

    name: str
    url: Callable[[CommunityWorld], str]
    expect: dict[str, int]
    method: str = "get"
    data: Callable[[CommunityWorld], dict[str, Any]] = field(default=lambda world: {})
    scoped: bool = True
    per_visibility: bool = True

    def __post_init__(self) -> None:
        missing = set(ROLES) - set(self.expect)
        assert not missing, f"{self.name}: no expectation for {sorted(missing)}"

    def __str__(self) -> str:
        return self.name

    def expected(self, role: str, visibility: str) -> int:
        if self.scoped and visibility == Visibility.UNLISTED and role in NON_MEMBERS:
            return 404
        return self.expect[role]


def client_as(role: str, world: CommunityWorld) -> Client:
    client = Client()
    if role == "anonymous":
        return client
    client.force_login(world.person(role))
    if role == "removed":
        actions.remove_agency(actor=world.owner_admin, community=world.community, agency=world.removed_agency)
    return client


def snapshot(world: CommunityWorld) -> tuple[Any, ...]:
    """Everything a community route could change: memberships, consents, the community."""
    community = world.community
    return (
        sorted(CommunityMembership.objects.filter(community=community).values_list("agency_id", "role", "all_staff")),
        sorted(CommunityMembership.named_staff.through.objects.values_list("communitymembership_id", "user_id")),
        sorted(Moderator.objects.filter(community=community).values_list("user_id", flat=True)),
        sorted(CommunityInvitation.objects.filter(community=community).values_list("pk", "status")),
        sorted(JoinRequest.objects.filter(community=community).values_list("pk", "status")),
        Community.objects.count(),
        Community.objects.filter(pk=community.pk).values_list("name", "visibility", "is_archived").get(),
    )


def check_route(route: Route, role: str, world: CommunityWorld, visibility: str) -> None:
    client = client_as(role, world)
    url = route.url(world)
    before = snapshot(world)
    response = getattr(client, route.method)(url, route.data(world))
    expected = route.expected(role, visibility)
    assert response.status_code == expected, (
        f"{route.method.upper()} {route.name} ({visibility}) as {role}: got {response.status_code}, expected {expected}"
    )
    if expected == LOGIN and role == "anonymous":
        assert "/accounts/login/" in response["Location"]
    if expected in (403, 404) or role == "anonymous":
        assert snapshot(world) == before, f"{route.name} as {role} was refused but changed something"
