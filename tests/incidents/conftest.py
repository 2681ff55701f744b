"""The flood incident seen by every kind of person, for the pages and the socket.

Built on ``build_flood`` (tests/incidents/test_actions.py): LOEM's duty officer commands
"Easton River Flood" with Harbor and Pine taking part and Tri-County Water observing; a
fifth agency is a member of the community but not of the incident. Besides: an agency that
is not in the community at all, and a Harbor person deactivated mid-session. The duty
officer has sent one alert, and Harbor has a resource request on the board.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from messaging.incidents import actions
from messaging.incidents.models import (
    Alert,
    AlertRecipient,
    BoardActivity,
    BoardEntry,
    EntryKind,
    Incident,
)
from tests.factories import AgencyFactory, PersonFactory
from tests.incidents.test_actions import Flood, build_flood, fresh
from workspace import actions as workspace_actions
from workspace.models import User

ROLES = ("anonymous", "coordinator", "participant", "observer", "outsider", "nonmember", "deactivated")
LOGIN = 302


@dataclass
class IncidentWorld:
    flood: Flood
    incident: Incident
    alert: Alert
    entry: BoardEntry
    coordinator: User
    participant: User
    observer: User
    outsider: User  # their agency is in the community, not in the incident
    nonmember: User  # their agency is not in the community
    deactivated: User

    def person(self, role: str) -> User | None:
        return None if role == "anonymous" else getattr(self, role)


def build_world() -> IncidentWorld:
    flood = build_flood()
    deactivated = PersonFactory(agency=flood.harbor, full_name="Sam Keller")
    alert = actions.send_alert(actor=fresh(flood.duty_officer), incident=flood.incident, body="Activate EOCs")
    entry = actions.add_board_entry(
        actor=fresh(flood.harbor_people[1]),
        incident=flood.incident,
        kind=EntryKind.RESOURCE_REQUEST,
        text="20,000 sandbags",
    )
    return IncidentWorld(
        flood=flood,
        incident=flood.incident,
        alert=alert,
        entry=entry,
        coordinator=flood.duty_officer,
        participant=flood.harbor_people[1],
        observer=flood.water_person,
        outsider=flood.outsider,
        nonmember=PersonFactory(agency=AgencyFactory(), full_name="Nora Quist"),
        deactivated=deactivated,
    )


@pytest.fixture
def iw(db) -> IncidentWorld:  # type: ignore[no-untyped-def]
    return build_world()


def client_as(role: str, world: IncidentWorld) -> Client:
    """A client signed in as ``role``; ``deactivated`` signs in, then loses their account."""
    client = Client()
    if role == "anonymous":
        return client
    client.force_login(world.person(role))
    if role == "deactivated":
        workspace_actions.deactivate_staff(actor=fresh(world.flood.harbor_people[0]), member=world.deactivated)
    return client


def snapshot(world: IncidentWorld) -> tuple[Any, ...]:
    """Everything an incident route could change."""
    return (
        Incident.objects.count(),
        list(Incident.objects.order_by("pk").values_list("pk", "status")),
        Alert.objects.count(),
        sorted(AlertRecipient.objects.values_list("pk", "acknowledged_at")),
        sorted(BoardEntry.objects.values_list("pk", "text", "state", "created_at", "updated_at")),
        BoardActivity.objects.count(),
    )
