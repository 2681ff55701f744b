"""Tables of the PostgreSQL search backend. They exist on PostgreSQL only
(``required_db_vendor``): on SQLite the migration creates nothing and the whoosh backend
keeps its index in files."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models


class SearchEntry(models.Model):
    """One indexed item: its text, the stored ``tsvector`` over it, facets and access tokens.

    Written only by ``search.indexer`` (through the backend), after the change it mirrors
    has committed. ``key`` is ``<type>:<pk>``.
    """

    key = models.CharField(max_length=80, unique=True)
    type = models.CharField(max_length=40)
    object_id = models.BigIntegerField()
    title = models.TextField()
    body = models.TextField(blank=True)
    community_id = models.BigIntegerField(null=True)
    agency_id = models.BigIntegerField(null=True)
    person_id = models.BigIntegerField(null=True)
    date = models.DateTimeField()
    tokens = ArrayField(models.CharField(max_length=80), default=list)
    vector = SearchVectorField(null=True)
    digest = models.CharField(max_length=32)

    class Meta:
        required_db_vendor = "postgresql"
        verbose_name_plural = "search entries"
        indexes = [
            GinIndex(fields=["vector"], name="search_entry_vector"),
            GinIndex(fields=["tokens"], name="search_entry_tokens"),
            models.Index(fields=["-date"], name="search_entry_date"),
        ]

    def __str__(self) -> str:
        return self.key


class SearchWord(models.Model):
    """A word seen in indexed text, for typo tolerance: a misspelt search word is matched
    to its nearest words here (pg_trgm similarity), which then join the query. Never
    shown to anyone; the access tokens still decide every result."""

    word = models.CharField(max_length=40, unique=True)

    class Meta:
        required_db_vendor = "postgresql"

    def __str__(self) -> str:
        return self.word


class PendingIndex(models.Model):
    """A new item (message, thread, document) waiting to be indexed.

    Written in the same transaction as the item, so an addition is never lost: if the
    process that made it stops before indexing it, whoever drains the queue next (any
    process's background writer, or ``manage.py search_worker``) writes it. Exists on
    every database. ``key`` is ``<type>:<pk>``; one item may be queued more than once.
    """

    key = models.CharField(max_length=80)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "pending index entries"

    def __str__(self) -> str:
        return self.key
