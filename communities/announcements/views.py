"""Announcement pages. Each view parses input, calls one action or selector, renders.

Access goes through ``access_*`` selectors: an announcement or community the person may
not see is a 404 on every route; one they see but may not act on is a 403. Anonymous
people see the public pages (an agency's, a program's, a topic's, a public announcement)
and are sent to sign in for everything else. Feeds live in ``feeds.py``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from communities.announcements import actions, selectors
from communities.announcements.feeds import feed_links
from communities.announcements.forms import (
    AnnouncementForm,
    PromoteForm,
    RetractForm,
    SubscribeForm,
    TrustForm,
    initial_for,
)
from communities.announcements.models import Announcement, AnnouncementState, Frequency, Program, Subscription
from communities.models import Community, Tag
from messaging import events, markup
from workspace import policy
from workspace.exceptions import ActionError
from workspace.web import back, form_error, paginate

PAGE_SIZE = 20
HISTORY_PAGE_SIZE = 25


def _preview(form: AnnouncementForm, request: HttpRequest) -> dict[str, Any]:
    """The announcement as it will read, rendered by the one sanitizer, saved nowhere."""
    data = form.cleaned_data
    return {
        "title": data["title"],
        "summary": data["summary"],
        "body_html": markup.render(data["body"]),
        "program": data["program"],
        "audience": data["audience"],
        "tags": data["tags"],
        "links": data["links"],
        "agency": request.user.agency,
    }


# --- Lists ---------------------------------------------------------------------------------


@login_required
@require_GET
def announcement_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    postable = selectors.communities_to_announce_in(user)
    agency = user.agency
    context = {
        "page": paginate(request, selectors.announcements_for_user(user), PAGE_SIZE),
        "can_compose": postable.exists(),
        "unpublished": (
            selectors.unpublished_of_agency(agency).filter(community__in=postable) if agency is not None else []
        ),
        "reviews": selectors.reviews_promotions(user),
        "communities": selectors.communities_read_by(user),
    }
    return render(request, "announcements/list.html", context)


@login_required
@require_GET
def community_page(request: HttpRequest, slug: str) -> HttpResponse:
    community = selectors.access_community_announcements(request.user, slug)
    can_manage = policy.can(request.user, "manage", community)
    # The seq first, then the rows: an announcement published in between is on the page and
    # replayed to the live client, which shows it once (by id).
    live_seq = events.current_seq(community.stream)
    context = {
        "community": community,
        "live_seq": live_seq,
        "page": paginate(request, selectors.announcements_in_community(community), PAGE_SIZE),
        "can_announce": policy.can(request.user, "announce", community),
        "can_review": policy.can(request.user, "review_promotions", community),
        "can_manage": can_manage,
        "feeds": feed_links("announcement_community_feed", community.slug)
        if community.is_listed and not community.is_archived
        else [],
    }
    context["live_rows"] = context["page"].number == 1  # new ones go on top of the first page only
    if can_manage:
        context |= {
            "trusted": selectors.trusted_publishers(community),
            "trust_form": TrustForm(agencies=selectors.agencies_to_trust(community)),
        }
    return render(request, "announcements/community.html", context)


def _public_list(
    request: HttpRequest, template: str, announcements: Any, feeds: list[Any], **context: Any
) -> HttpResponse:
    context |= {"page": paginate(request, announcements, PAGE_SIZE), "feeds": feeds}
    return render(request, template, context)


@require_GET
def agency_page(request: HttpRequest, slug: str) -> HttpResponse:
    """An agency's public announcements: no sign-in needed."""
    agency = selectors.access_public_agency(slug)
    return _public_list(
        request,
        "announcements/public_agency.html",
        selectors.public_announcements_of_agency(agency),
        feed_links("announcement_agency_feed", agency.slug),
        agency=agency,
        programs=selectors.programs_with_public_announcements(agency),
    )


@require_GET
def program_page(request: HttpRequest, slug: str, program_slug: str) -> HttpResponse:
    program = selectors.access_public_program(slug, program_slug)
    return _public_list(
        request,
        "announcements/public_program.html",
        selectors.public_announcements_of_program(program),
        feed_links("announcement_program_feed", slug, program.slug),
        program=program,
        agency=program.agency,
    )


@require_GET
def tag_page(request: HttpRequest, slug: str) -> HttpResponse:
    tag = selectors.access_tag(slug)
    return _public_list(
        request,
        "announcements/public_tag.html",
        selectors.public_announcements_with_tag(tag),
        feed_links("announcement_tag_feed", tag.slug),
        tag=tag,
    )


# --- Writing ---------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def compose(request: HttpRequest) -> HttpResponse:
    communities = selectors.communities_to_announce_in(request.user)
    if not communities.exists():
        raise PermissionDenied("Your agency cannot post in any community.")
    chosen = communities.filter(slug=request.GET.get("community", "")).first()
    form = AnnouncementForm(request.POST or None, communities=communities, initial={"community": chosen})
    preview = None
    if request.method == "POST" and form.is_valid():
        if "preview" in request.POST:
            preview = _preview(form, request)
        else:
            try:
                announcement = actions.create_announcement(
                    actor=request.user,
                    community=form.cleaned_data["community"],
                    publish="publish" in request.POST,
                    **form.action_arguments(),
                )
            except ActionError as exc:
                form_error(form, exc)
            else:
                messages.success(request, _state_message(announcement))
                return redirect("announcement_detail", announcement.pk)
    context = {"form": form, "preview": preview, "editing": None}
    return render(request, "announcements/compose.html", context, status=400 if form.errors else 200)


def _state_message(announcement: Announcement) -> str:
    if announcement.state == AnnouncementState.PUBLISHED:
        return "Published. It shows in its community and in every community that accepted it."
    if announcement.state == AnnouncementState.SCHEDULED:
        return f"Scheduled for {announcement.publish_at:%b %-d, %Y %H:%M}."
    return "Saved as a draft. Only your agency's people who post there can see it."


@login_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, announcement_id: int) -> HttpResponse:
    announcement = selectors.access_managed_announcement(request.user, announcement_id)
    form = AnnouncementForm(
        request.POST or None,
        initial=initial_for(announcement),
        communities=Community.objects.none(),
        fixed_community=True,
    )
    preview = None
    if request.method == "POST" and form.is_valid():
        if "preview" in request.POST:
            preview = _preview(form, request)
        else:
            try:
                actions.update_announcement(actor=request.user, announcement=announcement, **form.action_arguments())
            except ActionError as exc:
                form_error(form, exc)
            else:
                ok = "Saved. The change shows everywhere the announcement appears."
                return back(request, "announcement_detail", announcement.pk, ok=ok)
    context = {"form": form, "preview": preview, "editing": announcement}
    return render(request, "announcements/compose.html", context, status=400 if form.errors else 200)


@require_GET
def detail(request: HttpRequest, announcement_id: int) -> HttpResponse:
    try:
        announcement = selectors.access_announcement(request.user, announcement_id)
    except Http404:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        raise
    user = request.user
    can_manage = policy.can(user, "manage", announcement)
    if user.is_authenticated and announcement.is_live:
        actions.mark_opened(actor=user, announcement=announcement)
    context: dict[str, Any] = {"announcement": announcement, "can_manage": can_manage}
    if can_manage:
        context["promotions"] = selectors.promotions_of(announcement)
        if announcement.current_state not in (AnnouncementState.RETRACTED, AnnouncementState.EXPIRED):
            context["promote_form"] = PromoteForm(communities=selectors.promotable_communities(user, announcement))
    if user.is_authenticated and announcement.is_live:
        context["follow_target"] = f"program:{announcement.program_id}"
        context["frequencies"] = Frequency.choices
    return render(request, "announcements/detail.html", context)


@login_required
@require_POST
def publish(request: HttpRequest, announcement_id: int) -> HttpResponse:
    announcement = selectors.access_managed_announcement(request.user, announcement_id)
    try:
        announcement = actions.publish_announcement(actor=request.user, announcement=announcement)
    except ActionError as exc:
        return back(request, "announcement_detail", announcement_id, exc=exc)
    return back(request, "announcement_detail", announcement_id, ok=_state_message(announcement))


@login_required
@require_http_methods(["GET", "POST"])
def retract(request: HttpRequest, announcement_id: int) -> HttpResponse:
    announcement = selectors.access_managed_announcement(request.user, announcement_id)
    form = RetractForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.retract_announcement(actor=request.user, announcement=announcement, note=form.cleaned_data["note"])
        except ActionError as exc:
            return back(request, "announcement_detail", announcement_id, exc=exc)
        ok = "Retracted. It is gone from every community, page and feed it appeared in."
        return back(request, "announcement_detail", announcement_id, ok=ok)
    context = {"announcement": announcement, "form": form, "places": selectors.places_of(announcement)}
    return render(request, "announcements/retract_confirm.html", context)


# --- Cross-promotion -------------------------------------------------------------------------


@login_required
@require_POST
def promote(request: HttpRequest, announcement_id: int) -> HttpResponse:
    announcement = selectors.access_managed_announcement(request.user, announcement_id)
    form = PromoteForm(request.POST, communities=selectors.promotable_communities(request.user, announcement))
    if not form.is_valid():
        exc = ActionError("Choose a community you have not asked yet.")
        return back(request, "announcement_detail", announcement_id, exc=exc)
    community = form.cleaned_data["community"]
    try:
        promotion = actions.request_promotion(
            actor=request.user, announcement=announcement, community=community, message=form.cleaned_data["message"]
        )
    except ActionError as exc:
        return back(request, "announcement_detail", announcement_id, exc=exc)
    ok = (
        f"{community.name} trusts {announcement.agency.short_name}: it appears there now."
        if promotion.auto_accepted
        else f"Asked {community.name}. It appears there once its owners accept."
    )
    return back(request, "announcement_detail", announcement_id, ok=ok)


@login_required
@require_POST
def promotion_withdraw(request: HttpRequest, announcement_id: int, promotion_id: int) -> HttpResponse:
    announcement = selectors.access_managed_announcement(request.user, announcement_id)
    promotion = selectors.access_promotion_of(announcement, promotion_id)
    try:
        actions.withdraw_promotion(actor=request.user, promotion=promotion)
    except ActionError as exc:
        return back(request, "announcement_detail", announcement_id, exc=exc)
    ok = f"Withdrawn from {promotion.community.name}."
    return back(request, "announcement_detail", announcement_id, ok=ok)


@login_required
@require_GET
def promotion_inbox(request: HttpRequest) -> HttpResponse:
    if not selectors.reviews_promotions(request.user):
        raise PermissionDenied("Only owners and moderators of a community review promotion requests.")
    context = {
        "pending": selectors.promotions_to_review(request.user),
        "decided": paginate(request, selectors.decided_promotions(request.user), HISTORY_PAGE_SIZE),
    }
    return render(request, "announcements/inbox.html", context)


@login_required
@require_POST
def promotion_accept(request: HttpRequest, promotion_id: int) -> HttpResponse:
    promotion = selectors.access_promotion_for_review(request.user, promotion_id)
    try:
        actions.accept_promotion(actor=request.user, promotion=promotion)
    except ActionError as exc:
        return back(request, "announcement_promotion_inbox", exc=exc)
    ok = f"“{promotion.announcement.title}” now appears in {promotion.community.name}."
    return back(request, "announcement_promotion_inbox", ok=ok)


@login_required
@require_POST
def promotion_decline(request: HttpRequest, promotion_id: int) -> HttpResponse:
    promotion = selectors.access_promotion_for_review(request.user, promotion_id)
    try:
        actions.decline_promotion(actor=request.user, promotion=promotion)
    except ActionError as exc:
        return back(request, "announcement_promotion_inbox", exc=exc)
    ok = f"Declined: “{promotion.announcement.title}” does not appear in {promotion.community.name}."
    return back(request, "announcement_promotion_inbox", ok=ok)


@login_required
@require_POST
def trust_add(request: HttpRequest, slug: str) -> HttpResponse:
    community = selectors.access_community_announcements(request.user, slug, "manage")
    form = TrustForm(request.POST, agencies=selectors.agencies_to_trust(community))
    if not form.is_valid():
        return back(request, "announcement_community", slug, exc=ActionError("Choose an agency."))
    agency = form.cleaned_data["agency"]
    try:
        actions.trust_agency(actor=request.user, community=community, agency=agency)
    except ActionError as exc:
        return back(request, "announcement_community", slug, exc=exc)
    ok = f"Promotions from {agency.name} now appear here without asking."
    return back(request, "announcement_community", slug, ok=ok)


@login_required
@require_POST
def trust_remove(request: HttpRequest, slug: str, agency_slug: str) -> HttpResponse:
    community = selectors.access_community_announcements(request.user, slug, "manage")
    trusted = get_object_or_404(selectors.trusted_publishers(community), agency__slug=agency_slug)
    try:
        actions.distrust_agency(actor=request.user, community=community, agency=trusted.agency)
    except ActionError as exc:
        return back(request, "announcement_community", slug, exc=exc)
    ok = f"Promotions from {trusted.agency.name} wait for a decision again."
    return back(request, "announcement_community", slug, ok=ok)


# --- Reach -----------------------------------------------------------------------------------


@login_required
@require_GET
def reach(request: HttpRequest, announcement_id: int) -> HttpResponse:
    announcement = selectors.access_managed_announcement(request.user, announcement_id)
    context = {"announcement": announcement, "reach": selectors.reach_of(announcement)}
    return render(request, "announcements/reach.html", context)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_safe(value: str) -> str:
    # Spreadsheet programs run cells that start with these as formulas.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _reach_rows(announcement: Announcement, found: selectors.Reach) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(["section", "name", "status", "delivered", "in_digest", "opened", "reached"])
    yield writer.writerow(["community", _csv_safe(announcement.community.name), "home", "", "", "", ""])
    for promotion in found.promotions:
        yield writer.writerow(
            ["community", _csv_safe(promotion.community.name), promotion.current_status, "", "", "", ""]
        )
    for row in [*found.rows, found.totals]:
        yield writer.writerow(
            ["agency", _csv_safe(row.agency), "", row.delivered, row.digested, row.opened, row.reached]
        )


@login_required
@require_GET
def reach_csv(request: HttpRequest, announcement_id: int) -> HttpResponse:
    announcement = selectors.access_managed_announcement(request.user, announcement_id)
    rows = _reach_rows(announcement, selectors.reach_of(announcement))
    response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="announcement-{announcement.pk}-reach.csv"'
    return response


# --- Feeds and subscriptions -----------------------------------------------------------------


def _feeds_page(request: HttpRequest, *, token: str = "", form: SubscribeForm | None = None) -> HttpResponse:
    user = request.user
    context = {
        "subscriptions": selectors.subscriptions_of(user),
        "form": form or SubscribeForm(choices=selectors.subscription_choices(user)),
        "has_token": bool(token) or selectors.has_feed_token(user),
        "private_feeds": [
            (label, mime, request.build_absolute_uri(path))
            for label, mime, path in feed_links("announcement_private_feed", token)
        ]
        if token
        else [],
    }
    return render(request, "announcements/feeds.html", context, status=400 if form and form.errors else 200)


@login_required
@require_GET
def feeds_page(request: HttpRequest) -> HttpResponse:
    return _feeds_page(request)


@login_required
@require_POST
def feed_token_reset(request: HttpRequest) -> HttpResponse:
    """A new private feed address, shown in this response only (only its hash is kept)."""
    token = actions.reset_feed_token(actor=request.user)
    return _feeds_page(request, token=token)


_TARGETS = {"community": Community, "program": Program, "tag": Tag}


@login_required
@require_POST
def subscribe(request: HttpRequest) -> HttpResponse:
    form = SubscribeForm(request.POST, choices=selectors.subscription_choices(request.user))
    if not form.is_valid():
        return _feeds_page(request, form=form)
    kind, pk = form.cleaned_data["target"]
    target = get_object_or_404(_TARGETS[kind], pk=pk)
    try:
        subscription = actions.subscribe(actor=request.user, frequency=form.cleaned_data["frequency"], **{kind: target})
    except ActionError as exc:
        form_error(form, exc)
        return _feeds_page(request, form=form)
    ok = f"You follow {subscription.target_label}: {subscription.get_frequency_display().lower()}."
    return back(request, "announcement_feeds", ok=ok)


@login_required
@require_POST
def subscription_delete(request: HttpRequest, subscription_id: int) -> HttpResponse:
    subscription = get_object_or_404(Subscription, pk=subscription_id, user=request.user)
    actions.unsubscribe(actor=request.user, subscription=subscription)
    return back(request, "announcement_feeds", ok=f"You no longer follow {subscription.target_label}.")


@csrf_exempt  # the signed token is the credential; mail programs post here without a session (RFC 8058)
@require_http_methods(["GET", "POST"])
def unsubscribe_link(request: HttpRequest, token: str) -> HttpResponse:
    """The link in every announcement email: works without signing in. A GET only asks,
    so that link checkers in mail systems unsubscribe nobody."""
    try:
        subscription = actions.subscription_for_token(token)
    except ActionError as exc:
        return render(request, "announcements/unsubscribe.html", {"invalid": exc.message}, status=400)
    if request.method == "POST" and subscription is not None:
        actions.unsubscribe_with_token(token=token)
        return render(request, "announcements/unsubscribe.html", {"done": subscription})
    return render(request, "announcements/unsubscribe.html", {"subscription": subscription})
