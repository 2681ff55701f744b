"""Plain-text hygiene for what announcements carry into pages, feeds and email."""

from __future__ import annotations

import re

# XML 1.0 refuses these (all C0 controls but tab, newline and carriage return; DEL is
# allowed but no reader wants it; lone surrogates and the two non-characters cannot be
# encoded). Feeds must parse in every reader, so they never get into the database.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff\ud800-\udfff]")


def clean(value: str) -> str:
    """``value`` without characters XML 1.0 cannot carry."""
    return _UNSAFE.sub("", value or "")


def one_line(value: str) -> str:
    """``value`` cleaned, with runs of whitespace (line breaks too) as single spaces."""
    return " ".join(clean(value).split())
