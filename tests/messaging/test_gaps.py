"""Gap filling: the channel layer is at-most-once, the event log is not.

The layer's ``group_send`` is wrapped so that every second ``stream.event`` for the thread
never reaches the group (as a full or restarted Redis would). The consumer must still hand
the client every event exactly once and in ``seq`` order: a live event past a gap makes it
read the missing ones from the log first, and a dropped last event is recovered by the
next live event or by subscribing again with ``since``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import connections

from communities import actions as community_actions
from communities.models import CommunityRole
from messaging import actions
from messaging.models import Message, StreamEvent, Thread
from tests.factories import AgencyFactory, PersonFactory
from tests.messaging.test_protocol import connect
from workspace.models import AgencyRole, User

pytestmark = pytest.mark.django_db(transaction=True)

EPHEMERAL = {"presence", "typing"}


@pytest.fixture(autouse=True)
async def _close_thread_connections():  # type: ignore[no-untyped-def]
    """ORM calls from async tests run in a worker thread; close its connection afterwards
    so the test database can be dropped."""
    yield
    await database_sync_to_async(connections.close_all)()


@dataclass
class Room:
    thread: Thread
    author: User
    reader: User


@database_sync_to_async
def make_room() -> Room:
    owner, other = AgencyFactory(), AgencyFactory()
    owner_admin = PersonFactory(agency=owner, role=AgencyRole.ADMIN)
    community = community_actions.create_community(actor=owner_admin, name="Flood desk", purpose="Flood.")
    other_admin = PersonFactory(agency=other, role=AgencyRole.ADMIN)
    invitation = community_actions.invite_agency(
        actor=owner_admin, community=community, agency=other, role=CommunityRole.PARTICIPANT
    )
    community_actions.accept_invitation(actor=other_admin, invitation=invitation)
    author = PersonFactory(agency=owner)
    thread = actions.create_thread(actor=author, community=community, title="Sandbags", body="Need 20,000.")
    return Room(thread=thread, author=author, reader=PersonFactory(agency=other))


async def subscribe(socket: WebsocketCommunicator, stream: str, since: int | None = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "subscribe", "stream": stream}
    if since is not None:
        frame["since"] = since
    await socket.send_json_to(frame)
    answer = await socket.receive_json_from()
    assert answer["type"] == "subscribed", answer
    return answer


async def events_until_quiet(socket: WebsocketCommunicator, quiet: float = 0.3) -> list[dict[str, Any]]:
    """Every non-ephemeral frame until the socket stays silent for ``quiet`` seconds."""
    found = []
    while not await socket.receive_nothing(timeout=quiet):
        frame = await socket.receive_json_from()
        if frame["type"] not in EPHEMERAL:
            found.append(frame)
    return found


@database_sync_to_async
def post(room: Room, body: str) -> int:
    author = User.objects.get(pk=room.author.pk)
    return actions.post_message(actor=author, thread=room.thread, body=body, client_id=uuid.uuid4()).message.pk


@database_sync_to_async
def edit(room: Room, message_id: int, body: str) -> None:
    author = User.objects.get(pk=room.author.pk)
    actions.edit_message(actor=author, message=Message.objects.get(pk=message_id), body=body)


@database_sync_to_async
def delete(room: Room, message_id: int) -> None:
    author = User.objects.get(pk=room.author.pk)
    actions.delete_message(actor=author, message=Message.objects.get(pk=message_id))


@database_sync_to_async
def logged(stream: str) -> list[tuple[int, str, int]]:
    """The stream's event log as (seq, kind, message id)."""
    rows = StreamEvent.objects.filter(stream=stream).order_by("seq")
    return [(row.seq, row.kind, row.data["id"]) for row in rows]


def summary(frames: list[dict[str, Any]]) -> list[tuple[int, str, int]]:
    assert all(frame["type"] == "event" for frame in frames), frames
    return [(frame["seq"], frame["event"], frame["data"]["id"]) for frame in frames]


@dataclass
class Dropper:
    """Drops every ``every``-th ``stream.event`` group send for one stream."""

    stream: str
    every: int = 2
    seen: int = 0
    dropped: list[int] = field(default_factory=list)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        layer = get_channel_layer()
        real = layer.group_send

        async def group_send(group: str, message: dict[str, Any]) -> None:
            if message.get("type") == "stream.event" and message.get("stream") == self.stream:
                self.seen += 1
                if self.seen % self.every == 0:
                    self.dropped.append(message["seq"])
                    return
            await real(group, message)

        # The consumers and ``send_on_commit`` share this one layer instance.
        monkeypatch.setattr(layer, "group_send", group_send)


async def test_every_second_event_dropped_still_arrives_once_and_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    room = await make_room()
    stream = room.thread.stream
    socket = await connect(room.reader)
    assert (await subscribe(socket, stream))["seq"] == 1
    dropper = Dropper(stream)
    dropper.install(monkeypatch)

    ids = [await post(room, f"Update {n}") for n in range(4)]  # seq 2..5
    await edit(room, ids[0], "Update 0, corrected")  # seq 6
    await delete(room, ids[1])  # seq 7
    assert dropper.dropped == [3, 5, 7]  # the last one is a trailing gap nothing reveals yet

    received = await events_until_quiet(socket)
    assert [frame["seq"] for frame in received] == [2, 3, 4, 5, 6]

    # The client resubscribes with the last seq it has and gets the rest, once.
    answer = await subscribe(socket, stream, since=received[-1]["seq"])
    assert answer["seq"] == 7
    received += await events_until_quiet(socket)

    assert summary(received) == (await logged(stream))[1:]
    assert summary(received) == [
        (2, "message.created", ids[0]),
        (3, "message.created", ids[1]),
        (4, "message.created", ids[2]),
        (5, "message.created", ids[3]),
        (6, "message.edited", ids[0]),
        (7, "message.deleted", ids[1]),
    ]
    assert received[4]["data"]["html"] == "<p>Update 0, corrected</p>"
    assert received[5]["data"]["deleted"] is True and received[5]["data"]["html"] == ""
    await socket.disconnect()


async def test_trailing_gap_is_filled_by_the_next_live_event(monkeypatch: pytest.MonkeyPatch) -> None:
    room = await make_room()
    stream = room.thread.stream
    socket = await connect(room.reader)
    await subscribe(socket, stream)
    dropper = Dropper(stream)
    dropper.install(monkeypatch)

    first, second = await post(room, "one"), await post(room, "two")  # seq 2 sent, seq 3 dropped
    assert summary(await events_until_quiet(socket)) == [(2, "message.created", first)]

    third = await post(room, "three")  # seq 4 is sent: the consumer reads seq 3 from the log first
    assert summary(await events_until_quiet(socket)) == [(3, "message.created", second), (4, "message.created", third)]
    assert dropper.dropped == [3]
    await socket.disconnect()


async def test_two_readers_with_drops_each_get_every_event_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Drops hit the whole group; the replay of one socket must not leak into another's."""
    room = await make_room()
    stream = room.thread.stream
    early, late = await connect(room.reader), await connect(room.author)
    await subscribe(early, stream)
    dropper = Dropper(stream, every=3)
    dropper.install(monkeypatch)

    ids = [await post(room, f"Batch {n}") for n in range(3)]  # seq 2, 3 sent; 4 dropped
    assert (await subscribe(late, stream, since=1))["seq"] == 4  # replays 2..4
    ids += [await post(room, f"Batch {n}") for n in range(3, 6)]  # seq 5, 6 sent; 7 dropped
    ids.append(await post(room, "last"))  # seq 8 sent: both fill 7 from the log

    expected = [(seq, "message.created", message) for seq, message in zip(range(2, 9), ids, strict=True)]
    assert dropper.dropped == [4, 7]
    assert summary(await events_until_quiet(early)) == expected
    assert summary(await events_until_quiet(late)) == expected
    await early.disconnect()
    await late.disconnect()
