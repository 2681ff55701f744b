"""Program announcements and where they appear.

An announcement is one record: its home community and every community that accepted a
promotion show that same row, so an edit shows everywhere and a retraction removes it
everywhere. Who may read it follows from where it appears (see ``workspace.policy``):
public ones anyone, members-only ones the readers of its home community and of the
communities that accepted it. Imported by ``communities.models`` (registered with that
app).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from communities.models import Community, ConsentStatus, Tag
from workspace.models import Agency, User


class Program(models.Model):
    """A program an agency runs (a grant round, a vaccination drive) that announcements belong to."""

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="programs")
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=80)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["agency", "slug"], name="one_program_slug_per_agency")]

    def __str__(self) -> str:
        return self.name


class AnnouncementState(models.TextChoices):
    DRAFT = "draft", "Draft"
    SCHEDULED = "scheduled", "Scheduled"
    PUBLISHED = "published", "Published"
    EXPIRED = "expired", "Expired"
    RETRACTED = "retracted", "Retracted"


class Audience(models.TextChoices):
    MEMBERS = "members", "Members of the communities it appears in"
    PUBLIC = "public", "Public: anyone, in public pages and feeds"


class AnnouncementQuerySet(models.QuerySet["Announcement"]):
    def live(self, now=None) -> AnnouncementQuerySet:  # type: ignore[no-untyped-def]
        """Published and not past its expiry. Expiry applies at once, before ``publish_scheduled``
        writes the state down, so nothing is shown a minute longer than its publisher chose."""
        now = now or timezone.now()
        return self.filter(Q(expire_at__isnull=True) | Q(expire_at__gt=now), state=AnnouncementState.PUBLISHED)


class Announcement(models.Model):
    """A program manager's announcement, written once and shown wherever it was accepted."""

    title = models.CharField(max_length=200)
    summary = models.CharField(max_length=500, blank=True)
    body = models.TextField(blank=True, help_text="Markdown.")
    body_html = models.TextField(blank=True, editable=False)
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="announcements")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="announcements")
    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="announcements")
    audience = models.CharField(max_length=10, choices=Audience.choices, default=Audience.MEMBERS)
    tags = models.ManyToManyField(Tag, blank=True, related_name="announcements")
    # A list of {"label": ..., "url": ...}; only http and https addresses.
    links = models.JSONField(default=list, blank=True)
    state = models.CharField(max_length=10, choices=AnnouncementState.choices, default=AnnouncementState.DRAFT)
    publish_at = models.DateTimeField(null=True, blank=True)
    expire_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    retracted_at = models.DateTimeField(null=True, blank=True)
    retracted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    retraction_note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Bumped by every change a reader could notice (text, state, where it appears): feeds
    # derive their validators from it.
    changed_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    objects = AnnouncementQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-pk"]
        indexes = [
            models.Index(fields=["state", "audience", "-published_at"]),
            models.Index(fields=["agency", "state"]),
            models.Index(fields=["community", "state"]),
            models.Index(fields=["state", "publish_at"]),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("announcement_detail", args=[self.pk])

    @property
    def is_public(self) -> bool:
        return self.audience == Audience.PUBLIC

    @property
    def is_live(self) -> bool:
        return self.state == AnnouncementState.PUBLISHED and (self.expire_at is None or self.expire_at > timezone.now())

    @property
    def current_state(self) -> str:
        """The state, with expiry applied (written down later by ``publish_scheduled``)."""
        if self.state == AnnouncementState.PUBLISHED and self.expire_at and self.expire_at <= timezone.now():
            return AnnouncementState.EXPIRED
        return self.state


class Promotion(models.Model):
    """A request to show an announcement in another community; that community's owners or
    moderators accept or decline. One row per (announcement, community)."""

    announcement = models.ForeignKey(Announcement, on_delete=models.CASCADE, related_name="promotions")
    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="promotions")
    status = models.CharField(max_length=10, choices=ConsentStatus.choices, default=ConsentStatus.PENDING)
    message = models.CharField(max_length=500, blank=True)
    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    auto_accepted = models.BooleanField(default=False)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["announcement", "community"], name="one_promotion_per_community")
        ]
        indexes = [models.Index(fields=["community", "status"])]

    def __str__(self) -> str:
        return f"{self.announcement} in {self.community}"

    @property
    def current_status(self) -> str:
        if self.status == ConsentStatus.PENDING and self.expires_at <= timezone.now():
            return ConsentStatus.EXPIRED
        return self.status


class TrustedPublisher(models.Model):
    """An agency whose promotions into a community are accepted without asking its owners."""

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="trusted_publishers")
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
    added_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["agency__name"]
        constraints = [models.UniqueConstraint(fields=["community", "agency"], name="one_trust_per_agency")]

    def __str__(self) -> str:
        return f"{self.community} trusts {self.agency.short_name}"


class Frequency(models.TextChoices):
    IMMEDIATE = "immediate", "Immediately"
    DAILY = "daily", "Daily digest"
    WEEKLY = "weekly", "Weekly digest"


class Subscription(models.Model):
    """A person follows a community, a program or a tag, by email at a chosen frequency."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="announcement_subscriptions")
    community = models.ForeignKey(Community, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    program = models.ForeignKey(Program, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    tag = models.ForeignKey(Tag, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    frequency = models.CharField(max_length=10, choices=Frequency.choices, default=Frequency.DAILY)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(community__isnull=False, program__isnull=True, tag__isnull=True)
                    | Q(community__isnull=True, program__isnull=False, tag__isnull=True)
                    | Q(community__isnull=True, program__isnull=True, tag__isnull=False)
                ),
                name="subscription_has_one_target",
            ),
            models.UniqueConstraint(
                fields=["user", "community"], condition=Q(community__isnull=False), name="one_community_subscription"
            ),
            models.UniqueConstraint(
                fields=["user", "program"], condition=Q(program__isnull=False), name="one_program_subscription"
            ),
            models.UniqueConstraint(
                fields=["user", "tag"], condition=Q(tag__isnull=False), name="one_tag_subscription"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} follows {self.target_label}"

    @property
    def target_label(self) -> str:
        if self.community_id:
            return f"community {self.community}"
        if self.program_id:
            return f"program {self.program}"
        return f"topic {self.tag}"


class FeedToken(models.Model):
    """The secret in a person's private feed address. Only its hash is stored; resetting
    replaces it, and the old address stops working at once."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="feed_token")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    def __str__(self) -> str:
        return f"Private feed of {self.user}"


class Receipt(models.Model):
    """How an announcement reached one person: emailed at once, sent in a digest, opened.
    The reach report counts these per agency."""

    announcement = models.ForeignKey(Announcement, on_delete=models.CASCADE, related_name="receipts")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    agency = models.ForeignKey(Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    delivered_at = models.DateTimeField(null=True, blank=True)
    digested_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["announcement", "user"], name="one_announcement_receipt_per_person")
        ]
        indexes = [models.Index(fields=["announcement", "agency"])]

    def __str__(self) -> str:
        return f"{self.announcement} → {self.user}"
