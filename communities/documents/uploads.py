"""Receiving, checking, storing and serving document files.

An upload is written to a temporary name while its size is counted and its SHA-256
computed, checked against the allow-list (the bytes must match the extension, the type is
decided from both), has its text extracted (bounded, failing soft), and only then is moved
to a generated name under ``MEDIA_ROOT/documents/``. Actions write the database rows after
that, so a row never points at a partial file; when their transaction fails they delete
the file. The user's filename is kept as data only.

Downloads are always attachments with ``nosniff`` and a sandboxing Content-Security-Policy,
so an HTML or SVG payload never runs in our origin, whatever type it claims.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import threading
import time
import unicodedata
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse, HttpResponse, HttpResponseBase

from workspace.exceptions import ActionError

# --- The allow-list -------------------------------------------------------------------------


@dataclass(frozen=True)
class FileType:
    """One allowed kind of file: how it is named, what it is served as, how it is read."""

    key: str
    label: str
    content_type: str
    extensions: tuple[str, ...]
    family: str  # for filtering lists: pdf, word, spreadsheet, presentation, image, text

    @property
    def is_text(self) -> bool:
        return self.content_type.startswith("text/")


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"

FILE_TYPES: tuple[FileType, ...] = (
    FileType("pdf", "PDF", "application/pdf", (".pdf",), "pdf"),
    FileType("docx", "Word document", DOCX, (".docx",), "word"),
    FileType("xlsx", "Excel workbook", XLSX, (".xlsx",), "spreadsheet"),
    FileType("pptx", "PowerPoint presentation", PPTX, (".pptx",), "presentation"),
    FileType("csv", "CSV table", "text/csv", (".csv",), "spreadsheet"),
    FileType("txt", "Plain text", "text/plain", (".txt",), "text"),
    FileType("md", "Markdown text", "text/markdown", (".md", ".markdown"), "text"),
    FileType("png", "PNG image", "image/png", (".png",), "image"),
    FileType("jpeg", "JPEG image", "image/jpeg", (".jpg", ".jpeg"), "image"),
    FileType("gif", "GIF image", "image/gif", (".gif",), "image"),
)
BY_EXTENSION = {ext: ftype for ftype in FILE_TYPES for ext in ftype.extensions}
BY_KEY = {ftype.key: ftype for ftype in FILE_TYPES}
BY_CONTENT_TYPE = {ftype.content_type: ftype for ftype in FILE_TYPES}
FAMILIES = {
    "pdf": "PDF",
    "word": "Word documents",
    "spreadsheet": "Spreadsheets and tables",
    "presentation": "Presentations",
    "image": "Images",
    "text": "Text and Markdown",
}
ALLOWED_NAMES = "PDF, Word (.docx), Excel (.xlsx), PowerPoint (.pptx), CSV, text, Markdown, PNG, JPEG or GIF"
OOXML_MAIN_PART = {"word/document.xml": "docx", "xl/workbook.xml": "xlsx", "ppt/presentation.xml": "pptx"}
# What browsers sniff as HTML, SVG or XML (WHATWG MIME sniffing): text that starts like a
# web page is refused even as .txt, so it cannot be mistaken for one anywhere.
MARKUP_START = re.compile(
    rb"^\s*<(\?xml|!doctype\s+html|html|head|body|script|iframe|svg|object|embed|style|title|h1|div|font|table|a|b|p|br)"
    rb"[\s>/]",
    re.IGNORECASE,
)
TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def max_upload_bytes() -> int:
    return int(settings.DOCUMENT_MAX_UPLOAD_MB * 1024 * 1024)


def refuse(message: str, code: str = "invalid_file") -> ActionError:
    return ActionError(message, field="file", code=code)


# --- Filenames ------------------------------------------------------------------------------


def clean_filename(raw: str) -> str:
    """The user's filename as safe data: no folders, no control or invisible formatting
    characters (such as right-to-left overrides), no leading dots, at most 200 characters
    with the extension kept."""
    name = unicodedata.normalize("NFC", str(raw or ""))
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in name)
    name = " ".join(name.split()).strip(" .")
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = f"{stem[: 200 - len(ext) - 1]}.{ext}" if dot and len(ext) <= 10 else name[:200]
    return name


def extension(filename: str) -> str:
    return PurePosixPath(filename).suffix.lower()


# --- Storage --------------------------------------------------------------------------------


def _root() -> Path:
    return Path(settings.MEDIA_ROOT) / "documents"


def blob_path(blob: str) -> Path:
    """Where a stored blob lives. Blob names are generated here, never taken from input."""
    if not re.fullmatch(r"[0-9a-f]{2}/[0-9a-f]{32}", blob):
        raise ValueError(f"Not a document blob name: {blob!r}")
    return _root() / blob


@dataclass
class Prepared:
    """An upload that passed every check, waiting under a temporary name to be kept."""

    temp: Path
    filename: str
    size: int
    sha256: str
    file_type: FileType
    text: str
    text_status: str


def prepare(upload: UploadedFile) -> Prepared:
    """Write the upload to a temporary file and check it. Raises ``ActionError`` (field
    ``file``) and leaves nothing behind if the upload is refused."""
    if upload is None:
        raise refuse("Choose a file to upload.", code="required")
    filename = clean_filename(upload.name or "")
    expected = BY_EXTENSION.get(extension(filename))
    if not filename or expected is None:
        shown = extension(filename) or "without an extension"
        raise refuse(f"Files {shown} cannot be shared here. Upload {ALLOWED_NAMES}.", code="type_not_allowed")
    limit = max_upload_bytes()
    if upload.size is not None and upload.size > limit:
        raise refuse(f"The file is larger than the limit of {settings.DOCUMENT_MAX_UPLOAD_MB} MB.", code="too_large")
    temp, sha256 = _receive(upload, limit)
    try:
        size = temp.stat().st_size
        if size == 0:
            raise refuse("The file is empty.", code="empty")
        detected = detect(temp)
        if detected is None:
            raise refuse(
                f"The contents of “{filename}” are not a file type that can be shared here. Upload {ALLOWED_NAMES}.",
                code="type_not_allowed",
            )
        if not matches(detected, expected):
            raise refuse(
                f"“{filename}” is named as a {expected.label} file but its contents are {detected.label.lower()}. "
                "Check the file and upload it with its real extension.",
                code="type_mismatch",
            )
        # Text has no magic number: the extension tells plain text, Markdown and CSV apart.
        file_type = expected if detected.is_text else detected
        text, text_status = extract_text(temp, file_type)
        return Prepared(
            temp=temp,
            filename=filename,
            size=size,
            sha256=sha256,
            file_type=file_type,
            text=text,
            text_status=text_status,
        )
    except BaseException:
        discard(temp)
        raise


def _receive(upload: UploadedFile, limit: int) -> tuple[Path, str]:
    """Copy the upload to a new temporary file, counting and hashing as it goes."""
    incoming = _root() / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    temp = incoming / f"{secrets.token_hex(16)}.part"
    digest = hashlib.sha256()
    written = 0
    try:
        with temp.open("xb") as out:
            upload.seek(0)
            for chunk in upload.chunks():
                written += len(chunk)
                if written > limit:
                    raise refuse(
                        f"The file is larger than the limit of {settings.DOCUMENT_MAX_UPLOAD_MB} MB.", code="too_large"
                    )
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        discard(temp)
        raise
    return temp, digest.hexdigest()


def keep(prepared: Prepared) -> str:
    """Move a prepared upload to its generated name (atomically, on one filesystem)."""
    token = secrets.token_hex(16)
    blob = f"{token[:2]}/{token}"
    final = blob_path(blob)
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(prepared.temp, final)
    return blob


def discard(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def delete_blob(blob: str) -> None:
    discard(blob_path(blob))


def sweep(
    older_than_seconds: float = 3600, known: Callable[[], set[str]] | None = None, *, delete: bool = True
) -> list[str]:
    """Delete temporary files older than the given age and, if ``known`` is given, stored
    blobs no version names (left by a transaction rolled back around an action). Returns
    what was deleted (with ``delete=False``: what would be, deleting nothing)."""
    root = _root()
    cutoff = time.time() - older_than_seconds
    deleted = []
    for part in (root / "incoming").glob("*.part") if (root / "incoming").is_dir() else ():
        if part.stat().st_mtime < cutoff:
            if delete:
                discard(part)
            deleted.append(str(part.relative_to(root)))
    if known is not None and root.is_dir():
        names = known()
        for path in root.glob("[0-9a-f][0-9a-f]/*"):
            blob = str(path.relative_to(root).as_posix())
            if blob not in names and path.stat().st_mtime < cutoff:
                if delete:
                    discard(path)
                deleted.append(blob)
    return deleted


# --- Deciding the type from the bytes -------------------------------------------------------


def detect(path: Path) -> FileType | None:
    """The allowed type the bytes are, or ``None``. The extension is not consulted."""
    with path.open("rb") as f:
        head = f.read(8192)
    if head.startswith(b"%PDF-"):
        return BY_KEY["pdf"]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return BY_KEY["png"]
    if head.startswith(b"\xff\xd8\xff"):
        return BY_KEY["jpeg"]
    if head.startswith((b"GIF87a", b"GIF89a")):
        return BY_KEY["gif"]
    if head.startswith(b"PK\x03\x04"):
        return _detect_ooxml(path)
    return _detect_text(path, head)


def _detect_ooxml(path: Path) -> FileType | None:
    """Office Open XML: a zip with a content-types part and one known main part, without
    macros, whose declared unpacked size stays within bounds (no zip bombs)."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    names = {info.filename for info in infos}
    if "[Content_Types].xml" not in names:
        return None
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        return None
    if sum(info.file_size for info in infos) > settings.DOCUMENT_MAX_UNPACKED_MB * 1024 * 1024:
        return None
    found = [key for part, key in OOXML_MAIN_PART.items() if part in names]
    return BY_KEY[found[0]] if len(found) == 1 else None


def _detect_text(path: Path, head: bytes) -> FileType | None:
    """UTF-8 text with no control characters that does not start like a web page. Text
    has no magic number: plain text, Markdown and CSV are told apart by the extension."""
    if MARKUP_START.match(head.removeprefix(b"\xef\xbb\xbf")):
        return None
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    if TEXT_CONTROL.search(text):
        return None
    return BY_KEY["txt"]


def matches(detected: FileType, expected: FileType) -> bool:
    return detected == expected or (detected.key == "txt" and expected.is_text)


# --- Text extraction ------------------------------------------------------------------------

_extractors = ThreadPoolExecutor(max_workers=2, thread_name_prefix="document-text")


class _Deadline(Exception):
    pass


def extract_text(path: Path, file_type: FileType) -> tuple[str, str]:
    """The file's text for search, and how that went. Bounded in time
    (``DOCUMENT_EXTRACT_SECONDS``) and size (``DOCUMENT_EXTRACT_MAX_CHARS``); any failure
    gives no text, never a refused upload."""
    reader = {"pdf": _pdf_text, "docx": _docx_text}.get(file_type.key)
    if reader is None and not file_type.is_text:
        return "", "none"
    if reader is None:
        reader = _plain_text
    limit = settings.DOCUMENT_EXTRACT_MAX_CHARS
    seconds = settings.DOCUMENT_EXTRACT_SECONDS
    stop = threading.Event()
    future = _extractors.submit(reader, path, limit, time.monotonic() + seconds, stop)
    try:
        text = future.result(timeout=seconds)
    except FutureTimeout:
        stop.set()  # the reader checks it between pages and gives up
        return "", "failed"
    except Exception:  # noqa: BLE001  (a broken file must not refuse the upload)
        return "", "failed"
    text = TEXT_CONTROL.sub(" ", text).strip()
    if len(text) > limit:
        return text[:limit], "truncated"
    return text, "extracted" if text else "none"


def _check(deadline: float, stop: threading.Event) -> None:
    if stop.is_set() or time.monotonic() > deadline:
        raise _Deadline


def _plain_text(path: Path, limit: int, deadline: float, stop: threading.Event) -> str:
    with path.open("rb") as f:
        raw = f.read(limit * 4 + 4)
    return raw.decode("utf-8-sig", errors="ignore")[: limit + 1]


def _pdf_text(path: Path, limit: int, deadline: float, stop: threading.Event) -> str:
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    if reader.is_encrypted:
        return ""
    parts: list[str] = []
    total = 0
    for page in reader.pages:
        _check(deadline, stop)
        text = page.extract_text() or ""
        parts.append(text)
        total += len(text)
        if total > limit:
            break
    return "\n".join(parts)


def _docx_text(path: Path, limit: int, deadline: float, stop: threading.Event) -> str:
    import docx

    document = docx.Document(str(path))
    parts: list[str] = []
    total = 0
    for paragraph in document.paragraphs:
        parts.append(paragraph.text)
        total += len(paragraph.text)
        if total > limit:
            return "\n".join(parts)
    _check(deadline, stop)
    for table in document.tables:
        for row in table.rows:
            _check(deadline, stop)
            line = "\t".join(cell.text for cell in row.cells)
            parts.append(line)
            total += len(line)
            if total > limit:
                return "\n".join(parts)
    return "\n".join(parts)


# --- Serving --------------------------------------------------------------------------------

DOWNLOAD_CSP = "sandbox; default-src 'none'"


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the exact name in RFC 5987 form."""
    fallback = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    fallback = re.sub(r"[^A-Za-z0-9._() -]", "_", fallback).strip(" .") or "document"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def served_type(content_type: str) -> str:
    return f"{content_type}; charset=utf-8" if content_type.startswith("text/") else content_type


def file_response(*, blob: str, filename: str, content_type: str) -> HttpResponseBase:
    """The download of a stored blob: from the front proxy when ``DOCUMENT_X_ACCEL_PREFIX``
    is set (after our permission check), else streamed by Django."""
    prefix = settings.DOCUMENT_X_ACCEL_PREFIX
    response: HttpResponseBase
    if prefix:
        response = HttpResponse(content_type=served_type(content_type))
        response["X-Accel-Redirect"] = f"{prefix.rstrip('/')}/{blob}"
    else:
        response = FileResponse(blob_path(blob).open("rb"), content_type=served_type(content_type))
    response["Content-Disposition"] = content_disposition(filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = DOWNLOAD_CSP
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    # Permission-checked content: never kept by shared caches, and not reused by the
    # browser after access is revoked.
    response["Cache-Control"] = "private, no-store"
    return response
