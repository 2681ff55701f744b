"""Sending messages to live clients, only after the writing transaction commits.

Every real-time send goes through ``send_on_commit``: a rolled-back action sends nothing.
"""

from __future__ import annotations

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


def access_changed_on_commit(user_ids: list[int]) -> None:
    """Tell these people's open sockets to re-check every stream they follow (after a
    membership, role or restriction change); streams they lost answer ``revoked``."""
    for user_id in user_ids:
        send_on_commit(user_group(user_id), {"type": "access.changed"})
