"""The incident pages at work: roll-ups, alerts, acknowledging from any page, the board
(whose times no client input sets), the status, and the alert banner on every page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from messaging import events
from messaging.incidents import actions, selectors
from messaging.incidents.models import Alert, AlertRecipient, BoardActivity, BoardEntry, EntryKind
from tests.factories import PersonFactory
from tests.incidents.conftest import IncidentWorld, client_as
from tests.incidents.test_actions import fresh

LONG_AGO = "2001-01-01T00:00:00+00:00"


def page(client, url: str) -> str:  # type: ignore[no-untyped-def]
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_incident_page_shows_the_rollup_per_agency(iw: IncidentWorld) -> None:
    actions.acknowledge(actor=fresh(iw.participant), alert=iw.alert)
    html = page(client_as("coordinator", iw), reverse("incident_detail", args=[iw.incident.pk]))
    # Harbor (3 people, one acknowledged), Pine (2), Tri-County (1), LOEM: nobody else there.
    summary = actions.rollup(iw.alert)
    assert (summary["agencies_done"], summary["agencies_total"]) == (1, 3)
    assert "1 of 3 agencies</strong>, 1 of 7 people acknowledged" in html
    assert f'class="rollup-agency is-done" data-agency="{iw.flood.harbor.pk}"' in html
    assert f'class="rollup-agency is-waiting" data-agency="{iw.flood.pine.pk}"' in html
    assert "Send an urgent alert" in html and "Change status" in html


@pytest.mark.parametrize(
    ("role", "alert_form", "board_form", "status_form"),
    [("coordinator", True, True, True), ("participant", False, True, False), ("observer", False, False, False)],
)
def test_forms_are_offered_to_those_who_may_use_them(
    iw: IncidentWorld, role: str, alert_form: bool, board_form: bool, status_form: bool
) -> None:
    html = page(client_as(role, iw), reverse("incident_detail", args=[iw.incident.pk]))
    assert ("Send an urgent alert" in html) is alert_form
    assert ("Add to the board" in html) is board_form
    assert ("Change status" in html) is status_form


def test_the_channel_is_linked_when_the_threads_pages_exist(iw: IncidentWorld) -> None:
    html = page(client_as("participant", iw), reverse("incident_detail", args=[iw.incident.pk]))
    try:
        thread_url = reverse("thread_detail", args=[iw.incident.thread_id])
    except NoReverseMatch:
        assert "Open the incident's channel" not in html
    else:
        assert f'href="{thread_url}"' in html


def test_sending_an_alert_by_form(iw: IncidentWorld) -> None:
    client = client_as("coordinator", iw)
    url = reverse("incident_alert_send", args=[iw.incident.pk])
    response = client.post(url, {"body": "Crest moved up to 14:00", "agency_threshold": 2, "escalate_minutes": 20})
    assert response.status_code == 302 and response["Location"].endswith("#alerts")
    alert = Alert.objects.latest("pk")
    assert (alert.body_source, alert.agency_threshold, alert.escalate_after) == (
        "Crest moved up to 14:00",
        2,
        timedelta(minutes=20),
    )
    refused = client.post(url, {"body": "   ", "agency_threshold": 1})
    assert refused.status_code == 400 and Alert.objects.count() == 2


def test_acknowledging_from_another_page_returns_there_and_is_idempotent(iw: IncidentWorld) -> None:
    client = client_as("participant", iw)
    url = reverse("incident_alert_acknowledge", args=[iw.incident.pk, iw.alert.pk])
    first = client.post(url, {"next": "/communities/"})
    assert first.status_code == 302 and first["Location"] == "/communities/"
    at = AlertRecipient.objects.get(alert=iw.alert, user=iw.participant).acknowledged_at
    assert at is not None
    again = client.post(url, {"next": "https://elsewhere.example/"})  # never an open redirect
    assert again["Location"] == reverse("incident_detail", args=[iw.incident.pk]) + "#alerts"
    assert AlertRecipient.objects.get(alert=iw.alert, user=iw.participant).acknowledged_at == at


def test_board_times_cannot_be_set_by_a_client(iw: IncidentWorld) -> None:
    client = client_as("participant", iw)
    before = timezone.now()
    client.post(
        reverse("incident_board_add", args=[iw.incident.pk]),
        {"kind": EntryKind.SIGNIFICANT_EVENT, "text": "Levee breach at mile 4", "created_at": LONG_AGO},
        HTTP_DATE="Mon, 01 Jan 2001 00:00:00 GMT",
    )
    entry = BoardEntry.objects.get(text="Levee breach at mile 4")
    assert entry.created_at >= before and entry.updated_at >= before

    created = iw.entry.created_at
    client.post(
        reverse("incident_board_update", args=[iw.incident.pk, iw.entry.pk]),
        {"text": "22,000 sandbags", "state": "approved"} | dict.fromkeys(("created_at", "updated_at", "at"), LONG_AGO),
    )
    entry = BoardEntry.objects.get(pk=iw.entry.pk)
    assert (entry.text, entry.state) == ("22,000 sandbags", "approved")
    assert entry.created_at == created and entry.updated_at >= before
    assert all(a.at >= before for a in BoardActivity.objects.filter(entry=entry).order_by("pk")[1:])


def test_only_the_entrys_agency_or_a_coordinator_changes_it(iw: IncidentWorld) -> None:
    pine = client_as("participant", iw)
    pine.force_login(iw.flood.pine_people[1])
    url = reverse("incident_board_update", args=[iw.incident.pk, iw.entry.pk])
    assert pine.post(url, {"text": "Hijacked"}).status_code == 403
    assert BoardEntry.objects.get(pk=iw.entry.pk).text == "20,000 sandbags"
    html = page(pine, reverse("incident_detail", args=[iw.incident.pk]))
    assert reverse("incident_board_update", args=[iw.incident.pk, iw.entry.pk]) not in html
    html = page(client_as("participant", iw), reverse("incident_detail", args=[iw.incident.pk]))
    assert reverse("incident_board_update", args=[iw.incident.pk, iw.entry.pk]) in html


def test_a_state_only_for_resource_requests(iw: IncidentWorld) -> None:
    client = client_as("coordinator", iw)
    event = actions.add_board_entry(actor=fresh(iw.coordinator), incident=iw.incident, kind="event", text="Shelter")
    response = client.post(reverse("incident_board_update", args=[iw.incident.pk, event.pk]), {"state": "approved"})
    assert response.status_code == 302
    assert BoardEntry.objects.get(pk=event.pk).state == ""


def test_closing_the_incident_hides_its_alerts_from_the_banner(iw: IncidentWorld) -> None:
    person = client_as("participant", iw)
    assert "Activate EOCs" in page(person, reverse("dashboard"))
    coordinator = client_as("coordinator", iw)
    response = coordinator.post(reverse("incident_status", args=[iw.incident.pk]), {"status": "closed"})
    assert response.status_code == 302
    assert "Activate EOCs" not in page(person, reverse("dashboard"))
    html = page(client_as("coordinator", iw), reverse("incident_detail", args=[iw.incident.pk]))
    assert "Send an urgent alert" not in html and "Closed" in html


def test_opening_form_refuses_agencies_outside_the_community(iw: IncidentWorld) -> None:
    client = client_as("coordinator", iw)
    html = page(client, reverse("incident_list"))
    assert "Open an incident" in html
    stranger = iw.nonmember.membership.agency
    response = client.post(
        reverse("incident_open"),
        {"community": iw.flood.community.pk, "name": "Spill", "kind": "hazmat", "agencies": [stranger.pk]},
    )
    assert response.status_code == 400
    assert "Open an incident" not in page(client_as("participant", iw), reverse("incident_list"))


# --- The banner on every page ---------------------------------------------------------------


def test_an_offline_person_sees_the_alert_on_their_next_page(iw: IncidentWorld) -> None:
    """Sent while they were away: the next page they open, whatever it is, carries it with
    a one-click acknowledgement, and the seq their script subscribes from."""
    client = client_as("observer", iw)
    for url in (reverse("dashboard"), reverse("community_directory"), reverse("notification_list")):
        html = page(client, url)
        banner = html[html.index('id="alert-banner"') : html.index('id="alert-banner-template"')]
        assert 'role="alert"' in banner and "Activate EOCs" in banner and "hidden" not in banner.split(">")[0]
        assert reverse("incident_alert_acknowledge", args=[iw.incident.pk, iw.alert.pk]) in banner
        assert f'name="next" value="{url}"' in banner
        assert f'data-seq="{events.current_seq(f"user:{iw.observer.pk}")}"' in banner
    client.post(reverse("incident_alert_acknowledge", args=[iw.incident.pk, iw.alert.pk]))
    html = page(client, reverse("dashboard"))
    assert "Activate EOCs" not in html
    assert re.search(r'id="alert-banner"[^>]* hidden>', html)


def test_the_banner_lists_what_unacknowledged_alerts_lists(iw: IncidentWorld) -> None:
    person = fresh(iw.participant)
    second = actions.send_alert(actor=fresh(iw.coordinator), incident=iw.incident, body="Second")
    listed = [a.pk for a in actions.unacknowledged_alerts(person)]
    assert [a.id for a in selectors.alert_banner(person).alerts] == listed
    assert [a.id for a in selectors.alert_banner(person).alerts] == [second.pk, iw.alert.pk]
    actions.acknowledge(actor=person, alert=second)
    assert [a.id for a in selectors.alert_banner(person).alerts] == [iw.alert.pk]
    nobody = fresh(iw.outsider)
    assert selectors.alert_banner(nobody).alerts == [] == actions.unacknowledged_alerts(nobody)
    assert selectors.alert_banner(nobody).seq == 0
    assert selectors.alert_banner(person).seq == events.current_seq(f"user:{person.pk}") == 3


def test_the_banner_costs_one_query_and_none_when_signed_out(iw: IncidentWorld) -> None:
    for role in ("participant", "outsider"):
        with CaptureQueriesContext(connection) as ctx:
            client_as(role, iw).get(reverse("dashboard"))
        touching = [q["sql"] for q in ctx.captured_queries if "messaging_alertrecipient" in q["sql"]]
        assert len(touching) == 1, role
    with CaptureQueriesContext(connection) as ctx:
        client_as("anonymous", iw).get(reverse("login"))
    assert not [q for q in ctx.captured_queries if "messaging_alertrecipient" in q["sql"]]
    html = page(client_as("anonymous", iw), reverse("login"))
    assert "alert-banner" not in html and "alerts.js" not in html


def test_scripts_are_files_not_inline(iw: IncidentWorld) -> None:
    html = page(client_as("participant", iw), reverse("incident_detail", args=[iw.incident.pk]))
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S)
    assert {re.search(r'src="([^"]+)"', attrs).group(1).rsplit("/", 1)[-1] for attrs, _ in scripts} >= {  # type: ignore[union-attr]
        "socket.js",
        "alerts.js",
        "incident.js",
    }
    assert all(body.strip() == "" and "defer" in attrs for attrs, body in scripts)


def test_people_joining_later_were_not_sent_earlier_alerts(iw: IncidentWorld) -> None:
    newcomer = PersonFactory(agency=iw.flood.harbor)
    client = client_as("participant", iw)
    client.force_login(newcomer)
    html = page(client, reverse("incident_detail", args=[iw.incident.pk]))
    assert "Activate EOCs" in text_of(html)  # they read it on the incident page
    response = client.post(reverse("incident_alert_acknowledge", args=[iw.incident.pk, iw.alert.pk]))
    assert response.status_code == 403
