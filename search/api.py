"""The one search entry point: ``query(user, text, filters=..., sort=..., page=...)``.

1. The text is parsed (``search.syntax``); what cannot be searched comes back as a
   message, never an exception.
2. The person's access tokens are worked out from their grants (``search.tokens``) and
   the backend matches only items carrying one of them: totals and counts per type,
   community and agency cover only what the person may see.
3. Each hit on the page is loaded and checked again with the permission policy before
   it is shown. A hit that fails (an index behind the database) is dropped and logged.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.paginator import Page, Paginator
from django.utils.safestring import SafeString

from communities.models import Community
from search import registry, syntax
from search import tokens as access
from search.backends import SORTS, Filters, RawHit, RawResults, get_backend
from workspace.models import Agency, User

logger = logging.getLogger(__name__)

PER_PAGE = 20
# Deep pages cost the engine more and help nobody: past this, refine the search.
MAX_PAGES = 50

__all__ = ["Facet", "Filters", "Hit", "Results", "query", "PER_PAGE", "MAX_PAGES"]


@dataclass(frozen=True)
class Hit:
    """One result as shown: highlighted title and snippet (escaped but for ``<mark>``)."""

    type: str
    type_label: str
    key: str
    title: SafeString
    snippet: SafeString
    url: str
    date: datetime | None
    community: Any
    agency: Any
    person: Any
    obj: Any


@dataclass(frozen=True)
class Facet:
    value: str | int
    label: str
    count: int


@dataclass
class Results:
    text: str
    page: int = 1
    per_page: int = PER_PAGE
    hits: list[Hit] = field(default_factory=list)
    total: int = 0
    by_type: list[Facet] = field(default_factory=list)
    by_community: list[Facet] = field(default_factory=list)
    by_agency: list[Facet] = field(default_factory=list)
    message: str = ""  # why nothing was searched, fit to show
    notices: tuple[str, ...] = ()  # what was changed in the query, fit to show
    failed: bool = False  # the backend failed (the message says so)
    hidden: int = 0  # hits dropped by the policy re-check

    @property
    def searched(self) -> bool:
        return not self.message

    @property
    def num_pages(self) -> int:
        return min(MAX_PAGES, max(1, math.ceil(self.total / self.per_page)))

    @property
    def capped(self) -> bool:
        return self.total > MAX_PAGES * self.per_page

    @property
    def page_obj(self) -> Page:
        """A Django page for the pagination partial (only its numbers are used)."""
        shown = min(self.total, MAX_PAGES * self.per_page)
        return Paginator(range(shown), self.per_page).get_page(self.page)


def _signed_in(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def query(
    user: User,
    text: str | None,
    *,
    filters: Filters | None = None,
    sort: str = "relevance",
    page: int = 1,
    per_page: int = PER_PAGE,
) -> Results:
    """Search what ``user`` may see for ``text``. Never raises for anything typed."""
    filters = filters or Filters()
    sort = sort if sort in SORTS else "relevance"
    page = max(1, min(int(page or 1), MAX_PAGES))
    parsed = syntax.parse(text)
    results = Results(text=text or "", page=page, per_page=per_page, notices=parsed.notices)
    if not _signed_in(user):
        results.message = "Sign in to search."
        return results
    if parsed.node is None:
        results.message = parsed.message
        return results
    known = {entry.name for entry in registry.types()}
    filters = Filters(
        types=tuple(t for t in filters.types if t in known),
        community=filters.community,
        agency=filters.agency,
        person=filters.person,
        date_from=filters.date_from,
        date_to=filters.date_to,
    )
    person_tokens = access.for_user(user)
    try:
        raw = _search(parsed.node, person_tokens, filters, sort, page, per_page)
    except Exception:
        logger.exception("Search failed for %s", syntax.describe(parsed.node))
        results.message = "Search is not available right now. Try again in a moment."
        results.failed = True
        return results
    if raw is None:
        results.message = "Those words are too common to search for. Add a more specific word."
        return results
    if raw.total and not raw.hits and page > 1:
        page = min(MAX_PAGES, max(1, math.ceil(raw.total / per_page)))
        results.page = page
        raw = _search(parsed.node, person_tokens, filters, sort, page, per_page) or raw
    results.hits, results.hidden = _shown(user, raw.hits)
    if results.hidden:
        logger.warning(
            "Search: %d hit(s) failed the permission re-check for user %s and were not shown; "
            "the index is behind the database (run search_verify).",
            results.hidden,
            user.pk,
        )
    results.total = raw.total
    _facets(results, raw)
    return results


def _search(
    node: syntax.Node, person_tokens: list[str], filters: Filters, sort: str, page: int, per_page: int
) -> RawResults | None:
    offset = (page - 1) * per_page
    return get_backend().search(node, tokens=person_tokens, filters=filters, sort=sort, offset=offset, limit=per_page)


def _shown(user: User, raw_hits: list[RawHit]) -> tuple[list[Hit], int]:
    """Load the page's objects (one query per type) and keep those the policy allows."""
    wanted: dict[str, list[int]] = {}
    for raw in raw_hits:
        wanted.setdefault(raw.type, []).append(raw.pk)
    loaded: dict[str, dict[int, Any]] = {}
    for type_name, pks in wanted.items():
        entry = registry.get(type_name)
        loaded[type_name] = {obj.pk: obj for obj in entry.queryset().filter(pk__in=pks)} if entry else {}
        if entry is not None and entry.prepare is not None and loaded[type_name]:
            entry.prepare(user, list(loaded[type_name].values()))
    hits: list[Hit] = []
    hidden = 0
    for raw in raw_hits:
        entry = registry.get(raw.type)
        obj = loaded.get(raw.type, {}).get(raw.pk)
        if entry is None or obj is None or not entry.may_view(user, obj):
            hidden += 1
            continue
        shown = entry.show(obj)
        hits.append(
            Hit(
                type=entry.name,
                type_label=entry.singular,
                key=raw.key,
                title=raw.title_html,
                snippet=raw.snippet_html,
                url=shown.url,
                date=shown.date,
                community=shown.community,
                agency=shown.agency,
                person=shown.person,
                obj=obj,
            )
        )
    return hits, hidden


def _facets(results: Results, raw: RawResults) -> None:
    labels = {entry.name: entry.label for entry in registry.types()}
    results.by_type = sorted(
        (Facet(name, labels.get(name, name), count) for name, count in raw.by_type.items() if count),
        key=lambda f: (-f.count, f.label),
    )
    names = (
        dict(Community.objects.filter(pk__in=list(raw.by_community)).values_list("pk", "name"))
        if raw.by_community
        else {}
    )
    results.by_community = sorted(
        (Facet(pk, names[pk], count) for pk, count in raw.by_community.items() if count and pk in names),
        key=lambda f: (-f.count, f.label),
    )
    agencies = (
        dict(Agency.objects.filter(pk__in=list(raw.by_agency)).values_list("pk", "short_name")) if raw.by_agency else {}
    )
    results.by_agency = sorted(
        (Facet(pk, agencies[pk], count) for pk, count in raw.by_agency.items() if count and pk in agencies),
        key=lambda f: (-f.count, f.label),
    )
