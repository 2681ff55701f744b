"""Incidents: who sees them, alerts and exact acknowledgement roll-ups, reminders and
escalation on a controlled clock, and a board whose times no client sets."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection, connections
from django.utils import timezone

from communities import actions as community_actions
from communities.models import Community, CommunityRole
from messaging.incidents import actions
from messaging.incidents.models import AlertEscalation, AlertRecipient, BoardEntry, EntryKind, Incident
from messaging.models import Notification, StreamEvent
from tests.factories import AgencyFactory, PersonFactory
from workspace import policy
from workspace.exceptions import ActionError
from workspace.models import Agency, AgencyRole, User


@dataclass
class Flood:
    community: Community
    loem: Agency
    harbor: Agency
    pine: Agency
    water: Agency
    outsider_agency: Agency
    duty_officer: User
    harbor_people: list[User]
    pine_people: list[User]
    water_person: User
    outsider: User
    incident: Incident


def fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


def build_flood() -> Flood:
    loem, harbor, pine, water, outsider_agency = (AgencyFactory() for _ in range(5))
    duty = PersonFactory(agency=loem, role=AgencyRole.ADMIN, full_name="Dana Whitfield")
    community = community_actions.create_community(actor=duty, name="Regional coordination", purpose="EOCs.")
    admins = {}
    for agency, role in (
        (harbor, CommunityRole.PARTICIPANT),
        (pine, CommunityRole.PARTICIPANT),
        (water, CommunityRole.OBSERVER),
        (outsider_agency, CommunityRole.PARTICIPANT),
    ):
        admins[agency.pk] = PersonFactory(agency=agency, role=AgencyRole.ADMIN)
        invitation = community_actions.invite_agency(actor=duty, community=community, agency=agency, role=role)
        community_actions.accept_invitation(actor=admins[agency.pk], invitation=invitation)
    harbor_people = [admins[harbor.pk]] + [PersonFactory(agency=harbor) for _ in range(2)]
    pine_people = [admins[pine.pk], PersonFactory(agency=pine)]
    incident = actions.open_incident(
        actor=fresh(duty),
        community=community,
        name="Easton River Flood",
        kind="flood",
        agencies=[harbor, pine, water],
        location="Easton River",
    )
    return Flood(
        community=community,
        loem=loem,
        harbor=harbor,
        pine=pine,
        water=water,
        outsider_agency=outsider_agency,
        duty_officer=duty,
        harbor_people=harbor_people,
        pine_people=pine_people,
        water_person=admins[water.pk],
        outsider=admins[outsider_agency.pk],
        incident=incident,
    )


@pytest.fixture
def flood(db) -> Flood:  # type: ignore[no-untyped-def]
    return build_flood()


def test_only_participating_agencies_see_the_incident(flood) -> None:  # type: ignore[no-untyped-def]
    assert policy.can(fresh(flood.harbor_people[1]), "view", flood.incident)
    assert policy.can(fresh(flood.water_person), "view", flood.incident)
    assert not policy.can(fresh(flood.outsider), "view", flood.incident)  # in the community, not in the incident
    assert not policy.can(fresh(flood.outsider), "view", flood.incident.thread)
    notified = set(Notification.objects.filter(kind="incident.opened").values_list("recipient_id", flat=True))
    assert flood.harbor_people[1].pk in notified and flood.outsider.pk not in notified


def test_observers_cannot_send_alerts_and_staff_cannot_either(flood) -> None:  # type: ignore[no-untyped-def]
    for person in (flood.water_person, flood.harbor_people[1], flood.outsider):
        with pytest.raises(PermissionDenied):
            actions.send_alert(actor=fresh(person), incident=flood.incident, body="x")


def test_alert_reaches_everyone_on_their_own_stream(flood) -> None:  # type: ignore[no-untyped-def]
    alert = actions.send_alert(actor=fresh(flood.duty_officer), incident=flood.incident, body="Activate EOCs")
    recipients = set(AlertRecipient.objects.filter(alert=alert).values_list("user_id", flat=True))
    expected = {p.pk for p in flood.harbor_people + flood.pine_people} | {flood.water_person.pk}
    assert recipients == expected
    for user_id in expected:
        assert StreamEvent.objects.filter(stream=f"user:{user_id}", kind="alert.sent").exists()
    assert actions.unacknowledged_alerts(fresh(flood.pine_people[1])) == [alert]
    assert actions.unacknowledged_alerts(fresh(flood.outsider)) == []


def test_acknowledgement_is_idempotent_and_rolls_up_per_agency(flood) -> None:  # type: ignore[no-untyped-def]
    alert = actions.send_alert(actor=fresh(flood.duty_officer), incident=flood.incident, body="Report by 18:00")
    first = actions.acknowledge(actor=fresh(flood.harbor_people[1]), alert=alert)
    again = actions.acknowledge(actor=fresh(flood.harbor_people[1]), alert=alert)
    assert first.acknowledged_at == again.acknowledged_at
    summary = actions.rollup(alert)
    by_agency = {a["agency"]: a for a in summary["agencies"]}
    assert by_agency[flood.harbor.pk]["done"] and not by_agency[flood.pine.pk]["done"]
    assert (summary["agencies_done"], summary["agencies_total"]) == (1, 3)
    assert (summary["people_acknowledged"], summary["people_total"]) == (1, 6)
    with pytest.raises(PermissionDenied):
        actions.acknowledge(actor=fresh(flood.outsider), alert=alert)
    last = StreamEvent.objects.filter(stream=flood.incident.stream, kind="alert.acknowledged").get()
    assert last.data["rollup"]["people_acknowledged"] == 1


def test_agency_threshold(flood) -> None:  # type: ignore[no-untyped-def]
    alert = actions.send_alert(
        actor=fresh(flood.duty_officer), incident=flood.incident, body="Two per agency", agency_threshold=2
    )
    actions.acknowledge(actor=fresh(flood.harbor_people[0]), alert=alert)
    assert not {a["agency"]: a for a in actions.rollup(alert)["agencies"]}[flood.harbor.pk]["done"]
    actions.acknowledge(actor=fresh(flood.harbor_people[2]), alert=alert)
    assert {a["agency"]: a for a in actions.rollup(alert)["agencies"]}[flood.harbor.pk]["done"]


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="the SQLite test database is in memory with a shared cache, which refuses concurrent writers "
    "instead of waiting; the PostgreSQL lane runs this",
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_acknowledgements_are_counted_exactly_once() -> None:
    flood = build_flood()
    alert = actions.send_alert(actor=fresh(flood.duty_officer), incident=flood.incident, body="All at once")
    people = flood.harbor_people + flood.pine_people + [flood.water_person]
    barrier = threading.Barrier(len(people))
    errors: list[BaseException] = []

    def ack(person: User) -> None:
        try:
            barrier.wait(timeout=10)
            for _ in range(2):  # double clicks too
                actions.acknowledge(actor=fresh(person), alert=alert)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=ack, args=(p,)) for p in people]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert errors == []
    recount = AlertRecipient.objects.filter(alert=alert, acknowledged_at__isnull=False).count()
    assert recount == len(people) == actions.rollup(alert)["people_acknowledged"]
    acks = StreamEvent.objects.filter(stream=flood.incident.stream, kind="alert.acknowledged").order_by("seq")
    assert acks.count() == len(people)
    assert [e.data["rollup"]["people_acknowledged"] for e in acks] == list(range(1, len(people) + 1))


def test_reminders_and_escalation_on_a_controlled_clock(flood) -> None:  # type: ignore[no-untyped-def]
    alert = actions.send_alert(
        actor=fresh(flood.duty_officer),
        incident=flood.incident,
        body="Activate EOCs",
        remind_every=timedelta(minutes=5),
        escalate_after=timedelta(minutes=15),
    )
    actions.acknowledge(actor=fresh(flood.harbor_people[1]), alert=alert)
    sent = alert.sent_at
    assert actions.escalate_due(now=sent + timedelta(minutes=4)) == {"reminded": 0, "escalated": 0}
    assert actions.escalate_due(now=sent + timedelta(minutes=6))["reminded"] == 5
    assert actions.escalate_due(now=sent + timedelta(minutes=7))["reminded"] == 0  # once per interval
    result = actions.escalate_due(now=sent + timedelta(minutes=16))
    escalated = set(AlertEscalation.objects.filter(alert=alert).values_list("agency_id", flat=True))
    assert escalated == {flood.pine.pk, flood.water.pk} and result["escalated"] == 2
    assert flood.harbor.pk not in escalated  # acknowledged in time
    assert actions.escalate_due(now=sent + timedelta(minutes=30))["escalated"] == 0  # only once
    assert Notification.objects.filter(kind="alert.escalated", recipient=flood.pine_people[0]).exists()


def test_board_times_are_the_servers(flood) -> None:  # type: ignore[no-untyped-def]
    before = timezone.now()
    entry = actions.add_board_entry(
        actor=fresh(flood.harbor_people[1]),
        incident=flood.incident,
        kind=EntryKind.RESOURCE_REQUEST,
        text="20,000 sandbags",
    )
    assert entry.state == "requested" and entry.created_at >= before
    with pytest.raises(TypeError):
        actions.add_board_entry(  # type: ignore[call-arg]
            actor=fresh(flood.harbor_people[1]),
            incident=flood.incident,
            kind=EntryKind.SIGNIFICANT_EVENT,
            text="x",
            created_at=before - timedelta(days=1),
        )
    updated = actions.update_board_entry(actor=fresh(flood.duty_officer), entry=entry, state="en_route")
    assert updated.updated_at >= entry.updated_at and updated.created_at == entry.created_at
    assert [a.change for a in updated.activity.all()][-1] == {"state": ["requested", "en_route"]}
    with pytest.raises(PermissionDenied):
        actions.update_board_entry(actor=fresh(flood.pine_people[1]), entry=entry, text="hijack")
    with pytest.raises(PermissionDenied):
        actions.add_board_entry(actor=fresh(flood.water_person), incident=flood.incident, kind="event", text="x")
    with pytest.raises(ActionError):
        actions.update_board_entry(actor=fresh(flood.duty_officer), entry=entry, state="teleported")
    assert BoardEntry.objects.get(pk=entry.pk).state == "en_route"
