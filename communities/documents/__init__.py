"""Shared documents in communities: versions, per-agency permissions, safe uploads and
downloads. Models are registered with the ``communities`` app (``communities.models``
imports ``communities.documents.models``)."""
