"""The thread protocol over Channels' communicator: subscribe and replay, live events
exactly once, writes by frame, revocation, and refused frames that store nothing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connections
from django.test import Client

from communities import actions as community_actions
from communities.models import Community, CommunityRole
from messaging import actions
from messaging.models import Message, Thread
from tests.factories import AgencyFactory, PersonFactory
from workspace import actions as workspace_actions
from workspace.asgi import application
from workspace.models import Agency, AgencyRole, User

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
async def _close_thread_connections():  # type: ignore[no-untyped-def]
    yield
    await database_sync_to_async(connections.close_all)()


@dataclass
class Room:
    community: Community
    thread: Thread
    owner_admin: User
    owner_staff: User
    participant: User
    participant_agency: Agency
    observer: User
    outsider: User


@database_sync_to_async
def make_room() -> Room:
    owner, part, obs, out = (AgencyFactory() for _ in range(4))
    owner_admin = PersonFactory(agency=owner, role=AgencyRole.ADMIN)
    community = community_actions.create_community(actor=owner_admin, name="Flood desk", purpose="Flood.")
    for agency, role in ((part, CommunityRole.PARTICIPANT), (obs, CommunityRole.OBSERVER)):
        admin = PersonFactory(agency=agency, role=AgencyRole.ADMIN)
        invitation = community_actions.invite_agency(actor=owner_admin, community=community, agency=agency, role=role)
        community_actions.accept_invitation(actor=admin, invitation=invitation)
    owner_staff = PersonFactory(agency=owner)
    thread = actions.create_thread(actor=owner_staff, community=community, title="Sandbags", body="Need 20,000.")
    return Room(
        community=community,
        thread=thread,
        owner_admin=owner_admin,
        owner_staff=owner_staff,
        participant=PersonFactory(agency=part),
        participant_agency=part,
        observer=PersonFactory(agency=obs),
        outsider=PersonFactory(agency=out),
    )


@database_sync_to_async
def cookie_for(user: User) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


async def connect(user: User) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")]
    headers.append((b"cookie", (await cookie_for(user)).encode()))
    socket = WebsocketCommunicator(application, "/ws/", headers=headers)
    connected, _ = await socket.connect()
    assert connected
    assert (await socket.receive_json_from())["type"] == "hello"
    return socket


async def subscribe(socket: WebsocketCommunicator, stream: str, since: int | None = None) -> dict:
    frame: dict = {"type": "subscribe", "stream": stream, "ref": "s"}
    if since is not None:
        frame["since"] = since
    await socket.send_json_to(frame)
    return await socket.receive_json_from()


@database_sync_to_async
def post_as(user: User, thread: Thread, body: str) -> Message:
    fresh = User.objects.get(pk=user.pk)
    return actions.post_message(actor=fresh, thread=thread, body=body, client_id=uuid.uuid4()).message


async def events(socket: WebsocketCommunicator, n: int) -> list[dict]:
    return [await socket.receive_json_from(timeout=3) for _ in range(n)]


async def test_subscribe_then_receive_live_events_in_order() -> None:
    room = await make_room()
    socket = await connect(room.participant)
    answer = await subscribe(socket, room.thread.stream)
    assert answer == {"type": "subscribed", "stream": room.thread.stream, "seq": 1, "ref": "s"}
    await post_as(room.owner_staff, room.thread, "first")
    await post_as(room.owner_staff, room.thread, "second")
    received = await events(socket, 2)
    assert [(e["seq"], e["event"]) for e in received] == [(2, "message.created"), (3, "message.created")]
    assert received[1]["data"]["html"] == "<p>second</p>"
    assert await socket.receive_nothing(timeout=0.2)
    await socket.disconnect()


async def test_reconnect_with_since_gets_exactly_the_missed_events() -> None:
    room = await make_room()
    first = await post_as(room.owner_staff, room.thread, "a")
    await post_as(room.owner_staff, room.thread, "b")
    await database_sync_to_async(actions.edit_message)(actor=room.owner_staff, message=first, body="a2")
    await database_sync_to_async(actions.delete_message)(actor=room.owner_staff, message=first)
    socket = await connect(room.participant)
    answer = await subscribe(socket, room.thread.stream, since=2)
    assert answer["seq"] == 5
    replayed = await events(socket, 3)
    assert [(e["seq"], e["event"]) for e in replayed] == [
        (3, "message.created"),
        (4, "message.edited"),
        (5, "message.deleted"),
    ]
    await post_as(room.owner_staff, room.thread, "live")
    assert (await socket.receive_json_from(timeout=3))["seq"] == 6
    assert await socket.receive_nothing(timeout=0.2)
    await socket.disconnect()


async def test_since_older_than_the_log_answers_resync() -> None:
    room = await make_room()
    await post_as(room.owner_staff, room.thread, "a")
    await database_sync_to_async(lambda: __import__("messaging.models").models.StreamEvent.objects.all().delete())()
    socket = await connect(room.participant)
    await subscribe(socket, room.thread.stream, since=0)
    assert await socket.receive_json_from() == {"type": "resync", "stream": room.thread.stream, "seq": 2}
    await socket.disconnect()


@pytest.mark.parametrize(
    ("person", "subscribe_ok", "post_answer"),
    [
        ("owner_staff", True, "posted"),
        ("participant", True, "posted"),
        ("observer", True, "forbidden"),
        ("outsider", False, "not_found"),
    ],
)
async def test_subscribe_and_post_by_role(person: str, subscribe_ok: bool, post_answer: str) -> None:
    room = await make_room()
    socket = await connect(getattr(room, person))
    answer = await subscribe(socket, room.thread.stream)
    if subscribe_ok:
        assert answer["type"] == "subscribed"
    else:
        assert answer == {
            "type": "error",
            "code": "not_found",
            "ref": "s",
            "message": "No such stream, or you may not see it.",
        }
    cid = str(uuid.uuid4())
    await socket.send_json_to({"type": "post", "thread": room.thread.pk, "body": "hi", "client_id": cid, "ref": 1})
    reply = await socket.receive_json_from()
    if subscribe_ok and post_answer == "posted":
        reply = reply if reply["type"] == "posted" else await socket.receive_json_from()
    assert reply.get("type") == "posted" if post_answer == "posted" else reply.get("code") == post_answer
    expected = 2 if post_answer == "posted" else 1
    assert await database_sync_to_async(Message.objects.count)() == expected
    await socket.disconnect()


async def test_unknown_thread_answers_like_a_hidden_one() -> None:
    room = await make_room()
    socket = await connect(room.outsider)
    hidden = await subscribe(socket, room.thread.stream)
    missing = await subscribe(socket, "thread:999999")
    assert hidden == missing
    await socket.disconnect()


async def test_user_stream_is_only_your_own() -> None:
    room = await make_room()
    socket = await connect(room.participant)
    assert (await subscribe(socket, f"user:{room.participant.pk}"))["type"] == "subscribed"
    assert (await subscribe(socket, f"user:{room.observer.pk}"))["code"] == "not_found"
    await socket.disconnect()


async def test_posting_twice_with_one_client_id_stores_one_message_and_answers_both() -> None:
    room = await make_room()
    socket = await connect(room.participant)
    cid = str(uuid.uuid4())
    frame = {"type": "post", "thread": room.thread.pk, "body": "once", "client_id": cid}
    await socket.send_json_to(frame)
    first = await socket.receive_json_from()
    await socket.send_json_to(frame)
    second = await socket.receive_json_from()
    assert first["type"] == second["type"] == "posted" and first["message"] == second["message"]
    assert await database_sync_to_async(Message.objects.filter(client_id=cid).count)() == 1
    await socket.disconnect()


async def test_edit_delete_react_by_frame() -> None:
    room = await make_room()
    message = await post_as(room.participant, room.thread, "draft")
    mine = await connect(room.participant)
    other = await connect(room.observer)
    await mine.send_json_to({"type": "edit", "message": message.pk, "body": "final"})
    assert await mine.receive_json_from() == {"type": "done", "message": message.pk, "ref": None}
    await other.send_json_to({"type": "edit", "message": message.pk, "body": "hijack"})
    assert (await other.receive_json_from())["code"] == "forbidden"
    await other.send_json_to({"type": "react", "message": message.pk, "emoji": "👍"})
    assert (await other.receive_json_from())["code"] == "forbidden"  # observers are read-only
    await mine.send_json_to({"type": "react", "message": message.pk, "emoji": "🚀"})
    assert (await mine.receive_json_from())["code"] == "bad_emoji"
    await mine.send_json_to({"type": "delete", "message": message.pk})
    assert (await mine.receive_json_from())["type"] == "done"
    stored = await database_sync_to_async(Message.objects.get)(pk=message.pk)
    assert stored.body_source == "final" and stored.deleted_at is not None
    await mine.disconnect()
    await other.disconnect()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"type": "subscribe", "stream": "thread:abc"}, "bad_stream"),
        ({"type": "subscribe", "stream": 42}, "bad_stream"),
        ({"type": "subscribe", "stream": "thread:1", "since": "5"}, "bad_frame"),
        (
            {"type": "post", "thread": "1", "body": "x", "client_id": "00000000-0000-0000-0000-000000000001"},
            "bad_frame",
        ),
        ({"type": "post", "thread": "THREAD", "body": 5, "client_id": "x"}, "bad_frame"),
        ({"type": "post", "thread": "THREAD", "body": "x", "client_id": "not-a-uuid"}, "bad_frame"),
        (
            {"type": "post", "thread": "THREAD", "body": "", "client_id": "00000000-0000-0000-0000-000000000002"},
            "empty_body",
        ),
        (
            {
                "type": "post",
                "thread": "THREAD",
                "body": "x" * 20_001,
                "client_id": "00000000-0000-0000-0000-000000000003",
            },
            "too_long",
        ),
        (
            {"type": "post", "thread": 999999, "body": "x", "client_id": "00000000-0000-0000-0000-000000000004"},
            "not_found",
        ),
        ({"type": "edit", "message": True, "body": "x"}, "bad_frame"),
        ({"type": "react", "message": 1, "emoji": "👍", "on": "yes"}, "bad_frame"),
        ({"type": "typing", "thread": 999999}, "not_found"),
    ],
)
async def test_bad_frames_get_an_error_and_store_nothing(frame: dict, code: str) -> None:
    room = await make_room()
    socket = await connect(room.participant)
    frame = {k: (room.thread.pk if v == "THREAD" else v) for k, v in frame.items()}
    await socket.send_json_to(frame)
    reply = await socket.receive_json_from()
    assert reply["type"] == "error" and reply["code"] == code, reply
    assert await database_sync_to_async(Message.objects.count)() == 1
    await socket.send_json_to({"type": "ping"})
    assert (await socket.receive_json_from())["type"] == "pong"  # still healthy
    await socket.disconnect()


async def test_flooding_closes_with_4008(settings) -> None:  # type: ignore[no-untyped-def]
    room = await make_room()
    socket = await connect(room.participant)
    for _ in range(settings.WS_MAX_FRAMES_PER_SECOND + 5):
        await socket.send_json_to({"type": "ping"})
    outputs = []
    while True:
        output = await socket.receive_output(timeout=3)
        outputs.append(output)
        if output["type"] == "websocket.close":
            break
    assert outputs[-1]["code"] == 4008
    assert any('"rate_limited"' in o.get("text", "") for o in outputs)


async def test_oversized_frame_closes_with_4009() -> None:
    room = await make_room()
    socket = await connect(room.participant)
    await socket.send_to(text_data='{"type":"ping","pad":"' + "x" * (70 * 1024) + '"}')
    assert (await socket.receive_json_from())["code"] == "frame_too_large"
    assert (await socket.receive_output(timeout=3))["code"] == 4009


async def test_removed_agency_gets_revoked_then_nothing() -> None:
    room = await make_room()
    socket = await connect(room.participant)
    await subscribe(socket, room.thread.stream)
    await database_sync_to_async(community_actions.remove_agency)(
        actor=room.owner_admin, community=room.community, agency=room.participant_agency
    )
    assert await socket.receive_json_from(timeout=3) == {"type": "revoked", "stream": room.thread.stream}
    await post_as(room.owner_staff, room.thread, "after removal")
    assert await socket.receive_nothing(timeout=0.3)
    assert (await subscribe(socket, room.thread.stream))["code"] == "not_found"
    await socket.disconnect()


async def test_a_thread_taken_away_from_an_agency_revokes_its_sockets() -> None:
    room = await make_room()
    socket = await connect(room.participant)
    await subscribe(socket, room.thread.stream)
    await database_sync_to_async(actions.change_thread_audience)(
        actor=room.owner_admin, thread=room.thread, restrict_to=[room.owner_admin.agency]
    )
    frames = []
    while (frame := await socket.receive_json_from(timeout=3))["type"] != "revoked":
        frames.append(frame)
    assert frame == {"type": "revoked", "stream": room.thread.stream}
    assert [f["event"] for f in frames] in ([], ["thread.updated"])  # the change itself, at most
    await post_as(room.owner_staff, room.thread, "after the restriction")
    assert await socket.receive_nothing(timeout=0.3)
    assert (await subscribe(socket, room.thread.stream))["code"] == "not_found"
    await socket.disconnect()


async def test_deactivated_while_connected_is_signed_out() -> None:
    room = await make_room()
    admin = await database_sync_to_async(
        lambda: User.objects.get(membership__agency=room.participant_agency, membership__role=AgencyRole.ADMIN)
    )()
    socket = await connect(room.participant)
    await subscribe(socket, room.thread.stream)
    await database_sync_to_async(workspace_actions.deactivate_staff)(actor=admin, member=room.participant)
    assert (await socket.receive_json_from(timeout=3))["type"] == "signed_out"


async def frames_until_quiet(socket: WebsocketCommunicator, timeout: float = 0.3) -> list[dict]:
    found = []
    while not await socket.receive_nothing(timeout=timeout):
        found.append(await socket.receive_json_from())
    return found


async def test_typing_reaches_others_in_the_thread_once_per_interval() -> None:
    room = await make_room()
    typist = await connect(room.participant)
    reader = await connect(room.owner_staff)
    await subscribe(typist, room.thread.stream)
    await subscribe(reader, room.thread.stream)
    await frames_until_quiet(typist)
    await frames_until_quiet(reader)
    await typist.send_json_to({"type": "typing", "thread": room.thread.pk})
    await typist.send_json_to({"type": "typing", "thread": room.thread.pk})
    seen = await frames_until_quiet(reader)
    assert [(f["type"], f["user"]) for f in seen] == [("typing", room.participant.pk)]
    assert await frames_until_quiet(typist, 0.1) == []  # not echoed to the typist
    await typist.disconnect()
    await reader.disconnect()


async def test_presence_roster_without_storage() -> None:
    room = await make_room()
    first = await connect(room.participant)
    second = await connect(room.owner_staff)
    outsider = await connect(room.observer)
    await subscribe(first, room.thread.stream)
    await subscribe(second, room.thread.stream)
    arrived = await frames_until_quiet(first)
    assert [(f["type"], f["state"], f["user"]) for f in arrived] == [("presence", "here", room.owner_staff.pk)]
    roster = await frames_until_quiet(second)
    assert [(f["type"], f["state"], f["user"]) for f in roster] == [("presence", "here", room.participant.pk)]
    assert await frames_until_quiet(outsider, 0.1) == []  # not subscribed: hears nothing
    await second.send_json_to({"type": "unsubscribe", "stream": room.thread.stream})
    left = await frames_until_quiet(first)
    assert [(f["type"], f["state"]) for f in left] == [("presence", "left")]
    await first.disconnect()
    await second.disconnect()
    await outsider.disconnect()
