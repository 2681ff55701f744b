"""List pages cost the same number of queries for a few rows or many."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import AgencyFactory, PersonFactory
from workspace import actions


def queries_for(client, url: str) -> int:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def grow_staff(world, n: int) -> None:  # type: ignore[no-untyped-def]
    for _ in range(n):
        person = PersonFactory(agency=world.own)
        actions.invite_staff(actor=world.own_admin, agency=world.own, email=f"invitee-{person.pk}@harbor.example")


# Ceilings include the header's unread-notification COUNT and the urgent-alert banner's
# query (one each per page).
@pytest.mark.parametrize(
    ("name", "grow", "ceiling"),
    [
        ("staff_manage", grow_staff, 12),
        ("agency_detail", grow_staff, 11),
        ("audit_log", grow_staff, 12),
        ("agency_list", lambda world, n: [AgencyFactory() for _ in range(n)], 8),
    ],
)
def test_list_page_query_count_does_not_grow(world, client, name: str, grow, ceiling: int) -> None:  # type: ignore[no-untyped-def]
    client.force_login(world.own_admin)
    url = reverse(name, args=[world.own.slug]) if name != "agency_list" else reverse(name)
    grow(world, 3)
    small = queries_for(client, url)
    grow(world, 30)
    large = queries_for(client, url)
    assert small == large, f"{name}: {small} queries with few rows, {large} with many"
    assert large <= ceiling


def test_dashboard_query_count(world, client, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    client.force_login(world.own_admin)
    with django_assert_max_num_queries(9):  # 8, and the alert banner's query
        assert client.get(reverse("dashboard")).status_code == 200
