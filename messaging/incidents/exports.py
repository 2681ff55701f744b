"""The shift handoff and the after-action timeline as files: Markdown, JSON and CSV.

Built from ``messaging.incidents.selectors`` (handoff, timeline); nothing here queries.
CSV cells that a spreadsheet would run as formulas are neutralized, as in the audit export.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from messaging.incidents.models import BoardEntry, Incident
from messaging.incidents.selectors import Handoff, TimelineEntry

TIMELINE_COLUMNS = ("at", "kind", "actor", "agency", "subject", "text", "details")


def _local(at: datetime | None) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M") if at else ""


def _one_line(text: str) -> str:
    # A list item in Markdown ends at a line break: keep each entry on its line.
    return " ".join(text.split())


def incident_data(incident: Incident, agencies: list[Any]) -> dict[str, Any]:
    commander = incident.commander
    return {
        "id": incident.pk,
        "name": incident.name,
        "kind": incident.kind,
        "severity": incident.severity,
        "status": incident.status,
        "location": incident.location,
        "community": incident.community.name,
        "commander": {"name": commander.full_name, "agency": commander.agency.short_name if commander.agency else ""},
        "agencies": [a.short_name for a in agencies],
        "opened_at": incident.created_at,
    }


def _entry(entry: BoardEntry) -> dict[str, Any]:
    return {
        "id": entry.pk,
        "kind": entry.kind,
        "agency": entry.agency.short_name,
        "author": entry.author.full_name,
        "text": entry.text,
        "state": entry.state,
        "created_at": entry.created_at,
        "updated_at": entry.updated_at,
    }


def handoff_data(summary: Handoff) -> dict[str, Any]:
    """The handoff as plain data (the JSON download)."""
    period = summary.period
    return {
        "incident": incident_data(summary.incident, summary.agencies),
        "generated_at": summary.generated_at,
        "operational_period": (
            {"label": period.label, "starts_at": period.starts_at, "ends_at": period.ends_at} if period else None
        ),
        "significant_events": [_entry(e) for e in summary.significant_events],
        "alerts": [
            {
                "id": item.alert.pk,
                "text": item.alert.body_source,
                "sent_by": item.alert.sent_by.full_name,
                "sent_at": item.alert.sent_at,
                "agencies_acknowledged": item.rollup["agencies_done"],
                "agencies_total": item.rollup["agencies_total"],
                "people_acknowledged": item.rollup["people_acknowledged"],
                "people_total": item.rollup["people_total"],
                "agencies_waiting": item.waiting_agencies,
                "people_waiting": [{"name": w.name, "agency": w.agency} for w in item.waiting_people],
            }
            for item in summary.alerts
        ],
        "open_resource_requests": [_entry(e) for e in summary.open_requests],
        "agency_status": [
            {"agency": row.agency.short_name, "report": _entry(row.report) if row.report else None}
            for row in summary.agency_status
        ],
    }


def to_json(data: dict[str, Any]) -> str:
    return json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False)


def handoff_markdown(summary: Handoff) -> str:
    """The handoff as a Markdown document, for the next shift's notes."""
    incident = summary.incident
    lines = [
        f"# Shift handoff: {incident.name}",
        "",
        f"- Status: {incident.get_status_display()}, severity {incident.get_severity_display().lower()}",
        f"- Type: {incident.kind}",
    ]
    if incident.location:
        lines.append(f"- Location: {_one_line(incident.location)}")
    lines += [
        f"- Commander: {incident.commander.full_name}",
        f"- Agencies: {', '.join(a.short_name for a in summary.agencies)}",
        f"- Prepared: {_local(summary.generated_at)}",
    ]
    if summary.period:
        period = summary.period
        lines.append(f"- Operational period: {period.label} ({_local(period.starts_at)} to {_local(period.ends_at)})")

    lines += ["", "## Significant events", ""]
    lines += [
        f"- {_local(e.created_at)} {e.agency.short_name}: {_one_line(e.text)}" for e in summary.significant_events
    ] or ["None recorded."]

    lines += ["", "## Alerts", ""]
    if not summary.alerts:
        lines.append("No alerts sent.")
    for item in summary.alerts:
        rollup = item.rollup
        lines.append(
            f"- {_local(item.alert.sent_at)} from {item.alert.sent_by.full_name}: {_one_line(item.alert.body_source)}"
        )
        lines.append(
            f"  - Acknowledged by {rollup['agencies_done']} of {rollup['agencies_total']} agencies, "
            f"{rollup['people_acknowledged']} of {rollup['people_total']} people"
        )
        if item.waiting_agencies:
            lines.append(f"  - Agencies waiting: {', '.join(item.waiting_agencies)}")
        if item.waiting_people:
            names = ", ".join(f"{w.name} ({w.agency})" for w in item.waiting_people)
            lines.append(f"  - Not acknowledged: {names}")

    lines += ["", "## Open resource requests", ""]
    lines += [
        f"- {e.agency.short_name}: {_one_line(e.text)} ({e.get_state_display().lower()}, since {_local(e.created_at)})"
        for e in summary.open_requests
    ] or ["None open."]

    lines += ["", "## Status by agency", ""]
    for row in summary.agency_status:
        if row.report:
            lines.append(f"- {row.agency.short_name} ({_local(row.report.created_at)}): {_one_line(row.report.text)}")
        else:
            lines.append(f"- {row.agency.short_name}: no status report yet")
    return "\n".join(lines) + "\n"


def timeline_data(incident: Incident, agencies: list[Any], entries: list[TimelineEntry]) -> dict[str, Any]:
    """The after-action record as plain data (the JSON download)."""
    return {
        "incident": incident_data(incident, agencies),
        "exported_at": timezone.now(),
        "events": [
            {
                "at": e.at,
                "kind": e.kind,
                "actor": e.actor,
                "agency": e.agency,
                "subject": e.subject,
                "text": e.text,
                "details": e.details,
            }
            for e in entries
        ],
    }


def csv_safe(value: str) -> str:
    """Spreadsheet programs run cells that start with these as formulas."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def timeline_csv(entries: list[TimelineEntry]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(TIMELINE_COLUMNS)
    for e in entries:
        details = json.dumps(e.details, cls=DjangoJSONEncoder, sort_keys=True, ensure_ascii=False)
        writer.writerow(
            [
                e.at.isoformat(),
                e.kind,
                csv_safe(e.actor),
                csv_safe(e.agency),
                e.subject,
                csv_safe(e.text),
                csv_safe(details),
            ]
        )
    return out.getvalue()
