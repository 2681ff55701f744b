"""The search box's little language, parsed once into a tree both backends compile.

    flood gauge          both words (AND is implied)
    "river gauge"        the phrase
    evac*                words starting with "evac"
    flood OR storm       either
    flood NOT rain       flood without rain; -rain works too
    (flood OR storm) gauge

Operators are upper case, so "or" and "not" are ordinary words. Nothing typed here
raises: unbalanced quotes and brackets are closed, stray operators are dropped, and
what cannot be searched at all comes back as a ``message`` fit to show; ``notices`` say
what was changed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

MAX_QUERY_CHARS = 500
MAX_TERMS = 32
MIN_PREFIX_CHARS = 2


@dataclass(frozen=True)
class Word:
    text: str
    prefix: bool = False


@dataclass(frozen=True)
class Phrase:
    words: tuple[str, ...]


@dataclass(frozen=True)
class And:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    part: Node


Node = Word | Phrase | And | Or | Not


@dataclass(frozen=True)
class Parsed:
    node: Node | None
    message: str = ""
    notices: tuple[str, ...] = field(default=())


# --- Lexing -------------------------------------------------------------------------------

_OPERATORS = {"AND", "OR", "NOT"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_WORD_CHARS = re.compile(r"\w", re.UNICODE)


def _has_letters(text: str) -> bool:
    return bool(_WORD_CHARS.search(text))


def _lex(text: str) -> tuple[list[tuple[str, object]], list[str]]:
    """Split into ("word", Word), ("phrase", Phrase), ("op", name), ("(", None), (")", None)."""
    notices: list[str] = []
    tokens: list[tuple[str, object]] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char.isspace():
            i += 1
        elif char == '"' or char == "“" or char == "”":
            end = min((text.find(q, i + 1) for q in '"”“' if text.find(q, i + 1) != -1), default=-1)
            if end == -1:
                notices.append("A quotation mark was not closed, so the rest was searched as a phrase.")
                end = n
            words = tuple(w for w in text[i + 1 : end].split() if _has_letters(w))
            if len(words) == 1:
                tokens.append(("word", Word(words[0].strip("*"))))
            elif words:
                tokens.append(("phrase", Phrase(tuple(w.strip("*") for w in words))))
            i = end + 1
        elif char in "()":
            tokens.append((char, None))
            i += 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in '()"“”':
                j += 1
            raw = text[i:j]
            i = j
            if raw in _OPERATORS:
                tokens.append(("op", raw))
                continue
            negated = False
            while raw[:1] in ("-", "+"):
                negated = negated or raw[0] == "-"
                raw = raw[1:]
            prefix = raw.endswith("*")
            raw = raw.replace("*", "")
            if not _has_letters(raw):
                continue
            if prefix and len(raw) < MIN_PREFIX_CHARS:
                notices.append(f"Use at least {MIN_PREFIX_CHARS} letters before *; “{raw}*” was searched as a word.")
                prefix = False
            if negated:
                tokens.append(("op", "NOT"))
            tokens.append(("word", Word(raw, prefix=prefix)))
    return tokens, notices


# --- Parsing ------------------------------------------------------------------------------


class _Parser:
    """Recursive descent, forgiving: anything out of place is skipped, never an error."""

    def __init__(self, tokens: list[tuple[str, object]]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> tuple[str, object] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, object]:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def parse(self) -> Node | None:
        parts = []
        while self.peek() is not None:
            node = self.expression()
            if node is not None:
                parts.append(node)
            elif self.peek() is not None:
                self.take()  # a stray ")" or operator at the top level
        return _join(And, parts)

    def expression(self) -> Node | None:
        parts = [self.conjunction()]
        while self.peek() == ("op", "OR"):
            self.take()
            parts.append(self.conjunction())
        return _join(Or, [p for p in parts if p is not None])

    def conjunction(self) -> Node | None:
        parts: list[Node | None] = []
        while (token := self.peek()) is not None and token != ("op", "OR") and token[0] != ")":
            if token == ("op", "AND"):
                self.take()
                continue
            parts.append(self.unary())
        return _join(And, [p for p in parts if p is not None])

    def unary(self) -> Node | None:
        token = self.peek()
        if token == ("op", "NOT"):
            self.take()
            operand = self.unary() if self.peek() not in (None, ("op", "OR")) and self.peek()[0] != ")" else None
            return Not(operand) if operand is not None else None
        return self.primary()

    def primary(self) -> Node | None:
        kind, value = self.take()
        if kind == "(":
            inner = self.expression()
            if self.peek() is not None and self.peek()[0] == ")":
                self.take()
            return inner
        if kind in ("word", "phrase"):
            return value  # type: ignore[return-value]
        return None  # an operator where a word belongs


def _join(kind: type[And] | type[Or], parts: list[Node]) -> Node | None:
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    flat: list[Node] = []
    for part in parts:
        flat.extend(part.parts if isinstance(part, kind) else [part])
    return kind(tuple(flat))


def _positive(node: Node) -> bool:
    """True if the tree can match by what it contains, not only by what it excludes."""
    if isinstance(node, Not):
        return False
    if isinstance(node, And):
        return any(_positive(p) for p in node.parts)
    if isinstance(node, Or):
        return all(_positive(p) for p in node.parts)
    return True


def parse(text: str | None) -> Parsed:
    """Parse what the person typed. Never raises."""
    text = unicodedata.normalize("NFKC", _CONTROL.sub(" ", text or "")).strip()
    if not text:
        return Parsed(None, message="Type a word or two to search for.")
    notices: list[str] = []
    if len(text) > MAX_QUERY_CHARS:
        text = text[:MAX_QUERY_CHARS]
        notices.append(f"Only the first {MAX_QUERY_CHARS} characters of your search were used.")
    tokens, lex_notices = _lex(text)
    notices.extend(lex_notices)
    positions = [i for i, t in enumerate(tokens) if t[0] in ("word", "phrase")]
    if len(positions) > MAX_TERMS:
        notices.append(f"Only the first {MAX_TERMS} words of your search were used.")
        tokens = tokens[: positions[MAX_TERMS - 1] + 1]
    node = _Parser(tokens).parse()
    if node is None:
        if any(t[0] in ("word", "phrase") for t in tokens):
            return Parsed(None, message="Add a word to look for besides the ones to leave out.", notices=tuple(notices))
        return Parsed(None, message="Your search has no words to look for, only operators or symbols.")
    if not _positive(node):
        return Parsed(None, message="Add a word to look for besides the ones to leave out.", notices=tuple(notices))
    return Parsed(node, notices=tuple(dict.fromkeys(notices)))


def describe(node: Node) -> str:
    """The tree written back in the search syntax (for logs and tests)."""
    if isinstance(node, Word):
        return node.text + ("*" if node.prefix else "")
    if isinstance(node, Phrase):
        return '"' + " ".join(node.words) + '"'
    if isinstance(node, Not):
        return "NOT " + describe(node.part)
    joiner = " OR " if isinstance(node, Or) else " "
    return "(" + joiner.join(describe(p) for p in node.parts) + ")"
