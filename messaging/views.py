"""Notification pages. Each view parses input, calls one selector or action, renders.

Only the person's own notifications are ever listed or changed: the selector and the
action filter on the signed-in person, so another person's id is simply not there.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from messaging import actions, selectors
from messaging.forms import MarkReadForm
from workspace.exceptions import ActionError
from workspace.web import back, paginate

PAGE_SIZE = 25


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    page = paginate(request, selectors.notifications_for_user(request.user), PAGE_SIZE)
    return render(request, "messaging/notification_list.html", {"page": page})


def _next_page(target: str) -> str:
    # Only a path on this site: the form must not become an open redirect.
    if target.startswith("/") and url_has_allowed_host_and_scheme(target, allowed_hosts=None):
        return target
    return "notification_list"


@login_required
@require_POST
def notification_mark_read(request: HttpRequest) -> HttpResponse:
    form = MarkReadForm(request.POST)
    if not form.is_valid():
        return back(request, "notification_list", exc=ActionError("Choose a notification to mark as read."))
    one = form.cleaned_data["id"]
    actions.mark_read(actor=request.user, notification_ids=[one] if one else None)
    ok = "" if one else "All notifications are marked as read."
    return back(request, _next_page(form.cleaned_data["next"]), ok=ok)
