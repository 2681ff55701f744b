"""Template filters for links into threads from other apps' pages."""

from __future__ import annotations

from django import template

from communities.models import Community
from workspace import policy
from workspace.models import User

register = template.Library()


@register.filter
def may_read_threads(user: User, community: Community) -> bool:
    """True if the person may read the community's threads (one policy answer per page,
    read from the permissions the page has already loaded)."""
    return policy.can(user, "view_content", community)
