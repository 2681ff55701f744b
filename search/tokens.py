"""Access tokens: who may see an indexed item, in a form the engines can filter on.

Each item stores the tokens that open it; a person's tokens are worked out from the same
guardian grants the policy reads (``workspace.policy``), at the moment they search. A
query only matches items sharing at least one token with the person, inside the engine,
so counts, facets and snippets never include anything else.

The vocabulary:

``all``
    every signed-in person (listed communities' directory entries, live public
    announcements).
``c:<community>``
    readers of the community: ``view_content`` through their agency's group, or granted
    to them by name when their agency names who takes part. Items shown in several
    communities (a document shared into one, an announcement promoted into one) store
    one per community.
``ca:<community>:<agency>``
    readers of the community who work for the agency: an item restricted to some
    agencies stores one per allowed agency, so it needs the community *and* the agency.
``a:<agency>``
    the agency's active staff (agency-private items; a document shared with an agency
    outside its community, whose grant goes to the agency's staff group).
``u:<user>``
    one person (items shared with a named person).

Because people's tokens are derived live from the grants, a membership change takes
effect at the next search; items re-index only when their own tokens change (a thread
restricted, a document shared).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from communities.models import CommunityGroupObjectPermission, CommunityUserObjectPermission
from workspace.models import User

EVERYONE = "all"


def community(community_id: int) -> str:
    return f"c:{community_id}"


def community_agency(community_id: int, agency_id: int) -> str:
    return f"ca:{community_id}:{agency_id}"


def agency(agency_id: int) -> str:
    return f"a:{agency_id}"


def person(user_id: int) -> str:
    return f"u:{user_id}"


def restricted_to(community_id: int, agency_ids: Iterable[int]) -> tuple[str, ...]:
    """Tokens of an item in a community that only some of its agencies may see."""
    return tuple(sorted({community_agency(community_id, agency_id) for agency_id in agency_ids}))


# Content types with grants of their own (documents shared to another agency, say) add a
# function here that returns the extra tokens a person holds: ``add_user_source(fn)``.
_USER_SOURCES: list[Callable[[User], Iterable[str]]] = []


def add_user_source(source: Callable[[User], Iterable[str]]) -> None:
    """Register a function giving more of a person's tokens (called once per search)."""
    if source not in _USER_SOURCES:
        _USER_SOURCES.append(source)


def readable_community_ids(user: User) -> set[int]:
    """Communities whose content the person may read, from the grants, in one query."""
    via_group = CommunityGroupObjectPermission.objects.filter(
        permission__codename="view_content", group__in=user.groups.values("pk")
    ).values_list("content_object_id", flat=True)
    named = CommunityUserObjectPermission.objects.filter(permission__codename="view_content", user=user).values_list(
        "content_object_id", flat=True
    )
    return set(via_group.union(named))


def for_user(user: User | None) -> list[str]:
    """Every token the person holds now; none for anonymous or deactivated people."""
    if user is None or not user.is_authenticated or not user.is_active:
        return []
    found = {EVERYONE, person(user.pk)}
    community_ids = readable_community_ids(user)
    found.update(community(pk) for pk in community_ids)
    own = user.agency
    if own is not None:
        found.add(agency(own.pk))
        found.update(community_agency(pk, own.pk) for pk in community_ids)
    for source in _USER_SOURCES:
        found.update(source(user))
    return sorted(found)
