"""Unread counts: messages by others after the person's read marker, not deleted."""

from __future__ import annotations

from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from messaging.models import Message, Thread, ThreadRead
from workspace.models import User


def _read_upto(user: User, thread_ref: str) -> Coalesce:
    marker = ThreadRead.objects.filter(user=user, thread=OuterRef(thread_ref)).values("last_read_message_id")[:1]
    return Coalesce(Subquery(marker, output_field=IntegerField()), Value(0))


def with_unread(threads: QuerySet[Thread], user: User) -> QuerySet[Thread]:
    """Annotate each thread with ``unread``, in the same single query as the list."""
    return threads.annotate(read_upto=_read_upto(user, "pk")).annotate(
        unread=Count(
            "messages",
            filter=Q(messages__pk__gt=F("read_upto"), messages__deleted_at=None) & ~Q(messages__author=user),
            distinct=True,
        )
    )


def unread_in_threads(user: User, threads: QuerySet[Thread]) -> int:
    """Total unread messages across ``threads`` (for a community page or the dashboard)."""
    return (
        Message.objects.filter(thread__in=threads, deleted_at=None)
        .exclude(author=user)
        .annotate(read_upto=_read_upto(user, "thread_id"))
        .filter(pk__gt=F("read_upto"))
        .count()
    )
