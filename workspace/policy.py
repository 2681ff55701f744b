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

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser, Group
from django.core.exceptions import PermissionDenied
from django.db import models
from guardian.core import ObjectPermissionChecker
from guardian.utils import get_group_obj_perms_model, get_user_obj_perms_model

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


def prefetch_perms(user: Person | None, objects: Iterable[models.Model]) -> None:
    """Load the person's grants on many objects of one model in two queries, so that the
    checks that follow (``held_perms``) cost none: for pages of results from several
    communities or documents. Objects already cached are skipped; models whose grants are
    not direct foreign keys are left to ``held_perms``."""
    if not _is_signed_in(user):
        return
    found_objects = [obj for obj in objects if obj is not None]
    if not found_objects:
        return
    checker = _checker(user)  # type: ignore[arg-type]
    cache = checker._obj_perms_cache
    keys = {obj.pk: ("policy",) + checker.get_local_cache_key(obj) for obj in found_objects}
    missing = [pk for pk, key in keys.items() if key not in cache]
    if not missing:
        return
    sample = found_objects[0]
    user_model, group_model = get_user_obj_perms_model(sample), get_group_obj_perms_model(sample)
    if user_model.objects.is_generic() or group_model.objects.is_generic():
        return
    found: dict[Any, set[str]] = {pk: set() for pk in missing}
    by_user = user_model.objects.filter(user=user, content_object_id__in=missing)
    by_group = group_model.objects.filter(group__user=user, content_object_id__in=missing)
    for rows in (by_user, by_group):
        for pk, codename in rows.values_list("content_object_id", "permission__codename"):
            found[pk].add(codename)
    for pk, codenames in found.items():
        cache[keys[pk]] = codenames


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


# How agencies' standing on an object reads in an explanation ("which is participant of
# ..."): one function per model, answering for many agencies at once.
_STANDING: dict[type[models.Model], Callable[[list[Agency], Any], dict[int, str]]] = {}


def _describe_groups(group_ids: set[int], obj: models.Model) -> dict[int, str]:
    """A phrase per group id ("Admin of X, which is owner of Y"), in a fixed number of queries."""
    agencies = list(
        Agency.objects.filter(models.Q(staff_group_id__in=group_ids) | models.Q(admin_group_id__in=group_ids))
    )
    standing_of = _STANDING.get(type(obj))
    standing = standing_of(agencies, obj) if standing_of and agencies else {}
    phrases: dict[int, str] = {}
    for agency in agencies:
        suffix = f", {standing[agency.pk]}" if agency.pk in standing else ""
        phrases[agency.admin_group_id] = f"{AgencyRole.ADMIN.label} of {agency.name}{suffix}"
        phrases[agency.staff_group_id] = f"staff of {agency.name}{suffix}"
    others = group_ids - phrases.keys()
    for group in Group.objects.filter(pk__in=others) if others else ():
        phrases[group.pk] = f"member of group “{group.name}”"
    return phrases


def explain(user: Person | None, action: str, obj: models.Model) -> list[Grant]:
    """The grants behind ``can(user, action, obj)``; empty when the answer is no."""
    if user is None or not can(user, action, obj):
        return []
    return explain_many([user], action, obj)[user.pk]  # type: ignore[list-item]


def explain_many(users: list[User], action: str, obj: models.Model) -> dict[int, list[Grant]]:
    """``explain`` for many people at once, in a fixed number of queries (for access lists)."""
    rule = _RULES.get((type(obj), action))
    if rule is None:
        raise LookupError(f"No policy rule for {type(obj).__name__}.{action}")
    people = [user for user in users if _is_signed_in(user)]
    result: dict[int, list[Grant]] = {user.pk: [] for user in users if user.pk is not None}
    if rule.predicate is not None:
        for user in people:
            if rule.predicate(user, obj):
                result[user.pk] = [Grant("rule", rule.explanation)]
        return result
    assert rule.perm is not None
    user_ids = [user.pk for user in people]
    memberships = list(User.groups.through.objects.filter(user_id__in=user_ids).values_list("user_id", "group_id"))
    granted_groups = set(
        get_group_obj_perms_model(obj)
        .objects.filter(content_object=obj, permission__codename=rule.perm, group_id__in={g for _, g in memberships})
        .values_list("group_id", flat=True)
    )
    phrases = _describe_groups(granted_groups, obj) if granted_groups else {}
    for user_id, group_id in sorted(memberships):
        if group_id in granted_groups:
            result[user_id].append(Grant("group", f"{rule.perm}: {phrases[group_id]}"))
    individually = get_user_obj_perms_model(obj).objects.filter(
        content_object=obj, permission__codename=rule.perm, user_id__in=user_ids
    )
    names = {user.pk: str(user) for user in people}
    for user_id in individually.values_list("user_id", flat=True):
        result[user_id].append(Grant("user", f"{rule.perm}: granted to {names[user_id]} individually"))
    return result


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


def _community_standing(agencies: list[Agency], community: Community) -> dict[int, str]:
    memberships = community.memberships.filter(agency__in=agencies)
    found = {m.agency_id: f"which is {m.get_role_display().lower()} of {community.name}" for m in memberships}
    return {agency.pk: found.get(agency.pk, "no longer a member") for agency in agencies}


_STANDING[Community] = _community_standing


# --- Thread and message rules -------------------------------------------------------------
# A thread's audience is its community's readers, narrowed to the allowed agencies when it
# is restricted. Rules here read the community's grants, so a membership change reaches
# every thread at once; selectors filter lists with the same conditions in SQL.
from messaging.models import Message, Thread  # noqa: E402


def _may_view_thread(user: User, thread: Thread) -> bool:
    if "view_content" not in held_perms(user, thread.community):
        return False
    if not thread.restricted:
        return True
    agency = user.agency
    if agency is None:
        return False
    prefetched = getattr(thread, "_prefetched_objects_cache", {}).get("allowed_agencies")
    if prefetched is not None:  # lists and search results prefetch them: no query per thread
        return any(allowed.pk == agency.pk for allowed in prefetched)
    return thread.allowed_agencies.filter(pk=agency.pk).exists()


def _may_post_in_thread(user: User, thread: Thread) -> bool:
    community = thread.community
    if thread.is_locked or thread.is_archived or community.is_archived:
        return False
    return "post" in held_perms(user, community) and _may_view_thread(user, thread)


def _may_edit_message(user: User, message: Message) -> bool:
    return message.author_id == user.pk and message.deleted_at is None and _may_post_in_thread(user, message.thread)


def _may_delete_message(user: User, message: Message) -> bool:
    if not _may_view_thread(user, message.thread):
        return False
    return message.author_id == user.pk or "moderate" in held_perms(user, message.thread.community)


register(
    Thread,
    "view",
    Rule(predicate=_may_view_thread, explanation="Readers of the community (of the allowed agencies, if restricted)."),
)
register(
    Thread,
    "post",
    Rule(predicate=_may_post_in_thread, explanation="Posters of the community, while the thread is open."),
)
register(
    Thread,
    "moderate",
    Rule(
        predicate=lambda user, thread: "moderate" in held_perms(user, thread.community),
        explanation="Community moderators.",
    ),
)
register(Message, "edit", Rule(predicate=_may_edit_message, explanation="The author, while they may post."))
register(Message, "delete", Rule(predicate=_may_delete_message, explanation="The author, or a moderator."))
register(Message, "react", Rule(predicate=lambda user, m: _may_post_in_thread(user, m.thread), explanation="Posters."))


# --- Incident rules -------------------------------------------------------------------------
# Non-participating agencies see nothing of an incident; observers read but do not alert.
from messaging.incidents.models import Incident  # noqa: E402


def _may_view_incident(user: User, incident: Incident) -> bool:
    agency = user.agency
    return (
        agency is not None
        and incident.agencies.filter(pk=agency.pk).exists()
        and "view_content" in held_perms(user, incident.community)
    )


def _coordinates(user: User, incident: Incident) -> bool:
    return user.pk in (incident.commander_id, incident.created_by_id) or "moderate" in held_perms(
        user, incident.community
    )


register(Incident, "view", Rule(predicate=_may_view_incident, explanation="People of the participating agencies."))
register(
    Incident,
    "board",
    Rule(
        predicate=lambda user, i: _may_view_incident(user, i) and "post" in held_perms(user, i.community),
        explanation="Posters of the participating agencies.",
    ),
)
register(
    Incident,
    "alert",
    Rule(
        predicate=lambda user, i: (
            _may_view_incident(user, i) and "post" in held_perms(user, i.community) and _coordinates(user, i)
        ),
        explanation="The commander and the community's moderators, if their agency may post.",
    ),
)
register(
    Incident,
    "coordinate",
    Rule(
        predicate=lambda user, i: _may_view_incident(user, i) and _coordinates(user, i),
        explanation="The commander, whoever opened it, and the community's moderators.",
    ),
)
register(
    Community,
    "open_incident",
    Rule(
        predicate=lambda user, c: {"post", "moderate"} <= held_perms(user, c),
        explanation="Moderators (and owning agencies' admins) of a community their agency may post in.",
    ),
)


# --- Document rules -----------------------------------------------------------------------
# A document's readers are its community's readers (when it is restricted, only those whose
# agency holds a grant on it), plus the agencies and the readers of the communities it is
# shared with. Grants on the document are the per-agency levels (view, revise, manage);
# they count while the agency's person reads the community, or for an agency holding an
# accepted share, so an agency removed from the community loses its documents on the next
# request. Selectors filter lists with the same conditions in SQL
# (``communities.documents.selectors.documents_for_user``).
from communities.documents.models import Document, DocumentShare, ShareStatus  # noqa: E402

_DOCUMENT_PERMS = frozenset({"view", "revise", "manage"})


def _accepted_shares(document: Document) -> list[DocumentShare]:
    """The document's accepted shares with their communities: loaded with the document when
    its queryset prefetched them as ``accepted_shares`` (search results), else one query."""
    found = getattr(document, "accepted_shares", None)
    if found is None:
        found = list(
            DocumentShare.objects.filter(document=document, status=ShareStatus.ACCEPTED).select_related("community")
        )
    return found


def _document_perms(user: User, document: Document) -> frozenset[str]:
    """What the person may do with the document: a subset of view, revise, manage."""
    checker = _checker(user)
    key = ("document-effective", document.pk)
    cache = checker._obj_perms_cache
    if key in cache:
        return cache[key]
    granted = held_perms(user, document) & _DOCUMENT_PERMS
    effective: set[str] = set()
    if "view_content" in held_perms(user, document.community):
        if not document.restricted:
            effective.add("view")
        effective |= granted
    elif granted:
        agency = user.agency
        shared = agency is not None and any(share.agency_id == agency.pk for share in _accepted_shares(document))
        if shared:
            effective |= granted - {"manage"}
    if "view" not in effective:
        communities = [share.community for share in _accepted_shares(document) if share.community_id is not None]
        if any("view_content" in held_perms(user, community) for community in communities):
            effective.add("view")
    if effective - {"view"}:
        effective.add("view")
    cache[key] = frozenset(effective)
    return cache[key]


register(
    Document,
    "view",
    Rule(
        predicate=lambda user, document: "view" in _document_perms(user, document),
        explanation="Readers of the community (of the named agencies, if restricted), and those it is shared with.",
    ),
)
register(
    Document,
    "revise",
    Rule(
        predicate=lambda user, document: "revise" in _document_perms(user, document),
        explanation="The owning agency's staff, and agencies given revise.",
    ),
)
register(
    Document,
    "manage",
    Rule(
        predicate=lambda user, document: "manage" in _document_perms(user, document),
        explanation="The owning agency's admins, and admins of agencies given manage.",
    ),
)
# The grants alone, for explanations ("why can Jane see this?"): explain_many on these
# names the agency and its standing on the document. Checks use the rules above.
register(Document, "view_grant", Rule(perm="view"))
register(Document, "revise_grant", Rule(perm="revise"))
register(Document, "manage_grant", Rule(perm="manage"))
register(
    Community,
    "add_document",
    Rule(
        predicate=lambda user, community: not community.is_archived and "post" in held_perms(user, community),
        explanation="Posters of the community (owners and participants), while it is active.",
    ),
)


def _document_standing(agencies: list[Agency], document: Document) -> dict[int, str]:
    shared = set(
        DocumentShare.objects.filter(document=document, status=ShareStatus.ACCEPTED, agency__in=agencies).values_list(
            "agency_id", flat=True
        )
    )
    members = set(document.community.memberships.filter(agency__in=agencies).values_list("agency_id", flat=True))
    standing = {}
    for agency in agencies:
        if agency.pk == document.owning_agency_id:
            standing[agency.pk] = "which owns the document"
        elif agency.pk in shared:
            standing[agency.pk] = "with which the document is shared"
        elif agency.pk in members:
            standing[agency.pk] = "named on the document"
        else:
            standing[agency.pk] = f"no longer a member of {document.community.name}"
    return standing


_STANDING[Document] = _document_standing


# --- Announcement rules ---------------------------------------------------------------------
# An announcement is read where it appears: a live public one by anyone (anonymous readers
# get it from the selectors and public feeds, which ask for the public audience in SQL), a
# live members-only one by the readers of its home community and of every community that
# accepted a promotion of it. The publishing agency's people who may post in its home
# community write it (edit, publish, retract, promote, read its reach) in every state.
# Selectors filter lists with the same conditions in SQL
# (``communities.announcements.selectors.announcements_for_user``).
from communities.announcements.models import Announcement, Promotion  # noqa: E402
from communities.models import ConsentStatus  # noqa: E402


def _publishes(user: User, announcement: Announcement) -> bool:
    agency = user.agency
    return (
        agency is not None
        and announcement.agency_id == agency.pk
        and "post" in held_perms(user, announcement.community)
    )


def _may_read_announcement(user: User, announcement: Announcement) -> bool:
    if _publishes(user, announcement):
        return True
    if not announcement.is_live:
        return False
    if announcement.is_public or "view_content" in held_perms(user, announcement.community):
        return True
    # Loaded with the announcement when its queryset prefetched them (search results).
    accepted = getattr(announcement, "accepted_promotions", None)
    if accepted is None:
        accepted = Promotion.objects.filter(announcement=announcement, status=ConsentStatus.ACCEPTED).select_related(
            "community"
        )
    return any("view_content" in held_perms(user, p.community) for p in accepted)


def _reviews_promotions(user: User, community: Community) -> bool:
    return not community.is_archived and bool({"manage", "moderate"} & held_perms(user, community))


register(
    Announcement,
    "view",
    Rule(
        predicate=_may_read_announcement,
        explanation="Anyone for a public announcement; readers of the communities it appears in otherwise.",
    ),
)
register(
    Announcement,
    "manage",
    Rule(predicate=_publishes, explanation="People of the publishing agency who may post in its home community."),
)
register(
    Community,
    "announce",
    Rule(
        predicate=lambda user, community: not community.is_archived and "post" in held_perms(user, community),
        explanation="Posters of the community (owners and participants), while it is active.",
    ),
)
register(
    Community,
    "review_promotions",
    Rule(predicate=_reviews_promotions, explanation="The community's owners and moderators, while it is active."),
)
register(
    Promotion,
    "decide",
    Rule(
        predicate=lambda user, promotion: _reviews_promotions(user, promotion.community),
        explanation="Owners and moderators of the community the announcement would appear in.",
    ),
)
