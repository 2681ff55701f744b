"""The PostgreSQL backend: full-text search in the database every host already shares.

Each item is a ``SearchEntry`` row with a stored ``tsvector`` (English stems weighted by
field, plus the unstemmed words for prefixes) under a GIN index, and its access tokens in
an array under another GIN index. A query is built from the parsed search: words and
phrases through ``websearch_to_tsquery``, prefixes through ``to_tsquery('simple', 'x:*')``,
combined with ``&&``, ``||`` and ``!!``; the rows must also overlap the person's tokens.
``ts_headline`` marks the matches in titles and snippets. Typo tolerance looks up similar
words with pg_trgm when the extension is installed; without it, misspellings simply do
not match (logged once per process).
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

from django.contrib.postgres.search import (
    SearchHeadline,
    SearchQuery,
    SearchQueryField,
    SearchRank,
    SearchVector,
)
from django.db import connection, transaction
from django.db.models import BooleanField, Count, F, Func, Q
from django.utils.safestring import SafeString, mark_safe

from search import syntax
from search.backends import Filters, RawHit, RawResults
from search.backends.common import date_bounds, edit_distance, typo_distance
from search.documents import Document
from search.models import SearchEntry, SearchWord

logger = logging.getLogger(__name__)

VECTOR = (
    SearchVector("title", weight="A", config="english")
    + SearchVector("body", weight="B", config="english")
    + SearchVector("title", "body", weight="D", config="simple")
)
# ts_headline marks matches with these; the text never contains them (see
# documents.clean_text), so after escaping they become the only markup.
START, STOP = "\x02", "\x03"
# Trigram candidates per misspelt word; every one within the edit distance is used, as
# the whoosh backend does.
FUZZY_CANDIDATES = 50
_WORD = re.compile(r"[^\W_]{5,40}")
_PIECE = re.compile(r"[^\W_]+")
# The session advisory lock that orders index writers (an arbitrary constant: "srch").
ADVISORY_LOCK = 0x73726368


def _both(parts: list[Func]) -> Func:
    return Func(*parts, template="(%(expressions)s)", arg_joiner=" && ", output_field=SearchQueryField())


def _either(parts: list[Func]) -> Func:
    return Func(*parts, template="(%(expressions)s)", arg_joiner=" || ", output_field=SearchQueryField())


def _without(part: Func) -> Func:
    return Func(part, template="(!!%(expressions)s)", output_field=SearchQueryField())


def _matches(query: Func) -> Func:
    return Func(F("vector"), query, template="%(expressions)s", arg_joiner=" @@ ", output_field=BooleanField())


def _marked(text: str | None) -> SafeString:
    escaped = html.escape(text or "").replace(START, "<mark>").replace(STOP, "</mark>")
    return mark_safe(escaped)  # noqa: S308  (escaped above; <mark> is the only markup)


def _words(document: Document) -> set[str]:
    return {w for w in _WORD.findall(f"{document.title} {document.body}".lower()) if not w.isdigit()}


class PostgresBackend:
    name = "postgres"

    def __init__(self) -> None:
        self._trigram: bool | None = None

    # --- Writing --------------------------------------------------------------------------

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """One index writer at a time across every host: a transaction holding an advisory
        lock, released when it ends (a nested call takes it again, which PostgreSQL allows)."""
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK])
            yield

    def write(self, documents: list[Document], removals: list[str], *, new: bool = False) -> None:
        if not documents and not removals:
            return
        documents = sorted(documents, key=lambda d: d.key)  # one lock order for every writer
        with transaction.atomic():
            if removals:
                SearchEntry.objects.filter(key__in=sorted(removals)).delete()
            if not documents:
                return
            SearchEntry.objects.bulk_create(
                [
                    SearchEntry(
                        key=d.key,
                        type=d.type,
                        object_id=d.pk,
                        title=d.title,
                        body=d.body,
                        community_id=d.community_id,
                        agency_id=d.agency_id,
                        person_id=d.person_id,
                        date=d.date,
                        tokens=list(d.tokens),
                        digest=d.digest,
                    )
                    for d in documents
                ],
                update_conflicts=True,
                unique_fields=["key"],
                update_fields=[
                    "type",
                    "object_id",
                    "title",
                    "body",
                    "community_id",
                    "agency_id",
                    "person_id",
                    "date",
                    "tokens",
                    "digest",
                ],
            )
            SearchEntry.objects.filter(key__in=[d.key for d in documents]).update(vector=VECTOR)
            words = set().union(*(_words(d) for d in documents))
            SearchWord.objects.bulk_create([SearchWord(word=w) for w in sorted(words)], ignore_conflicts=True)

    def clear(self) -> None:
        with transaction.atomic():
            SearchEntry.objects.all().delete()
            SearchWord.objects.all().delete()

    def optimize(self) -> None:
        """Refresh the planner's statistics after a rebuild."""
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE search_searchentry")
            cursor.execute("ANALYZE search_searchword")

    def digests(self, keys: list[str]) -> dict[str, str]:
        return dict(SearchEntry.objects.filter(key__in=keys).values_list("key", "digest"))

    def all_digests(self) -> dict[str, str]:
        return dict(SearchEntry.objects.values_list("key", "digest").iterator(chunk_size=5000))

    # --- Reading --------------------------------------------------------------------------

    def has_trigram(self) -> bool:
        if self._trigram is None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
                self._trigram = cursor.fetchone() is not None
            if not self._trigram:
                logger.warning("pg_trgm is not installed: PostgreSQL search runs without typo tolerance.")
        return self._trigram

    def _similar(self, word: str) -> list[str]:
        """Indexed words within the typo distance of ``word``: trigram candidates from the
        index, kept if their edit distance is small (the same rule as the whoosh backend)."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT word FROM search_searchword WHERE word %% %s AND word <> %s "
                "ORDER BY similarity(word, %s) DESC, word LIMIT %s",
                [word, word, word, FUZZY_CANDIDATES],
            )
            candidates = [row[0] for row in cursor.fetchall()]
        allowed = typo_distance(word)
        return [c for c in candidates if edit_distance(word, c, allowed) <= allowed]

    def _empty_leaves(self, node: syntax.Node) -> set[str]:
        """Words and phrases that are only stop words, in one round trip."""
        texts: list[str] = []

        def visit(part: syntax.Node) -> None:
            if isinstance(part, syntax.Word) and not part.prefix:
                texts.append(part.text)
            elif isinstance(part, syntax.Phrase):
                texts.append(" ".join(part.words))
            elif isinstance(part, syntax.Not):
                visit(part.part)
            elif isinstance(part, syntax.And | syntax.Or):
                for child in part.parts:
                    visit(child)

        visit(node)
        if not texts:
            return set()
        columns = ", ".join(["numnode(websearch_to_tsquery('english', %s))"] * len(texts))
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {columns}", texts)  # noqa: S608  (placeholders only)
            sizes = cursor.fetchone()
        return {text for text, size in zip(texts, sizes, strict=True) if not size}

    def _compile(self, node: syntax.Node, empty: set[str]) -> tuple[Func, bool] | None:
        if isinstance(node, syntax.Word):
            if node.prefix:
                pieces = [p.lower() for p in _PIECE.findall(node.text)]
                if not pieces:
                    return None
                raw = " & ".join([*pieces[:-1], pieces[-1] + ":*"])
                return SearchQuery(raw, search_type="raw", config="simple"), True
            if node.text in empty:
                return None
            found: list[Func] = [SearchQuery(node.text, search_type="websearch", config="english")]
            plain = _PIECE.findall(node.text.lower())
            if len(plain) == 1 and typo_distance(plain[0]) and self.has_trigram():
                found += [SearchQuery(w, search_type="plain", config="english") for w in self._similar(plain[0])]
            return (found[0] if len(found) == 1 else _either(found)), True
        if isinstance(node, syntax.Phrase):
            text = " ".join(node.words)
            if text in empty:
                return None
            return SearchQuery(f'"{text}"', search_type="websearch", config="english"), True
        if isinstance(node, syntax.Not):
            inner = self._compile(node.part, empty)
            return (_without(inner[0]), False) if inner is not None else None
        parts = [c for c in (self._compile(part, empty) for part in node.parts) if c is not None]
        if not parts:
            return None
        queries = [query for query, _ in parts]
        if len(queries) == 1:
            combined = queries[0]
        else:
            combined = _both(queries) if isinstance(node, syntax.And) else _either(queries)
        positive = any(p for _, p in parts) if isinstance(node, syntax.And) else all(p for _, p in parts)
        return combined, positive

    @staticmethod
    def _narrow(filters: Filters) -> Q:
        found = Q()
        if filters.types:
            found &= Q(type__in=filters.types)
        if filters.community is not None:
            found &= Q(community_id=filters.community)
        if filters.agency is not None:
            found &= Q(agency_id=filters.agency)
        if filters.person is not None:
            found &= Q(person_id=filters.person)
        start, end = date_bounds(filters)
        if start is not None:
            found &= Q(date__gte=start)
        if end is not None:
            found &= Q(date__lt=end)
        return found

    def search(
        self, node: syntax.Node, *, tokens: list[str], filters: Filters, sort: str, offset: int, limit: int
    ) -> RawResults | None:
        compiled = self._compile(node, self._empty_leaves(node))
        if compiled is None or not compiled[1]:
            return None
        if not tokens:
            return RawResults(hits=[], total=0)
        query = compiled[0]
        matching = SearchEntry.objects.filter(self._narrow(filters), _matches(query), tokens__overlap=tokens)
        by_type: dict[str, int] = {}
        by_community: dict[int, int] = {}
        by_agency: dict[int, int] = {}
        groups = matching.order_by().values_list("type", "community_id", "agency_id").annotate(n=Count("pk"))
        for type_name, community_id, agency_id, count in groups:
            by_type[type_name] = by_type.get(type_name, 0) + count
            if community_id is not None:
                by_community[community_id] = by_community.get(community_id, 0) + count
            if agency_id is not None:
                by_agency[agency_id] = by_agency.get(agency_id, 0) + count
        total = sum(by_type.values())
        if not total or offset >= total:
            return RawResults([], total, by_type, by_community, by_agency)
        ordering = ["-date", "-pk"] if sort == "date" else ["-rank", "-date", "-pk"]
        rows = (
            matching.annotate(
                rank=SearchRank(F("vector"), query),
                title_marked=SearchHeadline(
                    "title", query, config="english", start_sel=START, stop_sel=STOP, highlight_all=True
                ),
                snippet_marked=SearchHeadline(
                    "body",
                    query,
                    config="english",
                    start_sel=START,
                    stop_sel=STOP,
                    max_fragments=2,
                    max_words=30,
                    min_words=12,
                    fragment_delimiter='" … "',
                ),
            )
            .order_by(*ordering)
            .values_list("key", "type", "object_id", "title_marked", "snippet_marked")[offset : offset + limit]
        )
        hits = [
            RawHit(key=key, type=type_name, pk=pk, title_html=_marked(title), snippet_html=_marked(snippet))
            for key, type_name, pk, title, snippet in rows
        ]
        return RawResults(hits, total, by_type, by_community, by_agency)
