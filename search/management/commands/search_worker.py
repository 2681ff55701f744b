import signal
import threading
import time
from argparse import ArgumentParser
from typing import Any

from search import background, indexer
from workspace.management.base import WorkspaceCommand


class Command(WorkspaceCommand):
    help = (
        "Index new messages, threads and documents queued in the database, continuously, in a "
        "process of its own. Run one (or more: they take turns) when the servers run with "
        "SEARCH_INDEX_WRITER=worker. With --once, drain the queue and exit."
    )
    changes_data = False

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--once", action="store_true", help="Drain the queue once and exit.")
        parser.add_argument(
            "--interval",
            type=float,
            default=0.25,
            help="Seconds between looks at an empty queue (default 0.25; a new message is findable within it "
            "plus one write).",
        )

    def run(self, **options: Any) -> None:
        if options["once"]:
            taken = indexer.drain_all()
            waiting, _ = indexer.queue_length()
            self.stdout.write(f"Indexed {taken:,} queued additions; {waiting:,} waiting now.")
            return
        interval = max(0.01, options["interval"])
        stopping = threading.Event()

        def stop(signum: int, frame: object) -> None:
            stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        if background.writer_mode() != "worker":
            self.stdout.write(
                self.style.WARNING(
                    "SEARCH_INDEX_WRITER is not 'worker' here: the servers index their own additions, "
                    "and this worker shares the queue with them."
                )
            )
        self.stdout.write(f"Indexing queued additions every {interval:g} s; stop with Ctrl-C or SIGTERM.")

        def report(taken: int) -> None:
            if options["verbosity"] > 1:
                self.stdout.write(f"{time.strftime('%H:%M:%S')} indexed {taken} queued additions")

        background.work(stopping, interval, report)
        self.stdout.write("Stopped; what is still queued is indexed by the next drain.")
