"""Incident pages cost the same number of queries for a few rows or many.

Each ceiling is the count measured when the test was written: a new query on one of these
pages should be a decision, not an accident.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from messaging import actions as thread_actions
from messaging.incidents import actions
from messaging.incidents.models import Alert, BoardEntry, EntryKind, Incident
from tests.incidents.conftest import IncidentWorld, client_as
from tests.incidents.test_actions import fresh


def queries_for(client, url: str) -> int:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


def grow_incident(iw: IncidentWorld) -> Callable[[int], None]:
    """Up to ``total`` alerts and board entries (of every kind, half of them acknowledged or
    updated), and as many channel messages."""

    def grow(total: int) -> None:
        coordinator, harbor = fresh(iw.coordinator), fresh(iw.participant)
        kinds = list(EntryKind.values)
        for n in range(Alert.objects.filter(incident=iw.incident).count(), total):
            alert = actions.send_alert(actor=coordinator, incident=iw.incident, body=f"Alert {n}")
            if n % 2:
                actions.acknowledge(actor=harbor, alert=alert)
        for n in range(BoardEntry.objects.filter(incident=iw.incident).count(), total):
            entry = actions.add_board_entry(actor=harbor, incident=iw.incident, kind=kinds[n % 3], text=f"Entry {n}")
            if n % 2:
                actions.update_board_entry(actor=harbor, entry=entry, text=f"Entry {n}, updated")
            thread_actions.post_message(actor=harbor, thread=iw.incident.thread, body=f"{n}", client_id=uuid.uuid4())

    return grow


# Session, person, their membership and agency, unread COUNT, alert banner; the incident,
# the community grants (2), participation (once per policy question: view, coordinate,
# board, alert); seq, agencies, alerts, roll-ups, escalations, own receipts, board COUNT
# and rows.
INCIDENT_PAGE_CEILINGS = {"coordinator": 21, "participant": 21, "observer": 21}


@pytest.mark.parametrize("role", list(INCIDENT_PAGE_CEILINGS))
def test_incident_page_query_count_does_not_grow(iw: IncidentWorld, role: str) -> None:
    client = client_as(role, iw)
    url = reverse("incident_detail", args=[iw.incident.pk])
    grow = grow_incident(iw)
    grow(3)
    small = queries_for(client, url)
    grow(30)
    large = queries_for(client, url)
    assert Alert.objects.filter(incident=iw.incident).count() == BoardEntry.objects.count() == 30
    assert small == large, f"incident page as {role}: {small} queries with 3 alerts and entries, {large} with 30"
    assert large <= INCIDENT_PAGE_CEILINGS[role], large


EXPORT_CEILINGS = {
    "incident_handoff": 17,
    "incident_handoff_markdown": 15,
    "incident_handoff_json": 15,
    "incident_timeline_json": 16,
    "incident_timeline_csv": 15,
}


@pytest.mark.parametrize("name", list(EXPORT_CEILINGS))
def test_handoff_and_exports_query_count_does_not_grow(iw: IncidentWorld, name: str) -> None:
    client = client_as("observer", iw)
    url = reverse(name, args=[iw.incident.pk])
    grow = grow_incident(iw)
    grow(3)
    small = queries_for(client, url)
    grow(30)
    large = queries_for(client, url)
    assert small == large, f"{name}: {small} queries for 3 alerts and entries, {large} for 30"
    assert large <= EXPORT_CEILINGS[name], large


LIST_CEILING = 14


def test_incident_list_query_count_does_not_grow(iw: IncidentWorld) -> None:
    def grow(total: int) -> None:
        coordinator = fresh(iw.coordinator)
        for n in range(Incident.objects.count(), total):
            agencies = [iw.flood.harbor, iw.flood.pine][: 1 + n % 2]
            actions.open_incident(
                actor=coordinator, community=iw.flood.community, name=f"Incident {n}", kind="flood", agencies=agencies
            )

    client = client_as("coordinator", iw)  # with the form to open one
    url = reverse("incident_list")
    grow(3)
    small = queries_for(client, url)
    grow(30)
    large = queries_for(client, url)
    assert small == large, f"incident list: {small} queries for 3 incidents, {large} for 30"
    assert large <= LIST_CEILING, large
