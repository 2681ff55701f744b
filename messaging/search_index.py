"""Threads and messages in search.

A thread is found by its title, a message by its text (with its thread's title). Both
are open to the community's readers (``c:<community>``); a restricted thread and its
messages only to the readers of the allowed agencies (one ``ca:<community>:<agency>``
token each), as the policy's ``Thread.view``. Deleted messages leave the index.
"""

from __future__ import annotations

import html
import re

from django.urls import NoReverseMatch, reverse
from django.utils.html import strip_tags

from messaging.models import Message, Thread
from search import tokens
from search.documents import Document
from search.registry import Shown, register
from workspace import policy

_BLOCK_END = re.compile(r"<(?:br\s*/?|/p|/li|/h[1-6]|/blockquote|/pre|/tr)>", re.IGNORECASE)


def plain_text(body_html: str) -> str:
    """The sanitized message HTML as plain text, blocks on their own lines."""
    return html.unescape(strip_tags(_BLOCK_END.sub("\n", body_html))).strip()


def thread_url(thread_id: int) -> str:
    try:
        return reverse("thread_detail", args=[thread_id])
    except NoReverseMatch:  # before the thread pages are routed
        return f"/threads/{thread_id}/"


def thread_tokens(thread: Thread) -> tuple[str, ...]:
    if not thread.restricted:
        return (tokens.community(thread.community_id),)
    return tokens.restricted_to(thread.community_id, (agency.pk for agency in thread.allowed_agencies.all()))


def thread_document(thread: Thread) -> Document:
    return Document(
        title=thread.title,
        date=thread.created_at,
        community_id=thread.community_id,
        agency_id=thread.author_agency_id,
        person_id=thread.author_id,
    )


def message_document(message: Message) -> Document | None:
    if message.deleted_at is not None:
        return None
    return Document(
        title=message.thread.title,
        body=plain_text(message.body_html),
        date=message.created_at,
        community_id=message.thread.community_id,
        agency_id=message.author_agency_id,
        person_id=message.author_id,
    )


def _may_view_message(user, message: Message) -> bool:  # type: ignore[no-untyped-def]
    return message.deleted_at is None and policy.can(user, "view", message.thread)


def _prepare_threads(user, threads: list[Thread]) -> None:  # type: ignore[no-untyped-def]
    """The person's grants on every community of a page of results, in two queries, so
    the re-check of each hit reads no more (one query per community before)."""
    policy.prefetch_perms(user, [thread.community for thread in threads])


def _prepare_messages(user, messages: list[Message]) -> None:  # type: ignore[no-untyped-def]
    policy.prefetch_perms(user, [message.thread.community for message in messages])


register(
    Thread,
    thread_document,
    thread_tokens,
    name="thread",
    label="Threads",
    queryset=lambda: Thread.objects.select_related("community", "author", "author_agency").prefetch_related(
        "allowed_agencies"
    ),
    may_view=lambda user, thread: policy.can(user, "view", thread),
    prepare=_prepare_threads,
    show=lambda thread: Shown(
        url=thread_url(thread.pk),
        date=thread.created_at,
        community=thread.community,
        agency=thread.author_agency,
        person=thread.author,
    ),
    in_community=lambda community_id: Thread.objects.filter(community_id=community_id),
    dependents=lambda thread: [Message.objects.filter(thread=thread)],
)

register(
    Message,
    message_document,
    lambda message: thread_tokens(message.thread),
    name="message",
    label="Messages",
    queryset=lambda: (
        Message.objects.filter(deleted_at=None)
        .select_related("thread__community", "author", "author_agency")
        .prefetch_related("thread__allowed_agencies")
    ),
    may_view=_may_view_message,
    prepare=_prepare_messages,
    show=lambda message: Shown(
        url=f"{thread_url(message.thread_id)}#message-{message.pk}",
        date=message.created_at,
        community=message.thread.community,
        agency=message.author_agency,
        person=message.author,
    ),
    in_community=lambda community_id: Message.objects.filter(thread__community_id=community_id),
)
