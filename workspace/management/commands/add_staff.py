from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError

from workspace import actions
from workspace.exceptions import ActionError
from workspace.management.base import WorkspaceCommand
from workspace.models import AgencyRole


class Command(WorkspaceCommand):
    help = "Add a person to an agency directly (for bootstrapping an agency's first admin)."
    takes_agency = True

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--email", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--role", choices=AgencyRole.values, default=AgencyRole.STAFF)
        parser.add_argument("--title", default="")
        parser.add_argument("--password", help="Leave out to have them set one through password reset.")

    def run(self, **options: Any) -> None:
        agency = self.agency(options)
        try:
            user = actions.add_staff_member(
                actor=None,
                agency=agency,
                email=options["email"],
                full_name=options["name"],
                role=options["role"],
                title=options["title"],
                password=options["password"],
            )
        except ActionError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(self.style.SUCCESS(f"Added {user.email} to {agency.name} as {options['role']}."))
