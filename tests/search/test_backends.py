"""One suite for both search backends: every test runs on whoosh and on PostgreSQL (the
PostgreSQL run is skipped unless the database is PostgreSQL; CI runs that lane).

What is hidden from someone must not show in any form: no result, no count, no facet,
no snippet.
"""

from __future__ import annotations

import logging
import re
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone

from communities import actions as community_actions
from communities.models import Visibility
from messaging import actions
from messaging.models import Message
from search import indexer, registry
from search.backends import Filters, get_backend
from search.documents import Document
from tests.search.conftest import SearchWorld, fresh
from workspace import actions as workspace_actions


def _post(sw: SearchWorld, user, body: str) -> Message:  # type: ignore[no-untyped-def]
    return actions.post_message(actor=fresh(user), thread=sw.open_thread, body=body, client_id=uuid.uuid4()).message


def keys(results) -> set[str]:  # type: ignore[no-untyped-def]
    return {hit.key for hit in results.hits}


def assert_sees_nothing(results) -> None:  # type: ignore[no-untyped-def]
    assert results.total == 0
    assert results.hits == []
    assert results.by_type == [] and results.by_community == [] and results.by_agency == []


# --- Isolation ------------------------------------------------------------------------------


class TestIsolation:
    @pytest.mark.parametrize(
        "role", ["participant_staff", "participant_admin", "observer_staff", "nonmember_staff", "moderator"]
    )
    def test_restricted_thread_gives_other_agencies_nothing(self, sw, role) -> None:  # type: ignore[no-untyped-def]
        person = getattr(sw.cw, role)
        for text in ("zanzibar", "levee", '"weak points"', "zanz*", "zanzibra"):
            assert_sees_nothing(sw.search(person, text))

    def test_restricted_thread_is_found_by_the_allowed_agency(self, sw) -> None:  # type: ignore[no-untyped-def]
        results = sw.search(sw.cw.owner_staff, "zanzibar")
        message = sw.restricted_thread.messages.get()
        assert keys(results) == {f"message:{message.pk}"}
        assert "<mark>zanzibar</mark>" in results.hits[0].snippet.lower()
        assert {f.value: f.count for f in results.by_community} == {sw.community.pk: 1}

    @pytest.mark.parametrize("role", ["owner_staff", "participant_staff", "observer_staff", "nonmember_admin"])
    def test_unlisted_community_gives_others_nothing(self, sw, role) -> None:  # type: ignore[no-untyped-def]
        person = getattr(sw.cw, role)
        if role == "nonmember_admin":  # Pine's own admin: a member of its unlisted community
            assert sw.search(person, "quokka").total == 1
            return
        for text in ("quokka", "drills", '"drill schedule"', "Pine Internal"):
            assert_sees_nothing(sw.search(person, text))

    def test_unlisted_community_content_is_found_by_its_members(self, sw) -> None:  # type: ignore[no-untyped-def]
        results = sw.search(sw.pine_member, "drill")
        assert {hit.type for hit in results.hits} == {"community", "thread", "message"}
        assert {f.value: f.count for f in results.by_community} == {sw.hidden_community.pk: 3}

    def test_counts_and_facets_come_only_from_what_the_person_sees(self, sw) -> None:  # type: ignore[no-untyped-def]
        text = "riverstage OR sandbag OR zanzibar OR quokka"
        participant = sw.search(sw.cw.participant_staff, text)
        assert keys(participant) == {f"message:{sw.first_message.pk}", f"message:{sw.reply.pk}"}
        assert participant.total == 2
        assert {(f.value, f.count) for f in participant.by_type} == {("message", 2)}
        assert {(f.value, f.count) for f in participant.by_community} == {(sw.community.pk, 2)}
        assert {(f.value, f.count) for f in participant.by_agency} == {(sw.cw.owner.pk, 1), (sw.cw.participant.pk, 1)}
        owner = sw.search(sw.cw.owner_staff, text)
        assert owner.total == 3
        pine = sw.search(sw.pine_member, text)
        assert pine.total == 1 and {f.value for f in pine.by_community} == {sw.hidden_community.pk}

    def test_nobody_signed_in_or_active_finds_anything(self, sw) -> None:  # type: ignore[no-untyped-def]
        from search import api

        anonymous = api.query(AnonymousUser(), "riverstage")
        assert anonymous.total == 0 and anonymous.hits == [] and anonymous.message
        workspace_actions.deactivate_staff(actor=sw.cw.owner_admin, member=fresh(sw.cw.owner_staff))
        assert_sees_nothing(sw.search(sw.cw.owner_staff, "riverstage"))

    def test_a_hit_the_policy_refuses_is_dropped_and_logged(self, sw, caplog) -> None:  # type: ignore[no-untyped-def]
        """An index behind the database (here: the restricted thread written as open to
        everyone) still shows nothing the policy refuses."""
        entry = registry.get("thread")
        wrong = entry.document(sw.restricted_thread)
        get_backend().write([Document(**{**wrong.__dict__, "tokens": ("all",)})], [])
        with caplog.at_level(logging.WARNING, logger="search.api"):
            results = sw.search(sw.cw.participant_staff, "levee")
        assert results.hits == [] and results.hidden == 1
        assert "failed the permission re-check" in caplog.text


# --- Changes take effect at commit -----------------------------------------------------------


class TestChanges:
    def test_removed_agency_loses_results_at_once(self, sw, committed) -> None:  # type: ignore[no-untyped-def]
        assert sw.search(sw.cw.removed, "riverstage").total == 1
        with committed():
            community_actions.remove_agency(
                actor=fresh(sw.cw.owner_admin), community=sw.community, agency=sw.cw.removed_agency
            )
        assert_sees_nothing(sw.search(sw.cw.removed, "riverstage"))
        assert sw.search(sw.cw.participant_staff, "riverstage").total == 1

    def test_people_no_longer_named_lose_results(self, sw, committed) -> None:  # type: ignore[no-untyped-def]
        with committed():
            community_actions.set_participants(
                actor=fresh(sw.cw.participant_admin), community=sw.community, people=[fresh(sw.cw.moderator)]
            )
        assert_sees_nothing(sw.search(sw.cw.participant_staff, "riverstage"))
        assert sw.search(sw.cw.moderator, "riverstage").total == 1  # named: a grant of their own
        assert sw.search(sw.cw.participant_admin, "riverstage").total == 1  # admins always take part

    def test_deleted_message_leaves_everyones_results(self, sw, committed) -> None:  # type: ignore[no-untyped-def]
        with committed():
            actions.delete_message(actor=fresh(sw.cw.participant_staff), message=sw.reply)
        for person in (sw.cw.participant_staff, sw.cw.owner_staff):
            assert_sees_nothing(sw.search(person, "sandbag"))
        assert f"message:{sw.reply.pk}" not in get_backend().all_digests()

    def test_edited_message_is_found_by_its_new_words_only(self, sw, committed) -> None:  # type: ignore[no-untyped-def]
        with committed():
            actions.edit_message(actor=fresh(sw.cw.participant_staff), message=sw.reply, body="Pumps are on site.")
        assert sw.search(sw.cw.owner_staff, "sandbag").total == 0
        assert keys(sw.search(sw.cw.owner_staff, "pumps")) == {f"message:{sw.reply.pk}"}

    def test_new_message_is_found_after_commit_not_before(self, sw, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            message = _post(sw, sw.cw.participant_staff, "Wombat sighted.")
            assert sw.search(sw.cw.owner_staff, "wombat").total == 0
        for callback in callbacks:
            callback()
        assert keys(sw.search(sw.cw.owner_staff, "wombat")) == {f"message:{message.pk}"}

    def test_rolled_back_post_is_never_indexed(self, sw, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
            _post(sw, sw.cw.participant_staff, "Platypus spotted.")
            raise RuntimeError("boom")
        assert sw.search(sw.cw.owner_staff, "platypus").total == 0

    def test_renamed_thread_renames_its_messages_results(self, sw, committed) -> None:  # type: ignore[no-untyped-def]
        with committed():
            actions.update_thread(actor=fresh(sw.cw.owner_admin), thread=sw.open_thread, title="Crest forecast")
        results = sw.search(sw.cw.participant_staff, "crest")
        assert keys(results) == {
            f"thread:{sw.open_thread.pk}",
            f"message:{sw.first_message.pk}",
            f"message:{sw.reply.pk}",
        }
        in_threads = Filters(types=("thread", "message"))
        assert sw.search(sw.cw.participant_staff, "gauge", filters=in_threads).total == 0

    def test_community_made_unlisted_leaves_outsiders_results(self, sw, committed) -> None:  # type: ignore[no-untyped-def]
        assert sw.search(sw.pine_member, "Lakeland").total == 1
        community = sw.community
        with committed():
            community_actions.update_community(
                actor=fresh(sw.cw.owner_admin),
                community=community,
                name=community.name,
                purpose=community.purpose,
                description=community.description,
                visibility=Visibility.UNLISTED,
                tags=["flood"],
            )
        assert_sees_nothing(sw.search(sw.pine_member, "Lakeland"))
        assert sw.search(sw.cw.observer_staff, "Lakeland").total == 1

    def test_archived_community_leaves_outsiders_results(self, sw, committed) -> None:  # type: ignore[no-untyped-def]
        with committed():
            community_actions.set_archived(actor=fresh(sw.cw.owner_admin), community=sw.community, archived=True)
        assert_sees_nothing(sw.search(sw.pine_member, "Lakeland"))

    def test_new_member_agency_finds_existing_content(self, sw, committed) -> None:  # type: ignore[no-untyped-def]
        assert sw.search(sw.cw.nonmember_staff, "riverstage").total == 0
        with committed():
            invitation = community_actions.invite_agency(
                actor=fresh(sw.cw.owner_admin), community=sw.community, agency=sw.cw.nonmember
            )
            community_actions.accept_invitation(actor=fresh(sw.cw.nonmember_admin), invitation=invitation)
        assert sw.search(sw.cw.nonmember_staff, "riverstage").total == 1
        assert sw.search(sw.cw.nonmember_staff, "zanzibar").total == 0  # still restricted to Lakeland


# --- Query language -----------------------------------------------------------------------


class TestQueries:
    def test_words_are_all_required(self, sw) -> None:  # type: ignore[no-untyped-def]
        assert keys(sw.search(sw.cw.owner_staff, "sandbag creek")) == {f"message:{sw.reply.pk}"}
        assert keys(sw.search(sw.cw.owner_staff, "sandbag AND riverstage")) == set()

    def test_or_and_not(self, sw) -> None:  # type: ignore[no-untyped-def]
        first, reply = f"message:{sw.first_message.pk}", f"message:{sw.reply.pk}"
        assert keys(sw.search(sw.cw.owner_staff, "riverstage OR sandbag")) == {first, reply}
        assert keys(sw.search(sw.cw.owner_staff, "creek NOT sandbag")) == {first}
        assert keys(sw.search(sw.cw.owner_staff, "creek -sandbag")) == {first}
        assert keys(sw.search(sw.cw.owner_staff, "(riverstage OR sandbag) crews")) == {reply}

    def test_phrase_keeps_word_order(self, sw) -> None:  # type: ignore[no-untyped-def]
        assert keys(sw.search(sw.cw.owner_staff, '"sandbag crews"')) == {f"message:{sw.reply.pk}"}
        assert sw.search(sw.cw.owner_staff, '"crews sandbag"').total == 0

    def test_prefix(self, sw) -> None:  # type: ignore[no-untyped-def]
        assert keys(sw.search(sw.cw.owner_staff, "riverst*")) == {f"message:{sw.first_message.pk}"}

    def test_stemming_finds_other_forms(self, sw) -> None:  # type: ignore[no-untyped-def]
        assert f"message:{sw.first_message.pk}" in keys(sw.search(sw.cw.owner_staff, "rises"))

    def test_typo_tolerance_for_longer_words(self, sw) -> None:  # type: ignore[no-untyped-def]
        results = sw.search(sw.cw.owner_staff, "riverstaje")
        assert keys(results) == {f"message:{sw.first_message.pk}"}
        assert "<mark>" in results.hits[0].snippet
        assert sw.search(sw.cw.owner_staff, "crik").total == 0  # short words must be exact

    def test_non_latin_text(self, sw, committed) -> None:  # type: ignore[no-untyped-def]
        with committed():
            message = _post(sw, sw.cw.participant_staff, "Эвакуация начинается. Ελληνικά κείμενα. 東京")
        for text in ("Эвакуация", "эвакуация", "Ελληνικά", "東京"):
            assert keys(sw.search(sw.cw.owner_staff, text)) == {f"message:{message.pk}"}, text

    def test_snippets_are_escaped_but_for_marks(self, sw, committed) -> None:  # type: ignore[no-untyped-def]
        with committed():
            _post(sw, sw.cw.participant_staff, "flamingo & `<script>alert(1)</script>` <b>bold</b> 5 < 6")
        results = sw.search(sw.cw.owner_staff, "flamingo")
        snippet = str(results.hits[0].snippet)
        assert set(re.findall(r"<[^>]*>", snippet)) == {"<mark>", "</mark>"}
        assert "<mark>flamingo</mark>" in snippet.lower() and "&amp;" in snippet
        assert str(results.hits[0].title) == "Gauge readings"

    def test_title_is_highlighted(self, sw) -> None:  # type: ignore[no-untyped-def]
        results = sw.search(sw.cw.owner_staff, "gauge", filters=Filters(types=("thread",)))
        assert str(results.hits[0].title).lower() == "<mark>gauge</mark> readings"

    @pytest.mark.parametrize(
        "text",
        [
            "",
            "   ",
            "AND OR NOT",
            "NOT",
            "-riverstage",
            '"unbalanced riverstage',
            '"',
            "(((riverstage",
            "riverstage)))",
            "riverstage OR",
            "*",
            "a*",
            "the",
            "the NOT riverstage",
            "%_'; DROP TABLE search_searchentry; --",
            "riverstage\x00\x01",
            ":* & | ! <-> \\",
            "x" * 5000,
            " ".join(["riverstage"] * 200),
            "Привет",
            "東京",
            "🙂",
        ],
    )
    def test_odd_input_gives_results_or_a_message(self, sw, text) -> None:  # type: ignore[no-untyped-def]
        results = sw.search(sw.cw.owner_staff, text)
        assert not results.failed
        assert results.hits or results.message or results.total == 0
        if results.message:
            assert results.total == 0

    def test_unbalanced_quote_is_closed_and_said(self, sw) -> None:  # type: ignore[no-untyped-def]
        results = sw.search(sw.cw.owner_staff, '"sandbag crews')
        assert results.total == 1 and results.notices

    def test_only_stop_words_say_so(self, sw) -> None:  # type: ignore[no-untyped-def]
        results = sw.search(sw.cw.owner_staff, "the of and")
        assert results.total == 0 and "common" in results.message


# --- Filters, order and pages -----------------------------------------------------------------


class TestFiltersAndPages:
    def test_type_filter(self, sw) -> None:  # type: ignore[no-untyped-def]
        results = sw.search(sw.cw.owner_staff, "gauge", filters=Filters(types=("thread",)))
        assert keys(results) == {f"thread:{sw.open_thread.pk}"}
        assert {f.value for f in results.by_type} == {"thread"}

    def test_community_agency_and_person_filters(self, sw) -> None:  # type: ignore[no-untyped-def]
        text = "creek"
        everything = sw.search(sw.cw.owner_staff, text)
        assert everything.total == 2
        assert sw.search(sw.cw.owner_staff, text, filters=Filters(community=sw.hidden_community.pk)).total == 0
        assert sw.search(sw.cw.owner_staff, text, filters=Filters(community=sw.community.pk)).total == 2
        by_harbor = sw.search(sw.cw.owner_staff, text, filters=Filters(agency=sw.cw.participant.pk))
        assert keys(by_harbor) == {f"message:{sw.reply.pk}"}
        by_person = sw.search(sw.cw.owner_staff, text, filters=Filters(person=sw.cw.owner_staff.pk))
        assert keys(by_person) == {f"message:{sw.first_message.pk}"}

    def test_date_range_includes_whole_days(self, sw) -> None:  # type: ignore[no-untyped-def]
        today = timezone.localdate()
        day = timedelta(days=1)
        assert sw.search(sw.cw.owner_staff, "creek", filters=Filters(date_from=today, date_to=today)).total == 2
        assert sw.search(sw.cw.owner_staff, "creek", filters=Filters(date_to=today - day)).total == 0
        assert sw.search(sw.cw.owner_staff, "creek", filters=Filters(date_from=today + day)).total == 0

    def test_sort_by_date_puts_newest_first(self, sw, committed) -> None:  # type: ignore[no-untyped-def]
        Message.objects.filter(pk=sw.first_message.pk).update(created_at=timezone.now() - timedelta(days=3))
        with committed():
            indexer.index_on_commit(sw.first_message)
        results = sw.search(sw.cw.owner_staff, "creek", sort="date")
        assert [hit.key for hit in results.hits] == [f"message:{sw.reply.pk}", f"message:{sw.first_message.pk}"]

    def test_pages_split_the_results_without_overlap(self, sw, committed) -> None:  # type: ignore[no-untyped-def]
        with committed():
            for n in range(25):
                _post(sw, sw.cw.participant_staff, f"Pumpkin report number {n}.")
        first = sw.search(sw.cw.owner_staff, "pumpkin", page=1)
        second = sw.search(sw.cw.owner_staff, "pumpkin", page=2)
        assert first.total == second.total == 25
        assert len(first.hits) == 20 and len(second.hits) == 5
        assert not keys(first) & keys(second)
        assert first.num_pages == 2
        beyond = sw.search(sw.cw.owner_staff, "pumpkin", page=9)
        assert beyond.page == 2 and keys(beyond) == keys(second)


# --- Verify and rebuild ------------------------------------------------------------------------


class TestCommands:
    def test_verify_is_clean_after_indexing_through_actions(self, sw, capsys) -> None:  # type: ignore[no-untyped-def]
        call_command("search_verify")
        assert "matches the database" in capsys.readouterr().out

    def test_verify_finds_missing_stale_and_extra_and_fixes_them(self, sw, capsys) -> None:  # type: ignore[no-untyped-def]
        backend = get_backend()
        backend.write([], [f"message:{sw.reply.pk}"])  # missing
        Message.objects.filter(pk=sw.first_message.pk).update(body_html="<p>Rewritten behind the index.</p>")
        ghost = Document(title="Ghost", body="gone", date=timezone.now(), type="message", pk=999_999, tokens=("all",))
        backend.write([ghost], [])  # extra
        report = indexer.verify()
        assert report.missing == [f"message:{sw.reply.pk}"]
        assert report.stale == [f"message:{sw.first_message.pk}"]
        assert report.extra == ["message:999999"]
        with pytest.raises(CommandError):
            call_command("search_verify")
        call_command("search_verify", "--fix")
        assert "Repaired" in capsys.readouterr().out
        assert indexer.verify().clean
        assert keys(sw.search(sw.cw.owner_staff, "rewritten")) == {f"message:{sw.first_message.pk}"}

    def test_rebuild_reports_progress_and_matches_the_database(self, sw, capsys) -> None:  # type: ignore[no-untyped-def]
        before = get_backend().all_digests()
        call_command("search_rebuild", "--batch-size", "2")
        out = capsys.readouterr().out
        assert "Messages: 2 of 4" in out and "Messages: 4 of 4" in out
        assert f"Indexed {len(before)} items." in out
        assert get_backend().all_digests() == before
        assert indexer.verify().clean
