"""Staff management actions: what they change, and that bad input changes nothing."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied

from tests.factories import AgencyFactory, PersonFactory
from workspace import actions, policy
from workspace.exceptions import ActionError
from workspace.models import AgencyRole, AuditEvent, StaffInvitation, User


def audit_count() -> int:
    return AuditEvent.objects.count()


class TestInviteAndAccept:
    def test_invitation_emails_a_working_link_and_audits(self, world, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
        with django_capture_on_commit_callbacks(execute=True):
            sent = actions.invite_staff(actor=world.own_admin, agency=world.own, email="New.Deputy@Harbor.example")
        assert sent.invitation.email == "new.deputy@harbor.example"
        assert len(mail.outbox) == 1
        assert sent.url in mail.outbox[0].body
        assert AuditEvent.objects.filter(verb="staff.invited", agency=world.own).exists()
        token = sent.url.rstrip("/").rsplit("/", 1)[-1]
        user = actions.accept_invitation(raw_token=token, full_name="New Deputy", password="river-crest-2026")
        assert user.membership.agency == world.own
        assert user.check_password("river-crest-2026")
        with pytest.raises(ActionError, match="accepted"):
            actions.accept_invitation(raw_token=token, full_name="Again", password="river-crest-2026")

    def test_only_the_token_hash_is_stored(self, world) -> None:  # type: ignore[no-untyped-def]
        sent = actions.invite_staff(actor=world.own_admin, agency=world.own, email="x@harbor.example")
        token = sent.url.rstrip("/").rsplit("/", 1)[-1]
        assert not StaffInvitation.objects.filter(token_hash=token).exists()
        assert actions.find_invitation(token) == sent.invitation

    def test_expired_invitation_cannot_be_accepted(self, world, settings) -> None:  # type: ignore[no-untyped-def]
        from datetime import timedelta

        settings.STAFF_INVITATION_TTL = timedelta(seconds=-1)
        sent = actions.invite_staff(actor=world.own_admin, agency=world.own, email="late@harbor.example")
        token = sent.url.rstrip("/").rsplit("/", 1)[-1]
        with pytest.raises(ActionError, match="expired"):
            actions.accept_invitation(raw_token=token, full_name="Late", password="river-crest-2026")
        assert not User.objects.filter(email="late@harbor.example").exists()

    def test_duplicate_email_of_existing_account_is_refused(self, world) -> None:  # type: ignore[no-untyped-def]
        before = audit_count()
        with pytest.raises(ActionError, match="already has an account"):
            actions.invite_staff(actor=world.own_admin, agency=world.own, email=world.other_staff.email.upper())
        assert not StaffInvitation.objects.exists()
        assert audit_count() == before

    def test_duplicate_pending_invitation_is_refused(self, world) -> None:  # type: ignore[no-untyped-def]
        actions.invite_staff(actor=world.own_admin, agency=world.own, email="twice@harbor.example")
        with pytest.raises(ActionError, match="pending invitation"):
            actions.invite_staff(actor=world.other_admin, agency=world.other, email="twice@harbor.example")
        assert StaffInvitation.objects.count() == 1

    def test_revoked_invitation_stops_working(self, world) -> None:  # type: ignore[no-untyped-def]
        sent = actions.invite_staff(actor=world.own_admin, agency=world.own, email="gone@harbor.example")
        actions.revoke_invitation(actor=world.own_admin, invitation=sent.invitation)
        token = sent.url.rstrip("/").rsplit("/", 1)[-1]
        with pytest.raises(ActionError, match="revoked"):
            actions.accept_invitation(raw_token=token, full_name="Gone", password="river-crest-2026")

    def test_weak_password_is_refused_and_creates_nobody(self, world) -> None:  # type: ignore[no-untyped-def]
        sent = actions.invite_staff(actor=world.own_admin, agency=world.own, email="weak@harbor.example")
        token = sent.url.rstrip("/").rsplit("/", 1)[-1]
        with pytest.raises(ActionError) as excinfo:
            actions.accept_invitation(raw_token=token, full_name="Weak", password="password")
        assert excinfo.value.field == "password"
        assert not User.objects.filter(email="weak@harbor.example").exists()
        sent.invitation.refresh_from_db()
        assert sent.invitation.accepted_at is None

    @pytest.mark.parametrize("actor", ["own_staff", "other_admin", "deactivated"])
    def test_only_own_agency_admins_may_invite(self, world, actor: str) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(PermissionDenied):
            actions.invite_staff(actor=getattr(world, actor), agency=world.own, email="n@harbor.example")
        assert not StaffInvitation.objects.exists()

    def test_bad_email_and_role_are_refused(self, world) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(ActionError, match="valid email"):
            actions.invite_staff(actor=world.own_admin, agency=world.own, email="not-an-email")
        with pytest.raises(ActionError, match="Unknown role"):
            actions.invite_staff(actor=world.own_admin, agency=world.own, email="a@b.example", role="owner")
        assert not StaffInvitation.objects.exists()


class TestRolesAndDeactivation:
    def test_promotion_grants_admin_rights_at_once(self, world) -> None:  # type: ignore[no-untyped-def]
        assert not policy.can(world.own_staff, "manage_staff", world.own)
        actions.change_staff_role(actor=world.own_admin, member=world.own_staff, role=AgencyRole.ADMIN)
        assert policy.can(world.own_staff, "manage_staff", world.own)
        event = AuditEvent.objects.get(verb="staff.role_changed")
        assert event.details == {"from": "staff", "to": "admin"}
        assert event.actor == world.own_admin and event.agency == world.own

    def test_demotion_removes_admin_rights_at_once(self, world) -> None:  # type: ignore[no-untyped-def]
        actions.change_staff_role(actor=world.own_admin, member=world.own_staff, role=AgencyRole.ADMIN)
        actions.change_staff_role(actor=world.own_staff, member=world.own_admin, role=AgencyRole.STAFF)
        world.own_admin.refresh_from_db()
        assert not policy.can(world.own_admin, "manage_staff", world.own)

    def test_last_admin_cannot_be_demoted(self, world) -> None:  # type: ignore[no-untyped-def]
        before = audit_count()
        with pytest.raises(ActionError, match="last admin"):
            actions.change_staff_role(actor=world.own_admin, member=world.own_admin, role=AgencyRole.STAFF)
        world.own_admin.membership.refresh_from_db()
        assert world.own_admin.membership.role == AgencyRole.ADMIN
        assert audit_count() == before

    def test_last_admin_cannot_be_deactivated(self, world) -> None:  # type: ignore[no-untyped-def]
        before = audit_count()
        with pytest.raises(ActionError, match="last admin"):
            actions.deactivate_staff(actor=world.own_admin, member=world.own_admin)
        world.own_admin.refresh_from_db()
        assert world.own_admin.is_active
        assert audit_count() == before

    def test_deactivated_admins_do_not_count_as_remaining_admins(self, world) -> None:  # type: ignore[no-untyped-def]
        second = PersonFactory(agency=world.own, role=AgencyRole.ADMIN)
        actions.deactivate_staff(actor=world.own_admin, member=second)
        with pytest.raises(ActionError, match="last admin"):
            actions.deactivate_staff(actor=world.own_admin, member=world.own_admin)

    def test_deactivation_ends_sessions_and_revokes_grants(self, world) -> None:  # type: ignore[no-untyped-def]
        second = PersonFactory(agency=world.own, role=AgencyRole.ADMIN)
        version = second.session_version
        actions.deactivate_staff(actor=world.own_admin, member=second)
        second.refresh_from_db()
        assert not second.is_active
        assert second.session_version == version + 1
        assert not second.groups.exists()
        assert not policy.can(second, "manage_staff", world.own)

    def test_reactivation_restores_grants_but_not_old_sessions(self, world) -> None:  # type: ignore[no-untyped-def]
        actions.reactivate_staff(actor=world.own_admin, member=world.deactivated)
        world.deactivated.refresh_from_db()
        assert world.deactivated.is_active
        assert world.deactivated.groups.filter(pk=world.own.staff_group_id).exists()

    @pytest.mark.parametrize("actor", ["own_staff", "other_admin"])
    def test_only_own_agency_admins_may_change_people(self, world, actor: str) -> None:  # type: ignore[no-untyped-def]
        for call in (
            lambda: actions.change_staff_role(
                actor=getattr(world, actor), member=world.own_staff, role=AgencyRole.ADMIN
            ),
            lambda: actions.deactivate_staff(actor=getattr(world, actor), member=world.own_staff),
        ):
            with pytest.raises(PermissionDenied):
                call()
        world.own_staff.refresh_from_db()
        assert world.own_staff.is_active and world.own_staff.membership.role == AgencyRole.STAFF


class TestAgencies:
    def test_new_agency_has_groups_and_admin_grants(self, db) -> None:  # type: ignore[no-untyped-def]
        agency = AgencyFactory()
        admin = PersonFactory(agency=agency, role=AgencyRole.ADMIN)
        staff = PersonFactory(agency=agency)
        assert policy.can(admin, "manage_staff", agency) and policy.can(admin, "view_audit", agency)
        assert not policy.can(staff, "manage_staff", agency)
        assert AuditEvent.objects.filter(verb="agency.created", agency=agency).exists()

    def test_duplicate_agency_is_refused(self, db) -> None:  # type: ignore[no-untyped-def]
        AgencyFactory(slug="dup", name="Dup Office")
        with pytest.raises(ActionError, match="already exists"):
            AgencyFactory(slug="dup", name="Another name")

    def test_bad_state_code_is_refused_and_creates_nothing(self, db) -> None:  # type: ignore[no-untyped-def]
        from django.contrib.auth.models import Group

        with pytest.raises(ActionError, match="two-letter"):
            AgencyFactory(slug="bad-state", state="Lakeland")
        assert not Group.objects.filter(name__contains="bad-state").exists()
