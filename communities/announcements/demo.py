"""Demo announcements: the broadband grant round (docs/scenarios.md, scenario 2), built
through the actions. Idempotent: it looks for what it would create first."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import TextIO

from django.utils import timezone

from communities import actions as community_actions
from communities.announcements import actions
from communities.announcements.models import Announcement, Audience, Frequency, Program, Promotion, Subscription
from communities.models import Community, CommunityMembership, CommunityRole
from workspace.models import Agency, User

HOME = "lakeland-broadband-programs"
ROUND_2 = "Digital Equity Subgrants, Round 2: applications open March 3"
ROUND_2_BODY = """\
The Lakeland Broadband Office opens **Round 2** of the Digital Equity subgrants on **March 3**.

Who may apply:

- counties, cities, tribal nations and regional bodies in Lakeland
- public libraries and community anchor institutions, with a local government partner

Grants run from $50,000 to $400,000 for device lending, digital-skills training and
public Wi-Fi in underserved areas. Applications close when the round's funds are committed
or on April 30, whichever comes first.

Questions: digital.equity@broadband.lakeland.example
"""
MAP_CHALLENGE = "Broadband Map Challenge: the challenge window opens"
REVIEWER_GUIDE = "Round 2 reviewer guide and scoring rubric"


def _person(email: str) -> User:
    return User.objects.get(email=email)


def _next_monday_8am() -> datetime:
    today = timezone.localdate()
    days = (7 - today.weekday()) % 7 or 7
    return timezone.make_aware(datetime.combine(today + timedelta(days=days), time(8, 0)))


def _announcement(agency: Agency, title: str) -> Announcement | None:
    return Announcement.objects.filter(agency=agency, title=title).first()


def seed(out: TextIO) -> None:
    lbo = Agency.objects.get(slug="lbo")
    grace = _person("grace.liu@broadband.lakeland.example")

    home = Community.objects.filter(slug=HOME).first()
    if home is None:
        home = community_actions.create_community(
            actor=grace,
            name="Lakeland Broadband Programs",
            slug=HOME,
            purpose="Grant rounds, mapping challenges and digital-equity programs of the Lakeland Broadband Office.",
            entry_requirements="Agencies and libraries that help Lakeland residents get online.",
            tags=["broadband", "digital equity"],
        )
        out.write(f"  community {home.name}\n")
    library = Agency.objects.get(slug="easton-library")
    if not CommunityMembership.objects.filter(community=home, agency=library).exists():
        invitation = community_actions.invite_agency(
            actor=grace, community=home, agency=library, role=CommunityRole.PARTICIPANT
        )
        community_actions.accept_invitation(actor=_person("hannah.ortiz@library.easton.example"), invitation=invitation)

    # Red Cedar's unlisted community coordinates with state partners; LBO takes part.
    red_cedar = Community.objects.get(slug="red-cedar-community-services")
    if not CommunityMembership.objects.filter(community=red_cedar, agency=lbo).exists():
        invitation = community_actions.invite_agency(
            actor=_person("maya.sandoval@clinic.redcedar.example"),
            community=red_cedar,
            agency=lbo,
            role=CommunityRole.PARTICIPANT,
        )
        community_actions.accept_invitation(actor=grace, invitation=invitation)

    now = timezone.now()
    round_2 = _announcement(lbo, ROUND_2)
    if round_2 is None:
        round_2 = actions.create_announcement(
            actor=grace,
            community=home,
            title=ROUND_2,
            summary="$6 million for device lending, digital-skills training and public Wi-Fi. "
            "Counties, cities, tribal nations and libraries may apply.",
            body=ROUND_2_BODY,
            program="Digital Equity",
            audience=Audience.PUBLIC,
            tags=["broadband", "digital equity", "grants"],
            links=[{"label": "Round 2 guidelines", "url": "https://broadband.lakeland.example/digital-equity/round-2"}],
            expire_at=now + timedelta(days=60),
            publish=True,
        )
        out.write(f"  announcement {round_2.title}\n")
    pine = Community.objects.get(slug="pine-county-economic-development-partners")
    if not Promotion.objects.filter(announcement=round_2, community=pine).exists():
        promotion = actions.request_promotion(
            actor=grace,
            announcement=round_2,
            community=pine,
            message="Pine County applicants asked for this round; please share it with your partners.",
        )
        actions.accept_promotion(actor=_person("victor.lane@edc.pinecounty.example"), promotion=promotion)
    if not Promotion.objects.filter(announcement=round_2, community=red_cedar).exists():
        actions.request_promotion(
            actor=grace,
            announcement=round_2,
            community=red_cedar,
            message="Tribal governments are eligible on their own or with a library partner.",
        )

    if _announcement(lbo, MAP_CHALLENGE) is None:
        scheduled = actions.create_announcement(
            actor=grace,
            community=home,
            title=MAP_CHALLENGE,
            summary="For 30 days, residents and local governments can challenge the availability shown on "
            "the state broadband map.",
            body="Open the map, find your address, and file a challenge if the service shown is not available.",
            program="Broadband Mapping",
            audience=Audience.PUBLIC,
            tags=["broadband"],
            publish_at=_next_monday_8am(),
            expire_at=_next_monday_8am() + timedelta(days=30),
            publish=True,
        )
        out.write(f"  announcement {scheduled.title} (scheduled)\n")

    if _announcement(lbo, REVIEWER_GUIDE) is None:
        members_only = actions.create_announcement(
            actor=grace,
            community=home,
            title=REVIEWER_GUIDE,
            summary="For partner reviewers only: how Round 2 applications are scored.",
            body="Each application is scored by two reviewers from different agencies:\n\n"
            "1. Need (40 points)\n2. Readiness (30 points)\n3. Sustainability (30 points)\n\n"
            "Declare any conflict of interest before you open an application.",
            program="Digital Equity",
            audience=Audience.MEMBERS,
            tags=["digital equity", "grants"],
            publish=True,
        )
        out.write(f"  announcement {members_only.title} (members only)\n")

    # The Easton library republishes LBO's public feed and follows the program by email.
    hannah = _person("hannah.ortiz@library.easton.example")
    program = Program.objects.get(agency=lbo, slug="digital-equity")
    if not Subscription.objects.filter(user=hannah, program=program).exists():
        actions.subscribe(actor=hannah, frequency=Frequency.DAILY, program=program)
