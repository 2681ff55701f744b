"""The broadband grant round as a test world, seen by every kind of person.

The Lakeland Broadband Office (LBO) publishes in its own community, *Lakeland Broadband
Programs*, where the Easton library takes part, Harbor EM observes and Red Cedar ES took
part until it was removed. *Pine County Economic Development Partners* (owned by Pine EDC)
accepted two of LBO's announcements and has a third waiting. Tri-County Water belongs to
no community. Pine EDC also owns *Pine County Business Network*, where nothing of LBO's
is shown yet.

Announcements: ``public`` and ``members`` (members only) are published and accepted into
Pine's community; ``pending`` (members only) waits for Pine's decision; ``draft`` is a draft.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from communities import actions as community_actions
from communities.announcements import actions
from communities.announcements.models import Announcement, Audience, Promotion
from communities.models import Community, CommunityRole
from tests.factories import AgencyFactory, PersonFactory
from workspace import actions as workspace_actions
from workspace.models import Agency, AgencyRole, JurisdictionLevel, User

ROLES = (
    "anonymous",
    "deactivated",
    "nonmember",
    "removed",
    "observer",
    "participant",
    "receiver_staff",
    "receiver_owner",
    "publisher_staff",
    "publisher_admin",
)
PUBLISHERS = ("publisher_staff", "publisher_admin")
LOGIN = 302


@dataclass
class AnnouncementWorld:
    lbo: Agency
    library: Agency
    harbor: Agency
    red_cedar: Agency
    pine: Agency
    water: Agency
    home: Community
    receiving: Community
    business: Community
    public: Announcement
    members: Announcement
    pending: Announcement
    draft: Announcement
    pending_promotion: Promotion
    accepted_promotion: Promotion
    publisher_admin: User
    publisher_staff: User
    participant_admin: User
    participant: User
    observer: User
    removed_admin: User
    removed: User
    receiver_owner: User
    receiver_staff: User
    nonmember: User
    deactivated: User

    def person(self, role: str) -> User | None:
        return None if role == "anonymous" else getattr(self, role)


def _agency(name: str, short: str, slug: str, level: str) -> Agency:
    return AgencyFactory(name=name, short_name=short, slug=slug, level=level)


def join(owner_admin: User, community: Community, agency: Agency, admin: User, role: str) -> None:
    invitation = community_actions.invite_agency(actor=owner_admin, community=community, agency=agency, role=role)
    community_actions.accept_invitation(actor=admin, invitation=invitation)


def write(
    actor: User,
    community: Community,
    title: str,
    *,
    audience: str = Audience.PUBLIC,
    publish: bool = True,
    program: str = "Digital Equity",
    **extra: Any,
) -> Announcement:
    return actions.create_announcement(
        actor=actor,
        community=community,
        title=title,
        summary=f"Summary of {title}",
        body=f"Text of **{title}**.",
        program=program,
        audience=audience,
        publish=publish,
        **extra,
    )


def build_world() -> AnnouncementWorld:
    level = JurisdictionLevel
    admin = AgencyRole.ADMIN
    lbo = _agency("Lakeland Broadband Office", "LBO", "lbo", level.STATE)
    library = _agency("City of Easton Library", "Easton Library", "easton-library", level.CITY)
    harbor = _agency("Harbor County Emergency Management", "Harbor EM", "harbor-em", level.COUNTY)
    red_cedar = _agency("Red Cedar Tribal Nation Emergency Services", "Red Cedar ES", "red-cedar-es", level.TRIBAL)
    pine = _agency("Pine County Economic Development", "Pine EDC", "pine-econ", level.COUNTY)
    water = _agency(
        "Tri-County Regional Water Authority", "Tri-County Water", "tri-county-water", level.SPECIAL_DISTRICT
    )
    people = {
        "publisher_admin": PersonFactory(agency=lbo, role=admin, full_name="Grace Liu"),
        "publisher_staff": PersonFactory(agency=lbo, full_name="Tom Becker"),
        "participant_admin": PersonFactory(agency=library, role=admin, full_name="Hannah Ortiz"),
        "participant": PersonFactory(agency=library, full_name="Rosa Delgado"),
        "deactivated": PersonFactory(agency=library, full_name="Sam Keller"),
        "observer": PersonFactory(agency=harbor, full_name="Casey Morgan"),
        "removed_admin": PersonFactory(agency=red_cedar, role=admin, full_name="Ruth Ahanu"),
        "removed": PersonFactory(agency=red_cedar, full_name="Daniel Kee"),
        "receiver_owner": PersonFactory(agency=pine, role=admin, full_name="Victor Lane"),
        "receiver_staff": PersonFactory(agency=pine, full_name="Mia Santos"),
        "nonmember": PersonFactory(agency=water, full_name="Ivy Chen"),
    }
    harbor_admin = PersonFactory(agency=harbor, role=admin, full_name="Jordan Reyes")
    grace, victor = people["publisher_admin"], people["receiver_owner"]
    home = community_actions.create_community(
        actor=grace,
        name="Lakeland Broadband Programs",
        purpose="Grant rounds and digital-equity programs.",
        tags=["broadband"],
    )
    join(grace, home, library, people["participant_admin"], CommunityRole.PARTICIPANT)
    join(grace, home, harbor, harbor_admin, CommunityRole.OBSERVER)
    join(grace, home, red_cedar, people["removed_admin"], CommunityRole.PARTICIPANT)
    receiving = community_actions.create_community(
        actor=victor, name="Pine County Economic Development Partners", purpose="Programs for Pine County."
    )
    business = community_actions.create_community(
        actor=victor, name="Pine County Business Network", purpose="Pine County businesses."
    )
    public = write(grace, home, "Digital Equity Subgrants, Round 2", tags=["broadband", "grants"])
    members = write(grace, home, "Round 2 reviewer guide", audience=Audience.MEMBERS, tags=["grants"])
    pending = write(grace, home, "Round 2 office hours", audience=Audience.MEMBERS)
    draft = write(grace, home, "Round 3 (draft)", publish=False)
    for announcement in (public, members):
        promotion = actions.request_promotion(actor=grace, announcement=announcement, community=receiving)
        actions.accept_promotion(actor=victor, promotion=promotion)
    pending_promotion = actions.request_promotion(actor=grace, announcement=pending, community=receiving)
    return AnnouncementWorld(
        lbo=lbo,
        library=library,
        harbor=harbor,
        red_cedar=red_cedar,
        pine=pine,
        water=water,
        home=home,
        receiving=receiving,
        business=business,
        public=public,
        members=members,
        pending=pending,
        draft=draft,
        pending_promotion=pending_promotion,
        accepted_promotion=Promotion.objects.get(announcement=members, community=receiving),
        **people,
    )


@pytest.fixture
def aw(db) -> AnnouncementWorld:  # type: ignore[no-untyped-def]
    return build_world()


def sign_in(client, world: AnnouncementWorld, role: str) -> None:  # type: ignore[no-untyped-def]
    """Sign ``client`` in as ``role``. ``removed`` loses its community after signing in and
    ``deactivated`` is deactivated after signing in: both cover "lost access mid-session"."""
    if role == "anonymous":
        return
    person = world.person(role)
    client.force_login(person)
    if role == "removed":
        community_actions.remove_agency(actor=world.publisher_admin, community=world.home, agency=world.red_cedar)
    if role == "deactivated":
        workspace_actions.deactivate_staff(actor=world.participant_admin, member=person)


def at(value: str) -> datetime:
    """An aware datetime in the server's time zone, e.g. ``at("2026-03-02 08:00")``."""
    from django.utils import timezone
    from django.utils.dateparse import parse_datetime

    return timezone.make_aware(parse_datetime(value))  # type: ignore[arg-type]
