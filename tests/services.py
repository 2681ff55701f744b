"""The machine's Redis, for tests that need a real one beside the suite's own layer."""

from __future__ import annotations

import os

# Tests that talk to Redis themselves use this one (by default the local server), under
# key prefixes of their own, whatever channel layer the suite runs on.
LIVE_REDIS_URL = os.environ.get("LIVE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_answers(url: str = LIVE_REDIS_URL) -> bool:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError:
        return False
    return True
