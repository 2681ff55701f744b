"""Messaging records. For now: the in-app notifications a person reads at /notifications/."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Notification(models.Model):
    """One thing a person should know about, shown in their notification list.

    Written only by ``messaging.notifications.notify`` (inside the action that caused it)
    and marked read only by ``messaging.actions.mark_read``.
    """

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=60, help_text="What happened, as app.event, e.g. community.invited.")
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True, help_text="Plain text; escaped when shown.")
    url = models.CharField(max_length=500, blank=True, help_text="Internal path of the page it is about.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at", "-created_at"], name="notification_inbox_idx")]

    def __str__(self) -> str:
        return f"{self.title} (to {self.recipient_id})"

    @property
    def is_unread(self) -> bool:
        return self.read_at is None
