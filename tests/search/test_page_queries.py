"""What one page of message results costs in queries: the same whether its hits come from
one community or from many (the policy re-check of each hit reads the person's grants on
all their communities at once)."""

from __future__ import annotations

import uuid

from django.db import connection
from django.test.utils import CaptureQueriesContext

from communities import actions as community_actions
from messaging import actions
from search import api
from tests.search.conftest import fresh


def _spread(sw, committed, communities: int) -> None:  # type: ignore[no-untyped-def]
    """Messages with "kestrel" in ``communities`` new communities of Lakeland OEM."""
    with committed():
        for n in range(communities):
            community = community_actions.create_community(
                actor=fresh(sw.cw.owner_admin), name=f"Kestrel watch {n} {uuid.uuid4().hex[:6]}", purpose="Birds."
            )
            actions.create_thread(
                actor=fresh(sw.cw.owner_staff), community=community, title=f"Sightings {n}", body="A kestrel."
            )


def _queries(sw) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    person = fresh(sw.cw.owner_staff)
    with CaptureQueriesContext(connection) as ctx:
        results = api.query(person, "kestrel", filters=None)
    return len(ctx.captured_queries), len(results.hits)


def test_a_page_from_many_communities_costs_what_one_from_two_costs(sw, committed) -> None:  # type: ignore[no-untyped-def]
    _spread(sw, committed, 2)
    _queries(sw)  # once first: what a process looks up once (PostgreSQL: is pg_trgm there) is not per page
    few, shown = _queries(sw)
    assert shown == 4  # two threads and their first messages
    _spread(sw, committed, 8)
    many, shown = _queries(sw)
    assert shown == 20
    assert many == few
