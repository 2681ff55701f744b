"""Read path for the search page beyond the results themselves."""

from __future__ import annotations

from communities.models import Community
from search import tokens
from workspace.models import Agency, User


def filter_choices(user: User) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """The communities whose content the person reads, and their member agencies, as
    (id, name) pairs for the filter menus. Three queries."""
    community_ids = tokens.readable_community_ids(user)
    if not community_ids:
        return [], []
    communities = list(Community.objects.filter(pk__in=community_ids).order_by("name").values_list("pk", "name"))
    agencies = list(
        Agency.objects.filter(community_memberships__community_id__in=community_ids)
        .distinct()
        .order_by("name")
        .values_list("pk", "name")
    )
    return communities, agencies


def person_name(person_id: int | None) -> str:
    """The name behind the "by person" filter (people are listed in the agency directory)."""
    if person_id is None:
        return ""
    return User.objects.filter(pk=person_id).values_list("full_name", flat=True).first() or "someone"
