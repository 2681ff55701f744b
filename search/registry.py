"""Which models are searchable, and how each becomes a document, is opened and shown.

Each app declares its types in a ``search_index.py`` module, which ``search.apps``
imports at start-up (the way the admin finds ``admin.py``)::

    from search.registry import Shown, register

    register(
        Announcement,
        to_document=announcement_document,      # Document or None (None: keep it out)
        tokens_for=announcement_tokens,         # who may see it, see search.tokens
        label="Announcements",
        queryset=lambda: Announcement.objects.filter(retracted_at=None).select_related(...),
        may_view=lambda user, a: policy.can(user, "view", a),
        show=lambda a: Shown(url=..., community=a.community, agency=a.agency, person=a.author),
        in_community=lambda community_id: Announcement.objects.filter(community_id=community_id),
        prepare=lambda user, announcements: ...,  # optional: warm what may_view reads
    )

The search package never imports an app's models: it learns them here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.db import models

from search.documents import MAX_BODY_CHARS, Document, clean_text


@dataclass(frozen=True)
class Shown:
    """What a result shows beside its title and snippet, read from the loaded object."""

    url: str
    date: datetime | None = None
    community: Any = None
    agency: Any = None
    person: Any = None


@dataclass(frozen=True)
class IndexedType:
    """One searchable model.

    ``queryset`` returns every object that belongs in the index, with the joins
    ``to_document``, ``tokens_for``, ``may_view`` and ``show`` need (the indexer filters
    it by primary key; results are loaded through it). ``in_community`` returns what a
    community's access change must re-index; ``dependents`` what must re-index with an
    object (a thread's messages carry its title). ``prepare(user, objects)``, if set, is
    called once per type with a page of loaded results before ``may_view`` checks each, to
    load in bulk what those checks read (the person's grants), so a page of results costs
    the same number of queries however many it holds.
    """

    name: str
    label: str
    model: type[models.Model]
    to_document: Callable[[Any], Document | None]
    tokens_for: Callable[[Any], Iterable[str]]
    queryset: Callable[[], models.QuerySet]
    may_view: Callable[[Any, Any], bool]
    show: Callable[[Any], Shown]
    in_community: Callable[[Any], models.QuerySet] | None = None
    dependents: Callable[[Any], Iterable[models.QuerySet]] | None = None
    prepare: Callable[[Any, list[Any]], None] | None = None

    @property
    def singular(self) -> str:
        """The type's name for one result ("Message")."""
        return str(self.model._meta.verbose_name).capitalize()

    def document(self, obj: models.Model) -> Document | None:
        """The complete document for ``obj``, or None when it stays out of the index."""
        found = self.to_document(obj)
        if found is None:
            return None
        return replace(
            found,
            type=self.name,
            pk=obj.pk,
            title=clean_text(found.title, 500),
            body=clean_text(found.body, MAX_BODY_CHARS),
            tokens=tuple(sorted(set(self.tokens_for(obj)))),
        )


_TYPES: dict[str, IndexedType] = {}


def register(
    model: type[models.Model],
    to_document: Callable[[Any], Document | None],
    tokens_for: Callable[[Any], Iterable[str]],
    *,
    may_view: Callable[[Any, Any], bool],
    show: Callable[[Any], Shown],
    label: str = "",
    name: str = "",
    queryset: Callable[[], models.QuerySet] | None = None,
    in_community: Callable[[Any], models.QuerySet] | None = None,
    dependents: Callable[[Any], Iterable[models.QuerySet]] | None = None,
    prepare: Callable[[Any, list[Any]], None] | None = None,
) -> IndexedType:
    """Make ``model`` searchable. ``name`` (default: the model name) is the result type."""
    name = name or model._meta.model_name
    if ":" in name:
        raise ValueError("Type names cannot contain ':'.")
    entry = IndexedType(
        name=name,
        label=label or str(model._meta.verbose_name_plural).capitalize(),
        model=model,
        to_document=to_document,
        tokens_for=tokens_for,
        queryset=queryset or (lambda: model._default_manager.all()),
        may_view=may_view,
        show=show,
        in_community=in_community,
        dependents=dependents,
        prepare=prepare,
    )
    _TYPES[name] = entry
    return entry


def types() -> list[IndexedType]:
    return list(_TYPES.values())


def get(name: str) -> IndexedType | None:
    return _TYPES.get(name)


def for_model(model: type[models.Model]) -> IndexedType | None:
    concrete = model._meta.concrete_model
    for entry in _TYPES.values():
        if entry.model._meta.concrete_model is concrete:
            return entry
    return None
