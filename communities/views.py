"""Community pages. Each view parses input, calls one action or selector, renders.

Access goes through ``access_*`` selectors: a community the person may not see is a 404
on every route (unlisted communities do not leak), one they see but may not act on is a
403. Actions raise ``ActionError`` for requests that cannot be carried out: forms show it
next to the field (status 400), buttons show it as a page message after a redirect.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from communities import actions, page_selectors, selectors
from communities.forms import (
    CommunityForm,
    DirectoryFilterForm,
    InviteAgencyForm,
    JoinRequestForm,
    ParticipantsForm,
    PersonForm,
    RoleForm,
)
from communities.models import Community, CommunityRole
from messaging import events
from workspace import policy
from workspace import selectors as workspace_selectors
from workspace.exceptions import ActionError
from workspace.web import back, form_error, paginate

DIRECTORY_PAGE_SIZE = 25
MEMBERS_PAGE_SIZE = 50
HISTORY_PAGE_SIZE = 25
ACCESS_PAGE_SIZE = 50


def _role_label(role: str) -> str:
    return CommunityRole(role).label.lower()


# --- Directory, creating, the agency's inbox ----------------------------------------------


@login_required
@require_GET
def directory(request: HttpRequest) -> HttpResponse:
    form = DirectoryFilterForm(request.GET or None, tags=selectors.tags_in_use())
    filters = selectors.DirectoryFilters()
    if form.is_bound and form.is_valid():
        filters = selectors.DirectoryFilters(**form.cleaned_data)
    page = paginate(request, selectors.communities_for_directory(filters), DIRECTORY_PAGE_SIZE)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "filtered": any(getattr(filters, name) for name in ("level", "state", "tag", "q")),
        "can_create": page_selectors.acts_for_agency(request.user),
    }
    return render(request, "communities/directory.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def create(request: HttpRequest) -> HttpResponse:
    agency = page_selectors.access_acting_agency(request.user)
    form = CommunityForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            community = actions.create_community(actor=request.user, **form.cleaned_data)
        except ActionError as exc:
            form_error(form, exc)
        else:
            messages.success(request, f"{community.name} is created, with {agency.short_name} as its owner.")
            return redirect("community_detail", slug=community.slug)
    status = 400 if form.errors else 200
    return render(request, "communities/create.html", {"form": form, "agency": agency}, status=status)


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    agency = page_selectors.access_acting_agency(request.user)
    found = page_selectors.inbox_of_agency(agency)
    context = {
        "agency": agency,
        "pending": found.pending,
        "past": paginate(request, found.past, HISTORY_PAGE_SIZE),
        "requests": paginate(request, found.requests, HISTORY_PAGE_SIZE, param="requests_page"),
    }
    return render(request, "communities/inbox.html", context)


@login_required
@require_POST
def invitation_accept(request: HttpRequest, invitation_id: int) -> HttpResponse:
    agency = page_selectors.access_acting_agency(request.user)
    invitation = selectors.access_invitation_for_agency(agency, invitation_id)
    try:
        membership = actions.accept_invitation(actor=request.user, invitation=invitation)
    except ActionError as exc:
        return back(request, "community_inbox", exc=exc)
    community = invitation.community
    ok = f"{agency.short_name} joined {community.name} as {_role_label(membership.role)}."
    return back(request, "community_detail", community.slug, ok=ok)


@login_required
@require_POST
def invitation_decline(request: HttpRequest, invitation_id: int) -> HttpResponse:
    agency = page_selectors.access_acting_agency(request.user)
    invitation = selectors.access_invitation_for_agency(agency, invitation_id)
    try:
        actions.decline_invitation(actor=request.user, invitation=invitation)
    except ActionError as exc:
        return back(request, "community_inbox", exc=exc)
    return back(request, "community_inbox", ok=f"You declined the invitation to {invitation.community.name}.")


# --- One community --------------------------------------------------------------------------


def _render_community(
    request: HttpRequest,
    community: Community,
    *,
    invite_form: InviteAgencyForm | None = None,
    join_form: JoinRequestForm | None = None,
    status: int = 200,
) -> HttpResponse:
    standing = page_selectors.standing_in_community(request.user, community)
    # The stream's seq before anything is read: what happens after is replayed to the page.
    live_seq = events.current_seq(community.stream) if policy.can(request.user, "view_content", community) else None
    context = {
        "community": community,
        "standing": standing,
        "live_seq": live_seq,
        "members": paginate(request, selectors.members_of_community(community), MEMBERS_PAGE_SIZE),
        "roles": CommunityRole.choices,
    }
    if standing.can_manage:
        context |= {
            "pending_invitations": selectors.pending_invitations_of_community(community),
            "pending_requests": selectors.pending_requests_of_community(community),
            "invite_form": invite_form or InviteAgencyForm(invitable=selectors.agencies_to_invite(community)),
        }
    if join_form is not None or (standing.may_request and community.is_listed and not community.is_archived):
        context["join_form"] = join_form or JoinRequestForm()
    return render(request, "communities/detail.html", context, status=status)


@login_required
@require_GET
def detail(request: HttpRequest, slug: str) -> HttpResponse:
    return _render_community(request, selectors.access_community(request.user, slug))


@login_required
@require_POST
def invite(request: HttpRequest, slug: str) -> HttpResponse:
    """Two steps: the first post shows what the agency would gain; the second, with
    ``confirm``, sends the invitation."""
    community = selectors.access_community(request.user, slug, "manage")
    form = InviteAgencyForm(request.POST, invitable=selectors.agencies_to_invite(community))
    if not form.is_valid():
        return _render_community(request, community, invite_form=form, status=400)
    agency, role = form.cleaned_data["agency"], form.cleaned_data["role"]
    if "confirm" not in request.POST:
        context = {
            "community": community,
            "form": form,
            "agency": agency,
            "role_label": _role_label(role),
            "capabilities": page_selectors.role_capabilities(role),
            "staff_count": workspace_selectors.staff_of_agency(agency).count(),
        }
        return render(request, "communities/invite_preview.html", context)
    try:
        actions.invite_agency(actor=request.user, community=community, **form.cleaned_data)
    except ActionError as exc:
        form_error(form, exc)
        return _render_community(request, community, invite_form=form, status=400)
    ok = f"{agency.name} is invited as {_role_label(role)}. Nothing changes until one of its admins accepts."
    return back(request, "community_detail", community.slug, ok=ok)


@login_required
@require_POST
def invitation_withdraw(request: HttpRequest, slug: str, invitation_id: int) -> HttpResponse:
    community = selectors.access_community(request.user, slug, "manage")
    invitation = selectors.access_invitation_of_community(community, invitation_id)
    try:
        actions.withdraw_invitation(actor=request.user, invitation=invitation)
    except ActionError as exc:
        return back(request, "community_detail", slug, exc=exc)
    return back(request, "community_detail", slug, ok=f"The invitation of {invitation.agency.name} is withdrawn.")


@login_required
@require_POST
def request_approve(request: HttpRequest, slug: str, request_id: int) -> HttpResponse:
    community = selectors.access_community(request.user, slug, "manage")
    join_request = selectors.access_request_of_community(community, request_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        return back(request, "community_detail", slug, exc=ActionError("Choose owner, participant or observer."))
    role = form.cleaned_data["role"]
    try:
        actions.approve_request(actor=request.user, join_request=join_request, role=role)
    except ActionError as exc:
        return back(request, "community_detail", slug, exc=exc)
    ok = f"{join_request.agency.name} joined as {_role_label(role)}."
    return back(request, "community_detail", slug, ok=ok)


@login_required
@require_POST
def request_decline(request: HttpRequest, slug: str, request_id: int) -> HttpResponse:
    community = selectors.access_community(request.user, slug, "manage")
    join_request = selectors.access_request_of_community(community, request_id)
    try:
        actions.decline_request(actor=request.user, join_request=join_request)
    except ActionError as exc:
        return back(request, "community_detail", slug, exc=exc)
    return back(request, "community_detail", slug, ok=f"The request of {join_request.agency.name} is declined.")


@login_required
@require_POST
def member_role(request: HttpRequest, slug: str, agency_slug: str) -> HttpResponse:
    community = selectors.access_community(request.user, slug, "manage")
    agency = selectors.member_agency(community, agency_slug)
    form = RoleForm(request.POST)
    if not form.is_valid():
        return back(request, "community_detail", slug, exc=ActionError("Choose owner, participant or observer."))
    role = form.cleaned_data["role"]
    try:
        actions.change_agency_role(actor=request.user, community=community, agency=agency, role=role)
    except ActionError as exc:
        return back(request, "community_detail", slug, exc=exc)
    return back(request, "community_detail", slug, ok=f"{agency.name} is now {_role_label(role)}.")


@login_required
@require_http_methods(["GET", "POST"])
def member_remove(request: HttpRequest, slug: str, agency_slug: str) -> HttpResponse:
    community = selectors.access_community(request.user, slug, "manage")
    agency = selectors.member_agency(community, agency_slug)
    if request.method == "GET":
        return render(request, "communities/remove_confirm.html", {"community": community, "agency": agency})
    try:
        actions.remove_agency(actor=request.user, community=community, agency=agency)
    except ActionError as exc:
        return back(request, "community_detail", slug, exc=exc)
    ok = f"{agency.name} is removed from {community.name}. Its staff lost access at once."
    return back(request, "community_detail", slug, ok=ok)


@login_required
@require_http_methods(["GET", "POST"])
def leave(request: HttpRequest, slug: str) -> HttpResponse:
    membership = page_selectors.access_own_membership(request.user, slug)
    community, agency = membership.community, membership.agency
    if request.method == "GET":
        return render(request, "communities/leave_confirm.html", {"community": community, "membership": membership})
    try:
        actions.leave_community(actor=request.user, community=community)
    except ActionError as exc:
        return back(request, "community_detail", slug, exc=exc)
    return back(request, "community_directory", ok=f"{agency.short_name} left {community.name}.")


@login_required
@require_POST
def join(request: HttpRequest, slug: str) -> HttpResponse:
    community = selectors.access_community(request.user, slug)
    page_selectors.access_acting_agency(request.user)
    form = JoinRequestForm(request.POST)
    if form.is_valid():
        try:
            actions.request_to_join(actor=request.user, community=community, reason=form.cleaned_data["reason"])
        except ActionError as exc:
            if exc.field not in form.fields:
                return back(request, "community_detail", slug, exc=exc)
            form_error(form, exc)
        else:
            ok = f"Your request to join {community.name} is sent. Its owners will approve or decline it."
            return back(request, "community_detail", slug, ok=ok)
    return _render_community(request, community, join_form=form, status=400)


@login_required
@require_GET
def access(request: HttpRequest, slug: str) -> HttpResponse:
    community = page_selectors.access_community_roster(request.user, slug)
    page = paginate(request, selectors.people_with_access(community), ACCESS_PAGE_SIZE)
    context = {
        "community": community,
        "page": page,
        "rows": page_selectors.explain_access(community, page.object_list),
        "moderators": page_selectors.moderator_ids(community),
        "can_manage": policy.can(request.user, "manage", community),
    }
    return render(request, "communities/access.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, slug: str) -> HttpResponse:
    community = selectors.access_community(request.user, slug, "manage")
    initial = {
        "name": community.name,
        "purpose": community.purpose,
        "description": community.description,
        "visibility": community.visibility,
        "entry_requirements": community.entry_requirements,
        "tags": ", ".join(tag.name for tag in community.tags.all()),
    }
    form = CommunityForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            actions.update_community(actor=request.user, community=community, **form.cleaned_data)
        except ActionError as exc:
            form_error(form, exc)
        else:
            return back(request, "community_detail", slug, ok="Saved.")
    context = {"community": community, "form": form}
    return render(request, "communities/edit.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def archive(request: HttpRequest, slug: str) -> HttpResponse:
    community = selectors.access_community(request.user, slug, "manage")
    archived = request.POST.get("archived") == "1"
    try:
        actions.set_archived(actor=request.user, community=community, archived=archived)
    except ActionError as exc:
        return back(request, "community_detail", slug, exc=exc)
    ok = (
        f"{community.name} is archived: read-only, and out of the directory and dashboards."
        if archived
        else f"{community.name} is active again."
    )
    return back(request, "community_detail", slug, ok=ok)


@login_required
@require_http_methods(["GET", "POST"])
def participants(request: HttpRequest, slug: str) -> HttpResponse:
    membership = page_selectors.access_own_membership(request.user, slug)
    community, agency = membership.community, membership.agency
    initial = {"mode": "all" if membership.all_staff else "named", "people": membership.named_staff.all()}
    form = ParticipantsForm(request.POST or None, staff=page_selectors.staff_to_name(agency), initial=initial)
    if request.method == "POST" and form.is_valid():
        named = form.cleaned_data["mode"] == "named"
        people = list(form.cleaned_data["people"]) if named else None
        try:
            actions.set_participants(actor=request.user, community=community, people=people)
        except ActionError as exc:
            form_error(form, exc)
        else:
            ok = (
                f"Only {agency.short_name}'s admins and the {len(people)} people chosen take part now."
                if named
                else f"All of {agency.short_name}'s staff take part now."
            )
            return back(request, "community_detail", slug, ok=ok)
    context = {"community": community, "membership": membership, "form": form}
    return render(request, "communities/participants.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def moderator_appoint(request: HttpRequest, slug: str) -> HttpResponse:
    community = selectors.access_community(request.user, slug, "manage")
    form = PersonForm(request.POST)
    if not form.is_valid():
        return back(request, "community_access", slug, exc=ActionError("Choose a person."))
    person = page_selectors.access_person_with_access(community, form.cleaned_data["person"])
    try:
        actions.appoint_moderator(actor=request.user, community=community, person=person)
    except ActionError as exc:
        return back(request, "community_access", slug, exc=exc)
    return back(request, "community_access", slug, ok=f"{person} moderates {community.name} now.")


@login_required
@require_POST
def moderator_remove(request: HttpRequest, slug: str, user_id: int) -> HttpResponse:
    community = selectors.access_community(request.user, slug, "manage")
    person = page_selectors.access_moderator(community, user_id)
    try:
        actions.remove_moderator(actor=request.user, community=community, person=person)
    except ActionError as exc:
        return back(request, "community_access", slug, exc=exc)
    return back(request, "community_access", slug, ok=f"{person} no longer moderates {community.name}.")
