"""How a community membership becomes django-guardian grants. Called by actions only,
inside their transaction, so a membership change and its grants commit together."""

from __future__ import annotations

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType

from communities.models import (
    Community,
    CommunityGroupObjectPermission,
    CommunityMembership,
    CommunityRole,
    CommunityUserObjectPermission,
)
from workspace.models import Agency, User

# Which permissions each role grants to the agency's staff and to its admins.
ROLE_GRANTS: dict[str, dict[str, tuple[str, ...]]] = {
    CommunityRole.OWNER: {"staff": ("view_content", "post"), "admins": ("manage", "moderate")},
    CommunityRole.PARTICIPANT: {"staff": ("view_content", "post"), "admins": ()},
    CommunityRole.OBSERVER: {"staff": ("view_content",), "admins": ()},
}
STAFF_PERMS = ("view_content", "post")
MODERATOR_PERMS = ("moderate",)


def _permissions(codenames: tuple[str, ...]) -> list[Permission]:
    ct = ContentType.objects.get_for_model(Community)
    return list(Permission.objects.filter(content_type=ct, codename__in=codenames))


def apply_membership(membership: CommunityMembership) -> None:
    """Make the agency hold exactly what its membership grants.

    With ``all_staff`` the staff permissions go to the agency's staff group (one grant
    for everyone); otherwise to its admin group and to each named person.
    """
    community, agency = membership.community, membership.agency
    clear(community, agency)
    grants = ROLE_GRANTS[membership.role]
    staff_perms = _permissions(grants["staff"])
    group_rows = [
        CommunityGroupObjectPermission(content_object=community, group_id=agency.admin_group_id, permission=perm)
        for perm in _permissions(grants["admins"])
    ]
    user_rows = []
    if membership.all_staff:
        group_ids = [agency.staff_group_id]
    else:
        group_ids = [agency.admin_group_id]
        user_rows = [
            CommunityUserObjectPermission(content_object=community, user=person, permission=perm)
            for person in membership.named_staff.all()
            for perm in staff_perms
        ]
    group_rows += [
        CommunityGroupObjectPermission(content_object=community, group_id=group_id, permission=perm)
        for group_id in group_ids
        for perm in staff_perms
    ]
    CommunityGroupObjectPermission.objects.bulk_create(group_rows)
    CommunityUserObjectPermission.objects.bulk_create(user_rows)


def clear(community: Community, agency: Agency) -> None:
    """Remove every grant the agency's membership gave (moderators are handled apart)."""
    CommunityGroupObjectPermission.objects.filter(
        content_object=community, group_id__in=[agency.staff_group_id, agency.admin_group_id]
    ).delete()
    CommunityUserObjectPermission.objects.filter(
        content_object=community, user__membership__agency=agency, permission__codename__in=STAFF_PERMS
    ).delete()


def grant_moderator(community: Community, user: User) -> None:
    for perm in _permissions(MODERATOR_PERMS):
        CommunityUserObjectPermission.objects.get_or_create(content_object=community, user=user, permission=perm)


def revoke_moderator(community: Community, user: User) -> None:
    CommunityUserObjectPermission.objects.filter(
        content_object=community, user=user, permission__codename__in=MODERATOR_PERMS
    ).delete()
