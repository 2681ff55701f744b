"""Benchmark: search latency, indexing throughput and full rebuild, whoosh and PostgreSQL
side by side in one run.

Usage (from the project root)::

    .venv/bin/python bench/search.py --database-url postgres://postgres@127.0.0.1:5432/workspace_search_bench
    .venv/bin/python bench/search.py                      # SQLite and whoosh only
    .venv/bin/python bench/search.py --items 20000 ...    # a quicker, smaller run

The corpus lives in a throwaway database (PostgreSQL: a database the script creates and
drops, whose name must contain "bench"; otherwise SQLite in a temporary directory) and
the whoosh index in a temporary directory; the project's own ``var/`` and database are
never touched. Both backends index the same rows.

The corpus: agencies (made through the real actions, so each has its groups), communities
with 3 to 8 member agencies each (one in ten unlisted) and their real grants, threads
(one in ten restricted to some member agencies) and messages whose words follow a Zipf
law over a 6,000-word vocabulary, dated over a year. Items = communities + threads +
messages (100,000 by default).

Measured per backend:

* full rebuild (``indexer.rebuild``: reading the rows, building documents, writing);
* incremental indexing: documents written one commit at a time, as actions do after commit
  (on whoosh, every other write reads the segments as whoosh ships, copying each file it
  opens: the baseline for ``search.backends.whoosh_files``, in the same run);
* query latency for a fixed mix of ten queries (common, mid-frequency and rare words, AND,
  phrase, prefix, OR, NOT, a typo, a community filter sorted by date), each asked by a
  sample of people with different access: the engine alone (``backend.search`` with the
  person's tokens, which include counts and facets) and the whole ``search.api.query``
  (tokens from the grants, engine, loading and the policy re-check of the page, facet
  names).

Output: Markdown on stdout, progress on stderr, ``--json FILE`` for the raw numbers.
Timings are reported, never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_ITEMS = 100_000
DEFAULT_SEED = 20_260_801
VOCABULARY = 6_000
THREADS_SHARE = 0.10  # of the items
PEOPLE_SAMPLE = 30
INCREMENTAL_WRITES = 300


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- Throwaway databases ----------------------------------------------------------------


def _pg_admin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if "bench" not in name:
        raise SystemExit(f"Refusing to create and drop database {name!r}: its name must contain 'bench'.")
    return name, urlunsplit(parts._replace(path="/postgres"))


def _pg_recreate(url: str, *, create: bool) -> None:
    import psycopg
    from psycopg import sql

    name, admin = _pg_admin(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if create:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


@contextlib.contextmanager
def throwaway(database_url: str | None, keep: bool) -> Iterator[Path]:
    var_dir = Path(tempfile.mkdtemp(prefix="workspace-search-bench-"))
    os.environ["WORKSPACE_VAR_DIR"] = str(var_dir)
    os.environ["SEARCH_INDEX_DIR"] = str(var_dir / "index")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workspace.settings")
    os.environ["LOG_LEVEL"] = "WARNING"
    if database_url:
        os.environ["DATABASE_URL"] = database_url
        _pg_recreate(database_url, create=True)
    else:
        os.environ.pop("DATABASE_URL", None)
    try:
        yield var_dir
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        if not keep:
            if database_url:
                _pg_recreate(database_url, create=False)
            shutil.rmtree(var_dir, ignore_errors=True)
        else:
            log(f"Kept {var_dir}" + (f" and {database_url}" if database_url else ""))


# --- The corpus ---------------------------------------------------------------------------

DOMAIN_WORDS = [
    "flood",
    "gauge",
    "river",
    "levee",
    "shelter",
    "evacuation",
    "sandbag",
    "crest",
    "forecast",
    "rainfall",
    "culvert",
    "bridge",
    "closure",
    "detour",
    "pump",
    "station",
    "outage",
    "generator",
    "hospital",
    "clinic",
    "vaccine",
    "exposure",
    "notice",
    "broadband",
    "fiber",
    "tower",
    "permit",
    "inspection",
    "budget",
    "grant",
    "audit",
    "report",
    "schedule",
    "drill",
    "exercise",
    "wildfire",
    "smoke",
    "evacuation",
    "route",
    "school",
    "district",
    "water",
    "main",
    "boil",
    "advisory",
    "reservoir",
    "dam",
    "spillway",
    "debris",
    "cleanup",
    "volunteer",
    "donation",
    "supply",
    "warehouse",
    "convoy",
    "fuel",
    "radio",
    "dispatch",
]


def _vocabulary(rng: random.Random) -> list[str]:
    consonants, vowels = "bcdfghjklmnprstvwz", "aeiou"
    words = list(dict.fromkeys(DOMAIN_WORDS))
    seen = set(words)
    while len(words) < VOCABULARY:
        syllables = rng.choice((2, 3, 3, 4))
        word = "".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(syllables))
        if rng.random() < 0.3:
            word += rng.choice(consonants)
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


class Corpus:
    """Rows built for the run, and what the query mix needs to know about them."""

    def __init__(self, items: int, seed: int) -> None:
        self.items = items
        self.rng = random.Random(seed)
        self.words = _vocabulary(self.rng)
        self.weights = [1 / (rank + 1) for rank in range(len(self.words))]
        self.cumulative = list(_accumulate(self.weights))
        self.people: list[Any] = []
        self.readable: dict[int, list[int]] = {}
        self.rare: list[str] = []

    def text(self, low: int, high: int) -> str:
        count = self.rng.randint(low, high)
        return " ".join(self.rng.choices(self.words, cum_weights=self.cumulative, k=count))

    def build(self) -> dict[str, int]:
        from communities import grants
        from communities.models import Community, CommunityMembership, CommunityRole, Visibility
        from messaging.models import Message, Thread
        from workspace import actions
        from workspace.models import AgencyRole, JurisdictionLevel

        rng = self.rng
        communities_count = max(10, self.items // 200)
        threads_count = max(20, int(self.items * THREADS_SHARE))
        messages_count = self.items - communities_count - threads_count
        agencies_count = max(10, communities_count // 3)

        log(f"Building {agencies_count} agencies with 3 people each…")
        levels = list(JurisdictionLevel.values)
        agencies, staff_of = [], {}
        for n in range(agencies_count):
            agency = actions.create_agency(
                actor=None,
                name=f"Bench Agency {n}",
                short_name=f"BA{n}",
                slug=f"bench-agency-{n}",
                level=levels[n % len(levels)],
                state="LK",
            )
            people = [
                actions.add_staff_member(
                    actor=None,
                    agency=agency,
                    email=f"person{n}-{k}@bench.example",
                    full_name=f"Person {n}-{k}",
                    role=AgencyRole.ADMIN if k == 0 else AgencyRole.STAFF,
                )
                for k in range(3)
            ]
            agencies.append(agency)
            staff_of[agency.pk] = people
            self.people.append(people[1])

        log(f"Building {communities_count} communities and their grants…")
        start = datetime(2025, 1, 1, tzinfo=UTC)
        communities = Community.objects.bulk_create(
            [
                Community(
                    name=f"Bench Community {n}",
                    slug=f"bench-community-{n}",
                    purpose=self.text(6, 12),
                    description=self.text(10, 30),
                    visibility=Visibility.UNLISTED if n % 10 == 0 else Visibility.LISTED,
                    created_at=start + timedelta(hours=n),
                )
                for n in range(communities_count)
            ]
        )
        members: dict[int, list[int]] = {}
        memberships = []
        roles = (CommunityRole.PARTICIPANT,) * 3 + (CommunityRole.OBSERVER,)
        for community in communities:
            chosen = rng.sample(agencies, rng.randint(3, min(8, len(agencies))))
            members[community.pk] = [a.pk for a in chosen]
            for index, agency in enumerate(chosen):
                role = CommunityRole.OWNER if index == 0 else rng.choice(roles)
                memberships.append(CommunityMembership(community=community, agency=agency, role=role))
        for membership in CommunityMembership.objects.bulk_create(memberships):
            grants.apply_membership(membership)
        for community_id, agency_ids in members.items():
            for agency_id in agency_ids:
                self.readable.setdefault(agency_id, []).append(community_id)

        log(f"Building {threads_count:,} threads…")
        community_ids = [c.pk for c in communities]
        threads, allowed = [], []
        for n in range(threads_count):
            community_id = rng.choice(community_ids)
            author_agency = rng.choice(members[community_id])
            restricted = rng.random() < 0.1
            threads.append(
                Thread(
                    community_id=community_id,
                    title=self.text(3, 8).capitalize(),
                    author=staff_of[author_agency][rng.randint(1, 2)],
                    author_agency_id=author_agency,
                    created_at=start + timedelta(minutes=n * 50),
                    last_activity_at=start + timedelta(minutes=n * 50),
                    restricted=restricted,
                )
            )
        threads = Thread.objects.bulk_create(threads, batch_size=2000)
        for thread in threads:
            if thread.restricted:
                agency_ids = {thread.author_agency_id} | set(
                    rng.sample(members[thread.community_id], rng.randint(0, 2))
                )
                allowed.extend(
                    Thread.allowed_agencies.through(thread_id=thread.pk, agency_id=agency_id)
                    for agency_id in agency_ids
                )
        Thread.allowed_agencies.through.objects.bulk_create(allowed, batch_size=5000)
        restricted_agencies: dict[int, list[int]] = {}
        for row in allowed:
            restricted_agencies.setdefault(row.thread_id, []).append(row.agency_id)

        log(f"Building {messages_count:,} messages…")
        self.rare = [f"needle{n:04d}" for n in range(50)]
        rare_at = set(rng.sample(range(messages_count), len(self.rare)))
        batch: list[Message] = []
        made = 0
        for n in range(messages_count):
            thread = threads[rng.randrange(len(threads))]
            agency_id = rng.choice(restricted_agencies.get(thread.pk) or members[thread.community_id])
            body = self.text(8, 40)
            if n in rare_at:
                body += " " + self.rare[len([m for m in rare_at if m < n])]
            batch.append(
                Message(
                    thread=thread,
                    author=staff_of[agency_id][rng.randint(1, 2)],
                    author_agency_id=agency_id,
                    body_source=body,
                    body_html=f"<p>{body}</p>",
                    client_id=uuid.UUID(int=rng.getrandbits(128)),
                    created_at=thread.created_at + timedelta(minutes=rng.randint(1, 60 * 24 * 30)),
                )
            )
            if len(batch) >= 5000:
                Message.objects.bulk_create(batch)
                made += len(batch)
                batch = []
                log(f"  {made:,} messages")
        Message.objects.bulk_create(batch)
        return {
            "agencies": agencies_count,
            "people": agencies_count * 3,
            "communities": communities_count,
            "threads": threads_count,
            "messages": messages_count,
            "items": communities_count + threads_count + messages_count,
        }

    def queries(self, person: Any) -> list[tuple[str, str, dict[str, Any]]]:
        """The fixed mix: (label, text, options). Words are picked by frequency rank."""
        from search.backends import Filters

        w = self.words
        long_mid = next(word for word in w[150:] if len(word) >= 8)
        typo = long_mid[:3] + ("a" if long_mid[3] != "a" else "e") + long_mid[4:]
        readable = self.readable.get(person.agency.pk, [])
        community = readable[0] if readable else None
        return [
            ("common word", w[4], {}),
            ("mid-frequency word", w[300], {}),
            ("rare word", self.rare[7], {}),
            ("two words (AND)", f"{w[20]} {w[60]}", {}),
            ("phrase", f'"{w[1]} {w[2]}"', {}),
            ("prefix", w[120][:3] + "*", {}),
            ("OR", f"{w[400]} OR {w[500]}", {}),
            ("NOT", f"{w[10]} NOT {w[11]}", {}),
            ("typo (fuzzy)", typo, {}),
            ("community filter, by date", w[8], {"filters": Filters(community=community), "sort": "date"}),
        ]


def _accumulate(values: list[float]) -> Iterator[float]:
    total = 0.0
    for value in values:
        total += value
        yield total


# --- Measuring --------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def summary(values_ms: list[float]) -> dict[str, float]:
    return {
        "p50": percentile(values_ms, 0.50),
        "p90": percentile(values_ms, 0.90),
        "p99": percentile(values_ms, 0.99),
        "mean": statistics.fmean(values_ms) if values_ms else float("nan"),
        "max": max(values_ms) if values_ms else float("nan"),
        "n": len(values_ms),
    }


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = call()
    return (time.perf_counter() - start) * 1000, value


def _use(name: str) -> Any:
    from django.conf import settings

    from search.backends import get_backend

    settings.SEARCH_BACKEND = name
    return get_backend()


def measure_writes(name: str, batch_size: int) -> dict[str, Any]:
    """Full rebuild, then one-document writes as the indexer makes them after a commit."""
    from search import indexer, registry
    from search.backends import whoosh_files

    backend = _use(name)
    result: dict[str, Any] = {"backend": name}
    log(f"[{name}] full rebuild…")
    last = [time.perf_counter()]

    def progress(entry, done: int, total: int) -> None:  # type: ignore[no-untyped-def]
        if time.perf_counter() - last[0] > 10 or done == total:
            last[0] = time.perf_counter()
            log(f"[{name}]   {entry.label}: {done:,} of {total:,}")

    load_before = os.getloadavg()[0]
    seconds, written = timed(lambda: indexer.rebuild(progress=progress, batch_size=batch_size))
    result["rebuild_seconds"] = seconds / 1000
    result["rebuild_items"] = written
    result["rebuild_items_per_second"] = written / (seconds / 1000)
    result["rebuild_load"] = (load_before, os.getloadavg()[0])

    log(f"[{name}] one-document writes…")
    entry = registry.get("message")
    sample = list(entry.queryset().order_by("pk")[:INCREMENTAL_WRITES])
    writes: list[float] = []
    copied: list[float] = []  # whoosh as shipped, alternating with the writes above
    for n, message in enumerate(sample):
        document = entry.document(message)
        changed = document.__class__(**{**document.__dict__, "body": document.body + " touched"})
        as_shipped = name == "whoosh" and n % 2 == 1
        if as_shipped:
            whoosh_files.uninstall()
        try:
            ms, _ = timed(lambda changed=changed: indexer.write_changed([changed], [], backend=backend))
        finally:
            if as_shipped:
                whoosh_files.install()
        (copied if as_shipped else writes).append(ms)
    result["incremental"] = summary(writes)
    if copied:
        result["incremental_copied"] = summary(copied)
    # Put the index back as the database has it.
    indexer.write_changed([entry.document(m) for m in sample], [], backend=backend)
    return result


def measure_queries(names: list[str], corpus: Corpus, people: list[Any]) -> dict[str, dict[str, Any]]:
    """The query mix, asked of every backend in turn for each (person, query), so that
    both see the same machine load; then the same through the whole API."""
    from search import api, syntax
    from search import tokens as access
    from search.backends import Filters
    from workspace.models import User

    prepared = []
    for person in people:
        fresh = User.objects.select_related("membership__agency").get(pk=person.pk)
        person_tokens = access.for_user(fresh)
        for label, text, options in corpus.queries(fresh):
            prepared.append((person.pk, person_tokens, label, text, options))

    def engine(name: str, person_tokens: list[str], text: str, options: dict[str, Any]) -> Any:
        return _use(name).search(
            syntax.parse(text).node,
            tokens=person_tokens,
            filters=options.get("filters") or Filters(),
            sort=options.get("sort", "relevance"),
            offset=0,
            limit=api.PER_PAGE,
        )

    def whole(name: str, person_id: int, text: str, options: dict[str, Any]) -> Any:
        _use(name)
        fresh = User.objects.select_related("membership__agency").get(pk=person_id)
        return api.query(fresh, text, **options)

    def first_asks(name: str) -> list[float]:
        """The first person's ten queries on a backend object of its own, as a process
        that has just started asks them (whoosh: no segment read yet)."""
        from django.conf import settings

        from search.backends.whoosh_backend import WhooshBackend

        backend = WhooshBackend(str(settings.SEARCH_INDEX_DIR)) if name == "whoosh" else _use(name)
        found = []
        for _, person_tokens, _, text, options in prepared[:10]:
            node = syntax.parse(text).node
            filters = options.get("filters") or Filters()
            sort = options.get("sort", "relevance")
            found.append(
                timed(
                    lambda b=backend, n=node, t=person_tokens, f=filters, s=sort: b.search(
                        n, tokens=t, filters=f, sort=s, offset=0, limit=api.PER_PAGE
                    )
                )[0]
            )
        return found

    log("First asks, on backends with nothing read yet…")
    first = {name: first_asks(name) for name in names}
    log(f"Query mix: {len(people)} people × 10 queries, backends in turn, engine then API…")
    for name in names:  # open searchers, warm caches
        for _, person_tokens, _, text, options in prepared[:10]:
            engine(name, person_tokens, text, options)
    timings = {name: {"engine": [], "api": [], "by_query": {}, "totals": {}} for name in names}
    load_before = os.getloadavg()[0]
    for _, person_tokens, label, text, options in prepared:
        for name in names:
            ms, found = timed(lambda n=name, t=person_tokens, x=text, o=options: engine(n, t, x, o))
            timings[name]["engine"].append(ms)
            timings[name]["by_query"].setdefault(label, []).append(ms)
            timings[name]["totals"].setdefault(label, []).append(found.total if found else 0)
    for person_id, _, _, text, options in prepared:
        for name in names:
            ms, _ = timed(lambda n=name, p=person_id, x=text, o=options: whole(n, p, x, o))
            timings[name]["api"].append(ms)
    load = (load_before, os.getloadavg()[0])
    return {
        name: {
            "engine": summary(t["engine"]),
            "first": summary(first[name]),
            "api": summary(t["api"]),
            "query_load": load,
            "by_query": {
                label: {**summary(values), "median_total": statistics.median(t["totals"][label])}
                for label, values in t["by_query"].items()
            },
        }
        for name, t in timings.items()
    }


# --- Reporting ----------------------------------------------------------------------------------


def report(meta: dict[str, Any], results: list[dict[str, Any]]) -> str:
    def ms(value: float) -> str:
        return f"{value:.1f}"

    names = [r["backend"] for r in results]
    lines = [
        f"Corpus: {meta['corpus']['items']:,} items ({meta['corpus']['communities']:,} communities, "
        f"{meta['corpus']['threads']:,} threads, {meta['corpus']['messages']:,} messages), "
        f"{meta['corpus']['agencies']} agencies; database {meta['database']}; "
        f"{meta['people']} people × 10 queries per backend. Python {meta['python']}, {meta['machine']}. "
        "1-minute load average before/after: rebuilds "
        + ", ".join(f"{r['backend']} {r['rebuild_load'][0]:.1f}/{r['rebuild_load'][1]:.1f}" for r in results)
        + f"; queries {results[0]['query_load'][0]:.1f}/{results[0]['query_load'][1]:.1f}.",
        "",
        "| | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
        "| full rebuild, seconds | " + " | ".join(f"{r['rebuild_seconds']:.1f}" for r in results) + " |",
        "| rebuild, items/s | " + " | ".join(f"{r['rebuild_items_per_second']:,.0f}" for r in results) + " |",
        "| one-item write after commit, p50 / p99 ms | "
        + " | ".join(f"{ms(r['incremental']['p50'])} / {ms(r['incremental']['p99'])}" for r in results)
        + " |",
        "| the same, segment files copied as whoosh ships (same run), p50 / p99 ms | "
        + " | ".join(
            f"{ms(r['incremental_copied']['p50'])} / {ms(r['incremental_copied']['p99'])}"
            if "incremental_copied" in r
            else "n/a"
            for r in results
        )
        + " |",
        "| query, engine only, p50 / p99 ms | "
        + " | ".join(f"{ms(r['engine']['p50'])} / {ms(r['engine']['p99'])}" for r in results)
        + " |",
        "| first ask of each query in a new process, p50 / max ms | "
        + " | ".join(f"{ms(r['first']['p50'])} / {ms(r['first']['max'])}" for r in results)
        + " |",
        "| query, whole API, p50 / p99 ms | "
        + " | ".join(f"{ms(r['api']['p50'])} / {ms(r['api']['p99'])}" for r in results)
        + " |",
        "",
        "Engine latency per query (p50 / p99 ms; median matches the person may see):",
        "",
        "| query | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for label in results[0]["by_query"]:
        cells = []
        for r in results:
            q = r["by_query"][label]
            cells.append(f"{ms(q['p50'])} / {ms(q['p99'])} ({q['median_total']:,.0f})")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="PostgreSQL URL of a throwaway database (name contains 'bench').")
    parser.add_argument("--items", type=int, default=DEFAULT_ITEMS)
    parser.add_argument("--people", type=int, default=PEOPLE_SAMPLE)
    parser.add_argument("--batch-size", type=int, default=2000, help="Items per write during the rebuild.")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--json", help="Write the raw results to this file.")
    parser.add_argument("--keep", action="store_true", help="Keep the throwaway database and index.")
    args = parser.parse_args()

    with throwaway(args.database_url, args.keep):
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        corpus = Corpus(args.items, args.seed)
        started = time.perf_counter()
        built = corpus.build()
        log(f"Corpus built in {time.perf_counter() - started:.0f} s.")
        people = random.Random(args.seed).sample(corpus.people, min(args.people, len(corpus.people)))
        backends = ["whoosh"] + (["postgres"] if connection.vendor == "postgresql" else [])
        results = [measure_writes(name, args.batch_size) for name in backends]
        queries = measure_queries(backends, corpus, people)
        for result in results:
            result.update(queries[result["backend"]])
        meta = {
            "corpus": built,
            "database": connection.vendor,
            "people": len(people),
            "python": platform.python_version(),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        }
        print(report(meta, results))
        if args.json:
            Path(args.json).write_text(json.dumps({"meta": meta, "results": results}, indent=2, default=str))


if __name__ == "__main__":
    main()
