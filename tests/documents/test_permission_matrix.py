"""Every document route against every kind of person (see ``conftest.py`` for the world).

A document the person may not view answers 404 on every route, old versions included,
exactly as an id that does not exist; a document they view but may not act on answers
403. Refused requests change nothing and write no audit event.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from communities.documents.models import Document, DocumentGroupObjectPermission, DocumentShare, DocumentVersion
from tests.documents.conftest import LOGIN, ROLES, DocumentWorld, build_documents_world, client_as
from workspace.models import AuditEvent

READERS = ("owner_staff", "owner_admin", "participant_staff", "participant_admin", "observer_staff", "moderator")
POSTERS = ("owner_staff", "owner_admin", "participant_staff", "participant_admin", "moderator")
OUTSIDERS = ("nonmember_staff", "nonmember_admin", "removed")


def statuses(ok: int, allowed: tuple[str, ...], *, visible: tuple[str, ...] = READERS) -> dict[str, int]:
    """``ok`` for ``allowed``; 403 for other people who see the document; 404 for the rest."""
    expect = dict.fromkeys(ROLES, 404) | dict.fromkeys(visible, 403) | dict.fromkeys(allowed, ok)
    return expect | {"anonymous": LOGIN, "deactivated": LOGIN}


@dataclass(frozen=True)
class Route:
    name: str
    url: Callable[[DocumentWorld, Document], str]
    expect: Callable[[tuple[str, ...]], dict[str, int]]  # given the roles that see the document
    method: str = "get"
    data: Callable[[DocumentWorld, Document], dict[str, Any]] = field(default=lambda w, d: {})

    def __str__(self) -> str:
        return self.name


def _doc(name: str, *args: Any) -> Callable[[DocumentWorld, Document], str]:
    return lambda w, d: reverse(name, args=[d.pk, *args])


def _revision(w: DocumentWorld, d: Document) -> dict[str, Any]:
    current = d.current_version.number  # type: ignore[union-attr]
    return {
        "file": SimpleUploadedFile("next.csv" if d.title.startswith("Clinic") else "next.pdf", _same_type(d)),
        "based_on": current,
        "change_note": "Next week.",
    }


def _same_type(d: Document) -> bytes:
    from tests.documents.conftest import pdf

    return b"day,site\nTue,Easton\n" if d.title.startswith("Clinic") else pdf("Revised findings")


OWNING_STAFF = ("owner_staff", "owner_admin")
MANAGERS = ("owner_admin",)

ROUTES = [
    Route("document page", _doc("document_detail"), lambda seen: statuses(200, seen, visible=seen)),
    Route("download current", _doc("document_download"), lambda seen: statuses(200, seen, visible=seen)),
    Route("download version 1", _doc("document_version_download", 1), lambda seen: statuses(200, seen, visible=seen)),
    Route("who can see it", _doc("document_people"), lambda seen: statuses(200, seen, visible=seen)),
    Route("revise form", _doc("document_revise"), lambda seen: statuses(200, OWNING_STAFF, visible=seen)),
    Route(
        "revise",
        _doc("document_revise"),
        lambda seen: statuses(302, OWNING_STAFF, visible=seen),
        method="post",
        data=_revision,
    ),
    Route("edit form", _doc("document_edit"), lambda seen: statuses(200, MANAGERS, visible=seen)),
    Route(
        "edit",
        _doc("document_edit"),
        lambda seen: statuses(302, MANAGERS, visible=seen),
        method="post",
        data=lambda w, d: {"title": "Renamed", "retention": "working"},
    ),
    Route("access form", _doc("document_access"), lambda seen: statuses(200, MANAGERS, visible=seen)),
    Route(
        "change access",
        _doc("document_access"),
        lambda seen: statuses(302, MANAGERS, visible=seen),
        method="post",
        data=lambda w, d: {"audience": "named"},
    ),
    Route(
        "share",
        _doc("document_share"),
        lambda seen: statuses(302, MANAGERS, visible=seen),
        method="post",
        data=lambda w, d: {"target": f"a{w.nonmember.pk}", "level": "view"},
    ),
    Route("delete confirmation", _doc("document_delete"), lambda seen: statuses(200, MANAGERS, visible=seen)),
    Route("delete", _doc("document_delete"), lambda seen: statuses(302, MANAGERS, visible=seen), method="post"),
]
# Who sees each document: every reader, or (restricted) the owning agency and Easton.
DOCUMENTS = {"open": READERS, "restricted": ("owner_staff", "owner_admin", "observer_staff")}


def snapshot() -> tuple[Any, ...]:
    return (
        sorted(Document.objects.values_list("pk", "title", "restricted", "current_version_id")),
        sorted(DocumentVersion.objects.values_list("document_id", "number", "sha256")),
        sorted(DocumentShare.objects.values_list("pk", "status")),
        DocumentGroupObjectPermission.objects.count(),
        AuditEvent.objects.filter(verb__startswith="document.").count(),
    )


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("document_name", DOCUMENTS)
@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_document_route(route: Route, document_name: str, role: str) -> None:
    world = build_documents_world()
    document = getattr(world, document_name)
    client = client_as(role, world)
    before = snapshot()
    response = getattr(client, route.method)(route.url(world, document), route.data(world, document))
    expected = route.expect(DOCUMENTS[document_name])[role]
    assert response.status_code == expected, (
        f"{route.method.upper()} {route} ({document_name}) as {role}: got {response.status_code}, expected {expected}"
    )
    signed_out = role in ("anonymous", "deactivated")
    if signed_out:
        assert "/accounts/login/" in response["Location"]
    if expected in (403, 404) or signed_out:
        assert snapshot() == before, f"{route} as {role} was refused but changed something"


def _list(w: DocumentWorld) -> str:
    return reverse("document_list", args=[w.community.slug])


def _upload(w: DocumentWorld) -> str:
    return reverse("document_upload", args=[w.community.slug])


COMMUNITY_ROUTES = [
    # The community is listed: people outside it see it exists (403), as on its own pages.
    ("documents list", _list, "get", READERS, 200, lambda w: {}),
    ("upload form", _upload, "get", POSTERS, 200, lambda w: {}),
    (
        "upload",
        _upload,
        "post",
        POSTERS,
        302,
        lambda w: {
            "file": SimpleUploadedFile("shelters.md", b"# Shelters\n"),
            "audience": "community",
            "retention": "working",
        },
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", COMMUNITY_ROUTES, ids=lambda r: r[0])
def test_community_document_route(route: tuple[Any, ...], role: str) -> None:
    name, url, method, allowed, ok, data = route
    world = build_documents_world()
    client = client_as(role, world)
    before = snapshot()
    response = getattr(client, method)(url(world), data(world))
    expected = dict.fromkeys(ROLES, 403) | dict.fromkeys(allowed, ok) | {"anonymous": LOGIN, "deactivated": LOGIN}
    assert response.status_code == expected[role], f"{name} as {role}: got {response.status_code}"
    if expected[role] != ok:
        assert snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["nonmember_staff", "participant_staff", "removed"])
def test_enumerated_ids_answer_like_missing_ones(role: str) -> None:
    """Guessing ids gives the same 404 for a restricted document, its old versions, a
    document of another community and an id that does not exist."""
    world = build_documents_world()
    client = client_as(role, world)
    missing = Document.objects.order_by("-pk").first().pk + 100  # type: ignore[union-attr]
    hidden = world.restricted.pk
    urls = [
        reverse("document_detail", args=[missing]),
        reverse("document_detail", args=[hidden]),
        reverse("document_version_download", args=[hidden, 1]),
        reverse("document_version_download", args=[hidden, 7]),
        reverse("document_download", args=[hidden]),
        reverse("document_people", args=[hidden]),
    ]
    bodies = set()
    for url in urls:
        response = client.get(url)
        assert response.status_code == 404, url
        # Only the page's own address and the CSRF token (masked afresh) may differ.
        body = response.content.replace(url.encode(), b"")
        bodies.add(re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", body))
    assert len(bodies) == 1, "a hidden document must answer exactly like a missing one"


@pytest.mark.django_db
def test_shares_of_hidden_documents_are_404() -> None:
    world = build_documents_world()
    from communities.documents import actions

    share = actions.offer_share(actor=world.owner_admin, document=world.restricted, agency=world.nonmember)
    for role in ("participant_admin", "owner_staff", "observer_staff"):
        client = client_as(role, world)
        for verb in ("accept", "decline", "withdraw", "end"):
            response = client.post(reverse(f"document_share_{verb}", args=[share.pk]))
            assert response.status_code == 404, (role, verb)
    share.refresh_from_db()
    assert share.status == "pending"
