"""The event log: every change a live client must see, in order, per stream.

``append`` writes the event in the caller's transaction and, on commit, sends it on the
channel layer once, already serialized: consumers forward the text as is. Streams are
``thread:<id>``, ``community:<id>`` and ``user:<id>``; each has its own gap-free ``seq``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import F, Min

from messaging.models import StreamCursor, StreamEvent
from workspace.realtime import send_many_on_commit, send_on_commit

# Every server process's hub (messaging/hub.py) is a member of this group while it serves
# any stream: the events of one ``append_many`` reach each process in a few messages on it
# (``stream.batch``), instead of one message per stream.
HUBS_GROUP = "stream-hubs"
# Events per ``stream.batch`` message (an alert's frame is about half a kilobyte). A batch
# in several messages is slower to finish: with the Redis layer, the later messages queue
# for connections behind the traffic the first ones set off (acknowledgements), so an
# alert to 1,000 people is one message (docs/performance.md, "Urgent alerts").
BATCH_EVENTS = 1000


def stream_group(stream: str) -> str:
    """The channel-layer group of a stream (group names allow no colon)."""
    return "stream." + stream.replace(":", ".")


def frame(event: StreamEvent) -> str:
    """The wire frame of an event, serialized once."""
    return json.dumps(
        {"type": "event", "stream": event.stream, "seq": event.seq, "event": event.kind, "data": event.data},
        cls=DjangoJSONEncoder,
        separators=(",", ":"),
    )


def _next_seq(stream: str) -> int:
    """Allocate the stream's next seq. The UPDATE locks the cursor row until commit, so
    concurrent writers to one stream take turns and seqs never repeat or skip."""
    if not StreamCursor.objects.filter(stream=stream).update(seq=F("seq") + 1):
        try:
            with transaction.atomic():
                StreamCursor.objects.create(stream=stream, seq=1)
                return 1
        except IntegrityError:
            StreamCursor.objects.filter(stream=stream).update(seq=F("seq") + 1)
    return StreamCursor.objects.values_list("seq", flat=True).get(stream=stream)


def append(stream: str, kind: str, data: dict[str, Any]) -> StreamEvent:
    """Record an event on ``stream`` and send it after commit. Call inside a transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("events.append must run inside the action's transaction")
    # Round-trip through JSON so the stored data and the sent frame are identical.
    data = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    event = StreamEvent.objects.create(stream=stream, seq=_next_seq(stream), kind=kind, data=data)
    send_on_commit(
        stream_group(stream), {"type": "stream.event", "stream": stream, "seq": event.seq, "text": frame(event)}
    )
    return event


def current_seq(stream: str) -> int:
    return StreamCursor.objects.filter(stream=stream).values_list("seq", flat=True).first() or 0


@dataclass(frozen=True)
class Replay:
    """What a client that has ``since`` must receive: the missed events, or a resync."""

    events: list[StreamEvent]
    resync: bool
    seq: int


def replay(stream: str, since: int | None, limit: int | None = None) -> Replay:
    """Events after ``since`` in order. ``resync`` when the log no longer holds them all
    (pruned), or when more are missing than a client should replay one by one."""
    seq = current_seq(stream)
    if since is None or since >= seq:
        return Replay([], False, seq)
    limit = limit or settings.EVENT_REPLAY_LIMIT
    oldest = StreamEvent.objects.filter(stream=stream).aggregate(oldest=Min("seq"))["oldest"]
    if since < 0 or oldest is None or oldest > since + 1 or seq - since > limit:
        return Replay([], True, seq)
    events = list(StreamEvent.objects.filter(stream=stream, seq__gt=since, seq__lte=seq).order_by("seq"))
    return Replay(events, False, seq)


def append_many(streams: list[str], kind: str, data: dict[str, Any]) -> int:
    """The same event on many streams (an alert to each recipient's own stream), in a
    fixed number of queries: one cursor UPDATE, one read, one INSERT. Returns how many."""
    if not streams:
        return 0
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("events.append_many must run inside the action's transaction")
    streams = sorted(set(streams))  # a fixed lock order: concurrent fan-outs cannot deadlock
    data = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    StreamCursor.objects.bulk_create([StreamCursor(stream=s, seq=0) for s in streams], ignore_conflicts=True)
    StreamCursor.objects.filter(stream__in=streams).update(seq=F("seq") + 1)
    seqs = dict(StreamCursor.objects.filter(stream__in=streams).values_list("stream", "seq"))
    rows = StreamEvent.objects.bulk_create([StreamEvent(stream=s, seq=seqs[s], kind=kind, data=data) for s in streams])
    # One message per process per BATCH_EVENTS events, not one per stream: each process's hub
    # hands each event to its own followers of that stream. A lost batch is a gap like any
    # other lost event: the next event or a re-subscription fills it from the log.
    batch = [{"stream": event.stream, "seq": event.seq, "text": frame(event)} for event in rows]
    send_many_on_commit(
        [
            (HUBS_GROUP, {"type": "stream.batch", "events": batch[start : start + BATCH_EVENTS]})
            for start in range(0, len(batch), BATCH_EVENTS)
        ]
    )
    return len(rows)
