"""notify(): one INSERT for any number of people, only active people, and the email and
live push only once the action's transaction commits."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from messaging.models import Notification
from messaging.notifications import agency_admins, notify
from tests.factories import AgencyFactory, PersonFactory
from workspace import actions
from workspace.models import Agency, AgencyRole, User

INVITED = {
    "kind": "community.invited",
    "title": "Lakeland OEM invited Harbor EM",
    "body": "Lakeland OEM invited Harbor EM to the Basin Flood Working Group.",
    "url": "/communities/basin-flood/",
}


class Boom(Exception):
    pass


def test_rows_are_written_with_one_insert_for_two_or_twenty_people(world) -> None:  # type: ignore[no-untyped-def]
    counts = []
    for size in (2, 20):
        people = [PersonFactory(agency=world.own) for _ in range(size)]
        with CaptureQueriesContext(connection) as ctx:
            notify(people, **INVITED)
        counts.append(len(ctx.captured_queries))
        assert ctx.captured_queries[0]["sql"].upper().startswith("INSERT")
        assert Notification.objects.filter(recipient__in=people).count() == size
    assert counts == [1, 1]


def test_rows_hold_what_was_said_and_start_unread(world) -> None:  # type: ignore[no-untyped-def]
    notify([world.own_staff], **INVITED)
    row = Notification.objects.get(recipient=world.own_staff)
    assert (row.kind, row.title, row.body, row.url) == (
        INVITED["kind"],
        INVITED["title"],
        INVITED["body"],
        INVITED["url"],
    )
    assert row.read_at is None and row.is_unread


def test_inactive_people_are_skipped_and_nobody_is_notified_twice(world, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    deactivated = User.objects.get(pk=world.deactivated.pk)
    with django_capture_on_commit_callbacks(execute=True):
        notify([world.own_staff, deactivated, world.own_staff, world.other_admin], **INVITED)
    assert sorted(Notification.objects.values_list("recipient_id", flat=True)) == sorted(
        [world.own_staff.pk, world.other_admin.pk]
    )
    assert sorted(message.to[0] for message in mail.outbox) == sorted([world.own_staff.email, world.other_admin.email])


def test_nobody_to_notify_writes_nothing(world, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    deactivated = User.objects.get(pk=world.deactivated.pk)
    with django_assert_num_queries(0):
        notify([deactivated], **INVITED)
        notify([], **INVITED)


def test_email_and_live_push_are_sent_only_after_commit(
    world, pushes, django_capture_on_commit_callbacks, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.SITE_URL = "https://workspace.example.gov/"
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            notify([world.own_staff, world.other_admin], **INVITED)
            assert mail.outbox == [] and pushes == []
        assert mail.outbox == [] and pushes == [], "sent before the outer transaction committed"

    assert len(mail.outbox) == 2
    message = mail.outbox[0]
    assert message.subject == INVITED["title"]
    assert message.body == f"{INVITED['body']}\n\nhttps://workspace.example.gov/communities/basin-flood/\n"

    rows = {row.recipient_id: row for row in Notification.objects.all()}
    assert sorted(group for group, _ in pushes) == sorted(f"user.{pk}" for pk in rows)
    for group, pushed in pushes:
        row = rows[int(group.split(".")[1])]
        assert pushed == {
            "type": "notification.created",
            "notification": {
                "id": row.pk,
                "kind": row.kind,
                "title": row.title,
                "body": row.body,
                "url": row.url,
                "created_at": row.created_at.isoformat(),
            },
        }


def test_rolled_back_action_notifies_nobody(world, pushes, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(Boom), transaction.atomic():
        notify([world.own_staff, world.other_admin], **INVITED)
        raise Boom
    assert callbacks == []
    assert mail.outbox == [] and pushes == []
    assert not Notification.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_real_commit_sends_and_real_rollback_does_not(pushes) -> None:  # type: ignore[no-untyped-def]
    agency = AgencyFactory()
    person = PersonFactory(agency=agency)
    with pytest.raises(Boom), transaction.atomic():
        notify([person], **INVITED)
        raise Boom
    assert mail.outbox == [] and pushes == [] and not Notification.objects.exists()

    with transaction.atomic():
        notify([person], **INVITED)
        assert mail.outbox == [] and pushes == []
    assert [message.to for message in mail.outbox] == [[person.email]]
    assert [group for group, _ in pushes] == [f"user.{person.pk}"]


def test_email_false_still_writes_and_pushes(world, pushes, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        notify([world.own_staff], email=False, **INVITED)
    assert mail.outbox == []
    assert len(pushes) == 1
    assert Notification.objects.filter(recipient=world.own_staff).exists()


def test_without_url_the_email_is_the_body_alone(world, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        notify([world.own_staff], kind="agency.notice", title="Heads up", body="The office moves on Monday.")
    assert mail.outbox[0].body == "The office moves on Monday."
    assert Notification.objects.get(recipient=world.own_staff).url == ""


@pytest.mark.parametrize("url", ["https://evil.example/", "//evil.example/x", "communities/x/", "/\\evil.example"])
def test_links_must_be_internal_paths(world, url: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        notify([world.own_staff], kind="community.invited", title="t", body="b", url=url)
    assert not Notification.objects.exists()


@pytest.mark.parametrize("kind", ["", "x" * 61])
def test_kind_must_be_a_short_name(world, kind: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        notify([world.own_staff], kind=kind, title="t", body="b")


def test_title_is_one_line_fit_for_an_email_subject(world, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        notify([world.own_staff], kind="community.invited", title="Invited\r\nBcc: someone@else.example", body="b")
        notify([world.other_staff], kind="community.invited", title="x" * 300, body="b")
    assert Notification.objects.get(recipient=world.own_staff).title == "Invited Bcc: someone@else.example"
    long_title = Notification.objects.get(recipient=world.other_staff).title
    assert len(long_title) == 200 and long_title.endswith("…")
    assert {message.subject for message in mail.outbox} == {"Invited Bcc: someone@else.example", long_title}


class TestAgencyAdmins:
    def test_active_admins_of_the_given_agencies_only(self, world) -> None:  # type: ignore[no-untyped-def]
        second_own_admin = PersonFactory(agency=world.own, role=AgencyRole.ADMIN)
        former_admin = PersonFactory(agency=world.own, role=AgencyRole.ADMIN)
        actions.deactivate_staff(actor=world.own_admin, member=former_admin)
        third = AgencyFactory()
        PersonFactory(agency=third, role=AgencyRole.ADMIN)

        admins = agency_admins([world.own, world.other])
        assert {person.pk for person in admins} == {world.own_admin.pk, second_own_admin.pk, world.other_admin.pk}

    def test_one_query_for_a_list_or_a_queryset(self, world, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
        for _ in range(5):
            PersonFactory(agency=world.other, role=AgencyRole.ADMIN)
        with django_assert_num_queries(1):
            assert len(agency_admins([world.own, world.other])) == 7
        with django_assert_num_queries(1):
            assert len(agency_admins(Agency.objects.filter(pk=world.own.pk))) == 1
        with django_assert_num_queries(1):
            assert len(agency_admins(iter([world.other]))) == 6

    def test_no_agencies_no_admins(self, world) -> None:  # type: ignore[no-untyped-def]
        assert agency_admins([]) == []

    def test_feeds_notify(self, world, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
        with django_capture_on_commit_callbacks(execute=True):
            notify(agency_admins([world.other]), **INVITED)
        assert [message.to for message in mail.outbox] == [[world.other_admin.email]]
