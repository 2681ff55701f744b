"""Benchmark: object-permission checks on direct foreign-key vs generic guardian tables.

Usage (from the project root)::

    .venv/bin/python bench/policy_bench.py
    .venv/bin/python bench/policy_bench.py --database-url postgres://postgres@127.0.0.1:5432/workspace_bench

Each backend runs in its own child process (Django is configured once per process) on a
throwaway database: SQLite in a temporary directory, PostgreSQL in a database the script
creates and drops (its name must contain "bench"). With ``--database-url`` both SQLite
and PostgreSQL are measured unless ``--skip-sqlite`` is given.

The data is built through the real actions (``create_agency``, ``add_staff_member``), so
every agency has its staff and admin groups and the admins' grants as rows of the direct
``AgencyGroupObjectPermission`` table. The same grants are then copied, row for row, into
guardian's generic ``GroupObjectPermission`` table (content type + text ``object_pk``).

Measured, per (user, agency) pair, with fresh user objects so nothing is cached:

* ``policy.can(user, "manage_staff", agency)`` as the project runs it (direct tables);
* the same call with guardian pointed at its generic tables (only the model lookup is
  swapped, so the Python path is identical);
* the bare group-permission query alone, on each table, through the ORM and as SQL only
  (built and compiled untimed), to separate Django's share from the database's;
* a warm ``policy.can`` (second call on the same user object, served from its cache).

The output is a report: timings are never asserted. The answers of the two table layouts
are compared, and a mismatch makes the run fail, since the timings would then be moot.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import gc
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent

DEFAULT_AGENCIES = 2_000
DEFAULT_CHECKS = 2_000
DEFAULT_WARMUP = 200
DEFAULT_SEED = 20_240_601
QUERY_COUNT_SAMPLE = 100
SERVER_TIME_SAMPLE = 300  # PostgreSQL only: EXPLAIN ANALYZE of the bare query
BATCH = 100  # agencies per transaction while building the data

ACTION = "manage_staff"

# Report rows, in order.
VARIANTS: dict[str, str] = {
    "can_direct": "cold `policy.can`, direct FK tables",
    "can_generic": "cold `policy.can`, generic tables",
    "query_direct": "cold bare group query (ORM), direct FK table",
    "query_generic": "cold bare group query (ORM), generic table",
    "sql_direct": "same query, SQL execution only, direct FK table",
    "sql_generic": "same query, SQL execution only, generic table",
    "warm_direct": "warm `policy.can`, direct FK tables",
    "warm_generic": "warm `policy.can`, generic tables",
}
WARM = ("warm_direct", "warm_generic")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- Throwaway databases ----------------------------------------------------------------


def _pg_admin_url(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name:
        raise SystemExit("--database-url must name a database, e.g. .../workspace_bench")
    if "bench" not in name:
        raise SystemExit(f"Refusing to create and drop database {name!r}: its name must contain 'bench'.")
    return name, urlunsplit(parts._replace(path="/postgres"))


def _pg_recreate(url: str, *, create: bool) -> None:
    import psycopg
    from psycopg import sql

    name, admin_url = _pg_admin_url(url)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if create:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


@contextlib.contextmanager
def throwaway_database(database_url: str | None, keep: bool) -> Iterator[str]:
    """Point the settings at a fresh database for this process; yield a description."""
    var_dir = tempfile.mkdtemp(prefix="workspace-bench-")
    os.environ["WORKSPACE_VAR_DIR"] = var_dir  # SQLite file, search index, media: all in here
    if database_url:
        os.environ["DATABASE_URL"] = database_url
        _pg_recreate(database_url, create=True)
    else:
        os.environ.pop("DATABASE_URL", None)
    try:
        yield database_url or f"sqlite:///{var_dir}/workspace.sqlite3"
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        if keep:
            log(f"kept: {database_url or var_dir}")
        else:
            if database_url:
                _pg_recreate(database_url, create=False)
            shutil.rmtree(var_dir, ignore_errors=True)


def setup_django() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "workspace.settings"
    os.environ["WORKSPACE_ENV"] = "development"
    # DEBUG would record every query in connection.queries and slow every check down.
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


# --- Data -----------------------------------------------------------------------------------


def build_data(n_agencies: int) -> dict[str, Any]:
    """N agencies through the real actions, each with one admin and one staff member."""
    from django.contrib.contenttypes.models import ContentType
    from django.db import transaction
    from guardian.models import GroupObjectPermission, UserObjectPermission

    from workspace import actions
    from workspace.models import (
        Agency,
        AgencyGroupObjectPermission,
        AgencyRole,
        AgencyUserObjectPermission,
        JurisdictionLevel,
    )

    levels = list(JurisdictionLevel.values)
    started = time.perf_counter()
    for start in range(0, n_agencies, BATCH):
        with transaction.atomic():
            for i in range(start, min(start + BATCH, n_agencies)):
                agency = actions.create_agency(
                    actor=None,
                    name=f"Bench Agency {i:06d}",
                    short_name=f"BA{i:06d}",
                    slug=f"bench-agency-{i:06d}",
                    level=levels[i % len(levels)],
                    state="LK",
                )
                # No password: hashing one would dominate the build time and is not measured.
                actions.add_staff_member(
                    actor=None,
                    agency=agency,
                    email=f"admin{i:06d}@bench.example",
                    full_name=f"Admin {i:06d}",
                    role=AgencyRole.ADMIN,
                )
                actions.add_staff_member(
                    actor=None, agency=agency, email=f"staff{i:06d}@bench.example", full_name=f"Staff {i:06d}"
                )
        done = min(start + BATCH, n_agencies)
        if done % (BATCH * 5) == 0 or done == n_agencies:
            log(f"  built {done}/{n_agencies} agencies ({time.perf_counter() - started:.0f}s)")
    build_seconds = time.perf_counter() - started

    # The same grants, row for row, in guardian's generic tables.
    ct = ContentType.objects.get_for_model(Agency)
    GroupObjectPermission.objects.bulk_create(
        [
            GroupObjectPermission(
                group_id=row.group_id,
                permission_id=row.permission_id,
                content_type=ct,
                object_pk=str(row.content_object_id),
            )
            for row in AgencyGroupObjectPermission.objects.all()
        ],
        batch_size=1000,
    )
    UserObjectPermission.objects.bulk_create(
        [
            UserObjectPermission(
                user_id=row.user_id,
                permission_id=row.permission_id,
                content_type=ct,
                object_pk=str(row.content_object_id),
            )
            for row in AgencyUserObjectPermission.objects.all()
        ],
        batch_size=1000,
    )
    analyze()
    return {"build_seconds": round(build_seconds, 1)}


def analyze() -> None:
    """Fresh planner statistics, so neither layout is judged on a stale plan."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def row_counts() -> dict[str, int]:
    from django.contrib.auth.models import Group
    from guardian.models import GroupObjectPermission, UserObjectPermission

    from workspace.models import Agency, AgencyGroupObjectPermission, AgencyUserObjectPermission, User

    return {
        "agencies": Agency.objects.count(),
        "users": User.objects.count(),
        "groups": Group.objects.count(),
        "group memberships": User.groups.through.objects.count(),
        "direct group grants": AgencyGroupObjectPermission.objects.count(),
        "direct user grants": AgencyUserObjectPermission.objects.count(),
        "generic group grants": GroupObjectPermission.objects.count(),
        "generic user grants": UserObjectPermission.objects.count(),
    }


# --- The checks -------------------------------------------------------------------------------


@contextlib.contextmanager
def generic_tables() -> Iterator[None]:
    """Make guardian's checker read the generic tables for every model.

    The real model lookup still runs (its cost stays in the measurement); only its answer
    is replaced by the generic model.
    """
    import guardian.core
    from guardian.models import GroupObjectPermission, UserObjectPermission

    real_group, real_user = guardian.core.get_group_obj_perms_model, guardian.core.get_user_obj_perms_model

    def group_model(obj: Any = None) -> Any:
        real_group(obj)
        return GroupObjectPermission

    def user_model(obj: Any = None) -> Any:
        real_user(obj)
        return UserObjectPermission

    guardian.core.get_group_obj_perms_model, guardian.core.get_user_obj_perms_model = group_model, user_model
    try:
        yield
    finally:
        guardian.core.get_group_obj_perms_model, guardian.core.get_user_obj_perms_model = real_group, real_user


def group_query(layout: str, user: Any, agency: Any) -> Any:
    """The group-permission query guardian's checker runs, on one layout's table."""
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType

    from workspace.models import Agency

    ct = ContentType.objects.get_for_model(Agency)  # served from ContentType's own cache
    if layout == "direct":
        filters = {
            "agencygroupobjectpermission__group__in": user.groups.all(),
            "agencygroupobjectpermission__content_object": agency,
        }
    else:
        # The generic table is keyed by content type and the primary key as text.
        filters = {
            "groupobjectpermission__group__in": user.groups.all(),
            "groupobjectpermission__content_type": ct,
            "groupobjectpermission__object_pk": str(agency.pk),
        }
    return Permission.objects.filter(content_type=ct, **filters).values_list("codename", flat=True)


def make_checks() -> dict[str, Callable[[Any, Any], tuple[bool, int]]]:
    """Each check returns (answer, elapsed ns); only the check itself is timed."""
    from django.db import connection

    from workspace import policy

    perf = time.perf_counter_ns

    def can_direct(user: Any, agency: Any) -> tuple[bool, int]:
        t0 = perf()
        answer = policy.can(user, ACTION, agency)
        return answer, perf() - t0

    def can_generic(user: Any, agency: Any) -> tuple[bool, int]:
        with generic_tables():
            t0 = perf()
            answer = policy.can(user, ACTION, agency)
            elapsed = perf() - t0
        return answer, elapsed

    def query_direct(user: Any, agency: Any) -> tuple[bool, int]:
        t0 = perf()
        codenames = set(group_query("direct", user, agency))
        return ACTION in codenames, perf() - t0

    def query_generic(user: Any, agency: Any) -> tuple[bool, int]:
        t0 = perf()
        codenames = set(group_query("generic", user, agency))
        return ACTION in codenames, perf() - t0

    def sql_only(qs: Any) -> tuple[bool, int]:
        # Django builds and compiles the query untimed; only the database round trip counts.
        sql, params = qs.query.sql_with_params()
        with connection.cursor() as cursor:
            t0 = perf()
            cursor.execute(sql, params)
            rows = cursor.fetchall()
            elapsed = perf() - t0
        return any(row[0] == ACTION for row in rows), elapsed

    def sql_direct(user: Any, agency: Any) -> tuple[bool, int]:
        return sql_only(group_query("direct", user, agency))

    def sql_generic(user: Any, agency: Any) -> tuple[bool, int]:
        return sql_only(group_query("generic", user, agency))

    def warm_direct(user: Any, agency: Any) -> tuple[bool, int]:
        policy.can(user, ACTION, agency)  # fills this user object's cache, untimed
        return can_direct(user, agency)

    def warm_generic(user: Any, agency: Any) -> tuple[bool, int]:
        with generic_tables():
            policy.can(user, ACTION, agency)
        return can_generic(user, agency)

    return {
        "can_direct": can_direct,
        "can_generic": can_generic,
        "query_direct": query_direct,
        "query_generic": query_generic,
        "sql_direct": sql_direct,
        "sql_generic": sql_generic,
        "warm_direct": warm_direct,
        "warm_generic": warm_generic,
    }


def make_pairs(n: int, seed: int) -> list[tuple[int, int]]:
    """(user pk, agency pk) pairs: half the time the user's own agency, else any agency.

    Admins asked about their own agency are the "yes" answers (about a quarter).
    """
    from workspace.models import Agency, AgencyMembership

    rng = random.Random(seed)
    members = list(AgencyMembership.objects.order_by("pk").values_list("user_id", "agency_id"))
    agency_ids = list(Agency.objects.order_by("pk").values_list("pk", flat=True))
    pairs = []
    for _ in range(n):
        user_id, own_agency = rng.choice(members)
        pairs.append((user_id, own_agency if rng.random() < 0.5 else rng.choice(agency_ids)))
    return pairs


def measure(checks: int, warmup: int, seed: int) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from workspace.models import Agency, User

    check_fns = make_checks()
    users = {u.pk: u for u in User.objects.all()}
    agencies = {a.pk: a for a in Agency.objects.all()}

    def fresh(user_id: int) -> Any:
        # A new user object: its policy cache is empty, as at the start of a request.
        return copy.copy(users[user_id])

    warm_pairs = make_pairs(warmup, seed + 1)
    pairs = make_pairs(checks, seed)

    log(f"  warm-up: {warmup} checks per variant")
    for user_id, agency_id in warm_pairs:
        for fn in check_fns.values():
            fn(fresh(user_id), agencies[agency_id])

    # Queries per check, in a separate pass (capturing them costs time).
    queries: dict[str, float] = {}
    for name, fn in check_fns.items():
        total = 0
        for user_id, agency_id in pairs[:QUERY_COUNT_SAMPLE]:
            user, agency = fresh(user_id), agencies[agency_id]
            if name in WARM:
                fn(user, agency)  # fill the cache, so the captured call is all cache hits
            with CaptureQueriesContext(connection) as ctx:
                fn(user, agency)
            total += len(ctx.captured_queries)
        queries[name] = total / QUERY_COUNT_SAMPLE

    log(f"  timing: {checks} checks per variant, interleaved")
    samples: dict[str, list[int]] = {name: [] for name in check_fns}
    answers: dict[str, list[bool]] = {name: [] for name in check_fns}
    names = list(check_fns)
    gc.collect()
    gc.disable()
    try:
        for i, (user_id, agency_id) in enumerate(pairs):
            agency = agencies[agency_id]
            # Rotate the order so no variant always runs first (or right after another).
            for name in names[i % len(names) :] + names[: i % len(names)]:
                answer, elapsed = check_fns[name](fresh(user_id), agency)
                samples[name].append(elapsed)
                answers[name].append(answer)
    finally:
        gc.enable()

    server = server_times(pairs[:SERVER_TIME_SAMPLE], users, agencies) if connection.vendor == "postgresql" else {}

    reference = answers["can_direct"]
    mismatches = {name: sum(a != b for a, b in zip(got, reference, strict=True)) for name, got in answers.items()}
    return {
        "stats": {name: summarize(values) for name, values in samples.items()},
        "queries": queries,
        "yes": sum(reference),
        "mismatches": mismatches,
        "server": server,
    }


def server_times(pairs: list[tuple[int, int]], users: dict[int, Any], agencies: dict[int, Any]) -> dict[str, Any]:
    """PostgreSQL's own planning and execution time for each layout's group query.

    Splits the round trip measured above into the server's share and the rest (network,
    driver). Uses ``EXPLAIN (ANALYZE, SUMMARY)``, so it runs each query once more.
    """
    times: dict[str, dict[str, list[float]]] = {
        layout: {"planning": [], "execution": []} for layout in ("direct", "generic")
    }
    for i, (user_id, agency_id) in enumerate(pairs):
        layouts = ["direct", "generic"] if i % 2 == 0 else ["generic", "direct"]
        for layout in layouts:
            qs = group_query(layout, copy.copy(users[user_id]), agencies[agency_id])
            summary = json.loads(qs.explain(format="json", analyze=True, summary=True))[0]
            times[layout]["planning"].append(summary["Planning Time"] * 1000)
            times[layout]["execution"].append(summary["Execution Time"] * 1000)
    return {
        layout: {part: statistics.median(values) for part, values in parts.items()} for layout, parts in times.items()
    }


def summarize(ns: list[int]) -> dict[str, float]:
    us = sorted(v / 1000 for v in ns)
    return {
        "p50": statistics.median(us),
        "p95": us[min(len(us) - 1, round(0.95 * (len(us) - 1)))],
        "mean": statistics.fmean(us),
    }


def query_plans() -> dict[str, str]:
    """The database's plan for each layout's group-permission query (one sample pair)."""
    from workspace.models import AgencyMembership

    membership = AgencyMembership.objects.select_related("user", "agency").order_by("pk").first()
    assert membership is not None
    user, agency = membership.user, membership.agency
    return {layout: group_query(layout, user, agency).explain() for layout in ("direct", "generic")}


def environment() -> dict[str, str]:
    import django
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            server = f"PostgreSQL {cursor.fetchone()[0]}"
        else:
            cursor.execute("SELECT sqlite_version()")
            server = f"SQLite {cursor.fetchone()[0]}"
    mem = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    from importlib.metadata import version

    return {
        "database": server,
        "python": platform.python_version(),
        "django": django.get_version(),
        "django-guardian": version("django-guardian"),
        "cpus": str(os.cpu_count()),
        "memory": mem,
        "platform": platform.platform(),
    }


def run_one(args: argparse.Namespace) -> dict[str, Any]:
    """Build, measure and describe one backend. Runs inside a child process."""
    started = time.perf_counter()
    with throwaway_database(args.database_url, args.keep) as where:
        log(f"[{'postgresql' if args.database_url else 'sqlite'}] {where}")
        setup_django()
        result: dict[str, Any] = {"environment": environment()}
        log(f"  building {args.agencies} agencies through the actions")
        result.update(build_data(args.agencies))
        result["rows"] = row_counts()
        load_before = os.getloadavg()[0]
        result.update(measure(args.checks, args.warmup, args.seed))
        # Other work on the machine shows up here; interleaving keeps it out of the ratios.
        result["load"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
        result["plans"] = query_plans()
    result["total_seconds"] = round(time.perf_counter() - started, 1)
    return result


# --- Report ---------------------------------------------------------------------------------


def report(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> str:
    out = [
        "# Permission check benchmark: direct FK vs generic guardian tables",
        "",
        f"{args.agencies} agencies (one admin and one staff member each), {args.checks} seeded random "
        f"(user, agency) checks of `{ACTION}` per variant after {args.warmup} warm-up checks, seed {args.seed}.",
        "",
    ]
    for backend, res in results.items():
        env = res["environment"]
        out += [
            f"## {backend}: {env['database']}",
            "",
            f"Python {env['python']}, Django {env['django']}, django-guardian {env['django-guardian']}, "
            f"{env['cpus']} CPUs, {env['memory']} RAM, {env['platform']}.",
            f"Built in {res['build_seconds']} s; whole run {res['total_seconds']} s. "
            f"Answers: {res['yes']} yes of {args.checks}. "
            f"Load average (1 min) before/after timing: {res['load'][0]} / {res['load'][1]}.",
            "",
            "Rows: " + ", ".join(f"{k} {v:,}" for k, v in res["rows"].items()) + ".",
            "",
            "| check | p50 µs | p95 µs | mean µs | queries/check |",
            "|---|---:|---:|---:|---:|",
        ]
        for name, label in VARIANTS.items():
            s = res["stats"][name]
            out.append(f"| {label} | {s['p50']:.1f} | {s['p95']:.1f} | {s['mean']:.1f} | {res['queries'][name]:g} |")
        out += ["", "| generic ÷ direct | p50 | p95 | mean |", "|---|---:|---:|---:|"]
        for kind, a, b in (
            ("cold `policy.can`", "can_generic", "can_direct"),
            ("cold bare group query (ORM)", "query_generic", "query_direct"),
            ("SQL execution only", "sql_generic", "sql_direct"),
            ("warm `policy.can`", "warm_generic", "warm_direct"),
        ):
            sa, sb = res["stats"][a], res["stats"][b]
            out.append(f"| {kind} | {ratio(sa, sb, 'p50')} | {ratio(sa, sb, 'p95')} | {ratio(sa, sb, 'mean')} |")
        if res["server"]:
            out += [
                "",
                f"PostgreSQL's own time for the bare group query (`EXPLAIN (ANALYZE, SUMMARY)`, median of "
                f"{SERVER_TIME_SAMPLE} pairs); the rest of the SQL-only time is the round trip and the driver:",
                "",
                "| table | planning µs | execution µs |",
                "|---|---:|---:|",
            ]
            for layout, parts in res["server"].items():
                out.append(f"| {layout} | {parts['planning']:.1f} | {parts['execution']:.1f} |")
        bad = {k: v for k, v in res["mismatches"].items() if v}
        if bad:
            out += ["", f"**Answers differ from direct `policy.can`: {bad}**"]
        out.append("")
        if args.plans:
            for layout, plan in res["plans"].items():
                out += [f"Plan of the bare group query, {layout}:", "", "```", plan, "```", ""]
    return "\n".join(out)


def ratio(a: dict[str, float], b: dict[str, float], key: str) -> str:
    return f"{a[key] / b[key]:.2f}×" if b[key] else "n/a"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agencies", type=int, default=DEFAULT_AGENCIES, help="agencies to create (default 2000)")
    parser.add_argument("--checks", type=int, default=DEFAULT_CHECKS, help="timed checks per variant (default 2000)")
    parser.add_argument("--warmup", type=int, default=DEFAULT_WARMUP, help="untimed checks per variant first")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--database-url",
        help="also measure PostgreSQL in this database, created and dropped by the run "
        "(e.g. postgres://postgres@127.0.0.1:5432/workspace_bench; the name must contain 'bench')",
    )
    parser.add_argument("--skip-sqlite", action="store_true", help="with --database-url, measure PostgreSQL only")
    parser.add_argument("--plans", action="store_true", help="also print the query plans of the bare queries")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway databases for inspection")
    parser.add_argument("--json", type=Path, help="also write the raw results to this file")
    parser.add_argument("--child-output", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child_output:
        args.child_output.write_text(json.dumps(run_one(args)))
        return 0

    if args.database_url:
        _pg_admin_url(args.database_url)  # refuse a bad name before doing anything
    backends: list[tuple[str, str | None]] = []
    if not (args.database_url and args.skip_sqlite):
        backends.append(("SQLite", None))
    if args.database_url:
        backends.append(("PostgreSQL", args.database_url))

    results: dict[str, dict[str, Any]] = {}
    common = ["--agencies", str(args.agencies), "--checks", str(args.checks)]
    common += ["--warmup", str(args.warmup), "--seed", str(args.seed)] + (["--keep"] if args.keep else [])
    for label, url in backends:
        with tempfile.TemporaryDirectory(prefix="workspace-bench-out-") as tmp:
            out = Path(tmp) / "result.json"
            cmd = [sys.executable, str(Path(__file__).resolve()), *common, "--child-output", str(out)]
            if url:
                cmd += ["--database-url", url]
            env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "WORKSPACE_VAR_DIR"}}
            completed = subprocess.run(cmd, cwd=ROOT, env=env, check=False)
            if completed.returncode != 0:
                log(f"{label} run failed with exit code {completed.returncode}")
                return completed.returncode
            results[label] = json.loads(out.read_text())

    print(report(results, args))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    if any(v for res in results.values() for v in res["mismatches"].values()):
        log("The generic and direct layouts gave different answers; see the report.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
