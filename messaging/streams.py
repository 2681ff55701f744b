"""Synchronous helpers behind the WebSocket consumer: naming and authorizing streams,
and turning client frames into action calls. The consumer calls these through
``database_sync_to_async`` and stays a thin adapter."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied

from communities.models import Community
from messaging import actions, events
from messaging.incidents import actions as incident_actions
from messaging.models import Alert, Incident, Message, Thread
from workspace import policy
from workspace.exceptions import ActionError
from workspace.models import User

STREAM = re.compile(r"^(thread|community|user|incident):([1-9][0-9]{0,17})$")


class FrameError(Exception):
    """A frame the server refuses, with the error code the protocol documents."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


NOT_FOUND = FrameError("not_found", "No such stream, or you may not see it.")


def parse_stream(value: Any) -> tuple[str, int]:
    if not isinstance(value, str) or not (match := STREAM.match(value)):
        raise FrameError("bad_stream", "Streams look like thread:42, community:7, incident:5 or user:3.")
    return match.group(1), int(match.group(2))


def fresh_user(user_id: int) -> User | None:
    """The person as the database has them now (active, groups), never the connect-time copy."""
    return User.objects.filter(pk=user_id, is_active=True).first()


def may_subscribe(user_id: int, stream: str) -> bool:
    kind, pk = parse_stream(stream)
    user = fresh_user(user_id)
    if user is None:
        return False
    if kind == "user":
        return pk == user.pk
    if kind == "community":
        community = Community.objects.filter(pk=pk).first()
        return community is not None and policy.can(user, "view_content", community)
    if kind == "incident":
        incident = Incident.objects.select_related("community").filter(pk=pk).first()
        return incident is not None and policy.can(user, "view", incident)
    thread = Thread.objects.select_related("community").filter(pk=pk).first()
    return thread is not None and policy.can(user, "view", thread)


def still_allowed(user_id: int, streams: list[str]) -> set[str]:
    """Which of ``streams`` the person may still see (after an access change)."""
    return {stream for stream in streams if may_subscribe(user_id, stream)}


@dataclass(frozen=True)
class Subscribed:
    seq: int
    frames: list[str]
    resync: bool


def subscribe(user_id: int, stream: str, since: int | None) -> Subscribed:
    if not may_subscribe(user_id, stream):
        raise NOT_FOUND
    found = events.replay(stream, since)
    return Subscribed(found.seq, [events.frame(event) for event in found.events], found.resync)


def missing_frames(stream: str, after: int, upto: int) -> list[str]:
    """Events the channel layer dropped (a seq gap), read back from the log."""
    from messaging.models import StreamEvent

    rows = StreamEvent.objects.filter(stream=stream, seq__gt=after, seq__lte=upto).order_by("seq")
    return [events.frame(event) for event in rows]


def _thread_for(user: User, value: Any, action: str) -> Thread:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise FrameError("bad_frame", "'thread' must be a positive integer.")
    thread = Thread.objects.select_related("community").filter(pk=value).first()
    if thread is None or not policy.can(user, "view", thread):
        raise NOT_FOUND
    return thread


def _message_for(user: User, value: Any) -> Message:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise FrameError("bad_frame", "'message' must be a positive integer.")
    message = Message.objects.select_related("thread__community", "author", "author_agency").filter(pk=value).first()
    if message is None or not policy.can(user, "view", message.thread):
        raise NOT_FOUND
    return message


def _text(frame: dict[str, Any], field: str) -> str:
    value = frame.get(field)
    if not isinstance(value, str):
        raise FrameError("bad_frame", f"'{field}' must be a string.")
    return value


def handle_write(user_id: int, frame: dict[str, Any]) -> dict[str, Any]:
    """Carry out a post, edit, delete or react frame; return the acknowledgement frame."""
    user = fresh_user(user_id)
    if user is None:
        raise FrameError("signed_out", "Your session has ended.")
    kind = frame["type"]
    try:
        if kind == "post":
            body = _text(frame, "body")
            try:
                client_id = uuid.UUID(_text(frame, "client_id"))
            except ValueError as exc:
                raise FrameError("bad_frame", "'client_id' must be a UUID.") from exc
            reply_to = frame.get("reply_to")
            if reply_to is not None and (not isinstance(reply_to, int) or isinstance(reply_to, bool)):
                raise FrameError("bad_frame", "'reply_to' must be an integer.")
            thread = _thread_for(user, frame.get("thread"), "post")
            posted = actions.post_message(
                actor=user, thread=thread, body=body, client_id=client_id, reply_to_id=reply_to
            )
            return {"type": "posted", "client_id": str(client_id), "message": posted.message.pk, "thread": thread.pk}
        # Field types first, so a malformed frame gets bad_frame whatever it points at.
        body = _text(frame, "body") if kind == "edit" else ""
        emoji, on = (_text(frame, "emoji"), frame.get("on", True)) if kind == "react" else ("", True)
        if not isinstance(on, bool):
            raise FrameError("bad_frame", "'on' must be true or false.")
        if kind == "ack":
            alert_id = frame.get("alert")
            if not isinstance(alert_id, int) or isinstance(alert_id, bool) or alert_id < 1:
                raise FrameError("bad_frame", "'alert' must be a positive integer.")
            alert = Alert.objects.filter(pk=alert_id).first()
            if alert is None:
                raise NOT_FOUND
            try:
                receipt = incident_actions.acknowledge(actor=user, alert=alert)
            except PermissionDenied as exc:
                raise NOT_FOUND from exc
            return {"type": "acknowledged", "alert": alert.pk, "at": receipt.acknowledged_at.isoformat()}
        message = _message_for(user, frame.get("message"))
        if kind == "edit":
            actions.edit_message(actor=user, message=message, body=body)
        elif kind == "delete":
            actions.delete_message(actor=user, message=message)
        else:
            actions.react(actor=user, message=message, emoji=emoji, on=on)
        return {"type": "done", "message": message.pk}
    except PermissionDenied as exc:
        raise FrameError("forbidden", "You may not do that here.") from exc
    except ActionError as exc:
        raise FrameError(exc.code, exc.message) from exc


def identity(user_id: int, thread_id: Any) -> dict[str, Any]:
    """Who is typing or present where, after checking the person may see the thread."""
    user = fresh_user(user_id)
    if user is None:
        raise FrameError("signed_out", "Your session has ended.")
    thread = _thread_for(user, thread_id, "view")
    agency = user.agency
    return {"thread": thread.pk, "user": user.pk, "name": user.full_name, "agency": agency.short_name if agency else ""}
