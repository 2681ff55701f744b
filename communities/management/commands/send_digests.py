from argparse import ArgumentParser
from typing import Any

from django.core.management import CommandError

from communities.announcements import actions
from communities.announcements.models import Frequency
from communities.management.commands.publish_scheduled import parse_now
from workspace.exceptions import ActionError
from workspace.management.base import WorkspaceCommand


class Command(WorkspaceCommand):
    help = (
        "Email each daily (or weekly) follower the announcements they may read that have not reached "
        "them yet. Run daily and weekly from cron; running it twice sends nothing twice."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--frequency", required=True, choices=[Frequency.DAILY, Frequency.WEEKLY])
        parser.add_argument("--now", help="Act as if it were this time (ISO 8601).")

    def run(self, **options: Any) -> None:
        try:
            report = actions.send_digests(frequency=options["frequency"], now=parse_now(options.get("now")))
        except ActionError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"{report.people} digest{'s' if report.people != 1 else ''}, {report.items} items.")
