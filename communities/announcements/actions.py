"""Write path for announcements. One function per intent, keyword-only, the actor explicit.

Each checks the policy, writes in one transaction, records an audit event, and queues
what others must learn (community stream events, notifications, emails) on commit. An
announcement is one row wherever it appears, so an edit or a retraction is one write and
one event per community it appears in.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage, get_connection
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from communities.announcements import selectors
from communities.announcements.models import (
    Announcement,
    AnnouncementState,
    Audience,
    FeedToken,
    Frequency,
    Program,
    Promotion,
    Receipt,
    Subscription,
    TrustedPublisher,
)
from communities.announcements.text import clean, one_line
from communities.models import Community, CommunityMembership, CommunityRole, ConsentStatus, Moderator, Tag
from messaging import events, markup
from messaging.notifications import agency_admins, notify
from search import indexer
from workspace import audit, policy
from workspace.exceptions import ActionError
from workspace.models import Agency, User, hash_token

S = AnnouncementState
TITLE_MAX = Announcement._meta.get_field("title").max_length
SUMMARY_MAX = Announcement._meta.get_field("summary").max_length
PROGRAM_MAX = Program._meta.get_field("name").max_length
LINKS_MAX = 10
UNSUBSCRIBE_SALT = "announcements.unsubscribe"
_url_ok = URLValidator(schemes=["http", "https"])


# --- Helpers -----------------------------------------------------------------------------


def _lock(announcement: Announcement) -> Announcement:
    """Lock the announcement row: changes to one announcement and its promotions take turns."""
    return Announcement.objects.select_for_update().get(pk=announcement.pk)


def _touch(announcement: Announcement, now: datetime) -> None:
    """Record a change readers could notice: feeds derive their validators from these."""
    announcement.changed_at = now
    announcement.version += 1


def _event_data(announcement: Announcement) -> dict[str, Any]:
    """What live clients get: enough for a card, and the agency and program always.
    ``community`` is the home community (a card elsewhere is marked promoted)."""
    return {
        "id": announcement.pk,
        "title": announcement.title,
        "summary": announcement.summary,
        "agency": announcement.agency.short_name,
        "agency_name": announcement.agency.name,
        "program": announcement.program.name,
        "audience": announcement.audience,
        "community": announcement.community_id,
        "url": announcement.get_absolute_url(),
        "published_at": announcement.published_at,
        "edited_at": announcement.edited_at,
        "expire_at": announcement.expire_at,
        "version": announcement.version,
    }


def _announce(announcement: Announcement, places: Iterable[int], kind: str) -> None:
    """An event on the stream of every community the announcement appears in."""
    data = _event_data(announcement) if kind != "announcement.retracted" else {"id": announcement.pk}
    for community_id in places:
        events.append(f"community:{community_id}", kind, data)


def _reviewers(community: Community) -> list[User]:
    """Who decides promotions into a community: its owners' admins and its moderators."""
    owner_agencies = [
        m.agency for m in CommunityMembership.objects.filter(community=community, role=CommunityRole.OWNER)
    ]
    moderators = [m.user for m in Moderator.objects.filter(community=community).select_related("user")]
    return agency_admins(owner_agencies) + moderators


def _check_links(links: Iterable[Any]) -> list[dict[str, str]]:
    checked = []
    for link in links:
        if isinstance(link, str):
            label, url = "", link
        else:
            label, url = link.get("label", ""), link.get("url", "")
        url, label = one_line(url), one_line(label)[:120]
        if not url:
            continue
        try:
            _url_ok(url)
        except ValidationError as exc:
            raise ActionError(f"“{url[:80]}” is not a web address (http or https).", field="links") from exc
        checked.append({"label": label or url, "url": url})
    if len(checked) > LINKS_MAX:
        raise ActionError(f"Add at most {LINKS_MAX} links.", field="links")
    return checked


@dataclass(frozen=True)
class _Content:
    title: str
    summary: str
    body: str
    program: str
    audience: str
    tags: list[str]
    links: list[dict[str, str]]
    publish_at: datetime | None
    expire_at: datetime | None


def _check_content(
    *,
    title: str,
    summary: str,
    body: str,
    program: str,
    audience: str,
    tags: Iterable[str],
    links: Iterable[Any],
    publish_at: datetime | None,
    expire_at: datetime | None,
) -> _Content:
    title, summary, program = one_line(title), one_line(summary), one_line(program)
    body = clean(body).strip()
    if not title:
        raise ActionError("Give the announcement a title.", field="title")
    if len(title) > TITLE_MAX:
        raise ActionError(f"Keep the title under {TITLE_MAX} characters.", field="title")
    if len(summary) > SUMMARY_MAX:
        raise ActionError(f"Keep the summary under {SUMMARY_MAX} characters.", field="summary")
    if len(body) > markup.MAX_SOURCE_LENGTH:
        raise ActionError(f"Keep the text under {markup.MAX_SOURCE_LENGTH:,} characters.", field="body")
    if not program or not slugify(program):
        raise ActionError("Name the program this announcement belongs to.", field="program")
    if len(program) > PROGRAM_MAX:
        raise ActionError(f"Keep the program name under {PROGRAM_MAX} characters.", field="program")
    if audience not in Audience.values:
        raise ActionError("Choose members only or public.", field="audience")
    labels = list(dict.fromkeys(one_line(t)[:40] for t in tags if one_line(t) and slugify(one_line(t))))
    if publish_at and expire_at and expire_at <= publish_at:
        raise ActionError("The announcement must expire after it is published.", field="expire_at")
    return _Content(title, summary, body, program, audience, labels, _check_links(links), publish_at, expire_at)


def _program(agency: Agency, name: str) -> Program:
    program, _ = Program.objects.get_or_create(agency=agency, slug=slugify(name)[:80], defaults={"name": name})
    return program


def _set_tags(announcement: Announcement, labels: list[str]) -> None:
    tags = []
    for label in labels:
        tag, _ = Tag.objects.get_or_create(slug=slugify(label)[:40], defaults={"name": label})
        tags.append(tag)
    announcement.tags.set(tags)


def _write_content(announcement: Announcement, content: _Content) -> list[str]:
    """Copy checked content onto the row (not saved); return the names of the fields changed."""
    values = {
        "title": content.title,
        "summary": content.summary,
        "body": content.body,
        "audience": content.audience,
        "links": content.links,
        "publish_at": content.publish_at,
        "expire_at": content.expire_at,
    }
    changed = [name for name, value in values.items() if getattr(announcement, name) != value]
    for name, value in values.items():
        setattr(announcement, name, value)
    announcement.body_html = markup.render(content.body)
    return changed


# --- Writing and publishing ----------------------------------------------------------------


def create_announcement(
    *,
    actor: User,
    community: Community,
    title: str,
    program: str,
    summary: str = "",
    body: str = "",
    audience: str = Audience.MEMBERS,
    tags: Iterable[str] = (),
    links: Iterable[Any] = (),
    publish_at: datetime | None = None,
    expire_at: datetime | None = None,
    publish: bool = False,
) -> Announcement:
    """Write an announcement with ``community`` as its home, as a draft, or publishing it:
    at once, or at ``publish_at`` when that is in the future (scheduled).

    The actor's agency must be able to post in the community.
    """
    policy.check(actor, "announce", community)
    content = _check_content(
        title=title,
        summary=summary,
        body=body,
        program=program,
        audience=audience,
        tags=tags,
        links=links,
        publish_at=publish_at,
        expire_at=expire_at,
    )
    now = timezone.now()
    agency = actor.agency
    assert agency is not None  # "announce" needs a grant, which only agency people hold
    with transaction.atomic():
        announcement = Announcement(
            community=community,
            agency=agency,
            program=_program(agency, content.program),
            created_by=actor,
            created_at=now,
            changed_at=now,
        )
        _write_content(announcement, content)
        announcement.save()
        _set_tags(announcement, content.tags)
        audit.record(
            actor=actor,
            verb="announcement.created",
            target=announcement,
            agency=agency,
            details={"community": community.slug, "audience": content.audience},
        )
        if publish:
            _publish(announcement, actor=actor, now=now)
    return announcement


def update_announcement(
    *,
    actor: User,
    announcement: Announcement,
    title: str,
    program: str,
    summary: str = "",
    body: str = "",
    audience: str = Audience.MEMBERS,
    tags: Iterable[str] = (),
    links: Iterable[Any] = (),
    publish_at: datetime | None = None,
    expire_at: datetime | None = None,
) -> Announcement:
    """Change an announcement. A published one changes everywhere it appears at once: one
    row, and an ``announcement.edited`` event on each of its communities' streams."""
    policy.check(actor, "manage", announcement)
    content = _check_content(
        title=title,
        summary=summary,
        body=body,
        program=program,
        audience=audience,
        tags=tags,
        links=links,
        publish_at=publish_at,
        expire_at=expire_at,
    )
    now = timezone.now()
    with transaction.atomic():
        announcement = _lock(announcement)
        if announcement.current_state in (S.RETRACTED, S.EXPIRED):
            raise ActionError(f"This announcement is {announcement.current_state}; it can no longer change.")
        if announcement.state == S.SCHEDULED and content.publish_at is None:
            raise ActionError("Choose when to publish, or publish it now.", field="publish_at")
        if announcement.state == S.PUBLISHED and content.expire_at and content.expire_at <= now:
            raise ActionError("Choose an expiry in the future, or retract the announcement.", field="expire_at")
        changed = _write_content(announcement, content)
        program_obj = _program(announcement.agency, content.program)
        if program_obj.pk != announcement.program_id:
            announcement.program = program_obj
            changed.append("program")
        before_tags = set(announcement.tags.values_list("name", flat=True))
        _set_tags(announcement, content.tags)
        if before_tags != set(announcement.tags.values_list("name", flat=True)):
            changed.append("tags")
        _touch(announcement, now)
        if announcement.state == S.PUBLISHED:
            announcement.edited_at = now
        announcement.save()
        if announcement.state == S.PUBLISHED:
            _announce(announcement, selectors.places_of(announcement), "announcement.edited")
        indexer.index_on_commit(announcement)
        audit.record(
            actor=actor,
            verb="announcement.edited",
            target=announcement,
            agency=announcement.agency,
            details={"changed": sorted(changed)},
        )
    return announcement


def publish_announcement(*, actor: User, announcement: Announcement) -> Announcement:
    """Publish a draft: now, or at its ``publish_at`` when that is in the future. A scheduled
    one published by hand goes out now."""
    policy.check(actor, "manage", announcement)
    now = timezone.now()
    with transaction.atomic():
        announcement = _lock(announcement)
        if announcement.state not in (S.DRAFT, S.SCHEDULED):
            raise ActionError(f"This announcement is already {announcement.get_state_display().lower()}.")
        if announcement.state == S.SCHEDULED:
            announcement.publish_at = now
        _publish(announcement, actor=actor, now=now)
    return announcement


def _publish(announcement: Announcement, *, actor: User | None, now: datetime) -> None:
    if announcement.expire_at and announcement.expire_at <= now:
        raise ActionError("Its expiry has passed: choose a later one first.", field="expire_at")
    # Published: into the index; scheduled: kept out of it (a no-op unless it was there).
    indexer.index_on_commit(announcement)
    if announcement.publish_at and announcement.publish_at > now:
        announcement.state = S.SCHEDULED
        _touch(announcement, now)
        announcement.save()
        audit.record(
            actor=actor,
            verb="announcement.scheduled",
            target=announcement,
            agency=announcement.agency,
            details={"publish_at": announcement.publish_at.isoformat()},
        )
        return
    announcement.state = S.PUBLISHED
    announcement.published_at = now
    _touch(announcement, now)
    announcement.save()
    places = selectors.places_of(announcement)
    _announce(announcement, places, "announcement.published")
    _deliver_immediately(announcement, places, now)
    audit.record(actor=actor, verb="announcement.published", target=announcement, agency=announcement.agency)


def retract_announcement(*, actor: User, announcement: Announcement, note: str = "") -> Announcement:
    """Take an announcement down everywhere at once: its home, every promotion, every feed.
    Pending promotion requests are withdrawn. Drafts and scheduled ones are cancelled."""
    policy.check(actor, "manage", announcement)
    now = timezone.now()
    with transaction.atomic():
        announcement = _lock(announcement)
        if announcement.state == S.RETRACTED:
            raise ActionError("This announcement is already retracted.")
        was_live = announcement.is_live
        places = selectors.places_of(announcement)
        announcement.state = S.RETRACTED
        announcement.retracted_at = now
        announcement.retracted_by = actor
        announcement.retraction_note = one_line(note)[:300]
        _touch(announcement, now)
        announcement.save()
        Promotion.objects.filter(announcement=announcement, status=ConsentStatus.PENDING).update(
            status=ConsentStatus.WITHDRAWN, decided_by=actor, decided_at=now
        )
        if was_live:
            _announce(announcement, places, "announcement.retracted")
        indexer.index_on_commit(announcement)
        audit.record(
            actor=actor,
            verb="announcement.retracted",
            target=announcement,
            agency=announcement.agency,
            details={"note": announcement.retraction_note} if announcement.retraction_note else None,
        )
    return announcement


@dataclass(frozen=True)
class DueReport:
    published: list[Announcement]
    expired: list[Announcement]


def publish_due(*, now: datetime | None = None) -> DueReport:
    """Publish the scheduled announcements whose time has come and expire the published
    ones whose time is up. Idempotent: each row is locked and re-checked, so two runs at
    once, or one run twice, change each announcement once. ``now`` lets tests set the clock."""
    now = now or timezone.now()
    published, expired = [], []
    due = Announcement.objects.filter(state=S.SCHEDULED, publish_at__lte=now).order_by("publish_at", "pk")
    for announcement in due:
        with transaction.atomic():
            announcement = _lock(announcement)
            if announcement.state != S.SCHEDULED or announcement.publish_at is None or announcement.publish_at > now:
                continue
            if announcement.expire_at and announcement.expire_at <= now:
                # Its whole window passed unseen (the command did not run): never shown.
                announcement.state = S.EXPIRED
                _touch(announcement, now)
                announcement.save()
                audit.record(actor=None, verb="announcement.expired", target=announcement, agency=announcement.agency)
                expired.append(announcement)  # never live, never indexed
                continue
            _publish(announcement, actor=None, now=now)
            published.append(announcement)
    ending = Announcement.objects.filter(state=S.PUBLISHED, expire_at__lte=now).order_by("expire_at", "pk")
    for announcement in ending:
        with transaction.atomic():
            announcement = _lock(announcement)
            if announcement.state != S.PUBLISHED or announcement.expire_at is None or announcement.expire_at > now:
                continue
            announcement.state = S.EXPIRED
            # Readers lost it at expire_at already (selectors filter on it); date the change so.
            announcement.changed_at = max(announcement.changed_at, announcement.expire_at)
            announcement.version += 1
            announcement.save()
            _announce(announcement, selectors.places_of(announcement), "announcement.expired")
            audit.record(actor=None, verb="announcement.expired", target=announcement, agency=announcement.agency)
            indexer.index_on_commit(announcement)  # leaves the index
            expired.append(announcement)
    return DueReport(published=published, expired=expired)


def mark_opened(*, actor: User, announcement: Announcement) -> None:
    """Note that the person opened the announcement (the reach report counts it once).
    Not audited: reading is personal and changes no shared data."""
    if not (actor.is_authenticated and actor.is_active):
        return
    now = timezone.now()
    opened = Coalesce("opened_at", now)
    if Receipt.objects.filter(announcement=announcement, user=actor, opened_at=None).update(opened_at=opened):
        return
    if Receipt.objects.filter(announcement=announcement, user=actor).exists():
        return
    try:
        with transaction.atomic():
            Receipt.objects.create(announcement=announcement, user=actor, agency=actor.agency, opened_at=now)
    except IntegrityError:
        pass  # opened in another tab at the same moment


# --- Cross-promotion -------------------------------------------------------------------------


def request_promotion(*, actor: User, announcement: Announcement, community: Community, message: str = "") -> Promotion:
    """Ask to show the announcement in another community. Its owners or moderators decide,
    unless the community trusts the publishing agency, when it is accepted at once."""
    policy.check(actor, "manage", announcement)
    if not policy.can(actor, "see", community):
        raise ActionError("No such community.", field="community")
    if community.is_archived:
        raise ActionError(f"{community.name} is archived.", field="community")
    if community.pk == announcement.community_id:
        raise ActionError("This is the announcement's own community.", field="community")
    now = timezone.now()
    with transaction.atomic():
        announcement = _lock(announcement)
        if announcement.current_state in (S.RETRACTED, S.EXPIRED):
            raise ActionError(f"This announcement is {announcement.current_state}.")
        promotion = Promotion.objects.select_for_update().filter(announcement=announcement, community=community).first()
        if promotion is not None:
            status = promotion.current_status
            if status in (ConsentStatus.PENDING, ConsentStatus.ACCEPTED):
                raise ActionError(f"It is already {status} in {community.name}.", field="community", code="duplicate")
            if status == ConsentStatus.DECLINED:
                raise ActionError(
                    f"The owners of {community.name} declined it; ask them directly before asking again.",
                    field="community",
                    code="declined",
                )
        else:
            promotion = Promotion(announcement=announcement, community=community)
        promotion.status = ConsentStatus.PENDING
        promotion.message = one_line(message)[:500]
        promotion.requested_by = actor
        promotion.requested_at = now
        promotion.expires_at = now + settings.ANNOUNCEMENT_PROMOTION_TTL
        promotion.decided_by = None
        promotion.decided_at = None
        promotion.auto_accepted = False
        promotion.save()
        audit.record(
            actor=actor,
            verb="announcement.promotion_requested",
            target=announcement,
            agency=announcement.agency,
            details={"community": community.slug},
        )
        if TrustedPublisher.objects.filter(community=community, agency=announcement.agency).exists():
            _accept(promotion, announcement, actor=actor, now=now, auto=True)
        else:
            notify(
                _reviewers(community),
                kind="announcement.promotion_requested",
                title=f"{community.name}: {announcement.agency.short_name} asks to show an announcement",
                body=f"{actor.full_name} of {announcement.agency.name} asks to show “{announcement.title}” "
                f"({announcement.program.name}) in “{community.name}”.\n\n{announcement.summary}\n\n"
                f"{promotion.message}".strip(),
                url=reverse("announcement_promotion_inbox"),
            )
    return promotion


def _lock_promotion(promotion: Promotion, allowed: Sequence[str]) -> Promotion:
    promotion = Promotion.objects.select_for_update(of=("self",)).select_related("community").get(pk=promotion.pk)
    status = promotion.current_status
    if status not in allowed:
        if status == ConsentStatus.EXPIRED and promotion.status == ConsentStatus.PENDING:
            raise ActionError("This request has expired; the publisher may ask again.")
        raise ActionError(f"This request is already {promotion.get_status_display().lower()}.")
    return promotion


def _accept(promotion: Promotion, announcement: Announcement, *, actor: User, now: datetime, auto: bool) -> None:
    promotion.status = ConsentStatus.ACCEPTED
    promotion.decided_by = None if auto else actor
    promotion.decided_at = now
    promotion.auto_accepted = auto
    promotion.save(update_fields=["status", "decided_by", "decided_at", "auto_accepted"])
    _touch(announcement, now)
    announcement.save(update_fields=["changed_at", "version"])
    indexer.index_on_commit(announcement)  # readers of the accepting community find it
    if announcement.is_live:
        _announce(announcement, [promotion.community_id], "announcement.published")
        _deliver_immediately(announcement, selectors.places_of(announcement), now)
    audit.record(
        actor=actor,
        verb="announcement.promotion_auto_accepted" if auto else "announcement.promotion_accepted",
        target=announcement,
        agency=announcement.agency,
        details={"community": promotion.community.slug},
    )


def accept_promotion(*, actor: User, promotion: Promotion) -> Promotion:
    """The receiving community's owner or moderator accepts: the announcement appears there."""
    policy.check(actor, "decide", promotion)
    now = timezone.now()
    with transaction.atomic():
        announcement = _lock(promotion.announcement)
        promotion = _lock_promotion(promotion, [ConsentStatus.PENDING])
        if announcement.current_state in (S.RETRACTED, S.EXPIRED):
            raise ActionError(f"The announcement is {announcement.current_state}.")
        _accept(promotion, announcement, actor=actor, now=now, auto=False)
        notify(
            [promotion.requested_by],
            kind="announcement.promotion_accepted",
            title=f"{promotion.community.name} accepted “{announcement.title}”",
            body=f"{actor.full_name} accepted your announcement “{announcement.title}” into "
            f"“{promotion.community.name}”.",
            url=announcement.get_absolute_url(),
        )
    return promotion


def decline_promotion(*, actor: User, promotion: Promotion) -> Promotion:
    """The receiving community's owner or moderator declines a request, or takes down one
    accepted before: either way it no longer appears there."""
    policy.check(actor, "decide", promotion)
    return _end_promotion(actor=actor, promotion=promotion, status=ConsentStatus.DECLINED)


def withdraw_promotion(*, actor: User, promotion: Promotion) -> Promotion:
    """The publisher withdraws a request or takes the announcement out of that community."""
    policy.check(actor, "manage", promotion.announcement)
    return _end_promotion(actor=actor, promotion=promotion, status=ConsentStatus.WITHDRAWN)


def _end_promotion(*, actor: User, promotion: Promotion, status: str) -> Promotion:
    now = timezone.now()
    with transaction.atomic():
        announcement = _lock(promotion.announcement)
        promotion = _lock_promotion(promotion, [ConsentStatus.PENDING, ConsentStatus.ACCEPTED])
        was_shown = promotion.status == ConsentStatus.ACCEPTED
        promotion.status = status
        promotion.decided_by = actor
        promotion.decided_at = now
        promotion.save(update_fields=["status", "decided_by", "decided_at"])
        if was_shown:
            _touch(announcement, now)
            announcement.save(update_fields=["changed_at", "version"])
            indexer.index_on_commit(announcement)  # its readers there lose it
            if announcement.is_live:
                _announce(announcement, [promotion.community_id], "announcement.retracted")
        declined = status == ConsentStatus.DECLINED
        audit.record(
            actor=actor,
            verb="announcement.promotion_declined" if declined else "announcement.promotion_withdrawn",
            target=announcement,
            agency=announcement.agency,
            details={"community": promotion.community.slug, "was_shown": was_shown},
        )
        if declined:
            notify(
                [promotion.requested_by],
                kind="announcement.promotion_declined",
                title=f"{promotion.community.name} declined “{announcement.title}”",
                body=f"The owners of “{promotion.community.name}” "
                f"{'took down' if was_shown else 'declined'} your announcement “{announcement.title}”.",
                url=announcement.get_absolute_url(),
            )
    return promotion


def trust_agency(*, actor: User, community: Community, agency: Agency) -> TrustedPublisher:
    """Owners let an agency's promotions into the community without asking each time."""
    policy.check(actor, "manage", community)
    with transaction.atomic():
        trusted, created = TrustedPublisher.objects.get_or_create(
            community=community, agency=agency, defaults={"added_by": actor}
        )
        if not created:
            raise ActionError(f"{community.name} already trusts {agency.name}.", field="agency")
        audit.record(actor=actor, verb="announcement.publisher_trusted", target=community, agency=agency, details={})
    return trusted


def distrust_agency(*, actor: User, community: Community, agency: Agency) -> None:
    policy.check(actor, "manage", community)
    with transaction.atomic():
        deleted, _ = TrustedPublisher.objects.filter(community=community, agency=agency).delete()
        if not deleted:
            raise ActionError(f"{community.name} does not trust {agency.name}.")
        audit.record(actor=actor, verb="announcement.publisher_distrusted", target=community, agency=agency)


# --- Private feed address -------------------------------------------------------------------


def reset_feed_token(*, actor: User) -> str:
    """A new secret for the person's private feed address; the old address stops working at
    once. Returns the secret, which is stored only as a hash and shown only this once."""
    if not (actor.is_authenticated and actor.is_active):
        raise PermissionDenied("Sign in to manage your feeds.")
    raw = secrets.token_urlsafe(32)
    with transaction.atomic():
        FeedToken.objects.update_or_create(
            user=actor, defaults={"token_hash": hash_token(raw), "created_at": timezone.now()}
        )
        audit.record(actor=actor, verb="announcement.feed_address_reset", target=actor)
    return raw


# --- Subscriptions and email -------------------------------------------------------------------


def subscribe(
    *,
    actor: User,
    frequency: str,
    community: Community | None = None,
    program: Program | None = None,
    tag: Tag | None = None,
) -> Subscription:
    """Follow a community, a program or a topic by email (at once, daily or weekly). Following
    again changes the frequency. Only what the person may read is ever sent."""
    if not (actor.is_authenticated and actor.is_active):
        raise PermissionDenied("Sign in to follow announcements.")
    if frequency not in Frequency.values:
        raise ActionError("Choose immediately, daily or weekly.", field="frequency")
    if [community, program, tag].count(None) != 2:
        raise ActionError("Choose one community, program or topic to follow.", field="target")
    if community is not None and not policy.can(actor, "see", community):
        raise ActionError("No such community.", field="target")
    target = {"community": community, "program": program, "tag": tag}
    with transaction.atomic():
        subscription, _ = Subscription.objects.update_or_create(
            user=actor, **{k: v for k, v in target.items() if v is not None}, defaults={"frequency": frequency}
        )
    return subscription


def unsubscribe(*, actor: User, subscription: Subscription) -> None:
    if subscription.user_id != actor.pk:
        raise PermissionDenied("That is not your subscription.")
    subscription.delete()


def unsubscribe_token(subscription: Subscription) -> str:
    """A signed token for an unsubscribe link that works without signing in."""
    return signing.dumps({"u": subscription.user_id, "s": subscription.pk}, salt=UNSUBSCRIBE_SALT, compress=True)


def subscription_for_token(token: str) -> Subscription | None:
    """The subscription an unsubscribe token names; ``None`` once it is gone. A token that
    was not signed by us (tampered, truncated) raises ``ActionError``."""
    try:
        payload = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature as exc:
        raise ActionError("This unsubscribe link is not valid. Sign in to manage your subscriptions.") from exc
    return (
        Subscription.objects.select_related("user", "community", "program", "tag")
        .filter(pk=payload.get("s"), user_id=payload.get("u"))
        .first()
    )


def unsubscribe_with_token(*, token: str) -> Subscription | None:
    """Stop a subscription from its email link; no sign-in. Returns what was stopped, or
    ``None`` if it was stopped already."""
    subscription = subscription_for_token(token)
    if subscription is not None:
        subscription.delete()
    return subscription


def _site(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def _unsubscribe_url(subscription: Subscription) -> str:
    return _site(reverse("announcement_unsubscribe", args=[unsubscribe_token(subscription)]))


def _mail_on_commit(messages: list[EmailMessage]) -> None:
    if messages:
        transaction.on_commit(lambda: get_connection().send_messages(messages))


def _email(user: User, subject: str, body: str, unsubscribe_url: str) -> EmailMessage:
    return EmailMessage(
        subject=one_line(subject)[:200],
        body=body,
        to=[user.email],
        # One-click unsubscribe (RFC 8058): mail programs offer it beside the sender.
        headers={"List-Unsubscribe": f"<{unsubscribe_url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )


def _matching_subscriptions(announcement: Announcement, places: list[int]) -> Q:
    match = Q(community_id__in=places) | Q(program_id=announcement.program_id)
    tag_ids = list(announcement.tags.values_list("pk", flat=True))
    if tag_ids:
        match |= Q(tag_id__in=tag_ids)
    return match


def _reached(announcement_ref: Any, user_ref: Any) -> Exists:
    """Already emailed or sent in a digest: nobody gets one announcement twice."""
    return Exists(
        Receipt.objects.filter(announcement=announcement_ref, user=user_ref).filter(
            Q(delivered_at__isnull=False) | Q(digested_at__isnull=False)
        )
    )


def _record_receipts(
    announcement_ids: list[int], user_ids: list[int], agencies: dict[int, int | None], field: str
) -> None:
    """Set ``field`` to now on the receipts of one announcement for many people, or of many
    announcements for one person, creating the missing ones: three queries in all."""
    now = timezone.now()
    assert len(announcement_ids) == 1 or len(user_ids) == 1
    receipts = Receipt.objects.filter(announcement_id__in=announcement_ids, user_id__in=user_ids)
    existing = set(receipts.values_list("announcement_id", "user_id"))
    receipts.filter(**{f"{field}__isnull": True}).update(**{field: now})
    Receipt.objects.bulk_create(
        [
            Receipt(announcement_id=a, user_id=u, agency_id=agencies.get(u), **{field: now})
            for a in announcement_ids
            for u in user_ids
            if (a, u) not in existing
        ]
    )


def _deliver_immediately(announcement: Announcement, places: list[int], now: datetime) -> None:
    """Email the people who follow it at once (a community it appears in, its program or a
    topic) and may read it, unless it already reached them. Call inside the transaction."""
    readers = selectors.people_who_can_see(announcement, places)
    subscriptions = (
        Subscription.objects.filter(
            _matching_subscriptions(announcement, places), frequency=Frequency.IMMEDIATE, user__in=readers
        )
        .exclude(_reached(announcement, OuterRef("user")))
        .select_related("user__membership")
        .order_by("user_id", "pk")
    )
    first_by_user: dict[int, Subscription] = {}
    for subscription in subscriptions:
        first_by_user.setdefault(subscription.user_id, subscription)
    if not first_by_user:
        return
    agencies = {
        user_id: getattr(getattr(s.user, "membership", None), "agency_id", None) for user_id, s in first_by_user.items()
    }
    _record_receipts([announcement.pk], list(first_by_user), agencies, "delivered_at")
    messages = []
    for subscription in first_by_user.values():
        unsubscribe_url = _unsubscribe_url(subscription)
        body = render_to_string(
            "announcements/email/immediate.txt",
            {
                "announcement": announcement,
                "url": _site(announcement.get_absolute_url()),
                "subscription": subscription,
                "unsubscribe_url": unsubscribe_url,
            },
        )
        subject = f"{announcement.agency.short_name} · {announcement.program.name}: {announcement.title}"
        messages.append(_email(subscription.user, subject, body, unsubscribe_url))
    _mail_on_commit(messages)


@dataclass(frozen=True)
class DigestReport:
    people: int
    items: int


def send_digests(*, frequency: str, now: datetime | None = None) -> DigestReport:
    """Send each daily (or weekly) follower one email with the announcements that match
    their subscriptions, that they may read now, that were published since they subscribed
    and that have not reached them yet. Run it again and nobody gets anything twice."""
    if frequency not in (Frequency.DAILY, Frequency.WEEKLY):
        raise ActionError("Digests are daily or weekly.", field="frequency")
    now = now or timezone.now()
    by_user: dict[int, list[Subscription]] = defaultdict(list)
    subscriptions = (
        Subscription.objects.filter(frequency=frequency, user__is_active=True)
        .select_related("user__membership", "community", "program__agency", "tag")
        .order_by("user_id", "pk")
    )
    for subscription in subscriptions:
        by_user[subscription.user_id].append(subscription)
    people = items = 0
    for user_subscriptions in by_user.values():
        user = user_subscriptions[0].user
        match = Q()
        for s in user_subscriptions:
            if s.community_id:
                target = Q(community_id=s.community_id) | Q(
                    Exists(
                        Promotion.objects.filter(
                            announcement=OuterRef("pk"), community_id=s.community_id, status=ConsentStatus.ACCEPTED
                        )
                    )
                )
            elif s.program_id:
                target = Q(program_id=s.program_id)
            else:
                target = Q(
                    Exists(Announcement.tags.through.objects.filter(announcement_id=OuterRef("pk"), tag_id=s.tag_id))
                )
            match |= target & Q(published_at__gte=s.created_at)
        found = list(
            selectors.announcements_for_user(user, now)
            .filter(match, published_at__lte=now)
            .exclude(_reached(OuterRef("pk"), user))
            .order_by("-published_at", "-pk")[: settings.ANNOUNCEMENT_DIGEST_MAX_ITEMS]
        )
        with transaction.atomic():
            Subscription.objects.filter(pk__in=[s.pk for s in user_subscriptions]).update(last_sent_at=now)
            if not found:
                continue
            agency_id = getattr(getattr(user, "membership", None), "agency_id", None)
            _record_receipts([a.pk for a in found], [user.pk], {user.pk: agency_id}, "digested_at")
            links = [(s, _unsubscribe_url(s)) for s in user_subscriptions]
            body = render_to_string(
                "announcements/email/digest.txt",
                {
                    "user": user,
                    "frequency": Frequency(frequency).label.lower(),
                    "items": [(a, _site(a.get_absolute_url())) for a in found],
                    "links": links,
                    "manage_url": _site(reverse("announcement_feeds")),
                },
            )
            subject = f"{Frequency(frequency).label}: {len(found)} announcement{'s' if len(found) != 1 else ''}"
            _mail_on_commit([_email(user, subject, body, links[0][1])])
        people += 1
        items += len(found)
    return DigestReport(people=people, items=items)
