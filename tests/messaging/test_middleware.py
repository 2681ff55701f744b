"""The socket's authentication stack reads the session at connect and hands the consumer
the server's own ``send`` (no session check per frame)."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

from messaging.middleware import SocketAuthStack
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db(transaction=True)


async def _through_stack(headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        seen["send"] = send
        seen["scope"] = scope

    async def server_send(message: dict[str, Any]) -> None:
        seen.setdefault("sent", []).append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    seen["server_send"] = server_send
    await SocketAuthStack(app)({"type": "websocket", "path": "/ws/", "headers": headers}, receive, server_send)
    return seen


async def test_the_consumer_gets_the_servers_send_and_the_signed_in_person() -> None:
    person = await database_sync_to_async(PersonFactory)()

    def sign_in() -> str:
        store = SessionStore()
        store[SESSION_KEY] = str(person.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = person.get_session_auth_hash()
        store.save()
        return store.session_key

    key = await database_sync_to_async(sign_in)()
    seen = await _through_stack([(b"cookie", f"{settings.SESSION_COOKIE_NAME}={key}".encode())])
    assert seen["send"] is seen["server_send"]
    assert seen["scope"]["user"].pk == person.pk
    assert seen["scope"]["session"].session_key == key


async def test_without_a_session_the_person_is_anonymous() -> None:
    seen = await _through_stack([])
    assert seen["send"] is seen["server_send"]
    assert seen["scope"]["user"].is_anonymous
