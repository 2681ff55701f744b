from argparse import ArgumentParser
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management import CommandError
from django.utils import timezone

from messaging.models import StreamEvent
from workspace.management.base import WorkspaceCommand


class Command(WorkspaceCommand):
    help = (
        "Delete event-log rows older than EVENT_LOG_KEEP_DAYS (or --days). Streams keep their "
        "seq; a client asking to replay pruned events is told to resync."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--days", type=int, default=None, help="Keep this many days (default: the setting).")

    def run(self, **options: Any) -> None:
        days = options["days"] if options["days"] is not None else settings.EVENT_LOG_KEEP_DAYS
        if days < 1:
            raise CommandError("--days must be at least 1.")
        cutoff = timezone.now() - timedelta(days=days)
        deleted, _ = StreamEvent.objects.filter(created_at__lt=cutoff).delete()
        self.stdout.write(f"Deleted {deleted} events older than {days} days.")
