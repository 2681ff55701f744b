"""Small pieces both backends share."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from django.utils import timezone

from search.backends import Filters


def date_bounds(filters: Filters, *, naive_utc: bool = False) -> tuple[datetime | None, datetime | None]:
    """The filter's dates as [start, end) instants: whole local days, ``date_to`` included."""

    def instant(day, plus_days: int = 0) -> datetime:  # type: ignore[no-untyped-def]
        moment = timezone.make_aware(datetime.combine(day + timedelta(days=plus_days), time.min))
        return moment.astimezone(UTC).replace(tzinfo=None) if naive_utc else moment

    start = instant(filters.date_from) if filters.date_from else None
    end = instant(filters.date_to, 1) if filters.date_to else None
    return start, end


# Typo tolerance: words of 5 to 7 letters may be one edit off, longer ones two.
TYPO_MIN_CHARS = 5
TYPO_LONG_CHARS = 8


def typo_distance(word: str) -> int:
    """How many edits a misspelling of ``word`` may be from it (0: exact only)."""
    if len(word) < TYPO_MIN_CHARS:
        return 0
    return 1 if len(word) < TYPO_LONG_CHARS else 2


def edit_distance(a: str, b: str, limit: int) -> int:
    """Edits between two words (insert, delete, replace, or swap two neighbours: "teh" is
    one from "the"), or ``limit + 1`` as soon as it must exceed ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    before: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            found = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                found = min(found, before[j - 2] + 1)
            current.append(found)
        # A later row is at least this row's minimum, or the one before's plus a swap.
        if min(current) > limit and min(previous) + 1 > limit:
            return limit + 1
        before, previous = previous, current
    return min(previous[-1], limit + 1)
