"""The thread pages: every route against every kind of person, restricted threads, bad
input, double submits, and query counts at two sizes.

The world is the communities' one (``tests/communities/conftest.py``): Lakeland OEM owns
the community, Harbor EM takes part (one of its staff moderates), Easton observes, Red
Cedar is removed mid-session, Pine is not a member. Besides, a Harbor EM person is
deactivated mid-session. In it: an open thread started by Lakeland OEM with a message by
Harbor EM, and a thread restricted to Lakeland OEM.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from communities import actions as community_actions
from communities.models import Visibility
from messaging import actions, events, thread_selectors
from messaging.models import Message, Reaction, StreamEvent, Thread
from tests.communities.conftest import CommunityWorld, build_world
from tests.factories import PersonFactory
from workspace import actions as workspace_actions
from workspace.models import User

ROLES = (
    "anonymous",
    "owner_staff",
    "owner_admin",
    "participant_staff",
    "participant_admin",
    "observer_staff",
    "moderator",
    "nonmember_staff",
    "nonmember_admin",
    "removed",
    "deactivated",
)
READERS = ("owner_staff", "owner_admin", "participant_staff", "participant_admin", "observer_staff", "moderator")
POSTERS = tuple(role for role in READERS if role != "observer_staff")
NON_MEMBERS = ("nonmember_staff", "nonmember_admin", "removed")
LOGIN = 302
_serial = count()


@dataclass
class ThreadWorld:
    cw: CommunityWorld
    thread: Thread  # open, started by Lakeland OEM staff
    message: Message  # in ``thread``, by Harbor EM staff (participant_staff)
    restricted: Thread  # restricted to Lakeland OEM
    deactivated: User  # Harbor EM staff, deactivated after signing in

    def person(self, role: str) -> User:
        return self.deactivated if role == "deactivated" else self.cw.person(role)  # type: ignore[return-value]


def fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


def post(world_thread: Thread, person: User, body: str = "On it.", **extra: Any) -> Message:
    return actions.post_message(
        actor=fresh(person), thread=world_thread, body=body, client_id=uuid.uuid4(), **extra
    ).message


def build_thread_world(visibility: str = Visibility.LISTED) -> ThreadWorld:
    cw = build_world(visibility)
    thread = actions.create_thread(
        actor=fresh(cw.owner_staff), community=cw.community, title="Sandbag staging", body="Where do we stage?"
    )
    message = post(thread, cw.participant_staff, "Harbor can stage at the fairgrounds.")
    restricted = actions.create_thread(
        actor=fresh(cw.owner_staff),
        community=cw.community,
        title="Levee breach drill (OEM only)",
        body="Internal drill notes.",
        restrict_to=[cw.owner],
    )
    deactivated = PersonFactory(agency=cw.participant, full_name="Nell Ashby")
    return ThreadWorld(cw=cw, thread=thread, message=message, restricted=restricted, deactivated=deactivated)


@pytest.fixture
def tw(db) -> ThreadWorld:  # type: ignore[no-untyped-def]
    return build_thread_world()


def client_as(role: str, world: ThreadWorld) -> Client:
    client = Client()
    if role == "anonymous":
        return client
    client.force_login(world.person(role))
    cw = world.cw
    if role == "removed":
        community_actions.remove_agency(actor=cw.owner_admin, community=cw.community, agency=cw.removed_agency)
    elif role == "deactivated":
        workspace_actions.deactivate_staff(actor=cw.participant_admin, member=world.deactivated)
    return client


def snapshot() -> tuple[Any, ...]:
    """Everything a thread route could change."""
    return (
        sorted(Thread.objects.values_list("pk", "title", "restricted")),
        sorted(Message.objects.values_list("pk", "body_source", "deleted_at")),
        sorted(Reaction.objects.values_list("message_id", "user_id", "emoji")),
        StreamEvent.objects.filter(stream__startswith="thread:").count(),
    )


# --- The matrix -----------------------------------------------------------------------------


def only(ok: int, *roles: str) -> dict[str, int]:
    """``ok`` for ``roles``, 403 for the other readers, 404 for non-members, sign-in for
    anonymous and deactivated people."""
    return (
        dict.fromkeys(READERS, 403)
        | dict.fromkeys(roles, ok)
        | dict.fromkeys(NON_MEMBERS, 404)
        | {"anonymous": LOGIN, "deactivated": LOGIN}
    )


@dataclass(frozen=True)
class Route:
    name: str
    url: Callable[[ThreadWorld], str]
    expect: dict[str, int]
    method: str = "get"
    data: Callable[[ThreadWorld], dict[str, Any]] = field(default=lambda world: {})

    def __post_init__(self) -> None:
        assert set(self.expect) == set(ROLES), self.name

    def __str__(self) -> str:
        return self.name


def _community_url(name: str) -> Callable[[ThreadWorld], str]:
    return lambda w: reverse(name, args=[w.cw.community.slug])


def _thread_url(name: str) -> Callable[[ThreadWorld], str]:
    return lambda w: reverse(name, args=[w.thread.pk])


def _message_url(name: str) -> Callable[[ThreadWorld], str]:
    return lambda w: reverse(name, args=[w.thread.pk, w.message.pk])


AUTHOR = ("participant_staff",)
DELETERS = ("participant_staff", "owner_admin", "moderator")  # the author, the owner's admins, the moderator
MODERATORS = ("owner_admin", "moderator")

ROUTES = [
    Route("thread list", _community_url("thread_list"), only(200, *READERS)),
    Route("new thread form", _community_url("thread_create"), only(200, *POSTERS)),
    Route(
        "new thread",
        _community_url("thread_create"),
        only(302, *POSTERS),
        method="post",
        data=lambda w: {"title": "Pump status", "body": "Two pumps down.", "client_id": str(uuid.uuid4())},
    ),
    Route("thread page", _thread_url("thread_detail"), only(200, *READERS)),
    Route(
        "post",
        _thread_url("thread_post"),
        only(302, *POSTERS),
        method="post",
        data=lambda w: {"body": "We have 400 bags.", "client_id": str(uuid.uuid4())},
    ),
    Route("edit form", _message_url("message_edit"), only(200, *AUTHOR)),
    Route("edit", _message_url("message_edit"), only(302, *AUTHOR), method="post", data=lambda w: {"body": "Fixed."}),
    Route("delete confirmation", _message_url("message_delete"), only(200, *DELETERS)),
    Route("delete", _message_url("message_delete"), only(302, *DELETERS), method="post"),
    Route("react", _message_url("message_react"), only(302, *POSTERS), method="post", data=lambda w: {"add": "👍"}),
    Route("thread settings form", _thread_url("thread_settings"), only(200, *MODERATORS)),
    Route(
        "thread settings",
        _thread_url("thread_settings"),
        only(302, *MODERATORS),
        method="post",
        data=lambda w: {"title": "Sandbag staging (Harbor fairgrounds)", "pinned": "on"},
    ),
    Route(
        "thread audience",
        _thread_url("thread_audience"),
        only(302, *MODERATORS),
        method="post",
        data=lambda w: {"audience": "some", "restrict_to": [w.cw.owner.pk], "confirm": "on"},
    ),
]


def check_route(route: Route, role: str, world: ThreadWorld) -> None:
    client = client_as(role, world)
    before = snapshot()
    response = getattr(client, route.method)(route.url(world), route.data(world))
    expected = route.expect[role]
    assert response.status_code == expected, (
        f"{route.method.upper()} {route.name} as {role}: got {response.status_code}, expected {expected}"
    )
    if expected == LOGIN and role in ("anonymous", "deactivated"):
        assert "/accounts/login/" in response["Location"]
    if expected in (403, 404) or role in ("anonymous", "deactivated"):
        assert snapshot() == before, f"{route.name} as {role} was refused but changed something"
    elif route.method == "post":
        assert snapshot() != before, f"{route.name} as {role} succeeded but changed nothing"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_route_permissions(route: Route, role: str, tw: ThreadWorld) -> None:
    check_route(route, role, tw)


@pytest.mark.parametrize("role", [*NON_MEMBERS, "participant_staff", "observer_staff"])
@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_route_permissions_in_an_unlisted_community(route: Route, role: str, db) -> None:  # type: ignore[no-untyped-def]
    check_route(route, role, build_thread_world(Visibility.UNLISTED))


def _without_tokens(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_a_hidden_thread_is_indistinguishable_from_a_missing_one(route: Route, tw: ThreadWorld) -> None:
    """A non-member gets the same 404 page for the community's thread as for a thread (or
    community) that does not exist."""
    url = route.url(tw)
    missing = url.replace(f"/{tw.thread.pk}/", "/999999/").replace(f"/c/{tw.cw.community.slug}/", "/c/no-such/")
    outsider = client_as("nonmember_admin", tw)
    call = getattr(outsider, route.method)
    hidden, absent = call(url, route.data(tw)), call(missing, route.data(tw))
    assert hidden.status_code == absent.status_code == 404
    # The page names its own address (the alert banner's "next" field): the only difference.
    hidden_page = _without_tokens(hidden.content.decode()).replace(url, missing)
    assert hidden_page == _without_tokens(absent.content.decode())
    assert tw.thread.title not in hidden.content.decode()


# --- Restricted threads ---------------------------------------------------------------------


def test_restricted_thread_is_listed_only_to_the_allowed_agencies(tw: ThreadWorld) -> None:
    url = reverse("thread_list", args=[tw.cw.community.slug])
    for role, sees in (("owner_staff", True), ("participant_staff", False), ("observer_staff", False)):
        html = client_as(role, tw).get(url).content.decode()
        assert tw.thread.title in html
        assert (tw.restricted.title in html) is sees, role


RESTRICTED_ROUTES = [
    ("get", lambda w, m: reverse("thread_detail", args=[w.restricted.pk]), {}),
    ("post", lambda w, m: reverse("thread_post", args=[w.restricted.pk]), {"body": "x", "client_id": uuid.uuid4()}),
    ("get", lambda w, m: reverse("message_edit", args=[w.restricted.pk, m.pk]), {}),
    ("post", lambda w, m: reverse("message_delete", args=[w.restricted.pk, m.pk]), {}),
    ("post", lambda w, m: reverse("message_react", args=[w.restricted.pk, m.pk]), {"add": "👍"}),
]


@pytest.mark.parametrize(("method", "url", "data"), RESTRICTED_ROUTES)
@pytest.mark.parametrize("role", ["participant_staff", "participant_admin", "moderator", "observer_staff"])
def test_restricted_thread_is_404_to_a_member_agency_not_allowed(tw, role, method, url, data) -> None:  # type: ignore[no-untyped-def]
    first = tw.restricted.messages.get()
    client = client_as(role, tw)
    before = snapshot()
    assert getattr(client, method)(url(tw, first), data).status_code == 404
    assert snapshot() == before


def test_restricted_thread_opens_for_the_allowed_agency(tw: ThreadWorld) -> None:
    response = client_as("owner_staff", tw).get(reverse("thread_detail", args=[tw.restricted.pk]))
    assert response.status_code == 200
    assert "Only people of Lakeland Office of Emergency Management can see this thread." in response.content.decode()


def test_a_message_of_another_thread_is_404_under_this_one(tw: ThreadWorld) -> None:
    other = actions.create_thread(actor=fresh(tw.cw.owner_staff), community=tw.cw.community, title="B", body="b")
    url = reverse("message_edit", args=[other.pk, tw.message.pk])
    assert client_as("participant_staff", tw).get(url).status_code == 404


# --- Posting: bad input and double submits ---------------------------------------------------


def _post(client: Client, world: ThreadWorld, **data: Any):  # type: ignore[no-untyped-def]
    payload = {"body": "We have 400 bags.", "client_id": str(uuid.uuid4())} | data
    return client.post(reverse("thread_post", args=[world.thread.pk]), payload)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"body": ""}, "Write something first."),
        ({"body": "   \n  "}, "Write something first."),
        ({"body": "x" * (settings.MESSAGE_MAX_LENGTH + 1)}, "Messages are limited to 20,000 characters."),
        ({"reply_to": "999999"}, "The message replied to is not in this thread."),
        ({"client_id": "not-a-uuid"}, "This form expired."),
        ({"reply_to": "-3"}, "Ensure this value is greater than or equal to 1."),
    ],
    ids=["empty", "blank", "too-long", "unknown-reply", "bad-client-id", "negative-reply"],
)
def test_bad_input_is_refused_with_400_and_nothing_stored(tw: ThreadWorld, data: dict[str, str], error: str) -> None:
    client = client_as("participant_staff", tw)
    before = snapshot()
    response = _post(client, tw, **data)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert snapshot() == before


def test_a_reply_to_a_message_of_another_thread_is_refused(tw: ThreadWorld) -> None:
    elsewhere = tw.restricted.messages.get()
    client = client_as("owner_staff", tw)
    before = snapshot()
    response = _post(client, tw, reply_to=str(elsewhere.pk))
    assert response.status_code == 400 and snapshot() == before


def test_the_text_stays_in_the_form_after_an_error(tw: ThreadWorld) -> None:
    client = client_as("participant_staff", tw)
    response = _post(client, tw, body="Needs &lt;more&gt; bags", reply_to="999999")
    html = response.content.decode()
    assert response.status_code == 400
    assert "Needs &amp;lt;more&amp;gt; bags</textarea>" in html
    # The page is shown at the post address: its links still lead to the thread page.
    assert f'href="/threads/{tw.thread.pk}/?reply_to={tw.message.pk}#composer"' in html


def test_double_submit_with_the_same_client_id_stores_one_message(tw: ThreadWorld) -> None:
    client = client_as("participant_staff", tw)
    client_id = str(uuid.uuid4())
    first = _post(client, tw, client_id=client_id, body="Trucks leave at 14:00.")
    again = _post(client, tw, client_id=client_id, body="Trucks leave at 14:00.")
    stored = Message.objects.filter(client_id=client_id)
    assert stored.count() == 1
    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"] == f"/threads/{tw.thread.pk}/#message-{stored.get().pk}"


def test_posting_a_reply_by_the_form(tw: ThreadWorld) -> None:
    client = client_as("owner_staff", tw)
    page = client.get(reverse("thread_detail", args=[tw.thread.pk]) + f"?reply_to={tw.message.pk}").content.decode()
    assert "Replying to Casey Morgan" in page
    assert f'name="reply_to" value="{tw.message.pk}"' in page
    response = _post(client, tw, reply_to=str(tw.message.pk), body="Thanks, Casey.")
    assert response.status_code == 302
    assert Message.objects.get(body_source="Thanks, Casey.").reply_to_id == tw.message.pk


def test_each_render_has_a_new_client_id_and_the_seq_it_was_rendered_at(tw: ThreadWorld) -> None:
    client = client_as("participant_staff", tw)
    url = reverse("thread_detail", args=[tw.thread.pk])
    pattern = re.compile(r'name="client_id" value="([0-9a-f-]{36})"')
    first, second = (pattern.search(client.get(url).content.decode()) for _ in range(2))
    assert first and second and first.group(1) != second.group(1)
    post(tw.thread, tw.cw.owner_staff)
    html = client.get(url).content.decode()
    assert f'data-seq="{events.current_seq(tw.thread.stream)}"' in html
    assert events.current_seq(tw.thread.stream) == 3


def test_new_thread_double_submit_opens_one_thread(tw: ThreadWorld) -> None:
    client = client_as("participant_staff", tw)
    url = reverse("thread_create", args=[tw.cw.community.slug])
    data = {"title": "Pump status", "body": "Two pumps down.", "client_id": str(uuid.uuid4())}
    first, again = client.post(url, data), client.post(url, data)
    assert Thread.objects.filter(title="Pump status").count() == 1
    assert first["Location"] == again["Location"]


def test_new_thread_restricted_to_chosen_member_agencies(tw: ThreadWorld) -> None:
    client = client_as("participant_staff", tw)
    url = reverse("thread_create", args=[tw.cw.community.slug])
    form = client.get(url).content.decode()
    assert tw.cw.observer.name in form and tw.cw.nonmember.name not in form
    data = {"title": "Shelter roster", "body": "Names inside.", "client_id": str(uuid.uuid4())}
    assert client.post(url, data | {"restrict_to": [tw.cw.owner.pk]}).status_code == 302
    thread = Thread.objects.get(title="Shelter roster")
    assert thread.restricted
    assert set(thread.allowed_agencies.all()) == {tw.cw.owner, tw.cw.participant}  # the author's always


@pytest.mark.parametrize(
    "data",
    [
        {"title": "", "body": "Two pumps down."},
        {"title": "Pumps", "body": "  "},
        {"title": "x" * 201, "body": "Two pumps down."},
        {"title": "Pumps", "body": "Two pumps down.", "restrict_to": ["nonmember"]},
    ],
    ids=["no-title", "blank-body", "long-title", "non-member-agency"],
)
def test_new_thread_bad_input_is_400_and_opens_nothing(tw: ThreadWorld, data: dict[str, Any]) -> None:
    if data.get("restrict_to") == ["nonmember"]:
        data = data | {"restrict_to": [tw.cw.nonmember.pk]}
    client = client_as("participant_staff", tw)
    before = snapshot()
    response = client.post(
        reverse("thread_create", args=[tw.cw.community.slug]), data | {"client_id": str(uuid.uuid4())}
    )
    assert response.status_code == 400
    assert snapshot() == before


# --- Editing, deleting, reacting --------------------------------------------------------------


def test_edit_keeps_the_earlier_text_and_marks_the_message(tw: ThreadWorld) -> None:
    client = client_as("participant_staff", tw)
    url = reverse("message_edit", args=[tw.thread.pk, tw.message.pk])
    assert "Harbor can stage at the fairgrounds.</textarea>" in client.get(url).content.decode()
    assert client.post(url, {"body": "Harbor stages at the **fairgrounds**."}).status_code == 302
    page = client.get(reverse("thread_detail", args=[tw.thread.pk])).content.decode()
    assert "<strong>fairgrounds</strong>" in page
    assert tw.message.revisions.get().body_source == "Harbor can stage at the fairgrounds."


def test_edit_to_nothing_is_400(tw: ThreadWorld) -> None:
    client = client_as("participant_staff", tw)
    before = snapshot()
    response = client.post(reverse("message_edit", args=[tw.thread.pk, tw.message.pk]), {"body": " "})
    assert response.status_code == 400 and "Write something first." in response.content.decode()
    assert snapshot() == before


def test_a_deleted_message_shows_that_it_was_deleted_and_nothing_else(tw: ThreadWorld) -> None:
    client = client_as("moderator", tw)
    response = client.post(reverse("message_delete", args=[tw.thread.pk, tw.message.pk]))
    assert response.status_code == 302
    page = client_as("observer_staff", tw).get(reverse("thread_detail", args=[tw.thread.pk])).content.decode()
    assert "This message was deleted." in page
    assert "Harbor can stage at the fairgrounds." not in page
    author = client_as("participant_staff", tw)
    assert author.get(reverse("message_edit", args=[tw.thread.pk, tw.message.pk])).status_code == 403


def test_reacting_by_the_form_toggles(tw: ThreadWorld) -> None:
    client = client_as("owner_staff", tw)
    url = reverse("message_react", args=[tw.thread.pk, tw.message.pk])
    client.post(url, {"add": "✅"})
    page = client.get(reverse("thread_detail", args=[tw.thread.pk])).content.decode()
    assert 'name="remove" value="✅" aria-pressed="true"' in page and "done, 1" in page
    client.post(url, {"remove": "✅"})
    assert not Reaction.objects.exists()
    before = snapshot()
    for bad in ({"add": "🔥"}, {}, {"add": "✅", "remove": "✅"}):
        assert client.post(url, bad).status_code == 302
    assert snapshot() == before


def test_the_observer_reads_without_a_composer_or_buttons(tw: ThreadWorld) -> None:
    actions.react(actor=fresh(tw.cw.owner_staff), message=tw.message, emoji="👍")
    page = client_as("observer_staff", tw).get(reverse("thread_detail", args=[tw.thread.pk])).content.decode()
    assert "You can read this thread but not post in it" in page
    assert 'id="composer-form"' not in page and "<button" not in page.split('id="message-list"')[1].split("</ol>")[0]
    assert "thumbs up, 1" in page


def test_message_html_is_the_sanitized_one(tw: ThreadWorld) -> None:
    post(tw.thread, tw.cw.owner_staff, "<script>alert(1)</script> [x](javascript:alert(2)) **ok**")
    page = client_as("participant_staff", tw).get(reverse("thread_detail", args=[tw.thread.pk])).content.decode()
    assert "<script>alert(1)" not in page and "javascript:alert" not in page
    assert "<strong>ok</strong>" in page


def test_older_messages_are_one_link_away(tw: ThreadWorld, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(thread_selectors, "MESSAGE_WINDOW", 3)
    for n in range(5):
        post(tw.thread, tw.cw.owner_staff, f"Update number {n}.")
    client = client_as("participant_staff", tw)
    url = reverse("thread_detail", args=[tw.thread.pk])
    latest = client.get(url).content.decode()
    assert [f"Update number {n}." in latest for n in range(5)] == [False, False, True, True, True]
    assert 'data-live="true"' in latest and 'id="composer-form"' in latest
    older = re.search(rf'href="{url}\?before=(\d+)"', latest)
    assert older
    page = client.get(url, {"before": older.group(1)}).content.decode()
    assert [f"Update number {n}." in page for n in range(5)] == [True, True, False, False, False]
    assert "Harbor can stage at the fairgrounds." in page
    assert 'data-live="false"' in page and 'id="composer-form"' not in page
    assert "Back to the latest messages" in page
    assert client.get(url, {"before": "nonsense"}).status_code == 200


def test_the_community_page_links_to_threads_for_readers_only(tw: ThreadWorld) -> None:
    url = reverse("community_detail", args=[tw.cw.community.slug])
    link = f'href="{reverse("thread_list", args=[tw.cw.community.slug])}"'
    assert link in client_as("observer_staff", tw).get(url).content.decode()
    assert link not in client_as("nonmember_admin", tw).get(url).content.decode()


def test_threads_for_user_lists_none_to_a_non_member(tw: ThreadWorld) -> None:
    assert list(thread_selectors.threads_for_user(fresh(tw.cw.nonmember_staff), tw.cw.community)) == []
    listed = thread_selectors.threads_for_user(fresh(tw.cw.owner_staff), tw.cw.community)
    assert [(t.title, t.message_count) for t in listed] == [
        ("Levee breach drill (OEM only)", 1),
        ("Sandbag staging", 2),
    ]


def test_every_reaction_has_a_spoken_name() -> None:
    assert list(thread_selectors.REACTION_NAMES) == list(actions.REACTIONS)


# --- Query counts -----------------------------------------------------------------------------


def queries_for(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


def grow_threads(world: ThreadWorld, total: int) -> None:
    """Threads up to ``total`` visible to Harbor EM, by people of three agencies, some
    restricted to Harbor EM, and as many restricted elsewhere (never listed to it)."""
    cw = world.cw
    authors = [fresh(cw.owner_staff), fresh(cw.participant_staff), fresh(cw.moderator)]
    visible = thread_selectors.threads_for_user(fresh(cw.participant_staff), cw.community)
    for _ in range(total - visible.count()):
        n = next(_serial)
        author = authors[n % len(authors)]
        restrict = [cw.participant] if n % 3 == 0 else None
        thread = actions.create_thread(
            actor=author, community=cw.community, title=f"Topic {n}", body="First.", restrict_to=restrict
        )
        post(thread, cw.owner_admin, "Second.")
        actions.create_thread(
            actor=authors[0], community=cw.community, title=f"OEM only {n}", body="x", restrict_to=[cw.owner]
        )


# Session, person, the community, its grants (2), membership and agency, the page's COUNT
# and rows; the header's unread count and alert banner.
THREAD_LIST_CEILING = 11


@pytest.mark.parametrize("viewer", ["participant_staff", "observer_staff"])
def test_thread_list_query_count_is_the_same_for_3_and_40_threads(tw: ThreadWorld, viewer: str) -> None:
    client = client_as(viewer, tw)
    url = reverse("thread_list", args=[tw.cw.community.slug])
    grow_threads(tw, 3)
    small = queries_for(client, url)
    grow_threads(tw, 40)
    large = queries_for(client, url)
    assert thread_selectors.threads_for_user(fresh(tw.cw.participant_staff), tw.cw.community).count() == 40
    assert small == large, f"thread list: {small} queries for 3 threads, {large} for 40"
    assert large <= THREAD_LIST_CEILING
    assert queries_for(client, url + "?page=2") == large


def grow_messages(world: ThreadWorld, total: int) -> None:
    """Messages up to ``total`` by people of four agencies, with replies, reactions, an
    edit and a deletion among them."""
    cw = world.cw
    thread = world.thread
    people = [fresh(p) for p in (cw.owner_staff, cw.participant_staff, cw.moderator, cw.owner_admin)]
    for _ in range(total - thread.messages.count()):
        n = next(_serial)
        author = people[n % len(people)]
        last = thread.messages.order_by("-pk").first()
        message = actions.post_message(
            actor=author,
            thread=thread,
            body=f"Update {n}: **{n * 10}** bags.",
            client_id=uuid.uuid4(),
            reply_to_id=last.pk if n % 2 else None,
        ).message
        for reactor in people[: n % 3]:
            actions.react(actor=reactor, message=message, emoji=actions.REACTIONS[n % 6])
        if n % 7 == 0:
            actions.edit_message(actor=author, message=message, body=f"Update {n}, corrected.")
        if n % 11 == 0:
            actions.delete_message(actor=author, message=message)


# Session, person, the thread, its community's grants (2), the seq, the messages, their
# reactions, membership and agency; the header's unread count and alert banner.
THREAD_PAGE_CEILINGS = {"participant_staff": 12, "observer_staff": 12, "moderator": 12}


@pytest.mark.parametrize("viewer", list(THREAD_PAGE_CEILINGS))
def test_thread_page_query_count_is_the_same_for_3_and_60_messages(tw: ThreadWorld, viewer: str) -> None:
    client = client_as(viewer, tw)
    url = reverse("thread_detail", args=[tw.thread.pk])
    grow_messages(tw, 3)
    small = queries_for(client, url)
    grow_messages(tw, 60)
    large = queries_for(client, url)
    assert tw.thread.messages.count() == 60
    assert small == large, f"thread page as {viewer}: {small} queries for 3 messages, {large} for 60"
    assert large <= THREAD_PAGE_CEILINGS[viewer]


def test_restricted_thread_page_costs_three_queries_more(tw: ThreadWorld) -> None:
    client = client_as("owner_staff", tw)
    open_page = queries_for(client, reverse("thread_detail", args=[tw.thread.pk]))
    restricted_page = queries_for(client, reverse("thread_detail", args=[tw.restricted.pk]))
    # The policy asks "is my agency allowed" for "view" and again inside "post"; the page
    # lists the allowed agencies. The person's agency itself is already loaded.
    assert restricted_page == open_page + 3
