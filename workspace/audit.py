"""Writing the audit log. Actions call ``record``; nothing else writes audit events.

The client address comes from the request context that ``RequestContextMiddleware`` sets,
so actions need not thread the request through every call.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import models

from workspace.models import Agency, AuditEvent, User

_client_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar("client_ip", default=None)


@contextmanager
def client_ip(ip: str | None) -> Iterator[None]:
    """Attribute audit events written inside the block to the given client address."""
    token = _client_ip.set(ip)
    try:
        yield
    finally:
        _client_ip.reset(token)


def record(
    *,
    actor: User | None,
    verb: str,
    target: models.Model | None = None,
    agency: Agency | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event. Call inside the action's transaction."""
    actor_agency = actor.agency if actor is not None and actor.is_authenticated else None
    return AuditEvent.objects.create(
        actor=actor,
        actor_repr=f"{actor.full_name} <{actor.email}>" if actor else "system",
        actor_agency=actor_agency,
        agency=agency if agency is not None else actor_agency,
        verb=verb,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:300] if target is not None else "",
        details=details or {},
        ip_address=_client_ip.get(),
    )
