"""What the engine stores per item: a ``Document``, the same for every backend.

A content type's ``to_document`` fills in the text and the facets (title, body, date,
community, agency, person); the indexer adds the type, the primary key and the access
tokens (see ``search.tokens``). ``digest`` fingerprints everything stored, so writes
can skip items that did not change and ``search_verify`` can find stale ones.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

# Longest body text indexed per item. PostgreSQL refuses a tsvector over 1 MB, and
# nobody reads a snippet from the millionth character.
MAX_BODY_CHARS = 100_000
# Control characters never belong in text; two of them mark highlights in PostgreSQL's
# ts_headline output, so the text must not carry them.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(text: str, limit: int | None = None) -> str:
    text = _CONTROL.sub(" ", text or "")
    return text[:limit] if limit is not None else text


@dataclass(frozen=True)
class Document:
    """One searchable item.

    ``tokens`` say who may see it (``search.tokens``); an empty tuple means nobody, so an
    item whose access cannot be worked out stays hidden rather than public.
    """

    title: str
    date: datetime
    body: str = ""
    community_id: int | None = None
    agency_id: int | None = None
    person_id: int | None = None
    # Filled in by the indexer from the registry entry.
    type: str = ""
    pk: int = 0
    tokens: tuple[str, ...] = field(default=())

    @property
    def key(self) -> str:
        return make_key(self.type, self.pk)

    @property
    def utc_date(self) -> datetime:
        """The date as naive UTC, which is how both backends store it."""
        if self.date.tzinfo is None:
            return self.date
        return self.date.astimezone(UTC).replace(tzinfo=None)

    @property
    def digest(self) -> str:
        payload = json.dumps(
            [
                self.type,
                self.pk,
                self.title,
                self.body,
                self.utc_date.isoformat(),
                self.community_id,
                self.agency_id,
                self.person_id,
                sorted(self.tokens),
            ],
            ensure_ascii=False,
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def make_key(type_name: str, pk: int | str) -> str:
    return f"{type_name}:{pk}"


def split_key(key: str) -> tuple[str, int]:
    type_name, _, pk = key.partition(":")
    return type_name, int(pk)
