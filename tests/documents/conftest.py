"""Documents in the community world of ``tests/communities/conftest.py``, and helpers.

Lakeland OEM owns the community and two documents in it: ``open`` (every reader sees
it; two versions) and ``restricted`` (narrowed to Lakeland OEM and Easton, the observer).
Harbor EM takes part, Easton observes, Red Cedar is removed mid-session, Pine is not a
member. ``deactivated`` is a Lakeland OEM person deactivated after signing in. Every test
writes files under its own temporary ``MEDIA_ROOT``.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from communities import actions as community_actions
from communities.documents import actions
from communities.documents.demo import docx_bytes, pdf_bytes, png_bytes
from communities.documents.models import Document
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
LOGIN = 302


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    """Every test stores files in its own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def pdf(text: str = "Shelter capacity report") -> bytes:
    return pdf_bytes([text])


def docx(text: str = "Mutual aid terms") -> bytes:
    return docx_bytes("Agreement", [text])


def png() -> bytes:
    return png_bytes(8, 8)


def zip_with(names: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in names.items():
            archive.writestr(name, data)
    return out.getvalue()


def upload(name: str = "schedule.csv", content: bytes = b"day,site\nMon,Harbor\n") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


@dataclass
class DocumentWorld:
    cw: CommunityWorld
    open: Document
    restricted: Document
    deactivated: User

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.cw, name)

    def person(self, role: str) -> User | None:
        if role == "anonymous":
            return None
        if role == "deactivated":
            return self.deactivated
        return self.cw.person(role)


def build_documents_world() -> DocumentWorld:
    cw = build_world()
    community = cw.community
    open_document = actions.add_document(
        actor=cw.owner_staff,
        community=community,
        upload=upload("clinic-schedule.csv", b"day,site\nMon,Harbor City\n"),
        title="Clinic schedule",
        tags=["schedule"],
        change_note="Week 47.",
    )
    actions.revise_document(
        actor=cw.owner_staff,
        document=open_document,
        upload=upload("clinic-schedule.csv", b"day,site\nMon,Harbor City\nSat,Pine Fairgrounds\n"),
        based_on=1,
        change_note="Week 48: Saturday clinic.",
    )
    restricted = actions.add_document(
        actor=cw.owner_admin,
        community=community,
        upload=SimpleUploadedFile("levee-inspection.pdf", pdf("Levee inspection findings")),
        title="Levee inspection findings",
        restrict_to=[cw.observer],
    )
    deactivated = PersonFactory(agency=cw.owner, full_name="Sam Keller")
    open_document.refresh_from_db()
    return DocumentWorld(cw=cw, open=open_document, restricted=restricted, deactivated=deactivated)


@pytest.fixture
def dw(db) -> DocumentWorld:  # type: ignore[no-untyped-def]
    return build_documents_world()


def client_as(role: str, world: DocumentWorld) -> Client:
    """A client signed in as ``role``; ``removed`` loses its membership and ``deactivated``
    its account after signing in."""
    client = Client()
    if role == "anonymous":
        return client
    client.force_login(world.person(role))
    if role == "removed":
        community_actions.remove_agency(
            actor=world.cw.owner_admin, community=world.cw.community, agency=world.cw.removed_agency
        )
    if role == "deactivated":
        workspace_actions.deactivate_staff(actor=world.cw.owner_admin, member=world.deactivated)
    return client
