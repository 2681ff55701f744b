"""Document pages. Each view parses input, calls one action or selector, renders.

A document the person may not view is a 404 on every route, exactly like one that does not
exist (including its old versions and shares); one they view but may not act on is a 403.
Upload views read the request body only after the size limit is in place, so an oversized
upload is never spooled to disk.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from communities import selectors as community_selectors
from communities.documents import actions, selectors, uploads
from communities.documents.forms import (
    AccessForm,
    DocumentFilterForm,
    EditForm,
    RequestShareForm,
    ReviseForm,
    ShareForm,
    UploadForm,
)
from communities.documents.models import Document, ShareDirection, ShareStatus
from communities.models import Community
from messaging import events
from workspace import policy
from workspace.exceptions import ActionError
from workspace.models import Agency
from workspace.web import back, form_error, paginate

LIST_PAGE_SIZE = 25
VERSIONS_PAGE_SIZE = 20
PEOPLE_PAGE_SIZE = 50


class UploadLimit(FileUploadHandler):
    """Stops storing a file upload once it passes ``DOCUMENT_MAX_UPLOAD_MB``: the rest of
    the body is read and dropped, and the view shows the limit."""

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.limit = uploads.max_upload_bytes()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > self.limit:
            self.request.document_upload_too_large = True  # type: ignore[union-attr]
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


def _too_large(request: HttpRequest, form: UploadForm | ReviseForm) -> bool:
    if getattr(request, "document_upload_too_large", False):
        form.is_valid()  # clean the rest, so its errors show too
        form.errors.pop("file", None)
        form.add_error("file", f"The file is larger than the limit of {settings.DOCUMENT_MAX_UPLOAD_MB:g} MB.")
        return True
    return False


def _status(form: UploadForm | ReviseForm, too_large: bool, conflict: bool = False) -> int:
    if too_large:
        return 413
    if conflict:
        return 409
    return 400 if form.errors else 200


# --- The documents of a community ----------------------------------------------------------


@login_required
@require_GET
def document_list(request: HttpRequest, slug: str) -> HttpResponse:
    community = community_selectors.access_community(request.user, slug, "view_content")
    live_seq = events.current_seq(community.stream)  # before the rows, as for threads
    form = DocumentFilterForm(
        request.GET or None,
        tags=selectors.tags_in_community(request.user, community).order_by("name"),
        agencies=selectors.owning_agencies_in_community(request.user, community).order_by("name"),
    )
    filters = selectors.DocumentFilters()
    if form.is_bound and form.is_valid():
        filters = selectors.DocumentFilters(**{k: v for k, v in form.cleaned_data.items() if v})
    page = paginate(request, selectors.documents_in_community(request.user, community, filters), LIST_PAGE_SIZE)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "community": community,
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "filtered": any((filters.tag, filters.agency, filters.type)),
        "live_seq": live_seq,
        # Live rows go on top only where the newest change belongs on top.
        "live_rows": page.number == 1
        and not any((filters.tag, filters.agency, filters.type))
        and filters.sort == "updated",
        "can_add": policy.can(request.user, "add_document", community),
    }
    return render(request, "documents/list.html", context, status=400 if form.errors else 200)


def _members(community: Community):  # type: ignore[no-untyped-def]
    return Agency.objects.filter(community_memberships__community=community).order_by("name")


@csrf_exempt
def document_upload(request: HttpRequest, slug: str) -> HttpResponse:
    # The limit must be in place before anything reads the body (CSRF checks do).
    request.upload_handlers.insert(0, UploadLimit(request))
    return _document_upload(request, slug)


@login_required
@require_http_methods(["GET", "POST"])
@csrf_protect
def _document_upload(request: HttpRequest, slug: str) -> HttpResponse:
    community = community_selectors.access_community(request.user, slug, "add_document")
    posted = request.method == "POST"
    form = UploadForm(request.POST if posted else None, request.FILES if posted else None, members=_members(community))
    too_large = request.method == "POST" and _too_large(request, form)
    if request.method == "POST" and not too_large and form.is_valid():
        try:
            document = actions.add_document(actor=request.user, community=community, **form.action_arguments())
        except ActionError as exc:
            form_error(form, exc)
        else:
            return back(request, "document_detail", document.pk, ok=f"“{document.title}” is added.")
    context = {"community": community, "form": form}
    return render(request, "documents/upload.html", context, status=_status(form, too_large))


# --- One document ---------------------------------------------------------------------------


def _render_document(
    request: HttpRequest,
    document: Document,
    *,
    share_form: ShareForm | None = None,
    request_form: RequestShareForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    can_manage = policy.can(user, "manage", document)
    shares = list(selectors.shares_of(document))
    accepted = [s for s in shares if s.status == ShareStatus.ACCEPTED]
    context = {
        "document": document,
        "community": document.community,
        "sees_community": policy.can(user, "see", document.community),
        "reads_community": policy.can(user, "view_content", document.community),
        # Either side may stop an accepted share: its managers, or the receiving side.
        "endable": {s.pk for s in accepted if can_manage or selectors.speaks_for_receiver(user, s)},
        "versions": paginate(request, selectors.versions_of(document), VERSIONS_PAGE_SIZE),
        "tags": list(document.tags.order_by("name")),
        "accepted_shares": accepted,
        "pending_shares": [s for s in shares if s.status != ShareStatus.ACCEPTED] if can_manage else [],
        "member_access": selectors.member_access(document),
        "can_revise": policy.can(user, "revise", document) and not document.community.is_archived,
        "can_manage": can_manage,
        "offer": ShareDirection.OFFER,
    }
    if can_manage:
        context["share_form"] = share_form or ShareForm(
            communities=selectors.communities_to_offer(document), agencies=selectors.agencies_to_offer(document)
        )
    requestable = selectors.communities_to_request(user, document)
    if request_form is not None or (not can_manage and requestable.exists()):
        context["request_form"] = request_form or RequestShareForm(communities=requestable)
    return render(request, "documents/detail.html", context, status=status)


@login_required
@require_GET
def document_detail(request: HttpRequest, document_id: int) -> HttpResponse:
    return _render_document(request, selectors.access_document(request.user, document_id))


@login_required
@require_GET
def document_download(request: HttpRequest, document_id: int, number: int | None = None) -> HttpResponseBase:
    document = selectors.access_document(request.user, document_id)
    version = selectors.access_version(document, number)
    actions.record_download(actor=request.user, version=version)
    return uploads.file_response(blob=version.blob, filename=version.filename, content_type=version.content_type)


@csrf_exempt
def document_revise(request: HttpRequest, document_id: int) -> HttpResponse:
    request.upload_handlers.insert(0, UploadLimit(request))
    return _document_revise(request, document_id)


@login_required
@require_http_methods(["GET", "POST"])
@csrf_protect
def _document_revise(request: HttpRequest, document_id: int) -> HttpResponse:
    document = selectors.access_document(request.user, document_id, "revise")
    current = selectors.access_version(document)
    initial = {"based_on": current.number}
    posted = request.method == "POST"
    form = ReviseForm(request.POST if posted else None, request.FILES if posted else None, initial=initial)
    too_large = request.method == "POST" and _too_large(request, form)
    conflict = False
    if request.method == "POST" and not too_large and form.is_valid():
        try:
            version = actions.revise_document(actor=request.user, document=document, **_revise_arguments(form))
        except ActionError as exc:
            form_error(form, exc)
            conflict = exc.code == "conflict"
        else:
            ok = f"Version {version.number} of “{document.title}” is uploaded."
            return back(request, "document_detail", document.pk, ok=ok)
    context = {"document": document, "current": current, "form": form, "conflict": conflict}
    return render(request, "documents/revise.html", context, status=_status(form, too_large, conflict))


def _revise_arguments(form: ReviseForm) -> dict[str, object]:
    data = form.cleaned_data
    return {"upload": data["file"], "based_on": data["based_on"], "change_note": data["change_note"]}


@login_required
@require_http_methods(["GET", "POST"])
def document_edit(request: HttpRequest, document_id: int) -> HttpResponse:
    document = selectors.access_document(request.user, document_id, "manage")
    initial = {
        "title": document.title,
        "description": document.description,
        "tags": ", ".join(tag.name for tag in document.tags.order_by("name")),
        "retention": document.retention,
    }
    form = EditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            actions.update_document(actor=request.user, document=document, **form.cleaned_data)
        except ActionError as exc:
            form_error(form, exc)
        else:
            return back(request, "document_detail", document.pk, ok="Saved.")
    context = {"document": document, "form": form}
    return render(request, "documents/edit.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def document_access(request: HttpRequest, document_id: int) -> HttpResponse:
    """Who may see, revise and manage the document: managers change it here."""
    document = selectors.access_document(request.user, document_id, "manage")
    rows = selectors.member_access(document)
    initial = {"audience": "named" if document.restricted else "community"}
    form = AccessForm(request.POST or None, rows=rows, owner_id=document.owning_agency_id, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            actions.set_document_access(
                actor=request.user,
                document=document,
                restricted=form.cleaned_data["audience"] == "named",
                levels=form.levels(),
            )
        except ActionError as exc:
            form_error(form, exc)
        else:
            return back(request, "document_detail", document.pk, ok="Access is changed, from the next request on.")
    context = {"document": document, "form": form}
    return render(request, "documents/access.html", context, status=400 if form.errors else 200)


@login_required
@require_GET
def document_people(request: HttpRequest, document_id: int) -> HttpResponse:
    """Everyone who can see the document, and why, in the policy's words."""
    document = selectors.access_document(request.user, document_id)
    page = paginate(request, selectors.people_who_can_view(document), PEOPLE_PAGE_SIZE)
    context = {
        "document": document,
        "page": page,
        "rows": selectors.explain_document_access(document, list(page.object_list)),
    }
    return render(request, "documents/people.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def document_delete(request: HttpRequest, document_id: int) -> HttpResponse:
    document = selectors.access_document(request.user, document_id, "manage")
    if request.method == "GET":
        return render(request, "documents/delete_confirm.html", {"document": document})
    community = document.community
    try:
        actions.delete_document(actor=request.user, document=document)
    except ActionError as exc:
        return back(request, "document_detail", document.pk, exc=exc)
    return back(request, "document_list", community.slug, ok=f"“{document.title}” and all its versions are deleted.")


# --- Sharing --------------------------------------------------------------------------------


@login_required
@require_POST
def document_share(request: HttpRequest, document_id: int) -> HttpResponse:
    document = selectors.access_document(request.user, document_id, "manage")
    form = ShareForm(
        request.POST,
        communities=selectors.communities_to_offer(document),
        agencies=selectors.agencies_to_offer(document),
    )
    if form.is_valid():
        try:
            share = actions.offer_share(actor=request.user, document=document, **form.action_arguments())
        except ActionError as exc:
            form_error(form, exc)
        else:
            ok = f"“{document.title}” is offered to {share.recipient}. Nothing changes until they accept."
            return back(request, "document_detail", document.pk, ok=ok)
    return _render_document(request, document, share_form=form, status=400)


@login_required
@require_POST
def document_request_share(request: HttpRequest, document_id: int) -> HttpResponse:
    document = selectors.access_document(request.user, document_id)
    form = RequestShareForm(request.POST, communities=selectors.communities_to_request(request.user, document))
    if form.is_valid():
        community = form.cleaned_data["community"]
        try:
            actions.request_share(
                actor=request.user, document=document, community=community, message=form.cleaned_data["message"]
            )
        except ActionError as exc:
            form_error(form, exc)
        else:
            ok = f"You asked to share “{document.title}” with {community.name}. Its managers will decide."
            return back(request, "document_detail", document.pk, ok=ok)
    return _render_document(request, document, request_form=form, status=400)


def _after_share(request: HttpRequest, share, exc: ActionError | None = None, ok: str = "") -> HttpResponse:  # type: ignore[no-untyped-def]
    policy.forget(request.user)
    if policy.can(request.user, "view", share.document):
        return back(request, "document_detail", share.document_id, exc=exc, ok=ok)
    return back(request, "document_inbox", exc=exc, ok=ok)


def _share_view(verb: str, ok: str):  # type: ignore[no-untyped-def]
    do = getattr(actions, f"{verb}_share")

    @login_required
    @require_POST
    def view(request: HttpRequest, share_id: int) -> HttpResponse:
        share = selectors.access_share(request.user, share_id)
        try:
            do(actor=request.user, share=share)
        except ActionError as exc:
            return _after_share(request, share, exc=exc)
        return _after_share(request, share, ok=ok.format(title=share.document.title, recipient=share.recipient))

    view.__name__ = f"share_{verb}"
    return view


share_accept = _share_view("accept", "“{title}” is shared with {recipient}.")
share_decline = _share_view("decline", "You declined sharing “{title}” with {recipient}.")
share_withdraw = _share_view("withdraw", "The share of “{title}” with {recipient} is withdrawn.")
share_end = _share_view("end", "“{title}” is no longer shared with {recipient}.")


@login_required
@require_GET
def document_inbox(request: HttpRequest) -> HttpResponse:
    """Shares waiting for the person's decision, and documents shared with their agency."""
    context = {
        "awaiting": selectors.shares_awaiting(request.user),
        "shared": paginate(request, selectors.shared_with_agency(request.user), LIST_PAGE_SIZE),
        "offer": ShareDirection.OFFER,
    }
    return render(request, "documents/inbox.html", context)
