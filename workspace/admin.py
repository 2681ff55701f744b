"""The operators' admin site. It is read-only for tenant data: every change to agencies,
people and the audit log goes through actions (pages and management commands), so the
audit log and live events are never bypassed."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from workspace.models import Agency, AgencyMembership, AuditEvent, StaffInvitation, User


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Agency)
class AgencyAdmin(ReadOnlyAdmin):
    list_display = ("name", "short_name", "level", "state", "is_active")
    list_filter = ("level", "state", "is_active")
    search_fields = ("name", "short_name", "slug")


@admin.register(User)
class UserAdmin(ReadOnlyAdmin):
    list_display = ("email", "full_name", "is_active", "is_staff", "date_joined")
    list_filter = ("is_active", "is_staff")
    search_fields = ("email", "full_name")
    exclude = ("password",)


@admin.register(AgencyMembership)
class AgencyMembershipAdmin(ReadOnlyAdmin):
    list_display = ("user", "agency", "role")
    list_filter = ("role", "agency")
    list_select_related = ("user", "agency")


@admin.register(StaffInvitation)
class StaffInvitationAdmin(ReadOnlyAdmin):
    list_display = ("email", "agency", "role", "created_at", "expires_at", "accepted_at", "revoked_at")
    list_select_related = ("agency",)
    exclude = ("token_hash",)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "actor_repr", "actor_agency", "agency", "verb", "target_repr", "ip_address")
    list_filter = ("verb",)
    list_select_related = ("actor_agency", "agency")
    search_fields = ("actor_repr", "target_repr", "verb")
    date_hierarchy = "created_at"
