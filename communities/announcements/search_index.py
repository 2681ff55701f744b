"""Program announcements in search: title, summary, text, program and tags.

Only live announcements are indexed (published and not past ``expire_at``): drafts,
scheduled, expired and retracted ones stay out, and a change of state re-indexes, which
removes them. Tokens mirror the policy's ``Announcement.view`` for a live announcement:

- public audience: ``all`` (the policy lets every signed-in person read a live public one);
- members only: ``c:<home community>`` and ``c:<community>`` for every community that
  accepted a promotion of it (pending, declined and withdrawn promotions give nothing).

The publishing agency's posters may read theirs in every state, but they read the home
community too, so ``c:<home>`` already covers them for a live one. One record appears in
many places; its community facet is its home. Expiry happens by the clock: the policy
re-check drops an announcement past ``expire_at`` from the results at once, and
``publish_scheduled`` (which writes the state down) removes it from the index.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from communities.announcements.models import Announcement, AnnouncementState, Audience, Promotion
from communities.models import ConsentStatus
from messaging.search_index import plain_text
from search import tokens
from search.documents import Document
from search.registry import Shown, register
from workspace import policy


def _accepted_promotions(announcement: Announcement) -> list[Promotion]:
    found = getattr(announcement, "accepted_promotions", None)
    if found is None:  # not loaded through the registered queryset
        found = list(Promotion.objects.filter(announcement=announcement, status=ConsentStatus.ACCEPTED))
    return found


def announcement_document(announcement: Announcement) -> Document | None:
    if not announcement.is_live:
        return None
    parts = [announcement.summary, plain_text(announcement.body_html), f"Program: {announcement.program.name}"]
    names = [tag.name for tag in announcement.tags.all()]
    if names:
        parts.append("Topics: " + ", ".join(names))
    return Document(
        title=announcement.title,
        body="\n".join(part for part in parts if part),
        date=announcement.published_at or announcement.created_at,
        community_id=announcement.community_id,
        agency_id=announcement.agency_id,
        person_id=announcement.created_by_id,
    )


def announcement_tokens(announcement: Announcement) -> list[str]:
    if announcement.audience == Audience.PUBLIC:
        return [tokens.EVERYONE]
    places = {announcement.community_id}
    places.update(promotion.community_id for promotion in _accepted_promotions(announcement))
    return [tokens.community(community_id) for community_id in places]


def shown_in_community(community_id: int) -> QuerySet[Announcement]:
    """Published announcements at home in the community or promoted into it (accepted)."""
    promoted_here = Promotion.objects.filter(
        announcement=OuterRef("pk"), community_id=community_id, status=ConsentStatus.ACCEPTED
    )
    return Announcement.objects.filter(
        Q(community_id=community_id) | Q(Exists(promoted_here)), state=AnnouncementState.PUBLISHED
    )


def prepare_page(user, announcements: list[Announcement]) -> None:  # type: ignore[no-untyped-def]
    """Load the person's grants on the communities a page of announcements appears in at
    once: the policy's checks then cost no query per announcement."""
    communities = {announcement.community_id: announcement.community for announcement in announcements}
    for announcement in announcements:
        communities.update((p.community_id, p.community) for p in _accepted_promotions(announcement))
    policy.prefetch_perms(user, list(communities.values()))


register(
    Announcement,
    announcement_document,
    announcement_tokens,
    name="announcement",
    label="Announcements",
    queryset=lambda: (
        Announcement.objects.live()
        .select_related("community", "agency", "program", "created_by")
        .prefetch_related(
            "tags",
            Prefetch(
                "promotions",
                queryset=Promotion.objects.filter(status=ConsentStatus.ACCEPTED).select_related("community"),
                to_attr="accepted_promotions",  # read by the policy's announcement rule too
            ),
        )
    ),
    may_view=lambda user, announcement: policy.can(user, "view", announcement),
    show=lambda announcement: Shown(
        url=announcement.get_absolute_url(),
        date=announcement.published_at,
        community=announcement.community,
        agency=announcement.agency,
        person=announcement.created_by,
    ),
    in_community=shown_in_community,
    prepare=prepare_page,
)
