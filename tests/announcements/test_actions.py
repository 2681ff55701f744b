"""The write path: writing and publishing, cross-promotion with consent, events and audit."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from communities.announcements import actions, selectors
from communities.announcements.models import Announcement, AnnouncementState, Audience, Promotion, Receipt
from communities.models import ConsentStatus
from messaging.models import Notification, StreamEvent
from tests.announcements.conftest import AnnouncementWorld, write
from workspace import policy
from workspace.exceptions import ActionError
from workspace.models import AuditEvent


def stream_kinds(community) -> list[str]:  # type: ignore[no-untyped-def]
    return list(
        StreamEvent.objects.filter(stream=f"community:{community.pk}").order_by("seq").values_list("kind", flat=True)
    )


# --- Writing -------------------------------------------------------------------------------------


def test_body_is_rendered_by_the_one_sanitizer(aw: AnnouncementWorld) -> None:
    announcement = write(aw.publisher_staff, aw.home, "Safe", publish=False)
    actions.update_announcement(
        actor=aw.publisher_staff,
        announcement=announcement,
        title="Safe",
        program="Digital Equity",
        body="**Apply** <script>alert(1)</script> [x](javascript:alert(1)) https://broadband.lakeland.gov",
    )
    announcement.refresh_from_db()
    assert "<strong>Apply</strong>" in announcement.body_html
    assert "<script>" not in announcement.body_html and "javascript:" not in announcement.body_html
    assert 'href="https://broadband.lakeland.gov"' in announcement.body_html


def test_control_characters_never_reach_the_database(aw: AnnouncementWorld) -> None:
    announcement = write(aw.publisher_staff, aw.home, "Round\x00 2\x1b\x07 opens", program="Digital\x0b Equity")
    assert announcement.title == "Round 2 opens"
    assert announcement.program.name == "Digital Equity"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", ""),
        ("title", "x" * 201),
        ("program", "  "),
        ("audience", "everyone"),
        ("links", [{"label": "Bad", "url": "javascript:alert(1)"}]),
        ("links", ["ftp://files.example/round2.pdf"]),
    ],
)
def test_bad_content_is_refused_before_anything_changes(aw: AnnouncementWorld, field: str, value: object) -> None:
    count = Announcement.objects.count()
    arguments = {"title": "Round 2", "program": "Digital Equity", "audience": Audience.PUBLIC} | {field: value}
    with pytest.raises(ActionError) as refused:
        actions.create_announcement(actor=aw.publisher_staff, community=aw.home, **arguments)  # type: ignore[arg-type]
    assert refused.value.field == field
    assert Announcement.objects.count() == count


def test_only_posters_of_the_community_announce(aw: AnnouncementWorld) -> None:
    for person in (aw.observer, aw.nonmember, aw.receiver_owner):
        with pytest.raises(PermissionDenied):
            write(person, aw.home, "Not mine")


def test_other_agencies_cannot_change_it(aw: AnnouncementWorld) -> None:
    """The participant library may post in the home community, yet LBO's announcement is LBO's."""
    with pytest.raises(PermissionDenied):
        actions.retract_announcement(actor=aw.participant, announcement=aw.public)
    with pytest.raises(PermissionDenied):
        actions.request_promotion(actor=aw.receiver_owner, announcement=aw.public, community=aw.business)


def test_publishing_appends_an_event_to_its_community_stream(aw: AnnouncementWorld) -> None:
    before = stream_kinds(aw.home)
    announcement = write(aw.publisher_staff, aw.home, "Office hours")
    assert stream_kinds(aw.home) == [*before, "announcement.published"]
    event = StreamEvent.objects.filter(stream=f"community:{aw.home.pk}").latest("seq")
    assert event.data["id"] == announcement.pk
    assert event.data["agency"] == "LBO" and event.data["program"] == "Digital Equity"


def test_event_data_is_enough_for_a_card(aw: AnnouncementWorld) -> None:
    """A live page builds the card from the event: title link, agency, program, summary."""
    announcement = write(aw.publisher_staff, aw.home, "Office hours")
    data = StreamEvent.objects.filter(stream=aw.home.stream).latest("seq").data
    assert data["url"] == announcement.get_absolute_url()
    assert data["agency_name"] == announcement.agency.name
    assert data["community"] == aw.home.pk  # the home: elsewhere the card says "Promoted"
    assert data["summary"] == announcement.summary
    assert data["edited_at"] is None and "expire_at" in data
    actions.update_announcement(
        actor=aw.publisher_staff, announcement=announcement, title="Office hours: moved", program="Digital Equity"
    )
    edited = StreamEvent.objects.filter(stream=aw.home.stream).latest("seq")
    assert edited.kind == "announcement.edited"
    assert edited.data["title"] == "Office hours: moved" and edited.data["edited_at"]


def test_a_draft_sends_nothing_and_only_its_publisher_sees_it(aw: AnnouncementWorld) -> None:
    before = stream_kinds(aw.home)
    draft = write(aw.publisher_staff, aw.home, "Not yet", publish=False)
    assert stream_kinds(aw.home) == before
    assert draft not in selectors.announcements_for_user(aw.participant)
    assert draft not in selectors.announcements_for_user(aw.publisher_admin)  # lists show published ones


def test_an_edit_is_one_row_and_one_event_per_place(aw: AnnouncementWorld) -> None:
    rows = Announcement.objects.count()
    actions.update_announcement(
        actor=aw.publisher_staff,
        announcement=aw.public,
        title="Round 2: deadline moved",
        program="Digital Equity",
        audience=Audience.PUBLIC,
    )
    assert Announcement.objects.count() == rows
    for community in (aw.home, aw.receiving):
        assert stream_kinds(community)[-1] == "announcement.edited", community
    assert stream_kinds(aw.business) == []
    aw.public.refresh_from_db()
    assert aw.public.edited_at is not None
    assert AuditEvent.objects.filter(verb="announcement.edited", target_id=str(aw.public.pk)).exists()


def test_retraction_events_reach_every_place_and_pending_requests_end(aw: AnnouncementWorld) -> None:
    actions.retract_announcement(actor=aw.publisher_admin, announcement=aw.pending, note="Wrong date")
    assert Promotion.objects.get(pk=aw.pending_promotion.pk).status == ConsentStatus.WITHDRAWN
    actions.retract_announcement(actor=aw.publisher_admin, announcement=aw.public)
    for community in (aw.home, aw.receiving):
        assert stream_kinds(community)[-1] == "announcement.retracted"
    event = StreamEvent.objects.filter(stream=f"community:{aw.receiving.pk}").latest("seq")
    assert event.data == {"id": aw.public.pk}
    with pytest.raises(ActionError):
        actions.retract_announcement(actor=aw.publisher_admin, announcement=aw.public)
    with pytest.raises(ActionError):
        actions.update_announcement(
            actor=aw.publisher_admin, announcement=aw.public, title="Back", program="Digital Equity"
        )


def test_a_rolled_back_action_sends_nothing(aw: AnnouncementWorld, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(ActionError):
        actions.create_announcement(
            actor=aw.publisher_staff,
            community=aw.home,
            title="Expired before it starts",
            program="Digital Equity",
            expire_at=aw.public.published_at,
            publish=True,
        )
    assert callbacks == []
    assert not Announcement.objects.filter(title="Expired before it starts").exists()


# --- Cross-promotion with consent --------------------------------------------------------------


def test_promotion_waits_for_consent_then_appears(aw: AnnouncementWorld) -> None:
    announcement = write(aw.publisher_admin, aw.home, "Device lending", audience=Audience.MEMBERS)
    promotion = actions.request_promotion(actor=aw.publisher_staff, announcement=announcement, community=aw.business)
    assert promotion.status == ConsentStatus.PENDING
    assert announcement not in selectors.announcements_in_community(aw.business)
    assert announcement not in selectors.announcements_for_user(aw.receiver_staff)
    notified = set(
        Notification.objects.filter(kind="announcement.promotion_requested").values_list("recipient", flat=True)
    )
    assert aw.receiver_owner.pk in notified and aw.receiver_staff.pk not in notified

    actions.accept_promotion(actor=aw.receiver_owner, promotion=promotion)
    assert announcement in selectors.announcements_in_community(aw.business)
    assert announcement in selectors.announcements_for_user(aw.receiver_staff)
    assert stream_kinds(aw.business)[-1] == "announcement.published"
    assert Notification.objects.filter(recipient=aw.publisher_staff, kind="announcement.promotion_accepted").exists()
    assert Announcement.objects.filter(title="Device lending").count() == 1  # shown, never copied


def test_decline_keeps_it_out_and_a_second_request_is_refused(aw: AnnouncementWorld) -> None:
    actions.decline_promotion(actor=aw.receiver_owner, promotion=aw.pending_promotion)
    assert aw.pending not in selectors.announcements_in_community(aw.receiving)
    assert Notification.objects.filter(recipient=aw.publisher_admin, kind="announcement.promotion_declined").exists()
    with pytest.raises(ActionError) as refused:
        actions.request_promotion(actor=aw.publisher_admin, announcement=aw.pending, community=aw.receiving)
    assert refused.value.code == "declined"
    with pytest.raises(ActionError):
        actions.accept_promotion(actor=aw.receiver_owner, promotion=aw.pending_promotion)


def test_duplicate_requests_are_refused(aw: AnnouncementWorld) -> None:
    for announcement in (aw.pending, aw.public):  # pending there, and accepted there
        with pytest.raises(ActionError) as refused:
            actions.request_promotion(actor=aw.publisher_admin, announcement=announcement, community=aw.receiving)
        assert refused.value.code == "duplicate"
    with pytest.raises(ActionError):
        actions.request_promotion(actor=aw.publisher_admin, announcement=aw.public, community=aw.home)
    assert Promotion.objects.filter(announcement=aw.pending).count() == 1


def test_a_withdrawn_request_may_be_asked_again(aw: AnnouncementWorld) -> None:
    actions.withdraw_promotion(actor=aw.publisher_staff, promotion=aw.pending_promotion)
    with pytest.raises(ActionError):
        actions.accept_promotion(actor=aw.receiver_owner, promotion=aw.pending_promotion)
    again = actions.request_promotion(actor=aw.publisher_admin, announcement=aw.pending, community=aw.receiving)
    assert again.pk == aw.pending_promotion.pk and again.status == ConsentStatus.PENDING


def test_only_the_receiving_community_s_owners_and_moderators_decide(aw: AnnouncementWorld) -> None:
    from communities import actions as community_actions

    for person in (aw.publisher_admin, aw.receiver_staff, aw.participant):
        with pytest.raises(PermissionDenied):
            actions.accept_promotion(actor=person, promotion=aw.pending_promotion)
    community_actions.appoint_moderator(actor=aw.receiver_owner, community=aw.receiving, person=aw.receiver_staff)
    policy.forget(aw.receiver_staff)  # a new request would start without the cached answer
    actions.accept_promotion(actor=aw.receiver_staff, promotion=aw.pending_promotion)


def test_taking_down_an_accepted_promotion_removes_it_there_only(aw: AnnouncementWorld) -> None:
    actions.decline_promotion(actor=aw.receiver_owner, promotion=aw.accepted_promotion)
    assert aw.members not in selectors.announcements_in_community(aw.receiving)
    assert aw.members in selectors.announcements_in_community(aw.home)
    assert stream_kinds(aw.receiving)[-1] == "announcement.retracted"


def test_trusted_agencies_are_accepted_at_once(aw: AnnouncementWorld) -> None:
    actions.trust_agency(actor=aw.receiver_owner, community=aw.business, agency=aw.lbo)
    announcement = write(aw.publisher_admin, aw.home, "Mapping challenge")
    promotion = actions.request_promotion(actor=aw.publisher_admin, announcement=announcement, community=aw.business)
    assert promotion.status == ConsentStatus.ACCEPTED and promotion.auto_accepted
    assert announcement in selectors.announcements_in_community(aw.business)
    assert AuditEvent.objects.filter(verb="announcement.promotion_auto_accepted").exists()
    with pytest.raises(ActionError):
        actions.trust_agency(actor=aw.receiver_owner, community=aw.business, agency=aw.lbo)
    with pytest.raises(PermissionDenied):
        actions.trust_agency(actor=aw.receiver_staff, community=aw.business, agency=aw.library)
    actions.distrust_agency(actor=aw.receiver_owner, community=aw.business, agency=aw.lbo)
    other = write(aw.publisher_admin, aw.home, "Another")
    assert actions.request_promotion(actor=aw.publisher_admin, announcement=other, community=aw.business).status == (
        ConsentStatus.PENDING
    )


def test_unlisted_communities_cannot_be_targeted_by_outsiders(aw: AnnouncementWorld) -> None:
    from communities import actions as community_actions
    from communities.models import Visibility

    community_actions.update_community(
        actor=aw.receiver_owner,
        community=aw.business,
        name=aw.business.name,
        purpose=aw.business.purpose,
        visibility=Visibility.UNLISTED,
    )
    aw.business.refresh_from_db()
    with pytest.raises(ActionError):
        actions.request_promotion(actor=aw.publisher_admin, announcement=aw.public, community=aw.business)
    assert aw.business not in selectors.promotable_communities(aw.publisher_admin, aw.public)


def test_opening_marks_a_receipt_once(aw: AnnouncementWorld) -> None:
    actions.mark_opened(actor=aw.participant, announcement=aw.public)
    first = Receipt.objects.get(announcement=aw.public, user=aw.participant).opened_at
    actions.mark_opened(actor=aw.participant, announcement=aw.public)
    receipt = Receipt.objects.get(announcement=aw.public, user=aw.participant)
    assert receipt.opened_at == first and receipt.agency == aw.library


def test_states_are_as_written(aw: AnnouncementWorld) -> None:
    assert aw.public.state == AnnouncementState.PUBLISHED
    assert aw.draft.state == AnnouncementState.DRAFT
    published = actions.publish_announcement(actor=aw.publisher_staff, announcement=aw.draft)
    assert published.state == AnnouncementState.PUBLISHED
    with pytest.raises(ActionError):
        actions.publish_announcement(actor=aw.publisher_staff, announcement=aw.draft)
