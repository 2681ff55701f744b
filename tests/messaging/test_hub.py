"""Fan-out once per process (``messaging.hub``): however many sockets of one process follow
a stream, the process is one member of the stream's group, and each of them still gets
every event once, in order."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import connections, transaction

from messaging import events
from messaging.events import stream_group
from messaging.hub import hub_for
from tests.factories import PersonFactory
from tests.messaging.test_gaps import connect, events_until_quiet, make_room, post, subscribe, summary
from workspace.realtime import send_many_on_commit

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
async def _close_thread_connections():  # type: ignore[no-untyped-def]
    yield
    await database_sync_to_async(connections.close_all)()


async def answer(socket) -> str:  # type: ignore[no-untyped-def]
    """The type of the next frame that is not presence or typing."""
    while (frame := await socket.receive_json_from())["type"] in {"presence", "typing"}:
        pass
    return frame["type"]


async def members(stream: str) -> set[str]:
    """The channel-layer members of the stream's group, on the in-memory or the Redis layer."""
    return await members_of(stream_group(stream))


async def members_of(group: str) -> set[str]:
    layer = get_channel_layer()
    if hasattr(layer, "groups"):  # in memory
        return set(layer.groups.get(group, {}))
    connection = layer.connection(layer.consistent_hash(group))
    return {name.decode() for name in await connection.zrange(layer._group_key(group), 0, -1)}


async def test_many_sockets_one_group_member_every_event_once() -> None:
    room = await make_room()
    stream = room.thread.stream
    sockets = [await connect(room.reader) for _ in range(6)]
    for socket in sockets:
        await subscribe(socket, stream)
    hub = hub_for(get_channel_layer())
    assert (await members(stream)) == {hub.channel}
    assert hub.following(stream) == 6

    first, second = await post(room, "One"), await post(room, "Two")
    for socket in sockets:
        assert [(seq, kind, pk) for seq, kind, pk in summary(await events_until_quiet(socket))] == [
            (2, "message.created", first),
            (3, "message.created", second),
        ]

    # Unsubscribing some sockets leaves the others served; the last one out leaves the group.
    for socket in sockets[:5]:
        await socket.send_json_to({"type": "unsubscribe", "stream": stream})
        assert await answer(socket) == "unsubscribed"
    assert hub.following(stream) == 1 and (await members(stream)) == {hub.channel}
    third = await post(room, "Three")
    assert summary(await events_until_quiet(sockets[5])) == [(4, "message.created", third)]
    for socket in sockets[:5]:
        assert await events_until_quiet(socket, quiet=0.1) == []
    for socket in sockets:
        await socket.disconnect()
    assert hub.following(stream) == 0 and (await members(stream)) == set()
    assert not hub._tasks  # nothing left running for a process that follows nothing


async def test_a_socket_that_closes_mid_fanout_does_not_stop_the_others() -> None:
    room = await make_room()
    stream = room.thread.stream
    leaving, staying = await connect(room.reader), await connect(room.reader)
    await subscribe(leaving, stream)
    await subscribe(staying, stream)
    message = await post(room, "Before")
    await leaving.disconnect()
    after = await post(room, "After")
    assert summary(await events_until_quiet(staying)) == [
        (2, "message.created", message),
        (3, "message.created", after),
    ]
    await staying.disconnect()


async def test_a_socket_leaves_every_stream_even_when_the_layer_fails_one_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """A closing socket's calls to the layer can fail (a Redis pool out of connections, a
    restart); the steps after a failed one still run, so the hub is not left handing
    every later event to a socket that is gone."""
    room = await make_room()
    thread_stream, community_stream = room.thread.stream, f"community:{room.thread.community_id}"
    layer = get_channel_layer()
    hub = hub_for(layer)
    socket = await connect(room.reader)
    await subscribe(socket, thread_stream)  # a thread: leaving it says "left" through the layer
    await subscribe(socket, community_stream)
    assert hub.following(thread_stream) == hub.following(community_stream) == 1
    sends = layer.group_send

    async def failing_goodbyes(group: str, message: dict) -> None:  # type: ignore[type-arg]
        if message.get("type") == "presence.relay" and message.get("state") == "left":
            raise ConnectionError("No connection available.")
        await sends(group, message)

    monkeypatch.setattr(layer, "group_send", failing_goodbyes)
    await socket.disconnect()
    assert hub.following(thread_stream) == hub.following(community_stream) == 0
    assert (await members(thread_stream)) == (await members(community_stream)) == set()
    assert not hub._tasks


async def test_one_event_on_many_streams_comes_in_a_few_messages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``events.append_many`` (an urgent alert, to each person's own stream) sends each
    process one ``stream.batch`` per ``BATCH_EVENTS`` events, not one message per stream;
    the hub hands each socket the event of its own stream, once."""
    monkeypatch.setattr(events, "BATCH_EVENTS", 2)
    people = await database_sync_to_async(lambda: [PersonFactory() for _ in range(6)])()
    addressed = people[:5]  # people[5] is a bystander
    sockets = [await connect(person) for person in people]
    for person, socket in zip(people, sockets, strict=True):
        await subscribe(socket, f"user:{person.pk}")
    layer = get_channel_layer()
    sent, group_send = [], layer.group_send

    async def counting(group: str, message: dict) -> None:  # type: ignore[type-arg]
        sent.append((group, message["type"], len(message.get("events", ()))))
        await group_send(group, message)

    monkeypatch.setattr(layer, "group_send", counting)

    @database_sync_to_async
    def alert_everyone() -> None:
        with transaction.atomic():
            events.append_many([f"user:{person.pk}" for person in addressed], "alert.sent", {"id": 7})

    await alert_everyone()
    assert sent == [(events.HUBS_GROUP, "stream.batch", 2)] * 2 + [(events.HUBS_GROUP, "stream.batch", 1)]
    for person, socket in zip(addressed, sockets[:5], strict=True):
        frames = await events_until_quiet(socket)
        assert [(frame["stream"], frame["event"], frame["data"]) for frame in frames] == [
            (f"user:{person.pk}", "alert.sent", {"id": 7})
        ]
    assert await events_until_quiet(sockets[-1]) == []
    for socket in sockets:
        await socket.disconnect()
    assert (await members_of(events.HUBS_GROUP)) == set()


async def test_a_post_answer_comes_before_the_event_it_caused() -> None:
    """The poster's socket answers ``posted`` first, then relays the event (the hub waits
    in the socket's backlog meanwhile instead of overtaking the answer)."""
    room = await make_room()
    stream = room.thread.stream
    socket = await connect(room.author)
    await subscribe(socket, stream)
    await socket.send_json_to(
        {"type": "post", "thread": room.thread.pk, "body": "Mine", "client_id": str(uuid.uuid4()), "ref": 1}
    )
    frames = [frame for frame in await events_until_quiet_all(socket) if frame["type"] not in {"presence", "typing"}]
    assert [frame["type"] for frame in frames] == ["posted", "event"]
    assert frames[1]["data"]["id"] == frames[0]["message"]
    await socket.disconnect()


async def events_until_quiet_all(socket, quiet: float = 0.3) -> list[dict]:  # type: ignore[no-untyped-def]
    found = []
    while not await socket.receive_nothing(timeout=quiet):
        found.append(await socket.receive_json_from())
    return found


async def test_each_event_loop_has_its_own_hub() -> None:
    layer = get_channel_layer()
    here = hub_for(layer)
    assert hub_for(layer) is here
    elsewhere = await asyncio.to_thread(lambda: asyncio.run(_hub_in_new_loop(layer)))
    assert elsewhere is not here


async def _hub_in_new_loop(layer):  # type: ignore[no-untyped-def]
    return hub_for(layer)


async def presence_frames(socket) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    found = []
    while not await socket.receive_nothing(timeout=0.3):
        frame = await socket.receive_json_from()
        if frame["type"] == "presence":
            found.append((frame["state"], frame["user"]))
    return found


async def test_a_newcomer_gets_one_roster_per_process_not_one_answer_per_socket() -> None:
    room = await make_room()
    stream = room.thread.stream
    tabs = [await connect(room.author) for _ in range(3)]  # one person, three tabs
    for tab in tabs:
        await subscribe(tab, stream)
    for tab in tabs:
        await presence_frames(tab)
    newcomer = await connect(room.reader)
    await subscribe(newcomer, stream)
    assert await presence_frames(newcomer) == [("here", room.author.pk)]
    for tab in tabs:  # each of the author's tabs hears of the arrival once
        assert await presence_frames(tab) == [("here", room.reader.pk)]
    for socket in [*tabs, newcomer]:
        await socket.disconnect()


async def test_in_a_crowd_arrivals_are_not_relayed_and_the_roster_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("messaging.hub.PRESENCE_CROWD", 2)
    room = await make_room()
    stream = room.thread.stream
    others = [await make_person_in(room) for _ in range(3)]
    sockets = []
    for person in others:
        socket = await connect(person)
        await subscribe(socket, stream)
        sockets.append(socket)
    for socket in sockets:
        await presence_frames(socket)
    newcomer = await connect(room.reader)
    await subscribe(newcomer, stream)
    roster = await presence_frames(newcomer)
    assert len(roster) == 2 and {user for _, user in roster} < {person.pk for person in others}
    for socket in sockets:  # four sockets on the thread now: past the crowd, nobody is told
        assert await presence_frames(socket) == []
    message = await post(room, "Events still reach everyone")
    for socket in [*sockets, newcomer]:
        assert summary(await events_until_quiet(socket))[-1][2] == message
    for socket in [*sockets, newcomer]:
        await socket.disconnect()


@database_sync_to_async
def make_person_in(room):  # type: ignore[no-untyped-def]
    from tests.factories import PersonFactory

    return PersonFactory(agency=room.author.agency)


class Collector:
    """A stand-in socket that records what the hub hands it."""

    channel_name = "collector"

    def __init__(self) -> None:
        self.present_in: dict = {}
        self.got: list[dict] = []

    async def relay(self, message: dict) -> None:
        await asyncio.sleep(0.002)  # a socket takes a moment to write: the hub's channel fills meanwhile
        self.got.append(message)


async def test_a_burst_larger_than_channels_default_capacity_reaches_every_follower() -> None:
    """An alert to everyone an incident reaches is one message per person, all for the
    process's one hub channel at once: none may be dropped (Channels' default capacity is
    100 per channel; the project's is CHANNEL_CAPACITY)."""
    layer = get_channel_layer()
    hub = hub_for(layer)
    streams = [f"user:{900_000 + n}" for n in range(600)]
    collectors = [Collector() for _ in streams]
    for stream, collector in zip(streams, collectors, strict=True):
        await hub.join(stream, collector)

    def commit_a_burst() -> None:
        with transaction.atomic():
            send_many_on_commit(
                [(stream_group(s), {"type": "stream.event", "stream": s, "seq": 1, "text": "{}"}) for s in streams]
            )

    try:
        await database_sync_to_async(commit_a_burst)()
        for _ in range(600):  # up to 30 s on a loaded machine; about 1.5 s when it is quiet
            if all(collector.got for collector in collectors):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.1)  # and nothing arrives twice
    finally:
        for stream, collector in zip(streams, collectors, strict=True):
            await hub.leave(stream, collector)
    assert [len(collector.got) for collector in collectors] == [1] * len(streams)


class Recorder:
    """A stand-in socket whose relay never suspends (a free socket, as in production)."""

    channel_name = "recorder"

    def __init__(self, log: list[str]) -> None:
        self.present_in: dict = {}
        self.log = log
        self.delivered = False

    async def relay(self, message: dict) -> None:
        self.log.append("delivered")
        self.delivered = True


async def test_a_large_fanout_lets_the_event_loop_turn() -> None:
    """Frames leave the process and other sockets are heard between slices of a fan-out,
    not only after its last socket."""
    from messaging import hub as hub_module

    layer = get_channel_layer()
    hub = hub_for(layer)
    stream = "thread:987654"
    log: list[str] = []
    recorders = [Recorder(log) for _ in range(hub_module.SLICE * 4)]
    for recorder in recorders:
        await hub.join(stream, recorder)

    async def meanwhile() -> None:
        # Until the last delivery, however long the layer takes to hand the event over
        # (on Redis that is a network round trip, many loop turns before the first delivery).
        while not all(recorder.delivered for recorder in recorders):
            log.append("loop turned")
            await asyncio.sleep(0)

    ticker = asyncio.create_task(meanwhile())
    try:
        await layer.group_send(stream_group(stream), {"type": "stream.event", "stream": stream, "seq": 1, "text": "{}"})
        await asyncio.wait_for(ticker, timeout=30)
    finally:
        ticker.cancel()
        for recorder in recorders:
            await hub.leave(stream, recorder)
    delivered = [n for n, entry in enumerate(log) if entry == "delivered"]
    assert len(delivered) == len(recorders)
    turns_during = [n for n, entry in enumerate(log) if entry == "loop turned" and delivered[0] < n < delivered[-1]]
    assert len(turns_during) >= 3  # between each slice


async def test_someone_already_here_is_not_announced_twice() -> None:
    """An arrival can reach a newcomer twice (its announcement, relayed late, and the roster);
    the client hears it once, and again only after a departure."""
    room = await make_room()
    stream = room.thread.stream
    first, second = await connect(room.author), await connect(room.reader)
    await subscribe(first, stream)
    await subscribe(second, stream)
    assert await presence_frames(second) == [("here", room.author.pk)]
    who = {"thread": room.thread.pk, "user": room.author.pk, "name": "A", "agency": "X"}
    layer = get_channel_layer()
    late = {"type": "presence.relay", "stream": stream, "who": who, "state": "here", "sender": "x", "reply": False}
    await layer.group_send(stream_group(stream), late)
    assert await presence_frames(second) == []
    await layer.group_send(stream_group(stream), late | {"state": "left"})
    await layer.group_send(stream_group(stream), late)
    assert await presence_frames(second) == [("left", room.author.pk), ("here", room.author.pk)]
    await first.disconnect()
    await second.disconnect()
