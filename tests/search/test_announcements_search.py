"""Program announcements in search, on both backends (see ``tests/search/conftest.py``).

The world is ``tests/announcements/conftest.py``'s, built through the real actions inside
a committed block: the Lakeland Broadband Office (LBO) publishes in *Lakeland Broadband
Programs* (the Easton library takes part, Harbor EM observes, Red Cedar took part); Pine
EDC owns *Pine County Economic Development Partners*, which accepts promotions; Tri-County
Water belongs to no community. Each test writes its own announcements with words found
nowhere else. Only live announcements are in the index.
"""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from communities import actions as community_actions
from communities.announcements import actions
from communities.announcements.models import Announcement, Audience, Promotion
from communities.announcements.search_index import shown_in_community
from search import api, indexer
from search.backends import get_backend
from tests.announcements.conftest import AnnouncementWorld, build_world, write
from tests.search.conftest import fresh
from workspace import actions as workspace_actions
from workspace.models import User

HOME_READERS = ("publisher_admin", "publisher_staff", "participant", "observer")
EVERYONE = (*HOME_READERS, "receiver_owner", "receiver_staff", "nonmember", "removed")


@pytest.fixture
def aw(backend, db, committed) -> AnnouncementWorld:  # type: ignore[no-untyped-def]
    with committed():
        return build_world()


def search(user: User, text: str, **options) -> api.Results:  # type: ignore[no-untyped-def]
    return api.query(fresh(user), text, **options)


def keys(results: api.Results) -> set[str]:
    return {hit.key for hit in results.hits}


def key(announcement: Announcement) -> str:
    return f"announcement:{announcement.pk}"


def assert_sees_nothing(results: api.Results) -> None:
    assert results.total == 0
    assert results.hits == []
    assert results.by_type == [] and results.by_community == [] and results.by_agency == []


def assert_nobody_finds(aw: AnnouncementWorld, text: str) -> None:
    for role in EVERYONE:
        assert_sees_nothing(search(aw.person(role), text))


def assert_index_matches(capsys) -> None:  # type: ignore[no-untyped-def]
    call_command("search_verify")  # raises CommandError when the index differs
    assert "The index matches the database." in capsys.readouterr().out


def members_only(aw: AnnouncementWorld, committed, word: str, **extra) -> Announcement:  # type: ignore[no-untyped-def]
    """A published, members-only announcement of LBO's in its home community about ``word``."""
    extra.setdefault("program", "Digital Equity")
    with committed():
        return actions.create_announcement(
            actor=fresh(aw.publisher_admin),
            community=aw.home,
            title=f"Office hours about {word}",
            summary="A drop-in saffron session.",
            body=f"Bring your **{word}** questions.",
            audience=Audience.MEMBERS,
            publish=True,
            **extra,
        )


def promote(aw: AnnouncementWorld, committed, announcement: Announcement) -> Promotion:  # type: ignore[no-untyped-def]
    with committed():
        return actions.request_promotion(
            actor=fresh(aw.publisher_admin), announcement=announcement, community=aw.receiving
        )


# --- Who finds a live announcement -------------------------------------------------------------


class TestAudience:
    def test_members_only_is_found_by_home_readers_only(self, aw, committed) -> None:  # type: ignore[no-untyped-def]
        announcement = members_only(aw, committed, "tamarind")
        for role in HOME_READERS:
            results = search(aw.person(role), "tamarind")
            assert keys(results) == {key(announcement)}
            assert [(f.value, f.label, f.count) for f in results.by_type] == [("announcement", "Announcements", 1)]
            assert {(f.value, f.count) for f in results.by_agency} == {(aw.lbo.pk, 1)}
        for role in ("receiver_owner", "receiver_staff", "nonmember"):
            assert_sees_nothing(search(aw.person(role), "tamarind"))

    def test_public_is_found_by_every_signed_in_person(self, aw, committed) -> None:  # type: ignore[no-untyped-def]
        with committed():
            announcement = write(fresh(aw.publisher_admin), aw.home, "Marzipan workshop for libraries")
        for role in EVERYONE:
            assert keys(search(aw.person(role), "marzipan")) == {key(announcement)}
        workspace_actions.deactivate_staff(actor=fresh(aw.participant_admin), member=fresh(aw.deactivated))
        assert_sees_nothing(search(aw.deactivated, "marzipan"))

    def test_program_summary_text_and_tags_are_searchable(self, aw, committed) -> None:  # type: ignore[no-untyped-def]
        announcement = members_only(aw, committed, "tamarind", program="Gooseberry Connect", tags=["hotspots"])
        for text in ("gooseberry", "hotspots", "questions tamarind", "saffron"):
            assert keys(search(aw.participant, text)) == {key(announcement)}, text

    def test_removed_agency_loses_members_only_ones_at_once(self, aw, committed) -> None:  # type: ignore[no-untyped-def]
        members_only(aw, committed, "tamarind")
        assert search(aw.removed, "tamarind").total == 1
        with committed():
            community_actions.remove_agency(actor=fresh(aw.publisher_admin), community=aw.home, agency=aw.red_cedar)
        assert_sees_nothing(search(aw.removed, "tamarind"))

    def test_search_page_shows_an_announcement_with_its_label_link_and_agency(self, aw, committed, client) -> None:  # type: ignore[no-untyped-def]
        announcement = members_only(aw, committed, "tamarind")
        client.force_login(aw.participant)
        page = client.get("/search/", {"q": "tamarind"}).content.decode()
        assert f'href="/announcements/{announcement.pk}/"' in page
        assert '<span class="badge">Announcement</span>' in page and "(LBO)" in page
        assert 'Announcements <span class="facet-count">1</span>' in page


# --- States that are not live --------------------------------------------------------------------


class TestStates:
    def test_draft_is_not_found_until_published(self, aw, committed, capsys) -> None:  # type: ignore[no-untyped-def]
        with committed():
            draft = write(fresh(aw.publisher_admin), aw.home, "Heliotrope grant draft", publish=False)
        assert_nobody_finds(aw, "heliotrope")
        assert_index_matches(capsys)
        with committed():
            actions.publish_announcement(actor=fresh(aw.publisher_admin), announcement=draft)
        assert keys(search(aw.nonmember, "heliotrope")) == {key(draft)}
        assert_index_matches(capsys)

    def test_scheduled_is_found_only_once_the_command_publishes_it(self, aw, committed, capsys) -> None:  # type: ignore[no-untyped-def]
        monday = timezone.now().replace(microsecond=0) + timedelta(days=3)
        with committed():
            scheduled = write(
                fresh(aw.publisher_admin),
                aw.home,
                "Gossamer round opens Monday",
                publish_at=monday,
                expire_at=monday + timedelta(days=30),
            )
        assert_nobody_finds(aw, "gossamer")
        assert_index_matches(capsys)
        with committed():
            call_command("publish_scheduled", f"--now={(monday + timedelta(minutes=1)).isoformat()}", stdout=StringIO())
        assert keys(search(aw.nonmember, "gossamer")) == {key(scheduled)}
        assert_index_matches(capsys)
        with committed():
            call_command("publish_scheduled", f"--now={(monday + timedelta(days=31)).isoformat()}", stdout=StringIO())
        assert_nobody_finds(aw, "gossamer")
        assert_index_matches(capsys)

    def test_retracted_is_found_by_nobody(self, aw, committed, capsys) -> None:  # type: ignore[no-untyped-def]
        with committed():
            announcement = write(fresh(aw.publisher_admin), aw.home, "Juniper subgrants")
        assert search(aw.nonmember, "juniper").total == 1
        with committed():
            actions.retract_announcement(actor=fresh(aw.publisher_admin), announcement=announcement, note="Wrong date")
        assert_nobody_finds(aw, "juniper")
        assert key(announcement) not in get_backend().all_digests()
        assert_index_matches(capsys)

    def test_expired_by_the_clock_is_not_shown_and_the_command_removes_it(self, aw, committed, capsys) -> None:  # type: ignore[no-untyped-def]
        announcement = members_only(aw, committed, "tamarind", expire_at=timezone.now() + timedelta(hours=1))
        assert keys(search(aw.participant, "tamarind")) == {key(announcement)}
        # The clock passes expire_at; nothing has run yet.
        Announcement.objects.filter(pk=announcement.pk).update(expire_at=timezone.now() - timedelta(minutes=1))
        before_command = search(aw.participant, "tamarind")
        assert before_command.hits == [] and before_command.hidden == 1  # the policy re-check drops it
        assert indexer.verify().extra == [key(announcement)]
        with committed():
            call_command("publish_scheduled", stdout=StringIO())
        assert_nobody_finds(aw, "tamarind")
        assert_index_matches(capsys)

    def test_an_edit_is_found_by_its_new_words_only(self, aw, committed, capsys) -> None:  # type: ignore[no-untyped-def]
        announcement = members_only(aw, committed, "tamarind")
        with committed():
            actions.update_announcement(
                actor=fresh(aw.publisher_admin),
                announcement=announcement,
                title="Office hours moved",
                program="Digital Equity",
                body="Now about nutmeg instead.",
                audience=Audience.MEMBERS,
            )
        assert keys(search(aw.participant, "nutmeg")) == {key(announcement)}
        assert_nobody_finds(aw, "tamarind")
        assert_index_matches(capsys)

    def test_made_public_by_an_edit_reaches_everyone(self, aw, committed) -> None:  # type: ignore[no-untyped-def]
        announcement = members_only(aw, committed, "tamarind")
        assert_sees_nothing(search(aw.nonmember, "tamarind"))
        with committed():
            actions.update_announcement(
                actor=fresh(aw.publisher_admin),
                announcement=announcement,
                title=announcement.title,
                program="Digital Equity",
                body=announcement.body,
                audience=Audience.PUBLIC,
            )
        assert keys(search(aw.nonmember, "tamarind")) == {key(announcement)}


# --- Cross-promotion, with consent -----------------------------------------------------------------


class TestPromotion:
    def test_found_in_the_accepting_community_only_after_acceptance(self, aw, committed, capsys) -> None:  # type: ignore[no-untyped-def]
        announcement = members_only(aw, committed, "cardamom")
        promotion = promote(aw, committed, announcement)
        assert_sees_nothing(search(aw.receiver_staff, "cardamom"))  # pending
        assert announcement not in shown_in_community(aw.receiving.pk)
        with committed():
            actions.accept_promotion(actor=fresh(aw.receiver_owner), promotion=promotion)
        for role in ("receiver_staff", "receiver_owner", "participant"):
            assert keys(search(aw.person(role), "cardamom")) == {key(announcement)}, role
        assert_sees_nothing(search(aw.nonmember, "cardamom"))
        assert announcement in shown_in_community(aw.receiving.pk)
        assert_index_matches(capsys)
        with committed():
            actions.retract_announcement(actor=fresh(aw.publisher_admin), announcement=announcement)
        assert_nobody_finds(aw, "cardamom")
        assert_index_matches(capsys)

    def test_declined_promotion_gives_nothing(self, aw, committed, capsys) -> None:  # type: ignore[no-untyped-def]
        announcement = members_only(aw, committed, "cardamom")
        promotion = promote(aw, committed, announcement)
        with committed():
            actions.decline_promotion(actor=fresh(aw.receiver_owner), promotion=promotion)
        for role in ("receiver_staff", "receiver_owner", "nonmember"):
            assert_sees_nothing(search(aw.person(role), "cardamom"))
        assert keys(search(aw.participant, "cardamom")) == {key(announcement)}
        assert_index_matches(capsys)

    def test_taken_down_after_acceptance_leaves_that_community(self, aw, committed, capsys) -> None:  # type: ignore[no-untyped-def]
        announcement = members_only(aw, committed, "cardamom")
        promotion = promote(aw, committed, announcement)
        with committed():
            actions.accept_promotion(actor=fresh(aw.receiver_owner), promotion=promotion)
        assert search(aw.receiver_staff, "cardamom").total == 1
        with committed():
            actions.decline_promotion(actor=fresh(aw.receiver_owner), promotion=Promotion.objects.get(pk=promotion.pk))
        assert_sees_nothing(search(aw.receiver_staff, "cardamom"))
        assert keys(search(aw.participant, "cardamom")) == {key(announcement)}
        assert_index_matches(capsys)

    def test_withdrawn_by_the_publisher_leaves_that_community(self, aw, committed, capsys) -> None:  # type: ignore[no-untyped-def]
        announcement = members_only(aw, committed, "cardamom")
        promotion = promote(aw, committed, announcement)
        with committed():
            actions.accept_promotion(actor=fresh(aw.receiver_owner), promotion=promotion)
        with committed():
            actions.withdraw_promotion(
                actor=fresh(aw.publisher_admin), promotion=Promotion.objects.get(pk=promotion.pk)
            )
        assert_sees_nothing(search(aw.receiver_staff, "cardamom"))
        assert_index_matches(capsys)

    def test_trusted_publisher_is_found_at_once(self, aw, committed) -> None:  # type: ignore[no-untyped-def]
        with committed():
            actions.trust_agency(actor=fresh(aw.receiver_owner), community=aw.receiving, agency=aw.lbo)
        announcement = members_only(aw, committed, "cardamom")
        promote(aw, committed, announcement)  # accepted without asking
        assert keys(search(aw.receiver_staff, "cardamom")) == {key(announcement)}


def test_world_is_indexed_as_the_database_says(aw, capsys) -> None:  # type: ignore[no-untyped-def]
    """The fixture's announcements: the two published ones in, the pending and draft ones
    out of the pending-promotion community's view, the draft out of the index."""
    indexed = {k for k in get_backend().all_digests() if k.startswith("announcement:")}
    assert indexed == {key(aw.public), key(aw.members), key(aw.pending)}
    assert_sees_nothing(search(aw.receiver_staff, "office hours"))  # pending promotion, members only
    assert keys(search(aw.receiver_staff, "reviewer guide")) == {key(aw.members)}
    call_command("search_rebuild")
    assert "Announcements: 3 of 3" in capsys.readouterr().out
    assert_index_matches(capsys)


def test_query_count_does_not_grow_with_announcement_results(aw, committed, client) -> None:  # type: ignore[no-untyped-def]
    """A page of 5 promoted members-only announcements costs what a page of 20 costs for a
    reader of the community that accepted them (the policy re-check of each)."""

    def add(count: int) -> None:
        for n in range(count):
            promote(aw, committed, members_only(aw, committed, f"pumpkin{n} pumpkin"))
            with committed():
                actions.accept_promotion(
                    actor=fresh(aw.receiver_owner), promotion=Promotion.objects.filter(status="pending").latest("pk")
                )

    def queries(hits: int) -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/search/", {"q": "pumpkin"})
        assert response.content.decode().count('class="search-hit"') == hits
        return len(ctx.captured_queries)

    client.force_login(aw.receiver_staff)
    add(5)
    small = queries(5)
    add(20)
    assert queries(20) == small
