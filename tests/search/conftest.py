"""A community world with content for search, indexed through the real actions.

Lakeland OEM owns a listed community where Harbor EM takes part, Easton observes and Red
Cedar takes part (until a test removes it); Pine is not a member. Besides, Pine owns an
unlisted community of its own. Content, each with a word found nowhere else:

- an open thread by Lakeland ("Gauge readings", "riverstage"), with a reply by Harbor
- a thread restricted to Lakeland ("Levee weak points", "zanzibar")
- a thread in Pine's unlisted community ("quokka")
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass

import pytest
from django.db import connection

from communities import actions as community_actions
from communities.models import Community, Visibility
from messaging import actions
from messaging.models import Message, Thread
from search import api
from search.backends import Filters
from tests.communities.conftest import CommunityWorld, build_world
from tests.factories import PersonFactory
from workspace.models import AgencyRole, User

BACKENDS = ("whoosh", "postgres")


def fresh(user: User) -> User:
    """The person as the database has them now (no cached permissions)."""
    return User.objects.select_related("membership__agency").get(pk=user.pk)


@pytest.fixture(params=BACKENDS)
def backend(request, settings, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """Run the test once per backend; PostgreSQL only when the database is PostgreSQL."""
    if request.param == "postgres" and connection.vendor != "postgresql":
        pytest.skip("the PostgreSQL backend needs DATABASE_URL to point at PostgreSQL")
    settings.SEARCH_BACKEND = request.param
    settings.SEARCH_INDEX_DIR = tmp_path / "index"
    return request.param


@pytest.fixture
def committed(django_capture_on_commit_callbacks) -> Callable[[], AbstractContextManager]:  # type: ignore[no-untyped-def]
    """``with committed(): ...`` runs the block's on-commit work (index writes) at its end."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@dataclass
class SearchWorld:
    cw: CommunityWorld
    community: Community
    open_thread: Thread
    first_message: Message
    reply: Message
    restricted_thread: Thread
    hidden_community: Community
    hidden_thread: Thread
    pine_member: User

    def search(self, user: User, text: str, **options) -> api.Results:  # type: ignore[no-untyped-def]
        filters = options.pop("filters", None) or Filters()
        return api.query(fresh(user), text, filters=filters, **options)


def build_search_world() -> SearchWorld:
    cw = build_world()
    open_thread = actions.create_thread(
        actor=cw.owner_staff,
        community=cw.community,
        title="Gauge readings",
        body="The riverstage at Mill Creek is 14.2 ft and rising. Evacuation of the low streets starts at 6.",
    )
    first_message = open_thread.messages.get()
    reply = actions.post_message(
        actor=fresh(cw.participant_staff),
        thread=open_thread,
        body="Harbor sandbag crews are on the way to Mill Creek.",
        client_id=uuid.uuid4(),
    ).message
    restricted_thread = actions.create_thread(
        actor=fresh(cw.owner_staff),
        community=cw.community,
        title="Levee weak points",
        body="Section 4 of the zanzibar levee seeps; keep this between us until the survey.",
        restrict_to=[cw.owner],
    )
    pine_admin = cw.nonmember_admin
    hidden_community = community_actions.create_community(
        actor=pine_admin,
        name="Pine Internal Drills",
        purpose="Pine's own drill planning.",
        visibility=Visibility.UNLISTED,
    )
    hidden_thread = actions.create_thread(
        actor=fresh(pine_admin),
        community=hidden_community,
        title="Drill schedule",
        body="The quokka exercise runs on Tuesday.",
    )
    return SearchWorld(
        cw=cw,
        community=cw.community,
        open_thread=open_thread,
        first_message=first_message,
        reply=reply,
        restricted_thread=restricted_thread,
        hidden_community=hidden_community,
        hidden_thread=hidden_thread,
        pine_member=PersonFactory(agency=cw.nonmember, role=AgencyRole.STAFF, full_name="Pat Pine"),
    )


@pytest.fixture
def sw(backend, db, committed) -> Iterator[SearchWorld]:  # type: ignore[no-untyped-def]
    with committed():
        world = build_search_world()
    yield world
