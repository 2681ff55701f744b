"""Shared documents: files a community's agencies work from, with every version kept.

A document belongs to one community and one owning agency. Who may see, revise or manage
it is held as django-guardian grants on the document to agency groups (see
``communities.documents.grants``), read together with the community's own grants by the
policy (``workspace.policy``): by default every reader of the community may view it; the
owning agency may narrow it to named member agencies, and widen it to another community
or agency, which must accept (``DocumentShare``).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from communities.documents.uploads import BY_CONTENT_TYPE
from communities.models import Community, Tag
from workspace.models import Agency, User


class Retention(models.TextChoices):
    """Records-retention label, shown on the document; it does not delete anything by itself."""

    WORKING = "working", "Working copy"
    ONE_YEAR = "1y", "Keep 1 year"
    THREE_YEARS = "3y", "Keep 3 years"
    SEVEN_YEARS = "7y", "Keep 7 years"
    PERMANENT = "permanent", "Permanent record"


class AccessLevel(models.TextChoices):
    """What a named agency may do with a document. Each level includes the ones before."""

    VIEW = "view", "View and download"
    REVISE = "revise", "View and upload new versions"
    MANAGE = "manage", "Manage (rename, delete, change sharing)"


class Document(models.Model):
    """A file shared in a community, with its full version history.

    ``restricted`` narrows it from every reader of the community to the agencies holding a
    grant on it (the owning agency always does). ``current_version`` is the newest upload;
    older ones stay downloadable.
    """

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="documents")
    owning_agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="owned_documents")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="documents")
    retention = models.CharField(max_length=12, choices=Retention.choices, default=Retention.WORKING)
    restricted = models.BooleanField(
        default=False, help_text="Only the agencies named on the document may see it, not every community reader."
    )
    current_version = models.ForeignKey(
        "DocumentVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-updated_at", "-pk"]
        default_permissions = ()
        permissions = [
            ("view", "View the document and download any version"),
            ("revise", "Upload new versions of the document"),
            ("manage", "Rename and delete the document, and change who may see, revise or re-share it"),
        ]
        indexes = [
            models.Index(fields=["community", "-updated_at"]),
            models.Index(fields=["community", "title"]),
        ]

    def __str__(self) -> str:
        return self.title


class DocumentGroupObjectPermission(GroupObjectPermissionBase):
    """Direct foreign-key guardian grant on a document to an agency group."""

    content_object = models.ForeignKey(Document, on_delete=models.CASCADE)


class DocumentUserObjectPermission(UserObjectPermissionBase):
    """Direct foreign-key guardian grant on a document to one person (none are written
    today; the model keeps guardian's user lookups on the direct, indexed path)."""

    content_object = models.ForeignKey(Document, on_delete=models.CASCADE)


class TextStatus(models.TextChoices):
    EXTRACTED = "extracted", "Text extracted"
    TRUNCATED = "truncated", "Text extracted (first part only)"
    NONE = "none", "No text in this type"
    FAILED = "failed", "Text could not be read"


class DocumentVersion(models.Model):
    """One uploaded file of a document: stored under a generated name, never overwritten.

    ``based_on`` is the version the uploader started from; a revision is accepted only if
    it is still the current one. ``filename`` is the uploader's name for the file, kept as
    data (cleaned of path parts and control characters) and used only in downloads.
    """

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    blob = models.CharField(max_length=200, unique=True, editable=False, help_text="Generated storage name.")
    filename = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=120, help_text="Detected from the bytes and the extension.")
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    uploaded_by_agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now, editable=False)
    change_note = models.CharField(max_length=500, blank=True)
    based_on = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    text = models.TextField(blank=True, help_text="Extracted text, for search.")
    text_status = models.CharField(max_length=10, choices=TextStatus.choices, default=TextStatus.NONE)

    class Meta:
        ordering = ["document", "-number"]
        constraints = [models.UniqueConstraint(fields=["document", "number"], name="one_version_number_per_document")]

    def __str__(self) -> str:
        return f"{self.document} v{self.number}"

    @property
    def type_label(self) -> str:
        found = BY_CONTENT_TYPE.get(self.content_type)
        return found.label if found else self.content_type


class ShareStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    WITHDRAWN = "withdrawn", "Withdrawn"
    ENDED = "ended", "Ended"
    EXPIRED = "expired", "Expired"


class ShareDirection(models.TextChoices):
    OFFER = "offer", "Offered by the document's managers"
    REQUEST = "request", "Asked for by the receiving side"


class DocumentShareQuerySet(models.QuerySet["DocumentShare"]):
    def pending(self) -> DocumentShareQuerySet:
        return self.filter(status=ShareStatus.PENDING, expires_at__gt=timezone.now())

    def accepted(self) -> DocumentShareQuerySet:
        return self.filter(status=ShareStatus.ACCEPTED)


class DocumentShare(models.Model):
    """Widening a document beyond its community, to one other community or agency.

    Consent runs both ways, as for community membership: the document's managers offer and
    the receiving side (the community's owners, or the agency's admins) accepts; or the
    receiving community's owners ask and the document's managers approve. Either side may
    end an accepted share; access stops on the next request.
    """

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="shares")
    community = models.ForeignKey(
        Community, null=True, blank=True, on_delete=models.CASCADE, related_name="incoming_document_shares"
    )
    agency = models.ForeignKey(
        Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="incoming_document_shares"
    )
    level = models.CharField(max_length=10, choices=AccessLevel.choices, default=AccessLevel.VIEW)
    direction = models.CharField(max_length=10, choices=ShareDirection.choices, default=ShareDirection.OFFER)
    message = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=ShareStatus.choices, default=ShareStatus.PENDING)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    ended_at = models.DateTimeField(null=True, blank=True)

    objects = DocumentShareQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(community__isnull=False, agency__isnull=True)
                    | models.Q(community__isnull=True, agency__isnull=False)
                ),
                name="document_share_one_recipient",
            ),
        ]
        indexes = [
            models.Index(fields=["document", "status"]),
            models.Index(fields=["community", "status"]),
            models.Index(fields=["agency", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.document} shared with {self.recipient}"

    @property
    def recipient(self) -> Community | Agency:
        return self.community or self.agency  # type: ignore[return-value]

    @property
    def current_status(self) -> str:
        """The status, with expiry applied (expiry is not written back until decided)."""
        if self.status == ShareStatus.PENDING and self.expires_at <= timezone.now():
            return ShareStatus.EXPIRED
        return self.status
