from argparse import ArgumentParser
from datetime import datetime
from typing import Any

from django.core.management import CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from communities.announcements import actions
from workspace.management.base import WorkspaceCommand


def parse_now(value: str | None) -> datetime | None:
    """``--now`` as an aware datetime (ISO 8601; the server's time zone when none is given)."""
    if not value:
        return None
    parsed = parse_datetime(value)
    if parsed is None:
        raise CommandError(f"--now must be an ISO 8601 date and time, e.g. 2026-03-02T08:00, not {value!r}.")
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


class Command(WorkspaceCommand):
    help = (
        "Publish the scheduled announcements whose time has come and expire the published ones "
        "whose time is up. Idempotent: run it every minute (cron, a systemd timer or a worker loop)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--now", help="Act as if it were this time (ISO 8601), for testing and catch-up.")

    def run(self, **options: Any) -> None:
        report = actions.publish_due(now=parse_now(options.get("now")))
        for announcement in report.published:
            self.stdout.write(f"published  #{announcement.pk} {announcement.title}")
        for announcement in report.expired:
            self.stdout.write(f"expired    #{announcement.pk} {announcement.title}")
        self.stdout.write(f"{len(report.published)} published, {len(report.expired)} expired.")
