"""Write path for messaging. One function per intent, keyword-only, the actor explicit.

Notifications are written by ``messaging.notifications.notify``, called from inside other
apps' actions; here is what a person does with their own.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from messaging.models import Notification
from workspace.models import User


def mark_read(*, actor: User, notification_ids: list[int] | None) -> int:
    """Mark the actor's unread notifications read: all of them, or those in ``notification_ids``.

    Ids of other people's notifications (or of none) are ignored: the update is filtered
    on the actor, so it can never touch anyone else's rows. Returns how many changed.
    Not audited: reading one's own notifications is personal and changes no shared data.
    """
    if not (actor.is_authenticated and actor.is_active):
        raise PermissionDenied("Sign in to manage your notifications.")
    with transaction.atomic():
        unread = Notification.objects.filter(recipient=actor, read_at=None)
        if notification_ids is not None:
            unread = unread.filter(pk__in=notification_ids)
        return unread.update(read_at=timezone.now())
