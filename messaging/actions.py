"""Write path for messaging. One function per intent, keyword-only, the actor explicit.

Notifications are written by ``messaging.notifications.notify``, called from inside other
apps' actions. Thread and message changes append to the event log (``messaging.events``)
in the same transaction; the live send happens after commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from communities.models import Community
from messaging import events, markup, mentions
from messaging.models import Mention, Message, MessageRevision, Notification, Reaction, Thread, ThreadRead
from messaging.notifications import notify
from search import indexer
from workspace import audit, policy
from workspace.exceptions import ActionError
from workspace.models import Agency, User
from workspace.realtime import access_changed_on_commit
from workspace.selectors import active_staff_ids


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


# --- Threads and messages -----------------------------------------------------------------

REACTIONS = ("👍", "✅", "👀", "❤️", "⚠️", "🙏")


def _message_data(message: Message) -> dict[str, object]:
    """What clients get for a message: the same shape in events and in replays."""
    deleted = message.deleted_at is not None
    return {
        "id": message.pk,
        "thread": message.thread_id,
        "author": {"id": message.author_id, "name": message.author.full_name},
        "agency": {"id": message.author_agency_id, "short_name": message.author_agency.short_name},
        "html": "" if deleted else message.body_html,
        "reply_to": message.reply_to_id,
        "created_at": message.created_at,
        "edited_at": message.edited_at,
        "deleted": deleted,
        "client_id": str(message.client_id),
    }


def _touch(thread: Thread) -> None:
    Thread.objects.filter(pk=thread.pk).update(last_activity_at=timezone.now())


def _check_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ActionError("Write something first.", field="body", code="empty_body")
    if len(body) > settings.MESSAGE_MAX_LENGTH:
        raise ActionError(
            f"Messages are limited to {settings.MESSAGE_MAX_LENGTH:,} characters.", field="body", code="too_long"
        )
    return body


def create_thread(
    *,
    actor: User,
    community: Community,
    title: str,
    body: str,
    client_id: uuid.UUID | None = None,
    restrict_to: Iterable[Agency] | None = None,
) -> Thread:
    """Open a thread with its first message, optionally restricted to some member agencies
    (the actor's own agency is always among them). Idempotent by ``client_id``: opening it
    again with the same one returns the thread already opened, even in a concurrent race."""
    policy.check(actor, "post", community)
    if client_id is not None and (opened := _opened_with(actor, client_id, community)) is not None:
        return opened
    if community.is_archived:
        raise ActionError("This community is archived.", code="archived")
    title = (title or "").strip()
    if not title:
        raise ActionError("Give the thread a title.", field="title")
    if len(title) > 200:
        raise ActionError("Keep the title under 200 characters.", field="title")
    body = _check_body(body)
    try:
        return _open_thread(actor, community, title, body, client_id or uuid.uuid4(), restrict_to)
    except IntegrityError:
        # A concurrent retry with the same client_id won the race.
        opened = _opened_with(actor, client_id, community) if client_id is not None else None
        if opened is None:
            raise
        return opened


def _opened_with(actor: User, client_id: uuid.UUID, community: Community) -> Thread | None:
    """The thread this person opened with ``client_id``; refused if it names another message."""
    existing = Message.objects.filter(author=actor, client_id=client_id).select_related("thread").first()
    if existing is None:
        return None
    first = Message.objects.filter(thread=existing.thread_id).order_by("pk").values_list("pk", flat=True).first()
    if existing.thread.community_id != community.pk or first != existing.pk:
        raise ActionError("This client_id was used for another message.", field="client_id", code="client_id_reused")
    return existing.thread


def _open_thread(
    actor: User,
    community: Community,
    title: str,
    body: str,
    client_id: uuid.UUID,
    restrict_to: Iterable[Agency] | None,
) -> Thread:
    agency = actor.agency
    with transaction.atomic():
        allowed: list[Agency] = []
        if restrict_to is not None:
            member_ids = set(community.memberships.values_list("agency_id", flat=True))
            allowed = [a for a in restrict_to if a.pk in member_ids]
            if len(allowed) != len(list(restrict_to)):
                raise ActionError("Only member agencies of the community can be chosen.", field="restrict_to")
            if agency.pk not in {a.pk for a in allowed}:
                allowed.append(agency)
        thread = Thread.objects.create(
            community=community, title=title, author=actor, author_agency=agency, restricted=restrict_to is not None
        )
        if allowed:
            thread.allowed_agencies.set(allowed)
        message = _create_message(actor=actor, thread=thread, body=body, client_id=client_id)
        indexer.index_on_commit(thread, deferred=True)
        if not thread.restricted:
            # A restricted thread's title must not reach the other agencies' sockets, so it
            # is announced on no shared stream; its own stream carries its messages.
            events.append(f"community:{community.pk}", "thread.created", {"thread": _thread_data(thread)})
        audit.record(
            actor=actor,
            verb="thread.created",
            target=thread,
            details={"community": community.slug, "restricted": bool(allowed)},
        )
    del message
    return thread


def _thread_data(thread: Thread) -> dict[str, object]:
    return {
        "id": thread.pk,
        "community": thread.community_id,
        "title": thread.title,
        "restricted": thread.restricted,
        "pinned": thread.is_pinned,
        "locked": thread.is_locked,
        "url": reverse("thread_detail", args=[thread.pk]),
    }


def _create_message(
    *, actor: User, thread: Thread, body: str, client_id: uuid.UUID, reply_to: Message | None = None
) -> Message:
    message = Message.objects.create(
        thread=thread,
        author=actor,
        author_agency=actor.agency,
        body_source=body,
        body_html=markup.render(body),
        client_id=client_id,
        reply_to=reply_to,
    )
    events.append(thread.stream, "message.created", _message_data(message))
    _touch(thread)
    _notify_mentions(actor=actor, thread=thread, message=message)
    return message


def _notify_mentions(*, actor: User, thread: Thread, message: Message) -> None:
    people, agencies = mentions.resolve(thread, message.body_source)
    Mention.objects.bulk_create(
        [Mention(message=message, user=person) for person in people]
        + [Mention(message=message, agency=agency) for agency in agencies]
    )
    recipients = [person for person in people if person.pk != actor.pk]
    if recipients:
        excerpt = message.body_source if len(message.body_source) <= 280 else message.body_source[:277] + "…"
        notify(
            recipients,
            kind="message.mention",
            title=f"{actor.full_name} ({actor.agency.short_name}) mentioned you in “{thread.title}”",
            body=excerpt,
            url=f"/threads/{thread.pk}/#message-{message.pk}",
        )


@dataclass(frozen=True)
class Posted:
    message: Message
    created: bool  # False when the client_id had already been posted (a retry)


def post_message(
    *, actor: User, thread: Thread, body: str, client_id: uuid.UUID, reply_to_id: int | None = None
) -> Posted:
    """Post in a thread. Idempotent: the same ``client_id`` from the same person stores one
    message, and a retry gets the first one back."""
    existing = Message.objects.filter(author=actor, client_id=client_id).select_related("thread").first()
    if existing is not None:
        if existing.thread_id != thread.pk:
            raise ActionError("This client_id was used for another thread.", field="client_id", code="client_id_reused")
        return Posted(existing, created=False)
    policy.check(actor, "post", thread)
    body = _check_body(body)
    reply_to = None
    if reply_to_id is not None:
        reply_to = Message.objects.filter(pk=reply_to_id, thread=thread).first()
        if reply_to is None:
            raise ActionError("The message replied to is not in this thread.", field="reply_to", code="bad_reply_to")
    try:
        with transaction.atomic():
            message = _create_message(actor=actor, thread=thread, body=body, client_id=client_id, reply_to=reply_to)
            indexer.index_on_commit(message, deferred=True)
    except IntegrityError:
        # A concurrent retry with the same client_id won the race.
        return Posted(Message.objects.get(author=actor, client_id=client_id), created=False)
    return Posted(message, created=True)


def edit_message(*, actor: User, message: Message, body: str) -> Message:
    """The author rewrites a message; the earlier text is kept as a revision."""
    policy.check(actor, "edit", message)
    body = _check_body(body)
    with transaction.atomic():
        message = (
            Message.objects.select_for_update().select_related("thread", "author", "author_agency").get(pk=message.pk)
        )
        if message.deleted_at is not None:
            raise ActionError("A deleted message cannot be edited.", code="deleted")
        if body == message.body_source:
            return message
        MessageRevision.objects.create(
            message=message, body_source=message.body_source, body_html=message.body_html, replaced_by=actor
        )
        message.body_source, message.body_html, message.edited_at = body, markup.render(body), timezone.now()
        message.save(update_fields=["body_source", "body_html", "edited_at"])
        indexer.index_on_commit(message)
        events.append(message.thread.stream, "message.edited", _message_data(message))
    return message


def delete_message(*, actor: User, message: Message) -> Message:
    """Hide a message's content from everyone; the row and its revisions stay for the record."""
    policy.check(actor, "delete", message)
    with transaction.atomic():
        message = (
            Message.objects.select_for_update().select_related("thread", "author", "author_agency").get(pk=message.pk)
        )
        if message.deleted_at is not None:
            return message
        message.deleted_at, message.deleted_by = timezone.now(), actor
        message.save(update_fields=["deleted_at", "deleted_by"])
        indexer.index_on_commit(message)
        events.append(message.thread.stream, "message.deleted", _message_data(message))
        audit.record(actor=actor, verb="message.deleted", target=message, agency=message.author_agency)
    return message


def react(*, actor: User, message: Message, emoji: str, on: bool = True) -> None:
    """Add (or with ``on=False`` remove) one of the allowed reactions. Idempotent."""
    policy.check(actor, "react", message)
    if emoji not in REACTIONS:
        raise ActionError("Choose one of the offered reactions.", field="emoji", code="bad_emoji")
    with transaction.atomic():
        if on:
            _, changed = Reaction.objects.get_or_create(message=message, user=actor, emoji=emoji)
        else:
            changed = bool(Reaction.objects.filter(message=message, user=actor, emoji=emoji).delete()[0])
        if changed:
            counts = dict(
                Reaction.objects.filter(message=message)
                .values_list("emoji")
                .annotate(n=Count("pk"))
                .values_list("emoji", "n")
            )
            events.append(
                f"thread:{message.thread_id}",
                "reaction.changed",
                {"message": message.pk, "user": actor.pk, "emoji": emoji, "on": on, "counts": counts},
            )


# --- Moderating threads -------------------------------------------------------------------


def update_thread(
    *,
    actor: User,
    thread: Thread,
    title: str | None = None,
    pinned: bool | None = None,
    locked: bool | None = None,
    archived: bool | None = None,
) -> Thread:
    """Moderators rename, pin, lock (no new posts) or archive a thread. Only what is given
    changes; the change is an event on the thread's stream (and the community's, when the
    thread is not restricted)."""
    policy.check(actor, "moderate", thread)
    changes: dict[str, object] = {}
    if title is not None:
        title = title.strip()
        if not title or len(title) > 200:
            raise ActionError("Titles need 1 to 200 characters.", field="title")
        changes["title"] = title
    for field, value in (("is_pinned", pinned), ("is_locked", locked), ("is_archived", archived)):
        if value is not None:
            changes[field] = bool(value)
    with transaction.atomic():
        thread = Thread.objects.select_for_update().select_related("community").get(pk=thread.pk)
        changed = {field: value for field, value in changes.items() if getattr(thread, field) != value}
        if not changed:
            return thread
        for field, value in changed.items():
            setattr(thread, field, value)
        thread.save(update_fields=list(changed))
        indexer.index_on_commit(thread)
        data = {"thread": _thread_data(thread), "changed": sorted(changed)}
        events.append(thread.stream, "thread.updated", data)
        if not thread.restricted:
            events.append(f"community:{thread.community_id}", "thread.updated", data)
        audit.record(
            actor=actor,
            verb="thread.updated",
            target=thread,
            details={k: v for k, v in changed.items() if k != "title"}
            | ({"title": True} if "title" in changed else {}),
        )
    return thread


@dataclass(frozen=True)
class AudienceChange:
    """What ``change_thread_audience`` did: the agencies that lost and gained sight of it."""

    thread: Thread
    lost: list[Agency]
    gained: list[Agency]


def thread_audience(thread: Thread) -> set[int]:
    """The ids of the agencies that may see the thread: the allowed ones when restricted,
    else every member agency of its community."""
    if thread.restricted:
        return set(thread.allowed_agencies.values_list("pk", flat=True))
    return set(thread.community.memberships.values_list("agency_id", flat=True))


def thread_audience_after(thread: Thread, *, actor: User, restrict_to: Iterable[Agency] | None) -> set[int]:
    """The agencies ``change_thread_audience`` would let see the thread (before checking
    that they are members)."""
    if restrict_to is None:
        return set(thread.community.memberships.values_list("agency_id", flat=True))
    allowed = {agency.pk for agency in restrict_to}
    if actor.agency is not None:
        allowed.add(actor.agency.pk)
    return allowed


def change_thread_audience(*, actor: User, thread: Thread, restrict_to: Iterable[Agency] | None) -> AudienceChange:
    """Moderators open a thread to every member agency (``restrict_to=None``) or restrict it
    to some of them (the actor's own agency is always among them, as when a thread is
    opened). People of the agencies that lose sight of it have their sockets re-check
    their streams (they get ``revoked``), and its messages leave their search results
    before this returns."""
    policy.check(actor, "moderate", thread)
    restricted = restrict_to is not None
    with transaction.atomic():
        thread = Thread.objects.select_for_update().select_related("community").get(pk=thread.pk)
        members = set(thread.community.memberships.values_list("agency_id", flat=True))
        after = thread_audience_after(thread, actor=actor, restrict_to=restrict_to)
        if not after <= members:
            raise ActionError("Only member agencies of the community can be chosen.", field="restrict_to")
        before = thread_audience(thread)
        if thread.restricted == restricted and before == after:
            return AudienceChange(thread=thread, lost=[], gained=[])
        was_restricted = thread.restricted
        thread.restricted = restricted
        thread.save(update_fields=["restricted"])
        thread.allowed_agencies.set(sorted(after) if restricted else [])
        indexer.index_on_commit(thread)  # and its messages: their access tokens change
        data = {"thread": _thread_data(thread), "changed": ["restricted"]}
        events.append(thread.stream, "thread.updated", data)
        community_stream = f"community:{thread.community_id}"
        if not thread.restricted:  # every reader of the community may see it now
            events.append(community_stream, "thread.updated", data)
        elif not was_restricted:
            # Its title must not reach the agencies that lose it: only its id and why.
            events.append(community_stream, "thread.removed", {"thread": {"id": thread.pk, "reason": "restricted"}})
        lost = list(Agency.objects.filter(pk__in=before - after).order_by("name"))
        gained = list(Agency.objects.filter(pk__in=after - before).order_by("name"))
        if lost:
            access_changed_on_commit(active_staff_ids(lost))
        audit.record(
            actor=actor,
            verb="thread.audience_changed",
            target=thread,
            details={
                "restricted": thread.restricted,
                "agencies": sorted(Agency.objects.filter(pk__in=after).values_list("slug", flat=True)),
                "lost": [a.slug for a in lost],
            },
        )
    return AudienceChange(thread=thread, lost=lost, gained=gained)


# --- Reading ------------------------------------------------------------------------------


def mark_thread_read(*, actor: User, thread: Thread) -> None:
    """Everything in the thread so far counts as read by the actor."""
    if not policy.can(actor, "view", thread):
        raise PermissionDenied("You may not see this thread.")
    last = Message.objects.filter(thread=thread).order_by("-pk").values_list("pk", flat=True).first()
    ThreadRead.objects.update_or_create(
        user=actor, thread=thread, defaults={"last_read_message_id": last, "read_at": timezone.now()}
    )
