"""Shared base for the project's management commands: common arguments, one place."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from workspace.models import Agency


class DryRun(Exception):
    """Raised inside the transaction to roll back a --dry-run."""


class WorkspaceCommand(BaseCommand):
    """Adds ``--dry-run`` (when ``changes_data``) and ``--agency`` (when ``takes_agency``)."""

    changes_data = True
    takes_agency = False

    def add_arguments(self, parser: ArgumentParser) -> None:
        if self.takes_agency:
            parser.add_argument("--agency", required=True, help="The agency's slug, e.g. harbor-county-em.")
        if self.changes_data:
            parser.add_argument("--dry-run", action="store_true", help="Show what would change; change nothing.")

    def agency(self, options: dict[str, Any]) -> Agency:
        slug = options["agency"]
        agency = Agency.objects.filter(slug=slug).first()
        if agency is None:
            known = ", ".join(Agency.objects.order_by("slug").values_list("slug", flat=True)[:20])
            raise CommandError(f"Unknown agency '{slug}'. Known agencies: {known or 'none yet'}.")
        return agency

    def handle(self, *args: Any, **options: Any) -> None:
        if not self.changes_data:
            self.run(**options)
            return
        try:
            with transaction.atomic():
                self.run(**options)
                if options.get("dry_run"):
                    raise DryRun
        except DryRun:
            self.stdout.write(self.style.WARNING("Dry run: nothing was changed."))

    def run(self, **options: Any) -> None:
        raise NotImplementedError
