"""Threads and messages: the write path, the event log, and who may do what."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.urls import reverse

from communities import actions as community_actions
from communities.models import Community, CommunityRole
from messaging import actions, events
from messaging.models import Message, MessageRevision, StreamEvent, Thread
from tests.factories import AgencyFactory, PersonFactory
from workspace import policy
from workspace.exceptions import ActionError
from workspace.models import AgencyRole, User


@dataclass
class Room:
    community: Community
    thread: Thread
    owner: User
    owner_admin: User
    participant: User
    observer: User
    outsider: User


def fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


@pytest.fixture
def room(db) -> Room:  # type: ignore[no-untyped-def]
    owner_agency, part, obs, out = (AgencyFactory() for _ in range(4))
    owner_admin = PersonFactory(agency=owner_agency, role=AgencyRole.ADMIN)
    community = community_actions.create_community(actor=owner_admin, name="Easton River Flood", purpose="Flood.")
    for agency, role in ((part, CommunityRole.PARTICIPANT), (obs, CommunityRole.OBSERVER)):
        admin = PersonFactory(agency=agency, role=AgencyRole.ADMIN)
        invitation = community_actions.invite_agency(actor=owner_admin, community=community, agency=agency, role=role)
        community_actions.accept_invitation(actor=admin, invitation=invitation)
    owner = PersonFactory(agency=owner_agency)
    thread = actions.create_thread(actor=owner, community=community, title="Sandbags", body="Need 20,000.")
    return Room(
        community=community,
        thread=thread,
        owner=owner,
        owner_admin=owner_admin,
        participant=PersonFactory(agency=part),
        observer=PersonFactory(agency=obs),
        outsider=PersonFactory(agency=out),
    )


def post(room: Room, person: User, body: str = "On it.", client_id: uuid.UUID | None = None):  # type: ignore[no-untyped-def]
    return actions.post_message(actor=fresh(person), thread=room.thread, body=body, client_id=client_id or uuid.uuid4())


class TestCommunityStream:
    def test_a_new_thread_is_announced_with_its_address(self, room) -> None:  # type: ignore[no-untyped-def]
        event = StreamEvent.objects.get(stream=room.community.stream, kind="thread.created")
        assert event.data["thread"]["id"] == room.thread.pk
        assert event.data["thread"]["title"] == "Sandbags"
        assert event.data["thread"]["url"] == reverse("thread_detail", args=[room.thread.pk])

    def test_a_restricted_thread_is_not_announced(self, room) -> None:  # type: ignore[no-untyped-def]
        seq = events.current_seq(room.community.stream)
        owner = fresh(room.owner)
        actions.create_thread(
            actor=owner, community=room.community, title="Staffing", body="Internal.", restrict_to=[owner.agency]
        )
        assert events.current_seq(room.community.stream) == seq


class TestPosting:
    def test_post_renders_once_and_logs_an_event(self, room) -> None:  # type: ignore[no-untyped-def]
        posted = post(room, room.participant, "**20,000** bags <script>x</script>")
        message = posted.message
        assert posted.created and "<strong>20,000</strong>" in message.body_html and "<script" not in message.body_html
        event = StreamEvent.objects.get(stream=room.thread.stream, seq=2)
        assert event.kind == "message.created" and event.data["id"] == message.pk
        assert event.data["agency"]["short_name"] == room.participant.agency.short_name

    def test_same_client_id_stores_one_message(self, room) -> None:  # type: ignore[no-untyped-def]
        cid = uuid.uuid4()
        first = post(room, room.participant, client_id=cid)
        again = post(room, room.participant, "different text on retry", client_id=cid)
        assert not again.created and again.message.pk == first.message.pk
        assert Message.objects.filter(client_id=cid).count() == 1
        assert events.current_seq(room.thread.stream) == 2

    def test_client_id_of_another_thread_is_refused(self, room) -> None:  # type: ignore[no-untyped-def]
        cid = uuid.uuid4()
        post(room, room.owner, client_id=cid)
        other = actions.create_thread(actor=fresh(room.owner), community=room.community, title="Shelter", body="Open.")
        with pytest.raises(ActionError, match="another thread"):
            actions.post_message(actor=fresh(room.owner), thread=other, body="x", client_id=cid)

    def test_opening_a_thread_twice_with_one_client_id_opens_one(self, room) -> None:  # type: ignore[no-untyped-def]
        cid, owner = uuid.uuid4(), fresh(room.owner)
        first = actions.create_thread(
            actor=owner, community=room.community, title="Shelter", body="Open.", client_id=cid
        )
        seq = events.current_seq(f"community:{room.community.pk}")
        again = actions.create_thread(
            actor=owner, community=room.community, title="Shelter", body="Open.", client_id=cid
        )
        assert again.pk == first.pk
        assert Thread.objects.filter(title="Shelter").count() == 1
        assert events.current_seq(f"community:{room.community.pk}") == seq  # nothing announced twice

    def test_opening_a_thread_with_a_reply_s_client_id_is_refused(self, room) -> None:  # type: ignore[no-untyped-def]
        cid = uuid.uuid4()
        post(room, room.owner, client_id=cid)  # a reply in the existing thread
        with pytest.raises(ActionError, match="another message") as caught:
            actions.create_thread(actor=fresh(room.owner), community=room.community, title="T", body="B", client_id=cid)
        assert caught.value.code == "client_id_reused"
        assert not Thread.objects.filter(title="T").exists()

    def test_a_lost_race_returns_the_winner_s_thread(self, room, monkeypatch) -> None:  # type: ignore[no-untyped-def]
        """The look-up before the write misses a thread a concurrent retry is committing."""
        cid, owner = uuid.uuid4(), fresh(room.owner)
        first = actions.create_thread(
            actor=owner, community=room.community, title="Shelter", body="Open.", client_id=cid
        )
        real = actions._opened_with
        calls = []

        def miss_once(*args, **kwargs):  # type: ignore[no-untyped-def]
            calls.append(1)
            return None if len(calls) == 1 else real(*args, **kwargs)

        monkeypatch.setattr(actions, "_opened_with", miss_once)
        again = actions.create_thread(
            actor=owner, community=room.community, title="Shelter", body="Open.", client_id=cid
        )
        assert again.pk == first.pk and len(calls) == 2
        assert Thread.objects.filter(title="Shelter").count() == 1

    @pytest.mark.parametrize("person", ["observer", "outsider"])
    def test_observers_and_outsiders_cannot_post(self, room, person: str) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(PermissionDenied):
            post(room, getattr(room, person))
        assert Message.objects.count() == 1

    @pytest.mark.parametrize(("body", "code"), [("   ", "empty_body"), ("x" * 20_001, "too_long")])
    def test_bad_bodies_are_refused_and_store_nothing(self, room, body: str, code: str) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(ActionError) as excinfo:
            post(room, room.participant, body)
        assert excinfo.value.code == code
        assert Message.objects.count() == 1 and events.current_seq(room.thread.stream) == 1

    def test_reply_must_be_in_the_same_thread(self, room) -> None:  # type: ignore[no-untyped-def]
        other = actions.create_thread(actor=fresh(room.owner), community=room.community, title="Other", body="x")
        foreign = other.messages.get()
        with pytest.raises(ActionError, match="not in this thread"):
            actions.post_message(
                actor=fresh(room.owner), thread=room.thread, body="re", client_id=uuid.uuid4(), reply_to_id=foreign.pk
            )

    def test_locked_thread_takes_no_posts(self, room) -> None:  # type: ignore[no-untyped-def]
        Thread.objects.filter(pk=room.thread.pk).update(is_locked=True)
        room.thread.refresh_from_db()
        with pytest.raises(PermissionDenied):
            post(room, room.participant)

    def test_rolled_back_post_sends_nothing(self, room, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
        with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError), transaction.atomic():
            post(room, room.participant)
            raise RuntimeError("boom")
        assert callbacks == []
        assert events.current_seq(room.thread.stream) == 1


class TestEditDeleteReact:
    def test_edit_keeps_history_and_logs(self, room) -> None:  # type: ignore[no-untyped-def]
        message = post(room, room.participant, "first").message
        actions.edit_message(actor=fresh(room.participant), message=message, body="second")
        message.refresh_from_db()
        assert message.body_source == "second" and message.edited_at is not None
        assert MessageRevision.objects.get(message=message).body_source == "first"
        assert StreamEvent.objects.get(stream=room.thread.stream, seq=3).kind == "message.edited"

    def test_only_the_author_edits(self, room) -> None:  # type: ignore[no-untyped-def]
        message = post(room, room.participant).message
        with pytest.raises(PermissionDenied):
            actions.edit_message(actor=fresh(room.owner), message=message, body="hijack")

    def test_delete_hides_content_keeps_row(self, room) -> None:  # type: ignore[no-untyped-def]
        message = post(room, room.participant, "secret location").message
        actions.delete_message(actor=fresh(room.participant), message=message)
        event = StreamEvent.objects.get(stream=room.thread.stream, seq=3)
        assert event.kind == "message.deleted" and event.data["html"] == "" and event.data["deleted"]
        message.refresh_from_db()
        assert message.deleted_at and message.body_source == "secret location"
        with pytest.raises(PermissionDenied):
            actions.edit_message(actor=fresh(room.participant), message=message, body="back")

    def test_moderators_delete_others_messages_others_cannot(self, room) -> None:  # type: ignore[no-untyped-def]
        message = post(room, room.participant).message
        with pytest.raises(PermissionDenied):
            actions.delete_message(actor=fresh(room.observer), message=message)
        actions.delete_message(actor=fresh(room.owner_admin), message=message)  # owner admins moderate

    def test_reactions_are_idempotent_and_counted(self, room) -> None:  # type: ignore[no-untyped-def]
        message = post(room, room.participant).message
        actions.react(actor=fresh(room.owner), message=message, emoji="👍")
        actions.react(actor=fresh(room.owner), message=message, emoji="👍")
        assert events.current_seq(room.thread.stream) == 3
        assert StreamEvent.objects.get(stream=room.thread.stream, seq=3).data["counts"] == {"👍": 1}
        with pytest.raises(ActionError):
            actions.react(actor=fresh(room.owner), message=message, emoji="🚀")
        with pytest.raises(PermissionDenied):
            actions.react(actor=fresh(room.observer), message=message, emoji="👍")


class TestRestrictedThreads:
    def test_only_allowed_agencies_see_a_restricted_thread(self, room) -> None:  # type: ignore[no-untyped-def]
        thread = actions.create_thread(
            actor=fresh(room.owner),
            community=room.community,
            title="Measles exposure",
            body="Names inside.",
            restrict_to=[room.participant.agency],
        )
        assert policy.can(fresh(room.owner), "view", thread)  # own agency is always allowed
        assert policy.can(fresh(room.participant), "view", thread)
        assert not policy.can(fresh(room.observer), "view", thread)
        assert not policy.can(fresh(room.outsider), "view", thread)

    def test_restricting_to_a_non_member_is_refused(self, room) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(ActionError, match="member agencies"):
            actions.create_thread(
                actor=fresh(room.owner),
                community=room.community,
                title="x",
                body="y",
                restrict_to=[room.outsider.agency],
            )
        assert Thread.objects.count() == 1


class TestEventLog:
    def test_seq_increases_by_one_per_stream(self, room) -> None:  # type: ignore[no-untyped-def]
        for _ in range(5):
            post(room, room.participant)
        seqs = list(StreamEvent.objects.filter(stream=room.thread.stream).values_list("seq", flat=True))
        assert seqs == [1, 2, 3, 4, 5, 6]

    def test_replay_returns_exactly_what_was_missed(self, room) -> None:  # type: ignore[no-untyped-def]
        first = post(room, room.participant, "a").message
        post(room, room.participant, "b")
        actions.edit_message(actor=fresh(room.participant), message=first, body="a2")
        result = events.replay(room.thread.stream, since=2)
        assert [(e.seq, e.kind) for e in result.events] == [(3, "message.created"), (4, "message.edited")]
        assert not result.resync and result.seq == 4
        assert events.replay(room.thread.stream, since=4).events == []

    def test_replay_older_than_the_log_asks_for_resync(self, room, settings) -> None:  # type: ignore[no-untyped-def]
        for _ in range(3):
            post(room, room.participant)
        StreamEvent.objects.filter(stream=room.thread.stream, seq__lte=2).delete()
        assert events.replay(room.thread.stream, since=1).resync
        assert not events.replay(room.thread.stream, since=2).resync
        settings.EVENT_REPLAY_LIMIT = 1
        assert events.replay(room.thread.stream, since=2).resync

    @pytest.mark.django_db(transaction=True)
    def test_append_outside_a_transaction_is_a_bug(self) -> None:
        with pytest.raises(RuntimeError):
            events.append("thread:1", "x", {})


class TestMentions:
    def test_person_and_agency_mentions_notify_readers_only(self, room) -> None:  # type: ignore[no-untyped-def]
        from messaging.models import Mention, Notification

        local = room.participant.email.split("@")[0]
        obs_agency = room.observer.agency
        body = f"@{local} please check; cc @{obs_agency.short_name} and @{room.outsider.email.split('@')[0]}"
        message = post(room, room.owner, body).message
        notified = set(Notification.objects.filter(kind="message.mention").values_list("recipient_id", flat=True))
        assert room.participant.pk in notified and room.observer.pk in notified
        assert room.outsider.pk not in notified  # cannot read the thread: never told
        assert room.owner.pk not in notified
        assert Mention.objects.filter(message=message, agency=obs_agency).exists()

    def test_mentions_in_a_restricted_thread_skip_excluded_agencies(self, room) -> None:  # type: ignore[no-untyped-def]
        from messaging.models import Notification

        thread = actions.create_thread(
            actor=fresh(room.owner),
            community=room.community,
            title="Restricted",
            body=f"@{room.observer.agency.short_name} should not hear of this",
            restrict_to=[room.participant.agency],
        )
        assert thread.restricted
        assert not Notification.objects.filter(recipient=room.observer).exists()


class TestModerationAndUnread:
    def test_moderators_pin_lock_rename(self, room) -> None:  # type: ignore[no-untyped-def]
        actions.update_thread(actor=fresh(room.owner_admin), thread=room.thread, title="Sandbags (closed)", locked=True)
        room.thread.refresh_from_db()
        assert room.thread.is_locked and room.thread.title == "Sandbags (closed)"
        event = StreamEvent.objects.filter(stream=room.thread.stream).last()
        assert event.kind == "thread.updated" and event.data["changed"] == ["is_locked", "title"]
        with pytest.raises(PermissionDenied):
            post(room, room.participant)
        with pytest.raises(PermissionDenied):
            actions.update_thread(actor=fresh(room.participant), thread=room.thread, pinned=True)
        with pytest.raises(ActionError):
            actions.update_thread(actor=fresh(room.owner_admin), thread=room.thread, title="  ")

    def test_unread_counts_follow_the_read_marker(self, room) -> None:  # type: ignore[no-untyped-def]
        from messaging.unread import unread_in_threads, with_unread

        reader = fresh(room.participant)
        threads = Thread.objects.filter(community=room.community)
        assert with_unread(threads, reader).get().unread == 1
        actions.mark_thread_read(actor=reader, thread=room.thread)
        assert unread_in_threads(reader, threads) == 0
        post(room, room.owner, "new")
        post(room, room.participant, "my own does not count")
        deleted = post(room, room.owner, "gone").message
        actions.delete_message(actor=fresh(room.owner), message=deleted)
        assert with_unread(threads, reader).get().unread == 1
        assert unread_in_threads(reader, threads) == 1
        with pytest.raises(PermissionDenied):
            actions.mark_thread_read(actor=fresh(room.outsider), thread=room.thread)

    def test_unread_list_is_one_query(self, room, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
        from messaging.unread import with_unread

        for n in range(3):
            actions.create_thread(actor=fresh(room.owner), community=room.community, title=f"T{n}", body="x")
        reader = fresh(room.participant)
        with django_assert_num_queries(1):
            assert [t.unread for t in with_unread(Thread.objects.filter(community=room.community), reader)] == [1] * 4


def test_prune_events_keeps_recent_and_makes_old_replays_resync(room) -> None:  # type: ignore[no-untyped-def]
    import io
    from datetime import timedelta

    from django.core.management import CommandError, call_command
    from django.utils import timezone

    post(room, room.participant, "recent")
    StreamEvent.objects.filter(seq=1, stream=room.thread.stream).update(created_at=timezone.now() - timedelta(days=90))
    out = io.StringIO()
    call_command("prune_events", "--dry-run", stdout=out)
    assert StreamEvent.objects.filter(stream=room.thread.stream).count() == 2
    call_command("prune_events", "--days", "30", stdout=out)
    assert list(StreamEvent.objects.filter(stream=room.thread.stream).values_list("seq", flat=True)) == [2]
    assert events.replay(room.thread.stream, since=0).resync
    assert not events.replay(room.thread.stream, since=1).resync
    with pytest.raises(CommandError):
        call_command("prune_events", "--days", "0", stdout=out)
