"""Read path for announcements: querysets already filtered to what the person may see.

The conditions are the policy's (``workspace.policy``, Announcement "view"), written once
more in SQL from the community grants themselves, so a list or a feed costs the same
number of queries for ten announcements or ten thousand. ``access_*`` helpers answer 404
both for "does not exist" and "you may not see it".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from communities.announcements.models import (
    Announcement,
    Audience,
    FeedToken,
    Program,
    Promotion,
    Receipt,
    Subscription,
    TrustedPublisher,
)
from communities.models import (
    Community,
    CommunityGroupObjectPermission,
    CommunityUserObjectPermission,
    ConsentStatus,
    Tag,
    Visibility,
)
from workspace import policy
from workspace.models import Agency, User, hash_token


def _signed_in(user: User | None) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def _community_ids(user: User, codenames: tuple[str, ...]) -> tuple[QuerySet, QuerySet]:
    """Ids of the communities on which the person holds one of ``codenames``, through their
    agency's groups or individually: two subqueries, never fetched on their own."""
    via_group = CommunityGroupObjectPermission.objects.filter(
        permission__codename__in=codenames, group__user=user
    ).values("content_object_id")
    via_user = CommunityUserObjectPermission.objects.filter(permission__codename__in=codenames, user=user).values(
        "content_object_id"
    )
    return via_group, via_user


def _communities_where(user: User, codenames: tuple[str, ...]) -> Q:
    """A condition on ``community_id``: the person holds one of ``codenames`` there."""
    via_group, via_user = _community_ids(user, codenames)
    return Q(community_id__in=via_group) | Q(community_id__in=via_user)


def _communities_with(user: User, codenames: tuple[str, ...]) -> Q:
    """The same condition on a community's own ``pk``."""
    via_group, via_user = _community_ids(user, codenames)
    return Q(pk__in=via_group) | Q(pk__in=via_user)


def _appears_in(communities: Q) -> Q:
    """Announcements whose home or an accepted promotion is in ``communities``."""
    accepted = Promotion.objects.filter(communities, announcement=OuterRef("pk"), status=ConsentStatus.ACCEPTED)
    return communities | Q(Exists(accepted))


def with_related(announcements: QuerySet[Announcement]) -> QuerySet[Announcement]:
    """What a card or a feed entry shows: agency, program, home community and tags."""
    return (
        announcements.select_related("agency", "program", "community")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
        .order_by("-published_at", "-pk")
    )


# --- Lists ---------------------------------------------------------------------------------


def announcements_for_user(user: User | None, now: datetime | None = None) -> QuerySet[Announcement]:
    """Live announcements the person may read: every public one, and the members-only ones
    of the communities they read (home or accepted promotion). Anonymous: public only."""
    live = Announcement.objects.live(now)
    if not _signed_in(user):
        return with_related(live.filter(audience=Audience.PUBLIC))
    readable = _appears_in(_communities_where(user, ("view_content",)))  # type: ignore[arg-type]
    return with_related(live.filter(Q(audience=Audience.PUBLIC) | readable))


def announcements_in_community(community: Community, *, public_only: bool = False) -> QuerySet[Announcement]:
    """Live announcements shown in the community: its own and the promotions it accepted.
    Every one of them is readable by the community's readers."""
    found = Announcement.objects.live().filter(_appears_in(Q(community_id=community.pk)))
    if public_only:
        found = found.filter(audience=Audience.PUBLIC)
    return with_related(found)


def public_announcements_of_agency(agency: Agency) -> QuerySet[Announcement]:
    return with_related(Announcement.objects.live().filter(agency=agency, audience=Audience.PUBLIC))


def public_announcements_of_program(program: Program) -> QuerySet[Announcement]:
    return with_related(Announcement.objects.live().filter(program=program, audience=Audience.PUBLIC))


def public_announcements_with_tag(tag: Tag) -> QuerySet[Announcement]:
    tagged = Announcement.tags.through.objects.filter(announcement_id=OuterRef("pk"), tag_id=tag.pk)
    return with_related(Announcement.objects.live().filter(Exists(tagged), audience=Audience.PUBLIC))


def unpublished_of_agency(agency: Agency) -> QuerySet[Announcement]:
    """The agency's drafts and scheduled announcements, for its people's own list."""
    return (
        Announcement.objects.filter(agency=agency, state__in=["draft", "scheduled"])
        .select_related("program", "community", "created_by")
        .order_by("-changed_at", "-pk")
    )


def people_who_can_see(announcement: Announcement, places: list[int]) -> QuerySet[User]:
    """Active people who may read the announcement where it appears (``places``: its home and
    accepted communities), read from the grants themselves: everyone when it is public."""
    people = User.objects.filter(is_active=True)
    if announcement.audience == Audience.PUBLIC:
        return people
    via_group = CommunityGroupObjectPermission.objects.filter(
        content_object_id__in=places, permission__codename="view_content"
    ).values("group_id")
    via_user = CommunityUserObjectPermission.objects.filter(
        content_object_id__in=places, permission__codename="view_content"
    ).values("user_id")
    return people.filter(Q(groups__in=via_group) | Q(pk__in=via_user)).distinct()


def places_of(announcement: Announcement) -> list[int]:
    """Ids of the communities the announcement appears in: its home, then accepted promotions."""
    accepted = Promotion.objects.filter(announcement=announcement, status=ConsentStatus.ACCEPTED)
    return [announcement.community_id, *accepted.order_by("pk").values_list("community_id", flat=True)]


# --- One announcement ----------------------------------------------------------------------


def access_announcement(user: User | None, announcement_id: int) -> Announcement:
    """An announcement the person may read (anyone, for a live public one), or 404 alike for
    one that does not exist and one they may not see."""
    found = Announcement.objects.select_related("agency", "program", "community").filter(pk=announcement_id).first()
    if found is None:
        raise Http404("No such announcement.")
    if (found.is_live and found.is_public) or policy.can(user, "view", found):
        return found
    raise Http404("No such announcement.")


def access_managed_announcement(user: User, announcement_id: int) -> Announcement:
    """An announcement the person writes for their agency: 404 if they may not see it, 403
    if they see it but do not publish for it."""
    found = access_announcement(user, announcement_id)
    if not policy.can(user, "manage", found):
        raise PermissionDenied("Only the publishing agency can change this announcement.")
    return found


def communities_to_announce_in(user: User) -> QuerySet[Community]:
    """Active communities where the person may publish (their agency posts there)."""
    if not _signed_in(user):
        return Community.objects.none()
    return Community.objects.filter(_communities_with(user, ("post",)), is_archived=False).order_by("name")


def communities_read_by(user: User) -> QuerySet[Community]:
    """Active communities whose content the person reads, for links to their announcements."""
    if not _signed_in(user):
        return Community.objects.none()
    return Community.objects.filter(_communities_with(user, ("view_content",)), is_archived=False).order_by("name")


def access_community_announcements(user: User, slug: str, action: str = "view_content") -> Community:
    """A community whose announcements the person reads, or 404 (a non-member learns nothing
    about its members-only ones). Reading but lacking ``action`` is 403."""
    community = Community.objects.filter(slug=slug).first()
    if community is None or not policy.can(user, "view_content", community):
        raise Http404("No such community.")
    if action != "view_content" and not policy.can(user, action, community):
        raise PermissionDenied("You may not do that in this community.")
    return community


def programs_with_public_announcements(agency: Agency) -> QuerySet[Program]:
    live = Announcement.objects.live().filter(agency=agency, audience=Audience.PUBLIC)
    return Program.objects.filter(pk__in=live.values("program_id")).order_by("name")


def promotable_communities(user: User, announcement: Announcement) -> QuerySet[Community]:
    """Communities the announcement may be offered to: active ones the person can see
    (listed, or their agency's), other than its home and those already asked."""
    asked = Promotion.objects.filter(announcement=announcement).filter(
        Q(status__in=[ConsentStatus.ACCEPTED, ConsentStatus.DECLINED])
        | Q(status=ConsentStatus.PENDING, expires_at__gt=timezone.now())
    )
    agency = user.agency
    visible = Q(visibility=Visibility.LISTED)
    if agency is not None:
        visible |= Q(memberships__agency=agency)
    return (
        Community.objects.filter(visible, is_archived=False)
        .exclude(pk=announcement.community_id)
        .exclude(pk__in=asked.values("community_id"))
        .distinct()
        .order_by("name")
    )


def promotions_of(announcement: Announcement) -> QuerySet[Promotion]:
    return announcement.promotions.select_related("community", "requested_by", "decided_by").order_by("community__name")


# --- Promotions to review -------------------------------------------------------------------


def _reviewed_by(user: User) -> Q:
    return _communities_where(user, ("manage", "moderate"))


def reviews_promotions(user: User) -> bool:
    """True if the person owns or moderates any active community (one query)."""
    if not _signed_in(user):
        return False
    return Community.objects.filter(_communities_with(user, ("manage", "moderate")), is_archived=False).exists()


def promotions_to_review(user: User) -> QuerySet[Promotion]:
    """Pending promotions into communities the person owns or moderates, oldest first."""
    return (
        Promotion.objects.filter(
            _reviewed_by(user),
            status=ConsentStatus.PENDING,
            expires_at__gt=timezone.now(),
            community__is_archived=False,
        )
        .select_related("announcement__agency", "announcement__program", "community", "requested_by")
        .order_by("requested_at", "pk")
    )


def decided_promotions(user: User) -> QuerySet[Promotion]:
    """Promotions into the person's communities that are no longer waiting, newest first."""
    return (
        Promotion.objects.filter(_reviewed_by(user))
        .exclude(status=ConsentStatus.PENDING, expires_at__gt=timezone.now())
        .select_related("announcement__agency", "announcement__program", "community", "decided_by")
        .order_by("-requested_at", "-pk")
    )


def access_promotion_for_review(user: User, promotion_id: int) -> Promotion:
    """A promotion into a community the person owns or moderates, else 404."""
    found = (
        Promotion.objects.filter(_reviewed_by(user), pk=promotion_id)
        .select_related("announcement", "community")
        .first()
    )
    if found is None:
        raise Http404("No such promotion request.")
    return found


def access_promotion_of(announcement: Announcement, promotion_id: int) -> Promotion:
    found = Promotion.objects.select_related("community").filter(pk=promotion_id, announcement=announcement).first()
    if found is None:
        raise Http404("No such promotion.")
    return found


def trusted_publishers(community: Community) -> QuerySet[TrustedPublisher]:
    return TrustedPublisher.objects.filter(community=community).select_related("agency", "added_by")


def agencies_to_trust(community: Community) -> QuerySet[Agency]:
    trusted = TrustedPublisher.objects.filter(community=community).values("agency_id")
    return Agency.objects.active().exclude(pk__in=trusted).order_by("name")


# --- Public addresses ----------------------------------------------------------------------


def access_public_agency(slug: str) -> Agency:
    agency = Agency.objects.filter(slug=slug, is_active=True).first()
    if agency is None:
        raise Http404("No such agency.")
    return agency


def access_public_program(agency_slug: str, program_slug: str) -> Program:
    program = Program.objects.select_related("agency").filter(agency__slug=agency_slug, slug=program_slug).first()
    if program is None or not program.agency.is_active:
        raise Http404("No such program.")
    return program


def access_tag(slug: str) -> Tag:
    tag = Tag.objects.filter(slug=slug).first()
    if tag is None:
        raise Http404("No such topic.")
    return tag


def access_feed_community(slug: str) -> Community:
    """A community whose public feed anyone may read: listed and active. An unlisted
    community has no public feed, so its name never leaks through one."""
    community = Community.objects.filter(slug=slug, visibility=Visibility.LISTED, is_archived=False).first()
    if community is None:
        raise Http404("No such community.")
    return community


def user_for_feed_token(raw: str) -> User | None:
    """The active person whose private feed address carries ``raw``, if any."""
    if not raw or len(raw) > 100:
        return None
    found = FeedToken.objects.filter(token_hash=hash_token(raw), user__is_active=True).select_related("user").first()
    return found.user if found else None


def has_feed_token(user: User) -> bool:
    return FeedToken.objects.filter(user=user).exists()


# --- Subscriptions -------------------------------------------------------------------------


def subscriptions_of(user: User) -> QuerySet[Subscription]:
    return Subscription.objects.filter(user=user).select_related("community", "program__agency", "tag")


def subscription_choices(user: User) -> dict[str, list[tuple[str, str]]]:
    """What a person may follow, grouped: communities they can see, programs with live
    announcements they can read, and topics of those announcements."""
    agency = user.agency
    visible = Q(visibility=Visibility.LISTED)
    if agency is not None:
        visible |= Q(memberships__agency=agency)
    communities = Community.objects.filter(visible, is_archived=False).distinct().order_by("name")
    readable = announcements_for_user(user).order_by()
    programs = (
        Program.objects.filter(pk__in=readable.values("program_id")).select_related("agency").order_by("name", "pk")
    )
    tags = Tag.objects.filter(announcements__in=readable.values("pk")).distinct().order_by("name")
    return {
        "Communities": [(f"community:{c.pk}", c.name) for c in communities],
        "Programs": [(f"program:{p.pk}", f"{p.name} ({p.agency.short_name})") for p in programs],
        "Topics": [(f"tag:{t.pk}", t.name) for t in tags],
    }


# --- Reach -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReachRow:
    agency: str
    level: str
    delivered: int
    digested: int
    opened: int
    reached: int


@dataclass(frozen=True)
class Reach:
    promotions: list[Promotion]
    rows: list[ReachRow]

    @property
    def totals(self) -> ReachRow:
        return ReachRow(
            agency="All agencies",
            level="",
            delivered=sum(r.delivered for r in self.rows),
            digested=sum(r.digested for r in self.rows),
            opened=sum(r.opened for r in self.rows),
            reached=sum(r.reached for r in self.rows),
        )


def reach_of(announcement: Announcement) -> Reach:
    """Where the announcement appears and, per agency, how many people it was emailed to,
    sent in a digest to, and opened by (two queries)."""
    counts = (
        Receipt.objects.filter(announcement=announcement)
        .values("agency__name", "agency__level")
        .annotate(
            delivered=Count("pk", filter=Q(delivered_at__isnull=False)),
            digested=Count("pk", filter=Q(digested_at__isnull=False)),
            opened=Count("pk", filter=Q(opened_at__isnull=False)),
            reached=Count("pk"),
        )
        .order_by("agency__name")
    )
    rows = [
        ReachRow(
            agency=row["agency__name"] or "No agency",
            level=row["agency__level"] or "",
            delivered=row["delivered"],
            digested=row["digested"],
            opened=row["opened"],
            reached=row["reached"],
        )
        for row in counts
    ]
    return Reach(promotions=list(promotions_of(announcement)), rows=rows)
