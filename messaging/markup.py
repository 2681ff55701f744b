"""The one place where user-written Markdown becomes HTML.

Rendered once, at write time: Markdown to HTML, then sanitized with bleach against a
short allow-list, then bare URLs linked. The result is stored beside the source and shown
as is. bleach only receives security fixes now; keeping it behind ``render`` keeps a
later swap to this file.
"""

from __future__ import annotations

import re
from functools import partial

import bleach
import markdown
from bleach.linkifier import LinkifyFilter

ALLOWED_TAGS = frozenset(
    {"p", "br", "strong", "em", "del", "code", "pre", "blockquote", "ul", "ol", "li", "a", "hr", "h3", "h4"}
)
ALLOWED_ATTRIBUTES = {"a": ["href", "title", "rel"]}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})
MAX_SOURCE_LENGTH = 20_000

_markdown = partial(markdown.markdown, extensions=["fenced_code", "sane_lists", "nl2br"], output_format="html")


def _link_attributes(attrs: dict, new: bool = False) -> dict:
    """Every link leaves our origin without a referrer handle on us."""
    href_key = (None, "href")
    if href_key in attrs:
        attrs[(None, "rel")] = "nofollow noopener noreferrer"
    return attrs


_cleaner = bleach.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=ALLOWED_ATTRIBUTES,
    protocols=ALLOWED_PROTOCOLS,
    strip=False,
    strip_comments=True,
    # Linking inside the same pass: a second parse would escape entities in code twice.
    filters=[partial(LinkifyFilter, callbacks=[_link_attributes], skip_tags={"pre", "code"})],
)


def render(source: str) -> str:
    """Safe HTML for a Markdown source. Raw HTML in the source shows as text."""
    return _cleaner.clean(_markdown(source or "")).strip()


_MENTION = re.compile(r"(?<![\w@])@([A-Za-z][\w.\-]*(?: [A-Z][\w.\-]*){0,2})")


def mention_handles(source: str) -> list[str]:
    """The ``@handle`` strings in a source (outside code), for resolving to people or agencies."""
    without_code = re.sub(r"```.*?```|`[^`]*`", " ", source or "", flags=re.S)
    return list(dict.fromkeys(match.group(1).rstrip(".-") for match in _MENTION.finditer(without_code)))
