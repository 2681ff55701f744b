"""Read path for shared documents: querysets already filtered to what the person may see,
with the same conditions as the policy's document rules, in SQL."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from communities.documents import grants, uploads
from communities.documents.models import (
    AccessLevel,
    Document,
    DocumentGroupObjectPermission,
    DocumentShare,
    DocumentUserObjectPermission,
    DocumentVersion,
    ShareDirection,
    ShareStatus,
)
from communities.models import (
    Community,
    CommunityGroupObjectPermission,
    CommunityMembership,
    CommunityUserObjectPermission,
    Tag,
)
from communities.selectors import people_with_access
from workspace import policy
from workspace.models import Agency, User
from workspace.policy import Grant

# --- The visibility conditions ----------------------------------------------------------------


def _readable_community_ids(user: User) -> QuerySet[Community]:
    groups = user.groups.values("pk")
    via_group = CommunityGroupObjectPermission.objects.filter(
        group_id__in=groups, permission__codename="view_content"
    ).values("content_object_id")
    via_user = CommunityUserObjectPermission.objects.filter(user=user, permission__codename="view_content").values(
        "content_object_id"
    )
    return Community.objects.filter(Q(pk__in=via_group) | Q(pk__in=via_user)).values("pk")


def _granted(user: User, codename: str = "view") -> Q:
    """Documents on which one of the person's groups (or they) hold ``codename``."""
    via_group = DocumentGroupObjectPermission.objects.filter(
        group_id__in=user.groups.values("pk"), permission__codename=codename
    ).values("content_object_id")
    via_user = DocumentUserObjectPermission.objects.filter(user=user, permission__codename=codename).values(
        "content_object_id"
    )
    return Q(pk__in=via_group) | Q(pk__in=via_user)


def _signed_in(user: User) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def documents_for_user(user: User) -> QuerySet[Document]:
    """Every document the person may view, anywhere (the policy's ``view`` rule in SQL)."""
    if not _signed_in(user):
        return Document.objects.none()
    readable = _readable_community_ids(user)
    granted = _granted(user)
    agency = user.agency
    accepted = DocumentShare.objects.filter(status=ShareStatus.ACCEPTED)
    condition = Q(community_id__in=readable) & (Q(restricted=False) | granted)
    condition |= Q(pk__in=accepted.filter(community_id__in=readable).values("document_id"))
    if agency is not None:
        condition |= granted & Q(pk__in=accepted.filter(agency=agency).values("document_id"))
    return Document.objects.filter(condition)


# --- Fetch and authorize ------------------------------------------------------------------


def access_document(user: User, document_id: int, action: str = "view") -> Document:
    """A document the person may view, else 404 (whether it exists or not). Viewing it but
    lacking ``action`` is 403."""
    document = (
        Document.objects.select_related("community", "owning_agency", "current_version", "created_by")
        .filter(pk=document_id)
        .first()
    )
    if document is None or not policy.can(user, "view", document):
        raise Http404("No such document.")
    if action != "view" and not policy.can(user, action, document):
        raise PermissionDenied(f"You may not {action} this document.")
    return document


def access_version(document: Document, number: int | None = None) -> DocumentVersion:
    """One version of a document already authorized (the current one by default), or 404."""
    versions = DocumentVersion.objects.select_related("document", "uploaded_by").filter(document=document)
    version = versions.filter(number=number).first() if number is not None else versions.order_by("-number").first()
    if version is None:
        raise Http404("No such version.")
    return version


def access_share(user: User, share_id: int) -> DocumentShare:
    """A share the person may act on: they manage its document, or speak for its receiving
    side (owners of the community, admins of the agency). Anyone else: 404."""
    share = (
        DocumentShare.objects.select_related("document__community", "document__owning_agency", "community", "agency")
        .filter(pk=share_id)
        .first()
    )
    if share is None:
        raise Http404("No such share.")
    if not (policy.can(user, "manage", share.document) or speaks_for_receiver(user, share)):
        raise Http404("No such share.")
    return share


def speaks_for_receiver(user: User, share: DocumentShare) -> bool:
    """The person decides for the receiving side: owners of the community, admins of the agency."""
    if share.community_id is not None:
        return policy.can(user, "manage", share.community)  # type: ignore[arg-type]
    return policy.can(user, "manage_communities", share.agency)  # type: ignore[arg-type]


# --- Lists ----------------------------------------------------------------------------------

SORTS = {
    "updated": ("-updated_at", "-pk"),
    "title": ("title", "pk"),
    "added": ("-created_at", "-pk"),
}


@dataclass(frozen=True)
class DocumentFilters:
    tag: str = ""
    agency: str = ""
    type: str = ""
    sort: str = "updated"


def visible_in_community(user: User, community: Community) -> QuerySet[Document]:
    """Documents a reader of ``community`` sees there: its own (restricted ones only if
    their agency is named) and those shared into it. Precondition: they read it."""
    shared_in = DocumentShare.objects.filter(community=community, status=ShareStatus.ACCEPTED).values("document_id")
    return Document.objects.filter(
        (Q(community=community) & (Q(restricted=False) | _granted(user))) | Q(pk__in=shared_in)
    )


def documents_in_community(
    user: User, community: Community, filters: DocumentFilters | None = None
) -> QuerySet[Document]:
    """The community's document list, filtered and sorted, in a fixed number of queries."""
    filters = filters or DocumentFilters()
    documents = visible_in_community(user, community)
    if filters.tag:
        documents = documents.filter(tags__slug=filters.tag)
    if filters.agency:
        documents = documents.filter(owning_agency__slug=filters.agency)
    if filters.type:
        types = [t.content_type for t in uploads.FILE_TYPES if t.family == filters.type]
        documents = documents.filter(current_version__content_type__in=types)
    return (
        Document.objects.filter(pk__in=documents.values("pk"))
        .select_related("community", "owning_agency", "current_version__uploaded_by")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
        .order_by(*SORTS.get(filters.sort, SORTS["updated"]))
    )


def tags_in_community(user: User, community: Community) -> QuerySet[Tag]:
    return Tag.objects.filter(documents__in=visible_in_community(user, community).values("pk")).distinct()


def owning_agencies_in_community(user: User, community: Community) -> QuerySet[Agency]:
    return Agency.objects.filter(owned_documents__in=visible_in_community(user, community).values("pk")).distinct()


def versions_of(document: Document) -> QuerySet[DocumentVersion]:
    return (
        DocumentVersion.objects.filter(document=document)
        .select_related("uploaded_by", "uploaded_by_agency", "based_on")
        .defer("text")
        .order_by("-number")
    )


def shares_of(document: Document) -> QuerySet[DocumentShare]:
    """Accepted and pending shares of a document, newest first."""
    return (
        DocumentShare.objects.filter(document=document)
        .filter(Q(status=ShareStatus.ACCEPTED) | Q(pk__in=DocumentShare.objects.pending().values("pk")))
        .select_related("community", "agency", "created_by")
        .order_by("status", "-created_at")
    )


def shared_with_agency(user: User) -> QuerySet[Document]:
    """Documents of other communities shared with the person's agency."""
    agency = user.agency
    if agency is None:
        return Document.objects.none()
    accepted = DocumentShare.objects.filter(status=ShareStatus.ACCEPTED, agency=agency).values("document_id")
    return (
        documents_for_user(user)
        .filter(pk__in=accepted)
        .select_related("community", "owning_agency", "current_version__uploaded_by")
        .order_by("-updated_at", "-pk")
    )


def shares_awaiting(user: User) -> QuerySet[DocumentShare]:
    """Pending shares the person decides: offers to their agency (admins), offers to
    communities they own, and requests for documents they manage."""
    if not _signed_in(user):
        return DocumentShare.objects.none()
    managed = documents_for_user(user).filter(_granted(user, "manage")).values("pk")
    owned = Community.objects.filter(
        pk__in=CommunityGroupObjectPermission.objects.filter(
            group_id__in=user.groups.values("pk"), permission__codename="manage"
        ).values("content_object_id")
    ).values("pk")
    condition = Q(direction=ShareDirection.OFFER, community_id__in=owned)
    condition |= Q(direction=ShareDirection.REQUEST, document_id__in=managed)
    agency = user.agency
    if agency is not None and policy.can(user, "manage_communities", agency):
        condition |= Q(direction=ShareDirection.OFFER, agency=agency)
    return (
        DocumentShare.objects.pending()
        .filter(condition)
        .select_related("document__community", "document__owning_agency", "community", "agency", "created_by")
        .order_by("-created_at")
    )


def communities_to_offer(document: Document) -> QuerySet[Community]:
    """Active communities the document could be offered to."""
    taken = DocumentShare.objects.filter(document=document).filter(
        Q(status=ShareStatus.ACCEPTED) | Q(pk__in=DocumentShare.objects.pending().values("pk"))
    )
    return (
        Community.objects.filter(is_archived=False)
        .exclude(pk=document.community_id)
        .exclude(pk__in=taken.exclude(community=None).values("community_id"))
        .order_by("name")
    )


def agencies_to_offer(document: Document) -> QuerySet[Agency]:
    """Active agencies outside the document's community without a share already."""
    taken = DocumentShare.objects.filter(document=document).filter(
        Q(status=ShareStatus.ACCEPTED) | Q(pk__in=DocumentShare.objects.pending().values("pk"))
    )
    return (
        Agency.objects.active()
        .exclude(community_memberships__community=document.community_id)
        .exclude(pk__in=taken.exclude(agency=None).values("agency_id"))
        .order_by("name")
    )


def communities_to_request(user: User, document: Document) -> QuerySet[Community]:
    """Communities the person owns (manages) where the document could be asked for."""
    managed = CommunityGroupObjectPermission.objects.filter(
        group_id__in=user.groups.values("pk"), permission__codename="manage"
    ).values("content_object_id")
    return communities_to_offer(document).filter(pk__in=managed)


# --- Who can see it and why -----------------------------------------------------------------


@dataclass(frozen=True)
class AgencyAccess:
    """One member agency's standing on a document, for the access summary."""

    agency: Agency
    role: str
    level: str | None  # the level granted on the document, if any
    sees: bool

    @property
    def level_label(self) -> str:
        return AccessLevel(self.level).label if self.level else ""


def member_access(document: Document) -> list[AgencyAccess]:
    """Each member agency of the document's community, with what it may do (two queries)."""
    levels = grants.levels(document)
    memberships = CommunityMembership.objects.filter(community=document.community_id).select_related("agency")
    rows = [
        AgencyAccess(
            agency=m.agency,
            role=m.get_role_display(),
            level=levels.get(m.agency_id),
            sees=not document.restricted or m.agency_id in levels,
        )
        for m in memberships
    ]
    return sorted(rows, key=lambda row: (row.agency.pk != document.owning_agency_id, not row.sees, row.agency.name))


def people_who_can_view(document: Document) -> QuerySet[User]:
    """Active people who may view the document, read from the grants themselves."""
    readers = people_with_access(document.community).values("pk")
    granted_groups = DocumentGroupObjectPermission.objects.filter(
        content_object=document, permission__codename="view"
    ).values("group_id")
    in_community = Q(pk__in=readers)
    if document.restricted:
        in_community &= Q(groups__in=granted_groups)
    accepted = DocumentShare.objects.filter(document=document, status=ShareStatus.ACCEPTED)
    condition = in_community | (
        Q(groups__in=granted_groups) & Q(membership__agency__in=accepted.exclude(agency=None).values("agency_id"))
    )
    for community in Community.objects.filter(pk__in=accepted.exclude(community=None).values("community_id")):
        condition |= Q(pk__in=people_with_access(community).values("pk"))
    return (
        User.objects.filter(is_active=True)
        .filter(condition)
        .distinct()
        .select_related("membership__agency")
        .order_by("membership__agency__name", "full_name", "pk")
    )


@dataclass(frozen=True)
class PersonAccess:
    person: User
    reasons: list[str] = field(default_factory=list)
    also: list[str] = field(default_factory=list)  # "revise", "manage"


def explain_document_access(document: Document, people: list[User]) -> list[PersonAccess]:
    """Why each person may view the document (and whether they may revise or manage it), in
    the policy's own words: a fixed number of queries per community it is shared with."""
    community_reasons = policy.explain_many(people, "view_content", document.community)
    grant_reasons = policy.explain_many(people, "view_grant", document)
    revise = policy.explain_many(people, "revise_grant", document)
    manage = policy.explain_many(people, "manage_grant", document)
    shared_agency_ids = set(
        DocumentShare.objects.filter(document=document, status=ShareStatus.ACCEPTED, agency__isnull=False).values_list(
            "agency_id", flat=True
        )
    )
    shares = list(
        DocumentShare.objects.filter(
            document=document, status=ShareStatus.ACCEPTED, community__isnull=False
        ).select_related("community")
    )
    via_shares = [(share, policy.explain_many(people, "view_content", share.community)) for share in shares]
    rows = []
    for person in people:
        reader = bool(community_reasons[person.pk])
        agency = person.agency
        by_share = agency is not None and agency.pk in shared_agency_ids
        reasons: list[str] = []
        if reader and not document.restricted:
            reasons += [f"Reads {document.community.name}: {_text(g)}" for g in community_reasons[person.pk]]
        if reader or by_share:
            reasons += [_text(g) for g in grant_reasons[person.pk]]
        for share, found in via_shares:
            reasons += [f"Shared with {share.community.name}: {_text(g)}" for g in found[person.pk]]  # type: ignore[union-attr]
        also = []
        if reader or by_share:
            also += ["revise"] if revise[person.pk] else []
        if reader:
            also += ["manage"] if manage[person.pk] else []
        rows.append(PersonAccess(person, reasons, also))
    return rows


def _text(grant: Grant) -> str:
    return grant.description
