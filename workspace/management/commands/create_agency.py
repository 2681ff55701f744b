from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError

from workspace import actions
from workspace.exceptions import ActionError
from workspace.management.base import WorkspaceCommand
from workspace.models import Agency, JurisdictionLevel


class Command(WorkspaceCommand):
    help = "Create an agency with its staff and admin groups."

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--name", required=True)
        parser.add_argument("--short-name", required=True)
        parser.add_argument("--slug", required=True)
        parser.add_argument("--level", required=True, choices=JurisdictionLevel.values)
        parser.add_argument("--state", required=True, help="Two-letter code, e.g. LK.")
        parser.add_argument("--parent", help="Slug of the parent jurisdiction's agency.")
        parser.add_argument("--contact-email", default="")

    def run(self, **options: Any) -> None:
        parent = None
        if options["parent"]:
            parent = Agency.objects.filter(slug=options["parent"]).first()
            if parent is None:
                raise CommandError(f"Unknown parent agency '{options['parent']}'.")
        try:
            agency = actions.create_agency(
                actor=None,
                name=options["name"],
                short_name=options["short_name"],
                slug=options["slug"],
                level=options["level"],
                state=options["state"],
                parent=parent,
                contact_email=options["contact_email"],
            )
        except ActionError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(self.style.SUCCESS(f"Created {agency.name} ({agency.slug})."))
