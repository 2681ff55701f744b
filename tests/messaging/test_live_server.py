"""The realtime protocol end to end: real daphne processes, real WebSocket clients.

Each server runs in its own temporary ``WORKSPACE_VAR_DIR`` on a database prepared by
``manage.py migrate``, ``manage.py seed_demo`` and one thread opened through
``messaging.actions.create_thread`` (``manage.py shell -c``). People sign in by posting the
sign-in form over HTTP and connect to ``/ws/`` with the session cookie, as a browser does.

* One daphne on SQLite (in-memory channel layer): live events, then a reconnect with
  ``since`` that gets exactly the missed events in order, then live ones again.
* Two daphne processes on one PostgreSQL database and one Redis (``channels_redis``): a post
  sent through one process reaches a client connected to the other. Skipped when
  PostgreSQL or Redis do not answer on 127.0.0.1.

Nothing here uses the test process's own database. Presence and typing frames are
ephemeral (not part of the event log) and are skipped by the client helper.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.cookiejar
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections import deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import websockets

ROOT = Path(__file__).resolve().parents[2]
DEMO_PASSWORD = "lakeland-demo-2026"
JORDAN = "jordan.reyes@em.harborcounty.example"  # Harbor EM, participant
RITA = "rita.alvarez@em.pinecounty.example"  # Pine EM, participant
COMMUNITY = "lakeland-emergency-coordination"
POSTGRES_URL = os.environ.get("LIVE_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("LIVE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
START_TIMEOUT = 30.0
FRAME_TIMEOUT = 5.0
EPHEMERAL = {"presence", "typing"}

OPEN_THREAD = f"""
from communities.models import Community
from messaging import actions
from workspace.models import User

author = User.objects.get(email={JORDAN!r})
community = Community.objects.get(slug={COMMUNITY!r})
thread = actions.create_thread(actor=author, community=community, title="Levee watch", body="Opening the thread.")
print("THREAD", thread.pk)
"""


# --- Servers ---------------------------------------------------------------------------------


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@dataclass
class Site:
    """Prepared data (one thread) and the daphne processes serving it."""

    thread: int
    servers: list[Server]

    @property
    def stream(self) -> str:
        return f"thread:{self.thread}"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _env(var_dir: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    # The servers run on the project's defaults (REDIS_SOCKET_TIMEOUT included), whatever
    # the test process was given.
    names = (
        "DATABASE_URL",
        "REDIS_URL",
        "REDIS_PREFIX",
        "REDIS_SOCKET_TIMEOUT",
        "WORKSPACE_ENV",
        "DJANGO_SETTINGS_MODULE",
    )
    for name in names:
        env.pop(name, None)
    env.update(
        WORKSPACE_VAR_DIR=str(var_dir),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


def _manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"manage.py {args[0]} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout


def _prepare(env: dict[str, str]) -> int:
    """Migrate, seed the demo data and open one thread; return its id."""
    _manage(env, "migrate", "--noinput")
    _manage(env, "seed_demo")
    out = _manage(env, "shell", "-c", OPEN_THREAD)
    match = re.search(r"^THREAD (\d+)$", out, flags=re.MULTILINE)
    assert match, out
    return int(match.group(1))


@contextlib.contextmanager
def _daphnes(env: dict[str, str], var_dir: Path, count: int) -> Iterator[list[Server]]:
    daphne = Path(sys.executable).with_name("daphne")
    servers: list[Server] = []
    try:
        for i in range(count):
            port = _free_port()
            log_path = var_dir / f"daphne-{i}.log"
            with log_path.open("wb") as log:
                process = subprocess.Popen(
                    [str(daphne), "-b", "127.0.0.1", "-p", str(port), "workspace.asgi:application"],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            servers.append(Server(port, process, log_path))
        deadline = time.monotonic() + START_TIMEOUT
        for server in servers:
            while not _port_answers(server.port):
                if server.process.poll() is not None:
                    pytest.fail(f"daphne exited with {server.process.returncode}:\n{server.log()}")
                if time.monotonic() > deadline:
                    pytest.fail(f"daphne did not answer on {server.port} in {START_TIMEOUT:.0f}s:\n{server.log()}")
                time.sleep(0.1)
        yield servers
    finally:
        for server in servers:
            server.process.terminate()
        for server in servers:
            try:
                server.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait(timeout=10)


def _log_marks(site: Site) -> list[int]:
    return [len(server.log()) for server in site.servers]


def _no_errors_logged(site: Site, marks: list[int]) -> None:
    """No server logged an exception since ``marks`` were taken."""
    for server, mark in zip(site.servers, marks, strict=True):
        logged = server.log()[mark:]
        assert "Traceback" not in logged, logged


def _postgres_and_redis_answer() -> str | None:
    """Why the two-process test cannot run here, or None."""
    import psycopg
    import redis

    try:
        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
    except psycopg.Error as exc:
        return f"PostgreSQL does not answer at {POSTGRES_URL}: {exc}"
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        return f"Redis does not answer at {REDIS_URL}: {exc}"
    return None


class Preparation(threading.Thread):
    """``_prepare`` in the background: both databases are prepared at once (it is mostly
    password hashing in ``seed_demo``, one CPU each), which halves this module's time."""

    def __init__(self, env: dict[str, str], var_dir: Path) -> None:
        super().__init__(daemon=True)
        self.env, self.var_dir = env, var_dir
        self.thread_id = 0
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            self.thread_id = _prepare(self.env)
        except BaseException as exc:  # pytest.fail raises an OutcomeException
            self.failure = exc

    def result(self) -> int:
        self.join()
        if self.failure is not None:
            raise self.failure
        return self.thread_id


@pytest.fixture(scope="module")
def preparations(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Start preparing the data of every site this run's tests need, in parallel.

    The shared site gets a PostgreSQL database of its own (created here, dropped at the
    end) and a Redis prefix of its own (its keys deleted at the end); when either server
    does not answer, the value is the reason to skip.
    """
    wanted = {
        name
        for item in request.session.items
        if item.module is request.module
        for name in ("sqlite_site", "shared_site")
        if name in getattr(item, "fixturenames", ())
    }
    found: dict[str, Any] = {}
    database = prefix = ""
    try:
        if "sqlite_site" in wanted:
            var_dir = tmp_path_factory.mktemp("live-sqlite")
            found["sqlite_site"] = Preparation(_env(var_dir), var_dir)
        if "shared_site" in wanted:
            found["shared_site"] = _postgres_and_redis_answer()
            if found["shared_site"] is None:
                import psycopg
                from psycopg import sql

                token = uuid.uuid4().hex[:12]
                database, prefix = f"workspace_live_{token}", f"live-test-{token}"
                with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
                database_url = urllib.parse.urlsplit(POSTGRES_URL)._replace(path=f"/{database}").geturl()
                var_dir = tmp_path_factory.mktemp("live-shared")
                env = _env(var_dir, DATABASE_URL=database_url, REDIS_URL=REDIS_URL, REDIS_PREFIX=prefix)
                found["shared_site"] = Preparation(env, var_dir)
        for preparation in found.values():
            if isinstance(preparation, Preparation):
                preparation.start()
        yield found
    finally:
        for preparation in found.values():
            if isinstance(preparation, Preparation) and preparation.is_alive():
                preparation.join()
        if database:
            import psycopg
            import redis
            from psycopg import sql

            with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
            client = redis.Redis.from_url(REDIS_URL)
            keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
            if keys:
                client.delete(*keys)
            client.close()


@pytest.fixture(scope="module")
def sqlite_site(preparations: dict[str, Any]) -> Iterator[Site]:
    """One daphne on SQLite with the in-memory channel layer."""
    preparation: Preparation = preparations["sqlite_site"]
    thread = preparation.result()
    with _daphnes(preparation.env, preparation.var_dir, 1) as servers:
        yield Site(thread, servers)


@pytest.fixture(scope="module")
def shared_site(preparations: dict[str, Any]) -> Iterator[Site]:
    """Two daphne processes on one PostgreSQL database and one Redis channel layer."""
    preparation = preparations["shared_site"]
    if isinstance(preparation, str):
        pytest.skip(preparation)
    thread = preparation.result()
    with _daphnes(preparation.env, preparation.var_dir, 2) as servers:
        yield Site(thread, servers)


# --- Clients ---------------------------------------------------------------------------------


def sign_in(server: Server, email: str) -> str:
    """Post the sign-in form like a browser; return the session cookie's value."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(server.base_url + "/accounts/login/", timeout=10).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token, page
    form = {"csrfmiddlewaretoken": token.group(1), "username": email, "password": DEMO_PASSWORD, "next": ""}
    request = urllib.request.Request(server.base_url + "/accounts/login/", data=urllib.parse.urlencode(form).encode())
    with opener.open(request, timeout=10) as response:
        assert urllib.parse.urlsplit(response.url).path == "/", f"sign-in as {email} did not land on the dashboard"
    session = {cookie.name: cookie.value for cookie in jar}.get("sessionid")
    assert session, f"no session cookie after signing in as {email}"
    return session


class Socket:
    """A signed-in WebSocket with helpers for the protocol's frames."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self.pending: deque[dict[str, Any]] = deque()  # frames read while waiting for an ack

    async def recv(self, timeout: float = FRAME_TIMEOUT) -> dict[str, Any]:
        """The next frame that is not ephemeral (presence, typing)."""
        if self.pending:
            return self.pending.popleft()
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            frame = json.loads(await asyncio.wait_for(self.ws.recv(), max(left, 0.001)))
            if frame["type"] not in EPHEMERAL:
                return frame

    async def quiet(self, seconds: float = 0.4) -> None:
        """Nothing but ephemeral frames arrives for ``seconds``."""
        with contextlib.suppress(TimeoutError):
            frame = await self.recv(timeout=seconds)
            pytest.fail(f"unexpected frame: {frame}")

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame))

    async def subscribe(self, stream: str, since: int | None = None) -> dict[str, Any]:
        frame: dict[str, Any] = {"type": "subscribe", "stream": stream, "ref": "sub"}
        if since is not None:
            frame["since"] = since
        await self.send(frame)
        answer = await self.recv()
        assert answer["type"] == "subscribed" and answer["stream"] == stream, answer
        return answer

    async def write(self, frame: dict[str, Any], answer: str) -> dict[str, Any]:
        """Send a write frame and wait for its acknowledgement; events that arrive first
        are kept for ``recv``."""
        ref = uuid.uuid4().hex
        await self.send({**frame, "ref": ref})
        early: list[dict[str, Any]] = []
        while True:
            got = await self.recv()
            if got.get("ref") == ref:
                assert got["type"] == answer, got
                self.pending.extend(early)
                return got
            assert got["type"] == "event", got
            early.append(got)

    async def post(self, thread: int, body: str) -> int:
        frame = {"type": "post", "thread": thread, "body": body, "client_id": str(uuid.uuid4())}
        return (await self.write(frame, "posted"))["message"]

    async def edit(self, message: int, body: str) -> None:
        await self.write({"type": "edit", "message": message, "body": body}, "done")

    async def delete(self, message: int) -> None:
        await self.write({"type": "delete", "message": message}, "done")


@contextlib.asynccontextmanager
async def connect(server: Server, session: str) -> AsyncIterator[Socket]:
    async with websockets.connect(
        f"ws://127.0.0.1:{server.port}/ws/",
        origin=websockets.Origin(server.base_url),
        additional_headers={"Cookie": f"sessionid={session}"},
        open_timeout=10,
    ) as ws:
        socket = Socket(ws)
        hello = await socket.recv()
        assert hello["type"] == "hello", hello
        yield socket


def summary(events: list[dict[str, Any]]) -> list[tuple[int, str, int]]:
    return [(e["seq"], e["event"], e["data"]["id"]) for e in events]


# --- Tests -----------------------------------------------------------------------------------


async def test_live_events_then_reconnect_with_since_gets_exactly_the_missed_ones(sqlite_site: Site) -> None:
    (server,) = sqlite_site.servers
    thread, stream = sqlite_site.thread, sqlite_site.stream
    marks = _log_marks(sqlite_site)
    jordan_session, rita_session = sign_in(server, JORDAN), sign_in(server, RITA)

    async with connect(server, rita_session) as rita:
        async with connect(server, jordan_session) as jordan:
            assert (await jordan.subscribe(stream))["seq"] == 1  # the thread's first message
            first = await rita.post(thread, "Water is at the second mark.")
            live = await jordan.recv()
            assert summary([live]) == [(2, "message.created", first)]
            assert live["data"]["html"] == "<p>Water is at the second mark.</p>"
            await jordan.quiet()

        # Jordan is gone: three posts, an edit and a delete happen meanwhile.
        missed = [await rita.post(thread, f"Update {n}") for n in (1, 2, 3)]
        await rita.edit(missed[0], "Update 1, corrected")
        await rita.delete(missed[1])

        async with connect(server, jordan_session) as jordan:
            assert (await jordan.subscribe(stream, since=2))["seq"] == 7
            replayed = [await jordan.recv() for _ in range(5)]
            assert summary(replayed) == [
                (3, "message.created", missed[0]),
                (4, "message.created", missed[1]),
                (5, "message.created", missed[2]),
                (6, "message.edited", missed[0]),
                (7, "message.deleted", missed[1]),
            ]
            assert replayed[3]["data"]["html"] == "<p>Update 1, corrected</p>"
            assert replayed[4]["data"]["deleted"] is True and replayed[4]["data"]["html"] == ""
            await jordan.quiet()

            after = await rita.post(thread, "Back to live.")
            assert summary([await jordan.recv()]) == [(8, "message.created", after)]
            await jordan.quiet()
    _no_errors_logged(sqlite_site, marks)


async def test_post_through_one_process_reaches_a_socket_on_another(shared_site: Site) -> None:
    a, b = shared_site.servers
    thread, stream = shared_site.thread, shared_site.stream
    marks = _log_marks(shared_site)
    rita_session, jordan_session = sign_in(a, RITA), sign_in(b, JORDAN)

    async with connect(a, rita_session) as rita, connect(b, jordan_session) as jordan:
        assert (await jordan.subscribe(stream))["seq"] == 1
        assert (await rita.subscribe(stream))["seq"] == 1

        from_a = await rita.post(thread, "Posted through process A.")
        assert summary([await jordan.recv()]) == [(2, "message.created", from_a)]

        from_b = await jordan.post(thread, "Posted through process B.")
        assert summary([await jordan.recv()]) == [(3, "message.created", from_b)]
        # Rita (on A) gets her own event and Jordan's, once each and in order.
        assert summary([await rita.recv(), await rita.recv()]) == [
            (2, "message.created", from_a),
            (3, "message.created", from_b),
        ]
        await jordan.quiet()
        await rita.quiet(0.1)
    _no_errors_logged(shared_site, marks)


async def test_an_idle_socket_stays_open_on_the_redis_layer(shared_site: Site) -> None:
    server = shared_site.servers[0]
    async with connect(server, sign_in(server, RITA)) as rita:
        await asyncio.sleep(6.5)  # nothing on the channel layer for longer than its 5 s blocking pop
        try:
            await rita.send({"type": "ping", "ref": "still-there"})
            answer = await rita.recv()
        except websockets.ConnectionClosed as exc:
            raise AssertionError(f"the server closed an idle socket: {exc}") from exc
        assert answer == {"type": "pong", "ref": "still-there"}
