from typing import Any

from communities import demo as communities_demo
from communities.announcements import demo as announcements_demo
from communities.documents import demo as documents_demo
from messaging import demo as messaging_demo
from messaging.incidents import demo as incidents_demo
from workspace import demo
from workspace.management.base import WorkspaceCommand


class Command(WorkspaceCommand):
    help = "Load the State of Lakeland demo data. Idempotent: creates only what is missing."

    def run(self, **options: Any) -> None:
        self.stdout.write("Loading the State of Lakeland demo data…")
        demo.seed(self.stdout)
        communities_demo.seed(self.stdout)
        documents_demo.seed(self.stdout)
        messaging_demo.seed(self.stdout)
        announcements_demo.seed(self.stdout)
        incidents_demo.seed(self.stdout)
        self.stdout.write(self.style.SUCCESS(f"Demo ready. Every demo account's password is {demo.DEMO_PASSWORD}"))
