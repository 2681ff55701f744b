"""ASGI entry for the "presence off" row of ``bench/fanout.py``: the project's application
with the consumer's presence announcements (``here``/``left`` and the roster answers)
switched off, everything else unchanged. A diagnostic, to measure the event fan-out alone:
with presence on, every subscription to a thread costs a message to and an answer from
every socket already there (see docs/performance.md).

    .venv/bin/daphne -b 127.0.0.1 -p 8001 bench.fanout_asgi:application
"""

from typing import Any

from workspace.asgi import application  # sets Django up first

# isort: split
from messaging.consumers import WorkspaceConsumer

if not callable(getattr(WorkspaceConsumer, "_presence", None)):
    raise RuntimeError("WorkspaceConsumer._presence is gone: update bench/fanout_asgi.py")


async def _silent(self: WorkspaceConsumer, *args: Any, **kwargs: Any) -> None:
    return None


WorkspaceConsumer._presence = _silent  # type: ignore[method-assign]

__all__ = ["application"]
