"""Read path for the tenant layer: querysets already filtered to what the caller may see.

Each returns a lazily evaluated queryset with the joins a page needs, so a list costs the
same number of queries for ten rows or ten thousand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from workspace import policy
from workspace.models import Agency, AgencyMembership, AuditEvent, StaffInvitation, User


def agencies_for_directory() -> QuerySet[Agency]:
    """Active agencies with their parent and active staff count, for the directory."""
    return (
        Agency.objects.active()
        .select_related("parent")
        .annotate(staff_count=Count("memberships", filter=Q(memberships__user__is_active=True)))
        .order_by("name")
    )


def access_agency(user: User, slug: str, action: str = "view") -> Agency:
    """Fetch an active agency by slug and check ``action`` on it.

    Raises 404 if it does not exist and ``PermissionDenied`` if the person may not act on
    it (agencies are public to signed-in people, so there is no existence to hide).
    """
    agency = get_object_or_404(Agency.objects.select_related("parent"), slug=slug, is_active=True)
    policy.check(user, action, agency)
    return agency


def staff_of_agency(agency: Agency, *, include_inactive: bool = False) -> QuerySet[AgencyMembership]:
    memberships = AgencyMembership.objects.filter(agency=agency).select_related("user")
    if not include_inactive:
        memberships = memberships.filter(user__is_active=True)
    return memberships.order_by("-user__is_active", "user__full_name")


def active_staff_ids(agencies: list[Agency]) -> list[int]:
    """The ids of the active people of these agencies (whose sockets a change must reach)."""
    return list(
        AgencyMembership.objects.filter(agency__in=agencies, user__is_active=True).values_list("user_id", flat=True)
    )


def access_staff_member(agency: Agency, user_id: int) -> User:
    """A person on ``agency``'s staff (active or not), or 404."""
    membership = AgencyMembership.objects.select_related("user").filter(agency=agency, user_id=user_id).first()
    if membership is None:
        raise Http404("No such person in this agency.")
    return membership.user


def pending_invitations(agency: Agency) -> QuerySet[StaffInvitation]:
    return StaffInvitation.objects.filter(
        agency=agency, accepted_at=None, revoked_at=None, expires_at__gt=timezone.now()
    ).select_related("invited_by")


def access_invitation(agency: Agency, invitation_id: int) -> StaffInvitation:
    return get_object_or_404(StaffInvitation.objects.select_related("agency"), agency=agency, pk=invitation_id)


@dataclass(frozen=True)
class AuditFilters:
    verb: str = ""
    actor: str = ""
    since: date | None = None
    until: date | None = None


def audit_events_for_agency(agency: Agency, filters: AuditFilters | None = None) -> QuerySet[AuditEvent]:
    """The agency's audit events, newest first, narrowed by the filters."""
    events = AuditEvent.objects.for_agency(agency).select_related("actor_agency", "agency")
    if filters is None:
        return events
    if filters.verb:
        events = events.filter(verb__startswith=filters.verb)
    if filters.actor:
        events = events.filter(actor_repr__icontains=filters.actor)
    if filters.since:
        events = events.filter(created_at__date__gte=filters.since)
    if filters.until:
        events = events.filter(created_at__date__lte=filters.until)
    return events


def audit_verbs_for_agency(agency: Agency) -> list[str]:
    return list(AuditEvent.objects.for_agency(agency).order_by("verb").values_list("verb", flat=True).distinct())
