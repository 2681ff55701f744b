"""Read path for incidents: querysets already filtered to what the person may see, the
page's alerts with their roll-ups in a fixed number of queries, the alert banner of every
page, and the data of the shift handoff and the after-action timeline.

The conditions of ``incidents_for_user`` are the policy's (``workspace.policy``, Incident
"view"), written once more in SQL so a list costs the same for three incidents or three
hundred. ``access_*`` helpers answer 404 both for "does not exist" and "you may not see it".
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import (
    Case,
    Count,
    F,
    FilteredRelation,
    IntegerField,
    Min,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.http import Http404
from django.utils import timezone

from communities.models import Community, CommunityGroupObjectPermission, CommunityUserObjectPermission
from messaging.incidents.models import (
    Alert,
    AlertEscalation,
    AlertRecipient,
    BoardActivity,
    BoardEntry,
    EntryKind,
    Incident,
    IncidentStatus,
    OperationalPeriod,
    RequestState,
)
from messaging.models import Message, MessageRevision, StreamCursor
from workspace import policy
from workspace.models import Agency, AuditEvent, User

# Alerts still wait for acknowledgement while their incident is not closed.
OPEN_STATUSES = (IncidentStatus.ACTIVE, IncidentStatus.MONITORING)
# Resource requests in these states need nothing more from anyone.
SETTLED_REQUESTS = (RequestState.DELIVERED, RequestState.CANCELLED)
# How many unacknowledged alerts the banner lists (the oldest wait on the incident page).
BANNER_SIZE = 5


def _granted_communities(user: User, codename: str) -> Q:
    """Communities where the person holds ``codename``, through an agency group or by name."""
    groups = User.groups.through.objects.filter(user_id=user.pk).values("group_id")
    via_group = CommunityGroupObjectPermission.objects.filter(
        permission__codename=codename, group_id__in=groups
    ).values("content_object_id")
    named = CommunityUserObjectPermission.objects.filter(permission__codename=codename, user_id=user.pk).values(
        "content_object_id"
    )
    return Q(pk__in=via_group) | Q(pk__in=named)


def _signed_in_agency(user: User) -> Agency | None:
    if not (user.is_authenticated and user.is_active):
        return None
    return user.agency


# --- Lists and access -----------------------------------------------------------------------


def incidents_for_user(user: User, community: Community | None = None) -> QuerySet[Incident]:
    """Incidents the person may see: their agency takes part and they read the community.
    Active ones first, then monitoring, then closed; newest first within each."""
    agency = _signed_in_agency(user)
    if agency is None:
        return Incident.objects.none()
    readable = Community.objects.filter(_granted_communities(user, "view_content")).values("pk")
    incidents = Incident.objects.filter(agencies=agency, community__in=readable)
    if community is not None:
        incidents = incidents.filter(community=community)
    return (
        incidents.select_related("community", "commander", "commander__membership__agency")
        .prefetch_related(Prefetch("agencies", queryset=Agency.objects.order_by("short_name")))
        .annotate(
            status_rank=Case(
                When(status=IncidentStatus.ACTIVE, then=Value(0)),
                When(status=IncidentStatus.MONITORING, then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            )
        )
        .order_by("status_rank", "-created_at", "-pk")
    )


def communities_to_open_incident(user: User) -> QuerySet[Community]:
    """Active communities where the person may open an incident (Community "open_incident":
    they moderate it and their agency may post there), by name."""
    if _signed_in_agency(user) is None:
        return Community.objects.none()
    return (
        Community.objects.filter(is_archived=False)
        .filter(_granted_communities(user, "post"))
        .filter(_granted_communities(user, "moderate"))
        .order_by("name")
    )


def member_agencies_by_community(communities: list[Community]) -> dict[int, list[Agency]]:
    """The member agencies of each community, by name (one query), to choose who takes part."""
    found: dict[int, list[Agency]] = {c.pk: [] for c in communities}
    rows = Agency.objects.filter(community_memberships__community__in=communities).annotate(
        member_of=F("community_memberships__community_id")
    )
    for agency in rows.order_by("name"):
        found[agency.member_of].append(agency)  # type: ignore[attr-defined]
    return found


def access_incident(user: User, incident_id: int, action: str = "view") -> Incident:
    """An incident the person may see, with its community, commander and channel; 404 for
    one that does not exist and for one they may not see alike. Seeing it but lacking
    ``action`` is 403."""
    incident = (
        Incident.objects.select_related("community", "commander", "commander__membership__agency", "thread")
        .filter(pk=incident_id)
        .first()
    )
    if incident is None or not policy.can(user, "view", incident):
        raise Http404("No such incident.")
    if action != "view" and not policy.can(user, action, incident):
        raise PermissionDenied("You may not do that in this incident.")
    return incident


def access_alert(incident: Incident, alert_id: int) -> Alert:
    """An alert of an incident already authorized, or 404."""
    alert = Alert.objects.filter(pk=alert_id, incident=incident).first()
    if alert is None:
        raise Http404("No such alert.")
    alert.incident = incident
    return alert


def access_board_entry(incident: Incident, entry_id: int) -> BoardEntry:
    """A board entry of an incident already authorized, or 404."""
    entry = BoardEntry.objects.select_related("agency", "author").filter(pk=entry_id, incident=incident).first()
    if entry is None:
        raise Http404("No such board entry.")
    entry.incident = incident
    return entry


def agencies_of(incident: Incident) -> list[Agency]:
    return list(incident.agencies.order_by("name"))


# --- Alerts and their roll-ups ----------------------------------------------------------------


def rollups(alerts: list[Alert]) -> dict[int, dict[str, Any]]:
    """``actions.rollup`` for many alerts at once (one query): per agency and in all, who
    has acknowledged, counted from the receipts. Each agency row also says when it was
    escalated, if it was (one more query)."""
    ids = [alert.pk for alert in alerts]
    rows = (
        AlertRecipient.objects.filter(alert_id__in=ids)
        .values("alert_id", "agency_id", "agency__short_name")
        .annotate(
            people=Count("pk"),
            acknowledged=Count("pk", filter=Q(acknowledged_at__isnull=False)),
            first_ack=Min("acknowledged_at"),
        )
        .order_by("alert_id", "agency__short_name")
    )
    escalated = {
        (alert_id, agency_id): at
        for alert_id, agency_id, at in AlertEscalation.objects.filter(alert_id__in=ids).values_list(
            "alert_id", "agency_id", "escalated_at"
        )
    }
    threshold = {alert.pk: alert.agency_threshold for alert in alerts}
    per_alert: dict[int, list[dict[str, Any]]] = {alert_id: [] for alert_id in ids}
    for row in rows:
        needed = min(threshold[row["alert_id"]], row["people"])
        per_alert[row["alert_id"]].append(
            {
                "agency": row["agency_id"],
                "short_name": row["agency__short_name"],
                "people": row["people"],
                "acknowledged": row["acknowledged"],
                "done": row["acknowledged"] >= needed,
                "first_ack": row["first_ack"],
                "escalated_at": escalated.get((row["alert_id"], row["agency_id"])),
            }
        )
    return {
        alert_id: {
            "alert": alert_id,
            "agencies": agencies,
            "agencies_done": sum(1 for a in agencies if a["done"]),
            "agencies_total": len(agencies),
            "people_acknowledged": sum(a["acknowledged"] for a in agencies),
            "people_total": sum(a["people"] for a in agencies),
        }
        for alert_id, agencies in per_alert.items()
    }


@dataclass(frozen=True)
class AlertRow:
    """An alert on the incident page: its roll-up and where the viewer stands.

    ``receipt`` is "none" (not sent to the viewer), "pending" or "acknowledged";
    ``acknowledged_at`` is set for the last.
    """

    alert: Alert
    rollup: dict[str, Any]
    receipt: str
    acknowledged_at: datetime | None = None


def alerts_of_incident(user: User, incident: Incident, limit: int = 20) -> list[AlertRow]:
    """The latest ``limit`` alerts of an incident with their roll-ups and the viewer's own
    receipts, in a fixed number of queries (alerts, roll-ups, escalations, receipts)."""
    alerts = list(Alert.objects.filter(incident=incident).select_related("sent_by").order_by("-sent_at", "-pk")[:limit])
    if not alerts:
        return []
    summaries = rollups(alerts)
    mine = dict(AlertRecipient.objects.filter(alert__in=alerts, user=user).values_list("alert_id", "acknowledged_at"))
    rows = []
    for alert in alerts:
        alert.incident = incident
        receipt = "none" if alert.pk not in mine else "pending" if mine[alert.pk] is None else "acknowledged"
        rows.append(AlertRow(alert, summaries[alert.pk], receipt, mine.get(alert.pk)))
    return rows


def board_of_incident(incident: Incident) -> QuerySet[BoardEntry]:
    """The status board, newest first, with each entry's agency and author."""
    entries = BoardEntry.objects.filter(incident=incident).select_related("agency", "author")
    return entries.order_by("-created_at", "-pk")


# --- The banner on every page -------------------------------------------------------------------


@dataclass(frozen=True)
class BannerAlert:
    id: int
    incident_id: int
    incident_name: str
    body_html: str
    sent_by: str
    sent_at: datetime


@dataclass(frozen=True)
class AlertBanner:
    """The person's unacknowledged alerts, and the seq of their own stream when they were
    read: the page's script subscribes from there, so an alert sent between the query and
    the subscription is replayed, never missed."""

    seq: int
    alerts: list[BannerAlert] = field(default_factory=list)


def alert_banner(user: User) -> AlertBanner:
    """What ``actions.unacknowledged_alerts`` answers, plus the person's stream seq, in ONE
    query: the person's own row, left-joined to their open receipts (so there is a row, and
    a seq, even with no alert waiting)."""
    seq = StreamCursor.objects.filter(stream=f"user:{user.pk}").values("seq")[:1]
    rows = (
        User.objects.filter(pk=user.pk)
        .annotate(
            stream_seq=Subquery(seq),
            waiting=FilteredRelation("alert_receipts", condition=Q(alert_receipts__acknowledged_at=None)),
            open_incident=FilteredRelation(
                "waiting__alert__incident", condition=Q(waiting__alert__incident__status__in=OPEN_STATUSES)
            ),
            closed=Case(When(open_incident__isnull=True, then=Value(1)), default=Value(0), output_field=IntegerField()),
        )
        .order_by("closed", F("waiting__alert__sent_at").desc(nulls_last=True), F("waiting__alert_id").desc())
        .values_list(
            "stream_seq",
            "closed",
            "waiting__alert_id",
            "open_incident__id",
            "open_incident__name",
            "waiting__alert__body_html",
            "waiting__alert__sent_by__full_name",
            "waiting__alert__sent_at",
        )[:BANNER_SIZE]
    )
    alerts: list[BannerAlert] = []
    stream_seq = 0
    for stream_seq_value, closed, alert_id, incident_id, name, html, sent_by, sent_at in rows:
        stream_seq = stream_seq_value or 0
        if alert_id is not None and not closed:
            alerts.append(BannerAlert(alert_id, incident_id, name, html, sent_by, sent_at))
    return AlertBanner(seq=stream_seq, alerts=alerts)


# --- Shift handoff ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Waiting:
    name: str
    agency: str


@dataclass(frozen=True)
class HandoffAlert:
    alert: Alert
    rollup: dict[str, Any]
    waiting_agencies: list[str]
    waiting_people: list[Waiting]


@dataclass(frozen=True)
class AgencyStatus:
    agency: Agency
    report: BoardEntry | None


@dataclass(frozen=True)
class Handoff:
    """What the next shift needs: significant events, alerts and who has not acknowledged
    them, open resource requests, and the latest status report of each agency."""

    incident: Incident
    generated_at: datetime
    period: OperationalPeriod | None
    agencies: list[Agency]
    significant_events: list[BoardEntry]
    alerts: list[HandoffAlert]
    open_requests: list[BoardEntry]
    agency_status: list[AgencyStatus]


def handoff(incident: Incident, now: datetime | None = None) -> Handoff:
    """The shift handoff of an incident, in a fixed number of queries."""
    now = now or timezone.now()
    agencies = agencies_of(incident)
    period = (
        OperationalPeriod.objects.filter(incident=incident, starts_at__lte=now).order_by("-starts_at", "-pk").first()
    )
    entries = list(
        BoardEntry.objects.filter(incident=incident).select_related("agency", "author").order_by("created_at", "pk")
    )
    latest_status: dict[int, BoardEntry] = {}
    for entry in entries:
        entry.incident = incident
        if entry.kind == EntryKind.STATUS_REPORT:
            latest_status[entry.agency_id] = entry  # oldest first: the last one wins
    alerts = list(Alert.objects.filter(incident=incident).select_related("sent_by").order_by("sent_at", "pk"))
    summaries = rollups(alerts)
    waiting: dict[int, list[Waiting]] = defaultdict(list)
    pending = (
        AlertRecipient.objects.filter(alert__incident=incident, acknowledged_at=None)
        .select_related("user", "agency")
        .order_by("agency__short_name", "user__full_name", "user_id")
    )
    for receipt in pending:
        waiting[receipt.alert_id].append(Waiting(receipt.user.full_name, receipt.agency.short_name))
    return Handoff(
        incident=incident,
        generated_at=now,
        period=period,
        agencies=agencies,
        significant_events=[e for e in entries if e.kind == EntryKind.SIGNIFICANT_EVENT],
        alerts=[
            HandoffAlert(
                alert=alert,
                rollup=summaries[alert.pk],
                waiting_agencies=[a["short_name"] for a in summaries[alert.pk]["agencies"] if not a["done"]],
                waiting_people=waiting.get(alert.pk, []),
            )
            for alert in alerts
        ],
        open_requests=[e for e in entries if e.kind == EntryKind.RESOURCE_REQUEST and e.state not in SETTLED_REQUESTS],
        agency_status=[AgencyStatus(agency, latest_status.get(agency.pk)) for agency in agencies],
    )


# --- After-action timeline -------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    """One thing that happened in an incident, for the record."""

    at: datetime
    kind: str
    actor: str
    agency: str
    subject: str
    text: str
    details: dict[str, Any]


def _name(user: User | None) -> str:
    return user.full_name if user is not None else "system"


def timeline(incident: Incident) -> list[TimelineEntry]:
    """Everything that happened in an incident, oldest first, in a fixed number of queries:
    its opening and status changes, every message of its channel (deleted ones as markers,
    without their text; edits as markers), alerts, acknowledgements, escalations and every
    change to the board."""
    found: list[TimelineEntry] = []
    audit = (
        AuditEvent.objects.filter(
            target_type=Incident._meta.label_lower,
            target_id=str(incident.pk),
            verb__in=["incident.opened", "incident.status"],
        )
        .select_related("actor", "actor_agency")
        .order_by("created_at", "pk")
    )
    for event in audit:
        found.append(
            TimelineEntry(
                at=event.created_at,
                kind=event.verb,
                actor=_name(event.actor),
                agency=event.actor_agency.short_name if event.actor_agency else "",
                subject=f"incident {incident.pk}",
                text="",
                details=event.details,
            )
        )

    messages = Message.objects.filter(thread_id=incident.thread_id).select_related(
        "author", "author_agency", "deleted_by"
    )
    for message in messages.order_by("created_at", "pk"):
        deleted = message.deleted_at is not None
        found.append(
            TimelineEntry(
                at=message.created_at,
                kind="message",
                actor=message.author.full_name,
                agency=message.author_agency.short_name,
                subject=f"message {message.pk}",
                text="" if deleted else message.body_source,
                details={"message": message.pk, "reply_to": message.reply_to_id, "deleted": deleted},
            )
        )
        if deleted:
            found.append(
                TimelineEntry(
                    at=message.deleted_at,  # type: ignore[arg-type]
                    kind="message.deleted",
                    actor=_name(message.deleted_by),
                    agency="",
                    subject=f"message {message.pk}",
                    text="",
                    details={"message": message.pk},
                )
            )
    revisions = MessageRevision.objects.filter(message__thread_id=incident.thread_id).select_related("replaced_by")
    for revision in revisions.order_by("replaced_at", "pk"):
        found.append(
            TimelineEntry(
                at=revision.replaced_at,
                kind="message.edited",
                actor=_name(revision.replaced_by),
                agency="",
                subject=f"message {revision.message_id}",
                text="",
                details={"message": revision.message_id},
            )
        )

    alerts = Alert.objects.filter(incident=incident).select_related("sent_by__membership__agency")
    for alert in alerts.annotate(recipients_count=Count("recipients")).order_by("sent_at", "pk"):
        sender_agency = alert.sent_by.agency
        found.append(
            TimelineEntry(
                at=alert.sent_at,
                kind="alert.sent",
                actor=alert.sent_by.full_name,
                agency=sender_agency.short_name if sender_agency else "",
                subject=f"alert {alert.pk}",
                text=alert.body_source,
                details={
                    "alert": alert.pk,
                    "recipients": alert.recipients_count,  # type: ignore[attr-defined]
                    "agency_threshold": alert.agency_threshold,
                },
            )
        )
    acknowledged = (
        AlertRecipient.objects.filter(alert__incident=incident, acknowledged_at__isnull=False)
        .select_related("user", "agency")
        .order_by("acknowledged_at", "pk")
    )
    for receipt in acknowledged:
        found.append(
            TimelineEntry(
                at=receipt.acknowledged_at,  # type: ignore[arg-type]
                kind="alert.acknowledged",
                actor=receipt.user.full_name,
                agency=receipt.agency.short_name,
                subject=f"alert {receipt.alert_id}",
                text="",
                details={"alert": receipt.alert_id},
            )
        )
    escalations = AlertEscalation.objects.filter(alert__incident=incident).select_related("agency")
    for escalation in escalations.order_by("escalated_at", "pk"):
        found.append(
            TimelineEntry(
                at=escalation.escalated_at,
                kind="alert.escalated",
                actor="system",
                agency=escalation.agency.short_name,
                subject=f"alert {escalation.alert_id}",
                text="",
                details={"alert": escalation.alert_id},
            )
        )

    activity = BoardActivity.objects.filter(entry__incident=incident).select_related(
        "actor__membership__agency", "entry"
    )
    for change in activity.order_by("at", "pk"):
        created = bool(change.change.get("created"))
        text = change.change.get("text", "")
        actor_agency = change.actor.agency
        found.append(
            TimelineEntry(
                at=change.at,
                kind="board.added" if created else "board.updated",
                actor=change.actor.full_name,
                agency=actor_agency.short_name if actor_agency else "",
                subject=f"board entry {change.entry_id}",
                text=text if created else (text[1] if isinstance(text, list) else ""),
                details={"entry": change.entry_id, "entry_kind": change.entry.kind, "change": change.change},
            )
        )
    found.sort(key=lambda entry: entry.at)
    return found
