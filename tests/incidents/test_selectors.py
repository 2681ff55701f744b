"""The read path agrees with the policy, roll-ups for a page equal the action's recount, and
the handoff and the after-action exports hold everything of one incident and nothing of
another."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import timedelta

import pytest
from django.urls import reverse

from communities import actions as community_actions
from messaging import actions as thread_actions
from messaging.incidents import actions, selectors
from messaging.incidents.models import AlertRecipient, BoardActivity, EntryKind, Incident
from messaging.models import Message
from tests.factories import PersonFactory
from tests.incidents.conftest import IncidentWorld, client_as
from tests.incidents.test_actions import fresh
from workspace import policy
from workspace.models import User


def everyone(iw: IncidentWorld) -> list[User]:
    return [fresh(u) for u in User.objects.filter(is_active=True)] + [iw.deactivated]


def test_incidents_for_user_is_the_policy_in_sql(iw: IncidentWorld) -> None:
    second = actions.open_incident(
        actor=fresh(iw.coordinator), community=iw.flood.community, name="Spill", kind="hazmat", agencies=[iw.flood.pine]
    )
    # Harbor's admin names who takes part: its other staff lose the community, and so the incidents.
    harbor_admin = fresh(iw.flood.harbor_people[0])
    community_actions.set_participants(actor=harbor_admin, community=iw.flood.community, people=[iw.participant])
    for person in everyone(iw):
        listed = set(selectors.incidents_for_user(person).values_list("pk", flat=True))
        allowed = {i.pk for i in (iw.incident, second) if person.is_active and policy.can(person, "view", i)}
        assert listed == allowed, person
    assert not policy.can(fresh(iw.flood.harbor_people[2]), "view", iw.incident)


def test_incidents_are_listed_active_first(iw: IncidentWorld) -> None:
    later = actions.open_incident(
        actor=fresh(iw.coordinator), community=iw.flood.community, name="Later", kind="fire", agencies=[iw.flood.harbor]
    )
    actions.set_status(actor=fresh(iw.coordinator), incident=later, status="monitoring")
    newest = actions.open_incident(
        actor=fresh(iw.coordinator),
        community=iw.flood.community,
        name="Newest",
        kind="fire",
        agencies=[iw.flood.harbor],
    )
    actions.set_status(actor=fresh(iw.coordinator), incident=newest, status="closed")
    names = [i.name for i in selectors.incidents_for_user(fresh(iw.participant))]
    assert names == ["Easton River Flood", "Later", "Newest"]


def test_communities_to_open_incident_is_the_policy_in_sql(iw: IncidentWorld) -> None:
    for person in everyone(iw):
        listed = set(selectors.communities_to_open_incident(person).values_list("pk", flat=True))
        allowed = {iw.flood.community.pk} if policy.can(person, "open_incident", iw.flood.community) else set()
        assert listed == allowed, person
    assert selectors.communities_to_open_incident(fresh(iw.coordinator)).exists()


def test_page_rollups_equal_the_actions_recount(iw: IncidentWorld) -> None:
    second = actions.send_alert(
        actor=fresh(iw.coordinator),
        incident=iw.incident,
        body="Two each",
        agency_threshold=2,
        escalate_after=timedelta(minutes=1),
    )
    for person in iw.flood.harbor_people[:2] + [iw.flood.pine_people[0]]:
        actions.acknowledge(actor=fresh(person), alert=second)
    actions.acknowledge(actor=fresh(iw.observer), alert=iw.alert)
    actions.escalate_due(now=second.sent_at + timedelta(minutes=2))
    batched = selectors.rollups([iw.alert, second])
    for alert, due in ((iw.alert, False), (second, True)):
        escalated = {row["agency"]: row.pop("escalated_at") for row in batched[alert.pk]["agencies"]}
        assert batched[alert.pk] == actions.rollup(alert)
        late = {a["agency"] for a in actions.rollup(alert)["agencies"] if not a["done"]}
        assert {a for a, at in escalated.items() if at} == (late if due else set())
    assert {a["agency"] for a in actions.rollup(second)["agencies"] if a["done"]} == {iw.flood.harbor.pk}


def test_handoff_has_events_alerts_waiting_people_open_requests_and_latest_status(iw: IncidentWorld) -> None:
    harbor, pine = fresh(iw.participant), fresh(iw.flood.pine_people[0])
    actions.add_board_entry(actor=harbor, incident=iw.incident, kind=EntryKind.STATUS_REPORT, text="EOC level 3")
    actions.add_board_entry(actor=harbor, incident=iw.incident, kind=EntryKind.STATUS_REPORT, text="EOC level 2")
    actions.add_board_entry(actor=pine, incident=iw.incident, kind=EntryKind.SIGNIFICANT_EVENT, text="Bridge closed")
    delivered = actions.add_board_entry(actor=pine, incident=iw.incident, kind=EntryKind.RESOURCE_REQUEST, text="Pumps")
    actions.update_board_entry(actor=fresh(iw.coordinator), entry=delivered, state="delivered")
    actions.acknowledge(actor=harbor, alert=iw.alert)

    summary = selectors.handoff(iw.incident)
    assert [e.text for e in summary.significant_events] == ["Bridge closed"]
    assert [e.text for e in summary.open_requests] == ["20,000 sandbags"]
    status = {row.agency.pk: row.report.text if row.report else None for row in summary.agency_status}
    assert status == {iw.flood.harbor.pk: "EOC level 2"} | dict.fromkeys(
        [iw.flood.pine.pk, iw.flood.water.pk, iw.flood.loem.pk]
    )
    (item,) = summary.alerts
    waiting = {w.name for w in item.waiting_people}
    expected = set(
        AlertRecipient.objects.filter(alert=iw.alert, acknowledged_at=None).values_list("user__full_name", flat=True)
    )
    assert waiting == expected and harbor.full_name not in waiting
    assert sorted(item.waiting_agencies) == sorted([iw.flood.pine.short_name, iw.flood.water.short_name])

    client = client_as("observer", iw)
    markdown = client.get(reverse("incident_handoff_markdown", args=[iw.incident.pk]))
    assert markdown["Content-Type"] == "text/markdown; charset=utf-8"
    assert "attachment" in markdown["Content-Disposition"]
    text = markdown.content.decode()
    assert "## Significant events" in text and "Bridge closed" in text and "Pumps" not in text.split("## Open")[1]
    data = json.loads(client.get(reverse("incident_handoff_json", args=[iw.incident.pk])).content)
    assert data["open_resource_requests"][0]["text"] == "20,000 sandbags"
    assert {w["name"] for w in data["alerts"][0]["people_waiting"]} == expected
    html = client.get(reverse("incident_handoff", args=[iw.incident.pk])).content.decode()
    assert "Not acknowledged:" in html and "EOC level 2" in html and "EOC level 3" not in html


@pytest.fixture
def busy(iw: IncidentWorld) -> tuple[IncidentWorld, Incident]:
    """Everything that can happen in the flood, and a second incident with its own."""
    coordinator, harbor = fresh(iw.coordinator), fresh(iw.participant)
    thread = iw.incident.thread
    kept = thread_actions.post_message(actor=harbor, thread=thread, body="=cmd|' /C calc'!A0", client_id=uuid.uuid4())
    edited = thread_actions.post_message(actor=harbor, thread=thread, body="Crest at 14 ft", client_id=uuid.uuid4())
    thread_actions.edit_message(actor=harbor, message=edited.message, body="Crest at 15 ft")
    gone = thread_actions.post_message(actor=harbor, thread=thread, body="Wrong county SECRET", client_id=uuid.uuid4())
    thread_actions.delete_message(actor=harbor, message=gone.message)
    actions.acknowledge(actor=harbor, alert=iw.alert)
    actions.escalate_due(now=iw.alert.sent_at + timedelta(hours=1))
    actions.update_board_entry(actor=coordinator, entry=iw.entry, state="en_route")
    actions.set_status(actor=coordinator, incident=iw.incident, status="monitoring")
    del kept

    other = actions.open_incident(
        actor=coordinator, community=iw.flood.community, name="Other fire", kind="fire", agencies=[iw.flood.pine]
    )
    pine = fresh(iw.flood.pine_people[0])
    other_alert = actions.send_alert(actor=coordinator, incident=other, body="OTHER-ALERT")
    actions.acknowledge(actor=pine, alert=other_alert)
    actions.add_board_entry(actor=pine, incident=other, kind="event", text="OTHER-BOARD")
    thread_actions.post_message(actor=pine, thread=other.thread, body="OTHER-MESSAGE", client_id=uuid.uuid4())
    return iw, other


def test_after_action_export_holds_everything_of_the_incident_and_nothing_else(busy) -> None:  # type: ignore[no-untyped-def]
    iw, other = busy
    client = client_as("coordinator", iw)
    response = client.get(reverse("incident_timeline_json", args=[iw.incident.pk]))
    assert response["Content-Type"] == "application/json; charset=utf-8"
    data = json.loads(response.content)
    kinds = [e["kind"] for e in data["events"]]
    messages = Message.objects.filter(thread=iw.incident.thread)
    assert kinds.count("message") == messages.count() == 4  # the opening message, and three
    assert kinds.count("message.deleted") == 1 and kinds.count("message.edited") == 1
    assert kinds.count("alert.sent") == 1 and kinds.count("alert.escalated") == 2
    acks = AlertRecipient.objects.filter(alert__incident=iw.incident).exclude(acknowledged_at=None).count()
    assert kinds.count("alert.acknowledged") == acks == 1
    board_changes = BoardActivity.objects.filter(entry__incident=iw.incident).count()
    assert kinds.count("board.added") + kinds.count("board.updated") == board_changes == 2
    assert kinds.count("incident.opened") == 1 and kinds.count("incident.status") == 1
    assert [e["at"] for e in data["events"]] == sorted(e["at"] for e in data["events"])
    dumped = response.content.decode()
    assert "SECRET" not in dumped  # a deleted message is a marker, never its text
    assert "Crest at 15 ft" in dumped
    for marker in ("OTHER-ALERT", "OTHER-BOARD", "OTHER-MESSAGE", "Other fire"):
        assert marker not in dumped

    csv_response = client.get(reverse("incident_timeline_csv", args=[iw.incident.pk]))
    assert csv_response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(csv_response.content.decode())))
    assert [r["kind"] for r in rows] == kinds
    assert "'=cmd|' /C calc'!A0" in [r["text"] for r in rows]  # not a formula for a spreadsheet
    assert not any(str(v).startswith(("=", "+", "-", "@")) for r in rows for v in r.values())
    text = csv_response.content.decode()
    for marker in ("OTHER-ALERT", "OTHER-BOARD", "OTHER-MESSAGE", "SECRET"):
        assert marker not in text

    other_data = json.loads(client.get(reverse("incident_timeline_json", args=[other.pk])).content)
    assert "Activate EOCs" not in json.dumps(other_data) and "OTHER-ALERT" in json.dumps(other_data)


def test_exports_are_only_for_the_incidents_people(busy) -> None:  # type: ignore[no-untyped-def]
    iw, other = busy
    observer = client_as("observer", iw)  # Tri-County observes the flood, not the fire
    assert observer.get(reverse("incident_timeline_csv", args=[iw.incident.pk])).status_code == 200
    assert observer.get(reverse("incident_timeline_csv", args=[other.pk])).status_code == 404
    newcomer = PersonFactory(agency=iw.flood.outsider_agency)
    observer.force_login(newcomer)
    assert observer.get(reverse("incident_timeline_json", args=[iw.incident.pk])).status_code == 404
