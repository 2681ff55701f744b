"""How a document access level becomes django-guardian grants. Called by actions only,
inside their transaction, so a change of access and its grants commit together."""

from __future__ import annotations

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType

from communities.documents.models import AccessLevel, Document, DocumentGroupObjectPermission
from workspace.models import Agency

# Which permissions each level grants to the agency's staff and to its admins (admins are
# staff too). As for communities, the agency's admins hold the managing power.
LEVEL_GRANTS: dict[str, dict[str, tuple[str, ...]]] = {
    AccessLevel.VIEW: {"staff": ("view",), "admins": ()},
    AccessLevel.REVISE: {"staff": ("view", "revise"), "admins": ()},
    AccessLevel.MANAGE: {"staff": ("view", "revise"), "admins": ("manage",)},
}
OWNER_LEVEL = AccessLevel.MANAGE


def _permissions() -> dict[str, Permission]:
    ct = ContentType.objects.get_for_model(Document)
    return {perm.codename: perm for perm in Permission.objects.filter(content_type=ct)}


def set_level(document: Document, agency: Agency, level: str | None) -> None:
    """Make the agency hold exactly ``level`` on the document (``None``: nothing)."""
    clear(document, agency)
    if level is None:
        return
    perms = _permissions()
    grants = LEVEL_GRANTS[level]
    rows = [
        DocumentGroupObjectPermission(content_object=document, group_id=group_id, permission=perms[codename])
        for group_id, codenames in ((agency.staff_group_id, grants["staff"]), (agency.admin_group_id, grants["admins"]))
        for codename in codenames
    ]
    DocumentGroupObjectPermission.objects.bulk_create(rows)


def clear(document: Document, agency: Agency) -> None:
    DocumentGroupObjectPermission.objects.filter(
        content_object=document, group_id__in=[agency.staff_group_id, agency.admin_group_id]
    ).delete()


def levels(document: Document) -> dict[int, str]:
    """Each agency's level on the document, read back from the grants (one query)."""
    rows = DocumentGroupObjectPermission.objects.filter(content_object=document).values_list(
        "group__staff_of_agency", "group__admins_of_agency", "permission__codename"
    )
    held: dict[int, set[str]] = {}
    for staff_of, admins_of, codename in rows:
        agency_id = staff_of or admins_of
        if agency_id is not None:
            held.setdefault(agency_id, set()).add(codename)
    found = {}
    for agency_id, codenames in held.items():
        if "manage" in codenames:
            found[agency_id] = AccessLevel.MANAGE
        elif "revise" in codenames:
            found[agency_id] = AccessLevel.REVISE
        elif "view" in codenames:
            found[agency_id] = AccessLevel.VIEW
    return found
