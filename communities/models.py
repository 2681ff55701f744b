"""Communities: where agencies from different jurisdictions work together.

An agency takes part in a community with a role (owner, participant, observer). Entry
needs consent from both sides: owners invite and the agency's admins accept, or the
agency's admins request and owners approve. Roles become django-guardian grants to the
agency's groups (see ``communities.grants``).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from workspace.models import Agency, User


class Visibility(models.TextChoices):
    LISTED = "listed", "Listed in the directory"
    UNLISTED = "unlisted", "Unlisted, by invitation only"


class CommunityRole(models.TextChoices):
    OWNER = "owner", "Owner"
    PARTICIPANT = "participant", "Participant"
    OBSERVER = "observer", "Observer"


class Tag(models.Model):
    """A topic label for finding communities (flood, broadband, public health...)."""

    name = models.CharField(max_length=40, unique=True)
    slug = models.SlugField(max_length=40, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Community(models.Model):
    """A shared space of several agencies, with its purpose and rules of entry."""

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    purpose = models.CharField(max_length=300, help_text="One sentence: why this community exists.")
    description = models.TextField(blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="communities")
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.LISTED)
    entry_requirements = models.TextField(
        blank=True, help_text="Shown to agencies that may want to join: who may join and why."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    is_archived = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "communities"
        permissions = [
            ("view_content", "Read the community's threads, documents and announcements"),
            ("post", "Post in the community"),
            ("manage", "Invite, approve, remove agencies and change their roles"),
            ("moderate", "Moderate the community's threads"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_listed(self) -> bool:
        return self.visibility == Visibility.LISTED

    @property
    def stream(self) -> str:
        """Its live event stream: threads, documents and announcements appearing in it."""
        return f"community:{self.pk}"


class CommunityGroupObjectPermission(GroupObjectPermissionBase):
    """Direct foreign-key guardian grant on a community to an agency group."""

    content_object = models.ForeignKey(Community, on_delete=models.CASCADE)


class CommunityUserObjectPermission(UserObjectPermissionBase):
    """Direct foreign-key guardian grant on a community to one person (moderators)."""

    content_object = models.ForeignKey(Community, on_delete=models.CASCADE)


class CommunityMembership(models.Model):
    """One agency's place in a community, with its role."""

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="memberships")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="community_memberships")
    role = models.CharField(max_length=12, choices=CommunityRole.choices)
    joined_at = models.DateTimeField(default=timezone.now, editable=False)
    # By default every active member of the agency's staff takes part. The agency's admins
    # may instead name who does; its admins always take part.
    all_staff = models.BooleanField(default=True)
    named_staff = models.ManyToManyField(User, blank=True, related_name="named_in_memberships")

    class Meta:
        ordering = ["community", "agency__name"]
        constraints = [models.UniqueConstraint(fields=["community", "agency"], name="one_membership_per_agency")]
        indexes = [models.Index(fields=["agency", "role"])]

    def __str__(self) -> str:
        return f"{self.agency.short_name} in {self.community} ({self.role})"


class Moderator(models.Model):
    """A person named moderator of a community (on top of their agency's role)."""

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="moderators")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="moderates")
    appointed_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["community", "user"], name="one_moderator_row")]

    def __str__(self) -> str:
        return f"{self.user} moderates {self.community}"


class ConsentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    WITHDRAWN = "withdrawn", "Withdrawn"
    EXPIRED = "expired", "Expired"


class ConsentQuerySet(models.QuerySet):
    def pending(self) -> ConsentQuerySet:
        return self.filter(status=ConsentStatus.PENDING, expires_at__gt=timezone.now())


class ConsentBase(models.Model):
    """Shared shape of an invitation and a join request: one side asks, the other decides."""

    community = models.ForeignKey(Community, on_delete=models.CASCADE)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT)
    role = models.CharField(max_length=12, choices=CommunityRole.choices, default=CommunityRole.PARTICIPANT)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=ConsentStatus.choices, default=ConsentStatus.PENDING)
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    objects = ConsentQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    @property
    def current_status(self) -> str:
        """The status, with expiry applied (expiry is not written back until decided)."""
        if self.status == ConsentStatus.PENDING and self.expires_at <= timezone.now():
            return ConsentStatus.EXPIRED
        return self.status


class CommunityInvitation(ConsentBase):
    """Owners invite an agency; that agency's admins accept or decline. Invitations expire."""

    message = models.TextField(blank=True)

    class Meta(ConsentBase.Meta):
        default_related_name = "invitations"

    def __str__(self) -> str:
        return f"Invitation of {self.agency.short_name} to {self.community}"


class JoinRequest(ConsentBase):
    """An agency's admins ask to join a listed community; its owners approve or decline."""

    reason = models.TextField()

    class Meta(ConsentBase.Meta):
        default_related_name = "join_requests"

    def __str__(self) -> str:
        return f"Request of {self.agency.short_name} to join {self.community}"


from communities.announcements import models as announcements_models  # noqa: E402, F401  (registers them)
from communities.documents import models as documents_models  # noqa: E402, F401  (registers them with this app)
