"""Read path for messaging: querysets already filtered to what the person may see."""

from __future__ import annotations

from django.db.models import QuerySet

from messaging.models import Notification
from workspace.models import User


def notifications_for_user(user: User) -> QuerySet[Notification]:
    """The person's own notifications, newest first. Nobody sees anyone else's."""
    return Notification.objects.filter(recipient=user).order_by("-created_at", "-pk")


def unread_count(user: User) -> int:
    """How many of the person's notifications are unread (one COUNT query)."""
    return Notification.objects.filter(recipient=user, read_at=None).count()
