"""Alerts over the socket: they reach each person's own stream on any page, live or on
replay after being offline; the `ack` frame works only for the people the alert was sent
to; the coordinator's roll-up arrives live on the incident's stream."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections
from django.test import Client
from django.urls import reverse

from messaging import events
from messaging.incidents import actions
from messaging.incidents.models import AlertRecipient
from tests.incidents.conftest import IncidentWorld, build_world
from tests.incidents.test_actions import fresh
from tests.messaging.test_protocol import connect, subscribe
from workspace.models import User

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
async def _close_thread_connections():  # type: ignore[no-untyped-def]
    yield
    await database_sync_to_async(connections.close_all)()


async def world() -> IncidentWorld:
    return await database_sync_to_async(build_world)()


@database_sync_to_async
def send_alert(iw: IncidentWorld, body: str):  # type: ignore[no-untyped-def]
    return actions.send_alert(actor=fresh(iw.coordinator), incident=iw.incident, body=body)


@database_sync_to_async
def seq_of(stream: str) -> int:
    return events.current_seq(stream)


@database_sync_to_async
def acknowledged_at(iw: IncidentWorld, user: User):  # type: ignore[no-untyped-def]
    return AlertRecipient.objects.get(alert=iw.alert, user=user).acknowledged_at


async def ack(socket: WebsocketCommunicator, alert_id: object) -> dict:
    await socket.send_json_to({"type": "ack", "alert": alert_id, "ref": "a"})
    return await socket.receive_json_from(timeout=3)


async def test_an_alert_reaches_a_person_on_another_page_live() -> None:
    iw = await world()
    socket = await connect(iw.participant)  # e.g. on the dashboard: only their own stream
    stream = f"user:{iw.participant.pk}"
    assert (await subscribe(socket, stream, since=await seq_of(stream)))["type"] == "subscribed"
    alert = await send_alert(iw, "Crest moved up to 14:00")
    frame = await socket.receive_json_from(timeout=3)
    assert (frame["stream"], frame["event"], frame["data"]["id"]) == (stream, "alert.sent", alert.pk)
    assert frame["data"]["incident"] == {"id": iw.incident.pk, "name": "Easton River Flood"}
    await socket.disconnect()


async def test_an_offline_person_gets_the_alert_on_replay_then_acknowledges() -> None:
    iw = await world()
    stream = f"user:{iw.observer.pk}"
    before = await seq_of(stream)
    alert = await send_alert(iw, "Boil-water notice for Easton east side")  # the observer is away
    socket = await connect(iw.observer)
    answer = await subscribe(socket, stream, since=before)
    assert answer["seq"] == before + 1
    replayed = await socket.receive_json_from(timeout=3)
    assert (replayed["seq"], replayed["event"], replayed["data"]["id"]) == (before + 1, "alert.sent", alert.pk)
    reply = await ack(socket, alert.pk)
    assert (reply["type"], reply["alert"], reply["ref"]) == ("acknowledged", alert.pk, "a")
    # Their other tabs hear of it on the same stream.
    done = await socket.receive_json_from(timeout=3)
    assert (done["event"], done["data"]) == ("alert.acknowledged", {"alert": alert.pk})
    again = await ack(socket, alert.pk)  # idempotent: the same server time
    assert again["at"] == reply["at"]
    await socket.disconnect()


async def test_the_coordinators_rollup_updates_live() -> None:
    iw = await world()
    coordinator = await connect(iw.coordinator)
    assert (await subscribe(coordinator, iw.incident.stream, since=await seq_of(iw.incident.stream)))["type"] == (
        "subscribed"
    )
    person = await connect(iw.participant)
    assert (await ack(person, iw.alert.pk))["type"] == "acknowledged"
    frame = await coordinator.receive_json_from(timeout=3)
    assert frame["event"] == "alert.acknowledged" and frame["data"]["user"] == iw.participant.pk
    rollup = frame["data"]["rollup"]
    assert (rollup["agencies_done"], rollup["people_acknowledged"]) == (1, 1)
    recount = await database_sync_to_async(actions.rollup)(iw.alert)
    assert rollup == json.loads(json.dumps(recount, cls=DjangoJSONEncoder))  # as counted from the receipts
    await coordinator.disconnect()
    await person.disconnect()


@pytest.mark.parametrize("role", ["coordinator", "outsider", "nonmember"])
async def test_ack_from_someone_the_alert_was_not_sent_to_is_not_found(role: str) -> None:
    """The sender, a member agency outside the incident and a stranger all get the answer
    an alert that does not exist gets, and nothing is stored."""
    iw = await world()
    socket = await connect(iw.person(role))
    refused = await ack(socket, iw.alert.pk)
    missing = await ack(socket, 987654)
    assert refused["code"] == missing["code"] == "not_found"
    assert refused["message"] == missing["message"]
    for user in (iw.participant, iw.observer):
        assert await acknowledged_at(iw, user) is None
    await socket.disconnect()


async def test_ack_frames_of_the_wrong_shape_are_bad_frames() -> None:
    iw = await world()
    socket = await connect(iw.participant)
    for value in ("12", None, True, 0, -3):
        assert (await ack(socket, value))["code"] == "bad_frame"
    assert await acknowledged_at(iw, iw.participant) is None
    await socket.disconnect()


async def test_nobody_else_may_follow_a_persons_alerts_or_a_hidden_incident() -> None:
    iw = await world()
    socket = await connect(iw.outsider)
    assert (await subscribe(socket, f"user:{iw.participant.pk}"))["code"] == "not_found"
    assert (await subscribe(socket, iw.incident.stream))["code"] == "not_found"
    assert (await subscribe(socket, f"thread:{iw.incident.thread_id}"))["code"] == "not_found"
    await socket.disconnect()
    observer = await connect(iw.observer)
    assert (await subscribe(observer, iw.incident.stream))["type"] == "subscribed"
    await observer.disconnect()


@pytest.mark.skipif(
    connections["default"].vendor == "sqlite",
    reason="the SQLite test database is in memory with a shared cache, which refuses concurrent writers "
    "instead of waiting; the PostgreSQL lane runs this",
)
async def test_acknowledgements_over_sockets_and_http_at_once_are_counted_exactly() -> None:
    """Half the people acknowledge over their sockets, half through the page's form, all at
    once (and each twice); the coordinator's last live roll-up equals a recount."""
    iw = await world()
    flood = iw.flood
    people = [*flood.harbor_people, *flood.pine_people, flood.water_person]
    by_socket, by_http = people[::2], people[1::2]
    coordinator = await connect(iw.coordinator)
    await subscribe(coordinator, iw.incident.stream, since=await seq_of(iw.incident.stream))
    sockets = [await connect(person) for person in by_socket]
    clients = [await database_sync_to_async(_signed_in)(person) for person in by_http]
    url = reverse("incident_alert_acknowledge", args=[iw.incident.pk, iw.alert.pk])
    start = threading.Barrier(len(clients) + 1)

    def post_twice(client: Client) -> list[int]:
        try:
            start.wait(timeout=10)
            return [client.post(url, {"next": "/"}).status_code for _ in range(2)]
        finally:
            connections.close_all()

    async def ack_twice(socket: WebsocketCommunicator) -> list[str]:
        return [(await ack(socket, iw.alert.pk))["type"] for _ in range(2)]

    async def over_http() -> list[list[int]]:
        return await asyncio.gather(*(asyncio.to_thread(post_twice, client) for client in clients))

    async def over_sockets() -> list[list[str]]:
        await asyncio.to_thread(start.wait, 10)
        return await asyncio.gather(*(ack_twice(socket) for socket in sockets))

    http_answers, socket_answers = await asyncio.gather(over_http(), over_sockets())
    assert all(codes == [302, 302] for codes in http_answers)
    assert all(kinds == ["acknowledged", "acknowledged"] for kinds in socket_answers)

    acknowledged = [await coordinator.receive_json_from(timeout=5) for _ in people]
    assert all(frame["event"] == "alert.acknowledged" for frame in acknowledged)
    assert sorted(frame["data"]["user"] for frame in acknowledged) == sorted(person.pk for person in people)
    assert [frame["data"]["rollup"]["people_acknowledged"] for frame in acknowledged] == list(range(1, len(people) + 1))
    assert await coordinator.receive_nothing(timeout=0.3)  # no double count from the second clicks
    recount = await database_sync_to_async(actions.rollup)(iw.alert)
    assert acknowledged[-1]["data"]["rollup"] == json.loads(json.dumps(recount, cls=DjangoJSONEncoder))
    receipts = await database_sync_to_async(
        lambda: AlertRecipient.objects.filter(alert=iw.alert, acknowledged_at__isnull=False).count()
    )()
    assert receipts == len(people) == recount["people_acknowledged"]
    for socket in [coordinator, *sockets]:
        await socket.disconnect()


def _signed_in(person: User) -> Client:
    client = Client()
    client.force_login(person)
    return client
