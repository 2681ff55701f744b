"""The search page and the header box: who may use them, what they show, what they cost."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from messaging import actions
from search.backends.whoosh_backend import WhooshBackend
from tests.search.conftest import SearchWorld, fresh

URL = "/search/"


@pytest.fixture
def backend(settings, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """Pages run on the default backend; the backend suite covers both."""
    settings.SEARCH_BACKEND = "whoosh"
    settings.SEARCH_INDEX_DIR = tmp_path / "index"
    return "whoosh"


def text_of(response) -> str:  # type: ignore[no-untyped-def]
    """The page with runs of whitespace collapsed and highlights removed."""
    return " ".join(response.content.decode().replace("<mark>", "").replace("</mark>", "").split())


def client_for(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def test_route_is_named() -> None:
    assert reverse("search") == URL


def test_anonymous_people_are_sent_to_sign_in(sw) -> None:  # type: ignore[no-untyped-def]
    response = Client().get(URL, {"q": "riverstage"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_only_get(sw) -> None:  # type: ignore[no-untyped-def]
    assert client_for(sw.cw.owner_staff).post(URL, {"q": "riverstage"}).status_code == 405


def test_header_has_a_labelled_search_box(sw) -> None:  # type: ignore[no-untyped-def]
    page = client_for(sw.cw.owner_staff).get("/").content.decode()
    assert 'role="search"' in page and 'action="/search/"' in page
    assert '<label for="header-search-q"' in page and 'id="header-search-q"' in page


def test_empty_page_invites_a_search(sw) -> None:  # type: ignore[no-untyped-def]
    response = client_for(sw.cw.owner_staff).get(URL)
    page = response.content.decode()
    assert response.status_code == 200
    assert "Type what you are looking for" in page and 'aria-label="Search with filters"' in page


def test_results_show_highlights_links_and_facets(sw) -> None:  # type: ignore[no-untyped-def]
    page = client_for(sw.cw.owner_staff).get(URL, {"q": "creek"}).content.decode()
    assert "2 results" in page
    assert "<mark>Creek</mark>" in page
    assert f'href="/threads/{sw.open_thread.pk}/#message-{sw.first_message.pk}"' in page
    assert "Narrow down" in page and 'Lakeland Flood Coordination <span class="facet-count">2</span>' in page


def test_other_agencies_see_no_trace_of_a_restricted_thread(sw) -> None:  # type: ignore[no-untyped-def]
    for person in (sw.cw.participant_staff, sw.cw.nonmember_staff):
        page = client_for(person).get(URL, {"q": "zanzibar levee"}).content.decode()
        assert "No results" in page
        assert "Levee weak points" not in page and "<mark>" not in page and "Narrow down" not in page


@pytest.mark.parametrize("text", ['"unclosed', "AND OR", "-x", "x" * 1999, "東京", "%00", "*"])
def test_odd_input_answers_200(sw, text) -> None:  # type: ignore[no-untyped-def]
    assert client_for(sw.cw.owner_staff).get(URL, {"q": text}).status_code == 200


def test_too_long_input_is_explained(sw) -> None:  # type: ignore[no-untyped-def]
    response = client_for(sw.cw.owner_staff).get(URL, {"q": "x" * 3000})
    assert response.status_code == 200 and "Keep your search under 2,000 characters" in response.content.decode()


def test_filters_that_make_no_sense_are_explained(sw) -> None:  # type: ignore[no-untyped-def]
    client = client_for(sw.cw.participant_staff)
    page = client.get(URL, {"q": "creek", "community": sw.hidden_community.pk}).content.decode()
    assert "Select a valid choice" in page
    page = client.get(URL, {"q": "creek", "date_from": "2030-01-02", "date_to": "2030-01-01"}).content.decode()
    assert "The end date comes before the start date." in page


def test_filter_and_facet_links_narrow(sw) -> None:  # type: ignore[no-untyped-def]
    client = client_for(sw.cw.owner_staff)
    page = text_of(client.get(URL, {"q": "creek", "agency": sw.cw.participant.pk}))
    assert "1 result for “creek” with these filters." in page and "Harbor sandbag crews" in page
    page = text_of(client.get(URL, {"q": "creek", "person": sw.cw.owner_staff.pk}))
    assert "Only by <strong>Luis Ortega</strong>" in page and "1 result for" in page


def test_a_broken_backend_answers_with_a_message(sw, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def broken(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError("index unreadable")

    monkeypatch.setattr(WhooshBackend, "search", broken)
    response = client_for(sw.cw.owner_staff).get(URL, {"q": "creek"})
    assert response.status_code == 503
    assert "Search is not available right now" in response.content.decode()


# --- Query counts: a page of 5 results costs what a full page of 20 (of 45) costs ----------


def _grow(sw: SearchWorld, committed) -> Callable[[int], None]:  # type: ignore[no-untyped-def]
    def grow(total: int) -> None:
        with committed():
            for n in range(total - sw.open_thread.messages.filter(body_source__startswith="Pumpkin").count()):
                actions.post_message(
                    actor=fresh(sw.cw.participant_staff),
                    thread=sw.open_thread,
                    body=f"Pumpkin patch flooded, report {n}.",
                    client_id=uuid.uuid4(),
                )

    return grow


def _queries(client: Client, params: dict[str, str]) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(URL, params)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("params", [{"q": "pumpkin"}, {"q": "pumpkin", "sort": "date", "type": "message"}])
def test_query_count_does_not_grow_with_results(sw, committed, params) -> None:  # type: ignore[no-untyped-def]
    client = client_for(sw.cw.owner_staff)
    grow = _grow(sw, committed)
    grow(5)
    small = _queries(client, params)
    grow(45)
    large = _queries(client, params)
    assert small == large
    print("queries", large)
    assert large <= 16, large
