"""The socket's authentication stack: Channels' cookie, session and auth middleware, with
the session read once at connect and never saved.

Channels' ``SessionMiddleware`` wraps ``send`` so that an HTTP response can save the
session and set its cookie. A WebSocket cannot set a cookie and this protocol never
changes the session, so for a socket the wrapper only costs: every frame sent (a busy
thread's fan-out sends one per socket per event) looked the session up again to decide
not to save it, about 7 % of a daphne process fanning out to 1,000 sockets
(docs/performance.md). Here the consumer gets the server's own ``send``.
"""

from __future__ import annotations

from typing import Any

from channels.auth import AuthMiddleware
from channels.sessions import CookieMiddleware, InstanceSessionWrapper, SessionMiddleware


class ReadOnlySessionMiddleware(SessionMiddleware):
    """Puts the session in the scope, as ``SessionMiddleware`` does, without wrapping ``send``."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        wrapper = InstanceSessionWrapper(scope, send)
        await wrapper.resolve_session()
        return await self.inner(wrapper.scope, receive, send)


def SocketAuthStack(inner: Any) -> Any:  # noqa: N802  (named like Channels' AuthMiddlewareStack)
    return CookieMiddleware(ReadOnlySessionMiddleware(AuthMiddleware(inner)))
