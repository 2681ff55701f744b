"""Community membership: two-sided consent, grants that follow roles, and the last owner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied

from communities import actions
from communities.models import CommunityMembership, CommunityRole, ConsentStatus, Visibility
from tests.factories import AgencyFactory, PersonFactory
from workspace import policy
from workspace.exceptions import ActionError
from workspace.models import Agency, AgencyRole, AuditEvent, User


@dataclass
class Cast:
    state: Agency
    county: Agency
    tribe: Agency
    state_admin: User
    state_staff: User
    county_admin: User
    county_staff: User
    tribe_admin: User


@pytest.fixture
def cast(db) -> Cast:  # type: ignore[no-untyped-def]
    state, county, tribe = AgencyFactory(level="state"), AgencyFactory(level="county"), AgencyFactory(level="tribal")
    return Cast(
        state=state,
        county=county,
        tribe=tribe,
        state_admin=PersonFactory(agency=state, role=AgencyRole.ADMIN),
        state_staff=PersonFactory(agency=state),
        county_admin=PersonFactory(agency=county, role=AgencyRole.ADMIN),
        county_staff=PersonFactory(agency=county),
        tribe_admin=PersonFactory(agency=tribe, role=AgencyRole.ADMIN),
    )


@pytest.fixture
def community(cast):  # type: ignore[no-untyped-def]
    return actions.create_community(
        actor=cast.state_admin,
        name="Lakeland Regional Emergency Coordination",
        purpose="Coordinate emergency response across jurisdictions.",
        tags=["flood", "emergency"],
    )


def fresh(user: User) -> User:
    """The same person as a new request would load them (no cached permissions)."""
    return User.objects.get(pk=user.pk)


def join(cast: Cast, community, agency: Agency, admin: User, role: str = CommunityRole.PARTICIPANT):  # type: ignore[no-untyped-def]
    invitation = actions.invite_agency(actor=cast.state_admin, community=community, agency=agency, role=role)
    return actions.accept_invitation(actor=admin, invitation=invitation)


class TestCreate:
    def test_creator_agency_owns_and_its_staff_can_read_and_post(self, cast, community) -> None:  # type: ignore[no-untyped-def]
        assert CommunityMembership.objects.get(community=community).role == CommunityRole.OWNER
        staff = fresh(cast.state_staff)
        assert policy.can(staff, "view_content", community) and policy.can(staff, "post", community)
        assert not policy.can(staff, "manage", community)
        assert policy.can(fresh(cast.state_admin), "manage", community)
        assert sorted(community.tags.values_list("slug", flat=True)) == ["emergency", "flood"]

    def test_only_agency_admins_create(self, cast) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(PermissionDenied):
            actions.create_community(actor=cast.state_staff, name="X", purpose="Y")

    def test_duplicate_name_is_refused(self, cast, community) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(ActionError, match="already exists"):
            actions.create_community(actor=cast.county_admin, name=community.name.upper(), purpose="Again")


class TestInvitations:
    def test_invite_then_accept_grants_the_role_at_once(
        self, cast, community, django_capture_on_commit_callbacks
    ) -> None:  # type: ignore[no-untyped-def]
        with django_capture_on_commit_callbacks(execute=True):
            invitation = actions.invite_agency(
                actor=cast.state_admin, community=community, agency=cast.county, role=CommunityRole.OBSERVER
            )
        assert [m.to for m in mail.outbox] == [[cast.county_admin.email]]
        assert not policy.can(fresh(cast.county_staff), "view_content", community)
        actions.accept_invitation(actor=cast.county_admin, invitation=invitation)
        staff = fresh(cast.county_staff)
        assert policy.can(staff, "view_content", community)
        assert not policy.can(staff, "post", community)
        invitation.refresh_from_db()
        assert invitation.status == ConsentStatus.ACCEPTED and invitation.decided_by == cast.county_admin
        assert AuditEvent.objects.filter(verb="community.agency_joined", agency=cast.county).exists()

    def test_decline_admits_nobody(self, cast, community) -> None:  # type: ignore[no-untyped-def]
        invitation = actions.invite_agency(actor=cast.state_admin, community=community, agency=cast.county)
        actions.decline_invitation(actor=cast.county_admin, invitation=invitation)
        assert not CommunityMembership.objects.filter(agency=cast.county).exists()
        with pytest.raises(ActionError, match="already declined"):
            actions.accept_invitation(actor=cast.county_admin, invitation=invitation)

    def test_expired_invitation_cannot_be_accepted(self, cast, community, settings) -> None:  # type: ignore[no-untyped-def]
        settings.COMMUNITY_CONSENT_TTL = timedelta(seconds=-1)
        invitation = actions.invite_agency(actor=cast.state_admin, community=community, agency=cast.county)
        with pytest.raises(ActionError, match="expired"):
            actions.accept_invitation(actor=cast.county_admin, invitation=invitation)
        assert not CommunityMembership.objects.filter(agency=cast.county).exists()
        # An expired invitation does not block a new one.
        settings.COMMUNITY_CONSENT_TTL = timedelta(days=1)
        actions.invite_agency(actor=cast.state_admin, community=community, agency=cast.county)

    def test_duplicate_invitation_and_inviting_a_member_are_refused(self, cast, community) -> None:  # type: ignore[no-untyped-def]
        actions.invite_agency(actor=cast.state_admin, community=community, agency=cast.county)
        with pytest.raises(ActionError, match="pending invitation"):
            actions.invite_agency(actor=cast.state_admin, community=community, agency=cast.county)
        with pytest.raises(ActionError, match="already a member"):
            actions.invite_agency(actor=cast.state_admin, community=community, agency=cast.state)

    def test_only_the_invited_agencys_admins_decide(self, cast, community) -> None:  # type: ignore[no-untyped-def]
        invitation = actions.invite_agency(actor=cast.state_admin, community=community, agency=cast.county)
        with pytest.raises(PermissionDenied):
            actions.accept_invitation(actor=cast.county_staff, invitation=invitation)
        with pytest.raises(ActionError, match="another agency"):
            actions.accept_invitation(actor=cast.tribe_admin, invitation=invitation)
        assert not CommunityMembership.objects.filter(agency=cast.county).exists()

    def test_only_managers_invite(self, cast, community) -> None:  # type: ignore[no-untyped-def]
        join(cast, community, cast.county, cast.county_admin)
        for actor in (cast.state_staff, cast.county_admin, cast.tribe_admin):
            with pytest.raises(PermissionDenied):
                actions.invite_agency(actor=fresh(actor), community=community, agency=cast.tribe)

    def test_withdrawn_invitation_cannot_be_accepted(self, cast, community) -> None:  # type: ignore[no-untyped-def]
        invitation = actions.invite_agency(actor=cast.state_admin, community=community, agency=cast.county)
        actions.withdraw_invitation(actor=cast.state_admin, invitation=invitation)
        with pytest.raises(ActionError, match="withdrawn"):
            actions.accept_invitation(actor=cast.county_admin, invitation=invitation)


class TestJoinRequests:
    def test_request_then_approve(self, cast, community, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
        with django_capture_on_commit_callbacks(execute=True):
            join_request = actions.request_to_join(
                actor=cast.tribe_admin, community=community, reason="Our emergency services cover the river valley."
            )
        assert [m.to for m in mail.outbox] == [[cast.state_admin.email]]
        actions.approve_request(actor=cast.state_admin, join_request=join_request, role=CommunityRole.PARTICIPANT)
        assert policy.can(fresh(cast.tribe_admin), "post", community)

    def test_decline_request(self, cast, community) -> None:  # type: ignore[no-untyped-def]
        join_request = actions.request_to_join(actor=cast.tribe_admin, community=community, reason="Please.")
        actions.decline_request(actor=cast.state_admin, join_request=join_request)
        assert not CommunityMembership.objects.filter(agency=cast.tribe).exists()
        # After a decline the agency may ask again.
        actions.request_to_join(actor=cast.tribe_admin, community=community, reason="New facts.")

    def test_empty_reason_duplicate_and_staff_requests_are_refused(self, cast, community) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(ActionError, match="why"):
            actions.request_to_join(actor=cast.tribe_admin, community=community, reason="  ")
        actions.request_to_join(actor=cast.county_admin, community=community, reason="Flood zone.")
        with pytest.raises(ActionError, match="pending request"):
            actions.request_to_join(actor=cast.county_admin, community=community, reason="Again.")
        with pytest.raises(PermissionDenied):
            actions.request_to_join(actor=cast.county_staff, community=community, reason="Me too.")

    def test_unlisted_community_takes_no_requests_and_is_hidden(self, cast) -> None:  # type: ignore[no-untyped-def]
        secret = actions.create_community(
            actor=cast.state_admin, name="Measles exposure", purpose="Restricted.", visibility=Visibility.UNLISTED
        )
        assert not policy.can(fresh(cast.county_admin), "see", secret)
        with pytest.raises(ActionError, match="No such community"):
            actions.request_to_join(actor=cast.county_admin, community=secret, reason="Let us in.")


class TestLeavingAndRoles:
    def test_leaving_revokes_access_at_once(self, cast, community) -> None:  # type: ignore[no-untyped-def]
        join(cast, community, cast.county, cast.county_admin)
        staff = fresh(cast.county_staff)
        assert policy.can(staff, "view_content", community)
        actions.leave_community(actor=cast.county_admin, community=community)
        assert not policy.can(fresh(cast.county_staff), "view_content", community)
        assert AuditEvent.objects.filter(verb="community.agency_left", agency=cast.county).exists()

    def test_reinvitation_after_leaving(self, cast, community) -> None:  # type: ignore[no-untyped-def]
        join(cast, community, cast.county, cast.county_admin)
        actions.leave_community(actor=cast.county_admin, community=community)
        join(cast, community, cast.county, cast.county_admin, role=CommunityRole.OBSERVER)
        assert CommunityMembership.objects.get(agency=cast.county).role == CommunityRole.OBSERVER

    def test_last_owner_cannot_leave_be_removed_or_demoted(self, cast, community) -> None:  # type: ignore[no-untyped-def]
        before = AuditEvent.objects.count()
        with pytest.raises(ActionError, match="last owner"):
            actions.leave_community(actor=cast.state_admin, community=community)
        with pytest.raises(ActionError, match="last owner"):
            actions.remove_agency(actor=cast.state_admin, community=community, agency=cast.state)
        with pytest.raises(ActionError, match="last owner"):
            actions.change_agency_role(
                actor=cast.state_admin, community=community, agency=cast.state, role=CommunityRole.OBSERVER
            )
        assert CommunityMembership.objects.get(agency=cast.state).role == CommunityRole.OWNER
        assert policy.can(fresh(cast.state_admin), "manage", community)
        assert AuditEvent.objects.count() == before

    def test_promotion_to_owner_then_original_owner_may_leave(self, cast, community) -> None:  # type: ignore[no-untyped-def]
        join(cast, community, cast.county, cast.county_admin)
        actions.change_agency_role(
            actor=cast.state_admin, community=community, agency=cast.county, role=CommunityRole.OWNER
        )
        assert policy.can(fresh(cast.county_admin), "manage", community)
        actions.leave_community(actor=cast.state_admin, community=community)
        assert not policy.can(fresh(cast.state_staff), "view_content", community)

    def test_demotion_takes_effect_on_next_check(self, cast, community) -> None:  # type: ignore[no-untyped-def]
        join(cast, community, cast.county, cast.county_admin)
        actions.change_agency_role(
            actor=cast.state_admin, community=community, agency=cast.county, role=CommunityRole.OBSERVER
        )
        staff = fresh(cast.county_staff)
        assert policy.can(staff, "view_content", community) and not policy.can(staff, "post", community)

    def test_removed_agency_loses_access_and_others_keep_it(self, cast, community) -> None:  # type: ignore[no-untyped-def]
        join(cast, community, cast.county, cast.county_admin)
        join(cast, community, cast.tribe, cast.tribe_admin)
        actions.remove_agency(actor=cast.state_admin, community=community, agency=cast.county)
        assert not policy.can(fresh(cast.county_staff), "view_content", community)
        assert policy.can(fresh(cast.tribe_admin), "view_content", community)

    def test_bad_role_is_refused(self, cast, community) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(ActionError, match="Unknown role"):
            actions.invite_agency(actor=cast.state_admin, community=community, agency=cast.county, role="king")

    def test_explain_names_the_agency_and_its_role(self, cast, community) -> None:  # type: ignore[no-untyped-def]
        join(cast, community, cast.county, cast.county_admin, role=CommunityRole.OBSERVER)
        grants = policy.explain(fresh(cast.county_staff), "view_content", community)
        assert len(grants) == 1
        assert cast.county.name in grants[0].description and "observer" in grants[0].description


def test_page_addresses_cannot_become_community_names(cast) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ActionError, match="cannot be used"):
        actions.create_community(actor=cast.state_admin, name="Inbox", purpose="Clash with the inbox page.")


def test_members_are_listed_owners_first(cast, community) -> None:  # type: ignore[no-untyped-def]
    from communities.selectors import members_of_community

    join(cast, community, cast.county, cast.county_admin, role=CommunityRole.OBSERVER)
    join(cast, community, cast.tribe, cast.tribe_admin, role=CommunityRole.PARTICIPANT)
    assert [m.role for m in members_of_community(community)] == ["owner", "participant", "observer"]


class TestNamedParticipants:
    def test_naming_staff_limits_access_to_them_and_the_admins(self, cast, community) -> None:  # type: ignore[no-untyped-def]
        from communities.selectors import people_with_access

        join(cast, community, cast.county, cast.county_admin)
        named = PersonFactory(agency=cast.county)
        actions.set_participants(actor=cast.county_admin, community=community, people=[named])
        assert policy.can(fresh(named), "post", community)
        assert policy.can(fresh(cast.county_admin), "view_content", community)
        assert not policy.can(fresh(cast.county_staff), "view_content", community)
        county_people = set(people_with_access(community).filter(membership__agency=cast.county))
        assert county_people == {named, cast.county_admin}
        grants = policy.explain(fresh(named), "view_content", community)
        assert [g.kind for g in grants] == ["user"]
        event = AuditEvent.objects.get(verb="community.participants_changed")
        assert event.details == {"all_staff": False, "named": [named.email]}

    def test_back_to_all_staff(self, cast, community) -> None:  # type: ignore[no-untyped-def]
        join(cast, community, cast.county, cast.county_admin)
        named = PersonFactory(agency=cast.county)
        actions.set_participants(actor=cast.county_admin, community=community, people=[named])
        actions.set_participants(actor=cast.county_admin, community=community, people=None)
        assert policy.can(fresh(cast.county_staff), "view_content", community)
        assert [g.kind for g in policy.explain(fresh(named), "view_content", community)] == ["group"]

    def test_role_change_keeps_the_named_people(self, cast, community) -> None:  # type: ignore[no-untyped-def]
        join(cast, community, cast.county, cast.county_admin)
        named = PersonFactory(agency=cast.county)
        actions.set_participants(actor=cast.county_admin, community=community, people=[named])
        actions.change_agency_role(
            actor=cast.state_admin, community=community, agency=cast.county, role=CommunityRole.OBSERVER
        )
        assert policy.can(fresh(named), "view_content", community)
        assert not policy.can(fresh(named), "post", community)
        assert not policy.can(fresh(cast.county_staff), "view_content", community)

    def test_leaving_removes_named_grants(self, cast, community) -> None:  # type: ignore[no-untyped-def]
        join(cast, community, cast.county, cast.county_admin)
        named = PersonFactory(agency=cast.county)
        actions.set_participants(actor=cast.county_admin, community=community, people=[named])
        actions.leave_community(actor=cast.county_admin, community=community)
        assert not policy.can(fresh(named), "view_content", community)

    def test_only_own_active_staff_can_be_named_and_nothing_changes_otherwise(self, cast, community) -> None:  # type: ignore[no-untyped-def]
        join(cast, community, cast.county, cast.county_admin)
        before = AuditEvent.objects.count()
        with pytest.raises(ActionError, match="Only active staff"):
            actions.set_participants(actor=cast.county_admin, community=community, people=[cast.tribe_admin])
        assert policy.can(fresh(cast.county_staff), "view_content", community)
        assert AuditEvent.objects.count() == before

    def test_only_the_agencys_admins_name_people(self, cast, community) -> None:  # type: ignore[no-untyped-def]
        join(cast, community, cast.county, cast.county_admin)
        with pytest.raises(PermissionDenied):
            actions.set_participants(actor=cast.county_staff, community=community, people=[])

    def test_non_member_agency_cannot_name_people(self, cast, community) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(ActionError, match="not a member"):
            actions.set_participants(actor=cast.tribe_admin, community=community, people=[])


class TestModerators:
    def test_appoint_and_remove(self, cast, community) -> None:  # type: ignore[no-untyped-def]
        join(cast, community, cast.county, cast.county_admin)
        actions.appoint_moderator(actor=cast.state_admin, community=community, person=cast.county_staff)
        assert policy.can(fresh(cast.county_staff), "moderate", community)
        assert [g.kind for g in policy.explain(fresh(cast.county_staff), "moderate", community)] == ["user"]
        actions.remove_moderator(actor=cast.state_admin, community=community, person=cast.county_staff)
        assert not policy.can(fresh(cast.county_staff), "moderate", community)

    def test_outsiders_duplicates_and_non_managers_are_refused(self, cast, community) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(ActionError, match="does not take part"):
            actions.appoint_moderator(actor=cast.state_admin, community=community, person=cast.tribe_admin)
        actions.appoint_moderator(actor=cast.state_admin, community=community, person=cast.state_staff)
        with pytest.raises(ActionError, match="already a moderator"):
            actions.appoint_moderator(actor=cast.state_admin, community=community, person=cast.state_staff)
        with pytest.raises(PermissionDenied):
            actions.appoint_moderator(actor=fresh(cast.state_staff), community=community, person=cast.state_admin)
        with pytest.raises(ActionError, match="not a moderator"):
            actions.remove_moderator(actor=cast.state_admin, community=community, person=cast.county_admin)

    def test_moderator_not_named_any_more_loses_moderation(self, cast, community) -> None:  # type: ignore[no-untyped-def]
        from communities.models import Moderator

        join(cast, community, cast.county, cast.county_admin)
        actions.appoint_moderator(actor=cast.state_admin, community=community, person=cast.county_staff)
        actions.set_participants(actor=cast.county_admin, community=community, people=[])
        assert not policy.can(fresh(cast.county_staff), "moderate", community)
        assert not Moderator.objects.filter(user=cast.county_staff).exists()


def test_explain_many_matches_explain_in_fixed_queries(cast, community, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    join(cast, community, cast.county, cast.county_admin)
    people = [fresh(p) for p in (cast.state_admin, cast.state_staff, cast.county_staff, cast.tribe_admin)]
    singles = {p.pk: policy.explain(p, "view_content", community) for p in people}
    with django_assert_max_num_queries(6):
        many = policy.explain_many(people, "view_content", community)
    assert many == singles
    assert many[cast.tribe_admin.pk] == []


class TestEditAndArchive:
    def test_owners_edit_about_and_tags(self, cast, community) -> None:  # type: ignore[no-untyped-def]
        actions.update_community(
            actor=cast.state_admin,
            community=community,
            name="Lakeland Emergency Coordination",
            purpose="New purpose.",
            tags=["wildfire"],
        )
        community.refresh_from_db()
        assert community.name == "Lakeland Emergency Coordination"
        assert community.slug == "lakeland-regional-emergency-coordination"
        assert list(community.tags.values_list("slug", flat=True)) == ["wildfire"]
        event = AuditEvent.objects.get(verb="community.updated")
        assert event.details == {"changed": ["name", "purpose"]}

    def test_making_it_unlisted_hides_it_from_outsiders_at_once(self, cast, community) -> None:  # type: ignore[no-untyped-def]
        assert policy.can(fresh(cast.tribe_admin), "see", community)
        actions.update_community(
            actor=cast.state_admin,
            community=community,
            name=community.name,
            purpose=community.purpose,
            visibility=Visibility.UNLISTED,
        )
        community.refresh_from_db()
        assert not policy.can(fresh(cast.tribe_admin), "see", community)
        assert policy.can(fresh(cast.state_staff), "see", community)

    def test_bad_edits_change_nothing(self, cast, community) -> None:  # type: ignore[no-untyped-def]
        other = actions.create_community(actor=cast.county_admin, name="Pine Partners", purpose="Other.")
        for kwargs, match in [
            ({"name": other.name, "purpose": "x"}, "already exists"),
            ({"name": " ", "purpose": "x"}, "name"),
            ({"name": "Fine", "purpose": ""}, "what the community is for"),
            ({"name": "Fine", "purpose": "x", "visibility": "secret"}, "listed or unlisted"),
        ]:
            with pytest.raises(ActionError, match=match):
                actions.update_community(actor=cast.state_admin, community=community, **kwargs)
        community.refresh_from_db()
        assert community.name == "Lakeland Regional Emergency Coordination"
        with pytest.raises(PermissionDenied):
            actions.update_community(actor=cast.state_staff, community=community, name="X", purpose="Y")

    def test_archive_hides_from_directory_and_blocks_joining(self, cast, community) -> None:  # type: ignore[no-untyped-def]
        from communities.selectors import communities_for_directory

        actions.set_archived(actor=cast.state_admin, community=community, archived=True)
        assert community not in communities_for_directory()
        assert policy.can(fresh(cast.state_staff), "view_content", community)
        with pytest.raises(ActionError, match="archived"):
            actions.invite_agency(actor=cast.state_admin, community=community, agency=cast.county)
        with pytest.raises(ActionError, match="already archived"):
            actions.set_archived(actor=cast.state_admin, community=community, archived=True)
        actions.set_archived(actor=cast.state_admin, community=community, archived=False)
        assert community in communities_for_directory()


def test_consent_steps_notify_the_other_side_in_app(cast, community) -> None:  # type: ignore[no-untyped-def]
    from messaging.models import Notification

    invitation = actions.invite_agency(actor=cast.state_admin, community=community, agency=cast.county)
    note = Notification.objects.get(recipient=cast.county_admin)
    assert note.kind == "community.invited" and note.url == "/communities/inbox/"
    assert not Notification.objects.filter(recipient=cast.county_staff).exists()
    actions.accept_invitation(actor=cast.county_admin, invitation=invitation)
    assert Notification.objects.filter(recipient=cast.state_admin, kind="community.invitation_accepted").exists()
