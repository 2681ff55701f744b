"""The audit log is append-only: no route, admin page, ORM call or SQL statement changes it."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from tests.factories import PersonFactory
from workspace import actions
from workspace.models import AppendOnlyError, AuditEvent, User


@pytest.fixture
def event(world) -> AuditEvent:  # type: ignore[no-untyped-def]
    return AuditEvent.objects.filter(agency=world.own).first()


def test_actions_record_actor_agency_target_and_address(world, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(world.own_admin)
    client.post(
        reverse("staff_change_role", args=[world.own.slug, world.own_staff.pk]),
        {"role": "admin"},
        REMOTE_ADDR="192.0.2.44",
    )
    event = AuditEvent.objects.get(verb="staff.role_changed")
    assert event.actor == world.own_admin
    assert event.actor_agency == world.own and event.agency == world.own
    assert event.target_id == str(world.own_staff.pk)
    assert event.ip_address == "192.0.2.44"


def test_model_save_and_delete_are_refused(event) -> None:  # type: ignore[no-untyped-def]
    event.verb = "forged"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()


def test_queryset_update_and_delete_are_refused(event) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(verb="forged")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).verb == event.verb


def test_database_refuses_update(event) -> None:  # type: ignore[no-untyped-def]
    table = AuditEvent._meta.db_table
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET verb = %s WHERE id = %s", ["forged", event.pk])  # noqa: S608
    assert AuditEvent.objects.get(pk=event.pk).verb == event.verb


@pytest.mark.skipif(connection.vendor != "postgresql", reason="DELETE trigger exists on PostgreSQL only")
def test_postgres_refuses_delete(event) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {AuditEvent._meta.db_table} WHERE id = %s", [event.pk])  # noqa: S608


def test_admin_site_cannot_add_change_or_delete_events(world, client, event) -> None:  # type: ignore[no-untyped-def]
    operator = User.objects.create_superuser("op@workspace.example", "op-password-123", full_name="Operator")
    client.force_login(operator)
    assert client.get(reverse("admin:workspace_auditevent_changelist")).status_code == 200
    assert client.get(reverse("admin:workspace_auditevent_add")).status_code == 403
    change = client.post(reverse("admin:workspace_auditevent_change", args=[event.pk]), {"verb": "forged"})
    assert change.status_code in (200, 403)
    assert (
        client.post(reverse("admin:workspace_auditevent_delete", args=[event.pk]), {"post": "yes"}).status_code == 403
    )
    bulk = client.post(
        reverse("admin:workspace_auditevent_changelist"),
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )
    assert bulk.status_code in (200, 302)
    assert AuditEvent.objects.get(pk=event.pk).verb == event.verb


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_audit_pages_accept_reads_only(world, client, method: str) -> None:  # type: ignore[no-untyped-def]
    client.force_login(world.own_admin)
    for name in ("audit_log", "audit_export"):
        assert getattr(client, method)(reverse(name, args=[world.own.slug])).status_code == 405


def test_admin_sees_own_agency_events_only(world, client) -> None:  # type: ignore[no-untyped-def]
    actions.invite_staff(actor=world.other_admin, agency=world.other, email="secret-invitee@pine.example")
    client.force_login(world.own_admin)
    page = client.get(reverse("audit_log", args=[world.own.slug])).content.decode()
    assert "staff.deactivated" in page
    assert "secret-invitee" not in page


def test_filters_narrow_the_log(world, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(world.own_admin)
    page = client.get(reverse("audit_log", args=[world.own.slug]), {"verb": "staff.deactivated"}).content.decode()
    assert "staff.deactivated" in page and "staff.added" not in page.split("<tbody>")[1]


def test_bad_filter_gets_a_clear_error(world, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(world.own_admin)
    response = client.get(reverse("audit_log", args=[world.own.slug]), {"since": "2026-05-02", "until": "2026-05-01"})
    assert response.status_code == 400
    assert "end date is before the start date" in response.content.decode()


def test_csv_export_has_every_event_and_neutralizes_formulas(world, client) -> None:  # type: ignore[no-untyped-def]
    PersonFactory(agency=world.own, full_name="=HYPERLINK(1)")
    client.force_login(world.own_admin)
    response = client.get(reverse("audit_export", args=[world.own.slug]))
    assert response["Content-Disposition"] == 'attachment; filename="audit-harbor-em.csv"'
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == AuditEvent.objects.for_agency(world.own).count()
    assert all(not row["target"].startswith("=") for row in rows)
    assert any(row["target"] == "'=HYPERLINK(1)" for row in rows)
