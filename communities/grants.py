"""How a community role becomes django-guardian grants. Called by actions only, inside
their transaction, so a role change and its grants commit together."""

from __future__ import annotations

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType

from communities.models import Community, CommunityGroupObjectPermission, CommunityRole, CommunityUserObjectPermission
from workspace.models import Agency, User

# Which permissions each role grants to the agency's staff group and to its admin group.
ROLE_GRANTS: dict[str, dict[str, tuple[str, ...]]] = {
    CommunityRole.OWNER: {"staff": ("view_content", "post"), "admins": ("manage", "moderate")},
    CommunityRole.PARTICIPANT: {"staff": ("view_content", "post"), "admins": ()},
    CommunityRole.OBSERVER: {"staff": ("view_content",), "admins": ()},
}
MODERATOR_PERMS = ("moderate",)


def _permissions(codenames: tuple[str, ...]) -> list[Permission]:
    ct = ContentType.objects.get_for_model(Community)
    return list(Permission.objects.filter(content_type=ct, codename__in=codenames))


def apply_role(community: Community, agency: Agency, role: str | None) -> None:
    """Make the agency's groups hold exactly what ``role`` grants (nothing for None)."""
    groups = {"staff": agency.staff_group_id, "admins": agency.admin_group_id}
    CommunityGroupObjectPermission.objects.filter(content_object=community, group_id__in=groups.values()).delete()
    if role is None:
        return
    rows = [
        CommunityGroupObjectPermission(content_object=community, group_id=groups[side], permission=perm)
        for side, codenames in ROLE_GRANTS[role].items()
        for perm in _permissions(codenames)
    ]
    CommunityGroupObjectPermission.objects.bulk_create(rows)


def grant_moderator(community: Community, user: User) -> None:
    for perm in _permissions(MODERATOR_PERMS):
        CommunityUserObjectPermission.objects.get_or_create(content_object=community, user=user, permission=perm)


def revoke_moderator(community: Community, user: User) -> None:
    CommunityUserObjectPermission.objects.filter(
        content_object=community, user=user, permission__codename__in=MODERATOR_PERMS
    ).delete()
