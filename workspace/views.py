"""Pages of the tenant layer. Each view parses input, calls one selector or action, renders."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from communities import selectors as community_selectors
from workspace import actions, policy, selectors
from workspace.exceptions import ActionError
from workspace.forms import AcceptInvitationForm, AuditFilterForm, ChangeRoleForm, InviteStaffForm
from workspace.models import AuditEvent, InvitationStatus
from workspace.web import back, form_error, paginate

PAGE_SIZE = 50


def _page(request: HttpRequest, queryset):  # type: ignore[no-untyped-def]
    return paginate(request, queryset, PAGE_SIZE)


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    agency = request.user.agency
    context = {
        "agency": agency,
        "membership": getattr(request.user, "membership", None),
        "can_manage_staff": agency is not None and policy.can(request.user, "manage_staff", agency),
        "communities": community_selectors.memberships_of_agency(agency) if agency is not None else [],
    }
    return render(request, "workspace/dashboard.html", context)


@login_required
def agency_list(request: HttpRequest) -> HttpResponse:
    page = _page(request, selectors.agencies_for_directory())
    return render(request, "workspace/agency_list.html", {"page": page})


@login_required
def agency_detail(request: HttpRequest, slug: str) -> HttpResponse:
    agency = selectors.access_agency(request.user, slug)
    page = _page(request, selectors.staff_of_agency(agency))
    context = {
        "agency": agency,
        "page": page,
        "can_manage_staff": policy.can(request.user, "manage_staff", agency),
        "can_view_audit": policy.can(request.user, "view_audit", agency),
    }
    return render(request, "workspace/agency_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def staff_manage(request: HttpRequest, slug: str) -> HttpResponse:
    agency = selectors.access_agency(request.user, slug, "manage_staff")
    form = InviteStaffForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.invite_staff(actor=request.user, agency=agency, **form.cleaned_data)
        except ActionError as exc:
            form_error(form, exc)
        else:
            messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
            return redirect("staff_manage", slug=agency.slug)
    context = {
        "agency": agency,
        "form": form,
        "page": _page(request, selectors.staff_of_agency(agency, include_inactive=True)),
        "invitations": selectors.pending_invitations(agency),
        "role_form": ChangeRoleForm(),
    }
    status = 400 if form.errors else 200
    return render(request, "workspace/staff_manage.html", context, status=status)


def _back_to_staff(request: HttpRequest, slug: str, exc: ActionError | None = None, ok: str = "") -> HttpResponse:
    return back(request, "staff_manage", slug, exc=exc, ok=ok)


@login_required
@require_POST
def staff_change_role(request: HttpRequest, slug: str, user_id: int) -> HttpResponse:
    agency = selectors.access_agency(request.user, slug, "manage_staff")
    member = selectors.access_staff_member(agency, user_id)
    form = ChangeRoleForm(request.POST)
    if not form.is_valid():
        return _back_to_staff(request, slug, ActionError("Choose admin or staff."))
    try:
        actions.change_staff_role(actor=request.user, member=member, role=form.cleaned_data["role"])
    except ActionError as exc:
        return _back_to_staff(request, slug, exc)
    return _back_to_staff(request, slug, ok=f"{member} is now {form.cleaned_data['role']}.")


@login_required
@require_http_methods(["GET", "POST"])
def staff_deactivate(request: HttpRequest, slug: str, user_id: int) -> HttpResponse:
    agency = selectors.access_agency(request.user, slug, "manage_staff")
    member = selectors.access_staff_member(agency, user_id)
    if request.method == "GET":
        return render(request, "workspace/staff_deactivate.html", {"agency": agency, "member": member})
    try:
        actions.deactivate_staff(actor=request.user, member=member)
    except ActionError as exc:
        return _back_to_staff(request, slug, exc)
    return _back_to_staff(request, slug, ok=f"{member} has been deactivated and signed out everywhere.")


@login_required
@require_POST
def staff_reactivate(request: HttpRequest, slug: str, user_id: int) -> HttpResponse:
    agency = selectors.access_agency(request.user, slug, "manage_staff")
    member = selectors.access_staff_member(agency, user_id)
    try:
        actions.reactivate_staff(actor=request.user, member=member)
    except ActionError as exc:
        return _back_to_staff(request, slug, exc)
    return _back_to_staff(request, slug, ok=f"{member} can sign in again.")


@login_required
@require_POST
def invitation_revoke(request: HttpRequest, slug: str, invitation_id: int) -> HttpResponse:
    agency = selectors.access_agency(request.user, slug, "manage_staff")
    invitation = selectors.access_invitation(agency, invitation_id)
    try:
        actions.revoke_invitation(actor=request.user, invitation=invitation)
    except ActionError as exc:
        return _back_to_staff(request, slug, exc)
    return _back_to_staff(request, slug, ok=f"Invitation for {invitation.email} revoked.")


@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    invitation = actions.find_invitation(token)
    if invitation is None or invitation.status != InvitationStatus.PENDING:
        return render(request, "workspace/invitation_invalid.html", {"invitation": invitation}, status=404)
    form = AcceptInvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = actions.accept_invitation(
                raw_token=token, full_name=data["full_name"], title=data["title"], password=data["password1"]
            )
        except ActionError as exc:
            form_error(form, exc if exc.field != "password" else ActionError(exc.message, field="password1"))
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome to the Interagency Workspace, {user.get_short_name()}.")
            return redirect("dashboard")
    status = 400 if form.errors else 200
    return render(request, "workspace/invitation_accept.html", {"invitation": invitation, "form": form}, status=status)


def _audit_filters(request: HttpRequest, agency) -> tuple[AuditFilterForm, selectors.AuditFilters]:  # type: ignore[no-untyped-def]
    form = AuditFilterForm(request.GET or None, verbs=selectors.audit_verbs_for_agency(agency))
    if form.is_bound and form.is_valid():
        return form, selectors.AuditFilters(**form.cleaned_data)
    return form, selectors.AuditFilters()


@login_required
@require_GET
def audit_log(request: HttpRequest, slug: str) -> HttpResponse:
    agency = selectors.access_agency(request.user, slug, "view_audit")
    form, filters = _audit_filters(request, agency)
    page = _page(request, selectors.audit_events_for_agency(agency, filters))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"agency": agency, "form": form, "page": page, "query": query.urlencode()}
    return render(request, "workspace/audit_log.html", context, status=400 if form.errors else 200)


CSV_COLUMNS = ("time", "actor", "actor_agency", "agency", "verb", "target_type", "target_id", "target", "details", "ip")


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_rows(events) -> Iterator[str]:  # type: ignore[no-untyped-def]
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    event: AuditEvent
    for event in events.iterator(chunk_size=2000):
        yield writer.writerow(
            [
                event.created_at.isoformat(),
                event.actor_repr,
                event.actor_agency.short_name if event.actor_agency else "",
                event.agency.short_name if event.agency else "",
                event.verb,
                event.target_type,
                event.target_id,
                _csv_safe(event.target_repr),
                json.dumps(event.details, sort_keys=True),
                event.ip_address or "",
            ]
        )


def _csv_safe(value: str) -> str:
    # Spreadsheet programs run cells that start with these as formulas.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@login_required
@require_GET
def audit_export(request: HttpRequest, slug: str) -> HttpResponse:
    agency = selectors.access_agency(request.user, slug, "view_audit")
    _form, filters = _audit_filters(request, agency)
    events = selectors.audit_events_for_agency(agency, filters)
    response = StreamingHttpResponse(_csv_rows(events), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{agency.slug}.csv"'
    return response
