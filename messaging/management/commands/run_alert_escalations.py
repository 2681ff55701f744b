import time
from argparse import ArgumentParser
from typing import Any

from django.core.management import CommandError
from django.db import close_old_connections
from django.utils import timezone

from messaging.incidents import actions
from workspace.management.base import WorkspaceCommand


class Command(WorkspaceCommand):
    help = (
        "Remind people who have not acknowledged an urgent alert, and escalate agencies with no "
        "acknowledgement to their admins. --once runs one pass (for cron or a timer); without it, a "
        "pass every --interval seconds until stopped. Each reminder and escalation happens once, so "
        "passes may overlap or repeat safely."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--once", action="store_true", help="Run one pass and exit.")
        parser.add_argument(
            "--interval", type=int, default=60, help="Seconds between passes when running continuously (default 60)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["once"]:
            super().handle(*args, **options)  # one pass in a transaction; --dry-run rolls it back
            return
        if options["dry_run"]:
            raise CommandError("--dry-run needs --once.")
        if options["interval"] < 1:
            raise CommandError("--interval must be at least 1 second.")
        self.stdout.write(f"Checking alerts every {options['interval']} s. Stop with Ctrl-C.")
        try:
            while True:
                # Each alert is handled in its own transaction by escalate_due, so what a
                # pass did is committed (and its notifications sent) as it goes.
                self.run(**options)
                close_old_connections()
                time.sleep(options["interval"])
        except KeyboardInterrupt:
            self.stdout.write("Stopped.")

    def run(self, **options: Any) -> None:
        result = actions.escalate_due()
        now = timezone.localtime()
        self.stdout.write(
            f"{now:%Y-%m-%d %H:%M:%S} reminded {result['reminded']} people, escalated {result['escalated']} agencies."
        )
