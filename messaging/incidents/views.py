"""Incident pages. Each view parses input, calls one action or selector, renders.

Every route reaches its incident through ``selectors.access_incident``: an incident the
person may not see (their agency does not take part, or they no longer read its
community) is a 404, exactly like one that does not exist; what they see but may not do
(an observer sending an alert) is a 403. ``ActionError`` is shown next to the form field
(status 400) or, for buttons, as a page message after a redirect.

Everything works without JavaScript; ``static/js/incident.js`` adds the live roll-ups,
board and presence roster over the tab's socket, on top of the same markup.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from messaging import events
from messaging.incidents import actions, exports, selectors
from messaging.incidents.forms import (
    AcknowledgeForm,
    AlertForm,
    BoardEntryForm,
    BoardUpdateForm,
    OpenIncidentForm,
    StatusForm,
)
from messaging.incidents.models import EntryKind, Incident, IncidentStatus, RequestState
from workspace import policy
from workspace.exceptions import ActionError
from workspace.web import back, form_error, paginate

INCIDENTS_PAGE_SIZE = 25
BOARD_PAGE_SIZE = 50
ALERTS_SHOWN = 20


def _to(incident: Incident, anchor: str = "") -> HttpResponse:
    return redirect(reverse("incident_detail", args=[incident.pk]) + (f"#{anchor}" if anchor else ""))


def _thread_url(incident: Incident) -> str:
    # The channel's own page, where the threads app provides one.
    try:
        return reverse("thread_detail", args=[incident.thread_id])
    except NoReverseMatch:
        return ""


def _download(content: str, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=f"{content_type}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- The person's incidents, and opening one ------------------------------------------------


def _open_form(request: HttpRequest, data: dict | None = None) -> OpenIncidentForm | None:  # type: ignore[type-arg]
    communities = list(selectors.communities_to_open_incident(request.user))
    if not communities:
        return None
    members = selectors.member_agencies_by_community(communities)
    return OpenIncidentForm(data, communities=communities, members=members, own=request.user.agency)


def _render_list(request: HttpRequest, form: OpenIncidentForm | None, status: int = 200) -> HttpResponse:
    page = paginate(request, selectors.incidents_for_user(request.user), INCIDENTS_PAGE_SIZE)
    return render(request, "incidents/list.html", {"page": page, "form": form}, status=status)


@login_required
@require_GET
def incident_list(request: HttpRequest) -> HttpResponse:
    return _render_list(request, _open_form(request))


@login_required
@require_POST
def incident_open(request: HttpRequest) -> HttpResponse:
    form = _open_form(request, request.POST)
    if form is None:
        raise PermissionDenied("Only moderators of a community your agency posts in can open an incident.")
    if form.is_valid():
        data = form.cleaned_data
        try:
            incident = actions.open_incident(
                actor=request.user,
                community=data["community"],
                name=data["name"],
                kind=data["kind"],
                severity=data["severity"],
                location=data["location"],
                agencies=list(data["agencies"]),
            )
        except ActionError as exc:
            form_error(form, exc)
        else:
            messages.success(request, f"{incident.name} is open. The participating agencies were notified.")
            return _to(incident)
    return _render_list(request, form, status=400)


# --- One incident -----------------------------------------------------------------------------


def _render_incident(
    request: HttpRequest,
    incident: Incident,
    *,
    alert_form: AlertForm | None = None,
    board_form: BoardEntryForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    # The seq first, then the content: an event committed in between is both on the page
    # and replayed to the live client, which applies it once (by id), never zero times.
    seq = events.current_seq(incident.stream)
    may_coordinate = policy.can(user, "coordinate", incident)
    may_board = policy.can(user, "board", incident)
    agency = user.agency
    board = paginate(request, selectors.board_of_incident(incident), BOARD_PAGE_SIZE, param="board_page")
    for entry in board.object_list:
        entry.may_edit = may_board and (may_coordinate or (agency is not None and entry.agency_id == agency.pk))
    context = {
        "incident": incident,
        "community": incident.community,
        "agencies": selectors.agencies_of(incident),
        "seq": seq,
        "alerts": selectors.alerts_of_incident(user, incident, limit=ALERTS_SHOWN),
        "board": board,
        "may_alert": policy.can(user, "alert", incident),
        "may_board": may_board,
        "may_coordinate": may_coordinate,
        "alert_form": alert_form or AlertForm(),
        "board_form": board_form or BoardEntryForm(),
        "status_form": StatusForm(initial={"status": incident.status}),
        "request_states": RequestState.choices,
        "kind_labels": json.dumps(dict(EntryKind.choices)),
        "state_labels": json.dumps(dict(RequestState.choices)),
        "request_kind": EntryKind.RESOURCE_REQUEST,
        "thread_url": _thread_url(incident),
        "closed": incident.status == IncidentStatus.CLOSED,
    }
    return render(request, "incidents/detail.html", context, status=status)


@login_required
@require_GET
def incident_detail(request: HttpRequest, incident_id: int) -> HttpResponse:
    return _render_incident(request, selectors.access_incident(request.user, incident_id))


@login_required
@require_POST
def alert_send(request: HttpRequest, incident_id: int) -> HttpResponse:
    incident = selectors.access_incident(request.user, incident_id, "alert")
    form = AlertForm(request.POST)
    if form.is_valid():
        try:
            actions.send_alert(
                actor=request.user,
                incident=incident,
                body=form.cleaned_data["body"],
                agency_threshold=form.cleaned_data["agency_threshold"],
                escalate_after=form.escalate_after,
            )
        except ActionError as exc:
            form_error(form, exc)
        else:
            messages.success(request, "The alert is sent. Acknowledgements appear below as they come in.")
            return _to(incident, "alerts")
    return _render_incident(request, incident, alert_form=form, status=400)


def _next_page(target: str) -> str | None:
    # Only a path on this site: the form must not become an open redirect.
    if target.startswith("/") and url_has_allowed_host_and_scheme(target, allowed_hosts=None):
        return target
    return None


@login_required
@require_POST
def alert_acknowledge(request: HttpRequest, incident_id: int, alert_id: int) -> HttpResponse:
    """One click from the banner on any page, or from the incident page; idempotent."""
    incident = selectors.access_incident(request.user, incident_id)
    alert = selectors.access_alert(incident, alert_id)
    receipt = actions.acknowledge(actor=request.user, alert=alert)  # not sent to you: 403
    at = timezone.localtime(receipt.acknowledged_at)
    messages.success(request, f"You acknowledged the alert in {incident.name} at {at:%H:%M}.")
    form = AcknowledgeForm(request.POST)
    target = _next_page(form.cleaned_data["next"]) if form.is_valid() else None
    return redirect(target) if target else _to(incident, "alerts")


@login_required
@require_POST
def incident_status(request: HttpRequest, incident_id: int) -> HttpResponse:
    incident = selectors.access_incident(request.user, incident_id, "coordinate")
    form = StatusForm(request.POST)
    if not form.is_valid():
        return back(request, "incident_detail", incident.pk, exc=ActionError("Choose active, monitoring or closed."))
    updated = actions.set_status(actor=request.user, incident=incident, status=form.cleaned_data["status"])
    ok = f"{incident.name} is {updated.get_status_display().lower()}."
    return back(request, "incident_detail", incident.pk, ok=ok)


@login_required
@require_POST
def board_add(request: HttpRequest, incident_id: int) -> HttpResponse:
    incident = selectors.access_incident(request.user, incident_id, "board")
    form = BoardEntryForm(request.POST)
    if form.is_valid():
        try:
            actions.add_board_entry(actor=request.user, incident=incident, **form.cleaned_data)
        except ActionError as exc:
            form_error(form, exc)
        else:
            messages.success(request, "Added to the board.")
            return _to(incident, "board")
    return _render_incident(request, incident, board_form=form, status=400)


@login_required
@require_POST
def board_update(request: HttpRequest, incident_id: int, entry_id: int) -> HttpResponse:
    incident = selectors.access_incident(request.user, incident_id, "board")
    entry = selectors.access_board_entry(incident, entry_id)
    form = BoardUpdateForm(request.POST)
    if not form.is_valid():
        return back(request, "incident_detail", incident.pk, exc=ActionError("Change the text or the state."))
    text = form.cleaned_data["text"].strip() or None
    state = form.cleaned_data["state"] or None
    try:
        actions.update_board_entry(actor=request.user, entry=entry, text=text, state=state)
    except ActionError as exc:
        return back(request, "incident_detail", incident.pk, exc=exc)
    messages.success(request, "The board entry is updated.")
    return _to(incident, f"entry-{entry.pk}")


# --- Shift handoff and after-action export ------------------------------------------------------


@login_required
@require_GET
def handoff(request: HttpRequest, incident_id: int) -> HttpResponse:
    incident = selectors.access_incident(request.user, incident_id)
    return render(request, "incidents/handoff.html", {"summary": selectors.handoff(incident), "incident": incident})


@login_required
@require_GET
def handoff_markdown(request: HttpRequest, incident_id: int) -> HttpResponse:
    incident = selectors.access_incident(request.user, incident_id)
    text = exports.handoff_markdown(selectors.handoff(incident))
    return _download(text, "text/markdown", f"handoff-incident-{incident.pk}.md")


@login_required
@require_GET
def handoff_json(request: HttpRequest, incident_id: int) -> HttpResponse:
    incident = selectors.access_incident(request.user, incident_id)
    data = exports.handoff_data(selectors.handoff(incident))
    return _download(exports.to_json(data), "application/json", f"handoff-incident-{incident.pk}.json")


@login_required
@require_GET
def timeline_json(request: HttpRequest, incident_id: int) -> HttpResponse:
    incident = selectors.access_incident(request.user, incident_id)
    data = exports.timeline_data(incident, selectors.agencies_of(incident), selectors.timeline(incident))
    return _download(exports.to_json(data), "application/json", f"incident-{incident.pk}-timeline.json")


@login_required
@require_GET
def timeline_csv(request: HttpRequest, incident_id: int) -> HttpResponse:
    incident = selectors.access_incident(request.user, incident_id)
    text = exports.timeline_csv(selectors.timeline(incident))
    return _download(text, "text/csv", f"incident-{incident.pk}-timeline.csv")
