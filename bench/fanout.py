"""Benchmark: live fan-out of one thread to N WebSocket clients, daphne + Channels vs a
raw ``websockets`` broadcast server.

Usage (from the project root)::

    .venv/bin/python bench/fanout.py
    .venv/bin/python bench/fanout.py --clients 100 1000 --messages 200 --rate 20
    .venv/bin/python bench/fanout.py --clients 1000 --rate 1 --redis redis://127.0.0.1:6379/0

Servers that do the same job, each on a free port of 127.0.0.1, measured with the same
client harness in the same run, interleaved per N:

* **daphne**: the project as deployed on one host, one daphne process serving
  ``workspace.asgi:application`` with its own temporary ``WORKSPACE_VAR_DIR`` (SQLite,
  migrated, ``seed_demo``, one thread opened through ``messaging.actions.create_thread``)
  and the in-memory channel layer, or ``channels_redis`` with ``--redis`` (a prefix of its
  own, deleted afterwards). Readers sign in by posting the sign-in form (a few demo people,
  many sockets each), connect to ``/ws/`` and subscribe to the thread. The poster, another
  person, sends ``post`` frames; every post is written to the database and the event log and
  fanned out through the channel layer and the consumer, as in production.
* **daphne-worker**: the same, but new messages are indexed by ``manage.py search_worker``,
  a process beside daphne (``SEARCH_INDEX_WRITER=worker``), instead of by a thread in it.
* **daphne-buffered**: the same with ``EAGER_TCP_WRITES=false``: every frame waits for the
  reactor's next turn, as Twisted writes by itself (``workspace/eager_tcp.py``).
* **daphne-no-presence**: the same with the consumer's presence announcements switched off
  (``bench/fanout_asgi.py``), a diagnostic that measures the event fan-out alone.
* **daphne-2** (needs ``--redis``): two daphne processes on one database and one Redis,
  with the index worker. Readers alternate between them; the poster uses the first, so
  half the deliveries cross from one process to the other through Redis, as behind a
  load balancer. Server CPU is the sum of both.
* **raw**: ``bench/raw_broadcast.py``, a minimal ``websockets`` server that answers the
  same frames and broadcasts an event frame of the same shape to every subscriber.

The N reader sockets live in a child process (one asyncio loop, a small WebSocket client of
its own so the harness stays cheap), the poster in this process and each server in its own
process, so neither the harness nor the poster shares an interpreter with the measured
server. Latency is poster send time to reader receive time on ``time.monotonic()`` (one
clock for all processes on Linux). Each message carries a numbered ``client_id``; every
reader counts lost, duplicated and out-of-order deliveries, and what has not arrived
``--cut`` seconds after the last post is reported as late. The first ``--warmup`` posts are
delivered and checked like the others but left out of the latency figures. CPU use of the
server (also per delivery) and of the harness is read from the kernel over the posting
window. The output is a report: nothing is asserted about timings.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import http.cookiejar
import json
import math
import multiprocessing
import os
import platform
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEMO_PASSWORD = "lakeland-demo-2026"
POSTER = "jordan.reyes@em.harborcounty.example"
# People of the agencies in "lakeland-emergency-coordination"; each holds many sockets.
READERS = [
    "rita.alvarez@em.pinecounty.example",
    "casey.morgan@em.harborcounty.example",
    "frank.novak@publicworks.easton.example",
    "ruth.ahanu@es.redcedar.example",
]
OPEN_THREAD = f"""
from communities.models import Community
from messaging import actions
from workspace.models import User

author = User.objects.get(email={POSTER!r})
community = Community.objects.get(slug="lakeland-emergency-coordination")
thread = actions.create_thread(actor=author, community=community, title="Fan-out", body="Benchmark thread.")
print("THREAD", thread.pk)
"""
CONNECT_CONCURRENCY = 50
START_TIMEOUT = 30.0
DRAIN_IDLE_SECONDS = 5.0  # stop waiting for deliveries after this long without progress
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # inherited by the servers
    return hard


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(*pids: int) -> float:
    """User + system CPU time of processes so far, from /proc."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


# --- Servers ----------------------------------------------------------------------------------


@dataclass
class Target:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    thread: int = 1
    reader_sessions: list[str] = field(default_factory=list)
    poster_session: str = ""
    log_path: Path | None = None
    siblings: list[Target] = field(default_factory=list)  # more processes serving the same project

    @property
    def servers(self) -> list[Target]:
        return [self, *self.siblings]

    @property
    def pids(self) -> list[int]:
        return [server.process.pid for server in self.servers]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/"


def wait_for_port(process: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"server on port {port} did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.1)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"manage.py {args[0]} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def sign_in(base_url: str, email: str) -> str:
    """Post the sign-in form like a browser; return the session cookie's value."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base_url + "/accounts/login/", timeout=30).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if not token:
        raise SystemExit("no CSRF token on the sign-in page")
    form = {"csrfmiddlewaretoken": token.group(1), "username": email, "password": DEMO_PASSWORD, "next": ""}
    opener.open(urllib.request.Request(base_url + "/accounts/login/", data=urllib.parse.urlencode(form).encode()))
    session = {cookie.name: cookie.value for cookie in jar}.get("sessionid")
    if not session:
        raise SystemExit(f"signing in as {email} failed")
    return session


def project_env(var_dir: Path, redis_url: str | None, stem: str = "fanout-bench") -> tuple[dict[str, str], str]:
    """The environment of a server on a fresh var dir (created here): SQLite in it, DEBUG
    off, channels_redis under a prefix of its own when ``redis_url`` is given. Returns the
    env and the Redis prefix."""
    var_dir.mkdir()
    env = dict(os.environ)
    for name in ("DATABASE_URL", "REDIS_URL", "REDIS_PREFIX", "WORKSPACE_ENV", "DJANGO_SETTINGS_MODULE"):
        env.pop(name, None)
    prefix = f"{stem}-{uuid.uuid4().hex[:8]}"
    env.update(
        WORKSPACE_VAR_DIR=str(var_dir),
        ALLOWED_HOSTS="127.0.0.1",
        DEBUG="false",  # DEBUG keeps every query in memory
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    if redis_url:
        env.update(REDIS_URL=redis_url, REDIS_PREFIX=prefix)
    return env, prefix


def prepare_project(work: Path, redis_url: str | None) -> tuple[dict[str, str], int, str]:
    """A fresh var dir: migrate, seed_demo, one thread. Returns the server env, the thread
    id and the Redis prefix (when ``redis_url`` is given)."""
    env, prefix = project_env(work / "daphne-var", redis_url)
    started = time.monotonic()
    manage(env, "migrate", "--noinput")
    manage(env, "seed_demo")
    thread = int(re.search(r"THREAD (\d+)", manage(env, "shell", "-c", OPEN_THREAD)).group(1))  # type: ignore[union-attr]
    log(f"  data ready in {time.monotonic() - started:.1f}s (thread {thread})")
    return env, thread, prefix


@contextlib.contextmanager
def search_worker(work: Path, env: dict[str, str]) -> Iterator[None]:
    """``manage.py search_worker`` beside a server run with ``SEARCH_INDEX_WRITER=worker``."""
    log_path = work / f"search-worker-{uuid.uuid4().hex[:6]}.log"
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "search_worker"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        yield
    finally:
        stop(process)


@contextlib.contextmanager
def daphne_target(
    work: Path,
    env: dict[str, str],
    thread: int,
    name: str,
    app: str,
    sessions: tuple[str, list[str]] | None,
    settings: dict[str, str] | None = None,
    processes: int = 1,
) -> Iterator[Target]:
    """``processes`` daphne processes (more than one share the Redis layer), with
    ``settings`` added to their environment; with ``SEARCH_INDEX_WRITER=worker`` among them,
    one search_worker process beside them indexes new items instead of a thread of daphne."""
    env = {**env, **(settings or {})}
    with contextlib.ExitStack() as helpers:
        if env.get("SEARCH_INDEX_WRITER") == "worker":
            helpers.enter_context(search_worker(work, env))
        servers = [helpers.enter_context(daphne_process(work, env, app, name, thread)) for _ in range(processes)]
        target = servers[0]
        target.siblings = servers[1:]
        if sessions is None:  # sessions live in the database: one sign-in serves every server on it
            sessions = (sign_in(target.base_url, POSTER), [sign_in(target.base_url, email) for email in READERS])
        target.poster_session, target.reader_sessions = sessions
        yield target


@contextlib.contextmanager
def daphne_process(work: Path, env: dict[str, str], app: str, name: str, thread: int) -> Iterator[Target]:
    """One daphne process on a free port, stopped on the way out."""
    port = free_port()
    log_path = work / f"daphne-{port}.log"
    daphne = Path(sys.executable).with_name("daphne")
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            [str(daphne), "-b", "127.0.0.1", "-p", str(port), app],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(process, port, log_path)
        yield Target(name, port, process, thread, log_path=log_path)
    finally:
        stop(process)


EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Full|Cancelled\w*)(?::.*)?$", re.MULTILINE)


def tracebacks(target: Target) -> tuple[int, str]:
    """How many tracebacks the server's processes logged, and the exception that ended the
    first one (the last exception line before the second traceback chain starts)."""
    paths = [server.log_path for server in target.servers if server.log_path is not None]
    text = "".join(path.read_text(errors="replace") for path in paths)
    count = text.count("Traceback (most recent call last)")
    if not count:
        return 0, ""
    first = text[text.index("Traceback (most recent call last)") :]
    end = first.find("Exception inside application", 1)
    found = EXCEPTION_LINE.findall(first if end < 0 else first[:end])
    return count, (found[-1][:200] if found else "")


def delete_redis_keys(redis_url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@contextlib.contextmanager
def raw_target(work: Path, script: str = "raw_broadcast.py", *args: str) -> Iterator[Target]:
    """A baseline server of bench/ (``script`` with ``args``), started on a free port; it
    prints a line ending "server on 127.0.0.1:<port>" when it listens."""
    port = free_port()
    log_path = work / f"raw-{port}.log"
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / script), "--port", str(port), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while f"server on 127.0.0.1:{port}" not in log_path.read_text():  # a port probe would log an error
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the raw server did not start:\n{log_path.read_text()}")
            time.sleep(0.05)
        yield Target("raw websockets", port, process, 1, ["-"] * len(READERS), "-", log_path)
    finally:
        stop(process)


# --- The readers (a child process) ----------------------------------------------------------------


@dataclass
class ReaderSpec:
    ports: list[int]  # reader i connects to ports[i % len(ports)]
    sessions: list[str]
    stream: str
    count: int
    tag: int


WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
EVENT_PREFIX = b'{"type":"event",'
PRESENCE_PREFIX = b'{"type":"presence",'


def client_frame(opcode: int, payload: bytes) -> bytes:
    """A masked client frame (RFC 6455 5.2); the readers send only a few small ones."""
    mask = os.urandom(4)
    size = len(payload)
    if size < 126:
        header = bytes([0x80 | opcode, 0x80 | size])
    else:
        header = bytes([0x80 | opcode, 0x80 | 126]) + size.to_bytes(2, "big")
    return header + mask + bytes(b ^ mask[i & 3] for i, b in enumerate(payload))


class Reader(asyncio.Protocol):
    """One reader socket: a deliberately small WebSocket client (no extensions, unmasked
    unfragmented server frames, pings answered), so that 1,000 of them in one process cost
    a few microseconds per frame. Event frames are read on a fast path: both servers write
    compact JSON beginning ``{"type":"event","stream":...,"seq":N,`` with one
    ``"client_id"``; anything else goes through ``json.loads``."""

    def __init__(self, spec: ReaderSpec, port: int, session: str, record: dict[str, Any], totals: list[int]) -> None:
        self.spec, self.port, self.session, self.record, self.totals = spec, port, session, record, totals
        self.buffer = bytearray()
        self.upgraded = False
        self.key = base64.b64encode(os.urandom(16))
        loop = asyncio.get_running_loop()
        self.hello: asyncio.Future[None] = loop.create_future()
        self.subscribed: asyncio.Future[None] = loop.create_future()
        self.lost: asyncio.Future[None] = loop.create_future()
        self.transport: asyncio.Transport | None = None
        self.closing = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        origin = f"http://127.0.0.1:{self.port}"
        request = (
            f"GET /ws/ HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {self.key.decode()}\r\nSec-WebSocket-Version: 13\r\n"
            f"Origin: {origin}\r\nCookie: sessionid={self.session}\r\n\r\n"
        )
        self.transport.write(request.encode())

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closing and self.record["closed"] is None:
            self.record["closed"] = 1006
        for future in (self.hello, self.subscribed):
            if not future.done():
                future.set_exception(ConnectionError("connection lost"))
                future.exception()  # awaiting it still raises; nobody may await the second one
        if not self.lost.done():
            self.lost.set_result(None)

    def send_text(self, text: str) -> None:
        assert self.transport is not None
        self.transport.write(client_frame(0x1, text.encode()))

    def close(self) -> None:
        self.closing = True
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(client_frame(0x8, (1000).to_bytes(2, "big")))

    def data_received(self, data: bytes) -> None:
        received = time.monotonic()
        buffer = self.buffer
        buffer += data
        if not self.upgraded:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buffer[:end]).decode("latin-1")
            accept = base64.b64encode(hashlib.sha1(self.key + WS_GUID).digest()).decode()  # noqa: S324 (RFC 6455)
            if not head.startswith("HTTP/1.1 101") or accept not in head:
                if not self.hello.done():
                    self.hello.set_exception(ConnectionError(head.splitlines()[0] if head else "no answer"))
                self.transport.close()  # type: ignore[union-attr]
                return
            self.upgraded = True
            del buffer[: end + 4]
        offset, size = 0, len(buffer)
        while size - offset >= 2:
            first, length = buffer[offset], buffer[offset + 1] & 0x7F
            start = offset + 2
            if length == 126:
                if size - offset < 4:
                    break
                length, start = int.from_bytes(buffer[offset + 2 : offset + 4], "big"), offset + 4
            elif length == 127:
                if size - offset < 10:
                    break
                length, start = int.from_bytes(buffer[offset + 2 : offset + 10], "big"), offset + 10
            if size - start < length:
                break
            payload = bytes(buffer[start : start + length])
            offset = start + length
            opcode = first & 0x0F
            if opcode == 0x1:
                self.on_text(payload, received)
            elif opcode == 0x9:
                self.transport.write(client_frame(0xA, payload))  # type: ignore[union-attr]
            elif opcode == 0x8:
                if not self.closing:
                    self.record["closed"] = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
                self.transport.close()  # type: ignore[union-attr]
        del buffer[:offset]

    def on_text(self, payload: bytes, received: float) -> None:
        record = self.record
        if payload.startswith(EVENT_PREFIX):
            at = payload.find(b'"client_id":"')
            seq_at = payload.find(b'"seq":')
            if at > 0 and seq_at > 0:
                client_id = int(payload[at + 13 : at + 49].replace(b"-", b""), 16)
                seq = int(payload[seq_at + 6 : payload.find(b",", seq_at)])
            else:
                frame = json.loads(payload)
                client_id, seq = uuid.UUID(frame["data"]["client_id"]).int, frame["seq"]
            if client_id >> 32 == self.spec.tag:
                record["keys"].append(client_id & 0xFFFFFFFF)
                record["times"].append(received)
                record["seqs"].append(seq)
                self.totals[0] += 1
            return
        if payload.startswith(PRESENCE_PREFIX):
            record["presence"] += 1
            return
        kind = json.loads(payload)["type"]
        if kind == "hello" and not self.hello.done():
            self.hello.set_result(None)
        elif kind == "subscribed" and not self.subscribed.done():
            self.subscribed.set_result(None)
        elif kind == "resync":
            record["resyncs"] += 1
        elif kind != "typing":
            record["other"].append(kind)


async def _open(spec: ReaderSpec, i: int, gate: asyncio.Semaphore, record: dict[str, Any], totals: list[int]) -> Any:
    loop = asyncio.get_running_loop()
    async with gate:
        session = spec.sessions[i % len(spec.sessions)]
        port = spec.ports[i % len(spec.ports)]
        _, reader = await loop.create_connection(lambda: Reader(spec, port, session, record, totals), "127.0.0.1", port)
        await asyncio.wait_for(reader.hello, 60)
        reader.send_text(json.dumps({"type": "subscribe", "stream": spec.stream}))
        await asyncio.wait_for(reader.subscribed, 120)
        return reader


async def _readers(conn: Any, spec: ReaderSpec) -> None:
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    started = time.monotonic()
    records = [
        {"keys": [], "times": [], "seqs": [], "closed": None, "resyncs": 0, "presence": 0, "other": []}
        for _ in range(spec.count)
    ]
    totals = [0]
    opened = await asyncio.gather(
        *(_open(spec, i, gate, records[i], totals) for i in range(spec.count)), return_exceptions=True
    )
    readers = [reader for reader in opened if not isinstance(reader, BaseException)]
    failures = [repr(reader) for reader in opened if isinstance(reader, BaseException)]
    records = [record for record, reader in zip(records, opened, strict=True) if not isinstance(reader, BaseException)]
    conn.send(("ready", len(readers), failures[:3], len(failures), time.monotonic() - started))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    closed_before = 0
    while True:
        command = await asyncio.to_thread(conn.recv)
        if command == "count":
            conn.send(totals[0])
        elif command == "mark":  # the posting window starts
            usage = resource.getrusage(resource.RUSAGE_SELF)
            closed_before = sum(1 for rec in records if rec["closed"] is not None)
            for rec in records:
                rec["presence"] = 0
        elif command == "stop":
            end = resource.getrusage(resource.RUSAGE_SELF)
            cpu = (end.ru_utime - usage.ru_utime) + (end.ru_stime - usage.ru_stime)
            closed = sum(1 for rec in records if rec["closed"] is not None)
            for reader in readers:
                reader.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*(reader.lost for reader in readers)), 10)
            for reader in readers:
                if reader.transport is not None:
                    reader.transport.abort()
            conn.send(("done", records, cpu, closed_before, closed))
            return


def reader_process(conn: Any, spec: ReaderSpec) -> None:
    raise_fd_limit()
    asyncio.run(_readers(conn, spec))


# --- The poster -----------------------------------------------------------------------------------


@dataclass
class Posted:
    sent_at: list[float]
    acked_at: list[float]
    errors: list[str]


async def post_all(target: Target, total: int, rate: float, tag: int, cut: float) -> Posted:
    """Send ``total`` posts at a steady rate, as one more signed-in person (not a reader),
    then wait for the acknowledgements until ``cut`` seconds after the last one was sent."""
    import websockets

    posted = Posted([0.0] * total, [math.nan] * total, [])
    async with websockets.connect(
        target.ws_url,
        origin=websockets.Origin(target.base_url),
        additional_headers={"Cookie": f"sessionid={target.poster_session}"},
        compression=None,
    ) as ws:
        await ws.recv()  # hello

        async def read_acks() -> None:
            async for text in ws:
                received = time.monotonic()
                frame = json.loads(text)
                if frame["type"] == "posted":
                    posted.acked_at[uuid.UUID(frame["client_id"]).int & 0xFFFFFFFF] = received
                elif frame["type"] == "error":
                    posted.errors.append(frame["code"])

        reader = asyncio.create_task(read_acks())
        start = time.monotonic() + 0.05
        for i in range(total):
            await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
            client_id = str(uuid.UUID(int=(tag << 32) | i))
            frame = {"type": "post", "thread": target.thread, "body": f"Fan-out message {i}", "client_id": client_id}
            posted.sent_at[i] = time.monotonic()
            await ws.send(json.dumps(frame))
        deadline = posted.sent_at[-1] + cut
        while time.monotonic() < deadline:
            if sum(not math.isnan(t) for t in posted.acked_at) + len(posted.errors) >= total:
                break
            await asyncio.sleep(0.05)
        reader.cancel()
    missing = sum(math.isnan(t) for t in posted.acked_at)
    if missing:
        posted.errors.append(f"{missing} posts not acknowledged by the cut")
    return posted


# --- One measurement --------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)  # nearest rank
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def wait_until_idle(pids: list[int], limit: float = 120.0) -> float:
    """Wait until the servers use under 10 % of a CPU over half a second; return the wait."""
    started = time.monotonic()
    before = cpu_seconds(*pids)
    while time.monotonic() - started < limit:
        time.sleep(0.5)
        now = cpu_seconds(*pids)
        if now - before < 0.05:
            break
        before = now
    return time.monotonic() - started


def measure(target: Target, n: int, messages: int, warmup: int, rate: float, cut: float) -> dict[str, Any]:
    tag = uuid.uuid4().int & 0xFFFFFFFF
    total = warmup + messages
    load_before = os.getloadavg()[0]
    wait_until_idle(target.pids)  # a previous run's backlog must not share the CPU with this one
    spec = ReaderSpec(
        [server.port for server in target.servers], target.reader_sessions, f"thread:{target.thread}", n, tag
    )
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=reader_process, args=(child, spec), daemon=True)
    process.start()
    tracebacks_before = tracebacks(target)[0]
    try:
        _, connected, failures, n_failed, connect_seconds = parent.recv()
        settle = wait_until_idle(target.pids)
        log(
            f"  {target.name}, N={n}: {connected} sockets subscribed in {connect_seconds:.1f}s "
            f"({n_failed} failed), server busy {settle:.1f}s more"
        )
        for failure in failures:
            log(f"    {failure}")
        parent.send("mark")
        server_cpu = cpu_seconds(*target.pids)
        window_start = time.monotonic()
        posted = asyncio.run(post_all(target, total, rate, tag, cut))
        deadline = posted.sent_at[-1] + cut
        expected = connected * total
        seen, last_progress = -1, time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - last_progress < DRAIN_IDLE_SECONDS:
            parent.send("count")
            count = parent.recv()
            if count >= expected:
                break
            if count != seen:
                seen, last_progress = count, time.monotonic()
            time.sleep(0.2)
        window = time.monotonic() - window_start
        server_cpu = cpu_seconds(*target.pids) - server_cpu
        parent.send("stop")
        _, records, harness_cpu, closed_before, closed = parent.recv()
    finally:
        process.join(timeout=30)
        if process.is_alive():
            process.kill()

    # Per socket, messages arrive in posting order (one poster, one seq per post), so a
    # message missing before the last one received is lost (a hole); one missing after it
    # is late (not delivered by the cut) on an open socket, or missed by a socket the
    # server closed.
    sent_at = posted.sent_at
    latencies: list[float] = []
    lost = late = missed_by_closed = duplicated = out_of_order = resyncs = presence = 0
    last_delivery = 0.0
    others: set[str] = set()
    for record in records:
        keys = record["keys"]
        unique = set(keys)
        duplicated += len(keys) - len(unique)
        out_of_order += sum(1 for a, b in zip(record["seqs"], record["seqs"][1:], strict=False) if b <= a)
        newest = max(unique, default=-1)
        lost += sum(1 for i in range(newest) if i not in unique)
        trailing = total - 1 - newest
        if record["closed"] is None:
            late += trailing
            latencies += [math.inf] * sum(1 for i in range(newest + 1, total) if i >= warmup)
        else:
            missed_by_closed += trailing
        resyncs += record["resyncs"]
        presence += record["presence"]
        others.update(record["other"])
        for key, received in zip(keys, record["times"], strict=True):
            if key >= warmup:
                latencies.append((received - sent_at[key]) * 1000)
                last_delivery = max(last_delivery, received)
    missed_by_closed += n_failed * total  # a socket that never subscribed received nothing
    acked = [(posted.acked_at[i], sent_at[i]) for i in range(warmup, total)]
    acks = [(ack - sent) * 1000 for ack, sent in acked if not math.isnan(ack)]
    delivered_measured = sum(1 for value in latencies if value != math.inf)
    span = last_delivery - sent_at[warmup] if delivered_measured else math.nan
    wait_until_idle(target.pids)  # the sockets' goodbyes are handled, and their errors logged
    count, first_error = tracebacks(target)
    return {
        "server": target.name,
        "n": n,
        "messages": messages,
        "connected": connected,
        "connect_s": connect_seconds,
        "settle_s": settle,
        "expected": n * total,
        "delivered": sum(len(r["keys"]) for r in records),
        "lost": lost,
        "late": late,
        "missed_by_closed": missed_by_closed,
        "duplicated": duplicated,
        "out_of_order": out_of_order,
        "resyncs": resyncs,
        "closed_while_subscribing": closed_before,
        "closed_while_posting": closed - closed_before,
        "presence_frames_while_posting": presence,
        "post_errors": posted.errors,
        "other_frames": sorted(others),
        "server_tracebacks": count - tracebacks_before,
        "server_error": first_error,
        "ack_p50": percentile(acks, 50),
        "ack_p99": percentile(acks, 99),
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "p99": percentile(latencies, 99),
        "max": max(latencies, default=math.nan),
        "deliveries_per_s": delivered_measured / span if delivered_measured else 0.0,
        "offered_per_s": connected * rate,
        "server_cpu_pct": 100 * server_cpu / window,
        "server_cpu_us_per_delivery": 1e6 * server_cpu / max(1, sum(len(r["keys"]) for r in records)),
        "harness_cpu_pct": 100 * harness_cpu / window,
        "cut_s": cut,
        "load": (load_before, os.getloadavg()[0]),
    }


# --- Report ---------------------------------------------------------------------------------------


def machine() -> list[str]:
    import daphne
    import django
    import websockets

    cpu = "?"
    with contextlib.suppress(OSError):
        names = re.findall(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), flags=re.MULTILINE)
        cpu = names[0] if names else "?"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    return [
        f"- CPU: {os.cpu_count()} × {cpu}; load average at the end: {load}",
        f"- {platform.system()} {platform.release()}, Python {platform.python_version()}, Django {django.__version__}, "
        f"daphne {daphne.__version__}, websockets {websockets.__version__}; code at {commit or '?'}",
    ]


def ms(value: float) -> str:
    return "> cut" if value == math.inf else f"{value:,.1f}"


def table(results: list[dict[str, Any]]) -> str:
    head = (
        "| server | N | delivered / expected | lost | dup | out of order | late at cut | missed by closed sockets "
        "| p50 ms | p95 ms | p99 ms | max ms | post ack p50 ms | deliveries/s (offered) | server CPU "
        "| server CPU µs per delivery | harness CPU |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    rows = [
        f"| {r['server']} | {r['n']:,} | {r['delivered']:,} / {r['expected']:,} | {r['lost']:,} | {r['duplicated']} "
        f"| {r['out_of_order']} | {r['late']:,} | {r['missed_by_closed']:,} | {ms(r['p50'])} | {ms(r['p95'])} "
        f"| {ms(r['p99'])} | {ms(r['max'])} | {ms(r['ack_p50'])} "
        f"| {r['deliveries_per_s']:,.0f} ({r['offered_per_s']:,.0f}) "
        f"| {r['server_cpu_pct']:.0f} % | {r['server_cpu_us_per_delivery']:,.0f} | {r['harness_cpu_pct']:.0f} % |"
        for r in results
    ]
    return "\n".join([head, *rows])


# name: (label, ASGI app, settings in its environment)
PROJECT = "workspace.asgi:application"
WORKER = {"SEARCH_INDEX_WRITER": "worker"}
# name: (label, ASGI application, settings, daphne processes)
SERVERS: dict[str, tuple[str, str, dict[str, str], int]] = {
    "daphne": ("daphne + Channels", PROJECT, {}, 1),
    "daphne-worker": ("daphne + Channels, index worker", PROJECT, WORKER, 1),
    "daphne-buffered": ("daphne + Channels, Twisted's buffered writes", PROJECT, {"EAGER_TCP_WRITES": "false"}, 1),
    "daphne-no-presence": ("daphne + Channels, presence off", "bench.fanout_asgi:application", {}, 1),
    "daphne-2": ("two daphne processes, index worker", PROJECT, WORKER, 2),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[100, 1000], help="reader sockets (N)")
    parser.add_argument("--messages", type=int, default=200, help="measured posts per run")
    parser.add_argument("--warmup", type=int, default=10, help="posts before the measured ones")
    parser.add_argument("--rate", type=float, default=20.0, help="posts per second")
    parser.add_argument(
        "--cut",
        type=float,
        default=30.0,
        help="stop waiting this many seconds after the last post; what has not arrived by then is 'late'",
    )
    parser.add_argument(
        "--servers",
        nargs="+",
        choices=[*SERVERS, "raw"],
        default=["daphne", "daphne-worker", "raw"],
        help="which servers to measure (default: daphne daphne-worker raw)",
    )
    parser.add_argument("--redis", metavar="URL", help="use channels_redis at URL for daphne's channel layer")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (server logs, database)")
    args = parser.parse_args()
    if not args.redis and any(name in SERVERS and SERVERS[name][3] > 1 for name in args.servers):
        parser.error("several daphne processes deliver to each other's sockets through Redis: add --redis URL")

    limit = raise_fd_limit()
    needed = 2 * max(args.clients) + 200
    if limit < needed:
        raise SystemExit(f"RLIMIT_NOFILE hard limit {limit} is below the {needed} descriptors this run needs")
    work = Path(tempfile.mkdtemp(prefix="workspace-fanout-"))
    results: list[dict[str, Any]] = []
    started = time.monotonic()
    prefix = ""
    try:
        with contextlib.ExitStack() as stack:
            targets: list[Target] = []
            sessions = None
            if any(name in SERVERS for name in args.servers):
                log("preparing the project (migrate, seed_demo, one thread)")
                env, thread, prefix = prepare_project(work, args.redis)
                for name in args.servers:
                    if name in SERVERS:
                        label, app, settings, processes = SERVERS[name]
                        target = stack.enter_context(
                            daphne_target(work, env, thread, label, app, sessions, settings, processes)
                        )
                        sessions = (target.poster_session, target.reader_sessions)
                        targets.append(target)
            if "raw" in args.servers:
                targets.append(stack.enter_context(raw_target(work)))
            for n in args.clients:
                for target in targets:
                    results.append(measure(target, n, args.messages, args.warmup, args.rate, args.cut))
                    r = results[-1]
                    log(
                        f"    p50 {ms(r['p50'])} ms, p99 {ms(r['p99'])} ms, lost {r['lost']}, late {r['late']}, "
                        f"dup {r['duplicated']}, "
                        f"server CPU {r['server_cpu_pct']:.0f} %, harness CPU {r['harness_cpu_pct']:.0f} %"
                    )
    finally:
        if args.redis and prefix:
            delete_redis_keys(args.redis, prefix)
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    layer = f"channels_redis ({args.redis})" if args.redis else "the in-memory channel layer"
    print(
        f"## Fan-out: {args.messages} posts (+{args.warmup} warm-up) at {args.rate:g}/s, cut {args.cut:g} s after "
        f"the last; daphne with {layer}\n"
    )
    print(table(results))
    print()
    for r in results:
        print(
            f"- {r['server']}, N={r['n']:,}: {r['connected']:,} of {r['n']:,} sockets subscribed in "
            f"{r['connect_s']:.1f} s (server busy {r['settle_s']:.1f} s more); post ack p99 {ms(r['ack_p99'])} ms; "
            f"1-minute load average {r['load'][0]:.1f} before, {r['load'][1]:.1f} after"
        )
        notes = []
        if r["closed_while_subscribing"] or r["closed_while_posting"]:
            notes.append(
                f"sockets closed by the server: {r['closed_while_subscribing']} while others subscribed, "
                f"{r['closed_while_posting']} while posting"
            )
        if r["server_tracebacks"]:
            notes.append(f"server logged {r['server_tracebacks']} tracebacks, first: {r['server_error']}")
        if r["presence_frames_while_posting"]:
            notes.append(f"{r['presence_frames_while_posting']:,} presence frames received while posting")
        if r["post_errors"]:
            notes.append(f"poster errors {r['post_errors'][:5]}")
        if r["resyncs"]:
            notes.append(f"{r['resyncs']} resync frames")
        if r["other_frames"]:
            notes.append(f"other frames {r['other_frames']}")
        for note in notes:
            print(f"  - {note}")
    print()
    print("\n".join(machine()))
    print(f"- total run time {time.monotonic() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
