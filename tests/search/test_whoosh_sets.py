"""whoosh queries answered from bitsets kept per index segment: what a segment gave stays
valid while later commits add segments, delete documents in it or merge it away, and the
answers equal whoosh's own (counts, and the ranking of plain words and prefixes)."""

from __future__ import annotations

import random
import uuid

import pytest
from whoosh import query as wq

from messaging import actions
from search import syntax
from search.backends import Filters, get_backend
from search.backends import whoosh_sets as sets
from tests.search.conftest import fresh

WHOOSH = pytest.mark.parametrize("backend", ["whoosh"], indirect=True)


def test_bitsets_round_trip() -> None:
    rng = random.Random(5)
    for size in (1, 7, 8, 9, 1000, 100_003):
        ids = sorted(rng.sample(range(size), min(size, 300)))
        bits = sets.from_ids(iter(ids), size)
        assert sets.to_ids(bits) == ids
        assert bits.bit_count() == len(ids)
    assert sets.to_ids(0) == []


def _search(sw, person, text: str):  # type: ignore[no-untyped-def]
    return sw.search(person, text)


def _post(sw, body: str):  # type: ignore[no-untyped-def]
    return actions.post_message(
        actor=fresh(sw.cw.owner_staff), thread=sw.open_thread, body=body, client_id=uuid.uuid4()
    ).message


@WHOOSH
def test_a_deletion_in_a_segment_already_read_takes_effect(sw, committed) -> None:  # type: ignore[no-untyped-def]
    assert _search(sw, sw.cw.owner_staff, "sandbag").total == 1  # the segment's bitsets are now kept
    with committed():
        actions.delete_message(actor=fresh(sw.cw.participant_staff), message=sw.reply)
    assert _search(sw, sw.cw.owner_staff, "sandbag").total == 0
    assert [hit.key for hit in _search(sw, sw.cw.owner_staff, "creek").hits] == [f"message:{sw.first_message.pk}"]


@WHOOSH
def test_an_edit_moves_a_document_to_a_new_segment(sw, committed) -> None:  # type: ignore[no-untyped-def]
    assert _search(sw, sw.cw.owner_staff, "sandbag").total == 1
    with committed():
        actions.edit_message(actor=fresh(sw.cw.participant_staff), message=sw.reply, body="Pumps are on site.")
    assert _search(sw, sw.cw.owner_staff, "sandbag").total == 0
    assert [hit.key for hit in _search(sw, sw.cw.owner_staff, "pumps").hits] == [f"message:{sw.reply.pk}"]


@WHOOSH
def test_merged_segments_give_the_same_answers(sw, committed) -> None:  # type: ignore[no-untyped-def]
    with committed():
        posted = [_post(sw, f"Otter census {n} at Mill Creek.") for n in range(3)]
    before = _search(sw, sw.cw.owner_staff, "otter")
    backend = get_backend()
    assert len(backend._searcher().leaf_searchers()) > 1
    backend.optimize()  # one segment: every kept bitset is for a segment that is gone
    after = _search(sw, sw.cw.owner_staff, "otter")
    assert len(backend._searcher().leaf_searchers()) == 1
    assert after.total == before.total == 3
    assert {hit.key for hit in after.hits} == {f"message:{m.pk}" for m in posted}


@WHOOSH
def test_a_small_cache_evicts_and_still_answers(sw, committed, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sets, "TERMS_PER_SEGMENT", 2)
    monkeypatch.setattr(sets, "POSTINGS_PER_SEGMENT", 3)
    with committed():
        _post(sw, "Beaver dam on the riverstage gauge.")
    for text, expected in (("riverstage", 2), ("beaver", 1), ("riverstage beaver", 1), ("sandbag OR beaver", 2)):
        assert _search(sw, sw.cw.owner_staff, text).total == expected, text
        assert _search(sw, sw.cw.nonmember_admin, text).total == 0, text


@WHOOSH
def test_counts_and_word_ranking_equal_whooshs_own(sw, committed) -> None:  # type: ignore[no-untyped-def]
    """The bitsets' total and the BM25F ranking against whoosh's collector on the same index."""
    with committed():
        for n in range(12):
            _post(sw, " ".join(["heron"] * (n % 4 + 1) + ["marsh"] * (n % 3) + [f"filler{n}"] * (n % 5)))
    backend = get_backend()
    searcher = backend._searcher()
    person = fresh(sw.cw.owner_staff)
    from search import tokens

    person_tokens = tokens.for_user(person)
    for text in ("heron", "heron marsh", "heron OR marsh", "her*", "heron NOT marsh"):
        mine = backend.search(
            syntax.parse(text).node, tokens=person_tokens, filters=Filters(), sort="relevance", offset=0, limit=20
        )
        allowed = wq.Or([wq.Term("tokens", token) for token in person_tokens])
        compiled = _compile(searcher, text)
        theirs = searcher.search(compiled, limit=20, filter=allowed)
        assert mine.total == len(theirs), text
        if "NOT" not in text:
            assert [hit.key for hit in mine.hits] == [hit["key"] for hit in theirs], text


def _compile(searcher, text: str):  # type: ignore[no-untyped-def]
    from search.backends.whoosh_backend import _Compiler

    return _Compiler(searcher.reader(), get_backend()._view(searcher).words).compile(syntax.parse(text).node)[0]


PHRASE_POSTS = [
    "River flood warning for Mill Creek.",
    "The flood on the river is over.",  # both words, not as a phrase
    "River of the flood: a history.",  # stop words between them are not counted, as in whoosh
    "River big flood.",
    "Flood warning: river flood stage reached.",
    "Warning river flood warning.",
]
PHRASES = ('"river flood"', '"flood river"', '"river flood warning"', '"flood warning river"', '"warning river"')


@WHOOSH
def test_phrases_answered_from_pairs_equal_whooshs_positions(sw, committed) -> None:  # type: ignore[no-untyped-def]
    with committed():
        for body in PHRASE_POSTS:
            _post(sw, body)
    backend = get_backend()
    searcher = backend._searcher()
    from search import tokens

    person_tokens = tokens.for_user(fresh(sw.cw.owner_staff))
    allowed = wq.Or([wq.Term("tokens", token) for token in person_tokens])
    for text in PHRASES:
        mine = backend.search(
            syntax.parse(text).node, tokens=person_tokens, filters=Filters(), sort="relevance", offset=0, limit=20
        )
        theirs = searcher.search(_compile(searcher, text), limit=20, filter=allowed)
        assert mine.total == len(theirs), text
        assert {hit.key for hit in mine.hits} == {hit["key"] for hit in theirs}, text
    assert _search(sw, sw.cw.owner_staff, '"river flood"').total == 4
    assert _search(sw, sw.cw.nonmember_admin, '"river flood"').total == 0


@WHOOSH
def test_a_two_word_phrase_reads_no_positions(sw, committed, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    with committed():
        for body in PHRASE_POSTS:
            _post(sw, body)

    original = sets.View._verified
    checked: list[str] = []

    def recording(self, query, candidates):  # type: ignore[no-untyped-def]
        checked.append(str(query))
        return original(self, query, candidates)

    monkeypatch.setattr(sets.View, "_verified", recording)
    assert _search(sw, sw.cw.owner_staff, '"river flood"').total == 4
    assert checked == []
    assert _search(sw, sw.cw.owner_staff, '"river flood warning"').total == 2  # pairs narrow, positions decide
    assert checked


@WHOOSH
def test_an_index_made_before_pairs_still_answers_phrases_and_takes_writes(sw, committed) -> None:  # type: ignore[no-untyped-def]
    from whoosh import index

    from search import indexer, registry
    from search.backends.whoosh_backend import SCHEMA

    older = SCHEMA.copy()
    older.remove("title_pairs")
    older.remove("body_pairs")
    backend = get_backend()
    with backend.exclusive():
        backend._index = index.create_in(backend.path, older)
    for entry in registry.types():
        backend.write(list(indexer.expected_documents(entry)), [])
    with committed():
        for body in PHRASE_POSTS:
            _post(sw, body)
    assert "body_pairs" not in backend._searcher().schema
    assert _search(sw, sw.cw.owner_staff, '"river flood"').total == 4
    assert _search(sw, sw.cw.owner_staff, '"flood warning river"').total == 1
    assert indexer.verify().clean
