"""The in-memory channel layer of the single-process default, made to scale with sockets.

Channels' ``InMemoryChannelLayer`` scans every channel and group of the process for
expired messages on every ``send`` to a group and every ``receive``: with N sockets, one
event fanned out to them costs O(N²). Here the scan runs at most once a second, so an
expired message may linger up to a second longer (it expires after a minute anyway).
Production with several processes uses the Redis layer (``REDIS_URL``).
"""

from __future__ import annotations

import time

from channels.layers import InMemoryChannelLayer as ChannelsInMemoryChannelLayer

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
