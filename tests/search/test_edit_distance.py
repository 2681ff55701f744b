"""Typo tolerance's distance: insert, delete, replace, or swap two neighbours, bounded."""

from __future__ import annotations

import random

from whoosh.support.levenshtein import damerau_levenshtein

from search.backends.common import edit_distance


def test_a_swap_of_neighbours_is_one_edit() -> None:
    assert edit_distance("shelter", "sheltre", 1) == 1
    assert edit_distance("teh", "the", 1) == 1
    assert edit_distance("flood", "flood", 1) == 0
    assert edit_distance("flood", "blood", 1) == 1
    assert edit_distance("flood", "floods", 1) == 1


def test_beyond_the_limit_answers_limit_plus_one() -> None:
    assert edit_distance("flood", "bloom", 1) == 2
    assert edit_distance("evacuation", "education", 1) == 2
    assert edit_distance("a", "abcdef", 2) == 3


def test_agrees_with_an_unbounded_reference_within_every_limit() -> None:
    rng = random.Random(11)
    for _ in range(3000):
        a = "".join(rng.choice("abcd") for _ in range(rng.randint(0, 7)))
        b = "".join(rng.choice("abcd") for _ in range(rng.randint(0, 7)))
        reference = damerau_levenshtein(a, b)
        for limit in (0, 1, 2):
            found = edit_distance(a, b, limit)
            assert found == (reference if reference <= limit else limit + 1), (a, b, limit)


def test_the_one_edit_shortcut_keeps_every_near_word() -> None:
    """The whoosh compiler skips words whose shared start and end leave room for more than
    one edit; it must never skip one that is one edit away."""
    from search.backends.whoosh_backend import _shared_ends

    rng = random.Random(12)
    for _ in range(5000):
        a = "".join(rng.choice("abc") for _ in range(rng.randint(1, 7)))
        b = "".join(rng.choice("abc") for _ in range(rng.randint(1, 7)))
        if damerau_levenshtein(a, b) <= 1:
            assert _shared_ends(a, b) >= max(len(a), len(b)) - 2, (a, b)
