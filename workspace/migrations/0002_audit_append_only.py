"""Make the audit log append-only in the database as well as in the ORM.

UPDATE is refused on every backend. DELETE is refused on PostgreSQL too; on SQLite the
test runner empties tables with DELETE between tests, so there the ORM guard stands alone.
(PostgreSQL test runs empty tables with TRUNCATE, which row triggers do not see.)
"""

from django.db import migrations

SQLITE_UP = [
    """CREATE TRIGGER workspace_auditevent_no_update BEFORE UPDATE ON workspace_auditevent
    BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;""",
]
SQLITE_DOWN = ["DROP TRIGGER IF EXISTS workspace_auditevent_no_update;"]

POSTGRES_UP = [
    """CREATE OR REPLACE FUNCTION workspace_auditevent_append_only() RETURNS trigger AS $$
    BEGIN RAISE EXCEPTION 'audit events are append-only'; END; $$ LANGUAGE plpgsql;""",
    """CREATE TRIGGER workspace_auditevent_no_change BEFORE UPDATE OR DELETE ON workspace_auditevent
    FOR EACH ROW EXECUTE FUNCTION workspace_auditevent_append_only();""",
]
POSTGRES_DOWN = [
    "DROP TRIGGER IF EXISTS workspace_auditevent_no_change ON workspace_auditevent;",
    "DROP FUNCTION IF EXISTS workspace_auditevent_append_only();",
]


def _run(statements_by_vendor):  # type: ignore[no-untyped-def]
    def run(apps, schema_editor):  # type: ignore[no-untyped-def]
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("workspace", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_UP, "postgresql": POSTGRES_UP}),
            _run({"sqlite": SQLITE_DOWN, "postgresql": POSTGRES_DOWN}),
        )
    ]
