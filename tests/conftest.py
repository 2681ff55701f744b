from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.factories import AgencyFactory, PersonFactory
from workspace import actions
from workspace.models import Agency, AgencyRole, User


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:  # type: ignore[no-untyped-def]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _own_search_index(settings, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    """Actions index on commit: each test gets its own index directory, never var/index."""
    settings.SEARCH_INDEX_DIR = tmp_path_factory.mktemp("search-index")
    # New items are indexed as their transaction commits, not by the background writer
    # (tests/search/test_background.py covers that one).
    settings.SEARCH_INDEX_DELAY = 0
    settings.SEARCH_INDEX_WRITER = "thread"


@pytest.fixture(autouse=True)
def _own_channel_layer():  # type: ignore[no-untyped-def]
    """Each test gets a new channel-layer instance, as each gets a new event loop.

    A server has one loop for its life; tests have one each, and a layer outlives them. The
    Redis layer keeps per-channel locks: a test whose loop closed while its hub was receiving
    (a failed test that never left its streams) leaves such a lock held and bound to that dead
    loop, and every later receive on the layer then fails ("bound to a different event loop"),
    so one failure became many."""
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@dataclass
class World:
    """Two agencies, each with an admin and a staff member, plus a deactivated person."""

    own: Agency
    other: Agency
    own_admin: User
    own_staff: User
    other_admin: User
    other_staff: User
    deactivated: User

    def person(self, role: str) -> User | None:
        return None if role == "anonymous" else getattr(self, role)


@pytest.fixture
def world(db) -> World:  # type: ignore[no-untyped-def]
    own = AgencyFactory(name="Harbor County Emergency Management", short_name="Harbor EM", slug="harbor-em")
    other = AgencyFactory(name="Pine County Emergency Management", short_name="Pine EM", slug="pine-em")
    own_admin = PersonFactory(agency=own, role=AgencyRole.ADMIN, full_name="Jordan Reyes")
    deactivated = PersonFactory(agency=own, full_name="Sam Keller")
    actions.deactivate_staff(actor=own_admin, member=deactivated)
    return World(
        own=own,
        other=other,
        own_admin=own_admin,
        own_staff=PersonFactory(agency=own, full_name="Casey Morgan"),
        other_admin=PersonFactory(agency=other, role=AgencyRole.ADMIN, full_name="Rita Alvarez"),
        other_staff=PersonFactory(agency=other, full_name="Owen Hale"),
        deactivated=deactivated,
    )
