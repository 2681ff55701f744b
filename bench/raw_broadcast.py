"""The baseline for ``bench/fanout.py``: the smallest broadcast server on ``websockets``.

It speaks the subset of the realtime protocol the benchmark uses (``hello``, ``subscribe``
→ ``subscribed``, ``post`` → ``posted`` plus an ``event`` to every subscriber), with event
frames shaped and sized like the project's, serialized once and broadcast. No sign-in, no
database, no channel layer: what is left is the WebSocket work itself.

    .venv/bin/python bench/raw_broadcast.py --port 8765
"""

import argparse
import asyncio
import json
from datetime import UTC, datetime

from websockets.asyncio.server import broadcast, serve

subscribers: set = set()
seq = 0


def dumps(value: dict) -> str:
    return json.dumps(value, separators=(",", ":"))


async def handler(ws) -> None:  # type: ignore[no-untyped-def]
    global seq
    await ws.send(dumps({"type": "hello", "user": 0}))
    try:
        async for text in ws:
            frame = json.loads(text)
            if frame["type"] == "subscribe":
                subscribers.add(ws)
                await ws.send(dumps({"type": "subscribed", "stream": frame["stream"], "seq": seq, "ref": None}))
            elif frame["type"] == "post":
                seq += 1
                data = {
                    "id": seq,
                    "thread": frame["thread"],
                    "author": {"id": 9, "name": "Jordan Reyes"},
                    "agency": {"id": 5, "short_name": "Harbor EM"},
                    "html": f"<p>{frame['body']}</p>",
                    "reply_to": None,
                    "created_at": datetime.now(UTC).isoformat(),
                    "edited_at": None,
                    "deleted": False,
                    "client_id": frame["client_id"],
                }
                event = {"type": "event", "stream": f"thread:{frame['thread']}", "seq": seq}
                broadcast(subscribers, dumps(event | {"event": "message.created", "data": data}))
                answer = {"type": "posted", "client_id": frame["client_id"], "message": seq, "ref": frame.get("ref")}
                await ws.send(dumps(answer | {"thread": frame["thread"]}))
    finally:
        subscribers.discard(ws)


async def main(port: int) -> None:
    async with serve(handler, "127.0.0.1", port, compression=None, max_queue=None):
        print(f"raw broadcast server on 127.0.0.1:{port}", flush=True)
        await asyncio.get_running_loop().create_future()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(main(parser.parse_args().port))
