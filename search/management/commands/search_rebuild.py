from argparse import ArgumentParser
from typing import Any

from django.conf import settings

from search import indexer
from search.registry import IndexedType
from workspace.management.base import WorkspaceCommand


class Command(WorkspaceCommand):
    help = (
        "Empty the search index and index everything again from the database, with progress. "
        "Searches during the rebuild see a partial index; writes from the running site keep going."
    )
    changes_data = False  # the index is not the database: nothing to roll back

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--batch-size", type=int, default=1000, help="Items per index write (default 1000).")

    def run(self, **options: Any) -> None:
        where = settings.SEARCH_INDEX_DIR if settings.SEARCH_BACKEND == "whoosh" else "the database"
        self.stdout.write(f"Rebuilding the {settings.SEARCH_BACKEND} search index in {where}.")

        def progress(entry: IndexedType, done: int, total: int) -> None:
            self.stdout.write(f"  {entry.label}: {done:,} of {total:,}")

        written = indexer.rebuild(progress=progress, batch_size=max(1, options["batch_size"]))
        self.stdout.write(self.style.SUCCESS(f"Indexed {written:,} items."))
