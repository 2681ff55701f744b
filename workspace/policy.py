"""The permission policy: the one place that answers "may this person do this to that".

Every check in views, consumers, actions and selectors goes through ``can`` / ``check``.
Rules are registered per (model, action). Most rules read django-guardian object
permissions held by the agency groups (one grant covers a whole agency); a few are plain
rules ("any signed-in person may view an agency's directory page").

Platform operators (``is_superuser``) get no bypass here: they run the admin site, not the
agencies' work, so an agency's content is seen by exactly the agencies it chose.

``explain`` lists the grants behind a yes, for the "why can Jane see this?" question.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser, Group
from django.core.exceptions import PermissionDenied
from django.db import models
from guardian.core import ObjectPermissionChecker

from workspace.models import Agency, AgencyRole, User

Person = User | AnonymousUser


@dataclass(frozen=True)
class Grant:
    """One reason a person holds a permission."""

    kind: str  # "group", "user" or "rule"
    description: str


@dataclass(frozen=True)
class Rule:
    """How a (model, action) pair is decided.

    ``perm`` names a guardian object permission codename; ``predicate`` is a plain rule.
    Exactly one is set.
    """

    perm: str | None = None
    predicate: Callable[[User, Any], bool] | None = None
    explanation: str = ""


_RULES: dict[tuple[type[models.Model], str], Rule] = {}


def register(model: type[models.Model], action: str, rule: Rule) -> None:
    """Declare how ``action`` on instances of ``model`` is decided. Apps call this at import."""
    _RULES[(model, action)] = rule


def _is_signed_in(user: Person | None) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def _checker(user: User) -> ObjectPermissionChecker:
    # One checker per user object: within a request the same object is fetched once.
    checker = getattr(user, "_policy_checker", None)
    if checker is None:
        checker = ObjectPermissionChecker(user)
        user._policy_checker = checker  # type: ignore[attr-defined]
    return checker


def held_perms(user: User, obj: models.Model) -> set[str]:
    """Guardian permission codenames the user holds on obj, directly or through groups.

    Unlike guardian's own checker, superusers get no implicit permissions.
    """
    checker = _checker(user)
    key = ("policy",) + checker.get_local_cache_key(obj)
    cache = checker._obj_perms_cache
    if key not in cache:
        cache[key] = set(checker.get_user_perms(obj)) | set(checker.get_group_perms(obj))
    return cache[key]


def forget(user: Person) -> None:
    """Drop cached permissions, after a grant changed during the same request."""
    if hasattr(user, "_policy_checker"):
        del user._policy_checker  # type: ignore[union-attr]


def can(user: Person | None, action: str, obj: models.Model) -> bool:
    """True if ``user`` may do ``action`` to ``obj``."""
    if not _is_signed_in(user):
        return False
    rule = _RULES.get((type(obj), action))
    if rule is None:
        raise LookupError(f"No policy rule for {type(obj).__name__}.{action}")
    if rule.perm is not None:
        return rule.perm in held_perms(user, obj)  # type: ignore[arg-type]
    assert rule.predicate is not None
    return rule.predicate(user, obj)  # type: ignore[arg-type]


def check(user: Person | None, action: str, obj: models.Model) -> None:
    """Raise ``PermissionDenied`` unless ``user`` may do ``action`` to ``obj``."""
    if not can(user, action, obj):
        raise PermissionDenied(f"You may not {action.replace('_', ' ')} here.")


# How an agency's standing on an object reads in an explanation ("a participant").
_STANDING: dict[type[models.Model], Callable[[Agency, Any], str]] = {}


def _describe_group(group: Group, obj: models.Model) -> str:
    agency = Agency.objects.filter(models.Q(staff_group=group) | models.Q(admin_group=group)).first()
    if agency is None:
        return f"member of group “{group.name}”"
    who = (
        f"{AgencyRole.ADMIN.label} of {agency.name}" if agency.admin_group_id == group.pk else f"staff of {agency.name}"
    )
    standing = _STANDING.get(type(obj))
    return f"{who}, {standing(agency, obj)}" if standing else who


def explain(user: Person | None, action: str, obj: models.Model) -> list[Grant]:
    """The grants behind ``can(user, action, obj)``; empty when the answer is no."""
    if not can(user, action, obj):
        return []
    rule = _RULES[(type(obj), action)]
    if rule.predicate is not None:
        return [Grant("rule", rule.explanation)]
    assert rule.perm is not None
    from guardian.utils import get_group_obj_perms_model, get_user_obj_perms_model

    group_rows = (
        get_group_obj_perms_model(obj)
        .objects.filter(content_object=obj, permission__codename=rule.perm, group__in=user.groups.all())
        .select_related("group")
    )
    grants = [Grant("group", f"{rule.perm}: {_describe_group(row.group, obj)}") for row in group_rows]
    user_rows = get_user_obj_perms_model(obj).objects.filter(
        content_object=obj, permission__codename=rule.perm, user=user
    )
    grants += [Grant("user", f"{rule.perm}: granted to {user} individually") for _ in user_rows]
    return grants


# --- Agency rules -------------------------------------------------------------------------

register(
    Agency,
    "view",
    Rule(predicate=lambda user, agency: True, explanation="Every signed-in person may see the agency directory."),
)
register(Agency, "manage_staff", Rule(perm="manage_staff"))
register(Agency, "view_audit", Rule(perm="view_audit"))
register(Agency, "manage_communities", Rule(perm="manage_communities"))


# --- Community rules ----------------------------------------------------------------------
# Imported here so that every rule lives in this module; the communities app imports the
# policy, never the other way round at import time of its models.
from communities.models import Community  # noqa: E402


def _may_see_community(user: User, community: Community) -> bool:
    if community.is_listed and not community.is_archived:
        return True
    return "view_content" in held_perms(user, community)


register(
    Community,
    "see",
    Rule(
        predicate=_may_see_community,
        explanation="Listed communities are visible to every signed-in person; unlisted ones to members only.",
    ),
)
register(Community, "view_content", Rule(perm="view_content"))
register(Community, "post", Rule(perm="post"))
register(Community, "manage", Rule(perm="manage"))
register(Community, "moderate", Rule(perm="moderate"))


def _community_standing(agency: Agency, community: Community) -> str:
    membership = community.memberships.filter(agency=agency).first()
    return (
        f"which is {membership.get_role_display().lower()} of {community.name}" if membership else "no longer a member"
    )


_STANDING[Community] = _community_standing
