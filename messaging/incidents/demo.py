"""Demo incident of the State of Lakeland (docs/scenarios.md, the spring flood), written
through the actions. Idempotent: what exists is looked up by name or text, never doubled.

LOEM's duty officer opens "Easton River Flood" and alerts every agency; Harbor and Pine
acknowledge, Red Cedar (its manager in the field) and the others have not yet. The board
holds Easton Public Works' sandbag request, the library shelter and status reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TextIO

from communities.models import Community
from messaging.incidents import actions
from messaging.incidents.models import Alert, AlertRecipient, BoardEntry, EntryKind, Incident, Severity
from workspace.models import Agency, User

COMMUNITY = "lakeland-emergency-coordination"
NAME = "Easton River Flood"
DANA = "dana.whitfield@loem.lakeland.example"
AGENCIES = ("harbor-em", "pine-em", "easton-pw", "red-cedar-es", "tri-county-water")
ALERT = "Activate EOCs, report status by 18:00"
ACKNOWLEDGED_BY = ("jordan.reyes@em.harborcounty.example", "rita.alvarez@em.pinecounty.example")


@dataclass(frozen=True)
class DemoEntry:
    author: str  # email
    kind: str
    text: str


BOARD = [
    DemoEntry(
        "frank.novak@publicworks.easton.example",
        EntryKind.RESOURCE_REQUEST,
        "20,000 sandbags for the Easton riverfront, delivered to the Mill Street yard.",
    ),
    DemoEntry(
        DANA,
        EntryKind.SIGNIFICANT_EVENT,
        "Shelter at the Easton library opens at 20:00 for residents of the river flats (120 cots).",
    ),
    DemoEntry(
        "jordan.reyes@em.harborcounty.example",
        EntryKind.STATUS_REPORT,
        "Harbor County EOC activated (level 2). Two shelters on standby; no evacuations yet.",
    ),
    DemoEntry(
        "rita.alvarez@em.pinecounty.example",
        EntryKind.STATUS_REPORT,
        "Pine County EOC activated. Road crews pre-staged at the Route 9 bridge.",
    ),
]


def _person(email: str) -> User:
    return User.objects.select_related("membership__agency").get(email=email)


def seed(out: TextIO) -> None:
    community = Community.objects.get(slug=COMMUNITY)
    dana = _person(DANA)
    incident = Incident.objects.filter(community=community, name=NAME).first()
    if incident is None:
        incident = actions.open_incident(
            actor=dana,
            community=community,
            name=NAME,
            kind="Flood",
            severity=Severity.SEVERE,
            location="Easton River, from the Route 9 bridge to the Mill Street dam",
            agencies=list(Agency.objects.filter(slug__in=AGENCIES)),
        )
        out.write(f"  incident {NAME}\n")

    alert = Alert.objects.filter(incident=incident, body_source=ALERT).first()
    if alert is None:
        alert = actions.send_alert(actor=_person(DANA), incident=incident, body=ALERT)
        out.write(f"  alert “{ALERT}”\n")
    for email in ACKNOWLEDGED_BY:
        person = _person(email)
        if AlertRecipient.objects.filter(alert=alert, user=person, acknowledged_at=None).exists():
            actions.acknowledge(actor=person, alert=alert)

    for demo in BOARD:
        if not BoardEntry.objects.filter(incident=incident, text=demo.text).exists():
            actions.add_board_entry(actor=_person(demo.author), incident=incident, kind=demo.kind, text=demo.text)
