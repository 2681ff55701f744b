"""The Redis channel layer's connection pool (``workspace.layers.RedisChannelLayer``).

redis-py's asyncio pool fails a call past its ``max_connections``; a thousand sockets
closing at once on one process asked for more than its 100 and some failed half way
through leaving their groups. The project's layer waits for a free connection instead.
These run against the Redis of the machine (``LIVE_TEST_REDIS_URL``, by default the
local one) under a prefix of their own, and are skipped when it does not answer.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer as ChannelsRedisChannelLayer
from django.conf import settings
from redis.asyncio import BlockingConnectionPool
from redis.exceptions import MaxConnectionsError

from tests.services import LIVE_REDIS_URL, redis_answers
from workspace.layers import RedisChannelLayer

BURST = 40


needs_redis = pytest.mark.skipif(not redis_answers(), reason=f"Redis does not answer at {LIVE_REDIS_URL}")


def layer_of(cls: type, **host: object):  # type: ignore[no-untyped-def]
    return cls(hosts=[{"address": LIVE_REDIS_URL, **host}], prefix=f"test-layers-{uuid.uuid4().hex[:8]}:asgi")


def test_hosts_given_by_address_get_a_blocking_pool_with_their_limits() -> None:
    pool = layer_of(RedisChannelLayer, max_connections=7, timeout=3, socket_timeout=15).create_pool(0)
    assert isinstance(pool, BlockingConnectionPool)
    assert (pool.max_connections, pool.timeout) == (7, 3)
    assert pool.connection_kwargs["socket_timeout"] == 15


@needs_redis
async def test_a_burst_past_the_pool_waits_for_connections_instead_of_failing() -> None:
    ours = layer_of(RedisChannelLayer, max_connections=2, timeout=10)
    stock = layer_of(ChannelsRedisChannelLayer, max_connections=2)
    try:
        await asyncio.gather(*(ours.send(f"burst-{i}", {"type": "burst", "n": i}) for i in range(BURST)))
        received = [await ours.receive(f"burst-{i}") for i in range(BURST)]
        assert [message["n"] for message in received] == list(range(BURST))

        # What the stock layer does with the same burst, and why the project's exists.
        sends = [stock.send(f"burst-{i}", {"type": "burst", "n": i}) for i in range(BURST)]
        outcomes = await asyncio.gather(*sends, return_exceptions=True)
        assert any(isinstance(outcome, MaxConnectionsError) for outcome in outcomes)
    finally:
        for layer in (ours, stock):
            await layer.flush()


@pytest.mark.skipif(not settings.REDIS_URL, reason="the suite runs on the in-memory layer (REDIS_URL unset)")
def test_the_configured_redis_layer_is_the_projects() -> None:
    layer = get_channel_layer()
    assert isinstance(layer, RedisChannelLayer)
    pool = layer.create_pool(0)
    assert isinstance(pool, BlockingConnectionPool)
    assert pool.max_connections == settings.REDIS_MAX_CONNECTIONS
