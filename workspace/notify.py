"""Email that actions send: queued on commit, so a rolled-back action mails nobody."""

from __future__ import annotations

from django.core.mail import send_mass_mail
from django.db import transaction


def email_on_commit(subject: str, body: str, recipients: list[str]) -> None:
    """Send one copy of the message to each recipient once the transaction commits."""
    if recipients:
        messages = [(subject, body, None, [email]) for email in recipients]
        transaction.on_commit(lambda: send_mass_mail(messages, fail_silently=False))
