"""Hostile uploads are refused or neutralized, and nothing is ever served inline.

Each refusal leaves no row and no file behind; each accepted file is stored under a
generated name inside MEDIA_ROOT and downloaded as an attachment with ``nosniff`` and a
sandboxing Content-Security-Policy.
"""

from __future__ import annotations

import os
import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from communities.documents import actions, uploads
from communities.documents.models import Document, DocumentVersion
from tests.documents.conftest import DocumentWorld, client_as, docx, pdf, png, upload, zip_with
from workspace.exceptions import ActionError

SCRIPT_HTML = b"<!DOCTYPE html><html><body><script>fetch('/accounts/')</script></body></html>"
SCRIPT_SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>'
)


def stored_files(media_root: Path) -> list[Path]:
    root = media_root / "documents"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def add(world: DocumentWorld, name: str, content: bytes) -> Document:
    return actions.add_document(
        actor=world.owner_staff, community=world.community, upload=SimpleUploadedFile(name, content)
    )


def assert_refused(world: DocumentWorld, media_root: Path, name: str, content: bytes, code: str) -> ActionError:
    files, documents = stored_files(media_root), Document.objects.count()
    with pytest.raises(ActionError) as refused:
        add(world, name, content)
    assert refused.value.code == code, refused.value.message
    assert refused.value.field == "file"
    assert Document.objects.count() == documents, "a refused upload must not leave a row"
    assert stored_files(media_root) == files, "a refused upload must not leave a file"
    return refused.value


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("page.html", SCRIPT_HTML),
        ("page.htm", SCRIPT_HTML),
        ("map.svg", SCRIPT_SVG),
        ("tool.exe", b"MZ\x90\x00"),
        ("archive.zip", zip_with({"a.txt": b"x"})),
        ("no-extension", b"plain words"),
    ],
)
def test_types_outside_the_allow_list_are_refused(dw, media_root, name: str, content: bytes) -> None:  # type: ignore[no-untyped-def]
    error = assert_refused(dw, media_root, name, content, "type_not_allowed")
    assert "cannot be shared" in error.message


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("notes.txt", SCRIPT_HTML),  # HTML dressed as text
        ("notes.md", b"  <script>alert(1)</script>\n# Notes"),
        ("map.png", SCRIPT_SVG),  # SVG dressed as an image
        ("data.csv", b"<svg onload=alert(1)>"),
    ],
)
def test_html_or_svg_under_another_name_is_refused(dw, media_root, name: str, content: bytes) -> None:  # type: ignore[no-untyped-def]
    assert_refused(dw, media_root, name, content, "type_not_allowed")


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("report.pdf", b"just some text pretending"),
        ("report.docx", pdf()),
        ("photo.jpg", png()),
        ("table.csv", png()),
        ("minutes.pdf", docx()),
        ("slides.pptx", docx()),
    ],
)
def test_bytes_that_do_not_match_the_extension_are_refused(dw, media_root, name: str, content: bytes) -> None:  # type: ignore[no-untyped-def]
    error = assert_refused(dw, media_root, name, content, "type_mismatch")
    assert "real extension" in error.message


def test_office_files_with_macros_or_without_their_parts_are_refused(dw, media_root) -> None:  # type: ignore[no-untyped-def]
    macro = zip_with({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>", "word/vbaProject.bin": b"\x00"})
    assert_refused(dw, media_root, "letter.docx", macro, "type_not_allowed")
    bare = zip_with({"word/document.xml": b"<w/>"})
    assert_refused(dw, media_root, "letter.docx", bare, "type_not_allowed")


def test_zip_bombs_are_refused_from_their_declared_size(dw, media_root, settings) -> None:  # type: ignore[no-untyped-def]
    settings.DOCUMENT_MAX_UNPACKED_MB = 1
    bomb = zip_with({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"0" * (2 * 1024 * 1024)})
    assert len(bomb) < 100_000
    assert_refused(dw, media_root, "letter.docx", bomb, "type_not_allowed")


def test_empty_files_are_refused(dw, media_root) -> None:  # type: ignore[no-untyped-def]
    error = assert_refused(dw, media_root, "empty.pdf", b"", "empty")
    assert error.message == "The file is empty."


def test_oversized_files_are_refused(dw, media_root, settings) -> None:  # type: ignore[no-untyped-def]
    settings.DOCUMENT_MAX_UPLOAD_MB = 0.01  # about 10 KB
    error = assert_refused(dw, media_root, "big.csv", b"a,b\n" * 5000, "too_large")
    assert "0.01 MB" in error.message


def test_oversized_uploads_stop_before_the_body_is_stored(dw, media_root, settings) -> None:  # type: ignore[no-untyped-def]
    """The upload view refuses with 413 and keeps no temporary file: the limit is in
    place before the request body is read."""
    settings.DOCUMENT_MAX_UPLOAD_MB = 0.01
    client = client_as("owner_staff", dw)
    response = client.post(
        reverse("document_upload", args=[dw.community.slug]),
        {"file": SimpleUploadedFile("big.csv", b"a,b\n" * 5000), "audience": "community", "retention": "working"},
    )
    assert response.status_code == 413
    assert "larger than the limit" in response.content.decode()
    assert not list((media_root / "documents" / "incoming").glob("*"))
    assert Document.objects.filter(title="big").count() == 0


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("../../../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\..\\windows\\system32\\evil.pdf", "evil.pdf"),
        ("/var/www/index.pdf", "index.pdf"),
        ("report\r\nX-Injected: yes.pdf", "report X-Injected: yes.pdf"),
        ("inv\u202efdp.exe.pdf", "inv fdp.exe.pdf"),
        ("tab\tand\x00nul.pdf", "tab and nul.pdf"),
        ("..pdf", "pdf"),
    ],
)
def test_filenames_are_kept_as_data_only(dw, media_root, raw: str, kept: str) -> None:  # type: ignore[no-untyped-def]
    """Path parts and control characters never reach the disk or a header: the file is
    stored under a generated name inside MEDIA_ROOT, the cleaned name is only data."""
    if kept == "pdf":
        assert_refused(dw, media_root, raw, pdf(), "type_not_allowed")
        return
    document = add(dw, raw, pdf())
    version = document.current_version
    assert version.filename == kept
    stored = uploads.blob_path(version.blob).resolve()
    assert stored.is_relative_to((media_root / "documents").resolve())
    assert kept not in str(stored) and "passwd" not in str(stored)
    response = client_as("owner_staff", dw).get(reverse("document_download", args=[document.pk]))
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment; ")
    assert "\r" not in disposition and "\n" not in disposition and "/" not in disposition.split("filename*=")[0]
    assert "\u202e" not in disposition


def test_names_are_encoded_for_the_header(dw) -> None:  # type: ignore[no-untyped-def]
    document = add(dw, 'Plan "Ñandú" été.pdf', pdf())
    response = client_as("owner_staff", dw).get(reverse("document_download", args=[document.pk]))
    assert response["Content-Disposition"] == (
        'attachment; filename="Plan _Nandu_ ete.pdf"; '
        "filename*=UTF-8''Plan%20%22%C3%91and%C3%BA%22%20%C3%A9t%C3%A9.pdf"
    )


ACCEPTED = [
    ("guidance.pdf", pdf(), "application/pdf"),
    ("terms.docx", docx(), uploads.DOCX),
    ("map.png", png(), "image/png"),
    ("notes.md", b"# Notes\n\nSee <script>alert(1)</script> in the old portal.\n", "text/markdown; charset=utf-8"),
    ("schedule.csv", b"day,site\nMon,Harbor\n", "text/csv; charset=utf-8"),
    ("readme.txt", "Café hours: 9–5\n".encode(), "text/plain; charset=utf-8"),
]


@pytest.mark.parametrize(("name", "content", "served_as"), ACCEPTED)
def test_every_download_is_an_attachment_that_cannot_run(dw, name: str, content: bytes, served_as: str) -> None:  # type: ignore[no-untyped-def]
    document = add(dw, name, content)
    response = client_as("participant_staff", dw).get(reverse("document_download", args=[document.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == content
    assert response["Content-Type"] == served_as
    assert response["Content-Disposition"].startswith("attachment; ")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert "no-store" in response["Cache-Control"]


def test_the_front_proxy_serves_the_file_after_the_check(dw, settings) -> None:  # type: ignore[no-untyped-def]
    settings.DOCUMENT_X_ACCEL_PREFIX = "/protected-documents/"
    version = dw.open.current_version
    response = client_as("observer_staff", dw).get(reverse("document_download", args=[dw.open.pk]))
    assert response["X-Accel-Redirect"] == f"/protected-documents/{version.blob}"
    assert response.content == b""
    assert response["Content-Disposition"].startswith("attachment; ")
    assert response["Content-Security-Policy"] == "sandbox; default-src 'none'"
    refused = client_as("nonmember_staff", dw).get(reverse("document_download", args=[dw.open.pk]))
    assert refused.status_code == 404 and "X-Accel-Redirect" not in refused


def test_versions_record_hash_type_size_and_uploader(dw) -> None:  # type: ignore[no-untyped-def]
    import hashlib

    content = pdf("Hash me")
    document = add(dw, "hash.pdf", content)
    version = DocumentVersion.objects.get(document=document)
    assert version.sha256 == hashlib.sha256(content).hexdigest()
    assert version.size == len(content)
    assert version.content_type == "application/pdf"
    assert version.uploaded_by == dw.owner_staff and version.uploaded_by_agency == dw.owner
    assert uploads.blob_path(version.blob).read_bytes() == content


def test_text_is_extracted_from_pdf_word_and_text(dw) -> None:  # type: ignore[no-untyped-def]
    cases = [
        ("a.pdf", pdf("Levee seepage at mile 12"), "Levee seepage at mile 12"),
        ("b.docx", docx("Reimburse within 90 days"), "Reimburse within 90 days"),
        ("c.csv", b"site,hours\nHarbor,9-4\n", "Harbor,9-4"),
        ("d.md", b"# Shelters\nHarbor High", "Harbor High"),
    ]
    for name, content, expected in cases:
        version = add(dw, name, content).current_version
        assert expected in version.text, name
        assert version.text_status == "extracted"
    image = add(dw, "e.png", png()).current_version
    assert (image.text, image.text_status) == ("", "none")


def test_extraction_fails_soft(dw) -> None:  # type: ignore[no-untyped-def]
    """A file whose text cannot be read still uploads, with no text."""
    broken = add(dw, "broken.pdf", b"%PDF-1.4\nthis is not a real pdf body\n%%EOF").current_version
    assert broken.text == "" and broken.text_status in ("failed", "none")
    assert uploads.blob_path(broken.blob).exists()


def test_extraction_is_bounded_in_size_and_time(dw, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    settings.DOCUMENT_EXTRACT_MAX_CHARS = 50
    long = add(dw, "long.txt", b"word " * 1000).current_version
    assert len(long.text) == 50 and long.text_status == "truncated"

    import threading

    release = threading.Event()

    def stuck(path, limit, deadline, stop):  # type: ignore[no-untyped-def]
        release.wait(5)
        return "never"

    settings.DOCUMENT_EXTRACT_SECONDS = 0.2
    monkeypatch.setattr(uploads, "_pdf_text", stuck)
    slow = add(dw, "slow.pdf", pdf()).current_version
    release.set()
    assert (slow.text, slow.text_status) == ("", "failed")


def test_a_failed_transaction_leaves_no_file(dw, media_root, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The file is complete before the row is written; if writing the row fails, the file
    is deleted again: no orphan rows or files."""
    before = stored_files(media_root)

    def broken(**kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("database went away")

    monkeypatch.setattr(actions.audit, "record", broken)
    with pytest.raises(RuntimeError):
        add(dw, "lost.pdf", pdf())
    assert stored_files(media_root) == before
    assert not Document.objects.filter(title="lost").exists()


def test_sweep_removes_leftover_temporary_files_and_unknown_blobs(dw, media_root) -> None:  # type: ignore[no-untyped-def]
    incoming = media_root / "documents" / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    (incoming / "abandoned.part").write_bytes(b"half")
    stray = media_root / "documents" / "ab" / ("ab" + "0" * 30)
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"left by a rolled-back transaction")
    known = set(DocumentVersion.objects.values_list("blob", flat=True))
    deleted = uploads.sweep(older_than_seconds=-1, known=lambda: known)
    assert not stray.exists() and not (incoming / "abandoned.part").exists()
    assert len(deleted) == 2
    assert all(uploads.blob_path(blob).exists() for blob in known)


def test_sweep_uploads_command_lists_on_dry_run_then_deletes_only_old_leftovers(dw, media_root) -> None:  # type: ignore[no-untyped-def]
    incoming = media_root / "documents" / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    old_part, fresh_part = incoming / "abandoned.part", incoming / "in-progress.part"
    old_part.write_bytes(b"half")
    fresh_part.write_bytes(b"still arriving")
    stray = media_root / "documents" / "cd" / ("cd" + "1" * 30)
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"left by a rolled-back transaction")
    two_hours_ago = time.time() - 7200
    for path in (old_part, stray):
        os.utime(path, (two_hours_ago, two_hours_ago))
    known = set(DocumentVersion.objects.values_list("blob", flat=True))
    for blob in known:  # the real versions are old too, and must survive
        os.utime(uploads.blob_path(blob), (two_hours_ago, two_hours_ago))

    out = StringIO()
    call_command("sweep_uploads", "--dry-run", stdout=out)
    assert "2 files would be deleted." in out.getvalue()
    assert old_part.exists() and stray.exists()

    out = StringIO()
    call_command("sweep_uploads", stdout=out)
    assert "2 files deleted." in out.getvalue()
    assert not old_part.exists() and not stray.exists() and fresh_part.exists()
    assert known and all(uploads.blob_path(blob).exists() for blob in known)

    with pytest.raises(CommandError, match="at least 1 minute"):
        call_command("sweep_uploads", "--older-than", "0")


def test_upload_forms_post_without_javascript(dw) -> None:  # type: ignore[no-untyped-def]
    client = client_as("participant_staff", dw)
    page = client.get(reverse("document_upload", args=[dw.community.slug])).content.decode()
    assert 'enctype="multipart/form-data"' in page and "js/upload.js" in page and "<script>" not in page
    response = client.post(
        reverse("document_upload", args=[dw.community.slug]),
        {
            "file": upload("shelters.csv", b"name,beds\nHarbor High,300\n"),
            "title": "Shelters",
            "tags": "shelters, flood",
            "audience": "community",
            "retention": "working",
        },
    )
    document = Document.objects.get(title="Shelters")
    assert response.status_code == 302 and response["Location"] == reverse("document_detail", args=[document.pk])
    assert document.owning_agency == dw.participant
    assert sorted(t.name for t in document.tags.all()) == ["flood", "shelters"]
