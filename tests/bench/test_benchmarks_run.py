"""The live benchmarks still run, end to end, at a tiny size.

``bench/fanout.py`` and ``bench/alerts.py`` share their servers, harness and readers, and
nothing else exercises them: a change to one broke the other unnoticed once. Each runs
here with a handful of sockets, and its raw results must show every delivery made once
(never a timing: those belong in docs/performance.md). The benchmarks build their own
SQLite project in a temporary directory whatever the suite runs on, so the PostgreSQL
lane would repeat exactly this; it skips them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.services import LIVE_REDIS_URL, redis_answers

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL")),
    reason="the benchmarks run on their own SQLite project; the SQLite lane runs them",
)


def run(script: str, *args: str, json_path: Path) -> dict | list:  # type: ignore[type-arg]
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    result = subprocess.run(
        [sys.executable, f"bench/{script}", *args, "--json", str(json_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| server |" in result.stdout  # the report's table
    return json.loads(json_path.read_text())


def test_fanout_delivers_every_post_once_to_every_socket(tmp_path: Path) -> None:
    servers = ["daphne", "raw"]
    extra: list[str] = []
    if redis_answers():  # two processes need Redis between them
        servers = ["daphne", "daphne-2", "raw"]
        extra = ["--redis", LIVE_REDIS_URL]
    args = ["--clients", "6", "--messages", "3", "--warmup", "1", "--rate", "5", "--servers", *servers, *extra]
    results = run("fanout.py", *args, json_path=tmp_path / "fanout.json")
    assert len(results) == len(servers)
    for row in results:
        assert row["connected"] == 6, row
        assert row["delivered"] == row["expected"] == 6 * 4, row
        assert (row["lost"], row["duplicated"], row["out_of_order"], row["late"]) == (0, 0, 0, 0), row
        assert row["server_tracebacks"] == 0, row["server_error"]


def test_alerts_reach_everyone_once_and_the_rollup_equals_the_recount(tmp_path: Path) -> None:
    report = run("alerts.py", "--people", "15", "--rounds", "1", json_path=tmp_path / "alerts.json")
    results = report["results"]  # type: ignore[call-overload]
    assert {row["server"] for row in results} == {"daphne + Channels", "raw websockets"}
    for row in results:
        assert (row["connected"], row["delivered"], row["missing"], row["duplicated"]) == (15, 15, 0, 0), row
        assert row["acks_answered"] == 15 and row["rollup_equals_recount"], row
        assert row["final_rollup"]["people_acknowledged"] == 15, row
