"""The channel layers, made to hold up with thousands of sockets in one process.

``InMemoryChannelLayer`` (the single-process default): Channels' own scans every channel
and group of the process for expired messages on every ``send`` to a group and every
``receive``: with N sockets, one event fanned out to them costs O(N²). Here the scan runs
at most once a second, so an expired message may linger up to a second longer (it
expires after a minute anyway).

``RedisChannelLayer`` (``REDIS_URL``, several processes): channels_redis with a connection
pool that waits for a free connection instead of failing. redis-py's asyncio pool holds
at most 100 connections and raises ``MaxConnectionsError`` past that; a thousand sockets
closing at once (each leaving its groups and saying it left) asked for more, and the
sockets whose call failed stopped half way through leaving, or lost their receive
(``docs/performance.md``, "Several processes"). With the blocking pool a burst queues for
connections, up to ``timeout`` seconds each.
"""

from __future__ import annotations

import time
from typing import Any

from channels.layers import InMemoryChannelLayer as ChannelsInMemoryChannelLayer
from channels_redis.core import RedisChannelLayer as ChannelsRedisChannelLayer
from redis.asyncio import BlockingConnectionPool

CLEAN_EVERY_SECONDS = 1.0


class InMemoryChannelLayer(ChannelsInMemoryChannelLayer):
    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self._cleaned_at = float("-inf")

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now - self._cleaned_at < CLEAN_EVERY_SECONDS:
            return
        self._cleaned_at = now
        super()._clean_expired()


class RedisChannelLayer(ChannelsRedisChannelLayer):
    """channels_redis whose hosts given by ``address`` get a blocking connection pool; a
    host may say ``max_connections`` (per process and event loop) and ``timeout`` (how
    long a call waits for a free connection before ``redis.ConnectionError``)."""

    def create_pool(self, index: int) -> Any:
        host = dict(self.hosts[index])
        address = host.pop("address", None)
        if address is None:  # Sentinel and keyword hosts: as channels_redis makes them
            return super().create_pool(index)
        return BlockingConnectionPool.from_url(address, **host)
