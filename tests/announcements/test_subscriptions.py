"""Subscriptions, immediate emails and digests: the right people get the right items once,
never one they may not read, and unsubscribe links work without signing in."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from communities import actions as community_actions
from communities.announcements import actions
from communities.announcements.models import Audience, Frequency, Receipt, Subscription
from tests.announcements.conftest import AnnouncementWorld, write
from workspace.exceptions import ActionError


def digests(frequency: str = "daily", *args: str) -> str:
    out = StringIO()
    call_command("send_digests", f"--frequency={frequency}", *args, stdout=out)
    return out.getvalue()


def to(person) -> list[mail.EmailMessage]:  # type: ignore[no-untyped-def]
    return [m for m in mail.outbox if m.to == [person.email]]


def unsubscribe_url(message: mail.EmailMessage) -> str:
    return re.search(r"https?://[^/\s]+(/announcements/unsubscribe/[^\s)]+/)", message.body).group(1)  # type: ignore[union-attr]


@pytest.fixture
def followed(aw: AnnouncementWorld, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """Who follows what, then two new Digital Equity announcements: one public, one for members."""
    program = aw.public.program
    actions.subscribe(actor=aw.participant, frequency=Frequency.DAILY, program=program)
    actions.subscribe(actor=aw.nonmember, frequency=Frequency.DAILY, program=program)
    actions.subscribe(actor=aw.removed, frequency=Frequency.DAILY, program=program)
    actions.subscribe(actor=aw.observer, frequency=Frequency.IMMEDIATE, community=aw.home)
    actions.subscribe(actor=aw.observer, frequency=Frequency.DAILY, program=program)
    actions.subscribe(actor=aw.receiver_staff, frequency=Frequency.WEEKLY, community=aw.receiving)
    with django_capture_on_commit_callbacks(execute=True):
        faq = write(aw.publisher_admin, aw.home, "Round 2 FAQ")
        calibration = write(aw.publisher_admin, aw.home, "Reviewer calibration", audience=Audience.MEMBERS)
    return faq, calibration


def test_immediate_followers_are_emailed_at_publication(aw: AnnouncementWorld, followed) -> None:  # type: ignore[no-untyped-def]
    faq, calibration = followed
    subjects = sorted(m.subject for m in to(aw.observer))
    assert subjects == ["LBO · Digital Equity: Reviewer calibration", "LBO · Digital Equity: Round 2 FAQ"]
    assert to(aw.participant) == []  # daily: waits for the digest
    message = to(aw.observer)[0]
    assert message.extra_headers["List-Unsubscribe"].startswith("<http")
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    receipt = Receipt.objects.get(announcement=faq, user=aw.observer)
    assert receipt.delivered_at and receipt.agency == aw.harbor


def test_daily_digest_sends_each_person_what_they_may_read_once(
    aw: AnnouncementWorld, followed, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    mail.outbox.clear()
    community_actions.remove_agency(actor=aw.publisher_admin, community=aw.home, agency=aw.red_cedar)
    with django_capture_on_commit_callbacks(execute=True):
        out = digests("daily")
    participant = to(aw.participant)
    assert len(participant) == 1
    assert "Round 2 FAQ" in participant[0].body and "Reviewer calibration" in participant[0].body
    outsider = to(aw.nonmember)[0].body
    assert "Round 2 FAQ" in outsider and "Reviewer calibration" not in outsider
    removed = to(aw.removed)[0].body  # lost the community before the digest went out
    assert "Round 2 FAQ" in removed and "Reviewer calibration" not in removed
    assert to(aw.observer) == []  # already emailed both at once
    assert to(aw.receiver_staff) == []  # weekly
    assert "Lakeland Broadband Office · Digital Equity" in participant[0].body
    assert "3 digests" in out
    # Older announcements (published before anyone subscribed) are not dug up.
    assert "Round 2 reviewer guide" not in participant[0].body
    assert Receipt.objects.filter(user=aw.participant, digested_at__isnull=False).count() == 2

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert "0 digests" in digests("daily")
    assert mail.outbox == []


def test_weekly_digest_follows_accepted_promotions(
    aw: AnnouncementWorld, followed, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    faq, calibration = followed
    for announcement in followed:
        promotion = actions.request_promotion(
            actor=aw.publisher_admin, announcement=announcement, community=aw.receiving
        )
        actions.accept_promotion(actor=aw.receiver_owner, promotion=promotion)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        digests("weekly")
    body = to(aw.receiver_staff)[0].body
    assert "Round 2 FAQ" in body and "Reviewer calibration" in body


def test_dry_run_sends_nothing(aw: AnnouncementWorld, followed, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        out = digests("daily", "--dry-run")
    assert "Dry run" in out and mail.outbox == []
    assert not Receipt.objects.filter(digested_at__isnull=False).exists()


def test_unsubscribe_link_works_signed_out(aw: AnnouncementWorld, followed, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        digests("daily")
    url = unsubscribe_url(to(aw.participant)[0])
    client = Client(enforce_csrf_checks=True)  # as a mail program's one-click post arrives
    page = client.get(url)
    assert page.status_code == 200 and "Stop these emails?" in page.content.decode()
    assert Subscription.objects.filter(user=aw.participant).exists()  # a GET only asks
    done = client.post(url)
    assert done.status_code == 200 and "Unsubscribed" in done.content.decode()
    assert not Subscription.objects.filter(user=aw.participant).exists()
    again = client.post(url)
    assert again.status_code == 200 and "Already unsubscribed" in again.content.decode()


def test_a_tampered_unsubscribe_link_fails(aw: AnnouncementWorld, followed, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        digests("daily")
    url = unsubscribe_url(to(aw.participant)[0])
    token = url.rstrip("/").rsplit("/", 1)[1]
    other = Subscription.objects.get(user=aw.nonmember)
    forged = actions.unsubscribe_token(other)[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    for bad in (token[:-1] + ("x" if token[-1] != "x" else "y"), forged, "nonsense"):
        response = Client().post(reverse("announcement_unsubscribe", args=[bad]))
        assert response.status_code == 400
        assert "not valid" in response.content.decode()
    assert Subscription.objects.filter(user=aw.participant).exists()
    assert Subscription.objects.filter(user=aw.nonmember).exists()


def test_subscribing_through_the_page(aw: AnnouncementWorld) -> None:
    client = Client()
    client.force_login(aw.participant)
    target = f"community:{aw.home.pk}"
    response = client.post(reverse("announcement_subscribe"), {"target": target, "frequency": "weekly"})
    assert response.status_code == 302
    subscription = Subscription.objects.get(user=aw.participant)
    assert subscription.community == aw.home and subscription.frequency == "weekly"
    client.post(reverse("announcement_subscribe"), {"target": target, "frequency": "immediate"})
    assert Subscription.objects.get(user=aw.participant).frequency == "immediate"  # changed, not doubled
    page = client.get(reverse("announcement_feeds")).content.decode()
    assert "Community Lakeland Broadband Programs" in page
    # Someone else's subscription cannot be stopped; one's own can.
    outsider = Client()
    outsider.force_login(aw.nonmember)
    delete = reverse("announcement_subscription_delete", args=[subscription.pk])
    assert outsider.post(delete).status_code == 404
    assert client.post(delete).status_code == 302
    assert not Subscription.objects.filter(user=aw.participant).exists()


def test_a_hidden_community_cannot_be_followed(aw: AnnouncementWorld) -> None:
    from communities.models import Visibility

    community_actions.update_community(
        actor=aw.publisher_admin,
        community=aw.home,
        name=aw.home.name,
        purpose=aw.home.purpose,
        visibility=Visibility.UNLISTED,
    )
    aw.home.refresh_from_db()
    with pytest.raises(ActionError):
        actions.subscribe(actor=aw.nonmember, frequency="daily", community=aw.home)
    client = Client()
    client.force_login(aw.nonmember)
    response = client.post(
        reverse("announcement_subscribe"), {"target": f"community:{aw.home.pk}", "frequency": "daily"}
    )
    assert response.status_code == 400
    assert not Subscription.objects.filter(user=aw.nonmember).exists()
