"""Every incident route against every kind of person.

Non-participating agencies see nothing of the incident: a 404 on every route, exactly the
answer for an incident that does not exist. Observers read everything and acknowledge the
alerts sent to them, but cannot alert, change the status or write on the board (403).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.urls import reverse

from tests.incidents.conftest import LOGIN, ROLES, IncidentWorld, client_as, snapshot

MISSING = 987654


def _unmasked(html: bytes, url: str) -> bytes:
    # CSRF tokens are masked afresh in every response, and forms carry the page's own
    # address to come back to; nothing else may differ.
    html = html.replace(url.encode(), b"URL")
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", html)


@dataclass(frozen=True)
class Route:
    name: str
    url: Callable[[IncidentWorld, int], str]  # (world, incident id)
    expect: dict[str, int]
    method: str = "get"
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = set(ROLES) - set(self.expect)
        assert not missing, f"{self.name}: no expectation for {sorted(missing)}"

    def __str__(self) -> str:
        return self.name


def _incident(name: str) -> Callable[[IncidentWorld, int], str]:
    return lambda world, pk: reverse(name, args=[pk])


HIDDEN = {"outsider": 404, "nonmember": 404}
SIGNED_OUT = {"anonymous": LOGIN, "deactivated": LOGIN}
READ = {"coordinator": 200, "participant": 200, "observer": 200} | HIDDEN | SIGNED_OUT
COORDINATE = {"coordinator": 302, "participant": 403, "observer": 403} | HIDDEN | SIGNED_OUT
BOARD = {"coordinator": 302, "participant": 302, "observer": 403} | HIDDEN | SIGNED_OUT

ROUTES = [
    Route("incident page", _incident("incident_detail"), READ),
    Route("handoff page", _incident("incident_handoff"), READ),
    Route("handoff markdown", _incident("incident_handoff_markdown"), READ),
    Route("handoff json", _incident("incident_handoff_json"), READ),
    Route("timeline json", _incident("incident_timeline_json"), READ),
    Route("timeline csv", _incident("incident_timeline_csv"), READ),
    Route("send alert", _incident("incident_alert_send"), COORDINATE, "post", {"body": "Go", "agency_threshold": 1}),
    Route("set status", _incident("incident_status"), COORDINATE, "post", {"status": "monitoring"}),
    Route("add to board", _incident("incident_board_add"), BOARD, "post", {"kind": "event", "text": "Levee breach"}),
    Route(
        "update board entry",
        lambda world, pk: reverse("incident_board_update", args=[pk, world.entry.pk]),
        BOARD,
        "post",
        {"text": "25,000 sandbags", "state": "approved"},
    ),
    Route(
        "acknowledge",
        lambda world, pk: reverse("incident_alert_acknowledge", args=[pk, world.alert.pk]),
        # The sender was not sent their own alert; the observer was.
        {"coordinator": 403, "participant": 302, "observer": 302} | HIDDEN | SIGNED_OUT,
        "post",
    ),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_route_permissions(route: Route, role: str, iw: IncidentWorld) -> None:
    client = client_as(role, iw)
    before = snapshot(iw)
    response = getattr(client, route.method)(route.url(iw, iw.incident.pk), route.data)
    expected = route.expect[role]
    assert response.status_code == expected, f"{route.name} as {role}: {response.status_code}, expected {expected}"
    if expected == LOGIN and role in ("anonymous", "deactivated"):
        assert "/accounts/login/" in response["Location"]
    if expected in (403, 404) or role in ("anonymous", "deactivated"):
        assert snapshot(iw) == before, f"{route.name} as {role} was refused but changed something"


@pytest.mark.parametrize("role", ["outsider", "nonmember"])
@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_hidden_incident_answers_exactly_like_a_missing_one(route: Route, role: str, iw: IncidentWorld) -> None:
    client = client_as(role, iw)
    urls = route.url(iw, iw.incident.pk), route.url(iw, MISSING)
    hidden, missing = (getattr(client, route.method)(url, route.data) for url in urls)
    assert hidden.status_code == missing.status_code == 404
    assert _unmasked(hidden.content, urls[0]) == _unmasked(missing.content, urls[1])


@pytest.mark.parametrize("role", ["coordinator", "participant", "observer"])
def test_missing_ids_under_a_visible_incident_are_404(role: str, iw: IncidentWorld) -> None:
    client = client_as(role, iw)
    pk = iw.incident.pk
    assert client.post(reverse("incident_alert_acknowledge", args=[pk, MISSING])).status_code == 404
    # Observers may not write on the board at all: that answer comes first.
    board = 403 if role == "observer" else 404
    assert client.post(reverse("incident_board_update", args=[pk, MISSING]), {"text": "x"}).status_code == board


def test_list_shows_only_the_persons_incidents(iw: IncidentWorld) -> None:
    for role, sees in [("coordinator", True), ("participant", True), ("observer", True), ("outsider", False)]:
        response = client_as(role, iw).get(reverse("incident_list"))
        assert response.status_code == 200
        assert ("Easton River Flood" in response.content.decode()) is sees, role
    assert client_as("anonymous", iw).get(reverse("incident_list")).status_code == LOGIN
    assert client_as("deactivated", iw).get(reverse("incident_list")).status_code == LOGIN


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("anonymous", LOGIN),
        ("coordinator", 302),
        ("participant", 403),
        ("observer", 403),
        ("outsider", 403),
        ("nonmember", 403),
        ("deactivated", LOGIN),
    ],
)
def test_opening_an_incident(role: str, status: int, iw: IncidentWorld) -> None:
    client = client_as(role, iw)
    before = snapshot(iw)
    data = {
        "community": iw.flood.community.pk,
        "name": "Route 9 water main break",
        "kind": "water main break",
        "severity": "moderate",
        "agencies": [iw.flood.pine.pk],
    }
    response = client.post(reverse("incident_open"), data)
    assert response.status_code == status
    if role != "coordinator":
        assert snapshot(iw) == before
    else:
        opened = iw.incident.__class__.objects.get(name="Route 9 water main break")
        assert response["Location"] == reverse("incident_detail", args=[opened.pk])
        assert set(opened.agencies.values_list("pk", flat=True)) == {iw.flood.loem.pk, iw.flood.pine.pk}
