"""daphne's TCP connections write at once when they can, instead of on a later loop turn.

daphne serves through Twisted, whose ``FileDescriptor.write`` never sends: it buffers the
bytes, registers the socket with the reactor for writing and sends when the reactor says
the socket is writable, then unregisters it. On daphne's asyncio reactor each frame so
costs two ``epoll_ctl`` calls, a loop callback and the Python around them (about a sixth
of a large fan-out's time in a profile, docs/performance.md), and no frame leaves before
the loop turns. asyncio's own transports try ``send()`` first and only wait for the
selector with what did not fit; ``EagerServer`` does the same for daphne's sockets:

* nothing waiting in the buffer: ``send()`` now; whatever the kernel did not take (or
  everything, on ``EAGAIN`` or any socket error) goes to Twisted's ordinary ``write``,
  which buffers it and reports errors through its usual path (``connectionLost``);
* something already waiting, TLS started on the connection, or a write after the
  connection began to close: Twisted's ordinary ``write``, unchanged.

Bytes therefore leave in the order they were written. ``install()`` makes listening TCP
ports use it; ``workspace.asgi`` calls it, so it applies to daphne's ports only when the
ASGI application is loaded by the server (it changes nothing for HTTP clients or Redis,
which use asyncio).
"""

from __future__ import annotations

from twisted.internet import tcp


class EagerServer(tcp.Server):
    """A server connection whose writes go straight to the socket when nothing waits."""

    def write(self, data: bytes) -> None:
        if (
            not data
            or self.TLS
            or not self.connected
            or self.disconnecting
            or self._writeDisconnected
            or self._tempDataBuffer
            or self.offset < len(self.dataBuffer)
            or not isinstance(data, bytes)
        ):
            super().write(data)
            return
        try:
            sent = self.socket.send(data)
        except OSError:  # EAGAIN, or an error the reactor's write will find and report
            sent = 0
        if sent < len(data):
            super().write(data[sent:])


def install() -> None:
    """Make every listening TCP port of this process accept connections as ``EagerServer``."""
    tcp.Port.transport = EagerServer


def installed() -> bool:
    return tcp.Port.transport is EagerServer
