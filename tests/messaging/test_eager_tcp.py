"""daphne's connections send at once when nothing waits, and fall back to Twisted's buffered
write otherwise, so bytes always leave in the order they were written.

The connection here is an ``EagerServer`` around one end of a real socket pair, with a
reactor that only records (un)registrations: the tests drive Twisted's ``doWrite`` by hand
where a running reactor would.
"""

from __future__ import annotations

import socket

import pytest
from twisted.internet import tcp

from workspace import eager_tcp


class Reactor:
    def __init__(self) -> None:
        self.writers: set[object] = set()

    def addWriter(self, writer: object) -> None:  # noqa: N802 (Twisted's names)
        self.writers.add(writer)

    def removeWriter(self, writer: object) -> None:  # noqa: N802
        self.writers.discard(writer)


@pytest.fixture
def pair():  # type: ignore[no-untyped-def]
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    theirs.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    theirs.settimeout(5)
    yield ours, theirs
    ours.close()
    theirs.close()


def connection(sock: socket.socket) -> eager_tcp.EagerServer:
    """An EagerServer on ``sock`` without a listening port (what tcp.Port would make)."""
    server = eager_tcp.EagerServer.__new__(eager_tcp.EagerServer)
    server.socket = sock
    server.fileno = sock.fileno
    server.reactor = Reactor()
    server.connected = 1
    server.disconnecting = 0
    server.dataBuffer = b""
    server.offset = 0
    server._tempDataBuffer = []
    server._tempDataLen = 0
    server.producer = None
    server.TLS = False
    return server


def read(sock: socket.socket, size: int) -> bytes:
    received = bytearray()
    while len(received) < size:
        received += sock.recv(65536)
    return bytes(received)


def test_a_write_with_nothing_waiting_is_sent_at_once(pair) -> None:  # type: ignore[no-untyped-def]
    ours, theirs = pair
    server = connection(ours)
    server.write(b"frame one")
    assert server.reactor.writers == set()  # never registered with the reactor
    assert server._tempDataBuffer == []
    assert read(theirs, 9) == b"frame one"


def test_what_the_kernel_does_not_take_is_buffered_and_sent_in_order(pair) -> None:  # type: ignore[no-untyped-def]
    ours, theirs = pair
    server = connection(ours)
    big = bytes(range(256)) * 4096  # 1 MiB: far more than the socket buffers hold
    server.write(big)
    assert server.reactor.writers == {server}  # the rest waits for the reactor
    assert 0 < server._tempDataLen < len(big)
    server.write(b"after")  # something waits: buffered behind it, not sent ahead of it
    assert server._tempDataBuffer[-1] == b"after"
    received = bytearray()
    while server.reactor.writers:  # what a running reactor does when the socket is writable
        received += theirs.recv(65536)
        server.doWrite()
    received += read(theirs, len(big) + 5 - len(received))  # what the last send left in the kernel
    assert bytes(received) == big + b"after"


def test_a_socket_error_goes_through_twisteds_own_write(pair, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    ours, _ = pair
    server = connection(ours)

    class Broken:
        def send(self, data: bytes) -> int:
            raise BlockingIOError

    server.socket = Broken()  # type: ignore[assignment]
    server.write(b"later")
    assert server._tempDataBuffer == [b"later"] and server.reactor.writers == {server}


@pytest.mark.parametrize("state", ["TLS", "disconnecting", "closed"])
def test_tls_or_closing_connections_keep_twisteds_write(pair, state) -> None:  # type: ignore[no-untyped-def]
    ours, theirs = pair
    server = connection(ours)
    sent = []
    server.socket = type("Spy", (), {"send": lambda self, data: sent.append(data) or len(data)})()
    if state == "TLS":
        server.TLS = True
        server.protocol = type("TLS", (), {"write": lambda self, data: sent.append(("tls", data))})()
        server.write(b"x")
        assert sent == [("tls", b"x")]  # Twisted's TLS layer, not the raw socket
        return
    if state == "disconnecting":
        server.disconnecting = 1
        server.write(b"x")
        assert sent == [] and server._tempDataBuffer == [b"x"]
        return
    server.connected = 0
    server.write(b"x")
    assert sent == [] and server._tempDataBuffer == []  # dropped, as Twisted drops it


def test_install_makes_listening_ports_use_it(monkeypatch) -> None:
    monkeypatch.setattr(tcp.Port, "transport", tcp.Server)
    assert not eager_tcp.installed()
    eager_tcp.install()
    assert eager_tcp.installed() and tcp.Port.transport is eager_tcp.EagerServer
