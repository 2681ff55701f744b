"""Incidents: live channels for emergencies, with urgent alerts that must be acknowledged,
a status board and operational periods. Imported by ``messaging.models``."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from workspace.models import Agency, User


class IncidentStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    MONITORING = "monitoring", "Monitoring"
    CLOSED = "closed", "Closed"


class Severity(models.TextChoices):
    MINOR = "minor", "Minor"
    MODERATE = "moderate", "Moderate"
    SEVERE = "severe", "Severe"
    EXTREME = "extreme", "Extreme"


class Incident(models.Model):
    """An emergency worked on by several agencies of a community.

    Its live channel is a thread restricted to the participating agencies, so messages,
    replay and revocation work as for any thread. Alerts, acknowledgements and the board
    are events on the incident's own stream, ``incident:<id>``.
    """

    community = models.ForeignKey("communities.Community", on_delete=models.PROTECT, related_name="incidents")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=40, help_text="Flood, wildfire, water main break…")
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.MODERATE)
    status = models.CharField(max_length=10, choices=IncidentStatus.choices, default=IncidentStatus.ACTIVE)
    location = models.CharField(max_length=300, blank=True)
    commander = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    agencies = models.ManyToManyField(Agency, related_name="incidents")
    thread = models.OneToOneField("messaging.Thread", on_delete=models.PROTECT, related_name="incident")
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name

    @property
    def stream(self) -> str:
        return f"incident:{self.pk}"


class OperationalPeriod(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="periods")
    label = models.CharField(max_length=100)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()

    class Meta:
        ordering = ["incident", "starts_at"]

    def __str__(self) -> str:
        return self.label


class Alert(models.Model):
    """An urgent message every participating person must acknowledge."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="alerts")
    body_source = models.TextField()
    body_html = models.TextField()
    sent_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    sent_at = models.DateTimeField(default=timezone.now, editable=False)
    # An agency counts as acknowledged when this many of its people have acknowledged.
    agency_threshold = models.PositiveSmallIntegerField(default=1)
    # Unacknowledged people are reminded this often; an agency with no acknowledgement
    # after ``escalate_after`` is escalated to its admins.
    remind_every = models.DurationField()
    escalate_after = models.DurationField()

    class Meta:
        ordering = ["-sent_at"]

    def __str__(self) -> str:
        return f"Alert {self.pk} in {self.incident}"


class AlertRecipient(models.Model):
    """One person an alert was sent to (the agency as it was at sending), and their
    acknowledgement, timestamped by the server. The roll-up is always counted from here."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="recipients")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="alert_receipts")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["alert", "user"], name="one_receipt_per_person")]
        indexes = [models.Index(fields=["user", "acknowledged_at"]), models.Index(fields=["alert", "agency"])]

    def __str__(self) -> str:
        return f"{self.user_id} for alert {self.alert_id}"


class AlertEscalation(models.Model):
    """An agency that had not acknowledged in time; recorded once per alert and agency."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="escalations")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    escalated_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["alert", "agency"], name="escalate_once")]

    def __str__(self) -> str:
        return f"Escalation of alert {self.alert_id} to {self.agency_id}"


class EntryKind(models.TextChoices):
    SIGNIFICANT_EVENT = "event", "Significant event"
    RESOURCE_REQUEST = "request", "Resource request"
    STATUS_REPORT = "status", "Agency status report"


class RequestState(models.TextChoices):
    REQUESTED = "requested", "Requested"
    APPROVED = "approved", "Approved"
    EN_ROUTE = "en_route", "En route"
    DELIVERED = "delivered", "Delivered"
    CANCELLED = "cancelled", "Cancelled"


class BoardEntry(models.Model):
    """A structured line on the status board. Times are the server's, never a client's."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="board")
    kind = models.CharField(max_length=10, choices=EntryKind.choices)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    author = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    state = models.CharField(max_length=10, choices=RequestState.choices, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["incident", "-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.text[:40]}"


class BoardActivity(models.Model):
    """Every change to the board, for the record."""

    entry = models.ForeignKey(BoardEntry, on_delete=models.CASCADE, related_name="activity")
    actor = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    change = models.JSONField()
    at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["entry", "at"]

    def __str__(self) -> str:
        return f"Change to entry {self.entry_id}"
