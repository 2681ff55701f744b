"""Which whoosh documents match, as bitsets kept per index segment.

whoosh is pure Python: to know which of 100,000 documents hold a common word it decodes
the word's posting list one number at a time, and it did so again for every query, once
more to intersect it with the access clause and once more to count the facets. Here a
posting list is decoded once per index segment into a bitset (a Python ``int`` whose bit
*n* is document *n*), and queries combine bitsets with ``&``, ``|`` and ``& ~``, which
Python does in C over a few kilobytes. A segment never changes once written (deletions
aside: every answer is masked with the segment's live documents) and a commit only adds a
segment, so what was decoded stays valid until a merge replaces the segment.

What is kept, per segment: the bitset of each term asked for (access tokens included),
at most ``TERMS_PER_SEGMENT`` of them, least recently used first out; the live mask per
number of deletions; the facet and date columns. A searcher's ``View`` joins the segments
(``bits << offset``) and keeps the joined values while it is current.

Phrases are answered from the index's word pairs (every word joined to the one before it,
a term of its own): a two-word phrase is one bitset; a longer one is the documents holding
all its pairs that the person may see, checked against positions. An index without pairs
checks positions for the documents holding every word. Date ranges and anything
else go through whoosh's own matcher for the segment (not kept).
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import threading
from array import array
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterator

from whoosh import query as wq
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
from whoosh.reading import TermNotFound
from whoosh.searching import Searcher
from whoosh.util.numeric import byte_to_length

TERMS_PER_SEGMENT = 4096
POSTINGS_PER_SEGMENT = 4_000_000  # decoded postings kept per segment: about 40 MB at most
# Query terms boosted less than this only narrow (filters): they never add to a score.
SCORING_BOOST = 1e-3
PREFIX_SCORED_TERMS = 50
# A field ``f`` with a companion ``f_pairs`` (each word joined to the one before it, see
# whoosh_backend.PAIRS) has its phrases narrowed by pairs before positions are checked.
PAIRS_SUFFIX = "_pairs"


def from_ids(ids: Iterator[int], size: int) -> int:
    """The bitset of ``ids`` (each below ``size``)."""
    buffer = bytearray((size + 7) // 8)
    for docnum in ids:
        buffer[docnum >> 3] |= 1 << (docnum & 7)
    return int.from_bytes(buffer, "little")


def to_ids(bits: int) -> list[int]:
    """The set bits of ``bits``, ascending."""
    found: list[int] = []
    data = bits.to_bytes((bits.bit_length() + 7) // 8, "little")
    for index, byte in enumerate(data):
        if byte:
            base = index << 3
            for bit in range(8):
                if byte >> bit & 1:
                    found.append(base + bit)
    return found


def _postings(leaf: Searcher, field: str, text: str) -> tuple[array, array]:
    """Every (document, weight) of a term in one segment, deletions included, as arrays.

    whoosh's matchers hand out one posting per Python call; its block matcher keeps each
    block's numbers in arrays, which are read whole here (whoosh 2.7.4 is pinned). Any
    other matcher is stepped through."""
    ids, weights = array("I"), array("f")
    try:
        matcher = leaf.reader().postings(field, text)
    except TermNotFound:
        return ids, weights
    matcher = getattr(matcher, "child", matcher)  # the deletions filter: masked later instead
    if all(hasattr(matcher, name) for name in ("_read_ids", "_read_weights", "_next_block", "_blocklength")):
        while matcher.is_active():
            if matcher._ids is None:
                matcher._read_ids()
            if matcher._weights is None:
                matcher._read_weights()
            ids.extend(matcher._ids[matcher._i : matcher._blocklength])
            weights.extend(matcher._weights[matcher._i : matcher._blocklength])
            matcher._next_block()
        return ids, weights
    while matcher.is_active():
        ids.append(matcher.id())
        weights.append(matcher.weight())
        matcher.next()
    return ids, weights


class _Segment:
    """The decoded values of one segment, shared by every searcher that holds it."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.terms: OrderedDict[tuple[str, str], tuple[int, array, array]] = OrderedDict()
        self.postings_kept = 0
        self.live: tuple[int, int] | None = None  # (live document count, mask)
        self.columns: dict[str, list] = {}  # type: ignore[type-arg]
        self.lock = threading.Lock()

    def term(self, leaf: Searcher, field: str, text: str) -> tuple[int, array, array]:
        """(bitset, documents, weights) of a term."""
        key = (field, text)
        with self.lock:
            found = self.terms.get(key)
            if found is not None:
                self.terms.move_to_end(key)
                return found
        ids, weights = _postings(leaf, field, text)
        found = (from_ids(iter(ids), self.size), ids, weights)
        with self.lock:
            if key not in self.terms:
                self.terms[key] = found
                self.postings_kept += len(ids)
            while len(self.terms) > 1 and (
                len(self.terms) > TERMS_PER_SEGMENT or self.postings_kept > POSTINGS_PER_SEGMENT
            ):
                _, (_, dropped, _) = self.terms.popitem(last=False)
                self.postings_kept -= len(dropped)
        return found

    def live_mask(self, leaf: Searcher) -> int:
        reader = leaf.reader()
        count = reader.doc_count()
        current = self.live
        if current is not None and current[0] == count:
            return current[1]
        mask = (1 << self.size) - 1 if count == self.size else from_ids(reader.all_doc_ids(), self.size)
        self.live = (count, mask)
        return mask

    def lengths(self, leaf: Searcher, field: str) -> list[int]:
        """Every document's length in ``field`` (ranking reads one per match: whoosh's
        ``doc_field_length`` decodes it anew on each call)."""
        key = f"\0length:{field}"
        found = self.columns.get(key)
        if found is None:
            reader = leaf.reader()
            try:  # whoosh 2.7 keeps the lengths as a byte column per field
                column = reader._perdoc._cached_reader(_lenfield(field), LENGTHS_COLUMN)
            except AttributeError:
                column = None
            if column is None:
                found = [reader.doc_field_length(docnum, field, 1) or 1 for docnum in range(self.size)]
            else:
                found = [byte_to_length(byte) if byte else 1 for byte in column]
            self.columns[key] = found
        return found

    def column(self, leaf: Searcher, name: str) -> list:  # type: ignore[type-arg]
        found = self.columns.get(name)
        if found is None:
            reader = leaf.reader()
            found = list(reader.column_reader(name)) if reader.has_column(name) else [None] * self.size
            self.columns[name] = found
        return found


class Segments:
    """Every segment's ``_Segment``, by segment id, for one index."""

    def __init__(self) -> None:
        self._segments: dict[str, _Segment] = {}
        self._lock = threading.Lock()

    def of(self, leaf: Searcher) -> _Segment:
        segment_id = leaf.reader().segment().segment_id()
        with self._lock:
            found = self._segments.get(segment_id)
            if found is None:
                found = self._segments[segment_id] = _Segment(leaf.reader().doc_count_all())
            return found

    def keep_only(self, searcher: Searcher) -> None:
        """Forget the segments ``searcher`` no longer has (merged away)."""
        current = {leaf.reader().segment().segment_id() for leaf, _ in searcher.leaf_searchers()}
        with self._lock:
            for segment_id in set(self._segments) - current:
                del self._segments[segment_id]


class View:
    """One searcher's bitsets, joined over its segments (bit n = global document n)."""

    def __init__(self, searcher: Searcher, segments: Segments) -> None:
        self.searcher = searcher
        self.leaves = [(leaf, offset, segments.of(leaf)) for leaf, offset in searcher.leaf_searchers()]
        self._terms: dict[tuple[str, str], int] = {}
        self._live: int | None = None
        self._columns: dict[str, list] = {}  # type: ignore[type-arg]
        self._words: dict[str, list[str]] = {}

    def _join(self, part: Callable[[Searcher, _Segment], int]) -> int:
        bits = 0
        for leaf, offset, segment in self.leaves:
            bits |= part(leaf, segment) << offset
        return bits

    def term(self, field: str, text: str) -> int:
        key = (field, text)
        found = self._terms.get(key)
        if found is None:
            found = self._join(lambda leaf, segment: segment.term(leaf, field, text)[0])
            if len(self._terms) < TERMS_PER_SEGMENT:
                self._terms[key] = found
        return found

    @property
    def live(self) -> int:
        if self._live is None:
            self._live = self._join(lambda leaf, segment: segment.live_mask(leaf))
        return self._live

    def words(self, first: str) -> list[str]:
        """The indexed unstemmed words (field ``exact``) that start with ``first``."""
        found = self._words.get(first)
        if found is None:
            reader = self.searcher.reader()
            found = self._words[first] = [_text(term) for term in reader.expand_prefix("exact", first)]
        return found

    def any_of(self, field: str, texts: list[str]) -> int:
        bits = 0
        for text in texts:
            bits |= self.term(field, text)
        return bits

    def column(self, name: str) -> list:  # type: ignore[type-arg]
        found = self._columns.get(name)
        if found is None:
            found = []
            for leaf, _, segment in self.leaves:
                found.extend(segment.column(leaf, name))
            self._columns[name] = found
        return found

    # --- Queries --------------------------------------------------------------------------

    def matches(self, query: wq.Query, within: int) -> int:
        """The live documents among ``within`` that match ``query``."""
        return self._match(query, within) & self.live

    def _match(self, query: wq.Query, within: int) -> int:
        if isinstance(query, wq.Term):
            return self.term(query.fieldname, _text(query.text)) & within
        if isinstance(query, wq.And):
            found = within
            negatives = []
            for part in query.subqueries:
                if isinstance(part, wq.Not):
                    negatives.append(part.query)
                    continue
                found = self._match(part, found)
                if not found:
                    return 0
            for part in negatives:
                found &= ~self._match(part, found)
            return found
        if isinstance(query, wq.Or):
            found = 0
            for part in query.subqueries:
                found |= self._match(part, within)
            return found
        if isinstance(query, wq.Not):
            return within & self.live & ~self._match(query.query, within)
        if isinstance(query, wq.Prefix):
            texts = [_text(term) for term in self.searcher.reader().expand_prefix(query.fieldname, query.text)]
            return self.any_of(query.fieldname, texts) & within
        if isinstance(query, wq.Phrase):
            candidates = within
            words = query.words
            pairs = f"{query.fieldname}{PAIRS_SUFFIX}"
            if query.slop == 1 and pairs in self.searcher.schema:
                # Every neighbouring pair of the phrase must be indexed as a pair: for two
                # words that is the answer; longer phrases check positions on what is left.
                for first, second in itertools.pairwise(words):
                    candidates &= self.term(pairs, f"{first} {second}")
                    if not candidates:
                        return 0
                if len(words) == 2:
                    return candidates
            else:
                for word in words:
                    candidates &= self.term(query.fieldname, word)
                    if not candidates:
                        return 0
            return self._verified(query, candidates)
        return self._verified(query, within)

    def top(self, query: wq.Query, docnums: list[int], count: int) -> list[int]:
        """The ``count`` best of ``docnums`` (global, ascending) for ``query`` by BM25F, as
        whoosh scores it: a word's score in a field, times the clause's boost, summed over
        the clauses a document matches. A phrase scores as its words, a prefix as the first
        ``PREFIX_SCORED_TERMS`` words it stands for; filters add nothing; ties keep index
        order."""
        terms = list(_scoring_terms(query, self.searcher.reader()))
        scores: defaultdict[int, float] = defaultdict(float)
        weighting = self.searcher.weighting
        for field, text, boost in terms:
            try:
                scorer = weighting.scorer(self.searcher, field, text)
            except TermNotFound:  # in no segment: adds nothing
                continue
            for leaf, offset, segment in self.leaves:
                start = bisect.bisect_left(docnums, offset)
                end = bisect.bisect_left(docnums, offset + segment.size)
                if start == end:
                    continue
                _, ids, weights = segment.term(leaf, field, text)
                if not ids:
                    continue
                weight_of = dict(zip(ids, weights, strict=True))
                lengths = segment.lengths(leaf, field)
                for docnum in docnums[start:end]:
                    local = docnum - offset
                    weight = weight_of.get(local)
                    if weight:
                        scores[docnum] += scorer._score(weight, lengths[local]) * boost
        return heapq.nlargest(count, docnums, key=lambda docnum: (scores.get(docnum, 0.0), -docnum))

    def _verified(self, query: wq.Query, candidates: int) -> int:
        """The candidates ``query``'s own whoosh matcher accepts, segment by segment,
        skipping straight to each candidate."""
        found = 0
        for leaf, offset, segment in self.leaves:
            local = (candidates >> offset) & ((1 << segment.size) - 1)
            if not local:
                continue
            try:
                matcher = query.matcher(leaf, leaf.boolean_context())
            except TermNotFound:
                continue
            accepted = []
            for docnum in to_ids(local):
                if not matcher.is_active():
                    break
                if matcher.id() < docnum:
                    matcher.skip_to(docnum)
                    if not matcher.is_active():
                        break
                if matcher.id() == docnum:
                    accepted.append(docnum)
            found |= from_ids(iter(accepted), segment.size) << offset
        return found


def _scoring_terms(query: wq.Query, reader=None, boost: float = 1.0) -> Iterator[tuple[str, str, float]]:  # type: ignore[no-untyped-def]
    """(field, word, boost) of every clause that adds to a score."""
    boost *= query.boost
    if isinstance(query, wq.Term):
        if boost >= SCORING_BOOST:
            yield query.fieldname, _text(query.text), boost
    elif isinstance(query, wq.Phrase):
        for word in query.words:
            yield query.fieldname, word, boost
    elif isinstance(query, wq.Prefix) and reader is not None:
        for count, term in enumerate(reader.expand_prefix(query.fieldname, query.text)):
            if count >= PREFIX_SCORED_TERMS:
                break
            yield query.fieldname, _text(term), boost
    elif isinstance(query, wq.And | wq.Or):
        for part in query.subqueries:
            yield from _scoring_terms(part, reader, boost)


def _text(value: object) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)
