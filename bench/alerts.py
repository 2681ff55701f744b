"""Benchmark: an urgent alert to N connected people, each acknowledging at once, with the
coordinator's roll-up updating live; daphne + Channels vs a raw ``websockets`` server.

Usage (from the project root)::

    .venv/bin/python bench/alerts.py                       # N = 1,000
    .venv/bin/python bench/alerts.py --people 100 1000 --rounds 2
    .venv/bin/python bench/alerts.py --redis redis://127.0.0.1:6379/0

Per N, a throwaway ``WORKSPACE_VAR_DIR`` (SQLite, migrated, ``seed_demo``) gets, through the
project's actions: 14 county offices of emergency management (``create_agency``), N - 1
people spread evenly over them (``add_staff_member``, the first of each an admin, no
password), each office invited into the Lakeland coordination community by LOEM and
accepted by its admin (``invite_agency``, ``accept_invitation``), and one incident opened
by LOEM's duty officer with the 14 offices (``open_incident``). LOEM takes part too, so the
recipients are the N - 1 county people and LOEM's planning chief: N people in 15 agencies.
All of it runs in one transaction (the actions' own become savepoints). Bench-only shortcut:
nobody signs in through the form (1,000 password hashes); each recipient's and the
coordinator's session is created directly with Django's session engine, as the sign-in view
would store it, and the cookie values are handed to the harness.

Servers, measured with the same client harness in the same run, interleaved per round:

* **daphne**: the project on one daphne process, in-memory channel layer (``channels_redis``
  with ``--redis``, under a prefix of its own, deleted afterwards). The coordinator (LOEM's
  duty officer) holds a socket subscribed to ``incident:<id>`` and sends the alert by
  posting the incident page's alert form (with its CSRF token) like a browser;
  ``send_alert`` writes the receipts and one ``alert.sent`` event per person's stream.
* **raw**: ``bench/raw_alerts.py``, a minimal ``websockets`` server with the same message
  pattern (the coordinator's ``alert`` frame stands in for the form post), counting
  acknowledgements in memory: the floor.

The N recipient sockets live in a child process (one asyncio loop, the small WebSocket
client of ``bench/fanout.py``), one per person, each subscribed to its own ``user:<id>``
stream; on the ``alert.sent`` event a socket answers with an ``ack`` frame at once. The
coordinator's socket and the form post are in this process, each server in its own. Times
are ``time.monotonic()`` (one clock for all processes on Linux), from just before the post
(or the ``alert`` frame) is sent. Reported: latency to the first, median, 99th-percentile
and last recipient; the ack round trip; per acknowledgement, the time from the person's
``ack`` frame to the coordinator's roll-up naming them; when every agency and when every
person shows as acknowledged on the coordinator's socket. Checked: every socket got the
alert exactly once; the coordinator saw each person's acknowledgement once, the count rising
by one each time, in seq order; the final roll-up (in all and per agency) equals a recount
of the acknowledged receipts in the database. The output is a report: nothing is asserted
about timings.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import math
import multiprocessing
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fanout import (
    CONNECT_CONCURRENCY,
    ROOT,
    Reader,
    ReaderSpec,
    Target,
    cpu_seconds,
    daphne_target,
    delete_redis_keys,
    log,
    machine,
    manage,
    percentile,
    project_env,
    raise_fd_limit,
    raw_target,
    tracebacks,
    wait_until_idle,
)

COMMUNITY = "lakeland-emergency-coordination"
COORDINATOR = "dana.whitfield@loem.lakeland.example"
COUNTIES = (
    "Alder", "Birch", "Cedar", "Dover", "Elk", "Fallow", "Granite",
    "Hollis", "Iron", "Juniper", "Kettle", "Larch", "Marsh", "North Fork",
)  # fmt: skip
ALERT_BODY = "Ice storm warning: **activate your EOC now** and acknowledge this alert."
DEFAULT_CUT = 120.0


# --- Setup (a child process with Django) ---------------------------------------------------


def django_setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workspace.settings")
    import django

    django.setup()


def build_people(n: int) -> dict[str, Any]:
    """The agencies, people, community memberships, incident and sessions of one run,
    through the project's actions. Returns what the harness needs."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.db import transaction

    from communities import actions as community_actions
    from communities.models import Community, CommunityRole
    from messaging.incidents import actions as incident_actions
    from messaging.incidents.models import Severity
    from workspace import actions
    from workspace.demo import STATE
    from workspace.models import AgencyRole, JurisdictionLevel, User

    community = Community.objects.get(slug=COMMUNITY)
    coordinator = User.objects.select_related("membership__agency").get(email=COORDINATOR)
    own = User.objects.filter(membership__agency=coordinator.agency, is_active=True).exclude(pk=coordinator.pk)
    county_people = n - own.count()
    if county_people < len(COUNTIES):
        raise SystemExit(f"N must be at least {len(COUNTIES) + own.count()}")
    started = time.monotonic()
    with transaction.atomic():
        offices, admins = [], []
        for name in COUNTIES:
            slug = name.lower().replace(" ", "-")
            offices.append(
                actions.create_agency(
                    actor=None,
                    name=f"{name} County Office of Emergency Management",
                    short_name=f"{name} OEM",
                    slug=f"{slug}-oem",
                    level=JurisdictionLevel.COUNTY,
                    state=STATE,
                    contact_email=f"duty@em.{slug}county.example",
                )
            )
        for i in range(county_people):
            office = offices[i % len(offices)]
            person = actions.add_staff_member(
                actor=None,
                agency=office,
                email=f"responder{i:05d}@{office.slug}.example",
                full_name=f"Responder {i:05d}",
                role=AgencyRole.ADMIN if i < len(offices) else AgencyRole.STAFF,
                password=None,  # unusable: no hashing, nobody signs in with it
            )
            if i < len(offices):
                admins.append(person)
        for office, admin in zip(offices, admins, strict=True):
            invitation = community_actions.invite_agency(
                actor=coordinator, community=community, agency=office, role=CommunityRole.PARTICIPANT
            )
            community_actions.accept_invitation(actor=admin, invitation=invitation)
        incident = incident_actions.open_incident(
            actor=coordinator,
            community=community,
            name="Lakeland Ice Storm",
            kind="Ice storm",
            agencies=offices,
            severity=Severity.SEVERE,
            location="All fourteen counties",
        )
    built = time.monotonic() - started
    recipients = [p for p in incident_actions.participants(incident) if p.pk != coordinator.pk]

    # Bench-only shortcut: the session the sign-in view would store, without the password check.
    store = import_module(settings.SESSION_ENGINE).SessionStore
    backend = "django.contrib.auth.backends.ModelBackend"

    def session_for(user: User) -> str:
        session = store()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = backend
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        return session.session_key

    started = time.monotonic()
    people = [[p.pk, p.membership.agency_id, p.membership.agency.short_name, session_for(p)] for p in recipients]
    return {
        "incident": incident.pk,
        "coordinator": {"id": coordinator.pk, "session": session_for(coordinator)},
        "people": people,
        "build_s": built,
        "sessions_s": time.monotonic() - started,
    }


def recount(alert_id: int) -> dict[str, Any]:
    """Acknowledged receipts of an alert, in all and per agency, straight from the tables."""
    from django.db.models import Count, Q

    from messaging.incidents.models import AlertRecipient
    from messaging.models import StreamEvent

    rows = (
        AlertRecipient.objects.filter(alert_id=alert_id)
        .values("agency_id")
        .annotate(people=Count("pk"), acknowledged=Count("pk", filter=Q(acknowledged_at__isnull=False)))
    )
    per_agency = {str(r["agency_id"]): [r["people"], r["acknowledged"]] for r in rows}
    return {
        "people": sum(v[0] for v in per_agency.values()),
        "acknowledged": sum(v[1] for v in per_agency.values()),
        "per_agency": per_agency,
        "ack_events": StreamEvent.objects.filter(kind="alert.acknowledged", stream__startswith="incident:")
        .filter(data__alert=alert_id)
        .count(),
    }


def run_task(task: str, argument: str, out: Path) -> None:
    django_setup()
    result = build_people(int(argument)) if task == "setup" else recount(int(argument))
    out.write_text(json.dumps(result))


def django_task(env: dict[str, str], work: Path, task: str, argument: int) -> dict[str, Any]:
    out = work / f"{task}-{argument}.json"
    result = subprocess.run(
        [sys.executable, __file__, "--task", task, str(argument), str(out)],
        cwd=ROOT,
        env=env | {"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"{task} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    return json.loads(out.read_text())


# --- The recipients (a child process) --------------------------------------------------------


class Recipient(Reader):
    """One person's socket: subscribes to its own stream and acknowledges an alert the moment
    its ``alert.sent`` event arrives (unless ``--no-ack``). The frames are few per socket:
    parsed in full."""

    acknowledging = True

    def on_text(self, payload: bytes, received: float) -> None:
        record = self.record
        frame = json.loads(payload)
        kind = frame["type"]
        if kind == "event":
            record["seqs"].append(frame["seq"])
            if frame["event"] == "alert.sent":
                alert = frame["data"]["id"]
                record["alerts"].append([alert, received])
                if len(record["alerts"]) == 1:
                    self.totals[0] += 1
                    if self.acknowledging:
                        self.send_text(json.dumps({"type": "ack", "alert": alert}))
                        record["ack_sent"] = time.monotonic()
            elif frame["event"] == "alert.acknowledged":
                record["ack_events"] += 1
            else:
                record["other"].append(frame["event"])
        elif kind == "acknowledged":
            record["answers"].append(received)
            self.totals[1] += 1
        elif kind == "hello" and not self.hello.done():
            self.hello.set_result(None)
        elif kind == "subscribed" and not self.subscribed.done():
            self.subscribed.set_result(None)
        elif kind == "error":
            record["errors"].append(frame["code"])
        else:
            record["other"].append(kind)


async def _open(
    spec: ReaderSpec, person: list[Any], gate: asyncio.Semaphore, record: dict[str, Any], totals: list[int]
) -> Recipient:
    loop = asyncio.get_running_loop()
    async with gate:
        session = person[3] or "-"
        _, socket = await loop.create_connection(
            lambda: Recipient(spec, spec.ports[0], session, record, totals), "127.0.0.1", spec.ports[0]
        )
        await asyncio.wait_for(socket.hello, 60)
        socket.send_text(json.dumps({"type": "subscribe", "stream": f"user:{person[0]}"}))
        await asyncio.wait_for(socket.subscribed, 120)
        return socket


async def _recipients(conn: Any, port: int, people: list[list[Any]]) -> None:
    spec = ReaderSpec([port], [], "", len(people), 0)
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    started = time.monotonic()
    records = [
        {
            "user": person[0],
            "alerts": [],
            "ack_sent": None,
            "answers": [],
            "ack_events": 0,
            "seqs": [],
            "errors": [],
            "other": [],
            "closed": None,
        }
        for person in people
    ]
    totals = [0, 0]  # alerts received, acks answered
    opened = await asyncio.gather(
        *(_open(spec, person, gate, record, totals) for person, record in zip(people, records, strict=True)),
        return_exceptions=True,
    )
    sockets = [s for s in opened if not isinstance(s, BaseException)]
    failures = [repr(s) for s in opened if isinstance(s, BaseException)]
    conn.send(("ready", len(sockets), failures[:3], len(failures), time.monotonic() - started))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    while True:
        command = await asyncio.to_thread(conn.recv)
        if command == "count":
            conn.send(tuple(totals))
        elif command == "mark":
            usage = resource.getrusage(resource.RUSAGE_SELF)
        elif command == "stop":
            end = resource.getrusage(resource.RUSAGE_SELF)
            cpu = (end.ru_utime - usage.ru_utime) + (end.ru_stime - usage.ru_stime)
            for socket in sockets:
                socket.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*(s.lost for s in sockets)), 10)
            for socket in sockets:
                if socket.transport is not None:
                    socket.transport.abort()
            conn.send(("done", records, cpu))
            return


def recipients_process(conn: Any, port: int, people: list[list[Any]], acknowledging: bool) -> None:
    raise_fd_limit()
    Recipient.acknowledging = acknowledging
    asyncio.run(_recipients(conn, port, people))


# --- The coordinator --------------------------------------------------------------------------


@dataclass
class Coordinated:
    sent_at: float = math.nan
    answered_at: float = math.nan  # the form post's answer (daphne)
    status: int = 0
    frames: list[tuple[float, dict[str, Any]]] | None = None
    errors: list[str] | None = None


def csrf_token(target: Target, path: str, session: str) -> tuple[str, str]:
    """The incident page's CSRF form token and cookie, read before the clock starts."""
    connection = http.client.HTTPConnection("127.0.0.1", target.port, timeout=60)
    connection.request("GET", path, headers={"Cookie": f"sessionid={session}"})
    response = connection.getresponse()
    page = response.read().decode()
    connection.close()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    cookie = re.search(r"csrftoken=([^;]+)", response.getheader("Set-Cookie") or "")
    if response.status != 200 or not token or not cookie:
        raise SystemExit(f"no alert form on {path} (HTTP {response.status})")
    return token.group(1), cookie.group(1)


def post_alert(target: Target, incident: int, session: str, token: str, cookie: str) -> tuple[float, int]:
    """Post the alert form like a browser (no redirect followed); return when it answered."""
    form = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "body": ALERT_BODY, "agency_threshold": "1"})
    connection = http.client.HTTPConnection("127.0.0.1", target.port, timeout=120)
    connection.request(
        "POST",
        f"/incidents/{incident}/alerts/",
        body=form,
        headers={
            "Cookie": f"sessionid={session}; csrftoken={cookie}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Referer": f"{target.base_url}/incidents/{incident}/",
        },
    )
    response = connection.getresponse()
    response.read()
    answered = time.monotonic()
    connection.close()
    return answered, response.status


def complete(rollup: dict[str, Any], expected: int) -> bool:
    return rollup["people_acknowledged"] >= expected and all(
        a["acknowledged"] >= a["people"] for a in rollup["agencies"]
    )


async def coordinate(
    target: Target, incident: int, session: str, expected: int, cut: float, arrived: Callable[[], int] | None
) -> Coordinated:
    """Send the alert and read the incident stream until the roll-up shows ``expected``
    acknowledgements, or, without acknowledgements, until ``arrived()`` reaches ``expected``."""
    import websockets

    result = Coordinated(frames=[], errors=[])
    async with websockets.connect(
        target.ws_url,
        origin=websockets.Origin(target.base_url),
        additional_headers={"Cookie": f"sessionid={session}"},
        compression=None,
        max_size=None,
    ) as ws:
        await ws.recv()  # hello
        await ws.send(json.dumps({"type": "subscribe", "stream": f"incident:{incident}"}))
        while json.loads(await ws.recv())["type"] != "subscribed":
            pass
        done = asyncio.Event()

        async def read() -> None:
            async for text in ws:
                received = time.monotonic()
                frame = json.loads(text)
                result.frames.append((received, frame))  # type: ignore[union-attr]
                if frame["type"] == "error":
                    result.errors.append(frame["code"])  # type: ignore[union-attr]
                rollup = frame.get("data", {}).get("rollup") if frame["type"] == "event" else None
                if rollup and complete(rollup, expected):
                    done.set()

        reader = asyncio.create_task(read())
        if target.name == "raw websockets":
            result.sent_at = time.monotonic()
            await ws.send(json.dumps({"type": "alert", "incident": incident, "body": ALERT_BODY}))
        else:
            token, cookie = await asyncio.to_thread(csrf_token, target, f"/incidents/{incident}/", session)
            await asyncio.sleep(0.5)
            result.sent_at = time.monotonic()
            result.answered_at, result.status = await asyncio.to_thread(
                post_alert, target, incident, session, token, cookie
            )
        if arrived is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), max(0.0, result.sent_at + cut - time.monotonic()))
        else:
            while time.monotonic() < result.sent_at + cut and await asyncio.to_thread(arrived) < expected:
                await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # anything extra (a duplicate) would come now
        reader.cancel()
    return result


# --- One measurement --------------------------------------------------------------------------


def measure(
    target: Target, setup: dict[str, Any], env: dict[str, str] | None, work: Path, cut: float, acknowledging: bool
) -> dict[str, Any]:
    people = setup["people"]
    n = len(people)
    load_before = os.getloadavg()
    wait_until_idle(target.pids)
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=recipients_process, args=(child, target.port, people, acknowledging), daemon=True)
    process.start()
    tracebacks_before = tracebacks(target)[0]
    try:
        _, connected, failures, n_failed, connect_seconds = parent.recv()
        settle = wait_until_idle(target.pids)
        log(f"  {target.name}, N={n}: {connected} sockets subscribed in {connect_seconds:.1f}s ({n_failed} failed)")
        for failure in failures:
            log(f"    {failure}")
        parent.send("mark")
        server_cpu = cpu_seconds(*target.pids)
        window_start = time.monotonic()

        def arrived() -> int:
            parent.send("count")
            return parent.recv()[0]

        session = setup["coordinator"]["session"]
        coordinated = asyncio.run(
            coordinate(target, setup["incident"], session, connected, cut, None if acknowledging else arrived)
        )
        window = time.monotonic() - window_start
        server_cpu = cpu_seconds(*target.pids) - server_cpu
        parent.send("stop")
        _, records, harness_cpu = parent.recv()
    finally:
        process.join(timeout=30)
        if process.is_alive():
            process.kill()

    t0 = coordinated.sent_at
    frames = coordinated.frames or []
    events = [(at, f) for at, f in frames if f["type"] == "event"]
    sent_events = [(at, f) for at, f in events if f["event"] == "alert.sent"]
    alert_id = sent_events[0][1]["data"]["id"] if sent_events else None
    acks = [(at, f) for at, f in events if f["event"] == "alert.acknowledged" and f["data"]["alert"] == alert_id]

    # Per recipient: the alert exactly once, its ack answered once.
    arrivals, missing, duplicated, answers, round_trips, sent_ack = [], 0, 0, [], [], {}
    errors: list[str] = []
    others: set[str] = set()
    for record in records:
        mine = [at for alert, at in record["alerts"] if alert == alert_id]
        duplicated += max(0, len(mine) - 1)
        if not mine:
            missing += 1
            continue
        arrivals.append((mine[0] - t0) * 1000)
        if record["ack_sent"] is not None:
            sent_ack[record["user"]] = record["ack_sent"]
        if record["answers"]:
            answers.append((record["answers"][0] - t0) * 1000)
            round_trips.append((record["answers"][0] - record["ack_sent"]) * 1000)
        errors += record["errors"]
        others.update(record["other"])
    missing += n - len(records)

    # The coordinator's view: one roll-up per acknowledgement, rising by one, in seq order.
    seen: dict[int, float] = {}
    repeated = not_rising = 0
    previous = sent_events[0][1]["data"]["rollup"]["people_acknowledged"] if sent_events else 0
    for at, frame in acks:
        user = frame["data"]["user"]
        if user in seen:
            repeated += 1
        seen.setdefault(user, at)
        count = frame["data"]["rollup"]["people_acknowledged"]
        not_rising += count != previous + 1
        previous = count
    seqs = [f["seq"] for _, f in events]
    seq_gaps = sum(1 for a, b in zip(seqs, seqs[1:], strict=False) if b != a + 1)
    lags = [(seen[user] - sent) * 1000 for user, sent in sent_ack.items() if user in seen]
    complete_at = next((at for at, f in acks if complete(f["data"]["rollup"], n)), math.nan)
    agencies_at = next(
        (at for at, f in acks if f["data"]["rollup"]["agencies_done"] == f["data"]["rollup"]["agencies_total"]),
        math.nan,
    )
    final = acks[-1][1]["data"]["rollup"] if acks else None
    last_ack_sent = max(sent_ack.values(), default=math.nan)

    if env is not None and alert_id is not None:  # daphne: recount from the database
        db = django_task(env, work, "recount", alert_id)
    else:  # raw: what the recipients were told was acknowledged
        db = {"people": n, "acknowledged": len(answers), "per_agency": None, "ack_events": len(acks)}
    agrees = final is not None and final["people_acknowledged"] == db["acknowledged"] == db["ack_events"]
    if final is not None and db["per_agency"] is not None:
        agrees = agrees and all(
            db["per_agency"].get(str(a["agency"])) == [a["people"], a["acknowledged"]] for a in final["agencies"]
        )
        agrees = agrees and len(final["agencies"]) == len(db["per_agency"])
    if not acknowledging:  # nothing to roll up: the recount must show no acknowledgement either
        agrees = None if final is None and db["acknowledged"] == 0 else False
    count, first_error = tracebacks(target)
    return {
        "server": target.name,
        "n": n,
        "connected": connected,
        "connect_s": connect_seconds,
        "settle_s": settle,
        "alert": alert_id,
        "http_status": coordinated.status,
        "http_ms": (coordinated.answered_at - t0) * 1000,
        "delivered": len(arrivals),
        "missing": missing,
        "duplicated": duplicated,
        "first": min(arrivals, default=math.nan),
        "p50": percentile(arrivals, 50),
        "p99": percentile(arrivals, 99),
        "last": max(arrivals, default=math.nan),
        "acks_answered": len(answers),
        "ack_rtt_p50": percentile(round_trips, 50),
        "ack_rtt_p99": percentile(round_trips, 99),
        "last_answer": max(answers, default=math.nan),
        "rollup_events": len(acks),
        "rollup_repeated": repeated,
        "rollup_not_rising": not_rising,
        "rollup_seq_gaps": seq_gaps,
        "rollup_lag_p50": percentile(lags, 50),
        "rollup_lag_p99": percentile(lags, 99),
        "rollup_lag_max": max(lags, default=math.nan),
        "agencies_done_ms": (agencies_at - t0) * 1000,
        "complete_ms": (complete_at - t0) * 1000,
        "complete_after_last_ack_ms": (complete_at - last_ack_sent) * 1000,
        "final_rollup": None
        if final is None
        else {k: final[k] for k in ("people_acknowledged", "people_total", "agencies_done", "agencies_total")},
        "recount": db,
        "rollup_equals_recount": agrees,
        "coordinator_errors": coordinated.errors,
        "recipient_errors": sorted(set(errors)),
        "other_frames": sorted(others),
        "server_cpu_s": server_cpu,
        "server_cpu_pct": 100 * server_cpu / window,
        "harness_cpu_s": harness_cpu,
        "window_s": window,
        "server_tracebacks": count - tracebacks_before,
        "server_error": first_error,
        "load": (load_before[0], os.getloadavg()[0]),
    }


# --- Report -------------------------------------------------------------------------------------


def ms(value: float) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:,.0f}"


def tables(results: list[dict[str, Any]]) -> str:
    delivery = [
        "| server | round | N | alert delivered / sockets | missing | dup | form post answered ms "
        "| first ms | p50 ms | p99 ms | last recipient ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    rollup = [
        "| server | round | N | acks answered | ack round trip p50 / p99 ms "
        "| ack → coordinator's roll-up p50 / p99 / max ms "
        "| every agency acknowledged at ms | every person acknowledged at ms | roll-up = recount "
        "| server CPU s (% of window) | harness CPU s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for r in results:
        delivery.append(
            f"| {r['server']} | {r['round']} | {r['n']:,} | {r['delivered']:,} / {r['connected']:,} | {r['missing']} "
            f"| {r['duplicated']} | {ms(r['http_ms'])} | {ms(r['first'])} | {ms(r['p50'])} | {ms(r['p99'])} "
            f"| {ms(r['last'])} |"
        )
        check = {True: "yes", None: "– (no acks)"}.get(r["rollup_equals_recount"], "**no**")
        rollup.append(
            f"| {r['server']} | {r['round']} | {r['n']:,} | {r['acks_answered']:,} "
            f"| {ms(r['ack_rtt_p50'])} / {ms(r['ack_rtt_p99'])} "
            f"| {ms(r['rollup_lag_p50'])} / {ms(r['rollup_lag_p99'])} / {ms(r['rollup_lag_max'])} "
            f"| {ms(r['agencies_done_ms'])} | {ms(r['complete_ms'])} | {check} "
            f"| {r['server_cpu_s']:.1f} ({r['server_cpu_pct']:.0f} %) | {r['harness_cpu_s']:.1f} |"
        )
    return "\n".join(delivery) + "\n\n" + "\n".join(rollup)


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--task":
        run_task(sys.argv[2], sys.argv[3], Path(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, nargs="+", default=[1000], help="recipients (N), one socket each")
    parser.add_argument("--rounds", type=int, default=1, help="alerts per server and N (interleaved)")
    parser.add_argument(
        "--cut", type=float, default=DEFAULT_CUT, help="stop waiting for the roll-up this many seconds after the post"
    )
    parser.add_argument(
        "--no-ack", action="store_true", help="recipients do not acknowledge: the alert's delivery alone (diagnostic)"
    )
    parser.add_argument("--servers", nargs="+", choices=["daphne", "raw"], default=["daphne", "raw"])
    parser.add_argument("--redis", metavar="URL", help="use channels_redis at URL for daphne's channel layer")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (server logs, database)")
    args = parser.parse_args()

    limit = raise_fd_limit()
    needed = 2 * max(args.people) + 200
    if limit < needed:
        raise SystemExit(f"RLIMIT_NOFILE hard limit {limit} is below the {needed} descriptors this run needs")
    load_start = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="workspace-alerts-"))
    results: list[dict[str, Any]] = []
    setups: dict[int, dict[str, Any]] = {}
    started = time.monotonic()
    prefixes: list[str] = []
    try:
        for n in args.people:
            env, prefix = project_env(work / f"var-{n}", args.redis, "alerts-bench")
            prefixes.append(prefix)
            log(f"N={n}: migrate, seed_demo, {len(COUNTIES)} county offices and {n} recipients")
            began = time.monotonic()
            manage(env, "migrate", "--noinput")
            manage(env, "seed_demo")
            setup = django_task(env, work, "setup", n)
            setups[n] = {k: v for k, v in setup.items() if k not in ("people", "coordinator")}
            log(
                f"  ready in {time.monotonic() - began:.0f}s (actions {setup['build_s']:.1f}s, "
                f"sessions {setup['sessions_s']:.1f}s), incident {setup['incident']}, {len(setup['people'])} recipients"
            )
            people_file = work / f"people-{n}.json"
            people_file.write_text(json.dumps([p[:3] for p in setup["people"]]))
            with contextlib.ExitStack() as stack:
                targets: list[tuple[Target, dict[str, str] | None]] = []
                if "daphne" in args.servers:
                    sessions = ("", [])  # not signed in through the form: the sessions exist already
                    target = stack.enter_context(
                        daphne_target(
                            work, env, setup["incident"], "daphne + Channels", "workspace.asgi:application", sessions
                        )
                    )
                    targets.append((target, env))
                if "raw" in args.servers:
                    target = stack.enter_context(raw_target(work, "raw_alerts.py", "--people", str(people_file)))
                    targets.append((target, None))
                for round_ in range(1, args.rounds + 1):
                    for target, target_env in targets:
                        result = measure(target, setup, target_env, work, args.cut, not args.no_ack)
                        result["round"] = round_
                        result["acknowledging"] = not args.no_ack
                        results.append(result)
                        log(
                            f"    last recipient {ms(result['last'])} ms, "
                            f"roll-up complete {ms(result['complete_ms'])} ms, "
                            f"roll-up = recount: {result['rollup_equals_recount']}"
                        )
    finally:
        if args.redis:
            for prefix in prefixes:
                delete_redis_keys(args.redis, prefix)
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    layer = f"channels_redis ({args.redis})" if args.redis else "the in-memory channel layer"
    pattern = "nobody acknowledging (--no-ack)" if args.no_ack else "each acknowledging at once"
    print(f"## Urgent alert to N people, {pattern}; daphne with {layer}\n")
    print(tables(results))
    print()
    for r in results:
        notes = [
            f"{r['connected']:,} sockets subscribed in {r['connect_s']:.1f} s",
            f"form post HTTP {r['http_status']}" if r["http_status"] else "alert sent as a frame",
            f"last ack answered at {ms(r['last_answer'])} ms",
            f"roll-up complete {ms(r['complete_after_last_ack_ms'])} ms after the last ack was sent",
            f"{r['rollup_events']:,} roll-up events ({r['rollup_repeated']} repeated, "
            f"{r['rollup_not_rising']} not rising by one, {r['rollup_seq_gaps']} seq gaps)",
            f"final roll-up {r['final_rollup']}, recount {r['recount']['acknowledged']} acknowledged of "
            f"{r['recount']['people']}",
            f"1-minute load {r['load'][0]:.2f} before, {r['load'][1]:.2f} after",
        ]
        if r["server_tracebacks"]:
            notes.append(f"server logged {r['server_tracebacks']} tracebacks, first: {r['server_error']}")
        if r["recipient_errors"] or r["coordinator_errors"]:
            notes.append(f"errors: {r['recipient_errors']} {r['coordinator_errors']}")
        if r["other_frames"]:
            notes.append(f"other frames: {r['other_frames']}")
        print(f"- {r['server']}, round {r['round']}, N={r['n']:,}: " + "; ".join(notes))
    print()
    print(f"- 1-minute load average at the start: {', '.join(f'{x:.2f}' for x in load_start)}")
    print("\n".join(machine()))
    print(f"- total run time {time.monotonic() - started:.0f} s")
    print(f"- command: {' '.join(['.venv/bin/python', 'bench/alerts.py', *sys.argv[1:]])}")
    if args.json:
        args.json.write_text(json.dumps({"setup": setups, "results": results}, indent=2))


if __name__ == "__main__":
    main()
