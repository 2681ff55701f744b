"""The WebSocket endpoint: session authentication, origin validation, sign-out, notifications."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connections, transaction
from django.test import Client

from messaging.models import Notification
from messaging.notifications import notify
from tests.factories import AgencyFactory, PersonFactory
from workspace import actions
from workspace.asgi import application
from workspace.models import AgencyRole

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
async def _close_thread_connections():  # type: ignore[no-untyped-def]
    """ORM calls from async tests run in a worker thread; close its connection afterwards
    so the test database can be dropped."""
    yield
    await database_sync_to_async(connections.close_all)()


@database_sync_to_async
def signed_in_cookie(user) -> str:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


@database_sync_to_async
def make_people():  # type: ignore[no-untyped-def]
    agency = AgencyFactory()
    admin = PersonFactory(agency=agency, role=AgencyRole.ADMIN)
    staff = PersonFactory(agency=agency)
    return admin, staff


def communicator(cookie: str = "", origin: str = "http://127.0.0.1:8000") -> WebsocketCommunicator:
    headers = [(b"origin", origin.encode()), (b"host", b"127.0.0.1:8000")]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, "/ws/", headers=headers)


async def test_signed_in_person_connects_and_pings() -> None:
    _admin, staff = await make_people()
    socket = communicator(await signed_in_cookie(staff))
    connected, _ = await socket.connect()
    assert connected
    assert await socket.receive_json_from() == {"type": "hello", "user": staff.pk}
    await socket.send_json_to({"type": "ping", "ref": 7})
    assert await socket.receive_json_from() == {"type": "pong", "ref": 7}
    await socket.disconnect()


async def test_anonymous_socket_is_refused() -> None:
    connected, code = await communicator().connect()
    assert not connected
    assert code == 4401


async def test_foreign_origin_is_refused() -> None:
    _admin, staff = await make_people()
    connected, _ = await communicator(await signed_in_cookie(staff), origin="https://evil.example").connect()
    assert not connected


async def test_bad_frames_get_error_codes_and_the_socket_stays_open() -> None:
    _admin, staff = await make_people()
    socket = communicator(await signed_in_cookie(staff))
    await socket.connect()
    await socket.receive_json_from()
    await socket.send_to(text_data="{not json")
    assert (await socket.receive_json_from())["code"] == "bad_frame"
    await socket.send_to(text_data="[1, 2]")
    assert (await socket.receive_json_from())["code"] == "bad_frame"
    await socket.send_json_to({"type": "launch", "ref": "r1"})
    error = await socket.receive_json_from()
    assert error["code"] == "unknown_type" and error["ref"] == "r1"
    await socket.send_json_to({"type": "ping"})
    assert (await socket.receive_json_from())["type"] == "pong"
    await socket.disconnect()


async def test_deactivation_closes_open_sockets_at_once() -> None:
    admin, staff = await make_people()
    socket = communicator(await signed_in_cookie(staff))
    await socket.connect()
    await socket.receive_json_from()
    await database_sync_to_async(actions.deactivate_staff)(actor=admin, member=staff)
    assert await socket.receive_json_from(timeout=3) == {"type": "signed_out", "reason": "deactivated"}
    assert (await socket.receive_output(timeout=3))["type"] == "websocket.close"


async def test_deactivated_persons_old_cookie_cannot_reconnect() -> None:
    admin, staff = await make_people()
    cookie = await signed_in_cookie(staff)
    await database_sync_to_async(actions.deactivate_staff)(actor=admin, member=staff)
    connected, code = await communicator(cookie).connect()
    assert not connected and code == 4401


@database_sync_to_async
def notify_committed(user, *, fail: bool = False) -> Notification | None:  # type: ignore[no-untyped-def]
    try:
        with transaction.atomic():
            notify(
                [user],
                kind="community.invited",
                title="Lakeland OEM invited Harbor EM",
                body="Join the Basin Flood Working Group.",
                url="/communities/basin-flood/",
                email=False,
            )
            if fail:
                raise RuntimeError("the action failed after notifying")
    except RuntimeError:
        return None
    return Notification.objects.get(recipient=user)


async def test_committed_notification_reaches_only_the_recipients_sockets() -> None:
    admin, staff = await make_people()
    mine = communicator(await signed_in_cookie(staff))
    await mine.connect()
    await mine.receive_json_from()
    theirs = communicator(await signed_in_cookie(admin))
    await theirs.connect()
    await theirs.receive_json_from()

    row = await notify_committed(staff)
    assert row is not None
    assert await mine.receive_json_from(timeout=3) == {
        "type": "notification",
        "id": row.pk,
        "kind": "community.invited",
        "title": "Lakeland OEM invited Harbor EM",
        "body": "Join the Basin Flood Working Group.",
        "url": "/communities/basin-flood/",
        "created_at": row.created_at.isoformat(),
    }
    assert await theirs.receive_nothing(timeout=0.3)
    await mine.disconnect()
    await theirs.disconnect()


async def test_rolled_back_notification_never_reaches_the_socket() -> None:
    _admin, staff = await make_people()
    socket = communicator(await signed_in_cookie(staff))
    await socket.connect()
    await socket.receive_json_from()
    assert await notify_committed(staff, fail=True) is None
    assert await socket.receive_nothing(timeout=0.3)
    await socket.send_json_to({"type": "ping", "ref": "still-open"})
    assert await socket.receive_json_from() == {"type": "pong", "ref": "still-open"}
    await socket.disconnect()
