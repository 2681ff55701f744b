"""The baseline for ``bench/alerts.py``: the same message pattern as an urgent alert, on the
smallest ``websockets`` server.

It speaks the subset of the realtime protocol the benchmark uses: ``hello``; ``subscribe``
→ ``subscribed`` (``user:<id>`` for a recipient, ``incident:<id>`` for the coordinator);
an ``alert`` frame from the coordinator (standing in for the project's form post) → one
``alert.sent`` event to each recipient's own stream and one, with the roll-up, to the
incident stream; ``ack`` → ``acknowledged`` to the sender, ``alert.acknowledged`` on the
sender's stream and an ``alert.acknowledged`` event with the whole roll-up (per agency and
in all, shaped like ``messaging.incidents.actions.rollup``) to the incident stream. The
people and their agencies come from a JSON file (``[[user id, agency id, short name],
...]``). No sign-in, no database, no channel layer: counting in memory is the floor.

    .venv/bin/python bench/raw_alerts.py --port 8765 --people people.json
"""

import argparse
import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

from websockets.asyncio.server import broadcast, serve

people: dict[int, tuple[int, str]] = {}  # user id -> agency id, short name
recipients: dict[int, object] = {}  # user id -> socket subscribed to user:<id>
coordinators: set = set()  # sockets subscribed to incident:<id>
incident_stream = "incident:0"
seqs: dict[str, int] = {}
alert_id = 0
acknowledged: dict[int, str] = {}  # user id -> when, for the current alert
per_agency: dict[int, list] = {}  # agency id -> [short name, people, acknowledged, first acknowledgement]


def dumps(value: dict) -> str:
    return json.dumps(value, separators=(",", ":"))


def event(stream: str, kind: str, data: dict) -> str:
    seqs[stream] = seqs.get(stream, 0) + 1
    return dumps({"type": "event", "stream": stream, "seq": seqs[stream], "event": kind, "data": data})


def rollup() -> dict:
    """The roll-up from counters kept per agency (the project recounts receipts instead)."""
    agencies = [
        {
            "agency": agency,
            "short_name": short_name,
            "people": total,
            "acknowledged": done,
            "done": done >= 1,
            "first_ack": first,
        }
        for agency, (short_name, total, done, first) in sorted(per_agency.items(), key=lambda item: item[1][0])
    ]
    return {
        "alert": alert_id,
        "agencies": agencies,
        "agencies_done": sum(1 for a in agencies if a["done"]),
        "agencies_total": len(agencies),
        "people_acknowledged": sum(a["acknowledged"] for a in agencies),
        "people_total": sum(a["people"] for a in agencies),
    }


async def handler(ws) -> None:  # type: ignore[no-untyped-def]
    global alert_id, incident_stream
    await ws.send(dumps({"type": "hello", "user": 0}))
    user = None
    try:
        async for text in ws:
            frame = json.loads(text)
            kind = frame["type"]
            if kind == "subscribe":
                stream = frame["stream"]
                if stream.startswith("user:"):
                    user = int(stream.split(":")[1])
                    recipients[user] = ws
                else:
                    coordinators.add(ws)
                    incident_stream = stream
                await ws.send(dumps({"type": "subscribed", "stream": stream, "seq": seqs.get(stream, 0), "ref": None}))
            elif kind == "alert":
                alert_id += 1
                acknowledged.clear()
                for row in per_agency.values():
                    row[2:] = [0, None]
                now = datetime.now(UTC).isoformat()
                data = {
                    "id": alert_id,
                    "incident": {"id": frame["incident"], "name": "Benchmark incident"},
                    "html": f"<p>{frame['body']}</p>",
                    "sent_by": {"id": 1, "name": "Dana Whitfield"},
                    "sent_at": now,
                }
                for person, socket in list(recipients.items()):
                    broadcast([socket], event(f"user:{person}", "alert.sent", data))  # written now, not awaited
                broadcast(coordinators, event(incident_stream, "alert.sent", data | {"rollup": rollup()}))
            elif kind == "ack" and user is not None and frame.get("alert") == alert_id:
                now = datetime.now(UTC).isoformat()
                if user not in acknowledged:
                    acknowledged[user] = now
                    row = per_agency[people[user][0]]
                    row[2] += 1
                    row[3] = row[3] or now
                    data = {"alert": alert_id, "user": user, "rollup": rollup()}
                    broadcast(coordinators, event(incident_stream, "alert.acknowledged", data))
                    await ws.send(event(f"user:{user}", "alert.acknowledged", {"alert": alert_id}))
                await ws.send(dumps({"type": "acknowledged", "alert": alert_id, "at": acknowledged[user], "ref": None}))
    finally:
        if user is not None and recipients.get(user) is ws:
            del recipients[user]
        coordinators.discard(ws)


async def main(port: int, people_file: Path) -> None:
    for user, agency, short_name in json.loads(people_file.read_text()):
        people[user] = (agency, short_name)
        per_agency.setdefault(agency, [short_name, 0, 0, None])[1] += 1
    async with serve(handler, "127.0.0.1", port, compression=None, max_queue=None):
        print(f"raw alert server on 127.0.0.1:{port}", flush=True)
        await asyncio.get_running_loop().create_future()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--people", type=Path, required=True)
    args = parser.parse_args()
    asyncio.run(main(args.port, args.people))
