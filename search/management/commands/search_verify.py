from argparse import ArgumentParser
from typing import Any

from django.core.management import CommandError

from search import indexer
from workspace.management.base import WorkspaceCommand

SHOWN = 10


class Command(WorkspaceCommand):
    help = (
        "Compare the search index with the database: items missing from the index, stale "
        "(indexed with old text or old access) and extra (gone from the database). With --fix, "
        "repair them. Exits with an error when differences remain."
    )
    changes_data = False

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--fix", action="store_true", help="Write missing and stale items, remove extra ones.")

    def run(self, **options: Any) -> None:
        report = indexer.verify()
        self.stdout.write(f"Checked {report.checked:,} items against the index.")
        waiting, oldest = indexer.queue_length()
        if waiting:
            self.stdout.write(
                f"  Queued additions not indexed yet: {waiting:,} (oldest {oldest:,.0f} s); they show as missing "
                "until a writer thread or `manage.py search_worker` drains the queue."
            )
        for label, keys in (("Missing", report.missing), ("Stale", report.stale), ("Extra", report.extra)):
            shown = ", ".join(keys[:SHOWN]) + (" …" if len(keys) > SHOWN else "")
            self.stdout.write(f"  {label}: {len(keys):,}" + (f" ({shown})" if keys else ""))
        if report.clean:
            self.stdout.write(self.style.SUCCESS("The index matches the database."))
            return
        if not options["fix"]:
            raise CommandError("The index differs from the database; run again with --fix to repair it.")
        indexer.repair(report)
        again = indexer.verify()
        if not again.clean:
            raise CommandError(
                f"After repair: {len(again.missing)} missing, {len(again.stale)} stale, {len(again.extra)} extra."
            )
        self.stdout.write(self.style.SUCCESS("Repaired: the index matches the database."))
