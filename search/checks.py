"""System checks for the search configuration."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register


@register()
def check_backend(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    from django.db import connection

    from search.background import WRITERS

    writer = getattr(settings, "SEARCH_INDEX_WRITER", "thread")
    if writer not in WRITERS:
        return [Error(f"SEARCH_INDEX_WRITER is {writer!r}.", hint="Choose thread or worker.", id="search.E003")]
    name = getattr(settings, "SEARCH_BACKEND", "whoosh")
    if name not in ("whoosh", "postgres"):
        return [Error(f"SEARCH_BACKEND is {name!r}.", hint="Choose whoosh or postgres.", id="search.E001")]
    if name == "postgres" and connection.vendor != "postgresql":
        return [
            Error(
                "SEARCH_BACKEND=postgres needs a PostgreSQL database.",
                hint="Set DATABASE_URL to PostgreSQL, or use SEARCH_BACKEND=whoosh.",
                id="search.E002",
            )
        ]
    return []
