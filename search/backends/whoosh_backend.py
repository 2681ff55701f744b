"""The embedded backend: a whoosh index in ``SEARCH_INDEX_DIR`` on this host.

whoosh allows one writer per index and answers a second one with ``LockError``. Every
write here first takes an exclusive ``fcntl`` lock on ``writer.lock`` in the index
directory (and a thread lock inside the process), so writers from any number of threads
and worker processes on the host queue up instead of failing; whoosh's own lock is then
always free. Readers never lock: each thread keeps a searcher and refreshes it before a
query, which sees every commit that finished before it.

Fields: ``title`` and ``body`` are stemmed (English), ``exact`` holds the same text
unstemmed for prefixes and typo-tolerant (fuzzy) matches, ``tokens`` the access tokens,
``type``/``community``/``agency``/``person`` the facets and filters, ``date`` the sort.
"""

from __future__ import annotations

import fcntl
import heapq
import html
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from django.utils.safestring import SafeString, mark_safe
from whoosh import fields, highlight, index
from whoosh import query as wq
from whoosh.analysis import CharsetFilter, Filter, LowercaseFilter, RegexTokenizer, StemFilter, StopFilter
from whoosh.searching import Searcher
from whoosh.support.charset import accent_map

from search import syntax
from search.backends import Filters, RawHit, RawResults, SearchUnavailable, whoosh_files, whoosh_sets
from search.backends.common import date_bounds, edit_distance, typo_distance
from search.documents import Document

logger = logging.getLogger(__name__)

whoosh_files.install()  # segments' files read in place, not copied on every open


class _Pairs(Filter):
    """Each word joined to the one before it ("river flood"): a two-word phrase becomes one
    term to look up instead of two long posting lists whose positions must be compared."""

    def __call__(self, tokens):  # type: ignore[no-untyped-def]
        previous = None
        for token in tokens:
            text = token.text
            if previous is not None:
                token.text = f"{previous} {text}"
                yield token
            previous = text


STEMMED = RegexTokenizer() | LowercaseFilter() | CharsetFilter(accent_map) | StopFilter() | StemFilter()
PLAIN = RegexTokenizer() | LowercaseFilter() | CharsetFilter(accent_map)
# Pairs of neighbouring stems, as a phrase sees them (stop words left out and not counted).
PAIRS = STEMMED | _Pairs()

SCHEMA = fields.Schema(
    key=fields.ID(stored=True, unique=True),
    type=fields.ID(stored=True, sortable=True),
    community=fields.ID(stored=True, sortable=True),
    agency=fields.ID(stored=True, sortable=True),
    person=fields.ID(stored=True),
    tokens=fields.KEYWORD(lowercase=False, commas=False, scorable=False),
    title=fields.TEXT(analyzer=STEMMED, stored=True, field_boost=2.0),
    body=fields.TEXT(analyzer=STEMMED, stored=True),
    exact=fields.TEXT(analyzer=PLAIN),
    # ``<field>_pairs``: whoosh_sets answers a phrase in ``<field>`` from them (an index
    # made before they existed answers from positions alone until it is rebuilt).
    title_pairs=fields.TEXT(analyzer=PAIRS, phrase=False),
    body_pairs=fields.TEXT(analyzer=PAIRS, phrase=False),
    date=fields.DATETIME(stored=True, sortable=True),
    digest=fields.STORED(),
)

# How long a writer waits for the others before giving up (the indexer logs it and
# ``search_verify --fix`` repairs what was missed).
LOCK_TIMEOUT_SECONDS = 60.0
PREFIX_HIGHLIGHT_TERMS = 50
SNIPPET_CHARS = 240
# Access sets kept per searcher (one per distinct set of tokens, i.e. roughly per agency).
ALLOWED_CACHE_SIZE = 256


class _Marks(highlight.Formatter):
    """Escaped text with ``<mark>`` around the matches: the only markup in a snippet."""

    between = " … "

    def _text(self, text: str) -> str:
        return html.escape(text)

    def format_token(self, text: str, token, replace: bool = False) -> str:  # type: ignore[no-untyped-def]
        return "<mark>" + html.escape(highlight.get_text(text, token, replace)) + "</mark>"


def _shared_ends(a: str, b: str) -> int:
    """How many letters ``a`` and ``b`` share at their start plus at their end."""
    shortest = min(len(a), len(b))
    start = 0
    while start < shortest and a[start] == b[start]:
        start += 1
    end = 0
    while end < shortest - start and a[-1 - end] == b[-1 - end]:
        end += 1
    return start + end


def _stems(text: str) -> list[str]:
    return [token.text for token in STEMMED(text)]


def _plain(text: str) -> list[str]:
    return [token.text for token in PLAIN(text)]


def _text(value: object) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


class _Compiler:
    """Turns the parsed query into a whoosh query, collecting the stems to highlight."""

    def __init__(self, reader, words) -> None:  # type: ignore[no-untyped-def]
        self.reader = reader
        self.highlight: set[str] = set()
        # ``words(letter)``: the indexed unstemmed words starting with it (``View.words``).
        self.words = words

    def compile(self, node: syntax.Node) -> tuple[wq.Query, bool] | None:
        """(query, positive) or None when nothing searchable is left (stop words only)."""
        if isinstance(node, syntax.Word):
            found = self.prefix(node.text) if node.prefix else self.word(node.text)
            return (found, True) if found is not None else None
        if isinstance(node, syntax.Phrase):
            found = self.phrase(" ".join(node.words))
            return (found, True) if found is not None else None
        if isinstance(node, syntax.Not):
            inner = self.compile(node.part)
            return (wq.Not(inner[0]), False) if inner is not None else None
        parts = [c for c in (self.compile(part) for part in node.parts) if c is not None]
        if not parts:
            return None
        if isinstance(node, syntax.And):
            positive = any(p for _, p in parts)
            return (parts[0][0] if len(parts) == 1 else wq.And([q for q, _ in parts])), positive
        positive = all(p for _, p in parts)
        return (parts[0][0] if len(parts) == 1 else wq.Or([q for q, _ in parts])), positive

    def word(self, text: str) -> wq.Query | None:
        stems = _stems(text)
        if not stems:
            return None
        if len(stems) > 1:  # "e-mail", "covid-19": the pieces, next to each other
            return self.phrase(text)
        stem = stems[0]
        self.highlight.add(stem)
        alternatives: list[wq.Query] = [wq.Term("title", stem), wq.Term("body", stem)]
        plain = _plain(text)
        maxdist = typo_distance(plain[0]) if len(plain) == 1 else 0
        if maxdist:
            # The near words, found once in the whole lexicon (a FuzzyTerm would search
            # every segment's again); exact matches rank above near ones.
            for similar in self._near(plain[0], maxdist):
                alternatives.append(wq.Term("exact", similar, boost=0.5))
                self.highlight.update(_stems(similar))
        return wq.Or(alternatives)

    def _near(self, word: str, maxdist: int) -> list[str]:
        """Indexed words within ``maxdist`` edits of ``word`` that start with the same
        letter (whoosh's ``terms_within`` computes a full distance for every word with
        that letter, in Python; here the length rules most out first)."""
        found = []
        for candidate in self.words(word[0]):
            if abs(len(candidate) - len(word)) > maxdist:
                continue
            # One edit leaves everything but at most two neighbouring letters in place.
            if maxdist == 1 and _shared_ends(word, candidate) < max(len(word), len(candidate)) - 2:
                continue
            if edit_distance(word, candidate, maxdist) <= maxdist:
                found.append(candidate)
        return found

    def phrase(self, text: str) -> wq.Query | None:
        stems = _stems(text)
        if not stems:
            return None
        self.highlight.update(stems)
        if len(stems) == 1:
            return wq.Or([wq.Term("title", stems[0]), wq.Term("body", stems[0])])
        return wq.Or([wq.Phrase("title", stems), wq.Phrase("body", stems)])

    def prefix(self, text: str) -> wq.Query | None:
        plain = _plain(text)
        if not plain:
            return None
        *whole, start = plain
        for expansion in self._expand(start):
            self.highlight.update(_stems(expansion))
        found: wq.Query = wq.Prefix("exact", start)
        if whole:
            found = wq.And([wq.Term("exact", word) for word in whole] + [found])
        return found

    def _expand(self, start: str) -> Iterator[str]:
        for count, term in enumerate(self.reader.expand_prefix("exact", start)):
            if count >= PREFIX_HIGHLIGHT_TERMS:
                return
            yield _text(term)


# Filter clauses must match but should not move the rank: their terms carry a negligible
# boost (not 0, which whoosh's quality pruning reads as "never matches").
NARROWING_BOOST = 1e-6


def _unscored(field: str, values: list[str]) -> wq.Query:
    terms = [wq.Term(field, value, boost=NARROWING_BOOST) for value in values]
    return terms[0] if len(terms) == 1 else wq.Or(terms)


def _narrowing(filters: Filters) -> list[wq.Query]:
    found: list[wq.Query] = []
    if filters.types:
        found.append(_unscored("type", list(filters.types)))
    if filters.community is not None:
        found.append(_unscored("community", [str(filters.community)]))
    if filters.agency is not None:
        found.append(_unscored("agency", [str(filters.agency)]))
    if filters.person is not None:
        found.append(_unscored("person", [str(filters.person)]))
    start, end = date_bounds(filters, naive_utc=True)
    if start is not None or end is not None:
        found.append(wq.DateRange("date", start, end, endexcl=True, boost=NARROWING_BOOST))
    return found


FACETS = ("type", "community", "agency")


def _named(counts: Counter) -> dict[str, int]:  # type: ignore[type-arg]
    return {_text(value): count for value, count in counts.items() if value not in (None, "", b"")}


class WhooshBackend:
    name = "whoosh"

    def __init__(self, path: str) -> None:
        self.path = path
        self._thread_lock = threading.Lock()
        self._local = threading.local()
        self._index: index.Index | None = None
        self._segments = whoosh_sets.Segments()

    # --- Writing --------------------------------------------------------------------------

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the one writer slot of this index, across threads and processes (a thread
        that holds it may enter again)."""
        if getattr(self._local, "writing", False):
            yield
            return
        with self._thread_lock:
            os.makedirs(self.path, exist_ok=True)
            with open(os.path.join(self.path, "writer.lock"), "a+") as handle:
                deadline = time.monotonic() + LOCK_TIMEOUT_SECONDS
                pause = 0.002
                while True:
                    try:
                        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if time.monotonic() > deadline:
                            raise SearchUnavailable("The search index stayed busy too long.") from None
                        time.sleep(pause)
                        pause = min(pause * 2, 0.05)
                self._local.writing = True
                try:
                    yield
                finally:
                    self._local.writing = False
                    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _writable(self) -> index.Index:
        """The index, created on first use. Call while holding the writer slot."""
        if self._index is None or not index.exists_in(self.path):
            if index.exists_in(self.path):
                self._index = index.open_dir(self.path)
            else:
                self._index = index.create_in(self.path, SCHEMA)
        return self._index

    def write(self, documents: list[Document], removals: list[str], *, new: bool = False) -> None:
        if not documents and not removals:
            return
        with self.exclusive():
            writable = self._writable()
            known = set(writable.schema.names())  # an index made before a field was added lacks it
            writer = writable.writer(timeout=LOCK_TIMEOUT_SECONDS, delay=0.05)
            # ``new``: the keys are known to be absent (a rebuild), so skip the look-up of
            # an older version that replacing costs per document.
            add = writer.add_document if new else writer.update_document
            try:
                for key in removals:
                    writer.delete_by_term("key", key)
                for document in documents:
                    add(**{name: value for name, value in self._fields(document).items() if name in known})
            except BaseException:
                writer.cancel()
                raise
            # A rebuild writes many batches and merges once at the end (``optimize``):
            # merging after each batch rewrote the growing index again and again. Other
            # writes let whoosh merge its small segments each time: deferring merges made
            # rarer but longer ones, which held the process for a post's whole fan-out.
            writer.commit(merge=not new)

    @staticmethod
    def _fields(document: Document) -> dict[str, object]:
        found: dict[str, object] = {
            "key": document.key,
            "type": document.type,
            "tokens": " ".join(document.tokens),
            "title": document.title,
            "body": document.body,
            "exact": f"{document.title}\n{document.body}",
            "title_pairs": document.title,
            "body_pairs": document.body,
            "date": document.utc_date,
            "digest": document.digest,
        }
        for name, value in (
            ("community", document.community_id),
            ("agency", document.agency_id),
            ("person", document.person_id),
        ):
            if value is not None:
                found[name] = str(value)
        return found

    def clear(self) -> None:
        with self.exclusive():
            self._index = index.create_in(self.path, SCHEMA)

    def optimize(self) -> None:
        """Merge the index into one segment (after a rebuild): fewer segments, faster queries."""
        with self.exclusive():
            self._writable().optimize()

    # --- Reading --------------------------------------------------------------------------

    def _searcher(self) -> Searcher | None:
        """This thread's searcher, refreshed to the latest commit; None before any write."""
        if not index.exists_in(self.path):
            return None
        current: Searcher | None = getattr(self._local, "searcher", None)
        if current is None:
            current = index.open_dir(self.path).searcher()
        else:
            # refresh() hands the unchanged segments' readers to the new searcher, so the
            # old one is not closed here; whoosh closes what it no longer shares.
            try:
                current = current.refresh()
            except Exception:  # the index was recreated under us (a rebuild): start over
                logger.info("Reopening the search index at %s", self.path)
                current = index.open_dir(self.path).searcher()
        self._local.searcher = current
        return current

    def _view(self, searcher: Searcher) -> whoosh_sets.View:
        """This thread's bitsets for ``searcher``; a commit brings a new searcher, whose
        view reuses what its unchanged segments already decoded."""
        view: whoosh_sets.View | None = getattr(self._local, "view", None)
        if view is None or view.searcher is not searcher:
            view = self._local.view = whoosh_sets.View(searcher, self._segments)
            self._segments.keep_only(searcher)
            self._local.allowed = {}
        return view

    def _allowed(self, view: whoosh_sets.View, tokens: list[str]) -> int:
        """The documents the tokens open (a bitset), kept per searcher and set of tokens
        (roughly one per agency)."""
        cache: dict[tuple[str, ...], int] = self._local.allowed
        key = tuple(sorted(tokens))
        found = cache.get(key)
        if found is None:
            if len(cache) >= ALLOWED_CACHE_SIZE:
                cache.clear()
            found = cache[key] = view.any_of("tokens", list(key))
        return found

    def close(self) -> None:
        current = getattr(self._local, "searcher", None)
        if current is not None:
            current.close()
            self._local.searcher = None

    def digests(self, keys: list[str]) -> dict[str, str]:
        searcher = self._searcher()
        if searcher is None:
            return {}
        found: dict[str, str] = {}
        for key in keys:
            number = searcher.document_number(key=key)
            if number is not None:
                found[key] = searcher.stored_fields(number)["digest"]
        return found

    def all_digests(self) -> dict[str, str]:
        searcher = self._searcher()
        if searcher is None:
            return {}
        return {stored["key"]: stored["digest"] for stored in searcher.all_stored_fields()}

    def search(
        self, node: syntax.Node, *, tokens: list[str], filters: Filters, sort: str, offset: int, limit: int
    ) -> RawResults | None:
        searcher = self._searcher()
        if searcher is None:
            return RawResults(hits=[], total=0)
        view = self._view(searcher)
        compiler = _Compiler(searcher.reader(), view.words)
        compiled = compiler.compile(node)
        if compiled is None or not compiled[1]:
            return None
        if not tokens:
            return RawResults(hits=[], total=0)
        narrowing = _narrowing(filters)
        full = wq.And([compiled[0], *narrowing]) if narrowing else compiled[0]
        # Every match the person may see, unscored (bitsets): the total and the counts.
        visible = whoosh_sets.to_ids(view.matches(full, self._allowed(view, tokens)))
        counts = {name: Counter(map(view.column(name).__getitem__, visible)) for name in FACETS}
        wanted = offset + limit
        if not visible or offset >= len(visible):
            page: list[int] = []
        elif sort == "date":
            dates = view.column("date")
            page = heapq.nlargest(wanted, visible, key=lambda docnum: (dates[docnum] or 0, -docnum))[offset:]
        else:
            page = view.top(full, visible, wanted)[offset:]
        hits = [self._hit(searcher.stored_fields(docnum), compiler.highlight) for docnum in page]
        return RawResults(
            hits=hits,
            total=len(visible),
            by_type=_named(counts["type"]),
            by_community={int(k): v for k, v in _named(counts["community"]).items()},
            by_agency={int(k): v for k, v in _named(counts["agency"]).items()},
        )

    @staticmethod
    def _hit(hit, terms: set[str]) -> RawHit:  # type: ignore[no-untyped-def]
        title, body = hit.get("title", ""), hit.get("body", "")
        marks = _Marks()
        title_html = highlight.highlight(title, terms, STEMMED, highlight.WholeFragmenter(), marks) if terms else ""
        snippet = ""
        if body and terms:
            fragmenter = highlight.ContextFragmenter(maxchars=SNIPPET_CHARS, surround=70)
            snippet = highlight.highlight(body, terms, STEMMED, fragmenter, marks, top=2)
        if not snippet and body:
            snippet = html.escape(body[:SNIPPET_CHARS]) + ("…" if len(body) > SNIPPET_CHARS else "")
        type_name, _, pk = hit["key"].partition(":")
        return RawHit(
            key=hit["key"],
            type=type_name,
            pk=int(pk),
            title_html=_safe(title_html or html.escape(title)),
            snippet_html=_safe(snippet),
        )


def _safe(text: str) -> SafeString:
    # Everything in ``text`` was escaped by ``_Marks`` or ``html.escape``; only <mark> is markup.
    return mark_safe(text)  # noqa: S308
