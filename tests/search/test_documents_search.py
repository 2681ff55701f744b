"""Shared documents in search, on both backends (see ``tests/search/conftest.py``).

The world is ``tests/documents/conftest.py``'s, built through the real actions inside a
committed block, so the index is written the way it is in production: Lakeland OEM owns
the community and two documents, ``open`` (every reader; its second version's CSV is
the only place the word "fairgrounds" appears) and ``restricted`` (Lakeland OEM and
Easton, the observer). Harbor EM takes part, Pine is not a member.

What someone may not see must not show in any form: no result, no count, no facet.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from communities import actions as community_actions
from communities.documents import actions
from communities.documents.models import AccessLevel, Document, DocumentShare
from communities.documents.search_index import shown_in_community
from communities.models import Community, Visibility
from search import api, indexer, registry
from search.backends import get_backend
from tests.documents.conftest import DocumentWorld, build_documents_world, upload
from tests.search.conftest import fresh
from workspace import policy
from workspace.models import User

OTHERS = ("participant_staff", "participant_admin", "observer_staff", "moderator", "nonmember_staff", "nonmember_admin")


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def dw(backend, db, committed) -> DocumentWorld:  # type: ignore[no-untyped-def]
    with committed():
        return build_documents_world()


def search(user: User, text: str, **options) -> api.Results:  # type: ignore[no-untyped-def]
    return api.query(fresh(user), text, **options)


def keys(results: api.Results) -> set[str]:
    return {hit.key for hit in results.hits}


def key(document: Document) -> str:
    return f"document:{document.pk}"


def assert_sees_nothing(results: api.Results) -> None:
    assert results.total == 0
    assert results.hits == []
    assert results.by_type == [] and results.by_community == [] and results.by_agency == []


def assert_index_matches(capsys) -> None:  # type: ignore[no-untyped-def]
    call_command("search_verify")  # raises CommandError when the index differs
    assert "The index matches the database." in capsys.readouterr().out


def add_narrowed(dw: DocumentWorld, committed) -> Document:  # type: ignore[no-untyped-def]
    """A document of Lakeland OEM's, narrowed to Lakeland OEM alone from the start."""
    with committed():
        return actions.add_document(
            actor=fresh(dw.owner_staff),
            community=dw.community,
            upload=upload("depot.txt", b"The xylophonist inventory of the north depot."),
            title="Quillwort depot plan",
            description="Brambleberry stores for the spring.",
            restrict_to=[],
        )


def pine_community(dw: DocumentWorld, committed) -> Community:  # type: ignore[no-untyped-def]
    with committed():
        return community_actions.create_community(
            actor=fresh(dw.nonmember_admin),
            name="Pine Logistics",
            purpose="Pine County's own logistics.",
            visibility=Visibility.UNLISTED,
        )


# --- Who finds what -----------------------------------------------------------------------------


class TestVisibility:
    @pytest.mark.parametrize("role", OTHERS)
    def test_narrowed_document_gives_other_agencies_nothing(self, dw, committed, role) -> None:  # type: ignore[no-untyped-def]
        add_narrowed(dw, committed)
        person = getattr(dw.cw, role)
        for text in ("xylophonist", "quillwort", "brambleberry", "depot", "quillw*", "xylophonst", '"depot plan"'):
            assert_sees_nothing(search(person, text))

    def test_narrowed_document_is_found_by_its_agency(self, dw, committed) -> None:  # type: ignore[no-untyped-def]
        document = add_narrowed(dw, committed)
        results = search(dw.owner_staff, "xylophonist")
        assert keys(results) == {key(document)}
        assert [(f.value, f.label, f.count) for f in results.by_type] == [("document", "Documents", 1)]
        assert {(f.value, f.count) for f in results.by_community} == {(dw.community.pk, 1)}
        assert {(f.value, f.count) for f in results.by_agency} == {(dw.owner.pk, 1)}
        hit = results.hits[0]
        assert hit.type_label == "Document" and hit.url == f"/documents/{document.pk}/"
        assert hit.agency == dw.owner and hit.community == dw.community

    def test_named_agency_finds_a_restricted_document_and_others_do_not(self, dw) -> None:  # type: ignore[no-untyped-def]
        assert keys(search(dw.observer_staff, "levee inspection")) == {key(dw.restricted)}
        assert keys(search(dw.owner_admin, "levee inspection")) == {key(dw.restricted)}
        for person in (dw.participant_staff, dw.moderator, dw.nonmember_staff):
            assert_sees_nothing(search(person, "levee inspection"))

    def test_word_only_in_the_files_text_is_found_by_a_reader(self, dw, committed) -> None:  # type: ignore[no-untyped-def]
        results = search(dw.participant_staff, "fairgrounds")  # the CSV of version 2
        assert keys(results) == {key(dw.open)}
        assert "<mark>fairgrounds</mark>" in results.hits[0].snippet.lower()
        with committed():
            document = actions.add_document(
                actor=fresh(dw.owner_staff),
                community=dw.community,
                upload=upload("notes.txt", b"Crews gather by the periwinkle water tower at dawn."),
                title="Morning notes",
            )
        assert keys(search(dw.observer_staff, "periwinkle")) == {key(document)}
        assert_sees_nothing(search(dw.nonmember_staff, "periwinkle"))

    def test_people_outside_the_community_find_nothing(self, dw) -> None:  # type: ignore[no-untyped-def]
        for text in ("fairgrounds", "clinic schedule", "levee"):
            assert_sees_nothing(search(dw.nonmember_staff, text))

    def test_removed_agency_loses_documents_at_once(self, dw, committed) -> None:  # type: ignore[no-untyped-def]
        assert keys(search(dw.removed, "fairgrounds")) == {key(dw.open)}
        with committed():
            community_actions.remove_agency(
                actor=fresh(dw.owner_admin), community=dw.community, agency=dw.removed_agency
            )
        assert_sees_nothing(search(dw.removed, "fairgrounds"))


# --- Changes reach the index at commit ------------------------------------------------------------


class TestChanges:
    def test_narrowing_later_removes_it_from_the_others(self, dw, committed, capsys) -> None:  # type: ignore[no-untyped-def]
        assert keys(search(dw.participant_staff, "fairgrounds")) == {key(dw.open)}
        with committed():
            actions.set_document_access(
                actor=fresh(dw.owner_admin), document=dw.open, restricted=True, levels={dw.participant: None}
            )
        for person in (dw.participant_staff, dw.observer_staff, dw.moderator):
            assert_sees_nothing(search(person, "fairgrounds"))
        assert keys(search(dw.owner_staff, "fairgrounds")) == {key(dw.open)}
        with committed():
            actions.set_document_access(
                actor=fresh(dw.owner_admin),
                document=dw.open,
                restricted=True,
                levels={dw.participant: AccessLevel.VIEW},
            )
        assert keys(search(dw.participant_staff, "fairgrounds")) == {key(dw.open)}
        assert_sees_nothing(search(dw.observer_staff, "fairgrounds"))
        assert_index_matches(capsys)

    def test_revision_replaces_the_files_words(self, dw, committed, capsys) -> None:  # type: ignore[no-untyped-def]
        with committed():
            actions.revise_document(
                actor=fresh(dw.owner_staff),
                document=dw.open,
                upload=upload("clinic-schedule.csv", b"day,site\nSun,Easton Gymnasium\n"),
                based_on=2,
                change_note="Week 49: Sunday clinic.",
            )
        assert keys(search(dw.participant_staff, "gymnasium")) == {key(dw.open)}
        assert_sees_nothing(search(dw.participant_staff, "fairgrounds"))
        assert_index_matches(capsys)

    def test_rename_is_found_by_its_new_title(self, dw, committed, capsys) -> None:  # type: ignore[no-untyped-def]
        document = add_narrowed(dw, committed)
        with committed():
            actions.update_document(
                actor=fresh(dw.owner_admin),
                document=document,
                title="Marsh survey",
                description="Where the heron nests are.",
                tags=["wetlands"],
            )
        assert keys(search(dw.owner_staff, "marsh survey heron wetlands")) == {key(document)}
        assert_sees_nothing(search(dw.owner_staff, "quillwort"))
        assert_sees_nothing(search(dw.owner_staff, "brambleberry"))
        assert_sees_nothing(search(dw.participant_staff, "marsh"))
        assert_index_matches(capsys)

    def test_deleted_document_leaves_everyones_results(self, dw, committed, capsys) -> None:  # type: ignore[no-untyped-def]
        pk = dw.open.pk
        with committed():
            actions.delete_document(actor=fresh(dw.owner_admin), document=dw.open)
        for person in (dw.owner_staff, dw.participant_staff, dw.observer_staff):
            assert_sees_nothing(search(person, "fairgrounds"))
        assert f"document:{pk}" not in get_backend().all_digests()
        assert_index_matches(capsys)


# --- Sharing beyond the community, after consent ------------------------------------------------


class TestSharing:
    def test_agency_share_is_found_after_acceptance_and_gone_when_ended(self, dw, committed, capsys) -> None:  # type: ignore[no-untyped-def]
        document = add_narrowed(dw, committed)
        with committed():
            share = actions.offer_share(actor=fresh(dw.owner_admin), document=document, agency=dw.nonmember)
        assert_sees_nothing(search(dw.nonmember_staff, "xylophonist"))  # offered, not accepted
        with committed():
            actions.accept_share(actor=fresh(dw.nonmember_admin), share=share)
        for person in (dw.nonmember_staff, dw.nonmember_admin):
            results = search(person, "xylophonist")
            assert keys(results) == {key(document)} and results.total == 1
        for person in (dw.participant_staff, dw.observer_staff):  # still narrowed inside the community
            assert_sees_nothing(search(person, "xylophonist"))
        assert_index_matches(capsys)
        with committed():
            actions.end_share(actor=fresh(dw.owner_admin), share=DocumentShare.objects.get(pk=share.pk))
        for person in (dw.nonmember_staff, dw.nonmember_admin):
            assert_sees_nothing(search(person, "xylophonist"))
        assert keys(search(dw.owner_staff, "xylophonist")) == {key(document)}
        assert_index_matches(capsys)

    def test_community_share_is_found_there_after_acceptance_and_gone_when_ended(self, dw, committed, capsys) -> None:  # type: ignore[no-untyped-def]
        pine = pine_community(dw, committed)
        with committed():
            share = actions.offer_share(actor=fresh(dw.owner_admin), document=dw.open, community=pine)
        assert_sees_nothing(search(dw.nonmember_staff, "fairgrounds"))
        assert not shown_in_community(pine.pk).exists()
        with committed():
            actions.accept_share(actor=fresh(dw.nonmember_admin), share=share)
        assert keys(search(dw.nonmember_staff, "fairgrounds")) == {key(dw.open)}
        assert set(shown_in_community(pine.pk)) == {dw.open}
        assert_index_matches(capsys)
        with committed():  # the receiving side stops it
            actions.end_share(actor=fresh(dw.nonmember_admin), share=DocumentShare.objects.get(pk=share.pk))
        assert_sees_nothing(search(dw.nonmember_staff, "fairgrounds"))
        assert keys(search(dw.participant_staff, "fairgrounds")) == {key(dw.open)}
        assert_index_matches(capsys)

    def test_declined_share_gives_nothing(self, dw, committed, capsys) -> None:  # type: ignore[no-untyped-def]
        document = add_narrowed(dw, committed)
        with committed():
            share = actions.offer_share(actor=fresh(dw.owner_admin), document=document, agency=dw.nonmember)
            actions.decline_share(actor=fresh(dw.nonmember_admin), share=share)
        assert_sees_nothing(search(dw.nonmember_staff, "xylophonist"))
        assert_index_matches(capsys)

    def test_new_members_of_a_receiving_community_find_it(self, dw, committed) -> None:  # type: ignore[no-untyped-def]
        """Access that follows membership (through ``in_community``): Harbor EM joins Pine's
        community, into which the document was shared, and finds it."""
        pine = pine_community(dw, committed)
        document = add_narrowed(dw, committed)
        with committed():
            share = actions.offer_share(actor=fresh(dw.owner_admin), document=document, community=pine)
            actions.accept_share(actor=fresh(dw.nonmember_admin), share=share)
        assert_sees_nothing(search(dw.participant_staff, "xylophonist"))
        with committed():
            invitation = community_actions.invite_agency(
                actor=fresh(dw.nonmember_admin), community=pine, agency=dw.participant, role="participant"
            )
            community_actions.accept_invitation(actor=fresh(dw.participant_admin), invitation=invitation)
        assert keys(search(dw.participant_staff, "xylophonist")) == {key(document)}


def test_search_page_shows_a_document_with_its_label_link_and_agency(dw, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(dw.participant_staff)
    page = client.get("/search/", {"q": "fairgrounds"}).content.decode()
    assert f'href="/documents/{dw.open.pk}/"' in page
    assert '<span class="badge">Document</span>' in page
    assert "(Lakeland OEM)" in page
    assert 'Documents <span class="facet-count">1</span>' in page


def test_rebuild_writes_what_the_actions_wrote(dw, capsys) -> None:  # type: ignore[no-untyped-def]
    before = get_backend().all_digests()
    assert {k for k in before if k.startswith("document:")} == {key(dw.open), key(dw.restricted)}
    call_command("search_rebuild")
    assert "Documents: 2 of 2" in capsys.readouterr().out
    assert get_backend().all_digests() == before
    assert indexer.verify().clean


def test_upload_of_a_pdf_is_searchable(dw, committed) -> None:  # type: ignore[no-untyped-def]
    from tests.documents.conftest import pdf

    with committed():
        document = actions.add_document(
            actor=fresh(dw.owner_staff),
            community=dw.community,
            upload=SimpleUploadedFile("shelters.pdf", pdf("Shelter capacity at the armadillo arena")),
            title="Shelters",
        )
    assert keys(search(dw.participant_staff, "armadillo")) == {key(document)}


# --- What a page of results costs ------------------------------------------------------------------


def _page_queries(client, text: str, hits: int) -> int:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/search/", {"q": text})
    assert response.status_code == 200
    assert response.content.decode().count('class="search-hit"') == hits
    return len(ctx.captured_queries)


def test_query_count_does_not_grow_with_document_results(dw, committed, client) -> None:  # type: ignore[no-untyped-def]
    """A page of 5 documents costs what a page of 20 costs, for a reader of the community
    and for a reader of a community they are shared into (the policy re-check of each)."""
    pine = pine_community(dw, committed)

    def add(count: int) -> None:
        with committed():
            for n in range(count):
                document = actions.add_document(
                    actor=fresh(dw.owner_admin),
                    community=dw.community,
                    upload=upload(f"pumpkin-{n}.txt", b"Pumpkin patch flooded."),
                    title=f"Pumpkin report {n}",
                )
                share = actions.offer_share(actor=fresh(dw.owner_admin), document=document, community=pine)
                actions.accept_share(actor=fresh(dw.nonmember_admin), share=share)

    reader, receiver = Client(), Client()
    reader.force_login(dw.participant_staff)
    receiver.force_login(dw.nonmember_staff)
    add(5)
    small = (_page_queries(reader, "pumpkin", 5), _page_queries(receiver, "pumpkin", 5))
    add(20)
    large = (_page_queries(reader, "pumpkin", 20), _page_queries(receiver, "pumpkin", 20))
    assert small == large


def test_page_checks_with_prefetched_grants_agree_with_the_policy(dw, committed) -> None:  # type: ignore[no-untyped-def]
    """``prepare`` loads grants and shares for a page at once; each check must still give
    exactly the policy's answer, for every role and every kind of document."""
    pine = pine_community(dw, committed)
    narrowed = add_narrowed(dw, committed)
    with committed():
        to_agency = actions.offer_share(actor=fresh(dw.owner_admin), document=narrowed, agency=dw.nonmember)
        actions.accept_share(actor=fresh(dw.nonmember_admin), share=to_agency)
        to_pine = actions.offer_share(actor=fresh(dw.owner_admin), document=dw.restricted, community=pine)
        actions.accept_share(actor=fresh(dw.nonmember_admin), share=to_pine)
    entry = registry.get("document")
    roles = ("owner_staff", "owner_admin", "participant_staff", "observer_staff", "moderator", "nonmember_staff")
    for role in roles:
        plain = fresh(getattr(dw.cw, role))
        expected = {document.pk: policy.can(plain, "view", document) for document in Document.objects.all()}
        person = fresh(getattr(dw.cw, role))
        page = list(entry.queryset())
        with CaptureQueriesContext(connection) as ctx:
            entry.prepare(person, page)
            got = {document.pk: entry.may_view(person, document) for document in page}
        assert got == expected, role
        assert len(ctx.captured_queries) <= 4, role
    assert expected == {dw.open.pk: False, dw.restricted.pk: True, narrowed.pk: True}  # Pine's staff
