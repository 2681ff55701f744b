"""A thread followed by more sockets than a channel holds messages.

Found with ``bench/fanout.py``: when a socket subscribes to a thread, every socket already
there answers with its own presence directly to the newcomer's channel
(``channel_layer.send``). With more sockets present than the layer's per-channel
``capacity`` (100 for the in-memory layer, 1,500 as configured for Redis), those answers
overflow the newcomer's channel, ``send`` raises ``ChannelFull`` inside the answering
consumers, and their sockets were closed: people who were only reading lost their
connection because someone else joined. Answers are now best-effort (a full channel drops
the answer, the newcomer's roster is incomplete, nobody's socket ends).

The answers arrive faster than the newcomer's consumer reads them (in-process, its queue
peaked at about three quarters of the sockets present), so the test lowers the in-memory
layer's capacity to 30 and crowds 90 sockets into the thread, to stay quick and far from
the edge; ``bench/fanout.py`` shows the same with the default capacity at 200 and 1,000
sockets on a real daphne.
"""

from __future__ import annotations

import contextlib

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import connections

from tests.messaging.test_gaps import connect, make_room, post, subscribe

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
async def _close_thread_connections():  # type: ignore[no-untyped-def]
    yield
    await database_sync_to_async(connections.close_all)()


async def next_event(socket: WebsocketCommunicator) -> dict:
    while True:
        frame = await socket.receive_json_from(timeout=3)
        if frame["type"] not in {"presence", "typing"}:
            return frame


async def test_subscribing_to_a_crowded_thread_closes_no_one_elses_socket(settings) -> None:  # type: ignore[no-untyped-def]
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 30}}
    }
    assert get_channel_layer().capacity == 30  # Channels rebuilds its layers when the setting changes
    room = await make_room()
    stream = room.thread.stream
    crowd = 90
    sockets = []
    for _ in range(crowd):
        socket = await connect(room.reader)
        await subscribe(socket, stream)
        sockets.append(socket)
    message = await post(room, "Is everyone still here?")

    broken: list[str] = []
    for socket in sockets:
        try:
            event = await next_event(socket)
            assert event["type"] == "event" and event["data"]["id"] == message, event
        except Exception as exc:  # the consumer died: the communicator re-raises its exception
            broken.append(type(exc).__name__)
    for socket in sockets:
        with contextlib.suppress(Exception):
            await socket.disconnect()
    assert not broken, f"{len(broken)} of {crowd} sockets lost: {sorted(set(broken))}"
