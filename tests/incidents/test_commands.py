"""The escalation runner and the demo incident."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from communities import demo as communities_demo
from messaging.incidents import actions, demo
from messaging.incidents.models import Alert, AlertEscalation, AlertRecipient, BoardEntry, Incident
from messaging.models import Notification
from tests.incidents.conftest import IncidentWorld
from tests.incidents.test_actions import fresh
from workspace import demo as workspace_demo


def backdate(alert: Alert, minutes: int) -> None:
    """The alert was sent ``minutes`` ago (instead of waiting that long)."""
    Alert.objects.filter(pk=alert.pk).update(sent_at=timezone.now() - timedelta(minutes=minutes))


def test_once_escalates_agencies_that_did_not_acknowledge(iw: IncidentWorld) -> None:
    actions.acknowledge(actor=fresh(iw.participant), alert=iw.alert)
    backdate(iw.alert, 20)
    out = io.StringIO()
    call_command("run_alert_escalations", "--once", stdout=out)
    escalated = set(AlertEscalation.objects.filter(alert=iw.alert).values_list("agency_id", flat=True))
    assert escalated == {iw.flood.pine.pk, iw.flood.water.pk}
    assert "escalated 2 agencies" in out.getvalue()
    assert Notification.objects.filter(kind="alert.escalated", recipient=iw.flood.pine_people[0]).exists()
    call_command("run_alert_escalations", "--once", stdout=(again := io.StringIO()))
    assert "escalated 0 agencies" in again.getvalue()


def test_dry_run_changes_nothing(iw: IncidentWorld) -> None:
    backdate(iw.alert, 20)
    out = io.StringIO()
    call_command("run_alert_escalations", "--once", "--dry-run", stdout=out)
    assert "escalated 3 agencies" in out.getvalue() and "Dry run" in out.getvalue()  # nobody acknowledged
    assert not AlertEscalation.objects.exists()
    assert not AlertRecipient.objects.exclude(reminded_at=None).exists()


# Between passes the loop closes stale connections, as a request would: that needs a real
# transaction, not the test's wrapping one.
@pytest.mark.django_db(transaction=True)
def test_the_loop_runs_a_pass_per_interval_until_stopped(iw: IncidentWorld, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    backdate(iw.alert, 20)
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr("messaging.management.commands.run_alert_escalations.time.sleep", sleep)
    out = io.StringIO()
    call_command("run_alert_escalations", "--interval", "30", stdout=out)
    assert sleeps == [30, 30]
    assert out.getvalue().count("reminded") == 2 and "Stopped." in out.getvalue()
    assert AlertEscalation.objects.filter(alert=iw.alert).count() == 3  # each agency once, not once per pass


@pytest.mark.parametrize("arguments", [["--dry-run"], ["--interval", "0"]])
def test_bad_arguments_are_clear_errors(db, arguments: list[str]) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CommandError):
        call_command("run_alert_escalations", *arguments, stdout=io.StringIO())


def test_demo_incident_is_idempotent_and_tells_the_story(db) -> None:  # type: ignore[no-untyped-def]
    for _ in range(2):
        workspace_demo.seed(io.StringIO())
        communities_demo.seed(io.StringIO())
        demo.seed(io.StringIO())
    incident = Incident.objects.get(name="Easton River Flood")
    assert (Incident.objects.count(), Alert.objects.count(), BoardEntry.objects.count()) == (1, 1, len(demo.BOARD))
    assert incident.commander.email == demo.DANA
    assert set(incident.agencies.values_list("slug", flat=True)) == {"loem", *demo.AGENCIES}
    receipts = AlertRecipient.objects.filter(alert__incident=incident)
    acknowledged = set(receipts.exclude(acknowledged_at=None).values_list("user__email", flat=True))
    assert acknowledged == set(demo.ACKNOWLEDGED_BY)
    assert receipts.filter(agency__slug="red-cedar-es", acknowledged_at=None).count() == 2
    request = BoardEntry.objects.get(kind="request")
    assert request.text.startswith("20,000 sandbags") and request.agency.slug == "easton-pw"
