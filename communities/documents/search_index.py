"""Shared documents in search: title, description, tags, file name and the text extracted
from the current version.

Tokens mirror the policy's ``Document.view``:

- a document open to its community: ``c:<community>`` (the community's readers);
- a restricted one: ``ca:<community>:<agency>`` for each agency holding a grant on it
  (readers of the community who work for a named agency);
- shared with another community, after it accepted: ``c:<that community>``;
- shared with an agency outside the community, after it accepted: ``a:<agency>`` (its
  staff), while the agency still holds its grant on the document.

Grants to one person by name (``DocumentUserObjectPermission``) are not written by any
action and give no token: the index could only be narrower than the policy there, never
wider. A deleted document leaves the index (``remove_on_commit`` before the delete).
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.urls import reverse

from communities.documents import grants
from communities.documents.models import Document, DocumentShare, ShareStatus
from search import tokens
from search.documents import Document as SearchDocument
from search.registry import Shown, register
from workspace import policy


def _accepted_shares(document: Document) -> list[DocumentShare]:
    found = getattr(document, "accepted_shares", None)
    if found is None:  # not loaded through the registered queryset
        found = list(DocumentShare.objects.filter(document=document, status=ShareStatus.ACCEPTED))
    return found


def document_document(document: Document) -> SearchDocument:
    version = document.current_version
    parts = [document.description]
    names = [tag.name for tag in document.tags.all()]
    if names:
        parts.append("Topics: " + ", ".join(names))
    if version is not None:
        parts.append(version.filename)
        parts.append(version.text)
    return SearchDocument(
        title=document.title,
        body="\n".join(part for part in parts if part),
        date=document.updated_at,
        community_id=document.community_id,
        agency_id=document.owning_agency_id,
        person_id=document.created_by_id,
    )


def document_tokens(document: Document) -> list[str]:
    granted = set(grants.levels(document))
    if document.restricted:
        found = list(tokens.restricted_to(document.community_id, granted))
    else:
        found = [tokens.community(document.community_id)]
    for share in _accepted_shares(document):
        if share.community_id is not None:
            found.append(tokens.community(share.community_id))
        elif share.agency_id in granted:
            found.append(tokens.agency(share.agency_id))
    return found


def shown_in_community(community_id: int) -> QuerySet[Document]:
    """Documents of the community and those shared into it (accepted)."""
    shared_here = DocumentShare.objects.filter(
        document=OuterRef("pk"), community_id=community_id, status=ShareStatus.ACCEPTED
    )
    return Document.objects.filter(Q(community_id=community_id) | Q(Exists(shared_here)))


def prepare_page(user, documents: list[Document]) -> None:  # type: ignore[no-untyped-def]
    """Load the person's grants on a page of documents and on their communities (home and
    shared into) at once: the policy's checks then cost no query per document."""
    policy.prefetch_perms(user, documents)
    communities = {document.community_id: document.community for document in documents}
    for document in documents:
        communities.update(
            (share.community_id, share.community) for share in _accepted_shares(document) if share.community_id
        )
    policy.prefetch_perms(user, list(communities.values()))


register(
    Document,
    document_document,
    document_tokens,
    name="document",
    label="Documents",
    queryset=lambda: Document.objects.select_related(
        "community", "owning_agency", "current_version", "created_by"
    ).prefetch_related(
        "tags",
        Prefetch(
            "shares",
            queryset=DocumentShare.objects.filter(status=ShareStatus.ACCEPTED).select_related("community"),
            to_attr="accepted_shares",  # read by the policy's document rules too
        ),
    ),
    may_view=lambda user, document: policy.can(user, "view", document),
    show=lambda document: Shown(
        url=reverse("document_detail", args=[document.pk]),
        date=document.updated_at,
        community=document.community,
        agency=document.owning_agency,
        person=document.created_by,
    ),
    in_community=shown_in_community,
    prepare=prepare_page,
)
