"""Reads the community pages need on top of ``communities.selectors``: who may act for an
agency, where the viewer stands in a community, what a role would let an agency do, and
one page of "why has this person access" answers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from communities import selectors
from communities.grants import ROLE_GRANTS
from communities.models import (
    Community,
    CommunityInvitation,
    CommunityMembership,
    ConsentStatus,
    JoinRequest,
    Moderator,
)
from workspace import policy
from workspace.models import Agency, AgencyRole, User
from workspace.policy import Grant


def acts_for_agency(user: User) -> bool:
    """True if the person may accept invitations, request, create and leave for their agency."""
    agency = user.agency if user.is_authenticated else None
    return agency is not None and policy.can(user, "manage_communities", agency)


def access_acting_agency(user: User) -> Agency:
    """The person's agency, which they must administer to act for it in communities (403)."""
    if not acts_for_agency(user):
        raise PermissionDenied("Only an admin of your agency can do this.")
    return user.agency  # type: ignore[return-value]


def access_community_roster(user: User, slug: str) -> Community:
    """A community whose access list the person may read: its managers and moderators.

    404 if they may not see the community, 403 if they may see it but neither manage nor
    moderate it.
    """
    community = selectors.access_community(user, slug)
    if not (policy.can(user, "manage", community) or policy.can(user, "moderate", community)):
        raise PermissionDenied("Only the community's managers and moderators can see who has access.")
    return community


def access_own_membership(user: User, slug: str) -> CommunityMembership:
    """The membership of the person's agency in a community, for leaving it.

    404 if they may not see the community, 403 if they do not act for their agency or
    their agency is not a member.
    """
    community = selectors.access_community(user, slug)
    agency = access_acting_agency(user)
    membership = (
        CommunityMembership.objects.filter(community=community, agency=agency)
        .select_related("community", "agency")
        .first()
    )
    if membership is None:
        raise PermissionDenied(f"{agency.name} is not a member of this community.")
    return membership


@dataclass(frozen=True)
class Standing:
    """Where the viewer stands in a community, and what the community page offers them."""

    membership: CommunityMembership | None
    acts_for_agency: bool
    can_manage: bool
    can_moderate: bool
    pending_request: JoinRequest | None = None
    pending_invitation: CommunityInvitation | None = None

    @property
    def may_leave(self) -> bool:
        return self.acts_for_agency and self.membership is not None

    @property
    def may_request(self) -> bool:
        return self.acts_for_agency and self.membership is None and self.pending_invitation is None


def standing_in_community(user: User, community: Community) -> Standing:
    """The viewer's membership and powers in ``community``: a fixed number of queries."""
    agency = user.agency
    acting = acts_for_agency(user)
    membership = None
    if agency is not None:
        membership = (
            CommunityMembership.objects.filter(community=community, agency=agency).select_related("agency").first()
        )
    pending_request = pending_invitation = None
    if acting and membership is None and community.is_listed:
        pending_request = selectors.requests_from_agency(agency).pending().filter(community=community).first()  # type: ignore[arg-type]
        pending_invitation = (
            selectors.invitations_to_agency(agency).pending().filter(community=community).first()  # type: ignore[arg-type]
        )
    return Standing(
        membership=membership,
        acts_for_agency=acting,
        can_manage=policy.can(user, "manage", community),
        can_moderate=policy.can(user, "moderate", community),
        pending_request=pending_request,
        pending_invitation=pending_invitation,
    )


@dataclass(frozen=True)
class Inbox:
    pending: QuerySet[CommunityInvitation]
    past: QuerySet[CommunityInvitation]
    requests: QuerySet[JoinRequest]


def inbox_of_agency(agency: Agency) -> Inbox:
    """Invitations to the agency waiting for a decision, past ones, and its join requests."""
    invitations = selectors.invitations_to_agency(agency)
    return Inbox(
        pending=invitations.pending(),  # type: ignore[attr-defined]
        past=invitations.exclude(status=ConsentStatus.PENDING, expires_at__gt=timezone.now()),
        requests=selectors.requests_from_agency(agency),
    )


_PERMISSION_LABELS = dict(Community._meta.permissions)


@dataclass(frozen=True)
class RoleCapabilities:
    """In words, what a community role grants to the agency's staff and to its admins."""

    role: str
    staff: list[str] = field(default_factory=list)
    admins: list[str] = field(default_factory=list)

    @property
    def may_post(self) -> bool:
        return "post" in ROLE_GRANTS[self.role]["staff"]


def role_capabilities(role: str) -> RoleCapabilities:
    """Read from the grant table itself, so the words cannot drift from the grants."""
    grants = ROLE_GRANTS[role]
    return RoleCapabilities(
        role=role,
        staff=[_PERMISSION_LABELS[codename] for codename in grants["staff"]],
        admins=[_PERMISSION_LABELS[codename] for codename in grants["admins"]],
    )


@dataclass(frozen=True)
class AccessRow:
    person: User
    grants: list[Grant]


def explain_access(community: Community, people: Iterable[User]) -> list[AccessRow]:
    """Why each person may read the community's content, in the policy's own words, in a
    fixed number of queries however many people."""
    people = list(people)
    reasons = policy.explain_many(people, "view_content", community)
    return [AccessRow(person, reasons[person.pk]) for person in people]


def staff_to_name(agency: Agency) -> QuerySet[User]:
    """The agency's active non-admin staff, whom its admins may name as participants."""
    return User.objects.filter(is_active=True, membership__agency=agency, membership__role=AgencyRole.STAFF).order_by(
        "full_name", "pk"
    )


def moderator_ids(community: Community) -> set[int]:
    return set(Moderator.objects.filter(community=community).values_list("user_id", flat=True))


def access_person_with_access(community: Community, user_id: int) -> User:
    """A person who may read the community, or 404 (people elsewhere are not revealed)."""
    person = selectors.people_with_access(community).filter(pk=user_id).first()
    if person is None:
        raise Http404("No such person in this community.")
    return person


def access_moderator(community: Community, user_id: int) -> User:
    person = (
        User.objects.filter(moderates__community=community, pk=user_id).select_related("membership__agency").first()
    )
    if person is None:
        raise Http404("No such moderator.")
    return person
