"""Keeping the index in step with the database, after each transaction commits.

Actions call, inside their transaction:

``index_on_commit(obj)``
    ``obj`` was created or changed (or deleted softly): re-read it after commit and
    write its document, or remove it if it no longer belongs in the index. Types with
    ``dependents`` re-index those too (a thread's messages carry its title).
``remove_on_commit(obj)``
    ``obj`` is being deleted outright: remove its document after commit.
``reindex_community_on_commit(community)``
    who may read the community changed (membership, role, participants, visibility):
    recompute the documents of everything in it.

Calls made in one transaction are collected into one batch and written once, after
commit; a rolled-back transaction writes nothing. Documents are rebuilt from the
committed rows, under the backend's writer slot, and only those whose digest changed are
written. A failed index write is logged and never reaches the person who acted:
``search_verify --fix`` repairs it.

``index_on_commit(obj, deferred=True)`` marks an addition (a new message, thread or
document). It is queued in the database (``PendingIndex``), in the same transaction as
the item, and if everything in the batch is an addition, the request does not write the
index: the queue is drained a moment later, together with the other additions of that
moment, by the process's background writer (``search.background``) or, with
``SEARCH_INDEX_WRITER = "worker"``, by ``manage.py search_worker`` in a process of its own.
Because the queue is a table, an addition whose process dies before indexing it is
written by the next drain. Everything else is written before the request returns, so an
item that someone may no longer see leaves their results at once.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from django.db import models, transaction
from django.utils import timezone

from search import background, registry
from search.backends import SearchBackend, get_backend
from search.documents import Document, make_key
from search.models import PendingIndex
from search.registry import IndexedType

logger = logging.getLogger(__name__)

CHUNK = 500


@dataclass
class _Batch:
    """What one transaction asked to re-index. Called (once) after it commits."""

    objects: dict[str, set[int]] = field(default_factory=dict)
    removals: set[str] = field(default_factory=set)
    communities: set[int] = field(default_factory=set)
    # Only additions so far: the queue's drain may take it.
    deferred: bool = True
    # The PendingIndex rows this transaction added.
    queued: list[int] = field(default_factory=list)

    def __call__(self) -> None:
        if getattr(_local, "batch", None) is self:
            _local.batch = None
        if self.deferred and self.queued:
            if background.writer_mode() == "thread":
                background.writer.submit(drain_all)
            return  # else search_worker drains the queue
        try:
            self.flush()
        except Exception:
            logger.exception(background.FAILED)
            return  # what was queued stays queued: the next drain retries it
        if self.queued:  # written here already
            PendingIndex.objects.filter(pk__in=self.queued).delete()

    def flush(self) -> None:
        backend = get_backend()
        # Read the rows while holding the writer slot: a batch written after another
        # read the database after it too, so the index ends with the newest state.
        with backend.exclusive():
            pending = _Pending(backend)
            for community_id in sorted(self.communities):
                _add_community(pending, community_id)
            for type_name, pks in self.objects.items():
                entry = registry.get(type_name)
                if entry is not None:
                    _add_pks(pending, entry, sorted(pks), with_dependents=True)
            pending.removals.extend(sorted(self.removals))
            pending.write()


_local = threading.local()


def _queue(add: Callable[[_Batch], None], *, deferred: bool = False) -> None:
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        batch = _Batch(deferred=deferred)
        add(batch)
        batch()
        return
    batch = getattr(_local, "batch", None)
    # A batch whose callback a rollback discarded is no longer registered: start anew.
    if batch is None or not any(item[1] is batch for item in connection.run_on_commit):
        batch = _local.batch = _Batch()
        transaction.on_commit(batch)
    batch.deferred = batch.deferred and deferred
    add(batch)


def _entry_of(obj: models.Model) -> IndexedType | None:
    entry = registry.for_model(type(obj))
    if entry is None:
        logger.debug("%s is not a searchable type; nothing to index.", type(obj).__name__)
    return entry


def index_on_commit(obj: models.Model, *, deferred: bool = False) -> None:
    """Re-index ``obj`` once the current transaction commits.

    ``deferred``: ``obj`` is new, so nobody loses sight of anything if it reaches the
    index a moment later; it is queued and drained later (see the module's doc)."""
    entry = _entry_of(obj)
    if entry is None:
        return
    queued = deferred and background.queues_additions()
    key = make_key(entry.name, obj.pk)

    def add(batch: _Batch) -> None:
        batch.objects.setdefault(entry.name, set()).add(obj.pk)
        if queued:
            batch.queued.append(PendingIndex.objects.create(key=key).pk)

    _queue(add, deferred=queued)


def remove_on_commit(obj: models.Model) -> None:
    """Remove ``obj`` from the index once the current transaction commits."""
    entry = _entry_of(obj)
    if entry is not None:
        key = make_key(entry.name, obj.pk)
        _queue(lambda batch: batch.removals.add(key))


def reindex_community_on_commit(community: models.Model) -> None:
    """Recompute every document in the community once the current transaction commits."""
    community_id = community.pk
    _queue(lambda batch: batch.communities.add(community_id))


# --- Writing --------------------------------------------------------------------------------


def write_changed(documents: list[Document], removals: list[str], *, backend: SearchBackend | None = None) -> int:
    """Write the documents whose digest differs from the index and remove those of
    ``removals`` that are there. Returns how many items changed."""
    backend = backend or get_backend()
    current = backend.digests([d.key for d in documents] + list(removals))
    changed = [d for d in documents if current.get(d.key) != d.digest]
    gone = [key for key in removals if key in current]
    backend.write(changed, gone)
    return len(changed) + len(gone)


def write_documents(documents: Iterable[Document], removals: Iterable[str] = ()) -> None:
    """Write as given, without comparing digests (rebuilds and repairs)."""
    get_backend().write(list(documents), list(removals))


def _chunks(values: list, size: int = CHUNK) -> Iterator[list]:  # type: ignore[type-arg]
    for start in range(0, len(values), size):
        yield values[start : start + size]


def documents_of(entry: IndexedType, pks: list[int]) -> tuple[list[Document], list[str]]:
    """Documents for the objects with these keys, and the keys that must leave the index."""
    found = {obj.pk: obj for obj in entry.queryset().filter(pk__in=pks)}
    documents: list[Document] = []
    removals: list[str] = []
    for pk in pks:
        obj = found.get(pk)
        document = entry.document(obj) if obj is not None else None
        if document is None:
            removals.append(make_key(entry.name, pk))
        else:
            documents.append(document)
    return documents, removals


class _Pending:
    """Documents waiting to be written: one write per batch, more only for large ones."""

    def __init__(self, backend: SearchBackend) -> None:
        self.backend = backend
        self.documents: list[Document] = []
        self.removals: list[str] = []

    def add(self, documents: list[Document], removals: list[str]) -> None:
        self.documents.extend(documents)
        self.removals.extend(removals)
        if len(self.documents) + len(self.removals) >= CHUNK:
            self.write()

    def write(self) -> None:
        if self.documents or self.removals:
            # An item can arrive twice (a message posted in a thread renamed in the same
            # transaction): keep one document per key.
            documents = list({document.key: document for document in self.documents}.values())
            kept = {document.key for document in documents}
            removals = sorted({key for key in self.removals if key not in kept})
            write_changed(documents, removals, backend=self.backend)
        self.documents, self.removals = [], []


def _add_pks(pending: _Pending, entry: IndexedType, pks: list[int], *, with_dependents: bool) -> None:
    for chunk in _chunks(pks):
        pending.add(*documents_of(entry, chunk))
    if with_dependents and entry.dependents is not None:
        for obj in entry.model._default_manager.filter(pk__in=pks):
            for queryset in entry.dependents(obj):
                _add_queryset(pending, queryset)


def _add_queryset(pending: _Pending, queryset: models.QuerySet) -> None:
    entry = registry.for_model(queryset.model)
    if entry is not None:
        pks = list(queryset.order_by("pk").values_list("pk", flat=True))
        _add_pks(pending, entry, pks, with_dependents=False)


def _add_community(pending: _Pending, community_id: int) -> None:
    for entry in registry.types():
        if entry.in_community is not None:
            _add_queryset(pending, entry.in_community(community_id))


def drain(limit: int = CHUNK) -> int:
    """Index the oldest ``limit`` queued additions and take them off the queue. Returns
    how many queue rows were taken (0: the queue is empty).

    The rows are read and deleted while holding the writer slot, so two processes draining
    at once take turns and never write one item twice; a failed write leaves them queued."""
    if not PendingIndex.objects.exists():  # the usual answer, without taking the writer slot
        return 0
    backend = get_backend()
    with backend.exclusive():
        rows = list(PendingIndex.objects.order_by("pk").values_list("pk", "key")[:limit])
        if not rows:
            return 0
        batch = _Batch(deferred=False)
        for _, key in rows:
            type_name, _, pk = key.partition(":")
            batch.objects.setdefault(type_name, set()).add(int(pk))
        batch.flush()
        PendingIndex.objects.filter(pk__in=[pk for pk, _ in rows]).delete()
    return len(rows)


def drain_all() -> int:
    """Drain the queue until it is empty. Returns how many rows were taken."""
    total = 0
    while taken := drain():
        total += taken
    return total


def queue_length() -> tuple[int, float | None]:
    """How many additions wait in the queue, and the age in seconds of the oldest."""
    count = PendingIndex.objects.count()
    oldest = PendingIndex.objects.order_by("pk").values_list("created", flat=True).first()
    return count, (None if oldest is None else (timezone.now() - oldest).total_seconds())


def reindex_community(community_id: int) -> None:
    """Recompute the documents of everything in one community, now."""
    _Batch(communities={community_id}, deferred=False).flush()


# --- Rebuilding and verifying ---------------------------------------------------------------


def expected_documents(entry: IndexedType, chunk_size: int = 1000) -> Iterator[Document]:
    """Every document of one type the database says belongs in the index."""
    for obj in entry.queryset().order_by("pk").iterator(chunk_size=chunk_size):
        document = entry.document(obj)
        if document is not None:
            yield document


def rebuild(*, progress: Callable[[IndexedType, int, int], None] | None = None, batch_size: int = 1000) -> int:
    """Empty the index and write every document again. Returns how many were written."""
    backend = get_backend()
    backend.clear()
    written = 0
    for entry in registry.types():
        total = entry.queryset().count()
        done = 0
        pending: list[Document] = []
        documents = expected_documents(entry, chunk_size=batch_size)
        while True:
            pending = list(itertools.islice(documents, batch_size))
            if pending:
                backend.write(pending, [], new=True)
                done += len(pending)
            if progress and (pending or not done):
                progress(entry, done, total)
            if len(pending) < batch_size:
                break
        written += done
    backend.optimize()
    return written


@dataclass
class Report:
    """How the index differs from the database."""

    missing: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    checked: int = 0

    @property
    def clean(self) -> bool:
        return not (self.missing or self.stale or self.extra)


def verify() -> Report:
    """Compare every document the database implies with what the index holds."""
    backend = get_backend()
    indexed = backend.all_digests()
    report = Report()
    seen: set[str] = set()
    for entry in registry.types():
        for document in expected_documents(entry):
            report.checked += 1
            seen.add(document.key)
            digest = indexed.get(document.key)
            if digest is None:
                report.missing.append(document.key)
            elif digest != document.digest:
                report.stale.append(document.key)
    report.extra = sorted(set(indexed) - seen)
    return report


def repair(report: Report) -> None:
    """Write the missing and stale items of ``report`` and remove the extra ones."""
    backend = get_backend()
    by_type: dict[str, list[int]] = {}
    for key in report.missing + report.stale:
        type_name, _, pk = key.partition(":")
        by_type.setdefault(type_name, []).append(int(pk))
    for type_name, pks in by_type.items():
        entry = registry.get(type_name)
        if entry is None:
            continue
        for chunk in _chunks(sorted(pks)):
            documents, removals = documents_of(entry, chunk)
            backend.write(documents, removals)
    for chunk in _chunks(report.extra):
        backend.write([], chunk)
