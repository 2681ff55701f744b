"""Demo documents of the State of Lakeland, uploaded through the actions. Idempotent.

The health coalition's immunization clinic schedule has several versions and is shared,
at the Red Cedar clinic director's request, with Red Cedar Community Services; the measles
exposure notes are restricted to the health agencies. The files are made here: small
but real PDF, Word, CSV, Markdown and PNG files, so extraction and downloads work.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from django.core.files.uploadedfile import SimpleUploadedFile

from communities.documents import actions
from communities.documents.models import Document, DocumentShare, Retention, ShareStatus
from communities.models import Community
from workspace.models import Agency, User

# --- Making small real files ----------------------------------------------------------------


def pdf_bytes(lines: list[str]) -> bytes:
    """A one-page PDF showing ``lines`` in Helvetica (ASCII text)."""

    def escape(text: str) -> str:
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    stream = "BT /F1 12 Tf 72 740 Td 16 TL " + " ".join(f"({escape(line)}) '" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1"))
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def docx_bytes(title: str, paragraphs: list[str]) -> bytes:
    import docx

    document = docx.Document()
    document.add_heading(title, level=1)
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def png_bytes(width: int = 48, height: int = 32) -> bytes:
    """A small map-like picture: bands of blue (river) and green (land)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(
        b"\x00"
        + b"".join(
            bytes((40, 110, 200)) if abs(y - height // 2 - (x // 8)) < 3 else bytes((90, 160, 90)) for x in range(width)
        )
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def schedule_csv(week: int, rows: list[tuple[str, str, str]]) -> bytes:
    lines = ["week,day,site,hours"] + [f"{week},{day},{site},{hours}" for day, site, hours in rows]
    return ("\n".join(lines) + "\n").encode()


# --- The demo documents ---------------------------------------------------------------------


@dataclass(frozen=True)
class Revision:
    uploader: str  # email
    filename: str
    content: Callable[[], bytes]
    note: str


@dataclass(frozen=True)
class DemoDocument:
    community: str
    title: str
    description: str
    tags: tuple[str, ...]
    retention: str
    versions: tuple[Revision, ...]
    restrict_to: tuple[str, ...] | None = None


HARBOR_SITES = [("Mon", "Harbor City Health Center", "9-4"), ("Wed", "Easton Library", "10-2")]
DOCUMENTS = [
    DemoDocument(
        "lakeland-health-coalition",
        "Immunization clinic schedule",
        "Where and when Harbor County runs immunization clinics this week. Revised every Monday.",
        ("immunization", "schedule"),
        Retention.ONE_YEAR,
        (
            Revision(
                "ben.foster@health.harborcounty.example",
                "clinic-schedule.csv",
                lambda: schedule_csv(47, HARBOR_SITES),
                "Week 47 schedule.",
            ),
            Revision(
                "alice.chen@health.harborcounty.example",
                "clinic-schedule.csv",
                lambda: schedule_csv(48, [*HARBOR_SITES, ("Sat", "Pine County Fairgrounds", "9-1")]),
                "Week 48: Saturday clinic at the Pine County fairgrounds.",
            ),
            Revision(
                "ben.foster@health.harborcounty.example",
                "clinic-schedule.csv",
                lambda: schedule_csv(
                    49, [*HARBOR_SITES, ("Sat", "Red Cedar Health Clinic", "9-1"), ("Thu", "Harbor Port", "1-5")]
                ),
                "Week 49: Saturday clinic moves to Red Cedar; new Thursday clinic at the port.",
            ),
        ),
    ),
    DemoDocument(
        "lakeland-health-coalition",
        "Measles exposure guidance for clinics",
        "State guidance: who to contact, post-exposure prophylaxis windows, exclusion periods.",
        ("measles", "guidance"),
        Retention.SEVEN_YEARS,
        (
            Revision(
                "elena.brooks@health.lakeland.example",
                "measles-exposure-guidance.pdf",
                lambda: pdf_bytes(
                    [
                        "Lakeland Department of Health - Measles exposure guidance",
                        "Offer MMR within 72 hours of exposure, or immune globulin within 6 days.",
                        "Exclude susceptible contacts from day 5 through day 21 after exposure.",
                        "Report every suspected case to the LDH epidemiologist on call.",
                    ]
                ),
                "First edition.",
            ),
        ),
    ),
    DemoDocument(
        "lakeland-health-coalition",
        "Measles exposure: contact follow-up notes",
        "Names and follow-up of people exposed at the Harbor City clinic. Health agencies only.",
        ("measles",),
        Retention.THREE_YEARS,
        (
            Revision(
                "priya.raman@health.lakeland.example",
                "exposure-follow-up.md",
                lambda: (
                    b"# Exposure follow-up, Harbor City clinic\n\n"
                    b"- Contact A (Harbor County): MMR given day 2. Follow-up call day 21.\n"
                    b"- Contact B (Red Cedar): immune; no action.\n"
                ),
                "Initial notes from the epidemiologist.",
            ),
        ),
        restrict_to=("ldh", "harbor-health", "red-cedar-clinic"),
    ),
    DemoDocument(
        "lakeland-emergency-coordination",
        "Mutual-aid agreement, 2026",
        "The signed agreement between Lakeland's emergency management agencies: requests, costs, liability.",
        ("mutual aid", "agreement"),
        Retention.PERMANENT,
        (
            Revision(
                "dana.whitfield@loem.lakeland.example",
                "mutual-aid-agreement-2026.docx",
                lambda: docx_bytes(
                    "Lakeland Mutual-Aid Agreement 2026",
                    [
                        "Parties: Lakeland OEM, Harbor County EM, Pine County EM, City of Easton Public Works, "
                        "Red Cedar Tribal Nation Emergency Services.",
                        "A party may request personnel and equipment through the state duty officer.",
                        "The requesting party reimburses costs within 90 days.",
                    ],
                ),
                "Signed copy.",
            ),
        ),
    ),
    DemoDocument(
        "lakeland-emergency-coordination",
        "Shelter list",
        "Open shelters, capacity and contacts during floods.",
        ("shelters", "flood"),
        Retention.WORKING,
        (
            Revision(
                "casey.morgan@em.harborcounty.example",
                "shelters.md",
                lambda: (
                    b"# Flood shelters\n\n| Shelter | Capacity | Contact |\n|---|---|---|\n"
                    b"| Harbor High School | 300 | Casey Morgan |\n| Easton Community Center | 120 | Leah Kim |\n"
                ),
                "Spring flood season list.",
            ),
        ),
    ),
    DemoDocument(
        "lakeland-emergency-coordination",
        "Evacuation zones map",
        "River basin evacuation zones (overview).",
        ("flood", "map"),
        Retention.THREE_YEARS,
        (Revision("jordan.reyes@em.harborcounty.example", "evacuation-zones.png", png_bytes, "Overview map."),),
    ),
]

# (document title, requesting community, requester, approver): the clinic director asks to
# share the schedule with the tribal council's community; Harbor County agrees.
SHARES = [
    (
        "Immunization clinic schedule",
        "red-cedar-community-services",
        "maya.sandoval@clinic.redcedar.example",
        "alice.chen@health.harborcounty.example",
    ),
]


def _person(email: str) -> User:
    return User.objects.get(email=email)


def seed(out: TextIO) -> None:
    for demo in DOCUMENTS:
        community = Community.objects.get(slug=demo.community)
        document = Document.objects.filter(community=community, title=demo.title).first()
        first, *later = demo.versions
        if document is None:
            restrict_to = None
            if demo.restrict_to is not None:
                restrict_to = list(Agency.objects.filter(slug__in=demo.restrict_to))
            document = actions.add_document(
                actor=_person(first.uploader),
                community=community,
                upload=SimpleUploadedFile(first.filename, first.content()),
                title=demo.title,
                description=demo.description,
                tags=demo.tags,
                retention=demo.retention,
                change_note=first.note,
                restrict_to=restrict_to,
            )
            out.write(f"  document {demo.title}\n")
        for number, revision in enumerate(later, start=2):
            if document.versions.filter(number=number).exists():
                continue
            actions.revise_document(
                actor=_person(revision.uploader),
                document=document,
                upload=SimpleUploadedFile(revision.filename, revision.content()),
                based_on=number - 1,
                change_note=revision.note,
            )

    for title, community_slug, requester, approver in SHARES:
        document = Document.objects.get(title=title)
        community = Community.objects.get(slug=community_slug)
        if DocumentShare.objects.filter(document=document, community=community, status=ShareStatus.ACCEPTED).exists():
            continue
        share = actions.request_share(
            actor=_person(requester),
            document=document,
            community=community,
            message="Our clinic hosts the Saturday session; the tribal council plans transport from it.",
        )
        actions.accept_share(actor=_person(approver), share=share)
