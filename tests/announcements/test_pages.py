"""The announcement pages: composer with preview, the announcement, promotion requests,
the community's and the agency's pages, and the reach report."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from communities.announcements import actions
from communities.announcements.forms import DATETIME_FORMAT
from communities.announcements.models import Announcement, AnnouncementState, Frequency
from communities.models import ConsentStatus
from tests.announcements.conftest import AnnouncementWorld


def signed_in(person) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(person)
    return client


def composer_data(world: AnnouncementWorld, **extra: str) -> dict[str, object]:
    return {
        "community": world.home.pk,
        "title": "Round 2 webinar",
        "summary": "Walk through the application with us.",
        "body": "Join us **Thursday**.\n\n<script>alert(1)</script>",
        "program": "Digital Equity",
        "audience": "public",
        "tags": "grants, webinars",
        "links": "Register | https://broadband.lakeland.gov/webinar\nhttps://broadband.lakeland.gov/faq",
    } | extra


def test_preview_renders_sanitized_and_saves_nothing(aw: AnnouncementWorld) -> None:
    client = signed_in(aw.publisher_staff)
    count = Announcement.objects.count()
    response = client.post(reverse("announcement_new"), composer_data(aw, preview="1"))
    assert response.status_code == 200
    page = response.content.decode()
    assert '<h2 id="preview-heading">Preview</h2>' in page
    assert "<strong>Thursday</strong>" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Lakeland Broadband Office" in page
    assert Announcement.objects.count() == count
    # The form keeps what was typed.
    assert 'value="Round 2 webinar"' in page


def test_publish_from_the_composer(aw: AnnouncementWorld) -> None:
    client = signed_in(aw.publisher_staff)
    response = client.post(reverse("announcement_new"), composer_data(aw, publish="1"))
    announcement = Announcement.objects.get(title="Round 2 webinar")
    assert response.status_code == 302 and response["Location"] == announcement.get_absolute_url()
    assert announcement.state == AnnouncementState.PUBLISHED
    assert announcement.links == [
        {"label": "Register", "url": "https://broadband.lakeland.gov/webinar"},
        {"label": "https://broadband.lakeland.gov/faq", "url": "https://broadband.lakeland.gov/faq"},
    ]
    assert sorted(t.name for t in announcement.tags.all()) == ["grants", "webinars"]
    page = Client().get(announcement.get_absolute_url()).content.decode()
    assert "Lakeland Broadband Office" in page and "Digital Equity" in page and "Register" in page


def test_draft_and_schedule_from_the_composer(aw: AnnouncementWorld) -> None:
    client = signed_in(aw.publisher_admin)
    client.post(reverse("announcement_new"), composer_data(aw, title="Draft one", draft="1"))
    assert Announcement.objects.get(title="Draft one").state == AnnouncementState.DRAFT
    later = timezone.localtime() + timedelta(days=2)
    client.post(
        reverse("announcement_new"),
        composer_data(aw, title="Later one", publish="1", publish_at=later.strftime(DATETIME_FORMAT)),
    )
    scheduled = Announcement.objects.get(title="Later one")
    assert scheduled.state == AnnouncementState.SCHEDULED
    page = client.get(reverse("announcement_list")).content.decode()
    assert "Draft one" in page and "Later one" in page and "Scheduled" in page


def test_composer_shows_action_errors_next_to_the_field(aw: AnnouncementWorld) -> None:
    client = signed_in(aw.publisher_staff)
    response = client.post(reverse("announcement_new"), composer_data(aw, links="ftp://nope.example/x", publish="1"))
    assert response.status_code == 400
    assert "is not a web address" in response.content.decode()


def test_edit_with_preview_then_save(aw: AnnouncementWorld) -> None:
    client = signed_in(aw.publisher_staff)
    url = reverse("announcement_edit", args=[aw.public.pk])
    form = client.get(url)
    assert 'value="Digital Equity Subgrants, Round 2"' in form.content.decode()
    data = {"title": "Round 2: deadline moved", "program": "Digital Equity", "audience": "public", "body": "New *date*"}
    preview = client.post(url, data | {"preview": "1"})
    assert "<em>date</em>" in preview.content.decode()
    aw.public.refresh_from_db()
    assert aw.public.title == "Digital Equity Subgrants, Round 2"
    assert client.post(url, data | {"save": "1"}).status_code == 302
    aw.public.refresh_from_db()
    assert aw.public.title == "Round 2: deadline moved"


def test_promote_then_owner_accepts_in_the_inbox(aw: AnnouncementWorld) -> None:
    publisher = signed_in(aw.publisher_admin)
    detail = publisher.get(aw.public.get_absolute_url()).content.decode()
    assert "Pine County Business Network" in detail  # offered
    assert f'<option value="{aw.receiving.pk}"' not in detail  # already accepted there
    publisher.post(reverse("announcement_promote", args=[aw.public.pk]), {"community": aw.business.pk})
    owner = signed_in(aw.receiver_owner)
    inbox = owner.get(reverse("announcement_promotion_inbox")).content.decode()
    assert aw.public.title in inbox and "Pine County Business Network" in inbox
    promotion = aw.public.promotions.get(community=aw.business)
    response = owner.post(reverse("announcement_promotion_accept", args=[promotion.pk]), follow=True)
    assert "now appears in Pine County Business Network" in response.content.decode()
    page = owner.get(reverse("announcement_community", args=[aw.business.slug])).content.decode()
    assert aw.public.title in page and "Promoted" in page and "Lakeland Broadband Office" in page


def test_community_page_marks_promotions_and_offers_feeds(aw: AnnouncementWorld) -> None:
    page = signed_in(aw.receiver_staff).get(reverse("announcement_community", args=[aw.receiving.slug]))
    text = page.content.decode()
    assert aw.public.title in text and aw.members.title in text and aw.pending.title not in text
    assert text.count(">Promoted<") == 2 and "Members only" in text
    assert reverse("announcement_community_feed", args=[aw.receiving.slug, "atom"]) in text


def test_agency_page_is_public_and_public_only(aw: AnnouncementWorld) -> None:
    page = Client().get(reverse("announcement_agency", args=["lbo"])).content.decode()
    assert aw.public.title in page
    assert aw.members.title not in page and aw.draft.title not in page
    assert reverse("announcement_program", args=["lbo", "digital-equity"]) in page


def test_reach_counts_per_agency_and_exports(aw: AnnouncementWorld) -> None:
    actions.subscribe(actor=aw.receiver_staff, frequency=Frequency.IMMEDIATE, community=aw.receiving)
    actions.subscribe(actor=aw.participant, frequency=Frequency.DAILY, program=aw.public.program)
    announcement = actions.create_announcement(
        actor=aw.publisher_admin,
        community=aw.home,
        title='=HYPERLINK("evil") mapping',
        program="Digital Equity",
        audience="public",
        publish=True,
    )
    promotion = actions.request_promotion(actor=aw.publisher_admin, announcement=announcement, community=aw.receiving)
    actions.accept_promotion(actor=aw.receiver_owner, promotion=promotion)  # emails Mia at once
    actions.send_digests(frequency=Frequency.DAILY)  # the library's Rosa
    for person in (aw.participant, aw.observer, aw.receiver_staff):
        signed_in(person).get(announcement.get_absolute_url())  # opened

    publisher = signed_in(aw.publisher_staff)
    page = publisher.get(reverse("announcement_reach", args=[announcement.pk])).content.decode()
    assert "Pine County Economic Development Partners" in page
    export = publisher.get(reverse("announcement_reach_csv", args=[announcement.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert rows[0] == ["section", "name", "status", "delivered", "in_digest", "opened", "reached"]
    agencies = {row[1]: row[3:] for row in rows if row[0] == "agency"}
    assert agencies["City of Easton Library"] == ["0", "1", "1", "1"]
    assert agencies["Pine County Economic Development"] == ["1", "0", "1", "1"]
    assert agencies["Harbor County Emergency Management"] == ["0", "0", "1", "1"]
    assert agencies["All agencies"] == ["1", "1", "3", "3"]
    places = {row[1]: row[2] for row in rows if row[0] == "community"}
    assert places == {"Lakeland Broadband Programs": "home", "Pine County Economic Development Partners": "accepted"}
    # A title never becomes a spreadsheet formula.
    assert all(not cell.startswith("=") for row in rows for cell in row)


def test_retract_through_the_confirmation(aw: AnnouncementWorld) -> None:
    client = signed_in(aw.publisher_staff)
    url = reverse("announcement_retract", args=[aw.public.pk])
    assert "disappears at once from 2 communities" in client.get(url).content.decode()
    client.post(url, {"note": "Posted too early"})
    aw.public.refresh_from_db()
    assert aw.public.state == AnnouncementState.RETRACTED and aw.public.retraction_note == "Posted too early"


def test_declined_requests_move_to_the_decided_list(aw: AnnouncementWorld) -> None:
    owner = signed_in(aw.receiver_owner)
    owner.post(reverse("announcement_promotion_decline", args=[aw.pending_promotion.pk]))
    aw.pending_promotion.refresh_from_db()
    assert aw.pending_promotion.status == ConsentStatus.DECLINED
    inbox = owner.get(reverse("announcement_promotion_inbox")).content.decode()
    assert "No requests are waiting." in inbox and "Declined" in inbox
