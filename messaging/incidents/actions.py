"""Write path for incidents: opening one, urgent alerts and their acknowledgements,
reminders and escalation, and the status board. Same rules as every action: policy first,
one transaction, audit, events and notifications only after commit."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Min, Q
from django.utils import timezone

from communities.models import Community
from communities.selectors import people_with_access
from messaging import actions as thread_actions
from messaging import events, markup
from messaging.incidents.models import (
    Alert,
    AlertEscalation,
    AlertRecipient,
    BoardActivity,
    BoardEntry,
    EntryKind,
    Incident,
    IncidentStatus,
    RequestState,
    Severity,
)
from messaging.notifications import agency_admins, notify
from workspace import audit, policy
from workspace.exceptions import ActionError
from workspace.models import Agency, User


def _url(incident: Incident) -> str:
    return f"/incidents/{incident.pk}/"


def participants(incident: Incident) -> list[User]:
    """Active people of the participating agencies who can read the incident's channel."""
    readers = people_with_access(incident.community).filter(membership__agency__in=incident.agencies.all())
    return list(readers)


def open_incident(
    *,
    actor: User,
    community: Community,
    name: str,
    kind: str,
    agencies: Iterable[Agency],
    severity: str = Severity.MODERATE,
    location: str = "",
    commander: User | None = None,
) -> Incident:
    """Open an incident in a community, with its channel restricted to the participating
    agencies (the actor's always among them), and tell their people."""
    policy.check(actor, "open_incident", community)
    name, kind = (name or "").strip(), (kind or "").strip()
    if not name:
        raise ActionError("Name the incident.", field="name")
    if not kind:
        raise ActionError("Say what kind of incident it is.", field="kind")
    if severity not in Severity.values:
        raise ActionError("Choose a severity.", field="severity")
    agencies = list(agencies)
    commander = commander or actor
    with transaction.atomic():
        thread = thread_actions.create_thread(
            actor=actor,
            community=community,
            title=name,
            body=f"Incident opened: **{name}** ({kind}, {Severity(severity).label.lower()}). {location}".strip(),
            restrict_to=agencies,
        )
        allowed = list(thread.allowed_agencies.all())
        if not policy.can(commander, "view", thread):
            raise ActionError("The incident commander must belong to a participating agency.", field="commander")
        incident = Incident.objects.create(
            community=community,
            name=name,
            kind=kind,
            severity=severity,
            location=location.strip(),
            commander=commander,
            thread=thread,
            created_by=actor,
        )
        incident.agencies.set(allowed)
        audit.record(
            actor=actor,
            verb="incident.opened",
            target=incident,
            details={"agencies": sorted(a.short_name for a in allowed), "severity": severity},
        )
        notify(
            [p for p in participants(incident) if p.pk != actor.pk],
            kind="incident.opened",
            title=f"Incident opened: {name}",
            body=f"{actor.full_name} ({actor.agency.short_name}) opened “{name}” ({kind}). {location}".strip(),
            url=_url(incident),
        )
    return incident


def set_status(*, actor: User, incident: Incident, status: str) -> Incident:
    policy.check(actor, "coordinate", incident)
    if status not in IncidentStatus.values:
        raise ActionError("Choose active, monitoring or closed.", field="status")
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if incident.status == status:
            return incident
        previous, incident.status = incident.status, status
        incident.save(update_fields=["status"])
        events.append(incident.stream, "incident.status", {"status": status, "previous": previous})
        audit.record(actor=actor, verb="incident.status", target=incident, details={"from": previous, "to": status})
    return incident


# --- Alerts -------------------------------------------------------------------------------


def rollup(alert: Alert) -> dict[str, Any]:
    """Who has acknowledged, per agency and in all, counted from the receipts (one query)."""
    rows = (
        AlertRecipient.objects.filter(alert=alert)
        .values("agency_id", "agency__short_name")
        .annotate(
            people=Count("pk"),
            acknowledged=Count("pk", filter=Q(acknowledged_at__isnull=False)),
            first_ack=Min("acknowledged_at"),
        )
        .order_by("agency__short_name")
    )
    agencies = []
    for row in rows:
        needed = min(alert.agency_threshold, row["people"])
        agencies.append(
            {
                "agency": row["agency_id"],
                "short_name": row["agency__short_name"],
                "people": row["people"],
                "acknowledged": row["acknowledged"],
                "done": row["acknowledged"] >= needed,
                "first_ack": row["first_ack"],
            }
        )
    return {
        "alert": alert.pk,
        "agencies": agencies,
        "agencies_done": sum(1 for a in agencies if a["done"]),
        "agencies_total": len(agencies),
        "people_acknowledged": sum(a["acknowledged"] for a in agencies),
        "people_total": sum(a["people"] for a in agencies),
    }


def _alert_data(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.pk,
        "incident": {"id": alert.incident_id, "name": alert.incident.name},
        "html": alert.body_html,
        "sent_by": {"id": alert.sent_by_id, "name": alert.sent_by.full_name},
        "sent_at": alert.sent_at,
    }


def send_alert(
    *,
    actor: User,
    incident: Incident,
    body: str,
    agency_threshold: int = 1,
    remind_every: timedelta | None = None,
    escalate_after: timedelta | None = None,
) -> Alert:
    """Send an urgent alert to every participating person; each must acknowledge."""
    policy.check(actor, "alert", incident)
    body = (body or "").strip()
    if not body:
        raise ActionError("Write the alert first.", field="body")
    if len(body) > 4000:
        raise ActionError("Keep alerts under 4,000 characters.", field="body")
    if not 1 <= agency_threshold <= 50:
        raise ActionError("An agency needs between 1 and 50 acknowledgements.", field="agency_threshold")
    if incident.status == IncidentStatus.CLOSED:
        raise ActionError("This incident is closed.")
    with transaction.atomic():
        alert = Alert.objects.create(
            incident=incident,
            body_source=body,
            body_html=markup.render(body),
            sent_by=actor,
            agency_threshold=agency_threshold,
            remind_every=remind_every or settings.ALERT_REMIND_EVERY,
            escalate_after=escalate_after or settings.ALERT_ESCALATE_AFTER,
        )
        people = [p for p in participants(incident) if p.pk != actor.pk]
        AlertRecipient.objects.bulk_create(
            [AlertRecipient(alert=alert, user=p, agency_id=p.membership.agency_id) for p in people]
        )
        data = _alert_data(alert)
        events.append_many([f"user:{p.pk}" for p in people], "alert.sent", data)
        events.append(incident.stream, "alert.sent", data | {"rollup": rollup(alert)})
        audit.record(
            actor=actor, verb="incident.alert_sent", target=incident, details={"alert": alert.pk, "people": len(people)}
        )
    return alert


def acknowledge(*, actor: User, alert: Alert) -> AlertRecipient:
    """One click, idempotent, timestamped by the server. Acknowledgements of one alert are
    taken one at a time (the alert row is locked), so every roll-up sent is exact."""
    with transaction.atomic():
        alert = Alert.objects.select_for_update().select_related("incident").get(pk=alert.pk)
        receipt = AlertRecipient.objects.filter(alert=alert, user=actor).first()
        if receipt is None or not actor.is_active:
            raise PermissionDenied("This alert was not sent to you.")
        if receipt.acknowledged_at is not None:
            return receipt
        receipt.acknowledged_at = timezone.now()
        receipt.save(update_fields=["acknowledged_at"])
        events.append(
            alert.incident.stream, "alert.acknowledged", {"alert": alert.pk, "user": actor.pk, "rollup": rollup(alert)}
        )
        events.append(f"user:{actor.pk}", "alert.acknowledged", {"alert": alert.pk})
    return receipt


def unacknowledged_alerts(user: User) -> list[Alert]:
    """Alerts still waiting for this person (the banner on every page)."""
    return list(
        Alert.objects.filter(
            recipients__user=user, recipients__acknowledged_at=None, incident__status__in=["active", "monitoring"]
        )
        .select_related("incident", "sent_by")
        .order_by("-sent_at")[:5]
    )


def escalate_due(now: datetime | None = None) -> dict[str, int]:
    """Remind people who have not acknowledged, and escalate agencies that have none after
    the alert's ``escalate_after``. Safe to run often: each escalation happens once, each
    reminder once per interval. ``now`` is a parameter so tests control the clock."""
    now = now or timezone.now()
    reminded = escalated = 0
    alerts = Alert.objects.filter(incident__status=IncidentStatus.ACTIVE).select_related("incident")
    for alert in alerts:
        with transaction.atomic():
            due = AlertRecipient.objects.filter(alert=alert, acknowledged_at=None).filter(
                Q(reminded_at__isnull=True, alert__sent_at__lte=now - alert.remind_every)
                | Q(reminded_at__lte=now - alert.remind_every)
            )
            people = [r.user for r in due.select_related("user")]
            if people:
                due.update(reminded_at=now)
                notify(
                    people,
                    kind="alert.reminder",
                    title=f"Please acknowledge: alert in {alert.incident.name}",
                    body=alert.body_source[:280],
                    url=_url(alert.incident),
                )
                reminded += len(people)
            if alert.sent_at > now - alert.escalate_after:
                continue
            summary = rollup(alert)
            already = set(AlertEscalation.objects.filter(alert=alert).values_list("agency_id", flat=True))
            late = [a["agency"] for a in summary["agencies"] if not a["done"] and a["agency"] not in already]
            for agency in Agency.objects.filter(pk__in=late):
                AlertEscalation.objects.create(alert=alert, agency=agency, escalated_at=now)
                notify(
                    agency_admins([agency]),
                    kind="alert.escalated",
                    title=f"No acknowledgement from {agency.short_name}: {alert.incident.name}",
                    body=f"Nobody at {agency.name} has acknowledged this alert since "
                    f"{timezone.localtime(alert.sent_at):%H:%M}:\n\n{alert.body_source[:500]}",
                    url=_url(alert.incident),
                )
                events.append(alert.incident.stream, "alert.escalated", {"alert": alert.pk, "agency": agency.pk})
                audit.record(actor=None, verb="incident.alert_escalated", target=alert.incident, agency=agency)
                escalated += 1
    return {"reminded": reminded, "escalated": escalated}


# --- The status board ---------------------------------------------------------------------


def _entry_data(entry: BoardEntry) -> dict[str, Any]:
    return {
        "id": entry.pk,
        "kind": entry.kind,
        "agency": {"id": entry.agency_id, "short_name": entry.agency.short_name},
        "author": {"id": entry.author_id, "name": entry.author.full_name},
        "text": entry.text,
        "state": entry.state,
        "created_at": entry.created_at,
        "updated_at": entry.updated_at,
    }


def add_board_entry(*, actor: User, incident: Incident, kind: str, text: str) -> BoardEntry:
    """A significant event, a resource request (starts as requested) or a status report."""
    policy.check(actor, "board", incident)
    if kind not in EntryKind.values:
        raise ActionError("Choose an entry type.", field="kind")
    text = (text or "").strip()
    if not text or len(text) > 2000:
        raise ActionError("Entries need 1 to 2,000 characters.", field="text")
    with transaction.atomic():
        entry = BoardEntry.objects.create(
            incident=incident,
            kind=kind,
            agency=actor.agency,
            author=actor,
            text=text,
            state=RequestState.REQUESTED if kind == EntryKind.RESOURCE_REQUEST else "",
        )
        BoardActivity.objects.create(entry=entry, actor=actor, change={"created": True, "text": text})
        events.append(incident.stream, "board.added", _entry_data(entry))
    return entry


def update_board_entry(
    *, actor: User, entry: BoardEntry, text: str | None = None, state: str | None = None
) -> BoardEntry:
    """Change an entry's text (its author's agency) or a request's state (coordinators and
    the requesting agency). Times are set here, from the server's clock."""
    incident = entry.incident
    policy.check(actor, "board", incident)
    own = actor.agency is not None and actor.agency.pk == entry.agency_id
    if not (own or policy.can(actor, "coordinate", incident)):
        raise PermissionDenied("Only the entry's agency or the coordinators can change it.")
    with transaction.atomic():
        entry = BoardEntry.objects.select_for_update().select_related("agency", "author").get(pk=entry.pk)
        change: dict[str, Any] = {}
        if text is not None:
            text = text.strip()
            if not text or len(text) > 2000:
                raise ActionError("Entries need 1 to 2,000 characters.", field="text")
            if text != entry.text:
                change["text"] = [entry.text, text]
                entry.text = text
        if state is not None:
            if entry.kind != EntryKind.RESOURCE_REQUEST or state not in RequestState.values:
                raise ActionError("Only resource requests have a state; choose a valid one.", field="state")
            if state != entry.state:
                change["state"] = [entry.state, state]
                entry.state = state
        if not change:
            return entry
        entry.updated_at = timezone.now()
        entry.save(update_fields=["text", "state", "updated_at"])
        BoardActivity.objects.create(entry=entry, actor=actor, change=change)
        events.append(incident.stream, "board.updated", _entry_data(entry) | {"change": sorted(change)})
    return entry
