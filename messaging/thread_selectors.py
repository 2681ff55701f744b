"""Read path for the thread pages: querysets already filtered to what the person may see.

The conditions are the policy's (``workspace.policy``, Thread "view"), written once more in
SQL so that a list costs the same number of queries for three threads or three thousand.
``access_*`` helpers answer 404 both for "does not exist" and "you may not see it".
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import Http404

from communities.models import Community, CommunityMembership
from messaging.actions import REACTIONS
from messaging.models import Message, Reaction, Thread
from workspace import policy
from workspace.models import Agency, User

# What a screen reader says for each offered reaction.
REACTION_NAMES = {"👍": "thumbs up", "✅": "done", "👀": "looking", "❤️": "heart", "⚠️": "warning", "🙏": "thanks"}

# How many messages the thread page shows at once; older ones are one link away.
MESSAGE_WINDOW = 100


def access_community_threads(user: User, slug: str, action: str = "view_content") -> Community:
    """A community whose threads the person may read, or 404 (also for listed communities:
    a non-member learns nothing about their threads). Reading but lacking ``action`` is 403."""
    community = Community.objects.filter(slug=slug).first()
    if community is None or not policy.can(user, "view_content", community):
        raise Http404("No such community.")
    if action != "view_content" and not policy.can(user, action, community):
        raise PermissionDenied("You may not do that in this community.")
    return community


def threads_for_user(user: User, community: Community) -> QuerySet[Thread]:
    """The community's threads the person may see, with their author, author's agency and
    live message count, pinned ones first, then newest activity first.

    Restricted threads are kept only when the person's agency is among the allowed ones.
    """
    if not policy.can(user, "view_content", community):
        return Thread.objects.none()
    agency = user.agency
    visible = Q(restricted=False)
    if agency is not None:
        allowed = Thread.allowed_agencies.through.objects.filter(thread_id=OuterRef("pk"), agency_id=agency.pk)
        visible |= Q(Exists(allowed))
    return (
        Thread.objects.filter(community=community)
        .filter(visible)
        .select_related("author", "author_agency")
        .annotate(message_count=Count("messages", filter=Q(messages__deleted_at=None)))
        .order_by("-is_pinned", "-last_activity_at", "-pk")
    )


def access_thread(user: User, thread_id: int) -> Thread:
    """A thread the person may see, with its community, author and author's agency; 404
    for a thread that does not exist and for one they may not see alike."""
    thread = Thread.objects.select_related("community", "author", "author_agency").filter(pk=thread_id).first()
    if thread is None or not policy.can(user, "view", thread):
        raise Http404("No such thread.")
    return thread


def access_message(user: User, thread: Thread, message_id: int, action: str) -> Message:
    """A message of a thread the person sees (404 otherwise), which they may ``action``
    ("edit" or "delete"), else 403."""
    message = Message.objects.select_related("author", "author_agency").filter(pk=message_id, thread=thread).first()
    if message is None:
        raise Http404("No such message.")
    message.thread = thread  # already fetched and authorized: the policy reads it from here
    if not policy.can(user, action, message):
        raise PermissionDenied(f"You may not {action} this message.")
    return message


def thread_started_with(user: User, client_id: uuid.UUID) -> Thread | None:
    """The thread whose first message the person already posted with ``client_id``, if any
    (a new-thread form submitted twice)."""
    message = Message.objects.filter(author=user, client_id=client_id).select_related("thread").first()
    return message.thread if message is not None else None


def reply_target(thread: Thread, message_id: int | None) -> Message | None:
    """The message of ``thread`` a new message would answer, if it exists and is not deleted."""
    if message_id is None:
        return None
    return Message.objects.select_related("author").filter(pk=message_id, thread=thread, deleted_at=None).first()


def allowed_agencies_of(thread: Thread) -> list[Agency]:
    """Who may see a restricted thread (empty for an open one)."""
    if not thread.restricted:
        return []
    return list(thread.allowed_agencies.order_by("name"))


def agencies_named(ids: set[int]) -> list[Agency]:
    return list(Agency.objects.filter(pk__in=ids).order_by("name"))


def member_agencies(community: Community) -> QuerySet[Agency]:
    """The agencies a new thread may be restricted to: the community's members."""
    member_ids = CommunityMembership.objects.filter(community=community).values("agency_id")
    return Agency.objects.filter(pk__in=member_ids).order_by("name")


@dataclass(frozen=True)
class ReactionCount:
    emoji: str
    name: str
    count: int
    mine: bool


@dataclass(frozen=True)
class MessageWindow:
    """Consecutive messages of a thread, oldest first, with what the viewer may do to them.

    ``older_than`` is the id to ask for the messages before these (None at the thread's
    start); ``latest`` says the window ends at the newest message, so live updates apply.
    ``may_post`` and ``may_moderate`` are the policy's answers for the thread, asked once.
    """

    messages: list[Message]
    older_than: int | None
    latest: bool
    may_post: bool
    may_moderate: bool


def messages_of_thread(
    user: User, thread: Thread, *, before: int | None = None, limit: int | None = None
) -> MessageWindow:
    """The latest ``limit`` messages of a thread the person may see (or those before the
    message ``before``), with author, agency, the message replied to and the reaction
    counts, in a fixed number of queries.

    Each message gets ``reaction_counts`` (a list of ``ReactionCount``) and ``can_edit`` /
    ``can_delete``, decided from the thread-level answers of the policy, asked once.
    """
    limit = limit or MESSAGE_WINDOW
    rows = Message.objects.filter(thread=thread).select_related(
        "author", "author_agency", "reply_to", "reply_to__author"
    )
    anchor = None
    if before is not None:
        anchor = Message.objects.filter(pk=before, thread=thread).values_list("created_at", flat=True).first()
        if anchor is not None:
            rows = rows.filter(Q(created_at__lt=anchor) | Q(created_at=anchor, pk__lt=before))
    newest_first = list(rows.order_by("-created_at", "-pk")[: limit + 1])
    more = len(newest_first) > limit
    messages = newest_first[:limit][::-1]

    counts: dict[int, list[ReactionCount]] = defaultdict(list)
    if messages:
        found = (
            Reaction.objects.filter(message__in=[m.pk for m in messages])
            .values("message_id", "emoji")
            .annotate(n=Count("pk"), mine=Count("pk", filter=Q(user=user)))
        )
        order = {emoji: i for i, emoji in enumerate(REACTIONS)}
        for row in sorted(found, key=lambda r: (r["message_id"], order.get(r["emoji"], len(order)))):
            counts[row["message_id"]].append(
                ReactionCount(row["emoji"], REACTION_NAMES.get(row["emoji"], row["emoji"]), row["n"], row["mine"] > 0)
            )

    may_post = policy.can(user, "post", thread)
    may_moderate = policy.can(user, "moderate", thread)
    for message in messages:
        message.thread = thread
        live = message.deleted_at is None
        message.reaction_counts = counts.get(message.pk, []) if live else []  # type: ignore[attr-defined]
        mine = message.author_id == user.pk
        # The same rules as the policy's Message "edit" and "delete", without a query per row.
        message.can_edit = live and mine and may_post  # type: ignore[attr-defined]
        message.can_delete = live and (mine or may_moderate)  # type: ignore[attr-defined]
    return MessageWindow(
        messages=messages,
        older_than=messages[0].pk if more else None,
        latest=anchor is None,
        may_post=may_post,
        may_moderate=may_moderate,
    )
