"""Management commands: demo data, agency bootstrap, and their errors."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from workspace import demo
from workspace.models import Agency, AuditEvent, StaffInvitation, User


def test_seed_demo_is_idempotent(db) -> None:  # type: ignore[no-untyped-def]
    call_command("seed_demo", stdout=io.StringIO())
    counts = (Agency.objects.count(), User.objects.count(), StaffInvitation.objects.count())
    events = AuditEvent.objects.count()
    call_command("seed_demo", stdout=io.StringIO())
    assert (Agency.objects.count(), User.objects.count(), StaffInvitation.objects.count()) == counts
    assert AuditEvent.objects.count() == events
    assert counts[0] == len(demo.AGENCIES) >= 6
    levels = set(Agency.objects.values_list("level", flat=True))
    assert {"state", "county", "city", "tribal"} <= levels
    for agency in Agency.objects.all():
        assert agency.memberships.filter(role="admin", user__is_active=True).exists(), agency


def test_demo_sign_in_works(db, client) -> None:  # type: ignore[no-untyped-def]
    call_command("seed_demo", stdout=io.StringIO())
    response = client.post(
        "/accounts/login/", {"username": "jordan.reyes@em.harborcounty.example", "password": demo.DEMO_PASSWORD}
    )
    assert response.status_code == 302


def test_seed_demo_dry_run_changes_nothing(db) -> None:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    call_command("seed_demo", "--dry-run", stdout=out)
    assert "nothing was changed" in out.getvalue()
    assert not Agency.objects.exists()


def test_add_staff_to_unknown_agency_is_a_clear_error(db) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CommandError, match="Unknown agency 'atlantis'"):
        call_command("add_staff", "--agency", "atlantis", "--email", "a@b.example", "--name", "A")
    assert not User.objects.exists()


def test_create_agency_then_add_its_first_admin(db) -> None:  # type: ignore[no-untyped-def]
    call_command(
        "create_agency",
        "--name=Cedar Falls Fire",
        "--short-name=CF Fire",
        "--slug=cf-fire",
        "--level=city",
        "--state=LK",
        stdout=io.StringIO(),
    )
    call_command("add_staff", "--agency=cf-fire", "--email=chief@cf.example", "--name=Chief", "--role=admin")
    assert User.objects.get(email="chief@cf.example").membership.agency.slug == "cf-fire"
    with pytest.raises(CommandError, match="already has an account"):
        call_command("add_staff", "--agency=cf-fire", "--email=chief@cf.example", "--name=Chief")


def test_check_deploy_is_clean_under_production_settings() -> None:
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env |= {
        "WORKSPACE_ENV": "production",
        "SECRET_KEY": "a-production-secret-key-for-the-deploy-check-0123456789abcdef",
        "ALLOWED_HOSTS": "workspace.example",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key() -> None:
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"} | {"WORKSPACE_ENV": "production"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
