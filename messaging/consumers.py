"""The one WebSocket per browser tab, at ``/ws/``.

The consumer is an adapter: it authenticates from the session (done by the ASGI stack),
joins the person's own stream, parses frames and answers. The protocol is documented in
``docs/realtime-protocol.md``.
"""

from __future__ import annotations

import json
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer

from workspace.realtime import user_group

# Close codes (4000-4999 are ours to define).
CLOSE_UNAUTHENTICATED = 4401
CLOSE_SIGNED_OUT = 4001


class WorkspaceConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            # Accept-then-close would leak nothing more; closing during the handshake
            # makes browsers report a plain failure, which the client treats as signed out.
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.group = user_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_frame({"type": "hello", "user": user.pk})

    async def disconnect(self, code: int) -> None:
        group = getattr(self, "group", None)
        if group:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def send_frame(self, frame: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(frame, separators=(",", ":")))

    async def send_error(self, code: str, message: str, ref: Any = None) -> None:
        await self.send_frame({"type": "error", "code": code, "ref": ref, "message": message})

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is None:
            await self.send_error("bad_frame", "Frames must be JSON text.")
            return
        try:
            frame = json.loads(text_data)
        except ValueError:
            await self.send_error("bad_frame", "Frames must be JSON objects.")
            return
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            await self.send_error("bad_frame", "Frames must be JSON objects with a string 'type'.")
            return
        ref = frame.get("ref")
        if frame["type"] == "ping":
            await self.send_frame({"type": "pong", "ref": ref})
        else:
            await self.send_error("unknown_type", f"Unknown frame type '{frame['type'][:40]}'.", ref)

    async def session_ended(self, event: dict[str, Any]) -> None:
        """Channel-layer message: the person was deactivated or signed out everywhere."""
        await self.send_frame({"type": "signed_out", "reason": event.get("reason", "")})
        await self.close(code=CLOSE_SIGNED_OUT)

    async def notification_created(self, event: dict[str, Any]) -> None:
        """Channel-layer message: a notification for this person was committed."""
        await self.send_frame({"type": "notification", **event["notification"]})
