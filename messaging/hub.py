"""Fan-out once per process: one channel-layer member per stream, however many sockets.

Without the hub every socket following a thread is its own member of the thread's group,
so one post costs the channel layer one message per socket: a task, a queue entry and a
receive each (and with the in-memory layer every receive scans every channel of the
process). With it, each server process joins a stream's group once, through its hub; the
hub receives each event once and hands it, already serialized, to every local socket
following the stream. ``docs/performance.md`` measures both.

Delivery stays at-most-once from the layer's side and exactly-once towards the client:
the consumer still de-duplicates by ``seq`` and fills gaps from the event log.

One hub per event loop and channel layer (a daphne process has one loop; tests make a
loop per test). The hub's receive loop runs while at least one socket follows a stream,
and re-joins its groups every ``REFRESH_SECONDS`` so the layers' group expiry (a day by
default) never drops a long-followed stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from typing import Any, Protocol

from channels.exceptions import ChannelFull

from messaging.events import HUBS_GROUP, stream_group

logger = logging.getLogger(__name__)

REFRESH_SECONDS = 3600.0
# Presence in a crowd: past this many local sockets on a thread, arrivals and departures
# are no longer relayed to each of them (each would cost a frame to every socket, so a
# crowd reconnecting at once would cost N²), and a newcomer's roster lists at most this
# many people of the process.
PRESENCE_CROWD = 100
# Sockets served between two turns of the event loop during a fan-out.
SLICE = 50


class Follower(Protocol):
    channel_name: str
    present_in: dict[str, dict[str, Any]]

    async def relay(self, message: dict[str, Any]) -> None: ...


class Hub:
    def __init__(self, layer: Any) -> None:
        self.layer = layer
        self.channel: str | None = None
        self.members: dict[str, set[Follower]] = {}
        self.joined_at: dict[str, float] = {}
        self._membership = asyncio.Lock()
        self._tasks: list[asyncio.Task] = []

    async def join(self, stream: str, follower: Follower) -> None:
        """Start handing ``stream``'s messages to ``follower``. Returns once the process is a
        member of the stream's group, so whatever commits afterwards reaches it."""
        async with self._membership:
            if self.channel is None:
                # The layer's default prefix: channels_redis reads every process-local
                # channel with that prefix through one blocking pop, and would never read
                # one with another while a socket waits.
                self.channel = await self.layer.new_channel()
            if not self.members:  # the process's first stream: hear batches of many streams too
                await self.layer.group_add(HUBS_GROUP, self.channel)
            members = self.members.setdefault(stream, set())
            stale = time.monotonic() - self.joined_at.get(stream, float("-inf")) > REFRESH_SECONDS
            if not members or stale:
                await self.layer.group_add(stream_group(stream), self.channel)
                self.joined_at[stream] = time.monotonic()
            members.add(follower)
            if not self._tasks:
                self._tasks = [asyncio.ensure_future(self._run()), asyncio.ensure_future(self._keep_joined())]

    async def leave(self, stream: str, follower: Follower) -> None:
        async with self._membership:
            members = self.members.get(stream)
            if members is None or follower not in members:
                return
            members.discard(follower)
            if members:
                return
            del self.members[stream]
            self.joined_at.pop(stream, None)
            last = not self.members
            if last:
                for task in self._tasks:
                    task.cancel()
                self._tasks = []
            await self.layer.group_discard(stream_group(stream), self.channel)
            if last:
                await self.layer.group_discard(HUBS_GROUP, self.channel)

    def following(self, stream: str) -> int:
        """How many local sockets follow the stream (for tests and diagnostics)."""
        return len(self.members.get(stream, ()))

    async def _run(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("The stream hub could not receive from the channel layer; retrying.")
                await asyncio.sleep(1.0)
                continue
            if message.get("type") == "stream.batch":
                served = 0
                for event in message.get("events", ()):
                    followers = list(self.members.get(event["stream"], ()))
                    if followers:
                        served = await self._hand_out({"type": "stream.event", **event}, followers, served)
                continue
            followers = list(self.members.get(message.get("stream", ""), ()))
            if message.get("type") == "presence.relay":
                followers = await self._presence(message, followers)
            await self._hand_out(message, followers)

    async def _hand_out(self, message: dict[str, Any], followers: list[Follower], served: int = 0) -> int:
        """Relay ``message`` to each follower; ``served`` counts relays so far in this
        fan-out. Returns the new count."""
        for follower in followers:
            try:
                await follower.relay(message)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.debug("A socket refused a relayed message (it is closing).", exc_info=True)
            served += 1
            if served % SLICE == 0:
                # A relay that finds its socket free writes without suspending, so a
                # fan-out to thousands would hold the loop throughout: no frame left
                # the process (the server flushes sockets between loop turns) and no
                # other socket was heard until the last was served. Let it breathe.
                await asyncio.sleep(0)
        return served

    async def _presence(self, message: dict[str, Any], followers: list[Follower]) -> list[Follower]:
        """Answer a newcomer once for the whole process, with the people here (instead of
        one answer per socket); return who should hear of the arrival or departure."""
        stream = message["stream"]
        if message.get("reply"):
            people: dict[int, dict[str, Any]] = {}
            for follower in followers:
                who = follower.present_in.get(stream)
                if who and follower.channel_name != message["sender"] and len(people) < PRESENCE_CROWD:
                    people.setdefault(who["user"], who)
            if people:
                # Best-effort: a full channel drops the roster, never ends a socket.
                with contextlib.suppress(ChannelFull):
                    roster = {"type": "presence.roster", "stream": stream, "people": list(people.values())}
                    await self.layer.send(message["sender"], roster)
        return followers if len(followers) <= PRESENCE_CROWD else []

    async def _keep_joined(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            try:
                async with self._membership:
                    if self.members:
                        await self.layer.group_add(HUBS_GROUP, self.channel)
                    for stream in list(self.members):
                        await self.layer.group_add(stream_group(stream), self.channel)
                        self.joined_at[stream] = time.monotonic()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("The stream hub could not renew its group memberships; retrying later.")


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, Hub]] = weakref.WeakKeyDictionary()


def hub_for(layer: Any) -> Hub:
    """This event loop's hub for ``layer``."""
    per_loop = _hubs.setdefault(asyncio.get_running_loop(), {})
    found = per_loop.get(id(layer))
    if found is None or found.layer is not layer:
        found = per_loop[id(layer)] = Hub(layer)
    return found
