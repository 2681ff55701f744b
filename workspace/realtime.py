"""Sending messages to live clients, only after the writing transaction commits.

Every real-time send goes through ``send_on_commit``: a rolled-back action sends nothing.
"""

from __future__ import annotations

import asyncio
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction


def user_group(user_id: int) -> str:
    """The channel-layer group every socket of one person joins."""
    return f"user.{user_id}"


def send_on_commit(group: str, message: dict[str, Any]) -> None:
    """Send ``message`` to a channel-layer group once the current transaction commits."""

    def send() -> None:
        layer = get_channel_layer()
        if layer is not None:
            async_to_sync(layer.group_send)(group, message)

    transaction.on_commit(send)


# At most this many group sends in flight at once when sending a batch (each is a round trip
# to Redis with the Redis layer).
BATCH_CONCURRENCY = 16


def send_many_on_commit(messages: list[tuple[str, dict[str, Any]]]) -> None:
    """Send many (group, message) pairs once the current transaction commits, in one hop to
    the event loop (one ``async_to_sync`` per message would cost a thread round trip each:
    seconds for an alert to a thousand people). Messages to one group keep their order;
    different groups are sent concurrently, a few at a time."""
    if not messages:
        return

    def send() -> None:
        layer = get_channel_layer()
        if layer is not None:
            async_to_sync(_send_all)(layer, messages)

    transaction.on_commit(send)


async def _send_all(layer: Any, messages: list[tuple[str, dict[str, Any]]]) -> None:
    by_group: dict[str, list[dict[str, Any]]] = {}
    for group, message in messages:
        by_group.setdefault(group, []).append(message)
    gate = asyncio.Semaphore(BATCH_CONCURRENCY)

    async def send_group(group: str, batch: list[dict[str, Any]]) -> None:
        async with gate:
            for message in batch:
                await layer.group_send(group, message)

    await asyncio.gather(*(send_group(group, batch) for group, batch in by_group.items()))


def access_changed_on_commit(user_ids: list[int]) -> None:
    """Tell these people's open sockets to re-check every stream they follow (after a
    membership, role or restriction change); streams they lost answer ``revoked``."""
    send_many_on_commit([(user_group(user_id), {"type": "access.changed"}) for user_id in user_ids])
