"""Telling people about something: the one function actions call to notify.

``notify`` writes the notification rows in the caller's transaction and queues the email
and the live push on commit, so a rolled-back action tells nobody anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from messaging.models import Notification
from workspace.models import Agency, AgencyRole, User
from workspace.notify import email_on_commit
from workspace.realtime import send_many_on_commit, user_group

TITLE_MAX = Notification._meta.get_field("title").max_length
KIND_MAX = Notification._meta.get_field("kind").max_length


def _check_url(url: str) -> None:
    # Only our own pages: a notification link must never send someone to another site.
    if url and (not url.startswith("/") or url.startswith("//") or "\\" in url):
        raise ValueError(f"Notification links are internal paths starting with '/', not {url!r}.")


def _one_line(title: str) -> str:
    # The title is also the email subject, where a line break is an error.
    title = " ".join(title.split())
    return title if len(title) <= TITLE_MAX else title[: TITLE_MAX - 1] + "…"


def serialize(notification: Notification) -> dict[str, Any]:
    """The notification as the live push carries it (JSON- and msgpack-safe)."""
    return {
        "id": notification.pk,
        "kind": notification.kind,
        "title": notification.title,
        "body": notification.body,
        "url": notification.url,
        "created_at": notification.created_at.isoformat(),
    }


def notify(
    recipients: Iterable[User],
    *,
    kind: str,
    title: str,
    body: str,
    url: str = "",
    email: bool = True,
) -> None:
    """Notify each active recipient: a row now, an email and a live push on commit.

    Call inside the action's transaction. Inactive people are skipped and a person listed
    twice is notified once. ``url`` is an internal path (``/communities/x/``); the email
    carries it as an absolute link. The rows are written with one INSERT whatever the
    number of recipients.
    """
    if not kind or len(kind) > KIND_MAX:
        raise ValueError(f"A notification kind is a short name such as 'community.invited', not {kind!r}.")
    _check_url(url)
    title = _one_line(title)
    people = list({user.pk: user for user in recipients if user.is_active}.values())
    if not people:
        return
    rows = Notification.objects.bulk_create(
        [Notification(recipient=user, kind=kind, title=title, body=body, url=url) for user in people]
    )
    if email:
        text = f"{body}\n\n{settings.SITE_URL.rstrip('/')}{url}\n" if url else body
        email_on_commit(title, text, [user.email for user in people if user.email])
    pushes = [{"type": "notification.created", "notification": serialize(row)} for row in rows]
    send_many_on_commit([(user_group(row.recipient_id), push) for row, push in zip(rows, pushes, strict=True)])


def agency_admins(agencies: Iterable[Agency] | QuerySet[Agency]) -> list[User]:
    """The active admins of the given agencies (one query), e.g. to ask for a decision."""
    if not isinstance(agencies, QuerySet):
        agencies = list(agencies)
    return list(
        User.objects.filter(
            is_active=True, membership__role=AgencyRole.ADMIN, membership__agency__in=agencies
        ).order_by("full_name", "email")
    )
