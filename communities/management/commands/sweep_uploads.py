"""Delete upload leftovers: temporary files of uploads that never finished, and stored
files no document version names (a transaction rolled back after the file was written).

    python manage.py sweep_uploads                  # older than 60 minutes
    python manage.py sweep_uploads --older-than 10 --dry-run
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError

from communities.documents import uploads
from communities.documents.models import DocumentVersion
from workspace.management.base import WorkspaceCommand


class Command(WorkspaceCommand):
    help = "Delete unfinished uploads and stored files no document version names."
    changes_data = False  # files only; --dry-run is handled here

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--older-than",
            type=int,
            default=60,
            metavar="MINUTES",
            help="Only files untouched for this long (default 60: an upload in progress is never swept).",
        )
        parser.add_argument("--dry-run", action="store_true", help="List what would be deleted; delete nothing.")

    def run(self, **options: Any) -> None:
        minutes = options["older_than"]
        if minutes < 1:
            raise CommandError("--older-than must be at least 1 minute, so uploads in progress are never swept.")
        dry_run = options["dry_run"]
        found = uploads.sweep(
            older_than_seconds=minutes * 60,
            known=lambda: set(DocumentVersion.objects.values_list("blob", flat=True)),
            delete=not dry_run,
        )
        for name in found:
            self.stdout.write(f"{'would delete' if dry_run else 'deleted'} {name}")
        verb = "would be deleted" if dry_run else "deleted"
        self.stdout.write(self.style.SUCCESS(f"{len(found)} file{'s' if len(found) != 1 else ''} {verb}."))
