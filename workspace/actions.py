"""Write path for the tenant layer. One function per intent; each checks permission
through the policy, writes in one transaction, records an audit event and queues live
messages on commit. Views, commands and the admin call these and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm

from workspace import audit, policy
from workspace.exceptions import ActionError
from workspace.models import (
    Agency,
    AgencyMembership,
    AgencyRole,
    InvitationStatus,
    JurisdictionLevel,
    StaffInvitation,
    User,
    hash_token,
)
from workspace.notify import email_on_commit
from workspace.realtime import send_on_commit, user_group

ADMIN_AGENCY_PERMS = ("workspace.manage_staff", "workspace.view_audit", "workspace.manage_communities")


def _clean_email(email: str) -> str:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ActionError("Enter a valid email address.", field="email") from exc
    return email


def _check_role(role: str) -> None:
    if role not in AgencyRole.values:
        raise ActionError(f"Unknown role “{role}”. Choose admin or staff.", field="role")


# --- Agencies -----------------------------------------------------------------------------


def create_agency(
    *,
    actor: User | None,
    name: str,
    short_name: str,
    slug: str,
    level: str,
    state: str,
    parent: Agency | None = None,
    contact_email: str = "",
    contact_phone: str = "",
    website: str = "",
) -> Agency:
    """Create an agency with its staff and admin groups and the admins' grants.

    Platform operators (through a command or the admin site) create agencies; ``actor``
    is None for system and command use.
    """
    if level not in JurisdictionLevel.values:
        raise ActionError(f"Unknown jurisdiction level “{level}”.", field="level")
    with transaction.atomic():
        if Agency.objects.filter(slug=slug).exists() or Agency.objects.filter(name=name).exists():
            raise ActionError(f"An agency named “{name}” or with address “{slug}” already exists.", field="slug")
        staff_group = Group.objects.create(name=f"agency:{slug}:staff")
        admin_group = Group.objects.create(name=f"agency:{slug}:admins")
        agency = Agency(
            name=name,
            short_name=short_name,
            slug=slug,
            level=level,
            state=state.upper(),
            parent=parent,
            contact_email=contact_email,
            contact_phone=contact_phone,
            website=website,
            staff_group=staff_group,
            admin_group=admin_group,
        )
        try:
            agency.full_clean(exclude=["staff_group", "admin_group"])
        except ValidationError as exc:
            raise ActionError("; ".join(m for ms in exc.message_dict.values() for m in ms)) from exc
        agency.save()
        for perm in ADMIN_AGENCY_PERMS:
            assign_perm(perm, admin_group, agency)
        audit.record(actor=actor, verb="agency.created", target=agency, agency=agency)
    return agency


# --- People -------------------------------------------------------------------------------


def _join_groups(user: User, membership: AgencyMembership) -> None:
    agency = membership.agency
    user.groups.add(agency.staff_group)
    if membership.role == AgencyRole.ADMIN:
        user.groups.add(agency.admin_group)
    else:
        user.groups.remove(agency.admin_group)
    policy.forget(user)


def _leave_groups(user: User, agency: Agency) -> None:
    user.groups.remove(agency.staff_group, agency.admin_group)
    policy.forget(user)


def add_staff_member(
    *,
    actor: User | None,
    agency: Agency,
    email: str,
    full_name: str,
    role: str = AgencyRole.STAFF,
    title: str = "",
    password: str | None = None,
) -> User:
    """Create a person in ``agency`` directly (operators' commands and demo data).

    Staff normally join through an invitation (``invite_staff`` / ``accept_invitation``).
    """
    email = _clean_email(email)
    _check_role(role)
    if actor is not None:
        policy.check(actor, "manage_staff", agency)
    with transaction.atomic():
        if User.objects.filter(email=email).exists():
            raise ActionError(f"{email} already has an account.", field="email")
        user = User.objects.create_user(email, password, full_name=full_name.strip(), title=title.strip())
        membership = AgencyMembership.objects.create(user=user, agency=agency, role=role)
        _join_groups(user, membership)
        audit.record(actor=actor, verb="staff.added", target=user, agency=agency, details={"role": role})
    return user


@dataclass(frozen=True)
class SentInvitation:
    invitation: StaffInvitation
    url: str


def invite_staff(*, actor: User, agency: Agency, email: str, role: str = AgencyRole.STAFF) -> SentInvitation:
    """Email an expiring sign-up link to a new member of ``agency``'s staff."""
    policy.check(actor, "manage_staff", agency)
    email = _clean_email(email)
    _check_role(role)
    if not agency.is_active:
        raise ActionError(f"{agency.name} is not active.")
    with transaction.atomic():
        if User.objects.filter(email=email).exists():
            raise ActionError(f"{email} already has an account.", field="email")
        pending = StaffInvitation.objects.filter(
            email=email, accepted_at=None, revoked_at=None, expires_at__gt=timezone.now()
        )
        if pending.exists():
            raise ActionError(f"{email} already has a pending invitation; revoke it first.", field="email")
        raw_token = StaffInvitation.new_token()
        invitation = StaffInvitation.objects.create(
            agency=agency,
            email=email,
            role=role,
            token_hash=hash_token(raw_token),
            invited_by=actor,
            expires_at=timezone.now() + settings.STAFF_INVITATION_TTL,
        )
        audit.record(
            actor=actor, verb="staff.invited", target=invitation, agency=agency, details={"email": email, "role": role}
        )
        url = settings.SITE_URL.rstrip("/") + reverse("invitation_accept", args=[raw_token])
        context = {"invitation": invitation, "url": url, "inviter": actor, "agency": agency}
        subject = f"You're invited to join {agency.name} on the Interagency Workspace"
        body = render_to_string("workspace/email/staff_invitation.txt", context)
        email_on_commit(subject, body, [email])
    return SentInvitation(invitation=invitation, url=url)


def revoke_invitation(*, actor: User, invitation: StaffInvitation) -> None:
    """Withdraw a pending invitation; its link stops working at once."""
    policy.check(actor, "manage_staff", invitation.agency)
    with transaction.atomic():
        invitation = StaffInvitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.status != InvitationStatus.PENDING:
            raise ActionError(f"This invitation is already {invitation.status.label.lower()}.")
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        audit.record(actor=actor, verb="staff.invitation_revoked", target=invitation, agency=invitation.agency)


def find_invitation(raw_token: str) -> StaffInvitation | None:
    """The invitation a raw token from an email belongs to, whatever its status."""
    return StaffInvitation.objects.select_related("agency").filter(token_hash=hash_token(raw_token or "")).first()


def accept_invitation(*, raw_token: str, full_name: str, password: str, title: str = "") -> User:
    """Create the invited person's account from a valid, unexpired invitation."""
    full_name = (full_name or "").strip()
    if not full_name:
        raise ActionError("Enter your full name.", field="full_name")
    with transaction.atomic():
        invitation = find_invitation(raw_token)
        if invitation is None:
            raise ActionError("This invitation link is not valid.")
        invitation = StaffInvitation.objects.select_for_update().select_related("agency").get(pk=invitation.pk)
        if invitation.status != InvitationStatus.PENDING:
            raise ActionError(
                f"This invitation is {invitation.status.label.lower()}. Ask an admin of "
                f"{invitation.agency.name} for a new one."
            )
        if User.objects.filter(email=invitation.email).exists():
            raise ActionError(f"{invitation.email} already has an account; sign in instead.")
        candidate = User(email=invitation.email, full_name=full_name)
        try:
            validate_password(password, candidate)
        except ValidationError as exc:
            raise ActionError(" ".join(exc.messages), field="password") from exc
        user = User.objects.create_user(invitation.email, password, full_name=full_name, title=title.strip())
        membership = AgencyMembership.objects.create(user=user, agency=invitation.agency, role=invitation.role)
        _join_groups(user, membership)
        invitation.accepted_at = timezone.now()
        invitation.accepted_user = user
        invitation.save(update_fields=["accepted_at", "accepted_user"])
        audit.record(
            actor=user, verb="staff.joined", target=user, agency=invitation.agency, details={"role": invitation.role}
        )
    return user


def _lock_membership(actor: User, member: User) -> AgencyMembership:
    """Lock the member's agency row (serializing admin-count checks) and return the membership."""
    membership = AgencyMembership.objects.select_related("agency", "user").filter(user=member).first()
    if membership is None:
        raise ActionError("This person does not belong to an agency.")
    policy.check(actor, "manage_staff", membership.agency)
    Agency.objects.select_for_update().filter(pk=membership.agency_id).first()
    return AgencyMembership.objects.select_related("agency", "user").get(pk=membership.pk)


def _other_active_admins(membership: AgencyMembership) -> bool:
    return (
        AgencyMembership.objects.filter(agency=membership.agency, role=AgencyRole.ADMIN, user__is_active=True)
        .exclude(pk=membership.pk)
        .exists()
    )


def change_staff_role(*, actor: User, member: User, role: str) -> AgencyMembership:
    """Make a member of the actor's agency an admin or plain staff."""
    _check_role(role)
    with transaction.atomic():
        membership = _lock_membership(actor, member)
        if membership.role == role:
            return membership
        if membership.role == AgencyRole.ADMIN and member.is_active and not _other_active_admins(membership):
            raise ActionError(
                f"{member} is the last admin of {membership.agency.name}. Make someone else an admin first."
            )
        previous = membership.role
        membership.role = role
        membership.save(update_fields=["role", "updated_at"])
        if member.is_active:
            _join_groups(member, membership)
        audit.record(
            actor=actor,
            verb="staff.role_changed",
            target=member,
            agency=membership.agency,
            details={"from": previous, "to": role},
        )
    return membership


def deactivate_staff(*, actor: User, member: User) -> None:
    """Sign a member out everywhere at once and stop them signing in again."""
    with transaction.atomic():
        membership = _lock_membership(actor, member)
        user = membership.user
        if not user.is_active:
            raise ActionError(f"{user} is already deactivated.")
        if membership.role == AgencyRole.ADMIN and not _other_active_admins(membership):
            raise ActionError(
                f"{user} is the last admin of {membership.agency.name}. Make someone else an admin first."
            )
        User.objects.filter(pk=user.pk).update(is_active=False, session_version=F("session_version") + 1)
        _leave_groups(user, membership.agency)
        audit.record(actor=actor, verb="staff.deactivated", target=user, agency=membership.agency)
        # Open sockets are closed by the consumer on this message.
        send_on_commit(user_group(user.pk), {"type": "session.ended", "reason": "deactivated"})
    member.refresh_from_db()


def reactivate_staff(*, actor: User, member: User) -> None:
    """Let a deactivated member sign in again (old sessions stay ended)."""
    with transaction.atomic():
        membership = _lock_membership(actor, member)
        user = membership.user
        if user.is_active:
            raise ActionError(f"{user} is already active.")
        User.objects.filter(pk=user.pk).update(is_active=True)
        user.is_active = True
        _join_groups(user, membership)
        audit.record(actor=actor, verb="staff.reactivated", target=user, agency=membership.agency)
    member.refresh_from_db()
