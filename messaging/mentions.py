"""Resolving ``@handles`` in a message to the people and agencies they name.

``@jordan.reyes`` (the part of an email address before the @) or ``@Jordan Reyes`` names a
person; ``@Harbor EM`` (an agency's short name) names every person of that agency who can
read the thread. Only people who can read the thread are ever notified.
"""

from __future__ import annotations

from django.db.models import Q

from communities.selectors import people_with_access
from messaging.markup import mention_handles
from messaging.models import Thread
from workspace.models import Agency, User


def _candidates(handle: str) -> list[str]:
    """The handle and its shorter prefixes ("Harbor EM please" → ... → "Harbor")."""
    words = handle.split(" ")
    return [" ".join(words[:n]) for n in range(len(words), 0, -1)]


def resolve(thread: Thread, source: str) -> tuple[list[User], list[Agency]]:
    """People and agencies named in ``source`` who can read ``thread``."""
    handles = mention_handles(source)
    if not handles:
        return [], []
    readers = people_with_access(thread.community)
    if thread.restricted:
        readers = readers.filter(membership__agency__in=thread.allowed_agencies.all())
    people: dict[int, User] = {}
    agencies: dict[int, Agency] = {}
    for handle in handles:
        for candidate in _candidates(handle):
            agency = Agency.objects.filter(short_name__iexact=candidate).first()
            if agency is not None:
                agencies[agency.pk] = agency
                people.update({p.pk: p for p in readers.filter(membership__agency=agency)})
                break
            person = readers.filter(Q(email__istartswith=f"{candidate}@") | Q(full_name__iexact=candidate)).first()
            if person is not None:
                people[person.pk] = person
                break
    named_agencies = [a for a in agencies.values() if readers.filter(membership__agency=a).exists()]
    return list(people.values()), named_agencies
