"""The one WebSocket per browser tab, at ``/ws/``.

The consumer is an adapter: the ASGI stack authenticates the session; here frames are
parsed, permission-checked work is done in ``messaging.streams`` (through
``database_sync_to_async``), and events from the channel layer are forwarded as the text
they were serialized to once. The protocol is documented in ``docs/realtime-protocol.md``.

Exactly-once, in order: the consumer remembers the last ``seq`` it sent per stream. A
live event it has already sent (from a replay) is skipped; a live event past a gap (the
channel layer dropped some) makes it read the missing ones from the log first.

Streams reach the consumer through its process's hub (``messaging.hub``): the process is
one member of each stream's group, and the hub hands each message to the sockets that
follow the stream (``relay``). Deliveries to one socket are serialized: while the socket
is busy (sending a replay, answering its own write, handling a revocation) the hub leaves
messages in its backlog, sent when that work ends, so the hub never waits for one socket
and a write's answer comes before the events it caused. While a subscription reads its
replay, the hub's messages for that stream wait in a buffer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from messaging import streams
from messaging.events import stream_group
from messaging.hub import hub_for
from workspace.realtime import user_group

logger = logging.getLogger(__name__)

# Close codes (4000-4999 are ours to define).
CLOSE_UNAUTHENTICATED = 4401
CLOSE_SIGNED_OUT = 4001
CLOSE_TOO_MANY_FRAMES = 4008
CLOSE_FRAME_TOO_LARGE = 4009

WRITE_TYPES = {"post", "edit", "delete", "react", "ack"}
MAX_SUBSCRIPTIONS = 200
# Relays that touch the database only through database_sync_to_async (which closes stale
# connections itself), if at all: Channels' dispatch would otherwise make a round trip to
# the sync thread before each of them, once per socket per event.
RELAYS = {"stream.event", "typing.relay", "presence.relay", "presence.roster"}


class WorkspaceConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user_id: int = user.pk
        self.group = user_group(user.pk)
        self.sent: dict[str, int] = {}  # stream -> last seq sent
        self.frame_times: deque[float] = deque()
        self.typing_at: dict[int, float] = {}
        self.present_in: dict[str, dict[str, Any]] = {}  # thread stream -> who we announced
        self.hub = hub_for(self.channel_layer)
        self.followed: set[str] = set()  # streams the hub hands us
        self.buffering: dict[str, list[dict[str, Any]]] = {}  # stream -> held while its replay is read
        self.delivery = asyncio.Lock()
        self.backlog: deque[dict[str, Any]] = deque()  # relayed while delivery was busy
        self.told_here: dict[str, set[int]] = {}  # stream -> people this client was told are here
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_frame({"type": "hello", "user": user.pk})

    async def disconnect(self, code: int) -> None:
        # Every step is tried even when the channel layer fails one before it: a socket
        # left in its hub's table would be handed every later event of its streams.
        steps = []
        if getattr(self, "group", None):
            steps.append(self.channel_layer.group_discard(self.group, self.channel_name))
        steps += [self._leave(stream) for stream in list(getattr(self, "sent", {}))]
        steps += [self._unfollow(stream) for stream in list(getattr(self, "followed", ()))]
        for step in steps:
            try:
                await step
            except Exception:
                logger.warning("A closed socket could not leave one of its groups.", exc_info=True)

    async def dispatch(self, message: dict[str, Any]) -> None:
        if message["type"] in RELAYS:
            await getattr(self, get_handler_name(message))(message)
        else:
            await super().dispatch(message)

    async def send_frame(self, frame: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(frame, separators=(",", ":"), default=str))

    async def send_error(self, code: str, message: str, ref: Any = None) -> None:
        await self.send_frame({"type": "error", "code": code, "ref": ref, "message": message})

    def _flooding(self) -> bool:
        now = time.monotonic()
        self.frame_times.append(now)
        while self.frame_times and now - self.frame_times[0] > 1.0:
            self.frame_times.popleft()
        return len(self.frame_times) > settings.WS_MAX_FRAMES_PER_SECOND

    # --- Frames from the client -----------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self._flooding():
            await self.send_error("rate_limited", "Too many frames; the connection is closed.")
            await self.close(code=CLOSE_TOO_MANY_FRAMES)
            return
        if text_data is None:
            await self.send_error("bad_frame", "Frames must be JSON text.")
            return
        if len(text_data) > settings.WS_MAX_FRAME_BYTES:
            await self.send_error("frame_too_large", "Frames are limited in size; the connection is closed.")
            await self.close(code=CLOSE_FRAME_TOO_LARGE)
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
        handler = {
            "ping": self.on_ping,
            "subscribe": self.on_subscribe,
            "unsubscribe": self.on_unsubscribe,
            "typing": self.on_typing,
        }.get(frame["type"])
        if handler is None and frame["type"] in WRITE_TYPES:
            handler = self.on_write
        if handler is None:
            await self.send_error("unknown_type", f"Unknown frame type '{frame['type'][:40]}'.", ref)
            return
        try:
            await handler(frame, ref)
        except streams.FrameError as exc:
            await self.send_error(exc.code, exc.message, ref)

    async def on_ping(self, frame: dict[str, Any], ref: Any) -> None:
        await self.send_frame({"type": "pong", "ref": ref})

    async def on_subscribe(self, frame: dict[str, Any], ref: Any) -> None:
        stream = frame.get("stream")
        streams.parse_stream(stream)
        since = frame.get("since")
        if since is not None and (not isinstance(since, int) or isinstance(since, bool) or since < 0):
            raise streams.FrameError("bad_frame", "'since' must be a non-negative integer.")
        if stream not in self.sent and len(self.sent) >= MAX_SUBSCRIPTIONS:
            raise streams.FrameError("too_many_streams", f"At most {MAX_SUBSCRIPTIONS} streams per connection.")
        # Follow the stream first: events committed while the replay is read are held in
        # the buffer and de-duplicated by seq once the replay is out.
        held: list[dict[str, Any]] = []
        self.buffering[stream] = held
        try:
            await self._follow(stream)
            found = await database_sync_to_async(streams.subscribe)(self.user_id, stream, since)
        except BaseException:
            if self.buffering.get(stream) is held:
                del self.buffering[stream]
            if stream not in self.sent:
                await self._unfollow(stream)
            raise
        async with self._delivering():
            if self.buffering.get(stream) is held:
                del self.buffering[stream]
            await self.send_frame({"type": "subscribed", "stream": stream, "seq": found.seq, "ref": ref})
            if found.resync:
                await self.send_frame({"type": "resync", "stream": stream, "seq": found.seq})
            for text in found.frames:
                await self.send(text_data=text)
            self.sent[stream] = found.seq
            for message in held:
                await self._relayed(message)
        if stream.startswith("thread:") and stream not in self.present_in:
            who = await database_sync_to_async(streams.identity)(self.user_id, int(stream.split(":")[1]))
            self.present_in[stream] = who
            await self._presence(stream, who, "here", reply=True)

    async def _presence(self, stream: str, who: dict[str, Any], state: str, reply: bool = False) -> None:
        message = {"type": "presence.relay", "stream": stream, "who": who, "state": state}
        message |= {"sender": self.channel_name, "reply": reply}
        await self.channel_layer.group_send(stream_group(stream), message)

    async def _follow(self, stream: str) -> None:
        if stream not in self.followed:
            self.followed.add(stream)
            await self.hub.join(stream, self)

    async def _unfollow(self, stream: str) -> None:
        if stream in self.followed:
            self.followed.discard(stream)
            await self.hub.leave(stream, self)

    async def _leave(self, stream: str) -> None:
        """Stop following a stream: leave its group and, for a thread, say we left."""
        self.sent.pop(stream, None)
        self.told_here.pop(stream, None)
        await self._unfollow(stream)
        if who := self.present_in.pop(stream, None):
            await self._presence(stream, who, "left")

    async def on_unsubscribe(self, frame: dict[str, Any], ref: Any) -> None:
        stream = frame.get("stream")
        streams.parse_stream(stream)
        if stream in self.sent:
            async with self._delivering():
                await self._leave(stream)
        await self.send_frame({"type": "unsubscribed", "stream": stream, "ref": ref})

    async def on_write(self, frame: dict[str, Any], ref: Any) -> None:
        async with self._delivering():  # the answer first, then the events the write caused
            ack = await database_sync_to_async(streams.handle_write)(self.user_id, frame)
            await self.send_frame({**ack, "ref": ref})

    async def on_typing(self, frame: dict[str, Any], ref: Any) -> None:
        thread_id = frame.get("thread")
        now = time.monotonic()
        if isinstance(thread_id, int) and now - self.typing_at.get(thread_id, 0) < settings.WS_TYPING_INTERVAL:
            return  # ephemeral and rate-limited: extra typing frames are dropped silently
        who = await database_sync_to_async(streams.identity)(self.user_id, thread_id)
        self.typing_at[who["thread"]] = now
        stream = f"thread:{who['thread']}"
        await self.channel_layer.group_send(
            stream_group(stream), {"type": "typing.relay", "stream": stream, "who": who, "sender": self.channel_name}
        )

    # --- Messages from the channel layer ----------------------------------------------------

    async def relay(self, message: dict[str, Any]) -> None:
        """A message on a stream this socket follows, handed over by the process's hub."""
        held = self.buffering.get(message["stream"])
        if held is not None:
            held.append(message)
        elif self.delivery.locked():
            self.backlog.append(message)
        else:
            async with self._delivering():
                await self._relayed(message)

    @contextlib.asynccontextmanager
    async def _delivering(self):  # type: ignore[no-untyped-def]
        """Hold the socket's delivery; on the way out, send what the hub left meanwhile."""
        async with self.delivery:
            try:
                yield
            finally:
                while self.backlog:
                    await self._relayed(self.backlog.popleft())

    async def _relayed(self, message: dict[str, Any]) -> None:
        handler = {
            "stream.event": self.stream_event,
            "typing.relay": self.typing_relay,
            "presence.relay": self.presence_relay,
        }.get(message["type"])
        if handler is not None:
            await handler(message)

    async def stream_event(self, event: dict[str, Any]) -> None:
        """A committed event on a stream this socket may be subscribed to."""
        stream, seq = event["stream"], event["seq"]
        last = self.sent.get(stream)
        if last is None or seq <= last:
            return  # not subscribed (any more), or already sent by a replay
        if seq > last + 1:
            for text in await database_sync_to_async(streams.missing_frames)(stream, last, seq - 1):
                await self.send(text_data=text)
        await self.send(text_data=event["text"])
        self.sent[stream] = seq

    async def typing_relay(self, event: dict[str, Any]) -> None:
        stream = f"thread:{event['who']['thread']}"
        if event["sender"] != self.channel_name and stream in self.sent:
            await self.send_frame({"type": "typing", **event["who"]})

    async def presence_relay(self, event: dict[str, Any]) -> None:
        """Someone arrived in or left a thread we follow (nothing is stored). A newcomer's
        question "who is here?" is answered by each process's hub (``presence_roster``)."""
        stream = f"thread:{event['who']['thread']}"
        if event["sender"] == self.channel_name or stream not in self.sent:
            return
        await self._tell_presence(stream, event["state"], event["who"])

    async def presence_roster(self, event: dict[str, Any]) -> None:
        """The people a process has on a thread we just subscribed to, as ``here`` frames."""
        if event["stream"] not in self.sent:
            return
        for who in event["people"]:
            await self._tell_presence(event["stream"], "here", who)

    async def _tell_presence(self, stream: str, state: str, who: dict[str, Any]) -> None:
        """Tell the client once that someone is here (an arrival can reach a newcomer both
        as the announcement and in a roster), and when they leave."""
        told = self.told_here.setdefault(stream, set())
        if state == "here":
            if who["user"] in told:
                return
            told.add(who["user"])
        else:
            told.discard(who["user"])
        await self.send_frame({"type": "presence", "state": state, **who})

    async def access_changed(self, event: dict[str, Any]) -> None:
        """Something this person could see may have been taken away: check every stream."""
        subscribed = list(self.sent)
        allowed = await database_sync_to_async(streams.still_allowed)(self.user_id, subscribed)
        async with self._delivering():  # nothing more from a revoked stream once this runs
            for stream in subscribed:
                if stream not in allowed and stream in self.sent:
                    await self._leave(stream)
                    await self.send_frame({"type": "revoked", "stream": stream})

    async def session_ended(self, event: dict[str, Any]) -> None:
        """The person was deactivated or signed out everywhere."""
        await self.send_frame({"type": "signed_out", "reason": event.get("reason", "")})
        await self.close(code=CLOSE_SIGNED_OUT)

    async def notification_created(self, event: dict[str, Any]) -> None:
        """A notification for this person was committed."""
        await self.send_frame({"type": "notification", **event["notification"]})
