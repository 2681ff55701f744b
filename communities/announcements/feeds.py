"""Announcement feeds: Atom and RSS 2.0 (django.contrib.syndication) and JSON Feed 1.1.

Public feeds (a community, an agency, a program, a topic) carry public announcements only,
and need no sign-in. A person's private feed carries everything they may read; its address
holds a secret only its hash is kept of, and it is checked on every request, so a reset
address or a lost membership stops the feed at once.

Every feed answers conditional requests with 304. The ETag is a digest of the entries
(id and version of each), so an edit, a retraction or a declined promotion changes it.
Public feeds also send Last-Modified: the latest change to any announcement that is, or
was, in the feed, which moves when one leaves it too. Private feeds send no Last-Modified:
what a person may read also changes with their agency's memberships, which no timestamp
of the announcements records; their ETag covers that.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.db.models import Exists, Max, OuterRef, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed
from django.utils.html import format_html
from django.views.decorators.http import condition, require_safe

from communities.announcements import selectors
from communities.announcements.models import Announcement, Promotion
from communities.announcements.text import clean, one_line

FORMATS = ("atom", "rss", "json")
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"


@dataclass
class FeedSource:
    """What one feed shows: its title and page, its entries, and what its validators read."""

    title: str
    subtitle: str
    link: str
    items: QuerySet[Announcement]
    # Announcements that are or were in the feed, for Last-Modified; None: send none.
    candidates: QuerySet[Announcement] | None
    private: bool = False
    _entries: list[Announcement] | None = field(default=None, repr=False)

    def entries(self) -> list[Announcement]:
        """The newest entries, fetched once for the validators and the body alike."""
        if self._entries is None:
            self._entries = list(self.items[: settings.ANNOUNCEMENT_FEED_LENGTH])
        return self._entries

    def etag(self, fmt: str) -> str:
        state = [fmt, self.title, self.subtitle] + [f"{a.pk}.{a.version}" for a in self.entries()]
        return hashlib.sha256("\n".join(state).encode()).hexdigest()[:32]

    def last_modified(self) -> datetime | None:
        if self.candidates is None:
            return None
        now = timezone.now()
        found = self.candidates.filter(published_at__isnull=False).aggregate(
            changed=Max("changed_at"), ended=Max("expire_at", filter=Q(expire_at__lte=now))
        )
        return max((value for value in found.values() if value is not None), default=None)


# --- Where each feed's entries come from ----------------------------------------------------


def community_source(slug: str) -> FeedSource:
    community = selectors.access_feed_community(slug)
    promoted = Promotion.objects.filter(announcement=OuterRef("pk"), community=community)
    return FeedSource(
        title=f"{community.name}: announcements",
        subtitle=community.purpose,
        link=reverse("announcement_community", args=[community.slug]),
        items=selectors.announcements_in_community(community, public_only=True),
        candidates=Announcement.objects.filter(Q(community=community) | Q(Exists(promoted))),
    )


def agency_source(slug: str) -> FeedSource:
    agency = selectors.access_public_agency(slug)
    return FeedSource(
        title=f"{agency.name}: announcements",
        subtitle=f"Public announcements of {agency.name}.",
        link=reverse("announcement_agency", args=[agency.slug]),
        items=selectors.public_announcements_of_agency(agency),
        candidates=Announcement.objects.filter(agency=agency),
    )


def program_source(agency_slug: str, program_slug: str) -> FeedSource:
    program = selectors.access_public_program(agency_slug, program_slug)
    return FeedSource(
        title=f"{program.name} ({program.agency.short_name}): announcements",
        subtitle=f"Public announcements of the {program.name} program of {program.agency.name}.",
        link=reverse("announcement_program", args=[agency_slug, program.slug]),
        items=selectors.public_announcements_of_program(program),
        candidates=Announcement.objects.filter(program=program),
    )


def tag_source(slug: str) -> FeedSource:
    tag = selectors.access_tag(slug)
    tagged = Announcement.tags.through.objects.filter(announcement_id=OuterRef("pk"), tag_id=tag.pk)
    return FeedSource(
        title=f"Announcements on {tag.name}",
        subtitle=f"Public announcements on {tag.name}, from every agency.",
        link=reverse("announcement_tag", args=[tag.slug]),
        items=selectors.public_announcements_with_tag(tag),
        candidates=Announcement.objects.filter(Exists(tagged)),
    )


def private_source(token: str) -> FeedSource:
    user = selectors.user_for_feed_token(token)
    if user is None:
        raise Http404("No such feed.")
    return FeedSource(
        title=f"Announcements for {user.full_name}",
        subtitle="Everything you may read, public and members-only.",
        link=reverse("announcement_list"),
        items=selectors.announcements_for_user(user),
        candidates=None,
        private=True,
    )


# --- Entry content ----------------------------------------------------------------------------


def _byline(item: Announcement) -> str:
    # The originating agency and program go with the entry wherever it is republished.
    return format_html("<p><strong>{}</strong> · {}</p>", item.agency.name, item.program.name)


def _summary_html(item: Announcement) -> str:
    summary = format_html("<p>{}</p>", item.summary) if item.summary else ""
    return clean(_byline(item) + summary)


def _content_html(item: Announcement) -> str:
    links = "".join(
        format_html('<li><a href="{}" rel="nofollow noopener noreferrer">{}</a></li>', link["url"], link["label"])
        for link in item.links
    )
    return clean(_summary_html(item) + item.body_html + (f"<ul>{links}</ul>" if links else ""))


def _updated(item: Announcement) -> datetime:
    return item.edited_at or item.published_at or item.changed_at


class _AtomFeed(Atom1Feed):
    """Atom with the full text as ``content`` beside the short ``summary``."""

    def add_item_elements(self, handler, item) -> None:  # type: ignore[no-untyped-def]
        super().add_item_elements(handler, item)
        handler.addQuickElement("content", item["content_html"], {"type": "html"})


class _RssFeed(Rss201rev2Feed):
    """RSS 2.0 with the full text as the description (RSS has no separate content)."""

    def add_item_elements(self, handler, item) -> None:  # type: ignore[no-untyped-def]
        super().add_item_elements(handler, {**item, "description": item["content_html"]})


class AnnouncementFeed(Feed):
    """One feed over a ``FeedSource``; the format is the feed type."""

    def __init__(self, source: FeedSource, feed_type: type) -> None:
        super().__init__()
        self.source = source
        self.feed_type = feed_type

    def get_object(self, request: HttpRequest, *args: Any, **kwargs: Any) -> FeedSource:
        return self.source

    def title(self, source: FeedSource) -> str:
        return one_line(source.title)

    def subtitle(self, source: FeedSource) -> str:
        return one_line(source.subtitle)

    description = subtitle

    def link(self, source: FeedSource) -> str:
        return source.link

    def items(self, source: FeedSource) -> list[Announcement]:
        return source.entries()

    def item_title(self, item: Announcement) -> str:
        # Plain text: the XML writer escapes it once (an Atom title is text, not HTML).
        return one_line(item.title)

    def item_description(self, item: Announcement) -> str:
        return _summary_html(item)

    def item_link(self, item: Announcement) -> str:
        return item.get_absolute_url()

    def item_pubdate(self, item: Announcement) -> datetime | None:
        return item.published_at

    def item_updateddate(self, item: Announcement) -> datetime:
        return _updated(item)

    def item_author_name(self, item: Announcement) -> str:
        return one_line(item.agency.name)

    def item_author_link(self, item: Announcement) -> str:
        return self._absolute(reverse("announcement_agency", args=[item.agency.slug]))

    def item_categories(self, item: Announcement) -> list[str]:
        return [one_line(item.program.name), *(one_line(tag.name) for tag in item.tags.all())]

    def item_extra_kwargs(self, item: Announcement) -> dict[str, Any]:
        return {"content_html": _content_html(item)}

    def _absolute(self, path: str) -> str:
        return self._request.build_absolute_uri(path)

    def get_feed(self, obj: FeedSource, request: HttpRequest):  # type: ignore[no-untyped-def]
        self._request = request
        return super().get_feed(obj, request)


def json_feed(source: FeedSource, request: HttpRequest) -> dict[str, Any]:
    """The same feed as JSON Feed 1.1 (https://jsonfeed.org/version/1.1)."""
    absolute = request.build_absolute_uri
    return {
        "version": JSON_FEED_VERSION,
        "title": one_line(source.title),
        "home_page_url": absolute(source.link),
        "feed_url": absolute(request.path),
        "description": one_line(source.subtitle),
        "language": "en",
        "items": [
            {
                "id": absolute(item.get_absolute_url()),
                "url": absolute(item.get_absolute_url()),
                "title": one_line(item.title),
                "summary": one_line(item.summary),
                "content_html": _content_html(item),
                "date_published": item.published_at.isoformat() if item.published_at else None,
                "date_modified": _updated(item).isoformat(),
                "authors": [
                    {
                        "name": one_line(item.agency.name),
                        "url": absolute(reverse("announcement_agency", args=[item.agency.slug])),
                    }
                ],
                "tags": [one_line(item.program.name), *(one_line(tag.name) for tag in item.tags.all())],
                "external_url": item.links[0]["url"] if item.links else None,
                "_workspace": {
                    "agency": item.agency.short_name,
                    "program": item.program.name,
                    "audience": item.audience,
                },
            }
            for item in source.entries()
        ],
    }


_GENERATORS = {"atom": _AtomFeed, "rss": _RssFeed}


def _serve(request: HttpRequest, fmt: str, resolve: Callable[[], FeedSource]) -> HttpResponse:
    if fmt not in FORMATS:
        raise Http404("No such feed format.")
    source = resolve()

    @condition(etag_func=lambda request: source.etag(fmt), last_modified_func=lambda request: source.last_modified())
    def respond(request: HttpRequest) -> HttpResponse:
        if fmt == "json":
            body = json.dumps(json_feed(source, request), ensure_ascii=False, separators=(",", ":"))
            response = HttpResponse(body, content_type="application/feed+json; charset=utf-8")
        else:
            response = AnnouncementFeed(source, _GENERATORS[fmt])(request)
            # Ours, from the decorator, is the one conditional requests are checked against.
            del response["Last-Modified"]
        return response

    response = respond(request)
    response["Cache-Control"] = "private, no-cache" if source.private else "public, no-cache"
    if source.private:
        response["X-Robots-Tag"] = "noindex"
    return response


@require_safe
def community_feed(request: HttpRequest, slug: str, fmt: str) -> HttpResponse:
    return _serve(request, fmt, lambda: community_source(slug))


@require_safe
def agency_feed(request: HttpRequest, slug: str, fmt: str) -> HttpResponse:
    return _serve(request, fmt, lambda: agency_source(slug))


@require_safe
def program_feed(request: HttpRequest, slug: str, program_slug: str, fmt: str) -> HttpResponse:
    return _serve(request, fmt, lambda: program_source(slug, program_slug))


@require_safe
def tag_feed(request: HttpRequest, slug: str, fmt: str) -> HttpResponse:
    return _serve(request, fmt, lambda: tag_source(slug))


@require_safe
def private_feed(request: HttpRequest, token: str, fmt: str) -> HttpResponse:
    return _serve(request, fmt, lambda: private_source(token))


def feed_links(path_name: str, *args: Any) -> list[tuple[str, str, str]]:
    """(label, MIME type, path) of each format of a feed, for pages that offer it."""
    return [
        ("Atom", "application/atom+xml", reverse(path_name, args=[*args, "atom"])),
        ("RSS", "application/rss+xml", reverse(path_name, args=[*args, "rss"])),
        ("JSON Feed", "application/feed+json", reverse(path_name, args=[*args, "json"])),
    ]
