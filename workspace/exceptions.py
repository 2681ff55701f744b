"""Errors that actions raise for the adapters (views, consumers, commands) to show."""

from __future__ import annotations


class ActionError(Exception):
    """A request that cannot be carried out, with a message fit to show the person.

    An action raises it before changing anything (or inside its transaction, which then
    rolls back), so bad input never leaves a partial change.
    """

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code
