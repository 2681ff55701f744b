"""Communities in search: their name, purpose, description, entry requirements and tags.

A listed, active community is in the directory for every signed-in person, so its entry
is open to everyone (token ``all``); an unlisted or archived one only to its readers,
exactly as the policy's ``Community.see``.
"""

from __future__ import annotations

from django.urls import reverse

from communities.models import Community
from search import tokens
from search.documents import Document
from search.registry import Shown, register
from workspace import policy


def community_document(community: Community) -> Document:
    about = [community.purpose, community.description, community.entry_requirements]
    names = [tag.name for tag in community.tags.all()]
    if names:
        about.append("Topics: " + ", ".join(names))
    return Document(
        title=community.name,
        body="\n".join(part for part in about if part),
        date=community.created_at,
        community_id=community.pk,
    )


def community_tokens(community: Community) -> list[str]:
    if community.is_listed and not community.is_archived:
        return [tokens.EVERYONE]
    return [tokens.community(community.pk)]


register(
    Community,
    community_document,
    community_tokens,
    name="community",
    label="Communities",
    queryset=lambda: Community.objects.prefetch_related("tags"),
    may_view=lambda user, community: policy.can(user, "see", community),
    show=lambda community: Shown(
        url=reverse("community_detail", args=[community.slug]), date=community.created_at, community=community
    ),
    in_community=lambda community_id: Community.objects.filter(pk=community_id),
)

# Documents and announcements live in sub-packages of this app, which autodiscovery
# (``<app>.search_index``) does not reach: their registrations are imported from here.
from communities.announcements import search_index as _announcements  # noqa: E402, F401
from communities.documents import search_index as _documents  # noqa: E402, F401
