"""Write path for communities. Every membership change is one action: it checks the
policy, changes membership and guardian grants in one transaction, records an audit
event, and sends emails on commit."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from communities import grants
from communities.models import (
    Community,
    CommunityInvitation,
    CommunityMembership,
    CommunityRole,
    ConsentStatus,
    JoinRequest,
    Moderator,
    Tag,
    Visibility,
)
from messaging.notifications import agency_admins, notify
from search import indexer
from workspace import audit, policy
from workspace.exceptions import ActionError
from workspace.models import Agency, AgencyRole, User
from workspace.realtime import access_changed_on_commit
from workspace.selectors import active_staff_ids

# Addresses under /communities/ that are pages, not communities.
RESERVED_SLUGS = frozenset({"new", "inbox"})


def _check_role(role: str) -> None:
    if role not in CommunityRole.values:
        raise ActionError(f"Unknown role “{role}”. Choose owner, participant or observer.", field="role")


def _acting_agency(actor: User) -> Agency:
    """The actor's agency, which they must administer to act for it in communities."""
    agency = actor.agency if actor.is_authenticated else None
    if agency is None:
        raise ActionError("Only people who belong to an agency can do this.")
    policy.check(actor, "manage_communities", agency)
    return agency


def _staff_ids(agency: Agency) -> list[int]:
    return active_staff_ids([agency])


def _owners(community: Community) -> list[Agency]:
    return [m.agency for m in community.memberships.select_related("agency").filter(role=CommunityRole.OWNER)]


def _path(community: Community) -> str:
    return reverse("community_detail", args=[community.slug])


def _lock(community: Community) -> Community:
    """Lock the community row: membership checks and changes of one community run one at a time."""
    return Community.objects.select_for_update().get(pk=community.pk)


def _membership(community: Community, agency: Agency) -> CommunityMembership | None:
    return CommunityMembership.objects.filter(community=community, agency=agency).first()


def _is_last_owner(membership: CommunityMembership) -> bool:
    return (
        membership.role == CommunityRole.OWNER
        and not CommunityMembership.objects.filter(community=membership.community, role=CommunityRole.OWNER)
        .exclude(pk=membership.pk)
        .exists()
    )


def _expiry():  # type: ignore[no-untyped-def]
    return timezone.now() + settings.COMMUNITY_CONSENT_TTL


# --- Creating ----------------------------------------------------------------------------


def create_community(
    *,
    actor: User,
    name: str,
    purpose: str,
    description: str = "",
    visibility: str = Visibility.LISTED,
    entry_requirements: str = "",
    tags: Iterable[str] = (),
    slug: str = "",
) -> Community:
    """Create a community with the actor's agency as its first owner."""
    agency = _acting_agency(actor)
    name = _check_about(name=name, purpose=purpose, visibility=visibility)
    slug = slugify(slug or name)[:80]
    if slug in RESERVED_SLUGS or not slug:
        raise ActionError(f"“{name}” cannot be used as a community name; choose another.", field="name")
    with transaction.atomic():
        if Community.objects.filter(name__iexact=name).exists() or Community.objects.filter(slug=slug).exists():
            raise ActionError(f"A community named “{name}” already exists.", field="name")
        community = Community.objects.create(
            name=name,
            slug=slug,
            purpose=purpose.strip(),
            description=description.strip(),
            visibility=visibility,
            entry_requirements=entry_requirements.strip(),
        )
        _set_tags(community, tags)
        membership = CommunityMembership.objects.create(community=community, agency=agency, role=CommunityRole.OWNER)
        grants.apply_membership(membership)
        audit.record(actor=actor, verb="community.created", target=community, agency=agency)
        indexer.index_on_commit(community)
    policy.forget(actor)
    return community


def update_community(
    *,
    actor: User,
    community: Community,
    name: str,
    purpose: str,
    description: str = "",
    visibility: str = Visibility.LISTED,
    entry_requirements: str = "",
    tags: Iterable[str] = (),
) -> Community:
    """Owners change what the community says about itself and whether it is listed.

    The address (slug) stays, so links keep working. Making a community unlisted hides it
    from every non-member at once.
    """
    policy.check(actor, "manage", community)
    name = _check_about(name=name, purpose=purpose, visibility=visibility)
    with transaction.atomic():
        community = _lock(community)
        if Community.objects.filter(name__iexact=name).exclude(pk=community.pk).exists():
            raise ActionError(f"A community named “{name}” already exists.", field="name")
        changed = {
            field: value
            for field, value in {
                "name": name,
                "purpose": purpose.strip(),
                "description": description.strip(),
                "visibility": visibility,
                "entry_requirements": entry_requirements.strip(),
            }.items()
            if getattr(community, field) != value
        }
        for field, value in changed.items():
            setattr(community, field, value)
        community.save()
        _set_tags(community, tags)
        indexer.index_on_commit(community)
        audit.record(
            actor=actor,
            verb="community.updated",
            target=community,
            agency=actor.agency,
            details={"changed": sorted(changed)},
        )
    return community


def set_archived(*, actor: User, community: Community, archived: bool) -> Community:
    """Archive (read-only, out of the directory and dashboards) or restore a community."""
    policy.check(actor, "manage", community)
    with transaction.atomic():
        community = _lock(community)
        if community.is_archived == archived:
            raise ActionError(f"{community.name} is already {'archived' if archived else 'active'}.")
        community.is_archived = archived
        community.save(update_fields=["is_archived"])
        indexer.index_on_commit(community)
        audit.record(
            actor=actor,
            verb="community.archived" if archived else "community.restored",
            target=community,
            agency=actor.agency,
        )
    return community


def _check_about(*, name: str, purpose: str, visibility: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ActionError("Give the community a name.", field="name")
    if not (purpose or "").strip():
        raise ActionError("Say in one sentence what the community is for.", field="purpose")
    if visibility not in Visibility.values:
        raise ActionError("Choose listed or unlisted.", field="visibility")
    return name


def _set_tags(community: Community, labels: Iterable[str]) -> None:
    tags = []
    for label in {t.strip() for t in labels if t.strip()}:
        tag, _ = Tag.objects.get_or_create(slug=slugify(label)[:40], defaults={"name": label[:40]})
        tags.append(tag)
    community.tags.set(tags)


# --- Invitations: owners ask, the agency decides ------------------------------------------


def invite_agency(
    *, actor: User, community: Community, agency: Agency, role: str = CommunityRole.PARTICIPANT, message: str = ""
) -> CommunityInvitation:
    """Invite an agency into the community; its admins accept or decline."""
    policy.check(actor, "manage", community)
    _check_role(role)
    if not agency.is_active:
        raise ActionError(f"{agency.name} is not active.", field="agency")
    with transaction.atomic():
        community = _lock(community)
        if community.is_archived:
            raise ActionError("This community is archived.")
        if _membership(community, agency):
            raise ActionError(f"{agency.name} is already a member.", field="agency")
        if CommunityInvitation.objects.pending().filter(community=community, agency=agency).exists():
            raise ActionError(f"{agency.name} already has a pending invitation.", field="agency")
        invitation = CommunityInvitation.objects.create(
            community=community,
            agency=agency,
            role=role,
            message=message.strip(),
            created_by=actor,
            expires_at=_expiry(),
        )
        audit.record(
            actor=actor, verb="community.agency_invited", target=community, agency=agency, details={"role": role}
        )
        notify(
            agency_admins([agency]),
            kind="community.invited",
            title=f"{community.name}: {agency.short_name} is invited to join",
            body=f"{actor.full_name} ({actor.agency}) invited {agency.name} to join “{community.name}” as "
            f"{role}.\n\n{community.purpose}\n\nAn admin of {agency.short_name} can accept or decline in the inbox.",
            url=reverse("community_inbox"),
        )
    return invitation


def _decide(consent, *, actor: User, status: str) -> None:  # type: ignore[no-untyped-def]
    consent.status = status
    consent.decided_by = actor
    consent.decided_at = timezone.now()
    consent.save(update_fields=["status", "decided_by", "decided_at"])


def _lock_pending(model, consent):  # type: ignore[no-untyped-def]
    consent = model.objects.select_for_update().select_related("community", "agency").get(pk=consent.pk)
    status = consent.current_status
    if status != ConsentStatus.PENDING:
        if status == ConsentStatus.EXPIRED and consent.status == ConsentStatus.PENDING:
            raise ActionError(f"This {model._meta.verbose_name} has expired. Ask for a new one.")
        raise ActionError(f"This {model._meta.verbose_name} is already {consent.get_status_display().lower()}.")
    return consent


def _admit(*, actor: User, community: Community, agency: Agency, role: str) -> CommunityMembership:
    if _membership(community, agency):
        raise ActionError(f"{agency.name} is already a member.")
    membership = CommunityMembership.objects.create(community=community, agency=agency, role=role)
    grants.apply_membership(membership)
    indexer.reindex_community_on_commit(community)
    audit.record(actor=actor, verb="community.agency_joined", target=community, agency=agency, details={"role": role})
    return membership


def accept_invitation(*, actor: User, invitation: CommunityInvitation) -> CommunityMembership:
    """The invited agency's admin accepts: the agency joins with the invited role."""
    agency = _acting_agency(actor)
    if invitation.agency_id != agency.pk:
        raise ActionError("This invitation is addressed to another agency.")
    with transaction.atomic():
        _lock(invitation.community)
        invitation = _lock_pending(CommunityInvitation, invitation)
        _decide(invitation, actor=actor, status=ConsentStatus.ACCEPTED)
        membership = _admit(actor=actor, community=invitation.community, agency=agency, role=invitation.role)
        notify(
            agency_admins(_owners(invitation.community)),
            kind="community.invitation_accepted",
            title=f"{invitation.community.name}: {agency.short_name} accepted",
            body=f"{agency.name} accepted the invitation to “{invitation.community.name}”.",
            url=_path(invitation.community),
        )
    return membership


def decline_invitation(*, actor: User, invitation: CommunityInvitation) -> None:
    agency = _acting_agency(actor)
    if invitation.agency_id != agency.pk:
        raise ActionError("This invitation is addressed to another agency.")
    with transaction.atomic():
        invitation = _lock_pending(CommunityInvitation, invitation)
        _decide(invitation, actor=actor, status=ConsentStatus.DECLINED)
        audit.record(actor=actor, verb="community.invitation_declined", target=invitation.community, agency=agency)
        notify(
            agency_admins(_owners(invitation.community)),
            kind="community.invitation_declined",
            title=f"{invitation.community.name}: {agency.short_name} declined",
            body=f"{agency.name} declined the invitation to “{invitation.community.name}”.",
            url=_path(invitation.community),
        )


def withdraw_invitation(*, actor: User, invitation: CommunityInvitation) -> None:
    policy.check(actor, "manage", invitation.community)
    with transaction.atomic():
        invitation = _lock_pending(CommunityInvitation, invitation)
        _decide(invitation, actor=actor, status=ConsentStatus.WITHDRAWN)
        audit.record(
            actor=actor, verb="community.invitation_withdrawn", target=invitation.community, agency=invitation.agency
        )


# --- Join requests: the agency asks, owners decide ----------------------------------------


def request_to_join(*, actor: User, community: Community, reason: str) -> JoinRequest:
    """An agency's admin asks to join a listed community, saying why."""
    agency = _acting_agency(actor)
    if not policy.can(actor, "see", community):
        raise ActionError("No such community.")
    reason = (reason or "").strip()
    if not reason:
        raise ActionError("Say why your agency wants to join.", field="reason")
    with transaction.atomic():
        community = _lock(community)
        if not community.is_listed or community.is_archived:
            raise ActionError("This community does not take requests; ask its owners for an invitation.")
        if _membership(community, agency):
            raise ActionError(f"{agency.name} is already a member.")
        if JoinRequest.objects.pending().filter(community=community, agency=agency).exists():
            raise ActionError(f"{agency.name} already has a pending request.")
        if CommunityInvitation.objects.pending().filter(community=community, agency=agency).exists():
            raise ActionError(f"{agency.name} is already invited: accept the invitation instead.")
        join_request = JoinRequest.objects.create(
            community=community, agency=agency, reason=reason, created_by=actor, expires_at=_expiry()
        )
        audit.record(actor=actor, verb="community.join_requested", target=community, agency=agency)
        notify(
            agency_admins(_owners(community)),
            kind="community.join_requested",
            title=f"{community.name}: {agency.short_name} asks to join",
            body=f"{actor.full_name} of {agency.name} asks to join “{community.name}”:\n\n{reason}",
            url=_path(community),
        )
    return join_request


def approve_request(
    *, actor: User, join_request: JoinRequest, role: str = CommunityRole.PARTICIPANT
) -> CommunityMembership:
    policy.check(actor, "manage", join_request.community)
    _check_role(role)
    with transaction.atomic():
        _lock(join_request.community)
        join_request = _lock_pending(JoinRequest, join_request)
        _decide(join_request, actor=actor, status=ConsentStatus.ACCEPTED)
        membership = _admit(actor=actor, community=join_request.community, agency=join_request.agency, role=role)
        notify(
            agency_admins([join_request.agency]),
            kind="community.request_approved",
            title=f"{join_request.community.name}: request approved",
            body=f"{join_request.agency.name} joined “{join_request.community.name}” as {role}.",
            url=_path(join_request.community),
        )
    return membership


def decline_request(*, actor: User, join_request: JoinRequest) -> None:
    policy.check(actor, "manage", join_request.community)
    with transaction.atomic():
        join_request = _lock_pending(JoinRequest, join_request)
        _decide(join_request, actor=actor, status=ConsentStatus.DECLINED)
        audit.record(
            actor=actor, verb="community.request_declined", target=join_request.community, agency=join_request.agency
        )
        notify(
            agency_admins([join_request.agency]),
            kind="community.request_declined",
            title=f"{join_request.community.name}: request declined",
            body=f"The owners of “{join_request.community.name}” declined {join_request.agency.name}'s request.",
            url=reverse("community_inbox"),
        )


# --- Leaving, removing, changing roles ----------------------------------------------------


def leave_community(*, actor: User, community: Community) -> None:
    """The actor's agency leaves; its staff lose access at once. The last owner cannot."""
    agency = _acting_agency(actor)
    _end_membership(
        actor=actor,
        community=community,
        agency=agency,
        verb="community.agency_left",
        last_owner_error=f"{agency.name} is the last owner. Make another agency an owner before leaving.",
    )


def remove_agency(*, actor: User, community: Community, agency: Agency) -> None:
    """Owners remove a member agency; its staff lose access at once. The last owner stays."""
    policy.check(actor, "manage", community)
    _end_membership(
        actor=actor,
        community=community,
        agency=agency,
        verb="community.agency_removed",
        last_owner_error=f"{agency.name} is the last owner and cannot be removed.",
    )


def _end_membership(*, actor: User, community: Community, agency: Agency, verb: str, last_owner_error: str) -> None:
    with transaction.atomic():
        community = _lock(community)
        membership = _membership(community, agency)
        if membership is None:
            raise ActionError(f"{agency.name} is not a member.")
        if _is_last_owner(membership):
            raise ActionError(last_owner_error)
        grants.clear(community, agency)
        _drop_moderators(community, Moderator.objects.filter(community=community, user__membership__agency=agency))
        membership.delete()
        indexer.reindex_community_on_commit(community)
        audit.record(actor=actor, verb=verb, target=community, agency=agency)
        access_changed_on_commit(_staff_ids(agency))
    policy.forget(actor)


def _drop_moderators(community: Community, moderators) -> None:  # type: ignore[no-untyped-def]
    for moderator in moderators.select_related("user"):
        grants.revoke_moderator(community, moderator.user)
        moderator.delete()


def change_agency_role(*, actor: User, community: Community, agency: Agency, role: str) -> CommunityMembership:
    policy.check(actor, "manage", community)
    _check_role(role)
    with transaction.atomic():
        community = _lock(community)
        membership = _membership(community, agency)
        if membership is None:
            raise ActionError(f"{agency.name} is not a member.")
        if membership.role == role:
            return membership
        if _is_last_owner(membership):
            raise ActionError(f"{agency.name} is the last owner. Make another agency an owner first.")
        previous = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        grants.apply_membership(membership)
        indexer.reindex_community_on_commit(community)
        access_changed_on_commit(_staff_ids(agency))
        audit.record(
            actor=actor,
            verb="community.role_changed",
            target=community,
            agency=agency,
            details={"from": previous, "to": role},
        )
    policy.forget(actor)
    return membership


# --- Who takes part inside an agency's membership ------------------------------------------


def set_participants(*, actor: User, community: Community, people: Iterable[User] | None) -> CommunityMembership:
    """Name which of the actor's agency's staff take part (``None``: all staff, the default).

    The agency's admins always take part. Grants change in the same transaction and take
    effect on the next request; people no longer named lose access at once.
    """
    agency = _acting_agency(actor)
    with transaction.atomic():
        community = _lock(community)
        membership = _membership(community, agency)
        if membership is None:
            raise ActionError(f"{agency.name} is not a member.")
        if people is None:
            membership.all_staff = True
            membership.save(update_fields=["all_staff"])
            membership.named_staff.clear()
            details: dict[str, object] = {"all_staff": True}
        else:
            chosen = list(people)
            staff_ids = set(_staff_ids(agency))
            strangers = [person for person in chosen if person.pk not in staff_ids]
            if strangers:
                raise ActionError(
                    f"Only active staff of {agency.name} can be named; not {strangers[0]}.", field="people"
                )
            membership.all_staff = False
            membership.save(update_fields=["all_staff"])
            membership.named_staff.set(chosen)
            details = {"all_staff": False, "named": sorted(person.email for person in chosen)}
        grants.apply_membership(membership)
        if not membership.all_staff:
            # Moderators who no longer take part stop moderating.
            _drop_moderators(
                community,
                Moderator.objects.filter(community=community, user__membership__agency=agency)
                .exclude(user__membership__role=AgencyRole.ADMIN)
                .exclude(user__in=membership.named_staff.all()),
            )
        access_changed_on_commit(_staff_ids(agency))
        indexer.reindex_community_on_commit(community)
        audit.record(
            actor=actor, verb="community.participants_changed", target=community, agency=agency, details=details
        )
    return membership


# --- Moderators ---------------------------------------------------------------------------


def appoint_moderator(*, actor: User, community: Community, person: User) -> Moderator:
    """Make a person who can read the community one of its moderators."""
    policy.check(actor, "manage", community)
    with transaction.atomic():
        community = _lock(community)
        policy.forget(person)
        if not person.is_active or not policy.can(person, "view_content", community):
            raise ActionError(f"{person} does not take part in this community.", field="person")
        moderator, created = Moderator.objects.get_or_create(community=community, user=person)
        if not created:
            raise ActionError(f"{person} is already a moderator.", field="person")
        grants.grant_moderator(community, person)
        audit.record(
            actor=actor,
            verb="community.moderator_appointed",
            target=community,
            agency=person.agency,
            details={"person": person.email},
        )
    return moderator


def remove_moderator(*, actor: User, community: Community, person: User) -> None:
    policy.check(actor, "manage", community)
    with transaction.atomic():
        community = _lock(community)
        deleted, _ = Moderator.objects.filter(community=community, user=person).delete()
        if not deleted:
            raise ActionError(f"{person} is not a moderator.", field="person")
        grants.revoke_moderator(community, person)
        audit.record(
            actor=actor,
            verb="community.moderator_removed",
            target=community,
            agency=person.agency,
            details={"person": person.email},
        )
