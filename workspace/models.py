"""The tenant layer: agencies, the people in them, staff invitations and the audit log."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import Group, PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase


class JurisdictionLevel(models.TextChoices):
    FEDERAL = "federal", "Federal"
    STATE = "state", "State"
    COUNTY = "county", "County"
    CITY = "city", "City"
    TRIBAL = "tribal", "Tribal"
    REGIONAL = "regional", "Regional"
    SPECIAL_DISTRICT = "special_district", "Special district"


class AgencyQuerySet(models.QuerySet["Agency"]):
    def active(self) -> AgencyQuerySet:
        return self.filter(is_active=True)


class Agency(models.Model):
    """A government body (state office, county department, city, tribal nation, district).

    Each agency owns two auth groups: every active staff member is in ``staff_group`` and
    its admins are also in ``admin_group``. Object permissions are granted to these groups,
    so one grant covers the whole agency.
    """

    name = models.CharField(max_length=200, unique=True)
    short_name = models.CharField(max_length=40, unique=True, help_text="Used in mentions and compact lists.")
    slug = models.SlugField(max_length=60, unique=True)
    level = models.CharField(max_length=20, choices=JurisdictionLevel.choices)
    state = models.CharField(
        max_length=2,
        validators=[RegexValidator(r"^[A-Z]{2}$", "Use the two-letter postal code, e.g. LK.")],
        help_text="State or territory, as a two-letter code.",
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        help_text="The jurisdiction this agency sits within, if any.",
    )
    contact_email = models.EmailField(blank=True)
    contact_phone = models.CharField(max_length=40, blank=True)
    website = models.URLField(blank=True)
    is_active = models.BooleanField(default=True)
    staff_group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="staff_of_agency")
    admin_group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="admins_of_agency")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = AgencyQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "agencies"
        permissions = [
            ("manage_staff", "Invite, change the role of, and deactivate the agency's staff"),
            ("view_audit", "Browse and export the agency's audit log"),
            ("manage_communities", "Accept invitations and request community membership for the agency"),
        ]

    def __str__(self) -> str:
        return self.name


class AgencyGroupObjectPermission(GroupObjectPermissionBase):
    """Direct foreign-key guardian grant of a permission on an agency to a group."""

    content_object = models.ForeignKey(Agency, on_delete=models.CASCADE)


class AgencyUserObjectPermission(UserObjectPermissionBase):
    """Direct foreign-key guardian grant of a permission on an agency to one person."""

    content_object = models.ForeignKey(Agency, on_delete=models.CASCADE)


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in. Everyone but platform operators belongs to one agency.

    ``is_staff`` and ``is_superuser`` are about the operators' admin site only; they give
    no access to any agency's content (see ``workspace.policy``).
    """

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150)
    title = models.CharField(max_length=150, blank=True, help_text="Job title, shown to colleagues.")
    phone = models.CharField(max_length=40, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="May use the operators' admin site.")
    date_joined = models.DateTimeField(default=timezone.now)
    # Bumped to sign a person out of every session and socket at once.
    session_version = models.PositiveIntegerField(default=0, editable=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = ["full_name"]

    class Meta:
        ordering = ["full_name", "email"]

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        # Django ties a session to the password hash; we also tie it to session_version so
        # that deactivation ends every session (HTTP and WebSocket) without touching the
        # password.
        return salted_hmac(
            "workspace.User.session_auth_hash",
            f"{self.password}:{self.session_version}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    def get_session_auth_hash(self) -> str:
        return self._get_session_auth_hash()

    def get_session_auth_fallback_hash(self):  # type: ignore[no-untyped-def]
        from django.conf import settings

        for fallback_secret in settings.SECRET_KEY_FALLBACKS:
            yield self._get_session_auth_hash(secret=fallback_secret)

    @property
    def agency(self) -> Agency | None:
        membership = getattr(self, "membership", None)
        return membership.agency if membership else None


class AgencyRole(models.TextChoices):
    ADMIN = "admin", "Admin"
    STAFF = "staff", "Staff"


class AgencyMembership(models.Model):
    """The one agency a person works for, and their role there."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="membership")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(max_length=10, choices=AgencyRole.choices, default=AgencyRole.STAFF)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["agency", "user__full_name"]
        indexes = [models.Index(fields=["agency", "role"])]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}, {self.agency.short_name})"

    @property
    def is_admin(self) -> bool:
        return self.role == AgencyRole.ADMIN


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class InvitationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    REVOKED = "revoked", "Revoked"
    EXPIRED = "expired", "Expired"


class StaffInvitation(models.Model):
    """An emailed, expiring sign-up link for a new member of an agency's staff.

    Only a hash of the token is stored; the raw token exists in the email alone.
    """

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="staff_invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=AgencyRole.choices, default=AgencyRole.STAFF)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_user = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["email"])]

    def __str__(self) -> str:
        return f"Invitation for {self.email} to {self.agency.short_name}"

    @staticmethod
    def new_token() -> str:
        return secrets.token_urlsafe(32)

    @property
    def status(self) -> InvitationStatus:
        if self.accepted_at:
            return InvitationStatus.ACCEPTED
        if self.revoked_at:
            return InvitationStatus.REVOKED
        if self.expires_at <= timezone.now():
            return InvitationStatus.EXPIRED
        return InvitationStatus.PENDING


class AppendOnlyError(Exception):
    """Raised on any attempt to change or delete an audit event."""


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("Audit events cannot be changed.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Audit events cannot be deleted.")

    def for_agency(self, agency: Agency) -> AuditEventQuerySet:
        """Events an agency's admins may read: acts by its people and acts on it."""
        return self.filter(models.Q(agency=agency) | models.Q(actor_agency=agency))


class AuditEvent(models.Model):
    """One consequential act, recorded by the action that did it. Append-only.

    ``agency`` is the agency whose records the act concerns; ``actor_agency`` is the
    actor's agency at the time. The repr fields keep the record readable if names change.
    """

    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    actor_repr = models.CharField(max_length=300, blank=True)
    actor_agency = models.ForeignKey(Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    agency = models.ForeignKey(Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    verb = models.CharField(max_length=60, db_index=True)
    target_type = models.CharField(max_length=60, blank=True)
    target_id = models.CharField(max_length=60, blank=True)
    target_repr = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["agency", "-created_at"]),
            models.Index(fields=["actor_agency", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_repr or 'system'} {self.verb} {self.target_repr}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Audit events cannot be deleted.")
