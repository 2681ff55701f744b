"""Community pages: bad input gets a clear error and changes nothing; the flows work."""

from __future__ import annotations

import pytest
from django.urls import reverse

from communities import actions
from communities.models import (
    Community,
    CommunityInvitation,
    CommunityMembership,
    CommunityRole,
    ConsentStatus,
    JoinRequest,
    Visibility,
)
from tests.communities.conftest import CommunityWorld, snapshot
from tests.factories import AgencyFactory, PersonFactory
from workspace.models import AgencyRole, AuditEvent


def page_url(world: CommunityWorld, name: str = "community_detail", *args: object) -> str:
    return reverse(name, args=[world.community.slug, *args])


def unchanged(world: CommunityWorld):  # type: ignore[no-untyped-def]
    """Snapshot of memberships, consents and the audit log, to compare after a refusal."""
    return snapshot(world), AuditEvent.objects.count()


# --- Inviting: a preview first, then the invitation ----------------------------------------


def test_invite_refuses_an_unknown_agency(cw, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(cw.owner_admin)
    before = unchanged(cw)
    for data in ({"agency": 999_999, "role": "participant"}, {"agency": "abc", "role": "participant", "confirm": "1"}):
        response = client.post(page_url(cw, "community_invite"), data)
        assert response.status_code == 400
        assert "Choose an agency from the list." in response.content.decode()
    assert unchanged(cw) == before


@pytest.mark.parametrize("confirm", [False, True], ids=["preview", "confirm"])
def test_invite_refuses_an_agency_already_invited_or_member(cw, client, confirm: bool) -> None:  # type: ignore[no-untyped-def]
    client.force_login(cw.owner_admin)
    before = unchanged(cw)
    for agency in (cw.invitee, cw.participant):
        data = {"agency": agency.pk, "role": "participant"} | ({"confirm": "1"} if confirm else {})
        response = client.post(page_url(cw, "community_invite"), data)
        assert response.status_code == 400
        assert f"{agency.name} cannot be invited: it is already a member, already invited" in response.content.decode()
    assert unchanged(cw) == before
    assert CommunityInvitation.objects.filter(agency=cw.invitee).count() == 1


def test_invite_refuses_an_unknown_role(cw, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(cw.owner_admin)
    before = unchanged(cw)
    response = client.post(page_url(cw, "community_invite"), {"agency": cw.nonmember.pk, "role": "king"})
    assert response.status_code == 400 and "Select a valid choice." in response.content.decode()
    assert unchanged(cw) == before


@pytest.mark.parametrize(
    ("role", "says", "does_not_say"),
    [
        (CommunityRole.OBSERVER, ["Read the community", "will <strong>not</strong> be able to post"], ["Post in"]),
        (CommunityRole.PARTICIPANT, ["Read the community", "Post in the community"], ["Invite, approve"]),
        (
            CommunityRole.OWNER,
            ["Read the community", "Post in the community", "Invite, approve, remove agencies", "Moderate"],
            ["not</strong> be able to post"],
        ),
    ],
)
def test_invite_preview_says_what_access_widens_to_and_changes_nothing(  # type: ignore[no-untyped-def]
    cw, client, role: str, says: list[str], does_not_say: list[str]
) -> None:
    client.force_login(cw.owner_admin)
    before = unchanged(cw)
    data = {"agency": cw.nonmember.pk, "role": role, "message": "Pine shares our river.\nJoin us."}
    response = client.post(page_url(cw, "community_invite"), data)
    body = response.content.decode()
    assert response.status_code == 200
    assert "Before access widens" in body and "Pine County Emergency Management" in body
    assert "2 active people today" in body  # Rita and Owen
    for text in says:
        assert text in body, text
    for text in does_not_say:
        assert text not in body, text
    assert 'name="confirm"' in body
    assert unchanged(cw) == before


def test_confirming_the_preview_sends_the_invitation(cw, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(cw.owner_admin)
    data = {"agency": cw.nonmember.pk, "role": "observer", "message": "Pine shares our river.", "confirm": "1"}
    response = client.post(page_url(cw, "community_invite"), data, follow=True)
    assert "Pine County Emergency Management is invited as observer." in response.content.decode()
    invitation = CommunityInvitation.objects.get(agency=cw.nonmember)
    assert (invitation.role, invitation.message, invitation.status) == ("observer", "Pine shares our river.", "pending")
    assert not CommunityMembership.objects.filter(agency=cw.nonmember).exists()


# --- Requests to join -----------------------------------------------------------------------


def test_join_request_needs_a_reason(cw, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(cw.nonmember_admin)
    before = unchanged(cw)
    response = client.post(page_url(cw, "community_join"), {"reason": "   "})
    assert response.status_code == 400
    assert "Say why your agency wants to join." in response.content.decode()
    assert unchanged(cw) == before
    assert not JoinRequest.objects.filter(agency=cw.nonmember).exists()


def test_non_member_admin_sees_entry_requirements_then_asks_to_join(cw, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(cw.nonmember_admin)
    body = client.get(page_url(cw)).content.decode()
    assert cw.community.entry_requirements in body and "Ask to join" in body
    response = client.post(page_url(cw, "community_join"), {"reason": "We run the east bank shelters."}, follow=True)
    body = response.content.decode()
    assert "Your request to join Lakeland Flood Coordination is sent." in body
    assert "Request sent" in body and "Ask to join" not in body
    assert JoinRequest.objects.get(agency=cw.nonmember).reason == "We run the east bank shelters."
    again = client.post(page_url(cw, "community_join"), {"reason": "Again."}, follow=True)
    assert "already has a pending request" in again.content.decode()
    assert JoinRequest.objects.filter(agency=cw.nonmember).count() == 1


def test_staff_are_not_offered_the_join_form(cw, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(cw.nonmember_staff)
    body = client.get(page_url(cw)).content.decode()
    assert "Ask to join" not in body and "Leave community" not in body


def test_invited_agency_is_pointed_to_its_inbox(cw, client) -> None:  # type: ignore[no-untyped-def]
    invitee_admin = cw.invitee.memberships.get(role=AgencyRole.ADMIN).user
    client.force_login(invitee_admin)
    body = client.get(page_url(cw)).content.decode()
    assert "Tri-County Water is invited" in body and reverse("community_inbox") in body
    assert "Ask to join" not in body


def test_approving_with_an_unknown_role_changes_nothing(cw, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(cw.owner_admin)
    before = unchanged(cw)
    url = page_url(cw, "community_request_approve", cw.join_request.pk)
    response = client.post(url, {"role": "admin"}, follow=True)
    assert "Choose owner, participant or observer." in response.content.decode()
    assert unchanged(cw) == before


def test_approving_admits_the_agency_with_the_chosen_role(cw, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(cw.owner_admin)
    response = client.post(page_url(cw, "community_request_approve", cw.join_request.pk), {"role": "observer"})
    assert response.status_code == 302
    assert CommunityMembership.objects.get(community=cw.community, agency=cw.applicant).role == "observer"
    again = client.post(page_url(cw, "community_request_approve", cw.join_request.pk), {"role": "owner"}, follow=True)
    assert "already accepted" in again.content.decode()
    assert CommunityMembership.objects.get(community=cw.community, agency=cw.applicant).role == "observer"


# --- The last owner -------------------------------------------------------------------------


def test_removing_the_last_owner_shows_why_and_changes_nothing(cw, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(cw.owner_admin)
    url = page_url(cw, "community_member_remove", cw.owner.slug)
    assert "Remove Lakeland Office of Emergency Management?" in client.get(url).content.decode()
    before = unchanged(cw)
    response = client.post(url, follow=True)
    assert "Lakeland Office of Emergency Management is the last owner and cannot be removed." in (
        response.content.decode()
    )
    assert unchanged(cw) == before


def test_demoting_the_last_owner_shows_why_and_changes_nothing(cw, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(cw.owner_admin)
    before = unchanged(cw)
    response = client.post(page_url(cw, "community_member_role", cw.owner.slug), {"role": "participant"}, follow=True)
    assert "is the last owner. Make another agency an owner first." in response.content.decode()
    assert unchanged(cw) == before


def test_the_last_owner_cannot_leave(cw, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(cw.owner_admin)
    before = unchanged(cw)
    response = client.post(page_url(cw, "community_leave"), follow=True)
    assert "is the last owner. Make another agency an owner before leaving." in response.content.decode()
    assert unchanged(cw) == before


def test_removing_a_member_needs_confirmation_then_ends_its_access(cw, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(cw.owner_admin)
    url = page_url(cw, "community_member_remove", cw.observer.slug)
    assert "loses access to Lakeland Flood Coordination at once" in client.get(url).content.decode()
    assert CommunityMembership.objects.filter(agency=cw.observer).exists()
    response = client.post(url, follow=True)
    assert "City of Easton Public Works is removed from Lakeland Flood Coordination." in response.content.decode()
    assert not CommunityMembership.objects.filter(agency=cw.observer).exists()


def test_member_role_for_an_agency_that_is_not_a_member_is_404(cw, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(cw.owner_admin)
    before = unchanged(cw)
    assert client.post(page_url(cw, "community_member_role", cw.nonmember.slug), {"role": "owner"}).status_code == 404
    assert client.post(page_url(cw, "community_member_remove", cw.nonmember.slug)).status_code == 404
    assert unchanged(cw) == before


# --- Leaving --------------------------------------------------------------------------------


def test_leaving_an_unlisted_community_asks_first_then_closes_it(make_community_world, client) -> None:  # type: ignore[no-untyped-def]
    world = make_community_world(Visibility.UNLISTED)
    client.force_login(world.participant_admin)
    confirm = client.get(page_url(world, "community_leave")).content.decode()
    assert "Leave Lakeland Flood Coordination?" in confirm and "needs a new invitation from its owners" in confirm
    assert CommunityMembership.objects.filter(agency=world.participant).exists()
    response = client.post(page_url(world, "community_leave"), follow=True)
    assert "Harbor EM left Lakeland Flood Coordination." in response.content.decode()
    assert client.get(page_url(world)).status_code == 404
    client.force_login(world.participant_staff)
    assert client.get(page_url(world)).status_code == 404


# --- The inbox ------------------------------------------------------------------------------


def test_accepting_an_invitation_from_the_inbox(cw, client) -> None:  # type: ignore[no-untyped-def]
    invitation = actions.invite_agency(
        actor=cw.owner_admin, community=cw.community, agency=cw.nonmember, role="observer", message="Welcome, Pine."
    )
    client.force_login(cw.nonmember_admin)
    inbox = client.get(reverse("community_inbox")).content.decode()
    assert "Welcome, Pine." in inbox and "Dana Whitfield" in inbox and "Lakeland OEM" in inbox
    response = client.post(reverse("community_invitation_accept", args=[invitation.pk]), follow=True)
    assert "Pine EM joined Lakeland Flood Coordination as observer." in response.content.decode()
    assert CommunityMembership.objects.get(agency=cw.nonmember).role == "observer"
    again = client.post(reverse("community_invitation_accept", args=[invitation.pk]), follow=True)
    assert "already accepted" in again.content.decode()
    assert "Accepted" in client.get(reverse("community_inbox")).content.decode()


def test_declining_an_invitation_from_the_inbox(cw, client) -> None:  # type: ignore[no-untyped-def]
    invitation = actions.invite_agency(actor=cw.owner_admin, community=cw.community, agency=cw.nonmember)
    client.force_login(cw.nonmember_admin)
    response = client.post(reverse("community_invitation_decline", args=[invitation.pk]), follow=True)
    assert "You declined the invitation to Lakeland Flood Coordination." in response.content.decode()
    invitation.refresh_from_db()
    assert invitation.status == ConsentStatus.DECLINED
    assert not CommunityMembership.objects.filter(agency=cw.nonmember).exists()


# --- Creating -------------------------------------------------------------------------------


def test_creating_a_community(cw, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(cw.nonmember_admin)
    data = {
        "name": "Pine Valley Broadband",
        "purpose": "Bring fiber to every town in the valley.",
        "visibility": "unlisted",
        "entry_requirements": "Valley towns and the county.",
        "tags": "broadband, , Fiber ",
    }
    response = client.post(reverse("community_create"), data)
    community = Community.objects.get(name="Pine Valley Broadband")
    assert response.status_code == 302 and response["Location"] == reverse("community_detail", args=[community.slug])
    assert community.visibility == Visibility.UNLISTED
    assert sorted(community.tags.values_list("slug", flat=True)) == ["broadband", "fiber"]
    assert CommunityMembership.objects.get(community=community).agency == cw.nonmember


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("Inbox", "That name is reserved"),
        ("new", "That name is reserved"),
        ("LAKELAND FLOOD COORDINATION", "already exists"),
        ("", "This field is required."),
    ],
)
def test_create_form_refuses_bad_names(cw, client, name: str, error: str) -> None:  # type: ignore[no-untyped-def]
    client.force_login(cw.owner_admin)
    before = Community.objects.count(), AuditEvent.objects.count()
    response = client.post(reverse("community_create"), {"name": name, "purpose": "Something.", "visibility": "listed"})
    assert response.status_code == 400
    assert error in response.content.decode()
    assert (Community.objects.count(), AuditEvent.objects.count()) == before


# --- The directory --------------------------------------------------------------------------


@pytest.fixture
def directory(cw):  # type: ignore[no-untyped-def]
    """Besides the flood community: a listed tribal one, and an unlisted one."""
    tribal = AgencyFactory(name="Red Cedar Nation Health", short_name="Red Cedar Health", level="tribal", state="RC")
    tribal_admin = PersonFactory(agency=tribal, role=AgencyRole.ADMIN)
    actions.create_community(
        actor=tribal_admin, name="Tribal Health Circle", purpose="Clinic schedules.", tags=["public health"]
    )
    actions.create_community(
        actor=cw.owner_admin, name="Dam Safety Board", purpose="Dam inspections.", visibility=Visibility.UNLISTED
    )
    return cw


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ({}, ["Lakeland Flood Coordination", "Tribal Health Circle"]),
        ({"level": "tribal"}, ["Lakeland Flood Coordination", "Tribal Health Circle"]),  # Red Cedar ES is a member
        ({"level": "city"}, ["Lakeland Flood Coordination"]),
        ({"state": "rc"}, ["Tribal Health Circle"]),
        ({"tag": "public-health"}, ["Tribal Health Circle"]),
        ({"q": "river basin"}, ["Lakeland Flood Coordination"]),
        ({"q": "nothing like this"}, []),
    ],
)
def test_directory_filters_and_never_lists_unlisted(directory, client, query: dict, found: list[str]) -> None:  # type: ignore[no-untyped-def]
    client.force_login(directory.nonmember_staff)
    response = client.get(reverse("community_directory"), query)
    body = response.content.decode()
    assert response.status_code == 200
    for name in ["Lakeland Flood Coordination", "Tribal Health Circle"]:
        assert (f">{name}</a>" in body) == (name in found), name
    assert "Dam Safety Board" not in body
    if not found:
        assert "No listed community matches these filters." in body


def test_directory_refuses_malformed_filters(cw, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(cw.nonmember_staff)
    response = client.get(reverse("community_directory"), {"state": "Lakeland", "tag": "no-such-topic"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Use the two-letter code" in body and "Select a valid choice." in body


def test_directory_shows_counts_tags_and_the_create_link_to_admins_only(cw, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(cw.nonmember_admin)
    body = client.get(reverse("community_directory")).content.decode()
    assert "<td>4</td>" in body  # Lakeland OEM, Harbor EM, Easton PW, Red Cedar ES
    assert "emergency management" in body and "flood" in body
    assert reverse("community_create") in body
    client.force_login(cw.nonmember_staff)
    assert reverse("community_create") not in client.get(reverse("community_directory")).content.decode()


def test_directory_paginates(cw, client) -> None:  # type: ignore[no-untyped-def]
    for n in range(30):
        actions.create_community(actor=cw.owner_admin, name=f"Working group {n:02}", purpose="Plans.")
    client.force_login(cw.nonmember_staff)
    assert "Page 1 of 2" in client.get(reverse("community_directory")).content.decode()
    assert "Page 2 of 2" in client.get(reverse("community_directory"), {"page": 2}).content.decode()


def test_empty_directory(db, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(PersonFactory(role=AgencyRole.ADMIN))
    body = client.get(reverse("community_directory")).content.decode()
    assert "No listed communities yet." in body and "Create the first one" in body


# --- Who has access -------------------------------------------------------------------------


def test_access_page_explains_each_persons_access(cw, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(cw.moderator)
    body = client.get(page_url(cw, "community_access")).content.decode()
    assert "Casey Morgan" in body and "Ben Adler" in body and "Dana Whitfield" in body
    assert "view_content: staff of Harbor County Emergency Management, which is participant of" in body
    assert "view_content: staff of City of Easton Public Works, which is observer of" in body
    assert "Rita Alvarez" not in body  # Pine EM is not a member


# --- Dashboard ------------------------------------------------------------------------------


def test_dashboard_lists_the_agencys_communities(cw, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(cw.participant_staff)
    body = client.get(reverse("dashboard")).content.decode()
    assert "Lakeland Flood Coordination" in body and "Participant" in body
    assert "is not in any community yet" not in body
    client.force_login(cw.nonmember_staff)
    body = client.get(reverse("dashboard")).content.decode()
    assert "Pine EM is not in any community yet" in body


def test_agency_admin_names_who_takes_part(cw, client) -> None:  # type: ignore[no-untyped-def]
    from workspace import policy
    from workspace.models import User

    chosen = PersonFactory(agency=cw.participant, full_name="Chosen Person")
    client.force_login(cw.participant_admin)
    url = reverse("community_participants", args=[cw.community.slug])
    form = client.get(url).content.decode()
    assert "Chosen Person" in form and "All of our staff" in form
    response = client.post(url, {"mode": "named", "people": [chosen.pk]})
    assert response.status_code == 302
    assert policy.can(User.objects.get(pk=chosen.pk), "view_content", cw.community)
    assert not policy.can(User.objects.get(pk=cw.participant_staff.pk), "view_content", cw.community)
    assert "checked" in client.get(url).content.decode().split("Chosen Person")[0].rsplit("<input", 1)[1]


def test_naming_someone_from_another_agency_changes_nothing(cw, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(cw.participant_admin)
    before = snapshot(cw)
    response = client.post(
        reverse("community_participants", args=[cw.community.slug]), {"mode": "named", "people": [cw.owner_staff.pk]}
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert snapshot(cw) == before


def test_access_page_names_moderators_and_appoints_one(cw, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(cw.owner_admin)
    url = reverse("community_access", args=[cw.community.slug])
    page = client.get(url).content.decode()
    assert f"Stop {cw.moderator.full_name} moderating" in page
    assert f"Make {cw.participant_staff.full_name} a moderator" in page
    client.post(reverse("community_moderator_appoint", args=[cw.community.slug]), {"person": cw.participant_staff.pk})
    assert f"Stop {cw.participant_staff.full_name} moderating" in client.get(url).content.decode()


def test_people_without_access_cannot_be_made_moderators(cw, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(cw.owner_admin)
    before = snapshot(cw)
    response = client.post(
        reverse("community_moderator_appoint", args=[cw.community.slug]), {"person": cw.nonmember_staff.pk}
    )
    assert response.status_code == 404
    assert snapshot(cw) == before


def test_edit_form_shows_errors_and_changes_nothing(cw, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(cw.owner_admin)
    url = reverse("community_edit", args=[cw.community.slug])
    assert cw.community.purpose in client.get(url).content.decode()
    before = snapshot(cw)
    response = client.post(url, {"name": "", "purpose": "", "visibility": "listed"})
    assert response.status_code == 400
    assert snapshot(cw) == before
