"""Run in a separate process by the concurrency test: write documents to a shared whoosh
index through the indexer, one commit each, and read between writes."""

from __future__ import annotations

import os
import traceback
from typing import Any


def write(index_dir: str, documents: list[Any], results: Any, start: Any) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workspace.settings")
    import django

    django.setup()
    from django.conf import settings

    settings.SEARCH_BACKEND = "whoosh"
    settings.SEARCH_INDEX_DIR = index_dir
    from search import indexer
    from search.backends import get_backend

    results.put(("ready", os.getpid(), 0))
    start.wait(60)  # all processes begin writing together
    try:
        for document in documents:
            indexer.write_documents([document])
            get_backend().digests([document.key])  # a reader between writers
        results.put(("ok", os.getpid(), len(documents)))
    except BaseException:  # report everything, LockError included
        results.put(("error", os.getpid(), traceback.format_exc()))
