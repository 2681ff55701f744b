from __future__ import annotations

from typing import Any

import pytest

from messaging.models import Notification
from messaging.notifications import notify
from workspace.models import User


@pytest.fixture
def pushes(monkeypatch) -> list[tuple[str, dict[str, Any]]]:  # type: ignore[no-untyped-def]
    """Live messages sent on the channel layer, as (group, message), in order."""
    sent: list[tuple[str, dict[str, Any]]] = []

    class RecordingLayer:
        async def group_send(self, group: str, message: dict[str, Any]) -> None:
            sent.append((group, message))

    monkeypatch.setattr("workspace.realtime.get_channel_layer", RecordingLayer)
    return sent


def notify_one(user: User, title: str = "Harbor EM invited your agency", **extra: Any) -> Notification:
    """Write one notification for ``user`` through ``notify`` and return it."""
    fields = {"kind": "community.invited", "body": "Join the Basin Flood Working Group.", "email": False} | extra
    notify([user], title=title, **fields)
    return Notification.objects.filter(recipient=user).latest("pk")
