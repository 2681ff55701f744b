"""Read path for communities: querysets already filtered to what the person may see."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Case, Count, Prefetch, Q, QuerySet, When
from django.http import Http404

from communities.models import (
    Community,
    CommunityGroupObjectPermission,
    CommunityInvitation,
    CommunityMembership,
    CommunityRole,
    CommunityUserObjectPermission,
    JoinRequest,
    Tag,
    Visibility,
)
from workspace import policy
from workspace.models import Agency, User


def access_community(user: User, slug: str, action: str = "see") -> Community:
    """Fetch a community and check ``action``.

    A community the person may not even see answers 404, the same as one that does not
    exist, so unlisted communities do not leak. Seeing it but lacking ``action`` is 403.
    """
    community = Community.objects.filter(slug=slug).first()
    if community is None or not policy.can(user, "see", community):
        raise Http404("No such community.")
    if action != "see" and not policy.can(user, action, community):
        raise PermissionDenied("You may not do that in this community.")
    return community


@dataclass(frozen=True)
class DirectoryFilters:
    level: str = ""
    state: str = ""
    tag: str = ""
    q: str = ""


def communities_for_directory(filters: DirectoryFilters | None = None) -> QuerySet[Community]:
    """Listed, active communities with their member count and tags, narrowed by filters."""
    communities = Community.objects.filter(visibility=Visibility.LISTED, is_archived=False)
    filters = filters or DirectoryFilters()
    if filters.level:
        communities = communities.filter(memberships__agency__level=filters.level)
    if filters.state:
        communities = communities.filter(memberships__agency__state=filters.state)
    if filters.tag:
        communities = communities.filter(tags__slug=filters.tag)
    if filters.q:
        communities = communities.filter(Q(name__icontains=filters.q) | Q(purpose__icontains=filters.q))
    ids = communities.values("pk")
    return (
        Community.objects.filter(pk__in=ids)
        .annotate(member_count=Count("memberships", distinct=True))
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
        .order_by("name")
    )


def tags_in_use() -> QuerySet[Tag]:
    return Tag.objects.filter(communities__visibility=Visibility.LISTED).distinct().order_by("name")


def memberships_of_agency(agency: Agency) -> QuerySet[CommunityMembership]:
    """The agency's communities (for the dashboard), with the agency's role in each."""
    return (
        CommunityMembership.objects.filter(agency=agency, community__is_archived=False)
        .select_related("community")
        .order_by("community__name")
    )


def members_of_community(community: Community) -> QuerySet[CommunityMembership]:
    return (
        CommunityMembership.objects.filter(community=community)
        .select_related("agency")
        .annotate(
            role_rank=Case(
                When(role=CommunityRole.OWNER, then=0), When(role=CommunityRole.PARTICIPANT, then=1), default=2
            )
        )
        .order_by("role_rank", "agency__name")
    )


def pending_invitations_of_community(community: Community) -> QuerySet[CommunityInvitation]:
    return CommunityInvitation.objects.pending().filter(community=community).select_related("agency", "created_by")


def pending_requests_of_community(community: Community) -> QuerySet[JoinRequest]:
    return JoinRequest.objects.pending().filter(community=community).select_related("agency", "created_by")


def invitations_to_agency(agency: Agency) -> QuerySet[CommunityInvitation]:
    """Invitations addressed to the agency, pending first, then recent decisions."""
    return (
        CommunityInvitation.objects.filter(agency=agency)
        .select_related("community", "created_by", "created_by__membership__agency", "decided_by")
        .order_by("-created_at")
    )


def requests_from_agency(agency: Agency) -> QuerySet[JoinRequest]:
    return JoinRequest.objects.filter(agency=agency).select_related("community", "decided_by").order_by("-created_at")


def access_invitation_for_agency(agency: Agency, invitation_id: int) -> CommunityInvitation:
    found = (
        CommunityInvitation.objects.select_related("community", "agency")
        .filter(pk=invitation_id, agency=agency)
        .first()
    )
    if found is None:
        raise Http404("No such invitation.")
    return found


def access_invitation_of_community(community: Community, invitation_id: int) -> CommunityInvitation:
    found = (
        CommunityInvitation.objects.select_related("community", "agency")
        .filter(pk=invitation_id, community=community)
        .first()
    )
    if found is None:
        raise Http404("No such invitation.")
    return found


def access_request_of_community(community: Community, request_id: int) -> JoinRequest:
    found = JoinRequest.objects.select_related("community", "agency").filter(pk=request_id, community=community).first()
    if found is None:
        raise Http404("No such request.")
    return found


def member_agency(community: Community, agency_slug: str) -> Agency:
    membership = members_of_community(community).filter(agency__slug=agency_slug).first()
    if membership is None:
        raise Http404("That agency is not a member.")
    return membership.agency


def agencies_to_invite(community: Community) -> QuerySet[Agency]:
    """Active agencies that are neither members nor already invited."""
    invited = CommunityInvitation.objects.pending().filter(community=community).values("agency_id")
    return (
        Agency.objects.active()
        .exclude(community_memberships__community=community)
        .exclude(pk__in=invited)
        .order_by("name")
    )


def people_with_access(community: Community) -> QuerySet[User]:
    """Active people who may read the community, read from the grants themselves: through
    their agency's group or named individually."""
    via_group = CommunityGroupObjectPermission.objects.filter(
        content_object=community, permission__codename="view_content"
    ).values("group_id")
    named = CommunityUserObjectPermission.objects.filter(
        content_object=community, permission__codename="view_content"
    ).values("user_id")
    return (
        User.objects.filter(is_active=True)
        .filter(Q(groups__in=via_group) | Q(pk__in=named))
        .distinct()
        .select_related("membership__agency")
        .order_by("membership__agency__name", "full_name", "pk")
    )
