"""The interface every search backend implements, and the choice between them.

``SEARCH_BACKEND`` picks one: ``whoosh`` (the default, an index directory on this host)
or ``postgres`` (PostgreSQL full text, for several hosts sharing one database). Both
take the same parsed query (``search.syntax``), the asking person's access tokens and
the filters, and answer with keys, highlighted text and counts: the API
(``search.api``) does the rest.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.safestring import SafeString

from search.documents import Document
from search.syntax import Node

SORTS = ("relevance", "date")


class SearchUnavailable(Exception):
    """The backend cannot answer now (index busy or broken, database refused)."""


@dataclass(frozen=True)
class Filters:
    """Narrowing beyond the words; every field optional."""

    types: tuple[str, ...] = ()
    community: int | None = None
    agency: int | None = None
    person: int | None = None
    date_from: date | None = None
    date_to: date | None = None  # inclusive

    @property
    def active(self) -> bool:
        return bool(self.types or self.community or self.agency or self.person or self.date_from or self.date_to)


@dataclass(frozen=True)
class RawHit:
    key: str
    type: str
    pk: int
    title_html: SafeString
    snippet_html: SafeString


@dataclass(frozen=True)
class RawResults:
    """What a backend found among the items the person's tokens open."""

    hits: list[RawHit]
    total: int
    by_type: dict[str, int] = field(default_factory=dict)
    by_community: dict[int, int] = field(default_factory=dict)
    by_agency: dict[int, int] = field(default_factory=dict)


class SearchBackend(Protocol):
    name: str

    def search(
        self,
        node: Node,
        *,
        tokens: list[str],
        filters: Filters,
        sort: str,
        offset: int,
        limit: int,
    ) -> RawResults | None:
        """Matching items the tokens open, one page of them, with counts over all of them.

        None when the words leave nothing to search for (only stop words).
        """

    def exclusive(self) -> AbstractContextManager[None]:
        """Hold the right to write, so that reading the rows and writing their documents
        happen in one go (whoosh: one writer per index on a host; a no-op where the
        store orders writes itself)."""

    def write(self, documents: list[Document], removals: list[str], *, new: bool = False) -> None:
        """Add or replace ``documents`` and remove the items keyed ``removals``, atomically.

        ``new`` promises that none of the documents is in the index yet (a rebuild after
        ``clear``), which lets a backend skip replacing."""

    def digests(self, keys: list[str]) -> dict[str, str]:
        """The stored digest of each of ``keys`` that is in the index."""

    def all_digests(self) -> dict[str, str]:
        """Key to digest for everything in the index (for verification)."""

    def clear(self) -> None:
        """Empty the index (before a rebuild)."""

    def optimize(self) -> None:
        """Make the index fast to query after a rebuild (merge segments, refresh statistics)."""


_backends: dict[tuple[str, str], SearchBackend] = {}
_lock = threading.Lock()


def get_backend() -> SearchBackend:
    """The configured backend. Settings are read per call, so tests may change them."""
    name = getattr(settings, "SEARCH_BACKEND", "whoosh")
    if name == "whoosh":
        from search.backends.whoosh_backend import WhooshBackend

        path = str(settings.SEARCH_INDEX_DIR)
        with _lock:
            backend = _backends.get((name, path))
            if backend is None:
                backend = _backends[(name, path)] = WhooshBackend(path)
        return backend
    if name == "postgres":
        from django.db import connection

        if connection.vendor != "postgresql":
            raise ImproperlyConfigured("SEARCH_BACKEND=postgres needs DATABASE_URL to point at PostgreSQL.")
        from search.backends.postgres_backend import PostgresBackend

        with _lock:
            backend = _backends.get((name, ""))
            if backend is None:
                backend = _backends[(name, "")] = PostgresBackend()
        return backend
    raise ImproperlyConfigured(f"Unknown SEARCH_BACKEND {name!r}: choose whoosh or postgres.")
