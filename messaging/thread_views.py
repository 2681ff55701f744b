"""Thread pages. Each view parses input, calls one action or selector, renders.

Every route reaches its thread or community through an ``access_*`` selector: what the
person may not see is a 404, exactly like what does not exist; what they see but may not
do is a 403 (the action's ``PermissionDenied``). ``ActionError`` is shown next to the form
field (status 400) or, for buttons, as a page message after a redirect.

The thread page works without JavaScript: posting is an ordinary form whose ``client_id``
is generated when the page is rendered, so a double submit stores one message.
``static/js/thread.js`` adds live updates over the socket on top of the same markup.
"""

from __future__ import annotations

import json
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from messaging import actions, events, thread_selectors
from messaging.models import Message, Thread
from messaging.thread_forms import AudienceForm, EditForm, NewThreadForm, PostForm, ReactForm, ThreadSettingsForm
from messaging.thread_selectors import REACTION_NAMES
from workspace import policy
from workspace.exceptions import ActionError
from workspace.web import back, form_error, paginate

THREADS_PAGE_SIZE = 25


def _message_url(message: Message) -> str:
    return reverse("thread_detail", args=[message.thread_id]) + f"#message-{message.pk}"


def _positive_int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and 0 < int(value) < 2**63 else None


# --- A community's threads ------------------------------------------------------------------


@login_required
@require_GET
def thread_list(request: HttpRequest, community_slug: str) -> HttpResponse:
    community = thread_selectors.access_community_threads(request.user, community_slug)
    page = paginate(request, thread_selectors.threads_for_user(request.user, community), THREADS_PAGE_SIZE)
    context = {
        "community": community,
        "page": page,
        "may_start": not community.is_archived and policy.can(request.user, "post", community),
    }
    return render(request, "messaging/thread_list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def thread_create(request: HttpRequest, community_slug: str) -> HttpResponse:
    community = thread_selectors.access_community_threads(request.user, community_slug, "post")
    members = thread_selectors.member_agencies(community)
    data = request.POST if request.method == "POST" else None
    form = NewThreadForm(data, members=members, initial={"client_id": uuid.uuid4()})
    if request.method == "POST" and form.is_valid():
        client_id = form.cleaned_data["client_id"]
        started = thread_selectors.thread_started_with(request.user, client_id)
        if started is not None:  # the same form submitted twice
            return redirect("thread_detail", started.pk)
        restrict_to = list(form.cleaned_data["restrict_to"]) or None
        try:
            thread = actions.create_thread(
                actor=request.user,
                community=community,
                title=form.cleaned_data["title"],
                body=form.cleaned_data["body"],
                client_id=client_id,
                restrict_to=restrict_to,
            )
        except ActionError as exc:
            form_error(form, exc)
        else:
            return redirect("thread_detail", thread.pk)
    context = {"community": community, "form": form, "own_agency": request.user.agency}
    return render(request, "messaging/thread_new.html", context, status=400 if form.errors else 200)


# --- One thread -----------------------------------------------------------------------------


def _render_thread(request: HttpRequest, thread: Thread, form: PostForm, status: int = 200) -> HttpResponse:
    # The seq first, then the messages: a message committed in between is both on the page
    # and replayed to the live client, which shows it once (by id), never zero times.
    seq = events.current_seq(thread.stream)
    window = thread_selectors.messages_of_thread(request.user, thread, before=_positive_int(request.GET.get("before")))
    reply_id = form["reply_to"].value()
    reply_target = thread_selectors.reply_target(thread, _positive_int(str(reply_id or "")))
    context = {
        "thread": thread,
        "community": thread.community,
        "window": window,
        "seq": seq,
        "form": form,
        "reply_target": reply_target,
        "allowed_agencies": thread_selectors.allowed_agencies_of(thread),
        "may_post": window.may_post,
        "may_moderate": window.may_moderate,
        "reactions": list(REACTION_NAMES.items()),
        "reaction_names": json.dumps(REACTION_NAMES, ensure_ascii=False),
        "time_zone": timezone.get_current_timezone_name(),
    }
    return render(request, "messaging/thread_detail.html", context, status=status)


@login_required
@require_GET
def thread_detail(request: HttpRequest, thread_id: int) -> HttpResponse:
    thread = thread_selectors.access_thread(request.user, thread_id)
    initial = {"client_id": uuid.uuid4(), "reply_to": _positive_int(request.GET.get("reply_to"))}
    return _render_thread(request, thread, PostForm(initial=initial))


@login_required
@require_POST
def thread_post(request: HttpRequest, thread_id: int) -> HttpResponse:
    thread = thread_selectors.access_thread(request.user, thread_id)
    form = PostForm(request.POST)
    if form.is_valid():
        try:
            posted = actions.post_message(
                actor=request.user,
                thread=thread,
                body=form.cleaned_data["body"],
                client_id=form.cleaned_data["client_id"],
                reply_to_id=form.cleaned_data["reply_to"],
            )
        except ActionError as exc:
            form_error(form, exc)
        else:
            return redirect(_message_url(posted.message))
    return _render_thread(request, thread, form, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def message_edit(request: HttpRequest, thread_id: int, message_id: int) -> HttpResponse:
    thread = thread_selectors.access_thread(request.user, thread_id)
    message = thread_selectors.access_message(request.user, thread, message_id, "edit")
    form = EditForm(request.POST if request.method == "POST" else None, initial={"body": message.body_source})
    if request.method == "POST" and form.is_valid():
        try:
            actions.edit_message(actor=request.user, message=message, body=form.cleaned_data["body"])
        except ActionError as exc:
            form_error(form, exc)
        else:
            return redirect(_message_url(message))
    context = {"thread": thread, "community": thread.community, "message": message, "form": form}
    return render(request, "messaging/message_edit.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def message_delete(request: HttpRequest, thread_id: int, message_id: int) -> HttpResponse:
    thread = thread_selectors.access_thread(request.user, thread_id)
    message = thread_selectors.access_message(request.user, thread, message_id, "delete")
    if request.method == "GET":
        context = {"thread": thread, "community": thread.community, "message": message}
        return render(request, "messaging/message_delete.html", context)
    actions.delete_message(actor=request.user, message=message)
    messages.success(request, "The message is deleted. Everyone now sees that it was.")
    return redirect(_message_url(message))


@login_required
@require_POST
def message_react(request: HttpRequest, thread_id: int, message_id: int) -> HttpResponse:
    thread = thread_selectors.access_thread(request.user, thread_id)
    message = thread_selectors.access_message(request.user, thread, message_id, "react")
    form = ReactForm(request.POST)
    if not form.is_valid():
        return back(request, "thread_detail", thread.pk, exc=ActionError("Choose one of the offered reactions."))
    try:
        actions.react(actor=request.user, message=message, emoji=form.emoji, on=form.on)
    except ActionError as exc:
        return back(request, "thread_detail", thread.pk, exc=exc)
    return redirect(_message_url(message))


# --- Moderating a thread --------------------------------------------------------------------


def _moderated_thread(request: HttpRequest, thread_id: int) -> Thread:
    thread = thread_selectors.access_thread(request.user, thread_id)
    if not policy.can(request.user, "moderate", thread):
        raise PermissionDenied("Only the community's moderators can change this thread.")
    return thread


def _audience_form(thread: Thread, data=None) -> AudienceForm:  # type: ignore[no-untyped-def]
    allowed = thread_selectors.allowed_agencies_of(thread)
    initial = {
        "audience": AudienceForm.SOME if thread.restricted else AudienceForm.EVERYONE,
        "restrict_to": [agency.pk for agency in allowed],
    }
    return AudienceForm(data, members=thread_selectors.member_agencies(thread.community), initial=initial)


def _render_settings(
    request: HttpRequest,
    thread: Thread,
    settings_form: ThreadSettingsForm | None = None,
    audience_form: AudienceForm | None = None,
    status: int = 200,
) -> HttpResponse:
    settings_form = settings_form or ThreadSettingsForm(
        initial={
            "title": thread.title,
            "pinned": thread.is_pinned,
            "locked": thread.is_locked,
            "archived": thread.is_archived,
        }
    )
    context = {
        "thread": thread,
        "community": thread.community,
        "settings_form": settings_form,
        "audience_form": audience_form or _audience_form(thread),
        "own_agency": request.user.agency,
    }
    return render(request, "messaging/thread_settings.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def thread_settings(request: HttpRequest, thread_id: int) -> HttpResponse:
    thread = _moderated_thread(request, thread_id)
    if request.method == "GET":
        return _render_settings(request, thread)
    form = ThreadSettingsForm(request.POST)
    if form.is_valid():
        try:
            actions.update_thread(
                actor=request.user,
                thread=thread,
                title=form.cleaned_data["title"],
                pinned=form.cleaned_data["pinned"],
                locked=form.cleaned_data["locked"],
                archived=form.cleaned_data["archived"],
            )
        except ActionError as exc:
            form_error(form, exc)
        else:
            messages.success(request, "Thread settings saved.")
            return redirect("thread_detail", thread.pk)
    return _render_settings(request, thread, settings_form=form, status=400)


@login_required
@require_POST
def thread_audience(request: HttpRequest, thread_id: int) -> HttpResponse:
    """Change who may see the thread. A change that takes it away from some agencies is
    shown for confirmation first, naming them."""
    thread = _moderated_thread(request, thread_id)
    form = _audience_form(thread, request.POST)
    if not form.is_valid():
        return _render_settings(request, thread, audience_form=form, status=400)
    restriction = form.restriction
    if not form.cleaned_data["confirm"]:
        before = actions.thread_audience(thread)
        after = actions.thread_audience_after(thread, actor=request.user, restrict_to=restriction)
        losing = thread_selectors.agencies_named(before - after)
        if losing:
            context = {"thread": thread, "community": thread.community, "form": form, "losing": losing}
            return render(request, "messaging/thread_audience_confirm.html", context)
    try:
        change = actions.change_thread_audience(actor=request.user, thread=thread, restrict_to=restriction)
    except ActionError as exc:
        form_error(form, exc)
        return _render_settings(request, thread, audience_form=form, status=400)
    if change.lost or change.gained:
        messages.success(request, "Who can see this thread has changed.")
    else:
        messages.info(request, "Nothing changed: the same agencies can see the thread.")
    return redirect("thread_detail", thread.pk)
