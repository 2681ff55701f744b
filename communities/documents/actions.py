"""Write path for shared documents. One function per intent: each checks the policy,
writes in one transaction (rows, guardian grants, audit event, live events, notifications)
and, when it stores a file, stores it completely before that transaction starts and
deletes it again if the transaction fails."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.text import slugify

from communities.documents import grants, uploads
from communities.documents.models import (
    AccessLevel,
    Document,
    DocumentShare,
    DocumentVersion,
    Retention,
    ShareDirection,
    ShareStatus,
)
from communities.models import Community, CommunityMembership, CommunityRole, Tag
from messaging import events
from messaging.notifications import agency_admins, notify
from search import indexer
from workspace import audit, policy
from workspace.exceptions import ActionError
from workspace.models import Agency, User

T = TypeVar("T")

TITLE_MAX = Document._meta.get_field("title").max_length
NOTE_MAX = DocumentVersion._meta.get_field("change_note").max_length


def _path(document: Document) -> str:
    return reverse("document_detail", args=[document.pk])


def _lock(document: Document) -> Document:
    """Lock the document row: revisions and access changes of one document take turns."""
    return (
        Document.objects.select_for_update(of=("self",))
        .select_related("community", "owning_agency")
        .get(pk=document.pk)
    )


def _with_file(prepared: uploads.Prepared, write: Callable[[str], T]) -> T:
    """Keep the prepared file under its generated name, then run ``write(blob)`` in a
    transaction. If the transaction fails, the file is deleted: no orphan rows or files."""
    blob = uploads.keep(prepared)
    try:
        with transaction.atomic():
            return write(blob)
    except BaseException:
        uploads.delete_blob(blob)
        raise


def _prepare(upload: UploadedFile | None) -> uploads.Prepared:
    return uploads.prepare(upload)  # type: ignore[arg-type]


def _check_note(change_note: str) -> str:
    change_note = " ".join((change_note or "").split())
    if len(change_note) > NOTE_MAX:
        raise ActionError(f"Keep the change note under {NOTE_MAX} characters.", field="change_note")
    return change_note


def _check_about(title: str, retention: str) -> str:
    title = " ".join((title or "").split())
    if not title:
        raise ActionError("Give the document a title.", field="title")
    if len(title) > TITLE_MAX:
        raise ActionError(f"Keep the title under {TITLE_MAX} characters.", field="title")
    if retention not in Retention.values:
        raise ActionError("Choose a retention label from the list.", field="retention")
    return title


def _set_tags(document: Document, labels: Iterable[str]) -> None:
    tags = []
    for label in {t.strip() for t in labels if t.strip()}:
        tag, _ = Tag.objects.get_or_create(slug=slugify(label)[:40], defaults={"name": label[:40]})
        tags.append(tag)
    document.tags.set(tags)


def _member_agencies(community: Community) -> dict[int, Agency]:
    return {
        m.agency_id: m.agency for m in CommunityMembership.objects.filter(community=community).select_related("agency")
    }


def _data(document: Document, version: DocumentVersion | None = None) -> dict[str, Any]:
    """What a live event says about a document: no more than its readers may see."""
    version = version or document.current_version
    return {
        "id": document.pk,
        "title": document.title,
        "community": document.community_id,
        "community_name": document.community.name,
        "agency": document.owning_agency.short_name,
        "restricted": document.restricted,
        "version": version.number if version else None,
        "type": version.type_label if version else "",
        "uploaded_by": version.uploaded_by.full_name if version else "",
        "updated_at": document.updated_at,
        "url": _path(document),
    }


def _announce(document: Document, kind: str, data: dict[str, Any], *, home: bool = True) -> None:
    """Append ``kind`` to the streams of the communities whose readers see the document:
    its own (unless it is restricted: a restricted document's title must not reach the
    other agencies' sockets) and those it is shared with."""
    streams = []
    if home and not document.restricted:
        streams.append(document.community_id)
    streams += list(
        DocumentShare.objects.filter(document=document, status=ShareStatus.ACCEPTED, community__isnull=False)
        .order_by("pk")
        .values_list("community_id", flat=True)
    )
    for community_id in streams:
        events.append(f"community:{community_id}", kind, {"document": data})


def _store_version(
    *,
    actor: User,
    document: Document,
    prepared: uploads.Prepared,
    blob: str,
    number: int,
    change_note: str,
    based_on: DocumentVersion | None,
) -> DocumentVersion:
    version = DocumentVersion.objects.create(
        document=document,
        number=number,
        blob=blob,
        filename=prepared.filename,
        size=prepared.size,
        content_type=prepared.file_type.content_type,
        sha256=prepared.sha256,
        uploaded_by=actor,
        uploaded_by_agency=actor.agency,
        change_note=change_note,
        based_on=based_on,
        text=prepared.text,
        text_status=prepared.text_status,
    )
    document.current_version = version
    document.updated_at = version.uploaded_at
    document.save(update_fields=["current_version", "updated_at"])
    return version


# --- Adding and revising --------------------------------------------------------------------


def add_document(
    *,
    actor: User,
    community: Community,
    upload: UploadedFile | None,
    title: str = "",
    description: str = "",
    tags: Iterable[str] = (),
    retention: str = Retention.WORKING,
    change_note: str = "",
    restrict_to: Iterable[Agency] | None = None,
) -> Document:
    """Add a document to the community, owned by the actor's agency, with its first version.

    With ``restrict_to`` only those member agencies (and the actor's own) may see it, from
    the start. The title defaults to the file's name.
    """
    policy.check(actor, "add_document", community)
    agency = actor.agency
    assert agency is not None  # posting in a community requires an agency
    change_note = _check_note(change_note)
    members = _member_agencies(community)
    named: list[Agency] = []
    if restrict_to is not None:
        named = list(restrict_to)
        strangers = [a for a in named if a.pk not in members]
        if strangers:
            raise ActionError(
                f"{strangers[0].name} is not a member of {community.name}; share the document with it instead.",
                field="restrict_to",
            )
    prepared = _prepare(upload)
    try:
        title = _check_about(title or prepared.filename.rsplit(".", 1)[0], retention)
    except ActionError:
        uploads.discard(prepared.temp)
        raise

    def write(blob: str) -> Document:
        document = Document.objects.create(
            community=community,
            owning_agency=agency,
            title=title,
            description=(description or "").strip(),
            retention=retention,
            restricted=restrict_to is not None,
            created_by=actor,
        )
        _set_tags(document, tags)
        version = _store_version(
            actor=actor,
            document=document,
            prepared=prepared,
            blob=blob,
            number=1,
            change_note=change_note,
            based_on=None,
        )
        grants.set_level(document, agency, grants.OWNER_LEVEL)
        for other in named:
            if other.pk != agency.pk:
                grants.set_level(document, other, AccessLevel.VIEW)
        audit.record(
            actor=actor,
            verb="document.added",
            target=document,
            agency=agency,
            details={
                "community": community.slug,
                "filename": version.filename,
                "sha256": version.sha256,
                "size": version.size,
                "content_type": version.content_type,
                "restricted_to": sorted(a.slug for a in named) if restrict_to is not None else None,
            },
        )
        _announce(document, "document.added", _data(document, version))
        indexer.index_on_commit(document, deferred=True)
        return document

    document = _with_file(prepared, write)
    policy.forget(actor)
    return document


def _conflict(current: DocumentVersion, based_on: int) -> ActionError:
    when = dateformat.format(timezone.localtime(current.uploaded_at), "M j, Y \\a\\t g:i A")
    who = current.uploaded_by.full_name
    agency = current.uploaded_by_agency.short_name
    return ActionError(
        f"{who} ({agency}) uploaded version {current.number} on {when}, after version {based_on} that you "
        f"started from. Nothing was overwritten and your file was not saved: download version {current.number}, "
        "bring your changes into it, and upload again.",
        field="file",
        code="conflict",
    )


def revise_document(
    *, actor: User, document: Document, upload: UploadedFile | None, based_on: int, change_note: str
) -> DocumentVersion:
    """Upload a new version, started from version ``based_on``.

    Refused, with who uploaded what and when, if ``based_on`` is no longer the current
    version: nobody silently overwrites someone else's revision.
    """
    policy.check(actor, "revise", document)
    if document.community.is_archived:
        raise ActionError("This community is archived; its documents are read-only.", code="archived")
    change_note = _check_note(change_note)
    if not change_note:
        raise ActionError("Say in a few words what changed in this version.", field="change_note")
    prepared = _prepare(upload)

    def write(blob: str) -> DocumentVersion:
        locked = _lock(document)
        current = (
            DocumentVersion.objects.select_related("uploaded_by", "uploaded_by_agency")
            .filter(pk=locked.current_version_id)
            .first()
        )
        if current is None or current.number != based_on:
            raise _conflict(current, based_on) if current else ActionError("This document has no versions.")
        version = _store_version(
            actor=actor,
            document=locked,
            prepared=prepared,
            blob=blob,
            number=current.number + 1,
            change_note=change_note,
            based_on=current,
        )
        audit.record(
            actor=actor,
            verb="document.revised",
            target=locked,
            agency=locked.owning_agency,
            details={
                "version": version.number,
                "based_on": current.number,
                "filename": version.filename,
                "sha256": version.sha256,
                "size": version.size,
            },
        )
        _announce(locked, "document.revised", _data(locked, version))
        indexer.index_on_commit(locked)
        return version

    return _with_file(prepared, write)


# --- Describing and removing ----------------------------------------------------------------


def update_document(
    *,
    actor: User,
    document: Document,
    title: str,
    description: str = "",
    tags: Iterable[str] = (),
    retention: str = Retention.WORKING,
) -> Document:
    """Rename the document or change its description, tags and retention label."""
    policy.check(actor, "manage", document)
    title = _check_about(title, retention)
    with transaction.atomic():
        document = _lock(document)
        changed = {
            field: value
            for field, value in {
                "title": title,
                "description": (description or "").strip(),
                "retention": retention,
            }.items()
            if getattr(document, field) != value
        }
        for field, value in changed.items():
            setattr(document, field, value)
        document.save()
        _set_tags(document, tags)
        audit.record(
            actor=actor,
            verb="document.updated",
            target=document,
            agency=document.owning_agency,
            details={"changed": sorted(changed)},
        )
        if "title" in changed:
            _announce(document, "document.updated", _data(document))
        indexer.index_on_commit(document)
    return document


def delete_document(*, actor: User, document: Document) -> None:
    """Delete the document with every version; the files go once the deletion commits."""
    policy.check(actor, "manage", document)
    with transaction.atomic():
        document = _lock(document)
        versions = list(document.versions.values("blob", "number", "sha256"))
        audit.record(
            actor=actor,
            verb="document.deleted",
            target=document,
            agency=document.owning_agency,
            details={
                "community": document.community.slug,
                "versions": [{"number": v["number"], "sha256": v["sha256"]} for v in versions],
            },
        )
        _announce(document, "document.removed", {"id": document.pk})
        blobs = [v["blob"] for v in versions]
        indexer.remove_on_commit(document)
        document.delete()

        def delete_files() -> None:
            for blob in blobs:
                uploads.delete_blob(blob)

        transaction.on_commit(delete_files)


def record_download(*, actor: User, version: DocumentVersion) -> None:
    """Write the audit event of a download, after checking the person may still view it."""
    document = version.document
    policy.check(actor, "view", document)
    with transaction.atomic():
        audit.record(
            actor=actor,
            verb="document.downloaded",
            target=document,
            agency=document.owning_agency,
            details={"version": version.number, "sha256": version.sha256},
        )


# --- Who may see, revise and manage ----------------------------------------------------------


def set_document_access(
    *, actor: User, document: Document, restricted: bool, levels: Mapping[Agency, str | None]
) -> Document:
    """Set what each member agency may do with the document, and whether only the named
    agencies may see it (``restricted``) or every reader of the community.

    ``levels`` covers member agencies; one left out holds nothing beyond the community
    default. The owning agency always manages. Agencies the document is shared with are
    changed through their share. Effective on the next request.
    """
    policy.check(actor, "manage", document)
    with transaction.atomic():
        document = _lock(document)
        members = _member_agencies(document.community)
        for agency, level in levels.items():
            if agency.pk not in members:
                raise ActionError(f"{agency.name} is not a member of {document.community.name}.", field="levels")
            if level is not None and level not in AccessLevel.values:
                raise ActionError("Choose view, revise or manage.", field="levels")
        wanted = {agency.pk: level for agency, level in levels.items()}
        wanted[document.owning_agency_id] = grants.OWNER_LEVEL
        if not any(level == AccessLevel.MANAGE for level in wanted.values()):  # pragma: no cover - owner always
            raise ActionError("At least one agency must manage the document.")
        before = grants.levels(document)
        was_restricted = document.restricted
        for agency_id, agency in members.items():
            level = wanted.get(agency_id)
            if before.get(agency_id) != level:
                grants.set_level(document, agency, level)
        if was_restricted != restricted:
            document.restricted = restricted
            document.save(update_fields=["restricted"])
        after = {agency_id: level for agency_id, level in wanted.items() if level is not None}
        audit.record(
            actor=actor,
            verb="document.access_changed",
            target=document,
            agency=document.owning_agency,
            details={
                "restricted": restricted,
                "levels": {members[agency_id].slug: level for agency_id, level in sorted(after.items())},
            },
        )
        if restricted and not was_restricted:
            # Readers who are not named lose it: their live lists drop it. The shared stream
            # cannot tell who is named, so it says only that access was narrowed (no title).
            events.append(
                f"community:{document.community_id}",
                "document.removed",
                {"document": {"id": document.pk, "reason": "restricted"}},
            )
        elif was_restricted and not restricted:
            events.append(f"community:{document.community_id}", "document.added", {"document": _data(document)})
        indexer.index_on_commit(document)
    policy.forget(actor)
    return document


# --- Sharing beyond the community -----------------------------------------------------------


def _expiry():  # type: ignore[no-untyped-def]
    return timezone.now() + settings.COMMUNITY_CONSENT_TTL


def _receiving_deciders(share: DocumentShare) -> list[User]:
    if share.agency_id is not None:
        return agency_admins([share.agency])  # type: ignore[list-item]
    owners = Agency.objects.filter(
        community_memberships__community=share.community, community_memberships__role=CommunityRole.OWNER
    )
    return agency_admins(owners)


def _speaks_for_receiver(actor: User, share: DocumentShare) -> bool:
    """The actor decides for the receiving side: owners of the community, admins of the agency."""
    if share.community_id is not None:
        return policy.can(actor, "manage", share.community)  # type: ignore[arg-type]
    return policy.can(actor, "manage_communities", share.agency)  # type: ignore[arg-type]


def _check_receiving_side(actor: User, share: DocumentShare) -> None:
    if not _speaks_for_receiver(actor, share):
        raise PermissionDenied("Only the receiving side's owners or admins can do this.")


def _check_target(
    document: Document, community: Community | None, agency: Agency | None, level: str
) -> tuple[Community | None, Agency | None]:
    if (community is None) == (agency is None):
        raise ActionError("Choose one community or one agency to share with.", field="target")
    if community is not None:
        if community.pk == document.community_id:
            raise ActionError("The document is already in this community.", field="target")
        if community.is_archived:
            raise ActionError(f"{community.name} is archived.", field="target")
        if level != AccessLevel.VIEW:
            raise ActionError("A community can be given view access only.", field="level")
    else:
        assert agency is not None
        if not agency.is_active:
            raise ActionError(f"{agency.name} is not active.", field="target")
        if CommunityMembership.objects.filter(community=document.community_id, agency=agency).exists():
            raise ActionError(
                f"{agency.name} is a member of {document.community.name}: set what it may do under "
                "“Who may see, revise and manage it”.",
                field="target",
            )
        if level not in (AccessLevel.VIEW, AccessLevel.REVISE):
            raise ActionError("An agency outside the community can be given view or revise access.", field="level")
    open_shares = DocumentShare.objects.filter(document=document, community=community, agency=agency)
    if open_shares.accepted().exists():
        raise ActionError("The document is already shared there.", field="target")
    if open_shares.pending().exists():
        raise ActionError("A share there is already waiting for a decision.", field="target")
    return community, agency


def offer_share(
    *,
    actor: User,
    document: Document,
    community: Community | None = None,
    agency: Agency | None = None,
    level: str = AccessLevel.VIEW,
    message: str = "",
) -> DocumentShare:
    """Offer the document to another community (view) or agency (view or revise). Nothing
    changes until the receiving side accepts."""
    policy.check(actor, "manage", document)
    with transaction.atomic():
        document = _lock(document)
        community, agency = _check_target(document, community, agency, level)
        share = DocumentShare.objects.create(
            document=document,
            community=community,
            agency=agency,
            level=level,
            direction=ShareDirection.OFFER,
            message=(message or "").strip(),
            created_by=actor,
            expires_at=_expiry(),
        )
        recipient = share.recipient
        audit.record(
            actor=actor,
            verb="document.share_offered",
            target=document,
            agency=document.owning_agency,
            details={"to": str(recipient), "level": level},
        )
        notify(
            _receiving_deciders(share),
            kind="document.share_offered",
            title=f"{document.owning_agency.short_name} offers a document to {recipient}",
            body=f"{actor.full_name} ({document.owning_agency.name}) offers “{document.title}” from "
            f"{document.community.name} to {recipient}, to {share.get_level_display().lower()}."
            + (f"\n\n{share.message}" if share.message else "")
            + "\n\nAccept or decline it in Shared documents.",
            url=reverse("document_inbox"),
        )
    return share


def request_share(*, actor: User, document: Document, community: Community, message: str = "") -> DocumentShare:
    """Owners of another community, who can see the document, ask for it to be shared there
    (view). The document's managers approve or decline."""
    policy.check(actor, "view", document)
    policy.check(actor, "manage", community)
    with transaction.atomic():
        document = _lock(document)
        _check_target(document, community, None, AccessLevel.VIEW)
        share = DocumentShare.objects.create(
            document=document,
            community=community,
            level=AccessLevel.VIEW,
            direction=ShareDirection.REQUEST,
            message=(message or "").strip(),
            created_by=actor,
            expires_at=_expiry(),
        )
        audit.record(
            actor=actor,
            verb="document.share_requested",
            target=document,
            agency=document.owning_agency,
            details={"to": community.slug},
        )
        notify(
            agency_admins([document.owning_agency]),
            kind="document.share_requested",
            title=f"{community.name} asks for “{document.title}”",
            body=f"{actor.full_name} ({actor.agency}) asks to share “{document.title}” with {community.name}."
            + (f"\n\n{share.message}" if share.message else "")
            + "\n\nApprove or decline it on the document's page.",
            url=_path(document),
        )
    return share


def _lock_share(share: DocumentShare, *statuses: str) -> DocumentShare:
    locked = (
        DocumentShare.objects.select_for_update(of=("self",))
        .select_related("document", "community", "agency")
        .get(pk=share.pk)
    )
    status = locked.current_status
    if status not in statuses:
        if status == ShareStatus.EXPIRED:
            raise ActionError("This share has expired. Offer or ask again.")
        raise ActionError(f"This share is already {locked.get_status_display().lower()}.")
    return locked


def _check_decider(actor: User, share: DocumentShare) -> None:
    if share.direction == ShareDirection.OFFER:
        _check_receiving_side(actor, share)
    else:
        policy.check(actor, "manage", share.document)


def accept_share(*, actor: User, share: DocumentShare) -> DocumentShare:
    """The side that did not ask accepts: the document is visible there from the next request."""
    _check_decider(actor, share)
    with transaction.atomic():
        document = _lock(share.document)
        share = _lock_share(share, ShareStatus.PENDING)
        share.status = ShareStatus.ACCEPTED
        share.decided_by = actor
        share.decided_at = timezone.now()
        share.save(update_fields=["status", "decided_by", "decided_at"])
        if share.agency is not None:
            grants.set_level(document, share.agency, share.level)
        indexer.index_on_commit(document)
        audit.record(
            actor=actor,
            verb="document.share_accepted",
            target=document,
            agency=document.owning_agency,
            details={"to": str(share.recipient), "level": share.level},
        )
        if share.community_id is not None:
            events.append(f"community:{share.community_id}", "document.shared", {"document": _data(document)})
        if not document.restricted:
            events.append(
                f"community:{document.community_id}",
                "document.shared",
                {"document": {**_data(document), "with": str(share.recipient)}},
            )
        asker = agency_admins([document.owning_agency]) if share.direction == ShareDirection.OFFER else []
        notify(
            [*asker, share.created_by],
            kind="document.share_accepted",
            title=f"“{document.title}” is shared with {share.recipient}",
            body=f"{actor.full_name} ({actor.agency}) accepted: “{document.title}” is shared with {share.recipient}.",
            url=_path(document),
        )
    policy.forget(actor)
    return share


def decline_share(*, actor: User, share: DocumentShare) -> DocumentShare:
    _check_decider(actor, share)
    with transaction.atomic():
        share = _lock_share(share, ShareStatus.PENDING)
        share.status = ShareStatus.DECLINED
        share.decided_by = actor
        share.decided_at = timezone.now()
        share.save(update_fields=["status", "decided_by", "decided_at"])
        audit.record(
            actor=actor,
            verb="document.share_declined",
            target=share.document,
            agency=share.document.owning_agency,
            details={"to": str(share.recipient)},
        )
        notify(
            [share.created_by],
            kind="document.share_declined",
            title=f"Sharing “{share.document.title}” with {share.recipient} was declined",
            body=f"{actor.full_name} ({actor.agency}) declined sharing “{share.document.title}” with "
            f"{share.recipient}.",
            url=_path(share.document) if policy.can(share.created_by, "view", share.document) else "",
        )
    return share


def withdraw_share(*, actor: User, share: DocumentShare) -> DocumentShare:
    """The asking side takes back an offer or a request still waiting for a decision."""
    if share.direction == ShareDirection.OFFER:
        policy.check(actor, "manage", share.document)
    else:
        _check_receiving_side(actor, share)
    with transaction.atomic():
        share = _lock_share(share, ShareStatus.PENDING, ShareStatus.EXPIRED)
        share.status = ShareStatus.WITHDRAWN
        share.decided_by = actor
        share.decided_at = timezone.now()
        share.save(update_fields=["status", "decided_by", "decided_at"])
        audit.record(
            actor=actor,
            verb="document.share_withdrawn",
            target=share.document,
            agency=share.document.owning_agency,
            details={"to": str(share.recipient)},
        )
    return share


def end_share(*, actor: User, share: DocumentShare) -> DocumentShare:
    """Either side ends an accepted share; the receiving side loses the document on its
    next request."""
    if not (policy.can(actor, "manage", share.document) or _speaks_for_receiver(actor, share)):
        raise PermissionDenied("Only the document's managers or the receiving side can stop sharing.")
    with transaction.atomic():
        document = _lock(share.document)
        share = _lock_share(share, ShareStatus.ACCEPTED)
        share.status = ShareStatus.ENDED
        share.ended_by = actor
        share.ended_at = timezone.now()
        share.save(update_fields=["status", "ended_by", "ended_at"])
        if share.agency is not None:
            grants.clear(document, share.agency)
        else:
            events.append(f"community:{share.community_id}", "document.removed", {"document": {"id": document.pk}})
        indexer.index_on_commit(document)
        audit.record(
            actor=actor,
            verb="document.share_ended",
            target=document,
            agency=document.owning_agency,
            details={"to": str(share.recipient)},
        )
    policy.forget(actor)
    return share
