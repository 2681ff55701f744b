"""The search box's language: what people type becomes a tree, or a message; never an error."""

from __future__ import annotations

import pytest

from search.syntax import MAX_QUERY_CHARS, MAX_TERMS, And, Not, Or, Phrase, Word, describe, parse


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("flood", "flood"),
        ("flood gauge", "(flood gauge)"),
        ("flood AND gauge", "(flood gauge)"),
        ("flood OR storm", "(flood OR storm)"),
        ("flood or storm", "(flood or storm)"),  # lower case: ordinary words
        ("flood NOT rain", "(flood NOT rain)"),
        ("flood -rain", "(flood NOT rain)"),
        ('"river gauge" flood', '("river gauge" flood)'),
        ("evac*", "evac*"),
        ("(flood OR storm) gauge", "((flood OR storm) gauge)"),
        ("a OR b c", "(a OR (b c))"),
    ],
)
def test_parses(text: str, tree: str) -> None:
    parsed = parse(text)
    assert parsed.node is not None and describe(parsed.node) == tree
    assert parsed.message == ""


def test_tree_shapes() -> None:
    parsed = parse('"river gauge" evac* -rain')
    assert parsed.node == And((Phrase(("river", "gauge")), Word("evac", prefix=True), Not(Word("rain"))))
    assert parse("a OR b").node == Or((Word("a"), Word("b")))


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "Type a word"),
        ("   \t ", "Type a word"),
        ("AND OR NOT", "no words"),
        ("*** --- ((( )))", "no words"),
        ('""', "no words"),
        ("-rain", "besides"),
        ("NOT rain", "besides"),
        ("NOT a OR NOT b", "besides"),
    ],
)
def test_nothing_to_search_for_gives_a_message(text: str, says: str) -> None:
    parsed = parse(text)
    assert parsed.node is None and says in parsed.message


@pytest.mark.parametrize(
    ("text", "tree", "notice"),
    [
        ('"river gauge', '"river gauge"', "quotation mark"),
        ("a*", "a", "at least 2 letters"),
        ("x" * (MAX_QUERY_CHARS + 10), "x" * MAX_QUERY_CHARS, "first 500 characters"),
        (" ".join(f"w{n}" for n in range(MAX_TERMS + 8)), None, f"first {MAX_TERMS} words"),
    ],
)
def test_repairs_are_noticed(text: str, tree: str | None, notice: str) -> None:
    parsed = parse(text)
    assert parsed.node is not None
    if tree is not None:
        assert describe(parsed.node) == tree
    assert any(notice in n for n in parsed.notices)


@pytest.mark.parametrize("text", ["((flood", "flood)))", "flood OR", "OR flood", "flood AND", "NOT NOT NOT flood x"])
def test_stray_operators_and_brackets_are_forgiven(text: str) -> None:
    parsed = parse(text)
    assert parsed.node is not None or parsed.message


def test_control_characters_and_non_latin_words() -> None:
    assert describe(parse("flo\x00od Привет 東京").node) == "(flo od Привет 東京)"
